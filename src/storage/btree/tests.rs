//! Tests of the whole store: the B+tree against a `BTreeMap` model under long random operation
//! sequences (tiny pages and pool, so splits, merges, overflow runs, evictions and copy-on-write
//! all happen constantly), concurrency, reopening, large values and corruption detection.
//!
//! `SSIDB_MODEL_OPS=N` sets the number of random operations of the model test (default 1,000,000);
//! `SSIDB_MODEL_SEED=S` replays one seed.

use super::*;
use crate::error::ErrorKind;
use crate::storage::scan;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use parking_lot::Mutex;
use std::collections::{BTreeMap, HashSet};

type Model = BTreeMap<Vec<u8>, Vec<u8>>;

/// Tiny pages and the smallest pool: everything that can happen, happens often.
fn tiny() -> Config {
    Config { buffer_pool_bytes: 0, page_size: 512 }
}

fn mem_store(file: &Arc<MemFile>, config: Config) -> BTreeStore {
    BTreeStore::open_file(file.clone(), "mem".into(), config).unwrap()
}

impl BTreeStore {
    /// Walks the whole tree checking its invariants and that every page is accounted for exactly
    /// once (reachable, free, pending or free-list page). Returns the number of keys.
    fn check_invariants(&self) -> u64 {
        let w = self.writer.lock();
        let mut seen: HashSet<PageId> = HashSet::new();
        let mut keys = 0;
        let root = self.root.load(Ordering::Acquire);
        let mut stack = vec![(root, None::<Vec<u8>>, None::<Vec<u8>>, None::<u16>)];
        while let Some((id, low, high, level)) = stack.pop() {
            assert!(seen.insert(id), "page {id} reachable twice");
            let p = self.pool.fetch(id).unwrap().read();
            self.check_node(&p, id, level).unwrap();
            let n = node::count(&p);
            for i in 0..n {
                let k = node::key(&p, i);
                assert!(low.as_deref().is_none_or(|l| k >= l), "key below fence in page {id}");
                assert!(high.as_deref().is_none_or(|h| k < h), "key above fence in page {id}");
            }
            if node::is_leaf(&p) {
                keys += n as u64;
                for i in 0..n {
                    if let node::Value::Overflow(r) = node::value(&p, i) {
                        for o in r.first..r.first + overflow::pages_for(self.page_size, r.len) {
                            assert!(seen.insert(o), "overflow page {o} reachable twice");
                        }
                    }
                }
            } else {
                let lvl = node::level(&p) - 1;
                for i in 0..=n {
                    let lo = if i == 0 { low.clone() } else { Some(node::key(&p, i - 1).to_vec()) };
                    let hi = if i == n { high.clone() } else { Some(node::key(&p, i).to_vec()) };
                    stack.push((node::child(&p, i), lo, hi, Some(lvl)));
                }
            }
        }
        for id in w.alloc.unused_pages() {
            assert!(seen.insert(id), "page {id} both in use and free, or free twice");
        }
        let count = w.alloc.page_count() - meta::FIRST_DATA_PAGE;
        assert_eq!(seen.len() as u64, count, "pages leaked: {} accounted of {count}", seen.len());
        assert_eq!(keys, w.keys);
        keys
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
    let len = 1 + (n as usize * 7919) % 40;
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

/// A churn value: the key, a version, and filler that repeats the version's low byte.
fn churn_value(key: &[u8], version: u64, len: usize) -> Vec<u8> {
    let mut v = key.to_vec();
    v.extend_from_slice(&version.to_le_bytes());
    v.resize(v.len() + len, version as u8);
    v
}

fn churn_value_ok(key: &[u8], v: &[u8]) -> bool {
    if v.len() < key.len() + 8 || &v[..key.len()] != key {
        return false;
    }
    let version = u64::from_le_bytes(v[key.len()..key.len() + 8].try_into().unwrap());
    v[key.len() + 8..].iter().all(|&b| b == version as u8)
}

fn stable_key(i: u32) -> Vec<u8> {
    format!("k{i:05}s").into_bytes()
}

fn stable_value(i: u32) -> Vec<u8> {
    vec![(i % 251) as u8; (i % 97) as usize]
}

#[test]
fn concurrent_readers_and_writers_match_the_model() {
    const STABLE: u32 = 600;
    const READERS: usize = 3;
    let ops: u64 = env_u64("SSIDB_CONCURRENT_OPS", 60_000);
    let file = Arc::new(MemFile::new());
    let store = Arc::new(mem_store(&file, Config { buffer_pool_bytes: 256 * 512, page_size: 512 }));
    let mut b = WriteBatch::new();
    for i in 0..STABLE {
        b.put(stable_key(i), stable_value(i));
    }
    store.write(b).unwrap();
    let stop = Arc::new(AtomicBool::new(false));

    // Writers churn keys interleaved with the stable ones (same prefixes), so splits and merges
    // happen right next to them; values span inline to multi-page overflow runs. Each writer owns
    // the keys with its own suffix and keeps their model. A third thread checkpoints meanwhile.
    let writers: Vec<_> = (0..2u64)
        .map(|wid| {
            let store = store.clone();
            std::thread::spawn(move || {
                let mut rng = StdRng::seed_from_u64(7 + wid);
                let mut model = Model::new();
                for version in 0..ops / 2 {
                    let mut batch = WriteBatch::new();
                    for _ in 0..rng.gen_range(1..5) {
                        let k = format!("k{:05}w{wid}", rng.gen_range(0..STABLE)).into_bytes();
                        if rng.gen_range(0..100) < 45 {
                            model.remove(&k);
                            batch.delete(k);
                        } else {
                            let len = if rng.gen_range(0..50) == 0 {
                                rng.gen_range(200..3000)
                            } else {
                                rng.gen_range(0..60)
                            };
                            let v = churn_value(&k, version, len);
                            model.insert(k.clone(), v.clone());
                            batch.put(k, v);
                        }
                    }
                    store.write(batch).unwrap();
                }
                model
            })
        })
        .collect();
    let checkpointer = {
        let (store, stop) = (store.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut n = 0;
            while !stop.load(Ordering::Acquire) {
                store.checkpoint().unwrap();
                n += 1;
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            n
        })
    };

    let readers: Vec<_> = (0..READERS)
        .map(|r| {
            let (store, stop) = (store.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut rng = StdRng::seed_from_u64(100 + r as u64);
                let mut checks = 0u64;
                while !stop.load(Ordering::Acquire) {
                    let i = rng.gen_range(0..STABLE);
                    assert_eq!(store.get(&stable_key(i)).unwrap(), Some(stable_value(i)));
                    let ck = format!("k{i:05}w{}", rng.gen_range(0..2)).into_bytes();
                    if let Some(v) = store.get(&ck).unwrap() {
                        assert!(churn_value_ok(&ck, &v), "bad value for {ck:?}");
                    }
                    // A chunk: ordered, in range, values well formed, and no stable key missing
                    // between its first and last key.
                    let (a, z) = (rng.gen_range(0..STABLE), rng.gen_range(0..STABLE));
                    let (lo, hi) =
                        (format!("k{:05}", a.min(z)).into_bytes(), format!("k{:05}~", a.max(z)).into_bytes());
                    let dir = if rng.gen() { Direction::Forward } else { Direction::Backward };
                    let got = store.scan_chunk(Bound::Included(&lo), Bound::Excluded(&hi), dir, 50).unwrap();
                    for w in got.windows(2) {
                        assert!(if dir == Direction::Forward { w[0].0 < w[1].0 } else { w[0].0 > w[1].0 });
                    }
                    for (k, v) in &got {
                        assert!(k >= &lo && k < &hi);
                        if k.ends_with(b"s") {
                            let i: u32 = std::str::from_utf8(&k[1..6]).unwrap().parse().unwrap();
                            assert_eq!(v, &stable_value(i));
                        } else {
                            assert!(churn_value_ok(k, v), "bad value for {k:?}");
                        }
                    }
                    if let (Some(f), Some(l)) = (got.first(), got.last()) {
                        let (f, l) = if f.0 <= l.0 { (&f.0, &l.0) } else { (&l.0, &f.0) };
                        let stable_in = (0..STABLE).map(stable_key).filter(|k| k >= f && k <= l).count();
                        let stable_got = got.iter().filter(|(k, _)| k.ends_with(b"s")).count();
                        assert_eq!(stable_in, stable_got, "a stable key went missing from a chunk");
                    }
                    checks += 1;
                }
                checks
            })
        })
        .collect();

    let mut want = Model::new();
    for w in writers {
        want.extend(w.join().unwrap());
    }
    stop.store(true, Ordering::Release);
    let checks: u64 = readers.into_iter().map(|r| r.join().unwrap()).sum();
    assert!(checks > 100, "readers barely ran: {checks}");
    assert!(checkpointer.join().unwrap() > 2);
    for i in 0..STABLE {
        want.insert(stable_key(i), stable_value(i));
    }
    let all: Vec<_> = scan(store.as_ref(), Bound::Unbounded, Bound::Unbounded, Direction::Forward)
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(all, want.into_iter().collect::<Vec<_>>());
    store.check_invariants();
    let st = store.stats();
    assert!(st.reads > 100 && st.splits > 100 && st.merges > 10, "{st:?}");
}

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

#[test]
fn a_flipped_byte_is_reported_as_xx001_naming_the_page() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config::with_pool(0);
    let key = |i: u32| format!("key{i:06}").into_bytes();
    let store = BTreeStore::open(dir.path(), config.clone()).unwrap();
    for chunk in 0..10u32 {
        let mut b = WriteBatch::new();
        for i in chunk * 1000..(chunk + 1) * 1000 {
            b.put(key(i), vec![b'v'; 200]);
        }
        store.write(b).unwrap();
    }
    let victim = store.descend(read::Seek::Key(&key(5000)), false).unwrap().0.id();
    store.close().unwrap();

