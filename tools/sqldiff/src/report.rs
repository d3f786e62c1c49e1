//! What a run found: per file and server, the record counts (pass, fail, skip, and how many of the
//! failures were timeouts), the failures themselves, slow records, and with `--compare` every
//! record whose outcome differs between the servers; printed as details while files finish, as a
//! table with totals at the end, and as JSON (`--json`).

use crate::slt::{FileRun, RecordResult};
use crate::sqlfile::Difference;
use serde_json::{json, Value};
use std::path::Path;
use std::time::Duration;

/// One server's results on one `.slt` file.
#[derive(Clone, Debug)]
pub struct ServerRun {
    /// Server name.
    pub server: String,
    /// Records that passed.
    pub pass: usize,
    /// Records that failed (timeouts included).
    pub fail: usize,
    /// Failed records that ran into the timeout.
    pub timeouts: usize,
    /// Records skipped by conditions.
    pub skip: usize,
    /// (line, explanation) per failure.
    pub failures: Vec<(u32, String)>,
    /// (line, outcome) per record, for `--compare`.
    pub outcomes: Vec<(u32, &'static str)>,
    /// (line, seconds) of slow records.
    pub slow: Vec<(u32, f64)>,
    /// Wall time of the file on this server.
    pub elapsed: Duration,
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
            timeouts: 0,
            skip: 0,
            failures: vec![],
            outcomes: vec![],
            slow: run.slow,
            elapsed: run.elapsed,
            fatal: run.fatal,
        };
        for (line, r) in run.records {
            s.outcomes.push((line, r.word()));
            match r {
                RecordResult::Pass => s.pass += 1,
                RecordResult::Skip => s.skip += 1,
                RecordResult::Fail(m) => {
                    s.fail += 1;
                    s.failures.push((line, m));
                }
                RecordResult::Timeout(m) => {
                    s.fail += 1;
                    s.timeouts += 1;
                    s.failures.push((line, m));
                }
            }
        }
        s
    }

    /// Records run (passed, failed or skipped).
    pub fn records(&self) -> usize {
        self.pass + self.fail + self.skip
    }
}

/// A record whose outcome differs between the servers (`--compare`).
#[derive(Clone, Debug)]
pub struct OutcomeDiff {
    /// Line of the record.
    pub line: u32,
    /// (server, outcome) per server; a server that never reached the record says `not run`.
    pub outcomes: Vec<(String, &'static str)>,
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
    /// Records whose outcome differs between the servers (`.slt` with `--compare`).
    pub outcome_diffs: Vec<OutcomeDiff>,
    /// Problems outside records (database creation, connection, parse).
    pub fatal: Vec<String>,
}

impl FileReport {
    /// An empty report for `path`.
    pub fn new(path: &Path, kind: &'static str) -> FileReport {
        FileReport {
            file: path.strip_prefix("./").unwrap_or(path).display().to_string(),
            kind,
            servers: vec![],
            statements: 0,
            differences: vec![],
            outcome_diffs: vec![],
            fatal: vec![],
        }
    }

    /// Whether everything passed and agreed.
    pub fn ok(&self) -> bool {
        self.fatal.is_empty()
            && self.differences.is_empty()
            && self.outcome_diffs.is_empty()
            && self.servers.iter().all(|s| s.fail == 0 && s.fatal.is_none())
    }

