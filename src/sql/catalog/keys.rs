//! The SQL layer's key spaces, encoded through [`crate::encoding::keycode`].
//!
//! Transactional keys (written through the MVCC [`crate::txn::mvcc::Transaction`]):
//!
//! | key | encoding | value |
//! |-----|----------|-------|
//! | [`Key::Object`] | `0x10`, u64(oid) | a catalog object ([`super::codec`]) |
//! | [`Key::Schema`] | `0x11`, u64(schema oid) | a schema's owner and ACL ([`super`]) |
//! | [`Key::Row`] | `0x20`, u64(table oid), u64(row id) | a row ([`crate::sql::catalog::rowcodec`]) |
//! | [`Key::Index`] | `0x30`, u64(index oid), value components ([`crate::sql::types::keyenc`]), [u64(row id)] | u64 row id |
//!
//! A unique index entry whose values contain no NULL is keyed by the values alone (so a second
//! row with the same values is found by a point read); every other entry appends the row id.
//! Both forms share the value prefix, so lookups by values are prefix scans.
//!
//! Raw keys (not versioned, never rolled back, like PostgreSQL's sequences):
//!
//! | key | encoding | value |
//! |-----|----------|-------|
//! | [`RawKey::OidCounter`] | `0x01` | u64 next oid limit |
//! | [`RawKey::RowIdCounter`] | `0x02`, u64(table oid) | u64 next row id limit |
//! | [`RawKey::Sequence`] | `0x03`, u64(sequence oid) | i64 last value, u8 is_called |

use crate::encoding::keycode;
use crate::sql::types::{keyenc, Value};

/// A transactional key.
pub enum Key<'a> {
    /// A catalog object by OID.
    Object(u32),
    /// A schema's owner and ACL, by schema OID.
    Schema(u32),
    /// A table row.
    Row(u32, u64),
    /// An index entry: index oid, values, and the row id when it is part of the key.
    Index(u32, &'a [Value], Option<u64>),
}

/// A key prefix for scans.
pub enum KeyPrefix<'a> {
    /// Every catalog object.
    Objects,
    /// Every row of a table.
    Rows(u32),
    /// Every entry of an index.
    Index(u32),
    /// The entries of an index starting with these values.
    IndexValues(u32, &'a [Value]),
}

const OBJECT: u8 = 0x10;
const SCHEMA: u8 = 0x11;
const ROW: u8 = 0x20;
const INDEX: u8 = 0x30;

impl Key<'_> {
    /// The encoded key.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self {
            Key::Object(oid) => {
                keycode::put_tag(&mut out, OBJECT);
                keycode::put_u64(&mut out, *oid as u64);
            }
            Key::Schema(oid) => {
                keycode::put_tag(&mut out, SCHEMA);
                keycode::put_u64(&mut out, *oid as u64);
            }
            Key::Row(table, rowid) => {
                keycode::put_tag(&mut out, ROW);
                keycode::put_u64(&mut out, *table as u64);
                keycode::put_u64(&mut out, *rowid);
            }
            Key::Index(index, values, rowid) => {
                keycode::put_tag(&mut out, INDEX);
                keycode::put_u64(&mut out, *index as u64);
                for v in values.iter() {
                    keyenc::encode(&mut out, v);
                }
                if let Some(r) = rowid {
                    keycode::put_u64(&mut out, *r);
                }
            }
        }
        out
    }

    /// The row id at the end of a row key.
    pub fn decode_rowid(key: &[u8]) -> Option<u64> {
        let tail = key.get(key.len().checked_sub(8)?..)?;
        keycode::Reader::new(tail).u64().ok()
    }
}

/// Words for a transactional key in error details: `row 12 of relation 16385`, `an entry of
/// index 16390`, `catalog object 16385` (OIDs: `SELECT 16385::regclass` names them).
pub fn describe_key(key: &[u8]) -> String {
    let mut r = keycode::Reader::new(key.get(1..).unwrap_or_default());
    match key.first() {
        Some(&ROW) => match (r.u64(), r.u64()) {
            (Ok(t), Ok(id)) => format!("row {id} of relation {t}"),
            _ => "a row".into(),
        },
        Some(&INDEX) => match r.u64() {
            Ok(i) => format!("an entry of index {i}"),
            _ => "an index entry".into(),
        },
        Some(&OBJECT) => match r.u64() {
            Ok(o) => format!("catalog object {o}"),
            _ => "a catalog object".into(),
        },
        _ => "a key".into(),
    }
}

impl KeyPrefix<'_> {
    /// The encoded prefix.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self {
            KeyPrefix::Objects => keycode::put_tag(&mut out, OBJECT),
            KeyPrefix::Rows(t) => {
                keycode::put_tag(&mut out, ROW);
                keycode::put_u64(&mut out, *t as u64);
            }
            KeyPrefix::Index(i) => {
                keycode::put_tag(&mut out, INDEX);
                keycode::put_u64(&mut out, *i as u64);
            }
            KeyPrefix::IndexValues(i, values) => {
                keycode::put_tag(&mut out, INDEX);
                keycode::put_u64(&mut out, *i as u64);
                for v in values.iter() {
                    keyenc::encode(&mut out, v);
                }
            }
        }
        out
    }
}

/// A non-transactional key.
pub enum RawKey {
    /// The OID allocator.
    OidCounter,
    /// A table's row id allocator.
    RowIdCounter(u32),
    /// A sequence's state.
    Sequence(u32),
}

impl RawKey {
    /// The encoded key.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self {
            RawKey::OidCounter => keycode::put_tag(&mut out, 0x01),
            RawKey::RowIdCounter(t) => {
                keycode::put_tag(&mut out, 0x02);
                keycode::put_u64(&mut out, *t as u64);
            }
            RawKey::Sequence(s) => {
                keycode::put_tag(&mut out, 0x03);
                keycode::put_u64(&mut out, *s as u64);
            }
        }
        out
    }
}
