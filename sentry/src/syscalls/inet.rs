//! The socket syscalls on `AF_INET`/`AF_INET6` sockets (`vfs/inet.rs`):
//! addresses, connecting, sending and receiving, and the `IPPROTO_*`
//! options. `socket.rs` hands calls on such sockets here.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::sync::Arc;

use nix::errno::Errno;

use super::caps::{self, CAP_NET_BIND_SERVICE};
use super::socket::{
    gather, put_sockaddr, read_sockaddr, send_in_chunks, total_len, wait_on, Iovecs,
};
use super::{ok, SysResult};
use crate::kernel::ctx::TaskCtx;
use crate::kernel::task::lock;
use crate::kernel::wait::WaitQueue;
use crate::vfs::inet::{notifier, InetSocket, Transport};
use crate::vfs::OpenFile;

/// `sizeof(struct sockaddr_in)` and `sizeof(struct sockaddr_in6)`.
const SOCKADDR_IN: usize = 16;
const SOCKADDR_IN6: usize = 28;
/// `AF_INET`/`AF_INET6` as `sa_family_t`.
const SA_INET: u16 = 2;
const SA_INET6: u16 = 10;
/// `SIN6_LEN_RFC2133`: an IPv6 address without `sin6_scope_id`.
const SOCKADDR_IN6_MIN: usize = 24;
/// Ports below this need `CAP_NET_BIND_SERVICE`
/// (`net.ipv4.ip_unprivileged_port_start`).
const PROT_SOCK: u16 = 1024;
/// What one stream send copies in at a time.
const CHUNK: usize = 1 << 20;
/// What one stream receive takes at a time: a connection's receive
/// buffer (`netstack`'s).
const RECV_CHUNK: usize = 256 << 10;
/// The largest datagram a UDP socket takes.
const MAX_DATAGRAM: usize = 65535;
/// Linux's `TCP_MAXSEG` on loopback (MTU 65536 less headers and
/// timestamps).
const LOOPBACK_MSS: i32 = 65483;

/// The internet socket behind an open file, if it is one.
pub fn of(f: &OpenFile) -> Option<&InetSocket> {
    f.ops.as_any().downcast_ref::<InetSocket>()
}

fn creds(t: &TaskCtx) -> (u32, u32) {
    let c = lock(&t.tg().creds);
    (c.euid, c.egid)
}

/// `socket(AF_INET/AF_INET6, ty, protocol)` (Linux's `inet_create`
/// errnos): TCP and UDP only; raw and ping sockets are refused the way
/// Linux refuses them without `CAP_NET_RAW` or a ping group.
pub fn create(t: &TaskCtx, v6: bool, ty: i32, protocol: i32) -> Result<Arc<InetSocket>, Errno> {
    let stream = match (ty, protocol) {
        (libc::SOCK_STREAM, 0 | libc::IPPROTO_TCP) => true,
        (libc::SOCK_STREAM, _) => return Err(Errno::EPROTONOSUPPORT),
        (libc::SOCK_DGRAM, 0 | libc::IPPROTO_UDP) => false,
        (libc::SOCK_DGRAM, libc::IPPROTO_ICMP | libc::IPPROTO_ICMPV6) => return Err(Errno::EACCES),
        (libc::SOCK_DGRAM, _) => return Err(Errno::EPROTONOSUPPORT),
        (libc::SOCK_RAW, _) => return Err(Errno::EPERM),
        _ => return Err(Errno::ESOCKTNOSUPPORT),
    };
    Ok(InetSocket::new(v6, stream, creds(t)))
}

// ---------------------------------------------------------------------------
// Addresses

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_ne_bytes([b[at], b[at + 1]])
}

/// Parses a `sockaddr_in`/`sockaddr_in6` for a socket of family `v6`
/// (`None`: `AF_UNSPEC`, which some calls accept).
fn parse_addr(raw: &[u8], v6: bool) -> Result<Option<SocketAddr>, Errno> {
    if raw.len() < 2 {
        return Err(Errno::EINVAL);
    }
    let family = i32::from(u16_at(raw, 0));
    if family == libc::AF_UNSPEC {
        return Ok(None);
    }
    if !v6 {
        if raw.len() < SOCKADDR_IN {
            return Err(Errno::EINVAL);
        }
        if family != libc::AF_INET {
            return Err(Errno::EAFNOSUPPORT);
        }
        let port = u16::from_be_bytes([raw[2], raw[3]]);
        let ip = Ipv4Addr::new(raw[4], raw[5], raw[6], raw[7]);
        return Ok(Some(SocketAddr::V4(SocketAddrV4::new(ip, port))));
    }
    if raw.len() < SOCKADDR_IN6_MIN {
        return Err(Errno::EINVAL);
    }
    if family != libc::AF_INET6 {
        return Err(Errno::EAFNOSUPPORT);
    }
    let port = u16::from_be_bytes([raw[2], raw[3]]);
    let mut ip = [0u8; 16];
    ip.copy_from_slice(&raw[8..24]);
    Ok(Some(SocketAddr::V6(SocketAddrV6::new(
        Ipv6Addr::from(ip),
        port,
        0,
        0,
    ))))
}

