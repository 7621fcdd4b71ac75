//! Socket syscalls: socket, socketpair, bind, listen, accept, connect,
//! the send and receive family, shutdown, names and `SOL_SOCKET` options.
//!
//! `AF_UNIX` sockets are the sentry's own (`vfs/unix.rs`); calls on
//! `AF_INET`/`AF_INET6` sockets go to `inet.rs`, which drives the
//! netstack. Other families are `EAFNOSUPPORT`, as in a kernel built
//! without them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::errno::Errno;

use super::caps::{self, CAP_NET_ADMIN, CAP_SETGID, CAP_SETUID, CAP_SYS_ADMIN};
use super::fd::{raise_sigpipe, read_iovecs, IOV_MAX, MAX_RW};
use super::inet;
use super::path::{check_dir_writable, resolve_at, resolve_parent_at, Ids, MAY_WRITE};
use super::{ok, Args, SysResult};
use crate::kernel::ctx::TaskCtx;
use crate::kernel::task::lock;
use crate::kernel::wait::WaitQueue;
use crate::vfs::unix::{
    self, unnamed_sockaddr, Ancillary, Opts, Received, Sock, SockType, Ucred, UnixAddr, UnixSocket,
    MAX_BUF, MIN_RCVBUF, MIN_SNDBUF, RCV_SHUTDOWN, SEND_SHUTDOWN, SOMAXCONN,
};
use crate::vfs::OpenFile;

/// Linux's `NPROTO` (`AF_MAX`): families at or above it do not exist.
const AF_MAX: i32 = 46;
/// Linux's `SOCK_MAX`.
const SOCK_MAX: i32 = 11;
const SOCK_TYPE_MASK: i32 = 0xf;
/// `sizeof(struct sockaddr_storage)`: the most a sockaddr argument copies.
const SOCKADDR_STORAGE: usize = 128;
/// `sizeof(struct sockaddr_un)`.
const SOCKADDR_UN: usize = 110;
/// `offsetof(struct sockaddr_un, sun_path)`.
const SUN_PATH: usize = 2;
/// Most fds one `SCM_RIGHTS` message carries.
const SCM_MAX_FD: usize = 253;
/// What the sentry copies in one go.
const CHUNK: usize = 4 << 20;
/// `sizeof(struct cmsghdr)` and `sizeof(struct msghdr)` on x86_64.
const CMSG_HDR: usize = 16;
const MSGHDR: usize = 56;
/// The uid and gid a credential without a mapping shows (overflowuid).
const OVERFLOW_ID: u32 = 65534;

// ---------------------------------------------------------------------------
// Helpers

/// The open file behind `fd`: `EBADF` for a bad (or `O_PATH`) fd,
/// `ENOTSOCK` for anything but a socket.
fn socket_file(t: &TaskCtx, fd: i32) -> Result<Arc<OpenFile>, Errno> {
    let f = t.fds().get(fd)?;
    if f.flags() & libc::O_PATH != 0 {
        return Err(Errno::EBADF);
    }
    if inet::of(&f).is_none() && f.ops.as_any().downcast_ref::<UnixSocket>().is_none() {
        return Err(Errno::ENOTSOCK);
    }
    Ok(f)
}

/// The unix socket of a socket file (`EOPNOTSUPP` for other families,
/// which the callers hand to their own code first).
fn unix_of(f: &OpenFile) -> Result<Arc<Sock>, Errno> {
    f.ops
        .as_any()
        .downcast_ref::<UnixSocket>()
        .map(|u| Arc::clone(&u.sock))
        .ok_or(Errno::EOPNOTSUPP)
}

/// The caller as `SO_PEERCRED` reports it (effective ids).
fn peer_cred(t: &TaskCtx) -> Ucred {
    let c = lock(&t.tg().creds);
    Ucred {
        pid: t.pid(),
        uid: c.euid,
        gid: c.egid,
    }
}

/// The caller as `SCM_CREDENTIALS` reports it (real ids).
fn scm_cred(t: &TaskCtx) -> Ucred {
    let c = lock(&t.tg().creds);
    Ucred {
        pid: t.pid(),
        uid: c.uid,
        gid: c.gid,
    }
}

/// Runs a socket operation, sleeping on the socket's queue (and
/// `other`'s) while it returns `EAGAIN`, unless `nonblock`.
fn wait<R>(
    t: &mut TaskCtx,
    s: &Arc<Sock>,
    other: Option<&Arc<Sock>>,
    nonblock: bool,
    timeout: Option<Duration>,
    op: impl FnMut() -> Result<R, Errno>,
) -> Result<R, Errno> {
    match other {
        Some(o) => wait_on(t, &[&s.wq, &o.wq], nonblock, timeout, op),
        None => wait_on(t, &[&s.wq], nonblock, timeout, op),
    }
}

/// Runs a socket operation, sleeping on `queues` while it returns
/// `EAGAIN`, unless `nonblock`. A timeout (`SO_RCVTIMEO`/`SO_SNDTIMEO`)
/// ends the wait with `EAGAIN`.
pub(super) fn wait_on<R>(
    t: &mut TaskCtx,
    queues: &[&WaitQueue],
    nonblock: bool,
    timeout: Option<Duration>,
    mut op: impl FnMut() -> Result<R, Errno>,
) -> Result<R, Errno> {
    match op() {
        Err(Errno::EAGAIN) if !nonblock && timeout != Some(Duration::ZERO) => {}
        r => return r,
    }
    let deadline = timeout.and_then(|d| Instant::now().checked_add(d));
    match t.block(queues, deadline, false, |_| match op() {
        Err(Errno::EAGAIN) => Ok(None),
        Ok(v) => Ok(Some(v)),
        Err(e) => Err(e),
    }) {
        Err(Errno::ETIMEDOUT) => Err(Errno::EAGAIN),
        r => r,
    }
}

/// Copies a sockaddr argument in (`move_addr_to_kernel`).
pub(super) fn read_sockaddr(t: &TaskCtx, addr: u64, len: i32) -> Result<Vec<u8>, Errno> {
    let len = usize::try_from(len).map_err(|_| Errno::EINVAL)?;
    if len > SOCKADDR_STORAGE {
        return Err(Errno::EINVAL);
    }
    if len == 0 {
        return Ok(Vec::new());
    }
    t.copy_in_vec(addr, len)
}

