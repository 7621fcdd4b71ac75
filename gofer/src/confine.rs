//! Shutting the gofer into the container's rootfs before it serves.

use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use nix::fcntl::OFlag;
use nix::sys::stat::Mode;

use crate::GoferError;

/// Opens the rootfs as an `O_PATH|O_DIRECTORY` fd, the anchor of every walk.
pub fn open_root(path: &Path) -> Result<OwnedFd, GoferError> {
    let flags = OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
    let raw = nix::fcntl::open(path, flags, Mode::empty())?;
    // SAFETY: open just returned this fd; nothing else owns it.
    Ok(unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(raw) })
}

/// Enters private mount/IPC/UTS namespaces, chroots into `root_path`, keeps
/// only CAP_DAC_READ_SEARCH and sets `no_new_privs`. Needs CAP_SYS_ADMIN,
/// CAP_SYS_CHROOT and CAP_SETPCAP; must run before
/// [`install_seccomp`](crate::install_seccomp), which forbids all of these
/// calls.
pub fn confine(root_path: &Path) -> Result<(), GoferError> {
    crate::enter_private_namespaces()?;
    // Serving is opening, reading and listing files of any owner and mode
    // read-only: DAC_READ_SEARCH covers all of it. Without DAC_OVERRIDE
    // nothing can be opened for writing or executed even by a bug, and
    // without SYS_ADMIN trusted.* attributes stay hidden, as they are from
    // an unprivileged reader.
    crate::shut_in(root_path, 1 << crate::CAP_DAC_READ_SEARCH)?;
    Ok(())
}

/// Opens the root, confines the process, installs the seccomp filter and
/// serves `sock` until the sentry hangs up.
pub fn run(sock: OwnedFd, root_path: &Path) -> Result<(), GoferError> {
    let root = open_root(root_path)?;
    confine(root_path)?;
    crate::install_seccomp()?;
    tracing::debug!(root = ?root.as_fd(), "gofer serving");
    crate::serve(sock, root)
}
