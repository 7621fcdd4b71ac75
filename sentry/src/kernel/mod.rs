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

/// Starts one of the sentry's own background threads (timers and the
/// like). One that cannot start is logged with what then stops working;
/// the sentry goes on without it.
pub fn start_service(name: &str, body: fn(), without: &str) {
    if let Err(e) = std::thread::Builder::new().name(name.into()).spawn(body) {
        tracing::warn!("cannot start the {name} thread ({without}): {e}");
    }
}
