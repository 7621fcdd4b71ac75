//! I/O on file descriptors: read/write and friends, lseek, close, dup,
//! fcntl, pipes and ioctl.

use std::sync::Arc;

use nix::errno::Errno;

use super::{ok, ok_i64, Args, SysResult};
use crate::kernel::ctx::TaskCtx;
use crate::kernel::signal::SigInfo;
use crate::kernel::task::{lock, RLIM_INFINITY};
use crate::kernel::wait::WaitQueue;
use crate::vfs::file::Falloc;
use crate::vfs::file::ReadTimer;
use crate::vfs::lock::{self, locks, Flavor, Lock, LockKind, Owner};
use crate::vfs::{pipe, OpenFile};

/// Linux's MAX_RW_COUNT: the most one read or write transfers.
pub(super) const MAX_RW: usize = 0x7fff_f000;
/// What the sentry moves through its own buffer in one go.
const CHUNK: usize = 4 << 20;
pub(super) const IOV_MAX: usize = 1024;

/// Runs a non-blocking file operation, sleeping while it would block
/// unless the file is non-blocking.
pub fn io_wait<R>(
    t: &mut TaskCtx,
    file: &Arc<OpenFile>,
    mut op: impl FnMut() -> Result<R, Errno>,
) -> Result<R, Errno> {
    match op() {
        Err(Errno::EAGAIN) if !file.nonblocking() => {}
        r => return r,
    }
    let host = file.ops.host_fd().is_some();
    let queues: Vec<&WaitQueue> = file.ops.wait_queue().into_iter().collect();
    t.block(&queues, None, host, |_| match op() {
        Err(Errno::EAGAIN) => Ok(None),
        Ok(v) => Ok(Some(v)),
        Err(e) => Err(e),
    })
}

fn readable_file(t: &TaskCtx, fd: i32) -> Result<Arc<OpenFile>, Errno> {
    let f = t.fds().get(fd)?;
    if !f.readable() {
        return Err(Errno::EBADF);
    }
    Ok(f)
}

fn writable_file(t: &TaskCtx, fd: i32) -> Result<Arc<OpenFile>, Errno> {
    let f = t.fds().get(fd)?;
    if !f.writable() {
        return Err(Errno::EBADF);
    }
    Ok(f)
}

/// Reads into a sentry buffer at `off` (None: the file position).
fn do_read(
    t: &mut TaskCtx,
    f: &Arc<OpenFile>,
    len: usize,
    off: Option<u64>,
) -> Result<Vec<u8>, Errno> {
    let mut buf = vec![0u8; len.min(CHUNK)];
    let seekable = f.ops.seekable();
    let n = match off {
        Some(o) => io_wait(t, f, || f.ops.read(&mut buf, o))?,
        None if seekable => {
            let mut pos = lock(&f.pos);
            let n = f.ops.read(&mut buf, *pos)?;
            if f.ops.advances_position() {
                *pos += n as u64;
            }
            n
        }
        None => read_stream(t, f, &mut buf)?,
    };
    buf.truncate(n);
    Ok(buf)
}

/// Reads a stream, sleeping while nothing is ready (unless the file is
/// non-blocking) for as long as the file's read timer allows.
fn read_stream(t: &mut TaskCtx, f: &Arc<OpenFile>, buf: &mut [u8]) -> Result<usize, Errno> {
    let mut timer = ReadTimer {
        nonblocking: f.nonblocking(),
        ..ReadTimer::default()
    };
    let host = f.ops.host_fd().is_some();
    let queues: Vec<&WaitQueue> = f.ops.wait_queue().into_iter().collect();
    loop {
        match f.ops.read_timed(buf, &mut timer) {
            Err(Errno::EAGAIN) if !timer.nonblocking => {}
            r => return r,
        }
        let deadline = timer.deadline;
        let r = t.block(&queues, deadline, host, |_| {
            match f.ops.read_timed(buf, &mut timer) {
                // A new deadline: sleep again with it.
                Err(Errno::EAGAIN) if timer.deadline != deadline => Ok(Some(None)),
                Err(Errno::EAGAIN) => Ok(None),
                Ok(n) => Ok(Some(Some(n))),
                Err(e) => Err(e),
            }
        });
        match r {
            Ok(Some(n)) => return Ok(n),
            // The deadline moved or passed: the next try decides.
            Ok(None) | Err(Errno::ETIMEDOUT) => {}
            Err(e) => return Err(e),
        }
    }
}

