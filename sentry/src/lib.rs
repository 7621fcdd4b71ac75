//! The sentry: Linux, re-implemented in user space, for one sandbox.

pub mod boot;
pub mod confine;
pub mod console;
pub mod kernel;
pub mod loader;
pub mod mm;
pub mod procfs;
pub mod strace;
pub mod syscalls;
pub mod sysfs;
pub mod vfs;

pub use boot::{boot, environ, BootConfig, BootError};
