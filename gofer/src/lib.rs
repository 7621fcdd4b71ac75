//! gofer crate.
