//! Text input and output of `real` and `double precision`, as PostgreSQL 12+ prints them.
//!
//! Output is the *shortest* decimal that reads back to the same binary value (Rust's `{:e}`
//! formatting computes exactly those digits), laid out like C's `%g`: positional when the decimal
//! exponent is in `-4 ..< P` and scientific with a signed, at least two-digit exponent otherwise,
//! where `P` is 15 for float8 and 6 for float4 (DBL_DIG / FLT_DIG). Hence `1e+20`,
//! `0.30000000000000004`, `123456789012345`, `1.234567890123456e+15`; the special values are
//! `Infinity`, `-Infinity` and `NaN`. With `extra_float_digits` < 1 the `%.{P+efd}g` rounding of
//! older releases is used instead.

use crate::error::{Error, ErrorKind, Result};

/// Formats `digits` (a leading digit, optional `.` and more, from `{:e}`) and a decimal exponent
/// the way `%g` does with precision `p`.
fn layout(mantissa: &str, exp: i32, p: i32) -> String {
    let (neg, m) = match mantissa.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mantissa),
    };
    let digits: String = m.chars().filter(|c| *c != '.').collect();
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if exp < -4 || exp >= p {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        out.push_str(&format!("{:02}", exp.abs()));
    } else if exp < 0 {
        out.push_str("0.");
        out.push_str(&"0".repeat((-exp - 1) as usize));
        out.push_str(&digits);
    } else {
        let int_len = exp as usize + 1;
        if digits.len() <= int_len {
            out.push_str(&digits);
            out.push_str(&"0".repeat(int_len - digits.len()));
        } else {
            out.push_str(&digits[..int_len]);
            out.push('.');
            out.push_str(&digits[int_len..]);
        }
    }
    out
}

fn special(v: f64) -> Option<&'static str> {
    if v.is_nan() {
        Some("NaN")
    } else if v == f64::INFINITY {
        Some("Infinity")
    } else if v == f64::NEG_INFINITY {
        Some("-Infinity")
    } else {
        None
    }
}

fn split_e(s: &str) -> (String, i32) {
    match s.split_once('e') {
        Some((m, e)) => (m.to_string(), e.parse().unwrap_or(0)),
        None => (s.to_string(), 0),
    }
}

/// Trims trailing zeros of a `%.Ne` mantissa (as `%g` does).
fn trim_mantissa(m: &str) -> String {
    if m.contains('.') {
        m.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        m.to_string()
    }
}

/// float8 output.
pub fn format_f64(v: f64, extra_float_digits: i32) -> String {
    if let Some(s) = special(v) {
        return s.to_string();
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0".into() } else { "0".into() };
    }
    if extra_float_digits > 0 {
        let (m, e) = split_e(&format!("{v:e}"));
        return layout(&m, e, 15);
    }
    let p = (15 + extra_float_digits).max(1);
    let (m, e) = split_e(&format!("{:.*e}", (p - 1) as usize, v));
    layout(&trim_mantissa(&m), e, p)
}

/// float4 output.
pub fn format_f32(v: f32, extra_float_digits: i32) -> String {
    if let Some(s) = special(v as f64) {
        return s.to_string();
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0".into() } else { "0".into() };
    }
    if extra_float_digits > 0 {
        let (m, e) = split_e(&format!("{v:e}"));
        return layout(&m, e, 6);
    }
    let p = (6 + extra_float_digits).max(1);
    let (m, e) = split_e(&format!("{:.*e}", (p - 1) as usize, v));
    layout(&trim_mantissa(&m), e, p)
}

fn parse_special(t: &str) -> Option<f64> {
    match t.to_ascii_lowercase().as_str() {
        "nan" => Some(f64::NAN),
        "infinity" | "+infinity" | "inf" | "+inf" => Some(f64::INFINITY),
        "-infinity" | "-inf" => Some(f64::NEG_INFINITY),
        _ => None,
    }
}

fn valid_syntax(t: &str) -> bool {
    let b = t.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    let mut digits = 0;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
        digits += 1;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
            digits += 1;
        }
    }
    if digits == 0 {
        return false;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    i == b.len()
}

/// float8 input: 22P02 on bad syntax, 22003 when out of range.
pub fn parse_f64(s: &str) -> Result<f64> {
    let t = s.trim();
    if let Some(v) = parse_special(t) {
        return Ok(v);
    }
    if !valid_syntax(t) {
        return Err(Error::new(
            ErrorKind::InvalidTextRepresentation,
            format!("invalid input syntax for type double precision: \"{s}\""),
        ));
    }
    let v: f64 = t.parse().map_err(|_| {
        Error::new(
            ErrorKind::InvalidTextRepresentation,
            format!("invalid input syntax for type double precision: \"{s}\""),
        )
    })?;
    if v.is_infinite() || (v == 0.0 && t.bytes().any(|c| (b'1'..=b'9').contains(&c)) && !mantissa_zero(t)) {
        return Err(Error::new(
            ErrorKind::NumericOutOfRange,
            format!("\"{t}\" is out of range for type double precision"),
        ));
    }
    Ok(v)
}

fn mantissa_zero(t: &str) -> bool {
    let m = t.split(['e', 'E']).next().unwrap_or("");
    !m.bytes().any(|c| (b'1'..=b'9').contains(&c))
}

/// float4 input.
pub fn parse_f32(s: &str) -> Result<f32> {
    let t = s.trim();
    if let Some(v) = parse_special(t) {
        return Ok(v as f32);
    }
    if !valid_syntax(t) {
        return Err(Error::new(
            ErrorKind::InvalidTextRepresentation,
            format!("invalid input syntax for type real: \"{s}\""),
        ));
    }
    let v: f32 = t.parse().map_err(|_| {
        Error::new(
            ErrorKind::InvalidTextRepresentation,
            format!("invalid input syntax for type real: \"{s}\""),
        )
    })?;
    if v.is_infinite() || (v == 0.0 && !mantissa_zero(t)) {
        return Err(Error::new(
            ErrorKind::NumericOutOfRange,
            format!("\"{t}\" is out of range for type real"),
        ));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortest_exact_like_postgres() {
        assert_eq!(format_f64(1e20, 1), "1e+20");
        assert_eq!(format_f64(0.1 + 0.2, 1), "0.30000000000000004");
        assert_eq!(format_f64(1e15, 1), "1e+15");
        assert_eq!(format_f64(123456789012345.0, 1), "123456789012345");
        assert_eq!(format_f64(1234567890123456.0, 1), "1.234567890123456e+15");
        assert_eq!(format_f64(0.0001, 1), "0.0001");
        assert_eq!(format_f64(0.00001, 1), "1e-05");
        assert_eq!(format_f64(-1.5, 1), "-1.5");
        assert_eq!(format_f64(f64::INFINITY, 1), "Infinity");
        assert_eq!(format_f64(f64::NAN, 1), "NaN");
        assert_eq!(format_f32(1e6, 1), "1e+06");
        assert_eq!(format_f32(123456.0, 1), "123456");
        assert_eq!(format_f64(0.1 + 0.2, 0), "0.3");
    }

    #[test]
    fn input_errors() {
        assert_eq!(parse_f64(" 1.5 ").unwrap(), 1.5);
        assert_eq!(parse_f64("x").unwrap_err().sqlstate(), "22P02");
        assert_eq!(parse_f64("1e400").unwrap_err().sqlstate(), "22003");
        assert!(parse_f64("-inf").unwrap().is_infinite());
    }
}
