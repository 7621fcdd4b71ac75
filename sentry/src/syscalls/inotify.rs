//! inotify_init, inotify_init1, inotify_add_watch, inotify_rm_watch. The
//! instances and the event hooks live in `vfs/inotify.rs`.

use std::sync::Arc;

use nix::errno::Errno;

use super::path::{resolve_at, Ids, MAY_READ};
use super::{ok, Args, SysResult};
use crate::kernel::ctx::TaskCtx;
use crate::vfs::inotify::{
    Inotify, IN_ALL_EVENTS, IN_DONT_FOLLOW, IN_MASK_ADD, IN_MASK_CREATE, IN_ONLYDIR, IN_VALID_MASK,
};
use crate::vfs::OpenFile;

fn create(t: &mut TaskCtx, flags: i32) -> SysResult {
    // IN_CLOEXEC and IN_NONBLOCK are O_CLOEXEC and O_NONBLOCK.
    if flags & !(libc::O_CLOEXEC | libc::O_NONBLOCK) != 0 {
        return Err(Errno::EINVAL);
    }
    let f = OpenFile::new(
        None,
        Inotify::new(),
        libc::O_RDONLY | (flags & libc::O_NONBLOCK),
    );
    ok(t.fds().alloc(f, flags & libc::O_CLOEXEC != 0, 0)?)
}

pub fn sys_inotify_init(t: &mut TaskCtx, _a: &Args) -> SysResult {
    create(t, 0)
}

pub fn sys_inotify_init1(t: &mut TaskCtx, a: &Args) -> SysResult {
    create(t, a.i32(0))
}

/// The instance behind `fd`: `EBADF` for no file, `EINVAL` for another
/// kind of file.
fn instance(t: &TaskCtx, fd: i32) -> Result<Arc<OpenFile>, Errno> {
    let f = t.fds().get(fd)?;
    if f.ops.as_any().downcast_ref::<Inotify>().is_none() {
        return Err(Errno::EINVAL);
    }
    Ok(f)
}

pub fn sys_inotify_add_watch(t: &mut TaskCtx, a: &Args) -> SysResult {
    let mask = a.u32(2);
    if mask & !IN_VALID_MASK != 0 || mask & IN_ALL_EVENTS == 0 {
        return Err(Errno::EINVAL);
    }
    if mask & IN_MASK_ADD != 0 && mask & IN_MASK_CREATE != 0 {
        return Err(Errno::EINVAL);
    }
    let f = instance(t, a.fd(0)?)?;
    let path = t.read_path(a.u64(1))?;
    let d = resolve_at(t, libc::AT_FDCWD, &path, mask & IN_DONT_FOLLOW == 0, false)?;
    let st = d.inode.stat()?;
    if mask & IN_ONLYDIR != 0 && !st.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    Ids::fs(t).check(&st, MAY_READ)?;
    let i = f
        .ops
        .as_any()
        .downcast_ref::<Inotify>()
        .ok_or(Errno::EINVAL)?;
    ok(i.add_watch(&d.inode, mask)?)
}

pub fn sys_inotify_rm_watch(t: &mut TaskCtx, a: &Args) -> SysResult {
    let f = instance(t, a.fd(0)?)?;
    let i = f
        .ops
        .as_any()
        .downcast_ref::<Inotify>()
        .ok_or(Errno::EINVAL)?;
    i.rm_watch(a.i32(1))?;
    ok(0)
}
