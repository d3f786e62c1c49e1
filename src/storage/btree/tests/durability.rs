//! Reopening after checkpoints and crashes, and values of 64 MB.

use super::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

#[test]
fn reopen_returns_the_last_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config::with_pool(0); // 8 KiB pages, the smallest pool: the data outgrows it
    let mut rng = StdRng::seed_from_u64(11);
    let mut model = Model::new();
    let store = BTreeStore::open(dir.path(), config.clone()).unwrap();
    let put_some = |store: &BTreeStore, model: &mut Model, rng: &mut StdRng, n: usize| {
        for _ in 0..n {
            let mut b = WriteBatch::new();
            for _ in 0..10 {
                let k = random_key(rng, 50_000);
                if rng.gen_range(0..10) == 0 {
                    model.remove(&k);
                    b.delete(k);
                } else {
                    let v = vec![rng.gen(); rng.gen_range(0..300)];
                    model.insert(k.clone(), v.clone());
                    b.put(k, v);
                }
            }
            store.write(b).unwrap();
        }
    };
    put_some(&store, &mut model, &mut rng, 2000);
    store.checkpoint().unwrap();
    assert_eq!(store.status().unwrap().durable_lsn, 2000);
    let checkpointed = model.clone();
    put_some(&store, &mut model, &mut rng, 500);
    store.abandon(); // a crash: the last 500 batches are lost
    let as_vec = |m: &Model| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect::<Vec<_>>();
    let full = |s: &BTreeStore| {
        scan(s, Bound::Unbounded, Bound::Unbounded, Direction::Forward)
            .map(|r| r.unwrap())
            .collect::<Vec<_>>()
    };

    let store = BTreeStore::open(dir.path(), config.clone()).unwrap();
    assert_eq!(full(&store), as_vec(&checkpointed));
    assert_eq!(store.status().unwrap().keys, checkpointed.len() as u64);
    assert_eq!(store.check_invariants(), checkpointed.len() as u64);
    let mut model = checkpointed;
    put_some(&store, &mut model, &mut rng, 1000);
    store.close().unwrap();

    let store = BTreeStore::open(dir.path(), config).unwrap();
    assert_eq!(full(&store), as_vec(&model));
    assert!(store.stats().reads > 0);
    store.check_invariants();
}

#[test]
fn large_values_use_overflow_runs_and_their_pages_are_reused() {
    let dir = tempfile::tempdir().unwrap();
    let store = BTreeStore::open(dir.path(), Config::with_pool(4 << 20)).unwrap();
    let big = |seed: u8| -> Vec<u8> {
        (0..64u32 << 20).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect()
    };
    let mut b = WriteBatch::new();
    b.put(b"big".to_vec(), big(1));
    b.put(b"small".to_vec(), b"x".to_vec());
    store.write(b).unwrap();
    assert!(store.get(b"big").unwrap() == Some(big(1)));
    store.checkpoint().unwrap();
    let pages = store.stats().page_count;
    // Overwrite: the old run is pending until the next checkpoint, then reused.
    let mut b = WriteBatch::new();
    b.put(b"big".to_vec(), big(2));
    store.write(b).unwrap();
    store.checkpoint().unwrap();
    let mut b = WriteBatch::new();
    b.put(b"big".to_vec(), big(3));
    store.write(b).unwrap();
    assert!(store.get(b"big").unwrap() == Some(big(3)));
    // Three 64 MB values were written, but the first run's pages were reused by the third.
    let now = store.stats().page_count;
    assert!(now < 2 * pages + 100, "file grew from {pages} to {now} pages: runs not reused");
    let chunk = store.scan_chunk(Bound::Unbounded, Bound::Unbounded, Direction::Backward, 10).unwrap();
    assert_eq!(chunk.len(), 2);
    assert!(chunk[1].1 == big(3));
    let mut b = WriteBatch::new();
    b.delete(b"big".to_vec());
    store.write(b).unwrap();
    assert_eq!(store.get(b"big").unwrap(), None);
    assert_eq!(store.status().unwrap().size, 6);
    store.check_invariants();
}
