//! The tester against a real, throwaway PostgreSQL 15 (started with `tools/pg-throwaway`).
//!
//! Checks, all on one server, one after the other (specs share table names):
//! 1. every spec of the shared PostgreSQL corpus (`$SSIDB_SHARED/corpora/pg-isolation`, default
//!    `../shared` beside the repository) prints exactly its `expected/*.out`, and exactly what
//!    PostgreSQL's own `isolationtester` prints; the structured results give the corpus README's
//!    permutation and failure counts;
//! 2. our edge-case specs (`tests/specs/pg-diff`) print exactly what PostgreSQL's tester prints,
//!    and their structured results record waits, notices and cancellations;
//! 3. the header example (`tests/specs/levels`) meets its per-level expectations and matches the
//!    expected files `tools/isolation-expected` produced;
//! 4. the command line: `--expected` (pass and fail), `--verdicts`, `--permutation`.
//!
//! Skips, saying so, when PostgreSQL 15 or the shared corpus is absent.

use isolation_tester::conn::ConnConfig;
use isolation_tester::diff::{expected_path, unified_diff};
use isolation_tester::header::{IsolationLevel, Outcome};
use isolation_tester::{load_spec, run_spec_blocking, RunOptions, SpecRun, StatementResult, Verdict};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const PG_BIN: &str = "/usr/lib/postgresql/15/bin";
const PG_TESTER: &str = "/usr/lib/postgresql/15/lib/pgxs/src/test/isolation/isolationtester";
const STEP_TIMEOUT: Duration = Duration::from_secs(10);

/// Prints to stderr past the test harness's output capture, so a skip is visible in `cargo test`.
fn notice(msg: &str) {
    let _ = writeln!(std::io::stderr(), "{msg}");
}

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A throwaway server, stopped (and its directory removed) on drop, even if the test panics.
struct Server {
    dir: String,
    conninfo: String,
}

impl Server {
    fn start() -> Option<Server> {
        if !Path::new(PG_BIN).join("postgres").exists() {
            notice(&format!("SKIPPED: PostgreSQL 15 is not installed ({PG_BIN}/postgres is absent)"));
            return None;
        }
        let script = manifest_dir().join("../pg-throwaway");
        let out = Command::new(&script).arg("start").output().expect("run tools/pg-throwaway");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "pg-throwaway failed: {}", String::from_utf8_lossy(&out.stderr));
        let field = |key: &str| {
            stdout
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .map(|v| v.trim_matches('\'').to_string())
                .unwrap_or_else(|| panic!("pg-throwaway printed no {key}: {stdout}"))
        };
        Some(Server { dir: field("PG_THROWAWAY_DIR="), conninfo: field("PG_THROWAWAY_CONNINFO=") })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new(manifest_dir().join("../pg-throwaway")).args(["stop", &self.dir]).status();
    }
}

fn corpus_dir() -> Option<PathBuf> {
    let shared = std::env::var_os("SSIDB_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest_dir().join("../../../shared"));
    let corpus = shared.join("corpora/pg-isolation");
    if corpus.join("specs").is_dir() {
        Some(corpus)
    } else {
        notice(&format!("SKIPPED corpus checks: {} is absent (set SSIDB_SHARED)", corpus.display()));
        None
    }
}

fn specs_in(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "spec"))
        .collect();
    v.sort();
    v
}

fn name_of(p: &Path) -> String {
    p.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()
}

/// Runs a spec with our tester; `settings` are startup settings (datestyle, isolation level).
fn run_ours(server: &Server, spec: &Path, settings: &[(&str, &str)], timeout: Duration) -> SpecRun {
    let text = std::fs::read_to_string(spec).expect("read spec");
    let loaded = load_spec(&text).unwrap_or_else(|e| panic!("{}: {e}", spec.display()));
    let mut conn = ConnConfig::parse(&server.conninfo).expect("conninfo");
    for (k, v) in settings {
        conn.set(k, v);
    }
    let opts = RunOptions { step_timeout: timeout, ..RunOptions::default() };
    run_spec_blocking(&loaded, &conn, &opts)
        .unwrap_or_else(|f| panic!("{}: {}\n{}", spec.display(), f, f.partial.output))
}

