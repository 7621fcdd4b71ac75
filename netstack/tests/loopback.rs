//! TCP and UDP over the loopback interface, as the sentry drives them:
//! non-blocking calls, waiting on the notifiers.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use netstack::{Notifier, Stack, TcpSocket, UdpSocket};
use nix::errno::Errno;

/// Counts notifications and lets a test wait for the next one.
#[derive(Default)]
struct Bell {
    rung: Mutex<usize>,
    cv: Condvar,
    count: AtomicUsize,
}

impl Bell {
    fn notifier(self: &Arc<Self>) -> Notifier {
        let b = Arc::clone(self);
        Arc::new(move || {
            b.count.fetch_add(1, Ordering::SeqCst);
            *b.rung.lock().unwrap() += 1;
            b.cv.notify_all();
        })
    }
}

/// Retries `op` while it says EAGAIN, for at most a few seconds.
fn retry<R>(mut op: impl FnMut() -> Result<R, Errno>) -> Result<R, Errno> {
    for _ in 0..500 {
        match op() {
            Err(Errno::EAGAIN) => std::thread::sleep(Duration::from_millis(10)),
            r => return r,
        }
    }
    Err(Errno::ETIMEDOUT)
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

#[test]
fn tcp_connect_accept_transfer_close() {
    let stack = Stack::loopback();
    let bell = Arc::new(Bell::default());
    let l = TcpSocket::new(&stack, false, bell.notifier());
    l.bind(addr("127.0.0.1:0")).unwrap();
    l.listen(4).unwrap();
    let port = l.local_addr().port();
    assert!(port >= 32768);
    assert_eq!(l.poll() & libc::POLLIN, 0);

    let c = TcpSocket::new(&stack, false, bell.notifier());
    assert_eq!(
        c.connect(addr(&format!("127.0.0.1:{port}"))),
        Err(Errno::EINPROGRESS)
    );
    assert_eq!(retry(|| c.finish_connect()), Ok(()));
    assert_eq!(
        c.connect(addr(&format!("127.0.0.1:{port}"))),
        Err(Errno::EISCONN)
    );
    assert_ne!(l.poll() & libc::POLLIN, 0);
    assert!(bell.count.load(Ordering::SeqCst) > 0);

    let a = l.accept(bell.notifier()).unwrap();
    assert_eq!(a.peer_addr().unwrap(), c.local_addr());
    assert_eq!(c.peer_addr().unwrap(), a.local_addr());
    assert_eq!(l.accept(bell.notifier()).err(), Some(Errno::EAGAIN));

    // 1 MiB each way through 256 KiB buffers.
    let data: Vec<u8> = (0..1u32 << 20).map(|i| (i % 251) as u8).collect();
    let mut sent = 0;
    let mut got = Vec::new();
    let mut buf = vec![0u8; 100_000];
    while got.len() < data.len() {
        if sent < data.len() {
            match c.send(&data[sent..]) {
                Ok(n) => sent += n,
                Err(Errno::EAGAIN) => {}
                Err(e) => panic!("send: {e}"),
            }
        }
        match a.recv(&mut buf, false) {
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(Errno::EAGAIN) => {}
            Err(e) => panic!("recv: {e}"),
        }
    }
    assert!(got == data);
    assert_eq!(a.recv(&mut buf, false), Err(Errno::EAGAIN));

    // Half close: the reader sees end of file, the other way still works.
    c.shutdown(false, true).unwrap();
    assert_eq!(retry(|| a.recv(&mut buf, false)), Ok(0));
    assert_ne!(a.poll() & libc::POLLRDHUP, 0);
    assert_eq!(a.send(b"late"), Ok(4));
    assert_eq!(retry(|| c.recv(&mut buf, false)), Ok(4));
    assert_eq!(&buf[..4], b"late");
    assert_eq!(c.send(b"x"), Err(Errno::EPIPE));
    drop(a);
    assert_eq!(retry(|| c.recv(&mut buf, false)), Ok(0));
}

#[test]
fn tcp_refused_reset_and_errors() {
    let stack = Stack::loopback();
    let bell = Arc::new(Bell::default());
    // Nobody listens on the port: refused, reported once.
    let c = TcpSocket::new(&stack, false, bell.notifier());
    assert_eq!(c.connect(addr("127.0.0.1:9")), Err(Errno::EINPROGRESS));
    assert_eq!(retry(|| c.finish_connect()), Err(Errno::ECONNREFUSED));
    let c2 = TcpSocket::new(&stack, false, bell.notifier());
    assert_eq!(c2.connect(addr("127.0.0.1:9")), Err(Errno::EINPROGRESS));
    std::thread::sleep(Duration::from_millis(20));
    assert_ne!(c2.poll() & libc::POLLERR, 0);
    assert_eq!(c2.take_error(), Some(Errno::ECONNREFUSED));
    assert_eq!(c2.take_error(), None);
    // Nothing but loopback is reachable.
    let c3 = TcpSocket::new(&stack, false, bell.notifier());
    assert_eq!(c3.connect(addr("10.1.2.3:80")), Err(Errno::ENETUNREACH));
    assert_eq!(c3.bind(addr("10.1.2.3:0")), Err(Errno::EADDRNOTAVAIL));
    assert_eq!(c3.recv(&mut [0u8; 4], false), Err(Errno::ENOTCONN));
    assert_eq!(c3.peer_addr(), Err(Errno::ENOTCONN));

    // A peer closing with unread data resets the connection.
    let l = TcpSocket::new(&stack, true, bell.notifier());
    l.bind(addr("[::]:0")).unwrap();
    l.listen(1).unwrap();
    let port = l.local_addr().port();
    let c = TcpSocket::new(&stack, false, bell.notifier());
    let _ = c.connect(addr(&format!("127.0.0.1:{port}")));
    assert_eq!(retry(|| c.finish_connect()), Ok(()));
    let a = retry(|| l.accept(bell.notifier())).unwrap();
    // An IPv6 listener shows IPv4 peers v4-mapped.
    assert_eq!(
        a.peer_addr().unwrap(),
        addr(&format!("[::ffff:127.0.0.1]:{}", c.local_addr().port()))
    );
    c.send(b"unread").unwrap();
    std::thread::sleep(Duration::from_millis(20));
    drop(a);
    assert_eq!(
        retry(|| c.recv(&mut [0u8; 8], false)),
        Err(Errno::ECONNRESET)
    );
    assert_eq!(c.recv(&mut [0u8; 8], false), Ok(0));
}

#[test]
fn tcp_port_conflicts() {
    let stack = Stack::loopback();
    let bell = Arc::new(Bell::default());
    let a = TcpSocket::new(&stack, false, bell.notifier());
    a.bind(addr("127.0.0.1:0")).unwrap();
    let port = a.local_addr().port();
    let b = TcpSocket::new(&stack, false, bell.notifier());
    assert_eq!(
        b.bind(addr(&format!("0.0.0.0:{port}"))),
        Err(Errno::EADDRINUSE)
    );
    assert_eq!(a.bind(addr("127.0.0.1:0")), Err(Errno::EINVAL));
    drop(a);
    assert_eq!(b.bind(addr(&format!("0.0.0.0:{port}"))), Ok(()));
}

#[test]
fn udp_datagrams() {
    let stack = Stack::loopback();
    let bell = Arc::new(Bell::default());
    let r = UdpSocket::new(&stack, false, bell.notifier());
    r.bind(addr("127.0.0.1:0")).unwrap();
    let to = r.local_addr();
    let s = UdpSocket::new(&stack, false, bell.notifier());
    assert_eq!(s.send(b"hello", None), Err(Errno::EDESTADDRREQ));
    assert_eq!(s.send(b"hello", Some(to)), Ok(5));
    assert_eq!(s.send(b"world!", Some(to)), Ok(6));
    assert_eq!(s.send(&vec![0u8; 65508], Some(to)), Err(Errno::EMSGSIZE));
    assert_ne!(r.poll() & libc::POLLIN, 0);
    assert_eq!(r.readable(), 5);
    let mut buf = [0u8; 3];
    let d = r.recv(&mut buf, false).unwrap();
    assert_eq!((d.len, &buf[..]), (5, &b"hel"[..]));
    assert_eq!(s.local_addr().ip(), addr("0.0.0.0:0").ip());
    assert_eq!(
        d.from,
        Some(SocketAddr::new(
            addr("127.0.0.1:0").ip(),
            s.local_addr().port()
        ))
    );
    let mut buf = [0u8; 16];
    assert_eq!(r.recv(&mut buf, true).unwrap().len, 6);
    assert_eq!(r.recv(&mut buf, false).unwrap().len, 6);
    assert_eq!(&buf[..6], b"world!");
    assert_eq!(r.recv(&mut buf, false), Err(Errno::EAGAIN));
    // A connected socket hears only its peer.
    let other = UdpSocket::new(&stack, false, bell.notifier());
    r.connect(d.from).unwrap();
    other.send(b"noise", Some(to)).unwrap();
    s.send(b"peer", Some(to)).unwrap();
    let d = r.recv(&mut buf, false).unwrap();
    assert_eq!(&buf[..d.len], b"peer");
    assert_eq!(r.peer_addr(), d.from.ok_or(Errno::EINVAL));
}

#[test]
fn full_listen_queue_drops_syns_until_accept() {
    let stack = Stack::loopback();
    let bell = Arc::new(Bell::default());
    let l = TcpSocket::new(&stack, false, bell.notifier());
    l.bind(addr("127.0.0.1:0")).unwrap();
    // Backlog 1: two connections queue (Linux's backlog + 1).
    l.listen(1).unwrap();
    let to = l.local_addr();
    let clients: Vec<TcpSocket> = (0..3)
        .map(|_| {
            let c = TcpSocket::new(&stack, false, bell.notifier());
            assert_eq!(c.connect(to), Err(Errno::EINPROGRESS));
            c
        })
        .collect();
    assert_eq!(clients[0].finish_connect(), Ok(()));
    assert_eq!(clients[1].finish_connect(), Ok(()));
    // The third SYN was dropped, not refused: still connecting.
    assert_eq!(clients[2].finish_connect(), Err(Errno::EAGAIN));
    let _a = l.accept(bell.notifier()).unwrap();
    // SYN retransmission gets through once there is room.
    assert_eq!(retry(|| clients[2].finish_connect()), Ok(()));
}
