/* RLIMIT_CORE: set and read back (getrlimit, prlimit64 on self and on a
 * child), a soft limit above the hard one is EINVAL, an unprivileged
 * process cannot raise its hard limit (EPERM) but may lower it, and fork
 * inherits the limits. A fatal core-dumping signal reports a core dump in
 * the wait status (WCOREDUMP, CLD_DUMPED) only when Linux would dump:
 * RLIMIT_CORE of at least a page and a dumpable process. (The sandbox
 * writes no core file; where the host pipes cores to a helper, which
 * ignores the limit, the dump checks are skipped.) */
#include "check.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>

static void set_core(rlim_t cur, rlim_t max)
{
    struct rlimit r = {cur, max};
    CHECK_OK(setrlimit(RLIMIT_CORE, &r));
}

static struct rlimit get_core(void)
{
    struct rlimit r;
    CHECK_OK(getrlimit(RLIMIT_CORE, &r));
    return r;
}

/* Forks a child with soft limit `cur` (dumpable or not) that dies of
 * SIGQUIT; returns its wait status and checks the SIGCHLD code. */
static int quit_with(rlim_t cur, int dumpable, int *code)
{
    siginfo_t si;
    pid_t p = CHECK_OK(fork());
    if (p == 0) {
        struct rlimit r = get_core();
        r.rlim_cur = cur;
        CHECK_OK(setrlimit(RLIMIT_CORE, &r));
        if (!dumpable)
            CHECK_OK(prctl(PR_SET_DUMPABLE, 0, 0, 0, 0));
        raise(SIGQUIT);
        _exit(0);
    }
    memset(&si, 0, sizeof si);
    CHECK_OK(waitid(P_PID, p, &si, WEXITED | WNOWAIT));
    *code = si.si_code;
    return wait_status(p);
}

static int cores_go_to_a_pipe(void)
{
    int fd = open("/proc/sys/kernel/core_pattern", O_RDONLY);
    if (fd < 0)
        return 0;
    char c = 0;
    int piped = read(fd, &c, 1) == 1 && c == '|';
    close(fd);
    return piped;
}

int main(void)
{
    alarm(20);
    struct rlimit orig = get_core();
    /* Keep any core file out of the way. */
    CHECK_OK(chdir(make_tmpdir()));

    set_core(4096, orig.rlim_max);
    struct rlimit r = get_core();
    CHECK_EQ(r.rlim_cur, 4096);
    CHECK_EQ(r.rlim_max, orig.rlim_max);
    struct rlimit nr;
    CHECK_OK(prlimit(0, RLIMIT_CORE, NULL, &nr));
    CHECK_EQ(nr.rlim_cur, 4096);
    if (orig.rlim_max != RLIM_INFINITY) {
        struct rlimit bad = {orig.rlim_max + 1, orig.rlim_max};
        CHECK_ERR(setrlimit(RLIMIT_CORE, &bad), EINVAL);
    }
    struct rlimit bad = {2000, 1000};
    CHECK_ERR(setrlimit(RLIMIT_CORE, &bad), EINVAL);

    /* Inherited by fork; visible to the parent through prlimit. */
    int go[2];
    CHECK_OK(pipe(go));
    pid_t kid = CHECK_OK(fork());
    if (kid == 0) {
        char c;
        CHECK_EQ(read(go[0], &c, 1), 1);
        /* What the parent set with prlimit. */
        CHECK_EQ(get_core().rlim_cur, 8192);
        _exit(0);
    }
    CHECK_OK(prlimit(kid, RLIMIT_CORE, NULL, &nr));
    CHECK_EQ(nr.rlim_cur, 4096);
    struct rlimit set = {8192, orig.rlim_max};
    CHECK_OK(prlimit(kid, RLIMIT_CORE, &set, NULL));
    CHECK_OK(prlimit(kid, RLIMIT_CORE, NULL, &nr));
    CHECK_EQ(nr.rlim_cur, 8192);
    CHECK_EQ(get_core().rlim_cur, 4096);
    CHECK_EQ(write(go[1], "x", 1), 1);
    CHECK_EXITED(wait_status(kid), 0);

    /* Unprivileged: lowering the hard limit is fine, raising it not. */
    if (getuid() == 0) {
        pid_t p = CHECK_OK(fork());
        if (p == 0) {
            CHECK_OK(setresuid(54322, 54322, 54322));
            set_core(0, 1 << 20);
            CHECK_EQ(get_core().rlim_max, 1 << 20);
            struct rlimit up = {0, 2 << 20};
            CHECK_ERR(setrlimit(RLIMIT_CORE, &up), EPERM);
            set_core(1 << 20, 1 << 20);
            _exit(0);
        }
        CHECK_EXITED(wait_status(p), 0);
    }

    if (!cores_go_to_a_pipe() && orig.rlim_max >= (1 << 20)) {
        int code, st;
        st = quit_with(0, 1, &code);
        CHECK_SIGNALED(st, SIGQUIT);
        CHECK(!WCOREDUMP(st));
        CHECK_EQ(code, CLD_KILLED);
        st = quit_with(1000, 1, &code); /* less than a page */
        CHECK(!WCOREDUMP(st));
        st = quit_with(1 << 20, 0, &code); /* not dumpable */
        CHECK_SIGNALED(st, SIGQUIT);
        CHECK(!WCOREDUMP(st));
        CHECK_EQ(code, CLD_KILLED);
        st = quit_with(1 << 20, 1, &code);
        CHECK_SIGNALED(st, SIGQUIT);
        CHECK(WCOREDUMP(st));
        CHECK_EQ(code, CLD_DUMPED);
    }
    set_core(orig.rlim_cur, orig.rlim_max);
    return 0;
}
