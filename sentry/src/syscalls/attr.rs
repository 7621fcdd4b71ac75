//! File attributes and the per-process filesystem context: chmod, chown,
//! utimensat and friends, access, truncate, the sync calls, chdir,
//! getcwd and chroot.

use std::sync::Arc;

use nix::errno::Errno;

use super::path::{empty_path_file, resolve_at, resolve_at_as, Ids, MAY_EXEC, MAY_WRITE};
use super::{ok, Args, SysResult};
use crate::kernel::ctx::TaskCtx;
use crate::kernel::task::lock;
use crate::vfs::{Dentry, OpenFile, SetAttr, TimeSet, Timespec};

/// `UTIME_NOW` / `UTIME_OMIT` in a timespec's nanoseconds.
const UTIME_NOW: i64 = (1 << 30) - 1;
const UTIME_OMIT: i64 = (1 << 30) - 2;
const NSEC_PER_SEC: i64 = 1_000_000_000;

/// The dentry behind an fd for the f* calls (`EBADF` for `O_PATH`).
fn fd_dentry(t: &TaskCtx, fd: i32) -> Result<(Arc<OpenFile>, Option<Arc<Dentry>>), Errno> {
    let f = t.fds().get(fd)?;
    if f.flags() & libc::O_PATH != 0 {
        return Err(Errno::EBADF);
    }
    let d = f.dentry.clone();
    Ok((f, d))
}

// ---------------------------------------------------------------------------
// chmod, chown

fn chmod_dentry(t: &TaskCtx, d: &Dentry, mode: u32) -> SysResult {
    let ids = Ids::fs(t);
    let st = d.inode.stat()?;
    if !ids.owns(&st) {
        return Err(Errno::EPERM);
    }
    let mut mode = mode & 0o7777;
    // Only members of the file's group (or root) may set setgid.
    if !ids.has(super::caps::CAP_FSETID) && !ids.in_group(st.gid) {
        mode &= !libc::S_ISGID;
    }
    d.inode.setattr(&SetAttr {
        mode: Some(mode),
        ..SetAttr::default()
    })?;
    crate::vfs::inotify::attrib(d);
    ok(0)
}

pub fn sys_chmod(t: &mut TaskCtx, a: &Args) -> SysResult {
    let path = t.read_path(a.u64(0))?;
    let d = resolve_at(t, libc::AT_FDCWD, &path, true, false)?;
    chmod_dentry(t, &d, a.u32(1))
}

pub fn sys_fchmod(t: &mut TaskCtx, a: &Args) -> SysResult {
    match fd_dentry(t, a.fd(0)?)? {
        (_, Some(d)) => chmod_dentry(t, &d, a.u32(1)),
        // Pipes and sockets: their anonymous inodes take any mode.
        (_, None) => ok(0),
    }
}

pub fn sys_fchmodat(t: &mut TaskCtx, a: &Args) -> SysResult {
    let path = t.read_path(a.u64(1))?;
    let d = resolve_at(t, a.i32(0), &path, true, false)?;
    chmod_dentry(t, &d, a.u32(2))
}

fn chown_dentry(t: &TaskCtx, d: &Dentry, uid: u32, gid: u32) -> SysResult {
    let ids = Ids::fs(t);
    let st = d.inode.stat()?;
    let uid = (uid != u32::MAX).then_some(uid);
    let gid = (gid != u32::MAX).then_some(gid);
    if !ids.has(super::caps::CAP_CHOWN) {
        // Without CAP_CHOWN: only the owner, only to its own uid, and only
        // to a group it belongs to.
        let uid_ok = uid.is_none_or(|u| u == st.uid && u == ids.uid);
        let gid_ok = gid.is_none_or(|g| ids.uid == st.uid && (g == st.gid || ids.in_group(g)));
        if !uid_ok || !gid_ok {
            return Err(Errno::EPERM);
        }
    }
    let mut attr = SetAttr {
        uid,
        gid,
        ..SetAttr::default()
    };
    // Changing the owner of a non-directory drops setuid, and setgid when
    // it means "group-executable" (as Linux's should_remove_suid).
    if (uid.is_some() || gid.is_some()) && !st.is_dir() && st.file_type() == libc::S_IFREG {
        let mut mode = st.mode & 0o7777 & !libc::S_ISUID;
        if st.mode & libc::S_IXGRP != 0 {
            mode &= !libc::S_ISGID;
        }
        if mode != st.mode & 0o7777 {
            attr.mode = Some(mode);
        }
    }
    d.inode.setattr(&attr)?;
    crate::vfs::inotify::attrib(d);
    ok(0)
}

