//! execve: replaces the calling process's image with a new program.
//!
//! Only the ELF header and program headers are read here (parsed by hand:
//! they are two fixed-size little-endian structures, and the rest of the
//! file is never needed in memory); segments are mapped from the file's
//! page cache like any other file mapping.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use nix::errno::Errno;
use platform::Context;

use super::stack::{build_stack, StackInfo};
use crate::kernel::ctx::TaskCtx;
use crate::kernel::task::lock;
use crate::mm::{page_down, page_up, MapRequest, MemoryManager, VmaKind, PAGE_SIZE};
use crate::vfs::{self, Dentry, FileOps, OpenFile};

const PT_LOAD: u32 = 1;
const PT_INTERP: u32 = 3;
const PT_PHDR: u32 = 6;
const PT_GNU_STACK: u32 = 0x6474_e551;
const ET_EXEC: u16 = 2;
const ET_DYN: u16 = 3;
const EM_X86_64: u16 = 62;
/// Where position-independent executables go (Linux's ELF_ET_DYN_BASE
/// without randomisation).
const PIE_BASE: u64 = 0x5555_5555_4000;
const MAX_SCRIPT_DEPTH: usize = 4;

#[derive(Debug, Clone, Copy)]
struct Phdr {
    kind: u32,
    flags: u32,
    offset: u64,
    vaddr: u64,
    filesz: u64,
    memsz: u64,
}

#[derive(Debug)]
struct Header {
    kind: u16,
    entry: u64,
    phoff: u64,
    phnum: u16,
    phdrs: Vec<Phdr>,
}

fn u16_at(b: &[u8], o: usize) -> Result<u16, Errno> {
    b.get(o..o + 2)
        .map(|s| u16::from_le_bytes([s[0], s[1]]))
        .ok_or(Errno::ENOEXEC)
}

fn u32_at(b: &[u8], o: usize) -> Result<u32, Errno> {
    b.get(o..o + 4)
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
        .ok_or(Errno::ENOEXEC)
}

fn u64_at(b: &[u8], o: usize) -> Result<u64, Errno> {
    let s = b.get(o..o + 8).ok_or(Errno::ENOEXEC)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(s);
    Ok(u64::from_le_bytes(a))
}

fn read_at(f: &Arc<dyn FileOps>, off: u64, len: usize) -> Result<Vec<u8>, Errno> {
    let mut buf = vec![0u8; len];
    let mut done = 0;
    while done < len {
        let n = f.read(&mut buf[done..], off + done as u64)?;
        if n == 0 {
            break;
        }
        done += n;
    }
    buf.truncate(done);
    Ok(buf)
}

fn parse_header(f: &Arc<dyn FileOps>, head: &[u8]) -> Result<Header, Errno> {
    if head.len() < 64 || &head[0..4] != b"\x7fELF" || head[4] != 2 || head[5] != 1 {
        return Err(Errno::ENOEXEC);
    }
    let kind = u16_at(head, 16)?;
    if u16_at(head, 18)? != EM_X86_64 || !(kind == ET_EXEC || kind == ET_DYN) {
        return Err(Errno::ENOEXEC);
    }
    let entry = u64_at(head, 24)?;
    let phoff = u64_at(head, 32)?;
    let phentsize = u16_at(head, 54)?;
    let phnum = u16_at(head, 56)?;
    if phentsize != 56 || phnum == 0 || phnum > 128 {
        return Err(Errno::ENOEXEC);
    }
    let table = read_at(f, phoff, usize::from(phnum) * 56)?;
    if table.len() != usize::from(phnum) * 56 {
        return Err(Errno::ENOEXEC);
    }
    let mut phdrs = Vec::with_capacity(phnum.into());
    for i in 0..usize::from(phnum) {
        let b = &table[i * 56..];
        phdrs.push(Phdr {
            kind: u32_at(b, 0)?,
            flags: u32_at(b, 4)?,
            offset: u64_at(b, 8)?,
            vaddr: u64_at(b, 16)?,
            filesz: u64_at(b, 32)?,
            memsz: u64_at(b, 40)?,
        });
    }
    Ok(Header {
        kind,
        entry,
        phoff,
        phnum,
        phdrs,
    })
}

