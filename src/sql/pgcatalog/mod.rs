//! PostgreSQL's system catalogs, computed from ssidb's own catalog.
//!
//! Clients learn about a database by querying `pg_catalog` and `information_schema`: psql's `\d`
//! family, pgbench's partition check, drivers' type lookups. ssidb keeps its own, much smaller
//! catalog ([`crate::sql::catalog`]), so the relations clients read are *virtual*: each is a fixed
//! column list ([`VirtualTable::columns`]) whose rows are computed when a statement scans it,
//! from the catalog the statement's transaction sees (so a `\d` inside a transaction that just
//! created a table shows it, and a concurrent snapshot does not) and, for `pg_stat_activity` and
//! `pg_locks`, from the live state of the cluster.
//!
//! ```text
//!   FROM pg_catalog.pg_class c        binder: [`lookup`] -> Plan::Virtual(PgClass), columns
//!        |                                    from [`VirtualTable::columns`]
//!        v
//!   executor: Plan::Virtual  ------>  [`rows`]: Catalog (statement snapshot) + Cluster
//!                                      -> one Vec<Value> per object, in column order
//! ```
//!
//! Identity: user objects keep their OIDs; PostgreSQL's built-in objects (namespaces, types,
//! access methods, roles, the catalog relations themselves) use PostgreSQL's own OIDs, so
//! queries that hard-code them (`relnamespace = 11`, `atttypid = 23`) work. Constraints, which
//! ssidb does not give OIDs, get stable synthetic ones ([`constraint_oid`]).
//!
//! What is deliberately left out: columns no client reads are present (so `SELECT *` and
//! explicit lists bind) but hold a neutral value (false, 0, NULL); `"char"`, `int2vector`,
//! `oidvector`, `regproc` and `pg_node_tree` columns use `text`, `int2[]`, `oid[]` and `text`,
//! so only built-in type OIDs appear on the wire. There is one schema for user objects,
//! `public`; every object is owned by the bootstrap superuser.

pub mod bind;
pub mod funcs;
pub mod info_schema;
pub mod live;
pub mod privileges;
pub mod tables;

use crate::error::Result;
use crate::sql::catalog::{Catalog, Object};
use crate::sql::context::ExecContext;
use crate::sql::types::{DataType, Value};

/// pg_catalog's OID.
pub const PG_CATALOG_NS: u32 = 11;
/// public's OID.
pub const PUBLIC_NS: u32 = 2200;
/// information_schema's OID (as initdb assigns it in PostgreSQL 15).
pub const INFO_SCHEMA_NS: u32 = 13_000;
/// pg_toast's OID.
pub const PG_TOAST_NS: u32 = 99;
/// The bootstrap superuser (`postgres`).
pub const SUPERUSER_OID: u32 = 10;
/// The `pg_database_owner` role, owner of `public`.
pub const DATABASE_OWNER_OID: u32 = 6171;
/// The heap table access method.
pub const HEAP_AM: u32 = 2;
/// The btree index access method.
pub const BTREE_AM: u32 = 403;
/// The default collation.
pub const DEFAULT_COLLATION: u32 = 100;

