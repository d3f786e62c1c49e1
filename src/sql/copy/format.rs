//! COPY's text and CSV formats: cutting a byte stream into records and fields, and writing
//! rows back out.
//!
//! Text format (PostgreSQL's default):
//!
//! ```text
//!   1<TAB>alice<TAB>\N\n          one record per line; `\N` is NULL
//!   2<TAB>tab\there\n             backslash escapes: \t \n \r \b \f \v \\ \<delim> \ooo \xhh
//!   \.\n                          optional end-of-data marker
//! ```
//!
//! CSV: fields separated by the delimiter; a field in quotes may hold delimiters, quotes (as
//! two quotes) and newlines; an unquoted empty field is NULL, a quoted one the empty string;
//! HEADER skips the first record.
//!
//! Line numbers in errors count physical lines from 1, including the header, as PostgreSQL's
//! CONTEXT does (`COPY t, line 3, column id: "x"`).

use super::CopyOptions;
use crate::error::{Error, ErrorKind, Result};
use crate::sql::types::{cast, DataType, FormatContext, Value};

/// Incremental COPY FROM input: bytes in, rows out.
pub struct CopyIn {
    /// Table name, for CONTEXT lines.
    pub table: String,
    columns: Vec<(String, DataType)>,
    not_null: Vec<bool>,
    options: CopyOptions,
    fmt: FormatContext,
    buf: Vec<u8>,
    /// Physical lines consumed so far.
    line: u64,
    /// Rows produced so far.
    pub rows: u64,
    /// The `\.` marker was seen: the rest is ignored.
    done: bool,
    header_pending: bool,
}

fn format_error(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::BadCopyFileFormat, message)
}

impl CopyIn {
    /// Input for `columns` (name, type, in input order) of `table`.
    pub fn new(
        table: &str,
        columns: Vec<(String, DataType)>,
        options: CopyOptions,
        fmt: FormatContext,
    ) -> Self {
        let not_null = columns.iter().map(|(n, _)| options.force_not_null.contains(n)).collect();
        let header_pending = options.header;
        CopyIn {
            table: table.to_string(),
            columns,
            not_null,
            options,
            fmt,
            buf: Vec::new(),
            line: 0,
            rows: 0,
            done: false,
            header_pending,
        }
    }

    /// Consumes a chunk of CopyData, appending every complete row to `out`.
    pub fn feed(&mut self, data: &[u8], out: &mut Vec<Vec<Value>>) -> Result<()> {
        if self.done {
            return Ok(());
        }
        self.buf.extend_from_slice(data);
        let mut start = 0;
        while let Some((end, next, lines)) = self.record_end(start) {
            let record = self.buf[start..end].to_vec();
            start = next;
            self.record(&record, lines, out)?;
            if self.done {
                break;
            }
        }
        self.buf.drain(..start);
        Ok(())
    }

    /// End of input (CopyDone): a last record without a newline.
    pub fn finish(&mut self, out: &mut Vec<Vec<Value>>) -> Result<()> {
        if self.done || self.buf.is_empty() {
            return Ok(());
        }
        let record = std::mem::take(&mut self.buf);
        if self.options.csv && quote_open(&record, &self.options) {
            self.line += 1;
            return Err(
                format_error("unterminated CSV quoted field").with_context(self.context(&record, None))
            );
        }
        self.record(&record, 1, out)
    }

    /// The end of the record starting at `start`: (end of its bytes without the newline,
    /// start of the next record, physical lines it spans); `None` when it is incomplete.
    fn record_end(&self, start: usize) -> Option<(usize, usize, u64)> {
        let b = &self.buf[start..];
        if !self.options.csv {
            let nl = b.iter().position(|&c| c == b'\n')?;
            return Some((start + nl, start + nl + 1, 1));
        }
        let (q, e) = (self.options.quote as u8, self.options.escape as u8);
        let mut in_quote = false;
        let mut lines = 1;
        let mut i = 0;
        while i < b.len() {
            let c = b[i];
            if in_quote {
                if c == e && e != q && i + 1 < b.len() && (b[i + 1] == q || b[i + 1] == e) {
                    i += 2;
                    continue;
                }
                if c == q {
                    in_quote = false;
                } else if c == b'\n' {
                    lines += 1;
                }
            } else if c == q {
                in_quote = true;
            } else if c == b'\n' {
                return Some((start + i, start + i + 1, lines));
            }
            i += 1;
        }
        None
    }