/// RLIMIT_FSIZE on regular files (Linux's generic_write_check_limits):
/// a write starting at or past the limit raises SIGXFSZ and fails with
/// EFBIG; one that would cross it is cut short. Returns the bytes allowed.
fn fsize_allowed(
    t: &mut TaskCtx,
    f: &OpenFile,
    len: usize,
    off: Option<u64>,
) -> Result<usize, Errno> {
    let limit = t.tg().rlimit(libc::RLIMIT_FSIZE).cur;
    if limit == RLIM_INFINITY || len == 0 || f.stat()?.file_type() != libc::S_IFREG {
        return Ok(len);
    }
    let pos = if f.append() {
        f.ops.append_offset()?
    } else {
        match off {
            Some(o) => o,
            None => *lock(&f.pos),
        }
    };
    if pos >= limit {
        let act = lock(&t.tg().sighand).get(libc::SIGXFSZ);
        if act.handler != crate::kernel::signal::SIG_IGN {
            t.task.send_signal(SigInfo::kernel(libc::SIGXFSZ));
        }
        return Err(Errno::EFBIG);
    }
    Ok(len.min(usize::try_from(limit - pos).unwrap_or(usize::MAX)))
}

/// Writes from a sentry buffer; raises SIGPIPE on EPIPE like Linux.
pub(super) fn do_write(
    t: &mut TaskCtx,
    f: &Arc<OpenFile>,
    data: &[u8],
    off: Option<u64>,
) -> Result<usize, Errno> {
    let data = &data[..fsize_allowed(t, f, data.len(), off)?];
    let r = match off {
        // Linux's pwrite on an O_APPEND file appends whatever the offset
        // (a documented bug); the file position stays where it was.
        Some(_) if f.append() => f.ops.write_append(data).map(|(n, _)| n),
        Some(o) => io_wait(t, f, || f.ops.write(data, o)),
        None if f.ops.seekable() => {
            let mut pos = lock(&f.pos);
            let advance = f.ops.advances_position();
            if f.append() {
                let (n, end) = f.ops.write_append(data)?;
                if advance {
                    *pos = end;
                }
                Ok(n)
            } else {
                let n = f.ops.write(data, *pos)?;
                if advance {
                    *pos += n as u64;
                }
                Ok(n)
            }
        }
        None => write_stream(t, f, data),
    };
    if r == Err(Errno::EPIPE) && f.ops.sigpipe_on_epipe() {
        raise_sigpipe(t);
    }
    if r.as_ref().is_ok_and(|&n| n > 0) {
        crate::vfs::inotify::modified(f);
    }
    r
}

/// A write to a stream (pipe, socket, tty): a blocking one goes on until
/// everything is written, as Linux's pipe_write does; a signal or error
/// after some progress returns the count so far.
fn write_stream(t: &mut TaskCtx, f: &Arc<OpenFile>, data: &[u8]) -> Result<usize, Errno> {
    let mut done = 0;
    while done < data.len() {
        match io_wait(t, f, || f.ops.write(&data[done..], 0)) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        }
        if f.nonblocking() {
            break;
        }
    }
    Ok(done)
}

/// Sends the caller `SIGPIPE` for a write to a broken pipe or socket, as
/// Linux's `send_sig(SIGPIPE, current, 0)` (unless it is ignored).
pub(super) fn raise_sigpipe(t: &TaskCtx) {
    let info = SigInfo::user(libc::SIGPIPE, 0, t.pid(), lock(&t.tg().creds).uid);
    let act = lock(&t.tg().sighand).get(libc::SIGPIPE);
    if act.handler != crate::kernel::signal::SIG_IGN {
        t.task.send_signal(info);
    }
}

pub fn sys_read(t: &mut TaskCtx, a: &Args) -> SysResult {
    let f = readable_file(t, a.fd(0)?)?;
    let len = a.usize(2).min(MAX_RW);
    if len == 0 {
        return ok(0);
    }
    if !t.mm.check_access(a.u64(1), len as u64, true) {
        return Err(Errno::EFAULT);
    }
    let data = do_read(t, &f, len, None)?;
    t.copy_out(a.u64(1), &data)?;
    ok(data.len())
}

pub fn sys_write(t: &mut TaskCtx, a: &Args) -> SysResult {
    let f = writable_file(t, a.fd(0)?)?;
    let len = a.usize(2).min(MAX_RW).min(CHUNK);
    let data = t.copy_in_vec(a.u64(1), len)?;
    ok(do_write(t, &f, &data, None)?)
}

fn offset_arg(a: &Args, i: usize) -> Result<u64, Errno> {
    u64::try_from(a.i64(i)).map_err(|_| Errno::EINVAL)
}

