//! The ssidb spec header: what phenomenon a spec tests, where it is defined, what each isolation
//! level must do, and a machine-checkable rule for "the anomaly happened".
//!
//! The header is the leading block of `#` comment lines of a spec (before the first statement), so
//! the file stays a valid PostgreSQL isolation spec. Lines of the form `# key: value` are fields;
//! other comment lines are prose. A line starting `#` followed by two or more spaces continues the
//! previous field. Format (see `tools/isolation-tester/README.md` for the full description):
//!
//! ```text
//! # phenomenon: G2-item (write skew)
//! # definition: Adya, "Weak Consistency", MIT PhD thesis (1999), section 4.4.2
//! # expect read-committed: anomaly
//! # expect repeatable-read: anomaly
//! # expect serializable: prevented (the second committer fails with 40001)
//! # anomaly-if: all commit
//! # anomaly-if: step r2 returns (1,12) and step c2 succeeds
//! # pg-false-positive: r1 w1 r2 c1 w2 c2 => s1 s2: s1 wrote nothing s2 read
//! ```
//!
//! - `expect LEVEL: anomaly|prevented [note]`, LEVEL one of `read-committed`, `repeatable-read`,
//!   `serializable`. The spec runs at each listed level (its sessions use a plain `BEGIN`, and the
//!   level arrives as `default_transaction_isolation`); `anomaly` means at least one permutation
//!   satisfies an `anomaly-if` rule, `prevented` means none does.
//! - `anomaly-if: CLAUSE [and CLAUSE]...`, several lines meaning *or*. Clauses, each about the
//!   permutation's step executions ([`crate::report::StepRun`]):
//!   `all commit` (or `both commit`: no step returned an error),
//!   `step NAME returns (v,...) [(v,...)...]` / `returns no rows` (last result set, exact rows),
//!   `step NAME contains (v,...)`, `step NAME fails [SQLSTATE]`, `step NAME succeeds`,
//!   `step NAME waits`. Values are bare text, `'quoted'` text or `null`.
//! - `pg-false-positive: STEPS => SESSIONS: reason` documents a permutation PostgreSQL aborts
//!   although it is serializable, with the serial order of sessions that makes it safe.
//!
//! Required for ssidb's own specs: `phenomenon`, `definition`, at least one `expect` and one
//! `anomaly-if` ([`SpecHeader::missing`]).

use crate::report::{PermutationRun, Row, SpecRun};
use crate::spec::TestSpec;
use std::fmt;

/// An isolation level a spec can be run at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IsolationLevel {
    /// READ COMMITTED.
    ReadCommitted,
    /// REPEATABLE READ (snapshot isolation in PostgreSQL).
    RepeatableRead,
    /// SERIALIZABLE.
    Serializable,
}

impl IsolationLevel {
    /// Every level, weakest first.
    pub const ALL: [IsolationLevel; 3] =
        [IsolationLevel::ReadCommitted, IsolationLevel::RepeatableRead, IsolationLevel::Serializable];

    /// The name used in headers, file names and `--isolation` (`repeatable-read`).
    pub fn slug(self) -> &'static str {
        match self {
            IsolationLevel::ReadCommitted => "read-committed",
            IsolationLevel::RepeatableRead => "repeatable-read",
            IsolationLevel::Serializable => "serializable",
        }
    }

    /// The value for `default_transaction_isolation` (`repeatable read`).
    pub fn setting(self) -> &'static str {
        match self {
            IsolationLevel::ReadCommitted => "read committed",
            IsolationLevel::RepeatableRead => "repeatable read",
            IsolationLevel::Serializable => "serializable",
        }
    }

    /// Parses a slug or an SQL spelling, case-insensitively (`serializable`, `Repeatable Read`).
    pub fn parse(s: &str) -> Option<IsolationLevel> {
        let norm: String = s.trim().to_ascii_lowercase().replace([' ', '_'], "-");
        IsolationLevel::ALL.into_iter().find(|l| l.slug() == norm)
    }
}

impl fmt::Display for IsolationLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.slug())
    }
}

/// What a level must do about the phenomenon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Some permutation shows the anomaly.
    Anomaly,
    /// No permutation shows it.
    Prevented,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Outcome::Anomaly => "anomaly",
            Outcome::Prevented => "prevented",
        })
    }
}

/// One `expect LEVEL: ...` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expectation {
    /// The level.
    pub level: IsolationLevel,
    /// What must happen at that level.
    pub outcome: Outcome,
    /// Free text after the outcome (how it is prevented, for example).
    pub note: String,
}

