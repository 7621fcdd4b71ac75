//! inotify: watches on inodes and the event queues they fill (Linux's
//! `fs/notify/inotify/`).
//!
//! An [`Inotify`] is the open file of one `inotify_init` instance: its
//! watches (watch descriptor -> inode and mask) and its queue of encoded
//! `struct inotify_event`s. Every live instance is listed in a registry;
//! the syscall layer reports what it does to files through the small
//! hooks at the end of this file ([`opened`], [`modified`], [`created`],
//! [`removed`], [`renamed`], [`attrib`], and the close in
//! `OpenFile::drop`), which cost one atomic load while no instance exists.

use std::any::Any;
use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};

use nix::errno::Errno;

use super::{same_inode, Dentry, FileOps, Inode, OpenFile};
use crate::kernel::task::lock;
use crate::kernel::wait::WaitQueue;

pub const IN_ACCESS: u32 = 0x1;
pub const IN_MODIFY: u32 = 0x2;
pub const IN_ATTRIB: u32 = 0x4;
pub const IN_CLOSE_WRITE: u32 = 0x8;
pub const IN_CLOSE_NOWRITE: u32 = 0x10;
pub const IN_OPEN: u32 = 0x20;
pub const IN_MOVED_FROM: u32 = 0x40;
pub const IN_MOVED_TO: u32 = 0x80;
pub const IN_CREATE: u32 = 0x100;
pub const IN_DELETE: u32 = 0x200;
pub const IN_DELETE_SELF: u32 = 0x400;
pub const IN_MOVE_SELF: u32 = 0x800;
pub const IN_ALL_EVENTS: u32 = 0xfff;
pub const IN_UNMOUNT: u32 = 0x2000;
pub const IN_Q_OVERFLOW: u32 = 0x4000;
pub const IN_IGNORED: u32 = 0x8000;
pub const IN_ONLYDIR: u32 = 0x0100_0000;
pub const IN_DONT_FOLLOW: u32 = 0x0200_0000;
pub const IN_EXCL_UNLINK: u32 = 0x0400_0000;
pub const IN_MASK_CREATE: u32 = 0x1000_0000;
pub const IN_MASK_ADD: u32 = 0x2000_0000;
pub const IN_ISDIR: u32 = 0x4000_0000;
pub const IN_ONESHOT: u32 = 0x8000_0000;

/// Every bit `inotify_add_watch` accepts.
pub const IN_VALID_MASK: u32 = IN_ALL_EVENTS
    | IN_ONLYDIR
    | IN_DONT_FOLLOW
    | IN_EXCL_UNLINK
    | IN_MASK_CREATE
    | IN_MASK_ADD
    | IN_ONESHOT;

/// Events that a directory's watch also gets for its children (with the
/// child's name), as `fsnotify_parent` sends them.
const CHILD_EVENTS: u32 =
    IN_ACCESS | IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_CLOSE_NOWRITE | IN_OPEN;

/// `sizeof(struct inotify_event)`: wd, mask, cookie, len.
pub const EVENT_SIZE: usize = 16;

/// Queued events per instance before `IN_Q_OVERFLOW`
/// (`/proc/sys/fs/inotify/max_queued_events`).
const MAX_QUEUED: usize = 16384;

/// Watches per instance (`max_user_watches`, per instance here).
const MAX_WATCHES: usize = 8192;

#[derive(Debug)]
struct Watch {
    inode: Arc<dyn Inode>,
    mask: u32,
}

#[derive(Debug, Default)]
struct State {
    watches: BTreeMap<i32, Watch>,
    last_wd: i32,
    /// Encoded events, oldest first.
    queue: VecDeque<Vec<u8>>,
    bytes: usize,
}

/// One inotify instance.
#[derive(Debug)]
pub struct Inotify {
    state: Mutex<State>,
    wq: WaitQueue,
}

/// Live instances; `ACTIVE` counts them so the hooks return at once while
/// nobody watches anything.
fn registry() -> &'static Mutex<Vec<Weak<Inotify>>> {
    static R: OnceLock<Mutex<Vec<Weak<Inotify>>>> = OnceLock::new();
    R.get_or_init(|| Mutex::new(Vec::new()))
}

