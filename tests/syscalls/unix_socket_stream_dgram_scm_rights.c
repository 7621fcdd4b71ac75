/* Unix domain sockets: socketpair stream/dgram/seqpacket semantics
 * (boundaries, MSG_PEEK, MSG_TRUNC, shutdown, EPIPE), a pathname listener
 * with a forked client (SO_PEERCRED, names, accept4 flags, ENOENT /
 * ECONNREFUSED / EADDRINUSE / EISCONN), abstract names and autobind,
 * SCM_RIGHTS passing a pipe fd, SCM_CREDENTIALS and the errnos of bad
 * arguments. */
#include "check.h"
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>

static volatile sig_atomic_t pipes;
static void on_pipe(int sig)
{
    (void)sig;
    pipes++;
}

static socklen_t path_addr(struct sockaddr_un *a, const char *path)
{
    memset(a, 0, sizeof(*a));
    a->sun_family = AF_UNIX;
    strcpy(a->sun_path, path);
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1);
}

/* An abstract name: a NUL, then name (not NUL-terminated). */
static socklen_t abstract_addr(struct sockaddr_un *a, const char *name)
{
    memset(a, 0, sizeof(*a));
    a->sun_family = AF_UNIX;
    memcpy(a->sun_path + 1, name, strlen(name));
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name));
}

static void socketpair_stream(void)
{
    int sv[2];
    char buf[16];
    CHECK_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
    CHECK_EQ(fcntl(sv[0], F_GETFD), FD_CLOEXEC);
    struct stat st;
    CHECK_OK(fstat(sv[0], &st));
    CHECK(S_ISSOCK(st.st_mode));
    int v;
    socklen_t vl = sizeof(v);
    CHECK_OK(getsockopt(sv[0], SOL_SOCKET, SO_TYPE, &v, &vl));
    CHECK_EQ(v, SOCK_STREAM);
    CHECK_EQ(vl, sizeof(int));
    CHECK_OK(getsockopt(sv[0], SOL_SOCKET, SO_DOMAIN, &v, &vl));
    CHECK_EQ(v, AF_UNIX);
    CHECK_OK(getsockopt(sv[0], SOL_SOCKET, SO_ACCEPTCONN, &v, &vl));
    CHECK_EQ(v, 0);
    CHECK_ERR(getsockopt(sv[0], SOL_SOCKET, 9999, &v, &vl), ENOPROTOOPT);
    struct ucred uc;
    socklen_t ul = sizeof(uc);
    CHECK_OK(getsockopt(sv[0], SOL_SOCKET, SO_PEERCRED, &uc, &ul));
    CHECK_EQ(uc.pid, getpid());
    CHECK_EQ(uc.uid, geteuid());

    struct pollfd p = {sv[1], POLLIN | POLLOUT, 0};
    CHECK_EQ(poll(&p, 1, 0), 1);
    CHECK_EQ(p.revents, POLLOUT);

    /* Streams merge writes; MSG_PEEK leaves the bytes queued. */
    CHECK_EQ(write(sv[0], "abc", 3), 3);
    CHECK_EQ(send(sv[0], "def", 3, 0), 3);
    CHECK_EQ(poll(&p, 1, 0), 1);
    CHECK_EQ(p.revents, POLLIN | POLLOUT);
    int n;
    CHECK_OK(ioctl(sv[1], FIONREAD, &n));
    CHECK_EQ(n, 6);
    CHECK_EQ(recv(sv[1], buf, 4, MSG_PEEK), 4);
    CHECK_MEMEQ(buf, "abcd", 4);
    CHECK_EQ(read(sv[1], buf, sizeof(buf)), 6);
    CHECK_MEMEQ(buf, "abcdef", 6);
    CHECK_ERR(recv(sv[1], buf, sizeof(buf), MSG_DONTWAIT), EAGAIN);

    /* MSG_WAITALL gathers writes made by a child. */
    pid_t pid = CHECK_OK(fork());
    if (pid == 0) {
        usleep(20000);
        write(sv[0], "12", 2);
        usleep(20000);
        write(sv[0], "345", 3);
        _exit(0);
    }
    CHECK_EQ(recv(sv[1], buf, 5, MSG_WAITALL), 5);
    CHECK_MEMEQ(buf, "12345", 5);
    CHECK_EXITED(wait_status(pid), 0);

    /* shutdown(SHUT_WR): the peer reads EOF, the writer gets EPIPE. */
    CHECK_EQ(write(sv[0], "z", 1), 1);
    CHECK_OK(shutdown(sv[0], SHUT_WR));
    CHECK_EQ(read(sv[1], buf, sizeof(buf)), 1);
    CHECK_EQ(read(sv[1], buf, sizeof(buf)), 0);
    p.events = POLLIN | POLLRDHUP;
    CHECK_EQ(poll(&p, 1, 0), 1);
    CHECK_EQ(p.revents, POLLIN | POLLRDHUP);
    CHECK_ERR(send(sv[0], "x", 1, MSG_NOSIGNAL), EPIPE);
    CHECK_EQ(pipes, 0);
    CHECK_ERR(write(sv[0], "x", 1), EPIPE);
    CHECK_EQ(pipes, 1);
    /* The other direction still works. */
    CHECK_EQ(write(sv[1], "back", 4), 4);
    CHECK_EQ(read(sv[0], buf, sizeof(buf)), 4);
    CHECK_ERR(shutdown(sv[0], 7), EINVAL);

    /* Closing one end: the other sees EOF and POLLHUP. */
    CHECK_OK(close(sv[0]));
    CHECK_EQ(read(sv[1], buf, sizeof(buf)), 0);
    p.events = POLLIN;
    CHECK_EQ(poll(&p, 1, 0), 1);
    CHECK(p.revents & POLLHUP);
    CHECK_OK(close(sv[1]));
}

