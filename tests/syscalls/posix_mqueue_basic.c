/* POSIX message queues: mq_open flags and attribute checks (EEXIST,
 * ENOENT, EINVAL), priority order (highest first, FIFO within one),
 * EMSGSIZE, EAGAIN with O_NONBLOCK, mq_timedreceive/mq_timedsend
 * timeouts (ETIMEDOUT), mq_getsetattr, poll readiness, a receiver woken
 * by a forked sender, EBADF for the wrong access mode, mq_unlink while
 * open. */
#include "check.h"
#include <mqueue.h>
#include <poll.h>

static char qname[64];
static void cleanup(void)
{
    mq_unlink(qname);
}

static struct timespec in_ms(long ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += ms * 1000000L;
    ts.tv_sec += ts.tv_nsec / 1000000000L;
    ts.tv_nsec %= 1000000000L;
    return ts;
}

int main(void)
{
    alarm(10);
    snprintf(qname, sizeof(qname), "/rvt-mq-%d", (int)getpid());
    atexit(cleanup);
    char buf[128];
    unsigned prio;

    CHECK_ERR(mq_open("noslash", O_RDONLY), EINVAL); /* glibc's check */
    CHECK_ERR(mq_open(qname, O_RDONLY), ENOENT);
    struct mq_attr attr = {.mq_maxmsg = 0, .mq_msgsize = 64};
    CHECK_ERR(mq_open(qname, O_RDWR | O_CREAT, 0600, &attr), EINVAL);
    attr.mq_maxmsg = 3;
    mqd_t q = CHECK_OK(mq_open(qname, O_RDWR | O_CREAT | O_EXCL, 0600, &attr));
    CHECK_ERR(mq_open(qname, O_RDWR | O_CREAT | O_EXCL, 0600, &attr), EEXIST);

    struct mq_attr got;
    CHECK_OK(mq_getattr(q, &got));
    CHECK_EQ(got.mq_maxmsg, 3);
    CHECK_EQ(got.mq_msgsize, 64);
    CHECK_EQ(got.mq_curmsgs, 0);
    CHECK_EQ(got.mq_flags, 0);

    struct pollfd pfd = {.fd = q, .events = POLLIN | POLLOUT};
    CHECK_EQ(poll(&pfd, 1, 0), 1);
    CHECK_EQ(pfd.revents, POLLOUT);

    CHECK_ERR(mq_send(q, buf, 65, 0), EMSGSIZE);
    CHECK_ERR(mq_send(q, "x", 1, 32768), EINVAL);
    CHECK_OK(mq_send(q, "low", 3, 1));
    CHECK_OK(mq_send(q, "high", 4, 9));
    CHECK_OK(mq_send(q, "low2", 4, 1));
    CHECK_OK(mq_getattr(q, &got));
    CHECK_EQ(got.mq_curmsgs, 3);
    pfd.revents = 0;
    CHECK_EQ(poll(&pfd, 1, 0), 1);
    CHECK_EQ(pfd.revents, POLLIN);

    /* Full: a timed send times out. */
    struct timespec ts = in_ms(30);
    CHECK_ERR(mq_timedsend(q, "x", 1, 0, &ts), ETIMEDOUT);
    ts.tv_nsec = -1;
    CHECK_ERR(mq_timedsend(q, "x", 1, 0, &ts), EINVAL);

    CHECK_ERR(mq_receive(q, buf, 63, &prio), EMSGSIZE);
    CHECK_EQ(mq_receive(q, buf, sizeof(buf), &prio), 4);
    CHECK_EQ(prio, 9);
    CHECK_MEMEQ(buf, "high", 4);
    CHECK_EQ(mq_receive(q, buf, sizeof(buf), &prio), 3);
    CHECK_EQ(prio, 1);
    CHECK_MEMEQ(buf, "low", 3);
    CHECK_EQ(mq_receive(q, buf, sizeof(buf), NULL), 4);
    CHECK_MEMEQ(buf, "low2", 4);

    /* Empty: O_NONBLOCK gives EAGAIN, a timed receive ETIMEDOUT. */
    struct mq_attr nb = {.mq_flags = O_NONBLOCK}, old;
    CHECK_OK(mq_setattr(q, &nb, &old));
    CHECK_EQ(old.mq_flags, 0);
    CHECK_ERR(mq_receive(q, buf, sizeof(buf), NULL), EAGAIN);
    nb.mq_flags = 0;
    CHECK_OK(mq_setattr(q, &nb, &old));
    CHECK_EQ(old.mq_flags, O_NONBLOCK);
    ts = in_ms(30);
    long long t0 = mono_ns();
    CHECK_ERR(mq_timedreceive(q, buf, sizeof(buf), NULL, &ts), ETIMEDOUT);
    CHECK(mono_ns() - t0 >= 20 * 1000 * 1000);

    /* A receiver blocks until a forked child sends. */
    pid_t pid = CHECK_OK(fork());
    if (pid == 0) {
        usleep(50 * 1000);
        mqd_t w = mq_open(qname, O_WRONLY);
        if (w == (mqd_t)-1)
            _exit(2);
        _exit(mq_send(w, "child", 5, 3) == 0 ? 0 : 3);
    }
    CHECK_EQ(mq_receive(q, buf, sizeof(buf), &prio), 5);
    CHECK_MEMEQ(buf, "child", 5);
    CHECK_EQ(prio, 3);
    CHECK_EXITED(wait_status(pid), 0);

    /* Access modes. */
    mqd_t ro = CHECK_OK(mq_open(qname, O_RDONLY));
    CHECK_ERR(mq_send(ro, "x", 1, 0), EBADF);
    mqd_t wo = CHECK_OK(mq_open(qname, O_WRONLY | O_NONBLOCK));
    CHECK_OK(mq_getattr(wo, &got));
    CHECK_EQ(got.mq_flags, O_NONBLOCK);
    CHECK_ERR(mq_receive(wo, buf, sizeof(buf), NULL), EBADF);
    CHECK_ERR(mq_send(0x7fff, "x", 1, 0), EBADF);

    /* Unlinked queues keep working through open descriptors. */
    CHECK_OK(mq_unlink(qname));
    CHECK_ERR(mq_unlink(qname), ENOENT);
    CHECK_ERR(mq_open(qname, O_RDONLY), ENOENT);
    CHECK_OK(mq_send(wo, "after", 5, 0));
    CHECK_EQ(mq_receive(ro, buf, sizeof(buf), NULL), 5);
    CHECK_OK(mq_close(q));
    CHECK_OK(mq_close(ro));
    CHECK_OK(mq_close(wo));
    return 0;
}
