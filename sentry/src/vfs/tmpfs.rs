//! tmpfs, and the sandbox root: tmpfs overlaid on the gofer's read-only
//! view of the host.
//!
//! File data lives in memory-file frames, so `mmap` of a tmpfs file maps
//! the very pages `read` and `write` use. A directory of the overlay starts
//! out *lower*: the first lookup or readdir turns the gofer's listing into
//! tmpfs children that remember where they are on the host. From then on
//! the in-memory directory is the truth, so unlink, rename and rmdir never
//! need whiteouts and nothing ever reaches the host. A lower regular file
//! is read through a host fd until something modifies it; then it is
//! *copied up* into frames (keeping its inode number) and forgets the host.
//!
//! Locking: every node has its own lock. Operations that change more than
//! one node (create, link, unlink, rmdir, rename) first take the per-fs
//! `tree` lock, so they never run concurrently with each other; every other
//! operation holds one node lock at a time, except that a directory lock
//! may be held while taking a child's. Hence no lock cycles.

use std::any::Any;
use std::collections::{BTreeMap, VecDeque};
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};

use gofer::{Client, GoferError, Handle};
use nix::errno::Errno;

use super::dentry::PATH_MAX;
use super::devfs::open_device;
use super::file::{DirFile, Falloc, FileOps};
use super::inode::{
    dt_kind, DirEntry, Inode, SetAttr, Stat, StatFs, Timespec, NAME_MAX, RENAME_EXCHANGE,
    RENAME_NOREPLACE,
};
use super::pipe::Pipe;
use crate::mm::{memfile, Frame, Mappable, PAGE_SIZE};

pub const TMPFS_MAGIC: i64 = 0x0102_1994;
/// What Linux's tmpfs counts per directory entry in a directory's size.
const BOGO_DIRENT_SIZE: u64 = 20;
/// Largest file size (Linux's `MAX_LFS_FILESIZE`).
const MAX_FILE_SIZE: u64 = i64::MAX as u64;
/// Our filesystems get anonymous device numbers 0:N from here, above the
/// minors a host usually hands out, so they do not look like host devices.
const FIRST_MINOR: u64 = 0x100;
/// `PAGE_SIZE` for slice arithmetic.
const PAGE_BYTES: usize = 4096;

static NEXT_MINOR: AtomicU64 = AtomicU64::new(FIRST_MINOR);

fn gerr(e: GoferError) -> Errno {
    match e {
        GoferError::Errno(n) => Errno::from_raw(n),
        GoferError::Protocol(_) | GoferError::Io(_) => Errno::EIO,
    }
}

/// A gofer handle, closed when the last node that needs it goes away.
struct GoferHandle {
    client: Arc<Client>,
    h: Handle,
}

impl std::fmt::Debug for GoferHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "GoferHandle({})", self.h)
    }
}

impl Drop for GoferHandle {
    fn drop(&mut self) {
        self.client.close(self.h);
    }
}

/// The most recently opened host resources of one kind (gofer directory
/// handles, host fds of lower files). Nodes keep only weak references, so
/// the gofer's and the sentry's fd use stay bounded however much of the
/// host tree is visited: evicting closes a resource once no operation is
/// using it, and the next use reopens it.
struct Recent<T> {
    items: Mutex<VecDeque<Arc<T>>>,
    cap: usize,
}

impl<T> Recent<T> {
    const fn new(cap: usize) -> Recent<T> {
        Recent {
            items: Mutex::new(VecDeque::new()),
            cap,
        }
    }

    fn add(&self, x: &Arc<T>) {
        let evicted = {
            let mut q = self.items.lock().unwrap_or_else(|e| e.into_inner());
            q.push_back(Arc::clone(x));
            if q.len() > self.cap {
                q.pop_front()
            } else {
                None
            }
        };
        // Closed (if unused) outside the lock.
        drop(evicted);
    }
}

static RECENT_DIRS: Recent<GoferHandle> = Recent::new(1024);
/// Handles of other host nodes, kept for repeated xattr reads (`ls -l`
/// asks for two attributes of every file).
static RECENT_NODES: Recent<GoferHandle> = Recent::new(256);
static RECENT_FDS: Recent<OwnedFd> = Recent::new(256);

/// A host directory, reopened by walking from its parent when its handle
/// has been evicted.
#[derive(Debug)]
struct LowerDir {
    client: Arc<Client>,
    /// `None` for the root, whose handle is pinned.
    parent: Option<(Arc<LowerDir>, Vec<u8>)>,
    pinned: Option<Arc<GoferHandle>>,
    open: Mutex<Weak<GoferHandle>>,
}

impl LowerDir {
    fn child(self: &Arc<Self>, name: &[u8]) -> Arc<LowerDir> {
        Arc::new(LowerDir {
            client: Arc::clone(&self.client),
            parent: Some((Arc::clone(self), name.to_vec())),
            pinned: None,
            open: Mutex::new(Weak::new()),
        })
    }

    /// A handle on the directory, valid while the caller holds it.
    fn handle(&self) -> Result<Arc<GoferHandle>, Errno> {
        if let Some(h) = &self.pinned {
            return Ok(Arc::clone(h));
        }
        // Child before parent: this lock order never inverts.
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(h) = open.upgrade() {
            return Ok(h);
        }
        let (parent, name) = self.parent.as_ref().ok_or(Errno::EIO)?;
        let ph = parent.handle()?;
        let (h, _) = self.client.walk(ph.h, name).map_err(gerr)?;
        let h = Arc::new(GoferHandle {
            client: Arc::clone(&self.client),
            h,
        });
        *open = Arc::downgrade(&h);
        RECENT_DIRS.add(&h);
        Ok(h)
    }

    /// Keeps a handle some other walk already produced.
    fn seed(&self, h: GoferHandle) {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if open.strong_count() == 0 {
            let h = Arc::new(h);
            *open = Arc::downgrade(&h);
            RECENT_DIRS.add(&h);
        }
    }
}

/// State shared by the nodes of one filesystem instance.
#[derive(Debug)]
struct Fs {
    dev: u64,
    next_ino: AtomicU64,
    /// Serializes operations that change more than one node.
    tree: Mutex<()>,
    /// The lower root, for an overlay.
    lower_root: OnceLock<Arc<LowerDir>>,
    /// Pages holding file data, for statfs.
    pages: AtomicU64,
}

impl Fs {
    fn new() -> Arc<Fs> {
        let minor = NEXT_MINOR.fetch_add(1, Ordering::Relaxed);
        Arc::new(Fs {
            dev: nix::sys::stat::makedev(0, minor),
            next_ino: AtomicU64::new(1),
            tree: Mutex::new(()),
            lower_root: OnceLock::new(),
            pages: AtomicU64::new(0),
        })
    }

    fn tree(&self) -> MutexGuard<'_, ()> {
        self.tree.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The size of an unlimited tmpfs in pages: half of RAM, as Linux's.
    fn capacity_pages() -> u64 {
        // SAFETY: sysconf only reads a system constant.
        let phys = unsafe { libc::sysconf(libc::_SC_PHYS_PAGES) };
        u64::try_from(phys).unwrap_or(1 << 20) / 2
    }

    fn free_pages(&self) -> u64 {
        Fs::capacity_pages().saturating_sub(self.pages.load(Ordering::Relaxed))
    }

    fn new_meta(&self, mode: u32, uid: u32, gid: u32, rdev: u64) -> Meta {
        let now = Timespec::now();
        let nlink = if mode & libc::S_IFMT == libc::S_IFDIR {
            2
        } else {
            1
        };
        Meta {
            dev: self.dev,
            ino: self.next_ino.fetch_add(1, Ordering::Relaxed),
            mode,
            nlink,
            uid,
            gid,
            rdev,
            atime: now,
            mtime: now,
            ctime: now,
        }
    }
}

/// Where a node that came from the host is: a name in a lower directory.
#[derive(Debug)]
struct LowerRef {
    dir: Arc<LowerDir>,
    name: Vec<u8>,
    /// The inode number the host's readdir gave, until a walk gives stat.
    ino: u64,
}

/// The attributes of a node once it is ours (not just the host's).
#[derive(Debug, Clone, Copy)]
struct Meta {
    dev: u64,
    ino: u64,
    mode: u32,
    nlink: u64,
    uid: u32,
    gid: u32,
    rdev: u64,
    atime: Timespec,
    mtime: Timespec,
    ctime: Timespec,
}

impl From<&gofer::Stat> for Meta {
    fn from(s: &gofer::Stat) -> Meta {
        Meta {
            dev: s.dev,
            ino: s.ino,
            mode: s.mode,
            nlink: s.nlink,
            uid: s.uid,
            gid: s.gid,
            rdev: s.rdev,
            atime: s.atime.into(),
            mtime: s.mtime.into(),
            ctime: s.ctime.into(),
        }
    }
}

#[derive(Debug)]
struct FileBody {
    pages: BTreeMap<u64, Arc<Frame>>,
    size: u64,
    /// The data is still the lower file's: `pages` only caches it (for
    /// mmap) and `size` is unused.
    from_lower: bool,
    lower_fd: Weak<OwnedFd>,
}

#[derive(Debug)]
struct DirBody {
    children: BTreeMap<Vec<u8>, Arc<TmpInode>>,
    parent: Weak<TmpInode>,
    /// The host directory, for a lower directory.
    lower: Option<Arc<LowerDir>>,
    /// The lower entries have not been read into `children` yet.
    unpopulated: bool,
}

#[derive(Debug)]
enum Body {
    File(FileBody),
    Dir(DirBody),
    /// The target; `None` until read from the host.
    Symlink(Option<Vec<u8>>),
    /// A FIFO: its pipe, shared by every open of it.
    Fifo(Arc<Pipe>),
    /// A device or socket, of this `S_IFMT` type.
    Special(u32),
}

