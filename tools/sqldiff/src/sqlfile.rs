//! Plain `.sql` files: split into statements, run each as its own Query message on every server,
//! and compare what came back.
//!
//! Compared per statement: the SQLSTATE (or success), then for each result the column names, the
//! column type OIDs, the command tag and the rows (text format), and the ReadyForQuery status.
//! Error messages are shown but not compared (wording legitimately differs). Rows are compared in
//! order when the statement says `ORDER BY`, otherwise as sorted multisets (both servers may return
//! an unordered result in any order).
//!
//! The splitter understands `'...'` (with `''`), `E'...'` (with `\'`), `"..."`, `$tag$...$tag$`,
//! `-- ...` and nested `/* ... */`; a `;` outside all of them ends a statement.

use crate::raw::{QueryOutcome, RawClient};
use std::time::Duration;

/// One statement of a file, with the line it starts on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SqlStatement {
    /// 1-based line of its first non-blank character.
    pub line: usize,
    /// The text, without the terminating `;`.
    pub sql: String,
}

/// Splits a script into statements (empty ones and comment-only ones dropped).
pub fn split(script: &str) -> Vec<SqlStatement> {
    let chars: Vec<char> = script.chars().collect();
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut start_line: Option<usize> = None;
    let mut line = 1;
    let mut has_code = false;
    let mut i = 0;
    let push =
        |cur: &mut String, start: &mut Option<usize>, has_code: &mut bool, out: &mut Vec<SqlStatement>| {
            if *has_code {
                out.push(SqlStatement { line: start.unwrap_or(1), sql: cur.trim().to_string() });
            }
            cur.clear();
            *start = None;
            *has_code = false;
        };
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        // Consume one lexical unit [i, j).
        let mut j = i + 1;
        let mut code = !c.is_whitespace();
        if c == '-' && next == Some('-') {
            while j < chars.len() && chars[j] != '\n' {
                j += 1;
            }
            code = false;
        } else if c == '/' && next == Some('*') {
            let mut depth = 1;
            j = i + 2;
            while j < chars.len() && depth > 0 {
                if chars[j] == '/' && chars.get(j + 1) == Some(&'*') {
                    depth += 1;
                    j += 2;
                } else if chars[j] == '*' && chars.get(j + 1) == Some(&'/') {
                    depth -= 1;
                    j += 2;
                } else {
                    j += 1;
                }
            }
            code = false;
        } else if c == '\'' || c == '"' {
            let escapes =
                c == '\'' && i > 0 && matches!(chars[i - 1], 'e' | 'E') && !has_ident_before(&chars, i - 1);
            while j < chars.len() {
                if escapes && chars[j] == '\\' {
                    j += 2;
                    continue;
                }
                if chars[j] == c {
                    if chars.get(j + 1) == Some(&c) {
                        j += 2;
                        continue;
                    }
                    j += 1;
                    break;
                }
                j += 1;
            }
        } else if c == '$' && !has_ident_before(&chars, i) {
            // $tag$ ... $tag$ (a bare $1 parameter is not a quote).
            let mut k = i + 1;
            while k < chars.len() && (chars[k].is_alphanumeric() || chars[k] == '_') {
                k += 1;
            }
            let is_tag =
                k < chars.len() && chars[k] == '$' && !chars.get(i + 1).is_some_and(|d| d.is_ascii_digit());
            if is_tag {
                let tag: String = chars[i..=k].iter().collect();
                let tag_chars: Vec<char> = tag.chars().collect();
                j = k + 1;
                while j < chars.len() && !chars[j..].starts_with(&tag_chars) {
                    j += 1;
                }
                j = (j + tag_chars.len()).min(chars.len());
            }
        } else if c == ';' {
            push(&mut cur, &mut start_line, &mut has_code, &mut out);
            i += 1;
            continue;
        }
        let j = j.min(chars.len());
        let unit: String = chars[i..j].iter().collect();
        if code && start_line.is_none() {
            start_line = Some(line);
        }
        if code {
            has_code = true;
        }
        if start_line.is_some() || code {
            cur.push_str(&unit);
        }
        line += unit.matches('\n').count();
        i = j;
    }
    push(&mut cur, &mut start_line, &mut has_code, &mut out);
    out
}

fn has_ident_before(chars: &[char], i: usize) -> bool {
    i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_')
}

/// One difference between the servers on one statement.
#[derive(Clone, Debug)]
pub struct Difference {
    /// Line of the statement.
    pub line: usize,
    /// The statement.
    pub sql: String,
    /// What differs, one line per server.
    pub what: String,
}

