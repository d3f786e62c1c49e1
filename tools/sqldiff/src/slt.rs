//! `.slt` files: every record runs on one server through the `sqllogictest` crate's runner over
//! tokio-postgres' simple query protocol, and each record's pass/fail is kept (the run goes on after
//! a failure, unlike `Runner::run_file`).
//!
//! Labels: the runner's labels (default `postgresql`, see `--label`) apply to every server; the
//! ssidb server also carries `ssidb`, so `onlyif ssidb` records are skipped on PostgreSQL.
//! Values are rendered as the wire sends them (text), NULL as `NULL`, the empty string as
//! `(empty)`, the same as `tests/sqllogictest.rs`. `halt` ends the file.
//!
//! Each record's SQL is cancelled (CancelRequest) when it runs longer than the per-record timeout,
//! so a hung statement costs one failure, not the whole run.
//!
//! Extension point for the SQLite corpus: [`SltDb`]'s `run` knows only the SQL text; rendering values
//! by the record's declared column types (I/R/T) would set the expected types on the connection
//! before each record (the loop in [`run_file`] sees them) and format in `render`.

use crate::target::Target;
use sqllogictest::{Condition, DBOutput, DefaultColumnType, Record};
use std::path::Path;
use std::time::Duration;

/// The outcome of one record.
#[derive(Clone, Debug)]
pub enum RecordResult {
    /// It ran and matched.
    Pass,
    /// It was skipped by `onlyif`/`skipif`.
    Skip,
    /// It failed: the runner's explanation.
    Fail(String),
}

/// Results of one file on one server: (line, result) per statement/query record.
#[derive(Clone, Debug, Default)]
pub struct FileRun {
    /// Per record, in file order.
    pub records: Vec<(u32, RecordResult)>,
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

/// A sqllogictest connection to one server's per-file database.
pub struct SltDb {
    client: tokio_postgres::Client,
    timeout: Duration,
}

impl SltDb {
    /// Connects to `database` on `target`.
    pub async fn connect(target: &Target, database: &str, timeout: Duration) -> Result<SltDb, DbError> {
        let client =
            target.connect(database).await.map_err(|e| DbError { message: e, sqlstate: "08006".into() })?;
        Ok(SltDb { client, timeout })
    }
}

fn render(v: Option<&str>) -> String {
    match v {
        None => "NULL".into(),
        Some("") => "(empty)".into(),
        Some(s) => s.to_string(),
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
                M::Row(r) => rows.push((0..r.len()).map(|i| render(r.get(i))).collect()),
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

/// Runs one `.slt` file on `target` in `database`, record by record.
pub async fn run_file(
    path: &Path,
    target: &Target,
    database: &str,
    labels: &[String],
    timeout: Duration,
) -> FileRun {
    let mut run = FileRun::default();
    let records = match sqllogictest::parse_file::<DefaultColumnType>(path) {
        Ok(r) => r,
        Err(e) => {
            run.fatal = Some(format!("cannot parse: {e}"));
            return run;
        }
    };
    let mut labels = labels.to_vec();
    labels.extend(target.extra_labels());
    let make = {
        let target = target.clone();
        let database = database.to_string();
        move || {
            let target = target.clone();
            let database = database.clone();
            async move { SltDb::connect(&target, &database, timeout).await }
        }
    };
    let mut runner = sqllogictest::Runner::new(make);
    for l in &labels {
        runner.add_label(l);
    }
    for record in records {
        let (line, conditions) = match &record {
            Record::Statement { loc, conditions, .. } | Record::Query { loc, conditions, .. } => {
                (Some(loc.line()), conditions.clone())
            }
            Record::Halt { .. } => break,
            _ => (None, vec![]),
        };
        let skip = skipped(&conditions, &labels);
        let result = runner.run_async(record).await;
        if let Some(line) = line {
            let r = match result {
                _ if skip => RecordResult::Skip,
                Ok(_) => RecordResult::Pass,
                Err(e) => RecordResult::Fail(e.display(false).to_string()),
            };
            run.records.push((line, r));
        } else if let Err(e) = result {
            run.records.push((0, RecordResult::Fail(e.display(false).to_string())));
        }
    }
    runner.shutdown_async().await;
    run
}
