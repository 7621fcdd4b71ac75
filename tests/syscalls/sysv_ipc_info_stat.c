/* System V IPC's information commands:
 * - IPC_INFO (shmctl/semctl/msgctl) fills struct shminfo/seminfo/msginfo
 *   with the limits /proc/sys/kernel/{shmmax,shmall,shmmni,sem,msgmax,
 *   msgmnb,msgmni} show and Linux's fixed constants, and returns the
 *   highest index in use;
 * - SHM_INFO/SEM_INFO/MSG_INFO count what is in use (segments and their
 *   pages and resident pages; sets and semaphores; queues, messages and
 *   bytes) and return the same index;
 * - SHM_STAT/SEM_STAT/MSG_STAT take an index, return the full id and the
 *   object's ds structure, and check read permission (EACCES), the
 *   *_STAT_ANY forms do not; free indexes are EINVAL.
 * Counts are compared before and after, so other users of the host's IPC
 * namespace only matter if they change it meanwhile. */
#include "check.h"

#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/syscall.h>

#define PAGE 4096

union semun {
    int val;
    struct semid_ds *buf;
    unsigned short *array;
    struct seminfo *info;
};

static unsigned long long read_ull(const char *path)
{
    char b[128];
    read_file(path, b, sizeof b);
    return strtoull(b, NULL, 10);
}

/* Every id an index scan with `cmd` (a *_STAT_ANY) finds up to maxidx. */
static int scan(int (*stat)(int idx, int cmd), int cmd, int maxidx, int *ids, int cap)
{
    int n = 0;
    for (int i = 0; i <= maxidx; i++) {
        errno = 0;
        int id = stat(i, cmd);
        if (id < 0) {
            CHECK_EQ(errno, EINVAL);
            continue;
        }
        CHECK(n < cap);
        ids[n++] = id;
    }
    return n;
}

static int shm_stat_idx(int idx, int cmd)
{
    struct shmid_ds ds;
    return shmctl(idx, cmd, &ds);
}

static int sem_stat_idx(int idx, int cmd)
{
    struct semid_ds ds;
    union semun u = {.buf = &ds};
    return semctl(idx, 0, cmd, u);
}

static int msg_stat_idx(int idx, int cmd)
{
    struct msqid_ds ds;
    return msgctl(idx, cmd, &ds);
}

static int contains(const int *ids, int n, int id)
{
    for (int i = 0; i < n; i++)
        if (ids[i] == id)
            return 1;
    return 0;
}

