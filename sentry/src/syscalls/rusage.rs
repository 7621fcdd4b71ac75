//! Resource usage: getrusage, and the `struct rusage` wait4 returns.
//!
//! What the sentry can measure: user time is the CPU time of the calling
//! thread's stub (the host process that runs application code), system
//! time the CPU time of the sentry thread serving it (both sampled into
//! the task's `utime_ns`/`stime_ns`, see [`sample`]); the resident set is
//! the pages the memory manager has given the address space. Times of
//! exited processes are what their tasks recorded (`utime_ns`/`stime_ns`)
//! plus what they had collected from their own children. Page faults,
//! context switches and block I/O are not counted and read as 0.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::errno::Errno;

use super::time::{cpu_clock, host_clock};
use super::{ok, Args, SysResult};
use crate::kernel::ctx::TaskCtx;
use crate::kernel::task::{lock, ThreadGroup};

const RUSAGE_SELF: i32 = 0;
const RUSAGE_CHILDREN: i32 = -1;
const RUSAGE_THREAD: i32 = 1;

/// The parts of `struct rusage` the sentry fills in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub utime_ns: u64,
    pub stime_ns: u64,
    /// Peak resident set in kilobytes.
    pub maxrss_kb: u64,
}

impl Usage {
    /// The 144-byte `struct rusage`: two timevals, then 14 longs starting
    /// with ru_maxrss.
    pub fn to_bytes(self) -> [u8; 144] {
        let mut out = [0u8; 144];
        let tv = |ns: u64| -> [i64; 2] {
            [
                i64::try_from(ns / 1_000_000_000).unwrap_or(i64::MAX),
                i64::try_from(ns % 1_000_000_000 / 1000).unwrap_or(0),
            ]
        };
        let [us, uu] = tv(self.utime_ns);
        let [ss, su] = tv(self.stime_ns);
        let maxrss = i64::try_from(self.maxrss_kb).unwrap_or(i64::MAX);
        for (i, w) in [us, uu, ss, su, maxrss].iter().enumerate() {
            out[i * 8..i * 8 + 8].copy_from_slice(&w.to_ne_bytes());
        }
        out
    }
}

fn ts_ns(ts: libc::timespec) -> u64 {
    u64::try_from(ts.tv_sec)
        .unwrap_or(0)
        .saturating_mul(1_000_000_000)
        .saturating_add(u64::try_from(ts.tv_nsec).unwrap_or(0))
}

/// Resident kilobytes of a process's address space.
fn rss_kb(tg: &ThreadGroup) -> u64 {
    tg.mm().usage().1 / 1024
}

/// Usage of a process that has exited (for its parent's wait4): the
/// times its tasks recorded plus its reaped children's, its final RSS.
pub fn of_exited(tg: &ThreadGroup) -> Usage {
    let (mut u, mut s) = *lock(&tg.child_times);
    for t in lock(&tg.state)
        .tasks
        .iter()
        .filter_map(std::sync::Weak::upgrade)
    {
        u += t.utime_ns.load(Ordering::Relaxed);
        s += t.stime_ns.load(Ordering::Relaxed);
    }
    Usage {
        utime_ns: u,
        stime_ns: s,
        maxrss_kb: rss_kb(tg),
    }
}

/// Called when `parent` reaps `child`: the child's times join the
/// parent's children's times (Linux's wait_task_zombie); returns the
/// child's usage for wait4.
pub fn on_reap(parent: &Arc<ThreadGroup>, child: &ThreadGroup) -> Usage {
    let usage = of_exited(child);
    let mut ct = lock(&parent.child_times);
    ct.0 = ct.0.saturating_add(usage.utime_ns);
    ct.1 = ct.1.saturating_add(usage.stime_ns);
    usage
}

// ---------------------------------------------------------------------------
// CPU time accounting
//
// A task's user time is the CPU time of its stub. The host only lets a
// process read another process's *process* CPU clock (per-thread clocks
// are private to their thread group), so threads sharing a stub process
// split its clock: each sample credits the sampling task with what the
// stub used since the previous sample of any of its tasks. The sums per
// process are exact; the split between threads is approximate. System
// time is the CPU time of the sentry thread serving the task (one host
// thread per task, so its clock is the task's).

/// The last value read from each stub process's CPU clock, by host pid.
static STUB_SAMPLED: Mutex<BTreeMap<i32, u64>> = Mutex::new(BTreeMap::new());

/// How often the run loop samples at syscall stops.
const SAMPLE_EVERY: Duration = Duration::from_millis(10);

