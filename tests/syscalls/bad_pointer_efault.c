/* Argument validation: bad user pointers give EFAULT (read, write, stat,
 * uname, pipe, getcwd, clock_gettime, open path), bad fds give EBADF, bad
 * flags/values give EINVAL, unknown syscall numbers give ENOSYS. */
#include "check.h"
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#define BAD ((void *)8)

int main(void)
{
    alarm(10);
    make_tmpdir();
    write_file(tpath("f"), "content", 7, 0644);
    int fd = CHECK_OK(open(tpath("f"), O_RDWR));
    int zero = CHECK_OK(open("/dev/zero", O_RDONLY));
    int p[2];
    CHECK_OK(pipe(p));

    /* A page that is mapped but inaccessible is as bad as an unmapped one. */
    void *none = (void *)CHECK_OK(mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    void *ro = (void *)CHECK_OK(mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));

    /* EFAULT. */
    CHECK_ERR(syscall(SYS_read, fd, BAD, 4), EFAULT);
    CHECK_ERR(syscall(SYS_read, zero, BAD, 4), EFAULT);
    CHECK_ERR(syscall(SYS_read, zero, none, 4), EFAULT);
    CHECK_ERR(syscall(SYS_read, zero, ro, 4), EFAULT);
    CHECK_ERR(syscall(SYS_write, fd, BAD, 4), EFAULT);
    CHECK_ERR(syscall(SYS_write, p[1], none, 4), EFAULT);
    CHECK_ERR(syscall(SYS_newfstatat, AT_FDCWD, tpath("f"), BAD, 0), EFAULT);
    CHECK_ERR(syscall(SYS_newfstatat, AT_FDCWD, BAD, ro, 0), EFAULT);
    CHECK_ERR(syscall(SYS_fstat, fd, BAD), EFAULT);
    CHECK_ERR(syscall(SYS_uname, BAD), EFAULT);
    CHECK_ERR(syscall(SYS_uname, ro), EFAULT);
    CHECK_ERR(syscall(SYS_openat, AT_FDCWD, BAD, O_RDONLY), EFAULT);
    CHECK_ERR(syscall(SYS_pipe2, BAD, 0), EFAULT);
    CHECK_ERR(syscall(SYS_getcwd, BAD, 4096), EFAULT);
    CHECK_ERR(syscall(SYS_clock_gettime, CLOCK_MONOTONIC, BAD), EFAULT);
    CHECK_ERR(syscall(SYS_poll, BAD, 1, 0), EFAULT);
    CHECK_ERR(syscall(SYS_rt_sigaction, SIGUSR1, BAD, NULL, 8), EFAULT);
    CHECK_ERR(syscall(SYS_execve, BAD, NULL, NULL), EFAULT);
    CHECK_ERR(syscall(SYS_wait4, -1, BAD, WNOHANG, NULL), ECHILD);
    /* Failed reads did not move the file offset. */
    CHECK_EQ(lseek(fd, 0, SEEK_CUR), 0);
    /* The pipe is still fully usable after faults. */
    CHECK_EQ(write(p[1], "ok", 2), 2);
    char buf[8];
    CHECK_EQ(read(p[0], buf, 8), 2);

    /* EBADF. */
    CHECK_ERR(close(-1), EBADF);
    CHECK_ERR(close(12345), EBADF);
    CHECK_ERR(read(12345, buf, 1), EBADF);
    CHECK_ERR(write(-5, buf, 1), EBADF);
    struct stat st;
    CHECK_ERR(fstat(-1, &st), EBADF);
    CHECK_ERR(lseek(12345, 0, SEEK_SET), EBADF);
    CHECK_ERR(fcntl(12345, F_GETFL), EBADF);
    CHECK_ERR(dup(12345), EBADF);
    CHECK_ERR(fchdir(12345), EBADF);
    CHECK_ERR(openat(12345, "f", O_RDONLY), EBADF);
    CHECK_ERR(mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, 12345, 0), EBADF);

    /* EINVAL. */
    CHECK_ERR(lseek(fd, 0, 99), EINVAL);
    CHECK_ERR(pipe2(p, O_RDWR), EINVAL);
    CHECK_ERR(dup3(fd, fd, 0), EINVAL);
    CHECK_ERR(mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), EINVAL);
    CHECK_ERR(mprotect((char *)ro + 1, 4096, PROT_READ), EINVAL);
    CHECK_ERR(syscall(SYS_openat, AT_FDCWD, tpath("f"), O_RDONLY | O_TMPFILE, 0600), EINVAL);
    CHECK_ERR(fcntl(fd, 999999), EINVAL);
    CHECK_ERR(kill(getpid(), 1000), EINVAL);
    unsigned long mask = 0;
    CHECK_ERR(syscall(SYS_rt_sigprocmask, 77, &mask, NULL, 8), EINVAL);
    CHECK_ERR(accept4(fd, NULL, NULL, 0x1234), EINVAL);

    /* ENOSYS for numbers the kernel does not have. */
    CHECK_ERR(syscall(1000), ENOSYS);
    CHECK_ERR(syscall(100000), ENOSYS);
    CHECK_ERR(syscall(-1L), ENOSYS);

    /* After all of that, the file content is intact. */
    CHECK_EQ(read_file(tpath("f"), buf, sizeof(buf)), 7);
    CHECK_STREQ(buf, "content");
    return 0;
}
