//! One application thread running in a stub, driven by its tracer thread.

use std::marker::PhantomData;

use nix::errno::Errno;

use super::stub;
use crate::{Context, FpState, Interrupter, PlatformError, Prot, Regs, SignalInfo, Stop};

/// Number of 8-byte words in `user_regs_struct`, and rax's index.
const REG_WORDS: usize = 27;
const RAX_WORD: usize = 10;

fn words(r: &Regs) -> [u64; REG_WORDS] {
    const _: () = assert!(std::mem::size_of::<Regs>() == REG_WORDS * 8);
    // SAFETY: user_regs_struct is #[repr(C)] with exactly REG_WORDS u64
    // fields (checked above), so it has the layout of [u64; REG_WORDS].
    unsafe { std::ptr::read((r as *const Regs).cast::<[u64; REG_WORDS]>()) }
}

const NT_X86_XSTATE: libc::c_int = 0x202;
/// Large enough for every XSAVE feature (AMX tiles included); the kernel
/// insists on getting back exactly the size it gave.
const XSTATE_MAX: usize = 32768;

/// A stub thread traced by the current sentry thread.
#[derive(Debug)]
pub struct StubThread {
    pid: i32,
    tid: i32,
    memfd: i32,
    regs: Regs,
    /// The host's copy of the registers differs from `regs`.
    regs_dirty: bool,
    /// The registers as the host has them (after the last GETREGS/SETREGS),
    /// so that a change of only rax costs one POKEUSER.
    host_regs: Regs,
    /// The CPU the stub was last pinned to.
    cpu: i32,
    /// Dropping this thread kills the whole stub process.
    owns_process: bool,
    /// ptrace requests must come from the tracer thread.
    _not_send: PhantomData<*const ()>,
}

fn ptrace(req: libc::c_uint, tid: i32, addr: usize, data: usize) -> Result<libc::c_long, Errno> {
    // SAFETY: every request used here passes either no pointer or a pointer
    // to a live, correctly sized buffer owned by the caller.
    let r = unsafe { libc::ptrace(req, tid, addr, data) };
    if r == -1 {
        Err(Errno::last())
    } else {
        Ok(r)
    }
}

/// Waits for a state change of `tid`; returns the raw wait status.
fn wait(tid: i32) -> Result<i32, Errno> {
    let mut status = 0;
    loop {
        // SAFETY: status is a valid out-pointer.
        let r = unsafe { libc::waitpid(tid, &mut status, libc::__WALL) };
        if r == tid {
            return Ok(status);
        }
        let e = Errno::last();
        if e != Errno::EINTR {
            return Err(e);
        }
    }
}

/// `struct ptrace_rseq_configuration`.
#[repr(C)]
#[derive(Default)]
struct RseqConfig {
    pointer: u64,
    size: u32,
    signature: u32,
    flags: u32,
    pad: u32,
}

const PTRACE_GET_RSEQ_CONFIGURATION: libc::c_uint = 0x420f;

/// Tells a stub in its first stop which rseq registration (inherited from
/// the forking sentry thread) it must undo before unmapping its memory.
fn undo_rseq_later(pid: i32) -> Result<(), PlatformError> {
    let mut cfg = RseqConfig::default();
    let size = std::mem::size_of::<RseqConfig>();
    if ptrace(
        PTRACE_GET_RSEQ_CONFIGURATION,
        pid,
        size,
        &mut cfg as *mut _ as usize,
    )
    .is_err()
    {
        return Ok(()); // kernel without rseq: nothing to undo
    }
    let words = [cfg.pointer, u64::from(cfg.size), u64::from(cfg.signature)];
    for (i, w) in words.iter().enumerate() {
        let addr = stub::DATA_PAGE + stub::DATA_RSEQ + 8 * i as u64;
        #[allow(
            clippy::cast_possible_truncation,
            reason = "addresses fit usize on x86-64"
        )]
        ptrace(libc::PTRACE_POKEDATA, pid, addr as usize, *w as usize)
            .map_err(|e| PlatformError::host("PTRACE_POKEDATA", e))?;
    }
    Ok(())
}

