//! eventfd, eventfd2. The counter lives in `vfs/eventfd.rs`.

use std::sync::Arc;

use nix::errno::Errno;

use super::{ok, Args, SysResult};
use crate::kernel::ctx::TaskCtx;
use crate::vfs::eventfd::{EventFd, EFD_SEMAPHORE};
use crate::vfs::OpenFile;

fn create(t: &mut TaskCtx, initval: u32, flags: i32) -> SysResult {
    if flags & !(EFD_SEMAPHORE | libc::O_CLOEXEC | libc::O_NONBLOCK) != 0 {
        return Err(Errno::EINVAL);
    }
    let ops = Arc::new(EventFd::new(u64::from(initval), flags & EFD_SEMAPHORE != 0));
    let f = OpenFile::new(None, ops, libc::O_RDWR | (flags & libc::O_NONBLOCK));
    ok(t.fds().alloc(f, flags & libc::O_CLOEXEC != 0, 0)?)
}

pub fn sys_eventfd(t: &mut TaskCtx, a: &Args) -> SysResult {
    create(t, a.u32(0), 0)
}

pub fn sys_eventfd2(t: &mut TaskCtx, a: &Args) -> SysResult {
    create(t, a.u32(0), a.i32(1))
}
