//! End-to-end tests of the runner against an in-process ssidb server (no PostgreSQL needed):
//! per-record results that go on after a failure, `onlyif`/`skipif` counting, `halt`, the
//! statement-by-statement comparison of `.sql` files, and the per-record cancel.

use crate::progress::Progress;
use crate::report::FileReport;
use crate::slt::{Render, SltOptions};
use crate::target::{Kind, Target};
use crate::{run_one, Options};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

fn server_port() -> u16 {
    static PORT: OnceLock<u16> = OnceLock::new();
    *PORT.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_stack_size(ssidb::sql::session::STACK_SIZE)
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let cluster = ssidb::sql::cluster::Cluster::new_in_memory().expect("cluster");
                let config = ssidb::server::Config { listen: "127.0.0.1:0".into(), ..Default::default() };
                let handle = ssidb::server::start(config, cluster).await.expect("server");
                tx.send(handle.addr.port()).expect("port");
                std::future::pending::<()>().await;
            });
        });
        rx.recv().expect("port")
    })
}

fn write(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sqldiff-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path
}

/// Tests run in parallel: each file gets its own database.
static NEXT_DB: AtomicUsize = AtomicUsize::new(0);

fn run(targets: Vec<Target>, path: PathBuf, timeout: Duration) -> FileReport {
    run_with(targets, path, timeout, Render::Wire, None)
}

fn run_with(
    targets: Vec<Target>,
    path: PathBuf,
    timeout: Duration,
    render: Render,
    max_records: Option<usize>,
) -> FileReport {
    let compare = targets.len() > 1;
    let o = Options {
        targets,
        slt: SltOptions {
            labels: vec!["postgresql".into()],
            timeout,
            render,
            max_records,
            slow: Duration::from_secs(1),
        },
        jobs: 1,
        compare,
        show: 10,
        json: None,
        paths: vec![],
    };
    let progress = Progress::new(1, 0);
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime").block_on(run_one(
        NEXT_DB.fetch_add(1, Ordering::SeqCst),
        path,
        &o,
        &progress,
    ))
}

fn ssidb() -> Target {
    Target::parse(Kind::Ssidb, &format!("host=127.0.0.1 port={}", server_port())).expect("target")
}

#[test]
fn slt_records_are_counted_and_the_run_goes_on_after_a_failure() {
    let path = write(
        "records.slt",
        "statement ok\nSET application_name = 'a'\n\n\
         query T\nSHOW application_name\n----\nwrong\n\n\
         onlyif ssidb\nquery T\nSHOW application_name\n----\na\n\n\
         skipif ssidb\nstatement ok\nSHOW nope\n\n\
         onlyif mysql\nstatement ok\nSHOW nope\n\n\
         statement error (42704)\nSHOW nope\n\nhalt\n\nstatement ok\nSHOW nope\n",
    );
    let r = run(vec![ssidb()], path, Duration::from_secs(10));
    assert!(r.fatal.is_empty(), "{:?}", r.fatal);
    let s = &r.servers[0];
    assert_eq!((s.pass, s.fail, s.skip), (3, 1, 2), "{s:?}");
    assert_eq!(s.failures[0].0, 4);
    assert!(!r.ok());
}

#[test]
fn sql_files_compare_statement_by_statement() {
    let path =
        write("same.sql", "SHOW datestyle;\nBEGIN;\nSHOW nope;\nCOMMIT;\nSET datestyle = 'postgres';\n");
    let mut other = ssidb();
    other.name = "ssidb-again".into();
    let r = run(vec![ssidb(), other], path, Duration::from_secs(10));
    assert!(r.fatal.is_empty(), "{:?}", r.fatal);
    assert_eq!(r.statements, 5);
    assert!(r.differences.is_empty(), "{:?}", r.differences);
    assert!(r.ok());
}

#[test]
fn a_statement_past_the_timeout_is_cancelled_and_fails_alone() {
    // The first record leaves a block open holding the database-wide DDL lock on connection
    // `holder`; the second waits for it on the default connection and is cancelled.
    let path = write(
        "timeout.slt",
        "connection holder\nstatement error\nBEGIN; CREATE TABLE held (a int)\n\n\
         statement ok\nCREATE TABLE waits (a int)\n\n\
         connection holder\nstatement ok\nROLLBACK\n\n\
         query T\nSHOW datestyle\n----\nISO, MDY\n",
    );
    let started = std::time::Instant::now();
    let r = run(vec![ssidb()], path, Duration::from_millis(500));
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(r.fatal.is_empty(), "{:?}", r.fatal);
    let s = &r.servers[0];
    // The holder's record (line 2) expects the 0A000 of an engine without CREATE TABLE and may
    // fail once the engine has it; the waiter (line 5) fails by being cancelled; the rest pass.
    let waiter = s.failures.iter().find(|(line, _)| *line == 5).expect("the waiter must fail");
    assert!(waiter.1.contains("cancelled after"), "{:?}", s.failures);
    assert!(s.failures.iter().all(|(line, _)| *line <= 2 || *line == 5), "{:?}", s.failures);
    assert_eq!(s.pass + s.fail, 4, "{s:?}");
}

