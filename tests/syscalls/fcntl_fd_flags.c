/* fcntl: F_GETFD/F_SETFD, F_GETFL/F_SETFL (which bits may change),
 * F_DUPFD/F_DUPFD_CLOEXEC, record locks seen from another process. */
#include "check.h"

#define FLMASK (O_ACCMODE | O_APPEND | O_NONBLOCK)

int main(void)
{
    alarm(10);
    make_tmpdir();
    int fd = CHECK_OK(open(tpath("f"), O_RDWR | O_CREAT | O_APPEND, 0644));

    CHECK_EQ(fcntl(fd, F_GETFD), 0);
    CHECK_EQ(fcntl(fd, F_SETFD, FD_CLOEXEC), 0);
    CHECK_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);
    CHECK_EQ(fcntl(fd, F_SETFD, 0), 0);
    CHECK_EQ(fcntl(fd, F_GETFD), 0);

    CHECK_EQ(fcntl(fd, F_GETFL) & FLMASK, O_RDWR | O_APPEND);
    /* Access mode bits are ignored by F_SETFL; O_APPEND/O_NONBLOCK change. */
    CHECK_EQ(fcntl(fd, F_SETFL, O_RDONLY | O_NONBLOCK), 0);
    CHECK_EQ(fcntl(fd, F_GETFL) & FLMASK, O_RDWR | O_NONBLOCK);
    CHECK_EQ(write(fd, "abc", 3), 3);
    CHECK_EQ(fcntl(fd, F_SETFL, O_APPEND), 0);
    CHECK_EQ(fcntl(fd, F_GETFL) & FLMASK, O_RDWR | O_APPEND);
    CHECK_EQ(lseek(fd, 0, SEEK_SET), 0);
    CHECK_EQ(write(fd, "d", 1), 1);
    CHECK_EQ(lseek(fd, 0, SEEK_CUR), 4);

    /* F_DUPFD returns the lowest free fd >= arg. */
    CHECK_EQ(fcntl(fd, F_DUPFD, 20), 20);
    CHECK_EQ(fcntl(fd, F_DUPFD, 20), 21);
    CHECK_EQ(fcntl(20, F_GETFD), 0);
    CHECK_EQ(fcntl(fd, F_DUPFD_CLOEXEC, 20), 22);
    CHECK_EQ(fcntl(22, F_GETFD), FD_CLOEXEC);
    /* Status flags are shared by duplicates, fd flags are not. */
    CHECK_EQ(fcntl(20, F_SETFL, O_NONBLOCK), 0);
    CHECK_EQ(fcntl(fd, F_GETFL) & FLMASK, O_RDWR | O_NONBLOCK);
    CHECK_ERR(fcntl(fd, F_DUPFD, -1), EINVAL);
    CHECK_ERR(fcntl(999, F_GETFD), EBADF);
    CHECK_ERR(fcntl(fd, 0x7fff), EINVAL);

    /* POSIX record locks: a child sees ours, and conflicts with EAGAIN. */
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 2};
    CHECK_OK(fcntl(fd, F_SETLK, &fl));
    pid_t parent = getpid();
    pid_t pid = CHECK_OK(fork());
    if (pid == 0) {
        struct flock q = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 1, .l_len = 1};
        CHECK_OK(fcntl(fd, F_GETLK, &q));
        CHECK_EQ(q.l_type, F_WRLCK);
        CHECK_EQ(q.l_pid, parent);
        CHECK_EQ(q.l_start, 0);
        CHECK_EQ(q.l_len, 2);
        q.l_start = 1;
        q.l_len = 1;
        CHECK_ERR(fcntl(fd, F_SETLK, &q), EAGAIN);
        struct flock free_range = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 2, .l_len = 5};
        CHECK_OK(fcntl(fd, F_GETLK, &free_range));
        CHECK_EQ(free_range.l_type, F_UNLCK);
        CHECK_OK(fcntl(fd, F_SETLK, &free_range));
        _exit(0);
    }
    CHECK_EXITED(wait_status(pid), 0);
    /* Locks held by the same process never conflict with themselves. */
    CHECK_OK(fcntl(fd, F_GETLK, &fl));
    CHECK_EQ(fl.l_type, F_UNLCK);
    return 0;
}
