/* EINTR: a blocking pipe read interrupted by a handler installed without
 * SA_RESTART returns EINTR; with SA_RESTART it restarts and completes;
 * wait4, pause and sigsuspend are interrupted too. */
#include "check.h"
#include <signal.h>
#include <sys/time.h>

static volatile sig_atomic_t hits;
static void on_sig(int sig)
{
    (void)sig;
    hits++;
}

/* Sends SIGUSR1 to parent every 20 ms until killed. */
static pid_t start_pinger(void)
{
    pid_t parent = getpid();
    pid_t pid = CHECK_OK(fork());
    if (pid == 0) {
        for (;;) {
            usleep(20000);
            if (kill(parent, SIGUSR1) != 0)
                _exit(0);
        }
    }
    return pid;
}

static void stop(pid_t pid)
{
    CHECK_OK(kill(pid, SIGKILL));
    CHECK_SIGNALED(wait_status(pid), SIGKILL);
}

int main(void)
{
    alarm(10);
    struct sigaction sa = {0};
    sa.sa_handler = on_sig;
    sa.sa_flags = 0; /* no SA_RESTART */
    CHECK_OK(sigaction(SIGUSR1, &sa, NULL));
    CHECK_OK(sigaction(SIGALRM, &sa, NULL));

    int p[2];
    char buf[8];
    CHECK_OK(pipe(p));

    /* Pipe read with nothing to read, interrupted by a timer signal. */
    struct itimerval it = {{0, 0}, {0, 20000}};
    CHECK_OK(setitimer(ITIMER_REAL, &it, NULL));
    CHECK_ERR(read(p[0], buf, sizeof(buf)), EINTR);
    CHECK_EQ(hits, 1);

    /* Same with a signal from another process. */
    hits = 0;
    pid_t pinger = start_pinger();
    CHECK_ERR(read(p[0], buf, sizeof(buf)), EINTR);
    CHECK(hits >= 1);
    /* pause always returns -1/EINTR after a handler ran. */
    CHECK_ERR(pause(), EINTR);
    sigset_t empty;
    sigemptyset(&empty);
    CHECK_ERR(sigsuspend(&empty), EINTR);
    /* waitpid on a running child. */
    int st;
    CHECK_ERR(waitpid(pinger, &st, 0), EINTR);
    stop(pinger);

    /* With SA_RESTART the read is restarted and returns the data. */
    sa.sa_flags = SA_RESTART;
    CHECK_OK(sigaction(SIGUSR1, &sa, NULL));
    hits = 0;
    pid_t parent = getpid();
    pid_t writer = CHECK_OK(fork());
    if (writer == 0) {
        for (int i = 0; i < 3; i++) {
            usleep(20000);
            kill(parent, SIGUSR1);
        }
        usleep(20000);
        write(p[1], "done", 4);
        _exit(0);
    }
    CHECK_EQ(read(p[0], buf, sizeof(buf)), 4);
    CHECK_MEMEQ(buf, "done", 4);
    CHECK(hits >= 1);
    CHECK_EXITED(wait_status(writer), 0);

    /* A read that already transferred data returns the count, not EINTR. */
    sa.sa_flags = 0;
    CHECK_OK(sigaction(SIGUSR1, &sa, NULL));
    CHECK_EQ(write(p[1], "ab", 2), 2);
    CHECK_OK(setitimer(ITIMER_REAL, &it, NULL));
    CHECK_EQ(read(p[0], buf, sizeof(buf)), 2);
    CHECK_ERR(pause(), EINTR); /* consume the timer */
    return 0;
}
