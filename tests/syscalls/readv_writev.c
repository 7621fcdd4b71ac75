/* readv/writev/preadv/pwritev: gather and scatter order, zero-length
 * entries, iovcnt limits, partial fills at EOF. */
#include "check.h"
#include <limits.h>
#include <sys/syscall.h>
#include <sys/uio.h>

int main(void)
{
    alarm(10);
    make_tmpdir();
    int fd = CHECK_OK(open(tpath("f"), O_RDWR | O_CREAT, 0644));

    struct iovec w[4] = {
        {"abc", 3}, {"", 0}, {"defg", 4}, {"h", 1},
    };
    CHECK_EQ(writev(fd, w, 4), 8);
    CHECK_EQ(lseek(fd, 0, SEEK_CUR), 8);

    char a[2], b[3], c[10];
    struct iovec r[3] = {{a, 2}, {b, 3}, {c, 10}};
    CHECK_EQ(lseek(fd, 0, SEEK_SET), 0);
    memset(c, 0, sizeof(c));
    CHECK_EQ(readv(fd, r, 3), 8);
    CHECK_MEMEQ(a, "ab", 2);
    CHECK_MEMEQ(b, "cde", 3);
    CHECK_MEMEQ(c, "fgh", 3);
    CHECK_EQ(readv(fd, r, 3), 0);

    /* Positional variants leave the offset alone. */
    struct iovec pw[2] = {{"XY", 2}, {"Z", 1}};
    CHECK_EQ(pwritev(fd, pw, 2, 2), 3);
    CHECK_EQ(lseek(fd, 0, SEEK_CUR), 8);
    CHECK_EQ(preadv(fd, r, 3, 1), 7);
    CHECK_MEMEQ(a, "bX", 2);
    CHECK_MEMEQ(b, "YZf", 3);
    CHECK_MEMEQ(c, "gh", 2);

    /* iovcnt 0 is a no-op; negative or > IOV_MAX is EINVAL. */
    CHECK_EQ(writev(fd, w, 0), 0);
    CHECK_ERR(syscall(SYS_writev, fd, w, -1), EINVAL);
    static struct iovec many[IOV_MAX + 1];
    for (int i = 0; i <= IOV_MAX; i++) {
        many[i].iov_base = a;
        many[i].iov_len = 1;
    }
    CHECK_ERR(writev(fd, many, IOV_MAX + 1), EINVAL);
    CHECK_EQ(pwritev(fd, many, IOV_MAX, 0), IOV_MAX);
    CHECK_ERR(preadv(fd, r, 3, -1), EINVAL);

    /* Pipes: writev is one message, readv drains in order. */
    int p[2];
    CHECK_OK(pipe(p));
    CHECK_EQ(writev(p[1], w, 4), 8);
    char all[16] = {0};
    struct iovec one = {all, sizeof(all)};
    CHECK_EQ(readv(p[0], &one, 1), 8);
    CHECK_STREQ(all, "abcdefgh");
    CHECK_ERR(preadv(p[0], r, 1, 0), ESPIPE);
    CHECK_ERR(writev(999, w, 1), EBADF);
    return 0;
}
