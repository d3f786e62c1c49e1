//! The B+tree page store: an [`Engine`] on a data file of fixed-size pages, cached in a bounded
//! buffer pool, organised as one B+tree, with copy-on-write checkpoints.
//!
//! ## Shape
//!
//! ```text
//!   BTreeStore ── Engine: get / scan_chunk / write / wait_durable / status, checkpoint()
//!     ├─ read.rs      readers: latch coupling, restart on a pool miss, fence-key scans
//!     ├─ write.rs     the single writer: plan → latch → modify; copy-on-write, split, merge
//!     ├─ overflow.rs  values larger than a quarter page, in runs of overflow pages
//!     ├─ check.rs     full consistency check (fences, runs, page accounting)
//!     ├─ node.rs      slotted node pages (format table there)
//!     ├─ alloc.rs     free / pending pages, the on-disk free list
//!     ├─ pool.rs      buffer pool: frames, pins, latches, write-back; clock.rs: replacement
//!     ├─ meta.rs      the two meta slots (file header)
//!     ├─ page.rs      the common page header and checksum
//!     └─ file.rs      the I/O trait every read, write and fsync goes through
//! ```
//!
//! The file format is summarised for users in `docs/file-format.md`; each table is defined once,
//! in the module that encodes it.
//!
//! ## Design choice: copy-on-write checkpoints over two meta slots
//!
//! Pages 0 and 1 hold two meta slots; checkpoint `g` writes slot `g % 2`, and opening takes the valid
//! slot with the higher generation. Between checkpoints, no page the last durable checkpoint can
//! reach is ever written: the first change to such a page copies it to a page that checkpoint does
//! not use (see `write.rs`), and the page it replaces is only reused once the next checkpoint is
//! durable (see `alloc.rs`). A checkpoint is then:
//!
//! 1. write the free list and every dirty page (each to a page no durable meta references; most
//!    of them before writers are excluded, the rest after);
//! 2. fsync the data file;
//! 3. write the new meta into the older slot; fsync;
//! 4. only now let pages freed since the last checkpoint be reused.
//!
//! A worked example:
//!
//! ```text
//! checkpoint 7 is durable (slot 1)        root A(gen 5) ─┬─ B(gen 3)
//!                                                        └─ C(gen 7)
//! generation 8: put k, which lands in C   C is older than 8: copy it to C'(gen 8); A points at
//!                                         C, so copy A to A'(gen 8) too. A and C are pending.
//!                                         root A' ─┬─ B
//!                                                  └─ C'
//! put k2, also in C'                      C' is of generation 8: changed in place
//! the pool evicts C'                      written to its own page: checkpoint 7 never uses it
//! checkpoint 8                            free list + dirty pages, fsync, meta {root A', gen 8}
//!                                         into slot 0, fsync; A and C are now free
//! ```
//!
//! A crash at any instant leaves the last durable checkpoint intact and self-consistent, with no
//! log replay and no torn-page problem for tree pages: a torn page is one no durable meta references,
//! and a torn meta write fails its CRC so the other slot is used. Why this over in-place updates
//! with full-page images (PostgreSQL) or a log-structured store: it is the design whose invariants
//! are easiest to state and test (WiredTiger, LMDB, redb use it), dirty pages can be evicted at any
//! time without waiting for a log, and the write-ahead log (issue 7) becomes purely *logical*: it
//! only has to replay write batches with an LSN above the checkpoint's, which the meta records.
//! The cost is that the first change to each page after a checkpoint copies it and its ancestors.
//!
//! ## One tree
//!
//! The store holds a single B+tree for all keys. The layers above prefix every key with its key
//! space (table, index, catalog) through the keycode encoding, so a table is a contiguous key range
//! and a range scan of one table never visits another's leaves; one tree keeps the meta page,
//! checkpoint and recovery simple. Per-table trees can be added behind the same `Engine` later.
//!
//! ## Concurrency
//!
//! Readers run concurrently with each other and with the writer; writes are serialised by a writer
//! mutex, which also excludes checkpoints. Pages are latched only through pool guards; readers use
//! latch coupling, the writer latches top-down after planning, and nobody holds a latch across I/O
//! (see `read.rs`, `write.rs`, `pool.rs`). Each put or delete is one tree operation: a concurrent
//! reader can observe a batch partly applied while [`Engine::write`] runs; every write is visible
//! when it returns. The MVCC layer above publishes visibility itself, so it needs no more.
//!
//! ## Durability on its own and behind the log
//!
//! On its own, **only checkpoints are durable**: [`BTreeStore::checkpoint`] (also run by
//! [`BTreeStore::close`] and, best effort, on drop) makes everything written so far survive a
//! crash; a crash loses the writes after the last checkpoint, whole batches only (a batch never
//! straddles a checkpoint). [`Engine::wait_durable`] returns at once and [`Status::durable_lsn`]
//! reports the LSN of the last checkpoint. The server runs the store behind the write-ahead log
//! ([`crate::storage::logged::Logged`]): every batch is logged before it is applied here, a commit
//! waits for the log's flush, and recovery replays the log above the checkpoint's LSN, which the
//! meta records.
//!
//! ## Failure handling
//!
//! Every page read from disk is verified (checksum, own page number, generation, body structure);
//! failure is [`ErrorKind::Corrupt`](crate::error::ErrorKind::Corrupt) (XX001) naming the page, and
//! only operations that need that page fail. A single put or delete either fails before changing
//! anything (all its I/O and checks happen while planning) or succeeds, so a batch whose first write
//! fails is simply refused. A failure later in a batch, any checkpoint failure and any fsync failure
//! poison the store for writing (reads continue): a half-applied batch must never reach a
//! checkpoint, and after a failed fsync the kernel may have dropped dirty pages, so retrying would be
//! a lie. Reopening returns to the last durable checkpoint.
//!
//! ## Left out
//!
//! - More than one writer at a time: batches are applied one after another (the writer mutex is
//!   held while a write loads pages, which delays other writers but never readers).
//! - Automatic checkpoints: the owner calls [`BTreeStore::checkpoint`] (behind the log, the
//!   background checkpointer of [`crate::storage::logged`] does, by log volume and time). A
//!   checkpoint writes most dirty pages before excluding writers, then stalls them for the
//!   remainder and two fsyncs.
//! - Shrinking the file, redistribution between underfull siblings, prefix compression.
//! - The free list lives in memory while open (8 bytes per free page, a few MB for a 2 GB file).

