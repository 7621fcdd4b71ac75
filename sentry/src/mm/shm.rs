//! Shared anonymous memory (MAP_SHARED|MAP_ANONYMOUS).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use nix::errno::Errno;

use super::{memfile, Frame, Mappable, PAGE_SIZE};

/// Pages shared by every mapping of one shared anonymous region, also
/// across fork.
#[derive(Debug)]
pub struct AnonShared {
    pages: Mutex<BTreeMap<u64, Arc<Frame>>>,
    len: u64,
    ino: u64,
}

static NEXT_INO: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

impl AnonShared {
    pub fn new(len: u64) -> AnonShared {
        AnonShared {
            pages: Mutex::new(BTreeMap::new()),
            len,
            ino: NEXT_INO.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        }
    }
}

impl AnonShared {
    /// Pages that exist (were touched), as Linux counts a shmem file's
    /// page cache.
    pub fn resident(&self) -> u64 {
        let n = self.pages.lock().unwrap_or_else(|e| e.into_inner()).len();
        u64::try_from(n).unwrap_or(u64::MAX)
    }
}

impl Mappable for AnonShared {
    fn frame(&self, idx: u64) -> Result<Arc<Frame>, Errno> {
        if idx >= self.len.div_ceil(PAGE_SIZE) {
            return Err(Errno::EFAULT);
        }
        let mut p = self.pages.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(f) = p.get(&idx) {
            return Ok(f.clone());
        }
        let f = memfile().alloc_one()?;
        p.insert(idx, f.clone());
        Ok(f)
    }

    fn frame_around(&self, idx: u64) -> Option<Arc<Frame>> {
        let p = self.pages.lock().unwrap_or_else(|e| e.into_inner());
        p.get(&idx).cloned()
    }

    fn maps_identity(&self) -> (u64, u64, String) {
        (1, self.ino, "/dev/zero (deleted)".to_string())
    }
}
