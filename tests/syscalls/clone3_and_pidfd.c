/* clone3 parses struct clone_args of 64, 80 and 88 bytes (E2BIG for a
 * bigger one with non-zero tail, EINVAL for a smaller one or bad field
 * combinations), sets exit_signal, stack+stack_size and CLONE_PIDFD;
 * set_tid needs privileges. pidfds (clone3 CLONE_PIDFD, clone CLONE_PIDFD,
 * pidfd_open) are close-on-exec, poll readable once the process exits,
 * take pidfd_send_signal and waitid(P_PIDFD), and a non-blocking one
 * makes waitid say EAGAIN while the child runs. */
#include "check.h"

#include <linux/sched.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>

#ifndef PIDFD_NONBLOCK
#define PIDFD_NONBLOCK O_NONBLOCK
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif

static long clone3_raw(void *args, size_t size)
{
    return syscall(SYS_clone3, args, size);
}

/* clone3 whose child runs fn on the new stack and exits; the parent
 * returns the pid. */
static long clone3_run(struct clone_args *a, void (*fn)(void))
{
    long ret;
    register void (*f)(void) asm("r12") = fn;
    asm volatile("syscall\n\t"
                 "test %%rax, %%rax\n\t"
                 "jnz 1f\n\t"
                 "and $-16, %%rsp\n\t"
                 "call *%%r12\n\t"
                 "mov $60, %%eax\n\t"
                 "xor %%edi, %%edi\n\t"
                 "syscall\n\t"
                 "1:\n\t"
                 : "=a"(ret)
                 : "a"((long)SYS_clone3), "D"(a), "S"(sizeof(*a)), "r"(f)
                 : "rcx", "r11", "memory");
    return ret;
}

static volatile unsigned long child_sp;

static void on_new_stack(void)
{
    int here;
    child_sp = (unsigned long)&here;
}

static int pidfd_open(pid_t pid, unsigned flags)
{
    return (int)syscall(SYS_pidfd_open, pid, flags);
}

static int pidfd_send_signal(int fd, int sig, siginfo_t *info, unsigned flags)
{
    return (int)syscall(SYS_pidfd_send_signal, fd, sig, info, flags);
}

static void *thread_fn(void *arg)
{
    return arg;
}

