/* System V message queues: msgget/msgctl errnos, msgsnd/msgrcv with
 * message types (0, >0, <0, MSG_EXCEPT), MSG_NOERROR truncation, E2BIG,
 * ENOMSG and EAGAIN under IPC_NOWAIT, IPC_STAT counters, a receiver
 * blocked until a child sends, a sender blocked on a full queue, EIDRM
 * for a waiter whose queue is removed. IPC_PRIVATE queues, removed. */
#include "check.h"
#include <sys/ipc.h>
#include <sys/msg.h>

struct m {
    long type;
    char text[8192];
};

static int ids[2] = {-1, -1};
static void cleanup(void)
{
    for (int i = 0; i < 2; i++)
        if (ids[i] >= 0)
            msgctl(ids[i], IPC_RMID, NULL);
}

static void snd(int id, long type, const char *s)
{
    struct m msg;
    msg.type = type;
    strcpy(msg.text, s);
    CHECK_OK(msgsnd(id, &msg, strlen(s), IPC_NOWAIT));
}

int main(void)
{
    alarm(10);
    atexit(cleanup);
    static struct m msg;
    CHECK_ERR(msgctl(-1, IPC_STAT, NULL), EINVAL);
    int id = ids[0] = CHECK_OK(msgget(IPC_PRIVATE, IPC_CREAT | 0600));
    struct msqid_ds ds;
    CHECK_OK(msgctl(id, IPC_STAT, &ds));
    CHECK_EQ(ds.msg_qnum, 0);
    CHECK_EQ(ds.msg_qbytes, 16384);
    CHECK_EQ(ds.msg_perm.mode & 0777, 0600);

    msg.type = 0;
    CHECK_ERR(msgsnd(id, &msg, 1, 0), EINVAL);
    msg.type = 1;
    CHECK_ERR(msgsnd(id, &msg, 8193, 0), EINVAL);
    CHECK_ERR(msgrcv(id, &msg, 100, 0, IPC_NOWAIT), ENOMSG);

    snd(id, 3, "three");
    snd(id, 1, "one");
    snd(id, 2, "two");
    snd(id, 1, "one again");
    CHECK_OK(msgctl(id, IPC_STAT, &ds));
    CHECK_EQ(ds.msg_qnum, 4);
    CHECK_EQ(ds.__msg_cbytes, 5 + 3 + 3 + 9);
    CHECK_EQ(ds.msg_lspid, getpid());

    /* msgtyp > 0: first of that type. */
    CHECK_EQ(msgrcv(id, &msg, sizeof(msg.text), 2, 0), 3);
    CHECK_EQ(msg.type, 2);
    CHECK_MEMEQ(msg.text, "two", 3);
    /* Too small a buffer: E2BIG, and the message stays. */
    CHECK_ERR(msgrcv(id, &msg, 2, 3, 0), E2BIG);
    /* MSG_NOERROR truncates. */
    CHECK_EQ(msgrcv(id, &msg, 2, 3, MSG_NOERROR), 2);
    CHECK_MEMEQ(msg.text, "th", 2);
    CHECK_ERR(msgrcv(id, &msg, 100, 3, IPC_NOWAIT), ENOMSG);
    /* msgtyp < 0: lowest type not above |msgtyp|. */
    snd(id, 5, "five");
    CHECK_EQ(msgrcv(id, &msg, 100, -4, 0), 3);
    CHECK_EQ(msg.type, 1);
    /* MSG_EXCEPT: first not of that type. */
    CHECK_EQ(msgrcv(id, &msg, 100, 1, MSG_EXCEPT), 4);
    CHECK_EQ(msg.type, 5);
    /* msgtyp 0: the oldest. */
    CHECK_EQ(msgrcv(id, &msg, 100, 0, 0), 9);
    CHECK_MEMEQ(msg.text, "one again", 9);
    CHECK_OK(msgctl(id, IPC_STAT, &ds));
    CHECK_EQ(ds.msg_qnum, 0);
    CHECK_EQ(ds.msg_lrpid, getpid());

    /* A receiver blocks until a child sends. */
    pid_t pid = CHECK_OK(fork());
    if (pid == 0) {
        usleep(50 * 1000);
        struct m c = {.type = 7};
        strcpy(c.text, "late");
        _exit(msgsnd(id, &c, 4, 0) == 0 ? 0 : 2);
    }
    CHECK_EQ(msgrcv(id, &msg, 100, 7, 0), 4);
    CHECK_MEMEQ(msg.text, "late", 4);
    CHECK_EXITED(wait_status(pid), 0);

    /* A full queue: EAGAIN with IPC_NOWAIT; a blocked sender proceeds
     * once a message is taken. */
    memset(msg.text, 'x', sizeof(msg.text));
    msg.type = 9;
    CHECK_OK(msgsnd(id, &msg, 8192, 0));
    CHECK_OK(msgsnd(id, &msg, 8192, 0));
    CHECK_ERR(msgsnd(id, &msg, 1, IPC_NOWAIT), EAGAIN);
    pid = CHECK_OK(fork());
    if (pid == 0) {
        struct m c = {.type = 10};
        _exit(msgsnd(id, &c, 100, 0) == 0 ? 0 : 2);
    }
    usleep(50 * 1000);
    CHECK_EQ(msgrcv(id, &msg, sizeof(msg.text), 9, 0), 8192);
    CHECK_EXITED(wait_status(pid), 0);
    CHECK_EQ(msgrcv(id, &msg, sizeof(msg.text), 10, IPC_NOWAIT), 100);

    /* IPC_SET: raising msg_qbytes past MSGMNB needs privilege. */
    CHECK_OK(msgctl(id, IPC_STAT, &ds));
    ds.msg_perm.mode = 0640;
    ds.msg_qbytes = 4096;
    CHECK_OK(msgctl(id, IPC_SET, &ds));
    CHECK_OK(msgctl(id, IPC_STAT, &ds));
    CHECK_EQ(ds.msg_perm.mode & 0777, 0640);
    CHECK_EQ(ds.msg_qbytes, 4096);

    /* A waiting receiver gets EIDRM when the queue goes. */
    int id2 = ids[1] = CHECK_OK(msgget(IPC_PRIVATE, 0600));
    int pfd[2];
    CHECK_OK(pipe(pfd));
    pid = CHECK_OK(fork());
    if (pid == 0) {
        struct m c;
        close(pfd[0]);
        close(pfd[1]); /* tells the parent we are about to block */
        if (msgrcv(id2, &c, 100, 0, 0) == -1 && errno == EIDRM)
            _exit(0);
        _exit(2);
    }
    close(pfd[1]);
    char c;
    CHECK_EQ(read(pfd[0], &c, 1), 0);
    usleep(50 * 1000);
    CHECK_OK(msgctl(id2, IPC_RMID, NULL));
    ids[1] = -1;
    CHECK_EXITED(wait_status(pid), 0);
    CHECK_ERR(msgsnd(id2, &msg, 1, 0), EINVAL);

    CHECK_OK(msgctl(id, IPC_RMID, NULL));
    ids[0] = -1;
    return 0;
}
