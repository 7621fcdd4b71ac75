//! System V IPC system calls: shmget, shmat, shmdt, shmctl, semget,
//! semop, semtimedop, semctl, msgget, msgsnd, msgrcv, msgctl. The objects
//! live in `kernel::ipc`; this file converts arguments and blocks. The
//! *_INFO commands report the limits the sentry enforces, which are
//! Linux's defaults and what /proc/sys/kernel shows.

use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::errno::Errno;

use super::{ok, Args, SysResult};
use crate::kernel::ctx::TaskCtx;
use crate::kernel::ipc::{
    msg, sem, shm, StatCmd, IPC_INFO, IPC_NOWAIT, IPC_RMID, IPC_SET, IPC_STAT, S_IRUGO, S_IWUGO,
};
use crate::kernel::task::{lock, Creds};
use crate::mm::{page_up, MapRequest, Mappable, VmaKind, PAGE_SIZE};

fn creds(t: &TaskCtx) -> Creds {
    lock(&t.tg().creds).clone()
}

/// Which kind of *_STAT `cmd` is, given the kind's STAT and STAT_ANY.
fn stat_cmd(cmd: i32, by_index: i32, any: i32) -> StatCmd {
    if cmd == by_index {
        StatCmd::Index
    } else if cmd == any {
        StatCmd::IndexAny
    } else {
        StatCmd::Ipc
    }
}

/// The key argument: a `key_t` (int).
fn key(a: &Args) -> i32 {
    a.i32(0)
}

// ---------------------------------------------------------------------------
// Shared memory

pub fn sys_shmget(t: &mut TaskCtx, a: &Args) -> SysResult {
    let c = creds(t);
    ok(shm::shmget(key(a), a.u64(1), a.i32(2), &c, t.pid())?)
}

pub fn sys_shmat(t: &mut TaskCtx, a: &Args) -> SysResult {
    let (id, mut addr, flg) = (a.i32(0), a.u64(1), a.i32(2));
    if id < 0 {
        return Err(Errno::EINVAL);
    }
    if addr != 0 {
        if !addr.is_multiple_of(shm::SHMLBA) {
            if flg & shm::SHM_RND == 0 {
                return Err(Errno::EINVAL);
            }
            addr &= !(shm::SHMLBA - 1);
            if addr == 0 && flg & shm::SHM_REMAP != 0 {
                return Err(Errno::EINVAL);
            }
        }
    } else if flg & shm::SHM_REMAP != 0 {
        return Err(Errno::EINVAL);
    }
    let (mut prot, mut acc) = if flg & shm::SHM_RDONLY != 0 {
        (libc::PROT_READ, S_IRUGO)
    } else {
        (libc::PROT_READ | libc::PROT_WRITE, S_IRUGO | S_IWUGO)
    };
    if flg & shm::SHM_EXEC != 0 {
        prot |= libc::PROT_EXEC;
        acc |= 0o111;
    }
    let c = creds(t);
    let seg = shm::attach_target(id, &c, acc)?;
    let len = page_up(seg.size).ok_or(Errno::EINVAL)?;
    if addr != 0 && addr.checked_add(len).is_none() {
        return Err(Errno::EINVAL);
    }
    let req = MapRequest {
        addr,
        len,
        prot,
        fixed: addr != 0,
        // Without SHM_REMAP an attach over existing mappings is EINVAL.
        noreplace: addr != 0 && flg & shm::SHM_REMAP == 0,
        shared: true,
        growsdown: false,
        kind: VmaKind::Shm(Arc::clone(&seg) as Arc<dyn Mappable>),
        pgoff: 0,
    };
    let mm = t.mm.clone();
    let at = mm.mmap(&mut t.ctx, req).map_err(|e| match e {
        Errno::EEXIST => Errno::EINVAL,
        e => e,
    })?;
    if flg & shm::SHM_RDONLY != 0 {
        mm.deny_shared_write(at);
    }
    shm::note_attach(&seg, t.pid(), true);
    ok(at)
}

