//! The confinement steps both rvisor processes take once set up:
//! private namespaces, a new root, fewer capabilities, no_new_privs (the
//! sentry keeps no capability, the gofer only what reading the root
//! requires). They live here because the sentry already depends on this
//! crate and nothing else is shared by the two.

use std::path::Path;

use nix::errno::Errno;
use nix::mount::{mount, MsFlags};
use nix::sched::{unshare, CloneFlags};

/// Which confinement step failed, and why.
#[derive(Debug, thiserror::Error)]
#[error("{step}: {errno}")]
pub struct ConfineError {
    pub step: &'static str,
    pub errno: Errno,
}

fn step(step: &'static str) -> impl FnOnce(Errno) -> ConfineError {
    move |errno| ConfineError { step, errno }
}

/// Moves the process into new mount, IPC and UTS namespaces whose mounts
/// are private, so nothing it mounts from here on reaches the host.
/// Needs CAP_SYS_ADMIN.
pub fn enter_private_namespaces() -> Result<(), ConfineError> {
    unshare(CloneFlags::CLONE_NEWNS | CloneFlags::CLONE_NEWIPC | CloneFlags::CLONE_NEWUTS)
        .map_err(step("unshare"))?;
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .map_err(step("make mounts private"))
}

/// Makes `root` the process's root and working directory, keeps only the
/// capabilities in `keep` (see [`keep_only_capabilities`]) and sets
/// no_new_privs: the last steps before a seccomp filter, which forbids
/// all of these calls. Needs CAP_SYS_CHROOT and CAP_SETPCAP.
pub fn shut_in(root: &Path, keep: u64) -> Result<(), ConfineError> {
    nix::unistd::chroot(root).map_err(step("chroot"))?;
    nix::unistd::chdir("/").map_err(step("chdir"))?;
    keep_only_capabilities(keep).map_err(step("drop capabilities"))?;
    nix::sys::prctl::set_no_new_privs().map_err(step("no_new_privs"))
}

/// Bypasses read permission on files and read/search permission on
/// directories: all a read-only server of someone else's tree needs.
pub const CAP_DAC_READ_SEARCH: u32 = 2;

const CAPABILITY_VERSION_3: u32 = 0x2008_0522;
/// Ambient capabilities arrived in Linux 4.3; older kernels answer EINVAL.
const PR_CAP_AMBIENT_CLEAR_ALL: libc::c_ulong = 4;

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

/// One 32-bit half of the three sets (version 3 passes two of them).
#[repr(C)]
#[derive(Default, Clone, Copy)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// Leaves the calling thread with only the capabilities in `keep` (a mask
/// of `1 << CAP_*`) in its effective, permitted and bounding sets, none
/// inheritable and none ambient. A capability in `keep` that is not
/// permitted now stays absent.
///
/// Must run before a seccomp filter that forbids prctl and capset, and
/// while the process has one thread: capset changes only the caller.
fn keep_only_capabilities(keep: u64) -> Result<(), Errno> {
    // The bounding set first: dropping from it needs CAP_SETPCAP, which
    // the capset below takes away.
    for cap in 0..64u32 {
        if keep & (1 << cap) != 0 {
            continue;
        }
        // SAFETY: PR_CAPBSET_DROP takes integers only.
        if unsafe { libc::prctl(libc::PR_CAPBSET_DROP, libc::c_ulong::from(cap), 0, 0, 0) } != 0 {
            match Errno::last() {
                Errno::EINVAL => break, // past the kernel's last capability
                e => return Err(e),
            }
        }
    }
    // SAFETY: PR_CAP_AMBIENT takes integers only.
    if unsafe { libc::prctl(libc::PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) } != 0 {
        match Errno::last() {
            Errno::EINVAL => {}
            e => return Err(e),
        }
    }
    let mut hdr = CapHeader {
        version: CAPABILITY_VERSION_3,
        pid: 0,
    };
    let mut data = [CapData::default(); 2];
    // SAFETY: capget reads a version 3 header and writes two data structs,
    // all owned by this frame.
    let r = unsafe {
        libc::syscall(
            libc::SYS_capget,
            &mut hdr as *mut CapHeader,
            data.as_mut_ptr(),
        )
    };
    if r != 0 {
        return Err(Errno::last());
    }
    let halves = [keep, keep >> 32];
    for (d, &half) in data.iter_mut().zip(halves.iter()) {
        #[allow(
            clippy::cast_possible_truncation,
            reason = "one 32-bit half of the mask"
        )]
        let half = half as u32;
        d.permitted &= half;
        d.effective = d.permitted;
        d.inheritable = 0;
    }
    // SAFETY: capset reads a version 3 header and two data structs, all
    // owned by this frame.
    let r = unsafe { libc::syscall(libc::SYS_capset, &mut hdr as *mut CapHeader, data.as_ptr()) };
    if r != 0 {
        return Err(Errno::last());
    }
    Ok(())
}
