//! Open file descriptions: what an fd refers to.
//!
//! [`FileOps`] never blocks: an operation that would have to wait returns
//! `EAGAIN`, and the syscall layer waits on [`FileOps::wait_queue`] (or on
//! the host fd of [`FileOps::host_fd`]) until [`FileOps::poll`] says the
//! file is ready, unless the description is `O_NONBLOCK`.

use std::any::Any;
use std::fmt::Debug;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use nix::errno::Errno;

use super::dentry::Dentry;
use super::inode::{DirEntry, Inode, Stat};
use super::lock::{locks, FileKey, Owner};
use crate::kernel::wait::WaitQueue;
use crate::mm::{Frame, Mappable};

/// The operations of one open file.
pub trait FileOps: Send + Sync + Debug {
    /// Reads at `off` (ignored by streams). `Ok(0)` is end of file.
    fn read(&self, _buf: &mut [u8], _off: u64) -> Result<usize, Errno> {
        Err(Errno::EINVAL)
    }

    /// A read of a stream whose wait may end on a timer (a terminal's
    /// VMIN/VTIME): like [`FileOps::read`], but `timer` lives across the
    /// retries of one read(2). `EAGAIN` with `timer.deadline` set asks
    /// the caller to sleep at most until then and retry; a retry after
    /// the deadline settles for what there is.
    fn read_timed(&self, buf: &mut [u8], timer: &mut ReadTimer) -> Result<usize, Errno> {
        let _ = timer;
        self.read(buf, 0)
    }

    /// Writes at `off` (ignored by streams).
    fn write(&self, _buf: &[u8], _off: u64) -> Result<usize, Errno> {
        Err(Errno::EINVAL)
    }

    /// Whether `lseek`/`pread` apply (`ESPIPE` otherwise).
    fn seekable(&self) -> bool {
        false
    }

    fn readdir(&self) -> Result<Vec<DirEntry>, Errno> {
        Err(Errno::ENOTDIR)
    }

    /// `POLLIN|POLLOUT|POLLHUP|POLLERR` bits that hold right now.
    fn poll(&self) -> i16 {
        libc::POLLIN | libc::POLLOUT
    }

    /// Notified whenever [`FileOps::poll`] may have changed; `None` for
    /// files that are always ready (or whose readiness is the host fd's).
    fn wait_queue(&self) -> Option<&WaitQueue> {
        None
    }

    /// A host fd whose readiness must be polled on the host.
    fn host_fd(&self) -> Option<RawFd> {
        None
    }

    /// Linux's per-driver `llseek` for files whose offset is not a plain
    /// byte position: `Some(result)` replaces the generic `lseek`
    /// arithmetic (`cur` is the current position). `None`: generic.
    fn llseek(&self, _cur: u64, _off: i64, _whence: i32) -> Option<Result<u64, Errno>> {
        None
    }

    /// Whether `read`/`write` move the file position. Devices such as
    /// `/dev/null` and `/dev/zero` never do.
    fn advances_position(&self) -> bool {
        true
    }

    /// `mmap` gives anonymous memory instead of file pages (`/dev/zero`).
    fn maps_anonymous(&self) -> bool {
        false
    }

    /// Bytes readable now (`ioctl(FIONREAD)`).
    fn fionread(&self) -> Result<usize, Errno> {
        Err(Errno::ENOTTY)
    }

    /// The pages `mmap` maps; `None` means `ENODEV`.
    fn mappable(&self) -> Option<Arc<dyn Mappable>> {
        None
    }

    /// Lets a file refuse or redirect a mapping before it is made (sealed
    /// memfds): `shared` and `prot` as asked, `may_write` if the
    /// description is writable. `Ok(None)` maps [`OpenFile::mappable`].
    fn mmap_hook(
        &self,
        _shared: bool,
        _prot: i32,
        _may_write: bool,
    ) -> Result<Option<MmapPlan>, Errno> {
        Ok(None)
    }

    fn truncate(&self, _len: u64) -> Result<(), Errno> {
        Err(Errno::EINVAL)
    }

    /// `fallocate` of `off..end` on a file with storage of its own
    /// (tmpfs pages): `Some` once done. `None` leaves it to the syscall,
    /// which can only change the size and write zeros into a hole.
    fn fallocate(&self, _how: Falloc, _off: u64, _end: u64) -> Option<Result<(), Errno>> {
        None
    }

    /// Whether `O_DIRECT` may be set (Linux's `FMODE_CAN_ODIRECT`).
    fn direct_io(&self) -> bool {
        false
    }

    fn fsync(&self) -> Result<(), Errno> {
        Ok(())
    }