    // Flip one byte in the middle of that leaf, on disk.
    let path = dir.path().join(DATA_FILE);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[victim as usize * DEFAULT_PAGE_SIZE + 3000] ^= 0x55;
    std::fs::write(&path, bytes).unwrap();

    let store = BTreeStore::open(dir.path(), config).unwrap();
    let e = store.get(&key(5000)).unwrap_err();
    assert_eq!(e.sqlstate(), "XX001");
    assert!(e.message.contains(&format!("page {victim} ")), "{}", e.message);
    // A scan across the page fails too: nothing is silently skipped.
    let e =
        scan(&store, Bound::Unbounded, Bound::Unbounded, Direction::Forward).find_map(|r| r.err()).unwrap();
    assert_eq!(e.sqlstate(), "XX001");
    // Other pages keep working, for reads and writes; writing into the bad page is refused.
    assert_eq!(store.get(&key(10)).unwrap(), Some(vec![b'v'; 200]));
    assert_eq!(store.get(&key(9990)).unwrap(), Some(vec![b'v'; 200]));
    let mut b = WriteBatch::new();
    b.put(key(5000), vec![]);
    assert_eq!(store.write(b).unwrap_err().sqlstate(), "XX001");
    let mut b = WriteBatch::new();
    b.put(key(20), b"new".to_vec());
    store.write(b).unwrap();
    assert_eq!(store.get(&key(20)).unwrap(), Some(b"new".to_vec()));
    assert_eq!(store.get(&key(5000)).unwrap_err().sqlstate(), "XX001");
}

