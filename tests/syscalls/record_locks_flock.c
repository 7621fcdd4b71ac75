/* Record locks between processes: F_GETLK reports the conflicting lock
 * (type, range, owner pid), F_SETLK fails with EAGAIN, locks split and
 * merge by range, F_SETLKW sleeps until the holder unlocks, a blocking
 * request that would close a wait cycle fails with EDEADLK, and closing
 * any fd of the file drops the process's locks. OFD locks: owned by the
 * open file description (l_pid -1 in F_OFD_GETLK), conflicting across
 * descriptions even within one process and with POSIX locks, kept across
 * dup and fork, released when the last fd of the description closes.
 * flock: LOCK_SH/LOCK_EX/LOCK_NB/LOCK_UN, EWOULDBLOCK, a failed
 * conversion drops the old lock, independence from fcntl locks. */
#include "check.h"

#include <poll.h>
#include <sys/file.h>

static int setlk(int fd, int cmd, short type, off_t start, off_t len)
{
    struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
    return fcntl(fd, cmd, &fl);
}

/* F_GETLK (or F_OFD_GETLK) for a lock of `type` on [start, start+len). */
static struct flock getlk(int fd, int cmd, short type, off_t start, off_t len)
{
    struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
    CHECK_OK(fcntl(fd, cmd, &fl));
    return fl;
}

#define CHECK_LOCK(fl, type, start, len, pid)                              \
    do {                                                                   \
        struct flock _l = (fl);                                            \
        CHECK_EQ(_l.l_type, (type));                                       \
        CHECK_EQ(_l.l_whence, SEEK_SET);                                   \
        CHECK_EQ(_l.l_start, (start));                                     \
        CHECK_EQ(_l.l_len, (len));                                         \
        CHECK_EQ(_l.l_pid, (pid));                                         \
    } while (0)

static void send_byte(int fd, char c)
{
    CHECK_EQ(write(fd, &c, 1), 1);
}

static char recv_byte(int fd)
{
    char c;
    CHECK_EQ(read(fd, &c, 1), 1);
    return c;
}

/* Whether fd becomes readable within ms milliseconds. */
static int readable_within(int fd, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return CHECK_OK(poll(&p, 1, ms));
}

