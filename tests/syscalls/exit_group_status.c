/* exit/exit_group: status truncation, exit_group from a secondary thread
 * ends the whole process, the main thread exiting alone with SYS_exit
 * leaves other threads running, atexit handlers vs _exit. */
#include "check.h"
#include <pthread.h>
#include <sys/syscall.h>

static void *group_exit_thread(void *arg)
{
    (void)arg;
    syscall(SYS_exit_group, 7);
    return NULL;
}

static void *late_thread(void *arg)
{
    (void)arg;
    usleep(30000);
    write(1, "", 0);
    syscall(SYS_exit_group, 5);
    return NULL;
}

static int hook_fd = -1;
static void hook(void)
{
    write(hook_fd, "H", 1);
}

int main(void)
{
    alarm(10);
    pid_t pid = CHECK_OK(fork());
    if (pid == 0) {
        pthread_t t;
        pthread_create(&t, NULL, group_exit_thread, NULL);
        for (;;)
            pause();
    }
    CHECK_EXITED(wait_status(pid), 7);

    /* Main thread exits alone; the other thread decides the status. */
    pid = CHECK_OK(fork());
    if (pid == 0) {
        pthread_t t;
        pthread_create(&t, NULL, late_thread, NULL);
        syscall(SYS_exit, 99);
        _exit(98);
    }
    CHECK_EXITED(wait_status(pid), 5);

    pid = CHECK_OK(fork());
    if (pid == 0)
        syscall(SYS_exit_group, 0x1234);
    CHECK_EXITED(wait_status(pid), 0x34);

    /* exit runs atexit handlers, _exit does not. */
    int p[2];
    CHECK_OK(pipe(p));
    hook_fd = p[1];
    pid = CHECK_OK(fork());
    if (pid == 0) {
        atexit(hook);
        exit(1);
    }
    CHECK_EXITED(wait_status(pid), 1);
    pid = CHECK_OK(fork());
    if (pid == 0) {
        atexit(hook);
        _exit(2);
    }
    CHECK_EXITED(wait_status(pid), 2);
    CHECK_OK(close(p[1]));
    char buf[4];
    CHECK_EQ(read(p[0], buf, sizeof(buf)), 1);
    CHECK_EQ(buf[0], 'H');
    return 0;
}
