//! Readiness waits: poll, ppoll, select, pselect6.
//!
//! All four reduce to one loop: ask every file's [`FileOps::poll`] what
//! holds, and if nothing that was asked for does, sleep on every file's
//! wait queue (re-polling host-backed files every few milliseconds) until
//! something changes, a signal arrives or the timeout passes.
//!
//! [`FileOps::poll`]: crate::vfs::FileOps::poll

use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::errno::Errno;

use super::{ok, Args, SysResult};
use crate::kernel::ctx::TaskCtx;
use crate::kernel::signal::SigSet;
use crate::kernel::task::lock;
use crate::kernel::wait::WaitQueue;
use crate::vfs::OpenFile;

/// `POLLIN` etc. as the 16-bit `events` field holds them.
const POLLIN: i16 = libc::POLLIN;
const POLLPRI: i16 = libc::POLLPRI;
const POLLOUT: i16 = libc::POLLOUT;
const POLLERR: i16 = libc::POLLERR;
const POLLHUP: i16 = libc::POLLHUP;
const POLLNVAL: i16 = libc::POLLNVAL;
const POLLRDNORM: i16 = libc::POLLRDNORM;
const POLLRDBAND: i16 = libc::POLLRDBAND;
const POLLWRNORM: i16 = libc::POLLWRNORM;
const POLLWRBAND: i16 = libc::POLLWRBAND;

/// What select's three sets wake for (Linux's POLLIN_SET and friends).
const IN_SET: i16 = POLLRDNORM | POLLRDBAND | POLLIN | POLLHUP | POLLERR;
const OUT_SET: i16 = POLLWRBAND | POLLWRNORM | POLLOUT | POLLERR;
const EX_SET: i16 = POLLPRI;

/// A file's readiness, with the `*NORM` aliases Linux sets alongside.
fn ready(f: &OpenFile) -> i16 {
    let mut r = f.ops.poll();
    if r & POLLIN != 0 {
        r |= POLLRDNORM;
    }
    if r & POLLOUT != 0 {
        r |= POLLWRNORM;
    }
    r
}

/// Sleeps on every file's queue (and polls host fds) until `check` finds
/// something, or the deadline passes (`Ok(None)`).
fn wait_ready<R>(
    t: &mut TaskCtx,
    files: &[Arc<OpenFile>],
    timeout: Option<Duration>,
    mut check: impl FnMut() -> Option<R>,
) -> Result<Option<R>, Errno> {
    if let Some(r) = check() {
        return Ok(Some(r));
    }
    if timeout == Some(Duration::ZERO) {
        return Ok(None);
    }
    let deadline = timeout.and_then(|d| Instant::now().checked_add(d));
    let queues: Vec<&WaitQueue> = files.iter().filter_map(|f| f.ops.wait_queue()).collect();
    let host = files.iter().any(|f| f.ops.host_fd().is_some());
    match t.block(&queues, deadline, host, |_| Ok(check())) {
        Ok(r) => Ok(Some(r)),
        Err(Errno::ETIMEDOUT) => Ok(None),
        Err(e) => Err(e),
    }
}

/// A timespec argument as a duration; `EINVAL` when out of range.
fn timespec_arg(t: &TaskCtx, addr: u64) -> Result<Option<Duration>, Errno> {
    if addr == 0 {
        return Ok(None);
    }
    let ts: libc::timespec = t.read_obj(addr)?;
    let (Ok(sec), Ok(nsec)) = (u64::try_from(ts.tv_sec), u32::try_from(ts.tv_nsec)) else {
        return Err(Errno::EINVAL);
    };
    if nsec >= 1_000_000_000 {
        return Err(Errno::EINVAL);
    }
    Ok(Some(Duration::new(sec, nsec)))
}

/// Linux writes the time left back into the caller's timeout.
fn remaining(start: Instant, timeout: Duration) -> Duration {
    timeout.saturating_sub(start.elapsed())
}

fn write_timespec(t: &mut TaskCtx, addr: u64, d: Duration) {
    let ts = libc::timespec {
        tv_sec: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        tv_nsec: i64::from(d.subsec_nanos()),
    };
    // Linux ignores a fault here: the result stands.
    let _ = t.write_obj(addr, &ts);
}

fn write_timeval(t: &mut TaskCtx, addr: u64, d: Duration) {
    let tv = libc::timeval {
        tv_sec: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        tv_usec: i64::from(d.subsec_micros()),
    };
    let _ = t.write_obj(addr, &tv);
}

