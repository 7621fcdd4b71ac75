//! The ptrace platform: application threads are threads of stub processes,
//! stopped by `PTRACE_SYSEMU` on every system call.

mod context;
mod filter;
pub mod stub;

use std::os::fd::RawFd;
use std::sync::OnceLock;

pub use context::StubThread;
pub use stub::{KeptRange, APP_TOP, STUB_BASE};

use crate::PlatformError;

/// Process-wide state of the ptrace platform.
#[derive(Debug)]
pub struct PtracePlatform {
    memfd: RawFd,
    kept: Vec<KeptRange>,
}

static PLATFORM: OnceLock<PtracePlatform> = OnceLock::new();

impl PtracePlatform {
    /// Sets the platform up once per sentry process: installs the stub pages
    /// and remembers the host ranges stubs keep. `memfd` is the memory file
    /// that every stub maps application memory from.
    pub fn init(memfd: RawFd) -> Result<&'static PtracePlatform, PlatformError> {
        static INIT: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _one_at_a_time = INIT.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(p) = PLATFORM.get() {
            return Ok(p);
        }
        let kept = stub::host_vdso_ranges()?;
        stub::install(memfd, &kept, &filter::stub_filter(memfd))?;
        Ok(PLATFORM.get_or_init(|| PtracePlatform { memfd, kept }))
    }

    /// Host ranges present in every stub (vDSO and vvar), which the
    /// application's address space must keep free.
    pub fn kept_ranges(&self) -> &[KeptRange] {
        &self.kept
    }

    /// The host vDSO's address, for AT_SYSINFO_EHDR.
    pub fn vdso_base(&self) -> Option<u64> {
        self.kept
            .iter()
            .find(|k| k.name == "[vdso]")
            .map(|k| k.start)
    }

    /// Creates a new, empty address space with one thread in it, traced by
    /// the calling thread. All later operations on it must come from the
    /// calling thread.
    pub fn new_context(&self) -> Result<StubThread, PlatformError> {
        StubThread::spawn(self.memfd)
    }

    /// Becomes the tracer of a thread made by [`StubThread::clone_thread`].
    pub fn attach(&self, pid: i32, tid: i32) -> Result<StubThread, PlatformError> {
        StubThread::attach(self.memfd, pid, tid)
    }
}