static void posix_locks(const char *path)
{
    int fd = CHECK_OK(open(path, O_RDWR | O_CREAT, 0644));
    pid_t me = getpid();
    CHECK_OK(setlk(fd, F_SETLK, F_RDLCK, 0, 100));
    CHECK_OK(setlk(fd, F_SETLK, F_WRLCK, 40, 20));
    /* Our own locks never conflict with us. */
    CHECK_LOCK(getlk(fd, F_GETLK, F_WRLCK, 0, 0), F_UNLCK, 0, 0, 0);

    int to_child[2], to_parent[2];
    CHECK_OK(pipe(to_child));
    CHECK_OK(pipe(to_parent));
    pid_t pid = CHECK_OK(fork());
    if (pid == 0) {
        /* The write lock split the read lock into three pieces. */
        CHECK_LOCK(getlk(fd, F_GETLK, F_WRLCK, 10, 1), F_RDLCK, 0, 40, me);
        CHECK_LOCK(getlk(fd, F_GETLK, F_RDLCK, 50, 100), F_WRLCK, 40, 20, me);
        CHECK_LOCK(getlk(fd, F_GETLK, F_WRLCK, 70, 1), F_RDLCK, 60, 40, me);
        CHECK_LOCK(getlk(fd, F_GETLK, F_WRLCK, 100, 0), F_UNLCK, 100, 0, 0);
        /* Read locks share; write locks conflict. */
        CHECK_OK(setlk(fd, F_SETLK, F_RDLCK, 0, 10));
        CHECK_ERR(setlk(fd, F_SETLK, F_WRLCK, 0, 10), EAGAIN);
        CHECK_ERR(setlk(fd, F_SETLK, F_RDLCK, 45, 1), EAGAIN);
        CHECK_OK(setlk(fd, F_SETLK, F_WRLCK, 100, 0));
        /* A blocking request sleeps until the parent unlocks. */
        send_byte(to_parent[1], 'w');
        CHECK_OK(setlk(fd, F_SETLKW, F_WRLCK, 40, 20));
        send_byte(to_parent[1], 'g');
        CHECK_EQ(recv_byte(to_child[0]), 'q');
        _exit(0);
    }
    CHECK_EQ(recv_byte(to_parent[0]), 'w');
    CHECK_EQ(readable_within(to_parent[0], 200), 0);
    /* The child's read lock on [0,10) and write lock from 100 show. */
    CHECK_LOCK(getlk(fd, F_GETLK, F_WRLCK, 0, 0), F_RDLCK, 0, 10, pid);
    CHECK_LOCK(getlk(fd, F_GETLK, F_RDLCK, 200, 5), F_WRLCK, 100, 0, pid);
    CHECK_ERR(setlk(fd, F_SETLK, F_WRLCK, 5, 1), EAGAIN);
    CHECK_OK(setlk(fd, F_SETLK, F_UNLCK, 40, 20));
    CHECK_EQ(recv_byte(to_parent[0]), 'g');
    CHECK_LOCK(getlk(fd, F_GETLK, F_RDLCK, 45, 1), F_WRLCK, 40, 20, pid);
    send_byte(to_child[1], 'q');
    CHECK_EXITED(wait_status(pid), 0);
    /* The child's locks went with it. */
    CHECK_LOCK(getlk(fd, F_GETLK, F_WRLCK, 0, 0), F_UNLCK, 0, 0, 0);

    /* Deadlock: we hold [0,1) and the child [1,2); the child waits for
     * ours, so our wait for its lock would close the cycle. */
    CHECK_OK(setlk(fd, F_SETLK, F_UNLCK, 0, 0));
    CHECK_OK(setlk(fd, F_SETLK, F_WRLCK, 0, 1));
    pid = CHECK_OK(fork());
    if (pid == 0) {
        CHECK_OK(setlk(fd, F_SETLK, F_WRLCK, 1, 1));
        send_byte(to_parent[1], 'b');
        CHECK_OK(setlk(fd, F_SETLKW, F_WRLCK, 0, 1));
        send_byte(to_parent[1], 'a');
        _exit(0);
    }
    CHECK_EQ(recv_byte(to_parent[0]), 'b');
    /* Give the child time to start waiting for [0,1). */
    CHECK_EQ(readable_within(to_parent[0], 300), 0);
    CHECK_ERR(setlk(fd, F_SETLKW, F_WRLCK, 1, 1), EDEADLK);
    /* A non-blocking request is never a deadlock. */
    CHECK_ERR(setlk(fd, F_SETLK, F_WRLCK, 1, 1), EAGAIN);
    CHECK_OK(setlk(fd, F_SETLK, F_UNLCK, 0, 1));
    CHECK_EQ(recv_byte(to_parent[0]), 'a');
    CHECK_EXITED(wait_status(pid), 0);

    /* Closing any fd of the file drops all of our locks on it. */
    CHECK_OK(setlk(fd, F_SETLK, F_WRLCK, 0, 10));
    int other = CHECK_OK(open(path, O_RDONLY));
    CHECK_OK(close(other));
    pid = CHECK_OK(fork());
    if (pid == 0) {
        CHECK_LOCK(getlk(fd, F_GETLK, F_WRLCK, 0, 10), F_UNLCK, 0, 10, 0);
        _exit(0);
    }
    CHECK_EXITED(wait_status(pid), 0);

    /* Argument errors. */
    int ro = CHECK_OK(open(path, O_RDONLY));
    CHECK_ERR(setlk(ro, F_SETLK, F_WRLCK, 0, 1), EBADF);
    CHECK_OK(setlk(ro, F_SETLK, F_RDLCK, 0, 1));
    CHECK_ERR(setlk(fd, F_SETLK, 7, 0, 1), EINVAL);
    CHECK_ERR(setlk(fd, F_SETLK, F_WRLCK, -1, 1), EINVAL);
    struct flock bad = {.l_type = F_WRLCK, .l_whence = 5, .l_start = 0, .l_len = 1};
    CHECK_ERR(fcntl(fd, F_SETLK, &bad), EINVAL);
    CHECK_ERR(fcntl(fd, F_SETLK, (struct flock *)8), EFAULT);
    /* A negative length locks the bytes before l_start. */
    CHECK_OK(setlk(fd, F_SETLK, F_WRLCK, 20, -5));
    pid = CHECK_OK(fork());
    if (pid == 0) {
        CHECK_LOCK(getlk(fd, F_GETLK, F_RDLCK, 0, 0), F_WRLCK, 15, 5, me);
        _exit(0);
    }
    CHECK_EXITED(wait_status(pid), 0);
    CHECK_OK(close(ro));
    CHECK_OK(close(fd));
}

