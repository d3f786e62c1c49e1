//! Operators on values: arithmetic with PostgreSQL's overflow (22003) and division-by-zero
//! (22012) errors, comparisons, concatenation, LIKE and regular expressions.

use crate::error::{Error, ErrorKind, Result};
use crate::sql::plan::BinOp;
use crate::sql::types::{compare, datetime::USECS_PER_DAY, DataType, Interval, Numeric, Value};
use std::cmp::Ordering;

fn overflow(t: &str) -> Error {
    Error::new(ErrorKind::NumericOutOfRange, format!("{t} out of range"))
}

fn div0() -> Error {
    Error::new(ErrorKind::DivisionByZero, "division by zero")
}

fn int_op(op: BinOp, a: i64, b: i64, name: &str, min: i64, max: i64) -> Result<i64> {
    let r = match op {
        BinOp::Add => a.checked_add(b),
        BinOp::Sub => a.checked_sub(b),
        BinOp::Mul => a.checked_mul(b),
        BinOp::Div => {
            if b == 0 {
                return Err(div0());
            }
            a.checked_div(b)
        }
        BinOp::Mod => {
            if b == 0 {
                return Err(div0());
            }
            Some(a.checked_rem(b).unwrap_or(0))
        }
        BinOp::BitAnd => Some(a & b),
        BinOp::BitOr => Some(a | b),
        BinOp::ShiftLeft => Some(a.wrapping_shl(b as u32)),
        BinOp::ShiftRight => Some(a.wrapping_shr(b as u32)),
        _ => return Err(Error::new(ErrorKind::Internal, "bad integer operator")),
    };
    match r {
        Some(v) if v >= min && v <= max => Ok(v),
        _ => Err(overflow(name)),
    }
}

fn float_check(v: f64, a: f64, b: f64) -> Result<f64> {
    if v.is_infinite() && a.is_finite() && b.is_finite() {
        return Err(Error::new(ErrorKind::NumericOutOfRange, "value out of range: overflow"));
    }
    Ok(v)
}

