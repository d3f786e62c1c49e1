//! DDL execution: CREATE/DROP/ALTER of tables, indexes, views and sequences, TRUNCATE. Every
//! change is a catalog write in the statement's transaction.

use super::Runner;
use crate::error::{Error, ErrorKind, Result};
use crate::sql::auth::acl::{self, Access};
use crate::sql::catalog::keys::{Key, KeyPrefix};
use crate::sql::catalog::{
    self, CheckDef, ColumnDef, ForeignKeyDef, IndexDef, Object, SequenceDef, TableDef,
};
use crate::sql::context::Notice;
use crate::sql::engine::QueryResult;
use crate::sql::plan::bind::Binder;
use crate::sql::plan::LockMode;
use crate::sql::types::names;
use crate::storage::Direction;
use sqlparser::ast;

fn ident(n: &ast::ObjectName) -> String {
    n.0.last().map(|p| p.to_string().trim_matches('"').to_string()).unwrap_or_default()
}

fn index_columns(table: &TableDef, cols: &[ast::IndexColumn]) -> Result<Vec<usize>> {
    cols.iter()
        .map(|c| {
            let name = c.column.expr.to_string().trim_matches('"').to_string();
            table.column_index(&name).ok_or_else(|| {
                Error::new(
                    ErrorKind::UndefinedColumn,
                    format!("column \"{name}\" named in key does not exist"),
                )
            })
        })
        .collect()
}

/// A FOREIGN KEY clause before its columns are resolved: name, columns, referenced table and
/// columns, ON DELETE CASCADE.
type PendingFk = (Option<String>, Vec<String>, ast::ObjectName, Vec<String>, bool);

impl Runner<'_, '_> {
    pub(crate) fn notice(&mut self, code: &str, message: String) {
        self.ctx.notices.push(Notice { severity: "NOTICE".into(), code: code.into(), message });
    }

    /// Owner and ACL of an object the statement creates: owned by the current role.
    pub(crate) fn new_access(&self) -> Access {
        Access::owned_by(self.catalog.auth.current)
    }

    pub(crate) fn name_taken(&self, name: &str) -> bool {
        self.catalog.by_name(name).is_some()
    }

