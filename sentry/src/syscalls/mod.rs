//! The system call table and dispatcher.
//!
//! Every amd64 number has a slot in [`table::entry`]: a handler, or the
//! errno Linux would give a program we do not support yet (ENOSYS). A
//! handler gets validated arguments through [`Args`] and returns a
//! [`SysResult`].

mod attr;
pub mod caps;
mod copy;
mod cred;
mod dir;
mod epoll;
mod eventfd;
mod exec;
pub mod fd;
mod fhandle;
pub mod futex;
pub mod futex_pi;
mod inet;
pub mod info;
mod inotify;
mod limits;
mod memfd;
mod mmap;
pub mod mqueue;
pub mod names;
mod open;
pub mod path;
mod pidfd;
mod poll;
mod posix_timer;
mod process;
pub mod rusage;
mod sched;
mod sendfile;
mod signal;
mod signalfd;
mod socket;
mod splice;
mod stat;
mod sysv;
mod table;
mod time;
mod timerfd;
mod tty;
mod xattr;

use std::sync::Mutex;
use std::time::Instant;

use nix::errno::Errno;
use platform::regs::SyscallRegs;
use platform::Context;

use crate::kernel::ctx::TaskCtx;
use crate::kernel::run::{group_exit, LoopState, Restart};
use crate::kernel::task::ExitStatus;

/// What a handler produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyscallReturn {
    /// An ordinary return value.
    Value(u64),
    /// The handler set the registers itself (execve, rt_sigreturn).
    NoReturn,
    /// The calling thread ends (exit); the group too if `group`.
    Exit { status: ExitStatus, group: bool },
}

pub type SysResult = Result<SyscallReturn, Errno>;

/// An ordinary successful result.
pub fn ok<T: TryInto<u64>>(v: T) -> SysResult {
    Ok(SyscallReturn::Value(v.try_into().unwrap_or(0)))
}

/// A negative-capable result (e.g. a returned pid or an offset).
pub fn ok_i64(v: i64) -> SysResult {
    #[allow(
        clippy::cast_sign_loss,
        reason = "the register holds the two's complement"
    )]
    Ok(SyscallReturn::Value(v as u64))
}

pub type Handler = fn(&mut TaskCtx, &Args) -> SysResult;

/// The six raw argument registers, with typed accessors that apply the
/// conversions Linux applies (an `int` argument is the low 32 bits).
#[derive(Debug, Clone, Copy)]
pub struct Args {
    pub nr: u64,
    pub raw: [u64; 6],
}

impl Args {
    pub fn u64(&self, i: usize) -> u64 {
        self.raw[i]
    }
    /// An `int` argument.
    #[allow(
        clippy::cast_possible_truncation,
        reason = "Linux uses the low 32 bits of int arguments"
    )]
    pub fn i32(&self, i: usize) -> i32 {
        self.raw[i] as u32 as i32
    }
    /// An `unsigned int` argument.
    #[allow(
        clippy::cast_possible_truncation,
        reason = "Linux uses the low 32 bits of int arguments"
    )]
    pub fn u32(&self, i: usize) -> u32 {
        self.raw[i] as u32
    }
    /// A `long` argument.
    #[allow(
        clippy::cast_possible_wrap,
        reason = "a long is the register's two's complement"
    )]
    pub fn i64(&self, i: usize) -> i64 {
        self.raw[i] as i64
    }
    /// A `size_t` argument, as usize.
    pub fn usize(&self, i: usize) -> usize {
        usize::try_from(self.raw[i]).unwrap_or(usize::MAX)
    }
    /// A file descriptor argument: negative values are EBADF.
    pub fn fd(&self, i: usize) -> Result<i32, Errno> {
        let fd = self.i32(i);
        if fd < 0 {
            Err(Errno::EBADF)
        } else {
            Ok(fd)
        }
    }
}

/// Names already reported as unimplemented (each is logged once).
static REPORTED: Mutex<Vec<u64>> = Mutex::new(Vec::new());

