//! open, openat, openat2 and creat.

use std::any::Any;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use nix::errno::Errno;

use super::path::{check_dir_writable, resolve_at, resolve_parent_at, Ids, MAY_READ, MAY_WRITE};
use super::{ok, Args, SysResult};
use crate::kernel::ctx::TaskCtx;
use crate::vfs::{pipe, Dentry, FileOps, OpenFile};

/// Symlinks followed in one resolution before `ELOOP` (`MAXSYMLINKS`).
const MAX_SYMLINKS: u32 = 40;

/// Flags that only matter while opening; `F_GETFL` does not show them.
const OPEN_ONLY: i32 =
    libc::O_CREAT | libc::O_EXCL | libc::O_NOCTTY | libc::O_TRUNC | libc::O_CLOEXEC;

/// An `O_PATH` descriptor: it names a file but allows no I/O.
#[derive(Debug)]
struct PathFile;

impl FileOps for PathFile {
    fn read(&self, _buf: &mut [u8], _off: u64) -> Result<usize, Errno> {
        Err(Errno::EBADF)
    }

    fn write(&self, _buf: &[u8], _off: u64) -> Result<usize, Errno> {
        Err(Errno::EBADF)
    }

    fn readdir(&self) -> Result<Vec<crate::vfs::DirEntry>, Errno> {
        Err(Errno::EBADF)
    }

    fn truncate(&self, _len: u64) -> Result<(), Errno> {
        Err(Errno::EBADF)
    }

