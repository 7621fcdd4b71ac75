/* inotify: a directory watch reports IN_CREATE, IN_OPEN, IN_MODIFY,
 * IN_CLOSE_WRITE/NOWRITE, IN_ATTRIB, IN_MOVED_FROM/TO (sharing a cookie)
 * and IN_DELETE with the child's name, padded to 16 bytes; a watch on the
 * same inode returns the same descriptor (IN_MASK_ADD widens it); a file's
 * own watch sees IN_ATTRIB, IN_DELETE_SELF and IN_IGNORED when unlinked;
 * IN_ONESHOT fires once; inotify_rm_watch queues IN_IGNORED; reads need
 * room for a whole event (EINVAL); FIONREAD and poll follow the queue;
 * IN_NONBLOCK, IN_CLOEXEC, IN_ONLYDIR and bad arguments behave as on
 * Linux. */
#include "check.h"
#include <poll.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>

struct ev {
    int wd;
    uint32_t mask;
    uint32_t cookie;
    char name[64];
};

/* Reads every queued event (the queue must not be empty). */
static int drain(int fd, struct ev *out, int max)
{
    char buf[4096] __attribute__((aligned(8)));
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0)
        FAILF("read inotify: %zd", n);
    int k = 0;
    for (ssize_t off = 0; off < n;) {
        struct inotify_event *e = (struct inotify_event *)(buf + off);
        if (k == max)
            FAILF("too many events");
        if (e->len % 16 != 0)
            FAILF("name length %u not padded", e->len);
        out[k].wd = e->wd;
        out[k].mask = e->mask;
        out[k].cookie = e->cookie;
        snprintf(out[k].name, sizeof out[k].name, "%s", e->len ? e->name : "");
        k++;
        off += (ssize_t)sizeof(struct inotify_event) + e->len;
    }
    return k;
}

#define EXPECT(e, w, m, n)                                                 \
    do {                                                                   \
        CHECK_EQ((e).wd, (w));                                             \
        CHECK_EQ((e).mask, (uint32_t)(m));                                 \
        CHECK_STREQ((e).name, (n));                                        \
    } while (0)

