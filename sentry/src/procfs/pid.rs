//! `/proc/PID` and `/proc/PID/task/TID`.

use std::fmt::Write as _;
use std::sync::{Arc, Weak};

use nix::errno::Errno;

use super::{
    file_link_target, file_link_text, path_for_reader, Attr, Children, Entries, Gen, Magic,
    ProcDir, ProcFile, ProcLink, Sink,
};
use crate::kernel::signal::{SigSet, SIG_DFL, SIG_IGN};
use crate::kernel::task::{current, kernel, lock, Task, ThreadGroup, RLIM_INFINITY};
use crate::vfs::{Dentry, Inode};

/// Clock ticks per second (`USER_HZ`).
const HZ: u64 = 100;
const PAGE: u64 = 4096;

/// Inode number of an entry of a process or task directory: the id in the
/// high half, then a task-level bit, the entry kind and its index.
fn ino(id: i32, task_level: bool, kind: u64, n: u64) -> u64 {
    let id = u64::try_from(id).unwrap_or(0);
    (id << 32) | (u64::from(task_level) << 31) | (kind << 24) | (n & 0xff_ffff)
}

const KIND_DIR: u64 = 0;
const KIND_ENTRY: u64 = 1;
const KIND_FD: u64 = 2;
const KIND_FDINFO: u64 = 3;

/// Which process (and, in `task/TID`, which thread) a directory shows.
#[derive(Debug, Clone)]
struct Who {
    tg: Weak<ThreadGroup>,
    pid: i32,
    /// The thread shown: the leader for `/proc/PID`.
    tid: i32,
    task_level: bool,
    uid: u32,
    gid: u32,
}

impl Who {
    fn tg(&self) -> Result<Arc<ThreadGroup>, Errno> {
        self.tg.upgrade().ok_or(Errno::ESRCH)
    }

    /// The thread shown, while it lives.
    fn task(&self) -> Option<Arc<Task>> {
        let tg = self.tg.upgrade()?;
        tg.tasks()
            .into_iter()
            .find(|t| t.tid == self.tid)
            .or_else(|| kernel().task(self.tid).filter(|t| t.tg.pid == self.pid))
            .or_else(|| (!self.task_level).then(|| tg.leader()).flatten())
    }

    fn attr(&self, kind: u64, n: u64, perm: u32) -> Attr {
        Attr {
            ino: ino(self.tid, self.task_level, kind, n),
            perm,
            uid: self.uid,
            gid: self.gid,
        }
    }

    fn gen(&self, f: fn(&Who) -> Result<Vec<u8>, Errno>) -> Gen {
        let w = self.clone();
        Box::new(move || f(&w))
    }
}

/// The directory of process `tg` (`tid` = None) or of its thread `tid`.
pub(super) fn pid_dir(tg: &Arc<ThreadGroup>, tid: Option<i32>) -> Arc<dyn Inode> {
    let creds = lock(&tg.creds).clone();
    let who = Who {
        tg: Arc::downgrade(tg),
        pid: tg.pid,
        tid: tid.unwrap_or(tg.pid),
        task_level: tid.is_some(),
        uid: creds.euid,
        gid: creds.egid,
    };
    let attr = who.attr(KIND_DIR, 0, 0o555);
    ProcDir::make(attr, Arc::new(move || Ok(entries(&who))))
}

type FileGen = fn(&Who) -> Result<Vec<u8>, Errno>;

/// The regular files of a process directory, with their permissions.
const FILES: &[(&str, u32, FileGen)] = &[
    ("auxv", 0o400, auxv),
    ("cgroup", 0o444, |_| Ok(b"0::/\n".to_vec())),
    ("cmdline", 0o444, cmdline),
    ("comm", 0o644, comm),
    ("environ", 0o400, environ),
    ("limits", 0o444, limits),
    // No audit: the "unset" login uid and session, as a process that no
    // login set up shows.
    ("loginuid", 0o644, |_| Ok(b"4294967295".to_vec())),
    ("maps", 0o444, maps),
    ("mountinfo", 0o444, |_| Ok(mountinfo())),
    ("mounts", 0o444, |_| {
        Ok(kernel().vfs.mounts_text().into_bytes())
    }),
    ("oom_score_adj", 0o644, |_| Ok(b"0\n".to_vec())),
    ("oom_score", 0o444, |_| Ok(b"0\n".to_vec())),
    ("sessionid", 0o444, |_| Ok(b"4294967295".to_vec())),
    ("smaps", 0o444, smaps),
    ("smaps_rollup", 0o444, smaps_rollup),
    ("stat", 0o444, stat),
    ("statm", 0o444, statm),
    ("status", 0o444, status),
];

