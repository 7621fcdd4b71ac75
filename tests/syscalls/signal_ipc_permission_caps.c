/* Permission checks that follow uids and capabilities, not "euid == 0":
 *
 * - Signals (check_kill_permission): a process whose real and effective
 *   uid differ from a root process's real and saved uid gets EPERM from
 *   kill, tgkill, pidfd_send_signal, rt_sigqueueinfo and
 *   rt_tgsigqueueinfo (signal 0 too), except SIGCONT within its session;
 *   it may signal itself; CAP_KILL lifts the rule.
 * - rt_sigqueueinfo may not forge si_code >= 0 or SI_TKILL for another
 *   process, not even as root (EPERM); to itself it may.
 * - System V IPC (ipcperms): a 0600 object of another uid is EACCES for
 *   shmget/semget/msgget asking for access, for IPC_STAT and shmat;
 *   IPC_RMID is EPERM. CAP_IPC_OWNER grants access (not IPC_RMID,
 *   which needs CAP_SYS_ADMIN); root without CAP_IPC_OWNER is refused.
 * - POSIX message queues: a 0600 queue of another uid is EACCES for
 *   mq_open, mq_unlink is EPERM (the sticky mqueue root), and a queue
 *   larger than fs.mqueue.msg_max needs CAP_SYS_RESOURCE (EINVAL).
 * Needs root (it passes trivially otherwise). */
#include "check.h"

#include <linux/capability.h>
#include <mqueue.h>
#include <signal.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/prctl.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <grp.h>
#include <sys/syscall.h>

#define BIT(c) (1ull << (c))
#define USER 4321

static volatile sig_atomic_t got_usr1;

static void on_usr1(int sig)
{
    (void)sig;
    got_usr1++;
}

static long sigqueue_raw(pid_t pid, int sig, int code)
{
    siginfo_t si;
    memset(&si, 0, sizeof(si));
    si.si_signo = sig;
    si.si_code = code;
    si.si_pid = getpid();
    si.si_uid = getuid();
    si.si_value.sival_int = 7;
    return syscall(SYS_rt_sigqueueinfo, pid, sig, &si);
}

static long tgsigqueue_raw(pid_t tgid, pid_t tid, int sig, int code)
{
    siginfo_t si;
    memset(&si, 0, sizeof(si));
    si.si_signo = sig;
    si.si_code = code;
    return syscall(SYS_rt_tgsigqueueinfo, tgid, tid, sig, &si);
}

static long pidfd_send(int pidfd, int sig)
{
    return syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

/* Sets the effective and permitted sets (all 64 bits), inheritable 0. */
static int set_caps(unsigned long long eff, unsigned long long perm)
{
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2];
    memset(d, 0, sizeof d);
    d[0].effective = (unsigned)eff;
    d[1].effective = (unsigned)(eff >> 32);
    d[0].permitted = (unsigned)perm;
    d[1].permitted = (unsigned)(perm >> 32);
    return (int)syscall(SYS_capset, &h, d);
}

/* Becomes uid/gid USER everywhere; with keep, the permitted set
 * survives (effective is cleared). */
static void become_user(int keep)
{
    if (keep)
        CHECK_OK(prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0));
    CHECK_OK(setgroups(0, NULL));
    CHECK_OK(setresgid(USER, USER, USER));
    CHECK_OK(setresuid(USER, USER, USER));
}

/* The caller's permitted set. */
static unsigned long long permitted(void)
{
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2];
    CHECK_OK(syscall(SYS_capget, &h, d));
    return d[0].permitted | (unsigned long long)d[1].permitted << 32;
}

static void wait_ok(pid_t p)
{
    CHECK_EXITED(wait_status(p), 0);
}

/* The fs.mqueue.msg_max value (Linux's default when the file is absent). */
static long mq_msg_max(void)
{
    FILE *f = fopen("/proc/sys/fs/mqueue/msg_max", "r");
    long v = 10;
    if (f) {
        CHECK_EQ(fscanf(f, "%ld", &v), 1);
        fclose(f);
    }
    return v;
}

