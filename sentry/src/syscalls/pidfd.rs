//! pidfd_open and pidfd_send_signal (the files are `vfs::pidfd`).

use std::sync::Arc;

use nix::errno::Errno;

use super::caps::may_signal_group;
use super::{ok, Args, SysResult};
use crate::kernel::ctx::TaskCtx;
use crate::kernel::run::send_to_group;
use crate::kernel::signal::{SigInfo, NSIG, SI_TKILL, SI_USER};
use crate::kernel::task::{kernel, lock, ThreadGroup};
use crate::vfs::pidfd::{pidfd_of, PidFd};

/// PIDFD_NONBLOCK is O_NONBLOCK.
const PIDFD_NONBLOCK: u32 = 0o4000;
/// pidfd_send_signal scopes (Linux 6.9).
const PIDFD_SIGNAL_THREAD: u32 = 1;
const PIDFD_SIGNAL_THREAD_GROUP: u32 = 2;
const PIDFD_SIGNAL_PROCESS_GROUP: u32 = 4;

/// Opens a pidfd for `tg` in the caller's fd table (always close-on-exec).
pub fn install(t: &TaskCtx, tg: Arc<ThreadGroup>, nonblock: bool) -> Result<i32, Errno> {
    t.fds().alloc(PidFd::open(tg, nonblock), true, 0)
}

/// The process a pidfd argument refers to, and whether the pidfd is
/// non-blocking. EBADF for a bad fd or a file that is not a pidfd.
pub fn target(t: &TaskCtx, fd: i32) -> Result<(Arc<ThreadGroup>, bool), Errno> {
    let f = t.fds().get(fd)?;
    if let Some(p) = pidfd_of(&f) {
        return Ok((p.tg.clone(), f.flags() & libc::O_NONBLOCK != 0));
    }
    // Linux also takes an open /proc/PID directory as a pidfd.
    let tg = proc_dir_process(&f).ok_or(Errno::EBADF)?;
    Ok((tg, f.flags() & libc::O_NONBLOCK != 0))
}

/// The process an open `/proc/PID` directory stands for: a numeric name in
/// a directory that has procfs's `self` link.
fn proc_dir_process(f: &crate::vfs::OpenFile) -> Option<Arc<ThreadGroup>> {
    let d = f.dentry.as_ref()?;
    let pid: i32 = std::str::from_utf8(&d.name).ok()?.parse().ok()?;
    let parent = d.parent.as_ref()?;
    let me = parent.inode.lookup(b"self").ok()?.readlink().ok()?;
    if me.is_empty() || !me.iter().all(u8::is_ascii_digit) || !d.inode.stat().ok()?.is_dir() {
        return None;
    }
    kernel().group(pid)
}

pub fn sys_pidfd_open(t: &mut TaskCtx, a: &Args) -> SysResult {
    let pid = a.i32(0);
    let flags = a.u32(1);
    if flags & !PIDFD_NONBLOCK != 0 || pid <= 0 {
        return Err(Errno::EINVAL);
    }
    let k = kernel();
    let Some(tg) = k.group(pid) else {
        // A thread that is not a group leader: EINVAL; nothing: ESRCH.
        return Err(if k.task(pid).is_some() {
            Errno::EINVAL
        } else {
            Errno::ESRCH
        });
    };
    ok(install(t, tg, flags & PIDFD_NONBLOCK != 0)?)
}

pub fn sys_pidfd_send_signal(t: &mut TaskCtx, a: &Args) -> SysResult {
    let fd = a.fd(0)?;
    let sig = a.i32(1);
    let infop = a.u64(2);
    let scope = a.u32(3);
    // At most one of PIDFD_SIGNAL_THREAD, _THREAD_GROUP, _PROCESS_GROUP.
    if scope & !(PIDFD_SIGNAL_THREAD | PIDFD_SIGNAL_THREAD_GROUP | PIDFD_SIGNAL_PROCESS_GROUP) != 0
        || scope.count_ones() > 1
    {
        return Err(Errno::EINVAL);
    }
    let (tg, _) = target(t, fd)?;
    if !(0..=NSIG).contains(&sig) {
        return Err(Errno::EINVAL);
    }
    let info = if infop != 0 {
        let raw: [u8; 128] = t
            .copy_in_vec(infop, 128)?
            .try_into()
            .map_err(|_| Errno::EFAULT)?;
        let info = SigInfo::from_bytes(&raw);
        if info.signo != sig {
            return Err(Errno::EINVAL);
        }
        // Only the calling thread itself may be sent SI_USER-like codes
        // (Linux compares the pidfd's pid with the caller's thread pid),
        // and never a whole process group.
        if (tg.pid != t.tid() || scope == PIDFD_SIGNAL_PROCESS_GROUP)
            && (info.code >= 0 || info.code == SI_TKILL)
        {
            return Err(Errno::EPERM);
        }
        info
    } else {
        SigInfo::user(sig, SI_USER, t.pid(), lock(&t.tg().creds).uid)
    };
    // A process that was reaped is gone (ESRCH); a zombie takes nothing.
    if kernel().group(tg.pid).is_none_or(|g| !Arc::ptr_eq(&g, &tg)) {
        return Err(Errno::ESRCH);
    }
    if scope == PIDFD_SIGNAL_PROCESS_GROUP {
        // Like kill(-pgid): success if any member may be signalled.
        let pgid = lock(&tg.state).pgid;
        let mut result = Err(Errno::ESRCH);
        for g in kernel().groups() {
            let s = lock(&g.state);
            let hit = s.pgid == pgid && !s.zombie;
            drop(s);
            if !hit {
                continue;
            }
            if may_signal_group(t, &g, sig) {
                send_to_group(&g, info);
                result = Ok(());
            } else if result.is_err() {
                result = Err(Errno::EPERM);
            }
        }
        result?;
        return ok(0);
    }
    if !may_signal_group(t, &tg, sig) {
        return Err(Errno::EPERM);
    }
    if scope == PIDFD_SIGNAL_THREAD {
        // A process pidfd names its leader thread.
        let leader = kernel()
            .task(tg.pid)
            .filter(|x| !x.exited.load(std::sync::atomic::Ordering::Acquire))
            .ok_or(Errno::ESRCH)?;
        if sig != 0 {
            leader.send_signal(info);
        }
    } else if !lock(&tg.state).zombie {
        send_to_group(&tg, info);
    }
    ok(0)
}
