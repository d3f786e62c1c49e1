//! A simulated disk that keeps only what was fsynced, for crash tests.
//!
//! Every file (the data file and each log segment) has two images: *current*, what reads see, and
//! *durable*, what survives a crash. `write_at` changes the current image; `sync` copies current to
//! durable. Directory entries likewise: creations and renames change the current name table and
//! [`WalDir::sync`] makes them durable. A freshly created segment's zero-filled content counts as
//! durable at once (the real `OsDir::create` syncs it before returning), its name does not.
//!
//! Each mutating call (`write_at`, file `sync`, `create`, `rename`, `remove`, directory `sync`) is
//! an *operation*, numbered from 0 once the disk is [armed](CrashDisk::arm). Armed with
//! `crash_at = n`, operation `n` does not happen: instead the disk takes a [`CrashImage`] (every
//! durable file image under the durable names; if operation `n` was a write, the first `tear` bytes
//! of it applied on top, a torn write) and then fails every later mutation with EIO, as a machine
//! that lost power would never complete them. Reads keep working on the current image, so the
//! engine above fails only through its writes. [`CrashImage::mount`] turns the image into a fresh
//! disk for recovery.
//!
//! The model is deliberately harsh: every write not followed by its file's fsync is lost, whatever
//! the order in which the kernel might have written it back. Orders the model does not produce
//! (an unsynced later write surviving while an earlier one is lost) matter only to code that relies
//! on write ordering without fsync, which the engine never does.
//!
//! `lie_about_wal_sync` makes fsync of log segments a no-op that reports success: a deliberately
//! broken disk (or log) that acknowledges commits before they are durable, so the crash test can
//! prove its checker notices.

use crate::storage::btree::DataFile;
use crate::storage::wal::dir::WalDir;
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::io;
use std::sync::Arc;

/// Contents and name table of a crashed disk.
#[derive(Clone, Debug, Default)]
pub struct CrashImage {
    /// File contents by file id (id 0 is the data file).
    files: Vec<Vec<u8>>,
    /// Directory entries of the log directory: name to file id.
    names: BTreeMap<String, usize>,
    /// The operation that crashed: `Some(len)` if it was a write of `len` bytes.
    pub crashed_write: Option<usize>,
}

impl CrashImage {
    /// A new disk holding this image (current = durable), not armed.
    pub fn mount(&self) -> Arc<CrashDisk> {
        let files = self.files.iter().map(|b| FileState { current: b.clone(), durable: b.clone() }).collect();
        Arc::new(CrashDisk {
            state: Mutex::new(State {
                files,
                names: self.names.clone(),
                durable_names: self.names.clone(),
                ops: 0,
                armed: false,
                crash_at: None,
                tear: 0,
                crashed: None,
                lie_about_wal_sync: false,
            }),
        })
    }
}

struct FileState {
    current: Vec<u8>,
    durable: Vec<u8>,
}

struct State {
    files: Vec<FileState>,
    names: BTreeMap<String, usize>,
    durable_names: BTreeMap<String, usize>,
    ops: u64,
    armed: bool,
    crash_at: Option<u64>,
    tear: usize,
    crashed: Option<CrashImage>,
    lie_about_wal_sync: bool,
}

/// A pending write: file id, offset, bytes.
type PendingWrite<'a> = (usize, u64, &'a [u8]);

impl State {
    fn durable_image(&self, pending: Option<PendingWrite>) -> CrashImage {
        let mut files: Vec<Vec<u8>> = self.files.iter().map(|f| f.durable.clone()).collect();
        let mut crashed_write = None;
        if let Some((id, offset, bytes)) = pending {
            crashed_write = Some(bytes.len());
            let torn = &bytes[..self.tear.min(bytes.len())];
            put(&mut files[id], offset, torn);
        }
        CrashImage { files, names: self.durable_names.clone(), crashed_write }
    }

    /// Counts one operation; fails it (and takes the crash image) if it is the one to crash at.
    fn op(&mut self, pending: Option<PendingWrite>) -> io::Result<()> {
        if self.crashed.is_some() {
            return Err(dead());
        }
        if !self.armed {
            return Ok(());
        }
        let n = self.ops;
        self.ops += 1;
        if self.crash_at == Some(n) {
            self.crashed = Some(self.durable_image(pending));
            return Err(dead());
        }
        Ok(())
    }
}

fn put(file: &mut Vec<u8>, offset: u64, bytes: &[u8]) {
    let start = offset as usize;
    if file.len() < start + bytes.len() {
        file.resize(start + bytes.len(), 0);
    }
    file[start..start + bytes.len()].copy_from_slice(bytes);
}

fn dead() -> io::Error {
    io::Error::from_raw_os_error(5) // EIO: the machine is gone
}

/// The simulated disk: one data file (id 0) and one log directory.
pub struct CrashDisk {
    state: Mutex<State>,
}