/// Where one ELF image landed.
#[derive(Debug, Clone, Copy)]
struct Loaded {
    base: u64,
    entry: u64,
    phdr: u64,
    phnum: u16,
    end: u64,
}

fn prot_of(flags: u32) -> i32 {
    let mut p = 0;
    if flags & 4 != 0 {
        p |= libc::PROT_READ;
    }
    if flags & 2 != 0 {
        p |= libc::PROT_WRITE;
    }
    if flags & 1 != 0 {
        p |= libc::PROT_EXEC;
    }
    p
}

/// Maps the PT_LOAD segments of `h` from `file` into `mm`.
fn map_image(
    t: &mut TaskCtx,
    mm: &Arc<MemoryManager>,
    file: &Arc<OpenFile>,
    h: &Header,
    interp: bool,
) -> Result<Loaded, Errno> {
    let loads: Vec<&Phdr> = h.phdrs.iter().filter(|p| p.kind == PT_LOAD).collect();
    let first = loads.first().ok_or(Errno::ENOEXEC)?;
    let lo = page_down(first.vaddr);
    let hi = loads
        .iter()
        .map(|p| p.vaddr.saturating_add(p.memsz))
        .max()
        .ok_or(Errno::ENOEXEC)?;
    let span = page_up(hi.checked_sub(lo).ok_or(Errno::ENOEXEC)?).ok_or(Errno::ENOEXEC)?;
    let mappable = file.mappable().ok_or(Errno::EACCES)?;
    let base = if h.kind == ET_DYN {
        if interp {
            // Let mmap pick a place for the whole span, as Linux does.
            let req = MapRequest {
                addr: 0,
                len: span,
                prot: 0,
                fixed: false,
                noreplace: false,
                shared: false,
                growsdown: false,
                kind: VmaKind::Anon,
                pgoff: 0,
            };
            mm.mmap(&mut t.ctx, req)? - lo
        } else {
            PIE_BASE
        }
    } else {
        0
    };
    let mut end = 0;
    for p in &loads {
        if p.filesz > p.memsz || p.offset % PAGE_SIZE != p.vaddr % PAGE_SIZE {
            return Err(Errno::ENOEXEC);
        }
        let start = base.checked_add(p.vaddr).ok_or(Errno::ENOEXEC)?;
        let map_start = page_down(start);
        let file_end = start.checked_add(p.filesz).ok_or(Errno::ENOEXEC)?;
        let mem_end = start.checked_add(p.memsz).ok_or(Errno::ENOEXEC)?;
        let prot = prot_of(p.flags);
        if p.filesz > 0 {
            let len = page_up(file_end).ok_or(Errno::ENOEXEC)? - map_start;
            let req = MapRequest {
                addr: map_start,
                len,
                prot,
                fixed: true,
                noreplace: false,
                shared: false,
                growsdown: false,
                kind: VmaKind::File(mappable.clone()),
                pgoff: page_down(p.offset) / PAGE_SIZE,
            };
            mm.mmap(&mut t.ctx, req)?;
            // The rest of the last file page belongs to bss: zero it.
            let tail = page_up(file_end).ok_or(Errno::ENOEXEC)? - file_end;
            if p.memsz > p.filesz && tail > 0 {
                mm.poke(file_end, &vec![0u8; usize::try_from(tail).unwrap_or(0)])?;
            }
        }
        let bss_start = page_up(file_end).ok_or(Errno::ENOEXEC)?.max(map_start);
        let bss_end = page_up(mem_end).ok_or(Errno::ENOEXEC)?;
        if bss_end > bss_start {
            let req = MapRequest {
                addr: bss_start,
                len: bss_end - bss_start,
                prot,
                fixed: true,
                noreplace: false,
                shared: false,
                growsdown: false,
                kind: VmaKind::Anon,
                pgoff: 0,
            };
            mm.mmap(&mut t.ctx, req)?;
        }
        end = end.max(bss_end);
    }
    let phdr = match h.phdrs.iter().find(|p| p.kind == PT_PHDR) {
        Some(p) => base + p.vaddr,
        None => loads
            .iter()
            .find(|p| p.offset <= h.phoff && h.phoff < p.offset + p.filesz)
            .map(|p| base + p.vaddr + (h.phoff - p.offset))
            .unwrap_or(0),
    };
    Ok(Loaded {
        base,
        entry: base.wrapping_add(h.entry),
        phdr,
        phnum: h.phnum,
        end,
    })
}