/// The `sockaddr_in`/`sockaddr_in6` bytes of an address.
fn sockaddr_bytes(a: SocketAddr) -> Vec<u8> {
    match a {
        SocketAddr::V4(v4) => {
            let mut b = vec![0u8; SOCKADDR_IN];
            b[0..2].copy_from_slice(&SA_INET.to_ne_bytes());
            b[2..4].copy_from_slice(&v4.port().to_be_bytes());
            b[4..8].copy_from_slice(&v4.ip().octets());
            b
        }
        SocketAddr::V6(v6) => {
            let mut b = vec![0u8; SOCKADDR_IN6];
            b[0..2].copy_from_slice(&SA_INET6.to_ne_bytes());
            b[2..4].copy_from_slice(&v6.port().to_be_bytes());
            b[4..8].copy_from_slice(&v6.flowinfo().to_be_bytes());
            b[8..24].copy_from_slice(&v6.ip().octets());
            b[24..28].copy_from_slice(&v6.scope_id().to_ne_bytes());
            b
        }
    }
}

pub fn bind(t: &mut TaskCtx, s: &InetSocket, addr: u64, len: i32) -> SysResult {
    let raw = read_sockaddr(t, addr, len)?;
    let a = match parse_addr(&raw, s.is_v6())? {
        Some(a) => a,
        // Linux takes AF_UNSPEC as AF_INET when it asks for INADDR_ANY.
        None if !s.is_v6() && raw.len() >= SOCKADDR_IN && raw[4..8] == [0; 4] => SocketAddr::new(
            IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            u16::from_be_bytes([raw[2], raw[3]]),
        ),
        None => return Err(Errno::EAFNOSUPPORT),
    };
    if a.port() != 0 && a.port() < PROT_SOCK && !caps::has(t, CAP_NET_BIND_SERVICE) {
        return Err(Errno::EACCES);
    }
    match &s.transport {
        Transport::Tcp(tcp) => tcp.bind(a)?,
        Transport::Udp(udp) => udp.bind(a)?,
    }
    ok(0)
}

pub fn listen(s: &InetSocket, backlog: usize) -> SysResult {
    let Transport::Tcp(tcp) = &s.transport else {
        return Err(Errno::EOPNOTSUPP);
    };
    tcp.listen(backlog)?;
    ok(0)
}

pub fn connect(t: &mut TaskCtx, f: &OpenFile, s: &InetSocket, addr: u64, len: i32) -> SysResult {
    let raw = read_sockaddr(t, addr, len)?;
    let to = parse_addr(&raw, s.is_v6())?;
    match &s.transport {
        Transport::Udp(udp) => udp.connect(to)?,
        Transport::Tcp(tcp) => {
            let Some(to) = to else {
                // Dissolving a TCP connection with AF_UNSPEC is not
                // supported; Linux would abort it.
                return Err(Errno::EAFNOSUPPORT);
            };
            match tcp.connect(to) {
                Err(Errno::EINPROGRESS | Errno::EALREADY) if !f.nonblocking() => {
                    let timeout = s.opts().sndtimeo;
                    match wait_on(t, &[&s.wq], false, timeout, || tcp.finish_connect()) {
                        // Linux reports a connect that timed out as still
                        // in progress.
                        Err(Errno::EAGAIN) => return Err(Errno::EINPROGRESS),
                        r => r?,
                    }
                }
                r => r?,
            }
        }
    }
    ok(0)
}

