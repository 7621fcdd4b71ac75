/* POSIX timers on CPU-time clocks expire on CPU time, not wall-clock
 * time: a CLOCK_PROCESS_CPUTIME_ID timer armed for 100 ms stays silent
 * through a 300 ms sleep and fires once the process has spun for 100 ms;
 * a CLOCK_THREAD_CPUTIME_ID timer counts only its own thread's time (a
 * sibling spinning meanwhile does not advance it); timers on the clocks
 * of clock_getcpuclockid (this process, or a child: the signal comes to
 * the timer's owner) and pthread_getcpuclockid work, as do TIMER_ABSTIME
 * and timer_gettime. Thread clocks of other processes and clocks of
 * unknown pids are EINVAL; clock_getcpuclockid of an unknown pid ESRCH.
 * clock_nanosleep on the process clock waits until the process has used
 * that much CPU time (the raw thread clock: EOPNOTSUPP; a thread's own
 * clock: EINVAL); CPU clocks cannot be set (EINVAL for the static ids,
 * EPERM for clock_getcpuclockid's). */
#include "check.h"

#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>

static volatile sig_atomic_t fired;
static volatile int fired_code, fired_value;

static void on_timer(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)uc;
    fired++;
    fired_code = si->si_code;
    fired_value = si->si_value.sival_int;
}

static long long clock_ns(clockid_t c)
{
    struct timespec ts;
    CHECK_OK(clock_gettime(c, &ts));
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void msleep(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0)
        CHECK_EQ(errno, EINTR);
}

static timer_t make_timer(clockid_t c, int value)
{
    struct sigevent ev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR1};
    ev.sigev_value.sival_int = value;
    timer_t t;
    CHECK_OK(timer_create(c, &ev, &t));
    return t;
}

static void arm(timer_t t, int flags, long long ns)
{
    struct itimerspec its = {{0, 0}, {ns / 1000000000LL, ns % 1000000000LL}};
    CHECK_OK(timer_settime(t, flags, &its, NULL));
}

static long long left_ns(timer_t t)
{
    struct itimerspec its;
    CHECK_OK(timer_gettime(t, &its));
    return (long long)its.it_value.tv_sec * 1000000000LL + its.it_value.tv_nsec;
}

/* Spins until the timer signal came; fails after 20 s of wall time. */
static void spin_until_fired(void)
{
    long long start = mono_ns();
    volatile unsigned long x = 0;
    while (!fired) {
        for (int i = 0; i < 100000; i++)
            x++;
        if (mono_ns() - start > 20000000000LL)
            FAILF("CPU timer did not fire within 20 s");
    }
}

/* Arms `t` (on clock `c`) for 100 ms of CPU, sleeps 300 ms without a
 * signal, spins until it fires, checks the CPU time used. */
static void sleep_then_spin(timer_t t, clockid_t c, int value, int abstime)
{
    fired = 0;
    long long cpu0 = clock_ns(c);
    arm(t, abstime ? TIMER_ABSTIME : 0, abstime ? cpu0 + 100000000LL : 100000000LL);
    long long left = left_ns(t);
    if (!(left > 90000000LL && left <= 100000000LL)) FAILF("left %lld", left);
    msleep(300);
    CHECK_EQ(fired, 0);
    CHECK(left_ns(t) > 60000000LL);
    spin_until_fired();
    CHECK_EQ(fired, 1);
    CHECK_EQ(fired_code, SI_TIMER);
    CHECK_EQ(fired_value, value);
    CHECK(clock_ns(c) - cpu0 >= 100000000LL);
    CHECK_EQ(left_ns(t), 0);
}

static volatile int stop_spinner;

static void *spinner(void *arg)
{
    (void)arg;
    volatile unsigned long x = 0;
    while (!stop_spinner)
        x++;
    return NULL;
}

