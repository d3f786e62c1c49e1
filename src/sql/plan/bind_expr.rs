//! Binding expressions: names to row positions, literals to typed constants, operators and
//! functions to their typed forms, aggregates and window calls to the columns of the nodes that
//! compute them. Also PostgreSQL's output column naming (`?column?`, function names, cast type
//! names, `case`).

use super::bind::{cast_expr, AggState, Binder};
use super::functions::{self, numeric_promote};
use super::scope::Scope;
use super::{AggCall, AggFunc, BinOp, Expr, SortKey, SubqueryKind, UnOp, WindowCall, WindowFunc};
use crate::error::{Error, ErrorKind, Result};
use crate::sql::types::{names, DataType, Numeric, Value};
use sqlparser::ast::{self, BinaryOperator, UnaryOperator};

/// The name PostgreSQL gives a select-list expression without an alias.
pub fn column_name(e: &ast::Expr) -> String {
    let mut e = e;
    loop {
        match e {
            ast::Expr::Nested(inner) => e = inner,
            ast::Expr::Identifier(i) => return i.value.clone(),
            ast::Expr::CompoundIdentifier(parts) => {
                return parts.last().map(|p| p.value.clone()).unwrap_or_default()
            }
            ast::Expr::Function(f) => {
                let n = f.name.0.last().map(|p| p.to_string()).unwrap_or_default().to_ascii_lowercase();
                return match n.as_str() {
                    "current_timestamp" | "current_date" | "current_user" | "session_user" | "user"
                    | "current_schema" | "localtimestamp" => n,
                    _ => n.trim_matches('"').to_string(),
                };
            }
            ast::Expr::Cast { expr, data_type, .. } => {
                return match names::from_ast(data_type) {
                    Ok(t) => t.cast_column_name(),
                    Err(_) => column_name(expr),
                }
            }
            ast::Expr::TypedString(ts) => {
                return names::from_ast(&ts.data_type)
                    .map(|t| t.cast_column_name())
                    .unwrap_or_else(|_| "?column?".into())
            }
            ast::Expr::Case { .. } => return "case".into(),
            ast::Expr::Exists { negated: false, .. } => return "exists".into(),
            ast::Expr::Array(_) => return "array".into(),
            ast::Expr::Value(v) if matches!(v.value, ast::Value::Boolean(_)) => return "bool".into(),
            ast::Expr::Substring { .. } => return "substring".into(),
            ast::Expr::Trim { .. } => return "btrim".into(),
            ast::Expr::Position { .. } => return "position".into(),
            ast::Expr::Extract { .. } => return "extract".into(),
            ast::Expr::Ceil { .. } => return "ceil".into(),
            ast::Expr::Floor { .. } => return "floor".into(),
            ast::Expr::Interval(_) => return "interval".into(),
            ast::Expr::Subquery(q) => {
                if let ast::SetExpr::Select(s) = q.body.as_ref() {
                    match s.projection.first() {
                        Some(ast::SelectItem::ExprWithAlias { alias, .. }) => return alias.value.clone(),
                        Some(ast::SelectItem::UnnamedExpr(inner)) => return column_name(inner),
                        _ => {}
                    }
                }
                return "?column?".into();
            }
            _ => return "?column?".into(),
        }
    }
}

fn not_bool(what: &str, t: &DataType) -> Error {
    Error::new(
        ErrorKind::DatatypeMismatch,
        format!("argument of {what} must be type boolean, not type {}", t.name()),
    )
}

fn no_operator(op: &str, l: &DataType, r: &DataType) -> Error {
    Error::new(
        ErrorKind::UndefinedFunction,
        format!("operator does not exist: {} {op} {}", l.name(), r.name()),
    )
    .with_hint(
        "No operator matches the given name and argument types. You might need to add explicit type casts.",
    )
}

fn agg_func(name: &str) -> Option<AggFunc> {
    Some(match name {
        "count" => AggFunc::Count,
        "sum" => AggFunc::Sum,
        "avg" => AggFunc::Avg,
        "min" => AggFunc::Min,
        "max" => AggFunc::Max,
        "string_agg" => AggFunc::StringAgg,
        "bool_and" | "every" => AggFunc::BoolAnd,
        "bool_or" => AggFunc::BoolOr,
        "array_agg" => AggFunc::ArrayAgg,
        _ => return None,
    })
}

/// Parses a numeric literal the way PostgreSQL types it: int4, else int8, else numeric.
pub fn number_literal(s: &str) -> Result<(Value, DataType)> {
    if s.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(v) = s.parse::<i32>() {
            return Ok((Value::Int4(v), DataType::Int4));
        }
        if let Ok(v) = s.parse::<i64>() {
            return Ok((Value::Int8(v), DataType::Int8));
        }
    }
    Ok((Value::Numeric(Numeric::parse(s)?), DataType::Numeric(None)))
}

fn comparison(op: &BinaryOperator) -> Option<BinOp> {
    Some(match op {
        BinaryOperator::Eq => BinOp::Eq,
        BinaryOperator::NotEq => BinOp::Ne,
        BinaryOperator::Lt => BinOp::Lt,
        BinaryOperator::LtEq => BinOp::Le,
        BinaryOperator::Gt => BinOp::Gt,
        BinaryOperator::GtEq => BinOp::Ge,
        _ => return None,
    })
}

