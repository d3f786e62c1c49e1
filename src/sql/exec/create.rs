//! CREATE SEQUENCE and CREATE TABLE AS.
//!
//! Sequences follow PostgreSQL's defaults: an ascending sequence runs from MINVALUE 1 to the
//! maximum of its type (bigint unless `AS smallint|integer`), a descending one from -1 down to the
//! type's minimum, and START defaults to MINVALUE (ascending) or MAXVALUE (descending); the state
//! lives in a raw, non-transactional key ([`crate::sql::catalog::nextval`]). CREATE TABLE AS
//! creates a table with the query's column names (or the given list) and types, without
//! constraints, and fills it; its tag is `SELECT n`, as in PostgreSQL.

use super::Runner;
use crate::error::{Error, ErrorKind, Result};
use crate::sql::catalog::{self, ColumnDef, Object, SequenceDef, TableDef};
use crate::sql::engine::QueryResult;
use crate::sql::plan::bind::Binder;
use crate::sql::plan::scope::Scope;
use crate::sql::types::{DataType, Value};
use sqlparser::ast;

fn invalid(message: String) -> Error {
    Error::new(ErrorKind::InvalidParameterValue, message)
}

impl Runner<'_, '_> {
    fn sequence_number(&mut self, e: &ast::Expr) -> Result<i64> {
        let mut b = Binder::new(&self.catalog, &[], self.fmt.clone());
        let (x, t) = b.expr(e, &Scope::default())?;
        let x = b.coerce_assign(x, &t, &DataType::Int8, "sequence option")?;
        match self.eval(&x, &[])? {
            Value::Int8(v) => Ok(v),
            _ => Err(invalid("sequence options must be integers".into())),
        }
    }

    /// CREATE SEQUENCE.
    pub fn create_sequence(
        &mut self,
        name: &ast::ObjectName,
        if_not_exists: bool,
        data_type: Option<&ast::DataType>,
        options: &[ast::SequenceOptions],
    ) -> Result<QueryResult> {
        let name = name.0.last().map(|p| p.to_string().trim_matches('"').to_string()).unwrap_or_default();
        if self.name_taken(&name) {
            if if_not_exists {
                self.notice("42P07", format!("relation \"{name}\" already exists, skipping"));
                return Ok(QueryResult::command("CREATE SEQUENCE"));
            }
            return Err(Error::new(ErrorKind::DuplicateTable, format!("relation \"{name}\" already exists")));
        }
        self.catalog.require_public(crate::sql::auth::acl::CREATE)?;
        let (type_min, type_max) = match data_type.map(|t| t.to_string().to_ascii_lowercase()).as_deref() {
            None | Some("bigint") | Some("int8") => (i64::MIN, i64::MAX),
            Some("integer") | Some("int") | Some("int4") => (i32::MIN as i64, i32::MAX as i64),
            Some("smallint") | Some("int2") => (i16::MIN as i64, i16::MAX as i64),
            Some(other) => {
                return Err(invalid(format!(
                    "sequence type must be smallint, integer, or bigint, not {other}"
                )))
            }
        };
        let (mut increment, mut min, mut max, mut start, mut cycle) = (1, None, None, None, false);
        for o in options {
            match o {
                ast::SequenceOptions::IncrementBy(e, _) => increment = self.sequence_number(e)?,
                ast::SequenceOptions::MinValue(e) => {
                    min = e.as_ref().map(|e| self.sequence_number(e)).transpose()?
                }
                ast::SequenceOptions::MaxValue(e) => {
                    max = e.as_ref().map(|e| self.sequence_number(e)).transpose()?
                }
                ast::SequenceOptions::StartWith(e, _) => start = Some(self.sequence_number(e)?),
                ast::SequenceOptions::Cache(_) => {}
                // sqlparser carries `NO CYCLE` as `Cycle(true)`.
                ast::SequenceOptions::Cycle(no) => cycle = !*no,
            }
        }
        if increment == 0 {
            return Err(invalid("INCREMENT must not be zero".into()));
        }
        let min = min.unwrap_or(if increment > 0 { 1 } else { type_min });
        let max = max.unwrap_or(if increment > 0 { type_max } else { -1 });
        if min < type_min || max > type_max {
            let (what, v) = if min < type_min { ("MINVALUE", min) } else { ("MAXVALUE", max) };
            let ty = match type_max {
                m if m == i16::MAX as i64 => "smallint",
                m if m == i32::MAX as i64 => "integer",
                _ => "bigint",
            };
            return Err(invalid(format!("{what} ({v}) is out of range for sequence data type {ty}")));
        }
        if min >= max {
            return Err(invalid(format!("MINVALUE ({min}) must be less than MAXVALUE ({max})")));
        }
        let start = start.unwrap_or(if increment > 0 { min } else { max });
        if start < min {
            return Err(invalid(format!("START value ({start}) cannot be less than MINVALUE ({min})")));
        }
        if start > max {
            return Err(invalid(format!("START value ({start}) cannot be greater than MAXVALUE ({max})")));
        }
        let mgr = self.ctx.db.txn.clone();
        let seq = SequenceDef {
            oid: catalog::new_oid(&mgr)?,
            name,
            start,
            increment,
            min,
            max,
            cycle,
            owned_by: None,
            access: self.new_access(),
        };
        self.catalog.put(self.ctx.txn, Object::Sequence(seq))?;
        Ok(QueryResult::command("CREATE SEQUENCE"))
    }

