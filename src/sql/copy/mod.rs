//! COPY: bulk load and unload in PostgreSQL's text and CSV formats.
//!
//! ```text
//!   COPY t [(cols)] FROM STDIN [[WITH] (options) | legacy options]
//!   COPY t [(cols)] | (query) TO STDOUT [...]
//! ```
//!
//! [`parse`] reads the statement (sqlparser cannot parse `WITH (FREEZE ON)` and would read
//! inline data after `FROM STDIN`); the session runs it. COPY FROM is streamed: the wire layer
//! hands CopyData bytes to [`CopyIn::feed`], which cuts them into records (text: one line; CSV:
//! a line unless a quoted field spans lines), converts each field with its column type's input
//! function and hands complete rows to a sink that inserts them straight through the executor's
//! row insert path (constraints, indexes, row) -- no SQL per row. The first bad record aborts
//! the COPY with PostgreSQL's error and CONTEXT (`COPY t, line 3, column id: "x"`); the
//! statement's writes are undone with the transaction (or block) it runs in, so nothing of a
//! failed COPY is kept.
//!
//! Formats ([`format`](mod@format)): text (tab-delimited, `\N` NULL, backslash escapes, `\.` end marker)
//! and CSV (`,` delimiter, `"` quote doubling, unquoted empty = NULL, optional HEADER). BINARY
//! is refused (0A000), as are files (`FROM 'path'`: use psql's `\copy`).

pub mod format;

use crate::error::{Error, ErrorKind, Result};
use sqlparser::ast::Query;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Token, Word};

/// COPY's options.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CopyOptions {
    /// CSV (true) or text.
    pub csv: bool,
    /// Field delimiter.
    pub delimiter: char,
    /// The string that means NULL.
    pub null: String,
    /// First line is a header (skipped on input, written on output).
    pub header: bool,
    /// CSV quote character.
    pub quote: char,
    /// CSV escape character (defaults to the quote).
    pub escape: char,
    /// FREEZE (accepted; ssidb's rows need no freezing).
    pub freeze: bool,
    /// CSV FORCE_QUOTE columns (`*`: all) on output.
    pub force_quote: Option<Vec<String>>,
    /// CSV FORCE_NOT_NULL columns on input.
    pub force_not_null: Vec<String>,
}

impl Default for CopyOptions {
    fn default() -> Self {
        CopyOptions {
            csv: false,
            delimiter: '\t',
            null: "\\N".into(),
            header: false,
            quote: '"',
            escape: '"',
            freeze: false,
            force_quote: None,
            force_not_null: vec![],
        }
    }
}

/// What COPY reads or writes.
#[derive(Clone, Debug, PartialEq)]
pub enum CopySource {
    /// A table and optional column list.
    Table {
        /// Table name (possibly qualified, as written, lower-cased unless quoted).
        name: String,
        /// Columns (empty: all).
        columns: Vec<String>,
    },
    /// `COPY (query) TO STDOUT`.
    Query(Box<Query>),
}

/// A parsed COPY statement.
#[derive(Clone, Debug, PartialEq)]
pub struct CopyStatement {
    /// The table or query.
    pub source: CopySource,
    /// FROM STDIN (true) or TO STDOUT.
    pub from: bool,
    /// Options.
    pub options: CopyOptions,
}

impl Eq for CopyStatement {}

fn syntax(p: &Parser) -> Error {
    let t = p.peek_token();
    match t.token {
        Token::EOF => Error::new(ErrorKind::Syntax, "syntax error at end of input"),
        Token::SingleQuotedString(s) => {
            Error::new(ErrorKind::Syntax, format!("syntax error at or near \"'{s}'\""))
        }
        tok => Error::new(ErrorKind::Syntax, format!("syntax error at or near \"{tok}\"")),
    }
}

fn peek_kw(p: &Parser) -> Option<String> {
    match p.peek_token().token {
        Token::Word(Word { value, quote_style: None, .. }) => Some(value.to_ascii_uppercase()),
        _ => None,
    }
}

fn kw(p: &mut Parser, k: &str) -> bool {
    if peek_kw(p).as_deref() == Some(k) {
        p.next_token();
        true
    } else {
        false
    }
}

