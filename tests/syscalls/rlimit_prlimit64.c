/* getrlimit/setrlimit/prlimit64: round trips, soft > hard is EINVAL,
 * RLIMIT_NOFILE enforced by open (EMFILE), RLIMIT_FSIZE enforced by write
 * (EFBIG / SIGXFSZ), limits inherited by children, prlimit on a child. */
#include "check.h"
#include <signal.h>
#include <sys/resource.h>

int main(void)
{
    alarm(10);
    make_tmpdir();
    struct rlimit rl, orig;
    CHECK_OK(getrlimit(RLIMIT_NOFILE, &orig));
    CHECK(orig.rlim_cur <= orig.rlim_max);
    struct rlimit pr;
    CHECK_OK(prlimit(0, RLIMIT_NOFILE, NULL, &pr));
    CHECK_EQ(pr.rlim_cur, orig.rlim_cur);
    CHECK_EQ(pr.rlim_max, orig.rlim_max);

    /* Lower the soft limit: fds at or above it cannot be created. */
    rl.rlim_cur = 10;
    rl.rlim_max = orig.rlim_max;
    CHECK_OK(setrlimit(RLIMIT_NOFILE, &rl));
    CHECK_OK(getrlimit(RLIMIT_NOFILE, &pr));
    CHECK_EQ(pr.rlim_cur, 10);
    int last = -1;
    for (;;) {
        int fd = open("/dev/null", O_RDONLY);
        if (fd < 0) {
            CHECK_EQ(errno, EMFILE);
            break;
        }
        last = fd;
    }
    CHECK_EQ(last, 9);
    CHECK_ERR(dup(0), EMFILE);
    CHECK_ERR(fcntl(0, F_DUPFD, 10), EINVAL);
    CHECK_ERR(dup2(0, 10), EBADF);
    for (int fd = 3; fd <= 9; fd++)
        close(fd);
    CHECK_OK(setrlimit(RLIMIT_NOFILE, &orig));

    /* soft > hard is EINVAL; old value returned by prlimit. */
    rl.rlim_cur = 100;
    rl.rlim_max = 50;
    CHECK_ERR(setrlimit(RLIMIT_NOFILE, &rl), EINVAL);
    CHECK_ERR(setrlimit(1000, &orig), EINVAL);
    struct rlimit newl = {64, orig.rlim_max}, old;
    CHECK_OK(prlimit(0, RLIMIT_NOFILE, &newl, &old));
    CHECK_EQ(old.rlim_cur, orig.rlim_cur);
    CHECK_OK(getrlimit(RLIMIT_NOFILE, &rl));
    CHECK_EQ(rl.rlim_cur, 64);

    /* Children inherit; prlimit can read a child's limits. */
    int p[2];
    CHECK_OK(pipe(p));
    pid_t pid = CHECK_OK(fork());
    if (pid == 0) {
        struct rlimit c;
        getrlimit(RLIMIT_NOFILE, &c);
        char ch;
        read(p[0], &ch, 1);
        _exit(c.rlim_cur == 64 ? 0 : 1);
    }
    CHECK_OK(prlimit(pid, RLIMIT_NOFILE, NULL, &rl));
    CHECK_EQ(rl.rlim_cur, 64);
    CHECK_EQ(write(p[1], "x", 1), 1);
    CHECK_EXITED(wait_status(pid), 0);
    CHECK_ERR(prlimit(0x3fffffff, RLIMIT_NOFILE, NULL, &rl), ESRCH);
    CHECK_OK(setrlimit(RLIMIT_NOFILE, &orig));

    /* Raising the hard limit needs privilege. */
    {
        pid = CHECK_OK(fork());
        if (pid == 0) {
            if (geteuid() == 0)
                CHECK_OK(setresuid(65534, 65534, 65534));
            struct rlimit c;
            getrlimit(RLIMIT_NOFILE, &c);
            c.rlim_max -= 1;
            c.rlim_cur = c.rlim_max;
            CHECK_OK(setrlimit(RLIMIT_NOFILE, &c));
            c.rlim_max += 1;
            CHECK_ERR(setrlimit(RLIMIT_NOFILE, &c), EPERM);
            _exit(0);
        }
        CHECK_EXITED(wait_status(pid), 0);
    }

    /* RLIMIT_FSIZE: writes past the limit fail with EFBIG once SIGXFSZ is
     * ignored; a short write stops at the limit; default kills. */
    pid = CHECK_OK(fork());
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit f = {10, 10};
        CHECK_OK(setrlimit(RLIMIT_FSIZE, &f));
        int fd = CHECK_OK(open(tpath("f"), O_WRONLY | O_CREAT, 0644));
        CHECK_EQ(write(fd, "0123456789abc", 13), 10);
        CHECK_ERR(write(fd, "x", 1), EFBIG);
        _exit(0);
    }
    CHECK_EXITED(wait_status(pid), 0);
    pid = CHECK_OK(fork());
    if (pid == 0) {
        struct rlimit f = {0, 0};
        CHECK_OK(setrlimit(RLIMIT_FSIZE, &f));
        int fd = CHECK_OK(open(tpath("g"), O_WRONLY | O_CREAT, 0644));
        write(fd, "x", 1);
        _exit(0);
    }
    CHECK_SIGNALED(wait_status(pid), SIGXFSZ);

    /* RLIMIT_STACK and RLIMIT_AS can be read. */
    CHECK_OK(getrlimit(RLIMIT_STACK, &rl));
    CHECK(rl.rlim_cur > 0);
    CHECK_OK(getrlimit(RLIMIT_AS, &rl));
    return 0;
}
