//! The read path: point gets and chunked range scans, concurrent with the writer.
//!
//! Readers descend from the root with *latch coupling*: the child's shared latch is taken before
//! the parent's is released, so a reader never follows a pointer the writer is changing, and the
//! writer (which latches top-down too) can never overtake a reader on its path. The root pointer is
//! read from an atomic and re-checked once the root page is latched, because a root that was freed
//! since may already hold another page.
//!
//! A reader never waits for I/O while holding a latch: it asks the pool only for resident pages
//! ([`Pool::fetch_cached`]); on a miss it releases everything, loads the page with no latch held,
//! keeps it pinned so it stays resident, and restarts from the root.
//!
//! There are no sibling links between leaves (copy-on-write would have to copy the neighbours on
//! every page copy). A scan chunk instead remembers the *fences* of the leaf it read: the separator
//! keys that bound the leaf in its parents. The next leaf forward is the one holding the upper fence;
//! backward, the one holding the keys just below the lower fence. Each step re-descends from the root,
//! so no latch or page id is kept between steps and a scan stays correct under concurrent splits and
//! merges. Values in overflow runs are read after the leaf latch is released.

use super::node::{self, Value};
use super::overflow::{self, ReadFailure};
use super::page::{self, PageId, PageType};
use super::pool::{PageRead, PageRef};
use super::BTreeStore;
use crate::err;
use crate::error::Result;
use crate::storage::{Direction, KeyValue};
use std::ops::Bound;
use std::sync::atomic::Ordering;

/// Which child to follow at each internal node.
#[derive(Clone, Copy)]
pub(super) enum Seek<'a> {
    /// The child covering this key.
    Key(&'a [u8]),
    /// The child covering the keys just below this key.
    Before(&'a [u8]),
    /// The leftmost child.
    First,
    /// The rightmost child.
    Last,
}

impl Seek<'_> {
    fn child_index(&self, p: &[u8]) -> usize {
        match *self {
            Seek::Key(k) => node::upper_bound(p, k),
            Seek::Before(k) => node::lower_bound(p, k),
            Seek::First => 0,
            Seek::Last => node::count(p),
        }
    }
}

/// The separator keys bounding a leaf: it holds keys in `[low, high)`; `None` is unbounded.
#[derive(Default)]
pub(super) struct Fences {
    /// Lowest key the leaf may hold.
    low: Option<Vec<u8>>,
    /// Keys from here on are in later leaves.
    high: Option<Vec<u8>>,
}

/// How many pages a restarting reader keeps pinned while it retries.
const WARM_PINS: usize = 8;

impl BTreeStore {
    /// Checks that a page reached as a node is one, at the expected level.
    pub(super) fn check_node(&self, p: &[u8], id: PageId, level: Option<u16>) -> Result<()> {
        let ty = page::page_type(p);
        let ok = matches!(ty, Some(PageType::Leaf | PageType::Internal))
            && level.is_none_or(|l| node::level(p) == l);
        if ok {
            Ok(())
        } else {
            Err(err!(
                Corrupt,
                "invalid page {id} in data file \"{}\": expected a B+tree node at level {level:?}, found {ty:?} at level {}",
                self.pool.file_name(),
                node::level(p)
            ))
        }
    }