/// One clause of an `anomaly-if` rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Clause {
    /// No step of the permutation returned an error.
    AllCommit,
    /// Some execution of the step returned exactly these rows as its last result set.
    Returns(String, Vec<Row>),
    /// Some execution of the step returned this row in its last result set.
    Contains(String, Row),
    /// Some execution of the step failed (with this SQLSTATE, if given).
    Fails(String, Option<String>),
    /// The step ran and never failed.
    Succeeds(String),
    /// Some execution of the step was reported as waiting.
    Waits(String),
}

/// One `anomaly-if` line: its clauses must all hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnomalyRule {
    /// The rule as written.
    pub text: String,
    /// The clauses, joined by `and`.
    pub clauses: Vec<Clause>,
}

/// One `pg-false-positive` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FalsePositive {
    /// The permutation PostgreSQL aborts (step names).
    pub permutation: Vec<String>,
    /// The serial order of sessions equivalent to it.
    pub serial_order: Vec<String>,
    /// Why the schedule is serializable.
    pub reason: String,
}

/// The parsed header of a spec.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SpecHeader {
    /// The phenomenon tested (e.g. `G2-item (write skew)`).
    pub phenomenon: Option<String>,
    /// A citation of its definition.
    pub definition: Option<String>,
    /// Expected outcome per level.
    pub expect: Vec<Expectation>,
    /// The anomaly rules (any one holding means the anomaly happened).
    pub anomaly_if: Vec<AnomalyRule>,
    /// Documented PostgreSQL false positives.
    pub pg_false_positives: Vec<FalsePositive>,
}

/// A malformed header field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderError {
    /// 1-based line of the field.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for HeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "spec header, line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for HeaderError {}

/// Splits a rule into words, quoted names/values and the punctuation `( ) ,`.
fn tokenize(s: &str) -> Result<Vec<String>, String> {
    let mut toks = Vec::new();
    let mut chars = s.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if matches!(c, '(' | ')' | ',') {
            toks.push(c.to_string());
            chars.next();
        } else if c == '\'' || c == '"' {
            // Keep the opening quote so values can tell 'null' (text) from null.
            chars.next();
            let mut t = String::from(c);
            loop {
                match chars.next() {
                    None => return Err(format!("unterminated {c}quote{c}")),
                    Some(q) if q == c && chars.peek() == Some(&c) => {
                        chars.next();
                        t.push(c);
                    }
                    Some(q) if q == c => break,
                    Some(q) => t.push(q),
                }
            }
            toks.push(t);
        } else {
            let mut t = String::new();
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() || matches!(c, '(' | ')' | ',') {
                    break;
                }
                t.push(c);
                chars.next();
            }
            toks.push(t);
        }
    }
    Ok(toks)
}

fn unquote_name(t: &str) -> String {
    t.strip_prefix('"').unwrap_or(t).to_string()
}

/// Parses `(v, v) (v, v)` from `toks[*i..]`.
fn parse_row(toks: &[String], i: &mut usize) -> Result<Row, String> {
    if toks.get(*i).map(String::as_str) != Some("(") {
        return Err("expected a row like (1,12)".into());
    }
    *i += 1;
    let mut row = Vec::new();
    let mut words: Vec<&str> = Vec::new();
    let mut quoted: Option<String> = None;
    loop {
        let t = toks.get(*i).ok_or("unterminated row")?;
        *i += 1;
        match t.as_str() {
            "," | ")" => {
                let value = match quoted.take() {
                    Some(q) => Some(q),
                    None if words.len() == 1 && words[0].eq_ignore_ascii_case("null") => None,
                    None => Some(words.join(" ")),
                };
                row.push(value);
                words.clear();
                if t == ")" {
                    return Ok(row);
                }
            }
            q if q.starts_with('\'') => quoted = Some(q[1..].to_string()),
            w => words.push(w),
        }
    }
}

