//! Path arguments: resolving `(dirfd, path)` pairs the way the `*at`
//! syscalls do, and the permission checks (DAC) the path syscalls share.

use std::sync::Arc;

use nix::errno::Errno;

use super::caps;
use crate::kernel::ctx::TaskCtx;
use crate::kernel::task::lock;
use crate::vfs::dentry::{resolve_checked, resolve_parent_checked};
use crate::vfs::{Dentry, FsContext, OpenFile, Stat};

/// `R_OK`, `W_OK` and `X_OK` as permission-mask bits.
pub const MAY_READ: u32 = 4;
pub const MAY_WRITE: u32 = 2;
pub const MAY_EXEC: u32 = 1;

/// The identity a permission check is made for: the filesystem ids for
/// ordinary calls, the real ids for `access(2)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ids {
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<u32>,
    /// The capabilities the check may use (see `caps.rs`).
    pub caps: u64,
}

impl Ids {
    /// The filesystem uid/gid of the caller (what creat/open/chmod use).
    pub fn fs(t: &TaskCtx) -> Ids {
        let c = lock(&t.tg().creds);
        Ids {
            uid: c.fsuid,
            gid: c.fsgid,
            groups: c.groups.clone(),
            caps: c.cap_eff,
        }
    }

    /// The real uid/gid of the caller (what `access` uses). As Linux's
    /// faccessat, a real uid of 0 checks with the permitted set, any other
    /// with no capabilities.
    pub fn real(t: &TaskCtx) -> Ids {
        let c = lock(&t.tg().creds);
        Ids {
            uid: c.uid,
            gid: c.gid,
            groups: c.groups.clone(),
            caps: if c.uid == 0 { c.cap_perm } else { 0 },
        }
    }

    /// Whether the check may use capability `cap`.
    pub fn has(&self, cap: u32) -> bool {
        cap <= caps::CAP_LAST_CAP && self.caps & (1 << cap) != 0
    }

    /// Whether every directory may be searched (CAP_DAC_READ_SEARCH or
    /// CAP_DAC_OVERRIDE).
    fn search_all(&self) -> bool {
        self.has(caps::CAP_DAC_READ_SEARCH) || self.has(caps::CAP_DAC_OVERRIDE)
    }

    pub fn in_group(&self, gid: u32) -> bool {
        self.gid == gid || self.groups.contains(&gid)
    }

    /// Whether these ids own the inode or may act as its owner
    /// (CAP_FOWNER).
    pub fn owns(&self, st: &Stat) -> bool {
        self.has(caps::CAP_FOWNER) || self.uid == st.uid
    }

    /// Whether `mask` (`MAY_*` bits) is granted on an inode with `st`:
    /// the mode bits, then the capability overrides of Linux's
    /// generic_permission.
    pub fn permits(&self, st: &Stat, mask: u32) -> bool {
        let bits = if st.uid == self.uid {
            st.mode >> 6
        } else if self.in_group(st.gid) {
            st.mode >> 3
        } else {
            st.mode
        } & 7;
        if bits & mask == mask {
            return true;
        }
        if st.is_dir() {
            return (mask & MAY_WRITE == 0 && self.has(caps::CAP_DAC_READ_SEARCH))
                || self.has(caps::CAP_DAC_OVERRIDE);
        }
        (mask == MAY_READ && self.has(caps::CAP_DAC_READ_SEARCH))
            || ((mask & MAY_EXEC == 0 || st.mode & 0o111 != 0) && self.has(caps::CAP_DAC_OVERRIDE))
    }

    /// `EACCES` unless `mask` is granted.
    pub fn check(&self, st: &Stat, mask: u32) -> Result<(), Errno> {
        if self.permits(st, mask) {
            Ok(())
        } else {
            Err(Errno::EACCES)
        }
    }
}

/// Where a relative path starts for `dirfd`: the cwd for `AT_FDCWD`,
/// else the directory the fd refers to (`EBADF`, `ENOTDIR`).
fn start_dir(t: &TaskCtx, fs: &FsContext, dirfd: i32, path: &[u8]) -> Result<Arc<Dentry>, Errno> {
    if path.first() == Some(&b'/') || dirfd == libc::AT_FDCWD {
        return Ok(Arc::clone(&fs.cwd));
    }
    let f = t.fds().get(dirfd)?;
    match &f.dentry {
        Some(d) if d.is_dir() => Ok(Arc::clone(d)),
        _ => Err(Errno::ENOTDIR),
    }
}

