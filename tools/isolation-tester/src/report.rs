//! Structured results of running a spec: what each step returned, which steps waited, and a
//! one-word verdict per permutation.
//!
//! The text output (PostgreSQL's `expected/*.out` format) is what humans and diff-based tests read;
//! these types are what tools read: the anomaly checker in [`crate::header`], `--verdicts`, and later
//! load and demo tools. Every step *execution* is recorded in the order its completion was reported
//! (the order of `step x: ...` lines for completed steps in the text output).
//!
//! Verdict of a permutation: the first step (in completion order) that returned an error decides it:
//! no error at all is `committed`; SQLSTATE 40001 is a serialization failure; 23505 a unique
//! violation; anything else (deadlock 40P01, NOWAIT 55P03, a cancelled step 57014, ...) is `other`.

use std::fmt;

/// One row of a result set: text values, `None` for SQL NULL.
pub type Row = Vec<Option<String>>;

/// An error or notice as the server reported it (ErrorResponse / NoticeResponse fields).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerMessage {
    /// Localized severity (`ERROR`, `NOTICE`, `WARNING`...), field S.
    pub severity: String,
    /// SQLSTATE, field C (empty for client-side errors).
    pub sqlstate: String,
    /// Primary message, field M.
    pub message: String,
    /// Detail, field D.
    pub detail: Option<String>,
    /// Hint, field H.
    pub hint: Option<String>,
}

/// What one statement of a step produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatementResult {
    /// A statement that returns rows (`SELECT`, `... RETURNING`), even zero rows.
    Rows {
        /// Column names.
        columns: Vec<String>,
        /// The rows, in the order the server sent them.
        rows: Vec<Row>,
    },
    /// A statement without a result set (`INSERT`, `COMMIT`, an empty query...).
    Command,
    /// The statement failed; later statements of the step were not run.
    Error(ServerMessage),
}

/// One execution of a step within a permutation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepRun {
    /// The step's name.
    pub name: String,
    /// The session it ran on.
    pub session: String,
    /// Position of this step in the permutation (0-based).
    pub position: usize,
    /// Whether the tester reported it as `<waiting ...>` before it completed.
    pub waited: bool,
    /// Whether the tester cancelled it after the step timeout.
    pub canceled: bool,
    /// Results of its statements, in order.
    pub results: Vec<StatementResult>,
    /// Notices its session printed while this step ran.
    pub notices: Vec<ServerMessage>,
}

impl StepRun {
    /// The step's error, if one of its statements failed.
    pub fn error(&self) -> Option<&ServerMessage> {
        self.results.iter().find_map(|r| match r {
            StatementResult::Error(e) => Some(e),
            _ => None,
        })
    }

    /// The rows of the last result set the step returned, if any.
    pub fn last_rows(&self) -> Option<&[Row]> {
        self.results.iter().rev().find_map(|r| match r {
            StatementResult::Rows { rows, .. } => Some(rows.as_slice()),
            _ => None,
        })
    }
}

/// The outcome class of a permutation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// No step returned an error.
    Committed,
    /// A step failed with SQLSTATE 40001 (serialization failure).
    SerializationFailure {
        /// The failing step.
        step: String,
    },
    /// A step failed with SQLSTATE 23505 (unique violation).
    UniqueViolation {
        /// The failing step.
        step: String,
    },
    /// A step failed with another error.
    Other {
        /// The failing step.
        step: String,
        /// Its SQLSTATE (empty for a client-side error).
        sqlstate: String,
    },
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Committed => f.write_str("committed"),
            Verdict::SerializationFailure { step } => write!(f, "40001 at {step}"),
            Verdict::UniqueViolation { step } => write!(f, "23505 at {step}"),
            Verdict::Other { step, sqlstate } if sqlstate.is_empty() => write!(f, "other at {step}"),
            Verdict::Other { step, sqlstate } => write!(f, "other {sqlstate} at {step}"),
        }
    }
}

/// The result of running one permutation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermutationRun {
    /// 1-based index among the spec's permutations (the number `--permutation` takes).
    pub index: usize,
    /// Step names in sending order.
    pub steps: Vec<String>,
    /// Step executions in the order their completion was reported.
    pub runs: Vec<StepRun>,
    /// The permutation's part of the text output (from its `starting permutation:` line).
    pub output: String,
}

impl PermutationRun {
    /// The permutation's verdict: decided by its first failing step, if any.
    pub fn verdict(&self) -> Verdict {
        for run in &self.runs {
            if let Some(err) = run.error() {
                let step = run.name.clone();
                return match err.sqlstate.as_str() {
                    "40001" => Verdict::SerializationFailure { step },
                    "23505" => Verdict::UniqueViolation { step },
                    _ => Verdict::Other { step, sqlstate: err.sqlstate.clone() },
                };
            }
        }
        Verdict::Committed
    }

    /// Every execution of the step with this name (a step may appear more than once).
    pub fn runs_of<'a>(&'a self, step: &'a str) -> impl Iterator<Item = &'a StepRun> + 'a {
        self.runs.iter().filter(move |r| r.name == step)
    }

    /// The permutation as written on a `permutation` line.
    pub fn steps_line(&self) -> String {
        self.steps.join(" ")
    }
}

/// The result of running a whole spec.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SpecRun {
    /// The complete text output, as PostgreSQL's isolation tester prints it.
    pub output: String,
    /// The permutations that ran, in order.
    pub permutations: Vec<PermutationRun>,
    /// Messages PostgreSQL's tester prints on stderr (unused steps, teardown failures...).
    pub warnings: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(code: &str) -> StatementResult {
        StatementResult::Error(ServerMessage {
            severity: "ERROR".into(),
            sqlstate: code.into(),
            message: "boom".into(),
            detail: None,
            hint: None,
        })
    }

    fn run(name: &str, results: Vec<StatementResult>) -> StepRun {
        StepRun {
            name: name.into(),
            session: "s".into(),
            position: 0,
            waited: false,
            canceled: false,
            results,
            notices: vec![],
        }
    }

    fn perm(runs: Vec<StepRun>) -> PermutationRun {
        PermutationRun { index: 1, steps: vec![], runs, output: String::new() }
    }

    #[test]
    fn verdict_is_decided_by_the_first_failure() {
        assert_eq!(perm(vec![run("a", vec![StatementResult::Command])]).verdict(), Verdict::Committed);
        let p = perm(vec![run("a", vec![StatementResult::Command]), run("c2", vec![err("40001")])]);
        assert_eq!(p.verdict().to_string(), "40001 at c2");
        let p = perm(vec![run("w2", vec![err("23505")]), run("c2", vec![err("25P02")])]);
        assert_eq!(p.verdict().to_string(), "23505 at w2");
        let p = perm(vec![run("s2a", vec![err("55P03")])]);
        assert_eq!(p.verdict().to_string(), "other 55P03 at s2a");
    }

    #[test]
    fn last_rows_skips_commands_and_errors() {
        let r = run(
            "q",
            vec![
                StatementResult::Rows { columns: vec!["a".into()], rows: vec![vec![Some("1".into())]] },
                StatementResult::Command,
            ],
        );
        assert_eq!(r.last_rows(), Some(&[vec![Some("1".to_string())]][..]));
        assert_eq!(run("x", vec![err("1")]).last_rows(), None);
    }
}
