//! The memory file: one memfd holding every page of application memory.
//!
//! The sentry maps the whole file into itself once, so reading or writing
//! application memory is a memcpy at `base + offset`; stubs map pieces of
//! the same file at application addresses. Pages are handed out as
//! reference-counted [`Frame`]s; the last reference returns the page.

use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::{Arc, Mutex, OnceLock};

use nix::errno::Errno;

pub const PAGE_SIZE: u64 = 4096;
/// Virtual size of the memory file; pages only cost memory once touched.
const FILE_SIZE: u64 = 64 << 30;
const FILE_SIZE_USIZE: usize = 64 << 30;
const PAGE_USIZE: usize = 4096;

/// The memory file and the sentry's mapping of it.
#[derive(Debug)]
pub struct MemoryFile {
    fd: OwnedFd,
    base: usize,
    alloc: Mutex<Allocator>,
}

#[derive(Debug, Default)]
struct Allocator {
    next: u64,
    free: Vec<u64>,
}

/// One page of the memory file. Dropping the last `Arc<Frame>` frees it.
#[derive(Debug)]
pub struct Frame {
    off: u64,
}

static MEMFILE: OnceLock<MemoryFile> = OnceLock::new();

/// The process-wide memory file. Panics only if [`MemoryFile::init`] was
/// never called, which is a sentry start-up bug, not application input.
pub fn memfile() -> &'static MemoryFile {
    MEMFILE.get().expect("memory file not initialised")
}

impl MemoryFile {
    /// Creates the memory file and maps it into the sentry.
    pub fn init() -> Result<&'static MemoryFile, Errno> {
        if let Some(m) = MEMFILE.get() {
            return Ok(m);
        }
        let fd = nix::sys::memfd::memfd_create(
            c"rvisor-memory",
            nix::sys::memfd::MemFdCreateFlag::MFD_CLOEXEC,
        )?;
        #[allow(clippy::cast_possible_wrap, reason = "FILE_SIZE is far below i64::MAX")]
        nix::unistd::ftruncate(&fd, FILE_SIZE as i64)?;
        // SAFETY: a fresh shared mapping of our own memfd; nothing else
        // lives at the address the kernel picks.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                FILE_SIZE_USIZE,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_NORESERVE,
                fd.as_raw_fd(),
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(Errno::last());
        }
        let mf = MemoryFile {
            fd,
            base: base as usize,
            alloc: Mutex::new(Allocator::default()),
        };
        Ok(MEMFILE.get_or_init(|| mf))
    }

    pub fn raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// Allocates `n` zeroed pages, contiguous in the file when possible.
    pub fn alloc(&self, n: usize) -> Result<Vec<Arc<Frame>>, Errno> {
        let mut out = Vec::with_capacity(n);
        let mut a = self.alloc.lock().map_err(|_| Errno::ENOMEM)?;
        let mut reused = Vec::new();
        while out.len() + reused.len() < n {
            if let Some(off) = a.free.pop() {
                reused.push(off);
            } else {
                break;
            }
        }
        let fresh = n - reused.len();
        if a.next + fresh as u64 * PAGE_SIZE > FILE_SIZE {
            a.free.extend(reused);
            return Err(Errno::ENOMEM);
        }
        for i in 0..fresh as u64 {
            out.push(Arc::new(Frame {
                off: a.next + i * PAGE_SIZE,
            }));
        }
        a.next += fresh as u64 * PAGE_SIZE;
        drop(a);
        for off in reused {
            // Freed pages keep their old contents; fresh ones are zero.
            self.slice_mut(off).fill(0);
            out.push(Arc::new(Frame { off }));
        }
        Ok(out)
    }

    /// Allocates one zeroed page.
    pub fn alloc_one(&self) -> Result<Arc<Frame>, Errno> {
        self.alloc(1)?.pop().ok_or(Errno::ENOMEM)
    }

    #[allow(
        clippy::mut_from_ref,
        reason = "the page is application memory, see the SAFETY note"
    )]
    fn slice_mut(&self, off: u64) -> &mut [u8] {
        debug_assert!(off.is_multiple_of(PAGE_SIZE) && off < FILE_SIZE);
        // SAFETY: `off` is a page the allocator handed out, inside the
        // FILE_SIZE mapping made in init and never unmapped. Concurrent
        // access to the same page by two sentry threads is the same race the
        // application itself could have on that memory; it cannot corrupt
        // sentry state because the page holds only application data.
        unsafe {
            std::slice::from_raw_parts_mut(
                (self.base + usize::try_from(off).unwrap_or(0)) as *mut u8,
                PAGE_USIZE,
            )
        }
    }

    fn free(&self, off: u64) {
        if let Ok(mut a) = self.alloc.lock() {
            a.free.push(off);
        }
    }
}

impl Frame {
    /// Offset of the page in the memory file.
    pub fn offset(&self) -> u64 {
        self.off
    }

    /// The page's bytes.
    pub fn bytes(&self) -> &[u8] {
        memfile().slice_mut(self.off)
    }

    /// The page's bytes, for writing.
    #[allow(
        clippy::mut_from_ref,
        reason = "the page is memory shared with the application, see slice_mut"
    )]
    pub fn bytes_mut(&self) -> &mut [u8] {
        memfile().slice_mut(self.off)
    }

    /// A new frame with a copy of this one's contents.
    pub fn duplicate(&self) -> Result<Arc<Frame>, Errno> {
        let f = memfile().alloc_one()?;
        f.bytes_mut().copy_from_slice(self.bytes());
        Ok(f)
    }
}

impl Drop for Frame {
    fn drop(&mut self) {
        if let Some(m) = MEMFILE.get() {
            m.free(self.off);
        }
    }
}
