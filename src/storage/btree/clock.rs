//! Page replacement: which buffer-pool frame to reuse when a page must be brought in.
//!
//! The pool asks a [`Replacer`] for a victim and tells it about every access; the policy knows
//! nothing else about pages. [`Clock`] is the one implementation: each frame has a reference bit set
//! on access; the hand sweeps the frames, clearing set bits and stopping at the first evictable frame
//! whose bit is already clear. A frame therefore survives one full sweep after its last access, which
//! approximates LRU at the cost of one bit per frame and no list to maintain on the hit path.
//! Frames the pool says are not evictable (pinned, dirty, loading) are skipped without touching
//! their bit.

/// A page-replacement policy over frames `0..n`.
pub trait Replacer: Send {
    /// Records an access to `frame`.
    fn touch(&mut self, frame: usize);
    /// Chooses a frame to evict among those for which `evictable` returns true, or `None` if a full
    /// sweep found none.
    fn victim(&mut self, evictable: &mut dyn FnMut(usize) -> bool) -> Option<usize>;
}

/// The clock (second-chance) policy.
pub struct Clock {
    referenced: Vec<bool>,
    hand: usize,
}

impl Clock {
    /// A clock over `frames` frames, all unreferenced.
    pub fn new(frames: usize) -> Clock {
        Clock { referenced: vec![false; frames], hand: 0 }
    }
}

impl Replacer for Clock {
    fn touch(&mut self, frame: usize) {
        self.referenced[frame] = true;
    }

    fn victim(&mut self, evictable: &mut dyn FnMut(usize) -> bool) -> Option<usize> {
        let n = self.referenced.len();
        // Two sweeps: the first may only clear reference bits.
        for _ in 0..2 * n {
            let f = self.hand;
            self.hand = (self.hand + 1) % n;
            if !evictable(f) {
                continue;
            }
            if self.referenced[f] {
                self.referenced[f] = false;
            } else {
                return Some(f);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_chance() {
        let mut c = Clock::new(4);
        c.touch(0);
        c.touch(1);
        assert_eq!(c.victim(&mut |_| true), Some(2));
        assert_eq!(c.victim(&mut |_| true), Some(3));
        // 0 and 1 lost their bits on the first sweep.
        assert_eq!(c.victim(&mut |_| true), Some(0));
        assert_eq!(c.victim(&mut |f| f == 1), Some(1));
        assert_eq!(c.victim(&mut |_| false), None);
    }
}