/// One virtual catalog relation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VirtualTable {
    /// pg_catalog.pg_class
    PgClass,
    /// pg_catalog.pg_namespace
    PgNamespace,
    /// pg_catalog.pg_attribute
    PgAttribute,
    /// pg_catalog.pg_attrdef
    PgAttrdef,
    /// pg_catalog.pg_type
    PgType,
    /// pg_catalog.pg_index
    PgIndex,
    /// pg_catalog.pg_constraint
    PgConstraint,
    /// pg_catalog.pg_am
    PgAm,
    /// pg_catalog.pg_database
    PgDatabase,
    /// pg_catalog.pg_roles
    PgRoles,
    /// pg_catalog.pg_authid
    PgAuthid,
    /// pg_catalog.pg_user
    PgUser,
    /// pg_catalog.pg_auth_members
    PgAuthMembers,
    /// pg_catalog.pg_settings
    PgSettings,
    /// pg_catalog.pg_description
    PgDescription,
    /// pg_catalog.pg_collation
    PgCollation,
    /// pg_catalog.pg_proc
    PgProc,
    /// pg_catalog.pg_tablespace
    PgTablespace,
    /// pg_catalog.pg_sequence
    PgSequence,
    /// pg_catalog.pg_views
    PgViews,
    /// pg_catalog.pg_tables
    PgTables,
    /// pg_catalog.pg_indexes
    PgIndexes,
    /// pg_catalog.pg_stat_activity
    PgStatActivity,
    /// pg_catalog.pg_locks
    PgLocks,
    /// pg_catalog.pg_policy (always empty)
    PgPolicy,
    /// pg_catalog.pg_statistic_ext (always empty)
    PgStatisticExt,
    /// pg_catalog.pg_publication (always empty)
    PgPublication,
    /// pg_catalog.pg_publication_namespace (always empty)
    PgPublicationNamespace,
    /// pg_catalog.pg_publication_rel (always empty)
    PgPublicationRel,
    /// pg_catalog.pg_inherits (always empty)
    PgInherits,
    /// pg_catalog.pg_partitioned_table (always empty)
    PgPartitionedTable,
    /// pg_catalog.pg_trigger (always empty)
    PgTrigger,
    /// pg_catalog.pg_rewrite (always empty)
    PgRewrite,
    /// pg_catalog.pg_extension (always empty)
    PgExtension,
    /// pg_catalog.ssidb_stats: ssidb's own counters (storage, log, SSI)
    SsidbStats,
    /// pg_catalog.pg_enum (always empty)
    PgEnum,
    /// pg_catalog.pg_range (always empty)
    PgRange,
    /// information_schema.tables
    IsTables,
    /// information_schema.columns
    IsColumns,
    /// information_schema.schemata
    IsSchemata,
    /// information_schema.table_constraints
    IsTableConstraints,
    /// information_schema.key_column_usage
    IsKeyColumnUsage,
    /// information_schema.views
    IsViews,
}

use VirtualTable as V;

