/* System V semaphores: semget/semctl errnos, SETVAL/GETVAL/SETALL/GETALL/
 * GETPID/GETNCNT/GETZCNT/IPC_STAT, semop blocking until another process
 * posts, IPC_NOWAIT (EAGAIN), semtimedop timeouts (EAGAIN), SEM_UNDO
 * undone when the process exits, EIDRM for a waiter whose set is
 * removed. IPC_PRIVATE sets, removed at exit. */
#include "check.h"
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/syscall.h>

union semun {
    int val;
    struct semid_ds *buf;
    unsigned short *array;
};

static int ids[2] = {-1, -1};
static void cleanup(void)
{
    for (int i = 0; i < 2; i++)
        if (ids[i] >= 0)
            semctl(ids[i], 0, IPC_RMID);
}

static void wait_for_ncnt(int id, int num, int want)
{
    for (int i = 0; i < 2000; i++) {
        if (semctl(id, num, GETNCNT) == want)
            return;
        usleep(1000);
    }
    FAILF("GETNCNT of %d never reached %d", num, want);
}

int main(void)
{
    alarm(10);
    atexit(cleanup);
    CHECK_ERR(semget(IPC_PRIVATE, 0, 0600), EINVAL);
    CHECK_ERR(semget(IPC_PRIVATE, -1, 0600), EINVAL);
    CHECK_ERR(semctl(-1, 0, GETVAL), EINVAL);

    int id = ids[0] = CHECK_OK(semget(IPC_PRIVATE, 3, IPC_CREAT | 0600));
    struct semid_ds ds;
    union semun arg = {.buf = &ds};
    CHECK_OK(semctl(id, 0, IPC_STAT, arg));
    CHECK_EQ(ds.sem_nsems, 3);
    CHECK_EQ(ds.sem_perm.mode & 0777, 0600);
    CHECK_EQ(ds.sem_otime, 0);

    CHECK_EQ(semctl(id, 0, GETVAL), 0);
    CHECK_ERR(semctl(id, 3, GETVAL), EINVAL);
    arg.val = 32768;
    CHECK_ERR(semctl(id, 0, SETVAL, arg), ERANGE);
    arg.val = -1;
    CHECK_ERR(semctl(id, 0, SETVAL, arg), ERANGE);
    arg.val = 5;
    CHECK_OK(semctl(id, 1, SETVAL, arg));
    CHECK_EQ(semctl(id, 1, GETVAL), 5);
    CHECK_EQ(semctl(id, 1, GETPID), getpid());
    unsigned short all[3] = {1, 2, 3}, got[3];
    arg.array = all;
    CHECK_OK(semctl(id, 0, SETALL, arg));
    arg.array = got;
    CHECK_OK(semctl(id, 0, GETALL, arg));
    CHECK(got[0] == 1 && got[1] == 2 && got[2] == 3);
    CHECK_ERR(semctl(id, 0, 9999), EINVAL);

    /* Argument checks. */
    struct sembuf op = {.sem_num = 3, .sem_op = 1, .sem_flg = 0};
    CHECK_ERR(semop(id, &op, 1), EFBIG);
    CHECK_ERR(semop(id, &op, 0), EINVAL);
    CHECK_ERR(semop(id, &op, 501), E2BIG);
    op = (struct sembuf){.sem_num = 0, .sem_op = 32767, .sem_flg = 0};
    CHECK_ERR(semop(id, &op, 1), ERANGE);

    /* Non-blocking: all or nothing. */
    struct sembuf two[2] = {{0, -1, IPC_NOWAIT}, {1, -3, IPC_NOWAIT}};
    CHECK_ERR(semop(id, two, 2), EAGAIN);
    CHECK_EQ(semctl(id, 0, GETVAL), 1);
    two[1].sem_op = -2;
    CHECK_OK(semop(id, two, 2));
    CHECK_EQ(semctl(id, 0, GETVAL), 0);
    CHECK_EQ(semctl(id, 1, GETVAL), 0);
    CHECK_OK(semctl(id, 0, IPC_STAT, (union semun){.buf = &ds}));
    CHECK_NE(ds.sem_otime, 0);

    /* Timeout: EAGAIN after roughly the time asked for. */
    struct timespec ts = {0, 50 * 1000 * 1000};
    op = (struct sembuf){0, -1, 0};
    long long t0 = mono_ns();
    CHECK_ERR(semtimedop(id, &op, 1, &ts), EAGAIN);
    CHECK(mono_ns() - t0 >= 40 * 1000 * 1000);
    ts.tv_nsec = 1000000000;
    CHECK_ERR(semtimedop(id, &op, 1, &ts), EINVAL);

    /* Blocking: the child waits for a post from the parent. */
    pid_t pid = CHECK_OK(fork());
    if (pid == 0) {
        struct sembuf w = {0, -1, 0};
        if (semop(id, &w, 1) != 0)
            _exit(2);
        struct sembuf z = {2, 0, 0};
        if (semop(id, &z, 1) != 0) /* wait for zero */
            _exit(3);
        _exit(0);
    }
    wait_for_ncnt(id, 0, 1);
    CHECK_EQ(semctl(id, 0, GETZCNT), 0);
    op = (struct sembuf){0, 1, 0};
    CHECK_OK(semop(id, &op, 1));
    for (int i = 0; i < 2000 && semctl(id, 2, GETZCNT) != 1; i++)
        usleep(1000);
    CHECK_EQ(semctl(id, 2, GETZCNT), 1);
    CHECK_EQ(semctl(id, 0, GETVAL), 0);
    CHECK_EQ(semctl(id, 0, GETPID), pid);
    arg.val = 0;
    CHECK_OK(semctl(id, 2, SETVAL, arg));
    CHECK_EXITED(wait_status(pid), 0);

    /* SEM_UNDO: the child's adjustments are undone when it exits. */
    arg.val = 0;
    CHECK_OK(semctl(id, 1, SETVAL, arg));
    pid = CHECK_OK(fork());
    if (pid == 0) {
        struct sembuf u = {1, 4, SEM_UNDO};
        if (semop(id, &u, 1) != 0)
            _exit(2);
        _exit(0);
    }
    CHECK_EXITED(wait_status(pid), 0);
    CHECK_EQ(semctl(id, 1, GETVAL), 0);
    CHECK_EQ(semctl(id, 1, GETPID), pid);

    /* A waiter whose set is removed gets EIDRM. */
    int id2 = ids[1] = CHECK_OK(semget(IPC_PRIVATE, 1, 0600));
    pid = CHECK_OK(fork());
    if (pid == 0) {
        struct sembuf w = {0, -1, 0};
        if (semop(id2, &w, 1) == 0 || errno != EIDRM)
            _exit(2);
        _exit(0);
    }
    wait_for_ncnt(id2, 0, 1);
    CHECK_OK(semctl(id2, 0, IPC_RMID));
    ids[1] = -1;
    CHECK_EXITED(wait_status(pid), 0);
    CHECK_ERR(semctl(id2, 0, GETVAL), EINVAL);

    CHECK_OK(semctl(id, 0, IPC_RMID));
    ids[0] = -1;
    CHECK_ERR(semop(id, &op, 1), EINVAL);
    return 0;
}
