//! Arbitrary-precision decimal numbers: PostgreSQL's `numeric`.
//!
//! A [`Numeric`] is a sign, a magnitude kept as decimal digits (most significant first, no leading
//! zeros) and a *display scale*: the number of digits after the decimal point. `1.50` is the
//! magnitude `150` with scale 2; the scale is part of the value's text form and is kept through
//! arithmetic with PostgreSQL's rules:
//!
//! | operation | result scale |
//! |-----------|--------------|
//! | `a + b`, `a - b`, `a % b` | `max(sa, sb)` |
//! | `a * b` | `sa + sb` |
//! | `a / b` | enough for 16 significant digits, at least `max(sa, sb)` (`select_div_scale`) |
//!
//! Decimal digits make every operation simple schoolbook arithmetic; the wire format (base 10000,
//! see [`Numeric::to_binary`]) is produced on output. Values are never approximated: precision is
//! limited only by memory (PostgreSQL allows 131072 digits before the point). `NaN` is supported;
//! numeric infinities are not (yet).

use crate::error::{Error, ErrorKind, Result};
use std::cmp::Ordering;

/// Most digits after the decimal point a division or rounding produces (PostgreSQL's
/// NUMERIC_MAX_DISPLAY_SCALE).
pub const MAX_DISPLAY_SCALE: u32 = 1000;
/// Significant digits a division aims for (NUMERIC_MIN_SIG_DIGITS).
const MIN_SIG_DIGITS: i64 = 16;

/// An arbitrary-precision decimal number.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Numeric {
    /// Not a number (sorts above every number, equal to itself, as in PostgreSQL).
    pub nan: bool,
    /// Negative (never set for zero).
    pub neg: bool,
    /// Magnitude as decimal digits, most significant first, without leading zeros (empty = 0).
    pub digits: Vec<u8>,
    /// Digits after the decimal point.
    pub scale: u32,
}

fn bad(s: &str) -> Error {
    Error::new(
        ErrorKind::InvalidTextRepresentation,
        format!("invalid input syntax for type numeric: \"{s}\""),
    )
}

fn strip(mut d: Vec<u8>) -> Vec<u8> {
    let n = d.iter().take_while(|&&x| x == 0).count();
    d.drain(..n);
    d
}

fn cmp_mag(a: &[u8], b: &[u8]) -> Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

fn add_mag(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(a.len().max(b.len()) + 1);
    let (mut i, mut j, mut carry) = (a.len(), b.len(), 0u8);
    while i > 0 || j > 0 || carry > 0 {
        let mut s = carry;
        if i > 0 {
            i -= 1;
            s += a[i];
        }
        if j > 0 {
            j -= 1;
            s += b[j];
        }
        out.push(s % 10);
        carry = s / 10;
    }
    out.reverse();
    strip(out)
}

/// `a - b` for `a >= b`.
fn sub_mag(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(a.len());
    let (mut i, mut j, mut borrow) = (a.len(), b.len(), 0i8);
    while i > 0 {
        i -= 1;
        let mut s = a[i] as i8 - borrow;
        if j > 0 {
            j -= 1;
            s -= b[j] as i8;
        }
        borrow = if s < 0 { 1 } else { 0 };
        out.push((s + 10 * borrow) as u8);
    }
    out.reverse();
    strip(out)
}

fn mul_mag(a: &[u8], b: &[u8]) -> Vec<u8> {
    if a.is_empty() || b.is_empty() {
        return vec![];
    }
    let mut acc = vec![0u32; a.len() + b.len()];
    for (i, &x) in a.iter().enumerate().rev() {
        for (j, &y) in b.iter().enumerate().rev() {
            acc[i + j + 1] += x as u32 * y as u32;
        }
    }
    for k in (1..acc.len()).rev() {
        let c = acc[k] / 10;
        acc[k] %= 10;
        acc[k - 1] += c;
    }
    strip(acc.into_iter().map(|d| d as u8).collect())
}

