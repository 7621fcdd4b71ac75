/* dup, dup2, dup3: lowest free fd, shared file offset, close-on-exec
 * handling, same-fd cases and flag validation. */
#include "check.h"

int main(void)
{
    alarm(10);
    make_tmpdir();
    write_file(tpath("f"), "0123456789", 10, 0644);
    int fd = CHECK_OK(open(tpath("f"), O_RDONLY | O_CLOEXEC));

    /* dup takes the lowest free slot and does not copy FD_CLOEXEC. */
    CHECK_OK(close(0));
    int d = CHECK_OK(dup(fd));
    CHECK_EQ(d, 0);
    CHECK_EQ(fcntl(d, F_GETFD), 0);
    CHECK_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);

    /* The offset is shared between duplicates. */
    char buf[4];
    CHECK_EQ(read(fd, buf, 3), 3);
    CHECK_EQ(lseek(d, 0, SEEK_CUR), 3);
    CHECK_EQ(read(d, buf, 2), 2);
    CHECK_MEMEQ(buf, "34", 2);
    CHECK_EQ(lseek(fd, 0, SEEK_CUR), 5);

    /* dup2 onto an open fd closes it silently; result is the target. */
    int other = CHECK_OK(open("/dev/null", O_WRONLY));
    CHECK_EQ(dup2(fd, other), other);
    CHECK_EQ(read(other, buf, 1), 1);
    CHECK_EQ(buf[0], '5');
    CHECK_EQ(fcntl(other, F_GETFD), 0);
    /* dup2 of an fd onto itself returns it; of a closed fd is EBADF. */
    CHECK_EQ(dup2(fd, fd), fd);
    CHECK_ERR(dup2(999, 998), EBADF);
    CHECK_ERR(dup2(999, 999), EBADF);
    CHECK_ERR(dup2(fd, -1), EBADF);
    CHECK_ERR(dup(-1), EBADF);
    /* Targets at or above RLIMIT_NOFILE are EBADF. */
    CHECK_ERR(dup2(fd, 1 << 30), EBADF);

    /* dup3: O_CLOEXEC is the only flag; same fd is EINVAL. */
    CHECK_EQ(dup3(fd, 40, O_CLOEXEC), 40);
    CHECK_EQ(fcntl(40, F_GETFD), FD_CLOEXEC);
    CHECK_EQ(dup3(fd, 41, 0), 41);
    CHECK_EQ(fcntl(41, F_GETFD), 0);
    CHECK_ERR(dup3(fd, fd, 0), EINVAL);
    CHECK_ERR(dup3(fd, 42, O_NONBLOCK), EINVAL);
    CHECK_ERR(fcntl(42, F_GETFD), EBADF);
    CHECK_ERR(dup3(999, 42, 0), EBADF);

    /* Closing one duplicate leaves the others usable. */
    CHECK_OK(close(fd));
    CHECK_EQ(lseek(40, 0, SEEK_SET), 0);
    CHECK_EQ(read(41, buf, 4), 4);
    CHECK_MEMEQ(buf, "0123", 4);
    CHECK_ERR(close(fd), EBADF);
    return 0;
}
