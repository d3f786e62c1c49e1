//! The lock manager: row (key) locks with PostgreSQL's four row-lock modes, a database-level lock
//! that orders DDL against DML, FIFO wait queues, timeouts, cancellation and deadlock detection.
//!
//! ## Modes and conflicts (PostgreSQL's row-level lock matrix)
//!
//! | requested \ held | KeyShare | Share | NoKeyUpdate | Update |
//! |------------------|----------|-------|-------------|--------|
//! | KeyShare         |          |       |             |   X    |
//! | Share            |          |       |      X      |   X    |
//! | NoKeyUpdate      |          |   X   |      X      |   X    |
//! | Update           |    X     |   X   |      X      |   X    |
//!
//! A write (insert/update/delete of a key) holds `Update` until the transaction ends. The
//! database lock uses `KeyShare` for statements that write data and `Update` for DDL, so DDL waits
//! for every writing transaction and blocks new ones (a coarse stand-in for PostgreSQL's relation
//! locks).
//!
//! ## Waiting
//! A request is granted when it conflicts with no other transaction's held mode and with no
//! conflicting request queued before it (FIFO: a stream of share lockers cannot starve an updater).
//! Otherwise the requester queues and sleeps on a condition variable, waking on every release and
//! every 20 ms to check its cancel flag, `lock_timeout`, `statement_timeout` and, once
//! `deadlock_timeout` has passed, the waits-for graph: if a cycle leads back to it, it leaves the
//! queue and fails with 40P01 (as in PostgreSQL, the waiter whose timer fires first breaks the
//! cycle, so each cycle costs exactly one transaction).
//!
//! Waits happen on the calling thread; the server runs statements on blocking threads, so a wait
//! never pins an async runtime worker.

use crate::error::{Error, ErrorKind, Result};
use crate::txn::mvcc::WaitOptions;
use parking_lot::{Condvar, Mutex};
use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

/// Transaction identifier (unique per database while the server runs).
pub type TxnId = u64;

/// Lock strength, weakest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LockMode {
    /// FOR KEY SHARE.
    KeyShare,
    /// FOR SHARE.
    Share,
    /// FOR NO KEY UPDATE.
    NoKeyUpdate,
    /// FOR UPDATE, and every write.
    Update,
}

impl LockMode {
    /// Whether two modes held by different transactions conflict.
    pub fn conflicts(self, other: LockMode) -> bool {
        use LockMode::*;
        matches!(
            (self, other),
            (KeyShare, Update)
                | (Share, NoKeyUpdate | Update)
                | (NoKeyUpdate, Share | NoKeyUpdate | Update)
                | (Update, _)
        )
    }

    /// PostgreSQL's name for the mode in `pg_locks` (tuple locks).
    pub fn pg_name(self) -> &'static str {
        match self {
            LockMode::KeyShare => "KeyShareLock",
            LockMode::Share => "ShareLock",
            LockMode::NoKeyUpdate => "NoKeyUpdateLock",
            LockMode::Update => "ExclusiveLock",
        }
    }
}

/// What can be locked.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Resource {
    /// The whole database (DDL vs. DML).
    Database,
    /// One logical key (a row, an index entry, a catalog entry).
    Key(Vec<u8>),
}

#[derive(Clone, Debug)]
struct Holder {
    txn: TxnId,
    mode: LockMode,
}

#[derive(Clone, Debug)]
struct Waiter {
    txn: TxnId,
    mode: LockMode,
}

#[derive(Default, Debug)]
struct Entry {
    holders: Vec<Holder>,
    queue: VecDeque<Waiter>,
}

impl Entry {
    fn held_by(&self, txn: TxnId) -> Option<LockMode> {
        self.holders.iter().find(|h| h.txn == txn).map(|h| h.mode)
    }

    /// Whether `txn` may take `mode` now, given holders and the waiters queued ahead of it.
    fn grantable(&self, txn: TxnId, mode: LockMode) -> bool {
        if self.holders.iter().any(|h| h.txn != txn && mode.conflicts(h.mode)) {
            return false;
        }
        for w in &self.queue {
            if w.txn == txn {
                return true;
            }
            if mode.conflicts(w.mode) || w.mode.conflicts(mode) {
                // A transaction already holding the lock may upgrade ahead of the queue.
                if self.held_by(txn).is_none() {
                    return false;
                }
            }
        }
        true
    }

