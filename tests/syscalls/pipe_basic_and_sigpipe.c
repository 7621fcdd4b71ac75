/* pipe/pipe2: data round trip, EOF, O_NONBLOCK EAGAIN, capacity 65536,
 * FIFO type, flag validation, and SIGPIPE/EPIPE on a pipe without readers. */
#include "check.h"
#include <signal.h>

int main(void)
{
    alarm(10);
    int p[2];
    char buf[128];

    CHECK_OK(pipe(p));
    CHECK_EQ(fcntl(p[0], F_GETFL) & O_ACCMODE, O_RDONLY);
    CHECK_EQ(fcntl(p[1], F_GETFL) & O_ACCMODE, O_WRONLY);
    CHECK_EQ(fcntl(p[0], F_GETFD), 0);
    struct stat st;
    CHECK_OK(fstat(p[0], &st));
    CHECK(S_ISFIFO(st.st_mode));
    CHECK_EQ(write(p[1], "hello", 5), 5);
    CHECK_EQ(read(p[0], buf, sizeof(buf)), 5);
    CHECK_MEMEQ(buf, "hello", 5);
    /* Writing to the read end / reading from the write end. */
    CHECK_ERR(write(p[0], "x", 1), EBADF);
    CHECK_ERR(read(p[1], buf, 1), EBADF);
    /* EOF once every writer is closed. */
    CHECK_EQ(write(p[1], "ab", 2), 2);
    CHECK_OK(close(p[1]));
    CHECK_EQ(read(p[0], buf, sizeof(buf)), 2);
    CHECK_EQ(read(p[0], buf, sizeof(buf)), 0);
    CHECK_OK(close(p[0]));

    /* pipe2 flags. */
    CHECK_OK(pipe2(p, O_CLOEXEC | O_NONBLOCK));
    CHECK_EQ(fcntl(p[0], F_GETFD), FD_CLOEXEC);
    CHECK_EQ(fcntl(p[1], F_GETFD), FD_CLOEXEC);
    CHECK_EQ(fcntl(p[0], F_GETFL) & O_NONBLOCK, O_NONBLOCK);
    CHECK_ERR(read(p[0], buf, 1), EAGAIN);
    CHECK_EQ(fcntl(p[1], F_GETPIPE_SZ), 65536);
    /* Fill: exactly 65536 bytes fit, then EAGAIN. */
    static char big[65536 + 4096];
    memset(big, 'z', sizeof(big));
    CHECK_EQ(write(p[1], big, sizeof(big)), 65536);
    CHECK_ERR(write(p[1], big, 1), EAGAIN);
    CHECK_EQ(read(p[0], big, sizeof(big)), 65536);
    CHECK_OK(fcntl(p[1], F_SETPIPE_SZ, 4096 * 4));
    CHECK_EQ(fcntl(p[0], F_GETPIPE_SZ), 4096 * 4);
    CHECK_OK(close(p[0]));
    CHECK_OK(close(p[1]));
    CHECK_ERR(pipe2(p, 0x40000000), EINVAL);

    /* Writes of at most PIPE_BUF are atomic with O_NONBLOCK: all or EAGAIN. */
    CHECK_OK(pipe2(p, O_NONBLOCK));
    CHECK_OK(fcntl(p[1], F_SETPIPE_SZ, 4096));
    CHECK_EQ(write(p[1], big, 4000), 4000);
    CHECK_ERR(write(p[1], big, 200), EAGAIN);
    CHECK_OK(close(p[0]));
    CHECK_OK(close(p[1]));

    /* No readers: SIGPIPE kills by default. The child writes only after
     * the parent has closed its read end (signalled by EOF on `go`). */
    int go[2];
    CHECK_OK(pipe(p));
    CHECK_OK(pipe(go));
    pid_t pid = CHECK_OK(fork());
    if (pid == 0) {
        close(p[0]);
        close(go[1]);
        read(go[0], buf, 1);
        write(p[1], "x", 1);
        _exit(0);
    }
    CHECK_OK(close(p[0]));
    CHECK_OK(close(go[1]));
    CHECK_OK(close(p[1]));
    CHECK_SIGNALED(wait_status(pid), SIGPIPE);
    CHECK_OK(close(go[0]));

    /* Ignored SIGPIPE: EPIPE. */
    CHECK_OK(pipe(p));
    CHECK(signal(SIGPIPE, SIG_IGN) != SIG_ERR);
    CHECK_OK(close(p[0]));
    CHECK_ERR(write(p[1], "x", 1), EPIPE);
    CHECK_OK(close(p[1]));
    return 0;
}
