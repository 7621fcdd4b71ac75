/* FUTEX_WAIT_REQUEUE_PI / FUTEX_CMP_REQUEUE_PI: a waiter on a plain futex
 * moved onto a held PI futex gets it when its owner unlocks (the word
 * then holds the waiter's TID with FUTEX_WAITERS); moved onto a free PI
 * futex it owns it at once; several waiters get it in turn; the errors of
 * futex(2) (EINVAL for uaddr == uaddr2, nr_wake != 1, a waiter that
 * expects another PI futex or is a plain waiter, FUTEX_WAKE on a requeue-PI
 * waiter; EAGAIN on a value mismatch; ETIMEDOUT). A PI futex whose owner
 * dies without a robust-list entry passes to its waiter with
 * FUTEX_OWNER_DIED (Linux's exit_pi_state_list), for a thread's private
 * futex and for a shared one owned by another process. pthread condition
 * variables work with PTHREAD_PRIO_INHERIT mutexes. */
#include "check.h"

#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>

static long futex(_Atomic unsigned *addr, int op, unsigned val, unsigned long val2,
                  _Atomic unsigned *addr2, unsigned val3)
{
    return syscall(SYS_futex, addr, op, val, val2, addr2, val3);
}

static unsigned gettid_u(void)
{
    return (unsigned)syscall(SYS_gettid);
}

static void msleep(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

static _Atomic unsigned cond, pi, other_pi;
static _Atomic int done_count;

/* Waits on `cond` to be requeued onto `pi`; once it owns `pi` it checks
 * the word, counts itself and unlocks. */
static void *requeue_waiter(void *arg)
{
    (void)arg;
    CHECK_EQ(futex(&cond, FUTEX_WAIT_REQUEUE_PI_PRIVATE, 0, 0, &pi, 0), 0);
    CHECK_EQ(pi & FUTEX_TID_MASK, gettid_u());
    done_count++;
    if (futex(&pi, FUTEX_UNLOCK_PI_PRIVATE, 0, 0, NULL, 0) != 0)
        FAILF("FUTEX_UNLOCK_PI by the new owner");
    return NULL;
}

/* Requeues `cond`'s waiters onto `pi` until `want` have been moved. */
static long requeue_until(int nr_requeue, long want)
{
    long got = 0;
    for (int i = 0; i < 2000 && got < want; i++) {
        long r = futex(&cond, FUTEX_CMP_REQUEUE_PI_PRIVATE, 1, (unsigned long)nr_requeue, &pi, 0);
        CHECK(r >= 0);
        got += r;
        if (got < want)
            msleep(5);
    }
    return got;
}

static void test_requeue_onto_held_lock(void)
{
    unsigned me = gettid_u();
    cond = 0;
    pi = me; /* held by this thread */
    done_count = 0;
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, requeue_waiter, NULL), 0);
    CHECK_EQ(requeue_until(INT_MAX, 1), 1);
    /* Queued behind us: the word says so. */
    CHECK_EQ(pi, me | FUTEX_WAITERS);
    msleep(50);
    CHECK_EQ(done_count, 0);
    CHECK_EQ(futex(&pi, FUTEX_UNLOCK_PI_PRIVATE, 0, 0, NULL, 0), 0);
    CHECK_EQ(pthread_join(th, NULL), 0);
    CHECK_EQ(done_count, 1);
    CHECK_EQ(pi, 0);
}

static _Atomic unsigned taken_word;

static void *requeue_waiter_keep(void *arg)
{
    (void)arg;
    CHECK_EQ(futex(&cond, FUTEX_WAIT_REQUEUE_PI_PRIVATE, 0, 0, &pi, 0), 0);
    taken_word = pi;
    CHECK_EQ(pi & FUTEX_TID_MASK, gettid_u());
    /* No FUTEX_WAITERS: a user-space unlock will do. */
    unsigned mine = gettid_u();
    CHECK(atomic_compare_exchange_strong(&pi, &mine, 0));
    return NULL;
}

static void test_requeue_onto_free_lock(void)
{
    cond = 0;
    pi = 0;
    taken_word = 0;
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, requeue_waiter_keep, NULL), 0);
    /* nr_requeue 0: the one woken takes the free lock, no waiters bit. */
    CHECK_EQ(requeue_until(0, 1), 1);
    CHECK_EQ(pthread_join(th, NULL), 0);
    CHECK(taken_word != 0);
    CHECK_EQ(taken_word & ~FUTEX_TID_MASK, 0);
    CHECK_EQ(pi, 0);
}

