//! The sentry survives 100 000 random system calls with random arguments,
//! issued by forked children inside the sandbox (never natively: random
//! calls could harm the host), and reports how every child ended.

use rvisor_tests::{run_with_timeout, rvisor_bin};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

#[test]
fn sentry_survives_random_syscalls() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/random_syscalls.c");
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("random_syscalls");
    let st = Command::new("gcc")
        .args(["-O1", "-static", "-o"])
        .arg(&out)
        .arg(&src)
        .status()
        .expect("gcc");
    assert!(st.success(), "compiling the fuzzer");
    let rvisor = rvisor_bin().expect("rvisor binary (cargo build --release -p cmd)");
    let mut cmd = Command::new(rvisor);
    cmd.args(["do", "--"])
        .arg(&out)
        .args(["100", "1000", "12345"]);
    let r = run_with_timeout(&mut cmd, Duration::from_secs(600)).expect("run fuzzer");
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
