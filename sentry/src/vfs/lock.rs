//! Advisory file locks: POSIX record locks (`fcntl` `F_SETLK` and
//! friends), open file description locks (`F_OFD_*`) and `flock(2)`.
//!
//! Locks belong to a file (its device and inode number), not to an open
//! file or an fd. As on Linux:
//!
//! - a POSIX record lock is owned by a process: it never conflicts with
//!   the same process's other locks, it is dropped when the process closes
//!   *any* fd for the file, and when the process exits;
//! - an OFD lock behaves like a record lock but is owned by the open file
//!   description and lives until that description is released; record and
//!   OFD locks conflict with each other;
//! - `flock` locks are a separate whole-file namespace, also owned by the
//!   open file description.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use nix::errno::Errno;

use crate::kernel::wait::WaitQueue;

/// Identifies a file: (device, inode number), or (`u64::MAX`, object
/// address) for files without a dentry (pipes).
pub type FileKey = (u64, u64);

/// Linux's `OFFSET_MAX`: a lock "to end of file" reaches it.
pub const OFFSET_MAX: i64 = i64::MAX;

/// Who holds a lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Owner {
    /// A POSIX record lock of this thread-group id.
    Process(i32),
    /// An OFD or flock lock of the open file description at this address
    /// (the description releases its locks before it is freed).
    Description(usize),
}

/// Read (shared) or write (exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockKind {
    Read,
    Write,
}

/// Record and OFD locks share one namespace; flock locks have their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    Record,
    Flock,
}

/// One held lock over the byte range `start..=end` (inclusive, as Linux
/// keeps them; `end == OFFSET_MAX` reaches past any end of file).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lock {
    pub owner: Owner,
    pub flavor: Flavor,
    pub kind: LockKind,
    pub start: i64,
    pub end: i64,
    /// What `F_GETLK` reports as `l_pid` (-1 for OFD locks).
    pub pid: i32,
}

impl Lock {
    fn overlaps(&self, start: i64, end: i64) -> bool {
        self.start <= end && start <= self.end
    }

    fn conflicts(&self, other: &Lock) -> bool {
        self.flavor == other.flavor
            && self.owner != other.owner
            && self.overlaps(other.start, other.end)
            && (self.kind == LockKind::Write || other.kind == LockKind::Write)
    }
}

#[derive(Debug, Default)]
struct Table {
    files: HashMap<FileKey, Vec<Lock>>,
    /// For deadlock detection: the process each blocked process waits on.
    waiting: HashMap<i32, i32>,
}

/// Every lock in the sandbox.
#[derive(Debug, Default)]
pub struct LockTable {
    inner: Mutex<Table>,
    /// Notified whenever a lock is released or downgraded.
    pub wq: WaitQueue,
}

static LOCKS: std::sync::OnceLock<LockTable> = std::sync::OnceLock::new();

/// The sandbox's lock table.
pub fn locks() -> &'static LockTable {
    LOCKS.get_or_init(LockTable::default)
}

impl LockTable {
    fn lock(&self) -> MutexGuard<'_, Table> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The first lock that would prevent `want` (`F_GETLK`).
    pub fn test(&self, key: FileKey, want: &Lock) -> Option<Lock> {
        let t = self.lock();
        t.files
            .get(&key)?
            .iter()
            .find(|l| l.conflicts(want))
            .copied()
    }

    /// Takes `want` (or, for `kind == None`, unlocks the range), replacing
    /// the owner's own locks in the range. `EAGAIN` on a conflict.
    pub fn set(&self, key: FileKey, want: &Lock, kind: Option<LockKind>) -> Result<(), Errno> {
        let mut t = self.lock();
        let list = t.files.entry(key).or_default();
        if kind.is_some() && list.iter().any(|l| l.conflicts(want)) {
            return Err(Errno::EAGAIN);
        }
        let released = replace_range(list, want, kind);
        if list.is_empty() {
            t.files.remove(&key);
        }
        drop(t);
        if released {
            self.wq.notify();
        }
        Ok(())
    }

    /// Records that process `me` waits for `want`, failing with `EDEADLK`
    /// if the holder of a conflicting lock (transitively) waits for `me`.
    /// Only record locks of processes take part, as on Linux.
    pub fn start_wait(&self, key: FileKey, want: &Lock, me: i32) -> Result<(), Errno> {
        let mut t = self.lock();
        let Some(blocker) = t
            .files
            .get(&key)
            .and_then(|l| l.iter().find(|l| l.conflicts(want)))
            .copied()
        else {
            return Ok(());
        };
        let Owner::Process(mut other) = blocker.owner else {
            return Ok(());
        };
        // Bounded walk: a cycle that does not include `me` must not hang us.
        for _ in 0..=t.waiting.len() {
            if other == me {
                return Err(Errno::EDEADLK);
            }
            match t.waiting.get(&other) {
                Some(&next) => other = next,
                None => break,
            }
        }
        if let Owner::Process(b) = blocker.owner {
            t.waiting.insert(me, b);
        }
        Ok(())
    }

