//! The SQL-standard `information_schema` views clients and ORMs read: tables, columns,
//! schemata, table_constraints, key_column_usage and views, for the objects of `public` (and,
//! for `tables` and `schemata`, the system schemas too, as PostgreSQL lists them to a
//! superuser).

use super::tables::{constraints, tables, view_columns};
use super::{objects, RowBuilder, VirtualTable};
use crate::sql::catalog::{Catalog, Object};
use crate::sql::context::ExecContext;
use crate::sql::types::{DataType, Value};

/// A column as information_schema.columns describes it: name, type, nullable, default,
/// identity (ALWAYS = true).
type ColumnInfo = (String, DataType, bool, Option<String>, Option<bool>);

fn yes_no(b: bool) -> &'static str {
    if b {
        "YES"
    } else {
        "NO"
    }
}

/// `data_type` as information_schema spells it (no typmod; arrays are `ARRAY`).
fn sql_type_name(t: &DataType) -> String {
    match t {
        DataType::Array(_) => "ARRAY".into(),
        DataType::Varchar(_) => "character varying".into(),
        DataType::Char(_) => "character".into(),
        DataType::Numeric(_) => "numeric".into(),
        t => t.name(),
    }
}

/// Rows of one information_schema view.
pub fn rows(ctx: &ExecContext, catalog: &Catalog, v: VirtualTable) -> Vec<Vec<Value>> {
    use VirtualTable as V;
    let db = ctx.db.name.as_str();
    let mut b = RowBuilder::new(v);
    let mut out = Vec::new();
    match v {
        V::IsSchemata => {
            for s in ["information_schema", "pg_catalog", "pg_toast", "public"] {
                let owner = if s == "public" { "pg_database_owner" } else { "postgres" };
                out.push(
                    b.text("catalog_name", db).text("schema_name", s).text("schema_owner", owner).take(),
                );
            }
        }
        V::IsTables => {
            for o in objects(catalog) {
                let kind = match o {
                    Object::Table(_) => "BASE TABLE",
                    Object::View(_) => "VIEW",
                    _ => continue,
                };
                b.text("table_catalog", db).text("table_schema", "public").text("table_name", o.name());
                b.text("table_type", kind).text("is_insertable_into", "YES").text("is_typed", "NO");
                out.push(b.take());
            }
            for (ns, name, _, kind, _) in super::all() {
                let schema = if ns == super::INFO_SCHEMA_NS { "information_schema" } else { "pg_catalog" };
                b.text("table_catalog", db).text("table_schema", schema).text("table_name", name);
                b.text("table_type", if kind == 'v' { "VIEW" } else { "BASE TABLE" });
                out.push(b.text("is_insertable_into", "NO").text("is_typed", "NO").take());
            }
        }
        V::IsColumns => {
            for o in objects(catalog) {
                let cols: Vec<ColumnInfo> = match o {
                    Object::Table(t) => t
                        .columns
                        .iter()
                        .map(|c| {
                            (c.name.clone(), c.data_type.clone(), !c.not_null, c.default.clone(), c.identity)
                        })
                        .collect(),
                    Object::View(vd) => {
                        view_columns(catalog, vd).into_iter().map(|(n, t)| (n, t, true, None, None)).collect()
                    }
                    _ => continue,
                };
                for (i, (name, t, nullable, default, identity)) in cols.into_iter().enumerate() {
                    b.text("table_catalog", db).text("table_schema", "public").text("table_name", o.name());
                    b.text("column_name", &name).set("ordinal_position", Value::Int4(i as i32 + 1));
                    if let Some(d) = &default {
                        b.text("column_default", &super::funcs::expr_text(d));
                    }
                    b.text("is_nullable", yes_no(nullable)).text("data_type", &sql_type_name(&t));
                    type_details(&mut b, &t);
                    b.text("udt_catalog", db).text("udt_schema", "pg_catalog").text("udt_name", &t.typname());
                    b.text("dtd_identifier", &(i + 1).to_string()).text("is_self_referencing", "NO");
                    b.text("is_identity", yes_no(identity.is_some()));
                    if let Some(always) = identity {
                        b.text("identity_generation", if always { "ALWAYS" } else { "BY DEFAULT" });
                    }
                    b.text("is_generated", "NEVER").text("is_updatable", "YES");
                    out.push(b.take());
                }
            }
        }
        V::IsTableConstraints => {
            for c in constraints(catalog) {
                let Some(t) = catalog.table_by_oid(c.table) else { continue };
                let kind = match c.kind {
                    'p' => "PRIMARY KEY",
                    'u' => "UNIQUE",
                    'f' => "FOREIGN KEY",
                    _ => "CHECK",
                };
                b.text("constraint_catalog", db)
                    .text("constraint_schema", "public")
                    .text("constraint_name", &c.name);
                b.text("table_catalog", db).text("table_schema", "public").text("table_name", &t.name);
                b.text("constraint_type", kind).text("is_deferrable", "NO").text("initially_deferred", "NO");
                b.text("enforced", "YES");
                if c.kind == 'u' || c.kind == 'p' {
                    b.text("nulls_distinct", "YES");
                }
                out.push(b.take());
            }
            // NOT NULL columns are CHECK constraints in the standard's view.
            for t in tables(catalog) {
                for (i, c) in t.columns.iter().enumerate().filter(|(_, c)| c.not_null) {
                    let name = format!("{}_{}_{}_not_null", 2200, t.oid, i + 1);
                    b.text("constraint_catalog", db)
                        .text("constraint_schema", "public")
                        .text("constraint_name", &name);
                    b.text("table_catalog", db).text("table_schema", "public").text("table_name", &t.name);
                    b.text("constraint_type", "CHECK").text("is_deferrable", "NO");
                    b.text("initially_deferred", "NO").text("enforced", "YES");
                    let _ = c;
                    out.push(b.take());
                }
            }
        }
        V::IsKeyColumnUsage => {
            for c in constraints(catalog) {
                if c.kind == 'c' {
                    continue;
                }
                let Some(t) = catalog.table_by_oid(c.table) else { continue };
                for (pos, attnum) in c.columns.iter().enumerate() {
                    let Some(col) = t.columns.get(*attnum as usize - 1) else { continue };
                    b.text("constraint_catalog", db).text("constraint_schema", "public");
                    b.text("constraint_name", &c.name)
                        .text("table_catalog", db)
                        .text("table_schema", "public");
                    b.text("table_name", &t.name).text("column_name", &col.name);
                    b.set("ordinal_position", Value::Int4(pos as i32 + 1));
                    let unique_pos = if c.kind == 'f' { Value::Int4(pos as i32 + 1) } else { Value::Null };
                    out.push(b.set("position_in_unique_constraint", unique_pos).take());
                }
            }
        }
        V::IsViews => {
            for o in objects(catalog) {
                let Object::View(vd) = o else { continue };
                b.text("table_catalog", db).text("table_schema", "public").text("table_name", &vd.name);
                b.text("view_definition", &format!(" {};", vd.query)).text("check_option", "NONE");
                for c in ["is_updatable", "is_insertable_into", "is_trigger_updatable"] {
                    b.text(c, "NO");
                }
                b.text("is_trigger_deletable", "NO").text("is_trigger_insertable_into", "NO");
                out.push(b.take());
            }
        }
        _ => {}
    }
    out
}

