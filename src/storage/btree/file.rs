//! The file abstraction all page I/O goes through.
//!
//! The store never touches `std::fs::File` directly: it reads, writes and syncs through
//! [`DataFile`], a positional-I/O trait of four methods. [`OsFile`] is the real thing; [`MemFile`] keeps
//! the bytes in memory for tests. The crash and fault tests plug their layers in here
//! ([`crate::storage::testfs`]: a disk that keeps only what was fsynced, ENOSPC, EIO, failing or
//! slow fsync) without changing the store.
//!
//! Contract: `read_at` fills the whole buffer or fails (reading past the end is an error of kind
//! `UnexpectedEof`); `write_at` writes the whole buffer, extending the file as needed; `sync` makes
//! every completed write durable.

use parking_lot::Mutex;
use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;

/// Positional file I/O, shared between threads.
pub trait DataFile: Send + Sync {
    /// Reads exactly `buf.len()` bytes at `offset`.
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()>;
    /// Writes all of `buf` at `offset`.
    fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<()>;
    /// Makes all completed writes durable (fdatasync).
    fn sync(&self) -> io::Result<()>;
    /// Current size of the file in bytes.
    fn size(&self) -> io::Result<u64>;
}

/// A file on the operating system's file system.
pub struct OsFile {
    /// The open file.
    file: File,
}

impl OsFile {
    /// Opens (creating if needed) the file at `path` for reading and writing.
    pub fn open(path: &Path) -> io::Result<OsFile> {
        let file = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(path)?;
        Ok(OsFile { file })
    }
}

impl DataFile for OsFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        std::os::unix::fs::FileExt::read_exact_at(&self.file, buf, offset)
    }
    fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        std::os::unix::fs::FileExt::write_all_at(&self.file, buf, offset)
    }
    fn sync(&self) -> io::Result<()> {
        self.file.sync_data()
    }
    fn size(&self) -> io::Result<u64> {
        Ok(self.file.metadata()?.len())
    }
}

/// An in-memory file, for tests. Every write is immediately "durable".
#[derive(Default)]
pub struct MemFile {
    /// The file's contents.
    bytes: Mutex<Vec<u8>>,
}

impl MemFile {
    /// An empty file.
    pub fn new() -> MemFile {
        MemFile::default()
    }
}

impl DataFile for MemFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        let bytes = self.bytes.lock();
        let start = usize::try_from(offset).map_err(|_| io::ErrorKind::UnexpectedEof)?;
        let src = start
            .checked_add(buf.len())
            .and_then(|end| bytes.get(start..end))
            .ok_or(io::ErrorKind::UnexpectedEof)?;
        buf.copy_from_slice(src);
        Ok(())
    }
    fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        let mut bytes = self.bytes.lock();
        let start = usize::try_from(offset).map_err(|_| io::ErrorKind::InvalidInput)?;
        let end = start + buf.len();
        if bytes.len() < end {
            bytes.resize(end, 0);
        }
        bytes[start..end].copy_from_slice(buf);
        Ok(())
    }
    fn sync(&self) -> io::Result<()> {
        Ok(())
    }
    fn size(&self) -> io::Result<u64> {
        Ok(self.bytes.lock().len() as u64)
    }
}
