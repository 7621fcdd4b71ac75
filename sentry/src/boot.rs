//! Booting a sandbox: memory file, platform, filesystems, confinement, and
//! the first process.

use std::ffi::OsString;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStringExt;
use std::sync::Arc;

use nix::errno::Errno;
use thiserror::Error;

use crate::kernel::run::{spawn, Start};
use crate::kernel::signal::{SigHandlers, SigSet};
use crate::kernel::task::{kernel, lock, Creds, ExitStatus, Kernel, Task, ThreadGroup};
use crate::mm::{MemoryFile, MemoryManager};
use crate::vfs::{self, FdTable, FsContext, OpenFile, Vfs};

/// Everything the sentry needs to start a sandbox.
#[derive(Debug)]
pub struct BootConfig {
    /// Our end of the gofer socket.
    pub gofer: OwnedFd,
    /// The program and its arguments.
    pub argv: Vec<Vec<u8>>,
    pub envp: Vec<Vec<u8>>,
    /// Working directory inside the sandbox.
    pub cwd: Vec<u8>,
    /// The caller's stdin, stdout and stderr.
    pub stdio: [OwnedFd; 3],
    pub strace: bool,
    /// Skip chroot/seccomp (unit tests of the sentry only).
    pub confine: bool,
}

#[derive(Debug, Error)]
pub enum BootError {
    #[error("{0}: {1}")]
    Setup(&'static str, String),
    #[error("{cmd}: {errno}")]
    Exec { cmd: String, errno: Errno },
}

fn setup<E: std::fmt::Display>(what: &'static str) -> impl FnOnce(E) -> BootError {
    move |e| BootError::Setup(what, e.to_string())
}

/// Mounts the sandbox's own /proc, /dev, /dev/shm, /tmp and /sys over the
/// root, creating the mountpoints in the overlay if the image lacks them.
fn mount_filesystems(v: &Arc<Vfs>) -> Result<(), BootError> {
    let root = v.root_dentry();
    let mounts: [(&[u8], &str); 6] = [
        (b"/proc", "proc"),
        (b"/dev", "devtmpfs"),
        (b"/dev/pts", "devpts"),
        (b"/dev/shm", "tmpfs"),
        (b"/tmp", "tmpfs"),
        (b"/sys", "sysfs"),
    ];
    for (path, fstype) in mounts {
        let at = match vfs::resolve(v, &root, &root, path, true) {
            Ok(d) => d,
            Err(_) => {
                let (dir, name, _) =
                    vfs::resolve_parent(v, &root, &root, path).map_err(setup("mountpoint"))?;
                dir.inode
                    .mkdir(&name, 0o755, 0, 0)
                    .map_err(setup("mkdir mountpoint"))?;
                vfs::resolve(v, &root, &root, path, true).map_err(setup("mountpoint"))?
            }
        };
        let fs = match fstype {
            "proc" => crate::procfs::new_procfs(),
            "devtmpfs" => vfs::devfs::new_devfs().map_err(setup("devfs"))?,
            "devpts" => vfs::devpts::new_devpts(),
            "tmpfs" => vfs::tmpfs::Tmpfs::new_root(0o1777),
            "sysfs" => crate::sysfs::new_sysfs(),
            _ => vfs::tmpfs::Tmpfs::new_root(0o555),
        };
        let source = if fstype == "devtmpfs" {
            "devtmpfs"
        } else {
            fstype
        };
        v.mount(&at, fs, source, fstype, "rw,nosuid")
            .map_err(setup("mount"))?;
    }
    Ok(())
}

/// Finds `cmd` the way execvp does when it has no slash.
fn find_program(
    v: &Arc<Vfs>,
    fs: &FsContext,
    cmd: &[u8],
    envp: &[Vec<u8>],
) -> Result<Vec<u8>, BootError> {
    let err = |errno| BootError::Exec {
        cmd: String::from_utf8_lossy(cmd).into_owned(),
        errno,
    };
    if cmd.is_empty() {
        return Err(err(Errno::ENOENT));
    }
    let candidates: Vec<Vec<u8>> = if cmd.contains(&b'/') {
        vec![cmd.to_vec()]
    } else {
        let path = envp
            .iter()
            .find_map(|e| e.strip_prefix(b"PATH="))
            .map(<[u8]>::to_vec)
            .unwrap_or_else(|| {
                b"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_vec()
            });
        path.split(|&c| c == b':')
            .filter(|d| !d.is_empty())
            .map(|d| [d, b"/", cmd].concat())
            .collect()
    };
    let mut last = Errno::ENOENT;
    for c in candidates {
        match vfs::resolve(v, &fs.root, &fs.cwd, &c, true).and_then(|d| d.inode.stat()) {
            Ok(st) if st.mode & libc::S_IFMT == libc::S_IFDIR => last = Errno::EACCES,
            Ok(st) if st.mode & 0o111 == 0 || st.mode & libc::S_IFMT != libc::S_IFREG => {
                last = Errno::EACCES
            }
            Ok(_) => return Ok(c),
            Err(e) => {
                if last != Errno::EACCES {
                    last = e;
                }
            }
        }
    }
    Err(err(last))
}

/// Runs a sandbox to completion and returns how its first process ended.
pub fn boot(cfg: BootConfig) -> Result<ExitStatus, BootError> {
    crate::console::block_host_winch();
    let memfile = MemoryFile::init().map_err(setup("memory file"))?;
    let platform =
        platform::ptrace::PtracePlatform::init(memfile.raw_fd()).map_err(setup("platform"))?;
    let client = Arc::new(gofer::Client::new(cfg.gofer));
    let root = vfs::tmpfs::overlay_root(client).map_err(setup("root filesystem"))?;
    let v = Vfs::new(root);
    mount_filesystems(&v)?;
    let k = Kernel::init(Kernel::new(v.clone(), platform, cfg.strace));
    crate::procfs::init_host_info();
    // After confinement a backtrace cannot be symbolised (no files), and
    // trying would trip the seccomp filter: report panics plainly.
    if cfg.confine {
        std::panic::set_hook(Box::new(|info| tracing::error!("sentry panic: {info}")));
    }
    if cfg.confine {
        crate::confine::confine().map_err(setup("confinement"))?;
    }

    let mut fs = FsContext::new(&v);
    if let Ok(d) = vfs::resolve(&v, &fs.root, &fs.root, &cfg.cwd, true) {
        if d.is_dir() {
            fs.cwd = d;
        }
    }
    let prog = find_program(
        &v,
        &fs,
        cfg.argv.first().map(Vec::as_slice).unwrap_or_default(),
        &cfg.envp,
    )?;

    let fds = Arc::new(FdTable::new());
    let [i, o, e] = cfg.stdio;
    // On a terminal the application gets a pty of its own.
    let (console, stdio) = if crate::console::is_terminal(&i) && crate::console::is_terminal(&o) {
        let (c, slave) = crate::console::Console::open(&i).map_err(setup("console"))?;
        let file = OpenFile::new(None, slave, libc::O_RDWR);
        for n in 0..3 {
            fds.install_at(n, file.clone(), false)
                .map_err(setup("stdio"))?;
        }
        (Some((c, i, o)), Vec::new())
    } else {
        (None, vec![(0, i), (1, o), (2, e)])
    };
    for (n, fd) in stdio {
        // SAFETY: F_GETFL on an fd we own.
        let fl = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) };
        let acc = if fl < 0 {
            libc::O_RDWR
        } else {
            fl & libc::O_ACCMODE
        };
        let file = OpenFile::new(None, vfs::host_file::HostFile::new(fd), acc);
        fds.install_at(n, file, false).map_err(setup("stdio"))?;
    }
    // SAFETY: plain getters.
    let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
    let creds = Creds {
        uid,
        euid: uid,
        suid: uid,
        fsuid: uid,
        gid,
        egid: gid,
        sgid: gid,
        fsgid: gid,
        groups: Vec::new(),
        ..Creds::default()
    };
    let creds = crate::syscalls::caps::initial(creds);
    let pid = k.alloc_pid().map_err(setup("pid"))?;
    let mm = Arc::new(MemoryManager::new(platform.kept_ranges()));
    let tg = ThreadGroup::new(
        pid,
        Default::default(),
        pid,
        pid,
        mm,
        fds,
        fs,
        SigHandlers::default(),
        creds,
        None,
    );
    let task = Task::new(pid, tg.clone(), SigSet::default(), b"init".to_vec());
    k.register(&task);
    let console = match console {
        Some((c, host_in, host_out)) => {
            c.tty.set_session(pid, pid);
            lock(&tg.state).ctty = Some(c.tty.clone());
            c.relay(host_in, host_out).map_err(setup("console relay"))?;
            Some(c)
        }
        None => None,
    };
    let (argv, envp) = (cfg.argv, cfg.envp);
    let exec = Box::new(move |t: &mut crate::kernel::ctx::TaskCtx| {
        crate::loader::exec(t, &prog, argv, envp)
    });
    spawn(task, Start::Fresh, Some(exec)).map_err(setup("start init"))?;

    // Wait for init to end.
    let waker = crate::kernel::wait::Waker::new();
    let _reg = k.exit_wq.register(&waker);
    loop {
        let seq = waker.seq();
        {
            let s = lock(&tg.state);
            if let (true, Some(st)) = (s.zombie, s.exit) {
                if let Some(c) = &console {
                    c.drain();
                }
                return Ok(st);
            }
        }
        waker.wait(seq, None);
    }
}

/// The environment of the sentry process, which is the application's.
pub fn environ() -> Vec<Vec<u8>> {
    std::env::vars_os()
        .map(|(k, v)| {
            let mut e: OsString = k;
            e.push("=");
            e.push(v);
            e.into_vec()
        })
        .collect()
}

/// The kernel, for callers outside the crate that need it after boot.
pub fn booted() -> &'static Kernel {
    kernel()
}
