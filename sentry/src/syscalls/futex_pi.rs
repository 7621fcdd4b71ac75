//! The futex extras: `FUTEX_WAKE_OP`, priority-inheritance locks
//! (`FUTEX_LOCK_PI`, `FUTEX_LOCK_PI2`, `FUTEX_TRYLOCK_PI`,
//! `FUTEX_UNLOCK_PI`), requeueing onto them (`FUTEX_WAIT_REQUEUE_PI`,
//! `FUTEX_CMP_REQUEUE_PI`) and robust lists (`set_robust_list`,
//! `get_robust_list`, and the walk a dying thread's list gets).
//!
//! A PI futex word holds the owner's TID, `FUTEX_WAITERS` when someone
//! sleeps in the sentry for it and `FUTEX_OWNER_DIED` after its owner died
//! holding it. While threads wait, the sentry keeps a [`PiState`] for the
//! word (Linux's `futex_pi_state`): the owner as the kernel knows it and
//! the waiters in order. Unlock hands the lock straight to the longest
//! waiter, as Linux does; an owner that dies still holding it (no robust
//! list entry needed) passes it to the longest waiter with
//! `FUTEX_OWNER_DIED` (Linux's `exit_pi_state_list`), private or shared
//! alike. The sentry has no priorities to inherit: the lock protocol is
//! exact, the boosting is not done.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use nix::errno::Errno;

use super::futex::{key, queue, unqueue, wake_addr, wake_count, wake_key, with_table, Key, Waiter};
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

/// What a PI waiter has been given (`PiWaiter::given`).
const WAITING: u8 = 0;
/// The unlocker made it the owner and wrote its TID into the word.
const GRANTED: u8 = 1;
/// The owner died: it is the owner, and writes the word itself.
const GRANTED_OWNER_DIED: u8 = 2;

#[derive(Debug)]
pub(super) struct PiWaiter {
    tid: u32,
    waker: Arc<Waker>,
    given: AtomicU8,
}

impl PiWaiter {
    fn new(t: &TaskCtx) -> Arc<PiWaiter> {
        Arc::new(PiWaiter {
            tid: my_tid(t),
            waker: t.task.waker.clone(),
            given: AtomicU8::new(WAITING),
        })
    }

    fn grant(&self, how: u8) {
        self.given.store(how, Ordering::Release);
        self.waker.wake();
    }
}

/// The sentry's side of a PI futex while threads wait for it.
#[derive(Debug, Default)]
struct PiState {
    /// The owner's TID as the sentry knows it.
    owner: u32,
    waiters: VecDeque<Arc<PiWaiter>>,
    /// A waiter was given a dead owner's lock and has not yet written
    /// its TID into the word: the lock is not free meanwhile.
    fixup_pending: bool,
}

type PiTable = HashMap<Key, PiState>;

static PI: Mutex<Option<PiTable>> = Mutex::new(None);

fn with_pi<R>(f: impl FnOnce(&mut PiTable) -> R) -> R {
    let mut g = lock(&PI);
    f(g.get_or_insert_with(HashMap::new))
}

/// Drops the state of `k` once nobody waits and no hand-over is pending.
fn tidy(tab: &mut PiTable, k: Key) {
    if tab
        .get(&k)
        .is_some_and(|s| s.waiters.is_empty() && !s.fixup_pending)
    {
        tab.remove(&k);
    }
}

