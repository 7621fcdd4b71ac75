//! Virtual memory areas: what the application mapped, and with what.

use std::sync::Arc;

use nix::errno::Errno;

use super::{Frame, PAGE_SIZE};

/// An object whose pages can be mapped: a file's page cache, a tmpfs file,
/// a shared anonymous region.
pub trait Mappable: Send + Sync + std::fmt::Debug {
    /// The page at page index `idx`, allocated if needed. An index past the
    /// end of a file is an error (the access gets SIGBUS).
    fn frame(&self, idx: u64) -> Result<Arc<Frame>, Errno>;
    /// The page at `idx` for fault-around, which installs the neighbours
    /// of a faulting page. `None` leaves the page for its own fault.
    /// Shared anonymous memory only offers pages that exist, as Linux's
    /// fault-around maps only pages already in the page cache: a page
    /// nobody touched stays unallocated (and out of SHM_INFO's shm_rss).
    fn frame_around(&self, idx: u64) -> Option<Arc<Frame>> {
        self.frame(idx).ok()
    }
    /// Device, inode and path shown in `/proc/PID/maps`.
    fn maps_identity(&self) -> (u64, u64, String);
}

/// What backs a VMA.
#[derive(Debug, Clone)]
pub enum VmaKind {
    /// Private anonymous memory.
    Anon,
    /// The brk heap.
    Heap,
    /// The main thread's stack.
    Stack,
    /// A file mapping (private or shared).
    File(Arc<dyn Mappable>),
    /// Shared anonymous memory (MAP_SHARED|MAP_ANONYMOUS, SysV shm).
    Shm(Arc<dyn Mappable>),
    /// A host range every stub keeps (vDSO, vvar); never ours to change.
    Host(String),
}

#[derive(Debug, Clone)]
pub struct Vma {
    pub start: u64,
    pub end: u64,
    pub prot: i32,
    pub shared: bool,
    pub growsdown: bool,
    /// Shared file mappings opened read-only may not gain PROT_WRITE.
    pub may_write_shared: bool,
    /// Page index into the backing object of `start`.
    pub pgoff: u64,
    pub kind: VmaKind,
}

impl Vma {
    pub fn new(start: u64, end: u64, prot: i32, kind: VmaKind) -> Vma {
        Vma {
            start,
            end,
            prot,
            shared: false,
            growsdown: false,
            may_write_shared: true,
            pgoff: 0,
            kind,
        }
    }

    pub fn is_host(&self) -> bool {
        matches!(self.kind, VmaKind::Host(_))
    }

    pub(super) fn can_merge(&self, next: &Vma) -> bool {
        if self.end != next.start
            || self.prot != next.prot
            || self.shared != next.shared
            || self.growsdown != next.growsdown
        {
            return false;
        }
        match (&self.kind, &next.kind) {
            (VmaKind::Anon, VmaKind::Anon) | (VmaKind::Heap, VmaKind::Heap) => true,
            (VmaKind::File(a), VmaKind::File(b)) => {
                Arc::ptr_eq(a, b) && self.pgoff + (self.end - self.start) / PAGE_SIZE == next.pgoff
            }
            _ => false,
        }
    }

    /// This VMA as a line of `/proc/PID/maps`.
    pub fn maps_line(&self) -> String {
        let r = if self.prot & libc::PROT_READ != 0 {
            'r'
        } else {
            '-'
        };
        let w = if self.prot & libc::PROT_WRITE != 0 {
            'w'
        } else {
            '-'
        };
        let x = if self.prot & libc::PROT_EXEC != 0 {
            'x'
        } else {
            '-'
        };
        let p = if self.shared { 's' } else { 'p' };
        let (dev, ino, name, off) = match &self.kind {
            VmaKind::File(m) => {
                let (d, i, n) = m.maps_identity();
                (d, i, n, self.pgoff * PAGE_SIZE)
            }
            VmaKind::Shm(m) => {
                let (d, i, n) = m.maps_identity();
                (d, i, n, self.pgoff * PAGE_SIZE)
            }
            VmaKind::Heap => (0, 0, "[heap]".to_string(), 0),
            VmaKind::Stack => (0, 0, "[stack]".to_string(), 0),
            VmaKind::Host(n) => (0, 0, n.clone(), 0),
            VmaKind::Anon => (0, 0, String::new(), 0),
        };
        let pad = if name.is_empty() {
            String::new()
        } else {
            " ".repeat(26usize.saturating_sub(ino.to_string().len()))
        };
        format!(
            "{:08x}-{:08x} {r}{w}{x}{p} {off:08x} {:02x}:{:02x} {ino}{pad}{name}\n",
            self.start,
            self.end,
            (dev >> 8) & 0xfff,
            dev & 0xff
        )
    }
}
