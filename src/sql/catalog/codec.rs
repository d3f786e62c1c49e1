//! Byte writer and reader for catalog objects and rows: little-endian fixed-width integers and
//! u32-length-prefixed byte strings. Input comes from storage and is untrusted: every read is
//! bounds-checked and fails with `Corrupt`.

use crate::error::{Error, ErrorKind, Result};
use crate::sql::types::DataType;

/// Appends primitive fields.
#[derive(Default)]
pub struct Writer {
    /// The bytes written so far.
    pub buf: Vec<u8>,
}

impl Writer {
    /// One byte.
    pub fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }
    /// A bool as one byte.
    pub fn bool(&mut self, v: bool) {
        self.buf.push(v as u8);
    }
    /// u32 little-endian.
    pub fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    /// u64 little-endian.
    pub fn u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    /// i64 little-endian.
    pub fn i64(&mut self, v: i64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    /// Length-prefixed bytes.
    pub fn bytes(&mut self, v: &[u8]) {
        self.u32(v.len() as u32);
        self.buf.extend_from_slice(v);
    }
    /// Length-prefixed UTF-8.
    pub fn str(&mut self, v: &str) {
        self.bytes(v.as_bytes());
    }
    /// An optional string (flag byte then the string).
    pub fn opt_str(&mut self, v: &Option<String>) {
        match v {
            None => self.u8(0),
            Some(s) => {
                self.u8(1);
                self.str(s);
            }
        }
    }
    /// A list of u32.
    pub fn u32s(&mut self, v: &[usize]) {
        self.u32(v.len() as u32);
        for x in v {
            self.u32(*x as u32);
        }
    }
    /// A data type as OID and typmod.
    pub fn data_type(&mut self, t: &DataType) {
        self.u32(t.oid());
        self.u32(t.typmod() as u32);
    }
}

/// Reads what a [`Writer`] wrote.
pub struct Reader<'a> {
    buf: &'a [u8],
}

fn corrupt() -> Error {
    Error::new(ErrorKind::Corrupt, "malformed catalog or row record")
}

impl<'a> Reader<'a> {
    /// A reader over `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }
    /// Takes `n` bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.buf.len() < n {
            return Err(corrupt());
        }
        let (h, t) = self.buf.split_at(n);
        self.buf = t;
        Ok(h)
    }
    /// One byte.
    pub fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    /// A bool.
    pub fn bool(&mut self) -> Result<bool> {
        Ok(self.u8()? != 0)
    }
    /// u32.
    pub fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().map_err(|_| corrupt())?))
    }
    /// u64.
    pub fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().map_err(|_| corrupt())?))
    }
    /// i64.
    pub fn i64(&mut self) -> Result<i64> {
        Ok(self.u64()? as i64)
    }
    /// Length-prefixed bytes.
    pub fn bytes(&mut self) -> Result<&'a [u8]> {
        let n = self.u32()? as usize;
        self.take(n)
    }
    /// Length-prefixed UTF-8.
    pub fn str(&mut self) -> Result<String> {
        String::from_utf8(self.bytes()?.to_vec()).map_err(|_| corrupt())
    }
    /// Optional string.
    pub fn opt_str(&mut self) -> Result<Option<String>> {
        Ok(if self.u8()? == 0 { None } else { Some(self.str()?) })
    }
    /// List of u32 as usize.
    pub fn u32s(&mut self) -> Result<Vec<usize>> {
        let n = self.u32()? as usize;
        if n > self.buf.len() {
            return Err(corrupt());
        }
        (0..n).map(|_| self.u32().map(|v| v as usize)).collect()
    }
    /// A data type.
    pub fn data_type(&mut self) -> Result<DataType> {
        let oid = self.u32()?;
        let typmod = self.u32()? as i32;
        let base = DataType::from_oid(oid).ok_or_else(corrupt)?;
        Ok(with_typmod(base, typmod))
    }
    /// Whether everything was read.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
}

fn with_typmod(t: DataType, typmod: i32) -> DataType {
    if typmod < 0 {
        return t;
    }
    match t {
        DataType::Varchar(_) => DataType::Varchar(Some((typmod - 4) as u32)),
        DataType::Char(_) => DataType::Char(Some((typmod - 4) as u32)),
        DataType::Numeric(_) => {
            let m = typmod - 4;
            DataType::Numeric(Some(((m >> 16) as u32, (m & 0xffff) as u32)))
        }
        DataType::Array(e) => DataType::Array(Box::new(with_typmod(*e, typmod))),
        t => t,
    }
}
