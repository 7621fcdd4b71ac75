//! The loopback device: every packet sent is received again, in order.
//!
//! smoltcp has one of its own, but it does not tell whether packets are
//! still queued, which the stack needs to know when to stop polling.

use std::collections::{HashSet, VecDeque};

use smoltcp::phy::{self, ChecksumCapabilities, DeviceCapabilities, Medium};
use smoltcp::time::Instant;
use smoltcp::wire::{IpProtocol, Ipv4Packet, Ipv6Packet, TcpPacket};

/// The largest IP packet (Linux's loopback MTU is 65536, one more than
/// an IPv4 header can describe).
pub const LOOPBACK_MTU: usize = 65535;

#[derive(Debug, Default)]
pub struct Loopback {
    queue: VecDeque<Vec<u8>>,
    /// TCP ports whose listeners' queues are full: their SYNs are dropped
    /// (the client retries later), as Linux drops them, rather than
    /// answered with a reset.
    pub full_ports: HashSet<u16>,
}

impl Loopback {
    pub fn is_idle(&self) -> bool {
        self.queue.is_empty()
    }

    /// Whether `packet` is a connection request to a full listener.
    fn refused_syn(&self, packet: &[u8]) -> bool {
        if self.full_ports.is_empty() {
            return false;
        }
        let tcp = match packet.first().map(|b| b >> 4) {
            Some(4) => Ipv4Packet::new_checked(packet)
                .ok()
                .filter(|p| p.next_header() == IpProtocol::Tcp)
                .map(|p| p.payload().to_vec()),
            Some(6) => Ipv6Packet::new_checked(packet)
                .ok()
                .filter(|p| p.next_header() == IpProtocol::Tcp)
                .map(|p| p.payload().to_vec()),
            _ => None,
        };
        tcp.as_deref()
            .and_then(|t| TcpPacket::new_checked(t).ok())
            .is_some_and(|t| t.syn() && !t.ack() && self.full_ports.contains(&t.dst_port()))
    }
}

impl phy::Device for Loopback {
    type RxToken<'a> = RxToken;
    type TxToken<'a> = TxToken<'a>;

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.max_transmission_unit = LOOPBACK_MTU;
        caps.medium = Medium::Ip;
        // Nothing corrupts packets between a host and itself.
        caps.checksum = ChecksumCapabilities::ignored();
        caps
    }

    fn receive(&mut self, _now: Instant) -> Option<(RxToken, TxToken<'_>)> {
        let mut packet = self.queue.pop_front()?;
        while self.refused_syn(&packet) {
            packet = self.queue.pop_front()?;
        }
        Some((
            RxToken { packet },
            TxToken {
                queue: &mut self.queue,
            },
        ))
    }

    fn transmit(&mut self, _now: Instant) -> Option<TxToken<'_>> {
        Some(TxToken {
            queue: &mut self.queue,
        })
    }
}

#[derive(Debug)]
pub struct RxToken {
    packet: Vec<u8>,
}

impl phy::RxToken for RxToken {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&self.packet)
    }
}

#[derive(Debug)]
pub struct TxToken<'a> {
    queue: &'a mut VecDeque<Vec<u8>>,
}

impl phy::TxToken for TxToken<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut packet = vec![0; len];
        let r = f(&mut packet);
        self.queue.push_back(packet);
        r
    }
}
