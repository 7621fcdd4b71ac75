//! Wire types shared by the gofer server and its client in the sentry.
//!
//! Every message is one `serde_json` document in one `SOCK_SEQPACKET`
//! datagram of at most [`MAX_MESSAGE`] bytes. Requests are answered in
//! order, one reply each, except [`Request::Close`], which gets none. A
//! successful [`Request::Open`] reply carries the opened host fd as
//! `SCM_RIGHTS`.

use serde::{Deserialize, Serialize};

/// Server-side id of an open node (a file, directory or symlink).
pub type Handle = u64;

/// Largest datagram either side sends or accepts.
pub const MAX_MESSAGE: usize = 64 * 1024;

/// Most bytes of an extended attribute value or name list in one reply:
/// JSON spends up to four bytes on each, so a piece stays well inside
/// [`MAX_MESSAGE`]. Unit tests use small pieces, so that values a test
/// filesystem can hold (ext4: one block) still span several.
pub const XATTR_PIECE: usize = if cfg!(test) { 1000 } else { 8 * 1024 };

/// Largest attribute value or name list (Linux's `XATTR_SIZE_MAX` and
/// `XATTR_LIST_MAX`).
pub const XATTR_MAX: usize = 64 * 1024;

/// `struct timespec`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Timespec {
    pub sec: i64,
    pub nsec: i64,
}

/// The host `struct stat` of a node, as `lstat` would report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Stat {
    pub dev: u64,
    pub ino: u64,
    pub mode: u32,
    pub nlink: u64,
    pub uid: u32,
    pub gid: u32,
    pub rdev: u64,
    pub size: i64,
    pub blksize: i64,
    pub blocks: i64,
    pub atime: Timespec,
    pub mtime: Timespec,
    pub ctime: Timespec,
}

impl From<&libc::stat> for Stat {
    fn from(st: &libc::stat) -> Stat {
        Stat {
            dev: st.st_dev,
            ino: st.st_ino,
            mode: st.st_mode,
            nlink: st.st_nlink,
            uid: st.st_uid,
            gid: st.st_gid,
            rdev: st.st_rdev,
            size: st.st_size,
            blksize: st.st_blksize,
            blocks: st.st_blocks,
            atime: Timespec {
                sec: st.st_atime,
                nsec: st.st_atime_nsec,
            },
            mtime: Timespec {
                sec: st.st_mtime,
                nsec: st.st_mtime_nsec,
            },
            ctime: Timespec {
                sec: st.st_ctime,
                nsec: st.st_ctime_nsec,
            },
        }
    }
}

/// One directory entry; `kind` is a `DT_*` value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirEntry {
    pub name: Vec<u8>,
    pub ino: u64,
    pub kind: u8,
}

/// What `statfs(2)` reports; for a node, the host `struct statfs` of the
/// filesystem holding it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StatFs {
    pub fs_type: i64,
    pub bsize: i64,
    pub blocks: u64,
    pub bfree: u64,
    pub bavail: u64,
    pub files: u64,
    pub ffree: u64,
    pub namelen: i64,
    pub frsize: i64,
    pub flags: i64,
}

/// Sentry -> gofer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    /// A new handle on the root directory. Reply: [`Response::Node`].
    Attach,
    /// One path component below `dir`, never following a symlink.
    /// Reply: [`Response::Node`].
    Walk { dir: Handle, name: Vec<u8> },
    /// Reply: [`Response::Stat`].
    Stat { handle: Handle },
    /// Open for reading. Reply: [`Response::Opened`] plus one fd.
    Open { handle: Handle, flags: i32 },
    /// One page of entries starting at `cookie` (0 = the beginning).
    /// Reply: [`Response::Dirents`].
    Readdir { handle: Handle, cookie: i64 },
    /// Reply: [`Response::Link`].
    Readlink { handle: Handle },
    /// Reply: [`Response::StatFs`].
    StatFs { handle: Handle },
    /// The value of the extended attribute `name`, from byte `offset` on.
    /// Reply: [`Response::Xattr`]. Only regular files and directories have
    /// attributes to show; anything else answers `ENODATA`.
    GetXattr {
        handle: Handle,
        name: Vec<u8>,
        offset: u32,
    },
    /// The attribute names, each NUL-terminated, from byte `offset` on.
    /// Reply: [`Response::Xattr`] (empty for what `GetXattr` refuses).
    ListXattr { handle: Handle, offset: u32 },
    /// Forget a handle. No reply.
    Close { handle: Handle },
}