/// Arithmetic on two non-NULL values of the operator's bound types.
pub fn arith(op: BinOp, a: &Value, b: &Value) -> Result<Value> {
    use Value::*;
    Ok(match (a, b) {
        (Int2(x), Int2(y)) => {
            Int2(int_op(op, *x as i64, *y as i64, "smallint", i16::MIN as i64, i16::MAX as i64)? as i16)
        }
        (Int4(x), Int4(y)) => {
            Int4(int_op(op, *x as i64, *y as i64, "integer", i32::MIN as i64, i32::MAX as i64)? as i32)
        }
        (Int8(x), Int8(y)) => Int8(int_op(op, *x, *y, "bigint", i64::MIN, i64::MAX)?),
        (Int2(x), Int4(y)) if matches!(op, BinOp::ShiftLeft | BinOp::ShiftRight) => {
            Int2(int_op(op, *x as i64, *y as i64, "smallint", i16::MIN as i64, i16::MAX as i64)? as i16)
        }
        (Int8(x), Int4(y)) if matches!(op, BinOp::ShiftLeft | BinOp::ShiftRight) => {
            Int8(int_op(op, *x, *y as i64, "bigint", i64::MIN, i64::MAX)?)
        }
        (Float8(x), Float8(y)) => Float8(match op {
            BinOp::Add => float_check(x + y, *x, *y)?,
            BinOp::Sub => float_check(x - y, *x, *y)?,
            BinOp::Mul => float_check(x * y, *x, *y)?,
            BinOp::Div => {
                if *y == 0.0 {
                    return Err(div0());
                }
                float_check(x / y, *x, *y)?
            }
            BinOp::Pow => {
                if *x == 0.0 && *y < 0.0 {
                    return Err(Error::new(
                        ErrorKind::InvalidArgumentForPowerFunction,
                        "zero raised to a negative power is undefined",
                    ));
                }
                if *x < 0.0 && y.fract() != 0.0 {
                    return Err(Error::new(
                        ErrorKind::InvalidArgumentForPowerFunction,
                        "a negative number raised to a non-integer power yields a complex result",
                    ));
                }
                float_check(x.powf(*y), *x, *y)?
            }
            _ => return Err(Error::new(ErrorKind::Internal, "bad float operator")),
        }),
        (Float4(x), Float4(y)) => match arith(op, &Float8(*x as f64), &Float8(*y as f64))? {
            Float8(r) => Float4(r as f32),
            other => other,
        },
        (Numeric(x), Numeric(y)) => Numeric(match op {
            BinOp::Add => x.add(y),
            BinOp::Sub => x.sub(y),
            BinOp::Mul => x.mul(y),
            BinOp::Div => x.div(y)?,
            BinOp::Mod => x.rem(y)?,
            BinOp::Pow => {
                if y.scale == 0 || y.normalized().is_none_or(|(e, d)| d.len() as i64 <= e + 1) {
                    if let Some(n) = y.to_i64() {
                        if (0..=1000).contains(&n) {
                            let mut r = crate::sql::types::Numeric::from_i64(1);
                            for _ in 0..n {
                                r = r.mul(x);
                            }
                            return Ok(Numeric(r));
                        }
                    }
                }
                let f = x.to_f64().powf(y.to_f64());
                let n = crate::sql::types::Numeric::from_f64(f)?;
                n.round(16 - n.normalized().map(|(e, _)| e).unwrap_or(0).max(0) - 1).round(16)
            }
            _ => return Err(Error::new(ErrorKind::Internal, "bad numeric operator")),
        }),
        (Date(d), Int4(n)) => match op {
            BinOp::Add => Date(d.checked_add(*n).ok_or_else(|| overflow("date"))?),
            BinOp::Sub => Date(d.checked_sub(*n).ok_or_else(|| overflow("date"))?),
            _ => return Err(Error::new(ErrorKind::Internal, "bad date operator")),
        },
        (Int4(n), Date(d)) => Date(d.checked_add(*n).ok_or_else(|| overflow("date"))?),
        (Date(x), Date(y)) => Int4(x - y),
        (Timestamp(t), Interval(i)) => Timestamp(add_interval(*t, i, op == BinOp::Sub)?),
        (Timestamptz(t), Interval(i)) => Timestamptz(add_interval(*t, i, op == BinOp::Sub)?),
        (Interval(i), Timestamp(t)) => Timestamp(add_interval(*t, i, false)?),
        (Interval(i), Timestamptz(t)) => Timestamptz(add_interval(*t, i, false)?),
        (Timestamp(x), Timestamp(y)) | (Timestamptz(x), Timestamptz(y)) => {
            let d = x - y;
            Interval(crate::sql::types::Interval {
                months: 0,
                days: (d / USECS_PER_DAY) as i32,
                micros: d % USECS_PER_DAY,
            })
        }
        (Interval(x), Interval(y)) => {
            let s = if op == BinOp::Sub { -1 } else { 1 };
            Interval(crate::sql::types::Interval {
                months: x.months + s * y.months,
                days: x.days + s * y.days,
                micros: x.micros + s as i64 * y.micros,
            })
        }
        (Interval(x), Float8(f)) | (Float8(f), Interval(x)) => Interval(crate::sql::types::Interval {
            months: (x.months as f64 * f) as i32,
            days: (x.days as f64 * f) as i32,
            micros: (x.micros as f64 * f) as i64,
        }),
        _ => return Err(Error::new(ErrorKind::Internal, format!("operator {op:?} on {a:?} and {b:?}"))),
    })
}

fn add_interval(t: i64, i: &Interval, neg: bool) -> Result<i64> {
    let s = if neg { -1 } else { 1 };
    let mut t = t;
    if i.months != 0 {
        let date = t.div_euclid(USECS_PER_DAY);
        let tod = t.rem_euclid(USECS_PER_DAY);
        let (y, m, d) =
            crate::sql::types::datetime::civil_from_days(date + crate::sql::types::datetime::UNIX_EPOCH_DAYS);
        let total = y * 12 + (m as i64 - 1) + s * i.months as i64;
        let (ny, nm) = (total.div_euclid(12), (total.rem_euclid(12) + 1) as u32);
        let mut nd = d;
        while crate::sql::types::datetime::date_from_ymd(ny, nm, nd).is_none() && nd > 28 {
            nd -= 1;
        }
        let nd =
            crate::sql::types::datetime::date_from_ymd(ny, nm, nd).ok_or_else(|| overflow("timestamp"))?;
        t = nd as i64 * USECS_PER_DAY + tod;
    }
    t.checked_add(s * (i.days as i64 * USECS_PER_DAY + i.micros)).ok_or_else(|| overflow("timestamp"))
}

/// Negation.
pub fn negate(v: &Value) -> Result<Value> {
    Ok(match v {
        Value::Int2(i) => Value::Int2(i.checked_neg().ok_or_else(|| overflow("smallint"))?),
        Value::Int4(i) => Value::Int4(i.checked_neg().ok_or_else(|| overflow("integer"))?),
        Value::Int8(i) => Value::Int8(i.checked_neg().ok_or_else(|| overflow("bigint"))?),
        Value::Float4(f) => Value::Float4(-f),
        Value::Float8(f) => Value::Float8(-f),
        Value::Numeric(n) => Value::Numeric(n.neg()),
        Value::Interval(i) => {
            Value::Interval(Interval { months: -i.months, days: -i.days, micros: -i.micros })
        }
        Value::Null => Value::Null,
        _ => return Err(Error::new(ErrorKind::Internal, "negation of a non-number")),
    })
}

