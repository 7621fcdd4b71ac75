//! POSIX message queues: mq_open, mq_unlink, mq_timedsend,
//! mq_timedreceive, mq_getsetattr. Queues live in one sentry-wide table
//! by name (the kernel gets the name without glibc's leading '/'); a
//! queue descriptor is pollable (POLLIN: a message waits, POLLOUT: there
//! is room). mq_notify is not implemented (ENOSYS).

use std::any::Any;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use nix::errno::Errno;

use super::path::{check_sticky, Ids, MAY_READ, MAY_WRITE};
use super::time::{duration_of, read_timespec};
use super::{caps, ok, Args, SysResult};
use crate::kernel::ctx::TaskCtx;
use crate::kernel::task::{lock, Creds};
use crate::kernel::wait::WaitQueue;
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

/// One queue.
#[derive(Debug)]
struct Queue {
    maxmsg: usize,
    msgsize: usize,
    uid: u32,
    gid: u32,
    mode: u32,
    ino: u64,
    /// Highest priority first, oldest first within a priority.
    msgs: Mutex<Vec<(u32, Vec<u8>)>>,
    /// Notified on every send and receive.
    wq: WaitQueue,
}

static QUEUES: Mutex<BTreeMap<Vec<u8>, Arc<Queue>>> = Mutex::new(BTreeMap::new());
static NEXT_INO: AtomicU64 = AtomicU64::new(1);

impl Queue {
    fn qsize(&self) -> usize {
        lock(&self.msgs).iter().map(|m| m.1.len()).sum()
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
        let text = format!(
            "QSIZE:{:<10} NOTIFY:{:<5} SIGNO:{:<5} NOTIFY_PID:{:<6}\n",
            self.q.qsize(),
            0,
            0,
            0
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
        let n = lock(&self.q.msgs).len();
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
                msgs: Mutex::new(Vec::new()),
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
    t.block(&[&q.wq], until, false, |_| {
        let mut m = lock(&q2.msgs);
        if m.len() >= q2.maxmsg {
            return if f.nonblocking() {
                Err(Errno::EAGAIN)
            } else {
                Ok(None)
            };
        }
        let at = m.iter().position(|x| x.0 < prio).unwrap_or(m.len());
        m.insert(at, (prio, data.take().unwrap_or_default()));
        Ok(Some(()))
    })?;
    q.wq.notify();
    ok(0)
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
    let (prio, data) = t.block(&[&q.wq], until, false, |_| {
        let mut m = lock(&q2.msgs);
        if m.is_empty() {
            return if f.nonblocking() {
                Err(Errno::EAGAIN)
            } else {
                Ok(None)
            };
        }
        Ok(Some(m.remove(0)))
    })?;
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
            i64::try_from(lock(&q.msgs).len()).unwrap_or(i64::MAX),
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
