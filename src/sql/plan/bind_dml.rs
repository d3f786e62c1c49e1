//! Binding the pieces of INSERT, UPDATE and DELETE: target tables, column lists, source rows,
//! SET assignments and RETURNING lists. The executor ([`crate::sql::exec::dml`]) applies them.

use super::bind::Binder;
use super::bind_expr::column_name;
use super::scope::{Scope, ScopeColumn};
use super::{Expr, OutputColumn};
use crate::error::{Error, ErrorKind, Result};
use crate::sql::catalog::TableDef;
use sqlparser::ast;

impl Binder<'_> {
    /// The target table of a DML statement.
    pub fn target_table(&self, name: &ast::ObjectName) -> Result<TableDef> {
        let n = name.0.last().map(|p| p.to_string().trim_matches('"').to_string()).unwrap_or_default();
        match self.catalog.by_name(&n) {
            Some(crate::sql::catalog::Object::Table(t)) => Ok(t.clone()),
            Some(_) => Err(Error::new(ErrorKind::WrongObjectType, format!("\"{n}\" is not a table"))),
            None => Err(Error::new(ErrorKind::UndefinedTable, format!("relation \"{n}\" does not exist"))),
        }
    }

    /// The scope of a table's columns under `qualifier`.
    pub fn table_scope(table: &TableDef, qualifier: &str) -> Scope {
        Scope {
            columns: table
                .columns
                .iter()
                .enumerate()
                .map(|(i, c)| ScopeColumn {
                    qualifier: Some(qualifier.to_string()),
                    name: c.name.clone(),
                    data_type: c.data_type.clone(),
                    table_oid: table.oid,
                    attnum: i as i16 + 1,
                    merged: false,
                })
                .collect(),
        }
    }

    /// Binds a RETURNING list over `scope`.
    pub fn returning(
        &mut self,
        items: &[ast::SelectItem],
        scope: &Scope,
    ) -> Result<(Vec<Expr>, Vec<OutputColumn>)> {
        let mut exprs = Vec::new();
        let mut cols = Vec::new();
        for item in items {
            match item {
                ast::SelectItem::Wildcard(_) => {
                    for (i, c) in scope.columns.iter().enumerate() {
                        if c.merged {
                            continue;
                        }
                        exprs.push(Expr::Column(i));
                        cols.push(OutputColumn {
                            name: c.name.clone(),
                            data_type: c.data_type.clone(),
                            table_oid: c.table_oid,
                            attnum: c.attnum,
                        });
                    }
                }
                ast::SelectItem::UnnamedExpr(e) | ast::SelectItem::ExprWithAlias { expr: e, .. } => {
                    let (x, t) = self.expr(e, scope)?;
                    let name = match item {
                        ast::SelectItem::ExprWithAlias { alias, .. } => alias.value.clone(),
                        _ => column_name(e),
                    };
                    let t = if t == crate::sql::types::DataType::Unknown {
                        crate::sql::types::DataType::Text
                    } else {
                        t
                    };
                    exprs.push(x);
                    cols.push(OutputColumn { name, data_type: t, table_oid: 0, attnum: 0 });
                }
                _ => {
                    return Err(Error::new(
                        ErrorKind::FeatureNotSupported,
                        "this RETURNING item is not supported",
                    ))
                }
            }
        }
        Ok((exprs, cols))
    }
}
