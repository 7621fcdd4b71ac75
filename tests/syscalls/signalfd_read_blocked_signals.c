/* signalfd: blocked pending signals in the mask are read as
 * signalfd_siginfo records (thread-directed and process-directed, kill and
 * sigqueue), poll reports POLLIN while one is pending, non-blocking reads
 * fail with EAGAIN, blocking reads wait, the mask of an existing signalfd
 * can be replaced, and short buffers are EINVAL. */
#include "check.h"
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>

int main(void)
{
    alarm(10);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGUSR2);
    CHECK_OK(sigprocmask(SIG_BLOCK, &set, NULL));

    sigset_t only1;
    sigemptyset(&only1);
    sigaddset(&only1, SIGUSR1);
    int fd = CHECK_OK(signalfd(-1, &only1, SFD_NONBLOCK | SFD_CLOEXEC));
    CHECK_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);
    struct signalfd_siginfo si[4];
    CHECK_ERR(read(fd, si, sizeof(si)), EAGAIN);
    CHECK_ERR(read(fd, si, sizeof(si[0]) - 1), EINVAL);
    struct pollfd p = {fd, POLLIN, 0};
    CHECK_EQ(poll(&p, 1, 0), 0);

    CHECK_OK(kill(getpid(), SIGUSR1));
    CHECK_OK(kill(getpid(), SIGUSR2));
    CHECK_EQ(poll(&p, 1, 0), 1);
    CHECK_EQ(p.revents, POLLIN);
    CHECK_EQ(read(fd, si, sizeof(si)), (long)sizeof(si[0]));
    CHECK_EQ(si[0].ssi_signo, SIGUSR1);
    CHECK_EQ(si[0].ssi_code, SI_USER);
    CHECK_EQ(si[0].ssi_pid, getpid());
    CHECK_EQ(si[0].ssi_uid, getuid());
    /* SIGUSR2 is pending but not in the mask. */
    CHECK_ERR(read(fd, si, sizeof(si)), EAGAIN);
    sigset_t pend;
    CHECK_OK(sigpending(&pend));
    CHECK(sigismember(&pend, SIGUSR2));
    CHECK(!sigismember(&pend, SIGUSR1));

    /* Replace the mask on the same fd. */
    CHECK_EQ(signalfd(fd, &set, 0), fd);
    CHECK_EQ(read(fd, si, sizeof(si)), (long)sizeof(si[0]));
    CHECK_EQ(si[0].ssi_signo, SIGUSR2);

    /* sigqueue carries its value; two records in one read. */
    union sigval sv = {.sival_int = 1234};
    CHECK_OK(sigqueue(getpid(), SIGUSR1, sv));
    CHECK_OK(kill(getpid(), SIGUSR2));
    CHECK_EQ(read(fd, si, sizeof(si)), 2 * (long)sizeof(si[0]));
    CHECK_EQ(si[0].ssi_signo, SIGUSR1);
    CHECK_EQ(si[0].ssi_code, SI_QUEUE);
    CHECK_EQ(si[0].ssi_int, 1234);
    CHECK_EQ(si[1].ssi_signo, SIGUSR2);
    CHECK_EQ(si[1].ssi_code, SI_USER);
    /* A thread-directed signal is read by that thread. */
    CHECK_OK(syscall(SYS_tgkill, getpid(), gettid(), SIGUSR2));
    CHECK_EQ(read(fd, si, sizeof(si)), (long)sizeof(si[0]));
    CHECK_EQ(si[0].ssi_signo, SIGUSR2);
    CHECK_EQ(si[0].ssi_code, SI_TKILL);
    CHECK_EQ(si[0].ssi_pid, getpid());

    /* Blocking read woken by a signal from a child. */
    int bfd = CHECK_OK(signalfd(-1, &set, 0));
    pid_t parent = getpid();
    pid_t pid = CHECK_OK(fork());
    if (pid == 0) {
        usleep(50000);
        kill(parent, SIGUSR2);
        _exit(0);
    }
    CHECK_EQ(read(bfd, si, sizeof(si)), (long)sizeof(si[0]));
    CHECK_EQ(si[0].ssi_signo, SIGUSR2);
    CHECK_EQ(si[0].ssi_pid, pid);
    CHECK_EXITED(wait_status(pid), 0);

    /* poll wakes when a signal arrives. */
    pid = CHECK_OK(fork());
    if (pid == 0) {
        usleep(50000);
        kill(parent, SIGUSR1);
        _exit(0);
    }
    p.fd = bfd;
    CHECK_EQ(poll(&p, 1, 5000), 1);
    CHECK_EQ(read(bfd, si, sizeof(si)), (long)sizeof(si[0]));
    CHECK_EQ(si[0].ssi_signo, SIGUSR1);
    CHECK_EXITED(wait_status(pid), 0);

    /* SIGCHLD is ignored by default, but a blocked one is still queued
     * and can be read. */
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    CHECK_OK(sigprocmask(SIG_BLOCK, &chld, NULL));
    int cfd = CHECK_OK(signalfd(-1, &chld, 0));
    pid = CHECK_OK(fork());
    if (pid == 0)
        _exit(7);
    CHECK_EQ(read(cfd, si, sizeof(si)), (long)sizeof(si[0]));
    CHECK_EQ(si[0].ssi_signo, SIGCHLD);
    CHECK_EQ(si[0].ssi_code, CLD_EXITED);
    CHECK_EQ(si[0].ssi_pid, pid);
    CHECK_EQ(si[0].ssi_status, 7);
    CHECK_EXITED(wait_status(pid), 7);

    /* Errors. */
    CHECK_ERR(syscall(SYS_signalfd4, -1, &set, 4, 0), EINVAL);
    CHECK_ERR(signalfd(-1, &set, 0x1), EINVAL);
    int pp[2];
    CHECK_OK(pipe(pp));
    CHECK_ERR(signalfd(pp[0], &set, 0), EINVAL);
    CHECK_ERR(signalfd(0x7fff, &set, 0), EBADF);
    return 0;
}
