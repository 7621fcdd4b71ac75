//! Pipes: a bounded byte buffer shared by a read end and a write end.
//!
//! An anonymous pipe (`pipe(2)`) is made with both ends open. A FIFO
//! (named pipe) owns one [`Pipe`] for its whole life, and every `open(2)`
//! of it adds an end with [`Pipe::open_fifo`], as Linux's `fifo_open` does.
//! Ends never block; an open that must wait for the other side is told so
//! by [`partner_wait`], and the syscall layer does the waiting.

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
    /// Opens for reading / writing so far (Linux's `r_counter` and
    /// `w_counter`): a FIFO open waits for the other one to change, so a
    /// partner that opens and closes again at once still releases it.
    reader_opens: u64,
    writer_opens: u64,
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
    fn new(readers: usize, writers: usize) -> Arc<Pipe> {
        Arc::new(Pipe {
            state: Mutex::new(PipeState {
                buf: VecDeque::new(),
                capacity: DEFAULT_CAPACITY,
                readers,
                writers,
                reader_opens: readers as u64,
                writer_opens: writers as u64,
            }),
            wq: WaitQueue::new(),
            ino: NEXT_INO.fetch_add(1, Ordering::Relaxed),
            created: Timespec::now(),
        })
    }

    /// The pipe of a FIFO inode, with no end open yet.
    pub fn new_fifo() -> Arc<Pipe> {
        Pipe::new(0, 0)
    }

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

    /// Opens a FIFO whose pipe this is, for `open(2)` with `flags`
    /// (Linux's `fifo_open`). The new end counts at once, so a partner
    /// sees it even while this open still waits for one (see
    /// [`partner_wait`]). A non-blocking write-only open with no reader
    /// fails with `ENXIO`; `O_RDWR` never waits.
    pub fn open_fifo(self: &Arc<Pipe>, flags: i32) -> Result<Arc<dyn FileOps>, Errno> {
        let pipe = Arc::clone(self);
        let mut st = self.lock();
        let end: Arc<dyn FileOps> = match flags & libc::O_ACCMODE {
            libc::O_RDONLY => {
                st.readers += 1;
                st.reader_opens += 1;
                // Until a writer comes, this end waits (blocking) or sees
                // no hangup (non-blocking), as Linux's `f_pipe` makes it.
                let no_writer_since = (st.writers == 0).then_some(st.writer_opens);
                Arc::new(PipeReader {
                    pipe,
                    no_writer_since,
                })
            }
            libc::O_WRONLY => {
                if st.readers == 0 && flags & libc::O_NONBLOCK != 0 {
                    return Err(Errno::ENXIO);
                }
                st.writers += 1;
                st.writer_opens += 1;
                let no_reader_since = (st.readers == 0).then_some(st.reader_opens);
                Arc::new(PipeWriter {
                    pipe,
                    no_reader_since,
                })
            }
            libc::O_RDWR => {
                st.readers += 1;
                st.writers += 1;
                st.reader_opens += 1;
                st.writer_opens += 1;
                Arc::new(PipeReadWriter { pipe })
            }
            _ => return Err(Errno::EINVAL),
        };
        drop(st);
        self.wq.notify();
        Ok(end)
    }

    /// An end goes away. Once a FIFO has no ends at all its buffer is
    /// discarded, as Linux frees the pipe of an inode nobody has open.
    fn release(&self, reader: bool, writer: bool) {
        {
            let mut st = self.lock();
            if reader {
                st.readers = st.readers.saturating_sub(1);
            }
            if writer {
                st.writers = st.writers.saturating_sub(1);
            }
            if st.readers == 0 && st.writers == 0 {
                st.buf = VecDeque::new();
                st.capacity = DEFAULT_CAPACITY;
            }
        }
        self.wq.notify();
    }

    fn read(&self, buf: &mut [u8]) -> Result<usize, Errno> {
        if buf.is_empty() {
            return Ok(0);
        }
        let mut st = self.lock();
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
        self.wq.notify();
        Ok(n)
    }

    fn write(&self, buf: &[u8]) -> Result<usize, Errno> {
        if buf.is_empty() {
            return Ok(0);
        }
        let mut st = self.lock();
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
        self.wq.notify();
        Ok(n)
    }

    /// The queue notified whenever data, room or ends change.
    pub fn wait_queue(&self) -> &WaitQueue {
        &self.wq
    }

    /// For splice/tee: copies up to `buf.len()` bytes from the front of
    /// the buffer without consuming them. `Ok(0)` at end of data (empty,
    /// no writer), `EAGAIN` while empty with a writer.
    pub fn peek(&self, buf: &mut [u8]) -> Result<usize, Errno> {
        if buf.is_empty() {
            return Ok(0);
        }
        let st = self.lock();
        if st.buf.is_empty() {
            return if st.writers == 0 {
                Ok(0)
            } else {
                Err(Errno::EAGAIN)
            };
        }
        let n = buf.len().min(st.buf.len());
        for (dst, src) in buf.iter_mut().zip(st.buf.iter()) {
            *dst = *src;
        }
        Ok(n)
    }

    /// Drops the first `n` bytes (what a [`Pipe::peek`] saw and a splice
    /// passed on). A splice assumes it is the only reader meanwhile, as a
    /// concurrent reader would see the same bytes.
    pub fn consume(&self, n: usize) {
        let mut st = self.lock();
        let n = n.min(st.buf.len());
        st.buf.drain(..n);
        drop(st);
        self.wq.notify();
    }

    /// For splice/tee/vmsplice into the pipe: the free room, `EPIPE` with
    /// no reader, `EAGAIN` when full.
    pub fn room(&self) -> Result<usize, Errno> {
        let st = self.lock();
        if st.readers == 0 {
            return Err(Errno::EPIPE);
        }
        match st.capacity.saturating_sub(st.buf.len()) {
            0 => Err(Errno::EAGAIN),
            n => Ok(n),
        }
    }

    /// Appends all of `data`, which the caller sized by [`Pipe::room`]
    /// (not atomic, unlike `write`). A racing writer may have taken the
    /// room meanwhile; the buffer then briefly holds more than its
    /// capacity rather than losing bytes already taken from the source.
    pub fn push(&self, data: &[u8]) -> Result<usize, Errno> {
        let mut st = self.lock();
        if st.readers == 0 {
            return Err(Errno::EPIPE);
        }
        st.buf.extend(data);
        drop(st);
        self.wq.notify();
        Ok(data.len())
    }

    /// Readiness of a read end. `no_writer_since`: see [`PipeReader`].
    fn poll_read(&self, no_writer_since: Option<u64>) -> i16 {
        let st = self.lock();
        let mut r = 0;
        if !st.buf.is_empty() {
            r |= libc::POLLIN;
        }
        if st.writers == 0 && no_writer_since != Some(st.writer_opens) {
            r |= libc::POLLHUP;
        }
        r
    }

    fn poll_write(&self) -> i16 {
        let st = self.lock();
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

    fn fionread(&self) -> usize {
        self.lock().buf.len()
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

    fn anon_name(&self) -> String {
        format!("pipe:[{}]", self.ino)
    }
}

/// The read end.
#[derive(Debug)]
pub struct PipeReader {
    pub pipe: Arc<Pipe>,
    /// For a FIFO opened while it had no writer: how many writers had
    /// opened it then. A blocking open waits until that changes, and
    /// until then `poll` reports no hangup.
    no_writer_since: Option<u64>,
}

/// The write end.
#[derive(Debug)]
pub struct PipeWriter {
    pub pipe: Arc<Pipe>,
    /// For a FIFO opened (blocking) while it had no reader: how many
    /// readers had opened it then; the open waits until that changes.
    no_reader_since: Option<u64>,
}

/// Both ends in one description: a FIFO opened `O_RDWR`.
#[derive(Debug)]
pub struct PipeReadWriter {
    pub pipe: Arc<Pipe>,
}

/// A new pipe: (read end, write end).
pub fn new_pipe() -> (Arc<dyn FileOps>, Arc<dyn FileOps>) {
    let pipe = Pipe::new(1, 1);
    (
        Arc::new(PipeReader {
            pipe: Arc::clone(&pipe),
            no_writer_since: None,
        }),
        Arc::new(PipeWriter {
            pipe,
            no_reader_since: None,
        }),
    )
}

/// The pipe behind a pipe or FIFO end (for `F_GETPIPE_SZ`/`F_SETPIPE_SZ`).
pub fn pipe_of(ops: &dyn FileOps) -> Option<&Arc<Pipe>> {
    let any = ops.as_any();
    if let Some(r) = any.downcast_ref::<PipeReader>() {
        Some(&r.pipe)
    } else if let Some(w) = any.downcast_ref::<PipeWriter>() {
        Some(&w.pipe)
    } else {
        any.downcast_ref::<PipeReadWriter>().map(|rw| &rw.pipe)
    }
}

/// What a blocking FIFO open waits for: the first open of the other side
/// since this one.
#[derive(Debug)]
pub struct PartnerWait<'a> {
    pipe: &'a Pipe,
    /// Waiting for a writer (else for a reader).
    for_writer: bool,
    seen: u64,
}

