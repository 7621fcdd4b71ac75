/* Anonymous mmap: zero fill, page alignment, rounding of lengths,
 * MAP_SHARED visible across fork in both directions, MAP_PRIVATE
 * copy-on-write across fork, argument validation. */
#include "check.h"
#include <sys/mman.h>

int main(void)
{
    alarm(10);
    long pg = sysconf(_SC_PAGESIZE);
    CHECK_EQ(pg, 4096);

    unsigned char *a = (unsigned char *)CHECK_OK(
        mmap(NULL, 3 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    CHECK_EQ((uintptr_t)a % pg, 0);
    for (long i = 0; i < 3 * pg; i++)
        if (a[i] != 0)
            FAILF("byte %ld not zero", i);
    memset(a, 0xab, 3 * pg);
    CHECK_EQ(a[3 * pg - 1], 0xab);

    /* Length is rounded up to whole pages. */
    unsigned char *odd = (unsigned char *)CHECK_OK(
        mmap(NULL, 10, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    odd[pg - 1] = 1;
    CHECK_OK(munmap(odd, 10));

    /* Shared anonymous memory: both directions visible across fork. */
    volatile int *sh = (volatile int *)CHECK_OK(
        mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
    /* Private memory: copy-on-write after fork. */
    volatile int *pv = (volatile int *)CHECK_OK(
        mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    sh[0] = 1;
    pv[0] = 1;
    int to_child[2], to_parent[2];
    CHECK_OK(pipe(to_child));
    CHECK_OK(pipe(to_parent));
    pid_t pid = CHECK_OK(fork());
    if (pid == 0) {
        char c;
        CHECK_EQ(sh[0], 1);
        CHECK_EQ(pv[0], 1);
        sh[0] = 2;
        pv[0] = 2;
        write(to_parent[1], "1", 1);
        CHECK_EQ(read(to_child[0], &c, 1), 1);
        /* Parent wrote 3 into both after our write. */
        CHECK_EQ(sh[0], 3);
        CHECK_EQ(pv[0], 2);
        CHECK_EQ(sh[1], 0);
        _exit(0);
    }
    char c;
    CHECK_EQ(read(to_parent[0], &c, 1), 1);
    CHECK_EQ(sh[0], 2);
    CHECK_EQ(pv[0], 1);
    sh[0] = 3;
    pv[0] = 3;
    CHECK_EQ(write(to_child[1], "2", 1), 1);
    CHECK_EXITED(wait_status(pid), 0);
    CHECK_EQ(sh[0], 3);
    CHECK_EQ(pv[0], 3);

    /* A private page never written by the parent is still COW after fork. */
    volatile char *fresh = (volatile char *)CHECK_OK(
        mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    pid = CHECK_OK(fork());
    if (pid == 0) {
        fresh[0] = 9;
        _exit(fresh[0] == 9 ? 0 : 1);
    }
    CHECK_EXITED(wait_status(pid), 0);
    CHECK_EQ(fresh[0], 0);

    /* Argument validation. */
    CHECK_ERR(mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), EINVAL);
    CHECK_ERR(mmap(NULL, pg, PROT_READ, MAP_ANONYMOUS, -1, 0), EINVAL);
    CHECK_ERR(mmap(NULL, pg, PROT_READ, MAP_PRIVATE | MAP_SHARED | MAP_ANONYMOUS, -1, 0),
              EINVAL);
    CHECK_ERR(mmap(NULL, pg, PROT_READ, MAP_PRIVATE, -1, 0), EBADF);
    CHECK_ERR(mmap(NULL, pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 123), EINVAL);
    CHECK_ERR(mmap(NULL, (size_t)-4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), ENOMEM);
    CHECK_OK(munmap(a, 3 * pg));
    return 0;
}
