//! Serializable snapshot isolation: SIREAD locks on key ranges, rw-antidependency tracking and
//! dangerous-structure detection (Cahill, Röhm, Fekete 2008; Ports and Grittner 2012).
//!
//! SERIALIZABLE is snapshot isolation plus this module. Only SERIALIZABLE transactions take part:
//! they are registered when they take their snapshot ("concurrent" is measured from it).
//!
//! ## Edges
//! `R -rw-> W` means R read something W (concurrently) overwrote, so R must precede W in any
//! equivalent serial order. Three places find them:
//! 1. **write after read**: when W writes key k, every other registered transaction holding a
//!    SIREAD lock whose range covers k, and not committed before W's snapshot, gets an edge to W;
//! 2. **pre-commit re-check**: at commit W repeats (1) over its whole write set, catching readers
//!    that read k *after* W wrote it (writes are private until commit, so those readers could not
//!    see W's uncommitted version);
//! 3. **read after write**: a read that skips a version committed after the reader's snapshot by a
//!    registered transaction W adds `R -rw-> W`.
//!
//! SIREAD locks are logical key ranges, as precise as the scan that took them: a point read locks
//! one key, an index range scan the range it covered (an empty range too: that is what catches
//! phantoms), a full table scan the table's whole key range. They never block.
//!
//! ## Dangerous structures
//! `T_in -rw-> P -rw-> T_out` with `T_out` committed first (before P, and not after `T_in`; `T_in`
//! may be `T_out` itself: write skew). If `T_in` is read-only (declared, or committed without
//! writing) the structure only matters when `T_out` committed before `T_in`'s snapshot. Checked
//! when an edge is added and at commit; nobody is cancelled before a transaction of the structure
//! has committed; the pivot is preferred as victim (an immediate retry then succeeds); a committed
//! transaction is never a victim. A victim other than the caller is *doomed* and fails with 40001 at
//! its next read, write or commit.
//!
//! Committed transactions are kept, with their SIREAD locks, until no registered transaction's
//! snapshot precedes their commit: after that nobody concurrent with them is left.
//!
//! Left out (see the issue notes): the memory budget with lock summarization, the safe-snapshot
//! optimization for READ ONLY transactions beyond DEFERRABLE, moving locks on DDL.

use crate::error::{Error, ErrorKind, Result};
use crate::txn::locks::TxnId;
use crate::txn::mvcc::Timestamp;
use parking_lot::{Condvar, Mutex, MutexGuard};
use std::collections::{BTreeSet, HashMap};
use std::ops::Bound;
use std::time::Duration;

/// A SIREAD lock: a range of logical keys.
pub type KeyRange = (Bound<Vec<u8>>, Bound<Vec<u8>>);

fn covers(range: &KeyRange, key: &[u8]) -> bool {
    let lo = match &range.0 {
        Bound::Included(l) => key >= l.as_slice(),
        Bound::Excluded(l) => key > l.as_slice(),
        Bound::Unbounded => true,
    };
    let hi = match &range.1 {
        Bound::Included(h) => key <= h.as_slice(),
        Bound::Excluded(h) => key < h.as_slice(),
        Bound::Unbounded => true,
    };
    lo && hi
}

#[derive(Debug)]
struct SerTxn {
    pid: i32,
    read_ts: Timestamp,
    commit_ts: Option<Timestamp>,
    declared_read_only: bool,
    wrote: bool,
    doomed: bool,
    reads: Vec<KeyRange>,
    ins: BTreeSet<TxnId>,
    outs: BTreeSet<TxnId>,
}

impl SerTxn {
    fn read_only(&self) -> bool {
        self.declared_read_only || (self.commit_ts.is_some() && !self.wrote)
    }
}

#[derive(Default)]
struct Inner {
    txns: HashMap<TxnId, SerTxn>,
    by_commit_ts: HashMap<Timestamp, TxnId>,
    /// Sessions waiting for a safe snapshot, and the transactions they wait for.
    deferrable_waits: HashMap<i32, Vec<TxnId>>,
}