fn family(raw: &[u8]) -> Option<i32> {
    let b: [u8; 2] = raw.get(..2)?.try_into().ok()?;
    Some(i32::from(u16::from_ne_bytes(b)))
}

/// A `sockaddr_un` for bind/connect/sendto (Linux's `unix_validate_addr`
/// and `unix_mkname_bsd`).
fn parse_unix_addr(raw: &[u8]) -> Result<UnixAddr, Errno> {
    if raw.len() < SUN_PATH || raw.len() > SOCKADDR_UN || family(raw) != Some(libc::AF_UNIX) {
        return Err(Errno::EINVAL);
    }
    let path = &raw[SUN_PATH..];
    match path.first() {
        Some(&c) if c != 0 => {
            let end = path.iter().position(|&c| c == 0).unwrap_or(path.len());
            Ok(UnixAddr::Path(path[..end].to_vec()))
        }
        _ => Ok(UnixAddr::Abstract(path.to_vec())),
    }
}

/// Copies a sockaddr out (`move_addr_to_user`): as much as the caller's
/// `*len_ptr` allows, then the full length into `*len_ptr`.
pub(super) fn put_sockaddr(
    t: &mut TaskCtx,
    addr: u64,
    len_ptr: u64,
    k: &[u8],
) -> Result<(), Errno> {
    let len: i32 = t.read_obj(len_ptr)?;
    let len = usize::try_from(len).map_err(|_| Errno::EINVAL)?;
    let n = len.min(k.len());
    if n > 0 {
        t.copy_out(addr, &k[..n])?;
    }
    let klen = u32::try_from(k.len()).unwrap_or(u32::MAX);
    t.write_obj(len_ptr, &klen)
}

fn sockaddr_of(a: Option<&UnixAddr>) -> Vec<u8> {
    a.map_or_else(unnamed_sockaddr, UnixAddr::to_sockaddr)
}

/// The socket a connect or sendto names (Linux's `unix_find_other`).
fn find_target(t: &TaskCtx, addr: &UnixAddr, ty: SockType) -> Result<Arc<Sock>, Errno> {
    match addr {
        UnixAddr::Path(p) => {
            let d = resolve_at(t, libc::AT_FDCWD, p, true, false)?;
            let st = d.inode.stat()?;
            Ids::fs(t).check(&st, MAY_WRITE)?;
            if st.file_type() != libc::S_IFSOCK {
                return Err(Errno::ECONNREFUSED);
            }
            let s = unix::find_path(st.dev, st.ino)?;
            if s.ty != ty {
                return Err(Errno::EPROTOTYPE);
            }
            Ok(s)
        }
        UnixAddr::Abstract(name) => unix::find_abstract(ty, name),
    }
}

/// A new open file for `sock`, installed at the lowest free fd.
fn install(t: &TaskCtx, sock: Arc<Sock>, flags: i32) -> Result<i32, Errno> {
    let f = OpenFile::new(
        None,
        UnixSocket::new(sock),
        libc::O_RDWR | (flags & libc::O_NONBLOCK),
    );
    t.fds().alloc(f, flags & libc::O_CLOEXEC != 0, 0)
}

/// Splits a `type` argument into the socket type and the
/// `SOCK_NONBLOCK|SOCK_CLOEXEC` flags (other flag bits are `EINVAL`).
fn split_type(raw: i32) -> Result<(i32, i32), Errno> {
    let flags = raw & !SOCK_TYPE_MASK;
    if flags & !(libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC) != 0 {
        return Err(Errno::EINVAL);
    }
    Ok((raw & SOCK_TYPE_MASK, flags))
}

/// The socket type `socket(family, ty, protocol)` creates, with Linux's
/// errnos in Linux's order.
fn socket_type(family: i32, ty: i32, protocol: i32) -> Result<SockType, Errno> {
    if !(0..AF_MAX).contains(&family) {
        return Err(Errno::EAFNOSUPPORT);
    }
    if ty >= SOCK_MAX {
        return Err(Errno::EINVAL);
    }
    if family != libc::AF_UNIX {
        return Err(Errno::EAFNOSUPPORT);
    }
    if protocol != 0 && protocol != libc::AF_UNIX {
        return Err(Errno::EPROTONOSUPPORT);
    }
    match ty {
        libc::SOCK_STREAM => Ok(SockType::Stream),
        // Linux turns SOCK_RAW unix sockets into datagram ones.
        libc::SOCK_DGRAM | libc::SOCK_RAW => Ok(SockType::Dgram),
        libc::SOCK_SEQPACKET => Ok(SockType::SeqPacket),
        _ => Err(Errno::ESOCKTNOSUPPORT),
    }
}

// ---------------------------------------------------------------------------
// Creating, naming and connecting

fn is_inet(family: i32) -> bool {
    family == libc::AF_INET || family == libc::AF_INET6
}

pub fn sys_socket(t: &mut TaskCtx, a: &Args) -> SysResult {
    let (ty, flags) = split_type(a.i32(1))?;
    if is_inet(a.i32(0)) {
        let s = inet::create(t, a.i32(0) == libc::AF_INET6, ty, a.i32(2))?;
        let f = OpenFile::new(None, s, libc::O_RDWR | (flags & libc::O_NONBLOCK));
        return ok(t.fds().alloc(f, flags & libc::O_CLOEXEC != 0, 0)?);
    }
    let ty = socket_type(a.i32(0), ty, a.i32(2))?;
    let sock = Sock::new(ty, peer_cred(t));
    ok(install(t, sock, flags)?)
}

pub fn sys_socketpair(t: &mut TaskCtx, a: &Args) -> SysResult {
    let (ty, flags) = split_type(a.i32(1))?;
    if is_inet(a.i32(0)) {
        inet::create(t, a.i32(0) == libc::AF_INET6, ty, a.i32(2))?;
        return Err(Errno::EOPNOTSUPP);
    }
    let ty = socket_type(a.i32(0), ty, a.i32(2))?;
    let (x, y) = Sock::pair(ty, peer_cred(t));
    let fds = t.fds();
    let fx = install(t, x, flags)?;
    let fy = match install(t, y, flags) {
        Ok(fd) => fd,
        Err(e) => {
            let _ = fds.close(fx);
            return Err(e);
        }
    };
    let mut b = Vec::with_capacity(8);
    b.extend_from_slice(&fx.to_ne_bytes());
    b.extend_from_slice(&fy.to_ne_bytes());
    if let Err(e) = t.copy_out(a.u64(3), &b) {
        let _ = fds.close(fx);
        let _ = fds.close(fy);
        return Err(e);
    }
    ok(0)
}

