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
    /// Why it was doomed (the DETAIL of its 40001).
    doomed_detail: String,
    reads: Vec<KeyRange>,
    ins: BTreeSet<TxnId>,
    outs: BTreeSet<TxnId>,
    /// For out-conflicts, the first key that made them (for the 40001 DETAIL).
    out_keys: HashMap<TxnId, Vec<u8>>,
    /// The earliest commit among out-conflicts that were summarized away (evicted under the
    /// memory budget): they still count as `T_out` candidates through this timestamp.
    summary_out: Option<Timestamp>,
    /// A declared READ ONLY transaction waiting to learn whether its snapshot is safe: the
    /// read-write transactions concurrent with its snapshot that have not finished yet. `None`
    /// for read-write transactions and for read-only ones found unsafe.
    watching: Option<BTreeSet<TxnId>>,
}

impl SerTxn {
    fn read_only(&self) -> bool {
        self.declared_read_only || (self.commit_ts.is_some() && !self.wrote)
    }

    /// Budget units this transaction holds: itself plus its SIREAD locks; a doomed transaction
    /// holds none (its locks are dropped: it can never commit).
    fn cost(&self) -> usize {
        if self.doomed {
            0
        } else {
            1 + self.reads.len()
        }
    }
}

/// Counters of the SSI state, for `ssidb_stats`.
#[derive(Clone, Debug, Default)]
pub struct SsiCounters {
    /// Budget units (transactions + SIREAD locks) allowed.
    pub budget: usize,
    /// Units in use now.
    pub used: usize,
    /// The most units ever in use.
    pub used_max: usize,
    /// Serialization failures (40001) raised, by reason.
    pub failures: Vec<(&'static str, u64)>,
    /// Transactions doomed as victims of a dangerous structure found by another transaction.
    pub doomed: u64,
    /// Times a transaction's SIREAD locks were merged into coarser ranges under the budget.
    pub coarsened: u64,
    /// Committed transactions summarized away under the budget.
    pub summarized: u64,
    /// Active transactions doomed to make room under the budget.
    pub budget_victims: u64,
    /// READ ONLY transactions whose snapshot turned out safe (their SIREAD locks released).
    pub safe_snapshots: u64,
}

/// The default budget: transactions plus SIREAD locks tracked at once per database.
pub const DEFAULT_BUDGET: usize = 200_000;
/// The smallest budget accepted: room for a few sessions with one coarse lock each.
pub const MIN_BUDGET: usize = 8;

/// Why a serialization failure was raised (the counters' keys and the detail's reason code).
const R_OUT_PIVOT: &str = "conflict out of a pivot whose out-conflict committed first";
const R_IN_PIVOT: &str = "conflict in to a pivot whose out-conflict committed first";
const R_PIVOT_AT_COMMIT: &str = "pivot at commit";
const R_TIN_AT_COMMIT: &str = "T_in at commit";
const R_DOOMED: &str = "canceled as the pivot of a dangerous structure";
const R_BUDGET: &str = "canceled to stay within the SSI memory budget";

struct Inner {
    txns: HashMap<TxnId, SerTxn>,
    by_commit_ts: HashMap<Timestamp, TxnId>,
    /// Sessions waiting for a safe snapshot, and the transactions they wait for.
    deferrable_waits: HashMap<i32, Vec<TxnId>>,
    budget: usize,
    used: usize,
    counters: SsiCounters,
    failures: HashMap<&'static str, u64>,
    /// Names a logical key for error details (set by the SQL layer: table and row or index).
    describer: Option<KeyDescriber>,
}

/// Turns a logical key into words for a 40001 DETAIL.
pub type KeyDescriber = std::sync::Arc<dyn Fn(&[u8]) -> String + Send + Sync>;

impl Default for Inner {
    fn default() -> Self {
        Inner {
            txns: HashMap::new(),
            by_commit_ts: HashMap::new(),
            deferrable_waits: HashMap::new(),
            budget: DEFAULT_BUDGET,
            used: 0,
            counters: SsiCounters::default(),
            failures: HashMap::new(),
            describer: None,
        }
    }
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

/// Orders lower bounds: `Unbounded` first, then by key, `Included(k)` before `Excluded(k)`.
fn lower_le(a: &Bound<Vec<u8>>, b: &Bound<Vec<u8>>) -> bool {
    match (a, b) {
        (Bound::Unbounded, _) => true,
        (_, Bound::Unbounded) => false,
        (Bound::Included(x), Bound::Included(y))
        | (Bound::Excluded(x), Bound::Excluded(y))
        | (Bound::Included(x), Bound::Excluded(y)) => x <= y,
        (Bound::Excluded(x), Bound::Included(y)) => x < y,
    }
}

/// Orders upper bounds: `Unbounded` last, then by key, `Excluded(k)` before `Included(k)`.
fn upper_ge(a: &Bound<Vec<u8>>, b: &Bound<Vec<u8>>) -> bool {
    match (a, b) {
        (Bound::Unbounded, _) => true,
        (_, Bound::Unbounded) => false,
        (Bound::Included(x), Bound::Included(y))
        | (Bound::Excluded(x), Bound::Excluded(y))
        | (Bound::Included(x), Bound::Excluded(y)) => x >= y,
        (Bound::Excluded(x), Bound::Included(y)) => x > y,
    }
}

/// Whether two key ranges share a key (or may: bounds are compared as keys).
fn overlaps(a: &KeyRange, b: &KeyRange) -> bool {
    // `x` ends before `y` starts.
    let below = |x: &KeyRange, y: &KeyRange| match (&x.1, &y.0) {
        (Bound::Unbounded, _) | (_, Bound::Unbounded) => false,
        (Bound::Included(h), Bound::Included(l)) => h < l,
        (Bound::Included(h), Bound::Excluded(l))
        | (Bound::Excluded(h), Bound::Included(l))
        | (Bound::Excluded(h), Bound::Excluded(l)) => h <= l,
    };
    !below(a, b) && !below(b, a)
}

/// Halves the number of ranges by merging neighbours (in key order) into their hull. The result
/// covers every key the input did, so conflicts are only ever added, never lost.
fn coarsen(ranges: &mut Vec<KeyRange>) {
    let mut sorted = std::mem::take(ranges);
    sorted.sort_by(|a, b| {
        if lower_le(&a.0, &b.0) {
            if lower_le(&b.0, &a.0) {
                std::cmp::Ordering::Equal
            } else {
                std::cmp::Ordering::Less
            }
        } else {
            std::cmp::Ordering::Greater
        }
    });
    let mut it = sorted.into_iter();
    while let Some(a) = it.next() {
        match it.next() {
            Some(b) => {
                let lo = if lower_le(&a.0, &b.0) { a.0 } else { b.0 };
                let hi = if upper_ge(&a.1, &b.1) { a.1 } else { b.1 };
                ranges.push((lo, hi));
            }
            None => ranges.push(a),
        }
    }
}

impl Inner {
    fn committed(&self, t: TxnId) -> Option<Timestamp> {
        self.txns.get(&t).and_then(|x| x.commit_ts)
    }

