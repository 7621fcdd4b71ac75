/* unlink/unlinkat/rename/renameat2: replacing, directory rules,
 * RENAME_NOREPLACE, RENAME_EXCHANGE, open files surviving unlink. */
#include "check.h"
#include <stdio.h>

int main(void)
{
    alarm(10);
    make_tmpdir();
    char buf[32];
    struct stat st;

    write_file(tpath("a"), "AAA", 3, 0644);
    write_file(tpath("b"), "BB", 2, 0644);
    CHECK_OK(mkdir(tpath("d"), 0755));
    CHECK_OK(mkdir(tpath("e"), 0755));
    write_file(tpath("e/inner"), "i", 1, 0644);

    /* An unlinked file stays readable through an open fd. */
    int fd = CHECK_OK(open(tpath("a"), O_RDONLY));
    CHECK_OK(unlink(tpath("a")));
    CHECK_ERR(stat(tpath("a"), &st), ENOENT);
    CHECK_EQ(read(fd, buf, sizeof(buf)), 3);
    CHECK_OK(fstat(fd, &st));
    CHECK_EQ(st.st_nlink, 0);
    CHECK_OK(close(fd));
    CHECK_ERR(unlink(tpath("a")), ENOENT);
    CHECK_ERR(unlink(tpath("d")), EISDIR);
    CHECK_ERR(unlink(tpath("b/x")), ENOTDIR);

    /* rename over an existing file replaces it atomically. */
    write_file(tpath("a"), "NEW", 3, 0644);
    CHECK_OK(rename(tpath("a"), tpath("b")));
    CHECK_ERR(stat(tpath("a"), &st), ENOENT);
    CHECK_EQ(read_file(tpath("b"), buf, sizeof(buf)), 3);
    CHECK_STREQ(buf, "NEW");
    /* Renaming a file onto itself (or a hard link of itself) is a no-op. */
    CHECK_OK(rename(tpath("b"), tpath("b")));
    CHECK_OK(link(tpath("b"), tpath("b2")));
    CHECK_OK(rename(tpath("b"), tpath("b2")));
    CHECK_OK(stat(tpath("b"), &st));
    CHECK_EQ(st.st_nlink, 2);
    CHECK_OK(unlink(tpath("b2")));

    /* Directory rules. */
    CHECK_ERR(rename(tpath("d"), tpath("b")), ENOTDIR);
    CHECK_ERR(rename(tpath("b"), tpath("d")), EISDIR);
    CHECK_ERR(rename(tpath("d"), tpath("e")), ENOTEMPTY);
    CHECK_ERR(rename(tpath("d"), tpath("d/sub")), EINVAL);
    CHECK_ERR(rename(tpath("missing"), tpath("x")), ENOENT);
    CHECK_OK(rename(tpath("d"), tpath("d2")));
    CHECK_OK(mkdir(tpath("empty"), 0755));
    CHECK_OK(rename(tpath("d2"), tpath("empty")));
    CHECK_OK(stat(tpath("empty"), &st));
    CHECK(S_ISDIR(st.st_mode));
    CHECK_ERR(stat(tpath("d2"), &st), ENOENT);

    /* Moving between directories. */
    CHECK_OK(rename(tpath("b"), tpath("e/moved")));
    CHECK_EQ(read_file(tpath("e/moved"), buf, sizeof(buf)), 3);

    /* renameat2 flags. */
    int dfd = CHECK_OK(open(rvt_tmpdir, O_RDONLY | O_DIRECTORY));
    write_file(tpath("x"), "xx", 2, 0644);
    write_file(tpath("y"), "yyy", 3, 0644);
    CHECK_ERR(renameat2(dfd, "x", dfd, "y", RENAME_NOREPLACE), EEXIST);
    CHECK_OK(renameat2(dfd, "x", dfd, "z", RENAME_NOREPLACE));
    CHECK_OK(renameat2(dfd, "z", dfd, "y", RENAME_EXCHANGE));
    CHECK_EQ(read_file(tpath("y"), buf, sizeof(buf)), 2);
    CHECK_STREQ(buf, "xx");
    CHECK_EQ(read_file(tpath("z"), buf, sizeof(buf)), 3);
    CHECK_STREQ(buf, "yyy");
    /* EXCHANGE works between a file and a directory too. */
    CHECK_OK(renameat2(dfd, "z", dfd, "empty", RENAME_EXCHANGE));
    CHECK_OK(stat(tpath("z"), &st));
    CHECK(S_ISDIR(st.st_mode));
    CHECK_ERR(renameat2(dfd, "y", dfd, "missing", RENAME_EXCHANGE), ENOENT);
    CHECK_ERR(renameat2(dfd, "y", dfd, "z", RENAME_EXCHANGE | RENAME_NOREPLACE), EINVAL);
    CHECK_ERR(renameat2(dfd, "y", dfd, "w", 0x100), EINVAL);

    /* unlinkat flag rules. */
    CHECK_ERR(unlinkat(dfd, "y", AT_REMOVEDIR), ENOTDIR);
    CHECK_ERR(unlinkat(dfd, "y", 0x1), EINVAL);
    CHECK_OK(unlinkat(dfd, "y", 0));
    return 0;
}
