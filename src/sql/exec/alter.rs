//! ALTER TABLE: RENAME TO, RENAME COLUMN, ADD COLUMN, DROP COLUMN, ADD CONSTRAINT (CHECK,
//! UNIQUE, PRIMARY KEY).
//!
//! Rows are stored as positional value lists ([`crate::sql::catalog::rowcodec`]), and a row shorter
//! than its table decodes with NULLs at the end, so ADD COLUMN without a default only changes the
//! catalog; with a non-NULL default every row is rewritten once (PostgreSQL evaluates the default
//! once per existing row too). DROP COLUMN rewrites every row without the value and renumbers the
//! column positions of indexes, foreign keys and owned sequences; as in PostgreSQL, indexes and
//! CHECK constraints using the column are dropped with it, while a foreign key of another table
//! referencing it is 2BP01. Stored expressions (CHECK, DEFAULT) are SQL text: RENAME COLUMN rewrites
//! the identifier tokens that name the column.
//!
//! Left out: ALTER COLUMN TYPE / SET DEFAULT / SET NOT NULL, ADD FOREIGN KEY, column constraints
//! in ADD COLUMN other than NOT NULL / DEFAULT (0A000 names them).

use super::Runner;
use crate::error::{Error, ErrorKind, Result};
use crate::sql::catalog::keys::{Key, KeyPrefix};
use crate::sql::catalog::{self, rowcodec, CheckDef, ColumnDef, IndexDef, Object, TableDef};
use crate::sql::engine::QueryResult;
use crate::sql::plan::bind::Binder;
use crate::sql::plan::LockMode;
use crate::sql::types::{names, Value};
use sqlparser::ast;
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::tokenizer::{Token, Tokenizer, Word};

fn unsupported(what: &str) -> Error {
    Error::new(ErrorKind::FeatureNotSupported, format!("ALTER TABLE {what} is not supported"))
}

/// Whether SQL text mentions `name` as an identifier.
fn mentions(sql: &str, name: &str) -> bool {
    Tokenizer::new(&PostgreSqlDialect {}, sql)
        .tokenize()
        .map_or(true, |tokens| tokens.iter().any(|t| matches!(t, Token::Word(w) if ident_matches(w, name))))
}

fn ident_matches(w: &Word, name: &str) -> bool {
    match w.quote_style {
        None => w.value.to_lowercase() == name,
        Some(_) => w.value == name,
    }
}

/// SQL text with the identifier `old` renamed to `new` (quoted).
fn rename_ident(sql: &str, old: &str, new: &str) -> String {
    match Tokenizer::new(&PostgreSqlDialect {}, sql).tokenize() {
        Err(_) => sql.to_string(),
        Ok(tokens) => tokens
            .into_iter()
            .map(|t| match &t {
                Token::Word(w) if ident_matches(w, old) => {
                    format!("\"{}\"", new.replace('"', "\"\""))
                }
                _ => t.to_string(),
            })
            .collect(),
    }
}

impl Runner<'_, '_> {
    /// ALTER TABLE.
    pub fn alter_table(&mut self, at: &ast::AlterTable) -> Result<QueryResult> {
        let name = at.name.0.last().map(|p| p.to_string().trim_matches('"').to_string()).unwrap_or_default();
        let Some(table) = self.catalog.table(&name).cloned() else {
            if at.if_exists {
                self.notice("00000", format!("relation \"{name}\" does not exist, skipping"));
                return Ok(QueryResult::command("ALTER TABLE"));
            }
            return Err(Error::new(ErrorKind::UndefinedTable, format!("relation \"{name}\" does not exist")));
        };
        self.catalog.require_owner(&Object::Table(table.clone()))?;
        let mut table = table;
        for op in &at.operations {
            table = self.alter_one(table, op)?;
        }
        Ok(QueryResult::command("ALTER TABLE"))
    }