    /// The earliest commit among `p`'s out-conflicts (summarized ones included): the best
    /// `T_out` candidate, as every condition of a dangerous structure favours an earlier one.
    fn earliest_out(&self, p: TxnId) -> Option<Timestamp> {
        let t = self.txns.get(&p)?;
        t.outs.iter().filter_map(|o| self.committed(*o)).chain(t.summary_out).min()
    }

    /// Whether `t_in -rw-> p -rw-> T_out`, with `T_out` committed at `out_ts`, is dangerous:
    /// `T_out` committed before `p` and not after `t_in` (uncommitted counts as later), and a
    /// read-only `t_in` only matters if `T_out` committed before its snapshot.
    fn dangerous(&self, t_in: TxnId, p: TxnId, out_ts: Timestamp) -> bool {
        let Some(i) = self.txns.get(&t_in) else { return false };
        if i.doomed {
            return false; // never commits, so it closes no cycle
        }
        let before_p = self.committed(p).is_none_or(|pc| out_ts < pc);
        let not_after_in = i.commit_ts.is_none_or(|ic| out_ts <= ic);
        let read_only_ok = !i.read_only() || out_ts <= i.read_ts;
        before_p && not_after_in && read_only_ok
    }

    fn fail(&mut self, reason: &'static str, detail: String) -> Error {
        *self.failures.entry(reason).or_default() += 1;
        serialization_failure(detail)
    }

