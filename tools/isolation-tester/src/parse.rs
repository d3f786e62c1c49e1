//! Reading the spec format: a scanner and a recursive-descent parser.
//!
//! This follows PostgreSQL's `specscanner.l` and `specparse.y` (PostgreSQL 14+ grammar) closely,
//! because the SQL text of a step is printed verbatim in the output and must match byte for byte.
//!
//! Tokens:
//! - keywords `permutation session setup step teardown notices` (case-sensitive, whole words only:
//!   `setup2` is an identifier);
//! - identifiers: bare `[A-Za-z_\x80-\xff][A-Za-z0-9_$\x80-\xff]*` or double-quoted with `""` as an
//!   escaped quote (no newline inside);
//! - SQL blocks `{ ... }`: the text up to the **first** `}` (there is no nesting and no quoting, so
//!   SQL cannot contain `}`), with spaces/tabs (not newlines) trimmed at both ends;
//! - integers, and the punctuation `( ) , *`;
//! - `#` starts a comment to the end of the line (outside SQL blocks); whitespace separates tokens.
//!
//! Grammar:
//!
//! ```text
//! spec        := setup* [teardown SQL] session+ permutation*
//! setup       := "setup" SQL
//! session     := "session" NAME [setup] step+ ["teardown" SQL]
//! step        := "step" NAME SQL
//! permutation := "permutation" pstep+
//! pstep       := NAME [ "(" blocker ("," blocker)* ")" ]
//! blocker     := "*" | NAME | NAME "notices" INTEGER
//! ```
//!
//! Note that a global teardown must come before the first session: a `teardown` after a session's
//! steps belongs to that session, as in PostgreSQL.

use crate::spec::{BlockerSpec, PermutationStepSpec, Session, Step, TestSpec};
use std::fmt;

/// A syntax error with the 1-based line where it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line number.
    pub line: usize,
    /// What went wrong.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at line {}", self.message, self.line)
    }
}

impl std::error::Error for ParseError {}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Permutation,
    Session,
    Setup,
    Step,
    Teardown,
    Notices,
    Ident(String),
    Sql(String),
    Int(u32),
    Punct(char),
}

impl fmt::Display for Tok {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tok::Permutation => f.write_str("\"permutation\""),
            Tok::Session => f.write_str("\"session\""),
            Tok::Setup => f.write_str("\"setup\""),
            Tok::Step => f.write_str("\"step\""),
            Tok::Teardown => f.write_str("\"teardown\""),
            Tok::Notices => f.write_str("\"notices\""),
            Tok::Ident(s) => write!(f, "name \"{s}\""),
            Tok::Sql(_) => f.write_str("SQL block"),
            Tok::Int(n) => write!(f, "integer {n}"),
            Tok::Punct(c) => write!(f, "\"{c}\""),
        }
    }
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b >= 0x80
}

fn is_ident_cont(b: u8) -> bool {
    is_ident_start(b) || b.is_ascii_digit() || b == b'$'
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\x0c')
}

/// Splits spec text into tokens, each with its starting line.
fn scan(text: &str) -> Result<Vec<(Tok, usize)>, ParseError> {
    let bytes = text.as_bytes();
    let mut line = 1;
    let mut i = 0;
    let mut out = Vec::new();
    let err = |line: usize, message: String| ParseError { line, message };
    while i < bytes.len() {
        let b = bytes[i];
        let start_line = line;
        match b {
            b'\n' => {
                line += 1;
                i += 1;
            }
            _ if is_space(b) => i += 1,
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
            }
            b'"' => {
                let mut name = String::new();
                i += 1;
                loop {
                    match bytes.get(i) {
                        None => return Err(err(line, "unterminated quoted identifier".into())),
                        Some(b'\n') => {
                            return Err(err(line, "unexpected newline in quoted identifier".into()))
                        }
                        Some(b'"') if bytes.get(i + 1) == Some(&b'"') => {
                            name.push('"');
                            i += 2;
                        }
                        Some(b'"') => {
                            i += 1;
                            break;
                        }
                        Some(_) => {
                            // Copy up to the next quote or newline (both ASCII, so a char boundary).
                            let end = bytes[i..]
                                .iter()
                                .position(|&c| c == b'"' || c == b'\n')
                                .map_or(bytes.len(), |p| i + p);
                            name.push_str(&text[i..end]);
                            i = end;
                        }
                    }
                }
                out.push((Tok::Ident(name), start_line));
            }
            b'{' => {
                i += 1;
                while i < bytes.len() && is_space(bytes[i]) {
                    i += 1;
                }
                let close = bytes[i..].iter().position(|&c| c == b'}').ok_or_else(|| {
                    err(line + count_newlines(&bytes[i..]), "unterminated sql block".into())
                })?;
                let body = &text[i..i + close];
                line += count_newlines(body.as_bytes());
                let trimmed = body.trim_end_matches([' ', '\t', '\r', '\x0c']);
                out.push((Tok::Sql(trimmed.to_string()), start_line));
                i += close + 1;
            }
            b'(' | b')' | b',' | b'*' => {
                out.push((Tok::Punct(b as char), start_line));
                i += 1;
            }
            _ if b.is_ascii_digit() => {
                let end = bytes[i..].iter().position(|c| !c.is_ascii_digit()).map_or(bytes.len(), |p| i + p);
                let n = text[i..end]
                    .parse::<u32>()
                    .map_err(|_| err(line, format!("integer out of range: {}", &text[i..end])))?;
                out.push((Tok::Int(n), start_line));
                i = end;
            }
            _ if is_ident_start(b) => {
                let end = bytes[i..].iter().position(|&c| !is_ident_cont(c)).map_or(bytes.len(), |p| i + p);
                let word = &text[i..end];
                let tok = match word {
                    "permutation" => Tok::Permutation,
                    "session" => Tok::Session,
                    "setup" => Tok::Setup,
                    "step" => Tok::Step,
                    "teardown" => Tok::Teardown,
                    "notices" => Tok::Notices,
                    _ => Tok::Ident(word.to_string()),
                };
                out.push((tok, start_line));
                i = end;
            }
            _ => {
                let ch = text[i..].chars().next().unwrap_or('?');
                return Err(err(line, format!("syntax error: unexpected character \"{ch}\"")));
            }
        }
    }
    Ok(out)
}

