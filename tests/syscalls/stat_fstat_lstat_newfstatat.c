/* stat/fstat/lstat/newfstatat: agreement between the variants, file types,
 * sizes, link counts, ownership, symlink handling and error paths. */
#include "check.h"
#include <sys/syscall.h>

int main(void)
{
    alarm(10);
    make_tmpdir();
    write_file(tpath("f"), "12345", 5, 0640);
    CHECK_OK(mkdir(tpath("d"), 0750));
    CHECK_OK(symlink("f", tpath("l")));

    struct stat s1, s2, s3, s4;
    CHECK_OK(stat(tpath("f"), &s1));
    CHECK(S_ISREG(s1.st_mode));
    CHECK_EQ(s1.st_mode & 07777, 0640);
    CHECK_EQ(s1.st_size, 5);
    CHECK_EQ(s1.st_nlink, 1);
    CHECK_EQ(s1.st_uid, geteuid());
    CHECK_EQ(s1.st_gid, getegid());
    CHECK(s1.st_blksize > 0);
    CHECK(s1.st_ino != 0);

    int fd = CHECK_OK(open(tpath("f"), O_RDONLY));
    CHECK_OK(fstat(fd, &s2));
    CHECK_EQ(s2.st_ino, s1.st_ino);
    CHECK_EQ(s2.st_dev, s1.st_dev);
    CHECK_EQ(s2.st_size, 5);
    CHECK_EQ(s2.st_mode, s1.st_mode);

    /* stat follows the symlink; lstat does not. */
    CHECK_OK(stat(tpath("l"), &s3));
    CHECK_EQ(s3.st_ino, s1.st_ino);
    CHECK_OK(lstat(tpath("l"), &s4));
    CHECK(S_ISLNK(s4.st_mode));
    CHECK_EQ(s4.st_size, 1);
    CHECK(s4.st_ino != s1.st_ino);
    CHECK_EQ(s4.st_dev, s1.st_dev);

    /* newfstatat relative to a directory fd, with and without following. */
    int dfd = CHECK_OK(open(rvt_tmpdir, O_RDONLY | O_DIRECTORY));
    CHECK_OK(fstatat(dfd, "l", &s3, 0));
    CHECK_EQ(s3.st_ino, s1.st_ino);
    CHECK_OK(fstatat(dfd, "l", &s3, AT_SYMLINK_NOFOLLOW));
    CHECK_EQ(s3.st_ino, s4.st_ino);
    CHECK_OK(fstatat(dfd, "d", &s3, 0));
    CHECK(S_ISDIR(s3.st_mode));
    CHECK_EQ(s3.st_mode & 07777, 0750);
    CHECK_EQ(s3.st_nlink, 2);
    CHECK_OK(fstatat(fd, "", &s3, AT_EMPTY_PATH));
    CHECK_EQ(s3.st_ino, s1.st_ino);
    CHECK_ERR(syscall(SYS_newfstatat, fd, "", &s3, 0), ENOENT);
    CHECK_ERR(syscall(SYS_newfstatat, dfd, "f", &s3, 0x10000000), EINVAL);
    CHECK_ERR(fstatat(fd, "x", &s3, 0), ENOTDIR);
    CHECK_ERR(fstatat(999, "x", &s3, 0), EBADF);

    /* Directory link count grows with subdirectories. */
    CHECK_OK(mkdir(tpath("d/sub"), 0755));
    CHECK_OK(stat(tpath("d"), &s3));
    CHECK_EQ(s3.st_nlink, 3);

    /* Size follows writes. */
    int wfd = CHECK_OK(open(tpath("f"), O_WRONLY | O_APPEND));
    CHECK_EQ(write(wfd, "678", 3), 3);
    CHECK_OK(fstat(fd, &s2));
    CHECK_EQ(s2.st_size, 8);

    /* Other file types. */
    int p[2];
    CHECK_OK(pipe(p));
    CHECK_OK(fstat(p[0], &s3));
    CHECK(S_ISFIFO(s3.st_mode));
    CHECK_OK(stat("/dev/null", &s3));
    CHECK(S_ISCHR(s3.st_mode));

    CHECK_ERR(stat(tpath("missing"), &s3), ENOENT);
    CHECK_ERR(stat(tpath("f/x"), &s3), ENOTDIR);
    CHECK_ERR(lstat("", &s3), ENOENT);
    CHECK_ERR(fstat(999, &s3), EBADF);
    CHECK_OK(symlink("missing", tpath("dangling")));
    CHECK_ERR(stat(tpath("dangling"), &s3), ENOENT);
    CHECK_OK(lstat(tpath("dangling"), &s3));
    return 0;
}
