//! Process life cycle: clone/fork/vfork, exit, wait, ids, sessions.

use std::sync::{Arc, Condvar, Mutex};

use nix::errno::Errno;
use platform::Context;

use super::{ok, Args, SysResult, SyscallReturn};
use crate::kernel::ctx::TaskCtx;
use crate::kernel::run::{spawn, Start};
use crate::kernel::signal::{SigInfo, CLD_DUMPED, CLD_EXITED, CLD_KILLED};
use crate::kernel::task::{kernel, lock, ExitStatus, Task, ThreadGroup};

const CLONE_VM: u64 = 0x100;
const CLONE_FILES: u64 = 0x400;
const CLONE_SIGHAND: u64 = 0x800;
const CLONE_PIDFD: u64 = 0x1000;
const CLONE_VFORK: u64 = 0x4000;
const CLONE_PARENT: u64 = 0x8000;
const CLONE_THREAD: u64 = 0x10000;
const CLONE_NEWNS: u64 = 0x20000;
const CLONE_SETTLS: u64 = 0x80000;
const CLONE_PARENT_SETTID: u64 = 0x100000;
const CLONE_CHILD_CLEARTID: u64 = 0x200000;
const CLONE_CHILD_SETTID: u64 = 0x1000000;
const CLONE_NEW_ANY: u64 = 0x7e02_0000 | 0x2000_0000 | 0x0200_0000;
const CLONE_DETACHED: u64 = 0x40_0000;
/// clone3 only: reset signal handlers in the child.
const CLONE_CLEAR_SIGHAND: u64 = 0x1_0000_0000;
/// clone3 only: start in the cgroup `clone_args.cgroup` names.
const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;
/// A new time namespace (a CSIGNAL bit, so clone3 only).
const CLONE_NEWTIME: u64 = 0x80;

const WNOHANG: i32 = 1;
const WUNTRACED: i32 = 2;
const WEXITED: i32 = 4;
const WCONTINUED: i32 = 8;
const WNOWAIT: i32 = 0x0100_0000;
const WNOTHREAD: i32 = 0x2000_0000;
const WALL: i32 = 0x4000_0000;
const WCLONE: i32 = -0x8000_0000;

pub fn sys_fork(t: &mut TaskCtx, _a: &Args) -> SysResult {
    do_clone(t, libc::SIGCHLD as u64, 0, 0, 0, 0, 0)
}

pub fn sys_vfork(t: &mut TaskCtx, _a: &Args) -> SysResult {
    do_clone(
        t,
        CLONE_VM | CLONE_VFORK | libc::SIGCHLD as u64,
        0,
        0,
        0,
        0,
        0,
    )
}

pub fn sys_clone(t: &mut TaskCtx, a: &Args) -> SysResult {
    // x86-64 order: flags, stack, parent_tid, child_tid, tls.
    let flags = a.u64(0) & 0xffff_ffff;
    // The pidfd goes where the parent tid would: both cannot be had.
    if flags & CLONE_PIDFD != 0 && flags & CLONE_PARENT_SETTID != 0 {
        return Err(Errno::EINVAL);
    }
    do_clone(t, flags, a.u64(1), a.u64(2), a.u64(3), a.u64(4), a.u64(2))
}

