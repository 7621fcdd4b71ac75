//! Dentries and path resolution.
//!
//! There is no dentry cache: every walk builds a fresh chain of [`Dentry`]s
//! from where it started, and the inodes (which filesystems keep unique)
//! are the shared objects. A chain remembers how it got somewhere, so `..`
//! is simply the parent link, which also makes `..` at the root of a mount
//! go to the directory holding the mountpoint.

use std::sync::Arc;

use nix::errno::Errno;

use super::inode::{same_inode, Inode, Stat, NAME_MAX};
use super::Vfs;

/// Longest path accepted, including the terminating NUL (`PATH_MAX`).
pub const PATH_MAX: usize = 4096;
/// Symlinks followed in one resolution before `ELOOP` (Linux's `MAXSYMLINKS`).
const MAX_SYMLINKS: u32 = 40;

/// A name in the tree: an inode reached by a particular path.
#[derive(Debug)]
pub struct Dentry {
    pub name: Vec<u8>,
    /// `None` only for the root of the whole VFS.
    pub parent: Option<Arc<Dentry>>,
    pub inode: Arc<dyn Inode>,
}

impl Dentry {
    /// The root dentry of a tree.
    pub fn new_root(inode: Arc<dyn Inode>) -> Arc<Dentry> {
        Arc::new(Dentry {
            name: b"/".to_vec(),
            parent: None,
            inode,
        })
    }

    /// A child of `parent` (no lookup: `inode` is what the caller found or
    /// created under `name`).
    pub fn new_child(parent: &Arc<Dentry>, name: &[u8], inode: Arc<dyn Inode>) -> Arc<Dentry> {
        Arc::new(Dentry {
            name: name.to_vec(),
            parent: Some(Arc::clone(parent)),
            inode,
        })
    }

    /// The absolute path from the root of the VFS.
    pub fn path(&self) -> Vec<u8> {
        self.path_from(None)
    }

    /// The path as seen from `root` (the process root, for getcwd and
    /// `/proc/PID/fd` under chroot). A dentry outside `root` gets its path
    /// from the root of the VFS.
    pub fn path_within(&self, root: &Arc<Dentry>) -> Vec<u8> {
        self.path_from(Some(root))
    }

    fn path_from(&self, root: Option<&Arc<Dentry>>) -> Vec<u8> {
        let mut names: Vec<&[u8]> = Vec::new();
        let mut cur = self;
        loop {
            if root.is_some_and(|r| is_same(cur, r)) {
                break;
            }
            match &cur.parent {
                Some(p) => {
                    names.push(&cur.name);
                    cur = p;
                }
                None => break,
            }
        }
        if names.is_empty() {
            return b"/".to_vec();
        }
        let mut out = Vec::new();
        for n in names.iter().rev() {
            out.push(b'/');
            out.extend_from_slice(n);
        }
        out
    }

    pub fn is_dir(&self) -> bool {
        self.inode.stat().is_ok_and(|s| s.is_dir())
    }
}

/// Whether `d` is the dentry `root` (or the same inode, reached another way).
fn is_same(d: &Dentry, root: &Arc<Dentry>) -> bool {
    std::ptr::eq(d, Arc::as_ptr(root)) || same_inode(&d.inode, &root.inode)
}

/// Resolves `path` to a dentry. Absolute paths start at `root`, relative
/// ones at `start`; the final component is followed if it is a symlink
/// only when `follow_final` (or the path ends in `/`).
pub fn resolve(
    vfs: &Vfs,
    root: &Arc<Dentry>,
    start: &Arc<Dentry>,
    path: &[u8],
    follow_final: bool,
) -> Result<Arc<Dentry>, Errno> {
    resolve_checked(vfs, root, start, path, follow_final, &|_| true)
}

/// Whether the caller may search (walk through) a directory with this
/// stat; `EACCES` stops the walk where it answers no.
pub type MaySearch<'a> = &'a dyn Fn(&Stat) -> bool;

/// [`resolve`], checking search permission on every directory walked.
pub fn resolve_checked(
    vfs: &Vfs,
    root: &Arc<Dentry>,
    start: &Arc<Dentry>,
    path: &[u8],
    follow_final: bool,
    may_search: MaySearch<'_>,
) -> Result<Arc<Dentry>, Errno> {
    check_path(path)?;
    let mut links = 0;
    walk(vfs, root, start, path, follow_final, &mut links, may_search)
}

/// Resolves all but the last component of `path`, for calls that create or
/// remove a name. Returns the directory, the last component and whether
/// the path had a trailing slash. The last component may be `.` or `..`,
/// or empty for `/`; the caller turns those into its own errno (`EEXIST`
/// for mkdir, `EBUSY`/`EINVAL`/`ENOTEMPTY` for rmdir, `EISDIR` for unlink…).
pub fn resolve_parent(
    vfs: &Vfs,
    root: &Arc<Dentry>,
    start: &Arc<Dentry>,
    path: &[u8],
) -> Result<(Arc<Dentry>, Vec<u8>, bool), Errno> {
    resolve_parent_checked(vfs, root, start, path, &|_| true)
}

