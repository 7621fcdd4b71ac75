/* nanosleep/clock_nanosleep: elapsed >= requested on CLOCK_MONOTONIC,
 * TIMER_ABSTIME (including a deadline in the past), invalid timespecs and
 * clocks, EINTR with the remaining time when a handler interrupts. */
#include "check.h"
#include <signal.h>
#include <sys/time.h>

static void on_alarm(int sig)
{
    (void)sig;
}

int main(void)
{
    alarm(10);
    long long t0 = mono_ns();
    struct timespec req = {0, 50000000}, rem = {9, 9};
    CHECK_EQ(nanosleep(&req, &rem), 0);
    CHECK(mono_ns() - t0 >= 50000000LL);

    t0 = mono_ns();
    req.tv_nsec = 30000000;
    CHECK_EQ(clock_nanosleep(CLOCK_MONOTONIC, 0, &req, NULL), 0);
    CHECK(mono_ns() - t0 >= 30000000LL);
    t0 = mono_ns();
    CHECK_EQ(clock_nanosleep(CLOCK_REALTIME, 0, &req, NULL), 0);
    CHECK(mono_ns() - t0 >= 30000000LL);

    /* Absolute deadline. */
    struct timespec now, dl;
    CHECK_OK(clock_gettime(CLOCK_MONOTONIC, &now));
    dl = now;
    dl.tv_nsec += 40000000;
    if (dl.tv_nsec >= 1000000000) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000;
    }
    CHECK_EQ(clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &dl, NULL), 0);
    struct timespec after;
    CHECK_OK(clock_gettime(CLOCK_MONOTONIC, &after));
    CHECK(after.tv_sec > dl.tv_sec || (after.tv_sec == dl.tv_sec && after.tv_nsec >= dl.tv_nsec));
    /* A deadline in the past returns immediately. */
    t0 = mono_ns();
    CHECK_EQ(clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &now, NULL), 0);
    CHECK(mono_ns() - t0 < 500000000LL);
    struct timespec zero = {0, 0};
    CHECK_EQ(nanosleep(&zero, NULL), 0);

    /* Invalid arguments (clock_nanosleep returns the error number). */
    struct timespec bad = {0, 1000000000};
    CHECK_ERR(nanosleep(&bad, NULL), EINVAL);
    struct timespec neg = {-1, 0};
    CHECK_ERR(nanosleep(&neg, NULL), EINVAL);
    CHECK_EQ(clock_nanosleep(CLOCK_MONOTONIC, 0, &bad, NULL), EINVAL);
    CHECK_EQ(clock_nanosleep(CLOCK_THREAD_CPUTIME_ID, 0, &req, NULL), EINVAL);
    CHECK_EQ(clock_nanosleep(12345, 0, &req, NULL), EINVAL);

    /* Interrupted by a handler: EINTR and a sensible remaining time. */
    struct sigaction sa = {0};
    sa.sa_handler = on_alarm;
    CHECK_OK(sigaction(SIGALRM, &sa, NULL));
    struct itimerval it = {{0, 0}, {0, 30000}};
    CHECK_OK(setitimer(ITIMER_REAL, &it, NULL));
    struct timespec longreq = {5, 0};
    t0 = mono_ns();
    CHECK_ERR(nanosleep(&longreq, &rem), EINTR);
    CHECK(mono_ns() - t0 < 4000000000LL);
    CHECK(rem.tv_sec <= 5);
    CHECK(rem.tv_sec >= 3);
    CHECK(rem.tv_nsec >= 0 && rem.tv_nsec < 1000000000);
    CHECK_OK(setitimer(ITIMER_REAL, &it, NULL));
    CHECK_EQ(clock_nanosleep(CLOCK_MONOTONIC, 0, &longreq, &rem), EINTR);
    CHECK(rem.tv_sec >= 3 && rem.tv_sec <= 5);
    return 0;
}
