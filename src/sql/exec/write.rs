//! Writing rows: INSERT, UPDATE and DELETE with their constraint checks — NOT NULL (23502),
//! CHECK (23514), UNIQUE through the unique indexes (23505), FOREIGN KEY in both directions
//! (23503, with ON DELETE CASCADE) — each with PostgreSQL's message and `Failing row contains`
//! / `Key (...)=(...)` detail. Rows keep their row id across UPDATE, whatever changes.

use super::rowlock::Locked;
use super::{Row, Runner};
use crate::error::{Error, ErrorKind, Result};
use crate::sql::auth::acl;
use crate::sql::catalog::keys::Key;
use crate::sql::catalog::{self, rowcodec, ForeignKeyDef, TableDef};
use crate::sql::engine::{columns_of, parse_expr, QueryResult};
use crate::sql::plan::bind::Binder;
use crate::sql::plan::bind_dml::is_default;
use crate::sql::plan::scope::Scope;
use crate::sql::plan::{Expr, LockMode, LockWaitPolicy, OutputColumn};
use crate::sql::types::{DataType, Value};
use crate::txn::mvcc::{concurrent_update_error, RowLock};
use sqlparser::ast;

fn ident(n: &ast::ObjectName) -> String {
    n.0.last().map(|p| p.to_string().trim_matches('"').to_string()).unwrap_or_default()
}

/// What a DML statement binds to: the target, per-row expressions and RETURNING.
struct Returning {
    exprs: Vec<Expr>,
    columns: Vec<OutputColumn>,
}

impl Runner<'_, '_> {
    fn failing_row(&self, row: &[Value]) -> String {
        let vals: Vec<String> =
            row.iter().map(|v| v.to_text(&self.fmt).unwrap_or_else(|| "null".into())).collect();
        format!("Failing row contains ({}).", vals.join(", "))
    }

    fn default_value(&mut self, catalog: &catalog::Catalog, table: &TableDef, col: usize) -> Result<Value> {
        let c = &table.columns[col];
        match &c.default {
            None => Ok(Value::Null),
            Some(text) => {
                let e = parse_expr(text)?;
                let mut b = Binder::new(catalog, &[], self.fmt.clone());
                let (x, t) = b.expr(&e, &Scope::default())?;
                let x = b.coerce_assign(x, &t, &c.data_type, &c.name)?;
                self.eval(&x, &[])
            }
        }
    }

    /// Checks NOT NULL, CHECK and outgoing FOREIGN KEY constraints of a new row version.
    fn check_row(&mut self, catalog: &catalog::Catalog, table: &TableDef, row: &[Value]) -> Result<()> {
        for (i, c) in table.columns.iter().enumerate() {
            if c.not_null && row[i].is_null() {
                return Err(Error::new(
                    ErrorKind::NotNullViolation,
                    format!(
                        "null value in column \"{}\" of relation \"{}\" violates not-null constraint",
                        c.name, table.name
                    ),
                )
                .with_detail(self.failing_row(row)));
            }
        }
        if !table.checks.is_empty() {
            let scope = Binder::table_scope(table, &table.name);
            for ch in &table.checks {
                let mut b = Binder::new(catalog, &[], self.fmt.clone());
                let p = b.predicate(&parse_expr(&ch.expr)?, &scope, "CHECK")?;
                if matches!(self.eval(&p, row)?, Value::Bool(false)) {
                    return Err(Error::new(
                        ErrorKind::CheckViolation,
                        format!(
                            "new row for relation \"{}\" violates check constraint \"{}\"",
                            table.name, ch.name
                        ),
                    )
                    .with_detail(self.failing_row(row)));
                }
            }
        }
        for fk in &table.foreign_keys {
            let vals: Vec<Value> = fk.columns.iter().map(|c| row[*c].clone()).collect();
            if vals.iter().any(|v| v.is_null()) {
                continue;
            }
            let parent = catalog
                .table_by_oid(fk.ref_table)
                .cloned()
                .ok_or_else(|| Error::new(ErrorKind::Internal, "missing referenced table"))?;
            if !self.key_exists(catalog, &parent, &fk.ref_columns, &vals, None)? {
                let cols: Vec<String> = fk.columns.iter().map(|c| table.columns[*c].name.clone()).collect();
                let shown: Vec<String> =
                    vals.iter().map(|v| v.to_text(&self.fmt).unwrap_or_default()).collect();
                return Err(Error::new(
                    ErrorKind::ForeignKeyViolation,
                    format!(
                        "insert or update on table \"{}\" violates foreign key constraint \"{}\"",
                        table.name, fk.name
                    ),
                )
                .with_detail(format!(
                    "Key ({})=({}) is not present in table \"{}\".",
                    cols.join(", "),
                    shown.join(", "),
                    parent.name
                )));
            }
        }
        Ok(())
    }

