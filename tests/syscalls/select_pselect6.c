/* select/pselect6: readiness sets, timeouts and the updated timeval,
 * EBADF, EINVAL, and pselect's signal mask yielding EINTR. */
#include "check.h"
#include <signal.h>
#include <sys/select.h>

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
    int nfds = (p[0] > p[1] ? p[0] : p[1]) + 1;
    fd_set rd, wr;

    FD_ZERO(&rd);
    FD_ZERO(&wr);
    FD_SET(p[0], &rd);
    FD_SET(p[1], &wr);
    struct timeval tv = {0, 0};
    CHECK_EQ(select(nfds, &rd, &wr, NULL, &tv), 1);
    CHECK(!FD_ISSET(p[0], &rd));
    CHECK(FD_ISSET(p[1], &wr));

    CHECK_EQ(write(p[1], "x", 1), 1);
    FD_ZERO(&rd);
    FD_ZERO(&wr);
    FD_SET(p[0], &rd);
    FD_SET(p[1], &wr);
    CHECK_EQ(select(nfds, &rd, &wr, NULL, &tv), 2);
    CHECK(FD_ISSET(p[0], &rd));
    CHECK(FD_ISSET(p[1], &wr));
    CHECK_EQ(read(p[0], buf, 1), 1);

    /* A timeout with nothing ready returns 0 and zeroes the timeval. */
    FD_ZERO(&rd);
    FD_SET(p[0], &rd);
    tv.tv_sec = 0;
    tv.tv_usec = 40000;
    long long t0 = mono_ns();
    CHECK_EQ(select(nfds, &rd, NULL, NULL, &tv), 0);
    CHECK(mono_ns() - t0 >= 40000000LL);
    CHECK(!FD_ISSET(p[0], &rd));
    CHECK_EQ(tv.tv_sec, 0);
    CHECK_EQ(tv.tv_usec, 0);

    /* Ready before the timeout: the remaining time is written back. */
    CHECK_EQ(write(p[1], "x", 1), 1);
    FD_SET(p[0], &rd);
    tv.tv_sec = 5;
    tv.tv_usec = 0;
    CHECK_EQ(select(nfds, &rd, NULL, NULL, &tv), 1);
    CHECK(tv.tv_sec >= 4);
    CHECK_EQ(read(p[0], buf, 1), 1);

    /* Readiness from another process. */
    pid_t pid = CHECK_OK(fork());
    if (pid == 0) {
        usleep(20000);
        write(p[1], "y", 1);
        _exit(0);
    }
    FD_ZERO(&rd);
    FD_SET(p[0], &rd);
    CHECK_EQ(select(nfds, &rd, NULL, NULL, NULL), 1);
    CHECK(FD_ISSET(p[0], &rd));
    CHECK_EXITED(wait_status(pid), 0);
    CHECK_EQ(read(p[0], buf, 1), 1);

    /* Errors: a closed fd inside nfds (fd tables hold at least 64). */
    FD_ZERO(&rd);
    FD_SET(50, &rd);
    tv.tv_sec = 0;
    tv.tv_usec = 0;
    CHECK_ERR(select(51, &rd, NULL, NULL, &tv), EBADF);
    CHECK_ERR(select(-1, NULL, NULL, NULL, &tv), EINVAL);
    tv.tv_usec = -1;
    CHECK_ERR(select(0, NULL, NULL, NULL, &tv), EINVAL);

    /* pselect: a blocked pending signal interrupts it via the mask. */
    struct sigaction sa = {0};
    sa.sa_handler = on_usr1;
    CHECK_OK(sigaction(SIGUSR1, &sa, NULL));
    sigset_t block, empty;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigemptyset(&empty);
    CHECK_OK(sigprocmask(SIG_BLOCK, &block, NULL));
    CHECK_OK(kill(getpid(), SIGUSR1));
    FD_ZERO(&rd);
    FD_SET(p[0], &rd);
    struct timespec ts = {5, 0};
    CHECK_ERR(pselect(nfds, &rd, NULL, NULL, &ts, &empty), EINTR);
    CHECK_EQ(got, 1);
    /* pselect with a timeout and no fds. */
    struct timespec shortt = {0, 10000000};
    CHECK_EQ(pselect(0, NULL, NULL, NULL, &shortt, NULL), 0);
    return 0;
}
