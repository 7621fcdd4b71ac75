/* SIGTTOU for background processes of a terminal's session:
 * - a background write goes through while TOSTOP is clear; with TOSTOP
 *   it stops the writer's group with SIGTTOU, and the write completes
 *   once the group is foreground and continued;
 * - tcsetattr (and tcsetpgrp) from the background stop it with SIGTTOU
 *   whatever TOSTOP says;
 * - a writer that ignores or blocks SIGTTOU is let through;
 * - in an orphaned process group both fail with EIO instead. */
#include "check.h"

#include <signal.h>
#include <sys/ioctl.h>
#include <termios.h>

static int s;
/* The orphan reports here that it is done with the terminal. */
static int done_pipe[2];

static void set_tostop(int on)
{
    struct termios t;
    CHECK_OK(tcgetattr(s, &t));
    if (on)
        t.c_lflag |= TOSTOP;
    else
        t.c_lflag &= ~TOSTOP;
    CHECK_OK(tcsetattr(s, TCSANOW, &t));
}

/* Forks a child in a new (background) process group running f. */
static pid_t background(void (*f)(void))
{
    pid_t c = CHECK_OK(fork());
    if (c == 0) {
        CHECK_OK(setpgid(0, 0));
        f();
        _exit(0);
    }
    /* Both sides set it, so it holds whoever runs first. */
    setpgid(c, c);
    return c;
}

static void write_line(void)
{
    CHECK_EQ(write(s, "bg\n", 3), 3);
}

static void write_ignoring(void)
{
    signal(SIGTTOU, SIG_IGN);
    write_line();
}

static void write_blocking(void)
{
    sigset_t b;
    sigemptyset(&b);
    sigaddset(&b, SIGTTOU);
    CHECK_OK(sigprocmask(SIG_BLOCK, &b, NULL));
    write_line();
}

static void set_attr(void)
{
    struct termios t;
    CHECK_OK(tcgetattr(s, &t));
    CHECK_OK(tcsetattr(s, TCSANOW, &t));
}

static void set_attr_ignoring(void)
{
    signal(SIGTTOU, SIG_IGN);
    set_attr();
}

/* A child of a process that exits: its group is orphaned once it is
 * reparented out of the session. */
static void orphan(void)
{
    pid_t parent = getpid();
    pid_t g = CHECK_OK(fork());
    if (g == 0) {
        while (getppid() == parent)
            usleep(1000);
        CHECK_ERR(write(s, "x", 1), EIO);
        struct termios t;
        CHECK_OK(tcgetattr(s, &t));
        CHECK_ERR(tcsetattr(s, TCSANOW, &t), EIO);
        /* Report through the terminal itself: ignoring SIGTTOU lets the
         * write through. */
        signal(SIGTTOU, SIG_IGN);
        CHECK_EQ(write(s, "orphan-ok\n", 10), 10);
        CHECK_EQ(write(done_pipe[1], "d", 1), 1);
        _exit(0);
    }
}

/* Expects c to stop with SIGTTOU, then kills it. */
static void expect_stop_then_kill(pid_t c)
{
    int st;
    CHECK_EQ(waitpid(c, &st, WUNTRACED), c);
    CHECK(WIFSTOPPED(st));
    CHECK_EQ(WSTOPSIG(st), SIGTTOU);
    CHECK_OK(kill(c, SIGKILL));
    CHECK_SIGNALED(wait_status(c), SIGKILL);
}

static void session(const char *name)
{
    CHECK_EQ(setsid(), getpid());
    s = CHECK_OK(open(name, O_RDWR));
    CHECK_EQ(tcgetpgrp(s), getpid());
    set_tostop(0);

    pid_t c = background(write_line);
    CHECK_EXITED(wait_status(c), 0);

    set_tostop(1);
    c = background(write_line);
    int st;
    CHECK_EQ(waitpid(c, &st, WUNTRACED), c);
    CHECK(WIFSTOPPED(st));
    CHECK_EQ(WSTOPSIG(st), SIGTTOU);
    /* Foreground and continued, the write completes. */
    CHECK_OK(tcsetpgrp(s, c));
    CHECK_OK(kill(c, SIGCONT));
    CHECK_EXITED(wait_status(c), 0);
    /* Now we are the background: taking the terminal back would stop us
     * too, unless SIGTTOU is blocked (as shells do). */
    sigset_t b, old;
    sigemptyset(&b);
    sigaddset(&b, SIGTTOU);
    CHECK_OK(sigprocmask(SIG_BLOCK, &b, &old));
    CHECK_OK(tcsetpgrp(s, getpgrp()));
    CHECK_OK(sigprocmask(SIG_SETMASK, &old, NULL));

    c = background(write_ignoring);
    CHECK_EXITED(wait_status(c), 0);
    c = background(write_blocking);
    CHECK_EXITED(wait_status(c), 0);

    /* tcsetattr from the background, with TOSTOP clear. */
    set_tostop(0);
    expect_stop_then_kill(background(set_attr));
    c = background(set_attr_ignoring);
    CHECK_EXITED(wait_status(c), 0);

    /* The orphan must be done before we exit: our exit takes the
     * terminal from the session, after which nothing is checked. */
    set_tostop(1);
    CHECK_OK(pipe(done_pipe));
    c = background(orphan);
    CHECK_EXITED(wait_status(c), 0);
    close(done_pipe[1]);
    char d;
    CHECK_EQ(read(done_pipe[0], &d, 1), 1);
}

int main(void)
{
    alarm(20);
    int m = CHECK_OK(posix_openpt(O_RDWR | O_NOCTTY));
    CHECK_OK(grantpt(m));
    CHECK_OK(unlockpt(m));
    char name[64];
    CHECK_OK(ptsname_r(m, name, sizeof name));
    pid_t leader = CHECK_OK(fork());
    if (leader == 0) {
        close(m);
        session(name);
        _exit(0);
    }
    CHECK_EXITED(wait_status(leader), 0);
    /* Everything the writers got through, in order. */
    const char *want = "bg\r\nbg\r\nbg\r\nbg\r\norphan-ok\r\n";
    char got[256];
    size_t n = 0;
    while (n < strlen(want)) {
        ssize_t r = read(m, got + n, sizeof got - 1 - n);
        if (r <= 0)
            FAILF("read master after %zu bytes", n);
        n += (size_t)r;
    }
    got[n] = 0;
    CHECK_STREQ(got, want);
    return 0;
}
