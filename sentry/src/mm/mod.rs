//! The memory manager: application address spaces are the sentry's.
//!
//! Each address space is a set of VMAs (what the application asked for)
//! and a page table (which memory-file page backs which application page,
//! and what is currently installed in the host stub). Host mappings are
//! installed lazily, on faults, through the running thread's
//! [`platform::Context`].

mod atomic;
pub mod memfile;
pub mod shm;
mod vma;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use nix::errno::Errno;
use platform::Context;

pub use memfile::{memfile, Frame, MemoryFile, PAGE_SIZE};
pub use vma::{Mappable, Vma, VmaKind};

/// Pages installed around a faulting address in one go.
const FAULT_WINDOW: u64 = 16 * PAGE_SIZE;
/// The top of the application stack.
pub const STACK_TOP: u64 = platform::ptrace::APP_TOP - 0x10_0000;
/// Largest stack the grows-down VMA may reach.
const STACK_MAX: u64 = 8 << 20;
/// Lowest address mmap hands out without MAP_FIXED (vm.mmap_min_addr).
pub const MMAP_MIN: u64 = 0x1_0000;

pub const PROT_READ: i32 = libc::PROT_READ;
pub const PROT_WRITE: i32 = libc::PROT_WRITE;
pub const PROT_EXEC: i32 = libc::PROT_EXEC;

const PAGE_USIZE: usize = 4096;

/// Offset of `a` within its page.
pub fn page_offset(a: u64) -> usize {
    usize::try_from(a & (PAGE_SIZE - 1)).unwrap_or(0)
}

pub fn page_down(a: u64) -> u64 {
    a & !(PAGE_SIZE - 1)
}

pub fn page_up(a: u64) -> Option<u64> {
    a.checked_add(PAGE_SIZE - 1).map(page_down)
}

pub const SEGV_MAPERR: i32 = 1;
pub const SEGV_ACCERR: i32 = 2;

/// What an unresolvable fault becomes for the application.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultError {
    /// SIGSEGV with this si_code.
    Segv(i32),
    /// SIGBUS (access beyond the end of a mapped file).
    Bus,
    /// The page is already installed with everything its VMA allows: either
    /// a real protection violation, or another thread fixed the page after
    /// this fault happened. The caller retries once before it signals.
    Installed,
}

#[derive(Debug, Clone)]
struct Pte {
    frame: Arc<Frame>,
    /// Protection installed in the host, if installed.
    host: Option<i32>,
}

#[derive(Debug, Default)]
struct Inner {
    vmas: BTreeMap<u64, Vma>,
    ptes: BTreeMap<u64, Pte>,
    brk_start: u64,
    brk: u64,
    mmap_base: u64,
}

/// One application address space.
#[derive(Debug, Default)]
pub struct MemoryManager {
    inner: Mutex<Inner>,
    /// Application threads running in this address space's stub process;
    /// the last one to leave kills the process.
    pub users: std::sync::atomic::AtomicUsize,
    /// Linux's MMF_DUMPABLE cleared (`prctl(PR_SET_DUMPABLE, 0)`, or a
    /// credential change): kept with the address space, so fork copies it
    /// and exec (a new address space) resets it.
    not_dumpable: std::sync::atomic::AtomicBool,
    /// Resident bytes when [`MemoryManager::release_on_exit`] ran, so a
    /// reaped child's `ru_maxrss` survives the release.
    exit_rss: std::sync::atomic::AtomicU64,
    /// RLIMIT_STACK of the process last faulting here (0: the default).
    stack_limit: std::sync::atomic::AtomicU64,
}

/// A request to map memory, already validated by the syscall layer.
#[derive(Debug, Clone)]
pub struct MapRequest {
    pub addr: u64,
    pub len: u64,
    pub prot: i32,
    pub fixed: bool,
    pub noreplace: bool,
    pub shared: bool,
    pub growsdown: bool,
    pub kind: VmaKind,
    pub pgoff: u64,
}

