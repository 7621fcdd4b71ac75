//! Inodes: the filesystem objects every path walk ends at.
//!
//! An [`Inode`] is shared by every dentry and open file that refers to it;
//! filesystems keep one `Arc` per file, so identity is stable. Operations
//! that a kind of inode does not support fall back to the errno Linux gives.

use std::any::Any;
use std::fmt::Debug;
use std::sync::Arc;

use nix::errno::Errno;

use super::file::FileOps;

/// `RENAME_NOREPLACE`: fail with `EEXIST` instead of replacing the target.
pub const RENAME_NOREPLACE: u32 = 1;
/// `RENAME_EXCHANGE`: atomically swap source and target.
pub const RENAME_EXCHANGE: u32 = 2;

/// Longest path component Linux accepts (`NAME_MAX`).
pub const NAME_MAX: usize = 255;

/// `struct timespec`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Timespec {
    pub sec: i64,
    pub nsec: i64,
}

impl Timespec {
    /// The current wall-clock time (`CLOCK_REALTIME`).
    pub fn now() -> Timespec {
        match nix::time::clock_gettime(nix::time::ClockId::CLOCK_REALTIME) {
            Ok(t) => Timespec {
                sec: t.tv_sec(),
                nsec: t.tv_nsec(),
            },
            // CLOCK_REALTIME cannot fail; a zero time is a harmless fallback.
            Err(_) => Timespec::default(),
        }
    }
}

impl From<gofer::Timespec> for Timespec {
    fn from(t: gofer::Timespec) -> Timespec {
        Timespec {
            sec: t.sec,
            nsec: t.nsec,
        }
    }
}

/// What `stat(2)` reports. `mode` includes the `S_IFMT` type bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stat {
    pub dev: u64,
    pub ino: u64,
    pub mode: u32,
    pub nlink: u64,
    pub uid: u32,
    pub gid: u32,
    pub rdev: u64,
    pub size: u64,
    pub blksize: u64,
    /// In 512-byte units.
    pub blocks: u64,
    pub atime: Timespec,
    pub mtime: Timespec,
    pub ctime: Timespec,
}

impl Stat {
    pub fn file_type(&self) -> u32 {
        self.mode & libc::S_IFMT
    }

    pub fn is_dir(&self) -> bool {
        self.file_type() == libc::S_IFDIR
    }

    pub fn is_symlink(&self) -> bool {
        self.file_type() == libc::S_IFLNK
    }
}

impl From<gofer::Stat> for Stat {
    fn from(s: gofer::Stat) -> Stat {
        Stat {
            dev: s.dev,
            ino: s.ino,
            mode: s.mode,
            nlink: s.nlink,
            uid: s.uid,
            gid: s.gid,
            rdev: s.rdev,
            size: u64::try_from(s.size).unwrap_or(0),
            blksize: u64::try_from(s.blksize).unwrap_or(4096),
            blocks: u64::try_from(s.blocks).unwrap_or(0),
            atime: s.atime.into(),
            mtime: s.mtime.into(),
            ctime: s.ctime.into(),
        }
    }
}

/// The `DT_*` value for a mode's file type, as `getdents64` reports it.
pub fn dt_kind(mode: u32) -> u8 {
    match mode & libc::S_IFMT {
        libc::S_IFREG => libc::DT_REG,
        libc::S_IFDIR => libc::DT_DIR,
        libc::S_IFLNK => libc::DT_LNK,
        libc::S_IFCHR => libc::DT_CHR,
        libc::S_IFBLK => libc::DT_BLK,
        libc::S_IFIFO => libc::DT_FIFO,
        libc::S_IFSOCK => libc::DT_SOCK,
        _ => libc::DT_UNKNOWN,
    }
}

/// A directory entry and what `statfs(2)` reports are the same for every
/// filesystem as for the gofer's, so the VFS uses the gofer's types and
/// passes a host answer on as it is.
pub use gofer::{DirEntry, StatFs};

/// A time to set with `utimensat`: a given time or "now" (`UTIME_NOW`).
/// `UTIME_OMIT` is `None` in [`SetAttr`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeSet {
    Now,
    At(Timespec),
}

impl TimeSet {
    pub fn resolve(self) -> Timespec {
        match self {
            TimeSet::Now => Timespec::now(),
            TimeSet::At(t) => t,
        }
    }
}

/// The attributes chmod/chown/truncate/utimensat change; `None` leaves one
/// alone. `mode` holds permission bits only (the file type never changes).
/// ctime is always updated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SetAttr {
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub size: Option<u64>,
    pub atime: Option<TimeSet>,
    pub mtime: Option<TimeSet>,
}

/// A file, directory, symlink, device node, FIFO or socket of some
/// filesystem. Names passed in are single components (no `/`); the path
/// walk handles `.` and `..` itself.
pub trait Inode: Send + Sync + Debug {
    fn stat(&self) -> Result<Stat, Errno>;

    /// The child called `name`: `ENOTDIR` on a non-directory, `ENOENT` if
    /// there is none.
    fn lookup(&self, _name: &[u8]) -> Result<Arc<dyn Inode>, Errno> {
        Err(Errno::ENOTDIR)
    }

