//! Subquery expressions: scalar, EXISTS, ARRAY(...) and `x op ANY/ALL (SELECT ...)` (IN, NOT IN).
//!
//! A subquery that reads nothing of the rows around it — no [`Expr::Outer`] reaching past its own
//! nesting, no recursive CTE work table — gives the same rows every time it runs in a statement,
//! so it runs once, at its first evaluation, and its rows are kept for the rest of the statement:
//! PostgreSQL's *InitPlan*, evaluated lazily (a branch never taken never runs it) and once even
//! when it calls a volatile function (`SELECT (SELECT random()) FROM generate_series(1, 3)` gives
//! one value three times there too). Without this, `WHERE a IN (SELECT ...)` over a 1,000-row
//! table re-ran the subquery for every row, and nested ones multiplied (10^9 row visits for the
//! SQLite corpus' `index/between/1000`).
//!
//! A correlated subquery runs again for every row (the enclosing row pushed on the runner's
//! `outer` stack); the cache remembers that verdict too. Entries are keyed by the plan's address
//! and keep a copy of the plan: DML binds some expressions while it runs (a VALUES row, say), and
//! a plan dropped after use may leave its address to a different one, which must not inherit
//! its rows; a hit therefore also compares the plans.

use super::{ops, Row, Runner};
use crate::error::{Error, ErrorKind, Result};
use crate::sql::plan::access::{IndexScan, KeyPart};
use crate::sql::plan::{AggCall, BinOp, Expr, Plan, SortKey, SubqueryKind, WindowFunc};
use crate::sql::types::Value;
use std::rc::Rc;

/// What the runner knows about one subquery plan (a copy of which it keeps).
#[derive(Clone, Debug)]
pub enum Cached {
    /// It reads the rows around it: run it per evaluation.
    Correlated(Box<Plan>),
    /// Its rows, computed once.
    Rows(Box<Plan>, Rc<Vec<Row>>),
}

impl Runner<'_, '_> {
    /// Evaluates a subquery expression over `row` (the row of the query that contains it).
    pub fn eval_subquery(&mut self, plan: &Plan, kind: &SubqueryKind, row: &[Value]) -> Result<Value> {
        let rows = self.subquery_rows(plan, row)?;
        Ok(match kind {
            SubqueryKind::Scalar => match rows.len() {
                0 => Value::Null,
                1 => rows[0].first().cloned().unwrap_or(Value::Null),
                _ => {
                    return Err(Error::new(
                        ErrorKind::CardinalityViolation,
                        "more than one row returned by a subquery used as an expression",
                    ))
                }
            },
            SubqueryKind::Exists => Value::Bool(!rows.is_empty()),
            SubqueryKind::Array => Value::Array(rows.iter().filter_map(|r| r.first().cloned()).collect()),
            SubqueryKind::Quantified { left, op, all } => {
                let x = self.eval(left, row)?;
                quantified(&x, *op, *all, rows.iter().filter_map(|r| r.first()))
            }
        })
    }

    fn subquery_rows(&mut self, plan: &Plan, row: &[Value]) -> Result<Rc<Vec<Row>>> {
        let key = plan as *const Plan as usize;
        let cached = match self.subqueries.get(&key) {
            Some(Cached::Rows(p, rows)) if **p == *plan => return Ok(rows.clone()),
            Some(Cached::Correlated(p)) if **p == *plan => false,
            _ => {
                let correlated = plan_escapes(plan, 0);
                if correlated {
                    self.subqueries.insert(key, Cached::Correlated(Box::new(plan.clone())));
                }
                !correlated
            }
        };
        self.outer.push(row.to_vec());
        let rows = self.run(plan);
        self.outer.pop();
        let rows = Rc::new(rows?);
        if cached {
            self.subqueries.insert(key, Cached::Rows(Box::new(plan.clone()), rows.clone()));
        }
        Ok(rows)
    }
}

/// `x op ANY/ALL (items)`: NULL when nothing decides and a NULL was compared.
pub fn quantified<'a>(x: &Value, op: BinOp, all: bool, items: impl Iterator<Item = &'a Value>) -> Value {
    let mut items = items.peekable();
    if items.peek().is_none() {
        return Value::Bool(all);
    }
    if x.is_null() {
        return Value::Null;
    }
    let mut saw_null = false;
    for v in items {
        if v.is_null() {
            saw_null = true;
            continue;
        }
        let r = ops::compare_op(op, x, v);
        if all && !r {
            return Value::Bool(false);
        }
        if !all && r {
            return Value::Bool(true);
        }
    }
    if saw_null {
        Value::Null
    } else {
        Value::Bool(all)
    }
}

