//! splice, tee and vmsplice: moving data into, out of and between pipes
//! without a trip through application memory (the sentry copies through
//! its own buffer; Linux moves page references).
//!
//! The argument checks follow Linux 6.x `fs/splice.c`. A splice out of a
//! pipe peeks first and consumes only what the other side took, so it
//! assumes no other reader drains the pipe at the same moment.

use std::sync::Arc;

use nix::errno::Errno;

use super::fd::{do_write, io_wait, raise_sigpipe, read_iovecs};
use super::{ok, Args, SysResult};
use crate::kernel::ctx::TaskCtx;
use crate::kernel::task::lock;
use crate::vfs::pipe::{pipe_of, Pipe, PIPE_MAX_SIZE};
use crate::vfs::OpenFile;

const SPLICE_F_NONBLOCK: u32 = 2;
/// MOVE | NONBLOCK | MORE | GIFT.
const SPLICE_F_ALL: u32 = 0xf;
/// Linux's MAX_RW_COUNT.
const MAX_RW: usize = 0x7fff_f000;
const IOV_MAX: u64 = 1024;

/// Runs `op` until it stops returning `EAGAIN`, sleeping on `queues`
/// in between unless `nonblock`.
fn pipe_wait<R>(
    t: &mut TaskCtx,
    pipes: &[&Pipe],
    nonblock: bool,
    mut op: impl FnMut() -> Result<R, Errno>,
) -> Result<R, Errno> {
    match op() {
        Err(Errno::EAGAIN) if !nonblock => {}
        r => return r,
    }
    let queues: Vec<_> = pipes.iter().map(|p| p.wait_queue()).collect();
    t.block(&queues, None, false, |_| match op() {
        Err(Errno::EAGAIN) => Ok(None),
        Ok(v) => Ok(Some(v)),
        Err(e) => Err(e),
    })
}

/// Raises SIGPIPE for an EPIPE from a pipe we write into.
fn sigpipe_on<R>(t: &TaskCtx, r: Result<R, Errno>) -> Result<R, Errno> {
    if matches!(r, Err(Errno::EPIPE)) {
        raise_sigpipe(t);
    }
    r
}

/// The offset `*addr` (`EINVAL` if negative).
fn read_offset(t: &TaskCtx, addr: u64) -> Result<u64, Errno> {
    u64::try_from(t.read_obj::<i64>(addr)?).map_err(|_| Errno::EINVAL)
}

#[allow(clippy::cast_possible_wrap, reason = "offsets stay below i64::MAX")]
fn write_offset(t: &mut TaskCtx, addr: u64, off: u64) -> Result<(), Errno> {
    t.write_obj(addr, &(off as i64))
}

fn get_file(t: &TaskCtx, fd: i32) -> Result<Arc<OpenFile>, Errno> {
    let f = t.fds().get(fd)?;
    if f.flags() & libc::O_PATH != 0 {
        return Err(Errno::EBADF);
    }
    Ok(f)
}

pub fn sys_splice(t: &mut TaskCtx, a: &Args) -> SysResult {
    let len = a.usize(4).min(MAX_RW);
    let flags = a.u32(5);
    if len == 0 {
        return ok(0);
    }
    if flags & !SPLICE_F_ALL != 0 {
        return Err(Errno::EINVAL);
    }
    let input = get_file(t, a.fd(0)?)?;
    let output = get_file(t, a.fd(2)?)?;
    let (off_in, off_out) = (a.u64(1), a.u64(3));
    let ipipe = pipe_of(&*input.ops).cloned();
    let opipe = pipe_of(&*output.ops).cloned();
    if (ipipe.is_some() && off_in != 0) || (opipe.is_some() && off_out != 0) {
        return Err(Errno::ESPIPE);
    }
    if !input.readable() || !output.writable() {
        return Err(Errno::EBADF);
    }
    let nonblock = flags & SPLICE_F_NONBLOCK != 0;
    match (ipipe, opipe) {
        (Some(ip), Some(op)) => {
            if Arc::ptr_eq(&ip, &op) {
                return Err(Errno::EINVAL);
            }
            let nonblock = nonblock || input.nonblocking() || output.nonblocking();
            pipe_to_pipe(t, &ip, &op, len, nonblock, true)
        }
        (Some(ip), None) => {
            if off_out != 0 && !output.ops.seekable() {
                return Err(Errno::EINVAL);
            }
            if output.append() {
                return Err(Errno::EINVAL);
            }
            let off = if off_out != 0 {
                Some(read_offset(t, off_out)?)
            } else {
                None
            };
            let nonblock = nonblock || input.nonblocking();
            let mut buf = vec![0u8; len.min(PIPE_MAX_SIZE)];
            let n = pipe_wait(t, &[&ip], nonblock, || ip.peek(&mut buf))?;
            if n == 0 {
                return ok(0);
            }
            let w = do_write(t, &output, &buf[..n], off)?;
            ip.consume(w);
            if let Some(o) = off {
                write_offset(t, off_out, o + w as u64)?;
            }
            ok(w)
        }
        (None, Some(op)) => {
            if off_in != 0 && !input.ops.seekable() {
                return Err(Errno::EINVAL);
            }
            let off = if off_in != 0 {
                Some(read_offset(t, off_in)?)
            } else {
                None
            };
            let nonblock = nonblock || output.nonblocking();
            let room = pipe_wait(t, &[&op], nonblock, || op.room());
            let room = sigpipe_on(t, room)?;
            let mut buf = vec![0u8; len.min(room).min(PIPE_MAX_SIZE)];
            let n = read_source(t, &input, &mut buf, off, nonblock)?;
            if n == 0 {
                return ok(0);
            }
            let pushed = op.push(&buf[..n]);
            let n = sigpipe_on(t, pushed)?;
            match off {
                Some(o) => write_offset(t, off_in, o + n as u64)?,
                None if input.ops.seekable() && input.ops.advances_position() => {
                    *lock(&input.pos) += n as u64;
                }
                None => {}
            }
            ok(n)
        }
        (None, None) => Err(Errno::EINVAL),
    }
}

