/* Random socket calls on AF_INET/AF_INET6 TCP and UDP sockets: random
 * families, types, protocols, addresses (loopback, wildcard, v4-mapped,
 * foreign, and ports seen before), lengths, flags and option numbers, in
 * CHILDREN forked children of OPS calls each. Every socket is
 * non-blocking; the children run at the same time. Run only inside the sandbox. Usage: random_socket_ops
 * CHILDREN OPS SEED. Prints one line per child and a summary. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <fcntl.h>
#include <poll.h>
static unsigned long long st = 88172645463325252ULL;
static unsigned long long rnd(void){ st ^= st << 13; st ^= st >> 7; st ^= st << 17; return st; }
static int run_child(int iters, unsigned long long seed) {
    st ^= seed * 2654435761ULL;
    int fds[16]; int nf = 0;
    char buf[70000];
    unsigned short ports[8] = {0}; int np = 0;
    for (int i = 0; i < iters; i++) {
        int op = rnd() % 14;
        int fd = nf ? fds[rnd() % nf] : -1;
        struct sockaddr_in6 a6 = {.sin6_family = AF_INET6};
        struct sockaddr_in a = {.sin_family = AF_INET};
        a.sin_addr.s_addr = htonl(rnd() % 4 ? INADDR_LOOPBACK : (rnd() % 2 ? 0 : (unsigned)rnd()));
        unsigned short port = np && rnd() % 2 ? ports[rnd() % np] : (unsigned short)(rnd() % 3 ? 0 : rnd());
        a.sin_port = htons(port); a6.sin6_port = htons(port);
        if (rnd() % 2) a6.sin6_addr = in6addr_loopback; else { a6.sin6_addr.s6_addr[10]=0xff; a6.sin6_addr.s6_addr[11]=0xff; a6.sin6_addr.s6_addr[12]=127; a6.sin6_addr.s6_addr[15]=1; }
        struct sockaddr *sa = rnd() % 2 ? (struct sockaddr *)&a : (struct sockaddr *)&a6;
        socklen_t sl = (socklen_t)(rnd() % 3 ? (sa == (struct sockaddr *)&a ? sizeof a : sizeof a6) : rnd() % 40);
        switch (op) {
        case 0: if (nf < 16) { int s = socket(rnd()%2 ? AF_INET : AF_INET6, (rnd()%2 ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK, rnd()%5==0 ? (int)(rnd()%300) : 0); if (s >= 0) fds[nf++] = s; } break;
        case 1: bind(fd, sa, sl); { struct sockaddr_in6 g; socklen_t gl = sizeof g; if (getsockname(fd, (struct sockaddr*)&g, &gl) == 0 && np < 8 && g.sin6_port) ports[np++] = ntohs(g.sin6_port); } break;
        case 2: listen(fd, (int)(rnd() % 300) - 10); break;
        case 3: { int fl = fcntl(fd, F_GETFL); fcntl(fd, F_SETFL, fl | O_NONBLOCK); connect(fd, sa, sl); } break;
        case 4: { int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK); if (c >= 0) { if (nf < 16) fds[nf++] = c; else close(c); } } break;
        case 5: send(fd, buf, rnd() % sizeof buf, MSG_DONTWAIT | MSG_NOSIGNAL | (rnd()%8==0 ? MSG_OOB : 0)); break;
        case 6: sendto(fd, buf, rnd() % sizeof buf, MSG_DONTWAIT | MSG_NOSIGNAL, sa, sl); break;
        case 7: recv(fd, buf, rnd() % sizeof buf, MSG_DONTWAIT | (rnd()%2 ? MSG_PEEK : 0) | (rnd()%4==0 ? MSG_TRUNC : 0) | (rnd()%8==0 ? MSG_WAITALL : 0)); break;
        case 8: shutdown(fd, (int)(rnd() % 4)); break;
        case 9: if (nf) { int k = rnd() % nf; close(fds[k]); fds[k] = fds[--nf]; } break;
        case 10: { int v = (int)rnd(); setsockopt(fd, rnd()%2 ? SOL_SOCKET : (rnd()%2 ? IPPROTO_TCP : (rnd()%2 ? IPPROTO_IP : IPPROTO_IPV6)), (int)(rnd() % 70), &v, (socklen_t)(rnd() % 9)); } break;
        case 11: { char v[64]; socklen_t l = (socklen_t)(rnd() % 64); getsockopt(fd, rnd()%2 ? SOL_SOCKET : (rnd()%2 ? IPPROTO_TCP : IPPROTO_IPV6), (int)(rnd() % 70), v, &l); } break;
        case 12: { struct pollfd p = {.fd = fd, .events = POLLIN|POLLOUT}; poll(&p, 1, 0); } break;
        case 13: { struct sockaddr_in6 g; socklen_t gl = (socklen_t)(rnd() % 40); getpeername(fd, (struct sockaddr*)&g, &gl); } break;
        }
    }
    return 0;
}

int main(int argc, char **argv) {
    int children = argc > 1 ? atoi(argv[1]) : 8;
    int ops = argc > 2 ? atoi(argv[2]) : 1000;
    unsigned long long seed = argc > 3 ? strtoull(argv[3], NULL, 10) : 1;
    /* All children at once, so their sockets meet in the one stack. */
    pid_t pids[256];
    if (children < 1 || children > 256)
        return 2;
    for (int c = 0; c < children; c++) {
        pids[c] = fork();
        if (pids[c] < 0)
            return 1;
        if (pids[c] == 0)
            _exit(run_child(ops, seed + (unsigned long long)c));
    }
    for (int c = 0; c < children; c++) {
        int status;
        if (waitpid(pids[c], &status, 0) != pids[c])
            return 1;
        if (WIFEXITED(status))
            printf("child %d: exit %d\n", c, WEXITSTATUS(status));
        else
            printf("child %d: signal %d\n", c, WTERMSIG(status));
    }
    printf("children: %d calls: %d\n", children, children * ops);
    return 0;
}
