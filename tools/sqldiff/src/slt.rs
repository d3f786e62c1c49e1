//! `.slt` files: every record runs on one server through the `sqllogictest` crate's runner over
//! tokio-postgres' simple query protocol, and each record's pass/fail is kept (the run goes on after
//! a failure, unlike `Runner::run_file`).
//!
//! Labels: the runner's labels (default `postgresql`, see `--label`) apply to every server; the
//! ssidb server also carries `ssidb`, so `onlyif ssidb` records are skipped on PostgreSQL.
//! `halt` ends the file; `hash-threshold` and `control resultmode valuewise` are the crate's.
//!
//! # Rendering values
//!
//! Two modes ([`Render`]):
//!
//! * `wire` (default): values as the wire sends them (text), NULL as `NULL`, the empty string as
//!   `(empty)` — the same as `tests/sqllogictest.rs`, for our own `sql-tests/`.
//! * `sqlite`: as SQLite's original harness (`slt_sqlite.c`) renders them, by the column types
//!   the *query record declares*: `I` an integer (floats and numerics truncated toward zero,
//!   booleans 1/0), `R` `%.3f`, `T` the text with `""` as `(empty)` and every byte outside
//!   printable ASCII as `@`; NULL is `NULL` whatever the type. The crate never hands the declared
//!   types to the database, so [`run_file`] puts them into state shared with [`SltDb`] before it
//!   runs each record. The number of columns must equal the number of declared types (the
//!   original harness refuses a short type string too).
//!
//! # Cancelling
//!
//! Each record's SQL is cancelled (CancelRequest) when it runs longer than the per-record timeout;
//! the record then counts as failed *and* timed out, so a hung statement costs one failure, not
//! the whole run.

use crate::progress::Progress;
use crate::target::Target;
use sqllogictest::{Condition, DBOutput, DefaultColumnType, QueryExpect, Record};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How result values become the strings compared with the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Render {
    /// The wire's text, NULL as `NULL`, `""` as `(empty)`.
    Wire,
    /// By the record's declared column types, as `slt_sqlite.c`.
    Sqlite,
}

/// What the runner needs besides the file and the server.
#[derive(Clone, Debug)]
pub struct SltOptions {
    /// Labels for `onlyif`/`skipif` (the server's own are added).
    pub labels: Vec<String>,
    /// Per-record cancel.
    pub timeout: Duration,
    /// Value rendering.
    pub render: Render,
    /// Run at most this many statement/query records of the file (the short form).
    pub max_records: Option<usize>,
    /// Records running at least this long are listed as slow.
    pub slow: Duration,
}

/// The outcome of one record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecordResult {
    /// It ran and matched.
    Pass,
    /// It was skipped by `onlyif`/`skipif`.
    Skip,
    /// It failed: the runner's explanation.
    Fail(String),
    /// It ran into the per-record timeout and was cancelled (a failure).
    Timeout(String),
}

impl RecordResult {
    /// One word for comparisons between servers.
    pub fn word(&self) -> &'static str {
        match self {
            RecordResult::Pass => "pass",
            RecordResult::Skip => "skip",
            RecordResult::Fail(_) => "fail",
            RecordResult::Timeout(_) => "timeout",
        }
    }
}

/// Results of one file on one server.
#[derive(Clone, Debug, Default)]
pub struct FileRun {
    /// (line, result) per statement/query record, in file order.
    pub records: Vec<(u32, RecordResult)>,
    /// (line, seconds) of every record that took at least [`SltOptions::slow`].
    pub slow: Vec<(u32, f64)>,
    /// Wall time of the file on this server.
    pub elapsed: Duration,
    /// A problem that stopped the file (parse error, connection failure).
    pub fatal: Option<String>,
}

/// The error type handed to the runner: message plus SQLSTATE.
#[derive(Debug)]
pub struct DbError {
    message: String,
    sqlstate: String,
}

impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.message)
    }
}

impl std::error::Error for DbError {}

/// State the record loop shares with the connection(s) the runner opens.
#[derive(Debug, Default)]
struct Shared {
    /// The declared column types of the query record about to run (`sqlite` rendering).
    types: Option<Vec<DefaultColumnType>>,
    /// Set when a statement ran into the timeout.
    timed_out: bool,
}

/// A sqllogictest connection to one server's per-file database.
pub struct SltDb {
    client: tokio_postgres::Client,
    timeout: Duration,
    render: Render,
    shared: Arc<Mutex<Shared>>,
}

impl SltDb {
    async fn connect(
        target: &Target,
        database: &str,
        timeout: Duration,
        render: Render,
        shared: Arc<Mutex<Shared>>,
    ) -> Result<SltDb, DbError> {
        let client =
            target.connect(database).await.map_err(|e| DbError { message: e, sqlstate: "08006".into() })?;
        Ok(SltDb { client, timeout, render, shared })
    }