/// Creates a thread or process. `pidfd` is where CLONE_PIDFD stores the
/// new pidfd.
fn do_clone(
    t: &mut TaskCtx,
    flags: u64,
    stack: u64,
    ptid: u64,
    ctid: u64,
    tls: u64,
    pidfd: u64,
) -> SysResult {
    if flags & CLONE_THREAD != 0 && flags & CLONE_SIGHAND == 0 {
        return Err(Errno::EINVAL);
    }
    if flags & CLONE_SIGHAND != 0 && flags & CLONE_VM == 0 {
        return Err(Errno::EINVAL);
    }
    if flags & CLONE_PIDFD != 0 {
        if flags & (CLONE_DETACHED | CLONE_THREAD) != 0 {
            return Err(Errno::EINVAL);
        }
        // Probe the destination first, so a bad pointer makes no child.
        t.write_obj(pidfd, &-1i32)?;
    }
    if flags & (CLONE_NEW_ANY | CLONE_NEWNS) != 0 {
        return Err(Errno::EPERM);
    }
    super::limits::check_nproc(t)?;
    let k = kernel();
    let parent_tg = t.tg().clone();
    let pid = k.alloc_pid()?;
    // CLONE_VM: the child runs as another host thread of our stub process.
    let host_thread = if flags & CLONE_VM != 0 {
        let tid = t.ctx.clone_thread().map_err(|_| Errno::EAGAIN)?;
        t.mm.users.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        Some((t.ctx.host_pid(), tid))
    } else {
        None
    };
    let mask = *lock(&t.task.mask);
    let (task, tg) = if flags & CLONE_THREAD != 0 {
        (Task::new(pid, parent_tg.clone(), mask, t.task.comm()), None)
    } else {
        let mm = if flags & CLONE_VM != 0 {
            t.mm.clone()
        } else {
            Arc::new(t.mm.fork(&mut t.ctx)?)
        };
        let fds = if flags & CLONE_FILES != 0 {
            parent_tg.fds()
        } else {
            Arc::new(parent_tg.fds().fork())
        };
        let mut sighand = lock(&parent_tg.sighand).clone();
        if flags & CLONE_CLEAR_SIGHAND != 0 {
            // Handled signals go back to SIG_DFL, ignored ones stay.
            sighand.reset_for_exec();
        }
        let creds = lock(&parent_tg.creds).clone();
        let rlimits = *lock(&parent_tg.rlimits);
        let (pgid, sid, ctty) = {
            let s = lock(&parent_tg.state);
            (s.pgid, s.sid, s.ctty.clone())
        };
        let (real_parent, parent_tid) = if flags & CLONE_PARENT != 0 {
            (parent_tg.parent(), lock(&parent_tg.state).parent_tid)
        } else {
            (Some(parent_tg.clone()), t.tid())
        };
        let tg = ThreadGroup::new(
            pid,
            real_parent.as_ref().map(Arc::downgrade).unwrap_or_default(),
            pgid,
            sid,
            mm,
            fds,
            t.fs(),
            sighand,
            creds,
            Some(rlimits),
        );
        #[allow(
            clippy::cast_possible_truncation,
            reason = "the exit signal is the low byte"
        )]
        {
            let mut s = lock(&tg.state);
            s.exit_signal = (flags & 0xff) as i32;
            s.ctty = ctty;
            s.parent_tid = parent_tid;
        }
        *lock(&tg.exec) = lock(&parent_tg.exec).clone();
        if let Some(p) = &real_parent {
            lock(&p.state).children.push(tg.clone());
        }
        (Task::new(pid, tg.clone(), mask, t.task.comm()), Some(tg))
    };
    let vfork = (flags & CLONE_VFORK != 0).then(|| Arc::new((Mutex::new(false), Condvar::new())));
    if let Some(tg) = &tg {
        *lock(&tg.vfork_done) = vfork.clone();
    }
    task.nice.store(
        t.task.nice.load(std::sync::atomic::Ordering::Acquire),
        std::sync::atomic::Ordering::Release,
    );
    task.affinity.store(
        t.task.affinity.load(std::sync::atomic::Ordering::Acquire),
        std::sync::atomic::Ordering::Release,
    );
    if flags & CLONE_CHILD_CLEARTID != 0 {
        task.clear_child_tid
            .store(ctid, std::sync::atomic::Ordering::Release);
    }
    if let (true, Some(tg)) = (flags & CLONE_PIDFD != 0, &tg) {
        let fd = super::pidfd::install(t, tg.clone(), false)?;
        t.write_obj(pidfd, &fd)?;
    }
    k.register(&task);
    if flags & CLONE_PARENT_SETTID != 0 {
        t.write_obj(ptid, &pid)?;
    }
    let mut regs = Box::new(*t.ctx.regs());
    regs.rax = 0;
    regs.orig_rax = u64::MAX;
    if stack != 0 {
        regs.rsp = stack;
    }
    if flags & CLONE_SETTLS != 0 {
        regs.fs_base = tls;
    }
    let fp = t.ctx.fp_state().ok();
    let setup: Option<crate::kernel::run::Setup> = if flags & CLONE_CHILD_SETTID != 0 {
        Some(Box::new(move |c: &mut TaskCtx| {
            let _ = c.write_obj(ctid, &pid);
            Ok(())
        }))
    } else {
        None
    };
    let start = match host_thread {
        Some((hpid, tid)) => Start::Thread {
            pid: hpid,
            tid,
            regs,
            fp,
        },
        None => Start::Forked { regs, fp },
    };
    let is_thread = matches!(start, Start::Thread { .. });
    if spawn(task, start, setup).is_err() {
        if is_thread {
            t.mm.users.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
        }
        return Err(Errno::EAGAIN);
    }
    if let Some(v) = vfork {
        let mut done = lock(&v.0);
        while !*done {
            done = v.1.wait(done).unwrap_or_else(|e| e.into_inner());
        }
    }
    ok(pid)
}

