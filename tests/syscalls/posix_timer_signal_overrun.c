/* POSIX timers: timer_create with SIGEV_SIGNAL (si_code SI_TIMER, the
 * sigev_value in si_value, si_timerid), a NULL sigevent (SIGALRM with
 * the timer id as value), SIGEV_THREAD_ID (only that thread gets it) and
 * SIGEV_NONE; timer_settime relative/TIMER_ABSTIME with the old value;
 * timer_gettime; overruns counted while the signal stays pending, seen
 * in si_overrun and timer_getoverrun; timer_delete; timers are not
 * inherited by fork and are gone after exec; Linux's errnos. */
#include "check.h"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>

/* Raw calls, so the kernel's timer ids are what we see. */
static int k_create(clockid_t clk, struct sigevent *sev, int *id)
{
    return (int)syscall(SYS_timer_create, clk, sev, id);
}
static int k_settime(int id, int flags, const struct itimerspec *n, struct itimerspec *o)
{
    return (int)syscall(SYS_timer_settime, id, flags, n, o);
}
static int k_gettime(int id, struct itimerspec *v)
{
    return (int)syscall(SYS_timer_gettime, id, v);
}
static int k_getoverrun(int id)
{
    return (int)syscall(SYS_timer_getoverrun, id);
}
static int k_delete(int id)
{
    return (int)syscall(SYS_timer_delete, id);
}

static struct itimerspec its(long vsec, long vns, long isec, long ins)
{
    struct itimerspec t;
    t.it_value.tv_sec = vsec;
    t.it_value.tv_nsec = vns;
    t.it_interval.tv_sec = isec;
    t.it_interval.tv_nsec = ins;
    return t;
}

static int wait_sig(int sig, siginfo_t *si, long ms)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    return sigtimedwait(&set, si, &ts);
}

static pid_t main_tid;
static int other_result = -1;

static void *other_thread(void *arg)
{
    (void)arg;
    siginfo_t si;
    /* The timer targets the main thread: this one must not see it. */
    errno = 0;
    int r = wait_sig(SIGUSR2, &si, 300);
    other_result = r == -1 ? errno : 0;
    return NULL;
}

