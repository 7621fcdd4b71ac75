//! memfd_create and file seals (fcntl F_ADD_SEALS / F_GET_SEALS).
//!
//! A memfd is a regular tmpfs file in no directory; `/proc/PID/fd` and
//! `/proc/PID/maps` call it `/memfd:NAME (deleted)`. Seals are checked on
//! write, truncate and mmap; fallocate works through write (hole punch)
//! and truncate (growth), so it meets the same checks. Huge pages are not
//! supported: MFD_HUGETLB is EINVAL.
//!
//! F_SEAL_WRITE is refused with EBUSY while a writable shared mapping
//! exists: each such mapping's VMAs hold one shared [`MemfdMap`], so a
//! live reference to it means a mapping with VM_MAYWRITE remains (also in
//! forked children). Pages pinned by in-flight I/O are not tracked.

use std::any::Any;
use std::sync::{Arc, Mutex, Weak};

use nix::errno::Errno;

use super::{ok, Args, SysResult};
use crate::kernel::ctx::TaskCtx;
use crate::kernel::task::lock;
use crate::mm::{Frame, Mappable, PAGE_SIZE};
use crate::vfs::file::MmapPlan;
use crate::vfs::inode::Stat;
use crate::vfs::{FileOps, OpenFile};

pub const F_ADD_SEALS: i32 = 1033;
pub const F_GET_SEALS: i32 = 1034;
const F_SEAL_SEAL: u32 = 0x1;
const F_SEAL_SHRINK: u32 = 0x2;
const F_SEAL_GROW: u32 = 0x4;
const F_SEAL_WRITE: u32 = 0x8;
const F_SEAL_FUTURE_WRITE: u32 = 0x10;
const F_SEAL_EXEC: u32 = 0x20;
const F_ALL_SEALS: u32 =
    F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_FUTURE_WRITE | F_SEAL_EXEC;

const MFD_CLOEXEC: u32 = 0x1;
const MFD_ALLOW_SEALING: u32 = 0x2;
const MFD_HUGETLB: u32 = 0x4;
const MFD_NOEXEC_SEAL: u32 = 0x8;
const MFD_EXEC: u32 = 0x10;
const MFD_ALL_FLAGS: u32 =
    MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_HUGETLB | MFD_NOEXEC_SEAL | MFD_EXEC;
/// Huge page size bits allowed with MFD_HUGETLB (MFD_HUGE_MASK << 26).
const MFD_HUGE_BITS: u32 = 0x3f << 26;
/// NAME_MAX minus "memfd:".
const MFD_NAME_MAX: usize = 249;

/// The open memfd: a tmpfs file plus its seals.
#[derive(Debug)]
pub struct Memfd {
    /// What `/proc/PID/fd` and maps show.
    name: String,
    inner: Arc<dyn FileOps>,
    seals: Mutex<u32>,
    /// Shared by the VMAs of every writable shared mapping.
    writers: Mutex<Weak<MemfdMap>>,
}

/// The memfd's pages under its name, as mmap maps them.
#[derive(Debug)]
struct MemfdMap {
    inner: Arc<dyn Mappable>,
    name: String,
}

impl Mappable for MemfdMap {
    fn frame(&self, idx: u64) -> Result<Arc<Frame>, Errno> {
        self.inner.frame(idx)
    }

    fn maps_identity(&self) -> (u64, u64, String) {
        let (dev, ino, _) = self.inner.maps_identity();
        (dev, ino, self.name.clone())
    }
}

impl Memfd {
    /// How many bytes of a `len`-byte write at `off` the seals allow.
    /// Linux writes page by page and stops at the first page-sized chunk
    /// that F_SEAL_GROW refuses; nothing written at all is EPERM.
    fn allowed(&self, seals: u32, len: usize, off: u64) -> Result<usize, Errno> {
        if len == 0 {
            return Ok(0);
        }
        if seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE) != 0 {
            return Err(Errno::EPERM);
        }
        if seals & F_SEAL_GROW == 0 {
            return Ok(len);
        }
        let size = self.inner.stat()?.size;
        let end = off.checked_add(len as u64).ok_or(Errno::EFBIG)?;
        let mut ok_end = off;
        while ok_end < end {
            let chunk_end = ((ok_end / PAGE_SIZE + 1) * PAGE_SIZE).min(end);
            if chunk_end > size {
                break;
            }
            ok_end = chunk_end;
        }
        if ok_end == off {
            return Err(Errno::EPERM);
        }
        usize::try_from(ok_end - off).map_err(|_| Errno::EFBIG)
    }

    fn map(&self) -> Result<Arc<MemfdMap>, Errno> {
        Ok(Arc::new(MemfdMap {
            inner: self.inner.mappable().ok_or(Errno::ENODEV)?,
            name: self.name.clone(),
        }))
    }
}

impl FileOps for Memfd {
    fn read(&self, buf: &mut [u8], off: u64) -> Result<usize, Errno> {
        self.inner.read(buf, off)
    }

    fn write(&self, buf: &[u8], off: u64) -> Result<usize, Errno> {
        let seals = lock(&self.seals);
        let n = self.allowed(*seals, buf.len(), off)?;
        if n == 0 {
            return Ok(0);
        }
        self.inner.write(&buf[..n], off)
    }