/// A file that can be told to fail writes with ENOSPC and fsyncs with EIO.
#[derive(Default)]
struct FaultyFile {
    inner: MemFile,
    full: AtomicBool,
    bad_sync: AtomicBool,
}

impl DataFile for FaultyFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
        self.inner.read_at(buf, offset)
    }
    fn write_at(&self, buf: &[u8], offset: u64) -> std::io::Result<()> {
        if self.full.load(Ordering::Acquire) {
            return Err(std::io::Error::from_raw_os_error(28)); // ENOSPC
        }
        self.inner.write_at(buf, offset)
    }
    fn sync(&self) -> std::io::Result<()> {
        if self.bad_sync.load(Ordering::Acquire) {
            return Err(std::io::Error::from_raw_os_error(5)); // EIO
        }
        self.inner.sync()
    }
    fn size(&self) -> std::io::Result<u64> {
        self.inner.size()
    }
}

#[test]
fn disk_full_refuses_writes_but_reads_go_on_and_failed_fsync_poisons() {
    let file = Arc::new(FaultyFile::default());
    let open = |f: &Arc<FaultyFile>| BTreeStore::open_file(f.clone(), "faulty".into(), tiny()).unwrap();
    let store = open(&file);
    let key = |i: u32| format!("key{i:05}").into_bytes();
    for i in 0..3000 {
        let mut b = WriteBatch::new();
        b.put(key(i), vec![1; 30]);
        store.write(b).unwrap();
    }
    store.checkpoint().unwrap();
    file.full.store(true, Ordering::Release);
    // Writes dirty pages until the pool must write one back: that fails with 53100.
    let e = (0..3000)
        .find_map(|i| {
            let mut b = WriteBatch::new();
            b.put(key(i), vec![2; 30]);
            store.write(b).err()
        })
        .expect("a write must hit the full disk");
    assert_eq!(e.sqlstate(), "53100", "{e:?}");
    // Reads of everything still work (clean frames are reused; dirty ones stay in memory).
    for i in (0..3000).step_by(7) {
        assert!(store.get(&key(i)).unwrap().is_some());
    }
    let e = store.checkpoint().unwrap_err();
    assert_eq!(e.sqlstate(), "53100");
    store.abandon();

    // Space again, but fsync fails: the checkpoint fails with 58030 and every later write is
    // refused until the store is reopened, which returns to the last checkpoint.
    file.full.store(false, Ordering::Release);
    let store = open(&file);
    assert_eq!(store.get(&key(5)).unwrap(), Some(vec![1; 30]));
    let mut b = WriteBatch::new();
    b.put(key(1), vec![3]);
    store.write(b).unwrap();
    file.bad_sync.store(true, Ordering::Release);
    assert_eq!(store.checkpoint().unwrap_err().sqlstate(), "58030");
    let mut b = WriteBatch::new();
    b.put(key(2), vec![3]);
    assert_eq!(store.write(b).unwrap_err().sqlstate(), "58030");
    assert_eq!(store.get(&key(1)).unwrap(), Some(vec![3]));
    drop(store);
    file.bad_sync.store(false, Ordering::Release);
    let store = open(&file);
    assert_eq!(store.get(&key(1)).unwrap(), Some(vec![1; 30]));
    store.check_invariants();
}

