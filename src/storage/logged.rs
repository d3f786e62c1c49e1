//! A store made durable by the write-ahead log: every batch is appended to the [`Wal`] and then
//! applied to the inner engine, in the same order under one latch, so a batch's LSN in the log is
//! the inner store's batch counter. `wait_durable` is the log's group commit; `checkpoint` is the
//! inner store's checkpoint followed by recycling the log below it.
//!
//! Opening replays the log records above the inner store's checkpoint LSN (see [`Wal::open`]) and
//! prints progress.
//!
//! ## Checkpoints
//! [`Logged::start_checkpointer`] runs a background thread that checkpoints when the log has grown
//! by a given volume since the last checkpoint began (a write that crosses the threshold wakes it)
//! or when a given time has passed; the owner checkpoints once more at clean shutdown. Checkpoints
//! are serialized. Log volume bounds both recovery time and the disk the log occupies: segments
//! below a checkpoint are recycled.
//!
//! ## Failures
//! A batch is checked against the store's limits before it is logged, so a refused batch never
//! reaches the log. If the store fails to apply a batch that is already logged (an I/O error), the
//! log and the store disagree: every later write is refused with that error until restart, when
//! replay applies the logged batch (a caller that got an error for its commit may find it
//! committed, as with any commit whose outcome was not reported). The log refuses writes after
//! its own write or fsync failures (see [`crate::storage::wal`]). Reads go on in both cases.

use super::btree::{BTreeStore, Config as StoreConfig};
use super::wal::dir::{OsDir, WalDir};
use super::wal::{Recovery, Wal, WalStats, DEFAULT_SEGMENT_SIZE};
use super::{Direction, Engine, KeyValue, Lsn, Status, WriteBatch};
use crate::error::{Error, ErrorKind, Result};
use parking_lot::{Condvar, Mutex};
use std::ops::Bound;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

/// Default log volume that triggers a checkpoint.
pub const DEFAULT_CHECKPOINT_WAL_BYTES: u64 = 64 << 20;

/// The inner engine plus its log.
pub struct Logged {
    inner: Arc<dyn Engine>,
    wal: Wal,
    /// Orders log appends and store writes identically.
    apply: Mutex<()>,
    /// Set when a logged batch could not be applied: writes are refused until restart.
    failed: Mutex<Option<Error>>,
    /// Serializes checkpoints.
    checkpointing: Mutex<()>,
    /// Checkpoints completed since open.
    checkpoints: AtomicU64,
    /// Log bytes appended (since open) when the last checkpoint began.
    checkpoint_bytes: AtomicU64,
    /// Log volume that wakes the checkpointer (0: none running).
    checkpoint_every: AtomicU64,
    /// The checkpointer's wake-up call.
    wake: Arc<Wake>,
}

#[derive(Default)]
struct Wake {
    state: Mutex<WakeState>,
    cond: Condvar,
}

#[derive(Default)]
struct WakeState {
    requested: bool,
    stop: bool,
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
        let logged = Logged {
            inner,
            wal,
            apply: Mutex::new(()),
            failed: Mutex::new(None),
            checkpointing: Mutex::new(()),
            checkpoints: AtomicU64::new(0),
            checkpoint_bytes: AtomicU64::new(0),
            checkpoint_every: AtomicU64::new(0),
            wake: Arc::default(),
        };
        Ok((logged, recovery))
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

    /// Starts the background checkpointer: a checkpoint whenever the log grows by `every_bytes`
    /// since the last one began (0: never by volume) or `every` has passed since the last one
    /// (`None`: never by time). It stops when the store is dropped.
    pub fn start_checkpointer(self: &Arc<Self>, every_bytes: u64, every: Option<Duration>) {
        self.checkpoint_every.store(every_bytes, Ordering::Relaxed);
        let weak: Weak<Logged> = Arc::downgrade(self);
        let wake = self.wake.clone();
        let spawned = std::thread::Builder::new().name("checkpointer".into()).spawn(move || {
            let mut last = Instant::now();
            loop {
                let by_volume = {
                    let mut s = wake.state.lock();
                    if !s.requested && !s.stop {
                        let timeout =
                            every.map_or(Duration::from_secs(1), |t| t.saturating_sub(last.elapsed()));
                        wake.cond.wait_for(&mut s, timeout.max(Duration::from_millis(1)));
                    }
                    if s.stop {
                        return;
                    }
                    std::mem::take(&mut s.requested)
                };
                let by_time = every.is_some_and(|t| last.elapsed() >= t);
                if !(by_volume || by_time) {
                    continue;
                }
                let Some(engine) = weak.upgrade() else { return };
                last = Instant::now();
                if let Err(e) = engine.checkpoint() {
                    eprintln!("ssidb: checkpoint failed: {e}");
                }
            }
        });
        if let Err(e) = spawned {
            eprintln!("ssidb: cannot start the checkpointer: {e}");
        }
    }

    /// Log counters.
    pub fn wal_stats(&self) -> WalStats {
        self.wal.stats()
    }

    /// Checkpoints completed since open.
    pub fn checkpoints(&self) -> u64 {
        self.checkpoints.load(Ordering::Relaxed)
    }