fn entries(who: &Who) -> Entries {
    let mut out: Entries = Vec::new();
    let mut n = 0u64;
    let mut next = || {
        n += 1;
        n
    };
    for &(name, perm, f) in FILES {
        let attr = who.attr(KIND_ENTRY, next(), perm);
        let inode = match name {
            "comm" => ProcFile::writable(attr, who.gen(f), comm_sink(who)),
            "oom_score_adj" => ProcFile::writable(attr, who.gen(f), Arc::new(oom_score_adj_write)),
            _ => ProcFile::make(attr, who.gen(f)),
        };
        out.push((name.as_bytes().to_vec(), inode));
    }
    for (name, which) in [("cwd", 0u8), ("exe", 1), ("root", 2)] {
        let attr = who.attr(KIND_ENTRY, next(), 0o777);
        out.push((name.as_bytes().to_vec(), path_link(who, which, attr)));
    }
    let fd_attr = who.attr(KIND_ENTRY, next(), 0o500);
    out.push((b"fd".to_vec(), fd_dir(who, fd_attr, false)));
    let fdinfo_attr = who.attr(KIND_ENTRY, next(), 0o500);
    out.push((b"fdinfo".to_vec(), fd_dir(who, fdinfo_attr, true)));
    let task_attr = who.attr(KIND_ENTRY, next(), 0o555);
    if !who.task_level {
        let w = who.clone();
        let children: Children = Arc::new(move || {
            let tg = w.tg()?;
            Ok(tg
                .tasks()
                .iter()
                .map(|t| (t.tid.to_string().into_bytes(), pid_dir(&tg, Some(t.tid))))
                .collect())
        });
        out.push((b"task".to_vec(), ProcDir::make(task_attr, children)));
    }
    out
}

/// `cwd` (0), `exe` (1) or `root` (2): magic links to a dentry.
fn path_link(who: &Who, which: u8, attr: Attr) -> Arc<dyn Inode> {
    let w = who.clone();
    let target = move || -> Result<Arc<Dentry>, Errno> {
        let tg = w.tg()?;
        match which {
            0 => Ok(lock(&tg.fs).cwd.clone()),
            1 => lock(&tg.exec).exe.clone().ok_or(Errno::ENOENT),
            _ => Ok(lock(&tg.fs).root.clone()),
        }
    };
    let target = Arc::new(target);
    let t2 = Arc::clone(&target);
    let text: Gen = Box::new(move || Ok(path_for_reader(target()?.as_ref())));
    let magic: Magic = Box::new(move |_| t2());
    ProcLink::make(attr, text, Some(magic))
}

/// `fd/` (links) or `fdinfo/` (files) of a process.
fn fd_dir(who: &Who, attr: Attr, info: bool) -> Arc<dyn Inode> {
    let w = who.clone();
    let children: Children = Arc::new(move || {
        let tg = w.tg()?;
        let fds = tg.fds();
        let owner = (w.uid, w.gid);
        Ok(fds
            .fds()
            .into_iter()
            .map(|(fd, file)| {
                let n = u64::try_from(fd).unwrap_or(0);
                let name = fd.to_string().into_bytes();
                let inode = if info {
                    let attr = w.attr(KIND_FDINFO, n, 0o444);
                    let cloexec = fds.get_cloexec(fd).unwrap_or(false);
                    ProcFile::make(attr, Box::new(move || Ok(fdinfo(&file, cloexec))))
                } else {
                    let attr = w.attr(KIND_FD, n, 0o700);
                    let f2 = Arc::clone(&file);
                    let text: Gen = Box::new(move || Ok(file_link_text(&file)));
                    let magic: Magic = Box::new(move |link| Ok(file_link_target(&f2, link, owner)));
                    ProcLink::make(attr, text, Some(magic))
                };
                (name, inode)
            })
            .collect())
    });
    ProcDir::make(attr, children)
}

