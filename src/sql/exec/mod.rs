//! The executor: runs bound plans ([`crate::sql::plan`]) inside the statement's transaction.
//!
//! A [`Runner`] holds what evaluation needs (the transaction through the [`ExecContext`], the
//! parameter values, the stack of enclosing rows for correlated subqueries, the work tables of
//! recursive CTEs). Plan nodes are materialized bottom-up into `Vec<Row>` at this stage; streaming
//! execution and spilling come with the planner issue. Long loops poll the cancel flag.

pub mod aggregate;
pub mod alter;
pub mod create;
pub mod ddl;
pub mod dml;
pub mod eval;
pub mod ops;
pub mod query;
pub mod rowlock;
pub mod scalar;
pub mod scan;
pub mod subquery;
pub mod window;
pub mod write;

use crate::error::Result;
use crate::sql::catalog::Catalog;
use crate::sql::context::ExecContext;
use crate::sql::types::{FormatContext, Value};
use std::collections::HashMap;

/// One row of values.
pub type Row = Vec<Value>;

/// Execution state of one statement.
pub struct Runner<'r, 'c> {
    /// The statement's context (transaction, settings, session).
    pub ctx: &'r mut ExecContext<'c>,
    /// Parameter values.
    pub params: &'r [Value],
    /// Enclosing rows of correlated subqueries (innermost last).
    pub outer: Vec<Row>,
    /// Work tables of recursive CTEs.
    pub work: HashMap<usize, Vec<Row>>,
    /// Formatting settings (text casts).
    pub fmt: FormatContext,
    /// The catalog the statement was bound against.
    pub catalog: Catalog,
    /// Rows processed, for cancel polling.
    pub ticks: u64,
    /// Keys read by scans (EXPLAIN ANALYZE's `Keys Examined`).
    pub keys: u64,
    /// Per-node figures, keyed by node address, while running under EXPLAIN ANALYZE.
    pub stats: Option<HashMap<usize, crate::sql::plan::explain::NodeStats>>,
    /// Rows the next table scan may stop after: a LIMIT pushed into it (set by the Limit node
    /// when only projections separate it from the scan, taken by the scan).
    pub scan_limit: Option<usize>,
    /// Subquery plans by address: correlated, or the rows of an uncorrelated one ([`subquery`]).
    pub subqueries: HashMap<usize, subquery::Cached>,
}

impl<'r, 'c> Runner<'r, 'c> {
    /// A runner for one statement.
    pub fn new(ctx: &'r mut ExecContext<'c>, params: &'r [Value], catalog: Catalog) -> Self {
        let fmt = ctx.settings.format_context();
        Runner {
            ctx,
            params,
            outer: Vec::new(),
            work: HashMap::new(),
            fmt,
            catalog,
            ticks: 0,
            keys: 0,
            stats: None,
            scan_limit: None,
            subqueries: HashMap::new(),
        }
    }

    /// Polls the cancel flag and statement deadline every few thousand rows.
    pub fn tick(&mut self) -> Result<()> {
        self.ticks += 1;
        if self.ticks.is_multiple_of(4096) {
            self.ctx.wait.check()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_io_faults;
