/* capget/capset: header versions, pids and the capset rules; and that the
 * capabilities, not the uid, gate what root may do: without
 * CAP_DAC_OVERRIDE/CAP_DAC_READ_SEARCH root cannot open a mode-0000 file,
 * without CAP_CHOWN it cannot give a file away, without CAP_KILL it cannot
 * signal another user's process; a non-root process may not signal root's.
 * setuid to non-zero clears the sets (PR_SET_KEEPCAPS keeps permitted).
 * Needs root (it passes trivially otherwise). */
#include "check.h"

#include <linux/capability.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

static int capget_(struct __user_cap_header_struct *h, struct __user_cap_data_struct *d)
{
    return (int)syscall(SYS_capget, h, d);
}

static int capset_(struct __user_cap_header_struct *h, struct __user_cap_data_struct *d)
{
    return (int)syscall(SYS_capset, h, d);
}

#define BIT(c) (1u << (c))

/* Reads the caller's v3 sets (low words; every capability used here is < 32). */
static void get3(struct __user_cap_data_struct d[2])
{
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    CHECK_OK(capget_(&h, d));
}

/* Sets effective/permitted low words, keeping inheritable. */
static int set3(unsigned eff, unsigned perm)
{
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2];
    get3(d);
    d[0].effective = eff;
    d[0].permitted = perm;
    d[1].effective = d[1].effective & d[1].permitted;
    return capset_(&h, d);
}

static void wait_ok(pid_t p)
{
    int st;
    CHECK_EQ(waitpid(p, &st, 0), p);
    CHECK_EXITED(st, 0);
}

