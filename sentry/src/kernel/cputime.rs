//! CPU time of tasks and processes, CPU-time clocks, and the ticker that
//! expires timers on them (ITIMER_VIRTUAL/ITIMER_PROF and POSIX timers on
//! CPU clocks).
//!
//! User time is what the host counts for the stub processes that run the
//! application. The host lets the sentry read a stub's process CPU clock,
//! but not the clocks of its threads (they belong to another thread
//! group), so each reading of a stub's clock ("settling" it) splits what
//! the stub used since the previous reading among the tasks it runs, in
//! proportion to the wall time each spent in application code meanwhile.
//! Sums per process are exact; between threads that ran at the same time
//! the split is an estimate (threads that take turns are exact).
//!
//! System time is the CPU time of the sentry thread serving the task (one
//! per task): the sentry may read the clocks of its own threads.
//!
//! Linux checks CPU timers at every scheduler tick. Here one sentry thread
//! does it, and only while a CPU timer is armed: it sleeps for the least
//! CPU time any armed timer still needs, divided by the host CPUs (no
//! process can use CPU time faster), bounded to [`MIN_TICK`, `MAX_TICK`].

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Condvar, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

use nix::errno::Errno;

use super::task::{kernel, lock, Task, ThreadGroup};

/// Per-task state of the user-time split.
#[derive(Debug, Default)]
pub struct TaskCpu {
    /// The stub process (host pid) whose clock counts the task's time.
    stub: Option<i32>,
    /// Since when the task runs application code, if it does now.
    in_app_since: Option<Instant>,
    /// Wall time in application code since its stub was last settled.
    in_app: Duration,
    /// The task has ended and its times moved to its process's
    /// `dead_cpu`.
    gone: bool,
}

#[derive(Debug)]
struct Stub {
    /// The stub's CPU clock at the last settle, in ns.
    last: u64,
    tasks: Vec<Weak<Task>>,
}

/// Stub processes by host pid.
static STUBS: Mutex<BTreeMap<i32, Stub>> = Mutex::new(BTreeMap::new());

/// Which part of a CPU clock (Linux's CPUCLOCK_PROF/VIRT/SCHED).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    /// User plus system time.
    Prof,
    /// User time.
    Virt,
    /// All CPU time (the scheduler's runtime).
    Sched,
}

/// Whose CPU time a clock counts.
#[derive(Debug, Clone)]
pub enum Target {
    Process(Weak<ThreadGroup>),
    Thread(Weak<Task>),
}

/// A CPU-time clock.
#[derive(Debug, Clone)]
pub struct CpuClock {
    pub target: Target,
    pub which: Which,
}

fn ts_ns(ts: &libc::timespec) -> u64 {
    u64::try_from(ts.tv_sec)
        .unwrap_or(0)
        .saturating_mul(1_000_000_000)
        .saturating_add(u64::try_from(ts.tv_nsec).unwrap_or(0))
}

/// The host's CPU clock of process `pid` or thread `tid` (Linux's
/// encoding: `~pid << 3`, CPUCLOCK_SCHED = 2, CPUCLOCK_PERTHREAD = 4).
pub fn host_cpu_clock(pid: i32, thread: bool) -> libc::clockid_t {
    (!pid << 3) | 2 | if thread { 4 } else { 0 }
}

fn read_host_clock(id: libc::clockid_t) -> Option<u64> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: valid out-pointer; an unknown clock is only an error.
    (unsafe { libc::clock_gettime(id, &mut ts) } == 0).then(|| ts_ns(&ts))
}

/// The task starts using stub process `pid` (a new stub, a thread of an
/// existing one, or the stub exec moved it to).
pub fn attach(task: &Arc<Task>, pid: i32) {
    let mut stubs = lock(&STUBS);
    let s = stubs.entry(pid).or_insert_with(|| Stub {
        // The stub's own start-up is not the application's time.
        last: read_host_clock(host_cpu_clock(pid, false)).unwrap_or(0),
        tasks: Vec::new(),
    });
    s.tasks.retain(|w| w.strong_count() > 0);
    s.tasks.push(Arc::downgrade(task));
    lock(&task.cpu).stub = Some(pid);
}

/// The task stops using its stub: what the stub used so far is settled
/// first, and a stub nobody uses is forgotten (its pid may come back).
pub fn detach(task: &Arc<Task>) {
    let mut stubs = lock(&STUBS);
    let Some(pid) = lock(&task.cpu).stub.take() else {
        return;
    };
    settle(&mut stubs, pid, task);
    if let Some(s) = stubs.get_mut(&pid) {
        s.tasks
            .retain(|w| w.upgrade().is_some_and(|t| !Arc::ptr_eq(&t, task)));
        if s.tasks.is_empty() {
            stubs.remove(&pid);
        }
    }
}