/// Length, precision and scale columns of information_schema.columns.
fn type_details(b: &mut RowBuilder, t: &DataType) {
    for c in [
        "character_maximum_length",
        "character_octet_length",
        "numeric_precision",
        "numeric_precision_radix",
        "numeric_scale",
        "datetime_precision",
        "interval_precision",
        "maximum_cardinality",
    ] {
        b.set(c, Value::Null);
    }
    match t {
        DataType::Varchar(n) | DataType::Char(n) => {
            if let Some(n) = n {
                b.set("character_maximum_length", Value::Int4(*n as i32));
                b.set("character_octet_length", Value::Int4(*n as i32 * 4));
            } else {
                b.set("character_octet_length", Value::Int4(1_073_741_824));
            }
        }
        DataType::Text => {
            b.set("character_octet_length", Value::Int4(1_073_741_824));
        }
        DataType::Int2 | DataType::Int4 | DataType::Int8 => {
            let bits = match t {
                DataType::Int2 => 16,
                DataType::Int4 => 32,
                _ => 64,
            };
            b.set("numeric_precision", Value::Int4(bits)).set("numeric_precision_radix", Value::Int4(2));
            b.set("numeric_scale", Value::Int4(0));
        }
        DataType::Float4 | DataType::Float8 => {
            let bits = if *t == DataType::Float4 { 24 } else { 53 };
            b.set("numeric_precision", Value::Int4(bits)).set("numeric_precision_radix", Value::Int4(2));
        }
        DataType::Numeric(p) => {
            b.set("numeric_precision_radix", Value::Int4(10));
            if let Some((p, s)) = p {
                b.set("numeric_precision", Value::Int4(*p as i32))
                    .set("numeric_scale", Value::Int4(*s as i32));
            }
        }
        DataType::Date => {
            b.set("datetime_precision", Value::Int4(0));
        }
        DataType::Timestamp | DataType::Timestamptz | DataType::Interval => {
            b.set("datetime_precision", Value::Int4(6));
        }
        _ => {}
    }
}
