//! futex: wait queues keyed by application memory.
//!
//! Private futexes are keyed by (address space, address); shared ones by
//! the memory-file offset of the word, so that processes sharing a page
//! (MAP_SHARED across fork) meet on the same key.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use nix::errno::Errno;

use super::{ok, Args, SysResult};
use crate::kernel::ctx::TaskCtx;
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
const FUTEX_LOCK_PI2: i32 = 13;
const FUTEX_WAKE_BITSET: i32 = 10;
const FUTEX_PRIVATE: i32 = 128;
const FUTEX_CLOCK_REALTIME: i32 = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Key {
    Private(usize, u64),
    Shared(u64),
}

#[derive(Debug)]
struct Waiter {
    waker: Arc<Waker>,
    bitset: u32,
    woken: std::sync::atomic::AtomicBool,
}

static TABLE: Mutex<Option<HashMap<Key, Vec<Arc<Waiter>>>>> = Mutex::new(None);

fn with_table<R>(f: impl FnOnce(&mut HashMap<Key, Vec<Arc<Waiter>>>) -> R) -> R {
    let mut g = TABLE.lock().unwrap_or_else(|e| e.into_inner());
    f(g.get_or_insert_with(HashMap::new))
}

pub(super) fn key(t: &TaskCtx, addr: u64, private: bool) -> Result<Key, Errno> {
    if !addr.is_multiple_of(4) {
        return Err(Errno::EINVAL);
    }
    if private {
        Ok(Key::Private(Arc::as_ptr(&t.mm) as usize, addr))
    } else {
        Ok(Key::Shared(t.mm.futex_key(addr)?))
    }
}

pub(super) fn wake_key(k: Key, n: usize, bitset: u32) -> usize {
    with_table(|tab| {
        let Some(ws) = tab.get_mut(&k) else { return 0 };
        let mut woken = 0;
        ws.retain(|w| {
            if woken < n && w.bitset & bitset != 0 {
                w.woken.store(true, std::sync::atomic::Ordering::Release);
                w.waker.wake();
                woken += 1;
                false
            } else {
                true
            }
        });
        if ws.is_empty() {
            tab.remove(&k);
        }
        woken
    })
}

/// Wakes up to `n` waiters on `addr` (clear_child_tid on thread exit).
pub fn wake_addr(t: &TaskCtx, addr: u64, n: usize) {
    for private in [true, false] {
        if let Ok(k) = key(t, addr, private) {
            wake_key(k, n, u32::MAX);
        }
    }
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
    let w = Arc::new(Waiter {
        waker: t.task.waker.clone(),
        bitset,
        woken: Default::default(),
    });
    // Compare and enqueue under the table lock, so a wake between the two
    // cannot be missed.
    with_table(|tab| -> Result<(), Errno> {
        let cur: u32 = t.read_obj(addr)?;
        if cur != val {
            return Err(Errno::EAGAIN);
        }
        tab.entry(k).or_default().push(w.clone());
        Ok(())
    })?;
    let r = t.block(&[], deadline, false, |_| {
        Ok(w.woken
            .load(std::sync::atomic::Ordering::Acquire)
            .then_some(()))
    });
    if r.is_err() {
        with_table(|tab| {
            if let Some(ws) = tab.get_mut(&k) {
                ws.retain(|x| !Arc::ptr_eq(x, &w));
            }
        });
    }
    match r {
        Ok(()) => ok(0),
        Err(e) => Err(e),
    }
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
            ok(wake_key(k, val as usize, bitset))
        }
        FUTEX_REQUEUE | FUTEX_CMP_REQUEUE => {
            let k = key(t, addr, private)?;
            let k2 = key(t, a.u64(4), private)?;
            let n_requeue = a.u32(3) as usize;
            with_table(|tab| -> SysResult {
                if cmd == FUTEX_CMP_REQUEUE {
                    let cur: u32 = t.read_obj(addr)?;
                    if cur != a.u32(5) {
                        return Err(Errno::EAGAIN);
                    }
                }
                let mut ws = tab.remove(&k).unwrap_or_default();
                let n_wake = (val as usize).min(ws.len());
                for w in ws.drain(..n_wake) {
                    w.woken.store(true, std::sync::atomic::Ordering::Release);
                    w.waker.wake();
                }
                let n_move = n_requeue.min(ws.len());
                let moved: Vec<_> = ws.drain(..n_move).collect();
                if !ws.is_empty() {
                    tab.insert(k, ws);
                }
                tab.entry(k2).or_default().extend(moved);
                ok(n_wake + n_move)
            })
        }
        FUTEX_WAKE_OP => super::futex_pi::wake_op(t, a, private),
        FUTEX_LOCK_PI | FUTEX_UNLOCK_PI | FUTEX_TRYLOCK_PI | FUTEX_LOCK_PI2 => {
            super::futex_pi::pi_op(t, a, cmd, private, op & FUTEX_CLOCK_REALTIME != 0)
        }
        // FUTEX_WAIT_REQUEUE_PI (11), FUTEX_CMP_REQUEUE_PI (12): not done.
        _ => Err(Errno::ENOSYS),
    }
}
