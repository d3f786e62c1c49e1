//! The session's side of COPY: starting it inside the statement's transaction, streaming
//! CopyData into rows, and ending it (CopyDone commits an implicit transaction, CopyFail or a
//! bad record fails it like any statement error).
//!
//! Protocol (driven by `crate::server`):
//!
//! ```text
//!   Query / Execute "COPY t FROM STDIN"  -> run_utility -> start_copy: copy_in set
//!   server: CopyInResponse  <- copy_in_columns()
//!   CopyData* -> copy_data()   rows inserted as they arrive (an error is kept, the rest ignored)
//!   CopyDone  -> copy_done()   CommandComplete "COPY n" or the kept error
//!   CopyFail  -> copy_fail()   57014 "COPY from stdin failed: ..."
//! ```
//!
//! COPY TO runs the query at once and leaves the encoded lines for the server to send as
//! CopyOutResponse, CopyData..., CopyDone ([`Session::take_copy_out`]).

use super::Session;
use crate::error::{Error, ErrorKind, Result};
use crate::sql::catalog::{Catalog, TableDef};
use crate::sql::copy::{CopyIn, CopyOut, CopySource, CopyStatement};
use crate::sql::engine::{self, QueryResult};
use crate::sql::exec::Runner;
use crate::sql::types::Value;

/// A COPY FROM STDIN in progress.
pub struct CopyInState {
    input: CopyIn,
    table: TableDef,
    targets: Vec<usize>,
    /// The first error; later CopyData is ignored until CopyDone / CopyFail.
    error: Option<Error>,
    /// Started by a simple Query (so CopyDone ends its implicit transaction).
    pub(super) simple: bool,
}

/// Encoded COPY TO output: the lines to send as CopyData.
pub struct CopyOutData {
    /// Number of columns (CopyOutResponse).
    pub columns: usize,
    /// One CopyData payload per line.
    pub lines: Vec<Vec<u8>>,
}

/// The session's COPY state.
#[derive(Default)]
pub struct CopyState {
    pub(super) copy_in: Option<CopyInState>,
    pub(super) copy_out: Option<CopyOutData>,
}

fn table_name(name: &str) -> &str {
    name.strip_prefix("public.").unwrap_or(name)
}

impl Session {
    /// Starts a COPY statement (called from `run_utility`).
    pub(super) fn start_copy(&mut self, c: &CopyStatement) -> Result<QueryResult> {
        self.ensure_txn();
        let wait = self.wait_options();
        let txn = self.txn.as_mut().expect("ensure_txn started one");
        if c.from {
            if txn.read_only() {
                return Err(Error::new(
                    ErrorKind::ReadOnlySqlTransaction,
                    "cannot execute COPY FROM in a read-only transaction",
                ));
            }
            txn.acquire_writer(&wait)?;
        }
        txn.set_wait_options(wait);
        txn.begin_statement()?;
        self.snapshot_taken = true;
        let fmt = self.settings.format_context();
        let catalog = self.with_ctx(false, |ctx| Catalog::load_as(ctx.txn, &ctx.auth))?;
        let (table, targets) = match &c.source {
            CopySource::Table { name, columns } => {
                let t = catalog.table(table_name(name)).cloned().ok_or_else(|| {
                    Error::new(ErrorKind::UndefinedTable, format!("relation \"{name}\" does not exist"))
                })?;
                if c.from {
                    let obj = crate::sql::catalog::Object::Table(t.clone());
                    catalog.require(catalog.auth.current, &obj, crate::sql::auth::acl::INSERT)?;
                }
                let targets: Vec<usize> = if columns.is_empty() {
                    (0..t.columns.len()).collect()
                } else {
                    columns
                        .iter()
                        .map(|n| {
                            t.column_index(n).ok_or_else(|| {
                                Error::new(
                                    ErrorKind::UndefinedColumn,
                                    format!("column \"{n}\" of relation \"{}\" does not exist", t.name),
                                )
                            })
                        })
                        .collect::<Result<_>>()?
                };
                (Some(t), targets)
            }
            CopySource::Query(_) => (None, vec![]),
        };
        if c.from {
            let table = table.expect("COPY FROM names a table (parser)");
            let columns = targets
                .iter()
                .map(|&i| (table.columns[i].name.clone(), table.columns[i].data_type.clone()))
                .collect();
            let input = CopyIn::new(&table.name, columns, c.options.clone(), fmt);
            self.copy.copy_in = Some(CopyInState { input, table, targets, error: None, simple: false });
            return Ok(QueryResult::command("COPY"));
        }
        // COPY TO: run the query, encode the rows.
        let query = match &c.source {
            CopySource::Query(q) => sqlparser::ast::Statement::Query(q.clone()),
            CopySource::Table { .. } => {
                let t = table.as_ref().expect("a table source resolved above");
                let cols: Vec<String> =
                    targets.iter().map(|&i| crate::sql::pgcatalog::quote_ident(&t.columns[i].name)).collect();
                let sql = format!(
                    "SELECT {} FROM {}",
                    cols.join(", "),
                    crate::sql::pgcatalog::quote_ident(&t.name)
                );
                engine::parse_one(&sql)?
            }
        };
        let result = self.with_ctx(false, |ctx| {
            let p = engine::prepare(ctx, &query, &[])?;
            engine::execute(ctx, &p, &[])
        })?;
        let names: Vec<String> =
            result.columns.as_ref().map(|c| c.iter().map(|c| c.name.clone()).collect()).unwrap_or_default();
        let out = CopyOut::new(&names, c.options.clone(), fmt);
        let mut lines = Vec::with_capacity(result.rows.len() + 1);
        lines.extend(out.header(&names));
        for row in &result.rows {
            let mut line = Vec::new();
            out.row(row, &mut line);
            lines.push(line);
        }
        let n = result.rows.len() as u64;
        self.copy.copy_out = Some(CopyOutData { columns: names.len(), lines });
        Ok(QueryResult { command: "COPY".into(), rows_affected: Some(n), columns: None, rows: vec![] })
    }

