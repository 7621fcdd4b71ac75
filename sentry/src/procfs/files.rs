//! The root of `/proc` and its global files.

use std::fmt::Write as _;
use std::sync::{Arc, OnceLock};

use nix::errno::Errno;

use super::{pid::pid_dir, Attr, Entries, Gen, ProcDir, ProcFile, ProcLink};
use crate::kernel::ipc::{msg, sem, shm};
use crate::kernel::task::{current, kernel, lock, PID_MAX};
use crate::syscalls::info::{RELEASE, VERSION};
use crate::syscalls::mqueue as mq;
use crate::vfs::Inode;

/// What `/proc` passes through from the host, captured at boot before
/// the sentry loses sight of the host's filesystem.
#[derive(Debug)]
struct HostInfo {
    cpuinfo: Vec<u8>,
    ncpus: usize,
    boot_id: String,
}

static HOST: OnceLock<HostInfo> = OnceLock::new();

/// Reads what `/proc` needs from the host. Call once at boot, before the
/// sentry is confined (chroot makes the host's `/proc` unreachable).
pub fn init_host_info() {
    host();
}

fn host() -> &'static HostInfo {
    // Only the first call reads the host; called after confinement it
    // finds no cpuinfo and leaves the file empty.
    HOST.get_or_init(|| HostInfo {
        cpuinfo: std::fs::read("/proc/cpuinfo").unwrap_or_default(),
        ncpus: std::thread::available_parallelism().map_or(1, usize::from),
        boot_id: uuid(),
    })
}

/// CPUs the sandbox may run on.
pub(super) fn ncpus() -> usize {
    host().ncpus
}

/// A random (version 4) UUID.
fn uuid() -> String {
    let mut b = [0u8; 16];
    crate::syscalls::info::fill_random(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

fn sysinfo() -> libc::sysinfo {
    // SAFETY: sysinfo is plain old data; all-zero is a valid value.
    let mut si: libc::sysinfo = unsafe { std::mem::zeroed() };
    // SAFETY: sysinfo writes one struct through a valid pointer.
    if unsafe { libc::sysinfo(&mut si) } != 0 {
        // SAFETY: as above: a zeroed struct is valid.
        si = unsafe { std::mem::zeroed() };
    }
    si
}

fn meminfo() -> Result<Vec<u8>, Errno> {
    let si = sysinfo();
    let unit = u64::from(si.mem_unit.max(1));
    let kb = |v: u64| v.saturating_mul(unit) / 1024;
    let total = kb(si.totalram);
    let free = kb(si.freeram);
    let buffers = kb(si.bufferram);
    let shmem = kb(si.sharedram);
    let mut s = String::new();
    for (name, v) in [
        ("MemTotal", total),
        ("MemFree", free),
        ("MemAvailable", free + buffers),
        ("Buffers", buffers),
        ("Cached", 0),
        ("SwapCached", 0),
        ("Active", 0),
        ("Inactive", 0),
        ("SwapTotal", kb(si.totalswap)),
        ("SwapFree", kb(si.freeswap)),
        ("Dirty", 0),
        ("Writeback", 0),
        ("AnonPages", 0),
        ("Mapped", 0),
        ("Shmem", shmem),
        ("Slab", 0),
        ("CommitLimit", total / 2 + kb(si.totalswap)),
        ("Committed_AS", 0),
        ("VmallocTotal", 34_359_738_367),
        ("VmallocUsed", 0),
        ("VmallocChunk", 0),
        ("HugePages_Total", 0),
    ] {
        if name.starts_with("HugePages") {
            let _ = writeln!(s, "{:<16}{v:>8}", format!("{name}:"));
        } else {
            let _ = writeln!(s, "{:<16}{v:>8} kB", format!("{name}:"));
        }
    }
    s.push_str("Hugepagesize:       2048 kB\n");
    Ok(s.into_bytes())
}

/// Seconds since the sandbox booted.
fn uptime_secs() -> f64 {
    kernel().boot.elapsed().as_secs_f64()
}

fn uptime() -> Result<Vec<u8>, Errno> {
    let up = uptime_secs();
    #[allow(
        clippy::cast_precision_loss,
        reason = "a CPU count is far below f64's exact range"
    )]
    let idle = up * ncpus() as f64;
    Ok(format!("{up:.2} {idle:.2}\n").into_bytes())
}

