//! The parser front end: sqlparser (PostgreSQL dialect) plus a small pre-parse for what it cannot
//! parse or parses wrongly.
//!
//! The input is tokenized once. Statement by statement, the first words decide: transaction
//! control, settings and database-level utility commands are parsed here into [`Utility`] (their
//! grammar is small, and several forms clients send do not parse in sqlparser 0.63:
//! `BEGIN ... DEFERRABLE`, `DEALLOCATE ALL`, `DROP DATABASE ... WITH (FORCE)`, `VACUUM ANALYZE t`,
//! `CHECKPOINT`); everything else goes to sqlparser with a recursion limit of 64.
//!
//! Errors follow PostgreSQL: `syntax error at or near "x"` (42601) with a 1-based character
//! position; nesting past the recursion limit is 54001 `stack depth limit exceeded` (a documented
//! deviation: PostgreSQL accepts deeper nesting).

use crate::error::{Error, ErrorKind, Result};
use crate::txn::mvcc::IsolationLevel;
use sqlparser::ast::Statement;
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::{Location, Token, TokenWithSpan, Tokenizer, Word};

/// Parser recursion limit (sqlparser's default of 50 rejects valid corpus queries).
pub const RECURSION_LIMIT: usize = 64;

/// One transaction characteristic of BEGIN / START TRANSACTION / SET TRANSACTION.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TxnMode {
    /// ISOLATION LEVEL ...
    Isolation(IsolationLevel),
    /// READ ONLY (true) / READ WRITE (false).
    ReadOnly(bool),
    /// \[NOT\] DEFERRABLE.
    Deferrable(bool),
}

/// A statement handled by the session rather than the SQL engine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Utility {
    /// BEGIN / START TRANSACTION.
    Begin(Vec<TxnMode>),
    /// COMMIT / END.
    Commit,
    /// ROLLBACK / ABORT.
    Rollback,
    /// SAVEPOINT name.
    Savepoint(String),
    /// RELEASE \[SAVEPOINT\] name.
    Release(String),
    /// ROLLBACK TO \[SAVEPOINT\] name.
    RollbackTo(String),
    /// SET TRANSACTION ...
    SetTransaction(Vec<TxnMode>),
    /// SET SESSION CHARACTERISTICS AS TRANSACTION ...
    SetSessionCharacteristics(Vec<TxnMode>),
    /// SET \[LOCAL\] name = value (`None` = DEFAULT).
    Set {
        /// Setting name.
        name: String,
        /// Value text, or None for DEFAULT.
        value: Option<String>,
        /// SET LOCAL.
        local: bool,
    },
    /// SHOW name / SHOW ALL (`None`).
    Show(Option<String>),
    /// RESET name / RESET ALL (`None`).
    Reset(Option<String>),
    /// DEALLOCATE \[PREPARE\] name / ALL (`None`).
    Deallocate(Option<String>),
    /// DISCARD ALL.
    DiscardAll,
    /// CREATE DATABASE name.
    CreateDatabase(String),
    /// DROP DATABASE \[IF EXISTS\] name [WITH (FORCE)].
    DropDatabase {
        /// Database name.
        name: String,
        /// IF EXISTS.
        if_exists: bool,
        /// WITH (FORCE).
        force: bool,
    },
    /// VACUUM with options and tables; `analyze` when ANALYZE was given.
    Vacuum {
        /// Tables named (empty = all).
        tables: Vec<String>,
        /// Whether ANALYZE was requested too.
        analyze: bool,
    },
    /// ANALYZE with optional tables.
    Analyze(Vec<String>),
    /// CHECKPOINT.
    Checkpoint,
    /// COPY ... FROM STDIN / TO STDOUT ([`crate::sql::copy`]).
    Copy(Box<crate::sql::copy::CopyStatement>),
    /// CREATE/ALTER/DROP ROLE, GRANT, REVOKE ([`crate::sql::auth::stmt`]).
    Auth(Box<crate::sql::auth::stmt::AuthStmt>),
}

/// One parsed statement.
#[derive(Clone, Debug)]
pub enum Parsed {
    /// Handled by the session.
    Utility(Utility),
    /// Handled by the SQL engine.
    Statement(Box<Statement>),
}

