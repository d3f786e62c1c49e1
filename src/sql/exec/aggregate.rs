//! Aggregation: hash grouping on the canonical key encoding of the GROUP BY values (so `1.0` and
//! `1.00` share a group), aggregates with DISTINCT, FILTER and ORDER BY, and PostgreSQL's result
//! types (`sum(int4)` bigint, `sum(int8)` and `avg(int)` numeric). Without GROUP BY an empty input
//! still yields one row (`count` 0, others NULL).

use super::{ops, Row, Runner};
use crate::error::Result;
use crate::sql::plan::{AggCall, AggFunc, BinOp, Expr, SortKey};
use crate::sql::types::{compare, keyenc, DataType, Numeric, Value};
use std::collections::{HashMap, HashSet};

/// Accumulated state of one aggregate over one group.
#[derive(Clone, Debug, Default)]
pub struct Acc {
    count: i64,
    value: Option<Value>,
    items: Vec<(Vec<Value>, Vec<Value>)>,
    seen: HashSet<Vec<u8>>,
}

impl Runner<'_, '_> {
    /// Feeds one input row to an aggregate.
    pub fn accumulate(&mut self, call: &AggCall, acc: &mut Acc, row: &[Value]) -> Result<()> {
        if let Some(f) = &call.filter {
            if !self.check(f, row)? {
                return Ok(());
            }
        }
        if call.func == AggFunc::CountStar {
            acc.count += 1;
            return Ok(());
        }
        let args = self.eval_row(&call.args, row)?;
        let v = args[0].clone();
        if v.is_null() && call.func != AggFunc::ArrayAgg {
            return Ok(());
        }
        if call.distinct && !acc.seen.insert(keyenc::encode_all(&args[..1])) {
            return Ok(());
        }
        if !call.order_by.is_empty() || matches!(call.func, AggFunc::StringAgg | AggFunc::ArrayAgg) {
            let keys =
                self.eval_row(&call.order_by.iter().map(|k| k.expr.clone()).collect::<Vec<Expr>>(), row)?;
            acc.items.push((keys, args));
            return Ok(());
        }
        acc.count += 1;
        acc.value = Some(match (call.func, acc.value.take()) {
            (_, None) => match call.func {
                AggFunc::Sum | AggFunc::Avg => widen(&v, &call.result_type),
                _ => v,
            },
            (AggFunc::Count, Some(x)) => x,
            (AggFunc::Sum | AggFunc::Avg, Some(x)) => {
                let w = widen(&v, &call.result_type);
                ops::arith(BinOp::Add, &x, &w)?
            }
            (AggFunc::Min, Some(x)) => {
                if compare::compare(&v, &x) == std::cmp::Ordering::Less {
                    v
                } else {
                    x
                }
            }
            (AggFunc::Max, Some(x)) => {
                if compare::compare(&v, &x) == std::cmp::Ordering::Greater {
                    v
                } else {
                    x
                }
            }
            (AggFunc::BoolAnd, Some(x)) => Value::Bool(x == Value::Bool(true) && v == Value::Bool(true)),
            (AggFunc::BoolOr, Some(x)) => Value::Bool(x == Value::Bool(true) || v == Value::Bool(true)),
            (_, Some(x)) => x,
        });
        Ok(())
    }

