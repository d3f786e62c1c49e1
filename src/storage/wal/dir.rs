//! The directory the log's segment files live in, behind a trait so tests can inject faults and
//! simulate crashes without touching the real file system.

use crate::storage::btree::{DataFile, MemFile, OsFile};
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;

/// Segment-file operations the log needs.
pub trait WalDir: Send + Sync {
    /// Names of the files present.
    fn list(&self) -> io::Result<Vec<String>>;
    /// Opens an existing file.
    fn open(&self, name: &str) -> io::Result<Arc<dyn DataFile>>;
    /// Creates a file of `size` bytes (preallocated).
    fn create(&self, name: &str, size: u64) -> io::Result<Arc<dyn DataFile>>;
    /// Renames a file.
    fn rename(&self, from: &str, to: &str) -> io::Result<()>;
    /// Removes a file.
    fn remove(&self, name: &str) -> io::Result<()>;
    /// Makes creations, renames and removals durable (fsync of the directory).
    fn sync(&self) -> io::Result<()>;
}

/// A real directory.
pub struct OsDir {
    path: PathBuf,
}

impl OsDir {
    /// The directory at `path`, created if missing.
    pub fn open(path: PathBuf) -> io::Result<OsDir> {
        std::fs::create_dir_all(&path)?;
        Ok(OsDir { path })
    }
}

impl WalDir for OsDir {
    fn list(&self) -> io::Result<Vec<String>> {
        let mut names = Vec::new();
        for e in std::fs::read_dir(&self.path)? {
            if let Some(n) = e?.file_name().to_str() {
                names.push(n.to_string());
            }
        }
        names.sort();
        Ok(names)
    }
    fn open(&self, name: &str) -> io::Result<Arc<dyn DataFile>> {
        Ok(Arc::new(OsFile::open(&self.path.join(name))?))
    }
    fn create(&self, name: &str, size: u64) -> io::Result<Arc<dyn DataFile>> {
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(self.path.join(name))?;
        // Write zeros rather than set_len: a sparse file would make every later write allocate,
        // which costs several times more per fdatasync on ext4.
        let chunk = vec![0u8; 1 << 20];
        let mut done = 0;
        while done < size {
            let n = chunk.len().min((size - done) as usize);
            std::os::unix::fs::FileExt::write_all_at(&f, &chunk[..n], done)?;
            done += n as u64;
        }
        f.sync_all()?;
        drop(f);
        Ok(Arc::new(OsFile::open(&self.path.join(name))?))
    }
    fn rename(&self, from: &str, to: &str) -> io::Result<()> {
        std::fs::rename(self.path.join(from), self.path.join(to))
    }
    fn remove(&self, name: &str) -> io::Result<()> {
        std::fs::remove_file(self.path.join(name))
    }
    fn sync(&self) -> io::Result<()> {
        std::fs::File::open(&self.path)?.sync_all()
    }
}

/// An in-memory directory for tests.
#[derive(Default)]
pub struct MemDir {
    files: Mutex<BTreeMap<String, Arc<MemFile>>>,
}

impl MemDir {
    /// An empty directory.
    pub fn new() -> MemDir {
        MemDir::default()
    }
}

fn not_found(name: &str) -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, format!("{name}: no such file"))
}

impl WalDir for MemDir {
    fn list(&self) -> io::Result<Vec<String>> {
        Ok(self.files.lock().keys().cloned().collect())
    }
    fn open(&self, name: &str) -> io::Result<Arc<dyn DataFile>> {
        let f = self.files.lock().get(name).cloned().ok_or_else(|| not_found(name))?;
        Ok(f)
    }
    fn create(&self, name: &str, size: u64) -> io::Result<Arc<dyn DataFile>> {
        let f = Arc::new(MemFile::new());
        f.write_at(&vec![0u8; size as usize], 0)?;
        self.files.lock().insert(name.to_string(), f.clone());
        Ok(f)
    }
    fn rename(&self, from: &str, to: &str) -> io::Result<()> {
        let mut files = self.files.lock();
        let f = files.remove(from).ok_or_else(|| not_found(from))?;
        files.insert(to.to_string(), f);
        Ok(())
    }
    fn remove(&self, name: &str) -> io::Result<()> {
        self.files.lock().remove(name).map(|_| ()).ok_or_else(|| not_found(name))
    }
    fn sync(&self) -> io::Result<()> {
        Ok(())
    }
}