/// Serialization failure texts.
pub fn serialization_failure(detail: String) -> Error {
    Error::new(
        ErrorKind::Serialization,
        "could not serialize access due to read/write dependencies among transactions",
    )
    .with_detail(detail)
    .with_hint("The transaction might succeed if retried.")
}

impl Inner {
    fn committed(&self, t: TxnId) -> Option<Timestamp> {
        self.txns.get(&t).and_then(|x| x.commit_ts)
    }

    /// `a` committed strictly before `b` commits (b uncommitted counts as later).
    fn commits_before(&self, a: TxnId, b: TxnId) -> bool {
        match (self.committed(a), self.committed(b)) {
            (Some(x), Some(y)) => x < y,
            (Some(_), None) => true,
            _ => false,
        }
    }

    /// `t_out` committed and not after `t_in` (equal when they are the same transaction).
    fn committed_not_after(&self, t_out: TxnId, t_in: TxnId) -> bool {
        match (self.committed(t_out), self.committed(t_in)) {
            (Some(x), Some(y)) => x <= y,
            (Some(_), None) => true,
            _ => false,
        }
    }

    /// The read-only rule: a read-only `t_in` only matters if `t_out` committed before its snapshot.
    fn read_only_ok(&self, t_in: TxnId, t_out: TxnId) -> bool {
        let (Some(i), Some(o)) = (self.txns.get(&t_in), self.committed(t_out)) else { return false };
        !i.read_only() || o <= i.read_ts
    }

    /// Whether `t_in -> p -> t_out` is a dangerous structure now.
    fn dangerous(&self, t_in: TxnId, p: TxnId, t_out: TxnId) -> bool {
        self.commits_before(t_out, p)
            && self.committed_not_after(t_out, t_in)
            && self.read_only_ok(t_in, t_out)
    }

    fn describe(&self, t_in: TxnId, p: TxnId, t_out: TxnId, what: &str) -> String {
        let pid = |t: TxnId| self.txns.get(&t).map(|x| x.pid).unwrap_or(0);
        format!(
            "Reason code: {what}. Dependency cycle: transaction {t_in} (pid {}) -rw-> transaction {p} (pid {}) \
             -rw-> transaction {t_out} (pid {}), which committed first.",
            pid(t_in),
            pid(p),
            pid(t_out)
        )
    }

    /// Fails `me` or dooms the other victim for a dangerous structure found while adding an edge.
    fn resolve(&mut self, me: TxnId, t_in: TxnId, p: TxnId, t_out: TxnId, what: &str) -> Result<()> {
        let victim = if self.committed(p).is_none() { p } else { t_in };
        if self.committed(victim).is_some() {
            return Ok(()); // never a committed transaction
        }
        let detail = self.describe(t_in, p, t_out, what);
        if victim == me {
            return Err(serialization_failure(detail));
        }
        if let Some(v) = self.txns.get_mut(&victim) {
            v.doomed = true;
        }
        Ok(())
    }

    /// Adds `r -rw-> w` and checks the structures it completes. `me` is the caller.
    fn add_edge(&mut self, me: TxnId, r: TxnId, w: TxnId) -> Result<()> {
        if r == w || !self.txns.contains_key(&r) || !self.txns.contains_key(&w) {
            return Ok(());
        }
        if let Some(x) = self.txns.get_mut(&r) {
            x.outs.insert(w);
        }
        if let Some(x) = self.txns.get_mut(&w) {
            x.ins.insert(r);
        }
        // Writer as pivot: r -> w -> t_out.
        let outs: Vec<TxnId> =
            self.txns.get(&w).map(|x| x.outs.iter().copied().collect()).unwrap_or_default();
        for t_out in outs {
            if self.dangerous(r, w, t_out) {
                return self.resolve(
                    me,
                    r,
                    w,
                    t_out,
                    "conflict out of a pivot whose out-conflict committed first",
                );
            }
        }
        // Reader as pivot: t_in -> r -> w.
        let ins: Vec<TxnId> = self.txns.get(&r).map(|x| x.ins.iter().copied().collect()).unwrap_or_default();
        for t_in in ins {
            if self.dangerous(t_in, r, w) {
                return self.resolve(
                    me,
                    t_in,
                    r,
                    w,
                    "conflict in to a pivot whose out-conflict committed first",
                );
            }
        }
        Ok(())
    }

