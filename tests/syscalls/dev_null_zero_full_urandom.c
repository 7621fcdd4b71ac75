/* /dev/null, /dev/zero, /dev/full, /dev/random, /dev/urandom: read and
 * write semantics, device numbers, file type, mmap of /dev/zero. */
#include "check.h"
#include <sys/mman.h>
#include <sys/sysmacros.h>

static void check_dev(const char *path, unsigned maj, unsigned min)
{
    struct stat st;
    if (stat(path, &st) != 0)
        FAILF("stat(%s)", path);
    if (!S_ISCHR(st.st_mode))
        FAILF("%s is not a character device", path);
    if (major(st.st_rdev) != maj || minor(st.st_rdev) != min)
        FAILF("%s is %u:%u, want %u:%u", path, major(st.st_rdev), minor(st.st_rdev), maj, min);
}

int main(void)
{
    alarm(10);
    check_dev("/dev/null", 1, 3);
    check_dev("/dev/zero", 1, 5);
    check_dev("/dev/full", 1, 7);
    check_dev("/dev/random", 1, 8);
    check_dev("/dev/urandom", 1, 9);

    char buf[4096];
    int null = CHECK_OK(open("/dev/null", O_RDWR));
    CHECK_EQ(read(null, buf, sizeof(buf)), 0);
    CHECK_EQ(write(null, buf, sizeof(buf)), sizeof(buf));
    static char big[1 << 20];
    CHECK_EQ(write(null, big, sizeof(big)), sizeof(big));
    CHECK_EQ(lseek(null, 0, SEEK_CUR), 0);

    int zero = CHECK_OK(open("/dev/zero", O_RDWR));
    memset(buf, 'x', sizeof(buf));
    CHECK_EQ(read(zero, buf, sizeof(buf)), sizeof(buf));
    for (size_t i = 0; i < sizeof(buf); i++)
        if (buf[i] != 0)
            FAILF("/dev/zero byte %zu is %d", i, buf[i]);
    CHECK_EQ(write(zero, "abc", 3), 3);
    /* MAP_PRIVATE of /dev/zero is anonymous memory. */
    char *m = (char *)CHECK_OK(mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE, zero, 0));
    CHECK_EQ(m[0], 0);
    CHECK_EQ(m[8191], 0);
    m[5] = 5;
    CHECK_EQ(m[5], 5);

    int full = CHECK_OK(open("/dev/full", O_RDWR));
    CHECK_ERR(write(full, "x", 1), ENOSPC);
    memset(buf, 'x', 16);
    CHECK_EQ(read(full, buf, 16), 16);
    CHECK_MEMEQ(buf, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16);

    int ur = CHECK_OK(open("/dev/urandom", O_RDONLY));
    unsigned char a[64], b[64];
    CHECK_EQ(read(ur, a, sizeof(a)), 64);
    CHECK_EQ(read(ur, b, sizeof(b)), 64);
    CHECK(memcmp(a, b, 64) != 0);
    int r = CHECK_OK(open("/dev/random", O_RDONLY | O_NONBLOCK));
    CHECK_EQ(read(r, a, 16), 16);
    /* Writing to urandom (mixing entropy) is allowed. */
    int urw = CHECK_OK(open("/dev/urandom", O_WRONLY));
    CHECK_EQ(write(urw, "seed", 4), 4);

    /* Opening with O_CREAT/O_TRUNC on a device is harmless. */
    int n2 = CHECK_OK(open("/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644));
    CHECK_EQ(write(n2, "x", 1), 1);
    /* Shell-style redirection into /dev/null works from a child. */
    pid_t pid = CHECK_OK(fork());
    if (pid == 0) {
        dup2(null, 1);
        execl("/bin/sh", "sh", "-c", "echo hidden; exit 4", (char *)NULL);
        _exit(127);
    }
    CHECK_EXITED(wait_status(pid), 4);
    return 0;
}