fn fdinfo(file: &crate::vfs::OpenFile, cloexec: bool) -> Vec<u8> {
    let pos = *lock(&file.pos);
    let mut flags = file.flags();
    if cloexec {
        flags |= libc::O_CLOEXEC;
    }
    let ino = file.stat().map(|s| s.ino).unwrap_or(0);
    format!("pos:\t{pos}\nflags:\t0{flags:o}\nmnt_id:\t1\nino:\t{ino}\n").into_bytes()
}

/// Reads `start..end` of the process's memory (argv, environment).
fn mem_range(who: &Who, start: u64, end: u64) -> Result<Vec<u8>, Errno> {
    let tg = who.tg()?;
    if end <= start || lock(&tg.state).zombie {
        return Ok(Vec::new());
    }
    let len = usize::try_from(end - start).map_err(|_| Errno::EINVAL)?;
    let mut buf = vec![0u8; len.min(1 << 20)];
    // A process that unmapped its arguments shows none, as on Linux.
    match tg.mm().copy_in(start, &mut buf) {
        Ok(()) => Ok(buf),
        Err(_) => Ok(Vec::new()),
    }
}

fn cmdline(who: &Who) -> Result<Vec<u8>, Errno> {
    let (s, e) = {
        let tg = who.tg()?;
        let x = lock(&tg.exec);
        (x.arg_start, x.arg_end)
    };
    mem_range(who, s, e)
}

fn environ(who: &Who) -> Result<Vec<u8>, Errno> {
    let (s, e) = {
        let tg = who.tg()?;
        let x = lock(&tg.exec);
        (x.env_start, x.env_end)
    };
    mem_range(who, s, e)
}

fn auxv(who: &Who) -> Result<Vec<u8>, Errno> {
    let tg = who.tg()?;
    let x = lock(&tg.exec);
    let mut out = Vec::new();
    for &(k, v) in x.auxv.iter().chain(std::iter::once(&(0, 0))) {
        out.extend_from_slice(&k.to_ne_bytes());
        out.extend_from_slice(&v.to_ne_bytes());
    }
    Ok(out)
}

fn comm_of(who: &Who) -> Vec<u8> {
    match who.task() {
        Some(t) => t.comm(),
        None => who
            .tg
            .upgrade()
            .and_then(|tg| lock(&tg.exec).exe.as_ref().map(|d| d.name.clone()))
            .unwrap_or_default(),
    }
}

/// Writing `comm` renames the thread (the first 15 bytes, as
/// `PR_SET_NAME`); Linux keeps a trailing newline as part of the name.
fn comm_sink(who: &Who) -> Sink {
    let w = who.clone();
    Arc::new(move |buf: &[u8]| {
        let task = w.task().ok_or(Errno::ESRCH)?;
        let name = &buf[..buf.len().min(15)];
        let name = name.split(|&c| c == 0).next().unwrap_or_default();
        *lock(&task.comm) = name.to_vec();
        Ok(buf.len())
    })
}

/// `oom_score_adj` accepts -1000..=1000 and has no effect here.
fn oom_score_adj_write(buf: &[u8]) -> Result<usize, Errno> {
    let v: i32 = std::str::from_utf8(buf)
        .map_err(|_| Errno::EINVAL)?
        .trim()
        .parse()
        .map_err(|_| Errno::EINVAL)?;
    if !(-1000..=1000).contains(&v) {
        return Err(Errno::EINVAL);
    }
    Ok(buf.len())
}

fn comm(who: &Who) -> Result<Vec<u8>, Errno> {
    let mut c = comm_of(who);
    c.push(b'\n');
    Ok(c)
}

fn maps(who: &Who) -> Result<Vec<u8>, Errno> {
    let tg = who.tg()?;
    if lock(&tg.state).zombie {
        return Ok(Vec::new());
    }
    Ok(tg.mm().maps().into_bytes())
}

