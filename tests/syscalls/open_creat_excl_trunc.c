/* open/openat/creat: O_CREAT mode, O_EXCL, O_TRUNC, O_APPEND, O_DIRECTORY,
 * directories opened for writing, missing paths, dirfd-relative opens. */
#include "check.h"

int main(void)
{
    alarm(10);
    make_tmpdir();
    umask(022);
    char buf[64];

    CHECK_ERR(open(tpath("missing"), O_RDONLY), ENOENT);
    CHECK_ERR(open(tpath("nodir/f"), O_WRONLY | O_CREAT, 0644), ENOENT);

    int fd = CHECK_OK(open(tpath("f"), O_WRONLY | O_CREAT | O_EXCL, 0666));
    struct stat st;
    CHECK_OK(fstat(fd, &st));
    CHECK_EQ(st.st_mode & 07777, 0644);
    CHECK_EQ(st.st_size, 0);
    CHECK_EQ(write(fd, "hello world", 11), 11);
    CHECK_OK(close(fd));
    CHECK_ERR(open(tpath("f"), O_WRONLY | O_CREAT | O_EXCL, 0666), EEXIST);
    /* O_CREAT without O_EXCL on an existing file keeps it and its mode. */
    fd = CHECK_OK(open(tpath("f"), O_RDONLY | O_CREAT, 0600));
    CHECK_OK(fstat(fd, &st));
    CHECK_EQ(st.st_mode & 07777, 0644);
    CHECK_EQ(st.st_size, 11);
    CHECK_OK(close(fd));

    /* O_EXCL refuses even a dangling symlink. */
    CHECK_OK(symlink("nowhere", tpath("dangling")));
    CHECK_ERR(open(tpath("dangling"), O_WRONLY | O_CREAT | O_EXCL, 0644), EEXIST);
    /* Without O_EXCL, O_CREAT through a dangling symlink creates the target. */
    fd = CHECK_OK(open(tpath("dangling"), O_WRONLY | O_CREAT, 0644));
    CHECK_OK(close(fd));
    CHECK_OK(stat(tpath("nowhere"), &st));

    /* O_APPEND: every write goes to the end. */
    fd = CHECK_OK(open(tpath("f"), O_WRONLY | O_APPEND));
    CHECK_EQ(lseek(fd, 0, SEEK_SET), 0);
    CHECK_EQ(write(fd, "!", 1), 1);
    CHECK_EQ(lseek(fd, 0, SEEK_CUR), 12);
    CHECK_OK(close(fd));
    CHECK_EQ(read_file(tpath("f"), buf, sizeof(buf)), 12);
    CHECK_STREQ(buf, "hello world!");

    /* O_TRUNC empties it. */
    fd = CHECK_OK(open(tpath("f"), O_RDWR | O_TRUNC));
    CHECK_OK(fstat(fd, &st));
    CHECK_EQ(st.st_size, 0);
    CHECK_EQ(read(fd, buf, sizeof(buf)), 0);
    CHECK_OK(close(fd));

    /* creat == O_CREAT|O_WRONLY|O_TRUNC. */
    write_file(tpath("c"), "xyz", 3, 0644);
    fd = CHECK_OK(creat(tpath("c"), 0600));
    CHECK_EQ(fcntl(fd, F_GETFL) & O_ACCMODE, O_WRONLY);
    CHECK_OK(fstat(fd, &st));
    CHECK_EQ(st.st_size, 0);
    CHECK_OK(close(fd));

    /* Directories. */
    CHECK_OK(mkdir(tpath("d"), 0755));
    CHECK_ERR(open(tpath("d"), O_WRONLY), EISDIR);
    CHECK_ERR(open(tpath("d"), O_RDWR), EISDIR);
    CHECK_ERR(open(tpath("f"), O_RDONLY | O_DIRECTORY), ENOTDIR);
    int dfd = CHECK_OK(open(tpath("d"), O_RDONLY | O_DIRECTORY));
    CHECK_ERR(read(dfd, buf, 1), EISDIR);

    /* openat relative to a directory fd; a file as dirfd is ENOTDIR. */
    fd = CHECK_OK(openat(dfd, "inner", O_WRONLY | O_CREAT | O_EXCL, 0644));
    CHECK_OK(close(fd));
    CHECK_OK(stat(tpath("d/inner"), &st));
    fd = CHECK_OK(open(tpath("f"), O_RDONLY));
    CHECK_ERR(openat(fd, "x", O_RDONLY), ENOTDIR);
    CHECK_ERR(openat(999, "x", O_RDONLY), EBADF);
    /* Absolute paths ignore dirfd, even a bad one. */
    int fd2 = CHECK_OK(openat(999, tpath("f"), O_RDONLY));

    /* The lowest free descriptor is used. */
    CHECK_OK(close(fd));
    int fd3 = CHECK_OK(open(tpath("f"), O_RDONLY));
    CHECK_EQ(fd3, fd);
    CHECK_OK(close(fd2));
    CHECK_OK(close(fd3));
    CHECK_OK(close(dfd));

    /* O_PATH descriptors cannot be read. */
    fd = CHECK_OK(open(tpath("c"), O_PATH));
    CHECK_ERR(read(fd, buf, 1), EBADF);
    CHECK_OK(fstat(fd, &st));
    CHECK_OK(close(fd));
    return 0;
}
