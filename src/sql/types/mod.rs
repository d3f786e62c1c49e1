//! SQL data types and values.
//!
//! [`DataType`] is a column's or expression's type (with PostgreSQL's OIDs and names); [`Value`] is
//! one datum. Text and binary input/output follow PostgreSQL 15 exactly, since clients parse them.
//! (Contract shared by the SQL engine and the wire server; the engine's owner extends it.)

use crate::error::{Error, ErrorKind, Result};

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
            DataType::Unknown => -2,
            _ => -1,
        }
    }

    /// The type modifier (atttypmod) for RowDescription: -1 when none.
    pub fn typmod(&self) -> i32 {
        match self {
            DataType::Varchar(Some(n)) | DataType::Char(Some(n)) => *n as i32 + 4,
            DataType::Numeric(Some((p, s))) => (((*p as i32) << 16) | *s as i32) + 4,
            _ => -1,
        }
    }
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
    /// text, varchar, char, name, and unknown-typed literals (the type says which)
    Text(String),
    /// bytea
    Bytea(Vec<u8>),
}

impl Value {
    /// PostgreSQL's text output; `None` for NULL.
    pub fn to_text(&self, _fmt: &FormatContext) -> Option<String> {
        Some(match self {
            Value::Null => return None,
            Value::Bool(b) => if *b { "t" } else { "f" }.to_string(),
            Value::Int2(v) => v.to_string(),
            Value::Int4(v) => v.to_string(),
            Value::Int8(v) => v.to_string(),
            Value::Float4(v) => v.to_string(),
            Value::Float8(v) => v.to_string(),
            Value::Text(s) => s.clone(),
            Value::Bytea(b) => {
                let mut s = String::from("\\x");
                for byte in b {
                    s.push_str(&format!("{byte:02x}"));
                }
                s
            }
        })
    }

    /// PostgreSQL's binary output for a value of type `ty`; `None` for NULL.
    pub fn to_binary(&self, _ty: &DataType) -> Result<Option<Vec<u8>>> {
        Ok(Some(match self {
            Value::Null => return Ok(None),
            Value::Bool(b) => vec![*b as u8],
            Value::Int2(v) => v.to_be_bytes().to_vec(),
            Value::Int4(v) => v.to_be_bytes().to_vec(),
            Value::Int8(v) => v.to_be_bytes().to_vec(),
            Value::Float4(v) => v.to_be_bytes().to_vec(),
            Value::Float8(v) => v.to_be_bytes().to_vec(),
            Value::Text(s) => s.as_bytes().to_vec(),
            Value::Bytea(b) => b.clone(),
        }))
    }

    /// Parses PostgreSQL's text input for type `ty` (parameters, literals, COPY).
    pub fn from_text(s: &str, ty: &DataType, _fmt: &FormatContext) -> Result<Value> {
        let bad = || {
            Error::new(
                ErrorKind::InvalidTextRepresentation,
                format!("invalid input syntax for type {ty:?}: \"{s}\""),
            )
        };
        Ok(match ty {
            DataType::Int4 => Value::Int4(s.trim().parse().map_err(|_| bad())?),
            DataType::Int8 => Value::Int8(s.trim().parse().map_err(|_| bad())?),
            DataType::Bool => match s.trim().to_ascii_lowercase().as_str() {
                "t" | "true" | "yes" | "on" | "1" => Value::Bool(true),
                "f" | "false" | "no" | "off" | "0" => Value::Bool(false),
                _ => return Err(bad()),
            },
            _ => Value::Text(s.to_string()),
        })
    }

    /// Parses PostgreSQL's binary input for type `ty` (parameters).
    pub fn from_binary(b: &[u8], ty: &DataType) -> Result<Value> {
        let bad =
            || Error::new(ErrorKind::ProtocolViolation, "incorrect binary data format in bind parameter");
        Ok(match ty {
            DataType::Int4 => Value::Int4(i32::from_be_bytes(b.try_into().map_err(|_| bad())?)),
            DataType::Int8 => Value::Int8(i64::from_be_bytes(b.try_into().map_err(|_| bad())?)),
            _ => Value::Text(String::from_utf8(b.to_vec()).map_err(|_| bad())?),
        })
    }
}
