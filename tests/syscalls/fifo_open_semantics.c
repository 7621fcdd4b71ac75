/* FIFOs (named pipes): mkfifo makes an S_IFIFO node; a non-blocking
 * write-only open fails with ENXIO until a reader has it open, while a
 * non-blocking read-only open always succeeds (and polls no hangup before a
 * writer has come); O_RDWR never blocks; a blocking open waits for the other
 * side (rendezvous between parent and child, either way round), fails
 * with EINTR when a signal without SA_RESTART arrives and restarts with it; data flows like a
 * pipe, with EOF once the writer closes; fstat shows the path's inode; the
 * pipe's size can be read and set; data is dropped once no end is open. */
#include "check.h"
#include <poll.h>
#include <signal.h>

static void on_usr1(int sig)
{
    (void)sig;
}

/* Opens path with flags (O_NONBLOCK added), retrying while it fails with
 * ENXIO: for a writer that waits until a reader has come. */
static int open_when_reader(const char *path, int flags)
{
    for (int i = 0; i < 5000; i++) {
        int fd = open(path, flags | O_NONBLOCK);
        if (fd >= 0 || errno != ENXIO)
            return fd;
        usleep(1000);
    }
    errno = ETIMEDOUT;
    return -1;
}

int main(void)
{
    alarm(10);
    make_tmpdir();
    const char *fifo = tpath("fifo");
    char buf[64];
    struct stat st, fst;

    umask(022);
    CHECK_OK(mkfifo(fifo, 0640));
    CHECK_ERR(mkfifo(fifo, 0600), EEXIST);
    CHECK_OK(stat(fifo, &st));
    CHECK(S_ISFIFO(st.st_mode));
    CHECK_EQ(st.st_mode & 07777, 0640);
    CHECK_EQ(st.st_size, 0);

    /* Non-blocking opens: a writer needs a reader, a reader needs nobody. */
    CHECK_ERR(open(fifo, O_WRONLY | O_NONBLOCK), ENXIO);
    int r = CHECK_OK(open(fifo, O_RDONLY | O_NONBLOCK));
    CHECK_EQ(read(r, buf, sizeof(buf)), 0); /* no writer: end of file */
    struct pollfd pfd = {.fd = r, .events = POLLIN};
    CHECK_EQ(poll(&pfd, 1, 0), 0); /* no hangup before any writer came */
    int w = CHECK_OK(open(fifo, O_WRONLY | O_NONBLOCK));
    CHECK_ERR(read(r, buf, sizeof(buf)), EAGAIN);
    CHECK_OK(fstat(r, &fst));
    CHECK(S_ISFIFO(fst.st_mode));
    CHECK_EQ(fst.st_ino, st.st_ino);
    CHECK_EQ(fst.st_dev, st.st_dev);
    CHECK_OK(fstat(w, &fst));
    CHECK(S_ISFIFO(fst.st_mode));
    CHECK_EQ(fst.st_ino, st.st_ino);
    CHECK_EQ(fcntl(r, F_GETFL) & O_ACCMODE, O_RDONLY);
    CHECK_EQ(fcntl(w, F_GETFL) & O_ACCMODE, O_WRONLY);
    CHECK_EQ(fcntl(w, F_GETPIPE_SZ), 65536);
    CHECK_EQ(fcntl(r, F_SETPIPE_SZ, 8192), 8192);
    CHECK_EQ(fcntl(w, F_GETPIPE_SZ), 8192);
    CHECK_EQ(write(w, "abc", 3), 3);
    CHECK_ERR(read(w, buf, 1), EBADF);
    CHECK_ERR(write(r, "x", 1), EBADF);
    CHECK_EQ(read(r, buf, sizeof(buf)), 3);
    CHECK_MEMEQ(buf, "abc", 3);
    CHECK_OK(close(w));
    CHECK_EQ(read(r, buf, sizeof(buf)), 0);
    CHECK_EQ(poll(&pfd, 1, 0), 1);
    CHECK_EQ(pfd.revents, POLLHUP);
    CHECK_OK(close(r));

    /* O_RDWR never blocks and is both ends; data left in a FIFO when its
     * last end closes is discarded, and the size is back to the default. */
    int rw = CHECK_OK(open(fifo, O_RDWR));
    CHECK_EQ(fcntl(rw, F_GETPIPE_SZ), 65536);
    CHECK_EQ(write(rw, "xy", 2), 2);
    CHECK_EQ(read(rw, buf, 1), 1);
    CHECK_EQ(buf[0], 'x');
    CHECK_OK(close(rw));
    rw = CHECK_OK(open(fifo, O_RDWR | O_NONBLOCK));
    CHECK_ERR(read(rw, buf, sizeof(buf)), EAGAIN);
    CHECK_OK(close(rw));

    /* Blocking rendezvous: the parent's reader waits for the child's writer. */
    pid_t pid = CHECK_OK(fork());
    if (pid == 0) {
        alarm(10);
        int cw = CHECK_OK(open(fifo, O_WRONLY));
        CHECK_EQ(write(cw, "from child", 10), 10);
        _exit(0);
    }
    r = CHECK_OK(open(fifo, O_RDONLY));
    size_t got = 0;
    for (;;) {
        ssize_t n = CHECK_OK(read(r, buf + got, sizeof(buf) - got));
        if (n == 0)
            break;
        got += (size_t)n;
    }
    CHECK_EQ(got, 10);
    CHECK_MEMEQ(buf, "from child", 10);
    CHECK_EXITED(wait_status(pid), 0);
    CHECK_OK(close(r));

    /* And the other way: the child's blocked reader already counts, so a
     * non-blocking writer can open; the parent's blocking writer then
     * needs no wait either. */
    pid = CHECK_OK(fork());
    if (pid == 0) {
        alarm(10);
        int cr = CHECK_OK(open(fifo, O_RDONLY));
        char cbuf[8];
        CHECK_EQ(read(cr, cbuf, sizeof(cbuf)), 4);
        CHECK_MEMEQ(cbuf, "ping", 4);
        CHECK_EQ(read(cr, cbuf, sizeof(cbuf)), 0);
        _exit(0);
    }
    w = CHECK_OK(open_when_reader(fifo, O_WRONLY));
    int w2 = CHECK_OK(open(fifo, O_WRONLY));
    CHECK_OK(close(w));
    CHECK_EQ(write(w2, "ping", 4), 4);
    CHECK_OK(close(w2));
    CHECK_EXITED(wait_status(pid), 0);

    /* A signal without SA_RESTART interrupts a blocking open, and the
     * interrupted reader no longer counts. */
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_usr1;
    CHECK_OK(sigaction(SIGUSR1, &sa, NULL));
    pid_t parent = getpid();
    pid = CHECK_OK(fork());
    if (pid == 0) {
        usleep(100 * 1000);
        kill(parent, SIGUSR1);
        _exit(0);
    }
    CHECK_ERR(open(fifo, O_RDONLY), EINTR);
    CHECK_EXITED(wait_status(pid), 0);
    CHECK_ERR(open(fifo, O_WRONLY | O_NONBLOCK), ENXIO);

    /* With SA_RESTART the open restarts after the handler and completes
     * once a writer comes. */
    sa.sa_flags = SA_RESTART;
    CHECK_OK(sigaction(SIGUSR1, &sa, NULL));
    pid = CHECK_OK(fork());
    if (pid == 0) {
        usleep(100 * 1000);
        kill(parent, SIGUSR1);
        usleep(100 * 1000);
        int cw = CHECK_OK(open(fifo, O_WRONLY));
        CHECK_EQ(write(cw, "!", 1), 1);
        _exit(0);
    }
    r = CHECK_OK(open(fifo, O_RDONLY));
    CHECK_EQ(read(r, buf, sizeof(buf)), 1);
    CHECK_EQ(buf[0], '!');
    CHECK_EXITED(wait_status(pid), 0);
    CHECK_OK(close(r));

    CHECK_OK(unlink(fifo));
    return 0;
}
