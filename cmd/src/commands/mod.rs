//! One module per verb.

pub mod boot;
pub mod gofer;
pub mod run_do;
