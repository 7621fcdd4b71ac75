//! System V IPC: shared memory segments, semaphore sets and message
//! queues, in one sentry-wide namespace (Linux's `ipc_namespace`).
//!
//! Each kind keeps its objects in a table keyed by id; an id is
//! `seq * 32768 + index` as in Linux's `ipc_ids`, so a stale id does not
//! reach a newer object in the same slot. Privilege is Linux's:
//! CAP_IPC_OWNER overrides the mode bits, CAP_SYS_ADMIN ownership for
//! IPC_SET/IPC_RMID, CAP_IPC_LOCK ownership for SHM_LOCK.

pub mod msg;
pub mod sem;
pub mod shm;

use std::collections::BTreeMap;
use std::sync::Arc;

use nix::errno::Errno;

use crate::kernel::task::{Creds, ThreadGroup};
use crate::syscalls::caps::{capable, CAP_IPC_OWNER, CAP_SYS_ADMIN};

pub const IPC_PRIVATE: i32 = 0;
pub const IPC_CREAT: i32 = 0o1000;
pub const IPC_EXCL: i32 = 0o2000;
pub const IPC_NOWAIT: i32 = 0o4000;
pub const IPC_RMID: i32 = 0;
pub const IPC_SET: i32 = 1;
pub const IPC_STAT: i32 = 2;
pub const IPC_INFO: i32 = 3;
/// Linux's IPCMNI: ids are `seq * SEQ_MULTIPLIER + index`.
const SEQ_MULTIPLIER: i32 = 32768;
/// Largest sequence number before it wraps (IPCID_SEQ_MAX).
const SEQ_MAX: i32 = i32::MAX / SEQ_MULTIPLIER;

/// Read, write and read-write requests for [`Perm::allows`].
pub const S_IRUGO: u32 = 0o444;
pub const S_IWUGO: u32 = 0o222;

/// `struct kern_ipc_perm`: who owns an object and who may use it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Perm {
    pub key: i32,
    pub uid: u32,
    pub gid: u32,
    pub cuid: u32,
    pub cgid: u32,
    /// Permission bits plus per-kind flags (SHM_DEST, ...).
    pub mode: u32,
    pub seq: u16,
}

/// Size of `struct ipc64_perm` on x86_64.
pub const PERM_SIZE: usize = 48;

impl Perm {
    pub fn new(key: i32, flg: i32, c: &Creds, id: i32) -> Perm {
        Perm {
            key,
            uid: c.euid,
            gid: c.egid,
            cuid: c.euid,
            cgid: c.egid,
            mode: flg.unsigned_abs() & 0o777,
            seq: u16::try_from(id / SEQ_MULTIPLIER).unwrap_or(0),
        }
    }

    /// Linux's `ipcperms`: whether `c` may access with `flag` (a mask of
    /// S_IRUGO/S_IWUGO, or the shmflg/semflg given to *get).
    pub fn allows(&self, c: &Creds, flag: u32) -> bool {
        let requested = (flag >> 6) | (flag >> 3) | flag;
        let mut granted = self.mode;
        if self.owned_by(c) {
            granted >>= 6;
        } else if in_group(c, self.cgid) || in_group(c, self.gid) {
            granted >>= 3;
        }
        requested & !granted & 0o7 == 0 || capable(c, CAP_IPC_OWNER)
    }

    /// Whether `c`'s euid is the owner's or the creator's.
    pub fn owned_by(&self, c: &Creds) -> bool {
        c.euid == self.uid || c.euid == self.cuid
    }

    /// Who may IPC_SET and IPC_RMID (`ipcctl_obtain_check`): the owner,
    /// the creator, or CAP_SYS_ADMIN.
    pub fn is_owner(&self, c: &Creds) -> bool {
        self.owned_by(c) || capable(c, CAP_SYS_ADMIN)
    }

