/* PR_SET_PDEATHSIG follows the parent *thread*: a child forked by a
 * non-leader thread gets its parent-death signal when that thread exits
 * (si_code SI_USER, si_pid the parent's pid) while the parent process
 * lives on and stays its parent; the exit of another thread of the parent
 * does not send it; nor does the leader's exit spare it (a child of the
 * leader gets it when the leader thread exits alone). The setting is per
 * thread; it is cleared by a change of the effective or filesystem
 * uid/gid (setuid, setgid, setfsuid) but not by a setuid to the same id,
 * and by exec of a set-user-ID program (kept by a plain exec). */
#include "check.h"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/fsuid.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

/* What a child reports once its parent-death signal came. */
struct report {
    int signo, code, pid, ppid;
};

static int rep[2];
static volatile sig_atomic_t got;
static struct report last;

static void on_pdeath(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    last.signo = sig;
    last.code = si->si_code;
    last.pid = si->si_pid;
    got = 1;
}

/* The child: asks for SIGUSR1 at parent death, says it is ready, then
 * reports the signal when it comes (and lives on until killed). */
static void child_body(void)
{
    struct sigaction sa = {.sa_sigaction = on_pdeath, .sa_flags = SA_SIGINFO};
    sigemptyset(&sa.sa_mask);
    CHECK_OK(sigaction(SIGUSR1, &sa, NULL));
    CHECK_OK(prctl(PR_SET_PDEATHSIG, SIGUSR1, 0, 0, 0));
    struct report ready = {0, 0, 0, 0};
    CHECK_EQ(write(rep[1], &ready, sizeof ready), sizeof ready);
    for (;;) {
        while (!got)
            pause();
        got = 0;
        last.ppid = getppid();
        CHECK_EQ(write(rep[1], &last, sizeof last), sizeof last);
    }
}

/* Reads one report; fails if none comes within `ms`. */
static struct report read_report(int ms)
{
    struct pollfd p = {.fd = rep[0], .events = POLLIN};
    CHECK_EQ(poll(&p, 1, ms), 1);
    struct report r;
    CHECK_EQ(read(rep[0], &r, sizeof r), sizeof r);
    return r;
}

static void no_report(int ms)
{
    struct pollfd p = {.fd = rep[0], .events = POLLIN};
    CHECK_EQ(poll(&p, 1, ms), 0);
}

static pid_t child;

static void *forker(void *arg)
{
    (void)arg;
    child = CHECK_OK(fork());
    if (child == 0)
        child_body();
    struct report r = read_report(10000);
    CHECK_EQ(r.signo, 0);
    return NULL;
}

static void *nothing(void *arg)
{
    return arg;
}

static void test_parent_thread(void)
{
    pthread_t t, u;
    CHECK_EQ(pthread_create(&t, NULL, forker, NULL), 0);
    /* The forker waits for its child's first report; keep it alive. */
    CHECK_EQ(pthread_join(t, NULL), 0);
    /* forker has exited by now: the child has been told. */
    struct report r = read_report(10000);
    CHECK_EQ(r.signo, SIGUSR1);
    CHECK_EQ(r.code, SI_USER);
    CHECK_EQ(r.pid, getpid());
    CHECK_EQ(r.ppid, getpid());
    /* Another thread coming and going tells the child nothing more. */
    CHECK_EQ(pthread_create(&u, NULL, nothing, NULL), 0);
    CHECK_EQ(pthread_join(u, NULL), 0);
    no_report(300);
    CHECK_OK(kill(child, SIGKILL));
    CHECK_SIGNALED(wait_status(child), SIGKILL);
}

/* The creating thread stays; other threads exit: no signal. */
static int hold[2];

static void *forker_that_stays(void *arg)
{
    (void)arg;
    child = CHECK_OK(fork());
    if (child == 0)
        child_body();
    char c;
    CHECK_EQ(read(hold[0], &c, 1), 1);
    return NULL;
}

static void test_other_thread(void)
{
    CHECK_OK(pipe(hold));
    pthread_t t, u;
    CHECK_EQ(pthread_create(&t, NULL, forker_that_stays, NULL), 0);
    struct report r = read_report(10000);
    CHECK_EQ(r.signo, 0);
    CHECK_EQ(pthread_create(&u, NULL, nothing, NULL), 0);
    CHECK_EQ(pthread_join(u, NULL), 0);
    no_report(300);
    CHECK_EQ(write(hold[1], "x", 1), 1);
    CHECK_EQ(pthread_join(t, NULL), 0);
    r = read_report(10000);
    CHECK_EQ(r.signo, SIGUSR1);
    CHECK_OK(kill(child, SIGKILL));
    CHECK_SIGNALED(wait_status(child), SIGKILL);
}