pub fn accept(
    t: &mut TaskCtx,
    f: &OpenFile,
    s: &InetSocket,
    a: (u64, u64),
    flags: i32,
) -> SysResult {
    let Transport::Tcp(tcp) = &s.transport else {
        return Err(Errno::EOPNOTSUPP);
    };
    let timeout = s.opts().rcvtimeo;
    let (conn, wq) = wait_on(t, &[&s.wq], f.nonblocking(), timeout, || {
        let wq = Arc::new(WaitQueue::new());
        tcp.accept(notifier(&wq)).map(|c| (c, wq))
    })?;
    if a.0 != 0 {
        let name = conn.peer_addr().map(sockaddr_bytes).unwrap_or_default();
        put_sockaddr(t, a.0, a.1, &name)?;
    }
    let sock = InetSocket::wrap(Transport::Tcp(conn), wq, creds(t));
    let file = OpenFile::new(None, sock, libc::O_RDWR | (flags & libc::O_NONBLOCK));
    ok(t.fds().alloc(file, flags & libc::O_CLOEXEC != 0, 0)?)
}

pub fn getsockname(t: &mut TaskCtx, s: &InetSocket, addr: u64, len: u64) -> SysResult {
    let a = match &s.transport {
        Transport::Tcp(tcp) => tcp.local_addr(),
        Transport::Udp(udp) => udp.local_addr(),
    };
    put_sockaddr(t, addr, len, &sockaddr_bytes(a))?;
    ok(0)
}

pub fn getpeername(t: &mut TaskCtx, s: &InetSocket, addr: u64, len: u64) -> SysResult {
    let a = match &s.transport {
        Transport::Tcp(tcp) => tcp.peer_addr()?,
        Transport::Udp(udp) => udp.peer_addr()?,
    };
    put_sockaddr(t, addr, len, &sockaddr_bytes(a))?;
    ok(0)
}

pub fn shutdown(s: &InetSocket, rd: bool, wr: bool) -> SysResult {
    match &s.transport {
        Transport::Tcp(tcp) => tcp.shutdown(rd, wr)?,
        Transport::Udp(udp) => udp.shutdown(rd, wr)?,
    }
    ok(0)
}

// ---------------------------------------------------------------------------
// Sending and receiving

pub fn send(
    t: &mut TaskCtx,
    f: &OpenFile,
    s: &InetSocket,
    iovs: &[(u64, usize)],
    flags: i32,
    name: Option<&[u8]>,
) -> SysResult {
    let nonblock = f.nonblocking() || flags & libc::MSG_DONTWAIT != 0;
    let timeout = s.opts().sndtimeo;
    let len = total_len(iovs);
    match &s.transport {
        Transport::Udp(udp) => {
            if flags & libc::MSG_OOB != 0 {
                return Err(Errno::EOPNOTSUPP);
            }
            let to = match name {
                Some(raw) => parse_addr(raw, s.is_v6())?,
                None => None,
            };
            if len > MAX_DATAGRAM {
                return Err(Errno::EMSGSIZE);
            }
            let data = gather(t, iovs, 0, len)?;
            ok(wait_on(t, &[&s.wq], nonblock, timeout, || {
                udp.send(&data, to)
            })?)
        }
        Transport::Tcp(tcp) => {
            // No urgent data: Linux would send it in-band, out of order.
            if flags & libc::MSG_OOB != 0 {
                return Err(Errno::EOPNOTSUPP);
            }
            send_in_chunks(t, iovs, len, CHUNK, flags, |t, data| {
                wait_on(t, &[&s.wq], nonblock, timeout, || tcp.send(data))
            })
        }
    }
}

/// What a receive got: the return value, the sender (datagrams), and
/// `MSG_TRUNC` when a datagram did not fit.
#[derive(Debug)]
pub struct Got {
    pub ret: usize,
    pub from: Option<SocketAddr>,
    pub flags: i32,
}

impl Got {
    pub fn name_bytes(&self) -> Vec<u8> {
        self.from.map(sockaddr_bytes).unwrap_or_default()
    }
}

/// Copies `data` out over `iovs`, starting `skip` bytes in.
fn scatter(t: &mut TaskCtx, iovs: &Iovecs, skip: usize, data: &[u8]) -> Result<(), Errno> {
    let (mut skip, mut done) = (skip, 0);
    for &(base, len) in iovs {
        if done >= data.len() {
            break;
        }
        if skip >= len {
            skip -= len;
            continue;
        }
        let n = (len - skip).min(data.len() - done);
        let at = base.checked_add(skip as u64).ok_or(Errno::EFAULT)?;
        t.copy_out(at, &data[done..done + n])?;
        done += n;
        skip = 0;
    }
    Ok(())
}

