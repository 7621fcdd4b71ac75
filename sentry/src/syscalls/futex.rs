//! futex: wait queues keyed by application memory.
//!
//! Private futexes are keyed by (address space, address); shared ones by
//! the memory-file offset of the word, so that processes sharing a page
//! (MAP_SHARED across fork) meet on the same key.
//!
//! Lock order: this table, then the PI table of `futex_pi.rs`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use nix::errno::Errno;

use super::futex_pi::RequeuePi;
use super::{ok, Args, SysResult};
use crate::kernel::ctx::TaskCtx;
use crate::kernel::task::lock;
use crate::kernel::wait::Waker;

const FUTEX_WAIT: i32 = 0;
const FUTEX_WAKE: i32 = 1;
const FUTEX_REQUEUE: i32 = 3;
const FUTEX_CMP_REQUEUE: i32 = 4;
const FUTEX_WAKE_OP: i32 = 5;
const FUTEX_LOCK_PI: i32 = 6;
const FUTEX_UNLOCK_PI: i32 = 7;
const FUTEX_TRYLOCK_PI: i32 = 8;
const FUTEX_WAIT_BITSET: i32 = 9;
const FUTEX_WAKE_BITSET: i32 = 10;
const FUTEX_WAIT_REQUEUE_PI: i32 = 11;
const FUTEX_CMP_REQUEUE_PI: i32 = 12;
const FUTEX_LOCK_PI2: i32 = 13;
const FUTEX_PRIVATE: i32 = 128;
const FUTEX_CLOCK_REALTIME: i32 = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Key {
    /// A FUTEX_PRIVATE_FLAG op: (address space, address).
    Private(usize, u64),
    /// A shared op on private memory: also (address space, address), but
    /// a key of its own, as Linux's FUT_OFF_MMSHARED makes it.
    Anon(usize, u64),
    /// A shared op on shared memory: the word's memory-file offset.
    Shared(u64),
}

#[derive(Debug)]
pub(super) struct Waiter {
    waker: Arc<Waker>,
    bitset: u32,
    pub(super) woken: AtomicBool,
    /// The queue the waiter is on now (a requeue moves it).
    key: Mutex<Key>,
    /// Set for a FUTEX_WAIT_REQUEUE_PI waiter.
    pub(super) requeue_pi: Option<RequeuePi>,
}

impl Waiter {
    pub(super) fn wake(&self) {
        self.woken.store(true, Ordering::Release);
        self.waker.wake();
    }
}

pub(super) type Table = HashMap<Key, Vec<Arc<Waiter>>>;

static TABLE: Mutex<Option<Table>> = Mutex::new(None);

pub(super) fn with_table<R>(f: impl FnOnce(&mut Table) -> R) -> R {
    let mut g = lock(&TABLE);
    f(g.get_or_insert_with(HashMap::new))
}

pub(super) fn key(t: &TaskCtx, addr: u64, private: bool) -> Result<Key, Errno> {
    if !addr.is_multiple_of(4) {
        return Err(Errno::EINVAL);
    }
    let mm = Arc::as_ptr(&t.mm) as usize;
    if private {
        Ok(Key::Private(mm, addr))
    } else {
        Ok(t.mm
            .futex_key(addr)?
            .map_or(Key::Anon(mm, addr), Key::Shared))
    }
}

/// Wakes up to `n` waiters of `k` whose bitset meets `bitset` (Linux's
/// futex_wake). A requeue-PI waiter met on the way is EINVAL: it may only
/// leave by FUTEX_CMP_REQUEUE_PI (those woken before it stay woken).
pub(super) fn wake_key(k: Key, n: usize, bitset: u32) -> Result<usize, Errno> {
    with_table(|tab| {
        let Some(ws) = tab.get_mut(&k) else {
            return Ok(0);
        };
        let mut woken = 0;
        let mut err = None;
        let mut i = 0;
        while i < ws.len() && woken < n {
            let w = &ws[i];
            if w.requeue_pi.is_some() {
                err = Some(Errno::EINVAL);
                break;
            }
            if w.bitset & bitset == 0 {
                i += 1;
                continue;
            }
            ws.remove(i).wake();
            woken += 1;
        }
        if ws.is_empty() {
            tab.remove(&k);
        }
        err.map_or(Ok(woken), Err)
    })
}

