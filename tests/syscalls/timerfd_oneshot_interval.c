/* timerfd: one-shot and interval timers on CLOCK_MONOTONIC and
 * CLOCK_REALTIME, TFD_TIMER_ABSTIME, gettime, expiration counts, EAGAIN
 * when non-blocking, blocking reads, poll readiness and the EINVALs. */
#include "check.h"
#include <poll.h>
#include <sys/timerfd.h>

static struct itimerspec its(long vs, long vns, long is, long ins)
{
    struct itimerspec t = {{is, ins}, {vs, vns}};
    return t;
}

int main(void)
{
    alarm(10);
    uint64_t n;
    int fd = CHECK_OK(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC));
    CHECK_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);
    CHECK_ERR(read(fd, &n, 8), EAGAIN);
    struct itimerspec cur;
    CHECK_OK(timerfd_gettime(fd, &cur));
    CHECK_EQ(cur.it_value.tv_sec, 0);
    CHECK_EQ(cur.it_value.tv_nsec, 0);

    /* One-shot, 50 ms. */
    struct itimerspec t = its(0, 50000000, 0, 0), old;
    CHECK_OK(timerfd_settime(fd, 0, &t, &old));
    CHECK_EQ(old.it_value.tv_nsec, 0);
    CHECK_OK(timerfd_gettime(fd, &cur));
    CHECK(cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec > 0 && cur.it_value.tv_nsec <= 50000000);
    struct pollfd p = {fd, POLLIN, 0};
    CHECK_EQ(poll(&p, 1, 0), 0);
    long long t0 = mono_ns();
    CHECK_EQ(poll(&p, 1, 2000), 1);
    CHECK(mono_ns() - t0 >= 40000000LL);
    char small[4];
    CHECK_ERR(read(fd, small, 4), EINVAL);
    CHECK_EQ(read(fd, &n, 8), 8);
    CHECK_EQ(n, 1);
    CHECK_ERR(read(fd, &n, 8), EAGAIN);
    CHECK_OK(timerfd_gettime(fd, &cur));
    CHECK_EQ(cur.it_value.tv_sec, 0);
    CHECK_EQ(cur.it_value.tv_nsec, 0);

    /* Interval: 20 ms period; after ~110 ms several expirations queued. */
    t = its(0, 20000000, 0, 20000000);
    t0 = mono_ns();
    CHECK_OK(timerfd_settime(fd, 0, &t, NULL));
    usleep(110000);
    CHECK_EQ(read(fd, &n, 8), 8);
    long long elapsed = mono_ns() - t0;
    /* Expired at 20, 40, ..., 100 ms at least; never more often than the
     * time that passed allows. */
    CHECK(n >= 5);
    CHECK((long long)n <= elapsed / 20000000LL);
    CHECK_OK(timerfd_gettime(fd, &cur));
    CHECK_EQ(cur.it_interval.tv_nsec, 20000000);
    /* Disarm returns the old setting. */
    t = its(0, 0, 0, 0);
    CHECK_OK(timerfd_settime(fd, 0, &t, &old));
    CHECK_EQ(old.it_interval.tv_nsec, 20000000);
    usleep(50000);
    CHECK_ERR(read(fd, &n, 8), EAGAIN);
    close(fd);

    /* Blocking read, absolute CLOCK_REALTIME deadline. */
    fd = CHECK_OK(timerfd_create(CLOCK_REALTIME, 0));
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    now.tv_nsec += 60000000;
    if (now.tv_nsec >= 1000000000) {
        now.tv_sec++;
        now.tv_nsec -= 1000000000;
    }
    t.it_value = now;
    t.it_interval.tv_sec = 0;
    t.it_interval.tv_nsec = 0;
    t0 = mono_ns();
    CHECK_OK(timerfd_settime(fd, TFD_TIMER_ABSTIME, &t, NULL));
    CHECK_EQ(read(fd, &n, 8), 8);
    CHECK_EQ(n, 1);
    CHECK(mono_ns() - t0 >= 40000000LL);
    /* An absolute time in the past fires at once. */
    t = its(1, 0, 0, 0);
    CHECK_OK(timerfd_settime(fd, TFD_TIMER_ABSTIME, &t, NULL));
    CHECK_EQ(read(fd, &n, 8), 8);
    CHECK_EQ(n, 1);
    close(fd);

    /* Errors. */
    CHECK_ERR(timerfd_create(12345, 0), EINVAL);
    CHECK_ERR(timerfd_create(CLOCK_MONOTONIC, 0x4), EINVAL);
    fd = CHECK_OK(timerfd_create(CLOCK_BOOTTIME, 0));
    t = its(0, 1000000000, 0, 0);
    CHECK_ERR(timerfd_settime(fd, 0, &t, NULL), EINVAL);
    t = its(-1, 0, 0, 0);
    CHECK_ERR(timerfd_settime(fd, 0, &t, NULL), EINVAL);
    t = its(1, 0, 0, 0);
    CHECK_ERR(timerfd_settime(fd, 0x100, &t, NULL), EINVAL);
    CHECK_ERR(timerfd_settime(0x7fff, 0, &t, NULL), EBADF);
    int pp[2];
    CHECK_OK(pipe(pp));
    CHECK_ERR(timerfd_settime(pp[0], 0, &t, NULL), EINVAL);
    CHECK_ERR(timerfd_gettime(pp[0], &cur), EINVAL);
    return 0;
}
