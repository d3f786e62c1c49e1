//! Rows of the `pg_catalog` relations that describe schema objects: relations, columns,
//! defaults, types, indexes, constraints, roles, access methods, collations and functions.
//!
//! User objects come from the statement's [`Catalog`]; built-in objects (types, namespaces,
//! roles, the catalog relations themselves) from the fixed tables here, with PostgreSQL 15's
//! OIDs. Every function is pure: same catalog, same rows.

use super::{
    all, constraint_oid, index_constraint_oid, objects, RowBuilder, VirtualTable, BTREE_AM,
    DEFAULT_COLLATION, HEAP_AM, INFO_SCHEMA_NS, PG_CATALOG_NS, PG_TOAST_NS, PUBLIC_NS, SUPERUSER_OID,
};
use crate::sql::auth::acl::{self, Access, ObjectKind};
use crate::sql::catalog::{Catalog, ColumnDef, Object, TableDef};
use crate::sql::types::{DataType, Value};

/// A built-in type: OID, typname, typlen, typbyval, typcategory, preferred, element OID
/// (arrays), array OID, collation.
pub struct BuiltinType {
    /// OID.
    pub oid: u32,
    /// typname.
    pub name: &'static str,
    /// typlen (-1 varlena, -2 cstring-like).
    pub len: i16,
    /// Passed by value.
    pub byval: bool,
    /// typcategory.
    pub category: char,
    /// typispreferred.
    pub preferred: bool,
    /// typelem (arrays), else 0.
    pub elem: u32,
    /// typarray, else 0.
    pub array: u32,
    /// typcollation.
    pub collation: u32,
}

const fn ty(oid: u32, name: &'static str, len: i16, byval: bool, category: char, array: u32) -> BuiltinType {
    BuiltinType { oid, name, len, byval, category, preferred: false, elem: 0, array, collation: 0 }
}

/// The built-in scalar types clients may see (arrays are derived from `array`).
pub const TYPES: &[BuiltinType] = &[
    ty(16, "bool", 1, true, 'B', 1000),
    ty(17, "bytea", -1, false, 'U', 1001),
    ty(18, "char", 1, true, 'Z', 1002),
    BuiltinType { collation: 950, ..ty(19, "name", 64, false, 'S', 1003) },
    ty(20, "int8", 8, true, 'N', 1016),
    ty(21, "int2", 2, true, 'N', 1005),
    ty(22, "int2vector", -1, false, 'A', 1006),
    ty(23, "int4", 4, true, 'N', 1007),
    ty(24, "regproc", 4, true, 'N', 1008),
    BuiltinType { preferred: true, collation: DEFAULT_COLLATION, ..ty(25, "text", -1, false, 'S', 1009) },
    BuiltinType { preferred: true, ..ty(26, "oid", 4, true, 'N', 1028) },
    ty(28, "xid", 4, true, 'U', 1011),
    ty(30, "oidvector", -1, false, 'A', 1013),
    ty(194, "pg_node_tree", -1, false, 'Z', 0),
    ty(700, "float4", 4, true, 'N', 1021),
    BuiltinType { preferred: true, ..ty(701, "float8", 8, true, 'N', 1022) },
    ty(705, "unknown", -2, false, 'X', 0),
    BuiltinType { collation: DEFAULT_COLLATION, ..ty(1042, "bpchar", -1, false, 'S', 1014) },
    BuiltinType { collation: DEFAULT_COLLATION, ..ty(1043, "varchar", -1, false, 'S', 1015) },
    ty(1082, "date", 4, true, 'D', 1182),
    ty(1114, "timestamp", 8, true, 'D', 1115),
    BuiltinType { preferred: true, ..ty(1184, "timestamptz", 8, true, 'D', 1185) },
    BuiltinType { preferred: true, ..ty(1186, "interval", 16, false, 'T', 1187) },
    ty(1700, "numeric", -1, false, 'N', 1231),
    ty(2205, "regclass", 4, true, 'N', 2210),
    ty(2206, "regtype", 4, true, 'N', 2211),
    ty(4089, "regnamespace", 4, true, 'N', 4090),
    ty(2249, "record", -1, false, 'P', 2287),
    ty(2278, "void", 4, true, 'P', 0),
];

/// A built-in type by OID.
pub fn builtin_type(oid: u32) -> Option<&'static BuiltinType> {
    TYPES.iter().find(|t| t.oid == oid)
}

