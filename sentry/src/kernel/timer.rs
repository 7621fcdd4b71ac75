//! Per-process interval timers: `setitimer`/`getitimer`/`alarm`.
//!
//! `ITIMER_REAL`: one sentry thread sleeps until the earliest armed timer
//! of any process and sends SIGALRM to the process, as Linux's
//! `it_real_fn` does, re-arming it by its interval.
//!
//! `ITIMER_VIRTUAL` (user time) and `ITIMER_PROF` (user and system time)
//! count the process's CPU time (`kernel/cputime.rs`); its ticker checks
//! them and sends SIGVTALRM/SIGPROF, re-armed by one interval per expiry
//! as Linux's `check_cpu_itimer` does. Unlike Linux, arming one does not
//! add a scheduler tick to its first expiry: the sentry reads CPU clocks
//! exactly, not tick by tick.
//!
//! Timers belong to the process: fork does not copy them (the child's pid
//! has none), exec keeps them, and they vanish with the process.

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, Weak};
use std::time::{Duration, Instant};

use super::run::send_to_group;
use super::signal::SigInfo;
use super::task::{lock, ThreadGroup};

/// Which timer (`ITIMER_REAL`, `ITIMER_VIRTUAL`, `ITIMER_PROF`).
pub const ITIMER_COUNT: usize = 3;
const ITIMER_VIRTUAL: usize = 1;
const ITIMER_PROF: usize = 2;

/// The signal each timer sends.
const SIGNALS: [i32; ITIMER_COUNT] = [libc::SIGALRM, libc::SIGVTALRM, libc::SIGPROF];

/// One timer's setting.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ITimer {
    /// When it next fires; `None` when disarmed.
    pub deadline: Option<Instant>,
    /// The reload value; zero for a one-shot timer.
    pub interval: Duration,
}

/// A timer's value as `getitimer` reports it: time left and interval.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ITimerValue {
    pub value: Duration,
    pub interval: Duration,
}

/// `ITIMER_VIRTUAL`/`ITIMER_PROF`: on the process's CPU clock, in ns.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct CpuITimer {
    /// The clock reading at which it fires; 0 when disarmed.
    expires: u64,
    interval: u64,
}

#[derive(Debug)]
struct ProcTimers {
    /// The process (a reused pid must not inherit a dead process's timers).
    tg: Weak<ThreadGroup>,
    /// Only `ITIMER_REAL` (index 0) is used; the others are in `cpu`.
    timers: [ITimer; ITIMER_COUNT],
    /// `ITIMER_VIRTUAL` and `ITIMER_PROF` (indices 1 and 2).
    cpu: [CpuITimer; 2],
}

impl ProcTimers {
    fn new(tg: &Arc<ThreadGroup>) -> ProcTimers {
        ProcTimers {
            tg: Arc::downgrade(tg),
            timers: Default::default(),
            cpu: Default::default(),
        }
    }

    fn armed(&self) -> bool {
        self.timers.iter().any(|t| t.deadline.is_some()) || self.cpu.iter().any(|c| c.expires != 0)
    }
}

/// The process's user time (`ITIMER_VIRTUAL`) or user and system time
/// (`ITIMER_PROF`).
fn cpu_now(tg: &ThreadGroup, which: usize) -> u64 {
    let (user, sys) = super::cputime::group_times(tg);
    if which == ITIMER_VIRTUAL {
        user
    } else {
        user.saturating_add(sys)
    }
}

/// A CPU timer's time left: an expiry not yet delivered reads as 1µs, as
/// for `ITIMER_REAL`.
fn cpu_remaining(expires: u64, now: u64) -> Duration {
    match expires {
        0 => Duration::ZERO,
        e if e > now => Duration::from_nanos(e - now),
        _ => Duration::from_micros(1),
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

#[derive(Debug, Default)]
struct Timers {
    procs: Mutex<HashMap<i32, ProcTimers>>,
    /// Wakes the timer thread when a deadline is set.
    cv: Condvar,
}

static TIMERS: OnceLock<Timers> = OnceLock::new();

fn timers() -> &'static Timers {
    TIMERS.get_or_init(|| {
        crate::kernel::start_service("itimers", timer_thread, "interval timers never fire");
        Timers::default()
    })
}

fn procs() -> MutexGuard<'static, HashMap<i32, ProcTimers>> {
    lock(&timers().procs)
}

