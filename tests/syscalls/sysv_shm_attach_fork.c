/* System V shared memory: shmget flags and errnos, shmat address rules
 * (SHM_RND rounding, EINVAL for unaligned), data shared with a forked
 * child, nattch counting, SHM_RDONLY, IPC_STAT/IPC_SET, IPC_RMID deferred
 * until the last detach. Uses IPC_PRIVATE and removes what it creates, so
 * native runs leave nothing behind in the host IPC namespace. */
#include "check.h"
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>

static int id = -1;
static void cleanup(void)
{
    if (id >= 0)
        shmctl(id, IPC_RMID, NULL);
}

int main(void)
{
    alarm(10);
    CHECK_ERR(shmget(IPC_PRIVATE, 0, 0600), EINVAL);
    CHECK_ERR(shmat(-1, NULL, 0), EINVAL);
    CHECK_ERR(shmctl(-1, IPC_STAT, NULL), EINVAL);

    id = CHECK_OK(shmget(IPC_PRIVATE, 10000, IPC_CREAT | 0600));
    atexit(cleanup);
    struct shmid_ds ds;
    CHECK_OK(shmctl(id, IPC_STAT, &ds));
    CHECK_EQ(ds.shm_segsz, 10000);
    CHECK_EQ(ds.shm_nattch, 0);
    CHECK_EQ(ds.shm_perm.mode & 0777, 0600);
    CHECK_EQ(ds.shm_perm.uid, geteuid());
    CHECK_EQ(ds.shm_cpid, getpid());
    CHECK_ERR(shmctl(id, 12345, &ds), EINVAL);

    char *p = shmat(id, NULL, 0);
    CHECK(p != (void *)-1);
    CHECK_EQ((unsigned long)p % 4096, 0);
    CHECK_EQ(p[0], 0);
    CHECK_EQ(p[9999], 0);
    CHECK_OK(shmctl(id, IPC_STAT, &ds));
    CHECK_EQ(ds.shm_nattch, 1);
    CHECK_EQ(ds.shm_lpid, getpid());

    /* Unaligned addresses: EINVAL, or rounded down with SHM_RND. */
    char *q = mmap(NULL, 3 * 16384, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(q != MAP_FAILED);
    CHECK_OK(munmap(q, 3 * 16384));
    CHECK(shmat(id, q + 100, 0) == (void *)-1);
    CHECK_EQ(errno, EINVAL);
    char *r = shmat(id, q + 100, SHM_RND | SHM_RDONLY);
    CHECK(r == q);
    CHECK_OK(shmctl(id, IPC_STAT, &ds));
    CHECK_EQ(ds.shm_nattch, 2);
    /* Attaching over an existing mapping without SHM_REMAP fails. */
    CHECK(shmat(id, q, 0) == (void *)-1);
    CHECK_EQ(errno, EINVAL);
    /* SHM_RDONLY attachments cannot be made writable. */
    CHECK_ERR(mprotect(r, 4096, PROT_READ | PROT_WRITE), EACCES);

    /* Data written by a forked child shows in both attachments. */
    strcpy(p, "parent");
    pid_t pid = CHECK_OK(fork());
    if (pid == 0) {
        if (strcmp(p, "parent") != 0)
            _exit(2);
        struct shmid_ds cds;
        if (shmctl(id, IPC_STAT, &cds) != 0 || cds.shm_nattch != 4)
            _exit(3);
        strcpy(p + 5000, "from child");
        CHECK_OK(shmdt(p));
        _exit(0);
    }
    CHECK_EXITED(wait_status(pid), 0);
    CHECK_STREQ(p + 5000, "from child");
    CHECK_STREQ(r + 5000, "from child");

    /* shmdt needs a segment's start. */
    CHECK_ERR(shmdt(p + 1), EINVAL);
    CHECK_ERR(shmdt(p + 4096), EINVAL);
    CHECK_OK(shmdt(r));
    CHECK_ERR(shmdt(r), EINVAL);
    CHECK_OK(shmctl(id, IPC_STAT, &ds));
    CHECK_EQ(ds.shm_nattch, 1);

    /* IPC_SET changes the mode. */
    ds.shm_perm.mode = 0640;
    CHECK_OK(shmctl(id, IPC_SET, &ds));
    CHECK_OK(shmctl(id, IPC_STAT, &ds));
    CHECK_EQ(ds.shm_perm.mode & 0777, 0640);

    /* IPC_RMID while attached: the segment stays usable until detached. */
    CHECK_OK(shmctl(id, IPC_RMID, NULL));
    CHECK_OK(shmctl(id, IPC_STAT, &ds));
    CHECK(ds.shm_perm.mode & SHM_DEST);
    CHECK_EQ(ds.shm_perm.__key, IPC_PRIVATE);
    strcpy(p, "still here");
    CHECK_STREQ(p, "still here");
    CHECK_OK(shmdt(p));
    CHECK_ERR(shmctl(id, IPC_STAT, &ds), EINVAL);
    id = -1;

    /* Keys: IPC_CREAT|IPC_EXCL, ENOENT, size larger than the segment. */
    key_t key = (key_t)(0x52560000 | (getpid() & 0xffff));
    int k = shmget(key, 4096, IPC_CREAT | IPC_EXCL | 0600);
    if (k >= 0) {
        id = k;
        CHECK_ERR(shmget(key, 4096, IPC_CREAT | IPC_EXCL | 0600), EEXIST);
        CHECK_EQ(shmget(key, 100, 0), k);
        CHECK_EQ(shmget(key, 0, IPC_CREAT), k);
        CHECK_ERR(shmget(key, 8192, 0), EINVAL);
        CHECK_OK(shmctl(k, IPC_RMID, NULL));
        id = -1;
        CHECK_ERR(shmget(key, 4096, 0), ENOENT);
    } else {
        CHECK_EQ(errno, EEXIST); /* a stale host segment with our key */
    }
    return 0;
}
