//! Confining the sentry once it is set up: it ends in an empty root, with
//! no capabilities, under a seccomp allowlist of the host calls it needs.

use std::collections::BTreeMap;

use nix::mount::{mount, MsFlags};
use seccompiler::{BpfProgram, SeccompAction, SeccompFilter, TargetArch};

/// Every host system call the sentry may make after set-up, with why.
/// Stubs are forked from the sentry and inherit this filter, so the calls
/// a stub makes while it sets itself up are here too.
pub const SENTRY_SYSCALLS: &[(i64, &str)] = &[
    (libc::SYS_read, "host fds: stdio, gofer-donated files"),
    (libc::SYS_write, "host fds: stdio; logging"),
    (libc::SYS_readv, "host fds"),
    (libc::SYS_writev, "host fds; logging"),
    (libc::SYS_pread64, "gofer-donated files"),
    (libc::SYS_pwrite64, "host files"),
    (libc::SYS_close, "dropping host fds"),
    (libc::SYS_fstat, "host fds"),
    (libc::SYS_lseek, "host fds"),
    (libc::SYS_fcntl, "host fd flags"),
    (
        libc::SYS_ioctl,
        "terminal queries on the caller's stdio (TCGETS, TIOCGWINSZ, FIONREAD)",
    ),
    (libc::SYS_poll, "readiness of host fds"),
    (libc::SYS_ppoll, "readiness of host fds"),
    (libc::SYS_mmap, "sentry heap and thread stacks"),
    (libc::SYS_munmap, "sentry heap; stub start-up"),
    (libc::SYS_mprotect, "sentry heap, thread stack guards"),
    (libc::SYS_mremap, "sentry heap"),
    (libc::SYS_madvise, "sentry heap"),
    (libc::SYS_brk, "sentry heap"),
    (libc::SYS_fallocate, "releasing memory-file pages"),
    (libc::SYS_rt_sigaction, "runtime signal set-up"),
    (libc::SYS_rt_sigprocmask, "runtime signal masks"),
    (libc::SYS_rt_sigreturn, "runtime signal handlers"),
    (
        libc::SYS_rt_sigtimedwait,
        "console: waiting for the host terminal's SIGWINCH",
    ),
    (libc::SYS_sigaltstack, "runtime signal stacks"),
    (libc::SYS_clone, "task threads; forking stubs"),
    (libc::SYS_clone3, "task threads (glibc pthread_create)"),
    (libc::SYS_fork, "forking stubs"),
    (libc::SYS_set_robust_list, "new threads"),
    (
        libc::SYS_rseq,
        "new threads; stubs undoing the inherited registration",
    ),
    (libc::SYS_exit, "thread exit"),
    (libc::SYS_pause, "new stub threads waiting for their tracer"),
    (libc::SYS_exit_group, "sentry exit"),
    (libc::SYS_futex, "locks and condition variables"),
    (libc::SYS_sched_yield, "sched_yield for the application"),
    (libc::SYS_sched_getaffinity, "CPU count"),
    (
        libc::SYS_sched_setaffinity,
        "keeping stubs on their tracer's CPU",
    ),
    (libc::SYS_getcpu, "which CPU the tracer runs on"),
    (libc::SYS_getpid, "runtime; stub start-up stop"),
    (libc::SYS_gettid, "runtime"),
    (libc::SYS_getuid, "runtime"),
    (libc::SYS_getgid, "runtime"),
    (libc::SYS_kill, "killing stubs; stub start-up stop"),
    (libc::SYS_tgkill, "interrupting a running stub thread"),
    (libc::SYS_wait4, "stub stops and exits"),
    (libc::SYS_ptrace, "the ptrace platform"),
    (
        libc::SYS_prctl,
        "stub start-up (death signal, no_new_privs), thread names",
    ),
    (libc::SYS_seccomp, "stub start-up: the stub filter"),
    (
        libc::SYS_close_range,
        "stub start-up: dropping inherited fds",
    ),
    (libc::SYS_getrandom, "AT_RANDOM, getrandom, /dev/urandom"),
    (libc::SYS_clock_gettime, "clocks (when the vDSO falls back)"),
    (libc::SYS_clock_getres, "clocks"),
    (libc::SYS_nanosleep, "runtime sleeps"),
    (libc::SYS_clock_nanosleep, "timed waits"),
    (libc::SYS_sendmsg, "gofer requests"),
    (libc::SYS_recvmsg, "gofer replies and donated fds"),
    (
        libc::SYS_sysinfo,
        "memory figures for sysinfo and /proc/meminfo",
    ),
    (libc::SYS_uname, "runtime"),
    (libc::SYS_statx, "runtime fstat of host fds"),
    (libc::SYS_newfstatat, "runtime fstat of host fds"),
    (libc::SYS_openat, "glibc malloc probes /proc/sys/vm/overcommit_memory when trimming a thread arena; DENIED_WITH_ENOENT answers it"),
];

/// Calls the allowlist lets through only to have them fail: a second
/// filter turns them into ENOENT, so nothing is ever opened.
const DENIED_WITH_ENOENT: &[i64] = &[libc::SYS_openat];

fn install_seccomp() -> Result<(), String> {
    let rules = SENTRY_SYSCALLS
        .iter()
        .map(|(nr, _)| (*nr, vec![]))
        .collect::<BTreeMap<_, _>>();
    let filter = SeccompFilter::new(
        rules,
        SeccompAction::KillProcess,
        SeccompAction::Allow,
        TargetArch::x86_64,
    )
    .map_err(|e| e.to_string())?;
    let prog: BpfProgram = filter
        .try_into()
        .map_err(|e: seccompiler::BackendError| e.to_string())?;
    let deny = DENIED_WITH_ENOENT
        .iter()
        .map(|nr| (*nr, vec![]))
        .collect::<BTreeMap<_, _>>();
    #[allow(clippy::cast_sign_loss, reason = "ENOENT is positive")]
    let deny = SeccompFilter::new(
        deny,
        SeccompAction::Allow,
        SeccompAction::Errno(libc::ENOENT as u32),
        TargetArch::x86_64,
    )
    .map_err(|e| e.to_string())?;
    let deny: BpfProgram = deny
        .try_into()
        .map_err(|e: seccompiler::BackendError| e.to_string())?;
    seccompiler::apply_filter_all_threads(&prog).map_err(|e| e.to_string())?;
    // Filters stack and the stricter answer wins: openat gets ENOENT.
    seccompiler::apply_filter_all_threads(&deny).map_err(|e| e.to_string())
}

/// Moves the sentry into an empty root in private namespaces, drops every
/// capability and installs the seccomp allowlist.
pub fn confine() -> Result<(), String> {
    gofer::enter_private_namespaces().map_err(|e| e.to_string())?;
    mount(
        Some("none"),
        "/tmp",
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        Some("size=4k,mode=0500"),
    )
    .map_err(|e| format!("mount empty root: {e}"))?;
    gofer::shut_in(std::path::Path::new("/tmp"), 0).map_err(|e| e.to_string())?;
    install_seccomp()
}