fn parse_rule(text: &str) -> Result<AnomalyRule, String> {
    let toks = tokenize(text)?;
    let mut i = 0;
    let mut clauses = Vec::new();
    let word = |i: usize| toks.get(i).map(String::as_str);
    loop {
        match word(i) {
            Some("all" | "both") if word(i + 1) == Some("commit") => {
                clauses.push(Clause::AllCommit);
                i += 2;
            }
            Some("step") => {
                let name = unquote_name(word(i + 1).ok_or("expected a step name after \"step\"")?);
                i += 2;
                match word(i) {
                    Some("returns") => {
                        i += 1;
                        let mut rows = Vec::new();
                        if word(i) == Some("no") && word(i + 1) == Some("rows") {
                            i += 2;
                        } else {
                            rows.push(parse_row(&toks, &mut i)?);
                            while word(i) == Some("(") {
                                rows.push(parse_row(&toks, &mut i)?);
                            }
                        }
                        clauses.push(Clause::Returns(name, rows));
                    }
                    Some("contains") => {
                        i += 1;
                        clauses.push(Clause::Contains(name, parse_row(&toks, &mut i)?));
                    }
                    Some("fails") => {
                        i += 1;
                        let code =
                            word(i).filter(|w| w.len() == 5 && w.chars().all(|c| c.is_ascii_alphanumeric()));
                        if let Some(code) = code {
                            i += 1;
                            clauses.push(Clause::Fails(name, Some(code.to_ascii_uppercase())));
                        } else {
                            clauses.push(Clause::Fails(name, None));
                        }
                    }
                    Some("succeeds") => {
                        i += 1;
                        clauses.push(Clause::Succeeds(name));
                    }
                    Some("waits") => {
                        i += 1;
                        clauses.push(Clause::Waits(name));
                    }
                    other => {
                        return Err(format!(
                        "expected returns, contains, fails, succeeds or waits after step {name}, found {}",
                        other.unwrap_or("end of rule")
                    ))
                    }
                }
            }
            other => {
                return Err(format!(
                    "expected \"all commit\" or \"step NAME ...\", found {}",
                    other.unwrap_or("end of rule")
                ))
            }
        }
        match word(i) {
            None => break,
            Some("and") => i += 1,
            Some(other) => return Err(format!("expected \"and\" or end of rule, found {other}")),
        }
    }
    Ok(AnomalyRule { text: text.to_string(), clauses })
}

fn parse_false_positive(value: &str) -> Result<FalsePositive, String> {
    let (steps, rest) = value.split_once("=>").ok_or("expected STEPS => SESSIONS: reason")?;
    let (order, reason) = rest.split_once(':').ok_or("expected a ':' after the serial order")?;
    let permutation: Vec<String> = tokenize(steps)?.iter().map(|t| unquote_name(t)).collect();
    let serial_order: Vec<String> = tokenize(order)?.iter().map(|t| unquote_name(t)).collect();
    if permutation.is_empty() || serial_order.is_empty() {
        return Err("the permutation and the serial order must not be empty".into());
    }
    Ok(FalsePositive { permutation, serial_order, reason: reason.trim().to_string() })
}

/// Parses the header (leading comment block) of a spec's text.
pub fn parse_header(text: &str) -> Result<SpecHeader, HeaderError> {
    // Collect (line, key, value) fields, joining continuation lines.
    let mut fields: Vec<(usize, String, String)> = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim_end();
        if line.trim().is_empty() {
            continue;
        }
        let Some(comment) = line.strip_prefix('#') else { break };
        if comment.starts_with("  ") {
            if let Some(last) = fields.last_mut() {
                last.2.push(' ');
                last.2.push_str(comment.trim());
            }
            continue;
        }
        let Some((key, value)) = comment.split_once(':') else { continue };
        let key = key.trim();
        let known = matches!(key, "phenomenon" | "definition" | "anomaly-if" | "pg-false-positive")
            || key.starts_with("expect ");
        if known {
            fields.push((n + 1, key.to_string(), value.trim().to_string()));
        }
    }

    let mut h = SpecHeader::default();
    for (line, key, value) in fields {
        let err = |message: String| HeaderError { line, message };
        match key.as_str() {
            "phenomenon" => h.phenomenon = Some(value),
            "definition" => h.definition = Some(value),
            "anomaly-if" => h.anomaly_if.push(parse_rule(&value).map_err(err)?),
            "pg-false-positive" => h.pg_false_positives.push(parse_false_positive(&value).map_err(err)?),
            _ => {
                let level_text = key.trim_start_matches("expect ").trim();
                let level = IsolationLevel::parse(level_text)
                    .ok_or_else(|| err(format!("unknown isolation level \"{level_text}\"")))?;
                let (word, note) = value.split_once(char::is_whitespace).unwrap_or((value.as_str(), ""));
                let outcome = match word {
                    "anomaly" => Outcome::Anomaly,
                    "prevented" => Outcome::Prevented,
                    _ => return Err(err(format!("expected anomaly or prevented, found \"{word}\""))),
                };
                if h.expect.iter().any(|e| e.level == level) {
                    return Err(err(format!("level {level} is listed twice")));
                }
                h.expect.push(Expectation { level, outcome, note: note.trim().to_string() });
            }
        }
    }
    Ok(h)
}

