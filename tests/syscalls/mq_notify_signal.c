/* mq_notify:
 * - SIGEV_SIGNAL: a message arriving on an empty queue sends the
 *   registered signal with si_code SI_MESGQ, the registered si_value and
 *   the sender's pid and real uid; the registration ends with it;
 * - no notification for a message to a non-empty queue, nor for one a
 *   blocked receiver takes (the registration stays);
 * - one registration per queue (EBUSY, also for its owner); NULL removes
 *   the caller's own and is a no-op for anyone else's; closing any fd of
 *   the queue or exiting ends the owner's registration;
 * - SIGEV_NONE registers without a signal; sigev_signo 0 is accepted;
 * - reading the queue descriptor shows NOTIFY, SIGNO and NOTIFY_PID;
 * - errors: EINVAL (bad sigev_notify or signal), EBADF, EFAULT;
 * - SIGEV_THREAD: the system call wants a netlink socket in sigev_signo
 *   (EBADF, ENOTSOCK, EINVAL for another socket; EFAULT for the cookie);
 *   glibc's mq_notify runs the function in a thread where AF_NETLINK
 *   sockets exist and reports ENOSYS where they do not (rvisor). */
#include "check.h"

#include <mqueue.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>

static char qname[64];

static void cleanup(void)
{
    mq_unlink(qname);
}

static int notify_raw(mqd_t q, const struct sigevent *sev)
{
    return (int)syscall(SYS_mq_notify, q, sev);
}

static int notify_signal(mqd_t q, int sig, int value)
{
    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_SIGNAL;
    sev.sigev_signo = sig;
    sev.sigev_value.sival_int = value;
    return mq_notify(q, &sev);
}

/* Whether SIGUSR1 is pending (it is blocked throughout). */
static int usr1_pending(void)
{
    sigset_t p;
    CHECK_OK(sigpending(&p));
    return sigismember(&p, SIGUSR1);
}

/* Takes the pending SIGUSR1 and returns its siginfo. */
static siginfo_t take_usr1(void)
{
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    siginfo_t si;
    struct timespec ts = {5, 0};
    CHECK_EQ(sigtimedwait(&s, &si, &ts), SIGUSR1);
    return si;
}

static void send_one(mqd_t q, const char *m)
{
    CHECK_OK(mq_send(q, m, strlen(m), 0));
}

static void drain(mqd_t q)
{
    char buf[8192];
    while (mq_receive(q, buf, sizeof buf, NULL) >= 0)
        ;
    CHECK_EQ(errno, EAGAIN);
}

/* Runs f in a child and requires it to exit 0. */
static void in_child(void (*f)(mqd_t), mqd_t q)
{
    pid_t c = CHECK_OK(fork());
    if (c == 0) {
        f(q);
        _exit(0);
    }
    CHECK_EXITED(wait_status(c), 0);
}

static void child_busy(mqd_t q)
{
    CHECK_ERR(notify_signal(q, SIGUSR2, 1), EBUSY);
    /* Not the owner: NULL does nothing. */
    CHECK_OK(mq_notify(q, NULL));
    CHECK_ERR(notify_signal(q, SIGUSR2, 1), EBUSY);
}

static void child_register(mqd_t q)
{
    CHECK_OK(notify_signal(q, SIGUSR2, 1));
}

static void child_send(mqd_t q)
{
    send_one(q, "x");
}

static pid_t sender_pid;
static void child_send_as_user(mqd_t q)
{
    sender_pid = getpid();
    if (getuid() == 0)
        CHECK_OK(setresuid(4321, 4321, 4321));
    send_one(q, "hello");
}

/* Requires the queue descriptor's status line to be Linux's. */
static void check_line(mqd_t q, int qsize, int notify, int signo, int pid)
{
    char line[128] = {0}, want[128];
    CHECK(pread(q, line, sizeof line - 1, 0) > 0);
    snprintf(want, sizeof want, "QSIZE:%-10d NOTIFY:%-5d SIGNO:%-5d NOTIFY_PID:%-6d\n", qsize,
             notify, signo, pid);
    CHECK_STREQ(line, want);
}

/* The 'State:' letter of /proc/PID/stat. */
static char proc_state(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    read_file(path, buf, sizeof buf);
    char *p = strrchr(buf, ')');
    CHECK(p != NULL && p[1] == ' ');
    return p[2];
}

static volatile int thread_value;
static int thread_pipe[2];

static void on_message(union sigval v)
{
    thread_value = v.sival_int;
    CHECK_EQ(write(thread_pipe[1], "t", 1), 1);
}

