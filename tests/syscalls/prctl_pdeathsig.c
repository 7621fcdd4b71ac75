/* PR_SET_PDEATHSIG: a child gets its parent-death signal when its parent
 * exits; the setting is read back with PR_GET_PDEATHSIG, bad signals are
 * EINVAL, and a forked child does not inherit it. (The parent *thread*
 * rule and the clearing by credential changes:
 * pdeathsig_parent_thread_and_creds.c.) */
#include "check.h"

#include <signal.h>
#include <sys/prctl.h>

int main(void)
{
    alarm(10);
    int sig = -1;
    CHECK_OK(prctl(PR_GET_PDEATHSIG, &sig, 0, 0, 0));
    CHECK_EQ(sig, 0);
    CHECK_ERR(prctl(PR_SET_PDEATHSIG, 65, 0, 0, 0), EINVAL);
    CHECK_ERR(prctl(PR_SET_PDEATHSIG, -1, 0, 0, 0), EINVAL);
    CHECK_OK(prctl(PR_SET_PDEATHSIG, SIGUSR1, 0, 0, 0));
    CHECK_OK(prctl(PR_GET_PDEATHSIG, &sig, 0, 0, 0));
    CHECK_EQ(sig, SIGUSR1);

    /* Not inherited across fork. */
    pid_t p = CHECK_OK(fork());
    if (p == 0) {
        int s = -1;
        CHECK_OK(prctl(PR_GET_PDEATHSIG, &s, 0, 0, 0));
        CHECK_EQ(s, 0);
        _exit(0);
    }
    int st;
    CHECK_EQ(waitpid(p, &st, 0), p);
    CHECK_EXITED(st, 0);
    CHECK_OK(prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0));

    /* We become the subreaper so the orphaned grandchild comes to us. */
    CHECK_OK(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0));
    int ready[2];
    CHECK_OK(pipe(ready));
    pid_t mid = CHECK_OK(fork());
    if (mid == 0) {
        pid_t gc = CHECK_OK(fork());
        if (gc == 0) {
            close(ready[0]);
            CHECK_OK(prctl(PR_SET_PDEATHSIG, SIGUSR2, 0, 0, 0));
            /* The parent waits for this before it exits. */
            if (write(ready[1], "r", 1) != 1)
                _exit(3);
            for (;;)
                pause();
        }
        char c;
        close(ready[1]);
        /* Wait until the grandchild has set its signal, then die. */
        CHECK_EQ(read(ready[0], &c, 1), 1);
        _exit(0);
    }
    close(ready[0]);
    close(ready[1]);
    CHECK_EQ(waitpid(mid, &st, 0), mid);
    CHECK_EXITED(st, 0);
    /* The grandchild, now ours, dies of its parent-death signal. */
    pid_t gc = CHECK_OK(wait(&st));
    CHECK_NE(gc, mid);
    CHECK_SIGNALED(st, SIGUSR2);
    return 0;
}
