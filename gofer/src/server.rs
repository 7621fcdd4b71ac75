//! The gofer's side of the file protocol: a single-threaded loop that
//! answers requests with host calls on fds below the root.
//!
//! Confinement does not depend on the chroot alone: every lookup is one
//! `openat(dir, name, O_PATH|O_NOFOLLOW)` with `name` a single component that
//! is neither `.` nor `..`, so no request can name anything outside the tree
//! below the root fd, and no symlink is ever followed.

use std::collections::BTreeMap;
use std::ffi::CString;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::rc::Rc;

use nix::errno::Errno;
use nix::unistd::{lseek, Whence};

use crate::protocol::{
    recv_msg, send_msg, DirEntry, Handle, Request, Response, Stat, StatFs, MAX_MESSAGE, XATTR_MAX,
    XATTR_PIECE,
};
use crate::GoferError;

/// Most entries in one readdir reply.
const DIRENTS_PER_PAGE: usize = 256;
/// Estimated JSON bytes per readdir reply; one more entry (at most ~1.1 KiB)
/// still keeps the datagram under `MAX_MESSAGE`.
const DIRENTS_BUDGET: usize = 32 * 1024;

/// An open node: an `O_PATH|O_NOFOLLOW` fd plus where it was found, so that
/// it can be reopened for reading without `/proc/self/fd`.
struct Node {
    fd: Rc<OwnedFd>,
    /// The directory it was walked from and the component used; `None` for
    /// the root.
    parent: Option<(Rc<OwnedFd>, CString)>,
}

struct Server {
    root: Rc<OwnedFd>,
    // A BTreeMap, not a HashMap: RandomState would call getrandom, which the
    // seccomp filter does not allow.
    nodes: BTreeMap<Handle, Node>,
    next: Handle,
}

/// Serves requests on `sock` for the tree below `root` (an `O_PATH`
/// directory fd) until the peer hangs up.
pub fn serve(sock: OwnedFd, root: OwnedFd) -> Result<(), GoferError> {
    let mut server = Server {
        root: Rc::new(root),
        nodes: BTreeMap::new(),
        next: 1,
    };
    let mut buf = vec![0u8; MAX_MESSAGE];
    loop {
        let reply = match recv_msg(sock.as_fd(), &mut buf, false) {
            Ok(None) => return Ok(()),
            Ok(Some(got)) => {
                match serde_json::from_slice::<Request>(buf.get(..got.len).unwrap_or_default()) {
                    Ok(Request::Close { handle }) => {
                        server.nodes.remove(&handle);
                        continue;
                    }
                    Ok(req) => server
                        .handle(req)
                        .unwrap_or_else(|e| (Response::Errno(e as i32), None)),
                    Err(e) => (Response::Protocol(e.to_string()), None),
                }
            }
            Err(GoferError::Protocol(m)) => (Response::Protocol(m), None),
            Err(e) => return Err(e),
        };
        let fd = reply.1.as_ref().map(|f| f.as_fd());
        let sent = match send_msg(sock.as_fd(), &reply.0, fd) {
            Err(GoferError::Protocol(m)) => send_msg(sock.as_fd(), &Response::Protocol(m), None),
            other => other,
        };
        match sent {
            Ok(()) => {}
            Err(GoferError::Io(e))
                if matches!(e.raw_os_error(), Some(libc::EPIPE | libc::ECONNRESET)) =>
            {
                return Ok(())
            }
            Err(e) => return Err(e),
        }
    }
}

impl Server {
    fn node(&self, h: Handle) -> Result<&Node, Errno> {
        self.nodes.get(&h).ok_or(Errno::EBADF)
    }

    fn insert(&mut self, node: Node) -> Handle {
        let h = self.next;
        self.next += 1;
        self.nodes.insert(h, node);
        h
    }

    fn handle(&mut self, req: Request) -> Result<(Response, Option<OwnedFd>), Errno> {
        let resp = match req {
            Request::Attach => {
                let fd = openat(
                    self.root.as_fd(),
                    c".",
                    libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
                )?;
                let stat = fstat(fd.as_fd())?;
                let handle = self.insert(Node {
                    fd: Rc::new(fd),
                    parent: None,
                });
                Response::Node { handle, stat }
            }
            Request::Walk { dir, name } => {
                let name = component(name)?;
                let dir = Rc::clone(&self.node(dir)?.fd);
                let fd = openat(
                    dir.as_fd(),
                    &name,
                    libc::O_PATH | libc::O_NOFOLLOW | libc::O_CLOEXEC,
                )?;
                let stat = fstat(fd.as_fd())?;
                let handle = self.insert(Node {
                    fd: Rc::new(fd),
                    parent: Some((dir, name)),
                });
                Response::Node { handle, stat }
            }
            Request::Stat { handle } => Response::Stat(fstat(self.node(handle)?.fd.as_fd())?),
            Request::Open { handle, flags } => {
                let fd = open(self.node(handle)?, flags)?;
                return Ok((Response::Opened, Some(fd)));
            }
            Request::Readdir { handle, cookie } => readdir(self.node(handle)?, cookie)?,
            Request::Readlink { handle } => Response::Link(readlink(self.node(handle)?)?),
            Request::StatFs { handle } => Response::StatFs(statfs(self.node(handle)?.fd.as_fd())?),
            Request::GetXattr {
                handle,
                name,
                offset,
            } => {
                let name = CString::new(name).map_err(|_| Errno::EINVAL)?;
                let value = match xattr_fd(self.node(handle)?)? {
                    Some(fd) => fgetxattr(fd.as_fd(), &name)?,
                    None => return Err(Errno::ENODATA),
                };
                xattr_piece(&value, offset)?
            }
            Request::ListXattr { handle, offset } => {
                let names = match xattr_fd(self.node(handle)?)? {
                    Some(fd) => flistxattr(fd.as_fd())?,
                    None => Vec::new(),
                };
                xattr_piece(&names, offset)?
            }
            // serve() handles Close itself, as it gets no reply.
            Request::Close { .. } => return Err(Errno::EINVAL),
        };
        Ok((resp, None))
    }
}

