/* Issues random system calls with random arguments in forked children,
 * and reports how each child ended. Meant to run ONLY inside the sandbox:
 * the point is that the sentry survives whatever the application asks.
 * Usage: random_syscalls CHILDREN CALLS_PER_CHILD SEED */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t rng;
static uint64_t next(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static char buf[65536];

static long arg(void) {
    switch (next() % 8) {
    case 0: return 0;
    case 1: return -1;
    case 2: return (long)(next() % 64);
    case 3: return (long)buf + (long)(next() % 60000);
    case 4: return (long)next();
    case 5: return (long)0xffffffffff600000UL;
    case 6: return (long)(next() & 0xffffffff);
    default: return (long)(next() % 4096);
    }
}

/* Calls that would end the experiment rather than test the sentry. */
static int excluded(long nr) {
    switch (nr) {
    case SYS_kill: case SYS_tkill: case SYS_tgkill: case SYS_rt_sigqueueinfo:
    case SYS_rt_tgsigqueueinfo: case SYS_pidfd_send_signal:
    case SYS_fork: case SYS_vfork: case SYS_clone: case SYS_clone3:
    case SYS_exit: case SYS_exit_group: case SYS_execve: case SYS_execveat:
    case SYS_pause: case SYS_rt_sigsuspend: case SYS_ptrace:
        return 1;
    }
    return 0;
}

int main(int argc, char **argv) {
    int children = argc > 1 ? atoi(argv[1]) : 100;
    long calls = argc > 2 ? atol(argv[2]) : 1000;
    rng = argc > 3 ? strtoull(argv[3], 0, 0) : 0x9e3779b97f4a7c15ULL;
    long total = 0;
    for (int c = 0; c < children; c++) {
        uint64_t seed = next() | 1;
        pid_t pid = fork();
        if (pid < 0) { perror("fork"); return 1; }
        if (pid == 0) {
            rng = seed;
            for (long i = 0; i < calls; i++) {
                long nr;
                do nr = (long)(next() % 468); while (excluded(nr));
                syscall(nr, arg(), arg(), arg(), arg(), arg(), arg());
            }
            _exit(0);
        }
        int status = 0;
        struct timespec start, now;
        clock_gettime(CLOCK_MONOTONIC, &start);
        for (;;) {
            pid_t r = waitpid(pid, &status, WNOHANG);
            if (r == pid) break;
            clock_gettime(CLOCK_MONOTONIC, &now);
            if (now.tv_sec - start.tv_sec > 2) { /* blocked somewhere: end it */
                syscall(SYS_kill, pid, SIGKILL);
                waitpid(pid, &status, 0);
                break;
            }
            usleep(1000);
        }
        total += calls;
        if (WIFEXITED(status))
            printf("child %d: exited %d\n", c, WEXITSTATUS(status));
        else
            printf("child %d: signal %d\n", c, WTERMSIG(status));
    }
    printf("children: %d syscalls: %ld\n", children, total);
    return 0;
}
