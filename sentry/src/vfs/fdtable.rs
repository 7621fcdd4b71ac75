//! File descriptor tables.
//!
//! Closing returns the removed [`OpenFile`]s so the caller drops them
//! outside the table lock and can do its close-time work (releasing record
//! locks, …).

use std::sync::{Arc, Mutex, MutexGuard};

use nix::errno::Errno;

use super::file::OpenFile;

/// `close_range` flag: mark close-on-exec instead of closing.
pub const CLOSE_RANGE_CLOEXEC: u32 = 1 << 2;
/// `close_range` flag: unshare the table first (done by the caller, who
/// owns the `Arc<FdTable>`; see [`FdTable::close_range`]).
pub const CLOSE_RANGE_UNSHARE: u32 = 1 << 1;
/// Default `RLIMIT_NOFILE`.
const DEFAULT_LIMIT: usize = 1024;

#[derive(Debug, Clone)]
struct Entry {
    file: Arc<OpenFile>,
    cloexec: bool,
}

#[derive(Debug, Clone)]
struct Inner {
    slots: Vec<Option<Entry>>,
    limit: usize,
}

/// One fd table, shared (as `Arc<FdTable>`) by the threads of a process
/// and by processes created with `CLONE_FILES`.
#[derive(Debug)]
pub struct FdTable {
    inner: Mutex<Inner>,
}

impl Default for FdTable {
    fn default() -> Self {
        FdTable::new()
    }
}

fn index(fd: i32) -> Result<usize, Errno> {
    usize::try_from(fd).map_err(|_| Errno::EBADF)
}

