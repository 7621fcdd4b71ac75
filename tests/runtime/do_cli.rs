//! `rvisor do` as a user sees it: exit statuses, stdio, the environment,
//! the read-only host root with an in-memory overlay, the sandbox's own
//! /proc, /dev and /tmp, `--rootfs`, `--strace`, clear one-line errors, and
//! a sentry and a gofer that are confined while they run.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use rvisor_tests::{run_with_timeout, rvisor_bin, RunOutput};

fn rvisor() -> PathBuf {
    rvisor_bin().unwrap_or_else(|e| panic!("{e}"))
}

fn run(args: &[&str]) -> RunOutput {
    let mut c = Command::new(rvisor());
    c.args(args);
    run_with_timeout(&mut c, Duration::from_secs(60)).expect("run rvisor")
}

fn sh(script: &str) -> RunOutput {
    run(&["do", "--", "/bin/sh", "-c", script])
}

fn stdout(r: &RunOutput) -> String {
    String::from_utf8_lossy(&r.stdout).into_owned()
}

fn stderr(r: &RunOutput) -> String {
    String::from_utf8_lossy(&r.stderr).into_owned()
}

/// Compiles the C program `source` as `name` in the target's scratch
/// directory and returns the binary.
fn compile(name: &str, source: &str) -> PathBuf {
    let tmp = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    let src = tmp.join(format!("{name}.c"));
    let bin = tmp.join(name);
    std::fs::write(&src, source).expect("write source");
    let st = Command::new("gcc")
        .arg("-o")
        .arg(&bin)
        .arg(&src)
        .status()
        .expect("gcc");
    assert!(st.success(), "gcc {name}.c");
    bin
}

#[test]
fn exit_status_is_the_programs() {
    assert_eq!(sh("exit 0").code(), Some(0));
    assert_eq!(sh("exit 42").code(), Some(42));
}

#[test]
fn killed_by_signal_exits_128_plus_n() {
    // The shell is pid 1, which ignores signals it has no handler for, so
    // the victim of kill is a child.
    let r = sh("/bin/sh -c 'kill -TERM $$'; echo status=$?");
    assert_eq!(stdout(&r), "status=143\n");
    // A fault kills even init: the sandbox ends as if by SIGSEGV.
    let bin = compile(
        "segv",
        "int main(void) { *(volatile int *)0 = 1; return 0; }\n",
    );
    let r = run(&["do", "--", bin.to_str().expect("utf-8 path")]);
    assert_eq!(r.code(), Some(128 + 11), "stderr: {}", stderr(&r));
}

#[test]
fn stdio_and_environment_pass_through() {
    let mut c = Command::new(rvisor());
    c.args([
        "do",
        "--",
        "/bin/sh",
        "-c",
        "echo out; echo err >&2; echo $RVISOR_TEST_VAR",
    ]);
    c.env("RVISOR_TEST_VAR", "from-the-host");
    let r = run_with_timeout(&mut c, Duration::from_secs(60)).expect("run");
    assert_eq!(stdout(&r), "out\nfrom-the-host\n");
    assert_eq!(stderr(&r), "err\n");

    let mut c = Command::new(rvisor());
    c.args(["do", "--", "/bin/cat"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped());
    let mut child = c.spawn().expect("spawn");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin
            .write_all(b"piped through the sandbox\n")
            .expect("write");
    }
    let out = child.wait_with_output().expect("wait");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "piped through the sandbox\n"
    );
}

#[test]
fn writes_stay_in_the_sandbox() {
    let marker = format!("/root/rvisor-test-{}", std::process::id());
    let r = sh(&format!(
        "echo inside > {marker} && cat {marker} && rm /etc/hostname && test ! -e /etc/hostname && echo removed"
    ));
    assert_eq!(stdout(&r), "inside\nremoved\n", "stderr: {}", stderr(&r));
    assert!(
        !std::path::Path::new(&marker).exists(),
        "a sandbox write reached the host"
    );
    assert!(
        std::path::Path::new("/etc/hostname").exists(),
        "a sandbox unlink reached the host"
    );
}