static void test_requeue_many(void)
{
    cond = 0;
    pi = 0;
    done_count = 0;
    pthread_t th[3];
    for (int i = 0; i < 3; i++)
        CHECK_EQ(pthread_create(&th[i], NULL, requeue_waiter, NULL), 0);
    /* Let all three queue on cond, then move them in one call: one takes
     * the free lock, the other two queue behind it. */
    long got = 0;
    for (int i = 0; i < 100 && got == 0; i++) {
        msleep(20);
        if (i >= 5)
            got = futex(&cond, FUTEX_CMP_REQUEUE_PI_PRIVATE, 1, INT_MAX, &pi, 0);
    }
    CHECK(got >= 1);
    if (got < 3)
        got += requeue_until(INT_MAX, 3 - got);
    CHECK_EQ(got, 3);
    for (int i = 0; i < 3; i++)
        CHECK_EQ(pthread_join(th[i], NULL), 0);
    CHECK_EQ(done_count, 3);
    CHECK_EQ(pi, 0);
}

static _Atomic int early_ret, early_err;

static void *requeue_waiter_to_other(void *arg)
{
    (void)arg;
    errno = 0;
    early_ret = (int)futex(&cond, FUTEX_WAIT_REQUEUE_PI_PRIVATE, 0, 0, &other_pi, 0);
    early_err = errno;
    return NULL;
}

static void *plain_waiter(void *arg)
{
    (void)arg;
    errno = 0;
    early_ret = (int)futex(&cond, FUTEX_WAIT_PRIVATE, 0, 0, NULL, 0);
    early_err = errno;
    return NULL;
}

static void test_errors(void)
{
    struct timespec dl;
    cond = 0;
    pi = 0;
    CHECK_ERR(futex(&cond, FUTEX_WAIT_REQUEUE_PI_PRIVATE, 0, 0, &cond, 0), EINVAL);
    CHECK_ERR(futex(&cond, FUTEX_WAIT_REQUEUE_PI_PRIVATE, 1, 0, &pi, 0), EAGAIN);
    CHECK_ERR(futex(&cond, FUTEX_CMP_REQUEUE_PI_PRIVATE, 1, 1, &cond, 0), EINVAL);
    CHECK_ERR(futex(&cond, FUTEX_CMP_REQUEUE_PI_PRIVATE, 2, 1, &pi, 0), EINVAL);
    CHECK_ERR(futex(&cond, FUTEX_CMP_REQUEUE_PI_PRIVATE, 1, 1, &pi, 7), EAGAIN);
    /* Nobody waits: nothing moved, the PI word untouched. */
    CHECK_EQ(futex(&cond, FUTEX_CMP_REQUEUE_PI_PRIVATE, 1, 1, &pi, 0), 0);
    CHECK_EQ(pi, 0);

    /* An absolute CLOCK_MONOTONIC timeout while still on cond. */
    CHECK_OK(clock_gettime(CLOCK_MONOTONIC, &dl));
    dl.tv_nsec += 30000000;
    if (dl.tv_nsec >= 1000000000) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000;
    }
    CHECK_ERR(futex(&cond, FUTEX_WAIT_REQUEUE_PI_PRIVATE, 0, (unsigned long)&dl, &pi, 0), ETIMEDOUT);

    /* A waiter that expects another PI futex cannot be moved onto pi, and
     * FUTEX_WAKE cannot wake it. */
    pthread_t th;
    early_ret = 1;
    CHECK_EQ(pthread_create(&th, NULL, requeue_waiter_to_other, NULL), 0);
    long r = 0;
    for (int i = 0; i < 400; i++) {
        msleep(5);
        errno = 0;
        r = futex(&cond, FUTEX_CMP_REQUEUE_PI_PRIVATE, 1, 1, &pi, 0);
        if (r != 0)
            break;
    }
    CHECK_EQ(r, -1);
    CHECK_EQ(errno, EINVAL);
    CHECK_ERR(futex(&cond, FUTEX_WAKE_PRIVATE, 1, 0, NULL, 0), EINVAL);
    CHECK_ERR(futex(&cond, FUTEX_CMP_REQUEUE_PRIVATE, 1, 1, &pi, 0), EINVAL);
    CHECK_EQ(pi, 0);
    /* Moving it onto the PI futex it expects works. */
    CHECK_EQ(futex(&cond, FUTEX_CMP_REQUEUE_PI_PRIVATE, 1, 0, &other_pi, 0), 1);
    CHECK_EQ(pthread_join(th, NULL), 0);
    CHECK_EQ(early_ret, 0);
    CHECK_EQ(other_pi & FUTEX_TID_MASK, other_pi); /* no bits besides a TID */
    CHECK(other_pi != 0);
    other_pi = 0;

    /* A plain waiter cannot be moved by CMP_REQUEUE_PI. */
    CHECK_EQ(pthread_create(&th, NULL, plain_waiter, NULL), 0);
    for (int i = 0; i < 400; i++) {
        msleep(5);
        errno = 0;
        r = futex(&cond, FUTEX_CMP_REQUEUE_PI_PRIVATE, 1, 1, &pi, 0);
        if (r != 0)
            break;
    }
    CHECK_EQ(r, -1);
    CHECK_EQ(errno, EINVAL);
    CHECK_EQ(futex(&cond, FUTEX_WAKE_PRIVATE, 1, 0, NULL, 0), 1);
    CHECK_EQ(pthread_join(th, NULL), 0);
    CHECK_EQ(early_ret, 0);
}