impl FdTable {
    pub fn new() -> FdTable {
        FdTable {
            inner: Mutex::new(Inner {
                slots: Vec::new(),
                limit: DEFAULT_LIMIT,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sets the largest fd + 1 that may be allocated (`RLIMIT_NOFILE`).
    /// Existing fds above it stay open, as on Linux.
    pub fn set_limit(&self, limit: usize) {
        self.lock().limit = limit;
    }

    pub fn limit(&self) -> usize {
        self.lock().limit
    }

    /// The open file behind `fd` (`EBADF` if none).
    pub fn get(&self, fd: i32) -> Result<Arc<OpenFile>, Errno> {
        let i = index(fd)?;
        let t = self.lock();
        t.slots
            .get(i)
            .and_then(|s| s.as_ref())
            .map(|e| Arc::clone(&e.file))
            .ok_or(Errno::EBADF)
    }

    /// Installs `file` at the lowest free fd ≥ `min_fd`. `EINVAL` if
    /// `min_fd` is negative or at/above the limit (as `F_DUPFD`), `EMFILE`
    /// if every fd below the limit is taken.
    pub fn alloc(&self, file: Arc<OpenFile>, cloexec: bool, min_fd: i32) -> Result<i32, Errno> {
        let min = usize::try_from(min_fd).map_err(|_| Errno::EINVAL)?;
        let mut t = self.lock();
        let limit = t.limit;
        if min >= limit {
            return Err(Errno::EINVAL);
        }
        let free = (min..limit).find(|&i| !matches!(t.slots.get(i), Some(Some(_))));
        let i = free.ok_or(Errno::EMFILE)?;
        if t.slots.len() <= i {
            t.slots.resize(i + 1, None);
        }
        t.slots[i] = Some(Entry { file, cloexec });
        i32::try_from(i).map_err(|_| Errno::EMFILE)
    }

    /// Installs `file` at exactly `fd` (dup2/dup3), returning what was
    /// there. `EBADF` if `fd` is negative or at/above the limit.
    pub fn install_at(
        &self,
        fd: i32,
        file: Arc<OpenFile>,
        cloexec: bool,
    ) -> Result<Option<Arc<OpenFile>>, Errno> {
        let i = index(fd)?;
        let mut t = self.lock();
        if i >= t.limit {
            return Err(Errno::EBADF);
        }
        if t.slots.len() <= i {
            t.slots.resize(i + 1, None);
        }
        let old = t.slots[i].replace(Entry { file, cloexec });
        Ok(old.map(|e| e.file))
    }

    /// Removes `fd`, returning its file (`EBADF` if not open).
    pub fn close(&self, fd: i32) -> Result<Arc<OpenFile>, Errno> {
        let i = index(fd)?;
        let mut t = self.lock();
        let e = t
            .slots
            .get_mut(i)
            .and_then(Option::take)
            .ok_or(Errno::EBADF)?;
        Ok(e.file)
    }

    /// `close_range(first, last, flags)`: closes (or, with
    /// [`CLOSE_RANGE_CLOEXEC`], marks close-on-exec) every open fd in
    /// `first..=last`. [`CLOSE_RANGE_UNSHARE`] is accepted but must be
    /// acted on by the caller (replace the shared table by [`FdTable::fork`]
    /// before calling this). Returns the closed files.
    pub fn close_range(
        &self,
        first: u32,
        last: u32,
        flags: u32,
    ) -> Result<Vec<Arc<OpenFile>>, Errno> {
        if flags & !(CLOSE_RANGE_CLOEXEC | CLOSE_RANGE_UNSHARE) != 0 || first > last {
            return Err(Errno::EINVAL);
        }
        let mut t = self.lock();
        let first = first as usize;
        let end = t.slots.len().min((last as usize).saturating_add(1));
        let mut closed = Vec::new();
        for slot in t.slots.iter_mut().take(end).skip(first) {
            if flags & CLOSE_RANGE_CLOEXEC != 0 {
                if let Some(e) = slot {
                    e.cloexec = true;
                }
            } else if let Some(e) = slot.take() {
                closed.push(e.file);
            }
        }
        Ok(closed)
    }

    pub fn get_cloexec(&self, fd: i32) -> Result<bool, Errno> {
        let i = index(fd)?;
        let t = self.lock();
        t.slots
            .get(i)
            .and_then(|s| s.as_ref())
            .map(|e| e.cloexec)
            .ok_or(Errno::EBADF)
    }

    pub fn set_cloexec(&self, fd: i32, cloexec: bool) -> Result<(), Errno> {
        let i = index(fd)?;
        let mut t = self.lock();
        let e = t
            .slots
            .get_mut(i)
            .and_then(|s| s.as_mut())
            .ok_or(Errno::EBADF)?;
        e.cloexec = cloexec;
        Ok(())
    }

    /// A copy for a child that does not share the table (fork without
    /// `CLONE_FILES`, `unshare(CLONE_FILES)`).
    pub fn fork(&self) -> FdTable {
        FdTable {
            inner: Mutex::new(self.lock().clone()),
        }
    }

    /// Closes every close-on-exec fd (at execve), returning their files.
    pub fn close_on_exec(&self) -> Vec<Arc<OpenFile>> {
        let mut t = self.lock();
        let mut closed = Vec::new();
        for slot in t.slots.iter_mut() {
            if slot.as_ref().is_some_and(|e| e.cloexec) {
                if let Some(e) = slot.take() {
                    closed.push(e.file);
                }
            }
        }
        closed
    }

    /// Every open fd in ascending order (for `/proc/PID/fd`).
    pub fn fds(&self) -> Vec<(i32, Arc<OpenFile>)> {
        let t = self.lock();
        t.slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| Some((i32::try_from(i).ok()?, Arc::clone(&s.as_ref()?.file))))
            .collect()
    }

    /// Number of open fds.
    pub fn count(&self) -> usize {
        self.lock().slots.iter().filter(|s| s.is_some()).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vfs::pipe::new_pipe;

    fn file() -> Arc<OpenFile> {
        let (r, _w) = new_pipe();
        OpenFile::new(None, r, libc::O_RDONLY)
    }

    #[test]
    fn lowest_free_fd() {
        let t = FdTable::new();
        assert_eq!(t.alloc(file(), false, 0), Ok(0));
        assert_eq!(t.alloc(file(), false, 0), Ok(1));
        assert_eq!(t.alloc(file(), false, 0), Ok(2));
        t.close(1).unwrap();
        assert_eq!(t.alloc(file(), false, 0), Ok(1));
        assert_eq!(t.alloc(file(), false, 10), Ok(10));
        assert_eq!(t.alloc(file(), false, 3), Ok(3));
        assert_eq!(t.close(7).map(|_| ()), Err(Errno::EBADF));
        assert_eq!(t.get(-1).map(|_| ()), Err(Errno::EBADF));
        assert_eq!(t.alloc(file(), false, -1), Err(Errno::EINVAL));
        assert_eq!(
            t.fds().iter().map(|(fd, _)| *fd).collect::<Vec<_>>(),
            vec![0, 1, 2, 3, 10]
        );
    }

    #[test]
    fn emfile_at_limit() {
        let t = FdTable::new();
        t.set_limit(3);
        for want in 0..3 {
            assert_eq!(t.alloc(file(), false, 0), Ok(want));
        }
        assert_eq!(t.alloc(file(), false, 0), Err(Errno::EMFILE));
        assert_eq!(t.alloc(file(), false, 3), Err(Errno::EINVAL));
        assert_eq!(
            t.install_at(3, file(), false).map(|_| ()),
            Err(Errno::EBADF)
        );
    }

    #[test]
    fn dup2_replaces_and_cloexec() {
        let t = FdTable::new();
        let a = file();
        t.alloc(Arc::clone(&a), false, 0).unwrap();
        assert!(t.install_at(5, Arc::clone(&a), true).unwrap().is_none());
        let old = t.install_at(5, file(), false).unwrap().unwrap();
        assert!(Arc::ptr_eq(&old, &a));
        t.set_cloexec(0, true).unwrap();
        assert_eq!(t.get_cloexec(0), Ok(true));
        assert_eq!(t.get_cloexec(5), Ok(false));
        let child = t.fork();
        assert_eq!(t.close_on_exec().len(), 1);
        assert_eq!(t.get(0).map(|_| ()), Err(Errno::EBADF));
        assert!(child.get(0).is_ok());
        assert_eq!(
            child.close_range(0, 2, CLOSE_RANGE_CLOEXEC).unwrap().len(),
            0
        );
        assert_eq!(child.get_cloexec(0), Ok(true));
        assert_eq!(child.close_range(1, u32::MAX, 0).unwrap().len(), 1);
        assert_eq!(child.count(), 1);
        assert_eq!(child.close_range(2, 1, 0).map(|_| ()), Err(Errno::EINVAL));
    }
}
