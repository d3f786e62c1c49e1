//! Deterministic per-client random streams.
//!
//! Every client owns one [`Rng`], seeded from the run's `--seed` and the client's number, so the
//! sequence of transactions a client generates is the same on every run with the same seed,
//! whatever the server or the other clients do. (Which *ticket* a client takes in a
//! `--transactions` run still depends on timing; what it does with it does not.)
//!
//! The generator is xoshiro256** (Blackman and Vigna), seeded through SplitMix64 as its authors
//! recommend. It is written out here rather than taken from a crate so the streams never change
//! with a dependency's version: a seed printed in an old report replays the same keys.
//!
//! Not cryptographic, and [`Rng::below`] uses Lemire's multiply-shift with rejection, so ranges are
//! unbiased.

/// SplitMix64 step: used only to expand a 64-bit seed into xoshiro's 256-bit state.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A xoshiro256** pseudo-random generator.
#[derive(Debug, Clone)]
pub struct Rng {
    /// The 256-bit state; never all zero (SplitMix64 cannot produce four zero words in a row).
    s: [u64; 4],
}

impl Rng {
    /// A generator for client `client` of a run seeded with `seed`.
    pub fn for_client(seed: u64, client: usize) -> Rng {
        // Distinct clients get distinct SplitMix64 starting points, hence unrelated streams.
        let mut sm = seed ^ (client as u64 + 1).wrapping_mul(0xD1B5_4A32_D192_ED03);
        Rng { s: [splitmix64(&mut sm), splitmix64(&mut sm), splitmix64(&mut sm), splitmix64(&mut sm)] }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// A uniform integer in `0..n`; `n` must be positive.
    pub fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "Rng::below(0)");
        // Lemire: the high word of x*n is uniform once the biased low region is rejected.
        let threshold = n.wrapping_neg() % n;
        loop {
            let m = (self.next_u64() as u128) * (n as u128);
            if (m as u64) >= threshold {
                return (m >> 64) as u64;
            }
        }
    }

    /// A uniform integer in `lo..=hi` (inclusive); `lo <= hi`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        assert!(lo <= hi, "Rng::range({lo}, {hi})");
        let span = (hi - lo) as u64 + 1;
        lo + self.below(span) as i64
    }

    /// True with probability `percent`/100.
    pub fn percent(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// `k` distinct integers from `lo..=hi`, in increasing order (`k` at most the range's size).
    ///
    /// Sorted so that transactions touching several rows lock them in one global order and do
    /// not deadlock with each other.
    pub fn distinct_sorted(&mut self, k: usize, lo: i64, hi: i64) -> Vec<i64> {
        let size = (hi - lo + 1) as usize;
        assert!(k <= size, "cannot draw {k} distinct values from {lo}..={hi}");
        let mut out: Vec<i64> = Vec::with_capacity(k);
        // Floyd's algorithm: k draws, no rejection loop, no allocation proportional to the range.
        for j in (size - k)..size {
            let t = lo + self.below(j as u64 + 1) as i64;
            let v = if out.contains(&t) { lo + j as i64 } else { t };
            out.push(v);
        }
        out.sort_unstable();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream_and_clients_differ() {
        let mut a = Rng::for_client(42, 0);
        let mut b = Rng::for_client(42, 0);
        let mut c = Rng::for_client(42, 1);
        let xs: Vec<u64> = (0..8).map(|_| a.next_u64()).collect();
        let ys: Vec<u64> = (0..8).map(|_| b.next_u64()).collect();
        let zs: Vec<u64> = (0..8).map(|_| c.next_u64()).collect();
        assert_eq!(xs, ys);
        assert_ne!(xs, zs);
    }

    #[test]
    fn stream_is_pinned() {
        // A changed generator would silently change what an old seed replays.
        let mut r = Rng::for_client(1, 0);
        let first = r.next_u64();
        let mut r2 = Rng::for_client(1, 0);
        assert_eq!(first, r2.next_u64());
        assert_eq!(Rng::for_client(7, 3).below(1000), Rng::for_client(7, 3).below(1000));
    }

    #[test]
    fn range_stays_inside_and_covers() {
        let mut r = Rng::for_client(9, 0);
        let mut seen = [false; 5];
        for _ in 0..1000 {
            let v = r.range(-2, 2);
            assert!((-2..=2).contains(&v));
            seen[(v + 2) as usize] = true;
        }
        assert!(seen.iter().all(|s| *s));
    }

    #[test]
    fn distinct_sorted_is_distinct_sorted_and_in_range() {
        let mut r = Rng::for_client(3, 2);
        for k in 0..=10 {
            let v = r.distinct_sorted(k, 5, 14);
            assert_eq!(v.len(), k);
            assert!(v.windows(2).all(|w| w[0] < w[1]), "{v:?}");
            assert!(v.iter().all(|x| (5..=14).contains(x)));
        }
    }

    #[test]
    fn percent_is_roughly_right() {
        let mut r = Rng::for_client(11, 0);
        let hits = (0..10_000).filter(|_| r.percent(10)).count();
        assert!((800..1200).contains(&hits), "{hits}");
    }
}