int main(void)
{
    alarm(10);
    const char *dir = make_tmpdir();
    char f[256], g[256], d[256], h[256], l[256];
    snprintf(f, sizeof f, "%s/f", dir);
    snprintf(g, sizeof g, "%s/g", dir);
    snprintf(d, sizeof d, "%s/d", dir);
    snprintf(h, sizeof h, "%s/h", dir);
    snprintf(l, sizeof l, "%s/l", dir);

    CHECK_ERR(inotify_init1(0x1234), EINVAL);
    int in = CHECK_OK(inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
    CHECK(fcntl(in, F_GETFD) & FD_CLOEXEC);
    CHECK(fcntl(in, F_GETFL) & O_NONBLOCK);
    char tiny[8];
    CHECK_ERR(read(in, tiny, sizeof tiny), EAGAIN);
    struct pollfd p = {.fd = in, .events = POLLIN};
    CHECK_EQ(poll(&p, 1, 0), 0);

    /* Bad arguments. */
    CHECK_ERR(inotify_add_watch(in, dir, 0), EINVAL);
    int nfd = CHECK_OK(open("/dev/null", O_RDONLY));
    CHECK_ERR(inotify_add_watch(nfd, dir, IN_CREATE), EINVAL);
    CHECK_ERR(inotify_add_watch(-1, dir, IN_CREATE), EBADF);
    CHECK_ERR(inotify_rm_watch(nfd, 1), EINVAL);
    close(nfd);
    snprintf(h, sizeof h, "%s/nope", dir);
    CHECK_ERR(inotify_add_watch(in, h, IN_CREATE), ENOENT);
    snprintf(h, sizeof h, "%s/h", dir);

    /* One descriptor per inode; IN_MASK_ADD widens the mask. */
    int wd = CHECK_OK(inotify_add_watch(in, dir, IN_CREATE | IN_DELETE));
    CHECK_EQ(inotify_add_watch(in, dir, IN_MODIFY | IN_ATTRIB | IN_MASK_ADD), wd);
    CHECK_EQ(inotify_add_watch(in, dir,
                               IN_CREATE | IN_DELETE | IN_MODIFY | IN_ATTRIB | IN_MOVED_FROM |
                                   IN_MOVED_TO | IN_OPEN | IN_CLOSE_WRITE | IN_CLOSE_NOWRITE |
                                   IN_ONLYDIR | IN_MASK_ADD),
             wd);

    struct ev e[32];
    int fd = CHECK_OK(open(f, O_CREAT | O_WRONLY, 0644));
    CHECK_EQ(write(fd, "abc", 3), 3);
    CHECK_OK(close(fd));
    CHECK_EQ(poll(&p, 1, 0), 1);
    CHECK(p.revents & POLLIN);
    int avail = 0;
    CHECK_OK(ioctl(in, FIONREAD, &avail));
    CHECK_EQ(avail, 4 * 32);
    /* A buffer too small for the first event. */
    char small[20];
    CHECK_ERR(read(in, small, sizeof small), EINVAL);
    CHECK_EQ(drain(in, e, 32), 4);
    EXPECT(e[0], wd, IN_CREATE, "f");
    EXPECT(e[1], wd, IN_OPEN, "f");
    EXPECT(e[2], wd, IN_MODIFY, "f");
    EXPECT(e[3], wd, IN_CLOSE_WRITE, "f");
    CHECK_ERR(read(in, small, sizeof small), EAGAIN);

    fd = CHECK_OK(open(f, O_RDONLY));
    CHECK_OK(close(fd));
    CHECK_OK(chmod(f, 0600));
    CHECK_OK(mkdir(d, 0755));
    CHECK_OK(rename(f, g));
    CHECK_EQ(drain(in, e, 32), 6);
    EXPECT(e[0], wd, IN_OPEN, "f");
    EXPECT(e[1], wd, IN_CLOSE_NOWRITE, "f");
    EXPECT(e[2], wd, IN_ATTRIB, "f");
    EXPECT(e[3], wd, IN_CREATE | IN_ISDIR, "d");
    EXPECT(e[4], wd, IN_MOVED_FROM, "f");
    EXPECT(e[5], wd, IN_MOVED_TO, "g");
    CHECK_NE(e[4].cookie, 0);
    CHECK_EQ(e[4].cookie, e[5].cookie);

    CHECK_OK(unlink(g));
    CHECK_OK(rmdir(d));
    CHECK_EQ(drain(in, e, 32), 2);
    EXPECT(e[0], wd, IN_DELETE, "g");
    EXPECT(e[1], wd, IN_DELETE | IN_ISDIR, "d");

    /* A file's own watch: IN_ONLYDIR refuses it; unlink reports the link
     * count change, then the deletion and the end of the watch. */
    int in2 = CHECK_OK(inotify_init());
    fd = CHECK_OK(open(h, O_CREAT | O_WRONLY, 0644));
    CHECK_OK(close(fd));
    CHECK_ERR(inotify_add_watch(in2, h, IN_ATTRIB | IN_ONLYDIR), ENOTDIR);
    int hw = CHECK_OK(inotify_add_watch(in2, h, IN_ALL_EVENTS));
    CHECK_OK(unlink(h));
    CHECK_EQ(drain(in2, e, 32), 3);
    EXPECT(e[0], hw, IN_ATTRIB, "");
    EXPECT(e[1], hw, IN_DELETE_SELF, "");
    EXPECT(e[2], hw, IN_IGNORED, "");
    CHECK_ERR(inotify_rm_watch(in2, hw), EINVAL);

    /* IN_ONESHOT: one event, then IN_IGNORED. */
    fd = CHECK_OK(open(h, O_CREAT | O_WRONLY, 0644));
    CHECK_OK(close(fd));
    /* The directory saw both lives of h; unlink sends it no IN_ATTRIB. */
    CHECK_EQ(drain(in, e, 32), 7);
    EXPECT(e[0], wd, IN_CREATE, "h");
    EXPECT(e[3], wd, IN_DELETE, "h");
    EXPECT(e[4], wd, IN_CREATE, "h");
    EXPECT(e[6], wd, IN_CLOSE_WRITE, "h");
    int ow = CHECK_OK(inotify_add_watch(in2, h, IN_ATTRIB | IN_ONESHOT));
    CHECK_OK(chmod(h, 0600));
    CHECK_OK(chmod(h, 0644));
    CHECK_EQ(drain(in2, e, 32), 2);
    EXPECT(e[0], ow, IN_ATTRIB, "");
    EXPECT(e[1], ow, IN_IGNORED, "");
    /* Identical consecutive events are merged into one. */
    CHECK_EQ(drain(in, e, 32), 1);
    EXPECT(e[0], wd, IN_ATTRIB, "h");

    /* IN_DONT_FOLLOW watches the symlink itself. */
    CHECK_OK(symlink("h", l));
    CHECK_EQ(drain(in, e, 32), 1);
    EXPECT(e[0], wd, IN_CREATE, "l");
    int lw = CHECK_OK(inotify_add_watch(in2, l, IN_ATTRIB | IN_DONT_FOLLOW));
    int tw = CHECK_OK(inotify_add_watch(in2, l, IN_ATTRIB));
    CHECK_NE(lw, tw);

    /* rm_watch queues IN_IGNORED; the descriptor is then unknown. */
    CHECK_OK(inotify_rm_watch(in, wd));
    CHECK_EQ(drain(in, e, 32), 1);
    EXPECT(e[0], wd, IN_IGNORED, "");
    CHECK_ERR(inotify_rm_watch(in, wd), EINVAL);
    CHECK_OK(unlink(l));
    CHECK_ERR(read(in, small, sizeof small), EAGAIN);
    /* The link's watch: its link count, then the end of the watch. */
    CHECK_EQ(drain(in2, e, 32), 2);
    EXPECT(e[0], lw, IN_ATTRIB, "");
    EXPECT(e[1], lw, IN_IGNORED, "");

    /* A blocking read waits for an event from another process. */
    int w2 = CHECK_OK(inotify_add_watch(in2, dir, IN_CREATE));
    pid_t pid = CHECK_OK(fork());
    if (pid == 0) {
        usleep(50000);
        snprintf(g, sizeof g, "%s/late", dir);
        int c = open(g, O_CREAT | O_WRONLY, 0644);
        _exit(c < 0);
    }
    CHECK_EQ(drain(in2, e, 32), 1);
    EXPECT(e[0], w2, IN_CREATE, "late");
    int st;
    CHECK_EQ(waitpid(pid, &st, 0), pid);
    CHECK_EXITED(st, 0);
    close(in);
    close(in2);
    return 0;
}
