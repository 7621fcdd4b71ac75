//! Directory entries and names: getdents64, mkdir, rmdir, unlink, rename,
//! link, symlink, readlink and mknod, with their `*at` forms.

use std::sync::Arc;

use nix::errno::Errno;

use super::path::{check_dir_writable, check_sticky, resolve_at, resolve_parent_at, Ids};
use super::{ok, Args, SysResult};
use crate::kernel::ctx::TaskCtx;
use crate::kernel::task::lock;
use crate::vfs::{same_inode, Dentry, Inode, Stat, RENAME_EXCHANGE, RENAME_NOREPLACE};

/// `RENAME_WHITEOUT` (overlayfs-only; rejected like on tmpfs).
const RENAME_WHITEOUT: u32 = 4;
/// Header of a `struct linux_dirent64`: ino, off, reclen, type.
const DIRENT64_HEADER: usize = 8 + 8 + 2 + 1;

/// Whether `name` is one of the names no directory entry has: empty (the
/// path was `/`), `.` or `..`.
fn is_special(name: &[u8]) -> bool {
    name.is_empty() || name == b"." || name == b".."
}

/// The entry called `name` in `dir`, mounts crossed (`None` if missing).
fn lookup(t: &TaskCtx, dir: &Dentry, name: &[u8]) -> Result<Option<Arc<dyn Inode>>, Errno> {
    match dir.inode.lookup(name) {
        Ok(i) => Ok(Some(t.kernel().vfs.cross_mounts(i))),
        Err(Errno::ENOENT) => Ok(None),
        Err(e) => Err(e),
    }
}

// ---------------------------------------------------------------------------
// getdents64

fn dirent64(out: &mut Vec<u8>, ino: u64, off: u64, kind: u8, name: &[u8]) -> usize {
    let reclen = (DIRENT64_HEADER + name.len() + 1).next_multiple_of(8);
    let start = out.len();
    out.extend_from_slice(&ino.to_le_bytes());
    out.extend_from_slice(&off.to_le_bytes());
    out.extend_from_slice(&u16::try_from(reclen).unwrap_or(u16::MAX).to_le_bytes());
    out.push(kind);
    out.extend_from_slice(name);
    out.resize(start + reclen, 0);
    reclen
}

pub fn sys_getdents64(t: &mut TaskCtx, a: &Args) -> SysResult {
    let f = t.fds().get(a.fd(0)?)?;
    let count = a.usize(2);
    if f.flags() & libc::O_PATH != 0 {
        return Err(Errno::EBADF);
    }
    let d = f.dentry.clone().ok_or(Errno::ENOTDIR)?;
    let st = d.inode.stat()?;
    if !st.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    if st.nlink == 0 {
        return Err(Errno::ENOENT); // the directory was removed
    }
    let parent_ino = match &d.parent {
        Some(p) => p.inode.stat()?.ino,
        None => st.ino,
    };
    let mut pos = lock(&f.pos);
    let listing = {
        let mut snap = lock(&f.dir_snapshot);
        match snap.as_ref() {
            Some(l) if *pos != 0 => l.clone(),
            _ => {
                let l = Arc::new(f.ops.readdir()?);
                *snap = Some(l.clone());
                l
            }
        }
    };
    let mut entries = vec![
        (b".".to_vec(), st.ino, libc::DT_DIR),
        (b"..".to_vec(), parent_ino, libc::DT_DIR),
    ];
    entries.extend(listing.iter().map(|e| (e.name.clone(), e.ino, e.kind)));

    let start = usize::try_from(*pos).unwrap_or(usize::MAX);
    let mut buf = Vec::new();
    let mut next = start;
    for (name, ino, kind) in entries.iter().skip(start) {
        let reclen = (DIRENT64_HEADER + name.len() + 1).next_multiple_of(8);
        if buf.len() + reclen > count {
            if buf.is_empty() {
                return Err(Errno::EINVAL);
            }
            break;
        }
        next += 1;
        dirent64(&mut buf, *ino, next as u64, *kind, name);
    }
    t.copy_out(a.u64(1), &buf)?;
    *pos = next as u64;
    ok(buf.len())
}

// ---------------------------------------------------------------------------
// mkdir, mknod

