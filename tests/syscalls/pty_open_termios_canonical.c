/* Pseudo-terminals: posix_openpt/grantpt/unlockpt/ptsname, a slave that
 * cannot be opened while locked (EIO), Linux's default termios, canonical
 * input with echo and erase on the master, ONLCR output processing, raw
 * mode with VMIN=1 and VMIN=0, FIONREAD, window size, and end of file on
 * the slave once the master is closed. */
#include "check.h"

#include <poll.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>
#include <termios.h>

/* Reads what the master has now (nothing: returns 0). */
static ssize_t drain(int m, char *buf, size_t cap)
{
    struct pollfd p = {.fd = m, .events = POLLIN};
    if (poll(&p, 1, 100) <= 0 || !(p.revents & POLLIN))
        return 0;
    ssize_t n = read(m, buf, cap);
    return n < 0 ? 0 : n;
}

int main(void)
{
    alarm(10);
    char buf[256];
    int m = CHECK_OK(posix_openpt(O_RDWR | O_NOCTTY));
    CHECK(isatty(m));
    CHECK_OK(grantpt(m));
    int n = -1;
    CHECK_OK(ioctl(m, TIOCGPTN, &n));
    CHECK(n >= 0);
    char want[64];
    snprintf(want, sizeof(want), "/dev/pts/%d", n);
    CHECK_STREQ(ptsname(m), want);
    /* Locked by default: the slave exists but cannot be opened. */
    int locked = 0;
    CHECK_OK(ioctl(m, TIOCGPTLCK, &locked));
    CHECK_EQ(locked, 1);
    CHECK_ERR(open(want, O_RDWR | O_NOCTTY), EIO);
    CHECK_OK(unlockpt(m));
    int s = CHECK_OK(open(want, O_RDWR | O_NOCTTY));
    CHECK(isatty(s));
    struct stat st;
    CHECK_OK(fstat(s, &st));
    CHECK(S_ISCHR(st.st_mode));
    CHECK_EQ(major(st.st_rdev), 136);
    CHECK_EQ(minor(st.st_rdev), n);
    /* The slave's ioctls are not the master's. */
    CHECK_ERR(ioctl(s, TIOCGPTN, &n), ENOTTY);

    struct termios t;
    CHECK_OK(tcgetattr(s, &t));
    CHECK_EQ(t.c_iflag, ICRNL | IXON);
    CHECK_EQ(t.c_oflag, OPOST | ONLCR);
    /* pty slaves start without HUPCL (unlike tty_std_termios). */
    CHECK_EQ(t.c_cflag & (CSIZE | CREAD | HUPCL), CS8 | CREAD);
    CHECK_EQ(cfgetospeed(&t), B38400);
    CHECK_EQ(t.c_lflag, ISIG | ICANON | ECHO | ECHOE | ECHOK | IEXTEN | ECHOCTL | ECHOKE);
    CHECK_EQ(t.c_cc[VINTR], 3);
    CHECK_EQ(t.c_cc[VQUIT], 034);
    CHECK_EQ(t.c_cc[VERASE], 0177);
    CHECK_EQ(t.c_cc[VKILL], 025);
    CHECK_EQ(t.c_cc[VEOF], 4);
    CHECK_EQ(t.c_cc[VSUSP], 032);
    CHECK_EQ(t.c_cc[VMIN], 1);
    CHECK_EQ(t.c_cc[VTIME], 0);
    /* The master's termios calls reach the slave's. */
    struct termios tm;
    CHECK_OK(tcgetattr(m, &tm));
    CHECK_EQ(tm.c_lflag, t.c_lflag);

    /* Canonical input: a line, echoed with ONLCR. */
    CHECK_EQ(write(m, "abc\n", 4), 4);
    CHECK_EQ(read(s, buf, sizeof(buf)), 4);
    CHECK_MEMEQ(buf, "abc\n", 4);
    CHECK_EQ(drain(m, buf, sizeof(buf)), 5);
    CHECK_MEMEQ(buf, "abc\r\n", 5);
    /* Erase (ECHOE: backspace-space-backspace), CR becomes NL (ICRNL). */
    CHECK_EQ(write(m, "xy\177z\r", 5), 5);
    CHECK_EQ(read(s, buf, sizeof(buf)), 3);
    CHECK_MEMEQ(buf, "xz\n", 3);
    CHECK_EQ(drain(m, buf, sizeof(buf)), 8);
    CHECK_MEMEQ(buf, "xy\b \bz\r\n", 8);
    /* Kill erases the whole line; a short read leaves the rest. */
    CHECK_EQ(write(m, "gone\025kept\n", 10), 10);
    CHECK_EQ(read(s, buf, 2), 2);
    CHECK_MEMEQ(buf, "ke", 2);
    CHECK_EQ(read(s, buf, sizeof(buf)), 3);
    CHECK_MEMEQ(buf, "pt\n", 3);
    drain(m, buf, sizeof(buf));
    /* EOF at the start of a line: read returns 0. */
    CHECK_EQ(write(m, "\004", 1), 1);
    CHECK_EQ(read(s, buf, sizeof(buf)), 0);
    /* Output processing: ONLCR. */
    CHECK_EQ(write(s, "x\n", 2), 2);
    CHECK_EQ(drain(m, buf, sizeof(buf)), 3);
    CHECK_MEMEQ(buf, "x\r\n", 3);
    int q = -1;
    CHECK_OK(ioctl(m, FIONREAD, &q));
    CHECK_EQ(q, 0);

    /* Raw mode, VMIN=1: one byte is enough, no echo. */
    t.c_lflag &= ~(ICANON | ECHO);
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    CHECK_OK(tcsetattr(s, TCSANOW, &t));
    CHECK_EQ(write(m, "q", 1), 1);
    CHECK_EQ(read(s, buf, sizeof(buf)), 1);
    CHECK_EQ(buf[0], 'q');
    CHECK_EQ(drain(m, buf, sizeof(buf)), 0);
    CHECK_EQ(write(m, "12345", 5), 5);
    struct pollfd p = {.fd = s, .events = POLLIN};
    CHECK_EQ(poll(&p, 1, 1000), 1);
    CHECK_OK(ioctl(s, FIONREAD, &q));
    CHECK_EQ(q, 5);
    CHECK_EQ(read(s, buf, sizeof(buf)), 5);
    CHECK_MEMEQ(buf, "12345", 5);
    /* VMIN=0, VTIME=0: returns at once, with nothing. */
    t.c_cc[VMIN] = 0;
    CHECK_OK(tcsetattr(s, TCSANOW, &t));
    CHECK_EQ(read(s, buf, sizeof(buf)), 0);

    struct winsize ws = {.ws_row = 24, .ws_col = 80}, got;
    CHECK_OK(ioctl(m, TIOCSWINSZ, &ws));
    CHECK_OK(ioctl(s, TIOCGWINSZ, &got));
    CHECK_EQ(got.ws_row, 24);
    CHECK_EQ(got.ws_col, 80);

    /* Without a session, the slave is nobody's controlling terminal. */
    pid_t pg;
    CHECK_ERR(ioctl(s, TIOCGPGRP, &pg), ENOTTY);

    /* Master gone: the slave reads end of file, writes fail. */
    CHECK_OK(close(m));
    CHECK_EQ(read(s, buf, sizeof(buf)), 0);
    CHECK_ERR(write(s, "x", 1), EIO);
    CHECK_ERR(open(want, O_RDWR | O_NOCTTY), ENOENT);
    close(s);
    return 0;
}
