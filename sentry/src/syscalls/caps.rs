//! Capabilities: capget, capset, the capability prctls, and the rules
//! that tie the capability sets to uid changes and exec.
//!
//! Each process's [`Creds`] carries Linux's five sets (effective,
//! permitted, inheritable, bounding, ambient) as bit masks. There are no
//! file capabilities: exec computes the sets as Linux does for a file
//! without them (root gets its bounding set, others their ambient set).
//! The sentry's privilege checks ask [`capable`] instead of "euid == 0".

use nix::errno::Errno;

use super::{ok, Args, SysResult};
use crate::kernel::ctx::TaskCtx;
use crate::kernel::task::{kernel, lock, Creds, ThreadGroup};

pub const CAP_CHOWN: u32 = 0;
pub const CAP_DAC_OVERRIDE: u32 = 1;
pub const CAP_DAC_READ_SEARCH: u32 = 2;
pub const CAP_FOWNER: u32 = 3;
pub const CAP_FSETID: u32 = 4;
pub const CAP_KILL: u32 = 5;
pub const CAP_SETGID: u32 = 6;
pub const CAP_SETUID: u32 = 7;
pub const CAP_SETPCAP: u32 = 8;
pub const CAP_LINUX_IMMUTABLE: u32 = 9;
pub const CAP_NET_BIND_SERVICE: u32 = 10;
pub const CAP_NET_ADMIN: u32 = 12;
pub const CAP_IPC_LOCK: u32 = 14;
pub const CAP_IPC_OWNER: u32 = 15;
pub const CAP_SYS_CHROOT: u32 = 18;
pub const CAP_SYS_PTRACE: u32 = 19;
pub const CAP_SYS_ADMIN: u32 = 21;
pub const CAP_SYS_NICE: u32 = 23;
pub const CAP_SYS_RESOURCE: u32 = 24;
pub const CAP_MKNOD: u32 = 27;
pub const CAP_MAC_OVERRIDE: u32 = 32;
/// CAP_CHECKPOINT_RESTORE, the highest capability Linux 6.x knows.
pub const CAP_LAST_CAP: u32 = 40;
/// Every valid capability.
pub const CAP_FULL: u64 = (1 << (CAP_LAST_CAP + 1)) - 1;

/// The capabilities a change of fsuid to or from 0 drops or raises
/// (Linux's CAP_FS_MASK).
const CAP_FS_MASK: u64 = bit(CAP_CHOWN)
    | bit(CAP_DAC_OVERRIDE)
    | bit(CAP_DAC_READ_SEARCH)
    | bit(CAP_FOWNER)
    | bit(CAP_FSETID)
    | bit(CAP_LINUX_IMMUTABLE)
    | bit(CAP_MKNOD)
    | bit(CAP_MAC_OVERRIDE);

const fn bit(cap: u32) -> u64 {
    1 << cap
}

const VERSION_1: u32 = 0x1998_0330;
const VERSION_2: u32 = 0x2007_1026;
const VERSION_3: u32 = 0x2008_0522;

/// Whether `c` holds `cap` in its effective set.
pub fn capable(c: &Creds, cap: u32) -> bool {
    cap <= CAP_LAST_CAP && c.cap_eff & bit(cap) != 0
}

/// Whether the calling process holds `cap`.
pub fn has(t: &TaskCtx, cap: u32) -> bool {
    capable(&lock(&t.tg().creds), cap)
}

/// The sets of the first process: a full bounding set, then what exec
/// gives its uid.
pub fn initial(mut c: Creds) -> Creds {
    c.cap_bset = CAP_FULL;
    on_exec(&mut c);
    c
}

/// Recomputes the sets at exec for a file without file capabilities
/// (cap_bprm_creds_from_file): root (real or effective) gets
/// `bounding | inheritable` permitted, effective too if its euid is 0;
/// anyone else keeps only the ambient set. KEEPCAPS is cleared.
pub fn on_exec(c: &mut Creds) {
    let mut perm = 0;
    if c.uid == 0 || c.euid == 0 {
        perm = c.cap_bset | c.cap_inh;
    }
    perm |= c.cap_amb;
    c.cap_perm = perm & CAP_FULL;
    c.cap_eff = if c.euid == 0 { c.cap_perm } else { c.cap_amb };
    c.keepcaps = false;
}