    /// CREATE TABLE.
    pub fn create_table(&mut self, ct: &ast::CreateTable) -> Result<QueryResult> {
        let name = ident(&ct.name);
        if self.name_taken(&name) {
            if ct.if_not_exists {
                self.notice("42P07", format!("relation \"{name}\" already exists, skipping"));
                return Ok(QueryResult::command("CREATE TABLE"));
            }
            return Err(Error::new(ErrorKind::DuplicateTable, format!("relation \"{name}\" already exists")));
        }
        if ct.query.is_some() {
            return Err(Error::new(ErrorKind::FeatureNotSupported, "CREATE TABLE AS is not supported yet"));
        }
        self.catalog.require_public(acl::CREATE)?;
        let mgr = self.ctx.db.txn.clone();
        let oid = catalog::new_oid(&mgr)?;
        let mut table = TableDef {
            oid,
            name: name.clone(),
            columns: vec![],
            checks: vec![],
            foreign_keys: vec![],
            access: self.new_access(),
        };
        let mut pk: Option<(Option<String>, Vec<String>)> = None;
        let mut uniques: Vec<(Option<String>, Vec<String>)> = vec![];
        let mut fks: Vec<PendingFk> = vec![];
        let mut checks: Vec<(Option<String>, String)> = vec![];
        let mut sequences = vec![];
        for c in &ct.columns {
            let cname = c.name.value.clone();
            if table.column_index(&cname).is_some() {
                return Err(Error::new(
                    ErrorKind::DuplicateColumn,
                    format!("column \"{cname}\" specified more than once"),
                ));
            }
            let serial = names::serial_type(&c.data_type);
            let data_type = match &serial {
                Some(t) => t.clone(),
                None => names::from_ast(&c.data_type)?,
            };
            let mut col =
                ColumnDef { name: cname.clone(), data_type, not_null: false, default: None, identity: None };
            let mut needs_seq = serial.is_some();
            for o in &c.options {
                match &o.option {
                    ast::ColumnOption::NotNull => col.not_null = true,
                    ast::ColumnOption::Null => {}
                    ast::ColumnOption::Default(e) => col.default = Some(e.to_string()),
                    ast::ColumnOption::PrimaryKey(_) => {
                        if pk.is_some() {
                            return Err(Error::new(
                                ErrorKind::InvalidTableDefinition,
                                format!("multiple primary keys for table \"{name}\" are not allowed"),
                            ));
                        }
                        pk = Some((o.name.as_ref().map(|n| n.value.clone()), vec![cname.clone()]));
                    }
                    ast::ColumnOption::Unique(_) => {
                        uniques.push((o.name.as_ref().map(|n| n.value.clone()), vec![cname.clone()]))
                    }
                    ast::ColumnOption::ForeignKey(fk) => fks.push((
                        o.name.as_ref().or(fk.name.as_ref()).map(|n| n.value.clone()),
                        vec![cname.clone()],
                        fk.foreign_table.clone(),
                        fk.referred_columns.iter().map(|i| i.value.clone()).collect(),
                        matches!(fk.on_delete, Some(ast::ReferentialAction::Cascade)),
                    )),
                    ast::ColumnOption::Check(ch) => checks.push((
                        o.name.as_ref().or(ch.name.as_ref()).map(|n| n.value.clone()),
                        ch.expr.to_string(),
                    )),
                    ast::ColumnOption::Generated { generated_as, .. } => {
                        needs_seq = true;
                        col.identity = Some(matches!(generated_as, ast::GeneratedAs::Always));
                        col.not_null = true;
                    }
                    _ => {}
                }
            }
            if needs_seq {
                let seq_name = format!("{name}_{cname}_seq");
                let max = match col.data_type {
                    crate::sql::types::DataType::Int2 => i16::MAX as i64,
                    crate::sql::types::DataType::Int4 => i32::MAX as i64,
                    _ => i64::MAX,
                };
                let seq = SequenceDef {
                    oid: catalog::new_oid(&mgr)?,
                    name: seq_name.clone(),
                    start: 1,
                    increment: 1,
                    min: 1,
                    max,
                    cycle: false,
                    owned_by: Some((oid, table.columns.len())),
                    access: self.new_access(),
                };
                col.default = Some(format!("nextval('{seq_name}')"));
                col.not_null = true;
                sequences.push(seq);
            }
            table.columns.push(col);
        }
        for tc in &ct.constraints {
            match tc {
                ast::TableConstraint::PrimaryKey(p) => {
                    if pk.is_some() {
                        return Err(Error::new(
                            ErrorKind::InvalidTableDefinition,
                            format!("multiple primary keys for table \"{name}\" are not allowed"),
                        ));
                    }
                    pk = Some((
                        p.name.as_ref().map(|n| n.value.clone()),
                        p.columns
                            .iter()
                            .map(|c| c.column.expr.to_string().trim_matches('"').to_string())
                            .collect(),
                    ));
                }
                ast::TableConstraint::Unique(u) => uniques.push((
                    u.name.as_ref().map(|n| n.value.clone()),
                    u.columns
                        .iter()
                        .map(|c| c.column.expr.to_string().trim_matches('"').to_string())
                        .collect(),
                )),
                ast::TableConstraint::ForeignKey(fk) => fks.push((
                    fk.name.as_ref().map(|n| n.value.clone()),
                    fk.columns.iter().map(|i| i.value.clone()).collect(),
                    fk.foreign_table.clone(),
                    fk.referred_columns.iter().map(|i| i.value.clone()).collect(),
                    matches!(fk.on_delete, Some(ast::ReferentialAction::Cascade)),
                )),
                ast::TableConstraint::Check(ch) => {
                    checks.push((ch.name.as_ref().map(|n| n.value.clone()), ch.expr.to_string()))
                }
                _ => {
                    return Err(Error::new(
                        ErrorKind::FeatureNotSupported,
                        "this table constraint is not supported",
                    ))
                }
            }
        }
        let col_idx = |t: &TableDef, cols: &[String]| -> Result<Vec<usize>> {
            cols.iter()
                .map(|c| {
                    t.column_index(c).ok_or_else(|| {
                        Error::new(
                            ErrorKind::UndefinedColumn,
                            format!("column \"{c}\" named in key does not exist"),
                        )
                    })
                })
                .collect()
        };
        let mut indexes = Vec::new();
        if let Some((cname, cols)) = &pk {
            let idx = col_idx(&table, cols)?;
            for i in &idx {
                table.columns[*i].not_null = true;
            }
            indexes.push(IndexDef {
                oid: catalog::new_oid(&mgr)?,
                name: cname.clone().unwrap_or(format!("{name}_pkey")),
                table: oid,
                columns: idx,
                unique: true,
                primary: true,
                constraint: true,
            });
        }
        for (cname, cols) in &uniques {
            let idx = col_idx(&table, cols)?;
            let default = format!("{name}_{}_key", cols.join("_"));
            indexes.push(IndexDef {
                oid: catalog::new_oid(&mgr)?,
                name: cname.clone().unwrap_or(default),
                table: oid,
                columns: idx,
                unique: true,
                primary: false,
                constraint: true,
            });
        }
        for (i, (cname, expr)) in checks.into_iter().enumerate() {
            let default = if i == 0 { format!("{name}_check") } else { format!("{name}_check{i}") };
            let default = match crate::sql::engine::parse_expr(&expr).ok() {
                Some(ast::Expr::BinaryOp { left, .. }) => match *left {
                    ast::Expr::Identifier(id) => format!("{name}_{}_check", id.value),
                    _ => default,
                },
                _ => default,
            };
            table.checks.push(CheckDef { name: cname.unwrap_or(default), expr });
        }
        for (cname, cols, ref_name, ref_cols, cascade) in fks {
            let rname = ident(&ref_name);
            let refd = if rname == name {
                table.clone()
            } else {
                let t = self.catalog.table(&rname).cloned().ok_or_else(|| {
                    Error::new(ErrorKind::UndefinedTable, format!("relation \"{rname}\" does not exist"))
                })?;
                self.catalog.require(
                    self.catalog.auth.current,
                    &Object::Table(t.clone()),
                    acl::REFERENCES,
                )?;
                t
            };
            let columns = col_idx(&table, &cols)?;
            let ref_columns = if ref_cols.is_empty() {
                self.catalog
                    .indexes_of(refd.oid)
                    .into_iter()
                    .chain(indexes.clone())
                    .find(|i| i.primary && i.table == refd.oid)
                    .map(|i| i.columns)
                    .ok_or_else(|| {
                        Error::new(
                            ErrorKind::UndefinedColumn,
                            format!("there is no primary key for referenced table \"{rname}\""),
                        )
                    })?
            } else {
                col_idx(&refd, &ref_cols)?
            };
            let unique_ok = self
                .catalog
                .indexes_of(refd.oid)
                .into_iter()
                .chain(indexes.clone())
                .any(|i| i.table == refd.oid && i.unique && i.columns == ref_columns);
            if !unique_ok {
                return Err(Error::new(
                    ErrorKind::InvalidForeignKey,
                    format!(
                        "there is no unique constraint matching given keys for referenced table \"{rname}\""
                    ),
                ));
            }
            let default = format!("{name}_{}_fkey", cols.join("_"));
            table.foreign_keys.push(ForeignKeyDef {
                name: cname.unwrap_or(default),
                columns,
                ref_table: refd.oid,
                ref_columns,
                on_delete_cascade: cascade,
            });
        }
        // Validate CHECK and DEFAULT expressions by binding them once.
        {
            let scope = Binder::table_scope(&table, &name);
            let mut b = Binder::new(&self.catalog, &[], self.fmt.clone());
            for c in &table.checks {
                b.predicate(&crate::sql::engine::parse_expr(&c.expr)?, &scope, "CHECK")?;
            }
        }
        for s in sequences {
            self.catalog.put(self.ctx.txn, Object::Sequence(s))?;
        }
        self.catalog.put(self.ctx.txn, Object::Table(table))?;
        for i in indexes {
            if self.name_taken(&i.name) {
                return Err(Error::new(
                    ErrorKind::DuplicateTable,
                    format!("relation \"{}\" already exists", i.name),
                ));
            }
            self.catalog.put(self.ctx.txn, Object::Index(i))?;
        }
        Ok(QueryResult::command("CREATE TABLE"))
    }

