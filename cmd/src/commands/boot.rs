//! `rvisor boot`: the sentry of one sandbox (started by `do`/`create`).

use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;

use anyhow::{anyhow, Result};

#[derive(Debug, clap::Args)]
pub struct BootArgs {
    /// Inherited socket connected to the gofer.
    #[arg(long)]
    pub gofer_fd: i32,
    /// Working directory inside the sandbox.
    #[arg(long, default_value = "/")]
    pub cwd: std::path::PathBuf,
    /// The command to run.
    #[arg(last = true, required = true)]
    pub argv: Vec<std::ffi::OsString>,
}

pub fn run(a: BootArgs, strace: bool) -> Result<i32> {
    // SAFETY: the parent passed this fd to us for our exclusive use.
    let gofer = unsafe { OwnedFd::from_raw_fd(a.gofer_fd) };
    let dup = |fd: i32| -> Result<OwnedFd> {
        let d = nix::unistd::dup(fd).map_err(|e| anyhow!("stdio fd {fd}: {e}"))?;
        // SAFETY: dup just returned this fd to us.
        Ok(unsafe { OwnedFd::from_raw_fd(d) })
    };
    let cfg = sentry::BootConfig {
        gofer,
        argv: a.argv.iter().map(|s| s.as_bytes().to_vec()).collect(),
        envp: sentry::environ(),
        cwd: a.cwd.as_os_str().as_bytes().to_vec(),
        stdio: [dup(0)?, dup(1)?, dup(2)?],
        strace,
        confine: true,
    };
    match sentry::boot(cfg) {
        Ok(status) => Ok(status.shell_code()),
        // Like a shell: 127 for a command that is not there, 126 for one
        // that cannot be run.
        Err(e @ sentry::BootError::Exec { errno, .. }) => {
            eprintln!("rvisor: {e}");
            Ok(if errno == nix::errno::Errno::ENOENT {
                127
            } else {
                126
            })
        }
        Err(e) => Err(e.into()),
    }
}
