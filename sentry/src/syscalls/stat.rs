//! stat, fstat, lstat, newfstatat, statx, statfs and fstatfs.

use nix::errno::Errno;
use nix::sys::stat::{major, minor};

use super::path::{empty_path_file, resolve_at};
use super::{ok, Args, SysResult};
use crate::kernel::ctx::TaskCtx;
use crate::vfs::{Inode, Stat, StatFs, Timespec};

/// `STATX_BASIC_STATS`: type, mode, nlink, uid, gid, atime, mtime, ctime,
/// ino, size, blocks.
const STATX_BASIC_STATS: u32 = 0x7ff;
/// `STATX__RESERVED`: must not be requested.
const STATX_RESERVED: u32 = 0x8000_0000;
/// `AT_STATX_SYNC_TYPE`: both sync bits at once are invalid.
const AT_STATX_SYNC_TYPE: i32 = 0x6000;
/// `AT_NO_AUTOMOUNT` (accepted and ignored: we have no automounts).
const AT_NO_AUTOMOUNT: i32 = 0x800;

/// Little-endian field writer for the binary structs below.
struct Out(Vec<u8>);

impl Out {
    fn with_capacity(n: usize) -> Out {
        Out(Vec::with_capacity(n))
    }
    fn u16(&mut self, v: u16) -> &mut Out {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn u32(&mut self, v: u32) -> &mut Out {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn i32(&mut self, v: i32) -> &mut Out {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn u64(&mut self, v: u64) -> &mut Out {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn i64(&mut self, v: i64) -> &mut Out {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn pad_to(&mut self, n: usize) -> &mut Out {
        self.0.resize(n, 0);
        self
    }
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// `struct stat` as x86-64 lays it out (144 bytes).
pub fn encode_stat(s: &Stat) -> Vec<u8> {
    let mut o = Out::with_capacity(144);
    o.u64(s.dev)
        .u64(s.ino)
        .u64(s.nlink)
        .u32(s.mode)
        .u32(s.uid)
        .u32(s.gid)
        .u32(0)
        .u64(s.rdev)
        .i64(to_i64(s.size))
        .i64(to_i64(s.blksize))
        .i64(to_i64(s.blocks));
    for t in [s.atime, s.mtime, s.ctime] {
        o.i64(t.sec).i64(t.nsec);
    }
    o.pad_to(144);
    o.0
}

fn statx_time(o: &mut Out, t: Timespec) {
    o.i64(t.sec).u32(u32::try_from(t.nsec).unwrap_or(0)).i32(0);
}

/// `struct statx` (256 bytes).
pub fn encode_statx(s: &Stat) -> Vec<u8> {
    let mut o = Out::with_capacity(256);
    o.u32(STATX_BASIC_STATS)
        .u32(u32::try_from(s.blksize).unwrap_or(u32::MAX))
        .u64(0) // stx_attributes
        .u32(u32::try_from(s.nlink).unwrap_or(u32::MAX))
        .u32(s.uid)
        .u32(s.gid)
        .u16(u16::try_from(s.mode & 0xffff).unwrap_or(0))
        .u16(0)
        .u64(s.ino)
        .u64(s.size)
        .u64(s.blocks)
        .u64(0); // stx_attributes_mask
                 // atime, btime (not kept: reported as zero, and not in the mask),
                 // ctime, mtime.
    for t in [s.atime, Timespec::default(), s.ctime, s.mtime] {
        statx_time(&mut o, t);
    }
    o.u32(major_of(s.rdev))
        .u32(minor_of(s.rdev))
        .u32(major_of(s.dev))
        .u32(minor_of(s.dev));
    o.pad_to(256);
    o.0
}

fn major_of(dev: u64) -> u32 {
    u32::try_from(major(dev)).unwrap_or(0)
}

fn minor_of(dev: u64) -> u32 {
    u32::try_from(minor(dev)).unwrap_or(0)
}

/// `struct statfs` (120 bytes).
fn encode_statfs(s: &StatFs, dev: u64) -> Vec<u8> {
    let mut o = Out::with_capacity(120);
    #[allow(
        clippy::cast_possible_truncation,
        reason = "f_fsid holds the two 32-bit halves of the device number"
    )]
    let (lo, hi) = (dev as u32, (dev >> 32) as u32);
    o.i64(s.fs_type)
        .i64(s.bsize)
        .u64(s.blocks)
        .u64(s.bfree)
        .u64(s.bavail)
        .u64(s.files)
        .u64(s.ffree)
        .u32(lo)
        .u32(hi)
        .i64(s.namelen)
        .i64(s.frsize)
        .i64(s.flags);
    o.pad_to(120);
    o.0
}

/// The stat of `(dirfd, path)` under the `AT_*` flags, covering the
/// `AT_EMPTY_PATH` case of files with no name (pipes).
fn stat_at(t: &TaskCtx, dirfd: i32, path: &[u8], flags: i32) -> Result<Stat, Errno> {
    let empty = flags & libc::AT_EMPTY_PATH != 0;
    if path.is_empty() && empty {
        if let Some(f) = empty_path_file(t, dirfd)? {
            return f.stat();
        }
    }
    let follow = flags & libc::AT_SYMLINK_NOFOLLOW == 0;
    resolve_at(t, dirfd, path, follow, empty)?.inode.stat()
}

fn put_stat(t: &mut TaskCtx, addr: u64, st: &Stat) -> SysResult {
    t.copy_out(addr, &encode_stat(st))?;
    ok(0)
}

pub fn sys_stat(t: &mut TaskCtx, a: &Args) -> SysResult {
    let path = t.read_path(a.u64(0))?;
    let st = stat_at(t, libc::AT_FDCWD, &path, 0)?;
    put_stat(t, a.u64(1), &st)
}

pub fn sys_lstat(t: &mut TaskCtx, a: &Args) -> SysResult {
    let path = t.read_path(a.u64(0))?;
    let st = stat_at(t, libc::AT_FDCWD, &path, libc::AT_SYMLINK_NOFOLLOW)?;
    put_stat(t, a.u64(1), &st)
}

pub fn sys_fstat(t: &mut TaskCtx, a: &Args) -> SysResult {
    let st = t.fds().get(a.fd(0)?)?.stat()?;
    put_stat(t, a.u64(1), &st)
}

pub fn sys_newfstatat(t: &mut TaskCtx, a: &Args) -> SysResult {
    let flags = a.i32(3);
    if flags & !(libc::AT_SYMLINK_NOFOLLOW | libc::AT_EMPTY_PATH | AT_NO_AUTOMOUNT) != 0 {
        return Err(Errno::EINVAL);
    }
    let path = t.read_path(a.u64(1))?;
    let st = stat_at(t, a.i32(0), &path, flags)?;
    put_stat(t, a.u64(2), &st)
}

pub fn sys_statx(t: &mut TaskCtx, a: &Args) -> SysResult {
    let flags = a.i32(2);
    let mask = a.u32(3);
    let valid =
        libc::AT_SYMLINK_NOFOLLOW | libc::AT_EMPTY_PATH | AT_NO_AUTOMOUNT | AT_STATX_SYNC_TYPE;
    if flags & !valid != 0
        || flags & AT_STATX_SYNC_TYPE == AT_STATX_SYNC_TYPE
        || mask & STATX_RESERVED != 0
    {
        return Err(Errno::EINVAL);
    }
    let path = t.read_path(a.u64(1))?;
    let st = stat_at(t, a.i32(0), &path, flags)?;
    t.copy_out(a.u64(4), &encode_statx(&st))?;
    ok(0)
}

/// A filesystem's statfs; one without its own answer reports a generic
/// in-memory filesystem.
fn statfs_of(inode: &dyn Inode) -> Result<(StatFs, u64), Errno> {
    let dev = inode.stat()?.dev;
    let s = match inode.statfs() {
        Err(Errno::ENOSYS) => StatFs {
            bsize: 4096,
            namelen: 255,
            frsize: 4096,
            ..StatFs::default()
        },
        r => r?,
    };
    Ok((s, dev))
}

pub fn sys_statfs(t: &mut TaskCtx, a: &Args) -> SysResult {
    let path = t.read_path(a.u64(0))?;
    let d = resolve_at(t, libc::AT_FDCWD, &path, true, false)?;
    let (s, dev) = statfs_of(d.inode.as_ref())?;
    t.copy_out(a.u64(1), &encode_statfs(&s, dev))?;
    ok(0)
}

pub fn sys_fstatfs(t: &mut TaskCtx, a: &Args) -> SysResult {
    let f = t.fds().get(a.fd(0)?)?;
    let (s, dev) = match &f.dentry {
        Some(d) => statfs_of(d.inode.as_ref())?,
        // Pipes and sockets live on Linux's pipefs/sockfs.
        None => (
            StatFs {
                fs_type: 0x5049_5045, // PIPEFS_MAGIC
                bsize: 4096,
                namelen: 255,
                frsize: 4096,
                ..StatFs::default()
            },
            f.stat()?.dev,
        ),
    };
    t.copy_out(a.u64(1), &encode_statfs(&s, dev))?;
    ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn struct_sizes_and_offsets() {
        let s = Stat {
            dev: 0x0803,
            ino: 42,
            mode: libc::S_IFREG | 0o644,
            nlink: 1,
            size: 7,
            mtime: Timespec { sec: 5, nsec: 6 },
            ..Stat::default()
        };
        let b = encode_stat(&s);
        assert_eq!(b.len(), 144);
        assert_eq!(b[8..16], 42u64.to_le_bytes());
        assert_eq!(b[24..28], (libc::S_IFREG | 0o644).to_le_bytes());
        assert_eq!(b[48..56], 7i64.to_le_bytes());
        assert_eq!(b[88..96], 5i64.to_le_bytes());
        let x = encode_statx(&s);
        assert_eq!(x.len(), 256);
        assert_eq!(x[32..40], 42u64.to_le_bytes());
        assert_eq!(x[112..120], 5i64.to_le_bytes());
        assert_eq!(x[136..140], 8u32.to_le_bytes());
        assert_eq!(x[140..144], 3u32.to_le_bytes());
        assert_eq!(encode_statfs(&StatFs::default(), 0).len(), 120);
    }
}
