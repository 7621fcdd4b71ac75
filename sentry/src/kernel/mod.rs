//! Tasks, thread groups, signals and blocking.

pub mod cputime;
pub mod ctx;
pub mod ipc;
pub mod posix_timer;
pub mod run;
pub mod sigframe;
pub mod signal;
pub mod task;
pub mod timer;
pub mod wait;