/// Whether `plan`, `depth` subquery levels below the subquery being judged, reads a row from
/// outside that subquery (an [`Expr::Outer`] climbing more than `depth` levels) or a recursive
/// CTE's work table (which changes between iterations).
fn plan_escapes(plan: &Plan, depth: usize) -> bool {
    let e = |x: &Expr| expr_escapes(x, depth);
    let opt = |x: &Option<Expr>| x.as_ref().is_some_and(e);
    let keys = |ks: &[SortKey]| ks.iter().any(|k| e(&k.expr));
    let agg = |a: &AggCall| a.args.iter().any(e) || opt(&a.filter) || keys(&a.order_by);
    match plan {
        Plan::Single | Plan::Virtual(_) => false,
        Plan::WorkTable(_) => true,
        Plan::Scan { lookup, .. } => lookup.as_ref().is_some_and(|l| scan_escapes(l, depth)),
        Plan::LockRows { input, predicate, project, limit, offset, .. } => {
            plan_escapes(input, depth) || opt(predicate) || project.iter().any(e) || opt(limit) || opt(offset)
        }
        Plan::Values(rows) => rows.iter().flatten().any(e),
        Plan::Function(_, args) => args.iter().any(e),
        Plan::ProjectSet(input, srfs) => {
            plan_escapes(input, depth) || srfs.iter().any(|(_, a)| a.iter().any(e))
        }
        Plan::Filter(input, x) => plan_escapes(input, depth) || e(x),
        Plan::Project(input, xs) => plan_escapes(input, depth) || xs.iter().any(e),
        Plan::Join { left, right, on, hash_keys, .. } => {
            plan_escapes(left, depth)
                || plan_escapes(right, depth)
                || opt(on)
                || hash_keys.iter().any(|(a, b)| e(a) || e(b))
        }
        Plan::Aggregate { input, group_by, aggs } => {
            plan_escapes(input, depth) || group_by.iter().any(e) || aggs.iter().any(agg)
        }
        Plan::Window(input, calls) => {
            plan_escapes(input, depth)
                || calls.iter().any(|c| {
                    c.args.iter().any(e)
                        || c.partition_by.iter().any(e)
                        || keys(&c.order_by)
                        || matches!(&c.func, WindowFunc::Agg(a) if agg(a))
                })
        }
        Plan::Sort(input, ks) => plan_escapes(input, depth) || keys(ks),
        Plan::Distinct(input, on) => plan_escapes(input, depth) || on.iter().flatten().any(e),
        Plan::Limit { input, limit, offset } => plan_escapes(input, depth) || opt(limit) || opt(offset),
        Plan::SetOp { left, right, .. } => plan_escapes(left, depth) || plan_escapes(right, depth),
        Plan::Recursive { base, step, .. } => plan_escapes(base, depth) || plan_escapes(step, depth),
    }
}

fn scan_escapes(l: &IndexScan, depth: usize) -> bool {
    let e = |x: &Expr| expr_escapes(x, depth);
    l.prefixes.iter().flatten().any(|p| matches!(p, KeyPart::Eq(x) if e(x)))
        || l.lower.as_ref().is_some_and(|(x, _)| e(x))
        || l.upper.as_ref().is_some_and(|(x, _)| e(x))
}

fn expr_escapes(x: &Expr, depth: usize) -> bool {
    let e = |y: &Expr| expr_escapes(y, depth);
    match x {
        Expr::Outer(level, _) => *level > depth,
        Expr::Const(_) | Expr::Column(_) | Expr::Param(_) => false,
        Expr::Unary(_, a) | Expr::IsNull(a, _) | Expr::IsBool(a, ..) => e(a),
        Expr::Cast { expr, .. } => e(expr),
        Expr::Binary(_, a, b) | Expr::IsDistinct(a, b, _) | Expr::Subscript(a, b) => e(a) || e(b),
        Expr::Case { operand, whens, else_ } => {
            operand.as_deref().is_some_and(e)
                || whens.iter().any(|(a, b)| e(a) || e(b))
                || else_.as_deref().is_some_and(e)
        }
        Expr::Func(_, args) | Expr::Array(args) => args.iter().any(e),
        Expr::Like { expr, pattern, .. } => e(expr) || e(pattern),
        Expr::InList(a, list, _) => e(a) || list.iter().any(e),
        Expr::AnyArray { left, array, .. } => e(left) || e(array),
        Expr::Subquery(plan, kind) => {
            plan_escapes(plan, depth + 1) || matches!(kind, SubqueryKind::Quantified { left, .. } if e(left))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(x: Expr) -> Plan {
        Plan::Values(vec![vec![x]])
    }

    #[test]
    fn only_references_past_the_subquery_make_it_correlated() {
        // Level 1 inside the subquery itself is the enclosing query: correlated.
        assert!(plan_escapes(&values(Expr::Outer(1, 0)), 0));
        // A nested subquery's level 1 is the judged subquery: not correlated; its level 2 is.
        let nested =
            |level| values(Expr::Subquery(Box::new(values(Expr::Outer(level, 0))), SubqueryKind::Scalar));
        assert!(!plan_escapes(&nested(1), 0));
        assert!(plan_escapes(&nested(2), 0));
        assert!(!plan_escapes(&values(Expr::Column(0)), 0));
        assert!(plan_escapes(&Plan::WorkTable(0), 0));
    }

    #[test]
    fn quantified_follows_three_valued_logic() {
        let v = [Value::Int4(1), Value::Null];
        assert_eq!(quantified(&Value::Int4(1), BinOp::Eq, false, v.iter()), Value::Bool(true));
        assert_eq!(quantified(&Value::Int4(2), BinOp::Eq, false, v.iter()), Value::Null);
        assert_eq!(quantified(&Value::Null, BinOp::Eq, false, [].iter()), Value::Bool(false));
        assert_eq!(quantified(&Value::Int4(2), BinOp::Ne, true, v[..1].iter()), Value::Bool(true));
    }
}
