//! `rvisor do`: run one command in a fresh sandbox.
//!
//! Starts a gofer serving the root (read-only), then the sentry in new
//! pid/mount/ipc/uts namespaces, and returns the command's exit status.

use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::Command;

use anyhow::{bail, Context, Result};
use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};

#[derive(Debug, clap::Args)]
pub struct DoArgs {
    /// Root directory of the sandbox (read-only; writes stay in memory).
    #[arg(long, default_value = "/")]
    pub rootfs: PathBuf,
    /// Network for the sandbox (only "none" for now).
    #[arg(long, default_value = "none", value_parser = ["none"])]
    pub network: String,
    /// The command and its arguments.
    #[arg(last = true)]
    pub argv: Vec<std::ffi::OsString>,
}

fn inheritable(fd: &OwnedFd) -> Result<()> {
    nix::fcntl::fcntl(
        fd.as_raw_fd(),
        nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::empty()),
    )
    .context("clearing close-on-exec")?;
    Ok(())
}

pub fn run(a: DoArgs, strace: bool, debug: bool) -> Result<i32> {
    if a.argv.is_empty() {
        bail!("do: no command given (rvisor do [--rootfs DIR] -- CMD ARGS...)");
    }
    let meta =
        std::fs::metadata(&a.rootfs).with_context(|| format!("--rootfs {}", a.rootfs.display()))?;
    if !meta.is_dir() {
        bail!("--rootfs {}: not a directory", a.rootfs.display());
    }
    let exe = std::env::current_exe().context("finding the rvisor binary")?;
    let (sentry_end, gofer_end) = socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .context("gofer socketpair")?;
    inheritable(&gofer_end)?;
    let mut gofer = Command::new(&exe)
        .arg("gofer")
        .arg("--root")
        .arg(&a.rootfs)
        .arg("--fd")
        .arg(gofer_end.as_raw_fd().to_string())
        .stdin(std::process::Stdio::null())
        .spawn()
        .context("starting the gofer")?;
    drop(gofer_end);

    inheritable(&sentry_end)?;
    let cwd = std::env::current_dir().unwrap_or_else(|_| "/".into());
    let mut cmd = Command::new(&exe);
    if strace {
        cmd.arg("--strace");
    }
    if debug {
        cmd.arg("--debug");
    }
    cmd.arg("boot")
        .arg("--gofer-fd")
        .arg(sentry_end.as_raw_fd().to_string())
        .arg("--cwd")
        .arg(&cwd)
        .arg("--");
    cmd.args(&a.argv);
    // The sentry is pid 1 of a new pid namespace: unshare it here so the
    // next child is born into it.
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWPID).context("new pid namespace")?;
    // SAFETY: the pre_exec hook only makes async-signal-safe system calls.
    unsafe {
        cmd.pre_exec(|| {
            // The sandbox must not outlive whoever ran it.
            nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)
                .map_err(std::io::Error::from)?;
            nix::sched::unshare(
                nix::sched::CloneFlags::CLONE_NEWNS
                    | nix::sched::CloneFlags::CLONE_NEWIPC
                    | nix::sched::CloneFlags::CLONE_NEWUTS,
            )
            .map_err(std::io::Error::from)?;
            Ok(())
        });
    }
    // On a terminal the sentry switches it to raw mode for the sandbox's
    // own pty; whatever happens to the sentry, give the user theirs back.
    let saved_tty = nix::sys::termios::tcgetattr(std::io::stdin()).ok();
    let status = cmd.status().context("starting the sentry");
    if let Some(t) = saved_tty {
        let _ =
            nix::sys::termios::tcsetattr(std::io::stdin(), nix::sys::termios::SetArg::TCSANOW, &t);
    }
    let status = status?;
    drop(sentry_end);
    let _ = gofer.kill();
    let _ = gofer.wait();
    if let Some(code) = status.code() {
        return Ok(code);
    }
    let sig = status.signal().unwrap_or(0);
    eprintln!("rvisor: sentry killed by signal {sig}");
    Ok(128 + sig)
}