impl StubThread {
    pub(super) fn spawn(memfd: i32) -> Result<StubThread, PlatformError> {
        let pid = stub::fork_stub()?;
        let stopped = |what: &str| -> Result<(), PlatformError> {
            let status = wait(pid).map_err(|e| PlatformError::host("wait for new stub", e))?;
            if !libc::WIFSTOPPED(status) || libc::WSTOPSIG(status) != libc::SIGSTOP {
                return Err(PlatformError::StubDied {
                    pid,
                    why: format!("{what}: status {status:#x}"),
                });
            }
            Ok(())
        };
        stopped("first stop")?;
        undo_rseq_later(pid)?;
        ptrace(libc::PTRACE_CONT, pid, 0, 0).map_err(|e| PlatformError::host("PTRACE_CONT", e))?;
        stopped("second stop")?;
        let opts = libc::PTRACE_O_TRACESYSGOOD | libc::PTRACE_O_EXITKILL;
        #[allow(clippy::cast_sign_loss, reason = "option bits are positive")]
        let opts = opts as usize;
        ptrace(libc::PTRACE_SETOPTIONS, pid, 0, opts)
            .map_err(|e| PlatformError::host("PTRACE_SETOPTIONS", e))?;
        let mut t = StubThread {
            pid,
            tid: pid,
            memfd,
            // SAFETY: user_regs_struct is plain integers; all-zero is valid.
            regs: unsafe { std::mem::zeroed() },
            regs_dirty: false,
            // SAFETY: user_regs_struct is plain integers; all-zero is valid.
            host_regs: unsafe { std::mem::zeroed() },
            cpu: -1,
            owns_process: true,
            _not_send: PhantomData,
        };
        t.fetch_regs()?;
        Ok(t)
    }

    /// The host pid of the stub process.
    pub fn host_pid(&self) -> i32 {
        self.pid
    }

    /// Reads the registers from the host (and remembers them as the host's).
    fn fetch_regs(&mut self) -> Result<(), PlatformError> {
        self.regs = self.get_regs()?;
        self.host_regs = self.regs;
        Ok(())
    }

    fn get_regs(&self) -> Result<Regs, PlatformError> {
        // SAFETY: zeroed plain-integer struct, filled by the kernel.
        let mut r: Regs = unsafe { std::mem::zeroed() };
        ptrace(
            libc::PTRACE_GETREGS,
            self.tid,
            0,
            &mut r as *mut Regs as usize,
        )
        .map_err(|e| self.died_or("PTRACE_GETREGS", e))?;
        Ok(r)
    }

    fn set_regs(&self, r: &Regs) -> Result<(), PlatformError> {
        ptrace(libc::PTRACE_SETREGS, self.tid, 0, r as *const Regs as usize)
            .map_err(|e| self.died_or("PTRACE_SETREGS", e))?;
        Ok(())
    }

    fn died_or(&self, op: &'static str, e: Errno) -> PlatformError {
        if e == Errno::ESRCH {
            PlatformError::StubDied {
                pid: self.pid,
                why: format!("{op}: no such process"),
            }
        } else {
            PlatformError::host(op, e)
        }
    }

    /// Keeps the stub on the CPU its tracer runs on: a cross-CPU wakeup
    /// costs far more than the whole round trip on one CPU.
    fn follow_cpu(&mut self) {
        // SAFETY: sched_getcpu has no preconditions.
        let cpu = unsafe { libc::sched_getcpu() };
        if cpu < 0 || cpu == self.cpu {
            return;
        }
        let mut set = nix::sched::CpuSet::new();
        #[allow(clippy::cast_sign_loss, reason = "cpu checked non-negative")]
        if set.set(cpu as usize).is_ok()
            && nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(self.tid), &set).is_ok()
        {
            self.cpu = cpu;
        }
    }

    /// Resumes the stub with `req` and waits for its next stop, skipping
    /// stops that are not the application's business.
    fn resume_and_wait(&mut self, req: libc::c_uint) -> Result<i32, PlatformError> {
        ptrace(req, self.tid, 0, 0).map_err(|e| self.died_or("ptrace resume", e))?;
        let status = wait(self.tid).map_err(|e| self.died_or("waitpid", e))?;
        if libc::WIFEXITED(status) || libc::WIFSIGNALED(status) {
            return Err(PlatformError::StubDied {
                pid: self.pid,
                why: format!("wait status {status:#x}"),
            });
        }
        Ok(status)
    }

    fn siginfo(&self) -> Result<libc::siginfo_t, PlatformError> {
        // SAFETY: siginfo_t is plain data; all-zero is valid.
        let mut si: libc::siginfo_t = unsafe { std::mem::zeroed() };
        ptrace(
            libc::PTRACE_GETSIGINFO,
            self.tid,
            0,
            &mut si as *mut _ as usize,
        )
        .map_err(|e| self.died_or("PTRACE_GETSIGINFO", e))?;
        Ok(si)
    }

    /// Makes the stub execute one host system call from its gadget and
    /// returns the raw result (negative errno on failure).
    fn inject(&mut self, nr: i64, args: [u64; 6]) -> Result<i64, PlatformError> {
        self.inject_at(stub::gadget_addr(), nr, args)
    }

    fn inject_at(&mut self, gadget: u64, nr: i64, args: [u64; 6]) -> Result<i64, PlatformError> {
        let mut r = self.regs;
        r.rip = gadget;
        #[allow(
            clippy::cast_sign_loss,
            reason = "syscall numbers are small and positive"
        )]
        {
            r.rax = nr as u64;
        }
        r.orig_rax = u64::MAX;
        r.rdi = args[0];
        r.rsi = args[1];
        r.rdx = args[2];
        r.r10 = args[3];
        r.r8 = args[4];
        r.r9 = args[5];
        self.set_regs(&r)?;
        self.regs_dirty = true;
        loop {
            let status = self.resume_and_wait(libc::PTRACE_CONT)?;
            if libc::WIFSTOPPED(status) && libc::WSTOPSIG(status) == libc::SIGTRAP {
                break;
            }
            // An interrupt raced with the injection; it is dropped, the
            // sentry re-checks for work before it resumes the application.
        }
        let out = self.get_regs()?;
        self.host_regs = out;
        #[allow(clippy::cast_possible_wrap, reason = "syscall results are signed")]
        Ok(out.rax as i64)
    }

    fn inject_ok(
        &mut self,
        name: &'static str,
        nr: i64,
        args: [u64; 6],
    ) -> Result<(), PlatformError> {
        let r = self.inject(nr, args)?;
        if r < 0 {
            #[allow(clippy::cast_possible_truncation, reason = "errno values are small")]
            return Err(PlatformError::Injected {
                name,
                errno: (-r) as i32,
            });
        }
        Ok(())
    }
}