/// (state letter, description) as `stat` and `status` show them.
fn state(who: &Who, tg: &ThreadGroup) -> (char, &'static str) {
    if lock(&tg.state).zombie {
        return ('Z', "zombie");
    }
    let running = current().is_some_and(|c| {
        if who.task_level {
            c.tid == who.tid
        } else {
            c.tg.pid == who.pid
        }
    });
    // The reader itself is in a syscall; any other thread that runs
    // application code is running, one that waits in the sentry sleeps.
    let in_app = |t: &Arc<Task>| t.in_app_code();
    let app = if who.task_level {
        who.task().is_some_and(|t| in_app(&t))
    } else {
        tg.tasks().iter().any(in_app)
    };
    if running || app {
        ('R', "running")
    } else {
        ('S', "sleeping")
    }
}

/// The `smaps` fields of one mapping (or of all, for `smaps_rollup`).
fn smaps_fields(s: &mut String, size: u64, rss: u64, anon: bool) {
    let kb = |b: u64| b / 1024;
    let anon_kb = if anon { kb(rss) } else { 0 };
    let _ = write!(
        s,
        "Size:           {:8} kB\nKernelPageSize: {:8} kB\nMMUPageSize:    {:8} kB\nRss:            {:8} kB\nPss:            {:8} kB\nPss_Dirty:      {:8} kB\nShared_Clean:   {:8} kB\nShared_Dirty:   {:8} kB\nPrivate_Clean:  {:8} kB\nPrivate_Dirty:  {:8} kB\nReferenced:     {:8} kB\nAnonymous:      {:8} kB\nKSM:            {:8} kB\nLazyFree:       {:8} kB\nAnonHugePages:  {:8} kB\nShmemPmdMapped: {:8} kB\nFilePmdMapped:  {:8} kB\nShared_Hugetlb: {:8} kB\nPrivate_Hugetlb:{:8} kB\nSwap:           {:8} kB\nSwapPss:        {:8} kB\nLocked:         {:8} kB\n",
        kb(size), 4, 4, kb(rss), kb(rss), anon_kb, 0, 0, kb(rss) - anon_kb, anon_kb, kb(rss), anon_kb, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
    );
}

/// Whether a `maps` line names an anonymous mapping (no file, or the
/// heap and stack pseudo-names).
fn is_anon(line: &str) -> bool {
    let name = line.split_whitespace().nth(5).unwrap_or("");
    name.is_empty() || name.starts_with('[')
}

fn smaps(who: &Who) -> Result<Vec<u8>, Errno> {
    let tg = who.tg()?;
    if lock(&tg.state).zombie {
        return Ok(Vec::new());
    }
    let mut s = String::new();
    for (line, size, rss) in tg.mm().smaps_usage() {
        s.push_str(&line);
        smaps_fields(&mut s, size, rss, is_anon(&line));
        s.push_str("THPeligible:    0\nVmFlags: rd wr mr mw me ac\n");
    }
    Ok(s.into_bytes())
}

fn smaps_rollup(who: &Who) -> Result<Vec<u8>, Errno> {
    let tg = who.tg()?;
    if lock(&tg.state).zombie {
        return Ok(Vec::new());
    }
    let vmas = tg.mm().smaps_usage();
    let (lo, hi) = vmas
        .iter()
        .fold((u64::MAX, 0u64), |(lo, hi), (line, _, _)| {
            let mut r = line.split(['-', ' ']);
            let a = r
                .next()
                .and_then(|x| u64::from_str_radix(x, 16).ok())
                .unwrap_or(lo);
            let b = r
                .next()
                .and_then(|x| u64::from_str_radix(x, 16).ok())
                .unwrap_or(hi);
            (lo.min(a), hi.max(b))
        });
    let (size, rss, anon) = vmas.iter().fold((0, 0, 0), |(s, r, a), (line, sz, rs)| {
        (s + sz, r + rs, a + if is_anon(line) { *rs } else { 0 })
    });
    let mut s = if vmas.is_empty() {
        String::new()
    } else {
        format!("{lo:08x}-{hi:08x} ---p 00000000 00:00 0                          [rollup]\n")
    };
    smaps_fields(&mut s, size, rss, false);
    // The rollup has no Size line and counts anonymous pages apart.
    let s = s
        .lines()
        .filter(|l| !l.starts_with("Size:") && !l.contains("PageSize:"))
        .map(|l| {
            if l.starts_with("Anonymous:") {
                format!("Anonymous:      {:8} kB\n", anon / 1024)
            } else {
                format!("{l}\n")
            }
        })
        .collect::<String>();
    Ok(s.into_bytes())
}

