//! `rvisor`: run programs in a gVisor-style sandbox.

mod commands;

use clap::{Parser, Subcommand};

/// Global flags, named as runc/runsc name them.
#[derive(Debug, Parser)]
#[command(
    name = "rvisor",
    version,
    about = "A user-space kernel sandbox for containers"
)]
struct Cli {
    /// Log debug output.
    #[arg(long, global = true)]
    debug: bool,
    /// Log every application system call to stderr.
    #[arg(long, global = true)]
    strace: bool,
    /// Platform that runs application code.
    #[arg(long, global = true, default_value = "ptrace", value_parser = ["ptrace"])]
    platform: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a command in a new sandbox (host root read-only, writes kept in memory).
    Do(commands::run_do::DoArgs),
    /// Internal: the sentry of a sandbox.
    #[command(hide = true)]
    Boot(commands::boot::BootArgs),
    /// Internal: the gofer of a sandbox.
    #[command(hide = true)]
    Gofer(commands::gofer::GoferArgs),
}

fn main() {
    let cli = Cli::parse();
    let filter = if cli.debug { "debug" } else { "warn" };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("RVISOR_LOG")
                .unwrap_or_else(|_| filter.into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    let r = match cli.command {
        Command::Do(a) => commands::run_do::run(a, cli.strace, cli.debug),
        Command::Boot(a) => commands::boot::run(a, cli.strace),
        Command::Gofer(a) => commands::gofer::run(a),
    };
    match r {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("rvisor: {e:#}");
            std::process::exit(125);
        }
    }
}
