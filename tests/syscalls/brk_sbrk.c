/* brk/sbrk: the current break, growing and shrinking, new memory is zero,
 * memory given back and re-grown is zeroed again, failures leave the
 * break unchanged. */
#include "check.h"
#include <sys/syscall.h>

int main(void)
{
    alarm(10);
    const long pg = 4096;
    char *cur = (char *)syscall(SYS_brk, 0);
    CHECK(cur != NULL);
    CHECK_EQ(sbrk(0), cur);

    /* Grow by 4 pages (plus a bit). */
    char *want = cur + 4 * pg + 100;
    CHECK_EQ(syscall(SYS_brk, want), want);
    CHECK_EQ(syscall(SYS_brk, 0), want);
    for (long i = 0; i < 4 * pg + 100; i++)
        if (cur[i] != 0)
            FAILF("brk memory not zero at %ld", i);
    memset(cur, 0x5a, 4 * pg + 100);

    /* Shrink, then grow again: the freed pages come back zeroed. */
    char *pagecur = (char *)(((uintptr_t)cur + pg - 1) & ~(uintptr_t)(pg - 1));
    CHECK_EQ(syscall(SYS_brk, pagecur), pagecur);
    CHECK_EQ(syscall(SYS_brk, want), want);
    CHECK_EQ(pagecur[0], 0);
    CHECK_EQ(pagecur[pg], 0);
    if (pagecur > cur)
        CHECK_EQ(*(unsigned char *)cur, 0x5a);

    /* An impossible break is refused: the old break is returned. */
    CHECK_EQ(syscall(SYS_brk, (void *)0x7ffffffff000UL), want);
    CHECK_EQ(syscall(SYS_brk, 0), want);
    /* Below the start of the heap is refused as well. */
    CHECK_EQ(syscall(SYS_brk, (void *)0x1000), want);

    /* Restore and use the libc wrappers. */
    CHECK_EQ(syscall(SYS_brk, cur), cur);
    CHECK_OK(brk(cur));
    void *old = sbrk(pg);
    CHECK_EQ(old, cur);
    CHECK_EQ(sbrk(0), cur + pg);
    CHECK_EQ(syscall(SYS_brk, 0), cur + pg);
    CHECK_EQ(sbrk(-pg), cur + pg);
    CHECK_EQ(sbrk(0), cur);
    CHECK_ERR(brk((void *)0x7ffffffff000UL), ENOMEM);

    /* A forked child has its own break. */
    pid_t pid = CHECK_OK(fork());
    if (pid == 0) {
        sbrk(8 * pg);
        _exit(0);
    }
    CHECK_EXITED(wait_status(pid), 0);
    CHECK_EQ(syscall(SYS_brk, 0), cur);
    return 0;
}