/// Creates the socket inode of a pathname bind and binds to it.
fn bind_path(t: &TaskCtx, s: &Arc<Sock>, path: &[u8]) -> Result<(), Errno> {
    let ids = Ids::fs(t);
    let (dir, name, trailing) = resolve_parent_at(t, libc::AT_FDCWD, path)?;
    if matches!(name.as_slice(), b"" | b"." | b"..") {
        return Err(Errno::EADDRINUSE);
    }
    match dir.inode.lookup(&name) {
        Ok(_) => return Err(Errno::EADDRINUSE),
        Err(Errno::ENOENT) => {}
        Err(e) => return Err(e),
    }
    if trailing {
        return Err(Errno::ENOENT);
    }
    check_dir_writable(&ids, &dir)?;
    let mode = libc::S_IFSOCK | (0o777 & !t.fs().umask);
    let inode = match dir.inode.mknod(&name, mode, 0, ids.uid, ids.gid) {
        Err(Errno::EEXIST) => return Err(Errno::EADDRINUSE),
        r => r?,
    };
    let st = inode.stat()?;
    if let Err(e) = s.bind(UnixAddr::Path(path.to_vec()), Some((st.dev, st.ino))) {
        // Already bound: Linux removes the node it just made.
        let _ = dir.inode.unlink(&name);
        return Err(e);
    }
    Ok(())
}

pub fn sys_bind(t: &mut TaskCtx, a: &Args) -> SysResult {
    let f = socket_file(t, a.fd(0)?)?;
    if let Some(i) = inet::of(&f) {
        return inet::bind(t, i, a.u64(1), a.i32(2));
    }
    let s = unix_of(&f)?;
    let raw = read_sockaddr(t, a.u64(1), a.i32(2))?;
    if raw.len() == SUN_PATH && family(&raw) == Some(libc::AF_UNIX) {
        s.autobind()?;
        return ok(0);
    }
    match parse_unix_addr(&raw)? {
        UnixAddr::Path(p) => bind_path(t, &s, &p)?,
        addr => s.bind(addr, None)?,
    }
    ok(0)
}

pub fn sys_listen(t: &mut TaskCtx, a: &Args) -> SysResult {
    let f = socket_file(t, a.fd(0)?)?;
    if let Some(i) = inet::of(&f) {
        // Linux compares as unsigned: a negative backlog means the maximum.
        let backlog = usize::try_from(a.u32(1)).map_or(SOMAXCONN, |b| b.min(SOMAXCONN));
        return inet::listen(i, backlog);
    }
    let s = unix_of(&f)?;
    // Linux compares as unsigned: a negative backlog means the maximum.
    let backlog = usize::try_from(a.u32(1)).map_or(SOMAXCONN, |b| b.min(SOMAXCONN));
    s.listen(backlog, peer_cred(t))?;
    ok(0)
}

pub fn sys_connect(t: &mut TaskCtx, a: &Args) -> SysResult {
    let f = socket_file(t, a.fd(0)?)?;
    if let Some(i) = inet::of(&f) {
        return inet::connect(t, &f, i, a.u64(1), a.i32(2));
    }
    let s = unix_of(&f)?;
    let raw = read_sockaddr(t, a.u64(1), a.i32(2))?;
    if s.ty == SockType::Dgram {
        if raw.len() < SUN_PATH {
            return Err(Errno::EINVAL);
        }
        if family(&raw) == Some(libc::AF_UNSPEC) {
            s.connect_dgram(None)?;
            return ok(0);
        }
        let addr = parse_unix_addr(&raw)?;
        if s.opts().passcred {
            s.autobind()?;
        }
        let target = find_target(t, &addr, s.ty)?;
        s.connect_dgram(Some(target))?;
        return ok(0);
    }
    let addr = parse_unix_addr(&raw)?;
    if s.opts().passcred {
        s.autobind()?;
    }
    let target = find_target(t, &addr, s.ty)?;
    let cred = peer_cred(t);
    let timeout = s.opts().sndtimeo;
    wait(t, &s, Some(&target), f.nonblocking(), timeout, || {
        s.connect(&target, cred)
    })?;
    ok(0)
}

fn do_accept(t: &mut TaskCtx, a: &Args, flags: i32) -> SysResult {
    if flags & !(libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC) != 0 {
        return Err(Errno::EINVAL);
    }
    let f = socket_file(t, a.fd(0)?)?;
    if let Some(i) = inet::of(&f) {
        return inet::accept(t, &f, i, (a.u64(1), a.u64(2)), flags);
    }
    let s = unix_of(&f)?;
    if !s.ty.connection_oriented() {
        return Err(Errno::EOPNOTSUPP);
    }
    let timeout = s.opts().rcvtimeo;
    let e = wait(t, &s, None, f.nonblocking(), timeout, || s.accept())?;
    if a.u64(1) != 0 {
        let name = sockaddr_of(e.peer_name().ok().flatten().as_ref());
        // Linux loses the connection when the address cannot be stored.
        put_sockaddr(t, a.u64(1), a.u64(2), &name)?;
    }
    // An fd table that is full loses the connection too (Linux reserves
    // the fd before waiting, so it fails with EMFILE without accepting).
    ok(install(t, e, flags)?)
}

pub fn sys_accept(t: &mut TaskCtx, a: &Args) -> SysResult {
    do_accept(t, a, 0)
}

pub fn sys_accept4(t: &mut TaskCtx, a: &Args) -> SysResult {
    do_accept(t, a, a.i32(3))
}

pub fn sys_getsockname(t: &mut TaskCtx, a: &Args) -> SysResult {
    let f = socket_file(t, a.fd(0)?)?;
    if let Some(i) = inet::of(&f) {
        return inet::getsockname(t, i, a.u64(1), a.u64(2));
    }
    let s = unix_of(&f)?;
    let name = sockaddr_of(s.name().as_ref());
    put_sockaddr(t, a.u64(1), a.u64(2), &name)?;
    ok(0)
}