    /// ALTER TABLE ... OWNER TO: the table, its indexes and its owned sequences change owner; the
    /// ACL's entries for the old owner move to the new one. A non-superuser may only give a table
    /// to itself (role membership is not modelled).
    fn owner_to(&mut self, mut table: TableDef, owner: &ast::Owner) -> Result<TableDef> {
        let auth = self.catalog.auth.clone();
        let new = match owner {
            ast::Owner::Ident(i) => auth.roles.by_name(&i.value).map(|r| r.oid).ok_or_else(|| {
                Error::new(ErrorKind::UndefinedObject, format!("role \"{}\" does not exist", i.value))
            })?,
            ast::Owner::CurrentRole | ast::Owner::CurrentUser => auth.current,
            ast::Owner::SessionUser => auth.session,
        };
        if new != auth.current && !auth.superuser() {
            let name = auth.roles.name(new).unwrap_or_default();
            return Err(Error::new(
                ErrorKind::InsufficientPrivilege,
                format!("must be member of role \"{name}\""),
            ));
        }
        let old = table.access.owner;
        let moved = |a: &mut crate::sql::auth::acl::Access| {
            a.owner = new;
            if let Some(acl) = a.acl.as_mut() {
                crate::sql::auth::acl::change_owner(acl, old, new);
            }
        };
        moved(&mut table.access);
        let sequences: Vec<_> = self
            .catalog
            .objects
            .iter()
            .filter_map(|o| match o {
                Object::Sequence(s) if s.owned_by.map(|(t, _)| t) == Some(table.oid) => Some(s.clone()),
                _ => None,
            })
            .collect();
        for mut s in sequences {
            moved(&mut s.access);
            self.catalog.put(self.ctx.txn, Object::Sequence(s))?;
        }
        self.catalog.put(self.ctx.txn, Object::Table(table.clone()))?;
        Ok(table)
    }

    fn alter_one(&mut self, mut table: TableDef, op: &ast::AlterTableOperation) -> Result<TableDef> {
        use ast::AlterTableOperation as Op;
        match op {
            Op::RenameTable { table_name } => {
                let new = match table_name {
                    ast::RenameTableNameKind::To(n) | ast::RenameTableNameKind::As(n) => n,
                };
                let new =
                    new.0.last().map(|p| p.to_string().trim_matches('"').to_string()).unwrap_or_default();
                if self.name_taken(&new) {
                    return Err(Error::new(
                        ErrorKind::DuplicateTable,
                        format!("relation \"{new}\" already exists"),
                    ));
                }
                table.name = new;
            }
            Op::RenameColumn { old_column_name, new_column_name } => {
                let (old, new) = (old_column_name.value.clone(), new_column_name.value.clone());
                let Some(i) = table.column_index(&old) else {
                    return Err(Error::new(
                        ErrorKind::UndefinedColumn,
                        format!("column \"{old}\" does not exist"),
                    ));
                };
                if table.column_index(&new).is_some() {
                    return Err(Error::new(
                        ErrorKind::DuplicateColumn,
                        format!("column \"{new}\" of relation \"{}\" already exists", table.name),
                    ));
                }
                table.columns[i].name = new.clone();
                for c in &mut table.checks {
                    c.expr = rename_ident(&c.expr, &old, &new);
                }
            }
            Op::AddColumn { if_not_exists, column_def, .. } => {
                return self.add_column(table, *if_not_exists, column_def)
            }
            Op::DropColumn { column_names, if_exists, drop_behavior, .. } => {
                for c in column_names {
                    let cascade = matches!(drop_behavior, Some(ast::DropBehavior::Cascade));
                    table = self.drop_column(table, &c.value, *if_exists, cascade)?;
                }
                return Ok(table);
            }
            Op::AddConstraint { constraint, .. } => return self.add_constraint(table, constraint),
            Op::OwnerTo { new_owner } => return self.owner_to(table, new_owner),
            other => {
                let text = other.to_string();
                let words: Vec<&str> = text.split_whitespace().take(2).collect();
                return Err(unsupported(&words.join(" ")));
            }
        }
        self.catalog.put(self.ctx.txn, Object::Table(table.clone()))?;
        Ok(table)
    }