static ACTIVE: AtomicUsize = AtomicUsize::new(0);
static COOKIE: AtomicU32 = AtomicU32::new(0);

fn encode(wd: i32, mask: u32, cookie: u32, name: &[u8]) -> Vec<u8> {
    // The name is NUL-terminated and padded to a multiple of the header.
    let len = if name.is_empty() {
        0
    } else {
        (name.len() + 1).div_ceil(EVENT_SIZE) * EVENT_SIZE
    };
    let mut e = Vec::with_capacity(EVENT_SIZE + len);
    e.extend_from_slice(&wd.to_ne_bytes());
    e.extend_from_slice(&mask.to_ne_bytes());
    e.extend_from_slice(&cookie.to_ne_bytes());
    e.extend_from_slice(&u32::try_from(len).unwrap_or(0).to_ne_bytes());
    e.extend_from_slice(name);
    e.resize(EVENT_SIZE + len, 0);
    e
}

impl State {
    /// Queues an event, merging it with an identical last one and turning
    /// a full queue's last slot into `IN_Q_OVERFLOW`.
    fn push(&mut self, ev: Vec<u8>) {
        if self.queue.back() == Some(&ev) {
            return;
        }
        if self.queue.len() >= MAX_QUEUED {
            return;
        }
        let ev = if self.queue.len() + 1 == MAX_QUEUED {
            encode(-1, IN_Q_OVERFLOW, 0, b"")
        } else {
            ev
        };
        self.bytes += ev.len();
        self.queue.push_back(ev);
    }
}

impl Inotify {
    /// A new instance, registered to receive events.
    pub fn new() -> Arc<Inotify> {
        let i = Arc::new(Inotify {
            state: Mutex::new(State::default()),
            wq: WaitQueue::new(),
        });
        let mut r = lock(registry());
        r.retain(|w| w.strong_count() > 0);
        r.push(Arc::downgrade(&i));
        ACTIVE.store(r.len(), Ordering::Release);
        i
    }

    /// `inotify_add_watch` on a resolved inode: the watch descriptor,
    /// the same one again for an inode already watched.
    pub fn add_watch(&self, inode: &Arc<dyn Inode>, mask: u32) -> Result<i32, Errno> {
        let mut s = lock(&self.state);
        let existing = s
            .watches
            .iter_mut()
            .find(|(_, w)| same_inode(&w.inode, inode));
        if let Some((&wd, w)) = existing {
            if mask & IN_MASK_CREATE != 0 {
                return Err(Errno::EEXIST);
            }
            let keep = if mask & IN_MASK_ADD != 0 { w.mask } else { 0 };
            w.mask = keep | (mask & !(IN_MASK_ADD | IN_MASK_CREATE));
            return Ok(wd);
        }
        if s.watches.len() >= MAX_WATCHES {
            return Err(Errno::ENOSPC);
        }
        // Linux hands out descriptors cyclically from 1.
        let mut wd = s.last_wd;
        loop {
            wd = if wd == i32::MAX { 1 } else { wd + 1 };
            if !s.watches.contains_key(&wd) {
                break;
            }
        }
        s.last_wd = wd;
        s.watches.insert(
            wd,
            Watch {
                inode: Arc::clone(inode),
                mask: mask & !(IN_MASK_ADD | IN_MASK_CREATE),
            },
        );
        Ok(wd)
    }

    /// `inotify_rm_watch`: drops the watch and queues `IN_IGNORED`.
    pub fn rm_watch(&self, wd: i32) -> Result<(), Errno> {
        {
            let mut s = lock(&self.state);
            s.watches.remove(&wd).ok_or(Errno::EINVAL)?;
            s.push(encode(wd, IN_IGNORED, 0, b""));
        }
        self.wq.notify();
        Ok(())
    }

    /// Queues `mask` for every watch of `inode`; `gone` drops those
    /// watches afterwards with `IN_IGNORED` (the inode was deleted).
    fn deliver(&self, inode: &Arc<dyn Inode>, mask: u32, cookie: u32, name: &[u8], gone: bool) {
        let mut queued = false;
        {
            let mut s = lock(&self.state);
            let hits: Vec<(i32, u32)> = s
                .watches
                .iter()
                .filter(|(_, w)| same_inode(&w.inode, inode))
                .map(|(&wd, w)| (wd, w.mask))
                .collect();
            for (wd, wmask) in hits {
                let events = mask & IN_ALL_EVENTS & wmask;
                if events != 0 {
                    s.push(encode(wd, events | (mask & IN_ISDIR), cookie, name));
                    queued = true;
                }
                if gone || (events != 0 && wmask & IN_ONESHOT != 0) {
                    s.watches.remove(&wd);
                    s.push(encode(wd, IN_IGNORED, 0, b""));
                    queued = true;
                }
            }
        }
        if queued {
            self.wq.notify();
        }
    }
}

