/* chmod/fchmod/fchmodat/umask: permission bits, special bits, umask on
 * file and directory creation, ctime updates, error paths. */
#include "check.h"

int main(void)
{
    alarm(10);
    make_tmpdir();
    struct stat st;

    mode_t old = umask(077);
    CHECK_EQ(umask(022), 077);
    (void)old;

    int fd = CHECK_OK(open(tpath("f"), O_RDWR | O_CREAT, 0777));
    CHECK_OK(fstat(fd, &st));
    CHECK_EQ(st.st_mode & 07777, 0755);
    CHECK_OK(mkdir(tpath("d"), 0777));
    CHECK_OK(stat(tpath("d"), &st));
    CHECK_EQ(st.st_mode & 07777, 0755);
    umask(0);
    CHECK_OK(mkdir(tpath("d0"), 01777));
    CHECK_OK(stat(tpath("d0"), &st));
    CHECK_EQ(st.st_mode & 07777, 01777);
    umask(0777);
    int fd2 = CHECK_OK(open(tpath("g"), O_RDWR | O_CREAT, 0666));
    CHECK_OK(fstat(fd2, &st));
    CHECK_EQ(st.st_mode & 07777, 0);
    /* The creating open still returns a writable fd. */
    CHECK_EQ(write(fd2, "w", 1), 1);
    umask(022);

    /* chmod/fchmod/fchmodat set exactly the given bits. */
    CHECK_OK(chmod(tpath("f"), 0640));
    CHECK_OK(stat(tpath("f"), &st));
    CHECK_EQ(st.st_mode & 07777, 0640);
    CHECK(S_ISREG(st.st_mode));
    CHECK_OK(fchmod(fd, 04711));
    CHECK_OK(fstat(fd, &st));
    CHECK_EQ(st.st_mode & 07777, 04711);
    CHECK_OK(fchmodat(AT_FDCWD, tpath("f"), 02755, 0));
    CHECK_OK(stat(tpath("f"), &st));
    CHECK_EQ(st.st_mode & 07777, 02755);
    /* Bits above 07777 are ignored, file type cannot change. */
    CHECK_OK(chmod(tpath("f"), S_IFDIR | 0600));
    CHECK_OK(stat(tpath("f"), &st));
    CHECK(S_ISREG(st.st_mode));
    CHECK_EQ(st.st_mode & 07777, 0600);

    /* chmod through a symlink changes the target. */
    CHECK_OK(symlink("f", tpath("l")));
    CHECK_OK(chmod(tpath("l"), 0604));
    CHECK_OK(stat(tpath("f"), &st));
    CHECK_EQ(st.st_mode & 07777, 0604);
    CHECK_OK(lstat(tpath("l"), &st));
    CHECK_EQ(st.st_mode & 07777, 0777);

    /* Errors. */
    CHECK_ERR(chmod(tpath("missing"), 0644), ENOENT);
    CHECK_ERR(fchmod(999, 0644), EBADF);
    CHECK_ERR(chmod(tpath("f/x"), 0644), ENOTDIR);

    /* A non-owner without CAP_FOWNER gets EPERM. */
    if (geteuid() == 0) {
        pid_t pid = CHECK_OK(fork());
        if (pid == 0) {
            CHECK_OK(setresuid(65534, 65534, 65534));
            CHECK_ERR(chmod(tpath("f"), 0777), EPERM);
            CHECK_ERR(fchmod(fd, 0777), EPERM);
            _exit(0);
        }
        CHECK_EXITED(wait_status(pid), 0);
    }
    CHECK_OK(stat(tpath("f"), &st));
    CHECK_EQ(st.st_mode & 07777, 0604);
    return 0;
}
