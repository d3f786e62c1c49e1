//! The write path: puts and deletes with copy-on-write, splits and merges.
//!
//! One writer at a time (the store's writer mutex) changes the tree; readers run concurrently. An
//! operation has three phases, arranged so that **no latch is held across I/O**:
//!
//! 1. *Plan, latch-free.* Descend from the root, pinning each page on the path (loading it if
//!    needed) but latching each only briefly to read it. Note for each node whether changing it could
//!    change its parent ("unsafe"): it belongs to an older generation and must be copied, it may
//!    split (insert), or it may become underfull (delete). The highest node that must be latched is
//!    the lowest safe ancestor of an unbroken unsafe chain above the leaf. For deletes, pin the
//!    sibling each unsafe node could merge with. Reserve enough clean frames for every page the
//!    operation may create. Because only this thread modifies pages, the plan stays valid.
//! 2. *Latch* the planned part of the path exclusively, top-down (the order readers use), all pages
//!    already pinned and resident.
//! 3. *Modify* bottom-up, in memory only, then release every latch. Pages freed by the operation
//!    are handed to the allocator afterwards, so none is reused while still latched.
//!
//! **Copy-on-write.** A page allocated before the last durable checkpoint may be referenced by it,
//! so it is never changed in place: the first change in a generation copies it to a fresh page,
//! frees the old one (pending until the next checkpoint) and points the parent at the copy; the
//! parent is copied the same way if it is old too, up to the root. A page of the current generation
//! is changed in place, any number of times, and may be written back to its own page at any moment.
//!
//! **Splits** move the upper half of the cells (by bytes) to a new right sibling and insert the
//! separator into the parent; a leaf split promotes the shortest key between the halves. A split
//! caused by appending after a node's last key moves only the new key, so ascending loads fill
//! pages completely. A root split
//! adds a level. **Merges**: a node left less than a quarter full after a delete is merged into its
//! left (else right) sibling when both fit in one page; the right page is freed and its separator
//! removed. When they do not fit the node stays underfull (no redistribution): correct, only less
//! dense. A root left with one child is replaced by it.

use super::alloc::Allocator;
use super::node::{self, OverflowRef, Value};
use super::overflow;
use super::page::{self, put_u64, PageId, PageType, GEN_OFF, ID_OFF};
use super::pool::{PageRef, PageWrite, Reservation};
use super::BTreeStore;
use crate::err;
use crate::error::Result;
use std::sync::atomic::Ordering;

/// State owned by the single writer.
pub(super) struct Writer {
    /// Page allocator.
    pub alloc: Allocator,
    /// Next overflow chain id.
    pub next_chain: u64,
    /// First chain id of the current generation: runs with ids below it are older.
    pub chain_base: u64,
    /// Live keys.
    pub keys: u64,
    /// Live key and value bytes.
    pub bytes: u64,
    /// LSN of the last applied batch.
    pub lsn: u64,
    /// Node splits since open.
    pub splits: u64,
    /// Node merges since open.
    pub merges: u64,
}

/// What a leaf held for a key before it was overwritten or deleted.
struct Old {
    /// Length of the old value.
    len: u64,
    /// Its overflow run, to free.
    run: Option<OverflowRef>,
}

/// One node of the planned path.
struct Step<'a> {
    /// The node, pinned.
    page: PageRef<'a>,
    /// Child index taken (internal nodes).
    index: usize,
    /// Whether changing this node may change its parent.
    unsafe_: bool,
    /// Merge partner for deletes: its pin, and whether it is the left sibling.
    sibling: Option<(PageRef<'a>, bool)>,
}

/// What a node's change means for its parent.
#[derive(Default)]
struct Effect {
    /// The node was copied to this page.
    moved: Option<PageId>,
    /// The node split: separator and new right sibling.
    split: Option<(Vec<u8>, PageId)>,
    /// The node is underfull and should merge with a sibling.
    underflow: bool,
}

impl Effect {
    fn any(&self) -> bool {
        self.moved.is_some() || self.split.is_some() || self.underflow
    }
}

/// Per-operation context for phase 3.
struct Ctx<'a, 'w> {
    /// The writer's state.
    w: &'w mut Writer,
    /// Frames for the pages this operation may create.
    res: Reservation<'a>,
    /// Pages to free (with their generations) once every latch is released.
    frees: Vec<(PageId, u64)>,
    /// The generation being built.
    gen: u64,
}

