//! `anomaly-demo`: replays ssidb's anomaly suite (`tests/isolation/*.spec`) at every isolation
//! level on ssidb and, given a connection string, on PostgreSQL; prints the anomaly-by-level
//! matrix and writes `report.html` with every schedule drawn as a timeline.
//!
//! ```text
//! cargo run -p anomaly-demo -- [--postgres "host=... port=... user=postgres"] [--ssidb CONNINFO]
//!                             [--specs DIR] [--out report.html] [--step-timeout SECS]
//! ```
//!
//! Without `--ssidb` it starts an in-memory ssidb in this process (port 0). Each cell is computed
//! from the run by the spec header's rules ([`classify()`]): `allowed` when an `anomaly-if` rule held,
//! else `prevented by 40001` (or another SQLSTATE), `prevented by blocking`, or `prevented`. A `!`
//! marks a cell that disagrees with the header's `expect` line, `≠` one that differs from
//! PostgreSQL's. The report ([`report`]) draws each permutation's transcript ([`timeline`]) with a
//! column per session, waiting steps in yellow, failed ones in red, and the last result set as the
//! final rows. Exit status 0 when every cell matches its header (and PostgreSQL's, if given).

mod classify;
mod report;
mod timeline;

use classify::{classify, Cell};
use isolation_tester::conn::ConnConfig;
use isolation_tester::header::IsolationLevel;
use isolation_tester::{load_spec, run_spec, RunOptions};
use report::{EngineResult, SpecResult};
use std::path::PathBuf;
use std::time::Duration;

/// Display order: Hermitage's anomalies, the SSI classics, then lock behaviour; others after.
const ORDER: &[&str] = &[
    "g0",
    "g1a",
    "g1b",
    "g1c",
    "otv",
    "pmp",
    "pmp-write",
    "p4",
    "g-single",
    "g-single-dependencies",
    "g-single-write-1",
    "g-single-write-2",
    "g2-item",
    "g2",
    "g2-two-edges",
    "write-skew-doctors",
    "withdrawals",
    "read-only-anomaly",
    "phantom-insert",
    "overlapping-bookings",
    "lock-matrix",
    "lock-nowait",
    "lock-skip-locked",
    "lock-for-update-p4",
    "deadlock-2",
    "deadlock-3",
];

struct Args {
    postgres: Option<String>,
    ssidb: Option<String>,
    specs: PathBuf,
    out: PathBuf,
    step_timeout: Duration,
}

fn parse_args() -> Args {
    let mut a = Args {
        postgres: None,
        ssidb: None,
        specs: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/isolation"),
        out: PathBuf::from("report.html"),
        step_timeout: Duration::from_secs(10),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let Some(v) = it.next() else {
            eprintln!("anomaly-demo: {flag} needs a value");
            std::process::exit(2);
        };
        match flag.as_str() {
            "--postgres" => a.postgres = Some(v),
            "--ssidb" => a.ssidb = Some(v),
            "--specs" => a.specs = PathBuf::from(v),
            "--out" => a.out = PathBuf::from(v),
            "--step-timeout" => a.step_timeout = Duration::from_secs(v.parse().unwrap_or(10)),
            _ => {
                eprintln!("usage: anomaly-demo [--postgres CONNINFO] [--ssidb CONNINFO] [--specs DIR] [--out FILE] [--step-timeout SECS]");
                std::process::exit(2);
            }
        }
    }
    a
}

async fn start_ssidb() -> String {
    let cluster = ssidb::sql::cluster::Cluster::new_in_memory().expect("in-memory cluster");
    let config = ssidb::server::Config { listen: "127.0.0.1:0".into(), ..Default::default() };
    let handle = ssidb::server::start(config, cluster).await.expect("ssidb starts");
    let port = handle.addr.port();
    std::mem::forget(handle); // keep serving until the process exits
    format!("host=127.0.0.1 port={port} user=postgres dbname=postgres")
}