/// Parses a query string into its statements (empty statements are dropped).
pub fn parse(sql: &str) -> Result<Vec<Parsed>> {
    let dialect = PostgreSqlDialect {};
    let tokens = Tokenizer::new(&dialect, sql)
        .tokenize_with_location()
        .map_err(|e| Error::new(ErrorKind::Syntax, tokenizer_message(&e.to_string())))?;
    let tokens = rewrite_lock_strengths(tokens);
    let mut parser =
        Parser::new(&dialect).with_recursion_limit(RECURSION_LIMIT).with_tokens_with_locations(tokens);
    let mut out = Vec::new();
    loop {
        while parser.consume_token(&Token::SemiColon) {}
        if parser.peek_token().token == Token::EOF {
            break;
        }
        let stmt = match try_utility(&mut parser, sql)? {
            Some(u) => Parsed::Utility(u),
            None => {
                Parsed::Statement(Box::new(parser.parse_statement().map_err(|e| map_error(e, &parser, sql))?))
            }
        };
        out.push(stmt);
        let next = parser.peek_token();
        if next.token != Token::EOF && next.token != Token::SemiColon {
            return Err(syntax_error_at(&next, sql));
        }
    }
    Ok(out)
}

/// Rewrites `FOR NO KEY UPDATE` / `FOR KEY SHARE` (which sqlparser 0.63 cannot parse) into
/// `FOR UPDATE` / `FOR SHARE` with a marker as the first `OF` name, which the binder decodes
/// ([`crate::sql::plan::bind_lock`]): `FOR KEY SHARE OF t` becomes `FOR SHARE OF "<marker>".t`.
fn rewrite_lock_strengths(tokens: Vec<TokenWithSpan>) -> Vec<TokenWithSpan> {
    use crate::sql::plan::bind_lock::{KEY_SHARE_MARKER, NO_KEY_MARKER};
    let significant: Vec<usize> =
        (0..tokens.len()).filter(|&i| !matches!(tokens[i].token, Token::Whitespace(_))).collect();
    let word_at = |n: usize| significant.get(n).and_then(|&i| word(&tokens[i].token));
    // (position in `significant` of FOR, number of words replaced, strength word, marker)
    let mut edits = Vec::new();
    for n in 0..significant.len() {
        if word_at(n).as_deref() != Some("FOR") {
            continue;
        }
        match (word_at(n + 1).as_deref(), word_at(n + 2).as_deref(), word_at(n + 3).as_deref()) {
            (Some("NO"), Some("KEY"), Some("UPDATE")) => edits.push((n, 3, "UPDATE", NO_KEY_MARKER)),
            (Some("KEY"), Some("SHARE"), _) => edits.push((n, 2, "SHARE", KEY_SHARE_MARKER)),
            _ => {}
        }
    }
    if edits.is_empty() {
        return tokens;
    }
    let mut out = Vec::with_capacity(tokens.len() + 4 * edits.len());
    let mut next = 0; // next index of `tokens` to copy
    for (n, words, strength, marker) in edits {
        let last = significant[n + words];
        out.extend_from_slice(&tokens[next..=significant[n]]);
        let span = tokens[last].span;
        let mk = |t: Token| TokenWithSpan { token: t, span };
        out.push(mk(Token::Whitespace(sqlparser::tokenizer::Whitespace::Space)));
        out.push(mk(Token::make_keyword(strength)));
        out.push(mk(Token::Whitespace(sqlparser::tokenizer::Whitespace::Space)));
        out.push(mk(Token::make_keyword("OF")));
        out.push(mk(Token::Whitespace(sqlparser::tokenizer::Whitespace::Space)));
        out.push(mk(Token::make_word(marker, Some('"'))));
        next = last + 1;
        if word_at(n + words + 1).as_deref() == Some("OF") {
            // `OF t` follows: the marker qualifies the first name.
            let of = significant[n + words + 1];
            out.push(mk(Token::Period));
            next = of + 1;
            while matches!(tokens.get(next).map(|t| &t.token), Some(Token::Whitespace(_))) {
                next += 1;
            }
        }
    }
    out.extend_from_slice(&tokens[next..]);
    out
}

