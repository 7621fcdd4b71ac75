//! epoll instances (Linux's `fs/eventpoll.c`).
//!
//! An instance keeps an interest list of watches keyed by (fd, open file
//! description). Each watch of a file with a wait queue registers a
//! [`Waker`] with a callback there, as Linux's `ep_poll_callback`: a wakeup
//! of the file arms the watch (for `EPOLLET`) and wakes the instance's own
//! queue, so `epoll_wait` sleeps on that one queue, and an epoll fd is
//! itself pollable (by poll, select or another epoll).
//!
//! Readiness is always re-read from [`FileOps::poll`] when events are
//! collected; an edge-triggered watch is only looked at when a wakeup
//! armed it since it was last collected. Files backed by a host fd have no
//! queue: their edge is a readiness bit that was clear at the previous
//! collection, and waiters re-poll them every few milliseconds.
//!
//! A watch holds its file weakly: when the open file description goes
//! away (its last fd closed), the watch disappears, as on Linux.

use std::any::Any;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};

use nix::errno::Errno;

use super::{FileOps, OpenFile};
use crate::kernel::task::lock;
use crate::kernel::wait::{WaitQueue, Waker};

pub const EPOLLIN: u32 = 0x001;
pub const EPOLLOUT: u32 = 0x004;
pub const EPOLLERR: u32 = 0x008;
pub const EPOLLHUP: u32 = 0x010;
pub const EPOLLEXCLUSIVE: u32 = 1 << 28;
pub const EPOLLWAKEUP: u32 = 1 << 29;
pub const EPOLLONESHOT: u32 = 1 << 30;
pub const EPOLLET: u32 = 1 << 31;
/// Bits that say how to watch rather than what to watch for.
const PRIVATE_BITS: u32 = EPOLLWAKEUP | EPOLLONESHOT | EPOLLET | EPOLLEXCLUSIVE;
/// What an `EPOLLEXCLUSIVE` watch may ask for.
pub const EXCLUSIVE_OK_BITS: u32 =
    EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLWAKEUP | EPOLLET | EPOLLEXCLUSIVE;

pub const EPOLL_CTL_ADD: i32 = 1;
pub const EPOLL_CTL_DEL: i32 = 2;
pub const EPOLL_CTL_MOD: i32 = 3;

/// Linux's EP_MAX_NESTS: how deep epoll instances may watch each other.
const MAX_NESTS: usize = 4;

#[derive(Debug)]
struct Watch {
    fd: i32,
    file: Weak<OpenFile>,
    /// The description's address: the key together with `fd`.
    key: usize,
    /// What to report, with `EPOLLERR|EPOLLHUP` and the private bits.
    events: u32,
    data: u64,
    /// Set by a wakeup of the file (or a MOD); cleared when collected.
    armed: Arc<AtomicBool>,
    /// Registered on the file's wait queue, if it has one.
    waker: Option<Arc<Waker>>,
    /// The file's ops, whose queue may outlive the description (a FIFO's
    /// pipe), to unregister from it.
    ops: Weak<dyn FileOps>,
    /// Host-fd files: readiness at the previous collection.
    last: u32,
    host: bool,
}

impl Drop for Watch {
    fn drop(&mut self) {
        if let (Some(w), Some(ops)) = (&self.waker, self.ops.upgrade()) {
            if let Some(q) = ops.wait_queue() {
                q.remove(w);
            }
        }
    }
}

impl Watch {
    fn disabled(&self) -> bool {
        self.events & !PRIVATE_BITS == 0
    }
}

#[derive(Debug, Default)]
struct Inner {
    watches: Mutex<Vec<Watch>>,
    wq: WaitQueue,
}

/// One epoll instance (the ops of an epoll fd).
#[derive(Debug, Default)]
pub struct EpollFile {
    inner: Arc<Inner>,
}

/// A file's readiness as epoll bits, with the `*NORM` aliases.
fn file_events(f: &OpenFile) -> u32 {
    let mut r = f.ops.poll();
    if r & libc::POLLIN != 0 {
        r |= libc::POLLRDNORM;
    }
    if r & libc::POLLOUT != 0 {
        r |= libc::POLLWRNORM;
    }
    u32::from(u16::from_ne_bytes(r.to_ne_bytes()))
}

impl EpollFile {
    pub fn new() -> EpollFile {
        EpollFile::default()
    }

    /// The epoll instance an open file is, if it is one.
    pub fn of(f: &OpenFile) -> Option<&EpollFile> {
        f.ops.as_any().downcast_ref::<EpollFile>()
    }

    pub fn wq(&self) -> &WaitQueue {
        &self.inner.wq
    }

    /// Whether some watched file is host-backed (waiters must re-poll).
    pub fn has_host(&self) -> bool {
        lock(&self.inner.watches).iter().any(|w| w.host)
    }

