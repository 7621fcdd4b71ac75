/* poll/ppoll on pipes: POLLIN/POLLOUT readiness, POLLHUP, POLLERR,
 * POLLNVAL, negative fds, timeouts, ppoll's signal mask and EINTR. */
#include "check.h"
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>

static volatile sig_atomic_t got;
static void on_usr1(int sig)
{
    (void)sig;
    got++;
}

int main(void)
{
    alarm(10);
    int p[2];
    char buf[8];
    CHECK_OK(pipe(p));

    struct pollfd fds[2] = {{p[0], POLLIN, -1}, {p[1], POLLOUT, -1}};
    CHECK_EQ(poll(fds, 2, 0), 1);
    CHECK_EQ(fds[0].revents, 0);
    CHECK_EQ(fds[1].revents, POLLOUT);

    CHECK_EQ(write(p[1], "x", 1), 1);
    CHECK_EQ(poll(fds, 2, 0), 2);
    CHECK_EQ(fds[0].revents, POLLIN);
    CHECK_EQ(fds[1].revents, POLLOUT);
    CHECK_EQ(read(p[0], buf, 1), 1);

    /* Timeout without events. */
    long long t0 = mono_ns();
    CHECK_EQ(poll(fds, 1, 50), 0);
    CHECK(mono_ns() - t0 >= 50000000LL);
    struct timespec ts = {0, 30000000};
    t0 = mono_ns();
    CHECK_EQ(ppoll(fds, 1, &ts, NULL), 0);
    CHECK(mono_ns() - t0 >= 30000000LL);

    /* Wakes when another process writes. */
    pid_t pid = CHECK_OK(fork());
    if (pid == 0) {
        usleep(20000);
        write(p[1], "y", 1);
        _exit(0);
    }
    fds[0].revents = -1;
    CHECK_EQ(poll(fds, 1, 5000), 1);
    CHECK_EQ(fds[0].revents, POLLIN);
    CHECK_EXITED(wait_status(pid), 0);
    CHECK_EQ(read(p[0], buf, 1), 1);

    /* Negative fds are ignored; closed fds report POLLNVAL. */
    struct pollfd odd[2] = {{-1, POLLIN, -1}, {999, POLLIN, -1}};
    CHECK_EQ(poll(odd, 2, 0), 1);
    CHECK_EQ(odd[0].revents, 0);
    CHECK_EQ(odd[1].revents, POLLNVAL);

    /* Writer closed with data pending: POLLIN|POLLHUP, then POLLHUP. */
    CHECK_EQ(write(p[1], "z", 1), 1);
    CHECK_OK(close(p[1]));
    CHECK_EQ(poll(fds, 1, 0), 1);
    CHECK_EQ(fds[0].revents, POLLIN | POLLHUP);
    CHECK_EQ(read(p[0], buf, 8), 1);
    CHECK_EQ(poll(fds, 1, 0), 1);
    CHECK_EQ(fds[0].revents, POLLHUP);
    CHECK_OK(close(p[0]));

    /* Reader closed: writer gets POLLERR (POLLOUT too). */
    CHECK_OK(pipe(p));
    CHECK_OK(close(p[0]));
    struct pollfd w = {p[1], POLLOUT, 0};
    CHECK_EQ(poll(&w, 1, 0), 1);
    CHECK_EQ(w.revents, POLLOUT | POLLERR);
    /* POLLERR/POLLHUP are reported even if not requested. */
    w.events = 0;
    CHECK_EQ(poll(&w, 1, 0), 1);
    CHECK_EQ(w.revents, POLLERR);
    CHECK_OK(close(p[1]));

    /* ppoll atomically installs a mask, so a blocked signal interrupts it. */
    CHECK_OK(pipe(p));
    struct sigaction sa = {0};
    sa.sa_handler = on_usr1;
    CHECK_OK(sigaction(SIGUSR1, &sa, NULL));
    sigset_t block, empty;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigemptyset(&empty);
    CHECK_OK(sigprocmask(SIG_BLOCK, &block, NULL));
    CHECK_OK(kill(getpid(), SIGUSR1));
    CHECK_EQ(got, 0);
    struct pollfd r = {p[0], POLLIN, 0};
    struct timespec longt = {5, 0};
    CHECK_ERR(ppoll(&r, 1, &longt, &empty), EINTR);
    CHECK_EQ(got, 1);
    /* The original mask is back in place afterwards. */
    sigset_t cur;
    CHECK_OK(sigprocmask(SIG_BLOCK, NULL, &cur));
    CHECK_EQ(sigismember(&cur, SIGUSR1), 1);
    /* poll with no fds is just a sleep. */
    CHECK_EQ(poll(NULL, 0, 1), 0);
    CHECK_ERR(syscall(SYS_poll, fds, 1 << 30, 0), EINVAL);
    struct timespec badts = {0, 1000000000};
    CHECK_ERR(ppoll(&r, 1, &badts, NULL), EINVAL);
    return 0;
}
