//! Which local ports are taken: Linux's bind-conflict rules for one
//! protocol (`inet_csk_bind_conflict`, simplified to what a sandbox
//! without other hosts can tell apart).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};

use nix::errno::Errno;

/// `net.ipv4.ip_local_port_range`.
pub const EPHEMERAL: std::ops::RangeInclusive<u16> = 32768..=60999;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Proto {
    Tcp,
    Udp,
}

/// One socket's claim on a port.
#[derive(Debug, Clone, Copy)]
pub struct Binding {
    pub proto: Proto,
    /// The bound address (v4-mapped addresses are stored as IPv4);
    /// unspecified means every address of the socket's families.
    pub ip: IpAddr,
    pub port: u16,
    /// An IPv6 socket bound to `::` without `IPV6_V6ONLY` also takes IPv4.
    pub dual: bool,
    pub reuseaddr: bool,
    pub reuseport: bool,
    pub listening: bool,
}

impl Binding {
    fn families(&self) -> (bool, bool) {
        match self.ip {
            IpAddr::V4(_) => (true, false),
            IpAddr::V6(_) => (self.dual, true),
        }
    }

    fn overlaps(&self, o: &Binding) -> bool {
        let (a4, a6) = self.families();
        let (b4, b6) = o.families();
        if !(a4 && b4 || a6 && b6) {
            return false;
        }
        self.ip.is_unspecified() || o.ip.is_unspecified() || self.ip == o.ip
    }

    /// Whether `self` may be bound while `o` is.
    fn conflicts(&self, o: &Binding) -> bool {
        if o.proto != self.proto || o.port != self.port || !self.overlaps(o) {
            return false;
        }
        if self.reuseport && o.reuseport {
            return false;
        }
        // SO_REUSEADDR on both shares a port until one of them listens.
        let shared = self.reuseaddr && o.reuseaddr && !self.listening && !o.listening;
        !shared
    }
}

/// Stores a v4-mapped IPv6 address as the IPv4 address it maps.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

/// The unspecified address of a family.
pub fn unspecified(v6: bool) -> IpAddr {
    if v6 {
        IpAddr::V6(Ipv6Addr::UNSPECIFIED)
    } else {
        IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)
    }
}

#[derive(Debug)]
pub struct Ports {
    taken: HashMap<u64, Binding>,
    cursor: u16,
}

impl Default for Ports {
    fn default() -> Ports {
        Ports {
            taken: HashMap::new(),
            cursor: *EPHEMERAL.start(),
        }
    }
}

impl Ports {
    /// Claims `b` for socket `id`; port 0 picks a free ephemeral port.
    /// Returns the port.
    pub fn reserve(&mut self, id: u64, mut b: Binding) -> Result<u16, Errno> {
        if b.port == 0 {
            b.port = self.free_port()?;
        } else if self
            .taken
            .iter()
            .any(|(&other, o)| other != id && b.conflicts(o))
        {
            return Err(Errno::EADDRINUSE);
        }
        self.taken.insert(id, b);
        Ok(b.port)
    }

    fn free_port(&mut self) -> Result<u16, Errno> {
        let span = u32::from(*EPHEMERAL.end() - *EPHEMERAL.start()) + 1;
        for _ in 0..span {
            let p = self.cursor;
            self.cursor = if p >= *EPHEMERAL.end() {
                *EPHEMERAL.start()
            } else {
                p + 1
            };
            if !self.taken.values().any(|o| o.port == p) {
                return Ok(p);
            }
        }
        Err(Errno::EADDRINUSE)
    }

    /// Marks `id` listening, which ends sharing by `SO_REUSEADDR`.
    pub fn listen(&mut self, id: u64) -> Result<(), Errno> {
        let Some(mut b) = self.taken.get(&id).copied() else {
            return Err(Errno::EINVAL);
        };
        b.listening = true;
        if self
            .taken
            .iter()
            .any(|(&other, o)| other != id && b.conflicts(o))
        {
            return Err(Errno::EADDRINUSE);
        }
        self.taken.insert(id, b);
        Ok(())
    }

    pub fn get(&self, id: u64) -> Option<Binding> {
        self.taken.get(&id).copied()
    }

    pub fn release(&mut self, id: u64) {
        self.taken.remove(&id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(ip: &str, port: u16) -> Binding {
        Binding {
            proto: Proto::Tcp,
            ip: ip.parse().unwrap(),
            port,
            dual: true,
            reuseaddr: false,
            reuseport: false,
            listening: false,
        }
    }

    #[test]
    fn conflicts_follow_linux() {
        let mut p = Ports::default();
        assert_eq!(p.reserve(1, b("0.0.0.0", 5000)), Ok(5000));
        assert_eq!(p.reserve(2, b("127.0.0.1", 5000)), Err(Errno::EADDRINUSE));
        // A dual-stack :: takes IPv4 too; a v6-only one does not.
        assert_eq!(p.reserve(3, b("::", 5000)), Err(Errno::EADDRINUSE));
        let v6only = Binding {
            dual: false,
            ..b("::", 5000)
        };
        assert_eq!(p.reserve(3, v6only), Ok(5000));
        // UDP ports are separate.
        let udp = Binding {
            proto: Proto::Udp,
            ..b("0.0.0.0", 5000)
        };
        assert_eq!(p.reserve(4, udp), Ok(5000));
        p.release(1);
        assert_eq!(p.reserve(2, b("127.0.0.1", 5000)), Ok(5000));
    }

    #[test]
    fn reuseaddr_shares_until_listen() {
        let mut p = Ports::default();
        let r = |ip| Binding {
            reuseaddr: true,
            ..b(ip, 6000)
        };
        assert_eq!(p.reserve(1, r("0.0.0.0")), Ok(6000));
        assert_eq!(p.reserve(2, r("0.0.0.0")), Ok(6000));
        assert_eq!(p.listen(1), Err(Errno::EADDRINUSE));
        p.release(2);
        assert_eq!(p.listen(1), Ok(()));
        assert_eq!(p.reserve(2, r("0.0.0.0")), Err(Errno::EADDRINUSE));
    }

    #[test]
    fn ephemeral_ports_are_distinct() {
        let mut p = Ports::default();
        let a = p.reserve(1, b("0.0.0.0", 0)).unwrap();
        let c = p.reserve(2, b("0.0.0.0", 0)).unwrap();
        assert_ne!(a, c);
        assert!(EPHEMERAL.contains(&a) && EPHEMERAL.contains(&c));
    }
}