impl CrashDisk {
    /// An empty disk (an empty data file and an empty directory), not armed.
    pub fn new() -> Arc<CrashDisk> {
        CrashImage { files: vec![Vec::new()], ..Default::default() }.mount()
    }

    /// Starts counting operations from 0; operation `crash_at` (if any) crashes the disk, tearing
    /// its write (if it is one) after `tear` bytes.
    pub fn arm(&self, crash_at: Option<u64>, tear: usize) {
        let mut st = self.state.lock();
        st.armed = true;
        st.ops = 0;
        st.crash_at = crash_at;
        st.tear = tear;
    }

    /// Makes fsync of log segments report success without making anything durable.
    pub fn lie_about_wal_sync(&self, lie: bool) {
        self.state.lock().lie_about_wal_sync = lie;
    }

    /// Operations counted since [`CrashDisk::arm`].
    pub fn ops(&self) -> u64 {
        self.state.lock().ops
    }

    /// The image taken at the crash, if the disk crashed.
    pub fn crash_image(&self) -> Option<CrashImage> {
        self.state.lock().crashed.clone()
    }

    /// What would survive if the power failed now.
    pub fn durable_image(&self) -> CrashImage {
        let st = self.state.lock();
        st.crashed.clone().unwrap_or_else(|| st.durable_image(None))
    }

    /// The data file.
    pub fn data_file(self: &Arc<Self>) -> Arc<dyn DataFile> {
        Arc::new(CrashFile { disk: self.clone(), id: 0, wal: false })
    }

    /// The log directory.
    pub fn wal_dir(self: &Arc<Self>) -> Arc<dyn WalDir> {
        Arc::new(CrashDir { disk: self.clone() })
    }
}

/// A file on a [`CrashDisk`].
struct CrashFile {
    disk: Arc<CrashDisk>,
    id: usize,
    wal: bool,
}

impl DataFile for CrashFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        let st = self.disk.state.lock();
        let bytes = &st.files[self.id].current;
        let start = usize::try_from(offset).map_err(|_| io::ErrorKind::UnexpectedEof)?;
        let src = start
            .checked_add(buf.len())
            .and_then(|end| bytes.get(start..end))
            .ok_or(io::ErrorKind::UnexpectedEof)?;
        buf.copy_from_slice(src);
        Ok(())
    }
    fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        let mut st = self.disk.state.lock();
        st.op(Some((self.id, offset, buf)))?;
        put(&mut st.files[self.id].current, offset, buf);
        Ok(())
    }
    fn sync(&self) -> io::Result<()> {
        let mut st = self.disk.state.lock();
        st.op(None)?;
        if self.wal && st.lie_about_wal_sync {
            return Ok(());
        }
        let f = &mut st.files[self.id];
        f.durable.clone_from(&f.current);
        Ok(())
    }
    fn size(&self) -> io::Result<u64> {
        Ok(self.disk.state.lock().files[self.id].current.len() as u64)
    }
}

/// The log directory of a [`CrashDisk`].
struct CrashDir {
    disk: Arc<CrashDisk>,
}

fn not_found(name: &str) -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, format!("{name}: no such file"))
}

impl WalDir for CrashDir {
    fn list(&self) -> io::Result<Vec<String>> {
        Ok(self.disk.state.lock().names.keys().cloned().collect())
    }
    fn open(&self, name: &str) -> io::Result<Arc<dyn DataFile>> {
        let id = *self.disk.state.lock().names.get(name).ok_or_else(|| not_found(name))?;
        Ok(Arc::new(CrashFile { disk: self.disk.clone(), id, wal: true }))
    }
    fn create(&self, name: &str, size: u64) -> io::Result<Arc<dyn DataFile>> {
        let mut st = self.disk.state.lock();
        st.op(None)?;
        let zeros = vec![0u8; size as usize];
        st.files.push(FileState { current: zeros.clone(), durable: zeros });
        let id = st.files.len() - 1;
        st.names.insert(name.to_string(), id);
        Ok(Arc::new(CrashFile { disk: self.disk.clone(), id, wal: true }))
    }
    fn rename(&self, from: &str, to: &str) -> io::Result<()> {
        let mut st = self.disk.state.lock();
        st.op(None)?;
        let id = st.names.remove(from).ok_or_else(|| not_found(from))?;
        st.names.insert(to.to_string(), id);
        Ok(())
    }
    fn remove(&self, name: &str) -> io::Result<()> {
        let mut st = self.disk.state.lock();
        st.op(None)?;
        st.names.remove(name).map(|_| ()).ok_or_else(|| not_found(name))
    }
    fn sync(&self) -> io::Result<()> {
        let mut st = self.disk.state.lock();
        st.op(None)?;
        st.durable_names = st.names.clone();
        Ok(())
    }
}