/// A type's name by OID (regtype output), arrays included: `integer`, `text[]`.
pub fn type_name(oid: u32) -> Option<String> {
    if let Some(t) = DataType::from_oid(oid) {
        return Some(t.name());
    }
    if let Some(t) = builtin_type(oid) {
        return Some(t.name.to_string());
    }
    TYPES.iter().find(|t| t.array == oid).map(|t| format!("{}[]", t.name))
}

/// `atttypmod` of a column type (-1 when it has none).
pub fn typmod(t: &DataType) -> i32 {
    match t {
        DataType::Varchar(Some(n)) | DataType::Char(Some(n)) => *n as i32 + 4,
        DataType::Numeric(Some((p, s))) => (((*p as i32) << 16) | *s as i32) + 4,
        _ => -1,
    }
}

/// `attstorage`: plain for fixed-length types, main for numeric, extended for other varlenas.
fn storage(t: &DataType) -> &'static str {
    match t {
        DataType::Numeric(_) => "m",
        DataType::Text | DataType::Varchar(_) | DataType::Char(_) | DataType::Bytea | DataType::Array(_) => {
            "x"
        }
        _ => "p",
    }
}

fn collation_of(t: &DataType) -> u32 {
    match t {
        DataType::Text | DataType::Varchar(_) | DataType::Char(_) => DEFAULT_COLLATION,
        DataType::Name => 950,
        _ => 0,
    }
}

fn type_len(t: &DataType) -> i16 {
    builtin_type(t.oid()).map(|b| b.len).unwrap_or(-1)
}

/// Synthetic OID of the default of column `attnum` of `table`.
pub fn attrdef_oid(table: u32, attnum: usize) -> u32 {
    0xA000_0000u32.wrapping_add(table.wrapping_sub(16_384).wrapping_mul(1_600)).wrapping_add(attnum as u32)
}

/// A view's columns, found by binding its query against `catalog`.
pub fn view_columns(catalog: &Catalog, v: &crate::sql::catalog::ViewDef) -> Vec<(String, DataType)> {
    let Ok(sqlparser::ast::Statement::Query(q)) = crate::sql::engine::parse_one(&v.query) else {
        return vec![];
    };
    let Ok((bound, _)) = crate::sql::engine::bind_query(catalog, &q, &[], Default::default()) else {
        return vec![];
    };
    bound
        .columns
        .into_iter()
        .enumerate()
        .map(|(i, c)| (v.columns.get(i).cloned().unwrap_or(c.name), c.data_type))
        .collect()
}