impl Body {
    fn new(fmt: u32, parent: Weak<TmpInode>) -> Body {
        match fmt {
            libc::S_IFDIR => Body::Dir(DirBody {
                children: BTreeMap::new(),
                parent,
                lower: None,
                unpopulated: false,
            }),
            libc::S_IFLNK => Body::Symlink(None),
            libc::S_IFREG => Body::File(FileBody {
                pages: BTreeMap::new(),
                size: 0,
                from_lower: false,
                lower_fd: Weak::new(),
            }),
            libc::S_IFIFO => Body::Fifo(Pipe::new_fifo()),
            f => Body::Special(f),
        }
    }

    fn fmt(&self) -> u32 {
        match self {
            Body::File(_) => libc::S_IFREG,
            Body::Dir(_) => libc::S_IFDIR,
            Body::Symlink(_) => libc::S_IFLNK,
            Body::Fifo(_) => libc::S_IFIFO,
            Body::Special(f) => *f,
        }
    }
}

#[derive(Debug)]
struct State {
    /// `None`: the lower stat is the node's attributes.
    meta: Option<Meta>,
    lower: Option<LowerRef>,
    lower_stat: Option<gofer::Stat>,
    body: Body,
    /// Extended attributes, unless `host_xattrs`.
    xattrs: BTreeMap<Vec<u8>, Vec<u8>>,
    /// The node shows its host file's attributes (read through the gofer)
    /// until they change or the file is copied up; then they become the
    /// node's own, as overlayfs copies them up.
    host_xattrs: bool,
    /// A gofer handle of a host node other than a directory, while
    /// recently used.
    lower_handle: Weak<GoferHandle>,
}

/// A tmpfs node (file, directory, symlink, device, FIFO or socket).
pub struct TmpInode {
    fs: Arc<Fs>,
    me: Weak<TmpInode>,
    state: Mutex<State>,
}

impl std::fmt::Debug for TmpInode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not the state: a directory would print its whole subtree.
        write!(f, "TmpInode(dev {:#x})", self.fs.dev)
    }
}

/// Constructors for fresh tmpfs instances.
#[derive(Debug)]
pub struct Tmpfs;

impl Tmpfs {
    /// A new, empty tmpfs; `mode` holds the root's permission bits.
    pub fn new_root(mode: u32) -> Arc<dyn Inode> {
        new_root_node(mode, 0, 0)
    }
}

pub(crate) fn new_root_node(mode: u32, uid: u32, gid: u32) -> Arc<TmpInode> {
    let fs = Fs::new();
    let meta = fs.new_meta(libc::S_IFDIR | (mode & 0o7777), uid, gid, 0);
    TmpInode::new(&fs, Weak::new(), Some(meta), None, libc::S_IFDIR)
}

/// The sandbox root: a tmpfs over the gofer's root directory.
pub fn overlay_root(client: Arc<Client>) -> Result<Arc<dyn Inode>, Errno> {
    let fs = Fs::new();
    let (h, stat) = client.attach().map_err(gerr)?;
    let pinned = Some(Arc::new(GoferHandle {
        client: Arc::clone(&client),
        h,
    }));
    let lower = Arc::new(LowerDir {
        client,
        parent: None,
        pinned,
        open: Mutex::new(Weak::new()),
    });
    let _ = fs.lower_root.set(Arc::clone(&lower));
    let root = TmpInode::new(&fs, Weak::new(), None, None, libc::S_IFDIR);
    {
        let mut st = root.lock();
        st.lower_stat = Some(stat);
        st.host_xattrs = true;
        if let Body::Dir(d) = &mut st.body {
            d.lower = Some(lower);
            d.unpopulated = true;
        }
    }
    Ok(root)
}

