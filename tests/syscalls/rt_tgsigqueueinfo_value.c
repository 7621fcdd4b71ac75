/* rt_tgsigqueueinfo queues a signal with its si_value and si_code on one
 * thread of a process: the other threads do not see it, real-time signals
 * queue in order, a handler gets the value, and the errors are Linux's
 * (EINVAL for bad ids or signals, ESRCH for a tid outside the group,
 * EPERM for a non-negative si_code aimed at another thread). */
#include "check.h"

#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>

static long tgsigqueue(pid_t tgid, pid_t tid, int sig, int code, int value)
{
    siginfo_t si;
    memset(&si, 0, sizeof(si));
    si.si_signo = sig;
    si.si_code = code;
    si.si_pid = getpid();
    si.si_uid = getuid();
    si.si_value.sival_int = value;
    return syscall(SYS_rt_tgsigqueueinfo, tgid, tid, sig, &si);
}

static pid_t worker_tid;
static int ready_fd[2], go_fd[2];

static void *worker(void *arg)
{
    (void)arg;
    int sig = SIGRTMIN + 2;
    worker_tid = (pid_t)syscall(SYS_gettid);
    char c = 1;
    CHECK_EQ(write(ready_fd[1], &c, 1), 1);
    CHECK_EQ(read(go_fd[0], &c, 1), 1);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    siginfo_t si;
    struct timespec ts = {5, 0};
    CHECK_EQ(sigtimedwait(&set, &si, &ts), sig);
    CHECK_EQ(si.si_code, SI_QUEUE);
    CHECK_EQ(si.si_value.sival_int, 41);
    CHECK_EQ(si.si_pid, getpid());
    CHECK_EQ(sigtimedwait(&set, &si, &ts), sig);
    CHECK_EQ(si.si_value.sival_int, 42);
    return NULL;
}

static volatile sig_atomic_t handled_value, handled_code;

static void on_sig(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)uc;
    handled_value = si->si_value.sival_int;
    handled_code = si->si_code;
}

int main(void)
{
    alarm(10);
    int sig = SIGRTMIN + 2;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    CHECK_EQ(pthread_sigmask(SIG_BLOCK, &set, NULL), 0);

    CHECK_OK(pipe(ready_fd));
    CHECK_OK(pipe(go_fd));
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, worker, NULL), 0);
    char c;
    CHECK_EQ(read(ready_fd[0], &c, 1), 1);

    /* Two queued values for the worker, none for us. */
    CHECK_OK(tgsigqueue(getpid(), worker_tid, sig, SI_QUEUE, 41));
    CHECK_OK(tgsigqueue(getpid(), worker_tid, sig, SI_QUEUE, 42));
    siginfo_t si;
    struct timespec zero = {0, 0};
    CHECK_ERR(sigtimedwait(&set, &si, &zero), EAGAIN);

    /* Errors, checked while the worker is alive. */
    CHECK_ERR(tgsigqueue(getpid(), 0, sig, SI_QUEUE, 0), EINVAL);
    CHECK_ERR(tgsigqueue(0, worker_tid, sig, SI_QUEUE, 0), EINVAL);
    CHECK_ERR(tgsigqueue(getpid(), worker_tid, 65, SI_QUEUE, 0), EINVAL);
    CHECK_ERR(tgsigqueue(getpid() + 1000000, worker_tid, sig, SI_QUEUE, 0), ESRCH);
    CHECK_ERR(tgsigqueue(getpid(), worker_tid, sig, SI_USER, 0), EPERM);
    CHECK_ERR(tgsigqueue(getpid(), worker_tid, sig, SI_TKILL, 0), EPERM);
    CHECK_ERR(tgsigqueue(getpid(), 4000000, sig, SI_QUEUE, 0), ESRCH);
    CHECK_ERR(syscall(SYS_rt_tgsigqueueinfo, getpid(), worker_tid, sig, (void *)8), EFAULT);
    /* Signal 0 only checks that the thread exists. */
    CHECK_OK(tgsigqueue(getpid(), worker_tid, 0, SI_QUEUE, 0));

    CHECK_EQ(write(go_fd[1], &c, 1), 1);
    CHECK_EQ(pthread_join(th, NULL), 0);

    /* To ourselves, a non-negative code is allowed; a handler sees it. */
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_sig;
    sa.sa_flags = SA_SIGINFO;
    CHECK_OK(sigaction(SIGUSR1, &sa, NULL));
    pid_t me = (pid_t)syscall(SYS_gettid);
    CHECK_OK(tgsigqueue(getpid(), me, SIGUSR1, SI_QUEUE, 7));
    CHECK_EQ(handled_value, 7);
    CHECK_EQ(handled_code, SI_QUEUE);
    CHECK_OK(tgsigqueue(getpid(), me, SIGUSR1, SI_USER, 9));
    CHECK_EQ(handled_value, 9);
    CHECK_EQ(handled_code, SI_USER);
    return 0;
}