    fn shared(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn render_wire(v: Option<&str>) -> String {
    match v {
        None => "NULL".into(),
        Some("") => "(empty)".into(),
        Some(s) => s.to_string(),
    }
}

/// A number from PostgreSQL's text output, for `I` and `R` columns: integers, numerics and floats
/// (`NaN`, `Infinity`), booleans as 1/0; anything else counts as 0, as SQLite's conversions give 0
/// for text that is no number.
fn as_f64(s: &str) -> f64 {
    match s.trim() {
        "t" | "true" => 1.0,
        "f" | "false" => 0.0,
        t => t.parse().unwrap_or(0.0),
    }
}

/// Renders one value by its declared type as `slt_sqlite.c` does.
pub fn render_sqlite(ty: &DefaultColumnType, v: Option<&str>) -> String {
    let Some(s) = v else { return "NULL".into() };
    match ty {
        DefaultColumnType::Integer => match s.trim().parse::<i64>() {
            Ok(i) => i.to_string(),
            // `as` truncates toward zero and saturates, as sqlite3_column_int64 on a REAL.
            Err(_) => (as_f64(s) as i64).to_string(),
        },
        DefaultColumnType::FloatingPoint => format!("{:.3}", as_f64(s)),
        DefaultColumnType::Text | DefaultColumnType::Any => {
            if s.is_empty() {
                "(empty)".into()
            } else {
                s.bytes().map(|b| if (b' '..=b'~').contains(&b) { b as char } else { '@' }).collect()
            }
        }
    }
}

fn db_error(e: tokio_postgres::Error) -> DbError {
    match e.as_db_error() {
        Some(db) => DbError { message: db.message().to_string(), sqlstate: db.code().code().to_string() },
        None => DbError { message: e.to_string(), sqlstate: "08006".into() },
    }
}

#[async_trait::async_trait]
impl sqllogictest::AsyncDB for SltDb {
    type Error = DbError;
    type ColumnType = DefaultColumnType;

    async fn run(&mut self, sql: &str) -> Result<DBOutput<DefaultColumnType>, DbError> {
        use tokio_postgres::SimpleQueryMessage as M;
        let fut = self.client.simple_query(sql);
        tokio::pin!(fut);
        let msgs = match tokio::time::timeout(self.timeout, &mut fut).await {
            Ok(r) => r.map_err(db_error)?,
            Err(_) => {
                self.shared().timed_out = true;
                let token = self.client.cancel_token();
                let _ = token.cancel_query(tokio_postgres::NoTls).await;
                let secs = self.timeout.as_secs_f64();
                return match tokio::time::timeout(Duration::from_secs(10), fut).await {
                    Ok(Err(e)) => {
                        let mut e = db_error(e);
                        e.message = format!("cancelled after {secs} s: {}", e.message);
                        Err(e)
                    }
                    Ok(Ok(_)) => Err(DbError {
                        message: format!("ran longer than {secs} s (finished after the cancel request)"),
                        sqlstate: "57014".into(),
                    }),
                    Err(_) => Err(DbError {
                        message: format!("ran longer than {secs} s and ignored its cancel request"),
                        sqlstate: "57014".into(),
                    }),
                };
            }
        };
        let declared = match self.render {
            Render::Sqlite => self.shared().types.clone(),
            Render::Wire => None,
        };
        // As in tests/sqllogictest.rs: the last statement's result decides.
        let mut rows: Vec<Vec<String>> = Vec::new();
        let mut ncols: Option<usize> = None;
        let mut result = DBOutput::StatementComplete(0);
        for m in msgs {
            match m {
                M::RowDescription(cols) => {
                    ncols = Some(cols.len());
                    rows.clear();
                }
                M::Row(r) => rows.push(
                    (0..r.len())
                        .map(|i| match declared.as_ref().and_then(|t| t.get(i)) {
                            Some(ty) => render_sqlite(ty, r.get(i)),
                            None => render_wire(r.get(i)),
                        })
                        .collect(),
                ),
                M::CommandComplete(n) => {
                    result = match ncols.take() {
                        Some(c) => DBOutput::Rows {
                            types: vec![DefaultColumnType::Any; c],
                            rows: std::mem::take(&mut rows),
                        },
                        None => DBOutput::StatementComplete(n),
                    };
                }
                _ => {}
            }
        }
        Ok(result)
    }

    fn error_sql_state(err: &DbError) -> Option<String> {
        Some(err.sqlstate.clone())
    }

    async fn shutdown(&mut self) {}

    async fn sleep(dur: Duration) {
        tokio::time::sleep(dur).await;
    }
}

fn skipped(conditions: &[Condition], labels: &[String]) -> bool {
    conditions.iter().any(|c| match c {
        Condition::OnlyIf { label } => !labels.contains(label),
        Condition::SkipIf { label } => labels.contains(label),
    })
}

/// The `sqlite` mode's column check: as many columns as declared types.
#[allow(clippy::ptr_arg)] // the crate's validator signature
fn same_column_count(actual: &Vec<DefaultColumnType>, expected: &Vec<DefaultColumnType>) -> bool {
    actual.len() == expected.len()
}

/// Counts the statement and query records of a file cheaply (for the progress bar's total).
pub fn estimate_records(path: &Path) -> usize {
    std::fs::read_to_string(path)
        .map(|s| s.lines().filter(|l| l.starts_with("statement ") || l.starts_with("query ")).count())
        .unwrap_or(0)
}

/// Runs one `.slt` file on `target` in `database`, record by record.
pub async fn run_file(
    path: &Path,
    target: &Target,
    database: &str,
    o: &SltOptions,
    progress: &Progress,
) -> FileRun {
    let started = Instant::now();
    let mut run = FileRun::default();
    let records = match sqllogictest::parse_file::<DefaultColumnType>(path) {
        Ok(r) => r,
        Err(e) => {
            run.fatal = Some(format!("cannot parse: {e}"));
            return run;
        }
    };
    let mut labels = o.labels.clone();
    labels.extend(target.extra_labels());
    let shared = Arc::new(Mutex::new(Shared::default()));
    let make = {
        let target = target.clone();
        let database = database.to_string();
        let (timeout, render, shared) = (o.timeout, o.render, shared.clone());
        move || {
            let target = target.clone();
            let database = database.clone();
            let shared = shared.clone();
            async move { SltDb::connect(&target, &database, timeout, render, shared).await }
        }
    };
    let mut runner = sqllogictest::Runner::new(make);
    for l in &labels {
        runner.add_label(l);
    }
    if o.render == Render::Sqlite {
        runner.with_column_validator(same_column_count);
    }
    let mut counted = 0;
    for record in records {
        let (line, conditions) = match &record {
            Record::Statement { loc, conditions, .. } | Record::Query { loc, conditions, .. } => {
                (Some(loc.line()), conditions.clone())
            }
            Record::Halt { .. } => break,
            _ => (None, vec![]),
        };
        if line.is_some() && o.max_records.is_some_and(|max| counted >= max) {
            break;
        }
        {
            let mut s = shared.lock().unwrap_or_else(|p| p.into_inner());
            s.timed_out = false;
            s.types = match &record {
                Record::Query { expected: QueryExpect::Results { types, .. }, .. } => Some(types.clone()),
                _ => None,
            };
        }
        let skip = skipped(&conditions, &labels);
        let t0 = Instant::now();
        let result = runner.run_async(record).await;
        let took = t0.elapsed();
        let timed_out = shared.lock().unwrap_or_else(|p| p.into_inner()).timed_out;
        if let Some(line) = line {
            counted += 1;
            if took >= o.slow {
                run.slow.push((line, took.as_secs_f64()));
            }
            let r = match result {
                _ if skip => RecordResult::Skip,
                Ok(_) => RecordResult::Pass,
                Err(e) if timed_out => RecordResult::Timeout(e.display(false).to_string()),
                Err(e) => RecordResult::Fail(e.display(false).to_string()),
            };
            progress.record(&r);
            run.records.push((line, r));
        } else if let Err(e) = result {
            run.records.push((0, RecordResult::Fail(e.display(false).to_string())));
        }
    }
    runner.shutdown_async().await;
    run.elapsed = started.elapsed();
    run
}

#[cfg(test)]
mod render_tests {
    use super::render_sqlite;
    use sqllogictest::DefaultColumnType::{FloatingPoint as R, Integer as I, Text as T};

    #[test]
    fn values_render_by_the_declared_type() {
        assert_eq!(render_sqlite(&I, None), "NULL");
        assert_eq!(render_sqlite(&R, None), "NULL");
        assert_eq!(render_sqlite(&T, None), "NULL");
        assert_eq!(render_sqlite(&I, Some("-42")), "-42");
        assert_eq!(render_sqlite(&I, Some("12.9000")), "12");
        assert_eq!(render_sqlite(&I, Some("-12.9")), "-12");
        assert_eq!(render_sqlite(&I, Some("t")), "1");
        assert_eq!(render_sqlite(&I, Some("f")), "0");
        assert_eq!(render_sqlite(&I, Some("1e+20")), i64::MAX.to_string());
        assert_eq!(render_sqlite(&R, Some("3")), "3.000");
        assert_eq!(render_sqlite(&R, Some("-0.0625")), "-0.062");
        assert_eq!(render_sqlite(&R, Some("2.0625")), "2.062");
        assert_eq!(render_sqlite(&R, Some("71.33333333333333")), "71.333");
        assert_eq!(render_sqlite(&T, Some("")), "(empty)");
        assert_eq!(render_sqlite(&T, Some("a\tb")), "a@b");
        assert_eq!(render_sqlite(&T, Some("é")), "@@");
        assert_eq!(render_sqlite(&T, Some("12.5")), "12.5");
    }
}
