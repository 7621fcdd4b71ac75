/* Moves TOTAL MiB over a loopback TCP connection between two processes
 * in 64 KiB writes; prints MB/s. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    long total = (argc > 1 ? atol(argv[1]) : 256) << 20;
    static char buf[65536];
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    int l = socket(AF_INET, SOCK_STREAM, 0);
    if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof a) || listen(l, 1) ||
        getsockname(l, (struct sockaddr *)&a, &len))
        return 1;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t c = fork();
    if (c == 0) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(s, (struct sockaddr *)&a, sizeof a)) _exit(1);
        for (long sent = 0; sent < total;) {
            ssize_t w = write(s, buf, sizeof buf);
            if (w <= 0) _exit(1);
            sent += w;
        }
        _exit(0);
    }
    int s = accept(l, NULL, NULL);
    long got = 0;
    ssize_t r;
    while ((r = read(s, buf, sizeof buf)) > 0) got += r;
    waitpid(c, 0, 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (got != total) return 1;
    double secs = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("%.1f\n", total / secs / 1e6);
    return 0;
}
