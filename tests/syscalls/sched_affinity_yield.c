/* sched_yield, sched_getaffinity/sched_setaffinity (pinning to one CPU is
 * reflected by getcpu), scheduler policy queries, priority ranges. */
#include "check.h"
#include <sched.h>
#include <sys/syscall.h>

int main(void)
{
    alarm(10);
    CHECK_EQ(sched_yield(), 0);

    cpu_set_t set;
    CPU_ZERO(&set);
    CHECK_OK(sched_getaffinity(0, sizeof(set), &set));
    int n = CPU_COUNT(&set);
    CHECK(n >= 1);
    /* The raw syscall returns the number of bytes written (a multiple of 8). */
    long bytes = CHECK_OK(syscall(SYS_sched_getaffinity, 0, sizeof(set), &set));
    CHECK(bytes > 0 && bytes % 8 == 0 && bytes <= (long)sizeof(set));
    CHECK_ERR(syscall(SYS_sched_getaffinity, 0, 3, &set), EINVAL);

    int first = -1;
    for (int i = 0; i < CPU_SETSIZE; i++)
        if (CPU_ISSET(i, &set)) {
            first = i;
            break;
        }
    CHECK(first >= 0);

    /* Pin to one CPU in a child; getcpu must report it. */
    pid_t pid = CHECK_OK(fork());
    if (pid == 0) {
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(first, &one);
        CHECK_OK(sched_setaffinity(0, sizeof(one), &one));
        cpu_set_t back;
        CHECK_OK(sched_getaffinity(0, sizeof(back), &back));
        CHECK_EQ(CPU_COUNT(&back), 1);
        CHECK(CPU_ISSET(first, &back));
        sched_yield();
        unsigned cpu = 999, node = 999;
        CHECK_OK(syscall(SYS_getcpu, &cpu, &node, NULL));
        CHECK_EQ(cpu, first);
        CHECK_EQ(sched_getcpu(), first);
        /* An empty mask is EINVAL. */
        cpu_set_t none;
        CPU_ZERO(&none);
        CHECK_ERR(sched_setaffinity(0, sizeof(none), &none), EINVAL);
        _exit(0);
    }
    CHECK_EXITED(wait_status(pid), 0);
    /* Our own mask is unchanged. */
    cpu_set_t again;
    CHECK_OK(sched_getaffinity(0, sizeof(again), &again));
    CHECK_EQ(CPU_COUNT(&again), n);
    CHECK_ERR(sched_getaffinity(0x3fffffff, sizeof(set), &set), ESRCH);

    CHECK_EQ(sched_getscheduler(0), SCHED_OTHER);
    struct sched_param sp = {.sched_priority = 1};
    CHECK_OK(sched_getparam(0, &sp));
    CHECK_EQ(sp.sched_priority, 0);
    CHECK_EQ(sched_get_priority_max(SCHED_FIFO), 99);
    CHECK_EQ(sched_get_priority_min(SCHED_FIFO), 1);
    CHECK_EQ(sched_get_priority_max(SCHED_OTHER), 0);
    CHECK_ERR(sched_get_priority_max(12345), EINVAL);
    sp.sched_priority = 5;
    CHECK_ERR(sched_setscheduler(0, SCHED_OTHER, &sp), EINVAL);
    return 0;
}