    /// CREATE \[UNIQUE\] INDEX.
    pub fn create_index(&mut self, ci: &ast::CreateIndex) -> Result<QueryResult> {
        let tname = ident(&ci.table_name);
        let table = self.catalog.table(&tname).cloned().ok_or_else(|| {
            Error::new(ErrorKind::UndefinedTable, format!("relation \"{tname}\" does not exist"))
        })?;
        if !self.catalog.auth.owns(self.catalog.auth.current, &table.access) {
            return Err(crate::sql::auth::must_be_owner("table", &tname));
        }
        let columns = index_columns(&table, &ci.columns)?;
        let name = match &ci.name {
            Some(n) => ident(n),
            None => {
                let base = format!(
                    "{tname}_{}_idx",
                    columns.iter().map(|c| table.columns[*c].name.clone()).collect::<Vec<_>>().join("_")
                );
                let mut n = base.clone();
                let mut k = 1;
                while self.name_taken(&n) {
                    n = format!("{base}{k}");
                    k += 1;
                }
                n
            }
        };
        if self.name_taken(&name) {
            if ci.if_not_exists {
                self.notice("42P07", format!("relation \"{name}\" already exists, skipping"));
                return Ok(QueryResult::command("CREATE INDEX"));
            }
            return Err(Error::new(ErrorKind::DuplicateTable, format!("relation \"{name}\" already exists")));
        }
        let index = IndexDef {
            oid: catalog::new_oid(&self.ctx.db.txn)?,
            name,
            table: table.oid,
            columns,
            unique: ci.unique,
            primary: false,
            constraint: false,
        };
        for (rowid, row) in self.scan_table(&table)? {
            self.index_insert(&table, &index, &row, rowid)?;
        }
        self.catalog.put(self.ctx.txn, Object::Index(index))?;
        Ok(QueryResult::command("CREATE INDEX"))
    }