pub fn sys_getpeername(t: &mut TaskCtx, a: &Args) -> SysResult {
    let f = socket_file(t, a.fd(0)?)?;
    if let Some(i) = inet::of(&f) {
        return inet::getpeername(t, i, a.u64(1), a.u64(2));
    }
    let s = unix_of(&f)?;
    let name = sockaddr_of(s.peer_name()?.as_ref());
    put_sockaddr(t, a.u64(1), a.u64(2), &name)?;
    ok(0)
}

pub fn sys_shutdown(t: &mut TaskCtx, a: &Args) -> SysResult {
    let f = socket_file(t, a.fd(0)?)?;
    let how = match a.i32(1) {
        libc::SHUT_RD => RCV_SHUTDOWN,
        libc::SHUT_WR => SEND_SHUTDOWN,
        libc::SHUT_RDWR => RCV_SHUTDOWN | SEND_SHUTDOWN,
        _ => return Err(Errno::EINVAL),
    };
    if let Some(i) = inet::of(&f) {
        return inet::shutdown(i, how & RCV_SHUTDOWN != 0, how & SEND_SHUTDOWN != 0);
    }
    let s = unix_of(&f)?;
    s.shutdown(how);
    ok(0)
}

// ---------------------------------------------------------------------------
// Sending

/// The user buffers of one send or receive.
pub(super) type Iovecs = Vec<(u64, usize)>;

/// Copies up to `max` bytes of `iovs`, starting `skip` bytes in.
pub(super) fn gather(
    t: &TaskCtx,
    iovs: &[(u64, usize)],
    skip: usize,
    max: usize,
) -> Result<Vec<u8>, Errno> {
    let mut out = Vec::new();
    let mut skip = skip;
    for &(base, len) in iovs {
        if out.len() >= max {
            break;
        }
        if skip >= len {
            skip -= len;
            continue;
        }
        let n = (len - skip).min(max - out.len());
        let at = base.checked_add(skip as u64).ok_or(Errno::EFAULT)?;
        out.extend(t.copy_in_vec(at, n)?);
        skip = 0;
    }
    Ok(out)
}

pub(super) fn total_len(iovs: &[(u64, usize)]) -> usize {
    iovs.iter()
        .fold(0usize, |a, i| a.saturating_add(i.1))
        .min(MAX_RW)
}

fn read_u64(b: &[u8], at: usize) -> u64 {
    let mut x = [0u8; 8];
    x.copy_from_slice(&b[at..at + 8]);
    u64::from_ne_bytes(x)
}

fn read_i32(b: &[u8], at: usize) -> i32 {
    let mut x = [0u8; 4];
    x.copy_from_slice(&b[at..at + 4]);
    i32::from_ne_bytes(x)
}

fn cmsg_align(n: usize) -> usize {
    n.saturating_add(7) & !7
}

/// Parses a sendmsg control buffer (Linux's `__scm_send`).
fn parse_control(t: &TaskCtx, ctl: &[u8]) -> Result<Ancillary, Errno> {
    let mut anc = Ancillary::default();
    let mut off = 0;
    while off + CMSG_HDR <= ctl.len() {
        let len = usize::try_from(read_u64(ctl, off)).map_err(|_| Errno::EINVAL)?;
        if len < CMSG_HDR || len > ctl.len() - off {
            return Err(Errno::EINVAL);
        }
        let (level, ty) = (read_i32(ctl, off + 8), read_i32(ctl, off + 12));
        let data = &ctl[off + CMSG_HDR..off + len];
        if level == libc::SOL_SOCKET {
            match ty {
                libc::SCM_RIGHTS => {
                    let n = data.len() / 4;
                    if anc.rights.len() + n > SCM_MAX_FD {
                        return Err(Errno::EINVAL);
                    }
                    let fds = t.fds();
                    for i in 0..n {
                        anc.rights.push(fds.get(read_i32(data, i * 4))?);
                    }
                }
                libc::SCM_CREDENTIALS => {
                    if data.len() != 12 {
                        return Err(Errno::EINVAL);
                    }
                    let want = Ucred {
                        pid: read_i32(data, 0),
                        uid: read_i32(data, 4).cast_unsigned(),
                        gid: read_i32(data, 8).cast_unsigned(),
                    };
                    let c = lock(&t.tg().creds).clone();
                    // Linux's scm_check_creds: one's own pid and ids,
                    // unless CAP_SYS_ADMIN/CAP_SETUID/CAP_SETGID allow
                    // others; -1 is no id at all.
                    if want.uid == u32::MAX || want.gid == u32::MAX {
                        return Err(Errno::EINVAL);
                    }
                    let pid_ok = want.pid == t.pid() || caps::capable(&c, CAP_SYS_ADMIN);
                    let uid_ok = [c.uid, c.euid, c.suid].contains(&want.uid)
                        || caps::capable(&c, CAP_SETUID);
                    let gid_ok = [c.gid, c.egid, c.sgid].contains(&want.gid)
                        || caps::capable(&c, CAP_SETGID);
                    if !(pid_ok && uid_ok && gid_ok) {
                        return Err(Errno::EPERM);
                    }
                    anc.creds = Some(want);
                }
                _ => return Err(Errno::EINVAL),
            }
        }
        off += cmsg_align(len);
    }
    Ok(anc)
}

/// One send, with its arguments validated and copied in.
#[derive(Debug)]
struct SendReq<'a> {
    iovs: &'a [(u64, usize)],
    len: usize,
    flags: i32,
    name: Option<Vec<u8>>,
    anc: Ancillary,
    nonblock: bool,
    opts: Opts,
    cred: Ucred,
}

/// The common send path of send, sendto, sendmsg.
fn do_send(
    t: &mut TaskCtx,
    fd: i32,
    iovs: &[(u64, usize)],
    flags: i32,
    name: Option<Vec<u8>>,
    control: Option<Vec<u8>>,
) -> SysResult {
    let f = socket_file(t, fd)?;
    if let Some(i) = inet::of(&f) {
        // Control messages mean nothing to TCP/UDP here (no IP_PKTINFO
        // and friends yet).
        return inet::send(t, &f, i, iovs, flags, name.as_deref());
    }
    let s = unix_of(&f)?;
    let anc = match &control {
        Some(c) => parse_control(t, c)?,
        None => Ancillary::default(),
    };
    let req = SendReq {
        iovs,
        len: total_len(iovs),
        flags,
        name,
        anc,
        nonblock: f.nonblocking() || flags & libc::MSG_DONTWAIT != 0,
        opts: s.opts(),
        cred: scm_cred(t),
    };
    match s.ty {
        SockType::Stream => send_on_stream(t, &s, req),
        _ => send_message(t, &s, req),
    }
}

