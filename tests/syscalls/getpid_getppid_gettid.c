/* getpid/getppid/gettid: identities across fork and threads, /proc/self,
 * reparenting of orphans to a child subreaper. */
#include "check.h"
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

static pid_t thread_tid, thread_pid;

static void *thread_fn(void *arg)
{
    (void)arg;
    thread_tid = (pid_t)syscall(SYS_gettid);
    thread_pid = getpid();
    return NULL;
}

int main(void)
{
    alarm(10);
    pid_t me = getpid();
    CHECK(me > 0);
    CHECK_EQ(syscall(SYS_gettid), me);
    CHECK_EQ(gettid(), me);
    /* The first process of a pid namespace (a container's init, and the
     * command `rvisor do` runs) has no parent in it: getppid() is 0. */
    if (me == 1)
        CHECK_EQ(getppid(), 0);
    else
        CHECK(getppid() > 0);
    CHECK_NE(getppid(), me);

    char buf[64], want[64];
    ssize_t n = CHECK_OK(readlink("/proc/self", buf, sizeof(buf) - 1));
    buf[n] = 0;
    snprintf(want, sizeof(want), "%d", me);
    CHECK_STREQ(buf, want);

    /* Threads share the pid but have their own tid. */
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, thread_fn, NULL), 0);
    CHECK_EQ(pthread_join(t, NULL), 0);
    CHECK_EQ(thread_pid, me);
    CHECK(thread_tid > 0);
    CHECK_NE(thread_tid, me);

    /* A child sees a new pid and us as parent. */
    int p[2];
    CHECK_OK(pipe(p));
    pid_t pid = CHECK_OK(fork());
    if (pid == 0) {
        pid_t ids[3] = {getpid(), getppid(), gettid()};
        write(p[1], ids, sizeof(ids));
        _exit(0);
    }
    pid_t ids[3];
    CHECK_EQ(read(p[0], ids, sizeof(ids)), sizeof(ids));
    CHECK_EQ(ids[0], pid);
    CHECK_EQ(ids[1], me);
    CHECK_EQ(ids[2], pid);
    CHECK_EXITED(wait_status(pid), 0);

    /* As a subreaper, we inherit a grandchild orphaned by its parent. */
    CHECK_OK(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0));
    int is = -1;
    CHECK_OK(prctl(PR_GET_CHILD_SUBREAPER, &is, 0, 0, 0));
    CHECK_EQ(is, 1);
    int g[2], go[2];
    CHECK_OK(pipe(g));
    CHECK_OK(pipe(go));
    pid = CHECK_OK(fork());
    if (pid == 0) {
        pid_t gc = fork();
        if (gc == 0) {
            char c;
            read(go[0], &c, 1); /* wait until the middle process is gone */
            pid_t pp = getppid();
            write(g[1], &pp, sizeof(pp));
            _exit(0);
        }
        write(g[1], &gc, sizeof(gc));
        _exit(0);
    }
    pid_t gc;
    CHECK_EQ(read(g[0], &gc, sizeof(gc)), sizeof(gc));
    CHECK_EXITED(wait_status(pid), 0);
    CHECK_EQ(write(go[1], "g", 1), 1);
    pid_t gpp;
    CHECK_EQ(read(g[0], &gpp, sizeof(gpp)), sizeof(gpp));
    CHECK_EQ(gpp, me);
    CHECK_EXITED(wait_status(gc), 0);
    return 0;
}
