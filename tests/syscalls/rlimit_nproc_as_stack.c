/* Resource limits are enforced: RLIMIT_NPROC makes fork fail with EAGAIN
 * for a non-root user at its limit; RLIMIT_AS makes mmap, mremap and brk
 * growth fail with ENOMEM; RLIMIT_DATA bounds brk; RLIMIT_STACK bounds
 * stack growth (SIGSEGV beyond it). The NPROC part needs root to change
 * uid and is skipped otherwise. */
#include "check.h"

#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>

static void set_limit(int which, rlim_t v)
{
    struct rlimit r = {v, v};
    CHECK_OK(setrlimit(which, &r));
}

static void wait_exit(pid_t p, int code)
{
    int st;
    CHECK_EQ(waitpid(p, &st, 0), p);
    CHECK_EXITED(st, code);
}

static void on_segv(int sig)
{
    (void)sig;
    _exit(42);
}

/* Uses about 16 KiB of stack per level, touching each page. */
static int recurse(int n)
{
    volatile char buf[16384];
    for (unsigned i = 0; i < sizeof buf; i += 4096)
        buf[i] = (char)n;
    if (n == 0)
        return buf[0];
    return recurse(n - 1) + buf[4096];
}

int main(void)
{
    alarm(10);

    /* RLIMIT_NPROC: uid 65534 runs one process (this child). */
    if (geteuid() == 0) {
        pid_t p = CHECK_OK(fork());
        if (p == 0) {
            struct rlimit r = {1, 1000};
            CHECK_OK(setrlimit(RLIMIT_NPROC, &r));
            CHECK_OK(setresuid(65534, 65534, 65534));
            CHECK_ERR(fork(), EAGAIN);
            r.rlim_cur = 1000;
            CHECK_OK(setrlimit(RLIMIT_NPROC, &r));
            pid_t c = CHECK_OK(fork());
            if (c == 0)
                _exit(0);
            wait_exit(c, 0);
            _exit(0);
        }
        wait_exit(p, 0);
        /* Root (uid 0) is not bound by it. */
        p = CHECK_OK(fork());
        if (p == 0) {
            set_limit(RLIMIT_NPROC, 1);
            pid_t c = CHECK_OK(fork());
            if (c == 0)
                _exit(0);
            wait_exit(c, 0);
            _exit(0);
        }
        wait_exit(p, 0);
    }

    /* RLIMIT_AS and RLIMIT_DATA. */
    pid_t p = CHECK_OK(fork());
    if (p == 0) {
        set_limit(RLIMIT_AS, 256 << 20);
        CHECK(mmap(NULL, 512 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) ==
              MAP_FAILED);
        CHECK_EQ(errno, ENOMEM);
        void *m = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        CHECK(m != MAP_FAILED);
        CHECK(mremap(m, 1 << 20, 512 << 20, MREMAP_MAYMOVE) == MAP_FAILED);
        CHECK_EQ(errno, ENOMEM);
        void *m2 = mremap(m, 1 << 20, 2 << 20, MREMAP_MAYMOVE);
        CHECK(m2 != MAP_FAILED);
        CHECK_OK(munmap(m2, 2 << 20));
        CHECK(sbrk(512 << 20) == (void *)-1);
        CHECK_EQ(errno, ENOMEM);
        CHECK(sbrk(4096) != (void *)-1);
        _exit(0);
    }
    wait_exit(p, 0);
    p = CHECK_OK(fork());
    if (p == 0) {
        set_limit(RLIMIT_DATA, 64 << 20);
        CHECK(sbrk(128 << 20) == (void *)-1);
        CHECK_EQ(errno, ENOMEM);
        CHECK(sbrk(1 << 20) != (void *)-1);
        _exit(0);
    }
    wait_exit(p, 0);

    /* RLIMIT_STACK: deep recursion within 8 MiB works, within 512 KiB
     * it does not (the handler runs on an alternate stack). */
    p = CHECK_OK(fork());
    if (p == 0) {
        CHECK(recurse(128) >= 0); /* about 2 MiB */
        _exit(0);
    }
    wait_exit(p, 0);
    p = CHECK_OK(fork());
    if (p == 0) {
        static char alt[65536];
        stack_t ss = {.ss_sp = alt, .ss_size = sizeof alt, .ss_flags = 0};
        CHECK_OK(sigaltstack(&ss, NULL));
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_segv;
        sa.sa_flags = SA_ONSTACK;
        CHECK_OK(sigaction(SIGSEGV, &sa, NULL));
        struct rlimit r = {512 << 10, RLIM_INFINITY};
        CHECK_OK(setrlimit(RLIMIT_STACK, &r));
        (void)recurse(256); /* about 4 MiB */
        _exit(0);
    }
    wait_exit(p, 42);
    return 0;
}
