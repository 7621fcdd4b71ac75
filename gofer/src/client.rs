//! The sentry's side of the file protocol.

use std::os::fd::{AsFd, OwnedFd};
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::protocol::{
    recv_msg, send_msg, DirEntry, Handle, Request, Response, Stat, StatFs, MAX_MESSAGE, XATTR_MAX,
};
use crate::GoferError;

/// A connection to a gofer. Calls are synchronous; concurrent callers are
/// serialized on one socket.
#[derive(Debug)]
pub struct Client {
    sock: Mutex<OwnedFd>,
}

fn unexpected(r: &Response) -> GoferError {
    GoferError::Protocol(format!("unexpected reply {r:?}"))
}

impl Client {
    /// Wraps the sentry's end of a `SOCK_SEQPACKET` socketpair.
    pub fn new(sock: OwnedFd) -> Client {
        Client {
            sock: Mutex::new(sock),
        }
    }

    fn lock(&self) -> MutexGuard<'_, OwnedFd> {
        // A panic while holding the lock cannot leave the fd inconsistent.
        self.sock.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// One request, one reply (and the fd the reply carried, if any).
    fn call(&self, req: &Request) -> Result<(Response, Option<OwnedFd>), GoferError> {
        let sock = self.lock();
        send_msg(sock.as_fd(), req, None)?;
        let mut buf = vec![0u8; MAX_MESSAGE];
        let got = recv_msg(sock.as_fd(), &mut buf, true)?
            .ok_or_else(|| GoferError::Protocol("gofer hung up".into()))?;
        let resp: Response = serde_json::from_slice(buf.get(..got.len).unwrap_or_default())
            .map_err(|e| GoferError::Protocol(e.to_string()))?;
        match resp {
            Response::Errno(e) => Err(GoferError::Errno(e)),
            Response::Protocol(m) => Err(GoferError::Protocol(m)),
            r => Ok((r, got.fd)),
        }
    }

    fn node(&self, req: &Request) -> Result<(Handle, Stat), GoferError> {
        match self.call(req)?.0 {
            Response::Node { handle, stat } => Ok((handle, stat)),
            r => Err(unexpected(&r)),
        }
    }

    /// A new handle on the root directory.
    pub fn attach(&self) -> Result<(Handle, Stat), GoferError> {
        self.node(&Request::Attach)
    }

    /// One path component below `dir`, with lstat semantics: a symlink is
    /// returned as itself, never followed. `name` must not be empty, `.`,
    /// `..`, or contain `/` or NUL (`EINVAL`).
    pub fn walk(&self, dir: Handle, name: &[u8]) -> Result<(Handle, Stat), GoferError> {
        self.node(&Request::Walk {
            dir,
            name: name.to_vec(),
        })
    }

    pub fn stat(&self, h: Handle) -> Result<Stat, GoferError> {
        match self.call(&Request::Stat { handle: h })?.0 {
            Response::Stat(s) => Ok(s),
            r => Err(unexpected(&r)),
        }
    }

    /// Opens the node read-only and returns the host fd. Write access gives
    /// `EROFS`; a symlink gives `ELOOP`; devices, FIFOs and sockets `EPERM`.
    /// The host fd always has `O_NONBLOCK` set (see `server::open`).
    pub fn open(&self, h: Handle, flags: i32) -> Result<OwnedFd, GoferError> {
        match self.call(&Request::Open { handle: h, flags })? {
            (Response::Opened, Some(fd)) => Ok(fd),
            (r, _) => Err(unexpected(&r)),
        }
    }

    /// Every entry of a directory except `.` and `..`.
    pub fn readdir(&self, h: Handle) -> Result<Vec<DirEntry>, GoferError> {
        let mut all = Vec::new();
        let mut cookie = 0;
        loop {
            match self.call(&Request::Readdir { handle: h, cookie })?.0 {
                Response::Dirents { entries, next } => {
                    let empty = entries.is_empty();
                    all.extend(entries);
                    match next {
                        None => return Ok(all),
                        Some(_) if empty => {
                            return Err(GoferError::Protocol("empty readdir page".into()))
                        }
                        Some(n) => cookie = n,
                    }
                }
                r => return Err(unexpected(&r)),
            }
        }
    }

    pub fn readlink(&self, h: Handle) -> Result<Vec<u8>, GoferError> {
        match self.call(&Request::Readlink { handle: h })?.0 {
            Response::Link(l) => Ok(l),
            r => Err(unexpected(&r)),
        }
    }

    pub fn statfs(&self, h: Handle) -> Result<StatFs, GoferError> {
        match self.call(&Request::StatFs { handle: h })?.0 {
            Response::StatFs(s) => Ok(s),
            r => Err(unexpected(&r)),
        }
    }

    /// The value of the host's extended attribute `name` (`ENODATA` when
    /// unset, or for a node other than a regular file or directory).
    pub fn getxattr(&self, h: Handle, name: &[u8]) -> Result<Vec<u8>, GoferError> {
        self.xattr_pieces(|offset| Request::GetXattr {
            handle: h,
            name: name.to_vec(),
            offset,
        })
    }

    /// The host's attribute names, each NUL-terminated.
    pub fn listxattr(&self, h: Handle) -> Result<Vec<u8>, GoferError> {
        self.xattr_pieces(|offset| Request::ListXattr { handle: h, offset })
    }

    /// Reads a value or list that may span several replies.
    fn xattr_pieces(&self, req: impl Fn(u32) -> Request) -> Result<Vec<u8>, GoferError> {
        let mut all = Vec::new();
        let mut want = None;
        loop {
            let offset = u32::try_from(all.len())
                .map_err(|_| GoferError::Protocol("xattr too large".into()))?;
            let (data, total) = match self.call(&req(offset))?.0 {
                Response::Xattr { data, total } => (data, total),
                r => return Err(unexpected(&r)),
            };
            let total = usize::try_from(total).unwrap_or(usize::MAX);
            if total > XATTR_MAX || *want.get_or_insert(total) != total {
                // Bounded, and one attribute from start to end: a host
                // change between pieces is an error, never a mix.
                return Err(GoferError::Protocol("xattr changed while read".into()));
            }
            all.extend_from_slice(&data);
            if all.len() >= total {
                return if all.len() == total {
                    Ok(all)
                } else {
                    Err(GoferError::Protocol("xattr longer than announced".into()))
                };
            }
            if data.is_empty() {
                return Err(GoferError::Protocol("empty xattr piece".into()));
            }
        }
    }

    /// Forgets a handle. The server sends no reply, so errors are ignored.
    pub fn close(&self, h: Handle) {
        let sock = self.lock();
        if let Err(e) = send_msg(sock.as_fd(), &Request::Close { handle: h }, None) {
            tracing::debug!("gofer close({h}): {e}");
        }
    }
}