    fn seekable(&self) -> bool {
        true
    }

    fn mappable(&self) -> Option<Arc<dyn Mappable>> {
        self.inner.mappable()
    }

    fn mmap_hook(
        &self,
        shared: bool,
        prot: i32,
        may_write: bool,
    ) -> Result<Option<MmapPlan>, Errno> {
        if !shared {
            return Ok(None);
        }
        let seals = *lock(&self.seals);
        if seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE) != 0 {
            if prot & libc::PROT_WRITE != 0 {
                return Err(Errno::EPERM);
            }
            // Linux clears VM_MAYWRITE: mprotect cannot add PROT_WRITE.
            return Ok(Some(MmapPlan {
                mappable: self.map()?,
                may_write_shared: false,
            }));
        }
        if !may_write {
            return Ok(None);
        }
        let mut w = lock(&self.writers);
        let m = match w.upgrade() {
            Some(m) => m,
            None => {
                let m = self.map()?;
                *w = Arc::downgrade(&m);
                m
            }
        };
        Ok(Some(MmapPlan {
            mappable: m,
            may_write_shared: true,
        }))
    }

    fn truncate(&self, len: u64) -> Result<(), Errno> {
        let seals = lock(&self.seals);
        let size = self.inner.stat()?.size;
        if (len < size && *seals & F_SEAL_SHRINK != 0) || (len > size && *seals & F_SEAL_GROW != 0)
        {
            return Err(Errno::EPERM);
        }
        self.inner.truncate(len)
    }

    fn stat(&self) -> Result<Stat, Errno> {
        self.inner.stat()
    }

    fn anon_name(&self) -> String {
        self.name.clone()
    }

    fn append_offset(&self) -> Result<u64, Errno> {
        self.inner.append_offset()
    }

    fn write_append(&self, buf: &[u8]) -> Result<(usize, u64), Errno> {
        let seals = lock(&self.seals);
        let off = self.inner.append_offset()?;
        let n = self.allowed(*seals, buf.len(), off)?;
        let n = if n == 0 {
            0
        } else {
            self.inner.write(&buf[..n], off)?
        };
        Ok((n, off + n as u64))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

pub fn sys_memfd_create(t: &mut TaskCtx, a: &Args) -> SysResult {
    let (uname, flags) = (a.u64(0), a.u32(1));
    let allowed = if flags & MFD_HUGETLB == 0 {
        MFD_ALL_FLAGS
    } else {
        MFD_ALL_FLAGS | MFD_HUGE_BITS
    };
    if flags & !allowed != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & MFD_EXEC != 0 && flags & MFD_NOEXEC_SEAL != 0 {
        return Err(Errno::EINVAL);
    }
    // No huge pages in the sentry's memory file.
    if flags & MFD_HUGETLB != 0 {
        return Err(Errno::EINVAL);
    }
    let name = t.read_cstr(uname, MFD_NAME_MAX).map_err(|e| match e {
        Errno::ENAMETOOLONG => Errno::EINVAL,
        e => e,
    })?;
    let (uid, gid) = {
        let c = lock(&t.tg().creds);
        (c.fsuid, c.fsgid)
    };
    let (mode, seals) = if flags & MFD_NOEXEC_SEAL != 0 {
        (0o666, F_SEAL_EXEC)
    } else if flags & MFD_ALLOW_SEALING != 0 {
        (0o777, 0)
    } else {
        (0o777, F_SEAL_SEAL)
    };
    let memfd = Memfd {
        name: format!("/memfd:{} (deleted)", String::from_utf8_lossy(&name)),
        inner: crate::vfs::tmpfs::new_unlinked_file(mode, uid, gid),
        seals: Mutex::new(seals),
        writers: Mutex::new(Weak::new()),
    };
    let file = OpenFile::new(None, Arc::new(memfd), libc::O_RDWR | libc::O_LARGEFILE);
    ok(t.fds().alloc(file, flags & MFD_CLOEXEC != 0, 0)?)
}

/// fcntl(F_ADD_SEALS).
pub fn add_seals(f: &OpenFile, seals: u32) -> SysResult {
    if !f.writable() {
        return Err(Errno::EPERM);
    }
    if seals & !F_ALL_SEALS != 0 {
        return Err(Errno::EINVAL);
    }
    let m = f
        .ops
        .as_any()
        .downcast_ref::<Memfd>()
        .ok_or(Errno::EINVAL)?;
    let mut cur = lock(&m.seals);
    if *cur & F_SEAL_SEAL != 0 {
        return Err(Errno::EPERM);
    }
    if seals & F_SEAL_WRITE != 0 && *cur & F_SEAL_WRITE == 0 && lock(&m.writers).strong_count() > 0
    {
        return Err(Errno::EBUSY);
    }
    *cur |= seals;
    ok(0)
}

/// fcntl(F_GET_SEALS).
pub fn get_seals(f: &OpenFile) -> SysResult {
    let m = f
        .ops
        .as_any()
        .downcast_ref::<Memfd>()
        .ok_or(Errno::EINVAL)?;
    ok(*lock(&m.seals))
}
