//! Memory system calls: brk, mmap, munmap, mprotect, mremap, madvise,
//! msync, mincore.

use std::sync::Arc;

use nix::errno::Errno;

use super::{ok, Args, SysResult};
use crate::kernel::ctx::TaskCtx;
use crate::mm::{page_up, MapRequest, VmaKind, PAGE_SIZE};

const PROT_ALL: i32 = libc::PROT_READ | libc::PROT_WRITE | libc::PROT_EXEC;
const MAP_SHARED_VALIDATE: i32 = 3;
const MAP_KNOWN: i32 = libc::MAP_SHARED
    | libc::MAP_PRIVATE
    | libc::MAP_FIXED
    | libc::MAP_ANONYMOUS
    | libc::MAP_32BIT
    | libc::MAP_GROWSDOWN
    | libc::MAP_DENYWRITE
    | libc::MAP_EXECUTABLE
    | libc::MAP_LOCKED
    | libc::MAP_NORESERVE
    | libc::MAP_POPULATE
    | libc::MAP_NONBLOCK
    | libc::MAP_STACK
    | libc::MAP_HUGETLB
    | libc::MAP_FIXED_NOREPLACE
    | 0x7c00_0000; // huge page size bits

pub fn sys_brk(t: &mut TaskCtx, a: &Args) -> SysResult {
    let mm = t.mm.clone();
    let (start, cur) = mm.brk_range();
    if !super::limits::brk_allowed(t, start, cur, a.u64(0)) {
        return ok(cur);
    }
    ok(mm.brk(&mut t.ctx, a.u64(0)))
}

pub fn sys_mmap(t: &mut TaskCtx, a: &Args) -> SysResult {
    let (addr, len, prot, flags, fd, off) =
        (a.u64(0), a.u64(1), a.i32(2), a.i32(3), a.i32(4), a.u64(5));
    if len == 0 || off % PAGE_SIZE != 0 || prot & !PROT_ALL != 0 {
        return Err(Errno::EINVAL);
    }
    let len = page_up(len).ok_or(Errno::ENOMEM)?;
    off.checked_add(len).ok_or(Errno::EOVERFLOW)?;
    super::limits::check_as(t, len)?;
    // get_unmapped_area: nothing larger than the address space fits.
    if len > platform::ptrace::APP_TOP {
        return Err(Errno::ENOMEM);
    }
    let shared = match flags & 3 {
        x if x == libc::MAP_SHARED => true,
        x if x == libc::MAP_PRIVATE => false,
        // Anonymous mappings know only MAP_SHARED and MAP_PRIVATE (do_mmap's
        // anonymous switch), so MAP_SHARED|MAP_PRIVATE is EINVAL there.
        MAP_SHARED_VALIDATE if flags & libc::MAP_ANONYMOUS == 0 => {
            if flags & !MAP_KNOWN != 0 {
                return Err(Errno::EOPNOTSUPP);
            }
            true
        }
        _ => return Err(Errno::EINVAL),
    };
    let fixed = flags & (libc::MAP_FIXED | libc::MAP_FIXED_NOREPLACE) != 0;
    if fixed && addr % PAGE_SIZE != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & libc::MAP_HUGETLB != 0 {
        return Err(Errno::EINVAL);
    }
    let mut may_write_shared = true;
    let kind = if flags & libc::MAP_ANONYMOUS != 0 {
        if shared {
            VmaKind::Shm(Arc::new(crate::mm::shm::AnonShared::new(len)))
        } else {
            VmaKind::Anon
        }
    } else {
        let file = t.fds().get(fd)?;
        if !file.readable() {
            return Err(Errno::EACCES);
        }
        if shared && !file.writable() {
            if prot & libc::PROT_WRITE != 0 {
                return Err(Errno::EACCES);
            }
            may_write_shared = false;
        }
        if file.ops.maps_anonymous() {
            // /dev/zero: private mappings are anonymous memory, shared ones
            // shared anonymous memory (Linux's mmap_zero).
            if shared {
                VmaKind::Shm(Arc::new(crate::mm::shm::AnonShared::new(len)))
            } else {
                VmaKind::Anon
            }
        } else if let Some(plan) = file.ops.mmap_hook(shared, prot, may_write_shared)? {
            may_write_shared = plan.may_write_shared;
            VmaKind::File(plan.mappable)
        } else {
            VmaKind::File(file.mappable().ok_or(Errno::ENODEV)?)
        }
    };
    let pgoff = if flags & libc::MAP_ANONYMOUS != 0 {
        0
    } else {
        off / PAGE_SIZE
    };
    let req = MapRequest {
        addr,
        len,
        prot,
        fixed,
        noreplace: flags & libc::MAP_FIXED_NOREPLACE != 0,
        shared,
        growsdown: flags & libc::MAP_GROWSDOWN != 0,
        kind,
        pgoff,
    };
    let mm = t.mm.clone();
    let at = mm.mmap(&mut t.ctx, req)?;
    if !may_write_shared {
        mm.deny_shared_write(at);
    }
    ok(at)
}

pub fn sys_munmap(t: &mut TaskCtx, a: &Args) -> SysResult {
    let mm = t.mm.clone();
    mm.munmap(&mut t.ctx, a.u64(0), a.u64(1))?;
    ok(0)
}

