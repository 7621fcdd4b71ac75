//! Signal frames: what the application's stack holds while a handler runs.
//!
//! The layout is the x86-64 kernel's `rt_sigframe`: return address (the
//! handler's `sa_restorer`), `ucontext` (with `sigcontext` and the mask),
//! `siginfo`, and the thread's XSAVE state further up the stack.

use nix::errno::Errno;
use platform::{Context, FpState};

use super::ctx::TaskCtx;
use super::signal::{SigAction, SigInfo, SigSet, SA_ONSTACK, SA_RESTORER, SA_SIGINFO};
use super::task::lock;

const UC_SIZE: u64 = 304;
const UC_LEN: usize = 304;
const FRAME_LEN: usize = 8 + UC_LEN + 128;
const FRAME_SIZE: u64 = 8 + UC_SIZE + 128;
const MCONTEXT: usize = 40;
const SIGMASK: usize = 296;
const REDZONE: u64 = 128;
/// EFLAGS bits a signal handler may change on return (the kernel's FIX_EFLAGS).
const FIX_EFLAGS: u64 = 0x0004_0dd5 | 0x0001_0000;
const SS_ONSTACK: i32 = 1;

fn put(buf: &mut [u8], off: usize, v: u64) {
    buf[off..off + 8].copy_from_slice(&v.to_ne_bytes());
}

fn get(buf: &[u8], off: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&buf[off..off + 8]);
    u64::from_ne_bytes(b)
}

/// Whether `sp` lies on the thread's alternate signal stack.
pub fn on_altstack(t: &TaskCtx, sp: u64) -> bool {
    let (ss_sp, flags, size) = *lock(&t.task.sigaltstack);
    flags & libc::SS_DISABLE == 0 && sp > ss_sp && sp - ss_sp <= size
}

/// Builds a frame for `sig` and points the thread at its handler.
pub fn setup(
    t: &mut TaskCtx,
    info: &SigInfo,
    act: &SigAction,
    old_mask: SigSet,
) -> Result<(), Errno> {
    if act.flags & SA_RESTORER == 0 {
        return Err(Errno::EFAULT);
    }
    let fp = t.ctx.fp_state().map_err(|_| Errno::EFAULT)?;
    let regs = *t.ctx.regs();
    let (ss_sp, ss_flags, ss_size) = *lock(&t.task.sigaltstack);
    let mut sp = regs.rsp;
    let use_alt =
        act.flags & SA_ONSTACK != 0 && ss_flags & libc::SS_DISABLE == 0 && !on_altstack(t, sp);
    if use_alt {
        sp = ss_sp.wrapping_add(ss_size);
    } else {
        sp = sp.wrapping_sub(REDZONE);
    }
    let fp_bytes = fp.as_bytes();
    sp = sp.wrapping_sub(fp_bytes.len() as u64) & !63;
    let fp_addr = sp;
    sp = (sp.wrapping_sub(FRAME_SIZE) & !15).wrapping_sub(8);
    // A frame that does not fit on the alternate stack is a fault, as on
    // Linux; writing below the stack would corrupt the application.
    if use_alt && sp < ss_sp {
        return Err(Errno::EFAULT);
    }

    let mut f = vec![0u8; FRAME_LEN];
    put(&mut f, 0, act.restorer);
    let uc = 8usize;
    put(&mut f, uc, 0x6); // UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS
    put(&mut f, uc + 16, ss_sp);
    let cur_flags = if on_altstack(t, regs.rsp) {
        SS_ONSTACK
    } else {
        ss_flags
    };
    #[allow(clippy::cast_sign_loss, reason = "ss_flags is a small bit set")]
    put(&mut f, uc + 24, cur_flags as u64);
    put(&mut f, uc + 32, ss_size);
    let m = uc + MCONTEXT;
    let gregs = [
        regs.r8,
        regs.r9,
        regs.r10,
        regs.r11,
        regs.r12,
        regs.r13,
        regs.r14,
        regs.r15,
        regs.rdi,
        regs.rsi,
        regs.rbp,
        regs.rbx,
        regs.rdx,
        regs.rax,
        regs.rcx,
        regs.rsp,
        regs.rip,
        regs.eflags,
    ];
    for (i, g) in gregs.iter().enumerate() {
        put(&mut f, m + i * 8, *g);
    }
    let segs = (regs.cs & 0xffff)
        | (regs.gs & 0xffff) << 16
        | (regs.fs & 0xffff) << 32
        | (regs.ss & 0xffff) << 48;
    put(&mut f, m + 144, segs);
    let is_fault = matches!(info.signo, libc::SIGSEGV | libc::SIGBUS) && info.code > 0;
    put(&mut f, m + 160, if is_fault { 14 } else { 0 }); // trapno: page fault
    put(&mut f, m + 168, old_mask.0);
    put(&mut f, m + 176, if is_fault { info.addr } else { 0 });
    put(&mut f, m + 184, fp_addr);
    put(&mut f, uc + SIGMASK, old_mask.0);
    f[8 + UC_LEN..].copy_from_slice(&info.to_bytes());

    t.copy_out(fp_addr, fp_bytes)?;
    t.copy_out(sp, &f)?;

    let r = t.ctx.regs_mut();
    r.rsp = sp;
    r.rip = act.handler;
    #[allow(clippy::cast_sign_loss, reason = "signal numbers are positive")]
    {
        r.rdi = info.signo as u64;
    }
    r.rsi = sp + 8 + UC_SIZE;
    r.rdx = sp + 8;
    r.rax = 0;
    // Handlers start with DF and TF clear.
    r.eflags &= !(0x400 | 0x100);
    let _ = act.flags & SA_SIGINFO;
    Ok(())
}

/// rt_sigreturn: restores what [`setup`] saved. Returns the restored mask.
pub fn restore(t: &mut TaskCtx) -> Result<SigSet, Errno> {
    let uc_addr = t.ctx.regs().rsp;
    let uc = t.copy_in_vec(uc_addr, UC_LEN)?;
    let m = MCONTEXT;
    let fp_addr = get(&uc, m + 184);
    if fp_addr != 0 {
        let len = t
            .ctx
            .fp_state()
            .map_err(|_| Errno::EFAULT)?
            .as_bytes()
            .len();
        let bytes = t.copy_in_vec(fp_addr, len)?;
        t.ctx
            .set_fp_state(&FpState::from_bytes(bytes))
            .map_err(|_| Errno::EFAULT)?;
    }
    let r = t.ctx.regs_mut();
    let g = |i: usize| get(&uc, m + i * 8);
    tracing::debug!("sigreturn to rip {:#x} rsp {:#x}", g(16), g(15));
    r.r8 = g(0);
    r.r9 = g(1);
    r.r10 = g(2);
    r.r11 = g(3);
    r.r12 = g(4);
    r.r13 = g(5);
    r.r14 = g(6);
    r.r15 = g(7);
    r.rdi = g(8);
    r.rsi = g(9);
    r.rbp = g(10);
    r.rbx = g(11);
    r.rdx = g(12);
    r.rax = g(13);
    r.rcx = g(14);
    r.rsp = g(15);
    r.rip = g(16);
    r.eflags = (r.eflags & !FIX_EFLAGS) | (g(17) & FIX_EFLAGS);
    // Not a syscall any more: nothing to restart.
    r.orig_rax = u64::MAX;
    Ok(SigSet(get(&uc, SIGMASK)).sanitized())
}
