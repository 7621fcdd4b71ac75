/* ITIMER_VIRTUAL and ITIMER_PROF count the process's CPU time, not
 * wall-clock time: armed for 100 ms, they stay silent through a 300 ms
 * sleep (getitimer still shows most of the 100 ms left), then fire
 * (SIGVTALRM / SIGPROF, si_code SI_KERNEL) once the process has spun for
 * about 100 ms of CPU, even though the spinning makes no system calls.
 * CPU time used by another thread counts for the process's timers. A
 * periodic ITIMER_PROF fires once per interval of CPU time at most; a
 * one-shot timer reads as disarmed after firing; fork does not inherit
 * the timers. */
#include "check.h"

#include <pthread.h>
#include <signal.h>
#include <sys/time.h>
#include <time.h>

static volatile sig_atomic_t fired[3];
static volatile int last_code[3];

static int which_of(int sig)
{
    return sig == SIGVTALRM ? ITIMER_VIRTUAL : sig == SIGPROF ? ITIMER_PROF : ITIMER_REAL;
}

static void on_timer(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    int w = which_of(sig);
    fired[w]++;
    last_code[w] = si->si_code;
}

static long long cpu_ns(void)
{
    struct timespec ts;
    CHECK_OK(clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts));
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static long long itimer_left_us(int which)
{
    struct itimerval v;
    CHECK_OK(getitimer(which, &v));
    return (long long)v.it_value.tv_sec * 1000000 + v.it_value.tv_usec;
}

static void arm(int which, long value_us, long interval_us)
{
    struct itimerval v = {
        .it_interval = {interval_us / 1000000, interval_us % 1000000},
        .it_value = {value_us / 1000000, value_us % 1000000},
    };
    CHECK_OK(setitimer(which, &v, NULL));
}

static void msleep(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0)
        CHECK_EQ(errno, EINTR);
}

/* Spins in user space until timer `which` has fired `n` times; fails
 * after 20 s of wall-clock time. Returns the process CPU time then. */
static long long spin_until_fired(int which, int n)
{
    long long start = mono_ns();
    volatile unsigned long x = 0;
    while (fired[which] < n) {
        for (int i = 0; i < 100000; i++)
            x++;
        if (mono_ns() - start > 20000000000LL)
            FAILF("timer %d fired %d times in 20 s, want %d", which, (int)fired[which], n);
    }
    return cpu_ns();
}

static void one_shot(int which)
{
    fired[which] = 0;
    long long cpu0 = cpu_ns();
    arm(which, 100000, 0);
    /* Linux adds one tick to a CPU itimer's first expiry. */
    long long left = itimer_left_us(which);
    CHECK(left > 90000 && left <= 115000);
    msleep(300);
    CHECK_EQ(fired[which], 0);
    left = itimer_left_us(which);
    CHECK(left > 60000);
    long long cpu1 = spin_until_fired(which, 1);
    CHECK_EQ(fired[which], 1);
    CHECK_EQ(last_code[which], SI_KERNEL);
    CHECK(cpu1 - cpu0 >= 90000000LL);
    CHECK_EQ(itimer_left_us(which), 0);
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
    CHECK_OK(sigaction(SIGVTALRM, &sa, NULL));
    CHECK_OK(sigaction(SIGPROF, &sa, NULL));

    one_shot(ITIMER_VIRTUAL);
    one_shot(ITIMER_PROF);

    /* The old value comes back from setitimer; interval is kept. */
    arm(ITIMER_PROF, 5000000, 250000);
    struct itimerval old, zero = {{0, 0}, {0, 0}};
    CHECK_OK(setitimer(ITIMER_PROF, &zero, &old));
    CHECK_EQ(old.it_interval.tv_sec, 0);
    CHECK_EQ(old.it_interval.tv_usec, 250000);
    CHECK(old.it_value.tv_sec >= 4 && old.it_value.tv_sec <= 5);
    CHECK_EQ(itimer_left_us(ITIMER_PROF), 0);

    /* Periodic: one expiry per 20 ms of CPU at most. */
    fired[ITIMER_PROF] = 0;
    long long cpu0 = cpu_ns();
    arm(ITIMER_PROF, 20000, 20000);
    long long cpu1 = spin_until_fired(ITIMER_PROF, 5);
    arm(ITIMER_PROF, 0, 0);
    int n = fired[ITIMER_PROF];
    CHECK(n >= 5);
    CHECK(n <= (cpu1 - cpu0) / 20000000LL + 1);

    /* Another thread's CPU time counts for the process; the main thread
     * sleeps and gets the signal when it wakes or is interrupted. */
    fired[ITIMER_VIRTUAL] = 0;
    stop_spinner = 0;
    pthread_t th;
    arm(ITIMER_VIRTUAL, 100000, 0);
    CHECK_EQ(pthread_create(&th, NULL, spinner, NULL), 0);
    long long start = mono_ns();
    while (!fired[ITIMER_VIRTUAL] && mono_ns() - start < 20000000000LL) {
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
    }
    stop_spinner = 1;
    CHECK_EQ(pthread_join(th, NULL), 0);
    CHECK_EQ(fired[ITIMER_VIRTUAL], 1);

    /* fork: the child starts without the parent's timers. */
    arm(ITIMER_VIRTUAL, 5000000, 0);
    pid_t child = CHECK_OK(fork());
    if (child == 0) {
        CHECK_EQ(itimer_left_us(ITIMER_VIRTUAL), 0);
        _exit(0);
    }
    CHECK_EXITED(wait_status(child), 0);
    CHECK(itimer_left_us(ITIMER_VIRTUAL) > 0);
    arm(ITIMER_VIRTUAL, 0, 0);

    /* Out-of-range values. */
    struct itimerval bad = {{0, 0}, {0, 1000000}};
    CHECK_ERR(setitimer(ITIMER_VIRTUAL, &bad, NULL), EINVAL);
    CHECK_ERR(setitimer(3, &zero, NULL), EINVAL);
    return 0;
}