impl Context for StubThread {
    fn switch(&mut self) -> Result<Stop, PlatformError> {
        if self.regs_dirty {
            let (now, host) = (words(&self.regs), words(&self.host_regs));
            let changed: Vec<usize> = (0..REG_WORDS).filter(|&i| now[i] != host[i]).collect();
            if changed == [RAX_WORD] {
                ptrace(
                    libc::PTRACE_POKEUSER,
                    self.tid,
                    RAX_WORD * 8,
                    usize::try_from(self.regs.rax).unwrap_or(0),
                )
                .map_err(|e| self.died_or("PTRACE_POKEUSER", e))?;
            } else if !changed.is_empty() {
                self.set_regs(&self.regs)?;
            }
            self.host_regs = self.regs;
            self.regs_dirty = false;
        }
        self.follow_cpu();
        let status = self.resume_and_wait(libc::PTRACE_SYSEMU)?;
        let sig = libc::WSTOPSIG(status);
        if sig == (libc::SIGTRAP | 0x80) {
            self.fetch_regs()?;
            return Ok(Stop::Syscall);
        }
        if status >> 16 != 0 {
            // A ptrace event stop; nothing for the application.
            self.fetch_regs()?;
            return Ok(Stop::Interrupted);
        }
        let si = self.siginfo()?;
        self.fetch_regs()?;
        if si.si_code <= 0 {
            // Sent by a process (the sentry's interrupter, or a host user);
            // never delivered to the application as is.
            return Ok(Stop::Interrupted);
        }
        // SAFETY: for kernel-generated SIGSEGV/SIGBUS/SIGILL/SIGFPE/SIGTRAP
        // the address member of the union is the valid one.
        let addr = unsafe { si.si_addr() } as u64;
        match sig {
            libc::SIGSEGV | libc::SIGBUS => Ok(Stop::Fault {
                addr,
                signo: sig,
                code: si.si_code,
            }),
            libc::SIGSTOP | libc::SIGCHLD | libc::SIGURG | libc::SIGWINCH => Ok(Stop::Interrupted),
            _ => Ok(Stop::Signal(SignalInfo {
                signo: sig,
                code: si.si_code,
                addr,
            })),
        }
    }

    fn regs(&self) -> &Regs {
        &self.regs
    }

    fn regs_mut(&mut self) -> &mut Regs {
        self.regs_dirty = true;
        &mut self.regs
    }

    fn fp_state(&mut self) -> Result<FpState, PlatformError> {
        let mut buf = vec![0u8; XSTATE_MAX];
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        #[allow(clippy::cast_sign_loss, reason = "NT_X86_XSTATE is positive")]
        ptrace(
            libc::PTRACE_GETREGSET,
            self.tid,
            NT_X86_XSTATE as usize,
            &mut iov as *mut _ as usize,
        )
        .map_err(|e| self.died_or("PTRACE_GETREGSET", e))?;
        buf.truncate(iov.iov_len);
        Ok(FpState { bytes: buf })
    }