static void socketpair_dgram_seqpacket(void)
{
    int sv[2];
    char buf[16];
    CHECK_OK(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
    CHECK_EQ(send(sv[0], "one", 3, 0), 3);
    CHECK_EQ(send(sv[0], "", 0, 0), 0);
    CHECK_EQ(send(sv[0], "three", 5, 0), 5);
    int n;
    CHECK_OK(ioctl(sv[1], FIONREAD, &n));
    CHECK_EQ(n, 3); /* the next datagram's size */
    CHECK_EQ(recv(sv[1], buf, sizeof(buf), MSG_PEEK), 3);
    CHECK_EQ(recv(sv[1], buf, 2, 0), 2);
    CHECK_MEMEQ(buf, "on", 2);
    CHECK_EQ(recv(sv[1], buf, sizeof(buf), 0), 0);
    /* MSG_TRUNC: the real length comes back, the rest is discarded. */
    struct iovec iov = {buf, 2};
    struct msghdr m = {0};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    CHECK_EQ(recvmsg(sv[1], &m, MSG_TRUNC), 5);
    CHECK_EQ(m.msg_flags & MSG_TRUNC, MSG_TRUNC);
    CHECK_MEMEQ(buf, "th", 2);
    CHECK_ERR(recv(sv[1], buf, sizeof(buf), MSG_DONTWAIT), EAGAIN);
    CHECK_ERR(listen(sv[0], 1), EOPNOTSUPP);
    CHECK_ERR(accept(sv[0], NULL, NULL), EOPNOTSUPP);
    CHECK_OK(close(sv[0]));
    CHECK_OK(close(sv[1]));

    /* Seqpacket: boundaries, EOF once the peer is gone, EPIPE without
     * SIGPIPE. */
    CHECK_OK(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv));
    CHECK_EQ(write(sv[0], "hello", 5), 5);
    CHECK_EQ(write(sv[0], "world!", 6), 6);
    CHECK_EQ(recv(sv[1], buf, 3, MSG_TRUNC), 5);
    CHECK_EQ(read(sv[1], buf, sizeof(buf)), 6);
    CHECK_MEMEQ(buf, "world!", 6);
    CHECK_OK(close(sv[1]));
    CHECK_EQ(recv(sv[0], buf, sizeof(buf), MSG_DONTWAIT), 0);
    int before = pipes;
    CHECK_ERR(send(sv[0], "x", 1, 0), EPIPE);
    CHECK_ERR(write(sv[0], "x", 1), EPIPE);
    CHECK_EQ(pipes, before);
    CHECK_OK(close(sv[0]));
}

