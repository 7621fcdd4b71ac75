//! execve and execveat.

use nix::errno::Errno;

use super::{Args, SysResult, SyscallReturn};
use crate::kernel::ctx::TaskCtx;

/// Largest total size of argv and envp (Linux's default ARG_MAX).
const ARG_MAX: usize = 2 << 20;

pub fn sys_execve(t: &mut TaskCtx, a: &Args) -> SysResult {
    let path = t.read_path(a.u64(0))?;
    do_exec(t, path, a.u64(1), a.u64(2))
}

pub fn sys_execveat(t: &mut TaskCtx, a: &Args) -> SysResult {
    let dirfd = a.i32(0);
    let flags = a.i32(4);
    if flags & !(libc::AT_EMPTY_PATH | libc::AT_SYMLINK_NOFOLLOW) != 0 {
        return Err(Errno::EINVAL);
    }
    let mut path = t.read_path(a.u64(1))?;
    if path.first() != Some(&b'/') && dirfd != libc::AT_FDCWD {
        let f = t.fds().get(dirfd)?;
        let mut base = f.path();
        if path.is_empty() {
            if flags & libc::AT_EMPTY_PATH == 0 {
                return Err(Errno::ENOENT);
            }
            path = base;
        } else {
            base.push(b'/');
            base.extend_from_slice(&path);
            path = base;
        }
    }
    do_exec(t, path, a.u64(2), a.u64(3))
}

fn do_exec(t: &mut TaskCtx, path: Vec<u8>, argv: u64, envp: u64) -> SysResult {
    if path.is_empty() {
        return Err(Errno::ENOENT);
    }
    let argv = t.read_str_array(argv, ARG_MAX)?;
    let envp = t.read_str_array(envp, ARG_MAX)?;
    crate::loader::exec(t, &path, argv, envp)?;
    Ok(SyscallReturn::NoReturn)
}
