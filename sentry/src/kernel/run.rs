//! The task loop: run application code, handle what stopped it, deliver
//! signals, and tear tasks and processes down when they end.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use nix::errno::Errno;
use platform::{Context, FpState, Regs, Stop};

use super::ctx::TaskCtx;
use super::sigframe;
use super::signal::{
    default_action, DefaultAction, SigInfo, SigSet, CLD_DUMPED, CLD_EXITED, CLD_KILLED,
};
use super::signal::{SA_NOCLDWAIT, SA_NODEFER, SA_RESETHAND, SA_RESTART, SIG_DFL, SIG_IGN};
use super::task::{kernel, lock, ExitStatus, Task, ThreadGroup};
use crate::mm::FaultError;

/// How an interrupted syscall continues when a signal arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restart {
    /// ERESTARTSYS: restart if the handler has SA_RESTART, else EINTR.
    Sys,
    /// ERESTARTNOHAND: restart only if no handler runs.
    NoHand,
    /// ERESTARTNOINTR: always restart.
    NoIntr,
}

/// How a new thread starts.
#[derive(Debug)]
pub enum Start {
    /// Run `f` first (e.g. exec the init program), then the loop.
    Fresh,
    /// A forked child: the parent's registers (rax = 0) and FPU state.
    Forked {
        regs: Box<Regs>,
        fp: Option<FpState>,
    },
    /// A new thread in an existing stub process (host `pid`, thread `tid`).
    Thread {
        pid: i32,
        tid: i32,
        regs: Box<Regs>,
        fp: Option<FpState>,
    },
}

/// Per-thread loop state that is not shared with other threads.
#[derive(Debug, Default)]
pub struct LoopState {
    pub restart: Option<Restart>,
    /// The thread has exited (exit, exit_group, fatal signal).
    pub exited: Option<ExitStatus>,
    /// The last fault (address, rip), to tell a stale fault from a real one.
    pub last_fault: Option<(u64, u64)>,
}

/// Work a new thread does before it first runs the application.
pub type Setup = Box<dyn FnOnce(&mut TaskCtx) -> Result<(), Errno> + Send>;

/// Starts a host thread that runs `task` in a new stub.
pub fn spawn(task: Arc<Task>, start: Start, setup: Option<Setup>) -> std::io::Result<()> {
    let name = format!("task-{}", task.tid);
    std::thread::Builder::new()
        .name(name)
        .stack_size(1 << 20)
        .spawn(move || {
            super::task::set_current(&task);
            // SAFETY: gettid has no preconditions.
            let me = unsafe { libc::gettid() };
            task.host_tid.store(me, Ordering::Release);
            let mask = task.affinity.load(Ordering::Acquire);
            if mask != 0 {
                let mut set = nix::sched::CpuSet::new();
                for cpu in (0..64usize).filter(|c| mask & (1 << c) != 0) {
                    let _ = set.set(cpu);
                }
                let _ = nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set);
            }
            let platform = kernel().platform;
            let ctx = match &start {
                Start::Thread { pid, tid, .. } => platform.attach(*pid, *tid),
                _ => platform.new_context(),
            };
            let ctx = match ctx {
                Ok(c) => c,
                Err(e) => {
                    tracing::error!("cannot create stub for task {}: {e}", task.tid);
                    if matches!(start, Start::Thread { .. }) {
                        task.tg.mm().users.fetch_sub(1, Ordering::AcqRel);
                    }
                    let status = ExitStatus::Signaled {
                        sig: libc::SIGKILL,
                        core: false,
                    };
                    group_exit(&task, status);
                    exit_thread(&task, None, status);
                    return;
                }
            };
            super::cputime::attach(&task, ctx.host_pid());
            let mm = task.tg.mm();
            // A new thread was counted by its creator, before the stub
            // thread existed, so the process cannot be torn down under it.
            if !matches!(start, Start::Thread { .. }) {
                mm.users.fetch_add(1, Ordering::AcqRel);
            }
            let mut t = TaskCtx { task, ctx, mm };
            match start {
                Start::Forked { regs, fp } | Start::Thread { regs, fp, .. } => {
                    *t.ctx.regs_mut() = *regs;
                    if let Some(fp) = fp {
                        let _ = t.ctx.set_fp_state(&fp);
                    }
                }
                Start::Fresh => {}
            }
            if let Some(f) = setup {
                if let Err(e) = f(&mut t) {
                    tracing::debug!("task {} set-up failed: {e}", t.task.tid);
                    let status = ExitStatus::Exited(if e == Errno::ENOENT { 127 } else { 126 });
                    group_exit(&t.task, status);
                    finish(t, status);
                    return;
                }
            }
            run(t);
        })?;
    Ok(())
}