    /// CREATE TABLE ... AS query (sqlparser 0.63 does not parse `WITH [NO] DATA`).
    pub fn create_table_as(&mut self, ct: &ast::CreateTable, query: &ast::Query) -> Result<QueryResult> {
        let name = ct.name.0.last().map(|p| p.to_string().trim_matches('"').to_string()).unwrap_or_default();
        if self.name_taken(&name) {
            if ct.if_not_exists {
                self.notice("42P07", format!("relation \"{name}\" already exists, skipping"));
                return Ok(QueryResult::command("CREATE TABLE AS"));
            }
            return Err(Error::new(ErrorKind::DuplicateTable, format!("relation \"{name}\" already exists")));
        }
        self.catalog.require_public(crate::sql::auth::acl::CREATE)?;
        let mut b = Binder::new(&self.catalog, &[], self.fmt.clone());
        let q = b.query(query)?;
        if ct.columns.len() > q.columns.len() {
            return Err(Error::new(ErrorKind::Syntax, "too many column names were specified"));
        }
        let mut columns: Vec<ColumnDef> = Vec::new();
        for (i, c) in q.columns.iter().enumerate() {
            let col_name = ct.columns.get(i).map(|d| d.name.value.clone()).unwrap_or_else(|| c.name.clone());
            if columns.iter().any(|x| x.name == col_name) {
                return Err(Error::new(
                    ErrorKind::DuplicateColumn,
                    format!("column \"{col_name}\" specified more than once"),
                ));
            }
            columns.push(ColumnDef {
                name: col_name,
                data_type: c.data_type.clone(),
                not_null: false,
                default: None,
                identity: None,
            });
        }
        let mgr = self.ctx.db.txn.clone();
        let table = TableDef {
            oid: catalog::new_oid(&mgr)?,
            name,
            columns,
            checks: vec![],
            foreign_keys: vec![],
            access: self.new_access(),
        };
        self.catalog.put(self.ctx.txn, Object::Table(table.clone()))?;
        let rows = self.run(&q.plan)?;
        let n = rows.len() as u64;
        for row in rows {
            self.tick()?;
            self.insert_plain_row(&table, row)?;
        }
        Ok(QueryResult { command: "SELECT".into(), rows_affected: Some(n), columns: None, rows: vec![] })
    }
}
