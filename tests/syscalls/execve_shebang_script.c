/* execve of "#!" scripts: the interpreter receives [interp, optional-arg,
 * script-path, args...], exit codes propagate, /bin/sh scripts run,
 * missing interpreters are ENOENT. */
#include "check.h"

int main(int argc, char **argv)
{
    alarm(10);
    if (argc > 1 && strcmp(argv[1], "as-interp") == 0) {
        /* Invoked via "#!<self> as-interp" on script with args a, "b c". */
        CHECK_EQ(argc, 5);
        CHECK(strstr(argv[2], "/script1") != NULL);
        CHECK_STREQ(argv[3], "a");
        CHECK_STREQ(argv[4], "b c");
        return 0;
    }
    make_tmpdir();
    char self[4096], script[8192], buf[256];
    ssize_t len = CHECK_OK(readlink("/proc/self/exe", self, sizeof(self) - 1));
    self[len] = 0;

    /* Our own binary as the interpreter, with one optional argument. */
    snprintf(script, sizeof(script), "#!%s as-interp\nignored\n", self);
    write_file(tpath("script1"), script, strlen(script), 0755);
    pid_t pid = CHECK_OK(fork());
    if (pid == 0) {
        char *args[] = {"script1", "a", "b c", NULL};
        execv(tpath("script1"), args);
        FAILF("execv script1");
    }
    CHECK_EXITED(wait_status(pid), 0);

    /* A shell script writing its arguments; exit code propagates. */
    const char *sh = "#!/bin/sh\necho \"$#:$1:$2\" > \"$(dirname \"$0\")/out\"\nexit 7\n";
    write_file(tpath("script2"), sh, strlen(sh), 0755);
    pid = CHECK_OK(fork());
    if (pid == 0) {
        char *args[] = {"script2", "x", "y z", NULL};
        execv(tpath("script2"), args);
        FAILF("execv script2");
    }
    CHECK_EXITED(wait_status(pid), 7);
    CHECK_EQ(read_file(tpath("out"), buf, sizeof(buf)), 8);
    CHECK_STREQ(buf, "2:x:y z\n");

    /* Whitespace after "#!" is skipped; trailing whitespace trimmed. */
    const char *sh2 = "#!  /bin/sh  \nexit 3\n";
    write_file(tpath("script3"), sh2, strlen(sh2), 0755);
    pid = CHECK_OK(fork());
    if (pid == 0) {
        char *args[] = {"script3", NULL};
        execv(tpath("script3"), args);
        FAILF("execv script3");
    }
    CHECK_EXITED(wait_status(pid), 3);

    /* Missing interpreter: ENOENT from execve itself. */
    const char *bad = "#!/nonexistent/interp\n";
    write_file(tpath("script4"), bad, strlen(bad), 0755);
    char *args[] = {"script4", NULL};
    CHECK_ERR(execv(tpath("script4"), args), ENOENT);
    /* Not executable: EACCES. */
    write_file(tpath("script5"), sh2, strlen(sh2), 0644);
    CHECK_ERR(execv(tpath("script5"), args), EACCES);
    return 0;
}
