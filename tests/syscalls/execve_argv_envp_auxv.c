/* execve: argv and envp arrive exactly as passed (including empty strings),
 * the auxiliary vector (AT_PAGESZ, AT_RANDOM, AT_EXECFN, AT_SYSINFO_EHDR,
 * AT_UID...), exec errors (ENOENT, EACCES, ENOEXEC, ENOTDIR), and a
 * successful exec never returns. */
#include "check.h"
#include <elf.h>
#include <sys/auxv.h>

extern char **environ;

static int child(int argc, char **argv, const char *self)
{
    CHECK_EQ(argc, 5);
    CHECK_STREQ(argv[0], "custom-argv0");
    CHECK_STREQ(argv[1], "child");
    CHECK_STREQ(argv[2], "");
    CHECK_STREQ(argv[3], "with space");
    CHECK_STREQ(argv[4], "last");
    CHECK(argv[5] == NULL);
    int n = 0;
    while (environ[n])
        n++;
    CHECK_EQ(n, 3);
    CHECK_STREQ(environ[0], "RVT_A=1");
    CHECK_STREQ(environ[1], "RVT_EMPTY=");
    CHECK_STREQ(environ[2], "RVT_B=two=2");
    CHECK_STREQ(getenv("RVT_B"), "two=2");
    CHECK(getenv("PATH") == NULL);

    CHECK_EQ(getauxval(AT_PAGESZ), 4096);
    unsigned char *rnd = (unsigned char *)getauxval(AT_RANDOM);
    CHECK(rnd != NULL);
    const char *execfn = (const char *)getauxval(AT_EXECFN);
    CHECK(execfn != NULL);
    CHECK_STREQ(execfn, self);
    CHECK(getauxval(AT_SYSINFO_EHDR) != 0);
    CHECK_MEMEQ((const void *)getauxval(AT_SYSINFO_EHDR), ELFMAG, SELFMAG);
    CHECK_EQ(getauxval(AT_UID), getuid());
    CHECK_EQ(getauxval(AT_EUID), geteuid());
    CHECK_EQ(getauxval(AT_GID), getgid());
    CHECK_EQ(getauxval(AT_EGID), getegid());
    CHECK_EQ(getauxval(AT_SECURE), 0);
    CHECK(getauxval(AT_PHDR) != 0);
    CHECK_EQ(getauxval(AT_PHENT), sizeof(Elf64_Phdr));
    CHECK(getauxval(AT_PHNUM) > 0);
    CHECK(getauxval(AT_ENTRY) != 0);
    CHECK(getauxval(AT_BASE) != 0); /* dynamically linked: ld.so base */
    CHECK_EQ(getauxval(AT_CLKTCK), 100);
    /* The first program header is at AT_PHDR. */
    const Elf64_Phdr *ph = (const Elf64_Phdr *)getauxval(AT_PHDR);
    CHECK_EQ(ph[0].p_type, PT_PHDR);
    /* argv strings sit on the stack just below envp strings. */
    CHECK(argv[4] < environ[0]);
    return 0;
}

int main(int argc, char **argv)
{
    alarm(10);
    char self[4096];
    ssize_t len = CHECK_OK(readlink("/proc/self/exe", self, sizeof(self) - 1));
    self[len] = 0;
    if (argc > 1 && strcmp(argv[1], "child") == 0)
        return child(argc, argv, self);

    make_tmpdir();
    /* AT_RANDOM is 16 bytes, different between runs. */
    CHECK(getauxval(AT_RANDOM) != 0);
    unsigned char mine[16];
    memcpy(mine, (void *)getauxval(AT_RANDOM), 16);

    pid_t pid = CHECK_OK(fork());
    if (pid == 0) {
        char *args[] = {"custom-argv0", "child", "", "with space", "last", NULL};
        char *env[] = {"RVT_A=1", "RVT_EMPTY=", "RVT_B=two=2", NULL};
        execve(self, args, env);
        FAILF("execve(%s)", self);
    }
    CHECK_EXITED(wait_status(pid), 0);

    /* Error cases. */
    char *args[] = {"x", NULL};
    char *env[] = {NULL};
    CHECK_ERR(execve("/nonexistent/prog", args, env), ENOENT);
    CHECK_ERR(execve("/tmp", args, env), EACCES);
    write_file(tpath("noexec"), "#!/bin/sh\n", 10, 0644);
    CHECK_ERR(execve(tpath("noexec"), args, env), EACCES);
    write_file(tpath("garbage"), "\x01\x02\x03 not an ELF\n", 16, 0755);
    CHECK_ERR(execve(tpath("garbage"), args, env), ENOEXEC);
    CHECK_ERR(execve(tpath("garbage/x"), args, env), ENOTDIR);
    write_file(tpath("empty"), "", 0, 0755);
    CHECK_ERR(execve(tpath("empty"), args, env), ENOEXEC);
    /* Still running with our own random bytes. */
    CHECK_MEMEQ(mine, (void *)getauxval(AT_RANDOM), 16);
    return 0;
}
