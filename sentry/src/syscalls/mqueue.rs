//! POSIX message queues: mq_open, mq_unlink, mq_timedsend,
//! mq_timedreceive, mq_notify, mq_getsetattr. Queues live in one
//! sentry-wide table by name (the kernel gets the name without glibc's
//! leading '/'); a queue descriptor is pollable (POLLIN: a message waits,
//! POLLOUT: there is room).
//!
//! mq_notify's SIGEV_THREAD: glibc (and musl) implement it with an
//! unbound `AF_NETLINK` socket on which the kernel posts a cookie, and a
//! helper thread that reads it. The sentry has no netlink sockets, so
//! glibc's `socket(AF_NETLINK, SOCK_RAW, 0)` fails and its mq_notify
//! reports ENOSYS, as it does on a Linux kernel without that socket
//! family. The system call itself answers SIGEV_THREAD as Linux does for
//! a descriptor that is not a netlink socket (EBADF, ENOTSOCK, EINVAL).

use std::any::Any;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use nix::errno::Errno;

use super::path::{check_sticky, Ids, MAY_READ, MAY_WRITE};
use super::time::{duration_of, read_timespec};
use super::{caps, ok, Args, SysResult};
use crate::kernel::ctx::TaskCtx;
use crate::kernel::run::send_to_group;
use crate::kernel::signal::{SigInfo, NSIG};
use crate::kernel::task::{lock, Creds, ThreadGroup};
use crate::kernel::wait::WaitQueue;
use crate::mm::MemoryManager;
use crate::vfs::inode::Stat;
use crate::vfs::{FileOps, OpenFile};

const MQ_PRIO_MAX: u32 = 32768;
/// Defaults and limits (fs.mqueue.msg_default, msgsize_default,
/// msg_max, msgsize_max, queues_max; HARD_MSGMAX, HARD_MSGSIZEMAX).
pub const MSG_DEFAULT: i64 = 10;
pub const MSGSIZE_DEFAULT: i64 = 8192;
pub const MSG_MAX: i64 = 10;
pub const MSGSIZE_MAX: i64 = 8192;
pub const QUEUES_MAX: usize = 256;
const HARD_MSGMAX: i64 = 65536;
const HARD_MSGSIZEMAX: i64 = 16 << 20;
/// `struct mq_attr`: eight longs.
const MQ_ATTR_SIZE: usize = 64;
const NAME_MAX: usize = 255;

/// `struct sigevent`'s size and its `sigev_notify` values.
const SIGEVENT_SIZE: usize = 64;
const SIGEV_SIGNAL: i32 = 0;
const SIGEV_NONE: i32 = 1;
const SIGEV_THREAD: i32 = 2;
/// The cookie a SIGEV_THREAD request carries (NOTIFY_COOKIE_LEN).
const NOTIFY_COOKIE_LEN: usize = 32;
/// `si_code` of a message-arrival signal.
const SI_MESGQ: i32 = -3;

/// A process's mq_notify registration.
#[derive(Debug)]
struct Notify {
    owner: Weak<ThreadGroup>,
    /// The owner's address space at registration: after an exec (a new
    /// one) no signal is sent, as Linux checks `self_exec_id`.
    mm: Weak<MemoryManager>,
    /// `Some((signo, value))` for SIGEV_SIGNAL, `None` for SIGEV_NONE.
    signal: Option<(i32, u64)>,
}

impl Notify {
    /// The owner, while it lives. A registration ends when its owner
    /// closes the queue (`mqueue_flush_file`), which exit does too.
    fn live_owner(&self) -> Option<Arc<ThreadGroup>> {
        self.owner.upgrade().filter(|g| !lock(&g.state).zombie)
    }
}

/// A queue's messages and who waits for them.
#[derive(Debug, Default)]
struct QueueState {
    /// Highest priority first, oldest first within a priority.
    msgs: Vec<(u32, Vec<u8>)>,
    notify: Option<Notify>,
    /// Receivers asleep in mq_timedreceive: a message for one of them
    /// is no arrival on an empty queue (Linux hands it over directly).
    waiting_receivers: usize,
}

impl QueueState {
    /// The registration, unless its owner is gone.
    fn live_notify(&mut self) -> Option<&Notify> {
        if self
            .notify
            .as_ref()
            .is_some_and(|n| n.live_owner().is_none())
        {
            self.notify = None;
        }
        self.notify.as_ref()
    }
}

