/* prctl: PR_SET_NAME/PR_GET_NAME (16-byte comm, truncated), reflected in
 * /proc/self/comm and /proc/self/task/<tid>/comm, initial comm from the
 * executable name, PR_SET_PDEATHSIG, PR_GET_DUMPABLE, unknown options. */
#include "check.h"
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    alarm(10);
    char name[32], buf[64], exe[4096];

    /* Initial comm is the first 15 bytes of the executable's basename. */
    ssize_t n = CHECK_OK(readlink("/proc/self/exe", exe, sizeof(exe) - 1));
    exe[n] = 0;
    const char *base = strrchr(exe, '/') ? strrchr(exe, '/') + 1 : exe;
    char want[16];
    snprintf(want, sizeof(want), "%.15s", base);
    memset(name, 'X', sizeof(name));
    CHECK_OK(prctl(PR_GET_NAME, name, 0, 0, 0));
    CHECK_STREQ(name, want);

    CHECK_OK(prctl(PR_SET_NAME, "rvt-worker", 0, 0, 0));
    CHECK_OK(prctl(PR_GET_NAME, name, 0, 0, 0));
    CHECK_STREQ(name, "rvt-worker");
    read_file("/proc/self/comm", buf, sizeof(buf));
    CHECK_STREQ(buf, "rvt-worker\n");
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/task/%d/comm", (int)syscall(SYS_gettid));
    read_file(path, buf, sizeof(buf));
    CHECK_STREQ(buf, "rvt-worker\n");
    read_file("/proc/self/stat", buf, sizeof(buf));
    CHECK(strstr(buf, " (rvt-worker) ") != NULL);

    /* Longer names are truncated to 15 bytes. */
    CHECK_OK(prctl(PR_SET_NAME, "abcdefghijklmnopqrstuvwxyz", 0, 0, 0));
    CHECK_OK(prctl(PR_GET_NAME, name, 0, 0, 0));
    CHECK_STREQ(name, "abcdefghijklmno");

    /* Writing /proc/self/comm sets it too. */
    int fd = CHECK_OK(open("/proc/self/comm", O_WRONLY));
    CHECK_EQ(write(fd, "viaproc", 7), 7);
    CHECK_OK(close(fd));
    CHECK_OK(prctl(PR_GET_NAME, name, 0, 0, 0));
    CHECK_STREQ(name, "viaproc");

    /* A forked child inherits the name. */
    pid_t pid = CHECK_OK(fork());
    if (pid == 0) {
        char c[32];
        prctl(PR_GET_NAME, c, 0, 0, 0);
        _exit(strcmp(c, "viaproc") == 0 ? 0 : 1);
    }
    CHECK_EXITED(wait_status(pid), 0);

    /* PDEATHSIG round trip (per thread, cleared in forked children). */
    int sig = -1;
    CHECK_OK(prctl(PR_SET_PDEATHSIG, SIGUSR1, 0, 0, 0));
    CHECK_OK(prctl(PR_GET_PDEATHSIG, &sig, 0, 0, 0));
    CHECK_EQ(sig, SIGUSR1);
    pid = CHECK_OK(fork());
    if (pid == 0) {
        int s = -1;
        prctl(PR_GET_PDEATHSIG, &s, 0, 0, 0);
        _exit(s == 0 ? 0 : 1);
    }
    CHECK_EXITED(wait_status(pid), 0);
    CHECK_ERR(prctl(PR_SET_PDEATHSIG, 65, 0, 0, 0), EINVAL);
    CHECK_OK(prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0));

    CHECK_EQ(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 1);
    CHECK_OK(prctl(PR_SET_DUMPABLE, 0, 0, 0, 0));
    CHECK_EQ(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 0);
    CHECK_OK(prctl(PR_SET_DUMPABLE, 1, 0, 0, 0));
    CHECK_ERR(prctl(PR_SET_DUMPABLE, 2, 0, 0, 0), EINVAL);
    CHECK_EQ(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0), 0);
    CHECK_ERR(prctl(0x7fff1234, 0, 0, 0, 0), EINVAL);
    return 0;
}