    /// `struct ipc64_perm` as the application sees it.
    pub fn to_bytes(&self) -> [u8; PERM_SIZE] {
        let mut b = [0u8; PERM_SIZE];
        b[0..4].copy_from_slice(&self.key.to_ne_bytes());
        b[4..8].copy_from_slice(&self.uid.to_ne_bytes());
        b[8..12].copy_from_slice(&self.gid.to_ne_bytes());
        b[12..16].copy_from_slice(&self.cuid.to_ne_bytes());
        b[16..20].copy_from_slice(&self.cgid.to_ne_bytes());
        let mode = u16::try_from(self.mode & 0xffff).unwrap_or(0);
        b[20..22].copy_from_slice(&mode.to_ne_bytes());
        b[24..26].copy_from_slice(&self.seq.to_ne_bytes());
        b
    }

    /// IPC_SET: uid, gid and the permission bits from a user `ipc64_perm`.
    pub fn set_from(&mut self, raw: &[u8]) {
        let word = |at: usize| {
            let mut w = [0u8; 4];
            w.copy_from_slice(&raw[at..at + 4]);
            u32::from_ne_bytes(w)
        };
        self.uid = word(4);
        self.gid = word(8);
        let mode = u32::from(u16::from_ne_bytes([raw[20], raw[21]]));
        self.mode = (self.mode & !0o777) | (mode & 0o777);
    }
}

/// A process ended (its last thread is gone, the parent not yet told):
/// undoes its SEM_UNDO adjustments and, when no other process shares its
/// address space (vfork, CLONE_VM), detaches its memory, so that
/// `shm_nattch` has dropped by the time wait() returns, as on Linux.
pub fn exit_process(tg: &ThreadGroup) {
    sem::exit_undo(tg.pid);
    let mm = tg.mm();
    if mm.users.load(std::sync::atomic::Ordering::Acquire) <= 1 {
        mm.release_on_exit();
    }
}

/// Linux's `in_group_p`: the filesystem gid or a supplementary group.
fn in_group(c: &Creds, g: u32) -> bool {
    c.fsgid == g || c.groups.contains(&g)
}

/// Seconds since the epoch, for the *_time fields.
pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Objects of one kind, by id.
#[derive(Debug)]
pub struct Table<T> {
    pub objs: BTreeMap<i32, Arc<T>>,
    seq: i32,
    /// Most objects at once (SHMMNI, SEMMNI, MSGMNI).
    max: usize,
}

impl<T> Table<T> {
    pub const fn new(max: usize) -> Table<T> {
        Table {
            objs: BTreeMap::new(),
            seq: 0,
            max,
        }
    }

    /// A fresh id: the lowest free index with the next sequence number.
    /// ENOSPC when the table is full.
    pub fn next_id(&mut self) -> Result<i32, Errno> {
        if self.objs.len() >= self.max {
            return Err(Errno::ENOSPC);
        }
        let used: std::collections::BTreeSet<i32> =
            self.objs.keys().map(|id| id % SEQ_MULTIPLIER).collect();
        let idx = (0..SEQ_MULTIPLIER)
            .find(|i| !used.contains(i))
            .ok_or(Errno::ENOSPC)?;
        let id = self.seq * SEQ_MULTIPLIER + idx;
        self.seq = if self.seq >= SEQ_MAX { 0 } else { self.seq + 1 };
        Ok(id)
    }

    /// Objects in the table (`ipc_ids.in_use`).
    pub fn in_use(&self) -> usize {
        self.objs.len()
    }

    /// The highest index in use (`ipc_get_maxidx`), 0 when there is none:
    /// what the *_INFO commands return.
    pub fn max_idx(&self) -> i32 {
        self.objs
            .keys()
            .map(|id| id % SEQ_MULTIPLIER)
            .max()
            .unwrap_or(0)
    }

    /// The object in slot `idx` whatever its sequence number (SHM_STAT,
    /// SEM_STAT, MSG_STAT take an index; Linux uses the id's index bits).
    pub fn at_index(&self, idx: i32) -> Result<Arc<T>, Errno> {
        if idx < 0 {
            return Err(Errno::EINVAL);
        }
        let idx = idx % SEQ_MULTIPLIER;
        self.objs
            .iter()
            .find(|(id, _)| *id % SEQ_MULTIPLIER == idx)
            .map(|(_, o)| Arc::clone(o))
            .ok_or(Errno::EINVAL)
    }