fn dequeue(tab: &mut PiTable, k: Key, w: &Arc<PiWaiter>) {
    if let Some(s) = tab.get_mut(&k) {
        s.waiters.retain(|x| !Arc::ptr_eq(x, w));
    }
    tidy(tab, k);
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

/// One attempt to take the PI futex at `addr` (key `k`) for thread `tid`
/// (Linux's futex_lock_pi_atomic; `tid` is another thread's for
/// FUTEX_CMP_REQUEUE_PI). A busy lock gets `FUTEX_WAITERS` (even for a
/// trylock, as in Linux) and `waiter`, if any, is queued; both happen
/// under the PI table lock so an unlock cannot slip in between.
/// `set_waiters` marks even an acquired lock as contended.
fn attempt(
    t: &mut TaskCtx,
    tab: &mut PiTable,
    addr: u64,
    k: Key,
    tid: u32,
    waiter: Option<&Arc<PiWaiter>>,
    set_waiters: bool,
) -> Result<Attempt, Errno> {
    // With waiters or a hand-over in flight the lock is never free.
    let contended = tab.contains_key(&k);
    let mut owner = 0u32;
    t.mm.atomic_update_u32(&mut t.ctx, addr, |v| {
        owner = v & FUTEX_TID_MASK;
        if owner == tid {
            None
        } else if owner == 0 && !contended {
            let waiters = if set_waiters { FUTEX_WAITERS } else { 0 };
            Some((v & FUTEX_OWNER_DIED) | tid | waiters)
        } else if v & FUTEX_WAITERS == 0 {
            Some(v | FUTEX_WAITERS)
        } else {
            None
        }
    })?;
    if owner == tid {
        return Err(Errno::EDEADLK);
    }
    if owner == 0 && !contended {
        return Ok(Attempt::Acquired);
    }
    if !contended && !tid_alive(owner) {
        // The owner is gone without its robust-list walk freeing the
        // word (Linux: ESRCH from attach_to_pi_owner).
        return Err(Errno::ESRCH);
    }
    if let Some(w) = waiter {
        let s = tab.entry(k).or_insert_with(|| PiState {
            owner,
            ..Default::default()
        });
        s.waiters.push_back(w.clone());
    }
    Ok(Attempt::Busy)
}

/// A waiter given a dead owner's lock makes the word say so (Linux's
/// fixup_pi_state_owner): its TID, `FUTEX_WAITERS`, `FUTEX_OWNER_DIED`.
fn fixup_owner_died(t: &mut TaskCtx, addr: u64, k: Key) -> Result<(), Errno> {
    let tid = my_tid(t);
    let r = t.mm.atomic_update_u32(&mut t.ctx, addr, |_| {
        Some(tid | FUTEX_WAITERS | FUTEX_OWNER_DIED)
    });
    with_pi(|tab| {
        if let Some(s) = tab.get_mut(&k) {
            s.fixup_pending = false;
        }
        tidy(tab, k);
    });
    r.map(drop)
}

/// After a PI waiter's sleep: Ok if it was given the lock (the word fixed
/// up when its owner died), else off the queue and `Err(())`.
fn settle_waiter(t: &mut TaskCtx, addr: u64, k: Key, w: &Arc<PiWaiter>) -> Result<(), Errno> {
    let given = with_pi(|tab| {
        let given = w.given.load(Ordering::Acquire);
        if given == WAITING {
            dequeue(tab, k, w);
        }
        given
    });
    match given {
        GRANTED => Ok(()),
        GRANTED_OWNER_DIED => fixup_owner_died(t, addr, k),
        _ => Err(Errno::EAGAIN),
    }
}

fn lock_pi(t: &mut TaskCtx, addr: u64, private: bool, deadline: Option<Instant>) -> SysResult {
    let k = key(t, addr, private)?;
    let me = PiWaiter::new(t);
    let tid = me.tid;
    if let Attempt::Acquired = with_pi(|tab| attempt(t, tab, addr, k, tid, Some(&me), false))? {
        return ok(0);
    }
    let r = t.block(&[], deadline, false, |_| {
        Ok((me.given.load(Ordering::Acquire) != WAITING).then_some(()))
    });
    match settle_waiter(t, addr, k, &me) {
        Ok(()) => ok(0),
        Err(Errno::EAGAIN) => Err(r.err().unwrap_or(Errno::EAGAIN)),
        Err(e) => Err(e),
    }
}

fn unlock_pi(t: &mut TaskCtx, addr: u64, private: bool) -> SysResult {
    let k = key(t, addr, private)?;
    let tid = my_tid(t);
    with_pi(|tab| {
        let next = tab.get(&k).and_then(|s| s.waiters.front().cloned());
        let mut mine = false;
        t.mm.atomic_update_u32(&mut t.ctx, addr, |v| {
            mine = v & FUTEX_TID_MASK == tid;
            if !mine {
                return None;
            }
            // Linux keeps FUTEX_WAITERS set for the new owner whether or
            // not more wait, and drops FUTEX_OWNER_DIED.
            Some(next.as_ref().map_or(0, |w| w.tid | FUTEX_WAITERS))
        })?;
        if !mine {
            return Err(Errno::EPERM);
        }
        if let (Some(w), Some(s)) = (next, tab.get_mut(&k)) {
            s.waiters.pop_front();
            s.owner = w.tid;
            w.grant(GRANTED);
        }
        tidy(tab, k);
        ok(0)
    })
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
            let tid = my_tid(t);
            match with_pi(|tab| attempt(t, tab, addr, k, tid, None, false))? {
                Attempt::Acquired => ok(0),
                Attempt::Busy => Err(Errno::EAGAIN),
            }
        }
        _ => Err(Errno::ENOSYS),
    }
}

