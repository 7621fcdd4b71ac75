/* /proc/self: stat's pid/ppid/comm fields, status, cmdline (argv NUL
 * separated), exe, cwd, fd/ listing and links, fdinfo, maps with [stack]
 * and our executable, /proc/<pid> for a child. */
#include "check.h"
#include <dirent.h>
#include <limits.h>

int main(int argc, char **argv)
{
    alarm(10);
    make_tmpdir();
    char buf[65536], want[PATH_MAX + 64];

    /* stat: "pid (comm) state ppid ..." */
    read_file("/proc/self/stat", buf, sizeof(buf));
    int pid = -1, ppid = -1;
    char state = 0;
    char *rparen = strrchr(buf, ')');
    CHECK(rparen != NULL);
    CHECK_EQ(sscanf(buf, "%d", &pid), 1);
    CHECK_EQ(pid, getpid());
    CHECK_EQ(sscanf(rparen + 2, "%c %d", &state, &ppid), 2);
    CHECK_EQ(state, 'R');
    CHECK_EQ(ppid, getppid());

    read_file("/proc/self/status", buf, sizeof(buf));
    snprintf(want, sizeof(want), "\nPid:\t%d\n", getpid());
    CHECK(strstr(buf, want) != NULL);
    snprintf(want, sizeof(want), "\nPPid:\t%d\n", getppid());
    CHECK(strstr(buf, want) != NULL);
    CHECK(strncmp(buf, "Name:\t", 6) == 0);

    /* cmdline is argv, each NUL terminated. */
    ssize_t n = read_file("/proc/self/cmdline", buf, sizeof(buf));
    size_t off = 0;
    for (int i = 0; i < argc; i++) {
        size_t l = strlen(argv[i]) + 1;
        CHECK((size_t)n >= off + l);
        CHECK_MEMEQ(buf + off, argv[i], l);
        off += l;
    }
    CHECK_EQ(n, off);

    /* exe and cwd links. */
    char link[PATH_MAX];
    n = CHECK_OK(readlink("/proc/self/exe", link, sizeof(link) - 1));
    CHECK(n > 0);
    link[n] = 0;
    CHECK_EQ(link[0], '/');
    char exe[PATH_MAX];
    snprintf(exe, sizeof(exe), "%s", link);
    struct stat a, b;
    CHECK_OK(stat(exe, &a));
    CHECK_OK(stat("/proc/self/exe", &b));
    CHECK_EQ(a.st_ino, b.st_ino);
    char real[PATH_MAX];
    CHECK(realpath(rvt_tmpdir, real) != NULL);
    CHECK_OK(chdir(rvt_tmpdir));
    n = CHECK_OK(readlink("/proc/self/cwd", link, sizeof(link) - 1));
    link[n] = 0;
    CHECK_STREQ(link, real);

    /* fd/ lists exactly the open descriptors, with links to their files. */
    write_file(tpath("f"), "x", 1, 0644);
    int fd = CHECK_OK(open(tpath("f"), O_RDONLY));
    CHECK_EQ(dup2(fd, 77), 77);
    snprintf(want, sizeof(want), "/proc/self/fd/%d", fd);
    n = CHECK_OK(readlink(want, link, sizeof(link) - 1));
    link[n] = 0;
    snprintf(want, sizeof(want), "%s/f", real);
    CHECK_STREQ(link, want);
    int p[2];
    CHECK_OK(pipe(p));
    snprintf(want, sizeof(want), "/proc/self/fd/%d", p[0]);
    n = CHECK_OK(readlink(want, link, sizeof(link) - 1));
    link[n] = 0;
    CHECK(strncmp(link, "pipe:[", 6) == 0);
    /* Reading through the fd link reopens the file. */
    CHECK_EQ(read_file("/proc/self/fd/77", buf, sizeof(buf)), 1);

    DIR *d = opendir("/proc/self/fd");
    CHECK(d != NULL);
    int listing_fd = dirfd(d);
    int seen77 = 0, seenfd = 0, count = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        int num = atoi(e->d_name);
        count++;
        if (num == 77)
            seen77 = 1;
        if (num == fd)
            seenfd = 1;
        if (num != listing_fd && fcntl(num, F_GETFD) < 0)
            FAILF("/proc/self/fd lists closed fd %d", num);
    }
    closedir(d);
    CHECK(seen77);
    CHECK(seenfd);
    int open_count = 0;
    for (int i = 0; i < 1024; i++)
        if (fcntl(i, F_GETFD) >= 0)
            open_count++;
    CHECK_EQ(count, open_count + 1); /* + the directory fd itself */

    /* fdinfo shows the offset and flags. */
    CHECK_EQ(lseek(fd, 1, SEEK_SET), 1);
    snprintf(want, sizeof(want), "/proc/self/fdinfo/%d", fd);
    read_file(want, buf, sizeof(buf));
    CHECK(strncmp(buf, "pos:\t1\n", 7) == 0);

    /* maps: the stack and our executable. */
    read_file("/proc/self/maps", buf, sizeof(buf));
    CHECK(strstr(buf, "[stack]") != NULL);
    CHECK(strstr(buf, exe) != NULL);
    unsigned long lo, hi;
    char perms[5];
    CHECK_EQ(sscanf(buf, "%lx-%lx %4s", &lo, &hi, perms), 3);
    CHECK(lo < hi);
    /* The address of a local lies inside the [stack] line's range. */
    char *line = strstr(buf, "[stack]");
    while (line > buf && line[-1] != '\n')
        line--;
    CHECK_EQ(sscanf(line, "%lx-%lx %4s", &lo, &hi, perms), 3);
    CHECK(lo <= (unsigned long)&lo && (unsigned long)&lo < hi);
    CHECK_STREQ(perms, "rw-p");

    /* A child's /proc/<pid>/stat names us as parent. */
    int q[2];
    CHECK_OK(pipe(q));
    pid_t child = CHECK_OK(fork());
    if (child == 0) {
        char c;
        close(q[1]);
        read(q[0], &c, 1);
        _exit(0);
    }
    snprintf(want, sizeof(want), "/proc/%d/stat", child);
    read_file(want, buf, sizeof(buf));
    rparen = strrchr(buf, ')');
    CHECK(rparen != NULL);
    CHECK_EQ(sscanf(rparen + 2, "%c %d", &state, &ppid), 2);
    CHECK_EQ(ppid, getpid());
    CHECK_OK(close(q[1]));
    CHECK_EXITED(wait_status(child), 0);
    CHECK_ERR(open(want, O_RDONLY), ENOENT);
    CHECK_OK(chdir("/"));
    return 0;
}