/// Rows of a catalog relation that depends only on the catalog.
pub fn rows(catalog: &Catalog, v: VirtualTable) -> Vec<Vec<Value>> {
    use VirtualTable as V;
    let mut b = RowBuilder::new(v);
    let mut out = Vec::new();
    match v {
        V::PgNamespace => {
            for (oid, name, owner) in [
                (PG_CATALOG_NS, "pg_catalog", SUPERUSER_OID),
                (PG_TOAST_NS, "pg_toast", SUPERUSER_OID),
                (PUBLIC_NS, "public", catalog.public.owner),
                (INFO_SCHEMA_NS, "information_schema", SUPERUSER_OID),
            ] {
                b.oid("oid", oid).text("nspname", name).oid("nspowner", owner);
                if oid == PUBLIC_NS {
                    b.set("nspacl", acl_value(catalog, &catalog.public, ObjectKind::Schema));
                }
                out.push(b.take());
            }
        }
        V::PgClass => pg_class(catalog, &mut b, &mut out),
        V::PgAttribute => pg_attribute(catalog, &mut b, &mut out),
        V::PgAttrdef => {
            for t in tables(catalog) {
                for (i, c) in t.columns.iter().enumerate() {
                    if let Some(d) = &c.default {
                        b.oid("oid", attrdef_oid(t.oid, i + 1)).oid("adrelid", t.oid);
                        out.push(b.set("adnum", Value::Int2(i as i16 + 1)).text("adbin", d).take());
                    }
                }
            }
        }
        V::PgType => pg_type(&mut b, &mut out),
        V::PgIndex => {
            for o in objects(catalog) {
                let Object::Index(i) = o else { continue };
                let keys: Vec<Value> = i.columns.iter().map(|c| Value::Int2(*c as i16 + 1)).collect();
                let n = Value::Int2(i.columns.len() as i16);
                b.oid("indexrelid", i.oid).oid("indrelid", i.table).set("indnatts", n.clone());
                b.set("indnkeyatts", n).bool("indisunique", i.unique).bool("indisprimary", i.primary);
                b.bool("indimmediate", true).bool("indisvalid", true).bool("indisready", true);
                b.bool("indislive", true).set("indkey", Value::Array(keys));
                let zeros = Value::Array(i.columns.iter().map(|_| Value::Oid(0)).collect());
                b.set("indcollation", zeros.clone()).set("indclass", zeros);
                let opts = Value::Array(i.columns.iter().map(|_| Value::Int2(0)).collect());
                out.push(b.set("indoption", opts).take());
            }
        }
        V::PgConstraint => pg_constraint(catalog, &mut b, &mut out),
        V::PgAm => {
            for (oid, name, kind) in [(HEAP_AM, "heap", "t"), (BTREE_AM, "btree", "i"), (405, "hash", "i")] {
                out.push(
                    b.oid("oid", oid)
                        .text("amname", name)
                        .text("amhandler", name)
                        .text("amtype", kind)
                        .take(),
                );
            }
        }
        V::PgRoles | V::PgAuthid | V::PgUser => roles(catalog, v, &mut b, &mut out),
        V::PgCollation => {
            for (oid, name, provider, coll) in
                [(DEFAULT_COLLATION, "default", "d", ""), (950, "C", "c", "C"), (951, "POSIX", "c", "POSIX")]
            {
                b.oid("oid", oid).text("collname", name).oid("collnamespace", PG_CATALOG_NS);
                b.oid("collowner", SUPERUSER_OID).text("collprovider", provider);
                b.bool("collisdeterministic", true).set("collencoding", Value::Int4(-1));
                if !coll.is_empty() {
                    b.text("collcollate", coll).text("collctype", coll);
                }
                out.push(b.take());
            }
        }
        V::PgProc => {
            for (i, (name, nargs, ret)) in super::funcs::PROCS.iter().enumerate() {
                b.oid("oid", 90_000 + i as u32).text("proname", name).oid("pronamespace", PG_CATALOG_NS);
                b.oid("proowner", SUPERUSER_OID).oid("prolang", 12).text("prokind", "f");
                b.bool("proisstrict", true).text("provolatile", "s").text("proparallel", "s");
                b.set("pronargs", Value::Int2(*nargs)).oid("prorettype", *ret);
                b.set("proargtypes", Value::Array(vec![])).text("prosrc", name);
                out.push(b.take());
            }
        }
        V::PgTablespace => {
            for (oid, name) in [(1663, "pg_default"), (1664, "pg_global")] {
                out.push(b.oid("oid", oid).text("spcname", name).oid("spcowner", SUPERUSER_OID).take());
            }
        }
        V::PgSequence => {
            for o in objects(catalog) {
                let Object::Sequence(s) = o else { continue };
                b.oid("seqrelid", s.oid).oid("seqtypid", 20).set("seqstart", Value::Int8(s.start));
                b.set("seqincrement", Value::Int8(s.increment)).set("seqmax", Value::Int8(s.max));
                b.set("seqmin", Value::Int8(s.min)).set("seqcache", Value::Int8(1));
                out.push(b.bool("seqcycle", s.cycle).take());
            }
        }
        V::PgViews => {
            for o in objects(catalog) {
                let Object::View(vd) = o else { continue };
                b.text("schemaname", "public").text("viewname", &vd.name);
                b.text("viewowner", &role_name(catalog, vd.access.owner));
                out.push(b.text("definition", &format!(" {};", vd.query)).take());
            }
        }
        V::PgTables => {
            for t in tables(catalog) {
                b.text("schemaname", "public").text("tablename", &t.name);
                b.text("tableowner", &role_name(catalog, t.access.owner));
                out.push(b.bool("hasindexes", !catalog.indexes_of(t.oid).is_empty()).take());
            }
        }
        V::PgIndexes => {
            for o in objects(catalog) {
                let Object::Index(i) = o else { continue };
                let Some(t) = catalog.table_by_oid(i.table) else { continue };
                b.text("schemaname", "public").text("tablename", &t.name).text("indexname", &i.name);
                out.push(
                    b.text("indexdef", &super::funcs::index_def(catalog, i.oid).unwrap_or_default()).take(),
                );
            }
        }
        // pg_description, pg_auth_members and the catalogs of features ssidb lacks are empty.
        _ => {}
    }
    out
}