/// Whether an interrupted call is always restarted: FUTEX_LOCK_PI and
/// FUTEX_LOCK_PI2 never fail with EINTR, nor does FUTEX_WAIT_REQUEUE_PI
/// before its requeue (Linux's ERESTARTNOINTR; their timeouts are
/// absolute, so a restart keeps them).
pub fn restarts_always(a: &Args) -> bool {
    #[allow(clippy::cast_possible_wrap, reason = "syscall numbers are small")]
    let futex = a.nr as i64 == libc::SYS_futex;
    futex && matches!(a.i32(1) & 127, 6 | 11 | 13)
}

// ---------------------------------------------------------------------------
// Requeue-PI

/// Where a FUTEX_WAIT_REQUEUE_PI waiter is (`RequeuePi::state`).
const ON_FUTEX: u8 = 0;
/// FUTEX_CMP_REQUEUE_PI took the PI futex for it: it owns it.
const LOCKED: u8 = 1;
/// Moved onto the PI futex's waiters.
const REQUEUED: u8 = 2;

/// What a FUTEX_WAIT_REQUEUE_PI waiter carries on the plain futex queue.
#[derive(Debug)]
pub(super) struct RequeuePi {
    /// The PI futex it expects to be moved to.
    key2: Key,
    pi: Arc<PiWaiter>,
    state: AtomicU8,
}

/// FUTEX_WAIT_REQUEUE_PI: wait on the plain futex `uaddr` (if it holds
/// `val`) until FUTEX_CMP_REQUEUE_PI moves us to the PI futex `uaddr2`,
/// and return owning it. The timeout is absolute (CLOCK_MONOTONIC unless
/// FUTEX_CLOCK_REALTIME). Before the move a signal restarts the call;
/// after it, the call ends with EAGAIN (Linux's EWOULDBLOCK).
pub fn wait_requeue_pi(t: &mut TaskCtx, a: &Args, private: bool, realtime: bool) -> SysResult {
    let (addr, val, addr2) = (a.u64(0), a.u32(2), a.u64(4));
    if addr == addr2 {
        return Err(Errno::EINVAL);
    }
    let deadline = pi_deadline(t, a.u64(3), realtime)?;
    let k2 = key(t, addr2, private)?;
    let k = key(t, addr, private)?;
    let rq = RequeuePi {
        key2: k2,
        pi: PiWaiter::new(t),
        state: AtomicU8::new(ON_FUTEX),
    };
    // Shared keys of two addresses can still be one word.
    let same = || if k == k2 { Err(Errno::EINVAL) } else { Ok(()) };
    let w = queue(t, addr, val, k, u32::MAX, Some(rq), same)?;
    let Some(rq) = w.requeue_pi.as_ref() else {
        return Err(Errno::EINVAL);
    };
    let pi = rq.pi.clone();
    let r = t.block(&[], deadline, false, |_| {
        let moved = rq.state.load(Ordering::Acquire) == LOCKED;
        Ok((moved || pi.given.load(Ordering::Acquire) != WAITING).then_some(()))
    });
    // Where are we? Both tables locked, so no requeue is half done.
    let state = with_table(|tab| {
        let state = rq.state.load(Ordering::Acquire);
        if state == ON_FUTEX {
            unqueue(tab, &w);
        }
        state
    });
    match state {
        LOCKED => ok(0),
        REQUEUED => match settle_waiter(t, addr2, k2, &pi) {
            Ok(()) => ok(0),
            Err(Errno::EAGAIN) => match r {
                Err(Errno::ETIMEDOUT) => Err(Errno::ETIMEDOUT),
                _ => Err(Errno::EAGAIN),
            },
            Err(e) => Err(e),
        },
        // Still on uaddr: timed out or interrupted (restarted).
        _ => Err(r.err().unwrap_or(Errno::EAGAIN)),
    }
}

/// FUTEX_CMP_REQUEUE_PI (Linux's futex_requeue with requeue_pi): if
/// `*uaddr == val3`, try to take the PI futex `uaddr2` for the first
/// waiter of `uaddr` (it wakes owning it), and move the others, up to
/// `nr_requeue` more (one more if the first had to queue), onto the PI
/// futex's waiters. Returns how many were woken or moved.
pub fn cmp_requeue_pi(t: &mut TaskCtx, a: &Args, private: bool) -> SysResult {
    let (addr, addr2) = (a.u64(0), a.u64(4));
    let nr_wake = i32::try_from(a.u32(2)).map_err(|_| Errno::EINVAL)?;
    let nr_requeue = i32::try_from(a.u32(3)).map_err(|_| Errno::EINVAL)?;
    if nr_requeue < 0 || addr == addr2 || nr_wake != 1 {
        return Err(Errno::EINVAL);
    }
    let nr_requeue = usize::try_from(nr_requeue).map_err(|_| Errno::EINVAL)?;
    let k = key(t, addr, private)?;
    let k2 = key(t, addr2, private)?;
    if k == k2 {
        return Err(Errno::EINVAL);
    }
    let cmpval = a.u32(5);
    with_table(|tab| {
        with_pi(|pitab| {
            let cur: u32 = t.read_obj(addr)?;
            if cur != cmpval {
                return Err(Errno::EAGAIN);
            }
            requeue_pi_locked(t, tab, pitab, addr2, k, k2, nr_requeue)
        })
    })
}

