/* getrandom: full-length reads for each flag, different results per
 * call, large requests, invalid flags, bad buffers. */
#include "check.h"
#include <sys/random.h>
#include <sys/syscall.h>

int main(void)
{
    alarm(10);
    unsigned char a[32], b[32], zero[32] = {0};
    CHECK_EQ(getrandom(a, sizeof(a), 0), 32);
    CHECK_EQ(getrandom(b, sizeof(b), 0), 32);
    CHECK(memcmp(a, b, 32) != 0);
    CHECK(memcmp(a, zero, 32) != 0);
    CHECK_EQ(getrandom(a, sizeof(a), GRND_NONBLOCK), 32);
    CHECK_EQ(getrandom(b, sizeof(b), GRND_RANDOM), 32);
    CHECK_EQ(getrandom(b, sizeof(b), GRND_RANDOM | GRND_NONBLOCK), 32);
    CHECK_EQ(getrandom(a, 0, 0), 0);

    /* Up to 256 bytes are never short; large requests return > 0. */
    static unsigned char big[1 << 20];
    CHECK_EQ(getrandom(big, 256, 0), 256);
    ssize_t n = CHECK_OK(getrandom(big, sizeof(big), 0));
    CHECK(n > 0);

    /* A child's stream differs from the parent's. */
    int p[2];
    CHECK_OK(pipe(p));
    pid_t pid = CHECK_OK(fork());
    if (pid == 0) {
        unsigned char c[32];
        getrandom(c, sizeof(c), 0);
        write(p[1], c, sizeof(c));
        _exit(0);
    }
    CHECK_EQ(getrandom(a, sizeof(a), 0), 32);
    CHECK_EQ(read(p[0], b, sizeof(b)), 32);
    CHECK(memcmp(a, b, 32) != 0);
    CHECK_EXITED(wait_status(pid), 0);

    CHECK_ERR(getrandom(a, sizeof(a), 0x80), EINVAL);
    CHECK_ERR(getrandom(a, sizeof(a), ~0U), EINVAL);
    CHECK_ERR(syscall(SYS_getrandom, (void *)8, 16, 0), EFAULT);
    return 0;
}
