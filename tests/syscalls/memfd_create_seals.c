/* memfd_create and file seals: flags and name validation, the
 * "/memfd:NAME (deleted)" link, F_SEAL_SEAL by default without
 * MFD_ALLOW_SEALING, SHRINK/GROW/WRITE/FUTURE_WRITE enforced on write,
 * ftruncate and shared writable mmap (EPERM), F_SEAL_WRITE refused with
 * EBUSY while a writable shared mapping exists. */
#include "check.h"
#include <sys/mman.h>
#include <sys/syscall.h>

#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010
#endif

int main(void)
{
    alarm(10);
    char name[300];

    /* Flags and name. */
    CHECK_ERR(memfd_create("x", 0x100), EINVAL);
    memset(name, 'a', 250);
    name[250] = 0;
    CHECK_ERR(memfd_create(name, 0), EINVAL);
    name[249] = 0;
    int fd = CHECK_OK(memfd_create(name, 0));
    CHECK_OK(close(fd));
    CHECK_ERR(memfd_create((const char *)8, 0), EFAULT);

    /* Without MFD_ALLOW_SEALING: sealed against sealing. */
    fd = CHECK_OK(memfd_create("plain", MFD_CLOEXEC));
    CHECK_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);
    CHECK_EQ(fcntl(fd, F_GET_SEALS), F_SEAL_SEAL);
    CHECK_ERR(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE), EPERM);
    char link[64], buf[128];
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    ssize_t n = CHECK_OK(readlink(link, buf, sizeof(buf) - 1));
    buf[n] = 0;
    CHECK_STREQ(buf, "/memfd:plain (deleted)");
    struct stat st;
    CHECK_OK(fstat(fd, &st));
    CHECK(S_ISREG(st.st_mode));
    CHECK_EQ(st.st_size, 0);
    CHECK_OK(close(fd));

    /* Not a memfd: no seals. */
    int pfd[2];
    CHECK_OK(pipe(pfd));
    CHECK_ERR(fcntl(pfd[1], F_GET_SEALS), EINVAL);
    CHECK_ERR(fcntl(pfd[1], F_ADD_SEALS, F_SEAL_WRITE), EINVAL);

    fd = CHECK_OK(memfd_create("sealed", MFD_ALLOW_SEALING));
    CHECK_EQ(fcntl(fd, F_GET_SEALS), 0);
    CHECK_ERR(fcntl(fd, F_ADD_SEALS, 0x1000), EINVAL);
    CHECK_EQ(write(fd, "hello world", 11), 11);
    CHECK_OK(ftruncate(fd, 8192));

    /* SHRINK and GROW. */
    CHECK_OK(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW));
    CHECK_EQ(fcntl(fd, F_GET_SEALS), F_SEAL_SHRINK | F_SEAL_GROW);
    CHECK_ERR(ftruncate(fd, 4096), EPERM);
    CHECK_ERR(ftruncate(fd, 16384), EPERM);
    CHECK_OK(ftruncate(fd, 8192));
    CHECK_ERR(pwrite(fd, "x", 1, 8192), EPERM);
    CHECK_EQ(pwrite(fd, "abc", 3, 100), 3);
    /* A write that would grow the file stops at the last page boundary. */
    char big[8192];
    memset(big, 'z', sizeof(big));
    CHECK_EQ(pwrite(fd, big, sizeof(big), 4000), 4096 - 4000 + 4096);

    /* A writable shared mapping blocks F_SEAL_WRITE. */
    char *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(p != MAP_FAILED);
    CHECK_MEMEQ(p, "hello world", 11);
    p[0] = 'H';
    CHECK_ERR(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE), EBUSY);
    CHECK_OK(munmap(p, 8192));
    /* Private mappings do not count. */
    p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    CHECK(p != MAP_FAILED);
    CHECK_OK(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE));
    p[1] = 'E'; /* private copy: allowed */
    CHECK_OK(munmap(p, 8192));

    CHECK_ERR(write(fd, "x", 1), EPERM);
    CHECK_ERR(pwrite(fd, "x", 1, 0), EPERM);
    CHECK(mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) == MAP_FAILED);
    CHECK_EQ(errno, EPERM);
    p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
    CHECK(p != MAP_FAILED);
    CHECK_EQ(p[0], 'H');
    CHECK_ERR(mprotect(p, 4096, PROT_READ | PROT_WRITE), EACCES);
    CHECK_OK(munmap(p, 4096));
    CHECK_EQ(pread(fd, buf, 5, 0), 5);
    CHECK_MEMEQ(buf, "Hello", 5);

    /* F_SEAL_SEAL stops further sealing. */
    CHECK_OK(fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL));
    CHECK_ERR(fcntl(fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE), EPERM);
    CHECK_OK(close(fd));

    /* FUTURE_WRITE: existing shared mappings stay writable. */
    fd = CHECK_OK(memfd_create("future", MFD_ALLOW_SEALING));
    CHECK_OK(ftruncate(fd, 4096));
    p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(p != MAP_FAILED);
    CHECK_OK(fcntl(fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE));
    p[0] = 'q';
    CHECK_ERR(write(fd, "x", 1), EPERM);
    CHECK(mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) == MAP_FAILED);
    CHECK_EQ(errno, EPERM);
    CHECK_EQ(pread(fd, buf, 1, 0), 1);
    CHECK_EQ(buf[0], 'q');
    /* Truncation is still allowed without SHRINK/GROW. */
    CHECK_OK(ftruncate(fd, 8192));
    CHECK_OK(munmap(p, 4096));
    CHECK_OK(close(fd));

    /* Shared data between two mappings, and /proc/self/maps names it. */
    fd = CHECK_OK(memfd_create("shared", 0));
    CHECK_OK(ftruncate(fd, 4096));
    char *a = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    char *b = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
    CHECK(a != MAP_FAILED && b != MAP_FAILED);
    a[10] = 'k';
    CHECK_EQ(b[10], 'k');
    static char maps[65536];
    read_file("/proc/self/maps", maps, sizeof(maps));
    CHECK(strstr(maps, "/memfd:shared (deleted)") != NULL);
    return 0;
}
