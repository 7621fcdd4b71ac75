/* futex extras: FUTEX_WAKE_OP applies every op to the second word
 * atomically and wakes its waiters only when the compare holds;
 * FUTEX_LOCK_PI/TRYLOCK_PI/UNLOCK_PI keep the owner TID in the word
 * (EDEADLK on self-lock, EPERM on unlocking another's lock, ESRCH for a
 * dead owner); PTHREAD_PRIO_INHERIT mutexes exclude each other under
 * contention; set/get_robust_list; a thread that dies holding a robust
 * mutex (plain or PI) makes the next locker, even one already waiting,
 * get EOWNERDEAD. */
#include "check.h"

#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <time.h>

static long futex(void *addr, int op, unsigned val, unsigned long val2, void *addr2, unsigned val3)
{
    return syscall(SYS_futex, addr, op, val, val2, addr2, val3);
}

static void msleep(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

/* ---- FUTEX_WAKE_OP ---- */

static _Atomic unsigned w1, w2;

static void *wait_on_w2(void *arg)
{
    (void)arg;
    long r = futex(&w2, FUTEX_WAIT_PRIVATE, 0, 0, NULL, 0);
    CHECK(r == 0 || (r == -1 && errno == EAGAIN));
    return NULL;
}

static unsigned wake_op_result(unsigned start, int op, int oparg)
{
    w2 = start;
    CHECK_EQ(futex(&w1, FUTEX_WAKE_OP_PRIVATE, 1, 1, &w2,
                   FUTEX_OP(op, oparg, FUTEX_OP_CMP_EQ, 0)), 0);
    return w2;
}

static void test_wake_op(void)
{
    CHECK_EQ(wake_op_result(5, FUTEX_OP_SET, 9), 9);
    CHECK_EQ(wake_op_result(5, FUTEX_OP_ADD, 3), 8);
    CHECK_EQ(wake_op_result(5, FUTEX_OP_ADD, -1), 4);
    CHECK_EQ(wake_op_result(5, FUTEX_OP_OR, 2), 7);
    CHECK_EQ(wake_op_result(7, FUTEX_OP_ANDN, 2), 5);
    CHECK_EQ(wake_op_result(5, FUTEX_OP_XOR, 1), 4);
    CHECK_EQ(wake_op_result(1, FUTEX_OP_OR | FUTEX_OP_OPARG_SHIFT, 4), 17);
    /* Unknown op: ENOSYS before the word changes; unknown compare:
     * ENOSYS after it changed. */
    w2 = 5;
    CHECK_ERR(futex(&w1, FUTEX_WAKE_OP_PRIVATE, 1, 1, &w2, (7u << 28) | (1 << 12)), ENOSYS);
    CHECK_EQ(w2, 5);
    CHECK_ERR(futex(&w1, FUTEX_WAKE_OP_PRIVATE, 1, 1, &w2, (1u << 28) | (7u << 24) | (1 << 12)), ENOSYS);
    CHECK_EQ(w2, 6);
    CHECK_ERR(futex(&w1, FUTEX_WAKE_OP_PRIVATE, 1, 1, (void *)8, 0), EFAULT);

    /* A waiter on w2 is woken only when the compare (on the old value)
     * holds; the result counts the woken. */
    w2 = 0;
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, wait_on_w2, NULL), 0);
    msleep(50);
    CHECK_EQ(futex(&w1, FUTEX_WAKE_OP_PRIVATE, 1, 1, &w2,
                   FUTEX_OP(FUTEX_OP_ADD, 0, FUTEX_OP_CMP_NE, 0)), 0);
    long woken = 0;
    for (int i = 0; i < 200 && woken == 0; i++) {
        woken = futex(&w1, FUTEX_WAKE_OP_PRIVATE, 1, 1, &w2,
                      FUTEX_OP(FUTEX_OP_ADD, 0, FUTEX_OP_CMP_EQ, 0));
        if (woken == 0)
            msleep(5);
    }
    CHECK_EQ(woken, 1);
    CHECK_EQ(pthread_join(th, NULL), 0);
}

