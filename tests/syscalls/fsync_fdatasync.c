/* fsync/fdatasync/syncfs/sync/sync_file_range: success on files and
 * directories, EINVAL on pipes, EBADF on bad fds, data survives. */
#include "check.h"

int main(void)
{
    alarm(10);
    make_tmpdir();
    char buf[16];
    int fd = CHECK_OK(open(tpath("f"), O_RDWR | O_CREAT, 0644));
    CHECK_EQ(write(fd, "durable", 7), 7);
    CHECK_EQ(fsync(fd), 0);
    CHECK_EQ(fdatasync(fd), 0);
    CHECK_EQ(syncfs(fd), 0);
    CHECK_EQ(sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE), 0);
    CHECK_ERR(sync_file_range(fd, 0, 0, 0x80), EINVAL);
    CHECK_ERR(sync_file_range(fd, -1, 0, SYNC_FILE_RANGE_WRITE), EINVAL);
    sync();
    CHECK_EQ(read_file(tpath("f"), buf, sizeof(buf)), 7);
    CHECK_STREQ(buf, "durable");

    /* Read-only fds and directories can be synced too. */
    int ro = CHECK_OK(open(tpath("f"), O_RDONLY));
    CHECK_EQ(fsync(ro), 0);
    int dfd = CHECK_OK(open(rvt_tmpdir, O_RDONLY | O_DIRECTORY));
    CHECK_EQ(fsync(dfd), 0);
    CHECK_EQ(fdatasync(dfd), 0);

    int p[2];
    CHECK_OK(pipe(p));
    CHECK_ERR(fsync(p[0]), EINVAL);
    CHECK_ERR(fdatasync(p[1]), EINVAL);
    CHECK_ERR(fsync(999), EBADF);
    CHECK_ERR(fdatasync(-1), EBADF);
    CHECK_ERR(syncfs(999), EBADF);
    return 0;
}