fn count_newlines(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b == b'\n').count()
}

struct Parser {
    toks: Vec<(Tok, usize)>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|(t, _)| t)
    }

    fn line(&self) -> usize {
        self.toks.get(self.pos).or(self.toks.last()).map_or(1, |(_, l)| *l)
    }

    fn error(&self, expected: &str) -> ParseError {
        let found = self.peek().map_or_else(|| "end of input".to_string(), |t| t.to_string());
        ParseError { line: self.line(), message: format!("syntax error: expected {expected}, found {found}") }
    }

    fn eat(&mut self, tok: &Tok) -> bool {
        if self.peek() == Some(tok) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn sql(&mut self) -> Result<String, ParseError> {
        match self.peek() {
            Some(Tok::Sql(s)) => {
                let s = s.clone();
                self.pos += 1;
                Ok(s)
            }
            _ => Err(self.error("a { SQL } block")),
        }
    }

    fn ident(&mut self, what: &str) -> Result<String, ParseError> {
        match self.peek() {
            Some(Tok::Ident(s)) => {
                let s = s.clone();
                self.pos += 1;
                Ok(s)
            }
            _ => Err(self.error(what)),
        }
    }

    fn spec(&mut self) -> Result<TestSpec, ParseError> {
        let mut spec = TestSpec::default();
        while self.eat(&Tok::Setup) {
            spec.setup.push(self.sql()?);
        }
        if self.eat(&Tok::Teardown) {
            spec.teardown = Some(self.sql()?);
        }
        loop {
            if !self.eat(&Tok::Session) {
                if spec.sessions.is_empty() {
                    return Err(self.error("\"setup\", \"teardown\" or \"session\""));
                }
                break;
            }
            spec.sessions.push(self.session()?);
        }
        while self.eat(&Tok::Permutation) {
            let mut steps = vec![self.permutation_step()?];
            while matches!(self.peek(), Some(Tok::Ident(_))) {
                steps.push(self.permutation_step()?);
            }
            spec.permutations.push(steps);
        }
        if self.peek().is_some() {
            return Err(self.error("\"session\" or \"permutation\""));
        }
        Ok(spec)
    }

    fn session(&mut self) -> Result<Session, ParseError> {
        let name = self.ident("a session name")?;
        let setup = if self.eat(&Tok::Setup) { Some(self.sql()?) } else { None };
        let mut steps = Vec::new();
        while self.eat(&Tok::Step) {
            let name = self.ident("a step name")?;
            let sql = self.sql()?;
            steps.push(Step { name, sql });
        }
        if steps.is_empty() {
            return Err(self.error("\"step\""));
        }
        let teardown = if self.eat(&Tok::Teardown) { Some(self.sql()?) } else { None };
        Ok(Session { name, setup, steps, teardown })
    }

    fn permutation_step(&mut self) -> Result<PermutationStepSpec, ParseError> {
        let name = self.ident("a step name")?;
        let mut blockers = Vec::new();
        if self.eat(&Tok::Punct('(')) {
            loop {
                if self.eat(&Tok::Punct('*')) {
                    blockers.push(BlockerSpec::Once);
                } else {
                    let other = self.ident("a step name or \"*\"")?;
                    if self.eat(&Tok::Notices) {
                        match self.peek() {
                            Some(Tok::Int(n)) => {
                                let n = *n;
                                self.pos += 1;
                                blockers.push(BlockerSpec::Notices(other, n));
                            }
                            _ => return Err(self.error("an integer")),
                        }
                    } else {
                        blockers.push(BlockerSpec::OtherStep(other));
                    }
                }
                if self.eat(&Tok::Punct(')')) {
                    break;
                }
                if !self.eat(&Tok::Punct(',')) {
                    return Err(self.error("\",\" or \")\""));
                }
            }
        }
        Ok(PermutationStepSpec { name, blockers })
    }
}

