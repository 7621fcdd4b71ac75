/* exec of a set-user-ID / set-group-ID program changes the effective (and
 * saved) ids and sets AT_SECURE; without the bits nothing changes. Needs
 * root to chown the copy; as non-root it checks only the plain exec. */
#include "check.h"
#include <sys/auxv.h>
#include <sys/stat.h>

static int report(void)
{
    uid_t r, e, s;
    gid_t rg, eg, sg;
    CHECK_OK(getresuid(&r, &e, &s));
    CHECK_OK(getresgid(&rg, &eg, &sg));
    printf("%d %d %d %d %d %d %lu\n", r, e, s, rg, eg, sg, getauxval(AT_SECURE));
    return 0;
}

/* Runs `path child` as uid/gid 1000 and returns what it printed. */
static void run_as_1000(const char *path, char *out, size_t len)
{
    int p[2];
    CHECK_OK(pipe(p));
    pid_t pid = CHECK_OK(fork());
    if (pid == 0) {
        dup2(p[1], 1);
        if (setgid(1000) || setuid(1000))
            _exit(90);
        execl(path, path, "child", (char *)0);
        _exit(91);
    }
    close(p[1]);
    ssize_t n = read(p[0], out, len - 1);
    out[n > 0 ? n : 0] = 0;
    close(p[0]);
    CHECK_EXITED(wait_status(pid), 0);
}

int main(int argc, char **argv)
{
    if (argc > 1)
        return report();
    alarm(10);
    if (geteuid() != 0)
        return 0;
    char dir[] = "/tmp/rvt.XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    CHECK_OK(chmod(dir, 0755));
    char path[64], cmd[160], out[128];
    snprintf(path, sizeof path, "%s/prog", dir);
    snprintf(cmd, sizeof cmd, "cp /proc/%d/exe %s", (int)getpid(), path);
    CHECK_EQ(system(cmd), 0);

    CHECK_OK(chown(path, 65534, 65533));
    CHECK_OK(chmod(path, 0755));
    run_as_1000(path, out, sizeof out);
    CHECK_STREQ(out, "1000 1000 1000 1000 1000 1000 0\n");

    /* chown clears the bits, so set them after it. */
    CHECK_OK(chmod(path, 04755));
    run_as_1000(path, out, sizeof out);
    CHECK_STREQ(out, "1000 65534 65534 1000 1000 1000 1\n");

    CHECK_OK(chmod(path, 02755));
    run_as_1000(path, out, sizeof out);
    CHECK_STREQ(out, "1000 1000 1000 1000 65533 65533 1\n");

    /* Set-group-ID without group execute is mandatory locking, not sgid. */
    CHECK_OK(chmod(path, 02745));
    run_as_1000(path, out, sizeof out);
    CHECK_STREQ(out, "1000 1000 1000 1000 1000 1000 0\n");

    CHECK_OK(unlink(path));
    CHECK_OK(rmdir(dir));
    return 0;
}
