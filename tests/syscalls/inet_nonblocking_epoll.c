/* Non-blocking TCP as event loops use it: EINPROGRESS connects finished
 * through epoll and SO_ERROR, refused connects reported with POLLERR,
 * EAGAIN on empty accept/recv and on a full send buffer, EPOLLOUT coming
 * back once the peer reads, EPOLLET firing once per arrival, and
 * EPOLLRDHUP when the peer closes. */
#include "check.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>

static struct sockaddr_in lo4(unsigned short port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

static int so_error(int fd)
{
    int v = -1;
    socklen_t len = sizeof(v);
    CHECK_OK(getsockopt(fd, SOL_SOCKET, SO_ERROR, &v, &len));
    return v;
}

/* Waits (up to 5 s) for events on one fd. */
static unsigned wait_one(int ep, int timeout_ms)
{
    struct epoll_event ev = {0};
    int n = CHECK_OK(epoll_wait(ep, &ev, 1, timeout_ms));
    return n == 1 ? ev.events : 0;
}

int main(void)
{
    alarm(20);
    signal(SIGPIPE, SIG_IGN);
    int l = CHECK_OK(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0));
    struct sockaddr_in la = lo4(0);
    CHECK_OK(bind(l, (struct sockaddr *)&la, sizeof(la)));
    socklen_t len = sizeof(la);
    CHECK_OK(getsockname(l, (struct sockaddr *)&la, &len));
    CHECK_OK(listen(l, 4));
    CHECK_ERR(accept(l, NULL, NULL), EAGAIN);

    /* A fresh socket is writable and hung up, as Linux reports it. */
    int c = CHECK_OK(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0));
    struct pollfd p = {.fd = c, .events = POLLIN | POLLOUT};
    CHECK_EQ(poll(&p, 1, 0), 1);
    CHECK_EQ(p.revents, POLLOUT | POLLHUP);

    /* Connect in the background, finish through epoll. */
    int ep = CHECK_OK(epoll_create1(0));
    CHECK_ERR(connect(c, (struct sockaddr *)&la, sizeof(la)), EINPROGRESS);
    struct epoll_event ev = {.events = EPOLLOUT, .data.fd = c};
    CHECK_OK(epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev));
    CHECK_EQ(wait_one(ep, 5000), EPOLLOUT);
    CHECK_EQ(so_error(c), 0);
    CHECK_OK(epoll_ctl(ep, EPOLL_CTL_DEL, c, NULL));
    /* The listener becomes readable; accept takes the connection. */
    p = (struct pollfd){.fd = l, .events = POLLIN};
    CHECK_EQ(poll(&p, 1, 5000), 1);
    CHECK_EQ(p.revents, POLLIN);
    int a = CHECK_OK(accept4(l, NULL, NULL, SOCK_NONBLOCK));
    CHECK_EQ(fcntl(a, F_GETFL) & O_NONBLOCK, O_NONBLOCK);
    char buf[4096];
    CHECK_ERR(recv(a, buf, sizeof(buf), 0), EAGAIN);

    /* Edge-triggered: one event per arrival. */
    ev = (struct epoll_event){.events = EPOLLIN | EPOLLET | EPOLLRDHUP, .data.fd = a};
    CHECK_OK(epoll_ctl(ep, EPOLL_CTL_ADD, a, &ev));
    CHECK_EQ(wait_one(ep, 0), 0);
    CHECK_EQ(send(c, "1", 1, 0), 1);
    CHECK_EQ(wait_one(ep, 5000), EPOLLIN);
    CHECK_EQ(wait_one(ep, 0), 0);
    CHECK_EQ(send(c, "2", 1, 0), 1);
    CHECK_EQ(wait_one(ep, 5000), EPOLLIN);
    CHECK_EQ(recv(a, buf, sizeof(buf), 0), 2);
    CHECK_MEMEQ(buf, "12", 2);

    /* Fill the pipe until EAGAIN; writability returns once read. */
    long sent = 0;
    static char chunk[65536];
    for (;;) {
        ssize_t n = send(c, chunk, sizeof(chunk), 0);
        if (n < 0) {
            CHECK_EQ(errno, EAGAIN);
            break;
        }
        sent += n;
        CHECK(sent < (64L << 20));
    }
    CHECK(sent > 0);
    p = (struct pollfd){.fd = c, .events = POLLOUT};
    CHECK_EQ(poll(&p, 1, 0), 0);
    long got = 0;
    while (got < sent) {
        ssize_t n = recv(a, buf, sizeof(buf), 0);
        if (n < 0) {
            CHECK_EQ(errno, EAGAIN);
            struct pollfd q = {.fd = a, .events = POLLIN};
            CHECK_EQ(poll(&q, 1, 5000), 1);
            continue;
        }
        got += n;
    }
    CHECK_EQ(got, sent);
    p = (struct pollfd){.fd = c, .events = POLLOUT};
    CHECK_EQ(poll(&p, 1, 5000), 1);
    CHECK_EQ(p.revents, POLLOUT);

    /* The peer's close: readable, end of file, RDHUP. */
    close(c);
    unsigned e = wait_one(ep, 5000);
    CHECK_EQ(e & (EPOLLIN | EPOLLRDHUP), EPOLLIN | EPOLLRDHUP);
    CHECK_EQ(recv(a, buf, sizeof(buf), 0), 0);
    close(a);

    /* A refused connect: EINPROGRESS, then POLLERR and SO_ERROR once. */
    close(l);
    c = CHECK_OK(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0));
    CHECK_ERR(connect(c, (struct sockaddr *)&la, sizeof(la)), EINPROGRESS);
    p = (struct pollfd){.fd = c, .events = POLLOUT};
    CHECK_EQ(poll(&p, 1, 5000), 1);
    CHECK_EQ(p.revents & (POLLERR | POLLHUP), POLLERR | POLLHUP);
    CHECK_EQ(so_error(c), ECONNREFUSED);
    CHECK_EQ(so_error(c), 0);
    return 0;
}
