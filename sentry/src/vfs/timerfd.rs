//! timerfd: a timer whose expirations are read from a file (Linux's
//! `fs/timerfd.c`).
//!
//! Readiness is computed from the deadline whenever the file is polled or
//! read; one sentry thread ("timerfd") sleeps until the earliest armed
//! deadline and notifies that timer's wait queue, so sleepers in read,
//! poll and epoll wake when the timer fires.

use std::any::Any;
use std::sync::{Arc, Condvar, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant, SystemTime};

use nix::errno::Errno;

use super::FileOps;
use crate::kernel::task::lock;
use crate::kernel::wait::WaitQueue;

pub const TFD_TIMER_ABSTIME: i32 = 1;
pub const TFD_TIMER_CANCEL_ON_SET: i32 = 2;

#[derive(Debug, Default)]
struct State {
    /// The next expiry; `None` when disarmed.
    next: Option<Instant>,
    interval: Duration,
    /// Expirations not yet read.
    ticks: u64,
    /// Bumped by every settime, so the timer thread drops stale entries.
    generation: u64,
}

impl State {
    /// Accounts for the expirations up to `now`.
    fn update(&mut self, now: Instant) {
        let Some(next) = self.next else { return };
        if now < next {
            return;
        }
        if self.interval.is_zero() {
            self.ticks = self.ticks.saturating_add(1);
            self.next = None;
            return;
        }
        let late = now.duration_since(next).as_nanos();
        let n = u64::try_from(late / self.interval.as_nanos())
            .unwrap_or(u64::MAX)
            .saturating_add(1);
        self.ticks = self.ticks.saturating_add(n);
        let step = u32::try_from(n)
            .ok()
            .and_then(|n32| self.interval.checked_mul(n32))
            .and_then(|d| next.checked_add(d));
        self.next = step.or_else(|| now.checked_add(self.interval));
    }
}

#[derive(Debug)]
pub struct TimerFd {
    /// `CLOCK_REALTIME` (absolute times are wall-clock) or a monotonic one.
    realtime: bool,
    state: Mutex<State>,
    wq: WaitQueue,
    me: Weak<TimerFd>,
}

/// A timer's setting as `struct itimerspec` carries it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimerSpec {
    pub interval: Duration,
    pub value: Duration,
}

impl TimerFd {
    pub fn new(realtime: bool) -> Arc<TimerFd> {
        Arc::new_cyclic(|me| TimerFd {
            realtime,
            state: Mutex::new(State::default()),
            wq: WaitQueue::new(),
            me: me.clone(),
        })
    }

    fn current(st: &State, now: Instant) -> TimerSpec {
        TimerSpec {
            interval: st.interval,
            value: st
                .next
                .map_or(Duration::ZERO, |n| n.saturating_duration_since(now)),
        }
    }

    /// `timerfd_gettime`.
    pub fn get(&self) -> TimerSpec {
        let now = Instant::now();
        let mut st = lock(&self.state);
        st.update(now);
        Self::current(&st, now)
    }

    /// `timerfd_settime`: returns the old setting.
    pub fn set(&self, spec: TimerSpec, flags: i32) -> TimerSpec {
        let now = Instant::now();
        let (old, deadline, generation) = {
            let mut st = lock(&self.state);
            st.update(now);
            let old = Self::current(&st, now);
            st.ticks = 0;
            st.generation = st.generation.wrapping_add(1);
            st.interval = spec.interval;
            st.next = if spec.value.is_zero() {
                None
            } else if flags & TFD_TIMER_ABSTIME != 0 {
                Some(self.absolute(spec.value, now))
            } else {
                Some(now.checked_add(spec.value).unwrap_or(now + FAR))
            };
            (old, st.next, st.generation)
        };
        if let Some(d) = deadline {
            schedule(d, self.me.clone(), generation);
        }
        self.wq.notify();
        old
    }

