//! platform crate.