    fn set_fp_state(&mut self, fp: &FpState) -> Result<(), PlatformError> {
        let mut buf = fp.bytes.clone();
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        #[allow(clippy::cast_sign_loss, reason = "NT_X86_XSTATE is positive")]
        ptrace(
            libc::PTRACE_SETREGSET,
            self.tid,
            NT_X86_XSTATE as usize,
            &mut iov as *mut _ as usize,
        )
        .map_err(|e| self.died_or("PTRACE_SETREGSET", e))?;
        Ok(())
    }

    fn map(&mut self, addr: u64, len: u64, prot: Prot, offset: u64) -> Result<(), PlatformError> {
        #[allow(clippy::cast_sign_loss, reason = "flags, prot and fd are non-negative")]
        let args = [
            addr,
            len,
            prot as u64,
            (libc::MAP_SHARED | libc::MAP_FIXED) as u64,
            self.memfd as u64,
            offset,
        ];
        let r = self.inject(libc::SYS_mmap, args)?;
        #[allow(clippy::cast_sign_loss, reason = "compared as an address")]
        if r as u64 != addr {
            #[allow(clippy::cast_possible_truncation, reason = "errno values are small")]
            return Err(PlatformError::Injected {
                name: "mmap",
                errno: (-r) as i32,
            });
        }
        Ok(())
    }

    fn unmap(&mut self, addr: u64, len: u64) -> Result<(), PlatformError> {
        self.inject_ok("munmap", libc::SYS_munmap, [addr, len, 0, 0, 0, 0])
    }

    fn protect(&mut self, addr: u64, len: u64, prot: Prot) -> Result<(), PlatformError> {
        #[allow(clippy::cast_sign_loss, reason = "prot is non-negative")]
        self.inject_ok(
            "mprotect",
            libc::SYS_mprotect,
            [addr, len, prot as u64, 0, 0, 0],
        )
    }

    fn interrupter(&self) -> Interrupter {
        Interrupter {
            tgid: self.pid,
            tid: self.tid,
        }
    }
}

/// Flags of the host thread made for a new application thread.
const THREAD_CLONE_FLAGS: u64 = (libc::CLONE_VM
    | libc::CLONE_FS
    | libc::CLONE_FILES
    | libc::CLONE_SIGHAND
    | libc::CLONE_THREAD
    | libc::CLONE_SYSVSEM) as u64;

impl StubThread {
    /// Creates another host thread in this stub's process, parked until a
    /// sentry thread calls [`StubThread::attach`] on it. Returns its tid.
    pub fn clone_thread(&mut self) -> Result<i32, PlatformError> {
        let tid = self.inject_at(
            stub::clone_gadget_addr(),
            libc::SYS_clone,
            [THREAD_CLONE_FLAGS, 0, 0, 0, 0, 0],
        )?;
        if tid <= 0 {
            #[allow(clippy::cast_possible_truncation, reason = "errno values are small")]
            return Err(PlatformError::Injected {
                name: "clone",
                errno: (-tid) as i32,
            });
        }
        i32::try_from(tid).map_err(|_| PlatformError::Setup("bad tid".into()))
    }

    /// Makes the calling sentry thread the tracer of stub thread `tid` of
    /// process `pid` (made by [`StubThread::clone_thread`]).
    pub fn attach(memfd: i32, pid: i32, tid: i32) -> Result<StubThread, PlatformError> {
        let opts = libc::PTRACE_O_TRACESYSGOOD | libc::PTRACE_O_EXITKILL;
        #[allow(clippy::cast_sign_loss, reason = "option bits are positive")]
        let opts = opts as usize;
        ptrace(libc::PTRACE_SEIZE, tid, 0, opts)
            .map_err(|e| PlatformError::host("PTRACE_SEIZE", e))?;
        ptrace(libc::PTRACE_INTERRUPT, tid, 0, 0)
            .map_err(|e| PlatformError::host("PTRACE_INTERRUPT", e))?;
        let status = wait(tid).map_err(|e| PlatformError::host("wait for new thread", e))?;
        if !libc::WIFSTOPPED(status) {
            return Err(PlatformError::StubDied {
                pid,
                why: format!("new thread: status {status:#x}"),
            });
        }
        let mut t = StubThread {
            pid,
            tid,
            memfd,
            // SAFETY: user_regs_struct is plain integers; all-zero is valid.
            regs: unsafe { std::mem::zeroed() },
            regs_dirty: false,
            // SAFETY: user_regs_struct is plain integers; all-zero is valid.
            host_regs: unsafe { std::mem::zeroed() },
            cpu: -1,
            owns_process: false,
            _not_send: PhantomData,
        };
        t.fetch_regs()?;
        Ok(t)
    }