int main(void)
{
    alarm(20);
    if (geteuid() != 0)
        return 0;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    CHECK_OK(sigaction(SIGUSR1, &sa, NULL));

    pid_t root_pid = getpid();
    int pidfd = (int)CHECK_OK(syscall(SYS_pidfd_open, root_pid, 0));

    /* Root-owned 0600 objects under fixed keys. */
    key_t kshm = 0x52560000 + (getpid() & 0xffff), ksem = kshm + 0x10000,
          kmsg = kshm + 0x20000;
    int shmid = (int)CHECK_OK(shmget(kshm, 4096, IPC_CREAT | IPC_EXCL | 0600));
    int semid = (int)CHECK_OK(semget(ksem, 1, IPC_CREAT | IPC_EXCL | 0600));
    int msqid = (int)CHECK_OK(msgget(kmsg, IPC_CREAT | IPC_EXCL | 0600));
    char qname[64];
    snprintf(qname, sizeof qname, "/rvt_perm_%d", (int)getpid());
    mode_t old = umask(0);
    mqd_t q = mq_open(qname, O_CREAT | O_EXCL | O_RDWR, 0600, NULL);
    umask(old);
    CHECK(q != (mqd_t)-1);

    /* si_code forging: refused even for root when aimed elsewhere. */
    pid_t child = CHECK_OK(fork());
    if (child == 0) {
        CHECK_ERR(sigqueue_raw(root_pid, SIGUSR1, SI_USER), EPERM);
        CHECK_ERR(sigqueue_raw(root_pid, SIGUSR1, SI_TKILL), EPERM);
        CHECK_ERR(sigqueue_raw(root_pid, SIGUSR1, SI_KERNEL), EPERM);
        CHECK_ERR(tgsigqueue_raw(root_pid, root_pid, SIGUSR1, SI_USER), EPERM);
        /* To itself any code goes. */
        got_usr1 = 0;
        CHECK_OK(sigqueue_raw(getpid(), SIGUSR1, SI_USER));
        CHECK_EQ(got_usr1, 1);
        CHECK_OK(sigqueue_raw(getpid(), SIGUSR1, SI_KERNEL));
        CHECK_EQ(got_usr1, 2);
        _exit(0);
    }
    wait_ok(child);
    CHECK_EQ(got_usr1, 0);

    /* An unprivileged process against root's. */
    child = CHECK_OK(fork());
    if (child == 0) {
        become_user(0);
        CHECK_ERR(kill(root_pid, 0), EPERM);
        CHECK_ERR(kill(root_pid, SIGUSR1), EPERM);
        CHECK_ERR(syscall(SYS_tgkill, root_pid, root_pid, SIGUSR1), EPERM);
        CHECK_ERR(pidfd_send(pidfd, SIGUSR1), EPERM);
        CHECK_ERR(pidfd_send(pidfd, 0), EPERM);
        CHECK_ERR(sigqueue_raw(root_pid, SIGUSR1, SI_QUEUE), EPERM);
        CHECK_ERR(sigqueue_raw(root_pid, 0, SI_QUEUE), EPERM);
        CHECK_ERR(tgsigqueue_raw(root_pid, root_pid, SIGUSR1, SI_QUEUE), EPERM);
        /* Lookup comes first: a missing process is ESRCH. */
        CHECK_ERR(sigqueue_raw(0x3ffffff0, SIGUSR1, SI_QUEUE), ESRCH);
        /* SIGCONT within the session is allowed. */
        CHECK_OK(kill(root_pid, SIGCONT));
        CHECK_OK(sigqueue_raw(root_pid, SIGCONT, SI_QUEUE));
        CHECK_OK(syscall(SYS_pidfd_send_signal, pidfd, SIGCONT, NULL, 0));
        /* Its own process. */
        got_usr1 = 0;
        CHECK_OK(kill(getpid(), SIGUSR1));
        CHECK_OK(sigqueue_raw(getpid(), SIGUSR1, SI_QUEUE));
        int self = (int)CHECK_OK(syscall(SYS_pidfd_open, getpid(), 0));
        CHECK_OK(pidfd_send(self, SIGUSR1));
        CHECK_EQ(got_usr1, 3);

        /* IPC: asking for access to root's 0600 objects. */
        CHECK_ERR(shmget(kshm, 0, 0400), EACCES);
        CHECK_ERR(shmget(kshm, 0, 0200), EACCES);
        CHECK_ERR(semget(ksem, 0, 0400), EACCES);
        CHECK_ERR(msgget(kmsg, 0200), EACCES);
        /* Asking for nothing finds the object. */
        CHECK_EQ(shmget(kshm, 0, 0), shmid);
        CHECK_EQ(semget(ksem, 0, 0), semid);
        CHECK_EQ(msgget(kmsg, 0), msqid);
        struct shmid_ds sds;
        struct msqid_ds mds;
        CHECK_ERR(shmctl(shmid, IPC_STAT, &sds), EACCES);
        CHECK(shmat(shmid, NULL, SHM_RDONLY) == (void *)-1 && errno == EACCES);
        CHECK_ERR(semctl(semid, 0, GETVAL), EACCES);
        CHECK_ERR(msgctl(msqid, IPC_STAT, &mds), EACCES);
        CHECK_ERR(shmctl(shmid, IPC_RMID, NULL), EPERM);
        CHECK_ERR(semctl(semid, 0, IPC_RMID), EPERM);
        CHECK_ERR(msgctl(msqid, IPC_RMID, NULL), EPERM);

        /* POSIX queues. */
        CHECK_ERR(mq_open(qname, O_RDONLY), EACCES);
        /* The kernel says EPERM (glibc's mq_unlink turns it into EACCES). */
        CHECK_ERR(syscall(SYS_mq_unlink, qname + 1), EPERM);
        CHECK_ERR(mq_unlink(qname), EACCES);
        struct mq_attr big = {.mq_maxmsg = mq_msg_max() + 1, .mq_msgsize = 16};
        char mine[80];
        snprintf(mine, sizeof mine, "%s_user", qname);
        CHECK_ERR(mq_open(mine, O_CREAT | O_RDWR, 0600, &big), EINVAL);
        _exit(0);
    }
    wait_ok(child);
    CHECK_EQ(got_usr1, 0);

    /* The same uid with capabilities kept: CAP_KILL signals root,
     * CAP_IPC_OWNER opens its objects, CAP_SYS_RESOURCE makes big
     * queues (if root has it: containers often drop it); IPC_RMID still
     * wants CAP_SYS_ADMIN. */
    int have_resource = (permitted() & BIT(CAP_SYS_RESOURCE)) != 0;
    child = CHECK_OK(fork());
    if (child == 0) {
        become_user(1);
        unsigned long long want = BIT(CAP_KILL) | BIT(CAP_IPC_OWNER);
        if (have_resource)
            want |= BIT(CAP_SYS_RESOURCE);
        CHECK_OK(set_caps(want, want));
        CHECK_OK(kill(root_pid, 0));
        CHECK_OK(pidfd_send(pidfd, 0));
        CHECK_OK(sigqueue_raw(root_pid, 0, SI_QUEUE));
        CHECK_OK(tgsigqueue_raw(root_pid, root_pid, 0, SI_QUEUE));
        CHECK_EQ(shmget(kshm, 0, 0600), shmid);
        CHECK_EQ(semget(ksem, 0, 0600), semid);
        CHECK_EQ(msgget(kmsg, 0600), msqid);
        struct shmid_ds sds;
        CHECK_OK(shmctl(shmid, IPC_STAT, &sds));
        CHECK_EQ(sds.shm_perm.uid, 0);
        void *p = shmat(shmid, NULL, 0);
        CHECK(p != (void *)-1);
        CHECK_OK(shmdt(p));
        CHECK_EQ(semctl(semid, 0, GETVAL), 0);
        CHECK_ERR(shmctl(shmid, IPC_RMID, NULL), EPERM);
        CHECK_ERR(msgctl(msqid, IPC_RMID, NULL), EPERM);
        if (have_resource) {
            struct mq_attr big = {.mq_maxmsg = mq_msg_max() + 1, .mq_msgsize = 16};
            char mine[80];
            snprintf(mine, sizeof mine, "%s_user", qname);
            mqd_t m = mq_open(mine, O_CREAT | O_EXCL | O_RDWR, 0600, &big);
            CHECK(m != (mqd_t)-1);
            CHECK_OK(mq_close(m));
            CHECK_OK(mq_unlink(mine));
        }
        /* Without CAP_KILL the uid rule is back. */
        CHECK_OK(set_caps(BIT(CAP_IPC_OWNER), want));
        CHECK_ERR(pidfd_send(pidfd, 0), EPERM);
        CHECK_ERR(sigqueue_raw(root_pid, 0, SI_QUEUE), EPERM);
        _exit(0);
    }
    wait_ok(child);

    /* Root without the capabilities: objects of another uid. */
    CHECK_OK(shmctl(shmid, IPC_RMID, NULL));
    CHECK_OK(semctl(semid, 0, IPC_RMID));
    CHECK_OK(msgctl(msqid, IPC_RMID, NULL));
    child = CHECK_OK(fork());
    if (child == 0) {
        /* Made by the user, 0600. */
        pid_t maker = CHECK_OK(fork());
        if (maker == 0) {
            become_user(0);
            CHECK_OK(shmget(kshm, 4096, IPC_CREAT | IPC_EXCL | 0600));
            CHECK_OK(msgget(kmsg, IPC_CREAT | IPC_EXCL | 0600));
            _exit(0);
        }
        wait_ok(maker);
        int s = (int)CHECK_OK(shmget(kshm, 0, 0600));
        int m = (int)CHECK_OK(msgget(kmsg, 0600));
        unsigned long long all = permitted();
        CHECK_OK(set_caps(all & ~BIT(CAP_IPC_OWNER) & ~BIT(CAP_SYS_ADMIN), all));
        CHECK_ERR(shmget(kshm, 0, 0400), EACCES);
        CHECK_ERR(msgget(kmsg, 0200), EACCES);
        struct shmid_ds sds;
        CHECK_ERR(shmctl(s, IPC_STAT, &sds), EACCES);
        CHECK_ERR(shmctl(s, IPC_RMID, NULL), EPERM);
        CHECK_ERR(msgctl(m, IPC_RMID, NULL), EPERM);
        /* CAP_SYS_ADMIN removes them. */
        CHECK_OK(set_caps(all & ~BIT(CAP_IPC_OWNER), all));
        CHECK_ERR(shmctl(s, IPC_STAT, &sds), EACCES);
        CHECK_OK(shmctl(s, IPC_RMID, NULL));
        CHECK_OK(msgctl(m, IPC_RMID, NULL));
        _exit(0);
    }
    wait_ok(child);

    CHECK_OK(mq_close(q));
    CHECK_OK(mq_unlink(qname));
    close(pidfd);
    CHECK_EQ(got_usr1, 0);
    return 0;
}
