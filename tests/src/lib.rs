//! Shared harness code for rvisor's integration tests under `tests/`.
//!
//! Both `syscalls.rs` and `workloads.rs` find the rvisor binary and run
//! programs (natively or under `rvisor do`) through this one implementation:
//! a child runs in its own process group with stdin closed, its output is
//! captured, and a deadline kills the whole group.

use std::collections::BTreeSet;
use std::fmt;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// The workspace root (the parent of this package's directory).
pub fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// This package's directory (`<workspace>/tests`).
pub fn tests_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Locates the rvisor binary: `$RVISOR_BIN` if set, otherwise
/// `<workspace>/target/release/rvisor`. Returns an explanation when the
/// binary does not exist, so callers can fail (never skip) their trial.
pub fn rvisor_bin() -> Result<PathBuf, String> {
    let (path, source) = match std::env::var_os("RVISOR_BIN") {
        Some(p) if !p.is_empty() => (PathBuf::from(p), "$RVISOR_BIN"),
        _ => (
            workspace_root().join("target/release/rvisor"),
            "the default location",
        ),
    };
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!(
            "rvisor binary not found at {} ({source}); build it with \
             `cargo build --release -p cmd` or set RVISOR_BIN",
            path.display()
        ))
    }
}

/// A command line that runs `program args...` inside a fresh sandbox:
/// `<rvisor> do -- program args...`.
pub fn rvisor_command(rvisor: &Path, program: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(rvisor);
    cmd.arg("do").arg("--").arg(program).args(args);
    cmd
}

/// What a finished (or killed) child produced.
#[derive(Debug, Clone)]
pub struct RunOutput {
    /// Exit status; `None` when the child was killed for exceeding its time.
    pub status: Option<ExitStatus>,
    /// Everything written to stdout.
    pub stdout: Vec<u8>,
    /// Everything written to stderr.
    pub stderr: Vec<u8>,
    /// The deadline that was exceeded, if any.
    pub timed_out: Option<Duration>,
}

impl RunOutput {
    /// True iff the child exited normally with code 0 and wrote nothing to
    /// stderr.
    pub fn is_clean_success(&self) -> bool {
        self.timed_out.is_none()
            && self.status.is_some_and(|s| s.success())
            && self.stderr.is_empty()
    }

    /// The exit code, or `None` for a signal death or a timeout.
    pub fn code(&self) -> Option<i32> {
        self.status.and_then(|s| s.code())
    }

    /// A short human-readable form of the status: `exit 0`,
    /// `killed by signal 9`, `timed out after 30s`.
    pub fn status_text(&self) -> String {
        if let Some(limit) = self.timed_out {
            return format!(
                "timed out after {}s (process group killed)",
                limit.as_secs()
            );
        }
        match self.status {
            Some(s) => match (s.code(), s.signal()) {
                (Some(c), _) => format!("exit {c}"),
                (None, Some(sig)) => format!("killed by signal {sig}"),
                _ => format!("{s}"),
            },
            None => "no status".to_string(),
        }
    }
}

impl fmt::Display for RunOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "status: {}", self.status_text())?;
        writeln!(f, "stderr:\n{}", indent(&self.stderr))?;
        write!(f, "stdout:\n{}", indent(&self.stdout))
    }
}

fn indent(bytes: &[u8]) -> String {
    const LIMIT: usize = 8192;
    if bytes.is_empty() {
        return "  <empty>".to_string();
    }
    let shown = &bytes[..bytes.len().min(LIMIT)];
    let mut s: String = String::from_utf8_lossy(shown)
        .lines()
        .map(|l| format!("  {l}\n"))
        .collect();
    if bytes.len() > LIMIT {
        s.push_str(&format!("  ... ({} more bytes)\n", bytes.len() - LIMIT));
    }
    s.trim_end_matches('\n').to_string()
}

/// Sends SIGKILL to every process in the process group `pgid`.
fn kill_group(pgid: u32) {
    let Ok(pgid) = libc::pid_t::try_from(pgid) else {
        return;
    };
    if pgid <= 1 {
        return;
    }
    // SAFETY: kill(2) takes plain integers and has no memory-safety
    // preconditions; a negative pid addresses the process group we created
    // for this child (it cannot be reused while any member is alive).
    unsafe {
        libc::kill(-pgid, libc::SIGKILL);
    }
}