    /// How deep the instances under this one nest (0: none), stopping
    /// early past [`MAX_NESTS`]; `None` if `target` is among them.
    fn depth_below(&self, target: &Arc<Inner>, budget: usize) -> Option<usize> {
        if Arc::ptr_eq(&self.inner, target) {
            return None;
        }
        if budget == 0 {
            return Some(MAX_NESTS + 1);
        }
        let files: Vec<Arc<OpenFile>> = lock(&self.inner.watches)
            .iter()
            .filter_map(|w| w.file.upgrade())
            .collect();
        let mut deepest = 0;
        for f in &files {
            if let Some(e) = EpollFile::of(f) {
                deepest = deepest.max(1 + e.depth_below(target, budget - 1)?);
            }
        }
        Some(deepest)
    }

    /// `epoll_ctl` once the arguments are checked: `event` is the
    /// requested (events, data) for ADD and MOD.
    pub fn ctl(
        &self,
        op: i32,
        fd: i32,
        file: &Arc<OpenFile>,
        event: (u32, u64),
    ) -> Result<(), Errno> {
        if op == EPOLL_CTL_ADD {
            if let Some(e) = EpollFile::of(file) {
                // Adding `e` under us must not close a loop or nest deeper
                // than Linux allows.
                match e.depth_below(&self.inner, MAX_NESTS) {
                    Some(d) if d < MAX_NESTS => {}
                    _ => return Err(Errno::ELOOP),
                }
            }
        }
        let key = Arc::as_ptr(file) as usize;
        let mut ws = lock(&self.inner.watches);
        ws.retain(|w| w.file.strong_count() > 0);
        let pos = ws.iter().position(|w| w.fd == fd && w.key == key);
        let (events, data) = event;
        match (op, pos) {
            (EPOLL_CTL_ADD, Some(_)) => return Err(Errno::EEXIST),
            (EPOLL_CTL_ADD, None) => {
                let armed = Arc::new(AtomicBool::new(true));
                let waker = file.ops.wait_queue().map(|q| {
                    let a = Arc::clone(&armed);
                    let ep: Weak<Inner> = Arc::downgrade(&self.inner);
                    let w = Waker::with_callback(move || {
                        a.store(true, Ordering::SeqCst);
                        if let Some(ep) = ep.upgrade() {
                            ep.wq.notify();
                        }
                    });
                    q.add(&w);
                    w
                });
                ws.push(Watch {
                    fd,
                    file: Arc::downgrade(file),
                    key,
                    events: events | EPOLLERR | EPOLLHUP,
                    data,
                    armed,
                    waker,
                    ops: Arc::downgrade(&file.ops),
                    last: 0,
                    host: file.ops.host_fd().is_some(),
                });
            }
            (EPOLL_CTL_DEL, Some(i)) => {
                ws.remove(i);
            }
            (EPOLL_CTL_MOD, Some(i)) => {
                let w = &mut ws[i];
                if w.events & EPOLLEXCLUSIVE != 0 {
                    return Err(Errno::EINVAL);
                }
                w.events = events | EPOLLERR | EPOLLHUP;
                w.data = data;
                w.last = 0;
                w.armed.store(true, Ordering::SeqCst);
            }
            (EPOLL_CTL_DEL | EPOLL_CTL_MOD, None) => return Err(Errno::ENOENT),
            _ => return Err(Errno::EINVAL),
        }
        drop(ws);
        self.inner.wq.notify();
        Ok(())
    }

    /// Collects up to `max` ready events, consuming edges and one-shots,
    /// as `epoll_wait` does.
    pub fn collect(&self, max: usize) -> Vec<(u32, u64)> {
        let mut ws = lock(&self.inner.watches);
        ws.retain(|w| w.file.strong_count() > 0);
        let mut out = Vec::new();
        let mut reported = Vec::new();
        for (i, w) in ws.iter_mut().enumerate() {
            if out.len() >= max {
                break;
            }
            if w.disabled() {
                continue;
            }
            let Some(f) = w.file.upgrade() else { continue };
            let ready = if w.events & EPOLLET != 0 {
                if w.host {
                    let r = file_events(&f);
                    if r & !w.last != 0 {
                        w.armed.store(true, Ordering::SeqCst);
                    }
                    w.last = r;
                }
                // Disarm before polling: a wakeup from now on re-arms.
                if !w.armed.swap(false, Ordering::SeqCst) {
                    continue;
                }
                file_events(&f)
            } else {
                file_events(&f)
            };
            let rev = ready & w.events & !PRIVATE_BITS;
            if rev == 0 {
                continue;
            }
            out.push((rev, w.data));
            if w.events & EPOLLONESHOT != 0 {
                w.events &= PRIVATE_BITS;
            }
            reported.push(i);
        }
        // Reported level-triggered watches go to the back, so a small
        // maxevents still visits every ready file in turn (Linux requeues
        // them at the tail of its ready list).
        for (n, i) in reported.into_iter().enumerate() {
            let w = ws.remove(i - n);
            ws.push(w);
        }
        out
    }

