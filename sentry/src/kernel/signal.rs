//! Signal state: actions, masks, pending queues and siginfo.

use std::collections::VecDeque;

pub const NSIG: i32 = 64;
pub const SIGRTMIN: i32 = 32;
pub const SIG_DFL: u64 = 0;
pub const SIG_IGN: u64 = 1;
pub const SA_NOCLDSTOP: u64 = 1;
pub const SA_NOCLDWAIT: u64 = 2;
pub const SA_SIGINFO: u64 = 4;
pub const SA_RESTORER: u64 = 0x0400_0000;
pub const SA_ONSTACK: u64 = 0x0800_0000;
pub const SA_RESTART: u64 = 0x1000_0000;
pub const SA_NODEFER: u64 = 0x4000_0000;
pub const SA_RESETHAND: u64 = 0x8000_0000;

/// A set of signals; bit `n-1` is signal `n`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SigSet(pub u64);

impl SigSet {
    pub fn bit(sig: i32) -> u64 {
        if (1..=NSIG).contains(&sig) {
            1u64 << (sig - 1)
        } else {
            0
        }
    }
    pub fn has(self, sig: i32) -> bool {
        self.0 & Self::bit(sig) != 0
    }
    /// SIGKILL and SIGSTOP can never be blocked.
    pub fn sanitized(self) -> SigSet {
        SigSet(self.0 & !(Self::bit(libc::SIGKILL) | Self::bit(libc::SIGSTOP)))
    }
}

/// One `struct sigaction` (kernel layout: handler, flags, restorer, mask).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SigAction {
    pub handler: u64,
    pub flags: u64,
    pub restorer: u64,
    pub mask: SigSet,
}

/// The actions of all 64 signals.
#[derive(Debug, Clone)]
pub struct SigHandlers {
    pub actions: [SigAction; NSIG as usize],
}

impl Default for SigHandlers {
    fn default() -> Self {
        SigHandlers {
            actions: [SigAction::default(); NSIG as usize],
        }
    }
}

impl SigHandlers {
    pub fn get(&self, sig: i32) -> SigAction {
        usize::try_from(sig - 1)
            .ok()
            .and_then(|i| self.actions.get(i))
            .copied()
            .unwrap_or_default()
    }
    pub fn set(&mut self, sig: i32, a: SigAction) {
        if let Some(slot) = usize::try_from(sig - 1)
            .ok()
            .and_then(|i| self.actions.get_mut(i))
        {
            *slot = a;
        }
    }
    /// What exec keeps: handled signals go back to default, ignored stay.
    pub fn reset_for_exec(&mut self) {
        for a in self.actions.iter_mut() {
            if a.handler != SIG_IGN {
                *a = SigAction::default();
            }
        }
    }
}

/// What a signal does when it has no handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultAction {
    Terminate,
    CoreDump,
    Stop,
    Continue,
    Ignore,
}

pub fn default_action(sig: i32) -> DefaultAction {
    use libc::*;
    match sig {
        SIGCHLD | SIGURG | SIGWINCH => DefaultAction::Ignore,
        SIGCONT => DefaultAction::Continue,
        SIGSTOP | SIGTSTP | SIGTTIN | SIGTTOU => DefaultAction::Stop,
        SIGQUIT | SIGILL | SIGTRAP | SIGABRT | SIGBUS | SIGFPE | SIGSEGV | SIGXCPU | SIGXFSZ
        | SIGSYS => DefaultAction::CoreDump,
        _ => DefaultAction::Terminate,
    }
}

pub const SI_USER: i32 = 0;
pub const SI_KERNEL: i32 = 0x80;
pub const SI_QUEUE: i32 = -1;
pub const SI_TKILL: i32 = -6;
pub const CLD_EXITED: i32 = 1;
pub const CLD_KILLED: i32 = 2;
pub const CLD_DUMPED: i32 = 3;
pub const CLD_STOPPED: i32 = 5;
pub const CLD_CONTINUED: i32 = 6;

/// A queued signal with the information `siginfo_t` carries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SigInfo {
    pub signo: i32,
    pub errno: i32,
    pub code: i32,
    pub pid: i32,
    pub uid: u32,
    /// SIGCHLD: exit code or signal.
    pub status: i32,
    /// Fault address.
    pub addr: u64,
    /// sigqueue value.
    pub value: u64,
    pub utime: i64,
    pub stime: i64,
}

impl SigInfo {
    pub fn user(signo: i32, code: i32, pid: i32, uid: u32) -> SigInfo {
        SigInfo {
            signo,
            code,
            pid,
            uid,
            ..Default::default()
        }
    }

    pub fn kernel(signo: i32) -> SigInfo {
        SigInfo {
            signo,
            code: SI_KERNEL,
            ..Default::default()
        }
    }

    pub fn fault(signo: i32, code: i32, addr: u64) -> SigInfo {
        SigInfo {
            signo,
            code,
            addr,
            ..Default::default()
        }
    }

    fn is_fault(&self) -> bool {
        use libc::*;
        self.code > 0 && matches!(self.signo, SIGSEGV | SIGBUS | SIGILL | SIGFPE | SIGTRAP)
    }

