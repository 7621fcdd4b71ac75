/* UDP over loopback: datagram boundaries, sender addresses, MSG_PEEK,
 * MSG_TRUNC both ways, FIONREAD, connect filtering and AF_UNSPEC,
 * EDESTADDRREQ/EMSGSIZE, receive timeouts, empty datagrams, and IPv6
 * sockets talking to IPv4 ones through v4-mapped addresses. */
#include "check.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>

static struct sockaddr_in lo4(unsigned short port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

/* A UDP socket bound to 127.0.0.1 with an ephemeral port. */
static int bound(struct sockaddr_in *a)
{
    int s = CHECK_OK(socket(AF_INET, SOCK_DGRAM, 0));
    *a = lo4(0);
    CHECK_OK(bind(s, (struct sockaddr *)a, sizeof(*a)));
    socklen_t len = sizeof(*a);
    CHECK_OK(getsockname(s, (struct sockaddr *)a, &len));
    CHECK_NE(a->sin_port, 0);
    return s;
}

int main(void)
{
    alarm(20);
    int v = -1;
    socklen_t vl = sizeof(v);

    struct sockaddr_in ra, sa, from;
    int r = bound(&ra);
    int s = bound(&sa);
    CHECK_OK(getsockopt(r, SOL_SOCKET, SO_PROTOCOL, &v, &vl));
    CHECK_EQ(v, IPPROTO_UDP);
    CHECK_ERR(listen(r, 1), EOPNOTSUPP);
    CHECK_ERR(accept(r, NULL, NULL), EOPNOTSUPP);
    CHECK_ERR(socket(AF_INET, SOCK_DGRAM, IPPROTO_TCP), EPROTONOSUPPORT);

    /* Boundaries and the sender's address. */
    CHECK_ERR(send(s, "x", 1, 0), EDESTADDRREQ);
    CHECK_EQ(sendto(s, "first", 5, 0, (struct sockaddr *)&ra, sizeof(ra)), 5);
    CHECK_EQ(sendto(s, "second!", 7, 0, (struct sockaddr *)&ra, sizeof(ra)), 7);
    CHECK_EQ(sendto(s, "", 0, 0, (struct sockaddr *)&ra, sizeof(ra)), 0);
    static char big[65508];
    CHECK_ERR(sendto(s, big, sizeof(big), 0, (struct sockaddr *)&ra, sizeof(ra)), EMSGSIZE);

    char buf[64];
    int avail = -1;
    CHECK_OK(ioctl(r, FIONREAD, &avail));
    CHECK_EQ(avail, 5);
    socklen_t len = sizeof(from);
    CHECK_EQ(recvfrom(r, buf, sizeof(buf), MSG_PEEK, (struct sockaddr *)&from, &len), 5);
    CHECK_EQ(len, sizeof(from));
    CHECK_MEMEQ(&from, &sa, sizeof(sa));
    /* A short buffer truncates; MSG_TRUNC asks for the real length. */
    CHECK_EQ(recv(r, buf, 3, MSG_TRUNC), 5);
    CHECK_MEMEQ(buf, "fir", 3);
    struct iovec iov = {.iov_base = buf, .iov_len = 4};
    struct msghdr m = {.msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov, .msg_iovlen = 1};
    CHECK_EQ(recvmsg(r, &m, 0), 4);
    CHECK_EQ(m.msg_flags & MSG_TRUNC, MSG_TRUNC);
    CHECK_EQ(m.msg_namelen, sizeof(from));
    CHECK_MEMEQ(buf, "seco", 4);
    CHECK_EQ(recv(r, buf, sizeof(buf), 0), 0);
    CHECK_ERR(recv(r, buf, sizeof(buf), MSG_DONTWAIT), EAGAIN);

    /* A receive timeout ends the wait with EAGAIN. */
    struct timeval tv = {.tv_sec = 0, .tv_usec = 50000};
    CHECK_OK(setsockopt(r, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
    CHECK_ERR(recv(r, buf, sizeof(buf), 0), EAGAIN);

    /* Connected: a default destination and the only accepted source. */
    len = sizeof(from);
    CHECK_ERR(getpeername(r, (struct sockaddr *)&from, &len), ENOTCONN);
    CHECK_OK(connect(r, (struct sockaddr *)&sa, sizeof(sa)));
    len = sizeof(from);
    CHECK_OK(getpeername(r, (struct sockaddr *)&from, &len));
    CHECK_MEMEQ(&from, &sa, sizeof(sa));
    struct sockaddr_in oa;
    int other = bound(&oa);
    CHECK_EQ(sendto(other, "noise", 5, 0, (struct sockaddr *)&ra, sizeof(ra)), 5);
    CHECK_EQ(sendto(s, "peer", 4, 0, (struct sockaddr *)&ra, sizeof(ra)), 4);
    CHECK_EQ(recv(r, buf, sizeof(buf), 0), 4);
    CHECK_MEMEQ(buf, "peer", 4);
    CHECK_EQ(send(r, "reply", 5, 0), 5);
    len = sizeof(from);
    CHECK_EQ(recvfrom(s, buf, sizeof(buf), 0, (struct sockaddr *)&from, &len), 5);
    CHECK_MEMEQ(&from, &ra, sizeof(ra));
    /* AF_UNSPEC dissolves the association. */
    struct sockaddr unspec = {.sa_family = AF_UNSPEC};
    CHECK_OK(connect(r, &unspec, sizeof(unspec)));
    len = sizeof(from);
    CHECK_ERR(getpeername(r, (struct sockaddr *)&from, &len), ENOTCONN);
    CHECK_ERR(send(r, "x", 1, 0), EDESTADDRREQ);

    /* IPv6 to IPv4 and back through v4-mapped addresses. */
    int s6 = CHECK_OK(socket(AF_INET6, SOCK_DGRAM, 0));
    struct sockaddr_in6 to6 = {.sin6_family = AF_INET6, .sin6_port = ra.sin_port};
    to6.sin6_addr.s6_addr[10] = 0xff;
    to6.sin6_addr.s6_addr[11] = 0xff;
    /* (Receiving on r again after AF_UNSPEC is left out: some kernels
     * stop delivering to a disconnected socket that was bound first.) */
    close(r);
    r = bound(&ra);
    memcpy(&to6.sin6_addr.s6_addr[12], &ra.sin_addr, 4);
    to6.sin6_port = ra.sin_port;
    CHECK_EQ(sendto(s6, "mapped", 6, 0, (struct sockaddr *)&to6, sizeof(to6)), 6);
    len = sizeof(from);
    CHECK_EQ(recvfrom(r, buf, sizeof(buf), 0, (struct sockaddr *)&from, &len), 6);
    CHECK_MEMEQ(buf, "mapped", 6);
    CHECK_EQ(from.sin_family, AF_INET);
    CHECK_EQ(from.sin_addr.s_addr, htonl(INADDR_LOOPBACK));
    CHECK_EQ(sendto(r, "back", 4, 0, (struct sockaddr *)&from, len), 4);
    struct sockaddr_in6 f6;
    len = sizeof(f6);
    CHECK_EQ(recvfrom(s6, buf, sizeof(buf), 0, (struct sockaddr *)&f6, &len), 4);
    CHECK_EQ(len, sizeof(f6));
    CHECK(IN6_IS_ADDR_V4MAPPED(&f6.sin6_addr));
    CHECK_EQ(f6.sin6_port, ra.sin_port);
    /* A v6-only socket cannot reach IPv4. */
    int s6only = CHECK_OK(socket(AF_INET6, SOCK_DGRAM, 0));
    int one = 1;
    CHECK_OK(setsockopt(s6only, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)));
    CHECK_ERR(sendto(s6only, "no", 2, 0, (struct sockaddr *)&to6, sizeof(to6)), ENETUNREACH);
    /* ::1 to ::1. */
    close(s6only);
    s6only = CHECK_OK(socket(AF_INET6, SOCK_DGRAM, 0));
    CHECK_OK(setsockopt(s6only, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)));
    struct sockaddr_in6 b6 = {.sin6_family = AF_INET6, .sin6_addr = in6addr_loopback};
    CHECK_OK(bind(s6only, (struct sockaddr *)&b6, sizeof(b6)));
    len = sizeof(b6);
    CHECK_OK(getsockname(s6only, (struct sockaddr *)&b6, &len));
    CHECK_EQ(sendto(s6, "v6", 2, 0, (struct sockaddr *)&b6, sizeof(b6)), 2);
    len = sizeof(f6);
    CHECK_EQ(recvfrom(s6only, buf, sizeof(buf), 0, (struct sockaddr *)&f6, &len), 2);
    CHECK(IN6_IS_ADDR_LOOPBACK(&f6.sin6_addr));
    return 0;
}
