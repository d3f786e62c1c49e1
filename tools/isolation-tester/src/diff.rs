//! Comparing a spec's output with its expected file, as `pg_isolation_regress` does with `diff`.
//!
//! Expected files live in one directory, named after the spec: `<name>.out` for a run without an
//! isolation level, `<name>.<level>.out` (e.g. `write-skew.serializable.out`) for a run at a level
//! (see [`crate::header`]). A difference is shown as a unified diff with three lines of context.

use crate::header::IsolationLevel;
use std::path::{Path, PathBuf};

/// The expected-output file for spec `name`, run at `level` (or without one).
pub fn expected_path(dir: &Path, name: &str, level: Option<IsolationLevel>) -> PathBuf {
    match level {
        Some(l) => dir.join(format!("{name}.{}.out", l.slug())),
        None => dir.join(format!("{name}.out")),
    }
}

/// A unified diff from `expected` to `actual`, or `None` when they are equal.
pub fn unified_diff(
    expected: &str,
    actual: &str,
    expected_label: &str,
    actual_label: &str,
) -> Option<String> {
    if expected == actual {
        return None;
    }
    let diff = similar::TextDiff::from_lines(expected, actual);
    let text = diff.unified_diff().context_radius(3).header(expected_label, actual_label).to_string();
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_texts_have_no_diff() {
        assert_eq!(unified_diff("a\nb\n", "a\nb\n", "x", "y"), None);
    }

    #[test]
    fn differences_show_as_unified_hunks() {
        let d = unified_diff("a\nb\nc\n", "a\nB\nc\n", "expected/x.out", "actual").expect("differs");
        assert_eq!(d, "--- expected/x.out\n+++ actual\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n");
    }

    #[test]
    fn expected_paths_carry_the_level() {
        let dir = Path::new("exp");
        assert_eq!(expected_path(dir, "ws", None), Path::new("exp/ws.out"));
        assert_eq!(
            expected_path(dir, "ws", Some(IsolationLevel::RepeatableRead)),
            Path::new("exp/ws.repeatable-read.out")
        );
    }
}
