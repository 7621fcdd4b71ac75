//! The seccomp filter every stub runs under.
//!
//! Application system calls never reach it: under PTRACE_SYSEMU the kernel
//! reports them to the tracer and skips them before seccomp runs. The filter
//! is the second wall: should a thread ever run untraced, any system call
//! that is not issued from the stub's own code page, or that is not one of
//! the few the platform injects, kills the whole stub. seccompiler cannot
//! match on the instruction pointer, hence the hand-built program.

use super::stub::STUB_BASE;

const PAGE: u32 = 4096;
const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
const OFF_NR: u32 = 0;
const OFF_ARCH: u32 = 4;
const OFF_IP_LO: u32 = 8;
const OFF_IP_HI: u32 = 12;
/// Offset of the low half of args[4] (mmap's fd).
const OFF_ARG4_LO: u32 = 16 + 4 * 8;
/// Offset of the low half of args[0] (prctl's option, an int).
const OFF_ARG0_LO: u32 = 16;
/// The one prctl a stub may make: PR_SET_PDEATHSIG. A stub's leader
/// thread drops the death signal it asked for at start-up before it exits
/// ahead of the other threads, since its tracer (the sentry thread that
/// forked the stub) then ends too.
const PR_SET_PDEATHSIG: u32 = 1;

/// Host system calls a stub may make, each with why.
const STUB_SYSCALLS: &[(i64, &str)] = &[
    (libc::SYS_munmap, "unmap application memory"),
    (
        libc::SYS_mprotect,
        "change protection of application memory",
    ),
    (libc::SYS_getpid, "the stub's start-up stop"),
    (libc::SYS_kill, "the stub's start-up stop"),
    (libc::SYS_exit, "thread exit"),
    (libc::SYS_exit_group, "stub exit"),
    (libc::SYS_clone, "new application threads in the stub"),
    (libc::SYS_pause, "a new thread waiting for its tracer"),
];

/// BPF opcodes are 16-bit; libc spells their parts as u32 constants.
#[allow(clippy::cast_possible_truncation, reason = "BPF opcodes fit 16 bits")]
fn op(code: u32) -> u16 {
    code as u16
}

fn stmt(code: u32, k: u32) -> libc::sock_filter {
    libc::sock_filter {
        code: op(code),
        jt: 0,
        jf: 0,
        k,
    }
}

fn jump(code: u32, k: u32, jt: u8, jf: u8) -> libc::sock_filter {
    libc::sock_filter {
        code: op(code),
        jt,
        jf,
        k,
    }
}

/// Builds the stub filter for a memory file at host fd `memfd`.
pub fn stub_filter(memfd: i32) -> Vec<libc::sock_filter> {
    use libc::{BPF_ABS, BPF_JEQ, BPF_JGE, BPF_JMP, BPF_K, BPF_LD, BPF_RET, BPF_W};
    let ld = BPF_LD | BPF_W | BPF_ABS;
    let jeq = BPF_JMP | BPF_JEQ | BPF_K;
    let jge = BPF_JMP | BPF_JGE | BPF_K;
    let ret = BPF_RET | BPF_K;
    #[allow(
        clippy::cast_possible_truncation,
        reason = "splitting a 64-bit address into halves"
    )]
    let (base_lo, base_hi) = (STUB_BASE as u32, (STUB_BASE >> 32) as u32);
    #[allow(clippy::cast_sign_loss, reason = "fds are non-negative")]
    let memfd = memfd as u32;
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "syscall numbers are small"
    )]
    let nr = |n: i64| n as u32;

    // Jump offsets are relative to the next instruction; KILL and ALLOW are
    // the last two instructions, so offsets are computed from the end.
    let mut p = vec![
        stmt(ld, OFF_ARCH),
        jump(jeq, AUDIT_ARCH_X86_64, 0, 0), // patched: jf -> KILL
        stmt(ld, OFF_IP_HI),
        jump(jeq, base_hi, 0, 0), // patched
        stmt(ld, OFF_IP_LO),
        jump(jge, base_lo, 0, 0),        // patched
        jump(jge, base_lo + PAGE, 0, 0), // patched: jt -> KILL
        stmt(ld, OFF_NR),
        jump(jeq, nr(libc::SYS_mmap), 0, 0), // patched: jf -> next check, jt -> fd check
        jump(jeq, nr(libc::SYS_prctl), 0, 0), // patched: jt -> option check
    ];
    let prctl_idx = p.len() - 1;
    let mmap_idx = prctl_idx - 1;
    for (n, _why) in STUB_SYSCALLS {
        p.push(jump(jeq, nr(*n), 0, 0)); // patched: jt -> ALLOW
    }
    p.push(stmt(ret, libc::SECCOMP_RET_KILL_PROCESS)); // after all numbers: kill
    let fd_check = p.len();
    p.push(stmt(ld, OFF_ARG4_LO));
    p.push(jump(jeq, memfd, 0, 0)); // patched: jt -> ALLOW, jf -> KILL
    let prctl_check = p.len();
    p.push(stmt(ld, OFF_ARG0_LO));
    p.push(jump(jeq, PR_SET_PDEATHSIG, 0, 0)); // patched: jt -> ALLOW, jf -> KILL
    let kill = p.len();
    p.push(stmt(ret, libc::SECCOMP_RET_KILL_PROCESS));
    let allow = p.len();
    p.push(stmt(ret, libc::SECCOMP_RET_ALLOW));

    let rel = |from: usize, to: usize| -> u8 { u8::try_from(to - from - 1).unwrap_or(0) };
    p[1].jf = rel(1, kill);
    p[3].jf = rel(3, kill);
    p[5].jf = rel(5, kill);
    p[6].jt = rel(6, kill);
    p[mmap_idx].jt = rel(mmap_idx, fd_check);
    p[prctl_idx].jt = rel(prctl_idx, prctl_check);
    for (i, insn) in p
        .iter_mut()
        .enumerate()
        .skip(prctl_idx + 1)
        .take(STUB_SYSCALLS.len())
    {
        insn.jt = rel(i, allow);
    }
    p[fd_check + 1].jt = rel(fd_check + 1, allow);
    p[fd_check + 1].jf = rel(fd_check + 1, kill);
    p[prctl_check + 1].jt = rel(prctl_check + 1, allow);
    p[prctl_check + 1].jf = rel(prctl_check + 1, kill);
    p
}
