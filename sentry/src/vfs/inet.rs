//! Internet sockets (`AF_INET`, `AF_INET6`): the open-file side of the
//! netstack's TCP and UDP sockets. The stack itself (smoltcp, loopback
//! only so far) lives in the `netstack` crate; one stack serves the whole
//! sandbox.

use std::any::Any;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use netstack::{Notifier, Stack, TcpSocket, UdpSocket};
use nix::errno::Errno;

use super::file::FileOps;
use super::inode::{Stat, Timespec};
use super::unix::{next_ino, Opts, SOCKFS_DEV};
use crate::kernel::wait::WaitQueue;

/// The sandbox's network stack, made when the first socket needs it.
pub fn stack() -> &'static Arc<Stack> {
    static STACK: OnceLock<Arc<Stack>> = OnceLock::new();
    STACK.get_or_init(Stack::loopback)
}

/// The transport under an internet socket.
#[derive(Debug)]
pub enum Transport {
    Tcp(TcpSocket),
    Udp(UdpSocket),
}

/// An `AF_INET`/`AF_INET6` socket as an open file holds it. Dropping it
/// (the last open file going away) closes the transport.
#[derive(Debug)]
pub struct InetSocket {
    pub transport: Transport,
    /// Woken by the stack whenever readiness may have changed.
    pub wq: Arc<WaitQueue>,
    opts: Mutex<Opts>,
    /// `IPPROTO_IP`/`IPPROTO_IPV6`/`IPPROTO_TCP` integer options that are
    /// only stored and read back.
    pub ints: Mutex<Vec<((i32, i32), i32)>>,
    ino: u64,
    owner: (u32, u32),
    created: Timespec,
}

/// A notifier that wakes everyone sleeping on `wq`.
pub fn notifier(wq: &Arc<WaitQueue>) -> Notifier {
    let wq = Arc::clone(wq);
    Arc::new(move || wq.notify())
}

impl InetSocket {
    /// A new socket; `stream` picks TCP, otherwise UDP.
    pub fn new(v6: bool, stream: bool, owner: (u32, u32)) -> Arc<InetSocket> {
        let wq = Arc::new(WaitQueue::new());
        let n = notifier(&wq);
        let transport = if stream {
            Transport::Tcp(TcpSocket::new(stack(), v6, n))
        } else {
            Transport::Udp(UdpSocket::new(stack(), v6, n))
        };
        InetSocket::wrap(transport, wq, owner)
    }

    /// The file side of a connection `accept` took, which notifies `wq`.
    pub fn wrap(transport: Transport, wq: Arc<WaitQueue>, owner: (u32, u32)) -> Arc<InetSocket> {
        Arc::new(InetSocket {
            transport,
            wq,
            opts: Mutex::new(Opts::default()),
            ints: Mutex::new(Vec::new()),
            ino: next_ino(),
            owner,
            created: Timespec::now(),
        })
    }

    pub fn is_v6(&self) -> bool {
        match &self.transport {
            Transport::Tcp(s) => s.is_v6(),
            Transport::Udp(s) => s.is_v6(),
        }
    }

    pub fn is_stream(&self) -> bool {
        matches!(self.transport, Transport::Tcp(_))
    }

    pub fn family(&self) -> i32 {
        if self.is_v6() {
            libc::AF_INET6
        } else {
            libc::AF_INET
        }
    }

    pub fn owner(&self) -> (u32, u32) {
        self.owner
    }

    fn lock_opts(&self) -> MutexGuard<'_, Opts> {
        self.opts.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn opts(&self) -> Opts {
        *self.lock_opts()
    }

    /// Changes the socket-level options and passes on those the stack
    /// acts on.
    pub fn set_opts(&self, f: impl FnOnce(&mut Opts)) {
        let o = {
            let mut g = self.lock_opts();
            f(&mut g);
            *g
        };
        let apply = |n: &mut netstack::SockOpts| {
            n.reuseaddr = o.reuseaddr;
            n.reuseport = o.reuseport;
            n.keepalive = o.keepalive;
            n.linger0 = o.linger.0 != 0 && o.linger.1 == 0;
        };
        match &self.transport {
            Transport::Tcp(s) => s.set_opts(apply),
            Transport::Udp(s) => s.set_opts(apply),
        }
    }

    /// `SO_ERROR`: the pending error, cleared.
    pub fn take_error(&self) -> Option<Errno> {
        match &self.transport {
            Transport::Tcp(s) => s.take_error(),
            Transport::Udp(_) => None,
        }
    }

    pub fn is_listening(&self) -> bool {
        matches!(&self.transport, Transport::Tcp(s) if s.is_listening())
    }

    pub fn poll_bits(&self) -> i16 {
        match &self.transport {
            Transport::Tcp(s) => s.poll(),
            Transport::Udp(s) => s.poll(),
        }
    }
}

impl FileOps for InetSocket {
    fn read(&self, buf: &mut [u8], _off: u64) -> Result<usize, Errno> {
        match &self.transport {
            Transport::Tcp(s) => s.recv(buf, false),
            Transport::Udp(s) => s.recv(buf, false).map(|d| d.len.min(buf.len())),
        }
    }

    fn write(&self, buf: &[u8], _off: u64) -> Result<usize, Errno> {
        match &self.transport {
            Transport::Tcp(s) => s.send(buf),
            Transport::Udp(s) => s.send(buf, None),
        }
    }

    fn poll(&self) -> i16 {
        self.poll_bits()
    }

    fn wait_queue(&self) -> Option<&WaitQueue> {
        Some(&self.wq)
    }

    fn fionread(&self) -> Result<usize, Errno> {
        Ok(match &self.transport {
            Transport::Tcp(s) => s.readable(),
            Transport::Udp(s) => s.readable(),
        })
    }

    fn stat(&self) -> Result<Stat, Errno> {
        Ok(Stat {
            dev: SOCKFS_DEV,
            ino: self.ino,
            mode: libc::S_IFSOCK | 0o777,
            nlink: 1,
            uid: self.owner.0,
            gid: self.owner.1,
            blksize: 4096,
            atime: self.created,
            mtime: self.created,
            ctime: self.created,
            ..Stat::default()
        })
    }

    fn anon_name(&self) -> String {
        format!("socket:[{}]", self.ino)
    }

    fn sigpipe_on_epipe(&self) -> bool {
        self.is_stream()
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