/// [`resolve_parent`], checking search permission on every directory
/// walked (the returned directory itself is left to the caller).
pub fn resolve_parent_checked(
    vfs: &Vfs,
    root: &Arc<Dentry>,
    start: &Arc<Dentry>,
    path: &[u8],
    may_search: MaySearch<'_>,
) -> Result<(Arc<Dentry>, Vec<u8>, bool), Errno> {
    check_path(path)?;
    let trimmed_len = path.iter().rposition(|&c| c != b'/').map_or(0, |i| i + 1);
    let trailing = trimmed_len < path.len();
    let trimmed = &path[..trimmed_len];
    if trimmed.is_empty() {
        // The path was all slashes: the root itself.
        return Ok((Arc::clone(root), Vec::new(), true));
    }
    let (dir_path, last): (&[u8], &[u8]) = match trimmed.iter().rposition(|&c| c == b'/') {
        Some(i) => (if i == 0 { b"/" } else { &trimmed[..i] }, &trimmed[i + 1..]),
        None => (b".", trimmed),
    };
    if last.len() > NAME_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    let mut links = 0;
    let dir = walk(vfs, root, start, dir_path, true, &mut links, may_search)?;
    if !dir.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    Ok((dir, last.to_vec(), trailing))
}

fn check_path(path: &[u8]) -> Result<(), Errno> {
    if path.is_empty() {
        return Err(Errno::ENOENT);
    }
    if path.len() >= PATH_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    Ok(())
}

