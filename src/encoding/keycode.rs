//! Order-preserving encoding of key components.
//!
//! Keys in ssidb are byte strings compared lexicographically by the storage engine. A key is a
//! sequence of typed components; each is written so that `encode(a) < encode(b)` exactly when
//! `a < b` in the component's own order, and so that a component never is a prefix of a different
//! component (prefix-freedom makes concatenation order-preserving as well).
//!
//! | component | encoding |
//! |-----------|----------|
//! | tag       | 1 byte, as given |
//! | `u64`     | 8 bytes big-endian |
//! | `i64`     | 8 bytes big-endian with the sign bit flipped |
//! | `f64`     | 8 bytes big-endian; positive: sign bit set; negative: all bits inverted; `-0.0` is written as `0.0`, every NaN as the canonical NaN (which sorts above +Infinity, as in PostgreSQL) |
//! | bytes     | each `0x00` written as `0x00 0xFF`, then the terminator `0x00 0x00` |
//! | null      | see [`NULL_TAG`]: nullable values are prefixed by [`VALUE_TAG`] or [`NULL_TAG`], so NULL sorts after every value (PostgreSQL's default `NULLS LAST` for ascending order) |
//!
//! A descending component is the ascending encoding with every byte inverted ([`invert`]); because
//! the ascending encodings are prefix-free, the inverted ones are too.
//!
//! Decoding mirrors encoding with a [`Reader`] and rejects malformed input with an error: keys come
//! from disk and are not trusted.

use crate::error::{Error, ErrorKind, Result};

/// Tag written before a non-NULL nullable value.
pub const VALUE_TAG: u8 = 0x01;
/// Tag written for a NULL value; greater than [`VALUE_TAG`] so NULLs sort last.
pub const NULL_TAG: u8 = 0x02;

/// Appends a tag byte.
pub fn put_tag(out: &mut Vec<u8>, tag: u8) {
    out.push(tag);
}

/// Appends an unsigned 64-bit integer.
pub fn put_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_be_bytes());
}

/// Appends a signed 64-bit integer.
pub fn put_i64(out: &mut Vec<u8>, v: i64) {
    put_u64(out, (v as u64) ^ (1 << 63));
}

/// Appends a 64-bit float in PostgreSQL's total order (NaN largest, -0 = 0).
pub fn put_f64(out: &mut Vec<u8>, v: f64) {
    let v = if v == 0.0 {
        0.0
    } else if v.is_nan() {
        f64::NAN
    } else {
        v
    };
    let bits = v.to_bits();
    let bits = if bits >> 63 == 0 { bits | (1 << 63) } else { !bits };
    put_u64(out, bits);
}

/// Appends a byte string (also used for UTF-8 text).
pub fn put_bytes(out: &mut Vec<u8>, v: &[u8]) {
    for &b in v {
        out.push(b);
        if b == 0 {
            out.push(0xff);
        }
    }
    out.extend_from_slice(&[0, 0]);
}

/// Inverts the bytes of `out[from..]`, turning an ascending encoding into a descending one.
pub fn invert(out: &mut [u8], from: usize) {
    for b in &mut out[from..] {
        *b = !*b;
    }
}

/// Returns the smallest key greater than every key that starts with `prefix`, or `None` when no
/// such key exists (the prefix is all `0xFF`).
pub fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last != 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// Reads components back from an encoded key.
pub struct Reader<'a> {
    buf: &'a [u8],
}

fn corrupt(what: &str) -> Error {
    Error::new(ErrorKind::Corrupt, format!("malformed key: {what}"))
}

impl<'a> Reader<'a> {
    /// A reader over `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }

    /// The bytes not read yet.
    pub fn rest(&self) -> &'a [u8] {
        self.buf
    }

    /// Whether everything has been read.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Reads a tag byte.
    pub fn tag(&mut self) -> Result<u8> {
        let (&t, rest) = self.buf.split_first().ok_or_else(|| corrupt("missing tag"))?;
        self.buf = rest;
        Ok(t)
    }

    /// Reads an unsigned 64-bit integer.
    pub fn u64(&mut self) -> Result<u64> {
        if self.buf.len() < 8 {
            return Err(corrupt("short integer"));
        }
        let (head, rest) = self.buf.split_at(8);
        self.buf = rest;
        let mut b = [0u8; 8];
        b.copy_from_slice(head);
        Ok(u64::from_be_bytes(b))
    }

    /// Reads a signed 64-bit integer.
    pub fn i64(&mut self) -> Result<i64> {
        Ok((self.u64()? ^ (1 << 63)) as i64)
    }

    /// Reads a 64-bit float.
    pub fn f64(&mut self) -> Result<f64> {
        let bits = self.u64()?;
        let bits = if bits >> 63 == 1 { bits & !(1 << 63) } else { !bits };
        Ok(f64::from_bits(bits))
    }

    /// Reads a byte string.
    pub fn bytes(&mut self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        let mut i = 0;
        loop {
            match (self.buf.get(i), self.buf.get(i + 1)) {
                (Some(0), Some(0)) => {
                    self.buf = &self.buf[i + 2..];
                    return Ok(out);
                }
                (Some(0), Some(0xff)) => {
                    out.push(0);
                    i += 2;
                }
                (Some(0), _) => return Err(corrupt("bad escape in byte string")),
                (Some(&b), _) => {
                    out.push(b);
                    i += 1;
                }
                (None, _) => return Err(corrupt("unterminated byte string")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc_i(v: i64) -> Vec<u8> {
        let mut o = vec![];
        put_i64(&mut o, v);
        o
    }
    fn enc_f(v: f64) -> Vec<u8> {
        let mut o = vec![];
        put_f64(&mut o, v);
        o
    }
    fn enc_b(v: &[u8]) -> Vec<u8> {
        let mut o = vec![];
        put_bytes(&mut o, v);
        o
    }

    #[test]
    fn integers_keep_order_and_round_trip() {
        let vals = [i64::MIN, -1000, -1, 0, 1, 42, i64::MAX];
        for w in vals.windows(2) {
            assert!(enc_i(w[0]) < enc_i(w[1]), "{} < {}", w[0], w[1]);
        }
        for v in vals {
            assert_eq!(Reader::new(&enc_i(v)).i64().unwrap(), v);
        }
    }

    #[test]
    fn floats_keep_postgres_order() {
        let vals = [f64::NEG_INFINITY, -1e300, -1.5, -0.0, 1e-300, 2.5, f64::INFINITY, f64::NAN];
        for w in vals.windows(2) {
            assert!(enc_f(w[0]) <= enc_f(w[1]), "{} <= {}", w[0], w[1]);
        }
        assert_eq!(enc_f(-0.0), enc_f(0.0));
        assert_eq!(Reader::new(&enc_f(-1.5)).f64().unwrap(), -1.5);
    }

    #[test]
    fn bytes_are_prefix_free_and_ordered() {
        let vals: [&[u8]; 6] = [b"", b"\x00", b"\x00\x00", b"a", b"a\x00b", b"ab"];
        for w in vals.windows(2) {
            assert!(enc_b(w[0]) < enc_b(w[1]), "{:?} < {:?}", w[0], w[1]);
        }
        for v in vals {
            let e = enc_b(v);
            let mut r = Reader::new(&e);
            assert_eq!(r.bytes().unwrap(), v);
            assert!(r.is_empty());
        }
        assert!(Reader::new(b"ab\x00").bytes().is_err());
        assert!(Reader::new(b"ab").bytes().is_err());
    }

    #[test]
    fn inverted_encoding_reverses_order() {
        let mut a = enc_b(b"a");
        let mut b = enc_b(b"ab");
        invert(&mut a, 0);
        invert(&mut b, 0);
        assert!(a > b);
    }

    #[test]
    fn prefix_end_bounds_every_extension() {
        assert_eq!(prefix_end(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(prefix_end(b"a\xff"), Some(b"b".to_vec()));
        assert_eq!(prefix_end(b"\xff\xff"), None);
    }
}