int main(void)
{
    struct sigaction sa = {.sa_sigaction = on_timer, .sa_flags = SA_SIGINFO | SA_RESTART};
    sigemptyset(&sa.sa_mask);
    CHECK_OK(sigaction(SIGUSR1, &sa, NULL));

    /* The process clock, relative and absolute. */
    timer_t pt = make_timer(CLOCK_PROCESS_CPUTIME_ID, 1);
    sleep_then_spin(pt, CLOCK_PROCESS_CPUTIME_ID, 1, 0);
    sleep_then_spin(pt, CLOCK_PROCESS_CPUTIME_ID, 1, 1);
    CHECK_OK(timer_delete(pt));

    /* clock_getcpuclockid of this process. */
    clockid_t mine;
    CHECK_EQ(clock_getcpuclockid(getpid(), &mine), 0);
    timer_t mt = make_timer(mine, 2);
    sleep_then_spin(mt, mine, 2, 0);
    CHECK_OK(timer_delete(mt));

    /* The thread clock: a sibling's spinning does not advance it. */
    timer_t tt = make_timer(CLOCK_THREAD_CPUTIME_ID, 3);
    fired = 0;
    stop_spinner = 0;
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, spinner, NULL), 0);
    arm(tt, 0, 100000000LL);
    long long p0 = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
    while (clock_ns(CLOCK_PROCESS_CPUTIME_ID) - p0 < 300000000LL) {
        if (fired)
            break;
        msleep(10);
    }
    CHECK_EQ(fired, 0);
    CHECK(left_ns(tt) > 60000000LL);
    stop_spinner = 1;
    CHECK_EQ(pthread_join(th, NULL), 0);
    spin_until_fired();
    CHECK_EQ(fired_value, 3);
    CHECK_OK(timer_delete(tt));

    /* pthread_getcpuclockid of a sibling: its spinning fires the timer. */
    clockid_t sib;
    fired = 0;
    stop_spinner = 0;
    CHECK_EQ(pthread_create(&th, NULL, spinner, NULL), 0);
    CHECK_EQ(pthread_getcpuclockid(th, &sib), 0);
    timer_t st = make_timer(sib, 4);
    arm(st, 0, 100000000LL);
    long long start = mono_ns();
    while (!fired && mono_ns() - start < 20000000000LL)
        msleep(10);
    stop_spinner = 1;
    CHECK_EQ(pthread_join(th, NULL), 0);
    CHECK_EQ(fired, 1);
    CHECK_EQ(fired_value, 4);
    CHECK_OK(timer_delete(st));

    /* A child's process clock: the child spins, the parent is told. */
    int go[2];
    CHECK_OK(pipe(go));
    pid_t child = CHECK_OK(fork());
    if (child == 0) {
        char c;
        CHECK_EQ(read(go[0], &c, 1), 1);
        volatile unsigned long x = 0;
        long long t0 = mono_ns();
        while (mono_ns() - t0 < 20000000000LL)
            x++;
        _exit(0);
    }
    clockid_t cc;
    CHECK_EQ(clock_getcpuclockid(child, &cc), 0);
    fired = 0;
    timer_t ct = make_timer(cc, 5);
    arm(ct, 0, 100000000LL);
    CHECK_EQ(write(go[1], "x", 1), 1);
    start = mono_ns();
    while (!fired && mono_ns() - start < 20000000000LL)
        msleep(10);
    CHECK_EQ(fired, 1);
    CHECK_EQ(fired_value, 5);
    CHECK(clock_ns(cc) >= 100000000LL);
    /* The child's thread clock is not ours to use. */
    timer_t bad;
    struct sigevent ev = {.sigev_notify = SIGEV_NONE};
    clockid_t child_thread = (clockid_t)((~child << 3) | 2 | 4);
    CHECK_ERR(timer_create(child_thread, &ev, &bad), EINVAL);
    CHECK_OK(kill(child, SIGKILL));
    CHECK_SIGNALED(wait_status(child), SIGKILL);
    CHECK_OK(timer_delete(ct));

    /* Clocks that name nothing. */
    clockid_t nobody = (clockid_t)((~4000000 << 3) | 2);
    CHECK_ERR(timer_create(nobody, &ev, &bad), EINVAL);
    struct timespec ts;
    CHECK_ERR(clock_gettime(nobody, &ts), EINVAL);
    CHECK_EQ(clock_getcpuclockid(4000000, &cc), ESRCH);

    /* Sleeping on CPU time: returns once a sibling has spun 100 ms. */
    stop_spinner = 0;
    CHECK_EQ(pthread_create(&th, NULL, spinner, NULL), 0);
    long long c0 = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
    struct timespec hundred = {0, 100000000};
    CHECK_EQ(clock_nanosleep(CLOCK_PROCESS_CPUTIME_ID, 0, &hundred, NULL), 0);
    CHECK(clock_ns(CLOCK_PROCESS_CPUTIME_ID) - c0 >= 100000000LL);
    struct timespec abs = {(c0 + 200000000LL) / 1000000000LL, (c0 + 200000000LL) % 1000000000LL};
    CHECK_EQ(clock_nanosleep(mine, TIMER_ABSTIME, &abs, NULL), 0);
    CHECK(clock_ns(CLOCK_PROCESS_CPUTIME_ID) - c0 >= 200000000LL);
    stop_spinner = 1;
    CHECK_EQ(pthread_join(th, NULL), 0);
    CHECK_ERR(syscall(SYS_clock_nanosleep, CLOCK_THREAD_CPUTIME_ID, 0, &hundred, NULL), EOPNOTSUPP);
    clockid_t self_thread;
    CHECK_EQ(pthread_getcpuclockid(pthread_self(), &self_thread), 0);
    CHECK_ERR(syscall(SYS_clock_nanosleep, self_thread, 0, &hundred, NULL), EINVAL);
    CHECK_ERR(syscall(SYS_clock_nanosleep, nobody, 0, &hundred, NULL), EINVAL);

    /* CPU clocks are never set. */
    CHECK_ERR(clock_settime(CLOCK_PROCESS_CPUTIME_ID, &hundred), EINVAL);
    CHECK_ERR(clock_settime(CLOCK_THREAD_CPUTIME_ID, &hundred), EINVAL);
    CHECK_ERR(clock_settime(mine, &hundred), EPERM);
    CHECK_ERR(syscall(SYS_clock_settime, mine, NULL), EFAULT);
    CHECK_ERR(clock_settime(nobody, &hundred), EINVAL);
    struct timespec res;
    CHECK_OK(clock_getres(mine, &res));
    CHECK_EQ(res.tv_sec, 0);
    CHECK_EQ(res.tv_nsec, 1);
    return 0;
}
