//! The ptrace platform end to end: a stub runs code from the memory file,
//! its system calls are stopped, faults are reported with their address.

use std::os::fd::AsRawFd;

use platform::ptrace::PtracePlatform;
use platform::{Context, Stop};

const CODE_ADDR: u64 = 0x40_0000;
const DATA_ADDR: u64 = 0x50_0000;

fn memfd_with(code: &[u8]) -> std::fs::File {
    let fd = nix::sys::memfd::memfd_create(c"test-mem", nix::sys::memfd::MemFdCreateFlag::empty())
        .expect("memfd");
    let f = std::fs::File::from(fd);
    f.set_len(0x10000).expect("truncate");
    use std::os::unix::fs::FileExt;
    f.write_all_at(code, 0).expect("write code");
    f
}

fn memfd_raw() -> i32 {
    let _ = platform();
    *MEMFD.get().expect("memfd")
}

static MEMFD: std::sync::OnceLock<i32> = std::sync::OnceLock::new();

/// The memory file is shared by every test in this binary.
fn platform() -> &'static PtracePlatform {
    let raw = *MEMFD.get_or_init(|| {
        let f = memfd_with(&[0x0f, 0x05]);
        let raw = f.as_raw_fd();
        std::mem::forget(f);
        raw
    });
    PtracePlatform::init(raw).expect("init")
}

#[test]
fn stub_filter_kills_unexpected_host_syscalls() {
    let p = platform();
    // Allowed: an injected munmap.
    let mut ctx = p.new_context().expect("context");
    assert_eq!(
        ctx.inject_for_tests(libc::SYS_munmap, [0x40_0000, 0x1000, 0, 0, 0, 0])
            .expect("munmap"),
        0
    );
    // Allowed: dropping the parent-death signal, and only that prctl.
    assert_eq!(
        ctx.inject_for_tests(libc::SYS_prctl, [1 /* PR_SET_PDEATHSIG */, 0, 0, 0, 0, 0])
            .expect("prctl"),
        0
    );
    // Not in the stub's list: the stub dies, the host call never runs.
    match ctx.inject_for_tests(libc::SYS_getppid, [0; 6]) {
        Err(platform::PlatformError::StubDied { .. }) => {}
        other => panic!("getppid from a stub must kill it, got {other:?}"),
    }
    let mut ctx = p.new_context().expect("context");
    match ctx.inject_for_tests(libc::SYS_prctl, [15 /* PR_SET_NAME */, 0, 0, 0, 0, 0]) {
        Err(platform::PlatformError::StubDied { .. }) => {}
        other => panic!("prctl other than PR_SET_PDEATHSIG must kill it, got {other:?}"),
    }
    // mmap of anything but the memory file is refused the same way.
    let mut ctx = p.new_context().expect("context");
    let anon = (libc::MAP_PRIVATE | libc::MAP_ANONYMOUS) as u64;
    match ctx.inject_for_tests(libc::SYS_mmap, [0x40_0000, 0x1000, 3, anon, u64::MAX, 0]) {
        Err(platform::PlatformError::StubDied { .. }) => {}
        other => panic!("anonymous mmap from a stub must kill it, got {other:?}"),
    }
}

#[test]
fn syscalls_are_stopped_and_faults_reported() {
    // getpid(); write a byte to DATA_ADDR; syscall 9999; int3-free loop end
    let code: Vec<u8> = vec![
        0xb8, 39, 0, 0, 0, // mov eax, 39
        0x0f, 0x05, // syscall
        0x48, 0xc7, 0xc0, 0x00, 0x00, 0x50, 0x00, // mov rax, 0x500000
        0xc6, 0x00, 0x2a, // mov byte [rax], 42
        0xb8, 0x0f, 0x27, 0, 0, // mov eax, 9999
        0x0f, 0x05, // syscall
    ];
    let p = platform();
    let mut ctx = p.new_context().expect("context");
    // The code goes into the shared memory file at 0x2000, data at 0x3000.
    {
        use std::os::fd::FromRawFd;
        use std::os::unix::fs::FileExt;
        // SAFETY: platform() owns the memory file fd for the process
        // lifetime; ManuallyDrop keeps this File from closing it.
        let f = std::mem::ManuallyDrop::new(unsafe { std::fs::File::from_raw_fd(memfd_raw()) });
        f.write_all_at(&code, 0x2000).expect("write code");
    }
    ctx.map(CODE_ADDR, 0x1000, libc::PROT_READ | libc::PROT_EXEC, 0x2000)
        .expect("map code");
    ctx.regs_mut().rip = CODE_ADDR;
    ctx.regs_mut().rsp = 0;

    assert_eq!(ctx.switch().expect("switch"), Stop::Syscall);
    assert_eq!(ctx.regs().orig_rax, 39);
    ctx.regs_mut().rax = 1234;

    match ctx.switch().expect("switch") {
        Stop::Fault { addr, signo, code } => {
            assert_eq!(addr, DATA_ADDR);
            assert_eq!(signo, libc::SIGSEGV);
            assert_eq!(code, 1 /* SEGV_MAPERR */);
        }
        other => panic!("expected a fault, got {other:?}"),
    }
    assert_eq!(ctx.regs().rax, DATA_ADDR, "rax kept across the stop");
    ctx.map(
        DATA_ADDR,
        0x1000,
        libc::PROT_READ | libc::PROT_WRITE,
        0x3000,
    )
    .expect("map data");
    assert_eq!(ctx.switch().expect("switch"), Stop::Syscall);
    assert_eq!(ctx.regs().orig_rax, 9999);
}
