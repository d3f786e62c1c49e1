//! Arrays: text form `{1,2,NULL,"a b"}` and PostgreSQL's binary array format.
//!
//! An array value is [`Value::Array`] holding its elements; a multi-dimensional array holds one
//! nested `Value::Array` per sub-array (all of the same length). Lower bounds are always 1.
//!
//! Binary format (all integers big-endian):
//!
//! | offset | size | field |
//! |--------|------|-------|
//! | 0 | 4 | number of dimensions (0 for an empty array) |
//! | 4 | 4 | has-nulls flag |
//! | 8 | 4 | element type OID |
//! | 12 | 8 per dimension | length, lower bound |
//! | ... | 4 + n per element | element length (-1 = NULL), element bytes |

use super::{DataType, FormatContext, Value};
use crate::error::{Error, ErrorKind, Result};

fn needs_quotes(s: &str) -> bool {
    s.is_empty()
        || s.eq_ignore_ascii_case("null")
        || s.chars().any(|c| matches!(c, '{' | '}' | ',' | '"' | '\\') || c.is_ascii_whitespace())
}

/// PostgreSQL's text output of an array.
pub fn format_array(items: &[Value], fmt: &FormatContext) -> String {
    let mut out = String::from("{");
    for (i, v) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        match v {
            Value::Array(inner) => out.push_str(&format_array(inner, fmt)),
            _ => match v.to_text(fmt) {
                None => out.push_str("NULL"),
                Some(s) if needs_quotes(&s) => {
                    out.push('"');
                    for c in s.chars() {
                        if c == '"' || c == '\\' {
                            out.push('\\');
                        }
                        out.push(c);
                    }
                    out.push('"');
                }
                Some(s) => out.push_str(&s),
            },
        }
    }
    out.push('}');
    out
}

fn malformed(s: &str) -> Error {
    Error::new(ErrorKind::InvalidTextRepresentation, format!("malformed array literal: \"{s}\""))
}

struct Parser<'a> {
    src: &'a str,
    chars: Vec<char>,
    pos: usize,
}

impl Parser<'_> {
    fn skip_ws(&mut self) {
        while self.pos < self.chars.len() && self.chars[self.pos].is_whitespace() {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    /// Parses `{...}` at the current position; `depth` bounds nesting (PostgreSQL allows 6).
    fn array(&mut self, elem: &DataType, fmt: &FormatContext, depth: usize) -> Result<Vec<Value>> {
        if depth > 6 {
            return Err(Error::new(
                ErrorKind::ProgramLimitExceeded,
                "number of array dimensions (7) exceeds the maximum allowed (6)",
            ));
        }
        self.skip_ws();
        if self.peek() != Some('{') {
            return Err(malformed(self.src));
        }
        self.pos += 1;
        let mut items = Vec::new();
        self.skip_ws();
        if self.peek() == Some('}') {
            self.pos += 1;
            return Ok(items);
        }
        loop {
            self.skip_ws();
            match self.peek() {
                Some('{') => items.push(Value::Array(self.array(elem, fmt, depth + 1)?)),
                Some('"') => {
                    self.pos += 1;
                    let mut s = String::new();
                    loop {
                        match self.peek() {
                            None => return Err(malformed(self.src)),
                            Some('"') => {
                                self.pos += 1;
                                break;
                            }
                            Some('\\') => {
                                self.pos += 1;
                                let c = self.peek().ok_or_else(|| malformed(self.src))?;
                                s.push(c);
                                self.pos += 1;
                            }
                            Some(c) => {
                                s.push(c);
                                self.pos += 1;
                            }
                        }
                    }
                    items.push(Value::from_text(&s, elem, fmt)?);
                }
                Some(_) => {
                    let mut s = String::new();
                    while let Some(c) = self.peek() {
                        if c == ',' || c == '}' {
                            break;
                        }
                        if c == '{' || c == '"' {
                            return Err(malformed(self.src));
                        }
                        if c == '\\' {
                            self.pos += 1;
                            if let Some(n) = self.peek() {
                                s.push(n);
                            }
                        } else {
                            s.push(c);
                        }
                        self.pos += 1;
                    }
                    let t = s.trim_end();
                    if t.is_empty() {
                        return Err(malformed(self.src));
                    }
                    if t.eq_ignore_ascii_case("null") {
                        items.push(Value::Null);
                    } else {
                        items.push(Value::from_text(t, elem, fmt)?);
                    }
                }
                None => return Err(malformed(self.src)),
            }
            self.skip_ws();
            match self.peek() {
                Some(',') => self.pos += 1,
                Some('}') => {
                    self.pos += 1;
                    break;
                }
                _ => return Err(malformed(self.src)),
            }
        }
        let nested = items.iter().filter(|v| matches!(v, Value::Array(_))).count();
        if nested != 0 && nested != items.len() {
            return Err(malformed(self.src));
        }
        Ok(items)
    }
}

/// Parses an array's text form with elements of type `elem`.
pub fn parse_array(s: &str, elem: &DataType, fmt: &FormatContext) -> Result<Value> {
    let mut p = Parser { src: s, chars: s.chars().collect(), pos: 0 };
    let items = p.array(elem, fmt, 1)?;
    p.skip_ws();
    if p.pos != p.chars.len() {
        return Err(malformed(s));
    }
    Ok(Value::Array(items))
}

fn dims(items: &[Value]) -> Vec<i32> {
    let mut d = vec![items.len() as i32];
    if let Some(Value::Array(inner)) = items.first() {
        d.extend(dims(inner));
    }
    d
}

fn flatten<'a>(items: &'a [Value], out: &mut Vec<&'a Value>) {
    for v in items {
        match v {
            Value::Array(inner) => flatten(inner, out),
            _ => out.push(v),
        }
    }
}

