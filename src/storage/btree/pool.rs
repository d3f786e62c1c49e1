//! The buffer pool: a fixed set of page-sized frames caching pages of the data file.
//!
//! Page bytes are reachable only through guards. [`Pool::fetch`] returns a [`PageRef`], a *pin*
//! that keeps the page resident; [`PageRef::read`] and [`PageRef::write`] take the frame's
//! reader-writer *latch* and return a [`PageRead`] / [`PageWrite`] that derefs to the bytes. Dropping
//! a guard releases the latch, then the pin.
//!
//! ## Invariants
//! - **No latch across I/O.** The page table mutex is never held during I/O. A frame latch is held
//!   across I/O only by the thread loading that very frame, and callers that hold other latches use
//!   [`Pool::fetch_cached`], which never returns a frame still loading: they drop their latches, call
//!   [`Pool::fetch`] to do the I/O latch-free, and retry. Write-back copies the page under a read
//!   latch and writes the copy with the latch released.
//! - **Pinned frames are never evicted**; pinning happens under the table mutex, so a frame seen
//!   unpinned there stays so until the mutex is released.
//! - **Dirty frames are written before reuse.** A write guard marks its frame dirty when taken; the
//!   replacer is only offered clean, unpinned, loaded frames. When it finds none, the pool pins some
//!   dirty frames, writes them back with no latch held, and tries again. A frame stays pinned (so
//!   mapped) until its write completes, so nobody can read a stale copy from disk meanwhile, and a
//!   per-frame I/O mutex keeps two write-backs of one page from overlapping (the older could land
//!   last) and lets a checkpoint wait for write-backs already under way before it fsyncs.
//! - **Every page read from disk is verified** by the store's verifier (checksum, own page id,
//!   generation, body structure) before anyone can see it. A failed load unmaps the frame and returns
//!   the [`Corrupt`](crate::error::ErrorKind::Corrupt) error; other pages are unaffected.
//!
//! The pool is pre-faulted: every frame's memory is touched at start-up, because the first touch of
//! fresh memory is slow on these machines and would otherwise land on the query path.
//!
//! Writers that must not do I/O while holding latches first [`Pool::reserve`] clean frames, then
//! turn them into new pages with [`Pool::create`], which never does I/O.

use super::clock::{Clock, Probe, Replacer};
use super::file::DataFile;
use super::page::{self, PageId};
use crate::err;
use crate::error::{Error, Result};
use parking_lot::{Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;

/// Checks a page just read from disk: `(bytes, expected page id, newest valid generation)`.
pub type Verifier = fn(&[u8], PageId, u64, &str) -> Result<()>;

/// How many dirty frames one eviction pass writes back at most.
const WRITE_BACK_BATCH: usize = 16;
/// How often a thread retries when every frame is pinned before giving up.
const EXHAUSTED_RETRIES: usize = 10_000;

/// Frame contents, behind the frame latch.
pub struct Buf {
    /// The page held, once loaded or created.
    id: Option<PageId>,
    /// The page's bytes.
    data: Box<[u8]>,
}

/// One page-sized slot of the pool.
struct Frame {
    /// The page latch guarding the bytes.
    latch: RwLock<Buf>,
    /// Pins: while non-zero the frame keeps its page.
    pins: AtomicU32,
    /// Whether the bytes differ from the page on disk.
    dirty: AtomicBool,
    /// Held for a whole write-back (copy and write), so two writes of one page never overlap
    /// (the older could land last) and a checkpoint can wait for writes already under way.
    io: Mutex<()>,
}

/// Page ids are dense integers: one multiplication (Fibonacci hashing) spreads them well and costs
/// far less than the default SipHash on the hit path.
#[derive(Default, Clone, Copy)]
struct PageIdHasher(u64);

impl Hasher for PageIdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// The page table: which frame holds which page. Its mutex is never held across I/O.
struct Table {
    /// Page id to frame.
    map: HashMap<PageId, usize, BuildHasherDefault<PageIdHasher>>,
    /// Page each frame holds (None: free or reserved).
    ids: Vec<Option<PageId>>,
    /// Whether the frame's page is loaded (false while its read is in flight).
    ready: Vec<bool>,
    /// Frames holding no page and not reserved.
    free: Vec<usize>,
    /// The replacement policy.
    replacer: Box<dyn Replacer>,
}

/// Counters for monitoring and benchmarks.
#[derive(Debug, Default)]
pub struct PoolStats {
    /// Fetches served from memory.
    pub hits: AtomicU64,
    /// Pages read from disk.
    pub reads: AtomicU64,
    /// Pages written to disk.
    pub writes: AtomicU64,
}

/// The buffer pool.
pub struct Pool {
    /// Bytes per page.
    page_size: usize,
    /// The frames, pre-faulted.
    frames: Box<[Frame]>,
    /// The page table.
    table: Mutex<Table>,
    /// Where pages are read from and written to.
    file: Arc<dyn DataFile>,
    /// The file's name, for error messages.
    file_name: String,
    /// Checks every page read from disk.
    verifier: Verifier,
    /// Newest generation a page read from disk may carry.
    max_generation: AtomicU64,
    /// Counters.
    pub stats: PoolStats,
}

/// A pin on a resident page: it cannot be evicted while this lives.
pub struct PageRef<'a> {
    /// The pool.
    pool: &'a Pool,
    /// The pinned frame.
    frame: usize,
}

