//! The per-thread context a syscall handler works in.

use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use platform::ptrace::StubThread;
use platform::Context;

use super::task::{kernel, lock, Kernel, Task, ThreadGroup};
use super::wait::WaitQueue;
use crate::mm::MemoryManager;
use crate::vfs::{FdTable, FsContext};

/// Longest path a syscall accepts, including the NUL (PATH_MAX).
pub const PATH_MAX: usize = 4096;

/// Plain-old-data types that can be copied to and from application memory
/// byte for byte.
///
/// # Safety
/// Implementors must have no padding that could leak sentry memory, and
/// every bit pattern must be a valid value.
pub unsafe trait Pod: Copy + 'static {}

// SAFETY: integers: any bit pattern is valid, no padding.
unsafe impl Pod for u8 {}
// SAFETY: as above.
unsafe impl Pod for u16 {}
// SAFETY: as above.
unsafe impl Pod for u32 {}
// SAFETY: as above.
unsafe impl Pod for i32 {}
// SAFETY: as above.
unsafe impl Pod for u64 {}
// SAFETY: as above.
unsafe impl Pod for i64 {}
// SAFETY: two i64 fields, no padding, any bit pattern valid.
unsafe impl Pod for libc::timespec {}
// SAFETY: two i64 fields, no padding.
unsafe impl Pod for libc::timeval {}
// SAFETY: i32/i16/i16: no padding, any bit pattern valid.
unsafe impl Pod for libc::pollfd {}
// SAFETY: two u64, no padding.
unsafe impl Pod for libc::rlimit {}
// SAFETY: pointer-sized integers only.
unsafe impl Pod for libc::iovec {}

/// A syscall handler's view of the calling thread.
pub struct TaskCtx {
    pub task: Arc<Task>,
    pub ctx: StubThread,
    /// The address space, cached from the thread group (exec replaces it).
    pub mm: Arc<MemoryManager>,
}

impl std::fmt::Debug for TaskCtx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TaskCtx(tid {})", self.task.tid)
    }
}

impl TaskCtx {
    pub fn kernel(&self) -> &'static Kernel {
        kernel()
    }

    pub fn tg(&self) -> &Arc<ThreadGroup> {
        &self.task.tg
    }

    pub fn tid(&self) -> i32 {
        self.task.tid
    }

    pub fn pid(&self) -> i32 {
        self.task.tg.pid
    }

    pub fn fds(&self) -> Arc<FdTable> {
        self.task.tg.fds()
    }

    pub fn fs(&self) -> FsContext {
        lock(&self.task.tg.fs).clone()
    }

    pub fn copy_in(&self, addr: u64, buf: &mut [u8]) -> Result<(), Errno> {
        self.mm.copy_in(addr, buf)
    }

    pub fn copy_in_vec(&self, addr: u64, len: usize) -> Result<Vec<u8>, Errno> {
        let mut v = vec![0u8; len];
        self.mm.copy_in(addr, &mut v)?;
        Ok(v)
    }

    pub fn copy_out(&mut self, addr: u64, data: &[u8]) -> Result<(), Errno> {
        self.mm.copy_out(&mut self.ctx, addr, data)
    }

    pub fn read_obj<T: Pod>(&self, addr: u64) -> Result<T, Errno> {
        let mut buf = vec![0u8; std::mem::size_of::<T>()];
        self.mm.copy_in(addr, &mut buf)?;
        // SAFETY: T is Pod, so any bytes of the right length form a valid T;
        // read_unaligned copes with the Vec's alignment.
        Ok(unsafe { std::ptr::read_unaligned(buf.as_ptr().cast::<T>()) })
    }

    pub fn write_obj<T: Pod>(&mut self, addr: u64, v: &T) -> Result<(), Errno> {
        // SAFETY: T is Pod (no padding), so viewing it as bytes reads only
        // initialised memory.
        let bytes = unsafe {
            std::slice::from_raw_parts((v as *const T).cast::<u8>(), std::mem::size_of::<T>())
        };
        self.copy_out(addr, bytes)
    }

    pub fn read_cstr(&self, addr: u64, max: usize) -> Result<Vec<u8>, Errno> {
        self.mm.read_cstr(addr, max)
    }

    /// A path argument: ENAMETOOLONG past PATH_MAX, EFAULT for bad memory.
    pub fn read_path(&self, addr: u64) -> Result<Vec<u8>, Errno> {
        self.mm.read_cstr(addr, PATH_MAX - 1)
    }

    /// A NULL-terminated array of string pointers (argv, envp).
    pub fn read_str_array(&self, addr: u64, max_total: usize) -> Result<Vec<Vec<u8>>, Errno> {
        let mut out = Vec::new();
        let mut total = 0usize;
        if addr == 0 {
            return Ok(out);
        }
        for i in 0u64.. {
            let p: u64 = self.read_obj(addr.checked_add(i * 8).ok_or(Errno::EFAULT)?)?;
            if p == 0 {
                break;
            }
            let s = self.mm.read_cstr(p, max_total)?;
            total += s.len() + 1 + 8;
            if total > max_total {
                return Err(Errno::E2BIG);
            }
            out.push(s);
        }
        Ok(out)
    }

    /// Sleeps until `cond` yields a value, a signal arrives (EINTR), or
    /// `deadline` passes (ETIMEDOUT). `host_poll` makes the wait re-check
    /// every few milliseconds, for conditions that depend on host fds.
    pub fn block<R>(
        &mut self,
        queues: &[&WaitQueue],
        deadline: Option<Instant>,
        host_poll: bool,
        mut cond: impl FnMut(&mut TaskCtx) -> Result<Option<R>, Errno>,
    ) -> Result<R, Errno> {
        let waker = self.task.waker.clone();
        let _regs: Vec<_> = queues.iter().map(|q| q.register(&waker)).collect();
        loop {
            let seq = waker.seq();
            if let Some(r) = cond(self)? {
                return Ok(r);
            }
            if self.task.has_unblocked_signal() {
                return Err(Errno::EINTR);
            }
            let tick = if host_poll {
                Some(Instant::now() + Duration::from_millis(5))
            } else {
                None
            };
            let until = match (deadline, tick) {
                (Some(d), Some(t)) => Some(d.min(t)),
                (d, t) => d.or(t),
            };
            if !waker.wait(seq, until) {
                if let Some(d) = deadline {
                    if Instant::now() >= d {
                        return Err(Errno::ETIMEDOUT);
                    }
                }
            }
        }
    }

    /// Registers for application-visible address-space changes after exec.
    pub fn refresh_mm(&mut self) {
        self.mm = self.task.tg.mm();
    }

    pub fn regs(&self) -> &platform::Regs {
        self.ctx.regs()
    }

    pub fn regs_mut(&mut self) -> &mut platform::Regs {
        self.ctx.regs_mut()
    }
}
