//! Tasks (threads) and thread groups (processes).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use std::time::Instant;

use nix::errno::Errno;

use super::signal::{PendingSignals, SigHandlers, SigInfo, SigSet};
use super::wait::{WaitQueue, Waker};
use crate::mm::MemoryManager;
use crate::vfs::{Dentry, FdTable, FsContext, Vfs};

/// Locks a mutex, carrying on past poisoning: a panic in one sentry thread
/// must not take the whole sandbox down with it.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// User and group identity of a process.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Creds {
    pub uid: u32,
    pub euid: u32,
    pub suid: u32,
    pub fsuid: u32,
    pub gid: u32,
    pub egid: u32,
    pub sgid: u32,
    pub fsgid: u32,
    pub groups: Vec<u32>,
    /// Capability sets (bit n = capability n; see `syscalls/caps.rs`).
    pub cap_eff: u64,
    pub cap_perm: u64,
    pub cap_inh: u64,
    pub cap_bset: u64,
    pub cap_amb: u64,
    /// PR_SET_KEEPCAPS (SECURE_KEEP_CAPS): cleared by exec.
    pub keepcaps: bool,
}

/// How a process ended, as wait4 reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    Exited(i32),
    Signaled { sig: i32, core: bool },
}

impl ExitStatus {
    /// The wait status word.
    pub fn wait_status(self) -> i32 {
        match self {
            ExitStatus::Exited(c) => (c & 0xff) << 8,
            ExitStatus::Signaled { sig, core } => sig | if core { 0x80 } else { 0 },
        }
    }

    /// The exit code a shell would show (128+N for signal N).
    pub fn shell_code(self) -> i32 {
        match self {
            ExitStatus::Exited(c) => c & 0xff,
            ExitStatus::Signaled { sig, .. } => 128 + sig,
        }
    }
}

/// Resource limit pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rlimit {
    pub cur: u64,
    pub max: u64,
}

pub const RLIM_INFINITY: u64 = u64::MAX;
pub const RLIMIT_COUNT: usize = 16;

fn default_rlimits() -> [Rlimit; RLIMIT_COUNT] {
    let inf = Rlimit {
        cur: RLIM_INFINITY,
        max: RLIM_INFINITY,
    };
    let mut r = [inf; RLIMIT_COUNT];
    r[libc::RLIMIT_STACK as usize] = Rlimit {
        cur: 8 << 20,
        max: RLIM_INFINITY,
    };
    r[libc::RLIMIT_CORE as usize] = Rlimit {
        cur: 0,
        max: RLIM_INFINITY,
    };
    r[libc::RLIMIT_NOFILE as usize] = Rlimit {
        cur: 1024,
        max: 4096,
    };
    r[libc::RLIMIT_NPROC as usize] = Rlimit {
        cur: 63_000,
        max: 63_000,
    };
    r[libc::RLIMIT_MEMLOCK as usize] = Rlimit {
        cur: 8 << 20,
        max: 8 << 20,
    };
    r[libc::RLIMIT_SIGPENDING as usize] = Rlimit {
        cur: 63_000,
        max: 63_000,
    };
    r[libc::RLIMIT_MSGQUEUE as usize] = Rlimit {
        cur: 819_200,
        max: 819_200,
    };
    r[libc::RLIMIT_NICE as usize] = Rlimit { cur: 0, max: 0 };
    r[libc::RLIMIT_RTPRIO as usize] = Rlimit { cur: 0, max: 0 };
    r
}

/// What exec leaves behind for /proc.
#[derive(Debug, Clone, Default)]
pub struct ExecInfo {
    pub exe: Option<Arc<Dentry>>,
    pub arg_start: u64,
    pub arg_end: u64,
    pub env_start: u64,
    pub env_end: u64,
    pub auxv: Vec<(u64, u64)>,
}