impl MemoryManager {
    /// An empty address space that keeps the host ranges every stub has.
    pub fn new(kept: &[platform::ptrace::KeptRange]) -> MemoryManager {
        let mut inner = Inner {
            mmap_base: STACK_TOP - (STACK_MAX + (1 << 30)),
            ..Default::default()
        };
        for k in kept {
            let v = Vma::new(
                k.start,
                k.end,
                PROT_READ | PROT_EXEC,
                VmaKind::Host(k.name.clone()),
            );
            inner.vmas.insert(k.start, v);
        }
        MemoryManager {
            inner: Mutex::new(inner),
            users: Default::default(),
            not_dumpable: Default::default(),
            exit_rss: Default::default(),
            stack_limit: Default::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A poisoned lock means a sentry bug panicked mid-update; the
        // address space is still structurally sound, so keep going.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A copy-on-write copy of this address space for a forked child. The
    /// parent's private writable pages become read-only in its stub.
    pub fn fork(&self, host: &mut dyn Context) -> Result<MemoryManager, Errno> {
        let mut g = self.lock();
        let inner = &mut *g;
        for v in inner.vmas.values() {
            if v.shared || v.prot & PROT_WRITE == 0 || v.is_host() {
                continue;
            }
            let ro = v.prot & !PROT_WRITE;
            // Only installed pages can be re-protected in the host; mprotect
            // fails on holes, so protect each installed run.
            let mut runs: Vec<(u64, u64)> = Vec::new();
            for (a, pte) in inner.ptes.range_mut(v.start..v.end) {
                if let Some(p) = pte.host.as_mut() {
                    *p = ro;
                    match runs.last_mut() {
                        Some(r) if r.1 == *a => r.1 = *a + PAGE_SIZE,
                        _ => runs.push((*a, *a + PAGE_SIZE)),
                    }
                }
            }
            for (s, e) in runs {
                host.protect(s, e - s, ro).map_err(|_| Errno::ENOMEM)?;
            }
        }
        let ptes = inner
            .ptes
            .iter()
            .map(|(a, p)| {
                (
                    *a,
                    Pte {
                        frame: p.frame.clone(),
                        host: None,
                    },
                )
            })
            .collect();
        let child = Inner {
            vmas: inner.vmas.clone(),
            ptes,
            brk_start: inner.brk_start,
            brk: inner.brk,
            mmap_base: inner.mmap_base,
        };
        Ok(MemoryManager {
            inner: Mutex::new(child),
            users: Default::default(),
            not_dumpable: std::sync::atomic::AtomicBool::new(!self.dumpable()),
            exit_rss: Default::default(),
            stack_limit: Default::default(),
        })
    }

    /// Removes every application mapping from the host stub (for exec).
    pub fn unmap_all(&self, host: &mut dyn Context) -> Result<(), Errno> {
        let mut g = self.lock();
        let ranges: Vec<(u64, u64)> = g
            .vmas
            .values()
            .filter(|v| !v.is_host())
            .map(|v| (v.start, v.end))
            .collect();
        for (s, e) in ranges {
            host.unmap(s, e - s).map_err(|_| Errno::ENOMEM)?;
        }
        g.ptes.clear();
        g.vmas.retain(|_, v| v.is_host());
        Ok(())
    }

    /// The start of the heap and the current break.
    pub fn brk_range(&self) -> (u64, u64) {
        let g = self.lock();
        (g.brk_start, g.brk)
    }

    /// The most the stack may grow to (RLIMIT_STACK), set by the fault
    /// path from the faulting process's limit.
    pub fn set_stack_limit(&self, limit: u64) {
        // 0 in the field means "not set yet"; a limit of 0 allows no
        // growth, as 1 does.
        self.stack_limit
            .store(limit.max(1), std::sync::atomic::Ordering::Relaxed);
    }

    pub fn set_brk_start(&self, a: u64) {
        let mut g = self.lock();
        g.brk_start = a;
        g.brk = a;
    }

    /// The brk system call: returns the new (or unchanged) break.
    pub fn brk(&self, host: &mut dyn Context, want: u64) -> u64 {
        let (start, cur) = {
            let g = self.lock();
            (g.brk_start, g.brk)
        };
        if want < start || want > start + (1 << 34) {
            return cur;
        }
        let (Some(old_end), Some(new_end)) = (page_up(cur), page_up(want)) else {
            return cur;
        };
        if new_end > old_end {
            let req = MapRequest {
                addr: old_end,
                len: new_end - old_end,
                prot: PROT_READ | PROT_WRITE,
                fixed: true,
                noreplace: true,
                shared: false,
                growsdown: false,
                kind: VmaKind::Heap,
                pgoff: 0,
            };
            if self.mmap(host, req).is_err() {
                return cur;
            }
        } else if new_end < old_end && self.munmap(host, new_end, old_end - new_end).is_err() {
            return cur;
        }
        self.lock().brk = want;
        want
    }

    /// Maps memory; returns the address.
    pub fn mmap(&self, host: &mut dyn Context, req: MapRequest) -> Result<u64, Errno> {
        let len = page_up(req.len).ok_or(Errno::ENOMEM)?;
        if len == 0 {
            return Err(Errno::EINVAL);
        }
        let mut g = self.lock();
        let addr = if req.fixed {
            let end = req.addr.checked_add(len).ok_or(Errno::ENOMEM)?;
            if end > platform::ptrace::APP_TOP {
                return Err(Errno::ENOMEM);
            }
            if req.noreplace && g.overlaps(req.addr, end) {
                return Err(Errno::EEXIST);
            }
            if g.overlaps_host(req.addr, end) {
                return Err(Errno::ENOMEM);
            }
            req.addr
        } else {
            g.find_gap(req.addr, len).ok_or(Errno::ENOMEM)?
        };
        g.unmap_range(host, addr, addr + len)?;
        let mut v = Vma::new(addr, addr + len, req.prot, req.kind);
        v.shared = req.shared;
        v.growsdown = req.growsdown;
        v.pgoff = req.pgoff;
        g.vmas.insert(addr, v);
        Ok(addr)
    }

    pub fn munmap(&self, host: &mut dyn Context, addr: u64, len: u64) -> Result<(), Errno> {
        if !addr.is_multiple_of(PAGE_SIZE) || len == 0 {
            return Err(Errno::EINVAL);
        }
        let end = addr
            .checked_add(page_up(len).ok_or(Errno::EINVAL)?)
            .ok_or(Errno::EINVAL)?;
        if end > platform::ptrace::APP_TOP {
            return Err(Errno::EINVAL);
        }
        let mut g = self.lock();
        if g.overlaps_host(addr, end) {
            return Err(Errno::EINVAL);
        }
        g.unmap_range(host, addr, end)
    }

    pub fn mprotect(
        &self,
        host: &mut dyn Context,
        addr: u64,
        len: u64,
        prot: i32,
    ) -> Result<(), Errno> {
        if !addr.is_multiple_of(PAGE_SIZE) {
            return Err(Errno::EINVAL);
        }
        let end = addr
            .checked_add(page_up(len).ok_or(Errno::ENOMEM)?)
            .ok_or(Errno::ENOMEM)?;
        if end == addr {
            return Ok(());
        }
        let mut g = self.lock();
        if !g.fully_mapped(addr, end) {
            return Err(Errno::ENOMEM);
        }
        // Refuse before splitting, so a failed call changes nothing (a split
        // would, for one, count as a second SysV shm attach).
        let denied = g
            .vmas
            .range(..end)
            .rev()
            .take_while(|(_, v)| v.end > addr)
            .any(|(_, v)| v.shared && prot & PROT_WRITE != 0 && !v.may_write_shared);
        if denied {
            return Err(Errno::EACCES);
        }
        g.split_at(addr);
        g.split_at(end);
        let starts: Vec<u64> = g.vmas.range(addr..end).map(|(s, _)| *s).collect();
        for s in starts {
            if let Some(v) = g.vmas.get_mut(&s) {
                v.prot = prot;
            }
        }
        // Drop host mappings; faults reinstall them with the new protection.
        let installed = g.ptes.range(addr..end).any(|(_, p)| p.host.is_some());
        for (_, p) in g.ptes.range_mut(addr..end) {
            p.host = None;
        }
        if installed {
            host.unmap(addr, end - addr).map_err(|_| Errno::ENOMEM)?;
        }
        g.merge_around(addr, end);
        Ok(())
    }

    /// madvise(MADV_DONTNEED): private pages read back as zero (or file
    /// contents), shared ones keep their data.
    pub fn dontneed(&self, host: &mut dyn Context, addr: u64, len: u64) -> Result<(), Errno> {
        let end = addr
            .checked_add(page_up(len).ok_or(Errno::EINVAL)?)
            .ok_or(Errno::EINVAL)?;
        let mut g = self.lock();
        if !g.fully_mapped(addr, end) {
            return Err(Errno::ENOMEM);
        }
        let pages: Vec<u64> = g.ptes.range(addr..end).map(|(a, _)| *a).collect();
        let mut installed = false;
        for a in pages {
            if g.vma_at(a).is_some_and(|v| !v.shared) {
                if let Some(p) = g.ptes.remove(&a) {
                    installed |= p.host.is_some();
                }
            }
        }
        if installed {
            host.unmap(addr, end - addr).map_err(|_| Errno::ENOMEM)?;
        }
        Ok(())
    }

    /// mremap: resizes, possibly moving, a mapping.
    pub fn mremap(
        &self,
        host: &mut dyn Context,
        old: u64,
        old_len: u64,
        new_len: u64,
        may_move: bool,
        fixed: Option<u64>,
    ) -> Result<u64, Errno> {
        if !old.is_multiple_of(PAGE_SIZE) {
            return Err(Errno::EINVAL);
        }
        let old_len = page_up(old_len).ok_or(Errno::EINVAL)?;
        let new_len = page_up(new_len).ok_or(Errno::EINVAL)?;
        if new_len == 0 {
            return Err(Errno::EINVAL);
        }
        let mut g = self.lock();
        let v = g.vma_at(old).cloned().ok_or(Errno::EFAULT)?;
        let old_end = old.checked_add(old_len).ok_or(Errno::EINVAL)?;
        if old_end > v.end || v.is_host() {
            return Err(Errno::EFAULT);
        }
        if fixed.is_none() && new_len <= old_len {
            if new_len < old_len {
                g.unmap_range(host, old + new_len, old_end)?;
            }
            return Ok(old);
        }
        // Grow in place when the following range is free.
        if fixed.is_none()
            && old_end == v.end
            && !g.overlaps(old_end, old + new_len)
            && old + new_len <= g.mmap_ceiling()
        {
            if let Some(vm) = g.vmas.get_mut(&v.start) {
                vm.end = old + new_len;
            }
            return Ok(old);
        }
        if !may_move {
            return Err(Errno::ENOMEM);
        }
        let dest = match fixed {
            Some(d) => {
                if !d.is_multiple_of(PAGE_SIZE) {
                    return Err(Errno::EINVAL);
                }
                let dend = d.checked_add(new_len).ok_or(Errno::EINVAL)?;
                if dend > platform::ptrace::APP_TOP || (d < old_end && old < dend) {
                    return Err(Errno::EINVAL);
                }
                g.unmap_range(host, d, dend)?;
                d
            }
            None => g.find_gap(0, new_len).ok_or(Errno::ENOMEM)?,
        };
        // Move VMA pieces and pages; the host picks them up on faults.
        let moved: Vec<(u64, Pte)> = g
            .ptes
            .range(old..old_end)
            .map(|(a, p)| (*a, p.clone()))
            .collect();
        let mut nv = v.clone();
        nv.pgoff = v.pgoff + (old - v.start) / PAGE_SIZE;
        nv.start = dest;
        nv.end = dest + new_len;
        g.unmap_range(host, old, old_end)?;
        for (a, mut p) in moved {
            if a - old < new_len {
                p.host = None;
                g.ptes.insert(dest + (a - old), p);
            }
        }
        g.vmas.insert(dest, nv);
        Ok(dest)
    }

    /// Resolves a host fault at `addr`, installing whatever page belongs
    /// there, or says which signal the application gets.
    pub fn handle_fault(&self, host: &mut dyn Context, addr: u64) -> Result<(), FaultError> {
        let mut g = self.lock();
        let page = page_down(addr);
        let v = match g.vma_at(page) {
            Some(v) => v.clone(),
            None => {
                let limit = match self.stack_limit.load(std::sync::atomic::Ordering::Relaxed) {
                    0 => STACK_MAX,
                    l => l,
                };
                g.grow_stack(page, limit)
                    .ok_or(FaultError::Segv(SEGV_MAPERR))?
            }
        };
        if v.is_host() || v.prot == libc::PROT_NONE {
            return Err(FaultError::Segv(SEGV_ACCERR));
        }
        if let Some((frame, installed)) = g.ptes.get(&page).map(|p| (p.frame.clone(), p.host)) {
            // `frame` is one extra reference on top of the page table's.
            let exclusive = v.shared || Arc::strong_count(&frame) == 2;
            let (frame, prot) = match installed {
                Some(p) if p == v.prot => return Err(FaultError::Installed),
                // Installed with less than the VMA allows: a write to a
                // copy-on-write page.
                Some(_) if !exclusive => (frame.duplicate().map_err(|_| FaultError::Bus)?, v.prot),
                Some(_) => (frame, v.prot),
                None => {
                    let prot = host_prot(&v, exclusive);
                    (frame, prot)
                }
            };
            host.map(page, PAGE_SIZE, prot, frame.offset())
                .map_err(|_| FaultError::Bus)?;
            g.ptes.insert(
                page,
                Pte {
                    frame,
                    host: Some(prot),
                },
            );
            return Ok(());
        }
        let lo = page_down(addr & !(FAULT_WINDOW - 1)).max(v.start);
        let hi = ((addr & !(FAULT_WINDOW - 1)) + FAULT_WINDOW).min(v.end);
        let mut run: Option<(u64, u64, i32)> = None; // (start, file offset, prot)
        let mut runs = Vec::new();
        let mut a = lo;
        while a < hi {
            if g.ptes.contains_key(&a) {
                if let Some(r) = run.take() {
                    runs.push((r, a));
                }
                a += PAGE_SIZE;
                continue;
            }
            let frame = if a == page {
                g.new_frame(&v, a)?
            } else {
                match g.frame_around(&v, a) {
                    Some(f) => f,
                    None => {
                        if let Some(r) = run.take() {
                            runs.push((r, a));
                        }
                        a += PAGE_SIZE;
                        continue;
                    }
                }
            };
            let prot = host_prot(&v, Arc::strong_count(&frame) == 1);
            let off = frame.offset();
            g.ptes.insert(
                a,
                Pte {
                    frame,
                    host: Some(prot),
                },
            );
            run = match run {
                Some((s, o, p)) if p == prot && o + (a - s) == off => Some((s, o, p)),
                Some(r) => {
                    runs.push((r, a));
                    Some((a, off, prot))
                }
                None => Some((a, off, prot)),
            };
            a += PAGE_SIZE;
        }
        if let Some(r) = run.take() {
            runs.push((r, a));
        }
        for ((s, off, prot), end) in runs {
            host.map(s, end - s, prot, off)
                .map_err(|_| FaultError::Bus)?;
        }
        Ok(())
    }

    /// Copies application memory at `addr` into `buf`.
    pub fn copy_in(&self, addr: u64, buf: &mut [u8]) -> Result<(), Errno> {
        let mut g = self.lock();
        let mut done = 0usize;
        while done < buf.len() {
            let a = addr.checked_add(done as u64).ok_or(Errno::EFAULT)?;
            let page = page_down(a);
            let frame = g.frame_for_access(page)?;
            let off = page_offset(a);
            let n = (PAGE_USIZE - off).min(buf.len() - done);
            buf[done..done + n].copy_from_slice(&frame.bytes()[off..off + n]);
            done += n;
        }
        Ok(())
    }

    /// Copies `data` into application memory at `addr`.
    pub fn copy_out(&self, host: &mut dyn Context, addr: u64, data: &[u8]) -> Result<(), Errno> {
        let mut g = self.lock();
        let mut done = 0usize;
        while done < data.len() {
            let a = addr.checked_add(done as u64).ok_or(Errno::EFAULT)?;
            let page = page_down(a);
            let frame = g.frame_for_write(host, page)?;
            let off = page_offset(a);
            let n = (PAGE_USIZE - off).min(data.len() - done);
            frame.bytes_mut()[off..off + n].copy_from_slice(&data[done..done + n]);
            done += n;
        }
        Ok(())
    }

    /// Reads a NUL-terminated string of at most `max` bytes (without NUL).
    pub fn read_cstr(&self, addr: u64, max: usize) -> Result<Vec<u8>, Errno> {
        let mut g = self.lock();
        let mut out = Vec::new();
        let mut a = addr;
        loop {
            let page = page_down(a);
            let frame = g.frame_for_access(page)?;
            let bytes = frame.bytes();
            for &b in &bytes[page_offset(a)..] {
                if b == 0 {
                    return Ok(out);
                }
                if out.len() >= max {
                    return Err(Errno::ENAMETOOLONG);
                }
                out.push(b);
            }
            a = page.checked_add(PAGE_SIZE).ok_or(Errno::EFAULT)?;
        }
    }

    /// Whether `[addr, addr+len)` is mapped with at least `prot`.
    pub fn check_access(&self, addr: u64, len: u64, write: bool) -> bool {
        let g = self.lock();
        let Some(end) = addr.checked_add(len) else {
            return false;
        };
        let mut a = page_down(addr);
        while a < end {
            match g.vma_at(a) {
                Some(v) if !v.is_host() && v.prot != 0 && (!write || v.prot & PROT_WRITE != 0) => {
                    a = v.end
                }
                _ => return false,
            }
        }
        true
    }

    /// `/proc/PID/maps` text.
    pub fn maps(&self) -> String {
        let g = self.lock();
        let mut s = String::new();
        for v in g.vmas.values() {
            s.push_str(&v.maps_line());
        }
        s
    }

    /// Total mapped bytes and resident bytes (pages with a frame).
    pub fn usage(&self) -> (u64, u64) {
        let g = self.lock();
        let vm = g
            .vmas
            .values()
            .filter(|v| !v.is_host())
            .map(|v| v.end - v.start)
            .sum();
        let rss = g.ptes.len() as u64 * PAGE_SIZE;
        let at_exit = self.exit_rss.load(std::sync::atomic::Ordering::Relaxed);
        (vm, rss.max(at_exit))
    }

    /// Per mapping, for `/proc/PID/smaps`: its `maps` line, its size and
    /// its resident bytes (pages with a frame).
    pub fn smaps_usage(&self) -> Vec<(String, u64, u64)> {
        let g = self.lock();
        g.vmas
            .values()
            .map(|v| {
                let rss = g.ptes.range(v.start..v.end).count() as u64 * PAGE_SIZE;
                (v.maps_line(), v.end - v.start, rss)
            })
            .collect()
    }

    /// `prctl(PR_GET_DUMPABLE)`.
    pub fn dumpable(&self) -> bool {
        !self.not_dumpable.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn set_dumpable(&self, on: bool) {
        self.not_dumpable
            .store(!on, std::sync::atomic::Ordering::Relaxed);
    }

    /// mincore: for each page of `[addr, addr+len)` (page aligned), 1 if
    /// it has a frame, else 0. `ENOMEM` if any page is unmapped.
    pub fn residency(&self, addr: u64, len: u64) -> Result<Vec<u8>, Errno> {
        let g = self.lock();
        let end = addr.checked_add(len).ok_or(Errno::ENOMEM)?;
        let mut out = Vec::new();
        let mut a = addr;
        while a < end {
            if g.vma_at(a).is_none() {
                return Err(Errno::ENOMEM);
            }
            out.push(u8::from(g.ptes.contains_key(&a)));
            a += PAGE_SIZE;
        }
        Ok(out)
    }

    /// Drops every mapping without touching the host, for a process that
    /// has exited (its stub is about to go): its pages and the objects
    /// they map (SysV segments count attaches) are let go before the
    /// parent hears of the exit, as Linux's `exit_mm` does.
    pub fn release_on_exit(&self) {
        let mut g = self.lock();
        self.exit_rss.store(
            g.ptes.len() as u64 * PAGE_SIZE,
            std::sync::atomic::Ordering::Relaxed,
        );
        g.ptes.clear();
        g.vmas.retain(|_, v| v.is_host());
    }

    /// Copies of the VMAs that start in `[s, e)` (shmdt looks for its
    /// segment's pieces).
    pub fn vmas_in(&self, s: u64, e: u64) -> Vec<Vma> {
        if s >= e {
            return Vec::new();
        }
        self.lock()
            .vmas
            .range(s..e)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// Marks the shared mapping at `addr` as opened read-only: mprotect may
    /// not add PROT_WRITE to it.
    pub fn deny_shared_write(&self, addr: u64) {
        if let Some(v) = self.lock().vmas.get_mut(&addr) {
            v.may_write_shared = false;
        }
    }

    /// Writes into application memory regardless of protection (the
    /// loader zeroing the tail of a read-only segment).
    pub fn poke(&self, addr: u64, data: &[u8]) -> Result<(), Errno> {
        let mut g = self.lock();
        let mut done = 0usize;
        while done < data.len() {
            let a = addr.checked_add(done as u64).ok_or(Errno::EFAULT)?;
            let page = page_down(a);
            let v = g.vma_at(page).cloned().ok_or(Errno::EFAULT)?;
            let frame = g.frame_for_access(page)?;
            let frame = if !v.shared && Arc::strong_count(&frame) > 2 {
                let c = frame.duplicate()?;
                g.ptes.insert(
                    page,
                    Pte {
                        frame: c.clone(),
                        host: None,
                    },
                );
                c
            } else {
                frame
            };
            let off = page_offset(a);
            let n = (PAGE_USIZE - off).min(data.len() - done);
            frame.bytes_mut()[off..off + n].copy_from_slice(&data[done..done + n]);
            done += n;
        }
        Ok(())
    }

    /// A key identifying the memory at `addr` across address spaces
    /// (memory-file offset), for process-shared futexes; `None` for
    /// private memory, which Linux keys by address space and address even
    /// for shared futex ops (its page changes on a copy-on-write break,
    /// e.g. after fork, and a waiter must still be found).
    pub fn futex_key(&self, addr: u64) -> Result<Option<u64>, Errno> {
        let mut g = self.lock();
        let page = page_down(addr);
        let f = g.frame_for_access(page)?;
        if !g.vma_at(page).is_some_and(|v| v.shared) {
            return Ok(None);
        }
        Ok(Some(f.offset() + (addr - page)))
    }

    /// Where the stack VMA lives, for the loader.
    pub fn map_stack(&self, host: &mut dyn Context, size: u64) -> Result<u64, Errno> {
        let req = MapRequest {
            addr: STACK_TOP - size,
            len: size,
            prot: PROT_READ | PROT_WRITE,
            fixed: true,
            noreplace: false,
            shared: false,
            growsdown: true,
            kind: VmaKind::Stack,
            pgoff: 0,
        };
        self.mmap(host, req)
    }
}

/// What the host should map a page with: copy-on-write pages (private,
/// writable, not exclusively ours) lose write permission until copied.
fn host_prot(v: &Vma, exclusive: bool) -> i32 {
    if !v.shared && !exclusive {
        v.prot & !PROT_WRITE
    } else {
        v.prot
    }
}

impl Inner {
    fn vma_at(&self, a: u64) -> Option<&Vma> {
        self.vmas
            .range(..=a)
            .next_back()
            .map(|(_, v)| v)
            .filter(|v| a < v.end)
    }

    fn overlaps(&self, s: u64, e: u64) -> bool {
        self.vmas
            .range(..e)
            .next_back()
            .is_some_and(|(_, v)| v.end > s)
    }

    fn overlaps_host(&self, s: u64, e: u64) -> bool {
        self.vmas
            .range(..e)
            .rev()
            .take_while(|(_, v)| v.end > s)
            .any(|(_, v)| v.is_host())
    }

    fn fully_mapped(&self, s: u64, e: u64) -> bool {
        let mut a = s;
        while a < e {
            match self.vma_at(a) {
                Some(v) if !v.is_host() => a = v.end,
                _ => return false,
            }
        }
        true
    }

    fn mmap_ceiling(&self) -> u64 {
        platform::ptrace::APP_TOP
    }

    /// Top-down search for a free range of `len` bytes below mmap_base
    /// (or at `hint` if that is free).
    fn find_gap(&self, hint: u64, len: u64) -> Option<u64> {
        if hint >= MMAP_MIN {
            let h = page_down(hint);
            if let Some(e) = h.checked_add(len) {
                if e <= self.mmap_ceiling() && !self.overlaps(h, e) {
                    return Some(h);
                }
            }
        }
        let mut top = self.mmap_base;
        for (_, v) in self.vmas.range(..self.mmap_base).rev() {
            if v.end <= top && top - v.end >= len {
                return Some(top - len);
            }
            top = top.min(v.start);
        }
        (len.checked_add(MMAP_MIN).is_some_and(|need| top >= need)).then(|| top - len)
    }

    fn split_at(&mut self, a: u64) {
        let Some(v) = self.vma_at(a).cloned() else {
            return;
        };
        if v.start == a {
            return;
        }
        let mut hi = v.clone();
        hi.start = a;
        hi.pgoff = v.pgoff + (a - v.start) / PAGE_SIZE;
        if let Some(lo) = self.vmas.get_mut(&v.start) {
            lo.end = a;
        }
        self.vmas.insert(a, hi);
    }

    fn merge_around(&mut self, s: u64, e: u64) {
        let starts: Vec<u64> = self
            .vmas
            .range(..=e)
            .map(|(k, _)| *k)
            .filter(|k| *k + PAGE_SIZE >= s || *k >= s)
            .collect();
        for k in starts {
            let Some(v) = self.vmas.get(&k).cloned() else {
                continue;
            };
            if let Some(next) = self.vmas.get(&v.end).cloned() {
                if v.can_merge(&next) {
                    self.vmas.remove(&next.start);
                    if let Some(m) = self.vmas.get_mut(&k) {
                        m.end = next.end;
                    }
                }
            }
        }
    }

    fn unmap_range(&mut self, host: &mut dyn Context, s: u64, e: u64) -> Result<(), Errno> {
        if s >= e {
            return Ok(());
        }
        self.split_at(s);
        self.split_at(e);
        let starts: Vec<u64> = self.vmas.range(s..e).map(|(k, _)| *k).collect();
        for k in starts {
            self.vmas.remove(&k);
        }
        let pages: Vec<u64> = self.ptes.range(s..e).map(|(a, _)| *a).collect();
        let mut installed = false;
        for a in pages {
            if let Some(p) = self.ptes.remove(&a) {
                installed |= p.host.is_some();
            }
        }
        if installed {
            host.unmap(s, e - s).map_err(|_| Errno::ENOMEM)?;
        }
        Ok(())
    }

    /// Extends the growsdown VMA above `page` down to it, if the stack
    /// stays within `limit` bytes.
    fn grow_stack(&mut self, page: u64, limit: u64) -> Option<Vma> {
        let (_, v) = self.vmas.range(page..).next()?;
        if !v.growsdown || v.start - page > STACK_MAX || STACK_TOP - page > limit {
            return None;
        }
        if self.vma_at(page).is_some() {
            return None;
        }
        let mut nv = self.vmas.remove(&v.start.clone())?;
        nv.start = page;
        self.vmas.insert(page, nv.clone());
        Some(nv)
    }

    /// The frame that backs a not-yet-populated page `a` of `v`.
    fn new_frame(&self, v: &Vma, a: u64) -> Result<Arc<Frame>, FaultError> {
        let idx = v.pgoff + (a - v.start) / PAGE_SIZE;
        match &v.kind {
            VmaKind::File(obj) | VmaKind::Shm(obj) => {
                // Private writable file pages start as a shared view of the
                // page cache; host_prot keeps them read-only until the first
                // write copies them.
                obj.frame(idx).map_err(|_| FaultError::Bus)
            }
            _ => memfile().alloc_one().map_err(|_| FaultError::Bus),
        }
    }

    /// The frame fault-around installs at the not-yet-populated page `a`
    /// of `v` besides the faulting page, if any.
    fn frame_around(&self, v: &Vma, a: u64) -> Option<Arc<Frame>> {
        let idx = v.pgoff + (a - v.start) / PAGE_SIZE;
        match &v.kind {
            VmaKind::File(obj) | VmaKind::Shm(obj) => obj.frame_around(idx),
            _ => memfile().alloc_one().ok(),
        }
    }

    /// The frame for a sentry read of page `a` (populating it if needed).
    fn frame_for_access(&mut self, a: u64) -> Result<Arc<Frame>, Errno> {
        let v = self.vma_at(a).cloned().ok_or(Errno::EFAULT)?;
        if v.is_host() || v.prot == libc::PROT_NONE {
            return Err(Errno::EFAULT);
        }
        if let Some(p) = self.ptes.get(&a) {
            return Ok(p.frame.clone());
        }
        let f = self.new_frame(&v, a).map_err(|_| Errno::EFAULT)?;
        self.ptes.insert(
            a,
            Pte {
                frame: f.clone(),
                host: None,
            },
        );
        Ok(f)
    }

    /// The frame for a sentry write of page `a`, breaking copy-on-write.
    fn frame_for_write(&mut self, host: &mut dyn Context, a: u64) -> Result<Arc<Frame>, Errno> {
        let v = self.vma_at(a).cloned().ok_or(Errno::EFAULT)?;
        if v.is_host() || v.prot & PROT_WRITE == 0 {
            return Err(Errno::EFAULT);
        }
        let f = self.frame_for_access(a)?;
        if v.shared || Arc::strong_count(&f) <= 2 {
            return Ok(f);
        }
        let copy = f.duplicate()?;
        let installed = self.ptes.get(&a).and_then(|p| p.host).is_some();
        if installed {
            host.map(a, PAGE_SIZE, v.prot, copy.offset())
                .map_err(|_| Errno::EFAULT)?;
        }
        self.ptes.insert(
            a,
            Pte {
                frame: copy.clone(),
                host: installed.then_some(v.prot),
            },
        );
        Ok(copy)
    }
}
