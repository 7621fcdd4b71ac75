/* kill/tgkill/tkill/rt_sigqueueinfo: delivery to handlers with the right
 * siginfo (si_code, si_pid, si_uid, si_value), signal 0 probing, ESRCH,
 * EINVAL, real-time signals queue in order, kill to a child. */
#include "check.h"
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>

static volatile sig_atomic_t count;
static volatile int last_code, last_pid, last_uid, last_value, last_signo;
static volatile int order[8], norder;

static void on_sig(int sig, siginfo_t *si, void *ctx)
{
    (void)ctx;
    last_signo = sig;
    last_code = si->si_code;
    last_pid = si->si_pid;
    last_uid = (int)si->si_uid;
    last_value = si->si_value.sival_int;
    if (norder < 8)
        order[norder++] = si->si_value.sival_int;
    count++;
}

int main(void)
{
    alarm(10);
    struct sigaction sa = {0};
    sa.sa_sigaction = on_sig;
    sa.sa_flags = SA_SIGINFO;
    CHECK_OK(sigaction(SIGUSR1, &sa, NULL));
    CHECK_OK(sigaction(SIGUSR2, &sa, NULL));
    CHECK_OK(sigaction(SIGRTMIN, &sa, NULL));

    /* kill to self is delivered before kill returns. */
    CHECK_OK(kill(getpid(), SIGUSR1));
    CHECK_EQ(count, 1);
    CHECK_EQ(last_signo, SIGUSR1);
    CHECK_EQ(last_code, SI_USER);
    CHECK_EQ(last_pid, getpid());
    CHECK_EQ(last_uid, getuid());

    CHECK_OK(syscall(SYS_tgkill, getpid(), gettid(), SIGUSR2));
    CHECK_EQ(count, 2);
    CHECK_EQ(last_signo, SIGUSR2);
    CHECK_EQ(last_code, SI_TKILL);
    CHECK_EQ(last_pid, getpid());
    CHECK_OK(syscall(SYS_tkill, gettid(), SIGUSR2));
    CHECK_EQ(count, 3);
    CHECK_EQ(last_code, SI_TKILL);

    union sigval v = {.sival_int = 4242};
    CHECK_OK(sigqueue(getpid(), SIGUSR1, v));
    CHECK_EQ(count, 4);
    CHECK_EQ(last_code, SI_QUEUE);
    CHECK_EQ(last_value, 4242);

    /* Real-time signals queue every instance and arrive in order. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGRTMIN);
    CHECK_OK(sigprocmask(SIG_BLOCK, &set, NULL));
    norder = 0;
    for (int i = 1; i <= 3; i++) {
        v.sival_int = i;
        CHECK_OK(sigqueue(getpid(), SIGRTMIN, v));
    }
    CHECK_EQ(norder, 0);
    CHECK_OK(sigprocmask(SIG_UNBLOCK, &set, NULL));
    CHECK_EQ(norder, 3);
    CHECK_EQ(order[0], 1);
    CHECK_EQ(order[1], 2);
    CHECK_EQ(order[2], 3);

    /* Signal 0 checks existence only. */
    int before = count;
    CHECK_OK(kill(getpid(), 0));
    CHECK_EQ(count, before);
    pid_t pid = CHECK_OK(fork());
    if (pid == 0)
        _exit(0);
    CHECK_EXITED(wait_status(pid), 0);
    CHECK_ERR(kill(pid, 0), ESRCH);
    CHECK_ERR(kill(pid, SIGUSR1), ESRCH);
    CHECK_ERR(kill(getpid(), 65), EINVAL);
    CHECK_ERR(kill(getpid(), -1), EINVAL);
    CHECK_ERR(syscall(SYS_tgkill, getpid(), 0x3fffffff, SIGUSR1), ESRCH);
    CHECK_ERR(syscall(SYS_tgkill, getpid(), gettid(), 65), EINVAL);
    CHECK_ERR(syscall(SYS_tgkill, 0, gettid(), SIGUSR1), EINVAL);
    /* rt_sigqueueinfo may not forge SI_USER/kernel codes for another. */
    siginfo_t si;
    memset(&si, 0, sizeof(si));
    si.si_code = SI_KERNEL;
    pid = CHECK_OK(fork());
    if (pid == 0) {
        for (;;)
            pause();
    }
    CHECK_ERR(syscall(SYS_rt_sigqueueinfo, pid, SIGUSR1, &si), EPERM);

    /* A child's handler runs on a signal from us. */
    CHECK_OK(kill(pid, SIGKILL));
    CHECK_SIGNALED(wait_status(pid), SIGKILL);
    int p[2];
    CHECK_OK(pipe(p));
    /* Blocked until sigsuspend, so the signal cannot slip in between the
     * child's check of count and its sleep. */
    sigset_t usr1, open_mask;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    CHECK_OK(sigprocmask(SIG_BLOCK, &usr1, &open_mask));
    sigdelset(&open_mask, SIGUSR1);
    pid = CHECK_OK(fork());
    if (pid == 0) {
        count = 0;
        write(p[1], "r", 1);
        while (count == 0)
            sigsuspend(&open_mask);
        _exit(last_code == SI_USER && last_pid == getppid() ? 42 : 1);
    }
    char c;
    CHECK_EQ(read(p[0], &c, 1), 1);
    CHECK_OK(kill(pid, SIGUSR1));
    CHECK_EXITED(wait_status(pid), 42);
    return 0;
}
