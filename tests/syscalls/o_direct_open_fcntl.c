/* O_DIRECT: regular files accept it at open (a directory made in the
 * current directory on the host disk, /tmp, /dev/shm, and an existing host
 * file read-only), aligned reads and writes work, F_GETFL shows it (with
 * O_LARGEFILE, which every open gets on 64-bit) and F_SETFL sets and
 * clears it. Files without direct I/O refuse it with EINVAL at open and at
 * F_SETFL (procfs, /dev/null, directories, sockets, a FIFO's open), except
 * that F_SETFL on a pipe or FIFO takes it (packet mode); O_PATH ignores it.
 * Only block-aligned I/O is used: ext4 refuses anything else under
 * O_DIRECT, while tmpfs (the sandbox's filesystems) takes any. */
#include "check.h"

#include <sys/socket.h>

#define KERNEL_O_LARGEFILE 0100000
#define BLK 4096

static char *aligned(size_t len)
{
    void *p = NULL;
    CHECK_EQ(posix_memalign(&p, BLK, len), 0);
    return p;
}

static void direct_file(const char *path)
{
    char *out = aligned(2 * BLK), *in = aligned(2 * BLK);
    int fd = CHECK_OK(open(path, O_RDWR | O_CREAT | O_TRUNC | O_DIRECT, 0644));
    CHECK_EQ(fcntl(fd, F_GETFL), O_RDWR | O_DIRECT | KERNEL_O_LARGEFILE);
    memset(out, 'a', BLK);
    memset(out + BLK, 'b', BLK);
    CHECK_EQ(write(fd, out, BLK), BLK);
    CHECK_EQ(pwrite(fd, out + BLK, BLK, BLK), BLK);
    CHECK_EQ(lseek(fd, 0, SEEK_CUR), BLK);
    struct stat st;
    CHECK_OK(fstat(fd, &st));
    CHECK_EQ(st.st_size, 2 * BLK);
    CHECK_EQ(pread(fd, in, 2 * BLK, 0), 2 * BLK);
    CHECK_MEMEQ(in, out, 2 * BLK);
    /* At the end of the file a direct read returns 0. */
    CHECK_EQ(pread(fd, in, BLK, 2 * BLK), 0);

    /* A buffered descriptor sees the same data. */
    int plain = CHECK_OK(open(path, O_RDONLY));
    CHECK_EQ(fcntl(plain, F_GETFL), O_RDONLY | KERNEL_O_LARGEFILE);
    memset(in, 0, 2 * BLK);
    CHECK_EQ(read(plain, in, 2 * BLK), 2 * BLK);
    CHECK_MEMEQ(in, out, 2 * BLK);

    /* F_SETFL clears and sets it, on either descriptor. */
    CHECK_OK(fcntl(fd, F_SETFL, 0));
    CHECK_EQ(fcntl(fd, F_GETFL), O_RDWR | KERNEL_O_LARGEFILE);
    CHECK_OK(fcntl(plain, F_SETFL, O_DIRECT));
    CHECK_EQ(fcntl(plain, F_GETFL), O_RDONLY | O_DIRECT | KERNEL_O_LARGEFILE);
    CHECK_EQ(pread(plain, in, BLK, BLK), BLK);
    CHECK_MEMEQ(in, out + BLK, BLK);
    CHECK_OK(fcntl(fd, F_SETFL, O_DIRECT | O_APPEND));
    CHECK_EQ(fcntl(fd, F_GETFL), O_RDWR | O_DIRECT | O_APPEND | KERNEL_O_LARGEFILE);
    CHECK_EQ(write(fd, out, BLK), BLK);
    CHECK_OK(fstat(fd, &st));
    CHECK_EQ(st.st_size, 3 * BLK);
    CHECK_OK(close(plain));
    CHECK_OK(close(fd));
    free(out);
    free(in);
}

static char dir[64];

