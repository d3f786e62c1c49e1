//! Conversions between types (`CAST`, `::`, implicit coercions, assignment to typed columns),
//! with PostgreSQL's rounding and errors: float to integer rounds half to even (`rint`), numeric to
//! integer rounds half away from zero, out-of-range results are 22003 `integer out of range`,
//! strings longer than `varchar(n)` are 22001 unless the cast is explicit (which truncates),
//! `char(n)` pads with blanks. Also the `interval` text form, which only casts need.

use super::{datetime, DataType, FormatContext, Interval, Numeric, Value};
use crate::error::{Error, ErrorKind, Result};

fn out_of_range(ty: &DataType) -> Error {
    Error::new(ErrorKind::NumericOutOfRange, format!("{} out of range", ty.name()))
}

/// Converts an integer to the integer type `to`, checking its range.
pub fn int_to(v: i64, to: &DataType) -> Result<Value> {
    Ok(match to {
        DataType::Int2 => Value::Int2(i16::try_from(v).map_err(|_| out_of_range(to))?),
        DataType::Int4 => Value::Int4(i32::try_from(v).map_err(|_| out_of_range(to))?),
        DataType::Int8 => Value::Int8(v),
        DataType::Oid => Value::Oid(if v < 0 {
            v as i32 as u32
        } else {
            u32::try_from(v).map_err(|_| out_of_range(to))?
        }),
        _ => unreachable!("int_to called with a non-integer type"),
    })
}

fn float_to_int(f: f64, to: &DataType) -> Result<Value> {
    let r = f.round_ties_even();
    if !r.is_finite() || !(-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&r) {
        return Err(out_of_range(to));
    }
    int_to(r as i64, to)
}

/// Applies a length/precision type modifier (`varchar(n)`, `char(n)`, `numeric(p,s)`); explicit
/// casts truncate strings instead of failing.
pub fn coerce_to_typmod(v: Value, ty: &DataType, explicit: bool) -> Result<Value> {
    match (v, ty) {
        (Value::Text(s), DataType::Varchar(Some(n))) => {
            let n = *n as usize;
            match s.char_indices().nth(n) {
                None => Ok(Value::Text(s)),
                Some((at, _)) => {
                    if explicit || s[at..].chars().all(|c| c == ' ') {
                        Ok(Value::Text(s[..at].to_string()))
                    } else {
                        Err(Error::new(
                            ErrorKind::StringDataRightTruncation,
                            format!("value too long for type character varying({n})"),
                        ))
                    }
                }
            }
        }
        (Value::Text(s), DataType::Char(Some(n))) => {
            let n = *n as usize;
            let len = s.chars().count();
            if len <= n {
                let mut s = s;
                s.extend(std::iter::repeat_n(' ', n - len));
                return Ok(Value::Text(s));
            }
            let at = s.char_indices().nth(n).map(|(i, _)| i).unwrap_or(s.len());
            if explicit || s[at..].chars().all(|c| c == ' ') {
                Ok(Value::Text(s[..at].to_string()))
            } else {
                Err(Error::new(
                    ErrorKind::StringDataRightTruncation,
                    format!("value too long for type character({n})"),
                ))
            }
        }
        (Value::Numeric(n), DataType::Numeric(Some((p, s)))) => Ok(Value::Numeric(n.apply_typmod(*p, *s)?)),
        (Value::Array(items), DataType::Array(elem)) => Ok(Value::Array(
            items.into_iter().map(|i| coerce_to_typmod(i, elem, explicit)).collect::<Result<_>>()?,
        )),
        (v, _) => Ok(v),
    }
}

fn cannot(from: &DataType, to: &DataType) -> Error {
    Error::new(ErrorKind::CannotCoerce, format!("cannot cast type {} to {}", from.name(), to.name()))
}

/// The text form used when casting to a string type (`true::text` is `true`, not `t`).
fn text_of(v: &Value, fmt: &FormatContext) -> String {
    match v {
        Value::Bool(b) => if *b { "true" } else { "false" }.to_string(),
        _ => v.to_text(fmt).unwrap_or_default(),
    }
}

