/* Moves TOTAL bytes through a pipe between two processes in 64 KiB writes;
 * prints MB/s. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    long total = (argc > 1 ? atol(argv[1]) : 256) << 20;
    static char buf[65536];
    int p[2];
    if (pipe(p)) return 1;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    pid_t c = fork();
    if (c == 0) {
        close(p[0]);
        for (long sent = 0; sent < total; sent += sizeof buf)
            if (write(p[1], buf, sizeof buf) != sizeof buf) _exit(1);
        _exit(0);
    }
    close(p[1]);
    long got = 0;
    ssize_t r;
    while ((r = read(p[0], buf, sizeof buf)) > 0) got += r;
    waitpid(c, 0, 0);
    clock_gettime(CLOCK_MONOTONIC, &b);
    if (got != total) return 1;
    double s = (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
    printf("%.1f\n", total / s / 1e6);
    return 0;
}