    /// Whether a row of `table` has `vals` in `cols` (other than `except`).
    fn key_exists(
        &mut self,
        catalog: &catalog::Catalog,
        table: &TableDef,
        cols: &[usize],
        vals: &[Value],
        except: Option<u64>,
    ) -> Result<bool> {
        if let Some(ix) = catalog.indexes_of(table.oid).into_iter().find(|i| i.columns == cols) {
            return Ok(self.index_lookup(ix.oid, vals)?.into_iter().any(|id| Some(id) != except));
        }
        Ok(self.scan_table(table)?.into_iter().any(|(id, r)| {
            Some(id) != except
                && cols.iter().zip(vals).all(|(c, v)| crate::sql::types::compare::equal(&r[*c], v))
        }))
    }

    /// Rows of other tables referencing `row` of `table` through `fk`.
    fn referencing_rows(
        &mut self,
        child: &TableDef,
        fk: &ForeignKeyDef,
        row: &[Value],
    ) -> Result<Vec<(u64, Row)>> {
        let vals: Vec<Value> = fk.ref_columns.iter().map(|c| row[*c].clone()).collect();
        if vals.iter().any(|v| v.is_null()) {
            return Ok(vec![]);
        }
        Ok(self
            .scan_table(child)?
            .into_iter()
            .filter(|(_, r)| {
                fk.columns
                    .iter()
                    .zip(&vals)
                    .all(|(c, v)| !r[*c].is_null() && crate::sql::types::compare::equal(&r[*c], v))
            })
            .collect())
    }

    /// Writes a row version holding its lock in `mode` (taken before by [`Runner::lock_row`] for
    /// an existing row).
    fn write_row(&mut self, table: &TableDef, rowid: u64, row: &[Value], mode: LockMode) -> Result<()> {
        let key = Key::Row(table.oid, rowid).encode();
        self.ctx.txn.write_locked(key, Some(rowcodec::encode_row(row)), mode)
    }

    /// The lock strength of an UPDATE: `Update` when it assigns a column of a unique index (a key
    /// a foreign key may reference), else `NoKeyUpdate`.
    fn update_lock_mode(&self, catalog: &catalog::Catalog, table: &TableDef, assigned: &[usize]) -> LockMode {
        let key_column = catalog
            .indexes_of(table.oid)
            .iter()
            .filter(|ix| ix.unique)
            .any(|ix| ix.columns.iter().any(|c| assigned.contains(c)));
        if key_column {
            LockMode::Update
        } else {
            LockMode::NoKeyUpdate
        }
    }

    /// Inserts a row into a table without indexes or constraints (CREATE TABLE AS).
    pub(crate) fn insert_plain_row(&mut self, table: &TableDef, row: Row) -> Result<()> {
        let rowid = catalog::new_rowid(&self.ctx.db.txn, table.oid)?;
        self.write_row(table, rowid, &row, LockMode::Update)
    }