    fn describe(&self, t_in: TxnId, p: TxnId, out_ts: Timestamp, what: &str) -> String {
        let pid = |t: TxnId| self.txns.get(&t).map(|x| x.pid).unwrap_or(0);
        let on = |r: TxnId, w: TxnId| -> String {
            let key = self.txns.get(&r).and_then(|x| x.out_keys.get(&w));
            match (key, &self.describer) {
                (Some(k), Some(d)) => format!(" (on {})", d(k)),
                _ => String::new(),
            }
        };
        let out = match self.by_commit_ts.get(&out_ts) {
            Some(&t_out) => format!("transaction {t_out} (pid {}){}", pid(t_out), on(p, t_out)),
            None => "a summarized transaction".to_string(),
        };
        format!(
            "Reason code: {what}. Dependency cycle: transaction {t_in} (pid {}) -rw-> transaction {p} (pid {}){} \
             -rw-> {out}, which committed first.",
            pid(t_in),
            pid(p),
            on(t_in, p),
        )
    }

    /// Marks `victim` doomed: it fails with 40001 at its next read, write or commit, and its
    /// SIREAD locks go at once (it can never commit, so its reads no longer matter).
    fn doom(&mut self, victim: TxnId, detail: String) {
        if let Some(v) = self.txns.get_mut(&victim) {
            if !v.doomed && v.commit_ts.is_none() {
                self.used -= v.cost();
                v.doomed = true;
                v.doomed_detail = detail;
                v.reads = Vec::new();
            }
        }
    }

    /// Dooms pivot `p` of the structure `t_in -> p -> T_out (committed at out_ts)`.
    fn doom_pivot(&mut self, t_in: TxnId, p: TxnId, out_ts: Timestamp, what: &str) {
        let detail = self.describe(t_in, p, out_ts, &format!("{R_DOOMED} ({what})"));
        self.doom(p, detail);
        self.counters.doomed += 1;
    }

    /// Fails `me` or dooms the other victim for a dangerous structure found while adding an edge.
    fn resolve(
        &mut self,
        me: TxnId,
        t_in: TxnId,
        p: TxnId,
        out_ts: Timestamp,
        what: &'static str,
    ) -> Result<()> {
        let victim = if self.committed(p).is_none() { p } else { t_in };
        if self.committed(victim).is_some() {
            return Ok(()); // never a committed transaction
        }
        if victim == me {
            let detail = self.describe(t_in, p, out_ts, what);
            return Err(self.fail(what, detail));
        }
        self.doom_pivot(t_in, victim, out_ts, what);
        Ok(())
    }

