//! devpts, mounted at `/dev/pts`: one `N` (char 136:N) per pty pair
//! whose master is open, plus `ptmx` (char 5:2), as Linux's single
//! devpts instance shows them.

use std::any::Any;
use std::sync::{Arc, OnceLock};

use nix::errno::Errno;
use nix::sys::stat::makedev;

use super::file::{DirFile, FileOps};
use super::inode::{DirEntry, Inode, Stat, StatFs, Timespec};
use super::tty;

/// `DEVPTS_SUPER_MAGIC`.
pub const DEVPTS_SUPER_MAGIC: i64 = 0x1cd1;

/// The device number of the devpts superblock.
fn devpts_dev() -> u64 {
    makedev(0, 0xf_ff01)
}

fn mount_time() -> Timespec {
    static T: OnceLock<Timespec> = OnceLock::new();
    *T.get_or_init(Timespec::now)
}

fn node_stat(ino: u64, mode: u32, rdev: u64, nlink: u64) -> Stat {
    let t = mount_time();
    Stat {
        dev: devpts_dev(),
        ino,
        mode,
        nlink,
        rdev,
        blksize: 1024,
        atime: t,
        mtime: t,
        ctime: t,
        ..Stat::default()
    }
}

/// The root directory of devpts.
#[derive(Debug)]
pub struct DevptsRoot;

/// `/dev/pts/ptmx` or `/dev/pts/N`.
#[derive(Debug)]
struct PtsNode {
    /// `None`: ptmx.
    index: Option<u32>,
}

/// A fresh view of the sandbox's ptys.
pub fn new_devpts() -> Arc<dyn Inode> {
    Arc::new(DevptsRoot)
}

/// The pairs devpts shows: every one whose master is open, locked or
/// not (Linux creates the node when ptmx is opened; opening a locked
/// slave gives `EIO`).
fn visible() -> Vec<u32> {
    tty::indexes()
}

impl Inode for DevptsRoot {
    fn stat(&self) -> Result<Stat, Errno> {
        Ok(node_stat(1, libc::S_IFDIR | 0o755, 0, 2))
    }

    fn lookup(&self, name: &[u8]) -> Result<Arc<dyn Inode>, Errno> {
        if name == b"ptmx" {
            return Ok(Arc::new(PtsNode { index: None }));
        }
        let index: u32 = std::str::from_utf8(name)
            .ok()
            .filter(|s| !s.starts_with('0') || s.len() == 1)
            .and_then(|s| s.parse().ok())
            .ok_or(Errno::ENOENT)?;
        if !visible().contains(&index) {
            return Err(Errno::ENOENT);
        }
        Ok(Arc::new(PtsNode { index: Some(index) }))
    }

    fn readdir(&self) -> Result<Vec<DirEntry>, Errno> {
        let mut v = vec![DirEntry {
            name: b"ptmx".to_vec(),
            ino: 2,
            kind: libc::DT_CHR,
        }];
        for i in visible() {
            v.push(DirEntry {
                name: i.to_string().into_bytes(),
                ino: u64::from(i) + 3,
                kind: libc::DT_CHR,
            });
        }
        Ok(v)
    }

    fn open(&self, flags: i32) -> Result<Arc<dyn FileOps>, Errno> {
        DirFile::open(Arc::new(DevptsRoot), flags)
    }

    // devpts has no directory operations: the VFS's errnos for missing
    // ones (`vfs_create` EACCES, the others EPERM).
    fn create(&self, _: &[u8], _: u32, _: u32, _: u32) -> Result<Arc<dyn Inode>, Errno> {
        Err(Errno::EACCES)
    }

    fn mkdir(&self, _: &[u8], _: u32, _: u32, _: u32) -> Result<Arc<dyn Inode>, Errno> {
        Err(Errno::EPERM)
    }

    fn mknod(&self, _: &[u8], _: u32, _: u64, _: u32, _: u32) -> Result<Arc<dyn Inode>, Errno> {
        Err(Errno::EPERM)
    }

    fn symlink(&self, _: &[u8], _: &[u8], _: u32, _: u32) -> Result<Arc<dyn Inode>, Errno> {
        Err(Errno::EPERM)
    }

    fn unlink(&self, name: &[u8]) -> Result<(), Errno> {
        self.lookup(name).and(Err(Errno::EPERM))
    }

    fn rmdir(&self, name: &[u8]) -> Result<(), Errno> {
        self.lookup(name).and(Err(Errno::EPERM))
    }

    fn statfs(&self) -> Result<StatFs, Errno> {
        Ok(StatFs {
            fs_type: DEVPTS_SUPER_MAGIC,
            bsize: 4096,
            namelen: 255,
            frsize: 4096,
            ..StatFs::default()
        })
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// What `stat` reports for `/dev/pts/N` (also for a slave opened without
/// a path, by TIOCGPTPEER or `/dev/tty`'s twin, so `ttyname` matches).
pub fn slave_stat(index: u32) -> Stat {
    node_stat(
        u64::from(index) + 3,
        libc::S_IFCHR | 0o620,
        makedev(136, u64::from(index)),
        1,
    )
}

impl Inode for PtsNode {
    fn stat(&self) -> Result<Stat, Errno> {
        Ok(match self.index {
            None => node_stat(2, libc::S_IFCHR, makedev(5, 2), 1),
            Some(i) => slave_stat(i),
        })
    }

    fn open(&self, flags: i32) -> Result<Arc<dyn FileOps>, Errno> {
        match self.index {
            None => tty::open_master(),
            Some(i) => tty::open_slave(i, flags),
        }
    }

    fn statfs(&self) -> Result<StatFs, Errno> {
        DevptsRoot.statfs()
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
