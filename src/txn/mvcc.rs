//! Multi-version concurrency control over an ordered key-value engine.
//!
//! Every logical key the SQL layer writes is stored as a set of *versions*, one per committing
//! transaction, keyed by `(key, commit_ts)`:
//!
//! ```text
//!   key "a"  ts 7  -> "x"          newest first: commit timestamps are stored inverted
//!   key "a"  ts 3  -> "w"
//!   key "b"  ts 5  -> tombstone    (deleted at ts 5)
//!   key "b"  ts 2  -> "v"
//! ```
//!
//! A transaction reads at a *snapshot*, a commit timestamp `read_ts`: it sees, for each key, the
//! newest version with `commit_ts <= read_ts`. A reader at ts 4 above sees `a = w` and `b = v`;
//! one at ts 7 sees `a = x` and no `b`. Readers never block and never see partial commits: a
//! commit's versions all carry the same timestamp and become visible together when `visible_ts`
//! reaches it.
//!
//! Writes are buffered privately (an ordered map merged over the snapshot for the transaction's own
//! reads) and reach the engine only at commit, as one atomic batch: abort is dropping the map, and
//! the engine never holds uncommitted data. Savepoints keep an undo log of the write set.
//!
//! ## Concurrency
//! Writers lock what they write: [`Transaction::write`] takes an exclusive lock on the key in the
//! [`LockManager`] (held to the end of the transaction), so a second writer of the same row waits
//! for the first, FIFO, with deadlock detection. Once it has the lock, a key changed by a
//! transaction that committed after the snapshot is a conflict: REPEATABLE READ and SERIALIZABLE
//! fail with 40001 (first updater wins); READ COMMITTED callers use [`Transaction::lock_row`] to
//! learn the newest version and re-check their predicate against it (PostgreSQL's EvalPlanQual).
//! Statements that write take the database lock in a shared mode and DDL takes it exclusively
//! ([`Transaction::acquire_writer`], [`Transaction::acquire_ddl`]), a coarse stand-in for relation
//! locks. Commits are serialized by a short latch that assigns the commit timestamp and appends the
//! batch; locks are released once the commit is visible and *before* waiting for durability, so
//! concurrent commits can share one flush.
//!
//! ## Key layout (inside the engine)
//! | key space | encoding | value |
//! |-----------|----------|-------|
//! | meta      | `0x00`, tag `0x01` (last commit timestamp) | u64 big-endian |
//! | version   | `0x01`, bytes(key), u64(!commit_ts) | `0x00` tombstone, or `0x01` then the value |
//! | raw       | `0x02`, bytes(key) | the value (not versioned, not transactional: sequences) |

use crate::encoding::keycode;
use crate::error::{Error, ErrorKind, Result};
use crate::storage::{Direction, Engine, KeyValue, WriteBatch};
use crate::txn::locks::{LockInfo, LockManager, LockMode, Resource};
use crate::txn::ssi::Ssi;
use parking_lot::Mutex;
use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const SPACE_META: u8 = 0x00;
/// Key space of versions (see the key layout table).
pub(crate) const SPACE_VERSION: u8 = 0x01;
const SPACE_RAW: u8 = 0x02;
const META_LAST_COMMIT: u8 = 0x01;
const TOMBSTONE: u8 = 0x00;
const LIVE: u8 = 0x01;

/// Write sets up to this many keys prune their keys' old versions at commit.
const PRUNE_ON_COMMIT_MAX: usize = 64;

/// A commit timestamp. Versions with `commit_ts <= read_ts` are visible to a snapshot at `read_ts`.
pub type Timestamp = u64;

/// Transaction isolation levels, as PostgreSQL names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IsolationLevel {
    /// READ UNCOMMITTED behaves as READ COMMITTED (as in PostgreSQL).
    ReadUncommitted,
    /// A new snapshot per statement.
    ReadCommitted,
    /// Snapshot isolation: one snapshot per transaction, first updater wins.
    RepeatableRead,
    /// Serializable snapshot isolation.
    Serializable,
}

impl IsolationLevel {
    /// PostgreSQL's spelling (`read committed`, ...), as `SHOW transaction_isolation` prints it.
    pub fn as_str(&self) -> &'static str {
        match self {
            IsolationLevel::ReadUncommitted => "read uncommitted",
            IsolationLevel::ReadCommitted => "read committed",
            IsolationLevel::RepeatableRead => "repeatable read",
            IsolationLevel::Serializable => "serializable",
        }
    }

    /// Parses PostgreSQL's spelling, case-insensitively, with any whitespace between words.
    pub fn parse(s: &str) -> Option<Self> {
        let norm: Vec<String> = s.split_whitespace().map(|w| w.to_ascii_lowercase()).collect();
        match norm.join(" ").as_str() {
            "read uncommitted" => Some(IsolationLevel::ReadUncommitted),
            "read committed" => Some(IsolationLevel::ReadCommitted),
            "repeatable read" => Some(IsolationLevel::RepeatableRead),
            "serializable" => Some(IsolationLevel::Serializable),
            _ => None,
        }
    }

    /// Whether one snapshot serves the whole transaction.
    pub fn uses_transaction_snapshot(&self) -> bool {
        matches!(self, IsolationLevel::RepeatableRead | IsolationLevel::Serializable)
    }
}

/// Encodes a version key.
fn version_key(key: &[u8], ts: Timestamp) -> Vec<u8> {
    let mut out = Vec::with_capacity(key.len() + 12);
    keycode::put_tag(&mut out, SPACE_VERSION);
    keycode::put_bytes(&mut out, key);
    keycode::put_u64(&mut out, !ts);
    out
}

/// The encoded prefix shared by every version of `key` (no timestamp).
pub(crate) fn version_prefix(key: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(key.len() + 4);
    keycode::put_tag(&mut out, SPACE_VERSION);
    keycode::put_bytes(&mut out, key);
    out
}

/// Decodes a version key into the logical key and its commit timestamp.
pub(crate) fn decode_version_key(raw: &[u8]) -> Result<(Vec<u8>, Timestamp)> {
    let mut r = keycode::Reader::new(raw);
    if r.tag()? != SPACE_VERSION {
        return Err(Error::new(ErrorKind::Corrupt, "malformed key: not a version key"));
    }
    let key = r.bytes()?;
    let ts = !r.u64()?;
    Ok((key, ts))
}

fn raw_key(key: &[u8]) -> Vec<u8> {
    let mut out = vec![SPACE_RAW];
    keycode::put_bytes(&mut out, key);
    out
}

fn meta_key(tag: u8) -> Vec<u8> {
    vec![SPACE_META, tag]
}