async fn run_engine(
    engine: &str,
    conninfo: &str,
    spec: &isolation_tester::LoadedSpec,
    timeout: Duration,
) -> EngineResult {
    let mut levels = Vec::new();
    for level in spec.header.levels() {
        let cell_run = match ConnConfig::parse_with_env(conninfo, |k| std::env::var(k).ok()) {
            Err(e) => (Cell::Failed(format!("{e:?}")), None),
            Ok(mut conn) => {
                conn.set("default_transaction_isolation", level.setting());
                let opts = RunOptions { step_timeout: timeout, ..Default::default() };
                match run_spec(spec, &conn, &opts).await {
                    Ok(run) => (classify(spec, level, &run), Some(run)),
                    Err(f) => (Cell::Failed(format!("{:?}", f.error)), Some(f.partial)),
                }
            }
        };
        levels.push((level, cell_run.0, cell_run.1));
    }
    EngineResult { engine: engine.to_string(), levels }
}

fn rank(name: &str) -> (usize, String) {
    (ORDER.iter().position(|n| *n == name).unwrap_or(ORDER.len()), name.to_string())
}

fn main() {
    let args = parse_args();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_stack_size(ssidb::sql::session::STACK_SIZE)
        .enable_all()
        .build()
        .expect("runtime");
    let ok = rt.block_on(run(args));
    std::process::exit(if ok { 0 } else { 1 });
}

async fn run(args: Args) -> bool {
    let ssidb = match &args.ssidb {
        Some(c) => c.clone(),
        None => start_ssidb().await,
    };
    let mut paths: Vec<PathBuf> = match std::fs::read_dir(&args.specs) {
        Ok(d) => d
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "spec"))
            .collect(),
        Err(e) => {
            eprintln!("anomaly-demo: {}: {e}", args.specs.display());
            return false;
        }
    };
    paths.sort_by_key(|p| rank(&p.file_stem().unwrap_or_default().to_string_lossy()));
    let mut results = Vec::new();
    for path in paths {
        let name = path.file_stem().unwrap_or_default().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let spec = match load_spec(&text) {
            Ok(s) if s.header.missing().is_empty() => s,
            Ok(_) => continue, // not an anomaly spec (no header)
            Err(e) => {
                eprintln!("anomaly-demo: {name}: {e}");
                continue;
            }
        };
        eprint!("{name}: ssidb");
        let mut engines = vec![run_engine("ssidb", &ssidb, &spec, args.step_timeout).await];
        if let Some(pg) = &args.postgres {
            eprint!(", PostgreSQL");
            engines.push(run_engine("PostgreSQL", pg, &spec, args.step_timeout).await);
        }
        eprintln!();
        results.push(SpecResult { name, spec, engines });
    }
    let ok = print_matrix(&results);
    match std::fs::write(&args.out, report::render(&results)) {
        Ok(()) => println!("wrote {}", args.out.display()),
        Err(e) => eprintln!("anomaly-demo: {}: {e}", args.out.display()),
    }
    ok
}

/// Prints the matrix; returns whether every cell met its header and PostgreSQL's cell.
fn print_matrix(results: &[SpecResult]) -> bool {
    let mut ok = true;
    let engines: Vec<&str> =
        results.first().map(|r| r.engines.iter().map(|e| e.engine.as_str()).collect()).unwrap_or_default();
    let w = 16;
    print!("{:<24}", "");
    for e in &engines {
        print!("| {:<width$}", e, width = 3 * w + 2);
    }
    println!();
    print!("{:<24}", "spec");
    for _ in &engines {
        print!("| {:<w$}{:<w$}{:<w$}  ", "read committed", "repeatable read", "serializable");
    }
    println!();
    for r in results {
        print!("{:<24}", r.name);
        for (ei, e) in r.engines.iter().enumerate() {
            print!("| ");
            for level in IsolationLevel::ALL {
                let text = match e.levels.iter().find(|(l, _, _)| *l == level) {
                    None => "-".to_string(),
                    Some((_, cell, _)) => {
                        let expected =
                            r.spec.header.expect.iter().find(|x| x.level == level).map(|x| x.outcome);
                        let mut t = cell.short();
                        if cell.outcome() != expected {
                            t.push('!');
                            ok = false;
                        }
                        if ei > 0 {
                            let ours = r.engines[0].levels.iter().find(|(l, _, _)| *l == level).map(|x| &x.1);
                            if ours != Some(cell) {
                                t.push('≠');
                                ok = false;
                            }
                        }
                        t
                    }
                };
                print!("{:<w$}", text);
            }
            print!("  ");
        }
        println!();
    }
    println!("(! = not what the spec header expects; ≠ = ssidb differs from PostgreSQL)");
    ok
}
