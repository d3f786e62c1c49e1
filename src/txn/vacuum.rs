//! Vacuum: removing versions no snapshot can see.
//!
//! The *watermark* `W` is the oldest snapshot any active transaction holds (or the newest commit
//! when none does: a snapshot taken later is at least that). Every snapshot is at `W` or later, so
//! of a key's versions at or below `W` only the newest can ever be read; the older ones are
//! garbage, and if that newest one is a tombstone it is garbage too (a reader would see "absent"
//! either way):
//!
//! ```text
//!   key k:  ts 9  "c"     kept (above W = 7)
//!           ts 6  "b"     kept (newest at or below W)
//!           ts 4  "a"     removed
//!           ts 2  "x"     removed
//! ```
//!
//! Versions above `W` are never touched, so SSI's conflict detection (which looks at versions
//! committed after a reader's snapshot) and first-updater-wins checks see everything they need.
//! Index entries are versioned keys like rows and are vacuumed the same way.
//!
//! Two drivers: [`TxnManager::vacuum`] sweeps every key (the background sweep and `VACUUM`), and
//! [`TxnManager::prune_after_commit`] prunes just the keys a small commit wrote (hot rows such as
//! pgbench's branches gather thousands of versions a second). At commit time other transactions'
//! snapshots usually still precede the commit, so the versions it superseded (and a tombstone it
//! wrote, such as an index entry of an updated column, never written again) are not garbage yet:
//! the keys wait in a queue and are pruned again by a later commit once the watermark has passed
//! theirs. Removals are ordinary engine deletes; losing one in a crash is harmless.

use crate::error::Result;
use crate::storage::{Direction, WriteBatch};
use crate::txn::mvcc::{decode_version_key, version_prefix, Timestamp, TxnManager, SPACE_VERSION};
use std::ops::Bound;

/// What a sweep did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VacuumStats {
    /// Versions examined.
    pub examined: u64,
    /// Versions removed.
    pub removed: u64,
    /// The watermark used.
    pub watermark: Timestamp,
}

const SWEEP_CHUNK: usize = 1024;
/// Commits whose keys wait to be pruned again; past this the background sweep does it.
const DEFERRED_PRUNE_QUEUE: usize = 4096;
/// Keys one commit prunes from the queue at most.
const DEFERRED_PRUNE_BATCH: usize = 512;

/// Tracks one key's versions during a sweep (they arrive newest first).
struct KeyState {
    key: Vec<u8>,
    /// Whether the newest version at or below the watermark has been seen (and kept).
    kept_visible: bool,
}

impl TxnManager {
    /// Removes every version no snapshot can see.
    pub fn vacuum(&self) -> Result<VacuumStats> {
        let w = self.watermark();
        let mut stats = VacuumStats { watermark: w, ..Default::default() };
        let mut from = Bound::Included(vec![SPACE_VERSION]);
        let to = Bound::Excluded(vec![SPACE_VERSION + 1]);
        let mut current: Option<KeyState> = None;
        loop {
            let chunk = self.engine().scan_chunk(
                from.as_ref().map(|k: &Vec<u8>| k.as_slice()),
                to.as_ref().map(|k: &Vec<u8>| k.as_slice()),
                Direction::Forward,
                SWEEP_CHUNK,
            )?;
            let done = chunk.len() < SWEEP_CHUNK;
            let mut batch = WriteBatch::new();
            for (raw, value) in &chunk {
                stats.examined += 1;
                let (key, ts) = decode_version_key(raw)?;
                if current.as_ref().is_none_or(|c| c.key != key) {
                    current = Some(KeyState { key, kept_visible: false });
                }
                let st = current.as_mut().expect("set above");
                if ts > w {
                    continue;
                }
                if st.kept_visible {
                    batch.delete(raw.clone());
                } else {
                    st.kept_visible = true;
                    if value.first() == Some(&0) {
                        // The newest visible version is a tombstone: nobody can see anything here.
                        batch.delete(raw.clone());
                    }
                }
            }
            stats.removed += batch.writes.len() as u64;
            if !batch.is_empty() {
                self.engine().write(batch)?;
            }
            match chunk.last() {
                Some((k, _)) if !done => from = Bound::Excluded(k.clone()),
                _ => break,
            }
        }
        Ok(stats)
    }

    /// Prunes `keys` just written by the commit at `ts`, queues them to be pruned again once the
    /// watermark passes `ts`, and prunes the queued keys whose time has come.
    pub fn prune_after_commit(&self, ts: Timestamp, keys: Vec<Vec<u8>>) -> Result<u64> {
        let mut removed = self.prune_keys(keys.iter().map(|k| k.as_slice()))?;
        let w = self.watermark();
        let due: Vec<Vec<u8>> = {
            let mut q = self.deferred_prune.lock();
            let mut due = Vec::new();
            while q.front().is_some_and(|(t, _)| *t <= w) {
                if let Some((_, k)) = q.pop_front() {
                    due.extend(k);
                }
                if due.len() >= DEFERRED_PRUNE_BATCH {
                    break;
                }
            }
            if ts > w && q.len() < DEFERRED_PRUNE_QUEUE {
                q.push_back((ts, keys));
            }
            due
        };
        if !due.is_empty() {
            removed += self.prune_keys(due.iter().map(|k| k.as_slice()))?;
        }
        Ok(removed)
    }