    fn add_column(
        &mut self,
        mut table: TableDef,
        if_not_exists: bool,
        c: &ast::ColumnDef,
    ) -> Result<TableDef> {
        let cname = c.name.value.clone();
        if table.column_index(&cname).is_some() {
            if if_not_exists {
                self.notice(
                    "42701",
                    format!("column \"{cname}\" of relation \"{}\" already exists, skipping", table.name),
                );
                return Ok(table);
            }
            return Err(Error::new(
                ErrorKind::DuplicateColumn,
                format!("column \"{cname}\" of relation \"{}\" already exists", table.name),
            ));
        }
        let mut col = ColumnDef {
            name: cname,
            data_type: names::from_ast(&c.data_type)?,
            not_null: false,
            default: None,
            identity: None,
        };
        for o in &c.options {
            match &o.option {
                ast::ColumnOption::NotNull => col.not_null = true,
                ast::ColumnOption::Null => {}
                ast::ColumnOption::Default(e) => col.default = Some(e.to_string()),
                _ => return Err(unsupported("ADD COLUMN with this constraint")),
            }
        }
        let position = table.columns.len();
        table.columns.push(col.clone());
        let catalog = self.catalog.clone();
        let fill = self.default_for(&catalog, &table, position)?;
        let rows = self.scan_table(&table)?;
        if col.not_null && fill.is_null() && !rows.is_empty() {
            return Err(Error::new(
                ErrorKind::NotNullViolation,
                format!("column \"{}\" of relation \"{}\" contains null values", col.name, table.name),
            ));
        }
        if !fill.is_null() {
            for (rowid, mut row) in rows {
                self.tick()?;
                row[position] = fill.clone();
                self.rewrite_row(&table, rowid, &row)?;
            }
        }
        self.catalog.put(self.ctx.txn, Object::Table(table.clone()))?;
        Ok(table)
    }

    fn default_for(&mut self, catalog: &catalog::Catalog, table: &TableDef, col: usize) -> Result<Value> {
        let c = &table.columns[col];
        match &c.default {
            None => Ok(Value::Null),
            Some(text) => {
                let e = crate::sql::engine::parse_expr(text)?;
                let mut b = Binder::new(catalog, &[], self.fmt.clone());
                let (x, t) = b.expr(&e, &Default::default())?;
                let x = b.coerce_assign(x, &t, &c.data_type, &c.name)?;
                self.eval(&x, &[])
            }
        }
    }

    fn rewrite_row(&mut self, table: &TableDef, rowid: u64, row: &[Value]) -> Result<()> {
        let key = Key::Row(table.oid, rowid).encode();
        self.ctx.txn.write_locked(key, Some(rowcodec::encode_row(row)), LockMode::Update)
    }

