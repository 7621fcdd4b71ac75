//! Atomic read-modify-write of application words (PI futexes, robust
//! lists): the application changes these words with locked instructions
//! at the same time, so the sentry must too.

use std::sync::atomic::{AtomicU32, Ordering};

use nix::errno::Errno;
use platform::Context;

use super::{page_down, page_offset, MemoryManager};

impl MemoryManager {
    /// Atomically replaces the `u32` at `addr` (4-byte aligned, writable)
    /// by `f(old)` unless `f` returns `None`; returns the old value.
    /// `EINVAL` if misaligned, `EFAULT` if not writable.
    pub fn atomic_update_u32(
        &self,
        host: &mut dyn Context,
        addr: u64,
        f: impl FnMut(u32) -> Option<u32>,
    ) -> Result<u32, Errno> {
        if !addr.is_multiple_of(4) {
            return Err(Errno::EINVAL);
        }
        let mut g = self.lock();
        let frame = g.frame_for_write(host, page_down(addr))?;
        let off = page_offset(addr);
        let word = frame
            .bytes_mut()
            .get_mut(off..off + 4)
            .ok_or(Errno::EFAULT)?;
        // SAFETY: `word` is 4 bytes inside a page of the memory file, which
        // is page-aligned, and `off` is a multiple of 4, so the pointer is
        // aligned for u32. The page stays mapped while `frame` lives; other
        // accesses to it (the application, other sentry threads) are
        // atomic or plain byte copies, as for any shared memory.
        let cell = unsafe { AtomicU32::from_ptr(word.as_mut_ptr().cast::<u32>()) };
        Ok(
            match cell.fetch_update(Ordering::SeqCst, Ordering::SeqCst, f) {
                Ok(v) | Err(v) => v,
            },
        )
    }
}
