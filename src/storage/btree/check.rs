//! A full consistency check of the store, in the spirit of PostgreSQL's `amcheck`.
//!
//! [`BTreeStore::check`] walks every page reachable from the root and verifies, beyond what every
//! page load already checks (checksum, own page number, generation, node structure):
//!
//! - each node is at the level its parent implies, and every key lies within the fence keys its
//!   ancestors impose, so the key order holds across the whole tree, not just inside pages;
//! - every page of every overflow run belongs to that run (type, chain id, sequence, length);
//! - no page is reachable twice, and no page is both in use and free;
//! - the live key count matches the count kept in the meta page.
//!
//! Pages neither reachable nor free are *leaked*: harmless for correctness, so they are counted in
//! the report rather than treated as corruption. The check holds the writer mutex (writes and
//! checkpoints wait; readers do not) and reads pages through the pool, so it checks the current
//! state, including pages not yet written back.

use super::node::{self, Value};
use super::overflow;
use super::page::PageId;
use super::BTreeStore;
use crate::err;
use crate::error::Result;
use std::collections::HashSet;
use std::sync::atomic::Ordering;

/// What [`BTreeStore::check`] found in a consistent store.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CheckReport {
    /// Levels of the tree (1: the root is a leaf).
    pub height: u16,
    /// Leaf pages.
    pub leaves: u64,
    /// Internal pages.
    pub internal: u64,
    /// Overflow pages.
    pub overflow_pages: u64,
    /// Live keys.
    pub keys: u64,
    /// Pages free now, pending or holding the free list.
    pub unused_pages: u64,
    /// Pages neither reachable nor free (space lost until a rebuild; not corruption).
    pub leaked_pages: u64,
}

/// A node still to visit: page, fences, expected level.
type Visit = (PageId, Option<Vec<u8>>, Option<Vec<u8>>, Option<u16>);

impl BTreeStore {
    /// Checks the whole store (see the module doc); the first problem found is returned as
    /// [`Corrupt`](crate::error::ErrorKind::Corrupt) naming the page.
    pub fn check(&self) -> Result<CheckReport> {
        let w = self.writer.lock();
        let bad = |id: PageId, why: String| {
            err!(Corrupt, "invalid page {id} in data file \"{}\": {why}", self.pool.file_name())
        };
        let mut report = CheckReport::default();
        let mut seen: HashSet<PageId> = HashSet::new();
        let root = self.root.load(Ordering::Acquire);
        let mut stack: Vec<Visit> = vec![(root, None, None, None)];
        while let Some((id, low, high, level)) = stack.pop() {
            if !seen.insert(id) {
                return Err(bad(id, "reachable twice in the tree".into()));
            }
            let p = self.pool.fetch(id)?.read();
            self.check_node(&p, id, level)?;
            let n = node::count(&p);
            report.height = report.height.max(node::level(&p) + 1);
            for i in 0..n {
                let k = node::key(&p, i);
                if low.as_deref().is_some_and(|l| k < l) || high.as_deref().is_some_and(|h| k >= h) {
                    return Err(bad(id, format!("key {i} lies outside the range its parents give the page")));
                }
            }
            if node::is_leaf(&p) {
                report.leaves += 1;
                report.keys += n as u64;
                for i in 0..n {
                    if let Value::Overflow(r) = node::value(&p, i) {
                        let pages = overflow::check(&self.pool, r).map_err(|(o, why)| bad(o, why))?;
                        for o in r.first..r.first + pages {
                            if !seen.insert(o) {
                                return Err(bad(o, "overflow page reachable twice".into()));
                            }
                        }
                        report.overflow_pages += pages;
                    }
                }
            } else {
                report.internal += 1;
                let child_level = node::level(&p) - 1;
                for i in 0..=n {
                    let lo = if i == 0 { low.clone() } else { Some(node::key(&p, i - 1).to_vec()) };
                    let hi = if i == n { high.clone() } else { Some(node::key(&p, i).to_vec()) };
                    stack.push((node::child(&p, i), lo, hi, Some(child_level)));
                }
            }
        }
        for id in w.alloc.unused_pages() {
            if !seen.insert(id) {
                return Err(bad(id, "both in use and free, or free twice".into()));
            }
            report.unused_pages += 1;
        }
        let total = w.alloc.page_count().saturating_sub(super::meta::FIRST_DATA_PAGE);
        report.leaked_pages = total.saturating_sub(seen.len() as u64);
        if report.keys != w.keys {
            return Err(err!(
                Corrupt,
                "data file \"{}\" holds {} keys but its meta page counts {}",
                self.pool.file_name(),
                report.keys,
                w.keys
            ));
        }
        Ok(report)
    }
}