/// A stream send: everything, in chunks, unless non-blocking, a signal
/// or an error cuts it short (then the bytes sent so far count).
fn send_on_stream(t: &mut TaskCtx, s: &Arc<Sock>, mut req: SendReq<'_>) -> SysResult {
    let oob = req.flags & libc::MSG_OOB != 0;
    if oob && req.len == 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    if req.name.is_some() {
        return Err(if s.peer().is_some() {
            Errno::EISCONN
        } else {
            Errno::EOPNOTSUPP
        });
    }
    let peer = s.peer().ok_or(Errno::ENOTCONN)?;
    // Out-of-band data (Linux 5.15+) is not supported yet.
    if oob {
        return Err(Errno::EOPNOTSUPP);
    }
    send_in_chunks(t, req.iovs, req.len, CHUNK, req.flags, |t, data| {
        wait(t, s, Some(&peer), req.nonblock, req.opts.sndtimeo, || {
            s.send_stream(data, &mut req.anc, req.cred)
        })
    })
}

/// Sends all `len` bytes of `iovs` on a stream socket, copying in `chunk`
/// bytes at a time, unless non-blocking, a signal or an error cuts it
/// short: then the bytes sent so far count, and an `EPIPE` before any
/// byte went raises SIGPIPE unless `flags` has `MSG_NOSIGNAL`. `send`
/// sends what it can of a slice, waiting as the socket's rules say. A
/// zero-length send still asks `send` once, for its errors.
pub(super) fn send_in_chunks(
    t: &mut TaskCtx,
    iovs: &[(u64, usize)],
    len: usize,
    chunk: usize,
    flags: i32,
    mut send: impl FnMut(&mut TaskCtx, &[u8]) -> Result<usize, Errno>,
) -> SysResult {
    let mut sent = 0;
    loop {
        let data = gather(t, iovs, sent, (len - sent).min(chunk))?;
        let mut done = 0;
        let r = loop {
            match send(t, &data[done..]) {
                Ok(n) => {
                    done += n;
                    if done >= data.len() {
                        break Ok(());
                    }
                }
                Err(e) => break Err(e),
            }
        };
        sent += done;
        if let Err(e) = r {
            if sent > 0 {
                return ok(sent);
            }
            if e == Errno::EPIPE && flags & libc::MSG_NOSIGNAL == 0 {
                raise_sigpipe(t);
            }
            return Err(e);
        }
        if sent >= len {
            return ok(sent);
        }
    }
}

/// A datagram or seqpacket send: one message, whole or not at all.
fn send_message(t: &mut TaskCtx, s: &Arc<Sock>, mut req: SendReq<'_>) -> SysResult {
    let too_big = req.len > req.opts.sndbuf.saturating_sub(32);
    let target = if s.ty == SockType::SeqPacket {
        if let Some(e) = s.take_error() {
            return Err(e);
        }
        if s.peer().is_none() {
            return Err(Errno::ENOTCONN);
        }
        if req.flags & libc::MSG_OOB != 0 {
            return Err(Errno::EOPNOTSUPP);
        }
        if too_big {
            return Err(Errno::EMSGSIZE);
        }
        // A seqpacket socket is connected: a name is ignored.
        None
    } else {
        if req.flags & libc::MSG_OOB != 0 {
            return Err(Errno::EOPNOTSUPP);
        }
        let addr = match &req.name {
            Some(raw) => Some(parse_unix_addr(raw)?),
            None if s.peer().is_none() => return Err(Errno::ENOTCONN),
            None => None,
        };
        if req.opts.passcred {
            s.autobind()?;
        }
        // Linux checks the size before it looks the destination up.
        if too_big {
            return Err(Errno::EMSGSIZE);
        }
        match addr {
            Some(addr) => Some(find_target(t, &addr, s.ty)?),
            None => None,
        }
    };
    let data = gather(t, req.iovs, 0, req.len)?;
    let other = target.clone().or_else(|| s.peer());
    let n = wait(
        t,
        s,
        other.as_ref(),
        req.nonblock,
        req.opts.sndtimeo,
        || s.send_dgram(&data, &mut req.anc, target.as_ref(), req.cred),
    )?;
    ok(n)
}

pub fn sys_sendto(t: &mut TaskCtx, a: &Args) -> SysResult {
    let fd = a.fd(0)?;
    let iovs = vec![(a.u64(1), a.usize(2).min(MAX_RW))];
    socket_file(t, fd)?;
    let name = if a.u64(4) != 0 {
        Some(read_sockaddr(t, a.u64(4), a.i32(5))?).filter(|n| !n.is_empty())
    } else {
        None
    };
    do_send(t, fd, &iovs, a.i32(3), name, None)
}

/// A `struct msghdr` as read from the caller.
#[derive(Debug)]
struct MsgHdr {
    name: u64,
    namelen: usize,
    iovs: Iovecs,
    control: u64,
    controllen: usize,
}

/// Reads and validates a `struct msghdr` (Linux's `__copy_msghdr` and
/// `import_iovec`).
fn read_msghdr(t: &TaskCtx, addr: u64) -> Result<MsgHdr, Errno> {
    let mut raw = [0u8; MSGHDR];
    t.copy_in(addr, &mut raw)?;
    let namelen = usize::try_from(read_i32(&raw, 8))
        .map_err(|_| Errno::EINVAL)?
        .min(SOCKADDR_STORAGE);
    let iovlen = read_u64(&raw, 24);
    if iovlen > IOV_MAX as u64 {
        return Err(Errno::EMSGSIZE);
    }
    #[allow(clippy::cast_possible_truncation, reason = "checked against IOV_MAX")]
    let iovs = read_iovecs(t, read_u64(&raw, 16), iovlen as i32)?;
    Ok(MsgHdr {
        name: read_u64(&raw, 0),
        namelen,
        iovs,
        control: read_u64(&raw, 32),
        controllen: usize::try_from(read_u64(&raw, 40)).unwrap_or(usize::MAX),
    })
}