/* ---- raw PI futex words ---- */

static _Atomic unsigned pi_word;

static void *pi_contender(void *arg)
{
    (void)arg;
    /* The main thread holds the lock: this blocks until it is handed over. */
    CHECK_EQ(futex(&pi_word, FUTEX_LOCK_PI_PRIVATE, 0, 0, NULL, 0), 0);
    CHECK_EQ(pi_word & FUTEX_TID_MASK, (unsigned)syscall(SYS_gettid));
    CHECK_EQ(futex(&pi_word, FUTEX_UNLOCK_PI_PRIVATE, 0, 0, NULL, 0), 0);
    return NULL;
}

static int hold_go[2];
static _Atomic int holder_ready;

static void *pi_holder(void *arg)
{
    (void)arg;
    CHECK_EQ(futex(&pi_word, FUTEX_LOCK_PI_PRIVATE, 0, 0, NULL, 0), 0);
    holder_ready = 1;
    char c;
    CHECK_EQ(read(hold_go[0], &c, 1), 1);
    CHECK_EQ(futex(&pi_word, FUTEX_UNLOCK_PI_PRIVATE, 0, 0, NULL, 0), 0);
    return NULL;
}

static void *pi_lock_and_exit(void *arg)
{
    (void)arg;
    CHECK_EQ(futex(&pi_word, FUTEX_LOCK_PI_PRIVATE, 0, 0, NULL, 0), 0);
    holder_ready = 1;
    msleep(100);
    return NULL; /* exits owning the PI lock, with no robust list entry */
}

static void test_pi_raw(void)
{
    unsigned me = (unsigned)syscall(SYS_gettid);
    pi_word = 0;
    CHECK_EQ(futex(&pi_word, FUTEX_TRYLOCK_PI_PRIVATE, 0, 0, NULL, 0), 0);
    CHECK_EQ(pi_word, me);
    CHECK_ERR(futex(&pi_word, FUTEX_LOCK_PI_PRIVATE, 0, 0, NULL, 0), EDEADLK);
    CHECK_ERR(futex(&pi_word, FUTEX_TRYLOCK_PI_PRIVATE, 0, 0, NULL, 0), EDEADLK);
    CHECK_EQ(futex(&pi_word, FUTEX_UNLOCK_PI_PRIVATE, 0, 0, NULL, 0), 0);
    CHECK_EQ(pi_word, 0);
    CHECK_ERR(futex(&pi_word, FUTEX_UNLOCK_PI_PRIVATE, 0, 0, NULL, 0), EPERM);
    /* An owner TID nobody has. */
    pi_word = 0x3ffffff0;
    CHECK_ERR(futex(&pi_word, FUTEX_LOCK_PI_PRIVATE, 0, 0, NULL, 0), ESRCH);
    /* A free word that says its owner died is taken, the bit kept. */
    pi_word = FUTEX_OWNER_DIED;
    CHECK_EQ(futex(&pi_word, FUTEX_LOCK_PI_PRIVATE, 0, 0, NULL, 0), 0);
    CHECK_EQ(pi_word, FUTEX_OWNER_DIED | me);
    CHECK_EQ(futex(&pi_word, FUTEX_UNLOCK_PI_PRIVATE, 0, 0, NULL, 0), 0);
    CHECK_EQ(pi_word, 0);
    CHECK_ERR(futex((void *)2, FUTEX_LOCK_PI_PRIVATE, 0, 0, NULL, 0), EINVAL);

    /* Contended: the waiter sets FUTEX_WAITERS; unlock hands over. */
    CHECK_EQ(futex(&pi_word, FUTEX_LOCK_PI_PRIVATE, 0, 0, NULL, 0), 0);
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, pi_contender, NULL), 0);
    for (int i = 0; i < 400 && !(pi_word & FUTEX_WAITERS); i++)
        msleep(5);
    CHECK_EQ(pi_word, FUTEX_WAITERS | me);
    /* Taking it again while owned by someone else: EAGAIN from trylock
     * is what another thread would get; we own it, so unlock. */
    CHECK_EQ(futex(&pi_word, FUTEX_UNLOCK_PI_PRIVATE, 0, 0, NULL, 0), 0);
    CHECK_EQ(pthread_join(th, NULL), 0);
    CHECK_EQ(pi_word, 0);

    /* Held by another thread: TRYLOCK_PI says EAGAIN, a timed LOCK_PI
     * (absolute CLOCK_REALTIME) times out. */
    CHECK_OK(pipe(hold_go));
    holder_ready = 0;
    CHECK_EQ(pthread_create(&th, NULL, pi_holder, NULL), 0);
    while (!holder_ready)
        msleep(1);
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_nsec += 20000000;
    if (dl.tv_nsec >= 1000000000) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000;
    }
    CHECK_ERR(futex(&pi_word, FUTEX_TRYLOCK_PI_PRIVATE, 0, 0, NULL, 0), EAGAIN);
    CHECK_ERR(futex(&pi_word, FUTEX_LOCK_PI_PRIVATE, 0, (unsigned long)&dl, NULL, 0), ETIMEDOUT);
    char c = 1;
    CHECK_EQ(write(hold_go[1], &c, 1), 1);
    CHECK_EQ(pthread_join(th, NULL), 0);
    CHECK_EQ(pi_word & FUTEX_TID_MASK, 0);
    pi_word = 0;

    /* The owner exits while we wait: the lock passes to us, marked as
     * having lost its owner. */
    holder_ready = 0;
    CHECK_EQ(pthread_create(&th, NULL, pi_lock_and_exit, NULL), 0);
    while (!holder_ready)
        msleep(1);
    CHECK_EQ(futex(&pi_word, FUTEX_LOCK_PI_PRIVATE, 0, 0, NULL, 0), 0);
    CHECK_EQ(pi_word & FUTEX_TID_MASK, me);
    CHECK_EQ(pi_word & FUTEX_OWNER_DIED, FUTEX_OWNER_DIED);
    CHECK_EQ(pthread_join(th, NULL), 0);
    pi_word = 0;
}

