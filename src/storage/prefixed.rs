//! A view of an [`Engine`] restricted to the keys under one prefix, with the prefix removed.
//!
//! Several databases share one store (one buffer pool, one data file, later one log): each sees
//! its own key space through a `Prefixed` engine whose prefix is its database OID, built by
//! [`crate::encoding::keycode`].

use super::{Direction, Engine, KeyValue, Lsn, Status, Write, WriteBatch};
use crate::encoding::keycode;
use crate::error::Result;
use std::ops::Bound;
use std::sync::Arc;

/// An engine view under `prefix`.
pub struct Prefixed {
    inner: Arc<dyn Engine>,
    prefix: Vec<u8>,
}

impl Prefixed {
    /// The view of `inner` under `prefix`.
    pub fn new(inner: Arc<dyn Engine>, prefix: Vec<u8>) -> Self {
        Prefixed { inner, prefix }
    }

    fn full(&self, key: &[u8]) -> Vec<u8> {
        let mut k = Vec::with_capacity(self.prefix.len() + key.len());
        k.extend_from_slice(&self.prefix);
        k.extend_from_slice(key);
        k
    }

    /// Deletes every key of the view (DROP DATABASE), in batches.
    pub fn clear(&self) -> Result<()> {
        loop {
            let chunk = self.scan_chunk(Bound::Unbounded, Bound::Unbounded, Direction::Forward, 1024)?;
            if chunk.is_empty() {
                return Ok(());
            }
            let mut batch = WriteBatch::new();
            for (k, _) in chunk {
                batch.delete(k);
            }
            self.write(batch)?;
        }
    }
}

impl Engine for Prefixed {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.inner.get(&self.full(key))
    }

    fn scan_chunk(
        &self,
        from: Bound<&[u8]>,
        to: Bound<&[u8]>,
        direction: Direction,
        limit: usize,
    ) -> Result<Vec<KeyValue>> {
        let lo = match from {
            Bound::Included(k) => Bound::Included(self.full(k)),
            Bound::Excluded(k) => Bound::Excluded(self.full(k)),
            Bound::Unbounded => Bound::Included(self.prefix.clone()),
        };
        let hi = match to {
            Bound::Included(k) => Bound::Included(self.full(k)),
            Bound::Excluded(k) => Bound::Excluded(self.full(k)),
            Bound::Unbounded => match keycode::prefix_end(&self.prefix) {
                Some(end) => Bound::Excluded(end),
                None => Bound::Unbounded,
            },
        };
        let n = self.prefix.len();
        Ok(self
            .inner
            .scan_chunk(
                lo.as_ref().map(|k| k.as_slice()),
                hi.as_ref().map(|k| k.as_slice()),
                direction,
                limit,
            )?
            .into_iter()
            .map(|(k, v)| (k[n..].to_vec(), v))
            .collect())
    }

    fn write(&self, batch: WriteBatch) -> Result<Lsn> {
        let writes = batch
            .writes
            .into_iter()
            .map(|w| match w {
                Write::Put(k, v) => Write::Put(self.full(&k), v),
                Write::Delete(k) => Write::Delete(self.full(&k)),
            })
            .collect();
        self.inner.write(WriteBatch { writes })
    }

    fn wait_durable(&self, lsn: Lsn) -> Result<()> {
        self.inner.wait_durable(lsn)
    }

    fn status(&self) -> Result<Status> {
        self.inner.status()
    }

    fn counters(&self) -> Vec<(&'static str, u64)> {
        self.inner.counters()
    }

    fn checkpoint(&self) -> Result<()> {
        self.inner.checkpoint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::memory::Memory;

    #[test]
    fn views_are_disjoint_and_clear_only_their_keys() {
        let base: Arc<dyn Engine> = Arc::new(Memory::new());
        let a = Prefixed::new(base.clone(), vec![1]);
        let b = Prefixed::new(base.clone(), vec![2]);
        let mut batch = WriteBatch::new();
        batch.put(b"k".to_vec(), b"a".to_vec());
        a.write(batch).unwrap();
        let mut batch = WriteBatch::new();
        batch.put(b"k".to_vec(), b"b".to_vec());
        b.write(batch).unwrap();
        assert_eq!(a.get(b"k").unwrap(), Some(b"a".to_vec()));
        let all = a.scan_chunk(Bound::Unbounded, Bound::Unbounded, Direction::Backward, 10).unwrap();
        assert_eq!(all, vec![(b"k".to_vec(), b"a".to_vec())]);
        a.clear().unwrap();
        assert_eq!(a.get(b"k").unwrap(), None);
        assert_eq!(b.get(b"k").unwrap(), Some(b"b".to_vec()));
    }
}