/// Installs a temporary signal mask for the wait (ppoll, pselect6). It is
/// put back by [`restore_mask`] unless the call fails with EINTR, in which
/// case the signal-delivery path restores it after the handler's frame is
/// set up (as `rt_sigsuspend` does).
pub(super) fn install_mask(t: &TaskCtx, addr: u64, size: u64) -> Result<bool, Errno> {
    if addr == 0 {
        return Ok(false);
    }
    if size != 8 {
        return Err(Errno::EINVAL);
    }
    let set = SigSet(t.read_obj::<u64>(addr)?).sanitized();
    let old = std::mem::replace(&mut *lock(&t.task.mask), set);
    *lock(&t.task.saved_mask) = Some(old);
    Ok(true)
}

pub(super) fn restore_mask<T>(t: &TaskCtx, installed: bool, r: &Result<T, Errno>) {
    if installed && !matches!(r, Err(Errno::EINTR)) {
        if let Some(old) = lock(&t.task.saved_mask).take() {
            *lock(&t.task.mask) = old;
        }
    }
}

/// One `struct pollfd` once looked up.
enum Slot {
    /// A negative fd: ignored, revents 0.
    Skip,
    /// Not open: POLLNVAL.
    Bad,
    File(Arc<OpenFile>),
}

fn do_poll(t: &mut TaskCtx, addr: u64, nfds: u64, timeout: Option<Duration>) -> SysResult {
    let limit = t.tg().rlimit(libc::RLIMIT_NOFILE).cur;
    if nfds > limit {
        return Err(Errno::EINVAL);
    }
    let n = usize::try_from(nfds).map_err(|_| Errno::EINVAL)?;
    let mut pfds: Vec<libc::pollfd> = Vec::with_capacity(n);
    let size = std::mem::size_of::<libc::pollfd>() as u64;
    for i in 0..nfds {
        pfds.push(t.read_obj(addr + i * size)?);
    }
    let table = t.fds();
    let slots: Vec<Slot> = pfds
        .iter()
        .map(|p| {
            if p.fd < 0 {
                Slot::Skip
            } else {
                table.get(p.fd).map_or(Slot::Bad, Slot::File)
            }
        })
        .collect();
    let files: Vec<Arc<OpenFile>> = slots
        .iter()
        .filter_map(|s| match s {
            Slot::File(f) => Some(Arc::clone(f)),
            _ => None,
        })
        .collect();
    let scan = || -> (Vec<i16>, usize) {
        let revents: Vec<i16> = slots
            .iter()
            .zip(&pfds)
            .map(|(s, p)| match s {
                Slot::Skip => 0,
                Slot::Bad => POLLNVAL,
                Slot::File(f) => ready(f) & (p.events | POLLERR | POLLHUP),
            })
            .collect();
        let count = revents.iter().filter(|&&r| r != 0).count();
        (revents, count)
    };
    let found = wait_ready(t, &files, timeout, || {
        let (r, c) = scan();
        (c > 0).then_some((r, c))
    })?;
    let (revents, count) = found.unwrap_or_else(|| (vec![0; n], 0));
    for (i, (p, r)) in (0u64..).zip(pfds.iter_mut().zip(revents)) {
        p.revents = r;
        t.write_obj(addr + i * size, p)?;
    }
    ok(count)
}

pub fn sys_poll(t: &mut TaskCtx, a: &Args) -> SysResult {
    let ms = a.i32(2);
    let timeout = u64::try_from(ms).ok().map(Duration::from_millis);
    do_poll(t, a.u64(0), u64::from(a.u32(1)), timeout)
}

pub fn sys_ppoll(t: &mut TaskCtx, a: &Args) -> SysResult {
    let tsp = a.u64(2);
    let timeout = timespec_arg(t, tsp)?;
    let installed = install_mask(t, a.u64(3), a.u64(4))?;
    let start = Instant::now();
    let r = do_poll(t, a.u64(0), u64::from(a.u32(1)), timeout);
    restore_mask(t, installed, &r);
    if let Some(d) = timeout {
        if matches!(r, Ok(_) | Err(Errno::EINTR)) {
            write_timespec(t, tsp, remaining(start, d));
        }
    }
    r
}

/// The three fd sets of select, as bitmaps of `nfds` bits.
struct FdSets {
    addrs: [u64; 3],
    bits: [Vec<u64>; 3],
}

fn bit(set: &[u64], fd: usize) -> bool {
    set.get(fd / 64).is_some_and(|w| w & (1 << (fd % 64)) != 0)
}