    /// Process `me` no longer waits for a lock.
    pub fn end_wait(&self, me: i32) {
        self.lock().waiting.remove(&me);
    }

    /// Drops every lock `owner` holds on `key` (a POSIX close, or a
    /// description released).
    pub fn release(&self, key: FileKey, owner: Owner) {
        let mut t = self.lock();
        let Some(list) = t.files.get_mut(&key) else {
            return;
        };
        let before = list.len();
        list.retain(|l| l.owner != owner);
        let changed = list.len() != before;
        if list.is_empty() {
            t.files.remove(&key);
        }
        drop(t);
        if changed {
            self.wq.notify();
        }
    }

    /// Drops every lock `owner` holds on any file.
    pub fn release_all(&self, owner: Owner) {
        let mut t = self.lock();
        let mut changed = false;
        t.files.retain(|_, list| {
            let before = list.len();
            list.retain(|l| l.owner != owner);
            changed |= list.len() != before;
            !list.is_empty()
        });
        if let Owner::Process(p) = owner {
            t.waiting.remove(&p);
        }
        drop(t);
        if changed {
            self.wq.notify();
        }
    }

    /// Whether process `pid` holds any record lock (so a close must look
    /// up which file it closed).
    pub fn process_has_locks(&self, pid: i32) -> bool {
        self.lock()
            .files
            .values()
            .flatten()
            .any(|l| l.owner == Owner::Process(pid))
    }
}

/// Removes `want.owner`'s coverage of `want.start..=want.end` in `want`'s
/// flavor from `list` (splitting locks that stick out), then adds the new
/// lock if `kind` is set, merging it with adjacent or overlapping locks of
/// the same owner and kind. Returns whether anything was released or
/// downgraded (so waiters should look again).
fn replace_range(list: &mut Vec<Lock>, want: &Lock, kind: Option<LockKind>) -> bool {
    let (start, end) = (want.start, want.end);
    // F_GETLK reports the first conflicting lock in Linux's list order:
    // each owner's locks together, sorted by start, owners in the order
    // they first locked (a new owner goes last).
    let mut owners: Vec<Owner> = Vec::new();
    for l in list.iter() {
        if !owners.contains(&l.owner) {
            owners.push(l.owner);
        }
    }
    let rank = |o: &Owner| owners.iter().position(|x| x == o).unwrap_or(usize::MAX);
    let mut released = false;
    let mut kept = Vec::with_capacity(list.len() + 2);
    for l in list.drain(..) {
        if l.owner != want.owner || l.flavor != want.flavor || !l.overlaps(start, end) {
            kept.push(l);
            continue;
        }
        if kind != Some(LockKind::Write) || l.kind != LockKind::Read {
            released = true;
        }
        if l.start < start {
            kept.push(Lock {
                end: start - 1,
                ..l
            });
        }
        if l.end > end {
            kept.push(Lock {
                start: end + 1,
                ..l
            });
        }
    }
    if let Some(kind) = kind {
        let mut new = Lock { kind, ..*want };
        // Coalesce with the owner's neighbours of the same kind.
        kept.retain(|l| {
            let touches = l.owner == new.owner
                && l.flavor == new.flavor
                && l.kind == new.kind
                && l.start <= new.end.saturating_add(1)
                && new.start <= l.end.saturating_add(1);
            if touches {
                new.start = new.start.min(l.start);
                new.end = new.end.max(l.end);
            }
            !touches
        });
        kept.push(new);
    }
    kept.sort_by_key(|l| (rank(&l.owner), l.start));
    *list = kept;
    released
}

