//! The catalog: tables, columns, constraints, indexes, views and sequences, stored as MVCC keys.
//!
//! Every catalog object is one [`Key::Object`] record written through the statement's
//! transaction, so DDL is transactional: a CREATE TABLE in a rolled-back transaction is gone, and
//! a concurrent snapshot does not see it. [`Catalog::load`] reads every object visible to the
//! transaction (the catalog is small; a cache comes with the planner issue).
//!
//! Identifiers that are not transactional, as in PostgreSQL: OIDs (from 16384, never reused) and
//! row ids are allocated from raw counters in blocks; sequence values live in raw keys and are
//! never rolled back. Rows are keyed by row id, apart from the primary key, so an UPDATE that
//! changes the key keeps the row's identity (`storage-design.md`, "Row identity").
//!
//! Object record: a kind byte (1 table, 2 index, 3 view, 4 sequence) then the fields in the order
//! of the `encode` functions below, with [`codec`]'s primitives. Tables, views and sequences then
//! carry their owner and ACL ([`Access`]); a record written before privileges existed ends before
//! them and reads as owned by the bootstrap superuser with the default ACL.
//!
//! Schema `public`'s owner and ACL are one more record ([`Key::Schema`]): a version byte (1), then
//! the [`Access`] encoding. Without a record, `public` is as PostgreSQL 15's initdb leaves it:
//! owned by `pg_database_owner`, `{pg_database_owner=UC/pg_database_owner,=U/pg_database_owner}`.
//!
//! [`Catalog::auth`] is who the loading statement runs as; the binder checks privileges against
//! it (a catalog loaded without a session is the bootstrap superuser's, which bypasses checks).

pub mod codec;
pub mod keys;
pub mod rowcodec;

use crate::error::{Error, ErrorKind, Result};
use crate::sql::auth::acl::{self, Access, AclItem};
use crate::sql::auth::roles::{Auth, BOOTSTRAP_SUPERUSER, DATABASE_OWNER};
use crate::sql::types::DataType;
use crate::storage::Direction;
use crate::txn::mvcc::{Transaction, TxnManager};
use codec::{Reader, Writer};
use keys::{Key, KeyPrefix, RawKey};
use parking_lot::Mutex;
use std::collections::HashMap;

/// First OID handed to user objects (FirstNormalObjectId).
pub const FIRST_USER_OID: u32 = 16384;
const ALLOC_BLOCK: u64 = 1024;

/// A column of a table.
#[derive(Clone, Debug, PartialEq)]
pub struct ColumnDef {
    /// Name.
    pub name: String,
    /// Type.
    pub data_type: DataType,
    /// NOT NULL.
    pub not_null: bool,
    /// DEFAULT expression as SQL text.
    pub default: Option<String>,
    /// GENERATED ALWAYS AS IDENTITY (true) or BY DEFAULT (false).
    pub identity: Option<bool>,
}

/// A CHECK constraint.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckDef {
    /// Constraint name.
    pub name: String,
    /// The expression as SQL text.
    pub expr: String,
}

/// A FOREIGN KEY constraint.
#[derive(Clone, Debug, PartialEq)]
pub struct ForeignKeyDef {
    /// Constraint name.
    pub name: String,
    /// Referencing columns (positions in this table).
    pub columns: Vec<usize>,
    /// Referenced table OID.
    pub ref_table: u32,
    /// Referenced columns (positions in that table).
    pub ref_columns: Vec<usize>,
    /// ON DELETE CASCADE.
    pub on_delete_cascade: bool,
}

/// A table.
#[derive(Clone, Debug, PartialEq)]
pub struct TableDef {
    /// OID.
    pub oid: u32,
    /// Name (in schema `public`).
    pub name: String,
    /// Columns in attribute order.
    pub columns: Vec<ColumnDef>,
    /// CHECK constraints.
    pub checks: Vec<CheckDef>,
    /// FOREIGN KEY constraints.
    pub foreign_keys: Vec<ForeignKeyDef>,
    /// Owner and ACL.
    pub access: Access,
}

impl TableDef {
    /// Position of a column by name.
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }
}

