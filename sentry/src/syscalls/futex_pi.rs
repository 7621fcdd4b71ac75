//! The futex extras: `FUTEX_WAKE_OP`, priority-inheritance locks
//! (`FUTEX_LOCK_PI`, `FUTEX_LOCK_PI2`, `FUTEX_TRYLOCK_PI`,
//! `FUTEX_UNLOCK_PI`) and robust lists (`set_robust_list`,
//! `get_robust_list`, and the walk a dying thread's list gets).
//!
//! A PI futex word holds the owner's TID, `FUTEX_WAITERS` when someone
//! sleeps in the sentry for it and `FUTEX_OWNER_DIED` after its owner died
//! holding it. Unlock hands the lock straight to the longest waiter, as
//! Linux does. The sentry has no priorities to inherit: the lock protocol
//! is exact, the boosting is not done.
//!
//! `FUTEX_WAIT_REQUEUE_PI`/`FUTEX_CMP_REQUEUE_PI` stay ENOSYS (glibc's
//! condition variables stopped using them in 2.25).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use nix::errno::Errno;

use super::futex::{key, wake_addr, wake_key, Key};
use super::{ok, Args, SysResult};
use crate::kernel::ctx::TaskCtx;
use crate::kernel::task::{kernel, lock};
use crate::kernel::wait::Waker;

pub const FUTEX_WAITERS: u32 = 0x8000_0000;
pub const FUTEX_OWNER_DIED: u32 = 0x4000_0000;
pub const FUTEX_TID_MASK: u32 = 0x3fff_ffff;

/// Linux's ROBUST_LIST_LIMIT: a list longer than this (or circular) is
/// not walked further.
const ROBUST_LIST_LIMIT: usize = 2048;
/// sizeof(struct robust_list_head).
const ROBUST_HEAD_SIZE: u64 = 24;

#[derive(Debug)]
struct PiWaiter {
    tid: u32,
    waker: Arc<Waker>,
    /// The unlocker made this waiter the owner.
    granted: AtomicBool,
    /// Woken to retry (the owner died).
    kicked: AtomicBool,
}

type PiTable = HashMap<Key, VecDeque<Arc<PiWaiter>>>;

static PI: Mutex<Option<PiTable>> = Mutex::new(None);

fn with_pi<R>(f: impl FnOnce(&mut PiTable) -> R) -> R {
    let mut g = lock(&PI);
    f(g.get_or_insert_with(HashMap::new))
}

fn my_tid(t: &TaskCtx) -> u32 {
    t.tid().unsigned_abs()
}

/// Whether a thread with this TID is alive in the sandbox.
fn tid_alive(tid: u32) -> bool {
    i32::try_from(tid)
        .ok()
        .and_then(|tid| kernel().task(tid))
        .is_some_and(|t| !t.exited.load(Ordering::Acquire))
}

enum Attempt {
    Acquired,
    Busy,
}

/// One attempt at taking the lock (Linux's futex_lock_pi_atomic); with
/// `queue_me`, a busy lock gets FUTEX_WAITERS and the caller is queued,
/// both under the table lock so an unlock cannot slip in between.
fn try_lock(
    t: &mut TaskCtx,
    addr: u64,
    k: Key,
    me: Option<&Arc<PiWaiter>>,
) -> Result<Attempt, Errno> {
    let tid = my_tid(t);
    with_pi(|tab| {
        let others = tab
            .get(&k)
            .is_some_and(|q| q.iter().any(|w| me.is_none_or(|m| !Arc::ptr_eq(w, m))));
        let mut owner = 0u32;
        let mut acquired = false;
        let old = t.mm.atomic_update_u32(&mut t.ctx, addr, |v| {
            owner = v & FUTEX_TID_MASK;
            acquired = false;
            if owner == 0 {
                acquired = true;
                let waiters = if others { FUTEX_WAITERS } else { 0 };
                Some(tid | (v & FUTEX_OWNER_DIED) | waiters)
            } else if owner == tid || me.is_none() {
                None
            } else {
                Some(v | FUTEX_WAITERS)
            }
        })?;
        let _ = old;
        if acquired {
            if let Some(m) = me {
                if let Some(q) = tab.get_mut(&k) {
                    q.retain(|w| !Arc::ptr_eq(w, m));
                    if q.is_empty() {
                        tab.remove(&k);
                    }
                }
            }
            return Ok(Attempt::Acquired);
        }
        if owner == tid {
            return Err(Errno::EDEADLK);
        }
        if !tid_alive(owner) {
            // The owner is gone without its robust-list walk freeing the
            // word (Linux: ESRCH from attach_to_pi_owner).
            return Err(Errno::ESRCH);
        }
        if let Some(m) = me {
            let q = tab.entry(k).or_default();
            if !q.iter().any(|w| Arc::ptr_eq(w, m)) {
                q.push_back(m.clone());
            }
        }
        Ok(Attempt::Busy)
    })
}

