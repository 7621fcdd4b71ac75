//! UDP sockets with Linux's socket-level semantics on smoltcp.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use nix::errno::Errno;
use nix::libc;
use smoltcp::iface::{SocketHandle, SocketSet};
use smoltcp::socket::udp::{self, PacketBuffer, PacketMetadata};
use smoltcp::wire::IpListenEndpoint;

use crate::ports::{canonical, unspecified, Binding, Proto};
use crate::stack::{
    bindable, family_accepts, in_family, ip_from_smol, ip_to_smol, remote_endpoint, socket_common,
    Inner, Notifier, SockOpts, Stack,
};

/// Datagrams and bytes each direction queues.
const QUEUE_PACKETS: usize = 256;
const QUEUE_BYTES: usize = 256 << 10;
/// The largest UDP payload over IPv4 and over IPv6 (the IPv6 one is
/// bounded by the loopback MTU of 65535, 40 bytes below Linux's 65527).
const MAX_PAYLOAD_V4: usize = 65507;
const MAX_PAYLOAD_V6: usize = 65487;

// Not Debug: the notifier is a closure.
pub(crate) struct UdpEntry {
    v6: bool,
    h: Option<SocketHandle>,
    /// The connected peer, resolved (`0.0.0.0` is already 127.0.0.1).
    peer: Option<(IpAddr, u16)>,
    rd_shut: bool,
    wr_shut: bool,
    opts: SockOpts,
    pub(crate) notify: Notifier,
    pub(crate) sig: u64,
}

/// One received datagram: its full length and where it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Datagram {
    pub len: usize,
    pub from: Option<SocketAddr>,
}

fn new_socket() -> udp::Socket<'static> {
    let buf = || {
        PacketBuffer::new(
            vec![PacketMetadata::EMPTY; QUEUE_PACKETS],
            vec![0; QUEUE_BYTES],
        )
    };
    udp::Socket::new(buf(), buf())
}

/// Readiness bits the way Linux's `udp_poll` sets them.
fn readiness(e: &UdpEntry, set: &SocketSet<'_>) -> i16 {
    let mut m: i16 = 0;
    let s = e.h.map(|h| set.get::<udp::Socket>(h));
    if e.rd_shut && e.wr_shut {
        m |= libc::POLLHUP;
    }
    if e.rd_shut {
        m |= libc::POLLIN | libc::POLLRDHUP;
    }
    if s.is_some_and(udp::Socket::can_recv) {
        m |= libc::POLLIN;
    }
    if s.is_none_or(udp::Socket::can_send) {
        m |= libc::POLLOUT;
    }
    m
}

impl UdpEntry {
    pub(crate) fn signature(&self, set: &SocketSet<'_>) -> u64 {
        let r = u64::from(readiness(self, set).cast_unsigned());
        let (rq, sq) = self.h.map_or((0, 0), |h| {
            let s = set.get::<udp::Socket>(h);
            (s.recv_queue() as u64, s.send_queue() as u64)
        });
        r | (rq & 0xff_ffff) << 16 | (sq & 0xff_ffff) << 40
    }
}

impl Inner {
    fn udp_entry(&mut self, id: u64) -> Result<&mut UdpEntry, Errno> {
        self.udp.get_mut(&id).ok_or(Errno::EBADF)
    }

    fn udp_bind(&mut self, id: u64, a: SocketAddr) -> Result<(), Errno> {
        let e = self.udp_entry(id)?;
        if e.h.is_some() {
            return Err(Errno::EINVAL);
        }
        let ip = canonical(a.ip());
        let b = Binding {
            proto: Proto::Udp,
            ip,
            port: a.port(),
            dual: e.v6 && !e.opts.v6only,
            reuseaddr: e.opts.reuseaddr,
            reuseport: e.opts.reuseport,
            listening: false,
        };
        let port = self.ports.reserve(id, b)?;
        let mut s = new_socket();
        let addr = (!ip.is_unspecified()).then(|| ip_to_smol(ip));
        if s.bind(IpListenEndpoint { addr, port }).is_err() {
            self.ports.release(id);
            return Err(Errno::EINVAL);
        }
        let h = self.set.add(s);
        self.udp_entry(id)?.h = Some(h);
        Ok(())
    }