/// Linux's cap_emulate_setxuid, after setuid/setreuid/setresuid: losing
/// uid 0 everywhere clears permitted and effective (unless KEEPCAPS) and
/// ambient; losing euid 0 clears effective; gaining it restores
/// effective from permitted.
pub fn fix_setuid(old: &Creds, new: &mut Creds) {
    let had_root = old.uid == 0 || old.euid == 0 || old.suid == 0;
    let has_root = new.uid == 0 || new.euid == 0 || new.suid == 0;
    if had_root && !has_root {
        if !new.keepcaps {
            new.cap_perm = 0;
            new.cap_eff = 0;
        }
        new.cap_amb = 0;
    }
    if old.euid == 0 && new.euid != 0 {
        new.cap_eff = 0;
    }
    if old.euid != 0 && new.euid == 0 {
        new.cap_eff = new.cap_perm;
    }
    fix_setfsuid(old.fsuid, new);
}

/// After an fsuid change: leaving 0 drops the filesystem capabilities
/// from the effective set, entering 0 raises them from permitted.
pub fn fix_setfsuid(old_fsuid: u32, new: &mut Creds) {
    if old_fsuid == 0 && new.fsuid != 0 {
        new.cap_eff &= !CAP_FS_MASK;
    }
    if old_fsuid != 0 && new.fsuid == 0 {
        new.cap_eff |= new.cap_perm & CAP_FS_MASK;
    }
}

/// Whether a process with `sender` creds may send `sig` to one with
/// `target` creds (kill_ok_by_cred): its real or effective uid must be
/// the target's real or saved uid, or it holds CAP_KILL. SIGCONT within
/// the same session is always allowed (`same_session`).
pub fn may_signal(sender: &Creds, target: &Creds, sig: i32, same_session: bool) -> bool {
    (sig == libc::SIGCONT && same_session)
        || [sender.uid, sender.euid]
            .iter()
            .any(|&u| u == target.uid || u == target.suid)
        || capable(sender, CAP_KILL)
}

/// [`may_signal`] from the calling process to `target`.
pub fn may_signal_group(t: &TaskCtx, target: &ThreadGroup, sig: i32) -> bool {
    if std::ptr::eq(t.tg().as_ref(), target) {
        return true;
    }
    let me = lock(&t.tg().creds).clone();
    let them = lock(&target.creds).clone();
    let same_session = lock(&t.tg().state).sid == lock(&target.state).sid;
    may_signal(&me, &them, sig, same_session)
}

/// Linux's `__ptrace_may_access` for PTRACE_MODE_READ_REALCREDS between
/// different processes: the caller's real uid and gid must be all of the
/// target's real, effective and saved ids, or it holds CAP_SYS_PTRACE.
pub fn may_inspect(me: &Creds, target: &Creds) -> bool {
    ([target.uid, target.euid, target.suid]
        .iter()
        .all(|&u| u == me.uid)
        && [target.gid, target.egid, target.sgid]
            .iter()
            .all(|&g| g == me.gid))
        || capable(me, CAP_SYS_PTRACE)
}

/// Checks the header's version: unknown versions make the kernel write
/// back the one it prefers and fail with EINVAL. Returns the number of
/// 32-bit data structs the version uses.
fn header_version(t: &mut TaskCtx, hdr: u64) -> Result<usize, Errno> {
    let version: u32 = t.read_obj(hdr)?;
    match version {
        VERSION_1 => Ok(1),
        VERSION_2 | VERSION_3 => Ok(2),
        _ => {
            t.write_obj(hdr, &VERSION_3)?;
            Err(Errno::EINVAL)
        }
    }
}

/// The three sets as `n` `__user_cap_data_struct`s (low word first).
fn encode(c: &Creds, n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(n * 12);
    for i in 0..n {
        for set in [c.cap_eff, c.cap_perm, c.cap_inh] {
            let word = u32::try_from((set >> (32 * i)) & 0xffff_ffff).unwrap_or(0);
            out.extend_from_slice(&word.to_ne_bytes());
        }
    }
    out
}

