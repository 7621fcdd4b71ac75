//! Unix domain sockets (`AF_UNIX`): stream, datagram and seqpacket
//! sockets that live entirely in the sentry; nothing reaches the host.
//!
//! A [`Sock`] is the socket object; a [`UnixSocket`] is the [`FileOps`]
//! an open file holds, and closing the last file releases the socket
//! (as Linux's `unix_release_sock`). Every socket has its own receive
//! queue: sending to a socket appends to its queue, charging the bytes to
//! the sender's send buffer until they are read. Like [`FileOps`], the
//! operations here never block: they return `EAGAIN` and the syscall
//! layer (`syscalls/socket.rs`) sleeps on [`Sock::wq`].
//!
//! Locking: a socket's state lock is never held while another socket's
//! is taken, and queued messages (which may hold the last reference to
//! other open files, sockets among them) are dropped only after every
//! lock is released. A socket sent over itself with `SCM_RIGHTS` is a
//! reference cycle that is never collected (Linux has a garbage collector
//! for those; we do not yet).

use std::any::Any;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use nix::errno::Errno;

use super::file::{FileOps, OpenFile};
use super::inode::{Stat, Timespec};
use crate::kernel::wait::WaitQueue;

/// Device number `fstat` reports for sockets (Linux's sockfs).
pub(crate) const SOCKFS_DEV: u64 = 9;
/// `net.core.wmem_default` / `rmem_default`.
pub const DEFAULT_BUF: usize = 212_992;
/// `net.core.wmem_max` / `rmem_max`: the most `SO_SNDBUF` may ask for.
pub const MAX_BUF: usize = 212_992;
/// Linux's `SOCK_MIN_SNDBUF` and `SOCK_MIN_RCVBUF` on x86_64.
pub const MIN_SNDBUF: usize = 4608;
pub const MIN_RCVBUF: usize = 2304;
/// What one queued message costs beyond its bytes (an skb's truesize
/// overhead), so that a send buffer holds as many small messages as on
/// Linux.
const MSG_OVERHEAD: usize = 766;
/// `net.unix.max_dgram_qlen`: datagrams a socket queues from senders it
/// is not connected to.
const MAX_DGRAM_QLEN: usize = 10;
/// `net.core.somaxconn`.
pub const SOMAXCONN: usize = 4096;

/// `sk_shutdown` bits.
pub const RCV_SHUTDOWN: u8 = 1;
pub const SEND_SHUTDOWN: u8 = 2;
const SHUTDOWN_MASK: u8 = 3;

static NEXT_INO: AtomicU64 = AtomicU64::new(1);

/// A new sockfs inode number, shared by every socket family.
pub(crate) fn next_ino() -> u64 {
    NEXT_INO.fetch_add(1, Ordering::Relaxed)
}

/// The three kinds of unix socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SockType {
    Stream,
    Dgram,
    SeqPacket,
}

impl SockType {
    /// The `SOCK_*` value.
    pub fn raw(self) -> i32 {
        match self {
            SockType::Stream => libc::SOCK_STREAM,
            SockType::Dgram => libc::SOCK_DGRAM,
            SockType::SeqPacket => libc::SOCK_SEQPACKET,
        }
    }

    /// Stream and seqpacket sockets connect and accept.
    pub fn connection_oriented(self) -> bool {
        self != SockType::Dgram
    }
}

/// A bound name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnixAddr {
    /// A filesystem path, as given to bind (without the NUL).
    Path(Vec<u8>),
    /// The bytes of `sun_path` of an abstract name, leading NUL included.
    Abstract(Vec<u8>),
}

impl UnixAddr {
    /// The `struct sockaddr_un` bytes getsockname and recvfrom report; the
    /// length is Linux's (a path counts its NUL).
    pub fn to_sockaddr(&self) -> Vec<u8> {
        let mut v = unnamed_sockaddr();
        match self {
            UnixAddr::Path(p) => {
                v.extend_from_slice(p);
                v.push(0);
            }
            UnixAddr::Abstract(n) => v.extend_from_slice(n),
        }
        v
    }
}

/// A `sockaddr_un` with no name: just the family.
pub fn unnamed_sockaddr() -> Vec<u8> {
    #[allow(clippy::cast_possible_truncation, reason = "AF_UNIX is 1")]
    let fam = libc::AF_UNIX as u16;
    fam.to_ne_bytes().to_vec()
}

/// `struct ucred`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ucred {
    pub pid: i32,
    pub uid: u32,
    pub gid: u32,
}

impl Ucred {
    /// What an unconnected socket reports for `SO_PEERCRED`.
    pub const NONE: Ucred = Ucred {
        pid: 0,
        uid: u32::MAX,
        gid: u32::MAX,
    };