    fn context(&self, record: &[u8], column: Option<(&str, &str)>) -> String {
        match column {
            Some((name, value)) => {
                format!("COPY {}, line {}, column {name}: \"{value}\"", self.table, self.line)
            }
            None => {
                let text = String::from_utf8_lossy(record);
                format!("COPY {}, line {}: \"{}\"", self.table, self.line, text.trim_end_matches('\r'))
            }
        }
    }

    fn record(&mut self, raw: &[u8], lines: u64, out: &mut Vec<Vec<Value>>) -> Result<()> {
        let first_line = self.line + 1;
        self.line += lines;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let text = match std::str::from_utf8(raw) {
            Ok(t) => t,
            Err(_) => {
                self.line = first_line;
                return Err(Error::new(
                    ErrorKind::CharacterNotInRepertoire,
                    "invalid byte sequence for encoding \"UTF8\"",
                )
                .with_context(self.context(raw, None)));
            }
        };
        if text == "\\." {
            self.done = true;
            return Ok(());
        }
        if self.header_pending {
            self.header_pending = false;
            return Ok(());
        }
        let fields =
            if self.options.csv { csv_fields(text, &self.options) } else { text_fields(text, &self.options) };
        let fields = fields.map_err(|e| e.with_context(self.context(raw, None)))?;
        if fields.len() < self.columns.len() {
            let missing = &self.columns[fields.len()].0;
            return Err(format_error(format!("missing data for column \"{missing}\""))
                .with_context(self.context(raw, None)));
        }
        if fields.len() > self.columns.len() {
            return Err(
                format_error("extra data after last expected column").with_context(self.context(raw, None))
            );
        }
        let mut row = Vec::with_capacity(fields.len());
        for (i, f) in fields.into_iter().enumerate() {
            let (name, ty) = &self.columns[i];
            let v = match f {
                None if !self.not_null[i] => Value::Null,
                None => input(&self.options.null, ty, &self.fmt)
                    .map_err(|e| e.with_context(self.context(raw, Some((name, &self.options.null)))))?,
                Some(s) => input(&s, ty, &self.fmt)
                    .map_err(|e| e.with_context(self.context(raw, Some((name, &s)))))?,
            };
            row.push(v);
        }
        self.rows += 1;
        out.push(row);
        Ok(())
    }
}

/// A column type's input function, with its typmod applied (varchar(n), numeric(p,s)).
fn input(s: &str, ty: &DataType, fmt: &FormatContext) -> Result<Value> {
    let base = ty.without_typmod();
    let v = Value::from_text(s, &base, fmt)?;
    if base != *ty {
        cast::cast(v, &base, ty, fmt, false)
    } else {
        Ok(v)
    }
}

fn quote_open(record: &[u8], o: &CopyOptions) -> bool {
    let mut in_quote = false;
    for &c in record {
        if c == o.quote as u8 {
            in_quote = !in_quote;
        }
    }
    in_quote
}