/// An index (also the storage of PRIMARY KEY and UNIQUE constraints).
#[derive(Clone, Debug, PartialEq)]
pub struct IndexDef {
    /// OID.
    pub oid: u32,
    /// Name (also the constraint name for PRIMARY KEY / UNIQUE).
    pub name: String,
    /// Table OID.
    pub table: u32,
    /// Indexed columns (positions).
    pub columns: Vec<usize>,
    /// Unique.
    pub unique: bool,
    /// Backs the primary key.
    pub primary: bool,
    /// Backs a UNIQUE / PRIMARY KEY constraint (rather than CREATE INDEX).
    pub constraint: bool,
}

/// A view.
#[derive(Clone, Debug, PartialEq)]
pub struct ViewDef {
    /// OID.
    pub oid: u32,
    /// Name.
    pub name: String,
    /// The defining query as SQL text.
    pub query: String,
    /// Column names given in CREATE VIEW v (a, b).
    pub columns: Vec<String>,
    /// Owner and ACL.
    pub access: Access,
}

/// A sequence's definition (its value lives in a raw key).
#[derive(Clone, Debug, PartialEq)]
pub struct SequenceDef {
    /// OID.
    pub oid: u32,
    /// Name.
    pub name: String,
    /// START WITH.
    pub start: i64,
    /// INCREMENT BY.
    pub increment: i64,
    /// MINVALUE.
    pub min: i64,
    /// MAXVALUE.
    pub max: i64,
    /// CYCLE.
    pub cycle: bool,
    /// The table and column that own it (SERIAL, IDENTITY).
    pub owned_by: Option<(u32, usize)>,
    /// Owner and ACL.
    pub access: Access,
}

/// Any catalog object.
#[derive(Clone, Debug, PartialEq)]
pub enum Object {
    /// A table.
    Table(TableDef),
    /// An index.
    Index(IndexDef),
    /// A view.
    View(ViewDef),
    /// A sequence.
    Sequence(SequenceDef),
}

impl Object {
    /// Its OID.
    pub fn oid(&self) -> u32 {
        match self {
            Object::Table(t) => t.oid,
            Object::Index(i) => i.oid,
            Object::View(v) => v.oid,
            Object::Sequence(s) => s.oid,
        }
    }

    /// Its name.
    pub fn name(&self) -> &str {
        match self {
            Object::Table(t) => &t.name,
            Object::Index(i) => &i.name,
            Object::View(v) => &v.name,
            Object::Sequence(s) => &s.name,
        }
    }

    /// Its owner and ACL (an index has its table's, `None` here).
    pub fn access(&self) -> Option<&Access> {
        match self {
            Object::Table(t) => Some(&t.access),
            Object::View(v) => Some(&v.access),
            Object::Sequence(s) => Some(&s.access),
            Object::Index(_) => None,
        }
    }

    /// Its owner and ACL, mutable.
    pub fn access_mut(&mut self) -> Option<&mut Access> {
        match self {
            Object::Table(t) => Some(&mut t.access),
            Object::View(v) => Some(&mut v.access),
            Object::Sequence(s) => Some(&mut s.access),
            Object::Index(_) => None,
        }
    }