int main(void)
{
    alarm(10);
    struct clone_args a;
    unsigned char big[128];

    /* Sizes. */
    memset(big, 0, sizeof(big));
    CHECK_ERR(clone3_raw(big, 63), EINVAL);
    CHECK_ERR(clone3_raw(big, 4097), E2BIG);
    CHECK_ERR(clone3_raw((void *)8, 64), EFAULT);
    big[100] = 1;
    CHECK_ERR(clone3_raw(big, 128), E2BIG);

    /* Field checks. */
    memset(&a, 0, sizeof(a));
    a.flags = CLONE_THREAD | CLONE_SIGHAND | CLONE_VM;
    a.exit_signal = SIGCHLD;
    CHECK_ERR(clone3_raw(&a, sizeof(a)), EINVAL);
    memset(&a, 0, sizeof(a));
    a.exit_signal = 65;
    CHECK_ERR(clone3_raw(&a, sizeof(a)), EINVAL);
    memset(&a, 0, sizeof(a));
    a.flags = SIGCHLD; /* the CSIGNAL bits are not for clone3 */
    CHECK_ERR(clone3_raw(&a, sizeof(a)), EINVAL);
    memset(&a, 0, sizeof(a));
    a.stack = (unsigned long)big;
    CHECK_ERR(clone3_raw(&a, sizeof(a)), EINVAL);
    memset(&a, 0, sizeof(a));
    a.stack_size = 4096;
    CHECK_ERR(clone3_raw(&a, sizeof(a)), EINVAL);
    memset(&a, 0, sizeof(a));
    a.set_tid_size = 1;
    CHECK_ERR(clone3_raw(&a, sizeof(a)), EINVAL);
    pid_t want = 4000;
    memset(&a, 0, sizeof(a));
    a.set_tid = (unsigned long)&want;
    CHECK_ERR(clone3_raw(&a, sizeof(a)), EINVAL);
    a.set_tid_size = 2;
    CHECK_ERR(clone3_raw(&a, sizeof(a)), EINVAL);
    if (geteuid() != 0) {
        a.set_tid_size = 1;
        CHECK_ERR(clone3_raw(&a, sizeof(a)), EPERM);
    }
    memset(&a, 0, sizeof(a));
    a.flags = CLONE_PIDFD | CLONE_THREAD | CLONE_SIGHAND | CLONE_VM | CLONE_DETACHED;
    CHECK_ERR(clone3_raw(&a, sizeof(a)), EINVAL);
    memset(&a, 0, sizeof(a));
    a.flags = CLONE_INTO_CGROUP;
    a.cgroup = 0x80000000ULL;
    CHECK_ERR(clone3_raw(&a, sizeof(a)), EINVAL);
    CHECK_ERR(clone3_raw(&a, 80), EINVAL);

    /* The 64-byte version, fork-like, exit_signal SIGCHLD. */
    memset(&a, 0, sizeof(a));
    a.exit_signal = SIGCHLD;
    long pid = clone3_raw(&a, 64);
    CHECK(pid >= 0);
    if (pid == 0)
        _exit(3);
    CHECK_EXITED(wait_status((pid_t)pid), 3);
    /* A bigger struct with a zero tail is fine. */
    memset(big, 0, sizeof(big));
    memcpy(big, &a, sizeof(a));
    pid = clone3_raw(big, 128);
    CHECK(pid >= 0);
    if (pid == 0)
        _exit(4);
    CHECK_EXITED(wait_status((pid_t)pid), 4);

    /* stack + stack_size: the child runs inside the given stack. */
    size_t ssz = 64 * 1024;
    char *stk = malloc(ssz);
    CHECK(stk != NULL);
    memset(&a, 0, sizeof(a));
    a.flags = CLONE_VM | CLONE_VFORK;
    a.exit_signal = SIGCHLD;
    a.stack = (unsigned long)stk;
    a.stack_size = ssz;
    pid = clone3_run(&a, on_new_stack);
    CHECK(pid > 0);
    CHECK_EXITED(wait_status((pid_t)pid), 0);
    CHECK(child_sp > (unsigned long)stk && child_sp < (unsigned long)stk + ssz);
    free(stk);

    /* pthread_create goes through clone3 in glibc 2.34+. */
    pthread_t th;
    void *ret;
    CHECK_EQ(pthread_create(&th, NULL, thread_fn, (void *)42L), 0);
    CHECK_EQ(pthread_join(th, &ret), 0);
    CHECK_EQ((long)ret, 42);

    /* CLONE_PIDFD: poll is quiet while the child lives, POLLIN after. */
    int go[2];
    CHECK_OK(pipe(go));
    int pidfd = -1;
    memset(&a, 0, sizeof(a));
    a.flags = CLONE_PIDFD;
    a.pidfd = (unsigned long)&pidfd;
    a.exit_signal = SIGCHLD;
    pid = clone3_raw(&a, sizeof(a));
    CHECK(pid >= 0);
    if (pid == 0) {
        char c;
        close(go[1]);
        if (read(go[0], &c, 1) != 1)
            _exit(9);
        _exit(5);
    }
    CHECK(pidfd >= 0);
    CHECK_EQ(fcntl(pidfd, F_GETFD), FD_CLOEXEC);
    struct pollfd pf = {pidfd, POLLIN, 0};
    CHECK_EQ(poll(&pf, 1, 0), 0);
    siginfo_t si;
    int nb = pidfd_open((pid_t)pid, PIDFD_NONBLOCK);
    CHECK(nb >= 0);
    CHECK_ERR(waitid(P_PIDFD, nb, &si, WEXITED), EAGAIN);
    memset(&si, 0, sizeof(si));
    CHECK_OK(waitid(P_PIDFD, pidfd, &si, WEXITED | WNOHANG));
    CHECK_EQ(si.si_pid, 0);
    CHECK_EQ(write(go[1], "x", 1), 1);
    CHECK_EQ(poll(&pf, 1, 5000), 1);
    CHECK_EQ(pf.revents & POLLIN, POLLIN);
    memset(&si, 0, sizeof(si));
    CHECK_OK(waitid(P_PIDFD, pidfd, &si, WEXITED));
    CHECK_EQ(si.si_pid, pid);
    CHECK_EQ(si.si_code, CLD_EXITED);
    CHECK_EQ(si.si_status, 5);
    /* Reaped: signals find nobody. */
    CHECK_ERR(pidfd_send_signal(pidfd, SIGTERM, NULL, 0), ESRCH);
    close(pidfd);
    close(nb);
    close(go[0]);
    close(go[1]);

    /* Legacy clone: CLONE_PIDFD writes the fd through parent_tid. */
    pidfd = -1;
    pid = syscall(SYS_clone, CLONE_PIDFD | SIGCHLD, 0, &pidfd, 0, 0);
    CHECK(pid >= 0);
    if (pid == 0)
        _exit(6);
    CHECK(pidfd >= 0);
    memset(&si, 0, sizeof(si));
    CHECK_OK(waitid(P_PIDFD, pidfd, &si, WEXITED));
    CHECK_EQ(si.si_status, 6);
    close(pidfd);
    CHECK_ERR(syscall(SYS_clone, CLONE_PIDFD | CLONE_PARENT_SETTID | SIGCHLD, 0, &pidfd, 0, 0),
              EINVAL);

    /* pidfd_open + pidfd_send_signal. */
    pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        for (;;)
            pause();
    }
    pidfd = pidfd_open((pid_t)pid, 0);
    CHECK(pidfd >= 0);
    CHECK_EQ(fcntl(pidfd, F_GETFD), FD_CLOEXEC);
    CHECK_ERR(pidfd_open((pid_t)pid, 1), EINVAL);
    CHECK_ERR(pidfd_open(-1, 0), EINVAL);
    CHECK_ERR(pidfd_open(4000000, 0), ESRCH);
    CHECK_ERR(pidfd_send_signal(pidfd, SIGTERM, NULL, 8), EINVAL);
    CHECK_ERR(pidfd_send_signal(pidfd, SIGTERM, NULL, 3), EINVAL);
    CHECK_ERR(pidfd_send_signal(pidfd, 65, NULL, 0), EINVAL);
    CHECK_ERR(pidfd_send_signal(0, SIGTERM, NULL, 0), EBADF);
    CHECK_ERR(pidfd_send_signal(999, SIGTERM, NULL, 0), EBADF);
    CHECK_ERR(waitid(P_PIDFD, 0, &si, WEXITED), EBADF);
    memset(&si, 0, sizeof(si));
    si.si_signo = SIGUSR1; /* does not match the signal */
    si.si_code = SI_QUEUE;
    CHECK_ERR(pidfd_send_signal(pidfd, SIGTERM, &si, 0), EINVAL);
    si.si_signo = SIGTERM;
    si.si_code = SI_USER; /* only the kernel may, for another process */
    CHECK_ERR(pidfd_send_signal(pidfd, SIGTERM, &si, 0), EPERM);
    CHECK_OK(pidfd_send_signal(pidfd, 0, NULL, 0));
    CHECK_OK(pidfd_send_signal(pidfd, SIGTERM, NULL, 0));
    memset(&si, 0, sizeof(si));
    CHECK_OK(waitid(P_PIDFD, pidfd, &si, WEXITED));
    CHECK_EQ(si.si_pid, pid);
    CHECK_EQ(si.si_code, CLD_KILLED);
    CHECK_EQ(si.si_status, SIGTERM);
    close(pidfd);

    return 0;
}
