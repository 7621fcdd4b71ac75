/* fork/wait4/waitpid: exit codes, signal deaths, WNOHANG, ECHILD,
 * waiting for any child, rusage, fork's copy of memory and fds. */
#include "check.h"
#include <signal.h>
#include <sys/resource.h>

int main(void)
{
    alarm(10);
    int status;

    /* No children yet. */
    CHECK_ERR(wait(&status), ECHILD);
    CHECK_ERR(waitpid(-1, &status, WNOHANG), ECHILD);

    /* Exit codes are truncated to 8 bits. */
    pid_t pid = CHECK_OK(fork());
    if (pid == 0)
        _exit(42);
    CHECK(pid > 0);
    CHECK_EQ(wait4(pid, &status, 0, NULL), pid);
    CHECK(WIFEXITED(status));
    CHECK_EQ(WEXITSTATUS(status), 42);
    CHECK(!WIFSIGNALED(status));
    CHECK_EQ(status, 42 << 8);
    pid = CHECK_OK(fork());
    if (pid == 0)
        exit(256 + 3);
    CHECK_EXITED(wait_status(pid), 3);
    pid = CHECK_OK(fork());
    if (pid == 0)
        _exit(-1);
    CHECK_EXITED(wait_status(pid), 255);
    /* Reaped: a second wait is ECHILD. */
    CHECK_ERR(waitpid(pid, &status, 0), ECHILD);

    /* WNOHANG on a running child returns 0. */
    int p[2];
    CHECK_OK(pipe(p));
    pid = CHECK_OK(fork());
    if (pid == 0) {
        char c;
        close(p[1]);
        read(p[0], &c, 1);
        _exit(7);
    }
    CHECK_OK(close(p[0]));
    CHECK_EQ(waitpid(pid, &status, WNOHANG), 0);
    CHECK_OK(close(p[1]));
    struct rusage ru;
    memset(&ru, 0xff, sizeof(ru));
    CHECK_EQ(wait4(-1, &status, 0, &ru), pid);
    CHECK_EXITED(status, 7);
    CHECK(ru.ru_utime.tv_sec >= 0 && ru.ru_utime.tv_usec >= 0 && ru.ru_utime.tv_usec < 1000000);
    CHECK(ru.ru_maxrss > 0);

    /* Signal deaths. */
    pid = CHECK_OK(fork());
    if (pid == 0) {
        for (;;)
            pause();
    }
    CHECK_OK(kill(pid, SIGKILL));
    CHECK_EQ(waitpid(pid, &status, 0), pid);
    CHECK(WIFSIGNALED(status));
    CHECK_EQ(WTERMSIG(status), SIGKILL);
    CHECK(!WIFEXITED(status));

    /* Several children: each reaped exactly once with its own status. */
    pid_t kids[5];
    for (int i = 0; i < 5; i++) {
        kids[i] = CHECK_OK(fork());
        if (kids[i] == 0)
            _exit(10 + i);
    }
    int seen = 0;
    for (int i = 0; i < 5; i++) {
        pid_t r = CHECK_OK(wait(&status));
        int j;
        for (j = 0; j < 5; j++)
            if (kids[j] == r)
                break;
        CHECK(j < 5);
        CHECK_EXITED(status, 10 + j);
        CHECK_EQ(seen & (1 << j), 0);
        seen |= 1 << j;
    }
    CHECK_EQ(seen, 31);
    CHECK_ERR(wait(&status), ECHILD);

    /* Memory and fd tables are copies. */
    static volatile int shared_var = 1;
    int q[2];
    CHECK_OK(pipe(q));
    pid = CHECK_OK(fork());
    if (pid == 0) {
        shared_var = 2;
        close(q[0]);
        _exit(write(q[1], "c", 1) == 1 ? 0 : 1);
    }
    CHECK_EXITED(wait_status(pid), 0);
    CHECK_EQ(shared_var, 1);
    char c;
    CHECK_EQ(read(q[0], &c, 1), 1);
    CHECK_EQ(c, 'c');

    /* Bad arguments. */
    CHECK_ERR(waitpid(-1, &status, 0x1000), EINVAL);
    CHECK_ERR(waitpid(1, &status, WNOHANG), ECHILD);
    return 0;
}