    /// Readers (other than `w`, concurrent with it) whose SIREAD locks cover `key`.
    fn readers_of(&self, w: TxnId, key: &[u8]) -> Vec<TxnId> {
        let Some(wt) = self.txns.get(&w) else { return vec![] };
        self.txns
            .iter()
            .filter(|(id, t)| {
                **id != w
                    && t.commit_ts.is_none_or(|c| c > wt.read_ts)
                    && t.reads.iter().any(|r| covers(r, key))
            })
            .map(|(id, _)| *id)
            .collect()
    }

    fn check_doomed(&self, me: TxnId) -> Result<()> {
        match self.txns.get(&me) {
            Some(t) if t.doomed => Err(serialization_failure(
                "Reason code: canceled as the pivot of a dangerous structure; another transaction committed first."
                    .into(),
            )),
            _ => Ok(()),
        }
    }

    /// Drops committed transactions no registered snapshot is concurrent with, except those that
    /// are still the `T_out` of a retained pivot: a read-only `T_in` that starts *after* `T_out`
    /// committed (not concurrent with it) still completes a dangerous structure through the pivot
    /// (PostgreSQL's receipt report). Repeats until nothing more can go.
    fn cleanup(&mut self) {
        let oldest_active = self.txns.values().filter(|t| t.commit_ts.is_none()).map(|t| t.read_ts).min();
        loop {
            let removable: Vec<TxnId> = self
                .txns
                .iter()
                .filter(|(_, t)| match (t.commit_ts, oldest_active) {
                    (Some(c), Some(oldest)) => c <= oldest,
                    (Some(_), None) => true,
                    _ => false,
                })
                .filter(|(_, t)| t.ins.iter().all(|p| !self.txns.contains_key(p)))
                .map(|(id, _)| *id)
                .collect();
            if removable.is_empty() {
                return;
            }
            for id in removable {
                self.remove(id);
            }
        }
    }

    fn remove(&mut self, id: TxnId) {
        if let Some(t) = self.txns.remove(&id) {
            if let Some(c) = t.commit_ts {
                self.by_commit_ts.remove(&c);
            }
            for o in t.outs {
                if let Some(x) = self.txns.get_mut(&o) {
                    x.ins.remove(&id);
                }
            }
            for i in t.ins {
                if let Some(x) = self.txns.get_mut(&i) {
                    x.outs.remove(&id);
                }
            }
        }
    }
}

/// The SSI state of one database.
#[derive(Default)]
pub struct Ssi {
    inner: Mutex<Inner>,
    changed: Condvar,
}

/// A pre-commit check in progress: holds the SSI latch until [`PreCommit::committed`] so that no
/// other transaction's commit interleaves between the check and the commit timestamp.
pub struct PreCommit<'a> {
    guard: MutexGuard<'a, Inner>,
    me: TxnId,
}

impl PreCommit<'_> {
    /// Records the commit timestamp and dooms pivots this commit completes as `T_out`.
    pub fn committed(mut self, ts: Timestamp) {
        let me = self.me;
        let inner = &mut *self.guard;
        if let Some(t) = inner.txns.get_mut(&me) {
            t.commit_ts = Some(ts);
        }
        inner.by_commit_ts.insert(ts, me);
        // I am T_out for every active pivot p with p -rw-> me that has an in-conflict t_in.
        let pivots: Vec<TxnId> =
            inner.txns.get(&me).map(|t| t.ins.iter().copied().collect()).unwrap_or_default();
        for p in pivots {
            if inner.committed(p).is_some() {
                continue;
            }
            let ins: Vec<TxnId> =
                inner.txns.get(&p).map(|t| t.ins.iter().copied().collect()).unwrap_or_default();
            if ins.iter().any(|&t_in| inner.dangerous(t_in, p, me)) {
                if let Some(x) = inner.txns.get_mut(&p) {
                    x.doomed = true;
                }
            }
        }
        inner.cleanup();
        self.guard.deferrable_waits.retain(|_, _| true);
        drop(self.guard);
    }
}

