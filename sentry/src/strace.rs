//! `--strace`: one line per application system call.

use std::time::Duration;

use crate::kernel::ctx::TaskCtx;
use crate::syscalls::{Args, SysResult, SyscallReturn};

/// Syscalls whose first (or second, for *at) argument is a path.
fn path_arg(name: &str) -> Option<usize> {
    match name {
        "open" | "stat" | "lstat" | "access" | "execve" | "chdir" | "mkdir" | "rmdir"
        | "unlink" | "readlink" | "creat" | "chmod" | "chown" | "truncate" | "statfs"
        | "symlink" | "rename" | "link" => Some(0),
        "openat" | "newfstatat" | "faccessat" | "faccessat2" | "mkdirat" | "unlinkat"
        | "readlinkat" | "statx" | "execveat" | "fchmodat" | "fchownat" | "utimensat"
        | "renameat" | "renameat2" | "mknodat" => Some(1),
        _ => None,
    }
}

pub fn log(t: &TaskCtx, name: &str, a: &Args, r: &SysResult, took: Duration) {
    let mut args: Vec<String> = a.raw.iter().map(|v| format!("{v:#x}")).collect();
    if let Some(i) = path_arg(name) {
        if let Ok(p) = t.read_cstr(a.raw[i], 4095) {
            args[i] = format!("{:?}", String::from_utf8_lossy(&p));
        }
    }
    let res = match r {
        Ok(SyscallReturn::Value(v)) => format!("{v:#x}"),
        Ok(SyscallReturn::NoReturn) => "?".to_string(),
        Ok(SyscallReturn::Exit { .. }) => "(exit)".to_string(),
        Err(e) => format!("-1 {} ({})", *e as i32, e.desc()),
    };
    eprintln!(
        "[{:>5}] {name}({}) = {res} <{:.6}>",
        t.tid(),
        args.join(", "),
        took.as_secs_f64()
    );
}
