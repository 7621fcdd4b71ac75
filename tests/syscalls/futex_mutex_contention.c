/* Mutual exclusion under contention: 4 threads x 20000 increments under a
 * pthread mutex, under a raw futex lock (Drepper's three-state mutex:
 * FUTEX_WAIT/FUTEX_WAKE only) and under a process-shared futex lock in
 * MAP_SHARED memory taken by two processes, each count exact; a
 * condition-variable ping-pong alternates strictly for 5000 rounds; a
 * barrier of 4 threads cycles 500 times. FUTEX_WAKE with a count of 0
 * still wakes one waiter (Linux checks the count after a wake). */
#include "check.h"

#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>

enum { THREADS = 4, ITERS = 20000, ROUNDS = 5000, BARRIER_ROUNDS = 500 };

static long futex(_Atomic unsigned *addr, int op, unsigned val)
{
    return syscall(SYS_futex, addr, op, val, NULL, NULL, 0);
}

/* ---- pthread mutex ---- */

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static long counter;

static void *add_mutex(void *arg)
{
    (void)arg;
    for (int i = 0; i < ITERS; i++) {
        CHECK_EQ(pthread_mutex_lock(&m), 0);
        counter++;
        CHECK_EQ(pthread_mutex_unlock(&m), 0);
    }
    return NULL;
}

/* ---- raw futex lock: 0 free, 1 locked, 2 locked with waiters ---- */

static int lock_op = FUTEX_WAIT_PRIVATE, unlock_op = FUTEX_WAKE_PRIVATE;

static void futex_lock(_Atomic unsigned *w)
{
    unsigned c = 0;
    if (atomic_compare_exchange_strong(w, &c, 1))
        return;
    if (c != 2)
        c = atomic_exchange(w, 2);
    while (c != 0) {
        long r = futex(w, lock_op, 2);
        CHECK(r == 0 || (r == -1 && (errno == EAGAIN || errno == EINTR)));
        c = atomic_exchange(w, 2);
    }
}

static void futex_unlock(_Atomic unsigned *w)
{
    if (atomic_fetch_sub(w, 1) != 1) {
        *w = 0;
        CHECK(futex(w, unlock_op, 1) >= 0);
    }
}

static _Atomic unsigned word;
static long raw_counter;

static void *add_futex(void *arg)
{
    (void)arg;
    for (int i = 0; i < ITERS; i++) {
        futex_lock(&word);
        raw_counter++;
        futex_unlock(&word);
    }
    return NULL;
}

/* ---- condition-variable ping-pong ---- */

static pthread_mutex_t pm = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pc = PTHREAD_COND_INITIALIZER;
static int turn;
static int order_ok = 1;

static void *ping_pong(void *arg)
{
    int me = (int)(long)arg;
    for (int i = 0; i < ROUNDS; i++) {
        CHECK_EQ(pthread_mutex_lock(&pm), 0);
        while (turn % 2 != me)
            CHECK_EQ(pthread_cond_wait(&pc, &pm), 0);
        if (turn != 2 * i + me)
            order_ok = 0;
        turn++;
        CHECK_EQ(pthread_cond_signal(&pc), 0);
        CHECK_EQ(pthread_mutex_unlock(&pm), 0);
    }
    return NULL;
}

/* ---- barrier ---- */

static pthread_barrier_t bar;
static _Atomic int arrived[BARRIER_ROUNDS];

static void *barrier_loop(void *arg)
{
    (void)arg;
    for (int i = 0; i < BARRIER_ROUNDS; i++) {
        arrived[i]++;
        int r = pthread_barrier_wait(&bar);
        CHECK(r == 0 || r == PTHREAD_BARRIER_SERIAL_THREAD);
        /* Nobody passes round i before all have arrived at it. */
        CHECK_EQ(arrived[i], THREADS);
    }
    return NULL;
}

/* ---- FUTEX_WAKE with count 0 ---- */

static _Atomic unsigned zero_word;
static _Atomic int zero_woken;

static void *wait_zero(void *arg)
{
    (void)arg;
    CHECK_EQ(futex(&zero_word, FUTEX_WAIT_PRIVATE, 0), 0);
    zero_woken = 1;
    return NULL;
}

static void run_threads(void *(*fn)(void *))
{
    pthread_t th[THREADS];
    for (long i = 0; i < THREADS; i++)
        CHECK_EQ(pthread_create(&th[i], NULL, fn, (void *)i), 0);
    for (int i = 0; i < THREADS; i++)
        CHECK_EQ(pthread_join(th[i], NULL), 0);
}

int main(void)
{
    alarm(120);
    run_threads(add_mutex);
    CHECK_EQ(counter, (long)THREADS * ITERS);

    run_threads(add_futex);
    CHECK_EQ(raw_counter, (long)THREADS * ITERS);
    CHECK_EQ(word, 0);

    /* Shared futex lock across two processes (two threads each). */
    struct shared {
        _Atomic unsigned lock;
        long count;
    } *sh = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    CHECK(sh != MAP_FAILED);
    lock_op = FUTEX_WAIT;
    unlock_op = FUTEX_WAKE;
    pid_t p = CHECK_OK(fork());
    for (int i = 0; i < ITERS; i++) {
        futex_lock(&sh->lock);
        sh->count++;
        futex_unlock(&sh->lock);
    }
    if (p == 0)
        _exit(0);
    CHECK_EXITED(wait_status(p), 0);
    CHECK_EQ(sh->count, 2L * ITERS);
    CHECK_EQ(sh->lock, 0);

    pthread_t a, b;
    CHECK_EQ(pthread_create(&a, NULL, ping_pong, (void *)0L), 0);
    CHECK_EQ(pthread_create(&b, NULL, ping_pong, (void *)1L), 0);
    CHECK_EQ(pthread_join(a, NULL), 0);
    CHECK_EQ(pthread_join(b, NULL), 0);
    CHECK_EQ(turn, 2 * ROUNDS);
    CHECK(order_ok);

    CHECK_EQ(pthread_barrier_init(&bar, NULL, THREADS), 0);
    run_threads(barrier_loop);
    CHECK_EQ(pthread_barrier_destroy(&bar), 0);

    pthread_t z;
    CHECK_EQ(pthread_create(&z, NULL, wait_zero, NULL), 0);
    long n = 0;
    for (int i = 0; i < 400 && n == 0; i++) {
        struct timespec ts = {0, 5000000};
        nanosleep(&ts, NULL);
        n = futex(&zero_word, FUTEX_WAKE_PRIVATE, 0);
    }
    CHECK_EQ(n, 1);
    CHECK_EQ(pthread_join(z, NULL), 0);
    CHECK_EQ(zero_woken, 1);
    return 0;
}