    fn delete_prefix(&mut self, prefix: Vec<u8>) -> Result<()> {
        let keys: Vec<Vec<u8>> = self
            .ctx
            .txn
            .scan_prefix(&prefix, Direction::Forward)?
            .map(|r| r.map(|(k, _)| k))
            .collect::<Result<_>>()?;
        for k in keys {
            self.ctx.txn.write(k, None)?;
        }
        Ok(())
    }

    /// Removes a table, its rows, indexes and owned sequences.
    pub fn drop_table_object(&mut self, table: &TableDef, cascade: bool) -> Result<()> {
        let refs: Vec<_> =
            self.catalog.referencing(table.oid).into_iter().filter(|(t, _)| t.oid != table.oid).collect();
        if !refs.is_empty() {
            if !cascade {
                let (t, f) = &refs[0];
                return Err(Error::new(
                    ErrorKind::DependentObjectsStillExist,
                    format!("cannot drop table {} because other objects depend on it", table.name),
                )
                .with_detail(format!(
                    "constraint {} on table {} depends on table {}",
                    f.name, t.name, table.name
                ))
                .with_hint("Use DROP ... CASCADE to drop the dependent objects too."));
            }
            for (t, f) in refs {
                let mut t2 = self.catalog.table_by_oid(t.oid).cloned().unwrap_or(t);
                t2.foreign_keys.retain(|x| x.name != f.name);
                self.notice("00000", format!("drop cascades to constraint {} on table {}", f.name, t2.name));
                self.catalog.put(self.ctx.txn, Object::Table(t2))?;
            }
        }
        for i in self.catalog.indexes_of(table.oid) {
            self.delete_prefix(KeyPrefix::Index(i.oid).encode())?;
            self.catalog.remove(self.ctx.txn, i.oid)?;
        }
        let owned: Vec<u32> = self
            .catalog
            .objects
            .iter()
            .filter_map(|o| match o {
                Object::Sequence(s) if s.owned_by.map(|(t, _)| t) == Some(table.oid) => Some(s.oid),
                _ => None,
            })
            .collect();
        for s in owned {
            self.catalog.remove(self.ctx.txn, s)?;
        }
        self.delete_prefix(KeyPrefix::Rows(table.oid).encode())?;
        self.catalog.remove(self.ctx.txn, table.oid)
    }