    fn insert_row(&mut self, catalog: &catalog::Catalog, table: &TableDef, row: Row) -> Result<Row> {
        self.check_row(catalog, table, &row)?;
        let rowid = catalog::new_rowid(&self.ctx.db.txn, table.oid)?;
        // The row before its index entries, as PostgreSQL writes the heap before the indexes: the
        // row's SSI conflict check comes first, so a serialization failure wins over 23505.
        self.write_row(table, rowid, &row, LockMode::Update)?;
        for ix in catalog.indexes_of(table.oid) {
            self.index_insert(table, &ix, &row, rowid)?;
        }
        Ok(row)
    }

    /// Inserts one row given as values for `targets` (COPY's bulk path: no SQL per row); the
    /// other columns take their defaults.
    pub fn insert_values(
        &mut self,
        catalog: &catalog::Catalog,
        table: &TableDef,
        targets: &[usize],
        vals: Vec<Value>,
    ) -> Result<()> {
        let mut row = vec![Value::Null; table.columns.len()];
        let mut given = vec![false; table.columns.len()];
        for (v, &c) in vals.into_iter().zip(targets) {
            row[c] = v;
            given[c] = true;
        }
        for c in 0..table.columns.len() {
            if !given[c] {
                row[c] = self.default_value(catalog, table, c)?;
            }
        }
        self.insert_row(catalog, table, row).map(|_| ())
    }

    fn update_row(
        &mut self,
        catalog: &catalog::Catalog,
        table: &TableDef,
        rowid: u64,
        old: &[Value],
        new: Row,
        mode: LockMode,
    ) -> Result<Row> {
        self.check_row(catalog, table, &new)?;
        for (child, fk) in catalog.referencing(table.oid) {
            let changed = fk.ref_columns.iter().any(|c| {
                !crate::sql::types::compare::equal(&old[*c], &new[*c])
                    || old[*c].is_null() != new[*c].is_null()
            });
            if changed && !self.referencing_rows(&child, &fk, old)?.is_empty() {
                return Err(self.still_referenced(table, &child, &fk, old));
            }
        }
        // Entries whose values did not change stay as they are.
        let moved: Vec<_> = catalog
            .indexes_of(table.oid)
            .into_iter()
            .filter(|ix| {
                let o: Vec<Value> = ix.columns.iter().map(|c| old[*c].clone()).collect();
                let n: Vec<Value> = ix.columns.iter().map(|c| new[*c].clone()).collect();
                crate::sql::types::keyenc::encode_all(&o) != crate::sql::types::keyenc::encode_all(&n)
            })
            .collect();
        for ix in &moved {
            self.index_delete(ix, old, rowid)?;
        }
        self.write_row(table, rowid, &new, mode)?;
        for ix in &moved {
            self.index_insert(table, ix, &new, rowid)?;
        }
        Ok(new)
    }

    fn still_referenced(
        &self,
        table: &TableDef,
        child: &TableDef,
        fk: &ForeignKeyDef,
        row: &[Value],
    ) -> Error {
        let cols: Vec<String> = fk.ref_columns.iter().map(|c| table.columns[*c].name.clone()).collect();
        let shown: Vec<String> =
            fk.ref_columns.iter().map(|c| row[*c].to_text(&self.fmt).unwrap_or_default()).collect();
        Error::new(
            ErrorKind::ForeignKeyViolation,
            format!(
                "update or delete on table \"{}\" violates foreign key constraint \"{}\" on table \"{}\"",
                table.name, fk.name, child.name
            ),
        )
        .with_detail(format!(
            "Key ({})=({}) is still referenced from table \"{}\".",
            cols.join(", "),
            shown.join(", "),
            child.name
        ))
    }

