/* utimensat/futimens/utimes: explicit times with nanoseconds, UTIME_OMIT,
 * UTIME_NOW, AT_SYMLINK_NOFOLLOW, ctime on change, invalid values. */
#include "check.h"
#include <sys/time.h>

int main(void)
{
    alarm(10);
    make_tmpdir();
    struct stat st;
    write_file(tpath("f"), "x", 1, 0644);

    struct timespec ts[2] = {{1000, 500000000}, {2000, 250}};
    CHECK_OK(utimensat(AT_FDCWD, tpath("f"), ts, 0));
    CHECK_OK(stat(tpath("f"), &st));
    CHECK_EQ(st.st_atim.tv_sec, 1000);
    CHECK_EQ(st.st_atim.tv_nsec, 500000000);
    CHECK_EQ(st.st_mtim.tv_sec, 2000);
    CHECK_EQ(st.st_mtim.tv_nsec, 250);

    /* UTIME_OMIT leaves a field; UTIME_NOW sets it to the current time. */
    struct timespec before;
    CHECK_OK(clock_gettime(CLOCK_REALTIME, &before));
    struct timespec ts2[2] = {{0, UTIME_OMIT}, {0, UTIME_NOW}};
    CHECK_OK(utimensat(AT_FDCWD, tpath("f"), ts2, 0));
    CHECK_OK(stat(tpath("f"), &st));
    CHECK_EQ(st.st_atim.tv_sec, 1000);
    CHECK_EQ(st.st_atim.tv_nsec, 500000000);
    CHECK(st.st_mtim.tv_sec >= before.tv_sec - 1);
    CHECK(st.st_mtim.tv_sec <= before.tv_sec + 5);
    /* ctime moves to now whenever times are set. */
    CHECK(st.st_ctim.tv_sec >= before.tv_sec - 1);

    /* futimens on an fd; NULL means both now. */
    int fd = CHECK_OK(open(tpath("f"), O_RDWR));
    struct timespec ts3[2] = {{7, 7}, {8, 8}};
    CHECK_OK(futimens(fd, ts3));
    CHECK_OK(fstat(fd, &st));
    CHECK_EQ(st.st_atim.tv_sec, 7);
    CHECK_EQ(st.st_mtim.tv_nsec, 8);
    CHECK_OK(futimens(fd, NULL));
    CHECK_OK(fstat(fd, &st));
    CHECK(st.st_atim.tv_sec >= before.tv_sec - 1);
    CHECK(st.st_mtim.tv_sec >= before.tv_sec - 1);

    /* A write updates mtime. */
    CHECK_OK(futimens(fd, ts3));
    CHECK_EQ(write(fd, "y", 1), 1);
    CHECK_OK(fstat(fd, &st));
    CHECK(st.st_mtim.tv_sec >= before.tv_sec - 1);

    /* utimes (microseconds). */
    struct timeval tv[2] = {{30, 1}, {40, 999999}};
    CHECK_OK(utimes(tpath("f"), tv));
    CHECK_OK(stat(tpath("f"), &st));
    CHECK_EQ(st.st_atim.tv_nsec, 1000);
    CHECK_EQ(st.st_mtim.tv_sec, 40);
    CHECK_EQ(st.st_mtim.tv_nsec, 999999000);

    /* AT_SYMLINK_NOFOLLOW changes the link, not the target. */
    CHECK_OK(symlink("f", tpath("l")));
    struct timespec ts4[2] = {{111, 0}, {222, 0}};
    CHECK_OK(utimensat(AT_FDCWD, tpath("l"), ts4, AT_SYMLINK_NOFOLLOW));
    CHECK_OK(lstat(tpath("l"), &st));
    CHECK_EQ(st.st_mtim.tv_sec, 222);
    CHECK_OK(stat(tpath("f"), &st));
    CHECK_EQ(st.st_mtim.tv_sec, 40);

    /* Invalid nanoseconds / flags / paths. */
    struct timespec bad[2] = {{1, 1000000000}, {1, 0}};
    CHECK_ERR(utimensat(AT_FDCWD, tpath("f"), bad, 0), EINVAL);
    struct timespec neg[2] = {{1, -1}, {1, 0}};
    CHECK_ERR(utimensat(AT_FDCWD, tpath("f"), neg, 0), EINVAL);
    CHECK_ERR(utimensat(AT_FDCWD, tpath("f"), ts, 0x4000), EINVAL);
    CHECK_ERR(utimensat(AT_FDCWD, tpath("missing"), ts, 0), ENOENT);
    CHECK_ERR(futimens(999, ts), EBADF);

    /* Without ownership: explicit times are EPERM, UTIME_NOW needs write
     * access (EACCES on a 0644 file owned by someone else). */
    if (geteuid() == 0) {
        pid_t pid = CHECK_OK(fork());
        if (pid == 0) {
            CHECK_OK(setresuid(65534, 65534, 65534));
            CHECK_ERR(utimensat(AT_FDCWD, tpath("f"), ts, 0), EPERM);
            CHECK_ERR(utimensat(AT_FDCWD, tpath("f"), NULL, 0), EACCES);
            _exit(0);
        }
        CHECK_EXITED(wait_status(pid), 0);
    }
    return 0;
}
