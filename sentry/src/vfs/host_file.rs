//! A file over a host fd the sentry was given (the sandbox's stdio).
//!
//! The fd is usually the user's terminal, shared with other processes, so
//! its `O_NONBLOCK` flag is never touched. Instead every read or write is
//! preceded by a zero-timeout host `poll`, and a file that is not ready
//! gives `EAGAIN`; the syscall layer then waits on [`FileOps::host_fd`].

use std::any::Any;
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::sync::Arc;

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout};

use super::file::FileOps;
use super::inode::Stat;

#[derive(Debug)]
pub struct HostFile {
    fd: OwnedFd,
}

impl HostFile {
    pub fn new(fd: OwnedFd) -> Arc<HostFile> {
        Arc::new(HostFile { fd })
    }

    /// The `poll` bits of `events` that hold now.
    fn ready(&self, events: PollFlags) -> Result<PollFlags, Errno> {
        let mut fds = [PollFd::new(self.fd.as_fd(), events)];
        loop {
            match nix::poll::poll(&mut fds, PollTimeout::ZERO) {
                Ok(_) => return Ok(fds[0].revents().unwrap_or(PollFlags::empty())),
                Err(Errno::EINTR) => {}
                Err(e) => return Err(e),
            }
        }
    }
}

impl FileOps for HostFile {
    fn read(&self, buf: &mut [u8], _off: u64) -> Result<usize, Errno> {
        if self.ready(PollFlags::POLLIN)?.is_empty() {
            return Err(Errno::EAGAIN);
        }
        loop {
            match nix::unistd::read(self.fd.as_raw_fd(), buf) {
                Err(Errno::EINTR) => {}
                r => return r,
            }
        }
    }

    fn write(&self, buf: &[u8], _off: u64) -> Result<usize, Errno> {
        if self.ready(PollFlags::POLLOUT)?.is_empty() {
            return Err(Errno::EAGAIN);
        }
        loop {
            match nix::unistd::write(&self.fd, buf) {
                Err(Errno::EINTR) => {}
                r => return r,
            }
        }
    }

    fn poll(&self) -> i16 {
        match self.ready(PollFlags::POLLIN | PollFlags::POLLOUT) {
            Ok(r) => r.bits(),
            Err(_) => libc::POLLERR,
        }
    }

    fn host_fd(&self) -> Option<RawFd> {
        Some(self.fd.as_raw_fd())
    }

    fn fionread(&self) -> Result<usize, Errno> {
        let mut n: libc::c_int = 0;
        // SAFETY: FIONREAD writes one int through the pointer, which points
        // at our local `n`.
        let r = unsafe { libc::ioctl(self.fd.as_raw_fd(), libc::FIONREAD, &mut n) };
        if r < 0 {
            return Err(Errno::last());
        }
        Ok(usize::try_from(n).unwrap_or(0))
    }

    fn stat(&self) -> Result<Stat, Errno> {
        let host = nix::sys::stat::fstat(self.fd.as_raw_fd())?;
        Ok(gofer::Stat::from(&host).into())
    }

    fn anon_name(&self) -> String {
        if self.is_tty() {
            "/dev/pts/0".to_string()
        } else {
            format!("host:[{}]", self.fd.as_raw_fd())
        }
    }

    fn is_tty(&self) -> bool {
        nix::unistd::isatty(self.fd.as_raw_fd()).unwrap_or(false)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::unistd::pipe;

    #[test]
    fn pipe_readiness_without_nonblock() {
        let (r, w) = pipe().unwrap();
        let (r, w) = (HostFile::new(r), HostFile::new(w));
        let mut buf = [0u8; 8];
        assert_eq!(r.read(&mut buf, 0), Err(Errno::EAGAIN));
        assert_eq!(r.poll() & libc::POLLIN, 0);
        assert_eq!(w.write(b"hi", 0), Ok(2));
        assert_eq!(r.fionread(), Ok(2));
        assert_ne!(r.poll() & libc::POLLIN, 0);
        assert_eq!(r.read(&mut buf, 0), Ok(2));
        assert!(!r.is_tty());
        assert_eq!(r.stat().unwrap().mode & libc::S_IFMT, libc::S_IFIFO);
        drop(w);
        assert_eq!(r.read(&mut buf, 0), Ok(0)); // POLLHUP counts as readable
    }
}
