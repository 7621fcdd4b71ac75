//! System information, identity, limits and scheduling.

use nix::errno::Errno;

use super::{ok, Args, SysResult};
use crate::kernel::ctx::TaskCtx;
use crate::kernel::task::{kernel, lock, Rlimit, RLIMIT_COUNT};

/// The kernel release the sandbox reports (see docs/architecture.md).
pub const RELEASE: &str = "6.1.0";
pub const VERSION: &str = "#1 SMP PREEMPT_DYNAMIC rvisor";

pub fn sys_uname(t: &mut TaskCtx, a: &Args) -> SysResult {
    let k = kernel();
    let fields: [Vec<u8>; 6] = [
        b"Linux".to_vec(),
        lock(&k.hostname).clone(),
        RELEASE.as_bytes().to_vec(),
        VERSION.as_bytes().to_vec(),
        b"x86_64".to_vec(),
        lock(&k.domainname).clone(),
    ];
    let mut buf = vec![0u8; 65 * 6];
    for (i, f) in fields.iter().enumerate() {
        let n = f.len().min(64);
        buf[i * 65..i * 65 + n].copy_from_slice(&f[..n]);
    }
    t.copy_out(a.u64(0), &buf)?;
    ok(0)
}

pub fn sys_sethostname(t: &mut TaskCtx, a: &Args) -> SysResult {
    let len = a.usize(1);
    if len > 64 {
        return Err(Errno::EINVAL);
    }
    let name = t.copy_in_vec(a.u64(0), len)?;
    let target = if a.nr == libc::SYS_sethostname as u64 {
        &kernel().hostname
    } else {
        &kernel().domainname
    };
    *lock(target) = name;
    ok(0)
}

pub fn sys_getrandom(t: &mut TaskCtx, a: &Args) -> SysResult {
    const GRND_NONBLOCK: u32 = 1;
    const GRND_RANDOM: u32 = 2;
    const GRND_INSECURE: u32 = 4;
    let flags = a.u32(2);
    if flags & !(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE) != 0
        || flags & (GRND_RANDOM | GRND_INSECURE) == (GRND_RANDOM | GRND_INSECURE)
    {
        return Err(Errno::EINVAL);
    }
    let len = a.usize(1).min(33_554_431);
    let mut buf = vec![0u8; len];
    fill_random(&mut buf);
    t.copy_out(a.u64(0), &buf)?;
    ok(len)
}

/// Fills `buf` from the host's random pool.
pub fn fill_random(buf: &mut [u8]) {
    let mut done = 0;
    while done < buf.len() {
        // SAFETY: writes at most buf.len() - done bytes into buf[done..].
        let r = unsafe { libc::getrandom(buf[done..].as_mut_ptr().cast(), buf.len() - done, 0) };
        if r <= 0 {
            break;
        }
        done += usize::try_from(r).unwrap_or(0);
    }
}

/// Linux's default fs.nr_open.
const NR_OPEN: u64 = 1_048_576;

/// prlimit64 on another process needs matching real, effective and saved
/// ids (check_prlimit_permission) or CAP_SYS_RESOURCE.
fn may_prlimit(t: &TaskCtx, target: &crate::kernel::task::ThreadGroup) -> bool {
    let me = lock(&t.tg().creds).clone();
    if super::caps::capable(&me, super::caps::CAP_SYS_RESOURCE) {
        return true;
    }
    let c = lock(&target.creds);
    [c.uid, c.euid, c.suid].iter().all(|&u| u == me.uid)
        && [c.gid, c.egid, c.sgid].iter().all(|&g| g == me.gid)
}

fn rlimit_index(r: u32) -> Result<u32, Errno> {
    if (r as usize) < RLIMIT_COUNT {
        Ok(r)
    } else {
        Err(Errno::EINVAL)
    }
}

fn put_rlimit(t: &mut TaskCtx, addr: u64, r: Rlimit) -> Result<(), Errno> {
    t.write_obj(
        addr,
        &libc::rlimit {
            rlim_cur: r.cur,
            rlim_max: r.max,
        },
    )
}