/// Wakes up to `n` waiters on `addr` with a shared wake, as Linux does
/// for clear_child_tid and robust futexes (waiters that used
/// FUTEX_PRIVATE_FLAG are not woken, there as here).
pub fn wake_addr(t: &TaskCtx, addr: u64, n: usize) {
    if let Ok(k) = key(t, addr, false) {
        let _ = wake_key(k, n, u32::MAX);
    }
}

/// Queues a waiter on `k` if the word at `addr` still holds `val`
/// (compared under the table lock, so a wake between the two cannot be
/// missed); `check` runs first under the same lock.
pub(super) fn queue(
    t: &TaskCtx,
    addr: u64,
    val: u32,
    k: Key,
    bitset: u32,
    requeue_pi: Option<RequeuePi>,
    check: impl FnOnce() -> Result<(), Errno>,
) -> Result<Arc<Waiter>, Errno> {
    let w = Arc::new(Waiter {
        waker: t.task.waker.clone(),
        bitset,
        woken: AtomicBool::new(false),
        key: Mutex::new(k),
        requeue_pi,
    });
    with_table(|tab| -> Result<(), Errno> {
        let cur: u32 = t.read_obj(addr)?;
        if cur != val {
            return Err(Errno::EAGAIN);
        }
        check()?;
        tab.entry(k).or_default().push(w.clone());
        Ok(())
    })?;
    Ok(w)
}

/// Takes `w` off whatever queue it is on now; false if it was not on any
/// (it was woken or moved off meanwhile).
pub(super) fn unqueue(tab: &mut Table, w: &Arc<Waiter>) -> bool {
    let k = *lock(&w.key);
    let Some(ws) = tab.get_mut(&k) else {
        return false;
    };
    let before = ws.len();
    ws.retain(|x| !Arc::ptr_eq(x, w));
    let found = ws.len() != before;
    if ws.is_empty() {
        tab.remove(&k);
    }
    found
}

fn wait(
    t: &mut TaskCtx,
    addr: u64,
    val: u32,
    deadline: Option<Instant>,
    bitset: u32,
    private: bool,
) -> SysResult {
    if bitset == 0 {
        return Err(Errno::EINVAL);
    }
    let k = key(t, addr, private)?;
    let w = queue(t, addr, val, k, bitset, None, || Ok(()))?;
    let r = t.block(&[], deadline, false, |_| {
        Ok(w.woken.load(Ordering::Acquire).then_some(()))
    });
    if r.is_err() && !with_table(|tab| unqueue(tab, &w)) {
        // Woken just as the wait ended: the wake counts, so must the wait.
        return ok(0);
    }
    r?;
    ok(0)
}

/// FUTEX_REQUEUE / FUTEX_CMP_REQUEUE (Linux's futex_requeue without PI):
/// wake `nr_wake` waiters of `k`, move up to `nr_requeue` more to `k2`.
fn requeue(
    t: &TaskCtx,
    addr: u64,
    k: Key,
    k2: Key,
    nr_wake: usize,
    nr_requeue: usize,
    cmpval: Option<u32>,
) -> SysResult {
    with_table(|tab| -> SysResult {
        if let Some(v) = cmpval {
            let cur: u32 = t.read_obj(addr)?;
            if cur != v {
                return Err(Errno::EAGAIN);
            }
        }
        let mut ws = tab.remove(&k).unwrap_or_default();
        let mut count = 0usize;
        let mut moved = Vec::new();
        let mut err = None;
        while !ws.is_empty() && count.saturating_sub(nr_wake) < nr_requeue {
            if ws[0].requeue_pi.is_some() {
                err = Some(Errno::EINVAL);
                break;
            }
            let w = ws.remove(0);
            count += 1;
            if count <= nr_wake {
                w.wake();
            } else {
                *lock(&w.key) = k2;
                moved.push(w);
            }
        }
        if !ws.is_empty() {
            tab.insert(k, ws);
        }
        if !moved.is_empty() {
            tab.entry(k2).or_default().extend(moved);
        }
        err.map_or_else(|| ok(count), Err)
    })
}