fn lock_state(m: &Mutex<State>) -> MutexGuard<'_, State> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Rejects names no directory entry can have.
fn check_name(name: &[u8], dot_errno: Errno) -> Result<(), Errno> {
    if name.is_empty() {
        return Err(Errno::ENOENT);
    }
    if name == b"." || name == b".." {
        return Err(dot_errno);
    }
    if name.len() > NAME_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    if name.contains(&b'/') || name.contains(&0) {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

fn pages_for(size: u64) -> u64 {
    size.div_ceil(PAGE_SIZE)
}

/// Reads up to `buf.len()` bytes at `off`, stopping early only at EOF.
fn pread_full(fd: &OwnedFd, buf: &mut [u8], off: u64) -> Result<usize, Errno> {
    let mut done = 0;
    while done < buf.len() {
        let at = i64::try_from(off + done as u64).map_err(|_| Errno::EINVAL)?;
        match nix::sys::uio::pread(fd, &mut buf[done..], at) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(Errno::EINTR) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

impl State {
    fn lower(&self) -> Result<&LowerRef, Errno> {
        self.lower.as_ref().ok_or(Errno::EIO)
    }

    /// A fresh handle on this node's host file.
    fn walk_lower(&self) -> Result<(GoferHandle, gofer::Stat), Errno> {
        let l = self.lower()?;
        let dir = l.dir.handle()?;
        let client = Arc::clone(&l.dir.client);
        let (h, stat) = client.walk(dir.h, &l.name).map_err(gerr)?;
        Ok((GoferHandle { client, h }, stat))
    }

    /// A gofer handle of this node's host file, valid while held.
    fn lower_handle(&mut self) -> Result<Arc<GoferHandle>, Errno> {
        if let Body::Dir(DirBody { lower: Some(l), .. }) = &self.body {
            return l.handle();
        }
        if let Some(h) = self.lower_handle.upgrade() {
            return Ok(h);
        }
        let h = Arc::new(self.walk_lower()?.0);
        self.lower_handle = Arc::downgrade(&h);
        RECENT_NODES.add(&h);
        Ok(h)
    }

    /// Asks the gofer about the host file's extended attributes.
    fn host_xattr<R>(
        &mut self,
        f: impl FnOnce(&Client, Handle) -> Result<R, GoferError>,
    ) -> Result<R, Errno> {
        let h = self.lower_handle()?;
        f(&h.client, h.h).map_err(gerr)
    }

    /// Makes the host file's attributes the node's own, before they change
    /// or the host file is forgotten.
    fn own_xattrs(&mut self) -> Result<(), Errno> {
        if !self.host_xattrs {
            return Ok(());
        }
        let xattrs = self.host_xattr(|c, h| {
            let list = match c.listxattr(h) {
                Err(GoferError::Errno(libc::EOPNOTSUPP)) => Vec::new(),
                r => r?,
            };
            let mut all = BTreeMap::new();
            for name in list.split(|&b| b == 0).filter(|n| !n.is_empty()) {
                match c.getxattr(h, name) {
                    Ok(v) => {
                        all.insert(name.to_vec(), v);
                    }
                    Err(GoferError::Errno(libc::ENODATA)) => {} // removed meanwhile
                    Err(e) => return Err(e),
                }
            }
            Ok(all)
        })?;
        self.xattrs = xattrs;
        self.host_xattrs = false;
        Ok(())
    }

    /// The host's stat of this node (walked once, then cached: the host
    /// side never changes). A directory keeps the handle of that walk.
    fn lower_stat(&mut self) -> Result<gofer::Stat, Errno> {
        if let Some(s) = self.lower_stat {
            return Ok(s);
        }
        let (h, s) = self.walk_lower()?;
        if let Body::Dir(DirBody { lower: Some(l), .. }) = &self.body {
            l.seed(h);
        }
        self.lower_stat = Some(s);
        Ok(s)
    }

    fn meta(&mut self) -> Result<Meta, Errno> {
        match self.meta {
            Some(m) => Ok(m),
            None => Ok(Meta::from(&self.lower_stat()?)),
        }
    }

    /// The node's own attributes, taken over from the host's first.
    fn meta_mut(&mut self) -> Result<&mut Meta, Errno> {
        let m = self.meta()?;
        Ok(self.meta.get_or_insert(m))
    }

    fn touch(&mut self, mtime: bool) -> Result<(), Errno> {
        let now = Timespec::now();
        let m = self.meta_mut()?;
        if mtime {
            m.mtime = now;
        }
        m.ctime = now;
        Ok(())
    }

    fn stat(&mut self) -> Result<Stat, Errno> {
        let Some(m) = self.meta else {
            let s = self.lower_stat()?;
            return Ok(Stat::from(s));
        };
        let (size, blocks) = match &self.body {
            Body::File(f) if !f.from_lower => (f.size, f.pages.len() as u64 * (PAGE_SIZE / 512)),
            Body::Dir(d) if !d.unpopulated => (BOGO_DIRENT_SIZE * (d.children.len() as u64 + 2), 0),
            Body::Symlink(Some(t)) => (t.len() as u64, 0),
            Body::Fifo(_) | Body::Special(_) => (0, 0),
            _ => {
                let s = Stat::from(self.lower_stat()?);
                (s.size, s.blocks)
            }
        };
        Ok(Stat {
            dev: m.dev,
            ino: m.ino,
            mode: m.mode,
            nlink: m.nlink,
            uid: m.uid,
            gid: m.gid,
            rdev: m.rdev,
            size,
            blksize: PAGE_SIZE,
            blocks,
            atime: m.atime,
            mtime: m.mtime,
            ctime: m.ctime,
        })
    }

    fn ino(&self) -> u64 {
        match (&self.meta, &self.lower_stat, &self.lower) {
            (Some(m), _, _) => m.ino,
            (None, Some(s), _) => s.ino,
            (None, None, Some(l)) => l.ino,
            (None, None, None) => 0,
        }
    }

    fn dir(&mut self) -> Result<&mut DirBody, Errno> {
        match &mut self.body {
            Body::Dir(d) => Ok(d),
            _ => Err(Errno::ENOTDIR),
        }
    }

    /// The child called `name` of this (populated) directory.
    fn child(&mut self, name: &[u8]) -> Result<Arc<TmpInode>, Errno> {
        self.dir()?.children.get(name).cloned().ok_or(Errno::ENOENT)
    }

    /// `EEXIST` if this (populated) directory has a child called `name`.
    fn check_absent(&mut self, name: &[u8]) -> Result<(), Errno> {
        if self.dir()?.children.contains_key(name) {
            return Err(Errno::EEXIST);
        }
        Ok(())
    }

    fn file(&mut self) -> Result<&mut FileBody, Errno> {
        match &mut self.body {
            Body::File(f) => Ok(f),
            Body::Dir(_) => Err(Errno::EISDIR),
            _ => Err(Errno::EINVAL),
        }
    }

    /// The host fd of a lower file (kept while recently used).
    fn lower_fd(&mut self) -> Result<Arc<OwnedFd>, Errno> {
        if let Some(fd) = self.file()?.lower_fd.upgrade() {
            return Ok(fd);
        }
        let (h, _) = self.walk_lower()?;
        let fd = Arc::new(h.client.open(h.h, libc::O_RDONLY).map_err(gerr)?);
        self.file()?.lower_fd = Arc::downgrade(&fd);
        RECENT_FDS.add(&fd);
        Ok(fd)
    }

    /// The file's size, whoever holds its data.
    fn file_size(&mut self) -> Result<u64, Errno> {
        let f = self.file()?;
        if f.from_lower {
            Ok(Stat::from(self.lower_stat()?).size)
        } else {
            Ok(f.size)
        }
    }

    /// Fills `frame` with page `idx` of the lower file (zeros past EOF).
    fn fill_from_lower(&mut self, idx: u64, frame: &Frame, size: u64) -> Result<(), Errno> {
        let fd = self.lower_fd()?;
        let off = idx * PAGE_SIZE;
        let want = usize::try_from((size - off).min(PAGE_SIZE)).unwrap_or(0);
        pread_full(&fd, &mut frame.bytes_mut()[..want], off)?;
        Ok(())
    }

    /// Detaches a lower file from the host: its data moves into frames.
    fn copy_up(&mut self, fs: &Fs) -> Result<(), Errno> {
        if !self.file()?.from_lower {
            return Ok(());
        }
        self.own_xattrs()?;
        self.meta_mut()?;
        let size = self.file_size()?;
        for idx in 0..pages_for(size) {
            if self.file()?.pages.contains_key(&idx) {
                continue;
            }
            let frame = memfile().alloc_one().map_err(|_| Errno::ENOSPC)?;
            self.fill_from_lower(idx, &frame, size)?;
            // Holes (and zero pages) stay sparse.
            if frame.bytes().iter().any(|&b| b != 0) {
                self.file()?.pages.insert(idx, frame);
            }
        }
        let f = self.file()?;
        f.size = size;
        f.from_lower = false;
        f.lower_fd = Weak::new();
        fs.pages.fetch_add(f.pages.len() as u64, Ordering::Relaxed);
        self.lower = None;
        Ok(())
    }

    fn read_pages(&mut self, buf: &mut [u8], off: u64) -> Result<usize, Errno> {
        let f = self.file()?;
        if off >= f.size {
            return Ok(0);
        }
        let n = usize::try_from((f.size - off).min(buf.len() as u64)).unwrap_or(buf.len());
        let mut done = 0;
        while done < n {
            let pos = off + done as u64;
            let in_page = usize::try_from(pos % PAGE_SIZE).unwrap_or(0);
            let chunk = (PAGE_BYTES - in_page).min(n - done);
            let dst = &mut buf[done..done + chunk];
            match f.pages.get(&(pos / PAGE_SIZE)) {
                Some(p) => dst.copy_from_slice(&p.bytes()[in_page..in_page + chunk]),
                None => dst.fill(0),
            }
            done += chunk;
        }
        Ok(n)
    }

    fn write_pages(&mut self, fs: &Fs, buf: &[u8], off: u64) -> Result<usize, Errno> {
        self.copy_up(fs)?;
        if buf.is_empty() {
            return Ok(0);
        }
        if off >= MAX_FILE_SIZE {
            return Err(Errno::EFBIG);
        }
        let n = usize::try_from((MAX_FILE_SIZE - off).min(buf.len() as u64)).unwrap_or(buf.len());
        let f = self.file()?;
        let mut done = 0;
        while done < n {
            let pos = off + done as u64;
            let in_page = usize::try_from(pos % PAGE_SIZE).unwrap_or(0);
            let chunk = (PAGE_BYTES - in_page).min(n - done);
            let idx = pos / PAGE_SIZE;
            let page = match f.pages.get(&idx) {
                Some(p) => Arc::clone(p),
                None => {
                    let Ok(p) = memfile().alloc_one() else {
                        break; // out of memory: a short write, or ENOSPC below
                    };
                    fs.pages.fetch_add(1, Ordering::Relaxed);
                    f.pages.insert(idx, Arc::clone(&p));
                    p
                }
            };
            page.bytes_mut()[in_page..in_page + chunk].copy_from_slice(&buf[done..done + chunk]);
            done += chunk;
        }
        if done == 0 {
            return Err(Errno::ENOSPC);
        }
        f.size = f.size.max(off + done as u64);
        self.touch(true)?;
        Ok(done)
    }

    fn truncate(&mut self, fs: &Fs, len: u64, always_touch: bool) -> Result<(), Errno> {
        if len > MAX_FILE_SIZE {
            return Err(Errno::EFBIG);
        }
        if len == 0 && self.file()?.from_lower {
            // Nothing of the old contents survives: skip copying them.
            self.own_xattrs()?;
            self.meta_mut()?;
            let f = self.file()?;
            f.from_lower = false;
            f.pages.clear();
            f.lower_fd = Weak::new();
            self.lower = None;
        }
        self.copy_up(fs)?;
        let f = self.file()?;
        let old = f.size;
        if len < f.size {
            let keep = pages_for(len);
            let dropped = f.pages.split_off(&keep);
            fs.pages.fetch_sub(dropped.len() as u64, Ordering::Relaxed);
            // Bytes past the new end must read as zeros if it grows again.
            if let Some(p) = f.pages.get(&(len / PAGE_SIZE)) {
                let from = usize::try_from(len % PAGE_SIZE).unwrap_or(0);
                if from != 0 {
                    p.bytes_mut()[from..].fill(0);
                }
            }
        }
        f.size = len;
        if always_touch || old != len {
            self.touch(true)?;
        }
        Ok(())
    }

    /// `fallocate` allocation: zeroed pages for the holes in `off..end`,
    /// all or none (shmem undoes a failed fallocate too), then the size
    /// grows to `end` unless `keep_size`. Pages past the size stay
    /// allocated (counted in `st_blocks`) until a truncate drops them.
    fn allocate(&mut self, fs: &Fs, off: u64, end: u64, keep_size: bool) -> Result<(), Errno> {
        if end > MAX_FILE_SIZE {
            return Err(Errno::EFBIG);
        }
        self.copy_up(fs)?;
        let (first, last) = (off / PAGE_SIZE, pages_for(end));
        let f = self.file()?;
        let have = f.pages.range(first..last).count() as u64;
        // Refused before the loop, which is then bounded by free memory.
        if last - first - have > fs.free_pages() {
            return Err(Errno::ENOSPC);
        }
        let mut added = Vec::new();
        for idx in first..last {
            if f.pages.contains_key(&idx) {
                continue;
            }
            let Ok(p) = memfile().alloc_one() else {
                for i in added {
                    f.pages.remove(&i);
                }
                return Err(Errno::ENOSPC);
            };
            f.pages.insert(idx, p);
            added.push(idx);
        }
        fs.pages.fetch_add(added.len() as u64, Ordering::Relaxed);
        if !keep_size && end > f.size {
            f.size = end;
        }
        self.touch(true)
    }

    /// Hole punching: pages wholly inside `off..end` are freed, the edges
    /// zeroed. A page some mapping still holds is zeroed instead of freed,
    /// so the mapping sees the hole too (Linux unmaps it).
    fn punch_hole(&mut self, fs: &Fs, off: u64, end: u64) -> Result<(), Errno> {
        self.copy_up(fs)?;
        let f = self.file()?;
        let idxs: Vec<u64> = f
            .pages
            .range(off / PAGE_SIZE..pages_for(end))
            .map(|(i, _)| *i)
            .collect();
        let mut freed = 0;
        for idx in idxs {
            let base = idx * PAGE_SIZE;
            let from = usize::try_from(off.max(base) - base).unwrap_or(0);
            let to = usize::try_from(end.min(base + PAGE_SIZE) - base).unwrap_or(PAGE_BYTES);
            let Some(page) = f.pages.get(&idx) else {
                continue;
            };
            if from == 0 && to == PAGE_BYTES && Arc::strong_count(page) == 1 {
                f.pages.remove(&idx);
                freed += 1;
            } else {
                page.bytes_mut()[from..to].fill(0);
            }
        }
        fs.pages.fetch_sub(freed, Ordering::Relaxed);
        self.touch(true)
    }
}

impl TmpInode {
    fn new(
        fs: &Arc<Fs>,
        parent: Weak<TmpInode>,
        meta: Option<Meta>,
        lower: Option<LowerRef>,
        fmt: u32,
    ) -> Arc<TmpInode> {
        Arc::new_cyclic(|me| TmpInode {
            fs: Arc::clone(fs),
            me: me.clone(),
            state: Mutex::new(State {
                meta,
                host_xattrs: lower.is_some(),
                lower,
                lower_stat: None,
                body: Body::new(fmt, parent),
                xattrs: BTreeMap::new(),
                lower_handle: Weak::new(),
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        lock_state(&self.state)
    }

    /// This directory's state, locked, with its lower entries read in.
    fn lock_dir(&self) -> Result<MutexGuard<'_, State>, Errno> {
        let mut st = self.lock();
        self.populate(&mut st)?;
        Ok(st)
    }

    fn arc(&self) -> Result<Arc<TmpInode>, Errno> {
        self.me.upgrade().ok_or(Errno::ENOENT)
    }

    /// The node of `other` if it is a node of this same filesystem.
    fn same_fs<'a>(&self, other: &'a Arc<dyn Inode>) -> Result<&'a TmpInode, Errno> {
        match other.as_any().downcast_ref::<TmpInode>() {
            Some(t) if Arc::ptr_eq(&t.fs, &self.fs) => Ok(t),
            _ => Err(Errno::EXDEV),
        }
    }

    /// Reads a lower directory's entries into `children`, once.
    fn populate(&self, st: &mut State) -> Result<(), Errno> {
        if !st.dir()?.unpopulated {
            return Ok(());
        }
        let ld = st.dir()?.lower.clone().ok_or(Errno::EIO)?;
        let handle = ld.handle()?;
        let entries = ld.client.readdir(handle.h).map_err(gerr)?;
        let mut children = BTreeMap::new();
        for e in entries {
            if check_name(&e.name, Errno::EINVAL).is_err() {
                continue;
            }
            let (fmt, walked) = match e.kind {
                libc::DT_DIR => (libc::S_IFDIR, None),
                libc::DT_REG => (libc::S_IFREG, None),
                libc::DT_LNK => (libc::S_IFLNK, None),
                libc::DT_CHR => (libc::S_IFCHR, None),
                libc::DT_BLK => (libc::S_IFBLK, None),
                libc::DT_FIFO => (libc::S_IFIFO, None),
                libc::DT_SOCK => (libc::S_IFSOCK, None),
                _ => {
                    // DT_UNKNOWN (some host filesystems): ask for the type.
                    let (h, s) = ld.client.walk(handle.h, &e.name).map_err(gerr)?;
                    let h = GoferHandle {
                        client: Arc::clone(&ld.client),
                        h,
                    };
                    (s.mode & libc::S_IFMT, Some((s, h)))
                }
            };
            let lower = LowerRef {
                dir: Arc::clone(&ld),
                name: e.name.clone(),
                ino: e.ino,
            };
            let child = TmpInode::new(&self.fs, self.me.clone(), None, Some(lower), fmt);
            let mut cs = child.lock();
            let walked = walked.map(|(s, h)| {
                cs.lower_stat = Some(s);
                h
            });
            match &mut cs.body {
                Body::File(f) => f.from_lower = true,
                Body::Dir(d) => {
                    let sub = ld.child(&e.name);
                    if let Some(h) = walked {
                        sub.seed(h);
                    }
                    d.lower = Some(sub);
                    d.unpopulated = true;
                }
                _ => {}
            }
            drop(cs);
            children.insert(e.name, child);
        }
        let d = st.dir()?;
        d.children = children;
        d.unpopulated = false;
        Ok(())
    }

    /// Adds a new node called `name` to this directory.
    fn add_child(
        &self,
        name: &[u8],
        mode: u32,
        (uid, gid): (u32, u32),
        rdev: u64,
        target: Option<&[u8]>,
    ) -> Result<Arc<TmpInode>, Errno> {
        check_name(name, Errno::EEXIST)?;
        let _tree = self.fs.tree();
        let mut st = self.lock_dir()?;
        st.check_absent(name)?;
        // Our own attributes first, so a failure leaves nothing half-done.
        st.meta_mut()?;
        let fmt = mode & libc::S_IFMT;
        let meta = self.fs.new_meta(mode, uid, gid, rdev);
        let child = TmpInode::new(&self.fs, self.me.clone(), Some(meta), None, fmt);
        if let Some(t) = target {
            child.lock().body = Body::Symlink(Some(t.to_vec()));
        }
        st.dir()?.children.insert(name.to_vec(), Arc::clone(&child));
        if fmt == libc::S_IFDIR {
            st.meta_mut()?.nlink += 1;
        }
        st.touch(true)?;
        Ok(child)
    }

    fn child(&self, name: &[u8]) -> Result<Arc<TmpInode>, Errno> {
        self.lock_dir()?.child(name)
    }

    fn is_dir(&self) -> bool {
        matches!(self.lock().body, Body::Dir(_))
    }

    fn parent_dir(&self) -> Option<Arc<TmpInode>> {
        match &self.lock().body {
            Body::Dir(d) => d.parent.upgrade(),
            _ => None,
        }
    }

    /// Whether `self` is `anc` or below it.
    fn is_within(&self, anc: &TmpInode) -> bool {
        if std::ptr::eq(self, anc) {
            return true;
        }
        let mut cur = self.parent_dir();
        while let Some(d) = cur {
            if std::ptr::eq(&*d, anc) {
                return true;
            }
            cur = d.parent_dir();
        }
        false
    }

    /// Applies `f` to the node's attributes (already made its own).
    fn update_meta(&self, f: impl FnOnce(&mut Meta)) {
        if let Ok(m) = self.lock().meta_mut() {
            f(m);
        }
    }

    fn read_at(&self, buf: &mut [u8], off: u64) -> Result<usize, Errno> {
        let mut st = self.lock();
        if !st.file()?.from_lower {
            return st.read_pages(buf, off);
        }
        let size = st.file_size()?;
        if off >= size || buf.is_empty() {
            return Ok(0);
        }
        let fd = st.lower_fd()?;
        drop(st); // a host read of an immutable file needs no lock
        let n = usize::try_from((size - off).min(buf.len() as u64)).unwrap_or(buf.len());
        pread_full(&fd, &mut buf[..n], off)
    }
}

impl Drop for TmpInode {
    fn drop(&mut self) {
        let st = lock_state(&self.state);
        if let Body::File(f) = &st.body {
            if !f.from_lower {
                self.fs
                    .pages
                    .fetch_sub(f.pages.len() as u64, Ordering::Relaxed);
            }
        }
    }
}

impl Inode for TmpInode {
    fn stat(&self) -> Result<Stat, Errno> {
        self.lock().stat()
    }

    fn lookup(&self, name: &[u8]) -> Result<Arc<dyn Inode>, Errno> {
        if name.len() > NAME_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        let mut st = self.lock();
        let d = st.dir()?;
        match name {
            b"." => return Ok(self.arc()?),
            b".." => return Ok(d.parent.upgrade().map_or_else(|| self.arc(), Ok)?),
            _ => {}
        }
        self.populate(&mut st)?;
        Ok(st.child(name)?)
    }

    fn readdir(&self) -> Result<Vec<DirEntry>, Errno> {
        let mut st = self.lock_dir()?;
        let d = st.dir()?;
        Ok(d.children
            .iter()
            .map(|(name, c)| {
                let cs = c.lock();
                DirEntry {
                    name: name.clone(),
                    ino: cs.ino(),
                    kind: dt_kind(cs.body.fmt()),
                }
            })
            .collect())
    }

    fn readlink(&self) -> Result<Vec<u8>, Errno> {
        let mut st = self.lock();
        match &st.body {
            Body::Symlink(Some(t)) => return Ok(t.clone()),
            Body::Symlink(None) => {}
            _ => return Err(Errno::EINVAL),
        }
        let (h, _) = st.walk_lower()?;
        let target = h.client.readlink(h.h).map_err(gerr)?;
        st.body = Body::Symlink(Some(target.clone()));
        Ok(target)
    }

    fn open(&self, flags: i32) -> Result<Arc<dyn FileOps>, Errno> {
        let mut st = self.lock();
        let fmt = st.body.fmt();
        if flags & libc::O_DIRECTORY != 0 && fmt != libc::S_IFDIR {
            return Err(Errno::ENOTDIR);
        }
        let node = self.arc()?;
        match fmt {
            libc::S_IFDIR => DirFile::open(node, flags),
            libc::S_IFREG => {
                if flags & libc::O_TRUNC != 0 {
                    st.truncate(&self.fs, 0, true)?;
                } else if flags & libc::O_ACCMODE != libc::O_RDONLY {
                    st.copy_up(&self.fs)?;
                }
                Ok(Arc::new(RegularFile { node }))
            }
            libc::S_IFLNK => Err(Errno::ELOOP),
            // A FIFO is a pipe inside the sandbox, a host one too: its
            // host side is never opened, so data never crosses over.
            libc::S_IFIFO => match &st.body {
                Body::Fifo(p) => p.open_fifo(flags),
                _ => Err(Errno::ENXIO),
            },
            // Host device nodes and sockets are never reachable.
            _ if st.lower.is_some() => Err(Errno::EACCES),
            libc::S_IFCHR => open_device(st.meta()?.rdev, flags),
            // Unix sockets on tmpfs are not wired up yet.
            _ => Err(Errno::ENXIO),
        }
    }

    fn create(&self, name: &[u8], mode: u32, uid: u32, gid: u32) -> Result<Arc<dyn Inode>, Errno> {
        Ok(self.add_child(name, libc::S_IFREG | (mode & 0o7777), (uid, gid), 0, None)?)
    }

    fn mkdir(&self, name: &[u8], mode: u32, uid: u32, gid: u32) -> Result<Arc<dyn Inode>, Errno> {
        Ok(self.add_child(name, libc::S_IFDIR | (mode & 0o7777), (uid, gid), 0, None)?)
    }

    fn mknod(
        &self,
        name: &[u8],
        mode: u32,
        rdev: u64,
        uid: u32,
        gid: u32,
    ) -> Result<Arc<dyn Inode>, Errno> {
        let fmt = match mode & libc::S_IFMT {
            0 => libc::S_IFREG,
            f
            @ (libc::S_IFREG | libc::S_IFCHR | libc::S_IFBLK | libc::S_IFIFO | libc::S_IFSOCK) => f,
            libc::S_IFDIR => return Err(Errno::EPERM),
            _ => return Err(Errno::EINVAL),
        };
        let rdev = if matches!(fmt, libc::S_IFCHR | libc::S_IFBLK) {
            rdev
        } else {
            0
        };
        Ok(self.add_child(name, fmt | (mode & 0o7777), (uid, gid), rdev, None)?)
    }

    fn symlink(
        &self,
        name: &[u8],
        target: &[u8],
        uid: u32,
        gid: u32,
    ) -> Result<Arc<dyn Inode>, Errno> {
        if target.is_empty() {
            return Err(Errno::ENOENT);
        }
        if target.len() >= PATH_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        Ok(self.add_child(name, libc::S_IFLNK | 0o777, (uid, gid), 0, Some(target))?)
    }

    fn link(&self, name: &[u8], target: &Arc<dyn Inode>) -> Result<(), Errno> {
        let t = self.same_fs(target)?;
        if t.is_dir() {
            return Err(Errno::EPERM);
        }
        check_name(name, Errno::EEXIST)?;
        let t = t.arc()?;
        let _tree = self.fs.tree();
        let mut st = self.lock_dir()?;
        st.check_absent(name)?;
        st.meta_mut()?;
        {
            let mut ts = t.lock();
            let m = ts.meta_mut()?;
            if m.nlink == 0 {
                return Err(Errno::ENOENT); // unlinked files cannot come back
            }
            m.nlink += 1;
            m.ctime = Timespec::now();
        }
        st.dir()?.children.insert(name.to_vec(), t);
        st.touch(true)
    }

    fn unlink(&self, name: &[u8]) -> Result<(), Errno> {
        check_name(name, Errno::EISDIR)?;
        let _tree = self.fs.tree();
        let mut st = self.lock_dir()?;
        let child = st.child(name)?;
        {
            let mut cs = child.lock();
            if matches!(cs.body, Body::Dir(_)) {
                return Err(Errno::EISDIR);
            }
            st.meta_mut()?;
            let m = cs.meta_mut()?;
            m.nlink = m.nlink.saturating_sub(1);
            m.ctime = Timespec::now();
        }
        st.dir()?.children.remove(name);
        st.touch(true)
    }

    fn rmdir(&self, name: &[u8]) -> Result<(), Errno> {
        match name {
            b"." => return Err(Errno::EINVAL),
            b".." => return Err(Errno::ENOTEMPTY),
            _ => check_name(name, Errno::EINVAL)?,
        }
        let _tree = self.fs.tree();
        let mut st = self.lock_dir()?;
        let child = st.child(name)?;
        {
            let mut cs = child.lock();
            child.populate(&mut cs)?;
            if !cs.dir()?.children.is_empty() {
                return Err(Errno::ENOTEMPTY);
            }
            st.meta_mut()?;
            let m = cs.meta_mut()?;
            m.nlink = 0;
            m.ctime = Timespec::now();
        }
        st.dir()?.children.remove(name);
        let m = st.meta_mut()?;
        m.nlink = m.nlink.saturating_sub(1);
        st.touch(true)
    }

    fn rename(
        &self,
        old_name: &[u8],
        new_dir: &Arc<dyn Inode>,
        new_name: &[u8],
        flags: u32,
    ) -> Result<(), Errno> {
        if flags & !(RENAME_NOREPLACE | RENAME_EXCHANGE) != 0
            || flags == RENAME_NOREPLACE | RENAME_EXCHANGE
        {
            return Err(Errno::EINVAL);
        }
        let nd = self.same_fs(new_dir)?;
        check_name(old_name, Errno::EBUSY)?;
        check_name(new_name, Errno::EBUSY)?;
        let _tree = self.fs.tree();
        let old = self.child(old_name)?;
        let existing = match nd.child(new_name) {
            Ok(e) => Some(e),
            Err(Errno::ENOENT) => None,
            Err(e) => return Err(e),
        };
        let exchange = flags & RENAME_EXCHANGE != 0;
        match &existing {
            None if exchange => return Err(Errno::ENOENT),
            Some(_) if flags & RENAME_NOREPLACE != 0 => return Err(Errno::EEXIST),
            // Two names of one inode: Linux does nothing and succeeds.
            Some(e) if Arc::ptr_eq(e, &old) => return Ok(()),
            _ => {}
        }
        let old_is_dir = old.is_dir();
        let new_is_dir = existing.as_ref().is_some_and(|e| e.is_dir());
        if let (Some(e), false) = (&existing, exchange) {
            if old_is_dir && !new_is_dir {
                return Err(Errno::ENOTDIR);
            }
            if !old_is_dir && new_is_dir {
                return Err(Errno::EISDIR);
            }
            if new_is_dir {
                let mut es = e.lock();
                e.populate(&mut es)?;
                if !es.dir()?.children.is_empty() {
                    return Err(Errno::ENOTEMPTY);
                }
            }
        }
        // A directory cannot move below itself.
        if old_is_dir && nd.is_within(&old) {
            return Err(Errno::EINVAL);
        }
        if let (Some(e), true, true) = (&existing, exchange, new_is_dir) {
            if self.is_within(e) {
                return Err(Errno::EINVAL);
            }
        }
        // Everything we will update takes over its attributes from the
        // host now, so nothing below can fail halfway.
        self.lock().meta_mut()?;
        nd.lock().meta_mut()?;
        old.lock().meta_mut()?;
        if let Some(e) = &existing {
            e.lock().meta_mut()?;
        }

        // Insert before removing, so the new name never disappears.
        let cross = !std::ptr::eq(self, nd);
        nd.lock()
            .dir()?
            .children
            .insert(new_name.to_vec(), Arc::clone(&old));
        {
            let mut st = self.lock();
            let d = st.dir()?;
            match (&existing, exchange) {
                (Some(e), true) => {
                    d.children.insert(old_name.to_vec(), Arc::clone(e));
                }
                _ => {
                    d.children.remove(old_name);
                }
            }
        }
        let now = Timespec::now();
        let set_parent = |node: &TmpInode, parent: &TmpInode| {
            if let Body::Dir(d) = &mut node.lock().body {
                d.parent = parent.me.clone();
            }
        };
        if cross && old_is_dir {
            set_parent(&old, nd);
            self.update_meta(|m| m.nlink = m.nlink.saturating_sub(1));
            nd.update_meta(|m| m.nlink += 1);
        }
        if let Some(e) = &existing {
            if exchange {
                if cross && new_is_dir {
                    set_parent(e, self);
                    nd.update_meta(|m| m.nlink = m.nlink.saturating_sub(1));
                    self.update_meta(|m| m.nlink += 1);
                }
            } else {
                // The replaced node loses its name (a directory: all links).
                e.update_meta(|m| {
                    m.nlink = if new_is_dir {
                        0
                    } else {
                        m.nlink.saturating_sub(1)
                    }
                });
                if new_is_dir {
                    nd.update_meta(|m| m.nlink = m.nlink.saturating_sub(1));
                }
            }
            e.update_meta(|m| m.ctime = now);
        }
        old.update_meta(|m| m.ctime = now);
        for dir in [self, nd] {
            dir.update_meta(|m| {
                m.mtime = now;
                m.ctime = now;
            });
        }
        Ok(())
    }

    fn setattr(&self, attr: &SetAttr) -> Result<(), Errno> {
        let mut st = self.lock();
        if attr.size.is_some() {
            st.file()?;
        }
        if matches!(st.body, Body::File(_)) {
            // Changing a host file's attributes makes it ours.
            st.copy_up(&self.fs)?;
        }
        if let Some(size) = attr.size {
            st.truncate(&self.fs, size, false)?;
        }
        let m = st.meta_mut()?;
        if let Some(mode) = attr.mode {
            m.mode = (m.mode & libc::S_IFMT) | (mode & 0o7777);
        }
        if let Some(uid) = attr.uid {
            m.uid = uid;
        }
        if let Some(gid) = attr.gid {
            m.gid = gid;
        }
        if let Some(t) = attr.atime {
            m.atime = t.resolve();
        }
        if let Some(t) = attr.mtime {
            m.mtime = t.resolve();
        }
        m.ctime = Timespec::now();
        Ok(())
    }

    fn getxattr(&self, name: &[u8]) -> Result<Vec<u8>, Errno> {
        let mut st = self.lock();
        if st.host_xattrs {
            return st.host_xattr(|c, h| c.getxattr(h, name));
        }
        st.xattrs.get(name).cloned().ok_or(Errno::ENODATA)
    }

    fn setxattr(&self, name: &[u8], value: &[u8], flags: i32) -> Result<(), Errno> {
        let mut st = self.lock();
        st.own_xattrs()?;
        let exists = st.xattrs.contains_key(name);
        if flags & libc::XATTR_CREATE != 0 && exists {
            return Err(Errno::EEXIST);
        }
        if flags & libc::XATTR_REPLACE != 0 && !exists {
            return Err(Errno::ENODATA);
        }
        // Like a chmod, an xattr makes a host node ours first.
        if matches!(st.body, Body::File(_)) {
            st.copy_up(&self.fs)?;
        }
        st.touch(false)?;
        st.xattrs.insert(name.to_vec(), value.to_vec());
        Ok(())
    }

    fn listxattr(&self) -> Result<Vec<Vec<u8>>, Errno> {
        let mut st = self.lock();
        if st.host_xattrs {
            let list = st.host_xattr(|c, h| c.listxattr(h))?;
            return Ok(list
                .split(|&b| b == 0)
                .filter(|n| !n.is_empty())
                .map(<[u8]>::to_vec)
                .collect());
        }
        Ok(st.xattrs.keys().cloned().collect())
    }

    fn removexattr(&self, name: &[u8]) -> Result<(), Errno> {
        let mut st = self.lock();
        st.own_xattrs()?;
        if st.xattrs.remove(name).is_none() {
            return Err(Errno::ENODATA);
        }
        st.touch(false)
    }

    fn statfs(&self) -> Result<StatFs, Errno> {
        if let Some(root) = self.fs.lower_root.get() {
            let h = root.handle()?;
            let mut s = root.client.statfs(h.h).map_err(gerr)?;
            // The overlay is writable even though the host view is not.
            s.flags &= !i64::try_from(libc::ST_RDONLY).unwrap_or(0);
            return Ok(s);
        }
        let blocks = Fs::capacity_pages();
        let free = self.fs.free_pages();
        let files = blocks;
        let used_inodes = self.fs.next_ino.load(Ordering::Relaxed);
        Ok(StatFs {
            fs_type: TMPFS_MAGIC,
            bsize: 4096,
            blocks,
            bfree: free,
            bavail: free,
            files,
            ffree: files.saturating_sub(used_inodes),
            namelen: 255,
            frsize: 4096,
            flags: 0,
        })
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl Mappable for TmpInode {
    fn frame(&self, idx: u64) -> Result<Arc<Frame>, Errno> {
        let mut st = self.lock();
        let size = st.file_size().map_err(|_| Errno::EFAULT)?;
        match idx.checked_mul(PAGE_SIZE) {
            Some(off) if off < size => {}
            _ => return Err(Errno::EFAULT),
        }
        if let Some(p) = st.file()?.pages.get(&idx) {
            return Ok(Arc::clone(p));
        }
        let frame = memfile().alloc_one()?;
        if st.file()?.from_lower {
            st.fill_from_lower(idx, &frame, size)?;
        } else {
            self.fs.pages.fetch_add(1, Ordering::Relaxed);
        }
        st.file()?.pages.insert(idx, Arc::clone(&frame));
        Ok(frame)
    }

    fn maps_identity(&self) -> (u64, u64, String) {
        let mut st = self.lock();
        match st.stat() {
            Ok(s) => (s.dev, s.ino, String::new()),
            Err(_) => (self.fs.dev, st.ino(), String::new()),
        }
    }
}

/// A regular file in no directory, as memfd_create makes (Linux's
/// `shmem_file_setup`): the operations of an open of it. All such files
/// live on one hidden tmpfs instance.
/// For two tmpfs nodes: whether they are of the same filesystem
/// instance (`None` if either is not a tmpfs node).
pub(crate) fn same_tmpfs(a: &Arc<dyn Inode>, b: &Arc<dyn Inode>) -> Option<bool> {
    let a = a.as_any().downcast_ref::<TmpInode>()?;
    let b = b.as_any().downcast_ref::<TmpInode>()?;
    Some(Arc::ptr_eq(&a.fs, &b.fs))
}

pub(crate) fn new_unlinked_file(mode: u32, uid: u32, gid: u32) -> Arc<dyn FileOps> {
    static FS: OnceLock<Arc<Fs>> = OnceLock::new();
    let fs = FS.get_or_init(Fs::new);
    let meta = fs.new_meta(libc::S_IFREG | (mode & 0o7777), uid, gid, 0);
    let node = TmpInode::new(fs, Weak::new(), Some(meta), None, libc::S_IFREG);
    Arc::new(RegularFile { node })
}

/// An open tmpfs regular file.
#[derive(Debug)]
struct RegularFile {
    node: Arc<TmpInode>,
}

impl FileOps for RegularFile {
    fn read(&self, buf: &mut [u8], off: u64) -> Result<usize, Errno> {
        self.node.read_at(buf, off)
    }

    fn write(&self, buf: &[u8], off: u64) -> Result<usize, Errno> {
        self.node.lock().write_pages(&self.node.fs, buf, off)
    }

    fn seekable(&self) -> bool {
        true
    }

    fn mappable(&self) -> Option<Arc<dyn Mappable>> {
        Some(Arc::clone(&self.node) as Arc<dyn Mappable>)
    }

    fn truncate(&self, len: u64) -> Result<(), Errno> {
        self.node.lock().truncate(&self.node.fs, len, false)
    }

    fn fallocate(&self, how: Falloc, off: u64, end: u64) -> Option<Result<(), Errno>> {
        let mut st = self.node.lock();
        Some(match how {
            Falloc::Allocate { keep_size } => st.allocate(&self.node.fs, off, end, keep_size),
            Falloc::PunchHole => st.punch_hole(&self.node.fs, off, end),
        })
    }

    fn direct_io(&self) -> bool {
        true
    }

    fn stat(&self) -> Result<Stat, Errno> {
        self.node.stat()
    }

    fn append_offset(&self) -> Result<u64, Errno> {
        self.node.lock().file_size()
    }

    fn write_append(&self, buf: &[u8]) -> Result<(usize, u64), Errno> {
        let mut st = self.node.lock();
        st.copy_up(&self.node.fs)?;
        let off = st.file_size()?;
        let n = st.write_pages(&self.node.fs, buf, off)?;
        Ok((n, off + n as u64))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vfs::inode::TimeSet;

    fn init() {
        crate::mm::MemoryFile::init().unwrap();
    }

    fn read_all(f: &Arc<dyn FileOps>) -> Vec<u8> {
        let mut out = Vec::new();
        let mut buf = [0u8; 3000];
        loop {
            let n = f.read(&mut buf, out.len() as u64).unwrap();
            if n == 0 {
                return out;
            }
            out.extend_from_slice(&buf[..n]);
        }
    }

    fn err<T>(r: Result<T, Errno>) -> Errno {
        r.err().unwrap_or(Errno::UnknownErrno)
    }

    #[test]
    fn write_read_truncate() {
        init();
        let root = Tmpfs::new_root(0o755);
        let f = root.create(b"f", 0o644, 1, 2).unwrap();
        let st = f.stat().unwrap();
        assert_eq!(
            (st.mode, st.uid, st.gid, st.nlink, st.size),
            (libc::S_IFREG | 0o644, 1, 2, 1, 0)
        );
        let o = f.open(libc::O_RDWR).unwrap();
        assert_eq!(o.write(b"hello", 0), Ok(5));
        assert_eq!(o.write(b"!", 10000), Ok(1));
        let st = f.stat().unwrap();
        assert_eq!((st.size, st.blocks, st.blksize), (10001, 16, 4096));
        let all = read_all(&o);
        assert_eq!(&all[..5], b"hello");
        assert!(all[5..10000].iter().all(|&b| b == 0));
        o.truncate(3).unwrap();
        o.truncate(8).unwrap();
        assert_eq!(read_all(&o), b"hel\0\0\0\0\0");
        assert_eq!(f.stat().unwrap().blocks, 8);
        assert_eq!(o.write_append(b"xy"), Ok((2, 10)));
        f.setattr(&SetAttr {
            size: Some(0),
            mode: Some(0o4600),
            ..SetAttr::default()
        })
        .unwrap();
        assert_eq!(f.stat().unwrap().mode, libc::S_IFREG | 0o4600);
        assert_eq!(f.stat().unwrap().size, 0);
        let t = Timespec { sec: 5, nsec: 6 };
        f.setattr(&SetAttr {
            mtime: Some(TimeSet::At(t)),
            ..SetAttr::default()
        })
        .unwrap();
        assert_eq!(f.stat().unwrap().mtime, t);
        assert_eq!(
            err(root.setattr(&SetAttr {
                size: Some(0),
                ..SetAttr::default()
            })),
            Errno::EISDIR
        );
        assert_eq!(
            err(f.open(libc::O_RDONLY | libc::O_DIRECTORY)),
            Errno::ENOTDIR
        );
        assert_eq!(err(root.open(libc::O_RDWR)), Errno::EISDIR);
    }

    #[test]
    fn unlinked_file_stays_readable() {
        init();
        let root = Tmpfs::new_root(0o755);
        let f = root.create(b"f", 0o644, 0, 0).unwrap();
        let o = f.open(libc::O_RDWR).unwrap();
        o.write(b"data", 0).unwrap();
        root.unlink(b"f").unwrap();
        assert_eq!(err(root.lookup(b"f")), Errno::ENOENT);
        assert_eq!(read_all(&o), b"data");
        assert_eq!(f.stat().unwrap().nlink, 0);
        assert_eq!(err(root.link(b"again", &f)), Errno::ENOENT);
    }

    #[test]
    fn directory_errnos() {
        init();
        let root = Tmpfs::new_root(0o755);
        let d = root.mkdir(b"d", 0o755, 0, 0).unwrap();
        let f = root.create(b"f", 0o644, 0, 0).unwrap();
        d.create(b"inner", 0o644, 0, 0).unwrap();
        assert_eq!(root.stat().unwrap().nlink, 3);
        assert_eq!(err(root.create(b"f", 0o644, 0, 0)), Errno::EEXIST);
        assert_eq!(err(root.mkdir(b"f", 0o755, 0, 0)), Errno::EEXIST);
        assert_eq!(err(root.symlink(b"d", b"x", 0, 0)), Errno::EEXIST);
        assert_eq!(err(root.mkdir(b".", 0o755, 0, 0)), Errno::EEXIST);
        assert_eq!(err(root.unlink(b"d")), Errno::EISDIR);
        assert_eq!(err(root.unlink(b"nope")), Errno::ENOENT);
        assert_eq!(err(root.rmdir(b"f")), Errno::ENOTDIR);
        assert_eq!(err(root.rmdir(b"d")), Errno::ENOTEMPTY);
        assert_eq!(err(root.rmdir(b".")), Errno::EINVAL);
        assert_eq!(err(f.lookup(b"x")), Errno::ENOTDIR);
        assert_eq!(err(root.link(b"dl", &d)), Errno::EPERM);
        let other = Tmpfs::new_root(0o755);
        assert_eq!(err(other.link(b"fl", &f)), Errno::EXDEV);
        assert_eq!(err(root.rename(b"f", &other, b"f", 0)), Errno::EXDEV);
        assert_eq!(
            err(root.mknod(b"x", libc::S_IFDIR | 0o755, 0, 0, 0)),
            Errno::EPERM
        );
        assert_eq!(err(root.symlink(b"x", b"", 0, 0)), Errno::ENOENT);
        assert_eq!(err(root.lookup(&[b'a'; 256])), Errno::ENAMETOOLONG);
        root.link(b"f2", &f).unwrap();
        assert_eq!(f.stat().unwrap().nlink, 2);
        d.unlink(b"inner").unwrap();
        root.rmdir(b"d").unwrap();
        assert_eq!(d.stat().unwrap().nlink, 0);
        assert_eq!(root.stat().unwrap().nlink, 2);
        let names: Vec<Vec<u8>> = root
            .readdir()
            .unwrap()
            .into_iter()
            .map(|e| e.name)
            .collect();
        assert_eq!(names, vec![b"f".to_vec(), b"f2".to_vec()]);
    }

    #[test]
    fn rename_rules() {
        init();
        let root = Tmpfs::new_root(0o755);
        let a = root.mkdir(b"a", 0o755, 0, 0).unwrap();
        let b = a.mkdir(b"b", 0o755, 0, 0).unwrap();
        let full = root.mkdir(b"full", 0o755, 0, 0).unwrap();
        full.create(b"x", 0o644, 0, 0).unwrap();
        root.mkdir(b"empty", 0o755, 0, 0).unwrap();
        root.create(b"f", 0o644, 0, 0).unwrap();
        root.create(b"g", 0o644, 0, 0).unwrap();
        assert_eq!(err(root.rename(b"a", &b, b"a2", 0)), Errno::EINVAL);
        assert_eq!(err(root.rename(b"a", &a, b"a2", 0)), Errno::EINVAL);
        assert_eq!(err(root.rename(b"f", &root, b"a", 0)), Errno::EISDIR);
        assert_eq!(err(root.rename(b"a", &root, b"f", 0)), Errno::ENOTDIR);
        assert_eq!(err(root.rename(b"a", &root, b"full", 0)), Errno::ENOTEMPTY);
        assert_eq!(
            err(root.rename(b"f", &root, b"g", RENAME_NOREPLACE)),
            Errno::EEXIST
        );
        assert_eq!(
            err(root.rename(b"f", &root, b"nope", RENAME_EXCHANGE)),
            Errno::ENOENT
        );
        assert_eq!(err(root.rename(b"nope", &root, b"x", 0)), Errno::ENOENT);
        assert_eq!(
            err(root.rename(b"f", &root, b"g", RENAME_EXCHANGE | RENAME_NOREPLACE)),
            Errno::EINVAL
        );
        // Replace an empty dir, across directories.
        let before = root.stat().unwrap().nlink;
        b.mkdir(b"c", 0o755, 0, 0).unwrap();
        b.rename(b"c", &root, b"empty", 0).unwrap();
        assert_eq!(root.stat().unwrap().nlink, before);
        assert_eq!(b.stat().unwrap().nlink, 2);
        // Replace a file.
        let g = root.lookup(b"g").unwrap();
        root.rename(b"f", &root, b"g", 0).unwrap();
        assert_eq!(err(root.lookup(b"f")), Errno::ENOENT);
        assert_eq!(g.stat().unwrap().nlink, 0);
        // Exchange a file and a directory.
        root.rename(b"g", &root, b"a", RENAME_EXCHANGE).unwrap();
        assert!(root.lookup(b"g").unwrap().stat().unwrap().is_dir());
        assert_eq!(root.lookup(b"g").unwrap().lookup(b"b").map(|_| ()), Ok(()));
        // Two names of one file: nothing happens.
        root.link(b"h", &root.lookup(b"a").unwrap()).unwrap();
        root.rename(b"a", &root, b"h", 0).unwrap();
        assert!(root.lookup(b"a").is_ok());
    }

    #[test]
    fn mmap_frames_share_data() {
        init();
        let root = Tmpfs::new_root(0o755);
        let f = root.create(b"f", 0o644, 0, 0).unwrap();
        let o = f.open(libc::O_RDWR).unwrap();
        o.truncate(5000).unwrap();
        let m = o.mappable().unwrap();
        let p1 = m.frame(1).unwrap();
        p1.bytes_mut()[0] = b'Z';
        let mut b = [0u8; 1];
        o.read(&mut b, 4096).unwrap();
        assert_eq!(&b, b"Z");
        o.write(b"Q", 0).unwrap();
        assert_eq!(m.frame(0).unwrap().bytes()[0], b'Q');
        assert_eq!(err(m.frame(2)), Errno::EFAULT);
        assert_eq!(err(m.frame(u64::MAX)), Errno::EFAULT);
        assert_eq!(root.statfs().unwrap().fs_type, TMPFS_MAGIC);
    }

    #[test]
    fn fallocate_allocates_and_punches_pages() {
        init();
        let root = Tmpfs::new_root(0o755);
        let f = root.create(b"f", 0o644, 0, 0).unwrap();
        let o = f.open(libc::O_RDWR).unwrap();
        let alloc = |keep_size, off, end| o.fallocate(Falloc::Allocate { keep_size }, off, end);
        assert_eq!(alloc(false, 0, 5000), Some(Ok(())));
        let st = f.stat().unwrap();
        assert_eq!((st.size, st.blocks), (5000, 16));
        assert_eq!(alloc(true, 5000, 3 * 4096), Some(Ok(())));
        let st = f.stat().unwrap();
        assert_eq!((st.size, st.blocks), (5000, 24));
        assert_eq!(alloc(false, 0, MAX_FILE_SIZE + 1), Some(Err(Errno::EFBIG)));
        assert_eq!(alloc(true, 0, 1 << 60), Some(Err(Errno::ENOSPC)));
        assert_eq!(f.stat().unwrap().blocks, 24);
        o.write(&[b'x'; 8192], 0).unwrap();
        // A mapped page is zeroed in place, an unmapped one freed.
        let mapped = o.mappable().unwrap().frame(0).unwrap();
        assert_eq!(o.fallocate(Falloc::PunchHole, 0, 8192), Some(Ok(())));
        assert_eq!(f.stat().unwrap().blocks, 16);
        assert!(mapped.bytes().iter().all(|&b| b == 0));
        assert_eq!(read_all(&o), vec![0; 8192]);
        // Truncating down drops the pages allocated past the end.
        o.truncate(100).unwrap();
        assert_eq!(f.stat().unwrap().blocks, 8);
        assert!(o.direct_io());
        assert!(!root.open(libc::O_RDONLY).unwrap().direct_io());
    }

    mod overlay {
        use super::*;
        use std::os::unix::fs::MetadataExt;
        use std::path::{Path, PathBuf};

        /// A host directory for the gofer to serve, removed on drop.
        struct TempDir(PathBuf);

        impl TempDir {
            fn new() -> TempDir {
                static N: AtomicU64 = AtomicU64::new(0);
                let n = N.fetch_add(1, Ordering::Relaxed);
                let p =
                    std::env::temp_dir().join(format!("sentry-overlay-{}-{n}", std::process::id()));
                let _ = std::fs::remove_dir_all(&p);
                std::fs::create_dir_all(p.join("d/sub")).unwrap();
                std::fs::write(p.join("f"), b"lower contents").unwrap();
                std::fs::write(p.join("d/g"), b"in d").unwrap();
                std::fs::write(p.join("d/sub/h"), b"deep").unwrap();
                let big: Vec<u8> = (0..10000u32).map(|i| (i % 251) as u8).collect();
                std::fs::write(p.join("big"), big).unwrap();
                std::os::unix::fs::symlink("f", p.join("link")).unwrap();
                nix::unistd::mkfifo(
                    &p.join("fifo"),
                    nix::sys::stat::Mode::from_bits_truncate(0o644),
                )
                .unwrap();
                TempDir(p)
            }
            fn path(&self) -> &Path {
                &self.0
            }
        }

        impl Drop for TempDir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }

        fn start(dir: &Path) -> Arc<dyn Inode> {
            init();
            let (a, b) = nix::sys::socket::socketpair(
                nix::sys::socket::AddressFamily::Unix,
                nix::sys::socket::SockType::SeqPacket,
                None,
                nix::sys::socket::SockFlag::SOCK_CLOEXEC,
            )
            .unwrap();
            let root = gofer::open_root(dir).unwrap();
            // The server ends when the client side (held by the nodes) closes.
            std::thread::spawn(move || gofer::serve(b, root));
            overlay_root(Arc::new(Client::new(a))).unwrap()
        }

        #[test]
        fn lookup_read_readdir() {
            let dir = TempDir::new();
            let root = start(dir.path());
            let f = root.lookup(b"f").unwrap();
            let st = f.stat().unwrap();
            let host = std::fs::metadata(dir.path().join("f")).unwrap();
            assert_eq!(
                (st.ino, st.dev, st.size, st.mode),
                (host.ino(), host.dev(), 14, host.mode())
            );
            assert_eq!(
                read_all(&f.open(libc::O_RDONLY).unwrap()),
                b"lower contents"
            );
            let mut names: Vec<(Vec<u8>, u8)> = root
                .readdir()
                .unwrap()
                .into_iter()
                .map(|e| (e.name, e.kind))
                .collect();
            names.sort();
            let want: Vec<(Vec<u8>, u8)> = vec![
                (b"big".to_vec(), libc::DT_REG),
                (b"d".to_vec(), libc::DT_DIR),
                (b"f".to_vec(), libc::DT_REG),
                (b"fifo".to_vec(), libc::DT_FIFO),
                (b"link".to_vec(), libc::DT_LNK),
            ];
            assert_eq!(names, want);
            assert_eq!(root.lookup(b"link").unwrap().readlink().unwrap(), b"f");
            let g = root.lookup(b"d").unwrap().lookup(b"g").unwrap();
            assert_eq!(read_all(&g.open(libc::O_RDONLY).unwrap()), b"in d");
            let fifo = root.lookup(b"fifo").unwrap();
            assert_eq!(fifo.stat().unwrap().mode & libc::S_IFMT, libc::S_IFIFO);
            // A host FIFO opens as a FIFO of the sandbox's own.
            assert_eq!(
                err(fifo.open(libc::O_WRONLY | libc::O_NONBLOCK)),
                Errno::ENXIO
            );
            let r = fifo.open(libc::O_RDONLY | libc::O_NONBLOCK).unwrap();
            let w = fifo.open(libc::O_WRONLY | libc::O_NONBLOCK).unwrap();
            assert_eq!(w.write(b"x", 0), Ok(1));
            let mut one = [0u8; 1];
            assert_eq!(r.read(&mut one, 0), Ok(1));
            assert_eq!(err(root.lookup(b"missing")), Errno::ENOENT);
            assert!(root.statfs().unwrap().namelen > 0);
        }

        #[test]
        fn xattrs_copy_up_lower_files() {
            let dir = TempDir::new();
            let root = start(dir.path());
            let f = root.lookup(b"f").unwrap();
            // The host file has none.
            assert_eq!(f.getxattr(b"user.a"), Err(Errno::ENODATA));
            assert_eq!(user_names(f.listxattr().unwrap()), Vec::<Vec<u8>>::new());
            f.setxattr(b"user.a", b"v", 0).unwrap();
            assert_eq!(f.getxattr(b"user.a"), Ok(b"v".to_vec()));
            assert_eq!(
                f.setxattr(b"user.a", b"w", libc::XATTR_CREATE),
                Err(Errno::EEXIST)
            );
            assert_eq!(
                f.setxattr(b"user.b", b"w", libc::XATTR_REPLACE),
                Err(Errno::ENODATA)
            );
            // The data came along; the host file is untouched.
            let o = f.open(libc::O_RDONLY).unwrap();
            assert_eq!(read_all(&o), b"lower contents");
            assert_eq!(user_names(f.listxattr().unwrap()), vec![b"user.a".to_vec()]);
            f.removexattr(b"user.a").unwrap();
            assert_eq!(f.removexattr(b"user.a"), Err(Errno::ENODATA));
            let d = root.lookup(b"d").unwrap();
            d.setxattr(b"user.d", b"", 0).unwrap();
            assert_eq!(d.getxattr(b"user.d"), Ok(vec![]));
            assert_eq!(d.lookup(b"g").unwrap().stat().unwrap().size, 4);
        }

        /// Sets a `user.*` attribute of a host file.
        fn set_host_xattr(path: &Path, name: &str, value: &[u8]) {
            let p = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
            let n = std::ffi::CString::new(name).unwrap();
            // SAFETY: both strings are NUL-terminated and `value` is
            // readable for its length during the call.
            let r = unsafe {
                libc::setxattr(
                    p.as_ptr(),
                    n.as_ptr(),
                    value.as_ptr().cast(),
                    value.len(),
                    0,
                )
            };
            assert_eq!(r, 0, "{}", std::io::Error::last_os_error());
        }

        fn user_names(mut names: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
            names.retain(|n| n.starts_with(b"user."));
            names.sort();
            names
        }

        #[test]
        fn host_xattrs_show_until_they_become_ours() {
            let dir = TempDir::new();
            set_host_xattr(&dir.path().join("f"), "user.h", b"host value");
            set_host_xattr(&dir.path().join("d"), "user.hd", b"on d");
            set_host_xattr(dir.path(), "user.root", b"r");
            let root = start(dir.path());
            assert_eq!(root.getxattr(b"user.root"), Ok(b"r".to_vec()));
            let f = root.lookup(b"f").unwrap();
            assert_eq!(f.getxattr(b"user.h"), Ok(b"host value".to_vec()));
            assert_eq!(f.getxattr(b"user.x"), Err(Errno::ENODATA));
            assert_eq!(user_names(f.listxattr().unwrap()), vec![b"user.h".to_vec()]);
            // A copy-up takes them along; from then on the host's do not
            // matter.
            f.open(libc::O_RDWR).unwrap().write(b"L", 0).unwrap();
            set_host_xattr(&dir.path().join("f"), "user.h", b"changed on the host");
            set_host_xattr(&dir.path().join("f"), "user.late", b"");
            assert_eq!(f.getxattr(b"user.h"), Ok(b"host value".to_vec()));
            assert_eq!(user_names(f.listxattr().unwrap()), vec![b"user.h".to_vec()]);
            // A directory's become its own at the first change.
            let d = root.lookup(b"d").unwrap();
            d.setxattr(b"user.new", b"1", 0).unwrap();
            d.removexattr(b"user.hd").unwrap();
            assert_eq!(
                user_names(d.listxattr().unwrap()),
                vec![b"user.new".to_vec()]
            );
            let host = std::ffi::CString::new(dir.path().join("d").as_os_str().as_encoded_bytes())
                .unwrap();
            let mut buf = [0u8; 16];
            // SAFETY: the path and name are NUL-terminated and the kernel
            // writes at most `buf.len()` bytes into `buf`.
            let n = unsafe {
                libc::getxattr(
                    host.as_ptr(),
                    c"user.hd".as_ptr(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                )
            };
            assert_eq!(&buf[..usize::try_from(n).unwrap()], b"on d");
            // Host FIFOs show none.
            let fifo = root.lookup(b"fifo").unwrap();
            assert_eq!(fifo.getxattr(b"security.x"), Err(Errno::ENODATA));
            assert_eq!(fifo.listxattr(), Ok(vec![]));
        }

        #[test]
        fn copy_up_leaves_host_alone() {
            let dir = TempDir::new();
            let root = start(dir.path());
            let f = root.lookup(b"f").unwrap();
            let ino = f.stat().unwrap().ino;
            let o = f.open(libc::O_RDWR).unwrap();
            assert_eq!(o.write(b"UPPER", 0), Ok(5));
            assert_eq!(read_all(&o), b"UPPER contents");
            assert_eq!(f.stat().unwrap().ino, ino);
            assert_eq!(
                std::fs::read(dir.path().join("f")).unwrap(),
                b"lower contents"
            );
            f.setattr(&SetAttr {
                mode: Some(0o600),
                ..SetAttr::default()
            })
            .unwrap();
            assert_eq!(f.stat().unwrap().mode, libc::S_IFREG | 0o600);
            let g = root.lookup(b"d").unwrap().lookup(b"g").unwrap();
            g.open(libc::O_WRONLY | libc::O_TRUNC).unwrap();
            assert_eq!(g.stat().unwrap().size, 0);
            assert_eq!(std::fs::read(dir.path().join("d/g")).unwrap(), b"in d");
        }

        #[test]
        fn namespace_changes_stay_in_memory() {
            let dir = TempDir::new();
            let root = start(dir.path());
            root.unlink(b"f").unwrap();
            assert_eq!(err(root.lookup(b"f")), Errno::ENOENT);
            assert!(dir.path().join("f").exists());
            assert_eq!(err(root.rmdir(b"d")), Errno::ENOTEMPTY);
            root.rename(b"d", &root, b"e", 0).unwrap();
            let h = root
                .lookup(b"e")
                .unwrap()
                .lookup(b"sub")
                .unwrap()
                .lookup(b"h")
                .unwrap();
            assert_eq!(read_all(&h.open(libc::O_RDONLY).unwrap()), b"deep");
            let e = root.lookup(b"e").unwrap();
            e.mkdir(b"new", 0o700, 0, 0).unwrap();
            e.create(b"g", 0o644, 0, 0).map(|_| ()).unwrap_err();
            assert!(!dir.path().join("d/new").exists() && dir.path().join("d").exists());
            let link = root.lookup(b"link").unwrap();
            root.link(b"big2", &root.lookup(b"big").unwrap()).unwrap();
            assert_eq!(root.lookup(b"big").unwrap().stat().unwrap().nlink, 2);
            assert_eq!(link.readlink().unwrap(), b"f");
        }

        #[test]
        fn evicted_host_fds_reopen() {
            let dir = TempDir::new();
            for i in 0..300 {
                std::fs::write(dir.path().join(format!("d/sub/n{i}")), format!("{i}")).unwrap();
            }
            let root = start(dir.path());
            let sub = root.lookup(b"d").unwrap().lookup(b"sub").unwrap();
            let files: Vec<_> = (0..300)
                .map(|i| sub.lookup(format!("n{i}").as_bytes()).unwrap())
                .collect();
            for _ in 0..2 {
                for (i, f) in files.iter().enumerate() {
                    assert_eq!(
                        read_all(&f.open(libc::O_RDONLY).unwrap()),
                        format!("{i}").as_bytes()
                    );
                }
            }
        }

        #[test]
        fn mmap_of_lower_file() {
            let dir = TempDir::new();
            let root = start(dir.path());
            let big = root.lookup(b"big").unwrap();
            let o = big.open(libc::O_RDONLY).unwrap();
            let m = o.mappable().unwrap();
            let host = std::fs::read(dir.path().join("big")).unwrap();
            let mut mapped = Vec::new();
            for i in 0..3 {
                mapped.extend_from_slice(m.frame(i).unwrap().bytes());
            }
            assert_eq!(&mapped[..10000], &host[..]);
            assert!(mapped[10000..].iter().all(|&b| b == 0));
            assert_eq!(err(m.frame(3)), Errno::EFAULT);
            // Copy-up keeps what was mapped and the rest of the data.
            let w = big.open(libc::O_RDWR).unwrap();
            w.write(b"!", 9999).unwrap();
            assert_eq!(m.frame(2).unwrap().bytes()[9999 - 8192], b'!');
            assert_eq!(&read_all(&w)[..9999], &host[..9999]);
        }
    }
}