/// clone3(struct clone_args *, size): the versions of 64 (VER0), 80
/// (VER1: set_tid, set_tid_size) and 88 bytes (VER2: cgroup) are known;
/// a larger struct must be zero beyond what we know (E2BIG otherwise).
pub fn sys_clone3(t: &mut TaskCtx, a: &Args) -> SysResult {
    const VER0: usize = 64;
    const KNOWN: usize = 88;
    const PAGE: usize = 4096;
    let (uargs, size) = (a.u64(0), a.usize(1));
    if size > PAGE {
        return Err(Errno::E2BIG);
    }
    if size < VER0 {
        return Err(Errno::EINVAL);
    }
    let raw = t.copy_in_vec(uargs, size)?;
    if raw.iter().skip(KNOWN).any(|&b| b != 0) {
        return Err(Errno::E2BIG);
    }
    let field = |i: usize| -> u64 {
        let mut b = [0u8; 8];
        if let Some(s) = raw.get(i * 8..i * 8 + 8) {
            b.copy_from_slice(s);
        }
        u64::from_ne_bytes(b)
    };
    let (flags, pidfd, child_tid, parent_tid) = (field(0), field(1), field(2), field(3));
    let (exit_signal, stack, stack_size, tls) = (field(4), field(5), field(6), field(7));
    let (set_tid, set_tid_size, cgroup) = (field(8), field(9), field(10));
    // copy_clone_args_from_user.
    if set_tid_size > 32 || (set_tid == 0) != (set_tid_size == 0) {
        return Err(Errno::EINVAL);
    }
    if exit_signal & !0xff != 0 || exit_signal > 64 {
        return Err(Errno::EINVAL);
    }
    if flags & CLONE_INTO_CGROUP != 0 && (cgroup > i32::MAX as u64 || size < KNOWN) {
        return Err(Errno::EINVAL);
    }
    // clone3_args_valid.
    if flags & !(0xffff_ffff | CLONE_CLEAR_SIGHAND | CLONE_INTO_CGROUP) != 0
        || flags & (CLONE_DETACHED | (0xff & !CLONE_NEWTIME)) != 0
        || flags & (CLONE_SIGHAND | CLONE_CLEAR_SIGHAND) == CLONE_SIGHAND | CLONE_CLEAR_SIGHAND
        || (flags & (CLONE_THREAD | CLONE_PARENT) != 0 && exit_signal != 0)
    {
        return Err(Errno::EINVAL);
    }
    let sp = match (stack, stack_size) {
        (0, 0) => 0,
        (0, _) | (_, 0) => return Err(Errno::EINVAL),
        (s, n) => s.checked_add(n).ok_or(Errno::EINVAL)?,
    };
    if set_tid != 0 {
        // One pid namespace level: one tid at most; choosing it needs
        // CAP_CHECKPOINT_RESTORE over the namespace, which nobody here has.
        if set_tid_size > 1 {
            return Err(Errno::EINVAL);
        }
        let want: i32 = t.read_obj(set_tid)?;
        if want <= 0 || want >= crate::kernel::task::PID_MAX {
            return Err(Errno::EINVAL);
        }
        return Err(Errno::EPERM);
    }
    if flags & CLONE_INTO_CGROUP != 0 {
        // There is no cgroupfs in the sandbox: no fd names a cgroup.
        return Err(Errno::EBADF);
    }
    if flags & CLONE_NEWTIME != 0 {
        return Err(Errno::EPERM);
    }
    do_clone(
        t,
        flags | exit_signal,
        sp,
        parent_tid,
        child_tid,
        tls,
        pidfd,
    )
}

