//! sentry crate.
