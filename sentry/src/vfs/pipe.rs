//! Pipes: a bounded byte buffer shared by a read end and a write end.

use std::any::Any;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use nix::errno::Errno;

use super::file::FileOps;
use super::inode::{Stat, Timespec};
use crate::kernel::wait::WaitQueue;

/// Writes up to this size are atomic.
pub const PIPE_BUF: usize = 4096;
/// Default capacity (Linux: 16 pages).
const DEFAULT_CAPACITY: usize = 65536;
/// Largest capacity `F_SETPIPE_SZ` may set (`/proc/sys/fs/pipe-max-size`).
pub const PIPE_MAX_SIZE: usize = 1 << 20;
/// Device number of the pipe filesystem, as `fstat` reports it.
const PIPEFS_DEV: u64 = 0xc;

static NEXT_INO: AtomicU64 = AtomicU64::new(1);

#[derive(Debug)]
struct PipeState {
    buf: VecDeque<u8>,
    capacity: usize,
    readers: usize,
    writers: usize,
}

/// The shared buffer.
#[derive(Debug)]
pub struct Pipe {
    state: Mutex<PipeState>,
    wq: WaitQueue,
    ino: u64,
    created: Timespec,
}

impl Pipe {
    fn lock(&self) -> MutexGuard<'_, PipeState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `F_GETPIPE_SZ`.
    pub fn capacity(&self) -> usize {
        self.lock().capacity
    }

    /// `F_SETPIPE_SZ`: rounds up to a power-of-two number of pages; `EBUSY`
    /// if the buffer holds more than the new size, `EPERM` above the
    /// maximum. Returns the new capacity.
    pub fn set_capacity(&self, want: usize) -> Result<usize, Errno> {
        if want > PIPE_MAX_SIZE {
            return Err(Errno::EPERM);
        }
        let cap = want.max(PIPE_BUF).div_ceil(PIPE_BUF).next_power_of_two() * PIPE_BUF;
        let mut st = self.lock();
        if st.buf.len() > cap {
            return Err(Errno::EBUSY);
        }
        st.capacity = cap;
        drop(st);
        self.wq.notify();
        Ok(cap)
    }

    fn stat(&self) -> Stat {
        Stat {
            dev: PIPEFS_DEV,
            ino: self.ino,
            mode: libc::S_IFIFO | 0o600,
            nlink: 1,
            blksize: PIPE_BUF as u64,
            atime: self.created,
            mtime: self.created,
            ctime: self.created,
            ..Stat::default()
        }
    }
}

/// The read end.
#[derive(Debug)]
pub struct PipeReader {
    pub pipe: Arc<Pipe>,
}

/// The write end.
#[derive(Debug)]
pub struct PipeWriter {
    pub pipe: Arc<Pipe>,
}

/// A new pipe: (read end, write end).
pub fn new_pipe() -> (Arc<dyn FileOps>, Arc<dyn FileOps>) {
    let pipe = Arc::new(Pipe {
        state: Mutex::new(PipeState {
            buf: VecDeque::new(),
            capacity: DEFAULT_CAPACITY,
            readers: 1,
            writers: 1,
        }),
        wq: WaitQueue::new(),
        ino: NEXT_INO.fetch_add(1, Ordering::Relaxed),
        created: Timespec::now(),
    });
    (
        Arc::new(PipeReader {
            pipe: Arc::clone(&pipe),
        }),
        Arc::new(PipeWriter { pipe }),
    )
}

impl Drop for PipeReader {
    fn drop(&mut self) {
        {
            let mut st = self.pipe.lock();
            st.readers = st.readers.saturating_sub(1);
        }
        self.pipe.wq.notify();
    }
}

impl Drop for PipeWriter {
    fn drop(&mut self) {
        {
            let mut st = self.pipe.lock();
            st.writers = st.writers.saturating_sub(1);
        }
        self.pipe.wq.notify();
    }
}

impl FileOps for PipeReader {
    fn read(&self, buf: &mut [u8], _off: u64) -> Result<usize, Errno> {
        if buf.is_empty() {
            return Ok(0);
        }
        let mut st = self.pipe.lock();
        if st.buf.is_empty() {
            return if st.writers == 0 {
                Ok(0)
            } else {
                Err(Errno::EAGAIN)
            };
        }
        let n = buf.len().min(st.buf.len());
        for (dst, src) in buf.iter_mut().zip(st.buf.drain(..n)) {
            *dst = src;
        }
        drop(st);
        self.pipe.wq.notify();
        Ok(n)
    }

    fn poll(&self) -> i16 {
        let st = self.pipe.lock();
        let mut r = 0;
        if !st.buf.is_empty() {
            r |= libc::POLLIN;
        }
        if st.writers == 0 {
            r |= libc::POLLHUP;
        }
        r
    }

    fn wait_queue(&self) -> Option<&WaitQueue> {
        Some(&self.pipe.wq)
    }