/// The user tables in OID order.
pub fn tables(catalog: &Catalog) -> Vec<&TableDef> {
    objects(catalog)
        .into_iter()
        .filter_map(|o| match o {
            Object::Table(t) => Some(t),
            _ => None,
        })
        .collect()
}

fn pg_class(catalog: &Catalog, b: &mut RowBuilder, out: &mut Vec<Vec<Value>>) {
    for o in objects(catalog) {
        let (kind, am, natts, checks, has_index) = match o {
            Object::Table(t) => {
                ("r", HEAP_AM, t.columns.len(), t.checks.len(), !catalog.indexes_of(t.oid).is_empty())
            }
            Object::Index(i) => ("i", BTREE_AM, i.columns.len(), 0, false),
            Object::View(v) => ("v", 0, view_columns(catalog, v).len(), 0, false),
            Object::Sequence(_) => ("S", 0, 3, 0, false),
        };
        b.oid("oid", o.oid()).text("relname", o.name()).oid("relnamespace", PUBLIC_NS);
        let owner = catalog.access_of(o).map(|a| a.owner).unwrap_or(SUPERUSER_OID);
        b.oid("relowner", owner).oid("relam", am).oid("relfilenode", o.oid());
        if let Some(a) = o.access() {
            if a.acl.is_some() {
                b.set("relacl", acl_value(catalog, a, o.acl_kind()));
            }
        }
        b.set("reltuples", Value::Float4(-1.0)).bool("relhasindex", has_index);
        b.text("relpersistence", "p").text("relkind", kind).set("relnatts", Value::Int2(natts as i16));
        b.set("relchecks", Value::Int2(checks as i16)).bool("relispopulated", true);
        // Foreign keys are triggers in PostgreSQL, on both tables (psql lists them only then).
        if let Object::Table(t) = o {
            b.bool("relhastriggers", !t.foreign_keys.is_empty() || !catalog.referencing(t.oid).is_empty());
        }
        out.push(b.text("relreplident", if kind == "r" { "d" } else { "n" }).take());
    }
    for (ns, name, oid, kind, v) in all() {
        b.oid("oid", oid).text("relname", name).oid("relnamespace", ns).oid("relowner", SUPERUSER_OID);
        b.oid("relam", if kind == 'r' { HEAP_AM } else { 0 }).text("relpersistence", "p");
        b.text("relkind", &kind.to_string()).set("relnatts", Value::Int2(v.columns().len() as i16));
        out.push(b.bool("relispopulated", true).text("relreplident", "n").take());
    }
}

fn attribute_row(
    b: &mut RowBuilder,
    rel: u32,
    attnum: usize,
    name: &str,
    t: &DataType,
    col: Option<&ColumnDef>,
) {
    b.oid("attrelid", rel).text("attname", name).oid("atttypid", t.oid());
    b.set("attstattarget", Value::Int4(-1)).set("attlen", Value::Int2(type_len(t)));
    b.set("attnum", Value::Int2(attnum as i16)).set("attcacheoff", Value::Int4(-1));
    b.set("atttypmod", Value::Int4(typmod(t)))
        .bool("attbyval", builtin_type(t.oid()).is_some_and(|x| x.byval));
    b.set("attndims", Value::Int4(matches!(t, DataType::Array(_)) as i32));
    b.text("attalign", "i").text("attstorage", storage(t)).text("attcompression", "");
    if let Some(c) = col {
        b.bool("attnotnull", c.not_null).bool("atthasdef", c.default.is_some());
        b.text(
            "attidentity",
            match c.identity {
                Some(true) => "a",
                Some(false) => "d",
                None => "",
            },
        );
    } else {
        b.text("attidentity", "");
    }
    b.text("attgenerated", "").bool("attislocal", true).oid("attcollation", collation_of(t));
}