int main(void)
{
    alarm(20);
    snprintf(qname, sizeof qname, "/rvt-mqn-%d", (int)getpid());
    atexit(cleanup);
    sigset_t usr;
    sigemptyset(&usr);
    sigaddset(&usr, SIGUSR1);
    sigaddset(&usr, SIGUSR2);
    CHECK_OK(sigprocmask(SIG_BLOCK, &usr, NULL));

    mode_t old = umask(0);
    mqd_t q = mq_open(qname, O_CREAT | O_EXCL | O_RDWR | O_NONBLOCK, 0666, NULL);
    umask(old);
    CHECK(q != (mqd_t)-1);

    /* A message from another process (another uid when we are root). */
    CHECK_OK(notify_signal(q, SIGUSR1, 77));
    in_child(child_busy, q);
    CHECK_ERR(notify_signal(q, SIGUSR1, 78), EBUSY);
    check_line(q, 0, SIGEV_SIGNAL, SIGUSR1, getpid());
    CHECK(!usr1_pending());
    pid_t c = CHECK_OK(fork());
    if (c == 0) {
        child_send_as_user(q);
        _exit(0);
    }
    CHECK_EXITED(wait_status(c), 0);
    siginfo_t si = take_usr1();
    CHECK_EQ(si.si_code, SI_MESGQ);
    CHECK_EQ(si.si_value.sival_int, 77);
    CHECK_EQ(si.si_pid, c);
    CHECK_EQ(si.si_uid, getuid() == 0 ? 4321 : getuid());
    /* The registration is gone. */
    check_line(q, 5, 0, 0, 0);
    send_one(q, "second");
    CHECK(!usr1_pending());

    /* A registration on a non-empty queue: no signal until it empties
     * and a message arrives. */
    CHECK_OK(notify_signal(q, SIGUSR1, 5));
    send_one(q, "third");
    CHECK(!usr1_pending());
    drain(q);
    send_one(q, "fourth");
    si = take_usr1();
    CHECK_EQ(si.si_value.sival_int, 5);
    CHECK_EQ(si.si_pid, getpid());
    drain(q);

    /* A blocked receiver gets the message; the registration stays. */
    CHECK_OK(notify_signal(q, SIGUSR1, 6));
    c = CHECK_OK(fork());
    if (c == 0) {
        mqd_t b = mq_open(qname, O_RDONLY);
        CHECK(b != (mqd_t)-1);
        char buf[8192];
        CHECK_EQ(mq_receive(b, buf, sizeof buf, NULL), 4);
        _exit(0);
    }
    /* Wait until it sleeps in mq_receive (and stays asleep). */
    for (int stable = 0; stable < 20;) {
        usleep(1000);
        stable = proc_state(c) == 'S' ? stable + 1 : 0;
    }
    send_one(q, "wake");
    CHECK_EXITED(wait_status(c), 0);
    CHECK(!usr1_pending());
    send_one(q, "late");
    si = take_usr1();
    CHECK_EQ(si.si_value.sival_int, 6);
    drain(q);

    /* NULL removes our registration; then another process may register,
     * and its registration ends when it exits. */
    CHECK_OK(notify_signal(q, SIGUSR1, 8));
    CHECK_OK(mq_notify(q, NULL));
    in_child(child_register, q);
    CHECK_OK(notify_signal(q, SIGUSR1, 9));
    /* Closing any descriptor of the queue ends it too. */
    mqd_t q2 = mq_open(qname, O_WRONLY);
    CHECK(q2 != (mqd_t)-1);
    CHECK_OK(mq_close(q2));
    in_child(child_register, q);
    send_one(q, "gone");
    CHECK(!usr1_pending());
    drain(q);

    /* SIGEV_NONE and signal 0: registered, nothing sent, then ended. */
    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_NONE;
    CHECK_OK(mq_notify(q, &sev));
    CHECK_ERR(notify_signal(q, SIGUSR1, 1), EBUSY);
    check_line(q, 0, SIGEV_NONE, 0, getpid());
    in_child(child_send, q);
    CHECK_OK(notify_signal(q, 0, 1));
    drain(q);
    in_child(child_send, q);
    CHECK(!usr1_pending());
    CHECK_OK(notify_signal(q, SIGUSR1, 10));
    CHECK_OK(mq_notify(q, NULL));
    drain(q);

    /* Errors. */
    sev.sigev_notify = 99;
    CHECK_ERR(mq_notify(q, &sev), EINVAL);
    CHECK_ERR(notify_signal(q, 65, 1), EINVAL);
    CHECK_ERR(notify_signal(q, -1, 1), EINVAL);
    CHECK_ERR(notify_signal(-1, SIGUSR1, 1), EBADF);
    CHECK_ERR(notify_signal(0, SIGUSR1, 1), EBADF);
    CHECK_ERR(notify_raw(q, (struct sigevent *)8), EFAULT);

    /* SIGEV_THREAD at the system call. */
    int p[2], sv[2];
    CHECK_OK(pipe(p));
    CHECK_OK(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
    char cookie[32] = {0};
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_THREAD;
    sev.sigev_value.sival_ptr = cookie;
    sev.sigev_signo = -1;
    CHECK_ERR(notify_raw(q, &sev), EBADF);
    sev.sigev_signo = p[0];
    CHECK_ERR(notify_raw(q, &sev), ENOTSOCK);
    sev.sigev_signo = sv[0];
    CHECK_ERR(notify_raw(q, &sev), EINVAL);
    sev.sigev_value.sival_ptr = (void *)8;
    CHECK_ERR(notify_raw(q, &sev), EFAULT);

    /* glibc's SIGEV_THREAD. */
    CHECK_OK(pipe(thread_pipe));
    int nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, 0);
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_THREAD;
    sev.sigev_notify_function = on_message;
    sev.sigev_value.sival_int = 11;
    int nl_errno = errno;
    if (nl < 0) {
        CHECK_EQ(nl_errno, EAFNOSUPPORT);
        CHECK_ERR(mq_notify(q, &sev), ENOSYS);
    } else {
        close(nl);
        CHECK_OK(mq_notify(q, &sev));
        in_child(child_send, q);
        char t;
        CHECK_EQ(read(thread_pipe[0], &t, 1), 1);
        CHECK_EQ(thread_value, 11);
    }

    CHECK_OK(mq_close(q));
    return 0;
}
