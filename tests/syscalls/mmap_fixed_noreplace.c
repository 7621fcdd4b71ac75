/* MAP_FIXED and MAP_FIXED_NOREPLACE: exact placement in a hole, EEXIST
 * on overlap, MAP_FIXED replacing existing pages, alignment rules, and a
 * non-fixed hint that is honoured when free. */
#include "check.h"
#include <sys/mman.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

int main(void)
{
    alarm(10);
    const long pg = 4096;
    /* Reserve 8 pages, then punch a hole of two in the middle. */
    char *base = (char *)CHECK_OK(
        mmap(NULL, 8 * pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    CHECK_OK(munmap(base + 3 * pg, 2 * pg));

    char *hole = base + 3 * pg;
    char *got = (char *)CHECK_OK(mmap(hole, 2 * pg, PROT_READ | PROT_WRITE,
                                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0));
    CHECK_EQ(got, hole);
    got[0] = 'x';
    got[2 * pg - 1] = 'y';

    /* Overlapping an existing mapping at either end or entirely. */
    CHECK_ERR(mmap(base + 2 * pg, 2 * pg, PROT_READ,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0), EEXIST);
    CHECK_ERR(mmap(base + 4 * pg, pg, PROT_READ,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0), EEXIST);
    CHECK_ERR(mmap(base, 8 * pg, PROT_READ,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0), EEXIST);
    CHECK_EQ(got[0], 'x');

    /* MAP_FIXED silently replaces: contents are fresh zero pages. */
    char *r = (char *)CHECK_OK(mmap(hole, pg, PROT_READ | PROT_WRITE,
                                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
    CHECK_EQ(r, hole);
    CHECK_EQ(r[0], 0);
    CHECK_EQ(got[2 * pg - 1], 'y');

    /* Unaligned fixed addresses are EINVAL. */
    CHECK_ERR(mmap(hole + 1, pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0),
              EINVAL);
    CHECK_ERR(mmap(hole + 1, pg, PROT_READ,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0), EINVAL);

    /* A free hint address is used as is; an unaligned hint is rounded down
     * only when fixed... a plain hint that is busy goes elsewhere. */
    CHECK_OK(munmap(base, 8 * pg));
    char *h = (char *)CHECK_OK(
        mmap(base + pg, pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    CHECK_EQ(h, base + pg);
    char *h2 = (char *)CHECK_OK(
        mmap(base + pg, pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    CHECK_NE(h2, base + pg);
    CHECK_OK(munmap(h, pg));
    CHECK_OK(munmap(h2, pg));

    /* Addresses beyond the user address space. */
    CHECK_ERR(mmap((void *)0xffff800000000000UL, pg, PROT_READ,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0), ENOMEM);
    return 0;
}