    /// The word PostgreSQL's messages use for it (`permission denied for view v`).
    pub fn kind_name(&self) -> &'static str {
        match self {
            Object::Table(_) => "table",
            Object::Index(_) => "index",
            Object::View(_) => "view",
            Object::Sequence(_) => "sequence",
        }
    }

    /// The ACL kind of its privileges.
    pub fn acl_kind(&self) -> acl::ObjectKind {
        match self {
            Object::Sequence(_) => acl::ObjectKind::Sequence,
            _ => acl::ObjectKind::Table,
        }
    }

    fn encode(&self) -> Vec<u8> {
        let mut w = Writer::default();
        match self {
            Object::Table(t) => {
                w.u8(1);
                w.u32(t.oid);
                w.str(&t.name);
                w.u32(t.columns.len() as u32);
                for c in &t.columns {
                    w.str(&c.name);
                    w.data_type(&c.data_type);
                    w.bool(c.not_null);
                    w.opt_str(&c.default);
                    w.u8(match c.identity {
                        None => 0,
                        Some(true) => 1,
                        Some(false) => 2,
                    });
                }
                w.u32(t.checks.len() as u32);
                for c in &t.checks {
                    w.str(&c.name);
                    w.str(&c.expr);
                }
                w.u32(t.foreign_keys.len() as u32);
                for f in &t.foreign_keys {
                    w.str(&f.name);
                    w.u32s(&f.columns);
                    w.u32(f.ref_table);
                    w.u32s(&f.ref_columns);
                    w.bool(f.on_delete_cascade);
                }
                t.access.encode(&mut w);
            }
            Object::Index(i) => {
                w.u8(2);
                w.u32(i.oid);
                w.str(&i.name);
                w.u32(i.table);
                w.u32s(&i.columns);
                w.bool(i.unique);
                w.bool(i.primary);
                w.bool(i.constraint);
            }
            Object::View(v) => {
                w.u8(3);
                w.u32(v.oid);
                w.str(&v.name);
                w.str(&v.query);
                w.u32(v.columns.len() as u32);
                for c in &v.columns {
                    w.str(c);
                }
                v.access.encode(&mut w);
            }
            Object::Sequence(s) => {
                w.u8(4);
                w.u32(s.oid);
                w.str(&s.name);
                w.i64(s.start);
                w.i64(s.increment);
                w.i64(s.min);
                w.i64(s.max);
                w.bool(s.cycle);
                match s.owned_by {
                    None => w.u8(0),
                    Some((t, c)) => {
                        w.u8(1);
                        w.u32(t);
                        w.u32(c as u32);
                    }
                }
                s.access.encode(&mut w);
            }
        }
        w.buf
    }

    fn decode(b: &[u8]) -> Result<Object> {
        let mut r = Reader::new(b);
        Ok(match r.u8()? {
            1 => {
                let oid = r.u32()?;
                let name = r.str()?;
                let n = r.u32()?;
                let mut columns = Vec::new();
                for _ in 0..n {
                    columns.push(ColumnDef {
                        name: r.str()?,
                        data_type: r.data_type()?,
                        not_null: r.bool()?,
                        default: r.opt_str()?,
                        identity: match r.u8()? {
                            0 => None,
                            1 => Some(true),
                            _ => Some(false),
                        },
                    });
                }
                let mut checks = Vec::new();
                for _ in 0..r.u32()? {
                    checks.push(CheckDef { name: r.str()?, expr: r.str()? });
                }
                let mut foreign_keys = Vec::new();
                for _ in 0..r.u32()? {
                    foreign_keys.push(ForeignKeyDef {
                        name: r.str()?,
                        columns: r.u32s()?,
                        ref_table: r.u32()?,
                        ref_columns: r.u32s()?,
                        on_delete_cascade: r.bool()?,
                    });
                }
                let access = read_access(&mut r)?;
                Object::Table(TableDef { oid, name, columns, checks, foreign_keys, access })
            }
            2 => Object::Index(IndexDef {
                oid: r.u32()?,
                name: r.str()?,
                table: r.u32()?,
                columns: r.u32s()?,
                unique: r.bool()?,
                primary: r.bool()?,
                constraint: r.bool()?,
            }),
            3 => {
                let oid = r.u32()?;
                let name = r.str()?;
                let query = r.str()?;
                let mut columns = Vec::new();
                for _ in 0..r.u32()? {
                    columns.push(r.str()?);
                }
                let access = read_access(&mut r)?;
                Object::View(ViewDef { oid, name, query, columns, access })
            }
            4 => Object::Sequence(SequenceDef {
                oid: r.u32()?,
                name: r.str()?,
                start: r.i64()?,
                increment: r.i64()?,
                min: r.i64()?,
                max: r.i64()?,
                cycle: r.bool()?,
                owned_by: if r.u8()? == 0 { None } else { Some((r.u32()?, r.u32()? as usize)) },
                access: read_access(&mut r)?,
            }),
            _ => return Err(Error::new(ErrorKind::Corrupt, "unknown catalog object kind")),
        })
    }
}

/// The owner and ACL of an object record written before privileges existed: the bootstrap
/// superuser's, with the default ACL.
fn read_access(r: &mut Reader) -> Result<Access> {
    if r.is_empty() {
        return Ok(Access::owned_by(BOOTSTRAP_SUPERUSER));
    }
    Access::decode(r)
}

/// Version byte of the schema record.
const SCHEMA_FORMAT: u8 = 1;

/// Schema `public`'s owner and ACL as PostgreSQL 15's initdb leaves them.
pub fn initial_public_access() -> Access {
    let item = |grantee, privs| AclItem { grantee, grantor: DATABASE_OWNER, privs, grant_options: 0 };
    Access {
        owner: DATABASE_OWNER,
        acl: Some(vec![item(DATABASE_OWNER, acl::USAGE | acl::CREATE), item(acl::PUBLIC, acl::USAGE)]),
    }
}