/// Splits a text-format line into fields (`None` = NULL), undoing backslash escapes.
fn text_fields(line: &str, o: &CopyOptions) -> Result<Vec<Option<String>>> {
    let mut fields = Vec::new();
    let mut raw_start = 0;
    let mut value = String::new();
    let mut chars = line.char_indices().peekable();
    let finish = |raw: &str, value: &mut String, fields: &mut Vec<Option<String>>| {
        if raw == o.null {
            fields.push(None);
        } else {
            fields.push(Some(std::mem::take(value)));
        }
        value.clear();
    };
    while let Some((i, c)) = chars.next() {
        if c == '\\' {
            let Some((_, n)) = chars.next() else {
                value.push('\\');
                break;
            };
            match n {
                'b' => value.push('\u{8}'),
                'f' => value.push('\u{c}'),
                'n' => value.push('\n'),
                'r' => value.push('\r'),
                't' => value.push('\t'),
                'v' => value.push('\u{b}'),
                '0'..='7' => {
                    let mut v = n.to_digit(8).unwrap_or(0);
                    for _ in 0..2 {
                        match chars.peek() {
                            Some((_, d @ '0'..='7')) => {
                                v = v * 8 + d.to_digit(8).unwrap_or(0);
                                chars.next();
                            }
                            _ => break,
                        }
                    }
                    value.push(char::from_u32(v).unwrap_or('\u{fffd}'));
                }
                'x' if chars.peek().is_some_and(|(_, d)| d.is_ascii_hexdigit()) => {
                    let mut v = 0;
                    for _ in 0..2 {
                        match chars.peek() {
                            Some((_, d)) if d.is_ascii_hexdigit() => {
                                v = v * 16 + d.to_digit(16).unwrap_or(0);
                                chars.next();
                            }
                            _ => break,
                        }
                    }
                    value.push(char::from_u32(v).unwrap_or('\u{fffd}'));
                }
                other => value.push(other),
            }
        } else if c == o.delimiter {
            finish(&line[raw_start..i], &mut value, &mut fields);
            raw_start = i + c.len_utf8();
        } else {
            value.push(c);
        }
    }
    finish(&line[raw_start..], &mut value, &mut fields);
    Ok(fields)
}

/// Splits a CSV record into fields (`None` = NULL: an unquoted field equal to the NULL string).
fn csv_fields(record: &str, o: &CopyOptions) -> Result<Vec<Option<String>>> {
    let mut fields = Vec::new();
    let mut chars = record.chars().peekable();
    loop {
        let mut value = String::new();
        let mut quoted = false;
        let mut unquoted_part = String::new();
        loop {
            match chars.peek().copied() {
                None => break,
                Some(c) if c == o.delimiter => break,
                Some(c) if c == o.quote => {
                    chars.next();
                    quoted = true;
                    loop {
                        match chars.next() {
                            None => return Err(format_error("unterminated CSV quoted field")),
                            Some(c)
                                if c == o.escape
                                    && chars.peek().is_some_and(|n| *n == o.quote || *n == o.escape) =>
                            {
                                if o.escape == o.quote && chars.peek() != Some(&o.quote) {
                                    break;
                                }
                                if let Some(n) = chars.next() {
                                    value.push(n);
                                }
                            }
                            Some(c) if c == o.quote => break,
                            Some(c) => value.push(c),
                        }
                    }
                }
                Some(c) => {
                    chars.next();
                    value.push(c);
                    unquoted_part.push(c);
                }
            }
        }
        if !quoted && unquoted_part == o.null {
            fields.push(None);
        } else {
            fields.push(Some(value));
        }
        if chars.next().is_none() {
            break;
        }
    }
    Ok(fields)
}

/// COPY TO output: rows to text or CSV lines.
pub struct CopyOut {
    options: CopyOptions,
    force_quote: Vec<bool>,
    fmt: FormatContext,
}

impl CopyOut {
    /// Output of `columns` with `options`.
    pub fn new(columns: &[String], options: CopyOptions, fmt: FormatContext) -> Self {
        let force_quote = columns
            .iter()
            .map(|c| options.force_quote.as_ref().is_some_and(|f| f.iter().any(|x| x == "*" || x == c)))
            .collect();
        CopyOut { options, force_quote, fmt }
    }

    /// The header line (CSV with HEADER), if any.
    pub fn header(&self, columns: &[String]) -> Option<Vec<u8>> {
        if !self.options.header {
            return None;
        }
        let vals: Vec<Value> = columns.iter().map(|c| Value::Text(c.clone())).collect();
        let mut out = Vec::new();
        self.row(&vals, &mut out);
        Some(out)
    }

