//! Running plan nodes: scans (full or by index values), joins (nested loops with NULL padding for
//! outer joins), sorting with PostgreSQL's NULL order, DISTINCT, LIMIT, set operations and
//! recursive CTEs.

use super::{Row, Runner};
use crate::error::{Error, ErrorKind, Result};
use crate::sql::catalog::keys::{Key, KeyPrefix};
use crate::sql::catalog::{rowcodec, TableDef};
use crate::sql::plan::functions::Func;
use crate::sql::plan::{JoinKind, Plan, SetOpKind, SortKey};
use crate::sql::types::{compare, keyenc, Value};
use crate::storage::Direction;
use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};

/// Compares two rows of sort-key values.
pub fn compare_keys(a: &[Value], b: &[Value], keys: &[SortKey]) -> Ordering {
    for (i, k) in keys.iter().enumerate() {
        let (x, y) = (&a[i], &b[i]);
        let o = match (x.is_null(), y.is_null()) {
            (true, true) => Ordering::Equal,
            (true, false) => {
                if k.nulls_first {
                    Ordering::Less
                } else {
                    Ordering::Greater
                }
            }
            (false, true) => {
                if k.nulls_first {
                    Ordering::Greater
                } else {
                    Ordering::Less
                }
            }
            _ => {
                let o = compare::compare(x, y);
                if k.desc {
                    o.reverse()
                } else {
                    o
                }
            }
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

impl Runner<'_, '_> {
    /// Every row of a table with its row id.
    pub fn scan_table(&mut self, table: &TableDef) -> Result<Vec<(u64, Row)>> {
        self.scan_table_limited(table, None)
    }

    /// The first `limit` rows of `table` (all when `None`), with their ids.
    pub fn scan_table_limited(&mut self, table: &TableDef, limit: Option<usize>) -> Result<Vec<(u64, Row)>> {
        let prefix = KeyPrefix::Rows(table.oid).encode();
        let mut out = Vec::new();
        for item in self.ctx.txn.scan_prefix(&prefix, Direction::Forward)? {
            if limit.is_some_and(|l| out.len() >= l) {
                break;
            }
            let (k, v) = item?;
            self.keys += 1;
            let rowid =
                Key::decode_rowid(&k).ok_or_else(|| Error::new(ErrorKind::Corrupt, "malformed row key"))?;
            out.push((rowid, rowcodec::decode_row(&v, table.columns.len())?));
        }
        Ok(out)
    }

    /// The row ids whose index entries start with `values`.
    pub fn index_lookup(&mut self, index: u32, values: &[Value]) -> Result<Vec<u64>> {
        let prefix = KeyPrefix::IndexValues(index, values).encode();
        let mut out = Vec::new();
        for item in self.ctx.txn.scan_prefix(&prefix, Direction::Forward)? {
            let (_, v) = item?;
            let b: [u8; 8] = v
                .as_slice()
                .try_into()
                .map_err(|_| Error::new(ErrorKind::Corrupt, "malformed index entry"))?;
            out.push(u64::from_le_bytes(b));
        }
        Ok(out)
    }

    /// Reads one row by id.
    pub fn fetch_row(&mut self, table: &TableDef, rowid: u64) -> Result<Option<Row>> {
        match self.ctx.txn.get(&Key::Row(table.oid, rowid).encode())? {
            None => Ok(None),
            Some(v) => Ok(Some(rowcodec::decode_row(&v, table.columns.len())?)),
        }
    }

    /// Evaluates LIMIT (None = ALL) and OFFSET, with PostgreSQL's errors for negative counts.
    fn limit_offset(
        &mut self,
        limit: &Option<crate::sql::plan::Expr>,
        offset: &Option<crate::sql::plan::Expr>,
    ) -> Result<(Option<usize>, usize)> {
        let lim = match limit {
            Some(e) => match self.eval(e, &[])? {
                Value::Null => None,
                v => {
                    let n = super::ops::as_i64(&v).unwrap_or(0);
                    if n < 0 {
                        return Err(Error::new(
                            ErrorKind::InvalidRowCountInLimit,
                            "LIMIT must not be negative",
                        ));
                    }
                    Some(n as usize)
                }
            },
            None => None,
        };
        let off = match offset {
            Some(e) => {
                let n = super::ops::as_i64(&self.eval(e, &[])?).unwrap_or(0);
                if n < 0 {
                    return Err(Error::new(
                        ErrorKind::InvalidRowCountInResultOffset,
                        "OFFSET must not be negative",
                    ));
                }
                n as usize
            }
            None => 0,
        };
        Ok((lim, off))
    }

    /// Runs a plan to completion (recording per-node figures under EXPLAIN ANALYZE).
    pub fn run(&mut self, plan: &Plan) -> Result<Vec<Row>> {
        if self.stats.is_none() {
            return self.run_node(plan);
        }
        let start = std::time::Instant::now();
        let keys = self.keys;
        let rows = self.run_node(plan)?;
        let (n, elapsed, read) = (rows.len() as u64, start.elapsed(), self.keys - keys);
        if let Some(stats) = self.stats.as_mut() {
            let s = stats.entry(plan as *const Plan as usize).or_default();
            s.rows += n;
            s.loops += 1;
            s.time += elapsed;
            s.keys += read;
        }
        Ok(rows)
    }

    fn run_node(&mut self, plan: &Plan) -> Result<Vec<Row>> {
        self.ctx.wait.check()?;
        Ok(match plan {
            Plan::Single => vec![vec![]],
            Plan::Scan { table, lookup, rowid } => {
                let limit = self.scan_limit.take();
                let rows = self.scan_rows(table, lookup.as_ref(), limit)?;
                if *rowid {
                    rows.into_iter()
                        .map(|(id, mut r)| {
                            r.push(Value::Int8(id as i64));
                            r
                        })
                        .collect()
                } else {
                    rows.into_iter().map(|(_, r)| r).collect()
                }
            }
            Plan::Values(rows) => {
                let mut out = Vec::with_capacity(rows.len());
                for r in rows {
                    out.push(self.eval_row(r, &[])?);
                }
                out
            }
            Plan::Function(f, args) => {
                let vals = self.eval_row(args, &[])?;
                self.table_function(*f, vals)?
            }
            Plan::ProjectSet(input, srfs) => {
                let rows = self.run(input)?;
                let mut out = Vec::new();
                for r in rows {
                    self.tick()?;
                    let mut results = Vec::with_capacity(srfs.len());
                    for (f, args) in srfs {
                        let vals = self.eval_row(args, &r)?;
                        results.push(self.table_function(*f, vals)?);
                    }
                    let n = results.iter().map(Vec::len).max().unwrap_or(0);
                    for i in 0..n {
                        let mut row = r.clone();
                        for res in &results {
                            row.push(res.get(i).and_then(|x| x.first().cloned()).unwrap_or(Value::Null));
                        }
                        out.push(row);
                    }
                }
                out
            }
            Plan::Filter(input, pred) => {
                let rows = self.run(input)?;
                let mut out = Vec::new();
                for r in rows {
                    self.tick()?;
                    if self.check(pred, &r)? {
                        out.push(r);
                    }
                }
                out
            }
            Plan::Project(input, exprs) => {
                let rows = self.run(input)?;
                let mut out = Vec::with_capacity(rows.len());
                for r in rows {
                    self.tick()?;
                    out.push(self.eval_row(exprs, &r)?);
                }
                out
            }
            Plan::Join { kind, left, right, on, left_width, right_width, hash_keys } => {
                let l = self.run(left)?;
                let r = self.run(right)?;
                self.join(*kind, l, r, on.as_ref(), (*left_width, *right_width), hash_keys)?
            }
            Plan::Aggregate { input, group_by, aggs } => {
                let rows = self.run(input)?;
                self.aggregate(rows, group_by, aggs)?
            }
            Plan::Window(input, calls) => {
                let rows = self.run(input)?;
                self.window(rows, calls)?
            }
            Plan::Sort(input, keys) => {
                let rows = self.run(input)?;
                let mut keyed = Vec::with_capacity(rows.len());
                for r in rows {
                    let k = self.eval_row(&keys.iter().map(|k| k.expr.clone()).collect::<Vec<_>>(), &r)?;
                    keyed.push((k, r));
                }
                keyed.sort_by(|a, b| compare_keys(&a.0, &b.0, keys));
                keyed.into_iter().map(|(_, r)| r).collect()
            }
            Plan::Distinct(input, keys) => {
                let rows = self.run(input)?;
                let mut seen = HashSet::new();
                let mut out = Vec::new();
                for r in rows {
                    let k = match keys {
                        Some(k) => keyenc::encode_all(&self.eval_row(k, &r)?),
                        None => keyenc::encode_all(&r),
                    };
                    if seen.insert(k) {
                        out.push(r);
                    }
                }
                out
            }
            Plan::Limit { input, limit, offset } => {
                let (lim, off) = self.limit_offset(limit, offset)?;
                // LIMIT pushed into a scan that only projections separate from it: every row
                // the scan returns is a row of the result, so it can stop after offset + limit.
                let mut below = &**input;
                while let Plan::Project(p, _) = below {
                    below = p;
                }
                if matches!(below, Plan::Scan { .. }) {
                    self.scan_limit = lim.map(|l| l.saturating_add(off));
                }
                let rows = self.run(input);
                self.scan_limit = None;
                let rows = rows?;
                rows.into_iter().skip(off).take(lim.unwrap_or(usize::MAX)).collect()
            }
            Plan::LockRows { input, base, predicate, project, targets, limit, offset } => {
                let (lim, off) = self.limit_offset(limit, offset)?;
                let rows = self.run(input)?;
                let spec = super::rowlock::LockSpec { base: *base, predicate, project, targets };
                let want = lim.map(|l| l.saturating_add(off));
                self.lock_rows(rows, &spec, want)?.into_iter().skip(off).collect()
            }
            Plan::SetOp { kind, all, left, right } => {
                let l = self.run(left)?;
                let r = self.run(right)?;
                set_op(*kind, *all, l, r)
            }
            Plan::Recursive { cte, base, step, distinct } => {
                let mut seen = HashSet::new();
                let mut result = Vec::new();
                let mut frontier = Vec::new();
                for r in self.run(base)? {
                    if !*distinct || seen.insert(keyenc::encode_all(&r)) {
                        frontier.push(r.clone());
                        result.push(r);
                    }
                }
                while !frontier.is_empty() {
                    self.ctx.wait.check()?;
                    self.work.insert(*cte, std::mem::take(&mut frontier));
                    for r in self.run(step)? {
                        if !*distinct || seen.insert(keyenc::encode_all(&r)) {
                            frontier.push(r.clone());
                            result.push(r);
                        }
                    }
                    if result.len() > 50_000_000 {
                        return Err(Error::new(
                            ErrorKind::ProgramLimitExceeded,
                            "recursive query produced too many rows",
                        ));
                    }
                }
                self.work.remove(cte);
                result
            }
            Plan::WorkTable(id) => self.work.get(id).cloned().unwrap_or_default(),
            Plan::Virtual(v) => crate::sql::pgcatalog::rows(self.ctx, &self.catalog, *v)?,
        })
    }

    fn join(
        &mut self,
        kind: JoinKind,
        l: Vec<Row>,
        r: Vec<Row>,
        on: Option<&crate::sql::plan::Expr>,
        (lw, rw): (usize, usize),
        hash_keys: &[(crate::sql::plan::Expr, crate::sql::plan::Expr)],
    ) -> Result<Vec<Row>> {
        let mut out = Vec::new();
        let mut right_matched = vec![false; r.len()];
        // Hash join: the right rows by the canonical encoding of their key values (a NULL key
        // matches nothing); a nested loop compares every pair.
        let (left_keys, right_keys): (Vec<_>, Vec<_>) = hash_keys.iter().cloned().unzip();
        let mut table: HashMap<Vec<u8>, Vec<usize>> = HashMap::new();
        if !hash_keys.is_empty() {
            for (j, rrow) in r.iter().enumerate() {
                self.tick()?;
                let vals = self.eval_row(&right_keys, rrow)?;
                if !vals.iter().any(|v| v.is_null()) {
                    table.entry(keyenc::encode_all(&vals)).or_default().push(j);
                }
            }
        }
        let all: Vec<usize> = if hash_keys.is_empty() { (0..r.len()).collect() } else { vec![] };
        for lrow in &l {
            let mut matched = false;
            let candidates: &[usize] = if hash_keys.is_empty() {
                &all
            } else {
                let vals = self.eval_row(&left_keys, lrow)?;
                match vals.iter().any(|v| v.is_null()) {
                    true => &[],
                    false => table.get(&keyenc::encode_all(&vals)).map_or(&[], |v| v.as_slice()),
                }
            };
            for &j in candidates {
                let rrow = &r[j];
                self.tick()?;
                let mut row = Vec::with_capacity(lw + rw);
                row.extend(lrow.iter().cloned());
                row.extend(rrow.iter().cloned());
                let ok = match on {
                    None => true,
                    Some(p) => self.check(p, &row)?,
                };
                if ok {
                    matched = true;
                    right_matched[j] = true;
                    out.push(row);
                }
            }
            if !matched && matches!(kind, JoinKind::Left | JoinKind::Full) {
                let mut row = lrow.clone();
                row.extend(std::iter::repeat_n(Value::Null, rw));
                out.push(row);
            }
        }
        if matches!(kind, JoinKind::Right | JoinKind::Full) {
            for (j, rrow) in r.into_iter().enumerate() {
                if !right_matched[j] {
                    let mut row = vec![Value::Null; lw];
                    row.extend(rrow);
                    out.push(row);
                }
            }
        }
        Ok(out)
    }

    fn table_function(&mut self, f: Func, args: Vec<Value>) -> Result<Vec<Row>> {
        if args.iter().any(|a| a.is_null()) {
            return Ok(vec![]);
        }
        match f {
            Func::Unnest => match args.into_iter().next() {
                Some(Value::Array(items)) => {
                    let mut flat = Vec::new();
                    flatten(items, &mut flat);
                    Ok(flat.into_iter().map(|v| vec![v]).collect())
                }
                _ => Ok(vec![]),
            },
            Func::GenerateSeries => {
                let mut out = Vec::new();
                match (&args[0], &args[1]) {
                    (Value::Timestamp(_) | Value::Timestamptz(_), _) => {
                        let step = args.get(2).cloned().ok_or_else(|| {
                            Error::new(
                                ErrorKind::UndefinedFunction,
                                "function generate_series(timestamp, timestamp) does not exist",
                            )
                        })?;
                        let mut cur = args[0].clone();
                        while compare::compare(&cur, &args[1]) != Ordering::Greater {
                            self.tick()?;
                            out.push(vec![cur.clone()]);
                            let next = super::ops::arith(crate::sql::plan::BinOp::Add, &cur, &step)?;
                            if compare::compare(&next, &cur) != Ordering::Greater {
                                return Err(Error::new(
                                    ErrorKind::InvalidParameterValue,
                                    "step size cannot equal zero",
                                ));
                            }
                            cur = next;
                        }
                    }
                    (Value::Numeric(_) | Value::Float8(_), _) => {
                        let one = match &args[0] {
                            Value::Numeric(_) => Value::Numeric(crate::sql::types::Numeric::from_i64(1)),
                            _ => Value::Float8(1.0),
                        };
                        let step = args.get(2).cloned().unwrap_or(one);
                        let zero = compare::compare(&step, &Value::Int4(0));
                        if zero == Ordering::Equal {
                            return Err(Error::new(
                                ErrorKind::InvalidParameterValue,
                                "step size cannot equal zero",
                            ));
                        }
                        let mut cur = args[0].clone();
                        loop {
                            let c = compare::compare(&cur, &args[1]);
                            if (zero == Ordering::Greater && c == Ordering::Greater)
                                || (zero == Ordering::Less && c == Ordering::Less)
                            {
                                break;
                            }
                            self.tick()?;
                            out.push(vec![cur.clone()]);
                            cur = super::ops::arith(crate::sql::plan::BinOp::Add, &cur, &step)?;
                        }
                    }
                    _ => {
                        let a = super::ops::as_i64(&args[0]).unwrap_or(0);
                        let b = super::ops::as_i64(&args[1]).unwrap_or(0);
                        let s = args.get(2).and_then(super::ops::as_i64).unwrap_or(1);
                        if s == 0 {
                            return Err(Error::new(
                                ErrorKind::InvalidParameterValue,
                                "step size cannot equal zero",
                            ));
                        }
                        let int8 = matches!(args[0], Value::Int8(_));
                        let mut cur = a;
                        while (s > 0 && cur <= b) || (s < 0 && cur >= b) {
                            self.tick()?;
                            out.push(vec![if int8 { Value::Int8(cur) } else { Value::Int4(cur as i32) }]);
                            match cur.checked_add(s) {
                                Some(n) => cur = n,
                                None => break,
                            }
                        }
                    }
                }
                Ok(out)
            }
            _ => Err(Error::new(ErrorKind::FeatureNotSupported, "not a set-returning function")),
        }
    }
}

fn flatten(items: Vec<Value>, out: &mut Vec<Value>) {
    for v in items {
        match v {
            Value::Array(inner) => flatten(inner, out),
            v => out.push(v),
        }
    }
}

fn set_op(kind: SetOpKind, all: bool, l: Vec<Row>, r: Vec<Row>) -> Vec<Row> {
    match kind {
        SetOpKind::Union => {
            let mut out = l;
            out.extend(r);
            if all {
                return out;
            }
            let mut seen = HashSet::new();
            out.into_iter().filter(|row| seen.insert(keyenc::encode_all(row))).collect()
        }
        SetOpKind::Intersect | SetOpKind::Except => {
            let mut counts: HashMap<Vec<u8>, usize> = HashMap::new();
            for row in &r {
                *counts.entry(keyenc::encode_all(row)).or_default() += 1;
            }
            let mut out = Vec::new();
            let mut emitted = HashSet::new();
            for row in l {
                let k = keyenc::encode_all(&row);
                let c = counts.get(&k).copied().unwrap_or(0);
                let keep = match (kind, all) {
                    (SetOpKind::Intersect, true) => {
                        if c > 0 {
                            counts.insert(k.clone(), c - 1);
                            true
                        } else {
                            false
                        }
                    }
                    (SetOpKind::Intersect, false) => c > 0 && emitted.insert(k.clone()),
                    (_, true) => {
                        if c > 0 {
                            counts.insert(k.clone(), c - 1);
                            false
                        } else {
                            true
                        }
                    }
                    (_, false) => c == 0 && emitted.insert(k.clone()),
                };
                if keep {
                    out.push(row);
                }
            }
            out
        }
    }
}
