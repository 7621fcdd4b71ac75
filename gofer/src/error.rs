//! The error type of every gofer operation.

/// Why a gofer operation failed.
#[derive(Debug, thiserror::Error)]
pub enum GoferError {
    /// The host refused the operation with this errno (or the gofer did, for
    /// the same reason the host would have).
    #[error("host errno {0}")]
    Errno(i32),
    /// The peer sent something that is not a valid message.
    #[error("protocol: {0}")]
    Protocol(String),
    /// The socket itself failed.
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
}

impl From<nix::errno::Errno> for GoferError {
    fn from(e: nix::errno::Errno) -> Self {
        GoferError::Errno(e as i32)
    }
}

/// The gofer reports a failed confinement step as the errno, as any other
/// host failure (the step is in the `Display` of [`crate::ConfineError`]
/// only).
impl From<crate::ConfineError> for GoferError {
    fn from(e: crate::ConfineError) -> Self {
        GoferError::Errno(e.errno as i32)
    }
}
