//! `ALTER TABLE t ADD [CONSTRAINT name] PRIMARY KEY (cols)`, the one ALTER TABLE form pgbench's
//! initialization needs (`alter table pgbench_branches add primary key (bid)`).
//!
//! Like PostgreSQL, it marks the key columns NOT NULL (23502 if a row holds a NULL there),
//! builds the unique index `<table>_pkey` over the existing rows (23505 on a duplicate) and
//! records it as the table's primary key, all in the statement's transaction. Other ALTER TABLE
//! forms are refused with 0A000 until ALTER TABLE proper lands.

use super::Runner;
use crate::error::{Error, ErrorKind, Result};
use crate::sql::catalog::{self, IndexDef, Object};
use crate::sql::engine::QueryResult;
use sqlparser::ast;

impl Runner<'_, '_> {
    /// Runs an ALTER TABLE of the supported form.
    pub fn alter_table_add_primary_key(&mut self, at: &ast::AlterTable) -> Result<QueryResult> {
        for op in &at.operations {
            match op {
                ast::AlterTableOperation::AddConstraint {
                    constraint: ast::TableConstraint::PrimaryKey(pk),
                    ..
                } => {
                    self.add_primary_key(&at.name, pk)?;
                }
                other => {
                    return Err(Error::new(
                        ErrorKind::FeatureNotSupported,
                        format!("ALTER TABLE ... {other} is not supported yet"),
                    ))
                }
            }
        }
        Ok(QueryResult::command("ALTER TABLE"))
    }

    fn add_primary_key(&mut self, name: &ast::ObjectName, pk: &ast::PrimaryKeyConstraint) -> Result<()> {
        let tname = name.to_string().replace('"', "");
        let tname = tname.strip_prefix("public.").unwrap_or(&tname).to_string();
        let mut table = self.catalog.table(&tname).cloned().ok_or_else(|| {
            Error::new(ErrorKind::UndefinedTable, format!("relation \"{tname}\" does not exist"))
        })?;
        if self.catalog.indexes_of(table.oid).iter().any(|i| i.primary) {
            return Err(Error::new(
                ErrorKind::InvalidTableDefinition,
                format!("multiple primary keys for table \"{tname}\" are not allowed"),
            ));
        }
        let mut columns = Vec::new();
        for c in &pk.columns {
            let cname = c.column.expr.to_string().trim_matches('"').to_string();
            let i = table.column_index(&cname).ok_or_else(|| {
                Error::new(
                    ErrorKind::UndefinedColumn,
                    format!("column \"{cname}\" of relation \"{tname}\" does not exist"),
                )
            })?;
            columns.push(i);
        }
        let iname = pk.name.as_ref().map(|n| n.value.clone()).unwrap_or_else(|| format!("{tname}_pkey"));
        if self.catalog.by_name(&iname).is_some() {
            return Err(Error::new(
                ErrorKind::DuplicateTable,
                format!("relation \"{iname}\" already exists"),
            ));
        }
        let index = IndexDef {
            oid: catalog::new_oid(&self.ctx.db.txn)?,
            name: iname,
            table: table.oid,
            columns: columns.clone(),
            unique: true,
            primary: true,
            constraint: true,
        };
        for (rowid, row) in self.scan_table(&table)? {
            self.tick()?;
            if let Some(&c) = columns.iter().find(|&&c| row[c].is_null()) {
                return Err(Error::new(
                    ErrorKind::NotNullViolation,
                    format!(
                        "column \"{}\" of relation \"{tname}\" contains null values",
                        table.columns[c].name
                    ),
                ));
            }
            self.index_insert(&table, &index, &row, rowid)?;
        }
        for &c in &columns {
            table.columns[c].not_null = true;
        }
        self.catalog.put(self.ctx.txn, Object::Table(table))?;
        self.catalog.put(self.ctx.txn, Object::Index(index))?;
        Ok(())
    }
}
