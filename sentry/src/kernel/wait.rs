//! Blocking: tasks sleep on a [`Waker`] registered with [`WaitQueue`]s.
//!
//! Every task has one waker. A task that must wait registers its waker on
//! the queues of everything it waits for, re-checks its condition, and
//! sleeps until any queue is notified, a signal arrives, or a deadline
//! passes. Wakeups are counted, so a notification between the check and
//! the sleep is never lost.

use std::sync::{Arc, Condvar, Mutex, OnceLock, Weak};
use std::time::Instant;

/// Runs when a [`Waker`] made by [`Waker::with_callback`] is woken.
type WakeCallback = Box<dyn Fn() + Send + Sync>;

/// One sleeper's wake-up channel.
#[derive(Default)]
pub struct Waker {
    seq: Mutex<u64>,
    cv: Condvar,
    /// Linux's wait-queue callback (epoll's `ep_poll_callback`): run on
    /// every wake, after the count moved.
    on_wake: OnceLock<WakeCallback>,
}

impl std::fmt::Debug for Waker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Waker").field("seq", &self.seq).finish()
    }
}

impl Waker {
    pub fn new() -> Arc<Waker> {
        Arc::new(Waker::default())
    }

    /// A waker that also runs `f` whenever it is woken. `f` must not block
    /// and must not wake this waker again.
    pub fn with_callback(f: impl Fn() + Send + Sync + 'static) -> Arc<Waker> {
        let w = Waker::default();
        let _ = w.on_wake.set(Box::new(f));
        Arc::new(w)
    }

    /// The current wake-up count; pass it to [`Waker::wait`].
    pub fn seq(&self) -> u64 {
        *self.seq.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn wake(&self) {
        let mut s = self.seq.lock().unwrap_or_else(|e| e.into_inner());
        *s = s.wrapping_add(1);
        self.cv.notify_all();
        drop(s);
        if let Some(f) = self.on_wake.get() {
            f();
        }
    }

    /// Sleeps until woken after `seen` was read, or until `deadline`.
    /// Returns false on timeout.
    pub fn wait(&self, seen: u64, deadline: Option<Instant>) -> bool {
        let mut s = self.seq.lock().unwrap_or_else(|e| e.into_inner());
        while *s == seen {
            match deadline {
                None => s = self.cv.wait(s).unwrap_or_else(|e| e.into_inner()),
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        return false;
                    }
                    s = self
                        .cv
                        .wait_timeout(s, d - now)
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                }
            }
        }
        true
    }
}

/// Everyone waiting for something to change on one object.
#[derive(Debug, Default)]
pub struct WaitQueue {
    waiters: Mutex<Vec<Weak<Waker>>>,
}

impl WaitQueue {
    pub const fn new() -> WaitQueue {
        WaitQueue {
            waiters: Mutex::new(Vec::new()),
        }
    }

    /// Registers `w` until the returned guard is dropped.
    pub fn register(&self, w: &Arc<Waker>) -> Registration<'_> {
        let mut ws = self.waiters.lock().unwrap_or_else(|e| e.into_inner());
        ws.retain(|x| x.strong_count() > 0);
        ws.push(Arc::downgrade(w));
        Registration {
            q: self,
            w: Arc::downgrade(w),
        }
    }

    /// Registers `w` with no guard, until [`WaitQueue::remove`] or until
    /// the waker is dropped (for registrations that outlive a borrow, such
    /// as an epoll watch).
    pub fn add(&self, w: &Arc<Waker>) {
        let mut ws = self.waiters.lock().unwrap_or_else(|e| e.into_inner());
        ws.retain(|x| x.strong_count() > 0);
        ws.push(Arc::downgrade(w));
    }

    /// Undoes [`WaitQueue::add`].
    pub fn remove(&self, w: &Arc<Waker>) {
        let weak = Arc::downgrade(w);
        let mut ws = self.waiters.lock().unwrap_or_else(|e| e.into_inner());
        ws.retain(|x| !x.ptr_eq(&weak) && x.strong_count() > 0);
    }

    /// Wakes every registered waiter.
    pub fn notify(&self) {
        let ws: Vec<Arc<Waker>> = {
            let ws = self.waiters.lock().unwrap_or_else(|e| e.into_inner());
            ws.iter().filter_map(Weak::upgrade).collect()
        };
        for w in ws {
            w.wake();
        }
    }
}

/// Keeps a waker registered on a queue.
#[derive(Debug)]
pub struct Registration<'a> {
    q: &'a WaitQueue,
    w: Weak<Waker>,
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        let mut ws = self.q.waiters.lock().unwrap_or_else(|e| e.into_inner());
        ws.retain(|x| !x.ptr_eq(&self.w) && x.strong_count() > 0);
    }
}
