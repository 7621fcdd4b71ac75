//! POSIX per-process timers (`timer_create` and friends).
//!
//! One sentry thread sleeps until the earliest armed timer and notifies
//! it: a signal to the process (`SIGEV_SIGNAL`), to one of its threads
//! (`SIGEV_THREAD_ID`), or nothing (`SIGEV_NONE`). The siginfo is
//! `SI_TIMER` with `si_timerid`, `si_overrun` and `si_value`. While a
//! timer's signal is still queued, further expiries only count as
//! overruns in that queued siginfo (Linux's `posix_timer_event` and
//! `it_overrun`), so the handler sees them in `si_overrun` and
//! `timer_getoverrun` reports those of the last delivered signal.
//!
//! Timers on CPU-time clocks (`CLOCK_PROCESS_CPUTIME_ID`,
//! `CLOCK_THREAD_CPUTIME_ID`, and the clocks of `clock_getcpuclockid` and
//! `pthread_getcpuclockid`, even another process's) expire on that CPU
//! time: the CPU timer ticker of `kernel/cputime.rs` checks them.
//!
//! Timers belong to the process: fork does not copy them, exec deletes
//! them, and they go with the process.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, Weak};
use std::time::{Duration, Instant};

use nix::errno::Errno;

use super::cputime::CpuClock;
use super::run::send_to_group;
use super::signal::SigInfo;
use super::task::{lock, Task, ThreadGroup};

/// `si_code` of a timer signal.
pub const SI_TIMER: i32 = -2;
/// Linux's DELAYTIMER_MAX: overrun counts saturate here.
const DELAYTIMER_MAX: i32 = i32::MAX;
/// Timers one process may have (Linux bounds them by RLIMIT_SIGPENDING).
const MAX_TIMERS: usize = 32_768;

/// How an expiry is announced.
#[derive(Debug, Clone)]
pub enum Notify {
    /// `SIGEV_NONE`: nothing (the timer can still be read).
    None,
    /// `SIGEV_SIGNAL`: `sig` to the process.
    Process { sig: i32, value: u64 },
    /// `SIGEV_THREAD_ID`: `sig` to one thread.
    Thread {
        sig: i32,
        value: u64,
        task: Weak<Task>,
    },
}

#[derive(Debug)]
struct Timer {
    clock: i32,
    /// For a timer on a CPU-time clock: that clock.
    cpu: Option<CpuClock>,
    notify: Notify,
    /// When a timer on a wall clock fires next.
    deadline: Option<Instant>,
    /// When a timer on a CPU clock fires next (a reading of that clock).
    cpu_deadline: Option<u64>,
    interval: Duration,
    /// Expiries folded into the queued signal since it was queued.
    overrun: i32,
    /// The overrun count of the last delivered signal.
    overrun_last: i32,
}

#[derive(Debug)]
struct ProcTimers {
    tg: Weak<ThreadGroup>,
    timers: BTreeMap<i32, Timer>,
    /// The next id to try (Linux's `next_posix_timer_id`: a counter,
    /// not the lowest free id; it survives exec).
    next_id: i32,
}

#[derive(Debug, Default)]
struct State {
    /// By thread-group address (the Weak keeps the address from reuse).
    procs: Mutex<HashMap<usize, ProcTimers>>,
    cv: Condvar,
}

static STATE: OnceLock<State> = OnceLock::new();

fn state() -> &'static State {
    STATE.get_or_init(|| {
        crate::kernel::start_service("posix-timers", timer_thread, "POSIX timers never fire");
        State::default()
    })
}

fn procs() -> MutexGuard<'static, HashMap<usize, ProcTimers>> {
    lock(&state().procs)
}

fn tg_key(tg: &Arc<ThreadGroup>) -> usize {
    Arc::as_ptr(tg) as usize
}

/// A timer's setting as `timer_gettime` reports it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimerValue {
    pub value: Duration,
    pub interval: Duration,
}

