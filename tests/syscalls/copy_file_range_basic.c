/* copy_file_range: copies with explicit offsets (file positions left
 * alone) and with file positions (advanced), stops at the input's end,
 * and rejects what Linux 6.x rejects: flags, overlapping ranges in one
 * file (EINVAL), non-regular files (EINVAL/EISDIR), an O_APPEND or
 * read-only output (EBADF), negative offsets (EOVERFLOW). */
#include "check.h"

int main(void)
{
    alarm(10);
    make_tmpdir();
    const char *src = tpath("src");
    const char *dst = tpath("dst");
    char data[10000];
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (char)('a' + i % 26);
    write_file(src, data, sizeof(data), 0644);
    int in = CHECK_OK(open(src, O_RDONLY));
    int out = CHECK_OK(open(dst, O_RDWR | O_CREAT | O_TRUNC, 0644));

    /* Explicit offsets: the file positions do not move. */
    loff_t oi = 100, oo = 0;
    CHECK_EQ(copy_file_range(in, &oi, out, &oo, 500, 0), 500);
    CHECK_EQ(oi, 600);
    CHECK_EQ(oo, 500);
    CHECK_EQ(lseek(in, 0, SEEK_CUR), 0);
    CHECK_EQ(lseek(out, 0, SEEK_CUR), 0);
    char got[10000];
    CHECK_EQ(pread(out, got, sizeof(got), 0), 500);
    CHECK_MEMEQ(got, data + 100, 500);

    /* File positions: both advance; the copy stops at the input's end. */
    CHECK_EQ(lseek(in, 9000, SEEK_SET), 9000);
    CHECK_EQ(lseek(out, 500, SEEK_SET), 500);
    CHECK_EQ(copy_file_range(in, NULL, out, NULL, 5000, 0), 1000);
    CHECK_EQ(lseek(in, 0, SEEK_CUR), 10000);
    CHECK_EQ(lseek(out, 0, SEEK_CUR), 1500);
    CHECK_EQ(pread(out, got, sizeof(got), 500), 1000);
    CHECK_MEMEQ(got, data + 9000, 1000);
    /* At or past the end: 0. */
    CHECK_EQ(copy_file_range(in, NULL, out, NULL, 100, 0), 0);
    oi = 20000;
    CHECK_EQ(copy_file_range(in, &oi, out, NULL, 100, 0), 0);
    CHECK_EQ(copy_file_range(in, NULL, out, NULL, 0, 0), 0);

    /* Argument errors. */
    CHECK_ERR(copy_file_range(in, NULL, out, NULL, 10, 1), EINVAL);
    CHECK_ERR(copy_file_range(-1, NULL, out, NULL, 10, 0), EBADF);
    CHECK_ERR(copy_file_range(in, NULL, 999, NULL, 10, 0), EBADF);
    oi = -1;
    CHECK_ERR(copy_file_range(in, &oi, out, NULL, 10, 0), EOVERFLOW);
    /* The output opened read-only, the input write-only. */
    CHECK_ERR(copy_file_range(out, NULL, in, NULL, 10, 0), EBADF);
    int wo = CHECK_OK(open(src, O_WRONLY));
    CHECK_ERR(copy_file_range(wo, NULL, out, NULL, 10, 0), EBADF);
    close(wo);
    int app = CHECK_OK(open(dst, O_WRONLY | O_APPEND));
    CHECK_ERR(copy_file_range(in, NULL, app, NULL, 10, 0), EBADF);
    close(app);

    /* Same file: overlapping ranges are EINVAL, disjoint ones copy. */
    int rw = CHECK_OK(open(src, O_RDWR));
    oi = 0;
    oo = 100;
    CHECK_ERR(copy_file_range(rw, &oi, rw, &oo, 200, 0), EINVAL);
    oi = 0;
    oo = 5000;
    CHECK_EQ(copy_file_range(rw, &oi, rw, &oo, 200, 0), 200);
    CHECK_EQ(pread(rw, got, 200, 5000), 200);
    CHECK_MEMEQ(got, data, 200);
    close(rw);

    /* Non-regular files. */
    int p[2];
    CHECK_OK(pipe(p));
    CHECK_ERR(copy_file_range(p[0], NULL, out, NULL, 10, 0), EINVAL);
    CHECK_ERR(copy_file_range(in, NULL, p[1], NULL, 10, 0), EINVAL);
    int dir = CHECK_OK(open(tpath("."), O_RDONLY | O_DIRECTORY));
    CHECK_ERR(copy_file_range(dir, NULL, out, NULL, 10, 0), EISDIR);
    close(dir);
    close(p[0]);
    close(p[1]);
    close(in);
    close(out);
    return 0;
}