pub fn sys_sendmsg(t: &mut TaskCtx, a: &Args) -> SysResult {
    let fd = a.fd(0)?;
    socket_file(t, fd)?;
    let m = read_msghdr(t, a.u64(1))?;
    let name = if m.name != 0 && m.namelen > 0 {
        Some(t.copy_in_vec(m.name, m.namelen)?)
    } else {
        None
    };
    if m.controllen > 0x7fff_ffff {
        return Err(Errno::ENOBUFS);
    }
    let control = if m.controllen > 0 {
        Some(t.copy_in_vec(m.control, m.controllen)?)
    } else {
        None
    };
    do_send(t, fd, &m.iovs, a.i32(2), name, control)
}

// ---------------------------------------------------------------------------
// Receiving

/// What a receive hands back to the caller.
#[derive(Debug)]
struct Got {
    ret: usize,
    r: Received,
    flags: i32,
}

/// The common receive path: fills `iovs` and returns the result; the
/// caller delivers the name and control messages.
fn do_recv(
    t: &mut TaskCtx,
    s: &Arc<Sock>,
    f: &OpenFile,
    iovs: &[(u64, usize)],
    flags: i32,
) -> Result<Got, Errno> {
    let max = total_len(iovs);
    // Linux only finds a bad buffer when it copies into it, so waiting and
    // errors come first. Here a bad buffer turns the receive into a peek
    // that fails with EFAULT if it finds data, so nothing is lost.
    let bad_buf = iovs
        .iter()
        .any(|&(base, len)| len > 0 && !t.mm.check_access(base, len as u64, true));
    let nonblock = f.nonblocking() || flags & libc::MSG_DONTWAIT != 0;
    let peek = flags & libc::MSG_PEEK != 0 || bad_buf;
    let timeout = s.opts().rcvtimeo;
    let mut out_flags = 0;
    let (r, ret) = if s.ty == SockType::Stream {
        if flags & libc::MSG_OOB != 0 {
            return Err(Errno::EINVAL);
        }
        let mut r = wait(t, s, None, nonblock, timeout, || s.recv(max, peek))?;
        if flags & libc::MSG_WAITALL != 0 && !peek {
            while r.data.len() < max && r.rights.is_empty() && r.len > 0 {
                let want = max - r.data.len();
                match wait(t, s, None, nonblock, timeout, || s.recv(want, false)) {
                    Ok(more) if more.len > 0 => {
                        r.data.extend(more.data);
                        r.rights.extend(more.rights);
                        r.len = r.data.len();
                    }
                    _ => break,
                }
            }
        }
        let n = r.data.len();
        (r, n)
    } else {
        if flags & libc::MSG_OOB != 0 {
            return Err(Errno::EOPNOTSUPP);
        }
        let r = wait(t, s, None, nonblock, timeout, || match s.recv(max, peek) {
            // A blocking receive on a datagram socket shut down for
            // reading returns 0 instead of waiting.
            Err(Errno::EAGAIN) if !nonblock && s.recv_shut() => Ok(Received::default()),
            r => r,
        })?;
        if r.data.len() < r.len {
            out_flags |= libc::MSG_TRUNC;
        }
        let ret = if flags & libc::MSG_TRUNC != 0 {
            r.len
        } else {
            r.data.len()
        };
        (r, ret)
    };
    if bad_buf && !r.data.is_empty() {
        return Err(Errno::EFAULT);
    }
    let mut done = 0;
    for &(base, len) in iovs {
        if done >= r.data.len() {
            break;
        }
        let n = len.min(r.data.len() - done);
        t.copy_out(base, &r.data[done..done + n])?;
        done += n;
    }
    Ok(Got {
        ret,
        r,
        flags: out_flags,
    })
}

pub fn sys_recvfrom(t: &mut TaskCtx, a: &Args) -> SysResult {
    let f = socket_file(t, a.fd(0)?)?;
    let iovs = vec![(a.u64(1), a.usize(2).min(MAX_RW))];
    if let Some(i) = inet::of(&f) {
        let got = inet::recv(t, &f, i, &iovs, a.i32(3))?;
        if a.u64(4) != 0 && got.from.is_some() {
            put_sockaddr(t, a.u64(4), a.u64(5), &got.name_bytes())?;
        }
        return ok(got.ret);
    }
    let s = unix_of(&f)?;
    let got = do_recv(t, &s, &f, &iovs, a.i32(3))?;
    if a.u64(4) != 0 {
        let name = got
            .r
            .from
            .as_ref()
            .map(UnixAddr::to_sockaddr)
            .unwrap_or_default();
        put_sockaddr(t, a.u64(4), a.u64(5), &name)?;
    }
    ok(got.ret)
}