/// Mutable process-tree state of a thread group.
#[derive(Debug)]
pub struct TgState {
    pub parent: Weak<ThreadGroup>,
    /// The thread of `parent` this process counts as its parent (Linux's
    /// `real_parent` is a thread): its exit sends PR_SET_PDEATHSIG.
    pub parent_tid: i32,
    pub children: Vec<Arc<ThreadGroup>>,
    pub pgid: i32,
    pub sid: i32,
    pub tasks: Vec<Weak<Task>>,
    pub exit: Option<ExitStatus>,
    /// Set once the last thread has gone: the process is a zombie until
    /// its parent reaps it.
    pub zombie: bool,
    /// The signal the parent gets when this process dies (SIGCHLD).
    pub exit_signal: i32,
    /// The group is exiting (exit_group or a fatal signal).
    pub exiting: bool,
    /// Stopped by this signal (job control), until SIGCONT.
    pub stopped: Option<i32>,
    /// A stop (Some(sig)) or continue (Some(SIGCONT)) not yet reported by
    /// wait4/waitid.
    pub wait_event: Option<i32>,
    /// PR_SET_CHILD_SUBREAPER: orphaned descendants come here.
    pub subreaper: bool,
    /// The process has exec'd since fork (setpgid by the parent: EACCES).
    pub did_exec: bool,
    /// The controlling terminal (`signal->tty`): inherited on fork,
    /// dropped by setsid.
    pub ctty: Option<Arc<crate::vfs::tty::Tty>>,
}

/// Set when a vfork child has exec'd or exited; its parent waits on it.
pub type VforkDone = (Mutex<bool>, std::sync::Condvar);

/// A process.
#[derive(Debug)]
pub struct ThreadGroup {
    pub pid: i32,
    pub state: Mutex<TgState>,
    /// Notified when a child changes state (for wait4).
    pub child_wq: WaitQueue,
    pub mm: Mutex<Arc<MemoryManager>>,
    pub fds: Mutex<Arc<FdTable>>,
    pub fs: Mutex<FsContext>,
    pub sighand: Mutex<SigHandlers>,
    pub shared_pending: Mutex<PendingSignals>,
    pub creds: Mutex<Creds>,
    pub rlimits: Mutex<[Rlimit; RLIMIT_COUNT]>,
    pub exec: Mutex<ExecInfo>,
    pub start: Instant,
    /// Cleared when a vfork child execs or exits.
    pub vfork_done: Mutex<Option<Arc<VforkDone>>>,
    /// CPU time (user, sys) of reaped children, in nanoseconds.
    pub child_times: Mutex<(u64, u64)>,
    /// CPU time (user, sys) of the process's threads that have ended.
    pub dead_cpu: Mutex<(u64, u64)>,
}

/// A thread.
#[derive(Debug)]
pub struct Task {
    pub tid: i32,
    pub tg: Arc<ThreadGroup>,
    pub mask: Mutex<SigSet>,
    pub pending: Mutex<PendingSignals>,
    pub waker: Arc<Waker>,
    /// Set while the thread runs application code, so a signal can kick it.
    interrupter: Mutex<Option<platform::Interrupter>>,
    pub clear_child_tid: AtomicU64,
    pub comm: Mutex<Vec<u8>>,
    pub exited: AtomicBool,
    /// Another thread of the group is exec'ing: this one must go.
    pub killed_by_exec: AtomicBool,
    pub sigaltstack: Mutex<(u64, i32, u64)>,
    /// Mask to restore after a signal handler runs (rt_sigsuspend).
    pub saved_mask: Mutex<Option<SigSet>>,
    pub pdeath_signal: AtomicI32,
    pub utime_ns: AtomicU64,
    /// Nice value (-20..=19); inherited by children.
    pub nice: AtomicI32,
    /// sched_setaffinity mask (bit n = CPU n); 0 means every CPU.
    pub affinity: AtomicU64,
    /// Host tid of the sentry thread that runs this task.
    pub host_tid: AtomicI32,
    pub stime_ns: AtomicU64,
    /// How the task's stub time is split (`kernel/cputime.rs`).
    pub cpu: Mutex<super::cputime::TaskCpu>,
}

/// The sandbox's kernel: pid namespace and global state.
#[derive(Debug)]
pub struct Kernel {
    pub vfs: Arc<Vfs>,
    pub platform: &'static platform::ptrace::PtracePlatform,
    pids: Mutex<PidTable>,
    pub boot: Instant,
    pub hostname: Mutex<Vec<u8>>,
    pub domainname: Mutex<Vec<u8>>,
    pub strace: bool,
    /// Host CPUs the sandbox may use (read at boot: after confinement the
    /// sentry cannot read the cgroup files this needs).
    pub ncpus: usize,
    /// Notified whenever any process exits (the boot thread waits on it).
    pub exit_wq: WaitQueue,
}

#[derive(Debug, Default)]
struct PidTable {
    next: i32,
    tasks: BTreeMap<i32, Weak<Task>>,
    groups: BTreeMap<i32, Weak<ThreadGroup>>,
}