/// Every virtual relation: schema, name, OID, relkind and column list (`name type`, comma
/// separated; types as [`column_type`] reads them). OIDs are PostgreSQL 15's where it has them.
const RELATIONS: &[(VirtualTable, u32, &str, u32, char, &str)] = &[
    (
        V::PgClass,
        PG_CATALOG_NS,
        "pg_class",
        1259,
        'r',
        "oid oid, relname name, relnamespace oid, reltype oid, reloftype oid, relowner oid, relam oid, \
      relfilenode oid, reltablespace oid, relpages int4, reltuples float4, relallvisible int4, \
      reltoastrelid oid, relhasindex bool, relisshared bool, relpersistence char, relkind char, \
      relnatts int2, relchecks int2, relhasrules bool, relhastriggers bool, relhassubclass bool, \
      relrowsecurity bool, relforcerowsecurity bool, relispopulated bool, relreplident char, \
      relispartition bool, relrewrite oid, relfrozenxid int8, relminmxid int8, relacl text[], \
      reloptions text[], relpartbound text",
    ),
    (
        V::PgNamespace,
        PG_CATALOG_NS,
        "pg_namespace",
        2615,
        'r',
        "oid oid, nspname name, nspowner oid, nspacl text[]",
    ),
    (
        V::PgAttribute,
        PG_CATALOG_NS,
        "pg_attribute",
        1249,
        'r',
        "attrelid oid, attname name, atttypid oid, attstattarget int4, attlen int2, attnum int2, \
      attndims int4, attcacheoff int4, atttypmod int4, attbyval bool, attalign char, attstorage char, \
      attcompression char, attnotnull bool, atthasdef bool, atthasmissing bool, attidentity char, \
      attgenerated char, attisdropped bool, attislocal bool, attinhcount int4, attcollation oid, \
      attacl text[], attoptions text[], attfdwoptions text[], attmissingval text",
    ),
    (V::PgAttrdef, PG_CATALOG_NS, "pg_attrdef", 2604, 'r', "oid oid, adrelid oid, adnum int2, adbin text"),
    (
        V::PgType,
        PG_CATALOG_NS,
        "pg_type",
        1247,
        'r',
        "oid oid, typname name, typnamespace oid, typowner oid, typlen int2, typbyval bool, typtype char, \
      typcategory char, typispreferred bool, typisdefined bool, typdelim char, typrelid oid, \
      typsubscript text, typelem oid, typarray oid, typinput text, typoutput text, typreceive text, \
      typsend text, typmodin text, typmodout text, typanalyze text, typalign char, typstorage char, \
      typnotnull bool, typbasetype oid, typtypmod int4, typndims int4, typcollation oid, \
      typdefaultbin text, typdefault text, typacl text[]",
    ),
    (
        V::PgIndex,
        PG_CATALOG_NS,
        "pg_index",
        2610,
        'r',
        "indexrelid oid, indrelid oid, indnatts int2, indnkeyatts int2, indisunique bool, \
      indnullsnotdistinct bool, indisprimary bool, indisexclusion bool, indimmediate bool, \
      indisclustered bool, indisvalid bool, indcheckxmin bool, indisready bool, indislive bool, \
      indisreplident bool, indkey int2[], indcollation oid[], indclass oid[], indoption int2[], \
      indexprs text, indpred text",
    ),
    (
        V::PgConstraint,
        PG_CATALOG_NS,
        "pg_constraint",
        2606,
        'r',
        "oid oid, conname name, connamespace oid, contype char, condeferrable bool, condeferred bool, \
      convalidated bool, conrelid oid, contypid oid, conindid oid, conparentid oid, confrelid oid, \
      confupdtype char, confdeltype char, confmatchtype char, conislocal bool, coninhcount int4, \
      connoinherit bool, conkey int2[], confkey int2[], conpfeqop oid[], conppeqop oid[], \
      conffeqop oid[], confdelsetcols int2[], conexclop oid[], conbin text",
    ),
    (V::PgAm, PG_CATALOG_NS, "pg_am", 2601, 'r', "oid oid, amname name, amhandler text, amtype char"),
    (
        V::PgDatabase,
        PG_CATALOG_NS,
        "pg_database",
        1262,
        'r',
        "oid oid, datname name, datdba oid, encoding int4, datlocprovider char, datistemplate bool, \
      datallowconn bool, datconnlimit int4, datfrozenxid int8, datminmxid int8, dattablespace oid, \
      datcollate text, datctype text, daticulocale text, datcollversion text, datacl text[]",
    ),
    (
        V::PgRoles,
        PG_CATALOG_NS,
        "pg_roles",
        12_001,
        'v',
        "rolname name, rolsuper bool, rolinherit bool, rolcreaterole bool, rolcreatedb bool, \
      rolcanlogin bool, rolreplication bool, rolconnlimit int4, rolpassword text, \
      rolvaliduntil timestamptz, rolbypassrls bool, rolconfig text[], oid oid",
    ),
    (
        V::PgAuthid,
        PG_CATALOG_NS,
        "pg_authid",
        1260,
        'r',
        "oid oid, rolname name, rolsuper bool, rolinherit bool, rolcreaterole bool, rolcreatedb bool, \
      rolcanlogin bool, rolreplication bool, rolbypassrls bool, rolconnlimit int4, rolpassword text, \
      rolvaliduntil timestamptz",
    ),
    (
        V::PgUser,
        PG_CATALOG_NS,
        "pg_user",
        12_002,
        'v',
        "usename name, usesysid oid, usecreatedb bool, usesuper bool, userepl bool, usebypassrls bool, \
      passwd text, valuntil timestamptz, useconfig text[]",
    ),
    (
        V::PgAuthMembers,
        PG_CATALOG_NS,
        "pg_auth_members",
        1261,
        'r',
        "roleid oid, member oid, grantor oid, admin_option bool",
    ),
    (
        V::PgSettings,
        PG_CATALOG_NS,
        "pg_settings",
        12_003,
        'v',
        "name text, setting text, unit text, category text, short_desc text, extra_desc text, \
      context text, vartype text, source text, min_val text, max_val text, enumvals text[], \
      boot_val text, reset_val text, sourcefile text, sourceline int4, pending_restart bool",
    ),
    (
        V::PgDescription,
        PG_CATALOG_NS,
        "pg_description",
        2609,
        'r',
        "objoid oid, classoid oid, objsubid int4, description text",
    ),
    (
        V::PgCollation,
        PG_CATALOG_NS,
        "pg_collation",
        3456,
        'r',
        "oid oid, collname name, collnamespace oid, collowner oid, collprovider char, \
      collisdeterministic bool, collencoding int4, collcollate text, collctype text, \
      colliculocale text, collversion text",
    ),
    (
        V::PgProc,
        PG_CATALOG_NS,
        "pg_proc",
        1255,
        'r',
        "oid oid, proname name, pronamespace oid, proowner oid, prolang oid, procost float4, \
      prorows float4, provariadic oid, prosupport text, prokind char, prosecdef bool, \
      proleakproof bool, proisstrict bool, proretset bool, provolatile char, proparallel char, \
      pronargs int2, pronargdefaults int2, prorettype oid, proargtypes oid[], proallargtypes oid[], \
      proargmodes text[], proargnames text[], proargdefaults text, protrftypes oid[], prosrc text, \
      probin text, prosqlbody text, proconfig text[], proacl text[]",
    ),
    (
        V::PgTablespace,
        PG_CATALOG_NS,
        "pg_tablespace",
        1213,
        'r',
        "oid oid, spcname name, spcowner oid, spcacl text[], spcoptions text[]",
    ),
    (
        V::PgSequence,
        PG_CATALOG_NS,
        "pg_sequence",
        2224,
        'r',
        "seqrelid oid, seqtypid oid, seqstart int8, seqincrement int8, seqmax int8, seqmin int8, \
      seqcache int8, seqcycle bool",
    ),
    (
        V::PgViews,
        PG_CATALOG_NS,
        "pg_views",
        12_004,
        'v',
        "schemaname name, viewname name, viewowner name, definition text",
    ),
    (
        V::PgTables,
        PG_CATALOG_NS,
        "pg_tables",
        12_005,
        'v',
        "schemaname name, tablename name, tableowner name, tablespace name, hasindexes bool, \
      hasrules bool, hastriggers bool, rowsecurity bool",
    ),
    (
        V::PgIndexes,
        PG_CATALOG_NS,
        "pg_indexes",
        12_006,
        'v',
        "schemaname name, tablename name, indexname name, tablespace name, indexdef text",
    ),
    (
        V::PgStatActivity,
        PG_CATALOG_NS,
        "pg_stat_activity",
        12_007,
        'v',
        "datid oid, datname name, pid int4, leader_pid int4, usesysid oid, usename name, \
      application_name text, client_addr text, client_hostname text, client_port int4, \
      backend_start timestamptz, xact_start timestamptz, query_start timestamptz, \
      state_change timestamptz, wait_event_type text, wait_event text, state text, \
      backend_xid int8, backend_xmin int8, query_id int8, query text, backend_type text",
    ),
    (
        V::PgLocks,
        PG_CATALOG_NS,
        "pg_locks",
        12_008,
        'v',
        "locktype text, database oid, relation oid, page int4, tuple int2, virtualxid text, \
      transactionid int8, classid oid, objid oid, objsubid int2, virtualtransaction text, pid int4, \
      mode text, granted bool, fastpath bool, waitstart timestamptz",
    ),
    (
        V::PgPolicy,
        PG_CATALOG_NS,
        "pg_policy",
        3256,
        'r',
        "oid oid, polname name, polrelid oid, polcmd char, polpermissive bool, polroles oid[], \
      polqual text, polwithcheck text",
    ),
    (
        V::PgStatisticExt,
        PG_CATALOG_NS,
        "pg_statistic_ext",
        3381,
        'r',
        "oid oid, stxrelid oid, stxname name, stxnamespace oid, stxowner oid, stxstattarget int4, \
      stxkeys int2[], stxkind text[], stxexprs text",
    ),
    (
        V::PgPublication,
        PG_CATALOG_NS,
        "pg_publication",
        6104,
        'r',
        "oid oid, pubname name, pubowner oid, puballtables bool, pubinsert bool, pubupdate bool, \
      pubdelete bool, pubtruncate bool, pubviaroot bool",
    ),
    (
        V::PgPublicationNamespace,
        PG_CATALOG_NS,
        "pg_publication_namespace",
        6237,
        'r',
        "oid oid, pnpubid oid, pnnspid oid",
    ),
    (
        V::PgPublicationRel,
        PG_CATALOG_NS,
        "pg_publication_rel",
        6106,
        'r',
        "oid oid, prpubid oid, prrelid oid, prqual text, prattrs int2[]",
    ),
    (
        V::PgInherits,
        PG_CATALOG_NS,
        "pg_inherits",
        2611,
        'r',
        "inhrelid oid, inhparent oid, inhseqno int4, inhdetachpending bool",
    ),
    (
        V::PgPartitionedTable,
        PG_CATALOG_NS,
        "pg_partitioned_table",
        3350,
        'r',
        "partrelid oid, partstrat char, partnatts int2, partdefid oid, partattrs int2[], \
      partclass oid[], partcollation oid[], partexprs text",
    ),
    (
        V::PgTrigger,
        PG_CATALOG_NS,
        "pg_trigger",
        2620,
        'r',
        "oid oid, tgrelid oid, tgparentid oid, tgname name, tgfoid oid, tgtype int2, tgenabled char, \
      tgisinternal bool, tgconstrrelid oid, tgconstrindid oid, tgconstraint oid, tgdeferrable bool, \
      tginitdeferred bool, tgnargs int2, tgattr int2[], tgargs bytea, tgqual text, tgoldtable name, \
      tgnewtable name",
    ),
    (
        V::PgRewrite,
        PG_CATALOG_NS,
        "pg_rewrite",
        2618,
        'r',
        "oid oid, rulename name, ev_class oid, ev_type char, ev_enabled char, is_instead bool, \
      ev_qual text, ev_action text",
    ),
    (
        V::PgExtension,
        PG_CATALOG_NS,
        "pg_extension",
        3079,
        'r',
        "oid oid, extname name, extowner oid, extnamespace oid, extrelocatable bool, extversion text, \
      extconfig oid[], extcondition text[]",
    ),
    (V::SsidbStats, PG_CATALOG_NS, "ssidb_stats", 12_100, 'v', "category text, name text, value int8"),
    (
        V::PgEnum,
        PG_CATALOG_NS,
        "pg_enum",
        3501,
        'r',
        "oid oid, enumtypid oid, enumsortorder float4, enumlabel name",
    ),
    (
        V::PgRange,
        PG_CATALOG_NS,
        "pg_range",
        3541,
        'r',
        "rngtypid oid, rngsubtype oid, rngmultitypid oid, rngcollation oid, rngsubopc oid, \
      rngcanonical text, rngsubdiff text",
    ),
    (
        V::IsTables,
        INFO_SCHEMA_NS,
        "tables",
        13_101,
        'v',
        "table_catalog name, table_schema name, table_name name, table_type text, \
      self_referencing_column_name name, reference_generation text, user_defined_type_catalog name, \
      user_defined_type_schema name, user_defined_type_name name, is_insertable_into text, \
      is_typed text, commit_action text",
    ),
    (
        V::IsColumns,
        INFO_SCHEMA_NS,
        "columns",
        13_102,
        'v',
        "table_catalog name, table_schema name, table_name name, column_name name, \
      ordinal_position int4, column_default text, is_nullable text, data_type text, \
      character_maximum_length int4, character_octet_length int4, numeric_precision int4, \
      numeric_precision_radix int4, numeric_scale int4, datetime_precision int4, \
      interval_type text, interval_precision int4, character_set_catalog name, \
      character_set_schema name, character_set_name name, collation_catalog name, \
      collation_schema name, collation_name name, domain_catalog name, domain_schema name, \
      domain_name name, udt_catalog name, udt_schema name, udt_name name, scope_catalog name, \
      scope_schema name, scope_name name, maximum_cardinality int4, dtd_identifier name, \
      is_self_referencing text, is_identity text, identity_generation text, identity_start text, \
      identity_increment text, identity_maximum text, identity_minimum text, identity_cycle text, \
      is_generated text, generation_expression text, is_updatable text",
    ),
    (
        V::IsSchemata,
        INFO_SCHEMA_NS,
        "schemata",
        13_103,
        'v',
        "catalog_name name, schema_name name, schema_owner name, default_character_set_catalog name, \
      default_character_set_schema name, default_character_set_name name, sql_path text",
    ),
    (
        V::IsTableConstraints,
        INFO_SCHEMA_NS,
        "table_constraints",
        13_104,
        'v',
        "constraint_catalog name, constraint_schema name, constraint_name name, table_catalog name, \
      table_schema name, table_name name, constraint_type text, is_deferrable text, \
      initially_deferred text, enforced text, nulls_distinct text",
    ),
    (
        V::IsKeyColumnUsage,
        INFO_SCHEMA_NS,
        "key_column_usage",
        13_105,
        'v',
        "constraint_catalog name, constraint_schema name, constraint_name name, table_catalog name, \
      table_schema name, table_name name, column_name name, ordinal_position int4, \
      position_in_unique_constraint int4",
    ),
    (
        V::IsViews,
        INFO_SCHEMA_NS,
        "views",
        13_106,
        'v',
        "table_catalog name, table_schema name, table_name name, view_definition text, \
      check_option text, is_updatable text, is_insertable_into text, is_trigger_updatable text, \
      is_trigger_deletable text, is_trigger_insertable_into text",
    ),
];

