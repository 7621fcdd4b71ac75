//! System V semaphore sets, with SEM_UNDO adjustments applied when a
//! process exits.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use nix::errno::Errno;

use super::{
    lookup_key, now_secs, put_i32s, KeyLookup, Perm, StatCmd, Table, IPC_NOWAIT, PERM_SIZE,
};
use crate::kernel::task::{lock, Creds};
use crate::kernel::wait::WaitQueue;

/// Linux's defaults (SEMMSL, SEMMNI, SEMMNS, SEMOPM, SEMVMX, SEMAEM).
pub const SEMMSL: i32 = 32000;
pub const SEMMNI: usize = 32000;
pub const SEMMNS: usize = SEMMNI * SEMMSL as usize;
pub const SEMOPM: usize = 500;
pub const SEMVMX: i32 = 32767;
pub const SEMAEM: i32 = 32767;
/// The obsolete limits `struct seminfo` still reports (SEMUSZ).
const SEMUSZ: i32 = 20;
pub const SEM_STAT: i32 = 18;
pub const SEM_INFO: i32 = 19;
pub const SEM_STAT_ANY: i32 = 20;
/// Size of `struct seminfo`.
pub const SEMINFO_SIZE: usize = 40;
pub const SEM_UNDO: i16 = 0x1000;
pub const GETPID: i32 = 11;
pub const GETVAL: i32 = 12;
pub const GETALL: i32 = 13;
pub const GETNCNT: i32 = 14;
pub const GETZCNT: i32 = 15;
pub const SETVAL: i32 = 16;
pub const SETALL: i32 = 17;
/// Size of `struct semid64_ds` on x86_64.
pub const SEMID_DS_SIZE: usize = 104;

/// One `struct sembuf`.
#[derive(Debug, Clone, Copy)]
pub struct SemOp {
    pub num: u16,
    pub op: i16,
    pub flg: i16,
}

#[derive(Debug, Clone, Copy, Default)]
struct Sem {
    val: i32,
    pid: i32,
}

/// A task sleeping in semop, and the operation it blocks on.
#[derive(Debug, Clone, Copy)]
struct Waiter {
    token: u64,
    num: u16,
    /// Waiting for zero (GETZCNT) rather than for an increase (GETNCNT).
    zero: bool,
}

#[derive(Debug)]
pub struct SemState {
    pub perm: Perm,
    sems: Vec<Sem>,
    otime: i64,
    ctime: i64,
    pub removed: bool,
    waiters: Vec<Waiter>,
}

/// One semaphore set.
#[derive(Debug)]
pub struct SemSet {
    pub id: i32,
    pub nsems: usize,
    pub state: Mutex<SemState>,
    /// Notified whenever a value changes or the set is removed.
    pub wq: WaitQueue,
}

static SEMS: Mutex<Table<SemSet>> = Mutex::new(Table::new(SEMMNI));
/// SEM_UNDO adjustments: (process id, set id) -> one per semaphore.
static UNDO: Mutex<BTreeMap<(i32, i32), Vec<i32>>> = Mutex::new(BTreeMap::new());

/// semget.
pub fn semget(key: i32, nsems: i32, flg: i32, c: &Creds) -> Result<i32, Errno> {
    if !(0..=SEMMSL).contains(&nsems) {
        return Err(Errno::EINVAL);
    }
    let n = usize::try_from(nsems).map_err(|_| Errno::EINVAL)?;
    let mut t = lock(&SEMS);
    match lookup_key(&t, key, flg, |s| lock(&s.state).perm.key)? {
        KeyLookup::Existing(s) => {
            if n > s.nsems {
                return Err(Errno::EINVAL);
            }
            if !lock(&s.state).perm.allows(c, flg.unsigned_abs() & 0o777) {
                return Err(Errno::EACCES);
            }
            Ok(s.id)
        }
        KeyLookup::Create => {
            if n == 0 {
                return Err(Errno::EINVAL);
            }
            if used_sems(&t) + n > SEMMNS {
                return Err(Errno::ENOSPC);
            }
            let id = t.next_id()?;
            let set = SemSet {
                id,
                nsems: n,
                state: Mutex::new(SemState {
                    perm: Perm::new(key, flg, c, id),
                    sems: vec![Sem::default(); n],
                    otime: 0,
                    ctime: now_secs(),
                    removed: false,
                    waiters: Vec::new(),
                }),
                wq: WaitQueue::new(),
            };
            t.objs.insert(id, Arc::new(set));
            Ok(id)
        }
    }
}

pub fn lookup(id: i32) -> Result<Arc<SemSet>, Errno> {
    lock(&SEMS).get(id)
}

/// Semaphores in all sets (`ipc_namespace.used_sems`).
fn used_sems(t: &Table<SemSet>) -> usize {
    t.objs.values().map(|s| s.nsems).sum()
}

