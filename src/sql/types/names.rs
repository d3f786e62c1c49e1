//! Type names: every spelling PostgreSQL accepts (`int`, `int4`, `integer`, `character varying`,
//! `double precision`, ...), and the two ways PostgreSQL prints a type: `format_type` style
//! (`character varying(3)`, used in messages) and the internal `typname` (`varchar`, used as the
//! column name of a cast).

use super::DataType;
use crate::error::{Error, ErrorKind, Result};
use sqlparser::ast::{self, ArrayElemTypeDef, CharacterLength, ExactNumberInfo, TimezoneInfo};

impl DataType {
    /// The name as `format_type` prints it (error messages): `integer`, `character varying(3)`.
    pub fn name(&self) -> String {
        match self {
            DataType::Bool => "boolean".into(),
            DataType::Int2 => "smallint".into(),
            DataType::Int4 => "integer".into(),
            DataType::Int8 => "bigint".into(),
            DataType::Float4 => "real".into(),
            DataType::Float8 => "double precision".into(),
            DataType::Numeric(None) => "numeric".into(),
            DataType::Numeric(Some((p, s))) => format!("numeric({p},{s})"),
            DataType::Text => "text".into(),
            DataType::Varchar(None) => "character varying".into(),
            DataType::Varchar(Some(n)) => format!("character varying({n})"),
            DataType::Char(None) => "character".into(),
            DataType::Char(Some(n)) => format!("character({n})"),
            DataType::Name => "name".into(),
            DataType::Bytea => "bytea".into(),
            DataType::Date => "date".into(),
            DataType::Timestamp => "timestamp without time zone".into(),
            DataType::Timestamptz => "timestamp with time zone".into(),
            DataType::Interval => "interval".into(),
            DataType::Oid => "oid".into(),
            DataType::Unknown => "unknown".into(),
            DataType::Array(e) => format!("{}[]", e.name()),
        }
    }

    /// pg_type.typname: `int4`, `varchar`, `bpchar`, `_int4` for arrays.
    pub fn typname(&self) -> String {
        match self {
            DataType::Bool => "bool".into(),
            DataType::Int2 => "int2".into(),
            DataType::Int4 => "int4".into(),
            DataType::Int8 => "int8".into(),
            DataType::Float4 => "float4".into(),
            DataType::Float8 => "float8".into(),
            DataType::Numeric(_) => "numeric".into(),
            DataType::Text => "text".into(),
            DataType::Varchar(_) => "varchar".into(),
            DataType::Char(_) => "bpchar".into(),
            DataType::Name => "name".into(),
            DataType::Bytea => "bytea".into(),
            DataType::Date => "date".into(),
            DataType::Timestamp => "timestamp".into(),
            DataType::Timestamptz => "timestamptz".into(),
            DataType::Interval => "interval".into(),
            DataType::Oid => "oid".into(),
            DataType::Unknown => "unknown".into(),
            DataType::Array(e) => format!("_{}", e.typname()),
        }
    }

    /// The column name PostgreSQL gives `expr::type`: the last word of the type name as written,
    /// which for built-in types is the typname of the element type.
    pub fn cast_column_name(&self) -> String {
        match self {
            DataType::Array(e) => e.cast_column_name(),
            t => t.typname(),
        }
    }

    /// Whether this is a string type (text, varchar, char, name).
    pub fn is_string(&self) -> bool {
        matches!(self, DataType::Text | DataType::Varchar(_) | DataType::Char(_) | DataType::Name)
    }

    /// Whether this is a numeric type (integers, floats, numeric).
    pub fn is_numeric(&self) -> bool {
        matches!(
            self,
            DataType::Int2
                | DataType::Int4
                | DataType::Int8
                | DataType::Float4
                | DataType::Float8
                | DataType::Numeric(_)
        )
    }

