/* times(2) reports the process's and its reaped children's CPU time in
 * clock ticks and returns elapsed ticks; getrusage agrees: CPU burnt in
 * user space shows up as user+system time of the process, and of the
 * children once they are waited for (not before). */
#include "check.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/times.h>
#include <time.h>

static volatile unsigned long sink;

static double cpu_now(void)
{
    struct timespec ts;
    CHECK_OK(clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts));
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Burns about `secs` of CPU time in user space. */
static void burn(double secs)
{
    double end = cpu_now() + secs;
    while (cpu_now() < end)
        for (unsigned long i = 0; i < 2000000; i++)
            sink += i;
}

static double tv(struct timeval t)
{
    return (double)t.tv_sec + (double)t.tv_usec / 1e6;
}

int main(void)
{
    alarm(10);
    long hz = sysconf(_SC_CLK_TCK);
    CHECK_EQ(hz, 100);
    struct tms t0, t1;
    clock_t e0 = times(&t0);
    CHECK_NE(e0, (clock_t)-1);
    CHECK_NE(times(NULL), (clock_t)-1);
    CHECK_EQ(t0.tms_cutime, 0);
    CHECK_EQ(t0.tms_cstime, 0);
    CHECK_ERR(syscall(SYS_times, 1), EFAULT);

    /* Elapsed ticks follow the wall clock. */
    struct timespec nap = {0, 200 * 1000 * 1000};
    CHECK_OK(nanosleep(&nap, NULL));
    clock_t e1 = times(&t1);
    CHECK(e1 - e0 >= 15 && e1 - e0 <= 100);

    /* Our own CPU time. */
    burn(0.3);
    CHECK_NE(times(&t1), (clock_t)-1);
    CHECK(t1.tms_utime + t1.tms_stime >= 20);
    CHECK(t1.tms_utime >= 10);
    struct rusage ru;
    CHECK_OK(getrusage(RUSAGE_SELF, &ru));
    CHECK(tv(ru.ru_utime) + tv(ru.ru_stime) >= 0.2);
    CHECK(tv(ru.ru_utime) >= 0.1);
    CHECK_OK(getrusage(RUSAGE_THREAD, &ru));
    CHECK(tv(ru.ru_utime) + tv(ru.ru_stime) >= 0.2);

    /* A child's time reaches us when we reap it. */
    pid_t p = CHECK_OK(fork());
    if (p == 0) {
        burn(0.3);
        _exit(0);
    }
    int st;
    struct rusage cru;
    CHECK_EQ(wait4(p, &st, 0, &cru), p);
    CHECK_EXITED(st, 0);
    CHECK(tv(cru.ru_utime) + tv(cru.ru_stime) >= 0.2);
    CHECK_NE(times(&t1), (clock_t)-1);
    CHECK(t1.tms_cutime + t1.tms_cstime >= 20);
    CHECK(t1.tms_cutime >= 10);
    CHECK_OK(getrusage(RUSAGE_CHILDREN, &ru));
    CHECK(tv(ru.ru_utime) + tv(ru.ru_stime) >= 0.2);
    return 0;
}