pub fn sys_pread64(t: &mut TaskCtx, a: &Args) -> SysResult {
    let f = readable_file(t, a.fd(0)?)?;
    let off = offset_arg(a, 3)?;
    if !f.ops.seekable() {
        return Err(Errno::ESPIPE);
    }
    let len = a.usize(2).min(MAX_RW);
    if !t.mm.check_access(a.u64(1), len as u64, true) {
        return Err(Errno::EFAULT);
    }
    let data = do_read(t, &f, len, Some(off))?;
    t.copy_out(a.u64(1), &data)?;
    ok(data.len())
}

pub fn sys_pwrite64(t: &mut TaskCtx, a: &Args) -> SysResult {
    let f = writable_file(t, a.fd(0)?)?;
    let off = offset_arg(a, 3)?;
    if !f.ops.seekable() {
        return Err(Errno::ESPIPE);
    }
    let len = a.usize(2).min(MAX_RW).min(CHUNK);
    let data = t.copy_in_vec(a.u64(1), len)?;
    ok(do_write(t, &f, &data, Some(off))?)
}

/// Reads an iovec array: (base, len) pairs, with Linux's limits.
pub(super) fn read_iovecs(t: &TaskCtx, addr: u64, cnt: i32) -> Result<Vec<(u64, usize)>, Errno> {
    let cnt = usize::try_from(cnt).map_err(|_| Errno::EINVAL)?;
    if cnt > IOV_MAX {
        return Err(Errno::EINVAL);
    }
    let mut out = Vec::with_capacity(cnt);
    let mut total = 0usize;
    for i in 0..cnt {
        let iov: libc::iovec = t.read_obj(addr + i as u64 * 16)?;
        let len = iov.iov_len;
        if isize::try_from(len).is_err() {
            return Err(Errno::EINVAL);
        }
        total = total.saturating_add(len);
        if total > isize::MAX as usize {
            return Err(Errno::EINVAL);
        }
        out.push((iov.iov_base as u64, len));
    }
    Ok(out)
}

fn readv_at(t: &mut TaskCtx, a: &Args, off: Option<u64>) -> SysResult {
    let f = readable_file(t, a.fd(0)?)?;
    if off.is_some() && !f.ops.seekable() {
        return Err(Errno::ESPIPE);
    }
    let iovs = read_iovecs(t, a.u64(1), a.i32(2))?;
    let total: usize = iovs.iter().map(|i| i.1).sum::<usize>().min(MAX_RW);
    for (base, len) in &iovs {
        if *len > 0 && !t.mm.check_access(*base, *len as u64, true) {
            return Err(Errno::EFAULT);
        }
    }
    if total == 0 {
        return ok(0);
    }
    let data = do_read(t, &f, total, off)?;
    let mut done = 0;
    for (base, len) in iovs {
        if done >= data.len() {
            break;
        }
        let n = len.min(data.len() - done);
        t.copy_out(base, &data[done..done + n])?;
        done += n;
    }
    ok(data.len())
}

fn writev_at(t: &mut TaskCtx, a: &Args, off: Option<u64>) -> SysResult {
    let f = writable_file(t, a.fd(0)?)?;
    if off.is_some() && !f.ops.seekable() {
        return Err(Errno::ESPIPE);
    }
    let iovs = read_iovecs(t, a.u64(1), a.i32(2))?;
    let mut data = Vec::new();
    for (base, len) in iovs {
        let n = len.min(CHUNK.saturating_sub(data.len()));
        if n == 0 {
            continue;
        }
        data.extend(t.copy_in_vec(base, n)?);
    }
    ok(do_write(t, &f, &data, off)?)
}

pub fn sys_readv(t: &mut TaskCtx, a: &Args) -> SysResult {
    readv_at(t, a, None)
}

pub fn sys_writev(t: &mut TaskCtx, a: &Args) -> SysResult {
    writev_at(t, a, None)
}

pub fn sys_preadv(t: &mut TaskCtx, a: &Args) -> SysResult {
    let off = offset_arg(a, 3)?;
    readv_at(t, a, Some(off))
}

pub fn sys_pwritev(t: &mut TaskCtx, a: &Args) -> SysResult {
    let off = offset_arg(a, 3)?;
    writev_at(t, a, Some(off))
}

