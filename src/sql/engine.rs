//! The SQL engine entry points: prepare (bind and plan, infer parameter types, describe the result)
//! and execute a prepared statement with parameter values. Transaction control, settings and
//! database-level commands are the session's; everything else comes here.
//!
//! Statements are bound at prepare (to report parameter and result types) and bound again at
//! execute against the catalog the transaction then sees, so DDL between the two is honoured.
//! Binding is depth-limited ([`crate::sql::plan::MAX_EXPR_DEPTH`], 54001) before anything clones
//! or formats the statement, so pathological left-deep expression chains never recurse unboundedly
//! here.

use crate::error::{Error, ErrorKind, Result};
use crate::sql::catalog::Catalog;
use crate::sql::context::ExecContext;
use crate::sql::exec::Runner;
use crate::sql::plan::bind::Binder;
use crate::sql::plan::OutputColumn;
use crate::sql::types::{DataType, Value};
use sqlparser::ast::Statement;
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;

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

/// Parses one statement (view definitions, stored defaults).
pub fn parse_one(sql: &str) -> Result<Statement> {
    let mut stmts = Parser::new(&PostgreSqlDialect {})
        .with_recursion_limit(64)
        .try_with_sql(sql)
        .and_then(|mut p| p.parse_statements())
        .map_err(|e| Error::new(ErrorKind::Syntax, e.to_string()))?;
    if stmts.len() != 1 {
        return Err(Error::new(ErrorKind::Syntax, "expected one statement"));
    }
    Ok(stmts.remove(0))
}

/// Parses one expression (stored DEFAULT and CHECK expressions).
pub fn parse_expr(sql: &str) -> Result<sqlparser::ast::Expr> {
    Parser::new(&PostgreSqlDialect {})
        .with_recursion_limit(64)
        .try_with_sql(sql)
        .and_then(|mut p| p.parse_expr())
        .map_err(|e| Error::new(ErrorKind::Syntax, e.to_string()))
}

pub(crate) fn columns_of(cols: &[OutputColumn]) -> Vec<Column> {
    cols.iter()
        .map(|c| Column {
            name: c.name.clone(),
            data_type: c.data_type.clone(),
            table_oid: c.table_oid,
            column_number: c.attnum,
        })
        .collect()
}

/// What binding a statement produced: its parameter types and result columns.
pub(crate) struct Described {
    pub(crate) params: Vec<DataType>,
    pub(crate) columns: Option<Vec<Column>>,
}

/// Binds `statement`, resolving parameter types (`param_hints` from the client; `Unknown` where
/// none was given) and describing its result.
pub fn prepare(ctx: &mut ExecContext, statement: &Statement, param_hints: &[DataType]) -> Result<Prepared> {
    let catalog = Catalog::load_as(ctx.txn, &ctx.auth)?;
    let d = crate::sql::exec::dml::describe(ctx, &catalog, statement, param_hints)?;
    Ok(Prepared { statement: statement.clone(), param_types: d.params, columns: d.columns })
}

/// Executes a prepared statement with parameter values.
pub fn execute(ctx: &mut ExecContext, prepared: &Prepared, params: &[Value]) -> Result<QueryResult> {
    let catalog = Catalog::load_as(ctx.txn, &ctx.auth)?;
    let mut runner = Runner::new(ctx, params, catalog);
    runner.statement(&prepared.statement, &prepared.param_types)
}

/// Binds a query statement (used by describe and execute).
pub(crate) fn bind_query(
    catalog: &Catalog,
    q: &sqlparser::ast::Query,
    params: &[DataType],
    fmt: crate::sql::types::FormatContext,
) -> Result<(crate::sql::plan::Query, Vec<DataType>)> {
    let mut b = Binder::new(catalog, params, fmt);
    let q = b.query(q)?;
    Ok((q, b.param_types()))
}

/// Drops a statement without recursing over left-deep operator chains (which the parser builds
/// without limit: `1+1+...` with 100,000 terms), so freeing it cannot overflow the stack.
pub fn drop_deep(stmt: Statement) {
    use sqlparser::ast::{Expr, SelectItem, SetExpr};
    let mut exprs: Vec<Expr> = Vec::new();
    if let Statement::Query(mut q) = stmt {
        let body = std::mem::replace(
            q.body.as_mut(),
            SetExpr::Values(sqlparser::ast::Values {
                explicit_row: false,
                value_keyword: false,
                rows: vec![],
            }),
        );
        if let SetExpr::Select(mut s) = body {
            for item in std::mem::take(&mut s.projection) {
                match item {
                    SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => exprs.push(e),
                    _ => {}
                }
            }
            exprs.extend(s.selection.take());
            exprs.extend(s.having.take());
        }
    }
    while let Some(e) = exprs.pop() {
        match e {
            Expr::BinaryOp { left, right, .. } => {
                exprs.push(*left);
                exprs.push(*right);
            }
            Expr::UnaryOp { expr, .. } | Expr::Nested(expr) => exprs.push(*expr),
            other => drop(other),
        }
    }
}
