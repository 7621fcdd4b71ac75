/* Synchronous signals from real faults carry Linux's siginfo: integer
 * division by zero is SIGFPE/FPE_INTDIV at the idiv; ud2 is
 * SIGILL/ILL_ILLOPN at the ud2; int3 is SIGTRAP with si_code SI_KERNEL
 * and the saved rip just past it; touching a MAP_SHARED file mapping
 * past the end of the file is SIGBUS/BUS_ADRERR at that address; an
 * unmapped address is SIGSEGV/SEGV_MAPERR, a write to a read-only page
 * SIGSEGV/SEGV_ACCERR. The handler's ucontext rip is the faulting
 * instruction. A fault in a thread is handled by that thread. A fault
 * whose signal is blocked or ignored kills the process with that signal
 * anyway. */
#include "check.h"

#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <ucontext.h>

/* The faulting instructions, at known addresses. */
__asm__(".text\n"
        ".globl do_div0\n"
        "do_div0:\n"
        "  xor %ecx, %ecx\n"
        "  mov $1, %eax\n"
        "  cltd\n"
        ".globl div0_insn\n"
        "div0_insn:\n"
        "  idiv %ecx\n"
        "  ret\n"
        ".globl do_ud2\n"
        "do_ud2:\n"
        ".globl ud2_insn\n"
        "ud2_insn:\n"
        "  ud2\n"
        "  ret\n"
        ".globl do_int3\n"
        "do_int3:\n"
        ".globl int3_insn\n"
        "int3_insn:\n"
        "  int3\n"
        "  ret\n"
        ".globl load_byte\n"
        "load_byte:\n"
        ".globl load_insn\n"
        "load_insn:\n"
        "  movb (%rdi), %al\n"
        "  ret\n"
        ".globl store_byte\n"
        "store_byte:\n"
        ".globl store_insn\n"
        "store_insn:\n"
        "  movb $1, (%rdi)\n"
        "  ret\n");

void do_div0(void);
void do_ud2(void);
void do_int3(void);
void load_byte(volatile char *p);
void store_byte(volatile char *p);
extern char div0_insn[], ud2_insn[], int3_insn[], load_insn[], store_insn[];

static sigjmp_buf env;
static volatile int got_sig, got_code;
static void *volatile got_addr;
static volatile unsigned long got_rip;
static volatile int resume_after_trap;
static volatile pthread_t handled_by;

static void handler(int sig, siginfo_t *si, void *ucv)
{
    ucontext_t *uc = ucv;
    got_sig = sig;
    got_code = si->si_code;
    got_addr = si->si_addr;
    got_rip = (unsigned long)uc->uc_mcontext.gregs[REG_RIP];
    handled_by = pthread_self();
    /* int3 is a trap: returning resumes after it. */
    if (resume_after_trap)
        return;
    siglongjmp(env, 1);
}

static void expect(void (*fn)(void), int sig, int code, void *addr, unsigned long rip)
{
    got_sig = got_code = 0;
    got_addr = (void *)1;
    got_rip = 0;
    if (sigsetjmp(env, 1) == 0) {
        fn();
        if (!resume_after_trap)
            FAILF("no signal %d", sig);
    }
    CHECK_EQ(got_sig, sig);
    CHECK_EQ(got_code, code);
    CHECK_EQ(got_addr, addr);
    CHECK_EQ(got_rip, rip);
}

static volatile char *fault_at;

static void touch(void)
{
    load_byte(fault_at);
}

static void poke(void)
{
    store_byte(fault_at);
}

static void *fault_in_thread(void *arg)
{
    (void)arg;
    expect(do_ud2, SIGILL, ILL_ILLOPN, ud2_insn, (unsigned long)ud2_insn);
    CHECK(pthread_equal(handled_by, pthread_self()));
    return NULL;
}

/* In a child: the signal is blocked (or ignored) when the fault comes. */
static void dies_of(void (*fn)(void), int sig, int ignore)
{
    pid_t p = CHECK_OK(fork());
    if (p == 0) {
        if (ignore) {
            signal(sig, SIG_IGN);
        } else {
            sigset_t s;
            sigemptyset(&s);
            sigaddset(&s, sig);
            sigprocmask(SIG_BLOCK, &s, NULL);
        }
        fn();
        _exit(0);
    }
    int st = wait_status(p);
    CHECK(WIFSIGNALED(st));
    CHECK_EQ(WTERMSIG(st), sig);
}

int main(void)
{
    alarm(20);
    struct sigaction sa = {.sa_sigaction = handler, .sa_flags = SA_SIGINFO};
    sigemptyset(&sa.sa_mask);
    int fault_sigs[] = {SIGFPE, SIGILL, SIGTRAP, SIGBUS, SIGSEGV};
    for (unsigned i = 0; i < sizeof fault_sigs / sizeof fault_sigs[0]; i++)
        CHECK_OK(sigaction(fault_sigs[i], &sa, NULL));

    expect(do_div0, SIGFPE, FPE_INTDIV, div0_insn, (unsigned long)div0_insn);
    expect(do_ud2, SIGILL, ILL_ILLOPN, ud2_insn, (unsigned long)ud2_insn);
    resume_after_trap = 1;
    expect(do_int3, SIGTRAP, SI_KERNEL, NULL, (unsigned long)int3_insn + 1);
    resume_after_trap = 0;

    /* SIGBUS: the second page of a mapping of a one-page file. */
    make_tmpdir();
    char page[4096];
    memset(page, 'x', sizeof page);
    write_file(tpath("f"), page, sizeof page, 0600);
    int fd = CHECK_OK(open(tpath("f"), O_RDWR));
    char *m = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(m != MAP_FAILED);
    CHECK_EQ(m[4095], 'x');
    fault_at = m + 4096 + 100;
    expect(touch, SIGBUS, BUS_ADRERR, m + 4096 + 100, (unsigned long)load_insn);
    CHECK_OK(munmap(m, 2 * 4096));
    close(fd);

    /* SIGSEGV: unmapped, then read-only. */
    char *r = mmap(NULL, 2 * 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(r != MAP_FAILED);
    CHECK_OK(munmap(r + 4096, 4096));
    fault_at = r + 4096 + 8;
    expect(touch, SIGSEGV, SEGV_MAPERR, r + 4096 + 8, (unsigned long)load_insn);
    fault_at = r + 16;
    expect(poke, SIGSEGV, SEGV_ACCERR, r + 16, (unsigned long)store_insn);

    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, fault_in_thread, NULL), 0);
    CHECK_EQ(pthread_join(t, NULL), 0);

    /* Blocked or ignored, a fault's signal still kills. */
    dies_of(do_div0, SIGFPE, 0);
    dies_of(do_ud2, SIGILL, 1);
    dies_of(do_int3, SIGTRAP, 0);
    fault_at = r + 4096 + 8;
    dies_of(touch, SIGSEGV, 1);
    return 0;
}
