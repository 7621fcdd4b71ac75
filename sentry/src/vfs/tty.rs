//! Pseudo-terminal pairs and their line discipline (Linux's `pty.c` and
//! `n_tty.c`).
//!
//! A [`Tty`] holds both directions: `input` is what the master wrote,
//! after input processing (what the slave reads), `output` is what the
//! slave wrote, after output processing, plus echoes (what the master
//! reads). Job control needs the caller, which [`FileOps`] does not get:
//! the slave's read and write ask [`crate::kernel::task::current`].

use std::any::Any;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use nix::errno::Errno;

use super::file::{FileOps, ReadTimer};
use super::inode::Stat;
use crate::kernel::signal::{SigInfo, SIG_IGN};
use crate::kernel::task::{current, kernel, lock, ThreadGroup};
use crate::kernel::wait::WaitQueue;

/// Size of the kernel's `struct termios` (TCGETS/TCSETS).
pub const TERMIOS_SIZE: usize = 36;
/// `NCCS` of the kernel's `struct termios`.
const NCCS: usize = 19;
/// What the slave may have queued for reading (`N_TTY_BUF_SIZE`).
const INPUT_MAX: usize = 4096;
/// What the master may have queued for reading before slave writes block.
const OUTPUT_MAX: usize = 16384;

/// The kernel's `struct termios` (without the speeds of `termios2`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Termios {
    pub iflag: u32,
    pub oflag: u32,
    pub cflag: u32,
    pub lflag: u32,
    pub line: u8,
    pub cc: [u8; NCCS],
}

impl Termios {
    /// A new pty slave's termios: `tty_std_termios` (with Linux's
    /// `INIT_C_CC`) as `unix98_pty_init` adjusts it.
    pub fn linux_default() -> Termios {
        let mut cc = [0u8; NCCS];
        // ^C ^\ DEL ^U ^D, VTIME 0, VMIN 1, VSWTC 0, ^Q ^S ^Z, VEOL 0,
        // ^R ^O ^W ^V, VEOL2 0.
        let init: [u8; 17] = [
            3, 0o34, 0o177, 0o25, 4, 0, 1, 0, 0o21, 0o23, 0o32, 0, 0o22, 0o17, 0o27, 0o26, 0,
        ];
        cc[..init.len()].copy_from_slice(&init);
        Termios {
            iflag: libc::ICRNL | libc::IXON,
            oflag: libc::OPOST | libc::ONLCR,
            // The pty slave driver's init_termios drops HUPCL.
            cflag: libc::B38400 | libc::CS8 | libc::CREAD,
            lflag: libc::ISIG
                | libc::ICANON
                | libc::ECHO
                | libc::ECHOE
                | libc::ECHOK
                | libc::ECHOCTL
                | libc::ECHOKE
                | libc::IEXTEN,
            line: 0,
            cc,
        }
    }

    pub fn to_bytes(self) -> [u8; TERMIOS_SIZE] {
        let mut b = [0u8; TERMIOS_SIZE];
        b[0..4].copy_from_slice(&self.iflag.to_ne_bytes());
        b[4..8].copy_from_slice(&self.oflag.to_ne_bytes());
        b[8..12].copy_from_slice(&self.cflag.to_ne_bytes());
        b[12..16].copy_from_slice(&self.lflag.to_ne_bytes());
        b[16] = self.line;
        b[17..].copy_from_slice(&self.cc);
        b
    }

    pub fn from_bytes(b: &[u8; TERMIOS_SIZE]) -> Termios {
        let word = |i: usize| u32::from_ne_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let mut cc = [0u8; NCCS];
        cc.copy_from_slice(&b[17..]);
        Termios {
            iflag: word(0),
            oflag: word(4),
            cflag: word(8),
            lflag: word(12),
            line: b[16],
            cc,
        }
    }

    fn i(&self, f: u32) -> bool {
        self.iflag & f != 0
    }

    fn o(&self, f: u32) -> bool {
        self.oflag & f != 0
    }

    fn l(&self, f: u32) -> bool {
        self.lflag & f != 0
    }

    /// Whether `c` is the special character `idx` (0 disables one).
    fn is(&self, c: u8, idx: usize) -> bool {
        self.cc[idx] != 0 && self.cc[idx] == c
    }
}

/// Mutable state of a pty pair.
#[derive(Debug)]
struct TtyState {
    termios: Termios,
    /// `struct winsize`: rows, cols, xpixel, ypixel.
    winsize: [u16; 4],
    /// Canonical mode: finished lines (an empty one is an end of file).
    lines: VecDeque<Vec<u8>>,
    /// Canonical mode: the line being edited.
    edit: Vec<u8>,
    /// Non-canonical mode: bytes ready to read.
    raw: VecDeque<u8>,
    /// What the master reads.
    output: VecDeque<u8>,
    /// The next input byte is taken literally (`VLNEXT`).
    lnext: bool,
    /// Output stopped by `VSTOP` (`IXON`).
    stopped: bool,
    /// `TIOCSPTLCK`: the slave cannot be opened while locked.
    locked: bool,
    /// `TIOCEXCL` on each side: a set slave flag makes further opens of
    /// the slave EBUSY without CAP_SYS_ADMIN.
    slave_exclusive: bool,
    master_exclusive: bool,
    master_open: bool,
    slaves: usize,
    slave_opened: bool,
    /// Controlling session (its sid) and foreground process group.
    session: i32,
    pgrp: i32,
}