/// Casts `v` of type `from` to `to`.
pub fn cast(v: Value, from: &DataType, to: &DataType, fmt: &FormatContext, explicit: bool) -> Result<Value> {
    if v.is_null() {
        return Ok(Value::Null);
    }
    if from.without_typmod() == to.without_typmod() && !matches!(from, DataType::Char(_)) {
        return coerce_to_typmod(v, to, explicit);
    }
    if from.is_string() || *from == DataType::Unknown {
        let s = match v {
            Value::Text(s) => s,
            other => text_of(&other, fmt),
        };
        let s = if matches!(from, DataType::Char(_)) && to.is_string() {
            s.trim_end_matches(' ').to_string()
        } else {
            s
        };
        if to.is_string() {
            return coerce_to_typmod(Value::Text(s), to, explicit);
        }
        return Value::from_text(&s, to, fmt);
    }
    if to.is_string() {
        let s = text_of(&v, fmt);
        return coerce_to_typmod(Value::Text(s), to, explicit);
    }
    let bad = || cannot(from, to);
    Ok(match (v, to) {
        (Value::Int2(i), DataType::Int2 | DataType::Int4 | DataType::Int8 | DataType::Oid) => {
            int_to(i as i64, to)?
        }
        (Value::Int4(i), DataType::Int2 | DataType::Int4 | DataType::Int8 | DataType::Oid) => {
            int_to(i as i64, to)?
        }
        (Value::Int8(i), DataType::Int2 | DataType::Int4 | DataType::Int8 | DataType::Oid) => int_to(i, to)?,
        (Value::Oid(o), DataType::Int2 | DataType::Int4 | DataType::Int8) => int_to(o as i64, to)?,
        (Value::Int2(i), DataType::Float4) => Value::Float4(i as f32),
        (Value::Int4(i), DataType::Float4) => Value::Float4(i as f32),
        (Value::Int8(i), DataType::Float4) => Value::Float4(i as f32),
        (Value::Int2(i), DataType::Float8) => Value::Float8(i as f64),
        (Value::Int4(i), DataType::Float8) => Value::Float8(i as f64),
        (Value::Int8(i), DataType::Float8) => Value::Float8(i as f64),
        (Value::Int2(i), DataType::Numeric(_)) => {
            coerce_to_typmod(Value::Numeric(Numeric::from_i64(i as i64)), to, explicit)?
        }
        (Value::Int4(i), DataType::Numeric(_)) => {
            coerce_to_typmod(Value::Numeric(Numeric::from_i64(i as i64)), to, explicit)?
        }
        (Value::Int8(i), DataType::Numeric(_)) => {
            coerce_to_typmod(Value::Numeric(Numeric::from_i64(i)), to, explicit)?
        }
        (Value::Float4(f), DataType::Int2 | DataType::Int4 | DataType::Int8) => float_to_int(f as f64, to)?,
        (Value::Float8(f), DataType::Int2 | DataType::Int4 | DataType::Int8) => float_to_int(f, to)?,
        (Value::Float4(f), DataType::Float8) => Value::Float8(f.to_string().parse().unwrap_or(f as f64)),
        (Value::Float8(f), DataType::Float4) => {
            let r = f as f32;
            if r.is_infinite() && f.is_finite() {
                return Err(Error::new(ErrorKind::NumericOutOfRange, "value out of range: overflow"));
            }
            Value::Float4(r)
        }
        (Value::Float4(f), DataType::Numeric(_)) => {
            coerce_to_typmod(Value::Numeric(Numeric::from_f32(f)?), to, explicit)?
        }
        (Value::Float8(f), DataType::Numeric(_)) => {
            coerce_to_typmod(Value::Numeric(Numeric::from_f64(f)?), to, explicit)?
        }
        (Value::Numeric(n), DataType::Int2 | DataType::Int4 | DataType::Int8) => {
            if n.nan {
                return Err(Error::new(
                    ErrorKind::FeatureNotSupported,
                    format!("cannot convert NaN to {}", to.name()),
                ));
            }
            int_to(n.to_i64().ok_or_else(|| out_of_range(to))?, to)?
        }
        (Value::Numeric(n), DataType::Float8) => Value::Float8(n.to_f64()),
        (Value::Numeric(n), DataType::Float4) => Value::Float4(n.to_f64() as f32),
        (Value::Int4(i), DataType::Bool) => Value::Bool(i != 0),
        (Value::Bool(b), DataType::Int4) => Value::Int4(b as i32),
        (Value::Date(d), DataType::Timestamp) => Value::Timestamp(date_to_ts(d)),
        (Value::Date(d), DataType::Timestamptz) => Value::Timestamptz(date_to_ts(d)),
        (Value::Timestamp(t), DataType::Timestamptz) => Value::Timestamptz(t),
        (Value::Timestamptz(t), DataType::Timestamp) => Value::Timestamp(t),
        (Value::Timestamp(t) | Value::Timestamptz(t), DataType::Date) => Value::Date(ts_to_date(t)),
        (Value::Array(items), DataType::Array(elem)) => {
            let from_elem = match from {
                DataType::Array(e) => (**e).clone(),
                _ => return Err(bad()),
            };
            Value::Array(
                items
                    .into_iter()
                    .map(|i| cast_nested(i, &from_elem, elem, fmt, explicit))
                    .collect::<Result<_>>()?,
            )
        }
        _ => return Err(bad()),
    })
}