impl Binder<'_> {
    /// Binds an expression over `scope`.
    pub fn expr(&mut self, e: &ast::Expr, scope: &Scope) -> Result<(Expr, DataType)> {
        self.enter()?;
        let r = self.expr_grouped(e, scope);
        self.leave();
        r
    }

    /// Binds an expression that must be boolean (WHERE, HAVING, ON, CHECK).
    pub fn predicate(&mut self, e: &ast::Expr, scope: &Scope, what: &str) -> Result<Expr> {
        let (x, t) = self.expr(e, scope)?;
        self.try_coerce(x, &t, &DataType::Bool)?.ok_or_else(|| {
            Error::new(
                ErrorKind::DatatypeMismatch,
                format!("argument of {what} must be type boolean, not type {}", t.name()),
            )
        })
    }

    fn expr_grouped(&mut self, e: &ast::Expr, scope: &Scope) -> Result<(Expr, DataType)> {
        if self.agg.is_some() && !self.in_agg_arg && !matches!(e, ast::Expr::Value(_)) {
            let is_agg_call = matches!(e, ast::Expr::Function(f) if f.over.is_none() && agg_func(&f.name.to_string().to_ascii_lowercase()).is_some());
            let is_window = matches!(e, ast::Expr::Function(f) if f.over.is_some());
            if !is_agg_call && !is_window {
                // Is this whole expression a GROUP BY expression?
                let state = self.agg.take();
                let windows = self.windows.take();
                let plain = self.expr_inner(e, scope);
                self.agg = state;
                self.windows = windows;
                if let Ok((pe, pt)) = plain {
                    let groups = &self.agg.as_ref().map(|a| a.groups.clone()).unwrap_or_default();
                    if let Some(i) = groups.iter().position(|g| *g == pe) {
                        return Ok((Expr::Column(i), pt));
                    }
                    if !contains_column(&pe) {
                        return Ok((pe, pt));
                    }
                }
                if let ast::Expr::Identifier(_) | ast::Expr::CompoundIdentifier(_) = e {
                    let (q, n) = match e {
                        ast::Expr::Identifier(i) => (None, i.value.clone()),
                        ast::Expr::CompoundIdentifier(p) => (
                            p.first().map(|x| x.value.clone()),
                            p.last().map(|x| x.value.clone()).unwrap_or_default(),
                        ),
                        _ => unreachable!(),
                    };
                    let qualified = match (&q, scope.resolve(None, &n)) {
                        (Some(q), _) if q != &n => format!("{q}.{n}"),
                        (_, Ok(Some(i))) => match &scope.columns[i].qualifier {
                            Some(q) => format!("{q}.{n}"),
                            None => n.clone(),
                        },
                        _ => n.clone(),
                    };
                    if let Ok((pe, _)) = self.expr_inner(e, scope) {
                        if matches!(pe, Expr::Column(_)) {
                            return Err(Error::new(
                                ErrorKind::Grouping,
                                format!("column \"{qualified}\" must appear in the GROUP BY clause or be used in an aggregate function"),
                            ));
                        }
                    }
                }
            }
        }
        self.expr_inner(e, scope)
    }

    fn expr_inner(&mut self, e: &ast::Expr, scope: &Scope) -> Result<(Expr, DataType)> {
        use ast::Expr as A;
        Ok(match e {
            A::Nested(inner) => self.expr(inner, scope)?,
            A::Identifier(id) => self.column(None, &id.value, scope)?,
            A::CompoundIdentifier(parts) => match parts.as_slice() {
                [q, c] => self.column(Some(&q.value), &c.value, scope)?,
                [_, q, c] => self.column(Some(&q.value), &c.value, scope)?,
                _ => {
                    return Err(Error::new(ErrorKind::FeatureNotSupported, format!("unsupported name: {e}")))
                }
            },
            A::Value(v) => self.literal(&v.value)?,
            A::TypedString(ts) => {
                let to = names::from_ast(&ts.data_type)?;
                let s = match &ts.value.value {
                    ast::Value::SingleQuotedString(s) | ast::Value::EscapedStringLiteral(s) => s.clone(),
                    other => other.to_string(),
                };
                (
                    Expr::Const(crate::sql::types::cast::cast(
                        Value::Text(s),
                        &DataType::Unknown,
                        &to,
                        &self.fmt,
                        true,
                    )?),
                    to,
                )
            }
            A::Interval(iv) => {
                let (x, t) = self.expr(&iv.value, scope)?;
                let mut x = self
                    .try_coerce(x, &t, &DataType::Interval)?
                    .ok_or_else(|| no_operator("::", &t, &DataType::Interval))?;
                if let (true, Some(field)) = (matches!(x, Expr::Const(Value::Interval(_))), &iv.leading_field)
                {
                    // INTERVAL '1' DAY: a bare number takes the leading field's unit.
                    if let A::Value(v) = iv.value.as_ref() {
                        if let ast::Value::SingleQuotedString(s) = &v.value {
                            if s.trim().parse::<f64>().is_ok() {
                                let unit = field.to_string().to_ascii_lowercase();
                                let parsed = crate::sql::types::cast::parse_interval(&format!("{s} {unit}"))?;
                                x = Expr::Const(Value::Interval(parsed));
                            }
                        }
                    }
                }
                (x, DataType::Interval)
            }
            A::UnaryOp { op, expr } => self.unary(op, expr, scope)?,
            A::BinaryOp { left, op, right } => {
                let (l, lt) = self.expr(left, scope)?;
                let (r, rt) = self.expr(right, scope)?;
                self.binary(op, l, lt, r, rt)?
            }
            A::IsNull(x) | A::IsNotNull(x) => {
                let (b, _) = self.expr(x, scope)?;
                (Expr::IsNull(Box::new(b), matches!(e, A::IsNotNull(_))), DataType::Bool)
            }
            A::IsTrue(x)
            | A::IsNotTrue(x)
            | A::IsFalse(x)
            | A::IsNotFalse(x)
            | A::IsUnknown(x)
            | A::IsNotUnknown(x) => {
                let what = match e {
                    A::IsTrue(_) | A::IsNotTrue(_) => "IS TRUE",
                    A::IsFalse(_) | A::IsNotFalse(_) => "IS FALSE",
                    _ => "IS UNKNOWN",
                };
                let b = self.predicate(x, scope, what)?;
                match e {
                    A::IsTrue(_) => (Expr::IsBool(Box::new(b), true, false), DataType::Bool),
                    A::IsNotTrue(_) => (Expr::IsBool(Box::new(b), true, true), DataType::Bool),
                    A::IsFalse(_) => (Expr::IsBool(Box::new(b), false, false), DataType::Bool),
                    A::IsNotFalse(_) => (Expr::IsBool(Box::new(b), false, true), DataType::Bool),
                    A::IsUnknown(_) => (Expr::IsNull(Box::new(b), false), DataType::Bool),
                    _ => (Expr::IsNull(Box::new(b), true), DataType::Bool),
                }
            }
            A::IsDistinctFrom(a, b) | A::IsNotDistinctFrom(a, b) => {
                let (l, lt) = self.expr(a, scope)?;
                let (r, rt) = self.expr(b, scope)?;
                let (l, r) = self.compare_operands(l, lt, r, rt, "=")?;
                (
                    Expr::IsDistinct(Box::new(l), Box::new(r), matches!(e, A::IsNotDistinctFrom(..))),
                    DataType::Bool,
                )
            }
            A::Between { expr, negated, low, high } => {
                let (x, xt) = self.expr(expr, scope)?;
                let (lo, lot) = self.expr(low, scope)?;
                let (hi, hit) = self.expr(high, scope)?;
                let (a1, b1) = self.compare_operands(x.clone(), xt.clone(), lo, lot, ">=")?;
                let (a2, b2) = self.compare_operands(x, xt, hi, hit, "<=")?;
                let both = Expr::Binary(
                    BinOp::And,
                    Box::new(Expr::Binary(BinOp::Ge, Box::new(a1), Box::new(b1))),
                    Box::new(Expr::Binary(BinOp::Le, Box::new(a2), Box::new(b2))),
                );
                if *negated {
                    (Expr::Unary(UnOp::Not, Box::new(both)), DataType::Bool)
                } else {
                    (both, DataType::Bool)
                }
            }
            A::InList { expr, list, negated } => {
                let (x, xt) = self.expr(expr, scope)?;
                let mut items = Vec::new();
                let mut types = vec![xt.clone()];
                for i in list {
                    let (b, t) = self.expr(i, scope)?;
                    types.push(t.clone());
                    items.push((b, t));
                }
                let common = self.common_type(&types, "IN")?;
                let x = self.try_coerce(x, &xt, &common)?.ok_or_else(|| no_operator("=", &xt, &common))?;
                let mut out = Vec::new();
                for (b, t) in items {
                    out.push(self.try_coerce(b, &t, &common)?.ok_or_else(|| no_operator("=", &common, &t))?);
                }
                (Expr::InList(Box::new(x), out, *negated), DataType::Bool)
            }
            A::InSubquery { expr, subquery, negated } => {
                let (x, xt) = self.expr(expr, scope)?;
                let q = self.subquery(subquery, scope)?;
                if q.columns.len() != 1 {
                    return Err(Error::new(ErrorKind::Syntax, "subquery has too many columns"));
                }
                let qt = q.columns[0].data_type.clone();
                let (x, plan) = self.align_subquery(x, xt, q, "=")?;
                let kind = SubqueryKind::Quantified {
                    left: Box::new(x),
                    op: if *negated { BinOp::Ne } else { BinOp::Eq },
                    all: *negated,
                };
                let _ = qt;
                (Expr::Subquery(Box::new(plan), kind), DataType::Bool)
            }
            A::Exists { subquery, negated } => {
                let q = self.subquery(subquery, scope)?;
                let ex = Expr::Subquery(Box::new(q.plan), SubqueryKind::Exists);
                if *negated {
                    (Expr::Unary(UnOp::Not, Box::new(ex)), DataType::Bool)
                } else {
                    (ex, DataType::Bool)
                }
            }
            A::Subquery(q) => {
                let q = self.subquery(q, scope)?;
                if q.columns.len() != 1 {
                    return Err(Error::new(ErrorKind::Syntax, "subquery must return only one column"));
                }
                let t = q.columns[0].data_type.clone();
                let t = if t == DataType::Unknown { DataType::Text } else { t };
                (Expr::Subquery(Box::new(q.plan), SubqueryKind::Scalar), t)
            }
            A::AnyOp { left, compare_op, right, .. } | A::AllOp { left, compare_op, right } => {
                let all = matches!(e, A::AllOp { .. });
                let op = comparison(compare_op).ok_or_else(|| {
                    Error::new(ErrorKind::FeatureNotSupported, format!("operator {compare_op} ANY/ALL"))
                })?;
                let (x, xt) = self.expr(left, scope)?;
                if let A::Subquery(q) = right.as_ref() {
                    let q = self.subquery(q, scope)?;
                    let (x, plan) = self.align_subquery(x, xt, q, op.symbol())?;
                    return Ok((
                        Expr::Subquery(
                            Box::new(plan),
                            SubqueryKind::Quantified { left: Box::new(x), op, all },
                        ),
                        DataType::Bool,
                    ));
                }
                let (arr, at) = self.expr(right, scope)?;
                let (x, arr) = match &at {
                    DataType::Array(elem) => {
                        let (x, _) = self.compare_operands(
                            x,
                            xt.clone(),
                            Expr::Const(Value::Null),
                            (**elem).clone(),
                            op.symbol(),
                        )?;
                        let target =
                            if xt == DataType::Unknown { (**elem).clone() } else { unify_or(&xt, elem) };
                        let arr_t = DataType::Array(Box::new(target.clone()));
                        let arr = if arr_t != at {
                            self.try_coerce(arr, &at, &arr_t)?.unwrap_or(Expr::Const(Value::Null))
                        } else {
                            arr
                        };
                        let x = self.try_coerce(x, &xt, &target)?.unwrap_or(Expr::Const(Value::Null));
                        (x, arr)
                    }
                    DataType::Unknown => {
                        let arr_t = DataType::Array(Box::new(if xt == DataType::Unknown {
                            DataType::Text
                        } else {
                            xt.clone()
                        }));
                        let arr = self.try_coerce(arr, &at, &arr_t)?.unwrap_or(Expr::Const(Value::Null));
                        (x, arr)
                    }
                    _ => {
                        return Err(Error::new(
                            ErrorKind::DatatypeMismatch,
                            "op ANY/ALL (array) requires array on right side".to_string(),
                        ))
                    }
                };
                (Expr::AnyArray { left: Box::new(x), op, array: Box::new(arr), all }, DataType::Bool)
            }
            A::Like { negated, expr, pattern, escape_char, any: false }
            | A::ILike { negated, expr, pattern, escape_char, any: false } => {
                let ci = matches!(e, A::ILike { .. });
                let (x, xt) = self.expr(expr, scope)?;
                let (p, pt) = self.expr(pattern, scope)?;
                let x =
                    self.try_coerce(x, &xt, &DataType::Text)?.ok_or_else(|| no_operator("~~", &xt, &pt))?;
                let p =
                    self.try_coerce(p, &pt, &DataType::Text)?.ok_or_else(|| no_operator("~~", &xt, &pt))?;
                let escape = match escape_char.as_deref() {
                    None => Some('\\'),
                    Some(A::Value(v)) => match &v.value {
                        ast::Value::SingleQuotedString(s) if s.is_empty() => None,
                        ast::Value::SingleQuotedString(s) if s.chars().count() == 1 => s.chars().next(),
                        _ => {
                            return Err(Error::new(ErrorKind::InvalidEscapeSequence, "invalid escape string")
                                .with_hint("Escape string must be empty or one character."))
                        }
                    },
                    Some(_) => return Err(Error::new(ErrorKind::FeatureNotSupported, "non-constant ESCAPE")),
                };
                (
                    Expr::Like { expr: Box::new(x), pattern: Box::new(p), escape, ci, negated: *negated },
                    DataType::Bool,
                )
            }
            A::Case { operand, conditions, else_result, .. } => {
                self.case(operand.as_deref(), conditions, else_result.as_deref(), scope)?
            }
            A::Cast { expr, data_type, .. } => {
                // regclass, regtype, ...: crate::sql::pgcatalog::bind.
                if let Some(r) = self.reg_cast(expr, data_type, scope)? {
                    return Ok(r);
                }
                let to = names::from_ast(data_type)?;
                let (x, from) = self.expr(expr, scope)?;
                self.explicit_cast(x, from, to)?
            }
            A::Function(f) => self.function(f, scope)?,
            A::Substring { expr, substring_from, substring_for, .. } => {
                let mut args = vec![(**expr).clone()];
                args.push(
                    substring_from
                        .as_deref()
                        .cloned()
                        .unwrap_or(A::Value(ast::Value::Number("1".into(), false).into())),
                );
                if let Some(f) = substring_for {
                    args.push((**f).clone());
                }
                self.call("substring", &args, scope)?
            }
            A::Position { expr, r#in } => {
                let (h, ht) = self.expr(r#in, scope)?;
                let (n, nt) = self.expr(expr, scope)?;
                let h = self
                    .try_coerce(h, &ht, &DataType::Text)?
                    .ok_or_else(|| no_operator("position", &ht, &nt))?;
                let n = self
                    .try_coerce(n, &nt, &DataType::Text)?
                    .ok_or_else(|| no_operator("position", &ht, &nt))?;
                (Expr::Func(functions::Func::Position, vec![h, n]), DataType::Int4)
            }
            A::Trim { trim_where, trim_what, expr, .. } => {
                let name = match trim_where {
                    Some(ast::TrimWhereField::Leading) => "ltrim",
                    Some(ast::TrimWhereField::Trailing) => "rtrim",
                    _ => "btrim",
                };
                let mut args = vec![(**expr).clone()];
                if let Some(w) = trim_what {
                    args.push((**w).clone());
                }
                self.call(name, &args, scope)?
            }
            A::Ceil { expr, .. } => self.call("ceil", std::slice::from_ref(expr.as_ref()), scope)?,
            A::Floor { expr, .. } => self.call("floor", std::slice::from_ref(expr.as_ref()), scope)?,
            A::Extract { field, expr, .. } => {
                let (x, xt) = self.expr(expr, scope)?;
                let x = self
                    .try_coerce(x, &xt, &DataType::Timestamp)?
                    .ok_or_else(|| no_operator("extract", &xt, &xt))?;
                let f = Expr::Const(Value::Text(field.to_string().to_ascii_lowercase()));
                (
                    Expr::Cast {
                        expr: Box::new(Expr::Func(functions::Func::DatePart, vec![f, x])),
                        from: DataType::Float8,
                        to: DataType::Numeric(None),
                        explicit: true,
                    },
                    DataType::Numeric(None),
                )
            }
            A::Array(arr) => {
                let mut items = Vec::new();
                let mut types = Vec::new();
                for i in &arr.elem {
                    let (b, t) = self.expr(i, scope)?;
                    types.push(t.clone());
                    items.push((b, t));
                }
                if items.is_empty() {
                    return Err(Error::new(
                        ErrorKind::IndeterminateDatatype,
                        "cannot determine type of empty array",
                    )
                    .with_hint("Explicitly cast to the desired type, for example ARRAY[]::integer[]."));
                }
                let common = self.common_type(&types, "ARRAY")?;
                let elem_t = match &common {
                    DataType::Array(inner) => (**inner).clone(),
                    t => t.clone(),
                };
                let mut out = Vec::new();
                for (b, t) in items {
                    out.push(self.try_coerce(b, &t, &common)?.unwrap_or(Expr::Const(Value::Null)));
                }
                (Expr::Array(out), DataType::Array(Box::new(elem_t)))
            }
            A::CompoundFieldAccess { root, access_chain } => {
                let (mut x, mut t) = self.expr(root, scope)?;
                for a in access_chain {
                    match a {
                        ast::AccessExpr::Subscript(ast::Subscript::Index { index }) => {
                            let DataType::Array(elem) = t.clone() else {
                                return Err(Error::new(
                                    ErrorKind::DatatypeMismatch,
                                    format!(
                                        "cannot subscript type {} because it does not support subscripting",
                                        t.name()
                                    ),
                                ));
                            };
                            let (i, it) = self.expr(index, scope)?;
                            let i = self.try_coerce(i, &it, &DataType::Int4)?.ok_or_else(|| {
                                Error::new(
                                    ErrorKind::DatatypeMismatch,
                                    "array subscript must have type integer",
                                )
                            })?;
                            x = Expr::Subscript(Box::new(x), Box::new(i));
                            t = *elem;
                        }
                        _ => {
                            return Err(Error::new(
                                ErrorKind::FeatureNotSupported,
                                "array slices and field access are not supported",
                            ))
                        }
                    }
                }
                (x, t)
            }
            A::Collate { expr, .. } => self.expr(expr, scope)?,
            A::Tuple(_) => {
                return Err(Error::new(ErrorKind::FeatureNotSupported, "row constructors are not supported"))
            }
            A::SimilarTo { .. } => {
                return Err(Error::new(ErrorKind::FeatureNotSupported, "SIMILAR TO is not supported"))
            }
            A::AtTimeZone { .. } => {
                return Err(Error::new(ErrorKind::FeatureNotSupported, "AT TIME ZONE is not supported"))
            }
            other => {
                return Err(Error::new(
                    ErrorKind::FeatureNotSupported,
                    format!("expression not supported: {other}"),
                ))
            }
        })
    }

    /// Records that a column of table `oid` is read (0 = not a table column).
    fn note_read(&mut self, oid: u32) {
        if oid != 0 && !self.read_tables.contains(&oid) {
            self.read_tables.push(oid);
        }
    }

    fn column(&mut self, q: Option<&str>, name: &str, scope: &Scope) -> Result<(Expr, DataType)> {
        if let Some(i) = scope.resolve(q, name)? {
            self.note_read(scope.columns[i].table_oid);
            return Ok((Expr::Column(i), scope.columns[i].data_type.clone()));
        }
        for (level, s) in self.outer.iter().rev().enumerate() {
            if let Some(i) = s.resolve(q, name)? {
                let oid = s.columns[i].table_oid;
                if oid != 0 && !self.read_tables.contains(&oid) {
                    self.read_tables.push(oid);
                }
                let t = s.columns[i].data_type.clone();
                // Above an Aggregate the enclosing row is group values ++ aggregates.
                let groups = self.outer_groups.iter().rev().nth(level).cloned().flatten();
                let Some(groups) = groups else { return Ok((Expr::Outer(level + 1, i), t)) };
                return match groups.iter().position(|g| *g == Expr::Column(i)) {
                    Some(k) => Ok((Expr::Outer(level + 1, k), t)),
                    None => {
                        let qual =
                            s.columns[i].qualifier.clone().map(|q| format!("{q}.")).unwrap_or_default();
                        Err(Error::new(
                            ErrorKind::Grouping,
                            format!(
                                "subquery uses ungrouped column \"{qual}{}\" from outer query",
                                s.columns[i].name
                            ),
                        ))
                    }
                };
            }
        }
        if q.is_none() {
            // Niladic functions written without parentheses.
            match name {
                "current_timestamp" | "localtimestamp" => {
                    return Ok((Expr::Func(functions::Func::Now, vec![]), DataType::Timestamptz))
                }
                "current_date" => {
                    return Ok((
                        Expr::Cast {
                            expr: Box::new(Expr::Func(functions::Func::Now, vec![])),
                            from: DataType::Timestamptz,
                            to: DataType::Date,
                            explicit: true,
                        },
                        DataType::Date,
                    ))
                }
                "current_user" | "user" | "current_role" => {
                    return Ok((Expr::Func(functions::Func::CurrentUser, vec![]), DataType::Name))
                }
                "session_user" => {
                    return Ok((Expr::Func(functions::Func::SessionUser, vec![]), DataType::Name))
                }
                "current_schema" => {
                    return Ok((Expr::Func(functions::Func::CurrentSchema, vec![]), DataType::Name))
                }
                _ => {}
            }
        }
        match q {
            Some(q) if !scope.has_qualifier(q) && !self.outer.iter().any(|s| s.has_qualifier(q)) => Err(
                Error::new(ErrorKind::UndefinedTable, format!("missing FROM-clause entry for table \"{q}\"")),
            ),
            Some(q) => {
                Err(Error::new(ErrorKind::UndefinedColumn, format!("column {q}.{name} does not exist")))
            }
            None => Err(Error::new(ErrorKind::UndefinedColumn, format!("column \"{name}\" does not exist"))),
        }
    }

    fn literal(&mut self, v: &ast::Value) -> Result<(Expr, DataType)> {
        Ok(match v {
            ast::Value::Number(s, _) => {
                let (v, t) = number_literal(s)?;
                (Expr::Const(v), t)
            }
            ast::Value::SingleQuotedString(s)
            | ast::Value::EscapedStringLiteral(s)
            | ast::Value::UnicodeStringLiteral(s)
            | ast::Value::NationalStringLiteral(s) => {
                (Expr::Const(Value::Text(s.clone())), DataType::Unknown)
            }
            ast::Value::DollarQuotedString(d) => {
                (Expr::Const(Value::Text(d.value.clone())), DataType::Unknown)
            }
            ast::Value::HexStringLiteral(s) => (Expr::Const(Value::Text(s.clone())), DataType::Unknown),
            ast::Value::Boolean(b) => (Expr::Const(Value::Bool(*b)), DataType::Bool),
            ast::Value::Null => (Expr::Const(Value::Null), DataType::Unknown),
            ast::Value::Placeholder(p) => {
                let n: usize = p
                    .trim_start_matches('$')
                    .parse()
                    .map_err(|_| Error::new(ErrorKind::Syntax, format!("syntax error at or near \"{p}\"")))?;
                if n == 0 || n > 65535 {
                    return Err(Error::new(
                        ErrorKind::UndefinedParameter,
                        format!("there is no parameter ${n}"),
                    ));
                }
                if self.params.len() < n {
                    self.params.resize(n, DataType::Unknown);
                }
                (Expr::Param(n - 1), self.params[n - 1].clone())
            }
            other => {
                return Err(Error::new(
                    ErrorKind::FeatureNotSupported,
                    format!("literal not supported: {other}"),
                ))
            }
        })
    }

    /// An explicit CAST / `::`.
    pub fn explicit_cast(&mut self, x: Expr, from: DataType, to: DataType) -> Result<(Expr, DataType)> {
        if from == DataType::Unknown {
            if let Expr::Param(i) = x {
                if self.params.get(i) == Some(&DataType::Unknown) {
                    self.params[i] = to.without_typmod();
                    let e = if to.typmod() >= 0 {
                        Expr::Cast {
                            expr: Box::new(Expr::Param(i)),
                            from: to.without_typmod(),
                            to: to.clone(),
                            explicit: true,
                        }
                    } else {
                        Expr::Param(i)
                    };
                    return Ok((e, to));
                }
            }
        }
        if from != DataType::Unknown
            && !crate::sql::types::cast::can_assign(&from, &to)
            && !explicit_allowed(&from, &to)
        {
            return Err(Error::new(
                ErrorKind::CannotCoerce,
                format!("cannot cast type {} to {}", from.name(), to.name()),
            ));
        }
        Ok((cast_expr(x, &from, &to, true, &self.fmt)?, to))
    }

    fn unary(&mut self, op: &UnaryOperator, x: &ast::Expr, scope: &Scope) -> Result<(Expr, DataType)> {
        match op {
            UnaryOperator::Not => {
                let b = self.predicate(x, scope, "NOT")?;
                Ok((Expr::Unary(UnOp::Not, Box::new(b)), DataType::Bool))
            }
            UnaryOperator::Minus => {
                if let ast::Expr::Value(v) = x {
                    if let ast::Value::Number(s, _) = &v.value {
                        let (v, t) = number_literal(&format!("-{s}"))?;
                        return Ok((Expr::Const(v), t));
                    }
                }
                let (b, t) = self.expr(x, scope)?;
                let t = if t == DataType::Unknown { DataType::Float8 } else { t };
                if !t.is_numeric() && t != DataType::Interval {
                    return Err(Error::new(
                        ErrorKind::UndefinedFunction,
                        format!("operator does not exist: - {}", t.name()),
                    ));
                }
                Ok((Expr::Unary(UnOp::Neg, Box::new(b)), t))
            }
            UnaryOperator::Plus => self.expr(x, scope),
            UnaryOperator::PGSquareRoot => self.call("sqrt", std::slice::from_ref(x), scope),
            UnaryOperator::PGAbs => self.call("abs", std::slice::from_ref(x), scope),
            other => {
                Err(Error::new(ErrorKind::FeatureNotSupported, format!("operator {other} is not supported")))
            }
        }
    }

    /// Coerces two operands of a comparison to a common type.
    pub fn compare_operands(
        &mut self,
        l: Expr,
        lt: DataType,
        r: Expr,
        rt: DataType,
        op: &str,
    ) -> Result<(Expr, Expr)> {
        let target = match (&lt, &rt) {
            (DataType::Unknown, DataType::Unknown) => DataType::Text,
            (DataType::Unknown, t) | (t, DataType::Unknown) => t.clone(),
            (a, b) => super::bind::unify(a, b).ok_or_else(|| no_operator(op, a, b))?,
        };
        let l = self.try_coerce(l, &lt, &target)?.ok_or_else(|| no_operator(op, &lt, &rt))?;
        let r = self.try_coerce(r, &rt, &target)?.ok_or_else(|| no_operator(op, &lt, &rt))?;
        Ok((l, r))
    }

    /// Types and coerces a binary operator.
    pub fn binary(
        &mut self,
        op: &BinaryOperator,
        l: Expr,
        lt: DataType,
        r: Expr,
        rt: DataType,
    ) -> Result<(Expr, DataType)> {
        use DataType as T;
        if let Some(cmp) = comparison(op) {
            let (l, r) = self.compare_operands(l, lt, r, rt, cmp.symbol())?;
            return Ok((Expr::Binary(cmp, Box::new(l), Box::new(r)), T::Bool));
        }
        let bop = match op {
            BinaryOperator::And | BinaryOperator::Or => {
                let what = if matches!(op, BinaryOperator::And) { "AND" } else { "OR" };
                let l = self.try_coerce(l, &lt, &T::Bool)?.ok_or_else(|| not_bool(what, &lt))?;
                let r = self.try_coerce(r, &rt, &T::Bool)?.ok_or_else(|| not_bool(what, &rt))?;
                let b = if what == "AND" { BinOp::And } else { BinOp::Or };
                return Ok((Expr::Binary(b, Box::new(l), Box::new(r)), T::Bool));
            }
            BinaryOperator::Plus => BinOp::Add,
            BinaryOperator::Minus => BinOp::Sub,
            BinaryOperator::Multiply => BinOp::Mul,
            BinaryOperator::Divide => BinOp::Div,
            BinaryOperator::Modulo => BinOp::Mod,
            BinaryOperator::PGExp => BinOp::Pow,
            BinaryOperator::BitwiseAnd => BinOp::BitAnd,
            BinaryOperator::BitwiseOr => BinOp::BitOr,
            BinaryOperator::PGBitwiseShiftLeft => BinOp::ShiftLeft,
            BinaryOperator::PGBitwiseShiftRight => BinOp::ShiftRight,
            BinaryOperator::StringConcat => BinOp::Concat,
            BinaryOperator::PGRegexMatch => BinOp::Regex { ci: false, negated: false },
            BinaryOperator::PGRegexIMatch => BinOp::Regex { ci: true, negated: false },
            BinaryOperator::PGRegexNotMatch => BinOp::Regex { ci: false, negated: true },
            BinaryOperator::PGRegexNotIMatch => BinOp::Regex { ci: true, negated: true },
            BinaryOperator::PGLikeMatch
            | BinaryOperator::PGILikeMatch
            | BinaryOperator::PGNotLikeMatch
            | BinaryOperator::PGNotILikeMatch => {
                let ci = matches!(op, BinaryOperator::PGILikeMatch | BinaryOperator::PGNotILikeMatch);
                let negated = matches!(op, BinaryOperator::PGNotLikeMatch | BinaryOperator::PGNotILikeMatch);
                let l = self.try_coerce(l, &lt, &T::Text)?.ok_or_else(|| no_operator("~~", &lt, &rt))?;
                let r = self.try_coerce(r, &rt, &T::Text)?.ok_or_else(|| no_operator("~~", &lt, &rt))?;
                return Ok((
                    Expr::Like { expr: Box::new(l), pattern: Box::new(r), escape: Some('\\'), ci, negated },
                    T::Bool,
                ));
            }
            BinaryOperator::PGCustomBinaryOperator(parts) => {
                let sym = parts.last().map(|s| s.as_str()).unwrap_or("");
                let real = match sym {
                    "~" => BinaryOperator::PGRegexMatch,
                    "~*" => BinaryOperator::PGRegexIMatch,
                    "!~" => BinaryOperator::PGRegexNotMatch,
                    "!~*" => BinaryOperator::PGRegexNotIMatch,
                    "=" => BinaryOperator::Eq,
                    "<>" | "!=" => BinaryOperator::NotEq,
                    "<" => BinaryOperator::Lt,
                    "<=" => BinaryOperator::LtEq,
                    ">" => BinaryOperator::Gt,
                    ">=" => BinaryOperator::GtEq,
                    "+" => BinaryOperator::Plus,
                    "-" => BinaryOperator::Minus,
                    "*" => BinaryOperator::Multiply,
                    "/" => BinaryOperator::Divide,
                    "||" => BinaryOperator::StringConcat,
                    "~~" => BinaryOperator::PGLikeMatch,
                    "!~~" => BinaryOperator::PGNotLikeMatch,
                    "~~*" => BinaryOperator::PGILikeMatch,
                    _ => return Err(no_operator(sym, &lt, &rt)),
                };
                return self.binary(&real, l, lt, r, rt);
            }
            other => {
                return Err(Error::new(
                    ErrorKind::FeatureNotSupported,
                    format!("operator {other} is not supported"),
                ))
            }
        };
        match bop {
            BinOp::Regex { .. } => {
                let l =
                    self.try_coerce(l, &lt, &T::Text)?.ok_or_else(|| no_operator(bop.symbol(), &lt, &rt))?;
                let r =
                    self.try_coerce(r, &rt, &T::Text)?.ok_or_else(|| no_operator(bop.symbol(), &lt, &rt))?;
                Ok((Expr::Binary(bop, Box::new(l), Box::new(r)), T::Bool))
            }
            BinOp::Concat => {
                if let (T::Array(_), _) | (_, T::Array(_)) = (&lt, &rt) {
                    let at = if matches!(lt, T::Array(_)) { lt.clone() } else { rt.clone() };
                    let elem = match &at {
                        T::Array(e) => (**e).clone(),
                        _ => unreachable!(),
                    };
                    let (l, r) = match (&lt, &rt) {
                        (T::Array(_), T::Array(_)) => (l, r),
                        (T::Array(_), _) => {
                            (l, self.try_coerce(r, &rt, &elem)?.ok_or_else(|| no_operator("||", &lt, &rt))?)
                        }
                        _ => (self.try_coerce(l, &lt, &elem)?.ok_or_else(|| no_operator("||", &lt, &rt))?, r),
                    };
                    return Ok((Expr::Func(functions::Func::ArrayCat, vec![l, r]), at));
                }
                if lt.is_string() || rt.is_string() || lt == T::Unknown || rt == T::Unknown {
                    let l = self.as_text(l, &lt);
                    let r = self.as_text(r, &rt);
                    let t = if lt == T::Bytea && rt == T::Bytea { T::Bytea } else { T::Text };
                    return Ok((Expr::Binary(BinOp::Concat, Box::new(l), Box::new(r)), t));
                }
                if lt == T::Bytea && rt == T::Bytea {
                    return Ok((Expr::Binary(BinOp::Concat, Box::new(l), Box::new(r)), T::Bytea));
                }
                Err(no_operator("||", &lt, &rt))
            }
            _ => self.arithmetic(bop, l, lt, r, rt),
        }
    }

    fn as_text(&mut self, e: Expr, t: &DataType) -> Expr {
        if t.is_string() && !matches!(t, DataType::Char(_)) {
            return e;
        }
        if *t == DataType::Unknown {
            return self.try_coerce(e.clone(), t, &DataType::Text).ok().flatten().unwrap_or(e);
        }
        Expr::Cast { expr: Box::new(e), from: t.clone(), to: DataType::Text, explicit: true }
    }

    fn arithmetic(
        &mut self,
        op: BinOp,
        l: Expr,
        lt: DataType,
        r: Expr,
        rt: DataType,
    ) -> Result<(Expr, DataType)> {
        use DataType as T;
        let sym = op.symbol();
        // Date and time arithmetic.
        let dt = match (op, &lt, &rt) {
            (BinOp::Add, T::Date, T::Int4 | T::Int2 | T::Int8 | T::Unknown)
            | (BinOp::Sub, T::Date, T::Int4 | T::Int2 | T::Int8) => Some((T::Date, T::Int4, T::Date)),
            (BinOp::Add, T::Int4 | T::Int2 | T::Int8, T::Date) => Some((T::Int4, T::Date, T::Date)),
            (BinOp::Sub, T::Date, T::Date) => Some((T::Date, T::Date, T::Int4)),
            (BinOp::Add | BinOp::Sub, T::Date, T::Interval) => {
                Some((T::Timestamp, T::Interval, T::Timestamp))
            }
            (BinOp::Add | BinOp::Sub, T::Timestamp, T::Interval | T::Unknown) => {
                Some((T::Timestamp, T::Interval, T::Timestamp))
            }
            (BinOp::Add | BinOp::Sub, T::Timestamptz, T::Interval | T::Unknown) => {
                Some((T::Timestamptz, T::Interval, T::Timestamptz))
            }
            (BinOp::Add, T::Interval, T::Timestamp) => Some((T::Interval, T::Timestamp, T::Timestamp)),
            (BinOp::Add, T::Interval, T::Timestamptz) => Some((T::Interval, T::Timestamptz, T::Timestamptz)),
            (BinOp::Sub, T::Timestamp, T::Timestamp) => Some((T::Timestamp, T::Timestamp, T::Interval)),
            (BinOp::Sub, T::Timestamptz, T::Timestamptz) => {
                Some((T::Timestamptz, T::Timestamptz, T::Interval))
            }
            (BinOp::Add | BinOp::Sub, T::Interval, T::Interval | T::Unknown) => {
                Some((T::Interval, T::Interval, T::Interval))
            }
            (BinOp::Sub, T::Date, T::Unknown) => Some((T::Date, T::Date, T::Int4)),
            (BinOp::Mul, T::Interval, T::Int4 | T::Int8 | T::Float8 | T::Numeric(_)) => {
                Some((T::Interval, T::Float8, T::Interval))
            }
            (BinOp::Mul, T::Int4 | T::Int8 | T::Float8 | T::Numeric(_), T::Interval) => {
                Some((T::Float8, T::Interval, T::Interval))
            }
            _ => None,
        };
        if let Some((ltarget, rtarget, result)) = dt {
            let l = self.try_coerce(l, &lt, &ltarget)?.ok_or_else(|| no_operator(sym, &lt, &rt))?;
            let r = self.try_coerce(r, &rt, &rtarget)?.ok_or_else(|| no_operator(sym, &lt, &rt))?;
            return Ok((Expr::Binary(op, Box::new(l), Box::new(r)), result));
        }
        let target =
            match (&lt, &rt) {
                (T::Unknown, T::Unknown) => return Err(Error::new(
                    ErrorKind::AmbiguousFunction,
                    format!("operator is not unique: unknown {sym} unknown"),
                )
                .with_hint(
                    "Could not choose a best candidate operator. You might need to add explicit type casts.",
                )),
                (T::Unknown, t) | (t, T::Unknown) if t.is_numeric() => t.without_typmod(),
                (a, b) => numeric_promote(a, b).ok_or_else(|| no_operator(sym, a, b))?,
            };
        let target = match (op, &target) {
            (BinOp::Pow, T::Numeric(_)) => T::Numeric(None),
            (BinOp::Pow, _) => T::Float8,
            (
                BinOp::Mod | BinOp::BitAnd | BinOp::BitOr | BinOp::ShiftLeft | BinOp::ShiftRight,
                T::Float4 | T::Float8,
            ) => return Err(no_operator(sym, &lt, &rt)),
            (_, t) => t.clone(),
        };
        let (rtarget, result) = match op {
            BinOp::ShiftLeft | BinOp::ShiftRight => (T::Int4, lt.clone()),
            _ => (target.clone(), target.clone()),
        };
        let ltarget = if matches!(op, BinOp::ShiftLeft | BinOp::ShiftRight) { lt.clone() } else { target };
        let l = self.try_coerce(l, &lt, &ltarget)?.ok_or_else(|| no_operator(sym, &lt, &rt))?;
        let r = self.try_coerce(r, &rt, &rtarget)?.ok_or_else(|| no_operator(sym, &lt, &rt))?;
        Ok((Expr::Binary(op, Box::new(l), Box::new(r)), result))
    }

    fn case(
        &mut self,
        operand: Option<&ast::Expr>,
        conds: &[ast::CaseWhen],
        else_: Option<&ast::Expr>,
        scope: &Scope,
    ) -> Result<(Expr, DataType)> {
        let op = match operand {
            Some(o) => Some(self.expr(o, scope)?),
            None => None,
        };
        let mut whens = Vec::new();
        let mut results = Vec::new();
        for c in conds {
            let cond = match &op {
                Some((ox, ot)) => {
                    let (w, wt) = self.expr(&c.condition, scope)?;
                    let (a, b) = self.compare_operands(ox.clone(), ot.clone(), w, wt, "=")?;
                    Expr::Binary(BinOp::Eq, Box::new(a), Box::new(b))
                }
                None => self.predicate(&c.condition, scope, "CASE")?,
            };
            whens.push(cond);
            results.push(self.expr(&c.result, scope)?);
        }
        let else_b = match else_ {
            Some(e) => Some(self.expr(e, scope)?),
            None => None,
        };
        let mut types: Vec<DataType> = results.iter().map(|r| r.1.clone()).collect();
        if let Some((_, t)) = &else_b {
            types.push(t.clone());
        }
        let t = self.common_type(&types, "CASE")?;
        let mut out = Vec::new();
        for (w, (r, rt)) in whens.into_iter().zip(results) {
            out.push((w, self.try_coerce(r, &rt, &t)?.ok_or_else(|| no_operator("CASE", &rt, &t))?));
        }
        let else_x = match else_b {
            Some((x, xt)) => {
                Some(Box::new(self.try_coerce(x, &xt, &t)?.ok_or_else(|| no_operator("CASE", &xt, &t))?))
            }
            None => None,
        };
        Ok((Expr::Case { operand: None, whens: out, else_: else_x }, t))
    }

    fn function_args(
        &self,
        f: &ast::Function,
    ) -> Result<(Vec<ast::Expr>, bool, bool, Vec<ast::OrderByExpr>)> {
        match &f.args {
            ast::FunctionArguments::None => Ok((vec![], false, false, vec![])),
            ast::FunctionArguments::Subquery(_) => {
                Err(Error::new(ErrorKind::FeatureNotSupported, "subquery function arguments"))
            }
            ast::FunctionArguments::List(list) => {
                let mut args = Vec::new();
                let mut star = false;
                for a in &list.args {
                    match a {
                        ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => args.push(e.clone()),
                        ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Wildcard) => star = true,
                        _ => {
                            return Err(Error::new(
                                ErrorKind::FeatureNotSupported,
                                "named or qualified function arguments",
                            ))
                        }
                    }
                }
                let mut order = Vec::new();
                for c in &list.clauses {
                    if let ast::FunctionArgumentClause::OrderBy(o) = c {
                        order = o.clone();
                    }
                }
                let distinct = matches!(list.duplicate_treatment, Some(ast::DuplicateTreatment::Distinct));
                Ok((args, star, distinct, order))
            }
        }
    }

    fn function(&mut self, f: &ast::Function, scope: &Scope) -> Result<(Expr, DataType)> {
        // ARRAY(SELECT ...): crate::sql::pgcatalog::bind.
        if let Some(r) = self.array_subquery(f, scope)? {
            return Ok(r);
        }
        if !self.srf_columns.is_empty() {
            let text = f.to_string();
            if let Some((_, col, t)) = self.srf_columns.iter().find(|c| c.0 == text) {
                return Ok((Expr::Column(*col), t.clone()));
            }
        }
        let raw = f.name.to_string();
        let name = raw.to_ascii_lowercase().replace('"', "");
        let name = name.strip_prefix("pg_catalog.").unwrap_or(&name).to_string();
        let (args, star, distinct, order) = self.function_args(f)?;
        if let Some(over) = &f.over {
            return self.window_call(&name, &args, star, over, f, scope);
        }
        if let Some(func) = agg_func(&name) {
            return self.aggregate(func, &name, &args, star, distinct, &order, f.filter.as_deref(), scope);
        }
        if f.filter.is_some() {
            return Err(Error::new(
                ErrorKind::Syntax,
                format!("FILTER specified, but {name} is not an aggregate function"),
            ));
        }
        if star {
            return Err(Error::new(
                ErrorKind::Syntax,
                format!("{name}(*) specified, but {name} is not an aggregate function"),
            ));
        }
        self.call(&name, &args, scope)
    }

    /// Binds a call of a scalar built-in.
    pub fn call(&mut self, name: &str, args: &[ast::Expr], scope: &Scope) -> Result<(Expr, DataType)> {
        let mut bound = Vec::new();
        for a in args {
            bound.push(self.expr(a, scope)?);
        }
        match name {
            "coalesce" | "greatest" | "least" | "nullif" => {
                let types: Vec<DataType> = bound.iter().map(|b| b.1.clone()).collect();
                let what = name.to_ascii_uppercase();
                let t = self.common_type(&types, &what)?;
                if name == "nullif" && bound.len() != 2 {
                    return Err(Error::new(ErrorKind::Syntax, "syntax error in NULLIF"));
                }
                let mut out = Vec::new();
                for (x, xt) in bound {
                    out.push(self.try_coerce(x, &xt, &t)?.ok_or_else(|| no_operator(&what, &xt, &t))?);
                }
                let f = match name {
                    "coalesce" => functions::Func::Coalesce,
                    "greatest" => functions::Func::Greatest,
                    "least" => functions::Func::Least,
                    _ => functions::Func::Nullif,
                };
                return Ok((Expr::Func(f, out), t));
            }
            _ => {}
        }
        let types: Vec<DataType> = bound.iter().map(|b| b.1.clone()).collect();
        let Some((func, want, ret)) = functions::resolve(name, &types)? else {
            if agg_func(name).is_some()
                || functions::resolve_table_function(name, &types).ok().flatten().is_some()
            {
                return Err(Error::new(
                    ErrorKind::FeatureNotSupported,
                    format!("function {name} is not supported in this position"),
                ));
            }
            let list: Vec<String> = types.iter().map(|t| t.name()).collect();
            return Err(Error::new(ErrorKind::UndefinedFunction, format!("function {name}({}) does not exist", list.join(", ")))
                .with_hint("No function matches the given name and argument types. You might need to add explicit type casts."));
        };
        let mut out = Vec::new();
        for ((x, xt), w) in bound.into_iter().zip(want.iter()) {
            let c = match self.try_coerce(x.clone(), &xt, w)? {
                Some(c) => c,
                None if w.is_string()
                    && !matches!(xt, DataType::Array(_))
                    && matches!(func, functions::Func::Concat | functions::Func::ConcatWs) =>
                {
                    Expr::Cast { expr: Box::new(x), from: xt.clone(), to: DataType::Text, explicit: true }
                }
                None => {
                    let list: Vec<String> = types.iter().map(|t| t.name()).collect();
                    return Err(Error::new(ErrorKind::UndefinedFunction, format!("function {name}({}) does not exist", list.join(", ")))
                        .with_hint("No function matches the given name and argument types. You might need to add explicit type casts."));
                }
            };
            out.push(c);
        }
        if func == functions::Func::PgTypeof {
            return Ok((Expr::Const(Value::Text(types[0].name())), DataType::Text));
        }
        Ok((Expr::Func(func, out), ret))
    }

    #[allow(clippy::too_many_arguments)]
    fn aggregate(
        &mut self,
        func: AggFunc,
        name: &str,
        args: &[ast::Expr],
        star: bool,
        distinct: bool,
        order: &[ast::OrderByExpr],
        filter: Option<&ast::Expr>,
        scope: &Scope,
    ) -> Result<(Expr, DataType)> {
        if self.in_agg_arg {
            return Err(Error::new(ErrorKind::Grouping, "aggregate function calls cannot be nested"));
        }
        if self.agg.is_none() {
            self.saw_aggregate = true;
            return Err(Error::new(
                ErrorKind::Grouping,
                format!("aggregate functions are not allowed here ({name})"),
            ));
        }
        self.in_agg_arg = true;
        let r = self.aggregate_call(func, name, args, star, distinct, order, filter, scope);
        self.in_agg_arg = false;
        let call = r?;
        let t = call.result_type.clone();
        let state: &mut AggState = self.agg.as_mut().expect("checked above");
        let idx = match state.aggs.iter().position(|a| *a == call) {
            Some(i) => i,
            None => {
                state.aggs.push(call);
                state.aggs.len() - 1
            }
        };
        Ok((Expr::Column(state.groups.len() + idx), t))
    }

    #[allow(clippy::too_many_arguments)]
    fn aggregate_call(
        &mut self,
        func: AggFunc,
        name: &str,
        args: &[ast::Expr],
        star: bool,
        distinct: bool,
        order: &[ast::OrderByExpr],
        filter: Option<&ast::Expr>,
        scope: &Scope,
    ) -> Result<AggCall> {
        use DataType as T;
        let mut bound = Vec::new();
        for a in args {
            bound.push(self.expr(a, scope)?);
        }
        let filter = match filter {
            Some(f) => Some(self.predicate(f, scope, "FILTER")?),
            None => None,
        };
        let mut order_by = Vec::new();
        for o in order {
            let (x, _) = self.expr(&o.expr, scope)?;
            let desc = matches!(o.options.sort, Some(ast::OrderBySort::Desc));
            order_by.push(SortKey { expr: x, desc, nulls_first: o.options.nulls_first.unwrap_or(desc) });
        }
        let types: Vec<DataType> = bound.iter().map(|b| b.1.clone()).collect();
        let undefined = || {
            let list: Vec<String> = types.iter().map(|t| t.name()).collect();
            Error::new(ErrorKind::UndefinedFunction, format!("function {name}({}) does not exist", list.join(", ")))
                .with_hint("No function matches the given name and argument types. You might need to add explicit type casts.")
        };
        if func == AggFunc::Count && star {
            return Ok(AggCall {
                func: AggFunc::CountStar,
                args: vec![],
                distinct: false,
                filter,
                order_by,
                arg_type: T::Int8,
                result_type: T::Int8,
            });
        }
        let expected = if func == AggFunc::StringAgg { 2 } else { 1 };
        if bound.len() != expected {
            return Err(undefined());
        }
        let (x, xt) = bound.remove(0);
        let (arg_t, result_t) = match func {
            AggFunc::Count => (xt.clone(), T::Int8),
            AggFunc::Sum => match &xt {
                T::Int2 | T::Int4 => (xt.clone(), T::Int8),
                T::Int8 | T::Numeric(_) => (xt.clone(), T::Numeric(None)),
                T::Float4 | T::Float8 | T::Interval => (xt.clone(), xt.clone()),
                T::Unknown => (T::Float8, T::Float8),
                _ => return Err(undefined()),
            },
            AggFunc::Avg => match &xt {
                T::Int2 | T::Int4 | T::Int8 | T::Numeric(_) => (xt.clone(), T::Numeric(None)),
                T::Float4 | T::Float8 | T::Unknown => (T::Float8, T::Float8),
                T::Interval => (T::Interval, T::Interval),
                _ => return Err(undefined()),
            },
            AggFunc::Min | AggFunc::Max => {
                let t = if xt == T::Unknown { T::Text } else { xt.without_typmod() };
                if matches!(t, T::Bool) {
                    return Err(undefined());
                }
                (t.clone(), t)
            }
            AggFunc::StringAgg => {
                let t = if xt == T::Bytea { T::Bytea } else { T::Text };
                (t.clone(), t)
            }
            AggFunc::BoolAnd | AggFunc::BoolOr => (T::Bool, T::Bool),
            AggFunc::ArrayAgg => {
                let t = if xt == T::Unknown { T::Text } else { xt.clone() };
                (t.clone(), T::Array(Box::new(t)))
            }
            AggFunc::CountStar => unreachable!(),
        };
        let x = self.try_coerce(x, &xt, &arg_t)?.ok_or_else(undefined)?;
        let mut args = vec![x];
        if let Some((d, dt)) = bound.pop() {
            args.push(self.try_coerce(d, &dt, &arg_t)?.ok_or_else(undefined)?);
        }
        Ok(AggCall { func, args, distinct, filter, order_by, arg_type: arg_t, result_type: result_t })
    }

    fn window_call(
        &mut self,
        name: &str,
        args: &[ast::Expr],
        star: bool,
        over: &ast::WindowType,
        f: &ast::Function,
        scope: &Scope,
    ) -> Result<(Expr, DataType)> {
        if self.windows.is_none() {
            return Err(Error::new(ErrorKind::Grouping, "window functions are not allowed here"));
        }
        let ast::WindowType::WindowSpec(spec) = over else {
            return Err(Error::new(ErrorKind::FeatureNotSupported, "named windows are not supported"));
        };
        let saved = self.windows.take();
        let r = (|| -> Result<(WindowCall, DataType)> {
            let mut partition_by = Vec::new();
            for p in &spec.partition_by {
                partition_by.push(self.expr(p, scope)?.0);
            }
            let mut order_by = Vec::new();
            for o in &spec.order_by {
                let (x, _) = self.expr(&o.expr, scope)?;
                let desc = matches!(o.options.sort, Some(ast::OrderBySort::Desc));
                order_by.push(SortKey { expr: x, desc, nulls_first: o.options.nulls_first.unwrap_or(desc) });
            }
            let (whole_partition, rows_frame) = match &spec.window_frame {
                None => (order_by.is_empty(), false),
                Some(fr) => (
                    matches!(fr.end_bound, Some(ast::WindowFrameBound::Following(None)))
                        || order_by.is_empty(),
                    matches!(fr.units, ast::WindowFrameUnits::Rows),
                ),
            };
            let (func, wargs, t) = match name {
                "row_number" => (WindowFunc::RowNumber, vec![], DataType::Int8),
                "rank" => (WindowFunc::Rank, vec![], DataType::Int8),
                "dense_rank" => (WindowFunc::DenseRank, vec![], DataType::Int8),
                "lag" | "lead" => {
                    let mut bound = Vec::new();
                    for a in args {
                        bound.push(self.expr(a, scope)?);
                    }
                    if bound.is_empty() || bound.len() > 3 {
                        return Err(Error::new(
                            ErrorKind::UndefinedFunction,
                            format!("function {name} does not exist"),
                        ));
                    }
                    let t = bound[0].1.clone();
                    let mut wargs = vec![bound[0].0.clone()];
                    if let Some((o, ot)) = bound.get(1).cloned() {
                        wargs.push(
                            self.try_coerce(o, &ot, &DataType::Int4)?.unwrap_or(Expr::Const(Value::Int4(1))),
                        );
                    } else {
                        wargs.push(Expr::Const(Value::Int4(1)));
                    }
                    if let Some((d, dt)) = bound.get(2).cloned() {
                        wargs.push(self.try_coerce(d, &dt, &t)?.ok_or_else(|| no_operator(name, &t, &dt))?);
                    }
                    (WindowFunc::Lag(name == "lag"), wargs, t)
                }
                _ => {
                    let func = agg_func(name).ok_or_else(|| {
                        Error::new(
                            ErrorKind::UndefinedFunction,
                            format!("function {name} is not a window function"),
                        )
                    })?;
                    let (a, _, distinct, order) = self.function_args(f)?;
                    if distinct {
                        return Err(Error::new(
                            ErrorKind::FeatureNotSupported,
                            "DISTINCT is not implemented for window functions",
                        ));
                    }
                    self.in_agg_arg = true;
                    let saved_agg = self.agg.take();
                    let call =
                        self.aggregate_call(func, name, &a, star, false, &order, f.filter.as_deref(), scope);
                    self.agg = saved_agg;
                    self.in_agg_arg = false;
                    let call = call?;
                    let t = call.result_type.clone();
                    (WindowFunc::Agg(call), vec![], t)
                }
            };
            Ok((WindowCall { func, args: wargs, partition_by, order_by, whole_partition, rows_frame }, t))
        })();
        self.windows = saved;
        let (call, t) = r?;
        let w = self.windows.as_mut().expect("checked above");
        w.calls.push(call);
        Ok((Expr::Column(w.base + w.calls.len() - 1), t))
    }

    fn align_subquery(
        &mut self,
        x: Expr,
        xt: DataType,
        q: super::Query,
        op: &str,
    ) -> Result<(Expr, super::Plan)> {
        let qt = q.columns[0].data_type.clone();
        let target = match (&xt, &qt) {
            (DataType::Unknown, DataType::Unknown) => DataType::Text,
            (DataType::Unknown, t) | (t, DataType::Unknown) => t.clone(),
            (a, b) => super::bind::unify(a, b).ok_or_else(|| no_operator(op, a, b))?,
        };
        let x = self.try_coerce(x, &xt, &target)?.ok_or_else(|| no_operator(op, &xt, &qt))?;
        let plan = if qt != target {
            let col =
                self.try_coerce(Expr::Column(0), &qt, &target)?.ok_or_else(|| no_operator(op, &xt, &qt))?;
            super::Plan::Project(Box::new(q.plan), vec![col])
        } else {
            q.plan
        };
        Ok((x, plan))
    }
}