/// Sizes in bytes: (vm, rss).
fn usage(tg: &ThreadGroup) -> (u64, u64) {
    if lock(&tg.state).zombie {
        return (0, 0);
    }
    tg.mm().usage()
}

/// CPU time (user, system) in ns of the thread shown, or of every thread
/// for a process.
fn cpu_ns(who: &Who, tg: &ThreadGroup) -> (u64, u64) {
    if who.task_level {
        who.task()
            .map_or((0, 0), |t| crate::kernel::cputime::task_times(&t))
    } else {
        crate::kernel::cputime::group_times(tg)
    }
}

/// Signal sets: (thread pending, shared pending, blocked, ignored, caught).
fn sigsets(who: &Who, tg: &ThreadGroup) -> (u64, u64, u64, u64, u64) {
    let (pnd, blk) = match who.task() {
        Some(t) => {
            // One lock at a time: the signal code takes these in its own
            // order.
            let pnd = lock(&t.pending).set().0;
            let blk = lock(&t.mask).0;
            (pnd, blk)
        }
        None => (0, 0),
    };
    let shd = lock(&tg.shared_pending).set().0;
    let h = lock(&tg.sighand).clone();
    let (mut ign, mut cgt) = (0u64, 0u64);
    for sig in 1..=64 {
        let a = h.get(sig);
        if a.handler == SIG_IGN {
            ign |= SigSet::bit(sig);
        } else if a.handler != SIG_DFL {
            cgt |= SigSet::bit(sig);
        }
    }
    (pnd, shd, blk, ign, cgt)
}

fn ticks(ns: u64) -> u64 {
    ns / (1_000_000_000 / HZ)
}

fn stat(who: &Who) -> Result<Vec<u8>, Errno> {
    let tg = who.tg()?;
    let (st, _) = state(who, &tg);
    let ppid = tg.parent().map_or(0, |p| p.pid);
    let (pgid, sid, exit_signal) = {
        let s = lock(&tg.state);
        (s.pgid, s.sid, s.exit_signal)
    };
    let nthreads = tg.tasks().len().max(1);
    let start = ticks(
        u64::try_from(tg.start.saturating_duration_since(kernel().boot).as_nanos())
            .unwrap_or(u64::MAX),
    );
    let (vm, rss) = usage(&tg);
    let (ut, stt) = cpu_ns(who, &tg);
    let (cut, cst) = *lock(&tg.child_times);
    let rsslim = tg.rlimit(libc::RLIMIT_RSS).cur;
    let (pnd, shd, blk, ign, cgt) = sigsets(who, &tg);
    let (arg_start, arg_end, env_start, env_end) = {
        let x = lock(&tg.exec);
        (x.arg_start, x.arg_end, x.env_start, x.env_end)
    };
    let exit_code = lock(&tg.state).exit.map_or(0, |e| e.wait_status());
    let comm = String::from_utf8_lossy(&comm_of(who)).into_owned();
    let mut s = format!(
        "{} ({comm}) {st} {ppid} {pgid} {sid} 0 -1 4194560 0 0 0 0 {} {} {} {} 20 0 {nthreads} 0 {start} {vm} {} {rsslim}",
        who.tid,
        ticks(ut),
        ticks(stt),
        ticks(cut),
        ticks(cst),
        rss / PAGE,
    );
    // startcode endcode startstack kstkesp kstkeip signal blocked sigignore
    // sigcatch wchan nswap cnswap exit_signal processor rt_priority policy
    // delayacct_blkio_ticks guest_time cguest_time start_data end_data
    // start_brk arg_start arg_end env_start env_end exit_code
    let _ = writeln!(
        s,
        " 0 0 0 0 0 {} {blk} {ign} {cgt} 0 0 0 {exit_signal} 0 0 0 0 0 0 0 0 0 {arg_start} {arg_end} {env_start} {env_end} {exit_code}",
        pnd | shd,
    );
    Ok(s.into_bytes())
}