/// Creates a timer on `clock`; `notify` gets the new id (a NULL sevp
/// sends the id as the signal value).
pub fn create(
    tg: &Arc<ThreadGroup>,
    clock: i32,
    cpu: Option<CpuClock>,
    notify: impl FnOnce(i32) -> Notify,
) -> Result<i32, Errno> {
    let mut p = procs();
    let e = p.entry(tg_key(tg)).or_insert_with(|| ProcTimers {
        tg: Arc::downgrade(tg),
        timers: BTreeMap::new(),
        next_id: 0,
    });
    if e.timers.len() >= MAX_TIMERS {
        return Err(Errno::EAGAIN);
    }
    let mut id = e.next_id;
    while e.timers.contains_key(&id) {
        id = id.wrapping_add(1) & i32::MAX;
    }
    e.next_id = id.wrapping_add(1) & i32::MAX;
    e.timers.insert(
        id,
        Timer {
            clock,
            cpu,
            notify: notify(id),
            deadline: None,
            cpu_deadline: None,
            interval: Duration::ZERO,
            overrun: 0,
            overrun_last: 0,
        },
    );
    Ok(id)
}

fn with_timer<R>(
    tg: &Arc<ThreadGroup>,
    id: i32,
    f: impl FnOnce(&mut Timer) -> R,
) -> Result<R, Errno> {
    let mut p = procs();
    let t = p
        .get_mut(&tg_key(tg))
        .and_then(|e| e.timers.get_mut(&id))
        .ok_or(Errno::EINVAL)?;
    Ok(f(t))
}

fn value_of(t: &Timer, now: Instant) -> TimerValue {
    let value = match (t.deadline, t.cpu_deadline) {
        (Some(d), _) => d
            .checked_duration_since(now)
            .filter(|r| !r.is_zero())
            .unwrap_or(Duration::from_nanos(1)),
        (None, Some(d)) => match t.cpu.as_ref().and_then(CpuClock::now) {
            // An expiry not yet delivered reads as 1ns, as Linux's
            // posix_cpu_timer_get.
            Some(now) => Duration::from_nanos(d.checked_sub(now).filter(|r| *r > 0).unwrap_or(1)),
            // Its process or thread is gone: it never fires.
            None => Duration::ZERO,
        },
        (None, None) => Duration::ZERO,
    };
    TimerValue {
        value,
        interval: t.interval,
    }
}

/// The clock timer `id` runs on, and the CPU clock that is, if it is one.
pub fn clock(tg: &Arc<ThreadGroup>, id: i32) -> Result<(i32, Option<CpuClock>), Errno> {
    with_timer(tg, id, |t| (t.clock, t.cpu.clone()))
}

pub fn get(tg: &Arc<ThreadGroup>, id: i32) -> Result<TimerValue, Errno> {
    let now = Instant::now();
    with_timer(tg, id, |t| value_of(t, now))
}

/// Arms (`deadline` Some) or disarms a timer; returns the old setting.
pub fn set(
    tg: &Arc<ThreadGroup>,
    id: i32,
    deadline: Option<Instant>,
    interval: Duration,
) -> Result<TimerValue, Errno> {
    let old = arm(tg, id, deadline, None, interval)?;
    state().cv.notify_all();
    Ok(old)
}

/// Arms a timer on a CPU clock to fire when the clock reads `deadline`
/// (`None` disarms); returns the old setting.
pub fn set_cpu(
    tg: &Arc<ThreadGroup>,
    id: i32,
    deadline: Option<u64>,
    interval: Duration,
) -> Result<TimerValue, Errno> {
    let old = arm(tg, id, None, deadline, interval)?;
    if deadline.is_some() {
        super::cputime::timer_armed();
    }
    Ok(old)
}

/// Sets a timer's deadline (on the wall clock or a CPU clock; neither
/// disarms it), resets its overruns and returns the old setting.
fn arm(
    tg: &Arc<ThreadGroup>,
    id: i32,
    deadline: Option<Instant>,
    cpu_deadline: Option<u64>,
    interval: Duration,
) -> Result<TimerValue, Errno> {
    let now = Instant::now();
    with_timer(tg, id, |t| {
        let old = value_of(t, now);
        if t.overrun != 0 && !queued(tg, &t.notify, id, 0) {
            t.overrun_last = t.overrun;
        }
        t.deadline = deadline;
        t.cpu_deadline = cpu_deadline;
        t.interval = if deadline.is_some() || cpu_deadline.is_some() {
            interval
        } else {
            Duration::ZERO
        };
        t.overrun = 0;
        old
    })
}