#[test]
fn proc_dev_and_tmp_are_the_sandboxs_own() {
    std::fs::write("/tmp/rvisor-host-only", b"x").expect("host file");
    let r = sh(
        "echo $$; cat /proc/self/stat | cut -d' ' -f1; ls /proc | grep -c '^[0-9]'; \
                test -e /tmp/rvisor-host-only && echo host-tmp-visible; ls /dev/null /dev/zero; \
                head -c 4 /dev/zero | od -An -tx1",
    );
    let out = stdout(&r);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "1", "the command is pid 1: {out}");
    assert!(
        ["2", "3"].contains(&lines[1]),
        "cat is a child of pid 1 in the sandbox: {out}"
    );
    assert!(
        lines[2].parse::<u32>().expect("count") <= 4,
        "only sandbox processes in /proc: {out}"
    );
    assert!(!out.contains("host-tmp-visible"), "host /tmp leaked: {out}");
    assert!(out.contains("/dev/null\n/dev/zero\n"));
    assert!(out.trim_end().ends_with("00 00 00 00"));
    let _ = std::fs::remove_file("/tmp/rvisor-host-only");
}

/// A fresh root for `--rootfs` called `name`, with only `/bin/busybox`.
fn busybox_root(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rvisor-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("bin")).expect("mkdir");
    std::fs::copy("/bin/busybox", dir.join("bin/busybox")).expect("copy busybox");
    dir
}

/// Runs `script` with busybox's shell in the sandbox whose root is `dir`.
fn busybox_sh_in(dir: &std::path::Path, script: &str) -> RunOutput {
    let root = dir.to_string_lossy().into_owned();
    run(&[
        "do",
        "--rootfs",
        &root,
        "--",
        "/bin/busybox",
        "sh",
        "-c",
        script,
    ])
}