/// Runs every statement of `statements` on each client and returns the differences (compared to
/// the first client) and the number of statements run.
pub async fn run(
    statements: &[SqlStatement],
    clients: &mut [(String, RawClient)],
    timeout: Duration,
) -> Result<Vec<Difference>, String> {
    let mut diffs = Vec::new();
    for st in statements {
        let mut outcomes: Vec<(String, QueryOutcome)> = Vec::new();
        for (name, client) in clients.iter_mut() {
            let o = client
                .query(&st.sql, timeout)
                .await
                .map_err(|e| format!("{name}: line {}: {e} (statement: {})", st.line, st.sql))?;
            outcomes.push((name.clone(), o));
        }
        if let Some((first_name, first)) = outcomes.first() {
            let ordered = st.sql.to_ascii_lowercase().contains("order by");
            for (name, o) in &outcomes[1..] {
                if let Some(what) = compare(first_name, first, name, o, ordered) {
                    diffs.push(Difference { line: st.line, sql: st.sql.clone(), what });
                }
            }
        }
    }
    Ok(diffs)
}

fn describe(o: &QueryOutcome) -> String {
    let mut parts: Vec<String> = o
        .results
        .iter()
        .map(|r| match &r.columns {
            Some(cols) => format!(
                "{} [{}] {} row(s)",
                r.tag,
                cols.iter().map(|c| format!("{}:{}", c.name, c.type_oid)).collect::<Vec<_>>().join(", "),
                r.rows.len()
            ),
            None => format!("{} (no rows)", r.tag),
        })
        .collect();
    if let Some(e) = &o.error {
        parts.push(format!("ERROR {} {}", e.code, e.message));
    }
    if o.timed_out {
        parts.push("(cancelled after the per-statement timeout)".into());
    }
    format!("{}; status {}", parts.join("; "), o.status)
}

fn render_row(r: &[Option<String>]) -> String {
    r.iter().map(|v| v.as_deref().unwrap_or("NULL")).collect::<Vec<_>>().join(" | ")
}

/// Compares two outcomes; `None` when they agree.
fn compare(an: &str, a: &QueryOutcome, bn: &str, b: &QueryOutcome, ordered: bool) -> Option<String> {
    let mut problems = Vec::new();
    let code = |o: &QueryOutcome| o.error.as_ref().map(|e| e.code.clone());
    if code(a) != code(b) {
        problems.push("SQLSTATE differs".to_string());
    }
    if a.status != b.status {
        problems.push("transaction status differs".to_string());
    }
    if a.results.len() != b.results.len() {
        problems.push("number of results differs".to_string());
    }
    for (i, (ra, rb)) in a.results.iter().zip(&b.results).enumerate() {
        let names = |r: &crate::raw::StatementResult| {
            r.columns.as_ref().map(|c| c.iter().map(|c| c.name.clone()).collect::<Vec<_>>())
        };
        let oids = |r: &crate::raw::StatementResult| {
            r.columns.as_ref().map(|c| c.iter().map(|c| c.type_oid).collect::<Vec<_>>())
        };
        if names(ra) != names(rb) {
            problems.push(format!("result {}: column names differ", i + 1));
        }
        if oids(ra) != oids(rb) {
            problems.push(format!("result {}: column type OIDs differ", i + 1));
        }
        if ra.tag != rb.tag {
            problems.push(format!("result {}: command tag differs ({:?} vs {:?})", i + 1, ra.tag, rb.tag));
        }
        let (mut rows_a, mut rows_b) = (ra.rows.clone(), rb.rows.clone());
        if !ordered {
            rows_a.sort();
            rows_b.sort();
        }
        if rows_a != rows_b {
            let first = rows_a
                .iter()
                .zip(&rows_b)
                .position(|(x, y)| x != y)
                .unwrap_or(rows_a.len().min(rows_b.len()));
            problems.push(format!(
                "result {}: rows differ (first at row {}: {:?} vs {:?})",
                i + 1,
                first + 1,
                rows_a.get(first).map(|r| render_row(r)),
                rows_b.get(first).map(|r| render_row(r)),
            ));
        }
    }
    if problems.is_empty() {
        None
    } else {
        Some(format!("{}\n    {an}: {}\n    {bn}: {}", problems.join("; "), describe(a), describe(b)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_statements_respecting_quotes_and_comments() {
        let s = split(
            "-- header; not a statement\nSELECT 'a;b', \"x;y\";\n/* c; /* nested; */ */ SELECT $$;$$ ;\n\
             SELECT $1::int; select E'\\';' ; SELECT $f$ ; $f$\n;",
        );
        let sqls: Vec<&str> = s.iter().map(|s| s.sql.as_str()).collect();
        assert_eq!(
            sqls,
            vec![
                "SELECT 'a;b', \"x;y\"",
                "SELECT $$;$$",
                "SELECT $1::int",
                "select E'\\';'",
                "SELECT $f$ ; $f$"
            ]
        );
        assert_eq!(s[0].line, 2);
        assert_eq!(s[1].line, 3);
        assert!(split("-- only a comment\n;;").is_empty());
    }
}
