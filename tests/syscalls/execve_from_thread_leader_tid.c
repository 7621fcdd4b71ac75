/* execve from a non-leader thread: every other thread (the leader too) is
 * gone, and the exec'd image runs under the process's pid as its tid. */
#include "check.h"
#include <dirent.h>
#include <pthread.h>
#include <sys/syscall.h>

static char *self;
static pid_t pid_before;

static void *exec_from_thread(void *arg)
{
    (void)arg;
    char pid[32];
    snprintf(pid, sizeof pid, "%d", (int)pid_before);
    CHECK(syscall(SYS_gettid) != getpid());
    execl(self, self, "after", pid, (char *)0);
    FAILF("execl failed");
    return NULL;
}

static void *sleeper(void *arg)
{
    (void)arg;
    for (;;)
        pause();
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc > 2) {
        CHECK_EQ(syscall(SYS_gettid), getpid());
        CHECK_EQ(getpid(), atoi(argv[2]));
        char buf[64];
        snprintf(buf, sizeof buf, "/proc/%d/task", (int)getpid());
        DIR *d = opendir(buf);
        CHECK(d != NULL);
        int threads = 0;
        struct dirent *e;
        while ((e = readdir(d)))
            if (e->d_name[0] != '.')
                threads++;
        closedir(d);
        CHECK_EQ(threads, 1);
        return 0;
    }
    alarm(10);
    self = argv[0];
    pid_t child = CHECK_OK(fork());
    if (child == 0) {
        pid_before = getpid();
        pthread_t a, b;
        CHECK_EQ(pthread_create(&a, NULL, sleeper, NULL), 0);
        CHECK_EQ(pthread_create(&b, NULL, exec_from_thread, NULL), 0);
        for (;;)
            pause();
    }
    CHECK_EXITED(wait_status(child), 0);
    return 0;
}