    /// `fstat` of a file with no dentry (pipes, sockets, anon inodes).
    /// Linux's anon inodes report mode 0600 with no file type.
    fn stat(&self) -> Result<Stat, Errno> {
        Ok(Stat {
            mode: 0o600,
            nlink: 1,
            blksize: 4096,
            ..Stat::default()
        })
    }

    /// The name `/proc/PID/fd` shows for a file with no dentry.
    fn anon_name(&self) -> String {
        "anon_inode:[unknown]".to_string()
    }

    /// A host terminal (the syscall layer forwards tty ioctls to it).
    fn is_tty(&self) -> bool {
        false
    }

    /// Whether an `EPIPE` from [`FileOps::write`] raises `SIGPIPE` (unix
    /// datagram and seqpacket sockets return it quietly).
    fn sigpipe_on_epipe(&self) -> bool {
        true
    }

    /// Where an `O_APPEND` write starts (the current size).
    fn append_offset(&self) -> Result<u64, Errno> {
        Err(Errno::ESPIPE)
    }

    /// An `O_APPEND` write: returns the bytes written and the offset after
    /// them. Files that can override this to find the end and write under
    /// one lock, so concurrent appenders never overwrite each other.
    fn write_append(&self, buf: &[u8]) -> Result<(usize, u64), Errno> {
        let off = self.append_offset()?;
        let n = self.write(buf, off)?;
        Ok((n, off + n as u64))
    }

    fn as_any(&self) -> &dyn Any;
}

/// An open directory of any filesystem: reading or writing it is
/// `EISDIR`, and its listing and attributes are its inode's, asked afresh
/// on every call.
#[derive(Debug)]
pub struct DirFile {
    dir: Arc<dyn Inode>,
}

impl DirFile {
    /// What `open(2)` of the directory `dir` with `flags` gives: only
    /// read-only opens are allowed (`EISDIR`).
    pub fn open(dir: Arc<dyn Inode>, flags: i32) -> Result<Arc<dyn FileOps>, Errno> {
        if flags & libc::O_ACCMODE != libc::O_RDONLY {
            return Err(Errno::EISDIR);
        }
        Ok(Arc::new(DirFile { dir }))
    }
}

impl FileOps for DirFile {
    fn read(&self, _buf: &mut [u8], _off: u64) -> Result<usize, Errno> {
        Err(Errno::EISDIR)
    }

    fn write(&self, _buf: &[u8], _off: u64) -> Result<usize, Errno> {
        Err(Errno::EISDIR)
    }

    fn seekable(&self) -> bool {
        true
    }

    fn readdir(&self) -> Result<Vec<DirEntry>, Errno> {
        self.dir.readdir()
    }

    fn stat(&self) -> Result<Stat, Errno> {
        self.dir.stat()
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// The two `fallocate` operations tmpfs (Linux's `shmem_fallocate`) has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Falloc {
    /// Give the range storage, growing the size unless `keep_size`.
    Allocate { keep_size: bool },
    /// Free the range's storage; it reads as zeros, the size stays.
    PunchHole,
}

/// The state of one blocking read(2) for [`FileOps::read_timed`].
#[derive(Debug, Default)]
pub struct ReadTimer {
    /// The description is non-blocking: the read will not sleep.
    pub nonblocking: bool,
    /// When the read stops waiting for more.
    pub deadline: Option<std::time::Instant>,
    /// What the file had ready when `deadline` was last set.
    pub seen: usize,
}

/// What [`FileOps::mmap_hook`] decided a mapping maps.
#[derive(Debug)]
pub struct MmapPlan {
    pub mappable: Arc<dyn Mappable>,
    /// Whether a shared mapping may ever gain PROT_WRITE (VM_MAYWRITE).
    pub may_write_shared: bool,
}

/// An open file description, shared by dup'ed fds and across fork.
#[derive(Debug)]
pub struct OpenFile {
    /// Where it was opened; `None` for pipes, sockets and anon inodes.
    pub dentry: Option<Arc<Dentry>>,
    pub ops: Arc<dyn FileOps>,
    /// `O_ACCMODE` plus status flags (`O_APPEND`, `O_NONBLOCK`, …).
    pub flags: AtomicI32,
    pub pos: Mutex<u64>,
    /// The mappable with this file's path, made once so that successive
    /// mmaps of one description compare equal (and their VMAs merge).
    named_mappable: OnceLock<Option<Arc<dyn Mappable>>>,
    /// The directory listing getdents is walking, taken when it starts at
    /// position 0: entries added or removed meanwhile do not shift it
    /// (POSIX leaves them unspecified; closing fds while reading
    /// /proc/self/fd, or rm -r, must not skip entries).
    pub dir_snapshot: Mutex<Option<Arc<Vec<DirEntry>>>>,
    /// The file's identity in the lock table, set once this description
    /// takes an OFD or flock lock (so dropping it knows what to release).
    lock_key: OnceLock<FileKey>,
}

impl Drop for OpenFile {
    fn drop(&mut self) {
        super::inotify::released(self);
        if let Some(key) = self.lock_key.get() {
            let me = Owner::Description(std::ptr::from_ref(self) as usize);
            locks().release(*key, me);
        }
    }
}

impl OpenFile {
    pub fn new(dentry: Option<Arc<Dentry>>, ops: Arc<dyn FileOps>, flags: i32) -> Arc<OpenFile> {
        Arc::new(OpenFile {
            dentry,
            ops,
            flags: AtomicI32::new(flags),
            pos: Mutex::new(0),
            named_mappable: OnceLock::new(),
            dir_snapshot: Mutex::new(None),
            lock_key: OnceLock::new(),
        })
    }

