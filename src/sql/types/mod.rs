//! SQL data types and values.
//!
//! [`DataType`] is a column's or expression's type (with PostgreSQL's OIDs and names); [`Value`] is
//! one datum. Text and binary input/output follow PostgreSQL 15 exactly, since clients parse them.
//! (Contract shared by the SQL engine and the wire server; the engine's owner extends it.)
//!
//! Submodules hold one concept each: [`numeric`] (arbitrary precision decimals), [`float`]
//! (shortest-exact float text), [`datetime`] (dates and timestamps per `DateStyle`), [`array`](mod@array)
//! (array text and binary forms), [`names`] (type names and aliases), [`compare`] (ordering and
//! equality across types), [`cast`] (conversions between types) and [`keyenc`] (order-preserving
//! key encoding of values).

pub mod array;
pub mod cast;
pub mod compare;
pub mod datetime;
pub mod float;
pub mod keyenc;
pub mod names;
pub mod numeric;

use crate::error::{Error, ErrorKind, Result};
pub use numeric::Numeric;

/// How values are printed: the settings that change PostgreSQL's text output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FormatContext {
    /// `DateStyle`, e.g. `ISO, MDY` or `Postgres, MDY`.
    pub date_style: String,
    /// `TimeZone`, e.g. `UTC` or `Etc/UTC`.
    pub timezone: String,
    /// `extra_float_digits` (1 = shortest exact, PostgreSQL 12+ default).
    pub extra_float_digits: i32,
    /// `IntervalStyle`.
    pub interval_style: String,
}

impl Default for FormatContext {
    fn default() -> Self {
        FormatContext {
            date_style: "ISO, MDY".into(),
            timezone: "UTC".into(),
            extra_float_digits: 1,
            interval_style: "postgres".into(),
        }
    }
}

/// A SQL data type.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum DataType {
    /// boolean
    Bool,
    /// smallint
    Int2,
    /// integer
    Int4,
    /// bigint
    Int8,
    /// real
    Float4,
    /// double precision
    Float8,
    /// numeric(p, s)
    Numeric(Option<(u32, u32)>),
    /// text
    Text,
    /// character varying(n)
    Varchar(Option<u32>),
    /// character(n) (bpchar)
    Char(Option<u32>),
    /// name
    Name,
    /// bytea
    Bytea,
    /// date
    Date,
    /// timestamp without time zone
    Timestamp,
    /// timestamp with time zone
    Timestamptz,
    /// oid
    Oid,
    /// An untyped literal or parameter whose type is not resolved yet.
    Unknown,
    /// An array of the element type.
    Array(Box<DataType>),
    /// interval (months, days, microseconds)
    Interval,
}

impl DataType {
    /// The PostgreSQL type OID sent in RowDescription and ParameterDescription.
    pub fn oid(&self) -> u32 {
        match self {
            DataType::Bool => 16,
            DataType::Bytea => 17,
            DataType::Name => 19,
            DataType::Int8 => 20,
            DataType::Int2 => 21,
            DataType::Int4 => 23,
            DataType::Text => 25,
            DataType::Oid => 26,
            DataType::Float4 => 700,
            DataType::Float8 => 701,
            DataType::Unknown => 705,
            DataType::Char(_) => 1042,
            DataType::Varchar(_) => 1043,
            DataType::Date => 1082,
            DataType::Timestamp => 1114,
            DataType::Timestamptz => 1184,
            DataType::Numeric(_) => 1700,
            DataType::Interval => 1186,
            DataType::Array(elem) => match **elem {
                DataType::Bool => 1000,
                DataType::Bytea => 1001,
                DataType::Name => 1003,
                DataType::Int2 => 1005,
                DataType::Int4 => 1007,
                DataType::Text => 1009,
                DataType::Oid => 1028,
                DataType::Char(_) => 1014,
                DataType::Varchar(_) => 1015,
                DataType::Int8 => 1016,
                DataType::Float4 => 1021,
                DataType::Float8 => 1022,
                DataType::Timestamp => 1115,
                DataType::Date => 1182,
                DataType::Timestamptz => 1185,
                DataType::Numeric(_) => 1231,
                DataType::Interval => 1187,
                _ => 1009,
            },
        }
    }

