//! A matrix cell: what one engine did about one phenomenon at one level, computed from the run by
//! the spec header's rules (never typed in).
//!
//! - `allowed`: some permutation satisfied an `anomaly-if` rule;
//! - `prevented by 40001`: none did, and some step failed with a serialization failure;
//! - `prevented by 40P01` / `55P03` ...: none did, and some step failed with that error;
//! - `prevented by blocking`: none did, no step failed, and some step waited;
//! - `prevented`: none did, without errors or waits (a snapshot, or simply correct reads).

use isolation_tester::header::{IsolationLevel, Outcome};
use isolation_tester::{LoadedSpec, SpecRun};

/// The cell's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    /// The anomaly happened.
    Allowed,
    /// Prevented by an error with this SQLSTATE.
    PreventedByError(String),
    /// Prevented by a step waiting for another transaction.
    PreventedByBlocking,
    /// Prevented without errors or waits.
    Prevented,
    /// The run did not finish.
    Failed(String),
}

impl Cell {
    /// The short text shown in the terminal matrix.
    pub fn short(&self) -> String {
        match self {
            Cell::Allowed => "allowed".into(),
            Cell::PreventedByError(code) => format!("prev. {code}"),
            Cell::PreventedByBlocking => "prev. blocking".into(),
            Cell::Prevented => "prevented".into(),
            Cell::Failed(_) => "run failed".into(),
        }
    }

    /// The long text (HTML report).
    pub fn long(&self) -> String {
        match self {
            Cell::Allowed => "allowed".into(),
            Cell::PreventedByError(code) => format!("prevented by {code}"),
            Cell::PreventedByBlocking => "prevented by blocking".into(),
            Cell::Prevented => "prevented".into(),
            Cell::Failed(e) => format!("run failed: {e}"),
        }
    }

    /// The header outcome this cell corresponds to.
    pub fn outcome(&self) -> Option<Outcome> {
        match self {
            Cell::Allowed => Some(Outcome::Anomaly),
            Cell::Failed(_) => None,
            _ => Some(Outcome::Prevented),
        }
    }
}

/// Classifies a run of `spec` at `level`.
pub fn classify(spec: &LoadedSpec, level: IsolationLevel, run: &SpecRun) -> Cell {
    if spec.header.check(level, run).observed == Outcome::Anomaly {
        return Cell::Allowed;
    }
    let errors: Vec<&str> = run
        .permutations
        .iter()
        .flat_map(|p| p.runs.iter())
        .filter_map(|r| r.error().map(|e| e.sqlstate.as_str()))
        .filter(|code| *code != "25P02")
        .collect();
    if errors.contains(&"40001") {
        return Cell::PreventedByError("40001".into());
    }
    if let Some(code) = errors.first() {
        return Cell::PreventedByError(code.to_string());
    }
    if run.permutations.iter().flat_map(|p| p.runs.iter()).any(|r| r.waited) {
        return Cell::PreventedByBlocking;
    }
    Cell::Prevented
}