int main(int argc, char **argv)
{
    alarm(10);
    if (argc == 2 && strcmp(argv[1], "after-exec") == 0) {
        struct itimerspec v;
        CHECK_ERR(k_gettime(0, &v), EINVAL);
        CHECK_ERR(k_gettime(1, &v), EINVAL);
        return 0;
    }
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGALRM);
    sigaddset(&block, SIGUSR1);
    sigaddset(&block, SIGUSR2);
    CHECK_OK(sigprocmask(SIG_BLOCK, &block, NULL));
    main_tid = (pid_t)syscall(SYS_gettid);

    /* NULL sigevent: SIGALRM carrying the timer id. */
    int t0;
    CHECK_OK(k_create(CLOCK_MONOTONIC, NULL, &t0));
    struct itimerspec v = its(0, 20000000, 0, 0);
    CHECK_OK(k_settime(t0, 0, &v, NULL));
    siginfo_t si;
    CHECK_EQ(wait_sig(SIGALRM, &si, 3000), SIGALRM);
    CHECK_EQ(si.si_code, SI_TIMER);
    CHECK_EQ(si.si_value.sival_int, t0);
    CHECK_EQ(si.si_timerid, t0);
    CHECK_EQ(si.si_overrun, 0);
    /* A fired one-shot timer reads as disarmed. */
    CHECK_OK(k_gettime(t0, &v));
    CHECK_EQ(v.it_value.tv_sec, 0);
    CHECK_EQ(v.it_value.tv_nsec, 0);

    /* SIGEV_SIGNAL with a value; gettime and the old value. */
    struct sigevent sev;
    memset(&sev, 0, sizeof(sev));
    sev.sigev_notify = SIGEV_SIGNAL;
    sev.sigev_signo = SIGUSR1;
    sev.sigev_value.sival_ptr = (void *)0x1234abcdL;
    int t1;
    CHECK_OK(k_create(CLOCK_REALTIME, &sev, &t1));
    CHECK_NE(t1, t0);
    v = its(10, 0, 2, 500);
    CHECK_OK(k_settime(t1, 0, &v, NULL));
    struct itimerspec old;
    CHECK_OK(k_gettime(t1, &old));
    CHECK(old.it_value.tv_sec == 9 || (old.it_value.tv_sec == 10 && old.it_value.tv_nsec == 0));
    CHECK_EQ(old.it_interval.tv_sec, 2);
    CHECK_EQ(old.it_interval.tv_nsec, 500);
    /* Re-arm absolutely 30ms from now on CLOCK_REALTIME; old comes back. */
    struct timespec now;
    CHECK_OK(clock_gettime(CLOCK_REALTIME, &now));
    now.tv_nsec += 30000000;
    if (now.tv_nsec >= 1000000000) {
        now.tv_sec++;
        now.tv_nsec -= 1000000000;
    }
    v = its(now.tv_sec, now.tv_nsec, 0, 0);
    memset(&old, 0, sizeof(old));
    CHECK_OK(k_settime(t1, TIMER_ABSTIME, &v, &old));
    CHECK(old.it_value.tv_sec >= 9);
    CHECK_EQ(old.it_interval.tv_sec, 2);
    CHECK_EQ(wait_sig(SIGUSR1, &si, 3000), SIGUSR1);
    CHECK_EQ(si.si_code, SI_TIMER);
    CHECK_EQ((long)si.si_value.sival_ptr, 0x1234abcdL);
    CHECK_EQ(si.si_timerid, t1);
    /* An absolute time in the past fires at once. */
    v = its(1, 0, 0, 0);
    CHECK_OK(k_settime(t1, TIMER_ABSTIME, &v, NULL));
    CHECK_EQ(wait_sig(SIGUSR1, &si, 3000), SIGUSR1);

    /* Overruns: a 1ms periodic timer whose signal stays blocked. */
    v = its(0, 1000000, 0, 1000000);
    CHECK_OK(k_settime(t1, 0, &v, NULL));
    struct timespec nap = {0, 100000000};
    nanosleep(&nap, NULL);
    CHECK_EQ(wait_sig(SIGUSR1, &si, 3000), SIGUSR1);
    CHECK(si.si_overrun >= 10);
    CHECK_EQ(k_getoverrun(t1), si.si_overrun);
    /* Disarm: gettime reads zero, the old setting comes back. */
    v = its(0, 0, 0, 0);
    CHECK_OK(k_settime(t1, 0, &v, &old));
    CHECK_EQ(old.it_interval.tv_nsec, 1000000);
    CHECK_OK(k_gettime(t1, &v));
    CHECK_EQ(v.it_value.tv_sec + v.it_value.tv_nsec + v.it_interval.tv_nsec, 0);
    while (wait_sig(SIGUSR1, &si, 0) == SIGUSR1)
        ;

    /* SIGEV_THREAD_ID: only the named thread gets it. */
    memset(&sev, 0, sizeof(sev));
    sev.sigev_notify = SIGEV_THREAD_ID;
    sev.sigev_signo = SIGUSR2;
    sev.sigev_value.sival_int = 77;
    sev._sigev_un._tid = main_tid;
    int t2;
    CHECK_OK(k_create(CLOCK_BOOTTIME, &sev, &t2));
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, other_thread, NULL), 0);
    v = its(0, 20000000, 0, 0);
    CHECK_OK(k_settime(t2, 0, &v, NULL));
    CHECK_EQ(pthread_join(th, NULL), 0);
    CHECK_EQ(other_result, EAGAIN);
    CHECK_EQ(wait_sig(SIGUSR2, &si, 3000), SIGUSR2);
    CHECK_EQ(si.si_value.sival_int, 77);
    CHECK_EQ(si.si_code, SI_TIMER);

    /* SIGEV_NONE: no signal, the timer still counts down. */
    memset(&sev, 0, sizeof(sev));
    sev.sigev_notify = SIGEV_NONE;
    int t3;
    CHECK_OK(k_create(CLOCK_PROCESS_CPUTIME_ID, &sev, &t3));
    v = its(5, 0, 0, 0);
    CHECK_OK(k_settime(t3, 0, &v, NULL));
    CHECK_OK(k_gettime(t3, &v));
    CHECK(v.it_value.tv_sec <= 5 && (v.it_value.tv_sec > 0 || v.it_value.tv_nsec > 0));
    int t4;
    CHECK_OK(k_create(CLOCK_THREAD_CPUTIME_ID, &sev, &t4));

    /* Errors. */
    CHECK_ERR(k_create(100, NULL, &t4), EINVAL);
    CHECK_ERR(k_create(CLOCK_MONOTONIC, NULL, (int *)8), EFAULT);
    memset(&sev, 0, sizeof(sev));
    sev.sigev_notify = 99;
    sev.sigev_signo = SIGUSR1;
    CHECK_ERR(k_create(CLOCK_MONOTONIC, &sev, &t4), EINVAL);
    sev.sigev_notify = SIGEV_SIGNAL;
    sev.sigev_signo = 0;
    CHECK_ERR(k_create(CLOCK_MONOTONIC, &sev, &t4), EINVAL);
    sev.sigev_signo = 65;
    CHECK_ERR(k_create(CLOCK_MONOTONIC, &sev, &t4), EINVAL);
    sev.sigev_notify = SIGEV_THREAD_ID;
    sev.sigev_signo = SIGUSR1;
    sev._sigev_un._tid = 4000000;
    CHECK_ERR(k_create(CLOCK_MONOTONIC, &sev, &t4), EINVAL);
    v = its(0, 1000000000, 0, 0);
    CHECK_ERR(k_settime(t1, 0, &v, NULL), EINVAL);
    v = its(-1, 0, 0, 0);
    CHECK_ERR(k_settime(t1, 0, &v, NULL), EINVAL);
    v = its(1, 0, 0, 0);
    CHECK_ERR(k_settime(12345, 0, &v, NULL), EINVAL);
    CHECK_ERR(k_settime(t1, 0, NULL, NULL), EINVAL);
    CHECK_ERR(k_gettime(12345, &v), EINVAL);
    CHECK_ERR(k_getoverrun(12345), EINVAL);
    CHECK_OK(k_delete(t3));
    CHECK_ERR(k_delete(t3), EINVAL);
    CHECK_ERR(k_gettime(t3, &v), EINVAL);

    /* fork: the child has none of our timers. */
    pid_t pid = CHECK_OK(fork());
    if (pid == 0) {
        struct itimerspec cv;
        if (k_gettime(t1, &cv) != -1 || errno != EINVAL)
            _exit(1);
        if (k_gettime(t2, &cv) != -1 || errno != EINVAL)
            _exit(2);
        _exit(0);
    }
    CHECK_EXITED(wait_status(pid), 0);

    /* exec: a process's timers are gone afterwards. */
    pid = CHECK_OK(fork());
    if (pid == 0) {
        int a, b;
        if (k_create(CLOCK_MONOTONIC, NULL, &a) != 0 || k_create(CLOCK_MONOTONIC, NULL, &b) != 0)
            _exit(3);
        struct itimerspec cv = its(100, 0, 0, 0);
        k_settime(a, 0, &cv, NULL);
        execl("/proc/self/exe", argv[0], "after-exec", (char *)NULL);
        _exit(4);
    }
    CHECK_EXITED(wait_status(pid), 0);

    CHECK_OK(k_delete(t0));
    CHECK_OK(k_delete(t1));
    CHECK_OK(k_delete(t2));
    CHECK_OK(k_delete(t4));
    return 0;
}
