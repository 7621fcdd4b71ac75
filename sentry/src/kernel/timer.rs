//! Per-process interval timers: `setitimer`/`getitimer`/`alarm`.
//!
//! One sentry thread sleeps until the earliest armed timer of any process
//! and sends its signal (SIGALRM, SIGVTALRM, SIGPROF) to the process, as
//! Linux's `it_real_fn` does, re-arming it by its interval.
//!
//! `ITIMER_VIRTUAL` and `ITIMER_PROF` should count the process's CPU time;
//! the sentry does not meter that finely, so they run on wall-clock time
//! (a process that is busy the whole time sees the same expiry; one that
//! sleeps sees its signal early).
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

#[derive(Debug)]
struct ProcTimers {
    /// The process (a reused pid must not inherit a dead process's timers).
    tg: Weak<ThreadGroup>,
    timers: [ITimer; ITIMER_COUNT],
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
        if let Err(e) = std::thread::Builder::new()
            .name("itimers".into())
            .spawn(timer_thread)
        {
            // Without the thread timers never fire; everything else works.
            tracing::warn!("cannot start the interval timer thread: {e}");
        }
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
    let entry = p.entry(tg.pid).or_insert_with(|| ProcTimers {
        tg: Arc::downgrade(tg),
        timers: Default::default(),
    });
    if !std::ptr::eq(entry.tg.as_ptr(), Arc::as_ptr(tg)) {
        // The pid belonged to a process that is gone.
        *entry = ProcTimers {
            tg: Arc::downgrade(tg),
            timers: Default::default(),
        };
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
            e.timers.iter().any(|t| t.deadline.is_some())
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
