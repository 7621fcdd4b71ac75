/* statfs/fstatfs: agreement between path and fd forms, procfs magic,
 * name length, sane counts, error paths. */
#include "check.h"
#include <sys/statfs.h>
#include <sys/syscall.h>

#define PROC_SUPER_MAGIC 0x9fa0

int main(void)
{
    alarm(10);
    make_tmpdir();
    struct statfs a, b;
    write_file(tpath("f"), "x", 1, 0644);

    CHECK_OK(statfs(tpath("f"), &a));
    int fd = CHECK_OK(open(tpath("f"), O_RDONLY));
    CHECK_OK(fstatfs(fd, &b));
    CHECK_EQ(a.f_type, b.f_type);
    CHECK_EQ(a.f_bsize, b.f_bsize);
    CHECK_EQ(a.f_namelen, b.f_namelen);
    CHECK_EQ(a.f_fsid.__val[0], b.f_fsid.__val[0]);
    CHECK_EQ(a.f_fsid.__val[1], b.f_fsid.__val[1]);
    CHECK_EQ(a.f_namelen, 255);
    CHECK(a.f_bsize > 0);
    CHECK(a.f_blocks >= a.f_bfree);
    CHECK(a.f_bfree >= a.f_bavail);
    /* Same filesystem as its directory. */
    CHECK_OK(statfs(rvt_tmpdir, &b));
    CHECK_EQ(a.f_type, b.f_type);

    CHECK_OK(statfs("/proc/self", &a));
    CHECK_EQ(a.f_type, PROC_SUPER_MAGIC);
    int pfd = CHECK_OK(open("/proc/self/stat", O_RDONLY));
    CHECK_OK(fstatfs(pfd, &b));
    CHECK_EQ(b.f_type, PROC_SUPER_MAGIC);

    CHECK_ERR(statfs(tpath("missing"), &a), ENOENT);
    CHECK_ERR(statfs(tpath("f/x"), &a), ENOTDIR);
    CHECK_ERR(fstatfs(999, &a), EBADF);
    CHECK_ERR(syscall(SYS_statfs, tpath("f"), (void *)8), EFAULT);
    return 0;
}