/* ---- PTHREAD_PRIO_INHERIT mutexes under contention ---- */

static pthread_mutex_t pim;
static long counter;

static void *pi_adder(void *arg)
{
    (void)arg;
    for (int i = 0; i < 20000; i++) {
        CHECK_EQ(pthread_mutex_lock(&pim), 0);
        counter++;
        CHECK_EQ(pthread_mutex_unlock(&pim), 0);
    }
    return NULL;
}

static void *pi_trylock_busy(void *arg)
{
    (void)arg;
    CHECK_EQ(pthread_mutex_trylock(&pim), EBUSY);
    return NULL;
}

static void test_pi_mutex(void)
{
    pthread_mutexattr_t at;
    CHECK_EQ(pthread_mutexattr_init(&at), 0);
    CHECK_EQ(pthread_mutexattr_setprotocol(&at, PTHREAD_PRIO_INHERIT), 0);
    CHECK_EQ(pthread_mutexattr_settype(&at, PTHREAD_MUTEX_ERRORCHECK), 0);
    CHECK_EQ(pthread_mutex_init(&pim, &at), 0);
    pthread_t a, b, c;
    CHECK_EQ(pthread_create(&a, NULL, pi_adder, NULL), 0);
    CHECK_EQ(pthread_create(&b, NULL, pi_adder, NULL), 0);
    CHECK_EQ(pthread_create(&c, NULL, pi_adder, NULL), 0);
    CHECK_EQ(pthread_join(a, NULL), 0);
    CHECK_EQ(pthread_join(b, NULL), 0);
    CHECK_EQ(pthread_join(c, NULL), 0);
    CHECK_EQ(counter, 60000);
    CHECK_EQ(pthread_mutex_lock(&pim), 0);
    CHECK_EQ(pthread_mutex_lock(&pim), EDEADLK);
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, pi_trylock_busy, NULL), 0);
    CHECK_EQ(pthread_join(t, NULL), 0);
    CHECK_EQ(pthread_mutex_unlock(&pim), 0);
    CHECK_EQ(pthread_mutex_unlock(&pim), EPERM);
    CHECK_EQ(pthread_mutex_destroy(&pim), 0);
}