/// Decodes a stored version value: `None` for a tombstone.
fn decode_value(raw: Vec<u8>) -> Result<Option<Vec<u8>>> {
    match raw.first() {
        Some(&TOMBSTONE) => Ok(None),
        Some(&LIVE) => Ok(Some(raw[1..].to_vec())),
        _ => Err(Error::new(ErrorKind::Corrupt, "malformed version value")),
    }
}

fn encode_value(value: &Option<Vec<u8>>) -> Vec<u8> {
    match value {
        None => vec![TOMBSTONE],
        Some(v) => {
            let mut out = Vec::with_capacity(v.len() + 1);
            out.push(LIVE);
            out.extend_from_slice(v);
            out
        }
    }
}

/// A logical key and its value (`None` = deleted), as write sets and scans carry them.
type Entry = (Vec<u8>, Option<Vec<u8>>);

/// A cancellation flag shared between a session and whoever may cancel it.
pub type CancelFlag = Arc<AtomicBool>;

#[derive(Default)]
struct State {
    /// Newest commit timestamp visible to new snapshots.
    visible_ts: Timestamp,
    /// Next transaction id.
    next_txn_id: u64,
    /// Active transactions: id -> snapshot timestamp (if taken).
    active: BTreeMap<u64, Option<Timestamp>>,
}

/// Creates and tracks the transactions of one database.
pub struct TxnManager {
    engine: Arc<dyn Engine>,
    state: Mutex<State>,
    /// Keys written by recent small commits, pruned again once the watermark passes their commit
    /// (see [`crate::txn::vacuum`]).
    pub(crate) deferred_prune: Mutex<std::collections::VecDeque<(Timestamp, Vec<Vec<u8>>)>>,
    locks: LockManager,
    ssi: Ssi,
}

/// Options for a transaction wait: cancel flag and timeouts, from the session's settings.
#[derive(Clone)]
pub struct WaitOptions {
    /// Set by a cancel request; waits and long loops give up with 57014.
    pub cancel: Option<CancelFlag>,
    /// `lock_timeout`: give up with 55P03 after this long (None = wait forever).
    pub lock_timeout: Option<Duration>,
    /// `statement_timeout` deadline: give up with 57014 after it.
    pub deadline: Option<Instant>,
    /// `deadlock_timeout`: how long a waiter waits before checking for a deadlock.
    pub deadlock_timeout: Duration,
    /// NOWAIT: fail at once with this error instead of waiting.
    pub nowait_error: Option<Error>,
}

impl Default for WaitOptions {
    fn default() -> Self {
        WaitOptions {
            cancel: None,
            lock_timeout: None,
            deadline: None,
            deadlock_timeout: Duration::from_secs(1),
            nowait_error: None,
        }
    }
}

impl WaitOptions {
    /// Fails with 57014 if the statement was cancelled or ran past its deadline.
    pub fn check(&self) -> Result<()> {
        if let Some(c) = &self.cancel {
            if c.load(Ordering::Relaxed) {
                return Err(Error::new(ErrorKind::QueryCanceled, "canceling statement due to user request"));
            }
        }
        if let Some(d) = self.deadline {
            if Instant::now() >= d {
                return Err(Error::new(
                    ErrorKind::QueryCanceled,
                    "canceling statement due to statement timeout",
                ));
            }
        }
        Ok(())
    }
}

impl TxnManager {
    /// A manager over `engine`, resuming after the last commit recorded in it.
    pub fn open(engine: Arc<dyn Engine>) -> Result<Arc<Self>> {
        let visible_ts = match engine.get(&meta_key(META_LAST_COMMIT))? {
            None => 0,
            Some(v) => {
                let bytes: [u8; 8] = v
                    .as_slice()
                    .try_into()
                    .map_err(|_| Error::new(ErrorKind::Corrupt, "malformed last-commit record"))?;
                u64::from_be_bytes(bytes)
            }
        };
        Ok(Arc::new(TxnManager {
            engine,
            state: Mutex::new(State { visible_ts, next_txn_id: 1, active: BTreeMap::new() }),
            deferred_prune: Mutex::new(std::collections::VecDeque::new()),
            locks: LockManager::new(),
            ssi: Ssi::new(),
        }))
    }

    /// The storage engine.
    pub fn engine(&self) -> &Arc<dyn Engine> {
        &self.engine
    }

    /// Starts a transaction for session `pid`. No snapshot is taken yet: the first statement that
    /// needs one takes it (PostgreSQL's rule).
    pub fn begin(self: &Arc<Self>, pid: i32, isolation: IsolationLevel, read_only: bool) -> Transaction {
        let mut st = self.state.lock();
        let id = st.next_txn_id;
        st.next_txn_id += 1;
        st.active.insert(id, None);
        Transaction {
            mgr: self.clone(),
            id,
            pid,
            isolation,
            read_only,
            read_ts: None,
            writes: BTreeMap::new(),
            undo: Vec::new(),
            held: Vec::new(),
            wait: WaitOptions::default(),
            deferrable: false,
            sync_commit: true,
            ssi: false,
            committed: false,
            finished: false,
        }
    }

    /// Whether session `pid` is waiting for a lock held by one of `holders`.
    pub fn is_blocked_by(&self, pid: i32, holders: &[i32]) -> bool {
        self.locks.is_blocked_by(pid, holders) || self.ssi.is_blocked_by(pid, holders)
    }

    /// The SSI state (observability).
    pub fn ssi(&self) -> &Ssi {
        &self.ssi
    }

    /// The pids blocking session `pid`, PostgreSQL's `pg_blocking_pids`.
    pub fn blocking_pids(&self, pid: i32) -> Vec<i32> {
        self.locks.blocking_pids(pid)
    }

    /// Every held and awaited lock (`pg_locks`).
    pub fn lock_snapshot(&self) -> Vec<LockInfo> {
        self.locks.snapshot()
    }