static void pathname_listener(void)
{
    struct sockaddr_un a, b;
    socklen_t alen = path_addr(&a, tpath("sock"));
    char buf[32];

    int srv = CHECK_OK(socket(AF_UNIX, SOCK_STREAM, 0));
    /* Connecting to nothing, then to something that is not a socket. */
    CHECK_ERR(connect(srv, (struct sockaddr *)&a, alen), ENOENT);
    write_file(tpath("plain"), "x", 1, 0644);
    struct sockaddr_un pa;
    socklen_t palen = path_addr(&pa, tpath("plain"));
    CHECK_ERR(connect(srv, (struct sockaddr *)&pa, palen), ECONNREFUSED);
    CHECK_ERR(bind(srv, (struct sockaddr *)&pa, palen), EADDRINUSE);
    CHECK_ERR(listen(srv, 4), EINVAL); /* unbound */

    CHECK_OK(bind(srv, (struct sockaddr *)&a, alen));
    struct stat st;
    CHECK_OK(stat(tpath("sock"), &st));
    CHECK(S_ISSOCK(st.st_mode));
    CHECK_ERR(open(tpath("sock"), O_RDONLY), ENXIO);
    socklen_t blen = sizeof(b);
    CHECK_OK(getsockname(srv, (struct sockaddr *)&b, &blen));
    CHECK_EQ(blen, alen);
    CHECK_STREQ(b.sun_path, tpath("sock"));
    CHECK_ERR(bind(srv, (struct sockaddr *)&pa, palen), EADDRINUSE);

    /* Bound but not listening: refused. */
    int c0 = CHECK_OK(socket(AF_UNIX, SOCK_STREAM, 0));
    CHECK_ERR(connect(c0, (struct sockaddr *)&a, alen), ECONNREFUSED);
    int other = CHECK_OK(socket(AF_UNIX, SOCK_STREAM, 0));
    CHECK_ERR(bind(other, (struct sockaddr *)&a, alen), EADDRINUSE);
    CHECK_OK(close(other));

    CHECK_OK(listen(srv, 4));
    int v;
    socklen_t vl = sizeof(v);
    CHECK_OK(getsockopt(srv, SOL_SOCKET, SO_ACCEPTCONN, &v, &vl));
    CHECK_EQ(v, 1);
    CHECK_ERR(accept4(srv, NULL, NULL, SOCK_NONBLOCK | 0x100), EINVAL);
    int fl = CHECK_OK(fcntl(srv, F_GETFL));
    CHECK_OK(fcntl(srv, F_SETFL, fl | O_NONBLOCK));
    CHECK_ERR(accept(srv, NULL, NULL), EAGAIN);
    CHECK_OK(fcntl(srv, F_SETFL, fl));

    pid_t parent = getpid();
    pid_t pid = CHECK_OK(fork());
    if (pid == 0) {
        int c = socket(AF_UNIX, SOCK_STREAM, 0);
        if (connect(c, (struct sockaddr *)&a, alen) != 0)
            _exit(10);
        if (connect(c, (struct sockaddr *)&a, alen) != -1 || errno != EISCONN)
            _exit(11);
        struct ucred uc;
        socklen_t ul = sizeof(uc);
        if (getsockopt(c, SOL_SOCKET, SO_PEERCRED, &uc, &ul) != 0 || uc.pid != parent)
            _exit(12);
        struct sockaddr_un peer;
        socklen_t plen = sizeof(peer);
        if (getpeername(c, (struct sockaddr *)&peer, &plen) != 0 || plen != alen ||
            strcmp(peer.sun_path, a.sun_path) != 0)
            _exit(13);
        if (send(c, "ping", 4, 0) != 4)
            _exit(14);
        char r[8];
        if (recv(c, r, sizeof(r), 0) != 4 || memcmp(r, "pong", 4) != 0)
            _exit(15);
        if (recv(c, r, sizeof(r), 0) != 0)
            _exit(16);
        _exit(0);
    }
    struct sockaddr_un peer;
    socklen_t plen = sizeof(peer);
    int conn = CHECK_OK(accept4(srv, (struct sockaddr *)&peer, &plen, SOCK_CLOEXEC));
    CHECK_EQ(plen, sizeof(sa_family_t)); /* the client is unnamed */
    CHECK_EQ(fcntl(conn, F_GETFD), FD_CLOEXEC);
    struct ucred uc;
    socklen_t ul = sizeof(uc);
    CHECK_OK(getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &uc, &ul));
    CHECK_EQ(uc.pid, pid);
    CHECK_EQ(uc.uid, geteuid());
    CHECK_EQ(uc.gid, getegid());
    blen = sizeof(b);
    CHECK_OK(getsockname(conn, (struct sockaddr *)&b, &blen));
    CHECK_STREQ(b.sun_path, tpath("sock"));
    CHECK_EQ(recv(conn, buf, sizeof(buf), 0), 4);
    CHECK_MEMEQ(buf, "ping", 4);
    CHECK_EQ(send(conn, "pong", 4, 0), 4);
    CHECK_OK(close(conn));
    CHECK_EXITED(wait_status(pid), 0);

    /* After the listener closes, the name remains but nobody listens. */
    CHECK_OK(close(srv));
    CHECK_ERR(connect(c0, (struct sockaddr *)&a, alen), ECONNREFUSED);
    CHECK_OK(close(c0));
    CHECK_OK(unlink(tpath("sock")));
}

