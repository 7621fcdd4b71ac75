//! signalfd, signalfd4. The files live in `vfs/signalfd.rs`.

use std::sync::Arc;

use nix::errno::Errno;

use super::{ok, Args, SysResult};
use crate::kernel::ctx::TaskCtx;
use crate::kernel::signal::SigSet;
use crate::vfs::signalfd::SignalFd;
use crate::vfs::OpenFile;

fn do_signalfd(t: &mut TaskCtx, a: &Args, flags: i32) -> SysResult {
    if a.u64(2) != 8 {
        return Err(Errno::EINVAL);
    }
    let mask = SigSet(t.read_obj::<u64>(a.u64(1))?);
    if flags & !(libc::O_CLOEXEC | libc::O_NONBLOCK) != 0 {
        return Err(Errno::EINVAL);
    }
    let fd = a.i32(0);
    if fd == -1 {
        let f = OpenFile::new(
            None,
            Arc::new(SignalFd::new(mask)),
            libc::O_RDWR | (flags & libc::O_NONBLOCK),
        );
        return ok(t.fds().alloc(f, flags & libc::O_CLOEXEC != 0, 0)?);
    }
    let file = t.fds().get(a.fd(0)?)?;
    let sfd = file
        .ops
        .as_any()
        .downcast_ref::<SignalFd>()
        .ok_or(Errno::EINVAL)?;
    sfd.set_mask(mask);
    ok(fd)
}

pub fn sys_signalfd(t: &mut TaskCtx, a: &Args) -> SysResult {
    do_signalfd(t, a, 0)
}

pub fn sys_signalfd4(t: &mut TaskCtx, a: &Args) -> SysResult {
    do_signalfd(t, a, a.i32(3))
}