    /// The aggregate's result.
    pub fn finish(&mut self, call: &AggCall, acc: Acc) -> Result<Value> {
        Ok(match call.func {
            AggFunc::CountStar | AggFunc::Count if acc.items.is_empty() => Value::Int8(acc.count),
            AggFunc::Count => Value::Int8(acc.items.len() as i64),
            AggFunc::Avg => match acc.value {
                None => Value::Null,
                Some(Value::Numeric(n)) => Value::Numeric(n.div(&Numeric::from_i64(acc.count))?),
                Some(Value::Float8(f)) => Value::Float8(f / acc.count as f64),
                Some(Value::Interval(i)) => Value::Interval(crate::sql::types::Interval {
                    months: i.months / acc.count as i32,
                    days: i.days / acc.count as i32,
                    micros: i.micros / acc.count,
                }),
                Some(v) => v,
            },
            AggFunc::StringAgg | AggFunc::ArrayAgg => {
                let mut items = acc.items;
                if items.is_empty() {
                    return Ok(Value::Null);
                }
                sort_items(&mut items, &call.order_by);
                if call.func == AggFunc::ArrayAgg {
                    Value::Array(items.into_iter().map(|(_, a)| a[0].clone()).collect())
                } else {
                    let mut out = String::new();
                    let mut bytes = Vec::new();
                    let mut first = true;
                    for (_, a) in items.iter().filter(|(_, a)| !a[0].is_null()) {
                        if !first {
                            match a.get(1) {
                                Some(Value::Text(d)) => out.push_str(d),
                                Some(Value::Bytea(d)) => bytes.extend(d),
                                _ => {}
                            }
                        }
                        first = false;
                        match &a[0] {
                            Value::Text(s) => out.push_str(s),
                            Value::Bytea(b) => bytes.extend(b),
                            _ => {}
                        }
                    }
                    if call.result_type == DataType::Bytea {
                        Value::Bytea(bytes)
                    } else {
                        Value::Text(out)
                    }
                }
            }
            _ if !acc.items.is_empty() => {
                // Ordered variants of simple aggregates: replay in order.
                let mut items = acc.items;
                sort_items(&mut items, &call.order_by);
                let mut plain = call.clone();
                plain.order_by = vec![];
                plain.filter = None;
                plain.distinct = false;
                let mut a2 = Acc::default();
                for (_, args) in items {
                    let row: Row = args;
                    let probe = AggCall { args: vec![Expr::Column(0)], ..plain.clone() };
                    self.accumulate(&probe, &mut a2, &row)?;
                }
                self.finish(&plain, a2)?
            }
            _ => acc.value.unwrap_or(Value::Null),
        })
    }

    /// Runs an Aggregate node.
    pub fn aggregate(&mut self, rows: Vec<Row>, group_by: &[Expr], aggs: &[AggCall]) -> Result<Vec<Row>> {
        let mut groups: HashMap<Vec<u8>, usize> = HashMap::new();
        let mut states: Vec<(Row, Vec<Acc>)> = Vec::new();
        for row in rows {
            self.tick()?;
            let key_vals = self.eval_row(group_by, &row)?;
            let key = keyenc::encode_all(&key_vals);
            let idx = match groups.get(&key) {
                Some(i) => *i,
                None => {
                    states.push((key_vals, vec![Acc::default(); aggs.len()]));
                    groups.insert(key, states.len() - 1);
                    states.len() - 1
                }
            };
            for (a, call) in aggs.iter().enumerate() {
                let mut acc = std::mem::take(&mut states[idx].1[a]);
                self.accumulate(call, &mut acc, &row)?;
                states[idx].1[a] = acc;
            }
        }
        if states.is_empty() && group_by.is_empty() {
            states.push((vec![], vec![Acc::default(); aggs.len()]));
        }
        let mut out = Vec::with_capacity(states.len());
        for (mut key, accs) in states {
            for (call, acc) in aggs.iter().zip(accs) {
                key.push(self.finish(call, acc)?);
            }
            out.push(key);
        }
        Ok(out)
    }
}

fn sort_items(items: &mut [(Vec<Value>, Vec<Value>)], keys: &[SortKey]) {
    items.sort_by(|a, b| super::query::compare_keys(&a.0, &b.0, keys));
}

fn widen(v: &Value, to: &DataType) -> Value {
    match (v, to) {
        (Value::Int2(i), DataType::Int8) => Value::Int8(*i as i64),
        (Value::Int4(i), DataType::Int8) => Value::Int8(*i as i64),
        (Value::Int2(i), DataType::Numeric(_)) => Value::Numeric(Numeric::from_i64(*i as i64)),
        (Value::Int4(i), DataType::Numeric(_)) => Value::Numeric(Numeric::from_i64(*i as i64)),
        (Value::Int8(i), DataType::Numeric(_)) => Value::Numeric(Numeric::from_i64(*i)),
        (Value::Float4(f), DataType::Float8) => Value::Float8(*f as f64),
        _ => v.clone(),
    }
}
