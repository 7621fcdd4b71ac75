/* splice moves data file->pipe, pipe->file (with or without offsets) and
 * pipe->pipe; offsets on a pipe are ESPIPE, two non-pipes EINVAL, the
 * same pipe on both sides EINVAL, an empty pipe with SPLICE_F_NONBLOCK
 * EAGAIN and with no writer 0. tee copies without consuming; vmsplice
 * moves user iovecs into a pipe and back out. */
#include "check.h"

#include <sys/uio.h>

int main(void)
{
    alarm(10);
    make_tmpdir();
    const char *src = tpath("src");
    const char *dst = tpath("dst");
    char data[8192];
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (char)('A' + i % 26);
    write_file(src, data, sizeof(data), 0644);
    int in = CHECK_OK(open(src, O_RDONLY));
    int out = CHECK_OK(open(dst, O_RDWR | O_CREAT | O_TRUNC, 0644));
    int p[2], q[2];
    CHECK_OK(pipe(p));
    CHECK_OK(pipe(q));
    char got[8192];

    /* file -> pipe with an offset: the file position stays. */
    loff_t off = 10;
    CHECK_EQ(splice(in, &off, p[1], NULL, 100, 0), 100);
    CHECK_EQ(off, 110);
    CHECK_EQ(lseek(in, 0, SEEK_CUR), 0);
    /* pipe -> file at the file position. */
    CHECK_EQ(splice(p[0], NULL, out, NULL, 1000, SPLICE_F_MOVE | SPLICE_F_MORE), 100);
    CHECK_EQ(lseek(out, 0, SEEK_CUR), 100);
    CHECK_EQ(pread(out, got, sizeof(got), 0), 100);
    CHECK_MEMEQ(got, data + 10, 100);

    /* file -> pipe at the file position, pipe -> file at an offset. */
    CHECK_EQ(lseek(in, 1000, SEEK_SET), 1000);
    CHECK_EQ(splice(in, NULL, p[1], NULL, 50, 0), 50);
    CHECK_EQ(lseek(in, 0, SEEK_CUR), 1050);
    off = 4000;
    CHECK_EQ(splice(p[0], NULL, out, &off, 50, 0), 50);
    CHECK_EQ(off, 4050);
    CHECK_EQ(lseek(out, 0, SEEK_CUR), 100);
    CHECK_EQ(pread(out, got, 50, 4000), 50);
    CHECK_MEMEQ(got, data + 1000, 50);
    /* At the end of the input file: 0. */
    off = sizeof(data);
    CHECK_EQ(splice(in, &off, p[1], NULL, 50, 0), 0);

    /* Errors. */
    off = 0;
    CHECK_ERR(splice(p[0], &off, out, NULL, 10, 0), ESPIPE);
    CHECK_ERR(splice(in, NULL, p[1], &off, 10, 0), ESPIPE);
    CHECK_ERR(splice(in, NULL, out, NULL, 10, 0), EINVAL);
    CHECK_ERR(splice(p[0], NULL, p[1], NULL, 10, 0), EINVAL);
    CHECK_ERR(splice(p[0], NULL, out, NULL, 10, 0x100), EINVAL);
    CHECK_ERR(splice(-1, NULL, p[1], NULL, 10, 0), EBADF);
    CHECK_ERR(splice(p[1], NULL, out, NULL, 10, 0), EBADF);
    CHECK_EQ(splice(p[0], NULL, out, NULL, 0, 0), 0);
    CHECK_ERR(splice(p[0], NULL, out, NULL, 10, SPLICE_F_NONBLOCK), EAGAIN);
    int app = CHECK_OK(open(dst, O_WRONLY | O_APPEND));
    CHECK_EQ(write(p[1], "xy", 2), 2);
    CHECK_ERR(splice(p[0], NULL, app, NULL, 2, 0), EINVAL);
    close(app);

    /* pipe -> pipe, then tee: q gets a copy and p keeps its data. */
    CHECK_EQ(write(p[1], "hello", 5), 5);
    CHECK_EQ(splice(p[0], NULL, q[1], NULL, 100, 0), 7);
    CHECK_EQ(read(q[0], got, sizeof(got)), 7);
    CHECK_MEMEQ(got, "xyhello", 7);
    CHECK_EQ(write(p[1], "teedata", 7), 7);
    CHECK_EQ(tee(p[0], q[1], 3, 0), 3);
    CHECK_EQ(tee(p[0], q[1], 100, 0), 7);
    CHECK_EQ(read(q[0], got, sizeof(got)), 10);
    CHECK_MEMEQ(got, "teeteedata", 10);
    CHECK_EQ(read(p[0], got, sizeof(got)), 7);
    CHECK_MEMEQ(got, "teedata", 7);
    CHECK_ERR(tee(p[0], q[1], 10, SPLICE_F_NONBLOCK), EAGAIN);
    CHECK_ERR(tee(p[0], p[1], 10, 0), EINVAL);
    CHECK_ERR(tee(in, q[1], 10, 0), EINVAL);
    CHECK_ERR(tee(p[0], out, 10, 0), EINVAL);
    CHECK_ERR(tee(p[1], q[1], 10, 0), EBADF);
    CHECK_EQ(tee(p[0], q[1], 0, 0), 0);

    /* A blocking splice waits for a writer. */
    pid_t pid = CHECK_OK(fork());
    if (pid == 0) {
        usleep(100000);
        if (write(p[1], "late", 4) != 4)
            _exit(1);
        _exit(0);
    }
    CHECK_EQ(splice(p[0], NULL, q[1], NULL, 100, 0), 4);
    int status;
    CHECK_EQ(waitpid(pid, &status, 0), pid);
    CHECK_EXITED(status, 0);
    CHECK_EQ(read(q[0], got, sizeof(got)), 4);
    CHECK_MEMEQ(got, "late", 4);

    /* vmsplice: iovecs into the pipe, and out again. */
    struct iovec iov[2] = {{"abc", 3}, {"defg", 4}};
    CHECK_EQ(vmsplice(p[1], iov, 2, 0), 7);
    char a[2], b[10];
    struct iovec riov[2] = {{a, sizeof(a)}, {b, sizeof(b)}};
    CHECK_EQ(vmsplice(p[0], riov, 2, 0), 7);
    CHECK_MEMEQ(a, "ab", 2);
    CHECK_MEMEQ(b, "cdefg", 5);
    CHECK_ERR(vmsplice(p[0], riov, 2, SPLICE_F_NONBLOCK), EAGAIN);
    CHECK_ERR(vmsplice(in, iov, 2, 0), EBADF);
    CHECK_ERR(vmsplice(p[1], iov, 2, 0x100), EINVAL);
    CHECK_EQ(vmsplice(p[1], iov, 0, 0), 0);

    /* No writer left: splice and tee from the empty pipe give 0. */
    close(p[1]);
    CHECK_EQ(splice(p[0], NULL, out, NULL, 10, 0), 0);
    CHECK_EQ(splice(p[0], NULL, q[1], NULL, 10, 0), 0);
    CHECK_EQ(tee(p[0], q[1], 10, 0), 0);

    /* No reader: EPIPE (SIGPIPE ignored). */
    signal(SIGPIPE, SIG_IGN);
    close(q[0]);
    CHECK_ERR(splice(in, NULL, q[1], NULL, 10, 0), EPIPE);
    CHECK_ERR(vmsplice(q[1], iov, 2, 0), EPIPE);
    return 0;
}