fn do_mkdir(t: &mut TaskCtx, dirfd: i32, path: &[u8], mode: u32) -> SysResult {
    let ids = Ids::fs(t);
    let (dir, name, _trailing) = resolve_parent_at(t, dirfd, path)?;
    if is_special(&name) || lookup(t, &dir, &name)?.is_some() {
        return Err(Errno::EEXIST);
    }
    check_dir_writable(&ids, &dir)?;
    let mode = mode & 0o1777 & !t.fs().umask;
    let child = dir.inode.mkdir(&name, mode, ids.uid, ids.gid)?;
    crate::vfs::inotify::created(&dir.inode, &name, &child);
    ok(0)
}

pub fn sys_mkdir(t: &mut TaskCtx, a: &Args) -> SysResult {
    let path = t.read_path(a.u64(0))?;
    do_mkdir(t, libc::AT_FDCWD, &path, a.u32(1))
}

pub fn sys_mkdirat(t: &mut TaskCtx, a: &Args) -> SysResult {
    let path = t.read_path(a.u64(1))?;
    do_mkdir(t, a.i32(0), &path, a.u32(2))
}

fn do_mknod(t: &mut TaskCtx, dirfd: i32, path: &[u8], mode: u32, dev: u32) -> SysResult {
    let fmt = match mode & libc::S_IFMT {
        0 => libc::S_IFREG,
        f @ (libc::S_IFREG | libc::S_IFCHR | libc::S_IFBLK | libc::S_IFIFO | libc::S_IFSOCK) => f,
        libc::S_IFDIR => return Err(Errno::EPERM),
        _ => return Err(Errno::EINVAL),
    };
    let ids = Ids::fs(t);
    let (dir, name, trailing) = resolve_parent_at(t, dirfd, path)?;
    if is_special(&name) || lookup(t, &dir, &name)?.is_some() {
        return Err(Errno::EEXIST);
    }
    if trailing {
        return Err(Errno::ENOENT);
    }
    if matches!(fmt, libc::S_IFCHR | libc::S_IFBLK) && !ids.has(super::caps::CAP_MKNOD) {
        return Err(Errno::EPERM); // CAP_MKNOD
    }
    check_dir_writable(&ids, &dir)?;
    let perm = mode & 0o7777 & !t.fs().umask;
    let child = dir
        .inode
        .mknod(&name, fmt | perm, u64::from(dev), ids.uid, ids.gid)?;
    crate::vfs::inotify::created(&dir.inode, &name, &child);
    ok(0)
}

pub fn sys_mknod(t: &mut TaskCtx, a: &Args) -> SysResult {
    let path = t.read_path(a.u64(0))?;
    do_mknod(t, libc::AT_FDCWD, &path, a.u32(1), a.u32(2))
}

pub fn sys_mknodat(t: &mut TaskCtx, a: &Args) -> SysResult {
    let path = t.read_path(a.u64(1))?;
    do_mknod(t, a.i32(0), &path, a.u32(2), a.u32(3))
}

// ---------------------------------------------------------------------------
// rmdir, unlink

/// The permission checks for removing `victim` from `dir`.
fn may_delete(ids: &Ids, dir: &Dentry, victim: &Stat) -> Result<(), Errno> {
    let dir_st = check_dir_writable(ids, dir)?;
    check_sticky(ids, &dir_st, victim)
}

fn do_rmdir(t: &mut TaskCtx, dirfd: i32, path: &[u8]) -> SysResult {
    let ids = Ids::fs(t);
    let (dir, name, _trailing) = resolve_parent_at(t, dirfd, path)?;
    match name.as_slice() {
        b"" => return Err(Errno::EBUSY),
        b"." => return Err(Errno::EINVAL),
        b".." => return Err(Errno::ENOTEMPTY),
        _ => {}
    }
    let raw = dir.inode.lookup(&name)?;
    let st = raw.stat()?;
    may_delete(&ids, &dir, &st)?;
    if !st.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    if !same_inode(&raw, &t.kernel().vfs.cross_mounts(Arc::clone(&raw))) {
        return Err(Errno::EBUSY); // a mountpoint
    }
    dir.inode.rmdir(&name)?;
    crate::vfs::inotify::removed(&dir.inode, &name, &raw);
    ok(0)
}

fn do_unlink(t: &mut TaskCtx, dirfd: i32, path: &[u8]) -> SysResult {
    let ids = Ids::fs(t);
    let (dir, name, trailing) = resolve_parent_at(t, dirfd, path)?;
    if is_special(&name) {
        return Err(Errno::EISDIR);
    }
    let victim = dir.inode.lookup(&name)?;
    let st = victim.stat()?;
    if trailing {
        return Err(if st.is_dir() {
            Errno::EISDIR
        } else {
            Errno::ENOTDIR
        });
    }
    may_delete(&ids, &dir, &st)?;
    if st.is_dir() {
        return Err(Errno::EISDIR);
    }
    dir.inode.unlink(&name)?;
    crate::vfs::inotify::removed(&dir.inode, &name, &victim);
    ok(0)
}

