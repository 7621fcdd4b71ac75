//! TCP sockets with Linux's socket-level semantics on smoltcp
//! connections.
//!
//! smoltcp has no listen queue: a listening socket is a pool of smoltcp
//! sockets, each of which becomes one connection; `accept` takes an
//! established one out. The pool keeps one socket in LISTEN while it
//! holds fewer than backlog + 1 connections (Linux's accept-queue
//! limit), so a listener costs one socket's buffers until clients come.

use std::net::SocketAddr;
use std::sync::Arc;

use nix::errno::Errno;
use nix::libc;
use smoltcp::iface::{SocketHandle, SocketSet};
use smoltcp::socket::tcp::{self, State};
use smoltcp::wire::{IpEndpoint, IpListenEndpoint};

use crate::ports::{canonical, unspecified, Binding, Proto};
use crate::stack::{
    bindable, family_accepts, in_family, ip_from_smol, ip_to_smol, remote_endpoint, socket_common,
    Inner, Notifier, SockOpts, Stack,
};

/// Receive and send buffer of each connection (smoltcp's are fixed at
/// creation). Large enough for window scaling to matter on loopback.
const RX_BUF: usize = 256 << 10;
const TX_BUF: usize = 256 << 10;
/// The most connections one listener queues (`SOMAXCONN` is 4096 on
/// Linux, but each queued connection here holds its buffers).
const MAX_BACKLOG: usize = 128;
/// Linux's `tcp_keepalive_time`.
const KEEPALIVE: smoltcp::time::Duration = smoltcp::time::Duration::from_secs(7200);
/// How long a closed connection may wait for its peer (`tcp_fin_timeout`).
const ORPHAN_TIMEOUT: smoltcp::time::Duration = smoltcp::time::Duration::from_secs(60);

#[derive(Debug)]
pub(crate) enum Conn {
    /// Not connected (possibly bound).
    Closed,
    Listening {
        pool: Vec<SocketHandle>,
        endpoint: IpListenEndpoint,
        /// The most sockets the pool holds.
        cap: usize,
    },
    /// Connecting or connected.
    Active {
        h: SocketHandle,
        /// `connect` has reported success (a second call gives EISCONN).
        reported: bool,
        established: bool,
        /// The peer's FIN arrived.
        fin_seen: bool,
        /// A reset has been turned into the pending error once.
        reset_seen: bool,
    },
    /// A connect failed; the error waits in `err`.
    Failed,
}

// Not Debug: the notifier is a closure.
pub(crate) struct TcpEntry {
    v6: bool,
    conn: Conn,
    err: Option<Errno>,
    rd_shut: bool,
    wr_shut: bool,
    /// The port was bound by connect/listen, not by `bind`.
    autobound: bool,
    opts: SockOpts,
    pub(crate) notify: Notifier,
    pub(crate) sig: u64,
}

fn new_conn() -> tcp::Socket<'static> {
    let mut s = tcp::Socket::new(
        tcp::SocketBuffer::new(vec![0; RX_BUF]),
        tcp::SocketBuffer::new(vec![0; TX_BUF]),
    );
    // Delayed ACKs only slow a loopback peer down.
    s.set_ack_delay(None);
    s
}

/// Makes sure one pool socket listens (re-listening those a reset
/// closed), unless the pool is full.
fn top_up(
    set: &mut SocketSet<'static>,
    pool: &mut Vec<SocketHandle>,
    endpoint: IpListenEndpoint,
    cap: usize,
    opts: &SockOpts,
) {
    let mut idle = false;
    for &h in pool.iter() {
        let s = set.get_mut::<tcp::Socket>(h);
        if s.state() == State::Closed {
            let _ = s.listen(endpoint);
        }
        idle |= s.state() == State::Listen;
    }
    if !idle && pool.len() < cap {
        pool.push(add_listener(set, endpoint, opts));
    }
}

/// A new pool socket listening on `endpoint`.
fn add_listener(
    set: &mut SocketSet<'static>,
    endpoint: IpListenEndpoint,
    opts: &SockOpts,
) -> SocketHandle {
    let mut s = new_conn();
    apply_opts(&mut s, opts);
    // A fresh socket with a non-zero port always listens.
    let _ = s.listen(endpoint);
    set.add(s)
}

