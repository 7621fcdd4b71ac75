//! System V message queues.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use nix::errno::Errno;

use super::{lookup_key, now_secs, put_i32s, KeyLookup, Perm, StatCmd, Table, PERM_SIZE};
use crate::kernel::task::{lock, Creds};
use crate::kernel::wait::WaitQueue;
use crate::syscalls::caps::{capable, CAP_SYS_RESOURCE};

/// Linux's defaults: largest message, bytes per queue, queues.
pub const MSGMAX: usize = 8192;
pub const MSGMNB: u64 = 16384;
pub const MSGMNI: usize = 32000;
pub const MSG_NOERROR: i32 = 0o10000;
pub const MSG_EXCEPT: i32 = 0o20000;
pub const MSG_COPY: i32 = 0o40000;
/// Size of `struct msqid64_ds` on x86_64.
pub const MSQID_DS_SIZE: usize = 120;
pub const MSG_STAT: i32 = 11;
pub const MSG_INFO: i32 = 12;
pub const MSG_STAT_ANY: i32 = 13;
/// Size of `struct msginfo`.
pub const MSGINFO_SIZE: usize = 32;
/// The historical limits `struct msginfo` reports for IPC_INFO (MSGPOOL
/// in KiB, MSGMAP, MSGTQL, MSGSSZ, MSGSEG), from Linux's uapi msg.h.
const MSGPOOL: i32 = 32000 * 16384 / 1024;
const MSGMAP: i32 = 16384;
const MSGTQL: i32 = 16384;
const MSGSSZ: i32 = 16;
const MSGSEG: u16 = 0xffff;

#[derive(Debug)]
pub struct MsgState {
    pub perm: Perm,
    msgs: VecDeque<(i64, Vec<u8>)>,
    cbytes: u64,
    qbytes: u64,
    stime: i64,
    rtime: i64,
    ctime: i64,
    lspid: i32,
    lrpid: i32,
    pub removed: bool,
}

/// One message queue.
#[derive(Debug)]
pub struct MsgQueue {
    pub id: i32,
    pub state: Mutex<MsgState>,
    /// Notified on every send, receive, IPC_SET and removal.
    pub wq: WaitQueue,
}

static MSGS: Mutex<Table<MsgQueue>> = Mutex::new(Table::new(MSGMNI));

/// msgget.
pub fn msgget(key: i32, flg: i32, c: &Creds) -> Result<i32, Errno> {
    let mut t = lock(&MSGS);
    match lookup_key(&t, key, flg, |q| lock(&q.state).perm.key)? {
        KeyLookup::Existing(q) => {
            if !lock(&q.state).perm.allows(c, flg.unsigned_abs() & 0o777) {
                return Err(Errno::EACCES);
            }
            Ok(q.id)
        }
        KeyLookup::Create => {
            let id = t.next_id()?;
            let q = MsgQueue {
                id,
                state: Mutex::new(MsgState {
                    perm: Perm::new(key, flg, c, id),
                    msgs: VecDeque::new(),
                    cbytes: 0,
                    qbytes: MSGMNB,
                    stime: 0,
                    rtime: 0,
                    ctime: now_secs(),
                    lspid: 0,
                    lrpid: 0,
                    removed: false,
                }),
                wq: WaitQueue::new(),
            };
            t.objs.insert(id, Arc::new(q));
            Ok(id)
        }
    }
}

pub fn lookup(id: i32) -> Result<Arc<MsgQueue>, Errno> {
    lock(&MSGS).get(id)
}

/// msgctl(IPC_STAT, MSG_STAT, MSG_STAT_ANY): `struct msqid64_ds` and the
/// call's result.
pub fn stat(id: i32, c: &Creds, cmd: StatCmd) -> Result<([u8; MSQID_DS_SIZE], i32), Errno> {
    let q = cmd.lookup(&lock(&MSGS), id)?;
    let st = lock(&q.state);
    cmd.check(&st.perm, c)?;
    let mut b = [0u8; MSQID_DS_SIZE];
    b[..PERM_SIZE].copy_from_slice(&st.perm.to_bytes());
    b[48..56].copy_from_slice(&st.stime.to_ne_bytes());
    b[56..64].copy_from_slice(&st.rtime.to_ne_bytes());
    b[64..72].copy_from_slice(&st.ctime.to_ne_bytes());
    b[72..80].copy_from_slice(&st.cbytes.to_ne_bytes());
    b[80..88].copy_from_slice(&(st.msgs.len() as u64).to_ne_bytes());
    b[88..96].copy_from_slice(&st.qbytes.to_ne_bytes());
    b[96..100].copy_from_slice(&st.lspid.to_ne_bytes());
    b[100..104].copy_from_slice(&st.lrpid.to_ne_bytes());
    Ok((b, cmd.result(q.id)))
}

/// msgctl(IPC_INFO / MSG_INFO): `struct msginfo` and the highest index in
/// use. MSG_INFO reports the queues, messages and bytes in use in
/// msgpool, msgmap and msgtql (`msgctl_info`).
pub fn info(cmd: i32) -> ([u8; MSGINFO_SIZE], i32) {
    let t = lock(&MSGS);
    let clamp = |n: u64| i32::try_from(n).unwrap_or(i32::MAX);
    let (pool, map, tql) = if cmd == MSG_INFO {
        let (mut msgs, mut bytes) = (0u64, 0u64);
        for q in t.objs.values() {
            let st = lock(&q.state);
            msgs += st.msgs.len() as u64;
            bytes += st.cbytes;
        }
        (clamp(t.in_use() as u64), clamp(msgs), clamp(bytes))
    } else {
        (MSGPOOL, MSGMAP, MSGTQL)
    };
    let mut v = Vec::with_capacity(MSGINFO_SIZE);
    // msgpool, msgmap, msgmax, msgmnb, msgmni, msgssz, msgtql, msgseg.
    put_i32s(
        &mut v,
        &[
            pool,
            map,
            clamp(MSGMAX as u64),
            clamp(MSGMNB),
            clamp(MSGMNI as u64),
            MSGSSZ,
            tql,
        ],
    );
    v.extend_from_slice(&MSGSEG.to_ne_bytes());
    v.resize(MSGINFO_SIZE, 0);
    let mut b = [0u8; MSGINFO_SIZE];
    b.copy_from_slice(&v);
    (b, t.max_idx())
}