thread_local! {
    /// When this host thread's task was last sampled.
    static LAST_SAMPLE: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// Brings the calling task's `utime_ns`/`stime_ns` up to date.
pub fn sample(t: &TaskCtx) {
    LAST_SAMPLE.with(|c| c.set(Some(Instant::now())));
    let pid = t.ctx.host_pid();
    if let Ok(ts) = host_clock(cpu_clock(pid, false)) {
        let total = ts_ns(ts);
        let mut m = lock(&STUB_SAMPLED);
        let last = m.insert(pid, total).unwrap_or(0);
        // Less than before: the pid now names a new stub process.
        let delta = if total >= last { total - last } else { total };
        t.task.utime_ns.fetch_add(delta, Ordering::Relaxed);
    }
    if let Ok(ts) = host_clock(libc::CLOCK_THREAD_CPUTIME_ID) {
        t.task.stime_ns.store(ts_ns(ts), Ordering::Relaxed);
    }
}

/// Called at syscall stops: samples at most every [`SAMPLE_EVERY`].
pub fn tick(t: &TaskCtx) {
    let due = LAST_SAMPLE.with(|c| c.get().is_none_or(|l| l.elapsed() >= SAMPLE_EVERY));
    if due {
        sample(t);
    }
}

/// Called as a task ends, before its stub thread goes: a last sample,
/// and the stub's entry is dropped when this was its last user.
pub fn task_exiting(t: &TaskCtx) {
    sample(t);
    if t.mm.users.load(Ordering::Acquire) <= 1 {
        lock(&STUB_SAMPLED).remove(&t.ctx.host_pid());
    }
}

/// (user, system) nanoseconds of the calling process, sampled now.
fn self_times(t: &TaskCtx) -> (u64, u64) {
    sample(t);
    lock(&t.tg().state)
        .tasks
        .iter()
        .filter_map(std::sync::Weak::upgrade)
        .fold((0, 0), |(u, s), x| {
            (
                u.saturating_add(x.utime_ns.load(Ordering::Relaxed)),
                s.saturating_add(x.stime_ns.load(Ordering::Relaxed)),
            )
        })
}

/// Clock ticks per second (`sysconf(_SC_CLK_TCK)`, Linux's USER_HZ).
const CLK_TCK: u64 = 100;

fn ticks(ns: u64) -> i64 {
    i64::try_from(ns / (1_000_000_000 / CLK_TCK)).unwrap_or(i64::MAX)
}

/// times(struct tms *): the process's and its reaped children's user and
/// system times in clock ticks; returns the ticks since the sandbox
/// booted (a NULL buffer is allowed).
pub fn sys_times(t: &mut TaskCtx, a: &Args) -> SysResult {
    if a.u64(0) != 0 {
        let (u, s) = self_times(t);
        let (cu, cs) = *lock(&t.tg().child_times);
        let tms = [ticks(u), ticks(s), ticks(cu), ticks(cs)];
        let mut out = [0u8; 32];
        for (i, v) in tms.iter().enumerate() {
            out[i * 8..i * 8 + 8].copy_from_slice(&v.to_ne_bytes());
        }
        t.copy_out(a.u64(0), &out)?;
    }
    let up = u64::try_from(t.kernel().boot.elapsed().as_nanos()).unwrap_or(u64::MAX);
    super::ok_i64(ticks(up))
}

pub fn sys_getrusage(t: &mut TaskCtx, a: &Args) -> SysResult {
    let usage = match a.i32(0) {
        RUSAGE_SELF => {
            let (u, s) = self_times(t);
            Usage {
                utime_ns: u,
                stime_ns: s,
                maxrss_kb: rss_kb(t.tg()),
            }
        }
        RUSAGE_THREAD => {
            sample(t);
            Usage {
                utime_ns: t.task.utime_ns.load(Ordering::Relaxed),
                stime_ns: t.task.stime_ns.load(Ordering::Relaxed),
                maxrss_kb: rss_kb(t.tg()),
            }
        }
        RUSAGE_CHILDREN => {
            let (u, s) = *lock(&t.tg().child_times);
            Usage {
                utime_ns: u,
                stime_ns: s,
                maxrss_kb: 0,
            }
        }
        _ => return Err(Errno::EINVAL),
    };
    t.copy_out(a.u64(1), &usage.to_bytes())?;
    ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_matches_libc() {
        let u = Usage {
            utime_ns: 1_500_000_000,
            stime_ns: 2_000_001_000,
            maxrss_kb: 77,
        };
        let b = u.to_bytes();
        assert_eq!(b.len(), std::mem::size_of::<libc::rusage>());
        // SAFETY: rusage is plain integers; any 144 bytes form a value.
        let r: libc::rusage = unsafe { std::ptr::read_unaligned(b.as_ptr().cast()) };
        assert_eq!((r.ru_utime.tv_sec, r.ru_utime.tv_usec), (1, 500_000));
        assert_eq!((r.ru_stime.tv_sec, r.ru_stime.tv_usec), (2, 1));
        assert_eq!(r.ru_maxrss, 77);
    }
}
