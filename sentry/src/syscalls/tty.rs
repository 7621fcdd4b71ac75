//! ioctl on pseudo-terminals (Linux's `tty_ioctl`, `tty_mode_ioctl` and
//! `pty_unix98_ioctl`). On the master, the terminal ioctls act on the
//! slave (`tty_pair_get_tty`), as Linux does.

use std::sync::Arc;

use nix::errno::Errno;

use super::caps::{self, CAP_SYS_ADMIN};
use super::{ok, SysResult};
use crate::kernel::ctx::TaskCtx;
use crate::kernel::task::{kernel, lock};
use crate::vfs::tty::{self, Termios, Tty, TERMIOS_SIZE};
use crate::vfs::OpenFile;

const TCGETS: u64 = 0x5401;
const TCSETS: u64 = 0x5402;
const TCSETSW: u64 = 0x5403;
const TCSETSF: u64 = 0x5404;
const TCSBRK: u64 = 0x5409;
const TCFLSH: u64 = 0x540b;
const TIOCEXCL: u64 = 0x540c;
const TIOCNXCL: u64 = 0x540d;
const TIOCSCTTY: u64 = 0x540e;
const TIOCGPGRP: u64 = 0x540f;
const TIOCSPGRP: u64 = 0x5410;
const TIOCOUTQ: u64 = 0x5411;
const TIOCGWINSZ: u64 = 0x5413;
const TIOCSWINSZ: u64 = 0x5414;
const TIOCSTI: u64 = 0x5412;
const TIOCNOTTY: u64 = 0x5422;
const TIOCGETD: u64 = 0x5424;
const TCSBRKP: u64 = 0x5425;
const TIOCGSID: u64 = 0x5429;
const TCGETS2: u64 = 0x802c_542a;
const TCSETS2: u64 = 0x402c_542b;
const TCSETSW2: u64 = 0x402c_542c;
const TCSETSF2: u64 = 0x402c_542d;
const TIOCGPTN: u64 = 0x8004_5430;
const TIOCSPTLCK: u64 = 0x4004_5431;
const TIOCGPTLCK: u64 = 0x8004_5439;
const TIOCGPTPEER: u64 = 0x5441;
const TIOCGEXCL: u64 = 0x8004_5440;

/// `struct termios2`: termios plus input and output speeds.
const TERMIOS2_SIZE: usize = TERMIOS_SIZE + 8;

/// Handles `cmd` if `f` is a pty master or slave; `None` leaves the
/// ioctl to the generic code (FIONBIO, FIOCLEX, FIONREAD…).
pub fn ioctl(t: &mut TaskCtx, f: &Arc<OpenFile>, cmd: u64, arg: u64) -> Option<SysResult> {
    let (tty, master) = tty::tty_of(&*f.ops)?;
    let r = match cmd {
        TCGETS => t
            .copy_out(arg, &tty.termios().to_bytes())
            .and_then(|()| ok(0)),
        TCGETS2 => {
            let mut b = [0u8; TERMIOS2_SIZE];
            b[..TERMIOS_SIZE].copy_from_slice(&tty.termios().to_bytes());
            b[TERMIOS_SIZE..TERMIOS_SIZE + 4].copy_from_slice(&38400u32.to_ne_bytes());
            b[TERMIOS_SIZE + 4..].copy_from_slice(&38400u32.to_ne_bytes());
            t.copy_out(arg, &b).and_then(|()| ok(0))
        }
        TCSETS | TCSETSW | TCSETSF | TCSETS2 | TCSETSW2 | TCSETSF2 => {
            set_termios(t, &tty, cmd, arg)
        }
        TCSBRK | TCSBRKP => tty.check_change(libc::SIGTTOU).and_then(|()| ok(0)),
        TCFLSH => flush(&tty, master, arg),
        TIOCGWINSZ => {
            let ws = tty.winsize();
            let mut b = [0u8; 8];
            for (i, v) in ws.iter().enumerate() {
                b[i * 2..i * 2 + 2].copy_from_slice(&v.to_ne_bytes());
            }
            t.copy_out(arg, &b).and_then(|()| ok(0))
        }
        TIOCSWINSZ => {
            let mut b = [0u8; 8];
            t.copy_in(arg, &mut b)
                .map(|()| {
                    let w = |i: usize| u16::from_ne_bytes([b[i * 2], b[i * 2 + 1]]);
                    tty.set_winsize([w(0), w(1), w(2), w(3)]);
                })
                .and_then(|()| ok(0))
        }
        // pty drivers keep nothing in flight (no chars_in_buffer).
        TIOCOUTQ => t.write_obj(arg, &0i32).and_then(|()| ok(0)),
        // Exclusive mode belongs to the side the fd is (not the pair's
        // slave, as Linux's tty_ioctl uses `tty`, not `real_tty`); only
        // the slave can be opened again, so only its flag matters.
        TIOCEXCL | TIOCNXCL => {
            tty.set_exclusive(master, cmd == TIOCEXCL);
            ok(0)
        }
        TIOCGEXCL => t
            .write_obj(arg, &i32::from(tty.exclusive(master)))
            .and_then(|()| ok(0)),
        TIOCSTI => simulate_input(t, &tty, master, arg),
        TIOCGETD => t.write_obj(arg, &0i32).and_then(|()| ok(0)),
        TIOCSCTTY => set_ctty(t, f, &tty, arg),
        TIOCNOTTY => notty(t, &tty, master),
        TIOCGPGRP | TIOCGSID => get_pgrp_sid(t, &tty, master, cmd, arg),
        TIOCSPGRP => set_pgrp(t, &tty, arg),
        TIOCGPTN | TIOCSPTLCK | TIOCGPTLCK | TIOCGPTPEER if !master => Err(Errno::ENOTTY),
        TIOCGPTN => t.write_obj(arg, &tty.index).and_then(|()| ok(0)),
        TIOCSPTLCK => t.read_obj::<i32>(arg).and_then(|v| {
            tty.set_locked(v != 0);
            ok(0)
        }),
        TIOCGPTLCK => t
            .write_obj(arg, &i32::from(tty.locked()))
            .and_then(|()| ok(0)),
        TIOCGPTPEER => open_peer(t, &tty, arg),
        _ => return None,
    };
    Some(r)
}

