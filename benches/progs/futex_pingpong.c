/* Two threads hand a token back and forth N times with FUTEX_WAIT/WAKE;
 * prints microseconds per round trip. */
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static _Atomic int turn;
static int rounds;

static void wait_for(int want) {
    int cur;
    while ((cur = atomic_load(&turn)) != want)
        syscall(SYS_futex, &turn, FUTEX_WAIT_PRIVATE, cur, 0, 0, 0);
}

static void pass_to(int who) {
    atomic_store(&turn, who);
    syscall(SYS_futex, &turn, FUTEX_WAKE_PRIVATE, 1, 0, 0, 0);
}

static void *other(void *a) {
    for (int i = 0; i < rounds; i++) {
        wait_for(1);
        pass_to(0);
    }
    return a;
}

int main(int argc, char **argv) {
    rounds = argc > 1 ? atoi(argv[1]) : 2000;
    pthread_t t;
    pthread_create(&t, 0, other, 0);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < rounds; i++) {
        pass_to(1);
        wait_for(0);
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    pthread_join(t, 0);
    printf("%.2f\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / rounds / 1e3);
    return 0;
}