fn ident(p: &mut Parser) -> Result<String> {
    match p.peek_token().token {
        Token::Word(w) => {
            p.next_token();
            Ok(if w.quote_style.is_some() { w.value } else { w.value.to_lowercase() })
        }
        _ => Err(syntax(p)),
    }
}

fn string(p: &mut Parser) -> Result<String> {
    match p.peek_token().token {
        Token::SingleQuotedString(s) | Token::EscapedStringLiteral(s) => {
            p.next_token();
            Ok(s)
        }
        _ => Err(syntax(p)),
    }
}

fn single_char(what: &str, s: &str) -> Result<char> {
    let mut it = s.chars();
    match (it.next(), it.next()) {
        (Some(c), None) => Ok(c),
        _ => Err(Error::new(
            ErrorKind::FeatureNotSupported,
            format!("COPY {what} must be a single one-byte character"),
        )),
    }
}

/// A boolean option value: absent, TRUE/FALSE/ON/OFF/1/0.
fn bool_value(p: &mut Parser) -> Result<bool> {
    match p.peek_token().token {
        Token::Comma | Token::RParen => Ok(true),
        Token::Number(n, _) => {
            p.next_token();
            Ok(n != "0")
        }
        Token::SingleQuotedString(s) => {
            p.next_token();
            Ok(matches!(s.to_ascii_lowercase().as_str(), "on" | "true" | "1" | "yes"))
        }
        Token::Word(w) => {
            p.next_token();
            Ok(matches!(w.value.to_ascii_lowercase().as_str(), "on" | "true" | "yes"))
        }
        _ => Err(syntax(p)),
    }
}

fn column_list(p: &mut Parser) -> Result<Vec<String>> {
    let mut cols = Vec::new();
    if p.consume_token(&Token::Mul) {
        return Ok(vec!["*".into()]);
    }
    if !p.consume_token(&Token::LParen) {
        return Err(syntax(p));
    }
    loop {
        cols.push(ident(p)?);
        if !p.consume_token(&Token::Comma) {
            break;
        }
    }
    if !p.consume_token(&Token::RParen) {
        return Err(syntax(p));
    }
    Ok(cols)
}