/// An opened executable: its dentry and contents.
struct Exe {
    dentry: Arc<Dentry>,
    file: Arc<dyn FileOps>,
    /// The same file as an open description, so its mappings carry the
    /// path `/proc/PID/maps` shows.
    open: Arc<OpenFile>,
}

fn open_exe(t: &TaskCtx, path: &[u8]) -> Result<Exe, Errno> {
    let fs = t.fs();
    let k = t.kernel();
    let dentry = vfs::resolve(&k.vfs, &fs.root, &fs.cwd, path, true)?;
    let st = dentry.inode.stat()?;
    if st.mode & libc::S_IFMT != libc::S_IFREG || st.mode & 0o111 == 0 {
        return Err(Errno::EACCES);
    }
    let file = dentry.inode.open(libc::O_RDONLY)?;
    let open = OpenFile::new(Some(Arc::clone(&dentry)), Arc::clone(&file), libc::O_RDONLY);
    Ok(Exe { dentry, file, open })
}

/// Parses a `#!` line: interpreter and optional single argument.
fn parse_shebang(head: &[u8]) -> Option<(Vec<u8>, Option<Vec<u8>>)> {
    let line = head.strip_prefix(b"#!")?;
    let end = line.iter().position(|&c| c == b'\n').unwrap_or(line.len());
    let line = &line[..end];
    let trimmed: &[u8] = {
        let s = line
            .iter()
            .position(|c| !matches!(c, b' ' | b'\t'))
            .unwrap_or(line.len());
        let e = line
            .iter()
            .rposition(|c| !matches!(c, b' ' | b'\t' | b'\r'))
            .map_or(s, |i| i + 1);
        &line[s..e.max(s)]
    };
    if trimmed.is_empty() {
        return None;
    }
    let split = trimmed.iter().position(|c| matches!(c, b' ' | b'\t'));
    match split {
        None => Some((trimmed.to_vec(), None)),
        Some(i) => {
            let arg = &trimmed[i..];
            let s = arg
                .iter()
                .position(|c| !matches!(c, b' ' | b'\t'))
                .unwrap_or(arg.len());
            let arg = &arg[s..];
            Some((
                trimmed[..i].to_vec(),
                (!arg.is_empty()).then(|| arg.to_vec()),
            ))
        }
    }
}

/// Makes every other thread of the exec'ing process exit, and waits until
/// they have.
fn kill_other_threads(t: &mut TaskCtx) -> Result<(), Errno> {
    let me = t.tid();
    let others: Vec<_> = t.tg().tasks().into_iter().filter(|x| x.tid != me).collect();
    if others.is_empty() {
        return Ok(());
    }
    for o in &others {
        o.killed_by_exec.store(true, Ordering::Release);
        o.kick();
    }
    let k = t.kernel();
    let tg = t.tg().clone();
    let mm = t.mm.clone();
    let gone =
        move || tg.tasks().iter().all(|x| x.tid == me) && mm.users.load(Ordering::Acquire) <= 1;
    loop {
        let waker = t.task.waker.clone();
        let _r = k.exit_wq.register(&waker);
        let seq = waker.seq();
        if gone() {
            take_over_leader(t);
            return Ok(());
        }
        waker.wait(
            seq,
            Some(std::time::Instant::now() + std::time::Duration::from_millis(10)),
        );
    }
}

