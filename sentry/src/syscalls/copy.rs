//! copy_file_range: copies between two regular files inside the sentry.
//!
//! The checks are Linux 6.x's `generic_copy_file_checks`. Deviation: two
//! different tmpfs instances count as one filesystem only if they are
//! the same instance (as Linux); files without a name (memfd) are never
//! `EXDEV`.

use std::sync::Arc;

use nix::errno::Errno;

use super::fd::do_write;
use super::fd::MAX_RW;
use super::{ok, Args, SysResult};
use crate::kernel::ctx::TaskCtx;
use crate::kernel::task::lock;
use crate::vfs::tmpfs::same_tmpfs;
use crate::vfs::OpenFile;

/// Bytes moved per read/write round.
const CHUNK: usize = 256 << 10;

/// The starting offset: `*addr` if given, else the file position.
fn start_offset(t: &TaskCtx, f: &OpenFile, addr: u64) -> Result<i64, Errno> {
    if addr != 0 {
        t.read_obj::<i64>(addr)
    } else {
        i64::try_from(*lock(&f.pos)).map_err(|_| Errno::EINVAL)
    }
}

/// `EXDEV` unless both files are of the same filesystem instance.
fn same_fs(a: &OpenFile, b: &OpenFile) -> bool {
    let (Some(da), Some(db)) = (&a.dentry, &b.dentry) else {
        return true;
    };
    match same_tmpfs(&da.inode, &db.inode) {
        Some(same) => same,
        None => da.inode.as_any().type_id() == db.inode.as_any().type_id(),
    }
}

pub fn sys_copy_file_range(t: &mut TaskCtx, a: &Args) -> SysResult {
    if a.u32(5) != 0 {
        return Err(Errno::EINVAL);
    }
    let fds = t.fds();
    let input = fds.get(a.fd(0)?)?;
    let output = fds.get(a.fd(2)?)?;
    drop(fds);
    if input.flags() & libc::O_PATH != 0 || output.flags() & libc::O_PATH != 0 {
        return Err(Errno::EBADF);
    }
    let (off_in_addr, off_out_addr) = (a.u64(1), a.u64(3));
    let pos_in = start_offset(t, &input, off_in_addr)?;
    let pos_out = start_offset(t, &output, off_out_addr)?;
    let len = a.usize(4).min(MAX_RW);

    // generic_file_rw_checks.
    let st_in = input.stat()?;
    let st_out = output.stat()?;
    if st_in.is_dir() || st_out.is_dir() {
        return Err(Errno::EISDIR);
    }
    if st_in.file_type() != libc::S_IFREG || st_out.file_type() != libc::S_IFREG {
        return Err(Errno::EINVAL);
    }
    if !input.readable() || !output.writable() || output.append() {
        return Err(Errno::EBADF);
    }
    if !same_fs(&input, &output) {
        return Err(Errno::EXDEV);
    }
    // Linux 6.x answers EOVERFLOW for a negative offset too.
    let (Ok(pos_in), Ok(pos_out)) = (u64::try_from(pos_in), u64::try_from(pos_out)) else {
        return Err(Errno::EOVERFLOW);
    };
    let max = i64::MAX as u64;
    if pos_in.saturating_add(len as u64) > max || pos_out.saturating_add(len as u64) > max {
        return Err(Errno::EOVERFLOW);
    }
    // Shorten to the input's end.
    let count = if pos_in >= st_in.size {
        0
    } else {
        len.min(usize::try_from(st_in.size - pos_in).unwrap_or(usize::MAX))
    };
    let same_file = st_in.dev == st_out.dev && st_in.ino == st_out.ino;
    let c = count as u64;
    if same_file && pos_out + c > pos_in && pos_out < pos_in + c {
        return Err(Errno::EINVAL);
    }
    if count == 0 {
        return ok(0);
    }

    let (done, result) =
        copy_through_buffer(t, &input, &output, count, CHUNK, pos_in, Some(pos_out));
    if done == 0 {
        result?;
    }
    let d = done as u64;
    #[allow(clippy::cast_possible_wrap, reason = "checked below i64::MAX above")]
    {
        if off_in_addr != 0 {
            t.write_obj(off_in_addr, &((pos_in + d) as i64))?;
        } else {
            *lock(&input.pos) = pos_in + d;
        }
        if off_out_addr != 0 {
            t.write_obj(off_out_addr, &((pos_out + d) as i64))?;
        } else {
            *lock(&output.pos) = pos_out + d;
        }
    }
    ok(done)
}

/// Copies up to `count` bytes of `input`, from `read_at` on, to `output` at
/// `write_at` (`None`: at its file position), through a buffer of at most
/// `chunk` bytes. Stops at the input's end, a short write or an error.
/// Returns the bytes copied and the error that stopped the copy: callers
/// report it only when nothing was copied.
pub(super) fn copy_through_buffer(
    t: &mut TaskCtx,
    input: &OpenFile,
    output: &Arc<OpenFile>,
    count: usize,
    chunk: usize,
    read_at: u64,
    write_at: Option<u64>,
) -> (usize, Result<(), Errno>) {
    let mut buf = vec![0u8; chunk.min(count)];
    let mut done = 0usize;
    while done < count {
        let want = (count - done).min(chunk);
        let n = match input.ops.read(&mut buf[..want], read_at + done as u64) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) => return (done, Err(e)),
        };
        match do_write(t, output, &buf[..n], write_at.map(|w| w + done as u64)) {
            Ok(w) => {
                done += w;
                if w < n {
                    break;
                }
            }
            Err(e) => return (done, Err(e)),
        }
    }
    (done, Ok(()))
}
