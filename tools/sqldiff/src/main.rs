//! `sqldiff`: the differential runner. Runs `.slt` and plain `.sql` files against ssidb and/or
//! PostgreSQL and reports every failure and difference.
//!
//! ```text
//! sqldiff [--ssidb CONN] [--postgres CONN] [--label L]... [--jobs N] [--timeout SECS]
//!         [--render wire|sqlite] [--max-records N] [--compare] [--show N] [--slow SECS]
//!         [--json FILE] FILE|DIR...
//! ```
//!
//! * Each file gets a fresh database on every server (`sqldiff_<pid>_<n>`), dropped afterwards
//!   with `WITH (FORCE)`.
//! * `.slt`: every record runs on every server and passes or fails there on its own (see
//!   [`slt`]); the run continues after a failure; `halt` ends the file. Labels default to
//!   `postgresql`; the ssidb server also carries `ssidb`, so `onlyif ssidb` records are skipped on
//!   PostgreSQL. `--render sqlite` renders values by the record's declared column types as SQLite's
//!   harness does (the SQLite corpus needs it); `--max-records N` runs only the first N records of
//!   each file (a short form for CI).
//! * `--compare` (with both servers): lists every `.slt` record whose outcome (pass, fail, timeout,
//!   skip) differs between them.
//! * `.sql`: split into statements, each run on both servers, results compared (see [`sqlfile`]).
//!   With one server, statements just run (nothing to compare).
//! * Every record/statement is cancelled after `--timeout` seconds (default 10) and counts as
//!   failed (and timed out).
//! * `--jobs N` runs N files at once (the servers of one file run side by side); a progress bar
//!   on stderr, the first `--show` failures per file as files finish, a per-file table and totals
//!   (pass rate, records per second) at the end; `--json FILE` writes all of it, every failure
//!   and the records slower than `--slow` seconds included, as JSON. Exit status: 0 all passed and
//!   agreed, 1 a failure or difference, 2 bad usage.

mod progress;
mod raw;
mod report;
mod slt;
mod sqlfile;
mod target;
#[cfg(test)]
mod tests;

use futures_util::stream::{self, StreamExt};
use progress::Progress;
use report::{FileReport, ServerRun};
use slt::{Render, SltOptions};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};
use target::{Kind, Target};

const USAGE: &str =
    "usage: sqldiff [--ssidb CONN] [--postgres CONN] [--label L]... [--jobs N] [--timeout SECS]
               [--render wire|sqlite] [--max-records N] [--compare] [--show N] [--slow SECS]
               [--json FILE] FILE|DIR...

  --ssidb CONN       connection string of the ssidb server, e.g. \"host=127.0.0.1 port=5433\"
  --postgres CONN    connection string of the PostgreSQL server
  --label L          sqllogictest label for every server (repeatable; default postgresql)
  --jobs N           files run at once (default 1)
  --timeout SECS     cancel a record/statement running longer than this; it fails (default 10)
  --render MODE      .slt values: wire (the server's text, default) or sqlite (by the record's
                     declared column types I/R/T, as SQLite's slt_sqlite.c)
  --max-records N    run only the first N statement/query records of each .slt file
  --compare          with both servers: list the .slt records whose outcome differs
  --show N           failures printed per file and server (default 10; the JSON has all)
  --slow SECS        records at least this slow are listed in the JSON (default 1)
  --json FILE        also write the summary as JSON
  FILE|DIR           .slt and .sql files; directories are searched recursively
";

/// Parsed command line.
struct Options {
    targets: Vec<Target>,
    slt: SltOptions,
    jobs: usize,
    compare: bool,
    show: usize,
    json: Option<PathBuf>,
    paths: Vec<PathBuf>,
}

fn positive_secs(flag: &str, v: &str) -> Result<Duration, String> {
    let secs: f64 = v.parse().map_err(|_| format!("{flag} needs a number of seconds"))?;
    if !(secs > 0.0 && secs.is_finite()) {
        return Err(format!("{flag} needs a positive number of seconds"));
    }
    Ok(Duration::from_secs_f64(secs))
}

fn positive(flag: &str, v: &str) -> Result<usize, String> {
    match v.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("{flag} needs a positive number")),
    }
}

