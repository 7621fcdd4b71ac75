//! Stub processes: the host processes application code runs in.
//!
//! A stub is born by forking the sentry thread that will trace it. The child
//! runs only the position-independent code below, copied to a fixed page:
//! it asks to die with its parent thread, becomes traced, stops once so the
//! tracer can tell it which rseq registration to undo, closes every fd but
//! the memory file, unmaps everything except its own two pages and the host
//! vDSO, installs a seccomp filter that kills any system call not issued from
//! its code page, and stops. From then on the tracer makes it execute
//! system calls by pointing its registers at `rvisor_stub_gadget`.

use std::arch::global_asm;

use crate::PlatformError;

/// Where the stub's code page is mapped, in the sentry and in every stub.
/// Applications can never map at or above it.
pub const STUB_BASE: u64 = 0x7fff_fffe_0000;
/// Code page plus data page.
pub const STUB_SIZE: u64 = 0x2000;
/// The highest address (exclusive) applications may use.
pub const APP_TOP: u64 = STUB_BASE;
/// The top of the x86-64 user address space with 4-level paging.
const TASK_SIZE: u64 = 0x7fff_ffff_f000;
const PAGE: u64 = 4096;
const PAGE_USIZE: usize = 4096;
const STUB_SIZE_USIZE: usize = 0x2000;

/// Layout of the data page (offsets from `STUB_BASE + PAGE`).
const DATA_MEMFD: usize = 0;
const DATA_NRANGES: usize = 8;
const DATA_FPROG: usize = 16;
const DATA_RANGES: usize = 32;
const MAX_RANGES: usize = 40;
/// rseq registration to undo: address, length, signature (one u64 each).
pub(super) const DATA_RSEQ: u64 = 0x3e0;
const DATA_FILTER: usize = 0x400;
const MAX_FILTER: usize = (0xc00 - DATA_FILTER) / 8;

global_asm!(
    ".pushsection .text.rvisor_stub,\"ax\",@progbits",
    ".p2align 12",
    ".globl rvisor_stub_start",
    // kill(getpid(), SIGSTOP): each stop where the tracer steps in.
    ".macro rvisor_stub_stop_self",
    "mov eax, 39",
    "syscall",
    "mov edi, eax",
    "mov esi, 19",
    "mov eax, 62",
    "syscall",
    ".endm",
    "rvisor_stub_start:",
    "lea r12, [rip + rvisor_stub_start]",
    "add r12, 0x1000",
    "lea rsp, [r12 + 0x1000]",
    // prctl(PR_SET_PDEATHSIG, SIGKILL)
    "mov eax, 157",
    "mov edi, 1",
    "mov esi, 9",
    "syscall",
    // ptrace(PTRACE_TRACEME)
    "mov eax, 101",
    "xor edi, edi",
    "xor esi, esi",
    "xor edx, edx",
    "xor r10d, r10d",
    "syscall",
    "test rax, rax",
    "jnz 9f",
    // First stop: the tracer writes our inherited rseq registration into
    // the data page, so that it can be undone before its memory goes away
    // (the kernel would otherwise SIGSEGV us on the next return to user).
    "rvisor_stub_stop_self",
    "mov rdi, [r12 + 0x3e0]",
    "test rdi, rdi",
    "jz 5f",
    "mov esi, [r12 + 0x3e8]",
    "mov edx, 1",
    "mov r10d, [r12 + 0x3f0]",
    "mov eax, 334",
    "syscall",
    "5:",
    // close_range(0, memfd - 1, 0) and close_range(memfd + 1, ~0, 0)
    "mov r13, [r12]",
    "test r13, r13",
    "jz 4f",
    "mov eax, 436",
    "xor edi, edi",
    "lea rsi, [r13 - 1]",
    "xor edx, edx",
    "syscall",
    "4:",
    "mov eax, 436",
    "lea rdi, [r13 + 1]",
    "mov esi, 0xffffffff",
    "xor edx, edx",
    "syscall",
    // munmap every range listed in the data page
    "mov r14, [r12 + 8]",
    "lea r15, [r12 + 32]",
    "2:",
    "test r14, r14",
    "jz 3f",
    "mov eax, 11",
    "mov rdi, [r15]",
    "mov rsi, [r15 + 8]",
    "syscall",
    "add r15, 16",
    "dec r14",
    "jmp 2b",
    "3:",
    // prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    "mov eax, 157",
    "mov edi, 38",
    "mov esi, 1",
    "xor edx, edx",
    "xor r10d, r10d",
    "xor r8d, r8d",
    "syscall",
    // seccomp(SECCOMP_SET_MODE_FILTER, 0, &fprog)
    "mov eax, 317",
    "mov edi, 1",
    "xor esi, esi",
    "lea rdx, [r12 + 16]",
    "syscall",
    "test rax, rax",
    "jnz 9f",
    // The tracer takes over from here.
    "rvisor_stub_stop_self",
    ".globl rvisor_stub_gadget",
    "rvisor_stub_gadget:",
    "syscall",
    "int3",
    "jmp rvisor_stub_gadget",
    // Thread creation: the parent traps back to its tracer; the new thread
    // (rax == 0) waits untraced until its own tracer seizes it.
    ".globl rvisor_stub_clone",
    "rvisor_stub_clone:",
    "syscall",
    "test rax, rax",
    "jz 6f",
    "int3",
    "jmp rvisor_stub_gadget",
    "6:",
    "mov eax, 34",
    "syscall",
    "jmp 6b",
    "9:",
    "mov eax, 231",
    "mov edi, 120",
    "syscall",
    "ud2",
    ".globl rvisor_stub_end",
    "rvisor_stub_end:",
    ".purgem rvisor_stub_stop_self",
    ".popsection",
);