static void ofd_locks(const char *path)
{
    int a = CHECK_OK(open(path, O_RDWR));
    int b = CHECK_OK(open(path, O_RDWR));
    /* l_pid must be 0. */
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 10, .l_pid = 1};
    CHECK_ERR(fcntl(a, F_OFD_SETLK, &fl), EINVAL);
    CHECK_OK(setlk(a, F_OFD_SETLK, F_WRLCK, 0, 10));
    /* Two descriptions of one process conflict. */
    CHECK_ERR(setlk(b, F_OFD_SETLK, F_WRLCK, 5, 1), EAGAIN);
    CHECK_LOCK(getlk(b, F_OFD_GETLK, F_RDLCK, 5, 1), F_WRLCK, 0, 10, -1);
    /* So do our own POSIX locks through another description. */
    CHECK_ERR(setlk(b, F_SETLK, F_RDLCK, 0, 1), EAGAIN);
    CHECK_LOCK(getlk(b, F_GETLK, F_WRLCK, 0, 1), F_WRLCK, 0, 10, -1);
    /* Through the same description there is no conflict. */
    CHECK_LOCK(getlk(a, F_OFD_GETLK, F_WRLCK, 0, 10), F_UNLCK, 0, 10, 0);
    CHECK_OK(setlk(a, F_OFD_SETLK, F_RDLCK, 0, 5));

    /* A dup shares the lock; closing it does not drop it. */
    int a2 = CHECK_OK(dup(a));
    CHECK_OK(close(a2));
    CHECK_LOCK(getlk(b, F_OFD_GETLK, F_WRLCK, 0, 0), F_RDLCK, 0, 5, -1);
    /* A forked child shares the description, hence the lock. */
    pid_t pid = CHECK_OK(fork());
    if (pid == 0) {
        CHECK_OK(setlk(a, F_OFD_SETLK, F_WRLCK, 0, 10));
        CHECK_ERR(setlk(b, F_OFD_SETLK, F_RDLCK, 0, 1), EAGAIN);
        _exit(0);
    }
    CHECK_EXITED(wait_status(pid), 0);
    /* The child's change to the shared lock stays after it exits. */
    CHECK_LOCK(getlk(b, F_OFD_GETLK, F_RDLCK, 0, 0), F_WRLCK, 0, 10, -1);
    CHECK_ERR(setlk(a, F_OFD_SETLKW, 9, 0, 1), EINVAL);

    /* Blocking OFD lock: b waits in a child until a's lock goes. */
    int to_parent[2];
    CHECK_OK(pipe(to_parent));
    pid = CHECK_OK(fork());
    if (pid == 0) {
        CHECK_OK(close(a));
        send_byte(to_parent[1], 'w');
        CHECK_OK(setlk(b, F_OFD_SETLKW, F_WRLCK, 0, 1));
        send_byte(to_parent[1], 'g');
        _exit(0);
    }
    CHECK_EQ(recv_byte(to_parent[0]), 'w');
    CHECK_EQ(readable_within(to_parent[0], 200), 0);
    /* Closing the last fd of a's description releases its lock. */
    CHECK_OK(close(a));
    CHECK_EQ(recv_byte(to_parent[0]), 'g');
    CHECK_EXITED(wait_status(pid), 0);
    /* b's lock (taken by the child) lives on in our b. */
    int c = CHECK_OK(open(path, O_RDWR));
    CHECK_LOCK(getlk(c, F_OFD_GETLK, F_RDLCK, 0, 0), F_WRLCK, 0, 1, -1);
    CHECK_OK(close(b));
    CHECK_LOCK(getlk(c, F_OFD_GETLK, F_WRLCK, 0, 0), F_UNLCK, 0, 0, 0);
    CHECK_OK(close(c));
}