/// One queue.
#[derive(Debug)]
struct Queue {
    maxmsg: usize,
    msgsize: usize,
    uid: u32,
    gid: u32,
    mode: u32,
    ino: u64,
    st: Mutex<QueueState>,
    /// Notified on every send and receive.
    wq: WaitQueue,
}

static QUEUES: Mutex<BTreeMap<Vec<u8>, Arc<Queue>>> = Mutex::new(BTreeMap::new());
static NEXT_INO: AtomicU64 = AtomicU64::new(1);

impl Queue {
    fn qsize(&self) -> usize {
        lock(&self.st).msgs.iter().map(|m| m.1.len()).sum()
    }

    /// The inode attributes permission checks see.
    fn stat(&self) -> Stat {
        Stat {
            ino: self.ino,
            mode: libc::S_IFREG | self.mode,
            nlink: 1,
            uid: self.uid,
            gid: self.gid,
            size: 80,
            blksize: 4096,
            ..Stat::default()
        }
    }
}

/// An open queue description.
#[derive(Debug)]
struct MqFile {
    name: Vec<u8>,
    q: Arc<Queue>,
}

impl FileOps for MqFile {
    /// The status line Linux's mqueuefs gives a read.
    fn read(&self, buf: &mut [u8], off: u64) -> Result<usize, Errno> {
        let (how, signo, pid) = {
            let mut st = lock(&self.q.st);
            match st.live_notify() {
                None => (0, 0, 0),
                Some(n) => {
                    let pid = n.owner.upgrade().map_or(0, |g| g.pid);
                    match n.signal {
                        Some((signo, _)) => (SIGEV_SIGNAL, signo, pid),
                        None => (SIGEV_NONE, 0, pid),
                    }
                }
            }
        };
        let text = format!(
            "QSIZE:{:<10} NOTIFY:{:<5} SIGNO:{:<5} NOTIFY_PID:{:<6}\n",
            self.q.qsize(),
            how,
            signo,
            pid
        );
        let bytes = text.as_bytes();
        let off = usize::try_from(off).unwrap_or(usize::MAX);
        if off >= bytes.len() {
            return Ok(0);
        }
        let n = (bytes.len() - off).min(buf.len());
        buf[..n].copy_from_slice(&bytes[off..off + n]);
        Ok(n)
    }

    fn seekable(&self) -> bool {
        true
    }

    fn poll(&self) -> i16 {
        let n = lock(&self.q.st).msgs.len();
        let mut r = 0;
        if n > 0 {
            r |= libc::POLLIN | libc::POLLRDNORM;
        }
        if n < self.q.maxmsg {
            r |= libc::POLLOUT | libc::POLLWRNORM;
        }
        r
    }

    fn wait_queue(&self) -> Option<&WaitQueue> {
        Some(&self.q.wq)
    }

    fn stat(&self) -> Result<Stat, Errno> {
        Ok(self.q.stat())
    }