    /// Adds `r -rw-> w` (made by `key`) and checks the structures it completes. `me` is the
    /// caller.
    fn add_edge(&mut self, me: TxnId, r: TxnId, w: TxnId, key: &[u8]) -> Result<()> {
        if r == w || !self.txns.contains_key(&r) || !self.txns.contains_key(&w) {
            return Ok(());
        }
        if let Some(x) = self.txns.get_mut(&r) {
            x.outs.insert(w);
            x.out_keys.entry(w).or_insert_with(|| key.to_vec());
        }
        if let Some(x) = self.txns.get_mut(&w) {
            x.ins.insert(r);
        }
        // Writer as pivot: r -> w -> T_out.
        if let Some(out) = self.earliest_out(w) {
            if self.dangerous(r, w, out) {
                return self.resolve(me, r, w, out, R_OUT_PIVOT);
            }
        }
        // Reader as pivot: t_in -> r -> T_out (w among the candidates).
        if let Some(out) = self.earliest_out(r) {
            let ins: Vec<TxnId> =
                self.txns.get(&r).map(|x| x.ins.iter().copied().collect()).unwrap_or_default();
            for t_in in ins {
                if self.dangerous(t_in, r, out) {
                    return self.resolve(me, t_in, r, out, R_IN_PIVOT);
                }
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

    fn check_doomed(&mut self, me: TxnId) -> Result<()> {
        match self.txns.get(&me) {
            Some(t) if t.doomed => {
                let detail = t.doomed_detail.clone();
                Err(self.fail(R_DOOMED, detail))
            }
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
            self.used -= t.cost();
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
                    x.out_keys.remove(&id);
                }
            }
        }
    }

    /// Read-write transaction `rw` finished (committed, or aborted when `committed` is false):
    /// every READ ONLY transaction watching it learns whether its snapshot is still possibly
    /// unsafe. A commit with an out-conflict to a transaction that committed before the watcher's
    /// snapshot makes that snapshot unsafe (the watcher stays tracked); once every watched
    /// transaction has finished otherwise, the snapshot is safe: no dangerous structure can ever
    /// include the watcher, so it is forgotten with its SIREAD locks.
    fn settle_watchers(&mut self, rw: TxnId, committed: bool) {
        let out = if committed { self.earliest_out(rw) } else { None };
        let watchers: Vec<(TxnId, Timestamp)> = self
            .txns
            .iter()
            .filter(|(_, t)| t.watching.as_ref().is_some_and(|w| w.contains(&rw)))
            .map(|(id, t)| (*id, t.read_ts))
            .collect();
        let mut safe = Vec::new();
        for (r, read_ts) in watchers {
            let Some(t) = self.txns.get_mut(&r) else { continue };
            if out.is_some_and(|o| o <= read_ts) {
                t.watching = None;
                continue;
            }
            if let Some(w) = &mut t.watching {
                w.remove(&rw);
                if w.is_empty() {
                    safe.push(r);
                }
            }
        }
        for r in safe {
            self.remove(r);
            self.counters.safe_snapshots += 1;
        }
    }

    /// Summarizes committed transaction `c` away: every active transaction concurrent with it is
    /// doomed (only those could still form a structure with it), and each retained pivot with an
    /// out-conflict to it keeps its commit timestamp as a summarized `T_out`.
    fn summarize(&mut self, c: TxnId) {
        let Some(c_ts) = self.committed(c) else { return };
        let concurrent: Vec<TxnId> = self
            .txns
            .iter()
            .filter(|(_, t)| t.commit_ts.is_none() && !t.doomed && t.read_ts < c_ts)
            .map(|(id, _)| *id)
            .collect();
        for a in concurrent {
            self.doom(a, format!("Reason code: {R_BUDGET}; a transaction it overlapped was summarized."));
            self.counters.budget_victims += 1;
        }
        let ins: Vec<TxnId> = self.txns.get(&c).map(|t| t.ins.iter().copied().collect()).unwrap_or_default();
        for p in ins {
            if let Some(x) = self.txns.get_mut(&p) {
                x.summary_out = Some(x.summary_out.map_or(c_ts, |s| s.min(c_ts)));
            }
        }
        self.remove(c);
        self.counters.summarized += 1;
    }

    /// Brings the units in use back within the budget after `me` grew them: first coarser SIREAD
    /// locks (the transaction holding the most, halved), then summarizing the oldest committed
    /// transactions, then dooming other active transactions; `me` fails last of all.
    fn enforce_budget(&mut self, me: TxnId) -> Result<()> {
        while self.used > self.budget {
            let widest =
                self.txns.iter().filter(|(_, t)| t.reads.len() > 1).max_by_key(|(_, t)| t.reads.len());
            if let Some((&id, _)) = widest {
                if let Some(t) = self.txns.get_mut(&id) {
                    let before = t.reads.len();
                    coarsen(&mut t.reads);
                    self.used -= before - t.reads.len();
                    self.counters.coarsened += 1;
                }
                continue;
            }
            let oldest = self.txns.iter().filter_map(|(id, t)| t.commit_ts.map(|c| (c, *id))).min();
            if let Some((_, c)) = oldest {
                self.summarize(c);
                continue;
            }
            let other = self
                .txns
                .iter()
                .filter(|(id, t)| **id != me && !t.doomed && t.commit_ts.is_none())
                .map(|(id, t)| (t.read_ts, *id))
                .max();
            if let Some((_, a)) = other {
                self.doom(a, format!("Reason code: {R_BUDGET}."));
                self.counters.budget_victims += 1;
                continue;
            }
            self.doom(me, format!("Reason code: {R_BUDGET}."));
            self.counters.budget_victims += 1;
            return Err(self.fail(R_BUDGET, format!("Reason code: {R_BUDGET}.")));
        }
        self.counters.used_max = self.counters.used_max.max(self.used);
        Ok(())
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
        inner.settle_watchers(me, true);
        // I am T_out for every active pivot p with p -rw-> me that has an in-conflict t_in.
        let pivots: Vec<TxnId> =
            inner.txns.get(&me).map(|t| t.ins.iter().copied().collect()).unwrap_or_default();
        for p in pivots {
            if inner.committed(p).is_some() {
                continue;
            }
            let Some(out) = inner.earliest_out(p) else { continue };
            let ins: Vec<TxnId> =
                inner.txns.get(&p).map(|t| t.ins.iter().copied().collect()).unwrap_or_default();
            if let Some(&t_in) = ins.iter().find(|&&t_in| inner.dangerous(t_in, p, out)) {
                inner.doom_pivot(t_in, p, out, "its out-conflict committed first");
            }
        }
        inner.cleanup();
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
        let watching = if read_only {
            let concurrent: BTreeSet<TxnId> = inner
                .txns
                .iter()
                .filter(|(_, t)| t.commit_ts.is_none() && !t.declared_read_only && !t.doomed)
                .map(|(id, _)| *id)
                .collect();
            if concurrent.is_empty() {
                // No read-write transaction is concurrent: the snapshot is safe from the start
                // and the transaction needs no tracking at all.
                inner.counters.safe_snapshots += 1;
                return read_ts;
            }
            Some(concurrent)
        } else {
            None
        };
        inner.txns.insert(
            id,
            SerTxn {
                pid,
                read_ts,
                commit_ts: None,
                declared_read_only: read_only,
                wrote: false,
                doomed: false,
                doomed_detail: String::new(),
                reads: Vec::new(),
                ins: BTreeSet::new(),
                outs: BTreeSet::new(),
                out_keys: HashMap::new(),
                summary_out: None,
                watching,
            },
        );
        inner.used += 1;
        // Over budget the room comes from others first; if `id` itself has to go, it is doomed
        // and fails at its first statement.
        let _ = inner.enforce_budget(id);
        read_ts
    }

    /// DDL that drops or rebuilds an index (or otherwise retires the keys of `from`): every
    /// SIREAD lock touching `from` is widened by `to` (the table's rows), so a later write to the
    /// table still meets the readers that relied on the retired keys.
    pub fn move_locks(&self, from: &KeyRange, to: KeyRange) {
        let mut inner = self.inner.lock();
        let mut added = 0;
        for t in inner.txns.values_mut() {
            if !t.doomed && t.reads.iter().any(|r| overlaps(r, from)) {
                t.reads.push(to.clone());
                added += 1;
            }
        }
        inner.used += added;
        // Room is made from other transactions' locks; `0` names no transaction, so nobody in
        // particular fails here.
        let _ = inner.enforce_budget(0);
    }

    /// Sets how keys are named in 40001 details.
    pub fn set_key_describer(&self, describer: KeyDescriber) {
        self.inner.lock().describer = Some(describer);
    }

    /// Sets the budget (transactions plus SIREAD locks tracked at once), at least [`MIN_BUDGET`].
    pub fn set_budget(&self, units: usize) {
        self.inner.lock().budget = units.max(MIN_BUDGET);
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
        let Some(t) = inner.txns.get_mut(&me) else { return Ok(()) };
        t.reads.push(range);
        inner.used += 1;
        inner.enforce_budget(me)
    }

    /// Records the rw-edge from `me` to the writer of a version committed (at `ts`) after `me`'s
    /// snapshot, met by a read.
    pub fn on_newer_version(&self, me: TxnId, ts: Timestamp, key: &[u8]) -> Result<()> {
        let mut inner = self.inner.lock();
        inner.check_doomed(me)?;
        if let Some(&w) = inner.by_commit_ts.get(&ts) {
            inner.add_edge(me, me, w, key)?;
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
            inner.add_edge(me, r, me, key)?;
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
                inner.add_edge(me, r, me, key)?;
            }
        }
        let (ins, outs): (Vec<TxnId>, Vec<TxnId>) = match inner.txns.get(&me) {
            Some(t) => (t.ins.iter().copied().collect(), t.outs.iter().copied().collect()),
            None => (vec![], vec![]),
        };
        // Me as pivot.
        if let Some(out) = inner.earliest_out(me) {
            for &t_in in &ins {
                if inner.dangerous(t_in, me, out) {
                    let detail = inner.describe(t_in, me, out, R_PIVOT_AT_COMMIT);
                    return Err(inner.fail(R_PIVOT_AT_COMMIT, detail));
                }
            }
        }
        // Me as T_in: me -> p -> T_out with T_out committed first.
        for &p in &outs {
            let Some(out) = inner.earliest_out(p) else { continue };
            if inner.dangerous(me, p, out) {
                if inner.committed(p).is_none() {
                    inner.doom_pivot(me, p, out, "its in-conflict committed");
                } else {
                    let detail = inner.describe(me, p, out, R_TIN_AT_COMMIT);
                    return Err(inner.fail(R_TIN_AT_COMMIT, detail));
                }
            }
        }
        Ok(Some(PreCommit { guard: inner, me }))
    }