static KERNEL: OnceLock<Kernel> = OnceLock::new();

thread_local! {
    /// The task whose host thread this is (set by the task loop), for
    /// code that needs the caller without a `TaskCtx` (`/proc/self`).
    static CURRENT: std::cell::RefCell<Option<Weak<Task>>> = const { std::cell::RefCell::new(None) };
}

/// Records `task` as the task of the calling host thread.
pub fn set_current(task: &Arc<Task>) {
    CURRENT.with(|c| *c.borrow_mut() = Some(Arc::downgrade(task)));
}

/// The task of the calling host thread, if it runs one.
pub fn current() -> Option<Arc<Task>> {
    CURRENT.with(|c| c.borrow().as_ref().and_then(Weak::upgrade))
}

/// The sandbox's kernel. Set once at boot, before any task runs.
pub fn kernel() -> &'static Kernel {
    KERNEL.get().expect("kernel not booted")
}

pub const PID_MAX: i32 = 4_194_304;

impl Kernel {
    pub fn init(k: Kernel) -> &'static Kernel {
        KERNEL.get_or_init(|| k)
    }

    pub fn new(
        vfs: Arc<Vfs>,
        platform: &'static platform::ptrace::PtracePlatform,
        strace: bool,
    ) -> Kernel {
        Kernel {
            vfs,
            platform,
            pids: Mutex::new(PidTable {
                next: 1,
                ..Default::default()
            }),
            boot: Instant::now(),
            hostname: Mutex::new(b"rvisor".to_vec()),
            domainname: Mutex::new(b"(none)".to_vec()),
            strace,
            ncpus: std::thread::available_parallelism().map_or(1, usize::from),
            exit_wq: WaitQueue::new(),
        }
    }

    /// Allocates a pid (Linux starts at 1 and wraps before PID_MAX).
    pub fn alloc_pid(&self) -> Result<i32, Errno> {
        let mut t = lock(&self.pids);
        for _ in 0..PID_MAX {
            let p = t.next;
            t.next = if p + 1 >= PID_MAX { 300 } else { p + 1 };
            if !t.tasks.contains_key(&p) && !t.groups.contains_key(&p) {
                t.tasks.insert(p, Weak::new());
                return Ok(p);
            }
        }
        Err(Errno::EAGAIN)
    }

    pub fn register(&self, task: &Arc<Task>) {
        let mut t = lock(&self.pids);
        t.tasks.insert(task.tid, Arc::downgrade(task));
        if task.tid == task.tg.pid {
            t.groups.insert(task.tg.pid, Arc::downgrade(&task.tg));
        }
    }

    pub fn unregister_task(&self, tid: i32) {
        lock(&self.pids).tasks.remove(&tid);
    }

    pub fn unregister_group(&self, pid: i32) {
        lock(&self.pids).groups.remove(&pid);
    }

    pub fn task(&self, tid: i32) -> Option<Arc<Task>> {
        lock(&self.pids).tasks.get(&tid).and_then(Weak::upgrade)
    }

    pub fn group(&self, pid: i32) -> Option<Arc<ThreadGroup>> {
        lock(&self.pids).groups.get(&pid).and_then(Weak::upgrade)
    }

    pub fn groups(&self) -> Vec<Arc<ThreadGroup>> {
        lock(&self.pids)
            .groups
            .values()
            .filter_map(Weak::upgrade)
            .collect()
    }

    pub fn tasks(&self) -> Vec<Arc<Task>> {
        lock(&self.pids)
            .tasks
            .values()
            .filter_map(Weak::upgrade)
            .collect()
    }
}

