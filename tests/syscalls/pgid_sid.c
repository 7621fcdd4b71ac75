/* setpgid/getpgid/getpgrp/setsid/getsid: new groups and sessions,
 * inheritance, EPERM for a group leader's setsid, ESRCH, signals to a
 * process group. */
#include "check.h"
#include <signal.h>

int main(int argc, char **argv)
{
    alarm(10);
    if (argc == 2 && strcmp(argv[1], "exec-wait") == 0) {
        /* Exec'd child: report readiness on fd 9, then wait to be killed. */
        write(9, "e", 1);
        for (;;)
            pause();
    }
    pid_t me = getpid();
    CHECK_EQ(getpgid(0), getpgrp());
    CHECK_EQ(getpgid(me), getpgrp());
    CHECK_EQ(getsid(0), getsid(me));
    /* 0 when our session leader is outside our pid namespace (CI runs
     * this way), so only the sign is certain here. */
    CHECK(getsid(0) >= 0);
    CHECK_ERR(getpgid(0x3fffffff), ESRCH);
    CHECK_ERR(getsid(0x3fffffff), ESRCH);
    CHECK_ERR(setpgid(0x3fffffff, 0), ESRCH);
    CHECK_ERR(setpgid(0, -1), EINVAL);

    /* A child inherits our group and session. */
    int p[2];
    CHECK_OK(pipe(p));
    pid_t pid = CHECK_OK(fork());
    if (pid == 0) {
        pid_t v[2] = {getpgrp(), getsid(0)};
        write(p[1], v, sizeof(v));
        /* It can make its own group... */
        CHECK_OK(setpgid(0, 0));
        CHECK_EQ(getpgrp(), getpid());
        /* ...and a group leader cannot create a session. */
        CHECK_ERR(setsid(), EPERM);
        _exit(0);
    }
    pid_t v[2];
    CHECK_EQ(read(p[0], v, sizeof(v)), sizeof(v));
    CHECK_EQ(v[0], getpgrp());
    CHECK_EQ(v[1], getsid(0));
    CHECK_EXITED(wait_status(pid), 0);

    /* setsid in a non-leader child: new session and group, both its pid. */
    pid = CHECK_OK(fork());
    if (pid == 0) {
        pid_t sid = CHECK_OK(setsid());
        CHECK_EQ(sid, getpid());
        CHECK_EQ(getsid(0), getpid());
        CHECK_EQ(getpgrp(), getpid());
        /* Moving to a group in another session is EPERM. */
        CHECK_ERR(setpgid(0, getppid()), EPERM);
        _exit(0);
    }
    CHECK_EXITED(wait_status(pid), 0);

    /* The parent can move a child into a new group; kill(-pgid) reaches
     * every member. */
    int ready[2];
    CHECK_OK(pipe(ready));
    pid_t a = CHECK_OK(fork());
    if (a == 0) {
        write(ready[1], "a", 1);
        for (;;)
            pause();
    }
    CHECK_OK(setpgid(a, a));
    pid_t b = CHECK_OK(fork());
    if (b == 0) {
        write(ready[1], "b", 1);
        for (;;)
            pause();
    }
    CHECK_OK(setpgid(b, a));
    CHECK_EQ(getpgid(a), a);
    CHECK_EQ(getpgid(b), a);
    char c[2];
    CHECK_EQ(read(ready[0], c, 1), 1);
    CHECK_EQ(read(ready[0], c + 1, 1), 1);
    CHECK_OK(kill(-a, SIGTERM));
    CHECK_SIGNALED(wait_status(a), SIGTERM);
    CHECK_SIGNALED(wait_status(b), SIGTERM);
    CHECK_ERR(kill(-a, 0), ESRCH);
    /* A child that has exec'd can no longer be moved. */
    pid = CHECK_OK(fork());
    if (pid == 0) {
        dup2(ready[1], 9);
        execl("/proc/self/exe", argv[0], "exec-wait", (char *)NULL);
        _exit(127);
    }
    CHECK_EQ(read(ready[0], c, 1), 1);
    CHECK_EQ(c[0], 'e');
    CHECK_ERR(setpgid(pid, pid), EACCES);
    kill(pid, SIGKILL);
    CHECK_SIGNALED(wait_status(pid), SIGKILL);
    return 0;
}
