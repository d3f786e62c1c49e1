//! Storage: an ordered key-value engine and its implementations.
//!
//! Everything above this layer sees storage through [`Engine`]: a sorted map from byte keys to byte
//! values with point reads, range scans in both directions, atomic write batches and durability
//! tickets. Keys and values are opaque here; their meaning belongs to the layers above (the MVCC
//! layer versions keys, the SQL layer encodes rows), and their byte order is made by
//! [`crate::encoding::keycode`].
//!
//! Durability is split in two on purpose: [`Engine::write`] makes a batch visible and returns the
//! [`Lsn`] of its log record, and [`Engine::wait_durable`] waits until that LSN is on stable storage.
//! The transaction layer releases its commit latch between the two calls, so many transactions can
//! share one flush (group commit).
//!
//! Implementations: [`memory::Memory`] (no persistence; every LSN is durable at once),
//! [`btree::BTreeStore`] (pages on disk, a buffer pool, a B+tree, copy-on-write checkpoints; durable
//! only at checkpoints) and [`logged::Logged`], the B+tree store behind the write-ahead log
//! ([`wal`]), which is what the server runs. [`testfs`] holds the file layers that crash and
//! fault tests plug in under them.

pub mod btree;
pub mod logged;
pub mod memory;
pub mod prefixed;
pub mod testfs;
pub mod wal;

use crate::error::Result;
use std::ops::Bound;

/// A log sequence number: the durability ticket of a write batch. Increases with every batch.
pub type Lsn = u64;

/// Scan direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Ascending key order.
    Forward,
    /// Descending key order.
    Backward,
}

/// One change in a write batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Write {
    /// Set `key` to `value`.
    Put(Vec<u8>, Vec<u8>),
    /// Remove `key` (no error if absent).
    Delete(Vec<u8>),
}

/// A set of writes applied atomically: after a crash, all of it or none of it is present.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WriteBatch {
    /// The writes, applied in order.
    pub writes: Vec<Write>,
}

impl WriteBatch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }
    /// Adds a put.
    pub fn put(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.writes.push(Write::Put(key, value));
    }
    /// Adds a delete.
    pub fn delete(&mut self, key: Vec<u8>) {
        self.writes.push(Write::Delete(key));
    }
    /// Whether the batch holds no writes.
    pub fn is_empty(&self) -> bool {
        self.writes.is_empty()
    }
}

/// A key-value pair read from the engine.
pub type KeyValue = (Vec<u8>, Vec<u8>);

/// Engine status, for monitoring and tests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Status {
    /// Implementation name.
    pub name: String,
    /// Number of live keys.
    pub keys: u64,
    /// Total bytes of live keys and values.
    pub size: u64,
    /// Whether data survives a restart.
    pub persistent: bool,
    /// Highest LSN known durable.
    pub durable_lsn: Lsn,
}

/// An ordered key-value store. Implementations are internally synchronized.
pub trait Engine: Send + Sync {
    /// Reads one key.
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>>;

    /// Returns up to `limit` pairs of the range `(from, to)` in `direction`, starting at the end of
    /// the range the direction begins from. Callers continue a scan by calling again with the bound
    /// moved past the last key returned (see [`scan`]), so no latch is held between calls and a scan
    /// stays correct under concurrent writes.
    fn scan_chunk(
        &self,
        from: Bound<&[u8]>,
        to: Bound<&[u8]>,
        direction: Direction,
        limit: usize,
    ) -> Result<Vec<KeyValue>>;

    /// Applies a batch atomically and returns its LSN. The batch is visible to readers on return;
    /// it is durable once [`Engine::wait_durable`] returns for its LSN.
    fn write(&self, batch: WriteBatch) -> Result<Lsn>;

    /// Checks that [`Engine::write`] would accept the batch (key and value size limits) without
    /// writing anything; a log in front of the engine calls it before logging the batch.
    fn check_batch(&self, _batch: &WriteBatch) -> Result<()> {
        Ok(())
    }

    /// Waits until everything up to `lsn` is on stable storage.
    fn wait_durable(&self, lsn: Lsn) -> Result<()>;

    /// Current status.
    fn status(&self) -> Result<Status>;

    /// Named counters for observability (`ssidb_stats`): pages, pool, log. Engines without
    /// any report none.
    fn counters(&self) -> Vec<(&'static str, u64)> {
        Vec::new()
    }

    /// Makes everything written so far durable without the log (a checkpoint); engines without
    /// persistence do nothing.
    fn checkpoint(&self) -> Result<()> {
        Ok(())
    }
}

/// How many pairs a [`Scan`] fetches per call to [`Engine::scan_chunk`].
const SCAN_CHUNK: usize = 256;

/// An iterator over a key range, fetching chunks from the engine on demand.
pub struct Scan<'a> {
    engine: &'a dyn Engine,
    from: Bound<Vec<u8>>,
    to: Bound<Vec<u8>>,
    direction: Direction,
    buffer: std::vec::IntoIter<KeyValue>,
    done: bool,
}

/// Scans `(from, to)` in `direction`, lazily.
pub fn scan(engine: &dyn Engine, from: Bound<Vec<u8>>, to: Bound<Vec<u8>>, direction: Direction) -> Scan<'_> {
    Scan { engine, from, to, direction, buffer: Vec::new().into_iter(), done: false }
}

fn as_ref(b: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    match b {
        Bound::Included(k) => Bound::Included(k.as_slice()),
        Bound::Excluded(k) => Bound::Excluded(k.as_slice()),
        Bound::Unbounded => Bound::Unbounded,
    }
}

impl Iterator for Scan<'_> {
    type Item = Result<KeyValue>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(kv) = self.buffer.next() {
            return Some(Ok(kv));
        }
        if self.done {
            return None;
        }
        let chunk =
            match self.engine.scan_chunk(as_ref(&self.from), as_ref(&self.to), self.direction, SCAN_CHUNK) {
                Ok(c) => c,
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            };
        if chunk.len() < SCAN_CHUNK {
            self.done = true;
        }
        if let Some((last, _)) = chunk.last() {
            match self.direction {
                Direction::Forward => self.from = Bound::Excluded(last.clone()),
                Direction::Backward => self.to = Bound::Excluded(last.clone()),
            }
        }
        self.buffer = chunk.into_iter();
        self.buffer.next().map(Ok)
    }
}