/* ---- a PI owner that dies without a robust-list entry ---- */

static _Atomic int owner_ready;

static void *lock_and_exit(void *arg)
{
    _Atomic unsigned *w = arg;
    CHECK_EQ(futex(w, FUTEX_LOCK_PI_PRIVATE, 0, 0, NULL, 0), 0);
    owner_ready = 1;
    /* Exit holding it once the waiter is queued in the kernel. */
    for (int i = 0; i < 4000 && !(*w & FUTEX_WAITERS); i++)
        msleep(1);
    return NULL;
}

static void test_owner_thread_dies(void)
{
    unsigned me = gettid_u();
    pi = 0;
    owner_ready = 0;
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, lock_and_exit, (void *)&pi), 0);
    while (!owner_ready)
        msleep(1);
    CHECK_EQ(futex(&pi, FUTEX_LOCK_PI_PRIVATE, 0, 0, NULL, 0), 0);
    CHECK_EQ(pi, me | FUTEX_WAITERS | FUTEX_OWNER_DIED);
    CHECK_EQ(pthread_join(th, NULL), 0);
    CHECK_EQ(futex(&pi, FUTEX_UNLOCK_PI_PRIVATE, 0, 0, NULL, 0), 0);
    CHECK_EQ(pi, 0);
}

static void test_owner_process_dies(void)
{
    _Atomic unsigned *w = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    CHECK(w != MAP_FAILED);
    *w = 0;
    pid_t child = CHECK_OK(fork());
    if (child == 0) {
        unsigned zero = 0;
        if (!atomic_compare_exchange_strong(w, &zero, gettid_u()))
            _exit(2);
        for (int i = 0; i < 4000 && !(*w & FUTEX_WAITERS); i++)
            msleep(1);
        _exit(0);
    }
    while (*w == 0)
        msleep(1);
    unsigned me = gettid_u();
    CHECK_EQ(futex(w, FUTEX_LOCK_PI, 0, 0, NULL, 0), 0);
    CHECK_EQ(*w, me | FUTEX_WAITERS | FUTEX_OWNER_DIED);
    CHECK_EXITED(wait_status(child), 0);
    CHECK_EQ(futex(w, FUTEX_UNLOCK_PI, 0, 0, NULL, 0), 0);
    CHECK_EQ(*w, 0);
    CHECK_OK(munmap((void *)w, 4096));
}

/* ---- condition variables on PTHREAD_PRIO_INHERIT mutexes ---- */

static pthread_mutex_t pm;
static pthread_cond_t pc;
static int turn, rounds_done;
enum { ROUNDS = 2000 };

static void *ping_pong(void *arg)
{
    int me = (int)(long)arg;
    for (int i = 0; i < ROUNDS; i++) {
        CHECK_EQ(pthread_mutex_lock(&pm), 0);
        while (turn != me)
            CHECK_EQ(pthread_cond_wait(&pc, &pm), 0);
        turn = 1 - me;
        rounds_done++;
        CHECK_EQ(pthread_cond_broadcast(&pc), 0);
        CHECK_EQ(pthread_mutex_unlock(&pm), 0);
    }
    return NULL;
}

static void test_pi_condvar(void)
{
    pthread_mutexattr_t at;
    CHECK_EQ(pthread_mutexattr_init(&at), 0);
    CHECK_EQ(pthread_mutexattr_setprotocol(&at, PTHREAD_PRIO_INHERIT), 0);
    CHECK_EQ(pthread_mutex_init(&pm, &at), 0);
    CHECK_EQ(pthread_cond_init(&pc, NULL), 0);
    pthread_t a, b;
    CHECK_EQ(pthread_create(&a, NULL, ping_pong, (void *)0L), 0);
    CHECK_EQ(pthread_create(&b, NULL, ping_pong, (void *)1L), 0);
    CHECK_EQ(pthread_join(a, NULL), 0);
    CHECK_EQ(pthread_join(b, NULL), 0);
    CHECK_EQ(rounds_done, 2 * ROUNDS);
    /* A timed wait on the PI mutex times out holding the mutex again. */
    struct timespec dl;
    CHECK_OK(clock_gettime(CLOCK_REALTIME, &dl));
    dl.tv_nsec += 20000000;
    if (dl.tv_nsec >= 1000000000) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000;
    }
    CHECK_EQ(pthread_mutex_lock(&pm), 0);
    CHECK_EQ(pthread_cond_timedwait(&pc, &pm, &dl), ETIMEDOUT);
    CHECK_EQ(pthread_mutex_unlock(&pm), 0);
    CHECK_EQ(pthread_cond_destroy(&pc), 0);
    CHECK_EQ(pthread_mutex_destroy(&pm), 0);
}

int main(void)
{
    alarm(60);
    test_requeue_onto_held_lock();
    test_requeue_onto_free_lock();
    test_requeue_many();
    test_errors();
    test_owner_thread_dies();
    test_owner_process_dies();
    test_pi_condvar();
    return 0;
}
