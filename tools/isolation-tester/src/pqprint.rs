//! Printing a result set exactly as libpq's `PQprint` does with the options PostgreSQL's isolation
//! tester uses (`header`, `align`, `fieldSep = "|"`; not `standard`, `expanded` or `html3`).
//!
//! ```text
//!  a|b  |     c        <- names padded to the column width; right-aligned if the column is numeric
//! --+---+------        <- one '-' per byte of width, '+' where a separator goes
//! -2|yé |100000        <- values padded with spaces, in *bytes* (printf's %-*s), last column too
//!   | 3 |     3        <- NULL prints as empty text, padded
//! (2 rows)             <- "(1 row)" for one row, then an empty line
//! ```
//!
//! A column is *numeric* (right-aligned) unless one of its non-empty values contains a character
//! other than `0-9 . E e space -`, starts with `E`/`e`, or does not end with a digit. NULLs and empty
//! strings are skipped by that test and do not widen the column. Widths are byte lengths, so a
//! multi-byte UTF-8 value looks narrower than its neighbours, exactly as in PostgreSQL's output.
//! A result with no columns prints nothing at all.

use crate::report::Row;

/// Whether a value, by libpq's heuristic, keeps its column numeric.
fn looks_numeric(value: &str) -> bool {
    let bytes = value.as_bytes();
    let all_allowed =
        bytes.iter().all(|&b| b.is_ascii_digit() || matches!(b, b'.' | b'E' | b'e' | b' ' | b'-'));
    let first_ok = !matches!(bytes.first(), Some(b'E' | b'e'));
    let last_digit = bytes.last().is_some_and(|b| b.is_ascii_digit());
    all_allowed && first_ok && last_digit
}

/// Appends `s` padded with spaces to `width` bytes, on the left (`right_align`) or the right.
fn pad(out: &mut String, s: &str, width: usize, right_align: bool) {
    let fill = width.saturating_sub(s.len());
    if right_align {
        out.extend(std::iter::repeat_n(' ', fill));
        out.push_str(s);
    } else {
        out.push_str(s);
        out.extend(std::iter::repeat_n(' ', fill));
    }
}

/// Formats a result set (column names, rows of nullable text values) as `PQprint` prints it.
pub fn pqprint(columns: &[String], rows: &[Row]) -> String {
    let mut out = String::new();
    if columns.is_empty() {
        return out;
    }
    let mut width: Vec<usize> = columns.iter().map(|c| c.len()).collect();
    let mut numeric = vec![true; columns.len()];
    for row in rows {
        for (j, value) in row.iter().enumerate().take(columns.len()) {
            let Some(v) = value.as_deref().filter(|v| !v.is_empty()) else { continue };
            if numeric[j] && !looks_numeric(v) {
                numeric[j] = false;
            }
            width[j] = width[j].max(v.len());
        }
    }

    let last = columns.len() - 1;
    for (j, name) in columns.iter().enumerate() {
        pad(&mut out, name, width[j], numeric[j]);
        if j < last {
            out.push('|');
        }
    }
    out.push('\n');
    for (j, w) in width.iter().enumerate() {
        out.extend(std::iter::repeat_n('-', *w));
        if j < last {
            out.push('+');
        }
    }
    out.push('\n');
    for row in rows {
        for j in 0..columns.len() {
            let v = row.get(j).and_then(|v| v.as_deref()).unwrap_or("");
            pad(&mut out, v, width[j], numeric[j]);
            if j < last {
                out.push('|');
            }
        }
        out.push('\n');
    }
    let n = rows.len();
    out.push_str(&format!("({n} row{})\n\n", if n == 1 { "" } else { "s" }));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    fn row(values: &[Option<&str>]) -> Vec<Option<String>> {
        values.iter().map(|v| v.map(str::to_string)).collect()
    }

    #[test]
    fn numbers_right_text_left_last_column_padded() {
        // nowait.out
        let got = pqprint(&cols(&["id", "data"]), &[row(&[Some("1"), Some("x")])]);
        assert_eq!(got, "id|data\n--+----\n 1|x   \n(1 row)\n\n");
    }

    #[test]
    fn empty_result_keeps_header_and_counts_zero_rows() {
        // read-write-unique.out
        assert_eq!(pqprint(&cols(&["i"]), &[]), "i\n-\n(0 rows)\n\n");
        assert_eq!(pqprint(&cols(&["i"]), &[row(&[Some("42")])]), " i\n--\n42\n(1 row)\n\n");
    }

    #[test]
    fn mixed_values_nulls_and_multibyte_widths() {
        // Matches PostgreSQL 15's isolationtester byte for byte (see tests/specs/edge-print.spec).
        let got = pqprint(
            &cols(&["a", "b", "c", "d"]),
            &[
                row(&[Some("-2"), Some("yé"), Some("100000"), Some("1e5")]),
                row(&[Some("1"), Some("x"), Some("1.5"), None]),
                row(&[None, Some(" 3"), Some("3"), Some("E1")]),
            ],
        );
        let want = " a|b  |     c|d  \n--+---+------+---\n-2|yé|100000|1e5\n 1|x  |   1.5|   \n  | 3 |     3|E1 \n(3 rows)\n\n";
        assert_eq!(got, want);
    }

    #[test]
    fn numeric_heuristic_matches_libpq() {
        for v in ["12345678901234567890", "1-2", ".5", " 1", "-3", "1e5", "1.00"] {
            assert!(looks_numeric(v), "{v:?} should be numeric");
        }
        for v in ["-", "1 ", "E1", "e5", "t", "12-22-2008x", "1,2"] {
            assert!(!looks_numeric(v), "{v:?} should not be numeric");
        }
    }

    #[test]
    fn all_null_column_stays_right_aligned() {
        let got = pqprint(&cols(&["one", "n"]), &[row(&[Some("1"), None])]);
        assert_eq!(got, "one|n\n---+-\n  1| \n(1 row)\n\n");
    }

    #[test]
    fn no_columns_prints_nothing() {
        assert_eq!(pqprint(&[], &[vec![]]), "");
    }
}
