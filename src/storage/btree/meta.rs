//! The two meta slots: the data file's versioned header and the root of each checkpoint.
//!
//! Pages 0 and 1 are meta slots. A checkpoint of generation `g` writes slot `g % 2`, so the newest
//! valid checkpoint is never overwritten: a torn meta write leaves the other slot, one checkpoint
//! older, intact. Opening reads both and takes the valid one with the higher generation.
//!
//! A meta page uses the common page header (type 1, page id 0 or 1, generation = checkpoint
//! generation), but its checksum covers only bytes `[4, META_END)` so that it can be verified
//! before the page size is known. The rest of the page is zero.
//!
//! ```text
//! offset size field          meaning
//! 0      32   header         see page.rs; checksum over [4, 104) only
//! 32     8    magic          "SSIDBDAT"
//! 40     4    format version 1
//! 44     4    page size      bytes per page, a power of two
//! 48     8    root           page id of the B+tree root
//! 56     8    free list      page id of the first free-list page, 0 if none
//! 64     8    page count     pages in use by this checkpoint's file (high-water mark)
//! 72     8    lsn            last write-batch LSN this checkpoint contains
//! 80     8    next chain id  first unused overflow chain id
//! 88     8    keys           live keys
//! 96     8    bytes          total bytes of live keys and values
//! ```

use super::file::DataFile;
use super::page::{self, get_u32, get_u64, put_u32, put_u64, PageId, PageType, MAX_PAGE_SIZE, MIN_PAGE_SIZE};
use crate::err;
use crate::error::{Error, Result};

/// File magic.
pub const MAGIC: &[u8; 8] = b"SSIDBDAT";
/// Current format version.
pub const FORMAT_VERSION: u32 = 1;

const MAGIC_OFF: usize = 32;
const VERSION_OFF: usize = 40;
const PAGE_SIZE_OFF: usize = 44;
const ROOT_OFF: usize = 48;
const FREE_LIST_OFF: usize = 56;
const PAGE_COUNT_OFF: usize = 64;
const LSN_OFF: usize = 72;
const CHAIN_ID_OFF: usize = 80;
const KEYS_OFF: usize = 88;
const BYTES_OFF: usize = 96;
/// End of the checksummed meta region.
pub const META_END: usize = 104;

/// Page ids of the two meta slots; the first page a tree may use.
pub const FIRST_DATA_PAGE: PageId = 2;

/// The content of a meta slot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Meta {
    /// Checkpoint generation.
    pub generation: u64,
    /// Page size of the file.
    pub page_size: usize,
    /// B+tree root.
    pub root: PageId,
    /// First free-list page (0: none).
    pub free_list: PageId,
    /// High-water mark: pages `[0, page_count)` may be in use.
    pub page_count: u64,
    /// Last LSN included.
    pub lsn: u64,
    /// Next overflow chain id.
    pub next_chain_id: u64,
    /// Live keys.
    pub keys: u64,
    /// Live key and value bytes.
    pub bytes: u64,
}

impl Meta {
    /// Encodes into a full page for slot `generation % 2`.
    pub fn encode(&self) -> Vec<u8> {
        let mut p = vec![0u8; self.page_size];
        let slot = self.generation % 2;
        page::init(&mut p, PageType::Meta, slot, self.generation);
        p[MAGIC_OFF..MAGIC_OFF + 8].copy_from_slice(MAGIC);
        put_u32(&mut p, VERSION_OFF, FORMAT_VERSION);
        put_u32(&mut p, PAGE_SIZE_OFF, self.page_size as u32);
        put_u64(&mut p, ROOT_OFF, self.root);
        put_u64(&mut p, FREE_LIST_OFF, self.free_list);
        put_u64(&mut p, PAGE_COUNT_OFF, self.page_count);
        put_u64(&mut p, LSN_OFF, self.lsn);
        put_u64(&mut p, CHAIN_ID_OFF, self.next_chain_id);
        put_u64(&mut p, KEYS_OFF, self.keys);
        put_u64(&mut p, BYTES_OFF, self.bytes);
        let crc = crc32c::crc32c(&p[4..META_END]);
        put_u32(&mut p, page::CHECKSUM_OFF, crc);
        p
    }