#[test]
fn sqlite_rendering_follows_the_declared_types_and_hashes_valuewise() {
    // 3 rows x 3 columns = 9 values > hash-threshold 8: compared as an md5 of the rendered values.
    // The hash below is of "1\n1.500\nx\n2\n2.500\n(empty)\n3\nNULL\n@b\n" (the values rendered
    // as I, R, T: numeric 1.9 truncated, float 1.5 as %.3f, '' as (empty), a tab as @).
    let path = write(
        "render.slt",
        "hash-threshold 8\n\ncontrol resultmode valuewise\n\n\
         query IRT nosort\nSELECT 1.9::numeric, 1.5::float8, 'x'\n----\n1\n1.500\nx\n\n\
         query IRT rowsort\nVALUES (1.9, 1.5::float8, 'x'), (2, 2.5, ''), (3, NULL, E'\\tb')\n----\n\
         9 values hashing to 3bb0054fee7539edae229b94f1dc38f0\n\n\
         query II nosort\nSELECT true, false\n----\n1\n0\n\n\
         query I nosort\nSELECT 1, 2\n----\n1\n2\n",
    );
    let r = run_with(vec![ssidb()], path, Duration::from_secs(10), Render::Sqlite, None);
    assert!(r.fatal.is_empty(), "{:?}", r.fatal);
    let s = &r.servers[0];
    // The last record declares one column for two: refused like the original harness does.
    assert_eq!(s.failures.iter().map(|(l, _)| *l).collect::<Vec<_>>(), vec![23], "{s:?}");
    assert_eq!((s.pass, s.fail), (3, 1), "{s:?}");
}

#[test]
fn max_records_runs_only_the_first_records() {
    let path = write(
        "limit.slt",
        "statement ok\nSET application_name = 'a'\n\nquery T\nSHOW application_name\n----\na\n\n\
         statement ok\nSHOW nope\n",
    );
    let r = run_with(vec![ssidb()], path, Duration::from_secs(10), Render::Wire, Some(2));
    let s = &r.servers[0];
    assert_eq!((s.pass, s.fail, s.skip), (2, 0, 0), "{s:?}");
    assert!(r.ok());
}

#[test]
fn compare_lists_the_records_whose_outcome_differs() {
    // The "postgres" target is the same ssidb server without the ssidb label: the `onlyif ssidb`
    // record runs on one and is skipped on the other; the failing record fails on both.
    let mut other =
        Target::parse(Kind::Postgres, &format!("host=127.0.0.1 port={}", server_port())).expect("target");
    other.name = "other".into();
    let path = write(
        "compare.slt",
        "query I\nSELECT 1\n----\n1\n\nonlyif ssidb\nquery I\nSELECT 2\n----\n2\n\n\
         query I\nSELECT 3\n----\n4\n",
    );
    let r = run_with(vec![ssidb(), other], path, Duration::from_secs(10), Render::Wire, None);
    assert!(r.fatal.is_empty(), "{:?}", r.fatal);
    assert_eq!(r.outcome_diffs.len(), 1, "{:?}", r.outcome_diffs);
    let d = &r.outcome_diffs[0];
    assert_eq!(d.line, 7);
    assert_eq!(d.outcomes, vec![("ssidb".to_string(), "pass"), ("other".to_string(), "skip")]);
    assert!(!r.ok());
}

/// SQLite's corpus beside the repository (`../shared/corpora/sqlite`, or `$SQLITE_CORPUS`).
fn sqlite_corpus() -> Option<PathBuf> {
    let dir = match std::env::var_os("SQLITE_CORPUS") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora/sqlite"),
    };
    dir.is_dir().then_some(dir)
}

#[test]
fn sqlite_corpus_select1_to_3_pass() {
    // The fixed slice of SQLite's corpus that `cargo test` runs (the whole corpus is
    // `tools/sqlite-corpus/run`): every record must pass, rendered as the original harness does.
    let Some(dir) = sqlite_corpus() else {
        eprintln!("SQLite corpus not found (../shared/corpora/sqlite, $SQLITE_CORPUS): skipped");
        return;
    };
    for name in ["select1.slt", "select2.slt", "select3.slt"] {
        let r = run_with(vec![ssidb()], dir.join(name), Duration::from_secs(10), Render::Sqlite, None);
        assert!(r.fatal.is_empty(), "{name}: {:?}", r.fatal);
        let s = &r.servers[0];
        assert!(s.fatal.is_none(), "{name}: {:?}", s.fatal);
        assert!(s.pass > 1000, "{name}: only {} records ran", s.pass);
        assert_eq!(s.fail, 0, "{name}: {:?}", s.failures.iter().take(5).collect::<Vec<_>>());
    }
}