fn tokenizer_message(msg: &str) -> String {
    if msg.contains("Unterminated string") {
        "unterminated quoted string".to_string()
    } else {
        format!("syntax error: {msg}")
    }
}

/// Converts a token's 1-based line/column into PostgreSQL's 1-based character position.
fn position(loc: Location, sql: &str) -> u32 {
    if loc.line == 0 {
        return sql.chars().count() as u32 + 1;
    }
    let mut pos = 0u32;
    for (i, line) in sql.split('\n').enumerate() {
        if i as u64 + 1 == loc.line {
            return pos + loc.column as u32;
        }
        pos += line.chars().count() as u32 + 1;
    }
    pos + 1
}

fn syntax_error_at(tok: &TokenWithSpan, sql: &str) -> Error {
    let near = match &tok.token {
        Token::EOF => {
            return Error::new(ErrorKind::Syntax, "syntax error at end of input")
                .with_position(position(tok.span.start, sql))
        }
        Token::SingleQuotedString(s) => format!("'{s}'"),
        t => t.to_string(),
    };
    Error::new(ErrorKind::Syntax, format!("syntax error at or near \"{near}\""))
        .with_position(position(tok.span.start, sql))
}

fn map_error(e: ParserError, parser: &Parser, sql: &str) -> Error {
    match e {
        ParserError::RecursionLimitExceeded => {
            Error::new(ErrorKind::StatementTooComplex, "stack depth limit exceeded").with_hint(format!(
                "ssidb limits expression nesting to {RECURSION_LIMIT} levels in the parser."
            ))
        }
        ParserError::TokenizerError(m) => Error::new(ErrorKind::Syntax, tokenizer_message(&m)),
        ParserError::ParserError(msg) => {
            // sqlparser says "Expected: ..., found: X at Line: l, Column: c"; PostgreSQL names X.
            let loc = msg.rfind(" at Line: ").and_then(|i| {
                let rest = &msg[i + " at Line: ".len()..];
                let (line, col) = rest.split_once(", Column: ")?;
                Some((i, Location::new(line.trim().parse().ok()?, col.trim().parse().ok()?)))
            });
            let found = msg.find("found: ").map(|i| {
                let end = loc.map(|(j, _)| j).unwrap_or(msg.len());
                msg[i + "found: ".len()..end.max(i + "found: ".len())].to_string()
            });
            match (found, loc) {
                (Some(f), _) if f == "EOF" => Error::new(ErrorKind::Syntax, "syntax error at end of input")
                    .with_position(sql.chars().count() as u32 + 1),
                (Some(f), Some((_, l))) => {
                    Error::new(ErrorKind::Syntax, format!("syntax error at or near \"{f}\""))
                        .with_position(position(l, sql))
                }
                _ => {
                    let tok = parser.peek_token();
                    if tok.token == Token::EOF {
                        Error::new(ErrorKind::Syntax, "syntax error at end of input")
                            .with_position(sql.chars().count() as u32 + 1)
                    } else {
                        syntax_error_at(&tok, sql)
                    }
                }
            }
        }
    }
}

fn word(tok: &Token) -> Option<String> {
    match tok {
        Token::Word(Word { value, quote_style: None, .. }) => Some(value.to_ascii_uppercase()),
        _ => None,
    }
}

fn peek_word(p: &Parser, n: usize) -> Option<String> {
    word(&p.peek_nth_token(n).token)
}

/// The pre-parse's cursor over sqlparser's tokens (also used by [`crate::sql::auth::stmt`]).
pub(crate) struct Utl<'a, 'b> {
    pub(crate) p: &'a mut Parser<'b>,
    pub(crate) sql: &'a str,
}