/// Parses spec text into a [`TestSpec`] (not yet checked; see [`TestSpec::check`]).
pub fn parse_spec(text: &str) -> Result<TestSpec, ParseError> {
    let toks = scan(text)?;
    Parser { toks, pos: 0 }.spec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_full_spec() {
        let text = r#"# comment
setup
{
  CREATE TABLE t (i int);
}
setup { INSERT INTO t VALUES (1); }
teardown { DROP TABLE t; }

session s1
setup		{ BEGIN ISOLATION LEVEL SERIALIZABLE; }
step r1		{ SELECT * FROM t; }   # trailing comment
step "w 1"	{ UPDATE t SET i = 2}
teardown	{ COMMIT; }

session "s""2"
step r2 { SELECT 1; }

permutation r1 "w 1" r2
permutation r2(*) r1(r2, r2 notices 3) "w 1"
"#;
        let spec = parse_spec(text).expect("parses");
        assert_eq!(spec.setup, vec!["\n  CREATE TABLE t (i int);\n", "INSERT INTO t VALUES (1);"]);
        assert_eq!(spec.teardown.as_deref(), Some("DROP TABLE t;"));
        assert_eq!(spec.sessions.len(), 2);
        let s1 = &spec.sessions[0];
        assert_eq!(s1.setup.as_deref(), Some("BEGIN ISOLATION LEVEL SERIALIZABLE;"));
        assert_eq!(s1.steps[1], Step { name: "w 1".into(), sql: "UPDATE t SET i = 2".into() });
        assert_eq!(s1.teardown.as_deref(), Some("COMMIT;"));
        assert_eq!(spec.sessions[1].name, "s\"2");
        assert_eq!(spec.permutations.len(), 2);
        assert_eq!(
            spec.permutations[1],
            vec![
                PermutationStepSpec { name: "r2".into(), blockers: vec![BlockerSpec::Once] },
                PermutationStepSpec {
                    name: "r1".into(),
                    blockers: vec![BlockerSpec::OtherStep("r2".into()), BlockerSpec::Notices("r2".into(), 3)]
                },
                PermutationStepSpec { name: "w 1".into(), blockers: vec![] },
            ]
        );
    }

    #[test]
    fn sql_blocks_keep_newlines_and_trim_only_spaces() {
        let spec = parse_spec("session s\nstep a\t{\n    SELECT 1;\n  }\nstep b {}").expect("parses");
        assert_eq!(spec.sessions[0].steps[0].sql, "\n    SELECT 1;\n");
        assert_eq!(spec.sessions[0].steps[1].sql, "");
    }

    #[test]
    fn hash_inside_sql_is_not_a_comment() {
        let spec = parse_spec("session s step a { SELECT '#x' }").expect("parses");
        assert_eq!(spec.sessions[0].steps[0].sql, "SELECT '#x'");
    }

    #[test]
    fn keywords_are_whole_words() {
        let spec = parse_spec("session setup2 step steps { SELECT 1 }").expect("parses");
        assert_eq!(spec.sessions[0].name, "setup2");
        assert_eq!(spec.sessions[0].steps[0].name, "steps");
    }

    #[test]
    fn a_brace_inside_sql_ends_the_block_as_in_postgres() {
        let err = parse_spec("session s\nstep a { SELECT '{1}' }").unwrap_err();
        assert_eq!(err.line, 2);
        assert_eq!(err.message, "syntax error: unexpected character \"'\"");
    }

    #[test]
    fn errors_carry_line_numbers() {
        let err = parse_spec("setup { x }\n\nsession s\nstep a { SELECT 1 \n").unwrap_err();
        assert_eq!(err, ParseError { line: 5, message: "unterminated sql block".into() }); // as PostgreSQL reports it
        let err = parse_spec("session \"s\n\"").unwrap_err();
        assert_eq!(err.message, "unexpected newline in quoted identifier");
        let err = parse_spec("session s\nstep a { x }\npermutation a(").unwrap_err();
        assert_eq!(err.line, 3);
        assert!(err.message.contains("expected a step name"), "{}", err.message);
        let err = parse_spec("setup { x }").unwrap_err();
        assert!(err.message.contains("\"session\""), "{}", err.message);
        let err = parse_spec("session s").unwrap_err();
        assert!(err.message.contains("\"step\""), "{}", err.message);
    }

    #[test]
    fn teardown_after_sessions_belongs_to_the_last_session() {
        let spec = parse_spec("session s step a { SELECT 1 } teardown { COMMIT }").expect("parses");
        assert_eq!(spec.teardown, None);
        assert_eq!(spec.sessions[0].teardown.as_deref(), Some("COMMIT"));
    }

    #[test]
    fn parses_every_corpus_spec_shape() {
        // The shape of read-write-unique-4.spec: comments between permutations.
        let text = "setup { CREATE TABLE x (i int); }\nteardown { DROP TABLE x; }\n\
                    session s1\nsetup { BEGIN; }\nstep r1 { SELECT 1; }\nstep c1 { COMMIT; }\n\
                    # why\npermutation r1 c1\n\n# more\npermutation c1 r1\n";
        let spec = parse_spec(text).expect("parses");
        assert_eq!(spec.permutations.len(), 2);
    }
}