    /// Decodes and verifies the meta region of slot `slot`.
    pub fn decode(p: &[u8], slot: PageId) -> Result<Meta, String> {
        if p.len() < META_END {
            return Err("short read".into());
        }
        let stored = get_u32(p, page::CHECKSUM_OFF);
        let computed = crc32c::crc32c(&p[4..META_END]);
        if stored != computed {
            return Err(format!("checksum mismatch (stored {stored:#010x}, computed {computed:#010x})"));
        }
        if &p[MAGIC_OFF..MAGIC_OFF + 8] != MAGIC || page::page_type(p) != Some(PageType::Meta) {
            return Err("not an ssidb data file".into());
        }
        if get_u64(p, page::ID_OFF) != slot {
            return Err(format!("meta slot claims to be page {}", get_u64(p, page::ID_OFF)));
        }
        let version = get_u32(p, VERSION_OFF);
        if version != FORMAT_VERSION {
            return Err(format!("unsupported format version {version} (this build reads {FORMAT_VERSION})"));
        }
        let page_size = get_u32(p, PAGE_SIZE_OFF) as usize;
        if !page_size.is_power_of_two() || !(MIN_PAGE_SIZE..=MAX_PAGE_SIZE).contains(&page_size) {
            return Err(format!("invalid page size {page_size}"));
        }
        let m = Meta {
            generation: page::generation(p),
            page_size,
            root: get_u64(p, ROOT_OFF),
            free_list: get_u64(p, FREE_LIST_OFF),
            page_count: get_u64(p, PAGE_COUNT_OFF),
            lsn: get_u64(p, LSN_OFF),
            next_chain_id: get_u64(p, CHAIN_ID_OFF),
            keys: get_u64(p, KEYS_OFF),
            bytes: get_u64(p, BYTES_OFF),
        };
        let in_file = |id: PageId| id >= FIRST_DATA_PAGE && id < m.page_count;
        if !in_file(m.root) || (m.free_list != 0 && !in_file(m.free_list)) || m.generation % 2 != slot {
            return Err("root, free list or generation out of range".into());
        }
        Ok(m)
    }

    /// Reads both slots of `file` and returns the newest valid one, or `None` for an empty file.
    pub fn load(file: &dyn DataFile, name: &str) -> Result<Option<Meta>> {
        if file.size()? == 0 {
            return Ok(None);
        }
        let mut buf = vec![0u8; META_END];
        let slot0 = read_region(file, 0, &mut buf).and_then(|()| Meta::decode(&buf, 0));
        // Slot 1 sits one page in; if slot 0 is unreadable the page size is unknown, so try each.
        let sizes: Vec<usize> = match &slot0 {
            Ok(m) => vec![m.page_size],
            Err(_) => (0..).map(|i| MIN_PAGE_SIZE << i).take_while(|&s| s <= MAX_PAGE_SIZE).collect(),
        };
        let mut slot1 = Err("unreadable".to_string());
        for size in sizes {
            slot1 = read_region(file, size as u64, &mut buf).and_then(|()| Meta::decode(&buf, 1));
            if let Ok(m) = &slot1 {
                if m.page_size == size {
                    break;
                }
                slot1 = Err("page size does not match the slot's position".into());
            }
        }
        match (slot0, slot1) {
            (Ok(a), Ok(b)) => Ok(Some(if a.generation > b.generation { a } else { b })),
            (Ok(a), Err(_)) => Ok(Some(a)),
            (Err(_), Ok(b)) => Ok(Some(b)),
            (Err(a), Err(b)) => Err(err!(
                Corrupt,
                "invalid page 0 and page 1 in data file \"{name}\": no valid meta slot (slot 0: {a}; slot 1: {b})"
            )),
        }
    }

    /// Writes this meta into its slot (not synced).
    pub fn store(&self, file: &dyn DataFile) -> Result<()> {
        let slot = self.generation % 2;
        file.write_at(&self.encode(), slot * self.page_size as u64).map_err(Error::from)
    }
}

fn read_region(file: &dyn DataFile, offset: u64, buf: &mut [u8]) -> Result<(), String> {
    file.read_at(buf, offset).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::btree::file::MemFile;

    fn meta(generation: u64) -> Meta {
        Meta {
            generation,
            page_size: 1024,
            root: 2,
            free_list: 0,
            page_count: 3,
            lsn: generation * 10,
            next_chain_id: 1,
            keys: 0,
            bytes: 0,
        }
    }

    #[test]
    fn newest_valid_slot_wins_and_torn_slot_falls_back() {
        let f = MemFile::new();
        assert_eq!(Meta::load(&f, "f").unwrap(), None);
        meta(1).store(&f).unwrap();
        assert_eq!(Meta::load(&f, "f").unwrap().unwrap().generation, 1);
        meta(2).store(&f).unwrap();
        assert_eq!(Meta::load(&f, "f").unwrap().unwrap().generation, 2);
        // Tear slot 0 (generation 2): generation 1 in slot 1 is used.
        f.write_at(&[0xee; 10], 50).unwrap();
        assert_eq!(Meta::load(&f, "f").unwrap().unwrap().generation, 1);
        // Tear slot 1 too: the error names both pages.
        f.write_at(&[0xee; 10], 1024 + 50).unwrap();
        let e = Meta::load(&f, "f").unwrap_err();
        assert!(e.message.contains("page 0") && e.message.contains("page 1"), "{}", e.message);
    }
}
