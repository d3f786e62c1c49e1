//! The SQL engine entry points: prepare (bind and plan, infer parameter types, describe the result)
//! and execute a prepared statement with parameter values. Transaction control, settings and
//! database-level commands are the session's; everything else comes here.

use crate::error::{Error, ErrorKind, Result};
use crate::sql::context::ExecContext;
use crate::sql::types::{DataType, Value};
use sqlparser::ast::Statement;

/// A result column, as RowDescription describes it.
#[derive(Clone, Debug, PartialEq)]
pub struct Column {
    /// Column name (PostgreSQL's: `?column?`, `count`, the alias...).
    pub name: String,
    /// Its type.
    pub data_type: DataType,
    /// OID of the table it comes from, or 0.
    pub table_oid: u32,
    /// Its attribute number in that table, or 0.
    pub column_number: i16,
}

/// The result of one statement.
#[derive(Clone, Debug, PartialEq)]
pub struct QueryResult {
    /// Command tag word(s): `SELECT`, `INSERT`, `CREATE TABLE`, ...
    pub command: String,
    /// Row count for the tag (`INSERT 0 n`, `SELECT n`...), when the command reports one.
    pub rows_affected: Option<u64>,
    /// Result columns, when the statement returns rows (even zero rows).
    pub columns: Option<Vec<Column>>,
    /// The rows.
    pub rows: Vec<Vec<Value>>,
}

impl QueryResult {
    /// A result with only a tag.
    pub fn command(command: &str) -> Self {
        QueryResult { command: command.to_string(), rows_affected: None, columns: None, rows: vec![] }
    }

    /// The CommandComplete tag as PostgreSQL writes it.
    pub fn tag(&self) -> String {
        match (self.command.as_str(), self.rows_affected) {
            ("INSERT", Some(n)) => format!("INSERT 0 {n}"),
            (c, Some(n)) => format!("{c} {n}"),
            (c, None) => c.to_string(),
        }
    }
}

/// A statement bound and ready to execute.
#[derive(Clone, Debug)]
pub struct Prepared {
    /// The parsed statement.
    pub statement: Statement,
    /// Resolved parameter types ($1 is index 0); never `Unknown` after prepare.
    pub param_types: Vec<DataType>,
    /// Result columns, or `None` for statements that return no rows.
    pub columns: Option<Vec<Column>>,
}

/// Binds `statement`, resolving parameter types (`param_hints` from the client; `Unknown` where
/// none was given) and describing its result.
pub fn prepare(_ctx: &mut ExecContext, statement: &Statement, param_hints: &[DataType]) -> Result<Prepared> {
    Ok(Prepared { statement: statement.clone(), param_types: param_hints.to_vec(), columns: None })
}

/// Executes a prepared statement with parameter values.
pub fn execute(_ctx: &mut ExecContext, prepared: &Prepared, _params: &[Value]) -> Result<QueryResult> {
    Err(Error::new(
        ErrorKind::FeatureNotSupported,
        format!("statement not supported yet: {}", prepared.statement),
    ))
}