pub fn sys_capget(t: &mut TaskCtx, a: &Args) -> SysResult {
    let (hdr, data) = (a.u64(0), a.u64(1));
    let n = match header_version(t, hdr) {
        Ok(n) => n,
        // A NULL data pointer only asks which version the kernel wants.
        Err(Errno::EINVAL) if data == 0 => return ok(0),
        Err(e) => return Err(e),
    };
    if data == 0 {
        return ok(0);
    }
    let pid: i32 = t.read_obj(hdr + 4)?;
    if pid < 0 {
        return Err(Errno::EINVAL);
    }
    let creds = if pid == 0 || pid == t.pid() {
        lock(&t.tg().creds).clone()
    } else {
        // A reaped process's task can outlive its pid: ask for the group.
        let k = kernel();
        let task = k
            .task(pid)
            .filter(|x| k.group(x.tg.pid).is_some())
            .ok_or(Errno::ESRCH)?;
        let c = lock(&task.tg.creds).clone();
        c
    };
    t.copy_out(data, &encode(&creds, n))?;
    ok(0)
}

pub fn sys_capset(t: &mut TaskCtx, a: &Args) -> SysResult {
    let (hdr, data) = (a.u64(0), a.u64(1));
    let n = header_version(t, hdr)?;
    let pid: i32 = t.read_obj(hdr + 4)?;
    // Only the caller's own sets may be changed.
    if pid != 0 && pid != t.pid() {
        return Err(Errno::EPERM);
    }
    let raw = t.copy_in_vec(data, n * 12)?;
    let (mut eff, mut perm, mut inh) = (0u64, 0u64, 0u64);
    for (i, chunk) in raw.chunks_exact(12).enumerate() {
        let word = |k: usize| {
            u64::from(u32::from_ne_bytes([
                chunk[k],
                chunk[k + 1],
                chunk[k + 2],
                chunk[k + 3],
            ])) << (32 * i)
        };
        eff |= word(0);
        perm |= word(4);
        inh |= word(8);
    }
    let (eff, perm, inh) = (eff & CAP_FULL, perm & CAP_FULL, inh & CAP_FULL);
    let mut c = lock(&t.tg().creds);
    check_capset(&c, eff, perm, inh)?;
    c.cap_eff = eff;
    c.cap_perm = perm;
    c.cap_inh = inh;
    // The ambient set stays within permitted ∩ inheritable.
    c.cap_amb &= perm & inh;
    ok(0)
}

/// Linux's cap_capset rules.
fn check_capset(old: &Creds, eff: u64, perm: u64, inh: u64) -> Result<(), Errno> {
    // Without CAP_SETPCAP, inheritable may only take permitted bits.
    if !capable(old, CAP_SETPCAP) && inh & !(old.cap_inh | old.cap_perm) != 0 {
        return Err(Errno::EPERM);
    }
    // Nothing outside the bounding set may become inheritable.
    if inh & !(old.cap_inh | old.cap_bset) != 0 {
        return Err(Errno::EPERM);
    }
    if perm & !old.cap_perm != 0 || eff & !perm != 0 {
        return Err(Errno::EPERM);
    }
    Ok(())
}

const PR_CAP_AMBIENT_IS_SET: u64 = 1;
const PR_CAP_AMBIENT_RAISE: u64 = 2;
const PR_CAP_AMBIENT_LOWER: u64 = 3;
const PR_CAP_AMBIENT_CLEAR_ALL: u64 = 4;

/// A capability number argument: EINVAL beyond CAP_LAST_CAP.
fn cap_arg(v: u64) -> Result<u32, Errno> {
    u32::try_from(v)
        .ok()
        .filter(|&c| c <= CAP_LAST_CAP)
        .ok_or(Errno::EINVAL)
}

/// The capability-related prctls; `None` for any other option.
pub fn prctl(t: &mut TaskCtx, a: &Args) -> Option<SysResult> {
    let r = match a.i32(0) {
        libc::PR_CAPBSET_READ => {
            cap_arg(a.u64(1)).map(|cap| u64::from(lock(&t.tg().creds).cap_bset & bit(cap) != 0))
        }
        libc::PR_CAPBSET_DROP => cap_arg(a.u64(1)).and_then(|cap| {
            let mut c = lock(&t.tg().creds);
            if !capable(&c, CAP_SETPCAP) {
                return Err(Errno::EPERM);
            }
            c.cap_bset &= !bit(cap);
            Ok(0)
        }),
        libc::PR_GET_KEEPCAPS => Ok(u64::from(lock(&t.tg().creds).keepcaps)),
        libc::PR_SET_KEEPCAPS => match a.u64(1) {
            v @ (0 | 1) => {
                lock(&t.tg().creds).keepcaps = v == 1;
                Ok(0)
            }
            _ => Err(Errno::EINVAL),
        },
        libc::PR_CAP_AMBIENT => ambient(t, a),
        _ => return None,
    };
    Some(r.map(super::SyscallReturn::Value))
}

