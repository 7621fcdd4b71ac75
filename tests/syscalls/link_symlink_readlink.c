/* link/linkat/symlink/symlinkat/readlink/readlinkat: link counts,
 * hard links to directories, symlink contents, truncation, errors. */
#include "check.h"

int main(void)
{
    alarm(10);
    make_tmpdir();
    char buf[256];
    struct stat st, st2;

    write_file(tpath("f"), "data", 4, 0644);
    CHECK_OK(link(tpath("f"), tpath("h")));
    CHECK_OK(stat(tpath("f"), &st));
    CHECK_OK(stat(tpath("h"), &st2));
    CHECK_EQ(st.st_nlink, 2);
    CHECK_EQ(st.st_ino, st2.st_ino);
    CHECK_ERR(link(tpath("f"), tpath("h")), EEXIST);
    CHECK_ERR(link(tpath("missing"), tpath("h2")), ENOENT);
    CHECK_OK(mkdir(tpath("d"), 0755));
    CHECK_ERR(link(tpath("d"), tpath("d2")), EPERM);
    CHECK_OK(unlink(tpath("f")));
    CHECK_OK(stat(tpath("h"), &st));
    CHECK_EQ(st.st_nlink, 1);

    /* symlink contents are stored verbatim, even if dangling. */
    CHECK_OK(symlink("h", tpath("s")));
    CHECK_OK(symlink("../does/not/exist", tpath("dangling")));
    CHECK_EQ(readlink(tpath("s"), buf, sizeof(buf)), 1);
    CHECK_EQ(buf[0], 'h');
    CHECK_EQ(readlink(tpath("dangling"), buf, sizeof(buf)), 17);
    CHECK_MEMEQ(buf, "../does/not/exist", 17);
    CHECK_OK(lstat(tpath("dangling"), &st));
    CHECK_EQ(st.st_size, 17);
    /* A short buffer truncates silently, without a NUL. */
    memset(buf, 'Z', sizeof(buf));
    CHECK_EQ(readlink(tpath("dangling"), buf, 5), 5);
    CHECK_MEMEQ(buf, "../doZ", 6);
    CHECK_ERR(readlink(tpath("h"), buf, sizeof(buf)), EINVAL);
    CHECK_ERR(readlink(tpath("missing"), buf, sizeof(buf)), ENOENT);
    CHECK_ERR(readlink(tpath("s"), buf, 0), EINVAL);
    CHECK_ERR(symlink("x", tpath("s")), EEXIST);
    CHECK_ERR(symlink("", tpath("empty")), ENOENT);

    /* Reading through the symlink reaches the target. */
    CHECK_EQ(read_file(tpath("s"), buf, sizeof(buf)), 4);
    CHECK_STREQ(buf, "data");

    /* *at variants. */
    int dfd = CHECK_OK(open(tpath("d"), O_RDONLY | O_DIRECTORY));
    CHECK_OK(symlinkat("../h", dfd, "up"));
    CHECK_EQ(readlinkat(dfd, "up", buf, sizeof(buf)), 4);
    CHECK_MEMEQ(buf, "../h", 4);
    CHECK_EQ(read_file(tpath("d/up"), buf, sizeof(buf)), 4);
    /* linkat does not follow a symlink unless AT_SYMLINK_FOLLOW. */
    CHECK_OK(linkat(AT_FDCWD, tpath("s"), dfd, "ls", 0));
    CHECK_OK(lstat(tpath("d/ls"), &st));
    CHECK(S_ISLNK(st.st_mode));
    CHECK_OK(linkat(AT_FDCWD, tpath("s"), dfd, "lf", AT_SYMLINK_FOLLOW));
    CHECK_OK(lstat(tpath("d/lf"), &st));
    CHECK(S_ISREG(st.st_mode));
    CHECK_EQ(st.st_nlink, 2);
    CHECK_ERR(linkat(AT_FDCWD, tpath("s"), dfd, "bad", 0x1), EINVAL);

    /* readlink of an empty path via AT_EMPTY_PATH semantics on O_PATH fd. */
    int lfd = CHECK_OK(open(tpath("s"), O_PATH | O_NOFOLLOW));
    CHECK_EQ(readlinkat(lfd, "", buf, sizeof(buf)), 1);
    CHECK_EQ(buf[0], 'h');
    return 0;
}