impl TtyState {
    fn input_len(&self) -> usize {
        self.lines.iter().map(Vec::len).sum::<usize>() + self.edit.len() + self.raw.len()
    }

    /// Bytes a read could return now (`TIOCINQ`).
    fn readable(&self) -> usize {
        if self.termios.l(libc::ICANON) {
            self.lines.iter().map(Vec::len).sum()
        } else {
            self.raw.len()
        }
    }

    fn flush_input(&mut self) {
        self.lines.clear();
        self.edit.clear();
        self.raw.clear();
        self.lnext = false;
    }

    /// One byte through output processing (`do_output_char`) into the
    /// master's queue.
    fn put_output(&mut self, c: u8) {
        let t = self.termios;
        if !t.o(libc::OPOST) {
            self.output.push_back(c);
            return;
        }
        match c {
            b'\n' if t.o(libc::ONLCR) => self.output.extend(b"\r\n"),
            b'\r' if t.o(libc::OCRNL) => self.output.push_back(b'\n'),
            b'\r' if t.o(libc::ONOCR) => {
                if self.output.back().is_some_and(|&b| b != b'\n') {
                    self.output.push_back(b'\r');
                }
            }
            c if t.o(libc::OLCUC) => self.output.push_back(c.to_ascii_uppercase()),
            c => self.output.push_back(c),
        }
    }

    /// Echoes one input byte (`echo_char`): control characters as `^X`
    /// with `ECHOCTL` (except tab and newline).
    fn echo(&mut self, c: u8) {
        if self.termios.l(libc::ECHOCTL) && (c < 0x20 || c == 0x7f) && c != b'\t' && c != b'\n' {
            self.output.push_back(b'^');
            self.output.push_back(c ^ 0o100);
        } else {
            self.put_output(c);
        }
    }

    /// Erases the last character on the screen: one column, or two for
    /// a control character echoed as `^X`.
    fn echo_erase_char(&mut self, c: u8) {
        let cols = if self.termios.l(libc::ECHOCTL) && (c < 0x20 || c == 0x7f) && c != b'\t' {
            2
        } else {
            1
        };
        for _ in 0..cols {
            self.output.extend(b"\x08 \x08");
        }
    }

    /// `VERASE`, `VWERASE` or `VKILL` in canonical mode (`eraser`).
    fn erase(&mut self, c: u8, kind: usize) {
        let t = self.termios;
        if self.edit.is_empty() {
            return;
        }
        let echo = t.l(libc::ECHO);
        if kind == libc::VKILL {
            if !echo {
                self.edit.clear();
                return;
            }
            if !t.l(libc::ECHOK) || !t.l(libc::ECHOKE) || !t.l(libc::ECHOE) {
                self.edit.clear();
                self.echo(c);
                if t.l(libc::ECHOK) {
                    self.put_output(b'\n');
                }
                return;
            }
        }
        let mut seen_word = false;
        while let Some(&last) = self.edit.last() {
            if kind == libc::VWERASE {
                let alnum = last.is_ascii_alphanumeric() || last == b'_';
                if alnum {
                    seen_word = true;
                } else if seen_word {
                    break;
                }
            }
            self.edit.pop();
            if echo {
                if t.l(libc::ECHOE) || kind != libc::VERASE {
                    self.echo_erase_char(last);
                } else {
                    self.echo(c);
                }
            }
            if kind == libc::VERASE {
                break;
            }
        }
    }

