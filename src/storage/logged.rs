//! A store made durable by the write-ahead log: every batch is appended to the [`Wal`] and then
//! applied to the inner engine, in the same order under one latch, so a batch's LSN in the log is
//! the inner store's batch counter. `wait_durable` is the log's group commit; `checkpoint` is the
//! inner store's checkpoint followed by recycling the log below it.
//!
//! Opening replays the log records above the inner store's checkpoint LSN (see [`Wal::open`]) and
//! prints progress.

use super::btree::{BTreeStore, Config as StoreConfig};
use super::wal::dir::{OsDir, WalDir};
use super::wal::{Recovery, Wal, WalStats, DEFAULT_SEGMENT_SIZE};
use super::{Direction, Engine, KeyValue, Lsn, Status, WriteBatch};
use crate::error::{Error, ErrorKind, Result};
use parking_lot::Mutex;
use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

/// The inner engine plus its log.
pub struct Logged {
    inner: Arc<dyn Engine>,
    wal: Wal,
    apply: Mutex<()>,
}

impl Logged {
    /// Opens `inner` (already at its checkpoint) with the log in `dir`, replaying what the log holds
    /// beyond the checkpoint.
    pub fn open(
        inner: Arc<dyn Engine>,
        dir: Arc<dyn WalDir>,
        segment_size: u64,
    ) -> Result<(Logged, Recovery)> {
        let checkpoint = inner.status()?.durable_lsn;
        let mut apply = |lsn: Lsn, batch: WriteBatch| -> Result<()> {
            let got = inner.write(batch)?;
            if got != lsn {
                return Err(Error::new(
                    ErrorKind::Corrupt,
                    format!("write-ahead log replay out of step: record {lsn} applied as {got}"),
                ));
            }
            Ok(())
        };
        let (wal, recovery) = Wal::open(dir, segment_size, checkpoint, &mut apply)?;
        Ok((Logged { inner, wal, apply: Mutex::new(()) }, recovery))
    }

    /// Opens the B+tree store and its log under `data_dir` (`data.ssidb` and `wal/`), printing
    /// recovery progress to stderr.
    pub fn open_dir(data_dir: &Path, config: StoreConfig) -> Result<Logged> {
        let started = Instant::now();
        let store: Arc<dyn Engine> = Arc::new(BTreeStore::open(data_dir, config)?);
        let dir: Arc<dyn WalDir> = Arc::new(OsDir::open(data_dir.join("wal"))?);
        let (logged, r) = Self::open(store, dir, DEFAULT_SEGMENT_SIZE)?;
        if r.replayed > 0 {
            eprintln!(
                "ssidb: recovery replayed {} write-ahead log records ({:.1} MB) up to LSN {} in {:.0?}",
                r.replayed,
                r.bytes as f64 / 1e6,
                r.last_lsn,
                started.elapsed()
            );
        }
        Ok(logged)
    }

    /// Log counters.
    pub fn wal_stats(&self) -> WalStats {
        self.wal.stats()
    }
}

impl Engine for Logged {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.inner.get(key)
    }

    fn scan_chunk(
        &self,
        from: Bound<&[u8]>,
        to: Bound<&[u8]>,
        direction: Direction,
        limit: usize,
    ) -> Result<Vec<KeyValue>> {
        self.inner.scan_chunk(from, to, direction, limit)
    }

    fn write(&self, batch: WriteBatch) -> Result<Lsn> {
        let _order = self.apply.lock();
        let lsn = self.wal.append(&batch)?;
        let applied = self.inner.write(batch)?;
        assert_eq!(applied, lsn, "the store's batch counter follows the log");
        Ok(lsn)
    }

    fn wait_durable(&self, lsn: Lsn) -> Result<()> {
        self.wal.wait_durable(lsn)
    }

    fn status(&self) -> Result<Status> {
        let mut s = self.inner.status()?;
        s.durable_lsn = self.wal.stats().durable_lsn;
        Ok(s)
    }

    fn checkpoint(&self) -> Result<()> {
        self.inner.checkpoint()?;
        let covered = self.inner.status()?.durable_lsn;
        self.wal.checkpointed(covered)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::btree::MemFile;
    use crate::storage::wal::dir::MemDir;

    fn open(data: Arc<MemFile>, dir: Arc<dyn WalDir>) -> Logged {
        let store = BTreeStore::open_file(data, "test".into(), StoreConfig::with_pool(1 << 20)).unwrap();
        Logged::open(Arc::new(store), dir, 8192).unwrap().0
    }

    fn put(e: &Logged, k: u32) -> Lsn {
        let mut b = WriteBatch::new();
        b.put(k.to_be_bytes().to_vec(), vec![7; 100]);
        let lsn = e.write(b).unwrap();
        e.wait_durable(lsn).unwrap();
        lsn
    }

    #[test]
    fn commits_after_the_checkpoint_survive_through_the_log() {
        let data = Arc::new(MemFile::new());
        let dir: Arc<dyn WalDir> = Arc::new(MemDir::new());
        let e = open(data.clone(), dir.clone());
        for k in 0..100 {
            put(&e, k);
        }
        e.checkpoint().unwrap();
        for k in 100..250 {
            put(&e, k);
        }
        // "Crash": drop without checkpoint. The data file holds the checkpoint only.
        std::mem::forget(e);
        let e = open(data, dir);
        for k in 0..250u32 {
            assert!(e.get(&k.to_be_bytes()).unwrap().is_some(), "key {k} lost");
        }
        assert_eq!(put(&e, 999), 251);
    }
}