impl Utl<'_, '_> {
    pub(crate) fn peek(&self) -> TokenWithSpan {
        self.p.peek_token()
    }
    pub(crate) fn at_end(&self) -> bool {
        matches!(self.peek().token, Token::EOF | Token::SemiColon)
    }
    pub(crate) fn err(&self) -> Error {
        syntax_error_at(&self.peek(), self.sql)
    }
    /// A syntax error at `tok`.
    pub(crate) fn err_at(&self, tok: &TokenWithSpan) -> Error {
        syntax_error_at(tok, self.sql)
    }
    /// The next token's unquoted keyword, upper-cased.
    pub(crate) fn peek_kw(&self, n: usize) -> Option<String> {
        peek_word(self.p, n)
    }
    pub(crate) fn kw(&mut self, k: &str) -> bool {
        if word(&self.peek().token).as_deref() == Some(k) {
            self.p.next_token();
            true
        } else {
            false
        }
    }
    pub(crate) fn expect_kw(&mut self, k: &str) -> Result<()> {
        if self.kw(k) {
            Ok(())
        } else {
            Err(self.err())
        }
    }
    pub(crate) fn ident(&mut self) -> Result<String> {
        let t = self.peek();
        match &t.token {
            Token::Word(w) => {
                self.p.next_token();
                Ok(if w.quote_style.is_some() { w.value.clone() } else { w.value.to_lowercase() })
            }
            _ => Err(self.err()),
        }
    }
    /// An identifier or a string literal (`SET ROLE 'x'`).
    pub(crate) fn ident_or_string(&mut self) -> Result<String> {
        if let Some(s) = self.string()? {
            return Ok(s);
        }
        self.ident()
    }
    /// A string literal, if one is next.
    pub(crate) fn string(&mut self) -> Result<Option<String>> {
        match self.peek().token {
            Token::SingleQuotedString(s) | Token::EscapedStringLiteral(s) => {
                self.p.next_token();
                Ok(Some(s))
            }
            Token::DollarQuotedString(d) => {
                self.p.next_token();
                Ok(Some(d.value))
            }
            _ => Ok(None),
        }
    }
    /// A possibly qualified name (`a.b`), lower-cased unless quoted.
    pub(crate) fn object_name(&mut self) -> Result<String> {
        let mut name = self.ident()?;
        while self.p.consume_token(&Token::Period) {
            name.push('.');
            name.push_str(&self.ident()?);
        }
        Ok(name)
    }

    fn txn_modes(&mut self) -> Result<Vec<TxnMode>> {
        let mut modes = Vec::new();
        loop {
            if self.at_end() {
                break;
            }
            if self.kw("ISOLATION") {
                self.expect_kw("LEVEL")?;
                let level = if self.kw("SERIALIZABLE") {
                    IsolationLevel::Serializable
                } else if self.kw("REPEATABLE") {
                    self.expect_kw("READ")?;
                    IsolationLevel::RepeatableRead
                } else if self.kw("READ") {
                    if self.kw("COMMITTED") {
                        IsolationLevel::ReadCommitted
                    } else {
                        self.expect_kw("UNCOMMITTED")?;
                        IsolationLevel::ReadUncommitted
                    }
                } else {
                    return Err(self.err());
                };
                modes.push(TxnMode::Isolation(level));
            } else if self.kw("READ") {
                if self.kw("ONLY") {
                    modes.push(TxnMode::ReadOnly(true));
                } else {
                    self.expect_kw("WRITE")?;
                    modes.push(TxnMode::ReadOnly(false));
                }
            } else if self.kw("NOT") {
                self.expect_kw("DEFERRABLE")?;
                modes.push(TxnMode::Deferrable(false));
            } else if self.kw("DEFERRABLE") {
                modes.push(TxnMode::Deferrable(true));
            } else {
                return Err(self.err());
            }
            let _ = self.p.consume_token(&Token::Comma);
        }
        Ok(modes)
    }

    /// The value list of SET: words, strings and numbers, joined by ", ".
    fn set_value(&mut self) -> Result<Option<String>> {
        if self.kw("DEFAULT") {
            return Ok(None);
        }
        let mut parts = Vec::new();
        loop {
            let t = self.p.next_token();
            let part = match &t.token {
                Token::Word(w) if w.quote_style == Some('"') => w.value.clone(),
                Token::Word(w) => w.value.clone(),
                Token::SingleQuotedString(s) | Token::EscapedStringLiteral(s) => s.clone(),
                Token::Number(n, _) => n.clone(),
                Token::Minus => match self.p.next_token().token {
                    Token::Number(n, _) => format!("-{n}"),
                    _ => return Err(syntax_error_at(&t, self.sql)),
                },
                _ => return Err(syntax_error_at(&t, self.sql)),
            };
            parts.push(part);
            if !self.p.consume_token(&Token::Comma) {
                break;
            }
        }
        if !self.at_end() {
            return Err(self.err());
        }
        Ok(Some(parts.join(", ")))
    }

