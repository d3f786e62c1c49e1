//! Overflow runs: values too large for a leaf cell.
//!
//! A value that would make its leaf cell larger than a quarter page is written to a run of
//! consecutive overflow pages, and the leaf stores a 24-byte reference (length, first page, chain
//! id; see node.rs). A run is written once and never modified: overwriting or deleting the value
//! frees the whole run, whose page ids follow from the reference without reading it.
//!
//! ```text
//! overflow page body
//! offset size field     meaning
//! 32     8    chain id  unique per run (from a counter in the meta page)
//! 40     4    sequence  index of this page in its run
//! 44     4    length    value bytes in this page
//! 48     ..   data
//! ```
//!
//! Readers copy the reference out of the leaf and read the run with no latch held. Meanwhile a
//! writer may free the run and reuse its pages; every page is therefore checked for the expected
//! type, chain id and sequence, and a mismatch sends the reader back to the leaf for a fresh
//! reference. Chain ids are never reused, so a match proves the bytes belong to the value.

use super::node::OverflowRef;
use super::page::{self, get_u32, get_u64, put_u32, put_u64, PageId, PageType};
use super::pool::Pool;
use crate::err;
use crate::error::Result;

const CHAIN_OFF: usize = 32;
const SEQ_OFF: usize = 40;
const LEN_OFF: usize = 44;
/// Offset of the data.
pub const DATA_OFF: usize = 48;

/// Value bytes per overflow page.
pub fn payload(page_size: usize) -> usize {
    page_size - DATA_OFF
}

/// Pages needed for a value of `len` bytes.
pub fn pages_for(page_size: usize, len: u64) -> u64 {
    len.div_ceil(payload(page_size) as u64).max(1)
}

/// Writes `value` into pages `first ..` of generation `generation` under chain id `chain`. Call with
/// no latch held: creating pages may write others back.
pub fn write(pool: &Pool, value: &[u8], first: PageId, chain: u64, generation: u64) -> Result<OverflowRef> {
    let per = payload(pool.page_size());
    for (i, chunk) in value.chunks(per).enumerate() {
        let id = first + i as u64;
        let mut res = pool.reserve(1)?;
        let mut w = pool.create(&mut res, id);
        page::init(&mut w, PageType::Overflow, id, generation);
        put_u64(&mut w, CHAIN_OFF, chain);
        put_u32(&mut w, SEQ_OFF, i as u32);
        put_u32(&mut w, LEN_OFF, chunk.len() as u32);
        w[DATA_OFF..DATA_OFF + chunk.len()].copy_from_slice(chunk);
    }
    Ok(OverflowRef { len: value.len() as u64, first, chain })
}

/// Why a run could not be read.
pub enum ReadFailure {
    /// A page no longer belongs to the run (it was freed and reused): re-read the reference.
    Stale(PageId),
    /// An I/O or corruption error.
    Error(crate::error::Error),
}

/// Reads the value of `r`. Call with no latch held.
pub fn read(pool: &Pool, r: OverflowRef) -> Result<Vec<u8>, ReadFailure> {
    let ps = pool.page_size();
    let per = payload(ps) as u64;
    let n = pages_for(ps, r.len);
    let len =
        usize::try_from(r.len).map_err(|_| ReadFailure::Error(err!(Corrupt, "overflow value too long")))?;
    // Capacity is capped: the length is trusted only as far as the pages read confirm it.
    let mut out = Vec::with_capacity(len.min(64 << 20));
    for i in 0..n {
        let id = r.first + i;
        let p = pool.fetch(id).map_err(ReadFailure::Error)?.read();
        let want = (r.len - i * per).min(per);
        let ok = page::page_type(&p) == Some(PageType::Overflow)
            && get_u64(&p, CHAIN_OFF) == r.chain
            && get_u32(&p, SEQ_OFF) as u64 == i
            && get_u32(&p, LEN_OFF) as u64 == want;
        if !ok {
            return Err(ReadFailure::Stale(id));
        }
        out.extend_from_slice(&p[DATA_OFF..DATA_OFF + want as usize]);
    }
    Ok(out)
}

/// Checks that every page of run `r` belongs to it, without copying the value; returns the number
/// of pages, or the first bad page with what is wrong.
pub fn check(pool: &Pool, r: OverflowRef) -> Result<u64, (PageId, String)> {
    let ps = pool.page_size();
    let per = payload(ps) as u64;
    let n = pages_for(ps, r.len);
    for i in 0..n {
        let id = r.first + i;
        let p = pool.fetch(id).map_err(|e| (id, e.message))?.read();
        let want = (r.len - i * per).min(per);
        let ok = page::page_type(&p) == Some(PageType::Overflow)
            && get_u64(&p, CHAIN_OFF) == r.chain
            && get_u32(&p, SEQ_OFF) as u64 == i
            && get_u32(&p, LEN_OFF) as u64 == want;
        if !ok {
            return Err((id, format!("not page {i} of overflow chain {}", r.chain)));
        }
    }
    Ok(n)
}

/// Checks an overflow page body read from disk.
pub fn validate(p: &[u8]) -> Result<(), String> {
    let len = get_u32(p, LEN_OFF) as usize;
    if len > payload(p.len()) {
        return Err(format!("overflow length {len} exceeds the page"));
    }
    Ok(())
}
