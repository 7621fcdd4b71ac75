/* uname: sysname "Linux", machine "x86_64", every field NUL-terminated
 * within its 65 bytes, agreement with /proc/sys/kernel, sethostname
 * visibility in a forked child, EFAULT. */
#include "check.h"
#include <sys/syscall.h>
#include <sys/utsname.h>

static void check_terminated(const char *field, const char *name)
{
    if (memchr(field, 0, 65) == NULL)
        FAILF("uname field %s not NUL-terminated", name);
}

int main(void)
{
    alarm(10);
    struct utsname u;
    memset(&u, 'X', sizeof(u));
    CHECK_OK(uname(&u));
    check_terminated(u.sysname, "sysname");
    check_terminated(u.nodename, "nodename");
    check_terminated(u.release, "release");
    check_terminated(u.version, "version");
    check_terminated(u.machine, "machine");
    check_terminated(u.domainname, "domainname");
    CHECK_STREQ(u.sysname, "Linux");
    CHECK_STREQ(u.machine, "x86_64");
    CHECK(strlen(u.release) > 0);
    CHECK(strlen(u.version) > 0);

    /* /proc/sys/kernel mirrors the same strings (plus a newline). */
    char buf[128], want[128];
    read_file("/proc/sys/kernel/ostype", buf, sizeof(buf));
    snprintf(want, sizeof(want), "%s\n", u.sysname);
    CHECK_STREQ(buf, want);
    read_file("/proc/sys/kernel/osrelease", buf, sizeof(buf));
    snprintf(want, sizeof(want), "%s\n", u.release);
    CHECK_STREQ(buf, want);
    read_file("/proc/sys/kernel/hostname", buf, sizeof(buf));
    snprintf(want, sizeof(want), "%s\n", u.nodename);
    CHECK_STREQ(buf, want);

    /* gethostname agrees; a too-small buffer is ENAMETOOLONG. */
    char host[65];
    CHECK_OK(gethostname(host, sizeof(host)));
    CHECK_STREQ(host, u.nodename);
    if (strlen(u.nodename) > 0)
        CHECK_ERR(gethostname(host, strlen(u.nodename)), ENAMETOOLONG);
    CHECK_ERR(syscall(SYS_uname, (void *)8), EFAULT);
    return 0;
}
