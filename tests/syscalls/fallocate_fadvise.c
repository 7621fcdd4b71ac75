/* fallocate: allocation grows the size unless FALLOC_FL_KEEP_SIZE, a
 * punched hole (PUNCH_HOLE|KEEP_SIZE) reads as zeros and keeps the size,
 * the mode/argument errnos of vfs_fallocate; on tmpfs (/dev/shm, tmpfs both
 * natively and in the sandbox) allocation and punching show in st_blocks
 * and ZERO_RANGE/COLLAPSE_RANGE/INSERT_RANGE are EOPNOTSUPP.
 * posix_fadvise: every valid advice is accepted, bad advice or a negative
 * length is EINVAL, a pipe is ESPIPE, a bad or O_PATH fd EBADF. */
#include "check.h"

#include <limits.h>
#include <linux/falloc.h>
#include <sys/socket.h>

static off_t size_of(int fd)
{
    struct stat st;
    CHECK_OK(fstat(fd, &st));
    return st.st_size;
}

static long long blocks_of(int fd)
{
    struct stat st;
    CHECK_OK(fstat(fd, &st));
    return st.st_blocks;
}

/* Every byte of [off, off+len) equals c. */
static void check_bytes(int fd, off_t off, size_t len, char c)
{
    static char buf[65536];
    CHECK(len <= sizeof(buf));
    CHECK_EQ(pread(fd, buf, len, off), (ssize_t)len);
    for (size_t i = 0; i < len; i++)
        if (buf[i] != c)
            FAILF("byte %lld is 0x%02x, want 0x%02x", (long long)(off + (off_t)i), buf[i] & 0xff, c & 0xff);
}

static void fill(int fd, off_t off, size_t len, char c)
{
    static char buf[65536];
    CHECK(len <= sizeof(buf));
    memset(buf, c, len);
    CHECK_EQ(pwrite(fd, buf, len, off), (ssize_t)len);
}

/* What holds on any filesystem that supports fallocate. */
static void common(const char *path)
{
    int fd = CHECK_OK(open(path, O_RDWR | O_CREAT | O_TRUNC, 0644));

    /* Mode 0 extends the file with zeros. */
    CHECK_OK(fallocate(fd, 0, 0, 8192));
    CHECK_EQ(size_of(fd), 8192);
    check_bytes(fd, 0, 8192, 0);
    /* Inside the file: nothing changes. */
    fill(fd, 0, 12288, 'A');
    CHECK_OK(fallocate(fd, 0, 100, 1000));
    CHECK_EQ(size_of(fd), 12288);
    check_bytes(fd, 0, 12288, 'A');
    /* KEEP_SIZE past the end: the size stays. */
    CHECK_OK(fallocate(fd, FALLOC_FL_KEEP_SIZE, 12288, 8192));
    CHECK_EQ(size_of(fd), 12288);

    /* A punched hole reads as zeros; the size never changes. */
    CHECK_OK(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 4096, 4096));
    CHECK_EQ(size_of(fd), 12288);
    check_bytes(fd, 0, 4096, 'A');
    check_bytes(fd, 4096, 4096, 0);
    check_bytes(fd, 8192, 4096, 'A');
    CHECK_OK(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 100, 10));
    check_bytes(fd, 0, 100, 'A');
    check_bytes(fd, 100, 10, 0);
    check_bytes(fd, 110, 4096 - 110, 'A');
    /* Punching across the end does not grow the file. */
    CHECK_OK(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 12000, 10000));
    CHECK_EQ(size_of(fd), 12288);
    check_bytes(fd, 11000, 1000, 'A');
    check_bytes(fd, 12000, 288, 0);
    char c;
    CHECK_EQ(pread(fd, &c, 1, 12288), 0);

    /* Mode 0 across the end grows to off+len. */
    CHECK_OK(fallocate(fd, 0, 10000, 10000));
    CHECK_EQ(size_of(fd), 20000);
    check_bytes(fd, 12288, 20000 - 12288, 0);

    /* Argument errors, checked before the descriptor's mode. */
    CHECK_ERR(fallocate(fd, 0, -1, 10), EINVAL);
    CHECK_ERR(fallocate(fd, 0, 0, 0), EINVAL);
    CHECK_ERR(fallocate(fd, 0, 0, -5), EINVAL);
    CHECK_ERR(fallocate(fd, FALLOC_FL_PUNCH_HOLE, 0, 10), EOPNOTSUPP);
    CHECK_ERR(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, 0, 10),
              EOPNOTSUPP);
    CHECK_ERR(fallocate(fd, FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_KEEP_SIZE, 0, 4096), EOPNOTSUPP);
    CHECK_ERR(fallocate(fd, 0x100, 0, 10), EOPNOTSUPP);
    CHECK_ERR(fallocate(fd, 0, LLONG_MAX - 10, 100), EFBIG);
    CHECK_EQ(size_of(fd), 20000);

    int ro = CHECK_OK(open(path, O_RDONLY));
    CHECK_ERR(fallocate(ro, 0, 0, 10), EBADF);
    CHECK_ERR(fallocate(ro, 0x100, 0, 10), EOPNOTSUPP);
    CHECK_ERR(fallocate(ro, 0, -1, 10), EINVAL);
    CHECK_OK(close(ro));
    CHECK_OK(close(fd));
}

/* tmpfs: blocks follow allocation and punching; only allocation and
 * hole punching are supported (shmem_fallocate). */
