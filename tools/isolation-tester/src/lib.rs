//! An isolation tester that speaks PostgreSQL's spec format and prints PostgreSQL's output.
//!
//! PostgreSQL specifies concurrency behaviour as *isolation specs*: sessions with steps, and
//! permutations saying in which order the steps are sent. Its `isolationtester` runs each
//! permutation on real connections, detects when a step blocks (by asking the server), and prints
//! a transcript that is compared with an expected file. This crate does the same, so that:
//!
//! - ssidb can be checked against PostgreSQL's own specs and expected outputs unchanged;
//! - ssidb's own specs carry a header (phenomenon, citation, expected outcome per isolation level,
//!   a machine-readable anomaly rule) that tools evaluate on structured results, not just text.
//!
//! Layers, each in its own module:
//!
//! | module | does |
//! |---|---|
//! | [`parse`] | spec text -> [`spec::TestSpec`] (scanner + grammar of `specscanner.l`/`specparse.y`) |
//! | [`spec`] | the spec model, PostgreSQL's post-parse checks, permutation generation |
//! | [`header`] | the ssidb header: levels, anomaly rules, false positives; evaluation |
//! | [`conn`] | connection strings (libpq env vars), connections that keep their notices |
//! | [`runner`] | the scheduler: send, poll, probe for lock waits, cancel, print |
//! | [`pqprint`] | libpq's `PQprint` table format |
//! | [`report`] | structured results per permutation and step; verdicts |
//! | [`diff`] | expected-file naming and unified diffs |
//!
//! Typical use from another tool:
//!
//! ```no_run
//! use isolation_tester::{conn::ConnConfig, load_spec, runner::RunOptions, run_spec_blocking};
//! let text = std::fs::read_to_string("tests/isolation/write-skew.spec").expect("spec file");
//! let spec = load_spec(&text).expect("valid spec");
//! let conn = ConnConfig::parse("host=127.0.0.1 port=5432 user=postgres dbname=postgres").expect("conninfo");
//! let run = run_spec_blocking(&spec, &conn, &RunOptions::default()).expect("run");
//! for p in &run.permutations {
//!     println!("{} {}: {} anomaly={}", p.index, p.steps_line(), p.verdict(), spec.header.anomaly_in(p));
//! }
//! ```

pub mod conn;
pub mod diff;
pub mod header;
pub mod parse;
pub mod pqprint;
pub mod report;
pub mod runner;
pub mod spec;

use std::fmt;

pub use report::{PermutationRun, SpecRun, StatementResult, StepRun, Verdict};
pub use runner::{run_spec, RunError, RunFailure, RunOptions};

/// A spec ready to run: the checked spec and its ssidb header.
#[derive(Debug, Clone)]
pub struct LoadedSpec {
    /// The spec with resolved permutations.
    pub checked: spec::CheckedSpec,
    /// Its header (all fields empty for a plain PostgreSQL spec).
    pub header: header::SpecHeader,
}

impl std::ops::Deref for LoadedSpec {
    type Target = spec::CheckedSpec;
    fn deref(&self) -> &spec::CheckedSpec {
        &self.checked
    }
}

/// Why a spec could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadError {
    /// The spec text does not parse.
    Parse(parse::ParseError),
    /// The spec parses but cannot run (duplicate or unknown step names...).
    Spec(spec::SpecError),
    /// The header is malformed or names unknown steps/sessions.
    Header(String),
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Parse(e) => e.fmt(f),
            LoadError::Spec(e) => e.fmt(f),
            LoadError::Header(e) => f.write_str(e),
        }
    }
}

impl std::error::Error for LoadError {}

/// Parses and checks a spec and its header.
pub fn load_spec(text: &str) -> Result<LoadedSpec, LoadError> {
    let parsed = parse::parse_spec(text).map_err(LoadError::Parse)?;
    let header = header::parse_header(text).map_err(|e| LoadError::Header(e.to_string()))?;
    header.validate(&parsed).map_err(LoadError::Header)?;
    let checked = parsed.check().map_err(LoadError::Spec)?;
    Ok(LoadedSpec { checked, header })
}

/// [`run_spec`] on a private single-threaded runtime, for callers that are not async.
pub fn run_spec_blocking(
    spec: &spec::CheckedSpec,
    conn: &conn::ConnConfig,
    opts: &RunOptions,
) -> Result<SpecRun, RunFailure> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| RunFailure {
        error: RunError::Connect { index: 0, message: format!("cannot start a runtime: {e}") },
        partial: SpecRun::default(),
    })?;
    rt.block_on(run_spec(spec, conn, opts))
}