mod alloc;
mod check;
mod clock;
mod config;
mod file;
mod meta;
mod node;
mod overflow;
mod page;
mod pool;
mod read;
#[cfg(test)]
mod tests;
mod write;

pub use check::CheckReport;
pub use clock::{Clock, Probe, Replacer};
pub use config::{parse_size, Config, DEFAULT_BUFFER_POOL_BYTES, MIN_FRAMES};
pub use file::{DataFile, MemFile, OsFile};
pub use page::{PageId, DEFAULT_PAGE_SIZE};

use super::{Direction, Engine, KeyValue, Lsn, Status, Write, WriteBatch};
use crate::err;
use crate::error::{Error, Result};
use alloc::Allocator;
use meta::Meta;
use page::PageType;
use parking_lot::Mutex;
use pool::Pool;
use std::ops::Bound;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use write::Writer;

/// Name of the data file inside the store's directory.
pub const DATA_FILE: &str = "data.ssidb";

/// The B+tree page store.
pub struct BTreeStore {
    /// The buffer pool, the only way to page bytes.
    pool: Pool,
    /// The data file (syncs and meta writes bypass the pool).
    file: Arc<dyn DataFile>,
    /// Page size of the file.
    page_size: usize,
    /// Root page of the tree; changed only by the writer, under the old root's latch.
    root: AtomicU64,
    /// The single writer's state; holding it excludes other writers and checkpoints.
    writer: Mutex<Writer>,
    /// Live keys, mirrored from the writer for lock-free status.
    keys: AtomicU64,
    /// Live key and value bytes, mirrored likewise.
    bytes: AtomicU64,
    /// LSN of the last durable checkpoint.
    durable_lsn: AtomicU64,
    /// Set when a write or fsync failed: further writes are refused until reopened.
    poisoned: AtomicBool,
    /// Set by `close`, so that drop does not checkpoint again.
    closed: AtomicBool,
}