pub fn sys_shmdt(t: &mut TaskCtx, a: &Args) -> SysResult {
    let addr = a.u64(0);
    if !addr.is_multiple_of(PAGE_SIZE) {
        return Err(Errno::EINVAL);
    }
    let mm = t.mm.clone();
    // Linux's shmdt: the first segment mapping at or after `addr` whose
    // offset matches its distance from `addr`, then every piece of the
    // same segment within its size.
    let vmas = mm.vmas_in(addr, platform::ptrace::APP_TOP);
    let pgoff_ok = |v: &crate::mm::Vma| (v.start - addr) / PAGE_SIZE == v.pgoff;
    let mut seg = None;
    for v in &vmas {
        if let VmaKind::Shm(m) = &v.kind {
            if pgoff_ok(v) {
                if let Some(s) = shm::segment_of(m) {
                    seg = Some(s);
                    break;
                }
            }
        }
    }
    let Some(seg) = seg else {
        return Err(Errno::EINVAL);
    };
    let end = addr.saturating_add(page_up(seg.size).unwrap_or(u64::MAX));
    let seg_ptr = Arc::as_ptr(&seg).cast::<u8>();
    let pieces: Vec<(u64, u64)> = vmas
        .iter()
        .filter(|v| v.end <= end && pgoff_ok(v))
        .filter(|v| matches!(&v.kind, VmaKind::Shm(m) if Arc::as_ptr(m).cast::<u8>() == seg_ptr))
        .map(|v| (v.start, v.end))
        .collect();
    drop(vmas);
    for (s, e) in pieces {
        mm.munmap(&mut t.ctx, s, e - s)?;
    }
    shm::note_attach(&seg, t.pid(), false);
    drop(seg);
    shm::after_detach();
    ok(0)
}

