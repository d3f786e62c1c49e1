//! The binder's entry points into the catalogs: FROM items naming a virtual relation (or a
//! catalog set-returning function), `reg*` casts, and catalog function calls.
//!
//! `'t'::regclass` with a constant is resolved while binding (so `WHERE c.oid = 't'::regclass`
//! compares OIDs); any other value cast to a `reg*` type becomes its name, which is how clients
//! use it (`conrelid::pg_catalog.regclass` in a select list, `::regclass::text` in ORDER BY).
//! `regclass`, `regtype`, ... are therefore never column types here: constants are `oid`,
//! converted values `text`.

use super::funcs::{self, CatalogFunc};
use super::lookup;
use crate::error::{Error, ErrorKind, Result};
use crate::sql::plan::bind::Binder;
use crate::sql::plan::scope::{Scope, ScopeColumn};
use crate::sql::plan::{Expr, Plan, SubqueryKind};
use crate::sql::types::{DataType, Value};
use sqlparser::ast;

/// The `reg*` type a cast target names, if any.
fn reg_type(t: &ast::DataType) -> Option<&'static str> {
    let name = match t {
        ast::DataType::Regclass => return Some("regclass"),
        ast::DataType::Custom(name, mods) if mods.is_empty() => {
            name.to_string().replace('"', "").to_ascii_lowercase()
        }
        _ => return None,
    };
    let name = name.strip_prefix("pg_catalog.").unwrap_or(&name);
    ["regclass", "regtype", "regnamespace", "regproc", "regprocedure", "regrole"]
        .into_iter()
        .find(|r| *r == name)
}

