/* Extended attributes on the root filesystem (the host disk natively; in
 * the sandbox the overlay whose lower layer the gofer serves): a file and a
 * directory made here carry user.* attributes (size query, ERANGE, ENODATA,
 * listxattr), a symlink's user.* is ENODATA; files of the host show the
 * attributes the host gives them, read through the gofer in the sandbox:
 * whatever listxattr names, getxattr can read, with the same size from a
 * size query; an unset name is ENODATA and an unknown namespace EOPNOTSUPP.
 * Nothing of the host is modified (the test's directory is its own). */
#include "check.h"

#include <sys/xattr.h>

static char dir[64];

static void remove_dir(void)
{
    nftw(dir, rvt_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static int has_name(const char *list, ssize_t len, const char *name)
{
    for (ssize_t i = 0; i < len; i += strlen(list + i) + 1)
        if (strcmp(list + i, name) == 0)
            return 1;
    return 0;
}

/* Every attribute listxattr names for `path` reads back with getxattr, and
 * a size query agrees. Returns how many there are. */
static int check_listed_attributes_read(const char *path)
{
    static char list[65536], value[65536];
    ssize_t need = CHECK_OK(listxattr(path, NULL, 0));
    ssize_t len = CHECK_OK(listxattr(path, list, sizeof(list)));
    CHECK_EQ(len, need);
    if (len > 0) {
        CHECK_EQ(list[len - 1], 0);
        CHECK_ERR(listxattr(path, list, len - 1), ERANGE);
        CHECK_EQ(listxattr(path, list, sizeof(list)), len);
    }
    int n = 0;
    for (ssize_t i = 0; i < len; i += strlen(list + i) + 1, n++) {
        ssize_t size = CHECK_OK(getxattr(path, list + i, NULL, 0));
        CHECK_EQ(getxattr(path, list + i, value, sizeof(value)), size);
        if (size > 1) /* a size of 0 would be a size query */
            CHECK_ERR(getxattr(path, list + i, value, size - 1), ERANGE);
    }
    return n;
}

int main(void)
{
    alarm(10);
    strcpy(dir, "./rvt-xattr.XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
    atexit(remove_dir);
    char f[128], d[128], l[128];
    snprintf(f, sizeof(f), "%s/file", dir);
    snprintf(d, sizeof(d), "%s/sub", dir);
    snprintf(l, sizeof(l), "%s/link", dir);
    write_file(f, "contents", 8, 0644);
    CHECK_OK(mkdir(d, 0755));
    CHECK_OK(symlink("file", l));
    char buf[256];

    /* A file of our own. */
    CHECK_ERR(getxattr(f, "user.rvt", buf, sizeof(buf)), ENODATA);
    CHECK_OK(setxattr(f, "user.rvt", "value", 5, XATTR_CREATE));
    CHECK_OK(setxattr(f, "user.empty", "", 0, 0));
    CHECK_EQ(getxattr(f, "user.rvt", NULL, 0), 5);
    CHECK_EQ(getxattr(f, "user.rvt", buf, sizeof(buf)), 5);
    CHECK_MEMEQ(buf, "value", 5);
    CHECK_ERR(getxattr(f, "user.rvt", buf, 4), ERANGE);
    CHECK_EQ(getxattr(f, "user.empty", buf, sizeof(buf)), 0);
    CHECK_ERR(getxattr(f, "user.other", buf, sizeof(buf)), ENODATA);
    CHECK_ERR(getxattr(f, "unknown.ns", buf, sizeof(buf)), EOPNOTSUPP);
    /* Through the symlink: getxattr follows it, lgetxattr does not. */
    CHECK_EQ(getxattr(l, "user.rvt", buf, sizeof(buf)), 5);
    CHECK_ERR(lgetxattr(l, "user.rvt", buf, sizeof(buf)), ENODATA);
    ssize_t len = CHECK_OK(listxattr(f, buf, sizeof(buf)));
    CHECK(has_name(buf, len, "user.rvt"));
    CHECK(has_name(buf, len, "user.empty"));
    CHECK_EQ(listxattr(l, buf, sizeof(buf)), len);
    len = CHECK_OK(llistxattr(l, buf, sizeof(buf)));
    CHECK(!has_name(buf, len, "user.rvt"));
    CHECK_EQ(check_listed_attributes_read(f), check_listed_attributes_read(l));
    CHECK_OK(removexattr(f, "user.rvt"));
    CHECK_ERR(getxattr(f, "user.rvt", buf, sizeof(buf)), ENODATA);

    /* A directory of our own. */
    CHECK_OK(setxattr(d, "user.dir", "d", 1, 0));
    CHECK_EQ(getxattr(d, "user.dir", buf, sizeof(buf)), 1);
    len = CHECK_OK(listxattr(d, buf, sizeof(buf)));
    CHECK(has_name(buf, len, "user.dir"));
    check_listed_attributes_read(d);

    /* Files of the host: unset names are ENODATA; what is listed reads. */
    const char *host[] = {"/etc/passwd", "/", "/etc", "/bin/sh"};
    for (unsigned i = 0; i < sizeof(host) / sizeof(host[0]); i++) {
        CHECK_ERR(getxattr(host[i], "user.rvt-unset", buf, sizeof(buf)), ENODATA);
        CHECK_ERR(lgetxattr(host[i], "user.rvt-unset", NULL, 0), ENODATA);
        CHECK_ERR(getxattr(host[i], "trusted.rvt-unset", buf, sizeof(buf)), ENODATA);
        CHECK_ERR(getxattr(host[i], "unknown.ns", buf, sizeof(buf)), EOPNOTSUPP);
        check_listed_attributes_read(host[i]);
    }
    return 0;
}