/// Reads from the non-pipe side of a splice into a pipe: at `off` (or
/// the file position, not advanced here) for a file; a stream blocks
/// unless `nonblock` or the file is non-blocking.
fn read_source(
    t: &mut TaskCtx,
    f: &Arc<OpenFile>,
    buf: &mut [u8],
    off: Option<u64>,
    nonblock: bool,
) -> Result<usize, Errno> {
    if f.ops.seekable() {
        let pos = match off {
            Some(o) => o,
            None => *lock(&f.pos),
        };
        if pos
            .checked_add(buf.len() as u64)
            .is_none_or(|e| e > i64::MAX as u64)
        {
            return Err(Errno::EINVAL);
        }
        return f.ops.read(buf, pos);
    }
    if nonblock {
        f.ops.read(buf, 0)
    } else {
        io_wait(t, f, || f.ops.read(buf, 0))
    }
}

/// Moves (or, for tee, copies) up to `len` bytes from `ip` to `op`,
/// waiting for data in one and room in the other.
fn pipe_to_pipe(
    t: &mut TaskCtx,
    ip: &Arc<Pipe>,
    op: &Arc<Pipe>,
    len: usize,
    nonblock: bool,
    consume: bool,
) -> SysResult {
    let mut buf = vec![0u8; len.min(PIPE_MAX_SIZE)];
    let r = pipe_wait(t, &[ip, op], nonblock, || {
        let n = ip.peek(&mut buf)?;
        if n == 0 {
            return Ok(0);
        }
        let n = n.min(op.room()?);
        let n = op.push(&buf[..n])?;
        if consume {
            ip.consume(n);
        }
        Ok(n)
    });
    ok(sigpipe_on(t, r)?)
}

pub fn sys_tee(t: &mut TaskCtx, a: &Args) -> SysResult {
    let len = a.usize(2).min(MAX_RW);
    let flags = a.u32(3);
    if flags & !SPLICE_F_ALL != 0 {
        return Err(Errno::EINVAL);
    }
    if len == 0 {
        return ok(0);
    }
    let input = get_file(t, a.fd(0)?)?;
    let output = get_file(t, a.fd(1)?)?;
    if !input.readable() || !output.writable() {
        return Err(Errno::EBADF);
    }
    let (Some(ip), Some(op)) = (pipe_of(&*input.ops), pipe_of(&*output.ops)) else {
        return Err(Errno::EINVAL);
    };
    if Arc::ptr_eq(ip, op) {
        return Err(Errno::EINVAL);
    }
    let (ip, op) = (Arc::clone(ip), Arc::clone(op));
    let nonblock = flags & SPLICE_F_NONBLOCK != 0 || input.nonblocking() || output.nonblocking();
    pipe_to_pipe(t, &ip, &op, len, nonblock, false)
}

pub fn sys_vmsplice(t: &mut TaskCtx, a: &Args) -> SysResult {
    let flags = a.u32(3);
    if flags & !SPLICE_F_ALL != 0 {
        return Err(Errno::EINVAL);
    }
    let f = get_file(t, a.fd(0)?)?;
    let to_pipe = if f.writable() {
        true
    } else if f.readable() {
        false
    } else {
        return Err(Errno::EBADF);
    };
    let nr = a.u64(2);
    if nr > IOV_MAX {
        return Err(Errno::EINVAL);
    }
    let iovs = read_iovecs(t, a.u64(1), i32::try_from(nr).map_err(|_| Errno::EINVAL)?)?;
    let total = iovs
        .iter()
        .map(|i| i.1)
        .fold(0usize, usize::saturating_add)
        .min(MAX_RW);
    if total == 0 {
        return ok(0);
    }
    let pipe = Arc::clone(pipe_of(&*f.ops).ok_or(Errno::EBADF)?);
    let nonblock = flags & SPLICE_F_NONBLOCK != 0 || f.nonblocking();
    if to_pipe {
        let room = pipe_wait(t, &[&pipe], nonblock, || pipe.room());
        let room = sigpipe_on(t, room)?;
        let want = total.min(room).min(PIPE_MAX_SIZE);
        let mut data = Vec::with_capacity(want);
        for (base, len) in iovs {
            let n = len.min(want - data.len());
            if n == 0 {
                continue;
            }
            data.extend(t.copy_in_vec(base, n)?);
        }
        let pushed = pipe.push(&data);
        ok(sigpipe_on(t, pushed)?)
    } else {
        let mut buf = vec![0u8; total.min(PIPE_MAX_SIZE)];
        let n = pipe_wait(t, &[&pipe], nonblock, || pipe.peek(&mut buf))?;
        let mut done = 0;
        for (base, len) in iovs {
            if done >= n {
                break;
            }
            let k = len.min(n - done);
            if let Err(e) = t.copy_out(base, &buf[done..done + k]) {
                if done == 0 {
                    return Err(e);
                }
                break;
            }
            done += k;
        }
        pipe.consume(done);
        ok(done)
    }
}