/// A thread other than the leader that execs becomes the leader: it goes
/// on under the process's pid, as Linux's de_thread does.
fn take_over_leader(t: &mut TaskCtx) {
    let pid = t.tg().pid;
    if t.tid() == pid {
        return;
    }
    let old = t.task.clone();
    let mask = *lock(&old.mask);
    let task = crate::kernel::task::Task::new(pid, old.tg.clone(), mask, old.comm());
    for info in lock(&old.pending).drain() {
        task.send_signal(info);
    }
    *lock(&task.sigaltstack) = *lock(&old.sigaltstack);
    task.nice
        .store(old.nice.load(Ordering::Acquire), Ordering::Release);
    task.affinity
        .store(old.affinity.load(Ordering::Acquire), Ordering::Release);
    task.host_tid
        .store(old.host_tid.load(Ordering::Acquire), Ordering::Release);
    task.pdeath_signal
        .store(old.pdeath_signal.load(Ordering::Acquire), Ordering::Release);
    crate::kernel::cputime::task_replaced(&old, &task);
    // Children it made count it as their parent under its new tid.
    let children = lock(&old.tg.state).children.clone();
    for c in children {
        let mut s = lock(&c.state);
        if s.parent_tid == old.tid {
            s.parent_tid = pid;
        }
    }
    old.exited.store(true, Ordering::Release);
    let k = t.kernel();
    k.unregister_task(old.tid);
    k.register(&task);
    crate::kernel::task::set_current(&task);
    t.task = task;
}

