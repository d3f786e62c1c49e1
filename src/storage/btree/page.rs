//! The page header every page of the data file starts with, and the checksum that seals it.
//!
//! The data file is an array of fixed-size pages (8 KiB unless the file says otherwise). Every page,
//! whatever its type, begins with the same 32-byte header, so one function can verify any page read
//! from disk before anything looks at its body:
//!
//! ```text
//! offset size field       meaning
//! 0      4    checksum    CRC32C of bytes [4, page_size), little-endian
//! 4      1    page type   1 meta, 2 leaf, 3 internal, 4 overflow, 5 free list
//! 5      3    reserved    zero
//! 8      8    page id     the page's own number: a page written to the wrong place is caught
//! 16     8    generation  checkpoint generation that allocated the page (copy-on-write rule)
//! 24     8    lsn         reserved for the write-ahead log (issue 7); zero today
//! 32     ..   body        type-specific, see the module that owns the type
//! ```
//!
//! All integers in the file are little-endian. The checksum and page id are filled in by
//! [`seal`] just before a page is written, so in-memory code never has to keep them current.

use crate::err;
use crate::error::Result;

/// A page number: the page's byte offset in the data file divided by the page size.
pub type PageId = u64;

/// Default page size (8 KiB).
pub const DEFAULT_PAGE_SIZE: usize = 8192;
/// Smallest page size accepted (tests use tiny pages to force splits and evictions).
pub const MIN_PAGE_SIZE: usize = 512;
/// Largest page size accepted: in-page offsets are 16-bit.
pub const MAX_PAGE_SIZE: usize = 32768;

/// Offset of the CRC32C.
pub const CHECKSUM_OFF: usize = 0;
/// Offset of the page type byte.
pub const TYPE_OFF: usize = 4;
/// Offset of the page's own id.
pub const ID_OFF: usize = 8;
/// Offset of the generation.
pub const GEN_OFF: usize = 16;
/// Offset of the LSN (reserved for the WAL).
#[allow(dead_code)] // written as zero by `init`; the WAL will set it
pub const LSN_OFF: usize = 24;
/// Size of the common header; bodies start here.
pub const HEADER_SIZE: usize = 32;

/// What a page holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageType {
    /// One of the two meta slots (pages 0 and 1).
    Meta = 1,
    /// A B+tree leaf.
    Leaf = 2,
    /// A B+tree internal node.
    Internal = 3,
    /// A piece of a value too large to store in a leaf.
    Overflow = 4,
    /// A list of free page numbers, written at checkpoints.
    FreeList = 5,
}

impl PageType {
    /// Decodes a type byte.
    pub fn from_byte(b: u8) -> Option<PageType> {
        Some(match b {
            1 => PageType::Meta,
            2 => PageType::Leaf,
            3 => PageType::Internal,
            4 => PageType::Overflow,
            5 => PageType::FreeList,
            _ => return None,
        })
    }
}

/// Reads a little-endian u16 at `off`. Callers guarantee the bounds.
pub fn get_u16(p: &[u8], off: usize) -> u16 {
    u16::from_le_bytes(p[off..off + 2].try_into().expect("2-byte slice"))
}
/// Reads a little-endian u32 at `off`.
pub fn get_u32(p: &[u8], off: usize) -> u32 {
    u32::from_le_bytes(p[off..off + 4].try_into().expect("4-byte slice"))
}
/// Reads a little-endian u64 at `off`.
pub fn get_u64(p: &[u8], off: usize) -> u64 {
    u64::from_le_bytes(p[off..off + 8].try_into().expect("8-byte slice"))
}
/// Writes a little-endian u16 at `off`.
pub fn put_u16(p: &mut [u8], off: usize, v: u16) {
    p[off..off + 2].copy_from_slice(&v.to_le_bytes());
}
/// Writes a little-endian u32 at `off`.
pub fn put_u32(p: &mut [u8], off: usize, v: u32) {
    p[off..off + 4].copy_from_slice(&v.to_le_bytes());
}
/// Writes a little-endian u64 at `off`.
pub fn put_u64(p: &mut [u8], off: usize, v: u64) {
    p[off..off + 8].copy_from_slice(&v.to_le_bytes());
}

/// The type of a page (unchecked byte).
pub fn page_type(p: &[u8]) -> Option<PageType> {
    PageType::from_byte(p[TYPE_OFF])
}

/// The generation that allocated a page.
pub fn generation(p: &[u8]) -> u64 {
    get_u64(p, GEN_OFF)
}

/// Clears a page and writes a fresh header (type, id, generation). The checksum is set by [`seal`].
pub fn init(p: &mut [u8], ty: PageType, id: PageId, generation: u64) {
    p.fill(0);
    p[TYPE_OFF] = ty as u8;
    put_u64(p, ID_OFF, id);
    put_u64(p, GEN_OFF, generation);
}

fn crc(p: &[u8]) -> u32 {
    crc32c::crc32c(&p[CHECKSUM_OFF + 4..])
}

/// Stamps the page id and checksum into a page about to be written.
pub fn seal(p: &mut [u8], id: PageId) {
    put_u64(p, ID_OFF, id);
    let c = crc(p);
    put_u32(p, CHECKSUM_OFF, c);
}

/// Verifies a page read from disk: checksum, own page id, known type, and a generation no newer than
/// `max_generation`. The error is [`Corrupt`](crate::error::ErrorKind::Corrupt) and names the page.
pub fn verify(p: &[u8], id: PageId, max_generation: u64, file: &str) -> Result<PageType> {
    let bad = |why: String| err!(Corrupt, "invalid page {id} in data file \"{file}\": {why}");
    let stored = get_u32(p, CHECKSUM_OFF);
    let computed = crc(p);
    if stored != computed {
        return Err(bad(format!("checksum mismatch (stored {stored:#010x}, computed {computed:#010x})")));
    }
    let own = get_u64(p, ID_OFF);
    if own != id {
        return Err(bad(format!("page claims to be page {own}")));
    }
    let ty = page_type(p).ok_or_else(|| bad(format!("unknown page type {}", p[TYPE_OFF])))?;
    let g = generation(p);
    if g > max_generation {
        return Err(bad(format!("generation {g} is newer than the current generation {max_generation}")));
    }
    Ok(ty)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn seal_then_verify_and_detect_flips() {
        let mut p = vec![0u8; 512];
        init(&mut p, PageType::Leaf, 7, 3);
        p[100] = 42;
        seal(&mut p, 7);
        assert_eq!(verify(&p, 7, 3, "f").unwrap(), PageType::Leaf);
        let e = verify(&p, 8, 3, "f").unwrap_err();
        assert_eq!(e.kind, ErrorKind::Corrupt);
        assert!(e.message.contains("page 8"), "{}", e.message);
        assert!(verify(&p, 7, 2, "f").is_err());
        p[300] ^= 1;
        let e = verify(&p, 7, 3, "f").unwrap_err();
        assert!(e.message.contains("checksum"), "{}", e.message);
    }
}
