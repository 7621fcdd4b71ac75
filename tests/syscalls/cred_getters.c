/* getuid/geteuid/getgid/getegid/getresuid/getresgid/getgroups agree with
 * each other and /proc/self/status; as root, setresuid/setresgid/setgroups
 * change them and dropping root is permanent. */
#include "check.h"
#include <grp.h>
#include <sys/syscall.h>

static void status_ids(const char *key, unsigned v[4])
{
    char buf[8192];
    read_file("/proc/self/status", buf, sizeof(buf));
    char *line = strstr(buf, key);
    if (!line)
        FAILF("%s missing in /proc/self/status", key);
    if (sscanf(line + strlen(key), "%u %u %u %u", &v[0], &v[1], &v[2], &v[3]) != 4)
        FAILF("cannot parse %s", key);
}

int main(void)
{
    alarm(10);
    uid_t r, e, s;
    gid_t gr, ge, gs;
    CHECK_OK(getresuid(&r, &e, &s));
    CHECK_OK(getresgid(&gr, &ge, &gs));
    CHECK_EQ(r, getuid());
    CHECK_EQ(e, geteuid());
    CHECK_EQ(gr, getgid());
    CHECK_EQ(ge, getegid());
    unsigned v[4];
    status_ids("Uid:", v);
    CHECK_EQ(v[0], r);
    CHECK_EQ(v[1], e);
    CHECK_EQ(v[2], s);
    CHECK_EQ(v[3], e); /* fsuid follows euid */
    status_ids("Gid:", v);
    CHECK_EQ(v[0], gr);
    CHECK_EQ(v[1], ge);

    int n = CHECK_OK(getgroups(0, NULL));
    CHECK(n >= 0);
    gid_t groups[256];
    CHECK_EQ(getgroups(256, groups), n);
    if (n > 1)
        CHECK_ERR(getgroups(n - 1, groups), EINVAL);
    CHECK_ERR(syscall(SYS_getgroups, -1, groups), EINVAL);

    if (geteuid() != 0)
        return 0;

    pid_t pid = CHECK_OK(fork());
    if (pid == 0) {
        gid_t g[2] = {1234, 5678};
        CHECK_OK(setgroups(2, g));
        CHECK_EQ(getgroups(0, NULL), 2);
        gid_t back[2];
        CHECK_EQ(getgroups(2, back), 2);
        CHECK_EQ(back[0], 1234);
        CHECK_EQ(back[1], 5678);
        CHECK_ERR(getgroups(1, back), EINVAL);
        CHECK_OK(setresgid(100, 200, 300));
        CHECK_OK(getresgid(&gr, &ge, &gs));
        CHECK_EQ(gr, 100);
        CHECK_EQ(ge, 200);
        CHECK_EQ(gs, 300);
        /* Temporarily drop euid, keep saved 0, regain it. */
        CHECK_OK(setresuid(1000, 1001, 0));
        CHECK_EQ(getuid(), 1000);
        CHECK_EQ(geteuid(), 1001);
        status_ids("Uid:", v);
        CHECK_EQ(v[0], 1000);
        CHECK_EQ(v[1], 1001);
        CHECK_EQ(v[2], 0);
        CHECK_OK(seteuid(0));
        CHECK_EQ(geteuid(), 0);
        /* Drop everything: no way back. */
        CHECK_OK(setuid(65534));
        CHECK_OK(getresuid(&r, &e, &s));
        CHECK_EQ(r, 65534);
        CHECK_EQ(e, 65534);
        CHECK_EQ(s, 65534);
        CHECK_ERR(setuid(0), EPERM);
        CHECK_ERR(seteuid(0), EPERM);
        CHECK_ERR(setgroups(0, NULL), EPERM);
        /* An unprivileged user may set ids to any of its current ones. */
        CHECK_OK(setresuid(-1, 65534, -1));
        _exit(0);
    }
    CHECK_EXITED(wait_status(pid), 0);
    /* The parent is unaffected. */
    CHECK_EQ(geteuid(), 0);
    return 0;
}
