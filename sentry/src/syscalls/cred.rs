//! Changing user and group ids: setuid, setgid, setreuid, setregid,
//! setresuid, setresgid, setfsuid, setfsgid, setgroups.
//!
//! Privilege is CAP_SETUID (uids) or CAP_SETGID (gids); a uid change
//! adjusts the capability sets as Linux does (`caps::fix_setuid`).

use std::sync::atomic::Ordering;

use nix::errno::Errno;

use super::caps::{self, capable, CAP_SETGID, CAP_SETUID};
use super::{ok, Args, SysResult};
use crate::kernel::ctx::TaskCtx;
use crate::kernel::task::{lock, Creds};

/// An id argument: `-1` (all ones) means "leave unchanged".
fn opt_id(v: u32) -> Option<u32> {
    (v != u32::MAX).then_some(v)
}

/// One of the two id families (uids or gids) of a [`Creds`].
#[derive(Debug, Clone, Copy)]
struct Ids {
    real: u32,
    eff: u32,
    saved: u32,
    fs: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Uid,
    Gid,
}

fn get(c: &Creds, k: Kind) -> Ids {
    match k {
        Kind::Uid => Ids {
            real: c.uid,
            eff: c.euid,
            saved: c.suid,
            fs: c.fsuid,
        },
        Kind::Gid => Ids {
            real: c.gid,
            eff: c.egid,
            saved: c.sgid,
            fs: c.fsgid,
        },
    }
}

fn put(c: &mut Creds, k: Kind, v: Ids) {
    match k {
        Kind::Uid => (c.uid, c.euid, c.suid, c.fsuid) = (v.real, v.eff, v.saved, v.fs),
        Kind::Gid => (c.gid, c.egid, c.sgid, c.fsgid) = (v.real, v.eff, v.saved, v.fs),
    }
}

/// Applies `f` to the ids of kind `k` with the privilege the caller has.
fn update(t: &TaskCtx, k: Kind, f: impl FnOnce(Ids, bool) -> Result<Ids, Errno>) -> SysResult {
    let mut c = lock(&t.tg().creds);
    let privileged = capable(&c, cap_for(k));
    let old = get(&c, k);
    let new = f(old, privileged)?;
    let before = c.clone();
    put(&mut c, k, new);
    if k == Kind::Uid {
        caps::fix_setuid(&before, &mut c);
    }
    drop(c);
    changed_ids(t, old, new);
    ok(0)
}

/// The capability that lifts the rules for changing ids of kind `k`.
fn cap_for(k: Kind) -> u32 {
    match k {
        Kind::Uid => CAP_SETUID,
        Kind::Gid => CAP_SETGID,
    }
}

/// As Linux's commit_creds: a change of the effective or filesystem id
/// makes the process non-dumpable (suid_dumpable is 0) and clears the
/// parent-death signal. Linux clears it for the thread whose credentials
/// change; glibc changes them in every thread, and the sentry keeps one
/// set per process, so every thread's is cleared.
fn changed_ids(t: &TaskCtx, old: Ids, new: Ids) {
    if old.eff != new.eff || old.fs != new.fs {
        t.mm.set_dumpable(false);
        for task in t.tg().tasks() {
            task.pdeath_signal.store(0, Ordering::Release);
        }
    }
}

fn setres(cur: Ids, privileged: bool, r: u32, e: u32, s: u32) -> Result<Ids, Errno> {
    let allowed = |v: Option<u32>| {
        privileged || v.is_none_or(|v| v == cur.real || v == cur.eff || v == cur.saved)
    };
    let (r, e, s) = (opt_id(r), opt_id(e), opt_id(s));
    if !(allowed(r) && allowed(e) && allowed(s)) {
        return Err(Errno::EPERM);
    }
    let eff = e.unwrap_or(cur.eff);
    Ok(Ids {
        real: r.unwrap_or(cur.real),
        eff,
        saved: s.unwrap_or(cur.saved),
        fs: eff,
    })
}

fn setre(cur: Ids, privileged: bool, r: u32, e: u32) -> Result<Ids, Errno> {
    let (r, e) = (opt_id(r), opt_id(e));
    let r_ok = privileged || r.is_none_or(|v| v == cur.real || v == cur.eff);
    let e_ok = privileged || e.is_none_or(|v| v == cur.real || v == cur.eff || v == cur.saved);
    if !(r_ok && e_ok) {
        return Err(Errno::EPERM);
    }
    let real = r.unwrap_or(cur.real);
    let eff = e.unwrap_or(cur.eff);
    // The saved id follows the new effective one whenever the real id is
    // set, or the effective id changes to something other than the real.
    let saved = if r.is_some() || e.is_some_and(|v| v != cur.real) {
        eff
    } else {
        cur.saved
    };
    Ok(Ids {
        real,
        eff,
        saved,
        fs: eff,
    })
}

