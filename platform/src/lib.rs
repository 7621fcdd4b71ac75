//! The platform: runs application threads and reports why they stopped.
//!
//! The platform knows nothing about what a system call means. It runs an
//! application thread until the thread makes a system call, faults, or
//! receives a signal, and it installs pieces of the sentry's memory file
//! into the application's host address space on the sentry's behalf.
//!
//! Only the ptrace platform exists today (`ptrace` module). In it, every
//! application address space is a *stub* process and every application
//! thread a thread of that stub, traced by exactly one sentry thread. All
//! operations on a stub must therefore be made from that sentry thread,
//! which is why address-space operations are methods of [`Context`].

pub mod error;
pub mod ptrace;
pub mod regs;

pub use error::PlatformError;
pub use regs::{FpState, Regs};

/// Why an application thread stopped running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// The thread executed a system call; the number and arguments are in
    /// the registers. It has not been executed by the host.
    Syscall,
    /// A memory access the host could not satisfy. `code` is the host's
    /// `si_code` (`SEGV_MAPERR`, `SEGV_ACCERR`, or a `BUS_*` code for SIGBUS).
    Fault { addr: u64, signo: i32, code: i32 },
    /// A synchronous signal the application caused (SIGFPE, SIGILL, SIGTRAP…).
    Signal(SignalInfo),
    /// Something outside the application interrupted it (the sentry asked for
    /// it to stop, e.g. to deliver a signal). Nothing happened to the thread.
    Interrupted,
}

/// The parts of a host `siginfo_t` that the sentry needs for synchronous
/// signals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignalInfo {
    pub signo: i32,
    pub code: i32,
    pub addr: u64,
}

/// Memory protection bits as the host understands them (`PROT_*`).
pub type Prot = i32;

/// An application thread, seen from the sentry thread that runs it.
pub trait Context {
    /// Runs the thread until it stops, with the registers in [`Context::regs_mut`].
    fn switch(&mut self) -> Result<Stop, PlatformError>;
    /// The thread's general-purpose registers as of the last stop.
    fn regs(&self) -> &Regs;
    /// Changes the registers the thread resumes with.
    fn regs_mut(&mut self) -> &mut Regs;
    /// Reads the thread's floating-point/vector state.
    fn fp_state(&mut self) -> Result<FpState, PlatformError>;
    /// Replaces the thread's floating-point/vector state.
    fn set_fp_state(&mut self, fp: &FpState) -> Result<(), PlatformError>;
    /// Maps `len` bytes of the memory file at `offset` at `addr` (MAP_FIXED).
    fn map(&mut self, addr: u64, len: u64, prot: Prot, offset: u64) -> Result<(), PlatformError>;
    /// Removes any host mapping in `[addr, addr+len)`.
    fn unmap(&mut self, addr: u64, len: u64) -> Result<(), PlatformError>;
    /// Changes the host protection of `[addr, addr+len)`.
    fn protect(&mut self, addr: u64, len: u64, prot: Prot) -> Result<(), PlatformError>;
    /// A handle other sentry threads can use to interrupt this thread.
    fn interrupter(&self) -> Interrupter;
}

/// Interrupts a running application thread from another sentry thread; the
/// thread's [`Context::switch`] then returns [`Stop::Interrupted`].
#[derive(Debug, Clone, Copy)]
pub struct Interrupter {
    pub(crate) tgid: i32,
    pub(crate) tid: i32,
}

impl Interrupter {
    /// Asks the thread to stop. Harmless if it is not running.
    pub fn interrupt(&self) {
        // SAFETY: tgkill only sends a signal; ESRCH for a dead stub is fine.
        unsafe {
            libc::syscall(libc::SYS_tgkill, self.tgid, self.tid, libc::SIGSTOP);
        }
    }
}
