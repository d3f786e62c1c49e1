//! B+tree page store benchmarks: insert (sequential and random keys), point get and range scans
//! (both directions) on a store holding `SSIDB_BENCH_KEYS` keys (default 1,000,000; set 10000000 for
//! the 10M run) with a buffer pool smaller than the data (`SSIDB_BENCH_POOL`, default 32MB).
//!
//! Run: `cargo bench --bench btree` (or `SSIDB_BENCH_KEYS=10000000 cargo bench --bench btree`).
//! Keys are 8-byte big-endian integers behind a 4-byte table prefix, values 100 bytes. There is no
//! write-ahead log yet, so inserts are not fsynced; the data file lives in a temporary directory.
//! The initial bulk load is timed and printed too, with the pool's read and write counters.
//!
//! Results on the project machine (2 vCPU, ext4 on virtio, shared with other builds: expect
//! swings of 2x between runs), commit "Buffer pool: clock skips referenced frames first", medians:
//!
//! ```text
//!                      1M keys, 32 MB pool (file 117 MB)   10M keys, 64 MB pool (file 1.2 GB)
//! bulk load (seq.)     ~1.0 s (~1M keys/s)                 7.6 s (1.3M keys/s)
//! get_random           4.2 us                              5.5 us   (mostly pool misses)
//! insert_sequential    1.0 us                              1.1 us
//! insert_random        9.4 us                              55 us    (a read and a write-back each)
//! scan_100_forward     23 us                               30 us
//! scan_100_backward    21 us                               27 us
//! ```
//!
//! Peak RSS of the 10M run: 72 MB after the load (pool 64 MB).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use ssidb::storage::btree::{parse_size, BTreeStore, Config};
use ssidb::storage::{Direction, Engine, WriteBatch};
use std::ops::Bound;
use std::time::Instant;

const VALUE_LEN: usize = 100;

fn key(i: u64) -> Vec<u8> {
    let mut k = b"t001".to_vec();
    k.extend_from_slice(&i.to_be_bytes());
    k
}

fn env(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

fn load(dir: &std::path::Path, n: u64, pool: u64) -> BTreeStore {
    let store = BTreeStore::open(dir, Config::with_pool(pool)).expect("open store");
    let start = Instant::now();
    let mut i = 0;
    while i < n {
        let mut b = WriteBatch::new();
        for _ in 0..1000.min(n - i) {
            b.put(key(i), vec![(i % 251) as u8; VALUE_LEN]);
            i += 1;
        }
        store.write(b).expect("load");
    }
    store.checkpoint().expect("checkpoint");
    let secs = start.elapsed().as_secs_f64();
    let s = store.stats();
    eprintln!(
        "loaded {n} keys in {secs:.1} s ({:.0} keys/s, sequential, batches of 1000, with checkpoint); \
         file {} MB, pool {} MB; pool reads {}, writes {}",
        n as f64 / secs,
        (s.page_count * s.page_size as u64) >> 20,
        pool >> 20,
        s.reads,
        s.writes
    );
    store
}

fn benches(c: &mut Criterion) {
    let n: u64 = env("SSIDB_BENCH_KEYS", "1000000").parse().expect("SSIDB_BENCH_KEYS is a number");
    let pool = parse_size(&env("SSIDB_BENCH_POOL", "32MB")).expect("SSIDB_BENCH_POOL is a size");
    let dir = tempfile::tempdir().expect("temp dir");
    let store = load(dir.path(), n, pool);
    let mut rng = StdRng::seed_from_u64(42);

    let mut g = c.benchmark_group(format!("btree_{n}_keys"));
    g.throughput(Throughput::Elements(1));
    g.sample_size(20);

    g.bench_function("get_random", |b| {
        b.iter(|| store.get(&key(rng.gen_range(0..n))).expect("get").expect("present"))
    });

    // Building the one-put batch is part of the measured time (about 0.1 us): criterion's batched
    // inputs would hold millions of prepared batches in memory and distort the RSS figure.
    let mut next = n;
    g.bench_function("insert_sequential", |b| {
        b.iter(|| {
            let mut w = WriteBatch::new();
            w.put(key(next), vec![1; VALUE_LEN]);
            next += 1;
            store.write(w).expect("write")
        })
    });

    g.bench_function("insert_random", |b| {
        b.iter(|| {
            // A loaded key plus a random suffix: a new key at a random place in the tree.
            let mut k = key(rng.gen_range(0..n));
            k.extend_from_slice(&rng.gen::<u32>().to_be_bytes());
            let mut w = WriteBatch::new();
            w.put(k, vec![2; VALUE_LEN]);
            store.write(w).expect("write")
        })
    });

    g.throughput(Throughput::Elements(100));
    for (name, dir) in [("scan_100_forward", Direction::Forward), ("scan_100_backward", Direction::Backward)]
    {
        g.bench_function(name, |b| {
            b.iter(|| {
                let k = key(rng.gen_range(0..n - 200));
                let (from, to) = match dir {
                    Direction::Forward => (Bound::Included(k.as_slice()), Bound::Unbounded),
                    Direction::Backward => (Bound::Unbounded, Bound::Included(k.as_slice())),
                };
                store.scan_chunk(from, to, dir, 100).expect("scan")
            })
        });
    }
    g.finish();
    let s = store.stats();
    eprintln!("after the benchmarks: pool hits {}, reads {}, writes {}", s.hits, s.reads, s.writes);
}

criterion_group!(btree, benches);
criterion_main!(btree);
