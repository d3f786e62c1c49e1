//! Group commit: commit rate at 1, 4, 16 and 64 concurrent clients on the real store and log
//! (`Logged` over `BTreeStore` and `OsDir`, files in a temporary directory on the disk under test),
//! with commits per flush and log bytes per commit from the log's counters, next to the raw
//! fsync rate of the same disk measured in the same run (8 KiB pwrite + fdatasync into a
//! preallocated file). A second table runs the same clients with the fault layer adding 2 ms to
//! every log fsync, which makes a fast disk behave like a slow one and shows batching.
//!
//! Run: `cargo bench --bench group_commit` (`SSIDB_BENCH_SECS=N` per point, default 3;
//! `TMPDIR` picks the disk). A client commits batches of three 60-byte rows, one after another.
//! Results and the machine: `docs/durability.md`.

use ssidb::storage::btree::{BTreeStore, Config, DataFile, OsFile};
use ssidb::storage::logged::Logged;
use ssidb::storage::testfs::faults::Faults;
use ssidb::storage::wal::dir::{OsDir, WalDir};
use ssidb::storage::wal::DEFAULT_SEGMENT_SIZE;
use ssidb::storage::{Engine, WriteBatch};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn raw_fsync_rate(dir: &std::path::Path, secs: f64) -> f64 {
    let path = dir.join("fsync-probe");
    let f = OsFile::open(&path).expect("probe file");
    let block = vec![7u8; 8192];
    let blocks = 4096u64;
    for i in 0..blocks {
        f.write_at(&block, i * 8192).expect("preallocate");
    }
    f.sync().expect("sync");
    let started = Instant::now();
    let mut n = 0u64;
    while started.elapsed().as_secs_f64() < secs {
        f.write_at(&block, (n % blocks) * 8192).expect("write");
        f.sync().expect("fdatasync");
        n += 1;
    }
    let _ = std::fs::remove_file(&path);
    n as f64 / started.elapsed().as_secs_f64()
}

struct Point {
    commits_per_sec: f64,
    commits_per_flush: f64,
    wal_bytes_per_commit: f64,
}

fn run(clients: usize, secs: f64, delay: Option<Duration>) -> Point {
    let tmp = tempfile::tempdir().expect("temp dir");
    let store = BTreeStore::open(tmp.path(), Config::with_pool(64 << 20)).expect("store");
    let faults = Faults::new();
    if let Some(d) = delay {
        faults.delay_syncs(d);
    }
    let dir: Arc<dyn WalDir> = Arc::new(OsDir::open(tmp.path().join("wal")).expect("wal dir"));
    let (logged, _) = Logged::open(Arc::new(store), faults.dir(dir), DEFAULT_SEGMENT_SIZE).expect("log");
    let logged = Arc::new(logged);
    let before = logged.wal_stats();
    let stop = Arc::new(AtomicBool::new(false));
    let commits = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let threads: Vec<_> = (0..clients)
        .map(|c| {
            let (logged, stop, commits) = (logged.clone(), stop.clone(), commits.clone());
            std::thread::spawn(move || {
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let mut b = WriteBatch::new();
                    for r in 0..3u64 {
                        let key = [(c as u64).to_be_bytes(), i.to_be_bytes(), r.to_be_bytes()].concat();
                        b.put(key, vec![b'v'; 60]);
                    }
                    let lsn = logged.write(b).expect("write");
                    logged.wait_durable(lsn).expect("flush");
                    commits.fetch_add(1, Ordering::Relaxed);
                    i += 1;
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs_f64(secs));
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().expect("client");
    }
    let elapsed = started.elapsed().as_secs_f64();
    let after = logged.wal_stats();
    let n = commits.load(Ordering::Relaxed) as f64;
    Point {
        commits_per_sec: n / elapsed,
        commits_per_flush: (after.records - before.records) as f64
            / (after.flushes - before.flushes).max(1) as f64,
        wal_bytes_per_commit: (after.bytes - before.bytes) as f64 / n.max(1.0),
    }
}

fn table(title: &str, secs: f64, delay: Option<Duration>) {
    println!("{title}");
    println!("clients  commits/s  commits/flush  WAL bytes/commit");
    for clients in [1, 4, 16, 64] {
        let p = run(clients, secs, delay);
        println!(
            "{clients:>7}  {:>9.0}  {:>13.1}  {:>16.0}",
            p.commits_per_sec, p.commits_per_flush, p.wal_bytes_per_commit
        );
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        println!("group_commit: bench");
        return;
    }
    if !std::env::args().any(|a| a == "--bench") {
        return; // `cargo test --benches` builds it; only `cargo bench` runs it
    }
    let secs: f64 = std::env::var("SSIDB_BENCH_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(3.0);
    let tmp = tempfile::tempdir().expect("temp dir");
    println!("disk under test: {}", tmp.path().display());
    let before = raw_fsync_rate(tmp.path(), secs);
    println!("raw fsync rate (8 KiB pwrite + fdatasync): {before:.0}/s");
    table("real disk", secs, None);
    table("fault layer adding 2 ms to every log fsync", secs, Some(Duration::from_millis(2)));
    let after = raw_fsync_rate(tmp.path(), secs);
    println!("raw fsync rate again at the end: {after:.0}/s");
}
