//! `rvisor gofer`: serves one sandbox's root filesystem.

use std::os::fd::{FromRawFd, OwnedFd};
use std::path::PathBuf;

use anyhow::{Context, Result};

#[derive(Debug, clap::Args)]
pub struct GoferArgs {
    /// Directory to serve as the sandbox root.
    #[arg(long)]
    pub root: PathBuf,
    /// Inherited socket connected to the sentry.
    #[arg(long)]
    pub fd: i32,
}

pub fn run(a: GoferArgs) -> Result<i32> {
    // SAFETY: the parent passed this fd to us for our exclusive use.
    let sock = unsafe { OwnedFd::from_raw_fd(a.fd) };
    gofer::run(sock, &a.root).with_context(|| format!("gofer for {}", a.root.display()))?;
    Ok(0)
}
