/* close_range and close-on-exec: ranges closed, CLOSE_RANGE_CLOEXEC,
 * invalid arguments, and which fds survive an execve. */
#include "check.h"
#include <linux/close_range.h>
#include <sys/syscall.h>

static int is_open(int fd)
{
    return fcntl(fd, F_GETFD) != -1;
}

int main(int argc, char **argv)
{
    alarm(10);
    if (argc == 2 && strcmp(argv[1], "after-exec") == 0) {
        /* 20 had FD_CLOEXEC, 21 did not, 22..24 were marked by close_range. */
        CHECK_ERR(fcntl(20, F_GETFD), EBADF);
        CHECK_EQ(fcntl(21, F_GETFD), 0);
        CHECK_ERR(fcntl(22, F_GETFD), EBADF);
        CHECK_ERR(fcntl(24, F_GETFD), EBADF);
        char c;
        CHECK_EQ(read(21, &c, 1), 1);
        CHECK_EQ(c, 'r');
        return 0;
    }

    int p[2];
    CHECK_OK(pipe(p));
    for (int fd = 10; fd <= 15; fd++)
        CHECK_EQ(dup2(p[0], fd), fd);
    CHECK_EQ(close_range(11, 13, 0), 0);
    CHECK(is_open(10));
    CHECK(!is_open(11));
    CHECK(!is_open(12));
    CHECK(!is_open(13));
    CHECK(is_open(14));
    /* Already-closed fds in the range are fine; to ~0U closes the rest. */
    CHECK_EQ(close_range(14, ~0U, 0), 0);
    CHECK(!is_open(14));
    CHECK(!is_open(15));
    CHECK(is_open(10));
    CHECK_ERR(close_range(5, 4, 0), EINVAL);
    CHECK_ERR(close_range(3, 4, 0x8), EINVAL);

    /* CLOSE_RANGE_CLOEXEC marks rather than closes. */
    CHECK_EQ(dup2(p[0], 22), 22);
    CHECK_EQ(dup2(p[0], 24), 24);
    CHECK_EQ(close_range(22, 30, CLOSE_RANGE_CLOEXEC), 0);
    CHECK_EQ(fcntl(22, F_GETFD), FD_CLOEXEC);
    CHECK_EQ(fcntl(24, F_GETFD), FD_CLOEXEC);
    CHECK(!is_open(23));

    CHECK_EQ(fcntl(p[0], F_DUPFD_CLOEXEC, 20), 20);
    CHECK_EQ(dup2(p[0], 21), 21);
    CHECK_EQ(write(p[1], "r", 1), 1);

    char self[4096];
    ssize_t n = CHECK_OK(readlink("/proc/self/exe", self, sizeof(self) - 1));
    self[n] = 0;
    pid_t pid = CHECK_OK(fork());
    if (pid == 0) {
        char *args[] = {argv[0], "after-exec", NULL};
        execv(self, args);
        FAILF("execv(%s)", self);
    }
    CHECK_EXITED(wait_status(pid), 0);
    return 0;
}