fn do_select(t: &mut TaskCtx, a: &Args, timeout: Option<Duration>) -> SysResult {
    let nfds = a.i32(0);
    let mut n = usize::try_from(nfds).map_err(|_| Errno::EINVAL)?;
    let table = t.fds();
    n = n.min(table.limit());
    let words = n.div_ceil(64);
    let mut sets = FdSets {
        addrs: [a.u64(1), a.u64(2), a.u64(3)],
        bits: [Vec::new(), Vec::new(), Vec::new()],
    };
    for (addr, bits) in sets.addrs.iter().zip(sets.bits.iter_mut()) {
        if *addr != 0 {
            for w in 0..words {
                bits.push(t.read_obj(addr + 8 * w as u64)?);
            }
        }
    }
    let mut wanted: Vec<(usize, Arc<OpenFile>)> = Vec::new();
    for fd in 0..n {
        if sets.bits.iter().any(|s| bit(s, fd)) {
            let file = table.get(i32::try_from(fd).map_err(|_| Errno::EBADF)?)?;
            wanted.push((fd, file));
        }
    }
    let files: Vec<Arc<OpenFile>> = wanted.iter().map(|(_, f)| Arc::clone(f)).collect();
    let masks = [IN_SET, OUT_SET, EX_SET];
    let scan = || -> ([Vec<u64>; 3], usize) {
        let mut out = [vec![0u64; words], vec![0u64; words], vec![0u64; words]];
        let mut count = 0;
        for (fd, f) in &wanted {
            let r = ready(f);
            for k in 0..3 {
                if bit(&sets.bits[k], *fd) && r & masks[k] != 0 {
                    out[k][fd / 64] |= 1 << (fd % 64);
                    count += 1;
                }
            }
        }
        (out, count)
    };
    let found = wait_ready(t, &files, timeout, || {
        let (o, c) = scan();
        (c > 0).then_some((o, c))
    })?;
    let (out, count) =
        found.unwrap_or_else(|| ([vec![0u64; words], vec![0u64; words], vec![0u64; words]], 0));
    for (addr, bits) in sets.addrs.iter().zip(out.iter()) {
        if *addr != 0 {
            for (w, v) in (0u64..).zip(bits) {
                t.write_obj(addr + 8 * w, v)?;
            }
        }
    }
    ok(count)
}

pub fn sys_select(t: &mut TaskCtx, a: &Args) -> SysResult {
    let tvp = a.u64(4);
    let timeout = if tvp == 0 {
        None
    } else {
        let tv: libc::timeval = t.read_obj(tvp)?;
        // Linux folds whole seconds of tv_usec into tv_sec, then rejects
        // anything negative.
        let sec = tv.tv_sec.checked_add(tv.tv_usec / 1_000_000);
        let nsec = (tv.tv_usec % 1_000_000) * 1000;
        match (sec.and_then(|s| u64::try_from(s).ok()), u32::try_from(nsec)) {
            (Some(s), Ok(ns)) => Some(Duration::new(s, ns)),
            _ => return Err(Errno::EINVAL),
        }
    };
    if a.i32(0) < 0 {
        return Err(Errno::EINVAL);
    }
    let start = Instant::now();
    let r = do_select(t, a, timeout);
    if let Some(d) = timeout {
        if matches!(r, Ok(_) | Err(Errno::EINTR)) {
            write_timeval(t, tvp, remaining(start, d));
        }
    }
    r
}

pub fn sys_pselect6(t: &mut TaskCtx, a: &Args) -> SysResult {
    let tsp = a.u64(4);
    let timeout = timespec_arg(t, tsp)?;
    if a.i32(0) < 0 {
        return Err(Errno::EINVAL);
    }
    // The sixth argument points at { const sigset_t *ss; size_t ss_len; }.
    let (mask_addr, mask_size) = if a.u64(5) != 0 {
        let ss: u64 = t.read_obj(a.u64(5))?;
        let len: u64 = t.read_obj(a.u64(5) + 8)?;
        (ss, len)
    } else {
        (0, 0)
    };
    let installed = install_mask(t, mask_addr, mask_size)?;
    let start = Instant::now();
    let r = do_select(t, a, timeout);
    restore_mask(t, installed, &r);
    if let Some(d) = timeout {
        if matches!(r, Ok(_) | Err(Errno::EINTR)) {
            write_timespec(t, tsp, remaining(start, d));
        }
    }
    r
}