    /// Fills [`FileReport::outcome_diffs`] from the servers' per-record outcomes.
    pub fn compare_outcomes(&mut self) {
        let maps: Vec<std::collections::BTreeMap<u32, &'static str>> =
            self.servers.iter().map(|s| s.outcomes.iter().copied().collect()).collect();
        let mut lines: Vec<u32> = maps.iter().flat_map(|m| m.keys().copied()).collect();
        lines.sort_unstable();
        lines.dedup();
        for line in lines {
            let outcomes: Vec<(String, &'static str)> = self
                .servers
                .iter()
                .zip(&maps)
                .map(|(s, m)| (s.server.clone(), m.get(&line).copied().unwrap_or("not run")))
                .collect();
            // Only identical outcomes agree: a timeout differs from a plain failure.
            if outcomes.windows(2).any(|w| w[0].1 != w[1].1) {
                self.outcome_diffs.push(OutcomeDiff { line, outcomes });
            }
        }
    }

    /// Prints problems, differences and the first `show` failures per server.
    pub fn print_details(&self, show: usize) {
        for f in &self.fatal {
            println!("{}: ERROR {f}", self.file);
        }
        for s in &self.servers {
            if let Some(f) = &s.fatal {
                println!("{}: {}: ERROR {f}", self.file, s.server);
            }
            for (line, m) in s.failures.iter().take(show) {
                println!("{}:{line}: FAIL on {}:\n{}", self.file, s.server, indent(m));
            }
            if s.failures.len() > show {
                println!(
                    "{}: {} more failure(s) on {} (all in the JSON summary)",
                    self.file,
                    s.failures.len() - show,
                    s.server
                );
            }
        }
        for d in self.outcome_diffs.iter().take(show.max(1) * 10) {
            let o: Vec<String> = d.outcomes.iter().map(|(s, o)| format!("{s} {o}")).collect();
            println!("{}:{}: OUTCOME {}", self.file, d.line, o.join(", "));
        }
        if self.outcome_diffs.len() > show.max(1) * 10 {
            println!(
                "{}: {} more outcome difference(s)",
                self.file,
                self.outcome_diffs.len() - show.max(1) * 10
            );
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
        Some(s) => {
            let t = if s.timeouts > 0 { format!(" ({} t/o)", s.timeouts) } else { String::new() };
            format!("{}/{}/{}{t} {:.0}s", s.pass, s.fail, s.skip, s.elapsed.as_secs_f64())
        }
        None => "-".into(),
    }
}

/// Totals of one server over all files.
#[derive(Clone, Copy, Debug, Default)]
pub struct Totals {
    /// Passed records.
    pub pass: usize,
    /// Failed records (timeouts included).
    pub fail: usize,
    /// Timed-out records.
    pub timeouts: usize,
    /// Skipped records.
    pub skip: usize,
}

impl Totals {
    /// Records run.
    pub fn records(&self) -> usize {
        self.pass + self.fail + self.skip
    }

    /// Share of the records that ran (not skipped) that passed, in percent.
    pub fn percent(&self) -> f64 {
        let ran = self.pass + self.fail;
        if ran == 0 {
            100.0
        } else {
            self.pass as f64 * 100.0 / ran as f64
        }
    }
}

/// Sums one server's counts.
pub fn totals(reports: &[FileReport], server: &str) -> Totals {
    reports.iter().flat_map(|r| r.servers.iter()).filter(|s| s.server == server).fold(
        Totals::default(),
        |t, s| Totals {
            pass: t.pass + s.pass,
            fail: t.fail + s.fail,
            timeouts: t.timeouts + s.timeouts,
            skip: t.skip + s.skip,
        },
    )
}

/// Prints the per-file table and the total.
pub fn print_table(reports: &[FileReport], servers: &[String], elapsed: Duration) {
    let width = reports.iter().map(|r| r.file.len()).max().unwrap_or(4).max(5);
    const CELL: usize = 34;
    let mut header = format!("{:width$}", "file");
    for s in servers {
        header.push_str(&format!("  {:>CELL$}", format!("{s} pass/fail/skip time")));
    }
    header.push_str("  diffs  result");
    println!("\n{header}");
    for r in reports {
        let mut line = format!("{:width$}", r.file);
        for s in servers {
            line.push_str(&format!("  {:>CELL$}", cell(r, s)));
        }
        let diffs = match r.kind {
            "sql" => r.differences.len(),
            _ => r.outcome_diffs.len(),
        };
        line.push_str(&format!("  {diffs:>5}  {}", if r.ok() { "ok" } else { "FAILED" }));
        println!("{line}");
    }
    let mut total = format!("{:width$}", "total");
    for s in servers {
        let t = totals(reports, s);
        total.push_str(&format!("  {:>CELL$}", format!("{}/{}/{}", t.pass, t.fail, t.skip)));
    }
    let diffs: usize = reports.iter().map(|r| r.differences.len() + r.outcome_diffs.len()).sum();
    let failed = reports.iter().filter(|r| !r.ok()).count();
    total.push_str(&format!("  {diffs:>5}  {failed} of {} file(s) failed", reports.len()));
    println!("{total}");
    let secs = elapsed.as_secs_f64().max(1e-9);
    for s in servers {
        let t = totals(reports, s);
        if t.records() == 0 {
            continue;
        }
        println!(
            "{s}: {} records: {} passed ({:.2}% of those run), {} failed ({} timed out), {} skipped",
            t.records(),
            t.pass,
            t.percent(),
            t.fail,
            t.timeouts,
            t.skip
        );
    }
    let all: usize = servers.iter().map(|s| totals(reports, s).records()).sum();
    println!("{all} records in {secs:.1} s: {:.0} records/s", all as f64 / secs);
}

/// The JSON summary.
pub fn json(reports: &[FileReport], servers: &[String], elapsed: Duration) -> String {
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
                    "timeouts": s.timeouts,
                    "skip": s.skip,
                    "seconds": s.elapsed.as_secs_f64(),
                    "error": s.fatal,
                    "failures": s.failures.iter().map(|(line, m)| json!({"line": line, "message": m})).collect::<Vec<_>>(),
                    "slow": s.slow.iter().map(|(line, secs)| json!({"line": line, "seconds": secs})).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
                "outcome_differences": r.outcome_diffs.iter().map(|d| json!({
                    "line": d.line,
                    "outcomes": d.outcomes.iter().map(|(s, o)| json!({"server": s, "outcome": o})).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
                "differences": r.differences.iter().map(|d| json!({"line": d.line, "sql": d.sql, "what": d.what})).collect::<Vec<_>>(),
            })
        })
        .collect();
    let secs = elapsed.as_secs_f64().max(1e-9);
    let total: Vec<Value> = servers
        .iter()
        .map(|s| {
            let t = totals(reports, s);
            json!({
                "server": s,
                "records": t.records(),
                "pass": t.pass,
                "fail": t.fail,
                "timeouts": t.timeouts,
                "skip": t.skip,
                "pass_percent": t.percent(),
            })
        })
        .collect();
    let all: usize = servers.iter().map(|s| totals(reports, s).records()).sum();
    let doc = json!({
        "ok": reports.iter().all(FileReport::ok),
        "files": files,
        "total": {
            "files": reports.len(),
            "failed_files": reports.iter().filter(|r| !r.ok()).count(),
            "differences": reports.iter().map(|r| r.differences.len()).sum::<usize>(),
            "outcome_differences": reports.iter().map(|r| r.outcome_diffs.len()).sum::<usize>(),
            "seconds": secs,
            "records_per_second": all as f64 / secs,
            "servers": total,
        },
    });
    serde_json::to_string_pretty(&doc).unwrap_or_else(|_| "{}".into())
}
