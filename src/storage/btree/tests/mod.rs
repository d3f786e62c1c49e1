//! Tests of the whole store. This file: the B+tree against a `BTreeMap` model under long random
//! operation sequences, with tiny pages and pool so that splits, merges, overflow runs, evictions,
//! copy-on-write, checkpoints and reopening (after clean closes and after crashes) all happen
//! constantly; plus the helpers the other files share. `concurrent.rs`: readers, writers and a
//! checkpointer at once. `durability.rs`: reopening, 64 MB values. `faults.rs`: corruption (XX001),
//! disk full, failing fsync, crashes inside checkpoints.
//!
//! Knobs for long runs: `SSIDB_MODEL_OPS=N` random operations of the model test (default
//! 1,000,000, split over two seeds on two threads); `SSIDB_MODEL_SEED=S` runs one seed only;
//! `SSIDB_CONCURRENT_OPS=N` write batches of the concurrency test (default 60,000).
//!
//! ```text
//! SSIDB_MODEL_OPS=20000000 cargo test --lib storage::btree::tests -- --nocapture
//! ```

mod concurrent;
mod durability;
mod faults;

use super::*;
use crate::error::ErrorKind;
use crate::storage::scan;
use parking_lot::Mutex;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;

type Model = BTreeMap<Vec<u8>, Vec<u8>>;

/// Tiny pages and the smallest pool: everything that can happen, happens often.
fn tiny() -> Config {
    Config { buffer_pool_bytes: 0, page_size: 512 }
}

fn mem_store(file: &Arc<MemFile>, config: Config) -> BTreeStore {
    BTreeStore::open_file(file.clone(), "mem".into(), config).unwrap()
}

impl BTreeStore {
    /// Runs the full check and insists that no page leaked. Returns the number of keys.
    fn check_invariants(&self) -> u64 {
        let report = self.check().unwrap();
        assert_eq!(report.leaked_pages, 0, "{report:?}");
        report.keys
    }
}

impl BTreeStore {
    /// Number of levels of the tree.
    fn height(&self) -> u16 {
        let root = self.root.load(Ordering::Acquire);
        node::level(&self.pool.fetch(root).unwrap().read()) + 1
    }
}

fn random_key(rng: &mut StdRng, space: u32) -> Vec<u8> {
    let n = rng.gen_range(0..space);
    // Variable length, shared prefixes, order unrelated to n.
    let len = 1 + (n as usize * 7919) % 83; // up to the longest key 512-byte pages take
    let mut k = format!("{:08x}", n.wrapping_mul(2_654_435_761)).into_bytes();
    k.resize(len.max(3), b'k');
    k
}

fn random_value(rng: &mut StdRng) -> Vec<u8> {
    let len = match rng.gen_range(0..100) {
        0..=69 => rng.gen_range(0..40),
        70..=94 => rng.gen_range(40..400), // around the inline limit of 512-byte pages
        95..=98 => rng.gen_range(400..5000), // overflow runs of 1..10 pages
        _ => rng.gen_range(5000..40_000),
    };
    let b = rng.gen::<u8>();
    (0..len).map(|i| b.wrapping_add(i as u8)).collect()
}

fn random_bound(rng: &mut StdRng, space: u32) -> Bound<Vec<u8>> {
    match rng.gen_range(0..3) {
        0 => Bound::Unbounded,
        1 => Bound::Included(random_key(rng, space)),
        _ => Bound::Excluded(random_key(rng, space)),
    }
}

fn model_chunk(
    model: &Model,
    from: &Bound<Vec<u8>>,
    to: &Bound<Vec<u8>>,
    dir: Direction,
    limit: usize,
) -> Vec<KeyValue> {
    // BTreeMap::range panics on inverted or empty-exclusive ranges; those hold nothing.
    if let (Bound::Included(a) | Bound::Excluded(a), Bound::Included(b) | Bound::Excluded(b)) = (from, to) {
        if a > b || (a == b && !(matches!(from, Bound::Included(_)) && matches!(to, Bound::Included(_)))) {
            return vec![];
        }
    }
    let range = model.range::<Vec<u8>, _>((from.clone(), to.clone()));
    let clone = |(k, v): (&Vec<u8>, &Vec<u8>)| (k.clone(), v.clone());
    match dir {
        Direction::Forward => range.take(limit).map(clone).collect(),
        Direction::Backward => range.rev().take(limit).map(clone).collect(),
    }
}

