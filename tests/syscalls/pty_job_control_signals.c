/* Job control on a pseudo-terminal: a session leader that opens the slave
 * without O_NOCTTY gets it as controlling terminal (foreground group = its
 * own); TIOCSPGRP rejects groups of other sessions (EPERM) and unknown
 * groups (ESRCH); a background reader gets SIGTTIN (EIO when it ignores
 * it); ^C from the master raises SIGINT, ^Z stops the foreground group
 * (WIFSTOPPED) until SIGCONT, TIOCSWINSZ raises SIGWINCH, and closing the
 * master hangs up the controlling process (SIGHUP). When a session leader
 * exits, its terminal's foreground group gets SIGHUP. */
#include "check.h"

#include <signal.h>
#include <sys/ioctl.h>
#include <termios.h>

static volatile sig_atomic_t got_int, got_winch, got_hup;

static void on_sig(int sig)
{
    if (sig == SIGINT)
        got_int = 1;
    else if (sig == SIGWINCH)
        got_winch = 1;
    else if (sig == SIGHUP)
        got_hup = 1;
}

static void say(int fd, char c)
{
    if (write(fd, &c, 1) != 1)
        FAILF("write to parent");
}

static char hear(int fd)
{
    char c = 0;
    ssize_t r;
    do {
        r = read(fd, &c, 1);
    } while (r < 0 && errno == EINTR);
    if (r != 1)
        FAILF("read from child");
    return c;
}

/* Waits (signals blocked outside) until *flag is set. */
static void await(volatile sig_atomic_t *flag, const sigset_t *open_mask)
{
    while (!*flag)
        sigsuspend(open_mask);
}

static void child(int m, const char *name, int tell)
{
    close(m);
    pid_t me = getpid();
    CHECK_EQ(setsid(), me);
    int s = CHECK_OK(open(name, O_RDWR));
    /* Became the controlling terminal; the foreground group is ours. */
    CHECK_EQ(tcgetsid(s), me);
    CHECK_EQ(tcgetpgrp(s), me);
    int tty = CHECK_OK(open("/dev/tty", O_RDWR));
    close(tty);

    sigset_t block, open_mask;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGWINCH);
    sigaddset(&block, SIGHUP);
    sigprocmask(SIG_BLOCK, &block, &open_mask);
    struct sigaction sa = {.sa_handler = on_sig};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGWINCH, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);

    CHECK_OK(tcsetpgrp(s, me));
    CHECK_ERR(tcsetpgrp(s, getpgid(getppid())), EPERM);
    CHECK_ERR(tcsetpgrp(s, 4000000), ESRCH);

    /* A background group of the session reading the terminal. */
    pid_t g = CHECK_OK(fork());
    if (g == 0) {
        setpgid(0, 0);
        char b;
        signal(SIGTTIN, SIG_IGN);
        CHECK_ERR(read(s, &b, 1), EIO);
        signal(SIGTTIN, SIG_DFL);
        read(s, &b, 1);
        _exit(3);
    }
    setpgid(g, g);
    int st;
    CHECK_EQ(waitpid(g, &st, WUNTRACED), g);
    if (!WIFSTOPPED(st) || WSTOPSIG(st) != SIGTTIN)
        FAILF("background reader: status 0x%x, want stopped by SIGTTIN", st);
    kill(g, SIGKILL);
    CHECK_EQ(waitpid(g, &st, 0), g);
    CHECK_SIGNALED(st, SIGKILL);
    CHECK_EQ(tcgetpgrp(s), me);

    /* The foreground job: a group of its own, so not orphaned (^Z would
     * be discarded for the session leader's orphaned group). */
    pid_t b = CHECK_OK(fork());
    if (b == 0) {
        setpgid(0, 0);
        while (tcgetpgrp(s) != getpid())
            usleep(1000);
        say(tell, 'R');
        await(&got_int, &open_mask);
        say(tell, 'I');
        /* The parent stops us with ^Z, continues us, then resizes. */
        await(&got_winch, &open_mask);
        struct winsize ws;
        CHECK_OK(ioctl(s, TIOCGWINSZ, &ws));
        CHECK_EQ(ws.ws_row, 50);
        say(tell, 'W');
        _exit(0);
    }
    setpgid(b, b);
    CHECK_OK(tcsetpgrp(s, b));
    CHECK_EQ(waitpid(b, &st, WUNTRACED), b);
    if (!WIFSTOPPED(st) || WSTOPSIG(st) != SIGTSTP)
        FAILF("status 0x%x, want stopped by SIGTSTP", st);
    say(tell, 'S');
    CHECK_OK(kill(b, SIGCONT));
    CHECK_EQ(waitpid(b, &st, WCONTINUED), b);
    CHECK(WIFCONTINUED(st));
    CHECK_EQ(waitpid(b, &st, 0), b);
    CHECK_EXITED(st, 0);
    say(tell, 'C');
    await(&got_hup, &open_mask);
    /* Hung up: end of file. */
    char ch;
    CHECK_EQ(read(s, &ch, 1), 0);
    _exit(0);
}

