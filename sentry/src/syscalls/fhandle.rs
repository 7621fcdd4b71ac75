//! name_to_handle_at and open_by_handle_at (Linux's `fs/fhandle.c`).
//!
//! None of the sandbox's filesystems can turn a handle back into a file:
//! like Linux's procfs they have no export operations (as in gVisor, an
//! inode has no identity that would outlive it). So asking for a handle
//! to open later is `EOPNOTSUPP`, and `open_by_handle_at` ends in `ESTALE`
//! once Linux's argument and permission checks pass. `AT_HANDLE_FID` asks
//! only for an identifier, which Linux encodes for a filesystem without
//! export operations from the inode number (`FILEID_INO64_GEN`); so do we.

use nix::errno::Errno;

use super::caps::{self, CAP_DAC_READ_SEARCH, CAP_SYS_ADMIN};
use super::path::resolve_at;
use super::{ok, Args, SysResult};
use crate::kernel::ctx::TaskCtx;

/// `MAX_HANDLE_SZ`: the most bytes of `f_handle` a handle may have.
const MAX_HANDLE_SZ: u32 = 128;
const AT_HANDLE_MNT_ID_UNIQUE: i32 = 0x001;
const AT_HANDLE_CONNECTABLE: i32 = 0x002;
const AT_HANDLE_FID: i32 = 0x200;
/// A 64-bit inode number and a 32-bit generation.
const FILEID_INO64_GEN: i32 = 0x81;
/// The type reported with `EOVERFLOW`.
const FILEID_INVALID: i32 = 0xff;
/// The high bits of a handle type a caller may pass back
/// (`FILEID_IS_CONNECTABLE`, `FILEID_IS_DIR`).
const FILEID_VALID_USER_FLAGS: u32 = 0x3_0000;
/// `struct file_handle` before `f_handle`: `handle_bytes`, `handle_type`.
const HEADER: u64 = 8;

/// Reads a `struct file_handle` header: (`handle_bytes`, `handle_type`).
fn read_header(t: &TaskCtx, addr: u64) -> Result<(u32, i32), Errno> {
    let bytes: u32 = t.read_obj(addr)?;
    let kind: i32 = t.read_obj(addr.checked_add(4).ok_or(Errno::EFAULT)?)?;
    Ok((bytes, kind))
}

pub fn sys_name_to_handle_at(t: &mut TaskCtx, a: &Args) -> SysResult {
    let (dirfd, handle, mnt_id, flags) = (a.i32(0), a.u64(2), a.u64(3), a.i32(4));
    let known = libc::AT_SYMLINK_FOLLOW
        | libc::AT_EMPTY_PATH
        | AT_HANDLE_FID
        | AT_HANDLE_MNT_ID_UNIQUE
        | AT_HANDLE_CONNECTABLE;
    if flags & !known != 0 {
        return Err(Errno::EINVAL);
    }
    // A connectable handle needs a known parent, which a FID or an fd
    // named by AT_EMPTY_PATH does not promise.
    if flags & AT_HANDLE_CONNECTABLE != 0 && flags & (AT_HANDLE_FID | libc::AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let path = t.read_path(a.u64(1))?;
    let follow = flags & libc::AT_SYMLINK_FOLLOW != 0;
    let d = resolve_at(t, dirfd, &path, follow, flags & libc::AT_EMPTY_PATH != 0)?;
    if flags & AT_HANDLE_FID == 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    let (room, _) = read_header(t, handle)?;
    if room > MAX_HANDLE_SZ {
        return Err(Errno::EINVAL);
    }
    // Our inodes have no generation numbers: 0, as procfs's.
    let mut fid = d.inode.stat()?.ino.to_ne_bytes().to_vec();
    fid.extend_from_slice(&0u32.to_ne_bytes());
    let need = u32::try_from(fid.len()).map_err(|_| Errno::EINVAL)?;
    let fits = room >= need;
    let id = t.kernel().vfs.mount_id(&d.path());
    if flags & AT_HANDLE_MNT_ID_UNIQUE != 0 {
        t.write_obj(mnt_id, &u64::from(id))?;
    } else {
        t.write_obj(mnt_id, &i32::try_from(id).map_err(|_| Errno::EOVERFLOW)?)?;
    }
    // Too small a buffer still learns the size it needs.
    let mut out = need.to_ne_bytes().to_vec();
    let kind = if fits {
        FILEID_INO64_GEN
    } else {
        FILEID_INVALID
    };
    out.extend_from_slice(&kind.to_ne_bytes());
    if fits {
        out.extend_from_slice(&fid);
    }
    t.copy_out(handle, &out)?;
    if !fits {
        return Err(Errno::EOVERFLOW);
    }
    ok(0)
}

pub fn sys_open_by_handle_at(t: &mut TaskCtx, a: &Args) -> SysResult {
    let (mount_fd, handle, flags) = (a.i32(0), a.u64(1), a.i32(2));
    let (bytes, kind) = read_header(t, handle)?;
    if bytes == 0 || bytes > MAX_HANDLE_SZ {
        return Err(Errno::EINVAL);
    }
    if kind < 0 || kind.cast_unsigned() & 0xffff_0000 & !FILEID_VALID_USER_FLAGS != 0 {
        return Err(Errno::EINVAL);
    }
    // The anchor must be an open file (not O_PATH) or the cwd.
    if mount_fd >= 0 {
        if t.fds().get(mount_fd)?.flags() & libc::O_PATH != 0 {
            return Err(Errno::EBADF);
        }
    } else if mount_fd != libc::AT_FDCWD {
        return Err(Errno::EBADF);
    }
    // Linux's may_decode_fh: without CAP_DAC_READ_SEARCH, only a directory
    // open by someone who could mount the filesystem.
    let relaxed = flags & libc::O_DIRECTORY != 0 && caps::has(t, CAP_SYS_ADMIN);
    if !caps::has(t, CAP_DAC_READ_SEARCH) && !relaxed {
        return Err(Errno::EPERM);
    }
    let body = handle.checked_add(HEADER).ok_or(Errno::EFAULT)?;
    t.copy_in_vec(body, usize::try_from(bytes).map_err(|_| Errno::EINVAL)?)?;
    Err(Errno::ESTALE)
}
