//! Extended attributes: set/get/list/removexattr and their `l` (no
//! symlink follow) and `f` (fd) variants.
//!
//! The namespace and permission rules are Linux's `xattr_permission` and
//! `xattr_resolve_name`; storage is the inode's (tmpfs keeps a map, procfs
//! and sysfs have none and answer `EOPNOTSUPP`).
//!
//! Deviation: `system.*` (POSIX ACLs) can be read (always `ENODATA` on
//! tmpfs, as no ACL is ever set) but not set or removed (`EOPNOTSUPP`);
//! the sentry has no ACL support.

use std::sync::Arc;

use nix::errno::Errno;

use super::caps;
use super::path::{resolve_at, Ids, MAY_READ, MAY_WRITE};
use super::{ok, Args, SysResult};
use crate::kernel::ctx::TaskCtx;
use crate::vfs::{Inode, Stat};

/// `XATTR_NAME_MAX`: longest name.
const XATTR_NAME_MAX: usize = 255;
/// `XATTR_SIZE_MAX`: largest value.
const XATTR_SIZE_MAX: usize = 65536;
/// `XATTR_LIST_MAX`: largest `listxattr` result.
const XATTR_LIST_MAX: usize = 65536;

/// The namespaces Linux knows (by prefix).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ns {
    User,
    Trusted,
    Security,
    System,
}

/// What a call works on: an inode, or an fd without one (pipe, socket),
/// which has no attributes at all.
struct Target {
    inode: Option<Arc<dyn Inode>>,
    st: Stat,
}

/// Reads an attribute name: `ERANGE` if empty or longer than
/// `XATTR_NAME_MAX`, as Linux's `strncpy_from_user` check does.
fn read_name(t: &TaskCtx, addr: u64) -> Result<Vec<u8>, Errno> {
    match t.read_cstr(addr, XATTR_NAME_MAX) {
        Ok(n) if n.is_empty() => Err(Errno::ERANGE),
        Ok(n) => Ok(n),
        Err(Errno::ENAMETOOLONG) => Err(Errno::ERANGE),
        Err(e) => Err(e),
    }
}

fn prefix_ns(name: &[u8]) -> Option<Ns> {
    if name.starts_with(b"user.") {
        Some(Ns::User)
    } else if name.starts_with(b"trusted.") {
        Some(Ns::Trusted)
    } else if name.starts_with(b"security.") {
        Some(Ns::Security)
    } else if name.starts_with(b"system.") {
        Some(Ns::System)
    } else {
        None
    }
}

/// `xattr_resolve_name`: a bare prefix is `EINVAL`, an unknown one
/// `EOPNOTSUPP`.
fn resolve_ns(name: &[u8]) -> Result<Ns, Errno> {
    let ns = prefix_ns(name).ok_or(Errno::EOPNOTSUPP)?;
    let plen = match ns {
        Ns::User => 5,
        Ns::Trusted => 8,
        Ns::Security => 9,
        Ns::System => 7,
    };
    if name.len() == plen {
        return Err(Errno::EINVAL);
    }
    Ok(ns)
}

/// Linux's `xattr_permission`, checked before the name is resolved.
fn permission(ids: &Ids, st: &Stat, name: &[u8], write: bool) -> Result<(), Errno> {
    let denied = if write { Errno::EPERM } else { Errno::ENODATA };
    match prefix_ns(name) {
        Some(Ns::Security | Ns::System) => return Ok(()),
        Some(Ns::Trusted) => {
            return if ids.has(caps::CAP_SYS_ADMIN) {
                Ok(())
            } else {
                Err(denied)
            };
        }
        Some(Ns::User) => {
            let ft = st.file_type();
            if ft != libc::S_IFREG && ft != libc::S_IFDIR {
                return Err(denied);
            }
            if write && ft == libc::S_IFDIR && st.mode & libc::S_ISVTX != 0 && !ids.owns(st) {
                return Err(Errno::EPERM);
            }
        }
        None => {}
    }
    ids.check(st, if write { MAY_WRITE } else { MAY_READ })
}

