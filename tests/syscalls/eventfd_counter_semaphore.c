/* eventfd/eventfd2: reads return and clear the counter (or, with
 * EFD_SEMAPHORE, return 1 and decrement it); writes add; 8-byte buffers
 * only; 0xffffffffffffffff is EINVAL; overflow is EAGAIN when
 * non-blocking and blocks otherwise; poll readiness follows the counter. */
#include "check.h"
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>

int main(void)
{
    alarm(10);
    uint64_t v;
    int fd = CHECK_OK(eventfd(5, EFD_NONBLOCK));
    CHECK_EQ(read(fd, &v, 8), 8);
    CHECK_EQ(v, 5);
    CHECK_ERR(read(fd, &v, 8), EAGAIN);
    char small[4];
    CHECK_ERR(read(fd, small, 4), EINVAL);
    CHECK_ERR(write(fd, small, 4), EINVAL);
    v = 0xffffffffffffffffULL;
    CHECK_ERR(write(fd, &v, 8), EINVAL);
    v = 3;
    CHECK_EQ(write(fd, &v, 8), 8);
    CHECK_EQ(write(fd, &v, 8), 8);
    /* A larger buffer still moves 8 bytes. */
    uint64_t big[2] = {0, 0};
    CHECK_EQ(read(fd, big, 16), 8);
    CHECK_EQ(big[0], 6);

    /* Overflow: the counter holds at most 0xfffffffffffffffe. */
    v = 0xfffffffffffffffeULL;
    CHECK_EQ(write(fd, &v, 8), 8);
    struct pollfd p = {fd, POLLIN | POLLOUT, 0};
    CHECK_EQ(poll(&p, 1, 0), 1);
    CHECK_EQ(p.revents, POLLIN);
    v = 1;
    CHECK_ERR(write(fd, &v, 8), EAGAIN);
    /* Writing 0 always succeeds. */
    v = 0;
    CHECK_EQ(write(fd, &v, 8), 8);
    CHECK_EQ(read(fd, &v, 8), 8);
    CHECK_EQ(v, 0xfffffffffffffffeULL);
    CHECK_EQ(poll(&p, 1, 0), 1);
    CHECK_EQ(p.revents, POLLOUT);
    close(fd);

    /* Semaphore mode. */
    fd = CHECK_OK(eventfd(2, EFD_SEMAPHORE | EFD_NONBLOCK | EFD_CLOEXEC));
    CHECK_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);
    CHECK(fcntl(fd, F_GETFL) & O_NONBLOCK);
    CHECK_EQ(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDWR);
    CHECK_EQ(read(fd, &v, 8), 8);
    CHECK_EQ(v, 1);
    CHECK_EQ(read(fd, &v, 8), 8);
    CHECK_EQ(v, 1);
    CHECK_ERR(read(fd, &v, 8), EAGAIN);
    close(fd);

    CHECK_ERR(eventfd(0, 0x12345), EINVAL);
    fd = CHECK_OK(syscall(SYS_eventfd, 7));
    CHECK_EQ(fcntl(fd, F_GETFD), 0);
    CHECK_EQ(read(fd, &v, 8), 8);
    CHECK_EQ(v, 7);
    close(fd);

    /* Blocking read woken by a writer in another process. */
    fd = CHECK_OK(eventfd(0, 0));
    pid_t pid = CHECK_OK(fork());
    if (pid == 0) {
        usleep(50000);
        v = 42;
        if (write(fd, &v, 8) != 8)
            _exit(1);
        _exit(0);
    }
    CHECK_EQ(read(fd, &v, 8), 8);
    CHECK_EQ(v, 42);
    CHECK_EXITED(wait_status(pid), 0);

    /* Blocking write waits for a reader to make room. */
    v = 0xfffffffffffffffeULL;
    CHECK_EQ(write(fd, &v, 8), 8);
    pid = CHECK_OK(fork());
    if (pid == 0) {
        usleep(50000);
        if (read(fd, &v, 8) != 8)
            _exit(1);
        _exit(0);
    }
    v = 9;
    CHECK_EQ(write(fd, &v, 8), 8);
    CHECK_EXITED(wait_status(pid), 0);
    CHECK_EQ(read(fd, &v, 8), 8);
    CHECK_EQ(v, 9);
    return 0;
}