    /// Reads a non-transactional key (sequences).
    pub fn raw_get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.engine.get(&raw_key(key))
    }

    /// Writes a non-transactional key at once (sequences: never rolled back, as in PostgreSQL).
    pub fn raw_put(&self, key: &[u8], value: Vec<u8>) -> Result<()> {
        let mut batch = WriteBatch::new();
        batch.put(raw_key(key), value);
        let lsn = self.engine.write(batch)?;
        self.engine.wait_durable(lsn)
    }

    /// Deletes a non-transactional key.
    pub fn raw_delete(&self, key: &[u8]) -> Result<()> {
        let mut batch = WriteBatch::new();
        batch.delete(raw_key(key));
        self.engine.write(batch).map(|_| ())
    }

    /// The oldest snapshot any active transaction holds, or the newest commit when none does:
    /// versions older than what this timestamp sees are garbage (see [`crate::txn::vacuum`]).
    pub fn watermark(&self) -> Timestamp {
        let st = self.state.lock();
        st.active.values().flatten().copied().min().unwrap_or(st.visible_ts).min(st.visible_ts)
    }

    fn take_snapshot(&self, id: u64) -> Timestamp {
        let mut st = self.state.lock();
        let ts = st.visible_ts;
        st.active.insert(id, Some(ts));
        ts
    }

    /// The newest committed version of `key` (any timestamp): `(commit_ts, value)`.
    fn newest_version(&self, key: &[u8]) -> Result<Option<(Timestamp, Option<Vec<u8>>)>> {
        let from = version_prefix(key);
        let to = version_key(key, 0);
        let hit =
            self.engine.scan_chunk(Bound::Included(&from), Bound::Included(&to), Direction::Forward, 1)?;
        match hit.into_iter().next() {
            None => Ok(None),
            Some((k, v)) => Ok(Some((decode_version_key(&k)?.1, decode_value(v)?))),
        }
    }
}

/// One transaction. Dropping it without [`Transaction::commit`] rolls it back.
pub struct Transaction {
    mgr: Arc<TxnManager>,
    id: u64,
    pid: i32,
    isolation: IsolationLevel,
    read_only: bool,
    read_ts: Option<Timestamp>,
    /// Private write set: key -> new value (`None` = delete).
    writes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    /// Undo log for savepoints: key and its previous write-set entry.
    undo: Vec<Undo>,
    /// Locks held, in the order taken (savepoints release the tail).
    held: Vec<Resource>,
    /// Cancel flag and timeouts of the running statement.
    wait: WaitOptions,
    /// DEFERRABLE (matters for SERIALIZABLE READ ONLY).
    deferrable: bool,
    /// `synchronous_commit`: wait for the commit record to be durable before returning.
    sync_commit: bool,
    /// Registered with SSI (SERIALIZABLE, snapshot taken).
    ssi: bool,
    /// Whether the commit succeeded (SSI keeps committed transactions).
    committed: bool,
    finished: bool,
}

/// The outcome of [`Transaction::lock_row`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RowLock {
    /// No version newer than this transaction's snapshot: the row is as the statement read it.
    Unchanged,
    /// A transaction that committed after the snapshot changed the key; its newest value
    /// (`None` = deleted). READ COMMITTED re-checks against it (EvalPlanQual); REPEATABLE READ and
    /// SERIALIZABLE fail with [`concurrent_update_error`].
    Changed(Option<Vec<u8>>),
    /// SKIP LOCKED and another transaction holds a conflicting lock: leave the row out.
    Skipped,
}

/// What to do when a row lock is held by someone else.
#[derive(Clone, Debug)]
pub enum WaitPolicy {
    /// Wait (the default).
    Wait,
    /// NOWAIT: fail at once with this error.
    NoWait(Error),
    /// SKIP LOCKED: skip the row.
    SkipLocked,
}

/// PostgreSQL's 40001 for a row changed by a concurrent transaction (`deleted`: it was deleted).
pub fn concurrent_update_error(deleted: bool) -> Error {
    let what = if deleted { "delete" } else { "update" };
    Error::new(ErrorKind::Serialization, format!("could not serialize access due to concurrent {what}"))
}

/// An undo-log entry: a key and its previous write-set entry (`None` = it had none).
type Undo = (Vec<u8>, Option<Option<Vec<u8>>>);

/// A savepoint: a position in the transaction's undo log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SavepointMark {
    undo: usize,
    locks: usize,
}

impl Transaction {
    /// Transaction id (unique within the database while the server runs).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The isolation level.
    pub fn isolation(&self) -> IsolationLevel {
        self.isolation
    }

    /// Changes the isolation level; only valid before the first snapshot (the session checks).
    pub fn set_isolation(&mut self, level: IsolationLevel) {
        self.isolation = level;
    }

    /// Whether the transaction is READ ONLY.
    pub fn read_only(&self) -> bool {
        self.read_only
    }

    /// Sets READ ONLY / READ WRITE.
    pub fn set_read_only(&mut self, read_only: bool) {
        self.read_only = read_only;
    }

    /// Whether a snapshot has been taken (after which the isolation level is fixed).
    pub fn has_snapshot(&self) -> bool {
        self.read_ts.is_some()
    }

    /// Whether the transaction has written anything.
    pub fn has_writes(&self) -> bool {
        !self.writes.is_empty()
    }

    /// Sets `synchronous_commit` (off: commit returns before its record is durable; a crash may
    /// lose it, never corrupt anything).
    pub fn set_synchronous_commit(&mut self, on: bool) {
        self.sync_commit = on;
    }

    /// Sets DEFERRABLE.
    pub fn set_deferrable(&mut self, deferrable: bool) {
        self.deferrable = deferrable;
    }

    /// Prepares for a statement: takes the transaction snapshot if there is none yet, or a fresh
    /// statement snapshot at READ COMMITTED. A SERIALIZABLE READ ONLY DEFERRABLE transaction first
    /// waits for a safe snapshot.
    pub fn begin_statement(&mut self) -> Result<()> {
        if self.read_ts.is_none() || !self.isolation.uses_transaction_snapshot() {
            self.new_snapshot()?;
        }
        if self.ssi {
            self.mgr.ssi.check(self.id)?;
        }
        Ok(())
    }

    fn new_snapshot(&mut self) -> Result<Timestamp> {
        let serializable = self.isolation == IsolationLevel::Serializable;
        if serializable && self.read_ts.is_none() && self.read_only && self.deferrable {
            let wait = self.wait.clone();
            self.mgr.ssi.wait_for_safe_snapshot(self.pid, &|| wait.check())?;
            // Safe: no read-write serializable transaction is concurrent; SSI has nothing to track.
            let ts = self.mgr.take_snapshot(self.id);
            self.read_ts = Some(ts);
            return Ok(ts);
        }
        let ts = if serializable && self.read_ts.is_none() {
            // Snapshot and registration are one step under the SSI latch: a transaction that
            // commits after the snapshot must find this one registered, or SSI's clean-up could
            // forget it (and its SIREAD locks) while this transaction is still concurrent with it.
            self.ssi = true;
            let (mgr, id) = (&self.mgr, self.id);
            mgr.ssi.register_with(id, self.pid, self.read_only, || mgr.take_snapshot(id))
        } else {
            self.mgr.take_snapshot(self.id)
        };
        self.read_ts = Some(ts);
        Ok(ts)
    }

    fn snapshot(&mut self) -> Result<Timestamp> {
        match self.read_ts {
            Some(ts) => Ok(ts),
            None => self.new_snapshot(),
        }
    }