    /// The type for a built-in OID (parameter types sent by clients).
    pub fn from_oid(oid: u32) -> Option<DataType> {
        let t = match oid {
            16 => DataType::Bool,
            17 => DataType::Bytea,
            19 => DataType::Name,
            20 => DataType::Int8,
            21 => DataType::Int2,
            23 => DataType::Int4,
            25 => DataType::Text,
            26 => DataType::Oid,
            700 => DataType::Float4,
            701 => DataType::Float8,
            705 | 0 => DataType::Unknown,
            1042 => DataType::Char(None),
            1043 => DataType::Varchar(None),
            1082 => DataType::Date,
            1114 => DataType::Timestamp,
            1184 => DataType::Timestamptz,
            1700 => DataType::Numeric(None),
            1186 => DataType::Interval,
            _ => {
                let elem = match oid {
                    1000 => DataType::Bool,
                    1001 => DataType::Bytea,
                    1003 => DataType::Name,
                    1005 => DataType::Int2,
                    1007 => DataType::Int4,
                    1009 => DataType::Text,
                    1028 => DataType::Oid,
                    1014 => DataType::Char(None),
                    1015 => DataType::Varchar(None),
                    1016 => DataType::Int8,
                    1021 => DataType::Float4,
                    1022 => DataType::Float8,
                    1115 => DataType::Timestamp,
                    1182 => DataType::Date,
                    1185 => DataType::Timestamptz,
                    1231 => DataType::Numeric(None),
                    _ => return None,
                };
                DataType::Array(Box::new(elem))
            }
        };
        Some(t)
    }

    /// pg_type.typlen for RowDescription (-1 = variable length).
    pub fn typlen(&self) -> i16 {
        match self {
            DataType::Bool => 1,
            DataType::Int2 => 2,
            DataType::Int4 | DataType::Float4 | DataType::Date | DataType::Oid => 4,
            DataType::Int8 | DataType::Float8 | DataType::Timestamp | DataType::Timestamptz => 8,
            DataType::Name => 64,
            DataType::Interval => 16,
            DataType::Unknown => -2,
            _ => -1,
        }
    }

    /// The type modifier (atttypmod) for RowDescription: -1 when none.
    pub fn typmod(&self) -> i32 {
        match self {
            DataType::Varchar(Some(n)) | DataType::Char(Some(n)) => *n as i32 + 4,
            DataType::Numeric(Some((p, s))) => (((*p as i32) << 16) | *s as i32) + 4,
            DataType::Interval => 16,
            _ => -1,
        }
    }
}

/// An `interval`: months, days and microseconds kept apart, as PostgreSQL does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Interval {
    /// Months (years are 12 months).
    pub months: i32,
    /// Days.
    pub days: i32,
    /// Microseconds.
    pub micros: i64,
}

/// One SQL value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// SQL NULL (of any type).
    Null,
    /// boolean
    Bool(bool),
    /// smallint
    Int2(i16),
    /// integer
    Int4(i32),
    /// bigint
    Int8(i64),
    /// real
    Float4(f32),
    /// double precision
    Float8(f64),
    /// numeric
    Numeric(Numeric),
    /// text, varchar, char, name, and unknown-typed literals (the type says which)
    Text(String),
    /// bytea
    Bytea(Vec<u8>),
    /// date: days since 2000-01-01
    Date(i32),
    /// timestamp: microseconds since 2000-01-01 00:00:00
    Timestamp(i64),
    /// timestamptz: microseconds since 2000-01-01 00:00:00 UTC
    Timestamptz(i64),
    /// interval
    Interval(Interval),
    /// oid
    Oid(u32),
    /// An array (nested arrays for more dimensions).
    Array(Vec<Value>),
}

fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

