//! Table access: full scans and index scans ([`crate::sql::plan::access`]).
//!
//! An index scan turns each key prefix into a key range of the index key space and reads it
//! through the transaction ([`crate::txn::mvcc::Transaction::scan`]), so the transaction records
//! exactly the range it examined (SSI's SIREAD locks are as precise as the scan); each entry names
//! a row id, whose row is then read by a point get.
//!
//! ```text
//!   prefix p, range on the next column     key range
//!   col = v            (no range)          [p+v, end(p+v))
//!   col > v / col >= v                     [end(p+v), p+NULL) / [p+v, p+NULL)
//!   col < v / col <= v                     [p+VALUE, p+v) / [p+VALUE, end(p+v))
//! ```
//!
//! `end(k)` is the first key after every key starting with `k`; NULL components sort after every
//! value, so ranges stop before them (a comparison is never true for NULL). Rows come back in row
//! id order, as a full scan returns them.

use super::{Row, Runner};
use crate::encoding::keycode;
use crate::error::Result;
use crate::sql::catalog::keys::KeyPrefix;
use crate::sql::catalog::TableDef;
use crate::sql::plan::access::{IndexScan, KeyPart};
use crate::sql::plan::Expr;
use crate::sql::types::{keyenc, Value};
use crate::storage::Direction;
use std::collections::HashSet;
use std::ops::Bound;

/// A key range of the index key space.
type KeyRange = (Bound<Vec<u8>>, Bound<Vec<u8>>);

impl Runner<'_, '_> {
    /// The rows of `table` with their ids: every row, or those `lookup` finds.
    /// `limit`: the caller needs no more than this many rows.
    pub fn scan_rows(
        &mut self,
        table: &TableDef,
        lookup: Option<&IndexScan>,
        limit: Option<usize>,
    ) -> Result<Vec<(u64, Row)>> {
        match lookup {
            None => self.scan_table_limited(table, limit),
            Some(scan) => self.index_scan(table, scan, limit),
        }
    }

    /// Evaluates a bound component; `None` when it is NULL (the condition matches nothing).
    fn key_value(&mut self, e: &Expr) -> Result<Option<Value>> {
        let v = self.eval(e, &[])?;
        Ok((!v.is_null()).then_some(v))
    }

    /// The rows an index scan finds, in row id order, or in index order when the scan is
    /// `ordered` (then at most `limit` of them).
    pub fn index_scan(
        &mut self,
        table: &TableDef,
        scan: &IndexScan,
        limit: Option<usize>,
    ) -> Result<Vec<(u64, Row)>> {
        if let Some(direction) = scan.ordered {
            return self.ordered_index_scan(table, scan, direction, limit);
        }
        let mut ids = Vec::new();
        let mut seen = HashSet::new();
        for prefix in &scan.prefixes {
            let Some((lower, upper)) = self.prefix_range(scan, prefix)? else { continue };
            for item in self.ctx.txn.scan(lower, upper, Direction::Forward)? {
                let (_, v) = item?;
                self.keys += 1;
                let id = super::ddl::decode_index_entry(&v)?;
                if seen.insert(id) {
                    ids.push(id);
                }
            }
        }
        ids.sort_unstable();
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            self.tick()?;
            if let Some(r) = self.fetch_row(table, id)? {
                out.push((id, r));
            }
        }
        Ok(out)
    }

    /// The key range of the index entries under one equality prefix, narrowed by the scan's
    /// range; `None` when a NULL key value makes it match nothing.
    fn prefix_range(&mut self, scan: &IndexScan, prefix: &[KeyPart]) -> Result<Option<KeyRange>> {
        let mut key = KeyPrefix::Index(scan.index.oid).encode();
        for part in prefix {
            match part {
                KeyPart::IsNull => keyenc::encode(&mut key, &Value::Null),
                KeyPart::Eq(e) => match self.key_value(e)? {
                    Some(v) => keyenc::encode(&mut key, &v),
                    None => return Ok(None),
                },
            }
        }
        let with = |v: &Value| {
            let mut k = key.clone();
            keyenc::encode(&mut k, v);
            k
        };
        let tagged = |tag: u8| {
            let mut k = key.clone();
            keycode::put_tag(&mut k, tag);
            k
        };
        let lower = match &scan.lower {
            None if scan.upper.is_some() => Bound::Included(tagged(keycode::VALUE_TAG)),
            None => Bound::Included(key.clone()),
            Some((e, inclusive)) => match self.key_value(e)? {
                None => return Ok(None),
                Some(v) if *inclusive => Bound::Included(with(&v)),
                Some(v) => match keycode::prefix_end(&with(&v)) {
                    Some(end) => Bound::Included(end),
                    None => return Ok(None),
                },
            },
        };
        let upper = match &scan.upper {
            None if scan.lower.is_some() => Bound::Excluded(tagged(keycode::NULL_TAG)),
            None => keycode::prefix_end(&key).map_or(Bound::Unbounded, Bound::Excluded),
            Some((e, inclusive)) => match self.key_value(e)? {
                None => return Ok(None),
                Some(v) if *inclusive => {
                    keycode::prefix_end(&with(&v)).map_or(Bound::Unbounded, Bound::Excluded)
                }
                Some(v) => Bound::Excluded(with(&v)),
            },
        };
        Ok(Some((lower, upper)))
    }

    /// An index scan returning rows in index order, read in `direction`, at most `limit`.
    fn ordered_index_scan(
        &mut self,
        table: &TableDef,
        scan: &IndexScan,
        direction: Direction,
        limit: Option<usize>,
    ) -> Result<Vec<(u64, Row)>> {
        let mut out = Vec::new();
        for prefix in &scan.prefixes {
            let Some((lower, upper)) = self.prefix_range(scan, prefix)? else { continue };
            for item in self.ctx.txn.scan(lower, upper, direction)? {
                if limit.is_some_and(|l| out.len() >= l) {
                    return Ok(out);
                }
                let (_, v) = item?;
                self.keys += 1;
                self.tick()?;
                let id = super::ddl::decode_index_entry(&v)?;
                if let Some(r) = self.fetch_row(table, id)? {
                    out.push((id, r));
                }
            }
        }
        Ok(out)
    }
}
