//! Real-program workloads.
//!
//! Each `tests/workloads/*.sh` and `*.py` runs natively and under
//! `rvisor do -- <interpreter> <script>`, where the interpreter is
//! `/bin/busybox sh` for `busybox_*.sh`, `/bin/bash` for `bash_*.sh` and
//! `/usr/bin/python3` for `python_*.py`.
//! `<name>::native` checks the script succeeds natively (exit 0, nothing on
//! stderr); `<name>::rvisor` passes iff the sandboxed run has the same exit
//! code and byte-identical stdout as the native run.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use libtest_mimic::{Arguments, Failed, Trial};
use rvisor_tests::{
    files_with_suffix, read_pending, run_with_timeout, rvisor_bin, rvisor_command, stem, tests_dir,
    RunOutput,
};

const TIMEOUT: Duration = Duration::from_secs(60);

/// The interpreter (program plus leading arguments) for a script.
fn interpreter(name: &str) -> Option<(PathBuf, Vec<&'static str>)> {
    if name.starts_with("busybox_") {
        Some((PathBuf::from("/bin/busybox"), vec!["sh"]))
    } else if name.starts_with("bash_") {
        Some((PathBuf::from("/bin/bash"), vec![]))
    } else if name.starts_with("python_") {
        Some((PathBuf::from("/usr/bin/python3"), vec![]))
    } else {
        None
    }
}

struct Workload {
    name: String,
    script: PathBuf,
    native: OnceLock<Result<RunOutput, String>>,
}

impl Workload {
    fn command_parts(&self) -> Result<(PathBuf, Vec<String>), Failed> {
        let (interp, lead) = interpreter(&self.name).ok_or_else(|| {
            Failed::from(format!(
                "no interpreter for {}: name scripts busybox_*.sh, bash_*.sh or python_*.py",
                self.name
            ))
        })?;
        if !interp.is_file() {
            return Err(
                format!("{} is missing; run tests/install-deps.sh", interp.display()).into(),
            );
        }
        let mut args: Vec<String> = lead.iter().map(|s| s.to_string()).collect();
        args.push(self.script.to_string_lossy().into_owned());
        Ok((interp, args))
    }

    /// The native run, performed once and shared by both trials.
    fn native(&self) -> Result<&RunOutput, Failed> {
        let (interp, args) = self.command_parts()?;
        self.native
            .get_or_init(|| {
                let mut cmd = Command::new(&interp);
                cmd.args(&args).current_dir("/");
                run_with_timeout(&mut cmd, TIMEOUT)
            })
            .as_ref()
            .map_err(|e| Failed::from(e.clone()))
    }
}

fn run_native(w: &Workload) -> Result<(), Failed> {
    let out = w.native()?;
    if out.is_clean_success() {
        Ok(())
    } else {
        Err(format!("native run failed\n{out}").into())
    }
}

fn run_rvisor(w: &Workload) -> Result<(), Failed> {
    let rvisor = rvisor_bin().map_err(Failed::from)?;
    let native = w.native()?;
    let (interp, args) = w.command_parts()?;
    let arg_refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut cmd = rvisor_command(&rvisor, Path::new(&interp), &arg_refs);
    cmd.current_dir("/");
    let sandboxed = run_with_timeout(&mut cmd, TIMEOUT).map_err(Failed::from)?;
    let same_code = sandboxed.timed_out.is_none() && sandboxed.code() == native.code();
    if same_code && sandboxed.stdout == native.stdout {
        return Ok(());
    }
    let mut msg = String::new();
    if !same_code {
        msg.push_str(&format!(
            "exit status differs: native {}, rvisor {}\n",
            native.status_text(),
            sandboxed.status_text()
        ));
    }
    if sandboxed.stdout != native.stdout {
        msg.push_str(&first_difference(&native.stdout, &sandboxed.stdout));
    }
    msg.push_str(&format!(
        "--- rvisor run ---\n{sandboxed}\n--- native run ---\n{native}"
    ));
    Err(msg.into())
}

/// Describes the first line where two outputs differ.
fn first_difference(native: &[u8], sandboxed: &[u8]) -> String {
    let a = String::from_utf8_lossy(native);
    let b = String::from_utf8_lossy(sandboxed);
    let mut la = a.split_inclusive('\n');
    let mut lb = b.split_inclusive('\n');
    let mut line = 1;
    loop {
        match (la.next(), lb.next()) {
            (Some(x), Some(y)) if x == y => line += 1,
            (x, y) => {
                return format!(
                    "stdout differs at line {line}:\n  native: {:?}\n  rvisor: {:?}\n",
                    x.unwrap_or("<end of output>"),
                    y.unwrap_or("<end of output>")
                )
            }
        }
    }
}

fn main() {
    let args = Arguments::from_args();
    let dir = tests_dir().join("workloads");
    let pending = read_pending(&dir.join("PENDING"));
    let mut scripts = Vec::new();
    for suffix in [".sh", ".py"] {
        match files_with_suffix(&dir, suffix) {
            Ok(s) => scripts.extend(s.into_iter().map(|p| (p, suffix))),
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(101);
            }
        }
    }

    let mut trials = Vec::new();
    for (script, suffix) in scripts {
        let name = stem(&script, suffix);
        let w = Arc::new(Workload {
            name: name.clone(),
            script,
            native: OnceLock::new(),
        });
        let n = Arc::clone(&w);
        trials.push(
            Trial::test(format!("{name}::native"), move || run_native(&n)).with_kind("native"),
        );
        let r = Arc::clone(&w);
        trials.push(
            Trial::test(format!("{name}::rvisor"), move || run_rvisor(&r))
                .with_kind("rvisor")
                .with_ignored_flag(pending.contains(&name)),
        );
    }
    libtest_mimic::run(&args, trials).exit();
}