/// Runs PostgreSQL's own isolationtester on a spec, if installed.
fn run_reference(server: &Server, spec: &Path, env: &[(&str, &str)]) -> Option<String> {
    if !Path::new(PG_TESTER).exists() {
        return None;
    }
    let input = std::fs::File::open(spec).expect("open spec");
    let mut cmd = Command::new(PG_TESTER);
    cmd.arg(&server.conninfo).stdin(input).env_remove("PGDATESTYLE").env_remove("PGOPTIONS");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run isolationtester");
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn count(run: &SpecRun, pred: impl Fn(&Verdict) -> bool) -> usize {
    run.permutations.iter().filter(|p| pred(&p.verdict())).count()
}

#[test]
fn postgres_15_transcripts_match() {
    let started = Instant::now();
    let Some(server) = Server::start() else { return };
    if !Path::new(PG_TESTER).exists() {
        notice(&format!("NOTE: {PG_TESTER} is absent: comparisons with PostgreSQL's own tester are skipped"));
    }
    let mut failures: Vec<String> = Vec::new();
    let corpus = corpus_dir();

    // 1. The shared corpus.
    if let Some(corpus) = &corpus {
        // (spec, permutations, 40001 failures, other failures) from the corpus README.
        let counts: &[(&str, usize, usize, usize)] = &[
            ("eval-plan-qual-basic", 14, 0, 0),
            ("nowait", 6, 0, 4),
            ("read-only-anomaly", 1, 0, 0),
            ("read-only-anomaly-2", 2, 1, 0),
            ("read-only-anomaly-3", 1, 0, 0),
            ("read-write-unique", 2, 1, 1),
            ("read-write-unique-2", 2, 1, 1),
            ("read-write-unique-4", 3, 1, 2),
            ("receipt-report", 210, 6, 0),
            ("simple-write-skew", 6, 4, 0),
            ("skip-locked", 20, 0, 0),
        ];
        let specs = specs_in(&corpus.join("specs"));
        assert!(specs.len() >= counts.len(), "corpus has {} specs", specs.len());
        for spec in &specs {
            let name = name_of(spec);
            let datestyle: &[(&str, &str)] =
                if name == "receipt-report" { &[("datestyle", "Postgres, MDY")] } else { &[] };
            let run = run_ours(&server, spec, datestyle, STEP_TIMEOUT);
            let expected_file = expected_path(&corpus.join("expected"), &name, None);
            let expected = std::fs::read_to_string(&expected_file).expect("expected output");
            if let Some(d) =
                unified_diff(&expected, &run.output, &expected_file.display().to_string(), "ours")
            {
                failures.push(format!("{name}: differs from its expected output\n{d}"));
            }
            let env: &[(&str, &str)] =
                if name == "receipt-report" { &[("PGDATESTYLE", "Postgres, MDY")] } else { &[] };
            if let Some(reference) = run_reference(&server, spec, env) {
                if let Some(d) = unified_diff(&reference, &run.output, "postgres isolationtester", "ours") {
                    failures.push(format!("{name}: differs from PostgreSQL's isolationtester\n{d}"));
                }
            }
            if let Some(&(_, perms, ser, other)) = counts.iter().find(|c| c.0 == name) {
                let got = (
                    run.permutations.len(),
                    count(&run, |v| matches!(v, Verdict::SerializationFailure { .. })),
                    count(&run, |v| matches!(v, Verdict::UniqueViolation { .. } | Verdict::Other { .. })),
                );
                if got != (perms, ser, other) {
                    failures.push(format!(
                        "{name}: (permutations, 40001, other failures) = {got:?}, want {:?}",
                        (perms, ser, other)
                    ));
                }
            }
            if name == "eval-plan-qual-basic" {
                let waits = run.permutations.iter().flat_map(|p| &p.runs).filter(|r| r.waited).count();
                assert_eq!(waits, 14, "eval-plan-qual-basic: one lock wait per permutation");
            }
            if name == "read-write-unique-4" {
                let p2 = &run.permutations[1];
                let w2 = p2.runs_of("w2").next().expect("w2 ran");
                assert!(w2.waited, "w2 waits for the concurrent inserter");
                assert_eq!(w2.error().map(|e| e.sqlstate.as_str()), Some("23505"));
            }
        }
    }

    // 2. Edge cases, compared with PostgreSQL's own tester.
    let pg_diff = manifest_dir().join("tests/specs/pg-diff");
    let print_spec = pg_diff.join("edge-print.spec");
    let run = run_ours(&server, &print_spec, &[], STEP_TIMEOUT);
    if let Some(reference) = run_reference(&server, &print_spec, &[]) {
        if let Some(d) = unified_diff(&reference, &run.output, "postgres isolationtester", "ours") {
            failures.push(format!("edge-print: differs from PostgreSQL's isolationtester\n{d}"));
        }
    }
    let q3 = run.permutations[0].runs_of("q3").next().expect("q3 ran");
    assert_eq!(q3.notices.len(), 2, "RAISE NOTICE and RAISE WARNING");
    assert_eq!(q3.notices[1].detail.as_deref(), Some("det"));
    assert!(
        matches!(q3.results.as_slice(), [StatementResult::Command, StatementResult::Rows { .. }, StatementResult::Error(e)] if e.sqlstate == "22012")
    );

    let blocking_spec = pg_diff.join("edge-blocking.spec");
    let run = run_ours(&server, &blocking_spec, &[], Duration::from_secs(1));
    if let Some(reference) = run_reference(&server, &blocking_spec, &[("PGISOLATIONTIMEOUT", "1")]) {
        if let Some(d) = unified_diff(&reference, &run.output, "postgres isolationtester", "ours") {
            failures.push(format!("edge-blocking: differs from PostgreSQL's isolationtester\n{d}"));
        }
    }
    let w2 = run.permutations[0].runs_of("w2").next().expect("w2 ran");
    assert!(w2.waited && !w2.canceled);
    let notices: Vec<&str> = w2.notices.iter().map(|n| n.message.as_str()).collect();
    assert_eq!(notices, ["blurt before", "blurt after"]);
    assert!(run.permutations[2].runs_of("a3").all(|r| r.waited), "a3(w2) is held back until w2 completes");
    let canceled: Vec<_> = run.permutations[4].runs_of("w2").collect();
    assert!(canceled[0].canceled);
    assert_eq!(canceled[0].error().map(|e| e.sqlstate.as_str()), Some("57014"));
    assert_eq!(run.permutations[4].verdict(), Verdict::Other { step: "w2".into(), sqlstate: "57014".into() });

    // 3. The header example at every level it lists.
    let levels_dir = manifest_dir().join("tests/specs/levels");
    for spec in specs_in(&levels_dir) {
        let name = name_of(&spec);
        let loaded = load_spec(&std::fs::read_to_string(&spec).expect("read")).expect("valid spec");
        assert!(loaded.header.missing().is_empty(), "{name}: header lacks {:?}", loaded.header.missing());
        for level in loaded.header.levels() {
            let run =
                run_ours(&server, &spec, &[("default_transaction_isolation", level.setting())], STEP_TIMEOUT);
            let check = loaded.header.check(level, &run);
            if !check.ok() {
                failures.push(format!("{name} at {level}: {check:?}"));
            }
            let file = expected_path(&levels_dir.join("expected"), &name, Some(level));
            let expected = std::fs::read_to_string(&file).unwrap_or_default();
            if let Some(d) = unified_diff(&expected, &run.output, &file.display().to_string(), "ours") {
                failures.push(format!("{name} at {level}: differs\n{d}"));
            }
            if level == IsolationLevel::Serializable {
                assert_eq!(check.observed, Outcome::Prevented);
            }
        }
    }

    // 4. The command line.
    if let Some(corpus) = &corpus {
        cli_checks(&server, corpus, &mut failures);
    }

    println!("postgres checks took {:.1}s", started.elapsed().as_secs_f64());
    assert!(failures.is_empty(), "{} failure(s):\n{}", failures.len(), failures.join("\n"));
}

fn cli(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_isolation-tester"))
        .args(args)
        .env_remove("PGDATESTYLE")
        .env_remove("PGOPTIONS")
        .output()
        .expect("run the binary");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned())
}