fn cast_nested(
    v: Value,
    from: &DataType,
    to: &DataType,
    fmt: &FormatContext,
    explicit: bool,
) -> Result<Value> {
    match v {
        Value::Array(items) => Ok(Value::Array(
            items.into_iter().map(|i| cast_nested(i, from, to, fmt, explicit)).collect::<Result<_>>()?,
        )),
        v => cast(v, from, to, fmt, explicit),
    }
}

fn date_to_ts(d: i32) -> i64 {
    match d {
        datetime::DATE_INFINITY => datetime::TS_INFINITY,
        datetime::DATE_NEG_INFINITY => datetime::TS_NEG_INFINITY,
        d => d as i64 * datetime::USECS_PER_DAY,
    }
}

fn ts_to_date(t: i64) -> i32 {
    match t {
        datetime::TS_INFINITY => datetime::DATE_INFINITY,
        datetime::TS_NEG_INFINITY => datetime::DATE_NEG_INFINITY,
        t => t.div_euclid(datetime::USECS_PER_DAY) as i32,
    }
}

/// Whether a value of type `from` may be used where `to` is expected without an explicit cast
/// (PostgreSQL's implicit casts among the built-in types).
pub fn can_coerce_implicitly(from: &DataType, to: &DataType) -> bool {
    use DataType::*;
    if from.without_typmod() == to.without_typmod() || *from == Unknown {
        return true;
    }
    match (from, to) {
        (Int2, Int4 | Int8 | Float4 | Float8 | Numeric(_) | Oid) => true,
        (Int4, Int8 | Float4 | Float8 | Numeric(_) | Oid) => true,
        (Int8, Float4 | Float8 | Numeric(_) | Oid) => true,
        (Numeric(_), Float4 | Float8) => true,
        (Float4, Float8) => true,
        (Text | Varchar(_) | Char(_) | Name, Text | Varchar(_) | Char(_) | Name) => true,
        (Date, Timestamp | Timestamptz) => true,
        (Timestamp, Timestamptz) => true,
        (Array(a), Array(b)) => can_coerce_implicitly(a, b),
        _ => false,
    }
}

/// Whether an assignment (INSERT/UPDATE target) from `from` to `to` is allowed: implicit casts
/// plus PostgreSQL's assignment casts (numeric narrowing, anything to text).
pub fn can_assign(from: &DataType, to: &DataType) -> bool {
    use DataType::*;
    if can_coerce_implicitly(from, to) {
        return true;
    }
    match (from, to) {
        (a, b) if a.is_numeric() && b.is_numeric() => true,
        (Oid, Int4 | Int8) => true,
        (_, Text | Varchar(_) | Char(_)) if !matches!(from, Array(_)) => true,
        (Timestamp | Timestamptz, Date) | (Timestamptz, Timestamp) => true,
        _ => false,
    }
}

/// The `interval` text form in the `postgres` IntervalStyle: `1 year 2 mons 3 days 04:05:06`.
pub fn format_interval(i: &Interval) -> String {
    let mut parts = Vec::new();
    let (years, months) = (i.months / 12, i.months % 12);
    let plural = |n: i64, unit: &str| format!("{n} {unit}{}", if n.abs() == 1 { "" } else { "s" });
    if years != 0 {
        parts.push(plural(years as i64, "year"));
    }
    if months != 0 {
        parts.push(plural(months as i64, "mon"));
    }
    if i.days != 0 {
        parts.push(plural(i.days as i64, "day"));
    }
    if i.micros != 0 || parts.is_empty() {
        let neg = i.micros < 0;
        let m = i.micros.unsigned_abs();
        let secs = m / 1_000_000;
        let frac = m % 1_000_000;
        let mut t = format!(
            "{}{:02}:{:02}:{:02}",
            if neg { "-" } else { "" },
            secs / 3600,
            secs / 60 % 60,
            secs % 60
        );
        if frac != 0 {
            t.push('.');
            t.push_str(format!("{frac:06}").trim_end_matches('0'));
        }
        parts.push(t);
    }
    parts.join(" ")
}

