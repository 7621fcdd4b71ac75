/* munmap (partial), mremap (grow in place, move, shrink, MREMAP_FIXED),
 * madvise (MADV_DONTNEED zeroes private anonymous pages), mincore, and
 * their argument validation. */
#include "check.h"
#include <sys/mman.h>

static int mapped(void *addr)
{
    unsigned char v;
    return mincore(addr, 4096, &v) == 0;
}

int main(void)
{
    alarm(10);
    const long pg = 4096;
    /* Reserve 6 pages so fixed mappings below never touch anything else;
     * use the first 4 and leave pages 4..5 as an unmapped gap. */
    char *m = (char *)CHECK_OK(
        mmap(NULL, 6 * pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    CHECK_OK(munmap(m + 4 * pg, 2 * pg));
    CHECK_EQ(mmap(m, 4 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
                  -1, 0), m);
    for (int i = 0; i < 4; i++)
        m[i * pg] = (char)('a' + i);

    /* Partial munmap splits the mapping. */
    CHECK_OK(munmap(m + pg, pg));
    CHECK(mapped(m));
    CHECK(!mapped(m + pg));
    CHECK_EQ(errno, ENOMEM);
    CHECK(mapped(m + 2 * pg));
    CHECK_EQ(m[2 * pg], 'c');
    /* Unmapping something already unmapped is fine. */
    CHECK_OK(munmap(m + pg, pg));
    CHECK_ERR(munmap(m + 1, pg), EINVAL);
    CHECK_ERR(munmap(m, 0), EINVAL);

    /* mremap shrink. */
    char *r = (char *)CHECK_OK(mremap(m + 2 * pg, 2 * pg, pg, 0));
    CHECK_EQ(r, m + 2 * pg);
    CHECK(!mapped(m + 3 * pg));
    /* Grow in place into the free page that follows. */
    r = (char *)CHECK_OK(mremap(m + 2 * pg, pg, 2 * pg, 0));
    CHECK_EQ(r, m + 2 * pg);
    CHECK_EQ(r[0], 'c');
    CHECK_EQ(r[pg], 0);
    /* Growing when blocked fails without MAYMOVE... */
    char *blocker = (char *)CHECK_OK(mmap(m + 4 * pg, pg, PROT_READ,
                                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
    CHECK_ERR(mremap(m + 2 * pg, 2 * pg, 3 * pg, 0), ENOMEM);
    /* ...and moves with it, keeping contents, unmapping the old range. */
    char *moved = (char *)CHECK_OK(mremap(m + 2 * pg, 2 * pg, 64 * pg, MREMAP_MAYMOVE));
    CHECK_NE(moved, m + 2 * pg);
    CHECK_EQ(moved[0], 'c');
    CHECK_EQ(moved[63 * pg], 0);
    CHECK(!mapped(m + 2 * pg));
    CHECK(mapped(blocker));
    /* Remapping an unmapped range is EFAULT. */
    CHECK_ERR(mremap(m + 2 * pg, pg, 2 * pg, MREMAP_MAYMOVE), EFAULT);

    /* MREMAP_FIXED to a chosen address. */
    char *target = (char *)CHECK_OK(
        mmap(NULL, 2 * pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    r = (char *)CHECK_OK(mremap(moved, pg, pg, MREMAP_MAYMOVE | MREMAP_FIXED, target));
    CHECK_EQ(r, target);
    CHECK_EQ(target[0], 'c');
    CHECK_ERR(mremap(target, pg, pg, MREMAP_FIXED, target + pg), EINVAL);
    CHECK_ERR(mremap(target + 1, pg, pg, 0), EINVAL);
    CHECK_ERR(mremap(target, pg, pg, 0x80), EINVAL);

    /* MADV_DONTNEED on private anonymous memory: pages read back as zero. */
    char *d = (char *)CHECK_OK(
        mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    memset(d, 'z', 2 * pg);
    CHECK_OK(madvise(d, pg, MADV_DONTNEED));
    CHECK_EQ(d[0], 0);
    CHECK_EQ(d[pg - 1], 0);
    CHECK_EQ(d[pg], 'z');
    /* On shared anonymous memory the data stays. */
    char *s = (char *)CHECK_OK(
        mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
    s[0] = 's';
    CHECK_OK(madvise(s, pg, MADV_DONTNEED));
    CHECK_EQ(s[0], 's');
    CHECK_OK(madvise(d, 2 * pg, MADV_NORMAL));
    CHECK_OK(madvise(d, 2 * pg, MADV_WILLNEED));
    CHECK_ERR(madvise(d + 1, pg, MADV_NORMAL), EINVAL);
    CHECK_ERR(madvise(d, pg, 12345), EINVAL);
    CHECK_OK(munmap(d + pg, pg));
    CHECK_ERR(madvise(d, 2 * pg, MADV_WILLNEED), ENOMEM);

    /* mincore reports touched pages as resident. */
    unsigned char vec[2] = {0xff, 0xff};
    d[0] = 1;
    CHECK_OK(mincore(d, pg, vec));
    CHECK_EQ(vec[0] & 1, 1);
    CHECK_ERR(mincore(d + 1, pg, vec), EINVAL);
    CHECK_ERR(msync(d + pg, pg, MS_SYNC), ENOMEM);
    CHECK_ERR(msync(d, pg, MS_SYNC | MS_ASYNC), EINVAL);
    return 0;
}