impl Ssi {
    /// Empty state.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a SERIALIZABLE transaction at its snapshot.
    pub fn register(&self, id: TxnId, pid: i32, read_ts: Timestamp, read_only: bool) {
        self.register_with(id, pid, read_only, || read_ts);
    }

    /// Takes a snapshot with `take` and registers the transaction at it, atomically with respect
    /// to commits (which hold the SSI latch from their pre-commit check to their timestamp).
    pub fn register_with(
        &self,
        id: TxnId,
        pid: i32,
        read_only: bool,
        take: impl FnOnce() -> Timestamp,
    ) -> Timestamp {
        let mut inner = self.inner.lock();
        let read_ts = take();
        inner.txns.insert(
            id,
            SerTxn {
                pid,
                read_ts,
                commit_ts: None,
                declared_read_only: read_only,
                wrote: false,
                doomed: false,
                reads: Vec::new(),
                ins: BTreeSet::new(),
                outs: BTreeSet::new(),
            },
        );
        read_ts
    }

    /// Whether `id` is registered (SERIALIZABLE with a snapshot).
    pub fn is_registered(&self, id: TxnId) -> bool {
        self.inner.lock().txns.contains_key(&id)
    }

    /// Records a SIREAD lock. Taken before the data is read, so that a writer committing
    /// meanwhile either sees the lock or has published the versions the read then meets (and
    /// reports with [`Ssi::on_newer_version`]).
    pub fn on_read(&self, me: TxnId, range: KeyRange) -> Result<()> {
        let mut inner = self.inner.lock();
        inner.check_doomed(me)?;
        if let Some(t) = inner.txns.get_mut(&me) {
            t.reads.push(range);
        }
        Ok(())
    }

    /// Records the rw-edge from `me` to the writer of a version committed (at `ts`) after `me`'s
    /// snapshot, met by a read.
    pub fn on_newer_version(&self, me: TxnId, ts: Timestamp) -> Result<()> {
        let mut inner = self.inner.lock();
        inner.check_doomed(me)?;
        if let Some(&w) = inner.by_commit_ts.get(&ts) {
            inner.add_edge(me, me, w)?;
        }
        Ok(())
    }

    /// Checks SIREAD locks covering a key `me` writes.
    pub fn on_write(&self, me: TxnId, key: &[u8]) -> Result<()> {
        let mut inner = self.inner.lock();
        inner.check_doomed(me)?;
        if let Some(t) = inner.txns.get_mut(&me) {
            t.wrote = true;
        } else {
            return Ok(());
        }
        for r in inner.readers_of(me, key) {
            inner.add_edge(me, r, me)?;
        }
        Ok(())
    }

    /// Fails if `me` was doomed by another transaction's commit.
    pub fn check(&self, me: TxnId) -> Result<()> {
        self.inner.lock().check_doomed(me)
    }