fn walk(
    vfs: &Vfs,
    root: &Arc<Dentry>,
    start: &Arc<Dentry>,
    path: &[u8],
    follow_final: bool,
    links: &mut u32,
    may_search: MaySearch<'_>,
) -> Result<Arc<Dentry>, Errno> {
    if path.is_empty() {
        return Err(Errno::ENOENT); // an empty symlink target
    }
    let mut cur = if path.first() == Some(&b'/') {
        Arc::clone(root)
    } else {
        Arc::clone(start)
    };
    let trailing_slash = path.last() == Some(&b'/');
    let comps: Vec<&[u8]> = path
        .split(|&c| c == b'/')
        .filter(|c| !c.is_empty())
        .collect();
    for (i, &name) in comps.iter().enumerate() {
        let last = i + 1 == comps.len();
        let dir_stat = cur.inode.stat()?;
        if !dir_stat.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        if !may_search(&dir_stat) {
            return Err(Errno::EACCES);
        }
        if name.len() > NAME_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        match name {
            b"." => {}
            b".." => {
                if !is_same(&cur, root) {
                    if let Some(p) = &cur.parent {
                        cur = Arc::clone(p);
                    }
                }
            }
            _ => {
                let inode = vfs.cross_mounts(cur.inode.lookup(name)?);
                let child = Dentry::new_child(&cur, name, inode);
                let is_link = child.inode.stat()?.is_symlink();
                if is_link && (!last || follow_final || trailing_slash) {
                    *links += 1;
                    if *links > MAX_SYMLINKS {
                        return Err(Errno::ELOOP);
                    }
                    if let Some(to) = child.inode.magic_link(&child) {
                        cur = to?;
                        continue;
                    }
                    let target = child.inode.readlink()?;
                    // Relative targets resolve from the link's directory.
                    cur = walk(vfs, root, &cur, &target, true, links, may_search)?;
                } else {
                    cur = child;
                }
            }
        }
    }
    if trailing_slash && !cur.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    Ok(cur)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vfs::tmpfs::Tmpfs;

    fn setup() -> (Arc<Vfs>, Arc<Dentry>) {
        crate::mm::MemoryFile::init().unwrap();
        let vfs = Vfs::new(Tmpfs::new_root(0o755));
        let root = vfs.root_dentry();
        let r = &root.inode;
        let a = r.mkdir(b"a", 0o755, 0, 0).unwrap();
        a.mkdir(b"b", 0o755, 0, 0).unwrap();
        a.create(b"f", 0o644, 0, 0).unwrap();
        r.symlink(b"la", b"a", 0, 0).unwrap();
        r.symlink(b"abs", b"/a/b", 0, 0).unwrap();
        r.symlink(b"rel", b"../a/f", 0, 0).unwrap();
        a.symlink(b"up", b"../la/f", 0, 0).unwrap();
        r.symlink(b"loop1", b"loop2", 0, 0).unwrap();
        r.symlink(b"loop2", b"loop1", 0, 0).unwrap();
        assert_eq!(
            r.symlink(b"empty", b"", 0, 0).map(|_| ()),
            Err(Errno::ENOENT)
        );
        (vfs, root)
    }

    fn res(vfs: &Vfs, root: &Arc<Dentry>, p: &[u8], follow: bool) -> Result<Vec<u8>, Errno> {
        resolve(vfs, root, root, p, follow).map(|d| d.path())
    }

    #[test]
    fn walks_dots_and_symlinks() {
        let (vfs, root) = setup();
        assert_eq!(res(&vfs, &root, b"/a/b/..//./f", true).unwrap(), b"/a/f");
        assert_eq!(res(&vfs, &root, b"/../../a", true).unwrap(), b"/a");
        assert_eq!(res(&vfs, &root, b"la/f", false).unwrap(), b"/a/f");
        assert_eq!(res(&vfs, &root, b"la", false).unwrap(), b"/la");
        assert_eq!(res(&vfs, &root, b"la/", false).unwrap(), b"/a");
        assert_eq!(res(&vfs, &root, b"abs", true).unwrap(), b"/a/b");
        assert_eq!(res(&vfs, &root, b"a/up", true).unwrap(), b"/a/f");
        assert_eq!(res(&vfs, &root, b"/", true).unwrap(), b"/");
        assert_eq!(res(&vfs, &root, b"", true), Err(Errno::ENOENT));
        assert_eq!(res(&vfs, &root, b"loop1", true), Err(Errno::ELOOP));
        assert_eq!(res(&vfs, &root, b"loop1", false).unwrap(), b"/loop1");
        assert_eq!(res(&vfs, &root, b"a/f/", true), Err(Errno::ENOTDIR));
        assert_eq!(res(&vfs, &root, b"a/f/x", true), Err(Errno::ENOTDIR));
        assert_eq!(res(&vfs, &root, b"a/nope/x", true), Err(Errno::ENOENT));
        let long = vec![b'x'; 256];
        assert_eq!(res(&vfs, &root, &long, true), Err(Errno::ENAMETOOLONG));
        let huge = b"a/".repeat(2048);
        assert_eq!(res(&vfs, &root, &huge, true), Err(Errno::ENAMETOOLONG));
    }

    #[test]
    fn relative_symlink_from_subdir_start() {
        let (vfs, root) = setup();
        let a = resolve(&vfs, &root, &root, b"a", true).unwrap();
        let f = resolve(&vfs, &root, &a, b"../rel", true).unwrap();
        assert_eq!(f.path(), b"/a/f");
        assert_eq!(
            resolve(&vfs, &root, &a, b"f/..", true).map(|_| ()),
            Err(Errno::ENOTDIR)
        );
    }

    #[test]
    fn chroot_dotdot_stays_at_root() {
        let (vfs, root) = setup();
        let a = resolve(&vfs, &root, &root, b"a", true).unwrap();
        let b = resolve(&vfs, &a, &a, b"/../../b", true).unwrap();
        assert_eq!(b.path(), b"/a/b");
        assert_eq!(b.path_within(&a), b"/b");
    }

    #[test]
    fn mount_crossing() {
        let (vfs, root) = setup();
        let b = resolve(&vfs, &root, &root, b"/a/b", true).unwrap();
        let fs = Tmpfs::new_root(0o1777);
        fs.create(b"inner", 0o644, 0, 0).unwrap();
        fs.mkdir(b"sub", 0o755, 0, 0).unwrap();
        vfs.mount(&b, fs, "tmpfs", "tmpfs", "rw").unwrap();
        let inner = resolve(&vfs, &root, &root, b"/a/b/inner", true).unwrap();
        assert_eq!(inner.path(), b"/a/b/inner");
        let mroot = resolve(&vfs, &root, &root, b"/a/b", true).unwrap();
        let out = resolve(&vfs, &root, &mroot, b"./sub/../../f", true).unwrap();
        assert_eq!(out.path(), b"/a/f");
        assert_eq!(mroot.inode.stat().unwrap().mode, libc::S_IFDIR | 0o1777);
        assert!(vfs.mounts_text().contains("tmpfs /a/b tmpfs rw 0 0\n"));
        vfs.umount(&mroot).unwrap();
        assert_eq!(res(&vfs, &root, b"/a/b/inner", true), Err(Errno::ENOENT));
    }

    #[test]
    fn resolve_parent_splits() {
        let (vfs, root) = setup();
        let (d, last, slash) = resolve_parent(&vfs, &root, &root, b"/a/b/new/").unwrap();
        assert_eq!(
            (d.path(), last, slash),
            (b"/a/b".to_vec(), b"new".to_vec(), true)
        );
        let (d, last, _) = resolve_parent(&vfs, &root, &root, b"x").unwrap();
        assert_eq!((d.path(), last), (b"/".to_vec(), b"x".to_vec()));
        let (d, last, _) = resolve_parent(&vfs, &root, &root, b"la/x").unwrap();
        assert_eq!((d.path(), last), (b"/a".to_vec(), b"x".to_vec()));
        assert_eq!(
            resolve_parent(&vfs, &root, &root, b"a/f/x").map(|_| ()),
            Err(Errno::ENOTDIR)
        );
        assert_eq!(
            resolve_parent(&vfs, &root, &root, b"").map(|_| ()),
            Err(Errno::ENOENT)
        );
    }
}
