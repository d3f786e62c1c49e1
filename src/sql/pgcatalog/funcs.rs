//! The system information functions clients call next to the catalogs: `format_type`,
//! `pg_get_indexdef`, `pg_get_constraintdef`, `pg_get_expr`, `pg_table_is_visible`,
//! `pg_get_userbyid`, `obj_description`, `has_table_privilege`, the `reg*` output and input
//! conversions, and a few more.
//!
//! [`resolve`] is the binder's side (argument and result types, consulted when the core
//! function table has no entry); [`call`] evaluates with the statement's catalog. Deparsing
//! (`pg_get_*def`) writes what PostgreSQL's `pretty` mode writes for the objects ssidb has;
//! stored expressions are shown as they were written.

use super::tables::{constraints, type_name};
use super::{quote_ident, relation_name, relation_oid, INFO_SCHEMA_NS, PG_CATALOG_NS, PUBLIC_NS};
use crate::error::{Error, ErrorKind, Result};
use crate::sql::catalog::{Catalog, Object};
use crate::sql::types::{DataType, Value};

/// A catalog function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum CatalogFunc {
    GetUserById,
    /// pg_table_is_visible: false for information_schema (not in the search path).
    TableIsVisible,
    HasTablePrivilege,
    HasSequencePrivilege,
    HasSchemaPrivilege,
    FormatType,
    GetExpr,
    GetIndexDef,
    GetConstraintDef,
    GetViewDef,
    GetTriggerDef,
    StatisticsObjDefColumns,
    RelationIsPublishable,
    EncodingToChar,
    NullText,
    True,
    CurrentSchemas,
    PartitionAncestors,
    GetSerialSequence,
    RelationSize,
    SizePretty,
    QuoteIdent,
    False,
    /// oid -> relation name (regclass output).
    RegclassOut,
    /// oid -> type name (regtype output).
    RegtypeOut,
    /// oid -> schema name (regnamespace output).
    RegnamespaceOut,
    /// oid -> function name (regproc output).
    RegprocOut,
    /// name -> relation oid (regclass input).
    RegclassIn,
    /// name -> type oid (regtype input).
    RegtypeIn,
    /// name -> schema oid (regnamespace input).
    RegnamespaceIn,
}

/// Functions listed in pg_proc: name, argument count, result type OID.
pub const PROCS: &[(&str, i16, u32)] = &[
    ("pg_table_is_visible", 1, 16),
    ("pg_type_is_visible", 1, 16),
    ("pg_get_userbyid", 1, 19),
    ("format_type", 2, 25),
    ("pg_get_expr", 2, 25),
    ("pg_get_indexdef", 1, 25),
    ("pg_get_constraintdef", 1, 25),
    ("pg_get_viewdef", 1, 25),
    ("pg_encoding_to_char", 1, 19),
    ("obj_description", 2, 25),
    ("col_description", 2, 25),
    ("has_table_privilege", 2, 16),
    ("current_schema", 0, 19),
    ("current_schemas", 1, 1003),
    ("current_database", 0, 19),
    ("current_setting", 1, 25),
    ("pg_backend_pid", 0, 23),
    ("version", 0, 25),
    ("now", 0, 1184),
    ("nextval", 1, 20),
    ("currval", 1, 20),
    ("setval", 2, 20),
    ("generate_series", 2, 23),
    ("unnest", 1, 2283),
    ("array_to_string", 2, 25),
    ("length", 1, 23),
    ("lower", 1, 25),
    ("upper", 1, 25),
    ("count", 1, 20),
    ("sum", 1, 1700),
    ("max", 1, 2283),
    ("min", 1, 2283),
    ("avg", 1, 1700),
];