    pub(crate) fn finish(&self, u: Utility) -> Result<Option<Utility>> {
        if self.at_end() {
            Ok(Some(u))
        } else {
            Err(self.err())
        }
    }

    fn table_list(&mut self) -> Result<Vec<String>> {
        let mut v = Vec::new();
        while !self.at_end() {
            v.push(self.object_name()?);
            if !self.p.consume_token(&Token::Comma) {
                break;
            }
        }
        Ok(v)
    }
}

/// Recognizes and parses a session-level statement at the parser's position; `None` leaves the
/// position unchanged for sqlparser.
fn try_utility(p: &mut Parser, sql: &str) -> Result<Option<Utility>> {
    let Some(first) = peek_word(p, 0) else { return Ok(None) };
    let second = peek_word(p, 1);
    let mut u = Utl { p, sql };
    match first.as_str() {
        "BEGIN" => {
            u.p.next_token();
            let _ = u.kw("WORK") || u.kw("TRANSACTION");
            let modes = u.txn_modes()?;
            u.finish(Utility::Begin(modes))
        }
        "START" => {
            u.p.next_token();
            u.expect_kw("TRANSACTION")?;
            let modes = u.txn_modes()?;
            u.finish(Utility::Begin(modes))
        }
        "COMMIT" | "END" => {
            u.p.next_token();
            let _ = u.kw("WORK") || u.kw("TRANSACTION");
            if u.kw("AND") {
                if u.kw("NO") {
                    u.expect_kw("CHAIN")?;
                } else {
                    return Err(Error::new(
                        ErrorKind::FeatureNotSupported,
                        "COMMIT AND CHAIN is not supported",
                    ));
                }
            }
            u.finish(Utility::Commit)
        }
        "ROLLBACK" | "ABORT" => {
            u.p.next_token();
            let _ = u.kw("WORK") || u.kw("TRANSACTION");
            if first == "ROLLBACK" && u.kw("TO") {
                u.kw("SAVEPOINT");
                let name = u.ident()?;
                return u.finish(Utility::RollbackTo(name));
            }
            if u.kw("AND") {
                if u.kw("NO") {
                    u.expect_kw("CHAIN")?;
                } else {
                    return Err(Error::new(
                        ErrorKind::FeatureNotSupported,
                        "ROLLBACK AND CHAIN is not supported",
                    ));
                }
            }
            u.finish(Utility::Rollback)
        }
        "SAVEPOINT" => {
            u.p.next_token();
            let name = u.ident()?;
            u.finish(Utility::Savepoint(name))
        }
        "RELEASE" => {
            u.p.next_token();
            u.kw("SAVEPOINT");
            let name = u.ident()?;
            u.finish(Utility::Release(name))
        }
        "SET" if second.as_deref() == Some("ROLE") => {
            u.p.next_token();
            u.p.next_token();
            let value = if u.kw("NONE") { "none".to_string() } else { u.ident_or_string()? };
            u.finish(Utility::Set { name: "role".into(), value: Some(value), local: false })
        }
        "SET" if second.as_deref() == Some("LOCAL") && peek_word(u.p, 2).as_deref() == Some("ROLE") => {
            u.p.next_token();
            u.p.next_token();
            u.p.next_token();
            let value = if u.kw("NONE") { "none".to_string() } else { u.ident_or_string()? };
            u.finish(Utility::Set { name: "role".into(), value: Some(value), local: true })
        }
        "RESET" if second.as_deref() == Some("ROLE") => {
            u.p.next_token();
            u.p.next_token();
            u.finish(Utility::Reset(Some("role".into())))
        }
        "SET" => {
            u.p.next_token();
            if u.kw("TRANSACTION") {
                if u.kw("SNAPSHOT") {
                    return Err(Error::new(
                        ErrorKind::FeatureNotSupported,
                        "SET TRANSACTION SNAPSHOT is not supported",
                    ));
                }
                let modes = u.txn_modes()?;
                return u.finish(Utility::SetTransaction(modes));
            }
            let mut local = false;
            if u.kw("LOCAL") {
                local = true;
            } else if peek_word(u.p, 0).as_deref() == Some("SESSION") {
                if peek_word(u.p, 1).as_deref() == Some("CHARACTERISTICS") {
                    u.p.next_token();
                    u.p.next_token();
                    u.expect_kw("AS")?;
                    u.expect_kw("TRANSACTION")?;
                    let modes = u.txn_modes()?;
                    return u.finish(Utility::SetSessionCharacteristics(modes));
                }
                if peek_word(u.p, 1).as_deref() != Some("AUTHORIZATION") {
                    u.p.next_token();
                }
            }
            if peek_word(u.p, 0).as_deref() == Some("TIME") && peek_word(u.p, 1).as_deref() == Some("ZONE") {
                u.p.next_token();
                u.p.next_token();
                let value = if u.kw("LOCAL") { None } else { u.set_value()? };
                return u.finish(Utility::Set { name: "TimeZone".into(), value, local });
            }
            if peek_word(u.p, 0).as_deref() == Some("NAMES") {
                u.p.next_token();
                let value = u.set_value()?;
                return u.finish(Utility::Set { name: "client_encoding".into(), value, local });
            }
            let name = u.object_name()?;
            if !(u.kw("TO") || u.p.consume_token(&Token::Eq)) {
                return Err(u.err());
            }
            let value = u.set_value()?;
            u.finish(Utility::Set { name, value, local })
        }
        "SHOW" => {
            u.p.next_token();
            if u.kw("ALL") {
                return u.finish(Utility::Show(None));
            }
            if u.kw("TIME") {
                u.expect_kw("ZONE")?;
                return u.finish(Utility::Show(Some("TimeZone".into())));
            }
            if u.kw("TRANSACTION") {
                u.expect_kw("ISOLATION")?;
                u.expect_kw("LEVEL")?;
                return u.finish(Utility::Show(Some("transaction_isolation".into())));
            }
            let name = u.object_name()?;
            u.finish(Utility::Show(Some(name)))
        }
        "RESET" => {
            u.p.next_token();
            if u.kw("ALL") {
                return u.finish(Utility::Reset(None));
            }
            if u.kw("TIME") {
                u.expect_kw("ZONE")?;
                return u.finish(Utility::Reset(Some("TimeZone".into())));
            }
            let name = u.object_name()?;
            u.finish(Utility::Reset(Some(name)))
        }
        "DEALLOCATE" => {
            u.p.next_token();
            u.kw("PREPARE");
            if u.kw("ALL") {
                return u.finish(Utility::Deallocate(None));
            }
            let name = u.ident()?;
            u.finish(Utility::Deallocate(Some(name)))
        }
        "DISCARD" => {
            u.p.next_token();
            if u.kw("ALL") {
                return u.finish(Utility::DiscardAll);
            }
            Err(Error::new(ErrorKind::FeatureNotSupported, "only DISCARD ALL is supported"))
        }
        "COPY" => {
            u.p.next_token();
            let c = crate::sql::copy::parse(u.p)?;
            u.finish(Utility::Copy(Box::new(c)))
        }
        "CHECKPOINT" => {
            u.p.next_token();
            u.finish(Utility::Checkpoint)
        }
        "VACUUM" => {
            u.p.next_token();
            let mut analyze = false;
            if u.p.consume_token(&Token::LParen) {
                loop {
                    let opt = u.ident()?;
                    if opt.eq_ignore_ascii_case("analyze") {
                        analyze = true;
                    }
                    // Option values (TRUE/FALSE/ON/OFF/numbers) are accepted and ignored.
                    if !matches!(u.peek().token, Token::Comma | Token::RParen) {
                        u.p.next_token();
                    }
                    if !u.p.consume_token(&Token::Comma) {
                        break;
                    }
                }
                if !u.p.consume_token(&Token::RParen) {
                    return Err(u.err());
                }
            }
            loop {
                if u.kw("FULL") || u.kw("FREEZE") || u.kw("VERBOSE") {
                    continue;
                }
                if u.kw("ANALYZE") || u.kw("ANALYSE") {
                    analyze = true;
                    continue;
                }
                break;
            }
            let tables = u.table_list()?;
            u.finish(Utility::Vacuum { tables, analyze })
        }
        "ANALYZE" | "ANALYSE" => {
            u.p.next_token();
            u.kw("VERBOSE");
            let tables = u.table_list()?;
            u.finish(Utility::Analyze(tables))
        }
        "CREATE" | "ALTER" | "DROP"
            if matches!(second.as_deref(), Some("ROLE" | "USER" | "GROUP"))
                && peek_word(u.p, 2).as_deref() != Some("MAPPING") =>
        {
            crate::sql::auth::stmt::parse_role(&mut u, &first)
        }
        "GRANT" | "REVOKE" => crate::sql::auth::stmt::parse_grant(&mut u, first == "GRANT"),
        "CREATE" if second.as_deref() == Some("DATABASE") => {
            u.p.next_token();
            u.p.next_token();
            let name = u.ident()?;
            // Options (WITH OWNER = x, TEMPLATE = y, ENCODING ...) are accepted and ignored.
            while !u.at_end() {
                u.p.next_token();
            }
            Ok(Some(Utility::CreateDatabase(name)))
        }
        "DROP" if second.as_deref() == Some("DATABASE") => {
            u.p.next_token();
            u.p.next_token();
            let mut if_exists = false;
            if u.kw("IF") {
                u.expect_kw("EXISTS")?;
                if_exists = true;
            }
            let name = u.ident()?;
            let mut force = false;
            if !u.at_end() {
                u.kw("WITH");
                if !u.p.consume_token(&Token::LParen) {
                    return Err(u.err());
                }
                loop {
                    u.expect_kw("FORCE")?;
                    force = true;
                    if !u.p.consume_token(&Token::Comma) {
                        break;
                    }
                }
                if !u.p.consume_token(&Token::RParen) {
                    return Err(u.err());
                }
            }
            u.finish(Utility::DropDatabase { name, if_exists, force })
        }
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(sql: &str) -> Parsed {
        let mut v = parse(sql).unwrap();
        assert_eq!(v.len(), 1, "{sql}");
        v.remove(0)
    }

    fn utility(sql: &str) -> Utility {
        match one(sql) {
            Parsed::Utility(u) => u,
            other => panic!("{sql}: expected utility, got {other:?}"),
        }
    }

    #[test]
    fn lock_strengths_sqlparser_lacks() {
        use crate::sql::plan::bind_lock::{lock_clauses, LockClause};
        use crate::sql::plan::{LockMode, LockWaitPolicy};
        let sql = "select * from t, u for no key update of t nowait for key share skip locked";
        let Parsed::Statement(s) = one(sql) else { panic!("not a statement") };
        let Statement::Query(q) = *s else { panic!("not a query") };
        assert_eq!(
            lock_clauses(&q),
            vec![
                LockClause {
                    mode: LockMode::NoKeyUpdate,
                    wait: LockWaitPolicy::NoWait,
                    of: vec!["t".into()]
                },
                LockClause { mode: LockMode::KeyShare, wait: LockWaitPolicy::SkipLocked, of: vec![] },
            ]
        );
        let Parsed::Statement(s) = one("SELECT * FROM t FOR UPDATE") else { panic!("not a statement") };
        let Statement::Query(q) = *s else { panic!("not a query") };
        assert_eq!(lock_clauses(&q)[0].mode, LockMode::Update);
        // Errors after a rewritten clause still point into the original text.
        let e = parse("select * from t for key share xyz").unwrap_err();
        assert_eq!(e.position, Some(31), "{e:?}");
    }

    #[test]
    fn transaction_control_with_deferrable() {
        assert_eq!(
            utility("BEGIN ISOLATION LEVEL SERIALIZABLE, READ ONLY, DEFERRABLE"),
            Utility::Begin(vec![
                TxnMode::Isolation(IsolationLevel::Serializable),
                TxnMode::ReadOnly(true),
                TxnMode::Deferrable(true)
            ])
        );
        assert_eq!(
            utility("start transaction isolation level repeatable read read write not deferrable"),
            Utility::Begin(vec![
                TxnMode::Isolation(IsolationLevel::RepeatableRead),
                TxnMode::ReadOnly(false),
                TxnMode::Deferrable(false)
            ])
        );
        assert_eq!(
            utility("SET TRANSACTION ISOLATION LEVEL READ COMMITTED DEFERRABLE"),
            Utility::SetTransaction(vec![
                TxnMode::Isolation(IsolationLevel::ReadCommitted),
                TxnMode::Deferrable(true)
            ])
        );
        assert_eq!(utility("end"), Utility::Commit);
        assert_eq!(utility("ABORT"), Utility::Rollback);
        assert_eq!(utility("ROLLBACK TO SAVEPOINT s1"), Utility::RollbackTo("s1".into()));
        assert_eq!(utility("rollback work to a"), Utility::RollbackTo("a".into()));
        assert_eq!(utility("RELEASE _pg3_1"), Utility::Release("_pg3_1".into()));
    }

    #[test]
    fn utilities_sqlparser_cannot_parse() {
        assert_eq!(utility("DEALLOCATE ALL"), Utility::Deallocate(None));
        assert_eq!(utility("DEALLOCATE PREPARE _pg3_0"), Utility::Deallocate(Some("_pg3_0".into())));
        assert_eq!(
            utility("DROP DATABASE IF EXISTS foo WITH (FORCE)"),
            Utility::DropDatabase { name: "foo".into(), if_exists: true, force: true }
        );
        assert_eq!(
            utility("vacuum analyze pgbench_branches"),
            Utility::Vacuum { tables: vec!["pgbench_branches".into()], analyze: true }
        );
        assert_eq!(utility("CHECKPOINT"), Utility::Checkpoint);
    }

    #[test]
    fn set_forms() {
        assert_eq!(
            utility("SET search_path TO public, pg_catalog"),
            Utility::Set {
                name: "search_path".into(),
                value: Some("public, pg_catalog".into()),
                local: false
            }
        );
        assert_eq!(
            utility("set local lock_timeout = '10ms'"),
            Utility::Set { name: "lock_timeout".into(), value: Some("10ms".into()), local: true }
        );
        assert_eq!(
            utility("SET TIME ZONE 'UTC'"),
            Utility::Set { name: "TimeZone".into(), value: Some("UTC".into()), local: false }
        );
        assert_eq!(
            utility("SET extra_float_digits = -3"),
            Utility::Set { name: "extra_float_digits".into(), value: Some("-3".into()), local: false }
        );
        assert_eq!(
            utility("SHOW TRANSACTION ISOLATION LEVEL"),
            Utility::Show(Some("transaction_isolation".into()))
        );
        assert_eq!(utility("RESET ALL"), Utility::Reset(None));
    }

    #[test]
    fn multiple_statements_and_errors() {
        let v = parse("BEGIN; INSERT INTO t VALUES (1);; SELECT 1/0; COMMIT").unwrap();
        assert_eq!(v.len(), 4);
        assert!(matches!(v[1], Parsed::Statement(_)));
        assert!(parse("  ;  ").unwrap().is_empty());
        let e = parse("SELEC 1").unwrap_err();
        assert_eq!(e.sqlstate(), "42601");
        assert_eq!(e.message, "syntax error at or near \"SELEC\"");
        assert_eq!(e.position, Some(1));
        let e = parse("SELECT 1 FROM").unwrap_err();
        assert_eq!(e.sqlstate(), "42601");
        assert_eq!(e.message, "syntax error at end of input");
    }

    #[test]
    fn deep_nesting_is_54001_not_a_crash() {
        let deep = format!("SELECT {}1{}", "(".repeat(200), ")".repeat(200));
        let e = parse(&deep).unwrap_err();
        assert_eq!(e.sqlstate(), "54001");
        let long_chain = format!("SELECT 1{}", "+1".repeat(100_000));
        // Left-deep chains parse without recursion; the tree is freed on a big stack by callers.
        let handle = std::thread::Builder::new()
            .stack_size(256 << 20)
            .spawn(move || parse(&long_chain).map(|v| v.len()))
            .unwrap();
        assert_eq!(handle.join().unwrap().unwrap(), 1);
    }
}