pub fn sys_lseek(t: &mut TaskCtx, a: &Args) -> SysResult {
    let f = t.fds().get(a.fd(0)?)?;
    let off = a.i64(1);
    if !f.ops.seekable() {
        return Err(Errno::ESPIPE);
    }
    let whence = a.i32(2);
    let mut pos = lock(&f.pos);
    if let Some(r) = f.ops.llseek(*pos, off, whence) {
        let new = r?;
        *pos = new;
        return ok_i64(i64::try_from(new).map_err(|_| Errno::EOVERFLOW)?);
    }
    #[allow(clippy::cast_possible_wrap, reason = "positions are below i64::MAX")]
    let cur = *pos as i64;
    let new = match a.i32(2) {
        libc::SEEK_SET => off,
        libc::SEEK_CUR => cur.checked_add(off).ok_or(Errno::EOVERFLOW)?,
        libc::SEEK_END | libc::SEEK_DATA | libc::SEEK_HOLE => {
            let size = i64::try_from(f.stat()?.size).map_err(|_| Errno::EOVERFLOW)?;
            match a.i32(2) {
                libc::SEEK_END => size.checked_add(off).ok_or(Errno::EOVERFLOW)?,
                libc::SEEK_DATA if off < size && off >= 0 => off,
                libc::SEEK_HOLE if off < size && off >= 0 => size,
                _ => return Err(Errno::ENXIO),
            }
        }
        _ => return Err(Errno::EINVAL),
    };
    let new = u64::try_from(new).map_err(|_| Errno::EINVAL)?;
    *pos = new;
    #[allow(clippy::cast_possible_wrap, reason = "checked to fit i64 above")]
    ok_i64(new as i64)
}

/// Close-time work for a file the process just closed: any close of any
/// fd for a file drops the process's POSIX record locks on it (OFD and
/// flock locks go with the open file description instead) and its
/// mq_notify registration on it.
pub fn closed(t: &TaskCtx, f: &OpenFile) {
    super::mqueue::closed(t, f);
    let table = locks();
    if table.process_has_locks(t.pid()) {
        if let Ok(key) = f.file_key() {
            table.release(key, Owner::Process(t.pid()));
        }
    }
}

pub fn sys_close(t: &mut TaskCtx, a: &Args) -> SysResult {
    let f = t.fds().close(a.fd(0)?)?;
    closed(t, &f);
    ok(0)
}

pub fn sys_close_range(t: &mut TaskCtx, a: &Args) -> SysResult {
    let (first, last, flags) = (a.u32(0), a.u32(1), a.u32(2));
    if first > last || flags & !(libc::CLOSE_RANGE_CLOEXEC | libc::CLOSE_RANGE_UNSHARE) != 0 {
        return Err(Errno::EINVAL);
    }
    for f in t.fds().close_range(first, last, flags)? {
        closed(t, &f);
    }
    ok(0)
}

pub fn sys_dup(t: &mut TaskCtx, a: &Args) -> SysResult {
    let fds = t.fds();
    let f = fds.get(a.fd(0)?)?;
    ok(fds.alloc(f, false, 0)?)
}

fn dup_to(t: &TaskCtx, old: i32, new: i32, cloexec: bool) -> SysResult {
    let fds = t.fds();
    let f = fds.get(old)?;
    if new < 0 || usize::try_from(new).map_or(true, |n| n >= fds.limit()) {
        return Err(Errno::EBADF);
    }
    if let Some(old) = fds.install_at(new, f, cloexec)? {
        closed(t, &old);
    }
    ok(new)
}

pub fn sys_dup2(t: &mut TaskCtx, a: &Args) -> SysResult {
    let (old, new) = (a.i32(0), a.i32(1));
    if old == new {
        t.fds().get(old)?;
        return ok(new);
    }
    dup_to(t, old, new, false)
}

pub fn sys_dup3(t: &mut TaskCtx, a: &Args) -> SysResult {
    let (old, new, flags) = (a.i32(0), a.i32(1), a.i32(2));
    if flags & !libc::O_CLOEXEC != 0 || old == new {
        return Err(Errno::EINVAL);
    }
    dup_to(t, old, new, flags & libc::O_CLOEXEC != 0)
}