fn ambient(t: &TaskCtx, a: &Args) -> Result<u64, Errno> {
    let mut c = lock(&t.tg().creds);
    if a.u64(1) == PR_CAP_AMBIENT_CLEAR_ALL {
        if a.u64(2) != 0 || a.u64(3) != 0 || a.u64(4) != 0 {
            return Err(Errno::EINVAL);
        }
        c.cap_amb = 0;
        return Ok(0);
    }
    if a.u64(3) != 0 || a.u64(4) != 0 {
        return Err(Errno::EINVAL);
    }
    let cap = cap_arg(a.u64(2))?;
    match a.u64(1) {
        PR_CAP_AMBIENT_IS_SET => Ok(u64::from(c.cap_amb & bit(cap) != 0)),
        PR_CAP_AMBIENT_RAISE => {
            if c.cap_perm & c.cap_inh & bit(cap) == 0 {
                return Err(Errno::EPERM);
            }
            c.cap_amb |= bit(cap);
            Ok(0)
        }
        PR_CAP_AMBIENT_LOWER => {
            c.cap_amb &= !bit(cap);
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> Creds {
        initial(Creds::default())
    }

    #[test]
    fn root_gets_full_sets_and_setuid_drops_them() {
        let r = root();
        assert_eq!((r.cap_eff, r.cap_perm), (CAP_FULL, CAP_FULL));
        let mut n = r.clone();
        (n.uid, n.euid, n.suid, n.fsuid) = (1000, 1000, 1000, 1000);
        fix_setuid(&r, &mut n);
        assert_eq!((n.cap_eff, n.cap_perm), (0, 0));
        let mut k = r.clone();
        k.keepcaps = true;
        let mut n = k.clone();
        (n.uid, n.euid, n.suid, n.fsuid) = (1000, 1000, 1000, 1000);
        fix_setuid(&k, &mut n);
        assert_eq!((n.cap_eff, n.cap_perm), (0, CAP_FULL));
        let mut e = r.clone();
        (e.euid, e.fsuid) = (1000, 1000);
        fix_setuid(&r, &mut e);
        assert_eq!((e.cap_eff, e.cap_perm), (0, CAP_FULL));
        let mut back = e.clone();
        (back.euid, back.fsuid) = (0, 0);
        fix_setuid(&e, &mut back);
        assert_eq!(back.cap_eff, CAP_FULL);
    }

    #[test]
    fn capset_rules() {
        let r = root();
        let drop = CAP_FULL & !bit(CAP_CHOWN);
        assert!(check_capset(&r, drop, drop, 0).is_ok());
        let mut d = r.clone();
        (d.cap_eff, d.cap_perm) = (drop, drop);
        assert_eq!(check_capset(&d, CAP_FULL, CAP_FULL, 0), Err(Errno::EPERM));
        assert_eq!(check_capset(&d, CAP_FULL, drop, 0), Err(Errno::EPERM));
        let user = Creds {
            uid: 1,
            euid: 1,
            ..Creds::default()
        };
        assert_eq!(check_capset(&user, 0, 0, 1), Err(Errno::EPERM));
    }

    #[test]
    fn kill_permission() {
        let a = Creds {
            uid: 1000,
            euid: 1000,
            suid: 1000,
            ..Creds::default()
        };
        let b = Creds {
            uid: 1001,
            euid: 1001,
            suid: 1001,
            ..Creds::default()
        };
        assert!(!may_signal(&a, &b, libc::SIGTERM, false));
        assert!(may_signal(&a, &b, libc::SIGCONT, true));
        assert!(may_signal(&a, &a, libc::SIGTERM, false));
        assert!(may_signal(&root(), &b, libc::SIGTERM, false));
    }
}