/// Handles the system call the thread just stopped at.
pub fn dispatch(t: &mut TaskCtx, st: &mut LoopState) {
    let regs = *t.ctx.regs();
    let nr = regs.sysno();
    let args = Args {
        nr,
        raw: [
            regs.arg(0),
            regs.arg(1),
            regs.arg(2),
            regs.arg(3),
            regs.arg(4),
            regs.arg(5),
        ],
    };
    let name = usize::try_from(nr)
        .ok()
        .and_then(|n| names::NAMES.get(n))
        .copied()
        .unwrap_or("unknown");
    let strace = t.kernel().strace;
    let started = strace.then(Instant::now);
    let result = match table::entry(nr) {
        // A panic in a handler is a sentry bug; it must cost the
        // application, not the sandbox.
        Some(h) => match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| h(t, &args))) {
            Ok(r) => r,
            Err(_) => {
                tracing::error!("sentry bug: {name} ({nr}) panicked; killing the process");
                Ok(SyscallReturn::Exit {
                    status: ExitStatus::Signaled {
                        sig: libc::SIGKILL,
                        core: false,
                    },
                    group: true,
                })
            }
        },
        None => {
            let mut r = REPORTED.lock().unwrap_or_else(|e| e.into_inner());
            if !r.contains(&nr) {
                r.push(nr);
                tracing::info!("unimplemented syscall {name} ({nr}) -> ENOSYS");
            }
            Err(Errno::ENOSYS)
        }
    };
    if let Some(s) = started {
        crate::strace::log(t, name, &args, &result, s.elapsed());
    }
    match result {
        Ok(SyscallReturn::Value(v)) => t.ctx.regs_mut().set_return(v),
        Ok(SyscallReturn::NoReturn) => {}
        Ok(SyscallReturn::Exit { status, group }) => {
            if group {
                group_exit(&t.task, status);
            }
            st.exited = Some(status);
        }
        Err(e) => {
            if e == Errno::EINTR {
                st.restart = if futex_pi::restarts_always(&args) {
                    Some(Restart::NoIntr)
                } else {
                    restart_policy(nr)
                };
            }
            #[allow(clippy::cast_sign_loss, reason = "the register holds -errno")]
            t.ctx.regs_mut().set_return(-(e as i64) as u64);
        }
    }
}

/// Which EINTRs turn into restarts when no handler (or an SA_RESTART
/// handler) runs, as Linux's ERESTART* codes do.
fn restart_policy(nr: u64) -> Option<Restart> {
    #[allow(clippy::cast_possible_wrap, reason = "syscall numbers are small")]
    match nr as i64 {
        libc::SYS_poll
        | libc::SYS_ppoll
        | libc::SYS_select
        | libc::SYS_pselect6
        | libc::SYS_pause
        | libc::SYS_rt_sigsuspend
        | libc::SYS_nanosleep
        | libc::SYS_clock_nanosleep
        | libc::SYS_msgsnd
        | libc::SYS_msgrcv => Some(Restart::NoHand),
        libc::SYS_epoll_wait
        | libc::SYS_epoll_pwait
        | libc::SYS_epoll_pwait2
        | libc::SYS_rt_sigtimedwait
        // semop's EINTR is never restarted (signal(7)).
        | libc::SYS_semop
        | libc::SYS_semtimedop => None,
        _ => Some(Restart::Sys),
    }
}

/// The syscall table as Markdown: every amd64 number, its name, and
/// whether the sentry implements it or answers ENOSYS.
pub fn table_markdown() -> String {
    let mut s = String::from(
        "# System calls\n\nGenerated from `sentry/src/syscalls/table.rs` by the test \
         `syscalls::tests::docs_table_is_current` (run it with `RVISOR_WRITE_DOCS=1` to refresh).\n\
         Every amd64 number has a row; numbers 335–423 are unused on amd64.\n\n\
         | nr | name | status |\n|---|---|---|\n",
    );
    for (nr, name) in names::NAMES.iter().enumerate() {
        if *name == "unused" {
            continue;
        }
        let implemented = table::entry(nr as u64).is_some();
        let status = if implemented { "implemented" } else { "ENOSYS" };
        s.push_str(&format!("| {nr} | {name} | {status} |\n"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_implemented_number_has_a_name() {
        for (nr, name) in (0u64..).zip(names::NAMES.iter()) {
            if table::entry(nr).is_some() {
                assert_ne!(*name, "unused", "handler for unnamed number {nr}");
            }
        }
        assert!(table::entry(names::MAX_NR as u64 + 1).is_none());
    }

    #[test]
    fn docs_table_is_current() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/syscalls.md");
        let want = table_markdown();
        if std::env::var_os("RVISOR_WRITE_DOCS").is_some() {
            std::fs::write(&path, &want).expect("write docs/syscalls.md");
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            have == want,
            "docs/syscalls.md is stale: run RVISOR_WRITE_DOCS=1 cargo test -p sentry docs_table"
        );
    }
}