fn spawn_reader<R: Read + Send + 'static>(
    mut pipe: R,
    tx: mpsc::Sender<(usize, Vec<u8>)>,
    id: usize,
) {
    thread::spawn(move || {
        let mut buf = Vec::new();
        // A read error just ends the capture; what was read is kept.
        let _ = pipe.read_to_end(&mut buf);
        let _ = tx.send((id, buf));
    });
}

/// Runs `cmd` with stdin from /dev/null, capturing stdout and stderr, in a
/// new process group. If it has not finished within `timeout`, the whole
/// group is killed and the output so far is returned with `timed_out` set.
/// Processes the child left behind holding its stdout/stderr open are also
/// killed once the deadline passes.
pub fn run_with_timeout(cmd: &mut Command, timeout: Duration) -> Result<RunOutput, String> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut child: Child = cmd
        .spawn()
        .map_err(|e| format!("cannot spawn {:?}: {e}", cmd.get_program()))?;
    let pgid = child.id();
    let deadline = Instant::now() + timeout;

    let (tx, rx) = mpsc::channel();
    if let Some(out) = child.stdout.take() {
        spawn_reader(out, tx.clone(), 0);
    }
    if let Some(err) = child.stderr.take() {
        spawn_reader(err, tx.clone(), 1);
    }
    drop(tx);

    let mut timed_out = None;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) => {}
            Err(e) => {
                kill_group(pgid);
                return Err(format!("waiting for child failed: {e}"));
            }
        }
        if Instant::now() >= deadline {
            kill_group(pgid);
            timed_out = Some(timeout);
            // Reap it; after SIGKILL this cannot block for long.
            let _ = child.wait();
            break None;
        }
        thread::sleep(Duration::from_millis(5));
    };

    let mut stdout = Vec::new();
    let mut stderr = Vec::new();
    for _ in 0..2 {
        let remaining = deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(200));
        let got = match rx.recv_timeout(remaining) {
            Ok(got) => Some(got),
            Err(_) => {
                // Leftover descendants keep a pipe open: kill them.
                kill_group(pgid);
                timed_out.get_or_insert(timeout);
                rx.recv_timeout(Duration::from_secs(5)).ok()
            }
        };
        match got {
            Some((0, b)) => stdout = b,
            Some((_, b)) => stderr = b,
            None => break,
        }
    }
    Ok(RunOutput {
        status,
        stdout,
        stderr,
        timed_out,
    })
}

/// Reads a PENDING list: one trial base name per line, `#` starts a comment
/// (the reason), blank lines ignored. A missing file is an empty list.
pub fn read_pending(path: &Path) -> BTreeSet<String> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return BTreeSet::new();
    };
    text.lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// Lists files in `dir` whose names end in `suffix`, sorted by name.
pub fn files_with_suffix(dir: &Path, suffix: &str) -> Result<Vec<PathBuf>, String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
    let mut out: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.is_file()
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.ends_with(suffix))
        })
        .collect();
    out.sort();
    Ok(out)
}

/// The file name of `path` without `suffix` (e.g. `pipe.c` -> `pipe`).
pub fn stem(path: &Path, suffix: &str) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    name.strip_suffix(suffix).unwrap_or(&name).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeout_kills_the_process_group() {
        let mut cmd = Command::new("/bin/sh");
        cmd.args(["-c", "sleep 30 & echo started; sleep 30"]);
        let start = Instant::now();
        let out = run_with_timeout(&mut cmd, Duration::from_millis(300)).expect("spawn");
        assert!(out.timed_out.is_some());
        assert_eq!(out.stdout, b"started\n");
        assert!(start.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn captures_status_and_streams() {
        let mut cmd = Command::new("/bin/sh");
        cmd.args(["-c", "echo out; echo err >&2; exit 3"]);
        let out = run_with_timeout(&mut cmd, Duration::from_secs(10)).expect("spawn");
        assert_eq!(out.code(), Some(3));
        assert_eq!(out.stdout, b"out\n");
        assert_eq!(out.stderr, b"err\n");
        assert!(!out.is_clean_success());
    }

    #[test]
    fn pending_list_parsing() {
        let dir = std::env::temp_dir().join(format!("rvt-pending-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("mkdir");
        let file = dir.join("PENDING");
        std::fs::write(&file, "# header\nfoo # needs X\n\n  bar\n").expect("write");
        let set = read_pending(&file);
        std::fs::remove_dir_all(&dir).expect("cleanup");
        assert_eq!(set.into_iter().collect::<Vec<_>>(), vec!["bar", "foo"]);
    }
}