static void tmpfs_blocks(const char *path)
{
    int fd = CHECK_OK(open(path, O_RDWR | O_CREAT | O_TRUNC, 0600));
    CHECK_EQ(blocks_of(fd), 0);
    CHECK_OK(fallocate(fd, 0, 0, 8192));
    CHECK_EQ(size_of(fd), 8192);
    CHECK_EQ(blocks_of(fd), 16);
    /* Allocated past the end with KEEP_SIZE: counted, not visible. */
    CHECK_OK(fallocate(fd, FALLOC_FL_KEEP_SIZE, 8192, 8192));
    CHECK_EQ(size_of(fd), 8192);
    CHECK_EQ(blocks_of(fd), 32);
    CHECK_OK(ftruncate(fd, 16384));
    CHECK_EQ(blocks_of(fd), 32);
    check_bytes(fd, 0, 16384, 0);
    /* Punching whole pages frees them, a partial page stays. */
    fill(fd, 0, 16384, 'B');
    CHECK_OK(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 4096, 8192));
    CHECK_EQ(blocks_of(fd), 16);
    CHECK_OK(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 100));
    CHECK_EQ(blocks_of(fd), 16);
    check_bytes(fd, 0, 100, 0);
    check_bytes(fd, 100, 3996, 'B');
    check_bytes(fd, 4096, 8192, 0);
    check_bytes(fd, 12288, 4096, 'B');
    /* Allocating over a hole gives zeros back, not the old data. */
    CHECK_OK(fallocate(fd, 0, 4096, 4096));
    CHECK_EQ(blocks_of(fd), 24);
    check_bytes(fd, 4096, 4096, 0);

    CHECK_ERR(fallocate(fd, FALLOC_FL_ZERO_RANGE, 0, 10), EOPNOTSUPP);
    CHECK_ERR(fallocate(fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, 0, 10), EOPNOTSUPP);
    CHECK_ERR(fallocate(fd, FALLOC_FL_COLLAPSE_RANGE, 0, 4096), EOPNOTSUPP);
    CHECK_ERR(fallocate(fd, FALLOC_FL_INSERT_RANGE, 0, 4096), EOPNOTSUPP);
    CHECK_ERR(fallocate(fd, FALLOC_FL_UNSHARE_RANGE, 0, 10), EOPNOTSUPP);
    check_bytes(fd, 100, 3996, 'B');
    CHECK_OK(close(fd));
    CHECK_OK(unlink(path));
}

static void other_files(void)
{
    int p[2];
    CHECK_OK(pipe(p));
    CHECK_ERR(fallocate(p[1], 0, 0, 10), ESPIPE);
    int null = CHECK_OK(open("/dev/null", O_RDWR));
    CHECK_ERR(fallocate(null, 0, 0, 10), ENODEV);
    int s = CHECK_OK(socket(AF_UNIX, SOCK_STREAM, 0));
    CHECK_ERR(fallocate(s, 0, 0, 10), ENODEV);
    int dir = CHECK_OK(open("/", O_RDONLY | O_DIRECTORY));
    CHECK_ERR(fallocate(dir, 0, 0, 10), EBADF);
    CHECK_ERR(fallocate(999, 0, 0, 10), EBADF);

    /* posix_fadvise returns the error number instead of setting errno. */
    int fd = CHECK_OK(open(tpath("adv"), O_RDWR | O_CREAT, 0600));
    fill(fd, 0, 100, 'x');
    int advice[] = {POSIX_FADV_NORMAL, POSIX_FADV_RANDOM, POSIX_FADV_SEQUENTIAL,
                    POSIX_FADV_WILLNEED, POSIX_FADV_DONTNEED, POSIX_FADV_NOREUSE};
    for (unsigned i = 0; i < sizeof(advice) / sizeof(advice[0]); i++)
        CHECK_EQ(posix_fadvise(fd, 0, 0, advice[i]), 0);
    CHECK_EQ(posix_fadvise(fd, 1000, 50, POSIX_FADV_WILLNEED), 0);
    /* Only a negative length is wrong; a negative offset is not checked. */
    CHECK_EQ(posix_fadvise(fd, -5, 0, POSIX_FADV_NORMAL), 0);
    CHECK_EQ(posix_fadvise(fd, 0, -1, POSIX_FADV_NORMAL), EINVAL);
    CHECK_EQ(posix_fadvise(fd, 0, 0, 6), EINVAL);
    CHECK_EQ(posix_fadvise(fd, 0, 0, -1), EINVAL);
    /* The advice does not change the data. */
    check_bytes(fd, 0, 100, 'x');
    CHECK_EQ(posix_fadvise(p[0], 0, 0, POSIX_FADV_NORMAL), ESPIPE);
    CHECK_EQ(posix_fadvise(p[0], 0, 0, 77), ESPIPE);
    CHECK_EQ(posix_fadvise(null, 0, 0, POSIX_FADV_DONTNEED), 0);
    CHECK_EQ(posix_fadvise(null, 0, 0, 6), EINVAL);
    CHECK_EQ(posix_fadvise(s, 0, 0, POSIX_FADV_NORMAL), 0);
    CHECK_EQ(posix_fadvise(dir, 0, 0, POSIX_FADV_WILLNEED), 0);
    int opath = CHECK_OK(open(tpath("adv"), O_PATH));
    CHECK_EQ(posix_fadvise(opath, 0, 0, POSIX_FADV_NORMAL), EBADF);
    CHECK_EQ(posix_fadvise(999, 0, 0, POSIX_FADV_NORMAL), EBADF);
}

int main(void)
{
    alarm(20);
    make_tmpdir();
    common(tpath("f"));
    char shm[64];
    snprintf(shm, sizeof(shm), "/dev/shm/rvt-falloc-%d", (int)getpid());
    common(shm);
    tmpfs_blocks(shm);
    other_files();
    return 0;
}
