/* getpriority/setpriority as Linux: PRIO_PROCESS names one thread (who 0
 * the caller), PRIO_PGRP every thread of a process group, PRIO_USER every
 * thread of a real uid; values clamp to -20..19; the raw syscall returns
 * 20 - nice, the highest priority of the set; unknown targets ESRCH, a bad
 * `which` EINVAL. Without CAP_SYS_NICE a process may change the nice value
 * of processes whose real or effective uid is its effective uid (else
 * EPERM) and may lower a nice value only as far as RLIMIT_NICE allows
 * (20 - nice <= limit, else EACCES), and not for a target with permitted
 * capabilities it lacks (EPERM); over several targets the last failure is
 * the result, the others are still changed. Threads and fork inherit. */
#include "check.h"

#include <pthread.h>
#include <sys/resource.h>
#include <sys/syscall.h>

static int prio(int which, int who)
{
    errno = 0;
    int p = getpriority(which, who);
    CHECK_EQ(errno, 0);
    return p;
}

static pid_t tid(void)
{
    return (pid_t)syscall(SYS_gettid);
}

static int thread_nice;
static pid_t thread_tid;
static int go[2], done[2];

static void *thread_body(void *arg)
{
    (void)arg;
    thread_tid = tid();
    CHECK_EQ(write(done[1], "r", 1), 1);
    char c;
    CHECK_EQ(read(go[0], &c, 1), 1);
    thread_nice = prio(PRIO_PROCESS, 0);
    return NULL;
}

/* Forks a child (with real, effective and saved uids `ruid`, `euid`,
 * `suid`) that waits until its pipe closes; returns its pid. */
static pid_t sleeper_as(uid_t ruid, uid_t euid, uid_t suid, int *fd_out)
{
    int p[2], ready[2];
    CHECK_OK(pipe(p));
    CHECK_OK(pipe(ready));
    pid_t c = CHECK_OK(fork());
    if (c == 0) {
        CHECK_OK(setresuid(ruid, euid, suid));
        /* Other sleepers' write ends must not stay open here. */
        for (int i = 3; i < 256; i++)
            if (i != p[0] && i != ready[1])
                close(i);
        CHECK_EQ(write(ready[1], "r", 1), 1);
        close(ready[1]);
        char ch;
        (void)!read(p[0], &ch, 1);
        _exit(0);
    }
    close(p[0]);
    close(ready[1]);
    char ch;
    CHECK_EQ(read(ready[0], &ch, 1), 1);
    close(ready[0]);
    *fd_out = p[1];
    return c;
}

static pid_t sleeper(int *fd_out)
{
    return sleeper_as(0, 0, 0, fd_out);
}

static void reap(pid_t c, int fd)
{
    close(fd);
    CHECK_EXITED(wait_status(c), 0);
}

