/* TCP over loopback: socket errnos, bind/listen/connect/accept, names,
 * options, data both ways (a few MiB through a forked peer), MSG_PEEK and
 * FIONREAD, half close, refused connections, reset on close with unread
 * data, and IPv6 (::1) with v4-mapped peers on a dual-stack listener. */
#include "check.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

static int getint(int fd, int level, int name)
{
    int v = -1;
    socklen_t len = sizeof(v);
    CHECK_OK(getsockopt(fd, level, name, &v, &len));
    CHECK_EQ(len, sizeof(v));
    return v;
}

static struct sockaddr_in lo4(unsigned short port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

/* A listener on 127.0.0.1 with an ephemeral port; its address in *a. */
static int listener(struct sockaddr_in *a)
{
    int l = CHECK_OK(socket(AF_INET, SOCK_STREAM, 0));
    *a = lo4(0);
    CHECK_OK(bind(l, (struct sockaddr *)a, sizeof(*a)));
    socklen_t len = sizeof(*a);
    CHECK_OK(getsockname(l, (struct sockaddr *)a, &len));
    CHECK_OK(listen(l, 8));
    return l;
}

static void full_write(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = CHECK_OK(write(fd, p, n));
        p += w;
        n -= (size_t)w;
    }
}

int main(void)
{
    alarm(20);
    signal(SIGPIPE, SIG_IGN);

    /* Which sockets exist. */
    CHECK_ERR(socket(AF_INET, SOCK_STREAM, IPPROTO_UDP), EPROTONOSUPPORT);
    CHECK_ERR(socket(AF_INET, SOCK_SEQPACKET, 0), ESOCKTNOSUPPORT);
    int sv[2];
    CHECK_ERR(socketpair(AF_INET, SOCK_STREAM, 0, sv), EOPNOTSUPP);

    int s = CHECK_OK(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    CHECK_EQ(getint(s, SOL_SOCKET, SO_TYPE), SOCK_STREAM);
    CHECK_EQ(getint(s, SOL_SOCKET, SO_DOMAIN), AF_INET);
    CHECK_EQ(getint(s, SOL_SOCKET, SO_PROTOCOL), IPPROTO_TCP);
    CHECK_EQ(getint(s, SOL_SOCKET, SO_ACCEPTCONN), 0);
    CHECK_EQ(getint(s, IPPROTO_TCP, TCP_NODELAY), 0);
    int one = 1;
    CHECK_OK(setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)));
    CHECK_EQ(getint(s, IPPROTO_TCP, TCP_NODELAY), 1);
    CHECK_OK(setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)));
    CHECK_EQ(getint(s, SOL_SOCKET, SO_REUSEADDR), 1);
    CHECK_ERR(setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)), ENOPROTOOPT);

    /* Unconnected: no peer, no data. */
    char buf[256];
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    CHECK_ERR(getpeername(s, (struct sockaddr *)&a, &len), ENOTCONN);
    CHECK_ERR(recv(s, buf, sizeof(buf), 0), ENOTCONN);
    CHECK_ERR(accept(s, NULL, NULL), EINVAL);
    len = sizeof(a);
    CHECK_OK(getsockname(s, (struct sockaddr *)&a, &len));
    CHECK_EQ(len, sizeof(a));
    CHECK_EQ(a.sin_family, AF_INET);
    CHECK_EQ(a.sin_port, 0);
    CHECK_EQ(a.sin_addr.s_addr, htonl(INADDR_ANY));

    /* Binding. */
    struct sockaddr_in bad = lo4(0);
    CHECK_ERR(bind(s, (struct sockaddr *)&bad, sizeof(bad) - 1), EINVAL);
    bad.sin_family = AF_INET6;
    CHECK_ERR(bind(s, (struct sockaddr *)&bad, sizeof(bad)), EAFNOSUPPORT);
    struct sockaddr_in la;
    int l = listener(&la);
    CHECK_EQ(la.sin_family, AF_INET);
    /* Ephemeral ports come from net.ipv4.ip_local_port_range. */
    FILE *range = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
    CHECK(range != NULL);
    int lo = 0, hi = 0;
    CHECK_EQ(fscanf(range, "%d %d", &lo, &hi), 2);
    fclose(range);
    CHECK(lo >= 1024 && lo < hi);
    CHECK(ntohs(la.sin_port) >= lo && ntohs(la.sin_port) <= hi);
    CHECK_EQ(la.sin_addr.s_addr, htonl(INADDR_LOOPBACK));
    CHECK_EQ(getint(l, SOL_SOCKET, SO_ACCEPTCONN), 1);
    CHECK_ERR(bind(l, (struct sockaddr *)&la, sizeof(la)), EINVAL);
    int s2 = CHECK_OK(socket(AF_INET, SOCK_STREAM, 0));
    CHECK_ERR(bind(s2, (struct sockaddr *)&la, sizeof(la)), EADDRINUSE);
    close(s2);

    /* Connect and accept: each end's names mirror the other's. */
    CHECK_OK(connect(s, (struct sockaddr *)&la, sizeof(la)));
    CHECK_ERR(connect(s, (struct sockaddr *)&la, sizeof(la)), EISCONN);
    struct sockaddr_in peer, me, from;
    len = sizeof(peer);
    CHECK_OK(getpeername(s, (struct sockaddr *)&peer, &len));
    CHECK_MEMEQ(&peer, &la, sizeof(la));
    len = sizeof(me);
    CHECK_OK(getsockname(s, (struct sockaddr *)&me, &len));
    CHECK_EQ(me.sin_addr.s_addr, htonl(INADDR_LOOPBACK));
    CHECK_NE(me.sin_port, 0);
    len = sizeof(from);
    int c = CHECK_OK(accept4(l, (struct sockaddr *)&from, &len, SOCK_CLOEXEC));
    CHECK_EQ(len, sizeof(from));
    CHECK_MEMEQ(&from, &me, sizeof(me));
    CHECK_EQ(fcntl(c, F_GETFD), FD_CLOEXEC);
    CHECK_EQ(getint(c, SOL_SOCKET, SO_ACCEPTCONN), 0);

    /* Data, peeking and FIONREAD. */
    CHECK_EQ(send(s, "hello", 5, 0), 5);
    CHECK_EQ(write(s, " world", 6), 6);
    int avail = 0;
    for (int i = 0; i < 1000 && avail < 11; i++) {
        CHECK_OK(ioctl(c, FIONREAD, &avail));
        if (avail < 11)
            usleep(1000);
    }
    CHECK_EQ(avail, 11);
    CHECK_EQ(recv(c, buf, 5, MSG_PEEK), 5);
    CHECK_MEMEQ(buf, "hello", 5);
    CHECK_EQ(recv(c, buf, sizeof(buf), MSG_WAITALL | MSG_DONTWAIT), 11);
    CHECK_MEMEQ(buf, "hello world", 11);
    CHECK_ERR(recv(c, buf, sizeof(buf), MSG_DONTWAIT), EAGAIN);

    /* A few MiB from a child, checked byte by byte. */
    pid_t pid = CHECK_OK(fork());
    if (pid == 0) {
        static char chunk[65536];
        for (int i = 0; i < 64; i++) {
            for (size_t j = 0; j < sizeof(chunk); j++)
                chunk[j] = (char)((i * 7 + j) % 251);
            full_write(c, chunk, sizeof(chunk));
        }
        _exit(0);
    }
    long total = 0;
    while (total < 64L * 65536) {
        static char in[100000];
        ssize_t n = CHECK_OK(read(s, in, sizeof(in)));
        CHECK(n > 0);
        for (ssize_t k = 0; k < n; k++) {
            long pos = total + k;
            long i = pos / 65536, j = pos % 65536;
            if (in[k] != (char)((i * 7 + j) % 251))
                FAILF("byte %ld differs", pos);
        }
        total += n;
    }
    CHECK_EXITED(wait_status(pid), 0);

    /* Half close: end of file one way, the other way still open. */
    CHECK_OK(shutdown(s, SHUT_WR));
    CHECK_EQ(read(c, buf, sizeof(buf)), 0);
    CHECK_ERR(send(s, "x", 1, MSG_NOSIGNAL), EPIPE);
    CHECK_EQ(write(c, "back", 4), 4);
    CHECK_EQ(read(s, buf, sizeof(buf)), 4);
    CHECK_MEMEQ(buf, "back", 4);
    CHECK_ERR(shutdown(s, 7), EINVAL);
    close(c);
    CHECK_EQ(read(s, buf, sizeof(buf)), 0);
    close(s);

    /* Closing with unread data resets the connection. */
    s = CHECK_OK(socket(AF_INET, SOCK_STREAM, 0));
    CHECK_OK(connect(s, (struct sockaddr *)&la, sizeof(la)));
    c = CHECK_OK(accept(l, NULL, NULL));
    CHECK_EQ(write(s, "unread", 6), 6);
    avail = 0;
    for (int i = 0; i < 1000 && avail < 6; i++) {
        CHECK_OK(ioctl(c, FIONREAD, &avail));
        if (avail < 6)
            usleep(1000);
    }
    close(c);
    CHECK_ERR(read(s, buf, sizeof(buf)), ECONNRESET);
    CHECK_EQ(read(s, buf, sizeof(buf)), 0);
    close(s);

    /* A port nobody listens on refuses. */
    close(l);
    s = CHECK_OK(socket(AF_INET, SOCK_STREAM, 0));
    CHECK_ERR(connect(s, (struct sockaddr *)&la, sizeof(la)), ECONNREFUSED);
    close(s);

    /* IPv6: ::1, and a dual-stack listener taking an IPv4 client. */
    int l6 = CHECK_OK(socket(AF_INET6, SOCK_STREAM, 0));
    CHECK_EQ(getint(l6, SOL_SOCKET, SO_DOMAIN), AF_INET6);
    CHECK_EQ(getint(l6, IPPROTO_IPV6, IPV6_V6ONLY), 0);
    struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_addr = in6addr_any};
    CHECK_OK(bind(l6, (struct sockaddr *)&a6, sizeof(a6)));
    len = sizeof(a6);
    CHECK_OK(getsockname(l6, (struct sockaddr *)&a6, &len));
    CHECK_EQ(len, sizeof(a6));
    CHECK_OK(listen(l6, 4));
    int c6 = CHECK_OK(socket(AF_INET6, SOCK_STREAM, 0));
    struct sockaddr_in6 to6 = a6;
    to6.sin6_addr = in6addr_loopback;
    CHECK_OK(connect(c6, (struct sockaddr *)&to6, sizeof(to6)));
    int a6c = CHECK_OK(accept(l6, NULL, NULL));
    CHECK_EQ(write(c6, "six", 3), 3);
    CHECK_EQ(read(a6c, buf, sizeof(buf)), 3);
    struct sockaddr_in6 p6;
    len = sizeof(p6);
    CHECK_OK(getpeername(a6c, (struct sockaddr *)&p6, &len));
    CHECK(IN6_IS_ADDR_LOOPBACK(&p6.sin6_addr));
    close(a6c);
    close(c6);
    int c4 = CHECK_OK(socket(AF_INET, SOCK_STREAM, 0));
    struct sockaddr_in to4 = lo4(ntohs(a6.sin6_port));
    CHECK_OK(connect(c4, (struct sockaddr *)&to4, sizeof(to4)));
    len = sizeof(p6);
    a6c = CHECK_OK(accept(l6, (struct sockaddr *)&p6, &len));
    CHECK(IN6_IS_ADDR_V4MAPPED(&p6.sin6_addr));
    CHECK_EQ(p6.sin6_addr.s6_addr[15], 1);
    CHECK_EQ(p6.sin6_addr.s6_addr[12], 127);
    CHECK_EQ(write(a6c, "four", 4), 4);
    CHECK_EQ(read(c4, buf, sizeof(buf)), 4);
    CHECK_MEMEQ(buf, "four", 4);
    return 0;
}
