/* Extended attributes on a tmpfs-like filesystem: user.* on files and
 * directories, XATTR_CREATE/REPLACE, size queries, ERANGE/E2BIG limits,
 * namespace rules (EPERM/ENODATA on symlinks and FIFOs, EOPNOTSUPP for an
 * unknown prefix), trusted.* and security.* writes for CAP_SYS_ADMIN only,
 * and procfs having none. */
#include "check.h"

#include <linux/capability.h>
#include <sys/syscall.h>
#include <sys/xattr.h>

static int has_name(const char *list, ssize_t len, const char *name)
{
    for (ssize_t i = 0; i < len; i += strlen(list + i) + 1)
        if (strcmp(list + i, name) == 0)
            return 1;
    return 0;
}

int main(void)
{
    alarm(10);
    make_tmpdir();
    const char *f = tpath("file");
    write_file(f, "data", 4, 0644);
    char buf[256];

    /* Fresh file: nothing set. */
    CHECK_ERR(getxattr(f, "user.a", buf, sizeof(buf)), ENODATA);
    CHECK_ERR(removexattr(f, "user.a"), ENODATA);

    CHECK_OK(setxattr(f, "user.a", "hello", 5, 0));
    CHECK_EQ(getxattr(f, "user.a", NULL, 0), 5);
    CHECK_EQ(getxattr(f, "user.a", buf, sizeof(buf)), 5);
    CHECK_MEMEQ(buf, "hello", 5);
    CHECK_ERR(getxattr(f, "user.a", buf, 4), ERANGE);

    /* XATTR_CREATE / XATTR_REPLACE. */
    CHECK_ERR(setxattr(f, "user.a", "x", 1, XATTR_CREATE), EEXIST);
    CHECK_ERR(setxattr(f, "user.b", "x", 1, XATTR_REPLACE), ENODATA);
    CHECK_OK(setxattr(f, "user.a", "hi", 2, XATTR_REPLACE));
    CHECK_EQ(getxattr(f, "user.a", buf, sizeof(buf)), 2);
    CHECK_MEMEQ(buf, "hi", 2);
    CHECK_OK(setxattr(f, "user.b", "", 0, XATTR_CREATE));
    CHECK_EQ(getxattr(f, "user.b", buf, sizeof(buf)), 0);
    CHECK_ERR(setxattr(f, "user.a", "x", 1, 4), EINVAL);

    /* listxattr: size query, ERANGE, contents. */
    ssize_t need = listxattr(f, NULL, 0);
    CHECK(need >= (ssize_t)sizeof("user.a") + (ssize_t)sizeof("user.b"));
    CHECK_ERR(listxattr(f, buf, 3), ERANGE);
    ssize_t got = CHECK_OK(listxattr(f, buf, sizeof(buf)));
    CHECK_EQ(got, need);
    CHECK(has_name(buf, got, "user.a"));
    CHECK(has_name(buf, got, "user.b"));

    /* Name and value limits. */
    char longname[300];
    memset(longname, 'n', sizeof(longname));
    memcpy(longname, "user.", 5);
    longname[256] = 0;
    CHECK_ERR(setxattr(f, longname, "x", 1, 0), ERANGE);
    CHECK_ERR(getxattr(f, longname, buf, sizeof(buf)), ERANGE);
    longname[255] = 0;
    CHECK_OK(setxattr(f, longname, "x", 1, 0));
    CHECK_OK(removexattr(f, longname));
    CHECK_ERR(setxattr(f, "", "x", 1, 0), ERANGE);
    CHECK_ERR(setxattr(f, "user.", "x", 1, 0), EINVAL);
    CHECK_ERR(setxattr(f, "bogus.a", "x", 1, 0), EOPNOTSUPP);
    CHECK_ERR(getxattr(f, "bogus.a", buf, sizeof(buf)), EOPNOTSUPP);
    static char big[65537];
    CHECK_ERR(setxattr(f, "user.big", big, sizeof(big), 0), E2BIG);
    /* (ext4, which the native /tmp may be, caps values at a block.) */
    CHECK_OK(setxattr(f, "user.big", big, 3000, 0));
    CHECK_EQ(getxattr(f, "user.big", NULL, 0), 3000);
    CHECK_OK(removexattr(f, "user.big"));

    /* The f* variants see the same attributes. */
    int fd = CHECK_OK(open(f, O_RDONLY));
    CHECK_EQ(fgetxattr(fd, "user.a", buf, sizeof(buf)), 2);
    CHECK_OK(fsetxattr(fd, "user.c", "3", 1, 0));
    CHECK_EQ(getxattr(f, "user.c", buf, sizeof(buf)), 1);
    got = CHECK_OK(flistxattr(fd, buf, sizeof(buf)));
    CHECK(has_name(buf, got, "user.c"));
    CHECK_OK(fremovexattr(fd, "user.c"));
    CHECK_ERR(fgetxattr(fd, "user.c", buf, sizeof(buf)), ENODATA);
    close(fd);
    int pfd = CHECK_OK(open(f, O_PATH));
    CHECK_ERR(fgetxattr(pfd, "user.a", buf, sizeof(buf)), EBADF);
    close(pfd);
    CHECK_ERR(fgetxattr(-1, "user.a", buf, sizeof(buf)), EBADF);

    /* Removal. */
    CHECK_OK(removexattr(f, "user.a"));
    CHECK_ERR(getxattr(f, "user.a", buf, sizeof(buf)), ENODATA);
    CHECK_ERR(removexattr(f, "user.a"), ENODATA);

    /* Directories take user.*; symlinks and FIFOs do not. */
    const char *d = tpath("dir");
    CHECK_OK(mkdir(d, 0755));
    CHECK_OK(setxattr(d, "user.d", "dd", 2, 0));
    CHECK_EQ(getxattr(d, "user.d", buf, sizeof(buf)), 2);
    const char *l = tpath("link");
    CHECK_OK(symlink("file", l));
    CHECK_ERR(lsetxattr(l, "user.l", "x", 1, 0), EPERM);
    CHECK_ERR(lgetxattr(l, "user.l", buf, sizeof(buf)), ENODATA);
    CHECK_OK(setxattr(l, "user.viafollow", "x", 1, 0)); /* lands on the file */
    CHECK_EQ(getxattr(f, "user.viafollow", buf, sizeof(buf)), 1);
    const char *p = tpath("fifo");
    CHECK_OK(mkfifo(p, 0644));
    CHECK_ERR(setxattr(p, "user.p", "x", 1, 0), EPERM);
    CHECK_ERR(getxattr(p, "user.p", buf, sizeof(buf)), ENODATA);
    CHECK_ERR(getxattr(tpath("missing"), "user.a", buf, sizeof(buf)), ENOENT);

    /* trusted.*: root only, and hidden from others' listxattr. */
    if (geteuid() == 0) {
        CHECK_OK(setxattr(f, "trusted.t", "tt", 2, 0));
        CHECK_EQ(getxattr(f, "trusted.t", buf, sizeof(buf)), 2);
        CHECK_OK(lsetxattr(l, "trusted.t", "x", 1, 0));
        CHECK_EQ(lgetxattr(l, "trusted.t", buf, sizeof(buf)), 1);
        got = CHECK_OK(listxattr(f, buf, sizeof(buf)));
        CHECK(has_name(buf, got, "trusted.t"));
        CHECK_OK(chmod(f, 0644));
        pid_t pid = CHECK_OK(fork());
        if (pid == 0) {
            CHECK_OK(setresuid(65534, 65534, 65534));
            CHECK_ERR(getxattr(f, "trusted.t", buf, sizeof(buf)), ENODATA);
            CHECK_ERR(setxattr(f, "trusted.u", "x", 1, 0), EPERM);
            CHECK_ERR(setxattr(f, "security.u", "x", 1, 0), EPERM);
            got = CHECK_OK(listxattr(f, buf, sizeof(buf)));
            CHECK(!has_name(buf, got, "trusted.t"));
            CHECK(has_name(buf, got, "user.viafollow"));
            /* user.* needs write permission to set, read to get. */
            CHECK_ERR(setxattr(f, "user.x", "x", 1, 0), EACCES);
            CHECK_EQ(getxattr(f, "user.viafollow", buf, sizeof(buf)), 1);
            _exit(0);
        }
        int status;
        CHECK_EQ(waitpid(pid, &status, 0), pid);
        CHECK_EXITED(status, 0);
        /* It is CAP_SYS_ADMIN that counts, not root or DAC override. */
        pid = CHECK_OK(fork());
        if (pid == 0) {
            struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
            struct __user_cap_data_struct d[2] = {{0}};
            d[0].effective = d[0].permitted = 1u << CAP_DAC_OVERRIDE;
            CHECK_OK(syscall(SYS_capset, &h, d));
            CHECK_ERR(getxattr(f, "trusted.t", buf, sizeof(buf)), ENODATA);
            CHECK_ERR(setxattr(f, "trusted.u", "x", 1, 0), EPERM);
            CHECK_ERR(setxattr(f, "security.u", "x", 1, 0), EPERM);
            got = CHECK_OK(listxattr(f, buf, sizeof(buf)));
            CHECK(!has_name(buf, got, "trusted.t"));
            _exit(0);
        }
        CHECK_EQ(waitpid(pid, &status, 0), pid);
        CHECK_EXITED(status, 0);
        CHECK_OK(removexattr(f, "trusted.t"));
    }

    /* procfs has no extended attributes; device nodes take no user.*. */
    CHECK_ERR(getxattr("/proc/self/status", "user.a", buf, sizeof(buf)), EOPNOTSUPP);
    CHECK_ERR(setxattr("/proc/self/status", "user.a", "x", 1, 0), EOPNOTSUPP);
    CHECK_EQ(listxattr("/proc/self/status", buf, sizeof(buf)), 0);
    CHECK_ERR(getxattr("/dev/null", "user.a", buf, sizeof(buf)), ENODATA);
    CHECK_ERR(setxattr("/dev/null", "user.a", "x", 1, 0), EPERM);
    return 0;
}