pub fn recv(
    t: &mut TaskCtx,
    f: &OpenFile,
    s: &InetSocket,
    iovs: &Iovecs,
    flags: i32,
) -> Result<Got, Errno> {
    let max = total_len(iovs);
    let nonblock = f.nonblocking() || flags & libc::MSG_DONTWAIT != 0;
    let peek = flags & libc::MSG_PEEK != 0;
    let timeout = s.opts().rcvtimeo;
    // Fail on an unwritable buffer before taking data off the socket.
    for &(base, len) in iovs {
        if len > 0 && !t.mm.check_access(base, len as u64, true) {
            return Err(Errno::EFAULT);
        }
    }
    match &s.transport {
        Transport::Tcp(tcp) => {
            if flags & libc::MSG_OOB != 0 {
                return Err(Errno::EINVAL);
            }
            // No more than a connection buffers comes in one go.
            let mut buf = vec![0u8; max.min(RECV_CHUNK)];
            let waitall = flags & libc::MSG_WAITALL != 0 && !peek;
            let mut total = 0;
            loop {
                let want = (max - total).min(buf.len());
                let chunk = &mut buf[..want];
                let n = match wait_on(t, &[&s.wq], nonblock, timeout, || tcp.recv(chunk, peek)) {
                    Ok(n) => n,
                    Err(e) if total == 0 => return Err(e),
                    Err(_) => break,
                };
                scatter(t, iovs, total, &buf[..n])?;
                total += n;
                if !waitall || n == 0 || total >= max {
                    break;
                }
            }
            Ok(Got {
                ret: total,
                from: None,
                flags: 0,
            })
        }
        Transport::Udp(udp) => {
            if flags & libc::MSG_OOB != 0 {
                return Err(Errno::EOPNOTSUPP);
            }
            let mut buf = vec![0u8; max.min(MAX_DATAGRAM)];
            let d = wait_on(t, &[&s.wq], nonblock, timeout, || udp.recv(&mut buf, peek))?;
            let n = d.len.min(buf.len());
            scatter(t, iovs, 0, &buf[..n])?;
            let trunc = d.len > n;
            Ok(Got {
                ret: if flags & libc::MSG_TRUNC != 0 {
                    d.len
                } else {
                    n
                },
                from: d.from,
                flags: if trunc { libc::MSG_TRUNC } else { 0 },
            })
        }
    }
}

// ---------------------------------------------------------------------------
// Options below SOL_SOCKET

/// The default of a stored-only integer option, if the option exists
/// for this kind of socket.
fn int_default(s: &InetSocket, level: i32, name: i32) -> Option<i32> {
    match (level, name) {
        (libc::IPPROTO_IP, libc::IP_TOS | libc::IP_RECVTOS | libc::IP_PKTINFO) => Some(0),
        (libc::IPPROTO_IP, libc::IP_TTL) => Some(64),
        (libc::IPPROTO_IP, libc::IP_RECVERR | libc::IP_FREEBIND | libc::IP_TRANSPARENT) => Some(0),
        (libc::IPPROTO_IP, libc::IP_MTU_DISCOVER) => Some(libc::IP_PMTUDISC_DONT),
        (libc::IPPROTO_IP, libc::IP_MULTICAST_TTL | libc::IP_MULTICAST_LOOP) => Some(1),
        (libc::IPPROTO_IPV6, _) if !s.is_v6() => None,
        (libc::IPPROTO_IPV6, libc::IPV6_UNICAST_HOPS | libc::IPV6_MULTICAST_HOPS) => Some(64),
        (libc::IPPROTO_IPV6, libc::IPV6_TCLASS | libc::IPV6_RECVERR | libc::IPV6_RECVPKTINFO) => {
            Some(0)
        }
        (libc::IPPROTO_IPV6, libc::IPV6_MULTICAST_LOOP) => Some(1),
        (libc::IPPROTO_TCP, _) if !s.is_stream() => None,
        (libc::IPPROTO_TCP, libc::TCP_KEEPIDLE) => Some(7200),
        (libc::IPPROTO_TCP, libc::TCP_KEEPINTVL) => Some(75),
        (libc::IPPROTO_TCP, libc::TCP_KEEPCNT) => Some(9),
        (libc::IPPROTO_TCP, libc::TCP_SYNCNT) => Some(6),
        (libc::IPPROTO_TCP, libc::TCP_LINGER2) => Some(60),
        (libc::IPPROTO_TCP, libc::TCP_MAXSEG) => Some(LOOPBACK_MSS),
        (
            libc::IPPROTO_TCP,
            libc::TCP_CORK
            | libc::TCP_QUICKACK
            | libc::TCP_DEFER_ACCEPT
            | libc::TCP_USER_TIMEOUT
            | libc::TCP_FASTOPEN
            | libc::TCP_NOTSENT_LOWAT,
        ) => Some(0),
        _ => None,
    }
}