    /// Every entry except `.` and `..`.
    fn readdir(&self) -> Result<Vec<DirEntry>, Errno> {
        Err(Errno::ENOTDIR)
    }

    /// The target of a symlink; `EINVAL` for anything else.
    fn readlink(&self) -> Result<Vec<u8>, Errno> {
        Err(Errno::EINVAL)
    }

    /// Opens the inode. `flags` are the `open(2)` flags; `O_TRUNC` is
    /// applied here, `O_CREAT`/`O_EXCL`/`O_NOFOLLOW` by the caller.
    fn open(&self, _flags: i32) -> Result<Arc<dyn FileOps>, Errno> {
        Err(Errno::ENXIO)
    }

    /// Creates a regular file (`mode` holds permission bits).
    fn create(
        &self,
        _name: &[u8],
        _mode: u32,
        _uid: u32,
        _gid: u32,
    ) -> Result<Arc<dyn Inode>, Errno> {
        Err(Errno::ENOTDIR)
    }

    fn mkdir(
        &self,
        _name: &[u8],
        _mode: u32,
        _uid: u32,
        _gid: u32,
    ) -> Result<Arc<dyn Inode>, Errno> {
        Err(Errno::ENOTDIR)
    }

    /// Creates a node; `mode` includes the file type (`S_IFCHR`, `S_IFIFO`…).
    fn mknod(
        &self,
        _name: &[u8],
        _mode: u32,
        _rdev: u64,
        _uid: u32,
        _gid: u32,
    ) -> Result<Arc<dyn Inode>, Errno> {
        Err(Errno::ENOTDIR)
    }

    fn symlink(
        &self,
        _name: &[u8],
        _target: &[u8],
        _uid: u32,
        _gid: u32,
    ) -> Result<Arc<dyn Inode>, Errno> {
        Err(Errno::ENOTDIR)
    }

    /// A new name for `target` in this directory (`EXDEV` across
    /// filesystems, `EPERM` for a directory).
    fn link(&self, _name: &[u8], _target: &Arc<dyn Inode>) -> Result<(), Errno> {
        Err(Errno::ENOTDIR)
    }

    fn unlink(&self, _name: &[u8]) -> Result<(), Errno> {
        Err(Errno::ENOTDIR)
    }

    fn rmdir(&self, _name: &[u8]) -> Result<(), Errno> {
        Err(Errno::ENOTDIR)
    }

    /// Moves `old_name` of this directory to `new_name` of `new_dir`.
    /// `flags`: [`RENAME_NOREPLACE`] | [`RENAME_EXCHANGE`].
    fn rename(
        &self,
        _old_name: &[u8],
        _new_dir: &Arc<dyn Inode>,
        _new_name: &[u8],
        _flags: u32,
    ) -> Result<(), Errno> {
        Err(Errno::ENOTDIR)
    }

    fn setattr(&self, _attr: &SetAttr) -> Result<(), Errno> {
        Err(Errno::EPERM)
    }

    fn statfs(&self) -> Result<StatFs, Errno> {
        Err(Errno::ENOSYS)
    }

    /// The value of extended attribute `name` (a full name such as
    /// `user.mime`; the syscall layer has checked the namespace and the
    /// caller's permission). `ENODATA` if unset; `EOPNOTSUPP` where the
    /// filesystem has no xattrs at all (procfs, sysfs).
    fn getxattr(&self, _name: &[u8]) -> Result<Vec<u8>, Errno> {
        Err(Errno::EOPNOTSUPP)
    }

    /// Sets `name` to `value`; `flags` is 0, `XATTR_CREATE` (`EEXIST` if
    /// set) or `XATTR_REPLACE` (`ENODATA` if unset).
    fn setxattr(&self, _name: &[u8], _value: &[u8], _flags: i32) -> Result<(), Errno> {
        Err(Errno::EOPNOTSUPP)
    }

    /// The names of every extended attribute set (unfiltered).
    fn listxattr(&self) -> Result<Vec<Vec<u8>>, Errno> {
        Ok(Vec::new())
    }

    /// Removes `name`: `ENODATA` if unset.
    fn removexattr(&self, _name: &[u8]) -> Result<(), Errno> {
        Err(Errno::EOPNOTSUPP)
    }

    /// For a "magic" symlink (`/proc/PID/fd/N`, `/proc/PID/exe`): the
    /// dentry a walk that follows it lands on, whatever `readlink` says.
    /// `link` is the link's own dentry. `None` for ordinary symlinks.
    fn magic_link(&self, _link: &Arc<super::Dentry>) -> Option<Result<Arc<super::Dentry>, Errno>> {
        None
    }

    fn as_any(&self) -> &dyn Any;
}

/// True if both point at the same inode object.
pub fn same_inode(a: &Arc<dyn Inode>, b: &Arc<dyn Inode>) -> bool {
    std::ptr::addr_eq(Arc::as_ptr(a), Arc::as_ptr(b))
}