/// A column type as the column lists above spell it.
fn column_type(spelling: &str) -> DataType {
    match spelling {
        "oid" => DataType::Oid,
        "name" => DataType::Name,
        "bool" => DataType::Bool,
        "int2" => DataType::Int2,
        "int4" => DataType::Int4,
        "int8" => DataType::Int8,
        "float4" => DataType::Float4,
        "bytea" => DataType::Bytea,
        "timestamptz" => DataType::Timestamptz,
        "text[]" => DataType::Array(Box::new(DataType::Text)),
        "oid[]" => DataType::Array(Box::new(DataType::Oid)),
        "int2[]" => DataType::Array(Box::new(DataType::Int2)),
        "text" | "char" => DataType::Text,
        other => panic!("catalog column type {other} is not mapped"),
    }
}

/// A relation's catalog entry.
fn entry(v: VirtualTable) -> &'static (VirtualTable, u32, &'static str, u32, char, &'static str) {
    RELATIONS.iter().find(|r| r.0 == v).expect("every virtual table has an entry")
}

impl VirtualTable {
    /// The relation's name.
    pub fn name(self) -> &'static str {
        entry(self).2
    }

    /// Its OID.
    pub fn oid(self) -> u32 {
        entry(self).3
    }

    /// Its columns, in order.
    pub fn columns(self) -> Vec<(&'static str, DataType)> {
        entry(self)
            .5
            .split(',')
            .map(|c| {
                let c = c.trim();
                let (name, ty) = c.split_once(' ').expect("column spec is `name type`");
                (name, column_type(ty.trim()))
            })
            .collect()
    }
}