    /// The type without length or precision modifiers.
    pub fn without_typmod(&self) -> DataType {
        match self {
            DataType::Numeric(_) => DataType::Numeric(None),
            DataType::Varchar(_) => DataType::Varchar(None),
            DataType::Char(_) => DataType::Char(None),
            DataType::Array(e) => DataType::Array(Box::new(e.without_typmod())),
            t => t.clone(),
        }
    }
}

fn undefined(name: &str) -> Error {
    Error::new(ErrorKind::UndefinedObject, format!("type \"{name}\" does not exist"))
}

fn char_len(l: &Option<CharacterLength>) -> Result<Option<u32>> {
    match l {
        None => Ok(None),
        Some(CharacterLength::IntegerLength { length, .. }) => {
            if *length == 0 {
                return Err(Error::new(
                    ErrorKind::InvalidParameterValue,
                    "length for type varchar must be at least 1",
                ));
            }
            if *length > 10_485_760 {
                return Err(Error::new(
                    ErrorKind::InvalidParameterValue,
                    "length for type varchar cannot exceed 10485760",
                ));
            }
            Ok(Some(*length as u32))
        }
        Some(CharacterLength::Max) => Err(undefined("max")),
    }
}

fn numeric_info(info: &ExactNumberInfo) -> Result<DataType> {
    Ok(match info {
        ExactNumberInfo::None => DataType::Numeric(None),
        ExactNumberInfo::Precision(p) => numeric_typmod(*p as i64, 0)?,
        ExactNumberInfo::PrecisionAndScale(p, s) => numeric_typmod(*p as i64, *s)?,
    })
}

fn numeric_typmod(p: i64, s: i64) -> Result<DataType> {
    if !(1..=1000).contains(&p) {
        return Err(Error::new(
            ErrorKind::InvalidParameterValue,
            format!("NUMERIC precision {p} must be between 1 and 1000"),
        ));
    }
    if s < 0 || s > p {
        return Err(Error::new(
            ErrorKind::InvalidParameterValue,
            format!("NUMERIC scale {s} must be between 0 and precision {p}"),
        ));
    }
    Ok(DataType::Numeric(Some((p as u32, s as u32))))
}

/// A type by a single name (`int4`, `bpchar`, `timestamptz`, ...), for `Custom` AST types.
pub fn from_name(name: &str) -> Option<DataType> {
    let n = name.to_ascii_lowercase();
    let n = n.strip_prefix("pg_catalog.").unwrap_or(&n);
    if let Some(elem) = n.strip_prefix('_') {
        return from_name(elem).map(|e| DataType::Array(Box::new(e)));
    }
    Some(match n {
        "bool" | "boolean" => DataType::Bool,
        "int2" | "smallint" => DataType::Int2,
        "int" | "int4" | "integer" => DataType::Int4,
        "int8" | "bigint" => DataType::Int8,
        "float4" | "real" => DataType::Float4,
        "float8" | "float" | "double precision" => DataType::Float8,
        "numeric" | "decimal" => DataType::Numeric(None),
        "text" => DataType::Text,
        "varchar" | "character varying" => DataType::Varchar(None),
        "bpchar" => DataType::Char(None),
        "char" | "character" => DataType::Char(Some(1)),
        "name" => DataType::Name,
        "bytea" => DataType::Bytea,
        "date" => DataType::Date,
        "timestamp" | "timestamp without time zone" => DataType::Timestamp,
        "timestamptz" | "timestamp with time zone" => DataType::Timestamptz,
        "interval" => DataType::Interval,
        "oid" | "regclass" | "regtype" | "regproc" => DataType::Oid,
        "serial" | "serial4" | "bigserial" | "serial8" | "smallserial" | "serial2" => return None,
        _ => return None,
    })
}