pub fn sys_exit(_t: &mut TaskCtx, a: &Args) -> SysResult {
    Ok(SyscallReturn::Exit {
        status: ExitStatus::Exited(a.i32(0) & 0xff),
        group: false,
    })
}

pub fn sys_exit_group(_t: &mut TaskCtx, a: &Args) -> SysResult {
    Ok(SyscallReturn::Exit {
        status: ExitStatus::Exited(a.i32(0) & 0xff),
        group: true,
    })
}

/// Which children a wait call is about.
#[derive(Debug, Clone, Copy)]
enum WaitFor {
    Any,
    Pid(i32),
    Pgid(i32),
}

/// What a wait call found.
enum Event {
    Exited(ExitStatus),
    Stopped(i32),
    Continued,
}

struct Reaped {
    pid: i32,
    event: Event,
    uid: u32,
    usage: super::rusage::Usage,
}

impl Reaped {
    /// The wait4 status word.
    fn wait_status(&self) -> i32 {
        match self.event {
            Event::Exited(s) => s.wait_status(),
            Event::Stopped(sig) => (sig << 8) | 0x7f,
            Event::Continued => 0xffff,
        }
    }

    /// waitid's si_code and si_status.
    fn siginfo(&self) -> (i32, i32) {
        match self.event {
            Event::Exited(ExitStatus::Exited(c)) => (CLD_EXITED, c),
            Event::Exited(ExitStatus::Signaled { sig, core }) => {
                (if core { CLD_DUMPED } else { CLD_KILLED }, sig)
            }
            Event::Stopped(sig) => (crate::kernel::signal::CLD_STOPPED, sig),
            Event::Continued => (crate::kernel::signal::CLD_CONTINUED, libc::SIGCONT),
        }
    }
}