impl BTreeStore {
    /// Sets `key` to `value`.
    pub(super) fn tree_put(&self, w: &mut Writer, key: &[u8], value: &[u8]) -> Result<()> {
        let ps = self.page_size;
        let cell = if node::fits_inline(ps, key.len(), value.len()) {
            node::leaf_cell(key, Value::Inline(value))
        } else {
            let n = overflow::pages_for(ps, value.len() as u64);
            let first = w.alloc.alloc_run(n);
            let chain = w.next_chain;
            w.next_chain += 1;
            let gen = w.alloc.generation();
            let written = overflow::write(&self.pool, value, first, chain, gen);
            let r = OverflowRef { len: value.len() as u64, first, chain };
            if let Err(e) = written {
                self.free_run(w, Some(r));
                return Err(e);
            }
            node::leaf_cell(key, Value::Overflow(r))
        };
        let applied = self.apply(w, key, Some(&cell));
        if applied.is_err() {
            if let Value::Overflow(r) = node::value_of_cell(&cell) {
                self.free_run(w, Some(r));
            }
        }
        match applied? {
            None => {
                w.keys += 1;
                w.bytes += (key.len() + value.len()) as u64;
            }
            Some(old) => {
                w.bytes = w.bytes - old.len + value.len() as u64;
                self.free_run(w, old.run);
            }
        }
        Ok(())
    }

    /// Removes `key` if present.
    pub(super) fn tree_delete(&self, w: &mut Writer, key: &[u8]) -> Result<()> {
        if let Some(old) = self.apply(w, key, None)? {
            w.keys -= 1;
            w.bytes -= key.len() as u64 + old.len;
            self.free_run(w, old.run);
        }
        Ok(())
    }

    fn free_run(&self, w: &mut Writer, run: Option<OverflowRef>) {
        let Some(r) = run else { return };
        let current = w.alloc.generation();
        // Chain ids grow monotonically, so the id tells whether the run predates this generation.
        let gen = if r.chain >= w.chain_base { current } else { current - 1 };
        for id in r.first..r.first + overflow::pages_for(self.page_size, r.len) {
            w.alloc.free(id, gen);
        }
    }