fn lock_pi(t: &mut TaskCtx, addr: u64, private: bool, deadline: Option<Instant>) -> SysResult {
    let k = key(t, addr, private)?;
    let me = Arc::new(PiWaiter {
        tid: my_tid(t),
        waker: t.task.waker.clone(),
        granted: AtomicBool::new(false),
        kicked: AtomicBool::new(false),
    });
    loop {
        if let Attempt::Acquired = try_lock(t, addr, k, Some(&me))? {
            return ok(0);
        }
        me.kicked.store(false, Ordering::Release);
        let r = t.block(&[], deadline, false, |_| {
            Ok(
                (me.granted.load(Ordering::Acquire) || me.kicked.load(Ordering::Acquire))
                    .then_some(()),
            )
        });
        let granted = with_pi(|tab| {
            let granted = me.granted.load(Ordering::Acquire);
            if r.is_err() || granted {
                if let Some(q) = tab.get_mut(&k) {
                    q.retain(|w| !Arc::ptr_eq(w, &me));
                    if q.is_empty() {
                        tab.remove(&k);
                    }
                }
            }
            granted
        });
        if granted {
            return ok(0);
        }
        r?;
    }
}

fn unlock_pi(t: &mut TaskCtx, addr: u64, private: bool) -> SysResult {
    let k = key(t, addr, private)?;
    let tid = my_tid(t);
    with_pi(|tab| {
        let q = tab.get_mut(&k);
        let next = q.as_ref().and_then(|q| q.front().cloned());
        let more = q.as_ref().is_some_and(|q| q.len() > 1);
        let mut mine = false;
        t.mm.atomic_update_u32(&mut t.ctx, addr, |v| {
            mine = v & FUTEX_TID_MASK == tid;
            if !mine {
                return None;
            }
            Some(match &next {
                Some(w) => w.tid | if more { FUTEX_WAITERS } else { 0 },
                None => 0,
            })
        })?;
        if !mine {
            return Err(Errno::EPERM);
        }
        if let Some(w) = next {
            if let Some(q) = tab.get_mut(&k) {
                q.pop_front();
                if q.is_empty() {
                    tab.remove(&k);
                }
            }
            w.granted.store(true, Ordering::Release);
            w.waker.wake();
        }
        ok(0)
    })
}

/// Wakes one PI waiter on `addr` to retry (the owner died).
fn kick_pi_waiter(t: &TaskCtx, addr: u64) {
    for private in [true, false] {
        if let Ok(k) = key(t, addr, private) {
            with_pi(|tab| {
                if let Some(w) = tab.get(&k).and_then(|q| q.front()) {
                    w.kicked.store(true, Ordering::Release);
                    w.waker.wake();
                }
            });
        }
    }
}

/// The absolute timeout of LOCK_PI (CLOCK_REALTIME) or LOCK_PI2
/// (CLOCK_MONOTONIC unless FUTEX_CLOCK_REALTIME).
fn pi_deadline(t: &TaskCtx, ts_addr: u64, realtime: bool) -> Result<Option<Instant>, Errno> {
    if ts_addr == 0 {
        return Ok(None);
    }
    let ts = super::time::read_timespec(t, ts_addr)?;
    let d = super::time::duration_of(&ts);
    let clock = if realtime {
        libc::CLOCK_REALTIME
    } else {
        libc::CLOCK_MONOTONIC
    };
    let now = super::time::duration_of(&super::time::read_clock(t, clock)?);
    Ok(Some(Instant::now() + d.saturating_sub(now)))
}

/// FUTEX_LOCK_PI (6), FUTEX_UNLOCK_PI (7), FUTEX_TRYLOCK_PI (8),
/// FUTEX_LOCK_PI2 (13).
pub fn pi_op(t: &mut TaskCtx, a: &Args, cmd: i32, private: bool, realtime: bool) -> SysResult {
    let addr = a.u64(0);
    match cmd {
        6 => {
            let dl = pi_deadline(t, a.u64(3), true)?;
            lock_pi(t, addr, private, dl)
        }
        13 => {
            let dl = pi_deadline(t, a.u64(3), realtime)?;
            lock_pi(t, addr, private, dl)
        }
        7 => unlock_pi(t, addr, private),
        8 => {
            let k = key(t, addr, private)?;
            match try_lock(t, addr, k, None)? {
                Attempt::Acquired => ok(0),
                Attempt::Busy => Err(Errno::EAGAIN),
            }
        }
        _ => Err(Errno::ENOSYS),
    }
}

