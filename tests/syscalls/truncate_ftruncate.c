/* truncate/ftruncate: growing with zeros, shrinking, offset unchanged,
 * negative lengths, directories, read-only fds, pipes, missing paths. */
#include "check.h"

int main(void)
{
    alarm(10);
    make_tmpdir();
    char buf[32];
    struct stat st;
    write_file(tpath("f"), "0123456789", 10, 0644);

    CHECK_OK(truncate(tpath("f"), 4));
    CHECK_OK(stat(tpath("f"), &st));
    CHECK_EQ(st.st_size, 4);
    CHECK_EQ(read_file(tpath("f"), buf, sizeof(buf)), 4);
    CHECK_STREQ(buf, "0123");

    int fd = CHECK_OK(open(tpath("f"), O_RDWR));
    CHECK_EQ(lseek(fd, 2, SEEK_SET), 2);
    CHECK_OK(ftruncate(fd, 8));
    CHECK_EQ(lseek(fd, 0, SEEK_CUR), 2);
    CHECK_EQ(pread(fd, buf, sizeof(buf), 0), 8);
    CHECK_MEMEQ(buf, "0123\0\0\0\0", 8);
    /* Shrink then grow: the cut bytes come back as zeros. */
    CHECK_OK(ftruncate(fd, 1));
    CHECK_OK(ftruncate(fd, 3));
    CHECK_EQ(pread(fd, buf, sizeof(buf), 0), 3);
    CHECK_MEMEQ(buf, "0\0\0", 3);
    /* Offset past the new end: the next write leaves a hole. */
    CHECK_EQ(lseek(fd, 5, SEEK_SET), 5);
    CHECK_EQ(write(fd, "Z", 1), 1);
    CHECK_OK(fstat(fd, &st));
    CHECK_EQ(st.st_size, 6);
    CHECK_OK(ftruncate(fd, 0));
    CHECK_OK(fstat(fd, &st));
    CHECK_EQ(st.st_size, 0);
    /* Large sparse size. */
    CHECK_OK(ftruncate(fd, 1LL << 32));
    CHECK_OK(fstat(fd, &st));
    CHECK_EQ(st.st_size, 1LL << 32);
    CHECK_EQ(pread(fd, buf, 4, (1LL << 32) - 2), 2);
    CHECK_MEMEQ(buf, "\0\0", 2);
    CHECK_OK(ftruncate(fd, 0));

    CHECK_ERR(ftruncate(fd, -1), EINVAL);
    CHECK_ERR(truncate(tpath("f"), -1), EINVAL);
    CHECK_ERR(truncate(tpath("missing"), 0), ENOENT);
    CHECK_OK(mkdir(tpath("d"), 0755));
    CHECK_ERR(truncate(tpath("d"), 0), EISDIR);
    int ro = CHECK_OK(open(tpath("f"), O_RDONLY));
    CHECK_ERR(ftruncate(ro, 0), EINVAL);
    int p[2];
    CHECK_OK(pipe(p));
    CHECK_ERR(ftruncate(p[1], 0), EINVAL);
    CHECK_ERR(ftruncate(999, 0), EBADF);

    /* O_APPEND writes after truncation go to the new end. */
    int ap = CHECK_OK(open(tpath("f"), O_WRONLY | O_APPEND));
    CHECK_EQ(write(ap, "abc", 3), 3);
    CHECK_OK(ftruncate(ap, 1));
    CHECK_EQ(write(ap, "d", 1), 1);
    CHECK_EQ(read_file(tpath("f"), buf, sizeof(buf)), 2);
    CHECK_STREQ(buf, "ad");
    return 0;
}
