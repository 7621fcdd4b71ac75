//! The sandbox's TCP/IP stack, on smoltcp.
//!
//! A [`Stack`] owns one smoltcp interface and every socket on it. So far
//! the only device is loopback (`127.0.0.1/8` and `::1`): programs in the
//! sandbox talk to each other over TCP and UDP and never reach the host's
//! network. The pod's veth (AF_PACKET) is the next device.
//!
//! Sockets never block: an operation that would wait returns `EAGAIN`
//! (or `EINPROGRESS`), and the caller sleeps until the socket's
//! [`Notifier`] runs, which the stack calls whenever the socket's
//! readiness may have changed. Every operation polls the interface
//! before it returns, so loopback traffic is delivered at once; a thread
//! of the stack's own polls for timers (retransmission, keep-alive,
//! TIME-WAIT), so no caller's thread is held for them.

mod device;
mod ports;
mod stack;
mod tcp;
mod udp;

pub use device::LOOPBACK_MTU;
pub use ports::EPHEMERAL;
pub use stack::{Notifier, SockOpts, Stack};
pub use tcp::TcpSocket;
pub use udp::{Datagram, UdpSocket};
