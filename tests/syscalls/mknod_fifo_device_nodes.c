/* mknod/mknodat: FIFOs (a working pipe), character devices (1:3 behaves as
 * /dev/null, 1:5 as /dev/zero), block devices and sockets (st_rdev kept),
 * regular files (S_IFREG or a zero type), the umask, EEXIST, EPERM for
 * S_IFDIR, EINVAL for other types, ENOENT/ENOTDIR in the path, and EPERM
 * for device nodes without CAP_MKNOD while FIFOs need no privilege. */
#include "check.h"

#include <linux/capability.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>

static struct stat lstat_of(const char *path)
{
    struct stat st;
    CHECK_OK(lstat(path, &st));
    return st;
}

/* Clears CAP_MKNOD from the effective set of the calling process. */
static void drop_cap_mknod(void)
{
    struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
    struct __user_cap_data_struct d[2];
    CHECK_OK(syscall(SYS_capget, &h, d));
    d[CAP_MKNOD / 32].effective &= ~(1u << (CAP_MKNOD % 32));
    CHECK_OK(syscall(SYS_capset, &h, d));
}

int main(void)
{
    alarm(10);
    make_tmpdir();
    umask(022);

    /* A FIFO: type, permissions after the umask, no rdev even if given. */
    CHECK_OK(mknod(tpath("fifo"), S_IFIFO | 0666, makedev(1, 3)));
    struct stat st = lstat_of(tpath("fifo"));
    CHECK_EQ(st.st_mode, S_IFIFO | 0644);
    CHECK_EQ(st.st_rdev, 0);
    CHECK_EQ(st.st_size, 0);
    int f = CHECK_OK(open(tpath("fifo"), O_RDWR));
    CHECK_EQ(write(f, "abc", 3), 3);
    char buf[16];
    CHECK_EQ(read(f, buf, sizeof(buf)), 3);
    CHECK_MEMEQ(buf, "abc", 3);
    CHECK_ERR(lseek(f, 0, SEEK_SET), ESPIPE);
    CHECK_OK(close(f));

    /* Character devices: the numbers decide what the node is. */
    CHECK_OK(mknod(tpath("null"), S_IFCHR | 0666, makedev(1, 3)));
    st = lstat_of(tpath("null"));
    CHECK_EQ(st.st_mode, S_IFCHR | 0644);
    CHECK_EQ(major(st.st_rdev), 1);
    CHECK_EQ(minor(st.st_rdev), 3);
    CHECK_EQ(st.st_size, 0);
    int n = CHECK_OK(open(tpath("null"), O_RDWR));
    CHECK_EQ(write(n, "discarded", 9), 9);
    CHECK_EQ(read(n, buf, sizeof(buf)), 0);
    struct stat fst;
    CHECK_OK(fstat(n, &fst));
    CHECK_EQ(fst.st_rdev, makedev(1, 3));
    CHECK_EQ(fst.st_ino, st.st_ino);
    CHECK_OK(close(n));

    CHECK_OK(mknodat(AT_FDCWD, tpath("zero"), S_IFCHR | 0600, makedev(1, 5)));
    int z = CHECK_OK(open(tpath("zero"), O_RDONLY));
    memset(buf, 'x', sizeof(buf));
    CHECK_EQ(read(z, buf, sizeof(buf)), (ssize_t)sizeof(buf));
    for (unsigned i = 0; i < sizeof(buf); i++)
        CHECK_EQ(buf[i], 0);
    CHECK_OK(close(z));

    /* A block device and a socket node keep their type (not opened:
     * a block device would reach a host disk natively). */
    CHECK_OK(mknod(tpath("blk"), S_IFBLK | 0600, makedev(7, 200)));
    st = lstat_of(tpath("blk"));
    CHECK_EQ(st.st_mode, S_IFBLK | 0600);
    CHECK_EQ(st.st_rdev, makedev(7, 200));
    CHECK_OK(mknod(tpath("sock"), S_IFSOCK | 0600, 0));
    st = lstat_of(tpath("sock"));
    CHECK_EQ(st.st_mode, S_IFSOCK | 0600);
    CHECK_ERR(open(tpath("sock"), O_RDONLY), ENXIO);

    /* Regular files: S_IFREG, or no type at all. */
    CHECK_OK(mknod(tpath("reg"), S_IFREG | 0640, 0));
    st = lstat_of(tpath("reg"));
    CHECK_EQ(st.st_mode, S_IFREG | 0640);
    CHECK_EQ(st.st_size, 0);
    CHECK_EQ(st.st_nlink, 1);
    CHECK_OK(mknod(tpath("reg0"), 0600, 0));
    st = lstat_of(tpath("reg0"));
    CHECK_EQ(st.st_mode, S_IFREG | 0600);
    int r = CHECK_OK(open(tpath("reg0"), O_RDWR));
    CHECK_EQ(write(r, "data", 4), 4);
    CHECK_OK(close(r));

    /* mknodat relative to a directory fd. */
    int dir = CHECK_OK(open(tpath("."), O_RDONLY | O_DIRECTORY));
    CHECK_OK(mknodat(dir, "rel", S_IFIFO | 0600, 0));
    st = lstat_of(tpath("rel"));
    CHECK_EQ(st.st_mode, S_IFIFO | 0600);

    /* Errors. */
    CHECK_ERR(mknod(tpath("fifo"), S_IFIFO | 0600, 0), EEXIST);
    CHECK_ERR(mknod(tpath("reg"), S_IFCHR | 0600, makedev(1, 3)), EEXIST);
    CHECK_ERR(mknodat(dir, "rel", 0600, 0), EEXIST);
    CHECK_ERR(mknod(tpath("dir"), S_IFDIR | 0700, 0), EPERM);
    CHECK_ERR(mknod(tpath("lnk"), S_IFLNK | 0700, 0), EINVAL);
    CHECK_ERR(mknod(tpath("bad"), 0110000 | 0600, 0), EINVAL);
    CHECK_ERR(mknod(tpath("bad"), S_IFMT | 0600, 0), EINVAL);
    CHECK_ERR(mknod(tpath("missing/x"), S_IFIFO | 0600, 0), ENOENT);
    CHECK_ERR(mknod(tpath("reg/x"), S_IFIFO | 0600, 0), ENOTDIR);
    CHECK_ERR(mknod("", S_IFIFO | 0600, 0), ENOENT);
    CHECK_ERR(mknodat(999, "x", S_IFIFO | 0600, 0), EBADF);
    int rf = CHECK_OK(open(tpath("reg"), O_RDONLY));
    CHECK_ERR(mknodat(rf, "x", S_IFIFO | 0600, 0), ENOTDIR);
    struct stat gone;
    CHECK_ERR(lstat(tpath("dir"), &gone), ENOENT);
    CHECK_ERR(lstat(tpath("bad"), &gone), ENOENT);

    /* Without CAP_MKNOD only devices are refused. */
    pid_t pid = CHECK_OK(fork());
    if (pid == 0) {
        drop_cap_mknod();
        CHECK_ERR(mknod(tpath("nocap-chr"), S_IFCHR | 0600, makedev(1, 3)), EPERM);
        CHECK_ERR(mknod(tpath("nocap-blk"), S_IFBLK | 0600, makedev(7, 200)), EPERM);
        CHECK_OK(mknod(tpath("nocap-fifo"), S_IFIFO | 0600, 0));
        CHECK_OK(mknod(tpath("nocap-reg"), S_IFREG | 0600, 0));
        CHECK_OK(mknod(tpath("nocap-sock"), S_IFSOCK | 0600, 0));
        _exit(0);
    }
    CHECK_EXITED(wait_status(pid), 0);
    CHECK_ERR(lstat(tpath("nocap-chr"), &gone), ENOENT);
    st = lstat_of(tpath("nocap-fifo"));
    CHECK_EQ(st.st_mode, S_IFIFO | 0600);
    return 0;
}