    fn udp_handle(&mut self, id: u64) -> Result<SocketHandle, Errno> {
        let e = self.udp_entry(id)?;
        if let Some(h) = e.h {
            return Ok(h);
        }
        let any = SocketAddr::new(unspecified(e.v6), 0);
        self.udp_bind(id, any)?;
        self.udp_entry(id)?.h.ok_or(Errno::EINVAL)
    }

    fn udp_connect(&mut self, id: u64, to: Option<SocketAddr>) -> Result<(), Errno> {
        let Some(to) = to else {
            self.udp_entry(id)?.peer = None;
            return Ok(());
        };
        let e = self.udp_entry(id)?;
        if !family_accepts(e.v6, e.opts.v6only, to.ip()) {
            return Err(Errno::ENETUNREACH);
        }
        let ep = remote_endpoint(to)?;
        self.check_source(id, ep)?;
        self.udp_handle(id)?;
        self.udp_entry(id)?.peer = Some((ip_from_smol(ep.addr), ep.port));
        Ok(())
    }

    fn udp_send(&mut self, id: u64, data: &[u8], to: Option<SocketAddr>) -> Result<usize, Errno> {
        let e = self.udp_entry(id)?;
        if e.wr_shut {
            return Err(Errno::EPIPE);
        }
        let ep = match to {
            Some(to) => {
                if !family_accepts(e.v6, e.opts.v6only, to.ip()) {
                    return Err(Errno::ENETUNREACH);
                }
                remote_endpoint(to)?
            }
            None => {
                let (ip, port) = e.peer.ok_or(Errno::EDESTADDRREQ)?;
                smoltcp::wire::IpEndpoint::new(ip_to_smol(ip), port)
            }
        };
        let max = match ep.addr {
            smoltcp::wire::IpAddress::Ipv4(_) => MAX_PAYLOAD_V4,
            smoltcp::wire::IpAddress::Ipv6(_) => MAX_PAYLOAD_V6,
        };
        if data.len() > max {
            return Err(Errno::EMSGSIZE);
        }
        if ep.port == 0 {
            return Err(Errno::EINVAL);
        }
        self.check_source(id, ep)?;
        let h = self.udp_handle(id)?;
        match self.set.get_mut::<udp::Socket>(h).send_slice(data, ep) {
            Ok(()) => Ok(data.len()),
            Err(udp::SendError::BufferFull) => Err(Errno::EAGAIN),
            Err(udp::SendError::Unaddressable) => Err(Errno::EINVAL),
        }
    }

    /// A socket bound to an address of one family cannot send to the
    /// other (smoltcp would build a mixed packet).
    fn check_source(&self, id: u64, to: smoltcp::wire::IpEndpoint) -> Result<(), Errno> {
        match self.ports.get(id) {
            Some(b)
                if !b.ip.is_unspecified() && b.ip.is_ipv4() != ip_from_smol(to.addr).is_ipv4() =>
            {
                Err(Errno::ENETUNREACH)
            }
            _ => Ok(()),
        }
    }

    fn udp_recv(&mut self, id: u64, buf: &mut [u8], peek: bool) -> Result<Datagram, Errno> {
        let e = self.udp_entry(id)?;
        let (v6, v6only, peer, rd_shut) = (e.v6, e.opts.v6only, e.peer, e.rd_shut);
        let Some(h) = e.h else {
            return if rd_shut {
                Ok(Datagram { len: 0, from: None })
            } else {
                Err(Errno::EAGAIN)
            };
        };
        let s = self.set.get_mut::<udp::Socket>(h);
        loop {
            let (data, meta) = match s.peek() {
                Ok(x) => x,
                Err(_) if rd_shut => return Ok(Datagram { len: 0, from: None }),
                Err(_) => return Err(Errno::EAGAIN),
            };
            let from_ip = ip_from_smol(meta.endpoint.addr);
            let from_port = meta.endpoint.port;
            let wanted = family_accepts(v6, v6only, from_ip)
                && peer.is_none_or(|p| p == (from_ip, from_port));
            if !wanted {
                // Datagrams from others than the connected peer never show.
                let _ = s.recv();
                continue;
            }
            let n = data.len().min(buf.len());
            buf[..n].copy_from_slice(&data[..n]);
            let len = data.len();
            if !peek {
                let _ = s.recv();
            }
            return Ok(Datagram {
                len,
                from: Some(in_family(from_ip, from_port, v6)),
            });
        }
    }