fn stored(s: &InetSocket, key: (i32, i32)) -> Option<i32> {
    lock(&s.ints)
        .iter()
        .find(|(k, _)| *k == key)
        .map(|&(_, v)| v)
}

/// `getsockopt` below `SOL_SOCKET`: the value's bytes.
pub fn get_option(s: &InetSocket, level: i32, name: i32) -> Result<Vec<u8>, Errno> {
    let int = |v: i32| v.to_ne_bytes().to_vec();
    match (level, name, &s.transport) {
        (libc::IPPROTO_TCP, libc::TCP_NODELAY, Transport::Tcp(tcp)) => {
            Ok(int(i32::from(tcp.opts().nodelay)))
        }
        (libc::IPPROTO_IPV6, libc::IPV6_V6ONLY, _) if s.is_v6() => {
            let o = match &s.transport {
                Transport::Tcp(x) => x.opts(),
                Transport::Udp(x) => x.opts(),
            };
            Ok(int(i32::from(o.v6only)))
        }
        (libc::IPPROTO_TCP, libc::TCP_CONGESTION, Transport::Tcp(_)) => {
            let mut v = b"reno".to_vec();
            v.resize(16, 0);
            Ok(v)
        }
        _ => {
            let d = int_default(s, level, name).ok_or(Errno::ENOPROTOOPT)?;
            Ok(int(stored(s, (level, name)).unwrap_or(d)))
        }
    }
}

/// `setsockopt` below `SOL_SOCKET`.
pub fn set_option(
    t: &TaskCtx,
    s: &InetSocket,
    level: i32,
    name: i32,
    optval: u64,
    len: usize,
) -> SysResult {
    if level == libc::IPPROTO_TCP && name == libc::TCP_CONGESTION {
        return if s.is_stream() {
            ok(0)
        } else {
            Err(Errno::ENOPROTOOPT)
        };
    }
    // Linux lets IPv4 byte options be set with one byte.
    let val: i32 = match len {
        0 => return Err(Errno::EINVAL),
        1..=3 if level == libc::IPPROTO_IP => {
            let b: u8 = t.read_obj(optval)?;
            i32::from(b)
        }
        1..=3 => return Err(Errno::EINVAL),
        _ => t.read_obj(optval)?,
    };
    match (level, name, &s.transport) {
        (libc::IPPROTO_TCP, libc::TCP_NODELAY, Transport::Tcp(tcp)) => {
            tcp.set_opts(|o| o.nodelay = val != 0);
            return ok(0);
        }
        (libc::IPPROTO_IPV6, libc::IPV6_V6ONLY, _) if s.is_v6() => {
            let set = |o: &mut netstack::SockOpts| o.v6only = val != 0;
            match &s.transport {
                Transport::Tcp(x) => x.set_opts(set),
                Transport::Udp(x) => x.set_opts(set),
            }
            return ok(0);
        }
        _ => {}
    }
    int_default(s, level, name).ok_or(Errno::ENOPROTOOPT)?;
    match (level, name) {
        (libc::IPPROTO_IP, libc::IP_TTL) if !(1..=255).contains(&val) && val != -1 => {
            return Err(Errno::EINVAL)
        }
        (libc::IPPROTO_TCP, libc::TCP_MAXSEG) if !(0..=65535).contains(&val) => {
            return Err(Errno::EINVAL)
        }
        (libc::IPPROTO_TCP, libc::TCP_KEEPIDLE | libc::TCP_KEEPINTVL)
            if !(1..=32767).contains(&val) =>
        {
            return Err(Errno::EINVAL)
        }
        (libc::IPPROTO_TCP, libc::TCP_KEEPCNT) if !(1..=127).contains(&val) => {
            return Err(Errno::EINVAL)
        }
        _ => {}
    }
    let mut ints = lock(&s.ints);
    ints.retain(|(k, _)| *k != (level, name));
    ints.push(((level, name), val));
    ok(0)
}