static void abstract_names(void)
{
    struct sockaddr_un a, b;
    char name[64];
    snprintf(name, sizeof(name), "rvt-unix-%d", (int)getpid());
    socklen_t alen = abstract_addr(&a, name);
    char buf[16];

    int srv = CHECK_OK(socket(AF_UNIX, SOCK_STREAM, 0));
    CHECK_OK(bind(srv, (struct sockaddr *)&a, alen));
    int dup_ = CHECK_OK(socket(AF_UNIX, SOCK_STREAM, 0));
    CHECK_ERR(bind(dup_, (struct sockaddr *)&a, alen), EADDRINUSE);
    CHECK_OK(close(dup_));
    socklen_t blen = sizeof(b);
    CHECK_OK(getsockname(srv, (struct sockaddr *)&b, &blen));
    CHECK_EQ(blen, alen);
    CHECK_MEMEQ(b.sun_path, a.sun_path, alen - offsetof(struct sockaddr_un, sun_path));
    CHECK_OK(listen(srv, 1));

    int c = CHECK_OK(socket(AF_UNIX, SOCK_STREAM, 0));
    CHECK_OK(connect(c, (struct sockaddr *)&a, alen));
    /* Connected before accept: data waits in the new connection. */
    CHECK_EQ(write(c, "early", 5), 5);
    int conn = CHECK_OK(accept(srv, NULL, NULL));
    CHECK_EQ(read(conn, buf, sizeof(buf)), 5);
    CHECK_MEMEQ(buf, "early", 5);
    CHECK_OK(close(conn));
    CHECK_OK(close(c));
    CHECK_OK(close(srv));
    /* Released names are free again. */
    c = CHECK_OK(socket(AF_UNIX, SOCK_STREAM, 0));
    CHECK_ERR(connect(c, (struct sockaddr *)&a, alen), ECONNREFUSED);
    CHECK_OK(close(c));

    /* Datagrams to an abstract name, from an autobound sender. */
    int rx = CHECK_OK(socket(AF_UNIX, SOCK_DGRAM, 0));
    CHECK_OK(bind(rx, (struct sockaddr *)&a, alen));
    int tx = CHECK_OK(socket(AF_UNIX, SOCK_DGRAM, 0));
    struct sockaddr_un auto_ = {.sun_family = AF_UNIX};
    CHECK_OK(bind(tx, (struct sockaddr *)&auto_, sizeof(sa_family_t)));
    blen = sizeof(b);
    CHECK_OK(getsockname(tx, (struct sockaddr *)&b, &blen));
    CHECK_EQ(blen, offsetof(struct sockaddr_un, sun_path) + 6);
    CHECK_EQ(b.sun_path[0], 0);
    CHECK_EQ(sendto(tx, "dg", 2, 0, (struct sockaddr *)&a, alen), 2);
    struct sockaddr_un from;
    socklen_t flen = sizeof(from);
    CHECK_EQ(recvfrom(rx, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen), 2);
    CHECK_EQ(flen, blen);
    CHECK_MEMEQ(from.sun_path, b.sun_path, 6);
    /* Unconnected without a destination; a stream name is not a dgram one. */
    CHECK_ERR(send(tx, "x", 1, 0), ENOTCONN);
    CHECK_OK(close(rx));
    CHECK_ERR(sendto(tx, "x", 1, 0, (struct sockaddr *)&a, alen), ECONNREFUSED);
    CHECK_OK(close(tx));
}