/// Integer division of magnitudes: (quotient, remainder).
fn divmod_mag(a: &[u8], b: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let mut q = Vec::with_capacity(a.len());
    let mut r: Vec<u8> = Vec::new();
    for &d in a {
        r.push(d);
        r = strip(r);
        let mut n = 0;
        while cmp_mag(&r, b) != Ordering::Less {
            r = sub_mag(&r, b);
            n += 1;
        }
        q.push(n);
    }
    (strip(q), r)
}

fn pow10(n: u32) -> Vec<u8> {
    let mut v = vec![1];
    v.extend(std::iter::repeat_n(0, n as usize));
    v
}

impl Numeric {
    /// Zero with scale 0.
    pub fn zero() -> Self {
        Numeric { nan: false, neg: false, digits: vec![], scale: 0 }
    }

    /// NaN.
    pub fn nan() -> Self {
        Numeric { nan: true, neg: false, digits: vec![], scale: 0 }
    }

    fn finite(neg: bool, digits: Vec<u8>, scale: u32) -> Self {
        let digits = strip(digits);
        let neg = neg && !digits.is_empty();
        Numeric { nan: false, neg, digits, scale }
    }

    /// Whether the value is zero.
    pub fn is_zero(&self) -> bool {
        !self.nan && self.digits.is_empty()
    }

    /// From an integer.
    pub fn from_i64(v: i64) -> Self {
        let digits = v.unsigned_abs().to_string().bytes().map(|b| b - b'0').collect();
        Numeric::finite(v < 0, digits, 0)
    }

    /// From a float, as PostgreSQL's `float8_numeric` (15 significant digits).
    pub fn from_f64(v: f64) -> Result<Self> {
        if v.is_nan() {
            return Ok(Numeric::nan());
        }
        if v.is_infinite() {
            return Err(Error::new(ErrorKind::FeatureNotSupported, "cannot convert infinity to numeric"));
        }
        let s = format!("{:.*e}", 14, v);
        Numeric::parse(&s).map(|n| n.trim_trailing_zeros())
    }

    /// From a float4, as `float4_numeric` (6 significant digits).
    pub fn from_f32(v: f32) -> Result<Self> {
        if v.is_nan() {
            return Ok(Numeric::nan());
        }
        let s = format!("{:.*e}", 5, v);
        Numeric::parse(&s).map(|n| n.trim_trailing_zeros())
    }

    /// Drops fractional trailing zeros (what `%g` formatting does).
    fn trim_trailing_zeros(mut self) -> Self {
        while self.scale > 0 && self.digits.last() == Some(&0) {
            self.digits.pop();
            self.scale -= 1;
        }
        if self.digits.is_empty() {
            self.scale = 0;
        }
        self
    }