/// Whether timer `id`'s signal is still queued for its target; if so,
/// `bump` more overruns are added to its `si_overrun`.
fn queued(tg: &Arc<ThreadGroup>, notify: &Notify, id: i32, bump: i32) -> bool {
    let (sig, task) = match notify {
        Notify::None => return false,
        Notify::Process { sig, .. } => (*sig, None),
        Notify::Thread { sig, task, .. } => (*sig, task.upgrade()),
    };
    let mut f = |q: &mut SigInfo| {
        let hit = q.signo == sig && q.code == SI_TIMER && q.pid == id;
        if hit && bump > 0 {
            let n = i32::try_from(q.uid).unwrap_or(DELAYTIMER_MAX);
            q.uid = n.saturating_add(bump).unsigned_abs();
        }
        hit
    };
    match task {
        Some(t) => lock(&t.pending).update_first(&mut f),
        None => lock(&tg.shared_pending).update_first(&mut f),
    }
}

/// The overrun count of the last delivered expiry.
pub fn overrun(tg: &Arc<ThreadGroup>, id: i32) -> Result<i32, Errno> {
    let mut p = procs();
    let e = p.get_mut(&tg_key(tg)).ok_or(Errno::EINVAL)?;
    let t = e.timers.get_mut(&id).ok_or(Errno::EINVAL)?;
    if t.overrun != 0 && !queued(tg, &t.notify, id, 0) {
        t.overrun_last = t.overrun;
        t.overrun = 0;
    }
    Ok(t.overrun_last)
}

pub fn delete(tg: &Arc<ThreadGroup>, id: i32) -> Result<(), Errno> {
    let mut p = procs();
    let e = p.get_mut(&tg_key(tg)).ok_or(Errno::EINVAL)?;
    e.timers.remove(&id).ok_or(Errno::EINVAL)?;
    Ok(())
}

/// exec: the process's timers are deleted.
pub fn exec(tg: &Arc<ThreadGroup>) {
    if let Some(e) = procs().get_mut(&tg_key(tg)) {
        e.timers.clear();
    }
}

fn alive(tg: &ThreadGroup) -> bool {
    let s = lock(&tg.state);
    !s.zombie && !s.exiting
}

/// One expiry of timer `id`: fold it into a queued signal, or queue one.
fn expire(tg: &Arc<ThreadGroup>, id: i32, t: &mut Timer, missed: i32, out: &mut Vec<Send>) {
    let (sig, value, task) = match &t.notify {
        Notify::None => return,
        Notify::Process { sig, value } => (*sig, *value, None),
        Notify::Thread { sig, value, task } => match task.upgrade() {
            Some(task) => (*sig, *value, Some(task)),
            None => return,
        },
    };
    let bump = missed.saturating_add(1);
    if queued(tg, &t.notify, id, bump) {
        t.overrun = t.overrun.saturating_add(bump);
        return;
    }
    t.overrun_last = t.overrun;
    t.overrun = missed;
    let info = SigInfo {
        signo: sig,
        code: SI_TIMER,
        pid: id,
        uid: missed.max(0).unsigned_abs(),
        value,
        ..Default::default()
    };
    out.push(Send {
        tg: tg.clone(),
        task,
        info,
    });
}

struct Send {
    tg: Arc<ThreadGroup>,
    task: Option<Arc<Task>>,
    info: SigInfo,
}

/// Sends the signals of expiries (no timer lock held).
fn deliver(out: Vec<Send>) {
    for x in out {
        match x.task {
            Some(task) => {
                if !task.exited.load(std::sync::atomic::Ordering::Acquire) {
                    task.send_signal(x.info);
                }
            }
            None => send_to_group(&x.tg, x.info),
        }
    }
}

