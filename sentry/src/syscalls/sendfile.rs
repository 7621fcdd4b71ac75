//! sendfile: copy between files inside the sentry, without a trip through
//! application memory.

use nix::errno::Errno;

use super::copy::copy_through_buffer;
use super::fd::MAX_RW;
use super::{ok, Args, SysResult};
use crate::kernel::ctx::TaskCtx;
use crate::kernel::task::lock;

/// Bytes moved per read/write round.
const CHUNK: usize = 64 << 10;

pub fn sys_sendfile(t: &mut TaskCtx, a: &Args) -> SysResult {
    let out_fd = a.fd(0)?;
    let in_fd = a.fd(1)?;
    let off_addr = a.u64(2);
    let count = a.usize(3).min(MAX_RW);
    let fds = t.fds();
    let input = fds.get(in_fd)?;
    if !input.readable() {
        return Err(Errno::EBADF);
    }
    let output = fds.get(out_fd)?;
    if !output.writable() {
        return Err(Errno::EBADF);
    }
    // The source must be a file with pages (not a pipe or socket).
    if !input.ops.seekable() {
        return Err(if off_addr != 0 {
            Errno::ESPIPE
        } else {
            Errno::EINVAL
        });
    }
    if output.append() {
        return Err(Errno::EINVAL);
    }
    let start = if off_addr != 0 {
        let off: i64 = t.read_obj(off_addr)?;
        u64::try_from(off).map_err(|_| Errno::EINVAL)?
    } else {
        *lock(&input.pos)
    };
    if start
        .checked_add(count as u64)
        .is_none_or(|e| e > i64::MAX as u64)
    {
        return Err(Errno::EINVAL);
    }
    let (done, result) = copy_through_buffer(t, &input, &output, count, CHUNK, start, None);
    let pos = start + done as u64;
    if off_addr != 0 {
        #[allow(clippy::cast_possible_wrap, reason = "checked below i64::MAX")]
        t.write_obj(off_addr, &(pos as i64))?;
    } else {
        *lock(&input.pos) = pos;
    }
    match result {
        Err(e) if done == 0 => Err(e),
        _ => ok(done),
    }
}