/// The common core of wait4 and waitid.
fn wait_child(
    t: &mut TaskCtx,
    which: WaitFor,
    options: i32,
    reap: bool,
) -> Result<Option<Reaped>, Errno> {
    let me = t.tg().clone();
    let my_pgid = lock(&me.state).pgid;
    let k = kernel();
    t.block(&[&me.child_wq], None, false, |_| {
        let children = lock(&me.state).children.clone();
        let matching: Vec<&Arc<ThreadGroup>> = children
            .iter()
            .filter(|c| match which {
                WaitFor::Any => true,
                WaitFor::Pid(p) => c.pid == p,
                WaitFor::Pgid(g) => lock(&c.state).pgid == if g == 0 { my_pgid } else { g },
            })
            .filter(|c| {
                let clone_child = lock(&c.state).exit_signal != libc::SIGCHLD;
                options & WALL != 0 || (options & WCLONE != 0) == clone_child
            })
            .collect();
        if matching.is_empty() {
            return Err(Errno::ECHILD);
        }
        for c in matching {
            let uid = lock(&c.creds).uid;
            let mut st = lock(&c.state);
            if let (true, Some(status), true) = (st.zombie, st.exit, options & WEXITED != 0) {
                drop(st);
                let usage = if reap {
                    lock(&me.state).children.retain(|x| !Arc::ptr_eq(x, c));
                    k.unregister_group(c.pid);
                    super::rusage::on_reap(&me, c)
                } else {
                    super::rusage::of_exited(c)
                };
                return Ok(Some(Some(Reaped {
                    pid: c.pid,
                    event: Event::Exited(status),
                    uid,
                    usage,
                })));
            }
            let event = match st.wait_event {
                Some(libc::SIGCONT) if options & WCONTINUED != 0 => Some(Event::Continued),
                Some(sig)
                    if sig != libc::SIGCONT && options & WUNTRACED != 0 && st.stopped.is_some() =>
                {
                    Some(Event::Stopped(sig))
                }
                _ => None,
            };
            if let Some(event) = event {
                if reap {
                    st.wait_event = None;
                }
                let usage = super::rusage::Usage::default();
                return Ok(Some(Some(Reaped {
                    pid: c.pid,
                    event,
                    uid,
                    usage,
                })));
            }
        }
        if options & WNOHANG != 0 {
            return Ok(Some(None));
        }
        Ok(None)
    })
}

pub fn sys_wait4(t: &mut TaskCtx, a: &Args) -> SysResult {
    let pid = a.i32(0);
    let status_addr = a.u64(1);
    let options = a.i32(2);
    if options & !(WNOHANG | WUNTRACED | WCONTINUED | WNOTHREAD | WALL | WCLONE) != 0 {
        return Err(Errno::EINVAL);
    }
    let which = match pid {
        -1 => WaitFor::Any,
        0 => WaitFor::Pgid(0),
        p if p < -1 => WaitFor::Pgid(-p),
        p => WaitFor::Pid(p),
    };
    match wait_child(t, which, options | WEXITED, true)? {
        Some(r) => {
            if status_addr != 0 {
                t.write_obj(status_addr, &r.wait_status())?;
            }
            if a.u64(3) != 0 {
                t.copy_out(a.u64(3), &r.usage.to_bytes())?;
            }
            ok(r.pid)
        }
        None => ok(0),
    }
}

pub fn sys_waitid(t: &mut TaskCtx, a: &Args) -> SysResult {
    let idtype = a.i32(0);
    let id = a.i32(1);
    let infop = a.u64(2);
    let options = a.i32(3);
    if options & !(WNOHANG | WUNTRACED | WEXITED | WCONTINUED | WNOWAIT | WNOTHREAD | WALL | WCLONE)
        != 0
        || options & (WEXITED | WUNTRACED | WCONTINUED) == 0
    {
        return Err(Errno::EINVAL);
    }
    let mut options = options;
    let mut pidfd_nonblock = false;
    let which = match idtype {
        0 => WaitFor::Any,
        1 if id > 0 => WaitFor::Pid(id),
        2 if id >= 0 => WaitFor::Pgid(id),
        // P_PIDFD: a non-blocking pidfd makes the wait WNOHANG, with
        // EAGAIN instead of an empty result.
        3 if id >= 0 => {
            let (tg, nonblock) = super::pidfd::target(t, id)?;
            if nonblock && options & WNOHANG == 0 {
                options |= WNOHANG;
                pidfd_nonblock = true;
            }
            WaitFor::Pid(tg.pid)
        }
        _ => return Err(Errno::EINVAL),
    };
    let r = wait_child(t, which, options, options & WNOWAIT == 0)?;
    if pidfd_nonblock && r.is_none() {
        return Err(Errno::EAGAIN);
    }
    if infop != 0 {
        let info = match r {
            Some(r) => {
                let (code, status) = r.siginfo();
                SigInfo {
                    signo: libc::SIGCHLD,
                    code,
                    pid: r.pid,
                    uid: r.uid,
                    status,
                    ..Default::default()
                }
            }
            None => SigInfo::default(),
        };
        t.copy_out(infop, &info.to_bytes())?;
    }
    ok(0)
}

