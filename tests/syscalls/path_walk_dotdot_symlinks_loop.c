/* Path walk: "." and "..", ".." above "/", 40-link limit (ELOOP on the 41st),
 * self loops, trailing slashes, O_NOFOLLOW, O_PATH, AT_EMPTY_PATH,
 * AT_SYMLINK_NOFOLLOW, relative/absolute targets, ENAMETOOLONG. */
#include "check.h"
#include <limits.h>

int main(void)
{
    alarm(10);
    make_tmpdir();
    struct stat st, ref;
    char name[64], target[64];

    CHECK_OK(mkdir(tpath("d"), 0755));
    CHECK_OK(mkdir(tpath("d/e"), 0755));
    write_file(tpath("d/e/file"), "x", 1, 0644);
    CHECK_OK(stat(tpath("d/e/file"), &ref));

    /* "." and ".." components. */
    CHECK_OK(stat(tpath("d/./e/../e/./file"), &st));
    CHECK_EQ(st.st_ino, ref.st_ino);
    CHECK_OK(stat(tpath("d/e/../../d/e/file"), &st));
    CHECK_EQ(st.st_ino, ref.st_ino);
    char up[256];
    snprintf(up, sizeof(up), "/../../..%s/d/e/file", rvt_tmpdir);
    CHECK_OK(stat(up, &st));
    CHECK_EQ(st.st_ino, ref.st_ino);
    struct stat root, rootup;
    CHECK_OK(stat("/", &root));
    CHECK_OK(stat("/..", &rootup));
    CHECK_EQ(root.st_ino, rootup.st_ino);
    CHECK_ERR(stat(tpath("d/missing/../e"), &st), ENOENT);
    CHECK_ERR(stat(tpath("d/e/file/.."), &st), ENOTDIR);

    /* A chain of exactly 40 symlinks resolves; 41 is ELOOP. */
    CHECK_OK(symlink("d/e/file", tpath("l0")));
    for (int i = 1; i <= 40; i++) {
        snprintf(name, sizeof(name), "l%d", i);
        snprintf(target, sizeof(target), "l%d", i - 1);
        CHECK_OK(symlink(target, tpath(name)));
    }
    CHECK_OK(stat(tpath("l39"), &st));
    CHECK_EQ(st.st_ino, ref.st_ino);
    int fd = CHECK_OK(open(tpath("l39"), O_RDONLY));
    CHECK_OK(close(fd));
    CHECK_ERR(stat(tpath("l40"), &st), ELOOP);
    CHECK_ERR(open(tpath("l40"), O_RDONLY), ELOOP);
    CHECK_OK(lstat(tpath("l40"), &st));
    CHECK(S_ISLNK(st.st_mode));

    /* Self loop and two-element loop. */
    CHECK_OK(symlink("self", tpath("self")));
    CHECK_ERR(stat(tpath("self"), &st), ELOOP);
    CHECK_OK(symlink("pong", tpath("ping")));
    CHECK_OK(symlink("ping", tpath("pong")));
    CHECK_ERR(open(tpath("ping"), O_RDONLY), ELOOP);
    CHECK_ERR(stat(tpath("ping/x"), &st), ELOOP);

    /* Trailing slash on a non-directory is ENOTDIR. */
    CHECK_ERR(stat(tpath("d/e/file/"), &st), ENOTDIR);
    CHECK_ERR(open(tpath("d/e/file/"), O_RDONLY), ENOTDIR);
    CHECK_ERR(open(tpath("newfile/"), O_WRONLY | O_CREAT, 0644), EISDIR);
    CHECK_OK(stat(tpath("d/e/"), &st));
    CHECK(S_ISDIR(st.st_mode));
    /* A trailing slash makes a symlink to a directory be followed. */
    CHECK_OK(symlink("d/e", tpath("dirlink")));
    CHECK_OK(lstat(tpath("dirlink/"), &st));
    CHECK(S_ISDIR(st.st_mode));
    CHECK_OK(lstat(tpath("dirlink"), &st));
    CHECK(S_ISLNK(st.st_mode));
    CHECK_OK(stat(tpath("dirlink/file"), &st));
    CHECK_EQ(st.st_ino, ref.st_ino);
    /* ".." after a symlinked directory is the target's parent. */
    CHECK_OK(stat(tpath("dirlink/../e/file"), &st));
    CHECK_EQ(st.st_ino, ref.st_ino);

    /* Relative targets resolve from the link's directory; absolute from /. */
    CHECK_OK(symlink("file", tpath("d/e/rel")));
    CHECK_OK(stat(tpath("d/e/rel"), &st));
    CHECK_EQ(st.st_ino, ref.st_ino);
    CHECK_OK(symlink(tpath("d/e/file"), tpath("abs")));
    CHECK_OK(stat(tpath("abs"), &st));
    CHECK_EQ(st.st_ino, ref.st_ino);

    /* O_NOFOLLOW: ELOOP on a final symlink, fine in the middle. */
    CHECK_ERR(open(tpath("l0"), O_RDONLY | O_NOFOLLOW), ELOOP);
    fd = CHECK_OK(open(tpath("dirlink/file"), O_RDONLY | O_NOFOLLOW));
    CHECK_OK(close(fd));
    /* O_PATH|O_NOFOLLOW opens the link itself. */
    fd = CHECK_OK(open(tpath("l0"), O_PATH | O_NOFOLLOW));
    CHECK_OK(fstatat(fd, "", &st, AT_EMPTY_PATH));
    CHECK(S_ISLNK(st.st_mode));
    CHECK_OK(close(fd));

    /* AT_EMPTY_PATH on a regular fd; AT_SYMLINK_NOFOLLOW on the last link. */
    fd = CHECK_OK(open(tpath("l0"), O_RDONLY));
    CHECK_OK(fstatat(fd, "", &st, AT_EMPTY_PATH));
    CHECK_EQ(st.st_ino, ref.st_ino);
    CHECK_ERR(fstatat(fd, "", &st, 0), ENOENT);
    CHECK_OK(close(fd));
    CHECK_OK(fstatat(AT_FDCWD, tpath("l1"), &st, AT_SYMLINK_NOFOLLOW));
    CHECK(S_ISLNK(st.st_mode));
    CHECK_OK(fstatat(AT_FDCWD, tpath("l1"), &st, 0));
    CHECK_EQ(st.st_ino, ref.st_ino);

    /* Component longer than NAME_MAX, path longer than PATH_MAX. */
    char longname[300];
    memset(longname, 'n', 256);
    longname[256] = 0;
    char longfull[400];
    snprintf(longfull, sizeof(longfull), "%s/%s", rvt_tmpdir, longname);
    CHECK_ERR(stat(longfull, &st), ENAMETOOLONG);
    longname[255] = 0; /* exactly NAME_MAX is fine, just missing */
    snprintf(longfull, sizeof(longfull), "%s/%s", rvt_tmpdir, longname);
    CHECK_ERR(stat(longfull, &st), ENOENT);
    static char longpath[PATH_MAX + 10];
    memset(longpath, '/', sizeof(longpath) - 1);
    longpath[sizeof(longpath) - 1] = 0;
    CHECK_ERR(stat(longpath, &st), ENAMETOOLONG);
    /* Repeated slashes are one separator. */
    CHECK_OK(stat(tpath("d//e///file"), &st));
    CHECK_EQ(st.st_ino, ref.st_ino);
    CHECK_ERR(stat("", &st), ENOENT);
    return 0;
}