/* In a process of its own: the leader forks, then exits alone
 * (pthread_exit); the remaining thread checks the child was told. */
static pid_t leader_pid;

static void *survivor(void *arg)
{
    (void)arg;
    struct report r = read_report(10000);
    CHECK_EQ(r.signo, SIGUSR1);
    CHECK_EQ(r.code, SI_USER);
    CHECK_EQ(r.pid, leader_pid);
    CHECK_EQ(r.ppid, leader_pid);
    CHECK_OK(kill(child, SIGKILL));
    CHECK_SIGNALED(wait_status(child), SIGKILL);
    exit(0);
}

static void test_leader_thread(void)
{
    pid_t h = CHECK_OK(fork());
    if (h == 0) {
        leader_pid = getpid();
        child = CHECK_OK(fork());
        if (child == 0)
            child_body();
        struct report r = read_report(10000);
        CHECK_EQ(r.signo, 0);
        pthread_t t;
        CHECK_EQ(pthread_create(&t, NULL, survivor, NULL), 0);
        pthread_exit(NULL);
    }
    CHECK_EXITED(wait_status(h), 0);
}

static int get_pdeath(void)
{
    int s = -1;
    CHECK_OK(prctl(PR_GET_PDEATHSIG, &s, 0, 0, 0));
    return s;
}

static void *read_pdeath(void *arg)
{
    *(int *)arg = get_pdeath();
    return NULL;
}

/* Runs `path check` and returns its exit status (its PR_GET_PDEATHSIG). */
static int exec_and_report(const char *path)
{
    pid_t p = CHECK_OK(fork());
    if (p == 0) {
        CHECK_OK(prctl(PR_SET_PDEATHSIG, SIGUSR2, 0, 0, 0));
        execl(path, path, "check", (char *)0);
        _exit(99);
    }
    int st = wait_status(p);
    CHECK(WIFEXITED(st));
    return WEXITSTATUS(st);
}

static void test_creds(const char *self)
{
    /* Per thread. */
    CHECK_OK(prctl(PR_SET_PDEATHSIG, SIGUSR2, 0, 0, 0));
    int other = -1;
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, read_pdeath, &other), 0);
    CHECK_EQ(pthread_join(t, NULL), 0);
    CHECK_EQ(other, 0);
    CHECK_EQ(get_pdeath(), SIGUSR2);
    CHECK_OK(prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0));
    if (geteuid() != 0)
        return;

    const char *dir = make_tmpdir();
    char path[128], suid[128], cmd[320];
    snprintf(path, sizeof path, "%s/plain", dir);
    snprintf(suid, sizeof suid, "%s/suid", dir);
    snprintf(cmd, sizeof cmd, "cp %s %s && cp %s %s", self, path, self, suid);
    CHECK_EQ(system(cmd), 0);
    CHECK_OK(chmod(path, 0755));
    CHECK_OK(chown(suid, 65534, 65534));
    CHECK_OK(chmod(suid, 04755));

    pid_t p = CHECK_OK(fork());
    if (p == 0) {
        CHECK_OK(prctl(PR_SET_PDEATHSIG, SIGUSR2, 0, 0, 0));
        CHECK_OK(setuid(0)); /* same ids: kept */
        CHECK_EQ(get_pdeath(), SIGUSR2);
        setfsuid(1234);
        CHECK_EQ(get_pdeath(), 0);
        setfsuid(0);
        CHECK_OK(prctl(PR_SET_PDEATHSIG, SIGUSR2, 0, 0, 0));
        CHECK_OK(setgid(1000));
        CHECK_EQ(get_pdeath(), 0);
        CHECK_OK(prctl(PR_SET_PDEATHSIG, SIGUSR2, 0, 0, 0));
        CHECK_OK(setuid(1000));
        CHECK_EQ(get_pdeath(), 0);
        /* As uid 1000: a plain exec keeps it, a set-user-ID one not. */
        CHECK_EQ(exec_and_report(path), SIGUSR2);
        CHECK_EQ(exec_and_report(suid), 0);
        _exit(0);
    }
    CHECK_EXITED(wait_status(p), 0);
}

int main(int argc, char **argv)
{
    if (argc > 1)
        return get_pdeath();
    alarm(30);
    CHECK_OK(pipe(rep));
    test_parent_thread();
    test_other_thread();
    test_leader_thread();
    test_creds(argv[0]);
    return 0;
}