    fn udp_local(&self, id: u64) -> Option<SocketAddr> {
        let e = self.udp.get(&id)?;
        let Some(b) = self.ports.get(id) else {
            return Some(SocketAddr::new(unspecified(e.v6), 0));
        };
        // Connected through the wildcard: the source address in use shows.
        let ip = match e.peer {
            Some((peer, _)) if b.ip.is_unspecified() => peer,
            _ => b.ip,
        };
        Some(in_family(ip, b.port, e.v6))
    }

    fn udp_close(&mut self, id: u64) {
        self.ports.release(id);
        if let Some(UdpEntry { h: Some(h), .. }) = self.udp.remove(&id) {
            self.set.remove(h);
        }
    }
}

/// One UDP socket of a [`Stack`].
#[derive(Debug)]
pub struct UdpSocket {
    stack: Arc<Stack>,
    id: u64,
    v6: bool,
}

impl UdpSocket {
    pub fn new(stack: &Arc<Stack>, v6: bool, notify: Notifier) -> UdpSocket {
        let id = stack.with(|g| {
            let id = g.new_id();
            g.udp.insert(
                id,
                UdpEntry {
                    v6,
                    h: None,
                    peer: None,
                    rd_shut: false,
                    wr_shut: false,
                    opts: SockOpts::default(),
                    notify,
                    sig: 0,
                },
            );
            id
        });
        UdpSocket {
            stack: Arc::clone(stack),
            id,
            v6,
        }
    }

    pub fn bind(&self, a: SocketAddr) -> Result<(), Errno> {
        bindable(a.ip())?;
        self.stack.with(|g| g.udp_bind(self.id, a))
    }

    /// Sets the default destination (and the only source accepted);
    /// `None` dissolves the association (`AF_UNSPEC`).
    pub fn connect(&self, to: Option<SocketAddr>) -> Result<(), Errno> {
        self.stack.with(|g| g.udp_connect(self.id, to))
    }

    /// Sends one datagram to `to`, or to the connected peer.
    pub fn send(&self, data: &[u8], to: Option<SocketAddr>) -> Result<usize, Errno> {
        self.stack.with(|g| g.udp_send(self.id, data, to))
    }

    /// Receives one datagram into `buf` (the rest of a longer one is
    /// lost unless `peek`).
    pub fn recv(&self, buf: &mut [u8], peek: bool) -> Result<Datagram, Errno> {
        self.stack.with(|g| g.udp_recv(self.id, buf, peek))
    }

    pub fn shutdown(&self, rd: bool, wr: bool) -> Result<(), Errno> {
        self.stack.with(|g| {
            let e = g.udp_entry(self.id)?;
            // Linux: shutdown of an unconnected datagram socket.
            if e.peer.is_none() {
                return Err(Errno::ENOTCONN);
            }
            e.rd_shut |= rd;
            e.wr_shut |= wr;
            Ok(())
        })
    }

    pub fn peer_addr(&self) -> Result<SocketAddr, Errno> {
        self.stack.peek(|g| {
            let e = g.udp.get(&self.id).ok_or(Errno::EBADF)?;
            let (ip, port) = e.peer.ok_or(Errno::ENOTCONN)?;
            Ok(in_family(ip, port, e.v6))
        })
    }

    /// The size of the next datagram (`FIONREAD` on a UDP socket).
    pub fn readable(&self) -> usize {
        let mut none = [0u8; 0];
        self.recv(&mut none, true).map_or(0, |d| d.len)
    }

    pub fn set_opts(&self, f: impl FnOnce(&mut SockOpts)) {
        self.stack.with(|g| {
            if let Some(e) = g.udp.get_mut(&self.id) {
                f(&mut e.opts);
            }
        });
    }
}

socket_common!(UdpSocket, udp, udp_local, udp_close);