impl Binder<'_> {
    /// Binds a FROM item naming a catalog relation (`pg_class`, `pg_catalog.pg_type`,
    /// `information_schema.columns`) or a catalog set-returning function with no rows here
    /// (`pg_partition_ancestors`); `None` for anything else.
    pub fn catalog_relation(
        &mut self,
        schema: Option<&str>,
        name: &str,
        is_function: bool,
        alias: &Option<ast::TableAlias>,
    ) -> Result<Option<(Plan, Scope)>> {
        let (plan, cols, qualifier): (Plan, Vec<(String, DataType)>, &str) = if is_function {
            if name != "pg_partition_ancestors" || !matches!(schema, None | Some("pg_catalog")) {
                return Ok(None);
            }
            // Ancestors of a partition: ssidb has no partitioning, so there are none.
            let cols = vec![("relid".to_string(), DataType::Oid), ("ordinality".to_string(), DataType::Int8)];
            (Plan::Values(vec![]), cols, name)
        } else {
            let Some(v) = lookup(schema, name) else { return Ok(None) };
            // pg_authid holds the verifiers: PostgreSQL revokes it from PUBLIC.
            if v == super::VirtualTable::PgAuthid && !self.catalog.auth.roles.is_superuser(self.acting_role())
            {
                return Err(crate::sql::auth::permission_denied("table", "pg_authid"));
            }
            let cols = v.columns().into_iter().map(|(n, t)| (n.to_string(), t)).collect();
            (Plan::Virtual(v), cols, name)
        };
        let mut cols: Vec<ScopeColumn> = cols
            .into_iter()
            .map(|(n, t)| ScopeColumn {
                qualifier: None,
                name: n,
                data_type: t,
                table_oid: 0,
                attnum: 0,
                merged: false,
            })
            .collect();
        let qualifier = alias.as_ref().map(|a| a.name.value.clone()).unwrap_or_else(|| qualifier.to_string());
        if let Some(a) = alias {
            if a.columns.len() > cols.len() {
                return Err(Error::new(
                    ErrorKind::InvalidColumnReference,
                    format!(
                        "table \"{qualifier}\" has {} columns available but {} columns specified",
                        cols.len(),
                        a.columns.len()
                    ),
                ));
            }
            for (c, n) in cols.iter_mut().zip(&a.columns) {
                c.name = n.name.value.clone();
            }
        }
        for c in &mut cols {
            c.qualifier = Some(qualifier.clone());
        }
        Ok(Some((plan, Scope { columns: cols })))
    }

    /// Binds `ARRAY(SELECT ...)` (which the parser reads as a call of `array`); `None` for any
    /// other call.
    pub fn array_subquery(&mut self, f: &ast::Function, scope: &Scope) -> Result<Option<(Expr, DataType)>> {
        let ast::FunctionArguments::Subquery(q) = &f.args else { return Ok(None) };
        if !f.name.to_string().eq_ignore_ascii_case("array") {
            return Ok(None);
        }
        let q = self.subquery(q, scope)?;
        if q.columns.len() != 1 {
            return Err(Error::new(ErrorKind::Syntax, "subquery must return only one column"));
        }
        let t = match q.columns[0].data_type.clone() {
            DataType::Unknown => DataType::Text,
            t => t,
        };
        Ok(Some((Expr::Subquery(Box::new(q.plan), SubqueryKind::Array), DataType::Array(Box::new(t)))))
    }

    /// Binds `expr::regclass` (and the other `reg*` types); `None` when the target is not one.
    pub fn reg_cast(
        &mut self,
        expr: &ast::Expr,
        target: &ast::DataType,
        scope: &Scope,
    ) -> Result<Option<(Expr, DataType)>> {
        let Some(reg) = reg_type(target) else { return Ok(None) };
        let (x, t) = self.expr(expr, scope)?;
        if let Expr::Const(v) = &x {
            let text = match v {
                Value::Null => return Ok(Some((Expr::Const(Value::Null), DataType::Oid))),
                Value::Text(s) if t.is_string() || t == DataType::Unknown => Some(s.clone()),
                _ => None,
            };
            if let Some(s) = text {
                let oid = match reg {
                    "regclass" => funcs::regclass_in(self.catalog, &s)?,
                    "regtype" => funcs::regtype_in(&s)?,
                    "regnamespace" => funcs::regnamespace_in(&s)?,
                    _ => s.trim().parse::<u32>().unwrap_or(0),
                };
                return Ok(Some((Expr::Const(Value::Oid(oid)), DataType::Oid)));
            }
        }
        if t.is_string() || t == DataType::Unknown {
            let f = match reg {
                "regclass" => CatalogFunc::RegclassIn,
                "regtype" => CatalogFunc::RegtypeIn,
                "regnamespace" => CatalogFunc::RegnamespaceIn,
                _ => {
                    return Err(Error::new(
                        ErrorKind::FeatureNotSupported,
                        format!("cast to {reg} is not supported"),
                    ))
                }
            };
            let x = self.try_coerce(x, &t, &DataType::Text)?.unwrap_or(Expr::Const(Value::Null));
            return Ok(Some((
                Expr::Func(crate::sql::plan::functions::Func::Catalog(f), vec![x]),
                DataType::Oid,
            )));
        }
        let x = self.try_coerce(x, &t, &DataType::Oid)?.ok_or_else(|| {
            Error::new(ErrorKind::CannotCoerce, format!("cannot cast type {} to {reg}", t.name()))
        })?;
        let f = match reg {
            "regclass" => CatalogFunc::RegclassOut,
            "regtype" => CatalogFunc::RegtypeOut,
            "regnamespace" => CatalogFunc::RegnamespaceOut,
            _ => CatalogFunc::RegprocOut,
        };
        Ok(Some((Expr::Func(crate::sql::plan::functions::Func::Catalog(f), vec![x]), DataType::Text)))
    }
}

/// Resolves a catalog function for the core function table (see [`funcs::resolve`]).
pub fn resolve(
    name: &str,
    types: &[DataType],
) -> Option<(crate::sql::plan::functions::Func, Vec<DataType>, DataType)> {
    funcs::resolve(name, types).map(|(f, a, r)| (crate::sql::plan::functions::Func::Catalog(f), a, r))
}