pub fn sys_mprotect(t: &mut TaskCtx, a: &Args) -> SysResult {
    let prot = a.i32(2);
    const PROT_GROWS: i32 = 0x0100_0000 | 0x0200_0000;
    if prot & !(PROT_ALL | PROT_GROWS) != 0 {
        return Err(Errno::EINVAL);
    }
    let mm = t.mm.clone();
    mm.mprotect(&mut t.ctx, a.u64(0), a.u64(1), prot & PROT_ALL)?;
    ok(0)
}

pub fn sys_mremap(t: &mut TaskCtx, a: &Args) -> SysResult {
    const MREMAP_MAYMOVE: i32 = 1;
    const MREMAP_FIXED: i32 = 2;
    let flags = a.i32(3);
    if flags & !(MREMAP_MAYMOVE | MREMAP_FIXED) != 0
        || (flags & MREMAP_FIXED != 0 && flags & MREMAP_MAYMOVE == 0)
    {
        return Err(Errno::EINVAL);
    }
    let fixed = (flags & MREMAP_FIXED != 0).then(|| a.u64(4));
    let grow = page_up(a.u64(2))
        .unwrap_or(u64::MAX)
        .saturating_sub(page_up(a.u64(1)).unwrap_or(0));
    super::limits::check_as(t, grow)?;
    let mm = t.mm.clone();
    ok(mm.mremap(
        &mut t.ctx,
        a.u64(0),
        a.u64(1),
        a.u64(2),
        flags & MREMAP_MAYMOVE != 0,
        fixed,
    )?)
}

pub fn sys_madvise(t: &mut TaskCtx, a: &Args) -> SysResult {
    let (addr, len, advice) = (a.u64(0), a.u64(1), a.i32(2));
    if addr % PAGE_SIZE != 0 {
        return Err(Errno::EINVAL);
    }
    let mm = t.mm.clone();
    match advice {
        libc::MADV_DONTNEED | libc::MADV_FREE => {
            if len == 0 {
                return ok(0);
            }
            mm.dontneed(&mut t.ctx, addr, len)?;
            ok(0)
        }
        libc::MADV_NORMAL
        | libc::MADV_RANDOM
        | libc::MADV_SEQUENTIAL
        | libc::MADV_WILLNEED
        | libc::MADV_DONTFORK
        | libc::MADV_DOFORK
        | libc::MADV_MERGEABLE
        | libc::MADV_UNMERGEABLE
        | libc::MADV_HUGEPAGE
        | libc::MADV_NOHUGEPAGE
        | libc::MADV_DONTDUMP
        | libc::MADV_DODUMP
        | libc::MADV_WIPEONFORK
        | libc::MADV_KEEPONFORK => {
            // Advice over a range with holes is applied to what is mapped,
            // then reported as ENOMEM.
            let len = page_up(len).ok_or(Errno::EINVAL)?;
            addr.checked_add(len).ok_or(Errno::EINVAL)?;
            if len != 0 {
                mm.residency(addr, len)?;
            }
            ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}

pub fn sys_msync(t: &mut TaskCtx, a: &Args) -> SysResult {
    let (addr, len, flags) = (a.u64(0), a.u64(1), a.i32(2));
    if addr % PAGE_SIZE != 0
        || flags & !(libc::MS_ASYNC | libc::MS_INVALIDATE | libc::MS_SYNC) != 0
        || (flags & libc::MS_ASYNC != 0 && flags & libc::MS_SYNC != 0)
    {
        return Err(Errno::EINVAL);
    }
    // Shared mappings share pages with their files: nothing to write back.
    if !t
        .mm
        .check_access(addr, page_up(len).ok_or(Errno::ENOMEM)?, false)
    {
        return Err(Errno::ENOMEM);
    }
    ok(0)
}

/// mincore: one byte per page of `[addr, addr+len)`, bit 0 set if the
/// page is resident (here: has a frame in the address space).
pub fn sys_mincore(t: &mut TaskCtx, a: &Args) -> SysResult {
    let (addr, len, vec) = (a.u64(0), a.u64(1), a.u64(2));
    if !addr.is_multiple_of(PAGE_SIZE) {
        return Err(Errno::EINVAL);
    }
    let len = page_up(len).ok_or(Errno::ENOMEM)?;
    if addr.checked_add(len).is_none() {
        return Err(Errno::ENOMEM);
    }
    if len == 0 {
        return ok(0);
    }
    // In bounded steps, as Linux does, so a huge range cannot make the
    // sentry build a huge vector.
    const STEP: u64 = 1 << 20;
    let mut done = 0u64;
    while done < len {
        let n = (len - done).min(STEP * PAGE_SIZE);
        let pages = t.mm.residency(addr + done, n)?;
        t.copy_out(
            vec.checked_add(done / PAGE_SIZE).ok_or(Errno::EFAULT)?,
            &pages,
        )?;
        done += n;
    }
    ok(0)
}

/// mlock and friends: the sentry never swaps, so locking is a no-op.
pub fn sys_mlock_nop(_t: &mut TaskCtx, _a: &Args) -> SysResult {
    ok(0)
}