    /// Whether `collect` would report something (without consuming).
    fn any_ready(&self) -> bool {
        let ws = lock(&self.inner.watches);
        ws.iter().any(|w| {
            if w.disabled() {
                return false;
            }
            let Some(f) = w.file.upgrade() else {
                return false;
            };
            let r = file_events(&f);
            let armed = w.armed.load(Ordering::SeqCst) || (w.host && r & !w.last != 0);
            (w.events & EPOLLET == 0 || armed) && r & w.events & !PRIVATE_BITS != 0
        })
    }

    /// A host fd among the watched files, so that waiters on this epoll
    /// fd re-poll it.
    fn any_host_fd(&self) -> Option<RawFd> {
        let ws = lock(&self.inner.watches);
        ws.iter()
            .filter(|w| w.host)
            .find_map(|w| w.file.upgrade().and_then(|f| f.ops.host_fd()))
    }
}

impl FileOps for EpollFile {
    fn poll(&self) -> i16 {
        if self.any_ready() {
            libc::POLLIN
        } else {
            0
        }
    }

    fn wait_queue(&self) -> Option<&WaitQueue> {
        Some(&self.inner.wq)
    }

    /// Only used to make waiters re-poll: an epoll watching host-backed
    /// files is as ready as they are.
    fn host_fd(&self) -> Option<RawFd> {
        self.any_host_fd()
    }

    fn anon_name(&self) -> String {
        "anon_inode:[eventpoll]".to_string()
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vfs::eventfd::EventFd;

    fn eventfd(n: u64) -> Arc<OpenFile> {
        OpenFile::new(None, Arc::new(EventFd::new(n, false)), libc::O_RDWR)
    }

    fn bump(f: &OpenFile) {
        assert_eq!(f.ops.write(&1u64.to_ne_bytes(), 0), Ok(8));
    }

    #[test]
    fn level_edge_and_oneshot() {
        let ep = EpollFile::new();
        let (a, b, c) = (eventfd(1), eventfd(1), eventfd(1));
        assert_eq!(ep.ctl(EPOLL_CTL_ADD, 3, &a, (EPOLLIN, 1)), Ok(()));
        assert_eq!(ep.ctl(EPOLL_CTL_ADD, 4, &b, (EPOLLIN | EPOLLET, 2)), Ok(()));
        assert_eq!(
            ep.ctl(EPOLL_CTL_ADD, 5, &c, (EPOLLIN | EPOLLONESHOT, 3)),
            Ok(())
        );
        assert_eq!(
            ep.ctl(EPOLL_CTL_ADD, 3, &a, (EPOLLIN, 1)),
            Err(Errno::EEXIST)
        );
        assert_eq!(ep.collect(8).len(), 3);
        // Level stays; edge and one-shot are spent.
        assert_eq!(ep.collect(8), vec![(EPOLLIN, 1)]);
        bump(&b);
        bump(&c);
        let mut got: Vec<u64> = ep.collect(8).iter().map(|e| e.1).collect();
        got.sort_unstable();
        assert_eq!(got, vec![1, 2]);
        assert_eq!(ep.ctl(EPOLL_CTL_MOD, 5, &c, (EPOLLIN, 4)), Ok(()));
        assert!(ep.collect(8).contains(&(EPOLLIN, 4)));
        // The last reference to a file going away drops its watch.
        drop(a);
        assert_eq!(ep.ctl(EPOLL_CTL_DEL, 4, &b, (0, 0)), Ok(()));
        assert_eq!(ep.collect(8), vec![(EPOLLIN, 4)]);
    }

    #[test]
    fn nesting_and_loops() {
        let outer = Arc::new(EpollFile::new());
        let inner = Arc::new(EpollFile::new());
        let of = OpenFile::new(None, outer.clone(), libc::O_RDWR);
        let inf = OpenFile::new(None, inner.clone(), libc::O_RDWR);
        let e = eventfd(0);
        assert_eq!(inner.ctl(EPOLL_CTL_ADD, 3, &e, (EPOLLIN, 7)), Ok(()));
        assert_eq!(outer.ctl(EPOLL_CTL_ADD, 4, &inf, (EPOLLIN, 8)), Ok(()));
        assert_eq!(
            inner.ctl(EPOLL_CTL_ADD, 5, &of, (EPOLLIN, 9)),
            Err(Errno::ELOOP)
        );
        assert!(outer.collect(8).is_empty());
        bump(&e);
        assert_eq!(outer.poll(), libc::POLLIN);
        assert_eq!(outer.collect(8), vec![(EPOLLIN, 8)]);
    }
}