pub fn sys_fcntl(t: &mut TaskCtx, a: &Args) -> SysResult {
    let fd = a.fd(0)?;
    let fds = t.fds();
    let f = fds.get(fd)?;
    let arg = a.u64(2);
    match a.i32(1) {
        libc::F_DUPFD | libc::F_DUPFD_CLOEXEC => {
            let min = a.i32(2);
            if min < 0 || usize::try_from(min).map_or(true, |m| m >= fds.limit()) {
                return Err(Errno::EINVAL);
            }
            ok(fds.alloc(f, a.i32(1) == libc::F_DUPFD_CLOEXEC, min)?)
        }
        libc::F_GETFD => ok(i32::from(fds.get_cloexec(fd)?)),
        libc::F_SETFD => {
            fds.set_cloexec(fd, arg & 1 != 0)?;
            ok(0)
        }
        libc::F_GETFL => ok(f.flags() & !libc::O_CLOEXEC),
        libc::F_SETFL => {
            let flags = a.i32(2);
            // On a FIFO (pipe) O_DIRECT is packet mode, always allowed.
            if flags & libc::O_DIRECT != 0
                && !f.ops.direct_io()
                && f.stat()?.file_type() != libc::S_IFIFO
            {
                return Err(Errno::EINVAL);
            }
            f.set_status_flags(flags);
            ok(0)
        }
        libc::F_GETPIPE_SZ | libc::F_SETPIPE_SZ => {
            let p = pipe::pipe_of(&*f.ops).ok_or(Errno::EBADF)?;
            if a.i32(1) == libc::F_GETPIPE_SZ {
                ok(p.capacity())
            } else {
                let want = usize::try_from(a.i32(2)).map_err(|_| Errno::EINVAL)?;
                ok(p.set_capacity(want)?)
            }
        }
        libc::F_GETOWN | libc::F_SETOWN => ok(0),
        super::memfd::F_ADD_SEALS => super::memfd::add_seals(&f, a.u32(2)),
        super::memfd::F_GET_SEALS => super::memfd::get_seals(&f),
        libc::F_GETLK
        | libc::F_SETLK
        | libc::F_SETLKW
        | libc::F_OFD_GETLK
        | libc::F_OFD_SETLK
        | libc::F_OFD_SETLKW => fcntl_lock(t, &f, a.i32(1), arg),
        _ => Err(Errno::EINVAL),
    }
}

/// `struct flock` on x86_64: l_type (i16), l_whence (i16), l_start (at
/// 8), l_len (at 16), l_pid (i32 at 24); 32 bytes with padding.
const FLOCK_SIZE: usize = 32;

fn field<const N: usize>(raw: &[u8; FLOCK_SIZE], at: usize) -> [u8; N] {
    let mut b = [0u8; N];
    b.copy_from_slice(&raw[at..at + N]);
    b
}

/// F_GETLK/F_SETLK/F_SETLKW and their OFD variants.
fn fcntl_lock(t: &mut TaskCtx, f: &Arc<OpenFile>, cmd: i32, addr: u64) -> SysResult {
    if f.flags() & libc::O_PATH != 0 {
        return Err(Errno::EBADF);
    }
    let ofd = matches!(
        cmd,
        libc::F_OFD_GETLK | libc::F_OFD_SETLK | libc::F_OFD_SETLKW
    );
    let mut raw = [0u8; FLOCK_SIZE];
    t.copy_in(addr, &mut raw)?;
    let l_type = i32::from(i16::from_ne_bytes(field(&raw, 0)));
    let l_whence = i32::from(i16::from_ne_bytes(field(&raw, 2)));
    let l_start = i64::from_ne_bytes(field(&raw, 8));
    let l_len = i64::from_ne_bytes(field(&raw, 16));
    let l_pid = i32::from_ne_bytes(field(&raw, 24));
    let kind = match l_type {
        libc::F_RDLCK => Some(LockKind::Read),
        libc::F_WRLCK => Some(LockKind::Write),
        libc::F_UNLCK => None,
        _ => return Err(Errno::EINVAL),
    };
    // OFD locks have no owning process: l_pid must be 0 on the way in.
    if ofd && l_pid != 0 {
        return Err(Errno::EINVAL);
    }
    let base = match l_whence {
        libc::SEEK_SET => 0,
        libc::SEEK_CUR => i64::try_from(*lock(&f.pos)).map_err(|_| Errno::EOVERFLOW)?,
        libc::SEEK_END => i64::try_from(f.stat()?.size).map_err(|_| Errno::EOVERFLOW)?,
        _ => return Err(Errno::EINVAL),
    };
    let (start, end) = lock::flock_range(base, l_start, l_len)?;
    let (owner, key, pid) = if ofd {
        (f.description_owner(), f.lock_key_for_description()?, -1)
    } else {
        (Owner::Process(t.pid()), f.file_key()?, t.pid())
    };
    let want = Lock {
        owner,
        flavor: Flavor::Record,
        kind: kind.unwrap_or(LockKind::Read),
        start,
        end,
        pid,
    };
    let table = locks();
    if matches!(cmd, libc::F_GETLK | libc::F_OFD_GETLK) {
        // Asking about F_UNLCK makes no sense.
        if kind.is_none() {
            return Err(Errno::EINVAL);
        }
        match table.test(key, &want) {
            None => {
                #[allow(clippy::cast_possible_truncation, reason = "F_UNLCK is 2")]
                raw[0..2].copy_from_slice(&(libc::F_UNLCK as i16).to_ne_bytes());
            }
            Some(h) => {
                let ty = match h.kind {
                    LockKind::Read => libc::F_RDLCK,
                    LockKind::Write => libc::F_WRLCK,
                };
                let len = if h.end == lock::OFFSET_MAX {
                    0
                } else {
                    h.end - h.start + 1
                };
                #[allow(clippy::cast_possible_truncation, reason = "lock types are small")]
                raw[0..2].copy_from_slice(&(ty as i16).to_ne_bytes());
                #[allow(clippy::cast_possible_truncation, reason = "SEEK_SET is 0")]
                raw[2..4].copy_from_slice(&(libc::SEEK_SET as i16).to_ne_bytes());
                raw[8..16].copy_from_slice(&h.start.to_ne_bytes());
                raw[16..24].copy_from_slice(&len.to_ne_bytes());
                raw[24..28].copy_from_slice(&h.pid.to_ne_bytes());
            }
        }
        t.copy_out(addr, &raw)?;
        return ok(0);
    }
    match kind {
        Some(LockKind::Read) if !f.readable() => return Err(Errno::EBADF),
        Some(LockKind::Write) if !f.writable() => return Err(Errno::EBADF),
        _ => {}
    }
    if !matches!(cmd, libc::F_SETLKW | libc::F_OFD_SETLKW) {
        table.set(key, &want, kind)?;
        return ok(0);
    }
    let me = t.pid();
    let r = t.block(&[&table.wq], None, false, |_| {
        match table.set(key, &want, kind) {
            Ok(()) => Ok(Some(())),
            Err(Errno::EAGAIN) => {
                if !ofd {
                    table.start_wait(key, &want, me)?;
                }
                Ok(None)
            }
            Err(e) => Err(e),
        }
    });
    if !ofd {
        table.end_wait(me);
    }
    r?;
    ok(0)
}