fn parse_bytea(s: &str) -> Result<Vec<u8>> {
    if let Some(hex) = s.strip_prefix("\\x") {
        let mut out = Vec::with_capacity(hex.len() / 2);
        let b: Vec<u8> = hex.bytes().filter(|c| !c.is_ascii_whitespace()).collect();
        for pair in b.chunks(2) {
            let hi = hex_digit(pair[0]).ok_or_else(|| {
                Error::new(
                    ErrorKind::InvalidTextRepresentation,
                    format!("invalid hexadecimal digit: \"{}\"", pair[0] as char),
                )
            })?;
            let lo = pair.get(1).copied().ok_or_else(|| {
                Error::new(
                    ErrorKind::InvalidTextRepresentation,
                    "invalid hexadecimal data: odd number of digits",
                )
            })?;
            let lo = hex_digit(lo).ok_or_else(|| {
                Error::new(
                    ErrorKind::InvalidTextRepresentation,
                    format!("invalid hexadecimal digit: \"{}\"", lo as char),
                )
            })?;
            out.push(hi << 4 | lo);
        }
        return Ok(out);
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' {
            if b.get(i + 1) == Some(&b'\\') {
                out.push(b'\\');
                i += 2;
            } else if let Some(oct) =
                b.get(i + 1..i + 4).filter(|o| o.iter().all(|c| (b'0'..=b'7').contains(c)))
            {
                out.push((oct[0] - b'0') * 64 + (oct[1] - b'0') * 8 + (oct[2] - b'0'));
                i += 4;
            } else {
                return Err(Error::new(
                    ErrorKind::InvalidTextRepresentation,
                    "invalid input syntax for type bytea",
                ));
            }
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Ok(out)
}

fn parse_int(s: &str, ty: &DataType) -> Result<i64> {
    let (name, min, max) = match ty {
        DataType::Int2 => ("smallint", i16::MIN as i64, i16::MAX as i64),
        DataType::Int4 => ("integer", i32::MIN as i64, i32::MAX as i64),
        _ => ("bigint", i64::MIN, i64::MAX),
    };
    let t = s.trim();
    let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::new(
            ErrorKind::InvalidTextRepresentation,
            format!("invalid input syntax for type {name}: \"{s}\""),
        ));
    }
    match t.parse::<i64>() {
        Ok(v) if v >= min && v <= max => Ok(v),
        _ => Err(Error::new(
            ErrorKind::NumericOutOfRange,
            format!("value \"{s}\" is out of range for type {name}"),
        )),
    }
}

fn parse_bool(s: &str) -> Option<bool> {
    let t = s.trim().to_ascii_lowercase();
    if t.is_empty() {
        return None;
    }
    let any = |words: &[&str]| words.iter().any(|w| w.starts_with(t.as_str()));
    match t.as_str() {
        "1" => Some(true),
        "0" => Some(false),
        "o" => None,
        _ if any(&["true", "yes"]) => Some(true),
        _ if any(&["false", "no"]) => Some(false),
        "on" => Some(true),
        "of" | "off" => Some(false),
        _ => None,
    }
}

impl Value {
    /// Whether this is NULL.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// PostgreSQL's text output; `None` for NULL.
    pub fn to_text(&self, fmt: &FormatContext) -> Option<String> {
        Some(match self {
            Value::Null => return None,
            Value::Bool(b) => if *b { "t" } else { "f" }.to_string(),
            Value::Int2(v) => v.to_string(),
            Value::Int4(v) => v.to_string(),
            Value::Int8(v) => v.to_string(),
            Value::Float4(v) => float::format_f32(*v, fmt.extra_float_digits),
            Value::Float8(v) => float::format_f64(*v, fmt.extra_float_digits),
            Value::Numeric(n) => n.to_string(),
            Value::Text(s) => s.clone(),
            Value::Bytea(b) => {
                let mut s = String::with_capacity(2 + b.len() * 2);
                s.push_str("\\x");
                for byte in b {
                    s.push_str(&format!("{byte:02x}"));
                }
                s
            }
            Value::Date(d) => datetime::format_date(*d, &fmt.date_style),
            Value::Timestamp(t) => datetime::format_timestamp(*t, false, &fmt.date_style),
            Value::Timestamptz(t) => datetime::format_timestamp(*t, true, &fmt.date_style),
            Value::Interval(i) => cast::format_interval(i),
            Value::Oid(o) => o.to_string(),
            Value::Array(items) => array::format_array(items, fmt),
        })
    }