/// Replaces the image of the calling process. On success the thread's
/// registers point at the new program's entry.
pub fn exec(
    t: &mut TaskCtx,
    path: &[u8],
    mut argv: Vec<Vec<u8>>,
    envp: Vec<Vec<u8>>,
) -> Result<(), Errno> {
    let mut exe = open_exe(t, path)?;
    let mut filename = path.to_vec();
    let mut head = read_at(&exe.file, 0, 256)?;
    for depth in 0..=MAX_SCRIPT_DEPTH {
        let Some((interp, arg)) = parse_shebang(&head) else {
            break;
        };
        if depth == MAX_SCRIPT_DEPTH {
            return Err(Errno::ELOOP);
        }
        let mut new_argv = vec![interp.clone()];
        new_argv.extend(arg);
        new_argv.push(filename.clone());
        new_argv.extend(argv.into_iter().skip(1));
        argv = new_argv;
        exe = open_exe(t, &interp)?;
        filename = interp;
        head = read_at(&exe.file, 0, 256)?;
    }
    let h = parse_header(&exe.file, &head)?;
    let interp = match h.phdrs.iter().find(|p| p.kind == PT_INTERP) {
        Some(p) => {
            let len = usize::try_from(p.filesz).map_err(|_| Errno::ENOEXEC)?;
            if len == 0 || len > 4096 {
                return Err(Errno::ENOEXEC);
            }
            let mut name = read_at(&exe.file, p.offset, len)?;
            while name.last() == Some(&0) {
                name.pop();
            }
            let ie =
                open_exe(t, &name)
                    .map_err(|e| if e == Errno::EACCES { Errno::EACCES } else { e })?;
            let ihead = read_at(&ie.file, 0, 256)?;
            let ih = parse_header(&ie.file, &ihead)?;
            if ih.kind != ET_DYN {
                return Err(Errno::ELIBBAD);
            }
            Some((ie, ih))
        }
        None => None,
    };
    let exec_stack = h
        .phdrs
        .iter()
        .any(|p| p.kind == PT_GNU_STACK && p.flags & 1 != 0);

    // Point of no return: the old image goes away.
    let k = t.kernel();
    kill_other_threads(t)?;
    // Robust futexes still held are released in the old address space.
    crate::syscalls::futex_pi::exit_robust_list(t);
    let mm = Arc::new(MemoryManager::new(k.platform.kept_ranges()));
    if t.mm.users.load(Ordering::Acquire) > 1 {
        // The address space is shared with another process (vfork): leave
        // it to them and start over in a stub of our own.
        let fresh = k.platform.new_context().map_err(|_| Errno::ENOMEM)?;
        crate::kernel::cputime::detach(&t.task);
        crate::kernel::cputime::attach(&t.task, fresh.host_pid());
        let old = std::mem::replace(&mut t.ctx, fresh);
        crate::kernel::run::release_stub(old, &t.mm);
    } else {
        t.mm.unmap_all(&mut t.ctx)?;
    }
    mm.users.store(1, Ordering::Release);
    *lock(&t.tg().mm) = mm.clone();
    t.refresh_mm();
    let main = map_image(t, &mm, &exe.open, &h, false)?;
    mm.set_brk_start(page_up(main.end).ok_or(Errno::ENOMEM)?);
    let (entry, interp_base) = match &interp {
        Some((ie, ih)) => {
            let l = map_image(t, &mm, &ie.open, ih, true)?;
            (l.entry, l.base)
        }
        None => (main.entry, 0),
    };
    let stack_prot_exec = exec_stack;
    // Set-user-ID and set-group-ID programs (of the sandbox's own users;
    // nothing here reaches the host), and the capabilities exec grants.
    let secure = {
        let st = exe.dentry.inode.stat()?;
        let mut c = lock(&t.tg().creds);
        let before = c.clone();
        let mut secure = false;
        if st.mode & libc::S_ISUID != 0 {
            c.euid = st.uid;
            secure |= c.euid != c.uid;
        }
        if st.mode & libc::S_ISGID != 0 && st.mode & libc::S_IXGRP != 0 {
            c.egid = st.gid;
            secure |= c.egid != c.gid;
        }
        c.suid = c.euid;
        c.fsuid = c.euid;
        c.sgid = c.egid;
        c.fsgid = c.egid;
        crate::syscalls::caps::on_exec(&mut c);
        // Linux clears the parent-death signal for a secure exec and, in
        // commit_creds, for new effective or filesystem ids or new
        // permitted capabilities.
        let ids_changed = (c.euid, c.egid, c.fsuid, c.fsgid)
            != (before.euid, before.egid, before.fsuid, before.fsgid);
        if secure || ids_changed || c.cap_perm & !before.cap_perm != 0 {
            t.task.pdeath_signal.store(0, Ordering::Release);
        }
        secure
    };
    let info = StackInfo {
        argv: &argv,
        envp: &envp,
        execfn: &filename,
        phdr: main.phdr,
        phnum: main.phnum,
        entry: main.entry,
        interp_base,
        vdso: k.platform.vdso_base(),
        creds: lock(&t.tg().creds).clone(),
        exec_stack: stack_prot_exec,
        secure,
    };
    let layout = build_stack(t, &mm, &info)?;

    // Fresh registers: only the stack pointer and entry matter.
    let r = t.ctx.regs_mut();
    let (cs, ss, eflags) = (r.cs, r.ss, r.eflags);
    // SAFETY: user_regs_struct is plain integers; zero is a valid value.
    *r = unsafe { std::mem::zeroed() };
    r.cs = cs;
    r.ss = ss;
    r.eflags = eflags & !0x0004_0dd5 | 0x200;
    r.rip = entry;
    r.rsp = layout.sp;
    r.orig_rax = u64::MAX;

    // What survives exec and what does not.
    for f in t.fds().close_on_exec() {
        crate::syscalls::fd::closed(t, &f);
    }
    lock(&t.tg().sighand).reset_for_exec();
    crate::kernel::posix_timer::exec(t.tg());
    *lock(&t.task.sigaltstack) = (0, libc::SS_DISABLE, 0);
    let base = filename.rsplit(|&c| c == b'/').next().unwrap_or(&filename);
    *lock(&t.task.comm) = base.iter().take(15).copied().collect();
    {
        let mut e = lock(&t.tg().exec);
        e.exe = Some(exe.dentry.clone());
        e.arg_start = layout.arg_start;
        e.arg_end = layout.arg_end;
        e.env_start = layout.env_start;
        e.env_end = layout.env_end;
        e.auxv = layout.auxv;
    }
    lock(&t.tg().state).did_exec = true;
    if let Some(v) = lock(&t.tg().vfork_done).take() {
        *lock(&v.0) = true;
        v.1.notify_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_shebang;

    #[test]
    fn shebang_lines() {
        assert_eq!(
            parse_shebang(b"#!/bin/sh\necho"),
            Some((b"/bin/sh".to_vec(), None))
        );
        assert_eq!(
            parse_shebang(b"#! /usr/bin/env  python3 -u \n"),
            Some((b"/usr/bin/env".to_vec(), Some(b"python3 -u".to_vec())))
        );
        assert_eq!(parse_shebang(b"#!\n"), None);
        assert_eq!(parse_shebang(b"\x7fELF"), None);
    }
}