    /// Makes the stub execute an arbitrary host system call from its
    /// gadget. Only for tests of the stub's own seccomp filter: the sentry
    /// never needs more than map/unmap/protect/clone.
    #[doc(hidden)]
    pub fn inject_for_tests(&mut self, nr: i64, args: [u64; 6]) -> Result<i64, PlatformError> {
        self.inject(nr, args)
    }

    /// The host thread id of this application thread.
    pub fn host_tid(&self) -> i32 {
        self.tid
    }

    /// Ends only this thread; the stub process lives on for the others.
    pub fn exit_thread(mut self) {
        self.owns_process = false;
        if self.tid == self.pid && self.leave_leader().is_ok() {
            return;
        }
        let mut r = self.regs;
        r.rip = stub::gadget_addr();
        #[allow(clippy::cast_sign_loss, reason = "syscall number")]
        {
            r.rax = libc::SYS_exit as u64;
        }
        r.orig_rax = u64::MAX;
        r.rdi = 0;
        if self.set_regs(&r).is_ok() && ptrace(libc::PTRACE_CONT, self.tid, 0, 0).is_ok() {
            while let Ok(status) = wait(self.tid) {
                if libc::WIFEXITED(status) || libc::WIFSIGNALED(status) {
                    break;
                }
                if ptrace(libc::PTRACE_CONT, self.tid, 0, 0).is_err() {
                    break;
                }
            }
        }
    }
}

impl StubThread {
    /// The stub's leader thread goes while others stay. The host reports
    /// a leader's exit only once the whole process has ended, so its
    /// tracer (this sentry thread, which forked the stub) lets go of it
    /// instead of waiting, and is then free to end: the leader first
    /// drops the death signal it asked for at start-up (its parent thread
    /// ending would kill the process), then exits untraced. The process
    /// is reaped by [`StubThread::end_process`] from its last thread.
    fn leave_leader(&mut self) -> Result<(), PlatformError> {
        #[allow(clippy::cast_sign_loss, reason = "PR_SET_PDEATHSIG is positive")]
        let r = self.inject(
            libc::SYS_prctl,
            [libc::PR_SET_PDEATHSIG as u64, 0, 0, 0, 0, 0],
        )?;
        if r != 0 {
            #[allow(clippy::cast_possible_truncation, reason = "errno values are small")]
            return Err(PlatformError::Injected {
                name: "prctl",
                errno: (-r) as i32,
            });
        }
        let mut regs = self.regs;
        regs.rip = stub::gadget_addr();
        #[allow(clippy::cast_sign_loss, reason = "syscall number")]
        {
            regs.rax = libc::SYS_exit as u64;
        }
        regs.orig_rax = u64::MAX;
        regs.rdi = 0;
        self.set_regs(&regs)?;
        ptrace(libc::PTRACE_DETACH, self.tid, 0, 0)
            .map_err(|e| self.died_or("PTRACE_DETACH", e))?;
        Ok(())
    }

    /// Ends the whole stub process from its last thread in use: kills it,
    /// reaps this (traced) thread, then the process, whose leader may have
    /// left before ([`StubThread::exit_thread`]).
    pub fn end_process(mut self) {
        self.owns_process = false;
        // SAFETY: kill and waitpid on our own stub; errors mean it is
        // gone already (or was reaped by its leader's tracer).
        unsafe {
            libc::kill(self.pid, libc::SIGKILL);
        }
        if self.tid != self.pid {
            while let Ok(status) = wait(self.tid) {
                if libc::WIFEXITED(status) || libc::WIFSIGNALED(status) {
                    break;
                }
            }
        }
        let mut status = 0;
        // SAFETY: as above; status is a valid out-pointer.
        unsafe {
            libc::waitpid(self.pid, &mut status, libc::__WALL);
        }
    }
}

impl Drop for StubThread {
    fn drop(&mut self) {
        if !self.owns_process {
            return;
        }
        // SAFETY: kills and reaps our own child; errors mean it is gone.
        unsafe {
            libc::kill(self.pid, libc::SIGKILL);
            let mut status = 0;
            libc::waitpid(self.pid, &mut status, libc::__WALL);
        }
    }
}