    /// One byte the master wrote, through the input side of the line
    /// discipline. Returns a signal for the foreground group, if any.
    fn receive(&mut self, mut c: u8) -> Option<i32> {
        let t = self.termios;
        if self.lnext {
            self.lnext = false;
            self.store(c, true);
            return None;
        }
        if t.i(libc::ISTRIP) {
            c &= 0x7f;
        }
        if c == b'\r' {
            if t.i(libc::IGNCR) {
                return None;
            }
            if t.i(libc::ICRNL) {
                c = b'\n';
            }
        } else if c == b'\n' && t.i(libc::INLCR) {
            c = b'\r';
        }
        if t.i(libc::IXON) {
            if t.is(c, libc::VSTOP) {
                self.stopped = true;
                return None;
            }
            if t.is(c, libc::VSTART) {
                self.stopped = false;
                return None;
            }
            if t.i(libc::IXANY) {
                self.stopped = false;
            }
        }
        if t.l(libc::ISIG) {
            let sig = if t.is(c, libc::VINTR) {
                Some(libc::SIGINT)
            } else if t.is(c, libc::VQUIT) {
                Some(libc::SIGQUIT)
            } else if t.is(c, libc::VSUSP) {
                Some(libc::SIGTSTP)
            } else {
                None
            };
            if let Some(sig) = sig {
                if !t.l(libc::NOFLSH) {
                    self.flush_input();
                    self.output.clear();
                }
                if t.i(libc::IXON) {
                    self.stopped = false;
                }
                if t.l(libc::ECHO) {
                    self.echo(c);
                }
                return Some(sig);
            }
        }
        if t.l(libc::ICANON) {
            if t.is(c, libc::VERASE) {
                self.erase(c, libc::VERASE);
                return None;
            }
            if t.is(c, libc::VKILL) {
                self.erase(c, libc::VKILL);
                return None;
            }
            if t.l(libc::IEXTEN) && t.is(c, libc::VWERASE) {
                self.erase(c, libc::VWERASE);
                return None;
            }
            if t.l(libc::IEXTEN) && t.is(c, libc::VLNEXT) {
                self.lnext = true;
                if t.l(libc::ECHO) && t.l(libc::ECHOCTL) {
                    self.output.extend(b"^\x08");
                }
                return None;
            }
            if t.is(c, libc::VEOF) {
                let line = std::mem::take(&mut self.edit);
                self.lines.push_back(line);
                return None;
            }
            if c == b'\n' || t.is(c, libc::VEOL) || t.is(c, libc::VEOL2) {
                self.edit.push(c);
                if c == b'\n' {
                    if t.l(libc::ECHO) || t.l(libc::ECHONL) {
                        self.put_output(b'\n');
                    }
                } else if t.l(libc::ECHO) {
                    self.echo(c);
                }
                let line = std::mem::take(&mut self.edit);
                self.lines.push_back(line);
                return None;
            }
        }
        self.store(c, false);
        None
    }

    /// Queues an ordinary input byte and echoes it.
    fn store(&mut self, c: u8, literal: bool) {
        let t = self.termios;
        if t.l(libc::ICANON) {
            if literal && t.l(libc::ECHO) && t.l(libc::ECHOCTL) {
                // Erase the "^" that VLNEXT echoed.
                self.output.extend(b"\x08");
            }
            self.edit.push(c);
        } else {
            self.raw.push_back(c);
        }
        if t.l(libc::ECHO) {
            self.echo(c);
        }
    }

    /// New termios: switching canonical mode moves pending input between
    /// the line and raw queues as `n_tty_set_termios` does.
    fn set_termios(&mut self, new: Termios) {
        let was_canon = self.termios.l(libc::ICANON);
        self.termios = new;
        let canon = new.l(libc::ICANON);
        if was_canon && !canon {
            for line in std::mem::take(&mut self.lines) {
                self.raw.extend(line);
            }
            let edit = std::mem::take(&mut self.edit);
            self.raw.extend(edit);
        } else if !was_canon && canon {
            self.edit.extend(self.raw.drain(..));
        }
        if !new.i(libc::IXON) {
            self.stopped = false;
        }
    }
}

/// A pseudo-terminal pair.
#[derive(Debug)]
pub struct Tty {
    /// N of `/dev/pts/N`.
    pub index: u32,
    st: Mutex<TtyState>,
    /// Notified on every change, for readers and writers of both sides.
    pub wq: WaitQueue,
}

impl Tty {
    pub fn new(index: u32) -> Arc<Tty> {
        Arc::new(Tty {
            index,
            st: Mutex::new(TtyState {
                termios: Termios::linux_default(),
                winsize: [0; 4],
                lines: VecDeque::new(),
                edit: Vec::new(),
                raw: VecDeque::new(),
                output: VecDeque::new(),
                lnext: false,
                stopped: false,
                locked: true,
                slave_exclusive: false,
                master_exclusive: false,
                master_open: true,
                slaves: 0,
                slave_opened: false,
                session: 0,
                pgrp: 0,
            }),
            wq: WaitQueue::new(),
        })
    }

    pub fn termios(&self) -> Termios {
        lock(&self.st).termios
    }

    /// TCSETS*: TCSETSF also discards pending input.
    pub fn set_termios(&self, t: Termios, flush: bool) {
        {
            let mut st = lock(&self.st);
            if flush {
                st.flush_input();
            }
            st.set_termios(t);
        }
        self.wq.notify();
    }

    pub fn winsize(&self) -> [u16; 4] {
        lock(&self.st).winsize
    }

    /// TIOCSWINSZ: a change sends SIGWINCH to the foreground group.
    pub fn set_winsize(&self, ws: [u16; 4]) {
        let pgrp = {
            let mut st = lock(&self.st);
            if st.winsize == ws {
                return;
            }
            st.winsize = ws;
            st.pgrp
        };
        signal_pgrp(pgrp, libc::SIGWINCH);
    }

    pub fn locked(&self) -> bool {
        lock(&self.st).locked
    }

    pub fn set_locked(&self, locked: bool) {
        lock(&self.st).locked = locked;
    }

    /// TIOCEXCL/TIOCNXCL on the master (`master`) or the slave side.
    pub fn set_exclusive(&self, master: bool, on: bool) {
        let mut st = lock(&self.st);
        if master {
            st.master_exclusive = on;
        } else {
            st.slave_exclusive = on;
        }
    }