/// How many a wake wakes for count `v` (an int in Linux): at least one,
/// since Linux checks the count only after a wake.
pub(super) fn wake_count(v: u32) -> usize {
    i32::try_from(v)
        .ok()
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(0)
        .max(1)
}

/// A count argument of futex: an int in Linux, negative ones EINVAL.
fn count_arg(v: u32) -> Result<usize, Errno> {
    i32::try_from(v)
        .ok()
        .and_then(|n| usize::try_from(n).ok())
        .ok_or(Errno::EINVAL)
}

pub fn sys_futex(t: &mut TaskCtx, a: &Args) -> SysResult {
    let addr = a.u64(0);
    let op = a.i32(1);
    let private = op & FUTEX_PRIVATE != 0;
    let cmd = op & !(FUTEX_PRIVATE | FUTEX_CLOCK_REALTIME);
    let val = a.u32(2);
    match cmd {
        FUTEX_WAIT | FUTEX_WAIT_BITSET => {
            let deadline = if a.u64(3) != 0 {
                let ts = super::time::read_timespec(t, a.u64(3))?;
                let d = super::time::duration_of(&ts);
                if cmd == FUTEX_WAIT {
                    Some(Instant::now() + d)
                } else {
                    let clock = if op & FUTEX_CLOCK_REALTIME != 0 {
                        libc::CLOCK_REALTIME
                    } else {
                        libc::CLOCK_MONOTONIC
                    };
                    let now = super::time::duration_of(&super::time::read_clock(t, clock)?);
                    Some(Instant::now() + d.saturating_sub(now))
                }
            } else {
                None
            };
            let bitset = if cmd == FUTEX_WAIT {
                u32::MAX
            } else {
                a.u32(5)
            };
            wait(t, addr, val, deadline, bitset, private)
        }
        FUTEX_WAKE | FUTEX_WAKE_BITSET => {
            let bitset = if cmd == FUTEX_WAKE {
                u32::MAX
            } else {
                a.u32(5)
            };
            if bitset == 0 {
                return Err(Errno::EINVAL);
            }
            let k = key(t, addr, private)?;
            ok(wake_key(k, wake_count(val), bitset)?)
        }
        FUTEX_REQUEUE | FUTEX_CMP_REQUEUE => {
            let (nr_wake, nr_requeue) = (count_arg(val)?, count_arg(a.u32(3))?);
            let k = key(t, addr, private)?;
            let k2 = key(t, a.u64(4), private)?;
            let cmpval = (cmd == FUTEX_CMP_REQUEUE).then(|| a.u32(5));
            requeue(t, addr, k, k2, nr_wake, nr_requeue, cmpval)
        }
        FUTEX_WAKE_OP => super::futex_pi::wake_op(t, a, private),
        FUTEX_LOCK_PI | FUTEX_UNLOCK_PI | FUTEX_TRYLOCK_PI | FUTEX_LOCK_PI2 => {
            super::futex_pi::pi_op(t, a, cmd, private, op & FUTEX_CLOCK_REALTIME != 0)
        }
        FUTEX_WAIT_REQUEUE_PI => {
            super::futex_pi::wait_requeue_pi(t, a, private, op & FUTEX_CLOCK_REALTIME != 0)
        }
        FUTEX_CMP_REQUEUE_PI => super::futex_pi::cmp_requeue_pi(t, a, private),
        _ => Err(Errno::ENOSYS),
    }
}