/// The catalog as one transaction sees it.
#[derive(Clone, Debug)]
pub struct Catalog {
    /// Every object, by OID.
    pub objects: Vec<Object>,
    /// Schema `public`'s owner and ACL.
    pub public: Access,
    /// Who the statement that loaded it runs as.
    pub auth: Auth,
}

impl Default for Catalog {
    fn default() -> Self {
        Catalog { objects: vec![], public: initial_public_access(), auth: Auth::default() }
    }
}

impl Catalog {
    /// Reads every catalog object visible to `txn`, for the bootstrap superuser.
    pub fn load(txn: &mut Transaction) -> Result<Catalog> {
        let mut objects = Vec::new();
        for item in txn.scan_prefix(&KeyPrefix::Objects.encode(), Direction::Forward)? {
            let (_, v) = item?;
            objects.push(Object::decode(&v)?);
        }
        let public = match txn.get(&Key::Schema(crate::sql::pgcatalog::PUBLIC_NS).encode())? {
            None => initial_public_access(),
            Some(b) => {
                let mut r = Reader::new(&b);
                if r.u8()? != SCHEMA_FORMAT {
                    return Err(Error::new(ErrorKind::Corrupt, "unknown schema record version"));
                }
                Access::decode(&mut r)?
            }
        };
        Ok(Catalog { objects, public, auth: Auth::default() })
    }

    /// Reads the catalog for a statement running as `auth`.
    pub fn load_as(txn: &mut Transaction, auth: &Auth) -> Result<Catalog> {
        let mut c = Catalog::load(txn)?;
        c.auth = auth.clone();
        Ok(c)
    }

    /// Writes schema `public`'s owner and ACL.
    pub fn put_public(&mut self, txn: &mut Transaction, access: Access) -> Result<()> {
        let mut w = Writer::default();
        w.u8(SCHEMA_FORMAT);
        access.encode(&mut w);
        txn.write(Key::Schema(crate::sql::pgcatalog::PUBLIC_NS).encode(), Some(w.buf))?;
        self.public = access;
        Ok(())
    }

    /// Writes (creates or replaces) an object.
    pub fn put(&mut self, txn: &mut Transaction, obj: Object) -> Result<()> {
        txn.write(Key::Object(obj.oid()).encode(), Some(obj.encode()))?;
        let oid = obj.oid();
        match self.objects.iter_mut().find(|o| o.oid() == oid) {
            Some(o) => *o = obj,
            None => self.objects.push(obj),
        }
        Ok(())
    }

    /// Deletes an object.
    pub fn remove(&mut self, txn: &mut Transaction, oid: u32) -> Result<()> {
        txn.write(Key::Object(oid).encode(), None)?;
        self.objects.retain(|o| o.oid() != oid);
        Ok(())
    }

    /// An object by name (any kind: names share one namespace per schema, as in pg_class).
    pub fn by_name(&self, name: &str) -> Option<&Object> {
        self.objects.iter().find(|o| o.name() == name)
    }

    /// An object by OID.
    pub fn by_oid(&self, oid: u32) -> Option<&Object> {
        self.objects.iter().find(|o| o.oid() == oid)
    }

    /// A table by name.
    pub fn table(&self, name: &str) -> Option<&TableDef> {
        match self.by_name(name) {
            Some(Object::Table(t)) => Some(t),
            _ => None,
        }
    }

    /// A table by OID.
    pub fn table_by_oid(&self, oid: u32) -> Option<&TableDef> {
        match self.by_oid(oid) {
            Some(Object::Table(t)) => Some(t),
            _ => None,
        }
    }

    /// The indexes of a table.
    pub fn indexes_of(&self, table: u32) -> Vec<IndexDef> {
        self.objects
            .iter()
            .filter_map(|o| match o {
                Object::Index(i) if i.table == table => Some(i.clone()),
                _ => None,
            })
            .collect()
    }

    /// A sequence by name.
    pub fn sequence(&self, name: &str) -> Option<&SequenceDef> {
        match self.by_name(name) {
            Some(Object::Sequence(s)) => Some(s),
            _ => None,
        }
    }

    /// Tables with a foreign key referencing `table`.
    pub fn referencing(&self, table: u32) -> Vec<(TableDef, ForeignKeyDef)> {
        let mut out = Vec::new();
        for o in &self.objects {
            if let Object::Table(t) = o {
                for f in &t.foreign_keys {
                    if f.ref_table == table {
                        out.push((t.clone(), f.clone()));
                    }
                }
            }
        }
        out
    }
}