    /// DROP TABLE / INDEX / VIEW / SEQUENCE.
    pub fn drop(
        &mut self,
        object_type: &ast::ObjectType,
        names: &[ast::ObjectName],
        if_exists: bool,
        cascade: bool,
    ) -> Result<QueryResult> {
        let (kind, tag) = match object_type {
            ast::ObjectType::Table => ("table", "DROP TABLE"),
            ast::ObjectType::Index => ("index", "DROP INDEX"),
            ast::ObjectType::View => ("view", "DROP VIEW"),
            ast::ObjectType::Sequence => ("sequence", "DROP SEQUENCE"),
            other => {
                return Err(Error::new(
                    ErrorKind::FeatureNotSupported,
                    format!("DROP {other} is not supported"),
                ))
            }
        };
        for n in names {
            let name = ident(n);
            let obj = self.catalog.by_name(&name).cloned();
            if let Some(o) = &obj {
                let matches_kind = matches!(
                    (kind, o),
                    ("table", Object::Table(_))
                        | ("index", Object::Index(_))
                        | ("view", Object::View(_))
                        | ("sequence", Object::Sequence(_))
                );
                if matches_kind {
                    self.catalog.require_owner(o)?;
                }
            }
            match (kind, obj) {
                ("table", Some(Object::Table(t))) => self.drop_table_object(&t, cascade)?,
                ("index", Some(Object::Index(i))) => {
                    if i.constraint {
                        let t =
                            self.catalog.table_by_oid(i.table).map(|t| t.name.clone()).unwrap_or_default();
                        return Err(Error::new(
                            ErrorKind::DependentObjectsStillExist,
                            format!(
                                "cannot drop index {name} because constraint {name} on table {t} requires it"
                            ),
                        )
                        .with_hint(format!("You can drop constraint {name} on table {t} instead.")));
                    }
                    let prefix = KeyPrefix::Index(i.oid).encode();
                    self.ctx.txn.move_predicate_locks(&prefix, &KeyPrefix::Rows(i.table).encode());
                    self.delete_prefix(prefix)?;
                    self.catalog.remove(self.ctx.txn, i.oid)?;
                }
                ("view", Some(Object::View(v))) => self.catalog.remove(self.ctx.txn, v.oid)?,
                ("sequence", Some(Object::Sequence(s))) => self.catalog.remove(self.ctx.txn, s.oid)?,
                (_, Some(_)) => {
                    return Err(Error::new(
                        ErrorKind::WrongObjectType,
                        format!("\"{name}\" is not a{} {kind}", if kind == "index" { "n" } else { "" }),
                    ))
                }
                (_, None) if if_exists => {
                    self.notice("00000", format!("{kind} \"{name}\" does not exist, skipping"))
                }
                (_, None) => {
                    let kind_word =
                        if kind == "table" || kind == "view" || kind == "sequence" || kind == "index" {
                            "relation"
                        } else {
                            kind
                        };
                    let _ = kind_word;
                    let msg = match kind {
                        "table" => format!("table \"{name}\" does not exist"),
                        "index" => format!("index \"{name}\" does not exist"),
                        "view" => format!("view \"{name}\" does not exist"),
                        _ => format!("sequence \"{name}\" does not exist"),
                    };
                    return Err(Error::new(ErrorKind::UndefinedTable, msg));
                }
            }
        }
        Ok(QueryResult::command(tag))
    }

    /// CREATE VIEW.
    pub fn create_view(
        &mut self,
        name: &ast::ObjectName,
        columns: &[String],
        query: &ast::Query,
        or_replace: bool,
    ) -> Result<QueryResult> {
        let vname = ident(name);
        self.catalog.require_public(acl::CREATE)?;
        let existing = self.catalog.by_name(&vname).cloned();
        let mut access = self.new_access();
        let oid = match existing {
            Some(Object::View(v)) if or_replace => {
                self.catalog.require_owner(&Object::View(v.clone()))?;
                access = v.access.clone();
                v.oid
            }
            Some(_) => {
                return Err(Error::new(
                    ErrorKind::DuplicateTable,
                    format!("relation \"{vname}\" already exists"),
                ))
            }
            None => catalog::new_oid(&self.ctx.db.txn)?,
        };
        let mut b = Binder::new(&self.catalog, &[], self.fmt.clone());
        b.query(query)?;
        self.catalog.put(
            self.ctx.txn,
            Object::View(catalog::ViewDef {
                oid,
                name: vname,
                query: query.to_string(),
                columns: columns.to_vec(),
                access,
            }),
        )?;
        Ok(QueryResult::command("CREATE VIEW"))
    }