/// Ends a task: kernel bookkeeping, then its host thread (or the whole
/// stub process, if it was the last thread in it).
fn finish(mut t: TaskCtx, status: ExitStatus) {
    let task = t.task.clone();
    super::cputime::detach(&task);
    super::cputime::task_gone(&task);
    exit_thread(&task, Some(&mut t), status);
    let TaskCtx { ctx, mm, .. } = t;
    release_stub(ctx, &mm);
    kernel().exit_wq.notify();
}

/// Lets go of a stub thread: the last user of a stub process kills it.
pub fn release_stub(ctx: platform::ptrace::StubThread, mm: &Arc<crate::mm::MemoryManager>) {
    if mm.users.fetch_sub(1, Ordering::AcqRel) <= 1 {
        ctx.end_process();
    } else {
        ctx.exit_thread();
    }
}

fn run(mut t: TaskCtx) {
    let mut st = LoopState::default();
    loop {
        deliver_signals(&mut t, &mut st);
        if let Some(status) = st.exited {
            finish(t, status);
            return;
        }
        t.task.set_interrupter(Some(t.ctx.interrupter()));
        super::cputime::enter_app(&t.task);
        let stop = t.ctx.switch();
        super::cputime::leave_app(&t.task);
        t.task.set_interrupter(None);
        match stop {
            Err(e) => {
                tracing::debug!("task {}: stub lost: {e}", t.task.tid);
                let status = ExitStatus::Signaled {
                    sig: libc::SIGKILL,
                    core: false,
                };
                group_exit(&t.task, status);
                st.exited = Some(status);
            }
            Ok(Stop::Syscall) => {
                st.last_fault = None;
                crate::syscalls::dispatch(&mut t, &mut st)
            }
            Ok(Stop::Fault { addr, signo, code }) => {
                let mm = t.mm.clone();
                mm.set_stack_limit(t.tg().rlimit(libc::RLIMIT_STACK).cur);
                let here = (addr, t.ctx.regs().rip);
                let again = st.last_fault == Some(here);
                st.last_fault = Some(here);
                match mm.handle_fault(&mut t.ctx, addr) {
                    Ok(()) => {}
                    Err(FaultError::Installed) if !again => {}
                    Err(FaultError::Installed) => force_signal(
                        &t.task,
                        SigInfo::fault(libc::SIGSEGV, crate::mm::SEGV_ACCERR, addr),
                    ),
                    Err(FaultError::Segv(c)) => {
                        tracing::debug!(
                            "task {}: SIGSEGV code {c} at {addr:#x}, rip {:#x}",
                            t.task.tid,
                            t.ctx.regs().rip
                        );
                        force_signal(&t.task, SigInfo::fault(libc::SIGSEGV, c, addr))
                    }
                    Err(FaultError::Bus) => {
                        force_signal(&t.task, SigInfo::fault(libc::SIGBUS, 2, addr))
                    }
                }
                let _ = (signo, code);
            }
            Ok(Stop::Signal(info)) => {
                force_signal(&t.task, SigInfo::fault(info.signo, info.code, info.addr))
            }
            Ok(Stop::Interrupted) => {}
        }
    }
}

/// A synchronous signal the thread caused: it cannot be blocked or
/// ignored (Linux's force_sig_info).
pub fn force_signal(task: &Arc<Task>, info: SigInfo) {
    {
        let mut h = lock(&task.tg.sighand);
        let mut a = h.get(info.signo);
        let blocked = lock(&task.mask).has(info.signo);
        if a.handler == SIG_IGN || blocked {
            a.handler = SIG_DFL;
            h.set(info.signo, a);
        }
        if blocked {
            let mut m = lock(&task.mask);
            m.0 &= !SigSet::bit(info.signo);
        }
    }
    task.send_signal(info);
}