fn set_one(cur: Ids, privileged: bool, v: u32) -> Result<Ids, Errno> {
    if privileged {
        return Ok(Ids {
            real: v,
            eff: v,
            saved: v,
            fs: v,
        });
    }
    if v != cur.real && v != cur.saved {
        return Err(Errno::EPERM);
    }
    Ok(Ids {
        eff: v,
        fs: v,
        ..cur
    })
}

pub fn sys_setuid(t: &mut TaskCtx, a: &Args) -> SysResult {
    let v = a.u32(0);
    if opt_id(v).is_none() {
        return Err(Errno::EINVAL);
    }
    update(t, Kind::Uid, |cur, p| set_one(cur, p, v))
}

pub fn sys_setgid(t: &mut TaskCtx, a: &Args) -> SysResult {
    let v = a.u32(0);
    if opt_id(v).is_none() {
        return Err(Errno::EINVAL);
    }
    update(t, Kind::Gid, |cur, p| set_one(cur, p, v))
}

pub fn sys_setreuid(t: &mut TaskCtx, a: &Args) -> SysResult {
    update(t, Kind::Uid, |cur, p| setre(cur, p, a.u32(0), a.u32(1)))
}

pub fn sys_setregid(t: &mut TaskCtx, a: &Args) -> SysResult {
    update(t, Kind::Gid, |cur, p| setre(cur, p, a.u32(0), a.u32(1)))
}

pub fn sys_setresuid(t: &mut TaskCtx, a: &Args) -> SysResult {
    update(t, Kind::Uid, |cur, p| {
        setres(cur, p, a.u32(0), a.u32(1), a.u32(2))
    })
}

pub fn sys_setresgid(t: &mut TaskCtx, a: &Args) -> SysResult {
    update(t, Kind::Gid, |cur, p| {
        setres(cur, p, a.u32(0), a.u32(1), a.u32(2))
    })
}

/// setfsuid/setfsgid return the previous value and never fail; a change
/// is only made to an id the caller could otherwise take.
fn set_fs(t: &TaskCtx, k: Kind, v: u32) -> SysResult {
    let mut c = lock(&t.tg().creds);
    let privileged = capable(&c, cap_for(k));
    let mut ids = get(&c, k);
    let old = ids.fs;
    if privileged || [ids.real, ids.eff, ids.saved, ids.fs].contains(&v) {
        let before = ids;
        ids.fs = v;
        put(&mut c, k, ids);
        if k == Kind::Uid {
            caps::fix_setfsuid(old, &mut c);
        }
        drop(c);
        changed_ids(t, before, ids);
    }
    ok(old)
}

pub fn sys_setfsuid(t: &mut TaskCtx, a: &Args) -> SysResult {
    set_fs(t, Kind::Uid, a.u32(0))
}

pub fn sys_setfsgid(t: &mut TaskCtx, a: &Args) -> SysResult {
    set_fs(t, Kind::Gid, a.u32(0))
}

/// Most supplementary groups a process may have (`NGROUPS_MAX`).
const NGROUPS_MAX: usize = 65536;

pub fn sys_setgroups(t: &mut TaskCtx, a: &Args) -> SysResult {
    // Linux checks CAP_SETGID before the size.
    if !capable(&lock(&t.tg().creds), CAP_SETGID) {
        return Err(Errno::EPERM);
    }
    let n = a.usize(0);
    if n > NGROUPS_MAX {
        return Err(Errno::EINVAL);
    }
    let raw = t.copy_in_vec(a.u64(1), n * 4)?;
    let mut groups: Vec<u32> = raw
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    groups.sort_unstable();
    lock(&t.tg().creds).groups = groups;
    ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOT: Ids = Ids {
        real: 0,
        eff: 0,
        saved: 0,
        fs: 0,
    };

    #[test]
    fn unprivileged_rules() {
        let n = setres(ROOT, true, 65534, 0, 0).unwrap();
        assert_eq!((n.real, n.eff, n.saved, n.fs), (65534, 0, 0, 0));
        let nobody = setres(ROOT, true, 65534, 65534, 65534).unwrap();
        assert_eq!(
            setres(nobody, false, 0, u32::MAX, u32::MAX).map(|_| ()),
            Err(Errno::EPERM)
        );
        assert!(setres(nobody, false, u32::MAX, 65534, u32::MAX).is_ok());
        assert_eq!(set_one(nobody, false, 0).map(|_| ()), Err(Errno::EPERM));
        let r = setre(ROOT, true, u32::MAX, 1000).unwrap();
        assert_eq!((r.real, r.eff, r.saved), (0, 1000, 1000));
    }
}