extern "C" {
    static rvisor_stub_start: u8;
    static rvisor_stub_gadget: u8;
    static rvisor_stub_clone: u8;
    static rvisor_stub_end: u8;
}

/// Address of the stub's data page.
pub(super) const DATA_PAGE: u64 = STUB_BASE + PAGE;

/// Address of the `syscall; int3` gadget inside the installed stub page.
pub fn gadget_addr() -> u64 {
    let start = std::ptr::addr_of!(rvisor_stub_start) as u64;
    let gadget = std::ptr::addr_of!(rvisor_stub_gadget) as u64;
    STUB_BASE + (gadget - start)
}

/// Address of the thread-creating `clone` gadget inside the stub page.
pub fn clone_gadget_addr() -> u64 {
    let start = std::ptr::addr_of!(rvisor_stub_start) as u64;
    let gadget = std::ptr::addr_of!(rvisor_stub_clone) as u64;
    STUB_BASE + (gadget - start)
}

/// Host ranges that every stub keeps: the host vDSO and its data pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptRange {
    pub start: u64,
    pub end: u64,
    pub name: String,
}

/// Reads the sentry's own vDSO/vvar ranges; stubs inherit them at fork.
pub fn host_vdso_ranges() -> Result<Vec<KeptRange>, PlatformError> {
    let maps = std::fs::read_to_string("/proc/self/maps")
        .map_err(|e| PlatformError::Setup(format!("read /proc/self/maps: {e}")))?;
    let mut out = Vec::new();
    for line in maps.lines() {
        let name = line.split_whitespace().nth(5).unwrap_or("");
        if !(name.starts_with("[vdso") || name.starts_with("[vvar")) {
            continue;
        }
        let range = line.split_whitespace().next().unwrap_or("");
        let mut it = range.split('-');
        let (Some(a), Some(b)) = (it.next(), it.next()) else {
            continue;
        };
        let parse =
            |s: &str| u64::from_str_radix(s, 16).map_err(|e| PlatformError::Setup(e.to_string()));
        out.push(KeptRange {
            start: parse(a)?,
            end: parse(b)?,
            name: name.to_string(),
        });
    }
    out.sort_by_key(|r| r.start);
    Ok(out)
}

