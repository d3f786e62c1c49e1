//! B+tree node pages: a slotted layout holding variable-length keys and values.
//!
//! A node keeps a sorted array of 2-byte slots right after its header, growing up, and the cells
//! they point to at the end of the page, growing down. Inserting moves slots, never cells; removing
//! a cell leaves a hole counted in `garbage`, reclaimed by compaction when an insert needs the room.
//!
//! ```text
//! node body (after the 32-byte common header)
//! offset size field       meaning
//! 32     2    count       number of cells (keys)
//! 34     2    cell start  offset of the lowest cell byte (page size when empty)
//! 36     2    garbage     bytes of removed cells below the page end not yet reclaimed
//! 38     2    level       0 for leaves, parent level = child level + 1
//! 40     8    leftmost    internal nodes: child for keys below the first key; leaves: 0
//! 48     2*n  slots       cell offsets, in key order
//!
//! leaf cell
//! 0      2    key length
//! 2      1    kind        0: value inline, 1: value in an overflow run (see overflow.rs)
//! 3      4    value length inline: the value's length; overflow: 24
//! 7      k    key
//! 7+k    v    value, or the overflow reference: total length u64, first page u64, chain id u64
//!
//! internal cell
//! 0      2    key length
//! 2      8    child       covers keys >= this key (and < the next key)
//! 10     k    key
//! ```
//!
//! An internal node with keys `k0 < k1 < ... < kn-1` has children `c0 (leftmost), c1 .. cn`, and
//! child `ci` holds exactly the keys in `[k(i-1), ki)`. Separators need not be keys of the tree:
//! leaf splits promote the shortest byte string between the halves (suffix truncation).
//!
//! Size limits keep splits simple: a cell with its slot takes at most a quarter of the usable space,
//! so a full node plus one more cell always splits into two halves that fit. Values that would make
//! a larger cell go to overflow pages; keys are limited to [`max_key_len`].
//!
//! Pages read from disk are checked by [`validate`] before use, so the accessors below may index
//! without further checks: a failure there is a bug, not bad input.

use super::page::{get_u16, get_u32, get_u64, put_u16, put_u32, put_u64, PageId, PageType};
use std::cmp::Ordering;

const COUNT_OFF: usize = 32;
const CELL_START_OFF: usize = 34;
const GARBAGE_OFF: usize = 36;
const LEVEL_OFF: usize = 38;
const LEFTMOST_OFF: usize = 40;
/// Size of the node header; slots start here.
pub const NODE_HEADER: usize = 48;

/// Leaf cell header: key length, kind, value length.
pub const LEAF_CELL_HEADER: usize = 7;
/// Internal cell header: key length, child.
pub const INTERNAL_CELL_HEADER: usize = 10;
/// Size of an overflow reference stored as a leaf value.
pub const OVERFLOW_REF_LEN: usize = 24;
const KIND_INLINE: u8 = 0;
const KIND_OVERFLOW: u8 = 1;

/// Usable bytes of a node page (slots and cells).
pub fn usable(page_size: usize) -> usize {
    page_size - NODE_HEADER
}

/// Largest cell, slot included.
pub fn max_cell(page_size: usize) -> usize {
    usable(page_size) / 4
}

/// Longest key accepted.
pub fn max_key_len(page_size: usize) -> usize {
    max_cell(page_size) - 2 - LEAF_CELL_HEADER - OVERFLOW_REF_LEN
}

/// Whether a value of `value_len` stays in the leaf with a key of `key_len`.
pub fn fits_inline(page_size: usize, key_len: usize, value_len: usize) -> bool {
    2 + LEAF_CELL_HEADER + key_len + value_len <= max_cell(page_size)
}

/// A value stored out of line, in `pages` consecutive overflow pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OverflowRef {
    /// Value length in bytes.
    pub len: u64,
    /// First page of the run.
    pub first: PageId,
    /// Chain id stamped on every page of the run, so a reader can tell the run was reused.
    pub chain: u64,
}

/// A leaf value as stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Value<'a> {
    /// Stored in the cell.
    Inline(&'a [u8]),
    /// Stored in overflow pages.
    Overflow(OverflowRef),
}

/// Encodes a leaf cell.
pub fn leaf_cell(key: &[u8], value: Value<'_>) -> Vec<u8> {
    let (kind, body) = match value {
        Value::Inline(v) => (KIND_INLINE, v.to_vec()),
        Value::Overflow(r) => {
            let mut b = vec![0u8; OVERFLOW_REF_LEN];
            put_u64(&mut b, 0, r.len);
            put_u64(&mut b, 8, r.first);
            put_u64(&mut b, 16, r.chain);
            (KIND_OVERFLOW, b)
        }
    };
    let mut c = vec![0u8; LEAF_CELL_HEADER];
    put_u16(&mut c, 0, key.len() as u16);
    c[2] = kind;
    put_u32(&mut c, 3, body.len() as u32);
    c.extend_from_slice(key);
    c.extend_from_slice(&body);
    c
}