/// Checks that `name` is one ordinary path component.
fn component(name: Vec<u8>) -> Result<CString, Errno> {
    if name.is_empty() || name == b"." || name == b".." || name.contains(&b'/') {
        return Err(Errno::EINVAL);
    }
    CString::new(name).map_err(|_| Errno::EINVAL) // interior NUL
}

/// Reopens a node for reading. Only regular files and directories can be
/// opened: a device node in the image would otherwise reach a host device,
/// and a FIFO could block the gofer.
fn open(node: &Node, flags: i32) -> Result<OwnedFd, Errno> {
    let write = libc::O_CREAT | libc::O_TRUNC | libc::O_APPEND;
    // O_TMPFILE includes the O_DIRECTORY bit, so test all of its bits.
    let tmpfile = flags & libc::O_TMPFILE == libc::O_TMPFILE;
    if flags & libc::O_ACCMODE != libc::O_RDONLY || flags & write != 0 || tmpfile {
        return Err(Errno::EROFS);
    }
    let want = fstat(node.fd.as_fd())?;
    // O_NONBLOCK always: if the file were swapped for a FIFO between the
    // check and the open, the open must not block the gofer.
    let host =
        libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NOCTTY | libc::O_NONBLOCK;
    let fd = match want.mode & libc::S_IFMT {
        libc::S_IFDIR => openat(node.fd.as_fd(), c".", host | libc::O_DIRECTORY)?,
        libc::S_IFREG => {
            let host = host | (flags & libc::O_DIRECTORY);
            match &node.parent {
                Some((dir, name)) => openat(dir.as_fd(), name, host)?,
                None => return Err(Errno::EIO), // the root is a directory
            }
        }
        libc::S_IFLNK => return Err(Errno::ELOOP),
        _ => return Err(Errno::EPERM),
    };
    let got = fstat(fd.as_fd())?;
    if (got.dev, got.ino) != (want.dev, want.ino) {
        return Err(Errno::ESTALE); // replaced on the host since the walk
    }
    Ok(fd)
}

/// One page of a directory, starting at `cookie` (a `d_off` from an earlier
/// page, or 0).
fn readdir(node: &Node, cookie: i64) -> Result<Response, Errno> {
    let dir = openat(
        node.fd.as_fd(),
        c".",
        libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC | libc::O_NONBLOCK,
    )?;
    if cookie != 0 {
        lseek(dir.as_raw_fd(), cookie, Whence::SeekSet)?;
    }
    let mut entries = Vec::new();
    let mut cost = 0;
    let mut pos = cookie; // the d_off just after the last consumed entry
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = getdents64(dir.as_fd(), &mut buf)?;
        if n == 0 {
            return Ok(Response::Dirents {
                entries,
                next: None,
            });
        }
        let mut rest = buf.get(..n).ok_or(Errno::EIO)?;
        while !rest.is_empty() {
            let (ent, d_off, len) = parse_dirent(rest).ok_or(Errno::EIO)?;
            let full = entries.len() >= DIRENTS_PER_PAGE || cost >= DIRENTS_BUDGET;
            if full {
                return Ok(Response::Dirents {
                    entries,
                    next: Some(pos),
                });
            }
            if ent.name != b"." && ent.name != b".." {
                cost += 48 + 4 * ent.name.len();
                entries.push(ent);
            }
            pos = d_off;
            rest = rest.get(len..).ok_or(Errno::EIO)?;
        }
    }
}

/// Decodes the `linux_dirent64` at the start of `b`: the entry, its `d_off`
/// and its record length.
fn parse_dirent(b: &[u8]) -> Option<(DirEntry, i64, usize)> {
    let ino = u64::from_ne_bytes(b.get(0..8)?.try_into().ok()?);
    let off = i64::from_ne_bytes(b.get(8..16)?.try_into().ok()?);
    let reclen = usize::from(u16::from_ne_bytes(b.get(16..18)?.try_into().ok()?));
    let kind = *b.get(18)?;
    let name = b.get(19..reclen)?;
    let name = name.split(|&c| c == 0).next()?.to_vec();
    Some((DirEntry { name, ino, kind }, off, reclen))
}