/// A type as written in SQL; 42704 for names PostgreSQL would not know either, 0A000 for types
/// PostgreSQL has but ssidb does not.
pub fn from_ast(t: &ast::DataType) -> Result<DataType> {
    use ast::DataType as A;
    Ok(match t {
        A::Bool | A::Boolean => DataType::Bool,
        A::Int2(_) | A::SmallInt(_) => DataType::Int2,
        A::Int(_) | A::Int4(_) | A::Integer(_) => DataType::Int4,
        A::Int8(_) | A::BigInt(_) => DataType::Int8,
        A::Float4 | A::Real => DataType::Float4,
        A::Float8 | A::DoublePrecision | A::Double(ExactNumberInfo::None) => DataType::Float8,
        A::Float(info) => match info {
            ExactNumberInfo::Precision(p) if *p >= 1 && *p <= 24 => DataType::Float4,
            ExactNumberInfo::Precision(p) if *p > 53 => {
                return Err(Error::new(
                    ErrorKind::InvalidParameterValue,
                    "precision for type float must be less than 54 bits",
                ))
            }
            ExactNumberInfo::Precision(0) => {
                return Err(Error::new(
                    ErrorKind::InvalidParameterValue,
                    "precision for type float must be at least 1 bit",
                ))
            }
            _ => DataType::Float8,
        },
        A::Numeric(info) | A::Decimal(info) | A::Dec(info) => numeric_info(info)?,
        A::Text => DataType::Text,
        A::Varchar(l) | A::CharacterVarying(l) | A::CharVarying(l) => DataType::Varchar(char_len(l)?),
        A::Char(l) | A::Character(l) => DataType::Char(Some(char_len(l)?.unwrap_or(1))),
        A::Bytea => DataType::Bytea,
        A::Date => DataType::Date,
        A::Timestamp(_, TimezoneInfo::WithTimeZone | TimezoneInfo::Tz) => DataType::Timestamptz,
        A::Timestamp(_, _) => DataType::Timestamp,
        A::Interval { .. } => DataType::Interval,
        A::Regclass => DataType::Oid,
        A::Array(def) => match def {
            ArrayElemTypeDef::SquareBracket(e, _)
            | ArrayElemTypeDef::Qualified(e, _)
            | ArrayElemTypeDef::AngleBracket(e)
            | ArrayElemTypeDef::Parenthesis(e) => match from_ast(e)? {
                DataType::Array(inner) => DataType::Array(inner),
                el => DataType::Array(Box::new(el)),
            },
            ArrayElemTypeDef::None => return Err(undefined("array")),
        },
        A::Custom(name, mods) => {
            let n = name.to_string().replace('"', "");
            let base = from_name(&n).ok_or_else(|| undefined(&n))?;
            match (&base, mods.as_slice()) {
                (_, []) => base,
                (DataType::Char(_), [l]) | (DataType::Varchar(_), [l]) => {
                    let len: u32 = l.parse().map_err(|_| undefined(&n))?;
                    if matches!(base, DataType::Char(_)) {
                        DataType::Char(Some(len))
                    } else {
                        DataType::Varchar(Some(len))
                    }
                }
                (DataType::Numeric(_), [p]) => numeric_typmod(p.parse().unwrap_or(0), 0)?,
                (DataType::Numeric(_), [p, s]) => {
                    numeric_typmod(p.parse().unwrap_or(0), s.parse().unwrap_or(-1))?
                }
                _ => base,
            }
        }
        A::JSON | A::JSONB | A::Uuid | A::Time(..) | A::Bit(_) | A::BitVarying(_) | A::Varbinary(_) => {
            return Err(Error::new(ErrorKind::FeatureNotSupported, format!("type {t} is not supported yet")))
        }
        other => return Err(undefined(&other.to_string().to_ascii_lowercase())),
    })
}

/// Whether a written type is a serial pseudo-type: `Some(column type)` for serial/bigserial/
/// smallserial.
pub fn serial_type(t: &ast::DataType) -> Option<DataType> {
    if let ast::DataType::Custom(name, mods) = t {
        if !mods.is_empty() {
            return None;
        }
        return match name.to_string().to_ascii_lowercase().as_str() {
            "serial" | "serial4" => Some(DataType::Int4),
            "bigserial" | "serial8" => Some(DataType::Int8),
            "smallserial" | "serial2" => Some(DataType::Int2),
            _ => None,
        };
    }
    None
}