static void scm_rights_and_credentials(void)
{
    int sv[2], p[2];
    char buf[16];
    CHECK_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    CHECK_OK(pipe(p));

    union {
        struct cmsghdr h;
        char b[CMSG_SPACE(sizeof(int)) + CMSG_SPACE(sizeof(struct ucred))];
    } ctl;
    memset(&ctl, 0, sizeof(ctl));
    struct iovec iov = {"F", 1};
    struct msghdr m = {0};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = ctl.b;
    m.msg_controllen = CMSG_SPACE(sizeof(int));
    struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &p[1], sizeof(int));
    CHECK_EQ(sendmsg(sv[0], &m, 0), 1);
    /* The sender's copy can go: the message holds the pipe open. */
    CHECK_OK(close(p[1]));

    memset(&ctl, 0, sizeof(ctl));
    iov.iov_base = buf;
    iov.iov_len = sizeof(buf);
    m.msg_controllen = sizeof(ctl.b);
    CHECK_EQ(recvmsg(sv[1], &m, MSG_CMSG_CLOEXEC), 1);
    CHECK_EQ(buf[0], 'F');
    /* Linux echoes MSG_CMSG_CLOEXEC back in msg_flags. */
    CHECK_EQ(m.msg_flags, MSG_CMSG_CLOEXEC);
    CHECK_EQ(m.msg_controllen, CMSG_SPACE(sizeof(int)));
    cm = CMSG_FIRSTHDR(&m);
    CHECK(cm != NULL);
    CHECK_EQ(cm->cmsg_level, SOL_SOCKET);
    CHECK_EQ(cm->cmsg_type, SCM_RIGHTS);
    CHECK_EQ(cm->cmsg_len, CMSG_LEN(sizeof(int)));
    int got;
    memcpy(&got, CMSG_DATA(cm), sizeof(int));
    CHECK_EQ(fcntl(got, F_GETFD), FD_CLOEXEC);
    CHECK_EQ(write(got, "via", 3), 3);
    CHECK_OK(close(got));
    CHECK_EQ(read(p[0], buf, sizeof(buf)), 3);
    CHECK_MEMEQ(buf, "via", 3);
    CHECK_EQ(read(p[0], buf, sizeof(buf)), 0); /* every writer is gone */
    CHECK_OK(close(p[0]));

    /* No room for the fd: MSG_CTRUNC, and the fd is not installed. */
    CHECK_OK(pipe(p));
    m.msg_control = ctl.b;
    m.msg_controllen = CMSG_SPACE(sizeof(int));
    iov.iov_base = "G";
    iov.iov_len = 1;
    cm = CMSG_FIRSTHDR(&m);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &p[0], sizeof(int));
    CHECK_EQ(sendmsg(sv[0], &m, 0), 1);
    iov.iov_base = buf;
    iov.iov_len = sizeof(buf);
    m.msg_control = NULL;
    m.msg_controllen = 0;
    CHECK_EQ(recvmsg(sv[1], &m, 0), 1);
    CHECK_EQ(m.msg_flags, MSG_CTRUNC);
    CHECK_OK(close(p[0]));
    CHECK_OK(close(p[1]));

    /* A bad fd in SCM_RIGHTS. */
    m.msg_control = ctl.b;
    m.msg_controllen = CMSG_SPACE(sizeof(int));
    cm = CMSG_FIRSTHDR(&m);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    int bad = 999;
    memcpy(CMSG_DATA(cm), &bad, sizeof(int));
    iov.iov_base = "H";
    iov.iov_len = 1;
    CHECK_ERR(sendmsg(sv[0], &m, 0), EBADF);

    /* SO_PASSCRED: the receiver learns who sent. */
    int one = 1;
    CHECK_OK(setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)));
    int v;
    socklen_t vl = sizeof(v);
    CHECK_OK(getsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &v, &vl));
    CHECK_EQ(v, 1);
    CHECK_EQ(send(sv[0], "C", 1, 0), 1);
    memset(&ctl, 0, sizeof(ctl));
    m.msg_control = ctl.b;
    m.msg_controllen = sizeof(ctl.b);
    iov.iov_base = buf;
    iov.iov_len = sizeof(buf);
    CHECK_EQ(recvmsg(sv[1], &m, 0), 1);
    cm = CMSG_FIRSTHDR(&m);
    CHECK(cm != NULL);
    CHECK_EQ(cm->cmsg_type, SCM_CREDENTIALS);
    struct ucred uc;
    memcpy(&uc, CMSG_DATA(cm), sizeof(uc));
    CHECK_EQ(uc.pid, getpid());
    CHECK_EQ(uc.uid, getuid());
    CHECK_EQ(uc.gid, getgid());
    CHECK_OK(close(sv[0]));
    CHECK_OK(close(sv[1]));
}