    fn check_writable(&self) -> Result<()> {
        match &*self.failed.lock() {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }
}

impl Drop for Logged {
    fn drop(&mut self) {
        self.wake.state.lock().stop = true;
        self.wake.cond.notify_all();
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

    fn check_batch(&self, batch: &WriteBatch) -> Result<()> {
        self.inner.check_batch(batch)
    }

    fn write(&self, batch: WriteBatch) -> Result<Lsn> {
        self.inner.check_batch(&batch)?;
        let lsn = {
            let _order = self.apply.lock();
            self.check_writable()?;
            let lsn = self.wal.append(&batch)?;
            match self.inner.write(batch) {
                Ok(applied) => assert_eq!(applied, lsn, "the store's batch counter follows the log"),
                Err(e) => {
                    // Logged but not applied: the store is behind the log for good.
                    self.failed.lock().get_or_insert(e.clone());
                    return Err(e);
                }
            }
            lsn
        };
        let every = self.checkpoint_every.load(Ordering::Relaxed);
        if every > 0 && self.wal.bytes_appended() - self.checkpoint_bytes.load(Ordering::Relaxed) >= every {
            let mut s = self.wake.state.lock();
            if !s.requested {
                s.requested = true;
                self.wake.cond.notify_all();
            }
        }
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

    fn counters(&self) -> Vec<(&'static str, u64)> {
        let w = self.wal.stats();
        let mut out = vec![
            ("wal_records", w.records),
            ("wal_flushes", w.flushes),
            ("wal_bytes", w.bytes),
            ("checkpoints", self.checkpoints()),
        ];
        out.extend(self.inner.counters());
        out
    }

    fn checkpoint(&self) -> Result<()> {
        let _one = self.checkpointing.lock();
        self.check_writable()?;
        self.checkpoint_bytes.store(self.wal.bytes_appended(), Ordering::Relaxed);
        self.inner.checkpoint()?;
        let covered = self.inner.status()?.durable_lsn;
        self.wal.checkpointed(covered)?;
        self.checkpoints.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::btree::MemFile;
    use crate::storage::wal::dir::MemDir;
    use std::time::Duration;

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

    #[test]
    fn the_checkpointer_runs_by_log_volume_and_the_log_below_it_is_recycled() {
        const SEGMENT: u64 = 8192;
        const EVERY: u64 = 64 << 10;
        let data = Arc::new(MemFile::new());
        let dir: Arc<dyn WalDir> = Arc::new(MemDir::new());
        let e = Arc::new(open(data.clone(), dir.clone()));
        e.start_checkpointer(EVERY, None);
        // Rounds of ~1.5 times the threshold; after each, the checkpointer must have run (a
        // bounded wait for it, not a measurement).
        let (rounds, per_round) = (8u32, 750u32);
        for round in 0..rounds {
            let before = e.checkpoints();
            for k in round * per_round..(round + 1) * per_round {
                put(&e, k);
            }
            let deadline = Instant::now() + Duration::from_secs(20);
            while e.checkpoints() == before && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        let n = rounds * per_round;
        assert!(e.wal_stats().bytes > 8 * EVERY);
        let _quiet = e.checkpointing.lock();
        assert!(e.checkpoints() >= rounds as u64, "checkpoints by volume: {}", e.checkpoints());
        let names = dir.list().unwrap();
        let live = names.iter().filter(|n| !n.starts_with("spare-")).count() as u64;
        assert!(live <= 2 * EVERY / SEGMENT + 3, "segments below the checkpoint are recycled: {names:?}");
        assert!((names.len() as u64) <= 3 * EVERY / SEGMENT + 3, "spares are reused: {names:?}");
        drop(_quiet);
        std::mem::forget(e);
        let e = open(data, dir);
        for k in 0..n {
            assert!(e.get(&k.to_be_bytes()).unwrap().is_some(), "key {k} lost");
        }
    }

    #[test]
    fn a_batch_the_store_refuses_never_reaches_the_log() {
        let e = open(Arc::new(MemFile::new()), Arc::new(MemDir::new()));
        let mut b = WriteBatch::new();
        b.put(vec![1; 100_000], vec![]);
        assert!(e.write(b).is_err());
        assert_eq!(e.wal_stats().records, 0);
        assert_eq!(put(&e, 1), 1, "later writes go on");
    }

    #[test]
    fn sixteen_clients_share_flushes_when_fsync_takes_2ms() {
        let faults = crate::storage::testfs::faults::Faults::new();
        faults.delay_syncs(Duration::from_millis(2));
        let dir = faults.dir(Arc::new(MemDir::new()));
        let e = Arc::new(open(Arc::new(MemFile::new()), dir));
        let before = e.wal_stats();
        let clients: Vec<_> = (0..16u32)
            .map(|c| {
                let e = e.clone();
                std::thread::spawn(move || {
                    for i in 0..20 {
                        put(&e, c * 1000 + i);
                    }
                })
            })
            .collect();
        for c in clients {
            c.join().unwrap();
        }
        let s = e.wal_stats();
        let per_flush = (s.records - before.records) as f64 / (s.flushes - before.flushes) as f64;
        assert_eq!(s.records - before.records, 320);
        assert!(per_flush >= 4.0, "commits per flush with 16 clients: {per_flush:.1}");
    }
}