static void check_shm(void)
{
    struct shminfo si;
    memset(&si, 0xff, sizeof si);
    int maxidx = CHECK_OK(shmctl(0, IPC_INFO, (struct shmid_ds *)&si));
    CHECK_EQ(si.shmmax, read_ull("/proc/sys/kernel/shmmax"));
    CHECK_EQ(si.shmall, read_ull("/proc/sys/kernel/shmall"));
    CHECK_EQ(si.shmmni, read_ull("/proc/sys/kernel/shmmni"));
    CHECK_EQ(si.shmseg, si.shmmni);
    CHECK_EQ(si.shmmin, 1);

    struct shm_info before, after;
    CHECK_EQ(shmctl(0, SHM_INFO, (struct shmid_ds *)&before), maxidx);

    int a = CHECK_OK(shmget(IPC_PRIVATE, 3 * PAGE, IPC_CREAT | 0600));
    int b = CHECK_OK(shmget(IPC_PRIVATE, PAGE + 1, IPC_CREAT | 0));
    char *p = shmat(a, NULL, 0);
    CHECK(p != (char *)-1);
    p[0] = 1;
    p[2 * PAGE] = 1;

    memset(&after, 0xff, sizeof after);
    maxidx = CHECK_OK(shmctl(0, SHM_INFO, (struct shmid_ds *)&after));
    CHECK_EQ(after.used_ids, before.used_ids + 2);
    CHECK_EQ(after.shm_tot, before.shm_tot + 5);
    CHECK_EQ(after.shm_rss, before.shm_rss + 2);
    CHECK_EQ(after.swap_attempts, 0);
    CHECK_EQ(after.swap_successes, 0);
    CHECK_EQ(shmctl(0, IPC_INFO, (struct shmid_ds *)&si), maxidx);

    /* An index scan finds every segment in use, ours among them; the
     * highest index is in use and the next one is not. */
    int ids[4096];
    int n = scan(shm_stat_idx, SHM_STAT_ANY, maxidx, ids, 4096);
    CHECK_EQ(n, after.used_ids);
    CHECK(contains(ids, n, a) && contains(ids, n, b));
    CHECK(shm_stat_idx(maxidx, SHM_STAT_ANY) >= 0);
    CHECK_ERR(shm_stat_idx(maxidx + 1, SHM_STAT_ANY), EINVAL);

    /* SHM_STAT on a's index: its id and what IPC_STAT reports. */
    int ia = -1;
    for (int i = 0; i <= maxidx && ia < 0; i++)
        if (shm_stat_idx(i, SHM_STAT_ANY) == a)
            ia = i;
    CHECK(ia >= 0);
    struct shmid_ds ds, ref;
    CHECK_EQ(shmctl(ia, SHM_STAT, &ds), a);
    CHECK_EQ(shmctl(a, IPC_STAT, &ref), 0);
    CHECK_EQ(ds.shm_segsz, 3 * PAGE);
    CHECK_EQ(ds.shm_nattch, 1);
    CHECK_EQ(ds.shm_cpid, getpid());
    CHECK_EQ(ds.shm_perm.mode & 0777, 0600);
    CHECK_EQ(ds.shm_ctime, ref.shm_ctime);
    CHECK_EQ(ds.shm_perm.__key, ref.shm_perm.__key);

    /* Permission: SHM_STAT needs read access, SHM_STAT_ANY not. */
    if (geteuid() == 0) {
        int ib = -1;
        for (int i = 0; i <= maxidx && ib < 0; i++)
            if (shm_stat_idx(i, SHM_STAT_ANY) == b)
                ib = i;
        pid_t c = CHECK_OK(fork());
        if (c == 0) {
            CHECK_OK(setresuid(4321, 4321, 4321));
            CHECK_ERR(shmctl(ib, SHM_STAT, &ds), EACCES);
            CHECK_ERR(shmctl(b, IPC_STAT, &ds), EACCES);
            CHECK_EQ(shmctl(ib, SHM_STAT_ANY, &ds), b);
            CHECK_EQ(ds.shm_segsz, PAGE + 1);
            CHECK_EQ(ds.shm_perm.mode & 0777, 0);
            struct shminfo s2;
            CHECK_OK(shmctl(0, IPC_INFO, (struct shmid_ds *)&s2));
            _exit(0);
        }
        CHECK_EXITED(wait_status(c), 0);
    }

    /* Errors: a negative id, a bad buffer, an unknown command. */
    CHECK_ERR(shmctl(-1, IPC_INFO, (struct shmid_ds *)&si), EINVAL);
    CHECK_ERR(syscall(SYS_shmctl, 0, IPC_INFO, 8), EFAULT);
    CHECK_ERR(syscall(SYS_shmctl, 0, SHM_INFO, 8), EFAULT);
    CHECK_ERR(syscall(SYS_shmctl, 0, 99, &ds), EINVAL);

    CHECK_OK(shmdt(p));
    CHECK_OK(shmctl(a, IPC_RMID, NULL));
    CHECK_OK(shmctl(b, IPC_RMID, NULL));
    CHECK_OK(shmctl(0, SHM_INFO, (struct shmid_ds *)&after));
    CHECK_EQ(after.used_ids, before.used_ids);
    CHECK_EQ(after.shm_tot, before.shm_tot);
}

static void check_sem(void)
{
    unsigned long long msl, mns, opm, mni;
    char b[128];
    read_file("/proc/sys/kernel/sem", b, sizeof b);
    CHECK_EQ(sscanf(b, "%llu %llu %llu %llu", &msl, &mns, &opm, &mni), 4);

    struct seminfo si;
    union semun u = {.info = &si};
    memset(&si, 0xff, sizeof si);
    int maxidx = CHECK_OK(semctl(0, 0, IPC_INFO, u));
    CHECK_EQ(si.semmsl, msl);
    CHECK_EQ(si.semmns, mns);
    CHECK_EQ(si.semopm, opm);
    CHECK_EQ(si.semmni, mni);
    /* Linux's compile-time constants. */
    CHECK_EQ(si.semvmx, 32767);
    CHECK_EQ(si.semmap, 32000 * 32000);
    CHECK_EQ(si.semmnu, 32000 * 32000);
    CHECK_EQ(si.semume, 500);
    CHECK_EQ(si.semusz, 20);
    CHECK_EQ(si.semaem, 32767);

    struct seminfo before, after;
    u.info = &before;
    CHECK_EQ(semctl(0, 0, SEM_INFO, u), maxidx);
    int x = CHECK_OK(semget(IPC_PRIVATE, 3, IPC_CREAT | 0600));
    int y = CHECK_OK(semget(IPC_PRIVATE, 5, IPC_CREAT | 0600));
    u.info = &after;
    maxidx = CHECK_OK(semctl(0, 0, SEM_INFO, u));
    CHECK_EQ(after.semusz, before.semusz + 2);
    CHECK_EQ(after.semaem, before.semaem + 8);
    CHECK_EQ(after.semmni, si.semmni);
    u.info = &si;
    CHECK_EQ(semctl(0, 0, IPC_INFO, u), maxidx);

    int ids[4096];
    int n = scan(sem_stat_idx, SEM_STAT_ANY, maxidx, ids, 4096);
    CHECK_EQ(n, after.semusz);
    CHECK(contains(ids, n, x) && contains(ids, n, y));
    CHECK_ERR(sem_stat_idx(maxidx + 1, SEM_STAT_ANY), EINVAL);
    for (int i = 0; i <= maxidx; i++) {
        struct semid_ds ds;
        union semun v = {.buf = &ds};
        if (semctl(i, 0, SEM_STAT_ANY, v) == y) {
            CHECK_EQ(semctl(i, 0, SEM_STAT, v), y);
            CHECK_EQ(ds.sem_nsems, 5);
            CHECK_EQ(ds.sem_perm.mode & 0777, 0600);
        }
    }
    CHECK_ERR(semctl(-1, 0, IPC_INFO, u), EINVAL);
    CHECK_ERR(syscall(SYS_semctl, 0, 0, IPC_INFO, 8), EFAULT);

    CHECK_OK(semctl(x, 0, IPC_RMID));
    CHECK_OK(semctl(y, 0, IPC_RMID));
    u.info = &after;
    CHECK_OK(semctl(0, 0, SEM_INFO, u));
    CHECK_EQ(after.semusz, before.semusz);
    CHECK_EQ(after.semaem, before.semaem);
}

