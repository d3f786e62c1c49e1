//! Expression evaluation with SQL's three-valued logic: NULL propagates through operators and
//! functions, `AND`/`OR` follow Kleene logic (`false AND NULL` is false, `true OR NULL` true),
//! `IN` and `ANY`/`ALL` return NULL when no match is found but a NULL was compared.

use super::{ops, Row, Runner};
use crate::error::{Error, ErrorKind, Result};
use crate::sql::plan::{BinOp, Expr, UnOp};
use crate::sql::types::{cast, Value};

fn truth(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        _ => None,
    }
}

impl Runner<'_, '_> {
    /// Evaluates `e` over `row`.
    pub fn eval(&mut self, e: &Expr, row: &[Value]) -> Result<Value> {
        Ok(match e {
            Expr::Const(v) => v.clone(),
            Expr::Column(i) => {
                row.get(*i).cloned().ok_or_else(|| Error::new(ErrorKind::Internal, "column out of range"))?
            }
            Expr::Outer(level, i) => {
                let n = self.outer.len();
                self.outer
                    .get(n.wrapping_sub(*level))
                    .and_then(|r| r.get(*i))
                    .cloned()
                    .ok_or_else(|| Error::new(ErrorKind::Internal, "outer reference out of range"))?
            }
            Expr::Param(i) => self.params.get(*i).cloned().ok_or_else(|| {
                Error::new(ErrorKind::UndefinedParameter, format!("there is no parameter ${}", i + 1))
            })?,
            Expr::Unary(UnOp::Not, a) => match truth(&self.eval(a, row)?) {
                Some(b) => Value::Bool(!b),
                None => Value::Null,
            },
            Expr::Unary(UnOp::Neg, a) => ops::negate(&self.eval(a, row)?)?,
            Expr::Binary(BinOp::And, a, b) => {
                let x = truth(&self.eval(a, row)?);
                if x == Some(false) {
                    return Ok(Value::Bool(false));
                }
                let y = truth(&self.eval(b, row)?);
                match (x, y) {
                    (_, Some(false)) => Value::Bool(false),
                    (Some(true), Some(true)) => Value::Bool(true),
                    _ => Value::Null,
                }
            }
            Expr::Binary(BinOp::Or, a, b) => {
                let x = truth(&self.eval(a, row)?);
                if x == Some(true) {
                    return Ok(Value::Bool(true));
                }
                let y = truth(&self.eval(b, row)?);
                match (x, y) {
                    (_, Some(true)) => Value::Bool(true),
                    (Some(false), Some(false)) => Value::Bool(false),
                    _ => Value::Null,
                }
            }
            Expr::Binary(op, a, b) => {
                let x = self.eval(a, row)?;
                let y = self.eval(b, row)?;
                if x.is_null() || y.is_null() {
                    return Ok(Value::Null);
                }
                match op {
                    BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                        Value::Bool(ops::compare_op(*op, &x, &y))
                    }
                    BinOp::Concat => ops::concat(&x, &y, &self.fmt),
                    BinOp::Regex { ci, negated } => {
                        let (Value::Text(s), Value::Text(p)) = (&x, &y) else { return Ok(Value::Null) };
                        Value::Bool(ops::regex_match(s, p, *ci)? != *negated)
                    }
                    _ => ops::arith(*op, &x, &y)?,
                }
            }
            Expr::IsNull(a, not) => Value::Bool(self.eval(a, row)?.is_null() != *not),
            Expr::IsBool(a, want, negated) => {
                let v = truth(&self.eval(a, row)?);
                Value::Bool((v == Some(*want)) != *negated)
            }
            Expr::IsDistinct(a, b, not) => {
                let x = self.eval(a, row)?;
                let y = self.eval(b, row)?;
                let distinct = match (x.is_null(), y.is_null()) {
                    (true, true) => false,
                    (true, false) | (false, true) => true,
                    _ => !crate::sql::types::compare::equal(&x, &y),
                };
                Value::Bool(distinct != *not)
            }
            Expr::Case { operand: _, whens, else_ } => {
                for (w, r) in whens {
                    if truth(&self.eval(w, row)?) == Some(true) {
                        return self.eval(r, row);
                    }
                }
                match else_ {
                    Some(e) => self.eval(e, row)?,
                    None => Value::Null,
                }
            }
            Expr::Cast { expr, from, to, explicit } => {
                let v = self.eval(expr, row)?;
                cast::cast(v, from, to, &self.fmt, *explicit)?
            }
            Expr::Func(f, args) => {
                let mut vals = Vec::with_capacity(args.len());
                for a in args {
                    vals.push(self.eval(a, row)?);
                }
                self.call(*f, vals)?
            }
            Expr::Like { expr, pattern, escape, ci, negated } => {
                let x = self.eval(expr, row)?;
                let p = self.eval(pattern, row)?;
                match (x, p) {
                    (Value::Text(s), Value::Text(p)) => {
                        Value::Bool(ops::like(&s, &p, *escape, *ci)? != *negated)
                    }
                    _ => Value::Null,
                }
            }
            Expr::InList(a, list, negated) => {
                let x = self.eval(a, row)?;
                if x.is_null() {
                    return Ok(Value::Null);
                }
                let mut saw_null = false;
                for item in list {
                    let v = self.eval(item, row)?;
                    if v.is_null() {
                        saw_null = true;
                    } else if crate::sql::types::compare::equal(&x, &v) {
                        return Ok(Value::Bool(!negated));
                    }
                }
                if saw_null {
                    Value::Null
                } else {
                    Value::Bool(*negated)
                }
            }
            Expr::AnyArray { left, op, array, all } => {
                let x = self.eval(left, row)?;
                let arr = self.eval(array, row)?;
                let Value::Array(items) = arr else { return Ok(Value::Null) };
                let mut flat = Vec::new();
                flatten(items, &mut flat);
                super::subquery::quantified(&x, *op, *all, flat.iter())
            }
            Expr::Subquery(plan, kind) => self.eval_subquery(plan, kind, row)?,
            Expr::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for i in items {
                    out.push(self.eval(i, row)?);
                }
                Value::Array(out)
            }
            Expr::Subscript(a, i) => {
                let arr = self.eval(a, row)?;
                let idx = self.eval(i, row)?;
                match (arr, ops::as_i64(&idx)) {
                    (Value::Array(items), Some(i)) if i >= 1 => {
                        items.into_iter().nth(i as usize - 1).unwrap_or(Value::Null)
                    }
                    _ => Value::Null,
                }
            }
        })
    }

    /// Evaluates a predicate: true only when the value is TRUE (NULL and false reject).
    pub fn check(&mut self, e: &Expr, row: &[Value]) -> Result<bool> {
        Ok(matches!(self.eval(e, row)?, Value::Bool(true)))
    }

    /// Evaluates several expressions into a row.
    pub fn eval_row(&mut self, exprs: &[Expr], row: &[Value]) -> Result<Row> {
        let mut out = Vec::with_capacity(exprs.len());
        for e in exprs {
            out.push(self.eval(e, row)?);
        }
        Ok(out)
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