#[allow(
    clippy::too_many_arguments,
    reason = "both tables, both keys and the count"
)]
fn requeue_pi_locked(
    t: &mut TaskCtx,
    tab: &mut super::futex::Table,
    pitab: &mut PiTable,
    addr2: u64,
    k: Key,
    k2: Key,
    nr_requeue: usize,
) -> SysResult {
    let waiters: Vec<Arc<Waiter>> = tab.get(&k).cloned().unwrap_or_default();
    let mut count = 0usize;
    let mut top_locked = false;
    for (i, w) in waiters.iter().enumerate() {
        // The first counts as the one woken (whether it got the lock or
        // had to queue), the others against nr_requeue.
        if i > 0 && count > nr_requeue {
            break;
        }
        // Only FUTEX_WAIT_REQUEUE_PI waiters bound for this PI futex;
        // those moved already stay moved, as in Linux.
        let Some(rq) = w.requeue_pi.as_ref().filter(|rq| rq.key2 == k2) else {
            return Err(Errno::EINVAL);
        };
        if i == 0 {
            let tid = rq.pi.tid;
            match attempt(t, pitab, addr2, k2, tid, Some(&rq.pi), nr_requeue > 0)? {
                Attempt::Acquired => {
                    top_locked = true;
                    rq.state.store(LOCKED, Ordering::Release);
                    unqueue(tab, w);
                    w.wake();
                }
                Attempt::Busy => {
                    rq.state.store(REQUEUED, Ordering::Release);
                    unqueue(tab, w);
                }
            }
            count += 1;
            continue;
        }
        let owner = if top_locked { rq_owner(&waiters[0]) } else { 0 };
        let s = pitab.entry(k2).or_insert_with(|| PiState {
            owner,
            ..Default::default()
        });
        s.waiters.push_back(rq.pi.clone());
        rq.state.store(REQUEUED, Ordering::Release);
        unqueue(tab, w);
        count += 1;
    }
    ok(count)
}

fn rq_owner(w: &Waiter) -> u32 {
    w.requeue_pi.as_ref().map_or(0, |rq| rq.pi.tid)
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
    let mut woken = wake_key(k1, wake_count(nr_wake), u32::MAX)?;
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
        woken += wake_key(k2, wake_count(nr_wake2), u32::MAX)?;
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
/// FUTEX_OWNER_DIED (owner cleared) and, unless it is a PI futex (whose
/// waiters [`exit_pi_state`] deals with), one waiter is woken.
fn futex_death(t: &mut TaskCtx, addr: u64, pi: bool, pending: bool) -> Result<(), Errno> {
    let tid = my_tid(t);
    if !addr.is_multiple_of(4) {
        return Err(Errno::EINVAL);
    }
    let old = t.mm.atomic_update_u32(&mut t.ctx, addr, |v| {
        (v & FUTEX_TID_MASK == tid).then_some((v & FUTEX_WAITERS) | FUTEX_OWNER_DIED)
    })?;
    if pending && !pi && old & FUTEX_TID_MASK == 0 {
        // Died between taking the lock in user space and listing it:
        // a waiter may sleep on a free lock.
        wake_addr(t, addr, 1);
        return Ok(());
    }
    if old & FUTEX_TID_MASK == tid && !pi && old & FUTEX_WAITERS != 0 {
        wake_addr(t, addr, 1);
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

/// PI locks the dying (or exec'ing) thread still owns, as far as the
/// sentry knows (those with waiters), pass to their longest waiter, which
/// writes its TID with FUTEX_OWNER_DIED into the word (Linux's
/// exit_pi_state_list). The keys do not matter: private and shared
/// futexes alike, in whatever address space the waiter has them.
fn exit_pi_state(t: &TaskCtx) {
    let tid = my_tid(t);
    with_pi(|tab| {
        for s in tab.values_mut().filter(|s| s.owner == tid) {
            if let Some(next) = s.waiters.pop_front() {
                s.owner = next.tid;
                s.fixup_pending = true;
                next.grant(GRANTED_OWNER_DIED);
            }
        }
        tab.retain(|_, s| !s.waiters.is_empty() || s.fixup_pending);
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
