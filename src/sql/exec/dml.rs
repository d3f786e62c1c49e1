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
        Statement::Explain { statement, .. } => {
            let params = match statement.as_ref() {
                Statement::Query(q) => bind_query(catalog, q, hints, fmt)?.1,
                _ => hints.to_vec(),
            };
            Ok(Described { params, columns: Some(vec![explain_column()]) })
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
            Statement::Explain { analyze, statement, options, .. } => {
                self.explain(statement, *analyze || explain_option(options, "analyze"), params)
            }
            Statement::Insert(ins) => self.insert(ins, params),
            Statement::Update(up) => self.update(up, params),
            Statement::Delete(del) => self.delete(del, params),
            Statement::CreateTable(ct) => match &ct.query {
                Some(q) => self.create_table_as(ct, q),
                None => self.create_table(ct),
            },
            Statement::CreateSequence { name, if_not_exists, data_type, sequence_options, .. } => {
                self.create_sequence(name, *if_not_exists, data_type.as_ref(), sequence_options)
            }
            Statement::CreateIndex(ci) => self.create_index(ci),
            Statement::AlterTable(at) => self.alter_table(at),
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

/// EXPLAIN's one result column.
fn explain_column() -> crate::sql::engine::Column {
    crate::sql::engine::Column {
        name: "QUERY PLAN".into(),
        data_type: DataType::Text,
        table_oid: 0,
        column_number: 0,
    }
}

/// Whether `EXPLAIN (name [true])` was given.
fn explain_option(options: &Option<Vec<sqlparser::ast::UtilityOption>>, name: &str) -> bool {
    options.iter().flatten().any(|o| {
        o.name.value.eq_ignore_ascii_case(name)
            && match &o.arg {
                None => true,
                Some(a) => {
                    let t = a.to_string().to_ascii_lowercase();
                    !matches!(t.as_str(), "false" | "off" | "0")
                }
            }
    })
}

impl Runner<'_, '_> {
    /// EXPLAIN [ANALYZE] of a query ([`crate::sql::plan::explain`]).
    fn explain(&mut self, s: &Statement, analyze: bool, params: &[DataType]) -> Result<QueryResult> {
        use crate::sql::plan::explain::explain;
        use crate::sql::plan::Plan;
        let Statement::Query(q) = s else {
            return Err(Error::new(ErrorKind::FeatureNotSupported, "EXPLAIN is supported for queries only"));
        };
        let start = std::time::Instant::now();
        let (q, _) = bind_query(&self.catalog, q, params, self.fmt.clone())?;
        let planning = start.elapsed();
        let lines = if analyze {
            self.stats = Some(std::collections::HashMap::new());
            let started = std::time::Instant::now();
            let r = self.run(&q.plan);
            let execution = started.elapsed();
            let stats = self.stats.take().unwrap_or_default();
            r?;
            let f = |p: &Plan| stats.get(&(p as *const Plan as usize)).copied();
            let mut lines = explain(&q.plan, Some(&f));
            lines.push(format!("Planning Time: {:.3} ms", planning.as_secs_f64() * 1000.0));
            lines.push(format!("Execution Time: {:.3} ms", execution.as_secs_f64() * 1000.0));
            lines
        } else {
            explain(&q.plan, None)
        };
        Ok(QueryResult {
            command: "EXPLAIN".into(),
            rows_affected: None,
            columns: Some(vec![explain_column()]),
            rows: lines.into_iter().map(|l| vec![crate::sql::types::Value::Text(l)]).collect(),
        })
    }
}
