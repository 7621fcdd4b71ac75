//! `--strace`: one line per application system call, with its arguments
//! decoded where the kind is known, its result or errno, and its duration.

use std::time::Duration;

use crate::kernel::ctx::TaskCtx;
use crate::syscalls::{Args, SysResult, SyscallReturn};

/// How to show one argument.
#[derive(Clone, Copy)]
enum Kind {
    Hex,
    Int,
    Fd,
    Path,
    /// A buffer the call reads from the application, with its length in
    /// the next argument.
    OutBuf,
    OpenFlags,
    Mode,
    Signal,
}

use Kind::*;

/// Argument kinds of the calls worth decoding; the rest print as hex.
fn kinds(name: &str) -> &'static [Kind] {
    match name {
        "read" | "readv" | "getdents64" => &[Fd, Hex, Int],
        "pread64" | "preadv" => &[Fd, Hex, Int, Int],
        "write" => &[Fd, OutBuf, Int],
        "pwrite64" => &[Fd, OutBuf, Int, Int],
        "writev" => &[Fd, Hex, Int],
        "pwritev" => &[Fd, Hex, Int, Int],
        "close" | "fstat" | "dup" | "fsync" | "fdatasync" | "fchdir" | "fstatfs" => &[Fd, Hex],
        "dup2" | "dup3" => &[Fd, Fd, Hex],
        "lseek" => &[Fd, Int, Int],
        "fcntl" | "ioctl" | "flock" => &[Fd, Hex, Hex],
        "open" => &[Path, OpenFlags, Mode],
        "openat" => &[Fd, Path, OpenFlags, Mode],
        "creat" | "mkdir" | "chmod" => &[Path, Mode],
        "mkdirat" | "fchmodat" => &[Fd, Path, Mode],
        "stat" | "lstat" | "access" | "chdir" | "rmdir" | "unlink" | "readlink" | "truncate"
        | "statfs" | "chroot" | "execve" => &[Path, Hex, Hex],
        "newfstatat" | "faccessat" | "faccessat2" | "unlinkat" | "readlinkat" | "statx"
        | "execveat" | "utimensat" | "fchownat" | "mknodat" => &[Fd, Path, Hex, Hex, Hex],
        "rename" | "symlink" | "link" => &[Path, Path],
        "renameat" | "renameat2" | "linkat" => &[Fd, Path, Fd, Path, Hex],
        "symlinkat" => &[Path, Fd, Path],
        "kill" | "tkill" => &[Int, Signal],
        "tgkill" => &[Int, Int, Signal],
        "rt_sigaction" => &[Signal, Hex, Hex, Int],
        "exit" | "exit_group" => &[Int],
        "wait4" => &[Int, Hex, Hex, Hex],
        "pipe2" => &[Hex, OpenFlags],
        _ => &[],
    }
}

fn open_flags(f: u64) -> String {
    let acc = match f & 3 {
        0 => "O_RDONLY",
        1 => "O_WRONLY",
        2 => "O_RDWR",
        _ => "O_ACCMODE",
    };
    let mut parts = vec![acc.to_string()];
    let names: [(i32, &str); 12] = [
        (libc::O_CREAT, "O_CREAT"),
        (libc::O_EXCL, "O_EXCL"),
        (libc::O_NOCTTY, "O_NOCTTY"),
        (libc::O_TRUNC, "O_TRUNC"),
        (libc::O_APPEND, "O_APPEND"),
        (libc::O_NONBLOCK, "O_NONBLOCK"),
        (libc::O_DIRECTORY, "O_DIRECTORY"),
        (libc::O_NOFOLLOW, "O_NOFOLLOW"),
        (libc::O_CLOEXEC, "O_CLOEXEC"),
        (libc::O_PATH, "O_PATH"),
        (libc::O_TMPFILE & !libc::O_DIRECTORY, "O_TMPFILE"),
        (libc::O_DIRECT, "O_DIRECT"),
    ];
    let mut rest = f & !3;
    for (bit, n) in names {
        let bit = u64::try_from(bit).unwrap_or(0);
        if rest & bit == bit && bit != 0 {
            parts.push(n.to_string());
            rest &= !bit;
        }
    }
    if rest != 0 {
        parts.push(format!("{rest:#x}"));
    }
    parts.join("|")
}

fn signal_name(s: u64) -> String {
    let names = [
        "0",
        "SIGHUP",
        "SIGINT",
        "SIGQUIT",
        "SIGILL",
        "SIGTRAP",
        "SIGABRT",
        "SIGBUS",
        "SIGFPE",
        "SIGKILL",
        "SIGUSR1",
        "SIGSEGV",
        "SIGUSR2",
        "SIGPIPE",
        "SIGALRM",
        "SIGTERM",
        "SIGSTKFLT",
        "SIGCHLD",
        "SIGCONT",
        "SIGSTOP",
        "SIGTSTP",
        "SIGTTIN",
        "SIGTTOU",
        "SIGURG",
        "SIGXCPU",
        "SIGXFSZ",
        "SIGVTALRM",
        "SIGPROF",
        "SIGWINCH",
        "SIGIO",
        "SIGPWR",
        "SIGSYS",
    ];
    match usize::try_from(s).ok().and_then(|i| names.get(i)) {
        Some(n) => (*n).to_string(),
        None if (32..=64).contains(&s) => format!("SIGRT{}", s - 32),
        None => format!("{s}"),
    }
}

fn quoted(t: &TaskCtx, addr: u64, len: u64) -> String {
    let n = usize::try_from(len.min(32)).unwrap_or(32);
    match t.copy_in_vec(addr, n) {
        Ok(b) => {
            let more = if len > 32 { "..." } else { "" };
            format!("{:?}{more}", String::from_utf8_lossy(&b))
        }
        Err(_) => format!("{addr:#x}"),
    }
}

fn show(t: &TaskCtx, kind: Kind, a: &Args, i: usize) -> String {
    let v = a.raw[i];
    match kind {
        Hex => format!("{v:#x}"),
        Int => format!("{}", a.i64(i)),
        Fd if a.i32(i) == libc::AT_FDCWD => "AT_FDCWD".to_string(),
        Fd => format!("{}", a.i32(i)),
        Path => match t.read_cstr(v, 4095) {
            Ok(p) => format!("{:?}", String::from_utf8_lossy(&p)),
            Err(_) => format!("{v:#x}"),
        },
        OutBuf => quoted(t, v, a.raw.get(i + 1).copied().unwrap_or(0)),
        OpenFlags => open_flags(v),
        Mode => format!("{v:#o}"),
        Signal => signal_name(v),
    }
}

pub fn log(t: &TaskCtx, name: &str, a: &Args, r: &SysResult, took: Duration) {
    let ks = kinds(name);
    let n = if ks.is_empty() { 6 } else { ks.len() };
    let args: Vec<String> = (0..n)
        .map(|i| show(t, ks.get(i).copied().unwrap_or(Hex), a, i))
        .collect();
    let res = match r {
        Ok(SyscallReturn::Value(v)) => {
            #[allow(clippy::cast_possible_wrap, reason = "results are signed")]
            let s = *v as i64;
            if (0..4096).contains(&s) {
                format!("{s}")
            } else {
                format!("{v:#x}")
            }
        }
        Ok(SyscallReturn::NoReturn) => "?".to_string(),
        Ok(SyscallReturn::Exit { .. }) => "?".to_string(),
        Err(e) => format!("-1 {e:?} ({})", e.desc()),
    };
    eprintln!(
        "[{:>5}] {name}({}) = {res} <{:.6}>",
        t.tid(),
        args.join(", "),
        took.as_secs_f64()
    );
}
