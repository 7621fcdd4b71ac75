//! The stack: one interface, its sockets, polling and notification.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use nix::errno::Errno;
use smoltcp::iface::{Config, Interface, PollResult, SocketHandle, SocketSet};
use smoltcp::time::Instant;
use smoltcp::wire::{HardwareAddress, IpAddress, IpCidr, IpEndpoint};

use crate::device::Loopback;
use crate::ports::{canonical, Ports};
use crate::tcp::TcpEntry;
use crate::udp::UdpEntry;

/// Called (without any stack lock held) when a socket's readiness may
/// have changed.
pub type Notifier = Arc<dyn Fn() + Send + Sync>;

/// Rounds of polling one operation does at most before it leaves the
/// rest to the stack's thread.
const MAX_ROUNDS: usize = 256;
/// The longest the stack's thread sleeps without being asked to wake.
const MAX_SLEEP: Duration = Duration::from_secs(1);
/// `wake_at` when nothing is scheduled.
const NEVER: u64 = u64::MAX;

/// Socket options the stack itself acts on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SockOpts {
    pub reuseaddr: bool,
    pub reuseport: bool,
    /// `IPV6_V6ONLY`.
    pub v6only: bool,
    /// `TCP_NODELAY`: no Nagle.
    pub nodelay: bool,
    pub keepalive: bool,
    /// `SO_LINGER` on with a zero timeout: close resets the connection.
    pub linger0: bool,
}

/// The state under the stack's lock.
pub(crate) struct Inner {
    iface: Interface,
    dev: Loopback,
    pub(crate) set: SocketSet<'static>,
    pub(crate) tcp: HashMap<u64, TcpEntry>,
    pub(crate) udp: HashMap<u64, UdpEntry>,
    /// Connections whose sockets were closed and which finish on their
    /// own (FIN handshake, or a reset still to be sent); `true` once seen
    /// closed at one poll, so the next may remove it.
    pub(crate) orphans: Vec<(SocketHandle, bool)>,
    pub(crate) ports: Ports,
    next_id: u64,
    epoch: std::time::Instant,
    /// Notifiers to call once the lock is released.
    pending: Vec<Notifier>,
    /// smoltcp panicked while polling: its state can no longer be
    /// trusted, so the interface is never polled again (the network
    /// stops; the sentry and its processes go on).
    failed: bool,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inner")
            .field("tcp", &self.tcp.len())
            .field("udp", &self.udp.len())
            .field("orphans", &self.orphans.len())
            .finish_non_exhaustive()
    }
}

impl Inner {
    fn new() -> Inner {
        let mut dev = Loopback::default();
        let mut config = Config::new(HardwareAddress::Ip);
        // Seeds initial sequence numbers; any unpredictable value will do.
        config.random_seed = RandomState::new().hash_one(std::process::id());
        let mut iface = Interface::new(config, &mut dev, Instant::ZERO);
        iface.update_ip_addrs(|addrs| {
            let _ = addrs.push(IpCidr::new(IpAddress::Ipv4(Ipv4Addr::LOCALHOST), 8));
            let _ = addrs.push(IpCidr::new(IpAddress::Ipv6(Ipv6Addr::LOCALHOST), 128));
        });
        Inner {
            iface,
            dev,
            set: SocketSet::new(Vec::new()),
            tcp: HashMap::new(),
            udp: HashMap::new(),
            orphans: Vec::new(),
            ports: Ports::default(),
            next_id: 1,
            epoch: std::time::Instant::now(),
            pending: Vec::new(),
            failed: false,
        }
    }

    pub(crate) fn now(&self) -> Instant {
        let us = i64::try_from(self.epoch.elapsed().as_micros()).unwrap_or(i64::MAX);
        Instant::from_micros(us)
    }

    pub(crate) fn new_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    pub(crate) fn context(&mut self) -> &mut smoltcp::iface::Context {
        self.iface.context()
    }