/// Maps and fills the stub's code and data pages in the sentry, at
/// `STUB_BASE`, so that forks of the sentry carry them.
pub fn install(
    memfd: i32,
    kept: &[KeptRange],
    filter: &[libc::sock_filter],
) -> Result<(), PlatformError> {
    if filter.len() > MAX_FILTER {
        return Err(PlatformError::Setup("stub filter too long".into()));
    }
    // SAFETY: maps two fresh pages at a fixed address that nothing else
    // uses (MAP_FIXED_NOREPLACE fails instead of replacing a mapping).
    let base = unsafe {
        libc::mmap(
            STUB_BASE as *mut libc::c_void,
            STUB_SIZE_USIZE,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED_NOREPLACE,
            -1,
            0,
        )
    };
    if base as u64 != STUB_BASE {
        return Err(PlatformError::Setup(format!(
            "cannot map stub pages at {STUB_BASE:#x}"
        )));
    }
    // SAFETY: the symbols delimit the stub code emitted by global_asm.
    let code = unsafe {
        let start = std::ptr::addr_of!(rvisor_stub_start);
        let end = std::ptr::addr_of!(rvisor_stub_end);
        std::slice::from_raw_parts(start, end as usize - start as usize)
    };
    if code.len() as u64 > PAGE {
        return Err(PlatformError::Setup("stub code larger than a page".into()));
    }
    let ranges = unmap_ranges(kept);
    if ranges.len() > MAX_RANGES {
        return Err(PlatformError::Setup(
            "too many host ranges to unmap in stubs".into(),
        ));
    }
    // SAFETY: the two pages were just mapped read-write at STUB_BASE and are
    // exclusively ours; all writes stay inside them (lengths checked above).
    unsafe {
        std::ptr::copy_nonoverlapping(code.as_ptr(), STUB_BASE as *mut u8, code.len());
        let data = (STUB_BASE + PAGE) as *mut u8;
        let put = |off: usize, v: u64| (data.add(off) as *mut u64).write(v);
        put(
            DATA_MEMFD,
            u64::try_from(memfd).map_err(|_| PlatformError::Setup("bad memfd".into()))?,
        );
        put(DATA_NRANGES, ranges.len() as u64);
        for (i, (s, l)) in ranges.iter().enumerate() {
            put(DATA_RANGES + i * 16, *s);
            put(DATA_RANGES + i * 16 + 8, *l);
        }
        let fdst = data.add(DATA_FILTER) as *mut libc::sock_filter;
        std::ptr::copy_nonoverlapping(filter.as_ptr(), fdst, filter.len());
        let prog = data.add(DATA_FPROG) as *mut libc::sock_fprog;
        prog.write(libc::sock_fprog {
            len: u16::try_from(filter.len()).unwrap_or(0),
            filter: fdst,
        });
        if libc::mprotect(
            STUB_BASE as *mut libc::c_void,
            PAGE_USIZE,
            libc::PROT_READ | libc::PROT_EXEC,
        ) != 0
        {
            return Err(PlatformError::Setup("mprotect stub code".into()));
        }
    }
    Ok(())
}

/// Everything a stub unmaps: all of user space except the stub pages and
/// the kept host ranges.
fn unmap_ranges(kept: &[KeptRange]) -> Vec<(u64, u64)> {
    let mut keep: Vec<(u64, u64)> = kept.iter().map(|k| (k.start, k.end)).collect();
    keep.push((STUB_BASE, STUB_BASE + STUB_SIZE));
    keep.sort();
    let mut out = Vec::new();
    let mut cur = 0u64;
    for (s, e) in keep {
        if s > cur {
            out.push((cur, s - cur));
        }
        cur = cur.max(e);
    }
    if cur < TASK_SIZE {
        out.push((cur, TASK_SIZE - cur));
    }
    out
}

/// Forks the calling thread into a new stub. The child never returns into
/// Rust code: it jumps straight to the stub code. Returns the child's pid.
pub fn fork_stub() -> Result<i32, PlatformError> {
    let ret: i64;
    // SAFETY: a raw fork. In the child (rax == 0) the asm switches to the
    // stub's own stack and jumps into the stub page without touching any
    // Rust state, so no lock or allocator state of the multi-threaded parent
    // is used after the fork. The parent only gets the return value.
    unsafe {
        std::arch::asm!(
            "syscall",
            "test rax, rax",
            "jnz 2f",
            "mov rsp, r13",
            "jmp r12",
            "2:",
            inlateout("rax") libc::SYS_fork => ret,
            in("r12") STUB_BASE,
            in("r13") STUB_BASE + STUB_SIZE,
            lateout("rcx") _,
            lateout("r11") _,
        );
    }
    if ret < 0 {
        return Err(PlatformError::host(
            "fork stub",
            nix::errno::Errno::from_raw(i32::try_from(-ret).unwrap_or(libc::EINVAL)),
        ));
    }
    i32::try_from(ret).map_err(|_| PlatformError::Setup("fork returned a bad pid".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unmap_ranges_cover_everything_but_kept() {
        let kept = vec![KeptRange {
            start: 0x7fff_f000_0000,
            end: 0x7fff_f000_2000,
            name: "[vdso]".into(),
        }];
        let r = unmap_ranges(&kept);
        assert_eq!(r[0], (0, 0x7fff_f000_0000));
        assert_eq!(r[1], (0x7fff_f000_2000, STUB_BASE - 0x7fff_f000_2000));
        assert_eq!(
            r[2],
            (STUB_BASE + STUB_SIZE, TASK_SIZE - STUB_BASE - STUB_SIZE)
        );
    }
}