    /// Sets the cancel flag and timeouts used by this transaction's waits (per statement).
    pub fn set_wait_options(&mut self, wait: WaitOptions) {
        self.wait = wait;
    }

    fn lock(&mut self, res: Resource, mode: LockMode) -> Result<()> {
        let wait = self.wait.clone();
        if self.mgr.locks.acquire(self.id, self.pid, &res, mode, &wait)? {
            self.held.push(res);
        }
        Ok(())
    }

    /// Before a statement that writes data: takes the database lock in a mode shared with other
    /// writers, so that DDL waits for this transaction.
    pub fn acquire_writer(&mut self, wait: &WaitOptions) -> Result<()> {
        if self.read_only {
            return Err(Error::new(
                ErrorKind::ReadOnlySqlTransaction,
                "cannot execute write in a read-only transaction",
            ));
        }
        self.wait = wait.clone();
        self.lock(Resource::Database, LockMode::KeyShare)
    }

    /// Before DDL: takes the database lock exclusively, waiting for every transaction that wrote
    /// data. At READ COMMITTED the statement snapshot is re-taken afterwards.
    pub fn acquire_ddl(&mut self, wait: &WaitOptions) -> Result<()> {
        if self.read_only {
            return Err(Error::new(
                ErrorKind::ReadOnlySqlTransaction,
                "cannot execute DDL in a read-only transaction",
            ));
        }
        self.wait = wait.clone();
        self.lock(Resource::Database, LockMode::Update)?;
        if !self.isolation.uses_transaction_snapshot() {
            self.new_snapshot()?;
        }
        Ok(())
    }

    /// Locks the row (or index entry) `key` in `mode`, waiting for conflicting holders, and tells
    /// whether a transaction that committed after this one's snapshot changed it.
    pub fn lock_row(&mut self, key: &[u8], mode: LockMode) -> Result<RowLock> {
        self.lock_row_with(key, mode, &WaitPolicy::Wait)
    }

    /// [`Transaction::lock_row`] with PostgreSQL's NOWAIT / SKIP LOCKED: `NoWait` fails at once
    /// with its error (55P03 `could not obtain lock on row in relation "t"`, built by the caller who
    /// knows the relation), `SkipLocked` returns [`RowLock::Skipped`] instead of waiting.
    pub fn lock_row_with(&mut self, key: &[u8], mode: LockMode, policy: &WaitPolicy) -> Result<RowLock> {
        match policy {
            WaitPolicy::Wait => self.lock(Resource::Key(key.to_vec()), mode)?,
            WaitPolicy::NoWait(e) => {
                let saved = self.wait.nowait_error.replace(e.clone());
                let r = self.lock(Resource::Key(key.to_vec()), mode);
                self.wait.nowait_error = saved;
                r?;
            }
            WaitPolicy::SkipLocked => {
                let marker = Error::new(ErrorKind::LockNotAvailable, "skip locked");
                let saved = self.wait.nowait_error.replace(marker);
                let r = self.lock(Resource::Key(key.to_vec()), mode);
                self.wait.nowait_error = saved;
                if r.is_err() {
                    return Ok(RowLock::Skipped);
                }
            }
        }
        if self.writes.contains_key(key) {
            return Ok(RowLock::Unchanged);
        }
        let ts = self.snapshot()?;
        match self.mgr.newest_version(key)? {
            Some((newest, value)) if newest > ts => Ok(RowLock::Changed(value)),
            _ => Ok(RowLock::Unchanged),
        }
    }