/// Sends a signal to a process: any thread that does not block it gets it.
pub fn send_to_group(tg: &Arc<ThreadGroup>, info: SigInfo) {
    if info.signo == 0 {
        return;
    }
    if info.signo == libc::SIGKILL {
        group_exit_tg(
            tg,
            ExitStatus::Signaled {
                sig: libc::SIGKILL,
                core: false,
            },
        );
        return;
    }
    // Ignored signals are dropped at once (except SIGCHLD's side effects).
    let act = lock(&tg.sighand).get(info.signo);
    let ignored = act.handler == SIG_IGN
        || (act.handler == SIG_DFL && default_action(info.signo) == DefaultAction::Ignore);
    if info.signo == libc::SIGCONT {
        for t in tg.tasks() {
            for stop in [libc::SIGSTOP, libc::SIGTSTP, libc::SIGTTIN, libc::SIGTTOU] {
                lock(&t.pending).discard(stop);
            }
        }
        for stop in [libc::SIGSTOP, libc::SIGTSTP, libc::SIGTTIN, libc::SIGTTOU] {
            lock(&tg.shared_pending).discard(stop);
        }
        continue_group(tg);
    }
    if default_action(info.signo) == DefaultAction::Stop {
        lock(&tg.shared_pending).discard(libc::SIGCONT);
    }
    // A blocked signal is queued even if ignored (Linux's sig_ignored), so
    // that sigwait and signalfd can take it.
    let blocked = || tg.tasks().iter().any(|t| lock(&t.mask).has(info.signo));
    if ignored && info.signo != libc::SIGCONT && !blocked() {
        return;
    }
    lock(&tg.shared_pending).push(info);
    crate::vfs::signalfd::signal_sent();
    let tasks = tg.tasks();
    let target = tasks
        .iter()
        .find(|t| !lock(&t.mask).has(info.signo))
        .or(tasks.first());
    if let Some(t) = target {
        t.kick();
    }
}

/// Tells a parent about a child's stop or continue (CLD_STOPPED /
/// CLD_CONTINUED), unless it asked not to hear of them (SA_NOCLDSTOP).
fn notify_parent_stop(tg: &Arc<ThreadGroup>, code: i32, sig: i32) {
    let Some(parent) = tg.parent() else { return };
    let act = lock(&parent.sighand).get(libc::SIGCHLD);
    if act.flags & super::signal::SA_NOCLDSTOP == 0 {
        let uid = lock(&tg.creds).uid;
        send_to_group(
            &parent,
            SigInfo {
                signo: libc::SIGCHLD,
                code,
                pid: tg.pid,
                uid,
                status: sig,
                ..Default::default()
            },
        );
    }
    parent.child_wq.notify();
}

/// SIGCONT: a stopped group runs again.
fn continue_group(tg: &Arc<ThreadGroup>) {
    let was_stopped = {
        let mut s = lock(&tg.state);
        let was = s.stopped.take().is_some();
        if was {
            s.wait_event = Some(libc::SIGCONT);
        }
        was
    };
    if was_stopped {
        for t in tg.tasks() {
            t.kick();
        }
        notify_parent_stop(tg, super::signal::CLD_CONTINUED, libc::SIGCONT);
    }
}

/// A stop signal's default action: the whole group stops until SIGCONT or
/// SIGKILL; this thread waits here.
fn stop_group(t: &mut TaskCtx, sig: i32) {
    let tg = t.task.tg.clone();
    let newly = {
        let mut s = lock(&tg.state);
        if s.exiting {
            return;
        }
        let newly = s.stopped.is_none();
        s.stopped = Some(sig);
        s.wait_event = Some(sig);
        newly
    };
    if newly {
        for other in tg.tasks() {
            other.kick();
        }
        notify_parent_stop(&tg, super::signal::CLD_STOPPED, sig);
    }
    wait_while_stopped(t);
}

fn wait_while_stopped(t: &TaskCtx) {
    let tg = &t.task.tg;
    loop {
        let seq = t.task.waker.seq();
        {
            let s = lock(&tg.state);
            if s.stopped.is_none() || s.exiting {
                return;
            }
        }
        t.task.waker.wait(seq, None);
    }
}