pub fn sys_getpid(t: &mut TaskCtx, _a: &Args) -> SysResult {
    ok(t.pid())
}

pub fn sys_gettid(t: &mut TaskCtx, _a: &Args) -> SysResult {
    ok(t.tid())
}

pub fn sys_getppid(t: &mut TaskCtx, _a: &Args) -> SysResult {
    ok(t.tg().parent().map(|p| p.pid).unwrap_or(0))
}

fn target_group(t: &TaskCtx, pid: i32) -> Result<Arc<ThreadGroup>, Errno> {
    if pid < 0 {
        return Err(Errno::EINVAL);
    }
    if pid == 0 {
        return Ok(t.tg().clone());
    }
    kernel()
        .group(pid)
        .filter(|g| !lock(&g.state).zombie || g.pid == pid)
        .ok_or(Errno::ESRCH)
}

pub fn sys_getpgid(t: &mut TaskCtx, a: &Args) -> SysResult {
    let g = target_group(t, a.i32(0))?;
    let pgid = lock(&g.state).pgid;
    ok(pgid)
}

pub fn sys_getpgrp(t: &mut TaskCtx, _a: &Args) -> SysResult {
    let pgid = lock(&t.tg().state).pgid;
    ok(pgid)
}

pub fn sys_getsid(t: &mut TaskCtx, a: &Args) -> SysResult {
    let g = target_group(t, a.i32(0))?;
    let sid = lock(&g.state).sid;
    ok(sid)
}

pub fn sys_setpgid(t: &mut TaskCtx, a: &Args) -> SysResult {
    let pid = a.i32(0);
    let pgid = a.i32(1);
    if pgid < 0 {
        return Err(Errno::EINVAL);
    }
    let me = t.tg().clone();
    let target = if pid == 0 || pid == me.pid {
        me.clone()
    } else {
        let g = kernel().group(pid).ok_or(Errno::ESRCH)?;
        let is_child = g.parent().is_some_and(|p| Arc::ptr_eq(&p, &me));
        if !is_child {
            return Err(Errno::ESRCH);
        }
        if lock(&g.state).did_exec {
            return Err(Errno::EACCES);
        }
        g
    };
    let my_sid = lock(&me.state).sid;
    let (tsid, tpid) = (lock(&target.state).sid, target.pid);
    if tsid != my_sid {
        return Err(Errno::EPERM);
    }
    if tsid == tpid {
        return Err(Errno::EPERM); // a session leader
    }
    let pgid = if pgid == 0 { tpid } else { pgid };
    if pgid != tpid {
        let exists = kernel().groups().iter().any(|g| {
            let s = lock(&g.state);
            s.pgid == pgid && s.sid == my_sid && !s.zombie
        });
        if !exists {
            return Err(Errno::EPERM);
        }
    }
    lock(&target.state).pgid = pgid;
    ok(0)
}

pub fn sys_setsid(t: &mut TaskCtx, _a: &Args) -> SysResult {
    let me = t.tg().clone();
    let pid = me.pid;
    let leader = kernel().groups().iter().any(|g| lock(&g.state).pgid == pid);
    if leader {
        return Err(Errno::EPERM);
    }
    let mut s = lock(&me.state);
    s.sid = pid;
    s.pgid = pid;
    s.ctty = None;
    ok(pid)
}

pub fn sys_set_tid_address(t: &mut TaskCtx, a: &Args) -> SysResult {
    t.task
        .clear_child_tid
        .store(a.u64(0), std::sync::atomic::Ordering::Release);
    ok(t.tid())
}

