/* epoll: level-triggered, edge-triggered (EPOLLET reports only new
 * readiness) and one-shot (EPOLLONESHOT needs EPOLL_CTL_MOD to re-arm)
 * watches on pipes, unix sockets, eventfd, timerfd, signalfd and nested
 * epoll fds; timeouts; epoll_pwait/epoll_pwait2; EPOLLHUP/EPOLLRDHUP;
 * closing the last fd of a file drops its watch; and epoll_ctl's errnos
 * (EEXIST, ENOENT, EBADF, EPERM, EINVAL, ELOOP). */
#include "check.h"
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>

static int add(int ep, int fd, uint32_t events, uint64_t data)
{
    struct epoll_event ev = {.events = events, .data.u64 = data};
    return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

static int mod(int ep, int fd, uint32_t events, uint64_t data)
{
    struct epoll_event ev = {.events = events, .data.u64 = data};
    return epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
}

int main(void)
{
    alarm(10);
    struct epoll_event ev[8];
    char buf[64];
    int p[2];
    CHECK_OK(pipe(p));
    int ep = CHECK_OK(epoll_create1(EPOLL_CLOEXEC));
    CHECK_EQ(fcntl(ep, F_GETFD), FD_CLOEXEC);

    /* Level-triggered pipe. */
    CHECK_OK(add(ep, p[0], EPOLLIN, 100));
    CHECK_EQ(epoll_wait(ep, ev, 8, 0), 0);
    long long t0 = mono_ns();
    CHECK_EQ(epoll_wait(ep, ev, 8, 50), 0);
    CHECK(mono_ns() - t0 >= 45000000LL);
    CHECK_EQ(write(p[1], "ab", 2), 2);
    CHECK_EQ(epoll_wait(ep, ev, 8, 0), 1);
    CHECK_EQ(ev[0].events, EPOLLIN);
    CHECK_EQ(ev[0].data.u64, 100);
    CHECK_EQ(epoll_wait(ep, ev, 8, 0), 1);
    CHECK_EQ(read(p[0], buf, sizeof(buf)), 2);
    CHECK_EQ(epoll_wait(ep, ev, 8, 0), 0);

    /* Errnos. */
    CHECK_ERR(add(ep, p[0], EPOLLIN, 0), EEXIST);
    CHECK_ERR(mod(ep, p[1], EPOLLOUT, 0), ENOENT);
    CHECK_ERR(epoll_ctl(ep, EPOLL_CTL_DEL, p[1], NULL), ENOENT);
    CHECK_ERR(add(ep, 0x7fff, EPOLLIN, 0), EBADF);
    CHECK_ERR(add(0x7fff, p[0], EPOLLIN, 0), EBADF);
    CHECK_ERR(add(ep, ep, EPOLLIN, 0), EINVAL);
    CHECK_ERR(add(p[0], p[1], EPOLLIN, 0), EINVAL);
    CHECK_ERR(epoll_ctl(ep, 99, p[1], &ev[0]), EINVAL);
    CHECK_ERR(add(ep, p[1], EPOLLOUT | EPOLLEXCLUSIVE | EPOLLONESHOT, 0), EINVAL);
    CHECK_ERR(epoll_wait(ep, ev, 0, 0), EINVAL);
    CHECK_ERR(epoll_wait(p[0], ev, 1, 0), EINVAL);
    CHECK_ERR(epoll_wait(0x7fff, ev, 1, 0), EBADF);
    CHECK_ERR(epoll_create(0), EINVAL);
    CHECK_ERR(epoll_create1(1), EINVAL);
    make_tmpdir();
    write_file(tpath("f"), "x", 1, 0644);
    int reg = CHECK_OK(open(tpath("f"), O_RDONLY));
    CHECK_ERR(add(ep, reg, EPOLLIN, 0), EPERM);
    close(reg);

    /* Edge-triggered: a second wait reports nothing until new data. */
    CHECK_OK(mod(ep, p[0], EPOLLIN | EPOLLET, 101));
    CHECK_EQ(write(p[1], "a", 1), 1);
    CHECK_EQ(epoll_wait(ep, ev, 8, 0), 1);
    CHECK_EQ(ev[0].data.u64, 101);
    CHECK_EQ(epoll_wait(ep, ev, 8, 0), 0);
    CHECK_EQ(write(p[1], "b", 1), 1);
    CHECK_EQ(epoll_wait(ep, ev, 8, 0), 1);
    CHECK_EQ(ev[0].events, EPOLLIN);
    CHECK_EQ(epoll_wait(ep, ev, 8, 20), 0);
    CHECK_EQ(read(p[0], buf, sizeof(buf)), 2);

    /* One-shot: reported once, then silent until MOD re-arms it. */
    CHECK_OK(mod(ep, p[0], EPOLLIN | EPOLLONESHOT, 102));
    CHECK_EQ(write(p[1], "c", 1), 1);
    CHECK_EQ(epoll_wait(ep, ev, 8, 0), 1);
    CHECK_EQ(ev[0].data.u64, 102);
    CHECK_EQ(epoll_wait(ep, ev, 8, 0), 0);
    CHECK_EQ(write(p[1], "d", 1), 1);
    CHECK_EQ(epoll_wait(ep, ev, 8, 0), 0);
    CHECK_OK(mod(ep, p[0], EPOLLIN | EPOLLONESHOT, 103));
    CHECK_EQ(epoll_wait(ep, ev, 8, 0), 1);
    CHECK_EQ(ev[0].data.u64, 103);
    CHECK_EQ(read(p[0], buf, sizeof(buf)), 2);
    CHECK_OK(epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL));

    /* Blocking wait woken by a writer in a child. */
    CHECK_OK(add(ep, p[0], EPOLLIN, 104));
    pid_t pid = CHECK_OK(fork());
    if (pid == 0) {
        usleep(50000);
        _exit(write(p[1], "e", 1) == 1 ? 0 : 1);
    }
    CHECK_EQ(epoll_wait(ep, ev, 8, 5000), 1);
    CHECK_EQ(ev[0].data.u64, 104);
    CHECK_EXITED(wait_status(pid), 0);
    CHECK_EQ(read(p[0], buf, sizeof(buf)), 1);

    /* Writer closed: EPOLLHUP on the read end (not asked for). */
    close(p[1]);
    CHECK_EQ(epoll_wait(ep, ev, 8, 0), 1);
    CHECK_EQ(ev[0].events, EPOLLHUP);
    /* Closing the last fd of the file drops the watch. */
    close(p[0]);
    CHECK_EQ(epoll_wait(ep, ev, 8, 0), 0);
    CHECK_OK(pipe(p));
    /* A dup keeps the description (and so the watch) alive. */
    CHECK_OK(add(ep, p[0], EPOLLIN, 105));
    int d = CHECK_OK(dup(p[0]));
    close(p[0]);
    CHECK_EQ(write(p[1], "f", 1), 1);
    CHECK_EQ(epoll_wait(ep, ev, 8, 0), 1);
    CHECK_EQ(ev[0].data.u64, 105);
    close(d);
    CHECK_EQ(epoll_wait(ep, ev, 8, 0), 0);
    close(p[1]);

    /* Sockets: EPOLLOUT, then EPOLLIN, then EPOLLRDHUP on peer shutdown. */
    int sv[2];
    CHECK_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    CHECK_OK(add(ep, sv[0], EPOLLIN | EPOLLOUT | EPOLLRDHUP, 200));
    CHECK_EQ(epoll_wait(ep, ev, 8, 0), 1);
    CHECK_EQ(ev[0].events, EPOLLOUT);
    CHECK_OK(mod(ep, sv[0], EPOLLIN | EPOLLRDHUP | EPOLLET, 201));
    CHECK_EQ(epoll_wait(ep, ev, 8, 0), 0);
    CHECK_EQ(write(sv[1], "hi", 2), 2);
    CHECK_EQ(epoll_wait(ep, ev, 8, 0), 1);
    CHECK_EQ(ev[0].events, EPOLLIN);
    CHECK_EQ(epoll_wait(ep, ev, 8, 0), 0);
    CHECK_OK(shutdown(sv[1], SHUT_WR));
    CHECK_EQ(epoll_wait(ep, ev, 8, 1000), 1);
    CHECK_EQ(ev[0].events, EPOLLIN | EPOLLRDHUP);
    close(sv[0]);
    close(sv[1]);

    /* eventfd, and maxevents smaller than the ready set. */
    int e1 = CHECK_OK(eventfd(1, 0)), e2 = CHECK_OK(eventfd(0, 0));
    CHECK_OK(add(ep, e1, EPOLLIN, 301));
    CHECK_OK(add(ep, e2, EPOLLIN | EPOLLOUT, 302));
    CHECK_EQ(epoll_wait(ep, ev, 8, 0), 2);
    CHECK_EQ(epoll_wait(ep, ev, 1, 0), 1);
    uint64_t first = ev[0].data.u64;
    CHECK_EQ(epoll_wait(ep, ev, 1, 0), 1);
    CHECK_NE(ev[0].data.u64, first);
    CHECK_OK(epoll_ctl(ep, EPOLL_CTL_DEL, e2, NULL));
    /* EPOLLEXCLUSIVE is accepted on ADD, but such a watch cannot be
     * modified, and MOD cannot ask for it. */
    CHECK_OK(add(ep, e2, EPOLLOUT | EPOLLEXCLUSIVE, 303));
    CHECK_EQ(epoll_wait(ep, ev, 8, 0), 2);
    CHECK_ERR(mod(ep, e2, EPOLLOUT, 303), EINVAL);
    CHECK_ERR(mod(ep, e1, EPOLLIN | EPOLLEXCLUSIVE, 301), EINVAL);
    CHECK_OK(epoll_ctl(ep, EPOLL_CTL_DEL, e2, NULL));
    uint64_t v;
    CHECK_EQ(read(e1, &v, 8), 8);
    CHECK_EQ(epoll_wait(ep, ev, 8, 0), 0);
    CHECK_OK(epoll_ctl(ep, EPOLL_CTL_DEL, e1, NULL));

    /* Nested epoll: the inner fd is readable while it has events. */
    int inner = CHECK_OK(epoll_create(1));
    CHECK_OK(add(inner, e1, EPOLLIN, 401));
    CHECK_OK(add(ep, inner, EPOLLIN, 400));
    CHECK_ERR(add(inner, ep, EPOLLIN, 0), ELOOP);
    CHECK_ERR(add(ep, inner, EPOLLIN | EPOLLEXCLUSIVE, 0), EINVAL);
    CHECK_EQ(epoll_wait(ep, ev, 8, 0), 0);
    struct pollfd pf = {inner, POLLIN, 0};
    CHECK_EQ(poll(&pf, 1, 0), 0);
    pid = CHECK_OK(fork());
    if (pid == 0) {
        usleep(50000);
        v = 5;
        _exit(write(e1, &v, 8) == 8 ? 0 : 1);
    }
    CHECK_EQ(epoll_wait(ep, ev, 8, 5000), 1);
    CHECK_EQ(ev[0].data.u64, 400);
    CHECK_EQ(ev[0].events, EPOLLIN);
    CHECK_EXITED(wait_status(pid), 0);
    CHECK_EQ(poll(&pf, 1, 0), 1);
    CHECK_EQ(epoll_wait(inner, ev, 8, 0), 1);
    CHECK_EQ(ev[0].data.u64, 401);
    CHECK_EQ(read(e1, &v, 8), 8);
    CHECK_EQ(epoll_wait(ep, ev, 8, 0), 0);
    CHECK_OK(epoll_ctl(ep, EPOLL_CTL_DEL, inner, NULL));

    /* timerfd: a blocking wait wakes at the deadline. */
    int tfd = CHECK_OK(timerfd_create(CLOCK_MONOTONIC, 0));
    CHECK_OK(add(ep, tfd, EPOLLIN, 500));
    struct itimerspec its = {{0, 0}, {0, 60000000}};
    CHECK_OK(timerfd_settime(tfd, 0, &its, NULL));
    t0 = mono_ns();
    CHECK_EQ(epoll_wait(ep, ev, 8, 5000), 1);
    CHECK(mono_ns() - t0 >= 40000000LL);
    CHECK_EQ(ev[0].data.u64, 500);
    CHECK_OK(epoll_ctl(ep, EPOLL_CTL_DEL, tfd, NULL));

    /* signalfd with epoll_pwait and epoll_pwait2. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    CHECK_OK(sigprocmask(SIG_BLOCK, &set, NULL));
    int sfd = CHECK_OK(signalfd(-1, &set, SFD_NONBLOCK));
    CHECK_OK(add(ep, sfd, EPOLLIN, 600));
    CHECK_EQ(epoll_pwait(ep, ev, 8, 0, &set), 0);
    CHECK_OK(kill(getpid(), SIGUSR1));
    CHECK_EQ(epoll_pwait(ep, ev, 8, 1000, &set), 1);
    CHECK_EQ(ev[0].data.u64, 600);
    struct signalfd_siginfo si;
    CHECK_EQ(read(sfd, &si, sizeof(si)), (long)sizeof(si));
    CHECK_EQ(si.ssi_signo, SIGUSR1);
    struct timespec ts = {0, 30000000};
    t0 = mono_ns();
    CHECK_EQ(syscall(SYS_epoll_pwait2, ep, ev, 8, &ts, NULL, 8), 0);
    CHECK(mono_ns() - t0 >= 25000000LL);
    ts.tv_nsec = 1000000000;
    CHECK_ERR(syscall(SYS_epoll_pwait2, ep, ev, 8, &ts, NULL, 8), EINVAL);
    CHECK_ERR(syscall(SYS_epoll_pwait, ep, ev, 8, 0, &set, 4), EINVAL);
    return 0;
}