    pub fn to_bytes(self) -> [u8; 12] {
        let mut b = [0u8; 12];
        b[0..4].copy_from_slice(&self.pid.to_ne_bytes());
        b[4..8].copy_from_slice(&self.uid.to_ne_bytes());
        b[8..12].copy_from_slice(&self.gid.to_ne_bytes());
        b
    }
}

/// The `SOL_SOCKET` options a unix socket keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Opts {
    pub passcred: bool,
    pub reuseaddr: bool,
    pub reuseport: bool,
    pub keepalive: bool,
    pub broadcast: bool,
    pub dontroute: bool,
    pub oobinline: bool,
    pub priority: i32,
    pub rcvlowat: i32,
    /// `struct linger`: (on, seconds).
    pub linger: (i32, i32),
    pub sndbuf: usize,
    pub rcvbuf: usize,
    /// `SO_RCVTIMEO`/`SO_SNDTIMEO`; `None` waits forever.
    pub rcvtimeo: Option<Duration>,
    pub sndtimeo: Option<Duration>,
}

impl Default for Opts {
    fn default() -> Opts {
        Opts {
            passcred: false,
            reuseaddr: false,
            reuseport: false,
            keepalive: false,
            broadcast: false,
            dontroute: false,
            oobinline: false,
            priority: 0,
            rcvlowat: 1,
            linger: (0, 0),
            sndbuf: DEFAULT_BUF,
            rcvbuf: DEFAULT_BUF,
            rcvtimeo: None,
            sndtimeo: None,
        }
    }
}

/// One queued datagram or stream segment.
#[derive(Debug)]
struct Msg {
    data: Vec<u8>,
    /// Bytes of `data` already read (stream segments are read piecewise).
    off: usize,
    rights: Vec<Arc<OpenFile>>,
    creds: Option<Ucred>,
    /// The sender's name when it sent.
    from: Option<UnixAddr>,
    sender: Weak<Sock>,
    /// What is still charged to the sender's send buffer.
    charged: usize,
}

impl Msg {
    fn remaining(&self) -> usize {
        self.data.len() - self.off
    }

    /// Returns `n` bytes of the charge to the sender and wakes it.
    fn uncharge(&mut self, n: usize) {
        let n = n.min(self.charged);
        if n == 0 {
            return;
        }
        self.charged -= n;
        if let Some(s) = self.sender.upgrade() {
            s.inflight.fetch_sub(n, Ordering::AcqRel);
            s.wq.notify();
        }
    }
}

impl Drop for Msg {
    fn drop(&mut self) {
        self.uncharge(self.charged);
    }
}

#[derive(Debug)]
enum Conn {
    Unconnected,
    /// A connect is in progress on another thread.
    Connecting,
    Listening {
        backlog: usize,
        pending: VecDeque<Arc<Sock>>,
    },
    Connected,
}

/// Where a bound socket is registered, to unregister it on release.
#[derive(Debug, Clone)]
enum BoundKey {
    Path(u64, u64),
    Abstract(SockType, Vec<u8>),
}

#[derive(Debug)]
struct State {
    addr: Option<UnixAddr>,
    key: Option<BoundKey>,
    conn: Conn,
    /// The connected peer (stream, seqpacket, connected datagram).
    peer: Option<Arc<Sock>>,
    recv: VecDeque<Msg>,
    shutdown: u8,
    /// The pending `SO_ERROR`.
    err: Option<Errno>,
    /// The peer's credentials at connect time (our own once listening).
    peercred: Option<Ucred>,
    dead: bool,
    opts: Opts,
}

/// A unix socket.
#[derive(Debug)]
pub struct Sock {
    pub ty: SockType,
    /// Notified whenever this socket's readiness may have changed.
    pub wq: WaitQueue,
    state: Mutex<State>,
    /// Bytes (plus overhead) this socket sent that are still queued.
    inflight: AtomicUsize,
    ino: u64,
    /// Who created it, for `fstat` and for writes made through `write(2)`
    /// (which carry no task) to a peer that wants `SCM_CREDENTIALS`.
    owner: Ucred,
    created: Timespec,
}

/// What a receive returned.
#[derive(Debug, Default)]
pub struct Received {
    pub data: Vec<u8>,
    /// The datagram's full length (`MSG_TRUNC`); the bytes read for streams.
    pub len: usize,
    pub rights: Vec<Arc<OpenFile>>,
    pub creds: Option<Ucred>,
    pub from: Option<UnixAddr>,
}

/// What a send carries besides its bytes.
#[derive(Debug, Default)]
pub struct Ancillary {
    pub rights: Vec<Arc<OpenFile>>,
    /// `SCM_CREDENTIALS` given explicitly.
    pub creds: Option<Ucred>,
}