fn apply_opts(s: &mut tcp::Socket<'_>, o: &SockOpts) {
    s.set_nagle_enabled(!o.nodelay);
    s.set_keep_alive(o.keepalive.then_some(KEEPALIVE));
}

/// Readiness bits (`POLLIN`…) the way Linux's `tcp_poll` sets them.
fn readiness(e: &TcpEntry, set: &SocketSet<'_>) -> i16 {
    let mut m: i16 = 0;
    if e.err.is_some() {
        m |= libc::POLLERR;
    }
    match &e.conn {
        Conn::Closed => m | libc::POLLOUT | libc::POLLHUP,
        Conn::Failed => m | libc::POLLIN | libc::POLLRDHUP | libc::POLLOUT | libc::POLLHUP,
        Conn::Listening { pool, .. } => {
            if pool
                .iter()
                .any(|&h| is_acceptable(set.get::<tcp::Socket>(h).state()))
            {
                m |= libc::POLLIN;
            }
            m
        }
        Conn::Active { h, fin_seen, .. } => {
            let s = set.get::<tcp::Socket>(*h);
            let st = s.state();
            let closed = st == State::Closed;
            let rd_shut = e.rd_shut || *fin_seen || closed;
            let wr_shut = e.wr_shut || closed;
            if closed || (rd_shut && wr_shut) {
                m |= libc::POLLHUP;
            }
            if rd_shut {
                m |= libc::POLLIN | libc::POLLRDHUP;
            }
            if !matches!(st, State::SynSent | State::SynReceived) {
                if s.recv_queue() > 0 {
                    m |= libc::POLLIN;
                }
                if wr_shut || s.send_queue() < s.send_capacity() {
                    m |= libc::POLLOUT;
                }
            }
            m
        }
    }
}

/// A pool socket whose handshake is done.
fn is_acceptable(st: State) -> bool {
    !matches!(st, State::Listen | State::SynReceived | State::Closed)
}

impl TcpEntry {
    pub(crate) fn signature(&self, set: &SocketSet<'_>) -> u64 {
        let r = u64::from(readiness(self, set).cast_unsigned());
        let (rq, sq) = match &self.conn {
            Conn::Active { h, .. } => {
                let s = set.get::<tcp::Socket>(*h);
                (s.recv_queue() as u64, s.send_queue() as u64)
            }
            Conn::Listening { pool, .. } => (
                pool.iter()
                    .filter(|&&h| is_acceptable(set.get::<tcp::Socket>(h).state()))
                    .count() as u64,
                0,
            ),
            _ => (0, 0),
        };
        r | (rq & 0xff_ffff) << 16 | (sq & 0xff_ffff) << 40
    }
}

impl Inner {
    fn tcp_entry(&mut self, id: u64) -> Result<&mut TcpEntry, Errno> {
        self.tcp.get_mut(&id).ok_or(Errno::EBADF)
    }

    /// Brings connection state up to date after a poll: failed connects,
    /// resets, listeners whose pool sockets were reset.
    pub(crate) fn refresh_tcp(&mut self) {
        let ids: Vec<u64> = self.tcp.keys().copied().collect();
        for id in ids {
            let Some(e) = self.tcp.get_mut(&id) else {
                continue;
            };
            match &mut e.conn {
                Conn::Active {
                    h,
                    established,
                    fin_seen,
                    reset_seen,
                    ..
                } => {
                    let st = self.set.get::<tcp::Socket>(*h).state();
                    if !matches!(st, State::SynSent | State::Listen | State::Closed) {
                        *established = true;
                    }
                    if matches!(
                        st,
                        State::CloseWait | State::LastAck | State::Closing | State::TimeWait
                    ) {
                        *fin_seen = true;
                    }
                    if st != State::Closed {
                        continue;
                    }
                    if !*established {
                        let h = *h;
                        self.set.remove(h);
                        e.conn = Conn::Failed;
                        e.err = Some(Errno::ECONNREFUSED);
                        if e.autobound {
                            self.ports.release(id);
                            e.autobound = false;
                        }
                    } else if !*fin_seen && !*reset_seen && !e.wr_shut {
                        *reset_seen = true;
                        e.err = Some(Errno::ECONNRESET);
                    }
                }
                Conn::Listening {
                    pool,
                    endpoint,
                    cap,
                } => {
                    let opts = e.opts;
                    top_up(&mut self.set, pool, *endpoint, *cap, &opts);
                }
                Conn::Closed | Conn::Failed => {}
            }
        }
    }