    /// The transactions `txn` waits for (conflicting holders and conflicting waiters ahead).
    fn blockers(&self, txn: TxnId, mode: LockMode) -> Vec<TxnId> {
        let mut out: Vec<TxnId> =
            self.holders.iter().filter(|h| h.txn != txn && mode.conflicts(h.mode)).map(|h| h.txn).collect();
        for w in &self.queue {
            if w.txn == txn {
                break;
            }
            if w.txn != txn && (mode.conflicts(w.mode) || w.mode.conflicts(mode)) {
                out.push(w.txn);
            }
        }
        out
    }
}

#[derive(Default)]
struct Inner {
    table: HashMap<Resource, Entry>,
    /// Waiting transactions: what they wait for and in which mode.
    waiting: HashMap<TxnId, (Resource, LockMode)>,
    /// Session pid of each transaction that holds or waits for a lock.
    pids: HashMap<TxnId, i32>,
}

impl Inner {
    /// Whether following waits-for edges from `start` leads back to it.
    fn in_cycle(&self, start: TxnId) -> bool {
        let mut stack = vec![start];
        let mut seen = HashSet::new();
        while let Some(t) = stack.pop() {
            let Some((res, mode)) = self.waiting.get(&t) else { continue };
            let Some(entry) = self.table.get(res) else { continue };
            for b in entry.blockers(t, *mode) {
                if b == start {
                    return true;
                }
                if seen.insert(b) {
                    stack.push(b);
                }
            }
        }
        false
    }

    fn blockers_of_pid(&self, pid: i32) -> Vec<i32> {
        let mut out = Vec::new();
        for (txn, (res, mode)) in &self.waiting {
            if self.pids.get(txn) != Some(&pid) {
                continue;
            }
            if let Some(entry) = self.table.get(res) {
                for b in entry.blockers(*txn, *mode) {
                    if let Some(p) = self.pids.get(&b) {
                        if !out.contains(p) {
                            out.push(*p);
                        }
                    }
                }
            }
        }
        out
    }
}

/// A snapshot of one held or awaited lock, for `pg_locks`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockInfo {
    /// Session pid.
    pub pid: i32,
    /// Transaction id.
    pub txn: TxnId,
    /// What is locked.
    pub resource: Resource,
    /// Mode.
    pub mode: LockMode,
    /// Whether it is held (true) or awaited (false).
    pub granted: bool,
}

/// The lock table of one database.
#[derive(Default)]
pub struct LockManager {
    inner: Mutex<Inner>,
    released: Condvar,
}

const WAIT_SLICE: Duration = Duration::from_millis(20);

impl LockManager {
    /// An empty lock table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes `res` in `mode` for `txn` (of session `pid`), waiting as needed. Returns whether the
    /// lock is new for this transaction (false if it already held an equal or stronger mode).
    pub fn acquire(
        &self,
        txn: TxnId,
        pid: i32,
        res: &Resource,
        mode: LockMode,
        wait: &WaitOptions,
    ) -> Result<bool> {
        let mut inner = self.inner.lock();
        inner.pids.insert(txn, pid);
        let entry = inner.table.entry(res.clone()).or_default();
        let held = entry.held_by(txn);
        if held.is_some_and(|m| m >= mode) {
            return Ok(false);
        }
        if entry.queue.is_empty() && entry.grantable(txn, mode) {
            Self::grant(entry, txn, mode);
            return Ok(held.is_none());
        }
        if let Some(e) = wait.nowait_error.clone() {
            return Err(e);
        }
        entry.queue.push_back(Waiter { txn, mode });
        inner.waiting.insert(txn, (res.clone(), mode));
        let started = Instant::now();
        let mut deadlock_checked = false;
        loop {
            let entry = inner.table.get_mut(res).expect("our entry exists while we wait in its queue");
            if entry.grantable(txn, mode) {
                entry.queue.retain(|w| w.txn != txn);
                Self::grant(entry, txn, mode);
                inner.waiting.remove(&txn);
                // Others queued behind us may be grantable too (shared modes).
                self.released.notify_all();
                return Ok(held.is_none());
            }
            let failure = wait.check().err().or_else(|| {
                let timeout = wait.lock_timeout?;
                (started.elapsed() >= timeout).then(|| {
                    Error::new(ErrorKind::LockNotAvailable, "canceling statement due to lock timeout")
                })
            });
            let failure = failure.or_else(|| {
                if deadlock_checked || started.elapsed() < wait.deadlock_timeout {
                    return None;
                }
                deadlock_checked = true;
                inner.in_cycle(txn).then(|| Error::new(ErrorKind::Deadlock, "deadlock detected"))
            });
            if let Some(e) = failure {
                if let Some(entry) = inner.table.get_mut(res) {
                    entry.queue.retain(|w| w.txn != txn);
                    if entry.holders.is_empty() && entry.queue.is_empty() {
                        inner.table.remove(res);
                    }
                }
                inner.waiting.remove(&txn);
                self.released.notify_all();
                return Err(e);
            }
            self.released.wait_for(&mut inner, WAIT_SLICE);
        }
    }

