//! `history-check`: an Elle-style list-append checker for ssidb (or any PostgreSQL server).
//!
//! N clients run random transactions of reads and appends over a few hot keys at one isolation
//! level ([`workload`]); every operation and its result is recorded ([`history`]); the history is
//! turned into a dependency graph (ww, wr, rw edges inferred from the observed list orders) and
//! searched for cycles, classified G0, G1c, G-single, G2-item, plus the non-cycle anomalies G1a
//! and G1b ([`analysis`]). A found anomaly is printed with its transactions, keys and edges.
//!
//! ```text
//! cargo run --release -p history-check -- --conninfo "host=127.0.0.1 port=5433 user=postgres" \
//!     --level "repeatable read" --clients 8 --duration 60 [--seed N] [--keys 4] [--full]
//! ```
//!
//! The history is checked every `--check-every` seconds while it runs (the longest reads so far
//! give each key's order) and once more at the end after a final read of every key. By default the
//! run stops at the first anomaly (`--full` runs the whole duration). Exit status: 0 no anomaly,
//! 1 an anomaly was found, 2 usage or connection errors. The seed is printed and `--seed` replays
//! the same random choices (the interleaving still depends on timing).

mod analysis;
mod history;
mod workload;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use workload::{Params, Shared};

struct Args {
    params: Params,
    duration: Duration,
    check_every: Duration,
    full: bool,
}

fn usage(msg: &str) -> ! {
    eprintln!("history-check: {msg}");
    eprintln!(
        "usage: history-check [--conninfo S] [--level LEVEL] [--clients N] [--duration SECS] [--seed N] \\\n       \
         [--keys N] [--max-appends N] [--max-ops N] [--check-every SECS] [--full]"
    );
    std::process::exit(2)
}

fn parse_args() -> Args {
    let seed =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64);
    let mut a = Args {
        params: Params {
            conninfo: "host=127.0.0.1 user=postgres dbname=postgres".into(),
            level: "serializable".into(),
            clients: 8,
            keys: 4,
            max_appends: 64,
            max_ops: 4,
            seed,
        },
        duration: Duration::from_secs(30),
        check_every: Duration::from_secs(5),
        full: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--full" {
            a.full = true;
            continue;
        }
        let v = it.next().unwrap_or_else(|| usage(&format!("{flag} needs a value")));
        let num = |v: &str| v.parse::<u64>().unwrap_or_else(|_| usage(&format!("{flag}: not a number: {v}")));
        match flag.as_str() {
            "--conninfo" => a.params.conninfo = v,
            "--level" => a.params.level = v.replace(['-', '_'], " "),
            "--clients" => a.params.clients = num(&v) as usize,
            "--duration" => a.duration = Duration::from_secs(num(&v)),
            "--seed" => a.params.seed = num(&v),
            "--keys" => a.params.keys = num(&v) as i64,
            "--max-appends" => a.params.max_appends = num(&v),
            "--max-ops" => a.params.max_ops = num(&v) as usize,
            "--check-every" => a.check_every = Duration::from_secs(num(&v).max(1)),
            _ => usage(&format!("unknown option {flag}")),
        }
    }
    if !["read committed", "repeatable read", "serializable"]
        .contains(&a.params.level.to_lowercase().as_str())
    {
        usage(&format!("unknown level {}", a.params.level));
    }
    a
}

fn print_report(r: &analysis::Report, txns: &[history::Txn]) -> bool {
    println!(
        "checked {} committed of {} transactions: {} ww, {} wr, {} rw edges",
        r.committed,
        txns.len(),
        r.edge_counts[0],
        r.edge_counts[1],
        r.edge_counts[2]
    );
    for a in &r.anomalies {
        println!("ANOMALY {}: {}", a.class, a.explanation);
        let mut ids = a.txns.clone();
        ids.sort_unstable();
        ids.dedup();
        for id in ids {
            println!("  {}", txns[id]);
        }
        for e in &a.edges {
            println!("  edge {e}");
        }
    }
    !r.anomalies.is_empty()
}

#[tokio::main]
async fn main() {
    let args = parse_args();
    let p = args.params.clone();
    println!(
        "history-check: seed {} level {} clients {} keys {} duration {}s",
        p.seed,
        p.level,
        p.clients,
        p.keys,
        args.duration.as_secs()
    );
    if let Err(e) = workload::setup(&p).await {
        eprintln!("history-check: {e}");
        std::process::exit(2);
    }
    let shared = Shared::new(p.keys);
    let handles: Vec<_> =
        (0..p.clients).map(|i| tokio::spawn(workload::client(i, p.clone(), shared.clone()))).collect();
    let start = Instant::now();
    let mut found = false;
    while start.elapsed() < args.duration {
        tokio::time::sleep(args.check_every.min(args.duration.saturating_sub(start.elapsed()))).await;
        let txns = shared.history.lock().expect("history").clone();
        let committed = txns.iter().filter(|t| t.outcome == history::Outcome::Committed).count();
        let aborts = shared.aborts.lock().expect("aborts").clone();
        let report = analysis::check(&txns, &Default::default());
        println!(
            "[{:>4}s] {} txns, {} committed, aborts {:?}, anomalies so far: {}",
            start.elapsed().as_secs(),
            txns.len(),
            committed,
            aborts,
            if report.anomalies.is_empty() {
                "none".to_string()
            } else {
                report.anomalies.iter().map(|a| a.class).collect::<Vec<_>>().join(", ")
            }
        );
        if !report.anomalies.is_empty() && !args.full {
            found = true;
            break;
        }
    }
    shared.stop.store(true, Ordering::SeqCst);
    for h in handles {
        match h.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("history-check: {e}"),
            Err(e) => eprintln!("history-check: client panicked: {e}"),
        }
    }
    let final_lists = workload::final_read(&p).await.unwrap_or_else(|e| {
        eprintln!("history-check: {e}");
        Default::default()
    });
    let txns = shared.history.lock().expect("history").clone();
    let report = analysis::check(&txns, &final_lists);
    found |= print_report(&report, &txns);
    println!(
        "history-check: {} after {}s (seed {}, level {})",
        if found { "ANOMALY FOUND" } else { "no anomaly" },
        start.elapsed().as_secs(),
        p.seed,
        p.level
    );
    std::process::exit(if found { 1 } else { 0 });
}
