//! Page allocation under copy-on-write checkpoints, and the on-disk free list.
//!
//! A page is in one of three states with respect to the last durable checkpoint `g`:
//!
//! - **in use**: reachable from the current tree;
//! - **free**: not referenced by checkpoint `g` nor by the current tree. Reusable now;
//! - **pending**: referenced by checkpoint `g` but no longer by the current tree (it was copied on
//!   write, merged away, or held a value since overwritten). Reusing it now would damage `g`, the
//!   state a crash returns to, so it becomes free only once checkpoint `g + 1` is durable.
//!
//! Which of the last two a freed page joins follows from its generation: a page allocated in the
//! current generation `g + 1` was never part of a durable checkpoint, so it is free at once.
//!
//! The free list is written at each checkpoint as a chain of free-list pages holding the ids of
//! every page free in the new checkpoint's view: free + pending + the previous checkpoint's own
//! free-list pages. The list's pages are themselves taken from the free set (never from pending
//! pages, which the previous checkpoint still needs).
//!
//! ```text
//! free-list page body
//! offset size field   meaning
//! 32     8    next    next free-list page, 0 at the end
//! 40     4    count   entries in this page
//! 44     4    unused  zero
//! 48     8*n  entries free page ids
//! ```
//!
//! The allocator prefers the lowest free page id, so the file stays dense and can be shrunk later
//! (shrinking is left out). Runs of consecutive pages for overflow values come from the free set
//! when a long enough run exists, else from the end of the file.

use super::meta::FIRST_DATA_PAGE;
use super::page::{get_u32, get_u64, put_u32, put_u64, PageId, HEADER_SIZE};
use std::collections::BTreeSet;

/// Offset of the next-page link in a free-list page.
pub const NEXT_OFF: usize = 32;
/// Offset of the entry count.
pub const COUNT_OFF: usize = 40;
/// Offset of the first entry.
pub const ENTRIES_OFF: usize = 48;

/// How many free pages a search for a run of consecutive pages examines at most.
const RUN_SEARCH_LIMIT: usize = 100_000;

/// Entries one free-list page holds.
pub fn entries_per_page(page_size: usize) -> usize {
    (page_size - ENTRIES_OFF) / 8
}

/// The page allocator. Owned by the single writer.
#[derive(Debug)]
pub struct Allocator {
    /// Reusable now (lowest first).
    free: BTreeSet<PageId>,
    /// Freed this generation but referenced by the last durable checkpoint.
    pending: Vec<PageId>,
    /// Pages `[0, page_count)` exist in the file's address space.
    page_count: u64,
    /// The generation being built (last durable checkpoint + 1).
    generation: u64,
    /// Pages holding the last durable checkpoint's free list.
    list_pages: Vec<PageId>,
}

/// A checkpoint's free list, laid out into pages.
pub struct FreeListPlan {
    /// Pages to write, in chain order.
    pub pages: Vec<PageId>,
    /// Entries of each page.
    pub entries: Vec<Vec<PageId>>,
}

impl Allocator {
    /// An allocator for generation `generation` over `page_count` pages, with the durable free list.
    pub fn new(generation: u64, page_count: u64, free: Vec<PageId>, list_pages: Vec<PageId>) -> Allocator {
        Allocator {
            free: free.into_iter().collect(),
            pending: Vec::new(),
            page_count,
            generation,
            list_pages,
        }
    }

    /// The generation being built.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The high-water mark.
    pub fn page_count(&self) -> u64 {
        self.page_count
    }

    /// Number of pages free now and pending.
    pub fn free_counts(&self) -> (usize, usize) {
        (self.free.len(), self.pending.len())
    }

    /// Allocates one page.
    pub fn alloc(&mut self) -> PageId {
        match self.free.pop_first() {
            Some(id) => id,
            None => {
                let id = self.page_count.max(FIRST_DATA_PAGE);
                self.page_count = id + 1;
                id
            }
        }
    }

    /// Allocates `n` consecutive pages and returns the first.
    pub fn alloc_run(&mut self, n: u64) -> PageId {
        if n == 1 {
            return self.alloc();
        }
        let mut start = 0;
        let mut len = 0;
        let mut found = None;
        // First fit, but bounded: a huge fragmented free set must not make every large value slow.
        for &id in self.free.iter().take(RUN_SEARCH_LIMIT) {
            if len > 0 && id == start + len {
                len += 1;
            } else {
                start = id;
                len = 1;
            }
            if len == n {
                found = Some(start);
                break;
            }
        }
        match found {
            Some(first) => {
                for id in first..first + n {
                    self.free.remove(&id);
                }
                first
            }
            None => {
                let first = self.page_count.max(FIRST_DATA_PAGE);
                self.page_count = first + n;
                first
            }
        }
    }