/// flock(2): whole-file locks owned by the open file description.
pub fn sys_flock(t: &mut TaskCtx, a: &Args) -> SysResult {
    let f = t.fds().get(a.fd(0)?)?;
    if f.flags() & libc::O_PATH != 0 {
        return Err(Errno::EBADF);
    }
    let op = a.i32(1);
    let kind = match op & !libc::LOCK_NB {
        libc::LOCK_SH => Some(LockKind::Read),
        libc::LOCK_EX => Some(LockKind::Write),
        libc::LOCK_UN => None,
        _ => return Err(Errno::EINVAL),
    };
    let want = Lock {
        owner: f.description_owner(),
        flavor: Flavor::Flock,
        kind: kind.unwrap_or(LockKind::Read),
        start: 0,
        end: lock::OFFSET_MAX,
        pid: t.pid(),
    };
    let key = f.lock_key_for_description()?;
    let table = locks();
    match table.set(key, &want, kind) {
        Err(Errno::EAGAIN) => {}
        r => {
            r?;
            return ok(0);
        }
    }
    // Linux converts a lock by dropping the old one first, so a failed or
    // waiting conversion has lost it.
    table.set(key, &want, None)?;
    if op & libc::LOCK_NB != 0 {
        return Err(Errno::EWOULDBLOCK);
    }
    t.block(&[&table.wq], None, false, |_| {
        match table.set(key, &want, kind) {
            Ok(()) => Ok(Some(())),
            Err(Errno::EAGAIN) => Ok(None),
            Err(e) => Err(e),
        }
    })?;
    ok(0)
}

fn make_pipe(t: &mut TaskCtx, addr: u64, flags: i32) -> SysResult {
    if flags & !(libc::O_CLOEXEC | libc::O_NONBLOCK | libc::O_DIRECT) != 0 {
        return Err(Errno::EINVAL);
    }
    let (r, w) = pipe::new_pipe();
    let status = flags & (libc::O_NONBLOCK | libc::O_DIRECT);
    let rf = OpenFile::new(None, r, libc::O_RDONLY | status);
    let wf = OpenFile::new(None, w, libc::O_WRONLY | status);
    let cloexec = flags & libc::O_CLOEXEC != 0;
    let fds = t.fds();
    let rfd = fds.alloc(rf, cloexec, 0)?;
    let wfd = match fds.alloc(wf, cloexec, 0) {
        Ok(fd) => fd,
        Err(e) => {
            let _ = fds.close(rfd);
            return Err(e);
        }
    };
    let mut b = Vec::with_capacity(8);
    b.extend_from_slice(&rfd.to_ne_bytes());
    b.extend_from_slice(&wfd.to_ne_bytes());
    if let Err(e) = t.copy_out(addr, &b) {
        let _ = fds.close(rfd);
        let _ = fds.close(wfd);
        return Err(e);
    }
    ok(0)
}

