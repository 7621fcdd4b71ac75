//! pidfds: file descriptors that refer to a process (`pidfd_open`,
//! `CLONE_PIDFD`). Readable (POLLIN) once the process has exited; usable
//! with `pidfd_send_signal` and `waitid(P_PIDFD)`.

use std::any::Any;
use std::sync::Arc;

use super::file::{FileOps, OpenFile};
use crate::kernel::task::{kernel, lock, ThreadGroup};
use crate::kernel::wait::WaitQueue;

/// The open file behind a pidfd.
#[derive(Debug)]
pub struct PidFd {
    /// The process; kept so a reused pid never aliases it.
    pub tg: Arc<ThreadGroup>,
}

impl PidFd {
    /// A new pidfd description (`O_RDWR`, plus `O_NONBLOCK` if asked).
    pub fn open(tg: Arc<ThreadGroup>, nonblock: bool) -> Arc<OpenFile> {
        let flags = libc::O_RDWR | if nonblock { libc::O_NONBLOCK } else { 0 };
        OpenFile::new(None, Arc::new(PidFd { tg }), flags)
    }

    /// Whether every thread of the process has exited.
    pub fn exited(&self) -> bool {
        lock(&self.tg.state).zombie
    }
}

impl FileOps for PidFd {
    fn poll(&self) -> i16 {
        if self.exited() {
            libc::POLLIN
        } else {
            0
        }
    }

    fn wait_queue(&self) -> Option<&WaitQueue> {
        // Notified whenever any process exits.
        Some(&kernel().exit_wq)
    }

    fn anon_name(&self) -> String {
        "anon_inode:[pidfd]".to_string()
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// The pidfd behind an open file, if it is one.
pub fn pidfd_of(f: &OpenFile) -> Option<&PidFd> {
    f.ops.as_any().downcast_ref::<PidFd>()
}
