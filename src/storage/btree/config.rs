//! Store configuration and the size parser behind `--buffer-pool SIZE`.

use super::page::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, MIN_PAGE_SIZE};
use crate::err;
use crate::error::Result;

/// Default buffer pool capacity: 128 MiB.
pub const DEFAULT_BUFFER_POOL_BYTES: u64 = 128 << 20;

/// The pool never has fewer frames than this, whatever the byte size asks: a writer pins a
/// root-to-leaf path plus the pages a split may create, and readers pin two pages each.
pub const MIN_FRAMES: usize = 64;

/// How a [`BTreeStore`](super::BTreeStore) is opened.
#[derive(Clone, Debug)]
pub struct Config {
    /// Buffer pool capacity in bytes (rounded down to whole pages, at least [`MIN_FRAMES`] pages).
    pub buffer_pool_bytes: u64,
    /// Page size for a new data file; an existing file keeps the size in its header.
    pub page_size: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config { buffer_pool_bytes: DEFAULT_BUFFER_POOL_BYTES, page_size: DEFAULT_PAGE_SIZE }
    }
}

impl Config {
    /// The default configuration with a pool of `bytes`.
    pub fn with_pool(bytes: u64) -> Config {
        Config { buffer_pool_bytes: bytes, ..Config::default() }
    }

    /// Checks the page size.
    pub fn validate(&self) -> Result<()> {
        let ps = self.page_size;
        if !ps.is_power_of_two() || !(MIN_PAGE_SIZE..=MAX_PAGE_SIZE).contains(&ps) {
            return Err(err!(
                InvalidParameterValue,
                "invalid page size {ps}: must be a power of two from {MIN_PAGE_SIZE} to {MAX_PAGE_SIZE}"
            ));
        }
        Ok(())
    }

    /// Number of frames for pages of `page_size` bytes.
    pub fn frames(&self, page_size: usize) -> usize {
        let n = usize::try_from(self.buffer_pool_bytes / page_size as u64).unwrap_or(usize::MAX);
        n.max(MIN_FRAMES)
    }
}

/// Parses a size such as `8192`, `512kB`, `64MB`, `1GB`, `1GiB` or `2TB`. Units are powers of 1024,
/// as in PostgreSQL's memory settings; case does not matter and a trailing `B`/`iB` is optional.
pub fn parse_size(text: &str) -> Result<u64> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let bad = || {
        err!(
            InvalidParameterValue,
            "invalid size \"{text}\": expected a number with an optional unit (kB, MB, GB, TB)"
        )
    };
    let n: u64 = digits.parse().map_err(|_| bad())?;
    let unit = unit.trim().to_ascii_lowercase();
    let shift = match unit.trim_end_matches("ib").trim_end_matches('b') {
        "" => 0,
        "k" => 10,
        "m" => 20,
        "g" => 30,
        "t" => 40,
        _ => return Err(bad()),
    };
    n.checked_mul(1u64 << shift).ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("8192").unwrap(), 8192);
        assert_eq!(parse_size("64MB").unwrap(), 64 << 20);
        assert_eq!(parse_size("64mb").unwrap(), 64 << 20);
        assert_eq!(parse_size("1GB").unwrap(), 1 << 30);
        assert_eq!(parse_size("1GiB").unwrap(), 1 << 30);
        assert_eq!(parse_size("512kB").unwrap(), 512 << 10);
        assert_eq!(parse_size(" 2 G ").unwrap(), 2 << 30);
        assert_eq!(parse_size("128B").unwrap(), 128);
        for bad in ["", "MB", "12XB", "-1MB", "1.5GB", "99999999999999TB"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn frames_have_a_floor() {
        assert_eq!(Config::with_pool(0).frames(8192), MIN_FRAMES);
        assert_eq!(Config::default().frames(8192), 16384);
    }
}