/// Decides what the next pending signals do, and does it.
fn deliver_signals(t: &mut TaskCtx, st: &mut LoopState) {
    if t.task.killed_by_exec.load(Ordering::Acquire) {
        st.exited = Some(ExitStatus::Exited(0));
        return;
    }
    let (stopped, exiting) = {
        let s = lock(&t.task.tg.state);
        (s.stopped.is_some(), s.exiting.then_some(s.exit))
    };
    if stopped {
        wait_while_stopped(t);
    }
    if let Some(exit) = exiting.or_else(|| t.task.tg_exiting().then(|| lock(&t.task.tg.state).exit))
    {
        st.exited = Some(exit.unwrap_or(ExitStatus::Signaled {
            sig: libc::SIGKILL,
            core: false,
        }));
        return;
    }
    loop {
        let mask = *lock(&t.task.mask);
        let info = lock(&t.task.pending)
            .take(mask)
            .or_else(|| lock(&t.task.tg.shared_pending).take(mask));
        let Some(info) = info else { break };
        let act = lock(&t.task.tg.sighand).get(info.signo);
        if act.handler == SIG_IGN {
            continue;
        }
        if act.handler == SIG_DFL {
            let action = default_action(info.signo);
            // The sandbox's init ignores what it has no handler for, unless
            // it caused the signal itself.
            if t.task.tg.pid == 1 && info.code <= 0 && info.signo != libc::SIGKILL {
                continue;
            }
            match action {
                DefaultAction::Ignore | DefaultAction::Continue => continue,
                DefaultAction::Stop => {
                    stop_group(t, info.signo);
                    continue;
                }
                DefaultAction::Terminate | DefaultAction::CoreDump => {
                    let status = ExitStatus::Signaled {
                        sig: info.signo,
                        core: action == DefaultAction::CoreDump && dumps_core(t),
                    };
                    group_exit(&t.task, status);
                    st.exited = Some(status);
                    return;
                }
            }
        }
        // A handler runs: settle the interrupted syscall first.
        if let Some(r) = st.restart.take() {
            let restart = match r {
                Restart::Sys => act.flags & SA_RESTART != 0,
                Restart::NoHand => false,
                Restart::NoIntr => true,
            };
            apply_restart(t, restart);
        }
        let old_mask = lock(&t.task.saved_mask).take().unwrap_or(mask);
        if sigframe::setup(t, &info, &act, old_mask).is_err() {
            force_signal(&t.task, SigInfo::kernel(libc::SIGSEGV));
            continue;
        }
        let mut new_mask = SigSet(old_mask.0 | act.mask.0);
        if act.flags & SA_NODEFER == 0 {
            new_mask.0 |= SigSet::bit(info.signo);
        }
        *lock(&t.task.mask) = new_mask.sanitized();
        if act.flags & SA_RESETHAND != 0 {
            let mut h = lock(&t.task.tg.sighand);
            h.set(info.signo, Default::default());
        }
        break;
    }
    if let Some(m) = lock(&t.task.saved_mask).take() {
        *lock(&t.task.mask) = m;
    }
    if st.restart.take().is_some() {
        apply_restart(t, true);
    }
}

/// Whether Linux would have dumped core for a fatal signal, which the
/// wait status reports: only for a dumpable process whose RLIMIT_CORE is
/// at least a page (the ELF format's `min_coredump`). The sandbox writes
/// no core file.
fn dumps_core(t: &TaskCtx) -> bool {
    t.mm.dumpable() && t.tg().rlimit(libc::RLIMIT_CORE).cur >= 4096
}

fn apply_restart(t: &mut TaskCtx, restart: bool) {
    let r = t.ctx.regs_mut();
    if restart {
        r.rax = r.orig_rax;
        r.rip = r.rip.wrapping_sub(2);
    } else {
        r.rax = (-i64::from(libc::EINTR)).cast_unsigned();
    }
}

/// Starts the exit of every thread in the task's group.
pub fn group_exit(task: &Arc<Task>, status: ExitStatus) {
    group_exit_tg(&task.tg, status);
}

pub fn group_exit_tg(tg: &Arc<ThreadGroup>, status: ExitStatus) {
    {
        let mut s = lock(&tg.state);
        if s.exiting {
            return;
        }
        s.exiting = true;
        s.exit = Some(status);
    }
    for t in tg.tasks() {
        t.kick();
    }
}

/// The last steps of a thread; the last thread of a group turns the group
/// into a zombie and tells the parent.
pub fn exit_thread(task: &Arc<Task>, t: Option<&mut TaskCtx>, status: ExitStatus) {
    let ctid = task.clear_child_tid.load(Ordering::Acquire);
    if let Some(t) = t {
        crate::syscalls::futex_pi::exit_robust_list(t);
        if ctid != 0 {
            let _ = t.write_obj(ctid, &0u32);
            crate::syscalls::futex::wake_addr(t, ctid, 1);
        }
    }
    task.exited.store(true, Ordering::Release);
    let k = kernel();
    let tg = task.tg.clone();
    let last = tg.tasks().is_empty();
    if task.tid != tg.pid {
        k.unregister_task(task.tid);
    }
    if !last {
        pass_on_children(task);
    }
    if last {
        let status = lock(&tg.state).exit.unwrap_or(status);
        group_finished(&tg, status);
    }
    k.exit_wq.notify();
}