fn pg_attribute(catalog: &Catalog, b: &mut RowBuilder, out: &mut Vec<Vec<Value>>) {
    for o in objects(catalog) {
        match o {
            Object::Table(t) => {
                for (i, c) in t.columns.iter().enumerate() {
                    attribute_row(b, t.oid, i + 1, &c.name, &c.data_type, Some(c));
                    out.push(b.take());
                }
            }
            Object::Index(ix) => {
                let Some(t) = catalog.table_by_oid(ix.table) else { continue };
                for (i, c) in ix.columns.iter().enumerate() {
                    let Some(col) = t.columns.get(*c) else { continue };
                    attribute_row(b, ix.oid, i + 1, &col.name, &col.data_type, None);
                    out.push(b.take());
                }
            }
            Object::View(v) => {
                for (i, (name, t)) in view_columns(catalog, v).iter().enumerate() {
                    attribute_row(b, v.oid, i + 1, name, t, None);
                    out.push(b.take());
                }
            }
            Object::Sequence(s) => {
                for (i, (name, t)) in [
                    ("last_value", DataType::Int8),
                    ("log_cnt", DataType::Int8),
                    ("is_called", DataType::Bool),
                ]
                .iter()
                .enumerate()
                {
                    attribute_row(b, s.oid, i + 1, name, t, None);
                    b.bool("attnotnull", true);
                    out.push(b.take());
                }
            }
        }
    }
    for (_, _, oid, _, v) in all() {
        for (i, (name, t)) in v.columns().iter().enumerate() {
            attribute_row(b, oid, i + 1, name, t, None);
            out.push(b.take());
        }
    }
}

fn pg_type(b: &mut RowBuilder, out: &mut Vec<Vec<Value>>) {
    let mut push = |b: &mut RowBuilder, t: &BuiltinType, name: String, elem: u32, array: u32| {
        b.oid("oid", t.oid).text("typname", &name).oid("typnamespace", PG_CATALOG_NS);
        b.oid("typowner", SUPERUSER_OID).set("typlen", Value::Int2(t.len)).bool("typbyval", t.byval);
        b.text("typtype", if t.category == 'P' { "p" } else { "b" })
            .text("typcategory", &t.category.to_string());
        b.bool("typispreferred", t.preferred).bool("typisdefined", true).text("typdelim", ",");
        b.oid("typelem", elem).oid("typarray", array).text("typinput", &format!("{name}in"));
        b.text("typoutput", &format!("{name}out")).text("typalign", if t.len == 8 { "d" } else { "i" });
        b.text("typstorage", if t.len == -1 { "x" } else { "p" }).set("typtypmod", Value::Int4(-1));
        out.push(b.oid("typcollation", t.collation).take());
    };
    for t in TYPES {
        push(b, t, t.name.to_string(), t.elem, t.array);
        if t.array != 0 {
            let arr =
                BuiltinType { oid: t.array, len: -1, byval: false, category: 'A', preferred: false, ..*t };
            push(b, &arr, format!("_{}", t.name), t.oid, 0);
        }
    }
}

/// A role's name for owner columns (its OID when it no longer exists).
fn role_name(catalog: &Catalog, oid: u32) -> String {
    catalog.auth.roles.name(oid).unwrap_or_else(|| oid.to_string())
}

/// An ACL as `aclitem[]` text items (PostgreSQL's output form).
pub fn acl_value(catalog: &Catalog, access: &Access, kind: ObjectKind) -> Value {
    let roles = &catalog.auth.roles;
    let name = |oid: u32| roles.name(oid);
    Value::Array(access.effective(kind).iter().map(|i| Value::Text(acl::item_text(i, &name))).collect())
}

/// pg_roles, pg_authid and pg_user. Only pg_authid (superusers only, checked by the binder) shows
/// verifiers; the views show `********` as PostgreSQL's do.
fn roles(catalog: &Catalog, v: VirtualTable, b: &mut RowBuilder, out: &mut Vec<Vec<Value>>) {
    for r in catalog.auth.roles.all() {
        if v == VirtualTable::PgUser {
            if !r.login {
                continue;
            }
            b.text("usename", &r.name).oid("usesysid", r.oid).bool("usecreatedb", r.createdb);
            b.bool("usesuper", r.superuser).bool("userepl", r.replication).bool("usebypassrls", r.bypassrls);
            out.push(b.text("passwd", "********").take());
            continue;
        }
        b.oid("oid", r.oid)
            .text("rolname", &r.name)
            .bool("rolsuper", r.superuser)
            .bool("rolinherit", r.inherit);
        b.bool("rolcreaterole", r.createrole).bool("rolcreatedb", r.createdb).bool("rolcanlogin", r.login);
        b.bool("rolreplication", r.replication)
            .bool("rolbypassrls", r.bypassrls)
            .set("rolconnlimit", Value::Int4(r.connlimit));
        match v {
            VirtualTable::PgRoles => {
                b.text("rolpassword", "********");
            }
            _ => {
                if let Some(ver) = &r.verifier {
                    b.text("rolpassword", ver);
                }
            }
        }
        out.push(b.take());
    }
}

