//! Order-preserving, canonical key encoding of [`Value`]s, built on [`crate::encoding::keycode`].
//!
//! Used for index keys, and as the canonical bytes for grouping, DISTINCT, hash joins and set
//! operations: two values encode to the same bytes exactly when PostgreSQL considers them equal
//! (`1.0 = 1.00`, `-0 = 0`, `NaN = NaN`), and byte order is PostgreSQL's value order (text in the
//! C collation). Encoding is one-way for numerics (the display scale is not kept); rows are stored
//! with the row codec, never decoded from keys.
//!
//! | value | encoding after the [`keycode::VALUE_TAG`] |
//! |-------|----------|
//! | bool | 1 byte 0/1 |
//! | int2/int4/int8/oid | `i64` (all integer types share one encoding) |
//! | float4/float8 | `f64` |
//! | numeric | class byte: 1 negative, 2 zero, 3 positive, 4 NaN; then for non-zero numbers the decimal exponent (`i64`) and the significant digits (bytes), inverted for negatives |
//! | text, bytea | bytes |
//! | date, timestamp, timestamptz | `i64` |
//! | interval | `i64` of its length in microseconds (30-day months) |
//! | array | each element as a nullable component preceded by `0x01`, then `0x00` |
//!
//! NULL is [`keycode::NULL_TAG`] alone, which sorts after every value.

use super::{datetime::USECS_PER_DAY, Value};
use crate::encoding::keycode;

/// Appends `v` as a nullable key component.
pub fn encode(out: &mut Vec<u8>, v: &Value) {
    if v.is_null() {
        keycode::put_tag(out, keycode::NULL_TAG);
        return;
    }
    keycode::put_tag(out, keycode::VALUE_TAG);
    match v {
        Value::Null => {}
        Value::Bool(b) => keycode::put_tag(out, *b as u8),
        Value::Int2(i) => keycode::put_i64(out, *i as i64),
        Value::Int4(i) => keycode::put_i64(out, *i as i64),
        Value::Int8(i) => keycode::put_i64(out, *i),
        Value::Oid(o) => keycode::put_i64(out, *o as i64),
        Value::Float4(f) => keycode::put_f64(out, *f as f64),
        Value::Float8(f) => keycode::put_f64(out, *f),
        Value::Numeric(n) => {
            if n.nan {
                keycode::put_tag(out, 4);
            } else {
                match n.normalized() {
                    None => keycode::put_tag(out, 2),
                    Some((exp, digits)) => {
                        keycode::put_tag(out, if n.neg { 1 } else { 3 });
                        let from = out.len();
                        keycode::put_i64(out, exp);
                        keycode::put_bytes(out, &digits);
                        if n.neg {
                            keycode::invert(out, from);
                        }
                    }
                }
            }
        }
        Value::Text(s) => keycode::put_bytes(out, s.as_bytes()),
        Value::Bytea(b) => keycode::put_bytes(out, b),
        Value::Date(d) => keycode::put_i64(out, *d as i64),
        Value::Timestamp(t) | Value::Timestamptz(t) => keycode::put_i64(out, *t),
        Value::Interval(i) => {
            let total = i.months as i128 * 30 * USECS_PER_DAY as i128
                + i.days as i128 * USECS_PER_DAY as i128
                + i.micros as i128;
            keycode::put_i64(out, total.clamp(i64::MIN as i128, i64::MAX as i128) as i64)
        }
        Value::Array(items) => {
            for item in items {
                keycode::put_tag(out, 0x01);
                encode(out, item);
            }
            keycode::put_tag(out, 0x00);
        }
    }
}

/// The canonical key bytes of a list of values (grouping, DISTINCT, hashing).
pub fn encode_all(values: &[Value]) -> Vec<u8> {
    let mut out = Vec::new();
    for v in values {
        encode(&mut out, v);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::types::Numeric;

    fn k(v: Value) -> Vec<u8> {
        encode_all(&[v])
    }

    #[test]
    fn numerics_order_and_equal_across_scales() {
        let n = |s: &str| Value::Numeric(Numeric::parse(s).unwrap());
        let vals = ["-100", "-9.5", "-1", "-0.5", "0", "0.001", "1", "1.5", "10", "NaN"];
        for w in vals.windows(2) {
            assert!(k(n(w[0])) < k(n(w[1])), "{} < {}", w[0], w[1]);
        }
        assert_eq!(k(n("1.0")), k(n("1.00")));
        assert!(k(Value::Int4(5)) < k(Value::Null));
        assert_eq!(k(Value::Int4(5)), k(Value::Int8(5)));
    }
}