/// Gofer -> sentry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Response {
    Node {
        handle: Handle,
        stat: Stat,
    },
    Stat(Stat),
    /// The fd travels as `SCM_RIGHTS` with this message.
    Opened,
    /// `next` is the cookie of the following page; `None` at the end.
    Dirents {
        entries: Vec<DirEntry>,
        next: Option<i64>,
    },
    Link(Vec<u8>),
    StatFs(StatFs),
    /// At most [`XATTR_PIECE`] bytes of an attribute value or name list,
    /// and the length of all of it.
    Xattr {
        data: Vec<u8>,
        total: u32,
    },
    /// The host call failed with this errno.
    Errno(i32),
    /// The request could not be understood.
    Protocol(String),
}

// Framing: one message per datagram, an optional fd as SCM_RIGHTS.

use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use nix::errno::Errno;
use nix::sys::socket::{recvmsg, sendmsg, ControlMessage, ControlMessageOwned, MsgFlags};

use crate::GoferError;

fn io_err(e: Errno) -> GoferError {
    GoferError::Io(std::io::Error::from(e))
}

/// Sends `msg` as one datagram, with `fd` attached if given.
pub(crate) fn send_msg<T: Serialize>(
    sock: BorrowedFd<'_>,
    msg: &T,
    fd: Option<BorrowedFd<'_>>,
) -> Result<(), GoferError> {
    let bytes = serde_json::to_vec(msg).map_err(|e| GoferError::Protocol(e.to_string()))?;
    if bytes.len() > MAX_MESSAGE {
        return Err(GoferError::Protocol(format!(
            "message of {} bytes",
            bytes.len()
        )));
    }
    let fds = fd.map(|f| [f.as_raw_fd()]);
    let cmsgs: Vec<ControlMessage<'_>> = fds.iter().map(|f| ControlMessage::ScmRights(f)).collect();
    loop {
        let iov = [IoSlice::new(&bytes)];
        match sendmsg::<()>(sock.as_raw_fd(), &iov, &cmsgs, MsgFlags::MSG_NOSIGNAL, None) {
            Ok(_) => return Ok(()),
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(io_err(e)),
        }
    }
}

/// A received datagram: its length in the caller's buffer and the fd it
/// carried, if any.
pub(crate) struct Received {
    pub len: usize,
    pub fd: Option<OwnedFd>,
}

/// Receives one datagram into `buf`. `Ok(None)` means the peer hung up.
/// Without `want_fd` no control buffer is offered, so the kernel discards
/// (closes) any fds the peer attached.
pub(crate) fn recv_msg(
    sock: BorrowedFd<'_>,
    buf: &mut [u8],
    want_fd: bool,
) -> Result<Option<Received>, GoferError> {
    let mut space = nix::cmsg_space!([std::os::fd::RawFd; 1]);
    loop {
        let mut iov = [IoSliceMut::new(buf)];
        let cmsg = if want_fd { Some(&mut space) } else { None };
        let msg = match recvmsg::<()>(sock.as_raw_fd(), &mut iov, cmsg, MsgFlags::MSG_CMSG_CLOEXEC)
        {
            Ok(m) => m,
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(io_err(e)),
        };
        let mut fd = None;
        if want_fd {
            for c in msg.cmsgs().map_err(io_err)? {
                if let ControlMessageOwned::ScmRights(raws) = c {
                    for raw in raws {
                        // SAFETY: the kernel just installed `raw` in our fd
                        // table for this message; nothing else owns it.
                        let owned = unsafe { OwnedFd::from_raw_fd(raw) };
                        // Keep the first; any extra is dropped (closed).
                        fd.get_or_insert(owned);
                    }
                }
            }
        }
        if msg.flags.contains(MsgFlags::MSG_TRUNC) {
            return Err(GoferError::Protocol("datagram too large".into()));
        }
        if msg.bytes == 0 {
            return Ok(None);
        }
        return Ok(Some(Received { len: msg.bytes, fd }));
    }
}
