//! The sentry survives 100 000 random system calls with random arguments,
//! and 160 000 random socket calls on internet sockets, issued by forked
//! children inside the sandbox (never natively: random calls could harm
//! the host), and reports how every child ended.

use rvisor_tests::{run_with_timeout, rvisor_bin, RunOutput};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// Builds `tests/fuzz/<name>.c` and runs it in a sandbox with `args`.
fn run_fuzzer(name: &str, args: &[&str]) -> RunOutput {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("fuzz/{name}.c"));
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let st = Command::new("gcc")
        .args(["-O1", "-static", "-o"])
        .arg(&out)
        .arg(&src)
        .status()
        .expect("gcc");
    assert!(st.success(), "compiling {name}");
    let rvisor = rvisor_bin().expect("rvisor binary (cargo build --release -p cmd)");
    let mut cmd = Command::new(rvisor);
    cmd.args(["do", "--"]).arg(&out).args(args);
    run_with_timeout(&mut cmd, Duration::from_secs(600)).expect("run fuzzer")
}

#[test]
fn sentry_survives_random_socket_calls() {
    let r = run_fuzzer("random_socket_ops", &["16", "10000", "4242"]);
    let stdout = String::from_utf8_lossy(&r.stdout);
    let stderr = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.code(), Some(0), "sandbox exit; stderr: {stderr}");
    for c in 0..16 {
        let line = format!("child {c}: exit 0");
        assert!(stdout.lines().any(|l| l == line), "child {c}:\n{stdout}");
    }
    assert!(
        stdout.lines().any(|l| l == "children: 16 calls: 160000"),
        "summary missing:\n{stdout}"
    );
    assert!(!stderr.contains("panic"), "sentry panicked: {stderr}");
}

#[test]
fn sentry_survives_random_syscalls() {
    let r = run_fuzzer("random_syscalls", &["100", "1000", "12345"]);
    let stdout = String::from_utf8_lossy(&r.stdout);
    assert_eq!(
        r.code(),
        Some(0),
        "sandbox exit; stderr: {}",
        String::from_utf8_lossy(&r.stderr)
    );
    for c in 0..100 {
        let prefix = format!("child {c}: ");
        assert!(
            stdout.lines().any(|l| l.starts_with(&prefix)),
            "no report for child {c}:\n{stdout}"
        );
    }
    assert!(
        stdout
            .lines()
            .any(|l| l == "children: 100 syscalls: 100000"),
        "summary missing:\n{stdout}"
    );
    assert!(
        !String::from_utf8_lossy(&r.stderr).contains("panicked"),
        "sentry panicked"
    );
}