/// Counters for monitoring, tests and benchmarks.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StoreStats {
    /// Page size in bytes.
    pub page_size: usize,
    /// Buffer pool frames.
    pub pool_frames: usize,
    /// Pool hits.
    pub hits: u64,
    /// Pages read from disk.
    pub reads: u64,
    /// Pages written to disk.
    pub writes: u64,
    /// High-water mark of the file in pages.
    pub page_count: u64,
    /// Pages free for reuse now.
    pub free_pages: usize,
    /// Pages freed since the last checkpoint, reusable after the next.
    pub pending_pages: usize,
    /// Generation being built (last durable checkpoint + 1).
    pub generation: u64,
    /// Node splits since open.
    pub splits: u64,
    /// Node merges since open.
    pub merges: u64,
}

fn verify_page(p: &[u8], id: PageId, max_generation: u64, file: &str) -> Result<()> {
    let ty = page::verify(p, id, max_generation, file)?;
    let body = match ty {
        PageType::Leaf | PageType::Internal => node::validate(p, ty),
        PageType::Overflow => overflow::validate(p),
        PageType::FreeList => alloc::decode_page(p).map(|_| ()),
        PageType::Meta => Err("a meta page where a data page belongs".to_string()),
    };
    body.map_err(|why| err!(Corrupt, "invalid page {id} in data file \"{file}\": {why}"))
}