fn path_target(t: &TaskCtx, addr: u64, follow: bool) -> Result<Target, Errno> {
    let path = t.read_path(addr)?;
    let d = resolve_at(t, libc::AT_FDCWD, &path, follow, false)?;
    let st = d.inode.stat()?;
    Ok(Target {
        inode: Some(Arc::clone(&d.inode)),
        st,
    })
}

fn fd_target(t: &TaskCtx, fd: i32) -> Result<Target, Errno> {
    let f = t.fds().get(fd)?;
    if f.flags() & libc::O_PATH != 0 {
        return Err(Errno::EBADF);
    }
    match &f.dentry {
        Some(d) => Ok(Target {
            st: d.inode.stat()?,
            inode: Some(Arc::clone(&d.inode)),
        }),
        None => Ok(Target {
            st: f.ops.stat()?,
            inode: None,
        }),
    }
}

// ---------------------------------------------------------------------------
// setxattr

/// The validated arguments of a set: name, value, flags.
fn set_args(t: &TaskCtx, a: &Args) -> Result<(Vec<u8>, Vec<u8>, i32), Errno> {
    let flags = a.i32(4);
    if flags & !(libc::XATTR_CREATE | libc::XATTR_REPLACE) != 0 {
        return Err(Errno::EINVAL);
    }
    let name = read_name(t, a.u64(1))?;
    let size = a.usize(3);
    if size > XATTR_SIZE_MAX {
        return Err(Errno::E2BIG);
    }
    let value = if size == 0 {
        Vec::new()
    } else {
        t.copy_in_vec(a.u64(2), size)?
    };
    Ok((name, value, flags))
}

fn do_set(t: &TaskCtx, tg: &Target, name: &[u8], value: &[u8], flags: i32) -> SysResult {
    let ids = Ids::fs(t);
    permission(&ids, &tg.st, name, true)?;
    match resolve_ns(name)? {
        Ns::System => return Err(Errno::EOPNOTSUPP),
        // Without an LSM, `cap_inode_setxattr` wants CAP_SYS_ADMIN.
        Ns::Security if !ids.has(caps::CAP_SYS_ADMIN) => return Err(Errno::EPERM),
        _ => {}
    }
    let inode = tg.inode.as_ref().ok_or(Errno::EOPNOTSUPP)?;
    inode.setxattr(name, value, flags)?;
    ok(0)
}

pub fn sys_setxattr(t: &mut TaskCtx, a: &Args) -> SysResult {
    let (name, value, flags) = set_args(t, a)?;
    let tg = path_target(t, a.u64(0), true)?;
    do_set(t, &tg, &name, &value, flags)
}

pub fn sys_lsetxattr(t: &mut TaskCtx, a: &Args) -> SysResult {
    let (name, value, flags) = set_args(t, a)?;
    let tg = path_target(t, a.u64(0), false)?;
    do_set(t, &tg, &name, &value, flags)
}

pub fn sys_fsetxattr(t: &mut TaskCtx, a: &Args) -> SysResult {
    let tg = fd_target(t, a.fd(0)?)?;
    let (name, value, flags) = set_args(t, a)?;
    do_set(t, &tg, &name, &value, flags)
}

// ---------------------------------------------------------------------------
// getxattr

fn do_get(t: &mut TaskCtx, tg: &Target, name: &[u8], addr: u64, size: usize) -> SysResult {
    let ids = Ids::fs(t);
    permission(&ids, &tg.st, name, false)?;
    resolve_ns(name)?;
    let inode = tg.inode.as_ref().ok_or(Errno::EOPNOTSUPP)?;
    let value = inode.getxattr(name)?;
    if size == 0 {
        return ok(value.len());
    }
    if value.len() > size.min(XATTR_SIZE_MAX) {
        return Err(Errno::ERANGE);
    }
    t.copy_out(addr, &value)?;
    ok(value.len())
}