fn statm(who: &Who) -> Result<Vec<u8>, Errno> {
    let tg = who.tg()?;
    let (vm, rss) = usage(&tg);
    Ok(format!("{} {} 0 0 0 {} 0\n", vm / PAGE, rss / PAGE, vm / PAGE).into_bytes())
}

fn status(who: &Who) -> Result<Vec<u8>, Errno> {
    let tg = who.tg()?;
    let (st, desc) = state(who, &tg);
    let ppid = tg.parent().map_or(0, |p| p.pid);
    let (pgid, sid) = {
        let s = lock(&tg.state);
        (s.pgid, s.sid)
    };
    let umask = lock(&tg.fs).umask;
    let c = lock(&tg.creds).clone();
    let fdsize = tg.fds().fds().last().map_or(0, |(fd, _)| *fd + 1);
    let fdsize = (fdsize.max(1) + 63) / 64 * 64;
    let groups: String = c.groups.iter().map(|g| format!("{g} ")).collect();
    let (vm, rss) = usage(&tg);
    let nthreads = tg.tasks().len().max(1);
    let (pnd, shd, blk, ign, cgt) = sigsets(who, &tg);
    let queued = who
        .task()
        .map_or(0, |t| lock(&t.pending).set().0.count_ones())
        + lock(&tg.shared_pending).set().0.count_ones();
    let sigq_max = tg.rlimit(libc::RLIMIT_SIGPENDING).cur;
    let caps = (c.cap_inh, c.cap_perm, c.cap_eff, c.cap_bset, c.cap_amb);
    let ncpu = super::files::ncpus();
    let mut s = String::new();
    let comm = String::from_utf8_lossy(&comm_of(who)).into_owned();
    let _ = write!(
        s,
        "Name:\t{comm}\nUmask:\t{umask:04o}\nState:\t{st} ({desc})\nTgid:\t{}\nNgid:\t0\nPid:\t{}\nPPid:\t{ppid}\nTracerPid:\t0\n",
        who.pid, who.tid
    );
    let _ = write!(
        s,
        "Uid:\t{}\t{}\t{}\t{}\nGid:\t{}\t{}\t{}\t{}\nFDSize:\t{fdsize}\nGroups:\t{groups}\n",
        c.uid, c.euid, c.suid, c.fsuid, c.gid, c.egid, c.sgid, c.fsgid
    );
    let _ = write!(
        s,
        "NStgid:\t{}\nNSpid:\t{}\nNSpgid:\t{pgid}\nNSsid:\t{sid}\n",
        who.pid, who.tid
    );
    let kb = |b: u64| b / 1024;
    let _ = write!(
        s,
        "VmPeak:\t{:8} kB\nVmSize:\t{:8} kB\nVmLck:\t{:8} kB\nVmPin:\t{:8} kB\nVmHWM:\t{:8} kB\nVmRSS:\t{:8} kB\nRssAnon:\t{:8} kB\nRssFile:\t{:8} kB\nRssShmem:\t{:8} kB\nVmData:\t{:8} kB\nVmStk:\t{:8} kB\nVmExe:\t{:8} kB\nVmLib:\t{:8} kB\nVmPTE:\t{:8} kB\nVmSwap:\t{:8} kB\n",
        kb(vm), kb(vm), 0, 0, kb(rss), kb(rss), kb(rss), 0, 0, kb(vm), 132, 0, 0, 0, 0
    );
    let _ = write!(
        s,
        "Threads:\t{nthreads}\nSigQ:\t{queued}/{sigq_max}\nSigPnd:\t{pnd:016x}\nShdPnd:\t{shd:016x}\nSigBlk:\t{blk:016x}\nSigIgn:\t{ign:016x}\nSigCgt:\t{cgt:016x}\n"
    );
    let _ = write!(
        s,
        "CapInh:\t{:016x}\nCapPrm:\t{:016x}\nCapEff:\t{:016x}\nCapBnd:\t{:016x}\nCapAmb:\t{:016x}\nNoNewPrivs:\t0\nSeccomp:\t0\nSeccomp_filters:\t0\n",
        caps.0, caps.1, caps.2, caps.3, caps.4
    );
    let mask: String = cpu_mask_hex(ncpu);
    let list = if ncpu > 1 {
        format!("0-{}", ncpu - 1)
    } else {
        "0".to_string()
    };
    let _ = write!(
        s,
        "Cpus_allowed:\t{mask}\nCpus_allowed_list:\t{list}\nMems_allowed:\t1\nMems_allowed_list:\t0\nvoluntary_ctxt_switches:\t0\nnonvoluntary_ctxt_switches:\t0\n"
    );
    Ok(s.into_bytes())
}

