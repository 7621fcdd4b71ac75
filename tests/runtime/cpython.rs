//! CPython's own regression tests for the OS layer, run under rvisor with
//! the Debian interpreter (`libpython3.11-testsuite`). Every test of these
//! modules must pass, none is skipped beyond what regrtest itself skips on
//! this machine natively.

use std::process::Command;
use std::time::Duration;

use rvisor_tests::{run_with_timeout, rvisor_bin};

fn regrtest(module: &str) {
    let rvisor = rvisor_bin().unwrap_or_else(|e| panic!("{e}"));
    let mut cmd = Command::new(rvisor);
    cmd.args(["do", "--", "/usr/bin/python3", "-m", "test", module])
        .current_dir("/");
    let r = run_with_timeout(&mut cmd, Duration::from_secs(600)).expect("run regrtest");
    let out = String::from_utf8_lossy(&r.stdout);
    assert!(
        r.code() == Some(0) && out.contains("Tests result: SUCCESS"),
        "{module} under rvisor: {}\n{out}\n{}",
        r.status_text(),
        String::from_utf8_lossy(&r.stderr)
    );
}

#[test]
fn test_os() {
    regrtest("test_os");
}

#[test]
fn test_signal() {
    regrtest("test_signal");
}

#[test]
fn test_posix() {
    regrtest("test_posix");
}

#[test]
fn test_select() {
    regrtest("test_select");
}

#[test]
fn test_threading() {
    regrtest("test_threading");
}

#[test]
fn test_subprocess() {
    regrtest("test_subprocess");
}