    /// TIOCGEXCL.
    pub fn exclusive(&self, master: bool) -> bool {
        let st = lock(&self.st);
        if master {
            st.master_exclusive
        } else {
            st.slave_exclusive
        }
    }

    /// TIOCSTI: `c` as if the slave had received it from the master (it
    /// goes through input processing and may signal the foreground
    /// group), or, on the master side, as if the slave had written it raw.
    pub fn simulate_input(&self, master: bool, c: u8) {
        if master {
            lock(&self.st).output.push_back(c);
            self.wq.notify();
        } else {
            // A full input queue drops the byte, as a full tty buffer does.
            let _ = self.master_write(&[c]);
        }
    }

    /// The controlling session's sid (0: none) and foreground group.
    pub fn session_pgrp(&self) -> (i32, i32) {
        let st = lock(&self.st);
        (st.session, st.pgrp)
    }

    pub fn set_session(&self, sid: i32, pgrp: i32) {
        let mut st = lock(&self.st);
        st.session = sid;
        st.pgrp = pgrp;
    }

    pub fn set_pgrp(&self, pgrp: i32) {
        lock(&self.st).pgrp = pgrp;
    }

    /// TIOCINQ on the slave side: bytes a read could return.
    pub fn inq(&self) -> usize {
        lock(&self.st).readable()
    }

    /// TIOCOUTQ on the slave side: bytes the master has not read yet.
    pub fn outq(&self) -> usize {
        lock(&self.st).output.len()
    }

    /// TCFLSH: 0 input, 1 output, 2 both (as the slave sees them).
    pub fn flush(&self, which: i32) -> Result<(), Errno> {
        {
            let mut st = lock(&self.st);
            match which {
                0 => st.flush_input(),
                1 => st.output.clear(),
                2 => {
                    st.flush_input();
                    st.output.clear();
                }
                _ => return Err(Errno::EINVAL),
            }
        }
        self.wq.notify();
        Ok(())
    }

    /// Opens the slave side: `EIO` while locked or once the master is gone,
    /// `EBUSY` in exclusive mode (`tty_reopen`).
    pub fn open_slave(self: &Arc<Tty>) -> Result<Arc<dyn FileOps>, Errno> {
        {
            let mut st = lock(&self.st);
            if st.locked || !st.master_open {
                return Err(Errno::EIO);
            }
            check_exclusive(&st)?;
            st.slaves += 1;
            st.slave_opened = true;
        }
        Ok(Arc::new(PtySlave { tty: self.clone() }))
    }

    fn master_read(&self, buf: &mut [u8]) -> Result<usize, Errno> {
        let mut st = lock(&self.st);
        if st.output.is_empty() {
            if st.slave_opened && st.slaves == 0 {
                return Err(Errno::EIO);
            }
            return Err(Errno::EAGAIN);
        }
        let n = buf.len().min(st.output.len());
        for (d, s) in buf.iter_mut().zip(st.output.drain(..n)) {
            *d = s;
        }
        drop(st);
        self.wq.notify();
        Ok(n)
    }

    fn master_write(&self, buf: &[u8]) -> Result<usize, Errno> {
        let mut sigs = Vec::new();
        let (n, pgrp) = {
            let mut st = lock(&self.st);
            let mut n = 0;
            for &c in buf {
                if st.input_len() >= INPUT_MAX - 1 {
                    // A full canonical buffer still takes line ends (so
                    // a reader can drain it); anything else waits.
                    let canon_end = st.termios.l(libc::ICANON)
                        && (c == b'\n' || c == b'\r' || st.termios.is(c, libc::VEOF));
                    if !canon_end {
                        break;
                    }
                }
                if let Some(sig) = st.receive(c) {
                    sigs.push(sig);
                }
                n += 1;
            }
            (n, st.pgrp)
        };
        self.wq.notify();
        for sig in sigs {
            signal_pgrp(pgrp, sig);
        }
        if n == 0 && !buf.is_empty() {
            return Err(Errno::EAGAIN);
        }
        Ok(n)
    }

    fn master_poll(&self) -> i16 {
        let st = lock(&self.st);
        let mut ev = 0;
        if !st.output.is_empty() {
            ev |= libc::POLLIN;
        }
        if st.input_len() < INPUT_MAX - 1 {
            ev |= libc::POLLOUT;
        }
        if st.slave_opened && st.slaves == 0 {
            ev |= libc::POLLHUP;
        }
        ev
    }

    fn slave_read(&self, buf: &mut [u8], timer: &mut ReadTimer) -> Result<usize, Errno> {
        let mut st = lock(&self.st);
        if !st.master_open {
            return Ok(0);
        }
        let n = if st.termios.l(libc::ICANON) {
            let Some(mut line) = st.lines.pop_front() else {
                return Err(Errno::EAGAIN);
            };
            let n = buf.len().min(line.len());
            buf[..n].copy_from_slice(&line[..n]);
            if n < line.len() {
                line.drain(..n);
                st.lines.push_front(line);
            }
            n
        } else {
            if !raw_read_ready(&st.termios, st.raw.len(), buf.len(), timer) {
                return Err(Errno::EAGAIN);
            }
            let n = buf.len().min(st.raw.len());
            for (d, s) in buf.iter_mut().zip(st.raw.drain(..n)) {
                *d = s;
            }
            n
        };
        drop(st);
        self.wq.notify();
        Ok(n)
    }