static void check_msg(void)
{
    struct msginfo mi;
    memset(&mi, 0xff, sizeof mi);
    int maxidx = CHECK_OK(msgctl(0, IPC_INFO, (struct msqid_ds *)&mi));
    CHECK_EQ(mi.msgmax, read_ull("/proc/sys/kernel/msgmax"));
    CHECK_EQ(mi.msgmnb, read_ull("/proc/sys/kernel/msgmnb"));
    CHECK_EQ(mi.msgmni, read_ull("/proc/sys/kernel/msgmni"));
    /* Linux's compile-time constants (uapi linux/msg.h). */
    CHECK_EQ(mi.msgssz, 16);
    CHECK_EQ(mi.msgseg, 0xffff);
    CHECK_EQ(mi.msgpool, 32000 * 16384 / 1024);
    CHECK_EQ(mi.msgmap, 16384);
    CHECK_EQ(mi.msgtql, 16384);

    struct msginfo before, after;
    CHECK_EQ(msgctl(0, MSG_INFO, (struct msqid_ds *)&before), maxidx);
    int q = CHECK_OK(msgget(IPC_PRIVATE, IPC_CREAT | 0600));
    struct {
        long type;
        char text[16];
    } m = {1, "hello"};
    CHECK_OK(msgsnd(q, &m, 5, 0));
    CHECK_OK(msgsnd(q, &m, 11, 0));
    maxidx = CHECK_OK(msgctl(0, MSG_INFO, (struct msqid_ds *)&after));
    CHECK_EQ(after.msgpool, before.msgpool + 1);
    CHECK_EQ(after.msgmap, before.msgmap + 2);
    CHECK_EQ(after.msgtql, before.msgtql + 16);
    CHECK_EQ(after.msgmax, mi.msgmax);
    CHECK_EQ(msgctl(0, IPC_INFO, (struct msqid_ds *)&mi), maxidx);

    int ids[4096];
    int n = scan(msg_stat_idx, MSG_STAT_ANY, maxidx, ids, 4096);
    CHECK_EQ(n, after.msgpool);
    CHECK(contains(ids, n, q));
    CHECK_ERR(msg_stat_idx(maxidx + 1, MSG_STAT_ANY), EINVAL);
    for (int i = 0; i <= maxidx; i++) {
        struct msqid_ds ds;
        if (msgctl(i, MSG_STAT_ANY, &ds) == q) {
            CHECK_EQ(msgctl(i, MSG_STAT, &ds), q);
            CHECK_EQ(ds.msg_qnum, 2);
            CHECK_EQ(ds.__msg_cbytes, 16);
            CHECK_EQ(ds.msg_lspid, getpid());
        }
    }
    CHECK_ERR(msgctl(-1, IPC_INFO, (struct msqid_ds *)&mi), EINVAL);
    CHECK_ERR(syscall(SYS_msgctl, 0, MSG_INFO, 8), EFAULT);

    CHECK_OK(msgctl(q, IPC_RMID, NULL));
    CHECK_OK(msgctl(0, MSG_INFO, (struct msqid_ds *)&after));
    CHECK_EQ(after.msgpool, before.msgpool);
    CHECK_EQ(after.msgmap, before.msgmap);
    CHECK_EQ(after.msgtql, before.msgtql);
}

int main(void)
{
    alarm(20);
    check_shm();
    check_sem();
    check_msg();
    return 0;
}
