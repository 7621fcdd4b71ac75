//! POSIX timers: timer_create, timer_settime, timer_gettime,
//! timer_getoverrun, timer_delete (the timers live in
//! `kernel::posix_timer`).

use std::time::{Duration, Instant};

use nix::errno::Errno;

use super::{ok, Args, SysResult};
use crate::kernel::cputime::{self, CpuClock};
use crate::kernel::ctx::TaskCtx;
use crate::kernel::posix_timer::{self, Notify, TimerValue};
use crate::kernel::signal::NSIG;
use crate::kernel::task::kernel;

const SIGEV_SIGNAL: i32 = 0;
const SIGEV_NONE: i32 = 1;
const SIGEV_THREAD: i32 = 2;
const SIGEV_THREAD_ID: i32 = 4;
const TIMER_ABSTIME: i32 = 1;

/// The clocks a timer may run on; `Err` is what Linux answers for
/// others. A CPU-time clock comes back resolved.
fn check_clock(t: &TaskCtx, clock: i32) -> Result<Option<CpuClock>, Errno> {
    if let Some(cpu) = cputime::resolve(&t.task, clock, false) {
        return cpu.map(Some);
    }
    match clock {
        libc::CLOCK_REALTIME | libc::CLOCK_MONOTONIC | libc::CLOCK_BOOTTIME | libc::CLOCK_TAI => {
            Ok(None)
        }
        // No timer_create in their k_clock.
        libc::CLOCK_MONOTONIC_RAW | libc::CLOCK_REALTIME_COARSE | libc::CLOCK_MONOTONIC_COARSE => {
            Err(Errno::EOPNOTSUPP)
        }
        // Needs CAP_WAKE_ALARM.
        libc::CLOCK_REALTIME_ALARM | libc::CLOCK_BOOTTIME_ALARM => Err(Errno::EPERM),
        _ => Err(Errno::EINVAL),
    }
}

/// Timer ids are `timer_t` values, an int in the kernel ABI.
fn timer_id(a: &Args) -> i32 {
    a.i32(0)
}

pub fn sys_timer_create(t: &mut TaskCtx, a: &Args) -> SysResult {
    let clock = a.i32(0);
    let cpu = check_clock(t, clock)?;
    let sevp = a.u64(1);
    let ev = if sevp != 0 {
        let value: u64 = t.read_obj(sevp)?;
        let signo: i32 = t.read_obj(sevp + 8)?;
        let how: i32 = t.read_obj(sevp + 12)?;
        let tid: i32 = t.read_obj(sevp + 16)?;
        let good_sig = (1..=NSIG).contains(&signo);
        Some(match how {
            SIGEV_NONE => Notify::None,
            SIGEV_SIGNAL | SIGEV_THREAD if good_sig => Notify::Process { sig: signo, value },
            SIGEV_THREAD_ID if good_sig => {
                let task = kernel()
                    .task(tid)
                    .filter(|x| std::sync::Arc::ptr_eq(&x.tg, t.tg()))
                    .ok_or(Errno::EINVAL)?;
                Notify::Thread {
                    sig: signo,
                    value,
                    task: std::sync::Arc::downgrade(&task),
                }
            }
            _ => return Err(Errno::EINVAL),
        })
    } else {
        None
    };
    let tg = t.tg().clone();
    let id = posix_timer::create(&tg, clock, cpu, |id| {
        ev.unwrap_or(Notify::Process {
            sig: libc::SIGALRM,
            value: u64::from(id.unsigned_abs()),
        })
    })?;
    if let Err(e) = t.write_obj(a.u64(2), &id) {
        let _ = posix_timer::delete(&tg, id);
        return Err(e);
    }
    ok(0)
}

fn to_timespec(d: Duration) -> libc::timespec {
    libc::timespec {
        tv_sec: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        tv_nsec: i64::from(d.subsec_nanos()),
    }
}

fn write_value(t: &mut TaskCtx, addr: u64, v: TimerValue) -> Result<(), Errno> {
    t.write_obj(addr, &to_timespec(v.interval))?;
    t.write_obj(addr + 16, &to_timespec(v.value))
}

pub fn sys_timer_settime(t: &mut TaskCtx, a: &Args) -> SysResult {
    let id = timer_id(a);
    let flags = a.i32(1);
    if a.u64(2) == 0 {
        return Err(Errno::EINVAL);
    }
    let interval = super::time::read_timespec(t, a.u64(2))?;
    let value = super::time::read_timespec(t, a.u64(2) + 16)?;
    let tg = t.tg().clone();
    let (clock, cpu) = posix_timer::clock(&tg, id)?;
    let value = super::time::duration_of(&value);
    let interval = super::time::duration_of(&interval);
    if let Some(cpu) = cpu {
        let deadline = if value.is_zero() {
            None
        } else {
            // A timer whose process or thread is gone (Linux: ESRCH).
            let now = cpu.now().ok_or(Errno::ESRCH)?;
            let ns = u64::try_from(value.as_nanos()).unwrap_or(u64::MAX);
            Some(if flags & TIMER_ABSTIME != 0 {
                ns
            } else {
                now.saturating_add(ns)
            })
        };
        let old = posix_timer::set_cpu(&tg, id, deadline, interval)?;
        if a.u64(3) != 0 {
            write_value(t, a.u64(3), old)?;
        }
        return ok(0);
    }
    let deadline = if value.is_zero() {
        None
    } else if flags & TIMER_ABSTIME != 0 {
        // Absolute on the timer's clock: convert through the clock's now.
        let now = super::time::duration_of(&super::time::read_clock(t, clock)?);
        Some(Instant::now() + value.saturating_sub(now))
    } else {
        Instant::now().checked_add(value)
    };
    let old = posix_timer::set(&tg, id, deadline, interval)?;
    if a.u64(3) != 0 {
        write_value(t, a.u64(3), old)?;
    }
    ok(0)
}

pub fn sys_timer_gettime(t: &mut TaskCtx, a: &Args) -> SysResult {
    let v = posix_timer::get(t.tg(), timer_id(a))?;
    write_value(t, a.u64(1), v)?;
    ok(0)
}

pub fn sys_timer_getoverrun(t: &mut TaskCtx, a: &Args) -> SysResult {
    ok(posix_timer::overrun(t.tg(), timer_id(a))?)
}

pub fn sys_timer_delete(t: &mut TaskCtx, a: &Args) -> SysResult {
    posix_timer::delete(t.tg(), timer_id(a))?;
    ok(0)
}
