//! Ordering and equality of values, PostgreSQL's way: numbers compare by value across integer,
//! numeric and float types (NaN above everything), text compares bytewise (the C collation),
//! `char(n)` ignores trailing blanks, arrays compare element by element. NULLs are handled by the
//! caller (three-valued logic); for sorting they order after every value.

use super::Value;
use std::cmp::Ordering;

fn as_f64(v: &Value) -> Option<f64> {
    Some(match v {
        Value::Int2(i) => *i as f64,
        Value::Int4(i) => *i as f64,
        Value::Int8(i) => *i as f64,
        Value::Oid(o) => *o as f64,
        Value::Float4(f) => *f as f64,
        Value::Float8(f) => *f,
        Value::Numeric(n) => n.to_f64(),
        _ => return None,
    })
}

fn as_i64(v: &Value) -> Option<i64> {
    Some(match v {
        Value::Int2(i) => *i as i64,
        Value::Int4(i) => *i as i64,
        Value::Int8(i) => *i,
        Value::Oid(o) => *o as i64,
        _ => return None,
    })
}

fn cmp_f64(a: f64, b: f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        _ => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
    }
}

/// Total order of two values for sorting (NULL last).
pub fn compare(a: &Value, b: &Value) -> Ordering {
    use Value::*;
    match (a, b) {
        (Null, Null) => Ordering::Equal,
        (Null, _) => Ordering::Greater,
        (_, Null) => Ordering::Less,
        (Bool(x), Bool(y)) => x.cmp(y),
        (Text(x), Text(y)) => x.as_bytes().cmp(y.as_bytes()),
        (Bytea(x), Bytea(y)) => x.cmp(y),
        (Date(x), Date(y)) => x.cmp(y),
        (Timestamp(x), Timestamp(y))
        | (Timestamptz(x), Timestamptz(y))
        | (Timestamp(x), Timestamptz(y))
        | (Timestamptz(x), Timestamp(y)) => x.cmp(y),
        (Date(d), Timestamp(t)) | (Date(d), Timestamptz(t)) => {
            (*d as i64 * super::datetime::USECS_PER_DAY).cmp(t)
        }
        (Timestamp(t), Date(d)) | (Timestamptz(t), Date(d)) => {
            t.cmp(&(*d as i64 * super::datetime::USECS_PER_DAY))
        }
        (Interval(_), Interval(_)) => super::keyenc::encode_all(std::slice::from_ref(a))
            .cmp(&super::keyenc::encode_all(std::slice::from_ref(b))),
        (Numeric(x), Numeric(y)) => x.cmp_value(y),
        (Array(x), Array(y)) => {
            for (p, q) in x.iter().zip(y.iter()) {
                let o = compare(p, q);
                if o != Ordering::Equal {
                    return o;
                }
            }
            x.len().cmp(&y.len())
        }
        _ => {
            if let (Some(x), Some(y)) = (as_i64(a), as_i64(b)) {
                return x.cmp(&y);
            }
            if let (Numeric(x), Some(y)) = (a, as_i64(b)) {
                return x.cmp_value(&super::Numeric::from_i64(y));
            }
            if let (Some(x), Numeric(y)) = (as_i64(a), b) {
                return super::Numeric::from_i64(x).cmp_value(y);
            }
            match (as_f64(a), as_f64(b)) {
                (Some(x), Some(y)) => cmp_f64(x, y),
                _ => kind_rank(a).cmp(&kind_rank(b)),
            }
        }
    }
}

fn kind_rank(v: &Value) -> u8 {
    match v {
        Value::Bool(_) => 1,
        Value::Text(_) => 2,
        Value::Bytea(_) => 3,
        Value::Array(_) => 4,
        _ => 0,
    }
}

/// SQL equality of two non-NULL values.
pub fn equal(a: &Value, b: &Value) -> bool {
    compare(a, b) == Ordering::Equal
}
