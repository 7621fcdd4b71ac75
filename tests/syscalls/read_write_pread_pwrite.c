/* read/write/pread64/pwrite64: offsets, short reads at EOF, pread/pwrite
 * leaving the offset alone, pwrite with O_APPEND, ESPIPE, EINVAL, EBADF. */
#include "check.h"

int main(void)
{
    alarm(10);
    make_tmpdir();
    char buf[64];
    int fd = CHECK_OK(open(tpath("f"), O_RDWR | O_CREAT, 0644));

    CHECK_EQ(write(fd, "abcdefghij", 10), 10);
    CHECK_EQ(lseek(fd, 0, SEEK_CUR), 10);
    CHECK_EQ(read(fd, buf, 5), 0);
    CHECK_EQ(lseek(fd, 2, SEEK_SET), 2);
    CHECK_EQ(read(fd, buf, 3), 3);
    CHECK_MEMEQ(buf, "cde", 3);
    /* Short read at EOF. */
    CHECK_EQ(read(fd, buf, sizeof(buf)), 5);
    CHECK_MEMEQ(buf, "fghij", 5);
    CHECK_EQ(read(fd, buf, 0), 0);
    CHECK_EQ(write(fd, buf, 0), 0);

    /* pread/pwrite do not move the offset. */
    CHECK_EQ(lseek(fd, 1, SEEK_SET), 1);
    CHECK_EQ(pread(fd, buf, 4, 6), 4);
    CHECK_MEMEQ(buf, "ghij", 4);
    CHECK_EQ(pread(fd, buf, 4, 100), 0);
    CHECK_EQ(pwrite(fd, "XY", 2, 3), 2);
    CHECK_EQ(lseek(fd, 0, SEEK_CUR), 1);
    CHECK_EQ(pread(fd, buf, 10, 0), 10);
    CHECK_MEMEQ(buf, "abcXYfghij", 10);
    /* pwrite beyond EOF extends with a zero-filled gap. */
    CHECK_EQ(pwrite(fd, "Z", 1, 12), 1);
    CHECK_EQ(pread(fd, buf, 20, 0), 13);
    CHECK_MEMEQ(buf, "abcXYfghij\0\0Z", 13);
    CHECK_ERR(pread(fd, buf, 1, -1), EINVAL);
    CHECK_ERR(pwrite(fd, buf, 1, -1), EINVAL);
    CHECK_OK(close(fd));

    /* On Linux, pwrite to an O_APPEND fd appends regardless of offset. */
    fd = CHECK_OK(open(tpath("f"), O_RDWR | O_APPEND));
    CHECK_EQ(pwrite(fd, "Q", 1, 0), 1);
    CHECK_EQ(pread(fd, buf, 20, 0), 14);
    CHECK_MEMEQ(buf, "abcXYfghij\0\0ZQ", 14);
    CHECK_OK(close(fd));

    /* Access mode is enforced per fd. */
    fd = CHECK_OK(open(tpath("f"), O_RDONLY));
    CHECK_ERR(write(fd, "x", 1), EBADF);
    CHECK_ERR(pwrite(fd, "x", 1, 0), EBADF);
    CHECK_OK(close(fd));
    fd = CHECK_OK(open(tpath("f"), O_WRONLY));
    CHECK_ERR(read(fd, buf, 1), EBADF);
    CHECK_ERR(pread(fd, buf, 1, 0), EBADF);
    CHECK_OK(close(fd));
    CHECK_ERR(read(fd, buf, 1), EBADF);

    /* pread on a pipe is ESPIPE. */
    int p[2];
    CHECK_OK(pipe(p));
    CHECK_EQ(write(p[1], "pp", 2), 2);
    CHECK_ERR(pread(p[0], buf, 1, 0), ESPIPE);
    CHECK_ERR(pwrite(p[1], buf, 1, 0), ESPIPE);
    CHECK_EQ(read(p[0], buf, 10), 2);

    /* Large write and read back. */
    static char big[1 << 20], back[1 << 20];
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (char)(i * 7 + 3);
    fd = CHECK_OK(open(tpath("big"), O_RDWR | O_CREAT | O_TRUNC, 0644));
    CHECK_EQ(write(fd, big, sizeof(big)), sizeof(big));
    CHECK_EQ(pread(fd, back, sizeof(back), 0), sizeof(back));
    CHECK_MEMEQ(big, back, sizeof(big));
    CHECK_OK(close(fd));
    return 0;
}
