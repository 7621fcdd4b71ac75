/* waitid: siginfo contents for exits, kills, stops and continues,
 * WNOWAIT, WNOHANG with nothing ready, P_PGID, invalid options. */
#include "check.h"
#include <signal.h>

int main(void)
{
    alarm(10);
    siginfo_t si;

    pid_t pid = CHECK_OK(fork());
    if (pid == 0)
        _exit(5);
    /* WNOWAIT leaves the child waitable. */
    memset(&si, 0, sizeof(si));
    CHECK_EQ(waitid(P_PID, pid, &si, WEXITED | WNOWAIT), 0);
    CHECK_EQ(si.si_signo, SIGCHLD);
    CHECK_EQ(si.si_code, CLD_EXITED);
    CHECK_EQ(si.si_pid, pid);
    CHECK_EQ(si.si_status, 5);
    CHECK_EQ(si.si_uid, getuid());
    memset(&si, 0, sizeof(si));
    CHECK_EQ(waitid(P_ALL, 0, &si, WEXITED), 0);
    CHECK_EQ(si.si_pid, pid);
    CHECK_EQ(si.si_status, 5);
    CHECK_ERR(waitid(P_PID, pid, &si, WEXITED), ECHILD);

    /* Stop, continue, kill. */
    pid = CHECK_OK(fork());
    if (pid == 0) {
        for (;;)
            pause();
    }
    CHECK_OK(kill(pid, SIGSTOP));
    memset(&si, 0, sizeof(si));
    CHECK_EQ(waitid(P_PID, pid, &si, WSTOPPED), 0);
    CHECK_EQ(si.si_code, CLD_STOPPED);
    CHECK_EQ(si.si_status, SIGSTOP);
    CHECK_EQ(si.si_pid, pid);
    CHECK_OK(kill(pid, SIGCONT));
    memset(&si, 0, sizeof(si));
    CHECK_EQ(waitid(P_PID, pid, &si, WCONTINUED), 0);
    CHECK_EQ(si.si_code, CLD_CONTINUED);
    CHECK_EQ(si.si_status, SIGCONT);
    /* Nothing more to report: WNOHANG gives 0 with si_pid cleared. */
    memset(&si, 0xff, sizeof(si));
    CHECK_EQ(waitid(P_PID, pid, &si, WEXITED | WSTOPPED | WCONTINUED | WNOHANG), 0);
    CHECK_EQ(si.si_pid, 0);
    CHECK_OK(kill(pid, SIGKILL));
    memset(&si, 0, sizeof(si));
    CHECK_EQ(waitid(P_PID, pid, &si, WEXITED), 0);
    CHECK_EQ(si.si_code, CLD_KILLED);
    CHECK_EQ(si.si_status, SIGKILL);

    /* waitpid sees the same stop via WUNTRACED. The child waits for a
     * word before it exits: waitpid always includes WEXITED, and an exit
     * that came first would hide the continue. */
    int go[2];
    CHECK_OK(pipe(go));
    pid = CHECK_OK(fork());
    if (pid == 0) {
        char c;
        raise(SIGSTOP);
        if (read(go[0], &c, 1) != 1)
            _exit(1);
        _exit(9);
    }
    int status;
    CHECK_EQ(waitpid(pid, &status, WUNTRACED), pid);
    CHECK(WIFSTOPPED(status));
    CHECK_EQ(WSTOPSIG(status), SIGSTOP);
    CHECK_OK(kill(pid, SIGCONT));
    CHECK_EQ(waitpid(pid, &status, WCONTINUED), pid);
    CHECK(WIFCONTINUED(status));
    CHECK_EQ(write(go[1], "x", 1), 1);
    CHECK_EXITED(wait_status(pid), 9);

    /* P_PGID selects by process group. */
    pid = CHECK_OK(fork());
    if (pid == 0) {
        setpgid(0, 0);
        _exit(3);
    }
    setpgid(pid, pid); /* either side may win the race */
    memset(&si, 0, sizeof(si));
    CHECK_EQ(waitid(P_PGID, pid, &si, WEXITED), 0);
    CHECK_EQ(si.si_pid, pid);
    CHECK_EQ(si.si_status, 3);

    CHECK_ERR(waitid(P_ALL, 0, &si, WEXITED), ECHILD);
    CHECK_ERR(waitid(P_ALL, 0, &si, 0), EINVAL);
    CHECK_ERR(waitid(P_ALL, 0, &si, WNOHANG), EINVAL);
    CHECK_ERR(waitid((idtype_t)42, 0, &si, WEXITED), EINVAL);
    return 0;
}
