//! eventfd: a 64-bit counter as a file (Linux's `fs/eventfd.c`).
//!
//! A read returns the counter and zeroes it (or, with `EFD_SEMAPHORE`,
//! returns 1 and decrements it); it would block while the counter is 0.
//! A write adds to it and would block while the sum would exceed
//! `0xffff_ffff_ffff_fffe`.

use std::any::Any;
use std::sync::Mutex;

use nix::errno::Errno;

use super::FileOps;
use crate::kernel::task::lock;
use crate::kernel::wait::WaitQueue;

pub const EFD_SEMAPHORE: i32 = 1;

/// The largest value the counter holds.
const MAX: u64 = u64::MAX - 1;

#[derive(Debug)]
pub struct EventFd {
    count: Mutex<u64>,
    semaphore: bool,
    wq: WaitQueue,
}

impl EventFd {
    pub fn new(initval: u64, semaphore: bool) -> EventFd {
        EventFd {
            count: Mutex::new(initval),
            semaphore,
            wq: WaitQueue::new(),
        }
    }
}

impl FileOps for EventFd {
    fn read(&self, buf: &mut [u8], _off: u64) -> Result<usize, Errno> {
        let Some(out) = buf.get_mut(..8) else {
            return Err(Errno::EINVAL);
        };
        let v = {
            let mut c = lock(&self.count);
            if *c == 0 {
                return Err(Errno::EAGAIN);
            }
            let v = if self.semaphore { 1 } else { *c };
            *c -= v;
            v
        };
        out.copy_from_slice(&v.to_ne_bytes());
        self.wq.notify();
        Ok(8)
    }

    fn write(&self, buf: &[u8], _off: u64) -> Result<usize, Errno> {
        let Some(b) = buf.get(..8) else {
            return Err(Errno::EINVAL);
        };
        let mut v = [0u8; 8];
        v.copy_from_slice(b);
        let v = u64::from_ne_bytes(v);
        if v == u64::MAX {
            return Err(Errno::EINVAL);
        }
        {
            let mut c = lock(&self.count);
            if MAX - *c < v {
                return Err(Errno::EAGAIN);
            }
            *c += v;
        }
        self.wq.notify();
        Ok(8)
    }

    fn poll(&self) -> i16 {
        let c = *lock(&self.count);
        let mut r = 0;
        if c > 0 {
            r |= libc::POLLIN;
        }
        if c < MAX {
            r |= libc::POLLOUT;
        }
        r
    }

    fn wait_queue(&self) -> Option<&WaitQueue> {
        Some(&self.wq)
    }

    fn anon_name(&self) -> String {
        "anon_inode:[eventfd]".to_string()
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counter_and_semaphore() {
        let e = EventFd::new(3, true);
        let mut b = [0u8; 8];
        assert_eq!(e.read(&mut b, 0), Ok(8));
        assert_eq!(u64::from_ne_bytes(b), 1);
        let e = EventFd::new(0, false);
        assert_eq!(e.read(&mut b, 0), Err(Errno::EAGAIN));
        assert_eq!(e.write(&MAX.to_ne_bytes(), 0), Ok(8));
        assert_eq!(e.write(&1u64.to_ne_bytes(), 0), Err(Errno::EAGAIN));
        assert_eq!(e.write(&u64::MAX.to_ne_bytes(), 0), Err(Errno::EINVAL));
        assert_eq!(e.poll(), libc::POLLIN);
    }
}