impl BTreeStore {
    /// Opens the store in directory `dir` (created if missing), creating the data file if needed.
    pub fn open(dir: impl AsRef<Path>, config: Config) -> Result<BTreeStore> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir)?;
        let path = dir.join(DATA_FILE);
        if !path.exists() {
            // Build the empty store under a temporary name and rename it into place, so a crash
            // during creation never leaves a data file without a valid meta slot.
            let new = dir.join(format!("{DATA_FILE}.new"));
            let _ = std::fs::remove_file(&new);
            let file = Arc::new(OsFile::open(&new)?);
            Self::open_file(file, new.display().to_string(), config.clone())?.close()?;
            std::fs::rename(&new, &path)?;
            std::fs::File::open(dir)?.sync_all()?;
        }
        let file = OsFile::open(&path)?;
        Self::open_file(Arc::new(file), path.display().to_string(), config)
    }

    /// Opens the store on any [`DataFile`] (tests, fault injection). `name` appears in errors.
    pub fn open_file(file: Arc<dyn DataFile>, name: String, config: Config) -> Result<BTreeStore> {
        config.validate()?;
        let meta = Meta::load(file.as_ref(), &name)?;
        let page_size = meta.as_ref().map_or(config.page_size, |m| m.page_size);
        let pool = Pool::new(file.clone(), name, page_size, config.frames(page_size), verify_page);
        let (generation, alloc, root, next_chain, keys, bytes, lsn) = match &meta {
            None => (1, Allocator::new(1, meta::FIRST_DATA_PAGE, vec![], vec![]), 0, 1, 0, 0, 0),
            Some(m) => {
                pool.set_max_generation(m.generation + 1);
                let (free, list_pages) = Self::read_free_list(&pool, m)?;
                let a = Allocator::new(m.generation + 1, m.page_count, free, list_pages);
                (m.generation + 1, a, m.root, m.next_chain_id, m.keys, m.bytes, m.lsn)
            }
        };
        pool.set_max_generation(generation);
        let writer =
            Writer { alloc, next_chain, chain_base: next_chain, keys, bytes, lsn, splits: 0, merges: 0 };
        let store = BTreeStore {
            pool,
            file,
            page_size,
            root: AtomicU64::new(root),
            writer: Mutex::new(writer),
            keys: AtomicU64::new(keys),
            bytes: AtomicU64::new(bytes),
            durable_lsn: AtomicU64::new(lsn),
            poisoned: AtomicBool::new(false),
            closed: AtomicBool::new(false),
        };
        if meta.is_none() {
            store.create_root()?;
            store.checkpoint()?;
        }
        Ok(store)
    }

    fn create_root(&self) -> Result<()> {
        let mut w = self.writer.lock();
        let mut res = self.pool.reserve(1)?;
        let id = w.alloc.alloc();
        let mut g = self.pool.create(&mut res, id);
        page::init(&mut g, PageType::Leaf, id, w.alloc.generation());
        node::init(&mut g, 0, 0);
        self.root.store(id, Ordering::Release);
        Ok(())
    }

    fn read_free_list(pool: &Pool, m: &Meta) -> Result<(Vec<PageId>, Vec<PageId>)> {
        let (mut free, mut pages) = (Vec::new(), Vec::new());
        let mut next = m.free_list;
        while next != 0 {
            let bad =
                |why: &str| err!(Corrupt, "invalid page {next} in data file \"{}\": {why}", pool.file_name());
            if pages.len() as u64 > m.page_count {
                return Err(bad("free list has a cycle"));
            }
            let p = pool.fetch(next)?.read();
            if page::page_type(&p) != Some(PageType::FreeList) {
                return Err(bad("expected a free-list page"));
            }
            let (link, entries) = alloc::decode_page(&p).map_err(|why| bad(&why))?;
            if entries.iter().any(|&e| e < meta::FIRST_DATA_PAGE || e >= m.page_count) {
                return Err(bad("free-list entry out of range"));
            }
            free.extend(entries);
            pages.push(next);
            next = link;
        }
        Ok((free, pages))
    }

    fn check_writable(&self) -> Result<()> {
        if self.poisoned.load(Ordering::Acquire) {
            return Err(err!(
                Io,
                "the data file had a write or fsync failure; restart to recover from the last checkpoint"
            ));
        }
        Ok(())
    }

    fn poison(&self, e: Error) -> Error {
        self.poisoned.store(true, Ordering::Release);
        e
    }

    /// Makes everything written so far durable: a copy-on-write checkpoint (see the module doc).
    pub fn checkpoint(&self) -> Result<()> {
        // Write most dirty pages before excluding writers, so they stall only for the remainder.
        self.check_writable()?;
        self.pool.flush_all().map_err(|e| self.poison(e))?;
        let mut w = self.writer.lock();
        self.check_writable()?;
        let generation = w.alloc.generation();
        let plan = w.alloc.plan_free_list(self.page_size);
        let written = (|| {
            for (i, &id) in plan.pages.iter().enumerate() {
                let next = plan.pages.get(i + 1).copied().unwrap_or(0);
                let mut res = self.pool.reserve(1)?;
                let mut g = self.pool.create(&mut res, id);
                page::init(&mut g, PageType::FreeList, id, generation);
                alloc::encode_page(&mut g, next, &plan.entries[i]);
            }
            self.pool.flush_all()?;
            self.file.sync()?;
            let meta = Meta {
                generation,
                page_size: self.page_size,
                root: self.root.load(Ordering::Acquire),
                free_list: plan.pages.first().copied().unwrap_or(0),
                page_count: w.alloc.page_count(),
                lsn: w.lsn,
                next_chain_id: w.next_chain,
                keys: w.keys,
                bytes: w.bytes,
            };
            meta.store(self.file.as_ref())?;
            self.file.sync()?;
            Ok::<(), Error>(())
        })();
        // Any failure here poisons: after a failed fsync nothing written since can be trusted.
        written.map_err(|e| self.poison(e))?;
        w.alloc.checkpoint_done(&plan);
        w.chain_base = w.next_chain;
        self.pool.set_max_generation(w.alloc.generation());
        self.durable_lsn.store(w.lsn, Ordering::Release);
        Ok(())
    }

    /// Checkpoints and closes the store; dropping it afterwards does nothing more.
    pub fn close(self) -> Result<()> {
        let r = self.checkpoint();
        self.closed.store(true, Ordering::Release);
        r
    }

    /// Counters.
    pub fn stats(&self) -> StoreStats {
        let w = self.writer.lock();
        let (free_pages, pending_pages) = w.alloc.free_counts();
        StoreStats {
            page_size: self.page_size,
            pool_frames: self.pool.capacity(),
            hits: self.pool.stats.hits.load(Ordering::Relaxed),
            reads: self.pool.stats.reads.load(Ordering::Relaxed),
            writes: self.pool.stats.writes.load(Ordering::Relaxed),
            page_count: w.alloc.page_count(),
            free_pages,
            pending_pages,
            generation: w.alloc.generation(),
            splits: w.splits,
            merges: w.merges,
        }
    }

    /// Drops the store without the closing checkpoint, as a crash would (tests).
    #[cfg(test)]
    fn abandon(self) {
        self.closed.store(true, Ordering::Release);
    }
}