/// semctl(IPC_STAT, SEM_STAT, SEM_STAT_ANY): `struct semid64_ds` and the
/// call's result.
pub fn stat(id: i32, c: &Creds, cmd: StatCmd) -> Result<([u8; SEMID_DS_SIZE], i32), Errno> {
    let set = cmd.lookup(&lock(&SEMS), id)?;
    let st = lock(&set.state);
    cmd.check(&st.perm, c)?;
    let mut b = [0u8; SEMID_DS_SIZE];
    b[..PERM_SIZE].copy_from_slice(&st.perm.to_bytes());
    b[48..56].copy_from_slice(&st.otime.to_ne_bytes());
    b[64..72].copy_from_slice(&st.ctime.to_ne_bytes());
    b[80..88].copy_from_slice(&(set.nsems as u64).to_ne_bytes());
    Ok((b, cmd.result(set.id)))
}

/// semctl(IPC_INFO / SEM_INFO): `struct seminfo` and the highest index
/// in use. SEM_INFO replaces semusz and semaem with the sets and the
/// semaphores in use (`semctl_info`).
pub fn info(cmd: i32) -> ([u8; SEMINFO_SIZE], i32) {
    let t = lock(&SEMS);
    let semmns = i32::try_from(SEMMNS).unwrap_or(i32::MAX);
    let semopm = i32::try_from(SEMOPM).unwrap_or(i32::MAX);
    let (usz, aem) = if cmd == SEM_INFO {
        (
            i32::try_from(t.in_use()).unwrap_or(i32::MAX),
            i32::try_from(used_sems(&t)).unwrap_or(i32::MAX),
        )
    } else {
        (SEMUSZ, SEMAEM)
    };
    let mut v = Vec::with_capacity(SEMINFO_SIZE);
    // semmap, semmni, semmns, semmnu, semmsl, semopm, semume, semusz,
    // semvmx, semaem (SEMMAP and SEMMNU are SEMMNS, SEMUME is SEMOPM).
    put_i32s(
        &mut v,
        &[
            semmns,
            i32::try_from(SEMMNI).unwrap_or(i32::MAX),
            semmns,
            semmns,
            SEMMSL,
            semopm,
            semopm,
            usz,
            SEMVMX,
            aem,
        ],
    );
    let mut b = [0u8; SEMINFO_SIZE];
    b.copy_from_slice(&v);
    (b, t.max_idx())
}

/// What one attempt at a semop did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// Every operation applied; `altered` if a value changed.
    Done { altered: bool },
    /// Operation `num` must wait (for zero if `zero`).
    Block { num: u16, zero: bool },
}

impl SemSet {
    /// Applies `ops` all at once or not at all (Linux's
    /// `perform_atomic_semop`).
    pub fn try_ops(&self, ops: &[SemOp], pid: i32) -> Result<Attempt, Errno> {
        let mut st = lock(&self.state);
        if st.removed {
            return Err(Errno::EIDRM);
        }
        let mut vals: Vec<i32> = st.sems.iter().map(|s| s.val).collect();
        let mut undo = lock(&UNDO);
        let mut adj = undo
            .get(&(pid, self.id))
            .cloned()
            .unwrap_or_else(|| vec![0; self.nsems]);
        for o in ops {
            let i = usize::from(o.num);
            let v = vals.get(i).copied().ok_or(Errno::EFBIG)?;
            let op = i32::from(o.op);
            let blocks = if op == 0 { v != 0 } else { v + op < 0 };
            if blocks {
                if i32::from(o.flg) & IPC_NOWAIT != 0 {
                    return Err(Errno::EAGAIN);
                }
                return Ok(Attempt::Block {
                    num: o.num,
                    zero: op == 0,
                });
            }
            if v + op > SEMVMX {
                return Err(Errno::ERANGE);
            }
            if o.flg & SEM_UNDO != 0 {
                let a = adj[i] - op;
                if !(-SEMAEM - 1..=SEMAEM).contains(&a) {
                    return Err(Errno::ERANGE);
                }
                adj[i] = a;
            }
            vals[i] = v + op;
        }
        let mut altered = false;
        for o in ops {
            let s = &mut st.sems[usize::from(o.num)];
            s.pid = pid;
            altered |= o.op != 0;
        }
        for (s, v) in st.sems.iter_mut().zip(vals) {
            s.val = v;
        }
        if ops.iter().any(|o| o.flg & SEM_UNDO != 0) {
            undo.insert((pid, self.id), adj);
        }
        st.otime = now_secs();
        Ok(Attempt::Done { altered })
    }

