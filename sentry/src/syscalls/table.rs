//! The syscall table: number -> handler. Numbers not listed here return
//! ENOSYS (see `names.rs` for every number and docs/syscalls.md).

use super::{exec, futex, info, mmap, process, signal, time, Handler};

pub fn entry(nr: u64) -> Option<Handler> {
    let h: Handler = match nr {
        9 => mmap::sys_mmap,                 // mmap
        10 => mmap::sys_mprotect,            // mprotect
        11 => mmap::sys_munmap,              // munmap
        12 => mmap::sys_brk,                 // brk
        13 => signal::sys_rt_sigaction,      // rt_sigaction
        14 => signal::sys_rt_sigprocmask,    // rt_sigprocmask
        15 => signal::sys_rt_sigreturn,      // rt_sigreturn
        24 => info::sys_sched_yield,         // sched_yield
        25 => mmap::sys_mremap,              // mremap
        26 => mmap::sys_msync,               // msync
        28 => mmap::sys_madvise,             // madvise
        34 => signal::sys_pause,             // pause
        35 => time::sys_nanosleep,           // nanosleep
        39 => process::sys_getpid,           // getpid
        56 => process::sys_clone,            // clone
        57 => process::sys_fork,             // fork
        58 => process::sys_vfork,            // vfork
        59 => exec::sys_execve,              // execve
        60 => process::sys_exit,             // exit
        61 => process::sys_wait4,            // wait4
        62 => signal::sys_kill,              // kill
        63 => info::sys_uname,               // uname
        95 => info::sys_umask,               // umask
        96 => time::sys_gettimeofday,        // gettimeofday
        97 => info::sys_getrlimit,           // getrlimit
        99 => info::sys_sysinfo,             // sysinfo
        102 => info::sys_getuid,             // getuid
        104 => info::sys_getgid,             // getgid
        107 => info::sys_geteuid,            // geteuid
        108 => info::sys_getegid,            // getegid
        109 => process::sys_setpgid,         // setpgid
        110 => process::sys_getppid,         // getppid
        111 => process::sys_getpgrp,         // getpgrp
        112 => process::sys_setsid,          // setsid
        115 => info::sys_getgroups,          // getgroups
        118 => info::sys_getresuid,          // getresuid
        120 => info::sys_getresgid,          // getresgid
        121 => process::sys_getpgid,         // getpgid
        124 => process::sys_getsid,          // getsid
        127 => signal::sys_rt_sigpending,    // rt_sigpending
        128 => signal::sys_rt_sigtimedwait,  // rt_sigtimedwait
        129 => signal::sys_rt_sigqueueinfo,  // rt_sigqueueinfo
        130 => signal::sys_rt_sigsuspend,    // rt_sigsuspend
        131 => signal::sys_sigaltstack,      // sigaltstack
        140 => info::sys_getpriority,        // getpriority
        141 => info::sys_setpriority,        // setpriority
        149 => mmap::sys_mlock_nop,          // mlock
        150 => mmap::sys_mlock_nop,          // munlock
        151 => mmap::sys_mlock_nop,          // mlockall
        152 => mmap::sys_mlock_nop,          // munlockall
        157 => process::sys_prctl,           // prctl
        158 => process::sys_arch_prctl,      // arch_prctl
        160 => info::sys_setrlimit,          // setrlimit
        170 => info::sys_sethostname,        // sethostname
        171 => info::sys_sethostname,        // setdomainname
        186 => process::sys_gettid,          // gettid
        200 => signal::sys_tkill,            // tkill
        201 => time::sys_time,               // time
        202 => futex::sys_futex,             // futex
        203 => info::sys_sched_setaffinity,  // sched_setaffinity
        204 => info::sys_sched_getaffinity,  // sched_getaffinity
        218 => process::sys_set_tid_address, // set_tid_address
        228 => time::sys_clock_gettime,      // clock_gettime
        229 => time::sys_clock_getres,       // clock_getres
        230 => time::sys_clock_nanosleep,    // clock_nanosleep
        231 => process::sys_exit_group,      // exit_group
        234 => signal::sys_tgkill,           // tgkill
        247 => process::sys_waitid,          // waitid
        302 => info::sys_prlimit64,          // prlimit64
        309 => info::sys_getcpu,             // getcpu
        318 => info::sys_getrandom,          // getrandom
        322 => exec::sys_execveat,           // execveat
        325 => mmap::sys_mlock_nop,          // mlock2
        435 => process::sys_clone3,          // clone3
        _ => return None,
    };
    Some(h)
}
