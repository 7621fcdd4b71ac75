//! The virtual filesystem.
