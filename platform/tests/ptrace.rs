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
    let mem = memfd_with(&code);
    // The test process leaks this fd into the platform for its lifetime.
    let raw = mem.as_raw_fd();
    std::mem::forget(mem);
    let p = PtracePlatform::init(raw).expect("init");
    let mut ctx = p.new_context().expect("context");
    ctx.map(CODE_ADDR, 0x1000, libc::PROT_READ | libc::PROT_EXEC, 0)
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
        0x1000,
    )
    .expect("map data");
    assert_eq!(ctx.switch().expect("switch"), Stop::Syscall);
    assert_eq!(ctx.regs().orig_rax, 9999);
}