/// Keywords `quote_ident` must quote (PostgreSQL's reserved words).
const RESERVED: &[&str] = &[
    "all",
    "analyse",
    "analyze",
    "and",
    "any",
    "array",
    "as",
    "asc",
    "asymmetric",
    "both",
    "case",
    "cast",
    "check",
    "collate",
    "column",
    "constraint",
    "create",
    "current_catalog",
    "current_date",
    "current_role",
    "current_time",
    "current_timestamp",
    "current_user",
    "default",
    "deferrable",
    "desc",
    "distinct",
    "do",
    "else",
    "end",
    "except",
    "false",
    "fetch",
    "for",
    "foreign",
    "from",
    "grant",
    "group",
    "having",
    "in",
    "initially",
    "intersect",
    "into",
    "lateral",
    "leading",
    "limit",
    "localtime",
    "localtimestamp",
    "not",
    "null",
    "offset",
    "on",
    "only",
    "or",
    "order",
    "placing",
    "primary",
    "references",
    "returning",
    "select",
    "session_user",
    "some",
    "symmetric",
    "table",
    "then",
    "to",
    "trailing",
    "true",
    "union",
    "unique",
    "user",
    "using",
    "variadic",
    "when",
    "where",
    "window",
    "with",
];

/// Whether `quote_ident` must quote this lower-case word.
pub fn is_reserved(word: &str) -> bool {
    RESERVED.contains(&word)
}

/// Argument types and result type of a catalog function; `None` when `name` is not one.
pub fn resolve(name: &str, types: &[DataType]) -> Option<(CatalogFunc, Vec<DataType>, DataType)> {
    use CatalogFunc as F;
    use DataType::*;
    let n = types.len();
    let oid = |k: usize| vec![Oid; k];
    Some(match (name, n) {
        ("pg_table_is_visible", 1) => (F::TableIsVisible, oid(1), Bool),
        ("pg_type_is_visible" | "pg_function_is_visible", 1) => (F::True, oid(1), Bool),
        ("pg_get_userbyid", 1) => (F::GetUserById, oid(1), Name),
        ("format_type", 2) => (F::FormatType, vec![Oid, Int4], Text),
        ("pg_get_expr", 2) => (F::GetExpr, vec![Text, Oid], Text),
        ("pg_get_expr", 3) => (F::GetExpr, vec![Text, Oid, Bool], Text),
        ("pg_get_indexdef", 1) => (F::GetIndexDef, oid(1), Text),
        ("pg_get_indexdef", 3) => (F::GetIndexDef, vec![Oid, Int4, Bool], Text),
        ("pg_get_constraintdef", 1) => (F::GetConstraintDef, oid(1), Text),
        ("pg_get_constraintdef", 2) => (F::GetConstraintDef, vec![Oid, Bool], Text),
        ("pg_get_viewdef", 1) => (F::GetViewDef, oid(1), Text),
        ("pg_get_viewdef", 2) => (F::GetViewDef, vec![Oid, Bool], Text),
        ("pg_get_triggerdef", 1) => (F::GetTriggerDef, oid(1), Text),
        ("pg_get_triggerdef", 2) => (F::GetTriggerDef, vec![Oid, Bool], Text),
        ("pg_get_statisticsobjdef_columns", 1) => (F::StatisticsObjDefColumns, oid(1), Text),
        ("pg_relation_is_publishable", 1) => (F::RelationIsPublishable, oid(1), Bool),
        ("pg_encoding_to_char", 1) => (F::EncodingToChar, vec![Int4], Name),
        ("obj_description", 1) => (F::NullText, oid(1), Text),
        ("obj_description" | "shobj_description", 2) => (F::NullText, vec![Oid, Name], Text),
        ("col_description", 2) => (F::NullText, vec![Oid, Int4], Text),
        ("has_table_privilege", 2 | 3) => (F::HasTablePrivilege, super::privileges::arg_types(types), Bool),
        ("has_sequence_privilege", 2 | 3) => {
            (F::HasSequencePrivilege, super::privileges::arg_types(types), Bool)
        }
        ("has_schema_privilege", 2 | 3) => (F::HasSchemaPrivilege, super::privileges::arg_types(types), Bool),
        ("has_database_privilege", 2) => (F::True, vec![Text, Text], Bool),
        ("has_database_privilege" | "has_column_privilege", 3) => (F::True, vec![Name, Text, Text], Bool),
        ("pg_has_role", 2) => (F::True, vec![Text, Text], Bool),
        ("pg_has_role", 3) => (F::True, vec![Name, Text, Text], Bool),
        ("current_schemas", 1) => (F::CurrentSchemas, vec![Bool], Array(Box::new(Name))),
        ("pg_partition_ancestors", 1) => (F::PartitionAncestors, oid(1), Oid),
        ("pg_get_serial_sequence", 2) => (F::GetSerialSequence, vec![Text, Text], Text),
        ("pg_relation_size" | "pg_total_relation_size" | "pg_table_size" | "pg_indexes_size", 1) => {
            (F::RelationSize, oid(1), Int8)
        }
        ("pg_size_pretty", 1) => (F::SizePretty, vec![Int8], Text),
        ("quote_ident", 1) => (F::QuoteIdent, vec![Text], Text),
        ("pg_is_in_recovery", 0) => (F::False, vec![], Bool),
        _ => return None,
    })
}