/// A comparison of two non-NULL values.
pub fn compare_op(op: BinOp, a: &Value, b: &Value) -> bool {
    let o = compare::compare(a, b);
    match op {
        BinOp::Eq => o == Ordering::Equal,
        BinOp::Ne => o != Ordering::Equal,
        BinOp::Lt => o == Ordering::Less,
        BinOp::Le => o != Ordering::Greater,
        BinOp::Gt => o == Ordering::Greater,
        BinOp::Ge => o != Ordering::Less,
        _ => false,
    }
}

/// SQL LIKE matching with an escape character; `ci` for ILIKE.
pub fn like(s: &str, pattern: &str, escape: Option<char>, ci: bool) -> Result<bool> {
    let (s, p): (Vec<char>, Vec<char>) = if ci {
        (s.to_lowercase().chars().collect(), pattern.to_lowercase().chars().collect())
    } else {
        (s.chars().collect(), pattern.chars().collect())
    };
    // Tokenize the pattern: Some(c) literal, None for %, and '_' as a special marker.
    #[derive(Clone, Copy, PartialEq)]
    enum Tok {
        Lit(char),
        Any,
        One,
    }
    let mut toks = Vec::new();
    let mut i = 0;
    while i < p.len() {
        let c = p[i];
        if Some(c) == escape {
            let n = p.get(i + 1).ok_or_else(|| {
                Error::new(
                    ErrorKind::InvalidEscapeSequence,
                    "LIKE pattern must not end with escape character",
                )
            })?;
            toks.push(Tok::Lit(*n));
            i += 2;
            continue;
        }
        toks.push(match c {
            '%' => Tok::Any,
            '_' => Tok::One,
            c => Tok::Lit(c),
        });
        i += 1;
    }
    // Iterative wildcard matching with backtracking to the last %.
    let (mut si, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        if ti < toks.len() && (toks[ti] == Tok::One || toks[ti] == Tok::Lit(s[si])) {
            si += 1;
            ti += 1;
        } else if ti < toks.len() && toks[ti] == Tok::Any {
            star = Some((ti, si));
            ti += 1;
        } else if let Some((st, ss)) = star {
            ti = st + 1;
            si = ss + 1;
            star = Some((st, ss + 1));
        } else {
            return Ok(false);
        }
    }
    while ti < toks.len() && toks[ti] == Tok::Any {
        ti += 1;
    }
    Ok(ti == toks.len())
}

/// POSIX regular expression match (`~`, `~*`).
pub fn regex_match(s: &str, pattern: &str, ci: bool) -> Result<bool> {
    let re =
        regex::RegexBuilder::new(pattern).case_insensitive(ci).size_limit(1 << 20).build().map_err(|e| {
            Error::new(ErrorKind::InvalidRegularExpression, format!("invalid regular expression: {e}"))
        })?;
    Ok(re.is_match(s))
}

/// `||` on two non-NULL values.
pub fn concat(a: &Value, b: &Value, fmt: &crate::sql::types::FormatContext) -> Value {
    match (a, b) {
        (Value::Bytea(x), Value::Bytea(y)) => Value::Bytea([x.as_slice(), y.as_slice()].concat()),
        _ => Value::Text(format!(
            "{}{}",
            a.to_text(fmt).unwrap_or_default(),
            b.to_text(fmt).unwrap_or_default()
        )),
    }
}

/// The numeric value of an integer-like value (for functions over any integer type).
pub fn as_i64(v: &Value) -> Option<i64> {
    match v {
        Value::Int2(i) => Some(*i as i64),
        Value::Int4(i) => Some(*i as i64),
        Value::Int8(i) => Some(*i),
        _ => None,
    }
}

/// The value as a float.
pub fn as_f64(v: &Value) -> f64 {
    match v {
        Value::Float8(f) => *f,
        Value::Float4(f) => *f as f64,
        Value::Numeric(n) => n.to_f64(),
        v => as_i64(v).unwrap_or(0) as f64,
    }
}

/// Wraps a float result back into the type of `like`.
pub fn same_float_or_numeric(like: &DataType, f: f64) -> Result<Value> {
    match like {
        DataType::Numeric(_) => Ok(Value::Numeric(Numeric::from_f64(f)?)),
        _ => Ok(Value::Float8(f)),
    }
}
