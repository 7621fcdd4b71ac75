/* Default signal actions: SIGTERM/SIGUSR1/SIGKILL terminate, SIGCHLD and
 * SIGURG are ignored, SIGSTOP/SIGCONT stop and resume; the parent receives
 * SIGCHLD with CLD_* codes. */
#include "check.h"
#include <signal.h>

static volatile sig_atomic_t chld_count;
static volatile int chld_code, chld_status, chld_pid;

static void on_chld(int sig, siginfo_t *si, void *ctx)
{
    (void)sig;
    (void)ctx;
    chld_count++;
    chld_code = si->si_code;
    chld_status = si->si_status;
    chld_pid = si->si_pid;
}

static pid_t spawn_waiting(int ready_fd)
{
    pid_t pid = CHECK_OK(fork());
    if (pid == 0) {
        write(ready_fd, "r", 1);
        for (;;)
            pause();
    }
    return pid;
}

static void wait_chld(int want)
{
    sigset_t empty;
    sigemptyset(&empty);
    while (chld_count < want)
        sigsuspend(&empty);
}

int main(void)
{
    alarm(10);
    struct sigaction sa = {0};
    sa.sa_sigaction = on_chld;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    CHECK_OK(sigaction(SIGCHLD, &sa, NULL));
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    /* Keep SIGCHLD blocked except inside sigsuspend, so none is missed. */
    CHECK_OK(sigprocmask(SIG_BLOCK, &chld, NULL));

    int p[2];
    char c;
    CHECK_OK(pipe(p));
    const int killers[] = {SIGTERM, SIGUSR1, SIGKILL, SIGHUP, SIGINT};
    for (unsigned i = 0; i < sizeof(killers) / sizeof(killers[0]); i++) {
        chld_count = 0;
        pid_t pid = spawn_waiting(p[1]);
        CHECK_EQ(read(p[0], &c, 1), 1);
        CHECK_OK(kill(pid, killers[i]));
        wait_chld(1);
        CHECK_EQ(chld_pid, pid);
        CHECK_EQ(chld_code, CLD_KILLED);
        CHECK_EQ(chld_status, killers[i]);
        int st = wait_status(pid);
        CHECK(WIFSIGNALED(st));
        CHECK_EQ(WTERMSIG(st), killers[i]);
    }

    /* A child killing itself with SIGTERM. */
    chld_count = 0;
    pid_t pid = CHECK_OK(fork());
    if (pid == 0) {
        kill(getpid(), SIGTERM);
        _exit(0);
    }
    int st = wait_status(pid);
    CHECK(WIFSIGNALED(st));
    CHECK_EQ(WTERMSIG(st), SIGTERM);
    wait_chld(1);
    CHECK_EQ(chld_code, CLD_KILLED);

    /* Normal exit: CLD_EXITED with the exit status. */
    chld_count = 0;
    pid = CHECK_OK(fork());
    if (pid == 0)
        _exit(17);
    wait_chld(1);
    CHECK_EQ(chld_code, CLD_EXITED);
    CHECK_EQ(chld_status, 17);
    CHECK_EXITED(wait_status(pid), 17);

    /* Ignored by default: SIGCHLD, SIGURG, SIGWINCH. */
    chld_count = 0;
    pid = CHECK_OK(fork());
    if (pid == 0) {
        signal(SIGCHLD, SIG_DFL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        kill(getpid(), SIGCHLD);
        kill(getpid(), SIGURG);
        kill(getpid(), SIGWINCH);
        _exit(5);
    }
    CHECK_EXITED(wait_status(pid), 5);
    wait_chld(1);
    CHECK_EQ(chld_code, CLD_EXITED);
    CHECK_EQ(chld_status, 5);

    /* SIGSTOP stops, SIGCONT resumes; the parent hears CLD_STOPPED and
     * CLD_CONTINUED. */
    chld_count = 0;
    pid = spawn_waiting(p[1]);
    CHECK_EQ(read(p[0], &c, 1), 1);
    CHECK_OK(kill(pid, SIGSTOP));
    wait_chld(1);
    CHECK_EQ(chld_code, CLD_STOPPED);
    CHECK_EQ(chld_status, SIGSTOP);
    CHECK_EQ(waitpid(pid, &st, WUNTRACED), pid);
    CHECK(WIFSTOPPED(st));
    CHECK_OK(kill(pid, SIGCONT));
    wait_chld(2);
    CHECK_EQ(chld_code, CLD_CONTINUED);
    CHECK_OK(kill(pid, SIGKILL));
    CHECK_SIGNALED(wait_status(pid), SIGKILL);

    /* SA_NOCLDSTOP suppresses the stop notification. */
    sa.sa_flags |= SA_NOCLDSTOP;
    CHECK_OK(sigaction(SIGCHLD, &sa, NULL));
    chld_count = 0;
    pid = spawn_waiting(p[1]);
    CHECK_EQ(read(p[0], &c, 1), 1);
    CHECK_OK(kill(pid, SIGSTOP));
    CHECK_EQ(waitpid(pid, &st, WUNTRACED), pid);
    CHECK_OK(kill(pid, SIGKILL));
    wait_chld(1);
    CHECK_EQ(chld_code, CLD_KILLED);
    CHECK_SIGNALED(wait_status(pid), SIGKILL);

    /* SIGCHLD set to SIG_IGN: children are reaped automatically. */
    signal(SIGCHLD, SIG_IGN);
    pid = CHECK_OK(fork());
    if (pid == 0)
        _exit(0);
    CHECK_ERR(waitpid(pid, &st, 0), ECHILD);
    return 0;
}