    /// Forgets an aborted transaction (its edges do not count).
    pub fn abort(&self, me: TxnId) {
        let mut inner = self.inner.lock();
        inner.settle_watchers(me, false);
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

    /// Budget and failure counters.
    pub fn counters(&self) -> SsiCounters {
        let inner = self.inner.lock();
        let mut c = inner.counters.clone();
        c.budget = inner.budget;
        c.used = inner.used;
        let mut failures: Vec<(&'static str, u64)> = inner.failures.iter().map(|(k, v)| (*k, *v)).collect();
        failures.sort();
        c.failures = failures;
        c
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

    impl Ssi {
        /// Units in use, recounted from scratch.
        fn recount(&self) -> usize {
            self.inner.lock().txns.values().map(|t| t.cost()).sum()
        }
    }

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
        let e = ssi.on_newer_version(3, 7, b"r3").unwrap_err();
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

    #[test]
    fn coarsening_merges_neighbours_and_covers_every_key() {
        let keys: Vec<Vec<u8>> = (0u8..40).map(|i| vec![b'k', i * 3]).collect();
        let mut ranges: Vec<KeyRange> =
            keys.iter().rev().map(|k| (Bound::Included(k.clone()), Bound::Included(k.clone()))).collect();
        ranges.push((Bound::Excluded(vec![b'a']), Bound::Excluded(vec![b'b'])));
        let original = ranges.clone();
        while ranges.len() > 1 {
            let before = ranges.len();
            coarsen(&mut ranges);
            assert_eq!(ranges.len(), before.div_ceil(2));
            for r in &original {
                for k in [r.0.clone(), r.1.clone()] {
                    if let Bound::Included(k) = k {
                        assert!(ranges.iter().any(|c| covers(c, &k)), "{k:?} lost");
                    }
                }
            }
        }
        // The hull of everything: from just after "a" to the last key.
        assert!(!covers(&ranges[0], b"a"));
        assert!(covers(&ranges[0], b"a\x00"));
        assert!(covers(&ranges[0], &keys[39]));
        assert!(!covers(&ranges[0], b"l"));
    }

    #[test]
    fn at_the_minimum_budget_write_skew_still_fails_and_the_budget_holds() {
        let ssi = Ssi::new();
        ssi.set_budget(0);
        assert_eq!(ssi.counters().budget, MIN_BUDGET);
        ssi.register(1, 10, 5, false);
        ssi.register(2, 20, 5, false);
        for i in 0..20u8 {
            ssi.on_read(1, point(&format!("x{i:02}"))).unwrap();
            ssi.on_read(2, point(&format!("y{i:02}"))).unwrap();
            assert!(ssi.counters().used <= MIN_BUDGET);
        }
        assert!(ssi.counters().coarsened > 0);
        ssi.on_write(1, b"y07").unwrap(); // 2 -rw-> 1
        ssi.on_write(2, b"x13").unwrap(); // 1 -rw-> 2
        ssi.pre_commit(1, &mut [b"y07".as_slice()].into_iter()).unwrap().unwrap().committed(6);
        let e = ssi.pre_commit(2, &mut [b"x13".as_slice()].into_iter()).err().unwrap();
        assert_eq!(e.sqlstate(), "40001");
        let c = ssi.counters();
        assert!(c.used_max <= MIN_BUDGET, "{c:?}");
        assert_eq!(c.failures.iter().map(|f| f.1).sum::<u64>(), 1, "{c:?}");
        assert_eq!(c.used, ssi.recount());
    }

    #[test]
    fn summarized_t_out_still_completes_the_receipt_report() {
        // The receipt report with T2 (T_out) summarized away before T3 reads T1's receipt: the
        // pivot T1 keeps T2's commit timestamp as a summarized out-conflict.
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
        {
            let mut inner = ssi.inner.lock();
            inner.summarize(2);
            assert!(!inner.txns.contains_key(&2));
            assert_eq!(inner.txns[&1].summary_out, Some(6));
            assert!(!inner.txns[&3].doomed, "T3 started after T2 committed: not concurrent with it");
        }
        ssi.on_read(3, point("r3")).unwrap();
        let e = ssi.on_newer_version(3, 7, b"r3").unwrap_err();
        assert_eq!(e.sqlstate(), "40001");
        assert!(e.detail.as_deref().unwrap_or("").contains("a summarized transaction"), "{e:?}");
    }

    #[test]
    fn summarizing_dooms_the_transactions_concurrent_with_it() {
        let ssi = Ssi::new();
        ssi.register(1, 10, 5, false);
        ssi.register(2, 20, 5, false);
        ssi.pre_commit(2, &mut std::iter::empty()).unwrap().unwrap().committed(6);
        ssi.register(3, 30, 6, false);
        ssi.inner.lock().summarize(2);
        assert_eq!(ssi.check(1).unwrap_err().sqlstate(), "40001");
        assert!(ssi.check(3).is_ok());
        assert_eq!(ssi.counters().budget_victims, 1);
    }

    #[test]
    fn random_load_under_a_tiny_budget_keeps_the_count_exact_and_bounded() {
        let ssi = Ssi::new();
        ssi.set_budget(12);
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let mut ts = 10;
        let mut active: Vec<TxnId> = Vec::new();
        let mut id = 0;
        for _ in 0..5000 {
            match next(6) {
                0 if active.len() < 6 => {
                    id += 1;
                    ssi.register(id, id as i32, ts, false);
                    active.push(id);
                }
                1 | 2 if !active.is_empty() => {
                    let t = active[next(active.len() as u64) as usize];
                    let _ = ssi.on_read(t, point(&format!("k{}", next(30))));
                }
                3 if !active.is_empty() => {
                    let t = active[next(active.len() as u64) as usize];
                    let _ = ssi.on_write(t, format!("k{}", next(30)).as_bytes());
                }
                4 | 5 if !active.is_empty() => {
                    let t = active.remove(next(active.len() as u64) as usize);
                    match ssi.pre_commit(t, &mut std::iter::empty()) {
                        Ok(Some(pc)) => {
                            ts += 1;
                            pc.committed(ts);
                        }
                        _ => ssi.abort(t),
                    }
                }
                _ => {}
            }
            let c = ssi.counters();
            assert!(c.used <= c.budget, "{c:?}");
            assert_eq!(c.used, ssi.recount());
        }
        assert!(ssi.counters().summarized > 0 || ssi.counters().coarsened > 0);
    }

    #[test]
    fn a_read_only_transaction_drops_its_locks_once_its_snapshot_is_safe() {
        let ssi = Ssi::new();
        ssi.register(1, 10, 5, false); // read-write, concurrent with the reader below
        ssi.register(2, 20, 5, true);
        ssi.on_read(2, point("a")).unwrap();
        assert_eq!(ssi.stats(), (2, 1));
        ssi.on_write(1, b"b").unwrap();
        ssi.pre_commit(1, &mut [b"b".as_slice()].into_iter()).unwrap().unwrap().committed(6);
        // T1 committed without an out-conflict: T2's snapshot is safe, its lock goes.
        assert_eq!(ssi.stats(), (0, 0));
        assert_eq!(ssi.counters().safe_snapshots, 1);
        ssi.on_read(2, point("c")).unwrap();
        assert_eq!(ssi.stats(), (0, 0), "a safe transaction takes no more SIREAD locks");
        // With no read-write transaction around, a read-only one is never tracked.
        ssi.register(3, 30, 6, true);
        ssi.on_read(3, point("a")).unwrap();
        assert_eq!(ssi.stats(), (0, 0));
        assert_eq!(ssi.counters().safe_snapshots, 2);
    }

    #[test]
    fn an_unsafe_read_only_snapshot_stays_tracked() {
        // T1 read x, which T2 wrote (1 -rw-> 2); T2 commits; read-only T3 starts after that, so
        // T1's later commit, with its out-conflict to a transaction that committed before T3's
        // snapshot, makes T3's snapshot unsafe.
        let ssi = Ssi::new();
        ssi.register(1, 10, 5, false);
        ssi.register(2, 20, 5, false);
        ssi.on_read(1, point("x")).unwrap();
        ssi.on_write(2, b"x").unwrap(); // 1 -rw-> 2
        ssi.pre_commit(2, &mut [b"x".as_slice()].into_iter()).unwrap().unwrap().committed(6);
        ssi.register(3, 30, 6, true); // watches T1
        ssi.on_read(3, point("y")).unwrap();
        ssi.on_write(1, b"z").unwrap();
        ssi.pre_commit(1, &mut [b"z".as_slice()].into_iter()).unwrap().unwrap().committed(7);
        assert!(ssi.inner.lock().txns.contains_key(&3), "unsafe: still tracked");
        assert_eq!(ssi.counters().safe_snapshots, 0);
    }

    #[test]
    fn dropping_an_index_moves_its_locks_to_the_table() {
        let range = |a: &str, b: &str| {
            (Bound::Included(a.as_bytes().to_vec()), Bound::Excluded(b.as_bytes().to_vec()))
        };
        let ssi = Ssi::new();
        ssi.register(1, 10, 5, false);
        ssi.register(2, 20, 5, false);
        ssi.on_read(1, range("i/5", "i/6")).unwrap(); // an empty index range: phantom protection
        ssi.on_read(2, range("j/0", "j/9")).unwrap();
        ssi.move_locks(&range("i/", "i0"), range("r/", "r0"));
        // A row inserted into the table (no index entry any more) meets reader 1 only.
        let inner = ssi.inner.lock();
        assert_eq!(inner.readers_of(2, b"r/77"), vec![1]);
        assert!(inner.readers_of(1, b"r/77").is_empty());
        assert_eq!(inner.used, inner.txns.values().map(|t| t.cost()).sum::<usize>());
    }

    #[test]
    fn overlap_respects_bound_kinds() {
        let r = |lo: Bound<&str>, hi: Bound<&str>| -> KeyRange {
            (lo.map(|k| k.as_bytes().to_vec()), hi.map(|k| k.as_bytes().to_vec()))
        };
        use Bound::*;
        assert!(overlaps(&r(Included("a"), Included("c")), &r(Included("c"), Included("d"))));
        assert!(!overlaps(&r(Included("a"), Excluded("c")), &r(Included("c"), Included("d"))));
        assert!(!overlaps(&r(Included("a"), Included("c")), &r(Excluded("c"), Unbounded)));
        assert!(overlaps(&r(Unbounded, Unbounded), &r(Included("x"), Included("x"))));
        assert!(!overlaps(&r(Included("d"), Unbounded), &r(Unbounded, Excluded("d"))));
    }
}
