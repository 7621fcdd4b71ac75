//! The sandbox's console: when `rvisor do` runs on a terminal, the
//! application gets a pseudo-terminal of its own (so job control, ^C and
//! ^Z are the sandbox's, handled by the sentry's line discipline), and two
//! sentry threads relay bytes between it and the caller's terminal, which
//! is put in raw mode for the duration (the caller restores it). A third
//! thread waits for the host's SIGWINCH (the sentry is in the terminal's
//! foreground process group, so it gets one whenever the terminal is
//! resized) and copies the new size to the pty, which sends SIGWINCH to
//! the sandbox's foreground group as TIOCSWINSZ does.

use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::{SigSet, Signal};

use crate::kernel::wait::Waker;
use crate::vfs::tty::{self, Tty};
use crate::vfs::FileOps;

/// A pty whose master the sentry relays to the host terminal.
#[derive(Debug)]
pub struct Console {
    pub tty: Arc<Tty>,
    master: Arc<dyn FileOps>,
}

/// Whether `fd` is a host terminal.
pub fn is_terminal(fd: &OwnedFd) -> bool {
    // SAFETY: isatty only inspects the fd.
    unsafe { libc::isatty(fd.as_raw_fd()) == 1 }
}

fn host_winsize(fd: &OwnedFd) -> Option<[u16; 4]> {
    let mut ws = [0u16; 4];
    // SAFETY: TIOCGWINSZ writes a struct winsize (four u16) into `ws`.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCGWINSZ, ws.as_mut_ptr()) };
    (r == 0).then_some(ws)
}

/// Blocks SIGWINCH in the calling thread and so in every thread (and
/// stub) started from it afterwards: only the console's thread, which
/// waits for it with sigwaitinfo, may take it. Call it at boot before any
/// other thread exists. Without a console SIGWINCH just stays pending,
/// where the sentry would otherwise have ignored it.
pub fn block_host_winch() {
    let mut set = SigSet::empty();
    set.add(Signal::SIGWINCH);
    if let Err(e) = set.thread_block() {
        tracing::warn!("blocking SIGWINCH: {e}");
    }
}

fn make_raw(fd: &OwnedFd) {
    // SAFETY: termios is plain data filled by tcgetattr; cfmakeraw and
    // tcsetattr only read and write it and the terminal.
    unsafe {
        let mut t: libc::termios = std::mem::zeroed();
        if libc::tcgetattr(fd.as_raw_fd(), &mut t) == 0 {
            libc::cfmakeraw(&mut t);
            libc::tcsetattr(fd.as_raw_fd(), libc::TCSANOW, &t);
        }
    }
}

impl Console {
    /// Opens a pty pair and returns the console and the slave end the
    /// application gets as stdin, stdout and stderr.
    pub fn open(host_in: &OwnedFd) -> Result<(Console, Arc<dyn FileOps>), Errno> {
        let master = tty::open_master()?;
        let (tty, _) = tty::tty_of(master.as_ref()).ok_or(Errno::EIO)?;
        tty.set_locked(false);
        if let Some(ws) = host_winsize(host_in) {
            tty.set_winsize(ws);
        }
        let slave = tty.open_slave()?;
        Ok((Console { tty, master }, slave))
    }

    /// Starts relaying: host input to the pty, pty output to the host,
    /// and the host terminal's size to the pty.
    pub fn relay(&self, host_in: OwnedFd, host_out: OwnedFd) -> std::io::Result<()> {
        make_raw(&host_in);
        let host_in = Arc::new(host_in);
        let (tty, term) = (self.tty.clone(), host_in.clone());
        std::thread::Builder::new()
            .name("console-winch".into())
            .spawn(move || {
                let mut set = SigSet::empty();
                set.add(Signal::SIGWINCH);
                loop {
                    if set.wait().is_err() {
                        return;
                    }
                    if let Some(ws) = host_winsize(&term) {
                        tty.set_winsize(ws);
                    }
                }
            })?;
        let master = self.master.clone();
        std::thread::Builder::new()
            .name("console-in".into())
            .spawn(move || {
                let mut buf = [0u8; 4096];
                loop {
                    let n = match nix::unistd::read(host_in.as_raw_fd(), &mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    let mut done = 0;
                    while done < n {
                        match master.write(&buf[done..n], 0) {
                            Ok(w) => done += w,
                            Err(Errno::EAGAIN) => std::thread::sleep(Duration::from_millis(2)),
                            Err(_) => return,
                        }
                    }
                }
            })?;
        let master = self.master.clone();
        std::thread::Builder::new()
            .name("console-out".into())
            .spawn(move || {
                let waker = Waker::new();
                let wq = master.wait_queue();
                let _reg = wq.map(|q| q.register(&waker));
                let mut buf = [0u8; 4096];
                loop {
                    let seq = waker.seq();
                    match master.read(&mut buf, 0) {
                        Ok(0) => return,
                        Ok(n) => {
                            if write_all(&host_out, &buf[..n]).is_err() {
                                return;
                            }
                        }
                        Err(Errno::EAGAIN) => {
                            waker.wait(seq, Some(Instant::now() + Duration::from_millis(50)));
                        }
                        Err(_) => return,
                    }
                }
            })?;
        Ok(())
    }

    /// Gives the relay a moment to pass on what the application wrote last.
    pub fn drain(&self) {
        let deadline = Instant::now() + Duration::from_millis(500);
        while Instant::now() < deadline && self.master.poll() & libc::POLLIN != 0 {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

fn write_all(fd: &OwnedFd, mut data: &[u8]) -> Result<(), Errno> {
    while !data.is_empty() {
        let n = nix::unistd::write(fd, data)?;
        data = &data[n..];
    }
    Ok(())
}