    /// Inserts/replaces (`cell` is `Some`) or deletes `key`; returns what the key held before.
    /// An error leaves the tree unchanged: every fallible step (I/O, checks) happens while planning.
    fn apply(&self, w: &mut Writer, key: &[u8], cell: Option<&[u8]>) -> Result<Option<Old>> {
        let ps = self.page_size;
        let gen = w.alloc.generation();
        let min_used = node::usable(ps) / 4;
        let max_cell = node::max_cell(ps);

        // Phase 1: plan, pinning the path with no latch held across I/O.
        let mut path: Vec<Step<'_>> = Vec::new();
        let mut id = self.root.load(Ordering::Acquire);
        let mut level = None;
        loop {
            let page = self.pool.fetch(id)?;
            let g = page.clone().read();
            self.check_node(&g, id, level)?;
            let own = page::generation(&g) == gen;
            if node::is_leaf(&g) {
                let unsafe_ = match (cell, node::search(&g, key)) {
                    (Some(c), _) => !own || !node::fits(&g, c.len()),
                    (None, Err(_)) => return Ok(None),
                    (None, Ok(i)) => !own || node::used(&g) < min_used + node::cell(&g, i).len() + 2,
                };
                drop(g);
                path.push(Step { page, index: 0, unsafe_, sibling: None });
                break;
            }
            let index = node::upper_bound(&g, key);
            let unsafe_ = !own
                || match cell {
                    Some(_) => node::free_space(&g) < max_cell,
                    None => node::used(&g) < min_used + max_cell,
                };
            id = node::child(&g, index);
            level = Some(node::level(&g) - 1);
            drop(g);
            path.push(Step { page, index, unsafe_, sibling: None });
        }
        let h = path.len();
        let mut top = h - 1;
        while top > 0 && path[top].unsafe_ {
            top -= 1;
        }
        if cell.is_none() {
            for j in top + 1..h {
                let (sib, left) = {
                    let parent = path[j - 1].page.clone().read();
                    let pi = path[j - 1].index;
                    if pi > 0 {
                        (node::child(&parent, pi - 1), true)
                    } else if node::count(&parent) > 0 {
                        (node::child(&parent, 1), false)
                    } else {
                        continue;
                    }
                };
                let pin = self.pool.fetch(sib)?;
                self.check_node(&pin.clone().read(), sib, Some(node::level(&path[j].page.clone().read())))?;
                path[j].sibling = Some((pin, left));
            }
        }
        let res = self.pool.reserve(2 * (h - top) + 2)?;

        // Phase 2: latch top-down.
        let mut guards: Vec<PageWrite<'_>> = path[top..].iter().map(|s| s.page.clone().write()).collect();

        // Phase 3: modify bottom-up.
        let mut cx = Ctx { w, res, frees: Vec::new(), gen };
        let mut old = None;
        let mut effect = Effect::default();
        for j in (top..h).rev() {
            let gi = j - top;
            let leaf = j == h - 1;
            if !leaf && !effect.any() {
                break;
            }
            let mut next = Effect::default();
            if page::generation(&guards[gi]) != gen {
                let copy = self.cow(&mut cx, &guards[gi]);
                next.moved = Some(copy.id());
                guards[gi] = copy;
            }
            if leaf {
                old = self.modify_leaf(&mut cx, &mut guards[gi], key, cell, &mut next);
            } else {
                let ci = path[j].index;
                let (upper, lower) = guards.split_at_mut(gi + 1);
                let g = &mut upper[gi];
                if let Some(moved) = effect.moved {
                    node::set_child(g, ci, moved);
                }
                if let Some((sep, right)) = effect.split.take() {
                    let c = node::internal_cell(&sep, right);
                    self.insert_or_split(&mut cx, g, ci, c, &mut next);
                }
                if effect.underflow {
                    if let Some((sib, is_left)) = &path[j + 1].sibling {
                        self.merge(&mut cx, g, ci, &mut lower[0], sib, *is_left);
                    }
                }
            }
            if cell.is_none() && node::used(&guards[gi]) < min_used {
                next.underflow = true;
            }
            effect = next;
            if j == 0 {
                self.finish_root(&mut cx, &mut guards[0], &effect);
            } else if j == top {
                assert!(!effect.any(), "a safe node changed its parent");
            }
        }
        drop(guards);
        let Ctx { w, frees, .. } = cx;
        for (id, g) in frees {
            w.alloc.free(id, g);
        }
        Ok(old)
    }

    /// Copies an old-generation page to a fresh page of this generation.
    fn cow<'a>(&'a self, cx: &mut Ctx<'a, '_>, g: &PageWrite<'a>) -> PageWrite<'a> {
        let id = cx.w.alloc.alloc();
        let mut copy = self.pool.create(&mut cx.res, id);
        copy.copy_from_slice(g);
        put_u64(&mut copy, ID_OFF, id);
        put_u64(&mut copy, GEN_OFF, cx.gen);
        cx.frees.push((g.id(), page::generation(g)));
        copy
    }

