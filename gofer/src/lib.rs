//! The gofer: the only rvisor process that touches the container's files.
//!
//! The sentry talks to it over a `SOCK_SEQPACKET` socketpair with the
//! messages in [`protocol`]; [`Client`] is the sentry's side, [`serve`] the
//! gofer's. For now the gofer is read-only: writes live in the sentry's
//! overlay. [`run`] is the whole gofer process: confine, filter, serve.

mod client;
mod confine;
mod error;
mod isolate;
pub mod protocol;
mod seccomp;
mod server;

pub use client::Client;
pub use confine::{confine, open_root, run};
pub use error::GoferError;
pub use isolate::{enter_private_namespaces, shut_in, ConfineError, CAP_DAC_READ_SEARCH};
pub use protocol::{DirEntry, Handle, Request, Response, Stat, StatFs, Timespec};
pub use seccomp::install_seccomp;
pub use server::serve;

#[cfg(test)]
mod tests;
