//! `/proc`: a synthetic filesystem whose contents are generated from the
//! kernel's state each time a file is opened.
//!
//! Three building blocks make up the tree: [`ProcFile`] (a regular file
//! whose bytes a closure produces at open), [`ProcLink`] (a symlink whose
//! target a closure produces, optionally "magic": a walk through it jumps
//! straight to a dentry, as `/proc/PID/fd/N` and `exe` do on Linux) and
//! [`ProcDir`] (a directory whose children a closure lists on each lookup
//! or readdir). `pid.rs` builds the per-process directories, `files.rs`
//! the global files.

mod files;
mod pid;

use std::any::Any;
use std::sync::{Arc, OnceLock};

use nix::errno::Errno;

use crate::kernel::task::{current, lock};
use crate::vfs::{
    dt_kind, Dentry, DirEntry, DirFile, FileOps, Inode, OpenFile, Stat, StatFs, Timespec,
};

pub use files::init_host_info;

/// `statfs` magic of procfs.
pub const PROC_SUPER_MAGIC: i64 = 0x9fa0;

/// The anonymous device number of the (single) procfs: far above the
/// minors tmpfs hands out and the ones a host usually uses.
fn proc_dev() -> u64 {
    nix::sys::stat::makedev(0, 0xf_ff00)
}

/// Produces a file's contents or a link's target.
pub(crate) type Gen = Box<dyn Fn() -> Result<Vec<u8>, Errno> + Send + Sync>;
/// Takes what is written to a writable file (`comm`, `oom_score_adj`).
pub(crate) type Sink = Arc<dyn Fn(&[u8]) -> Result<usize, Errno> + Send + Sync>;
/// Where a walk through a magic link lands; gets the link's own dentry.
pub(crate) type Magic = Box<dyn Fn(&Arc<Dentry>) -> Result<Arc<Dentry>, Errno> + Send + Sync>;
/// A directory's children, by name.
pub(crate) type Entries = Vec<(Vec<u8>, Arc<dyn Inode>)>;
/// Lists a directory's children.
pub(crate) type Children = Arc<dyn Fn() -> Result<Entries, Errno> + Send + Sync>;

/// Identity and permissions shared by every procfs node.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Attr {
    pub ino: u64,
    /// Permission bits only.
    pub perm: u32,
    pub uid: u32,
    pub gid: u32,
}

impl Attr {
    /// A root-owned node.
    pub fn root(ino: u64, perm: u32) -> Attr {
        Attr {
            ino,
            perm,
            uid: 0,
            gid: 0,
        }
    }

    fn stat(&self, fmt: u32, nlink: u64) -> Stat {
        let t = boot_time();
        Stat {
            dev: proc_dev(),
            ino: self.ino,
            mode: fmt | self.perm,
            nlink,
            uid: self.uid,
            gid: self.gid,
            blksize: 1024,
            atime: t,
            mtime: t,
            ctime: t,
            ..Stat::default()
        }
    }
}

/// Wall-clock time the procfs was created (the inodes' times).
fn boot_time() -> Timespec {
    static T: OnceLock<Timespec> = OnceLock::new();
    *T.get_or_init(Timespec::now)
}

fn proc_statfs() -> StatFs {
    StatFs {
        fs_type: PROC_SUPER_MAGIC,
        bsize: 4096,
        namelen: 255,
        frsize: 4096,
        ..StatFs::default()
    }
}

/// A regular file whose contents are generated at open.
pub(crate) struct ProcFile {
    attr: Attr,
    gen: Gen,
    sink: Option<Sink>,
}

impl ProcFile {
    pub fn make(attr: Attr, gen: Gen) -> Arc<dyn Inode> {
        Arc::new(ProcFile {
            attr,
            gen,
            sink: None,
        })
    }

    /// A file that writes go to.
    pub fn writable(attr: Attr, gen: Gen, sink: Sink) -> Arc<dyn Inode> {
        Arc::new(ProcFile {
            attr,
            gen,
            sink: Some(sink),
        })
    }

    /// A file with fixed contents.
    pub fn fixed(attr: Attr, text: impl Into<Vec<u8>>) -> Arc<dyn Inode> {
        let text = text.into();
        ProcFile::make(attr, Box::new(move || Ok(text.clone())))
    }
}

impl std::fmt::Debug for ProcFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ProcFile(ino {:#x})", self.attr.ino)
    }
}

impl Inode for ProcFile {
    fn stat(&self) -> Result<Stat, Errno> {
        Ok(self.attr.stat(libc::S_IFREG, 1))
    }

    fn open(&self, flags: i32) -> Result<Arc<dyn FileOps>, Errno> {
        if flags & libc::O_DIRECTORY != 0 {
            return Err(Errno::ENOTDIR);
        }
        let write = flags & libc::O_ACCMODE != libc::O_RDONLY || flags & libc::O_TRUNC != 0;
        // Linux refuses writes to read-only proc files with EACCES.
        if write && self.sink.is_none() {
            return Err(Errno::EACCES);
        }
        let data = if flags & libc::O_ACCMODE == libc::O_WRONLY {
            Vec::new()
        } else {
            (self.gen)()?
        };
        Ok(Arc::new(Snapshot {
            data,
            stat: self.attr.stat(libc::S_IFREG, 1),
            sink: self.sink.clone(),
        }))
    }

