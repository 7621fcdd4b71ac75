//! The syscall table: number -> handler. Numbers not listed here return
//! ENOSYS (see `names.rs` for every number and docs/syscalls.md).

use super::epoll as ep;
use super::{
    attr, caps, cred, dir, exec, fd, futex, info, mmap, open, poll, process, rusage, sched,
    sendfile, signal, socket, stat, time, Handler,
};
use super::{copy, fhandle, splice, xattr};
use super::{eventfd, inotify, signalfd, timerfd};
use super::{futex_pi, pidfd, posix_timer};
use super::{memfd, mqueue, sysv};

pub fn entry(nr: u64) -> Option<Handler> {
    let h: Handler = match nr {
        285 => fd::sys_fallocate, // fallocate
        221 => fd::sys_fadvise64, // fadvise64
        // File handles (fhandle.rs): EOPNOTSUPP/ESTALE, no fs can decode.
        303 => fhandle::sys_name_to_handle_at, // name_to_handle_at
        304 => fhandle::sys_open_by_handle_at, // open_by_handle_at
        // IPC: memfd, System V IPC, POSIX message queues (memfd.rs,
        // sysv.rs, mqueue.rs).
        319 => memfd::sys_memfd_create,     // memfd_create
        29 => sysv::sys_shmget,             // shmget
        30 => sysv::sys_shmat,              // shmat
        31 => sysv::sys_shmctl,             // shmctl
        67 => sysv::sys_shmdt,              // shmdt
        64 => sysv::sys_semget,             // semget
        65 => sysv::sys_semop,              // semop
        66 => sysv::sys_semctl,             // semctl
        220 => sysv::sys_semtimedop,        // semtimedop
        68 => sysv::sys_msgget,             // msgget
        69 => sysv::sys_msgsnd,             // msgsnd
        70 => sysv::sys_msgrcv,             // msgrcv
        71 => sysv::sys_msgctl,             // msgctl
        240 => mqueue::sys_mq_open,         // mq_open
        241 => mqueue::sys_mq_unlink,       // mq_unlink
        242 => mqueue::sys_mq_timedsend,    // mq_timedsend
        243 => mqueue::sys_mq_timedreceive, // mq_timedreceive
        244 => mqueue::sys_mq_notify,       // mq_notify
        245 => mqueue::sys_mq_getsetattr,   // mq_getsetattr
        // POSIX timers, futex extras, pidfds, thread-directed signals
        // (posix_timer.rs, futex_pi.rs, pidfd.rs, signal.rs).
        222 => posix_timer::sys_timer_create,  // timer_create
        223 => posix_timer::sys_timer_settime, // timer_settime
        224 => posix_timer::sys_timer_gettime, // timer_gettime
        225 => posix_timer::sys_timer_getoverrun, // timer_getoverrun
        226 => posix_timer::sys_timer_delete,  // timer_delete
        273 => futex_pi::sys_set_robust_list,  // set_robust_list
        274 => futex_pi::sys_get_robust_list,  // get_robust_list
        297 => signal::sys_rt_tgsigqueueinfo,  // rt_tgsigqueueinfo
        424 => pidfd::sys_pidfd_send_signal,   // pidfd_send_signal
        434 => pidfd::sys_pidfd_open,          // pidfd_open
        // Event files (epoll.rs, eventfd.rs, timerfd.rs, signalfd.rs).
        213 => ep::sys_epoll_create,         // epoll_create
        232 => ep::sys_epoll_wait,           // epoll_wait
        233 => ep::sys_epoll_ctl,            // epoll_ctl
        281 => ep::sys_epoll_pwait,          // epoll_pwait
        282 => signalfd::sys_signalfd,       // signalfd
        283 => timerfd::sys_timerfd_create,  // timerfd_create
        284 => eventfd::sys_eventfd,         // eventfd
        286 => timerfd::sys_timerfd_settime, // timerfd_settime
        287 => timerfd::sys_timerfd_gettime, // timerfd_gettime
        289 => signalfd::sys_signalfd4,      // signalfd4
        290 => eventfd::sys_eventfd2,        // eventfd2
        291 => ep::sys_epoll_create1,        // epoll_create1
        441 => ep::sys_epoll_pwait2,         // epoll_pwait2
        // inotify (inotify.rs).
        253 => inotify::sys_inotify_init,         // inotify_init
        254 => inotify::sys_inotify_add_watch,    // inotify_add_watch
        255 => inotify::sys_inotify_rm_watch,     // inotify_rm_watch
        294 => inotify::sys_inotify_init1,        // inotify_init1
        148 => sched::sys_sched_rr_get_interval,  // sched_rr_get_interval
        147 => sched::sys_sched_get_priority_min, // sched_get_priority_min
        146 => sched::sys_sched_get_priority_max, // sched_get_priority_max
        145 => sched::sys_sched_getscheduler,     // sched_getscheduler
        144 => sched::sys_sched_setscheduler,     // sched_setscheduler
        143 => sched::sys_sched_getparam,         // sched_getparam
        142 => sched::sys_sched_setparam,         // sched_setparam
        // Sockets (socket.rs).
        41 => socket::sys_socket,      // socket
        42 => socket::sys_connect,     // connect
        43 => socket::sys_accept,      // accept
        44 => socket::sys_sendto,      // sendto
        45 => socket::sys_recvfrom,    // recvfrom
        46 => socket::sys_sendmsg,     // sendmsg
        47 => socket::sys_recvmsg,     // recvmsg
        48 => socket::sys_shutdown,    // shutdown
        49 => socket::sys_bind,        // bind
        50 => socket::sys_listen,      // listen
        51 => socket::sys_getsockname, // getsockname
        52 => socket::sys_getpeername, // getpeername
        53 => socket::sys_socketpair,  // socketpair
        54 => socket::sys_setsockopt,  // setsockopt
        55 => socket::sys_getsockopt,  // getsockopt
        288 => socket::sys_accept4,    // accept4
        // Extended attributes (xattr.rs).
        188 => xattr::sys_setxattr,     // setxattr
        189 => xattr::sys_lsetxattr,    // lsetxattr
        190 => xattr::sys_fsetxattr,    // fsetxattr
        191 => xattr::sys_getxattr,     // getxattr
        192 => xattr::sys_lgetxattr,    // lgetxattr
        193 => xattr::sys_fgetxattr,    // fgetxattr
        194 => xattr::sys_listxattr,    // listxattr
        195 => xattr::sys_llistxattr,   // llistxattr
        196 => xattr::sys_flistxattr,   // flistxattr
        197 => xattr::sys_removexattr,  // removexattr
        198 => xattr::sys_lremovexattr, // lremovexattr
        199 => xattr::sys_fremovexattr, // fremovexattr
        // In-kernel copies (copy.rs, splice.rs).
        326 => copy::sys_copy_file_range, // copy_file_range
        275 => splice::sys_splice,        // splice
        276 => splice::sys_tee,           // tee
        278 => splice::sys_vmsplice,      // vmsplice
        // Readiness waits and sendfile (poll.rs, sendfile.rs).
        7 => poll::sys_poll,          // poll
        23 => poll::sys_select,       // select
        40 => sendfile::sys_sendfile, // sendfile
        270 => poll::sys_pselect6,    // pselect6
        271 => poll::sys_ppoll,       // ppoll
        // Changing ids (cred.rs).
        105 => cred::sys_setuid,    // setuid
        106 => cred::sys_setgid,    // setgid
        113 => cred::sys_setreuid,  // setreuid
        114 => cred::sys_setregid,  // setregid
        116 => cred::sys_setgroups, // setgroups
        117 => cred::sys_setresuid, // setresuid
        119 => cred::sys_setresgid, // setresgid
        122 => cred::sys_setfsuid,  // setfsuid
        123 => cred::sys_setfsgid,  // setfsgid
        // Locks, residency, timers, clocks, usage (fd.rs, mmap.rs, time.rs, rusage.rs).
        27 => mmap::sys_mincore,        // mincore
        36 => time::sys_getitimer,      // getitimer
        37 => time::sys_alarm,          // alarm
        38 => time::sys_setitimer,      // setitimer
        73 => fd::sys_flock,            // flock
        98 => rusage::sys_getrusage,    // getrusage
        100 => rusage::sys_times,       // times
        125 => caps::sys_capget,        // capget
        126 => caps::sys_capset,        // capset
        164 => time::sys_settimeofday,  // settimeofday
        227 => time::sys_clock_settime, // clock_settime
        // Path-based file syscalls (open.rs, stat.rs, dir.rs, attr.rs).
        2 => open::sys_open,                 // open
        4 => stat::sys_stat,                 // stat
        5 => stat::sys_fstat,                // fstat
        6 => stat::sys_lstat,                // lstat
        21 => attr::sys_access,              // access
        74 => attr::sys_fsync,               // fsync
        75 => attr::sys_fsync,               // fdatasync
        76 => attr::sys_truncate,            // truncate
        77 => attr::sys_ftruncate,           // ftruncate
        79 => attr::sys_getcwd,              // getcwd
        80 => attr::sys_chdir,               // chdir
        81 => attr::sys_fchdir,              // fchdir
        82 => dir::sys_rename,               // rename
        83 => dir::sys_mkdir,                // mkdir
        84 => dir::sys_rmdir,                // rmdir
        85 => open::sys_creat,               // creat
        86 => dir::sys_link,                 // link
        87 => dir::sys_unlink,               // unlink
        88 => dir::sys_symlink,              // symlink
        89 => dir::sys_readlink,             // readlink
        90 => attr::sys_chmod,               // chmod
        91 => attr::sys_fchmod,              // fchmod
        92 => attr::sys_chown,               // chown
        93 => attr::sys_fchown,              // fchown
        94 => attr::sys_lchown,              // lchown
        132 => attr::sys_utime,              // utime
        133 => dir::sys_mknod,               // mknod
        137 => stat::sys_statfs,             // statfs
        138 => stat::sys_fstatfs,            // fstatfs
        161 => attr::sys_chroot,             // chroot
        162 => attr::sys_sync,               // sync
        217 => dir::sys_getdents64,          // getdents64
        235 => attr::sys_utimes,             // utimes
        257 => open::sys_openat,             // openat
        258 => dir::sys_mkdirat,             // mkdirat
        259 => dir::sys_mknodat,             // mknodat
        260 => attr::sys_fchownat,           // fchownat
        261 => attr::sys_futimesat,          // futimesat
        262 => stat::sys_newfstatat,         // newfstatat
        263 => dir::sys_unlinkat,            // unlinkat
        264 => dir::sys_renameat,            // renameat
        265 => dir::sys_linkat,              // linkat
        266 => dir::sys_symlinkat,           // symlinkat
        267 => dir::sys_readlinkat,          // readlinkat
        268 => attr::sys_fchmodat,           // fchmodat
        269 => attr::sys_faccessat,          // faccessat
        277 => attr::sys_sync_file_range,    // sync_file_range
        280 => attr::sys_utimensat,          // utimensat
        306 => attr::sys_syncfs,             // syncfs
        316 => dir::sys_renameat2,           // renameat2
        332 => stat::sys_statx,              // statx
        437 => open::sys_openat2,            // openat2
        439 => attr::sys_faccessat2,         // faccessat2
        436 => fd::sys_close_range,          // close_range
        296 => fd::sys_pwritev,              // pwritev
        295 => fd::sys_preadv,               // preadv
        293 => fd::sys_pipe2,                // pipe2
        292 => fd::sys_dup3,                 // dup3
        72 => fd::sys_fcntl,                 // fcntl
        33 => fd::sys_dup2,                  // dup2
        32 => fd::sys_dup,                   // dup
        22 => fd::sys_pipe,                  // pipe
        20 => fd::sys_writev,                // writev
        19 => fd::sys_readv,                 // readv
        18 => fd::sys_pwrite64,              // pwrite64
        17 => fd::sys_pread64,               // pread64
        16 => fd::sys_ioctl,                 // ioctl
        8 => fd::sys_lseek,                  // lseek
        3 => fd::sys_close,                  // close
        1 => fd::sys_write,                  // write
        0 => fd::sys_read,                   // read
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