    /// The 128-byte `siginfo_t` the application sees.
    pub fn to_bytes(&self) -> [u8; 128] {
        let mut b = [0u8; 128];
        b[0..4].copy_from_slice(&self.signo.to_ne_bytes());
        b[4..8].copy_from_slice(&self.errno.to_ne_bytes());
        b[8..12].copy_from_slice(&self.code.to_ne_bytes());
        if self.is_fault() {
            b[16..24].copy_from_slice(&self.addr.to_ne_bytes());
        } else if self.signo == libc::SIGCHLD && self.code > 0 {
            b[16..20].copy_from_slice(&self.pid.to_ne_bytes());
            b[20..24].copy_from_slice(&self.uid.to_ne_bytes());
            b[24..28].copy_from_slice(&self.status.to_ne_bytes());
            b[32..40].copy_from_slice(&self.utime.to_ne_bytes());
            b[40..48].copy_from_slice(&self.stime.to_ne_bytes());
        } else {
            b[16..20].copy_from_slice(&self.pid.to_ne_bytes());
            b[20..24].copy_from_slice(&self.uid.to_ne_bytes());
            b[24..32].copy_from_slice(&self.value.to_ne_bytes());
        }
        b
    }

    /// Reads a siginfo given by the application (rt_sigqueueinfo).
    pub fn from_bytes(b: &[u8; 128]) -> SigInfo {
        let i32_at = |o: usize| i32::from_ne_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]);
        let mut v = [0u8; 8];
        v.copy_from_slice(&b[24..32]);
        SigInfo {
            signo: i32_at(0),
            errno: i32_at(4),
            code: i32_at(8),
            pid: i32_at(16),
            #[allow(clippy::cast_sign_loss, reason = "uid is unsigned in siginfo")]
            uid: i32_at(20) as u32,
            value: u64::from_ne_bytes(v),
            ..Default::default()
        }
    }
}

/// Pending signals of a thread or of a whole process. Standard signals are
/// pending at most once; real-time signals queue.
#[derive(Debug, Default)]
pub struct PendingSignals {
    queue: VecDeque<SigInfo>,
}

impl PendingSignals {
    pub fn push(&mut self, info: SigInfo) {
        if info.signo < SIGRTMIN && self.queue.iter().any(|q| q.signo == info.signo) {
            return;
        }
        self.queue.push_back(info);
    }

    pub fn set(&self) -> SigSet {
        SigSet(
            self.queue
                .iter()
                .fold(0, |acc, q| acc | SigSet::bit(q.signo)),
        )
    }

    pub fn has_unblocked(&self, mask: SigSet) -> bool {
        self.set().0 & !mask.0 != 0
    }

    /// Takes the lowest-numbered pending signal not in `mask`.
    pub fn take(&mut self, mask: SigSet) -> Option<SigInfo> {
        let ready = self.set().0 & !mask.0;
        if ready == 0 {
            return None;
        }
        #[allow(
            clippy::cast_possible_wrap,
            reason = "trailing_zeros of a u64 is at most 64"
        )]
        let sig = ready.trailing_zeros() as i32 + 1;
        let pos = self.queue.iter().position(|q| q.signo == sig)?;
        self.queue.remove(pos)
    }

    /// Takes a specific pending signal from `set` (sigtimedwait).
    pub fn take_from(&mut self, set: SigSet) -> Option<SigInfo> {
        self.take(SigSet(!set.0))
    }

    /// Applies `f` to queued signals in order until it returns true (a
    /// POSIX timer folding an expiry into its queued signal); whether
    /// one did.
    pub fn update_first(&mut self, f: impl FnMut(&mut SigInfo) -> bool) -> bool {
        self.queue.iter_mut().any(f)
    }

    /// Takes everything pending (a thread handing its signals on).
    pub fn drain(&mut self) -> Vec<SigInfo> {
        self.queue.drain(..).collect()
    }

    /// Drops every pending instance of `sig`.
    pub fn discard(&mut self, sig: i32) {
        self.queue.retain(|q| q.signo != sig);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_signals_coalesce_and_rt_signals_queue() {
        let mut p = PendingSignals::default();
        p.push(SigInfo::kernel(libc::SIGUSR1));
        p.push(SigInfo::kernel(libc::SIGUSR1));
        p.push(SigInfo::kernel(SIGRTMIN + 1));
        p.push(SigInfo::kernel(SIGRTMIN + 1));
        assert_eq!(p.take(SigSet(0)).map(|s| s.signo), Some(libc::SIGUSR1));
        assert_eq!(p.take(SigSet(0)).map(|s| s.signo), Some(SIGRTMIN + 1));
        assert_eq!(p.take(SigSet(0)).map(|s| s.signo), Some(SIGRTMIN + 1));
        assert_eq!(p.take(SigSet(0)), None);
    }

    #[test]
    fn blocked_signals_stay_pending() {
        let mut p = PendingSignals::default();
        p.push(SigInfo::kernel(libc::SIGINT));
        let mask = SigSet(SigSet::bit(libc::SIGINT));
        assert!(!p.has_unblocked(mask));
        assert_eq!(p.take(mask), None);
        assert!(p.has_unblocked(SigSet(0)));
    }
}
