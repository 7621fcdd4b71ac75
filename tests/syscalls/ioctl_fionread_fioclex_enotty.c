/* ioctl: FIONREAD on pipes and regular files, FIOCLEX/FIONCLEX,
 * FIONBIO, ENOTTY for terminal ioctls on non-terminals, EBADF. */
#include "check.h"
#include <sys/ioctl.h>
#include <termios.h>

int main(void)
{
    alarm(10);
    make_tmpdir();
    int n = -1;
    int p[2];
    CHECK_OK(pipe(p));
    CHECK_OK(ioctl(p[0], FIONREAD, &n));
    CHECK_EQ(n, 0);
    CHECK_EQ(write(p[1], "12345", 5), 5);
    CHECK_OK(ioctl(p[0], FIONREAD, &n));
    CHECK_EQ(n, 5);
    char buf[8];
    CHECK_EQ(read(p[0], buf, 2), 2);
    CHECK_OK(ioctl(p[0], FIONREAD, &n));
    CHECK_EQ(n, 3);

    /* On a regular file FIONREAD is size minus the current offset. */
    write_file(tpath("f"), "0123456789", 10, 0644);
    int fd = CHECK_OK(open(tpath("f"), O_RDONLY));
    CHECK_OK(ioctl(fd, FIONREAD, &n));
    CHECK_EQ(n, 10);
    CHECK_EQ(lseek(fd, 7, SEEK_SET), 7);
    CHECK_OK(ioctl(fd, FIONREAD, &n));
    CHECK_EQ(n, 3);

    /* FIOCLEX / FIONCLEX toggle the close-on-exec flag. */
    CHECK_EQ(fcntl(fd, F_GETFD), 0);
    CHECK_OK(ioctl(fd, FIOCLEX));
    CHECK_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);
    CHECK_OK(ioctl(fd, FIONCLEX));
    CHECK_EQ(fcntl(fd, F_GETFD), 0);

    /* FIONBIO sets and clears O_NONBLOCK. */
    int on = 1, off = 0;
    CHECK_OK(ioctl(p[0], FIONBIO, &on));
    CHECK_EQ(fcntl(p[0], F_GETFL) & O_NONBLOCK, O_NONBLOCK);
    CHECK_EQ(read(p[0], buf, 8), 3);
    CHECK_ERR(read(p[0], buf, 8), EAGAIN);
    CHECK_OK(ioctl(p[0], FIONBIO, &off));
    CHECK_EQ(fcntl(p[0], F_GETFL) & O_NONBLOCK, 0);

    /* Terminal ioctls on a file, a pipe, /dev/null: ENOTTY. */
    struct termios t;
    CHECK_ERR(ioctl(fd, TCGETS, &t), ENOTTY);
    CHECK_ERR(ioctl(p[0], TCGETS, &t), ENOTTY);
    int null = CHECK_OK(open("/dev/null", O_RDWR));
    CHECK_ERR(ioctl(null, TCGETS, &t), ENOTTY);
    CHECK_EQ(isatty(null), 0);
    CHECK_EQ(errno, ENOTTY);
    struct winsize ws;
    CHECK_ERR(ioctl(fd, TIOCGWINSZ, &ws), ENOTTY);
    CHECK_ERR(ioctl(999, FIONREAD, &n), EBADF);
    /* An O_PATH fd does not support ioctls at all. */
    int pfd = CHECK_OK(open(tpath("f"), O_PATH));
    CHECK_ERR(ioctl(pfd, FIONREAD, &n), EBADF);
    return 0;
}