fn loadavg() -> Result<Vec<u8>, Errno> {
    let k = kernel();
    let tasks = k.tasks();
    let last = tasks.iter().map(|t| t.tid).max().unwrap_or(0);
    Ok(format!("0.00 0.00 0.00 1/{} {last}\n", tasks.len()).into_bytes())
}

fn stat() -> Result<Vec<u8>, Errno> {
    let k = kernel();
    let n = ncpus();
    let up = k.boot.elapsed();
    let ticks = u64::try_from(up.as_millis() / 10).unwrap_or(u64::MAX);
    let (user, sys) = k.tasks().iter().fold((0u64, 0u64), |(u, s), t| {
        let (tu, ts) = crate::kernel::cputime::task_times(t);
        (u + tu / 10_000_000, s + ts / 10_000_000)
    });
    let ncpu = u64::try_from(n).unwrap_or(1);
    let idle = (ticks * ncpu).saturating_sub(user + sys);
    let mut s = format!("cpu  {user} 0 {sys} {idle} 0 0 0 0 0 0\n");
    for i in 0..n {
        let (u, sy, id) = if i == 0 {
            (user, sys, idle / ncpu)
        } else {
            (0, 0, idle / ncpu)
        };
        let _ = writeln!(s, "cpu{i} {u} 0 {sy} {id} 0 0 0 0 0 0");
    }
    let now = crate::vfs::Timespec::now().sec;
    let btime = now - i64::try_from(up.as_secs()).unwrap_or(0);
    let procs = k.groups().len();
    let _ = write!(
        s,
        "intr 0\nctxt 0\nbtime {btime}\nprocesses {procs}\nprocs_running 1\nprocs_blocked 0\nsoftirq 0 0 0 0 0 0 0 0 0 0 0\n"
    );
    Ok(s.into_bytes())
}

const FILESYSTEMS: &str = "nodev\tsysfs\nnodev\ttmpfs\nnodev\tbdev\nnodev\tproc\nnodev\tdevtmpfs\nnodev\tpipefs\nnodev\tanon_inodefs\nnodev\tdevpts\nnodev\tmqueue\n";

fn file(ino: u64, f: fn() -> Result<Vec<u8>, Errno>) -> Arc<dyn Inode> {
    ProcFile::make(Attr::root(ino, 0o444), Box::new(f))
}

fn fixed(ino: u64, text: impl Into<Vec<u8>>) -> Arc<dyn Inode> {
    ProcFile::fixed(Attr::root(ino, 0o444), text)
}

fn link(ino: u64, target: Gen) -> Arc<dyn Inode> {
    ProcLink::make(Attr::root(ino, 0o777), target, None)
}