    /// An absolute time on this timer's clock as an `Instant`.
    fn absolute(&self, at: Duration, now: Instant) -> Instant {
        let clock_now = if self.realtime {
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap_or_default()
        } else {
            monotonic_now()
        };
        match at.checked_sub(clock_now) {
            Some(ahead) => now.checked_add(ahead).unwrap_or(now + FAR),
            // In the past: expires at once.
            None => now,
        }
    }

    /// Called by the timer thread at `generation`'s deadline: wakes the
    /// waiters and says when to come back (interval timers).
    fn fire(&self, generation: u64) -> Option<Instant> {
        let next = {
            let mut st = lock(&self.state);
            if st.generation != generation {
                return None;
            }
            st.update(Instant::now());
            st.next
        };
        self.wq.notify();
        next
    }
}

/// A deadline far enough away to mean "never" without overflowing.
const FAR: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// `CLOCK_MONOTONIC` now, as the application reads it.
fn monotonic_now() -> Duration {
    match nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC) {
        Ok(ts) => Duration::new(
            u64::try_from(ts.tv_sec()).unwrap_or(0),
            u32::try_from(ts.tv_nsec()).unwrap_or(0),
        ),
        Err(_) => Duration::ZERO,
    }
}

impl FileOps for TimerFd {
    fn read(&self, buf: &mut [u8], _off: u64) -> Result<usize, Errno> {
        let Some(out) = buf.get_mut(..8) else {
            return Err(Errno::EINVAL);
        };
        let n = {
            let mut st = lock(&self.state);
            st.update(Instant::now());
            std::mem::take(&mut st.ticks)
        };
        if n == 0 {
            return Err(Errno::EAGAIN);
        }
        out.copy_from_slice(&n.to_ne_bytes());
        Ok(8)
    }

    fn poll(&self) -> i16 {
        let mut st = lock(&self.state);
        st.update(Instant::now());
        if st.ticks > 0 {
            libc::POLLIN
        } else {
            0
        }
    }

    fn wait_queue(&self) -> Option<&WaitQueue> {
        Some(&self.wq)
    }

    fn anon_name(&self) -> String {
        "anon_inode:[timerfd]".to_string()
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// The armed deadlines the timer thread watches.
#[derive(Debug, Default)]
struct Pending {
    list: Mutex<Vec<(Instant, Weak<TimerFd>, u64)>>,
    cv: Condvar,
}

static PENDING: OnceLock<Pending> = OnceLock::new();

fn pending() -> &'static Pending {
    PENDING.get_or_init(|| {
        crate::kernel::start_service(
            "timerfd",
            timer_thread,
            "a blocked reader is only woken by a signal",
        );
        Pending::default()
    })
}

fn schedule(at: Instant, t: Weak<TimerFd>, generation: u64) {
    let p = pending();
    lock(&p.list).push((at, t, generation));
    p.cv.notify_all();
}

fn timer_thread() {
    let p = pending();
    let mut list = lock(&p.list);
    loop {
        let now = Instant::now();
        let mut due = Vec::new();
        list.retain(|(at, t, g)| {
            if *at <= now {
                due.push((t.clone(), *g));
                false
            } else {
                t.strong_count() > 0
            }
        });
        if !due.is_empty() {
            drop(list);
            let mut again = Vec::new();
            for (t, g) in due {
                if let Some(tf) = t.upgrade() {
                    if let Some(next) = tf.fire(g) {
                        again.push((next, t, g));
                    }
                }
            }
            list = lock(&p.list);
            list.extend(again);
            continue;
        }
        list = match list.iter().map(|(at, _, _)| *at).min() {
            None => p.cv.wait(list).unwrap_or_else(|e| e.into_inner()),
            Some(at) => {
                p.cv.wait_timeout(list, at.saturating_duration_since(now))
                    .unwrap_or_else(|e| e.into_inner())
                    .0
            }
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_counts_missed_expirations() {
        let t0 = Instant::now();
        let mut st = State {
            next: Some(t0),
            interval: Duration::from_millis(10),
            ..State::default()
        };
        st.update(t0 + Duration::from_millis(35));
        assert_eq!(st.ticks, 4);
        assert_eq!(st.next, Some(t0 + Duration::from_millis(40)));
    }
}