fn is_ctty(t: &TaskCtx, tty: &Arc<Tty>) -> bool {
    lock(&t.tg().state)
        .ctty
        .as_ref()
        .is_some_and(|c| Arc::ptr_eq(c, tty))
}

fn set_termios(t: &mut TaskCtx, tty: &Arc<Tty>, cmd: u64, arg: u64) -> SysResult {
    tty.check_change(libc::SIGTTOU)?;
    let mut b = [0u8; TERMIOS_SIZE];
    t.copy_in(arg, &mut b)?;
    // A pty drains instantly: TCSETSW is TCSETS.
    tty.set_termios(Termios::from_bytes(&b), matches!(cmd, TCSETSF | TCSETSF2));
    ok(0)
}

/// TCFLSH: the master's input is what the slave wrote, and the reverse.
fn flush(tty: &Arc<Tty>, master: bool, arg: u64) -> SysResult {
    tty.check_change(libc::SIGTTOU)?;
    let which = match (i32::try_from(arg), master) {
        (Ok(w @ 0..=1), true) => 1 - w,
        (Ok(w), _) => w,
        (Err(_), _) => return Err(Errno::EINVAL),
    };
    tty.flush(which)?;
    ok(0)
}

/// TIOCSTI (`tiocsti`): queues one byte as if it had been received.
/// Someone else's terminal needs CAP_SYS_ADMIN (this is Linux with
/// `dev.tty.legacy_tiocsti` = 1, its default). As in Linux, the byte
/// goes to the line discipline of the side the fd is: on the master it
/// becomes something the master reads.
fn simulate_input(t: &mut TaskCtx, tty: &Arc<Tty>, master: bool, arg: u64) -> SysResult {
    if (master || !is_ctty(t, tty)) && !caps::has(t, CAP_SYS_ADMIN) {
        return Err(Errno::EPERM);
    }
    let c: u8 = t.read_obj(arg)?;
    tty.simulate_input(master, c);
    ok(0)
}

