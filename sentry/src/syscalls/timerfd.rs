//! timerfd_create, timerfd_settime, timerfd_gettime. The timers live in
//! `vfs/timerfd.rs`.

use std::time::Duration;

use nix::errno::Errno;

use super::{ok, Args, SysResult};
use crate::kernel::ctx::TaskCtx;
use crate::vfs::timerfd::{TimerFd, TimerSpec, TFD_TIMER_ABSTIME, TFD_TIMER_CANCEL_ON_SET};
use crate::vfs::OpenFile;

const CLOCK_REALTIME_ALARM: i32 = 8;
const CLOCK_BOOTTIME_ALARM: i32 = 9;

pub fn sys_timerfd_create(t: &mut TaskCtx, a: &Args) -> SysResult {
    let clock = a.i32(0);
    let flags = a.i32(1);
    let realtime = match clock {
        libc::CLOCK_REALTIME | CLOCK_REALTIME_ALARM => true,
        libc::CLOCK_MONOTONIC | libc::CLOCK_BOOTTIME | CLOCK_BOOTTIME_ALARM => false,
        _ => return Err(Errno::EINVAL),
    };
    if flags & !(libc::O_CLOEXEC | libc::O_NONBLOCK) != 0 {
        return Err(Errno::EINVAL);
    }
    let f = OpenFile::new(
        None,
        TimerFd::new(realtime),
        libc::O_RDWR | (flags & libc::O_NONBLOCK),
    );
    ok(t.fds().alloc(f, flags & libc::O_CLOEXEC != 0, 0)?)
}

/// A timespec as a duration; `EINVAL` unless 0 <= sec and 0 <= nsec < 1e9.
fn duration(ts: &libc::timespec) -> Result<Duration, Errno> {
    match (u64::try_from(ts.tv_sec), u32::try_from(ts.tv_nsec)) {
        (Ok(s), Ok(ns)) if ns < 1_000_000_000 => Ok(Duration::new(s, ns)),
        _ => Err(Errno::EINVAL),
    }
}

fn timespec(d: Duration) -> libc::timespec {
    libc::timespec {
        tv_sec: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        tv_nsec: i64::from(d.subsec_nanos()),
    }
}

/// Writes a `struct itimerspec` (interval, then value).
fn write_spec(t: &mut TaskCtx, addr: u64, s: TimerSpec) -> Result<(), Errno> {
    t.write_obj(addr, &timespec(s.interval))?;
    t.write_obj(addr + 16, &timespec(s.value))
}

/// Runs `f` on the timer behind `fd` (`EINVAL` if it is not a timerfd).
fn with_timer<R>(t: &TaskCtx, fd: i32, f: impl FnOnce(&TimerFd) -> R) -> Result<R, Errno> {
    let file: std::sync::Arc<OpenFile> = t.fds().get(fd)?;
    let tf = file
        .ops
        .as_any()
        .downcast_ref::<TimerFd>()
        .ok_or(Errno::EINVAL)?;
    Ok(f(tf))
}

pub fn sys_timerfd_settime(t: &mut TaskCtx, a: &Args) -> SysResult {
    let interval: libc::timespec = t.read_obj(a.u64(2))?;
    let value: libc::timespec = t.read_obj(a.u64(2) + 16)?;
    let flags = a.i32(1);
    if flags & !(TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET) != 0 {
        return Err(Errno::EINVAL);
    }
    let spec = TimerSpec {
        interval: duration(&interval)?,
        value: duration(&value)?,
    };
    let old = with_timer(t, a.fd(0)?, |tf| tf.set(spec, flags))?;
    if a.u64(3) != 0 {
        write_spec(t, a.u64(3), old)?;
    }
    ok(0)
}

pub fn sys_timerfd_gettime(t: &mut TaskCtx, a: &Args) -> SysResult {
    let cur = with_timer(t, a.fd(0)?, TimerFd::get)?;
    write_spec(t, a.u64(1), cur)?;
    ok(0)
}