    fn delete_row(
        &mut self,
        catalog: &catalog::Catalog,
        table: &TableDef,
        rowid: u64,
        row: &[Value],
        depth: usize,
    ) -> Result<()> {
        if depth > 32 {
            return Err(Error::new(ErrorKind::StatementTooComplex, "stack depth limit exceeded"));
        }
        for (child, fk) in catalog.referencing(table.oid) {
            let refs = self.referencing_rows(&child, &fk, row)?;
            if refs.is_empty() {
                continue;
            }
            if !fk.on_delete_cascade {
                return Err(self.still_referenced(table, &child, &fk, row));
            }
            for (id, r) in refs {
                if child.oid == table.oid && id == rowid {
                    continue;
                }
                if self.fetch_row(&child, id)?.is_some() {
                    self.delete_row(catalog, &child, id, &r, depth + 1)?;
                }
            }
        }
        for ix in catalog.indexes_of(table.oid) {
            self.index_delete(&ix, row, rowid)?;
        }
        self.ctx.txn.write(Key::Row(table.oid, rowid).encode(), None)
    }

    fn returning(
        &mut self,
        catalog: &catalog::Catalog,
        items: &Option<Vec<ast::SelectItem>>,
        scope: &Scope,
        params: &[DataType],
    ) -> Result<Option<Returning>> {
        match items {
            None => Ok(None),
            Some(items) => {
                let mut b = Binder::new(catalog, params, self.fmt.clone());
                let (exprs, columns) = b.returning(items, scope)?;
                Ok(Some(Returning { exprs, columns }))
            }
        }
    }

    fn result(
        &mut self,
        command: &str,
        count: u64,
        ret: Option<Returning>,
        rows: Vec<Row>,
    ) -> Result<QueryResult> {
        match ret {
            None => Ok(QueryResult {
                command: command.into(),
                rows_affected: Some(count),
                columns: None,
                rows: vec![],
            }),
            Some(r) => {
                let mut out = Vec::new();
                for row in rows {
                    out.push(self.eval_row(&r.exprs, &row)?);
                }
                Ok(QueryResult {
                    command: command.into(),
                    rows_affected: Some(count),
                    columns: Some(columns_of(&r.columns)),
                    rows: out,
                })
            }
        }
    }

    /// Requires `privs` on a DML target table for the current role.
    fn require_target(&self, table: &TableDef, privs: u16) -> Result<()> {
        self.catalog.require(self.catalog.auth.current, &catalog::Object::Table(table.clone()), privs)
    }