    /// PostgreSQL's binary output for a value of type `ty`; `None` for NULL.
    pub fn to_binary(&self, ty: &DataType) -> Result<Option<Vec<u8>>> {
        Ok(Some(match self {
            Value::Null => return Ok(None),
            Value::Bool(b) => vec![*b as u8],
            Value::Int2(v) => v.to_be_bytes().to_vec(),
            Value::Int4(v) => v.to_be_bytes().to_vec(),
            Value::Int8(v) => v.to_be_bytes().to_vec(),
            Value::Float4(v) => v.to_be_bytes().to_vec(),
            Value::Float8(v) => v.to_be_bytes().to_vec(),
            Value::Numeric(n) => n.to_binary(),
            Value::Text(s) => s.as_bytes().to_vec(),
            Value::Bytea(b) => b.clone(),
            Value::Date(d) => d.to_be_bytes().to_vec(),
            Value::Timestamp(t) | Value::Timestamptz(t) => t.to_be_bytes().to_vec(),
            Value::Interval(i) => {
                let mut out = i.micros.to_be_bytes().to_vec();
                out.extend_from_slice(&i.days.to_be_bytes());
                out.extend_from_slice(&i.months.to_be_bytes());
                out
            }
            Value::Oid(o) => o.to_be_bytes().to_vec(),
            Value::Array(items) => {
                let elem = match ty {
                    DataType::Array(e) => (**e).clone(),
                    _ => DataType::Text,
                };
                array::array_to_binary(items, &elem)?
            }
        }))
    }

    /// Parses PostgreSQL's text input for type `ty` (parameters, literals, COPY).
    pub fn from_text(s: &str, ty: &DataType, fmt: &FormatContext) -> Result<Value> {
        Ok(match ty {
            DataType::Bool => Value::Bool(parse_bool(s).ok_or_else(|| {
                Error::new(
                    ErrorKind::InvalidTextRepresentation,
                    format!("invalid input syntax for type boolean: \"{s}\""),
                )
            })?),
            DataType::Int2 => Value::Int2(parse_int(s, ty)? as i16),
            DataType::Int4 => Value::Int4(parse_int(s, ty)? as i32),
            DataType::Int8 => Value::Int8(parse_int(s, ty)?),
            DataType::Oid => {
                let v = parse_int(s, &DataType::Int8).map_err(|_| {
                    Error::new(
                        ErrorKind::InvalidTextRepresentation,
                        format!("invalid input syntax for type oid: \"{s}\""),
                    )
                })?;
                if v < i32::MIN as i64 || v > u32::MAX as i64 {
                    return Err(Error::new(
                        ErrorKind::NumericOutOfRange,
                        format!("value \"{s}\" is out of range for type oid"),
                    ));
                }
                Value::Oid(v as u32)
            }
            DataType::Float4 => Value::Float4(float::parse_f32(s)?),
            DataType::Float8 => Value::Float8(float::parse_f64(s)?),
            DataType::Numeric(tm) => {
                let n = Numeric::parse(s)?;
                match tm {
                    Some((p, sc)) => Value::Numeric(n.apply_typmod(*p, *sc)?),
                    None => Value::Numeric(n),
                }
            }
            DataType::Bytea => Value::Bytea(parse_bytea(s)?),
            DataType::Date => Value::Date(datetime::parse_date(s, &fmt.date_style)?),
            DataType::Timestamp => Value::Timestamp(datetime::parse_timestamp(s, false, &fmt.date_style)?),
            DataType::Timestamptz => Value::Timestamptz(datetime::parse_timestamp(s, true, &fmt.date_style)?),
            DataType::Interval => Value::Interval(cast::parse_interval(s)?),
            DataType::Varchar(_) | DataType::Char(_) => {
                cast::coerce_to_typmod(Value::Text(s.to_string()), ty, false)?
            }
            DataType::Name => Value::Text(s.chars().take(63).collect()),
            DataType::Array(elem) => array::parse_array(s, elem, fmt)?,
            DataType::Text | DataType::Unknown => Value::Text(s.to_string()),
        })
    }

