/* name_to_handle_at/open_by_handle_at on a filesystem without export
 * support (procfs, natively and in the sandbox): a decodable handle is
 * EOPNOTSUPP (after the flag check and the path walk), while AT_HANDLE_FID
 * gets an inode-number identifier (FILEID_INO64_GEN: inode, generation 0)
 * and the mount id mountinfo shows; the handle size rules (EOVERFLOW with
 * the needed size, EINVAL above MAX_HANDLE_SZ) and EFAULTs.
 * open_by_handle_at validates the handle (EINVAL, EFAULT), the mount fd
 * (EBADF, also for O_PATH), needs CAP_DAC_READ_SEARCH (EPERM) and cannot
 * decode a procfs handle (ESTALE). Needs Linux 6.5+ (AT_HANDLE_FID). */
#include "check.h"

#include <linux/capability.h>
#include <sys/syscall.h>

#ifndef AT_HANDLE_FID
#define AT_HANDLE_FID 0x200
#endif
#define AT_HANDLE_CONNECTABLE 0x002
#define FILEID_INO64_GEN 0x81
#define FILEID_INVALID 0xff

struct handle {
    struct file_handle h;
    unsigned char bytes[MAX_HANDLE_SZ];
};

static void reset(struct handle *h, unsigned room)
{
    memset(h, 0xaa, sizeof(*h));
    h->h.handle_bytes = room;
    h->h.handle_type = 0x1234;
}

/* The id /proc/self/mountinfo gives the (visible) mount on `point`. */
static int mountinfo_id(const char *point)
{
    FILE *f = fopen("/proc/self/mountinfo", "r");
    CHECK(f != NULL);
    char line[1024], mp[512];
    int id, parent, found = -1;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "%d %d %*s %*s %511s", &id, &parent, mp) == 3 && strcmp(mp, point) == 0)
            found = id;
    fclose(f);
    CHECK(found > 0);
    return found;
}

static uint64_t fid_ino(const struct handle *h)
{
    uint64_t ino;
    memcpy(&ino, h->h.f_handle, 8);
    return ino;
}

static uint32_t fid_gen(const struct handle *h)
{
    uint32_t gen;
    memcpy(&gen, h->h.f_handle + 8, 4);
    return gen;
}

static void drop_caps(const int *caps, int n)
{
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
    struct __user_cap_data_struct d[2];
    CHECK_OK(syscall(SYS_capget, &hdr, d));
    for (int i = 0; i < n; i++)
        d[caps[i] / 32].effective &= ~(1u << (caps[i] % 32));
    CHECK_OK(syscall(SYS_capset, &hdr, d));
}

