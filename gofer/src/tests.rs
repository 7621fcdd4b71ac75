//! Unit tests: `serve` on a thread (or, for seccomp, in a forked child)
//! against a temporary directory tree.

use std::io::Read;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle;

use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};

use crate::protocol::{recv_msg, send_msg, Request, Response, MAX_MESSAGE};
use crate::{open_root, serve, Client, GoferError};

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let p = std::env::temp_dir().join(format!("gofer-test-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn pair() -> (OwnedFd, OwnedFd) {
    socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .unwrap()
}

fn start(root: &Path) -> (Client, JoinHandle<Result<(), GoferError>>) {
    let (a, b) = pair();
    let root = open_root(root).unwrap();
    let server = std::thread::spawn(move || serve(b, root));
    (Client::new(a), server)
}

fn errno<T: std::fmt::Debug>(r: Result<T, GoferError>) -> i32 {
    match r {
        Err(GoferError::Errno(e)) => e,
        other => panic!("expected an errno, got {other:?}"),
    }
}

fn file_type(mode: u32) -> u32 {
    mode & libc::S_IFMT
}

#[test]
fn attach_walk_stat_file() {
    let dir = TempDir::new();
    std::fs::write(dir.path().join("f"), b"hello").unwrap();
    let (c, server) = start(dir.path());
    let (root, rs) = c.attach().unwrap();
    assert_eq!(file_type(rs.mode), libc::S_IFDIR);
    let (h, st) = c.walk(root, b"f").unwrap();
    assert_eq!(file_type(st.mode), libc::S_IFREG);
    assert_eq!(st.size, 5);
    assert_eq!(c.stat(h).unwrap(), st);
    assert!(c.statfs(h).unwrap().namelen > 0);
    drop(c);
    server.join().unwrap().unwrap();
}

#[test]
fn open_reads_through_donated_fd() {
    let dir = TempDir::new();
    std::fs::create_dir(dir.path().join("d")).unwrap();
    std::fs::write(dir.path().join("d/f"), b"contents\n").unwrap();
    let (c, _server) = start(dir.path());
    let (root, _) = c.attach().unwrap();
    let (d, _) = c.walk(root, b"d").unwrap();
    let (f, _) = c.walk(d, b"f").unwrap();
    c.close(d); // the child handle must outlive its parent's
    let mut s = String::new();
    std::fs::File::from(c.open(f, libc::O_RDONLY | libc::O_CLOEXEC).unwrap())
        .read_to_string(&mut s)
        .unwrap();
    assert_eq!(s, "contents\n");
    // Directories open too, and a file cannot be opened O_DIRECTORY.
    c.open(root, libc::O_RDONLY | libc::O_DIRECTORY).unwrap();
    assert_eq!(
        errno(c.open(f, libc::O_RDONLY | libc::O_DIRECTORY)),
        libc::ENOTDIR
    );
}

#[test]
fn readdir_returns_every_entry_across_pages() {
    let dir = TempDir::new();
    let mut want = Vec::new();
    for i in 0..350 {
        // Long names force the byte budget, not just the entry count.
        let name = format!("{i:04}-{}", "x".repeat(i % 240));
        std::fs::write(dir.path().join(&name), b"").unwrap();
        want.push(name.into_bytes());
    }
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    want.push(b"sub".to_vec());
    let (c, _server) = start(dir.path());
    let (root, _) = c.attach().unwrap();
    let entries = c.readdir(root).unwrap();
    let sub = entries.iter().find(|e| e.name == b"sub").unwrap();
    assert_eq!(sub.kind, libc::DT_DIR);
    let mut got: Vec<_> = entries.into_iter().map(|e| e.name).collect();
    got.sort();
    want.sort();
    assert_eq!(got, want);
    let (sub, _) = c.walk(root, b"sub").unwrap();
    assert!(c.readdir(sub).unwrap().is_empty());
}

#[test]
fn readlink_returns_target() {
    let dir = TempDir::new();
    symlink("some/where", dir.path().join("l")).unwrap();
    std::fs::write(dir.path().join("f"), b"").unwrap();
    let (c, _server) = start(dir.path());
    let (root, _) = c.attach().unwrap();
    let (l, st) = c.walk(root, b"l").unwrap();
    assert_eq!(file_type(st.mode), libc::S_IFLNK);
    assert_eq!(c.readlink(l).unwrap(), b"some/where");
    let (f, _) = c.walk(root, b"f").unwrap();
    assert_eq!(errno(c.readlink(f)), libc::EINVAL);
}

#[test]
fn walk_rejects_anything_but_one_component() {
    let dir = TempDir::new();
    std::fs::create_dir_all(dir.path().join("a/b")).unwrap();
    let (c, _server) = start(dir.path());
    let (root, _) = c.attach().unwrap();
    for bad in [&b".."[..], b".", b"a/b", b"", b"a\0b", b"/"] {
        assert_eq!(errno(c.walk(root, bad)), libc::EINVAL, "{bad:?}");
    }
    assert_eq!(errno(c.walk(root, b"missing")), libc::ENOENT);
}

#[test]
fn symlink_out_of_root_is_not_followed() {
    let dir = TempDir::new();
    symlink("/etc/passwd", dir.path().join("esc")).unwrap();
    symlink("/", dir.path().join("up")).unwrap();
    let (c, _server) = start(dir.path());
    let (root, _) = c.attach().unwrap();
    let (esc, st) = c.walk(root, b"esc").unwrap();
    assert_eq!(file_type(st.mode), libc::S_IFLNK);
    assert_eq!(errno(c.open(esc, libc::O_RDONLY)), libc::ELOOP);
    let (up, _) = c.walk(root, b"up").unwrap();
    assert_eq!(errno(c.walk(up, b"etc")), libc::ENOTDIR);
    assert_eq!(errno(c.readdir(up)), libc::ENOTDIR);
}

#[test]
fn open_for_writing_is_erofs() {
    let dir = TempDir::new();
    std::fs::write(dir.path().join("f"), b"x").unwrap();
    let (c, _server) = start(dir.path());
    let (root, _) = c.attach().unwrap();
    let (f, _) = c.walk(root, b"f").unwrap();
    for flags in [
        libc::O_WRONLY,
        libc::O_RDWR,
        libc::O_RDONLY | libc::O_TRUNC,
        libc::O_CREAT,
    ] {
        assert_eq!(errno(c.open(f, flags)), libc::EROFS, "{flags:#x}");
    }
    assert_eq!(std::fs::read(dir.path().join("f")).unwrap(), b"x");
}

#[test]
fn unknown_or_closed_handle_is_ebadf() {
    let dir = TempDir::new();
    let (c, _server) = start(dir.path());
    assert_eq!(errno(c.stat(12345)), libc::EBADF);
    let (root, _) = c.attach().unwrap();
    c.close(root);
    assert_eq!(errno(c.stat(root)), libc::EBADF);
    assert_eq!(errno(c.walk(root, b"x")), libc::EBADF);
    assert_eq!(errno(c.open(root, libc::O_RDONLY)), libc::EBADF);
}

#[test]
fn fifo_and_devices_are_not_opened() {
    let dir = TempDir::new();
    nix::unistd::mkfifo(
        &dir.path().join("p"),
        nix::sys::stat::Mode::from_bits_truncate(0o644),
    )
    .unwrap();
    let (c, _server) = start(dir.path());
    let (root, _) = c.attach().unwrap();
    let (p, _) = c.walk(root, b"p").unwrap();
    assert_eq!(errno(c.open(p, libc::O_RDONLY)), libc::EPERM);
}

/// Sets a host extended attribute (the test directory's filesystem must
/// support `user.*`).
fn set_xattr(path: &Path, name: &str, value: &[u8]) {
    let p = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    let n = std::ffi::CString::new(name).unwrap();
    // SAFETY: both strings are NUL-terminated and `value` is readable for
    // its length during the call.
    let r = unsafe {
        libc::setxattr(
            p.as_ptr(),
            n.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    };
    assert_eq!(r, 0, "setxattr {name}: {}", std::io::Error::last_os_error());
}

/// The `user.*` names of a NUL-separated list, sorted.
fn user_names(list: &[u8]) -> Vec<&[u8]> {
    let mut v: Vec<&[u8]> = list
        .split(|&b| b == 0)
        .filter(|n| n.starts_with(b"user."))
        .collect();
    v.sort();
    v
}

#[test]
fn xattrs_of_host_files_and_directories() {
    let dir = TempDir::new();
    let f = dir.path().join("f");
    std::fs::write(&f, b"x").unwrap();
    std::fs::create_dir(dir.path().join("d")).unwrap();
    symlink("f", dir.path().join("l")).unwrap();
    nix::unistd::mkfifo(
        &dir.path().join("p"),
        nix::sys::stat::Mode::from_bits_truncate(0o644),
    )
    .unwrap();
    // Longer than three replies, with every byte value.
    let big: Vec<u8> = (0..3001u32).map(|i| (i * 7).to_le_bytes()[0]).collect();
    set_xattr(&f, "user.small", b"v");
    set_xattr(&f, "user.big", &big);
    set_xattr(&f, "user.empty", b"");
    set_xattr(&dir.path().join("d"), "user.dir", b"on a directory");
    let (c, _server) = start(dir.path());
    let (root, _) = c.attach().unwrap();
    let (fh, _) = c.walk(root, b"f").unwrap();
    assert_eq!(c.getxattr(fh, b"user.small").unwrap(), b"v");
    assert_eq!(c.getxattr(fh, b"user.big").unwrap(), big);
    assert_eq!(c.getxattr(fh, b"user.empty").unwrap(), b"");
    assert_eq!(errno(c.getxattr(fh, b"user.missing")), libc::ENODATA);
    assert_eq!(errno(c.getxattr(fh, b"nonamespace")), libc::EOPNOTSUPP);
    let list = c.listxattr(fh).unwrap();
    assert_eq!(
        user_names(&list),
        vec![&b"user.big"[..], b"user.empty", b"user.small"]
    );
    assert_eq!(list.last(), Some(&0));
    let (d, _) = c.walk(root, b"d").unwrap();
    assert_eq!(c.getxattr(d, b"user.dir").unwrap(), b"on a directory");
    assert_eq!(user_names(&c.listxattr(d).unwrap()), vec![&b"user.dir"[..]]);
    assert_eq!(user_names(&c.listxattr(root).unwrap()), Vec::<&[u8]>::new());
    // Nodes the gofer never opens show no attributes.
    for name in [&b"l"[..], b"p"] {
        let (h, _) = c.walk(root, name).unwrap();
        assert_eq!(errno(c.getxattr(h, b"user.small")), libc::ENODATA);
        assert_eq!(c.listxattr(h).unwrap(), b"");
    }
}

#[test]
fn xattr_pieces_are_bounded_by_the_value() {
    let dir = TempDir::new();
    std::fs::write(dir.path().join("f"), b"x").unwrap();
    set_xattr(&dir.path().join("f"), "user.a", b"ab");
    let (a, b) = pair();
    let root = open_root(dir.path()).unwrap();
    let _server = std::thread::spawn(move || serve(b, root));
    let mut buf = vec![0u8; MAX_MESSAGE];
    let mut call = |req: &Request| -> Response {
        send_msg(a.as_fd(), req, None).unwrap();
        let got = recv_msg(a.as_fd(), &mut buf, true).unwrap().unwrap();
        serde_json::from_slice(&buf[..got.len]).unwrap()
    };
    let Response::Node { handle: root, .. } = call(&Request::Attach) else {
        panic!("attach failed");
    };
    let Response::Node { handle: f, .. } = call(&Request::Walk {
        dir: root,
        name: b"f".to_vec(),
    }) else {
        panic!("walk failed");
    };
    let piece = |offset| Request::GetXattr {
        handle: f,
        name: b"user.a".to_vec(),
        offset,
    };
    assert_eq!(
        call(&piece(1)),
        Response::Xattr {
            data: b"b".to_vec(),
            total: 2
        }
    );
    assert_eq!(
        call(&piece(2)),
        Response::Xattr {
            data: vec![],
            total: 2
        }
    );
    // Past the end is refused, not answered with junk.
    assert_eq!(call(&piece(3)), Response::Errno(libc::EINVAL));
}

#[test]
fn malformed_datagrams_do_not_kill_the_server() {
    let dir = TempDir::new();
    let (a, b) = pair();
    let root = open_root(dir.path()).unwrap();
    let server = std::thread::spawn(move || serve(b, root));
    let mut buf = vec![0u8; MAX_MESSAGE];
    let junk: [&[u8]; 4] = [
        b"\xff\xfe",
        b"{\"Walk\":{\"dir\":1}}",
        b"[]",
        b"\"Attach\"\"Attach\"",
    ];
    for j in junk {
        // Raw bytes, once with an fd attached, which the server must drop.
        let iov = [std::io::IoSlice::new(j)];
        let fds = [a.as_raw_fd()];
        let cm = [nix::sys::socket::ControlMessage::ScmRights(&fds)];
        nix::sys::socket::sendmsg::<()>(
            a.as_raw_fd(),
            &iov,
            &cm,
            nix::sys::socket::MsgFlags::empty(),
            None,
        )
        .unwrap();
        let got = recv_msg(a.as_fd(), &mut buf, true).unwrap().unwrap();
        assert!(got.fd.is_none());
        let r: Response = serde_json::from_slice(&buf[..got.len]).unwrap();
        assert!(matches!(r, Response::Protocol(_)), "{r:?}");
    }
    // A valid JSON value of the wrong shape, sent through the normal path.
    send_msg(a.as_fd(), &42u32, None).unwrap();
    let got = recv_msg(a.as_fd(), &mut buf, true).unwrap().unwrap();
    let r: Response = serde_json::from_slice(&buf[..got.len]).unwrap();
    assert!(matches!(r, Response::Protocol(_)), "{r:?}");
    let c = Client::new(a);
    c.attach().unwrap();
    drop(c);
    server.join().unwrap().unwrap();
}

/// The real thing: namespaces, chroot and the seccomp filter, in a forked
/// child. Needs root (skipped otherwise).
#[test]
fn confined_and_filtered_server_round_trip() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: needs root for unshare/chroot");
        return;
    }
    let dir = TempDir::new();
    std::fs::create_dir(dir.path().join("etc")).unwrap();
    std::fs::write(dir.path().join("etc/hostname"), b"sandbox\n").unwrap();
    set_xattr(
        &dir.path().join("etc/hostname"),
        "user.host",
        b"from the host",
    );
    symlink("/etc/hostname", dir.path().join("l")).unwrap();
    for i in 0..300 {
        std::fs::write(dir.path().join(format!("file{i}")), b"").unwrap();
    }
    let (parent, child) = pair();
    // SAFETY: the child only calls the gofer's own functions (which allocate,
    // as glibc's fork handlers allow) and leaves with _exit, never returning
    // into the test harness.
    match unsafe { nix::unistd::fork() }.unwrap() {
        nix::unistd::ForkResult::Child => {
            drop(parent);
            let code = match crate::run(child, dir.path()) {
                Ok(()) => 0,
                Err(_) => 1,
            };
            // SAFETY: _exit ends the process without running the parent's
            // atexit handlers or destructors (e.g. TempDir's).
            unsafe { libc::_exit(code) }
        }
        nix::unistd::ForkResult::Parent { child: pid } => {
            drop(child);
            let c = Client::new(parent);
            let (root, _) = c.attach().unwrap();
            let (etc, _) = c.walk(root, b"etc").unwrap();
            let (f, st) = c.walk(etc, b"hostname").unwrap();
            assert_eq!(st.size, 8);
            let mut s = String::new();
            std::fs::File::from(c.open(f, libc::O_RDONLY).unwrap())
                .read_to_string(&mut s)
                .unwrap();
            assert_eq!(s, "sandbox\n");
            assert_eq!(c.readdir(root).unwrap().len(), 302);
            let (l, _) = c.walk(root, b"l").unwrap();
            assert_eq!(c.readlink(l).unwrap(), b"/etc/hostname");
            assert_eq!(errno(c.open(l, libc::O_RDONLY)), libc::ELOOP);
            assert_eq!(errno(c.walk(root, b"..")), libc::EINVAL);
            c.statfs(root).unwrap();
            // Attributes pass the filter: fgetxattr/flistxattr only.
            assert_eq!(c.getxattr(f, b"user.host").unwrap(), b"from the host");
            assert_eq!(
                user_names(&c.listxattr(f).unwrap()),
                vec![&b"user.host"[..]]
            );
            assert_eq!(errno(c.getxattr(l, b"user.host")), libc::ENODATA);
            c.stat(f).unwrap();
            c.close(f);
            assert_eq!(errno(c.stat(f)), libc::EBADF);
            drop(c);
            let status = nix::sys::wait::waitpid(pid, None).unwrap();
            assert_eq!(status, nix::sys::wait::WaitStatus::Exited(pid, 0));
        }
    }
}
