//! signalfd: reading pending signals from a file (Linux's `fs/signalfd.c`).
//!
//! A read dequeues pending signals in the file's mask from the *reading*
//! thread (its own queue, then its process's), as `struct
//! signalfd_siginfo` records of 128 bytes. Signals must be blocked to stay
//! pending long enough to be read, as on Linux. Polling, too, looks at the
//! caller's pending signals; [`signal_sent`] wakes pollers whenever a
//! signal is queued anywhere.

use std::any::Any;
use std::sync::Mutex;

use nix::errno::Errno;

use super::FileOps;
use crate::kernel::signal::{SigInfo, SigSet, SI_QUEUE};
use crate::kernel::task::{current, lock, Task};
use crate::kernel::wait::WaitQueue;

/// Size of `struct signalfd_siginfo`.
pub const SIGINFO_SIZE: usize = 128;

/// Everyone polling a signalfd: notified on every signal sent.
static SIGNAL_WQ: WaitQueue = WaitQueue::new();

/// Hook for the signal-sending paths: a signal was queued.
pub fn signal_sent() {
    SIGNAL_WQ.notify();
}

#[derive(Debug)]
pub struct SignalFd {
    mask: Mutex<SigSet>,
}

impl SignalFd {
    pub fn new(mask: SigSet) -> SignalFd {
        SignalFd {
            mask: Mutex::new(Self::clean(mask)),
        }
    }

    /// SIGKILL and SIGSTOP are silently dropped from the mask.
    fn clean(mask: SigSet) -> SigSet {
        mask.sanitized()
    }

    pub fn set_mask(&self, mask: SigSet) {
        *lock(&self.mask) = Self::clean(mask);
        SIGNAL_WQ.notify();
    }

    fn mask(&self) -> SigSet {
        *lock(&self.mask)
    }

    fn take(task: &Task, set: SigSet) -> Option<SigInfo> {
        lock(&task.pending)
            .take_from(set)
            .or_else(|| lock(&task.tg.shared_pending).take_from(set))
    }
}

/// `struct signalfd_siginfo` for one dequeued signal.
fn encode(info: &SigInfo, out: &mut [u8]) {
    out.fill(0);
    let mut put = |off: usize, b: &[u8]| {
        if let Some(d) = out.get_mut(off..off + b.len()) {
            d.copy_from_slice(b);
        }
    };
    put(0, &info.signo.to_ne_bytes());
    put(4, &info.errno.to_ne_bytes());
    put(8, &info.code.to_ne_bytes());
    let is_fault = info.code > 0
        && matches!(
            info.signo,
            libc::SIGSEGV | libc::SIGBUS | libc::SIGILL | libc::SIGFPE | libc::SIGTRAP
        );
    if is_fault {
        put(72, &info.addr.to_ne_bytes());
        return;
    }
    put(12, &info.pid.to_ne_bytes());
    put(16, &info.uid.to_ne_bytes());
    if info.signo == libc::SIGCHLD && info.code > 0 {
        put(40, &info.status.to_ne_bytes());
        put(56, &info.utime.to_ne_bytes());
        put(64, &info.stime.to_ne_bytes());
    } else if info.code == SI_QUEUE || (info.code < 0 && info.code > -6) {
        // SI_QUEUE, SI_TIMER, SI_MESGQ, SI_ASYNCIO carry a value.
        put(44, &info.value.to_ne_bytes()[..4]);
        put(48, &info.value.to_ne_bytes());
    }
}

impl FileOps for SignalFd {
    fn read(&self, buf: &mut [u8], _off: u64) -> Result<usize, Errno> {
        let max = buf.len() / SIGINFO_SIZE;
        if max == 0 {
            return Err(Errno::EINVAL);
        }
        let task = current().ok_or(Errno::EAGAIN)?;
        let set = self.mask();
        let mut n = 0;
        while n < max {
            let Some(info) = Self::take(&task, set) else {
                break;
            };
            encode(&info, &mut buf[n * SIGINFO_SIZE..(n + 1) * SIGINFO_SIZE]);
            n += 1;
        }
        if n == 0 {
            return Err(Errno::EAGAIN);
        }
        Ok(n * SIGINFO_SIZE)
    }

    fn write(&self, _buf: &[u8], _off: u64) -> Result<usize, Errno> {
        Err(Errno::EINVAL)
    }

    fn poll(&self) -> i16 {
        let Some(task) = current() else { return 0 };
        let set = self.mask();
        let pending = lock(&task.pending).set().0 | lock(&task.tg.shared_pending).set().0;
        if pending & set.0 != 0 {
            libc::POLLIN
        } else {
            0
        }
    }

    fn wait_queue(&self) -> Option<&WaitQueue> {
        Some(&SIGNAL_WQ)
    }

    fn anon_name(&self) -> String {
        "anon_inode:[signalfd]".to_string()
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