    /// Reads `key` as this transaction sees it.
    pub fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        if let Some(v) = self.writes.get(key) {
            return Ok(v.clone());
        }
        let ts = self.snapshot()?;
        if self.ssi {
            // Every version committed after the snapshot is a rw-conflict with its writer, not
            // only the newest one (a reader that misses several concurrent writers depends on
            // each of them).
            //
            // The SIREAD lock goes in before the versions are looked at: a writer whose
            // pre-commit check ran before it had already published its versions (the check and
            // the append happen under the SSI latch), so the scan below meets them; one whose
            // check runs after it sees the lock. Either way the edge is found.
            let point = (Bound::Included(key.to_vec()), Bound::Included(key.to_vec()));
            self.mgr.ssi.on_read(self.id, point)?;
            let from = version_prefix(key);
            let to = version_key(key, ts);
            for (raw, _) in self.mgr.engine.scan_chunk(
                Bound::Included(&from),
                Bound::Excluded(&to),
                Direction::Forward,
                usize::MAX,
            )? {
                self.mgr.ssi.on_newer_version(self.id, decode_version_key(&raw)?.1, key)?;
            }
        }
        let from = version_key(key, ts);
        let to = version_key(key, 0);
        let hit = self.mgr.engine.scan_chunk(
            Bound::Included(&from),
            Bound::Included(&to),
            Direction::Forward,
            1,
        )?;
        match hit.into_iter().next() {
            None => Ok(None),
            Some((_, v)) => decode_value(v),
        }
    }

    /// Scans the logical keys in `(from, to)` in `direction`, as this transaction sees them.
    pub fn scan(
        &mut self,
        from: Bound<Vec<u8>>,
        to: Bound<Vec<u8>>,
        direction: Direction,
    ) -> Result<MvccScan> {
        let ts = self.snapshot()?;
        let ssi = if self.ssi {
            self.mgr.ssi.on_read(self.id, (from.clone(), to.clone()))?;
            Some(SsiReads { mgr: self.mgr.clone(), txn: self.id, newer: Vec::new() })
        } else {
            None
        };
        let own: Vec<(Vec<u8>, Option<Vec<u8>>)> = match direction {
            Direction::Forward => {
                self.writes.range((from.clone(), to.clone())).map(|(k, v)| (k.clone(), v.clone())).collect()
            }
            Direction::Backward => self
                .writes
                .range((from.clone(), to.clone()))
                .rev()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        };
        let lower = match from {
            Bound::Included(k) => Bound::Included(version_prefix(&k)),
            Bound::Excluded(k) => Bound::Excluded(version_key(&k, 0)),
            Bound::Unbounded => Bound::Included(vec![SPACE_VERSION]),
        };
        let upper = match to {
            Bound::Included(k) => Bound::Included(version_key(&k, 0)),
            Bound::Excluded(k) => Bound::Excluded(version_prefix(&k)),
            Bound::Unbounded => Bound::Excluded(vec![SPACE_VERSION + 1]),
        };
        Ok(MvccScan {
            engine: self.mgr.engine.clone(),
            read_ts: ts,
            lower,
            upper,
            direction,
            chunk: Vec::new().into_iter(),
            engine_done: false,
            pending: None,
            own: own.into_iter().peekable(),
            next_stored: None,
            last_key: None,
            ssi,
        })
    }

    /// DDL retiring the keys under `from_prefix` (a dropped or rebuilt index): SIREAD locks on
    /// them are widened to the keys under `to_prefix` (the table's rows), see
    /// [`Ssi::move_locks`].
    pub fn move_predicate_locks(&self, from_prefix: &[u8], to_prefix: &[u8]) {
        let range = |p: &[u8]| -> crate::txn::ssi::KeyRange {
            let end = keycode::prefix_end(p).map_or(Bound::Unbounded, Bound::Excluded);
            (Bound::Included(p.to_vec()), end)
        };
        self.mgr.ssi.move_locks(&range(from_prefix), range(to_prefix));
    }

    /// Scans every logical key starting with `prefix`.
    pub fn scan_prefix(&mut self, prefix: &[u8], direction: Direction) -> Result<MvccScan> {
        let to = match keycode::prefix_end(prefix) {
            Some(end) => Bound::Excluded(end),
            None => Bound::Unbounded,
        };
        self.scan(Bound::Included(prefix.to_vec()), to, direction)
    }

    /// Writes `key` = `value` (`None` deletes), taking an exclusive lock on the key first. At
    /// REPEATABLE READ and SERIALIZABLE a key changed by a transaction that committed after the
    /// snapshot fails with 40001 (first updater wins); READ COMMITTED callers re-check with
    /// [`Transaction::lock_row`] before writing.
    pub fn write(&mut self, key: Vec<u8>, value: Option<Vec<u8>>) -> Result<()> {
        if self.read_only {
            return Err(Error::new(
                ErrorKind::ReadOnlySqlTransaction,
                "cannot execute write in a read-only transaction",
            ));
        }
        if !self.writes.contains_key(&key) {
            let lock = self.lock_row(&key, LockMode::Update)?;
            if self.ssi {
                self.mgr.ssi.on_write(self.id, &key)?;
            }
            if let RowLock::Changed(newest) = lock {
                if self.isolation.uses_transaction_snapshot() {
                    return Err(concurrent_update_error(newest.is_none()));
                }
            }
        }
        let prev = self.writes.insert(key.clone(), value);
        self.undo.push((key, prev));
        Ok(())
    }

    /// Writes `key` = `value` holding a lock of `mode` on it, without the first-updater-wins check
    /// of [`Transaction::write`]: for callers that already took the row lock with
    /// [`Transaction::lock_row`] and decided what a concurrent change means (the SQL layer's
    /// UPDATE/DELETE, which hold `NoKeyUpdate` when no key column changes, and its index entries,
    /// whose uniqueness it checks itself against [`Transaction::latest`]).
    pub fn write_locked(&mut self, key: Vec<u8>, value: Option<Vec<u8>>, mode: LockMode) -> Result<()> {
        if self.read_only {
            return Err(Error::new(
                ErrorKind::ReadOnlySqlTransaction,
                "cannot execute write in a read-only transaction",
            ));
        }
        if !self.writes.contains_key(&key) {
            self.lock(Resource::Key(key.clone()), mode)?;
            if self.ssi {
                self.mgr.ssi.on_write(self.id, &key)?;
            }
        }
        let prev = self.writes.insert(key.clone(), value);
        self.undo.push((key, prev));
        Ok(())
    }

    /// The newest state of `key` regardless of the snapshot: this transaction's own write, else the
    /// newest committed version (`None` = absent or deleted). Takes no SIREAD lock: for constraint
    /// checks made under the key's lock (a unique index entry), which PostgreSQL also makes against
    /// the newest state rather than the snapshot.
    pub fn latest(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        if let Some(v) = self.writes.get(key) {
            return Ok(v.clone());
        }
        Ok(self.mgr.newest_version(key)?.and_then(|(_, v)| v))
    }

    /// SSI's check for a write of `key` that is not going to happen because the statement fails
    /// (PostgreSQL's `CheckForSerializableConflictIn` before reporting a unique violation): a
    /// dangerous structure it completes is reported as 40001 in place of the caller's error.
    pub fn conflict_in(&mut self, key: &[u8]) -> Result<()> {
        if self.ssi {
            self.mgr.ssi.on_write(self.id, key)?;
        }
        Ok(())
    }

    /// Marks a savepoint.
    pub fn savepoint(&self) -> SavepointMark {
        SavepointMark { undo: self.undo.len(), locks: self.held.len() }
    }

    /// Undoes every write made after `mark` and releases the locks taken after it.
    pub fn rollback_to(&mut self, mark: SavepointMark) {
        if self.held.len() > mark.locks {
            let released = self.held.split_off(mark.locks);
            self.mgr.locks.release(self.id, &released);
        }
        while self.undo.len() > mark.undo {
            let Some((key, prev)) = self.undo.pop() else { break };
            match prev {
                Some(v) => {
                    self.writes.insert(key, v);
                }
                None => {
                    self.writes.remove(&key);
                }
            }
        }
    }

    /// Commits: appends the write set as one batch at a new commit timestamp, publishes it,
    /// releases the writer lock, then waits for durability.
    pub fn commit(mut self) -> Result<()> {
        self.finished = true;
        let mgr = self.mgr.clone();
        let result = (|| {
            let pre_commit = if self.ssi {
                let mut keys = self.writes.keys().map(|k| k.as_slice());
                mgr.ssi.pre_commit(self.id, &mut keys)?
            } else {
                None
            };
            if self.writes.is_empty() {
                if let Some(pc) = pre_commit {
                    // A read-only serializable transaction still gets a place in commit order.
                    let mut st = mgr.state.lock();
                    st.visible_ts += 1;
                    pc.committed(st.visible_ts);
                }
                return Ok(());
            }
            // Small write sets prune their keys' dead versions after the commit (hot rows).
            let prune: Vec<Vec<u8>> = if self.writes.len() <= PRUNE_ON_COMMIT_MAX {
                self.writes.keys().cloned().collect()
            } else {
                vec![]
            };
            let mut st = mgr.state.lock();
            let ts = st.visible_ts + 1;
            let mut batch = WriteBatch::new();
            for (k, v) in std::mem::take(&mut self.writes) {
                batch.put(version_key(&k, ts), encode_value(&v));
            }
            batch.put(meta_key(META_LAST_COMMIT), ts.to_be_bytes().to_vec());
            let lsn = mgr.engine.write(batch)?;
            st.visible_ts = ts;
            if let Some(pc) = pre_commit {
                pc.committed(ts);
            }
            drop(st);
            self.committed = true;
            // Locks go once the commit is visible, before the durability wait (group commit).
            let held = std::mem::take(&mut self.held);
            mgr.locks.release(self.id, &held);
            if !prune.is_empty() {
                mgr.state.lock().active.remove(&self.id);
                mgr.prune_after_commit(ts, prune)?;
            }
            if self.sync_commit {
                mgr.engine.wait_durable(lsn)
            } else {
                Ok(())
            }
        })();
        if result.is_ok() {
            self.committed = true;
        }
        self.end();
        result
    }

    /// Rolls back: drops the write set.
    pub fn rollback(mut self) {
        self.finished = true;
        self.end();
    }

    fn end(&mut self) {
        let held = std::mem::take(&mut self.held);
        self.mgr.locks.release(self.id, &held);
        self.mgr.locks.forget(self.id);
        if self.ssi {
            if self.committed {
                self.mgr.ssi.notify();
            } else {
                self.mgr.ssi.abort(self.id);
            }
        }
        self.mgr.state.lock().active.remove(&self.id);
        self.writes.clear();
        self.undo.clear();
    }
}