/// The hex mask with the low `n` bits set.
fn cpu_mask_hex(n: usize) -> String {
    let mut digits = Vec::new();
    let mut left = n;
    loop {
        let bits = left.min(4);
        digits.push(char::from_digit((1u32 << bits) - 1, 16).unwrap_or('0'));
        left -= bits;
        if left == 0 {
            break;
        }
    }
    digits.iter().rev().collect()
}

fn limits(who: &Who) -> Result<Vec<u8>, Errno> {
    const NAMES: [(&str, &str); 16] = [
        ("Max cpu time", "seconds"),
        ("Max file size", "bytes"),
        ("Max data size", "bytes"),
        ("Max stack size", "bytes"),
        ("Max core file size", "bytes"),
        ("Max resident set", "bytes"),
        ("Max processes", "processes"),
        ("Max open files", "files"),
        ("Max locked memory", "bytes"),
        ("Max address space", "bytes"),
        ("Max file locks", "locks"),
        ("Max pending signals", "signals"),
        ("Max msgqueue size", "bytes"),
        ("Max nice priority", ""),
        ("Max realtime priority", ""),
        ("Max realtime timeout", "us"),
    ];
    let tg = who.tg()?;
    let show = |v: u64| {
        if v == RLIM_INFINITY {
            "unlimited".to_string()
        } else {
            v.to_string()
        }
    };
    let mut s = format!(
        "{:<25} {:<20} {:<20} {:<10}\n",
        "Limit", "Soft Limit", "Hard Limit", "Units"
    );
    for (i, (name, unit)) in (0u32..).zip(NAMES) {
        let r = tg.rlimit(i);
        let _ = writeln!(
            s,
            "{name:<25} {:<20} {:<20} {unit:<10}",
            show(r.cur),
            show(r.max)
        );
    }
    Ok(s.into_bytes())
}

/// `/proc/PID/mountinfo`, made from the mount table.
fn mountinfo() -> Vec<u8> {
    let text = kernel().vfs.mounts_text();
    let mut out = String::new();
    for (i, line) in (1u32..).zip(text.lines()) {
        let f: Vec<&str> = line.split(' ').collect();
        let [src, point, fstype, opts, ..] = f.as_slice() else {
            continue;
        };
        let parent = if i == 1 { 0 } else { 1 };
        let _ = writeln!(
            out,
            "{i} {parent} 0:{} / {point} {opts} - {fstype} {src} {opts}",
            i + 20
        );
    }
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_masks() {
        assert_eq!(cpu_mask_hex(1), "1");
        assert_eq!(cpu_mask_hex(2), "3");
        assert_eq!(cpu_mask_hex(4), "f");
        assert_eq!(cpu_mask_hex(6), "3f");
        assert_eq!(cpu_mask_hex(8), "ff");
    }

    #[test]
    fn inode_numbers_do_not_collide() {
        let a = ino(5, false, KIND_FD, 3);
        let b = ino(5, true, KIND_FD, 3);
        let c = ino(5, false, KIND_FDINFO, 3);
        let d = ino(6, false, KIND_FD, 3);
        let all = [a, b, c, d, ino(5, false, KIND_DIR, 0)];
        for (i, x) in all.iter().enumerate() {
            for y in &all[i + 1..] {
                assert_ne!(x, y);
            }
        }
    }
}