    /// Parses PostgreSQL's binary input for type `ty` (parameters).
    pub fn from_binary(b: &[u8], ty: &DataType) -> Result<Value> {
        let bad =
            || Error::new(ErrorKind::ProtocolViolation, "incorrect binary data format in bind parameter");
        fn arr<const N: usize>(b: &[u8]) -> Option<[u8; N]> {
            b.try_into().ok()
        }
        Ok(match ty {
            DataType::Bool => Value::Bool(*b.first().ok_or_else(bad)? != 0),
            DataType::Int2 => Value::Int2(i16::from_be_bytes(arr(b).ok_or_else(bad)?)),
            DataType::Int4 => Value::Int4(i32::from_be_bytes(arr(b).ok_or_else(bad)?)),
            DataType::Int8 => Value::Int8(i64::from_be_bytes(arr(b).ok_or_else(bad)?)),
            DataType::Oid => Value::Oid(u32::from_be_bytes(arr(b).ok_or_else(bad)?)),
            DataType::Float4 => Value::Float4(f32::from_be_bytes(arr(b).ok_or_else(bad)?)),
            DataType::Float8 => Value::Float8(f64::from_be_bytes(arr(b).ok_or_else(bad)?)),
            DataType::Numeric(_) => Value::Numeric(Numeric::from_binary(b).ok_or_else(bad)?),
            DataType::Bytea => Value::Bytea(b.to_vec()),
            DataType::Date => Value::Date(i32::from_be_bytes(arr(b).ok_or_else(bad)?)),
            DataType::Timestamp => Value::Timestamp(i64::from_be_bytes(arr(b).ok_or_else(bad)?)),
            DataType::Timestamptz => Value::Timestamptz(i64::from_be_bytes(arr(b).ok_or_else(bad)?)),
            DataType::Interval => {
                if b.len() != 16 {
                    return Err(bad());
                }
                Value::Interval(Interval {
                    micros: i64::from_be_bytes(arr(&b[..8]).ok_or_else(bad)?),
                    days: i32::from_be_bytes(arr(&b[8..12]).ok_or_else(bad)?),
                    months: i32::from_be_bytes(arr(&b[12..]).ok_or_else(bad)?),
                })
            }
            DataType::Array(elem) => array::array_from_binary(b, elem)?,
            DataType::Text
            | DataType::Varchar(_)
            | DataType::Char(_)
            | DataType::Name
            | DataType::Unknown => Value::Text(String::from_utf8(b.to_vec()).map_err(|_| {
                Error::new(ErrorKind::CharacterNotInRepertoire, "invalid byte sequence for encoding \"UTF8\"")
            })?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_input_errors_match_postgres() {
        let f = FormatContext::default();
        let e = Value::from_text("x", &DataType::Int4, &f).unwrap_err();
        assert_eq!(
            (e.sqlstate(), e.message.as_str()),
            ("22P02", "invalid input syntax for type integer: \"x\"")
        );
        let e = Value::from_text("99999999999", &DataType::Int4, &f).unwrap_err();
        assert_eq!(
            (e.sqlstate(), e.message.as_str()),
            ("22003", "value \"99999999999\" is out of range for type integer")
        );
        assert_eq!(Value::from_text(" 42 ", &DataType::Int2, &f).unwrap(), Value::Int2(42));
        assert_eq!(Value::from_text("yes", &DataType::Bool, &f).unwrap(), Value::Bool(true));
        assert_eq!(Value::from_text("\\x0aff", &DataType::Bytea, &f).unwrap(), Value::Bytea(vec![10, 255]));
    }

    #[test]
    fn arrays_round_trip_text_and_binary() {
        let f = FormatContext::default();
        let ty = DataType::Array(Box::new(DataType::Text));
        let v = Value::from_text("{a,\"b c\",NULL,\"\\\"\"}", &ty, &f).unwrap();
        assert_eq!(v.to_text(&f).unwrap(), "{a,\"b c\",NULL,\"\\\"\"}");
        let b = v.to_binary(&ty).unwrap().unwrap();
        assert_eq!(Value::from_binary(&b, &ty).unwrap(), v);
        let ity = DataType::Array(Box::new(DataType::Int4));
        let m = Value::from_text("{{1,2},{3,4}}", &ity, &f).unwrap();
        assert_eq!(m.to_text(&f).unwrap(), "{{1,2},{3,4}}");
        let b = m.to_binary(&ity).unwrap().unwrap();
        assert_eq!(Value::from_binary(&b, &ity).unwrap(), m);
    }
}