    fn grant(entry: &mut Entry, txn: TxnId, mode: LockMode) {
        match entry.holders.iter_mut().find(|h| h.txn == txn) {
            Some(h) => h.mode = h.mode.max(mode),
            None => entry.holders.push(Holder { txn, mode }),
        }
    }

    /// Releases `txn`'s locks on `resources`.
    pub fn release(&self, txn: TxnId, resources: &[Resource]) {
        if resources.is_empty() {
            return;
        }
        let mut inner = self.inner.lock();
        for res in resources {
            if let Some(entry) = inner.table.get_mut(res) {
                entry.holders.retain(|h| h.txn != txn);
                if entry.holders.is_empty() && entry.queue.is_empty() {
                    inner.table.remove(res);
                }
            }
        }
        self.released.notify_all();
    }

    /// Forgets `txn` entirely (after releasing its locks at transaction end).
    pub fn forget(&self, txn: TxnId) {
        self.inner.lock().pids.remove(&txn);
    }

    /// Whether session `pid` waits for a lock held (or requested ahead of it) by one of `pids`.
    pub fn is_blocked_by(&self, pid: i32, pids: &[i32]) -> bool {
        self.inner.lock().blockers_of_pid(pid).iter().any(|p| pids.contains(p))
    }

    /// `pg_blocking_pids(pid)`.
    pub fn blocking_pids(&self, pid: i32) -> Vec<i32> {
        self.inner.lock().blockers_of_pid(pid)
    }

    /// Whether session `pid` is waiting for any lock.
    pub fn is_waiting(&self, pid: i32) -> bool {
        let inner = self.inner.lock();
        inner.waiting.keys().any(|t| inner.pids.get(t) == Some(&pid))
    }

