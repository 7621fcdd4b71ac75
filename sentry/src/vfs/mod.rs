//! The virtual filesystem: inodes, dentries and path walk, open files, fd
//! tables, and the filesystems (tmpfs with its overlay over the gofer,
//! devfs, pipes, host stdio files).

pub mod dentry;
pub mod devfs;
pub mod devpts;
pub mod epoll;
pub mod eventfd;
pub mod fdtable;
pub mod file;
pub mod host_file;
pub mod inet;
pub mod inode;
pub mod inotify;
pub mod lock;
pub mod pidfd;
pub mod pipe;
pub mod signalfd;
pub mod timerfd;
pub mod tmpfs;
pub mod tty;
pub mod unix;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use nix::errno::Errno;

pub use dentry::{resolve, resolve_parent, Dentry, PATH_MAX};
pub use devfs::{new_devfs, open_device};
pub use fdtable::{FdTable, CLOSE_RANGE_CLOEXEC, CLOSE_RANGE_UNSHARE};
pub use file::{DirFile, FileOps, OpenFile};
pub use host_file::HostFile;
pub use inode::{
    dt_kind, same_inode, DirEntry, Inode, SetAttr, Stat, StatFs, TimeSet, Timespec, NAME_MAX,
    RENAME_EXCHANGE, RENAME_NOREPLACE,
};
pub use pipe::{new_pipe, PIPE_BUF};
pub use tmpfs::{overlay_root, Tmpfs, TMPFS_MAGIC};

/// One mount, as `/proc/mounts` lists it.
#[derive(Debug)]
struct Mount {
    /// (dev, ino) of the directory mounted on.
    point: (u64, u64),
    /// Keeps the mountpoint inode (and so its identity) alive.
    _point_inode: Arc<dyn Inode>,
    root: Arc<dyn Inode>,
    path: Vec<u8>,
    source: String,
    fstype: String,
    opts: String,
}

#[derive(Debug, Default)]
struct Mounts {
    /// In mount order; a later mount on the same point hides earlier ones.
    list: Vec<Mount>,
    by_point: HashMap<(u64, u64), Arc<dyn Inode>>,
}

impl Mounts {
    fn reindex(&mut self) {
        self.by_point = self
            .list
            .iter()
            .map(|m| (m.point, Arc::clone(&m.root)))
            .collect();
    }
}

/// The mount tree of one sandbox.
#[derive(Debug)]
pub struct Vfs {
    root: Arc<Dentry>,
    mounts: RwLock<Mounts>,
}

impl Vfs {
    pub fn new(root: Arc<dyn Inode>) -> Arc<Vfs> {
        Arc::new(Vfs {
            root: Dentry::new_root(root),
            mounts: RwLock::new(Mounts::default()),
        })
    }

    /// The root of the whole tree (a process's root unless it chroots).
    pub fn root_dentry(&self) -> Arc<Dentry> {
        Arc::clone(&self.root)
    }

    /// Mounts `fs_root` on the directory `at`. A later walk that reaches
    /// `at`'s inode continues in `fs_root`.
    pub fn mount(
        &self,
        at: &Arc<Dentry>,
        fs_root: Arc<dyn Inode>,
        source: &str,
        fstype: &str,
        opts: &str,
    ) -> Result<(), Errno> {
        let st = at.inode.stat()?;
        if !st.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        let mut m = self.mounts.write().unwrap_or_else(|e| e.into_inner());
        m.list.push(Mount {
            point: (st.dev, st.ino),
            _point_inode: Arc::clone(&at.inode),
            root: fs_root,
            path: at.path(),
            source: source.to_string(),
            fstype: fstype.to_string(),
            opts: opts.to_string(),
        });
        m.reindex();
        Ok(())
    }

    /// Unmounts the filesystem whose root `at` is (`EINVAL` if none).
    pub fn umount(&self, at: &Arc<Dentry>) -> Result<(), Errno> {
        let mut m = self.mounts.write().unwrap_or_else(|e| e.into_inner());
        let i = m
            .list
            .iter()
            .rposition(|x| same_inode(&x.root, &at.inode))
            .ok_or(Errno::EINVAL)?;
        m.list.remove(i);
        m.reindex();
        Ok(())
    }

    /// The inode a walk that found `inode` continues in: the root of what
    /// is mounted on it (stacked mounts resolve to the newest), or itself.
    pub fn cross_mounts(&self, inode: Arc<dyn Inode>) -> Arc<dyn Inode> {
        let m = self.mounts.read().unwrap_or_else(|e| e.into_inner());
        if m.by_point.is_empty() {
            return inode;
        }
        let mut cur = inode;
        // Each step moves to a newer mount, so this ends; the bound only
        // guards against an inode that lies about its identity.
        for _ in 0..=m.list.len() {
            let Ok(st) = cur.stat() else { break };
            if !st.is_dir() {
                break;
            }
            match m.by_point.get(&(st.dev, st.ino)) {
                Some(r) if !same_inode(r, &cur) => cur = Arc::clone(r),
                _ => break,
            }
        }
        cur
    }

    /// The id `/proc/PID/mountinfo` gives the mount `path` (absolute, from
    /// the VFS root) is on: the newest mount on the longest prefix of it.
    /// Ids follow [`Vfs::mounts_text`]'s lines: 1 is the root.
    pub fn mount_id(&self, path: &[u8]) -> u32 {
        let m = self.mounts.read().unwrap_or_else(|e| e.into_inner());
        let mut best = (0, 1);
        for (id, x) in (2u32..).zip(&m.list) {
            let p = x.path.as_slice();
            let below = path
                .strip_prefix(p)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(b"/") || p.ends_with(b"/"));
            if below && p.len() >= best.0 {
                best = (p.len(), id);
            }
        }
        best.1
    }

    /// `/proc/mounts`.
    pub fn mounts_text(&self) -> String {
        let m = self.mounts.read().unwrap_or_else(|e| e.into_inner());
        let mut out = b"none / rootfs rw 0 0\n".to_vec();
        for x in &m.list {
            for (i, field) in [
                x.source.as_bytes(),
                &x.path,
                x.fstype.as_bytes(),
                x.opts.as_bytes(),
            ]
            .iter()
            .enumerate()
            {
                if i > 0 {
                    out.push(b' ');
                }
                escape_into(&mut out, field);
            }
            out.extend_from_slice(b" 0 0\n");
        }
        String::from_utf8_lossy(&out).into_owned()
    }
}

/// `/proc/mounts` escapes space, tab, newline and backslash as octal.
fn escape_into(out: &mut Vec<u8>, s: &[u8]) {
    for &c in s {
        match c {
            b' ' | b'\t' | b'\n' | b'\\' => out.extend_from_slice(format!("\\{c:03o}").as_bytes()),
            _ => out.push(c),
        }
    }
}

/// A process's root, working directory and umask (shared by threads,
/// copied on fork unless CLONE_FS).
#[derive(Debug, Clone)]
pub struct FsContext {
    pub root: Arc<Dentry>,
    pub cwd: Arc<Dentry>,
    pub umask: u32,
}

impl FsContext {
    /// Root and cwd at the VFS root, umask 022.
    pub fn new(vfs: &Vfs) -> FsContext {
        FsContext {
            root: vfs.root_dentry(),
            cwd: vfs.root_dentry(),
            umask: 0o022,
        }
    }
}