static int hup_pipe = -1;

static void on_hup_exit(int sig)
{
    (void)sig;
    if (write(hup_pipe, "H", 1) != 1)
        _exit(2);
    _exit(0);
}

/* A session leader with a foreground job exits. */
static void leader_exit(void)
{
    int m = CHECK_OK(posix_openpt(O_RDWR | O_NOCTTY));
    CHECK_OK(grantpt(m));
    CHECK_OK(unlockpt(m));
    int p[2], q[2];
    CHECK_OK(pipe(p));
    CHECK_OK(pipe(q));
    pid_t l = CHECK_OK(fork());
    if (l == 0) {
        close(p[0]);
        setsid();
        int s = CHECK_OK(open(ptsname(m), O_RDWR));
        pid_t f = CHECK_OK(fork());
        if (f == 0) {
            hup_pipe = p[1];
            signal(SIGHUP, on_hup_exit);
            setpgid(0, 0);
            while (tcgetpgrp(s) != getpid())
                usleep(1000);
            say(q[1], 'F');
            for (;;)
                pause();
        }
        setpgid(f, f);
        CHECK_OK(tcsetpgrp(s, f));
        CHECK_EQ(hear(q[0]), 'F');
        _exit(0);
    }
    close(p[1]);
    CHECK_EXITED(wait_status(l), 0);
    CHECK_EQ(hear(p[0]), 'H');
    close(q[0]);
    close(q[1]);
    close(p[0]);
    close(m);
}

int main(void)
{
    alarm(10);
    int m = CHECK_OK(posix_openpt(O_RDWR | O_NOCTTY));
    CHECK_OK(grantpt(m));
    CHECK_OK(unlockpt(m));
    char name[64];
    snprintf(name, sizeof(name), "%s", ptsname(m));
    int p[2];
    CHECK_OK(pipe(p));
    pid_t c = CHECK_OK(fork());
    if (c == 0) {
        close(p[0]);
        child(m, name, p[1]);
    }
    close(p[1]);
    CHECK_EQ(hear(p[0]), 'R');
    /* Through the master anyone may ask for the foreground group. */
    pid_t fg = tcgetpgrp(m);
    CHECK(fg > 0 && fg != c);

    CHECK_EQ(write(m, "\003", 1), 1);
    CHECK_EQ(hear(p[0]), 'I');
    CHECK_EQ(write(m, "\032", 1), 1);
    CHECK_EQ(hear(p[0]), 'S');
    struct winsize ws = {.ws_row = 50, .ws_col = 132};
    CHECK_OK(ioctl(m, TIOCSWINSZ, &ws));
    CHECK_EQ(hear(p[0]), 'W');
    CHECK_EQ(hear(p[0]), 'C');

    /* Echo of the signal characters reached the master. */
    char buf[64];
    ssize_t n = CHECK_OK(read(m, buf, sizeof(buf)));
    CHECK(n >= 2);
    CHECK(memmem(buf, (size_t)n, "^Z", 2) != NULL);

    CHECK_OK(close(m));
    CHECK_EXITED(wait_status(c), 0);
    leader_exit();
    return 0;
}