impl Drop for BTreeStore {
    fn drop(&mut self) {
        if !self.closed.load(Ordering::Acquire) && !self.poisoned.load(Ordering::Acquire) {
            // Best effort: errors have nowhere to go; the previous checkpoint stays valid.
            let _ = self.checkpoint();
        }
    }
}

impl Engine for BTreeStore {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.tree_get(key)
    }

    fn scan_chunk(
        &self,
        from: Bound<&[u8]>,
        to: Bound<&[u8]>,
        direction: Direction,
        limit: usize,
    ) -> Result<Vec<KeyValue>> {
        self.tree_scan(from, to, direction, limit)
    }

    fn check_batch(&self, batch: &WriteBatch) -> Result<()> {
        for wr in &batch.writes {
            let (Write::Put(k, _) | Write::Delete(k)) = wr;
            write::check_key(self.page_size, k)?;
        }
        Ok(())
    }

    fn write(&self, batch: WriteBatch) -> Result<Lsn> {
        self.check_batch(&batch)?;
        let mut w = self.writer.lock();
        self.check_writable()?;
        for (i, wr) in batch.writes.iter().enumerate() {
            let r = match wr {
                Write::Put(k, v) => self.tree_put(&mut w, k, v),
                Write::Delete(k) => self.tree_delete(&mut w, k),
            };
            // A failed write changes nothing, so a batch failing at its first write is simply
            // refused. Later, earlier writes are applied and a batch must never be half applied at
            // a checkpoint: stop writing altogether.
            match r {
                Ok(()) => {}
                Err(e) if i == 0 => return Err(e),
                Err(e) => return Err(self.poison(e)),
            }
        }
        w.lsn += 1;
        self.keys.store(w.keys, Ordering::Relaxed);
        self.bytes.store(w.bytes, Ordering::Relaxed);
        Ok(w.lsn)
    }

    fn wait_durable(&self, _lsn: Lsn) -> Result<()> {
        // No write-ahead log yet: durability comes only from checkpoints (see the module doc).
        Ok(())
    }

    fn checkpoint(&self) -> Result<()> {
        BTreeStore::checkpoint(self)
    }

    fn counters(&self) -> Vec<(&'static str, u64)> {
        let s = self.stats();
        let (free, pending) = (s.free_pages as u64, s.pending_pages as u64);
        vec![
            ("pages", s.page_count),
            ("pages_free", free),
            ("pages_pending_free", pending),
            ("pages_in_use", s.page_count.saturating_sub(free + pending)),
            ("pool_frames", s.pool_frames as u64),
            ("pool_hits", s.hits),
            ("pool_reads", s.reads),
            ("pool_writes", s.writes),
            ("btree_splits", s.splits),
            ("btree_merges", s.merges),
        ]
    }

    fn status(&self) -> Result<Status> {
        Ok(Status {
            name: "btree".into(),
            keys: self.keys.load(Ordering::Relaxed),
            size: self.bytes.load(Ordering::Relaxed),
            persistent: true,
            durable_lsn: self.durable_lsn.load(Ordering::Acquire),
        })
    }
}