impl PartnerWait<'_> {
    /// Notified whenever an end of the pipe opens or closes.
    pub fn wait_queue(&self) -> &WaitQueue {
        &self.pipe.wq
    }

    /// Whether the partner has opened.
    pub fn arrived(&self) -> bool {
        let st = self.pipe.lock();
        let opens = if self.for_writer {
            st.writer_opens
        } else {
            st.reader_opens
        };
        opens != self.seen
    }
}

/// For an end just made by [`Pipe::open_fifo`] that found no partner: what
/// a blocking `open(2)` must wait for before it returns. `None` for every
/// other file. Callers skip the wait for `O_NONBLOCK` opens.
pub fn partner_wait(ops: &dyn FileOps) -> Option<PartnerWait<'_>> {
    let any = ops.as_any();
    if let Some(r) = any.downcast_ref::<PipeReader>() {
        return r.no_writer_since.map(|seen| PartnerWait {
            pipe: &r.pipe,
            for_writer: true,
            seen,
        });
    }
    let w = any.downcast_ref::<PipeWriter>()?;
    w.no_reader_since.map(|seen| PartnerWait {
        pipe: &w.pipe,
        for_writer: false,
        seen,
    })
}

impl Drop for PipeReader {
    fn drop(&mut self) {
        self.pipe.release(true, false);
    }
}