    fn drop_column(
        &mut self,
        mut table: TableDef,
        name: &str,
        if_exists: bool,
        cascade: bool,
    ) -> Result<TableDef> {
        let Some(p) = table.column_index(name) else {
            if if_exists {
                self.notice(
                    "00000",
                    format!("column \"{name}\" of relation \"{}\" does not exist, skipping", table.name),
                );
                return Ok(table);
            }
            return Err(Error::new(
                ErrorKind::UndefinedColumn,
                format!("column \"{name}\" of relation \"{}\" does not exist", table.name),
            ));
        };
        for (child, fk) in self.catalog.referencing(table.oid) {
            if child.oid != table.oid && fk.ref_columns.contains(&p) && !cascade {
                return Err(Error::new(
                    ErrorKind::DependentObjectsStillExist,
                    format!(
                        "cannot drop column {name} of table {} because other objects depend on it",
                        table.name
                    ),
                )
                .with_detail(format!(
                    "constraint {} on table {} depends on column {name} of table {}",
                    fk.name, child.name, table.name
                ))
                .with_hint("Use DROP ... CASCADE to drop the dependent objects too."));
            }
        }
        // Rows lose the value.
        let width = table.columns.len();
        for (rowid, mut row) in self.scan_table(&table)? {
            self.tick()?;
            row.truncate(width);
            row.remove(p);
            self.rewrite_row(&table, rowid, &row)?;
        }
        // Indexes on it go; the others are renumbered.
        let shift = |c: usize| if c > p { c - 1 } else { c };
        for mut ix in self.catalog.indexes_of(table.oid) {
            if ix.columns.contains(&p) {
                self.drop_index_entries(&ix)?;
                self.catalog.remove(self.ctx.txn, ix.oid)?;
            } else {
                ix.columns = ix.columns.iter().map(|&c| shift(c)).collect();
                self.catalog.put(self.ctx.txn, Object::Index(ix))?;
            }
        }
        table.columns.remove(p);
        table.checks.retain(|c: &CheckDef| !mentions(&c.expr, name));
        table.foreign_keys.retain(|f| !f.columns.contains(&p));
        for f in &mut table.foreign_keys {
            f.columns = f.columns.iter().map(|&c| shift(c)).collect();
            if f.ref_table == table.oid {
                f.ref_columns = f.ref_columns.iter().map(|&c| shift(c)).collect();
            }
        }
        self.catalog.put(self.ctx.txn, Object::Table(table.clone()))?;
        // Foreign keys of other tables referencing later columns are renumbered (CASCADE drops
        // those referencing this one).
        for (child, _) in self.catalog.referencing(table.oid) {
            if child.oid == table.oid {
                continue;
            }
            let mut child = self.catalog.table_by_oid(child.oid).cloned().unwrap_or(child);
            child.foreign_keys.retain(|f| f.ref_table != table.oid || !f.ref_columns.contains(&p));
            for f in child.foreign_keys.iter_mut().filter(|f| f.ref_table == table.oid) {
                f.ref_columns = f.ref_columns.iter().map(|&c| shift(c)).collect();
            }
            self.catalog.put(self.ctx.txn, Object::Table(child))?;
        }
        let owned: Vec<_> = self
            .catalog
            .objects
            .iter()
            .filter_map(|o| match o {
                Object::Sequence(s) if s.owned_by.is_some_and(|(t, _)| t == table.oid) => Some(s.clone()),
                _ => None,
            })
            .collect();
        for mut s in owned {
            if let Some((t, c)) = s.owned_by {
                if c == p {
                    self.catalog.remove(self.ctx.txn, s.oid)?;
                    continue;
                }
                s.owned_by = Some((t, shift(c)));
                self.catalog.put(self.ctx.txn, Object::Sequence(s))?;
            }
        }
        Ok(table)
    }

    fn drop_index_entries(&mut self, ix: &IndexDef) -> Result<()> {
        let prefix = KeyPrefix::Index(ix.oid).encode();
        self.ctx.txn.move_predicate_locks(&prefix, &KeyPrefix::Rows(ix.table).encode());
        let keys: Vec<Vec<u8>> = self
            .ctx
            .txn
            .scan_prefix(&prefix, crate::storage::Direction::Forward)?
            .map(|r| r.map(|(k, _)| k))
            .collect::<Result<_>>()?;
        for k in keys {
            self.ctx.txn.write_locked(k, None, LockMode::Update)?;
        }
        Ok(())
    }