/// The virtual relation `schema.name` names (`schema` `None`: unqualified, which finds
/// `pg_catalog` relations, as PostgreSQL's implicit search path does).
pub fn lookup(schema: Option<&str>, name: &str) -> Option<VirtualTable> {
    let ns = match schema {
        None | Some("pg_catalog") => PG_CATALOG_NS,
        Some("information_schema") => INFO_SCHEMA_NS,
        Some(_) => return None,
    };
    RELATIONS.iter().find(|r| r.1 == ns && r.2 == name).map(|r| r.0)
}

/// Every virtual relation: (schema OID, name, OID, relkind, relation).
pub fn all() -> impl Iterator<Item = (u32, &'static str, u32, char, VirtualTable)> {
    RELATIONS.iter().map(|r| (r.1, r.2, r.3, r.4, r.0))
}

/// The OID of a relation by name: a user object, else a catalog relation.
pub fn relation_oid(catalog: &Catalog, schema: Option<&str>, name: &str) -> Option<u32> {
    if matches!(schema, None | Some("public")) {
        if let Some(o) = catalog.by_name(name) {
            return Some(o.oid());
        }
    }
    lookup(schema, name).map(|v| v.oid())
}

/// The name of a relation by OID (as `regclass` prints it).
pub fn relation_name(catalog: &Catalog, oid: u32) -> Option<String> {
    if let Some(o) = catalog.by_oid(oid) {
        return Some(quote_ident(o.name()));
    }
    RELATIONS.iter().find(|r| r.3 == oid).map(|r| {
        if r.1 == INFO_SCHEMA_NS {
            format!("information_schema.{}", r.2)
        } else {
            r.2.to_string()
        }
    })
}

