/* getdents64: full listing incl. "." and "..", d_type and d_ino, small
 * buffers, end of directory, rewind via lseek, ENOTDIR, removed dirs. */
#include "check.h"
#include <dirent.h>
#include <sys/syscall.h>

struct ent {
    char name[256];
    unsigned char type;
    unsigned long long ino;
};

static int list(int fd, struct ent *out, int cap, size_t bufsz)
{
    char buf[4096];
    int n = 0;
    for (;;) {
        long got = syscall(SYS_getdents64, fd, buf, bufsz);
        if (got < 0)
            FAILF("getdents64");
        if (got == 0)
            return n;
        for (long off = 0; off < got;) {
            struct dirent64 *d = (struct dirent64 *)(buf + off);
            if (n == cap)
                FAILF("too many entries");
            snprintf(out[n].name, sizeof(out[n].name), "%s", d->d_name);
            out[n].type = d->d_type;
            out[n].ino = d->d_ino;
            n++;
            off += d->d_reclen;
        }
    }
}

static const struct ent *find(const struct ent *e, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(e[i].name, name) == 0)
            return &e[i];
    return NULL;
}

int main(void)
{
    alarm(10);
    make_tmpdir();
    write_file(tpath("alpha"), "a", 1, 0644);
    write_file(tpath("beta"), "b", 1, 0644);
    CHECK_OK(mkdir(tpath("gamma"), 0755));
    CHECK_OK(symlink("alpha", tpath("delta")));

    int fd = CHECK_OK(open(rvt_tmpdir, O_RDONLY | O_DIRECTORY));
    struct ent e[32];
    int n = list(fd, e, 32, 4096);
    CHECK_EQ(n, 6);
    const char *names[] = {".", "..", "alpha", "beta", "gamma", "delta"};
    const unsigned char types[] = {DT_DIR, DT_DIR, DT_REG, DT_REG, DT_DIR, DT_LNK};
    for (int i = 0; i < 6; i++) {
        const struct ent *x = find(e, n, names[i]);
        if (!x)
            FAILF("entry %s missing", names[i]);
        CHECK_EQ(x->type, types[i]);
    }
    struct stat st;
    CHECK_OK(lstat(tpath("beta"), &st));
    CHECK_EQ(find(e, n, "beta")->ino, st.st_ino);
    CHECK_OK(stat(rvt_tmpdir, &st));
    CHECK_EQ(find(e, n, ".")->ino, st.st_ino);

    /* At the end, more calls return 0; lseek(0) rewinds. */
    char buf[4096];
    CHECK_EQ(syscall(SYS_getdents64, fd, buf, sizeof(buf)), 0);
    CHECK_EQ(lseek(fd, 0, SEEK_SET), 0);
    struct ent e2[32];
    CHECK_EQ(list(fd, e2, 32, 64), 6); /* one small entry per call */

    /* A buffer too small for any entry is EINVAL. */
    CHECK_EQ(lseek(fd, 0, SEEK_SET), 0);
    CHECK_ERR(syscall(SYS_getdents64, fd, buf, 8), EINVAL);

    /* Entries created and removed are reflected after a rewind. */
    CHECK_OK(unlink(tpath("beta")));
    write_file(tpath("epsilon"), "e", 1, 0644);
    CHECK_EQ(lseek(fd, 0, SEEK_SET), 0);
    n = list(fd, e, 32, sizeof(buf));
    CHECK_EQ(n, 6);
    CHECK(find(e, n, "beta") == NULL);
    CHECK(find(e, n, "epsilon") != NULL);
    CHECK_OK(close(fd));

    /* Not a directory / bad fd. */
    int ffd = CHECK_OK(open(tpath("alpha"), O_RDONLY));
    CHECK_ERR(syscall(SYS_getdents64, ffd, buf, sizeof(buf)), ENOTDIR);
    CHECK_ERR(syscall(SYS_getdents64, 999, buf, sizeof(buf)), EBADF);

    /* An empty directory lists only "." and "..". */
    int gfd = CHECK_OK(open(tpath("gamma"), O_RDONLY | O_DIRECTORY));
    CHECK_EQ(list(gfd, e, 32, sizeof(buf)), 2);
    /* Once removed, listing it is ENOENT. */
    CHECK_EQ(lseek(gfd, 0, SEEK_SET), 0);
    CHECK_OK(rmdir(tpath("gamma")));
    CHECK_ERR(syscall(SYS_getdents64, gfd, buf, sizeof(buf)), ENOENT);
    return 0;
}