/// Encodes an internal cell.
pub fn internal_cell(key: &[u8], child: PageId) -> Vec<u8> {
    let mut c = vec![0u8; INTERNAL_CELL_HEADER];
    put_u16(&mut c, 0, key.len() as u16);
    put_u64(&mut c, 2, child);
    c.extend_from_slice(key);
    c
}

/// Formats an empty node (the common header must already be initialised).
pub fn init(p: &mut [u8], level: u16, leftmost: PageId) {
    let ps = p.len();
    put_u16(p, COUNT_OFF, 0);
    put_u16(p, CELL_START_OFF, ps as u16);
    put_u16(p, GARBAGE_OFF, 0);
    put_u16(p, LEVEL_OFF, level);
    put_u64(p, LEFTMOST_OFF, leftmost);
}

fn cell_start(p: &[u8]) -> usize {
    // A 32 KiB page stores its empty cell start as 32768, which fits u16.
    get_u16(p, CELL_START_OFF) as usize
}

/// Number of keys.
pub fn count(p: &[u8]) -> usize {
    get_u16(p, COUNT_OFF) as usize
}

/// Level: 0 for leaves.
pub fn level(p: &[u8]) -> u16 {
    get_u16(p, LEVEL_OFF)
}

/// Whether the node is a leaf.
pub fn is_leaf(p: &[u8]) -> bool {
    level(p) == 0
}

fn slot(p: &[u8], i: usize) -> usize {
    get_u16(p, NODE_HEADER + 2 * i) as usize
}

fn header_len(p: &[u8]) -> usize {
    if is_leaf(p) {
        LEAF_CELL_HEADER
    } else {
        INTERNAL_CELL_HEADER
    }
}

fn cell_len_at(p: &[u8], off: usize) -> usize {
    let k = get_u16(p, off) as usize;
    if is_leaf(p) {
        LEAF_CELL_HEADER + k + get_u32(p, off + 3) as usize
    } else {
        INTERNAL_CELL_HEADER + k
    }
}

/// The raw bytes of cell `i`.
pub fn cell(p: &[u8], i: usize) -> &[u8] {
    let off = slot(p, i);
    &p[off..off + cell_len_at(p, off)]
}

/// Key `i`.
pub fn key(p: &[u8], i: usize) -> &[u8] {
    let off = slot(p, i);
    let k = get_u16(p, off) as usize;
    let h = header_len(p);
    &p[off + h..off + h + k]
}

/// Value of leaf cell `i`.
pub fn value(p: &[u8], i: usize) -> Value<'_> {
    let off = slot(p, i);
    let k = get_u16(p, off) as usize;
    let v = get_u32(p, off + 3) as usize;
    let body = &p[off + LEAF_CELL_HEADER + k..off + LEAF_CELL_HEADER + k + v];
    if p[off + 2] == KIND_OVERFLOW {
        Value::Overflow(OverflowRef {
            len: get_u64(body, 0),
            first: get_u64(body, 8),
            chain: get_u64(body, 16),
        })
    } else {
        Value::Inline(body)
    }
}

/// The value of a raw leaf cell (as built by [`leaf_cell`]).
pub fn value_of_cell(cell: &[u8]) -> Value<'_> {
    let k = get_u16(cell, 0) as usize;
    let body = &cell[LEAF_CELL_HEADER + k..];
    if cell[2] == KIND_OVERFLOW {
        Value::Overflow(OverflowRef {
            len: get_u64(body, 0),
            first: get_u64(body, 8),
            chain: get_u64(body, 16),
        })
    } else {
        Value::Inline(body)
    }
}

/// Child `i` of an internal node, `0 ..= count`.
pub fn child(p: &[u8], i: usize) -> PageId {
    if i == 0 {
        get_u64(p, LEFTMOST_OFF)
    } else {
        get_u64(p, slot(p, i - 1) + 2)
    }
}

/// Replaces child `i` of an internal node.
pub fn set_child(p: &mut [u8], i: usize, id: PageId) {
    if i == 0 {
        put_u64(p, LEFTMOST_OFF, id);
    } else {
        let off = slot(p, i - 1) + 2;
        put_u64(p, off, id);
    }
}

