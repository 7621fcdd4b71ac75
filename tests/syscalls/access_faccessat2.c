/* access/faccessat/faccessat2: existence, permission bits for root and
 * non-root, X_OK needing an execute bit, AT_EACCESS, AT_SYMLINK_NOFOLLOW,
 * invalid modes and flags. */
#include "check.h"
#include <sys/syscall.h>

#ifndef SYS_faccessat2
#define SYS_faccessat2 439
#endif

static void as_nobody(void)
{
    CHECK_OK(setresgid(65534, 65534, 65534));
    CHECK_OK(setresuid(65534, 65534, 65534));
}

int main(void)
{
    alarm(10);
    make_tmpdir();
    umask(0);
    write_file(tpath("ro"), "", 0, 0444);
    write_file(tpath("rw"), "", 0, 0644);
    write_file(tpath("x"), "", 0, 0744);
    write_file(tpath("none"), "", 0, 0000);
    write_file(tpath("other"), "", 0, 0606);
    CHECK_OK(symlink("missing", tpath("dangling")));

    CHECK_OK(access(tpath("rw"), F_OK));
    CHECK_ERR(access(tpath("missing"), F_OK), ENOENT);
    CHECK_ERR(access(tpath("rw/x"), F_OK), ENOTDIR);
    CHECK_ERR(access(tpath("rw"), 8), EINVAL);
    CHECK_ERR(access(tpath("dangling"), F_OK), ENOENT);
    CHECK_ERR(syscall(SYS_faccessat2, AT_FDCWD, tpath("rw"), R_OK, 0x1), EINVAL);
    CHECK_OK(syscall(SYS_faccessat2, AT_FDCWD, tpath("dangling"), F_OK, AT_SYMLINK_NOFOLLOW));
    int dfd = CHECK_OK(open(rvt_tmpdir, O_RDONLY | O_DIRECTORY));
    CHECK_OK(syscall(SYS_faccessat2, dfd, "rw", R_OK | W_OK, AT_EACCESS));
    int fd = CHECK_OK(open(tpath("rw"), O_RDONLY));
    CHECK_OK(syscall(SYS_faccessat2, fd, "", R_OK, AT_EMPTY_PATH));
    CHECK_ERR(syscall(SYS_faccessat2, fd, "", R_OK, 0), ENOENT);

    if (geteuid() == 0) {
        /* root: read/write regardless of bits, execute only with a bit set. */
        CHECK_OK(access(tpath("ro"), R_OK | W_OK));
        CHECK_OK(access(tpath("none"), R_OK | W_OK));
        CHECK_ERR(access(tpath("rw"), X_OK), EACCES);
        CHECK_ERR(access(tpath("none"), X_OK), EACCES);
        CHECK_OK(access(tpath("x"), X_OK));
        CHECK_OK(access(rvt_tmpdir, X_OK));

        pid_t pid = CHECK_OK(fork());
        if (pid == 0) {
            as_nobody();
            CHECK_OK(access(tpath("ro"), R_OK));
            CHECK_ERR(access(tpath("ro"), W_OK), EACCES);
            CHECK_ERR(access(tpath("rw"), W_OK), EACCES);
            CHECK_ERR(access(tpath("x"), X_OK), EACCES);
            CHECK_ERR(access(tpath("none"), R_OK), EACCES);
            /* "other" bits apply to nobody. */
            CHECK_OK(access(tpath("other"), R_OK | W_OK));
            CHECK_ERR(access(tpath("other"), X_OK), EACCES);
            /* Search permission on directories along the path. */
            CHECK_OK(chdir("/"));
            _exit(0);
        }
        CHECK_EXITED(wait_status(pid), 0);

        /* A directory without search permission blocks the walk. */
        CHECK_OK(mkdir(tpath("closed"), 0700));
        write_file(tpath("closed/f"), "", 0, 0644);
        pid = CHECK_OK(fork());
        if (pid == 0) {
            as_nobody();
            CHECK_ERR(access(tpath("closed/f"), F_OK), EACCES);
            _exit(0);
        }
        CHECK_EXITED(wait_status(pid), 0);

        /* Real vs effective ids: access uses the real uid, AT_EACCESS the
         * effective one. */
        pid = CHECK_OK(fork());
        if (pid == 0) {
            CHECK_OK(setresuid(65534, 0, 0));
            CHECK_ERR(access(tpath("none"), R_OK), EACCES);
            CHECK_OK(syscall(SYS_faccessat2, AT_FDCWD, tpath("none"), R_OK, AT_EACCESS));
            _exit(0);
        }
        CHECK_EXITED(wait_status(pid), 0);
    }
    return 0;
}
