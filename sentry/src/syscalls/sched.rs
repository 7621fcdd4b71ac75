//! Scheduler policy calls. Every application thread is SCHED_OTHER with
//! priority 0; real-time policies need CAP_SYS_NICE on the host, which the
//! sandbox never has, so they are refused with EPERM.

use nix::errno::Errno;

use super::{ok, Args, SysResult};
use crate::kernel::ctx::TaskCtx;
use crate::kernel::task::kernel;

const SCHED_OTHER: i32 = 0;
const SCHED_FIFO: i32 = 1;
const SCHED_RR: i32 = 2;
const SCHED_BATCH: i32 = 3;
const SCHED_IDLE: i32 = 5;
const SCHED_DEADLINE: i32 = 6;
const SCHED_RESET_ON_FORK: i32 = 0x4000_0000;

fn check_target(t: &TaskCtx, pid: i32) -> Result<(), Errno> {
    if pid < 0 {
        return Err(Errno::EINVAL);
    }
    if pid != 0 && pid != t.tid() && kernel().task(pid).is_none() {
        return Err(Errno::ESRCH);
    }
    Ok(())
}

pub fn sys_sched_getscheduler(t: &mut TaskCtx, a: &Args) -> SysResult {
    check_target(t, a.i32(0))?;
    ok(SCHED_OTHER)
}

pub fn sys_sched_setscheduler(t: &mut TaskCtx, a: &Args) -> SysResult {
    check_target(t, a.i32(0))?;
    let policy = a.i32(1) & !SCHED_RESET_ON_FORK;
    if a.u64(2) == 0 {
        return Err(Errno::EINVAL);
    }
    let prio: i32 = t.read_obj(a.u64(2))?;
    match policy {
        SCHED_OTHER | SCHED_BATCH | SCHED_IDLE => {
            if prio != 0 {
                return Err(Errno::EINVAL);
            }
            ok(0)
        }
        SCHED_FIFO | SCHED_RR => {
            if !(1..=99).contains(&prio) {
                return Err(Errno::EINVAL);
            }
            Err(Errno::EPERM)
        }
        _ => Err(Errno::EINVAL),
    }
}

pub fn sys_sched_getparam(t: &mut TaskCtx, a: &Args) -> SysResult {
    check_target(t, a.i32(0))?;
    if a.u64(1) == 0 {
        return Err(Errno::EINVAL);
    }
    t.write_obj(a.u64(1), &0i32)?;
    ok(0)
}

pub fn sys_sched_setparam(t: &mut TaskCtx, a: &Args) -> SysResult {
    check_target(t, a.i32(0))?;
    if a.u64(1) == 0 {
        return Err(Errno::EINVAL);
    }
    let prio: i32 = t.read_obj(a.u64(1))?;
    if prio != 0 {
        return Err(Errno::EINVAL);
    }
    ok(0)
}

pub fn sys_sched_get_priority_max(_t: &mut TaskCtx, a: &Args) -> SysResult {
    match a.i32(0) {
        SCHED_FIFO | SCHED_RR => ok(99),
        SCHED_OTHER | SCHED_BATCH | SCHED_IDLE | SCHED_DEADLINE => ok(0),
        _ => Err(Errno::EINVAL),
    }
}

pub fn sys_sched_get_priority_min(_t: &mut TaskCtx, a: &Args) -> SysResult {
    match a.i32(0) {
        SCHED_FIFO | SCHED_RR => ok(1),
        SCHED_OTHER | SCHED_BATCH | SCHED_IDLE | SCHED_DEADLINE => ok(0),
        _ => Err(Errno::EINVAL),
    }
}

pub fn sys_sched_rr_get_interval(t: &mut TaskCtx, a: &Args) -> SysResult {
    check_target(t, a.i32(0))?;
    // SCHED_OTHER threads report the CFS slice Linux reports: 0.
    t.write_obj(
        a.u64(1),
        &libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        },
    )?;
    ok(0)
}