    pub fn flags(&self) -> i32 {
        self.flags.load(Ordering::Relaxed)
    }

    /// Replaces the status flags `fcntl(F_SETFL)` may change, keeping the
    /// access mode.
    pub fn set_status_flags(&self, flags: i32) {
        const CHANGEABLE: i32 =
            libc::O_APPEND | libc::O_NONBLOCK | libc::O_ASYNC | libc::O_DIRECT | libc::O_NOATIME;
        let _ = self
            .flags
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |old| {
                Some((old & !CHANGEABLE) | (flags & CHANGEABLE))
            });
    }

    pub fn readable(&self) -> bool {
        let acc = self.flags() & libc::O_ACCMODE;
        self.flags() & libc::O_PATH == 0 && (acc == libc::O_RDONLY || acc == libc::O_RDWR)
    }

    pub fn writable(&self) -> bool {
        let acc = self.flags() & libc::O_ACCMODE;
        self.flags() & libc::O_PATH == 0 && (acc == libc::O_WRONLY || acc == libc::O_RDWR)
    }

    pub fn nonblocking(&self) -> bool {
        self.flags() & libc::O_NONBLOCK != 0
    }

    pub fn append(&self) -> bool {
        self.flags() & libc::O_APPEND != 0
    }

    /// The absolute path of the file, or its anon name (`pipe:[N]`).
    pub fn path(&self) -> Vec<u8> {
        match &self.dentry {
            Some(d) => d.path(),
            None => self.ops.anon_name().into_bytes(),
        }
    }

    /// `fstat`: the inode's stat if the file has one, else the ops'.
    pub fn stat(&self) -> Result<Stat, Errno> {
        match &self.dentry {
            Some(d) => d.inode.stat(),
            None => self.ops.stat(),
        }
    }

    /// The identity locks on this file are kept under: the inode's
    /// (device, inode number), or this description's ops object for files
    /// without a dentry.
    pub fn file_key(&self) -> Result<FileKey, Errno> {
        match &self.dentry {
            Some(d) => {
                let st = d.inode.stat()?;
                Ok((st.dev, st.ino))
            }
            None => Ok((
                u64::MAX,
                Arc::as_ptr(&self.ops).cast::<u8>() as usize as u64,
            )),
        }
    }

    /// Like [`OpenFile::file_key`], and remembers that this description
    /// owns locks, to release them when it is dropped.
    pub fn lock_key_for_description(&self) -> Result<FileKey, Errno> {
        if let Some(k) = self.lock_key.get() {
            return Ok(*k);
        }
        let k = self.file_key()?;
        Ok(*self.lock_key.get_or_init(|| k))
    }

    /// The lock-table owner for OFD and flock locks of this description.
    pub fn description_owner(&self) -> Owner {
        Owner::Description(std::ptr::from_ref(self) as usize)
    }

    /// What `mmap` maps, named after this file for `/proc/PID/maps`.
    /// `None` means the file cannot be mapped (`ENODEV`).
    pub fn mappable(&self) -> Option<Arc<dyn Mappable>> {
        self.named_mappable
            .get_or_init(|| {
                let inner = self.ops.mappable()?;
                let path = String::from_utf8_lossy(&self.path()).into_owned();
                Some(Arc::new(NamedMappable { inner, path }) as Arc<dyn Mappable>)
            })
            .clone()
    }
}

/// A mappable with the path it was opened by.
#[derive(Debug)]
struct NamedMappable {
    inner: Arc<dyn Mappable>,
    path: String,
}

impl Mappable for NamedMappable {
    fn frame(&self, idx: u64) -> Result<Arc<Frame>, Errno> {
        self.inner.frame(idx)
    }

    fn maps_identity(&self) -> (u64, u64, String) {
        let (dev, ino, _) = self.inner.maps_identity();
        (dev, ino, self.path.clone())
    }
}
