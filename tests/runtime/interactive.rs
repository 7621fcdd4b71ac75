//! An interactive bash session inside `rvisor do`, driven through a
//! terminal: the sandbox gets a pty of its own, with job control, and
//! follows the size of the terminal it runs on.

use std::process::Command;
use std::time::Duration;

use rvisor_tests::{run_with_timeout, rvisor_bin, tests_dir};

#[test]
fn interactive_bash_job_control_through_a_pty() {
    let rvisor = rvisor_bin().unwrap_or_else(|e| panic!("{e}"));
    let driver = tests_dir().join("runtime/pty_session.py");
    let mut cmd = Command::new("/usr/bin/python3");
    cmd.arg(&driver).arg(&rvisor);
    let r = run_with_timeout(&mut cmd, Duration::from_secs(120)).expect("run driver");
    let out = String::from_utf8_lossy(&r.stdout);
    assert_eq!(
        r.code(),
        Some(0),
        "stdout:\n{out}\nstderr:\n{}",
        String::from_utf8_lossy(&r.stderr)
    );
    assert_eq!(
        out,
        "echo ok\nresize ok\nbackground job ok\nctrl-z ok\nbg ok\nctrl-c ok\nexit ok\n"
    );
}