    /// INSERT.
    pub fn insert(&mut self, ins: &ast::Insert, params: &[DataType]) -> Result<QueryResult> {
        let catalog = self.catalog.clone();
        let ast::TableObject::TableName(tname) = &ins.table else {
            return Err(Error::new(ErrorKind::FeatureNotSupported, "INSERT into a table function"));
        };
        let b0 = Binder::new(&catalog, params, self.fmt.clone());
        let table = b0.target_table(tname)?;
        let mut privs = acl::INSERT;
        if ins.returning.is_some() {
            privs |= acl::SELECT;
        }
        if let Some(ast::OnInsert::OnConflict(oc)) = &ins.on {
            if oc.conflict_target.is_some() {
                privs |= acl::SELECT;
            }
            if matches!(oc.action, ast::OnConflictAction::DoUpdate(_)) {
                privs |= acl::UPDATE | acl::SELECT;
            }
        }
        self.require_target(&table, privs)?;
        let targets: Vec<usize> = if ins.columns.is_empty() {
            (0..table.columns.len()).collect()
        } else {
            ins.columns
                .iter()
                .map(|c| {
                    let n = ident(c);
                    table.column_index(&n).ok_or_else(|| {
                        Error::new(
                            ErrorKind::UndefinedColumn,
                            format!("column \"{n}\" of relation \"{}\" does not exist", table.name),
                        )
                    })
                })
                .collect::<Result<_>>()?
        };
        let mut b = Binder::new(&catalog, params, self.fmt.clone());
        // Source rows as expressions per target column (None = DEFAULT).
        let mut source: Vec<Vec<Option<Value>>> = Vec::new();
        match ins.source.as_deref() {
            None => source.push(vec![None; targets.len()]),
            Some(q) => match q.body.as_ref() {
                ast::SetExpr::Values(v) if q.order_by.is_none() && q.limit_clause.is_none() => {
                    if v.rows.iter().any(|r| r.content.len() != v.rows[0].content.len()) {
                        return Err(Error::new(
                            ErrorKind::Syntax,
                            "VALUES lists must all be the same length",
                        ));
                    }
                    for row in &v.rows {
                        if row.content.len() > targets.len() {
                            return Err(Error::new(
                                ErrorKind::Syntax,
                                "INSERT has more expressions than target columns",
                            ));
                        }
                        let mut vals = Vec::new();
                        for (e, &c) in row.content.iter().zip(&targets) {
                            if is_default(e) {
                                vals.push(None);
                                continue;
                            }
                            let col = &table.columns[c];
                            let (x, t) = b.expr(e, &Scope::default())?;
                            let x = b.coerce_assign(x, &t, &col.data_type, &col.name)?;
                            vals.push(Some(self.eval(&x, &[])?));
                        }
                        if vals.len() < targets.len() && ins.columns.is_empty() {
                            vals.resize(targets.len(), None);
                        }
                        if vals.len() < targets.len() {
                            return Err(Error::new(
                                ErrorKind::Syntax,
                                "INSERT has more target columns than expressions",
                            ));
                        }
                        source.push(vals);
                    }
                }
                _ => {
                    let q = b.insert_source(q)?;
                    if q.columns.len() > targets.len() {
                        return Err(Error::new(
                            ErrorKind::Syntax,
                            "INSERT has more expressions than target columns",
                        ));
                    }
                    let mut exprs = Vec::new();
                    for (i, (oc, &c)) in q.columns.iter().zip(&targets).enumerate() {
                        let col = &table.columns[c];
                        exprs.push(b.coerce_assign(
                            Expr::Column(i),
                            &oc.data_type,
                            &col.data_type,
                            &col.name,
                        )?);
                    }
                    for row in self.run(&q.plan)? {
                        let vals = self.eval_row(&exprs, &row)?;
                        let mut v: Vec<Option<Value>> = vals.into_iter().map(Some).collect();
                        v.resize(targets.len(), None);
                        source.push(v);
                    }
                }
            },
        }
        let scope = Binder::table_scope(&table, &table.name);
        let ret = self.returning(&catalog, &ins.returning, &scope, params)?;
        let on_conflict = match &ins.on {
            Some(ast::OnInsert::OnConflict(oc)) => Some(oc.clone()),
            Some(_) => return Err(Error::new(ErrorKind::FeatureNotSupported, "ON DUPLICATE KEY")),
            None => None,
        };
        // DO UPDATE's WHERE and SET, bound once over the existing row ++ `excluded`.
        let do_update = match on_conflict.as_ref().map(|oc| &oc.action) {
            Some(ast::OnConflictAction::DoUpdate(du)) => {
                let mut scope2 = scope.clone();
                scope2.columns.extend(Binder::table_scope(&table, "excluded").columns);
                let pred = match &du.selection {
                    Some(sel) => Some(
                        Binder::new(&catalog, params, self.fmt.clone()).predicate(sel, &scope2, "WHERE")?,
                    ),
                    None => None,
                };
                Some((pred, self.bind_assignments(&catalog, &table, &du.assignments, &scope2, params)?))
            }
            _ => None,
        };
        let mut written = Vec::new();
        for vals in source {
            self.tick()?;
            let mut row = vec![Value::Null; table.columns.len()];
            let mut given = vec![false; table.columns.len()];
            for (v, &c) in vals.into_iter().zip(&targets) {
                if let Some(v) = v {
                    row[c] = v;
                    given[c] = true;
                }
            }
            for c in 0..table.columns.len() {
                if !given[c] {
                    row[c] = self.default_value(&catalog, &table, c)?;
                }
            }
            if let Some(oc) = &on_conflict {
                let lock = matches!(oc.action, ast::OnConflictAction::DoUpdate(_));
                if let Some((rowid, old)) = self.find_conflict(&catalog, &table, &row, lock)? {
                    match &oc.action {
                        ast::OnConflictAction::DoNothing => continue,
                        ast::OnConflictAction::DoUpdate(_) => {
                            let Some((pred, assignments)) = &do_update else {
                                return Err(Error::new(ErrorKind::Internal, "DO UPDATE not bound"));
                            };
                            let mut combined = old.clone();
                            combined.extend(row.iter().cloned());
                            if let Some(p) = pred {
                                if !self.check(p, &combined)? {
                                    continue;
                                }
                            }
                            let new = self.assign(&catalog, &table, assignments, &combined, &old)?;
                            let new =
                                self.update_row(&catalog, &table, rowid, &old, new, LockMode::Update)?;
                            written.push(new);
                            continue;
                        }
                    }
                }
            }
            written.push(self.insert_row(&catalog, &table, row)?);
        }
        let n = written.len() as u64;
        self.result("INSERT", n, ret, written)
    }