int main(void)
{
    alarm(10);
    if (geteuid() != 0)
        return 0;
    struct __user_cap_header_struct h;
    struct __user_cap_data_struct d[2];

    /* A bad version: the preferred one is written back; EINVAL with a
     * data pointer, success without. */
    h.version = 0x12345678;
    h.pid = 0;
    CHECK_EQ(capget_(&h, NULL), 0);
    CHECK_EQ(h.version, _LINUX_CAPABILITY_VERSION_3);
    h.version = 0x12345678;
    CHECK_ERR(capget_(&h, d), EINVAL);
    CHECK_EQ(h.version, _LINUX_CAPABILITY_VERSION_3);
    h.version = 0x12345678;
    CHECK_ERR(capset_(&h, d), EINVAL);
    CHECK_EQ(h.version, _LINUX_CAPABILITY_VERSION_3);

    /* Root holds the capabilities this test uses. */
    get3(d);
    unsigned need = BIT(CAP_CHOWN) | BIT(CAP_DAC_OVERRIDE) | BIT(CAP_DAC_READ_SEARCH) |
                    BIT(CAP_KILL) | BIT(CAP_SETUID) | BIT(CAP_SETGID) | BIT(CAP_SETPCAP);
    CHECK_EQ(d[0].effective & need, need);
    CHECK_EQ(d[0].permitted & need, need);

    /* v1 copies one struct only. */
    struct __user_cap_data_struct v1[2];
    memset(v1, 0xaa, sizeof v1);
    h.version = _LINUX_CAPABILITY_VERSION_1;
    h.pid = getpid();
    CHECK_OK(capget_(&h, v1));
    CHECK_EQ(v1[0].effective, d[0].effective);
    CHECK_EQ(v1[1].effective, 0xaaaaaaaau);

    /* Another process's sets can be read; a gone one is ESRCH; capset
     * on another process is EPERM. */
    int pfd[2];
    CHECK_OK(pipe(pfd));
    pid_t child = CHECK_OK(fork());
    if (child == 0) {
        char c;
        close(pfd[1]);
        (void)read(pfd[0], &c, 1);
        _exit(0);
    }
    close(pfd[0]);
    h.version = _LINUX_CAPABILITY_VERSION_3;
    h.pid = child;
    CHECK_OK(capget_(&h, d));
    h.pid = child;
    get3(d);
    CHECK_ERR(capset_(&h, d), EPERM);
    h.pid = -1;
    CHECK_ERR(capget_(&h, d), EINVAL);
    close(pfd[1]);
    wait_ok(child);
    h.pid = child;
    CHECK_ERR(capget_(&h, d), ESRCH);

    const char *dir = make_tmpdir();
    (void)dir;
    const char *f = tpath("locked");
    write_file(f, "x", 1, 0600);
    CHECK_OK(chmod(f, 0));

    /* Dropping effective DAC capabilities: a mode-0000 file is shut. */
    child = CHECK_OK(fork());
    if (child == 0) {
        get3(d);
        unsigned perm = d[0].permitted;
        unsigned eff = d[0].effective;
        unsigned dac = BIT(CAP_DAC_OVERRIDE) | BIT(CAP_DAC_READ_SEARCH);
        CHECK_OK(set3(eff & ~dac, perm));
        CHECK_ERR(open(f, O_RDONLY), EACCES);
        CHECK_ERR(open(f, O_WRONLY), EACCES);
        /* Still permitted: effective may take it back. */
        CHECK_OK(set3(eff, perm));
        close(CHECK_OK(open(f, O_RDONLY)));
        /* Effective must stay within permitted; permitted cannot grow. */
        CHECK_ERR(set3(eff, perm & ~dac), EPERM);
        CHECK_OK(set3(eff & ~dac, perm & ~dac));
        CHECK_ERR(set3(eff & ~dac, perm), EPERM);
        CHECK_ERR(open(f, O_RDONLY), EACCES);
        /* Without CAP_CHOWN root may not give the file away. */
        CHECK_OK(chown(f, 1234, (gid_t)-1));
        CHECK_OK(chown(f, 0, (gid_t)-1));
        CHECK_OK(set3(eff & ~dac & ~BIT(CAP_CHOWN), perm & ~dac));
        CHECK_ERR(chown(f, 1234, (gid_t)-1), EPERM);
        CHECK_OK(chown(f, 0, (gid_t)-1));
        /* The bounding set. */
        CHECK_EQ(prctl(PR_CAPBSET_READ, CAP_CHOWN, 0, 0, 0), 1);
        CHECK_ERR(prctl(PR_CAPBSET_READ, 1000, 0, 0, 0), EINVAL);
        CHECK_OK(prctl(PR_CAPBSET_DROP, CAP_CHOWN, 0, 0, 0));
        CHECK_EQ(prctl(PR_CAPBSET_READ, CAP_CHOWN, 0, 0, 0), 0);
        _exit(0);
    }
    wait_ok(child);

    /* A non-root process may not signal root's; root without CAP_KILL
     * may not signal nobody's. */
    int ready[2];
    CHECK_OK(pipe(pfd));
    CHECK_OK(pipe(ready));
    pid_t nobody = CHECK_OK(fork());
    if (nobody == 0) {
        char c;
        close(pfd[1]);
        close(ready[0]);
        CHECK_OK(setresuid(65534, 65534, 65534));
        CHECK_EQ(write(ready[1], "r", 1), 1);
        /* Losing uid 0 everywhere clears the sets. */
        get3(d);
        CHECK_EQ(d[0].effective, 0);
        CHECK_EQ(d[0].permitted, 0);
        CHECK_ERR(kill(getppid(), 0), EPERM);
        CHECK_ERR(kill(getppid(), SIGTERM), EPERM);
        CHECK_OK(kill(getpid(), 0));
        (void)read(pfd[0], &c, 1);
        _exit(0);
    }
    close(pfd[0]);
    close(ready[1]);
    char r;
    /* Wait until the child has become nobody. */
    CHECK_EQ(read(ready[0], &r, 1), 1);
    child = CHECK_OK(fork());
    if (child == 0) {
        get3(d);
        CHECK_OK(kill(nobody, 0));
        CHECK_OK(set3(d[0].effective & ~BIT(CAP_KILL), d[0].permitted));
        CHECK_ERR(kill(nobody, SIGTERM), EPERM);
        _exit(0);
    }
    wait_ok(child);
    close(pfd[1]);
    wait_ok(nobody);

    /* PR_SET_KEEPCAPS keeps permitted across the uid change; effective
     * is cleared. */
    child = CHECK_OK(fork());
    if (child == 0) {
        CHECK_EQ(prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0), 0);
        CHECK_OK(prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0));
        CHECK_EQ(prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0), 1);
        CHECK_OK(setresuid(65534, 65534, 65534));
        get3(d);
        CHECK_EQ(d[0].effective, 0);
        CHECK_EQ(d[0].permitted & BIT(CAP_SETUID), BIT(CAP_SETUID));
        /* Without effective CAP_SETUID the uid cannot go back... */
        CHECK_ERR(setuid(0), EPERM);
        /* ...until effective takes it from permitted. */
        CHECK_OK(set3(BIT(CAP_SETUID), d[0].permitted));
        CHECK_OK(setresuid(0, 0, 0));
        _exit(0);
    }
    wait_ok(child);
    return 0;
}
