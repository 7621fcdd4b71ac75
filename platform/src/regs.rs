//! Register state of an application thread.

/// General-purpose registers, in the layout `PTRACE_GETREGS` uses.
pub type Regs = libc::user_regs_struct;

/// The XSAVE area of a thread, as `PTRACE_GETREGSET(NT_X86_XSTATE)` gives it.
/// Its first 512 bytes are the legacy FXSAVE image that signal frames carry.
#[derive(Clone)]
pub struct FpState {
    pub(crate) bytes: Vec<u8>,
}

impl std::fmt::Debug for FpState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FpState({} bytes)", self.bytes.len())
    }
}

impl FpState {
    /// The saved state, as bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Builds a state from bytes saved earlier (e.g. by a signal frame).
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        FpState { bytes }
    }

    /// The legacy 512-byte FXSAVE image.
    pub fn fxsave(&self) -> &[u8] {
        &self.bytes[..self.bytes.len().min(512)]
    }
}

/// Syscall-convention accessors on the register file.
pub trait SyscallRegs {
    fn sysno(&self) -> u64;
    fn arg(&self, i: usize) -> u64;
    fn set_return(&mut self, v: u64);
}

impl SyscallRegs for Regs {
    fn sysno(&self) -> u64 {
        self.orig_rax
    }
    fn arg(&self, i: usize) -> u64 {
        match i {
            0 => self.rdi,
            1 => self.rsi,
            2 => self.rdx,
            3 => self.r10,
            4 => self.r8,
            5 => self.r9,
            _ => 0,
        }
    }
    fn set_return(&mut self, v: u64) {
        self.rax = v;
    }
}