    /// ON CONFLICT: the existing row whose unique key equals `row`'s, as PostgreSQL finds it.
    /// Each unique entry is locked first, so an in-progress inserter of the same key is waited for;
    /// a conflicting row committed after the snapshot is a 40001 at REPEATABLE READ and
    /// SERIALIZABLE, and is used (newest version) at READ COMMITTED. With `lock` (DO UPDATE) the
    /// row itself is locked FOR UPDATE.
    fn find_conflict(
        &mut self,
        catalog: &catalog::Catalog,
        table: &TableDef,
        row: &[Value],
        lock: bool,
    ) -> Result<Option<(u64, Row)>> {
        for ix in catalog.indexes_of(table.oid).into_iter().filter(|i| i.unique) {
            let vals: Vec<Value> = ix.columns.iter().map(|c| row[*c].clone()).collect();
            if vals.iter().any(|v| v.is_null()) {
                continue;
            }
            let key = Key::Index(ix.oid, &vals, None).encode();
            let entry_lock = self.ctx.txn.lock_row(&key, LockMode::Update)?;
            let Some(entry) = self.ctx.txn.latest(&key)? else { continue };
            let id = super::ddl::decode_index_entry(&entry)?;
            if matches!(entry_lock, RowLock::Changed(_))
                && self.ctx.txn.isolation().uses_transaction_snapshot()
            {
                return Err(concurrent_update_error(false));
            }
            if !lock {
                // DO NOTHING needs only to know that the row exists.
                return Ok(Some((id, Vec::new())));
            }
            match self.lock_row(table, id, LockMode::Update, LockWaitPolicy::Wait)? {
                Locked::Current => {
                    if let Some(r) = self.fetch_row(table, id)? {
                        return Ok(Some((id, r)));
                    }
                }
                Locked::Newer(r) => return Ok(Some((id, r))),
                Locked::Gone | Locked::Skipped => {}
            }
        }
        Ok(None)
    }

    /// Binds the SET list of an UPDATE (or ON CONFLICT DO UPDATE) once per statement: per target
    /// column, the coerced expression over `scope`'s row, or `None` for DEFAULT.
    fn bind_assignments(
        &self,
        catalog: &catalog::Catalog,
        table: &TableDef,
        assignments: &[ast::Assignment],
        scope: &Scope,
        params: &[DataType],
    ) -> Result<Vec<(usize, Option<Expr>)>> {
        let mut b = Binder::new(catalog, params, self.fmt.clone());
        let mut out = Vec::new();
        for a in assignments {
            let ast::AssignmentTarget::ColumnName(n) = &a.target else {
                return Err(Error::new(ErrorKind::FeatureNotSupported, "multiple-column assignment"));
            };
            let name = ident(n);
            let c = table.column_index(&name).ok_or_else(|| {
                Error::new(
                    ErrorKind::UndefinedColumn,
                    format!("column \"{name}\" of relation \"{}\" does not exist", table.name),
                )
            })?;
            let col = &table.columns[c];
            if is_default(&a.value) {
                out.push((c, None));
                continue;
            }
            let (x, t) = b.expr(&a.value, scope)?;
            out.push((c, Some(b.coerce_assign(x, &t, &col.data_type, &col.name)?)));
        }
        Ok(out)
    }

