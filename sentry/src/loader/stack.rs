//! The initial stack: argc, argv, envp, the auxiliary vector and the
//! strings they point to, laid out as the x86-64 ABI and glibc expect.

use std::sync::Arc;

use nix::errno::Errno;

use crate::kernel::ctx::TaskCtx;
use crate::kernel::task::Creds;
use crate::mm::{MemoryManager, STACK_TOP};

const AT_NULL: u64 = 0;
const AT_PHDR: u64 = 3;
const AT_PHENT: u64 = 4;
const AT_PHNUM: u64 = 5;
const AT_PAGESZ: u64 = 6;
const AT_BASE: u64 = 7;
const AT_FLAGS: u64 = 8;
const AT_ENTRY: u64 = 9;
const AT_UID: u64 = 11;
const AT_EUID: u64 = 12;
const AT_GID: u64 = 13;
const AT_EGID: u64 = 14;
const AT_PLATFORM: u64 = 15;
const AT_HWCAP: u64 = 16;
const AT_CLKTCK: u64 = 17;
const AT_SECURE: u64 = 23;
const AT_RANDOM: u64 = 25;
const AT_HWCAP2: u64 = 26;
const AT_EXECFN: u64 = 31;
const AT_SYSINFO_EHDR: u64 = 33;
const AT_MINSIGSTKSZ: u64 = 51;

/// Initial stack size; the VMA grows down on demand from there.
const STACK_INITIAL: u64 = 128 << 10;

#[derive(Debug)]
pub struct StackInfo<'a> {
    pub argv: &'a [Vec<u8>],
    pub envp: &'a [Vec<u8>],
    pub execfn: &'a [u8],
    pub phdr: u64,
    pub phnum: u16,
    pub entry: u64,
    pub interp_base: u64,
    pub vdso: Option<u64>,
    pub creds: Creds,
    pub exec_stack: bool,
    /// The program runs with other ids than its caller (AT_SECURE).
    pub secure: bool,
}

#[derive(Debug)]
pub struct StackLayout {
    pub sp: u64,
    pub arg_start: u64,
    pub arg_end: u64,
    pub env_start: u64,
    pub env_end: u64,
    pub auxv: Vec<(u64, u64)>,
}

pub fn build_stack(
    t: &mut TaskCtx,
    mm: &Arc<MemoryManager>,
    info: &StackInfo<'_>,
) -> Result<StackLayout, Errno> {
    let strings: usize = info
        .argv
        .iter()
        .chain(info.envp)
        .map(|s| s.len() + 1)
        .sum::<usize>()
        + info.execfn.len()
        + 1;
    let size = (STACK_INITIAL).max(u64::try_from(strings).map_err(|_| Errno::E2BIG)? * 2 + 65536);
    if size > (8 << 20) / 4 * 3 + STACK_INITIAL {
        return Err(Errno::E2BIG);
    }
    mm.map_stack(&mut t.ctx, size)?;
    if info.exec_stack {
        // Executable stacks are honoured: the VMA keeps PROT_EXEC.
        mm.mprotect(
            &mut t.ctx,
            STACK_TOP - size,
            size,
            libc::PROT_READ | libc::PROT_WRITE | libc::PROT_EXEC,
        )?;
    }
    let mut sp = STACK_TOP - 8;
    fn push_str(t: &mut TaskCtx, sp: &mut u64, s: &[u8]) -> Result<u64, Errno> {
        *sp -= s.len() as u64 + 1;
        let mut b = s.to_vec();
        b.push(0);
        t.copy_out(*sp, &b)?;
        Ok(*sp)
    }
    let execfn = push_str(t, &mut sp, info.execfn)?;
    let env_end = sp;
    let mut envs = Vec::new();
    for e in info.envp.iter().rev() {
        envs.push(push_str(t, &mut sp, e)?);
    }
    envs.reverse();
    let env_start = sp;
    let arg_end = sp;
    let mut args = Vec::new();
    for a in info.argv.iter().rev() {
        args.push(push_str(t, &mut sp, a)?);
    }
    args.reverse();
    let arg_start = sp;
    let platform = push_str(t, &mut sp, b"x86_64")?;
    sp &= !15;
    sp -= 16;
    let mut random = [0u8; 16];
    crate::syscalls::info::fill_random(&mut random);
    t.copy_out(sp, &random)?;
    let random_addr = sp;

    // SAFETY: getauxval has no preconditions.
    let (hwcap, hwcap2, minsigstksz) = unsafe {
        (
            libc::getauxval(libc::AT_HWCAP),
            libc::getauxval(AT_HWCAP2),
            libc::getauxval(AT_MINSIGSTKSZ),
        )
    };
    let mut auxv = vec![
        (AT_PHDR, info.phdr),
        (AT_PHENT, 56),
        (AT_PHNUM, u64::from(info.phnum)),
        (AT_PAGESZ, 4096),
        (AT_BASE, info.interp_base),
        (AT_FLAGS, 0),
        (AT_ENTRY, info.entry),
        (AT_UID, u64::from(info.creds.uid)),
        (AT_EUID, u64::from(info.creds.euid)),
        (AT_GID, u64::from(info.creds.gid)),
        (AT_EGID, u64::from(info.creds.egid)),
        (AT_SECURE, u64::from(info.secure)),
        (AT_RANDOM, random_addr),
        (AT_HWCAP, hwcap),
        (AT_HWCAP2, hwcap2),
        (AT_CLKTCK, 100),
        (AT_PLATFORM, platform),
        (AT_EXECFN, execfn),
        // Signal frames carry the host's full XSAVE area, as Linux's do.
        (AT_MINSIGSTKSZ, minsigstksz.max(2048)),
    ];
    if let Some(v) = info.vdso {
        auxv.insert(0, (AT_SYSINFO_EHDR, v));
    }
    auxv.push((AT_NULL, 0));

    let words = 1 + args.len() + 1 + envs.len() + 1 + auxv.len() * 2;
    sp -= words as u64 * 8;
    sp &= !15;
    let mut v: Vec<u64> = Vec::with_capacity(words);
    v.push(args.len() as u64);
    v.extend(&args);
    v.push(0);
    v.extend(&envs);
    v.push(0);
    for (k, val) in &auxv {
        v.push(*k);
        v.push(*val);
    }
    let bytes: Vec<u8> = v.iter().flat_map(|w| w.to_ne_bytes()).collect();
    t.copy_out(sp, &bytes)?;
    Ok(StackLayout {
        sp,
        arg_start,
        arg_end,
        env_start,
        env_end,
        auxv,
    })
}
