//! Page replacement: which buffer-pool frame to reuse when a page must be brought in.
//!
//! The pool asks a [`Replacer`] for a victim and tells it about every access; the policy knows
//! nothing else about pages. [`Clock`] is the one implementation: each frame has a reference bit set
//! on access; the hand sweeps the frames, clearing set bits and stopping at the first evictable frame
//! whose bit is already clear. A frame therefore survives one full sweep after its last access, which
//! approximates LRU at the cost of one bit per frame and no list to maintain on the hit path.
//! The policy asks the pool about each frame whose bit is clear ([`Probe`]): the pool may accept it,
//! refuse it (pinned, loading, dirty) or end the sweep (it has collected enough dirty frames to
//! write back, which is cheaper than sweeping on through a pool full of dirty pages).

/// The pool's answer about a candidate frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Probe {
    /// Evict this frame.
    Take,
    /// Not now (pinned, loading or dirty).
    Skip,
    /// Stop sweeping without a victim.
    Stop,
}

/// A page-replacement policy over frames `0..n`.
pub trait Replacer: Send {
    /// Records an access to `frame`.
    fn touch(&mut self, frame: usize);
    /// Chooses a frame to evict: the first candidate `probe` answers [`Probe::Take`] for, or `None`
    /// if it answered [`Probe::Stop`] or a full sweep found none.
    fn victim(&mut self, probe: &mut dyn FnMut(usize) -> Probe) -> Option<usize>;
}

/// The clock (second-chance) policy.
pub struct Clock {
    /// Reference bit per frame.
    referenced: Vec<bool>,
    /// Next frame the sweep looks at.
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

    fn victim(&mut self, probe: &mut dyn FnMut(usize) -> Probe) -> Option<usize> {
        let n = self.referenced.len();
        // Two sweeps: the first may only clear reference bits.
        for _ in 0..2 * n {
            let f = self.hand;
            self.hand = (self.hand + 1) % n;
            if self.referenced[f] {
                self.referenced[f] = false;
                continue;
            }
            match probe(f) {
                Probe::Take => return Some(f),
                Probe::Skip => {}
                Probe::Stop => return None,
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
        let take = |_| Probe::Take;
        let mut c = Clock::new(4);
        c.touch(0);
        c.touch(1);
        assert_eq!(c.victim(&mut take.clone()), Some(2));
        assert_eq!(c.victim(&mut take.clone()), Some(3));
        // 0 and 1 lost their bits on the first sweep.
        assert_eq!(c.victim(&mut take.clone()), Some(0));
        assert_eq!(c.victim(&mut |f| if f == 1 { Probe::Take } else { Probe::Skip }), Some(1));
        assert_eq!(c.victim(&mut |_| Probe::Skip), None);
        assert_eq!(c.victim(&mut |_| Probe::Stop), None);
    }
}