/// Shared access to a page's bytes.
pub struct PageRead<'a> {
    /// The shared latch (dropped first).
    guard: RwLockReadGuard<'a, Buf>,
    /// The pin (dropped after the latch).
    _pin: PageRef<'a>,
}

/// Exclusive access to a page's bytes; marks the page dirty.
pub struct PageWrite<'a> {
    /// The exclusive latch (dropped first).
    guard: RwLockWriteGuard<'a, Buf>,
    /// The pin (dropped after the latch).
    _pin: PageRef<'a>,
}

/// Clean frames set aside, so that new pages can be created without I/O.
pub struct Reservation<'a> {
    /// The pool.
    pool: &'a Pool,
    /// Frames set aside, each pinned once and unmapped.
    frames: Vec<usize>,
}

impl Pool {
    /// A pool of `frames` frames of `page_size` bytes over `file`, pre-faulted.
    pub fn new(
        file: Arc<dyn DataFile>,
        file_name: String,
        page_size: usize,
        frames: usize,
        verifier: Verifier,
    ) -> Pool {
        let frames: Box<[Frame]> = (0..frames)
            .map(|_| {
                let mut data = vec![0u8; page_size].into_boxed_slice();
                // Touch every OS page so the memory is really mapped now (calloc maps lazily).
                for i in (0..page_size).step_by(4096) {
                    // SAFETY: `i < data.len()`; a volatile write keeps the store from being elided.
                    unsafe { std::ptr::write_volatile(data.as_mut_ptr().add(i), 0) };
                }
                Frame {
                    latch: RwLock::new(Buf { id: None, data }),
                    pins: AtomicU32::new(0),
                    dirty: AtomicBool::new(false),
                    io: Mutex::new(()),
                }
            })
            .collect();
        let n = frames.len();
        let table = Table {
            map: HashMap::with_capacity_and_hasher(n, BuildHasherDefault::default()),
            ids: vec![None; n],
            ready: vec![false; n],
            free: (0..n).rev().collect(),
            replacer: Box::new(Clock::new(n)),
        };
        Pool {
            page_size,
            frames,
            table: Mutex::new(table),
            file,
            file_name,
            verifier,
            max_generation: AtomicU64::new(0),
            stats: PoolStats::default(),
        }
    }

    /// Page size in bytes.
    pub fn page_size(&self) -> usize {
        self.page_size
    }

    /// Number of frames.
    pub fn capacity(&self) -> usize {
        self.frames.len()
    }

    /// Sets the generation being built: the newest a page read from disk may carry, and the only
    /// one a page being written back may carry.
    pub fn set_max_generation(&self, g: u64) {
        self.max_generation.store(g, Ordering::Release);
    }

    /// The file's name, for error messages.
    pub fn file_name(&self) -> &str {
        &self.file_name
    }