    /// Runs the interface until nothing moves, then brings every socket's
    /// own state up to date and queues the notifications due.
    fn poll(&mut self) {
        if self.failed {
            return;
        }
        self.dev.full_ports = self.full_listen_ports();
        let polled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            for _ in 0..MAX_ROUNDS {
                let now = self.now();
                let r = self.iface.poll(now, &mut self.dev, &mut self.set);
                if r == PollResult::None && self.dev.is_idle() {
                    break;
                }
            }
        }));
        if polled.is_err() {
            tracing::error!("netstack: smoltcp panicked; the network stops here");
            self.failed = true;
            return;
        }
        self.refresh_tcp();
        self.reap_orphans();
        self.collect_notifications();
    }

    fn reap_orphans(&mut self) {
        let mut keep = Vec::with_capacity(self.orphans.len());
        for (h, seen) in std::mem::take(&mut self.orphans) {
            let sock = self.set.get::<smoltcp::socket::tcp::Socket>(h);
            use smoltcp::socket::tcp::State;
            match sock.state() {
                State::Closed if seen => {
                    self.set.remove(h);
                }
                State::Closed => keep.push((h, true)),
                State::TimeWait => {
                    self.set.remove(h);
                }
                _ => keep.push((h, false)),
            }
        }
        self.orphans = keep;
    }

    fn collect_notifications(&mut self) {
        let mut due = Vec::new();
        for e in self.tcp.values_mut() {
            let sig = e.signature(&self.set);
            if sig != e.sig {
                e.sig = sig;
                due.push(Arc::clone(&e.notify));
            }
        }
        for e in self.udp.values_mut() {
            let sig = e.signature(&self.set);
            if sig != e.sig {
                e.sig = sig;
                due.push(Arc::clone(&e.notify));
            }
        }
        self.pending.extend(due);
    }

    /// When the interface next needs polling, in microseconds since the
    /// epoch.
    fn next_poll(&mut self) -> u64 {
        if self.failed {
            return NEVER;
        }
        let now = self.now();
        match self.iface.poll_at(now, &self.set) {
            Some(at) => u64::try_from(at.total_micros()).unwrap_or(0),
            None => NEVER,
        }
    }
}

/// The methods TCP and UDP sockets have alike, for `$socket` (with
/// `stack`, `id` and `v6` fields) whose entries are `Inner::$table`:
/// `$local` finds its bound address, `$close` releases it, and the calling
/// module's `readiness(entry, set)` computes its poll bits.
macro_rules! socket_common {
    ($socket:ident, $table:ident, $local:ident, $close:ident) => {
        impl $socket {
            pub fn is_v6(&self) -> bool {
                self.v6
            }

            pub fn local_addr(&self) -> SocketAddr {
                self.stack
                    .peek(|g| g.$local(self.id))
                    .unwrap_or_else(|| SocketAddr::new(unspecified(self.v6), 0))
            }

            /// `POLLIN`, `POLLOUT`, `POLLHUP`, `POLLERR`, `POLLRDHUP` as they
            /// hold.
            pub fn poll(&self) -> i16 {
                self.stack
                    .peek(|g| g.$table.get(&self.id).map_or(0, |e| readiness(e, &g.set)))
            }

            pub fn opts(&self) -> SockOpts {
                self.stack
                    .peek(|g| g.$table.get(&self.id).map(|e| e.opts).unwrap_or_default())
            }
        }

        impl Drop for $socket {
            fn drop(&mut self) {
                // Unwinding from a panic in the stack: touching it again
                // could panic again and abort the whole sentry.
                if std::thread::panicking() {
                    return;
                }
                self.stack.with(|g| g.$close(self.id));
            }
        }
    };
}
pub(crate) use socket_common;

/// A network stack with its sockets.
#[derive(Debug)]
pub struct Stack {
    inner: Mutex<Inner>,
    /// When the timer thread must next poll (`NEVER`: no timer is due).
    wake_at: AtomicU64,
    timer: OnceLock<std::thread::Thread>,
}