fn dir(ino: u64, entries: Vec<(&'static str, Arc<dyn Inode>)>) -> Arc<dyn Inode> {
    ProcDir::fixed(Attr::root(ino, 0o555), entries)
}

fn sys_dir() -> Arc<dyn Inode> {
    let random = dir(
        110,
        vec![
            ("boot_id", fixed(111, format!("{}\n", host().boot_id))),
            (
                "uuid",
                file(112, || Ok(format!("{}\n", uuid()).into_bytes())),
            ),
        ],
    );
    let kernel_dir = dir(
        101,
        vec![
            ("cap_last_cap", fixed(102, "40\n")),
            (
                "domainname",
                file(103, || {
                    let mut v = lock(&kernel().domainname).clone();
                    v.push(b'\n');
                    Ok(v)
                }),
            ),
            (
                "hostname",
                file(104, || {
                    let mut v = lock(&kernel().hostname).clone();
                    v.push(b'\n');
                    Ok(v)
                }),
            ),
            ("ngroups_max", fixed(105, "65536\n")),
            ("osrelease", fixed(106, format!("{RELEASE}\n"))),
            ("ostype", fixed(107, "Linux\n")),
            ("pid_max", fixed(108, format!("{PID_MAX}\n"))),
            ("random", random),
            ("version", fixed(109, format!("{VERSION}\n"))),
            // The System V IPC limits the sentry enforces.
            ("msgmax", fixed(140, format!("{}\n", msg::MSGMAX))),
            ("msgmnb", fixed(141, format!("{}\n", msg::MSGMNB))),
            ("msgmni", fixed(142, format!("{}\n", msg::MSGMNI))),
            (
                "sem",
                fixed(
                    143,
                    format!(
                        "{}\t{}\t{}\t{}\n",
                        sem::SEMMSL,
                        sem::SEMMNS,
                        sem::SEMOPM,
                        sem::SEMMNI
                    ),
                ),
            ),
            ("shmall", fixed(144, format!("{}\n", shm::SHMALL))),
            ("shmmax", fixed(145, format!("{}\n", shm::SHMMAX))),
            ("shmmni", fixed(146, format!("{}\n", shm::SHMMNI))),
        ],
    );
    let vm = dir(
        120,
        vec![
            ("max_map_count", fixed(121, "65530\n")),
            ("overcommit_memory", fixed(122, "0\n")),
        ],
    );
    let mqueue = dir(
        150,
        vec![
            ("msg_default", fixed(151, format!("{}\n", mq::MSG_DEFAULT))),
            ("msg_max", fixed(152, format!("{}\n", mq::MSG_MAX))),
            (
                "msgsize_default",
                fixed(153, format!("{}\n", mq::MSGSIZE_DEFAULT)),
            ),
            ("msgsize_max", fixed(154, format!("{}\n", mq::MSGSIZE_MAX))),
            ("queues_max", fixed(155, format!("{}\n", mq::QUEUES_MAX))),
        ],
    );
    let fs = dir(
        130,
        vec![
            ("file-max", fixed(131, "9223372036854775807\n")),
            ("mqueue", mqueue),
            ("nr_open", fixed(132, "1048576\n")),
            (
                "pipe-max-size",
                fixed(133, format!("{}\n", crate::vfs::pipe::PIPE_MAX_SIZE)),
            ),
        ],
    );
    // What the sandbox's sockets use (`vfs/unix.rs`, the netstack).
    let buf = format!("{}\n", crate::vfs::unix::DEFAULT_BUF);
    let core = dir(
        160,
        vec![
            ("rmem_default", fixed(161, buf.clone())),
            ("rmem_max", fixed(162, buf.clone())),
            (
                "somaxconn",
                fixed(163, format!("{}\n", crate::vfs::unix::SOMAXCONN)),
            ),
            ("wmem_default", fixed(164, buf.clone())),
            ("wmem_max", fixed(165, buf)),
        ],
    );
    let ports = netstack::EPHEMERAL;
    let ipv4 = dir(
        170,
        vec![
            (
                "ip_local_port_range",
                fixed(171, format!("{}\t{}\n", ports.start(), ports.end())),
            ),
            ("ip_unprivileged_port_start", fixed(172, "1024\n")),
            ("tcp_fin_timeout", fixed(173, "60\n")),
        ],
    );
    let net = dir(159, vec![("core", core), ("ipv4", ipv4)]);
    dir(
        100,
        vec![("fs", fs), ("kernel", kernel_dir), ("net", net), ("vm", vm)],
    )
}

/// Every entry of `/proc`: the fixed files, then one directory per process.
pub(super) fn root_children() -> Result<Entries, Errno> {
    let fixed_entries: Vec<(&str, Arc<dyn Inode>)> = vec![
        ("cpuinfo", fixed(2, host().cpuinfo.clone())),
        ("filesystems", fixed(3, FILESYSTEMS)),
        ("loadavg", file(4, loadavg)),
        ("meminfo", file(5, meminfo)),
        ("mounts", link(6, Box::new(|| Ok(b"self/mounts".to_vec())))),
        (
            "self",
            link(
                7,
                Box::new(|| {
                    current()
                        .map(|t| t.tg.pid.to_string().into_bytes())
                        .ok_or(Errno::ENOENT)
                }),
            ),
        ),
        ("stat", file(8, stat)),
        ("sys", sys_dir()),
        (
            "thread-self",
            link(
                9,
                Box::new(|| {
                    current()
                        .map(|t| format!("{}/task/{}", t.tg.pid, t.tid).into_bytes())
                        .ok_or(Errno::ENOENT)
                }),
            ),
        ),
        ("uptime", file(10, uptime)),
        (
            "version",
            fixed(
                11,
                format!("Linux version {RELEASE} (rvisor@rvisor) (rvisor) {VERSION}\n"),
            ),
        ),
    ];
    let mut out: Entries = fixed_entries
        .into_iter()
        .map(|(n, i)| (n.as_bytes().to_vec(), i))
        .collect();
    for tg in kernel().groups() {
        out.push((tg.pid.to_string().into_bytes(), pid_dir(&tg, None)));
    }
    Ok(out)
}