/* ---- robust lists ---- */

static pthread_mutex_t rm;
static _Atomic int holder_locked;

static void *die_holding(void *arg)
{
    long hold_ms = (long)arg;
    CHECK_EQ(pthread_mutex_lock(&rm), 0);
    holder_locked = 1;
    msleep(hold_ms);
    return NULL; /* exits with the mutex held */
}

static void test_robust(int protocol)
{
    pthread_mutexattr_t at;
    CHECK_EQ(pthread_mutexattr_init(&at), 0);
    CHECK_EQ(pthread_mutexattr_setrobust(&at, PTHREAD_MUTEX_ROBUST), 0);
    CHECK_EQ(pthread_mutexattr_setprotocol(&at, protocol), 0);
    CHECK_EQ(pthread_mutex_init(&rm, &at), 0);

    /* The owner died before we asked. */
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, die_holding, (void *)0L), 0);
    CHECK_EQ(pthread_join(th, NULL), 0);
    CHECK_EQ(pthread_mutex_lock(&rm), EOWNERDEAD);
    CHECK_EQ(pthread_mutex_consistent(&rm), 0);
    CHECK_EQ(pthread_mutex_unlock(&rm), 0);
    CHECK_EQ(pthread_mutex_lock(&rm), 0);
    CHECK_EQ(pthread_mutex_unlock(&rm), 0);

    /* The owner dies while we wait for it. */
    holder_locked = 0;
    CHECK_EQ(pthread_create(&th, NULL, die_holding, (void *)100L), 0);
    while (!holder_locked)
        msleep(1);
    CHECK_EQ(pthread_mutex_lock(&rm), EOWNERDEAD);
    CHECK_EQ(pthread_join(th, NULL), 0);
    /* Not made consistent: unlocking makes it unusable. */
    CHECK_EQ(pthread_mutex_unlock(&rm), 0);
    CHECK_EQ(pthread_mutex_lock(&rm), ENOTRECOVERABLE);
    CHECK_EQ(pthread_mutex_destroy(&rm), 0);
}

static void test_robust_list_calls(void)
{
    void *head = NULL;
    size_t len = 0;
    CHECK_OK(syscall(SYS_get_robust_list, 0, &head, &len));
    CHECK_EQ(len, 24);
    CHECK_NE(head, NULL); /* glibc registers one per thread */
    CHECK_ERR(syscall(SYS_set_robust_list, head, 23), EINVAL);
    CHECK_ERR(syscall(SYS_get_robust_list, 4000000, &head, &len), ESRCH);
    CHECK_ERR(syscall(SYS_get_robust_list, 0, (void *)8, &len), EFAULT);
    void *other = NULL;
    CHECK_OK(syscall(SYS_get_robust_list, getpid(), &other, &len));
    CHECK_EQ(other, head);
    /* A bogus list must hurt nobody when the thread exits. */
    pid_t pid = CHECK_OK(fork());
    if (pid == 0) {
        static long loop[3];
        loop[0] = (long)&loop[0]; /* a list whose entry points to itself */
        loop[1] = 0;
        loop[2] = 12345; /* a pending op pointing nowhere useful */
        if (syscall(SYS_set_robust_list, loop, 24) != 0)
            _exit(1);
        static long wild[3] = {0x10, -8, 0x20};
        (void)wild;
        _exit(0);
    }
    CHECK_EXITED(wait_status(pid), 0);
    pid = CHECK_OK(fork());
    if (pid == 0) {
        static long wild[3] = {0x10, -8, 0x20};
        if (syscall(SYS_set_robust_list, wild, 24) != 0)
            _exit(1);
        _exit(0);
    }
    CHECK_EXITED(wait_status(pid), 0);
}

int main(void)
{
    alarm(10);
    test_wake_op();
    test_pi_raw();
    test_pi_mutex();
    test_robust(PTHREAD_PRIO_NONE);
    test_robust(PTHREAD_PRIO_INHERIT);
    test_robust_list_calls();
    return 0;
}