/// Parses a COPY statement; the parser is positioned after the `COPY` keyword.
pub fn parse(p: &mut Parser) -> Result<CopyStatement> {
    let source = if p.peek_token().token == Token::LParen {
        p.next_token();
        let q = p.parse_query().map_err(|e| Error::new(ErrorKind::Syntax, e.to_string()))?;
        if !p.consume_token(&Token::RParen) {
            return Err(syntax(p));
        }
        CopySource::Query(q)
    } else {
        let mut name = ident(p)?;
        while p.consume_token(&Token::Period) {
            name.push('.');
            name.push_str(&ident(p)?);
        }
        let columns = if p.peek_token().token == Token::LParen { column_list(p)? } else { vec![] };
        CopySource::Table { name, columns }
    };
    let from = if kw(p, "FROM") {
        true
    } else if kw(p, "TO") {
        false
    } else {
        return Err(syntax(p));
    };
    if from && matches!(source, CopySource::Query(_)) {
        return Err(syntax(p));
    }
    if !(kw(p, "STDIN") || kw(p, "STDOUT")) {
        if kw(p, "PROGRAM") || matches!(p.peek_token().token, Token::SingleQuotedString(_)) {
            return Err(Error::new(
                ErrorKind::FeatureNotSupported,
                format!(
                    "COPY {} a file is not supported; use psql's \\copy",
                    if from { "from" } else { "to" }
                ),
            ));
        }
        return Err(syntax(p));
    }
    let mut o = CopyOptions::default();
    let mut escape_set = false;
    let mut null_set = false;
    let mut delimiter_set = false;
    let _ = kw(p, "WITH");
    if p.consume_token(&Token::LParen) {
        // New-style options: name [value], ...
        loop {
            let name = ident(p)?.to_ascii_lowercase();
            match name.as_str() {
                "format" => {
                    let f = ident(p)?.to_ascii_lowercase();
                    match f.as_str() {
                        "csv" => o.csv = true,
                        "text" => o.csv = false,
                        "binary" => {
                            return Err(Error::new(
                                ErrorKind::FeatureNotSupported,
                                "COPY BINARY is not supported",
                            ))
                        }
                        _ => {
                            return Err(Error::new(
                                ErrorKind::InvalidParameterValue,
                                format!("COPY format \"{f}\" not recognized"),
                            ))
                        }
                    }
                }
                "freeze" => o.freeze = bool_value(p)?,
                "header" => o.header = bool_value(p)?,
                "delimiter" => {
                    o.delimiter = single_char("delimiter", &string(p)?)?;
                    delimiter_set = true;
                }
                "null" => {
                    o.null = string(p)?;
                    null_set = true;
                }
                "quote" => o.quote = single_char("quote", &string(p)?)?,
                "escape" => {
                    o.escape = single_char("escape", &string(p)?)?;
                    escape_set = true;
                }
                "encoding" => {
                    string(p)?;
                }
                "force_quote" => o.force_quote = Some(column_list(p)?),
                "force_not_null" => o.force_not_null = column_list(p)?,
                "force_null" => {
                    column_list(p)?;
                }
                _ => {
                    return Err(Error::new(ErrorKind::Syntax, format!("option \"{name}\" not recognized")));
                }
            }
            if !p.consume_token(&Token::Comma) {
                break;
            }
        }
        if !p.consume_token(&Token::RParen) {
            return Err(syntax(p));
        }
    } else {
        // Legacy options (what psql's \copy sends): BINARY, CSV, HEADER, DELIMITER [AS] 'x', ...
        loop {
            if kw(p, "CSV") {
                o.csv = true;
            } else if kw(p, "HEADER") {
                o.header = true;
            } else if kw(p, "FREEZE") {
                o.freeze = true;
            } else if kw(p, "BINARY") {
                return Err(Error::new(ErrorKind::FeatureNotSupported, "COPY BINARY is not supported"));
            } else if kw(p, "DELIMITER") {
                let _ = kw(p, "AS");
                o.delimiter = single_char("delimiter", &string(p)?)?;
                delimiter_set = true;
            } else if kw(p, "NULL") {
                let _ = kw(p, "AS");
                o.null = string(p)?;
                null_set = true;
            } else if kw(p, "QUOTE") {
                let _ = kw(p, "AS");
                o.quote = single_char("quote", &string(p)?)?;
            } else if kw(p, "ESCAPE") {
                let _ = kw(p, "AS");
                o.escape = single_char("escape", &string(p)?)?;
                escape_set = true;
            } else if kw(p, "ENCODING") {
                string(p)?;
            } else if kw(p, "FORCE") {
                if kw(p, "QUOTE") {
                    o.force_quote = Some(if p.consume_token(&Token::Mul) {
                        vec!["*".into()]
                    } else {
                        let mut v = vec![ident(p)?];
                        while p.consume_token(&Token::Comma) {
                            v.push(ident(p)?);
                        }
                        v
                    });
                } else if kw(p, "NOT") && kw(p, "NULL") {
                    let mut v = vec![ident(p)?];
                    while p.consume_token(&Token::Comma) {
                        v.push(ident(p)?);
                    }
                    o.force_not_null = v;
                } else {
                    return Err(syntax(p));
                }
            } else {
                break;
            }
        }
    }
    if o.csv {
        if !delimiter_set {
            o.delimiter = ',';
        }
        if !null_set {
            o.null = String::new();
        }
        if !escape_set {
            o.escape = o.quote;
        }
    } else if o.header && from {
        return Err(Error::new(ErrorKind::FeatureNotSupported, "COPY HEADER available only in CSV mode"));
    }
    if o.delimiter == '\n' || o.delimiter == '\r' {
        return Err(Error::new(
            ErrorKind::InvalidParameterValue,
            "COPY delimiter cannot be newline or carriage return",
        ));
    }
    if o.csv && o.delimiter == o.quote {
        return Err(Error::new(
            ErrorKind::InvalidParameterValue,
            "COPY delimiter and quote must be different",
        ));
    }
    Ok(CopyStatement { source, from, options: o })
}

pub use format::{CopyIn, CopyOut};