static void bad_arguments(void)
{
    int p[2];
    CHECK_OK(pipe(p));
    struct sockaddr_un a;
    socklen_t alen = path_addr(&a, tpath("nobody"));
    char c;
    CHECK_ERR(socket(AF_UNIX, 99, 0), EINVAL);
    CHECK_ERR(socket(AF_UNIX, SOCK_STREAM | 0x1000, 0), EINVAL);
    CHECK_ERR(socket(AF_UNIX, SOCK_STREAM, 5), EPROTONOSUPPORT);
    CHECK_ERR(socket(1000, SOCK_STREAM, 0), EAFNOSUPPORT);
    CHECK_ERR(connect(p[0], (struct sockaddr *)&a, alen), ENOTSOCK);
    CHECK_ERR(recv(p[0], &c, 1, 0), ENOTSOCK);
    CHECK_ERR(send(-1, &c, 1, 0), EBADF);
    CHECK_ERR(getsockname(77, (struct sockaddr *)&a, &alen), EBADF);
    int s = CHECK_OK(socket(AF_UNIX, SOCK_STREAM, 0));
    CHECK_ERR(bind(s, (struct sockaddr *)&a, 1), EINVAL);
    CHECK_ERR(bind(s, (struct sockaddr *)&a, sizeof(struct sockaddr_storage) + 1), EINVAL);
    CHECK_ERR(connect(s, (struct sockaddr *)8, alen), EFAULT);
    CHECK_ERR(read(s, &c, 1), EINVAL);           /* not connected */
    CHECK_ERR(write(s, &c, 1), ENOTCONN);
    CHECK_ERR(getpeername(s, (struct sockaddr *)&a, &alen), ENOTCONN);
    int sv[2];
    CHECK_ERR(syscall(SYS_socketpair, AF_UNIX, SOCK_STREAM, 0, 8L), EFAULT);
    CHECK_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    /* A bad buffer is found only when there is something to copy. */
    CHECK_ERR(recv(sv[0], (void *)8, 1, MSG_DONTWAIT), EAGAIN);
    CHECK_ERR(send(sv[0], (void *)8, 1, 0), EFAULT);
    CHECK_EQ(send(sv[1], "q", 1, 0), 1);
    CHECK_ERR(recv(sv[0], (void *)8, 1, MSG_DONTWAIT), EFAULT);
    CHECK_OK(close(sv[0]));
    CHECK_OK(close(sv[1]));
    CHECK_OK(close(s));
    CHECK_OK(close(p[0]));
    CHECK_OK(close(p[1]));
}

int main(void)
{
    alarm(10);
    make_tmpdir();
    signal(SIGPIPE, on_pipe);
    socketpair_stream();
    socketpair_dgram_seqpacket();
    pathname_listener();
    abstract_names();
    scm_rights_and_credentials();
    bad_arguments();
    return 0;
}
