//! ssidb's own anomaly suite (`tests/isolation/*.spec`) against an in-process ssidb, at every
//! isolation level each spec's header lists, compared byte for byte with PostgreSQL 15's output
//! (`tests/isolation/expected/<spec>.<level>.out`, written by `tools/isolation-expected`).
//!
//! One trial per spec and level (`cargo test --test anomalies -- g2-item`). A trial passes when:
//! - the output equals PostgreSQL's; or
//! - the only differing permutations are ones the spec's header documents as a PostgreSQL false
//!   positive (`pg-false-positive:`), ssidb committed them, and the header's expectation for the
//!   level still holds on ssidb's run. Such trials are listed in the summary printed at the end.
//!
//! No other difference passes, except the specs and levels in [`KNOWN_GAPS`]: features ssidb does
//! not have yet, each with its reason. A known gap still runs; it passes while it differs, and
//! fails with "now matches PostgreSQL: remove it from KNOWN_GAPS" once it matches, so the list
//! only shrinks. Trials run one at a time (the specs share table names).

use isolation_tester::conn::ConnConfig;
use isolation_tester::header::IsolationLevel;
use isolation_tester::{load_spec, run_spec_blocking, LoadedSpec, RunOptions, SpecRun, Verdict};
use libtest_mimic::{Arguments, Failed, Trial};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

mod common;

/// Specs (and levels; `None` = every level) whose output does not equal PostgreSQL's yet, with
/// the reason. Delete a line when the feature lands: the trial then must match.
const KNOWN_GAPS: &[(&str, Option<IsolationLevel>, &str)] = &[
    // Empty: every spec matches PostgreSQL 15 at every level it lists.
];

/// Lines for the summary printed after all trials.
static SUMMARY: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn spec_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/isolation")
}

fn known_gap(name: &str, level: IsolationLevel) -> Option<&'static str> {
    KNOWN_GAPS.iter().find(|(n, l, _)| *n == name && l.is_none_or(|l| l == level)).map(|(_, _, why)| *why)
}

/// Splits a transcript into its preamble and one chunk per `starting permutation:` block.
fn permutation_chunks(output: &str) -> Vec<&str> {
    let mut starts: Vec<usize> = output.match_indices("starting permutation: ").map(|(i, _)| i).collect();
    starts.push(output.len());
    starts.windows(2).map(|w| &output[w[0]..w[1]]).collect()
}

/// Why a differing run is still acceptable: every differing permutation is a documented PostgreSQL
/// false positive that ssidb committed, and the header's expectation holds. `Err` says why not.
fn false_positive_only(
    spec: &LoadedSpec,
    level: IsolationLevel,
    expected: &str,
    run: &SpecRun,
) -> Result<Vec<String>, String> {
    let fps = &spec.header.pg_false_positives;
    if fps.is_empty() {
        return Err("the header documents no PostgreSQL false positive".into());
    }
    let pg = permutation_chunks(expected);
    if pg.len() != run.permutations.len()
        || !run.output.starts_with(&expected[..expected.find("starting").unwrap_or(0)])
    {
        return Err("the permutations themselves differ".into());
    }
    let mut used = Vec::new();
    for (p, pg_chunk) in run.permutations.iter().zip(pg) {
        let ours = permutation_chunks(&p.output).first().copied().unwrap_or("");
        if ours == pg_chunk {
            continue;
        }
        let documented = fps.iter().any(|fp| fp.permutation == p.steps);
        if !documented {
            return Err(format!(
                "permutation {} ({}) differs and is not a documented false positive",
                p.index,
                p.steps_line()
            ));
        }
        if p.verdict() != Verdict::Committed || !pg_chunk.contains("could not serialize access") {
            return Err(format!(
                "permutation {} ({}) is a documented false positive, but ssidb did not simply commit what PostgreSQL aborts",
                p.index,
                p.steps_line()
            ));
        }
        used.push(p.steps_line());
    }
    let check = spec.header.check(level, run);
    if !check.ok() {
        return Err(format!("expected {:?} at {level}, observed {}", check.expected, check.observed));
    }
    Ok(used)
}

fn run_trial(name: &str, spec: &LoadedSpec, level: IsolationLevel) -> Result<(), Failed> {
    let expected_path = spec_dir().join(format!("expected/{name}.{level}.out"));
    let expected = std::fs::read_to_string(&expected_path)
        .map_err(|e| format!("{}: {e} (run tools/isolation-expected)", expected_path.display()))?;
    let port = common::server_port();
    let mut conn = ConnConfig::parse_with_env(
        &format!("host=127.0.0.1 port={port} user=postgres dbname=postgres"),
        |_| None,
    )
    .map_err(|e| format!("conninfo: {e:?}"))?;
    conn.set("default_transaction_isolation", level.setting());
    let opts = RunOptions { step_timeout: Duration::from_secs(10), ..Default::default() };
    let gap = known_gap(name, level);
    let run = match run_spec_blocking(spec, &conn, &opts) {
        Ok(run) => run,
        Err(f) if gap.is_some() => {
            SUMMARY.lock().unwrap().push(format!(
                "known gap   {name}.{level}: run stopped ({:?}): {}",
                f.error,
                gap.unwrap()
            ));
            return Ok(());
        }
        Err(f) => {
            return Err(format!("{name}.{level}: the run stopped: {:?}\n{}", f.error, f.partial.output).into())
        }
    };
    let diff = isolation_tester::diff::unified_diff(&expected, &run.output, "postgres-15", "ssidb");
    match (diff, gap) {
        (None, None) => Ok(()),
        (None, Some(_)) => {
            Err(format!("{name}.{level} now matches PostgreSQL: remove it from KNOWN_GAPS").into())
        }
        (Some(_), Some(why)) => {
            SUMMARY.lock().unwrap().push(format!("known gap   {name}.{level}: {why}"));
            Ok(())
        }
        (Some(diff), None) => match false_positive_only(spec, level, &expected, &run) {
            Ok(perms) => {
                SUMMARY.lock().unwrap().push(format!(
                    "pg false positive avoided   {name}.{level}: ssidb commits {}",
                    perms.join("; ")
                ));
                Ok(())
            }
            Err(why) => Err(format!("{name}.{level} differs from PostgreSQL 15 ({why}):\n{diff}").into()),
        },
    }
}

fn main() {
    let mut args = Arguments::from_args();
    args.test_threads = Some(1);
    let mut paths: Vec<PathBuf> = std::fs::read_dir(spec_dir())
        .expect("tests/isolation")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "spec"))
        .collect();
    paths.sort();
    let mut trials = Vec::new();
    for path in paths {
        let name = path.file_stem().expect("stem").to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).expect("read spec");
        let spec = load_spec(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let missing = spec.header.missing();
        assert!(missing.is_empty(), "{name}: the header lacks {missing:?}");
        let spec = std::sync::Arc::new(spec);
        for level in spec.header.levels() {
            let (spec, name) = (spec.clone(), name.clone());
            trials.push(Trial::test(format!("{name}.{level}"), move || run_trial(&name, &spec, level)));
        }
    }
    for (name, _, _) in KNOWN_GAPS {
        assert!(spec_dir().join(format!("{name}.spec")).exists(), "KNOWN_GAPS names a missing spec {name}");
    }
    let conclusion = libtest_mimic::run(&args, trials);
    let summary = SUMMARY.lock().unwrap();
    if !summary.is_empty() {
        println!("anomaly suite summary (differences that passed):");
        for line in summary.iter() {
            println!("  {line}");
        }
    }
    conclusion.exit();
}
