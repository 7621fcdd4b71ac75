/* mprotect and SIGSEGV: writes to read-only pages give SEGV_ACCERR at the
 * exact address, reads of PROT_NONE too, unmapped addresses give
 * SEGV_MAPERR; protections can be restored; argument validation. */
#include "check.h"
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>

static sigjmp_buf jb;
static volatile void *fault_addr;
static volatile int fault_code, fault_signo, faults;

static void on_segv(int sig, siginfo_t *si, void *ctx)
{
    (void)ctx;
    fault_signo = sig;
    fault_addr = si->si_addr;
    fault_code = si->si_code;
    faults++;
    siglongjmp(jb, 1);
}

#define EXPECT_FAULT(expr, addr, code)                                    \
    do {                                                                  \
        fault_addr = NULL;                                                \
        fault_code = 0;                                                   \
        if (sigsetjmp(jb, 1) == 0) {                                      \
            expr;                                                         \
            FAILF("no SIGSEGV for %s", #expr);                            \
        }                                                                 \
        CHECK_EQ(fault_signo, SIGSEGV);                                   \
        CHECK_EQ(fault_addr, (addr));                                     \
        CHECK_EQ(fault_code, (code));                                     \
    } while (0)

int main(void)
{
    alarm(10);
    const long pg = 4096;
    struct sigaction sa = {0};
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO;
    CHECK_OK(sigaction(SIGSEGV, &sa, NULL));

    volatile char *m = (volatile char *)CHECK_OK(
        mmap(NULL, 3 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    m[0] = 1;
    m[pg] = 2;
    m[2 * pg] = 3;

    CHECK_OK(mprotect((void *)(m + pg), pg, PROT_READ));
    CHECK_EQ(m[pg], 2);
    EXPECT_FAULT(m[pg + 123] = 9, m + pg + 123, SEGV_ACCERR);
    CHECK_EQ(m[pg + 123], 0);
    /* Neighbouring pages are unaffected. */
    m[0] = 4;
    m[2 * pg] = 5;

    CHECK_OK(mprotect((void *)(m + pg), pg, PROT_NONE));
    EXPECT_FAULT((void)m[pg + 7], m + pg + 7, SEGV_ACCERR);
    CHECK_OK(mprotect((void *)(m + pg), pg, PROT_READ | PROT_WRITE));
    m[pg + 123] = 9;
    CHECK_EQ(m[pg + 123], 9);
    CHECK_EQ(m[pg], 2);

    /* The signal mask is restored by siglongjmp, so repeated faults work. */
    CHECK_OK(munmap((void *)(m + 2 * pg), pg));
    EXPECT_FAULT((void)m[2 * pg + 5], m + 2 * pg + 5, SEGV_MAPERR);
    EXPECT_FAULT(m[2 * pg] = 1, m + 2 * pg, SEGV_MAPERR);
    EXPECT_FAULT((void)*(volatile char *)16, (void *)16, SEGV_MAPERR);
    CHECK_EQ(faults, 5);

    /* Validation. */
    CHECK_ERR(mprotect((void *)(m + 1), pg, PROT_READ), EINVAL);
    CHECK_ERR(mprotect((void *)m, pg, 0x100), EINVAL);
    CHECK_ERR(mprotect((void *)(m + 2 * pg), pg, PROT_READ), ENOMEM);
    CHECK_OK(mprotect((void *)m, 0, PROT_READ));

    /* Default action: death by SIGSEGV. */
    pid_t pid = CHECK_OK(fork());
    if (pid == 0) {
        signal(SIGSEGV, SIG_DFL);
        mprotect((void *)m, pg, PROT_READ);
        m[0] = 1;
        _exit(0);
    }
    int st = wait_status(pid);
    CHECK(WIFSIGNALED(st));
    CHECK_EQ(WTERMSIG(st), SIGSEGV);
    return 0;
}