pub fn sys_pipe(t: &mut TaskCtx, a: &Args) -> SysResult {
    make_pipe(t, a.u64(0), 0)
}

pub fn sys_pipe2(t: &mut TaskCtx, a: &Args) -> SysResult {
    make_pipe(t, a.u64(0), a.i32(1))
}

const TCGETS: u64 = 0x5401;
const TCSETS: u64 = 0x5402;
const TCSETSW: u64 = 0x5403;
const TCSETSF: u64 = 0x5404;
const TIOCGPGRP: u64 = 0x540f;
const TIOCSPGRP: u64 = 0x5410;
const TIOCGWINSZ: u64 = 0x5413;
const FIONREAD: u64 = 0x541b;
const FIONBIO: u64 = 0x5421;
const FIONCLEX: u64 = 0x5450;
const FIOCLEX: u64 = 0x5451;
/// Size of the kernel's `struct termios` used by TCGETS/TCSETS.
const TERMIOS_SIZE: usize = 36;

/// Forwards a terminal ioctl to the caller's host terminal.
fn host_ioctl(fd: i32, cmd: u64, buf: &mut [u8]) -> Result<(), Errno> {
    // SAFETY: `buf` is at least as large as the structure `cmd` reads or
    // writes (36 bytes for termios, 8 for winsize).
    let r = unsafe { libc::ioctl(fd, cmd, buf.as_mut_ptr()) };
    if r < 0 {
        return Err(Errno::last());
    }
    Ok(())
}

pub fn sys_ioctl(t: &mut TaskCtx, a: &Args) -> SysResult {
    let fd = a.fd(0)?;
    let fds = t.fds();
    let f = fds.get(fd)?;
    // ioctl looks fds up the way read does: O_PATH descriptors are EBADF.
    if f.flags() & libc::O_PATH != 0 {
        return Err(Errno::EBADF);
    }
    let (cmd, arg) = (a.u64(1) & 0xffff_ffff, a.u64(2));
    if let Some(r) = super::tty::ioctl(t, &f, cmd, arg) {
        return r;
    }
    match cmd {
        FIOCLEX | FIONCLEX => {
            fds.set_cloexec(fd, cmd == FIOCLEX)?;
            ok(0)
        }
        FIONBIO => {
            let on: i32 = t.read_obj(arg)?;
            let fl = f.flags();
            f.set_status_flags(if on != 0 {
                fl | libc::O_NONBLOCK
            } else {
                fl & !libc::O_NONBLOCK
            });
            ok(0)
        }
        FIONREAD => {
            let st = f.stat()?;
            let n = if st.file_type() == libc::S_IFREG {
                // The VFS answers for regular files: size minus position
                // (negative past the end), as an int.
                let size = i64::try_from(st.size).unwrap_or(i64::MAX);
                let pos = i64::try_from(*lock(&f.pos)).unwrap_or(i64::MAX);
                #[allow(clippy::cast_possible_truncation, reason = "Linux stores it in an int")]
                let n = size.wrapping_sub(pos) as i32;
                n
            } else {
                i32::try_from(f.ops.fionread()?).unwrap_or(i32::MAX)
            };
            t.write_obj(arg, &n)?;
            ok(0)
        }
        TCGETS | TIOCGWINSZ | TCSETS | TCSETSW | TCSETSF | TIOCGPGRP | TIOCSPGRP => {
            let host = match (f.ops.is_tty(), f.ops.host_fd()) {
                (true, Some(h)) => h,
                _ => return Err(Errno::ENOTTY),
            };
            match cmd {
                TCGETS | TIOCGWINSZ => {
                    let size = if cmd == TCGETS { TERMIOS_SIZE } else { 8 };
                    let mut buf = [0u8; 64];
                    host_ioctl(host, cmd, &mut buf)?;
                    t.copy_out(arg, &buf[..size])?;
                }
                TCSETS | TCSETSW | TCSETSF => {
                    let mut buf = [0u8; 64];
                    t.copy_in(arg, &mut buf[..TERMIOS_SIZE])?;
                    host_ioctl(host, cmd, &mut buf)?;
                }
                TIOCGPGRP => {
                    let pgid = lock(&t.tg().state).pgid;
                    t.write_obj(arg, &pgid)?;
                }
                _ => {
                    let _: i32 = t.read_obj(arg)?;
                }
            }
            ok(0)
        }
        _ => Err(Errno::ENOTTY),
    }
}