/// Splits what stub `pid` used since its last settle among its tasks;
/// time no task spent in application code (injected host calls) goes to
/// `fallback` if it uses the stub, else to the first task.
fn settle(stubs: &mut BTreeMap<i32, Stub>, pid: i32, fallback: &Arc<Task>) {
    let Some(s) = stubs.get_mut(&pid) else { return };
    let Some(now) = read_host_clock(host_cpu_clock(pid, false)) else {
        return;
    };
    let delta = now.saturating_sub(s.last);
    s.last = now;
    let tasks: Vec<Arc<Task>> = s.tasks.iter().filter_map(Weak::upgrade).collect();
    let wall = Instant::now();
    let weights: Vec<u128> = tasks
        .iter()
        .map(|t| {
            let mut c = lock(&t.cpu);
            let mut w = std::mem::take(&mut c.in_app);
            if let Some(since) = c.in_app_since.as_mut() {
                w += wall.saturating_duration_since(*since);
                *since = wall;
            }
            w.as_nanos()
        })
        .collect();
    if delta == 0 || tasks.is_empty() {
        return;
    }
    let total: u128 = weights.iter().sum();
    if total == 0 {
        let t = tasks
            .iter()
            .find(|t| Arc::ptr_eq(t, fallback))
            .unwrap_or(&tasks[0]);
        t.utime_ns.fetch_add(delta, Ordering::Relaxed);
        return;
    }
    let mut given = 0u64;
    let mut top = 0;
    for (i, (t, w)) in tasks.iter().zip(&weights).enumerate() {
        if *w > weights[top] {
            top = i;
        }
        let share = u64::try_from(u128::from(delta) * w / total).unwrap_or(0);
        given += share;
        t.utime_ns.fetch_add(share, Ordering::Relaxed);
    }
    // Rounding leftovers go to the busiest task.
    tasks[top]
        .utime_ns
        .fetch_add(delta.saturating_sub(given), Ordering::Relaxed);
}

/// The task resumes application code.
pub fn enter_app(task: &Task) {
    lock(&task.cpu).in_app_since = Some(Instant::now());
}

/// The task stopped running application code.
pub fn leave_app(task: &Task) {
    let mut c = lock(&task.cpu);
    if let Some(since) = c.in_app_since.take() {
        c.in_app += since.elapsed();
    }
}

/// The task's system time: its sentry thread's CPU clock, while that
/// thread lives.
fn sys_ns(task: &Task, gone: bool) -> u64 {
    let tid = task.host_tid.load(Ordering::Acquire);
    if !gone && tid > 0 {
        if let Some(ns) = read_host_clock(host_cpu_clock(tid, true)) {
            task.stime_ns.fetch_max(ns, Ordering::Relaxed);
        }
    }
    task.stime_ns.load(Ordering::Relaxed)
}

/// (user, system) nanoseconds of a task, brought up to date.
pub fn task_times(task: &Arc<Task>) -> (u64, u64) {
    let (stub, gone) = {
        let c = lock(&task.cpu);
        (c.stub, c.gone)
    };
    if let Some(pid) = stub {
        settle(&mut lock(&STUBS), pid, task);
    }
    (task.utime_ns.load(Ordering::Relaxed), sys_ns(task, gone))
}

/// (user, system) nanoseconds of a process: its live threads brought up
/// to date, plus those that have ended.
pub fn group_times(tg: &ThreadGroup) -> (u64, u64) {
    // Held throughout, so no thread moves from live to dead meanwhile.
    let dead = lock(&tg.dead_cpu);
    let tasks: Vec<Arc<Task>> = lock(&tg.state)
        .tasks
        .iter()
        .filter_map(Weak::upgrade)
        .collect();
    let mut settled: Vec<i32> = Vec::new();
    let (mut user, mut sys) = *dead;
    for t in &tasks {
        let (stub, gone) = {
            let c = lock(&t.cpu);
            (c.stub, c.gone)
        };
        if gone {
            continue;
        }
        if let Some(pid) = stub.filter(|p| !settled.contains(p)) {
            settled.push(pid);
            settle(&mut lock(&STUBS), pid, t);
        }
        user = user.saturating_add(t.utime_ns.load(Ordering::Relaxed));
        sys = sys.saturating_add(sys_ns(t, false));
    }
    (user, sys)
}

/// The task has ended (called on its own sentry thread, after
/// [`detach`]): its times join the process's dead threads' times.
pub fn task_gone(task: &Arc<Task>) {
    if let Some(ns) = read_host_clock(libc::CLOCK_THREAD_CPUTIME_ID) {
        task.stime_ns.fetch_max(ns, Ordering::Relaxed);
    }
    let mut dead = lock(&task.tg.dead_cpu);
    let mut c = lock(&task.cpu);
    if c.gone {
        return;
    }
    c.gone = true;
    dead.0 = dead.0.saturating_add(task.utime_ns.load(Ordering::Relaxed));
    dead.1 = dead.1.saturating_add(task.stime_ns.load(Ordering::Relaxed));
}

/// exec from a non-leader thread made `new` out of `old` (same thread,
/// the process's pid): its times and its stub go with it.
pub fn task_replaced(old: &Arc<Task>, new: &Arc<Task>) {
    let stub = lock(&old.cpu).stub;
    detach(old);
    lock(&old.cpu).gone = true;
    new.utime_ns
        .store(old.utime_ns.load(Ordering::Relaxed), Ordering::Relaxed);
    new.stime_ns
        .store(old.stime_ns.load(Ordering::Relaxed), Ordering::Relaxed);
    if let Some(pid) = stub {
        attach(new, pid);
    }
}