/// Converts a `struct flock` range to an inclusive byte range, as Linux's
/// `flock_to_posix_lock`: `base` is where `l_whence` points.
pub fn flock_range(base: i64, l_start: i64, l_len: i64) -> Result<(i64, i64), Errno> {
    let start = base.checked_add(l_start).ok_or(Errno::EOVERFLOW)?;
    if start < 0 {
        return Err(Errno::EINVAL);
    }
    match l_len {
        0 => Ok((start, OFFSET_MAX)),
        n if n > 0 => Ok((start, start.checked_add(n - 1).ok_or(Errno::EOVERFLOW)?)),
        n => {
            let s = start.checked_add(n).ok_or(Errno::EINVAL)?;
            if s < 0 {
                return Err(Errno::EINVAL);
            }
            Ok((s, start - 1))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(pid: i32, kind: LockKind, start: i64, end: i64) -> Lock {
        Lock {
            owner: Owner::Process(pid),
            flavor: Flavor::Record,
            kind,
            start,
            end,
            pid,
        }
    }

    #[test]
    fn conflicts_split_and_merge() {
        let t = LockTable::default();
        let k = (1, 2);
        let w = rec(10, LockKind::Write, 0, 9);
        t.set(k, &w, Some(LockKind::Write)).unwrap();
        assert_eq!(t.test(k, &rec(11, LockKind::Read, 5, 5)), Some(w));
        assert_eq!(t.test(k, &rec(10, LockKind::Write, 5, 5)), None);
        assert_eq!(
            t.set(k, &rec(11, LockKind::Read, 9, 20), Some(LockKind::Read)),
            Err(Errno::EAGAIN)
        );
        // Unlock the middle: two pieces remain.
        t.set(k, &rec(10, LockKind::Write, 3, 4), None).unwrap();
        assert_eq!(t.test(k, &rec(11, LockKind::Write, 3, 4)), None);
        assert!(t.test(k, &rec(11, LockKind::Write, 2, 2)).is_some());
        assert!(t.test(k, &rec(11, LockKind::Write, 5, 5)).is_some());
        // Re-locking the hole merges everything back into one lock.
        t.set(k, &rec(10, LockKind::Write, 3, 4), Some(LockKind::Write))
            .unwrap();
        assert_eq!(
            t.test(k, &rec(11, LockKind::Read, 0, OFFSET_MAX))
                .map(|l| (l.start, l.end)),
            Some((0, 9))
        );
        // Readers share.
        t.release(k, Owner::Process(10));
        t.set(k, &rec(10, LockKind::Read, 0, 5), Some(LockKind::Read))
            .unwrap();
        t.set(k, &rec(11, LockKind::Read, 0, 5), Some(LockKind::Read))
            .unwrap();
        assert!(t.process_has_locks(11));
        t.release_all(Owner::Process(11));
        assert!(!t.process_has_locks(11));
    }

    #[test]
    fn getlk_reports_in_linux_list_order() {
        let t = LockTable::default();
        let k = (1, 4);
        t.set(k, &rec(10, LockKind::Write, 0, 9), Some(LockKind::Write))
            .unwrap();
        t.set(k, &rec(11, LockKind::Write, 20, 29), Some(LockKind::Write))
            .unwrap();
        // Owner 10 downgrades its first half: its pieces stay sorted by
        // start and ahead of owner 11's lock.
        t.set(k, &rec(10, LockKind::Read, 0, 4), Some(LockKind::Read))
            .unwrap();
        let first = t.test(k, &rec(12, LockKind::Write, 0, OFFSET_MAX));
        assert_eq!(
            first.map(|l| (l.owner, l.kind, l.start, l.end)),
            Some((Owner::Process(10), LockKind::Read, 0, 4))
        );
        t.release(k, Owner::Process(10));
        t.set(k, &rec(10, LockKind::Write, 0, 0), Some(LockKind::Write))
            .unwrap();
        // Owner 10 is new again, so it now comes after owner 11.
        let first = t.test(k, &rec(12, LockKind::Write, 0, OFFSET_MAX));
        assert_eq!(first.map(|l| l.owner), Some(Owner::Process(11)));
    }

    #[test]
    fn deadlock_is_detected() {
        let t = LockTable::default();
        let k = (1, 3);
        t.set(k, &rec(1, LockKind::Write, 0, 0), Some(LockKind::Write))
            .unwrap();
        t.set(k, &rec(2, LockKind::Write, 1, 1), Some(LockKind::Write))
            .unwrap();
        t.start_wait(k, &rec(1, LockKind::Write, 1, 1), 1).unwrap();
        assert_eq!(
            t.start_wait(k, &rec(2, LockKind::Write, 0, 0), 2),
            Err(Errno::EDEADLK)
        );
    }

    #[test]
    fn ranges() {
        assert_eq!(flock_range(0, 0, 0), Ok((0, OFFSET_MAX)));
        assert_eq!(flock_range(10, -3, 2), Ok((7, 8)));
        assert_eq!(flock_range(10, 0, -4), Ok((6, 9)));
        assert_eq!(flock_range(0, 2, -4), Err(Errno::EINVAL));
        assert_eq!(flock_range(0, -1, 1), Err(Errno::EINVAL));
    }
}
