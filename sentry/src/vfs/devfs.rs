//! `/dev`: a tmpfs populated with the standard nodes, and the registry of
//! character devices that device nodes on any tmpfs open.

use std::any::Any;
use std::sync::Arc;

use nix::errno::Errno;
use nix::sys::stat::{major, makedev, minor};

use super::file::FileOps;
use super::inode::Inode;
use super::tmpfs::new_root_node;

/// A memory character device (major 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MemDev {
    Null,
    Zero,
    Full,
    Random,
}

#[derive(Debug)]
struct MemDevFile {
    dev: MemDev,
}

/// Fills `buf` with random bytes from the host.
fn random_fill(buf: &mut [u8]) -> Result<(), Errno> {
    let mut done = 0;
    while done < buf.len() {
        let rest = &mut buf[done..];
        // SAFETY: the kernel writes at most `rest.len()` bytes into `rest`,
        // which we exclusively borrow.
        let n = unsafe { libc::getrandom(rest.as_mut_ptr().cast(), rest.len(), 0) };
        match usize::try_from(n) {
            Ok(n) => done += n,
            Err(_) if Errno::last() == Errno::EINTR => {}
            Err(_) => return Err(Errno::last()),
        }
    }
    Ok(())
}

impl FileOps for MemDevFile {
    fn read(&self, buf: &mut [u8], _off: u64) -> Result<usize, Errno> {
        match self.dev {
            MemDev::Null => Ok(0),
            MemDev::Zero | MemDev::Full => {
                buf.fill(0);
                Ok(buf.len())
            }
            MemDev::Random => {
                random_fill(buf)?;
                Ok(buf.len())
            }
        }
    }

    fn write(&self, buf: &[u8], _off: u64) -> Result<usize, Errno> {
        match self.dev {
            MemDev::Full => Err(Errno::ENOSPC),
            // Writes to random only mix into the pool: accepted and ignored.
            MemDev::Null | MemDev::Zero | MemDev::Random => Ok(buf.len()),
        }
    }

    fn seekable(&self) -> bool {
        true
    }

    /// `null_lseek` (also zero's and full's) pins the position at 0; the
    /// random devices use `noop_llseek`, which leaves it where it is.
    fn llseek(&self, cur: u64, _off: i64, _whence: i32) -> Option<Result<u64, Errno>> {
        Some(Ok(match self.dev {
            MemDev::Null | MemDev::Zero | MemDev::Full => 0,
            MemDev::Random => cur,
        }))
    }

    fn maps_anonymous(&self) -> bool {
        self.dev == MemDev::Zero
    }

