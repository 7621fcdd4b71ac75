//! Resource limits the sentry enforces outside `setrlimit` itself:
//! RLIMIT_NPROC at clone, RLIMIT_AS for mmap/mremap/brk, RLIMIT_DATA for
//! brk (RLIMIT_STACK is applied by the fault handler, see `kernel/run.rs`).
//!
//! Differences from Linux: a MAP_FIXED mapping over existing pages counts
//! its whole length against RLIMIT_AS (Linux subtracts the overlap), and
//! RLIMIT_DATA bounds only the heap (Linux also counts private writable
//! mappings and the data segment).

use nix::errno::Errno;

use super::caps::{capable, CAP_SYS_ADMIN, CAP_SYS_RESOURCE};
use crate::kernel::ctx::TaskCtx;
use crate::kernel::task::{kernel, lock};

/// clone/fork: EAGAIN when the caller's real uid already runs
/// RLIMIT_NPROC tasks, unless it is uid 0 (Linux's INIT_USER) or holds
/// CAP_SYS_RESOURCE or CAP_SYS_ADMIN.
pub fn check_nproc(t: &TaskCtx) -> Result<(), Errno> {
    let limit = t.tg().rlimit(libc::RLIMIT_NPROC).cur;
    let c = lock(&t.tg().creds).clone();
    if c.uid == 0 || capable(&c, CAP_SYS_RESOURCE) || capable(&c, CAP_SYS_ADMIN) {
        return Ok(());
    }
    let uid = c.uid;
    let count = kernel()
        .tasks()
        .iter()
        .filter(|x| !x.exited.load(std::sync::atomic::Ordering::Acquire))
        .filter(|x| lock(&x.tg.creds).uid == uid)
        .count();
    if u64::try_from(count).unwrap_or(u64::MAX) >= limit {
        return Err(Errno::EAGAIN);
    }
    Ok(())
}

/// ENOMEM if growing the address space by `grow` bytes would pass
/// RLIMIT_AS.
pub fn check_as(t: &TaskCtx, grow: u64) -> Result<(), Errno> {
    let limit = t.tg().rlimit(libc::RLIMIT_AS).cur;
    if limit == crate::kernel::task::RLIM_INFINITY || grow == 0 {
        return Ok(());
    }
    let (vm, _) = t.mm.usage();
    match vm.checked_add(grow) {
        Some(total) if total <= limit => Ok(()),
        _ => Err(Errno::ENOMEM),
    }
}

/// Whether brk may move the break from `cur` to `want` (heap starting at
/// `start`): the heap within RLIMIT_DATA, its growth within RLIMIT_AS.
pub fn brk_allowed(t: &TaskCtx, start: u64, cur: u64, want: u64) -> bool {
    if want <= cur {
        return true;
    }
    let data = t.tg().rlimit(libc::RLIMIT_DATA).cur;
    if want.saturating_sub(start) > data {
        return false;
    }
    let page = |v: u64| v.saturating_add(4095) & !4095;
    check_as(t, page(want).saturating_sub(page(cur))).is_ok()
}