/// Whether the process may still receive signals.
fn alive(tg: &ThreadGroup) -> bool {
    let s = lock(&tg.state);
    !s.zombie && !s.exiting
}

/// The time left until `deadline`. An armed timer whose expiry is being
/// delivered right now reads as 1µs, not as disarmed (as Linux's
/// `itimer_get_remtime`).
fn remaining(deadline: Option<Instant>, now: Instant) -> Duration {
    match deadline {
        None => Duration::ZERO,
        Some(d) => d
            .checked_duration_since(now)
            .filter(|r| !r.is_zero())
            .unwrap_or(Duration::from_micros(1)),
    }
}

/// The current setting of timer `which` (0..3) of process `tg`.
pub fn get(tg: &Arc<ThreadGroup>, which: usize) -> ITimerValue {
    let now = Instant::now();
    let p = procs();
    match p.get(&tg.pid) {
        Some(e) if std::ptr::eq(e.tg.as_ptr(), Arc::as_ptr(tg)) && which > 0 => {
            let c = e.cpu.get(which - 1).copied().unwrap_or_default();
            let value = if c.expires == 0 {
                Duration::ZERO
            } else {
                cpu_remaining(c.expires, cpu_now(tg, which))
            };
            ITimerValue {
                value,
                interval: Duration::from_nanos(c.interval),
            }
        }
        Some(e) if std::ptr::eq(e.tg.as_ptr(), Arc::as_ptr(tg)) => {
            let t = e.timers.get(which).copied().unwrap_or_default();
            ITimerValue {
                value: remaining(t.deadline, now),
                interval: t.interval,
            }
        }
        _ => ITimerValue::default(),
    }
}

/// Sets timer `which` (0..3) of `tg` to fire after `value` (zero
/// disarms) and then every `interval`; returns the previous setting.
pub fn set(tg: &Arc<ThreadGroup>, which: usize, new: ITimerValue) -> ITimerValue {
    let now = Instant::now();
    let mut p = procs();
    let entry = p.entry(tg.pid).or_insert_with(|| ProcTimers::new(tg));
    if !std::ptr::eq(entry.tg.as_ptr(), Arc::as_ptr(tg)) {
        // The pid belonged to a process that is gone.
        *entry = ProcTimers::new(tg);
    }
    if let Some(slot) = which.checked_sub(1).and_then(|i| entry.cpu.get_mut(i)) {
        // Linux's set_cpu_itimer: the old value relative, the new one
        // absolute on the clock.
        let now = cpu_now(tg, which);
        let old = ITimerValue {
            value: cpu_remaining(slot.expires, now),
            interval: Duration::from_nanos(slot.interval),
        };
        *slot = CpuITimer {
            expires: if new.value.is_zero() {
                0
            } else {
                now.saturating_add(nanos(new.value))
            },
            interval: nanos(new.interval),
        };
        let armed = slot.expires != 0;
        drop(p);
        if armed {
            super::cputime::timer_armed();
        }
        return old;
    }
    let Some(slot) = entry.timers.get_mut(which) else {
        return ITimerValue::default();
    };
    let old = ITimerValue {
        value: remaining(slot.deadline, now),
        interval: slot.interval,
    };
    *slot = if new.value.is_zero() {
        ITimer::default()
    } else {
        ITimer {
            deadline: now.checked_add(new.value),
            interval: new.interval,
        }
    };
    drop(p);
    timers().cv.notify_all();
    old
}