    /// Records (or, with `None`, forgets) that `token` sleeps on `num`.
    pub fn set_waiter(&self, token: u64, on: Option<(u16, bool)>) {
        let mut st = lock(&self.state);
        st.waiters.retain(|w| w.token != token);
        if let Some((num, zero)) = on {
            st.waiters.push(Waiter { token, num, zero });
        }
    }

    /// GETVAL, GETPID, GETNCNT, GETZCNT for semaphore `num`.
    pub fn get(&self, cmd: i32, num: i32, c: &Creds) -> Result<i32, Errno> {
        let st = lock(&self.state);
        if !st.perm.allows(c, super::S_IRUGO) {
            return Err(Errno::EACCES);
        }
        let i = usize::try_from(num).map_err(|_| Errno::EINVAL)?;
        let s = st.sems.get(i).ok_or(Errno::EINVAL)?;
        let count = |zero: bool| {
            let n = st
                .waiters
                .iter()
                .filter(|w| usize::from(w.num) == i && w.zero == zero)
                .count();
            i32::try_from(n).unwrap_or(i32::MAX)
        };
        Ok(match cmd {
            GETVAL => s.val,
            GETPID => s.pid,
            GETNCNT => count(false),
            _ => count(true),
        })
    }

    /// GETALL.
    pub fn get_all(&self, c: &Creds) -> Result<Vec<u16>, Errno> {
        let st = lock(&self.state);
        if !st.perm.allows(c, super::S_IRUGO) {
            return Err(Errno::EACCES);
        }
        Ok(st
            .sems
            .iter()
            .map(|s| u16::try_from(s.val).unwrap_or(0))
            .collect())
    }

    /// SETVAL (`Some(num)`) or SETALL (`None`, `vals` has one per
    /// semaphore): clears every process's undo adjustment for them.
    pub fn set_vals(
        &self,
        num: Option<i32>,
        vals: &[i32],
        c: &Creds,
        pid: i32,
    ) -> Result<(), Errno> {
        {
            let mut st = lock(&self.state);
            if !st.perm.allows(c, super::S_IWUGO) {
                return Err(Errno::EACCES);
            }
            if vals.iter().any(|v| !(0..=SEMVMX).contains(v)) {
                return Err(Errno::ERANGE);
            }
            let range = match num {
                Some(n) => {
                    let i = usize::try_from(n).map_err(|_| Errno::EINVAL)?;
                    if i >= self.nsems {
                        return Err(Errno::EINVAL);
                    }
                    i..i + 1
                }
                None => 0..self.nsems,
            };
            for (i, v) in range.clone().zip(vals) {
                st.sems[i] = Sem { val: *v, pid };
            }
            for ((_, id), adj) in lock(&UNDO).iter_mut() {
                if *id == self.id {
                    for a in &mut adj[range.clone()] {
                        *a = 0;
                    }
                }
            }
            st.ctime = now_secs();
        }
        self.wq.notify();
        Ok(())
    }

    /// IPC_SET.
    pub fn set(&self, c: &Creds, raw: &[u8]) -> Result<(), Errno> {
        let mut st = lock(&self.state);
        if !st.perm.is_owner(c) {
            return Err(Errno::EPERM);
        }
        st.perm.set_from(raw);
        st.ctime = now_secs();
        Ok(())
    }
}

/// IPC_RMID: sleepers wake with EIDRM; undo adjustments are dropped.
pub fn rmid(id: i32, c: &Creds) -> Result<(), Errno> {
    let set = {
        let mut t = lock(&SEMS);
        let set = t.get(id)?;
        let mut st = lock(&set.state);
        if !st.perm.is_owner(c) {
            return Err(Errno::EPERM);
        }
        st.removed = true;
        drop(st);
        t.objs.remove(&id);
        set
    };
    lock(&UNDO).retain(|(_, sid), _| *sid != id);
    set.wq.notify();
    Ok(())
}

/// A process ended: applies its SEM_UNDO adjustments (Linux's
/// `exit_sem`), clamping each value to `0..=SEMVMX`.
pub fn exit_undo(pid: i32) {
    let mine: Vec<(i32, Vec<i32>)> = {
        let mut u = lock(&UNDO);
        let keys: Vec<(i32, i32)> = u.keys().filter(|(p, _)| *p == pid).copied().collect();
        keys.into_iter()
            .filter_map(|k| u.remove(&k).map(|adj| (k.1, adj)))
            .collect()
    };
    for (id, adj) in mine {
        let Ok(set) = lookup(id) else { continue };
        {
            let mut st = lock(&set.state);
            for (s, a) in st.sems.iter_mut().zip(adj) {
                if a != 0 {
                    s.val = (s.val + a).clamp(0, SEMVMX);
                    s.pid = pid;
                }
            }
            st.otime = now_secs();
        }
        set.wq.notify();
    }
}