/// An identifier as PostgreSQL's `quote_ident` writes it: quoted unless lower-case and plain.
pub fn quote_ident(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain && !crate::sql::pgcatalog::funcs::is_reserved(s) {
        s.to_string()
    } else {
        format!("\"{}\"", s.replace('"', "\"\""))
    }
}

/// Computes the rows of a virtual relation for the running statement.
pub fn rows(ctx: &ExecContext, catalog: &Catalog, v: VirtualTable) -> Result<Vec<Vec<Value>>> {
    use VirtualTable as V;
    Ok(match v {
        V::PgStatActivity => live::pg_stat_activity(ctx),
        V::PgLocks => live::pg_locks(ctx),
        V::PgSettings => live::pg_settings(ctx),
        V::PgDatabase => live::pg_database(ctx),
        V::SsidbStats => live::ssidb_stats(ctx),
        V::IsTables
        | V::IsColumns
        | V::IsSchemata
        | V::IsTableConstraints
        | V::IsKeyColumnUsage
        | V::IsViews => info_schema::rows(ctx, catalog, v),
        _ => tables::rows(catalog, v),
    })
}

/// Builds one row of a virtual relation by column name; unset columns take a neutral value
/// (false, 0, or NULL).
pub struct RowBuilder {
    columns: Vec<(&'static str, DataType)>,
    values: Vec<Value>,
}

impl RowBuilder {
    /// A builder for `v`'s rows.
    pub fn new(v: VirtualTable) -> Self {
        let columns = v.columns();
        let values = columns.iter().map(|(_, t)| neutral(t)).collect();
        RowBuilder { columns, values }
    }