/// Fires the `ITIMER_VIRTUAL`/`ITIMER_PROF` timers whose CPU time has
/// come (one expiry per check, as Linux's `check_cpu_itimer`); returns
/// the least CPU time an armed one still needs, `None` if none is armed.
pub fn check_cpu() -> Option<u64> {
    let mut fire: Vec<(Arc<ThreadGroup>, i32)> = Vec::new();
    let mut need: Option<u64> = None;
    {
        let mut p = procs();
        for e in p.values_mut() {
            if e.cpu.iter().all(|c| c.expires == 0) {
                continue;
            }
            let Some(tg) = e.tg.upgrade().filter(|tg| alive(tg)) else {
                continue;
            };
            let (user, sys) = super::cputime::group_times(&tg);
            for (i, c) in e.cpu.iter_mut().enumerate() {
                if c.expires == 0 {
                    continue;
                }
                let which = i + 1;
                let now = if which == ITIMER_PROF {
                    user.saturating_add(sys)
                } else {
                    user
                };
                if now >= c.expires {
                    fire.push((Arc::clone(&tg), SIGNALS[which]));
                    c.expires = if c.interval == 0 {
                        0
                    } else {
                        c.expires.saturating_add(c.interval)
                    };
                }
                if c.expires != 0 {
                    let left = c.expires.saturating_sub(now);
                    need = Some(need.map_or(left, |n| n.min(left)));
                }
            }
        }
    }
    for (tg, sig) in fire {
        send_to_group(&tg, SigInfo::kernel(sig));
    }
    need
}

/// The next deadline after a timer with `interval` fired at `deadline`:
/// the first multiple of the interval after `now` (Linux's
/// `hrtimer_forward`), or `None` for a one-shot timer.
fn reload(deadline: Instant, interval: Duration, now: Instant) -> Option<Instant> {
    if interval.is_zero() {
        return None;
    }
    let late = now.saturating_duration_since(deadline);
    let periods = late.as_nanos() / interval.as_nanos() + 1;
    let step = interval.checked_mul(u32::try_from(periods).unwrap_or(u32::MAX))?;
    deadline.checked_add(step)
}

fn timer_thread() {
    let t = timers();
    let mut p = lock(&t.procs);
    loop {
        let now = Instant::now();
        let mut fire: Vec<(Arc<ThreadGroup>, i32)> = Vec::new();
        let mut next: Option<Instant> = None;
        p.retain(|_, e| {
            let Some(tg) = e.tg.upgrade().filter(|tg| alive(tg)) else {
                return false;
            };
            for (i, timer) in e.timers.iter_mut().enumerate() {
                let Some(d) = timer.deadline else { continue };
                if d <= now {
                    fire.push((Arc::clone(&tg), SIGNALS[i]));
                    timer.deadline = reload(d, timer.interval, now);
                }
                if let Some(d) = timer.deadline {
                    next = Some(next.map_or(d, |n| n.min(d)));
                }
            }
            e.armed()
        });
        if !fire.is_empty() {
            drop(p);
            for (tg, sig) in fire {
                send_to_group(&tg, SigInfo::kernel(sig));
            }
            p = lock(&t.procs);
            continue;
        }
        p = match next {
            Some(d) => {
                let wait = d.saturating_duration_since(Instant::now());
                t.cv.wait_timeout(p, wait)
                    .map(|(g, _)| g)
                    .unwrap_or_else(|e| e.into_inner().0)
            }
            None => t.cv.wait(p).unwrap_or_else(|e| e.into_inner()),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reload_skips_missed_periods() {
        let d = Instant::now();
        let i = Duration::from_millis(10);
        assert_eq!(reload(d, Duration::ZERO, d), None);
        assert_eq!(reload(d, i, d), Some(d + i));
        assert_eq!(reload(d, i, d + Duration::from_millis(25)), Some(d + 3 * i));
    }

    #[test]
    fn remaining_never_reads_as_disarmed() {
        let now = Instant::now();
        assert_eq!(remaining(None, now), Duration::ZERO);
        assert_eq!(remaining(Some(now), now), Duration::from_micros(1));
        assert_eq!(
            remaining(Some(now + Duration::from_secs(2)), now),
            Duration::from_secs(2)
        );
    }
}
