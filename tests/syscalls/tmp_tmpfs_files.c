/* Files under /tmp: many files in one directory, large and sparse files,
 * O_APPEND from two fds, O_TMPFILE, sticky /tmp permissions, mkdtemp and
 * mkstemp uniqueness, content surviving close/reopen. */
#include "check.h"
#include <dirent.h>

int main(void)
{
    alarm(10);
    make_tmpdir();
    char name[64], buf[256];
    struct stat st;

    /* /tmp itself is a world-writable sticky directory. */
    CHECK_OK(stat("/tmp", &st));
    CHECK(S_ISDIR(st.st_mode));
    CHECK_EQ(st.st_mode & 07777, 01777);

    /* Many files. */
    for (int i = 0; i < 200; i++) {
        snprintf(name, sizeof(name), "file-%03d", i);
        snprintf(buf, sizeof(buf), "contents of %d\n", i);
        write_file(tpath(name), buf, strlen(buf), 0644);
    }
    DIR *d = opendir(rvt_tmpdir);
    CHECK(d != NULL);
    int count = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strncmp(e->d_name, "file-", 5) == 0)
            count++;
    closedir(d);
    CHECK_EQ(count, 200);
    CHECK_EQ(read_file(tpath("file-123"), buf, sizeof(buf)), 16);
    CHECK_STREQ(buf, "contents of 123\n");

    /* A 4 MiB file written in odd-sized chunks reads back exactly. */
    int fd = CHECK_OK(open(tpath("big"), O_RDWR | O_CREAT | O_TRUNC, 0600));
    static unsigned char chunk[12345];
    long total = 0;
    for (int i = 0; total < (4 << 20); i++) {
        for (size_t j = 0; j < sizeof(chunk); j++)
            chunk[j] = (unsigned char)(total + (long)j);
        CHECK_EQ(write(fd, chunk, sizeof(chunk)), sizeof(chunk));
        total += sizeof(chunk);
    }
    CHECK_OK(fstat(fd, &st));
    CHECK_EQ(st.st_size, total);
    static unsigned char back[4096];
    CHECK_EQ(pread(fd, back, sizeof(back), 1000000), sizeof(back));
    for (size_t j = 0; j < sizeof(back); j++)
        if (back[j] != (unsigned char)(1000000 + j))
            FAILF("big file byte %zu wrong", 1000000 + j);
    CHECK_OK(close(fd));

    /* Sparse: 1 GiB apparent size, a few blocks used. */
    fd = CHECK_OK(open(tpath("sparse"), O_RDWR | O_CREAT, 0600));
    CHECK_EQ(pwrite(fd, "end", 3, (1L << 30) - 3), 3);
    CHECK_OK(fstat(fd, &st));
    CHECK_EQ(st.st_size, 1L << 30);
    CHECK(st.st_blocks < 1024);
    CHECK_EQ(pread(fd, buf, 4, 4096), 4);
    CHECK_MEMEQ(buf, "\0\0\0\0", 4);
    CHECK_OK(close(fd));

    /* Two O_APPEND fds interleave without overwriting. */
    int a1 = CHECK_OK(open(tpath("log"), O_WRONLY | O_CREAT | O_APPEND, 0644));
    int a2 = CHECK_OK(open(tpath("log"), O_WRONLY | O_APPEND));
    CHECK_EQ(write(a1, "one\n", 4), 4);
    CHECK_EQ(write(a2, "two\n", 4), 4);
    CHECK_EQ(write(a1, "three\n", 6), 6);
    CHECK_EQ(read_file(tpath("log"), buf, sizeof(buf)), 14);
    CHECK_STREQ(buf, "one\ntwo\nthree\n");

    /* O_TMPFILE: an unnamed file in the directory. */
    fd = CHECK_OK(open(rvt_tmpdir, O_TMPFILE | O_RDWR, 0600));
    CHECK_EQ(write(fd, "anon", 4), 4);
    CHECK_OK(fstat(fd, &st));
    CHECK_EQ(st.st_nlink, 0);
    CHECK(S_ISREG(st.st_mode));
    CHECK_EQ(pread(fd, buf, 4, 0), 4);
    CHECK_MEMEQ(buf, "anon", 4);
    CHECK_OK(close(fd));

    /* mkstemp/mkdtemp create unique names with the requested modes. */
    char t1[128], t2[128];
    snprintf(t1, sizeof(t1), "%s/tmpXXXXXX", rvt_tmpdir);
    snprintf(t2, sizeof(t2), "%s/tmpXXXXXX", rvt_tmpdir);
    int f1 = CHECK_OK(mkstemp(t1));
    int f2 = CHECK_OK(mkstemp(t2));
    CHECK(strcmp(t1, t2) != 0);
    CHECK_OK(fstat(f1, &st));
    CHECK_EQ(st.st_mode & 07777, 0600);
    CHECK_NE(f1, f2);
    char dt[128];
    snprintf(dt, sizeof(dt), "%s/dirXXXXXX", rvt_tmpdir);
    CHECK(mkdtemp(dt) != NULL);
    CHECK_OK(stat(dt, &st));
    CHECK_EQ(st.st_mode & 07777, 0700);

    /* Sticky /tmp: another user cannot remove our file. */
    if (geteuid() == 0) {
        char victim[128];
        snprintf(victim, sizeof(victim), "%s-victim", rvt_tmpdir);
        write_file(victim, "v", 1, 0666);
        pid_t pid = CHECK_OK(fork());
        if (pid == 0) {
            CHECK_OK(setresuid(65534, 65534, 65534));
            CHECK_ERR(unlink(victim), EPERM);
            CHECK_ERR(rename(victim, "/tmp/rvt-renamed"), EPERM);
            _exit(0);
        }
        int status = wait_status(pid);
        unlink(victim);
        CHECK_EXITED(status, 0);
    }
    return 0;
}