pub fn sys_shmctl(t: &mut TaskCtx, a: &Args) -> SysResult {
    let (id, cmd, buf) = (a.i32(0), a.i32(1), a.u64(2));
    if cmd < 0 || id < 0 {
        return Err(Errno::EINVAL);
    }
    let c = creds(t);
    match cmd {
        IPC_STAT | shm::SHM_STAT | shm::SHM_STAT_ANY => {
            let (b, r) = shm::stat(id, &c, stat_cmd(cmd, shm::SHM_STAT, shm::SHM_STAT_ANY))?;
            t.copy_out(buf, &b)?;
            ok(r)
        }
        IPC_INFO => {
            let (b, r) = shm::ipc_info();
            t.copy_out(buf, &b)?;
            ok(r)
        }
        shm::SHM_INFO => {
            let (b, r) = shm::shm_info();
            t.copy_out(buf, &b)?;
            ok(r)
        }
        IPC_SET => {
            let raw = t.copy_in_vec(buf, shm::SHMID_DS_SIZE)?;
            shm::set(id, &c, &raw)?;
            ok(0)
        }
        IPC_RMID => {
            shm::rmid(id, &c)?;
            ok(0)
        }
        shm::SHM_LOCK | shm::SHM_UNLOCK => {
            let memlock = t.tg().rlimit(libc::RLIMIT_MEMLOCK).cur;
            shm::set_locked(id, &c, cmd == shm::SHM_LOCK, memlock)?;
            ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}

// ---------------------------------------------------------------------------
// Semaphores

pub fn sys_semget(t: &mut TaskCtx, a: &Args) -> SysResult {
    let c = creds(t);
    ok(sem::semget(key(a), a.i32(1), a.i32(2), &c)?)
}

pub fn sys_semop(t: &mut TaskCtx, a: &Args) -> SysResult {
    semtimedop(t, a.i32(0), a.u64(1), a.u64(2), None)
}

pub fn sys_semtimedop(t: &mut TaskCtx, a: &Args) -> SysResult {
    let timeout = if a.u64(3) == 0 {
        None
    } else {
        Some(t.read_obj::<libc::timespec>(a.u64(3))?)
    };
    semtimedop(t, a.i32(0), a.u64(1), a.u64(2), timeout)
}

fn semtimedop(
    t: &mut TaskCtx,
    id: i32,
    sops: u64,
    nsops: u64,
    timeout: Option<libc::timespec>,
) -> SysResult {
    // nsops is an unsigned int.
    let nsops = nsops & 0xffff_ffff;
    if nsops < 1 || id < 0 {
        return Err(Errno::EINVAL);
    }
    let n = usize::try_from(nsops).map_err(|_| Errno::E2BIG)?;
    if n > sem::SEMOPM {
        return Err(Errno::E2BIG);
    }
    let raw = t.copy_in_vec(sops, n * 6)?;
    let ops: Vec<sem::SemOp> = raw
        .chunks_exact(6)
        .map(|b| sem::SemOp {
            num: u16::from_ne_bytes([b[0], b[1]]),
            op: i16::from_ne_bytes([b[2], b[3]]),
            flg: i16::from_ne_bytes([b[4], b[5]]),
        })
        .collect();
    let deadline = match timeout {
        Some(ts) => {
            if ts.tv_sec < 0 || !(0..1_000_000_000).contains(&ts.tv_nsec) {
                return Err(Errno::EINVAL);
            }
            let d = Duration::new(
                u64::try_from(ts.tv_sec).unwrap_or(0),
                u32::try_from(ts.tv_nsec).unwrap_or(0),
            );
            Some(Instant::now().checked_add(d).unwrap_or_else(far_future))
        }
        None => None,
    };
    let set = sem::lookup(id)?;
    let max = ops.iter().map(|o| usize::from(o.num)).max().unwrap_or(0);
    if max >= set.nsems {
        return Err(Errno::EFBIG);
    }
    let alter = ops.iter().any(|o| o.op != 0);
    let c = creds(t);
    if !lock(&set.state)
        .perm
        .allows(&c, if alter { S_IWUGO } else { S_IRUGO })
    {
        return Err(Errno::EACCES);
    }
    let pid = t.pid();
    let token = u64::try_from(t.tid()).unwrap_or(0);
    let set2 = Arc::clone(&set);
    let r = t.block(&[&set.wq], deadline, false, |_| {
        match set2.try_ops(&ops, pid)? {
            sem::Attempt::Done { altered } => {
                set2.set_waiter(token, None);
                if altered {
                    set2.wq.notify();
                }
                Ok(Some(()))
            }
            sem::Attempt::Block { num, zero } => {
                set2.set_waiter(token, Some((num, zero)));
                Ok(None)
            }
        }
    });
    set.set_waiter(token, None);
    match r {
        Ok(()) => ok(0),
        // semtimedop reports an expired timeout as EAGAIN.
        Err(Errno::ETIMEDOUT) => Err(Errno::EAGAIN),
        Err(e) => Err(e),
    }
}

fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(100 * 365 * 86400)
}

pub fn sys_semctl(t: &mut TaskCtx, a: &Args) -> SysResult {
    let (id, num, cmd, arg) = (a.i32(0), a.i32(1), a.i32(2), a.u64(3));
    if id < 0 || cmd < 0 {
        return Err(Errno::EINVAL);
    }
    let c = creds(t);
    match cmd {
        IPC_RMID => {
            sem::rmid(id, &c)?;
            ok(0)
        }
        sem::SETVAL => {
            // The union semun's int member: the low 32 bits.
            let val = a.i32(3);
            if !(0..=sem::SEMVMX).contains(&val) {
                return Err(Errno::ERANGE);
            }
            sem::lookup(id)?.set_vals(Some(num), &[val], &c, t.pid())?;
            ok(0)
        }
        sem::GETVAL | sem::GETPID | sem::GETNCNT | sem::GETZCNT => {
            ok(sem::lookup(id)?.get(cmd, num, &c)?)
        }
        sem::GETALL => {
            let vals = sem::lookup(id)?.get_all(&c)?;
            let bytes: Vec<u8> = vals.iter().flat_map(|v| v.to_ne_bytes()).collect();
            t.copy_out(arg, &bytes)?;
            ok(0)
        }
        sem::SETALL => {
            let set = sem::lookup(id)?;
            if !lock(&set.state).perm.allows(&c, S_IWUGO) {
                return Err(Errno::EACCES);
            }
            let raw = t.copy_in_vec(arg, set.nsems * 2)?;
            let vals: Vec<i32> = raw
                .chunks_exact(2)
                .map(|b| i32::from(u16::from_ne_bytes([b[0], b[1]])))
                .collect();
            set.set_vals(None, &vals, &c, t.pid())?;
            ok(0)
        }
        IPC_STAT | sem::SEM_STAT | sem::SEM_STAT_ANY => {
            let (b, r) = sem::stat(id, &c, stat_cmd(cmd, sem::SEM_STAT, sem::SEM_STAT_ANY))?;
            t.copy_out(arg, &b)?;
            ok(r)
        }
        IPC_INFO | sem::SEM_INFO => {
            let (b, r) = sem::info(cmd);
            t.copy_out(arg, &b)?;
            ok(r)
        }
        IPC_SET => {
            let raw = t.copy_in_vec(arg, sem::SEMID_DS_SIZE)?;
            sem::lookup(id)?.set(&c, &raw)?;
            ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}

// ---------------------------------------------------------------------------
// Message queues

pub fn sys_msgget(t: &mut TaskCtx, a: &Args) -> SysResult {
    let c = creds(t);
    ok(msg::msgget(key(a), a.i32(1), &c)?)
}

pub fn sys_msgsnd(t: &mut TaskCtx, a: &Args) -> SysResult {
    let (id, msgp, sz, flg) = (a.i32(0), a.u64(1), a.i64(2), a.i32(3));
    let typ: i64 = t.read_obj(msgp)?;
    let sz = usize::try_from(sz).map_err(|_| Errno::EINVAL)?;
    if sz > msg::MSGMAX || id < 0 || typ < 1 {
        return Err(Errno::EINVAL);
    }
    let data = t.copy_in_vec(msgp.checked_add(8).ok_or(Errno::EFAULT)?, sz)?;
    let q = msg::lookup(id)?;
    let c = creds(t);
    let pid = t.pid();
    let nowait = flg & IPC_NOWAIT != 0;
    let q2 = Arc::clone(&q);
    t.block(&[&q.wq], None, false, |_| {
        if q2.try_send(typ, &data, &c, pid)? {
            Ok(Some(()))
        } else if nowait {
            Err(Errno::EAGAIN)
        } else {
            Ok(None)
        }
    })?;
    ok(0)
}

pub fn sys_msgrcv(t: &mut TaskCtx, a: &Args) -> SysResult {
    let (id, msgp, sz, typ, flg) = (a.i32(0), a.u64(1), a.i64(2), a.i64(3), a.i32(4));
    let sz = usize::try_from(sz).map_err(|_| Errno::EINVAL)?;
    if id < 0 {
        return Err(Errno::EINVAL);
    }
    if flg & msg::MSG_COPY != 0 && (flg & msg::MSG_EXCEPT != 0 || flg & IPC_NOWAIT == 0) {
        return Err(Errno::EINVAL);
    }
    let sel = msg::Select::new(typ, flg);
    let q = msg::lookup(id)?;
    let c = creds(t);
    let pid = t.pid();
    let q2 = Arc::clone(&q);
    let (mtype, data) = t.block(&[&q.wq], None, false, |_| {
        match q2.try_recv(sel, sz, flg, &c, pid)? {
            Some(m) => Ok(Some(m)),
            None if flg & IPC_NOWAIT != 0 => Err(Errno::ENOMSG),
            None => Ok(None),
        }
    })?;
    // Linux has already taken the message off the queue when a bad
    // buffer turns up; so does this.
    t.write_obj(msgp, &mtype)?;
    t.copy_out(msgp.checked_add(8).ok_or(Errno::EFAULT)?, &data)?;
    ok(data.len())
}

pub fn sys_msgctl(t: &mut TaskCtx, a: &Args) -> SysResult {
    let (id, cmd, buf) = (a.i32(0), a.i32(1), a.u64(2));
    if id < 0 || cmd < 0 {
        return Err(Errno::EINVAL);
    }
    let c = creds(t);
    match cmd {
        IPC_STAT | msg::MSG_STAT | msg::MSG_STAT_ANY => {
            let (b, r) = msg::stat(id, &c, stat_cmd(cmd, msg::MSG_STAT, msg::MSG_STAT_ANY))?;
            t.copy_out(buf, &b)?;
            ok(r)
        }
        IPC_INFO | msg::MSG_INFO => {
            let (b, r) = msg::info(cmd);
            t.copy_out(buf, &b)?;
            ok(r)
        }
        IPC_SET => {
            let raw = t.copy_in_vec(buf, msg::MSQID_DS_SIZE)?;
            msg::lookup(id)?.set(&c, &raw)?;
            ok(0)
        }
        IPC_RMID => {
            msg::rmid(id, &c)?;
            ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}