    fn pin(&self, table: &mut Table, frame: usize) -> PageRef<'_> {
        self.frames[frame].pins.fetch_add(1, Ordering::AcqRel);
        table.replacer.touch(frame);
        PageRef { pool: self, frame }
    }

    /// Pins page `id` if it is resident and loaded; never blocks on I/O.
    pub fn fetch_cached(&self, id: PageId) -> Option<PageRef<'_>> {
        let mut t = self.table.lock();
        let f = *t.map.get(&id)?;
        if !t.ready[f] {
            return None;
        }
        self.stats.hits.fetch_add(1, Ordering::Relaxed);
        Some(self.pin(&mut t, f))
    }

    /// Pins page `id`, reading it from disk if needed. Must be called with no latch held.
    pub fn fetch(&self, id: PageId) -> Result<PageRef<'_>> {
        loop {
            {
                let mut t = self.table.lock();
                if let Some(&f) = t.map.get(&id) {
                    let ready = t.ready[f];
                    let r = self.pin(&mut t, f);
                    drop(t);
                    if ready {
                        self.stats.hits.fetch_add(1, Ordering::Relaxed);
                        return Ok(r);
                    }
                    // Someone is loading it: wait for the latch, then check the load succeeded.
                    let loaded = self.frames[r.frame].latch.read().id == Some(id);
                    if loaded {
                        return Ok(r);
                    }
                    continue;
                }
            }
            let f = self.take_frame()?;
            let mut t = self.table.lock();
            if t.map.contains_key(&id) {
                // Lost a race with another loader: give the frame back and use theirs.
                t.free.push(f);
                self.frames[f].pins.fetch_sub(1, Ordering::AcqRel);
                continue;
            }
            let frame = &self.frames[f];
            let mut buf = frame.latch.try_write().expect("a free frame is unpinned, so unlatched");
            t.map.insert(id, f);
            t.ids[f] = Some(id);
            t.ready[f] = false;
            t.replacer.touch(f);
            drop(t);
            buf.id = None;
            let loaded = self.read_page(id, &mut buf.data);
            let mut t = self.table.lock();
            match loaded {
                Ok(()) => {
                    buf.id = Some(id);
                    t.ready[f] = true;
                    drop(t);
                    drop(buf);
                    return Ok(PageRef { pool: self, frame: f });
                }
                Err(e) => {
                    // Unmapped and unready: the replacer hands it out again once every waiter unpins.
                    t.map.remove(&id);
                    t.ids[f] = None;
                    drop(t);
                    drop(buf);
                    frame.pins.fetch_sub(1, Ordering::AcqRel);
                    return Err(e);
                }
            }
        }
    }

    fn read_page(&self, id: PageId, data: &mut [u8]) -> Result<()> {
        self.stats.reads.fetch_add(1, Ordering::Relaxed);
        let off = id * self.page_size as u64;
        if let Err(e) = self.file.read_at(data, off) {
            if e.kind() == std::io::ErrorKind::UnexpectedEof {
                return Err(err!(
                    Corrupt,
                    "invalid page {id} in data file \"{}\": beyond the end of the file",
                    self.file_name
                ));
            }
            return Err(Error::from(e));
        }
        (self.verifier)(data, id, self.max_generation.load(Ordering::Acquire), &self.file_name)
    }

    /// Takes a clean, unmapped frame, pinned once. May write dirty frames back (I/O).
    fn take_frame(&self) -> Result<usize> {
        // After a failed write-back (disk full, I/O error) look only for clean frames, so reads keep
        // working while writes cannot; the failure is returned only if no clean frame exists.
        let mut write_failure: Option<Error> = None;
        for attempt in 0..EXHAUSTED_RETRIES {
            let mut dirty = Vec::new();
            let skip_dirty = write_failure.is_some();
            {
                let mut t = self.table.lock();
                if let Some(f) = t.free.pop() {
                    self.frames[f].pins.store(1, Ordering::Release);
                    return Ok(f);
                }
                let Table { replacer, ready, ids, .. } = &mut *t;
                let frames = &self.frames;
                // Frames in `free` are never offered: this runs only when `free` is empty.
                let victim = replacer.victim(&mut |f| {
                    if frames[f].pins.load(Ordering::Acquire) != 0 {
                        return Probe::Skip;
                    }
                    if ids[f].is_none() {
                        return Probe::Take; // left over from a failed load
                    }
                    if !ready[f] {
                        return Probe::Skip;
                    }
                    if frames[f].dirty.load(Ordering::Acquire) {
                        if skip_dirty {
                            return Probe::Skip;
                        }
                        dirty.push(f);
                        return if dirty.len() == WRITE_BACK_BATCH { Probe::Stop } else { Probe::Skip };
                    }
                    Probe::Take
                });
                if let Some(f) = victim {
                    if let Some(id) = t.ids[f].take() {
                        t.map.remove(&id);
                    }
                    t.ready[f] = false;
                    self.frames[f].pins.store(1, Ordering::Release);
                    return Ok(f);
                }
                for &f in &dirty {
                    self.frames[f].pins.fetch_add(1, Ordering::AcqRel);
                }
            }
            if dirty.is_empty() {
                if let Some(e) = write_failure {
                    return Err(e);
                }
                if attempt % 64 == 63 {
                    std::thread::sleep(std::time::Duration::from_micros(100));
                } else {
                    std::thread::yield_now();
                }
                continue;
            }
            let mut result = Ok(());
            for &f in &dirty {
                if result.is_ok() {
                    result = self.write_back(f);
                }
                self.frames[f].pins.fetch_sub(1, Ordering::AcqRel);
            }
            if let Err(e) = result {
                write_failure = Some(e);
            }
        }
        Err(err!(OutOfMemory, "buffer pool exhausted: all {} frames are pinned", self.frames.len()))
    }

    /// Writes frame `f` to disk if dirty. The caller holds a pin on it.
    fn write_back(&self, f: usize) -> Result<()> {
        let frame = &self.frames[f];
        let _io = frame.io.lock();
        let mut copy = vec![0u8; self.page_size];
        let id = {
            let g = frame.latch.read();
            if !frame.dirty.swap(false, Ordering::AcqRel) {
                return Ok(());
            }
            copy.copy_from_slice(&g.data);
            g.id.expect("a dirty frame holds a page")
        };
        // Copy-on-write invariant: only pages of the generation being built are ever written, so no
        // write can touch a page the last durable checkpoint references.
        let g = page::generation(&copy);
        assert_eq!(
            g,
            self.max_generation.load(Ordering::Acquire),
            "write-back of page {id} of an older generation"
        );
        page::seal(&mut copy, id);
        self.stats.writes.fetch_add(1, Ordering::Relaxed);
        if let Err(e) = self.file.write_at(&copy, id * self.page_size as u64) {
            frame.dirty.store(true, Ordering::Release);
            return Err(e.into());
        }
        Ok(())
    }

    /// Writes every dirty page to the file (not synced) and waits for write-backs already under
    /// way, so that a following fsync covers every page written so far. Pages dirtied concurrently
    /// may be missed; the checkpoint calls this with writers excluded.
    pub fn flush_all(&self) -> Result<()> {
        let mut dirty: Vec<(PageId, usize)> = {
            let t = self.table.lock();
            (0..self.frames.len())
                .filter(|&f| t.ready[f] && self.frames[f].dirty.load(Ordering::Acquire))
                .filter_map(|f| t.ids[f].map(|id| (id, f)))
                .collect()
        };
        dirty.sort_unstable();
        for (id, f) in dirty {
            let pinned = {
                let mut t = self.table.lock();
                (t.ids[f] == Some(id)).then(|| self.pin(&mut t, f))
            };
            if let Some(pin) = pinned {
                self.write_back(pin.frame)?;
            }
        }
        // An eviction may have copied a page and cleared its dirty flag but not yet written it.
        for frame in self.frames.iter() {
            drop(frame.io.lock());
        }
        Ok(())
    }

    /// Sets aside `n` clean frames for [`Pool::create`]. May do I/O; call with no latch held.
    pub fn reserve(&self, n: usize) -> Result<Reservation<'_>> {
        let mut r = Reservation { pool: self, frames: Vec::with_capacity(n) };
        for _ in 0..n {
            r.frames.push(self.take_frame()?);
        }
        Ok(r)
    }

    /// Makes page `id` resident as a brand-new page without reading it, returning it write-latched
    /// and zeroed. If a stale copy of `id` (a freed page) is resident, that frame is reused. No I/O.
    pub fn create<'a>(&'a self, res: &mut Reservation<'a>, id: PageId) -> PageWrite<'a> {
        loop {
            let mut t = self.table.lock();
            if let Some(&f) = t.map.get(&id) {
                if !t.ready[f] {
                    // A stale reader is loading the old page; let it finish.
                    drop(t);
                    std::thread::yield_now();
                    continue;
                }
                let r = self.pin(&mut t, f);
                drop(t);
                let mut w = r.write();
                w.guard.data.fill(0);
                return w;
            }
            let f = res.frames.pop().expect("reservation large enough for the pages created");
            let frame = &self.frames[f];
            let mut buf = frame.latch.try_write().expect("a reserved frame is unlatched");
            t.map.insert(id, f);
            t.ids[f] = Some(id);
            t.ready[f] = true;
            t.replacer.touch(f);
            drop(t);
            buf.id = Some(id);
            frame.dirty.store(true, Ordering::Release);
            let mut w = PageWrite { guard: buf, _pin: PageRef { pool: self, frame: f } };
            w.fill(0);
            return w;
        }
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        if self.frames.is_empty() {
            return;
        }
        let mut t = self.pool.table.lock();
        for &f in &self.frames {
            self.pool.frames[f].pins.store(0, Ordering::Release);
            t.free.push(f);
        }
    }
}