impl Drop for PipeWriter {
    fn drop(&mut self) {
        self.pipe.release(false, true);
    }
}

impl Drop for PipeReadWriter {
    fn drop(&mut self) {
        self.pipe.release(true, true);
    }
}

/// The [`FileOps`] methods every end answers from the shared pipe alone;
/// the ends differ only in reading, writing and polling.
macro_rules! pipe_end_common {
    () => {
        fn wait_queue(&self) -> Option<&WaitQueue> {
            Some(&self.pipe.wq)
        }

        fn fionread(&self) -> Result<usize, Errno> {
            Ok(self.pipe.fionread())
        }

        fn stat(&self) -> Result<Stat, Errno> {
            Ok(self.pipe.stat())
        }

        fn anon_name(&self) -> String {
            self.pipe.anon_name()
        }

        fn as_any(&self) -> &dyn Any {
            self
        }
    };
}

impl FileOps for PipeReader {
    fn read(&self, buf: &mut [u8], _off: u64) -> Result<usize, Errno> {
        self.pipe.read(buf)
    }

    fn poll(&self) -> i16 {
        self.pipe.poll_read(self.no_writer_since)
    }

    pipe_end_common!();
}

impl FileOps for PipeWriter {
    fn write(&self, buf: &[u8], _off: u64) -> Result<usize, Errno> {
        self.pipe.write(buf)
    }

    fn poll(&self) -> i16 {
        self.pipe.poll_write()
    }

    pipe_end_common!();
}

impl FileOps for PipeReadWriter {
    fn read(&self, buf: &mut [u8], _off: u64) -> Result<usize, Errno> {
        self.pipe.read(buf)
    }

    fn write(&self, buf: &[u8], _off: u64) -> Result<usize, Errno> {
        self.pipe.write(buf)
    }

    /// This end is its own reader and writer, so never hangup or error.
    fn poll(&self) -> i16 {
        self.pipe.poll_read(None) | self.pipe.poll_write()
    }

    pipe_end_common!();
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

    #[test]
    fn fifo_opens_follow_linux_rules() {
        let fifo = Pipe::new_fifo();
        let nb = libc::O_NONBLOCK;
        assert_eq!(
            fifo.open_fifo(libc::O_WRONLY | nb).map(|_| ()),
            Err(Errno::ENXIO)
        );
        // A non-blocking reader needs no writer and sees no hangup yet.
        let r = fifo.open_fifo(libc::O_RDONLY | nb).unwrap();
        assert_eq!(r.poll(), 0);
        assert_eq!(r.read(&mut [0u8; 4], 0), Ok(0));
        // Now a writer may open without waiting.
        let w = fifo.open_fifo(libc::O_WRONLY | nb).unwrap();
        assert!(partner_wait(&*w).is_none());
        assert_eq!(w.write(b"hi", 0), Ok(2));
        assert_eq!(pipe_of(&*w).unwrap().capacity(), DEFAULT_CAPACITY);
        drop(w);
        assert_eq!(r.poll(), libc::POLLIN | libc::POLLHUP);
        drop(r);
        // With every end closed the data is gone.
        let rw = fifo.open_fifo(libc::O_RDWR).unwrap();
        assert!(partner_wait(&*rw).is_none());
        assert_eq!(rw.read(&mut [0u8; 4], 0), Err(Errno::EAGAIN));
        assert_eq!(rw.poll(), libc::POLLOUT);
    }

    #[test]
    fn blocking_fifo_open_waits_for_partner_open() {
        let fifo = Pipe::new_fifo();
        let r = fifo.open_fifo(libc::O_RDONLY).unwrap();
        let wait = partner_wait(&*r).unwrap();
        assert!(!wait.arrived());
        let waker = Waker::new();
        let seen = waker.seq();
        let reg = wait.wait_queue().register(&waker);
        // A writer that opens and closes at once still releases the reader.
        let w = fifo.open_fifo(libc::O_WRONLY).unwrap();
        assert!(partner_wait(&*w).is_none());
        drop(w);
        assert_ne!(waker.seq(), seen);
        assert!(wait.arrived());
        // A blocking writer with no reader must wait for one.
        drop(reg);
        drop(r);
        let w = fifo.open_fifo(libc::O_WRONLY).unwrap();
        let wait = partner_wait(&*w).unwrap();
        assert!(!wait.arrived());
        let _r = fifo.open_fifo(libc::O_RDONLY | libc::O_NONBLOCK).unwrap();
        assert!(wait.arrived());
    }
}