    /// Frees page `id`, which was allocated in generation `page_generation`.
    pub fn free(&mut self, id: PageId, page_generation: u64) {
        let in_range = (FIRST_DATA_PAGE..self.page_count).contains(&id);
        debug_assert!(in_range, "freeing page {id} outside the file");
        if !in_range {
            return;
        }
        if page_generation == self.generation {
            let fresh = self.free.insert(id);
            debug_assert!(fresh, "page {id} freed twice");
        } else {
            self.pending.push(id);
        }
    }

    /// Every page that is free, pending, or holds the durable free list (for the check).
    pub fn unused_pages(&self) -> Vec<PageId> {
        let mut v: Vec<PageId> = self.free.iter().copied().collect();
        v.extend(&self.pending);
        v.extend(&self.list_pages);
        v
    }

    /// Plans the free list of the checkpoint being taken, allocating its pages.
    pub fn plan_free_list(&mut self, page_size: usize) -> FreeListPlan {
        let cap = entries_per_page(page_size);
        let mut all: BTreeSet<PageId> = self.free.iter().copied().collect();
        all.extend(self.pending.iter().copied());
        all.extend(self.list_pages.iter().copied());
        let mut pages = Vec::new();
        while pages.len() * cap < all.len() {
            let id = self.alloc();
            all.remove(&id);
            pages.push(id);
        }
        let all: Vec<PageId> = all.into_iter().collect();
        let entries = all.chunks(cap).map(|c| c.to_vec()).collect::<Vec<_>>();
        let mut entries = entries;
        entries.resize(pages.len(), Vec::new());
        FreeListPlan { pages, entries }
    }

    /// Called once the checkpoint that wrote `plan` is durable: pending pages and the old free-list
    /// pages become free, and a new generation starts.
    pub fn checkpoint_done(&mut self, plan: &FreeListPlan) {
        self.free.extend(self.pending.drain(..));
        self.free.extend(self.list_pages.drain(..));
        self.list_pages = plan.pages.clone();
        self.generation += 1;
    }
}

/// Writes a free-list page body.
pub fn encode_page(p: &mut [u8], next: PageId, entries: &[PageId]) {
    put_u64(p, NEXT_OFF, next);
    put_u32(p, COUNT_OFF, entries.len() as u32);
    for (i, &e) in entries.iter().enumerate() {
        put_u64(p, ENTRIES_OFF + 8 * i, e);
    }
}

/// Reads a free-list page body: `(next, entries)`. Errors describe what is malformed.
pub fn decode_page(p: &[u8]) -> Result<(PageId, Vec<PageId>), String> {
    debug_assert!(p.len() > HEADER_SIZE);
    let count = get_u32(p, COUNT_OFF) as usize;
    if count > entries_per_page(p.len()) {
        return Err(format!("free-list count {count} too large"));
    }
    let entries = (0..count).map(|i| get_u64(p, ENTRIES_OFF + 8 * i)).collect();
    Ok((get_u64(p, NEXT_OFF), entries))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_pages_wait_for_the_checkpoint() {
        let mut a = Allocator::new(5, 10, vec![3, 7], vec![]);
        assert_eq!(a.alloc(), 3);
        a.free(4, 4); // older generation: pending
        a.free(3, 5); // allocated this generation: free at once
        assert_eq!(a.alloc(), 3);
        assert_eq!(a.alloc(), 7);
        assert_eq!(a.alloc(), 10);
        let plan = a.plan_free_list(512);
        // The list holds page 4 and needs one page, taken from the end (nothing is free now).
        assert_eq!(plan.pages, vec![11]);
        assert_eq!(plan.entries, vec![vec![4]]);
        a.checkpoint_done(&plan);
        assert_eq!(a.generation(), 6);
        assert_eq!(a.alloc(), 4);
        // Next checkpoint frees the old list page.
        let plan = a.plan_free_list(512);
        a.checkpoint_done(&plan);
        assert_eq!(a.alloc(), 11);
    }

    #[test]
    fn runs_come_from_free_space_when_possible() {
        let mut a = Allocator::new(1, 20, vec![3, 5, 6, 7, 9], vec![]);
        assert_eq!(a.alloc_run(3), 5);
        assert_eq!(a.alloc_run(2), 20);
        assert_eq!(a.page_count(), 22);
        assert_eq!(a.alloc(), 3);
    }
}
