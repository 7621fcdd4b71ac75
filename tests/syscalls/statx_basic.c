/* statx: basic fields agree with stat, masks, AT_SYMLINK_NOFOLLOW,
 * AT_EMPTY_PATH, reserved mask bit and bad flags. */
#include "check.h"
#include <sys/syscall.h>
#include <sys/sysmacros.h>

int main(void)
{
    alarm(10);
    make_tmpdir();
    write_file(tpath("f"), "abcdefg", 7, 0604);
    CHECK_OK(symlink("f", tpath("l")));

    struct stat st;
    struct statx sx;
    CHECK_OK(stat(tpath("f"), &st));
    memset(&sx, 0xff, sizeof(sx));
    CHECK_OK(statx(AT_FDCWD, tpath("f"), AT_STATX_SYNC_AS_STAT, STATX_BASIC_STATS, &sx));
    CHECK_EQ(sx.stx_mask & STATX_BASIC_STATS, STATX_BASIC_STATS);
    CHECK_EQ(sx.stx_size, 7);
    CHECK_EQ(sx.stx_mode, st.st_mode);
    CHECK(S_ISREG(sx.stx_mode));
    CHECK_EQ(sx.stx_mode & 07777, 0604);
    CHECK_EQ(sx.stx_ino, st.st_ino);
    CHECK_EQ(sx.stx_nlink, 1);
    CHECK_EQ(sx.stx_uid, st.st_uid);
    CHECK_EQ(sx.stx_gid, st.st_gid);
    CHECK_EQ(sx.stx_blksize, st.st_blksize);
    CHECK_EQ(sx.stx_blocks, st.st_blocks);
    CHECK_EQ(sx.stx_mtime.tv_sec, st.st_mtim.tv_sec);
    CHECK_EQ(sx.stx_mtime.tv_nsec, st.st_mtim.tv_nsec);
    CHECK_EQ(makedev(sx.stx_dev_major, sx.stx_dev_minor), st.st_dev);

    CHECK_OK(statx(AT_FDCWD, tpath("l"), 0, STATX_BASIC_STATS, &sx));
    CHECK(S_ISREG(sx.stx_mode));
    CHECK_OK(statx(AT_FDCWD, tpath("l"), AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &sx));
    CHECK(S_ISLNK(sx.stx_mode));
    CHECK_EQ(sx.stx_size, 1);

    int fd = CHECK_OK(open(tpath("f"), O_RDONLY));
    CHECK_OK(statx(fd, "", AT_EMPTY_PATH, STATX_SIZE, &sx));
    CHECK_EQ(sx.stx_mask & STATX_SIZE, STATX_SIZE);
    CHECK_EQ(sx.stx_size, 7);
    CHECK_ERR(statx(fd, "", 0, STATX_SIZE, &sx), ENOENT);
    int dfd = CHECK_OK(open(rvt_tmpdir, O_RDONLY | O_DIRECTORY));
    CHECK_OK(statx(dfd, "f", 0, STATX_INO, &sx));
    CHECK_EQ(sx.stx_ino, st.st_ino);

    CHECK_ERR(statx(AT_FDCWD, tpath("f"), 0, STATX__RESERVED, &sx), EINVAL);
    CHECK_ERR(statx(AT_FDCWD, tpath("f"), 0x40000000, STATX_BASIC_STATS, &sx), EINVAL);
    CHECK_ERR(statx(AT_FDCWD, tpath("f"), AT_STATX_FORCE_SYNC | AT_STATX_DONT_SYNC,
                    STATX_BASIC_STATS, &sx), EINVAL);
    CHECK_ERR(statx(AT_FDCWD, tpath("missing"), 0, STATX_BASIC_STATS, &sx), ENOENT);
    CHECK_ERR(statx(999, "f", 0, STATX_BASIC_STATS, &sx), EBADF);
    return 0;
}