fn parse_args(args: Vec<String>) -> Result<Options, String> {
    let mut o = Options {
        targets: vec![],
        slt: SltOptions {
            labels: vec![],
            timeout: Duration::from_secs(10),
            render: Render::Wire,
            max_records: None,
            slow: Duration::from_secs(1),
        },
        jobs: 1,
        compare: false,
        show: 10,
        json: None,
        paths: vec![],
    };
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (a.clone(), None),
        };
        let mut value =
            |name: &str| inline.clone().or_else(|| it.next()).ok_or(format!("{name} needs a value"));
        match flag.as_str() {
            "--ssidb" => o.targets.push(Target::parse(Kind::Ssidb, &value("--ssidb")?)?),
            "--postgres" => o.targets.push(Target::parse(Kind::Postgres, &value("--postgres")?)?),
            "--label" => o.slt.labels.push(value("--label")?),
            "--jobs" | "-j" => o.jobs = positive("--jobs", &value("--jobs")?)?,
            "--timeout" => o.slt.timeout = positive_secs("--timeout", &value("--timeout")?)?,
            "--slow" => o.slt.slow = positive_secs("--slow", &value("--slow")?)?,
            "--render" => {
                o.slt.render = match value("--render")?.as_str() {
                    "wire" => Render::Wire,
                    "sqlite" => Render::Sqlite,
                    other => return Err(format!("--render takes wire or sqlite, not {other:?}")),
                }
            }
            "--max-records" => o.slt.max_records = Some(positive("--max-records", &value("--max-records")?)?),
            "--compare" => o.compare = true,
            "--show" => o.show = value("--show")?.parse().map_err(|_| "--show needs a number".to_string())?,
            "--json" => o.json = Some(PathBuf::from(value("--json")?)),
            "-h" | "--help" => return Err(String::new()),
            f if f.starts_with('-') => return Err(format!("unknown option {f}")),
            _ => o.paths.push(PathBuf::from(a)),
        }
    }
    if o.targets.is_empty() {
        return Err("give at least one server (--ssidb and/or --postgres)".into());
    }
    if o.targets.iter().filter(|t| t.kind == Kind::Ssidb).count() > 1
        || o.targets.iter().filter(|t| t.kind == Kind::Postgres).count() > 1
    {
        return Err("give each of --ssidb and --postgres at most once".into());
    }
    if o.compare && o.targets.len() < 2 {
        return Err("--compare needs both --ssidb and --postgres".into());
    }
    if o.paths.is_empty() {
        return Err("no files given".into());
    }
    if o.slt.labels.is_empty() {
        o.slt.labels.push("postgresql".into());
    }
    Ok(o)
}

/// Expands directories into their `.slt`/`.sql` files, sorted.
fn collect_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
        let entries = std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
        for e in entries {
            let p = e.map_err(|e| format!("cannot read {}: {e}", dir.display()))?.path();
            if p.is_dir() {
                walk(&p, out)?;
            } else if p.extension().is_some_and(|x| x == "slt" || x == "sql") {
                out.push(p);
            }
        }
        Ok(())
    }
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut found = Vec::new();
            walk(p, &mut found)?;
            found.sort();
            files.extend(found);
        } else if p.is_file() {
            files.push(p.clone());
        } else {
            return Err(format!("{}: no such file or directory", p.display()));
        }
    }
    Ok(files)
}

