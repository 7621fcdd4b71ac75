/* Futex keys as Linux makes them: a shared (non-PRIVATE) futex op on
 * private memory is keyed by address space and address, so a waiter is
 * still found after its page was copied on write (a thread that forked
 * and then exits wakes pthread_join, which waits with a shared op on the
 * thread's tid word); private and shared ops on one word are separate
 * queues (a shared wake does not wake a private waiter); on MAP_SHARED
 * memory a shared op meets waiters of another process. */
#include "check.h"

#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>

static long futex(_Atomic unsigned *addr, int op, unsigned val)
{
    return syscall(SYS_futex, addr, op, val, NULL, NULL, 0);
}

static void msleep(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

static pid_t child;

static void *fork_then_exit(void *arg)
{
    (void)arg;
    child = fork();
    if (child == 0) {
        pause();
        _exit(0);
    }
    return NULL;
}

static _Atomic unsigned word;
static _Atomic int woke;

static void *wait_private(void *arg)
{
    (void)arg;
    CHECK_EQ(futex(&word, FUTEX_WAIT_PRIVATE, 0), 0);
    woke = 1;
    return NULL;
}

static void *wait_shared(void *arg)
{
    (void)arg;
    CHECK_EQ(futex(&word, FUTEX_WAIT, 0), 0);
    woke = 2;
    return NULL;
}

/* Wakes with `op` until one waiter was woken (it may not be queued yet). */
static long wake_one(int op)
{
    for (int i = 0; i < 400; i++) {
        long n = futex(&word, op, 1);
        if (n != 0)
            return n;
        msleep(5);
    }
    return 0;
}

int main(void)
{
    alarm(20);
    /* pthread_join after the thread forked (its stack page was copied
     * when the thread cleared its tid). */
    for (int i = 0; i < 3; i++) {
        pthread_t t;
        CHECK_EQ(pthread_create(&t, NULL, fork_then_exit, NULL), 0);
        CHECK_EQ(pthread_join(t, NULL), 0);
        CHECK(child > 0);
        CHECK_OK(kill(child, SIGKILL));
        CHECK_SIGNALED(wait_status(child), SIGKILL);
    }

    /* A shared wait on private memory, woken after a fork broke the
     * sharing of its page. */
    word = 0;
    woke = 0;
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, wait_shared, NULL), 0);
    msleep(50);
    pid_t p = CHECK_OK(fork());
    if (p == 0)
        _exit(0);
    CHECK_EXITED(wait_status(p), 0);
    word = 0; /* this write copies the page */
    CHECK_EQ(wake_one(FUTEX_WAKE), 1);
    CHECK_EQ(pthread_join(t, NULL), 0);
    CHECK_EQ(woke, 2);

    /* A private waiter is not on the shared queue, nor the reverse. */
    woke = 0;
    CHECK_EQ(pthread_create(&t, NULL, wait_private, NULL), 0);
    msleep(100);
    CHECK_EQ(futex(&word, FUTEX_WAKE, 1), 0);
    CHECK_EQ(woke, 0);
    CHECK_EQ(wake_one(FUTEX_WAKE_PRIVATE), 1);
    CHECK_EQ(pthread_join(t, NULL), 0);
    CHECK_EQ(woke, 1);
    woke = 0;
    CHECK_EQ(pthread_create(&t, NULL, wait_shared, NULL), 0);
    msleep(100);
    CHECK_EQ(futex(&word, FUTEX_WAKE_PRIVATE, 1), 0);
    CHECK_EQ(woke, 0);
    CHECK_EQ(wake_one(FUTEX_WAKE), 1);
    CHECK_EQ(pthread_join(t, NULL), 0);
    CHECK_EQ(woke, 2);

    /* MAP_SHARED: another process's waiter. */
    _Atomic unsigned *sw = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    CHECK(sw != MAP_FAILED);
    *sw = 0;
    p = CHECK_OK(fork());
    if (p == 0)
        _exit(futex(sw, FUTEX_WAIT, 0) == 0 ? 0 : 1);
    long n = 0;
    for (int i = 0; i < 400 && n == 0; i++) {
        msleep(5);
        n = futex(sw, FUTEX_WAKE, 1);
    }
    CHECK_EQ(n, 1);
    CHECK_EXITED(wait_status(p), 0);
    return 0;
}
