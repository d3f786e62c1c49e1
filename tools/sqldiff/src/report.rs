//! What a run found: per file and server, the record counts and every failure or difference;
//! printed as details while files finish, as a table at the end, and as JSON (`--json`).

use crate::slt::{FileRun, RecordResult};
use crate::sqlfile::Difference;
use serde_json::{json, Value};
use std::path::Path;

/// One server's results on one `.slt` file.
#[derive(Clone, Debug)]
pub struct ServerRun {
    /// Server name.
    pub server: String,
    /// Records that passed.
    pub pass: usize,
    /// Records that failed.
    pub fail: usize,
    /// Records skipped by conditions.
    pub skip: usize,
    /// (line, explanation) per failure.
    pub failures: Vec<(u32, String)>,
    /// A problem that stopped the file on this server.
    pub fatal: Option<String>,
}

impl ServerRun {
    /// Counts a file run.
    pub fn from_slt(server: &str, run: FileRun) -> ServerRun {
        let mut s = ServerRun {
            server: server.into(),
            pass: 0,
            fail: 0,
            skip: 0,
            failures: vec![],
            fatal: run.fatal,
        };
        for (line, r) in run.records {
            match r {
                RecordResult::Pass => s.pass += 1,
                RecordResult::Skip => s.skip += 1,
                RecordResult::Fail(m) => {
                    s.fail += 1;
                    s.failures.push((line, m));
                }
            }
        }
        s
    }
}

/// Everything about one file.
#[derive(Clone, Debug)]
pub struct FileReport {
    /// Path as given.
    pub file: String,
    /// `slt` or `sql`.
    pub kind: &'static str,
    /// Per server (`.slt`).
    pub servers: Vec<ServerRun>,
    /// Statements run (`.sql`).
    pub statements: usize,
    /// Differences between the servers (`.sql`).
    pub differences: Vec<Difference>,
    /// Problems outside records (database creation, connection, parse).
    pub fatal: Vec<String>,
}

impl FileReport {
    /// An empty report for `path`.
    pub fn new(path: &Path, kind: &'static str) -> FileReport {
        FileReport {
            file: path.display().to_string(),
            kind,
            servers: vec![],
            statements: 0,
            differences: vec![],
            fatal: vec![],
        }
    }

    /// Whether everything passed and agreed.
    pub fn ok(&self) -> bool {
        self.fatal.is_empty()
            && self.differences.is_empty()
            && self.servers.iter().all(|s| s.fail == 0 && s.fatal.is_none())
    }

    /// Prints failures and differences.
    pub fn print_details(&self) {
        for f in &self.fatal {
            println!("{}: ERROR {f}", self.file);
        }
        for s in &self.servers {
            if let Some(f) = &s.fatal {
                println!("{}: {}: ERROR {f}", self.file, s.server);
            }
            for (line, m) in &s.failures {
                println!("{}:{line}: FAIL on {}:\n{}", self.file, s.server, indent(m));
            }
        }
        for d in &self.differences {
            println!("{}:{}: DIFF {}\n    statement: {}", self.file, d.line, d.what, one_line(&d.sql));
        }
    }
}

fn indent(s: &str) -> String {
    s.trim_end().lines().map(|l| format!("    {l}")).collect::<Vec<_>>().join("\n")
}

fn one_line(s: &str) -> String {
    let s = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if s.chars().count() > 200 {
        format!("{}...", s.chars().take(200).collect::<String>())
    } else {
        s
    }
}

fn cell(r: &FileReport, server: &str) -> String {
    if r.kind == "sql" {
        return format!("{} stmts", r.statements);
    }
    match r.servers.iter().find(|s| s.server == server) {
        Some(s) if s.fatal.is_some() => "ERROR".into(),
        Some(s) => format!("{}/{}/{}", s.pass, s.fail, s.skip),
        None => "-".into(),
    }
}

/// Prints the per-file table and the total.
pub fn print_table(reports: &[FileReport], servers: &[String]) {
    let width = reports.iter().map(|r| r.file.len()).max().unwrap_or(4).max(5);
    let mut header = format!("{:width$}", "file");
    for s in servers {
        header.push_str(&format!("  {:>22}", format!("{s} pass/fail/skip")));
    }
    header.push_str("  diffs  result");
    println!("\n{header}");
    for r in reports {
        let mut line = format!("{:width$}", r.file);
        for s in servers {
            line.push_str(&format!("  {:>22}", cell(r, s)));
        }
        let diffs = if r.kind == "sql" { r.differences.len().to_string() } else { "-".into() };
        line.push_str(&format!("  {diffs:>5}  {}", if r.ok() { "ok" } else { "FAILED" }));
        println!("{line}");
    }
    let mut total = format!("{:width$}", "total");
    for s in servers {
        let (p, f, k) = totals(reports, s);
        total.push_str(&format!("  {:>22}", format!("{p}/{f}/{k}")));
    }
    let diffs: usize = reports.iter().map(|r| r.differences.len()).sum();
    let failed = reports.iter().filter(|r| !r.ok()).count();
    total.push_str(&format!("  {diffs:>5}  {failed} of {} file(s) failed", reports.len()));
    println!("{total}");
}

fn totals(reports: &[FileReport], server: &str) -> (usize, usize, usize) {
    reports
        .iter()
        .flat_map(|r| r.servers.iter())
        .filter(|s| s.server == server)
        .fold((0, 0, 0), |(p, f, k), s| (p + s.pass, f + s.fail, k + s.skip))
}

/// The JSON summary.
pub fn json(reports: &[FileReport], servers: &[String]) -> String {
    let files: Vec<Value> = reports
        .iter()
        .map(|r| {
            json!({
                "file": r.file,
                "kind": r.kind,
                "ok": r.ok(),
                "errors": r.fatal,
                "statements": r.statements,
                "servers": r.servers.iter().map(|s| json!({
                    "server": s.server,
                    "pass": s.pass,
                    "fail": s.fail,
                    "skip": s.skip,
                    "error": s.fatal,
                    "failures": s.failures.iter().map(|(line, m)| json!({"line": line, "message": m})).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
                "differences": r.differences.iter().map(|d| json!({"line": d.line, "sql": d.sql, "what": d.what})).collect::<Vec<_>>(),
            })
        })
        .collect();
    let total: Vec<Value> = servers
        .iter()
        .map(|s| {
            let (p, f, k) = totals(reports, s);
            json!({"server": s, "pass": p, "fail": f, "skip": k})
        })
        .collect();
    let doc = json!({
        "ok": reports.iter().all(FileReport::ok),
        "files": files,
        "total": {
            "files": reports.len(),
            "failed_files": reports.iter().filter(|r| !r.ok()).count(),
            "differences": reports.iter().map(|r| r.differences.len()).sum::<usize>(),
            "servers": total,
        },
    });
    serde_json::to_string_pretty(&doc).unwrap_or_else(|_| "{}".into())
}