    /// Pre-commit: re-checks the write set against SIREAD locks, then the structures in which `me`
    /// is the pivot or `T_in`. On success the returned guard must be completed with the commit
    /// timestamp.
    pub fn pre_commit<'a>(
        &'a self,
        me: TxnId,
        write_keys: &mut dyn Iterator<Item = &[u8]>,
    ) -> Result<Option<PreCommit<'a>>> {
        let mut inner = self.inner.lock();
        if !inner.txns.contains_key(&me) {
            return Ok(None);
        }
        inner.check_doomed(me)?;
        for key in write_keys {
            for r in inner.readers_of(me, key) {
                inner.add_edge(me, r, me)?;
            }
        }
        let (ins, outs): (Vec<TxnId>, Vec<TxnId>) = match inner.txns.get(&me) {
            Some(t) => (t.ins.iter().copied().collect(), t.outs.iter().copied().collect()),
            None => (vec![], vec![]),
        };
        // Me as pivot.
        for &t_in in &ins {
            for &t_out in &outs {
                if inner.dangerous(t_in, me, t_out) {
                    return Err(serialization_failure(inner.describe(t_in, me, t_out, "pivot at commit")));
                }
            }
        }
        // Me as T_in: me -> p -> t_out with t_out committed first.
        for &p in &outs {
            let p_outs: Vec<TxnId> =
                inner.txns.get(&p).map(|t| t.outs.iter().copied().collect()).unwrap_or_default();
            for t_out in p_outs {
                if inner.dangerous(me, p, t_out) {
                    if inner.committed(p).is_none() {
                        if let Some(x) = inner.txns.get_mut(&p) {
                            x.doomed = true;
                        }
                    } else {
                        return Err(serialization_failure(inner.describe(me, p, t_out, "T_in at commit")));
                    }
                }
            }
        }
        Ok(Some(PreCommit { guard: inner, me }))
    }

    /// Forgets an aborted transaction (its edges do not count).
    pub fn abort(&self, me: TxnId) {
        let mut inner = self.inner.lock();
        inner.remove(me);
        inner.cleanup();
        drop(inner);
        self.changed.notify_all();
    }

    /// Called after a commit completed (wakes DEFERRABLE waiters).
    pub fn notify(&self) {
        self.changed.notify_all();
    }

    /// SERIALIZABLE READ ONLY DEFERRABLE: waits until no read-write SERIALIZABLE transaction is
    /// active, so the snapshot taken next can never be part of an anomaly. `check` is called
    /// between waits (cancellation).
    pub fn wait_for_safe_snapshot(&self, pid: i32, check: &dyn Fn() -> Result<()>) -> Result<()> {
        let mut inner = self.inner.lock();
        loop {
            let blockers: Vec<TxnId> = inner
                .txns
                .iter()
                .filter(|(_, t)| t.commit_ts.is_none() && !t.declared_read_only)
                .map(|(id, _)| *id)
                .collect();
            if blockers.is_empty() {
                inner.deferrable_waits.remove(&pid);
                return Ok(());
            }
            inner.deferrable_waits.insert(pid, blockers);
            if let Err(e) = check() {
                inner.deferrable_waits.remove(&pid);
                return Err(e);
            }
            self.changed.wait_for(&mut inner, Duration::from_millis(20));
        }
    }

    /// Whether session `pid` waits for a safe snapshot that one of `pids` holds up.
    pub fn is_blocked_by(&self, pid: i32, pids: &[i32]) -> bool {
        let inner = self.inner.lock();
        inner
            .deferrable_waits
            .get(&pid)
            .is_some_and(|ts| ts.iter().any(|t| inner.txns.get(t).is_some_and(|x| pids.contains(&x.pid))))
    }

    /// Number of transactions tracked and SIREAD locks held (observability).
    pub fn stats(&self) -> (usize, usize) {
        let inner = self.inner.lock();
        (inner.txns.len(), inner.txns.values().map(|t| t.reads.len()).sum())
    }

    /// SIREAD locks held: (pid, range), for `pg_locks`.
    pub fn siread_locks(&self) -> Vec<(i32, KeyRange)> {
        let inner = self.inner.lock();
        inner.txns.values().flat_map(|t| t.reads.iter().map(move |r| (t.pid, r.clone()))).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(k: &str) -> KeyRange {
        (Bound::Included(k.as_bytes().to_vec()), Bound::Included(k.as_bytes().to_vec()))
    }

    #[test]
    fn write_skew_fails_the_second_committer() {
        let ssi = Ssi::new();
        ssi.register(1, 10, 5, false);
        ssi.register(2, 20, 5, false);
        ssi.on_read(1, point("x")).unwrap();
        ssi.on_read(2, point("y")).unwrap();
        ssi.on_write(1, b"y").unwrap(); // 2 -rw-> 1
        ssi.on_write(2, b"x").unwrap(); // 1 -rw-> 2
        let pc = ssi.pre_commit(1, &mut [b"y".as_slice()].into_iter()).unwrap().unwrap();
        pc.committed(6);
        let e = ssi.pre_commit(2, &mut [b"x".as_slice()].into_iter()).err().unwrap();
        assert_eq!(e.sqlstate(), "40001");
        assert_eq!(e.hint.as_deref(), Some("The transaction might succeed if retried."));
    }

    #[test]
    fn serial_execution_has_no_conflict() {
        let ssi = Ssi::new();
        ssi.register(1, 10, 5, false);
        ssi.on_read(1, point("x")).unwrap();
        ssi.on_write(1, b"y").unwrap();
        ssi.pre_commit(1, &mut [b"y".as_slice()].into_iter()).unwrap().unwrap().committed(6);
        ssi.register(2, 20, 6, false);
        ssi.on_read(2, point("y")).unwrap();
        ssi.on_write(2, b"x").unwrap();
        assert!(ssi.pre_commit(2, &mut [b"x".as_slice()].into_iter()).unwrap().is_some());
    }

    #[test]
    fn range_locks_catch_phantoms_and_committed_state_is_cleaned_up() {
        let ssi = Ssi::new();
        ssi.register(1, 10, 5, false);
        ssi.register(2, 20, 5, false);
        let range = (Bound::Included(b"k1".to_vec()), Bound::Excluded(b"k9".to_vec()));
        ssi.on_read(1, range.clone()).unwrap();
        ssi.on_read(2, range).unwrap();
        ssi.on_write(1, b"k5").unwrap(); // insert into the range both read: 2 -rw-> 1
        ssi.on_write(2, b"k6").unwrap(); // 1 -rw-> 2
        ssi.pre_commit(1, &mut [b"k5".as_slice()].into_iter()).unwrap().unwrap().committed(6);
        assert!(ssi.pre_commit(2, &mut [b"k6".as_slice()].into_iter()).is_err());
        ssi.abort(2);
        assert_eq!(ssi.stats().0, 0, "nothing concurrent is left, so nothing is kept");
    }

    #[test]
    fn receipt_report_keeps_t_out_while_its_pivot_lives() {
        // T1 reads ctl and inserts a receipt; T2 updates ctl and commits first; read-only T3
        // starts after T2 committed, reads ctl, T1 commits, T3 reads receipts (misses T1's).
        let ssi = Ssi::new();
        ssi.register(1, 10, 5, false);
        ssi.register(2, 20, 5, false);
        ssi.on_read(1, point("ctl")).unwrap();
        ssi.on_write(1, b"r3").unwrap();
        ssi.on_write(2, b"ctl").unwrap(); // 1 -rw-> 2
        ssi.pre_commit(2, &mut [b"ctl".as_slice()].into_iter()).unwrap().unwrap().committed(6);
        ssi.register(3, 30, 6, true);
        ssi.on_read(3, point("ctl")).unwrap();
        ssi.pre_commit(1, &mut [b"r3".as_slice()].into_iter()).unwrap().unwrap().committed(7);
        // T3 meets T1's version committed at 7 > its snapshot 6: 3 -rw-> 1 -rw-> 2, T2 first.
        ssi.on_read(3, point("r3")).unwrap();
        let e = ssi.on_newer_version(3, 7).unwrap_err();
        assert_eq!(e.sqlstate(), "40001");
    }

    #[test]
    fn read_only_rule() {
        // Fekete's read-only anomaly shape: T_in read-only; only matters if T_out committed
        // before T_in's snapshot.
        let ssi = Ssi::new();
        ssi.register(1, 10, 5, false); // pivot
        ssi.register(2, 20, 5, false); // T_out
        ssi.on_read(1, point("a")).unwrap();
        ssi.on_write(2, b"a").unwrap(); // 1 -rw-> 2
        ssi.pre_commit(2, &mut [b"a".as_slice()].into_iter()).unwrap().unwrap().committed(6);
        // A read-only transaction that started before T_out committed: no danger.
        ssi.register(3, 30, 5, true);
        ssi.on_read(3, point("b")).unwrap();
        ssi.on_write(1, b"b").unwrap(); // 3 -rw-> 1: structure 3 -> 1 -> 2 with read-only 3, snapshot 5 < 6
        assert!(ssi.check(1).is_ok());
        // One that started after T_out committed: dangerous; the pivot (1) is the victim.
        ssi.register(4, 40, 6, true);
        ssi.on_read(4, point("b")).unwrap();
        let e = ssi.on_write(1, b"b");
        let doomed = e.is_err() || ssi.check(1).is_err();
        assert!(doomed);
    }
}
