//! Row encoding: a versioned, self-describing record of one table row.
//!
//! | offset | size | field |
//! |--------|------|-------|
//! | 0 | 1 | format version ([`ROW_FORMAT_VERSION`]) |
//! | 1 | 4 | number of values n (u32 LE) |
//! | 5 | ... | n values |
//!
//! Each value is a tag byte followed by its payload:
//!
//! | tag | value | payload |
//! |-----|-------|---------|
//! | 0 | NULL | none |
//! | 1 | bool | 1 byte |
//! | 2 / 3 / 4 | int2 / int4 / int8 | 2 / 4 / 8 bytes LE |
//! | 5 / 6 | float4 / float8 | 4 / 8 bytes LE (IEEE bits) |
//! | 7 | numeric | u32 length + PostgreSQL's binary numeric (keeps the display scale) |
//! | 8 | text | u32 length + UTF-8 |
//! | 9 | bytea | u32 length + bytes |
//! | 10 | date | 4 bytes LE |
//! | 11 / 12 | timestamp / timestamptz | 8 bytes LE |
//! | 13 | interval | months i32, days i32, micros i64 (LE) |
//! | 14 | oid | 4 bytes LE |
//! | 15 | array | u32 count + that many values |
//!
//! A row shorter than its table (written before ADD COLUMN) is padded with NULLs when read; ALTER
//! TABLE rewrites rows when it needs other values.

use super::codec::{Reader, Writer};
use crate::error::{Error, ErrorKind, Result};
use crate::sql::types::{Interval, Numeric, Value};

/// The current row format.
pub const ROW_FORMAT_VERSION: u8 = 1;

fn put(w: &mut Writer, v: &Value) {
    match v {
        Value::Null => w.u8(0),
        Value::Bool(b) => {
            w.u8(1);
            w.bool(*b)
        }
        Value::Int2(i) => {
            w.u8(2);
            w.buf.extend_from_slice(&i.to_le_bytes())
        }
        Value::Int4(i) => {
            w.u8(3);
            w.buf.extend_from_slice(&i.to_le_bytes())
        }
        Value::Int8(i) => {
            w.u8(4);
            w.i64(*i)
        }
        Value::Float4(f) => {
            w.u8(5);
            w.buf.extend_from_slice(&f.to_bits().to_le_bytes())
        }
        Value::Float8(f) => {
            w.u8(6);
            w.u64(f.to_bits())
        }
        Value::Numeric(n) => {
            w.u8(7);
            w.bytes(&n.to_binary())
        }
        Value::Text(s) => {
            w.u8(8);
            w.str(s)
        }
        Value::Bytea(b) => {
            w.u8(9);
            w.bytes(b)
        }
        Value::Date(d) => {
            w.u8(10);
            w.buf.extend_from_slice(&d.to_le_bytes())
        }
        Value::Timestamp(t) => {
            w.u8(11);
            w.i64(*t)
        }
        Value::Timestamptz(t) => {
            w.u8(12);
            w.i64(*t)
        }
        Value::Interval(i) => {
            w.u8(13);
            w.buf.extend_from_slice(&i.months.to_le_bytes());
            w.buf.extend_from_slice(&i.days.to_le_bytes());
            w.i64(i.micros)
        }
        Value::Oid(o) => {
            w.u8(14);
            w.u32(*o)
        }
        Value::Array(items) => {
            w.u8(15);
            w.u32(items.len() as u32);
            for i in items {
                put(w, i);
            }
        }
    }
}

fn corrupt() -> Error {
    Error::new(ErrorKind::Corrupt, "malformed row record")
}

fn get(r: &mut Reader, depth: usize) -> Result<Value> {
    if depth > 8 {
        return Err(corrupt());
    }
    let arr4 = |b: &[u8]| -> Result<[u8; 4]> { b.try_into().map_err(|_| corrupt()) };
    Ok(match r.u8()? {
        0 => Value::Null,
        1 => Value::Bool(r.bool()?),
        2 => Value::Int2(i16::from_le_bytes(r.take(2)?.try_into().map_err(|_| corrupt())?)),
        3 => Value::Int4(i32::from_le_bytes(arr4(r.take(4)?)?)),
        4 => Value::Int8(r.i64()?),
        5 => Value::Float4(f32::from_bits(u32::from_le_bytes(arr4(r.take(4)?)?))),
        6 => Value::Float8(f64::from_bits(r.u64()?)),
        7 => Value::Numeric(Numeric::from_binary(r.bytes()?).ok_or_else(corrupt)?),
        8 => Value::Text(r.str()?),
        9 => Value::Bytea(r.bytes()?.to_vec()),
        10 => Value::Date(i32::from_le_bytes(arr4(r.take(4)?)?)),
        11 => Value::Timestamp(r.i64()?),
        12 => Value::Timestamptz(r.i64()?),
        13 => {
            let months = i32::from_le_bytes(arr4(r.take(4)?)?);
            let days = i32::from_le_bytes(arr4(r.take(4)?)?);
            Value::Interval(Interval { months, days, micros: r.i64()? })
        }
        14 => Value::Oid(r.u32()?),
        15 => {
            let n = r.u32()? as usize;
            let mut items = Vec::new();
            for _ in 0..n {
                items.push(get(r, depth + 1)?);
            }
            Value::Array(items)
        }
        _ => return Err(corrupt()),
    })
}

/// Encodes a row.
pub fn encode_row(values: &[Value]) -> Vec<u8> {
    let mut w = Writer::default();
    w.u8(ROW_FORMAT_VERSION);
    w.u32(values.len() as u32);
    for v in values {
        put(&mut w, v);
    }
    w.buf
}

/// Decodes a row of a table with `width` columns.
pub fn decode_row(bytes: &[u8], width: usize) -> Result<Vec<Value>> {
    let mut r = Reader::new(bytes);
    if r.u8()? != ROW_FORMAT_VERSION {
        return Err(corrupt());
    }
    let n = r.u32()? as usize;
    let mut out = Vec::with_capacity(width.max(n));
    for _ in 0..n {
        out.push(get(&mut r, 0)?);
    }
    out.resize(width.max(n), Value::Null);
    out.truncate(width);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_round_trip() {
        let row = vec![
            Value::Int4(1),
            Value::Null,
            Value::Text("héllo".into()),
            Value::Numeric(Numeric::parse("-12.340").unwrap()),
            Value::Array(vec![Value::Int8(1), Value::Null]),
            Value::Float8(0.1),
        ];
        assert_eq!(decode_row(&encode_row(&row), 6).unwrap(), row);
        assert_eq!(
            decode_row(&encode_row(&row[..2]), 3).unwrap(),
            vec![Value::Int4(1), Value::Null, Value::Null]
        );
        assert!(decode_row(b"\x01\x05\x00\x00\x00", 1).is_err());
    }
}