    /// Every held and awaited lock.
    pub fn snapshot(&self) -> Vec<LockInfo> {
        let inner = self.inner.lock();
        let mut out = Vec::new();
        for (res, entry) in &inner.table {
            for h in &entry.holders {
                let pid = inner.pids.get(&h.txn).copied().unwrap_or(0);
                out.push(LockInfo { pid, txn: h.txn, resource: res.clone(), mode: h.mode, granted: true });
            }
            for w in &entry.queue {
                let pid = inner.pids.get(&w.txn).copied().unwrap_or(0);
                out.push(LockInfo { pid, txn: w.txn, resource: res.clone(), mode: w.mode, granted: false });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn key(k: &str) -> Resource {
        Resource::Key(k.as_bytes().to_vec())
    }

    fn opts(deadlock_ms: u64) -> WaitOptions {
        WaitOptions { deadlock_timeout: Duration::from_millis(deadlock_ms), ..Default::default() }
    }

    #[test]
    fn conflict_matrix_is_postgres() {
        use LockMode::*;
        let modes = [KeyShare, Share, NoKeyUpdate, Update];
        let expected = [
            [false, false, false, true],
            [false, false, true, true],
            [false, true, true, true],
            [true, true, true, true],
        ];
        for (i, a) in modes.iter().enumerate() {
            for (j, b) in modes.iter().enumerate() {
                assert_eq!(a.conflicts(*b), expected[i][j], "{a:?} vs {b:?}");
            }
        }
    }

    #[test]
    fn shared_modes_coexist_and_update_waits() {
        let lm = Arc::new(LockManager::new());
        let o = opts(1000);
        assert!(lm.acquire(1, 10, &key("a"), LockMode::Share, &o).unwrap());
        assert!(lm.acquire(2, 20, &key("a"), LockMode::KeyShare, &o).unwrap());
        let lm2 = lm.clone();
        let h = std::thread::spawn(move || lm2.acquire(3, 30, &key("a"), LockMode::Update, &opts(1000)));
        let start = Instant::now();
        while !lm.is_blocked_by(30, &[10]) {
            assert!(start.elapsed() < Duration::from_secs(5));
            std::thread::sleep(Duration::from_millis(5));
        }
        let mut b = lm.blocking_pids(30);
        b.sort();
        assert_eq!(b, vec![10, 20]);
        lm.release(1, &[key("a")]);
        lm.release(2, &[key("a")]);
        assert!(h.join().unwrap().unwrap());
    }

    #[test]
    fn fifo_queue_keeps_later_sharers_behind_an_updater() {
        let lm = Arc::new(LockManager::new());
        lm.acquire(1, 10, &key("a"), LockMode::Share, &opts(1000)).unwrap();
        let lm2 = lm.clone();
        let upd = std::thread::spawn(move || lm2.acquire(2, 20, &key("a"), LockMode::Update, &opts(1000)));
        while !lm.is_blocked_by(20, &[10]) {
            std::thread::sleep(Duration::from_millis(5));
        }
        // A new sharer queues behind the updater instead of overtaking it.
        let lm3 = lm.clone();
        let share = std::thread::spawn(move || lm3.acquire(3, 30, &key("a"), LockMode::Share, &opts(1000)));
        while !lm.is_blocked_by(30, &[20]) {
            std::thread::sleep(Duration::from_millis(5));
        }
        lm.release(1, &[key("a")]);
        upd.join().unwrap().unwrap();
        assert!(lm.is_blocked_by(30, &[20]));
        lm.release(2, &[key("a")]);
        share.join().unwrap().unwrap();
    }

    #[test]
    fn two_cycle_aborts_exactly_one() {
        let lm = Arc::new(LockManager::new());
        lm.acquire(1, 10, &key("a"), LockMode::Update, &opts(100)).unwrap();
        lm.acquire(2, 20, &key("b"), LockMode::Update, &opts(100)).unwrap();
        let lm1 = lm.clone();
        let t1 = std::thread::spawn(move || {
            let r = lm1.acquire(1, 10, &key("b"), LockMode::Update, &opts(100));
            if r.is_err() {
                lm1.release(1, &[key("a")]);
            }
            r
        });
        let lm2 = lm.clone();
        let t2 = std::thread::spawn(move || {
            let r = lm2.acquire(2, 20, &key("a"), LockMode::Update, &opts(100));
            if r.is_err() {
                lm2.release(2, &[key("b")]);
            }
            r
        });
        let (r1, r2) = (t1.join().unwrap(), t2.join().unwrap());
        let failures: Vec<_> = [&r1, &r2].iter().filter_map(|r| r.as_ref().err()).collect();
        assert_eq!(failures.len(), 1, "{r1:?} {r2:?}");
        assert_eq!(failures[0].sqlstate(), "40P01");
    }

    #[test]
    fn lock_timeout_and_nowait() {
        let lm = LockManager::new();
        lm.acquire(1, 10, &key("a"), LockMode::Update, &opts(1000)).unwrap();
        let o = WaitOptions { lock_timeout: Some(Duration::from_millis(30)), ..opts(1000) };
        assert_eq!(lm.acquire(2, 20, &key("a"), LockMode::Share, &o).unwrap_err().sqlstate(), "55P03");
        let o = WaitOptions {
            nowait_error: Some(Error::new(ErrorKind::LockNotAvailable, "could not obtain lock")),
            ..opts(1000)
        };
        assert_eq!(lm.acquire(2, 20, &key("a"), LockMode::Share, &o).unwrap_err().sqlstate(), "55P03");
        assert!(!lm.is_waiting(20));
    }
}
