//! epoll: epoll_create, epoll_create1, epoll_ctl, epoll_wait,
//! epoll_pwait, epoll_pwait2. The instances live in `vfs/epoll.rs`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::errno::Errno;

use super::poll::{install_mask, restore_mask};
use super::{ok, Args, SysResult};
use crate::kernel::ctx::TaskCtx;
use crate::vfs::epoll::{
    EpollFile, EPOLLEXCLUSIVE, EPOLL_CTL_ADD, EPOLL_CTL_DEL, EPOLL_CTL_MOD, EXCLUSIVE_OK_BITS,
};
use crate::vfs::OpenFile;

/// `sizeof(struct epoll_event)` on amd64 (packed: u32 events, u64 data).
const EVENT_SIZE: usize = 12;
/// Linux's EP_MAX_EVENTS.
const MAX_EVENTS: usize = i32::MAX as usize / EVENT_SIZE;

fn create(t: &mut TaskCtx, cloexec: bool) -> SysResult {
    let f = OpenFile::new(None, Arc::new(EpollFile::new()), libc::O_RDWR);
    ok(t.fds().alloc(f, cloexec, 0)?)
}

pub fn sys_epoll_create(t: &mut TaskCtx, a: &Args) -> SysResult {
    if a.i32(0) <= 0 {
        return Err(Errno::EINVAL);
    }
    create(t, false)
}

pub fn sys_epoll_create1(t: &mut TaskCtx, a: &Args) -> SysResult {
    let flags = a.i32(0);
    if flags & !libc::O_CLOEXEC != 0 {
        return Err(Errno::EINVAL);
    }
    create(t, flags & libc::O_CLOEXEC != 0)
}

/// Whether epoll can watch the file at all (Linux's `file_can_poll`):
/// regular files, directories and devices without a poll method cannot.
fn can_poll(f: &OpenFile) -> bool {
    if f.ops.wait_queue().is_none() && f.ops.host_fd().is_none() {
        return false;
    }
    match f.stat() {
        Ok(st) => !matches!(st.file_type(), libc::S_IFREG | libc::S_IFDIR),
        Err(_) => true,
    }
}

pub fn sys_epoll_ctl(t: &mut TaskCtx, a: &Args) -> SysResult {
    let op = a.i32(1);
    let event = if op == EPOLL_CTL_DEL {
        (0, 0)
    } else {
        let mut b = [0u8; EVENT_SIZE];
        t.copy_in(a.u64(3), &mut b)?;
        let mut ev = [0u8; 4];
        ev.copy_from_slice(&b[..4]);
        let mut data = [0u8; 8];
        data.copy_from_slice(&b[4..]);
        (u32::from_ne_bytes(ev), u64::from_ne_bytes(data))
    };
    let fds = t.fds();
    let epf = fds.get(a.fd(0)?)?;
    let fd = a.fd(2)?;
    let target = fds.get(fd)?;
    if !can_poll(&target) {
        return Err(Errno::EPERM);
    }
    let Some(ep) = EpollFile::of(&epf) else {
        return Err(Errno::EINVAL);
    };
    if Arc::ptr_eq(&epf, &target) {
        return Err(Errno::EINVAL);
    }
    if op != EPOLL_CTL_DEL && event.0 & EPOLLEXCLUSIVE != 0 {
        if op == EPOLL_CTL_MOD {
            return Err(Errno::EINVAL);
        }
        if op == EPOLL_CTL_ADD
            && (EpollFile::of(&target).is_some() || event.0 & !EXCLUSIVE_OK_BITS != 0)
        {
            return Err(Errno::EINVAL);
        }
    }
    ep.ctl(op, fd, &target, event)?;
    ok(0)
}

/// The common part of the three waits, once the mask is in place.
fn do_wait(t: &mut TaskCtx, a: &Args, timeout: Option<Duration>) -> SysResult {
    let max = usize::try_from(a.i32(2)).map_err(|_| Errno::EINVAL)?;
    if max == 0 || max > MAX_EVENTS {
        return Err(Errno::EINVAL);
    }
    let addr = a.u64(1);
    if addr.checked_add((max * EVENT_SIZE) as u64).is_none() {
        return Err(Errno::EFAULT);
    }
    let epf = t.fds().get(a.fd(0)?)?;
    let Some(ep) = EpollFile::of(&epf) else {
        return Err(Errno::EINVAL);
    };
    let mut found = ep.collect(max);
    if found.is_empty() && timeout != Some(Duration::ZERO) {
        let deadline = timeout.and_then(|d| Instant::now().checked_add(d));
        let host = ep.has_host();
        found = match t.block(&[ep.wq()], deadline, host, |_| {
            let v = ep.collect(max);
            Ok((!v.is_empty()).then_some(v))
        }) {
            Ok(v) => v,
            Err(Errno::ETIMEDOUT) => Vec::new(),
            Err(e) => return Err(e),
        };
    }
    let mut out = Vec::with_capacity(found.len() * EVENT_SIZE);
    for (events, data) in &found {
        out.extend_from_slice(&events.to_ne_bytes());
        out.extend_from_slice(&data.to_ne_bytes());
    }
    t.copy_out(addr, &out)?;
    ok(found.len())
}

fn ms_timeout(ms: i32) -> Option<Duration> {
    u64::try_from(ms).ok().map(Duration::from_millis)
}

pub fn sys_epoll_wait(t: &mut TaskCtx, a: &Args) -> SysResult {
    do_wait(t, a, ms_timeout(a.i32(3)))
}

pub fn sys_epoll_pwait(t: &mut TaskCtx, a: &Args) -> SysResult {
    let installed = install_mask(t, a.u64(4), a.u64(5))?;
    let r = do_wait(t, a, ms_timeout(a.i32(3)));
    restore_mask(t, installed, &r);
    r
}

pub fn sys_epoll_pwait2(t: &mut TaskCtx, a: &Args) -> SysResult {
    let timeout = if a.u64(3) == 0 {
        None
    } else {
        let ts: libc::timespec = t.read_obj(a.u64(3))?;
        let (Ok(sec), Ok(nsec)) = (u64::try_from(ts.tv_sec), u32::try_from(ts.tv_nsec)) else {
            return Err(Errno::EINVAL);
        };
        if nsec >= 1_000_000_000 {
            return Err(Errno::EINVAL);
        }
        Some(Duration::new(sec, nsec))
    };
    let installed = install_mask(t, a.u64(4), a.u64(5))?;
    let r = do_wait(t, a, timeout);
    restore_mask(t, installed, &r);
    r
}