    /// None of the memory devices moves the position on read or write.
    fn advances_position(&self) -> bool {
        false
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// Opens the character device `rdev` (the registry tmpfs device nodes use,
/// so `mknod c 1 3` anywhere behaves like `/dev/null`) with the `open(2)`
/// `flags`. Unknown devices give `ENXIO`.
pub fn open_device(rdev: u64, flags: i32) -> Result<Arc<dyn FileOps>, Errno> {
    let dev = match (major(rdev), minor(rdev)) {
        (5, 0) => return super::tty::open_current_tty(),
        (5, 2) => return super::tty::open_master(),
        (136, n) => {
            return super::tty::open_slave(u32::try_from(n).map_err(|_| Errno::ENXIO)?, flags)
        }
        (1, 3) => MemDev::Null,
        (1, 5) => MemDev::Zero,
        (1, 7) => MemDev::Full,
        (1, 8) | (1, 9) => MemDev::Random,
        _ => return Err(Errno::ENXIO),
    };
    Ok(Arc::new(MemDevFile { dev }))
}

/// A fresh `/dev`.
pub fn new_devfs() -> Result<Arc<dyn Inode>, Errno> {
    let root: Arc<dyn Inode> = new_root_node(0o755, 0, 0);
    let chr = |name: &[u8], maj: u64, min: u64| {
        root.mknod(name, libc::S_IFCHR | 0o666, makedev(maj, min), 0, 0)
    };
    chr(b"null", 1, 3)?;
    chr(b"zero", 1, 5)?;
    chr(b"full", 1, 7)?;
    chr(b"random", 1, 8)?;
    chr(b"urandom", 1, 9)?;
    chr(b"tty", 5, 0)?;
    chr(b"ptmx", 5, 2)?;
    root.symlink(b"fd", b"/proc/self/fd", 0, 0)?;
    root.symlink(b"stdin", b"/proc/self/fd/0", 0, 0)?;
    root.symlink(b"stdout", b"/proc/self/fd/1", 0, 0)?;
    root.symlink(b"stderr", b"/proc/self/fd/2", 0, 0)?;
    root.mkdir(b"shm", 0o1777, 0, 0)?;
    root.mkdir(b"pts", 0o755, 0, 0)?;
    Ok(root)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(root: &Arc<dyn Inode>, name: &[u8], flags: i32) -> Result<Arc<dyn FileOps>, Errno> {
        root.lookup(name)?.open(flags)
    }

    #[test]
    fn standard_nodes_behave_like_linux() {
        crate::mm::MemoryFile::init().unwrap();
        let dev = new_devfs().unwrap();
        let null = dev.lookup(b"null").unwrap().stat().unwrap();
        assert_eq!(null.mode, libc::S_IFCHR | 0o666);
        assert_eq!(null.rdev, makedev(1, 3));
        let mut buf = [7u8; 64];
        assert_eq!(
            open(&dev, b"null", libc::O_RDWR).unwrap().read(&mut buf, 0),
            Ok(0)
        );
        assert_eq!(
            open(&dev, b"null", libc::O_RDWR).unwrap().write(&buf, 0),
            Ok(64)
        );
        assert_eq!(
            open(&dev, b"zero", libc::O_RDONLY)
                .unwrap()
                .read(&mut buf, 0),
            Ok(64)
        );
        assert!(buf.iter().all(|&b| b == 0));
        let full = open(&dev, b"full", libc::O_RDWR).unwrap();
        assert_eq!(full.write(&buf, 0), Err(Errno::ENOSPC));
        assert_eq!(full.read(&mut buf, 0), Ok(64));
        let mut r = [0u8; 64];
        assert_eq!(
            open(&dev, b"urandom", libc::O_RDONLY)
                .unwrap()
                .read(&mut r, 0),
            Ok(64)
        );
        assert!(r.iter().any(|&b| b != 0));
        assert_eq!(
            open(&dev, b"tty", libc::O_RDWR).map(|_| ()),
            Err(Errno::ENXIO)
        );
        assert_eq!(
            dev.lookup(b"stdout").unwrap().readlink().unwrap(),
            b"/proc/self/fd/1"
        );
        assert_eq!(
            dev.lookup(b"shm").unwrap().stat().unwrap().mode,
            libc::S_IFDIR | 0o1777
        );
    }

    #[test]
    fn mknod_anywhere_reaches_the_registry() {
        crate::mm::MemoryFile::init().unwrap();
        let fs = crate::vfs::Tmpfs::new_root(0o755);
        fs.mknod(b"mynull", libc::S_IFCHR | 0o600, makedev(1, 3), 0, 0)
            .unwrap();
        fs.mknod(b"blk", libc::S_IFBLK | 0o600, makedev(1, 3), 0, 0)
            .unwrap();
        fs.mknod(b"odd", libc::S_IFCHR | 0o600, makedev(42, 1), 0, 0)
            .unwrap();
        fs.mknod(b"fifo", libc::S_IFIFO | 0o600, 0, 0, 0).unwrap();
        assert_eq!(
            open(&fs, b"mynull", libc::O_WRONLY)
                .unwrap()
                .write(b"abc", 0),
            Ok(3)
        );
        assert_eq!(
            open(&fs, b"blk", libc::O_RDONLY).map(|_| ()),
            Err(Errno::ENXIO)
        );
        assert_eq!(
            open(&fs, b"odd", libc::O_RDONLY).map(|_| ()),
            Err(Errno::ENXIO)
        );
        // A FIFO is a pipe, not a device: without a reader, a
        // non-blocking writer gets ENXIO, a reader always opens.
        assert_eq!(
            open(&fs, b"fifo", libc::O_WRONLY | libc::O_NONBLOCK).map(|_| ()),
            Err(Errno::ENXIO)
        );
        assert!(open(&fs, b"fifo", libc::O_RDONLY | libc::O_NONBLOCK).is_ok());
    }
}