pub fn sys_getrlimit(t: &mut TaskCtx, a: &Args) -> SysResult {
    let r = rlimit_index(a.u32(0))?;
    let v = t.tg().rlimit(r);
    put_rlimit(t, a.u64(1), v)?;
    ok(0)
}

fn set_rlimit(
    t: &TaskCtx,
    tg: &std::sync::Arc<crate::kernel::task::ThreadGroup>,
    r: u32,
    new: Rlimit,
) -> Result<(), Errno> {
    if new.cur > new.max {
        return Err(Errno::EINVAL);
    }
    // fs.nr_open bounds RLIMIT_NOFILE even for root (RLIM_INFINITY too).
    if r == libc::RLIMIT_NOFILE && new.max > NR_OPEN {
        return Err(Errno::EPERM);
    }
    let mut l = lock(&tg.rlimits);
    let slot = l.get_mut(r as usize).ok_or(Errno::EINVAL)?;
    // Raising a hard limit needs CAP_SYS_RESOURCE.
    if new.max > slot.max && !super::caps::has(t, super::caps::CAP_SYS_RESOURCE) {
        return Err(Errno::EPERM);
    }
    *slot = new;
    drop(l);
    if r == libc::RLIMIT_NOFILE {
        tg.fds()
            .set_limit(usize::try_from(new.cur).unwrap_or(usize::MAX));
    }
    Ok(())
}

pub fn sys_setrlimit(t: &mut TaskCtx, a: &Args) -> SysResult {
    let r = rlimit_index(a.u32(0))?;
    let v: libc::rlimit = t.read_obj(a.u64(1))?;
    let tg = t.tg().clone();
    set_rlimit(
        t,
        &tg,
        r,
        Rlimit {
            cur: v.rlim_cur,
            max: v.rlim_max,
        },
    )?;
    ok(0)
}

pub fn sys_prlimit64(t: &mut TaskCtx, a: &Args) -> SysResult {
    let pid = a.i32(0);
    let r = rlimit_index(a.u32(1))?;
    let tg = if pid == 0 || pid == t.pid() {
        t.tg().clone()
    } else {
        kernel().group(pid).ok_or(Errno::ESRCH)?
    };
    if !std::sync::Arc::ptr_eq(&tg, t.tg()) && !may_prlimit(t, &tg) {
        return Err(Errno::EPERM);
    }
    let new = if a.u64(2) != 0 {
        Some(t.read_obj::<libc::rlimit>(a.u64(2))?)
    } else {
        None
    };
    let old = tg.rlimit(r);
    if let Some(n) = new {
        set_rlimit(
            t,
            &tg,
            r,
            Rlimit {
                cur: n.rlim_cur,
                max: n.rlim_max,
            },
        )?;
    }
    if a.u64(3) != 0 {
        put_rlimit(t, a.u64(3), old)?;
    }
    ok(0)
}

pub fn sys_getuid(t: &mut TaskCtx, _a: &Args) -> SysResult {
    ok(lock(&t.tg().creds).uid)
}
pub fn sys_geteuid(t: &mut TaskCtx, _a: &Args) -> SysResult {
    ok(lock(&t.tg().creds).euid)
}
pub fn sys_getgid(t: &mut TaskCtx, _a: &Args) -> SysResult {
    ok(lock(&t.tg().creds).gid)
}
pub fn sys_getegid(t: &mut TaskCtx, _a: &Args) -> SysResult {
    ok(lock(&t.tg().creds).egid)
}

pub fn sys_getresuid(t: &mut TaskCtx, a: &Args) -> SysResult {
    let c = lock(&t.tg().creds).clone();
    t.write_obj(a.u64(0), &c.uid)?;
    t.write_obj(a.u64(1), &c.euid)?;
    t.write_obj(a.u64(2), &c.suid)?;
    ok(0)
}

pub fn sys_getresgid(t: &mut TaskCtx, a: &Args) -> SysResult {
    let c = lock(&t.tg().creds).clone();
    t.write_obj(a.u64(0), &c.gid)?;
    t.write_obj(a.u64(1), &c.egid)?;
    t.write_obj(a.u64(2), &c.sgid)?;
    ok(0)
}

