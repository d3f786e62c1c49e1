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
        if matches!(self.catalog.by_name(&n), Some(crate::sql::catalog::Object::Table(_))) {
            self.check_schema_usage(name.0.len() > 1, &name.to_string())?;
        }
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

/// Whether an expression is the keyword DEFAULT (INSERT VALUES, UPDATE SET).
pub fn is_default(e: &ast::Expr) -> bool {
    matches!(e, ast::Expr::Identifier(i) if i.quote_style.is_none() && i.value.eq_ignore_ascii_case("default"))
}

fn last_ident(n: &ast::ObjectName) -> String {
    n.0.last().map(|p| p.to_string().trim_matches('"').to_string()).unwrap_or_default()
}

impl Binder<'_> {
    /// Binds every expression of an INSERT, UPDATE or DELETE the way the executor will, without
    /// running anything, so that untyped parameters take their types from the context PostgreSQL
    /// gives them: the target column of a VALUES item or SET assignment, the other operand of a
    /// comparison in WHERE. Returns the RETURNING columns.
    pub fn describe_dml(&mut self, s: &ast::Statement) -> Result<Option<Vec<OutputColumn>>> {
        match s {
            ast::Statement::Insert(ins) => self.describe_insert(ins),
            ast::Statement::Update(up) => {
                let ast::TableFactor::Table { name, alias, .. } = &up.table.relation else {
                    return Ok(None);
                };
                let from = match &up.from {
                    Some(ast::UpdateTableFromKind::AfterSet(f))
                    | Some(ast::UpdateTableFromKind::BeforeSet(f)) => Some(f.as_slice()),
                    None => None,
                };
                let (table, scope) = self.dml_scope(name, alias, from)?;
                self.describe_assignments(&table, &up.assignments, &scope)?;
                if let Some(w) = &up.selection {
                    self.predicate(w, &scope, "WHERE")?;
                }
                self.describe_returning(up.returning.as_deref(), &scope)
            }
            ast::Statement::Delete(del) => {
                let from = match &del.from {
                    ast::FromTable::WithFromKeyword(f) | ast::FromTable::WithoutKeyword(f) => f,
                };
                let Some(ast::TableWithJoins {
                    relation: ast::TableFactor::Table { name, alias, .. }, ..
                }) = from.first()
                else {
                    return Ok(None);
                };
                let (_, scope) = self.dml_scope(name, alias, del.using.as_deref())?;
                if let Some(w) = &del.selection {
                    self.predicate(w, &scope, "WHERE")?;
                }
                self.describe_returning(del.returning.as_deref(), &scope)
            }
            _ => Ok(None),
        }
    }

    /// The target table and the scope of UPDATE/DELETE: the target (under its alias) followed by
    /// the FROM / USING items.
    fn dml_scope(
        &mut self,
        name: &ast::ObjectName,
        alias: &Option<ast::TableAlias>,
        from: Option<&[ast::TableWithJoins]>,
    ) -> Result<(TableDef, Scope)> {
        let table = self.target_table(name)?;
        let qual = alias.as_ref().map(|a| a.name.value.clone()).unwrap_or_else(|| table.name.clone());
        let mut scope = Self::table_scope(&table, &qual);
        if let Some(f) = from {
            let (_, s) = self.from(f)?;
            scope.columns.extend(s.columns);
        }
        Ok((table, scope))
    }

    fn describe_assignments(
        &mut self,
        table: &TableDef,
        assignments: &[ast::Assignment],
        scope: &Scope,
    ) -> Result<()> {
        for a in assignments {
            let ast::AssignmentTarget::ColumnName(n) = &a.target else { continue };
            let Some(c) = table.column_index(&last_ident(n)) else { continue };
            if is_default(&a.value) {
                continue;
            }
            let col = &table.columns[c];
            let (x, t) = self.expr(&a.value, scope)?;
            self.coerce_assign(x, &t, &col.data_type, &col.name)?;
        }
        Ok(())
    }

    fn describe_returning(
        &mut self,
        items: Option<&[ast::SelectItem]>,
        scope: &Scope,
    ) -> Result<Option<Vec<OutputColumn>>> {
        match items {
            None => Ok(None),
            Some(items) => Ok(Some(self.returning(items, scope)?.1)),
        }
    }

    fn describe_insert(&mut self, ins: &ast::Insert) -> Result<Option<Vec<OutputColumn>>> {
        let ast::TableObject::TableName(tname) = &ins.table else { return Ok(None) };
        let table = self.target_table(tname)?;
        let targets: Vec<usize> = if ins.columns.is_empty() {
            (0..table.columns.len()).collect()
        } else {
            ins.columns.iter().filter_map(|c| table.column_index(&last_ident(c))).collect()
        };
        if let Some(q) = ins.source.as_deref() {
            match q.body.as_ref() {
                ast::SetExpr::Values(v) if q.order_by.is_none() && q.limit_clause.is_none() => {
                    for row in &v.rows {
                        for (e, &c) in row.content.iter().zip(&targets) {
                            if is_default(e) {
                                continue;
                            }
                            let col = &table.columns[c];
                            let (x, t) = self.expr(e, &Scope::default())?;
                            self.coerce_assign(x, &t, &col.data_type, &col.name)?;
                        }
                    }
                }
                _ => {
                    let q = self.insert_source(q)?;
                    for (i, (oc, &c)) in q.columns.iter().zip(&targets).enumerate() {
                        let col = &table.columns[c];
                        if let Some(p) = Self::output_param(&q.plan, i) {
                            if self.params[p] == crate::sql::types::DataType::Unknown {
                                self.params[p] = col.data_type.clone();
                                continue;
                            }
                        }
                        self.coerce_assign(Expr::Column(i), &oc.data_type, &col.data_type, &col.name)?;
                    }
                }
            }
        }
        let scope = Self::table_scope(&table, &table.name);
        if let Some(ast::OnInsert::OnConflict(oc)) = &ins.on {
            if let ast::OnConflictAction::DoUpdate(du) = &oc.action {
                let mut both = scope.clone();
                both.columns.extend(Self::table_scope(&table, "excluded").columns);
                self.describe_assignments(&table, &du.assignments, &both)?;
                if let Some(w) = &du.selection {
                    self.predicate(w, &both, "WHERE")?;
                }
            }
        }
        self.describe_returning(ins.returning.as_deref(), &scope)
    }
}