pub fn sys_arch_prctl(t: &mut TaskCtx, a: &Args) -> SysResult {
    const ARCH_SET_GS: i32 = 0x1001;
    const ARCH_SET_FS: i32 = 0x1002;
    const ARCH_GET_FS: i32 = 0x1003;
    const ARCH_GET_GS: i32 = 0x1004;
    const ARCH_GET_CPUID: i32 = 0x1011;
    const ARCH_SET_CPUID: i32 = 0x1012;
    let addr = a.u64(1);
    match a.i32(0) {
        ARCH_SET_FS | ARCH_SET_GS => {
            if addr >= platform::ptrace::APP_TOP {
                return Err(Errno::EPERM);
            }
            let r = t.regs_mut();
            if a.i32(0) == ARCH_SET_FS {
                r.fs_base = addr;
            } else {
                r.gs_base = addr;
            }
            ok(0)
        }
        ARCH_GET_FS => {
            let v = t.regs().fs_base;
            t.write_obj(addr, &v)?;
            ok(0)
        }
        ARCH_GET_GS => {
            let v = t.regs().gs_base;
            t.write_obj(addr, &v)?;
            ok(0)
        }
        ARCH_GET_CPUID => ok(1),
        ARCH_SET_CPUID => Err(Errno::ENODEV),
        _ => Err(Errno::EINVAL),
    }
}

pub fn sys_prctl(t: &mut TaskCtx, a: &Args) -> SysResult {
    if let Some(r) = super::caps::prctl(t, a) {
        return r;
    }
    match a.i32(0) {
        libc::PR_SET_NAME => {
            let mut name = t.read_cstr(a.u64(1), usize::MAX).or_else(|e| {
                if e == Errno::ENAMETOOLONG {
                    Ok(Vec::new())
                } else {
                    Err(e)
                }
            })?;
            name.truncate(15);
            *lock(&t.task.comm) = name;
            ok(0)
        }
        libc::PR_GET_NAME => {
            let mut name = t.task.comm();
            name.resize(16, 0);
            name[15] = 0;
            t.copy_out(a.u64(1), &name)?;
            ok(0)
        }
        libc::PR_SET_PDEATHSIG => {
            let sig = a.i32(1);
            if !(0..=64).contains(&sig) {
                return Err(Errno::EINVAL);
            }
            t.task
                .pdeath_signal
                .store(sig, std::sync::atomic::Ordering::Release);
            ok(0)
        }
        libc::PR_GET_PDEATHSIG => {
            let sig = t
                .task
                .pdeath_signal
                .load(std::sync::atomic::Ordering::Acquire);
            t.write_obj(a.u64(1), &sig)?;
            ok(0)
        }
        libc::PR_GET_DUMPABLE => ok(u8::from(t.mm.dumpable())),
        libc::PR_SET_DUMPABLE => match a.u64(1) {
            v @ (0 | 1) => {
                t.mm.set_dumpable(v == 1);
                ok(0)
            }
            _ => Err(Errno::EINVAL),
        },
        libc::PR_SET_NO_NEW_PRIVS => {
            if a.u64(1) != 1 || a.u64(2) != 0 || a.u64(3) != 0 || a.u64(4) != 0 {
                return Err(Errno::EINVAL);
            }
            ok(0)
        }
        libc::PR_GET_NO_NEW_PRIVS => ok(0),
        libc::PR_SET_CHILD_SUBREAPER => {
            lock(&t.tg().state).subreaper = a.u64(1) != 0;
            ok(0)
        }
        libc::PR_GET_CHILD_SUBREAPER => {
            let v = i32::from(lock(&t.tg().state).subreaper);
            t.write_obj(a.u64(1), &v)?;
            ok(0)
        }
        libc::PR_GET_SECCOMP => ok(0),
        libc::PR_GET_TIMERSLACK => ok(50_000),
        _ => Err(Errno::EINVAL),
    }
}