pub fn sys_getgroups(t: &mut TaskCtx, a: &Args) -> SysResult {
    let size = a.i32(0);
    let groups = lock(&t.tg().creds).groups.clone();
    if size < 0 {
        return Err(Errno::EINVAL);
    }
    if size == 0 {
        return ok(groups.len());
    }
    if usize::try_from(size).unwrap_or(0) < groups.len() {
        return Err(Errno::EINVAL);
    }
    let bytes: Vec<u8> = groups.iter().flat_map(|g| g.to_ne_bytes()).collect();
    t.copy_out(a.u64(1), &bytes)?;
    ok(groups.len())
}

fn all_cpus() -> u64 {
    let n = kernel().ncpus.min(64);
    if n == 64 {
        u64::MAX
    } else {
        (1u64 << n) - 1
    }
}

fn affinity_target(
    t: &TaskCtx,
    tid: i32,
) -> Result<std::sync::Arc<crate::kernel::task::Task>, Errno> {
    if tid == 0 {
        return Ok(t.task.clone());
    }
    if tid < 0 {
        return Err(Errno::ESRCH);
    }
    kernel().task(tid).ok_or(Errno::ESRCH)
}

pub fn sys_sched_getaffinity(t: &mut TaskCtx, a: &Args) -> SysResult {
    let len = a.usize(1);
    if len < 8 || !len.is_multiple_of(8) {
        return Err(Errno::EINVAL);
    }
    let task = affinity_target(t, a.i32(0))?;
    let mask = match task.affinity.load(std::sync::atomic::Ordering::Acquire) {
        0 => all_cpus(),
        m => m,
    };
    t.write_obj(a.u64(2), &mask)?;
    ok(8)
}

/// Pinning an application thread pins the sentry thread that runs it; its
/// stub follows the sentry thread's CPU, so getcpu in the application
/// reports the CPU it was pinned to.
pub fn sys_sched_setaffinity(t: &mut TaskCtx, a: &Args) -> SysResult {
    let task = affinity_target(t, a.i32(0))?;
    let len = a.usize(1).min(8);
    if len == 0 {
        return Err(Errno::EINVAL);
    }
    let mut raw = [0u8; 8];
    t.copy_in(a.u64(2), &mut raw[..len])?;
    let mask = u64::from_le_bytes(raw) & all_cpus();
    if mask == 0 {
        return Err(Errno::EINVAL);
    }
    task.affinity
        .store(mask, std::sync::atomic::Ordering::Release);
    let mut set = nix::sched::CpuSet::new();
    for cpu in 0..64usize {
        if mask & (1 << cpu) != 0 {
            let _ = set.set(cpu);
        }
    }
    let host = task.host_tid.load(std::sync::atomic::Ordering::Acquire);
    let _ = nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(host), &set);
    ok(0)
}

pub fn sys_sched_yield(_t: &mut TaskCtx, _a: &Args) -> SysResult {
    std::thread::yield_now();
    ok(0)
}

pub fn sys_getcpu(t: &mut TaskCtx, a: &Args) -> SysResult {
    // SAFETY: sched_getcpu has no preconditions.
    let cpu = u32::try_from(unsafe { libc::sched_getcpu() }).unwrap_or(0);
    if a.u64(0) != 0 {
        t.write_obj(a.u64(0), &cpu)?;
    }
    if a.u64(1) != 0 {
        t.write_obj(a.u64(1), &0u32)?;
    }
    ok(0)
}

pub fn sys_sysinfo(t: &mut TaskCtx, a: &Args) -> SysResult {
    // SAFETY: sysinfo fills a plain struct.
    let mut si: libc::sysinfo = unsafe { std::mem::zeroed() };
    // SAFETY: valid out-pointer.
    unsafe { libc::sysinfo(&mut si) };
    let k = kernel();
    si.uptime = i64::try_from(k.boot.elapsed().as_secs()).unwrap_or(0);
    si.procs = u16::try_from(k.groups().len()).unwrap_or(u16::MAX);
    // SAFETY: sysinfo is plain data; viewing it as bytes is sound.
    let bytes = unsafe {
        std::slice::from_raw_parts(
            (&si as *const libc::sysinfo).cast::<u8>(),
            std::mem::size_of::<libc::sysinfo>(),
        )
    }
    .to_vec();
    t.copy_out(a.u64(0), &bytes)?;
    ok(0)
}