/// Parses an interval: `1 day`, `2 hours 30 minutes`, `1 year 2 mons`, `04:05:06`, `-1 day`, `@ 1 day ago`.
pub fn parse_interval(s: &str) -> Result<Interval> {
    let bad = || {
        Error::new(
            ErrorKind::InvalidDatetimeFormat,
            format!("invalid input syntax for type interval: \"{s}\""),
        )
    };
    let mut out = Interval::default();
    let lower = s.trim().to_ascii_lowercase();
    let mut words: Vec<&str> = lower.split_whitespace().filter(|w| *w != "@").collect();
    let ago = words.last() == Some(&"ago");
    if ago {
        words.pop();
    }
    if words.is_empty() {
        return Err(bad());
    }
    let mut i = 0;
    while i < words.len() {
        let w = words[i];
        if w.contains(':') {
            let neg = w.starts_with('-');
            let t = w.trim_start_matches(['-', '+']);
            let mut it = t.split(':');
            let h: i64 = it.next().and_then(|x| x.parse().ok()).ok_or_else(bad)?;
            let m: i64 = it.next().and_then(|x| x.parse().ok()).ok_or_else(bad)?;
            let sec: f64 = it.next().map(|x| x.parse().map_err(|_| bad())).transpose()?.unwrap_or(0.0);
            let micros = (h * 3600 + m * 60) * 1_000_000 + (sec * 1e6).round() as i64;
            out.micros += if neg { -micros } else { micros };
            i += 1;
            continue;
        }
        let n: f64 = w.parse().map_err(|_| bad())?;
        let unit = words.get(i + 1).copied().unwrap_or("second");
        let unit = unit.trim_end_matches(',');
        match unit.trim_end_matches('s') {
            "year" | "yr" | "y" => out.months += (n * 12.0) as i32,
            "mon" | "month" => out.months += n as i32,
            "week" | "w" => out.days += (n * 7.0) as i32,
            "day" | "d" => out.days += n as i32,
            "hour" | "h" | "hr" => out.micros += (n * 3_600_000_000.0) as i64,
            "minute" | "min" | "m" => out.micros += (n * 60_000_000.0) as i64,
            "second" | "sec" | "" => out.micros += (n * 1_000_000.0) as i64,
            "millisecond" | "msec" => out.micros += (n * 1000.0) as i64,
            _ => return Err(bad()),
        }
        i += 2;
    }
    if ago {
        out = Interval { months: -out.months, days: -out.days, micros: -out.micros };
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn casts_round_and_check_like_postgres() {
        let f = FormatContext::default();
        assert_eq!(
            cast(Value::Float8(2.5), &DataType::Float8, &DataType::Int4, &f, true).unwrap(),
            Value::Int4(2)
        );
        assert_eq!(
            cast(Value::Float8(3.5), &DataType::Float8, &DataType::Int4, &f, true).unwrap(),
            Value::Int4(4)
        );
        let n = Value::Numeric(Numeric::parse("2.5").unwrap());
        assert_eq!(cast(n, &DataType::Numeric(None), &DataType::Int4, &f, true).unwrap(), Value::Int4(3));
        let e = cast(Value::Int8(1 << 40), &DataType::Int8, &DataType::Int4, &f, true).unwrap_err();
        assert_eq!((e.sqlstate(), e.message.as_str()), ("22003", "integer out of range"));
        let e = cast(Value::Text("abcd".into()), &DataType::Text, &DataType::Varchar(Some(3)), &f, false)
            .unwrap_err();
        assert_eq!(e.message, "value too long for type character varying(3)");
        assert_eq!(
            cast(Value::Text("abcd".into()), &DataType::Text, &DataType::Varchar(Some(3)), &f, true).unwrap(),
            Value::Text("abc".into())
        );
        assert_eq!(
            cast(Value::Bool(true), &DataType::Bool, &DataType::Text, &f, true).unwrap(),
            Value::Text("true".into())
        );
    }

    #[test]
    fn intervals() {
        let i = parse_interval("1 year 2 mons 3 days 04:05:06").unwrap();
        assert_eq!(format_interval(&i), "1 year 2 mons 3 days 04:05:06");
        assert_eq!(format_interval(&parse_interval("1 day").unwrap()), "1 day");
        assert_eq!(format_interval(&parse_interval("2 hours").unwrap()), "02:00:00");
    }
}