fn cli_checks(server: &Server, corpus: &Path, failures: &mut Vec<String>) {
    let specs = corpus.join("specs");
    let expected = corpus.join("expected");
    let sws = specs.join("simple-write-skew.spec");
    let sws = sws.to_str().expect("utf-8 path");
    let nowait = specs.join("nowait.spec");
    let nowait = nowait.to_str().expect("utf-8 path");
    let exp = expected.to_str().expect("utf-8 path");

    let (code, out) = cli(&[&server.conninfo, "--step-timeout", "10", "--expected", exp, sws, nowait]);
    if code != 0 || !out.ends_with("2 passed, 0 failed\n") {
        failures.push(format!("--expected on matching outputs: exit {code}\n{out}"));
    }

    // A wrong expected file: exit 1 and a unified diff naming the difference.
    let tmp = std::env::temp_dir().join(format!("isotester-exp-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).expect("temp dir");
    let original = std::fs::read_to_string(expected.join("simple-write-skew.out")).expect("expected");
    std::fs::write(
        tmp.join("simple-write-skew.out"),
        original.replacen("step c2: COMMIT;", "step c2: ROLLBACK;", 1),
    )
    .expect("write");
    let (code, out) = cli(&[&server.conninfo, "--expected", tmp.to_str().expect("utf-8"), sws]);
    let _ = std::fs::remove_dir_all(&tmp);
    if code != 1
        || !out.contains("-step c2: ROLLBACK;\n+step c2: COMMIT;\n")
        || !out.contains("0 passed, 1 failed")
    {
        failures.push(format!("--expected on a differing output: exit {code}\n{out}"));
    }

    let (code, out) = cli(&[&server.conninfo, "--verdicts", sws]);
    let want = "1 rwx1 c1 rwx2 c2: committed\n2 rwx1 rwx2 c1 c2: 40001 at c2\n3 rwx1 rwx2 c2 c1: 40001 at c1\n\
                4 rwx2 rwx1 c1 c2: 40001 at c2\n5 rwx2 rwx1 c2 c1: 40001 at c1\n6 rwx2 c2 rwx1 c1: committed\n";
    if code != 0 || out != want {
        failures.push(format!("--verdicts: exit {code}\n{out}"));
    }

    let (code, out) = cli(&[&server.conninfo, "--permutation", "2", sws]);
    let full = std::fs::read_to_string(expected.join("simple-write-skew.out")).expect("expected");
    let second = full.split("\nstarting permutation:").nth(2).expect("a second permutation");
    let want = format!("Parsed test spec with 2 sessions\n\nstarting permutation:{second}");
    if code != 0 || out != want {
        failures.push(format!("--permutation 2: exit {code}\n{out}"));
    }
}
