//! rvisor benchmarks: every figure is a ratio to native measured in the
//! same run.
//!
//! `cargo run --release -p rvisor-benches` builds the small C programs in
//! `benches/progs/` with the system compiler and prints one table.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn rvisor() -> PathBuf {
    std::env::var_os("RVISOR_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target/release/rvisor"))
}

fn build(name: &str, out: &Path) -> PathBuf {
    let src = workspace().join("benches/progs").join(format!("{name}.c"));
    let bin = out.join(name);
    let st = Command::new("gcc")
        .args(["-O2", "-static", "-o"])
        .arg(&bin)
        .arg(&src)
        .status()
        .expect("gcc");
    assert!(st.success(), "building {name}");
    bin
}

fn run_ns(cmd: &mut Command) -> f64 {
    let out = cmd.output().expect("run benchmark program");
    assert!(
        out.status.success(),
        "benchmark program failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("ns/op")
}

fn pin_to_cpu(pid: libc::pid_t, cpu: usize) {
    // SAFETY: cpu_set_t is plain data; the calls only read it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(pid, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

/// The floor: a tracer doing nothing but PTRACE_SYSEMU + waitpid (and the
/// register read/write every emulator needs) for each getpid of a child.
fn raw_sysemu_ns(n: u64) -> (f64, f64) {
    pin_to_cpu(0, 0);
    // SAFETY: the child only calls async-signal-safe functions and _exit.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        // SAFETY: plain system calls in the child.
        unsafe {
            libc::ptrace(libc::PTRACE_TRACEME, 0, 0, 0);
            libc::raise(libc::SIGSTOP);
            for _ in 0..n {
                libc::syscall(libc::SYS_getpid);
            }
            libc::_exit(0);
        }
    }
    let mut status = 0;
    // SAFETY: waiting for and tracing our own child.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    let mut bare = 0.0;
    let mut with_regs = 0.0;
    for (round, emulate_regs) in [(0, false), (1, true)] {
        let _ = round;
        let start = Instant::now();
        for _ in 0..n / 2 {
            // SAFETY: standard ptrace requests on our stopped child.
            unsafe {
                if emulate_regs {
                    let mut regs: libc::user_regs_struct = std::mem::zeroed();
                    libc::ptrace(libc::PTRACE_GETREGS, pid, 0, &mut regs);
                    regs.rax = u64::try_from(pid).unwrap_or(0);
                    libc::ptrace(libc::PTRACE_SETREGS, pid, 0, &regs);
                }
                libc::ptrace(libc::PTRACE_SYSEMU, pid, 0, 0);
                libc::waitpid(pid, &mut status, 0);
            }
        }
        let ns = start.elapsed().as_nanos() as f64 / (n / 2) as f64;
        if emulate_regs {
            with_regs = ns;
        } else {
            bare = ns;
        }
    }
    // SAFETY: killing and reaping our own child.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
        libc::waitpid(pid, &mut status, 0);
    }
    (bare, with_regs)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn time_cmd(cmd: &mut Command, runs: usize) -> f64 {
    let mut v = Vec::new();
    for _ in 0..runs {
        let s = Instant::now();
        let st = cmd.status().expect("run");
        assert!(st.success());
        v.push(s.elapsed().as_secs_f64() * 1e3);
    }
    median(v)
}

fn main() {
    let out = workspace().join("target/bench-progs");
    std::fs::create_dir_all(&out).expect("mkdir");
    let getpid = build("getpid_loop", &out);
    let n = 200_000u64;
    let native = median(
        (0..5)
            .map(|_| run_ns(Command::new(&getpid).arg(n.to_string())))
            .collect(),
    );
    let (floor_bare, floor_regs) = raw_sysemu_ns(n);
    let sandboxed = median(
        (0..3)
            .map(|_| {
                run_ns(
                    Command::new(rvisor())
                        .args(["do", "--"])
                        .arg(&getpid)
                        .arg(n.to_string()),
                )
            })
            .collect(),
    );
    println!("getpid (ns/call)");
    println!("  native                         {native:>10.1}");
    println!("  raw PTRACE_SYSEMU floor        {floor_bare:>10.1}");
    println!("  raw floor + GETREGS/SETREGS    {floor_regs:>10.1}");
    println!("  rvisor do                      {sandboxed:>10.1}");
    println!(
        "  rvisor / native                {:>10.1}x",
        sandboxed / native
    );
    println!(
        "  rvisor / raw floor             {:>10.2}x",
        sandboxed / floor_bare
    );
    println!(
        "  rvisor / floor with regs       {:>10.2}x",
        sandboxed / floor_regs
    );

    println!("process, thread, IPC and loopback TCP (median of 3; ratio = rvisor / native, >1 is slower)");
    for (name, arg, unit, higher_is_better) in [
        ("fork_exec_wait", "100", "us/cycle", false),
        ("pipe_throughput", "256", "MB/s", true),
        ("thread_create_join", "200", "us/pair", false),
        ("futex_pingpong", "2000", "us/round trip", false),
        ("tcp_throughput", "256", "MB/s", true),
        ("tcp_request_response", "5000", "us/round trip", false),
    ] {
        let bin = build(name, &out);
        let nat = median(
            (0..3)
                .map(|_| run_ns(Command::new(&bin).arg(arg)))
                .collect(),
        );
        let sbx = median(
            (0..3)
                .map(|_| run_ns(Command::new(rvisor()).args(["do", "--"]).arg(&bin).arg(arg)))
                .collect(),
        );
        let ratio = if higher_is_better {
            nat / sbx
        } else {
            sbx / nat
        };
        println!("  {name:<22} native {nat:>10.2} rvisor {sbx:>10.2} {unit:<14} {ratio:>7.1}x");
    }

    let t_native = time_cmd(&mut Command::new("/bin/true"), 20);
    let t_rvisor = time_cmd(Command::new(rvisor()).args(["do", "--", "/bin/true"]), 10);
    println!("start-up (ms, median)");
    println!("  fork+exec /bin/true            {t_native:>10.2}");
    println!("  rvisor do /bin/true            {t_rvisor:>10.2}");
    println!(
        "  ratio                          {:>10.1}x",
        t_rvisor / t_native
    );
}