static void flocks(const char *path)
{
    int a = CHECK_OK(open(path, O_RDWR));
    int b = CHECK_OK(open(path, O_RDWR));
    int c = CHECK_OK(open(path, O_RDONLY));
    CHECK_OK(flock(a, LOCK_EX));
    CHECK_ERR(flock(b, LOCK_EX | LOCK_NB), EWOULDBLOCK);
    CHECK_ERR(flock(b, LOCK_SH | LOCK_NB), EWOULDBLOCK);
    /* Taking it again through the same description is fine. */
    CHECK_OK(flock(a, LOCK_EX | LOCK_NB));
    /* flock and fcntl locks do not see each other. */
    CHECK_OK(setlk(b, F_SETLK, F_WRLCK, 0, 0));
    CHECK_OK(setlk(b, F_SETLK, F_UNLCK, 0, 0));
    CHECK_OK(flock(a, LOCK_UN));
    CHECK_OK(flock(a, LOCK_UN));

    /* Shared locks share; a read-only fd may hold LOCK_EX too. */
    CHECK_OK(flock(b, LOCK_SH));
    CHECK_OK(flock(c, LOCK_SH | LOCK_NB));
    CHECK_ERR(flock(a, LOCK_EX | LOCK_NB), EWOULDBLOCK);
    /* A failed conversion has already dropped b's shared lock. */
    CHECK_ERR(flock(b, LOCK_EX | LOCK_NB), EWOULDBLOCK);
    CHECK_OK(flock(c, LOCK_UN));
    CHECK_OK(flock(a, LOCK_EX | LOCK_NB));
    CHECK_OK(flock(a, LOCK_UN));
    CHECK_OK(flock(c, LOCK_EX | LOCK_NB));
    CHECK_OK(flock(c, LOCK_UN));

    /* Errors. */
    CHECK_ERR(flock(a, 0), EINVAL);
    CHECK_ERR(flock(a, LOCK_NB), EINVAL);
    CHECK_ERR(flock(a, LOCK_SH | LOCK_EX), EINVAL);
    CHECK_ERR(flock(999, LOCK_SH), EBADF);
    int opath = CHECK_OK(open(path, O_PATH));
    CHECK_ERR(flock(opath, LOCK_SH), EBADF);

    /* A blocked LOCK_EX in a child waits for our LOCK_UN; a forked
     * child shares our description's lock and can drop it for us. */
    CHECK_OK(flock(a, LOCK_EX));
    int to_parent[2];
    CHECK_OK(pipe(to_parent));
    pid_t pid = CHECK_OK(fork());
    if (pid == 0) {
        int mine = CHECK_OK(open(path, O_RDWR));
        send_byte(to_parent[1], 'w');
        CHECK_OK(flock(mine, LOCK_EX));
        send_byte(to_parent[1], 'g');
        CHECK_OK(flock(mine, LOCK_UN));
        _exit(0);
    }
    CHECK_EQ(recv_byte(to_parent[0]), 'w');
    CHECK_EQ(readable_within(to_parent[0], 200), 0);
    pid_t helper = CHECK_OK(fork());
    if (helper == 0) {
        CHECK_OK(flock(a, LOCK_UN));
        _exit(0);
    }
    CHECK_EXITED(wait_status(helper), 0);
    CHECK_EQ(recv_byte(to_parent[0]), 'g');
    CHECK_EXITED(wait_status(pid), 0);
    CHECK_OK(flock(b, LOCK_EX | LOCK_NB));
    /* Closing the description's last fd releases the flock. */
    CHECK_OK(close(b));
    CHECK_OK(flock(a, LOCK_EX | LOCK_NB));
    CHECK_OK(close(a));
    CHECK_OK(close(c));
}

int main(void)
{
    alarm(20);
    make_tmpdir();
    posix_locks(tpath("posix"));
    write_file(tpath("ofd"), "", 0, 0644);
    ofd_locks(tpath("ofd"));
    write_file(tpath("flock"), "", 0, 0644);
    flocks(tpath("flock"));
    return 0;
}
