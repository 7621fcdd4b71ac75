/* chdir/fchdir/getcwd: relative resolution, "..", ERANGE, ENOTDIR,
 * ENOENT, EACCES without search permission, cwd removed under us,
 * per-process cwd across fork. */
#include "check.h"
#include <limits.h>
#include <sys/syscall.h>

int main(void)
{
    alarm(10);
    make_tmpdir();
    char real[PATH_MAX], cwd[PATH_MAX], want[PATH_MAX + 16];
    CHECK(realpath(rvt_tmpdir, real) != NULL);
    CHECK_OK(mkdir(tpath("a"), 0755));
    CHECK_OK(mkdir(tpath("a/b"), 0755));
    write_file(tpath("a/file"), "", 0, 0644);

    CHECK_OK(chdir(rvt_tmpdir));
    CHECK(getcwd(cwd, sizeof(cwd)) != NULL);
    CHECK_STREQ(cwd, real);
    CHECK_OK(chdir("a/b"));
    CHECK(getcwd(cwd, sizeof(cwd)) != NULL);
    snprintf(want, sizeof(want), "%s/a/b", real);
    CHECK_STREQ(cwd, want);
    /* Relative paths resolve from the cwd. */
    struct stat st;
    CHECK_OK(stat("../file", &st));
    CHECK_OK(chdir(".."));
    CHECK(getcwd(cwd, sizeof(cwd)) != NULL);
    snprintf(want, sizeof(want), "%s/a", real);
    CHECK_STREQ(cwd, want);

    /* The raw syscall returns the length including the NUL. */
    CHECK_EQ(syscall(SYS_getcwd, cwd, sizeof(cwd)), strlen(want) + 1);
    CHECK_ERR(syscall(SYS_getcwd, cwd, strlen(want)), ERANGE);
    CHECK_EQ(syscall(SYS_getcwd, cwd, strlen(want) + 1), strlen(want) + 1);
    CHECK(getcwd(cwd, 2) == NULL);
    CHECK_EQ(errno, ERANGE);

    CHECK_ERR(chdir("file"), ENOTDIR);
    CHECK_ERR(chdir("missing"), ENOENT);
    CHECK_ERR(chdir(""), ENOENT);
    int ffd = CHECK_OK(open("file", O_RDONLY));
    CHECK_ERR(fchdir(ffd), ENOTDIR);
    CHECK_ERR(fchdir(999), EBADF);

    /* fchdir to a directory fd. */
    int bfd = CHECK_OK(open("b", O_RDONLY | O_DIRECTORY));
    CHECK_OK(chdir("/"));
    CHECK(getcwd(cwd, sizeof(cwd)) != NULL);
    CHECK_STREQ(cwd, "/");
    CHECK_OK(chdir(".."));
    CHECK(getcwd(cwd, sizeof(cwd)) != NULL);
    CHECK_STREQ(cwd, "/");
    CHECK_OK(fchdir(bfd));
    CHECK(getcwd(cwd, sizeof(cwd)) != NULL);
    snprintf(want, sizeof(want), "%s/a/b", real);
    CHECK_STREQ(cwd, want);

    /* The cwd is per process: a child's chdir does not affect us. */
    pid_t pid = CHECK_OK(fork());
    if (pid == 0) {
        CHECK_OK(chdir("/"));
        _exit(0);
    }
    CHECK_EXITED(wait_status(pid), 0);
    CHECK(getcwd(cwd, sizeof(cwd)) != NULL);
    CHECK_STREQ(cwd, want);

    /* A removed cwd: getcwd fails with ENOENT, "." still stats. */
    CHECK_OK(rmdir(want));
    CHECK_ERR(syscall(SYS_getcwd, cwd, sizeof(cwd)), ENOENT);
    CHECK_OK(stat(".", &st));
    CHECK_EQ(st.st_nlink, 0);
    CHECK_ERR(open("new", O_WRONLY | O_CREAT, 0644), ENOENT);

    /* No search permission: EACCES for non-root. */
    if (geteuid() == 0) {
        CHECK_OK(mkdir(tpath("closed"), 0700));
        pid = CHECK_OK(fork());
        if (pid == 0) {
            CHECK_OK(setresuid(65534, 65534, 65534));
            CHECK_ERR(chdir(tpath("closed")), EACCES);
            _exit(0);
        }
        CHECK_EXITED(wait_status(pid), 0);
    }
    CHECK_OK(chdir("/"));
    return 0;
}
