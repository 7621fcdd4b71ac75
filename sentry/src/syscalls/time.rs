//! Clocks and sleeping.

use std::time::{Duration, Instant};

use nix::errno::Errno;

use super::{ok, Args, SysResult};
use crate::kernel::ctx::TaskCtx;

/// Reads a host clock.
fn host_clock(id: libc::clockid_t) -> Result<libc::timespec, Errno> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: valid out-pointer.
    if unsafe { libc::clock_gettime(id, &mut ts) } != 0 {
        return Err(Errno::EINVAL);
    }
    Ok(ts)
}

fn ts_add(a: libc::timespec, b: libc::timespec) -> libc::timespec {
    let mut s = a.tv_sec + b.tv_sec;
    let mut n = a.tv_nsec + b.tv_nsec;
    if n >= 1_000_000_000 {
        s += 1;
        n -= 1_000_000_000;
    }
    libc::timespec {
        tv_sec: s,
        tv_nsec: n,
    }
}

/// A CPU-time clock of a host process/thread (`~pid << 3 | 2`, the
/// kernel's CPUCLOCK_SCHED encoding, PERTHREAD bit 4).
fn cpu_clock(pid: i32, thread: bool) -> libc::clockid_t {
    (!pid << 3) | 2 | if thread { 4 } else { 0 }
}

/// The value of clock `id` as the application sees it.
pub fn read_clock(t: &TaskCtx, id: i32) -> Result<libc::timespec, Errno> {
    match id {
        libc::CLOCK_REALTIME
        | libc::CLOCK_MONOTONIC
        | libc::CLOCK_MONOTONIC_RAW
        | libc::CLOCK_REALTIME_COARSE
        | libc::CLOCK_MONOTONIC_COARSE
        | libc::CLOCK_BOOTTIME
        | libc::CLOCK_REALTIME_ALARM
        | libc::CLOCK_BOOTTIME_ALARM
        | libc::CLOCK_TAI => host_clock(id),
        // The application's CPU time is its stub's plus the sentry's work.
        libc::CLOCK_PROCESS_CPUTIME_ID | libc::CLOCK_THREAD_CPUTIME_ID => {
            let stub = host_clock(cpu_clock(t.ctx.host_pid(), false)).unwrap_or(libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            });
            let me = host_clock(libc::CLOCK_THREAD_CPUTIME_ID)?;
            Ok(ts_add(stub, me))
        }
        _ => Err(Errno::EINVAL),
    }
}

pub fn sys_clock_gettime(t: &mut TaskCtx, a: &Args) -> SysResult {
    let ts = read_clock(t, a.i32(0))?;
    t.write_obj(a.u64(1), &ts)?;
    ok(0)
}

pub fn sys_clock_getres(t: &mut TaskCtx, a: &Args) -> SysResult {
    let id = a.i32(0);
    read_clock(t, id)?;
    let ns = match id {
        libc::CLOCK_REALTIME_COARSE | libc::CLOCK_MONOTONIC_COARSE => 4_000_000,
        _ => 1,
    };
    if a.u64(1) != 0 {
        t.write_obj(
            a.u64(1),
            &libc::timespec {
                tv_sec: 0,
                tv_nsec: ns,
            },
        )?;
    }
    ok(0)
}

pub fn sys_gettimeofday(t: &mut TaskCtx, a: &Args) -> SysResult {
    let ts = host_clock(libc::CLOCK_REALTIME)?;
    if a.u64(0) != 0 {
        t.write_obj(
            a.u64(0),
            &libc::timeval {
                tv_sec: ts.tv_sec,
                tv_usec: ts.tv_nsec / 1000,
            },
        )?;
    }
    if a.u64(1) != 0 {
        t.copy_out(a.u64(1), &[0u8; 8])?;
    }
    ok(0)
}

pub fn sys_time(t: &mut TaskCtx, a: &Args) -> SysResult {
    let ts = host_clock(libc::CLOCK_REALTIME)?;
    if a.u64(0) != 0 {
        t.write_obj(a.u64(0), &ts.tv_sec)?;
    }
    ok(ts.tv_sec)
}

/// Reads and validates a relative or absolute timespec argument.
pub fn read_timespec(t: &TaskCtx, addr: u64) -> Result<libc::timespec, Errno> {
    let ts: libc::timespec = t.read_obj(addr)?;
    if ts.tv_sec < 0 || !(0..1_000_000_000).contains(&ts.tv_nsec) {
        return Err(Errno::EINVAL);
    }
    Ok(ts)
}

pub fn duration_of(ts: &libc::timespec) -> Duration {
    Duration::new(
        u64::try_from(ts.tv_sec).unwrap_or(0),
        u32::try_from(ts.tv_nsec).unwrap_or(0),
    )
}

fn sleep_until(t: &mut TaskCtx, deadline: Instant, rem: u64) -> SysResult {
    match t.block(&[], Some(deadline), false, |_| Ok(None::<()>)) {
        Err(Errno::ETIMEDOUT) => ok(0),
        Err(Errno::EINTR) => {
            if rem != 0 {
                let left = deadline.saturating_duration_since(Instant::now());
                let ts = libc::timespec {
                    tv_sec: i64::try_from(left.as_secs()).unwrap_or(i64::MAX),
                    tv_nsec: i64::from(left.subsec_nanos()),
                };
                t.write_obj(rem, &ts)?;
            }
            Err(Errno::EINTR)
        }
        Err(e) => Err(e),
        Ok(()) => ok(0),
    }
}

pub fn sys_nanosleep(t: &mut TaskCtx, a: &Args) -> SysResult {
    let ts = read_timespec(t, a.u64(0))?;
    let deadline = Instant::now() + duration_of(&ts);
    sleep_until(t, deadline, a.u64(1))
}

pub fn sys_clock_nanosleep(t: &mut TaskCtx, a: &Args) -> SysResult {
    let (id, flags) = (a.i32(0), a.i32(1));
    match id {
        libc::CLOCK_REALTIME | libc::CLOCK_MONOTONIC | libc::CLOCK_BOOTTIME | libc::CLOCK_TAI => {}
        libc::CLOCK_THREAD_CPUTIME_ID => return Err(Errno::EINVAL),
        libc::CLOCK_PROCESS_CPUTIME_ID => return Err(Errno::EOPNOTSUPP),
        _ => return Err(Errno::EINVAL),
    }
    let ts = read_timespec(t, a.u64(2))?;
    let deadline = if flags & libc::TIMER_ABSTIME != 0 {
        let now = host_clock(id)?;
        let now_d = duration_of(&now);
        let want = duration_of(&ts);
        Instant::now() + want.saturating_sub(now_d)
    } else {
        Instant::now() + duration_of(&ts)
    };
    let rem = if flags & libc::TIMER_ABSTIME != 0 {
        0
    } else {
        a.u64(3)
    };
    sleep_until(t, deadline, rem)
}