/// Builds the control messages of a recvmsg into at most `room` bytes
/// (Linux's `put_cmsg` and `scm_detach_fds`), installing passed fds.
/// Returns the bytes and `MSG_CTRUNC` if something did not fit.
fn build_control(
    t: &TaskCtx,
    opts: &Opts,
    r: &mut Received,
    room: usize,
    have_buf: bool,
    cloexec: bool,
) -> (Vec<u8>, i32, Vec<i32>) {
    let mut out = Vec::new();
    let mut flags = 0;
    let mut installed = Vec::new();
    let put = |out: &mut Vec<u8>, flags: &mut i32, ty: i32, data: &[u8]| {
        let left = room - out.len();
        if !have_buf || left < CMSG_HDR {
            *flags |= libc::MSG_CTRUNC;
            return;
        }
        let mut cmlen = CMSG_HDR + data.len();
        if left < cmlen {
            *flags |= libc::MSG_CTRUNC;
            cmlen = left;
        }
        let start = out.len();
        out.extend_from_slice(&(cmlen as u64).to_ne_bytes());
        out.extend_from_slice(&libc::SOL_SOCKET.to_ne_bytes());
        out.extend_from_slice(&ty.to_ne_bytes());
        out.extend_from_slice(&data[..cmlen - CMSG_HDR]);
        let space = cmsg_align(CMSG_HDR + data.len()).min(left);
        out.resize(start + space, 0);
    };
    if opts.passcred {
        let c = r.creds.unwrap_or(Ucred {
            pid: 0,
            uid: OVERFLOW_ID,
            gid: OVERFLOW_ID,
        });
        put(&mut out, &mut flags, libc::SCM_CREDENTIALS, &c.to_bytes());
    }
    if !r.rights.is_empty() {
        let left = room - out.len();
        let fdmax = if have_buf && left > CMSG_HDR {
            (left - CMSG_HDR) / 4
        } else {
            0
        };
        let fds = t.fds();
        let mut data = Vec::new();
        for file in r.rights.iter().take(fdmax) {
            match fds.alloc(Arc::clone(file), cloexec, 0) {
                Ok(fd) => {
                    installed.push(fd);
                    data.extend_from_slice(&fd.to_ne_bytes());
                }
                Err(_) => break,
            }
        }
        if !installed.is_empty() {
            let start = out.len();
            let cmlen = CMSG_HDR + data.len();
            out.extend_from_slice(&(cmlen as u64).to_ne_bytes());
            out.extend_from_slice(&libc::SOL_SOCKET.to_ne_bytes());
            out.extend_from_slice(&libc::SCM_RIGHTS.to_ne_bytes());
            out.extend_from_slice(&data);
            out.resize(start + cmsg_align(cmlen).min(left), 0);
        }
        if installed.len() < r.rights.len() {
            flags |= libc::MSG_CTRUNC;
        }
    }
    (out, flags, installed)
}

pub fn sys_recvmsg(t: &mut TaskCtx, a: &Args) -> SysResult {
    let f = socket_file(t, a.fd(0)?)?;
    let maddr = a.u64(1);
    let m = read_msghdr(t, maddr)?;
    let flags = a.i32(2);
    if let Some(i) = inet::of(&f) {
        let got = inet::recv(t, &f, i, &m.iovs, flags)?;
        let name = got.name_bytes();
        if m.name != 0 {
            put_sockaddr(t, m.name, maddr + 8, &name)?;
        }
        t.write_obj(maddr + 40, &0u64)?;
        t.write_obj(maddr + 48, &(got.flags | (flags & libc::MSG_CMSG_CLOEXEC)))?;
        return ok(got.ret);
    }
    let s = unix_of(&f)?;
    let mut got = do_recv(t, &s, &f, &m.iovs, flags)?;
    if m.name != 0 {
        let name = got
            .r
            .from
            .as_ref()
            .map(UnixAddr::to_sockaddr)
            .unwrap_or_default();
        put_sockaddr(t, m.name, maddr + 8, &name)?;
    }
    let cloexec = flags & libc::MSG_CMSG_CLOEXEC != 0;
    let (ctl, cflags, installed) = build_control(
        t,
        &s.opts(),
        &mut got.r,
        m.controllen,
        m.control != 0,
        cloexec,
    );
    if !ctl.is_empty() && t.copy_out(m.control, &ctl).is_err() {
        // Like Linux, a control buffer that cannot be written loses the
        // messages, not the data.
        let fds = t.fds();
        for fd in installed {
            let _ = fds.close(fd);
        }
    }
    // Linux echoes MSG_CMSG_CLOEXEC back.
    let out_flags = got.flags | cflags | (flags & libc::MSG_CMSG_CLOEXEC);
    t.write_obj(maddr + 40, &(ctl.len() as u64))?;
    t.write_obj(maddr + 48, &out_flags)?;
    ok(got.ret)
}

// ---------------------------------------------------------------------------
// Options

fn int_bytes(v: i32) -> Vec<u8> {
    v.to_ne_bytes().to_vec()
}

fn timeval_bytes(d: Option<Duration>) -> Vec<u8> {
    let d = d.unwrap_or_default();
    let sec = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
    let usec = i64::from(d.subsec_micros());
    let mut v = sec.to_ne_bytes().to_vec();
    v.extend_from_slice(&usec.to_ne_bytes());
    v
}