/// Binary output of an array whose elements have type `elem`.
pub fn array_to_binary(items: &[Value], elem: &DataType) -> Result<Vec<u8>> {
    let mut flat = Vec::new();
    flatten(items, &mut flat);
    let d = if items.is_empty() { vec![] } else { dims(items) };
    let mut out = Vec::new();
    out.extend_from_slice(&(d.len() as i32).to_be_bytes());
    out.extend_from_slice(&(flat.iter().any(|v| v.is_null()) as i32).to_be_bytes());
    out.extend_from_slice(&(elem.oid() as i32).to_be_bytes());
    for n in &d {
        out.extend_from_slice(&n.to_be_bytes());
        out.extend_from_slice(&1i32.to_be_bytes());
    }
    for v in flat {
        match v.to_binary(elem)? {
            None => out.extend_from_slice(&(-1i32).to_be_bytes()),
            Some(b) => {
                out.extend_from_slice(&(b.len() as i32).to_be_bytes());
                out.extend_from_slice(&b);
            }
        }
    }
    Ok(out)
}

/// Binary input of an array of `elem`.
pub fn array_from_binary(b: &[u8], elem: &DataType) -> Result<Value> {
    let bad = || Error::new(ErrorKind::ProtocolViolation, "incorrect binary data format in bind parameter");
    let mut pos = 0usize;
    let i32_at = |b: &[u8], pos: &mut usize| -> Result<i32> {
        let s = b.get(*pos..*pos + 4).ok_or_else(bad)?;
        *pos += 4;
        Ok(i32::from_be_bytes([s[0], s[1], s[2], s[3]]))
    };
    let ndim = i32_at(b, &mut pos)?;
    let _has_null = i32_at(b, &mut pos)?;
    let _oid = i32_at(b, &mut pos)?;
    if !(0..=6).contains(&ndim) {
        return Err(bad());
    }
    let mut d = Vec::new();
    for _ in 0..ndim {
        let n = i32_at(b, &mut pos)?;
        let _lb = i32_at(b, &mut pos)?;
        if n < 0 {
            return Err(bad());
        }
        d.push(n as usize);
    }
    let total: usize =
        if d.is_empty() { 0 } else { d.iter().try_fold(1usize, |a, &n| a.checked_mul(n)).ok_or_else(bad)? };
    if total > b.len() {
        return Err(bad());
    }
    let mut flat = Vec::with_capacity(total);
    for _ in 0..total {
        let len = i32_at(b, &mut pos)?;
        if len < 0 {
            flat.push(Value::Null);
        } else {
            let s = b.get(pos..pos + len as usize).ok_or_else(bad)?;
            pos += len as usize;
            flat.push(Value::from_binary(s, elem)?);
        }
    }
    fn build(flat: &mut std::vec::IntoIter<Value>, d: &[usize]) -> Vec<Value> {
        match d {
            [] => vec![],
            [n] => flat.take(*n).collect(),
            [n, rest @ ..] => (0..*n).map(|_| Value::Array(build(flat, rest))).collect(),
        }
    }
    Ok(Value::Array(build(&mut flat.into_iter(), &d)))
}