    /// TRUNCATE.
    pub fn truncate(&mut self, names: &[ast::ObjectName]) -> Result<QueryResult> {
        for n in names {
            let name = ident(n);
            let t = self.catalog.table(&name).cloned().ok_or_else(|| {
                Error::new(ErrorKind::UndefinedTable, format!("relation \"{name}\" does not exist"))
            })?;
            self.catalog.require(self.catalog.auth.current, &Object::Table(t.clone()), acl::TRUNCATE)?;
            self.delete_prefix(KeyPrefix::Rows(t.oid).encode())?;
            for i in self.catalog.indexes_of(t.oid) {
                self.delete_prefix(KeyPrefix::Index(i.oid).encode())?;
            }
        }
        Ok(QueryResult::command("TRUNCATE TABLE"))
    }

    /// Adds the index entry of `row`. A unique entry is locked first: an in-progress transaction
    /// inserting or deleting the same key is waited for (PostgreSQL's unique-key wait), and the
    /// key is then checked against its newest state, not the snapshot: a committed duplicate is a
    /// 23505, unless SSI sees a dangerous structure (then 40001, as PostgreSQL reports it).
    pub fn index_insert(
        &mut self,
        table: &TableDef,
        index: &IndexDef,
        row: &[crate::sql::types::Value],
        rowid: u64,
    ) -> Result<()> {
        let vals: Vec<_> = index.columns.iter().map(|c| row[*c].clone()).collect();
        let has_null = vals.iter().any(|v| v.is_null());
        let entry = Some(rowid.to_le_bytes().to_vec());
        if index.unique && !has_null {
            let key = Key::Index(index.oid, &vals, None).encode();
            self.ctx.txn.lock_row(&key, LockMode::Update)?;
            if let Some(existing) = self.ctx.txn.latest(&key)? {
                if decode_index_entry(&existing)? != rowid {
                    self.ctx.txn.conflict_in(&key)?;
                    self.ctx.txn.conflict_in(&Key::Row(table.oid, rowid).encode())?;
                    let cols: Vec<String> =
                        index.columns.iter().map(|c| table.columns[*c].name.clone()).collect();
                    let shown: Vec<String> =
                        vals.iter().map(|v| v.to_text(&self.fmt).unwrap_or_else(|| "null".into())).collect();
                    return Err(Error::new(
                        ErrorKind::UniqueViolation,
                        format!("duplicate key value violates unique constraint \"{}\"", index.name),
                    )
                    .with_detail(format!(
                        "Key ({})=({}) already exists.",
                        cols.join(", "),
                        shown.join(", ")
                    )));
                }
            }
            self.ctx.txn.write_locked(key, entry, LockMode::Update)
        } else {
            let key = Key::Index(index.oid, &vals, Some(rowid)).encode();
            self.ctx.txn.write_locked(key, entry, LockMode::Update)
        }
    }

    /// Removes the index entry of `row`.
    pub fn index_delete(
        &mut self,
        index: &IndexDef,
        row: &[crate::sql::types::Value],
        rowid: u64,
    ) -> Result<()> {
        let vals: Vec<_> = index.columns.iter().map(|c| row[*c].clone()).collect();
        let has_null = vals.iter().any(|v| v.is_null());
        let key = if index.unique && !has_null {
            Key::Index(index.oid, &vals, None)
        } else {
            Key::Index(index.oid, &vals, Some(rowid))
        };
        self.ctx.txn.write_locked(key.encode(), None, LockMode::Update)
    }
}

/// Decodes an index entry's value: the row id.
pub fn decode_index_entry(v: &[u8]) -> Result<u64> {
    let b: [u8; 8] = v.try_into().map_err(|_| Error::new(ErrorKind::Corrupt, "malformed index entry"))?;
    Ok(u64::from_le_bytes(b))
}