#[test]
fn rootfs_option_uses_another_root() {
    let dir = busybox_root("rootfs");
    std::fs::write(dir.join("hello.txt"), b"from the other root\n").expect("write");
    let r = busybox_sh_in(&dir, "cat /hello.txt; ls /; echo new > /hello.txt");
    assert_eq!(r.code(), Some(0), "stderr: {}", stderr(&r));
    let out = stdout(&r);
    assert!(out.starts_with("from the other root\n"), "{out}");
    assert!(
        out.contains("bin\n") && out.contains("hello.txt\n") && out.contains("proc\n"),
        "{out}"
    );
    assert_eq!(
        std::fs::read(dir.join("hello.txt")).expect("read"),
        b"from the other root\n"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A host file's `user.*` attributes show in the sandbox (read through
/// the gofer); setting one there copies the file up and leaves the host's
/// alone.
#[test]
fn host_xattrs_show_through_the_overlay() {
    let tmp = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    // Not under /tmp: the sandbox has its own.
    let file = tmp.join(format!("xattr-host-{}", std::process::id()));
    std::fs::write(&file, b"data").expect("write");
    let path = std::ffi::CString::new(file.as_os_str().as_encoded_bytes()).expect("path");
    // SAFETY: the path and name are NUL-terminated and the value is
    // readable for its length during the call.
    let r = unsafe {
        libc::setxattr(
            path.as_ptr(),
            c"user.host".as_ptr(),
            b"from the host".as_ptr().cast(),
            13,
            0,
        )
    };
    assert_eq!(r, 0, "setxattr: {}", std::io::Error::last_os_error());
    let bin = compile(
        "xattr_show",
        r#"#include <stdio.h>
#include <string.h>
#include <sys/xattr.h>
static void show(const char *p) {
    char v[64] = {0}, l[256];
    ssize_t n = getxattr(p, "user.host", v, sizeof(v) - 1);
    ssize_t m = listxattr(p, l, sizeof(l));
    printf("%zd %s |", n, n >= 0 ? v : "-");
    for (ssize_t i = 0; i < m; i += strlen(l + i) + 1)
        if (strncmp(l + i, "user.", 5) == 0)
            printf(" %s", l + i);
    printf("\n");
}
int main(int argc, char **argv) {
    (void)argc;
    show(argv[1]);
    if (setxattr(argv[1], "user.added", "x", 1, 0) != 0)
        perror("setxattr");
    show(argv[1]);
    return 0;
}
"#,
    );
    let r = run(&["do", "--", &bin.to_string_lossy(), &file.to_string_lossy()]);
    // SAFETY: the path and name are NUL-terminated; a size query writes
    // nothing.
    let host_added = unsafe {
        libc::getxattr(
            path.as_ptr(),
            c"user.added".as_ptr(),
            std::ptr::null_mut(),
            0,
        )
    };
    let _ = std::fs::remove_file(&file);
    assert_eq!(host_added, -1, "a sandbox setxattr reached the host");
    assert_eq!(r.code(), Some(0), "stderr: {}", stderr(&r));
    assert_eq!(
        stdout(&r),
        "13 from the host | user.host\n13 from the host | user.added user.host\n"
    );
}

#[test]
fn strace_logs_each_syscall_with_result() {
    let r = run(&["--strace", "do", "--", "/bin/busybox", "true"]);
    assert_eq!(r.code(), Some(0));
    let err = stderr(&r);
    assert!(
        err.lines().any(|l| l.contains("exit_group(0) = ?")),
        "{err}"
    );
    let r = run(&[
        "--strace",
        "do",
        "--",
        "/bin/busybox",
        "cat",
        "/nonexistent",
    ]);
    let err = stderr(&r);
    assert!(
        err.lines().any(
            |l| l.contains(r#"openat(AT_FDCWD, "/nonexistent", O_RDONLY"#)
                && l.contains("= -1 ENOENT")
        ),
        "{err}"
    );
    assert!(
        err.lines()
            .any(|l| l.contains("brk(") && l.contains(") = 0x")),
        "{err}"
    );
}

#[test]
fn bad_invocations_get_one_line_errors() {
    // A plain data file of this repository (mode 0644).
    let cwd_file = std::env::current_dir().expect("cwd").join("Cargo.toml");
    let not_exec = cwd_file.to_string_lossy().into_owned();
    for (args, what) in [
        (vec!["do", "--", "/nonexistent/program"], "missing command"),
        (vec!["do", "--", not_exec.as_str()], "not executable"),
        (
            vec!["do", "--rootfs", "/nonexistent-root", "--", "/bin/true"],
            "bad rootfs",
        ),
        (vec!["do"], "no command"),
    ] {
        let r = run(&args);
        let err = stderr(&r);
        assert_ne!(r.code(), Some(0), "{what}: should fail");
        assert!(
            !err.contains("panicked") && !err.contains("backtrace"),
            "{what}: {err}"
        );
        assert_eq!(
            err.trim_end().lines().count(),
            1,
            "{what}: one-line error expected, got {err}"
        );
        assert!(!err.trim().is_empty(), "{what}: no error message");
    }
    let r = run(&["do", "--", "/nonexistent/program"]);
    assert_eq!(r.code(), Some(127), "{}", stderr(&r));
    let r = run(&["do", "--", not_exec.as_str()]);
    assert_eq!(r.code(), Some(126), "{}", stderr(&r));
}

/// The `/proc/<pid>` directory of the child of `parent` whose command line
/// holds `verb` (`boot` for the sentry, `gofer` for the gofer).
fn child_proc(parent: u32, verb: &[u8]) -> Option<PathBuf> {
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let cmdline = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
        let ppid = std::fs::read_to_string(e.path().join("stat"))
            .ok()
            .and_then(|s| {
                s.rsplit(')')
                    .next()
                    .and_then(|r| r.split_whitespace().nth(1))
                    .map(str::to_string)
            });
        let is_verb = cmdline.split(|&b| b == 0).any(|arg| arg == verb);
        (ppid == Some(parent.to_string()) && is_verb).then(|| e.path())
    })
}

/// Runs `body` on the `/proc/<pid>` of the `verb` process of a sandbox
/// that sleeps long enough to be looked at.
fn with_live_sandbox(verb: &[u8], body: impl FnOnce(&std::path::Path)) {
    let mut child = Command::new(rvisor())
        .args(["do", "--", "/bin/sleep", "3"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    std::thread::sleep(Duration::from_millis(1500));
    let proc = child_proc(child.id(), verb);
    if let Some(p) = &proc {
        body(p);
    }
    let _ = child.wait();
    assert!(
        proc.is_some(),
        "no {} process found",
        String::from_utf8_lossy(verb)
    );
}

fn assert_status(status: &str, line: &str, why: &str) {
    assert!(status.lines().any(|l| l == line), "{why}:\n{status}");
}

/// While a sandbox runs, its sentry has no capabilities, runs under a
/// seccomp filter and sees an empty root.
#[test]
fn sentry_is_confined() {
    with_live_sandbox(b"boot", |p| {
        let status = std::fs::read_to_string(p.join("status")).expect("status");
        assert_status(&status, "Seccomp:\t2", "sentry not under seccomp");
        assert_status(
            &status,
            "CapEff:\t0000000000000000",
            "sentry kept capabilities",
        );
        assert_status(&status, "NoNewPrivs:\t1", "no_new_privs not set");
        let root = std::fs::read_dir(p.join("root"))
            .expect("sentry root")
            .count();
        assert_eq!(root, 0, "the sentry's root is not empty");
    });
}

/// While a sandbox runs, its gofer keeps only CAP_DAC_READ_SEARCH (bit 2),
/// in every set, and runs under its seccomp filter.
#[test]
fn gofer_keeps_only_dac_read_search() {
    with_live_sandbox(b"gofer", |p| {
        let status = std::fs::read_to_string(p.join("status")).expect("status");
        assert_status(&status, "Seccomp:\t2", "gofer not under seccomp");
        assert_status(&status, "NoNewPrivs:\t1", "no_new_privs not set");
        for set in ["CapEff", "CapPrm", "CapBnd"] {
            let line = format!("{set}:\t0000000000000004");
            assert_status(&status, &line, "gofer keeps more than DAC_READ_SEARCH");
        }
        for set in ["CapInh", "CapAmb"] {
            let line = format!("{set}:\t0000000000000000");
            assert_status(&status, &line, "gofer keeps capabilities to pass on");
        }
    });
}

/// With only DAC_READ_SEARCH left, the gofer still serves files and
/// directories whatever their owner and mode (the sandbox's root may read
/// them all, as root may on Linux).
#[test]
fn gofer_reads_files_of_any_owner_and_mode() {
    let dir = busybox_root("modes");
    std::fs::create_dir(dir.join("private")).expect("mkdir");
    std::fs::write(dir.join("private/inside"), b"inside\n").expect("write");
    std::fs::write(dir.join("secret"), b"secret\n").expect("write");
    let nobody = Some(12345);
    for (path, mode) in [
        ("private/inside", 0o600),
        ("private", 0o000),
        ("secret", 0o000),
    ] {
        let path = dir.join(path);
        std::os::unix::fs::chown(&path, nobody, nobody).expect("chown");
        let perm = std::os::unix::fs::PermissionsExt::from_mode(mode);
        std::fs::set_permissions(&path, perm).expect("chmod");
    }
    let r = busybox_sh_in(&dir, "cat /secret; ls /private; cat /private/inside");
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(r.code(), Some(0), "stderr: {}", stderr(&r));
    assert_eq!(stdout(&r), "secret\ninside\ninside\n");
}

/// exec from a non-leader thread leaves one sentry thread for the
/// process: the old leader's (which forked the stub and traced its leader
/// thread) ends instead of waiting for the process to end.
#[test]
fn exec_from_a_thread_leaves_one_task_thread() {
    let bin = compile(
        "exec_from_thread",
        "#include <pthread.h>\n#include <unistd.h>\n\
         static void *t(void *a) { (void)a; execl(\"/bin/sleep\", \"sleep\", \"3\", (char *)0); return 0; }\n\
         int main(void) { pthread_t th; pthread_create(&th, 0, t, 0); for (;;) pause(); }\n",
    );
    let mut child = Command::new(rvisor())
        .args(["do", "--", bin.to_str().expect("utf-8 path")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    std::thread::sleep(Duration::from_millis(1500));
    let tasks = child_proc(child.id(), b"boot").map(|p| {
        std::fs::read_dir(p.join("task"))
            .map(|d| {
                d.flatten()
                    .filter(|t| {
                        std::fs::read_to_string(t.path().join("comm"))
                            .is_ok_and(|c| c.starts_with("task-"))
                    })
                    .count()
            })
            .unwrap_or(0)
    });
    let status = child.wait().expect("wait");
    assert!(status.success(), "{status:?}");
    assert_eq!(tasks, Some(1), "sentry threads running tasks");
}
