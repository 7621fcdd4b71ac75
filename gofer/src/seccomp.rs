//! The gofer's seccomp allowlist: every host call it may make once serving.

use std::collections::BTreeMap;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch,
};

use crate::GoferError;

/// Each allowed host syscall, the only value its second argument may have
/// (`None`: any), and why the gofer needs it. Anything else kills the
/// process.
#[rustfmt::skip]
const ALLOWED: &[(libc::c_long, Option<libc::c_int>, &str)] = &[
    (libc::SYS_recvmsg, None, "receive a request"),
    (libc::SYS_sendmsg, None, "send a reply, with SCM_RIGHTS for open"),
    (libc::SYS_openat, None, "walk (O_PATH|O_NOFOLLOW), open and readdir"),
    (libc::SYS_newfstatat, None, "fstat via glibc (fstatat with AT_EMPTY_PATH)"),
    (libc::SYS_fstat, None, "fstat on older glibc"),
    (libc::SYS_getdents64, None, "readdir"),
    (libc::SYS_lseek, None, "seek a directory to a readdir cookie"),
    (libc::SYS_readlinkat, None, "readlink"),
    (libc::SYS_fstatfs, None, "statfs"),
    (libc::SYS_fgetxattr, None, "getxattr, on a file or directory reopened read-only"),
    (libc::SYS_flistxattr, None, "listxattr, on a file or directory reopened read-only"),
    (libc::SYS_fcntl, Some(libc::F_GETFD), "std's debug-build check that an OwnedFd is open"),
    (libc::SYS_close, None, "drop fds of closed handles and donated fds"),
    (libc::SYS_write, None, "log to stderr"),
    (libc::SYS_mmap, None, "allocator"),
    (libc::SYS_munmap, None, "allocator"),
    (libc::SYS_mremap, None, "allocator"),
    (libc::SYS_madvise, None, "allocator"),
    (libc::SYS_mprotect, None, "allocator: glibc grows non-main arenas"),
    (libc::SYS_brk, None, "allocator"),
    (libc::SYS_futex, None, "std Mutex/Once (e.g. the stderr lock)"),
    (libc::SYS_rt_sigprocmask, None, "signal masking in libc"),
    (libc::SYS_rt_sigreturn, None, "return from a signal handler"),
    (libc::SYS_sigaltstack, None, "std's stack-overflow handler at thread exit"),
    (libc::SYS_exit, None, "thread exit"),
    (libc::SYS_exit_group, None, "process exit"),
];

/// Installs the allowlist on every thread of the process (TSYNC).
pub fn install_seccomp() -> Result<(), GoferError> {
    let err = |e: &dyn std::fmt::Display| GoferError::Protocol(format!("seccomp: {e}"));
    let mut rules = BTreeMap::new();
    for &(nr, arg1, _) in ALLOWED {
        let rule = match arg1 {
            None => vec![],
            Some(v) => {
                let v = u64::try_from(v).map_err(|e| err(&e))?;
                let cond = SeccompCondition::new(1, SeccompCmpArgLen::Dword, SeccompCmpOp::Eq, v);
                vec![SeccompRule::new(vec![cond.map_err(|e| err(&e))?]).map_err(|e| err(&e))?]
            }
        };
        rules.insert(nr, rule);
    }
    let arch = TargetArch::try_from(std::env::consts::ARCH).map_err(|e| err(&e))?;
    let filter = SeccompFilter::new(
        rules,
        SeccompAction::KillProcess,
        SeccompAction::Allow,
        arch,
    )
    .map_err(|e| err(&e))?;
    let prog: BpfProgram = filter
        .try_into()
        .map_err(|e: seccompiler::BackendError| err(&e))?;
    seccompiler::apply_filter_all_threads(&prog).map_err(|e| err(&e))?;
    Ok(())
}