    fn slave_write(&self, buf: &[u8]) -> Result<usize, Errno> {
        let mut st = lock(&self.st);
        if !st.master_open {
            return Err(Errno::EIO);
        }
        if st.stopped {
            return Err(Errno::EAGAIN);
        }
        let mut n = 0;
        for &c in buf {
            if st.output.len() >= OUTPUT_MAX {
                break;
            }
            st.put_output(c);
            n += 1;
        }
        drop(st);
        if n == 0 && !buf.is_empty() {
            return Err(Errno::EAGAIN);
        }
        self.wq.notify();
        Ok(n)
    }

    fn slave_poll(&self) -> i16 {
        let st = lock(&self.st);
        if !st.master_open {
            return libc::POLLIN | libc::POLLOUT | libc::POLLHUP | libc::POLLERR;
        }
        let mut ev = 0;
        let t = st.termios;
        let readable = if t.l(libc::ICANON) {
            !st.lines.is_empty()
        } else {
            // `input_available_p(tty, 1)`: with VMIN but no VTIME, a
            // reader wants VMIN bytes before it is woken.
            let (vmin, vtime) = (t.cc[libc::VMIN], t.cc[libc::VTIME]);
            let amt = if vtime == 0 && vmin > 0 {
                usize::from(vmin)
            } else {
                1
            };
            st.raw.len() >= amt
        };
        if readable {
            ev |= libc::POLLIN;
        }
        if !st.stopped && st.output.len() < OUTPUT_MAX {
            ev |= libc::POLLOUT;
        }
        ev
    }

    /// The master's last close (`pty_close` + `tty_vhangup` of the
    /// slave): slave reads see end of file and writes `EIO`; the session
    /// leader that has this terminal as its controlling terminal gets
    /// SIGHUP and SIGCONT, and every process of the session loses it.
    /// The foreground group of then gets SIGHUP and SIGCONT when that
    /// leader exits ([`process_exited`]).
    fn master_closed(self: &Arc<Tty>) {
        let (sid, pgrp) = {
            let mut st = lock(&self.st);
            st.master_open = false;
            let r = (st.session, st.pgrp);
            st.session = 0;
            st.pgrp = 0;
            r
        };
        self.wq.notify();
        unregister(self.index);
        if sid == 0 {
            return;
        }
        let mut leaders = Vec::new();
        for g in kernel().groups() {
            let mut s = lock(&g.state);
            if s.sid == sid && s.ctty.as_ref().is_some_and(|c| Arc::ptr_eq(c, self)) {
                s.ctty = None;
                if g.pid == sid {
                    leaders.push(g.clone());
                }
            }
        }
        if pgrp != 0 && !leaders.is_empty() {
            lock(&HUNG_UP).push((sid, pgrp));
        }
        for g in leaders {
            crate::kernel::run::send_to_group(&g, SigInfo::kernel(libc::SIGHUP));
            crate::kernel::run::send_to_group(&g, SigInfo::kernel(libc::SIGCONT));
        }
    }

    /// Job control for the caller on this terminal (`__tty_check_change`):
    /// a background process of the terminal's session gets `sig` (and the
    /// call restarts after it), or `EIO` when it cannot be stopped.
    pub fn check_change(self: &Arc<Tty>, sig: i32) -> Result<(), Errno> {
        let Some(task) = current() else {
            return Ok(());
        };
        let tg = task.tg.clone();
        let (is_ctty, pgid) = {
            let s = lock(&tg.state);
            let is = s.ctty.as_ref().is_some_and(|c| Arc::ptr_eq(c, self));
            (is, s.pgid)
        };
        let fg = lock(&self.st).pgrp;
        if !is_ctty || fg == 0 || fg == pgid {
            return Ok(());
        }
        let ignored = lock(&tg.sighand).get(sig).handler == SIG_IGN || lock(&task.mask).has(sig);
        if ignored {
            return if sig == libc::SIGTTIN {
                Err(Errno::EIO)
            } else {
                Ok(())
            };
        }
        if pgrp_orphaned(pgid) {
            return Err(Errno::EIO);
        }
        signal_pgrp(pgid, sig);
        Err(Errno::EINTR)
    }
}