int main(void)
{
    alarm(20);
    CHECK_OK(setpriority(PRIO_PROCESS, 0, 0));
    CHECK_EQ(prio(PRIO_PROCESS, 0), 0);
    CHECK_EQ(syscall(SYS_getpriority, PRIO_PROCESS, 0), 20);
    CHECK_OK(setpriority(PRIO_PROCESS, 0, 5));
    CHECK_EQ(prio(PRIO_PROCESS, 0), 5);
    CHECK_EQ(syscall(SYS_getpriority, PRIO_PROCESS, 0), 15);
    CHECK_OK(setpriority(PRIO_PROCESS, 0, 100));
    CHECK_EQ(prio(PRIO_PROCESS, 0), 19);
    CHECK_ERR(getpriority(3, 0), EINVAL);
    CHECK_ERR(getpriority(-1, 0), EINVAL);
    CHECK_ERR(setpriority(3, 0, 0), EINVAL);
    CHECK_ERR(getpriority(PRIO_PROCESS, 4000000), ESRCH);
    CHECK_ERR(setpriority(PRIO_PROCESS, 4000000, 0), ESRCH);
    CHECK_ERR(getpriority(PRIO_PGRP, 4000000), ESRCH);

    /* PRIO_PROCESS is per thread; a new thread inherits its creator's. */
    CHECK_OK(setpriority(PRIO_PROCESS, 0, 3));
    CHECK_OK(pipe(go));
    CHECK_OK(pipe(done));
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, thread_body, NULL), 0);
    char c;
    CHECK_EQ(read(done[0], &c, 1), 1);
    CHECK_EQ(prio(PRIO_PROCESS, thread_tid), 3);
    CHECK_OK(setpriority(PRIO_PROCESS, thread_tid, 7));
    CHECK_EQ(prio(PRIO_PROCESS, 0), 3);
    CHECK_EQ(write(go[1], "g", 1), 1);
    CHECK_EQ(pthread_join(th, NULL), 0);
    CHECK_EQ(thread_nice, 7);

    /* fork inherits; nice() adds and returns the new value. */
    CHECK_OK(setpriority(PRIO_PROCESS, 0, 2));
    int fd;
    pid_t kid = sleeper(&fd);
    CHECK_EQ(prio(PRIO_PROCESS, kid), 2);
    errno = 0;
    CHECK_EQ(nice(3), 5);
    CHECK_EQ(prio(PRIO_PROCESS, kid), 2);

    /* A process group: the highest priority (lowest nice) of its
     * threads; setting it sets them all. */
    CHECK_OK(setpgid(kid, kid));
    CHECK_OK(setpriority(PRIO_PROCESS, kid, 9));
    CHECK_EQ(prio(PRIO_PGRP, kid), 9);
    CHECK_OK(setpriority(PRIO_PGRP, kid, -4));
    CHECK_EQ(prio(PRIO_PROCESS, kid), -4);
    CHECK_EQ(prio(PRIO_PROCESS, 0), 5);
    reap(kid, fd);

    if (getuid() != 0)
        return 0;

    /* Unprivileged: uid 54321 in a child. */
    CHECK_OK(setpriority(PRIO_PROCESS, 0, 0));
    int fd_other;
    pid_t other = sleeper(&fd_other); /* stays root */
    pid_t child = CHECK_OK(fork());
    if (child == 0) {
        /* Raising the hard limit needs CAP_SYS_RESOURCE, which a
         * container's root may lack: then only limit 0 is checked. */
        struct rlimit rl = {25, 25};
        int raised = setrlimit(RLIMIT_NICE, &rl) == 0;
        if (!raised)
            CHECK_EQ(errno, EPERM);
        int fd_mine;
        pid_t mine = sleeper(&fd_mine); /* root too, for now */
        CHECK_OK(setpriority(PRIO_PROCESS, mine, 10));
        CHECK_OK(setresuid(54321, 54321, 54321));
        /* Raising our own nice value is always allowed. */
        CHECK_OK(setpriority(PRIO_PROCESS, 0, 10));
        CHECK_EQ(prio(PRIO_PROCESS, 0), 10);
        /* Lowering it: down to 20 - RLIMIT_NICE = -5. */
        if (raised) {
            CHECK_OK(setpriority(PRIO_PROCESS, 0, -5));
            CHECK_EQ(prio(PRIO_PROCESS, 0), -5);
            CHECK_ERR(setpriority(PRIO_PROCESS, 0, -6), EACCES);
            CHECK_EQ(prio(PRIO_PROCESS, 0), -5);
            CHECK_OK(setpriority(PRIO_PROCESS, 0, 0));
            rl.rlim_cur = 0;
            CHECK_OK(setrlimit(RLIMIT_NICE, &rl));
            CHECK_ERR(setpriority(PRIO_PROCESS, 0, -1), EACCES);
            CHECK_OK(setpriority(PRIO_PROCESS, 0, 0)); /* not lower: fine */
        } else {
            CHECK_ERR(setpriority(PRIO_PROCESS, 0, 9), EACCES);
            CHECK_EQ(prio(PRIO_PROCESS, 0), 10);
            CHECK_OK(setpriority(PRIO_PROCESS, 0, -5 + 20)); /* raising */
            CHECK_ERR(setpriority(PRIO_PROCESS, 0, -5), EACCES);
            CHECK_EQ(prio(PRIO_PROCESS, 0), 15);
        }
        int me = prio(PRIO_PROCESS, 0);
        /* Someone else's process: EPERM, even just reading is fine. */
        CHECK_ERR(setpriority(PRIO_PROCESS, other, 1), EPERM);
        CHECK_EQ(prio(PRIO_PROCESS, other), 0);
        /* PRIO_USER 54321 is only us; PRIO_USER 0 (real uid) the same. */
        CHECK_EQ(prio(PRIO_USER, 54321), me);
        CHECK_OK(setpriority(PRIO_USER, 0, 19));
        CHECK_EQ(prio(PRIO_PROCESS, 0), 19);
        CHECK_ERR(setpriority(PRIO_USER, 0, 18), EACCES);
        /* Our child `mine` still has root's ids: EPERM, it keeps 10. */
        CHECK_ERR(setpriority(PRIO_PROCESS, mine, 15), EPERM);
        CHECK_EQ(prio(PRIO_PROCESS, mine), 10);
        close(fd_mine);
        _exit(0);
    }
    CHECK_EXITED(wait_status(child), 0);

    /* Several targets: the ones allowed change, the failure is reported.
     * The group of `a` (uid 54321), `b` (root), `c3` (euid 54321) and
     * `d`, all nice 0, is set by a uid-54321 process. */
    int fa, fb, fc, fd4;
    pid_t a = sleeper_as(54321, 54321, 54321, &fa);
    CHECK_OK(setpgid(a, a));
    pid_t b = sleeper(&fb);
    CHECK_OK(setpgid(b, a));
    pid_t c3 = sleeper_as(777, 54321, 777, &fc); /* only its euid matches */
    CHECK_OK(setpgid(c3, a));
    /* Its ids match, but a saved uid 0 keeps its permitted capabilities,
     * which the setter lacks (commoncap's cap_safe_nice): EPERM. */
    pid_t d = sleeper_as(54321, 54321, 0, &fd4);
    CHECK_OK(setpgid(d, a));
    child = CHECK_OK(fork());
    if (child == 0) {
        CHECK_OK(setresuid(54321, 54321, 54321));
        CHECK_ERR(setpriority(PRIO_PGRP, a, 6), EPERM);
        _exit(0);
    }
    CHECK_EXITED(wait_status(child), 0);
    CHECK_EQ(prio(PRIO_PROCESS, a), 6);
    CHECK_EQ(prio(PRIO_PROCESS, b), 0);
    CHECK_EQ(prio(PRIO_PROCESS, c3), 6);
    CHECK_EQ(prio(PRIO_PROCESS, d), 0);
    reap(a, fa);
    reap(b, fb);
    reap(c3, fc);
    reap(d, fd4);
    reap(other, fd_other);
    return 0;
}
