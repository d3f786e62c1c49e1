//! Fault injection through the file abstraction: wrap any [`DataFile`] or [`WalDir`] and make its
//! writes fail with ENOSPC or EIO, its reads fail with EIO, its fsyncs fail, or its fsyncs slow
//! (a fixed delay per fsync, to study group commit on a fast disk).
//!
//! One [`Faults`] switchboard controls every file wrapped with it; switches take effect on the next
//! call. Directory operations count as writes (`create`, `rename`, `remove`) and as fsyncs (`sync`).

use crate::storage::btree::DataFile;
use crate::storage::wal::dir::WalDir;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// ENOSPC.
pub const ENOSPC: i32 = 28;
/// EIO.
pub const EIO: i32 = 5;

/// The switches, shared by every wrapped file.
#[derive(Default)]
pub struct Faults {
    /// errno every write fails with (0 = none).
    write_errno: AtomicI32,
    /// errno every read fails with (0 = none).
    read_errno: AtomicI32,
    /// Whether fsync fails (EIO).
    sync_fails: AtomicBool,
    /// Microseconds added to every fsync.
    sync_delay_us: AtomicU64,
    /// fsyncs performed (file and directory).
    syncs: AtomicU64,
}

impl Faults {
    /// No faults.
    pub fn new() -> Arc<Faults> {
        Arc::new(Faults::default())
    }
    /// Makes every write fail with `errno` (0 clears).
    pub fn fail_writes(&self, errno: i32) {
        self.write_errno.store(errno, Ordering::SeqCst);
    }
    /// Makes every read fail with `errno` (0 clears).
    pub fn fail_reads(&self, errno: i32) {
        self.read_errno.store(errno, Ordering::SeqCst);
    }
    /// Makes every fsync fail with EIO (or succeed again).
    pub fn fail_syncs(&self, fail: bool) {
        self.sync_fails.store(fail, Ordering::SeqCst);
    }
    /// Adds `delay` to every fsync.
    pub fn delay_syncs(&self, delay: Duration) {
        self.sync_delay_us.store(delay.as_micros() as u64, Ordering::SeqCst);
    }
    /// fsyncs performed so far.
    pub fn syncs(&self) -> u64 {
        self.syncs.load(Ordering::SeqCst)
    }
    /// Wraps a file.
    pub fn file(self: &Arc<Self>, inner: Arc<dyn DataFile>) -> Arc<dyn DataFile> {
        Arc::new(FaultFile { inner, faults: self.clone() })
    }
    /// Wraps a directory (and every file it opens or creates).
    pub fn dir(self: &Arc<Self>, inner: Arc<dyn WalDir>) -> Arc<dyn WalDir> {
        Arc::new(FaultDir { inner, faults: self.clone() })
    }

    fn check(errno: &AtomicI32) -> io::Result<()> {
        match errno.load(Ordering::SeqCst) {
            0 => Ok(()),
            e => Err(io::Error::from_raw_os_error(e)),
        }
    }

    fn sync(&self) -> io::Result<()> {
        let delay = self.sync_delay_us.load(Ordering::SeqCst);
        if delay > 0 {
            std::thread::sleep(Duration::from_micros(delay));
        }
        if self.sync_fails.load(Ordering::SeqCst) {
            return Err(io::Error::from_raw_os_error(EIO));
        }
        self.syncs.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

/// A file whose calls pass through a [`Faults`] switchboard.
struct FaultFile {
    inner: Arc<dyn DataFile>,
    faults: Arc<Faults>,
}

impl DataFile for FaultFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        Faults::check(&self.faults.read_errno)?;
        self.inner.read_at(buf, offset)
    }
    fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        Faults::check(&self.faults.write_errno)?;
        self.inner.write_at(buf, offset)
    }
    fn sync(&self) -> io::Result<()> {
        self.faults.sync()?;
        self.inner.sync()
    }
    fn size(&self) -> io::Result<u64> {
        self.inner.size()
    }
}

/// A directory whose calls (and files) pass through a [`Faults`] switchboard.
struct FaultDir {
    inner: Arc<dyn WalDir>,
    faults: Arc<Faults>,
}

impl WalDir for FaultDir {
    fn list(&self) -> io::Result<Vec<String>> {
        Faults::check(&self.faults.read_errno)?;
        self.inner.list()
    }
    fn open(&self, name: &str) -> io::Result<Arc<dyn DataFile>> {
        Ok(self.faults.file(self.inner.open(name)?))
    }
    fn create(&self, name: &str, size: u64) -> io::Result<Arc<dyn DataFile>> {
        Faults::check(&self.faults.write_errno)?;
        Ok(self.faults.file(self.inner.create(name, size)?))
    }
    fn rename(&self, from: &str, to: &str) -> io::Result<()> {
        Faults::check(&self.faults.write_errno)?;
        self.inner.rename(from, to)
    }
    fn remove(&self, name: &str) -> io::Result<()> {
        Faults::check(&self.faults.write_errno)?;
        self.inner.remove(name)
    }
    fn sync(&self) -> io::Result<()> {
        self.faults.sync()?;
        self.inner.sync()
    }
}