/// How msgrcv picks a message (Linux's `convert_mode`).
#[derive(Debug, Clone, Copy)]
pub enum Select {
    Any,
    Equal(i64),
    NotEqual(i64),
    /// The lowest type not above this.
    LessEqual(i64),
    /// MSG_COPY: the message at this position, left in place.
    Copy(usize),
}

impl Select {
    pub fn new(typ: i64, flg: i32) -> Select {
        if flg & MSG_COPY != 0 {
            return Select::Copy(usize::try_from(typ).unwrap_or(usize::MAX));
        }
        match typ {
            0 => Select::Any,
            t if t > 0 && flg & MSG_EXCEPT != 0 => Select::NotEqual(t),
            t if t > 0 => Select::Equal(t),
            t => Select::LessEqual(t.checked_neg().unwrap_or(i64::MAX)),
        }
    }
}

impl MsgQueue {
    /// One try at msgsnd: `Ok(false)` if the queue is full.
    pub fn try_send(&self, typ: i64, data: &[u8], c: &Creds, pid: i32) -> Result<bool, Errno> {
        {
            let mut st = lock(&self.state);
            if !st.perm.allows(c, super::S_IWUGO) {
                return Err(Errno::EACCES);
            }
            if st.removed {
                return Err(Errno::EIDRM);
            }
            let len = data.len() as u64;
            if len + st.cbytes > st.qbytes || 1 + st.msgs.len() as u64 > st.qbytes {
                return Ok(false);
            }
            st.msgs.push_back((typ, data.to_vec()));
            st.cbytes += len;
            st.lspid = pid;
            st.stime = now_secs();
        }
        self.wq.notify();
        Ok(true)
    }

    /// One try at msgrcv: `Ok(None)` if no message matches.
    pub fn try_recv(
        &self,
        sel: Select,
        bufsz: usize,
        flg: i32,
        c: &Creds,
        pid: i32,
    ) -> Result<Option<(i64, Vec<u8>)>, Errno> {
        let mut st = lock(&self.state);
        if !st.perm.allows(c, super::S_IRUGO) {
            return Err(Errno::EACCES);
        }
        if st.removed {
            return Err(Errno::EIDRM);
        }
        let found = match sel {
            Select::Any => (!st.msgs.is_empty()).then_some(0),
            Select::Equal(t) => st.msgs.iter().position(|m| m.0 == t),
            Select::NotEqual(t) => st.msgs.iter().position(|m| m.0 != t),
            Select::LessEqual(t) => st
                .msgs
                .iter()
                .enumerate()
                .filter(|(_, m)| m.0 <= t)
                .min_by_key(|(i, m)| (m.0, *i))
                .map(|(i, _)| i),
            Select::Copy(i) => (i < st.msgs.len()).then_some(i),
        };
        let Some(i) = found else {
            return Ok(None);
        };
        let (typ, len) = (st.msgs[i].0, st.msgs[i].1.len());
        if bufsz < len && flg & MSG_NOERROR == 0 {
            return Err(Errno::E2BIG);
        }
        if let Select::Copy(_) = sel {
            let mut d = st.msgs[i].1.clone();
            d.truncate(bufsz);
            return Ok(Some((typ, d)));
        }
        let Some((_, mut d)) = st.msgs.remove(i) else {
            return Ok(None);
        };
        st.cbytes -= len as u64;
        st.lrpid = pid;
        st.rtime = now_secs();
        drop(st);
        d.truncate(bufsz);
        self.wq.notify();
        Ok(Some((typ, d)))
    }

    /// IPC_SET: owner, mode and msg_qbytes (raising it past MSGMNB needs
    /// CAP_SYS_RESOURCE).
    pub fn set(&self, c: &Creds, raw: &[u8]) -> Result<(), Errno> {
        {
            let mut st = lock(&self.state);
            if !st.perm.is_owner(c) {
                return Err(Errno::EPERM);
            }
            let mut q = [0u8; 8];
            q.copy_from_slice(&raw[88..96]);
            let qbytes = u64::from_ne_bytes(q);
            if qbytes > MSGMNB && !capable(c, CAP_SYS_RESOURCE) {
                return Err(Errno::EPERM);
            }
            st.perm.set_from(raw);
            st.qbytes = qbytes;
            st.ctime = now_secs();
        }
        self.wq.notify();
        Ok(())
    }
}

/// IPC_RMID: waiting senders and receivers get EIDRM.
pub fn rmid(id: i32, c: &Creds) -> Result<(), Errno> {
    let q = {
        let mut t = lock(&MSGS);
        let q = t.get(id)?;
        let mut st = lock(&q.state);
        if !st.perm.is_owner(c) {
            return Err(Errno::EPERM);
        }
        st.removed = true;
        st.msgs.clear();
        drop(st);
        t.objs.remove(&id);
        q
    };
    q.wq.notify();
    Ok(())
}
