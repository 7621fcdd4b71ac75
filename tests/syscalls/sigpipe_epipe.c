/* SIGPIPE and EPIPE: default death, a handler runs (si_code SI_USER, as
 * Linux raises it with send_sig) and write returns EPIPE, ignored SIGPIPE,
 * blocked SIGPIPE stays pending, socketpair writes and MSG_NOSIGNAL. */
#include "check.h"
#include <signal.h>
#include <sys/socket.h>

static volatile sig_atomic_t pipes;
static volatile int pipe_code;

static void on_pipe(int sig, siginfo_t *si, void *ctx)
{
    (void)sig;
    (void)ctx;
    pipes++;
    pipe_code = si->si_code;
}

int main(void)
{
    alarm(10);
    int p[2];

    /* Default: killed by SIGPIPE, on both pipes and sockets. */
    /* The child writes only once the parent has closed the other end,
     * which it learns from EOF on `go`. */
    int go[2];
    char c;
    CHECK_OK(pipe(p));
    CHECK_OK(pipe(go));
    pid_t pid = CHECK_OK(fork());
    if (pid == 0) {
        close(p[0]);
        close(go[1]);
        read(go[0], &c, 1);
        write(p[1], "x", 1);
        _exit(0);
    }
    CHECK_OK(close(p[0]));
    CHECK_OK(close(go[1]));
    CHECK_OK(close(p[1]));
    CHECK_SIGNALED(wait_status(pid), SIGPIPE);
    CHECK_OK(close(go[0]));

    int sv[2];
    CHECK_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    CHECK_OK(pipe(go));
    pid = CHECK_OK(fork());
    if (pid == 0) {
        close(sv[1]);
        close(go[1]);
        read(go[0], &c, 1);
        write(sv[0], "x", 1);
        _exit(0);
    }
    CHECK_OK(close(sv[1]));
    CHECK_OK(close(go[1]));
    CHECK_OK(close(sv[0]));
    CHECK_SIGNALED(wait_status(pid), SIGPIPE);
    CHECK_OK(close(go[0]));

    /* With a handler: the handler runs and write returns EPIPE. */
    struct sigaction sa = {0};
    sa.sa_sigaction = on_pipe;
    sa.sa_flags = SA_SIGINFO;
    CHECK_OK(sigaction(SIGPIPE, &sa, NULL));
    CHECK_OK(pipe(p));
    CHECK_OK(close(p[0]));
    CHECK_ERR(write(p[1], "x", 1), EPIPE);
    CHECK_EQ(pipes, 1);
    CHECK_EQ(pipe_code, SI_USER);
    CHECK_OK(close(p[1]));

    /* Sockets: MSG_NOSIGNAL gives EPIPE without the signal. */
    CHECK_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    CHECK_OK(close(sv[1]));
    CHECK_ERR(send(sv[0], "x", 1, MSG_NOSIGNAL), EPIPE);
    CHECK_EQ(pipes, 1);
    CHECK_ERR(send(sv[0], "x", 1, 0), EPIPE);
    CHECK_EQ(pipes, 2);
    CHECK_OK(close(sv[0]));

    /* Blocked: EPIPE now, the signal stays pending. */
    sigset_t set, pend;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    CHECK_OK(sigprocmask(SIG_BLOCK, &set, NULL));
    CHECK_OK(pipe(p));
    CHECK_OK(close(p[0]));
    CHECK_ERR(write(p[1], "x", 1), EPIPE);
    CHECK_OK(sigpending(&pend));
    CHECK_EQ(sigismember(&pend, SIGPIPE), 1);
    CHECK_EQ(pipes, 2);
    CHECK_OK(sigprocmask(SIG_UNBLOCK, &set, NULL));
    CHECK_EQ(pipes, 3);

    /* Ignored: only EPIPE. */
    signal(SIGPIPE, SIG_IGN);
    CHECK_ERR(write(p[1], "x", 1), EPIPE);
    CHECK_EQ(pipes, 3);

    /* A reader that exits later: data written before is not lost. */
    CHECK_OK(pipe(p));
    CHECK_EQ(write(p[1], "abc", 3), 3);
    pid = CHECK_OK(fork());
    if (pid == 0) {
        char b[3];
        close(p[1]);
        _exit(read(p[0], b, 3) == 3 && memcmp(b, "abc", 3) == 0 ? 0 : 1);
    }
    CHECK_OK(close(p[0]));
    CHECK_EXITED(wait_status(pid), 0);
    CHECK_ERR(write(p[1], "x", 1), EPIPE);
    return 0;
}