impl<'a> PageRef<'a> {
    /// Takes the frame's latch shared.
    pub fn read(self) -> PageRead<'a> {
        let guard = self.pool.frames[self.frame].latch.read();
        PageRead { guard, _pin: self }
    }

    /// Takes the frame's latch exclusively. The page becomes dirty on its first mutable access, so
    /// a page latched but left unchanged is never written back.
    pub fn write(self) -> PageWrite<'a> {
        let guard = self.pool.frames[self.frame].latch.write();
        PageWrite { guard, _pin: self }
    }
}

impl Clone for PageRef<'_> {
    /// Another pin on the same page (the page is resident: this one already pins it).
    fn clone(&self) -> Self {
        self.pool.frames[self.frame].pins.fetch_add(1, Ordering::AcqRel);
        PageRef { pool: self.pool, frame: self.frame }
    }
}

impl Drop for PageRef<'_> {
    fn drop(&mut self) {
        self.pool.frames[self.frame].pins.fetch_sub(1, Ordering::AcqRel);
    }
}

impl PageRead<'_> {
    /// The page's id.
    #[cfg(test)]
    pub fn id(&self) -> PageId {
        self.guard.id.expect("a latched page is mapped")
    }
}

impl PageWrite<'_> {
    /// The page's id.
    pub fn id(&self) -> PageId {
        self.guard.id.expect("a latched page is mapped")
    }
}