fn buf_size(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// The `SOL_SOCKET` options every family shares.
fn common_option(name: i32, o: &Opts) -> Result<Vec<u8>, Errno> {
    Ok(match name {
        libc::SO_SNDBUF => int_bytes(buf_size(o.sndbuf)),
        libc::SO_RCVBUF => int_bytes(buf_size(o.rcvbuf)),
        libc::SO_PASSCRED => int_bytes(i32::from(o.passcred)),
        libc::SO_REUSEADDR => int_bytes(i32::from(o.reuseaddr)),
        libc::SO_REUSEPORT => int_bytes(i32::from(o.reuseport)),
        libc::SO_KEEPALIVE => int_bytes(i32::from(o.keepalive)),
        libc::SO_BROADCAST => int_bytes(i32::from(o.broadcast)),
        libc::SO_DONTROUTE => int_bytes(i32::from(o.dontroute)),
        libc::SO_OOBINLINE => int_bytes(i32::from(o.oobinline)),
        libc::SO_PRIORITY => int_bytes(o.priority),
        libc::SO_RCVLOWAT => int_bytes(o.rcvlowat),
        libc::SO_SNDLOWAT => int_bytes(1),
        libc::SO_LINGER => {
            let mut v = int_bytes(o.linger.0);
            v.extend_from_slice(&o.linger.1.to_ne_bytes());
            v
        }
        libc::SO_RCVTIMEO => timeval_bytes(o.rcvtimeo),
        libc::SO_SNDTIMEO => timeval_bytes(o.sndtimeo),
        _ => return Err(Errno::ENOPROTOOPT),
    })
}

pub fn sys_getsockopt(t: &mut TaskCtx, a: &Args) -> SysResult {
    let f = socket_file(t, a.fd(0)?)?;
    let (level, name) = (a.i32(1), a.i32(2));
    let (optval, optlen) = (a.u64(3), a.u64(4));
    let len: i32 = t.read_obj(optlen)?;
    let len = usize::try_from(len).map_err(|_| Errno::EINVAL)?;
    let val = match (inet::of(&f), level) {
        (Some(i), libc::SOL_SOCKET) => match name {
            libc::SO_TYPE => int_bytes(if i.is_stream() {
                libc::SOCK_STREAM
            } else {
                libc::SOCK_DGRAM
            }),
            libc::SO_DOMAIN => int_bytes(i.family()),
            libc::SO_PROTOCOL => int_bytes(if i.is_stream() {
                libc::IPPROTO_TCP
            } else {
                libc::IPPROTO_UDP
            }),
            libc::SO_ERROR => int_bytes(i.take_error().map_or(0, |e| e as i32)),
            libc::SO_ACCEPTCONN => int_bytes(i32::from(i.is_listening())),
            _ => common_option(name, &i.opts())?,
        },
        (Some(i), _) => inet::get_option(i, level, name)?,
        (None, libc::SOL_SOCKET) => {
            let s = unix_of(&f)?;
            match name {
                libc::SO_TYPE => int_bytes(s.ty.raw()),
                libc::SO_DOMAIN => int_bytes(libc::AF_UNIX),
                libc::SO_PROTOCOL => int_bytes(0),
                libc::SO_ERROR => int_bytes(s.take_error().map_or(0, |e| e as i32)),
                libc::SO_ACCEPTCONN => int_bytes(i32::from(s.is_listening())),
                libc::SO_PEERCRED => s.peercred().to_bytes().to_vec(),
                _ => common_option(name, &s.opts())?,
            }
        }
        (None, _) => return Err(Errno::EOPNOTSUPP),
    };
    let n = len.min(val.len());
    if n > 0 {
        t.copy_out(optval, &val[..n])?;
    }
    t.write_obj(optlen, &u32::try_from(n).unwrap_or(0))?;
    ok(0)
}

/// `SO_SNDBUF`/`SO_RCVBUF`: Linux caps the request at the sysctl maximum,
/// doubles it for bookkeeping overhead and applies a floor.
fn set_buf(val: i32, min: usize) -> usize {
    let v = usize::try_from(val.cast_unsigned())
        .unwrap_or(usize::MAX)
        .min(MAX_BUF);
    (v * 2).max(min)
}

/// `SO_RCVTIMEO`/`SO_SNDTIMEO` (Linux's `sock_set_timeout`): `None` waits
/// forever, zero does not wait.
fn read_timeout(t: &TaskCtx, addr: u64, len: usize) -> Result<Option<Duration>, Errno> {
    if len < 16 {
        return Err(Errno::EINVAL);
    }
    let tv: libc::timeval = t.read_obj(addr)?;
    if !(0..1_000_000).contains(&tv.tv_usec) {
        return Err(Errno::EDOM);
    }
    if tv.tv_sec < 0 {
        return Ok(Some(Duration::ZERO));
    }
    if tv.tv_sec == 0 && tv.tv_usec == 0 {
        return Ok(None);
    }
    let sec = u64::try_from(tv.tv_sec).unwrap_or(0);
    let usec = u64::try_from(tv.tv_usec).unwrap_or(0);
    Ok(Some(Duration::from_secs(sec) + Duration::from_micros(usec)))
}

/// A change to the `SOL_SOCKET` options every family shares.
type OptUpdate = Box<dyn FnOnce(&mut Opts)>;

/// Reads and checks a `SOL_SOCKET` `setsockopt` (Linux's
/// `sk_setsockopt`).
fn common_update(t: &TaskCtx, name: i32, optval: u64, len: usize) -> Result<OptUpdate, Errno> {
    if len < 4 {
        return Err(Errno::EINVAL);
    }
    if matches!(name, libc::SO_RCVTIMEO | libc::SO_SNDTIMEO) {
        let d = read_timeout(t, optval, len)?;
        return Ok(Box::new(move |o: &mut Opts| {
            if name == libc::SO_RCVTIMEO {
                o.rcvtimeo = d;
            } else {
                o.sndtimeo = d;
            }
        }));
    }
    if name == libc::SO_LINGER {
        if len < 8 {
            return Err(Errno::EINVAL);
        }
        let on: i32 = t.read_obj(optval)?;
        let secs: i32 = t.read_obj(optval + 4)?;
        return Ok(Box::new(move |o: &mut Opts| {
            o.linger = (i32::from(on != 0), secs);
        }));
    }
    let val: i32 = t.read_obj(optval)?;
    let apply: fn(&mut Opts, i32) = match name {
        libc::SO_DEBUG => |_, _| {},
        libc::SO_PASSCRED => |o, v| o.passcred = v != 0,
        libc::SO_REUSEADDR => |o, v| o.reuseaddr = v != 0,
        libc::SO_REUSEPORT => |o, v| o.reuseport = v != 0,
        libc::SO_KEEPALIVE => |o, v| o.keepalive = v != 0,
        libc::SO_BROADCAST => |o, v| o.broadcast = v != 0,
        libc::SO_DONTROUTE => |o, v| o.dontroute = v != 0,
        libc::SO_OOBINLINE => |o, v| o.oobinline = v != 0,
        libc::SO_PRIORITY => {
            if !(0..=6).contains(&val) && !caps::has(t, CAP_NET_ADMIN) {
                return Err(Errno::EPERM);
            }
            |o, v| o.priority = v
        }
        libc::SO_RCVLOWAT => |o, v| o.rcvlowat = if v < 0 { i32::MAX } else { v.max(1) },
        libc::SO_SNDBUF => |o, v| o.sndbuf = set_buf(v, MIN_SNDBUF),
        libc::SO_RCVBUF => |o, v| o.rcvbuf = set_buf(v, MIN_RCVBUF),
        _ => return Err(Errno::ENOPROTOOPT),
    };
    Ok(Box::new(move |o: &mut Opts| apply(o, val)))
}

pub fn sys_setsockopt(t: &mut TaskCtx, a: &Args) -> SysResult {
    let f = socket_file(t, a.fd(0)?)?;
    let (level, name) = (a.i32(1), a.i32(2));
    let (optval, optlen) = (a.u64(3), a.i32(4));
    let len = usize::try_from(optlen).map_err(|_| Errno::EINVAL)?;
    if let Some(i) = inet::of(&f) {
        if level != libc::SOL_SOCKET {
            return inet::set_option(t, i, level, name, optval, len);
        }
        i.set_opts(common_update(t, name, optval, len)?);
        return ok(0);
    }
    let s = unix_of(&f)?;
    if level != libc::SOL_SOCKET {
        return Err(Errno::EOPNOTSUPP);
    }
    s.set_opts(common_update(t, name, optval, len)?);
    ok(0)
}