static void remove_dir(void)
{
    nftw(dir, rvt_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
    alarm(10);
    /* The current directory (the host disk natively, the overlay root in
     * the sandbox), /tmp, and tmpfs. */
    strcpy(dir, "./rvt-odirect.XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
    atexit(remove_dir);
    char path[128];
    snprintf(path, sizeof(path), "%s/f", dir);
    direct_file(path);
    make_tmpdir();
    direct_file(tpath("f"));
    char shm[64];
    snprintf(shm, sizeof(shm), "/dev/shm/rvt-odirect-%d", (int)getpid());
    direct_file(shm);
    CHECK_OK(unlink(shm));

    /* An existing host file, read directly. */
    char *direct = aligned(16 * BLK), *buffered = aligned(16 * BLK);
    int fd = CHECK_OK(open("/etc/passwd", O_RDONLY | O_DIRECT));
    CHECK_EQ(fcntl(fd, F_GETFL), O_RDONLY | O_DIRECT | KERNEL_O_LARGEFILE);
    ssize_t n = CHECK_OK(read(fd, direct, 16 * BLK));
    int plain = CHECK_OK(open("/etc/passwd", O_RDONLY));
    CHECK_EQ(read(plain, buffered, 16 * BLK), n);
    CHECK(n > 0);
    CHECK_MEMEQ(direct, buffered, n);
    CHECK_OK(close(fd));
    CHECK_OK(close(plain));

    /* Files without direct I/O. */
    CHECK_ERR(open("/proc/self/status", O_RDONLY | O_DIRECT), EINVAL);
    CHECK_ERR(open("/dev/null", O_RDWR | O_DIRECT), EINVAL);
    CHECK_ERR(open("/", O_RDONLY | O_DIRECT), EINVAL);
    CHECK_ERR(open(tpath("."), O_RDONLY | O_DIRECTORY | O_DIRECT), EINVAL);
    int null = CHECK_OK(open("/dev/null", O_RDWR));
    CHECK_ERR(fcntl(null, F_SETFL, O_DIRECT), EINVAL);
    CHECK_EQ(fcntl(null, F_GETFL), O_RDWR | KERNEL_O_LARGEFILE);
    int proc = CHECK_OK(open("/proc/self/status", O_RDONLY));
    CHECK_ERR(fcntl(proc, F_SETFL, O_DIRECT | O_NONBLOCK), EINVAL);
    CHECK_EQ(fcntl(proc, F_GETFL), O_RDONLY | KERNEL_O_LARGEFILE);
    int d = CHECK_OK(open("/", O_RDONLY | O_DIRECTORY));
    CHECK_ERR(fcntl(d, F_SETFL, O_DIRECT), EINVAL);
    int s = CHECK_OK(socket(AF_UNIX, SOCK_STREAM, 0));
    CHECK_ERR(fcntl(s, F_SETFL, O_DIRECT), EINVAL);
    /* O_PATH ignores it. */
    int opath = CHECK_OK(open("/proc/self/status", O_PATH | O_DIRECT));
    CHECK_EQ(fcntl(opath, F_GETFL), O_PATH);

    /* Pipes and FIFOs: packet mode. */
    int p[2];
    CHECK_OK(pipe(p));
    CHECK_OK(fcntl(p[0], F_SETFL, O_DIRECT));
    CHECK_EQ(fcntl(p[0], F_GETFL), O_RDONLY | O_DIRECT);
    CHECK_OK(pipe2(p, O_DIRECT));
    CHECK_EQ(fcntl(p[1], F_GETFL), O_WRONLY | O_DIRECT);
    CHECK_OK(mkfifo(tpath("fifo"), 0600));
    CHECK_ERR(open(tpath("fifo"), O_RDWR | O_DIRECT), EINVAL);
    int fifo = CHECK_OK(open(tpath("fifo"), O_RDWR));
    CHECK_OK(fcntl(fifo, F_SETFL, O_DIRECT));
    CHECK_EQ(fcntl(fifo, F_GETFL), O_RDWR | O_DIRECT | KERNEL_O_LARGEFILE);
    return 0;
}