fn readlink(node: &Node) -> Result<Vec<u8>, Errno> {
    let mut buf = vec![0u8; libc::PATH_MAX as usize];
    // SAFETY: the fd is live, the empty path is NUL-terminated, and the
    // kernel writes at most `buf.len()` bytes into `buf`. With an empty path
    // readlinkat reads the symlink the O_PATH|O_NOFOLLOW fd refers to.
    let n = unsafe {
        libc::readlinkat(
            node.fd.as_raw_fd(),
            c"".as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    let n = usize::try_from(n).map_err(|_| match Errno::last() {
        Errno::ENOENT => Errno::EINVAL, // not a symlink
        e => e,
    })?;
    if n >= buf.len() {
        return Err(Errno::ENAMETOOLONG);
    }
    buf.truncate(n);
    Ok(buf)
}

/// An fd to read a node's extended attributes through: the `O_PATH` fd
/// of a node allows no xattr calls, so a regular file or directory is
/// reopened read-only, the way `open` does it safely. Other nodes (which
/// `open` refuses) get `None`: their attributes are not shown.
fn xattr_fd(node: &Node) -> Result<Option<OwnedFd>, Errno> {
    match fstat(node.fd.as_fd())?.mode & libc::S_IFMT {
        libc::S_IFREG | libc::S_IFDIR => open(node, libc::O_RDONLY).map(Some),
        _ => Ok(None),
    }
}

fn fgetxattr(fd: BorrowedFd<'_>, name: &std::ffi::CStr) -> Result<Vec<u8>, Errno> {
    let mut buf = vec![0u8; XATTR_MAX];
    // SAFETY: `fd` is live, `name` NUL-terminated, and the kernel writes at
    // most `buf.len()` bytes into `buf`.
    let n = unsafe {
        libc::fgetxattr(
            fd.as_raw_fd(),
            name.as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    buf.truncate(usize::try_from(n).map_err(|_| Errno::last())?);
    Ok(buf)
}

fn flistxattr(fd: BorrowedFd<'_>) -> Result<Vec<u8>, Errno> {
    let mut buf = vec![0u8; XATTR_MAX];
    // SAFETY: `fd` is live and the kernel writes at most `buf.len()` bytes
    // into `buf`.
    let n = unsafe { libc::flistxattr(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
    buf.truncate(usize::try_from(n).map_err(|_| Errno::last())?);
    Ok(buf)
}

/// The piece of `all` that starts at `offset`.
fn xattr_piece(all: &[u8], offset: u32) -> Result<Response, Errno> {
    let total = u32::try_from(all.len()).map_err(|_| Errno::E2BIG)?;
    let start = usize::try_from(offset).map_err(|_| Errno::EINVAL)?;
    let rest = all.get(start..).ok_or(Errno::EINVAL)?;
    let data = rest.get(..XATTR_PIECE).unwrap_or(rest).to_vec();
    Ok(Response::Xattr { data, total })
}

fn openat(dir: BorrowedFd<'_>, name: &std::ffi::CStr, flags: i32) -> Result<OwnedFd, Errno> {
    // SAFETY: `dir` is a live fd and `name` a NUL-terminated string for the
    // whole call; no mode argument is needed as flags never hold O_CREAT or
    // O_TMPFILE (`open` rejects them).
    let fd = unsafe { libc::openat(dir.as_raw_fd(), name.as_ptr(), flags) };
    if fd < 0 {
        return Err(Errno::last());
    }
    // SAFETY: openat just returned this fd; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn getdents64(dir: BorrowedFd<'_>, buf: &mut [u8]) -> Result<usize, Errno> {
    // SAFETY: the kernel writes at most `buf.len()` bytes into `buf`, which
    // stays borrowed for the call; `dir` is a live fd.
    let n = unsafe {
        libc::syscall(
            libc::SYS_getdents64,
            dir.as_raw_fd(),
            buf.as_mut_ptr(),
            buf.len(),
        )
    };
    usize::try_from(n).map_err(|_| Errno::last())
}

fn fstat(fd: BorrowedFd<'_>) -> Result<Stat, Errno> {
    Ok(Stat::from(&nix::sys::stat::fstat(fd.as_raw_fd())?))
}

fn statfs(fd: BorrowedFd<'_>) -> Result<StatFs, Errno> {
    let mut st = std::mem::MaybeUninit::<libc::statfs64>::uninit();
    // SAFETY: `st` is writable memory of the right type and `fd` is live.
    if unsafe { libc::fstatfs64(fd.as_raw_fd(), st.as_mut_ptr()) } != 0 {
        return Err(Errno::last());
    }
    // SAFETY: fstatfs succeeded, so it filled in the whole struct.
    let st = unsafe { st.assume_init() };
    Ok(StatFs {
        fs_type: st.f_type,
        bsize: st.f_bsize,
        blocks: st.f_blocks,
        bfree: st.f_bfree,
        bavail: st.f_bavail,
        files: st.f_files,
        ffree: st.f_ffree,
        namelen: st.f_namelen,
        frsize: st.f_frsize,
        flags: st.f_flags,
    })
}