/// A file that models a disk cache: writes reach "stable storage" only at `sync`. `crash` builds
/// the image a power loss could leave: everything synced, plus any subset of the later writes, some
/// torn at a sector boundary. With `writes_left`, the disk dies after that many more writes/syncs.
#[derive(Default)]
struct CrashFile {
    current: MemFile,
    durable: Mutex<Vec<u8>>,
    unsynced: Mutex<Vec<(u64, Vec<u8>)>>,
    writes_left: AtomicU64,
    dead: AtomicBool,
}

impl CrashFile {
    fn from_image(image: Vec<u8>) -> CrashFile {
        let f = CrashFile { writes_left: AtomicU64::new(u64::MAX), ..CrashFile::default() };
        f.current.write_at(&image, 0).unwrap();
        *f.durable.lock() = image;
        f
    }

    fn tick(&self) -> std::io::Result<()> {
        if self.dead.load(Ordering::Acquire) || self.writes_left.fetch_sub(1, Ordering::AcqRel) <= 1 {
            self.dead.store(true, Ordering::Release);
            return Err(std::io::Error::from_raw_os_error(5));
        }
        Ok(())
    }

    fn crash(&self, rng: &mut StdRng) -> Vec<u8> {
        let mut image = self.durable.lock().clone();
        for (off, data) in self.unsynced.lock().iter() {
            let keep = match rng.gen_range(0..10) {
                0..=4 => 0,
                5..=8 => data.len(),
                _ => rng.gen_range(0..data.len() / 512 + 1) * 512, // torn at a sector boundary
            };
            let end = *off as usize + keep;
            if image.len() < end {
                image.resize(end, 0);
            }
            image[*off as usize..end].copy_from_slice(&data[..keep]);
        }
        image
    }
}