    /// Sets a column (a misspelt name is a bug in this module).
    pub fn set(&mut self, name: &str, value: Value) -> &mut Self {
        let i = self.columns.iter().position(|c| c.0 == name).unwrap_or_else(|| {
            panic!("no catalog column {name}");
        });
        self.values[i] = value;
        self
    }

    /// Sets a text column.
    pub fn text(&mut self, name: &str, value: &str) -> &mut Self {
        self.set(name, Value::Text(value.to_string()))
    }

    /// Sets an oid column.
    pub fn oid(&mut self, name: &str, value: u32) -> &mut Self {
        self.set(name, Value::Oid(value))
    }

    /// Sets a boolean column.
    pub fn bool(&mut self, name: &str, value: bool) -> &mut Self {
        self.set(name, Value::Bool(value))
    }

    /// The row, then a fresh one with neutral values.
    pub fn take(&mut self) -> Vec<Value> {
        let fresh = self.columns.iter().map(|(_, t)| neutral(t)).collect();
        std::mem::replace(&mut self.values, fresh)
    }
}

fn neutral(t: &DataType) -> Value {
    match t {
        DataType::Bool => Value::Bool(false),
        DataType::Oid => Value::Oid(0),
        DataType::Int2 => Value::Int2(0),
        DataType::Int4 => Value::Int4(0),
        DataType::Int8 => Value::Int8(0),
        DataType::Float4 => Value::Float4(0.0),
        _ => Value::Null,
    }
}

/// Synthetic OID of the constraint backed by index `index` (PRIMARY KEY / UNIQUE).
pub fn index_constraint_oid(index: u32) -> u32 {
    0x8000_0000 | index
}

/// Synthetic OID of table `table`'s `k`-th CHECK or FOREIGN KEY constraint (checks first).
pub fn constraint_oid(table: u32, k: usize) -> u32 {
    0xC000_0000u32.wrapping_add(table.wrapping_sub(16_384).wrapping_mul(64)).wrapping_add(k as u32)
}

/// The catalog objects in name order (how PostgreSQL's catalogs come out of an index scan is
/// irrelevant to clients, but a stable order keeps results reproducible).
pub fn objects(catalog: &Catalog) -> Vec<&Object> {
    let mut v: Vec<&Object> = catalog.objects.iter().collect();
    v.sort_by_key(|o| o.oid());
    v
}