    fn fionread(&self) -> Result<usize, Errno> {
        Ok(self.pipe.lock().buf.len())
    }

    fn stat(&self) -> Result<Stat, Errno> {
        Ok(self.pipe.stat())
    }

    fn anon_name(&self) -> String {
        format!("pipe:[{}]", self.pipe.ino)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl FileOps for PipeWriter {
    fn write(&self, buf: &[u8], _off: u64) -> Result<usize, Errno> {
        if buf.is_empty() {
            return Ok(0);
        }
        let mut st = self.pipe.lock();
        if st.readers == 0 {
            return Err(Errno::EPIPE);
        }
        let room = st.capacity.saturating_sub(st.buf.len());
        // Small writes go in whole or not at all; larger ones may be split.
        let n = if buf.len() <= PIPE_BUF {
            if room < buf.len() {
                return Err(Errno::EAGAIN);
            }
            buf.len()
        } else if room == 0 {
            return Err(Errno::EAGAIN);
        } else {
            room.min(buf.len())
        };
        st.buf.extend(&buf[..n]);
        drop(st);
        self.pipe.wq.notify();
        Ok(n)
    }

    fn poll(&self) -> i16 {
        let st = self.pipe.lock();
        let mut r = 0;
        // Linux reports writable when a page slot is free.
        if st.capacity.saturating_sub(st.buf.len()) >= PIPE_BUF {
            r |= libc::POLLOUT;
        }
        if st.readers == 0 {
            r |= libc::POLLERR;
        }
        r
    }

    fn wait_queue(&self) -> Option<&WaitQueue> {
        Some(&self.pipe.wq)
    }

    fn fionread(&self) -> Result<usize, Errno> {
        Ok(self.pipe.lock().buf.len())
    }

    fn stat(&self) -> Result<Stat, Errno> {
        Ok(self.pipe.stat())
    }

    fn anon_name(&self) -> String {
        format!("pipe:[{}]", self.pipe.ino)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::wait::Waker;

    #[test]
    fn empty_pipe_would_block_then_eof() {
        let (r, w) = new_pipe();
        let mut buf = [0u8; 16];
        assert_eq!(r.read(&mut buf, 0), Err(Errno::EAGAIN));
        assert_eq!(r.poll(), 0);
        assert_eq!(w.write(b"hello", 0), Ok(5));
        assert_eq!(r.poll(), libc::POLLIN);
        assert_eq!(r.fionread(), Ok(5));
        assert_eq!(r.read(&mut buf[..3], 0), Ok(3));
        assert_eq!(&buf[..3], b"hel");
        drop(w);
        assert_eq!(r.poll(), libc::POLLIN | libc::POLLHUP);
        assert_eq!(r.read(&mut buf, 0), Ok(2));
        assert_eq!(r.read(&mut buf, 0), Ok(0));
    }

    #[test]
    fn write_without_reader_is_epipe() {
        let (r, w) = new_pipe();
        assert_ne!(w.poll() & libc::POLLOUT, 0);
        drop(r);
        assert_eq!(w.write(b"x", 0), Err(Errno::EPIPE));
        assert_ne!(w.poll() & libc::POLLERR, 0);
        assert_eq!(w.write(b"", 0), Ok(0));
    }

    #[test]
    fn small_writes_are_atomic_large_ones_partial() {
        let (r, w) = new_pipe();
        let big = vec![1u8; DEFAULT_CAPACITY - 100];
        assert_eq!(w.write(&big, 0), Ok(big.len()));
        assert_eq!(w.poll() & libc::POLLOUT, 0);
        assert_eq!(w.write(&[2u8; 200], 0), Err(Errno::EAGAIN));
        assert_eq!(w.write(&[2u8; 100], 0), Ok(100));
        assert_eq!(w.write(&[3u8; 1], 0), Err(Errno::EAGAIN));
        let mut buf = vec![0u8; 50];
        assert_eq!(r.read(&mut buf, 0), Ok(50));
        assert_eq!(w.write(&[4u8; 5000], 0), Ok(50)); // > PIPE_BUF: partial
    }

    #[test]
    fn closing_an_end_wakes_waiters() {
        let (r, w) = new_pipe();
        let waker = Waker::new();
        let seen = waker.seq();
        {
            let _reg = r.wait_queue().unwrap().register(&waker);
            drop(w);
        }
        assert_ne!(waker.seq(), seen);
    }

    #[test]
    fn capacity_can_change() {
        let (r, w) = new_pipe();
        let p = &r.as_any().downcast_ref::<PipeReader>().unwrap().pipe;
        assert_eq!(p.set_capacity(5000), Ok(8192));
        assert_eq!(w.write(&[0u8; 9000], 0), Ok(8192));
        assert_eq!(p.set_capacity(4096), Err(Errno::EBUSY));
        assert_eq!(r.stat().unwrap().mode, libc::S_IFIFO | 0o600);
    }
}