/// Whether an interrupted call is always restarted: FUTEX_LOCK_PI and
/// FUTEX_LOCK_PI2 never fail with EINTR (Linux's ERESTARTNOINTR; their
/// timeout is absolute, so a restart keeps it).
pub fn restarts_always(a: &Args) -> bool {
    #[allow(clippy::cast_possible_wrap, reason = "syscall numbers are small")]
    let futex = a.nr as i64 == libc::SYS_futex;
    futex && matches!(a.i32(1) & 127, 6 | 13)
}

/// FUTEX_WAKE_OP: `*uaddr2 = op(*uaddr2)` atomically, wake `nr_wake` on
/// uaddr, and `nr_wake2` on uaddr2 if the old value passes the compare.
pub fn wake_op(t: &mut TaskCtx, a: &Args, private: bool) -> SysResult {
    let (addr, nr_wake, nr_wake2, addr2) = (a.u64(0), a.u32(2), a.u32(3), a.u64(4));
    let enc = a.u32(5);
    let op = (enc >> 28) & 7;
    let shift = (enc >> 28) & 8 != 0;
    let cmp = (enc >> 24) & 15;
    #[allow(
        clippy::cast_possible_wrap,
        reason = "the 12-bit fields are sign-extended as in Linux"
    )]
    let (mut oparg, cmparg) = (((enc << 8) as i32) >> 20, ((enc << 20) as i32) >> 20);
    if shift {
        oparg = 1i32 << (oparg & 31);
    }
    // An unknown op fails before the word changes; an unknown compare
    // only after (as Linux's futex_atomic_op_inuser).
    if op > 4 {
        return Err(Errno::ENOSYS);
    }
    let k1 = key(t, addr, private)?;
    let k2 = key(t, addr2, private)?;
    #[allow(clippy::cast_sign_loss, reason = "bitwise ops on the word")]
    let arg = oparg as u32;
    let old = t.mm.atomic_update_u32(&mut t.ctx, addr2, |v| {
        Some(match op {
            0 => arg,
            1 => v.wrapping_add(arg),
            2 => v | arg,
            3 => v & !arg,
            _ => v ^ arg,
        })
    })?;
    #[allow(clippy::cast_possible_wrap, reason = "Linux compares as int")]
    let old = old as i32;
    let mut woken = wake_key(k1, nr_wake as usize, u32::MAX);
    let pass = match cmp {
        0 => old == cmparg,
        1 => old != cmparg,
        2 => old < cmparg,
        3 => old <= cmparg,
        4 => old > cmparg,
        5 => old >= cmparg,
        _ => return Err(Errno::ENOSYS),
    };
    if pass {
        woken += wake_key(k2, nr_wake2 as usize, u32::MAX);
    }
    ok(woken)
}

/// Robust-list heads by TID (Linux keeps it in the task_struct).
static ROBUST: Mutex<Option<HashMap<i32, u64>>> = Mutex::new(None);

fn with_robust<R>(f: impl FnOnce(&mut HashMap<i32, u64>) -> R) -> R {
    let mut g = lock(&ROBUST);
    f(g.get_or_insert_with(HashMap::new))
}

pub fn sys_set_robust_list(t: &mut TaskCtx, a: &Args) -> SysResult {
    if a.u64(1) != ROBUST_HEAD_SIZE {
        return Err(Errno::EINVAL);
    }
    let head = a.u64(0);
    let tid = t.tid();
    with_robust(|m| {
        if head == 0 {
            m.remove(&tid);
        } else {
            m.insert(tid, head);
        }
    });
    ok(0)
}

pub fn sys_get_robust_list(t: &mut TaskCtx, a: &Args) -> SysResult {
    let pid = a.i32(0);
    let tid = if pid == 0 {
        t.tid()
    } else {
        let task = kernel().task(pid).ok_or(Errno::ESRCH)?;
        if !Arc::ptr_eq(&task.tg, t.tg()) {
            let mine = lock(&t.tg().creds).clone();
            let theirs = lock(&task.tg.creds).clone();
            if !super::caps::may_inspect(&mine, &theirs) {
                return Err(Errno::EPERM);
            }
        }
        task.tid
    };
    let head = with_robust(|m| m.get(&tid).copied().unwrap_or(0));
    t.write_obj(a.u64(1), &head)?;
    t.write_obj(a.u64(2), &ROBUST_HEAD_SIZE)?;
    ok(0)
}