    /// Ports of listeners with no socket left in LISTEN (their queue is
    /// full).
    pub(crate) fn full_listen_ports(&self) -> std::collections::HashSet<u16> {
        self.tcp
            .values()
            .filter_map(|e| match &e.conn {
                Conn::Listening { pool, endpoint, .. }
                    if !pool
                        .iter()
                        .any(|&h| self.set.get::<tcp::Socket>(h).state() == State::Listen) =>
                {
                    Some(endpoint.port)
                }
                _ => None,
            })
            .collect()
    }

    fn tcp_bind(&mut self, id: u64, a: SocketAddr, auto: bool) -> Result<(), Errno> {
        if self.ports.get(id).is_some() {
            return Err(Errno::EINVAL);
        }
        let e = self.tcp_entry(id)?;
        let b = Binding {
            proto: Proto::Tcp,
            ip: canonical(a.ip()),
            port: a.port(),
            dual: e.v6 && !e.opts.v6only,
            reuseaddr: e.opts.reuseaddr,
            reuseport: e.opts.reuseport,
            listening: false,
        };
        self.ports.reserve(id, b)?;
        if let Some(e) = self.tcp.get_mut(&id) {
            e.autobound = auto;
        }
        Ok(())
    }

    /// The listen endpoint of the socket's binding, binding an ephemeral
    /// port first if it has none.
    fn bound_endpoint(&mut self, id: u64) -> Result<IpListenEndpoint, Errno> {
        if self.ports.get(id).is_none() {
            let v6 = self.tcp_entry(id)?.v6;
            self.tcp_bind(id, SocketAddr::new(unspecified(v6), 0), true)?;
        }
        let b = self.ports.get(id).ok_or(Errno::EINVAL)?;
        let addr = (!b.ip.is_unspecified()).then(|| ip_to_smol(b.ip));
        Ok(IpListenEndpoint { addr, port: b.port })
    }

    fn tcp_listen(&mut self, id: u64, backlog: usize) -> Result<(), Errno> {
        let want = backlog.saturating_add(1).clamp(1, MAX_BACKLOG);
        let e = self.tcp.get_mut(&id).ok_or(Errno::EBADF)?;
        let opts = e.opts;
        match &mut e.conn {
            // listen again only changes the backlog.
            Conn::Listening {
                pool,
                endpoint,
                cap,
            } => {
                *cap = want;
                top_up(&mut self.set, pool, *endpoint, want, &opts);
                return Ok(());
            }
            Conn::Closed => {}
            _ => return Err(Errno::EINVAL),
        }
        let endpoint = self.bound_endpoint(id)?;
        self.ports.listen(id)?;
        let pool = vec![add_listener(&mut self.set, endpoint, &opts)];
        let e = self.tcp_entry(id)?;
        e.conn = Conn::Listening {
            pool,
            endpoint,
            cap: want,
        };
        e.err = None;
        Ok(())
    }

    fn tcp_connect(&mut self, id: u64, to: SocketAddr) -> Result<(), Errno> {
        let e = self.tcp_entry(id)?;
        match &mut e.conn {
            Conn::Listening { .. } => return Err(Errno::EISCONN),
            Conn::Active { reported: true, .. } => return Err(Errno::EISCONN),
            Conn::Active {
                established: false, ..
            } => return Err(Errno::EALREADY),
            Conn::Active { reported, .. } => {
                *reported = true;
                return Ok(());
            }
            Conn::Failed => {
                e.conn = Conn::Closed;
                return Err(e.err.take().unwrap_or(Errno::ECONNABORTED));
            }
            Conn::Closed => {}
        }
        if !family_accepts(e.v6, e.opts.v6only, to.ip()) {
            return Err(Errno::ENETUNREACH);
        }
        let remote = remote_endpoint(to)?;
        // Nothing listens on port 0: the SYN would only be reset.
        if remote.port == 0 {
            return Err(Errno::ECONNREFUSED);
        }
        let local = self.bound_endpoint(id)?;
        let opts = self.tcp_entry(id)?.opts;
        let mut s = new_conn();
        apply_opts(&mut s, &opts);
        let cx = self.context();
        if s.connect(cx, remote, local).is_err() {
            return Err(Errno::ENETUNREACH);
        }
        let h = self.set.add(s);
        let e = self.tcp_entry(id)?;
        e.conn = Conn::Active {
            h,
            reported: false,
            established: false,
            fin_seen: false,
            reset_seen: false,
        };
        e.err = None;
        e.rd_shut = false;
        e.wr_shut = false;
        Err(Errno::EINPROGRESS)
    }