impl std::ops::Deref for PageRead<'_> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.guard.data
    }
}

impl std::ops::Deref for PageWrite<'_> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.guard.data
    }
}

impl std::ops::DerefMut for PageWrite<'_> {
    fn deref_mut(&mut self) -> &mut [u8] {
        // Set under the exclusive latch, so a concurrent write-back (which copies under the shared
        // latch and clears the flag there) either sees this change or leaves the page dirty.
        self._pin.pool.frames[self._pin.frame].dirty.store(true, Ordering::Release);
        &mut self.guard.data
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::storage::btree::file::MemFile;
    use crate::storage::btree::page::PageType;

    fn verify(p: &[u8], id: PageId, g: u64, name: &str) -> Result<()> {
        page::verify(p, id, g, name).map(|_| ())
    }

    #[test]
    fn pages_survive_eviction_and_corruption_is_reported() {
        let file = Arc::new(MemFile::new());
        let pool = Pool::new(file.clone(), "mem".into(), 512, 64, verify);
        pool.set_max_generation(1);
        // Create 500 pages through a 64-frame pool: most get evicted and written back.
        for id in 0..500u64 {
            let mut res = pool.reserve(1).unwrap();
            let mut w = pool.create(&mut res, id);
            page::init(&mut w, PageType::Overflow, id, 1);
            w[100] = (id % 251) as u8;
        }
        for id in (0..500u64).rev() {
            let r = pool.fetch(id).unwrap().read();
            assert_eq!(r[100], (id % 251) as u8);
        }
        assert!(pool.stats.reads.load(Ordering::Relaxed) > 0);
        pool.flush_all().unwrap();
        // Corrupt page 3 on "disk" and make sure it is not resident.
        let mut buf = vec![0u8; 512];
        file.read_at(&mut buf, 3 * 512).unwrap();
        buf[200] ^= 0xff;
        file.write_at(&buf, 3 * 512).unwrap();
        for id in 100..300u64 {
            pool.fetch(id).unwrap();
        }
        let e = pool.fetch(3).err().expect("corrupt page");
        assert_eq!(e.kind, ErrorKind::Corrupt);
        assert!(e.message.contains("page 3 "), "{}", e.message);
        assert!(pool.fetch(4).is_ok());
        let e = pool.fetch(10_000).err().expect("beyond end");
        assert_eq!(e.kind, ErrorKind::Corrupt);
    }
}
