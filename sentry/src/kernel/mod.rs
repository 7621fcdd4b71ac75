//! Tasks, thread groups, signals and blocking.

pub mod wait;