impl DataFile for CrashFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
        self.current.read_at(buf, offset)
    }
    fn write_at(&self, buf: &[u8], offset: u64) -> std::io::Result<()> {
        self.tick()?;
        self.unsynced.lock().push((offset, buf.to_vec()));
        self.current.write_at(buf, offset)
    }
    fn sync(&self) -> std::io::Result<()> {
        self.tick()?;
        let mut durable = self.durable.lock();
        for (off, data) in self.unsynced.lock().drain(..) {
            let end = off as usize + data.len();
            if durable.len() < end {
                durable.resize(end, 0);
            }
            durable[off as usize..end].copy_from_slice(&data);
        }
        Ok(())
    }
    fn size(&self) -> std::io::Result<u64> {
        self.current.size()
    }
}

#[test]
fn a_crash_at_any_write_of_a_checkpoint_leaves_the_old_or_the_new_state() {
    let mut rng = StdRng::seed_from_u64(99);
    let config = Config { buffer_pool_bytes: 0, page_size: 1024 };
    let mut file = Arc::new(CrashFile::from_image(Vec::new()));
    let mut store = BTreeStore::open_file(file.clone(), "crash".into(), config.clone()).unwrap();
    let mut durable = Model::new();
    let mut model = Model::new();
    let as_vec = |m: &Model| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect::<Vec<_>>();
    // Checkpoints completed; died and recovered the old state; died after the meta was durable.
    let mut outcomes = [0; 3];
    for round in 0..400 {
        for _ in 0..rng.gen_range(1..300) {
            let (k, v) = (random_key(&mut rng, 3000), random_value(&mut rng));
            let mut b = WriteBatch::new();
            if rng.gen_range(0..3) == 0 {
                model.remove(&k);
                b.delete(k);
            } else {
                model.insert(k.clone(), v.clone());
                b.put(k, v);
            }
            store.write(b).unwrap();
        }
        // The disk dies somewhere inside this checkpoint (or not at all).
        file.writes_left.store(rng.gen_range(1..120), Ordering::Release);
        let done = store.checkpoint().is_ok();
        if done {
            durable = model.clone();
            outcomes[0] += 1;
        }
        store.abandon();
        let image = file.crash(&mut rng);
        file = Arc::new(CrashFile::from_image(image));
        store = BTreeStore::open_file(file.clone(), "crash".into(), config.clone()).unwrap();
        let got: Vec<_> = scan(&store, Bound::Unbounded, Bound::Unbounded, Direction::Forward)
            .map(|r| r.unwrap())
            .collect();
        // A failed checkpoint may still have become durable (its meta written before the end).
        if got != as_vec(&durable) {
            assert!(!done && got == as_vec(&model), "round {round}: recovered neither state");
            durable = model.clone();
            outcomes[2] += 1;
        } else if !done {
            outcomes[1] += 1;
        }
        model = durable.clone();
        store.check_invariants();
    }
    eprintln!("checkpoint outcomes (completed, old state, new state): {outcomes:?}");
    assert!(outcomes.iter().all(|&n| n > 0), "{outcomes:?}");
}