    /// The object with this id: EINVAL if there is none (a negative id,
    /// a free slot, or a slot reused under a newer sequence number).
    pub fn get(&self, id: i32) -> Result<Arc<T>, Errno> {
        if id < 0 {
            return Err(Errno::EINVAL);
        }
        self.objs.get(&id).cloned().ok_or(Errno::EINVAL)
    }
}

/// How an *_STAT command names its object and checks access.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatCmd {
    /// IPC_STAT: a full id, read permission needed; returns 0.
    Ipc,
    /// SHM_STAT/SEM_STAT/MSG_STAT: an index, read permission needed;
    /// returns the full id.
    Index,
    /// SHM_STAT_ANY/...: an index, no permission check (what
    /// /proc/sysvipc shows anyway); returns the full id.
    IndexAny,
}

impl StatCmd {
    /// The object the command names in `t`.
    pub fn lookup<T>(self, t: &Table<T>, id: i32) -> Result<Arc<T>, Errno> {
        match self {
            StatCmd::Ipc => t.get(id),
            StatCmd::Index | StatCmd::IndexAny => t.at_index(id),
        }
    }

    /// EACCES unless the command may read an object with `perm`.
    pub fn check(self, perm: &Perm, c: &Creds) -> Result<(), Errno> {
        if self != StatCmd::IndexAny && !perm.allows(c, S_IRUGO) {
            return Err(Errno::EACCES);
        }
        Ok(())
    }

    /// What the command returns for the object with `id`.
    pub fn result(self, id: i32) -> i32 {
        if self == StatCmd::Ipc {
            0
        } else {
            id
        }
    }
}

/// Appends native-endian 32-bit words (the `int` fields of the *info
/// structures).
pub fn put_i32s(out: &mut Vec<u8>, vals: &[i32]) {
    for v in vals {
        out.extend_from_slice(&v.to_ne_bytes());
    }
}

/// The outcome of looking up a key for shmget/semget/msgget.
#[derive(Debug)]
pub enum KeyLookup<T> {
    /// The key names this object (after `IPC_CREAT|IPC_EXCL` was checked).
    Existing(Arc<T>),
    /// Make a new object.
    Create,
}

/// Linux's `ipcget`: IPC_PRIVATE always creates; a key either finds its
/// object (EEXIST under IPC_CREAT|IPC_EXCL) or is created under
/// IPC_CREAT (ENOENT otherwise).
pub fn lookup_key<T>(
    t: &Table<T>,
    key: i32,
    flg: i32,
    key_of: impl Fn(&T) -> i32,
) -> Result<KeyLookup<T>, Errno> {
    if key == IPC_PRIVATE {
        return Ok(KeyLookup::Create);
    }
    match t.objs.values().find(|o| key_of(o) == key) {
        Some(o) if flg & IPC_CREAT != 0 && flg & IPC_EXCL != 0 => {
            let _ = o;
            Err(Errno::EEXIST)
        }
        Some(o) => Ok(KeyLookup::Existing(Arc::clone(o))),
        None if flg & IPC_CREAT != 0 => Ok(KeyLookup::Create),
        None => Err(Errno::ENOENT),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_commands_find_objects_by_index() {
        let mut t: Table<i32> = Table::new(4);
        assert_eq!(t.max_idx(), 0);
        let a = t.next_id().unwrap();
        t.objs.insert(a, Arc::new(1));
        let b = t.next_id().unwrap();
        t.objs.insert(b, Arc::new(2));
        assert_eq!(b % SEQ_MULTIPLIER, 1);
        assert_ne!(b, 1);
        assert_eq!((t.in_use(), t.max_idx()), (2, 1));
        assert_eq!(t.at_index(1).map(|x| *x), Ok(2));
        // A full id works through its index bits; IPC_STAT needs the id.
        assert_eq!(t.at_index(b).map(|x| *x), Ok(2));
        assert_eq!(t.get(1).err(), Some(Errno::EINVAL));
        assert_eq!(t.at_index(2).err(), Some(Errno::EINVAL));
        t.objs.remove(&b);
        assert_eq!(t.max_idx(), 0);
    }
}