    fn statfs(&self) -> Result<StatFs, Errno> {
        Ok(proc_statfs())
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// An open procfs file: the bytes generated when it was opened.
struct Snapshot {
    data: Vec<u8>,
    stat: Stat,
    sink: Option<Sink>,
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "procfs::Snapshot(ino {:#x})", self.stat.ino)
    }
}

impl FileOps for Snapshot {
    fn read(&self, buf: &mut [u8], off: u64) -> Result<usize, Errno> {
        let start = usize::try_from(off).unwrap_or(usize::MAX);
        let Some(rest) = self.data.get(start..) else {
            return Ok(0);
        };
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        Ok(n)
    }

    fn write(&self, buf: &[u8], _off: u64) -> Result<usize, Errno> {
        match &self.sink {
            Some(s) => s(buf),
            None => Err(Errno::EBADF),
        }
    }

    fn seekable(&self) -> bool {
        true
    }

    fn stat(&self) -> Result<Stat, Errno> {
        Ok(self.stat)
    }

    fn append_offset(&self) -> Result<u64, Errno> {
        Ok(0)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// A symlink; `magic` ones send a walk to a dentry instead of the text.
pub(crate) struct ProcLink {
    attr: Attr,
    target: Gen,
    magic: Option<Magic>,
}

impl ProcLink {
    pub fn make(attr: Attr, target: Gen, magic: Option<Magic>) -> Arc<dyn Inode> {
        Arc::new(ProcLink {
            attr,
            target,
            magic,
        })
    }
}

impl std::fmt::Debug for ProcLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ProcLink(ino {:#x})", self.attr.ino)
    }
}

impl Inode for ProcLink {
    fn stat(&self) -> Result<Stat, Errno> {
        let mut st = self.attr.stat(libc::S_IFLNK, 1);
        st.size = 64;
        Ok(st)
    }

    fn readlink(&self) -> Result<Vec<u8>, Errno> {
        (self.target)()
    }

    fn magic_link(&self, link: &Arc<Dentry>) -> Option<Result<Arc<Dentry>, Errno>> {
        self.magic.as_ref().map(|m| m(link))
    }

    fn open(&self, _flags: i32) -> Result<Arc<dyn FileOps>, Errno> {
        Err(Errno::ELOOP)
    }

    fn statfs(&self) -> Result<StatFs, Errno> {
        Ok(proc_statfs())
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// A directory whose children are listed afresh on every lookup.
pub(crate) struct ProcDir {
    attr: Attr,
    children: Children,
}

impl ProcDir {
    pub fn make(attr: Attr, children: Children) -> Arc<dyn Inode> {
        Arc::new(ProcDir { attr, children })
    }

    /// A directory with a fixed set of children.
    pub fn fixed(attr: Attr, entries: Vec<(&'static str, Arc<dyn Inode>)>) -> Arc<dyn Inode> {
        let entries: Entries = entries
            .into_iter()
            .map(|(n, i)| (n.as_bytes().to_vec(), i))
            .collect();
        ProcDir::make(attr, Arc::new(move || Ok(entries.clone())))
    }
}

impl std::fmt::Debug for ProcDir {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ProcDir(ino {:#x})", self.attr.ino)
    }
}

fn list(children: &Children) -> Result<Vec<DirEntry>, Errno> {
    Ok((children)()?
        .into_iter()
        .filter_map(|(name, inode)| {
            let st = inode.stat().ok()?;
            Some(DirEntry {
                name,
                ino: st.ino,
                kind: dt_kind(st.mode),
            })
        })
        .collect())
}

impl Inode for ProcDir {
    fn stat(&self) -> Result<Stat, Errno> {
        Ok(self.attr.stat(libc::S_IFDIR, 2))
    }

    fn lookup(&self, name: &[u8]) -> Result<Arc<dyn Inode>, Errno> {
        (self.children)()?
            .into_iter()
            .find(|(n, _)| n == name)
            .map(|(_, i)| i)
            .ok_or(Errno::ENOENT)
    }

    fn readdir(&self) -> Result<Vec<DirEntry>, Errno> {
        list(&self.children)
    }

    fn open(&self, flags: i32) -> Result<Arc<dyn FileOps>, Errno> {
        // A twin of this directory, as `open` has no `Arc` of it.
        DirFile::open(ProcDir::make(self.attr, Arc::clone(&self.children)), flags)
    }

    fn create(&self, _: &[u8], _: u32, _: u32, _: u32) -> Result<Arc<dyn Inode>, Errno> {
        Err(Errno::EACCES)
    }

    fn mkdir(&self, _: &[u8], _: u32, _: u32, _: u32) -> Result<Arc<dyn Inode>, Errno> {
        Err(Errno::EACCES)
    }

    fn mknod(&self, _: &[u8], _: u32, _: u64, _: u32, _: u32) -> Result<Arc<dyn Inode>, Errno> {
        Err(Errno::EACCES)
    }

    fn symlink(&self, _: &[u8], _: &[u8], _: u32, _: u32) -> Result<Arc<dyn Inode>, Errno> {
        Err(Errno::EACCES)
    }

    fn unlink(&self, name: &[u8]) -> Result<(), Errno> {
        self.lookup(name).and(Err(Errno::EACCES))
    }

    fn rmdir(&self, name: &[u8]) -> Result<(), Errno> {
        self.lookup(name).and(Err(Errno::EACCES))
    }

    fn statfs(&self) -> Result<StatFs, Errno> {
        Ok(proc_statfs())
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// What a walk through `/proc/PID/fd/N` reaches for a file that has no
/// dentry (pipe, socket, host stdio, anon inode): opening it opens the
/// same file.
#[derive(Debug)]
pub(crate) struct AnonFile {
    pub file: Arc<OpenFile>,
    uid: u32,
    gid: u32,
}

impl Inode for AnonFile {
    fn stat(&self) -> Result<Stat, Errno> {
        let mut st = self.file.ops.stat()?;
        // Linux's pipe and anon inodes belong to their creator.
        st.uid = self.uid;
        st.gid = self.gid;
        Ok(st)
    }

    fn open(&self, flags: i32) -> Result<Arc<dyn FileOps>, Errno> {
        if flags & libc::O_DIRECTORY != 0 {
            return Err(Errno::ENOTDIR);
        }
        Ok(Arc::clone(&self.file.ops))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// The root of the caller's process, for showing paths the way it sees
/// them.
fn reader_root() -> Option<Arc<Dentry>> {
    current().map(|t| lock(&t.tg.fs).root.clone())
}

/// `d`'s path as the calling process sees it.
pub(crate) fn path_for_reader(d: &Dentry) -> Vec<u8> {
    match reader_root() {
        Some(r) => d.path_within(&r),
        None => d.path(),
    }
}

/// The file `/proc/PID/fd/N` names, as text.
pub(crate) fn file_link_text(file: &OpenFile) -> Vec<u8> {
    match &file.dentry {
        Some(d) => match d.inode.as_any().downcast_ref::<AnonFile>() {
            Some(a) => file_link_text(&a.file),
            None => path_for_reader(d),
        },
        None => file.ops.anon_name().into_bytes(),
    }
}

/// The dentry a walk through `/proc/PID/fd/N` lands on.
pub(crate) fn file_link_target(
    file: &Arc<OpenFile>,
    link: &Arc<Dentry>,
    owner: (u32, u32),
) -> Arc<Dentry> {
    match &file.dentry {
        Some(d) => Arc::clone(d),
        None => {
            let parent = link.parent.as_ref().unwrap_or(link);
            let inode = Arc::new(AnonFile {
                file: Arc::clone(file),
                uid: owner.0,
                gid: owner.1,
            });
            Dentry::new_child(parent, file.ops.anon_name().as_bytes(), inode)
        }
    }
}

/// A new `/proc`.
pub fn new_procfs() -> Arc<dyn Inode> {
    ProcDir::make(Attr::root(1, 0o555), Arc::new(files::root_children))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_read_only_snapshots() {
        let f = ProcFile::fixed(Attr::root(42, 0o444), "hello\n");
        let st = f.stat().unwrap();
        assert_eq!(st.mode, libc::S_IFREG | 0o444);
        assert_eq!(st.dev, proc_dev());
        assert_eq!(f.open(libc::O_WRONLY).map(|_| ()), Err(Errno::EACCES));
        assert_eq!(f.open(libc::O_RDWR).map(|_| ()), Err(Errno::EACCES));
        let o = f.open(libc::O_RDONLY).unwrap();
        let mut buf = [0u8; 4];
        assert_eq!(o.read(&mut buf, 0), Ok(4));
        assert_eq!(&buf, b"hell");
        assert_eq!(o.read(&mut buf, 4), Ok(2));
        assert_eq!(o.read(&mut buf, 100), Ok(0));
        assert_eq!(f.statfs().unwrap().fs_type, PROC_SUPER_MAGIC);
    }

    #[test]
    fn directories_list_and_look_up() {
        let d = ProcDir::fixed(
            Attr::root(50, 0o555),
            vec![
                ("a", ProcFile::fixed(Attr::root(51, 0o444), "x")),
                (
                    "l",
                    ProcLink::make(Attr::root(52, 0o777), Box::new(|| Ok(b"a".to_vec())), None),
                ),
            ],
        );
        let names: Vec<Vec<u8>> = d.readdir().unwrap().into_iter().map(|e| e.name).collect();
        assert_eq!(names, vec![b"a".to_vec(), b"l".to_vec()]);
        assert_eq!(d.lookup(b"l").unwrap().readlink().unwrap(), b"a");
        assert_eq!(d.lookup(b"zz").map(|_| ()), Err(Errno::ENOENT));
        assert_eq!(d.open(libc::O_RDWR).map(|_| ()), Err(Errno::EISDIR));
    }
}
