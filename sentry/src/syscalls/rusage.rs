//! Resource usage: getrusage, and the `struct rusage` wait4 returns.
//!
//! What the sentry can measure: user and system time as
//! `kernel/cputime.rs` accounts them (the stub's CPU time split among its
//! tasks, and the sentry threads' CPU time); the resident set is the
//! pages the memory manager has given the address space. Times of exited
//! processes include what they had collected from their own children.
//! Page faults, context switches and block I/O are not counted and read
//! as 0.

use std::sync::Arc;

use nix::errno::Errno;

use super::{ok, Args, SysResult};
use crate::kernel::cputime;
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

/// Resident kilobytes of a process's address space.
fn rss_kb(tg: &ThreadGroup) -> u64 {
    tg.mm().usage().1 / 1024
}

/// Usage of a process that has exited (for its parent's wait4): the
/// times its tasks recorded plus its reaped children's, its final RSS.
pub fn of_exited(tg: &ThreadGroup) -> Usage {
    let (cu, cs) = *lock(&tg.child_times);
    let (u, s) = cputime::group_times(tg);
    Usage {
        utime_ns: u.saturating_add(cu),
        stime_ns: s.saturating_add(cs),
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

/// (user, system) nanoseconds of the calling process.
fn self_times(t: &TaskCtx) -> (u64, u64) {
    cputime::group_times(t.tg())
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
            let (u, s) = cputime::task_times(&t.task);
            Usage {
                utime_ns: u,
                stime_ns: s,
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