impl FileOps for Inotify {
    fn read(&self, buf: &mut [u8], _off: u64) -> Result<usize, Errno> {
        let mut s = lock(&self.state);
        let first = s.queue.front().map(Vec::len).ok_or(Errno::EAGAIN)?;
        if buf.len() < first {
            return Err(Errno::EINVAL);
        }
        let mut n = 0;
        while let Some(ev) = s.queue.front() {
            let Some(out) = buf.get_mut(n..n + ev.len()) else {
                break;
            };
            out.copy_from_slice(ev);
            n += ev.len();
            s.bytes -= ev.len();
            s.queue.pop_front();
        }
        Ok(n)
    }

    fn write(&self, _buf: &[u8], _off: u64) -> Result<usize, Errno> {
        Err(Errno::EINVAL)
    }

    fn poll(&self) -> i16 {
        if lock(&self.state).queue.is_empty() {
            0
        } else {
            libc::POLLIN | libc::POLLRDNORM
        }
    }

    fn wait_queue(&self) -> Option<&WaitQueue> {
        Some(&self.wq)
    }

    fn fionread(&self) -> Result<usize, Errno> {
        Ok(lock(&self.state).bytes)
    }

    fn anon_name(&self) -> String {
        "anon_inode:inotify".to_string()
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl Drop for Inotify {
    fn drop(&mut self) {
        let mut r = lock(registry());
        r.retain(|w| w.strong_count() > 0);
        ACTIVE.store(r.len(), Ordering::Release);
    }
}

/// Live instances, or none at all without touching the registry's lock.
fn instances() -> Vec<Arc<Inotify>> {
    if ACTIVE.load(Ordering::Acquire) == 0 {
        return Vec::new();
    }
    lock(registry()).iter().filter_map(Weak::upgrade).collect()
}

fn isdir(inode: &Arc<dyn Inode>) -> u32 {
    if inode.stat().is_ok_and(|s| s.is_dir()) {
        IN_ISDIR
    } else {
        0
    }
}

/// Sends `mask` to the watches of `inode`, and (for the events Linux
/// passes up) to its directory's watches with its name.
fn notify_dentry(all: &[Arc<Inotify>], d: &Dentry, mask: u32) {
    let mask = mask | isdir(&d.inode);
    if mask & CHILD_EVENTS != 0 {
        if let Some(p) = &d.parent {
            if !same_inode(&p.inode, &d.inode) {
                for i in all {
                    i.deliver(&p.inode, mask, 0, &d.name, false);
                }
            }
        }
    }
    for i in all {
        i.deliver(&d.inode, mask, 0, b"", false);
    }
}

/// A file was opened through `open(2)`.
pub fn opened(f: &OpenFile) {
    let all = instances();
    if let (false, Some(d)) = (all.is_empty(), &f.dentry) {
        notify_dentry(&all, d, IN_OPEN);
    }
}

/// Data was written to `f`.
pub fn modified(f: &OpenFile) {
    let all = instances();
    if let (false, Some(d)) = (all.is_empty(), &f.dentry) {
        notify_dentry(&all, d, IN_MODIFY);
    }
}

/// The last reference to an open file description went away.
pub fn released(f: &OpenFile) {
    let all = instances();
    if let (false, Some(d)) = (all.is_empty(), &f.dentry) {
        let acc = f.flags() & libc::O_ACCMODE;
        let ev = if acc == libc::O_WRONLY || acc == libc::O_RDWR {
            IN_CLOSE_WRITE
        } else {
            IN_CLOSE_NOWRITE
        };
        notify_dentry(&all, d, ev);
    }
}

/// Attributes of the file at `d` changed (chmod, chown, utimes).
pub fn attrib(d: &Dentry) {
    let all = instances();
    if !all.is_empty() {
        notify_dentry(&all, d, IN_ATTRIB);
    }
}

/// `name` was created in `dir` as `child`.
pub fn created(dir: &Arc<dyn Inode>, name: &[u8], child: &Arc<dyn Inode>) {
    for i in instances() {
        i.deliver(dir, IN_CREATE | isdir(child), 0, name, false);
    }
}

/// The file `d` was just created (`open` with `O_CREAT`).
pub fn created_dentry(d: &Dentry) {
    if let Some(p) = &d.parent {
        created(&p.inode, &d.name, &d.inode);
    }
}

/// `name` (which was `child`) was removed from `dir`.
pub fn removed(dir: &Arc<dyn Inode>, name: &[u8], child: &Arc<dyn Inode>) {
    let all = instances();
    if all.is_empty() {
        return;
    }
    let st = child.stat();
    let is_dir = st.as_ref().is_ok_and(|s| s.is_dir());
    let flag = if is_dir { IN_ISDIR } else { 0 };
    // A directory goes with its last name; a file once no link is left.
    let gone = is_dir || st.as_ref().map_or(true, |s| s.nlink == 0);
    for i in &all {
        // Unlinking a file changes its link count (Linux's
        // `fsnotify_link_count`); rmdir does not report that.
        if !is_dir {
            i.deliver(child, IN_ATTRIB, 0, b"", false);
        }
        i.deliver(dir, IN_DELETE | flag, 0, name, false);
    }
    if gone {
        for i in &all {
            i.deliver(child, IN_DELETE_SELF, 0, b"", true);
        }
    }
}

/// `old_name` of `old_dir` (the inode `moved`) became `new_name` of
/// `new_dir`, replacing `replaced` if there was one.
pub fn renamed(
    (old_dir, old_name): (&Arc<dyn Inode>, &[u8]),
    (new_dir, new_name): (&Arc<dyn Inode>, &[u8]),
    moved: &Arc<dyn Inode>,
    replaced: Option<&Arc<dyn Inode>>,
) {
    let all = instances();
    if all.is_empty() {
        return;
    }
    let cookie = COOKIE.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
    let flag = isdir(moved);
    for i in &all {
        i.deliver(old_dir, IN_MOVED_FROM | flag, cookie, old_name, false);
        i.deliver(new_dir, IN_MOVED_TO | flag, cookie, new_name, false);
        i.deliver(moved, IN_MOVE_SELF, 0, b"", false);
    }
    if let Some(r) = replaced {
        if !same_inode(r, moved) && r.stat().map_or(true, |s| s.nlink == 0 || s.is_dir()) {
            for i in &all {
                i.deliver(r, IN_DELETE_SELF, 0, b"", true);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_padded_to_the_header_size() {
        assert_eq!(encode(1, IN_CREATE, 0, b"").len(), 16);
        let e = encode(3, IN_CREATE, 7, b"abc");
        assert_eq!(e.len(), 32);
        assert_eq!(&e[12..16], &16u32.to_ne_bytes());
        assert_eq!(&e[16..20], b"abc\0");
        assert_eq!(encode(1, IN_CREATE, 0, &[b'x'; 15]).len(), 32);
        assert_eq!(encode(1, IN_CREATE, 0, &[b'x'; 16]).len(), 48);
    }

    #[test]
    fn identical_events_merge_and_reads_need_room() {
        let i = Inotify::new();
        {
            let mut s = lock(&i.state);
            s.push(encode(1, IN_MODIFY, 0, b"f"));
            s.push(encode(1, IN_MODIFY, 0, b"f"));
            s.push(encode(1, IN_OPEN, 0, b""));
        }
        assert_eq!(i.fionread(), Ok(48));
        let mut small = [0u8; 20];
        assert_eq!(i.read(&mut small, 0), Err(Errno::EINVAL));
        let mut buf = [0u8; 40];
        assert_eq!(i.read(&mut buf, 0), Ok(32));
        assert_eq!(i.poll(), libc::POLLIN | libc::POLLRDNORM);
        let mut buf = [0u8; 64];
        assert_eq!(i.read(&mut buf, 0), Ok(16));
        assert_eq!(i.read(&mut buf, 0), Err(Errno::EAGAIN));
    }
}
