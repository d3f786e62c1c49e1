//! In-process query benchmarks over `SSIDB_BENCH_ROWS` rows (default 1,000,000): a point lookup
//! by primary key, a 100-row range scan, an indexed join, ORDER BY ... LIMIT through an index,
//! and a grouped aggregate over the whole table. Each indexed query has a reference measured in
//! the same run: the same question answered without the index (a full scan of the same table),
//! so the figures that matter are the ratios, which survive this machine's noise.
//!
//! Run: `cargo bench --bench queries` (`SSIDB_BENCH_ROWS=100000` for a quick run).
//!
//! Tables: `t (id int PRIMARY KEY, grp int, v int)` with `grp = id % 1000` and `v = id` (so a lookup
//! by `v` finds the same row as by `id`, without an index), and `d (id int PRIMARY KEY, name
//! text)` with 1,000 rows.

use criterion::{criterion_group, criterion_main, Criterion};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use ssidb::sql::cluster::Cluster;
use ssidb::sql::session::Session;
use std::time::Instant;

fn run(s: &mut Session, sql: &str) -> usize {
    let (outputs, err) = s.execute_simple(sql);
    if let Some(e) = err {
        panic!("{sql}: {}", e.message);
    }
    outputs.iter().map(|o| o.result.rows.len()).sum()
}

fn setup(rows: u64) -> Session {
    let cluster = Cluster::new_in_memory().expect("cluster");
    let mut s = Session::new(cluster, "postgres", "postgres").expect("session");
    run(&mut s, "CREATE TABLE t (id int PRIMARY KEY, grp int, v int)");
    run(&mut s, "CREATE TABLE d (id int PRIMARY KEY, name text)");
    let start = Instant::now();
    let mut i = 1;
    while i <= rows {
        let end = (i + 49_999).min(rows);
        run(&mut s, &format!("INSERT INTO t SELECT g, g % 1000, g FROM generate_series({i}, {end}) g"));
        i = end + 1;
    }
    run(&mut s, "INSERT INTO d SELECT g, 'name ' || g FROM generate_series(0, 999) g");
    eprintln!("loaded {rows} rows in {:.1} s", start.elapsed().as_secs_f64());
    s
}

fn queries(c: &mut Criterion) {
    let rows: u64 = std::env::var("SSIDB_BENCH_ROWS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let mut s = setup(rows);
    let mut rng = StdRng::seed_from_u64(42);
    let mut g = c.benchmark_group("queries");
    g.sample_size(20);
    g.bench_function("point_lookup_pk", |b| {
        b.iter(|| run(&mut s, &format!("SELECT v FROM t WHERE id = {}", rng.gen_range(1..=rows))))
    });
    g.bench_function("range_scan_100_pk", |b| {
        b.iter(|| {
            let lo = rng.gen_range(1..=rows - 100);
            run(&mut s, &format!("SELECT sum(v) FROM t WHERE id BETWEEN {lo} AND {}", lo + 99))
        })
    });
    g.bench_function("join_100_rows_to_d", |b| {
        b.iter(|| {
            let lo = rng.gen_range(1..=rows - 100);
            run(
                &mut s,
                &format!(
                    "SELECT count(d.name) FROM t JOIN d ON d.id = t.grp WHERE t.id BETWEEN {lo} AND {}",
                    lo + 99
                ),
            )
        })
    });
    g.bench_function("order_by_pk_desc_limit_10", |b| {
        b.iter(|| run(&mut s, "SELECT id, v FROM t ORDER BY id DESC LIMIT 10"))
    });
    g.sample_size(10);
    g.bench_function("aggregate_group_by_1000_groups", |b| {
        b.iter(|| run(&mut s, "SELECT grp, count(*), sum(v) FROM t GROUP BY grp"))
    });
    // References: the same lookups without an index (v = id, but v has no index).
    g.bench_function("reference_point_lookup_full_scan", |b| {
        b.iter(|| run(&mut s, &format!("SELECT v FROM t WHERE v = {}", rng.gen_range(1..=rows))))
    });
    g.bench_function("reference_order_by_unindexed_limit_10", |b| {
        b.iter(|| run(&mut s, "SELECT id, v FROM t ORDER BY v DESC LIMIT 10"))
    });
    g.finish();
}

criterion_group!(benches, queries);
criterion_main!(benches);
