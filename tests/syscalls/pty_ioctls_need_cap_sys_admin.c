/* The terminal ioctls Linux reserves for CAP_SYS_ADMIN are gated by that
 * capability, not by uid 0: a root process without it
 * - may not TIOCSTI into a terminal that is not its controlling one, nor
 *   into a master (EPERM; with dev.tty.legacy_tiocsti = 0 it is EIO);
 *   into its controlling terminal it may;
 * - may not open a slave in exclusive mode (TIOCEXCL: EBUSY), also
 *   through /dev/tty; TIOCGEXCL reports the mode, TIOCNXCL ends it;
 * - may not steal another session's controlling terminal with
 *   TIOCSCTTY(1) (EPERM).
 * With CAP_SYS_ADMIN all of these work. Needs root. */
#include "check.h"

#include <linux/capability.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <termios.h>

#ifndef TIOCGEXCL
#define TIOCGEXCL _IOR('T', 0x40, int)
#endif

/* Raises or lowers CAP_SYS_ADMIN in the effective set. */
static void admin(int on)
{
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2];
    CHECK_OK(syscall(SYS_capget, &h, d));
    if (on)
        d[0].effective |= 1u << CAP_SYS_ADMIN;
    else
        d[0].effective &= ~(1u << CAP_SYS_ADMIN);
    CHECK_OK(syscall(SYS_capset, &h, d));
}

/* What TIOCSTI without CAP_SYS_ADMIN on someone else's terminal gives. */
static int denied_sti(void)
{
    FILE *f = fopen("/proc/sys/dev/tty/legacy_tiocsti", "r");
    int legacy = 1;
    if (f) {
        CHECK_EQ(fscanf(f, "%d", &legacy), 1);
        fclose(f);
    }
    return legacy ? EPERM : EIO;
}

static void wait_ok(pid_t p)
{
    CHECK_EXITED(wait_status(p), 0);
}

static void raw_mode(int fd)
{
    struct termios t;
    CHECK_OK(tcgetattr(fd, &t));
    t.c_lflag &= ~(ICANON | ECHO);
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    CHECK_OK(tcsetattr(fd, TCSANOW, &t));
}

int main(void)
{
    alarm(20);
    if (geteuid() != 0)
        return 0;
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2];
    CHECK_OK(syscall(SYS_capget, &h, d));
    if (!(d[0].permitted & (1u << CAP_SYS_ADMIN)))
        return 0;
    signal(SIGHUP, SIG_IGN);

    int m = CHECK_OK(posix_openpt(O_RDWR | O_NOCTTY));
    CHECK_OK(grantpt(m));
    CHECK_OK(unlockpt(m));
    char name[64];
    CHECK_OK(ptsname_r(m, name, sizeof name));
    int s = CHECK_OK(open(name, O_RDWR | O_NOCTTY));
    raw_mode(s);
    char c;

    /* TIOCSTI into a terminal that is not ours, and into a master. */
    pid_t child = CHECK_OK(fork());
    if (child == 0) {
        admin(0);
        c = 'a';
        CHECK_ERR(ioctl(s, TIOCSTI, &c), denied_sti());
        CHECK_ERR(ioctl(m, TIOCSTI, &c), denied_sti());
        admin(1);
        CHECK_OK(ioctl(s, TIOCSTI, &c));
        c = 'b';
        CHECK_OK(ioctl(m, TIOCSTI, &c));
        _exit(0);
    }
    wait_ok(child);
    /* The slave got 'a' as input; the master reads its own 'b'. */
    CHECK_EQ(read(s, &c, 1), 1);
    CHECK_EQ(c, 'a');
    CHECK_EQ(read(m, &c, 1), 1);
    CHECK_EQ(c, 'b');

    /* Exclusive mode. */
    int excl = -1;
    CHECK_OK(ioctl(s, TIOCGEXCL, &excl));
    CHECK_EQ(excl, 0);
    CHECK_OK(ioctl(s, TIOCEXCL));
    CHECK_OK(ioctl(s, TIOCGEXCL, &excl));
    CHECK_EQ(excl, 1);
    /* The master's own flag is separate. */
    CHECK_OK(ioctl(m, TIOCGEXCL, &excl));
    CHECK_EQ(excl, 0);
    child = CHECK_OK(fork());
    if (child == 0) {
        admin(0);
        CHECK_ERR(open(name, O_RDWR | O_NOCTTY), EBUSY);
        admin(1);
        close(CHECK_OK(open(name, O_RDWR | O_NOCTTY)));
        _exit(0);
    }
    wait_ok(child);
    CHECK_OK(ioctl(s, TIOCNXCL));
    child = CHECK_OK(fork());
    if (child == 0) {
        admin(0);
        close(CHECK_OK(open(name, O_RDWR | O_NOCTTY)));
        _exit(0);
    }
    wait_ok(child);

    /* Stealing a controlling terminal. */
    int ready[2], done[2];
    CHECK_OK(pipe(ready));
    CHECK_OK(pipe(done));
    pid_t owner = CHECK_OK(fork());
    if (owner == 0) {
        close(ready[0]);
        close(done[1]);
        CHECK_EQ(setsid(), getpid());
        CHECK_OK(ioctl(s, TIOCSCTTY, 0));
        CHECK_EQ(tcgetsid(s), getpid());
        CHECK_EQ(write(ready[1], "r", 1), 1);
        (void)read(done[0], &c, 1);
        _exit(0);
    }
    close(ready[1]);
    close(done[0]);
    CHECK_EQ(read(ready[0], &c, 1), 1);
    child = CHECK_OK(fork());
    if (child == 0) {
        CHECK_EQ(setsid(), getpid());
        admin(0);
        CHECK_ERR(ioctl(s, TIOCSCTTY, 1), EPERM);
        CHECK_ERR(ioctl(s, TIOCSCTTY, 0), EPERM);
        /* TIOCSTI into the owner's terminal is not ours either. */
        c = 'z';
        CHECK_ERR(ioctl(s, TIOCSTI, &c), denied_sti());
        admin(1);
        CHECK_ERR(ioctl(s, TIOCSCTTY, 0), EPERM);
        CHECK_OK(ioctl(s, TIOCSCTTY, 1));
        CHECK_EQ(tcgetsid(s), getpid());
        /* Our own controlling terminal takes TIOCSTI without it. */
        admin(0);
        c = 'c';
        CHECK_OK(ioctl(s, TIOCSTI, &c));
        CHECK_EQ(read(s, &c, 1), 1);
        CHECK_EQ(c, 'c');
        /* Exclusive mode also guards /dev/tty. */
        CHECK_OK(ioctl(s, TIOCEXCL));
        CHECK_ERR(open("/dev/tty", O_RDWR), EBUSY);
        admin(1);
        close(CHECK_OK(open("/dev/tty", O_RDWR)));
        CHECK_OK(ioctl(s, TIOCNXCL));
        _exit(0);
    }
    wait_ok(child);
    close(done[1]);
    wait_ok(owner);
    return 0;
}