    /// Appends one row as a line.
    pub fn row(&self, row: &[Value], out: &mut Vec<u8>) {
        let d = self.options.delimiter;
        let mut line = String::new();
        for (i, v) in row.iter().enumerate() {
            if i > 0 {
                line.push(d);
            }
            match v.to_text(&self.fmt) {
                None => line.push_str(&self.options.null),
                Some(s) if self.options.csv => {
                    let q = self.options.quote;
                    let needs = self.force_quote.get(i).copied().unwrap_or(false)
                        || s == self.options.null
                        || s == "\\."
                        || s.contains([d, q, '\n', '\r']);
                    if needs {
                        line.push(q);
                        for c in s.chars() {
                            if c == q || c == self.options.escape {
                                line.push(self.options.escape);
                            }
                            line.push(c);
                        }
                        line.push(q);
                    } else {
                        line.push_str(&s);
                    }
                }
                Some(s) => {
                    for c in s.chars() {
                        match c {
                            '\\' => line.push_str("\\\\"),
                            '\n' => line.push_str("\\n"),
                            '\r' => line.push_str("\\r"),
                            '\t' => line.push_str("\\t"),
                            '\u{8}' => line.push_str("\\b"),
                            '\u{c}' => line.push_str("\\f"),
                            '\u{b}' => line.push_str("\\v"),
                            c if c == d => {
                                line.push('\\');
                                line.push(c);
                            }
                            c => line.push(c),
                        }
                    }
                }
            }
        }
        line.push('\n');
        out.extend_from_slice(line.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols() -> Vec<(String, DataType)> {
        vec![("id".into(), DataType::Int4), ("name".into(), DataType::Text)]
    }

    fn load(data: &[&[u8]], o: CopyOptions) -> Result<Vec<Vec<Value>>> {
        let mut c = CopyIn::new("t", cols(), o, FormatContext::default());
        let mut out = Vec::new();
        for d in data {
            c.feed(d, &mut out)?;
        }
        c.finish(&mut out)?;
        Ok(out)
    }

    #[test]
    fn text_rows_across_chunks() {
        let rows =
            load(&[b"1\tal", b"ice\n2\t\\N\n3\ta\\tb\\\\\n\\.\nignored"], CopyOptions::default()).unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0], vec![Value::Int4(1), Value::Text("alice".into())]);
        assert_eq!(rows[1][1], Value::Null);
        assert_eq!(rows[2][1], Value::Text("a\tb\\".into()));
    }

    #[test]
    fn text_errors_name_the_line() {
        let e = load(&[b"1\ta\n2\n"], CopyOptions::default()).unwrap_err();
        assert_eq!(e.kind, ErrorKind::BadCopyFileFormat);
        assert_eq!(e.message, "missing data for column \"name\"");
        assert_eq!(e.context.as_deref(), Some("COPY t, line 2: \"2\""));
        let e = load(&[b"x\ta\n"], CopyOptions::default()).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidTextRepresentation);
        assert_eq!(e.context.as_deref(), Some("COPY t, line 1, column id: \"x\""));
        let e = load(&[b"1\ta\tb\n"], CopyOptions::default()).unwrap_err();
        assert_eq!(e.message, "extra data after last expected column");
    }

    #[test]
    fn csv_quotes_header_and_nulls() {
        let o = CopyOptions {
            csv: true,
            delimiter: ',',
            null: String::new(),
            header: true,
            ..CopyOptions::default()
        };
        let rows = load(&[b"id,name\n1,\"a,\"\"b\"\"\nc\"\n2,\n3,\"\"\n"], o).unwrap();
        assert_eq!(rows[0][1], Value::Text("a,\"b\"\nc".into()));
        assert_eq!(rows[1][1], Value::Null);
        assert_eq!(rows[2][1], Value::Text(String::new()));
    }

    #[test]
    fn output_escapes() {
        let o = CopyOptions::default();
        let out = CopyOut::new(&["a".into(), "b".into()], o, FormatContext::default());
        let mut buf = Vec::new();
        out.row(&[Value::Int4(1), Value::Text("x\ty\\".into())], &mut buf);
        out.row(&[Value::Null, Value::Text(String::new())], &mut buf);
        assert_eq!(buf, b"1\tx\\ty\\\\\n\\N\t\n");
        let csv = CopyOptions { csv: true, delimiter: ',', null: String::new(), ..CopyOptions::default() };
        let out = CopyOut::new(&["a".into(), "b".into()], csv, FormatContext::default());
        let mut buf = Vec::new();
        out.row(&[Value::Null, Value::Text("a,\"b".into())], &mut buf);
        out.row(&[Value::Text(String::new()), Value::Int4(2)], &mut buf);
        assert_eq!(buf, b",\"a,\"\"b\"\n\"\",2\n");
    }
}
