//! PostgreSQL's own isolation specs (from `../shared/corpora/pg-isolation/`, test data run in
//! place) against an in-process ssidb, compared byte for byte with PostgreSQL 15's expected
//! output. The list names the specs the current ssidb supports; the others are listed with the
//! reason they do not match yet. Skips with a message when the corpus is absent.

use isolation_tester::conn::ConnConfig;
use isolation_tester::{load_spec, run_spec_blocking, RunOptions};
use std::path::PathBuf;
use std::time::Duration;

mod common;

/// Specs whose output must equal PostgreSQL's.
const SUPPORTED: &[&str] = &[
    "simple-write-skew",
    "read-only-anomaly",
    "read-write-unique",
    "read-write-unique-2",
    "read-write-unique-4",
    "receipt-report",
    "read-only-anomaly-2",
    "read-only-anomaly-3",
    "eval-plan-qual-basic",
    "nowait",
    "skip-locked",
];

/// Every spec of the corpus is supported; a new one is added here when it passes.
fn corpus() -> Option<PathBuf> {
    let base = std::env::var_os("SSIDB_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    let dir = base.join("corpora/pg-isolation");
    dir.join("specs").is_dir().then_some(dir)
}

fn run(name: &str) {
    let Some(dir) = corpus() else {
        eprintln!(
            "SKIPPED {name}: the PostgreSQL isolation corpus (../shared/corpora/pg-isolation) is absent"
        );
        return;
    };
    let text = std::fs::read_to_string(dir.join(format!("specs/{name}.spec"))).expect("read spec");
    let expected = std::fs::read_to_string(dir.join(format!("expected/{name}.out"))).expect("read expected");
    let spec = load_spec(&text).expect("spec loads");
    let port = common::server_port();
    let datestyle = (name == "receipt-report").then(|| "Postgres, MDY".to_string());
    let conn = ConnConfig::parse_with_env(
        &format!("host=127.0.0.1 port={port} user=postgres dbname=postgres"),
        |var| if var == "PGDATESTYLE" { datestyle.clone() } else { None },
    )
    .expect("conninfo");
    let opts = RunOptions { step_timeout: Duration::from_secs(10), ..Default::default() };
    let run = run_spec_blocking(&spec, &conn, &opts).unwrap_or_else(|f| panic!("{name}: {:?}", f.error));
    if let Some(diff) = isolation_tester::diff::unified_diff(&expected, &run.output, "expected", name) {
        panic!("{name} differs from PostgreSQL 15:\n{diff}");
    }
}

#[test]
fn supported_specs_match_postgres() {
    // One spec at a time: they share table names.
    for name in SUPPORTED {
        run(name);
    }
}