/// Whether a non-canonical read of `len` bytes returns now with `avail`
/// bytes queued (`n_tty_read`'s VMIN/VTIME rules, VTIME in tenths of a
/// second):
/// - VMIN 0, VTIME 0: at once, with whatever there is;
/// - VMIN 0, VTIME t: at the first byte, or with nothing t after the read
///   started;
/// - VMIN m, VTIME 0: once min(m, len) bytes are there;
/// - VMIN m, VTIME t: the same, or t after the last byte arrived (the
///   timer starts with the first byte).
///
/// A non-blocking read returns whatever there is as soon as there is
/// something.
fn raw_read_ready(t: &Termios, avail: usize, len: usize, timer: &mut ReadTimer) -> bool {
    let vmin = usize::from(t.cc[libc::VMIN]);
    let vtime = std::time::Duration::from_millis(100 * u64::from(t.cc[libc::VTIME]));
    let now = std::time::Instant::now();
    if vmin == 0 {
        if avail > 0 || vtime.is_zero() {
            return true;
        }
        let deadline = *timer.deadline.get_or_insert(now + vtime);
        return now >= deadline;
    }
    if avail >= vmin.min(len) || (timer.nonblocking && avail > 0) {
        return true;
    }
    if avail == 0 || vtime.is_zero() {
        timer.deadline = None;
        timer.seen = 0;
        return false;
    }
    if avail != timer.seen {
        timer.seen = avail;
        timer.deadline = Some(now + vtime);
        return false;
    }
    timer.deadline.is_some_and(|d| now >= d)
}

/// Sessions whose terminal was hung up while their leader lived, with
/// the foreground group of then (`signal->tty_old_pgrp`): it gets SIGHUP
/// and SIGCONT when the leader exits.
static HUNG_UP: Mutex<Vec<(i32, i32)>> = Mutex::new(Vec::new());

/// A process has exited (`disassociate_ctty(1)` for session leaders):
/// the foreground group of the leader's terminal gets SIGHUP, and the
/// session loses the terminal.
pub fn process_exited(tg: &Arc<ThreadGroup>) {
    let (ctty, sid) = {
        let mut s = lock(&tg.state);
        (s.ctty.take(), s.sid)
    };
    if tg.pid != sid {
        return;
    }
    let old = {
        let mut hung = lock(&HUNG_UP);
        let old = hung.iter().find(|(s, _)| *s == sid).map(|&(_, p)| p);
        hung.retain(|(s, _)| *s != sid);
        old
    };
    match ctty {
        Some(tty) if tty.session_pgrp().0 == sid => {
            let (_, pgrp) = tty.session_pgrp();
            signal_pgrp(pgrp, libc::SIGHUP);
            tty.set_session(0, 0);
            for g in kernel().groups() {
                let mut s = lock(&g.state);
                if s.sid == sid && s.ctty.as_ref().is_some_and(|c| Arc::ptr_eq(c, &tty)) {
                    s.ctty = None;
                }
            }
        }
        Some(_) => {}
        None => {
            if let Some(pgrp) = old {
                signal_pgrp(pgrp, libc::SIGHUP);
                signal_pgrp(pgrp, libc::SIGCONT);
            }
        }
    }
}

/// The live processes of process group `pgid`.
pub fn pgrp_members(pgid: i32) -> Vec<Arc<ThreadGroup>> {
    if pgid <= 0 {
        return Vec::new();
    }
    kernel()
        .groups()
        .into_iter()
        .filter(|g| {
            let s = lock(&g.state);
            s.pgid == pgid && !s.zombie
        })
        .collect()
}

/// Sends `sig` to every process of group `pgid` (`kill_pgrp(..., 1)`).
pub fn signal_pgrp(pgid: i32, sig: i32) {
    for g in pgrp_members(pgid) {
        crate::kernel::run::send_to_group(&g, SigInfo::kernel(sig));
    }
}

/// Whether no member of `pgid` has a parent in another group of the same
/// session (`will_become_orphaned_pgrp`); init's children do not count.
pub fn pgrp_orphaned(pgid: i32) -> bool {
    for g in pgrp_members(pgid) {
        let (sid, parent) = {
            let s = lock(&g.state);
            (s.sid, s.parent.upgrade())
        };
        let Some(p) = parent else { continue };
        if p.pid == 1 {
            continue;
        }
        let ps = lock(&p.state);
        if ps.pgid != pgid && ps.sid == sid {
            return false;
        }
    }
    true
}

/// The master side (`/dev/ptmx`).
#[derive(Debug)]
pub struct PtyMaster {
    pub tty: Arc<Tty>,
}

impl Drop for PtyMaster {
    fn drop(&mut self) {
        self.tty.master_closed();
    }
}

impl FileOps for PtyMaster {
    fn read(&self, buf: &mut [u8], _off: u64) -> Result<usize, Errno> {
        self.tty.master_read(buf)
    }

    fn write(&self, buf: &[u8], _off: u64) -> Result<usize, Errno> {
        self.tty.master_write(buf)
    }

    fn poll(&self) -> i16 {
        self.tty.master_poll()
    }

    fn wait_queue(&self) -> Option<&WaitQueue> {
        Some(&self.tty.wq)
    }

    fn fionread(&self) -> Result<usize, Errno> {
        Ok(lock(&self.tty.st).output.len())
    }