/// Binary search: `Ok(i)` if key `i` equals `k`, else `Err(i)` where it would be inserted.
pub fn search(p: &[u8], k: &[u8]) -> Result<usize, usize> {
    let (mut lo, mut hi) = (0, count(p));
    while lo < hi {
        let mid = (lo + hi) / 2;
        match key(p, mid).cmp(k) {
            Ordering::Less => lo = mid + 1,
            Ordering::Greater => hi = mid,
            Ordering::Equal => return Ok(mid),
        }
    }
    Err(lo)
}

/// Number of keys `<= k`: the child of an internal node that covers `k`.
pub fn upper_bound(p: &[u8], k: &[u8]) -> usize {
    match search(p, k) {
        Ok(i) => i + 1,
        Err(i) => i,
    }
}

/// Number of keys `< k`.
pub fn lower_bound(p: &[u8], k: &[u8]) -> usize {
    match search(p, k) {
        Ok(i) | Err(i) => i,
    }
}

/// Bytes in use by slots and live cells.
pub fn used(p: &[u8]) -> usize {
    2 * count(p) + (p.len() - cell_start(p) - get_u16(p, GARBAGE_OFF) as usize)
}

/// Bytes available for new cells and slots, counting reclaimable garbage.
pub fn free_space(p: &[u8]) -> usize {
    usable(p.len()) - used(p)
}

/// Whether a cell of `len` bytes (plus its slot) fits.
pub fn fits(p: &[u8], len: usize) -> bool {
    free_space(p) >= len + 2
}

/// Inserts `cell` at slot `i`. The caller has checked [`fits`].
pub fn insert(p: &mut [u8], i: usize, cell: &[u8]) {
    assert!(fits(p, cell.len()), "insert into a node without room");
    let n = count(p);
    if cell_start(p) < NODE_HEADER + 2 * (n + 1) + cell.len() {
        compact(p);
    }
    let off = cell_start(p) - cell.len();
    p[off..off + cell.len()].copy_from_slice(cell);
    put_u16(p, CELL_START_OFF, off as u16);
    let slots = NODE_HEADER + 2 * i;
    p.copy_within(slots..NODE_HEADER + 2 * n, slots + 2);
    put_u16(p, slots, off as u16);
    put_u16(p, COUNT_OFF, (n + 1) as u16);
}

/// Removes cell `i`.
pub fn remove(p: &mut [u8], i: usize) {
    let n = count(p);
    let off = slot(p, i);
    let len = cell_len_at(p, off);
    if off == cell_start(p) {
        put_u16(p, CELL_START_OFF, (off + len) as u16);
    } else {
        let g = get_u16(p, GARBAGE_OFF) as usize + len;
        put_u16(p, GARBAGE_OFF, g as u16);
    }
    let slots = NODE_HEADER + 2 * i;
    p.copy_within(slots + 2..NODE_HEADER + 2 * n, slots);
    put_u16(p, COUNT_OFF, (n - 1) as u16);
}

/// All cells, in order.
pub fn cells(p: &[u8]) -> Vec<Vec<u8>> {
    (0..count(p)).map(|i| cell(p, i).to_vec()).collect()
}

/// Rewrites the node to hold exactly `cells` (level and leftmost child kept).
pub fn rebuild(p: &mut [u8], cells: &[Vec<u8>]) {
    let (lvl, leftmost) = (level(p), get_u64(p, LEFTMOST_OFF));
    init(p, lvl, leftmost);
    for (i, c) in cells.iter().enumerate() {
        insert(p, i, c);
    }
}

fn compact(p: &mut [u8]) {
    let cs = cells(p);
    rebuild(p, &cs);
}

/// Total size of `cells` with their slots.
pub fn cells_size(cells: &[Vec<u8>]) -> usize {
    cells.iter().map(|c| c.len() + 2).sum()
}

/// The key stored in a raw cell of a node at `level`.
pub fn cell_key(cell: &[u8], level: u16) -> &[u8] {
    let k = get_u16(cell, 0) as usize;
    let h = if level == 0 { LEAF_CELL_HEADER } else { INTERNAL_CELL_HEADER };
    &cell[h..h + k]
}

/// The child in a raw internal cell.
pub fn cell_child(cell: &[u8]) -> PageId {
    get_u64(cell, 2)
}

/// Shortest byte string `s` with `left < s <= right` (suffix truncation for leaf splits).
pub fn separator(left: &[u8], right: &[u8]) -> Vec<u8> {
    debug_assert!(left < right);
    let common = left.iter().zip(right).take_while(|(a, b)| a == b).count();
    right[..(common + 1).min(right.len())].to_vec()
}

