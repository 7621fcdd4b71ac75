/* arch_prctl: ARCH_GET_FS is glibc's thread pointer, ARCH_SET_GS/GET_GS
 * round-trip and %gs-relative loads see the new base, per-thread bases,
 * invalid codes and bad pointers. */
#include "check.h"
#include <asm/prctl.h>
#include <pthread.h>
#include <sys/syscall.h>

static long raw_arch_prctl(int code, unsigned long addr)
{
    long ret;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "0"(SYS_arch_prctl), "D"(code), "S"(addr)
                     : "rcx", "r11", "memory");
    return ret;
}

static unsigned long thread_fs, thread_gs;

static void *thread_fn(void *arg)
{
    (void)arg;
    syscall(SYS_arch_prctl, ARCH_GET_FS, &thread_fs);
    syscall(SYS_arch_prctl, ARCH_GET_GS, &thread_gs);
    return NULL;
}

static unsigned long gs_words[4] = {0x1111, 0x2222, 0x3333, 0x4444};

int main(void)
{
    alarm(10);
    unsigned long fs = 0;
    CHECK_OK(syscall(SYS_arch_prctl, ARCH_GET_FS, &fs));
    CHECK_EQ(fs, (unsigned long)pthread_self());
    /* The TCB's first word points to itself on x86_64. */
    unsigned long self_ptr;
    __asm__ volatile("mov %%fs:0, %0" : "=r"(self_ptr));
    CHECK_EQ(self_ptr, fs);

    unsigned long gs = 1;
    CHECK_OK(syscall(SYS_arch_prctl, ARCH_GET_GS, &gs));
    CHECK_EQ(gs, 0);
    CHECK_EQ(raw_arch_prctl(ARCH_SET_GS, (unsigned long)gs_words), 0);
    CHECK_OK(syscall(SYS_arch_prctl, ARCH_GET_GS, &gs));
    CHECK_EQ(gs, (unsigned long)gs_words);
    unsigned long v;
    __asm__ volatile("mov %%gs:8, %0" : "=r"(v));
    CHECK_EQ(v, 0x2222);
    __asm__ volatile("mov %%gs:24, %0" : "=r"(v));
    CHECK_EQ(v, 0x4444);

    /* The base survives a syscall-heavy stretch and a context switch. */
    usleep(10000);
    __asm__ volatile("mov %%gs:0, %0" : "=r"(v));
    CHECK_EQ(v, 0x1111);

    /* Per thread: a new thread has its own FS and a zero GS. */
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, thread_fn, NULL), 0);
    CHECK_EQ(pthread_join(t, NULL), 0);
    CHECK_EQ(thread_fs, (unsigned long)t);
    CHECK_NE(thread_fs, fs);

    /* Inherited by fork. */
    pid_t pid = CHECK_OK(fork());
    if (pid == 0) {
        unsigned long cv;
        __asm__ volatile("mov %%gs:16, %0" : "=r"(cv));
        _exit(cv == 0x3333 ? 0 : 1);
    }
    CHECK_EXITED(wait_status(pid), 0);

    CHECK_EQ(raw_arch_prctl(ARCH_SET_GS, 0), 0);
    CHECK_OK(syscall(SYS_arch_prctl, ARCH_GET_GS, &gs));
    CHECK_EQ(gs, 0);

    CHECK_ERR(syscall(SYS_arch_prctl, 0x9999, 0), EINVAL);
    CHECK_ERR(syscall(SYS_arch_prctl, ARCH_GET_FS, (void *)8), EFAULT);
    /* Non-canonical bases are rejected. */
    CHECK_EQ(raw_arch_prctl(ARCH_SET_GS, 0x8000000000000000UL), -EPERM);
    return 0;
}