    /// Descends to the leaf `seek` selects and returns it read-latched, with its fences if asked.
    pub(super) fn descend<'a>(&'a self, seek: Seek<'_>, want_fences: bool) -> Result<(PageRead<'a>, Fences)> {
        let mut warm: Vec<PageRef<'a>> = Vec::new();
        let keep_warm = |warm: &mut Vec<PageRef<'a>>, r: PageRef<'a>| {
            if warm.len() == WARM_PINS {
                warm.remove(0);
            }
            warm.push(r);
        };
        'restart: loop {
            let root = self.root.load(Ordering::Acquire);
            let Some(r) = self.pool.fetch_cached(root) else {
                match self.pool.fetch(root) {
                    Ok(r) => keep_warm(&mut warm, r),
                    Err(_) if self.root.load(Ordering::Acquire) != root => {}
                    Err(e) => return Err(e),
                }
                continue;
            };
            let mut g = r.read();
            if self.root.load(Ordering::Acquire) != root {
                continue;
            }
            self.check_node(&g, root, None)?;
            let mut fences = Fences::default();
            while !node::is_leaf(&g) {
                let i = seek.child_index(&g);
                if want_fences {
                    if i > 0 {
                        fences.low = Some(node::key(&g, i - 1).to_vec());
                    }
                    if i < node::count(&g) {
                        fences.high = Some(node::key(&g, i).to_vec());
                    }
                }
                let child = node::child(&g, i);
                let level = node::level(&g) - 1;
                let Some(c) = self.pool.fetch_cached(child) else {
                    drop(g);
                    keep_warm(&mut warm, self.pool.fetch(child)?);
                    continue 'restart;
                };
                let cg = c.read();
                self.check_node(&cg, child, Some(level))?;
                g = cg;
            }
            return Ok((g, fences));
        }
    }

    /// Reads an overflow value for `key`, re-reading the reference while the run is being replaced.
    fn resolve(&self, key: &[u8], mut r: node::OverflowRef) -> Result<Option<Vec<u8>>> {
        loop {
            let failure = match overflow::read(&self.pool, r) {
                Ok(v) => return Ok(Some(v)),
                Err(f) => f,
            };
            // Has the value changed since we copied its reference?
            let (leaf, _) = self.descend(Seek::Key(key), false)?;
            let now = match node::search(&leaf, key) {
                Err(_) => return Ok(None),
                Ok(i) => match node::value(&leaf, i) {
                    Value::Inline(v) => return Ok(Some(v.to_vec())),
                    Value::Overflow(n) => n,
                },
            };
            drop(leaf);
            if now != r {
                r = now;
                continue;
            }
            // Same reference, still unreadable: the damage is real.
            return Err(match failure {
                ReadFailure::Error(e) => e,
                ReadFailure::Stale(id) => err!(
                    Corrupt,
                    "invalid page {id} in data file \"{}\": not part of overflow chain {}",
                    self.pool.file_name(),
                    r.chain
                ),
            });
        }
    }

    /// Point read.
    pub(super) fn tree_get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let (leaf, _) = self.descend(Seek::Key(key), false)?;
        let r = match node::search(&leaf, key) {
            Err(_) => return Ok(None),
            Ok(i) => match node::value(&leaf, i) {
                Value::Inline(v) => return Ok(Some(v.to_vec())),
                Value::Overflow(r) => r,
            },
        };
        drop(leaf);
        self.resolve(key, r)
    }

    /// One chunk of a range scan (see [`Engine::scan_chunk`](crate::storage::Engine::scan_chunk)).
    pub(super) fn tree_scan(
        &self,
        from: Bound<&[u8]>,
        to: Bound<&[u8]>,
        direction: Direction,
        limit: usize,
    ) -> Result<Vec<KeyValue>> {
        let mut out: Vec<KeyValue> = Vec::new();
        if limit == 0 {
            return Ok(out);
        }
        let forward = direction == Direction::Forward;
        // The bound the scan resumes from: `from` going forward, `to` going backward.
        let mut resume: Bound<Vec<u8>> =
            if forward { from.map(<[u8]>::to_vec) } else { to.map(<[u8]>::to_vec) };
        loop {
            let seek = match (&resume, forward) {
                (Bound::Unbounded, true) => Seek::First,
                (Bound::Unbounded, false) => Seek::Last,
                (Bound::Included(k), _) => Seek::Key(k),
                (Bound::Excluded(k), true) => Seek::Key(k),
                (Bound::Excluded(k), false) => Seek::Before(k),
            };
            let (leaf, fences) = self.descend(seek, true)?;
            let n = node::count(&leaf);
            // Candidate positions in scan order, starting at the resume bound.
            let positions: Box<dyn Iterator<Item = usize>> = if forward {
                let start = match &resume {
                    Bound::Unbounded => 0,
                    Bound::Included(k) => node::lower_bound(&leaf, k),
                    Bound::Excluded(k) => node::upper_bound(&leaf, k),
                };
                Box::new(start..n)
            } else {
                let end = match &resume {
                    Bound::Unbounded => n,
                    Bound::Included(k) => node::upper_bound(&leaf, k),
                    Bound::Excluded(k) => node::lower_bound(&leaf, k),
                };
                Box::new((0..end).rev())
            };
            let mut finished = false;
            let mut full = false;
            let mut last: Option<Vec<u8>> = None;
            let mut big: Vec<(usize, node::OverflowRef)> = Vec::new();
            for i in positions {
                let k = node::key(&leaf, i);
                let past_end = if forward { beyond_upper(k, to) } else { beyond_lower(k, from) };
                if past_end {
                    finished = true;
                    break;
                }
                let v = match node::value(&leaf, i) {
                    Value::Inline(v) => v.to_vec(),
                    Value::Overflow(r) => {
                        big.push((out.len(), r));
                        Vec::new()
                    }
                };
                out.push((k.to_vec(), v));
                if out.len() == limit {
                    full = true;
                    last = Some(k.to_vec());
                    break;
                }
            }
            drop(leaf);
            let mut deleted = Vec::new();
            for (pos, r) in big {
                match self.resolve(&out[pos].0, r)? {
                    Some(v) => out[pos].1 = v,
                    None => deleted.push(pos),
                }
            }
            for pos in deleted.into_iter().rev() {
                out.remove(pos);
            }
            if finished || out.len() >= limit {
                return Ok(out);
            }
            resume = match (full, last, forward) {
                // Stopped at the limit but values vanished meanwhile: continue after the last key seen.
                (true, Some(k), _) => Bound::Excluded(k),
                (_, _, true) => match fences.high {
                    Some(h) => Bound::Included(h),
                    None => return Ok(out),
                },
                (_, _, false) => match fences.low {
                    Some(l) => Bound::Excluded(l),
                    None => return Ok(out),
                },
            };
        }
    }
}

fn beyond_upper(k: &[u8], to: Bound<&[u8]>) -> bool {
    match to {
        Bound::Unbounded => false,
        Bound::Included(t) => k > t,
        Bound::Excluded(t) => k >= t,
    }
}

fn beyond_lower(k: &[u8], from: Bound<&[u8]>) -> bool {
    match from {
        Bound::Unbounded => false,
        Bound::Included(f) => k < f,
        Bound::Excluded(f) => k <= f,
    }
}
