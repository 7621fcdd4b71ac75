use thiserror::Error;

/// Failures of the platform itself (never of the application).
#[derive(Debug, Error)]
pub enum PlatformError {
    #[error("{op}: {errno}")]
    Host {
        op: &'static str,
        errno: nix::errno::Errno,
    },
    #[error("stub {pid} died: {why}")]
    StubDied { pid: i32, why: String },
    #[error("injected {name} failed with errno {errno}")]
    Injected { name: &'static str, errno: i32 },
    #[error("platform setup: {0}")]
    Setup(String),
}

impl PlatformError {
    pub(crate) fn host(op: &'static str, errno: nix::errno::Errno) -> Self {
        PlatformError::Host { op, errno }
    }
}
