/* Non-canonical reads on a pty slave follow VMIN and VTIME (termios(3)):
 * - VMIN 0, VTIME 0: returns at once, 0 when nothing is queued;
 * - VMIN 0, VTIME t: returns 0 after t tenths of a second without input,
 *   and at once when a byte arrives;
 * - VMIN m, VTIME 0: waits for min(m, count) bytes; a non-blocking read
 *   returns what there is (EAGAIN when nothing);
 * - VMIN m, VTIME t: waits for the first byte without a timer, then
 *   returns m bytes or what came before t passed without a new byte (the
 *   timer restarts with every byte);
 * - poll reports POLLIN once VMIN bytes are queued when VTIME is 0, once
 *   one byte is queued otherwise.
 * Only lower bounds of times are asserted (or bounds far above the
 * expected time), so a slow machine cannot make it fail. */
#include "check.h"

#include <poll.h>
#include <termios.h>

static int m, s;

static void set_mode(int vmin, int vtime)
{
    struct termios t;
    CHECK_OK(tcgetattr(s, &t));
    t.c_lflag &= ~(ICANON | ECHO | ISIG);
    t.c_iflag &= ~(ICRNL | IXON);
    t.c_cc[VMIN] = (cc_t)vmin;
    t.c_cc[VTIME] = (cc_t)vtime;
    CHECK_OK(tcsetattr(s, TCSANOW, &t));
}

static void put(const char *bytes)
{
    CHECK_EQ(write(m, bytes, strlen(bytes)), (long)strlen(bytes));
}

/* Writes `bytes` to the master after `ms` milliseconds, from a child. */
static pid_t put_later(long ms, const char *bytes)
{
    pid_t c = CHECK_OK(fork());
    if (c == 0) {
        usleep((useconds_t)ms * 1000);
        put(bytes);
        _exit(0);
    }
    return c;
}

static long long elapsed_ms(long long start)
{
    return (mono_ns() - start) / 1000000;
}

static int readable(void)
{
    struct pollfd p = {.fd = s, .events = POLLIN};
    CHECK_OK(poll(&p, 1, 0));
    return (p.revents & POLLIN) != 0;
}

int main(void)
{
    alarm(30);
    m = CHECK_OK(posix_openpt(O_RDWR | O_NOCTTY));
    CHECK_OK(grantpt(m));
    CHECK_OK(unlockpt(m));
    char name[64];
    CHECK_OK(ptsname_r(m, name, sizeof name));
    s = CHECK_OK(open(name, O_RDWR | O_NOCTTY));
    char buf[64];
    long long t0;

    /* VMIN 0, VTIME 0: a poll. */
    set_mode(0, 0);
    CHECK_EQ(read(s, buf, sizeof buf), 0);
    put("ab");
    CHECK_EQ(read(s, buf, sizeof buf), 2);
    CHECK_MEMEQ(buf, "ab", 2);

    /* VMIN 0, VTIME 3: 0 after 0.3 s of silence... */
    set_mode(0, 3);
    t0 = mono_ns();
    CHECK_EQ(read(s, buf, sizeof buf), 0);
    CHECK(elapsed_ms(t0) >= 250);
    /* ...or whatever is queued, at once... */
    put("xyz");
    CHECK_EQ(read(s, buf, 2), 2);
    CHECK_EQ(read(s, buf, sizeof buf), 1);
    CHECK_EQ(buf[0], 'z');
    /* ...or the first byte that arrives, long before the timer. */
    set_mode(0, 100);
    pid_t c = put_later(200, "q");
    t0 = mono_ns();
    CHECK_EQ(read(s, buf, sizeof buf), 1);
    CHECK(elapsed_ms(t0) < 9000);
    CHECK_EQ(buf[0], 'q');
    CHECK_EXITED(wait_status(c), 0);
    /* Non-blocking with nothing queued: EAGAIN. */
    int fl = CHECK_OK(fcntl(s, F_GETFL));
    CHECK_OK(fcntl(s, F_SETFL, fl | O_NONBLOCK));
    CHECK_ERR(read(s, buf, sizeof buf), EAGAIN);
    CHECK_OK(fcntl(s, F_SETFL, fl));

    /* VMIN 3, VTIME 0: min(VMIN, count) bytes. */
    set_mode(3, 0);
    put("12");
    CHECK(!readable());
    CHECK_EQ(read(s, buf, 2), 2);
    put("34");
    c = put_later(200, "5");
    t0 = mono_ns();
    CHECK_EQ(read(s, buf, sizeof buf), 3);
    CHECK(elapsed_ms(t0) >= 150);
    CHECK_MEMEQ(buf, "345", 3);
    CHECK_EXITED(wait_status(c), 0);
    /* Non-blocking: what there is, or EAGAIN. */
    CHECK_OK(fcntl(s, F_SETFL, fl | O_NONBLOCK));
    CHECK_ERR(read(s, buf, sizeof buf), EAGAIN);
    put("67");
    CHECK_EQ(read(s, buf, sizeof buf), 2);
    CHECK_OK(fcntl(s, F_SETFL, fl));
    put("789");
    CHECK(readable());
    CHECK_EQ(read(s, buf, sizeof buf), 3);

    /* VMIN 5, VTIME 3: no timer before the first byte; then the
     * inter-byte timer ends the read with fewer than VMIN bytes. */
    set_mode(5, 3);
    c = put_later(600, "a");
    t0 = mono_ns();
    CHECK_EQ(read(s, buf, sizeof buf), 1);
    CHECK(elapsed_ms(t0) >= 800);
    CHECK_EQ(buf[0], 'a');
    CHECK_EXITED(wait_status(c), 0);
    /* One byte queued is enough for poll when VTIME is set. */
    put("b");
    CHECK(readable());
    t0 = mono_ns();
    CHECK_EQ(read(s, buf, sizeof buf), 1);
    CHECK(elapsed_ms(t0) >= 250);
    /* VMIN bytes end it at once. */
    set_mode(5, 100);
    put("abcdefg");
    t0 = mono_ns();
    CHECK_EQ(read(s, buf, sizeof buf), 7);
    CHECK(elapsed_ms(t0) < 9000);
    /* The timer restarts with each byte: bytes 100 ms apart within a
     * 2 s VTIME all arrive in one read. */
    set_mode(5, 20);
    c = CHECK_OK(fork());
    if (c == 0) {
        for (const char *p = "wxyz"; *p; p++) {
            usleep(100000);
            CHECK_EQ(write(m, p, 1), 1);
        }
        _exit(0);
    }
    t0 = mono_ns();
    CHECK_EQ(read(s, buf, sizeof buf), 4);
    CHECK(elapsed_ms(t0) >= 2300);
    CHECK_MEMEQ(buf, "wxyz", 4);
    CHECK_EXITED(wait_status(c), 0);

    return 0;
}