impl CpuClock {
    /// The clock's reading in ns; `None` once its process is reaped or
    /// its thread has ended.
    pub fn now(&self) -> Option<u64> {
        let (user, sys) = match &self.target {
            Target::Process(tg) => group_times(&*tg.upgrade()?),
            Target::Thread(t) => {
                let t = t.upgrade()?;
                if lock(&t.cpu).gone {
                    return None;
                }
                task_times(&t)
            }
        };
        Some(match self.which {
            Which::Virt => user,
            Which::Prof | Which::Sched => user.saturating_add(sys),
        })
    }

    /// Whether the process or thread it counts can still use CPU time
    /// (a timer on it can still fire).
    pub fn alive(&self) -> bool {
        match &self.target {
            Target::Process(tg) => tg.upgrade().is_some_and(|tg| {
                let s = lock(&tg.state);
                !s.zombie && !s.exiting
            }),
            Target::Thread(t) => t.upgrade().is_some_and(|t| !lock(&t.cpu).gone),
        }
    }
}

/// The CPU clock `id` names for `caller` (Linux's `pid_for_clock`), or
/// `None` when `id` is no CPU clock. `gettime` allows naming the process
/// by the caller's own tid, as clock_gettime does.
pub fn resolve(caller: &Arc<Task>, id: i32, gettime: bool) -> Option<Result<CpuClock, Errno>> {
    let process = |tg: &Arc<ThreadGroup>| CpuClock {
        target: Target::Process(Arc::downgrade(tg)),
        which: Which::Sched,
    };
    match id {
        libc::CLOCK_PROCESS_CPUTIME_ID => return Some(Ok(process(&caller.tg))),
        libc::CLOCK_THREAD_CPUTIME_ID => {
            return Some(Ok(CpuClock {
                target: Target::Thread(Arc::downgrade(caller)),
                which: Which::Sched,
            }))
        }
        0.. => return None,
        _ => {}
    }
    let which = match id & 3 {
        0 => Which::Prof,
        1 => Which::Virt,
        2 => Which::Sched,
        // CPUCLOCK_CLOCKFD: a clock behind a file descriptor (PTP);
        // the sandbox has none.
        _ => return Some(Err(Errno::EINVAL)),
    };
    let thread = id & 4 != 0;
    let pid = !(id >> 3);
    let k = kernel();
    let target = if thread {
        let task = if pid == 0 {
            Some(caller.clone())
        } else {
            k.task(pid).filter(|t| Arc::ptr_eq(&t.tg, &caller.tg))
        };
        match task {
            Some(t) => Target::Thread(Arc::downgrade(&t)),
            None => return Some(Err(Errno::EINVAL)),
        }
    } else if pid == 0 || (gettime && pid == caller.tid) {
        Target::Process(Arc::downgrade(&caller.tg))
    } else {
        match k.group(pid) {
            Some(tg) => Target::Process(Arc::downgrade(&tg)),
            None => return Some(Err(Errno::EINVAL)),
        }
    };
    Some(Ok(CpuClock { target, which }))
}

// ---------------------------------------------------------------------------
// The ticker

/// Shortest and longest sleep of the ticker while CPU timers are armed.
const MIN_TICK: Duration = Duration::from_millis(1);
const MAX_TICK: Duration = Duration::from_millis(50);

#[derive(Debug, Default)]
struct Ticker {
    /// Bumped whenever a CPU timer is armed, so the ticker re-checks.
    generation: Mutex<u64>,
    cv: Condvar,
}

static TICKER: OnceLock<Ticker> = OnceLock::new();

fn ticker() -> &'static Ticker {
    TICKER.get_or_init(|| {
        crate::kernel::start_service("cpu-timers", ticker_thread, "CPU timers never fire");
        Ticker::default()
    })
}

/// A CPU timer was armed: the ticker must look at it.
pub fn timer_armed() {
    let t = ticker();
    *lock(&t.generation) += 1;
    t.cv.notify_all();
}

fn ticker_thread() {
    let t = ticker();
    let cpus = u32::try_from(kernel().ncpus.max(1)).unwrap_or(1);
    loop {
        let seen = *lock(&t.generation);
        // The least CPU time any armed timer still needs.
        let need = [super::timer::check_cpu(), super::posix_timer::check_cpu()]
            .into_iter()
            .flatten()
            .min();
        let g = lock(&t.generation);
        if *g != seen {
            continue;
        }
        let _g = match need {
            None => t.cv.wait(g).unwrap_or_else(|e| e.into_inner()),
            Some(ns) => {
                let sleep = (Duration::from_nanos(ns) / cpus).clamp(MIN_TICK, MAX_TICK);
                t.cv.wait_timeout(g, sleep)
                    .map(|(g, _)| g)
                    .unwrap_or_else(|e| e.into_inner().0)
            }
        };
    }
}