    /// Where a connect in progress stands: `EAGAIN` while the handshake
    /// runs, `Ok` once connected, the error if it failed.
    fn tcp_finish_connect(&mut self, id: u64) -> Result<(), Errno> {
        let e = self.tcp_entry(id)?;
        match &mut e.conn {
            Conn::Active {
                established: false, ..
            } => Err(Errno::EAGAIN),
            Conn::Active { reported, .. } => {
                *reported = true;
                Ok(())
            }
            Conn::Failed => {
                e.conn = Conn::Closed;
                Err(e.err.take().unwrap_or(Errno::ECONNABORTED))
            }
            Conn::Closed | Conn::Listening { .. } => Err(Errno::ECONNABORTED),
        }
    }

    fn tcp_accept(&mut self, id: u64, notify: Notifier) -> Result<u64, Errno> {
        loop {
            let e = self.tcp.get_mut(&id).ok_or(Errno::EBADF)?;
            let (v6, opts) = (e.v6, e.opts);
            let Conn::Listening {
                pool,
                endpoint,
                cap,
            } = &mut e.conn
            else {
                return Err(Errno::EINVAL);
            };
            let set = &mut self.set;
            let Some(i) = pool
                .iter()
                .position(|&h| is_acceptable(set.get::<tcp::Socket>(h).state()))
            else {
                return Err(Errno::EAGAIN);
            };
            let h = pool.swap_remove(i);
            top_up(set, pool, *endpoint, *cap, &opts);
            let s = set.get_mut::<tcp::Socket>(h);
            let peer_ok = s
                .remote_endpoint()
                .is_some_and(|r| family_accepts(v6, opts.v6only, ip_from_smol(r.addr)));
            if !peer_ok {
                // A listener of the other family cannot take it.
                s.abort();
                self.orphans.push((h, false));
                continue;
            }
            let fin_seen = s.state() == State::CloseWait;
            let nid = self.new_id();
            let entry = TcpEntry {
                v6,
                conn: Conn::Active {
                    h,
                    reported: true,
                    established: true,
                    fin_seen,
                    reset_seen: false,
                },
                err: None,
                rd_shut: false,
                wr_shut: false,
                autobound: false,
                opts: SockOpts {
                    reuseaddr: false,
                    reuseport: false,
                    ..opts
                },
                notify,
                sig: 0,
            };
            self.tcp.insert(nid, entry);
            return Ok(nid);
        }
    }

    fn tcp_send(&mut self, id: u64, data: &[u8]) -> Result<usize, Errno> {
        let e = self.tcp_entry(id)?;
        if let Some(err) = e.err.take() {
            return Err(err);
        }
        if e.wr_shut {
            return Err(Errno::EPIPE);
        }
        let Conn::Active { h, .. } = e.conn else {
            return Err(Errno::EPIPE);
        };
        let s = self.set.get_mut::<tcp::Socket>(h);
        match s.state() {
            State::SynSent | State::SynReceived => return Err(Errno::EAGAIN),
            _ if !s.may_send() => return Err(Errno::EPIPE),
            _ => {}
        }
        match s.send_slice(data) {
            Ok(0) if !data.is_empty() => Err(Errno::EAGAIN),
            Ok(n) => Ok(n),
            Err(_) => Err(Errno::EPIPE),
        }
    }

