//! An in-memory [`Engine`]: a `BTreeMap` under a read-write lock. Nothing persists; every LSN is
//! durable as soon as it is written. Used until the B+tree store lands and by tests.

use super::{Direction, Engine, KeyValue, Lsn, Status, Write, WriteBatch};
use crate::error::Result;
use parking_lot::RwLock;
use std::collections::BTreeMap;
use std::ops::Bound;

/// The in-memory engine.
#[derive(Default)]
pub struct Memory {
    inner: RwLock<Inner>,
}

#[derive(Default)]
struct Inner {
    map: BTreeMap<Vec<u8>, Vec<u8>>,
    lsn: Lsn,
    size: u64,
}

impl Memory {
    /// An empty engine.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Engine for Memory {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.inner.read().map.get(key).cloned())
    }

    fn scan_chunk(
        &self,
        from: Bound<&[u8]>,
        to: Bound<&[u8]>,
        direction: Direction,
        limit: usize,
    ) -> Result<Vec<KeyValue>> {
        // An inverted or empty range would make BTreeMap::range panic; it holds nothing.
        if let (Bound::Included(a) | Bound::Excluded(a), Bound::Included(b) | Bound::Excluded(b)) = (from, to) {
            let empty = a > b || (a == b && !(matches!(from, Bound::Included(_)) && matches!(to, Bound::Included(_))));
            if empty {
                return Ok(vec![]);
            }
        }
        let inner = self.inner.read();
        let range = inner.map.range::<[u8], _>((from, to));
        let clone = |(k, v): (&Vec<u8>, &Vec<u8>)| (k.clone(), v.clone());
        Ok(match direction {
            Direction::Forward => range.take(limit).map(clone).collect(),
            Direction::Backward => range.rev().take(limit).map(clone).collect(),
        })
    }

    fn write(&self, batch: WriteBatch) -> Result<Lsn> {
        let mut inner = self.inner.write();
        for w in batch.writes {
            match w {
                Write::Put(k, v) => {
                    inner.size += (k.len() + v.len()) as u64;
                    if let Some(old) = inner.map.insert(k.clone(), v) {
                        inner.size -= (k.len() + old.len()) as u64;
                    }
                }
                Write::Delete(k) => {
                    if let Some(old) = inner.map.remove(&k) {
                        inner.size -= (k.len() + old.len()) as u64;
                    }
                }
            }
        }
        inner.lsn += 1;
        Ok(inner.lsn)
    }

    fn wait_durable(&self, _lsn: Lsn) -> Result<()> {
        Ok(())
    }

    fn status(&self) -> Result<Status> {
        let inner = self.inner.read();
        Ok(Status {
            name: "memory".into(),
            keys: inner.map.len() as u64,
            size: inner.size,
            persistent: false,
            durable_lsn: inner.lsn,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::scan;

    #[test]
    fn scan_crosses_chunks_in_both_directions() {
        let m = Memory::new();
        let mut b = WriteBatch::new();
        for i in 0u32..1000 {
            b.put(i.to_be_bytes().to_vec(), vec![1]);
        }
        m.write(b).unwrap();
        let fwd: Vec<_> = scan(&m, Bound::Unbounded, Bound::Unbounded, Direction::Forward)
            .map(|r| r.unwrap().0)
            .collect();
        assert_eq!(fwd.len(), 1000);
        assert!(fwd.windows(2).all(|w| w[0] < w[1]));
        let lo = 10u32.to_be_bytes().to_vec();
        let hi = 700u32.to_be_bytes().to_vec();
        let back: Vec<_> = scan(&m, Bound::Included(lo), Bound::Excluded(hi), Direction::Backward)
            .map(|r| r.unwrap().0)
            .collect();
        assert_eq!(back.len(), 690);
        assert!(back.windows(2).all(|w| w[0] > w[1]));
    }

    #[test]
    fn empty_and_inverted_ranges_yield_nothing() {
        let m = Memory::new();
        m.write(WriteBatch { writes: vec![Write::Put(b"a".to_vec(), b"1".to_vec())] }).unwrap();
        let r = m.scan_chunk(Bound::Included(b"b"), Bound::Included(b"a"), Direction::Forward, 10).unwrap();
        assert!(r.is_empty());
        let r = m.scan_chunk(Bound::Excluded(b"a"), Bound::Excluded(b"a"), Direction::Forward, 10).unwrap();
        assert!(r.is_empty());
        let r = m.scan_chunk(Bound::Included(b"a"), Bound::Included(b"a"), Direction::Forward, 10).unwrap();
        assert_eq!(r.len(), 1);
    }
}