int main(void)
{
    alarm(10);
    struct handle h;
    int mid;
    struct stat st;

    /* Decodable handles: procfs cannot give one. */
    const char *paths[] = {"/proc", "/proc/self", "/proc/self/status", "/proc/self/fd"};
    for (unsigned i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        reset(&h, MAX_HANDLE_SZ);
        mid = -1;
        CHECK_ERR(name_to_handle_at(AT_FDCWD, paths[i], &h.h, &mid, 0), EOPNOTSUPP);
        CHECK_ERR(name_to_handle_at(AT_FDCWD, paths[i], &h.h, &mid, AT_SYMLINK_FOLLOW), EOPNOTSUPP);
        /* Nothing was written. */
        CHECK_EQ(mid, -1);
        CHECK_EQ(h.h.handle_bytes, MAX_HANDLE_SZ);
        CHECK_EQ(h.h.handle_type, 0x1234);
    }
    int status = CHECK_OK(open("/proc/self/status", O_RDONLY));
    CHECK_ERR(name_to_handle_at(status, "", &h.h, &mid, AT_EMPTY_PATH), EOPNOTSUPP);
    /* The support check comes before the handle is even read. */
    CHECK_ERR(name_to_handle_at(AT_FDCWD, "/proc", (struct file_handle *)8, &mid, 0), EOPNOTSUPP);
    reset(&h, MAX_HANDLE_SZ + 1);
    CHECK_ERR(name_to_handle_at(AT_FDCWD, "/proc", &h.h, &mid, 0), EOPNOTSUPP);

    /* Flags and path errors come first. */
    reset(&h, MAX_HANDLE_SZ);
    CHECK_ERR(name_to_handle_at(AT_FDCWD, "/proc", &h.h, &mid, 0x8000), EINVAL);
    CHECK_ERR(name_to_handle_at(AT_FDCWD, "/nonexistent", &h.h, &mid, 0x8000), EINVAL);
    CHECK_ERR(name_to_handle_at(AT_FDCWD, "/proc", &h.h, &mid, AT_HANDLE_FID | AT_HANDLE_CONNECTABLE),
              EINVAL);
    CHECK_ERR(name_to_handle_at(AT_FDCWD, "/proc/nonexistent", &h.h, &mid, 0), ENOENT);
    CHECK_ERR(name_to_handle_at(AT_FDCWD, (const char *)8, &h.h, &mid, 0), EFAULT);
    CHECK_ERR(name_to_handle_at(AT_FDCWD, "", &h.h, &mid, 0), ENOENT);
    CHECK_ERR(name_to_handle_at(999, "x", &h.h, &mid, 0), EBADF);

    /* AT_HANDLE_FID: an identifier from the inode number. */
    int proc_id = mountinfo_id("/proc");
    reset(&h, MAX_HANDLE_SZ);
    mid = -1;
    CHECK_OK(name_to_handle_at(AT_FDCWD, "/proc", &h.h, &mid, AT_HANDLE_FID));
    CHECK_EQ(h.h.handle_bytes, 12);
    CHECK_EQ(h.h.handle_type, FILEID_INO64_GEN);
    CHECK_OK(stat("/proc", &st));
    CHECK_EQ(fid_ino(&h), st.st_ino);
    CHECK_EQ(fid_gen(&h), 0);
    CHECK_EQ(mid, proc_id);
    /* Without AT_SYMLINK_FOLLOW the symlink itself is named. */
    reset(&h, MAX_HANDLE_SZ);
    CHECK_OK(name_to_handle_at(AT_FDCWD, "/proc/self", &h.h, &mid, AT_HANDLE_FID));
    CHECK_OK(lstat("/proc/self", &st));
    CHECK_EQ(fid_ino(&h), st.st_ino);
    reset(&h, MAX_HANDLE_SZ);
    CHECK_OK(name_to_handle_at(AT_FDCWD, "/proc/self", &h.h, &mid, AT_HANDLE_FID | AT_SYMLINK_FOLLOW));
    CHECK_OK(stat("/proc/self", &st));
    CHECK_EQ(fid_ino(&h), st.st_ino);
    reset(&h, MAX_HANDLE_SZ);
    CHECK_OK(name_to_handle_at(status, "", &h.h, &mid, AT_HANDLE_FID | AT_EMPTY_PATH));
    CHECK_OK(fstat(status, &st));
    CHECK_EQ(fid_ino(&h), st.st_ino);
    CHECK_EQ(mid, proc_id);

    /* Too small: EOVERFLOW, with the size needed and an invalid type. */
    reset(&h, 0);
    mid = -1;
    CHECK_ERR(name_to_handle_at(AT_FDCWD, "/proc", &h.h, &mid, AT_HANDLE_FID), EOVERFLOW);
    CHECK_EQ(h.h.handle_bytes, 12);
    CHECK_EQ(h.h.handle_type, FILEID_INVALID);
    CHECK_EQ(h.bytes[0], 0xaa);
    CHECK_EQ(mid, proc_id);
    reset(&h, 11);
    CHECK_ERR(name_to_handle_at(AT_FDCWD, "/proc", &h.h, &mid, AT_HANDLE_FID), EOVERFLOW);
    CHECK_EQ(h.h.handle_bytes, 12);
    /* Too large a buffer size, bad pointers. */
    reset(&h, MAX_HANDLE_SZ + 1);
    CHECK_ERR(name_to_handle_at(AT_FDCWD, "/proc", &h.h, &mid, AT_HANDLE_FID), EINVAL);
    CHECK_EQ(h.h.handle_bytes, MAX_HANDLE_SZ + 1);
    CHECK_ERR(name_to_handle_at(AT_FDCWD, "/proc", (struct file_handle *)8, &mid, AT_HANDLE_FID), EFAULT);
    reset(&h, MAX_HANDLE_SZ);
    CHECK_ERR(name_to_handle_at(AT_FDCWD, "/proc", &h.h, (int *)8, AT_HANDLE_FID), EFAULT);
    /* A failed mount id store leaves the handle alone. */
    CHECK_EQ(h.h.handle_bytes, MAX_HANDLE_SZ);
    CHECK_EQ(h.h.handle_type, 0x1234);

    /* open_by_handle_at: a well-formed handle procfs cannot decode. */
    reset(&h, MAX_HANDLE_SZ);
    CHECK_OK(name_to_handle_at(AT_FDCWD, "/proc/self/status", &h.h, &mid, AT_HANDLE_FID));
    int proc = CHECK_OK(open("/proc", O_RDONLY | O_DIRECTORY));
    CHECK_ERR(open_by_handle_at(proc, &h.h, O_RDONLY), ESTALE);
    CHECK_ERR(open_by_handle_at(status, &h.h, O_RDONLY), ESTALE);
    struct handle bad = h;
    bad.h.handle_bytes = 0;
    CHECK_ERR(open_by_handle_at(proc, &bad.h, O_RDONLY), EINVAL);
    bad.h.handle_bytes = MAX_HANDLE_SZ + 1;
    CHECK_ERR(open_by_handle_at(proc, &bad.h, O_RDONLY), EINVAL);
    bad = h;
    bad.h.handle_type = -1;
    CHECK_ERR(open_by_handle_at(proc, &bad.h, O_RDONLY), EINVAL);
    bad.h.handle_type = 0x40000 | FILEID_INO64_GEN;
    CHECK_ERR(open_by_handle_at(proc, &bad.h, O_RDONLY), EINVAL);
    CHECK_ERR(open_by_handle_at(proc, (struct file_handle *)8, O_RDONLY), EFAULT);
    CHECK_ERR(open_by_handle_at(999, &h.h, O_RDONLY), EBADF);
    int opath = CHECK_OK(open("/proc", O_PATH));
    CHECK_ERR(open_by_handle_at(opath, &h.h, O_RDONLY), EBADF);

    /* Without CAP_DAC_READ_SEARCH (and CAP_SYS_ADMIN): EPERM. */
    pid_t pid = CHECK_OK(fork());
    if (pid == 0) {
        int caps[] = {CAP_DAC_READ_SEARCH, CAP_SYS_ADMIN};
        drop_caps(caps, 2);
        CHECK_ERR(open_by_handle_at(proc, &h.h, O_RDONLY), EPERM);
        CHECK_ERR(open_by_handle_at(proc, &h.h, O_RDONLY | O_DIRECTORY), EPERM);
        /* name_to_handle_at needs no privilege. */
        CHECK_OK(name_to_handle_at(AT_FDCWD, "/proc", &h.h, &mid, AT_HANDLE_FID));
        _exit(0);
    }
    CHECK_EXITED(wait_status(pid), 0);
    return 0;
}