pub fn sys_umask(t: &mut TaskCtx, a: &Args) -> SysResult {
    let mut fs = lock(&t.tg().fs);
    let old = fs.umask;
    fs.umask = a.u32(0) & 0o777;
    ok(old)
}

/// The threads a getpriority/setpriority (which, who) pair names.
fn priority_targets(
    t: &TaskCtx,
    which: i32,
    who: i32,
) -> Result<Vec<std::sync::Arc<crate::kernel::task::Task>>, Errno> {
    let k = kernel();
    let tasks = match u32::try_from(which).unwrap_or(u32::MAX) {
        libc::PRIO_PROCESS => {
            if who == 0 {
                vec![t.task.clone()]
            } else {
                k.task(who).into_iter().collect()
            }
        }
        libc::PRIO_PGRP => {
            let pgid = if who == 0 {
                lock(&t.tg().state).pgid
            } else {
                who
            };
            k.tasks()
                .into_iter()
                .filter(|x| lock(&x.tg.state).pgid == pgid)
                .collect()
        }
        libc::PRIO_USER => {
            #[allow(clippy::cast_sign_loss, reason = "uids are the register's bits")]
            let uid = if who == 0 {
                lock(&t.tg().creds).uid
            } else {
                who as u32
            };
            k.tasks()
                .into_iter()
                .filter(|x| lock(&x.tg.creds).uid == uid)
                .collect()
        }
        _ => return Err(Errno::EINVAL),
    };
    if tasks.is_empty() {
        return Err(Errno::ESRCH);
    }
    Ok(tasks)
}

pub fn sys_getpriority(t: &mut TaskCtx, a: &Args) -> SysResult {
    let tasks = priority_targets(t, a.i32(0), a.i32(1))?;
    let nice = tasks
        .iter()
        .map(|x| x.nice.load(std::sync::atomic::Ordering::Acquire))
        .min()
        .unwrap_or(0);
    // The system call returns 20 - nice (glibc converts it back).
    ok(20 - nice)
}

/// setpriority: Linux's set_one_prio for every target. Without
/// CAP_SYS_NICE the caller's effective uid must be the target's real or
/// effective uid (EPERM), a nice value may only be lowered as far as the
/// target's RLIMIT_NICE allows (`20 - nice <= limit`, EACCES), and the
/// target may not have permitted capabilities the caller lacks (EPERM,
/// commoncap's cap_safe_nice). Each target is judged alone; the last
/// failure is the result.
pub fn sys_setpriority(t: &mut TaskCtx, a: &Args) -> SysResult {
    let tasks = priority_targets(t, a.i32(0), a.i32(1))?;
    let nice = a.i32(2).clamp(-20, 19);
    let (euid, perm, privileged) = {
        let c = lock(&t.tg().creds);
        let privileged = super::caps::capable(&c, super::caps::CAP_SYS_NICE);
        (c.euid, c.cap_perm, privileged)
    };
    let mut result = Ok(());
    for x in &tasks {
        let (uid, xeuid, xperm) = {
            let c = lock(&x.tg.creds);
            (c.uid, c.euid, c.cap_perm)
        };
        if !privileged && uid != euid && xeuid != euid {
            result = Err(Errno::EPERM);
            continue;
        }
        let limit = x.tg.rlimit(libc::RLIMIT_NICE).cur;
        let lowering = nice < x.nice.load(std::sync::atomic::Ordering::Acquire);
        if lowering && !privileged && (20 - i64::from(nice)).unsigned_abs() > limit {
            result = Err(Errno::EACCES);
            continue;
        }
        if !privileged && xperm & !perm != 0 {
            result = Err(Errno::EPERM);
            continue;
        }
        x.nice.store(nice, std::sync::atomic::Ordering::Release);
    }
    result?;
    ok(0)
}