    fn tcp_recv(&mut self, id: u64, buf: &mut [u8], peek: bool) -> Result<usize, Errno> {
        let e = self.tcp_entry(id)?;
        let rd_shut = e.rd_shut;
        let (h, fin_seen) = match e.conn {
            Conn::Active { h, fin_seen, .. } => (h, fin_seen),
            Conn::Failed => return Err(e.err.take().unwrap_or(Errno::ENOTCONN)),
            Conn::Closed | Conn::Listening { .. } => return Err(Errno::ENOTCONN),
        };
        let s = self.set.get_mut::<tcp::Socket>(h);
        if s.recv_queue() > 0 && !buf.is_empty() {
            let r = if peek {
                s.peek_slice(buf)
            } else {
                s.recv_slice(buf)
            };
            return Ok(r.unwrap_or(0));
        }
        let st = s.state();
        if let Some(err) = self.tcp_entry(id)?.err.take() {
            return Err(err);
        }
        if buf.is_empty() {
            return Ok(0);
        }
        if rd_shut || fin_seen || st == State::Closed {
            return Ok(0);
        }
        Err(Errno::EAGAIN)
    }

    fn tcp_shutdown(&mut self, id: u64, rd: bool, wr: bool) -> Result<(), Errno> {
        let e = self.tcp_entry(id)?;
        match &e.conn {
            Conn::Active { h, .. } => {
                let h = *h;
                if rd {
                    e.rd_shut = true;
                }
                if wr && !e.wr_shut {
                    e.wr_shut = true;
                    self.set.get_mut::<tcp::Socket>(h).close();
                }
                Ok(())
            }
            Conn::Listening { .. } if rd => {
                self.tcp_stop_listening(id);
                Ok(())
            }
            _ => Err(Errno::ENOTCONN),
        }
    }

    fn tcp_stop_listening(&mut self, id: u64) {
        let Some(e) = self.tcp.get_mut(&id) else {
            return;
        };
        if !matches!(e.conn, Conn::Listening { .. }) {
            return;
        }
        if let Conn::Listening { pool, .. } = std::mem::replace(&mut e.conn, Conn::Closed) {
            for h in pool {
                // Queued connections are reset, as Linux does on close.
                self.set.get_mut::<tcp::Socket>(h).abort();
                self.orphans.push((h, false));
            }
        }
    }

    fn tcp_close(&mut self, id: u64) {
        self.tcp_stop_listening(id);
        self.ports.release(id);
        let Some(e) = self.tcp.remove(&id) else {
            return;
        };
        if let Conn::Active { h, .. } = e.conn {
            let s = self.set.get_mut::<tcp::Socket>(h);
            // Unread data or SO_LINGER 0: Linux resets instead of closing.
            if s.recv_queue() > 0 || e.opts.linger0 || s.state() == State::SynSent {
                s.abort();
            } else {
                s.close();
                s.set_timeout(Some(ORPHAN_TIMEOUT));
            }
            self.orphans.push((h, false));
        }
    }

    fn tcp_local(&self, id: u64) -> Option<SocketAddr> {
        let e = self.tcp.get(&id)?;
        if let Conn::Active { h, .. } = e.conn {
            if let Some(l) = self.set.get::<tcp::Socket>(h).local_endpoint() {
                return Some(in_family(ip_from_smol(l.addr), l.port, e.v6));
            }
        }
        let b = self.ports.get(id);
        let (ip, port) = b.map_or((unspecified(e.v6), 0), |b| (b.ip, b.port));
        Some(in_family(ip, port, e.v6))
    }

    fn tcp_peer(&self, id: u64) -> Result<SocketAddr, Errno> {
        let e = self.tcp.get(&id).ok_or(Errno::EBADF)?;
        let Conn::Active { h, .. } = e.conn else {
            return Err(Errno::ENOTCONN);
        };
        let s = self.set.get::<tcp::Socket>(h);
        if matches!(s.state(), State::SynSent | State::Closed) {
            return Err(Errno::ENOTCONN);
        }
        let r: IpEndpoint = s.remote_endpoint().ok_or(Errno::ENOTCONN)?;
        Ok(in_family(ip_from_smol(r.addr), r.port, e.v6))
    }
}

/// One TCP socket of a [`Stack`]. Dropping it closes the socket (the
/// connection finishes in the background, as on Linux).
#[derive(Debug)]
pub struct TcpSocket {
    stack: Arc<Stack>,
    id: u64,
    v6: bool,
}