/// Pathname-bound sockets by the (dev, ino) of their socket inode.
type PathTable = HashMap<(u64, u64), Weak<Sock>>;
/// The abstract namespace (one per socket type, as Linux hashes it).
type AbstractTable = HashMap<(SockType, Vec<u8>), Weak<Sock>>;

static PATHS: Mutex<Option<PathTable>> = Mutex::new(None);
static ABSTRACT: Mutex<Option<AbstractTable>> = Mutex::new(None);
static NEXT_AUTOBIND: AtomicU64 = AtomicU64::new(0);

fn guard<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The socket bound at the inode `(dev, ino)` (`ECONNREFUSED` if none).
pub fn find_path(dev: u64, ino: u64) -> Result<Arc<Sock>, Errno> {
    guard(&PATHS)
        .as_ref()
        .and_then(|m| m.get(&(dev, ino)))
        .and_then(Weak::upgrade)
        .ok_or(Errno::ECONNREFUSED)
}

/// The socket of type `ty` bound to the abstract `name` (`ECONNREFUSED`
/// if none: Linux keeps a namespace per type).
pub fn find_abstract(ty: SockType, name: &[u8]) -> Result<Arc<Sock>, Errno> {
    guard(&ABSTRACT)
        .as_ref()
        .and_then(|m| m.get(&(ty, name.to_vec())))
        .and_then(Weak::upgrade)
        .ok_or(Errno::ECONNREFUSED)
}