/// Whether a NULL argument does not make the result NULL.
fn non_strict(f: CatalogFunc) -> bool {
    matches!(f, CatalogFunc::FormatType | CatalogFunc::NullText | CatalogFunc::True | CatalogFunc::False)
}

fn oid_arg(v: &Value) -> u32 {
    match v {
        Value::Oid(o) => *o,
        Value::Int4(i) => *i as u32,
        Value::Int8(i) => *i as u32,
        Value::Int2(i) => *i as u32,
        Value::Text(s) => s.trim().parse().unwrap_or(0),
        _ => 0,
    }
}

fn text_arg(v: &Value) -> String {
    match v {
        Value::Text(s) => s.clone(),
        other => format!("{other:?}"),
    }
}

/// Evaluates a catalog function against the statement's catalog.
pub fn call(catalog: &Catalog, f: CatalogFunc, args: &[Value]) -> Result<Value> {
    use CatalogFunc as F;
    if !non_strict(f) && args.iter().any(|a| a.is_null()) {
        return Ok(Value::Null);
    }
    let a = |i: usize| args.get(i).cloned().unwrap_or(Value::Null);
    let text = |s: Option<String>| s.map(Value::Text).unwrap_or(Value::Null);
    Ok(match f {
        F::True => Value::Bool(true),
        F::False => Value::Bool(false),
        F::NullText | F::GetTriggerDef | F::StatisticsObjDefColumns | F::PartitionAncestors => Value::Null,
        F::TableIsVisible => {
            let o = oid_arg(&a(0));
            Value::Bool(
                catalog.by_oid(o).is_some() || super::all().any(|r| r.2 == o && r.0 != INFO_SCHEMA_NS),
            )
        }
        F::GetUserById => {
            let o = oid_arg(&a(0));
            Value::Text(catalog.auth.roles.name(o).unwrap_or_else(|| format!("unknown (OID={o})")))
        }
        F::HasTablePrivilege | F::HasSequencePrivilege | F::HasSchemaPrivilege => {
            return super::privileges::call(catalog, f, args)
        }
        F::FormatType => {
            if a(0).is_null() {
                return Ok(Value::Null);
            }
            let typmod = match a(1) {
                Value::Int4(m) => m,
                _ => -1,
            };
            Value::Text(format_type(oid_arg(&a(0)), typmod))
        }
        F::GetExpr => Value::Text(expr_text(&text_arg(&a(0)))),
        F::GetIndexDef => {
            // pretty (third argument): the table is not schema-qualified when visible.
            let pretty = a(2) == Value::Bool(true);
            text(index_def(catalog, oid_arg(&a(0))).map(|d| {
                if pretty {
                    d.replacen(" ON public.", " ON ", 1)
                } else {
                    d
                }
            }))
        }
        F::GetConstraintDef => text(constraint_def(catalog, oid_arg(&a(0)))),
        F::GetViewDef => text(match catalog.by_oid(oid_arg(&a(0))) {
            Some(Object::View(v)) => Some(format!(" {};", v.query)),
            _ => None,
        }),
        F::RelationIsPublishable => {
            Value::Bool(matches!(catalog.by_oid(oid_arg(&a(0))), Some(Object::Table(_))))
        }
        F::EncodingToChar => Value::Text(
            match a(0) {
                Value::Int4(6) => "UTF8",
                Value::Int4(0) => "SQL_ASCII",
                _ => "",
            }
            .into(),
        ),
        F::CurrentSchemas => {
            let mut v = vec![];
            if a(0) == Value::Bool(true) {
                v.push(Value::Text("pg_catalog".into()));
            }
            v.push(Value::Text("public".into()));
            Value::Array(v)
        }
        F::GetSerialSequence => {
            let table = text_arg(&a(0));
            let table = table.trim_matches('"');
            let table = table.strip_prefix("public.").unwrap_or(table);
            let col = text_arg(&a(1));
            let owner = catalog.table(table).and_then(|t| t.column_index(&col).map(|c| (t.oid, c)));
            text(owner.and_then(|o| {
                catalog.objects.iter().find_map(|x| match x {
                    Object::Sequence(s) if s.owned_by == Some(o) => {
                        Some(format!("public.{}", quote_ident(&s.name)))
                    }
                    _ => None,
                })
            }))
        }
        F::RelationSize => Value::Int8(0),
        F::SizePretty => Value::Text(size_pretty(match a(0) {
            Value::Int8(n) => n,
            _ => 0,
        })),
        F::QuoteIdent => Value::Text(quote_ident(&text_arg(&a(0)))),
        F::RegclassOut => {
            let o = oid_arg(&a(0));
            Value::Text(relation_name(catalog, o).unwrap_or_else(|| o.to_string()))
        }
        F::RegtypeOut => {
            let o = oid_arg(&a(0));
            Value::Text(if o == 0 { "-".into() } else { type_name(o).unwrap_or_else(|| o.to_string()) })
        }
        F::RegnamespaceOut => Value::Text(namespace_name(oid_arg(&a(0)))),
        F::RegprocOut => {
            let o = oid_arg(&a(0));
            Value::Text(match o.checked_sub(90_000).and_then(|i| PROCS.get(i as usize)) {
                Some(p) => p.0.to_string(),
                None if o == 0 => "-".into(),
                None => o.to_string(),
            })
        }
        F::RegclassIn => Value::Oid(regclass_in(catalog, &text_arg(&a(0)))?),
        F::RegtypeIn => Value::Oid(regtype_in(&text_arg(&a(0)))?),
        F::RegnamespaceIn => Value::Oid(regnamespace_in(&text_arg(&a(0)))?),
    })
}