pub fn sys_rmdir(t: &mut TaskCtx, a: &Args) -> SysResult {
    let path = t.read_path(a.u64(0))?;
    do_rmdir(t, libc::AT_FDCWD, &path)
}

pub fn sys_unlink(t: &mut TaskCtx, a: &Args) -> SysResult {
    let path = t.read_path(a.u64(0))?;
    do_unlink(t, libc::AT_FDCWD, &path)
}

pub fn sys_unlinkat(t: &mut TaskCtx, a: &Args) -> SysResult {
    let flags = a.i32(2);
    if flags & !libc::AT_REMOVEDIR != 0 {
        return Err(Errno::EINVAL);
    }
    let path = t.read_path(a.u64(1))?;
    if flags & libc::AT_REMOVEDIR != 0 {
        do_rmdir(t, a.i32(0), &path)
    } else {
        do_unlink(t, a.i32(0), &path)
    }
}

// ---------------------------------------------------------------------------
// rename

fn do_rename(
    t: &mut TaskCtx,
    (old_dirfd, old_path): (i32, &[u8]),
    (new_dirfd, new_path): (i32, &[u8]),
    flags: u32,
) -> SysResult {
    if flags & !(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT) != 0
        || flags & RENAME_WHITEOUT != 0
        || flags & (RENAME_NOREPLACE | RENAME_EXCHANGE) == RENAME_NOREPLACE | RENAME_EXCHANGE
    {
        return Err(Errno::EINVAL);
    }
    let ids = Ids::fs(t);
    let (od, oname, otrail) = resolve_parent_at(t, old_dirfd, old_path)?;
    let (nd, nname, ntrail) = resolve_parent_at(t, new_dirfd, new_path)?;
    if is_special(&oname) {
        return Err(Errno::EBUSY);
    }
    if is_special(&nname) {
        return Err(if flags & RENAME_NOREPLACE != 0 {
            Errno::EEXIST
        } else {
            Errno::EBUSY
        });
    }
    let old = od.inode.lookup(&oname)?;
    let old_st = old.stat()?;
    let target = lookup(t, &nd, &nname)?;
    let target_st = target.as_ref().map(|i| i.stat()).transpose()?;
    // A trailing slash demands a directory (on both names of an exchange).
    let new_must_be_dir = flags & RENAME_EXCHANGE != 0;
    if (otrail || ntrail) && !old_st.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    if new_must_be_dir && ntrail && target_st.is_some_and(|s| !s.is_dir()) {
        return Err(Errno::ENOTDIR);
    }
    may_delete(&ids, &od, &old_st)?;
    match &target_st {
        Some(s) => may_delete(&ids, &nd, s)?,
        None => {
            check_dir_writable(&ids, &nd)?;
        }
    }
    for inode in [Some(&old), target.as_ref()].into_iter().flatten() {
        if !same_inode(inode, &t.kernel().vfs.cross_mounts(Arc::clone(inode))) {
            return Err(Errno::EBUSY); // a mountpoint
        }
    }
    od.inode.rename(&oname, &nd.inode, &nname, flags)?;
    let names = ((&od.inode, &oname[..]), (&nd.inode, &nname[..]));
    crate::vfs::inotify::renamed(names.0, names.1, &old, target.as_ref());
    ok(0)
}

pub fn sys_rename(t: &mut TaskCtx, a: &Args) -> SysResult {
    let old = t.read_path(a.u64(0))?;
    let new = t.read_path(a.u64(1))?;
    do_rename(t, (libc::AT_FDCWD, &old), (libc::AT_FDCWD, &new), 0)
}

pub fn sys_renameat(t: &mut TaskCtx, a: &Args) -> SysResult {
    let old = t.read_path(a.u64(1))?;
    let new = t.read_path(a.u64(3))?;
    do_rename(t, (a.i32(0), &old), (a.i32(2), &new), 0)
}

pub fn sys_renameat2(t: &mut TaskCtx, a: &Args) -> SysResult {
    let old = t.read_path(a.u64(1))?;
    let new = t.read_path(a.u64(3))?;
    do_rename(t, (a.i32(0), &old), (a.i32(2), &new), a.u32(4))
}