impl Drop for Transaction {
    fn drop(&mut self) {
        if !self.finished {
            self.end();
        }
    }
}

/// An iterator over the logical keys of a range as one transaction sees them: the newest visible
/// version of each stored key, merged with the transaction's own writes, tombstones skipped.
pub struct MvccScan {
    engine: Arc<dyn Engine>,
    read_ts: Timestamp,
    lower: Bound<Vec<u8>>,
    upper: Bound<Vec<u8>>,
    direction: Direction,
    chunk: std::vec::IntoIter<KeyValue>,
    engine_done: bool,
    /// Backward scans meet a key's versions oldest first: the best candidate so far.
    pending: Option<(Vec<u8>, Option<Vec<u8>>)>,
    own: std::iter::Peekable<std::vec::IntoIter<Entry>>,
    next_stored: Option<(Vec<u8>, Option<Vec<u8>>)>,
    /// Forward scans: the key whose visible version was already returned (skip its older ones).
    last_key: Option<Vec<u8>>,
    /// SERIALIZABLE readers: versions skipped because they committed after the snapshot.
    ssi: Option<SsiReads>,
}

/// The SSI side of a scan: commit timestamps of versions the scan could not see, each reported
/// once as a rw-conflict when met.
struct SsiReads {
    mgr: Arc<TxnManager>,
    txn: u64,
    newer: Vec<Timestamp>,
}

const MVCC_CHUNK: usize = 256;

impl MvccScan {
    /// A version committed after the snapshot was skipped: for SERIALIZABLE readers that is a
    /// rw-conflict to its writer, reported at once so a failure surfaces in this statement.
    fn note_newer(&mut self, ts: Timestamp, key: &[u8]) -> Result<()> {
        if let Some(s) = &mut self.ssi {
            if !s.newer.contains(&ts) {
                s.newer.push(ts);
                s.mgr.ssi.on_newer_version(s.txn, ts, key)?;
            }
        }
        Ok(())
    }

    fn raw_next(&mut self) -> Result<Option<KeyValue>> {
        loop {
            if let Some(kv) = self.chunk.next() {
                return Ok(Some(kv));
            }
            if self.engine_done {
                return Ok(None);
            }
            let as_ref = |b: &Bound<Vec<u8>>| match b {
                Bound::Included(k) => Bound::Included(k.clone()),
                Bound::Excluded(k) => Bound::Excluded(k.clone()),
                Bound::Unbounded => Bound::Unbounded,
            };
            let (lo, hi) = (as_ref(&self.lower), as_ref(&self.upper));
            let chunk = self.engine.scan_chunk(
                lo.as_ref().map(|k| k.as_slice()),
                hi.as_ref().map(|k| k.as_slice()),
                self.direction,
                MVCC_CHUNK,
            )?;
            if chunk.len() < MVCC_CHUNK {
                self.engine_done = true;
            }
            if let Some((last, _)) = chunk.last() {
                match self.direction {
                    Direction::Forward => self.lower = Bound::Excluded(last.clone()),
                    Direction::Backward => self.upper = Bound::Excluded(last.clone()),
                }
            }
            self.chunk = chunk.into_iter();
        }
    }

    /// The next visible stored key (tombstones included as `None`), ignoring own writes.
    fn next_visible_stored(&mut self) -> Result<Option<Entry>> {
        match self.direction {
            Direction::Forward => {
                // Versions of a key come newest first: take the first with ts <= read_ts, skip
                // the rest of that key.
                while let Some((raw, val)) = self.raw_next()? {
                    let (key, ts) = decode_version_key(&raw)?;
                    if ts > self.read_ts {
                        self.note_newer(ts, &key)?;
                        continue;
                    }
                    if self.last_key.as_ref() == Some(&key) {
                        continue;
                    }
                    self.last_key = Some(key.clone());
                    return Ok(Some((key, decode_value(val)?)));
                }
                Ok(None)
            }
            Direction::Backward => {
                // Versions come oldest first: remember the newest visible one until the key changes.
                while let Some((raw, val)) = self.raw_next()? {
                    let (key, ts) = decode_version_key(&raw)?;
                    if ts > self.read_ts {
                        self.note_newer(ts, &key)?;
                        continue;
                    }
                    match &self.pending {
                        Some((k, _)) if *k != key => {
                            let out = self.pending.replace((key, decode_value(val)?));
                            return Ok(out);
                        }
                        _ => self.pending = Some((key, decode_value(val)?)),
                    }
                }
                Ok(self.pending.take())
            }
        }
    }

    fn next_merged(&mut self) -> Result<Option<Entry>> {
        if self.next_stored.is_none() {
            self.next_stored = self.next_visible_stored()?;
        }
        let take_own = match (self.own.peek(), &self.next_stored) {
            (None, None) => return Ok(None),
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some((ok, _)), Some((sk, _))) => match self.direction {
                Direction::Forward => ok <= sk,
                Direction::Backward => ok >= sk,
            },
        };
        if take_own {
            let own = self.own.next();
            if let (Some((ok, _)), Some((sk, _))) = (&own, &self.next_stored) {
                if ok == sk {
                    self.next_stored = None; // own write shadows the stored version
                }
            }
            Ok(own)
        } else {
            Ok(self.next_stored.take())
        }
    }
}

impl Iterator for MvccScan {
    type Item = Result<(Vec<u8>, Vec<u8>)>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match self.next_merged() {
                Err(e) => return Some(Err(e)),
                Ok(None) => return None,
                Ok(Some((_, None))) => continue,
                Ok(Some((k, Some(v)))) => return Some(Ok((k, v))),
            }
        }
    }
}