impl SpecHeader {
    /// The required fields this header lacks (empty for a complete ssidb header).
    pub fn missing(&self) -> Vec<&'static str> {
        let mut m = Vec::new();
        if self.phenomenon.is_none() {
            m.push("phenomenon");
        }
        if self.definition.is_none() {
            m.push("definition");
        }
        if self.expect.is_empty() {
            m.push("expect");
        }
        if self.anomaly_if.is_empty() {
            m.push("anomaly-if");
        }
        m
    }

    /// Checks that the names the header uses exist in the spec.
    pub fn validate(&self, spec: &TestSpec) -> Result<(), String> {
        for rule in &self.anomaly_if {
            for c in &rule.clauses {
                let name = match c {
                    Clause::AllCommit => continue,
                    Clause::Returns(n, _) | Clause::Contains(n, _) | Clause::Fails(n, _) => n,
                    Clause::Succeeds(n) | Clause::Waits(n) => n,
                };
                if spec.find_step(name).is_none() {
                    return Err(format!("anomaly-if refers to unknown step \"{name}\""));
                }
            }
        }
        for fp in &self.pg_false_positives {
            if let Some(s) = fp.permutation.iter().find(|s| spec.find_step(s).is_none()) {
                return Err(format!("pg-false-positive refers to unknown step \"{s}\""));
            }
            if let Some(s) = fp.serial_order.iter().find(|s| !spec.sessions.iter().any(|x| &x.name == *s)) {
                return Err(format!("pg-false-positive refers to unknown session \"{s}\""));
            }
        }
        Ok(())
    }

    /// The levels the spec must run at (in the order listed).
    pub fn levels(&self) -> Vec<IsolationLevel> {
        self.expect.iter().map(|e| e.level).collect()
    }

    /// Whether any anomaly rule holds for this permutation.
    pub fn anomaly_in(&self, perm: &PermutationRun) -> bool {
        self.anomaly_if.iter().any(|r| r.holds(perm))
    }

    /// Compares a run at `level` with the header's expectation for that level.
    pub fn check(&self, level: IsolationLevel, run: &SpecRun) -> LevelCheck {
        let anomalous: Vec<usize> =
            run.permutations.iter().filter(|p| self.anomaly_in(p)).map(|p| p.index).collect();
        let expected = self.expect.iter().find(|e| e.level == level).map(|e| e.outcome);
        let observed = if anomalous.is_empty() { Outcome::Prevented } else { Outcome::Anomaly };
        LevelCheck { level, expected, observed, anomalous }
    }
}

/// The outcome of [`SpecHeader::check`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LevelCheck {
    /// The level the spec ran at.
    pub level: IsolationLevel,
    /// What the header expects there (`None`: the header says nothing about this level).
    pub expected: Option<Outcome>,
    /// What happened.
    pub observed: Outcome,
    /// 1-based indexes of the permutations that showed the anomaly.
    pub anomalous: Vec<usize>,
}

impl LevelCheck {
    /// True when the observation matches the expectation (or there is none).
    pub fn ok(&self) -> bool {
        self.expected.is_none_or(|e| e == self.observed)
    }
}

impl AnomalyRule {
    /// Whether every clause holds for this permutation.
    pub fn holds(&self, perm: &PermutationRun) -> bool {
        self.clauses.iter().all(|c| c.holds(perm))
    }
}

impl Clause {
    /// Whether the clause holds for this permutation.
    pub fn holds(&self, perm: &PermutationRun) -> bool {
        match self {
            Clause::AllCommit => !perm.runs.is_empty() && perm.runs.iter().all(|r| r.error().is_none()),
            Clause::Returns(step, rows) => perm.runs_of(step).any(|r| r.last_rows() == Some(rows.as_slice())),
            Clause::Contains(step, row) => {
                perm.runs_of(step).any(|r| r.last_rows().is_some_and(|rows| rows.contains(row)))
            }
            Clause::Fails(step, code) => perm
                .runs_of(step)
                .any(|r| r.error().is_some_and(|e| code.as_ref().is_none_or(|c| *c == e.sqlstate))),
            Clause::Succeeds(step) => {
                perm.runs_of(step).next().is_some() && perm.runs_of(step).all(|r| r.error().is_none())
            }
            Clause::Waits(step) => perm.runs_of(step).any(|r| r.waited),
        }
    }
}

#[cfg(test)]
mod tests;