    fn add_constraint(&mut self, mut table: TableDef, c: &ast::TableConstraint) -> Result<TableDef> {
        let cols = |names: Vec<String>, table: &TableDef| -> Result<Vec<usize>> {
            names
                .iter()
                .map(|n| {
                    table.column_index(n).ok_or_else(|| {
                        Error::new(
                            ErrorKind::UndefinedColumn,
                            format!("column \"{n}\" named in key does not exist"),
                        )
                    })
                })
                .collect()
        };
        match c {
            ast::TableConstraint::Check(ch) => {
                let cname = ch
                    .name
                    .as_ref()
                    .map(|n| n.value.clone())
                    .unwrap_or_else(|| self.constraint_name(&table, &ch.expr.to_string(), "check"));
                let check = CheckDef { name: cname.clone(), expr: ch.expr.to_string() };
                let scope = Binder::table_scope(&table, &table.name);
                let catalog = self.catalog.clone();
                let mut b = Binder::new(&catalog, &[], self.fmt.clone());
                let p = b.predicate(&ch.expr, &scope, "CHECK")?;
                for (_, row) in self.scan_table(&table)? {
                    self.tick()?;
                    if matches!(self.eval(&p, &row)?, Value::Bool(false)) {
                        return Err(Error::new(
                            ErrorKind::CheckViolation,
                            format!(
                                "check constraint \"{cname}\" of relation \"{}\" is violated by some row",
                                table.name
                            ),
                        ));
                    }
                }
                table.checks.push(check);
                self.catalog.put(self.ctx.txn, Object::Table(table.clone()))?;
                Ok(table)
            }
            ast::TableConstraint::PrimaryKey(pk) => {
                if self.catalog.indexes_of(table.oid).iter().any(|i| i.primary) {
                    return Err(Error::new(
                        ErrorKind::InvalidTableDefinition,
                        format!("multiple primary keys for table \"{}\" are not allowed", table.name),
                    ));
                }
                let names: Vec<String> = pk
                    .columns
                    .iter()
                    .map(|c| c.column.expr.to_string().trim_matches('"').to_string())
                    .collect();
                let columns = cols(names, &table)?;
                for (_, row) in self.scan_table(&table)? {
                    if let Some(&c) = columns.iter().find(|&&c| row[c].is_null()) {
                        return Err(Error::new(
                            ErrorKind::NotNullViolation,
                            format!(
                                "column \"{}\" of relation \"{}\" contains null values",
                                table.columns[c].name, table.name
                            ),
                        ));
                    }
                }
                for &c in &columns {
                    table.columns[c].not_null = true;
                }
                self.catalog.put(self.ctx.txn, Object::Table(table.clone()))?;
                let name =
                    pk.name.as_ref().map(|n| n.value.clone()).unwrap_or(format!("{}_pkey", table.name));
                self.add_unique_index(&table, name, columns, true)?;
                Ok(table)
            }
            ast::TableConstraint::Unique(u) => {
                let names: Vec<String> = u
                    .columns
                    .iter()
                    .map(|c| c.column.expr.to_string().trim_matches('"').to_string())
                    .collect();
                let columns = cols(names.clone(), &table)?;
                let name = u
                    .name
                    .as_ref()
                    .map(|n| n.value.clone())
                    .unwrap_or_else(|| format!("{}_{}_key", table.name, names.join("_")));
                self.add_unique_index(&table, name, columns, false)?;
                Ok(table)
            }
            _ => Err(unsupported("ADD CONSTRAINT of this kind")),
        }
    }

    /// PostgreSQL's generated name of a CHECK constraint: `<table>_<first column>_check`, or
    /// `<table>_check` when it names no column.
    fn constraint_name(&self, table: &TableDef, expr: &str, suffix: &str) -> String {
        let col = table.columns.iter().find(|c| mentions(expr, &c.name)).map(|c| format!("_{}", c.name));
        let base = format!("{}{}_{suffix}", table.name, col.unwrap_or_default());
        let mut name = base.clone();
        let mut k = 1;
        while table.checks.iter().any(|c| c.name == name) {
            name = format!("{base}{k}");
            k += 1;
        }
        name
    }

    fn add_unique_index(
        &mut self,
        table: &TableDef,
        name: String,
        columns: Vec<usize>,
        primary: bool,
    ) -> Result<()> {
        if self.name_taken(&name) {
            return Err(Error::new(ErrorKind::DuplicateTable, format!("relation \"{name}\" already exists")));
        }
        let index = IndexDef {
            oid: catalog::new_oid(&self.ctx.db.txn)?,
            name,
            table: table.oid,
            columns,
            unique: true,
            primary,
            constraint: true,
        };
        for (rowid, row) in self.scan_table(table)? {
            self.tick()?;
            self.index_insert(table, &index, &row, rowid).map_err(|e| {
                if e.kind == ErrorKind::UniqueViolation {
                    let detail =
                        e.detail.clone().unwrap_or_default().replace("already exists", "is duplicated");
                    Error::new(
                        ErrorKind::UniqueViolation,
                        format!("could not create unique index \"{}\"", index.name),
                    )
                    .with_detail(detail)
                } else {
                    e
                }
            })?;
        }
        self.catalog.put(self.ctx.txn, Object::Index(index))?;
        Ok(())
    }
}
