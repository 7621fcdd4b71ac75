//! Signal system calls.

use std::sync::Arc;
use std::time::Instant;

use nix::errno::Errno;

use super::{ok, Args, SysResult, SyscallReturn};
use crate::kernel::ctx::TaskCtx;
use crate::kernel::run::send_to_group;
use crate::kernel::sigframe;
use crate::kernel::signal::{
    default_action, DefaultAction, SigAction, SigInfo, SigSet, NSIG, SIG_DFL, SIG_IGN, SI_TKILL,
    SI_USER,
};
use crate::kernel::task::{kernel, lock, Task, ThreadGroup};

fn check_sigsetsize(a: &Args, i: usize) -> Result<(), Errno> {
    if a.u64(i) != 8 {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

fn valid_sig(sig: i32) -> Result<(), Errno> {
    if (1..=NSIG).contains(&sig) {
        Ok(())
    } else {
        Err(Errno::EINVAL)
    }
}

pub fn sys_rt_sigaction(t: &mut TaskCtx, a: &Args) -> SysResult {
    let sig = a.i32(0);
    check_sigsetsize(a, 3)?;
    valid_sig(sig)?;
    let new = if a.u64(1) != 0 {
        let raw: [u64; 4] = [
            t.read_obj(a.u64(1))?,
            t.read_obj(a.u64(1) + 8)?,
            t.read_obj(a.u64(1) + 16)?,
            t.read_obj(a.u64(1) + 24)?,
        ];
        Some(SigAction {
            handler: raw[0],
            flags: raw[1],
            restorer: raw[2],
            mask: SigSet(raw[3]).sanitized(),
        })
    } else {
        None
    };
    if new.is_some() && (sig == libc::SIGKILL || sig == libc::SIGSTOP) {
        return Err(Errno::EINVAL);
    }
    let old = {
        let mut h = lock(&t.tg().sighand);
        let old = h.get(sig);
        if let Some(n) = new {
            h.set(sig, n);
        }
        old
    };
    if let Some(n) = new {
        // Setting a signal to be ignored discards what is pending.
        let ignored = n.handler == SIG_IGN
            || (n.handler == SIG_DFL && default_action(sig) == DefaultAction::Ignore);
        if ignored {
            lock(&t.tg().shared_pending).discard(sig);
            for task in t.tg().tasks() {
                lock(&task.pending).discard(sig);
            }
        }
    }
    if a.u64(2) != 0 {
        let words = [old.handler, old.flags, old.restorer, old.mask.0];
        let mut b = Vec::with_capacity(32);
        for w in words {
            b.extend_from_slice(&w.to_ne_bytes());
        }
        t.copy_out(a.u64(2), &b)?;
    }
    ok(0)
}

pub fn sys_rt_sigprocmask(t: &mut TaskCtx, a: &Args) -> SysResult {
    check_sigsetsize(a, 3)?;
    let how = a.i32(0);
    let set = if a.u64(1) != 0 {
        Some(SigSet(t.read_obj::<u64>(a.u64(1))?))
    } else {
        None
    };
    let old = *lock(&t.task.mask);
    if let Some(s) = set {
        let new = match how {
            libc::SIG_BLOCK => SigSet(old.0 | s.0),
            libc::SIG_UNBLOCK => SigSet(old.0 & !s.0),
            libc::SIG_SETMASK => s,
            _ => return Err(Errno::EINVAL),
        };
        *lock(&t.task.mask) = new.sanitized();
    }
    if a.u64(2) != 0 {
        t.write_obj(a.u64(2), &old.0)?;
    }
    ok(0)
}

pub fn sys_rt_sigreturn(t: &mut TaskCtx, _a: &Args) -> SysResult {
    match sigframe::restore(t) {
        Ok(mask) => {
            *lock(&t.task.mask) = mask;
            Ok(SyscallReturn::NoReturn)
        }
        Err(e) => {
            tracing::debug!("rt_sigreturn: bad frame: {e}");
            crate::kernel::run::force_signal(&t.task, SigInfo::kernel(libc::SIGSEGV));
            Ok(SyscallReturn::NoReturn)
        }
    }
}

pub fn sys_rt_sigpending(t: &mut TaskCtx, a: &Args) -> SysResult {
    if a.u64(1) > 8 {
        return Err(Errno::EINVAL);
    }
    let mask = *lock(&t.task.mask);
    let set = lock(&t.task.pending).set().0 | lock(&t.tg().shared_pending).set().0;
    t.write_obj(a.u64(0), &(set & mask.0))?;
    ok(0)
}

pub fn sys_sigaltstack(t: &mut TaskCtx, a: &Args) -> SysResult {
    let cur = *lock(&t.task.sigaltstack);
    let sp = t.regs().rsp;
    let on = sigframe::on_altstack(t, sp);
    if a.u64(1) != 0 {
        let flags = if on { libc::SS_ONSTACK } else { cur.1 };
        let mut b = Vec::with_capacity(24);
        b.extend_from_slice(&cur.0.to_ne_bytes());
        b.extend_from_slice(&flags.to_ne_bytes());
        b.extend_from_slice(&0i32.to_ne_bytes());
        b.extend_from_slice(&cur.2.to_ne_bytes());
        t.copy_out(a.u64(1), &b)?;
    }
    if a.u64(0) != 0 {
        let ss_sp: u64 = t.read_obj(a.u64(0))?;
        let flags: i32 = t.read_obj(a.u64(0) + 8)?;
        let size: u64 = t.read_obj(a.u64(0) + 16)?;
        if on {
            return Err(Errno::EPERM);
        }
        const SS_AUTODISARM: i32 = 1 << 31;
        match flags & !SS_AUTODISARM {
            0 | libc::SS_ONSTACK => {
                if size < 2048 {
                    return Err(Errno::ENOMEM);
                }
                *lock(&t.task.sigaltstack) = (ss_sp, 0, size);
            }
            libc::SS_DISABLE => *lock(&t.task.sigaltstack) = (0, libc::SS_DISABLE, 0),
            _ => return Err(Errno::EINVAL),
        }
    }
    ok(0)
}

/// Sleeps until a signal is delivered; always "fails" with EINTR.
fn wait_for_signal(t: &mut TaskCtx) -> SysResult {
    t.block(&[], None, false, |_| Ok(None::<()>))?;
    Err(Errno::EINTR)
}

pub fn sys_pause(t: &mut TaskCtx, _a: &Args) -> SysResult {
    wait_for_signal(t)
}

pub fn sys_rt_sigsuspend(t: &mut TaskCtx, a: &Args) -> SysResult {
    check_sigsetsize(a, 1)?;
    let set = SigSet(t.read_obj::<u64>(a.u64(0))?).sanitized();
    let old = std::mem::replace(&mut *lock(&t.task.mask), set);
    *lock(&t.task.saved_mask) = Some(old);
    wait_for_signal(t)
}

pub fn sys_rt_sigtimedwait(t: &mut TaskCtx, a: &Args) -> SysResult {
    check_sigsetsize(a, 3)?;
    let set = SigSet(t.read_obj::<u64>(a.u64(0))?).sanitized();
    let deadline = if a.u64(2) != 0 {
        let ts: libc::timespec = t.read_obj(a.u64(2))?;
        if ts.tv_sec < 0 || !(0..1_000_000_000).contains(&ts.tv_nsec) {
            return Err(Errno::EINVAL);
        }
        #[allow(clippy::cast_sign_loss, reason = "checked non-negative")]
        Some(Instant::now() + super::time::duration_of(&ts))
    } else {
        None
    };
    let task = t.task.clone();
    let take = |task: &Arc<Task>| {
        lock(&task.pending)
            .take_from(set)
            .or_else(|| lock(&task.tg.shared_pending).take_from(set))
    };
    // The waited-for signals count as unblocked while we wait.
    let old = *lock(&task.mask);
    *lock(&task.mask) = SigSet(old.0 & !set.0);
    let r = t.block(&[], deadline, false, |_| Ok(take(&task)));
    *lock(&task.mask) = old;
    let info = match r {
        Ok(i) => i,
        Err(Errno::ETIMEDOUT) => return Err(Errno::EAGAIN),
        Err(Errno::EINTR) => match take(&task) {
            Some(i) => i,
            None => return Err(Errno::EINTR),
        },
        Err(e) => return Err(e),
    };
    if a.u64(1) != 0 {
        t.copy_out(a.u64(1), &info.to_bytes())?;
    }
    ok(info.signo)
}

fn sender_info(t: &TaskCtx, sig: i32, code: i32) -> SigInfo {
    SigInfo::user(sig, code, t.pid(), lock(&t.tg().creds).uid)
}

pub fn sys_kill(t: &mut TaskCtx, a: &Args) -> SysResult {
    let pid = a.i32(0);
    let sig = a.i32(1);
    if !(0..=NSIG).contains(&sig) {
        return Err(Errno::EINVAL);
    }
    let info = sender_info(t, sig, SI_USER);
    let k = kernel();
    let targets: Vec<Arc<ThreadGroup>> = match pid {
        p if p > 0 => vec![k.group(p).ok_or(Errno::ESRCH)?],
        0 | -1 | i32::MIN => {
            let pgid = lock(&t.tg().state).pgid;
            k.groups()
                .into_iter()
                .filter(|g| {
                    if pid == -1 {
                        g.pid != 1 && !Arc::ptr_eq(g, t.tg())
                    } else {
                        lock(&g.state).pgid == pgid
                    }
                })
                .collect()
        }
        p => {
            let pgid = -p;
            k.groups()
                .into_iter()
                .filter(|g| lock(&g.state).pgid == pgid)
                .collect()
        }
    };
    let targets: Vec<_> = targets
        .into_iter()
        .filter(|g| !lock(&g.state).zombie || pid > 0)
        .collect();
    if targets.is_empty() {
        return Err(Errno::ESRCH);
    }
    // A group kill succeeds if any target may be signalled (Linux's
    // __kill_pgrp_info / kill -1), EPERM if none.
    let mut sent = false;
    for g in targets {
        if !super::caps::may_signal_group(t, &g, sig) {
            continue;
        }
        sent = true;
        if !lock(&g.state).zombie {
            send_to_group(&g, info);
        }
    }
    // kill(-1) reports success even when nothing could be signalled.
    if !sent && pid != -1 {
        return Err(Errno::EPERM);
    }
    ok(0)
}

fn send_to_thread(task: &Arc<Task>, info: SigInfo) {
    if info.signo == 0 {
        return;
    }
    if info.signo == libc::SIGKILL {
        send_to_group(&task.tg, info);
        return;
    }
    let act = lock(&task.tg.sighand).get(info.signo);
    if act.handler == SIG_IGN
        || (act.handler == SIG_DFL && default_action(info.signo) == DefaultAction::Ignore)
    {
        return;
    }
    task.send_signal(info);
}

pub fn sys_tgkill(t: &mut TaskCtx, a: &Args) -> SysResult {
    let (tgid, tid, sig) = (a.i32(0), a.i32(1), a.i32(2));
    if tgid <= 0 || tid <= 0 || !(0..=NSIG).contains(&sig) {
        return Err(Errno::EINVAL);
    }
    let task = kernel()
        .task(tid)
        .filter(|x| x.tg.pid == tgid)
        .ok_or(Errno::ESRCH)?;
    if task.exited.load(std::sync::atomic::Ordering::Acquire) {
        return Err(Errno::ESRCH);
    }
    if !super::caps::may_signal_group(t, &task.tg, sig) {
        return Err(Errno::EPERM);
    }
    send_to_thread(&task, sender_info(t, sig, SI_TKILL));
    ok(0)
}

pub fn sys_tkill(t: &mut TaskCtx, a: &Args) -> SysResult {
    let (tid, sig) = (a.i32(0), a.i32(1));
    if tid <= 0 || !(0..=NSIG).contains(&sig) {
        return Err(Errno::EINVAL);
    }
    let task = kernel().task(tid).ok_or(Errno::ESRCH)?;
    if !super::caps::may_signal_group(t, &task.tg, sig) {
        return Err(Errno::EPERM);
    }
    send_to_thread(&task, sender_info(t, sig, SI_TKILL));
    ok(0)
}

pub fn sys_rt_sigqueueinfo(t: &mut TaskCtx, a: &Args) -> SysResult {
    let (pid, sig) = (a.i32(0), a.i32(1));
    let raw: [u8; 128] = t
        .copy_in_vec(a.u64(2), 128)?
        .try_into()
        .map_err(|_| Errno::EFAULT)?;
    let mut info = SigInfo::from_bytes(&raw);
    // Processes may not pretend to be the kernel, kill() or tgkill()
    // (Linux compares with the calling thread's id).
    if (info.code >= 0 || info.code == SI_TKILL) && pid != t.tid() {
        return Err(Errno::EPERM);
    }
    info.signo = sig;
    let g = kernel().group(pid).ok_or(Errno::ESRCH)?;
    if !(0..=NSIG).contains(&sig) {
        return Err(Errno::EINVAL);
    }
    if !super::caps::may_signal_group(t, &g, sig) {
        return Err(Errno::EPERM);
    }
    if !lock(&g.state).zombie {
        send_to_group(&g, info);
    }
    ok(0)
}

/// rt_tgsigqueueinfo: rt_sigqueueinfo aimed at one thread of a process.
pub fn sys_rt_tgsigqueueinfo(t: &mut TaskCtx, a: &Args) -> SysResult {
    let (tgid, tid, sig) = (a.i32(0), a.i32(1), a.i32(2));
    let raw: [u8; 128] = t
        .copy_in_vec(a.u64(3), 128)?
        .try_into()
        .map_err(|_| Errno::EFAULT)?;
    let mut info = SigInfo::from_bytes(&raw);
    if tgid <= 0 || tid <= 0 {
        return Err(Errno::EINVAL);
    }
    // Processes may not pretend to be the kernel, kill() or tgkill().
    if (info.code >= 0 || info.code == SI_TKILL) && tid != t.tid() {
        return Err(Errno::EPERM);
    }
    let task = kernel()
        .task(tid)
        .filter(|x| x.tg.pid == tgid && !x.exited.load(std::sync::atomic::Ordering::Acquire))
        .ok_or(Errno::ESRCH)?;
    if !(0..=NSIG).contains(&sig) {
        return Err(Errno::EINVAL);
    }
    if !super::caps::may_signal_group(t, &task.tg, sig) {
        return Err(Errno::EPERM);
    }
    info.signo = sig;
    send_to_thread(&task, info);
    ok(0)
}
