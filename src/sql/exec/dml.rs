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
        Statement::Insert(_) | Statement::Update(_) | Statement::Delete(_) => {
            let mut b = crate::sql::plan::bind::Binder::new(catalog, hints, fmt);
            let columns = b.describe_dml(s)?;
            Ok(Described { params: b.param_types(), columns: columns.as_deref().map(columns_of) })
        }
        _ => Ok(Described {
            params: hints
                .iter()
                .map(|t| if *t == DataType::Unknown { DataType::Text } else { t.clone() })
                .collect(),
            columns: None,
        }),
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
            Statement::Insert(ins) => self.insert(ins, params),
            Statement::Update(up) => self.update(up, params),
            Statement::Delete(del) => self.delete(del, params),
            Statement::CreateTable(ct) => self.create_table(ct),
            Statement::CreateIndex(ci) => self.create_index(ci),
            Statement::AlterTable(at) => self.alter_table_add_primary_key(at),
            Statement::Drop { object_type, if_exists, names, cascade, .. } => {
                self.drop(object_type, names, *if_exists, *cascade)
            }
            Statement::Truncate(t) => {
                let names: Vec<sqlparser::ast::ObjectName> =
                    t.table_names.iter().map(|n| n.name.clone()).collect();
                self.truncate(&names)
            }
            Statement::CreateView(cv) => {
                let cols: Vec<String> = cv.columns.iter().map(|c| c.name.value.clone()).collect();
                self.create_view(&cv.name, &cols, &cv.query, cv.or_replace)
            }
            other => Err(unsupported(other)),
        }
    }
}
