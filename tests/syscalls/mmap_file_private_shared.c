/* File mmap: MAP_SHARED writes reach the file (and read() sees them),
 * write() is seen through the mapping, MAP_PRIVATE writes stay private,
 * offsets, SIGBUS beyond EOF, access-mode checks. */
#include "check.h"
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>

static sigjmp_buf jb;
static volatile void *bus_addr;
static volatile int bus_code;

static void on_bus(int sig, siginfo_t *si, void *ctx)
{
    (void)sig;
    (void)ctx;
    bus_addr = si->si_addr;
    bus_code = si->si_code;
    siglongjmp(jb, 1);
}

int main(void)
{
    alarm(10);
    make_tmpdir();
    const long pg = 4096;
    char buf[64];
    static char content[2 * 4096];
    for (size_t i = 0; i < sizeof(content); i++)
        content[i] = (char)('A' + i % 26);
    write_file(tpath("f"), content, sizeof(content), 0644);
    int fd = CHECK_OK(open(tpath("f"), O_RDWR));

    char *sh = (char *)CHECK_OK(mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
    CHECK_MEMEQ(sh, content, sizeof(content));
    sh[0] = '#';
    sh[pg] = '%';
    CHECK_OK(msync(sh, 2 * pg, MS_SYNC));
    CHECK_EQ(pread(fd, buf, 1, 0), 1);
    CHECK_EQ(buf[0], '#');
    CHECK_EQ(pread(fd, buf, 1, pg), 1);
    CHECK_EQ(buf[0], '%');
    /* write() is visible through the shared mapping immediately. */
    CHECK_EQ(pwrite(fd, "wxyz", 4, 10), 4);
    CHECK_MEMEQ(sh + 10, "wxyz", 4);

    /* MAP_PRIVATE: sees the file until written, writes stay private. */
    char *pv = (char *)CHECK_OK(mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0));
    CHECK_EQ(pv[0], '#');
    pv[1] = '!';
    CHECK_EQ(pread(fd, buf, 2, 0), 2);
    CHECK_EQ(buf[1], 'B');
    CHECK_EQ(sh[1], 'B');

    /* Mapping at a page offset. */
    char *off = (char *)CHECK_OK(mmap(NULL, pg, PROT_READ, MAP_SHARED, fd, pg));
    CHECK_EQ(off[0], '%');
    CHECK_EQ(off[1], content[pg + 1]);
    CHECK_ERR(mmap(NULL, pg, PROT_READ, MAP_SHARED, fd, 100), EINVAL);

    /* MAP_SHARED across fork: the child's store lands in the file. */
    pid_t pid = CHECK_OK(fork());
    if (pid == 0) {
        sh[2] = '@';
        _exit(0);
    }
    CHECK_EXITED(wait_status(pid), 0);
    CHECK_EQ(pread(fd, buf, 3, 0), 3);
    CHECK_EQ(buf[2], '@');

    /* Access beyond the last page of the file raises SIGBUS (BUS_ADRERR). */
    write_file(tpath("small"), "tiny", 4, 0644);
    int sfd = CHECK_OK(open(tpath("small"), O_RDONLY));
    char *sm = (char *)CHECK_OK(mmap(NULL, 2 * pg, PROT_READ, MAP_PRIVATE, sfd, 0));
    CHECK_MEMEQ(sm, "tiny", 4);
    CHECK_EQ(sm[pg - 1], 0); /* the tail of the last page reads as zero */
    struct sigaction sa = {0};
    sa.sa_sigaction = on_bus;
    sa.sa_flags = SA_SIGINFO;
    CHECK_OK(sigaction(SIGBUS, &sa, NULL));
    if (sigsetjmp(jb, 1) == 0) {
        volatile char c = sm[pg];
        (void)c;
        FAILF("no SIGBUS reading past EOF");
    }
    CHECK_EQ(bus_addr, sm + pg);
    CHECK_EQ(bus_code, BUS_ADRERR);

    /* Access mode checks against the fd. */
    CHECK_ERR(mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_SHARED, sfd, 0), EACCES);
    /* A private writable mapping of a read-only fd is fine. */
    char *cow = (char *)CHECK_OK(mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE, sfd, 0));
    cow[0] = 'T';
    int wfd = CHECK_OK(open(tpath("small"), O_WRONLY));
    CHECK_ERR(mmap(NULL, pg, PROT_READ, MAP_SHARED, wfd, 0), EACCES);
    int p[2];
    CHECK_OK(pipe(p));
    CHECK_ERR(mmap(NULL, pg, PROT_READ, MAP_PRIVATE, p[0], 0), ENODEV);
    int dfd = CHECK_OK(open(rvt_tmpdir, O_RDONLY));
    CHECK_ERR(mmap(NULL, pg, PROT_READ, MAP_PRIVATE, dfd, 0), ENODEV);

    /* The mapping outlives the fd. */
    CHECK_OK(close(fd));
    sh[3] = '&';
    CHECK_OK(msync(sh, pg, MS_SYNC));
    CHECK_EQ(read_file(tpath("f"), buf, 5), 4);
    CHECK_MEMEQ(buf, "#B@&", 4);
    CHECK_OK(munmap(sh, 2 * pg));
    CHECK_OK(munmap(pv, 2 * pg));
    return 0;
}