/// TIOCSCTTY (`tiocsctty`): a session leader without a controlling
/// terminal takes this one; `arg == 1` with CAP_SYS_ADMIN steals it from
/// another session.
fn set_ctty(t: &mut TaskCtx, f: &Arc<OpenFile>, tty: &Arc<Tty>, arg: u64) -> SysResult {
    let tg = t.tg().clone();
    let (sid, pgid, has_ctty) = {
        let s = lock(&tg.state);
        (s.sid, s.pgid, s.ctty.is_some())
    };
    let leader = tg.pid == sid;
    let (tty_sid, _) = tty.session_pgrp();
    if leader && tty_sid == sid {
        return ok(0);
    }
    if !leader || has_ctty {
        return Err(Errno::EPERM);
    }
    let admin = caps::has(t, CAP_SYS_ADMIN);
    if tty_sid != 0 {
        if arg == 1 && admin {
            clear_session_ctty(tty_sid, tty);
        } else {
            return Err(Errno::EPERM);
        }
    }
    if !f.readable() && !admin {
        return Err(Errno::EPERM);
    }
    tty.set_session(sid, pgid);
    lock(&tg.state).ctty = Some(tty.clone());
    ok(0)
}

/// Every process of session `sid` loses `tty` as its controlling terminal.
fn clear_session_ctty(sid: i32, tty: &Arc<Tty>) {
    for g in kernel().groups() {
        let mut s = lock(&g.state);
        if s.sid == sid && s.ctty.as_ref().is_some_and(|c| Arc::ptr_eq(c, tty)) {
            s.ctty = None;
        }
    }
}

/// TIOCNOTTY: the caller gives up its controlling terminal; a session
/// leader takes it from the whole session, and the foreground group gets
/// SIGHUP and SIGCONT (`disassociate_ctty(0)`).
fn notty(t: &mut TaskCtx, tty: &Arc<Tty>, master: bool) -> SysResult {
    if master || !is_ctty(t, tty) {
        return Err(Errno::ENOTTY);
    }
    let tg = t.tg().clone();
    let sid = lock(&tg.state).sid;
    if tg.pid == sid {
        let (_, pgrp) = tty.session_pgrp();
        if pgrp != 0 {
            tty::signal_pgrp(pgrp, libc::SIGHUP);
            tty::signal_pgrp(pgrp, libc::SIGCONT);
        }
        tty.set_session(0, 0);
        clear_session_ctty(sid, tty);
    }
    lock(&tg.state).ctty = None;
    ok(0)
}

/// TIOCGPGRP/TIOCGSID: through the slave only for its controlling
/// processes; through the master for anyone.
fn get_pgrp_sid(t: &mut TaskCtx, tty: &Arc<Tty>, master: bool, cmd: u64, arg: u64) -> SysResult {
    if !master && !is_ctty(t, tty) {
        return Err(Errno::ENOTTY);
    }
    let (sid, pgrp) = tty.session_pgrp();
    let v = if cmd == TIOCGSID {
        if sid == 0 {
            return Err(Errno::ENOTTY);
        }
        sid
    } else {
        pgrp
    };
    t.write_obj(arg, &v)?;
    ok(0)
}

/// TIOCSPGRP (`tiocspgrp`): the new foreground group must exist in the
/// caller's session, whose controlling terminal this must be.
fn set_pgrp(t: &mut TaskCtx, tty: &Arc<Tty>, arg: u64) -> SysResult {
    match tty.check_change(libc::SIGTTOU) {
        Err(Errno::EIO) => return Err(Errno::ENOTTY),
        r => r?,
    }
    let pgrp: i32 = t.read_obj(arg)?;
    if pgrp < 0 {
        return Err(Errno::EINVAL);
    }
    let my_sid = lock(&t.tg().state).sid;
    let (tty_sid, _) = tty.session_pgrp();
    if !is_ctty(t, tty) || tty_sid != my_sid {
        return Err(Errno::ENOTTY);
    }
    let members = tty::pgrp_members(pgrp);
    let Some(first) = members.first() else {
        return Err(Errno::ESRCH);
    };
    if lock(&first.state).sid != my_sid {
        return Err(Errno::EPERM);
    }
    tty.set_pgrp(pgrp);
    ok(0)
}

/// TIOCGPTPEER: opens the slave as a new fd with `flags`.
fn open_peer(t: &mut TaskCtx, tty: &Arc<Tty>, arg: u64) -> SysResult {
    let flags = i32::try_from(arg).map_err(|_| Errno::EINVAL)?;
    let allowed = libc::O_ACCMODE | libc::O_NOCTTY | libc::O_NONBLOCK | libc::O_CLOEXEC;
    if flags & !allowed != 0 {
        return Err(Errno::EINVAL);
    }
    let ops = tty::open_slave(tty.index, flags)?;
    let file = OpenFile::new(None, ops, flags & !libc::O_CLOEXEC);
    ok(t.fds().alloc(file, flags & libc::O_CLOEXEC != 0, 0)?)
}