/// Runs one file on every target.
async fn run_one(index: usize, path: PathBuf, o: &Options, progress: &Progress) -> FileReport {
    let database = format!("sqldiff_{}_{index}", std::process::id());
    let is_sql = path.extension().is_some_and(|x| x == "sql");
    let mut report = FileReport::new(&path, if is_sql { "sql" } else { "slt" });
    let mut created = Vec::new();
    for t in &o.targets {
        match t.create_database(&database).await {
            Ok(()) => created.push(t.clone()),
            Err(e) => report.fatal.push(e),
        }
    }
    if report.fatal.is_empty() {
        if is_sql {
            run_sql(&path, &database, o, &mut report).await;
        } else {
            let runs = futures_util::future::join_all(
                o.targets.iter().map(|t| slt::run_file(&path, t, &database, &o.slt, progress)),
            )
            .await;
            for (t, run) in o.targets.iter().zip(runs) {
                report.servers.push(ServerRun::from_slt(&t.name, run));
            }
            if o.compare {
                report.compare_outcomes();
            }
        }
    }
    for t in &created {
        if let Err(e) = t.drop_database(&database).await {
            report.fatal.push(e);
        }
    }
    report
}

async fn run_sql(path: &Path, database: &str, o: &Options, report: &mut FileReport) {
    let script = match std::fs::read_to_string(path) {
        Ok(s) => s,
        Err(e) => {
            report.fatal.push(format!("cannot read: {e}"));
            return;
        }
    };
    let statements = sqlfile::split(&script);
    let mut clients = Vec::new();
    for t in &o.targets {
        match raw::RawClient::connect(&t.endpoint, database).await {
            Ok(c) => clients.push((t.name.clone(), c)),
            Err(e) => {
                report.fatal.push(format!("{}: cannot connect: {e}", t.name));
                return;
            }
        }
    }
    report.statements = statements.len();
    match sqlfile::run(&statements, &mut clients, o.slt.timeout).await {
        Ok(diffs) => report.differences = diffs,
        Err(e) => report.fatal.push(e),
    }
    for (_, c) in clients {
        c.close().await;
    }
}

async fn run_all(o: Options) -> ExitCode {
    let files = match collect_files(&o.paths) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("sqldiff: {e}");
            return ExitCode::from(2);
        }
    };
    let started = Instant::now();
    let total = files.len();
    let servers = o.targets.len();
    let estimates: Vec<usize> = files
        .iter()
        .map(|f| {
            let n = slt::estimate_records(f);
            o.slt.max_records.map_or(n, |m| n.min(m)) * servers
        })
        .collect();
    let progress = Progress::new(total, estimates.iter().sum());
    let drawer = tokio::spawn(progress.clone().draw());
    let o = &o;
    let mut done = 0;
    let mut reports: Vec<(usize, FileReport)> = Vec::new();
    let mut results = stream::iter(files.into_iter().enumerate())
        .map(|(i, f)| {
            let progress = progress.clone();
            async move { (i, run_one(i, f, o, &progress).await) }
        })
        .buffer_unordered(o.jobs);
    while let Some((i, r)) = results.next().await {
        done += 1;
        let ran: usize = r.servers.iter().map(ServerRun::records).sum();
        progress.file_done(estimates[i], ran);
        progress.println(&format!("[{done}/{total}] {} {}", r.file, if r.ok() { "ok" } else { "FAILED" }));
        r.print_details(o.show);
        reports.push((i, r));
    }
    progress.finish();
    let _ = drawer.await;
    let elapsed = started.elapsed();
    reports.sort_by_key(|(i, _)| *i);
    let reports: Vec<FileReport> = reports.into_iter().map(|(_, r)| r).collect();
    let names: Vec<String> = o.targets.iter().map(|t| t.name.clone()).collect();
    report::print_table(&reports, &names, elapsed);
    if let Some(path) = &o.json {
        if let Err(e) = std::fs::write(path, report::json(&reports, &names, elapsed)) {
            eprintln!("sqldiff: cannot write {}: {e}", path.display());
            return ExitCode::from(2);
        }
    }
    if reports.iter().all(FileReport::ok) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn main() -> ExitCode {
    let o = match parse_args(std::env::args().skip(1).collect()) {
        Ok(o) => o,
        Err(msg) => {
            if !msg.is_empty() {
                eprintln!("sqldiff: {msg}");
            }
            eprint!("{USAGE}");
            return if msg.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(2) };
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("sqldiff: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run_all(o))
}