impl Stack {
    /// A stack with only the loopback interface.
    pub fn loopback() -> Arc<Stack> {
        let stack = Arc::new(Stack {
            inner: Mutex::new(Inner::new()),
            wake_at: AtomicU64::new(NEVER),
            timer: OnceLock::new(),
        });
        let weak = Arc::downgrade(&stack);
        match std::thread::Builder::new()
            .name("netstack".into())
            .spawn(move || timer_loop(&weak))
        {
            Ok(h) => {
                let _ = stack.timer.set(h.thread().clone());
            }
            // Without the thread, timers fire only when sockets are used.
            Err(e) => tracing::warn!("netstack timer thread: {e}"),
        }
        stack
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` on the stack's state, then polls the interface and calls
    /// the notifiers of the sockets whose readiness changed.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        let (r, due, next) = {
            let mut g = self.lock();
            let r = f(&mut g);
            g.poll();
            let next = g.next_poll();
            (r, std::mem::take(&mut g.pending), next)
        };
        let prev = self.wake_at.swap(next, Ordering::AcqRel);
        if next < prev {
            if let Some(t) = self.timer.get() {
                t.unpark();
            }
        }
        for n in due {
            n();
        }
        r
    }

    /// Looks at the stack's state without polling.
    pub(crate) fn peek<R>(&self, f: impl FnOnce(&Inner) -> R) -> R {
        f(&self.lock())
    }
}

/// Polls whenever a timer of the stack is due, for as long as the stack
/// exists.
fn timer_loop(stack: &std::sync::Weak<Stack>) {
    loop {
        let Some(s) = stack.upgrade() else { return };
        let now = s.peek(Inner::now);
        let now_us = u64::try_from(now.total_micros()).unwrap_or(0);
        let at = s.wake_at.load(Ordering::Acquire);
        if at <= now_us {
            s.with(|_| ());
            // A deadline that stays in the past (a socket that cannot make
            // progress) must not make this thread spin.
            if s.wake_at.load(Ordering::Acquire) <= now_us {
                drop(s);
                std::thread::park_timeout(Duration::from_millis(1));
            }
            continue;
        }
        drop(s);
        let sleep = Duration::from_micros(at - now_us).min(MAX_SLEEP);
        std::thread::park_timeout(sleep);
    }
}

// ---------------------------------------------------------------------------
// Addresses

/// What `bind` says first: `EADDRNOTAVAIL` unless `ip` is one of this
/// stack's addresses (Linux answers for the whole of 127.0.0.0/8) or the
/// wildcard.
pub(crate) fn bindable(ip: IpAddr) -> Result<(), Errno> {
    let local = match canonical(ip) {
        IpAddr::V4(v4) => v4.is_loopback() || v4.is_unspecified(),
        IpAddr::V6(v6) => v6.is_loopback() || v6.is_unspecified(),
    };
    if local {
        Ok(())
    } else {
        Err(Errno::EADDRNOTAVAIL)
    }
}

/// The smoltcp endpoint for a destination: v4-mapped addresses become
/// IPv4, the unspecified address means this host (as on Linux), anything
/// not on loopback is unreachable.
pub(crate) fn remote_endpoint(a: SocketAddr) -> Result<IpEndpoint, Errno> {
    let ip = match canonical(a.ip()) {
        IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    let reachable = match ip {
        IpAddr::V4(v4) => v4 == Ipv4Addr::LOCALHOST,
        IpAddr::V6(v6) => v6 == Ipv6Addr::LOCALHOST,
    };
    if !reachable {
        return Err(Errno::ENETUNREACH);
    }
    Ok(IpEndpoint::new(ip_to_smol(ip), a.port()))
}

pub(crate) fn ip_to_smol(ip: IpAddr) -> IpAddress {
    match ip {
        IpAddr::V4(v4) => IpAddress::Ipv4(v4),
        IpAddr::V6(v6) => IpAddress::Ipv6(v6),
    }
}

pub(crate) fn ip_from_smol(ip: IpAddress) -> IpAddr {
    match ip {
        IpAddress::Ipv4(v4) => IpAddr::V4(v4),
        IpAddress::Ipv6(v6) => IpAddr::V6(v6),
    }
}

/// An address as a socket of the given family shows it: IPv4 addresses
/// are v4-mapped for IPv6 sockets.
pub(crate) fn in_family(ip: IpAddr, port: u16, v6: bool) -> SocketAddr {
    match (ip, v6) {
        (IpAddr::V4(v4), true) => {
            SocketAddr::V6(SocketAddrV6::new(v4.to_ipv6_mapped(), port, 0, 0))
        }
        (ip, _) => SocketAddr::new(ip, port),
    }
}

/// Whether a socket of family `v6` (with `IPV6_V6ONLY` as given) may talk
/// to `ip`.
pub(crate) fn family_accepts(v6: bool, v6only: bool, ip: IpAddr) -> bool {
    match canonical(ip) {
        IpAddr::V4(_) => !v6 || !v6only,
        IpAddr::V6(_) => v6,
    }
}
