/* sendfile: file to pipe and file to file, with and without an offset
 * pointer, short counts at EOF, offset bookkeeping, EINVAL/EBADF. */
#include "check.h"
#include <sys/sendfile.h>

int main(void)
{
    alarm(10);
    make_tmpdir();
    char buf[64];
    write_file(tpath("src"), "abcdefghijklmnopqrstuvwxyz", 26, 0644);
    int in = CHECK_OK(open(tpath("src"), O_RDONLY));
    int p[2];
    CHECK_OK(pipe(p));

    /* With an offset pointer: the pointer advances, the fd offset not. */
    off_t off = 3;
    CHECK_EQ(sendfile(p[1], in, &off, 5), 5);
    CHECK_EQ(off, 8);
    CHECK_EQ(lseek(in, 0, SEEK_CUR), 0);
    CHECK_EQ(read(p[0], buf, sizeof(buf)), 5);
    CHECK_MEMEQ(buf, "defgh", 5);

    /* Without: the fd offset advances. */
    CHECK_EQ(lseek(in, 20, SEEK_SET), 20);
    CHECK_EQ(sendfile(p[1], in, NULL, 100), 6);
    CHECK_EQ(lseek(in, 0, SEEK_CUR), 26);
    CHECK_EQ(read(p[0], buf, sizeof(buf)), 6);
    CHECK_MEMEQ(buf, "uvwxyz", 6);
    CHECK_EQ(sendfile(p[1], in, NULL, 100), 0);
    off = 100;
    CHECK_EQ(sendfile(p[1], in, &off, 10), 0);
    CHECK_EQ(sendfile(p[1], in, NULL, 0), 0);

    /* File to file. */
    int out = CHECK_OK(open(tpath("dst"), O_WRONLY | O_CREAT | O_TRUNC, 0644));
    off = 0;
    CHECK_EQ(sendfile(out, in, &off, 26), 26);
    CHECK_OK(close(out));
    CHECK_EQ(read_file(tpath("dst"), buf, sizeof(buf)), 26);
    CHECK_STREQ(buf, "abcdefghijklmnopqrstuvwxyz");

    /* Larger than the pipe can take at once, with a reader in a child. */
    static char big[200000];
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (char)('a' + i % 23);
    write_file(tpath("big"), big, sizeof(big), 0644);
    int bin = CHECK_OK(open(tpath("big"), O_RDONLY));
    pid_t pid = CHECK_OK(fork());
    if (pid == 0) {
        close(p[1]);
        static char got[sizeof(big)];
        size_t total = 0;
        ssize_t n;
        while ((n = read(p[0], got + total, sizeof(got) - total)) > 0)
            total += (size_t)n;
        CHECK_EQ(total, sizeof(big));
        CHECK_MEMEQ(got, big, sizeof(big));
        _exit(0);
    }
    size_t sent = 0;
    while (sent < sizeof(big)) {
        ssize_t n = CHECK_OK(sendfile(p[1], bin, NULL, sizeof(big) - sent));
        CHECK(n > 0);
        sent += (size_t)n;
    }
    CHECK_OK(close(p[1]));
    CHECK_EXITED(wait_status(pid), 0);

    /* Errors. */
    CHECK_OK(pipe(p));
    int ro = CHECK_OK(open(tpath("dst"), O_RDONLY));
    CHECK_ERR(sendfile(ro, in, NULL, 1), EBADF);
    int wo = CHECK_OK(open(tpath("dst"), O_WRONLY));
    CHECK_ERR(sendfile(p[1], wo, NULL, 1), EBADF);
    CHECK_ERR(sendfile(p[1], 999, NULL, 1), EBADF);
    off = -1;
    CHECK_ERR(sendfile(p[1], in, &off, 1), EINVAL);
    return 0;
}
