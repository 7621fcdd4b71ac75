//! The sentry's side of the file protocol.

use std::os::fd::{AsFd, OwnedFd};
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::protocol::{
    recv_msg, send_msg, DirEntry, Handle, Request, Response, Stat, StatFs, MAX_MESSAGE,
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

    /// Forgets a handle. The server sends no reply, so errors are ignored.
    pub fn close(&self, h: Handle) {
        let sock = self.lock();
        if let Err(e) = send_msg(sock.as_fd(), &Request::Close { handle: h }, None) {
            tracing::debug!("gofer close({h}): {e}");
        }
    }
}