/// Checks the structure of a node page read from disk. Errors describe the defect.
pub fn validate(p: &[u8], ty: PageType) -> Result<(), String> {
    let ps = p.len();
    let n = count(p);
    let lvl = level(p);
    if (ty == PageType::Leaf) != (lvl == 0) {
        return Err(format!("node type {ty:?} does not match level {lvl}"));
    }
    let start = cell_start(p);
    if NODE_HEADER + 2 * n > start || start > ps {
        return Err(format!("slot array of {n} entries overlaps cell area at {start}"));
    }
    let h = if lvl == 0 { LEAF_CELL_HEADER } else { INTERNAL_CELL_HEADER };
    let mut live = 0;
    let mut prev: Option<&[u8]> = None;
    for i in 0..n {
        let off = slot(p, i);
        if off < start || off + h > ps {
            return Err(format!("slot {i} points outside the cell area"));
        }
        let k = get_u16(p, off) as usize;
        let len = if lvl == 0 {
            let kind = p[off + 2];
            let v = get_u32(p, off + 3) as usize;
            if kind > KIND_OVERFLOW || (kind == KIND_OVERFLOW && v != OVERFLOW_REF_LEN) {
                return Err(format!("cell {i} has a bad value kind"));
            }
            if kind == KIND_OVERFLOW && off + h + k + v <= ps {
                let r = off + h + k;
                let (len, first) = (get_u64(p, r), get_u64(p, r + 8));
                // Runs start past the meta slots and stay far below 2^48 pages.
                if len == 0 || len >= 1 << 48 || !(2..1 << 48).contains(&first) {
                    return Err(format!("cell {i} has a bad overflow reference"));
                }
            }
            h.checked_add(k).and_then(|x| x.checked_add(v))
        } else {
            h.checked_add(k)
        };
        let len = len.filter(|&l| off + l <= ps).ok_or_else(|| format!("cell {i} runs past the page end"))?;
        live += len;
        let kb = &p[off + h..off + h + k];
        if prev.is_some_and(|pk| pk >= kb) {
            return Err(format!("keys out of order at cell {i}"));
        }
        prev = Some(kb);
    }
    let garbage = get_u16(p, GARBAGE_OFF) as usize;
    if live + garbage != ps - start {
        return Err("cell area accounting is inconsistent".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::btree::page;

    fn leaf(ps: usize) -> Vec<u8> {
        let mut p = vec![0u8; ps];
        page::init(&mut p, PageType::Leaf, 2, 1);
        init(&mut p, 0, 0);
        p
    }

    #[test]
    fn insert_remove_compact_keep_order() {
        let mut p = leaf(512);
        let mut model = std::collections::BTreeMap::new();
        for round in 0..2000u32 {
            let k = format!("k{:03}", (round * 37) % 101).into_bytes();
            let v = vec![b'v'; (round % 13) as usize];
            match search(&p, &k) {
                Ok(i) => {
                    remove(&mut p, i);
                    model.remove(&k);
                }
                Err(i) => {
                    let c = leaf_cell(&k, Value::Inline(&v));
                    if fits(&p, c.len()) {
                        insert(&mut p, i, &c);
                        model.insert(k, v);
                    }
                }
            }
            validate(&p, PageType::Leaf).unwrap();
            let got: Vec<_> = (0..count(&p))
                .map(|i| match value(&p, i) {
                    Value::Inline(v) => (key(&p, i).to_vec(), v.to_vec()),
                    Value::Overflow(_) => unreachable!(),
                })
                .collect();
            let want: Vec<_> = model.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            assert_eq!(got, want);
        }
    }

    #[test]
    fn separators_are_short_and_between() {
        assert_eq!(separator(b"abc", b"abd"), b"abd");
        assert_eq!(separator(b"abc", b"b"), b"b");
        assert_eq!(separator(b"ab", b"abc"), b"abc");
        assert_eq!(separator(b"apple", b"banana"), b"b");
    }

    #[test]
    fn validation_rejects_damage() {
        let mut p = leaf(512);
        insert(&mut p, 0, &leaf_cell(b"a", Value::Inline(b"1")));
        insert(&mut p, 1, &leaf_cell(b"b", Value::Inline(b"2")));
        validate(&p, PageType::Leaf).unwrap();
        assert!(validate(&p, PageType::Internal).is_err());
        let mut q = p.clone();
        put_u16(&mut q, NODE_HEADER, 5000);
        assert!(validate(&q, PageType::Leaf).is_err());
        let mut q = p.clone();
        let off = slot(&q, 0);
        put_u32(&mut q, off + 3, 60000);
        assert!(validate(&q, PageType::Leaf).is_err());
    }
}
