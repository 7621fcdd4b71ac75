//! System V shared memory segments.
//!
//! A segment is a [`Mappable`] whose pages live in the memory file; every
//! shmat maps the same object (`VmaKind::Shm`), so all attached address
//! spaces, also across fork, see the same frames. Linux counts attaches
//! per VMA (`shm_open`/`shm_close` on split, fork and unmap); here each VMA
//! holds one reference to the segment, so the attach count is the
//! segment's reference count minus the table's own. A removed segment
//! (`IPC_RMID`, `SHM_DEST`) lingers until nothing maps it; it is dropped
//! from the table at the next SysV shm call after its last detach.

use std::sync::{Arc, Mutex};

use nix::errno::Errno;

use super::{lookup_key, now_secs, KeyLookup, Perm, StatCmd, Table, IPC_PRIVATE, PERM_SIZE};
use crate::kernel::task::{lock, Creds};
use crate::mm::shm::AnonShared;
use crate::mm::{Frame, Mappable, PAGE_SIZE};
use crate::syscalls::caps::{capable, CAP_IPC_LOCK};

/// Smallest and largest segment (SHMMIN, SHMMAX's default).
pub const SHMMIN: u64 = 1;
pub const SHMMAX: u64 = u64::MAX - (1 << 24);
/// Most pages in all segments (SHMALL's default).
pub const SHMALL: u64 = u64::MAX - (1 << 24);
/// Most segments (SHMMNI).
pub const SHMMNI: usize = 4096;
/// Attach addresses are multiples of this (SHMLBA on x86).
pub const SHMLBA: u64 = PAGE_SIZE;
pub const SHM_DEST: u32 = 0o1000;
pub const SHM_LOCKED: u32 = 0o2000;
pub const SHM_RDONLY: i32 = 0o10000;
pub const SHM_RND: i32 = 0o20000;
pub const SHM_REMAP: i32 = 0o40000;
pub const SHM_EXEC: i32 = 0o100000;
pub const SHM_LOCK: i32 = 11;
pub const SHM_UNLOCK: i32 = 12;
pub const SHM_STAT: i32 = 13;
pub const SHM_INFO: i32 = 14;
pub const SHM_STAT_ANY: i32 = 15;
/// Size of `struct shmid64_ds` on x86_64.
pub const SHMID_DS_SIZE: usize = 112;

/// What `IPC_STAT` reports besides the segment size.
#[derive(Debug, Clone, Copy, Default)]
pub struct ShmMeta {
    pub perm: Perm,
    pub atime: i64,
    pub dtime: i64,
    pub ctime: i64,
    pub cpid: i32,
    pub lpid: i32,
}

/// One shared memory segment.
#[derive(Debug)]
pub struct Segment {
    pub id: i32,
    pub size: u64,
    /// The key it was created with, for its name in /proc/PID/maps.
    name_key: i32,
    pages: AnonShared,
    pub meta: Mutex<ShmMeta>,
}

impl Mappable for Segment {
    fn frame(&self, idx: u64) -> Result<Arc<Frame>, Errno> {
        self.pages.frame(idx)
    }

    fn frame_around(&self, idx: u64) -> Option<Arc<Frame>> {
        self.pages.frame_around(idx)
    }

    fn maps_identity(&self) -> (u64, u64, String) {
        (
            1,
            u64::try_from(self.id).unwrap_or(0),
            format!("/SYSV{:08x} (deleted)", self.name_key),
        )
    }
}

static SHM: Mutex<Table<Segment>> = Mutex::new(Table::new(SHMMNI));

/// Attaches of `seg`: references other than the table's and `held` more
/// taken by the caller.
fn nattch(seg: &Arc<Segment>, held: usize) -> u64 {
    (Arc::strong_count(seg).saturating_sub(1 + held)) as u64
}

/// Drops removed segments nothing maps any more.
fn sweep(t: &mut Table<Segment>) {
    t.objs
        .retain(|_, s| lock(&s.meta).perm.mode & SHM_DEST == 0 || Arc::strong_count(s) > 1);
}

/// shmget.
pub fn shmget(key: i32, size: u64, flg: i32, c: &Creds, pid: i32) -> Result<i32, Errno> {
    let mut t = lock(&SHM);
    sweep(&mut t);
    match lookup_key(&t, key, flg, |s| lock(&s.meta).perm.key)? {
        KeyLookup::Existing(s) => {
            if s.size < size {
                return Err(Errno::EINVAL);
            }
            if !lock(&s.meta).perm.allows(c, flg.unsigned_abs() & 0o777) {
                return Err(Errno::EACCES);
            }
            Ok(s.id)
        }
        KeyLookup::Create => {
            if !(SHMMIN..=SHMMAX).contains(&size) {
                return Err(Errno::EINVAL);
            }
            let pages = size.div_ceil(PAGE_SIZE);
            let total: u64 = t.objs.values().map(|s| s.size.div_ceil(PAGE_SIZE)).sum();
            if total.checked_add(pages).is_none_or(|n| n > SHMALL) {
                return Err(Errno::ENOSPC);
            }
            let id = t.next_id()?;
            let seg = Segment {
                id,
                size,
                name_key: key,
                pages: AnonShared::new(size),
                meta: Mutex::new(ShmMeta {
                    perm: Perm::new(key, flg, c, id),
                    ctime: now_secs(),
                    cpid: pid,
                    ..ShmMeta::default()
                }),
            };
            t.objs.insert(id, Arc::new(seg));
            Ok(id)
        }
    }
}

/// The segment shmat attaches, after the permission check (`acc` is
/// S_IRUGO, S_IWUGO, ...).
pub fn attach_target(id: i32, c: &Creds, acc: u32) -> Result<Arc<Segment>, Errno> {
    let seg = lock(&SHM).get(id)?;
    if !lock(&seg.meta).perm.allows(c, acc) {
        return Err(Errno::EACCES);
    }
    Ok(seg)
}