    /// The new version of `old`: the bound assignments evaluated over `input`.
    fn assign(
        &mut self,
        catalog: &catalog::Catalog,
        table: &TableDef,
        assignments: &[(usize, Option<Expr>)],
        input: &[Value],
        old: &[Value],
    ) -> Result<Row> {
        let mut new = old.to_vec();
        for (c, x) in assignments {
            new[*c] = match x {
                Some(x) => self.eval(x, input)?,
                None => self.default_value(catalog, table, *c)?,
            };
        }
        Ok(new)
    }

    /// Finds the first combination of a target row with a FROM/USING row (or the row alone) that
    /// satisfies `pred`, locks the target row in `mode` and returns the combination, re-checked
    /// against the newest version when a concurrent transaction changed the row (EvalPlanQual, at
    /// READ COMMITTED). `None`: the row does not qualify, or was deleted meanwhile.
    fn lock_target(
        &mut self,
        table: &TableDef,
        rowid: u64,
        row: Row,
        others: Option<&[Row]>,
        pred: &Option<Expr>,
        mode: LockMode,
    ) -> Result<Option<Row>> {
        let width = table.columns.len();
        let mut target = row;
        let mut locked = false;
        let candidates: Vec<&[Value]> = match others {
            None => vec![&[]],
            Some(rows) => rows.iter().map(|r| r.as_slice()).collect(),
        };
        for other in candidates {
            self.tick()?;
            let mut combined = target.clone();
            combined.extend_from_slice(other);
            if let Some(p) = pred {
                if !self.check(p, &combined)? {
                    continue;
                }
            }
            if locked {
                return Ok(Some(combined));
            }
            locked = true;
            match self.lock_row(table, rowid, mode, LockWaitPolicy::Wait)? {
                Locked::Current => match self.fetch_row(table, rowid)? {
                    Some(current) => {
                        combined.splice(..width, current);
                        return Ok(Some(combined));
                    }
                    None => return Ok(None),
                },
                Locked::Gone | Locked::Skipped => return Ok(None),
                Locked::Newer(newest) => {
                    // EvalPlanQual: the newest version must qualify, with the same other row or
                    // with a later one.
                    target = newest;
                    combined.splice(..width, target.iter().cloned());
                    if let Some(p) = pred {
                        if !self.check(p, &combined)? {
                            continue;
                        }
                    }
                    return Ok(Some(combined));
                }
            }
        }
        Ok(None)
    }

