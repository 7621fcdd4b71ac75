/* clock_gettime/clock_getres/gettimeofday/time: clocks agree with each
 * other, monotonic clocks never go backwards, CPU clocks advance with
 * work, resolutions, invalid clocks. */
#include "check.h"
#include <sys/syscall.h>
#include <sys/time.h>

static long long ns(const struct timespec *t)
{
    return (long long)t->tv_sec * 1000000000LL + t->tv_nsec;
}

int main(void)
{
    alarm(10);
    struct timespec rt, mono, boot, raw, coarse, cpu, res;
    struct timeval tv;

    CHECK_OK(clock_gettime(CLOCK_REALTIME, &rt));
    CHECK_OK(gettimeofday(&tv, NULL));
    time_t t = time(NULL);
    CHECK(tv.tv_usec >= 0 && tv.tv_usec < 1000000);
    CHECK(rt.tv_nsec >= 0 && rt.tv_nsec < 1000000000);
    /* Same clock through three interfaces, read within a few seconds. */
    CHECK(tv.tv_sec >= rt.tv_sec && tv.tv_sec <= rt.tv_sec + 2);
    CHECK(t >= tv.tv_sec && t <= tv.tv_sec + 2);
    CHECK(rt.tv_sec > 1600000000); /* after 2020 */
    time_t t2 = 0;
    CHECK_EQ(time(&t2), t2);
    /* The raw syscalls agree with the vDSO-backed wrappers. */
    struct timespec sys_rt;
    CHECK_OK(syscall(SYS_clock_gettime, CLOCK_REALTIME, &sys_rt));
    CHECK(sys_rt.tv_sec >= rt.tv_sec && sys_rt.tv_sec <= rt.tv_sec + 2);
    struct timeval sys_tv;
    CHECK_OK(syscall(SYS_gettimeofday, &sys_tv, NULL));
    CHECK(sys_tv.tv_sec >= tv.tv_sec && sys_tv.tv_sec <= tv.tv_sec + 2);

    /* Monotonic clocks only move forward. */
    CHECK_OK(clock_gettime(CLOCK_MONOTONIC, &mono));
    CHECK_OK(clock_gettime(CLOCK_BOOTTIME, &boot));
    CHECK_OK(clock_gettime(CLOCK_MONOTONIC_RAW, &raw));
    CHECK_OK(clock_gettime(CLOCK_MONOTONIC_COARSE, &coarse));
    CHECK_OK(clock_gettime(CLOCK_REALTIME_COARSE, &coarse));
    CHECK(ns(&boot) >= ns(&mono));
    long long prev = ns(&mono);
    for (int i = 0; i < 10000; i++) {
        struct timespec x;
        clock_gettime(CLOCK_MONOTONIC, &x);
        if (ns(&x) < prev)
            FAILF("CLOCK_MONOTONIC went backwards at iteration %d", i);
        prev = ns(&x);
    }
    struct timespec sys_mono;
    CHECK_OK(syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &sys_mono));
    CHECK(ns(&sys_mono) >= prev);

    /* CPU-time clocks advance with busy work. */
    struct timespec c0, c1, th;
    CHECK_OK(clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0));
    volatile unsigned long sink = 0;
    long long until = mono_ns() + 20000000LL;
    while (mono_ns() < until)
        for (int i = 0; i < 1000; i++)
            sink += i;
    CHECK_OK(clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1));
    CHECK(ns(&c1) > ns(&c0));
    CHECK_OK(clock_gettime(CLOCK_THREAD_CPUTIME_ID, &th));
    CHECK(ns(&th) > 0);
    CHECK(ns(&th) <= ns(&c1) + 1000000);
    (void)cpu;

    /* Resolutions. */
    CHECK_OK(clock_getres(CLOCK_MONOTONIC, &res));
    CHECK_EQ(res.tv_sec, 0);
    CHECK_EQ(res.tv_nsec, 1);
    CHECK_OK(clock_getres(CLOCK_REALTIME, &res));
    CHECK_EQ(res.tv_nsec, 1);
    CHECK_OK(clock_getres(CLOCK_MONOTONIC, NULL));

    CHECK_ERR(clock_gettime(12345, &rt), EINVAL);
    CHECK_ERR(clock_getres(12345, &res), EINVAL);
    CHECK_ERR(syscall(SYS_clock_gettime, CLOCK_REALTIME, (void *)8), EFAULT);
    /* Setting the clock needs CAP_SYS_TIME; a bad value is EINVAL first. */
    struct timespec badset = {0, 2000000000};
    CHECK_ERR(clock_settime(CLOCK_REALTIME, &badset), EINVAL);
    CHECK_ERR(clock_settime(CLOCK_MONOTONIC, &rt), EINVAL);
    return 0;
}
