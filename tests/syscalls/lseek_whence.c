/* lseek: SEEK_SET/CUR/END, seeking past EOF and the resulting hole,
 * negative offsets, bad whence, SEEK_DATA/SEEK_HOLE edges, ESPIPE. */
#include "check.h"

int main(void)
{
    alarm(10);
    make_tmpdir();
    char buf[16];
    int fd = CHECK_OK(open(tpath("f"), O_RDWR | O_CREAT, 0644));
    CHECK_EQ(write(fd, "0123456789", 10), 10);

    CHECK_EQ(lseek(fd, 0, SEEK_CUR), 10);
    CHECK_EQ(lseek(fd, 3, SEEK_SET), 3);
    CHECK_EQ(lseek(fd, 2, SEEK_CUR), 5);
    CHECK_EQ(lseek(fd, -1, SEEK_CUR), 4);
    CHECK_EQ(lseek(fd, 0, SEEK_END), 10);
    CHECK_EQ(lseek(fd, -3, SEEK_END), 7);
    CHECK_EQ(read(fd, buf, 16), 3);
    CHECK_MEMEQ(buf, "789", 3);

    /* Negative resulting offsets are EINVAL and leave the offset. */
    CHECK_ERR(lseek(fd, -1, SEEK_SET), EINVAL);
    CHECK_ERR(lseek(fd, -11, SEEK_END), EINVAL);
    CHECK_EQ(lseek(fd, 0, SEEK_CUR), 10);
    CHECK_ERR(lseek(fd, 0, 17), EINVAL);

    /* SEEK_DATA/SEEK_HOLE on a file without holes. */
    CHECK_EQ(lseek(fd, 0, SEEK_DATA), 0);
    CHECK_EQ(lseek(fd, 4, SEEK_DATA), 4);
    CHECK_EQ(lseek(fd, 0, SEEK_HOLE), 10);
    CHECK_ERR(lseek(fd, 10, SEEK_DATA), ENXIO);
    CHECK_ERR(lseek(fd, 10, SEEK_HOLE), ENXIO);

    /* Seeking past EOF is allowed; a write there leaves a zero gap. */
    CHECK_EQ(lseek(fd, 20, SEEK_SET), 20);
    struct stat st;
    CHECK_OK(fstat(fd, &st));
    CHECK_EQ(st.st_size, 10);
    CHECK_EQ(write(fd, "E", 1), 1);
    CHECK_OK(fstat(fd, &st));
    CHECK_EQ(st.st_size, 21);
    CHECK_EQ(pread(fd, buf, 16, 8), 13);
    CHECK_MEMEQ(buf, "89\0\0\0\0\0\0\0\0\0\0E", 13);
    CHECK_OK(close(fd));

    /* Two opens have independent offsets. */
    int a = CHECK_OK(open(tpath("f"), O_RDONLY));
    int b = CHECK_OK(open(tpath("f"), O_RDONLY));
    CHECK_EQ(lseek(a, 5, SEEK_SET), 5);
    CHECK_EQ(lseek(b, 0, SEEK_CUR), 0);

    int p[2];
    CHECK_OK(pipe(p));
    CHECK_ERR(lseek(p[0], 0, SEEK_CUR), ESPIPE);
    CHECK_ERR(lseek(p[1], 0, SEEK_SET), ESPIPE);
    CHECK_ERR(lseek(999, 0, SEEK_SET), EBADF);

    /* /dev/null seeks always succeed at 0. */
    int n = CHECK_OK(open("/dev/null", O_RDONLY));
    CHECK_EQ(lseek(n, 100, SEEK_SET), 0);
    return 0;
}
