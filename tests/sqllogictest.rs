//! Runs every `.slt` file in `sql-tests/` twice: embedded (a [`Session`] in this process) and over
//! the wire (an in-process server on a free port, via tokio-postgres' simple query protocol). One
//! trial per file and mode; each file gets a fresh database. The runner's label is `ssidb`, so
//! `onlyif ssidb` / `skipif ssidb` records can hold engine-specific expectations.
//!
//! Errors display as their message; `statement error (23505)` matches a SQLSTATE.

use libtest_mimic::{Arguments, Failed, Trial};
use sqllogictest::{DBOutput, DefaultColumnType};
use ssidb::sql::cluster::Cluster;
use ssidb::sql::session::{Session, STACK_SIZE};
use ssidb::sql::types::DataType;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

mod common;

#[derive(Debug)]
struct SltError {
    message: String,
    sqlstate: String,
}

impl std::fmt::Display for SltError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.message)
    }
}

impl std::error::Error for SltError {}

fn render(v: Option<String>) -> String {
    match v {
        None => "NULL".into(),
        Some(s) if s.is_empty() => "(empty)".into(),
        Some(s) => s,
    }
}

fn column_type(t: &DataType) -> DefaultColumnType {
    match t {
        DataType::Int2 | DataType::Int4 | DataType::Int8 | DataType::Oid => DefaultColumnType::Integer,
        DataType::Float4 | DataType::Float8 | DataType::Numeric(_) => DefaultColumnType::FloatingPoint,
        _ => DefaultColumnType::Text,
    }
}

struct Embedded {
    session: Session,
}

impl sqllogictest::DB for Embedded {
    type Error = SltError;
    type ColumnType = DefaultColumnType;

    fn run(&mut self, sql: &str) -> Result<DBOutput<DefaultColumnType>, SltError> {
        let (mut outputs, error) = self.session.execute_simple(sql);
        if let Some(e) = error {
            return Err(SltError { message: e.message.clone(), sqlstate: e.sqlstate().to_string() });
        }
        let fmt = self.session.format_context();
        let Some(last) = outputs.pop() else { return Ok(DBOutput::StatementComplete(0)) };
        match last.result.columns {
            Some(cols) => Ok(DBOutput::Rows {
                types: cols.iter().map(|c| column_type(&c.data_type)).collect(),
                rows: last
                    .result
                    .rows
                    .iter()
                    .map(|r| r.iter().map(|v| render(v.to_text(&fmt))).collect())
                    .collect(),
            }),
            None => Ok(DBOutput::StatementComplete(last.result.rows_affected.unwrap_or(0))),
        }
    }

    fn error_sql_state(err: &SltError) -> Option<String> {
        Some(err.sqlstate.clone())
    }

    fn engine_name(&self) -> &str {
        "ssidb"
    }
}

struct Wire {
    client: tokio_postgres::Client,
}

#[async_trait::async_trait]
impl sqllogictest::AsyncDB for Wire {
    type Error = SltError;
    type ColumnType = DefaultColumnType;

    async fn run(&mut self, sql: &str) -> Result<DBOutput<DefaultColumnType>, SltError> {
        use tokio_postgres::SimpleQueryMessage as M;
        let msgs = self.client.simple_query(sql).await.map_err(|e| match e.as_db_error() {
            Some(db) => {
                SltError { message: db.message().to_string(), sqlstate: db.code().code().to_string() }
            }
            None => SltError { message: e.to_string(), sqlstate: "08006".into() },
        })?;
        // The last statement's result decides, as in the embedded mode.
        let mut rows: Vec<Vec<String>> = Vec::new();
        let mut ncols: Option<usize> = None;
        let mut result = DBOutput::StatementComplete(0);
        for m in msgs {
            match m {
                M::RowDescription(cols) => {
                    ncols = Some(cols.len());
                    rows.clear();
                }
                M::Row(r) => rows.push((0..r.len()).map(|i| render(r.get(i).map(str::to_string))).collect()),
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

    fn error_sql_state(err: &SltError) -> Option<String> {
        Some(err.sqlstate.clone())
    }

    fn engine_name(&self) -> &str {
        "ssidb"
    }

    async fn shutdown(&mut self) {}
}

static DB_COUNTER: AtomicUsize = AtomicUsize::new(0);

fn run_embedded(path: &Path) -> Result<(), Failed> {
    let path = path.to_path_buf();
    let t = std::thread::Builder::new().stack_size(STACK_SIZE).spawn(move || -> Result<(), String> {
        let cluster = Cluster::new_in_memory().map_err(|e| e.to_string())?;
        let mut runner = sqllogictest::Runner::new(|| {
            let cluster = cluster.clone();
            async move {
                Ok(Embedded {
                    session: Session::new(cluster, "postgres", "postgres")
                        .map_err(|e| SltError { message: e.message, sqlstate: "XX000".into() })?,
                })
            }
        });
        runner.add_label("ssidb");
        runner.run_file(&path).map_err(|e| e.display(true).to_string())
    });
    match t {
        Ok(h) => h.join().map_err(|_| Failed::from("test thread panicked"))?.map_err(Failed::from),
        Err(e) => Err(Failed::from(e.to_string())),
    }
}

fn run_wire(path: &Path) -> Result<(), Failed> {
    let port = common::server_port();
    let db = format!("slt_{}", DB_COUNTER.fetch_add(1, Ordering::SeqCst));
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
    rt.block_on(async {
        let connect = |dbname: String| async move {
            let conf = format!("host=127.0.0.1 port={port} user=postgres dbname={dbname}");
            let (client, conn) =
                tokio_postgres::connect(&conf, tokio_postgres::NoTls).await.map_err(|e| e.to_string())?;
            tokio::spawn(conn);
            Ok::<_, String>(client)
        };
        let admin = connect("postgres".into()).await?;
        admin.simple_query(&format!("CREATE DATABASE {db}")).await.map_err(|e| e.to_string())?;
        let mut runner = sqllogictest::Runner::new(|| {
            let db = db.clone();
            async move {
                Ok(Wire {
                    client: connect(db)
                        .await
                        .map_err(|e| SltError { message: e, sqlstate: "08006".into() })?,
                })
            }
        });
        runner.add_label("ssidb");
        let r = runner.run_file_async(path).await.map_err(|e| e.display(true).to_string());
        drop(runner);
        let _ = admin.simple_query(&format!("DROP DATABASE {db} WITH (FORCE)")).await;
        r
    })
    .map_err(Failed::from)
}

fn slt_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                files.extend(slt_files(&p));
            } else if p.extension().is_some_and(|x| x == "slt") {
                files.push(p);
            }
        }
    }
    files.sort();
    files
}

fn main() {
    let args = Arguments::from_args();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("sql-tests");
    let mut trials = Vec::new();
    for file in slt_files(&root) {
        let name = file.strip_prefix(&root).unwrap_or(&file).display().to_string();
        let f = Arc::new(file);
        let f2 = f.clone();
        trials.push(Trial::test(format!("embedded::{name}"), move || run_embedded(&f)));
        trials.push(Trial::test(format!("wire::{name}"), move || run_wire(&f2)));
    }
    libtest_mimic::run(&args, trials).exit();
}