fn as_ref(b: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    b.as_ref().map(|v| v.as_slice())
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Runs `ops` random operations on a fresh store and the model side by side.
fn run_model(seed: u64, ops: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    let file = Arc::new(MemFile::new());
    let mut store = mem_store(&file, tiny());
    let mut model = Model::new();
    let mut checkpointed = Model::new();
    // Phases alternate between growing and shrinking the tree, so merges happen at every height.
    let mut space = 2000;
    let mut put_share = 70;
    let (mut reads, mut writes, mut max_height, mut splits, mut merges) = (0, 0, 0, 0, 0);
    for op in 0..ops {
        if op % 20_000 == 0 {
            space = [200, 2000, 8000][rng.gen_range(0..3)];
            put_share = [20, 50, 70, 85][rng.gen_range(0..4)];
        }
        let dice = rng.gen_range(0..100);
        if dice < put_share / 2 + 5 {
            let mut batch = WriteBatch::new();
            for _ in 0..rng.gen_range(1..4) {
                let (k, v) = (random_key(&mut rng, space), random_value(&mut rng));
                model.insert(k.clone(), v.clone());
                batch.put(k, v);
            }
            store.write(batch).unwrap();
        } else if dice < 55 {
            let k = random_key(&mut rng, space);
            model.remove(&k);
            let mut batch = WriteBatch::new();
            batch.delete(k);
            store.write(batch).unwrap();
        } else if dice < 80 {
            let k = random_key(&mut rng, space);
            assert_eq!(store.get(&k).unwrap(), model.get(&k).cloned(), "seed {seed} op {op}: get {k:?}");
        } else {
            let (from, to) = (random_bound(&mut rng, space), random_bound(&mut rng, space));
            let dir = if rng.gen() { Direction::Forward } else { Direction::Backward };
            let limit = rng.gen_range(1..40);
            let got = store.scan_chunk(as_ref(&from), as_ref(&to), dir, limit).unwrap();
            let want = model_chunk(&model, &from, &to, dir, limit);
            assert_eq!(got, want, "seed {seed} op {op}: scan {from:?}..{to:?} {dir:?} limit {limit}");
        }
        if op % 25_000 == 24_999 {
            store.checkpoint().unwrap();
            checkpointed = model.clone();
        }
        if op % 100_000 == 99_999 {
            assert_eq!(store.check_invariants(), model.len() as u64);
            let st = store.stats();
            (reads, writes, max_height) =
                (reads + st.reads, writes + st.writes, max_height.max(store.height()));
            (splits, merges) = (splits + st.splits, merges + st.merges);
            // Crash (no closing checkpoint) half of the time, clean close otherwise.
            if rng.gen() {
                store.abandon();
                model = checkpointed.clone();
            } else {
                store.close().unwrap();
                checkpointed = model.clone();
            }
            store = mem_store(&file, tiny());
            let all: Vec<_> = scan(&store, Bound::Unbounded, Bound::Unbounded, Direction::Forward)
                .map(|r| r.unwrap())
                .collect();
            assert_eq!(all, model.iter().map(|(k, v)| (k.clone(), v.clone())).collect::<Vec<_>>());
        }
    }
    assert_eq!(store.check_invariants(), model.len() as u64);
    let stats = store.stats();
    (reads, writes, max_height) =
        (reads + stats.reads, writes + stats.writes, max_height.max(store.height()));
    (splits, merges) = (splits + stats.splits, merges + stats.merges);
    eprintln!(
        "seed {seed}: {ops} ops, {} keys at the end; {reads} page reads, {writes} page writes, \
         {splits} splits, {merges} merges, max height {max_height}",
        model.len()
    );
    // The run must have exercised eviction (reads and write-backs) and a multi-level tree.
    if ops >= 100_000 {
        assert!(reads > 10_000 && writes > 10_000 && max_height >= 3, "{reads} {writes} {max_height}");
        assert!(splits > 1000 && merges > 1000, "{splits} splits, {merges} merges");
    }
    let st = store.status().unwrap();
    assert_eq!(st.keys, model.len() as u64);
    assert_eq!(st.size, model.iter().map(|(k, v)| (k.len() + v.len()) as u64).sum::<u64>());
}

#[test]
fn model_random_operations() {
    let ops = env_u64("SSIDB_MODEL_OPS", 1_000_000);
    match std::env::var("SSIDB_MODEL_SEED").ok().and_then(|s| s.parse().ok()) {
        Some(seed) => run_model(seed, ops),
        None => {
            // Two seeds share the work so both cores are used.
            let half = ops / 2;
            let t = std::thread::spawn(move || run_model(1, half));
            run_model(2, ops - half);
            t.join().unwrap();
        }
    }
}

#[test]
fn small_scans_and_edge_ranges() {
    let file = Arc::new(MemFile::new());
    let store = mem_store(&file, tiny());
    let mut b = WriteBatch::new();
    for i in 0u32..1000 {
        b.put(i.to_be_bytes().to_vec(), vec![1; (i % 50) as usize]);
    }
    store.write(b).unwrap();
    let fwd: Vec<_> =
        scan(&store, Bound::Unbounded, Bound::Unbounded, Direction::Forward).map(|r| r.unwrap().0).collect();
    assert_eq!(fwd.len(), 1000);
    assert!(fwd.windows(2).all(|w| w[0] < w[1]));
    let lo = 10u32.to_be_bytes().to_vec();
    let hi = 700u32.to_be_bytes().to_vec();
    let back: Vec<_> = scan(&store, Bound::Included(lo), Bound::Excluded(hi), Direction::Backward)
        .map(|r| r.unwrap().0)
        .collect();
    assert_eq!(back.len(), 690);
    assert!(back.windows(2).all(|w| w[0] > w[1]));
    let a = 5u32.to_be_bytes();
    let z = 3u32.to_be_bytes();
    assert!(store
        .scan_chunk(Bound::Included(&a), Bound::Included(&z), Direction::Forward, 10)
        .unwrap()
        .is_empty());
    assert!(store
        .scan_chunk(Bound::Excluded(&a), Bound::Excluded(&a), Direction::Backward, 10)
        .unwrap()
        .is_empty());
    assert_eq!(
        store.scan_chunk(Bound::Included(&a), Bound::Included(&a), Direction::Backward, 10).unwrap().len(),
        1
    );
    assert!(store.scan_chunk(Bound::Unbounded, Bound::Unbounded, Direction::Forward, 0).unwrap().is_empty());
}

#[test]
fn keys_over_the_limit_are_refused() {
    let file = Arc::new(MemFile::new());
    let store = mem_store(&file, tiny());
    let max = node::max_key_len(512);
    let mut b = WriteBatch::new();
    b.put(vec![7; max], vec![1; 1000]);
    store.write(b).unwrap();
    let mut b = WriteBatch::new();
    b.put(vec![7; max + 1], vec![]);
    assert_eq!(store.write(b).unwrap_err().kind, ErrorKind::ProgramLimitExceeded);
    assert_eq!(store.get(&vec![7; max]).unwrap(), Some(vec![1; 1000]));
}