/// Per-database registry used to answer blocking queries across databases.
pub type Managers = HashMap<String, Arc<TxnManager>>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::memory::Memory;

    fn mgr() -> Arc<TxnManager> {
        TxnManager::open(Arc::new(Memory::new())).unwrap()
    }

    fn put(t: &mut Transaction, k: &str, v: Option<&str>) -> Result<()> {
        t.write(k.as_bytes().to_vec(), v.map(|v| v.as_bytes().to_vec()))
    }

    fn all(t: &mut Transaction, dir: Direction) -> Vec<(String, String)> {
        t.scan(Bound::Unbounded, Bound::Unbounded, dir)
            .unwrap()
            .map(|r| {
                let (k, v) = r.unwrap();
                (String::from_utf8(k).unwrap(), String::from_utf8(v).unwrap())
            })
            .collect()
    }

    #[test]
    fn snapshot_sees_only_earlier_commits() {
        let m = mgr();
        let mut t1 = m.begin(1, IsolationLevel::RepeatableRead, false);
        put(&mut t1, "a", Some("1")).unwrap();
        put(&mut t1, "b", Some("1")).unwrap();
        t1.commit().unwrap();

        let mut reader = m.begin(2, IsolationLevel::RepeatableRead, false);
        reader.begin_statement().unwrap();
        let mut t2 = m.begin(3, IsolationLevel::ReadCommitted, false);
        put(&mut t2, "a", Some("2")).unwrap();
        put(&mut t2, "b", None).unwrap();
        put(&mut t2, "c", Some("2")).unwrap();
        t2.commit().unwrap();

        assert_eq!(
            all(&mut reader, Direction::Forward),
            vec![("a".into(), "1".into()), ("b".into(), "1".into())]
        );
        let mut fresh = m.begin(4, IsolationLevel::ReadCommitted, false);
        assert_eq!(
            all(&mut fresh, Direction::Forward),
            vec![("a".into(), "2".into()), ("c".into(), "2".into())]
        );
        assert_eq!(
            all(&mut fresh, Direction::Backward),
            vec![("c".into(), "2".into()), ("a".into(), "2".into())]
        );
    }

    #[test]
    fn own_writes_merge_and_savepoints_undo() {
        let m = mgr();
        let mut t = m.begin(1, IsolationLevel::ReadCommitted, false);
        put(&mut t, "b", Some("1")).unwrap();
        t.commit().unwrap();
        let mut t = m.begin(1, IsolationLevel::ReadCommitted, false);
        put(&mut t, "a", Some("x")).unwrap();
        let sp = t.savepoint();
        put(&mut t, "b", None).unwrap();
        put(&mut t, "c", Some("y")).unwrap();
        assert_eq!(all(&mut t, Direction::Forward), vec![("a".into(), "x".into()), ("c".into(), "y".into())]);
        t.rollback_to(sp);
        assert_eq!(
            all(&mut t, Direction::Backward),
            vec![("b".into(), "1".into()), ("a".into(), "x".into())]
        );
        t.rollback();
        let mut r = m.begin(2, IsolationLevel::ReadCommitted, false);
        assert_eq!(all(&mut r, Direction::Forward), vec![("b".into(), "1".into())]);
    }

    #[test]
    fn many_versions_cross_scan_chunks() {
        let m = mgr();
        for round in 0..5 {
            let mut t = m.begin(1, IsolationLevel::ReadCommitted, false);
            for i in 0..300 {
                put(&mut t, &format!("k{i:04}"), Some(&round.to_string())).unwrap();
            }
            t.commit().unwrap();
        }
        let mut r = m.begin(2, IsolationLevel::ReadCommitted, false);
        let fwd = all(&mut r, Direction::Forward);
        assert_eq!(fwd.len(), 300);
        assert!(fwd.iter().all(|(_, v)| v == "4"));
        let back = all(&mut r, Direction::Backward);
        assert_eq!(back.len(), 300);
        assert!(back.iter().all(|(_, v)| v == "4"));
        assert!(back.windows(2).all(|w| w[0].0 > w[1].0));
    }

    #[test]
    fn first_updater_wins_at_repeatable_read() {
        let m = mgr();
        let mut t = m.begin(1, IsolationLevel::ReadCommitted, false);
        put(&mut t, "a", Some("0")).unwrap();
        t.commit().unwrap();
        let mut rr = m.begin(2, IsolationLevel::RepeatableRead, false);
        rr.begin_statement().unwrap();
        let mut other = m.begin(3, IsolationLevel::ReadCommitted, false);
        put(&mut other, "a", Some("1")).unwrap();
        other.commit().unwrap();
        let e = put(&mut rr, "a", Some("2")).unwrap_err();
        assert_eq!(e.sqlstate(), "40001");
        assert_eq!(e.message, "could not serialize access due to concurrent update");
    }

    #[test]
    fn second_writer_of_a_key_waits_and_reports_blocking() {
        let m = mgr();
        let mut t1 = m.begin(10, IsolationLevel::ReadCommitted, false);
        put(&mut t1, "a", Some("1")).unwrap();
        // Another key is free.
        let mut other = m.begin(11, IsolationLevel::ReadCommitted, false);
        put(&mut other, "b", Some("x")).unwrap();
        other.commit().unwrap();
        let m2 = m.clone();
        let h = std::thread::spawn(move || {
            let mut t2 = m2.begin(20, IsolationLevel::ReadCommitted, false);
            t2.begin_statement().unwrap();
            let lock = t2.lock_row(b"a", LockMode::Update).unwrap();
            put(&mut t2, "a", Some("2")).unwrap();
            t2.commit().unwrap();
            lock
        });
        let start = Instant::now();
        while !m.is_blocked_by(20, &[10]) {
            assert!(start.elapsed() < Duration::from_secs(5), "second writer never waited");
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(m.blocking_pids(20), vec![10]);
        t1.commit().unwrap();
        // The waiter learns that the row changed under it (READ COMMITTED re-checks).
        assert_eq!(h.join().unwrap(), RowLock::Changed(Some(b"1".to_vec())));
        let mut r = m.begin(30, IsolationLevel::ReadCommitted, false);
        assert_eq!(r.get(b"a").unwrap(), Some(b"2".to_vec()));
    }

    #[test]
    fn repeatable_read_waiter_fails_after_the_holder_commits_and_proceeds_after_rollback() {
        let m = mgr();
        let mut setup = m.begin(1, IsolationLevel::ReadCommitted, false);
        put(&mut setup, "a", Some("0")).unwrap();
        setup.commit().unwrap();
        for commit in [true, false] {
            let mut t1 = m.begin(10, IsolationLevel::RepeatableRead, false);
            put(&mut t1, "a", Some("1")).unwrap();
            let m2 = m.clone();
            let h = std::thread::spawn(move || {
                let mut t2 = m2.begin(20, IsolationLevel::RepeatableRead, false);
                t2.begin_statement().unwrap();
                let r = put(&mut t2, "a", Some("2"));
                if r.is_ok() {
                    t2.commit().unwrap();
                }
                r
            });
            while !m.is_blocked_by(20, &[10]) {
                std::thread::sleep(Duration::from_millis(5));
            }
            if commit {
                t1.commit().unwrap();
                let e = h.join().unwrap().unwrap_err();
                assert_eq!(e.message, "could not serialize access due to concurrent update");
            } else {
                t1.rollback();
                h.join().unwrap().unwrap();
            }
        }
    }

    #[test]
    fn serializable_write_skew_fails_one_and_serial_order_commits_both() {
        let m = mgr();
        let mut setup = m.begin(1, IsolationLevel::ReadCommitted, false);
        put(&mut setup, "x", Some("1")).unwrap();
        put(&mut setup, "y", Some("1")).unwrap();
        setup.commit().unwrap();
        // Concurrent: each reads one key and writes the other.
        let mut t1 = m.begin(10, IsolationLevel::Serializable, false);
        let mut t2 = m.begin(20, IsolationLevel::Serializable, false);
        t1.begin_statement().unwrap();
        t2.begin_statement().unwrap();
        assert!(t1.get(b"x").unwrap().is_some());
        assert!(t2.get(b"y").unwrap().is_some());
        put(&mut t1, "y", Some("0")).unwrap();
        put(&mut t2, "x", Some("0")).unwrap();
        t1.commit().unwrap();
        let e = t2.commit().unwrap_err();
        assert_eq!(e.sqlstate(), "40001");
        assert_eq!(e.message, "could not serialize access due to read/write dependencies among transactions");
        // Serial: the second starts after the first committed.
        let mut t3 = m.begin(30, IsolationLevel::Serializable, false);
        t3.begin_statement().unwrap();
        let _ = t3.scan_prefix(b"", Direction::Forward).unwrap().count();
        put(&mut t3, "x", Some("2")).unwrap();
        t3.commit().unwrap();
        let mut t4 = m.begin(40, IsolationLevel::Serializable, false);
        t4.begin_statement().unwrap();
        let _ = t4.scan_prefix(b"", Direction::Forward).unwrap().count();
        put(&mut t4, "y", Some("2")).unwrap();
        t4.commit().unwrap();
        assert_eq!(m.ssi().stats().0, 0, "no concurrent transactions left to track");
    }

    #[test]
    fn a_point_read_conflicts_with_every_concurrent_writer_not_only_the_newest() {
        // T_r's snapshot misses two commits to x: serializable T_a's, then repeatable-read T_b's
        // (invisible to SSI). The edge T_r -rw-> T_a completes T_in -> T_r -> T_a.
        let m = mgr();
        let mut setup = m.begin(1, IsolationLevel::ReadCommitted, false);
        put(&mut setup, "x", Some("0")).unwrap();
        put(&mut setup, "y", Some("0")).unwrap();
        setup.commit().unwrap();
        let mut t_r = m.begin(10, IsolationLevel::Serializable, false);
        t_r.begin_statement().unwrap();
        let mut t_in = m.begin(20, IsolationLevel::Serializable, false);
        t_in.begin_statement().unwrap();
        assert!(t_in.get(b"y").unwrap().is_some());
        let mut t_a = m.begin(30, IsolationLevel::Serializable, false);
        t_a.begin_statement().unwrap();
        put(&mut t_a, "x", Some("a")).unwrap();
        t_a.commit().unwrap();
        let mut t_b = m.begin(40, IsolationLevel::RepeatableRead, false);
        put(&mut t_b, "x", Some("b")).unwrap();
        t_b.commit().unwrap();
        assert_eq!(t_r.get(b"x").unwrap(), Some(b"0".to_vec()));
        // t_in -rw-> t_r completes the structure: the pivot fails at this write.
        let e = put(&mut t_r, "y", Some("r")).unwrap_err();
        assert_eq!(e.sqlstate(), "40001");
    }

    #[test]
    fn serializable_read_after_concurrent_commit_is_an_edge() {
        // T1 reads x and writes y; T2 writes x and commits first; T1 then scans and meets T2's
        // newer version of x. With T3 reading y before T1's write, T3 -> T1 -> T2 would be a
        // dangerous structure; here it is only T1 -> T2 and T1 commits.
        let m = mgr();
        let mut setup = m.begin(1, IsolationLevel::ReadCommitted, false);
        put(&mut setup, "x", Some("1")).unwrap();
        setup.commit().unwrap();
        let mut t1 = m.begin(10, IsolationLevel::Serializable, false);
        t1.begin_statement().unwrap();
        let mut t2 = m.begin(20, IsolationLevel::Serializable, false);
        t2.begin_statement().unwrap();
        put(&mut t2, "x", Some("2")).unwrap();
        t2.commit().unwrap();
        let seen: Vec<_> = t1.scan_prefix(b"", Direction::Forward).unwrap().map(|r| r.unwrap().1).collect();
        assert_eq!(seen, vec![b"1".to_vec()]);
        put(&mut t1, "y", Some("1")).unwrap();
        t1.commit().unwrap();
    }

    #[test]
    fn savepoint_rollback_releases_row_locks() {
        let m = mgr();
        let mut t1 = m.begin(10, IsolationLevel::ReadCommitted, false);
        let sp = t1.savepoint();
        put(&mut t1, "a", Some("1")).unwrap();
        t1.rollback_to(sp);
        let mut t2 = m.begin(20, IsolationLevel::ReadCommitted, false);
        t2.set_wait_options(WaitOptions {
            lock_timeout: Some(Duration::from_millis(50)),
            ..Default::default()
        });
        put(&mut t2, "a", Some("2")).unwrap();
    }

    #[test]
    fn cancel_ends_a_wait() {
        let m = mgr();
        let mut t1 = m.begin(1, IsolationLevel::ReadCommitted, false);
        put(&mut t1, "a", Some("1")).unwrap();
        let mut t2 = m.begin(2, IsolationLevel::ReadCommitted, false);
        let flag: CancelFlag = Arc::new(AtomicBool::new(true));
        t2.set_wait_options(WaitOptions { cancel: Some(flag), ..Default::default() });
        let e = put(&mut t2, "a", Some("2")).unwrap_err();
        assert_eq!(e.sqlstate(), "57014");
        assert!(!m.is_blocked_by(2, &[1]));
    }
}
