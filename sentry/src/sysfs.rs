//! `/sys`: a minimal synthetic sysfs with what common tools read (the CPU
//! lists that `nproc`-style code and libc's `get_nprocs` look at), built
//! from the procfs building blocks. Everything is read-only.

use std::sync::Arc;

use crate::procfs::{Attr, ProcDir, ProcFile};
use crate::vfs::Inode;

/// Inode numbers of sysfs nodes: far from procfs's global ones.
const INO_BASE: u64 = 0x5359_0000;

fn dir(n: u64, entries: Vec<(&'static str, Arc<dyn Inode>)>) -> Arc<dyn Inode> {
    ProcDir::fixed(Attr::root(INO_BASE + n, 0o755), entries)
}

fn fixed(n: u64, text: String) -> Arc<dyn Inode> {
    ProcFile::fixed(Attr::root(INO_BASE + n, 0o444), text)
}

/// The CPU list `0-N` (or `0`) of `n` CPUs.
fn cpu_list(n: usize) -> String {
    if n > 1 {
        format!("0-{}\n", n - 1)
    } else {
        "0\n".to_string()
    }
}

/// A new `/sys`.
pub fn new_sysfs() -> Arc<dyn Inode> {
    // Read the way the kernel's `ncpus` is: this runs before it boots.
    let n = std::thread::available_parallelism().map_or(1, usize::from);
    let list = cpu_list(n);
    let cpu = dir(
        4,
        vec![
            ("kernel_max", fixed(5, "8191\n".to_string())),
            ("offline", fixed(6, "\n".to_string())),
            ("online", fixed(7, list.clone())),
            ("possible", fixed(8, list.clone())),
            ("present", fixed(9, list)),
        ],
    );
    let system = dir(3, vec![("cpu", cpu)]);
    let devices = dir(2, vec![("system", system)]);
    let cgroup = dir(11, Vec::new());
    let fs = dir(10, vec![("cgroup", cgroup)]);
    let kernel_dir = dir(12, Vec::new());
    dir(
        1,
        vec![("devices", devices), ("fs", fs), ("kernel", kernel_dir)],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists() {
        assert_eq!(cpu_list(1), "0\n");
        assert_eq!(cpu_list(2), "0-1\n");
        assert_eq!(cpu_list(8), "0-7\n");
    }
}