impl Sock {
    pub fn new(ty: SockType, owner: Ucred) -> Arc<Sock> {
        Arc::new(Sock {
            ty,
            wq: WaitQueue::new(),
            state: Mutex::new(State {
                addr: None,
                key: None,
                conn: Conn::Unconnected,
                peer: None,
                recv: VecDeque::new(),
                shutdown: 0,
                err: None,
                peercred: None,
                dead: false,
                opts: Opts::default(),
            }),
            inflight: AtomicUsize::new(0),
            ino: next_ino(),
            owner,
            created: Timespec::now(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        guard(&self.state)
    }

    /// Two sockets connected to each other (`socketpair`), with `cred`
    /// as each one's peer credentials.
    pub fn pair(ty: SockType, cred: Ucred) -> (Arc<Sock>, Arc<Sock>) {
        let a = Sock::new(ty, cred);
        let b = Sock::new(ty, cred);
        for (x, y) in [(&a, &b), (&b, &a)] {
            let mut st = x.lock();
            st.conn = Conn::Connected;
            st.peer = Some(Arc::clone(y));
            st.peercred = Some(cred);
        }
        (a, b)
    }

    pub fn opts(&self) -> Opts {
        self.lock().opts
    }

    pub fn set_opts(&self, f: impl FnOnce(&mut Opts)) {
        f(&mut self.lock().opts);
        self.wq.notify();
    }

    /// `SO_ERROR`: the pending error, cleared.
    pub fn take_error(&self) -> Option<Errno> {
        self.lock().err.take()
    }

    pub fn is_listening(&self) -> bool {
        matches!(self.lock().conn, Conn::Listening { .. })
    }

    pub fn peercred(&self) -> Ucred {
        self.lock().peercred.unwrap_or(Ucred::NONE)
    }

    pub fn name(&self) -> Option<UnixAddr> {
        self.lock().addr.clone()
    }

    /// The peer's name: `Ok(None)` if it has none, `ENOTCONN` if there is
    /// no peer.
    pub fn peer_name(&self) -> Result<Option<UnixAddr>, Errno> {
        let peer = self.lock().peer.clone().ok_or(Errno::ENOTCONN)?;
        let name = peer.lock().addr.clone();
        Ok(name)
    }

    pub fn peer(&self) -> Option<Arc<Sock>> {
        self.lock().peer.clone()
    }

    /// Binds to `addr`. A pathname bind passes the `(dev, ino)` of the
    /// socket inode it created. `EINVAL` if already bound.
    pub fn bind(self: &Arc<Self>, addr: UnixAddr, inode: Option<(u64, u64)>) -> Result<(), Errno> {
        let mut st = self.lock();
        if st.addr.is_some() {
            return Err(Errno::EINVAL);
        }
        let key = match (&addr, inode) {
            (UnixAddr::Path(_), Some((dev, ino))) => {
                guard(&PATHS)
                    .get_or_insert_with(HashMap::new)
                    .insert((dev, ino), Arc::downgrade(self));
                BoundKey::Path(dev, ino)
            }
            (UnixAddr::Abstract(name), _) => {
                let mut t = guard(&ABSTRACT);
                let map = t.get_or_insert_with(HashMap::new);
                let k = (self.ty, name.clone());
                if map.get(&k).is_some_and(|w| w.strong_count() > 0) {
                    return Err(Errno::EADDRINUSE);
                }
                map.insert(k, Arc::downgrade(self));
                BoundKey::Abstract(self.ty, name.clone())
            }
            (UnixAddr::Path(_), None) => return Err(Errno::EINVAL),
        };
        st.addr = Some(addr);
        st.key = Some(key);
        Ok(())
    }

    /// Binds to a fresh abstract name of five hex digits (bind with only
    /// the family, or a send that needs a name). Already bound: nothing.
    pub fn autobind(self: &Arc<Self>) -> Result<(), Errno> {
        let mut st = self.lock();
        if st.addr.is_some() {
            return Ok(());
        }
        let mut t = guard(&ABSTRACT);
        let map = t.get_or_insert_with(HashMap::new);
        for _ in 0..=0xfffff {
            let n = NEXT_AUTOBIND.fetch_add(1, Ordering::Relaxed) & 0xfffff;
            let mut name = vec![0u8];
            name.extend_from_slice(format!("{n:05x}").as_bytes());
            let k = (self.ty, name.clone());
            if map.get(&k).is_some_and(|w| w.strong_count() > 0) {
                continue;
            }
            map.insert(k, Arc::downgrade(self));
            st.addr = Some(UnixAddr::Abstract(name.clone()));
            st.key = Some(BoundKey::Abstract(self.ty, name));
            return Ok(());
        }
        Err(Errno::ENOSPC)
    }

    /// `listen`: `cred` becomes what connecting clients see as their
    /// peer's credentials.
    pub fn listen(&self, backlog: usize, cred: Ucred) -> Result<(), Errno> {
        if !self.ty.connection_oriented() {
            return Err(Errno::EOPNOTSUPP);
        }
        let mut st = self.lock();
        if st.addr.is_none() {
            return Err(Errno::EINVAL);
        }
        match &mut st.conn {
            Conn::Listening { backlog: b, .. } => *b = backlog,
            Conn::Unconnected => {
                st.conn = Conn::Listening {
                    backlog,
                    pending: VecDeque::new(),
                }
            }
            _ => return Err(Errno::EINVAL),
        }
        st.peercred = Some(cred);
        drop(st);
        self.wq.notify();
        Ok(())
    }

    /// Connects a stream or seqpacket socket to the listener `target`:
    /// queues a new server-side socket on it and connects to that. `cred`
    /// is the caller's. `EAGAIN` while the backlog is full.
    pub fn connect(self: &Arc<Self>, target: &Arc<Sock>, cred: Ucred) -> Result<(), Errno> {
        {
            let mut st = self.lock();
            match st.conn {
                Conn::Unconnected => st.conn = Conn::Connecting,
                Conn::Connected => return Err(Errno::EISCONN),
                _ => return Err(Errno::EINVAL),
            }
        }
        let r = self.connect_to(target, cred);
        let mut st = self.lock();
        match r {
            Ok((embryo, listener_cred)) => {
                st.conn = Conn::Connected;
                st.peer = Some(embryo);
                st.peercred = listener_cred;
                drop(st);
                self.wq.notify();
                Ok(())
            }
            Err(e) => {
                st.conn = Conn::Unconnected;
                Err(e)
            }
        }
    }

    fn connect_to(
        self: &Arc<Self>,
        target: &Arc<Sock>,
        cred: Ucred,
    ) -> Result<(Arc<Sock>, Option<Ucred>), Errno> {
        let mut ts = target.lock();
        if ts.dead || ts.shutdown & RCV_SHUTDOWN != 0 {
            return Err(Errno::ECONNREFUSED);
        }
        let addr = ts.addr.clone();
        let listener_cred = ts.peercred;
        let passcred = ts.opts.passcred;
        let Conn::Listening { backlog, pending } = &mut ts.conn else {
            return Err(Errno::ECONNREFUSED);
        };
        if pending.len() > *backlog {
            return Err(Errno::EAGAIN);
        }
        let embryo = Sock::new(self.ty, target.owner);
        {
            let mut es = embryo.lock();
            es.addr = addr;
            es.conn = Conn::Connected;
            es.peer = Some(Arc::clone(self));
            es.peercred = Some(cred);
            es.opts.passcred = passcred;
        }
        pending.push_back(Arc::clone(&embryo));
        drop(ts);
        target.wq.notify();
        Ok((embryo, listener_cred))
    }

    /// Takes the oldest pending connection: `EINVAL` unless listening,
    /// `EAGAIN` if none.
    pub fn accept(&self) -> Result<Arc<Sock>, Errno> {
        let mut st = self.lock();
        let Conn::Listening { pending, .. } = &mut st.conn else {
            return Err(Errno::EINVAL);
        };
        let e = pending.pop_front().ok_or(Errno::EAGAIN)?;
        drop(st);
        self.wq.notify();
        Ok(e)
    }

    /// Puts back a connection `accept` took but could not hand out.
    pub fn unaccept(&self, e: Arc<Sock>) {
        let mut st = self.lock();
        if let Conn::Listening { pending, .. } = &mut st.conn {
            pending.push_front(e);
            return;
        }
        drop(st);
        e.release(true);
    }

    /// Connects a datagram socket to `target` (`None`: disconnects).
    pub fn connect_dgram(self: &Arc<Self>, target: Option<Arc<Sock>>) -> Result<(), Errno> {
        if let Some(t) = &target {
            let ts = t.lock();
            if ts.dead {
                return Err(Errno::ECONNREFUSED);
            }
            // Linux's unix_may_send: it must not be connected elsewhere.
            if ts.peer.as_ref().is_some_and(|p| !Arc::ptr_eq(p, self)) {
                return Err(Errno::EPERM);
            }
        }
        let mut st = self.lock();
        st.conn = if target.is_some() {
            Conn::Connected
        } else {
            Conn::Unconnected
        };
        let old = std::mem::replace(&mut st.peer, target);
        drop(st);
        drop(old);
        self.wq.notify();
        Ok(())
    }

    /// `shutdown(how)` with `how` as `RCV_SHUTDOWN|SEND_SHUTDOWN` bits;
    /// a connection-oriented peer gets the mirror image.
    pub fn shutdown(&self, how: u8) {
        let peer = {
            let mut st = self.lock();
            st.shutdown |= how;
            st.peer.clone()
        };
        self.wq.notify();
        if let Some(p) = peer.filter(|_| self.ty.connection_oriented()) {
            let mut mirror = 0;
            if how & RCV_SHUTDOWN != 0 {
                mirror |= SEND_SHUTDOWN;
            }
            if how & SEND_SHUTDOWN != 0 {
                mirror |= RCV_SHUTDOWN;
            }
            p.lock().shutdown |= mirror;
            p.wq.notify();
        }
    }

    /// Closes the socket (its last file went away). `embryo`: a connection
    /// nobody accepted, whose client sees `ECONNRESET`.
    fn release(&self, embryo: bool) {
        let (peer, recv, pending, key) = {
            let mut st = self.lock();
            st.dead = true;
            st.shutdown = SHUTDOWN_MASK;
            let pending = match std::mem::replace(&mut st.conn, Conn::Unconnected) {
                Conn::Listening { pending, .. } => pending,
                _ => VecDeque::new(),
            };
            (
                st.peer.take(),
                std::mem::take(&mut st.recv),
                pending,
                st.key.take(),
            )
        };
        match key {
            Some(BoundKey::Path(dev, ino)) => {
                if let Some(m) = guard(&PATHS).as_mut() {
                    if m.get(&(dev, ino))
                        .is_some_and(|w| std::ptr::eq(w.as_ptr(), self))
                    {
                        m.remove(&(dev, ino));
                    }
                }
            }
            Some(BoundKey::Abstract(ty, name)) => {
                if let Some(m) = guard(&ABSTRACT).as_mut() {
                    let k = (ty, name);
                    if m.get(&k).is_some_and(|w| std::ptr::eq(w.as_ptr(), self)) {
                        m.remove(&k);
                    }
                }
            }
            None => {}
        }
        if let Some(p) = &peer {
            if self.ty.connection_oriented() {
                let mut ps = p.lock();
                ps.shutdown = SHUTDOWN_MASK;
                if !recv.is_empty() || embryo {
                    ps.err = Some(Errno::ECONNRESET);
                }
                drop(ps);
                p.wq.notify();
            }
        }
        self.wq.notify();
        drop(recv);
        drop(peer);
        for e in pending {
            e.release(true);
        }
    }

    /// Whether `other`'s queue is too long for a sender it is not
    /// connected back to (Linux's `unix_recvq_full`).
    fn recvq_full(st: &State) -> bool {
        st.recv.len() > MAX_DGRAM_QLEN
    }

    /// The credentials a message carries: explicit ones, else the
    /// sender's when either end asked for them (Linux's `maybe_add_creds`).
    fn creds_for(my_passcred: bool, other: &State, anc: &Ancillary, own: Ucred) -> Option<Ucred> {
        anc.creds
            .or_else(|| (my_passcred || other.opts.passcred).then_some(own))
    }

    /// Stream send: queues what the send buffer allows (at least one
    /// segment while it has room) and returns the bytes queued. Rights
    /// ride with the first segment (taken out of `anc`). `own` is the
    /// sender's (pid, uid, gid) for a peer that asked for credentials.
    pub fn send_stream(
        self: &Arc<Self>,
        data: &[u8],
        anc: &mut Ancillary,
        own: Ucred,
    ) -> Result<usize, Errno> {
        let (peer, from, sndbuf, passcred) = {
            let st = self.lock();
            let peer = st.peer.clone().ok_or(Errno::ENOTCONN)?;
            if st.shutdown & SEND_SHUTDOWN != 0 {
                return Err(Errno::EPIPE);
            }
            (peer, st.addr.clone(), st.opts.sndbuf, st.opts.passcred)
        };
        if data.is_empty() {
            return Ok(0);
        }
        let seg_max = (sndbuf / 2).saturating_sub(64).max(1);
        let mut sent = 0;
        while sent < data.len() {
            if self.inflight.load(Ordering::Acquire) >= sndbuf {
                break;
            }
            let n = (data.len() - sent).min(seg_max);
            let mut ps = peer.lock();
            if ps.dead || ps.shutdown & RCV_SHUTDOWN != 0 {
                drop(ps);
                return if sent > 0 {
                    Ok(sent)
                } else {
                    Err(Errno::EPIPE)
                };
            }
            let creds = Sock::creds_for(passcred, &ps, anc, own);
            let charge = n + MSG_OVERHEAD;
            self.inflight.fetch_add(charge, Ordering::AcqRel);
            ps.recv.push_back(Msg {
                data: data[sent..sent + n].to_vec(),
                off: 0,
                rights: std::mem::take(&mut anc.rights),
                creds,
                from: from.clone(),
                sender: Arc::downgrade(self),
                charged: charge,
            });
            drop(ps);
            peer.wq.notify();
            sent += n;
        }
        if sent == 0 {
            return Err(Errno::EAGAIN);
        }
        Ok(sent)
    }

    /// Datagram or seqpacket send of one message to `to` (`None`: the
    /// connected peer). Returns the message length.
    pub fn send_dgram(
        self: &Arc<Self>,
        data: &[u8],
        anc: &mut Ancillary,
        to: Option<&Arc<Sock>>,
        own: Ucred,
    ) -> Result<usize, Errno> {
        let (other, from, sndbuf, connected_to_other, passcred) = {
            let st = self.lock();
            if st.shutdown & SEND_SHUTDOWN != 0 {
                return Err(Errno::EPIPE);
            }
            let other = match (to, &st.peer) {
                (Some(t), _) => Arc::clone(t),
                (None, Some(p)) => Arc::clone(p),
                (None, None) => return Err(Errno::ENOTCONN),
            };
            let connected = st.peer.as_ref().is_some_and(|p| Arc::ptr_eq(p, &other));
            (
                other,
                st.addr.clone(),
                st.opts.sndbuf,
                connected,
                st.opts.passcred,
            )
        };
        if data.len() > sndbuf.saturating_sub(32) {
            return Err(Errno::EMSGSIZE);
        }
        if self.inflight.load(Ordering::Acquire) >= sndbuf {
            return Err(Errno::EAGAIN);
        }
        let mut os = other.lock();
        if os.dead {
            drop(os);
            if self.ty == SockType::SeqPacket {
                return Err(Errno::EPIPE);
            }
            if connected_to_other {
                let old = {
                    let mut st = self.lock();
                    st.conn = Conn::Unconnected;
                    st.peer.take()
                };
                drop(old);
            }
            return Err(Errno::ECONNREFUSED);
        }
        let other_peer_is_me = os.peer.as_ref().is_some_and(|p| Arc::ptr_eq(p, self));
        if os.peer.is_some() && !other_peer_is_me {
            return Err(Errno::EPERM);
        }
        if os.shutdown & RCV_SHUTDOWN != 0 {
            return Err(Errno::EPIPE);
        }
        if !other_peer_is_me && Sock::recvq_full(&os) {
            return Err(Errno::EAGAIN);
        }
        let creds = Sock::creds_for(passcred, &os, anc, own);
        let charge = data.len() + MSG_OVERHEAD;
        self.inflight.fetch_add(charge, Ordering::AcqRel);
        os.recv.push_back(Msg {
            data: data.to_vec(),
            off: 0,
            rights: std::mem::take(&mut anc.rights),
            creds,
            from,
            sender: Arc::downgrade(self),
            charged: charge,
        });
        drop(os);
        other.wq.notify();
        Ok(data.len())
    }

    /// Receives up to `max` bytes. Streams gather consecutive segments
    /// (stopping after one that carried rights, or at a change of
    /// credentials); datagrams return one message, cut to `max`. An
    /// empty result with `len == 0` on a stream is end of file. `EAGAIN`
    /// when nothing is there yet.
    pub fn recv(&self, max: usize, peek: bool) -> Result<Received, Errno> {
        let mut done: Vec<Msg> = Vec::new();
        let r = {
            let mut st = self.lock();
            match self.ty {
                SockType::Stream => {
                    if !matches!(st.conn, Conn::Connected) {
                        return Err(Errno::EINVAL);
                    }
                    if st.recv.is_empty() {
                        if let Some(e) = st.err.take() {
                            return Err(e);
                        }
                        if st.shutdown & RCV_SHUTDOWN != 0 {
                            return Ok(Received::default());
                        }
                        return Err(Errno::EAGAIN);
                    }
                    let mut out = Received::default();
                    let mut i = 0;
                    while out.data.len() < max {
                        let Some(m) = st.recv.get_mut(i) else { break };
                        if i > 0 && m.creds != out.creds {
                            break;
                        }
                        if i == 0 {
                            out.creds = m.creds;
                            out.from = m.from.clone();
                        }
                        let n = m.remaining().min(max - out.data.len());
                        out.data.extend_from_slice(&m.data[m.off..m.off + n]);
                        let had_rights = !m.rights.is_empty();
                        if peek {
                            out.rights.extend(m.rights.iter().cloned());
                            i += 1;
                        } else {
                            out.rights.append(&mut m.rights);
                            m.off += n;
                            m.uncharge(n);
                            if m.remaining() == 0 {
                                if let Some(m) = st.recv.pop_front() {
                                    done.push(m);
                                }
                            }
                        }
                        if had_rights {
                            break;
                        }
                    }
                    out.len = out.data.len();
                    out
                }
                SockType::Dgram | SockType::SeqPacket => {
                    if self.ty == SockType::SeqPacket && !matches!(st.conn, Conn::Connected) {
                        return Err(Errno::ENOTCONN);
                    }
                    let Some(m) = st.recv.front_mut() else {
                        if let Some(e) = st.err.take() {
                            return Err(e);
                        }
                        if st.shutdown & RCV_SHUTDOWN != 0 && self.ty == SockType::SeqPacket {
                            return Ok(Received::default());
                        }
                        return Err(Errno::EAGAIN);
                    };
                    let n = m.data.len().min(max);
                    let mut out = Received {
                        data: m.data[..n].to_vec(),
                        len: m.data.len(),
                        rights: Vec::new(),
                        creds: m.creds,
                        from: m.from.clone(),
                    };
                    if peek {
                        out.rights = m.rights.clone();
                    } else {
                        out.rights = std::mem::take(&mut m.rights);
                        if let Some(m) = st.recv.pop_front() {
                            done.push(m);
                        }
                    }
                    out
                }
            }
        };
        if !peek {
            self.wq.notify();
        }
        drop(done);
        Ok(r)
    }

    /// Whether a blocking datagram receive should return 0 now (the
    /// socket was shut down for reading and nothing is queued).
    pub fn recv_shut(&self) -> bool {
        let st = self.lock();
        st.recv.is_empty() && st.shutdown & RCV_SHUTDOWN != 0
    }

    /// Readiness, as Linux's `unix_poll` and `unix_dgram_poll`.
    pub fn poll(&self) -> i16 {
        let (mut mask, peer, writable) = {
            let st = self.lock();
            let mut mask = 0;
            if st.err.is_some() {
                mask |= libc::POLLERR;
            }
            if st.shutdown == SHUTDOWN_MASK {
                mask |= libc::POLLHUP;
            }
            if st.shutdown & RCV_SHUTDOWN != 0 {
                mask |= libc::POLLRDHUP | libc::POLLIN;
            }
            let listening = matches!(&st.conn, Conn::Listening { .. });
            let pending =
                matches!(&st.conn, Conn::Listening { pending, .. } if !pending.is_empty());
            if !st.recv.is_empty() || pending {
                mask |= libc::POLLIN;
            }
            let closed = matches!(st.conn, Conn::Unconnected | Conn::Connecting);
            if self.ty.connection_oriented() && closed {
                mask |= libc::POLLHUP;
            }
            let writable =
                !listening && self.inflight.load(Ordering::Acquire) << 2 <= st.opts.sndbuf;
            (mask, st.peer.clone(), writable)
        };
        let mut writable = writable;
        if writable && self.ty == SockType::Dgram {
            if let Some(p) = peer {
                let ps = p.lock();
                let back = ps
                    .peer
                    .as_ref()
                    .is_some_and(|x| std::ptr::eq(Arc::as_ptr(x), self));
                if !back && Sock::recvq_full(&ps) {
                    writable = false;
                }
            }
        }
        if writable {
            mask |= libc::POLLOUT | libc::POLLWRBAND;
        }
        mask
    }

    /// `FIONREAD`/`SIOCINQ`.
    pub fn inq(&self) -> Result<usize, Errno> {
        let st = self.lock();
        if matches!(st.conn, Conn::Listening { .. }) {
            return Err(Errno::EINVAL);
        }
        Ok(match self.ty {
            SockType::Dgram => st.recv.front().map_or(0, |m| m.data.len()),
            _ => st.recv.iter().map(Msg::remaining).sum(),
        })
    }
}

/// The file side of a unix socket. Dropping it (the last open file
/// going away) releases the socket.
#[derive(Debug)]
pub struct UnixSocket {
    pub sock: Arc<Sock>,
}

impl UnixSocket {
    pub fn new(sock: Arc<Sock>) -> Arc<UnixSocket> {
        Arc::new(UnixSocket { sock })
    }
}

impl Drop for UnixSocket {
    fn drop(&mut self) {
        self.sock.release(false);
    }
}

impl FileOps for UnixSocket {
    fn read(&self, buf: &mut [u8], _off: u64) -> Result<usize, Errno> {
        let r = self.sock.recv(buf.len(), false)?;
        let n = r.data.len();
        buf[..n].copy_from_slice(&r.data);
        Ok(n)
    }

    fn write(&self, buf: &[u8], _off: u64) -> Result<usize, Errno> {
        let mut anc = Ancillary::default();
        let own = self.sock.owner;
        match self.sock.ty {
            SockType::Stream => self.sock.send_stream(buf, &mut anc, own),
            _ => self.sock.send_dgram(buf, &mut anc, None, own),
        }
    }

    fn poll(&self) -> i16 {
        self.sock.poll()
    }

    fn wait_queue(&self) -> Option<&WaitQueue> {
        Some(&self.sock.wq)
    }

    fn fionread(&self) -> Result<usize, Errno> {
        self.sock.inq()
    }

    fn stat(&self) -> Result<Stat, Errno> {
        Ok(Stat {
            dev: SOCKFS_DEV,
            ino: self.sock.ino,
            mode: libc::S_IFSOCK | 0o777,
            nlink: 1,
            uid: self.sock.owner.uid,
            gid: self.sock.owner.gid,
            blksize: 4096,
            atime: self.sock.created,
            mtime: self.sock.created,
            ctime: self.sock.created,
            ..Stat::default()
        })
    }

    fn anon_name(&self) -> String {
        format!("socket:[{}]", self.sock.ino)
    }

    /// Only stream sockets raise `SIGPIPE`; datagram and seqpacket sends
    /// return `EPIPE` quietly.
    fn sigpipe_on_epipe(&self) -> bool {
        self.sock.ty == SockType::Stream
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ME: Ucred = Ucred {
        pid: 1,
        uid: 0,
        gid: 0,
    };

    #[test]
    fn stream_pair_moves_bytes_and_eof() {
        let (a, b) = Sock::pair(SockType::Stream, ME);
        let mut anc = Ancillary::default();
        assert_eq!(a.send_stream(b"hello", &mut anc, ME), Ok(5));
        assert_eq!(b.inq(), Ok(5));
        assert_eq!(b.recv(3, true).unwrap().data, b"hel");
        assert_eq!(b.recv(3, false).unwrap().data, b"hel");
        assert_eq!(b.recv(10, false).unwrap().data, b"lo");
        assert_eq!(b.recv(10, false).map(|_| ()), Err(Errno::EAGAIN));
        a.shutdown(SEND_SHUTDOWN);
        assert_eq!(b.recv(10, false).unwrap().len, 0);
        assert_eq!(a.send_stream(b"x", &mut anc, ME), Err(Errno::EPIPE));
    }

    #[test]
    fn datagrams_keep_boundaries() {
        let (a, b) = Sock::pair(SockType::Dgram, ME);
        let mut anc = Ancillary::default();
        assert_eq!(a.send_dgram(b"one", &mut anc, None, ME), Ok(3));
        assert_eq!(a.send_dgram(b"three", &mut anc, None, ME), Ok(5));
        let r = b.recv(2, false).unwrap();
        assert_eq!((r.data.as_slice(), r.len), (&b"on"[..], 3));
        assert_eq!(b.recv(100, false).unwrap().data, b"three");
    }

    #[test]
    fn release_hangs_up_the_peer() {
        let (a, b) = Sock::pair(SockType::Stream, ME);
        let fa = UnixSocket::new(a);
        drop(fa);
        assert_eq!(b.recv(10, false).unwrap().len, 0);
        assert_ne!(b.poll() & libc::POLLHUP, 0);
    }
}