    /// While a COPY FROM STDIN waits for data: its column count (CopyInResponse).
    pub fn copy_in_columns(&self) -> Option<usize> {
        self.copy.copy_in.as_ref().map(|c| c.targets.len())
    }

    /// The encoded output of the COPY TO that just ran, if any.
    pub fn take_copy_out(&mut self) -> Option<CopyOutData> {
        self.copy.copy_out.take()
    }

    /// Inserts rows of the running COPY FROM through the executor's row insert path.
    fn copy_insert(&mut self, rows: Vec<Vec<Value>>) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let Some(state) = self.copy.copy_in.as_ref() else { return Ok(()) };
        let (table, targets) = (state.table.clone(), state.targets.clone());
        self.with_ctx(true, |ctx| {
            let catalog = Catalog::load_as(ctx.txn, &ctx.auth)?;
            let mut runner = Runner::new(ctx, &[], catalog.clone());
            for vals in rows {
                runner.tick()?;
                runner.insert_values(&catalog, &table, &targets, vals)?;
            }
            Ok(())
        })
    }

    /// A chunk of CopyData (any number of bytes, not necessarily whole lines).
    pub fn copy_data(&mut self, data: &[u8]) {
        let Some(state) = self.copy.copy_in.as_mut() else { return };
        if state.error.is_some() {
            return;
        }
        let mut rows = Vec::new();
        let fed = state.input.feed(data, &mut rows);
        let inserted = self.copy_insert(rows);
        if let Some(state) = self.copy.copy_in.as_mut() {
            state.error = fed.err().or(inserted.err());
        }
    }

    /// CopyDone: the last record, then the COPY's result or its error (the transaction then
    /// fails as after any statement error).
    pub fn copy_done(&mut self) -> Result<QueryResult> {
        let Some(mut state) = self.copy.copy_in.take() else {
            return Err(Error::new(ErrorKind::ProtocolViolation, "CopyDone outside COPY"));
        };
        let mut rows = Vec::new();
        let r = match state.error.take() {
            Some(e) => Err(e),
            None => state.input.finish(&mut rows),
        };
        let simple = state.simple;
        let n = state.input.rows;
        self.copy.copy_in = Some(state);
        let r = r.and_then(|_| self.copy_insert(rows));
        self.copy.copy_in = None;
        match r {
            Ok(()) => {
                if simple {
                    self.end_implicit()?;
                }
                Ok(QueryResult {
                    command: "COPY".into(),
                    rows_affected: Some(n),
                    columns: None,
                    rows: vec![],
                })
            }
            Err(e) => {
                self.fail();
                Err(e)
            }
        }
    }

    /// CopyFail from the client, or a message COPY does not allow: the COPY fails.
    pub fn copy_fail(&mut self, e: Error) -> Error {
        self.copy.copy_in = None;
        self.fail();
        e
    }

    /// Whether the session is inside COPY FROM STDIN (the server reads CopyData).
    pub fn in_copy(&self) -> bool {
        self.copy.copy_in.is_some()
    }

    /// Marks a COPY FROM started by a simple Query (CopyDone then ends its implicit block).
    pub(super) fn copy_started_by_simple_query(&mut self) -> bool {
        match self.copy.copy_in.as_mut() {
            Some(s) => {
                s.simple = true;
                true
            }
            None => false,
        }
    }
}