pub fn sys_getxattr(t: &mut TaskCtx, a: &Args) -> SysResult {
    let name = read_name(t, a.u64(1))?;
    let tg = path_target(t, a.u64(0), true)?;
    do_get(t, &tg, &name, a.u64(2), a.usize(3))
}

pub fn sys_lgetxattr(t: &mut TaskCtx, a: &Args) -> SysResult {
    let name = read_name(t, a.u64(1))?;
    let tg = path_target(t, a.u64(0), false)?;
    do_get(t, &tg, &name, a.u64(2), a.usize(3))
}

pub fn sys_fgetxattr(t: &mut TaskCtx, a: &Args) -> SysResult {
    let tg = fd_target(t, a.fd(0)?)?;
    let name = read_name(t, a.u64(1))?;
    do_get(t, &tg, &name, a.u64(2), a.usize(3))
}

// ---------------------------------------------------------------------------
// listxattr

fn do_list(t: &mut TaskCtx, tg: &Target, addr: u64, size: usize) -> SysResult {
    let admin = Ids::fs(t).has(caps::CAP_SYS_ADMIN);
    let names = match &tg.inode {
        Some(i) => i.listxattr()?,
        None => Vec::new(),
    };
    let mut out = Vec::new();
    for n in names {
        // Only CAP_SYS_ADMIN sees trusted.* names.
        if n.starts_with(b"trusted.") && !admin {
            continue;
        }
        out.extend_from_slice(&n);
        out.push(0);
    }
    if size == 0 {
        if out.len() > XATTR_LIST_MAX {
            return Err(Errno::E2BIG);
        }
        return ok(out.len());
    }
    if out.len() > size.min(XATTR_LIST_MAX) {
        return Err(Errno::ERANGE);
    }
    t.copy_out(addr, &out)?;
    ok(out.len())
}

pub fn sys_listxattr(t: &mut TaskCtx, a: &Args) -> SysResult {
    let tg = path_target(t, a.u64(0), true)?;
    do_list(t, &tg, a.u64(1), a.usize(2))
}

pub fn sys_llistxattr(t: &mut TaskCtx, a: &Args) -> SysResult {
    let tg = path_target(t, a.u64(0), false)?;
    do_list(t, &tg, a.u64(1), a.usize(2))
}

pub fn sys_flistxattr(t: &mut TaskCtx, a: &Args) -> SysResult {
    let tg = fd_target(t, a.fd(0)?)?;
    do_list(t, &tg, a.u64(1), a.usize(2))
}

// ---------------------------------------------------------------------------
// removexattr

fn do_remove(t: &TaskCtx, tg: &Target, name: &[u8]) -> SysResult {
    let ids = Ids::fs(t);
    permission(&ids, &tg.st, name, true)?;
    match resolve_ns(name)? {
        Ns::System => return Err(Errno::EOPNOTSUPP),
        Ns::Security if !ids.has(caps::CAP_SYS_ADMIN) => return Err(Errno::EPERM),
        _ => {}
    }
    let inode = tg.inode.as_ref().ok_or(Errno::EOPNOTSUPP)?;
    inode.removexattr(name)?;
    ok(0)
}

pub fn sys_removexattr(t: &mut TaskCtx, a: &Args) -> SysResult {
    let name = read_name(t, a.u64(1))?;
    let tg = path_target(t, a.u64(0), true)?;
    do_remove(t, &tg, &name)
}

pub fn sys_lremovexattr(t: &mut TaskCtx, a: &Args) -> SysResult {
    let name = read_name(t, a.u64(1))?;
    let tg = path_target(t, a.u64(0), false)?;
    do_remove(t, &tg, &name)
}

pub fn sys_fremovexattr(t: &mut TaskCtx, a: &Args) -> SysResult {
    let tg = fd_target(t, a.fd(0)?)?;
    let name = read_name(t, a.u64(1))?;
    do_remove(t, &tg, &name)
}