    /// Parses PostgreSQL's numeric input: `[+-]digits[.digits][e[+-]digits]`, or `NaN`.
    pub fn parse(input: &str) -> Result<Self> {
        let s = input.trim();
        if s.eq_ignore_ascii_case("nan") {
            return Ok(Numeric::nan());
        }
        let b = s.as_bytes();
        let mut i = 0;
        let mut neg = false;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            neg = b[i] == b'-';
            i += 1;
        }
        let mut digits = Vec::new();
        let mut scale: i64 = 0;
        let mut seen_digit = false;
        let mut seen_point = false;
        while i < b.len() {
            match b[i] {
                c @ b'0'..=b'9' => {
                    digits.push(c - b'0');
                    seen_digit = true;
                    if seen_point {
                        scale += 1;
                    }
                }
                b'.' if !seen_point => seen_point = true,
                b'_' if seen_digit && i + 1 < b.len() && b[i + 1].is_ascii_digit() => {}
                _ => break,
            }
            i += 1;
        }
        if !seen_digit {
            return Err(bad(input));
        }
        if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
            i += 1;
            let start = i;
            if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
                i += 1;
            }
            let exp_digits = &s[start..];
            if i >= b.len() {
                return Err(bad(input));
            }
            let exp: i64 = exp_digits.parse().map_err(|_| bad(input))?;
            if exp.abs() > 1_000_000 {
                return Err(Error::new(ErrorKind::NumericOutOfRange, "value overflows numeric format"));
            }
            scale -= exp;
            i = b.len();
        }
        if i != b.len() {
            return Err(bad(input));
        }
        if scale < 0 {
            digits.extend(std::iter::repeat_n(0, (-scale) as usize));
            scale = 0;
        }
        Ok(Numeric::finite(neg, digits, scale as u32))
    }

    /// The magnitude rescaled to `scale` digits (which must be >= the current scale).
    fn mag_at(&self, scale: u32) -> Vec<u8> {
        let mut d = self.digits.clone();
        if !d.is_empty() {
            d.extend(std::iter::repeat_n(0, (scale - self.scale) as usize));
        }
        d
    }

    /// Rounds (half away from zero) or pads to `scale` digits after the point.
    pub fn round(&self, scale: i64) -> Numeric {
        if self.nan {
            return self.clone();
        }
        let target = scale.clamp(-(i64::from(u32::MAX) / 2), MAX_DISPLAY_SCALE as i64);
        if target >= self.scale as i64 {
            let t = target as u32;
            return Numeric::finite(self.neg, self.mag_at(t), t);
        }
        let drop = (self.scale as i64 - target) as usize;
        let mut d = self.digits.clone();
        let keep = d.len().saturating_sub(drop);
        let round_up = d.len() >= drop && d.get(keep).is_some_and(|&x| x >= 5);
        d.truncate(keep);
        if round_up {
            d = add_mag(&d, &[1]);
        }
        if target < 0 {
            d.extend(std::iter::repeat_n(0, (-target) as usize));
            return Numeric::finite(self.neg, d, 0);
        }
        Numeric::finite(self.neg, d, target as u32)
    }

    /// Truncates toward zero to `scale` digits after the point.
    pub fn trunc(&self, scale: i64) -> Numeric {
        if self.nan {
            return self.clone();
        }
        let target = scale.min(MAX_DISPLAY_SCALE as i64);
        if target >= self.scale as i64 {
            let t = target as u32;
            return Numeric::finite(self.neg, self.mag_at(t), t);
        }
        let drop = (self.scale as i64 - target) as usize;
        let mut d = self.digits.clone();
        d.truncate(d.len().saturating_sub(drop));
        if target < 0 {
            d.extend(std::iter::repeat_n(0, (-target) as usize));
            return Numeric::finite(self.neg, d, 0);
        }
        Numeric::finite(self.neg, d, target as u32)
    }

    /// Largest integer <= self.
    pub fn floor(&self) -> Numeric {
        let t = self.trunc(0);
        if self.neg && t.cmp_value(self) != Ordering::Equal {
            return t.sub(&Numeric::from_i64(1));
        }
        t
    }

    /// Smallest integer >= self.
    pub fn ceil(&self) -> Numeric {
        let t = self.trunc(0);
        if !self.neg && !self.nan && t.cmp_value(self) == Ordering::Less {
            return t.add(&Numeric::from_i64(1));
        }
        t
    }

    /// Applies a `numeric(p, s)` type modifier: rounds to `s` and checks the precision.
    pub fn apply_typmod(&self, precision: u32, scale: u32) -> Result<Numeric> {
        if self.nan {
            return Ok(self.clone());
        }
        let r = self.round(scale as i64);
        let int_digits = r.digits.len() as i64 - r.scale as i64;
        if int_digits > (precision as i64 - scale as i64) {
            let limit = precision as i64 - scale as i64;
            return Err(Error::new(ErrorKind::NumericOutOfRange, "numeric field overflow").with_detail(
                if limit > 0 {
                    format!(
                        "A field with precision {precision}, scale {scale} must round to an absolute value less than 10^{limit}."
                    )
                } else {
                    format!(
                        "A field with precision {precision}, scale {scale} must round to an absolute value less than 1."
                    )
                },
            ));
        }
        Ok(r)
    }

    /// Negation.
    pub fn neg(&self) -> Numeric {
        let mut n = self.clone();
        if !n.nan && !n.digits.is_empty() {
            n.neg = !n.neg;
        }
        n
    }

    /// Absolute value.
    pub fn abs(&self) -> Numeric {
        let mut n = self.clone();
        n.neg = false;
        n
    }

    /// `self + other`.
    pub fn add(&self, other: &Numeric) -> Numeric {
        if self.nan || other.nan {
            return Numeric::nan();
        }
        let scale = self.scale.max(other.scale);
        let (a, b) = (self.mag_at(scale), other.mag_at(scale));
        if self.neg == other.neg {
            return Numeric::finite(self.neg, add_mag(&a, &b), scale);
        }
        match cmp_mag(&a, &b) {
            Ordering::Less => Numeric::finite(other.neg, sub_mag(&b, &a), scale),
            _ => Numeric::finite(self.neg, sub_mag(&a, &b), scale),
        }
    }

    /// `self - other`.
    pub fn sub(&self, other: &Numeric) -> Numeric {
        self.add(&other.neg())
    }

    /// `self * other`.
    pub fn mul(&self, other: &Numeric) -> Numeric {
        if self.nan || other.nan {
            return Numeric::nan();
        }
        let n = Numeric::finite(
            self.neg != other.neg,
            mul_mag(&self.digits, &other.digits),
            self.scale + other.scale,
        );
        if n.scale > MAX_DISPLAY_SCALE {
            n.round(MAX_DISPLAY_SCALE as i64)
        } else {
            n
        }
    }

    /// Power of 10 of the most significant digit (`123.4` -> 2, `0.05` -> -2); `None` for zero.
    fn exponent(&self) -> Option<i64> {
        if self.digits.is_empty() {
            None
        } else {
            Some(self.digits.len() as i64 - 1 - self.scale as i64)
        }
    }

    /// Base-10000 weight and first base-10000 digit (PostgreSQL's normalized representation).
    fn nbase_head(&self) -> (i64, u32) {
        let Some(e) = self.exponent() else { return (0, 0) };
        let weight = e.div_euclid(4);
        let mut first = 0u32;
        for p in (weight * 4..weight * 4 + 4).rev() {
            first = first * 10 + self.digit_at(p) as u32;
        }
        (weight, first)
    }

    /// The decimal digit at power of ten `p`.
    fn digit_at(&self, p: i64) -> u8 {
        let idx = self.digits.len() as i64 - 1 - self.scale as i64 - p;
        if idx < 0 || idx >= self.digits.len() as i64 {
            0
        } else {
            self.digits[idx as usize]
        }
    }

    /// PostgreSQL's `select_div_scale`.
    fn div_scale(&self, other: &Numeric) -> u32 {
        let (w1, f1) = self.nbase_head();
        let (w2, f2) = other.nbase_head();
        let mut qweight = w1 - w2;
        if f1 <= f2 {
            qweight -= 1;
        }
        let rscale = (MIN_SIG_DIGITS - qweight * 4)
            .max(self.scale as i64)
            .max(other.scale as i64)
            .clamp(0, MAX_DISPLAY_SCALE as i64);
        rscale as u32
    }

    /// `self / other` with PostgreSQL's result scale; 22012 on division by zero.
    pub fn div(&self, other: &Numeric) -> Result<Numeric> {
        let scale = self.div_scale(other);
        self.div_to_scale(other, scale)
    }

    /// `self / other` rounded to `scale` digits.
    pub fn div_to_scale(&self, other: &Numeric, scale: u32) -> Result<Numeric> {
        if self.nan || other.nan {
            return Ok(Numeric::nan());
        }
        if other.is_zero() {
            return Err(Error::new(ErrorKind::DivisionByZero, "division by zero"));
        }
        // q = a / b with `scale + 1` digits: (a * 10^(scale+1+sb-sa)) div b, all as integers.
        let shift = scale as i64 + 1 + other.scale as i64 - self.scale as i64;
        let (a, b) = if shift >= 0 {
            (mul_mag(&self.digits, &pow10(shift as u32)), other.digits.clone())
        } else {
            (self.digits.clone(), mul_mag(&other.digits, &pow10((-shift) as u32)))
        };
        let (q, _) = divmod_mag(&a, &b);
        let q = Numeric::finite(self.neg != other.neg, q, scale + 1);
        Ok(q.round(scale as i64))
    }

    /// Integer division truncating toward zero (`div(a, b)`).
    pub fn div_trunc(&self, other: &Numeric) -> Result<Numeric> {
        if self.nan || other.nan {
            return Ok(Numeric::nan());
        }
        if other.is_zero() {
            return Err(Error::new(ErrorKind::DivisionByZero, "division by zero"));
        }
        let scale = self.scale.max(other.scale);
        let (q, _) = divmod_mag(&self.mag_at(scale), &other.mag_at(scale));
        Ok(Numeric::finite(self.neg != other.neg, q, 0))
    }

    /// `self % other`: sign of the dividend, scale `max(sa, sb)`.
    pub fn rem(&self, other: &Numeric) -> Result<Numeric> {
        if self.nan || other.nan {
            return Ok(Numeric::nan());
        }
        if other.is_zero() {
            return Err(Error::new(ErrorKind::DivisionByZero, "division by zero"));
        }
        let scale = self.scale.max(other.scale);
        let (a, b) = (self.mag_at(scale), other.mag_at(scale));
        let (_, r) = divmod_mag(&a, &b);
        Ok(Numeric::finite(self.neg, r, scale))
    }

    /// Compares values (scale does not matter: `1.0 = 1.00`); NaN is greatest.
    pub fn cmp_value(&self, other: &Numeric) -> Ordering {
        match (self.nan, other.nan) {
            (true, true) => return Ordering::Equal,
            (true, false) => return Ordering::Greater,
            (false, true) => return Ordering::Less,
            _ => {}
        }
        let d = self.sub(other);
        if d.digits.is_empty() {
            Ordering::Equal
        } else if d.neg {
            Ordering::Less
        } else {
            Ordering::Greater
        }
    }

    /// Sign: -1, 0 or 1.
    pub fn signum(&self) -> i32 {
        if self.digits.is_empty() {
            0
        } else if self.neg {
            -1
        } else {
            1
        }
    }

    /// To a float (nearest).
    pub fn to_f64(&self) -> f64 {
        if self.nan {
            return f64::NAN;
        }
        self.to_string().parse().unwrap_or(f64::NAN)
    }

    /// To an integer, rounding half away from zero; `None` when out of range.
    pub fn to_i64(&self) -> Option<i64> {
        if self.nan {
            return None;
        }
        let r = self.round(0);
        if r.digits.len() > 19 {
            return None;
        }
        let mut v: i128 = 0;
        for &d in &r.digits {
            v = v * 10 + d as i128;
        }
        if r.neg {
            v = -v;
        }
        i64::try_from(v).ok()
    }

    /// The significant digits without trailing zeros and the exponent of the first one (for
    /// order-preserving keys, where `1.0` and `1.00` must be the same key).
    pub fn normalized(&self) -> Option<(i64, Vec<u8>)> {
        let e = self.exponent()?;
        let mut d = self.digits.clone();
        while d.last() == Some(&0) {
            d.pop();
        }
        Some((e, d))
    }

    /// PostgreSQL's binary format: ndigits, weight, sign, dscale (i16/i16/u16/u16), then base-10000
    /// digits as i16.
    pub fn to_binary(&self) -> Vec<u8> {
        let mut out = Vec::new();
        if self.nan {
            for v in [0u16, 0, 0xC000, 0] {
                out.extend_from_slice(&v.to_be_bytes());
            }
            return out;
        }
        let mut groups: Vec<u16> = Vec::new();
        let mut weight: i16 = 0;
        if let Some(e) = self.exponent() {
            let top = e.div_euclid(4);
            let low = (-(self.scale as i64)).div_euclid(4);
            weight = top as i16;
            let mut w = top;
            while w >= low {
                let mut g = 0u16;
                for p in (w * 4..w * 4 + 4).rev() {
                    g = g * 10 + self.digit_at(p) as u16;
                }
                groups.push(g);
                w -= 1;
            }
            while groups.last() == Some(&0) {
                groups.pop();
            }
        }
        let sign: u16 = if self.neg { 0x4000 } else { 0 };
        for v in [groups.len() as u16, weight as u16, sign, self.scale as u16] {
            out.extend_from_slice(&v.to_be_bytes());
        }
        for g in groups {
            out.extend_from_slice(&g.to_be_bytes());
        }
        out
    }

    /// Parses the binary format.
    pub fn from_binary(b: &[u8]) -> Option<Numeric> {
        let u = |i: usize| -> Option<u16> { Some(u16::from_be_bytes([*b.get(i)?, *b.get(i + 1)?])) };
        let ndigits = u(0)? as usize;
        let weight = u(2)? as i16 as i64;
        let sign = u(4)?;
        let dscale = u(6)? as u32;
        if sign == 0xC000 {
            return Some(Numeric::nan());
        }
        if b.len() != 8 + 2 * ndigits {
            return None;
        }
        let mut digits = Vec::new();
        for k in 0..ndigits {
            let g = u(8 + 2 * k)?;
            if g > 9999 {
                return None;
            }
            digits.extend_from_slice(&[
                (g / 1000) as u8,
                (g / 100 % 10) as u8,
                (g / 10 % 10) as u8,
                (g % 10) as u8,
            ]);
        }
        // digits represent groups weight..weight-ndigits+1: value = int(digits) * 10^(4*(weight-ndigits+1))
        let exp10 = 4 * (weight - ndigits as i64 + 1);
        let n = if exp10 >= 0 {
            digits.extend(std::iter::repeat_n(0, exp10 as usize));
            Numeric::finite(sign == 0x4000, digits, 0)
        } else {
            Numeric::finite(sign == 0x4000, digits, (-exp10) as u32)
        };
        Some(n.round(dscale as i64))
    }
}

