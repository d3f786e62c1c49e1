//! The access privilege inquiry functions: `has_table_privilege`, `has_sequence_privilege`,
//! `has_schema_privilege`, computed from the ACLs the statement's catalog sees and the roles of
//! [`crate::sql::auth::roles::Auth`].
//!
//! Forms: `f(object, privileges)` for the current role and `f(role, object, privileges)`; the role
//! and the object may be given by name (text) or OID. `privileges` is a comma-separated list, any
//! of which suffices, each optionally `WITH GRANT OPTION`. As in PostgreSQL, an unknown name is an
//! error (42704 role, 42P01 relation, 3F000 schema) and an unknown OID gives NULL. Catalog
//! relations are readable by everyone except `pg_authid` (superusers only).

use super::funcs::CatalogFunc;
use super::{lookup, relation_name, VirtualTable};
use crate::error::{Error, ErrorKind, Result};
use crate::sql::auth::acl;
use crate::sql::catalog::{Catalog, Object};
use crate::sql::types::{DataType, Value};

/// Argument types for a privilege function called with `types`: OIDs stay OIDs, anything else is
/// a name.
pub fn arg_types(types: &[DataType]) -> Vec<DataType> {
    let n = types.len();
    types
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let is_oid = matches!(t, DataType::Oid | DataType::Int2 | DataType::Int4 | DataType::Int8);
            if i + 1 < n && is_oid {
                DataType::Oid
            } else {
                DataType::Text
            }
        })
        .collect()
}

/// The role an argument names.
fn role_arg(catalog: &Catalog, v: &Value) -> Result<Option<u32>> {
    match v {
        Value::Oid(o) => Ok(catalog.auth.roles.by_oid(*o).map(|r| r.oid)),
        other => {
            let name = text(other);
            let name = name.trim_matches('"');
            if name.eq_ignore_ascii_case("public") {
                return Ok(Some(acl::PUBLIC));
            }
            catalog.auth.roles.by_name(name).map(|r| Some(r.oid)).ok_or_else(|| {
                Error::new(ErrorKind::UndefinedObject, format!("role \"{name}\" does not exist"))
            })
        }
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::Text(s) => s.clone(),
        Value::Oid(o) => o.to_string(),
        other => format!("{other:?}"),
    }
}

/// A relation argument: a user object or a catalog relation.
enum Rel<'a> {
    User(&'a Object),
    Catalog(VirtualTable),
}

fn rel_arg<'a>(catalog: &'a Catalog, v: &Value) -> Result<Option<Rel<'a>>> {
    if let Value::Oid(o) = v {
        if let Some(obj) = catalog.by_oid(*o) {
            return Ok(Some(Rel::User(obj)));
        }
        let name = relation_name(catalog, *o);
        return Ok(name.and_then(|n| {
            let (schema, rel) = match n.split_once('.') {
                Some((s, r)) => (Some(s.to_string()), r.to_string()),
                None => (None, n),
            };
            lookup(schema.as_deref(), &rel).map(Rel::Catalog)
        }));
    }
    let full = text(v);
    let (schema, name) = match full.split_once('.') {
        Some((s, n)) => (Some(s.trim_matches('"')), n.trim_matches('"')),
        None => (None, full.trim_matches('"')),
    };
    if matches!(schema, None | Some("public")) {
        if let Some(obj) = catalog.by_name(name) {
            return Ok(Some(Rel::User(obj)));
        }
    }
    match lookup(schema, name) {
        Some(v) => Ok(Some(Rel::Catalog(v))),
        None => Err(Error::new(ErrorKind::UndefinedTable, format!("relation \"{full}\" does not exist"))),
    }
}

/// Parses a privilege list: (privileges, those asked WITH GRANT OPTION).
fn privileges(list: &str, allowed: &[u16]) -> Result<(u16, u16)> {
    let (mut privs, mut options) = (0, 0);
    for item in list.split(',') {
        let words: Vec<String> = item.split_whitespace().map(|w| w.to_ascii_uppercase()).collect();
        let (word, grant) = match words.as_slice() {
            [w] => (w.as_str(), false),
            [w, a, b, c] if a == "WITH" && b == "GRANT" && c == "OPTION" => (w.as_str(), true),
            _ => ("", false),
        };
        let bit = acl::privilege_bit(word).filter(|b| allowed.contains(b)).ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidParameterValue,
                format!("unrecognized privilege type: \"{}\"", item.trim()),
            )
        })?;
        if grant {
            options |= bit;
        } else {
            privs |= bit;
        }
    }
    Ok((privs, options))
}

/// Evaluates a privilege inquiry function.
pub fn call(catalog: &Catalog, f: CatalogFunc, args: &[Value]) -> Result<Value> {
    if args.iter().any(|a| a.is_null()) {
        return Ok(Value::Null);
    }
    let (role, object, list) = match args {
        [o, p] => (Some(catalog.auth.current), o, p),
        [r, o, p] => (role_arg(catalog, r)?, o, p),
        _ => return Ok(Value::Null),
    };
    let Some(role) = role else { return Ok(Value::Null) };
    let superuser = catalog.auth.roles.is_superuser(role);
    let list = text(list);
    let held = |access: &acl::Access, kind: ObjectKind, privs: u16, options: u16| {
        superuser || access.held(kind, role, privs) != 0 || access.grantable(kind, role, options) != 0
    };
    use acl::*;
    let result = match f {
        CatalogFunc::HasTablePrivilege | CatalogFunc::HasSequencePrivilege => {
            let sequence = f == CatalogFunc::HasSequencePrivilege;
            let allowed: &[u16] = if sequence {
                &[USAGE, SELECT, UPDATE]
            } else {
                &[SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER]
            };
            let (privs, options) = privileges(&list, allowed)?;
            match rel_arg(catalog, object)? {
                None => return Ok(Value::Null),
                Some(Rel::User(obj)) => {
                    if sequence && !matches!(obj, Object::Sequence(_)) {
                        return Err(Error::new(
                            ErrorKind::WrongObjectType,
                            format!("\"{}\" is not a sequence", obj.name()),
                        ));
                    }
                    match catalog.access_of(obj) {
                        Some(a) => held(a, obj.acl_kind(), privs, options),
                        None => superuser,
                    }
                }
                Some(Rel::Catalog(v)) => {
                    superuser
                        || (v != VirtualTable::PgAuthid && (privs | options) & SELECT != 0 && options == 0)
                }
            }
        }
        CatalogFunc::HasSchemaPrivilege => {
            let (privs, options) = privileges(&list, &[USAGE, CREATE])?;
            let name = match object {
                Value::Oid(o) => match *o {
                    super::PUBLIC_NS => "public".to_string(),
                    super::PG_CATALOG_NS => "pg_catalog".to_string(),
                    super::INFO_SCHEMA_NS => "information_schema".to_string(),
                    _ => return Ok(Value::Null),
                },
                other => text(other).trim_matches('"').to_string(),
            };
            match name.as_str() {
                "public" => held(&catalog.public, ObjectKind::Schema, privs, options),
                "pg_catalog" | "information_schema" => superuser || (privs & USAGE != 0 && options == 0),
                _ => {
                    return Err(Error::new(
                        ErrorKind::UndefinedSchema,
                        format!("schema \"{name}\" does not exist"),
                    ))
                }
            }
        }
        _ => return Ok(Value::Null),
    };
    Ok(Value::Bool(result))
}