/// posix_fadvise: the sentry keeps no page cache policy, so valid advice
/// is accepted and has no effect, as on a filesystem that ignores it.
/// Only FIFOs refuse it (`generic_fadvise`); sockets and devices accept.
pub fn sys_fadvise64(t: &mut TaskCtx, a: &Args) -> SysResult {
    let f = t.fds().get(a.fd(0)?)?;
    if f.flags() & libc::O_PATH != 0 {
        return Err(Errno::EBADF);
    }
    if f.stat()?.file_type() == libc::S_IFIFO {
        return Err(Errno::ESPIPE);
    }
    if a.i64(2) < 0 || !(0..=5).contains(&a.i32(3)) {
        return Err(Errno::EINVAL);
    }
    ok(0)
}

/// fallocate: Linux's `vfs_fallocate` checks, then what tmpfs (every
/// regular file of the sandbox is a tmpfs file) supports: allocation,
/// growing the size unless FALLOC_FL_KEEP_SIZE, and hole punching.
pub fn sys_fallocate(t: &mut TaskCtx, a: &Args) -> SysResult {
    const KEEP_SIZE: i32 = 0x01;
    const PUNCH_HOLE: i32 = 0x02;
    const COLLAPSE_RANGE: i32 = 0x08;
    const ZERO_RANGE: i32 = 0x10;
    const INSERT_RANGE: i32 = 0x20;
    const UNSHARE_RANGE: i32 = 0x40;
    const WRITE_ZEROES: i32 = 0x80;
    const MODES: i32 =
        PUNCH_HOLE | COLLAPSE_RANGE | ZERO_RANGE | INSERT_RANGE | UNSHARE_RANGE | WRITE_ZEROES;
    let f = t.fds().get(a.fd(0)?)?;
    let (mode, off, len) = (a.i32(1), a.i64(2), a.i64(3));
    if off < 0 || len <= 0 {
        return Err(Errno::EINVAL);
    }
    if mode & !(KEEP_SIZE | MODES) != 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    // The modes exclude each other; only some take KEEP_SIZE.
    let keep = mode & KEEP_SIZE != 0;
    match mode & MODES {
        0 | UNSHARE_RANGE | ZERO_RANGE => {}
        PUNCH_HOLE if keep => {}
        COLLAPSE_RANGE | INSERT_RANGE | WRITE_ZEROES if !keep => {}
        _ => return Err(Errno::EOPNOTSUPP),
    }
    if !f.writable() {
        return Err(Errno::EBADF);
    }
    let st = f.stat()?;
    match st.file_type() {
        libc::S_IFREG => {}
        libc::S_IFIFO => return Err(Errno::ESPIPE),
        libc::S_IFDIR => return Err(Errno::EISDIR),
        _ => return Err(Errno::ENODEV),
    }
    let end = off.checked_add(len).ok_or(Errno::EFBIG)?;
    if mode & !(KEEP_SIZE | PUNCH_HOLE) != 0 {
        return Err(Errno::EOPNOTSUPP); // shmem_fallocate's own check
    }
    let (off, end) = (off.cast_unsigned(), end.cast_unsigned());
    if mode & PUNCH_HOLE != 0 {
        if let Some(r) = f.ops.fallocate(Falloc::PunchHole, off, end) {
            r?;
            return ok(0);
        }
        let zeros = vec![0u8; 64 << 10];
        let stop = end.min(st.size);
        let mut at = off;
        while at < stop {
            let n = usize::try_from(stop - at)
                .unwrap_or(usize::MAX)
                .min(zeros.len());
            let wrote = f.ops.write(&zeros[..n], at)?;
            if wrote == 0 {
                break;
            }
            at += wrote as u64;
        }
        return ok(0);
    }
    if !keep && end > st.size {
        fsize_allowed(
            t,
            f.as_ref(),
            usize::try_from(end - st.size).unwrap_or(usize::MAX),
            Some(st.size),
        )?;
    }
    if let Some(r) = f
        .ops
        .fallocate(Falloc::Allocate { keep_size: keep }, off, end)
    {
        r?;
    } else if !keep && end > st.size {
        f.ops.truncate(end)?;
    }
    ok(0)
}