fn timer_thread() {
    let s = state();
    let mut p = lock(&s.procs);
    loop {
        let now = Instant::now();
        let mut out = Vec::new();
        let mut next: Option<Instant> = None;
        p.retain(|_, e| {
            let Some(tg) = e.tg.upgrade().filter(|tg| alive(tg)) else {
                return false;
            };
            for (id, t) in e.timers.iter_mut() {
                let Some(d) = t.deadline else { continue };
                if d <= now {
                    let (nd, missed) = reload(d, t.interval, now);
                    t.deadline = nd;
                    expire(&tg, *id, t, missed, &mut out);
                }
                if let Some(d) = t.deadline {
                    next = Some(next.map_or(d, |n| n.min(d)));
                }
            }
            true
        });
        if !out.is_empty() {
            drop(p);
            deliver(out);
            p = lock(&s.procs);
            continue;
        }
        p = match next {
            Some(d) => {
                let wait = d.saturating_duration_since(Instant::now());
                s.cv.wait_timeout(p, wait)
                    .map(|(g, _)| g)
                    .unwrap_or_else(|e| e.into_inner().0)
            }
            None => s.cv.wait(p).unwrap_or_else(|e| e.into_inner()),
        };
    }
}

/// Fires the timers on CPU clocks whose time has come; returns the least
/// CPU time an armed one still needs, `None` if none is armed.
pub fn check_cpu() -> Option<u64> {
    let mut out = Vec::new();
    let mut need: Option<u64> = None;
    {
        let mut p = procs();
        for e in p.values_mut() {
            if e.timers.values().all(|t| t.cpu_deadline.is_none()) {
                continue;
            }
            let Some(tg) = e.tg.upgrade().filter(|tg| alive(tg)) else {
                continue;
            };
            for (id, t) in e.timers.iter_mut() {
                let (Some(d), Some(clock)) = (t.cpu_deadline, t.cpu.as_ref()) else {
                    continue;
                };
                let Some(now) = clock.now().filter(|_| clock.alive()) else {
                    t.cpu_deadline = None;
                    continue;
                };
                if now >= d {
                    let (next, missed) = reload_cpu(d, t.interval, now);
                    t.cpu_deadline = next;
                    expire(&tg, *id, t, missed, &mut out);
                }
                if let Some(d) = t.cpu_deadline {
                    let left = d.saturating_sub(now);
                    need = Some(need.map_or(left, |n| n.min(left)));
                }
            }
        }
    }
    deliver(out);
    need
}

/// The next expiry of a CPU timer due at `deadline` when its clock reads
/// `now`, and the periods missed (Linux's `bump_cpu_timer`).
fn reload_cpu(deadline: u64, interval: Duration, now: u64) -> (Option<u64>, i32) {
    let step = u64::try_from(interval.as_nanos()).unwrap_or(u64::MAX);
    if step == 0 {
        return (None, 0);
    }
    let missed = now.saturating_sub(deadline) / step;
    let next = deadline.saturating_add(step.saturating_mul(missed + 1));
    (Some(next), i32::try_from(missed).unwrap_or(DELAYTIMER_MAX))
}

/// The next deadline of a timer that was due at `deadline` and the
/// periods missed beyond the one firing now (Linux's `hrtimer_forward`).
fn reload(deadline: Instant, interval: Duration, now: Instant) -> (Option<Instant>, i32) {
    if interval.is_zero() {
        return (None, 0);
    }
    let late = now.saturating_duration_since(deadline);
    let missed = late.as_nanos() / interval.as_nanos();
    let step = interval.checked_mul(u32::try_from(missed + 1).unwrap_or(u32::MAX));
    (
        step.and_then(|s| deadline.checked_add(s)),
        i32::try_from(missed).unwrap_or(DELAYTIMER_MAX),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reload_counts_missed_periods() {
        let d = Instant::now();
        let i = Duration::from_millis(10);
        assert_eq!(reload(d, Duration::ZERO, d), (None, 0));
        assert_eq!(reload(d, i, d), (Some(d + i), 0));
        assert_eq!(
            reload(d, i, d + Duration::from_millis(25)),
            (Some(d + 3 * i), 2)
        );
        assert_eq!(reload_cpu(100, Duration::ZERO, 500), (None, 0));
        assert_eq!(
            reload_cpu(100, Duration::from_nanos(10), 100),
            (Some(110), 0)
        );
        assert_eq!(
            reload_cpu(100, Duration::from_nanos(10), 125),
            (Some(130), 2)
        );
    }
}