    fn stat(&self) -> Result<Stat, Errno> {
        Ok(Stat {
            mode: libc::S_IFCHR | 0o666,
            rdev: nix::sys::stat::makedev(5, 2),
            nlink: 1,
            blksize: 1024,
            ..Stat::default()
        })
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// The slave side (`/dev/pts/N`).
#[derive(Debug)]
pub struct PtySlave {
    pub tty: Arc<Tty>,
}

impl Drop for PtySlave {
    fn drop(&mut self) {
        {
            let mut st = lock(&self.tty.st);
            st.slaves = st.slaves.saturating_sub(1);
        }
        self.tty.wq.notify();
    }
}

impl FileOps for PtySlave {
    fn read(&self, buf: &mut [u8], _off: u64) -> Result<usize, Errno> {
        self.read_timed(buf, &mut ReadTimer::default())
    }

    fn read_timed(&self, buf: &mut [u8], timer: &mut ReadTimer) -> Result<usize, Errno> {
        self.tty.check_change(libc::SIGTTIN)?;
        self.tty.slave_read(buf, timer)
    }

    fn write(&self, buf: &[u8], _off: u64) -> Result<usize, Errno> {
        if self.tty.termios().l(libc::TOSTOP) {
            self.tty.check_change(libc::SIGTTOU)?;
        }
        self.tty.slave_write(buf)
    }

    fn poll(&self) -> i16 {
        self.tty.slave_poll()
    }

    fn wait_queue(&self) -> Option<&WaitQueue> {
        Some(&self.tty.wq)
    }

    fn fionread(&self) -> Result<usize, Errno> {
        Ok(self.tty.inq())
    }

    fn stat(&self) -> Result<Stat, Errno> {
        Ok(super::devpts::slave_stat(self.tty.index))
    }

    /// A slave opened by TIOCGPTPEER has no dentry; show its path.
    fn anon_name(&self) -> String {
        format!("/dev/pts/{}", self.tty.index)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// The pty pair a file belongs to, and whether it is the master side.
pub fn tty_of(ops: &dyn FileOps) -> Option<(Arc<Tty>, bool)> {
    let any = ops.as_any();
    if let Some(m) = any.downcast_ref::<PtyMaster>() {
        return Some((m.tty.clone(), true));
    }
    any.downcast_ref::<PtySlave>()
        .map(|s| (s.tty.clone(), false))
}

/// Live pty pairs by index (what devpts lists).
static PTYS: Mutex<Vec<(u32, std::sync::Weak<Tty>)>> = Mutex::new(Vec::new());

/// A new pair with the lowest free index, locked.
pub fn open_master() -> Result<Arc<dyn FileOps>, Errno> {
    let mut ptys = lock(&PTYS);
    ptys.retain(|(_, w)| w.strong_count() > 0);
    let mut index = 0u32;
    while ptys.iter().any(|(i, _)| *i == index) {
        index = index.checked_add(1).ok_or(Errno::ENOSPC)?;
    }
    let tty = Tty::new(index);
    ptys.push((index, Arc::downgrade(&tty)));
    Ok(Arc::new(PtyMaster { tty }))
}

fn unregister(index: u32) {
    lock(&PTYS).retain(|(i, w)| *i != index && w.strong_count() > 0);
}

/// The pair `/dev/pts/N` names, if its master is open.
pub fn lookup(index: u32) -> Option<Arc<Tty>> {
    lock(&PTYS)
        .iter()
        .find(|(i, _)| *i == index)
        .and_then(|(_, w)| w.upgrade())
}

/// Indexes of the open pairs, in order.
pub fn indexes() -> Vec<u32> {
    let mut v: Vec<u32> = lock(&PTYS)
        .iter()
        .filter(|(_, w)| w.strong_count() > 0)
        .map(|(i, _)| *i)
        .collect();
    v.sort_unstable();
    v
}

/// Opens the slave `index` for the caller; without `O_NOCTTY`, a session
/// leader with no controlling terminal acquires it (`tty_open_proc_set_tty`).
pub fn open_slave(index: u32, flags: i32) -> Result<Arc<dyn FileOps>, Errno> {
    let tty = lookup(index).ok_or(Errno::EIO)?;
    let ops = tty.open_slave()?;
    if flags & libc::O_NOCTTY == 0 {
        if let Some(task) = current() {
            maybe_set_ctty(&task.tg, &tty);
        }
    }
    Ok(ops)
}

/// Makes `tty` the controlling terminal of `tg` if it is a session leader
/// without one and the terminal has no session.
fn maybe_set_ctty(tg: &Arc<ThreadGroup>, tty: &Arc<Tty>) {
    let mut s = lock(&tg.state);
    if s.sid != tg.pid || s.ctty.is_some() {
        return;
    }
    let mut st = lock(&tty.st);
    if st.session != 0 {
        return;
    }
    st.session = s.sid;
    st.pgrp = s.pgid;
    s.ctty = Some(tty.clone());
}

/// A slave in exclusive mode opens again only for CAP_SYS_ADMIN.
fn check_exclusive(st: &TtyState) -> Result<(), Errno> {
    if !st.slave_exclusive {
        return Ok(());
    }
    let admin = current().is_some_and(|task| {
        crate::syscalls::caps::capable(&lock(&task.tg.creds), crate::syscalls::caps::CAP_SYS_ADMIN)
    });
    if admin {
        Ok(())
    } else {
        Err(Errno::EBUSY)
    }
}

/// `/dev/tty`: the caller's controlling terminal (`ENXIO` without one).
pub fn open_current_tty() -> Result<Arc<dyn FileOps>, Errno> {
    let task = current().ok_or(Errno::ENXIO)?;
    let tty = {
        let s = lock(&task.tg.state);
        s.ctty.clone().ok_or(Errno::ENXIO)?
    };
    let mut st = lock(&tty.st);
    if !st.master_open {
        return Err(Errno::EIO);
    }
    check_exclusive(&st)?;
    st.slaves += 1;
    st.slave_opened = true;
    drop(st);
    Ok(Arc::new(PtySlave { tty }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair() -> (Arc<Tty>, Arc<dyn FileOps>, Arc<dyn FileOps>) {
        let tty = Tty::new(999);
        tty.set_locked(false);
        let slave = tty.open_slave().unwrap();
        let master: Arc<dyn FileOps> = Arc::new(PtyMaster { tty: tty.clone() });
        (tty, master, slave)
    }

    fn read_all(f: &Arc<dyn FileOps>) -> Vec<u8> {
        let mut buf = [0u8; 256];
        match f.read(&mut buf, 0) {
            Ok(n) => buf[..n].to_vec(),
            Err(_) => Vec::new(),
        }
    }

    #[test]
    fn termios_round_trips_with_linux_defaults() {
        let t = Termios::linux_default();
        assert_eq!(Termios::from_bytes(&t.to_bytes()), t);
        assert_eq!(t.cc[libc::VINTR], 3);
        assert_eq!(t.cc[libc::VERASE], 0x7f);
        assert_eq!(t.cc[libc::VMIN], 1);
    }

    #[test]
    fn canonical_line_with_echo_and_erase() {
        let (_tty, m, s) = pair();
        let mut buf = [0u8; 16];
        assert_eq!(m.write(b"abx\x7fc", 0), Ok(5));
        assert_eq!(s.read(&mut buf, 0), Err(Errno::EAGAIN));
        assert_eq!(m.write(b"\r", 0), Ok(1));
        assert_eq!(s.read(&mut buf, 0), Ok(4));
        assert_eq!(&buf[..4], b"abc\n");
        assert_eq!(read_all(&m), b"abx\x08 \x08c\r\n");
        assert_eq!(s.write(b"x\n", 0), Ok(2));
        assert_eq!(read_all(&m), b"x\r\n");
        // ^D on an empty line is end of file.
        assert_eq!(m.write(b"\x04", 0), Ok(1));
        assert_eq!(s.read(&mut buf, 0), Ok(0));
    }

    #[test]
    fn vtime_read_timers() {
        let past = |d: Option<std::time::Instant>| {
            d.and_then(|d| d.checked_sub(std::time::Duration::from_secs(10)))
        };
        let mut t = Termios::linux_default();
        t.cc[libc::VMIN] = 0;
        t.cc[libc::VTIME] = 5;
        // VMIN 0: the timer starts with the read.
        let mut timer = ReadTimer::default();
        assert!(!raw_read_ready(&t, 0, 8, &mut timer));
        assert!(timer.deadline.is_some());
        timer.deadline = past(timer.deadline);
        assert!(raw_read_ready(&t, 0, 8, &mut timer));
        // VMIN 4: no timer before the first byte, a new one per byte.
        t.cc[libc::VMIN] = 4;
        let mut timer = ReadTimer::default();
        assert!(!raw_read_ready(&t, 0, 8, &mut timer));
        assert!(timer.deadline.is_none());
        assert!(!raw_read_ready(&t, 1, 8, &mut timer));
        timer.deadline = past(timer.deadline);
        assert!(!raw_read_ready(&t, 2, 8, &mut timer));
        assert!(timer.deadline > past(Some(std::time::Instant::now())));
        timer.deadline = past(timer.deadline);
        assert!(raw_read_ready(&t, 2, 8, &mut timer));
        // min(VMIN, count) bytes, or anything for a non-blocking read.
        assert!(raw_read_ready(&t, 4, 8, &mut ReadTimer::default()));
        assert!(raw_read_ready(&t, 2, 2, &mut ReadTimer::default()));
        let mut nb = ReadTimer {
            nonblocking: true,
            ..ReadTimer::default()
        };
        assert!(raw_read_ready(&t, 1, 8, &mut nb));
    }

    #[test]
    fn raw_mode_vmin() {
        let (tty, m, s) = pair();
        let mut t = tty.termios();
        t.lflag &= !(libc::ICANON | libc::ECHO);
        t.cc[libc::VMIN] = 2;
        tty.set_termios(t, false);
        let mut buf = [0u8; 16];
        m.write(b"a", 0).unwrap();
        assert_eq!(s.read(&mut buf, 0), Err(Errno::EAGAIN));
        m.write(b"b", 0).unwrap();
        assert_eq!(s.read(&mut buf, 0), Ok(2));
        t.cc[libc::VMIN] = 0;
        tty.set_termios(t, false);
        assert_eq!(s.read(&mut buf, 0), Ok(0));
        assert_eq!(read_all(&m), b"");
    }
}
