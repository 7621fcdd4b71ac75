//! The syscall-compatibility suite.
//!
//! Every `tests/syscalls/*.c` is compiled with the system C compiler
//! (`gcc -O1 -Wall -Werror`, dynamically linked) and run twice:
//! `<name>::native` runs the binary directly (proving the test is right on
//! this kernel) and `<name>::rvisor` runs it as `rvisor do -- <binary>`.
//! A trial passes iff the program exits 0 and writes nothing to stderr.
//!
//! `tests/syscalls/PENDING` lists programs known not to work under rvisor
//! yet (one name per line, `# reason`); only their rvisor trial is ignored.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use libtest_mimic::{Arguments, Failed, Trial};
use rvisor_tests::{
    files_with_suffix, read_pending, run_with_timeout, rvisor_bin, rvisor_command, stem, tests_dir,
};

const TIMEOUT: Duration = Duration::from_secs(30);

/// Where compiled programs go.
fn out_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("syscalls")
}

/// One C program, compiled at most once (lazily, by whichever of its trials
/// runs first) and shared by both of its trials.
struct Program {
    source: PathBuf,
    binary: PathBuf,
    compiled: OnceLock<Result<PathBuf, String>>,
}

impl Program {
    fn binary(&self) -> Result<&Path, Failed> {
        self.compiled
            .get_or_init(|| compile(&self.source, &self.binary))
            .as_deref()
            .map_err(|e| Failed::from(e.clone()))
    }
}

fn modified(path: &Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Compiles `source` to `binary` unless the binary is newer than both the
/// source and `check.h`.
fn compile(source: &Path, binary: &Path) -> Result<PathBuf, String> {
    let header = source.with_file_name("check.h");
    if let (Some(bin), Some(src)) = (modified(binary), modified(source)) {
        if bin > src && modified(&header).is_none_or(|h| bin > h) {
            return Ok(binary.to_path_buf());
        }
    }
    if let Some(dir) = binary.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("mkdir {}: {e}", dir.display()))?;
    }
    // Build to a temporary name and rename, so a concurrent or interrupted
    // build never leaves a half-written binary behind.
    let tmp = binary.with_extension(format!("tmp{}", std::process::id()));
    let mut cmd = Command::new("gcc");
    cmd.args(["-O1", "-Wall", "-Werror", "-o"])
        .arg(&tmp)
        .arg(source);
    let out = run_with_timeout(&mut cmd, Duration::from_secs(120))
        .map_err(|e| format!("cannot run gcc (install it with tests/install-deps.sh): {e}"))?;
    if out.code() != Some(0) {
        let _ = std::fs::remove_file(&tmp);
        return Err(format!(
            "compiling {} failed:\n{}",
            source.display(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    std::fs::rename(&tmp, binary).map_err(|e| format!("rename to {}: {e}", binary.display()))?;
    Ok(binary.to_path_buf())
}

fn check(mut cmd: Command, how: &str) -> Result<(), Failed> {
    cmd.current_dir("/");
    let out = run_with_timeout(&mut cmd, TIMEOUT).map_err(Failed::from)?;
    if out.is_clean_success() {
        Ok(())
    } else {
        Err(format!("{how} run failed\n{out}").into())
    }
}

fn main() {
    let args = Arguments::from_args();
    let dir = tests_dir().join("syscalls");
    let pending = read_pending(&dir.join("PENDING"));
    let sources = match files_with_suffix(&dir, ".c") {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(101);
        }
    };

    let mut trials = Vec::new();
    for source in sources {
        let name = stem(&source, ".c");
        let program = Arc::new(Program {
            binary: out_dir().join(&name),
            source,
            compiled: OnceLock::new(),
        });

        let p = Arc::clone(&program);
        trials.push(
            Trial::test(format!("{name}::native"), move || {
                check(Command::new(p.binary()?), "native")
            })
            .with_kind("native"),
        );

        let p = Arc::clone(&program);
        trials.push(
            Trial::test(format!("{name}::rvisor"), move || {
                let rvisor = rvisor_bin().map_err(Failed::from)?;
                let binary = p.binary()?;
                check(rvisor_command(&rvisor, binary, &[]), "rvisor")
            })
            .with_kind("rvisor")
            .with_ignored_flag(pending.contains(&name)),
        );
    }
    libtest_mimic::run(&args, trials).exit();
}