    /// UPDATE.
    pub fn update(&mut self, up: &ast::Update, params: &[DataType]) -> Result<QueryResult> {
        let catalog = self.catalog.clone();
        let ast::TableFactor::Table { name, alias, .. } = &up.table.relation else {
            return Err(Error::new(ErrorKind::FeatureNotSupported, "UPDATE of this target"));
        };
        let b0 = Binder::new(&catalog, params, self.fmt.clone());
        let table = b0.target_table(name)?;
        self.require_target(&table, acl::UPDATE)?;
        let qual = alias.as_ref().map(|a| a.name.value.clone()).unwrap_or_else(|| table.name.clone());
        let mut scope = Binder::table_scope(&table, &qual);
        let mut b = Binder::new(&catalog, params, self.fmt.clone());
        let from_rows = match &up.from {
            Some(ast::UpdateTableFromKind::AfterSet(f)) | Some(ast::UpdateTableFromKind::BeforeSet(f)) => {
                let (plan, s) = b.from(f)?;
                scope.columns.extend(s.columns);
                Some(self.run(&plan)?)
            }
            None => None,
        };
        let pred = match &up.selection {
            Some(w) => Some(b.predicate(w, &scope, "WHERE")?),
            None => None,
        };
        // Reading the target's columns (WHERE, SET expressions, RETURNING) needs SELECT too.
        for a in &up.assignments {
            if !is_default(&a.value) {
                b.expr(&a.value, &scope)?;
            }
        }
        if b.read_tables.contains(&table.oid) || up.returning.is_some() {
            self.require_target(&table, acl::SELECT)?;
        }
        let ret = self.returning(&catalog, &up.returning, &scope, params)?;
        let assignments = self.bind_assignments(&catalog, &table, &up.assignments, &scope, params)?;
        let mut assigned = Vec::new();
        for a in &up.assignments {
            if let ast::AssignmentTarget::ColumnName(n) = &a.target {
                assigned.extend(table.column_index(&ident(n)));
            }
        }
        let mode = self.update_lock_mode(&catalog, &table, &assigned);
        let mut changed = Vec::new();
        let lookup = pred
            .as_ref()
            .and_then(|p| crate::sql::plan::access::choose_index(&table, &catalog.indexes_of(table.oid), p));
        for (rowid, row) in self.scan_rows(&table, lookup.as_ref(), None)? {
            let Some(combined) = self.lock_target(&table, rowid, row, from_rows.as_deref(), &pred, mode)?
            else {
                continue;
            };
            let current = combined[..table.columns.len()].to_vec();
            let new = self.assign(&catalog, &table, &assignments, &combined, &current)?;
            let new = self.update_row(&catalog, &table, rowid, &current, new, mode)?;
            let mut out = new;
            out.extend(combined.into_iter().skip(table.columns.len()));
            changed.push(out);
        }
        let n = changed.len() as u64;
        self.result("UPDATE", n, ret, changed)
    }

    /// DELETE.
    pub fn delete(&mut self, del: &ast::Delete, params: &[DataType]) -> Result<QueryResult> {
        let catalog = self.catalog.clone();
        let from = match &del.from {
            ast::FromTable::WithFromKeyword(f) | ast::FromTable::WithoutKeyword(f) => f,
        };
        let Some(ast::TableWithJoins { relation: ast::TableFactor::Table { name, alias, .. }, .. }) =
            from.first()
        else {
            return Err(Error::new(ErrorKind::FeatureNotSupported, "DELETE of this target"));
        };
        let b0 = Binder::new(&catalog, params, self.fmt.clone());
        let table = b0.target_table(name)?;
        self.require_target(&table, acl::DELETE)?;
        let qual = alias.as_ref().map(|a| a.name.value.clone()).unwrap_or_else(|| table.name.clone());
        let mut scope = Binder::table_scope(&table, &qual);
        let mut b = Binder::new(&catalog, params, self.fmt.clone());
        let using_rows = match &del.using {
            Some(u) => {
                let (plan, s) = b.from(u)?;
                scope.columns.extend(s.columns);
                Some(self.run(&plan)?)
            }
            None => None,
        };
        let pred = match &del.selection {
            Some(w) => Some(b.predicate(w, &scope, "WHERE")?),
            None => None,
        };
        if b.read_tables.contains(&table.oid) || del.returning.is_some() {
            self.require_target(&table, acl::SELECT)?;
        }
        let ret = self.returning(&catalog, &del.returning, &scope, params)?;
        let mut deleted = Vec::new();
        let lookup = pred
            .as_ref()
            .and_then(|p| crate::sql::plan::access::choose_index(&table, &catalog.indexes_of(table.oid), p));
        for (rowid, row) in self.scan_rows(&table, lookup.as_ref(), None)? {
            let mode = LockMode::Update;
            let Some(combined) = self.lock_target(&table, rowid, row, using_rows.as_deref(), &pred, mode)?
            else {
                continue;
            };
            let current = combined[..table.columns.len()].to_vec();
            self.delete_row(&catalog, &table, rowid, &current, 0)?;
            deleted.push(combined);
        }
        let n = deleted.len() as u64;
        self.result("DELETE", n, ret, deleted)
    }
}