/// Forgets a thread's robust list (exec; a new thread starts without one).
pub fn clear_robust_list(tid: i32) {
    with_robust(|m| {
        m.remove(&tid);
    });
}

/// Linux's handle_futex_death: a futex the dying thread owns gets
/// FUTEX_OWNER_DIED (owner cleared) and one waiter is woken.
fn futex_death(t: &mut TaskCtx, addr: u64, pi: bool, pending: bool) -> Result<(), Errno> {
    let tid = my_tid(t);
    if !addr.is_multiple_of(4) {
        return Err(Errno::EINVAL);
    }
    let mut waiters = false;
    let old = t.mm.atomic_update_u32(&mut t.ctx, addr, |v| {
        if v & FUTEX_TID_MASK != tid {
            return None;
        }
        waiters = v & FUTEX_WAITERS != 0;
        Some((v & FUTEX_WAITERS) | FUTEX_OWNER_DIED)
    })?;
    if pending && !pi && old == 0 {
        // Died between taking the lock in user space and listing it:
        // a waiter may sleep on a free lock.
        wake_addr(t, addr, 1);
        return Ok(());
    }
    if old & FUTEX_TID_MASK == tid {
        if pi {
            kick_pi_waiter(t, addr);
        } else if waiters {
            wake_addr(t, addr, 1);
        }
    }
    Ok(())
}

/// Splits a robust-list pointer into the entry and its PI bit.
fn entry(p: u64) -> (u64, bool) {
    (p & !1, p & 1 != 0)
}

/// Walks the dying thread's robust list (Linux's exit_robust_list). Any
/// bad pointer just ends the walk: the list is application memory.
pub fn exit_robust_list(t: &mut TaskCtx) {
    walk_robust_list(t);
    exit_pi_state(t);
}

/// PI locks the dying thread still owns pass to their longest waiter
/// (Linux's exit_pi_state_list). Only private futexes of the thread's
/// address space are found this way: a shared PI futex held at death
/// keeps its waiters until the word changes.
fn exit_pi_state(t: &mut TaskCtx) {
    let tid = my_tid(t);
    let mm = Arc::as_ptr(&t.mm) as usize;
    with_pi(|tab| {
        let keys: Vec<Key> = tab
            .keys()
            .filter(|k| matches!(k, Key::Private(m, _) if *m == mm))
            .copied()
            .collect();
        for k in keys {
            let Key::Private(_, addr) = k else { continue };
            let Some(q) = tab.get_mut(&k) else { continue };
            let Some(next) = q.front().cloned() else {
                continue;
            };
            let more = q.len() > 1;
            let mut handed = false;
            let r = t.mm.atomic_update_u32(&mut t.ctx, addr, |v| {
                handed = v & FUTEX_TID_MASK == tid;
                handed.then(|| next.tid | FUTEX_OWNER_DIED | if more { FUTEX_WAITERS } else { 0 })
            });
            if r.is_ok() && handed {
                q.pop_front();
                if q.is_empty() {
                    tab.remove(&k);
                }
                next.granted.store(true, Ordering::Release);
                next.waker.wake();
            }
        }
    });
}

fn walk_robust_list(t: &mut TaskCtx) {
    let Some(head) = with_robust(|m| m.remove(&t.tid())) else {
        return;
    };
    let read = |t: &TaskCtx, a: u64| -> Option<u64> { t.read_obj::<u64>(a).ok() };
    let Some(first) = read(t, head) else { return };
    let Some(offset) = read(t, head.wrapping_add(8)) else {
        return;
    };
    let Some(pending) = read(t, head.wrapping_add(16)) else {
        return;
    };
    #[allow(clippy::cast_possible_wrap, reason = "futex_offset is a long")]
    let offset = offset as i64;
    let (pending, pending_pi) = entry(pending);
    let (mut cur, mut pi) = entry(first);
    let mut n = 0usize;
    while cur != head && cur != 0 && n < ROBUST_LIST_LIMIT {
        let Some(next) = read(t, cur) else { break };
        if cur != pending {
            let _ = futex_death(t, cur.wrapping_add_signed(offset), pi, false);
        }
        (cur, pi) = entry(next);
        n += 1;
    }
    if pending != 0 {
        let _ = futex_death(t, pending.wrapping_add_signed(offset), pending_pi, true);
    }
}