/// Serializes allocations from raw counters and sequence updates (nextval never repeats).
/// Allocation blocks per (transaction manager, raw key): next value and block end.
type Blocks = HashMap<(usize, Vec<u8>), (u64, u64)>;
static ALLOC: Mutex<Option<Blocks>> = Mutex::new(None);

fn allocate(mgr: &TxnManager, key: RawKey, first: u64) -> Result<u64> {
    let k = key.encode();
    let mut guard = ALLOC.lock();
    let map = guard.get_or_insert_with(HashMap::new);
    let slot = (mgr as *const TxnManager as usize, k.clone());
    let entry = map.entry(slot).or_insert((0, 0));
    if entry.0 >= entry.1 {
        let stored = match mgr.raw_get(&k)? {
            Some(b) => u64::from_le_bytes(
                b.as_slice().try_into().map_err(|_| Error::new(ErrorKind::Corrupt, "malformed counter"))?,
            ),
            None => first,
        };
        let start = stored.max(entry.0).max(first);
        mgr.raw_put(&k, (start + ALLOC_BLOCK).to_le_bytes().to_vec())?;
        *entry = (start, start + ALLOC_BLOCK);
    }
    let v = entry.0;
    entry.0 += 1;
    Ok(v)
}

/// Allocates a new OID (>= 16384).
pub fn new_oid(mgr: &TxnManager) -> Result<u32> {
    let v = allocate(mgr, RawKey::OidCounter, FIRST_USER_OID as u64)?;
    u32::try_from(v).map_err(|_| Error::new(ErrorKind::ProgramLimitExceeded, "out of OIDs"))
}

/// Allocates a new row id for `table`.
pub fn new_rowid(mgr: &TxnManager, table: u32) -> Result<u64> {
    allocate(mgr, RawKey::RowIdCounter(table), 1)
}

/// A sequence's current state: (last value, is_called).
pub fn sequence_state(mgr: &TxnManager, seq: &SequenceDef) -> Result<(i64, bool)> {
    match mgr.raw_get(&RawKey::Sequence(seq.oid).encode())? {
        None => Ok((seq.start, false)),
        Some(b) if b.len() == 9 => {
            let mut a = [0u8; 8];
            a.copy_from_slice(&b[..8]);
            Ok((i64::from_le_bytes(a), b[8] != 0))
        }
        Some(_) => Err(Error::new(ErrorKind::Corrupt, "malformed sequence state")),
    }
}

fn store_sequence(mgr: &TxnManager, seq: &SequenceDef, value: i64, called: bool) -> Result<()> {
    let mut b = value.to_le_bytes().to_vec();
    b.push(called as u8);
    mgr.raw_put(&RawKey::Sequence(seq.oid).encode(), b)
}

/// `nextval`: advances the sequence, never rolled back.
pub fn nextval(mgr: &TxnManager, seq: &SequenceDef) -> Result<i64> {
    let _guard = ALLOC.lock();
    let (last, called) = sequence_state(mgr, seq)?;
    let next = if !called {
        last
    } else {
        match last.checked_add(seq.increment) {
            Some(n) if n <= seq.max && n >= seq.min => n,
            _ if seq.cycle => {
                if seq.increment > 0 {
                    seq.min
                } else {
                    seq.max
                }
            }
            _ => {
                return Err(Error::new(
                    ErrorKind::ObjectNotInPrerequisiteState,
                    format!(
                        "nextval: reached {} value of sequence \"{}\" ({})",
                        if seq.increment > 0 { "maximum" } else { "minimum" },
                        seq.name,
                        if seq.increment > 0 { seq.max } else { seq.min }
                    ),
                ))
            }
        }
    };
    store_sequence(mgr, seq, next, true)?;
    Ok(next)
}

/// `setval(seq, value, is_called)`.
pub fn setval(mgr: &TxnManager, seq: &SequenceDef, value: i64, called: bool) -> Result<()> {
    if value < seq.min || value > seq.max {
        return Err(Error::new(
            ErrorKind::NumericOutOfRange,
            format!(
                "setval: value {value} is out of bounds for sequence \"{}\" ({}..{})",
                seq.name, seq.min, seq.max
            ),
        ));
    }
    let _guard = ALLOC.lock();
    store_sequence(mgr, seq, value, called)
}
