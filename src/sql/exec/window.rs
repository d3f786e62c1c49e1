//! Window functions: rows are partitioned by the PARTITION BY values, ordered by the window's
//! ORDER BY, and each call appends one column. The default frame (RANGE UNBOUNDED PRECEDING to
//! CURRENT ROW) includes the current row's peers; without ORDER BY the frame is the whole
//! partition. Output keeps the input order of rows.

use super::aggregate::Acc;
use super::query::compare_keys;
use super::{Row, Runner};
use crate::error::Result;
use crate::sql::plan::{Expr, WindowCall, WindowFunc};
use crate::sql::types::{keyenc, Value};
use std::cmp::Ordering;
use std::collections::HashMap;

impl Runner<'_, '_> {
    /// Runs a Window node.
    pub fn window(&mut self, rows: Vec<Row>, calls: &[WindowCall]) -> Result<Vec<Row>> {
        let mut extra: Vec<Vec<Value>> = vec![Vec::with_capacity(calls.len()); rows.len()];
        for call in calls {
            let mut parts: HashMap<Vec<u8>, Vec<usize>> = HashMap::new();
            let mut order: Vec<Vec<u8>> = Vec::new();
            for (i, r) in rows.iter().enumerate() {
                let k = keyenc::encode_all(&self.eval_row(&call.partition_by, r)?);
                if !parts.contains_key(&k) {
                    order.push(k.clone());
                }
                parts.entry(k).or_default().push(i);
            }
            let key_exprs: Vec<Expr> = call.order_by.iter().map(|k| k.expr.clone()).collect();
            let mut results = vec![Value::Null; rows.len()];
            for pk in order {
                let idxs = parts.remove(&pk).unwrap_or_default();
                let mut keyed = Vec::with_capacity(idxs.len());
                for i in idxs {
                    keyed.push((self.eval_row(&key_exprs, &rows[i])?, i));
                }
                keyed.sort_by(|a, b| compare_keys(&a.0, &b.0, &call.order_by));
                let n = keyed.len();
                let peers_end = |pos: usize| -> usize {
                    let mut e = pos;
                    while e + 1 < n
                        && compare_keys(&keyed[e + 1].0, &keyed[pos].0, &call.order_by) == Ordering::Equal
                    {
                        e += 1;
                    }
                    e
                };
                match &call.func {
                    WindowFunc::RowNumber => {
                        for (p, (_, i)) in keyed.iter().enumerate() {
                            results[*i] = Value::Int8(p as i64 + 1);
                        }
                    }
                    WindowFunc::Rank | WindowFunc::DenseRank => {
                        let (mut rank, mut dense) = (0i64, 0i64);
                        for p in 0..n {
                            if p == 0
                                || compare_keys(&keyed[p].0, &keyed[p - 1].0, &call.order_by)
                                    != Ordering::Equal
                            {
                                rank = p as i64 + 1;
                                dense += 1;
                            }
                            results[keyed[p].1] =
                                Value::Int8(if matches!(call.func, WindowFunc::Rank) { rank } else { dense });
                        }
                    }
                    WindowFunc::Lag(lag) => {
                        for p in 0..n {
                            let row = &rows[keyed[p].1];
                            let off = super::ops::as_i64(&self.eval(&call.args[1], row)?).unwrap_or(1);
                            let target = if *lag { p as i64 - off } else { p as i64 + off };
                            results[keyed[p].1] = if target >= 0 && (target as usize) < n {
                                self.eval(&call.args[0], &rows[keyed[target as usize].1])?
                            } else if let Some(d) = call.args.get(2) {
                                self.eval(d, row)?
                            } else {
                                Value::Null
                            };
                        }
                    }
                    WindowFunc::Agg(agg) => {
                        let mut acc = Acc::default();
                        let mut fed = 0usize;
                        let mut p = 0;
                        while p < n {
                            let end = if call.whole_partition {
                                n - 1
                            } else if call.rows_frame {
                                p
                            } else {
                                peers_end(p)
                            };
                            while fed <= end {
                                self.accumulate(agg, &mut acc, &rows[keyed[fed].1])?;
                                fed += 1;
                            }
                            let v = self.finish(agg, acc.clone())?;
                            let last = if call.rows_frame && !call.whole_partition { p } else { end };
                            for item in keyed.iter().take(last + 1).skip(p) {
                                results[item.1] = v.clone();
                            }
                            p = last + 1;
                        }
                    }
                }
            }
            for (i, v) in results.into_iter().enumerate() {
                extra[i].push(v);
            }
        }
        Ok(rows
            .into_iter()
            .zip(extra)
            .map(|(mut r, e)| {
                r.extend(e);
                r
            })
            .collect())
    }
}
