//! The sentry: Linux, re-implemented in user space, for one sandbox.

pub mod kernel;
pub mod mm;
pub mod vfs;