impl TcpSocket {
    /// A new unconnected socket (`AF_INET6` if `v6`).
    pub fn new(stack: &Arc<Stack>, v6: bool, notify: Notifier) -> TcpSocket {
        let id = stack.with(|g| {
            let id = g.new_id();
            g.tcp.insert(
                id,
                TcpEntry {
                    v6,
                    conn: Conn::Closed,
                    err: None,
                    rd_shut: false,
                    wr_shut: false,
                    autobound: false,
                    opts: SockOpts::default(),
                    notify,
                    sig: 0,
                },
            );
            id
        });
        TcpSocket {
            stack: Arc::clone(stack),
            id,
            v6,
        }
    }

    /// Binds to a local address (port 0: an ephemeral port).
    pub fn bind(&self, a: SocketAddr) -> Result<(), Errno> {
        bindable(a.ip())?;
        self.stack.with(|g| g.tcp_bind(self.id, a, false))
    }

    pub fn listen(&self, backlog: usize) -> Result<(), Errno> {
        self.stack.with(|g| g.tcp_listen(self.id, backlog))
    }

    /// Starts connecting (`EINPROGRESS`), or reports on a connect already
    /// started, as Linux's `connect` does.
    pub fn connect(&self, to: SocketAddr) -> Result<(), Errno> {
        self.stack.with(|g| g.tcp_connect(self.id, to))
    }

    /// `EAGAIN` while a connect is in progress, then its outcome.
    pub fn finish_connect(&self) -> Result<(), Errno> {
        self.stack.with(|g| g.tcp_finish_connect(self.id))
    }

    /// Takes an established connection off the listen queue.
    pub fn accept(&self, notify: Notifier) -> Result<TcpSocket, Errno> {
        let id = self.stack.with(|g| g.tcp_accept(self.id, notify))?;
        Ok(TcpSocket {
            stack: Arc::clone(&self.stack),
            id,
            v6: self.v6,
        })
    }

    pub fn send(&self, data: &[u8]) -> Result<usize, Errno> {
        self.stack.with(|g| g.tcp_send(self.id, data))
    }

    pub fn recv(&self, buf: &mut [u8], peek: bool) -> Result<usize, Errno> {
        self.stack.with(|g| g.tcp_recv(self.id, buf, peek))
    }

    pub fn shutdown(&self, rd: bool, wr: bool) -> Result<(), Errno> {
        self.stack.with(|g| g.tcp_shutdown(self.id, rd, wr))
    }

    pub fn peer_addr(&self) -> Result<SocketAddr, Errno> {
        self.stack.peek(|g| g.tcp_peer(self.id))
    }

    /// `SO_ERROR`: the pending error, cleared.
    pub fn take_error(&self) -> Option<Errno> {
        self.stack
            .with(|g| g.tcp.get_mut(&self.id).and_then(|e| e.err.take()))
    }

    pub fn is_listening(&self) -> bool {
        self.stack.peek(|g| {
            g.tcp
                .get(&self.id)
                .is_some_and(|e| matches!(e.conn, Conn::Listening { .. }))
        })
    }

    /// Bytes waiting to be read (`FIONREAD`/`SIOCINQ`).
    pub fn readable(&self) -> usize {
        self.stack
            .peek(|g| match g.tcp.get(&self.id).map(|e| &e.conn) {
                Some(Conn::Active { h, .. }) => g.set.get::<tcp::Socket>(*h).recv_queue(),
                _ => 0,
            })
    }

    /// Bytes sent but not yet acknowledged (`SIOCOUTQ`).
    pub fn unsent(&self) -> usize {
        self.stack
            .peek(|g| match g.tcp.get(&self.id).map(|e| &e.conn) {
                Some(Conn::Active { h, .. }) => g.set.get::<tcp::Socket>(*h).send_queue(),
                _ => 0,
            })
    }

    /// Changes options; those smoltcp knows of apply to the connection
    /// at once.
    pub fn set_opts(&self, f: impl FnOnce(&mut SockOpts)) {
        self.stack.with(|g| {
            let Some(e) = g.tcp.get_mut(&self.id) else {
                return;
            };
            f(&mut e.opts);
            let opts = e.opts;
            match &e.conn {
                Conn::Active { h, .. } => apply_opts(g.set.get_mut::<tcp::Socket>(*h), &opts),
                Conn::Listening { pool, .. } => {
                    for &h in pool {
                        apply_opts(g.set.get_mut::<tcp::Socket>(h), &opts);
                    }
                }
                _ => {}
            }
        });
    }
}

socket_common!(TcpSocket, tcp, tcp_local, tcp_close);
