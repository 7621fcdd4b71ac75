//! Clocks, sleeping and interval timers.

use std::time::{Duration, Instant};

use nix::errno::Errno;

use super::{ok, Args, SysResult};
use crate::kernel::cputime;
use crate::kernel::ctx::TaskCtx;
use crate::kernel::timer;

/// Reads a host clock.
pub(super) fn host_clock(id: libc::clockid_t) -> Result<libc::timespec, Errno> {
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

fn ns_timespec(ns: u64) -> libc::timespec {
    libc::timespec {
        tv_sec: i64::try_from(ns / 1_000_000_000).unwrap_or(i64::MAX),
        tv_nsec: i64::try_from(ns % 1_000_000_000).unwrap_or(0),
    }
}

/// The value of clock `id` as the application sees it.
pub fn read_clock(t: &TaskCtx, id: i32) -> Result<libc::timespec, Errno> {
    if let Some(cpu) = cputime::resolve(&t.task, id, true) {
        return Ok(ns_timespec(cpu?.now().unwrap_or(0)));
    }
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
    // Coarse clocks and tick-based CPU clocks (user, or user+system
    // time) resolve to a scheduler tick (HZ=250); the rest to 1ns.
    let tick_based = matches!(
        cputime::resolve(&t.task, id, true),
        Some(Ok(c)) if c.which != cputime::Which::Sched
    );
    let ns = match id {
        libc::CLOCK_REALTIME_COARSE | libc::CLOCK_MONOTONIC_COARSE => 4_000_000,
        _ if tick_based => 4_000_000,
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

/// The largest time `settimeofday` accepts (Linux's TIME_SETTOD_SEC_MAX:
/// KTIME_SEC_MAX less 30 years).
const SETTOD_SEC_MAX: i64 = i64::MAX / 1_000_000_000 - 30 * 365 * 86_400;

/// Linux's timespec64_valid_settod.
fn valid_settod(ts: &libc::timespec) -> bool {
    ts.tv_sec >= 0 && ts.tv_sec < SETTOD_SEC_MAX && (0..1_000_000_000).contains(&ts.tv_nsec)
}

/// clock_settime: only CLOCK_REALTIME can be set (other clocks are
/// EINVAL; the CPU clocks of clock_getcpuclockid EPERM once the argument
/// has been read, or EINVAL when they name no process or thread). Setting it
/// needs CAP_SYS_TIME, which the sandbox never grants (the host clock is
/// not the sandbox's to change; gVisor does the same): a valid time gets
/// EPERM, an invalid one EINVAL first, as on Linux.
pub fn sys_clock_settime(t: &mut TaskCtx, a: &Args) -> SysResult {
    let id = a.i32(0);
    // The static CPU clocks have no clock_set in Linux: EINVAL at once.
    let cpu = cputime::resolve(&t.task, id, false).filter(|_| id < 0);
    if id != libc::CLOCK_REALTIME && cpu.is_none() {
        return Err(Errno::EINVAL);
    }
    let ts: libc::timespec = t.read_obj(a.u64(1))?;
    if id == libc::CLOCK_REALTIME && !valid_settod(&ts) {
        return Err(Errno::EINVAL);
    }
    // A CPU clock can never be set, but must name something first.
    cpu.transpose()?;
    Err(Errno::EPERM)
}

/// settimeofday: argument checks as Linux, then EPERM (no CAP_SYS_TIME in
/// the sandbox; see [`sys_clock_settime`]).
pub fn sys_settimeofday(t: &mut TaskCtx, a: &Args) -> SysResult {
    if a.u64(0) != 0 {
        let tv: libc::timeval = t.read_obj(a.u64(0))?;
        if !(0..=1_000_000).contains(&tv.tv_usec) {
            return Err(Errno::EINVAL);
        }
        let ts = libc::timespec {
            tv_sec: tv.tv_sec,
            tv_nsec: tv.tv_usec * 1000,
        };
        if !valid_settod(&ts) {
            return Err(Errno::EINVAL);
        }
    }
    if a.u64(1) != 0 {
        let _tz: u64 = t.read_obj(a.u64(1))?;
    }
    Err(Errno::EPERM)
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

/// Sleeps until CPU clock `clock` reaches `d` (absolute) or has advanced
/// by `d` (Linux's do_cpu_nanosleep). A clock whose process or thread
/// is gone never gets there: only a signal ends the sleep, as on Linux.
fn cpu_sleep(
    t: &mut TaskCtx,
    clock: &cputime::CpuClock,
    d: Duration,
    abs: bool,
    rem: u64,
) -> SysResult {
    let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
    let target = if abs {
        ns
    } else {
        clock.now().ok_or(Errno::EINVAL)?.saturating_add(ns)
    };
    // CPU time passes without any event to wait for: look every few ms.
    let r = t.block(&[], None, true, |_| {
        Ok(clock.now().is_some_and(|now| now >= target).then_some(()))
    });
    match r {
        Ok(()) => ok(0),
        Err(Errno::EINTR) => {
            if !abs && rem != 0 {
                let left = target.saturating_sub(clock.now().unwrap_or(target));
                t.write_obj(rem, &ns_timespec(left))?;
            }
            Err(Errno::EINTR)
        }
        Err(e) => Err(e),
    }
}

pub fn sys_clock_nanosleep(t: &mut TaskCtx, a: &Args) -> SysResult {
    let (id, flags) = (a.i32(0), a.i32(1));
    if let Some(cpu) = cputime::resolve(&t.task, id, false) {
        // The thread clock and clocks behind fds have no nsleep in Linux.
        if id == libc::CLOCK_THREAD_CPUTIME_ID || (id < 0 && id & 3 == 3) {
            return Err(Errno::EOPNOTSUPP);
        }
        let ts = read_timespec(t, a.u64(2))?;
        // No thread can wait for its own CPU time to pass.
        let pid = !(id >> 3);
        if id < 0 && id & 4 != 0 && (pid == 0 || pid == t.tid()) {
            return Err(Errno::EINVAL);
        }
        let abs = flags & libc::TIMER_ABSTIME != 0;
        return cpu_sleep(t, &cpu?, duration_of(&ts), abs, a.u64(3));
    }
    match id {
        libc::CLOCK_REALTIME | libc::CLOCK_MONOTONIC | libc::CLOCK_BOOTTIME | libc::CLOCK_TAI => {}
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

/// `struct itimerval`: interval then value, each a `timeval`.
fn read_itimerval(t: &TaskCtx, addr: u64) -> Result<timer::ITimerValue, Errno> {
    let raw: [i64; 4] = [
        t.read_obj(addr)?,
        t.read_obj(addr + 8)?,
        t.read_obj(addr + 16)?,
        t.read_obj(addr + 24)?,
    ];
    let tv = |sec: i64, usec: i64| -> Result<Duration, Errno> {
        if sec < 0 || !(0..1_000_000).contains(&usec) {
            return Err(Errno::EINVAL);
        }
        Ok(Duration::new(
            u64::try_from(sec).map_err(|_| Errno::EINVAL)?,
            u32::try_from(usec * 1000).map_err(|_| Errno::EINVAL)?,
        ))
    };
    Ok(timer::ITimerValue {
        interval: tv(raw[0], raw[1])?,
        value: tv(raw[2], raw[3])?,
    })
}

fn timeval_words(d: Duration) -> [i64; 2] {
    [
        i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        i64::from(d.subsec_micros()),
    ]
}

fn write_itimerval(t: &mut TaskCtx, addr: u64, v: timer::ITimerValue) -> Result<(), Errno> {
    let [is, iu] = timeval_words(v.interval);
    let [vs, vu] = timeval_words(v.value);
    let bytes: Vec<u8> = [is, iu, vs, vu]
        .iter()
        .flat_map(|w| w.to_ne_bytes())
        .collect();
    t.copy_out(addr, &bytes)
}

fn itimer_which(a: &Args) -> Result<usize, Errno> {
    usize::try_from(a.i32(0))
        .ok()
        .filter(|&w| w < timer::ITIMER_COUNT)
        .ok_or(Errno::EINVAL)
}

pub fn sys_getitimer(t: &mut TaskCtx, a: &Args) -> SysResult {
    let which = itimer_which(a)?;
    let v = timer::get(t.tg(), which);
    write_itimerval(t, a.u64(1), v)?;
    ok(0)
}

/// setitimer. A NULL new value disarms the timer (a misfeature Linux
/// still supports).
pub fn sys_setitimer(t: &mut TaskCtx, a: &Args) -> SysResult {
    let which = itimer_which(a)?;
    let new = if a.u64(1) != 0 {
        read_itimerval(t, a.u64(1))?
    } else {
        timer::ITimerValue::default()
    };
    let old = timer::set(t.tg(), which, new);
    if a.u64(2) != 0 {
        write_itimerval(t, a.u64(2), old)?;
    }
    ok(0)
}

/// alarm: ITIMER_REAL in whole seconds; returns the seconds that were
/// left, rounded to nearest but never 0 for a pending alarm (as Linux's
/// alarm_setitimer).
pub fn sys_alarm(t: &mut TaskCtx, a: &Args) -> SysResult {
    let new = timer::ITimerValue {
        value: Duration::from_secs(u64::from(a.u32(0))),
        interval: Duration::ZERO,
    };
    let old = timer::set(t.tg(), 0, new).value;
    let mut secs = old.as_secs();
    if (secs == 0 && old.subsec_nanos() > 0) || old.subsec_nanos() >= 500_000_000 {
        secs += 1;
    }
    ok(secs)
}
