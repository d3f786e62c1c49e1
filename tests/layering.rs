//! Layers depend downward only: server -> sql -> txn -> storage -> encoding.
//!
//! Reads every source file under `src/<layer>/` and fails on any `crate::<higher layer>` path.

use std::path::Path;

const LAYERS: [&str; 5] = ["encoding", "storage", "txn", "sql", "server"];

fn files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).expect("read src dir").flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

fn upward_imports(layer_index: usize, source: &str) -> Vec<String> {
    let mut found = Vec::new();
    for higher in &LAYERS[layer_index + 1..] {
        for needle in
            [format!("crate::{higher}::"), format!("crate::{higher};"), format!("crate::{{{higher}")]
        {
            for (n, line) in source.lines().enumerate() {
                if line.contains(&needle) {
                    found.push(format!("line {}: {}", n + 1, line.trim()));
                }
            }
        }
    }
    found
}

#[test]
fn no_layer_imports_a_higher_one() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut violations = Vec::new();
    for (i, layer) in LAYERS.iter().enumerate() {
        let dir = src.join(layer);
        let mut list = Vec::new();
        if dir.is_dir() {
            files(&dir, &mut list);
        }
        let single = src.join(format!("{layer}.rs"));
        if single.is_file() {
            list.push(single);
        }
        for f in list {
            let text = std::fs::read_to_string(&f).expect("read source");
            for v in upward_imports(i, &text) {
                violations.push(format!("{} ({layer}) {v}", f.display()));
            }
        }
    }
    assert!(violations.is_empty(), "upward imports:\n{}", violations.join("\n"));
}

#[test]
fn the_check_catches_an_upward_import() {
    assert_eq!(upward_imports(1, "use crate::sql::session::Session;").len(), 1);
    assert!(upward_imports(3, "use crate::txn::mvcc::Transaction;").is_empty());
}
