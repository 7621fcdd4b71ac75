/* mkdir/mkdirat/rmdir: mode and umask, EEXIST, ENOENT, ENOTDIR,
 * ENOTEMPTY, EINVAL for ".", parent link counts. */
#include "check.h"

int main(void)
{
    alarm(10);
    make_tmpdir();
    struct stat st;
    umask(027);

    CHECK_OK(stat(rvt_tmpdir, &st));
    nlink_t base = st.st_nlink;
    CHECK_EQ(base, 2);

    CHECK_OK(mkdir(tpath("a"), 0777));
    CHECK_OK(stat(tpath("a"), &st));
    CHECK(S_ISDIR(st.st_mode));
    CHECK_EQ(st.st_mode & 07777, 0750);
    CHECK_EQ(st.st_nlink, 2);
    CHECK_OK(stat(rvt_tmpdir, &st));
    CHECK_EQ(st.st_nlink, base + 1);

    CHECK_ERR(mkdir(tpath("a"), 0755), EEXIST);
    CHECK_ERR(mkdir(tpath("x/y"), 0755), ENOENT);
    write_file(tpath("file"), "", 0, 0644);
    CHECK_ERR(mkdir(tpath("file"), 0755), EEXIST);
    CHECK_ERR(mkdir(tpath("file/sub"), 0755), ENOTDIR);
    CHECK_OK(symlink("a", tpath("link")));
    CHECK_ERR(mkdir(tpath("link"), 0755), EEXIST);

    /* mkdirat relative to a dirfd; trailing slash is fine for mkdir. */
    int dfd = CHECK_OK(open(tpath("a"), O_RDONLY | O_DIRECTORY));
    CHECK_OK(mkdirat(dfd, "b", 0700));
    CHECK_OK(mkdirat(dfd, "c/", 0700));
    CHECK_OK(stat(tpath("a/b"), &st));
    CHECK_EQ(st.st_mode & 07777, 0700);
    CHECK_OK(stat(tpath("a"), &st));
    CHECK_EQ(st.st_nlink, 4);

    /* rmdir errors. */
    CHECK_ERR(rmdir(tpath("a")), ENOTEMPTY);
    CHECK_ERR(rmdir(tpath("file")), ENOTDIR);
    CHECK_ERR(rmdir(tpath("missing")), ENOENT);
    CHECK_ERR(rmdir(tpath("a/b/.")), EINVAL);
    CHECK_ERR(rmdir(tpath("link")), ENOTDIR);
    CHECK_ERR(unlinkat(dfd, "b", 0), EISDIR);

    CHECK_OK(rmdir(tpath("a/b")));
    CHECK_OK(unlinkat(dfd, "c", AT_REMOVEDIR));
    CHECK_ERR(stat(tpath("a/b"), &st), ENOENT);
    CHECK_OK(stat(tpath("a"), &st));
    CHECK_EQ(st.st_nlink, 2);
    CHECK_OK(rmdir(tpath("a")));
    CHECK_OK(stat(rvt_tmpdir, &st));
    CHECK_EQ(st.st_nlink, base);

    /* The removed directory's fd still works for fstat but nlink is 0. */
    CHECK_OK(fstat(dfd, &st));
    CHECK_EQ(st.st_nlink, 0);
    CHECK_ERR(mkdirat(dfd, "z", 0700), ENOENT);
    return 0;
}
