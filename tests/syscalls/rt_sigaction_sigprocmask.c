/* rt_sigaction/rt_sigprocmask: old/new action round trips, SIGKILL and
 * SIGSTOP cannot be caught or blocked, SA_RESETHAND, SA_NODEFER, sa_mask
 * during the handler, masks restored after it, pending signals delivered
 * on unblock, sigsetsize and 'how' validation, inheritance over fork. */
#include "check.h"
#include <signal.h>
#include <sys/syscall.h>

static volatile sig_atomic_t hits, usr2_blocked_in_handler, self_blocked_in_handler;

static void handler(int sig)
{
    sigset_t cur;
    sigprocmask(SIG_BLOCK, NULL, &cur);
    usr2_blocked_in_handler = sigismember(&cur, SIGUSR2);
    self_blocked_in_handler = sigismember(&cur, sig);
    hits++;
}

static void other(int sig)
{
    (void)sig;
}

int main(void)
{
    alarm(10);
    struct sigaction sa, old;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGUSR2);
    sa.sa_flags = SA_RESTART;
    CHECK_OK(sigaction(SIGUSR1, &sa, &old));
    CHECK(old.sa_handler == SIG_DFL);
    CHECK_OK(sigaction(SIGUSR1, NULL, &old));
    CHECK(old.sa_handler == handler);
    CHECK_EQ(old.sa_flags & (SA_RESTART | SA_SIGINFO | SA_RESETHAND | SA_NODEFER), SA_RESTART);
    CHECK_EQ(sigismember(&old.sa_mask, SIGUSR2), 1);

    /* During the handler: sa_mask and the signal itself are blocked. */
    CHECK_OK(raise(SIGUSR1));
    CHECK_EQ(hits, 1);
    CHECK_EQ(usr2_blocked_in_handler, 1);
    CHECK_EQ(self_blocked_in_handler, 1);
    sigset_t cur;
    CHECK_OK(sigprocmask(SIG_BLOCK, NULL, &cur));
    CHECK_EQ(sigismember(&cur, SIGUSR1), 0);
    CHECK_EQ(sigismember(&cur, SIGUSR2), 0);

    /* SA_NODEFER leaves it unblocked; SA_RESETHAND restores SIG_DFL. */
    sa.sa_flags = SA_NODEFER | SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    CHECK_OK(sigaction(SIGUSR1, &sa, NULL));
    CHECK_OK(raise(SIGUSR1));
    CHECK_EQ(hits, 2);
    CHECK_EQ(self_blocked_in_handler, 0);
    CHECK_OK(sigaction(SIGUSR1, NULL, &old));
    CHECK(old.sa_handler == SIG_DFL);

    /* SIGKILL/SIGSTOP cannot be caught or ignored; bad numbers are EINVAL. */
    sa.sa_flags = 0;
    CHECK_ERR(sigaction(SIGKILL, &sa, NULL), EINVAL);
    CHECK_ERR(sigaction(SIGSTOP, &sa, NULL), EINVAL);
    sa.sa_handler = SIG_IGN;
    CHECK_ERR(sigaction(SIGKILL, &sa, NULL), EINVAL);
    CHECK_OK(sigaction(SIGKILL, NULL, &old));
    CHECK_ERR(sigaction(0, &sa, NULL), EINVAL);
    CHECK_ERR(sigaction(65, &sa, NULL), EINVAL);
    CHECK_ERR(syscall(SYS_rt_sigaction, SIGUSR1, NULL, &old, 4), EINVAL);

    /* Blocking: signals stay pending until unblocked, then delivered once. */
    sa.sa_handler = handler;
    sa.sa_flags = 0;
    CHECK_OK(sigaction(SIGUSR1, &sa, NULL));
    sigset_t set, oldset;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    CHECK_OK(sigprocmask(SIG_BLOCK, &set, &oldset));
    CHECK_EQ(sigismember(&oldset, SIGUSR1), 0);
    hits = 0;
    CHECK_OK(raise(SIGUSR1));
    CHECK_OK(raise(SIGUSR1));
    CHECK_EQ(hits, 0);
    sigset_t pend;
    CHECK_OK(sigpending(&pend));
    CHECK_EQ(sigismember(&pend, SIGUSR1), 1);
    CHECK_OK(sigprocmask(SIG_UNBLOCK, &set, NULL));
    CHECK_EQ(hits, 1); /* standard signals do not queue */
    CHECK_OK(sigpending(&pend));
    CHECK_EQ(sigismember(&pend, SIGUSR1), 0);

    /* Ignoring a pending signal discards it. */
    CHECK_OK(sigprocmask(SIG_BLOCK, &set, NULL));
    CHECK_OK(raise(SIGUSR1));
    signal(SIGUSR1, SIG_IGN);
    CHECK_OK(sigpending(&pend));
    CHECK_EQ(sigismember(&pend, SIGUSR1), 0);

    /* SIG_SETMASK; SIGKILL/SIGSTOP are silently dropped from the mask. */
    sigfillset(&set);
    CHECK_OK(sigprocmask(SIG_SETMASK, &set, NULL));
    CHECK_OK(sigprocmask(SIG_BLOCK, NULL, &cur));
    CHECK_EQ(sigismember(&cur, SIGKILL), 0);
    CHECK_EQ(sigismember(&cur, SIGSTOP), 0);
    CHECK_EQ(sigismember(&cur, SIGTERM), 1);
    CHECK_EQ(sigismember(&cur, SIGRTMAX), 1);
    CHECK_ERR(sigprocmask(12345, &set, NULL), EINVAL);
    CHECK_ERR(syscall(SYS_rt_sigprocmask, SIG_BLOCK, &set, NULL, 4), EINVAL);

    /* Mask and dispositions are inherited across fork; handlers are reset
     * to default by exec but ignored stays ignored (checked via sh). */
    signal(SIGUSR2, other);
    signal(SIGTERM, SIG_IGN);
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    CHECK_OK(sigprocmask(SIG_SETMASK, &set, NULL));
    pid_t pid = CHECK_OK(fork());
    if (pid == 0) {
        sigset_t c;
        sigprocmask(SIG_BLOCK, NULL, &c);
        struct sigaction a;
        sigaction(SIGUSR2, NULL, &a);
        _exit(sigismember(&c, SIGHUP) == 1 && a.sa_handler == other ? 0 : 1);
    }
    CHECK_EXITED(wait_status(pid), 0);
    CHECK_OK(sigprocmask(SIG_SETMASK, &set, NULL));
    pid = CHECK_OK(fork());
    if (pid == 0) {
        /* SIGTERM ignored survives exec: the shell's kill does nothing. */
        execl("/bin/sh", "sh", "-c", "kill -TERM $$; exit 3", (char *)NULL);
        _exit(127);
    }
    CHECK_EXITED(wait_status(pid), 3);
    return 0;
}