/// The open file `dirfd` names, for `AT_EMPTY_PATH` (the cwd's directory
/// for `AT_FDCWD` is returned as `None`).
pub fn empty_path_file(t: &TaskCtx, dirfd: i32) -> Result<Option<Arc<OpenFile>>, Errno> {
    if dirfd == libc::AT_FDCWD {
        return Ok(None);
    }
    t.fds().get(dirfd).map(Some)
}

/// Resolves `(dirfd, path)` to a dentry for the caller's filesystem ids.
/// `follow` follows a final symlink; `empty_path` (`AT_EMPTY_PATH`) makes
/// an empty path mean `dirfd` itself (else `ENOENT`).
pub fn resolve_at(
    t: &TaskCtx,
    dirfd: i32,
    path: &[u8],
    follow: bool,
    empty_path: bool,
) -> Result<Arc<Dentry>, Errno> {
    resolve_at_as(t, &Ids::fs(t), dirfd, path, follow, empty_path)
}

/// [`resolve_at`] with search permission checked for `ids`.
pub fn resolve_at_as(
    t: &TaskCtx,
    ids: &Ids,
    dirfd: i32,
    path: &[u8],
    follow: bool,
    empty_path: bool,
) -> Result<Arc<Dentry>, Errno> {
    let fs = t.fs();
    if path.is_empty() {
        if !empty_path {
            return Err(Errno::ENOENT);
        }
        return match empty_path_file(t, dirfd)? {
            None => Ok(Arc::clone(&fs.cwd)),
            // Pipes and sockets have no name to resolve to.
            Some(f) => f.dentry.clone().ok_or(Errno::ENOENT),
        };
    }
    let start = start_dir(t, &fs, dirfd, path)?;
    let vfs = &t.kernel().vfs;
    if ids.search_all() {
        resolve_checked(vfs, &fs.root, &start, path, follow, &|_| true)
    } else {
        resolve_checked(vfs, &fs.root, &start, path, follow, &|st| {
            ids.permits(st, MAY_EXEC)
        })
    }
}

/// Resolves all but the last component of `(dirfd, path)`: the directory
/// (searchable by the caller), the last name and whether the path ended
/// in `/`. See [`crate::vfs::resolve_parent`] for `.`, `..` and `/`.
pub fn resolve_parent_at(
    t: &TaskCtx,
    dirfd: i32,
    path: &[u8],
) -> Result<(Arc<Dentry>, Vec<u8>, bool), Errno> {
    let ids = Ids::fs(t);
    let fs = t.fs();
    let start = start_dir(t, &fs, dirfd, path)?;
    let vfs = &t.kernel().vfs;
    let (dir, name, trailing) = if ids.search_all() {
        resolve_parent_checked(vfs, &fs.root, &start, path, &|_| true)?
    } else {
        resolve_parent_checked(vfs, &fs.root, &start, path, &|st| ids.permits(st, MAY_EXEC))?
    };
    ids.check(&dir.inode.stat()?, MAY_EXEC)?;
    Ok((dir, name, trailing))
}

/// Checks that the caller may add or remove names in `dir`: it must be
/// writable and searchable, and still linked (`ENOENT` once removed).
pub fn check_dir_writable(ids: &Ids, dir: &Dentry) -> Result<Stat, Errno> {
    let st = dir.inode.stat()?;
    if st.nlink == 0 {
        return Err(Errno::ENOENT);
    }
    ids.check(&st, MAY_WRITE | MAY_EXEC)?;
    Ok(st)
}

/// The sticky-bit rule: in a `+t` directory only the owner of the entry,
/// the owner of the directory or CAP_FOWNER may remove or rename it
/// (`EPERM`).
pub fn check_sticky(ids: &Ids, dir_st: &Stat, victim: &Stat) -> Result<(), Errno> {
    if dir_st.mode & libc::S_ISVTX != 0
        && !ids.has(caps::CAP_FOWNER)
        && ids.uid != victim.uid
        && ids.uid != dir_st.uid
    {
        return Err(Errno::EPERM);
    }
    Ok(())
}