fn size_pretty(n: i64) -> String {
    let mut v = n;
    for unit in ["bytes", "kB", "MB", "GB", "TB"] {
        if v.abs() < 10 * 1024 || unit == "TB" {
            return format!("{v} {unit}");
        }
        v = (v + 512) / 1024;
    }
    format!("{v} TB")
}

/// `format_type(oid, typmod)`.
pub fn format_type(oid: u32, typmod: i32) -> String {
    let with_mod = |base: &str| -> String {
        if typmod < 4 {
            return base.to_string();
        }
        match oid {
            1700 => {
                let m = typmod - 4;
                format!("{base}({},{})", (m >> 16) & 0xffff, m & 0xffff)
            }
            _ => format!("{base}({})", typmod - 4),
        }
    };
    match oid {
        1043 => with_mod("character varying"),
        1042 => with_mod("character"),
        1700 => with_mod("numeric"),
        18 => "\"char\"".into(),
        0 => "-".into(),
        o => type_name(o).unwrap_or_else(|| "???".into()),
    }
}

/// A schema's name by OID.
pub fn namespace_name(oid: u32) -> String {
    match oid {
        PG_CATALOG_NS => "pg_catalog".into(),
        PUBLIC_NS => "public".into(),
        INFO_SCHEMA_NS => "information_schema".into(),
        super::PG_TOAST_NS => "pg_toast".into(),
        o => o.to_string(),
    }
}

/// A stored expression as `pg_get_expr` shows it. Defaults are stored as written; a serial
/// column's `nextval('s')` is shown with PostgreSQL's `::regclass`.
pub fn expr_text(stored: &str) -> String {
    if let Some(inner) = stored.strip_prefix("nextval('").and_then(|s| s.strip_suffix("')")) {
        if !inner.contains('\'') {
            return format!("nextval('{inner}'::regclass)");
        }
    }
    stored.to_string()
}

