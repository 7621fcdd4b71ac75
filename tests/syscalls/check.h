/* Shared assertion helpers for rvisor's syscall-compatibility programs.
 *
 * Every program prints nothing and exits 0 on success. The first failed
 * check in a process prints one line to stderr,
 *     FAIL <file>:<line>: <what> (errno=<n>)
 * and exits 1. Programs that need files call make_tmpdir(), which creates a
 * fresh /tmp/rvt.XXXXXX directory and removes it (recursively) at exit of the
 * process that created it; forked children never remove it.
 */
#ifndef RVT_CHECK_H
#define RVT_CHECK_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#ifdef __FILE_NAME__
#define RVT_FILE __FILE_NAME__
#else
#define RVT_FILE __FILE__
#endif

static void rvt_fail(const char *file, int line, int err, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 4, 5), unused));

#include <stdarg.h>

static void rvt_fail(const char *file, int line, int err, const char *fmt, ...)
{
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    fprintf(stderr, "FAIL %s:%d: %s (errno=%d)\n", file, line, what, err);
    fflush(stderr);
    exit(1);
}

/* Fails with a free-form message. */
#define FAILF(...) rvt_fail(RVT_FILE, __LINE__, errno, __VA_ARGS__)

/* cond must be true. */
#define CHECK(cond)                                                        \
    do {                                                                   \
        if (!(cond))                                                       \
            rvt_fail(RVT_FILE, __LINE__, errno, "%s", #cond);              \
    } while (0)

/* a == b, compared as signed 64-bit integers (pointers are cast). The
 * errno shown is the one after evaluating both sides. */
#define CHECK_EQ(a, b)                                                     \
    do {                                                                   \
        long long _a = (long long)(a), _b = (long long)(b);                \
        int _e = errno;                                                    \
        if (_a != _b)                                                      \
            rvt_fail(RVT_FILE, __LINE__, _e, "%s == %s: got %lld (0x%llx), want %lld (0x%llx)", \
                     #a, #b, _a, (unsigned long long)_a, _b, (unsigned long long)_b); \
    } while (0)

/* a != b */
#define CHECK_NE(a, b)                                                     \
    do {                                                                   \
        long long _a = (long long)(a), _b = (long long)(b);                \
        int _e = errno;                                                    \
        if (_a == _b)                                                      \
            rvt_fail(RVT_FILE, __LINE__, _e, "%s != %s: both %lld", #a, #b, _a); \
    } while (0)

/* The call must succeed (return something other than -1 / MAP_FAILED);
 * evaluates to its result as a long. */
#define CHECK_OK(call)                                                     \
    ({                                                                     \
        errno = 0;                                                         \
        long _r = (long)(call);                                            \
        if (_r == -1)                                                      \
            rvt_fail(RVT_FILE, __LINE__, errno, "%s failed", #call);       \
        _r;                                                                \
    })

/* The call must fail with -1 and exactly errno == err. */
#define CHECK_ERR(call, err)                                               \
    do {                                                                   \
        errno = 0;                                                         \
        long _r = (long)(call);                                            \
        int _e = errno;                                                    \
        if (_r != -1 || _e != (err))                                       \
            rvt_fail(RVT_FILE, __LINE__, _e, "%s: got %ld errno %d, want -1 errno %d (%s)", \
                     #call, _r, _e, (err), #err);                          \
    } while (0)

/* Two NUL-terminated strings must be equal. */
#define CHECK_STREQ(a, b)                                                  \
    do {                                                                   \
        const char *_a = (a), *_b = (b);                                   \
        if (strcmp(_a, _b) != 0)                                           \
            rvt_fail(RVT_FILE, __LINE__, errno, "%s == %s: got \"%s\", want \"%s\"", \
                     #a, #b, _a, _b);                                      \
    } while (0)

/* Two byte ranges of length n must be equal. */
#define CHECK_MEMEQ(a, b, n)                                               \
    do {                                                                   \
        if (memcmp((a), (b), (n)) != 0)                                    \
            rvt_fail(RVT_FILE, __LINE__, errno, "memcmp(%s, %s, %s) != 0", #a, #b, #n); \
    } while (0)

/* A wait status must be a normal exit with the given code. */
#define CHECK_EXITED(status, code)                                         \
    do {                                                                   \
        int _s = (status);                                                 \
        if (!WIFEXITED(_s) || WEXITSTATUS(_s) != (code))                   \
            rvt_fail(RVT_FILE, __LINE__, errno, "wait status 0x%x: want exit(%d)", _s, (code)); \
    } while (0)

/* A wait status must be death by the given signal. */
#define CHECK_SIGNALED(status, sig)                                        \
    do {                                                                   \
        int _s = (status);                                                 \
        if (!WIFSIGNALED(_s) || WTERMSIG(_s) != (sig))                     \
            rvt_fail(RVT_FILE, __LINE__, errno, "wait status 0x%x: want killed by signal %d", _s, (sig)); \
    } while (0)

static char rvt_tmpdir[64];
static pid_t rvt_tmpdir_owner;

static int rvt_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag == FTW_DP)
        rmdir(path);
    else
        unlink(path);
    return 0;
}

static void rvt_cleanup(void)
{
    if (rvt_tmpdir[0] && getpid() == rvt_tmpdir_owner) {
        /* Directories left without write permission would block removal. */
        chmod(rvt_tmpdir, 0700);
        nftw(rvt_tmpdir, rvt_rm_one, 16, FTW_DEPTH | FTW_PHYS);
        rvt_tmpdir[0] = 0;
    }
}

/* Creates /tmp/rvt.XXXXXX (mode 0755), removed at exit. Returns its path. */
static __attribute__((unused)) const char *make_tmpdir(void)
{
    strcpy(rvt_tmpdir, "/tmp/rvt.XXXXXX");
    if (!mkdtemp(rvt_tmpdir))
        rvt_fail(RVT_FILE, __LINE__, errno, "mkdtemp(/tmp/rvt.XXXXXX)");
    /* Searchable by all, so tests may drop privileges inside it. */
    if (chmod(rvt_tmpdir, 0755) != 0)
        rvt_fail(RVT_FILE, __LINE__, errno, "chmod(%s)", rvt_tmpdir);
    rvt_tmpdir_owner = getpid();
    atexit(rvt_cleanup);
    return rvt_tmpdir;
}

/* Returns "<tmpdir>/<name>" in a static rotating buffer. */
static __attribute__((unused)) const char *tpath(const char *name)
{
    static char bufs[8][256];
    static int next;
    char *b = bufs[next++ % 8];
    snprintf(b, sizeof(bufs[0]), "%s/%s", rvt_tmpdir, name);
    return b;
}

/* Writes exactly len bytes of data to a new (truncated) file at path. */
static __attribute__((unused)) void write_file(const char *path, const void *data, size_t len, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    if (fd < 0)
        rvt_fail(RVT_FILE, __LINE__, errno, "open(%s) for writing", path);
    if (write(fd, data, len) != (ssize_t)len)
        rvt_fail(RVT_FILE, __LINE__, errno, "write(%s)", path);
    close(fd);
}

/* Reads up to cap-1 bytes of path into buf, NUL-terminates, returns length. */
static __attribute__((unused)) ssize_t read_file(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        rvt_fail(RVT_FILE, __LINE__, errno, "open(%s) for reading", path);
    size_t got = 0;
    for (;;) {
        ssize_t n = read(fd, buf + got, cap - 1 - got);
        if (n < 0)
            rvt_fail(RVT_FILE, __LINE__, errno, "read(%s)", path);
        if (n == 0 || got + (size_t)n == cap - 1) {
            got += (size_t)n;
            break;
        }
        got += (size_t)n;
    }
    buf[got] = 0;
    close(fd);
    return (ssize_t)got;
}

/* Waits for pid and returns its raw wait status. */
static __attribute__((unused)) int wait_status(pid_t pid)
{
    int status;
    pid_t r;
    do {
        r = waitpid(pid, &status, 0);
    } while (r < 0 && errno == EINTR);
    if (r != pid)
        rvt_fail(RVT_FILE, __LINE__, errno, "waitpid(%d) returned %d", (int)pid, (int)r);
    return status;
}

/* Nanoseconds on CLOCK_MONOTONIC. */
#include <time.h>
static __attribute__((unused)) long long mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

#endif