    fn fsync(&self) -> Result<(), Errno> {
        Err(Errno::EBADF)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

pub fn sys_open(t: &mut TaskCtx, a: &Args) -> SysResult {
    let path = t.read_path(a.u64(0))?;
    do_open(t, libc::AT_FDCWD, &path, a.i32(1), a.u32(2))
}

pub fn sys_openat(t: &mut TaskCtx, a: &Args) -> SysResult {
    let path = t.read_path(a.u64(1))?;
    do_open(t, a.i32(0), &path, a.i32(2), a.u32(3))
}

pub fn sys_creat(t: &mut TaskCtx, a: &Args) -> SysResult {
    let path = t.read_path(a.u64(0))?;
    let flags = libc::O_CREAT | libc::O_WRONLY | libc::O_TRUNC;
    do_open(t, libc::AT_FDCWD, &path, flags, a.u32(1))
}

/// openat2 (`struct open_how` with RESOLVE_* flags) is not supported yet;
/// programs fall back to openat on ENOSYS.
pub fn sys_openat2(_t: &mut TaskCtx, _a: &Args) -> SysResult {
    Err(Errno::ENOSYS)
}

/// The kernel's `O_LARGEFILE` (libc's is 0 on x86_64): every open on a
/// 64-bit kernel gets it (`force_o_largefile`), and F_GETFL shows it.
const O_LARGEFILE: i32 = 0o100000;

/// Opens `(dirfd, path)` and installs it at the lowest free fd.
pub fn do_open(t: &mut TaskCtx, dirfd: i32, path: &[u8], flags: i32, mode: u32) -> SysResult {
    let flags = flags | O_LARGEFILE;
    let file = open_file(t, dirfd, path, flags, mode)?;
    crate::vfs::inotify::opened(&file);
    wait_for_fifo_partner(t, &file)?;
    // As in Linux's do_dentry_open: checked once the file is open (a
    // created file stays), and O_PATH ignores the flag.
    if flags & (libc::O_DIRECT | libc::O_PATH) == libc::O_DIRECT && !file.ops.direct_io() {
        return Err(Errno::EINVAL);
    }
    let fd = t.fds().alloc(file, flags & libc::O_CLOEXEC != 0, 0)?;
    ok(fd)
}

/// A blocking open of a FIFO returns only once the other side has opened
/// it too (Linux's `wait_for_partner`). A signal interrupts the wait; the
/// end is dropped then, so the partner no longer counts it, and the open
/// fails with `EINTR` or restarts (`SA_RESTART`).
fn wait_for_fifo_partner(t: &mut TaskCtx, file: &OpenFile) -> Result<(), Errno> {
    if file.nonblocking() {
        return Ok(());
    }
    let Some(wait) = pipe::partner_wait(&*file.ops) else {
        return Ok(());
    };
    t.block(&[wait.wait_queue()], None, false, |_| {
        Ok(wait.arrived().then_some(()))
    })
}

/// Opens `(dirfd, path)` as `open(2)` would, without installing an fd.
/// A FIFO end comes back at once, even where `open(2)` would still wait
/// for its partner (see [`wait_for_fifo_partner`]).
pub fn open_file(
    t: &TaskCtx,
    dirfd: i32,
    path: &[u8],
    flags: i32,
    mode: u32,
) -> Result<Arc<OpenFile>, Errno> {
    if flags & libc::O_PATH != 0 {
        let keep = libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW;
        return open_path(t, dirfd, path, flags & keep);
    }
    if flags & libc::O_TMPFILE == libc::O_TMPFILE {
        return open_tmpfile(t, dirfd, path, flags, mode);
    }
    let ids = Ids::fs(t);
    let dentry = if flags & libc::O_CREAT != 0 {
        let (d, created) = lookup_or_create(t, &ids, dirfd, path, flags, mode)?;
        if created {
            crate::vfs::inotify::created_dentry(&d);
            let ops = d.inode.open(flags & !libc::O_TRUNC)?;
            return Ok(OpenFile::new(Some(d), ops, flags & !OPEN_ONLY));
        }
        d
    } else {
        let follow = flags & libc::O_NOFOLLOW == 0;
        resolve_at(t, dirfd, path, follow, false)?
    };
    open_existing(&ids, dentry, flags)
}

/// Opens an existing file: type checks, then permissions, then the inode.
fn open_existing(ids: &Ids, d: Arc<Dentry>, flags: i32) -> Result<Arc<OpenFile>, Errno> {
    let st = d.inode.stat()?;
    if st.is_symlink() {
        return Err(Errno::ELOOP); // only reachable with O_NOFOLLOW
    }
    if flags & libc::O_DIRECTORY != 0 && !st.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    let acc = flags & libc::O_ACCMODE;
    if st.is_dir() && (acc != libc::O_RDONLY || flags & libc::O_CREAT != 0) {
        return Err(Errno::EISDIR);
    }
    let mut mask = 0;
    if acc == libc::O_RDONLY || acc == libc::O_RDWR {
        mask |= MAY_READ;
    }
    if acc == libc::O_WRONLY || acc == libc::O_RDWR || flags & libc::O_TRUNC != 0 {
        mask |= MAY_WRITE;
    }
    ids.check(&st, mask)?;
    let ops = d.inode.open(flags)?;
    Ok(OpenFile::new(Some(d), ops, flags & !OPEN_ONLY))
}

/// The `O_CREAT` walk: finds the last component (following a final
/// symlink unless `O_EXCL`/`O_NOFOLLOW`, even a dangling one, whose target
/// is then created) or creates it. Returns the dentry and whether it is new.
fn lookup_or_create(
    t: &TaskCtx,
    ids: &Ids,
    dirfd: i32,
    path: &[u8],
    flags: i32,
    mode: u32,
) -> Result<(Arc<Dentry>, bool), Errno> {
    let vfs = &t.kernel().vfs;
    let (mut dir, mut name, trailing) = resolve_parent_at(t, dirfd, path)?;
    let mut links = 0;
    loop {
        if trailing || name.is_empty() || name == b"." || name == b".." {
            return Err(Errno::EISDIR);
        }
        match dir.inode.lookup(&name) {
            Ok(inode) => {
                if flags & libc::O_EXCL != 0 {
                    return Err(Errno::EEXIST);
                }
                let child = Dentry::new_child(&dir, &name, vfs.cross_mounts(inode));
                if !child.inode.stat()?.is_symlink() || flags & libc::O_NOFOLLOW != 0 {
                    return Ok((child, false));
                }
                links += 1;
                if links > MAX_SYMLINKS {
                    return Err(Errno::ELOOP);
                }
                let target = child.inode.readlink()?;
                let fs = t.fs();
                let start = if target.first() == Some(&b'/') {
                    Arc::clone(&fs.root)
                } else {
                    Arc::clone(&dir)
                };
                if target.ends_with(b"/") {
                    // A directory is wanted: resolve it as a whole.
                    let d = crate::vfs::resolve(vfs, &fs.root, &start, &target, true)?;
                    return Ok((d, false));
                }
                let (d, n, _) = crate::vfs::resolve_parent(vfs, &fs.root, &start, &target)?;
                ids.check(&d.inode.stat()?, super::path::MAY_EXEC)?;
                dir = d;
                name = n;
            }
            Err(Errno::ENOENT) => {
                check_dir_writable(ids, &dir)?;
                let umask = t.fs().umask;
                let inode = dir
                    .inode
                    .create(&name, mode & 0o7777 & !umask, ids.uid, ids.gid)?;
                return Ok((Dentry::new_child(&dir, &name, inode), true));
            }
            Err(e) => return Err(e),
        }
    }
}

/// `O_PATH`: resolves without opening the inode; no permission but search
/// is needed, and with `O_NOFOLLOW` a final symlink itself is named.
fn open_path(t: &TaskCtx, dirfd: i32, path: &[u8], flags: i32) -> Result<Arc<OpenFile>, Errno> {
    let follow = flags & libc::O_NOFOLLOW == 0;
    let d = resolve_at(t, dirfd, path, follow, false)?;
    if flags & libc::O_DIRECTORY != 0 && !d.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    Ok(OpenFile::new(Some(d), Arc::new(PathFile), flags))
}

/// `O_TMPFILE`: an unnamed regular file in the directory `path`. It is
/// created under a private name and unlinked at once, so it has no links
/// but lives as long as the descriptor.
fn open_tmpfile(
    t: &TaskCtx,
    dirfd: i32,
    path: &[u8],
    flags: i32,
    mode: u32,
) -> Result<Arc<OpenFile>, Errno> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let acc = flags & libc::O_ACCMODE;
    if acc != libc::O_WRONLY && acc != libc::O_RDWR {
        return Err(Errno::EINVAL);
    }
    let ids = Ids::fs(t);
    let dir = resolve_at(t, dirfd, path, true, false)?;
    if !dir.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    check_dir_writable(&ids, &dir)?;
    let umask = t.fs().umask;
    let mode = mode & 0o7777 & !umask;
    let (name, inode) = loop {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let name = format!(".rvisor-tmpfile-{}-{n}", t.tid()).into_bytes();
        match dir.inode.create(&name, mode, ids.uid, ids.gid) {
            Ok(i) => break (name, i),
            Err(Errno::EEXIST) => continue,
            Err(e) => return Err(e),
        }
    };
    let ops = inode.open(flags & !libc::O_TMPFILE);
    dir.inode.unlink(&name)?;
    let ops = ops?;
    let d = Dentry::new_child(&dir, &name, inode);
    Ok(OpenFile::new(
        Some(d),
        ops,
        flags & !OPEN_ONLY & !libc::O_TMPFILE,
    ))
}