impl ThreadGroup {
    #[allow(
        clippy::too_many_arguments,
        reason = "a process is made of all of these"
    )]
    pub fn new(
        pid: i32,
        parent: Weak<ThreadGroup>,
        pgid: i32,
        sid: i32,
        mm: Arc<MemoryManager>,
        fds: Arc<FdTable>,
        fs: FsContext,
        sighand: SigHandlers,
        creds: Creds,
        rlimits: Option<[Rlimit; RLIMIT_COUNT]>,
    ) -> Arc<ThreadGroup> {
        Arc::new(ThreadGroup {
            pid,
            state: Mutex::new(TgState {
                parent,
                parent_tid: 0,
                children: Vec::new(),
                pgid,
                sid,
                tasks: Vec::new(),
                exit: None,
                zombie: false,
                exit_signal: libc::SIGCHLD,
                exiting: false,
                stopped: None,
                wait_event: None,
                subreaper: false,
                did_exec: false,
                ctty: None,
            }),
            child_wq: WaitQueue::new(),
            mm: Mutex::new(mm),
            fds: Mutex::new(fds),
            fs: Mutex::new(fs),
            sighand: Mutex::new(sighand),
            shared_pending: Mutex::new(PendingSignals::default()),
            creds: Mutex::new(creds),
            rlimits: Mutex::new(rlimits.unwrap_or_else(default_rlimits)),
            exec: Mutex::new(ExecInfo::default()),
            start: Instant::now(),
            vfork_done: Mutex::new(None),
            child_times: Mutex::new((0, 0)),
            dead_cpu: Mutex::new((0, 0)),
        })
    }

    pub fn mm(&self) -> Arc<MemoryManager> {
        lock(&self.mm).clone()
    }

    pub fn fds(&self) -> Arc<FdTable> {
        lock(&self.fds).clone()
    }

    pub fn parent(&self) -> Option<Arc<ThreadGroup>> {
        lock(&self.state).parent.upgrade()
    }

    /// Live threads of the group.
    pub fn tasks(&self) -> Vec<Arc<Task>> {
        lock(&self.state)
            .tasks
            .iter()
            .filter_map(Weak::upgrade)
            .filter(|t| !t.exited.load(Ordering::Acquire))
            .collect()
    }

    pub fn leader(&self) -> Option<Arc<Task>> {
        self.tasks()
            .into_iter()
            .find(|t| t.tid == self.pid)
            .or_else(|| self.tasks().into_iter().next())
    }

    pub fn rlimit(&self, r: u32) -> Rlimit {
        let l = lock(&self.rlimits);
        l.get(r as usize).copied().unwrap_or(Rlimit {
            cur: RLIM_INFINITY,
            max: RLIM_INFINITY,
        })
    }
}

impl Task {
    pub fn new(tid: i32, tg: Arc<ThreadGroup>, mask: SigSet, comm: Vec<u8>) -> Arc<Task> {
        let t = Arc::new(Task {
            tid,
            tg,
            mask: Mutex::new(mask),
            pending: Mutex::new(PendingSignals::default()),
            waker: Waker::new(),
            interrupter: Mutex::new(None),
            clear_child_tid: AtomicU64::new(0),
            comm: Mutex::new(comm),
            exited: AtomicBool::new(false),
            killed_by_exec: AtomicBool::new(false),
            sigaltstack: Mutex::new((0, libc::SS_DISABLE, 0)),
            saved_mask: Mutex::new(None),
            pdeath_signal: AtomicI32::new(0),
            utime_ns: AtomicU64::new(0),
            nice: AtomicI32::new(0),
            affinity: AtomicU64::new(0),
            host_tid: AtomicI32::new(0),
            stime_ns: AtomicU64::new(0),
            cpu: Mutex::new(Default::default()),
        });
        lock(&t.tg.state).tasks.push(Arc::downgrade(&t));
        t
    }

    pub fn set_interrupter(&self, i: Option<platform::Interrupter>) {
        *lock(&self.interrupter) = i;
    }

    /// Whether the thread is running application code right now (as
    /// opposed to sleeping or working in the sentry): `/proc` shows it R.
    pub fn in_app_code(&self) -> bool {
        lock(&self.interrupter).is_some()
    }

    /// Makes the thread notice new work: wakes it if it sleeps in the
    /// sentry, stops it if it runs application code.
    pub fn kick(&self) {
        self.waker.wake();
        if let Some(i) = *lock(&self.interrupter) {
            i.interrupt();
        }
    }

    /// Queues a signal for this thread and kicks it.
    pub fn send_signal(&self, info: SigInfo) {
        lock(&self.pending).push(info);
        self.kick();
        crate::vfs::signalfd::signal_sent();
    }

    /// Whether a signal is pending that the thread does not block (so a
    /// blocking syscall must stop waiting).
    pub fn has_unblocked_signal(&self) -> bool {
        let mask = *lock(&self.mask);
        lock(&self.pending).has_unblocked(mask)
            || lock(&self.tg.shared_pending).has_unblocked(mask)
            || self.tg_exiting()
            || self.killed_by_exec.load(Ordering::Acquire)
    }

    pub fn tg_exiting(&self) -> bool {
        lock(&self.tg.state).exiting
    }

    pub fn comm(&self) -> Vec<u8> {
        lock(&self.comm).clone()
    }
}
