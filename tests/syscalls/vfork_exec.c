/* vfork: the parent is suspended until the child execs or exits, memory
 * is shared until then, exec status, failed exec in the child. */
#include "check.h"

static volatile int marker;
static volatile int child_errno;

int main(void)
{
    alarm(10);
    int status;

    /* Child writes are visible: the address space is shared. */
    marker = 0;
    pid_t pid = vfork();
    if (pid == 0) {
        marker = 77;
        _exit(4);
    }
    CHECK(pid > 0);
    CHECK_EQ(marker, 77);
    CHECK_EQ(waitpid(pid, &status, 0), pid);
    CHECK_EXITED(status, 4);

    /* The parent resumes only after exec; exec'd /bin/true exits 0. */
    pid = vfork();
    if (pid == 0) {
        char *args[] = {"true", NULL};
        execv("/bin/true", args);
        _exit(127);
    }
    CHECK(pid > 0);
    CHECK_EXITED(wait_status(pid), 0);

    /* A failed exec is reported through shared memory. */
    child_errno = 0;
    pid = vfork();
    if (pid == 0) {
        char *args[] = {"nope", NULL};
        execv("/nonexistent/nope", args);
        child_errno = errno;
        _exit(127);
    }
    CHECK_EXITED(wait_status(pid), 127);
    CHECK_EQ(child_errno, ENOENT);

    /* /bin/sh via vfork with arguments and exit code. */
    pid = vfork();
    if (pid == 0) {
        char *args[] = {"sh", "-c", "exit $1", "sh", "23", NULL};
        execv("/bin/sh", args);
        _exit(127);
    }
    CHECK_EXITED(wait_status(pid), 23);

    /* The child has its own pid and ours as parent. */
    static volatile pid_t seen_pid, seen_ppid;
    pid_t me = getpid();
    pid = vfork();
    if (pid == 0) {
        seen_pid = getpid();
        seen_ppid = getppid();
        _exit(0);
    }
    CHECK_EXITED(wait_status(pid), 0);
    CHECK_EQ(seen_pid, pid);
    CHECK_EQ(seen_ppid, me);
    return 0;
}