impl std::fmt::Display for Numeric {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.nan {
            return write!(f, "NaN");
        }
        let mut s = String::new();
        if self.neg {
            s.push('-');
        }
        let scale = self.scale as usize;
        let digits: String = self.digits.iter().map(|d| (b'0' + d) as char).collect();
        let digits = if digits.len() <= scale {
            format!("{}{}", "0".repeat(scale + 1 - digits.len()), digits)
        } else {
            digits
        };
        let (int, frac) = digits.split_at(digits.len() - scale);
        s.push_str(int);
        if scale > 0 {
            s.push('.');
            s.push_str(frac);
        }
        write!(f, "{s}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Numeric {
        Numeric::parse(s).unwrap()
    }

    #[test]
    fn parse_and_print_keep_scale() {
        for s in ["0", "1.50", "-0.001", "123456789012345678901234567890.123", "0.0"] {
            assert_eq!(n(s).to_string(), s);
        }
        assert_eq!(n("1e3").to_string(), "1000");
        assert_eq!(n("1.5e-3").to_string(), "0.0015");
        assert_eq!(n("-0").to_string(), "0");
        assert!(Numeric::parse("x").is_err());
        assert!(Numeric::parse("1.2.3").is_err());
    }

    #[test]
    fn arithmetic_uses_postgres_scales() {
        assert_eq!(n("1.5").add(&n("2.25")).to_string(), "3.75");
        assert_eq!(n("1.5").sub(&n("2.25")).to_string(), "-0.75");
        assert_eq!(n("1.5").mul(&n("2.25")).to_string(), "3.375");
        assert_eq!(n("1").div(&n("3")).unwrap().to_string(), "0.33333333333333333333");
        assert_eq!(n("1").div(&n("1")).unwrap().to_string(), "1.00000000000000000000");
        assert_eq!(n("10").div(&n("4")).unwrap().to_string(), "2.5000000000000000");
        assert_eq!(n("-7").rem(&n("3")).unwrap().to_string(), "-1");
        assert_eq!(n("2.5").round(0).to_string(), "3");
        assert_eq!(n("-2.5").round(0).to_string(), "-3");
        assert_eq!(n("1234.5678").round(-2).to_string(), "1200");
        assert_eq!(n("-2.5").floor().to_string(), "-3");
        assert_eq!(n("2.1").ceil().to_string(), "3");
        assert!(n("1").div(&n("0")).is_err());
        assert_eq!(n("1.0").cmp_value(&n("1.00")), Ordering::Equal);
    }

    #[test]
    fn binary_round_trips() {
        for s in ["0", "1.50", "-12345.6789", "10000", "0.00001", "NaN", "123456789.000000001"] {
            let v = n(s);
            assert_eq!(Numeric::from_binary(&v.to_binary()).unwrap().to_string(), v.to_string(), "{s}");
        }
    }
}