/// One constraint as pg_constraint describes it.
pub struct Constraint {
    /// Synthetic OID.
    pub oid: u32,
    /// Name.
    pub name: String,
    /// contype: p, u, c, f.
    pub kind: char,
    /// The table.
    pub table: u32,
    /// Backing index (p, u) or the referenced table's key index (f).
    pub index: u32,
    /// Constrained columns (attnums).
    pub columns: Vec<i16>,
    /// Referenced table (f).
    pub ref_table: u32,
    /// Referenced columns (f).
    pub ref_columns: Vec<i16>,
    /// ON DELETE CASCADE (f).
    pub cascade: bool,
    /// CHECK expression (c).
    pub expr: Option<String>,
}

/// Every constraint of every table, in table OID order.
pub fn constraints(catalog: &Catalog) -> Vec<Constraint> {
    let mut out = Vec::new();
    for t in tables(catalog) {
        let attnums = |cols: &[usize]| cols.iter().map(|c| *c as i16 + 1).collect::<Vec<_>>();
        let mut idx = catalog.indexes_of(t.oid);
        idx.sort_by_key(|i| i.oid);
        for i in idx.iter().filter(|i| i.constraint || i.primary) {
            out.push(Constraint {
                oid: index_constraint_oid(i.oid),
                name: i.name.clone(),
                kind: if i.primary { 'p' } else { 'u' },
                table: t.oid,
                index: i.oid,
                columns: attnums(&i.columns),
                ref_table: 0,
                ref_columns: vec![],
                cascade: false,
                expr: None,
            });
        }
        for (k, c) in t.checks.iter().enumerate() {
            out.push(Constraint {
                oid: constraint_oid(t.oid, k),
                name: c.name.clone(),
                kind: 'c',
                table: t.oid,
                index: 0,
                columns: vec![],
                ref_table: 0,
                ref_columns: vec![],
                cascade: false,
                expr: Some(c.expr.clone()),
            });
        }
        for (k, f) in t.foreign_keys.iter().enumerate() {
            let ref_index = catalog
                .indexes_of(f.ref_table)
                .into_iter()
                .find(|i| i.unique && i.columns == f.ref_columns)
                .map(|i| i.oid)
                .unwrap_or(0);
            out.push(Constraint {
                oid: constraint_oid(t.oid, t.checks.len() + k),
                name: f.name.clone(),
                kind: 'f',
                table: t.oid,
                index: ref_index,
                columns: attnums(&f.columns),
                ref_table: f.ref_table,
                ref_columns: attnums(&f.ref_columns),
                cascade: f.on_delete_cascade,
                expr: None,
            });
        }
    }
    out
}

fn pg_constraint(catalog: &Catalog, b: &mut RowBuilder, out: &mut Vec<Vec<Value>>) {
    let int2s = |v: &[i16]| Value::Array(v.iter().map(|x| Value::Int2(*x)).collect());
    for c in constraints(catalog) {
        b.oid("oid", c.oid).text("conname", &c.name).oid("connamespace", PUBLIC_NS);
        b.text("contype", &c.kind.to_string()).bool("convalidated", true).oid("conrelid", c.table);
        b.oid("conindid", c.index).oid("confrelid", c.ref_table).bool("conislocal", true);
        b.bool("connoinherit", c.kind != 'c' && c.kind != 'f');
        if c.kind == 'f' {
            b.text("confupdtype", "a").text("confdeltype", if c.cascade { "c" } else { "a" });
            b.text("confmatchtype", "s").set("confkey", int2s(&c.ref_columns));
        } else {
            b.text("confupdtype", " ").text("confdeltype", " ").text("confmatchtype", " ");
        }
        if !c.columns.is_empty() {
            b.set("conkey", int2s(&c.columns));
        }
        if let Some(e) = &c.expr {
            b.text("conbin", e);
        }
        out.push(b.take());
    }
}