    fn anon_name(&self) -> String {
        format!("/{}", String::from_utf8_lossy(&self.name))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// A queue name argument: ENOENT if empty, EACCES for names no mqueue
/// directory entry can have.
fn read_name(t: &TaskCtx, addr: u64) -> Result<Vec<u8>, Errno> {
    let name = t.read_path(addr)?;
    if name.is_empty() {
        return Err(Errno::ENOENT);
    }
    if name.len() > NAME_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    if name.contains(&b'/') || name == b"." || name == b".." {
        return Err(Errno::EACCES);
    }
    Ok(name)
}

fn creds(t: &TaskCtx) -> Creds {
    lock(&t.tg().creds).clone()
}

fn read_attr(t: &TaskCtx, addr: u64) -> Result<[i64; 4], Errno> {
    let raw = t.copy_in_vec(addr, MQ_ATTR_SIZE)?;
    let mut out = [0i64; 4];
    for (o, c) in out.iter_mut().zip(raw.chunks_exact(8)) {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        *o = i64::from_ne_bytes(w);
    }
    Ok(out)
}

pub fn sys_mq_open(t: &mut TaskCtx, a: &Args) -> SysResult {
    let (oflag, mode, uattr) = (a.i32(1), a.u32(2), a.u64(3));
    let name = read_name(t, a.u64(0))?;
    let attr = if uattr != 0 && oflag & libc::O_CREAT != 0 {
        Some(read_attr(t, uattr)?)
    } else {
        None
    };
    let c = creds(t);
    let mut qs = lock(&QUEUES);
    let q = match qs.get(&name) {
        None => {
            if oflag & libc::O_CREAT == 0 {
                return Err(Errno::ENOENT);
            }
            let privileged = caps::capable(&c, caps::CAP_SYS_RESOURCE);
            if qs.len() >= QUEUES_MAX && !privileged {
                return Err(Errno::ENOSPC);
            }
            let (maxmsg, msgsize) = match attr {
                Some([_, maxmsg, msgsize, _]) => {
                    if maxmsg <= 0 || msgsize <= 0 {
                        return Err(Errno::EINVAL);
                    }
                    let (mm, ms) = if privileged {
                        (HARD_MSGMAX, HARD_MSGSIZEMAX)
                    } else {
                        (MSG_MAX, MSGSIZE_MAX)
                    };
                    if maxmsg > mm || msgsize > ms {
                        return Err(Errno::EINVAL);
                    }
                    (maxmsg, msgsize)
                }
                None => (MSG_DEFAULT, MSGSIZE_DEFAULT),
            };
            let umask = t.fs().umask;
            let q = Arc::new(Queue {
                maxmsg: usize::try_from(maxmsg).map_err(|_| Errno::EINVAL)?,
                msgsize: usize::try_from(msgsize).map_err(|_| Errno::EINVAL)?,
                uid: c.fsuid,
                gid: c.fsgid,
                mode: mode & 0o777 & !umask,
                ino: NEXT_INO.fetch_add(1, Ordering::Relaxed),
                st: Mutex::new(QueueState::default()),
                wq: WaitQueue::new(),
            });
            qs.insert(name.clone(), Arc::clone(&q));
            q
        }
        Some(q) => {
            if oflag & (libc::O_CREAT | libc::O_EXCL) == libc::O_CREAT | libc::O_EXCL {
                return Err(Errno::EEXIST);
            }
            let acc = match oflag & libc::O_ACCMODE {
                libc::O_RDONLY => MAY_READ,
                libc::O_WRONLY => MAY_WRITE,
                libc::O_RDWR => MAY_READ | MAY_WRITE,
                _ => return Err(Errno::EINVAL),
            };
            Ids::fs(t).check(&q.stat(), acc)?;
            Arc::clone(q)
        }
    };
    drop(qs);
    let flags = oflag & (libc::O_ACCMODE | libc::O_NONBLOCK);
    let file = OpenFile::new(None, Arc::new(MqFile { name, q }), flags);
    ok(t.fds().alloc(file, oflag & libc::O_CLOEXEC != 0, 0)?)
}

pub fn sys_mq_unlink(t: &mut TaskCtx, a: &Args) -> SysResult {
    let name = read_name(t, a.u64(0))?;
    let mut qs = lock(&QUEUES);
    let q = qs.get(&name).ok_or(Errno::ENOENT)?;
    // The queues live in mqueuefs's root directory, sticky (01777) and
    // owned by uid 0.
    let root_dir = Stat {
        mode: libc::S_IFDIR | libc::S_ISVTX | 0o777,
        nlink: 2,
        ..Stat::default()
    };
    check_sticky(&Ids::fs(t), &root_dir, &q.stat())?;
    qs.remove(&name);
    ok(0)
}

/// An absolute CLOCK_REALTIME timeout as a deadline.
fn deadline(t: &TaskCtx, addr: u64) -> Result<Option<Instant>, Errno> {
    if addr == 0 {
        return Ok(None);
    }
    let ts = read_timespec(t, addr)?;
    let abs = duration_of(&ts);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO);
    let left = abs.saturating_sub(now);
    let inst = Instant::now();
    Ok(Some(
        inst.checked_add(left)
            .unwrap_or(inst + Duration::from_secs(1 << 32)),
    ))
}

/// The queue behind fd `fd`: EBADF if it is not one.
fn queue_file(t: &TaskCtx, fd: i32) -> Result<(Arc<OpenFile>, Arc<Queue>), Errno> {
    let f = t.fds().get(fd)?;
    let q = f
        .ops
        .as_any()
        .downcast_ref::<MqFile>()
        .map(|m| Arc::clone(&m.q))
        .ok_or(Errno::EBADF)?;
    Ok((f, q))
}

pub fn sys_mq_timedsend(t: &mut TaskCtx, a: &Args) -> SysResult {
    let (fd, ptr, len, prio) = (a.i32(0), a.u64(1), a.usize(2), a.u32(3));
    if prio >= MQ_PRIO_MAX {
        return Err(Errno::EINVAL);
    }
    let until = deadline(t, a.u64(4))?;
    let (f, q) = queue_file(t, fd)?;
    if !f.writable() {
        return Err(Errno::EBADF);
    }
    if len > q.msgsize {
        return Err(Errno::EMSGSIZE);
    }
    let data = t.copy_in_vec(ptr, len)?;
    let mut data = Some(data);
    let q2 = Arc::clone(&q);
    let notify = t.block(&[&q.wq], until, false, |_| {
        let mut st = lock(&q2.st);
        if st.msgs.len() >= q2.maxmsg {
            return if f.nonblocking() {
                Err(Errno::EAGAIN)
            } else {
                Ok(None)
            };
        }
        let m = &mut st.msgs;
        let at = m.iter().position(|x| x.0 < prio).unwrap_or(m.len());
        m.insert(at, (prio, data.take().unwrap_or_default()));
        // An arrival on an empty queue that no receiver waits for ends
        // the registration (`__do_notify`).
        let arrival = st.msgs.len() == 1 && st.waiting_receivers == 0;
        let notify = if arrival && st.live_notify().is_some() {
            st.notify.take()
        } else {
            None
        };
        Ok(Some(notify))
    })?;
    q.wq.notify();
    if let Some(n) = notify {
        deliver(t, &n);
    }
    ok(0)
}

/// Sends a registration's signal for a message the caller sent: SI_MESGQ
/// with the sender's pid and real uid, the registered value, and no
/// permission check (it comes from the kernel).
fn deliver(t: &TaskCtx, n: &Notify) {
    let (Some((signo, value)), Some(owner)) = (n.signal, n.live_owner()) else {
        return;
    };
    let same_program =
        n.mm.upgrade()
            .is_some_and(|mm| Arc::ptr_eq(&mm, &owner.mm()));
    // sigev_signo 0 is accepted at registration and sends nothing.
    if signo == 0 || !same_program {
        return;
    }
    let mut info = SigInfo::user(signo, SI_MESGQ, t.pid(), lock(&t.tg().creds).uid);
    info.value = value;
    send_to_group(&owner, info);
}

pub fn sys_mq_timedreceive(t: &mut TaskCtx, a: &Args) -> SysResult {
    let (fd, ptr, len, prio_ptr) = (a.i32(0), a.u64(1), a.usize(2), a.u64(3));
    let until = deadline(t, a.u64(4))?;
    let (f, q) = queue_file(t, fd)?;
    if !f.readable() {
        return Err(Errno::EBADF);
    }
    if len < q.msgsize {
        return Err(Errno::EMSGSIZE);
    }
    let q2 = Arc::clone(&q);
    // Whether this receiver is counted in `waiting_receivers`.
    let mut waiting = false;
    let r = t.block(&[&q.wq], until, false, |_| {
        let mut st = lock(&q2.st);
        if st.msgs.is_empty() {
            if f.nonblocking() {
                return Err(Errno::EAGAIN);
            }
            if !waiting {
                waiting = true;
                st.waiting_receivers += 1;
            }
            return Ok(None);
        }
        if waiting {
            waiting = false;
            st.waiting_receivers -= 1;
        }
        Ok(Some(st.msgs.remove(0)))
    });
    if waiting {
        lock(&q.st).waiting_receivers -= 1;
    }
    let (prio, data) = r?;
    q.wq.notify();
    t.copy_out(ptr, &data)?;
    if prio_ptr != 0 {
        t.write_obj(prio_ptr, &prio)?;
    }
    ok(data.len())
}

pub fn sys_mq_getsetattr(t: &mut TaskCtx, a: &Args) -> SysResult {
    let (fd, new, old) = (a.i32(0), a.u64(1), a.u64(2));
    let new = if new != 0 {
        let at = read_attr(t, new)?;
        if at[0] & !i64::from(libc::O_NONBLOCK) != 0 {
            return Err(Errno::EINVAL);
        }
        Some(at[0])
    } else {
        None
    };
    let (f, q) = queue_file(t, fd)?;
    if old != 0 {
        let vals: [i64; 4] = [
            i64::from(f.flags() & libc::O_NONBLOCK),
            i64::try_from(q.maxmsg).unwrap_or(i64::MAX),
            i64::try_from(q.msgsize).unwrap_or(i64::MAX),
            i64::try_from(lock(&q.st).msgs.len()).unwrap_or(i64::MAX),
        ];
        let mut raw = [0u8; MQ_ATTR_SIZE];
        for (c, v) in raw.chunks_exact_mut(8).zip(vals) {
            c.copy_from_slice(&v.to_ne_bytes());
        }
        t.copy_out(old, &raw)?;
    }
    if let Some(flags) = new {
        let keep = f.flags() & !libc::O_NONBLOCK;
        let nb = if flags & i64::from(libc::O_NONBLOCK) != 0 {
            libc::O_NONBLOCK
        } else {
            0
        };
        f.set_status_flags(keep | nb);
    }
    ok(0)
}

pub fn sys_mq_notify(t: &mut TaskCtx, a: &Args) -> SysResult {
    let (fd, sevp) = (a.i32(0), a.u64(1));
    let request = if sevp == 0 {
        None
    } else {
        let raw = t.copy_in_vec(sevp, SIGEVENT_SIZE)?;
        let word = |at: usize| i32::from_ne_bytes([raw[at], raw[at + 1], raw[at + 2], raw[at + 3]]);
        let mut v = [0u8; 8];
        v.copy_from_slice(&raw[0..8]);
        // sigev_value (8 bytes), sigev_signo, sigev_notify.
        let (value, signo, how) = (u64::from_ne_bytes(v), word(8), word(12));
        match how {
            SIGEV_NONE => Some(None),
            SIGEV_SIGNAL if (0..=NSIG).contains(&signo) => Some(Some((signo, value))),
            SIGEV_THREAD => return Err(thread_request_error(t, value, signo)),
            _ => return Err(Errno::EINVAL),
        }
    };
    let (_, q) = queue_file(t, fd)?;
    let me = t.tg();
    let mut st = lock(&q.st);
    let mine = st
        .live_notify()
        .and_then(|n| n.owner.upgrade())
        .is_some_and(|g| Arc::ptr_eq(&g, me));
    match request {
        // Only the owner's NULL removes it; anyone else's does nothing.
        None => {
            if mine {
                st.notify = None;
            }
        }
        Some(_) if st.notify.is_some() => return Err(Errno::EBUSY),
        Some(signal) => {
            st.notify = Some(Notify {
                owner: Arc::downgrade(me),
                mm: Arc::downgrade(&me.mm()),
                signal,
            });
        }
    }
    ok(0)
}

/// Linux's answer to a SIGEV_THREAD request: the cookie must be readable
/// and `sigev_signo` a netlink socket, which the sentry never has.
fn thread_request_error(t: &TaskCtx, cookie: u64, fd: i32) -> Errno {
    if let Err(e) = t.copy_in_vec(cookie, NOTIFY_COOKIE_LEN) {
        return e;
    }
    let Ok(f) = t.fds().get(fd) else {
        return Errno::EBADF;
    };
    if f.flags() & libc::O_PATH != 0 {
        return Errno::EBADF;
    }
    match f.stat() {
        Ok(st) if st.file_type() == libc::S_IFSOCK => Errno::EINVAL,
        _ => Errno::ENOTSOCK,
    }
}

/// Close-time work (`mqueue_flush_file`): any close of a queue's fd by
/// the process that registered for it ends the registration.
pub fn closed(t: &TaskCtx, f: &OpenFile) {
    let Some(m) = f.ops.as_any().downcast_ref::<MqFile>() else {
        return;
    };
    let mut st = lock(&m.q.st);
    let mine = st
        .notify
        .as_ref()
        .and_then(|n| n.owner.upgrade())
        .is_some_and(|g| Arc::ptr_eq(&g, t.tg()));
    if mine {
        st.notify = None;
    }
}