/// The children a thread made go to another thread of its process, and
/// hear of it through their parent-death signal (Linux's
/// forget_original_parent, which runs for every exiting thread). In a
/// group exit the last thread does this once for all.
fn pass_on_children(task: &Arc<Task>) {
    let tg = &task.tg;
    if lock(&tg.state).exiting {
        return;
    }
    let live = tg.tasks();
    // A thread that exec is about to end would only pass them on again.
    let Some(heir) = live
        .iter()
        .find(|x| !x.killed_by_exec.load(Ordering::Acquire))
        .or(live.first())
    else {
        return;
    };
    let children = lock(&tg.state).children.clone();
    for c in children {
        {
            let mut s = lock(&c.state);
            if s.parent_tid != task.tid {
                continue;
            }
            s.parent_tid = heir.tid;
        }
        send_pdeath_signals(&c, tg);
    }
}

/// Each thread of `child` that asked for a parent-death signal makes it
/// go to `child` (as from `parent`: SI_USER with its pid and uid, Linux's
/// SEND_SIG_NOINFO).
fn send_pdeath_signals(child: &Arc<ThreadGroup>, parent: &ThreadGroup) {
    if lock(&child.state).zombie {
        return;
    }
    let uid = lock(&parent.creds).uid;
    for t in child.tasks() {
        let sig = t.pdeath_signal.load(Ordering::Acquire);
        if sig > 0 {
            let info = SigInfo::user(sig, super::signal::SI_USER, parent.pid, uid);
            send_to_group(child, info);
        }
    }
}

fn group_finished(tg: &Arc<ThreadGroup>, status: ExitStatus) {
    let k = kernel();
    // Drop the process's resources now; the zombie keeps only its status.
    *lock(&tg.fds) = Arc::new(crate::vfs::FdTable::new());
    crate::vfs::lock::locks().release_all(crate::vfs::lock::Owner::Process(tg.pid));
    crate::kernel::ipc::exit_process(tg);
    crate::vfs::tty::process_exited(tg);
    if let Some(v) = lock(&tg.vfork_done).take() {
        *lock(&v.0) = true;
        v.1.notify_all();
    }
    let (children, parent) = {
        let mut s = lock(&tg.state);
        s.zombie = true;
        s.exit = Some(status);
        (std::mem::take(&mut s.children), s.parent.upgrade())
    };
    // Orphans go to the nearest live subreaper ancestor, else to init.
    let mut reaper = parent.clone();
    while let Some(r) = reaper.clone() {
        let (sub, zombie) = {
            let s = lock(&r.state);
            (s.subreaper, s.zombie)
        };
        if sub && !zombie {
            break;
        }
        reaper = r.parent();
    }
    let init = reaper
        .or_else(|| k.group(1))
        .filter(|i| !Arc::ptr_eq(i, tg));
    let heir = init.as_ref().and_then(|i| i.leader()).map_or(0, |t| t.tid);
    for c in children {
        {
            let mut s = lock(&c.state);
            s.parent = init.as_ref().map(Arc::downgrade).unwrap_or_default();
            s.parent_tid = heir;
        }
        send_pdeath_signals(&c, tg);
        if let Some(i) = &init {
            let zombie = lock(&c.state).zombie;
            lock(&i.state).children.push(c);
            if zombie {
                i.child_wq.notify();
            }
        }
    }
    if tg.pid == 1 {
        // init is gone: so is everyone else in the sandbox.
        for g in k.groups() {
            if !Arc::ptr_eq(&g, tg) {
                group_exit_tg(
                    &g,
                    ExitStatus::Signaled {
                        sig: libc::SIGKILL,
                        core: false,
                    },
                );
            }
        }
    }
    let Some(parent) = parent else {
        k.unregister_group(tg.pid);
        return;
    };
    let exit_signal = lock(&tg.state).exit_signal;
    let pact = lock(&parent.sighand).get(libc::SIGCHLD);
    let autoreap = pact.handler == SIG_IGN || pact.flags & SA_NOCLDWAIT != 0;
    if autoreap {
        lock(&parent.state).children.retain(|c| !Arc::ptr_eq(c, tg));
        k.unregister_group(tg.pid);
    }
    if exit_signal != 0 {
        let (code, st) = match status {
            ExitStatus::Exited(c) => (CLD_EXITED, c),
            ExitStatus::Signaled { sig, core } => (if core { CLD_DUMPED } else { CLD_KILLED }, sig),
        };
        let info = SigInfo {
            signo: exit_signal,
            code,
            pid: tg.pid,
            uid: lock(&tg.creds).uid,
            status: st,
            ..Default::default()
        };
        send_to_group(&parent, info);
    }
    parent.child_wq.notify();
}