fn unify_or(a: &DataType, b: &DataType) -> DataType {
    super::bind::unify(a, b).unwrap_or_else(|| b.clone())
}

fn explicit_allowed(from: &DataType, to: &DataType) -> bool {
    use DataType::*;
    matches!((from, to), (Int4, Bool) | (Bool, Int4) | (Array(_), Array(_)) | (Oid, _) | (_, Oid))
        || (from.is_string() || to.is_string())
}

/// Whether an expression reads a column of its input row.
pub fn contains_column(e: &Expr) -> bool {
    match e {
        Expr::Column(_) => true,
        Expr::Const(_) | Expr::Param(_) | Expr::Outer(..) => false,
        Expr::Unary(_, a) | Expr::IsNull(a, _) | Expr::IsBool(a, ..) => contains_column(a),
        Expr::Cast { expr, .. } => contains_column(expr),
        Expr::Binary(_, a, b) | Expr::IsDistinct(a, b, _) | Expr::Subscript(a, b) => {
            contains_column(a) || contains_column(b)
        }
        Expr::Case { operand, whens, else_ } => {
            operand.as_deref().is_some_and(contains_column)
                || whens.iter().any(|(a, b)| contains_column(a) || contains_column(b))
                || else_.as_deref().is_some_and(contains_column)
        }
        Expr::Func(_, args) | Expr::Array(args) => args.iter().any(contains_column),
        Expr::Like { expr, pattern, .. } => contains_column(expr) || contains_column(pattern),
        Expr::InList(a, l, _) => contains_column(a) || l.iter().any(contains_column),
        Expr::AnyArray { left, array, .. } => contains_column(left) || contains_column(array),
        Expr::Subquery(..) => true,
    }
}