    /// Prunes the versions of `keys` no snapshot can see (after a commit wrote them).
    pub fn prune_keys<'a>(&self, keys: impl Iterator<Item = &'a [u8]>) -> Result<u64> {
        let w = self.watermark();
        let mut batch = WriteBatch::new();
        for key in keys {
            let prefix = version_prefix(key);
            let end = crate::encoding::keycode::prefix_end(&prefix);
            let versions = self.engine().scan_chunk(
                Bound::Included(&prefix),
                end.as_deref().map_or(Bound::Unbounded, Bound::Excluded),
                Direction::Forward,
                64,
            )?;
            let mut kept_visible = false;
            for (raw, value) in versions {
                let (_, ts) = decode_version_key(&raw)?;
                if ts > w {
                    continue;
                }
                if kept_visible {
                    batch.delete(raw);
                } else {
                    kept_visible = true;
                    if value.first() == Some(&0) {
                        batch.delete(raw);
                    }
                }
            }
        }
        let n = batch.writes.len() as u64;
        if n > 0 {
            self.engine().write(batch)?;
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use crate::storage::memory::Memory;
    use crate::storage::{Direction, Engine};
    use crate::txn::mvcc::{IsolationLevel, TxnManager};
    use std::ops::Bound;
    use std::sync::Arc;

    fn versions(e: &Arc<dyn Engine>) -> usize {
        e.scan_chunk(Bound::Included(&[1u8][..]), Bound::Excluded(&[2u8][..]), Direction::Forward, usize::MAX)
            .unwrap()
            .len()
    }

    #[test]
    fn sweep_keeps_what_snapshots_can_see() {
        let engine: Arc<dyn Engine> = Arc::new(Memory::new());
        let m = TxnManager::open(engine.clone()).unwrap();
        for v in 0..5u8 {
            let mut t = m.begin(1, IsolationLevel::ReadCommitted, false);
            t.write(b"a".to_vec(), Some(vec![v])).unwrap();
            t.write(b"gone".to_vec(), if v == 4 { None } else { Some(vec![v]) }).unwrap();
            t.commit().unwrap();
            if v == 2 {
                // An old snapshot pins version 2 of "a" (and of "gone") while later ones commit.
                let mut old = m.begin(2, IsolationLevel::RepeatableRead, false);
                old.begin_statement().unwrap();
                for w in 3..5u8 {
                    let mut t = m.begin(3, IsolationLevel::ReadCommitted, false);
                    t.write(b"a".to_vec(), Some(vec![w])).unwrap();
                    t.commit().unwrap();
                }
                m.vacuum().unwrap();
                assert_eq!(old.get(b"a").unwrap(), Some(vec![2]), "the pinned version survives");
                old.commit().unwrap();
            }
        }
        m.vacuum().unwrap();
        // Left: "a" at its newest version only; "gone" deleted entirely.
        assert_eq!(versions(&engine), 1);
        let mut r = m.begin(4, IsolationLevel::ReadCommitted, false);
        assert_eq!(r.get(b"a").unwrap(), Some(vec![4]));
        assert_eq!(r.get(b"gone").unwrap(), None);
    }

    #[test]
    fn sweep_removes_history_of_large_write_sets() {
        let engine: Arc<dyn Engine> = Arc::new(Memory::new());
        let m = TxnManager::open(engine.clone()).unwrap();
        for v in 0..3u8 {
            // More keys than commit-time pruning handles.
            let mut t = m.begin(1, IsolationLevel::ReadCommitted, false);
            for k in 0..100u8 {
                t.write(vec![b'k', k], Some(vec![v])).unwrap();
            }
            t.commit().unwrap();
        }
        assert_eq!(versions(&engine), 300);
        let stats = m.vacuum().unwrap();
        assert_eq!((stats.examined, stats.removed), (300, 200));
        assert_eq!(versions(&engine), 100);
    }

    #[test]
    fn commit_prunes_hot_keys() {
        let engine: Arc<dyn Engine> = Arc::new(Memory::new());
        let m = TxnManager::open(engine.clone()).unwrap();
        for v in 0..100u8 {
            let mut t = m.begin(1, IsolationLevel::ReadCommitted, false);
            t.write(b"hot".to_vec(), Some(vec![v])).unwrap();
            t.commit().unwrap();
        }
        assert!(versions(&engine) <= 2, "a hot key keeps no history nobody can see");
    }

    #[test]
    fn keys_superseded_under_an_open_snapshot_are_pruned_by_a_later_commit() {
        // Like an index entry of an updated column: written once, deleted once, never again.
        let engine: Arc<dyn Engine> = Arc::new(Memory::new());
        let m = TxnManager::open(engine.clone()).unwrap();
        let mut t = m.begin(1, IsolationLevel::ReadCommitted, false);
        t.write(b"entry".to_vec(), Some(vec![1])).unwrap();
        t.commit().unwrap();
        let mut reader = m.begin(2, IsolationLevel::RepeatableRead, false);
        reader.begin_statement().unwrap();
        let mut t = m.begin(1, IsolationLevel::ReadCommitted, false);
        t.write(b"entry".to_vec(), None).unwrap();
        t.commit().unwrap();
        assert_eq!(versions(&engine), 2, "the open snapshot may still read the entry");
        assert_eq!(reader.get(b"entry").unwrap(), Some(vec![1]));
        reader.commit().unwrap();
        // Any later small commit prunes the queued key once the watermark has passed it.
        let mut t = m.begin(1, IsolationLevel::ReadCommitted, false);
        t.write(b"other".to_vec(), Some(vec![0])).unwrap();
        t.commit().unwrap();
        assert_eq!(versions(&engine), 1, "only \"other\" is left");
    }
}