/// Records an attach or detach by `pid` in the times.
pub fn note_attach(seg: &Segment, pid: i32, attach: bool) {
    let mut m = lock(&seg.meta);
    if attach {
        m.atime = now_secs();
    } else {
        m.dtime = now_secs();
    }
    m.lpid = pid;
}

/// The segment a `VmaKind::Shm` mapping belongs to, if it is a SysV one.
pub fn segment_of(m: &Arc<dyn Mappable>) -> Option<Arc<Segment>> {
    let p = Arc::as_ptr(m).cast::<u8>();
    lock(&SHM)
        .objs
        .values()
        .find(|s| Arc::as_ptr(s).cast::<u8>() == p)
        .cloned()
}

/// After a detach: frees removed segments that nothing maps.
pub fn after_detach() {
    sweep(&mut lock(&SHM));
}

/// shmctl(IPC_STAT, SHM_STAT, SHM_STAT_ANY): `struct shmid64_ds` and the
/// call's result.
pub fn stat(id: i32, c: &Creds, cmd: StatCmd) -> Result<([u8; SHMID_DS_SIZE], i32), Errno> {
    let seg = cmd.lookup(&lock(&SHM), id)?;
    let m = *lock(&seg.meta);
    cmd.check(&m.perm, c)?;
    let mut b = [0u8; SHMID_DS_SIZE];
    b[..PERM_SIZE].copy_from_slice(&m.perm.to_bytes());
    b[48..56].copy_from_slice(&seg.size.to_ne_bytes());
    b[56..64].copy_from_slice(&m.atime.to_ne_bytes());
    b[64..72].copy_from_slice(&m.dtime.to_ne_bytes());
    b[72..80].copy_from_slice(&m.ctime.to_ne_bytes());
    b[80..84].copy_from_slice(&m.cpid.to_ne_bytes());
    b[84..88].copy_from_slice(&m.lpid.to_ne_bytes());
    b[88..96].copy_from_slice(&nattch(&seg, 1).to_ne_bytes());
    Ok((b, cmd.result(seg.id)))
}

/// Size of `struct shminfo64` and of `struct shm_info`.
pub const SHMINFO_SIZE: usize = 72;
pub const SHM_INFO_SIZE: usize = 48;

/// shmctl(IPC_INFO): the limits as `struct shminfo64`, and the highest
/// index in use.
pub fn ipc_info() -> ([u8; SHMINFO_SIZE], i32) {
    let mut b = [0u8; SHMINFO_SIZE];
    let shmmni = SHMMNI as u64;
    // shmmax, shmmin, shmmni, shmseg (= shmmni), shmall, then unused.
    for (i, v) in [SHMMAX, SHMMIN, shmmni, shmmni, SHMALL].iter().enumerate() {
        b[i * 8..i * 8 + 8].copy_from_slice(&v.to_ne_bytes());
    }
    (b, lock(&SHM).max_idx())
}

/// shmctl(SHM_INFO): `struct shm_info` (segments, their pages, the pages
/// in memory; nothing is ever swapped), and the highest index in use.
pub fn shm_info() -> ([u8; SHM_INFO_SIZE], i32) {
    let t = lock(&SHM);
    let used = i32::try_from(t.in_use()).unwrap_or(i32::MAX);
    let tot: u64 = t.objs.values().map(|s| s.size.div_ceil(PAGE_SIZE)).sum();
    let rss: u64 = t.objs.values().map(|s| s.pages.resident()).sum();
    let mut b = [0u8; SHM_INFO_SIZE];
    b[0..4].copy_from_slice(&used.to_ne_bytes());
    b[8..16].copy_from_slice(&tot.to_ne_bytes());
    b[16..24].copy_from_slice(&rss.to_ne_bytes());
    (b, t.max_idx())
}

/// shmctl(IPC_SET) with the caller's `shmid64_ds`.
pub fn set(id: i32, c: &Creds, raw: &[u8]) -> Result<(), Errno> {
    let seg = lock(&SHM).get(id)?;
    let mut m = lock(&seg.meta);
    if !m.perm.is_owner(c) {
        return Err(Errno::EPERM);
    }
    m.perm.set_from(raw);
    m.ctime = now_secs();
    Ok(())
}

/// shmctl(IPC_RMID): the key is freed now, the segment at the last detach.
pub fn rmid(id: i32, c: &Creds) -> Result<(), Errno> {
    let mut t = lock(&SHM);
    let seg = t.get(id)?;
    {
        let mut m = lock(&seg.meta);
        if !m.perm.is_owner(c) {
            return Err(Errno::EPERM);
        }
        m.perm.mode |= SHM_DEST;
        m.perm.key = IPC_PRIVATE;
    }
    drop(seg);
    sweep(&mut t);
    Ok(())
}

/// shmctl(SHM_LOCK / SHM_UNLOCK): the sentry never swaps, so only the
/// SHM_LOCKED flag changes. Without CAP_IPC_LOCK only the owner or
/// creator may, and SHM_LOCK also needs a non-zero RLIMIT_MEMLOCK
/// (`memlock`).
pub fn set_locked(id: i32, c: &Creds, on: bool, memlock: u64) -> Result<(), Errno> {
    let seg = lock(&SHM).get(id)?;
    let mut m = lock(&seg.meta);
    if !capable(c, CAP_IPC_LOCK) && (!m.perm.owned_by(c) || (on && memlock == 0)) {
        return Err(Errno::EPERM);
    }
    if on {
        m.perm.mode |= SHM_LOCKED;
    } else {
        m.perm.mode &= !SHM_LOCKED;
    }
    Ok(())
}