fn column_list(catalog: &Catalog, table: u32, attnums: &[i16]) -> String {
    let t = catalog.table_by_oid(table);
    attnums
        .iter()
        .map(|a| {
            t.and_then(|t| t.columns.get((*a as usize).wrapping_sub(1)))
                .map(|c| quote_ident(&c.name))
                .unwrap_or_else(|| a.to_string())
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `pg_get_indexdef(oid)`: `CREATE [UNIQUE] INDEX name ON public.t USING btree (cols)`.
pub fn index_def(catalog: &Catalog, oid: u32) -> Option<String> {
    let Some(Object::Index(i)) = catalog.by_oid(oid) else { return None };
    let t = catalog.table_by_oid(i.table)?;
    let cols: Vec<i16> = i.columns.iter().map(|c| *c as i16 + 1).collect();
    Some(format!(
        "CREATE {}INDEX {} ON public.{} USING btree ({})",
        if i.unique { "UNIQUE " } else { "" },
        quote_ident(&i.name),
        quote_ident(&t.name),
        column_list(catalog, t.oid, &cols)
    ))
}

/// `pg_get_constraintdef(oid)`.
pub fn constraint_def(catalog: &Catalog, oid: u32) -> Option<String> {
    let c = constraints(catalog).into_iter().find(|c| c.oid == oid)?;
    Some(match c.kind {
        'p' => format!("PRIMARY KEY ({})", column_list(catalog, c.table, &c.columns)),
        'u' => format!("UNIQUE ({})", column_list(catalog, c.table, &c.columns)),
        'c' => format!("CHECK ({})", c.expr.unwrap_or_default()),
        _ => {
            let target = relation_name(catalog, c.ref_table).unwrap_or_default();
            format!(
                "FOREIGN KEY ({}) REFERENCES {}({}){}",
                column_list(catalog, c.table, &c.columns),
                target,
                column_list(catalog, c.ref_table, &c.ref_columns),
                if c.cascade { " ON DELETE CASCADE" } else { "" }
            )
        }
    })
}

/// Splits a possibly qualified, possibly quoted name into (schema, name), folding unquoted
/// parts to lower case.
fn split_name(s: &str) -> (Option<String>, String) {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = s.trim().chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            '.' if !quoted => parts.push(std::mem::take(&mut cur)),
            c if quoted => cur.push(c),
            c => cur.push(c.to_ascii_lowercase()),
        }
    }
    parts.push(cur);
    let name = parts.pop().unwrap_or_default();
    (parts.pop(), name)
}

/// regclass input: a relation name (or a number) to its OID; 42P01 when there is none.
pub fn regclass_in(catalog: &Catalog, s: &str) -> Result<u32> {
    if let Ok(n) = s.trim().parse::<u32>() {
        return Ok(n);
    }
    let (schema, name) = split_name(s);
    relation_oid(catalog, schema.as_deref(), &name).ok_or_else(|| {
        Error::new(ErrorKind::UndefinedTable, format!("relation \"{}\" does not exist", s.trim()))
    })
}

/// regtype input: a type name to its OID; 42704 when there is none.
pub fn regtype_in(s: &str) -> Result<u32> {
    if let Ok(n) = s.trim().parse::<u32>() {
        return Ok(n);
    }
    let t = s.trim().to_ascii_lowercase();
    let (base, array) = match t.strip_suffix("[]") {
        Some(b) => (b.trim().to_string(), true),
        None => (t.clone(), false),
    };
    let base = base.strip_prefix("pg_catalog.").unwrap_or(&base).to_string();
    let found = crate::sql::types::names::from_name(&base)
        .map(|t| t.oid())
        .or_else(|| super::tables::TYPES.iter().find(|t| t.name == base).map(|t| t.oid));
    let oid = found.and_then(|o| {
        if array {
            super::tables::TYPES.iter().find(|t| t.oid == o).map(|t| t.array).filter(|a| *a != 0)
        } else {
            Some(o)
        }
    });
    oid.ok_or_else(|| Error::new(ErrorKind::UndefinedObject, format!("type \"{}\" does not exist", s.trim())))
}

/// regnamespace input: a schema name to its OID; 3F000 when there is none.
pub fn regnamespace_in(s: &str) -> Result<u32> {
    if let Ok(n) = s.trim().parse::<u32>() {
        return Ok(n);
    }
    let (_, name) = split_name(s);
    Ok(match name.as_str() {
        "pg_catalog" => PG_CATALOG_NS,
        "public" => PUBLIC_NS,
        "information_schema" => INFO_SCHEMA_NS,
        "pg_toast" => super::PG_TOAST_NS,
        _ => {
            return Err(Error::new(
                ErrorKind::UndefinedSchema,
                format!("schema \"{}\" does not exist", s.trim()),
            ))
        }
    })
}