pub fn sys_chown(t: &mut TaskCtx, a: &Args) -> SysResult {
    let path = t.read_path(a.u64(0))?;
    let d = resolve_at(t, libc::AT_FDCWD, &path, true, false)?;
    chown_dentry(t, &d, a.u32(1), a.u32(2))
}

pub fn sys_lchown(t: &mut TaskCtx, a: &Args) -> SysResult {
    let path = t.read_path(a.u64(0))?;
    let d = resolve_at(t, libc::AT_FDCWD, &path, false, false)?;
    chown_dentry(t, &d, a.u32(1), a.u32(2))
}

pub fn sys_fchown(t: &mut TaskCtx, a: &Args) -> SysResult {
    match fd_dentry(t, a.fd(0)?)? {
        (_, Some(d)) => chown_dentry(t, &d, a.u32(1), a.u32(2)),
        (_, None) => ok(0),
    }
}

pub fn sys_fchownat(t: &mut TaskCtx, a: &Args) -> SysResult {
    let flags = a.i32(4);
    if flags & !(libc::AT_SYMLINK_NOFOLLOW | libc::AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let path = t.read_path(a.u64(1))?;
    let follow = flags & libc::AT_SYMLINK_NOFOLLOW == 0;
    let d = resolve_at(t, a.i32(0), &path, follow, flags & libc::AT_EMPTY_PATH != 0)?;
    chown_dentry(t, &d, a.u32(2), a.u32(3))
}

// ---------------------------------------------------------------------------
// utimensat, utimes, utime, futimesat

/// `None` means "both now" (a NULL times pointer); each `None` inside
/// means `UTIME_OMIT`.
type Times = Option<[Option<TimeSet>; 2]>;

fn read_timespecs(t: &TaskCtx, addr: u64) -> Result<Times, Errno> {
    if addr == 0 {
        return Ok(None);
    }
    let mut out = [None, None];
    for (i, slot) in out.iter_mut().enumerate() {
        let ts: libc::timespec = t.read_obj(addr + 16 * i as u64)?;
        *slot = match ts.tv_nsec {
            UTIME_NOW => Some(TimeSet::Now),
            UTIME_OMIT => None,
            n if (0..NSEC_PER_SEC).contains(&n) => Some(TimeSet::At(Timespec {
                sec: ts.tv_sec,
                nsec: n,
            })),
            _ => return Err(Errno::EINVAL),
        };
    }
    Ok(Some(out))
}

fn read_timevals(t: &TaskCtx, addr: u64) -> Result<Times, Errno> {
    if addr == 0 {
        return Ok(None);
    }
    let mut out = [None, None];
    for (i, slot) in out.iter_mut().enumerate() {
        let tv: libc::timeval = t.read_obj(addr + 16 * i as u64)?;
        if !(0..1_000_000).contains(&tv.tv_usec) {
            return Err(Errno::EINVAL);
        }
        *slot = Some(TimeSet::At(Timespec {
            sec: tv.tv_sec,
            nsec: tv.tv_usec * 1000,
        }));
    }
    Ok(Some(out))
}

/// Sets the times of `d` with Linux's permission rules: explicit times
/// need ownership (`EPERM`); "now" needs ownership or write access
/// (`EACCES`).
fn set_times(t: &TaskCtx, d: &Dentry, times: Times) -> SysResult {
    let [atime, mtime] = times.unwrap_or([Some(TimeSet::Now), Some(TimeSet::Now)]);
    if atime.is_none() && mtime.is_none() {
        return ok(0);
    }
    let ids = Ids::fs(t);
    let st = d.inode.stat()?;
    let explicit = [atime, mtime]
        .iter()
        .any(|x| matches!(x, Some(TimeSet::At(_))));
    if !ids.owns(&st) {
        if explicit {
            return Err(Errno::EPERM);
        }
        ids.check(&st, MAY_WRITE)?;
    }
    d.inode.setattr(&SetAttr {
        atime,
        mtime,
        ..SetAttr::default()
    })?;
    crate::vfs::inotify::attrib(d);
    ok(0)
}

/// The common tail of the utime family: `path == 0` means `dirfd` itself.
fn utimes_at(t: &TaskCtx, dirfd: i32, path_addr: u64, times: Times, flags: i32) -> SysResult {
    if path_addr == 0 {
        if dirfd == libc::AT_FDCWD {
            return Err(Errno::EFAULT);
        }
        if flags & libc::AT_SYMLINK_NOFOLLOW != 0 {
            return Err(Errno::EINVAL);
        }
        return match t.fds().get(dirfd)?.dentry.clone() {
            Some(d) => set_times(t, &d, times),
            None => ok(0),
        };
    }
    let path = t.read_path(path_addr)?;
    let follow = flags & libc::AT_SYMLINK_NOFOLLOW == 0;
    let d = resolve_at(t, dirfd, &path, follow, flags & libc::AT_EMPTY_PATH != 0)?;
    set_times(t, &d, times)
}

pub fn sys_utimensat(t: &mut TaskCtx, a: &Args) -> SysResult {
    let flags = a.i32(3);
    if flags & !(libc::AT_SYMLINK_NOFOLLOW | libc::AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let times = read_timespecs(t, a.u64(2))?;
    utimes_at(t, a.i32(0), a.u64(1), times, flags)
}

pub fn sys_utimes(t: &mut TaskCtx, a: &Args) -> SysResult {
    let times = read_timevals(t, a.u64(1))?;
    if a.u64(0) == 0 {
        return Err(Errno::EFAULT);
    }
    utimes_at(t, libc::AT_FDCWD, a.u64(0), times, 0)
}

pub fn sys_futimesat(t: &mut TaskCtx, a: &Args) -> SysResult {
    let times = read_timevals(t, a.u64(2))?;
    utimes_at(t, a.i32(0), a.u64(1), times, 0)
}

pub fn sys_utime(t: &mut TaskCtx, a: &Args) -> SysResult {
    let addr = a.u64(1);
    let times = if addr == 0 {
        None
    } else {
        let actime: i64 = t.read_obj(addr)?;
        let modtime: i64 = t.read_obj(addr + 8)?;
        let at = |sec| Some(TimeSet::At(Timespec { sec, nsec: 0 }));
        Some([at(actime), at(modtime)])
    };
    if a.u64(0) == 0 {
        return Err(Errno::EFAULT);
    }
    utimes_at(t, libc::AT_FDCWD, a.u64(0), times, 0)
}

// ---------------------------------------------------------------------------
// access

fn do_access(t: &TaskCtx, dirfd: i32, path: &[u8], mode: i32, flags: i32) -> SysResult {
    let valid = libc::AT_EACCESS | libc::AT_SYMLINK_NOFOLLOW | libc::AT_EMPTY_PATH;
    if mode & !(libc::R_OK | libc::W_OK | libc::X_OK) != 0 || flags & !valid != 0 {
        return Err(Errno::EINVAL);
    }
    let ids = if flags & libc::AT_EACCESS != 0 {
        Ids::fs(t)
    } else {
        Ids::real(t)
    };
    let follow = flags & libc::AT_SYMLINK_NOFOLLOW == 0;
    let empty = flags & libc::AT_EMPTY_PATH != 0;
    let st = if path.is_empty() && empty {
        match empty_path_file(t, dirfd)? {
            Some(f) => f.stat()?,
            None => t.fs().cwd.inode.stat()?,
        }
    } else {
        resolve_at_as(t, &ids, dirfd, path, follow, empty)?
            .inode
            .stat()?
    };
    let mask = u32::try_from(mode).unwrap_or(0);
    ids.check(&st, mask)?;
    ok(0)
}

pub fn sys_access(t: &mut TaskCtx, a: &Args) -> SysResult {
    let path = t.read_path(a.u64(0))?;
    do_access(t, libc::AT_FDCWD, &path, a.i32(1), 0)
}

pub fn sys_faccessat(t: &mut TaskCtx, a: &Args) -> SysResult {
    let path = t.read_path(a.u64(1))?;
    do_access(t, a.i32(0), &path, a.i32(2), 0)
}

pub fn sys_faccessat2(t: &mut TaskCtx, a: &Args) -> SysResult {
    let path = t.read_path(a.u64(1))?;
    do_access(t, a.i32(0), &path, a.i32(2), a.i32(3))
}

// ---------------------------------------------------------------------------
// truncate, sync

pub fn sys_truncate(t: &mut TaskCtx, a: &Args) -> SysResult {
    let path = t.read_path(a.u64(0))?;
    let len = u64::try_from(a.i64(1)).map_err(|_| Errno::EINVAL)?;
    let d = resolve_at(t, libc::AT_FDCWD, &path, true, false)?;
    let st = d.inode.stat()?;
    if st.is_dir() {
        return Err(Errno::EISDIR);
    }
    if st.file_type() != libc::S_IFREG {
        return Err(Errno::EINVAL);
    }
    Ids::fs(t).check(&st, MAY_WRITE)?;
    d.inode.setattr(&SetAttr {
        size: Some(len),
        ..SetAttr::default()
    })?;
    ok(0)
}

pub fn sys_ftruncate(t: &mut TaskCtx, a: &Args) -> SysResult {
    let len = a.i64(1);
    let (f, _) = fd_dentry(t, a.fd(0)?)?;
    let len = u64::try_from(len).map_err(|_| Errno::EINVAL)?;
    if !f.writable() {
        return Err(Errno::EINVAL);
    }
    f.ops.truncate(len)?;
    ok(0)
}

/// fsync and fdatasync: files with no fsync of their own (pipes,
/// sockets, terminals) give `EINVAL`.
pub fn sys_fsync(t: &mut TaskCtx, a: &Args) -> SysResult {
    let (f, d) = fd_dentry(t, a.fd(0)?)?;
    if d.is_none() && f.stat()?.file_type() != libc::S_IFREG {
        return Err(Errno::EINVAL);
    }
    f.ops.fsync()?;
    ok(0)
}

pub fn sys_syncfs(t: &mut TaskCtx, a: &Args) -> SysResult {
    t.fds().get(a.fd(0)?)?;
    ok(0)
}

/// Everything lives in the sentry's memory or behind the gofer, which
/// writes through: there is nothing to flush.
pub fn sys_sync(_t: &mut TaskCtx, _a: &Args) -> SysResult {
    ok(0)
}

pub fn sys_sync_file_range(t: &mut TaskCtx, a: &Args) -> SysResult {
    const VALID: u32 = 1 | 2 | 4; // WAIT_BEFORE | WRITE | WAIT_AFTER
    let (off, n, flags) = (a.i64(1), a.i64(2), a.u32(3));
    if flags & !VALID != 0 || off < 0 || n < 0 || off.checked_add(n).is_none() {
        return Err(Errno::EINVAL);
    }
    let (f, _) = fd_dentry(t, a.fd(0)?)?;
    let ft = f.stat()?.file_type();
    if ft != libc::S_IFREG && ft != libc::S_IFDIR && ft != libc::S_IFBLK && ft != libc::S_IFLNK {
        return Err(Errno::ESPIPE);
    }
    ok(0)
}

// ---------------------------------------------------------------------------
// chdir, fchdir, getcwd, chroot

/// A directory the caller may enter (`ENOTDIR`, `EACCES`).
fn check_enterable(t: &TaskCtx, d: &Dentry) -> Result<(), Errno> {
    let st = d.inode.stat()?;
    if !st.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    Ids::fs(t).check(&st, MAY_EXEC)
}

pub fn sys_chdir(t: &mut TaskCtx, a: &Args) -> SysResult {
    let path = t.read_path(a.u64(0))?;
    let d = resolve_at(t, libc::AT_FDCWD, &path, true, false)?;
    check_enterable(t, &d)?;
    lock(&t.tg().fs).cwd = d;
    ok(0)
}

pub fn sys_fchdir(t: &mut TaskCtx, a: &Args) -> SysResult {
    let f = t.fds().get(a.fd(0)?)?;
    let d = f.dentry.clone().ok_or(Errno::ENOTDIR)?;
    check_enterable(t, &d)?;
    lock(&t.tg().fs).cwd = d;
    ok(0)
}

pub fn sys_getcwd(t: &mut TaskCtx, a: &Args) -> SysResult {
    let fs = t.fs();
    if fs.cwd.inode.stat()?.nlink == 0 {
        return Err(Errno::ENOENT); // the cwd was removed
    }
    let mut path = fs.cwd.path_within(&fs.root);
    path.push(0);
    if path.len() > a.usize(1) {
        return Err(Errno::ERANGE);
    }
    t.copy_out(a.u64(0), &path)?;
    ok(path.len())
}

pub fn sys_chroot(t: &mut TaskCtx, a: &Args) -> SysResult {
    let path = t.read_path(a.u64(0))?;
    let d = resolve_at(t, libc::AT_FDCWD, &path, true, false)?;
    check_enterable(t, &d)?;
    if !Ids::fs(t).has(super::caps::CAP_SYS_CHROOT) {
        return Err(Errno::EPERM);
    }
    lock(&t.tg().fs).root = d;
    ok(0)
}