// ---------------------------------------------------------------------------
// link, symlink, readlink

/// Checks that `name` can be created in `dir`: not taken, no trailing slash.
fn check_new_name(t: &TaskCtx, dir: &Dentry, name: &[u8], trailing: bool) -> Result<(), Errno> {
    if is_special(name) || lookup(t, dir, name)?.is_some() {
        return Err(Errno::EEXIST);
    }
    if trailing {
        return Err(Errno::ENOENT);
    }
    Ok(())
}

fn do_link(
    t: &mut TaskCtx,
    (old_dirfd, old_path): (i32, &[u8]),
    (new_dirfd, new_path): (i32, &[u8]),
    flags: i32,
) -> SysResult {
    if flags & !(libc::AT_SYMLINK_FOLLOW | libc::AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let ids = Ids::fs(t);
    let follow = flags & libc::AT_SYMLINK_FOLLOW != 0;
    let empty = flags & libc::AT_EMPTY_PATH != 0;
    let target = resolve_at(t, old_dirfd, old_path, follow, empty)?;
    let (dir, name, trailing) = resolve_parent_at(t, new_dirfd, new_path)?;
    check_new_name(t, &dir, &name, trailing)?;
    check_dir_writable(&ids, &dir)?;
    if target.is_dir() {
        return Err(Errno::EPERM);
    }
    dir.inode.link(&name, &target.inode)?;
    crate::vfs::inotify::created(&dir.inode, &name, &target.inode);
    ok(0)
}

pub fn sys_link(t: &mut TaskCtx, a: &Args) -> SysResult {
    let old = t.read_path(a.u64(0))?;
    let new = t.read_path(a.u64(1))?;
    do_link(t, (libc::AT_FDCWD, &old), (libc::AT_FDCWD, &new), 0)
}

pub fn sys_linkat(t: &mut TaskCtx, a: &Args) -> SysResult {
    let old = t.read_path(a.u64(1))?;
    let new = t.read_path(a.u64(3))?;
    do_link(t, (a.i32(0), &old), (a.i32(2), &new), a.i32(4))
}

fn do_symlink(t: &mut TaskCtx, target: &[u8], dirfd: i32, path: &[u8]) -> SysResult {
    if target.is_empty() {
        return Err(Errno::ENOENT);
    }
    let ids = Ids::fs(t);
    let (dir, name, trailing) = resolve_parent_at(t, dirfd, path)?;
    check_new_name(t, &dir, &name, trailing)?;
    check_dir_writable(&ids, &dir)?;
    let child = dir.inode.symlink(&name, target, ids.uid, ids.gid)?;
    crate::vfs::inotify::created(&dir.inode, &name, &child);
    ok(0)
}

pub fn sys_symlink(t: &mut TaskCtx, a: &Args) -> SysResult {
    let target = t.read_path(a.u64(0))?;
    let path = t.read_path(a.u64(1))?;
    do_symlink(t, &target, libc::AT_FDCWD, &path)
}

pub fn sys_symlinkat(t: &mut TaskCtx, a: &Args) -> SysResult {
    let target = t.read_path(a.u64(0))?;
    let path = t.read_path(a.u64(2))?;
    do_symlink(t, &target, a.i32(1), &path)
}

fn do_readlink(t: &mut TaskCtx, dirfd: i32, path: &[u8], buf: u64, size: i32) -> SysResult {
    let size = usize::try_from(size)
        .ok()
        .filter(|&n| n > 0)
        .ok_or(Errno::EINVAL)?;
    // An empty path names dirfd itself (an O_PATH|O_NOFOLLOW symlink).
    let d = resolve_at(t, dirfd, path, false, true)?;
    let target = match d.inode.readlink() {
        Err(Errno::EINVAL) if path.is_empty() => return Err(Errno::ENOENT),
        r => r?,
    };
    let n = target.len().min(size);
    t.copy_out(buf, &target[..n])?;
    ok(n)
}

pub fn sys_readlink(t: &mut TaskCtx, a: &Args) -> SysResult {
    let path = t.read_path(a.u64(0))?;
    do_readlink(t, libc::AT_FDCWD, &path, a.u64(1), a.i32(2))
}

pub fn sys_readlinkat(t: &mut TaskCtx, a: &Args) -> SysResult {
    let path = t.read_path(a.u64(1))?;
    do_readlink(t, a.i32(0), &path, a.u64(2), a.i32(3))
}