    fn modify_leaf<'a>(
        &'a self,
        cx: &mut Ctx<'a, '_>,
        g: &mut PageWrite<'a>,
        key: &[u8],
        cell: Option<&[u8]>,
        next: &mut Effect,
    ) -> Option<Old> {
        let (old, at) = match node::search(g, key) {
            Ok(i) => {
                let old = match node::value(g, i) {
                    Value::Inline(v) => Old { len: v.len() as u64, run: None },
                    Value::Overflow(r) => Old { len: r.len, run: Some(r) },
                };
                node::remove(g, i);
                (Some(old), i)
            }
            Err(i) => (None, i),
        };
        if let Some(c) = cell {
            self.insert_or_split(cx, g, at, c.to_vec(), next);
        }
        old
    }

    /// Inserts `cell` at slot `at`, splitting the node if it does not fit.
    fn insert_or_split<'a>(
        &'a self,
        cx: &mut Ctx<'a, '_>,
        g: &mut PageWrite<'a>,
        at: usize,
        cell: Vec<u8>,
        next: &mut Effect,
    ) {
        if node::fits(g, cell.len()) {
            node::insert(g, at, &cell);
            return;
        }
        let mut cells = node::cells(g);
        cells.insert(at, cell);
        let level = node::level(g);
        let total = node::cells_size(&cells);
        let mut acc = 0;
        let mut mid = cells.len() - 1;
        for (i, c) in cells.iter().enumerate() {
            acc += c.len() + 2;
            if acc >= total / 2 {
                mid = i + 1;
                break;
            }
        }
        let mut mid = mid.clamp(1, cells.len() - 1);
        if at + 1 == cells.len() && cells.len() >= 3 {
            // Appending at the right end (ascending keys): leave the left node full and start the
            // right one nearly empty, so sequential loads fill pages instead of leaving them half
            // empty. An internal node keeps one key on the right.
            mid = if level == 0 { cells.len() - 1 } else { cells.len() - 2 };
        }
        let right_id = cx.w.alloc.alloc();
        let mut right = self.pool.create(&mut cx.res, right_id);
        let (sep, right_cells, leftmost) = if level == 0 {
            let sep = node::separator(node::cell_key(&cells[mid - 1], 0), node::cell_key(&cells[mid], 0));
            (sep, &cells[mid..], 0)
        } else {
            let pushed = &cells[mid];
            (node::cell_key(pushed, level).to_vec(), &cells[mid + 1..], node::cell_child(pushed))
        };
        let ty = if level == 0 { PageType::Leaf } else { PageType::Internal };
        page::init(&mut right, ty, right_id, cx.gen);
        node::init(&mut right, level, leftmost);
        node::rebuild(&mut right, right_cells);
        node::rebuild(g, &cells[..mid]);
        next.split = Some((sep, right_id));
        cx.w.splits += 1;
    }

    /// Merges child `ci` of `parent` (latched as `child`) with its sibling if both fit in a page.
    /// Like all of phase 3 it cannot fail: everything that can was done while planning.
    fn merge<'a>(
        &'a self,
        cx: &mut Ctx<'a, '_>,
        parent: &mut PageWrite<'a>,
        ci: usize,
        child: &mut PageWrite<'a>,
        sibling: &PageRef<'a>,
        sibling_is_left: bool,
    ) {
        let level = node::level(child);
        // Checked to be a node at this level while planning.
        let mut sib = sibling.clone().write();
        let li = if sibling_is_left { ci - 1 } else { ci };
        let sep = node::key(parent, li).to_vec();
        let (left, right): (&mut PageWrite<'a>, &mut PageWrite<'a>) =
            if sibling_is_left { (&mut sib, child) } else { (child, &mut sib) };
        let mut cells = node::cells(left);
        if level > 0 {
            cells.push(node::internal_cell(&sep, node::child(right, 0)));
        }
        cells.extend(node::cells(right));
        if node::cells_size(&cells) > node::usable(self.page_size) {
            return;
        }
        if page::generation(left) != cx.gen {
            let copy = self.cow(cx, left);
            node::set_child(parent, li, copy.id());
            *left = copy;
        }
        node::rebuild(left, &cells);
        cx.frees.push((right.id(), page::generation(right)));
        node::remove(parent, li);
        cx.w.merges += 1;
    }

    /// Applies the root's own effect: a new root pointer, a new level, or one level less.
    fn finish_root<'a>(&'a self, cx: &mut Ctx<'a, '_>, root: &mut PageWrite<'a>, effect: &Effect) {
        let mut new_root = effect.moved.unwrap_or_else(|| root.id());
        if let Some((sep, right)) = &effect.split {
            let id = cx.w.alloc.alloc();
            let mut g = self.pool.create(&mut cx.res, id);
            page::init(&mut g, PageType::Internal, id, cx.gen);
            node::init(&mut g, node::level(root) + 1, new_root);
            node::insert(&mut g, 0, &node::internal_cell(sep, *right));
            new_root = id;
        } else if !node::is_leaf(root) && node::count(root) == 0 {
            cx.frees.push((root.id(), page::generation(root)));
            new_root = node::child(root, 0);
        }
        self.root.store(new_root, Ordering::Release);
    }
}

/// Checks a key against the size limit.
pub(super) fn check_key(page_size: usize, key: &[u8]) -> Result<()> {
    let max = node::max_key_len(page_size);
    if key.len() > max {
        return Err(err!(
            ProgramLimitExceeded,
            "key of {} bytes exceeds the maximum of {max} bytes",
            key.len()
        ));
    }
    Ok(())
}
