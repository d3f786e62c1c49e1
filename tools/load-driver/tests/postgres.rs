//! Runs the real `load-driver` binary against a throwaway PostgreSQL 15 (started with
//! `tools/pg-throwaway`): every workload for 2 seconds with 4 clients at each isolation level,
//! then the runs that prove the checks and modes work — a lost update is caught, a transaction
//! budget is met exactly, fixed-rate mode keeps its schedule, Ctrl-C prints a partial report.
//!
//! Skips, with a message, when PostgreSQL 15 is not installed. Everything happens in one test so
//! one server serves all of it; workloads that share a table run in different batches, because
//! their counting checks assume nobody else writes it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use load_driver::report::JSON_KEYS;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_load-driver");

/// A running throwaway server; stopped (and its directory removed) on drop.
struct Server {
    port: String,
    dir: String,
    script: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new(&self.script).args(["stop", &self.dir]).output();
    }
}

fn start_server() -> Option<Server> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../pg-throwaway");
    let out = Command::new(&script).arg("start").output().expect("run tools/pg-throwaway");
    if out.status.code() == Some(3) {
        return None;
    }
    assert!(out.status.success(), "pg-throwaway start failed: {}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let get = |key: &str| {
        stdout.lines().find_map(|l| l.strip_prefix(key)).map(str::to_string).expect("pg-throwaway printed it")
    };
    Some(Server { port: get("PGPORT="), dir: get("PGDATA_DIR="), script })
}

struct Ctx {
    conn: String,
    tmp: tempdir::Dir,
}

/// A minimal temporary directory (no extra dev-dependency).
mod tempdir {
    pub struct Dir(pub std::path::PathBuf);
    impl Dir {
        pub fn new() -> Dir {
            let p = std::env::temp_dir().join(format!("load-driver-test-{}", std::process::id()));
            std::fs::create_dir_all(&p).expect("create temp dir");
            Dir(p)
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

impl Ctx {
    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.args(["--conn", &self.conn, "--quiet"]).args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
        c
    }

    fn spawn(&self, name: &str, args: &[&str]) -> (String, PathBuf, Child) {
        let json = self.tmp.0.join(format!("{name}.json"));
        let mut all = args.to_vec();
        let path = json.to_string_lossy().to_string();
        all.extend(["--json", &path]);
        let child = self.command(&all).spawn().expect("start load-driver");
        (name.to_string(), json, child)
    }

    fn init(&self, args: &[&str]) {
        let out = self.command(&[&["--init-only"], args].concat()).output().expect("run load-driver");
        assert!(out.status.success(), "init {args:?}: {}", text(&out));
    }
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// Waits for a run and returns its exit code, output and JSON, checking the JSON's keys.
fn finish(name: &str, json: &Path, child: Child) -> (Option<i32>, String, Value) {
    let out = child.wait_with_output().expect("wait for load-driver");
    let log = text(&out);
    let body = std::fs::read_to_string(json).unwrap_or_else(|e| panic!("{name}: no JSON ({e}):\n{log}"));
    let v: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{name}: bad JSON ({e})"));
    for k in JSON_KEYS {
        assert!(v.get(*k).is_some(), "{name}: JSON lacks {k}");
    }
    for k in ["count", "mean", "min", "p50", "p95", "p99", "p999", "max"] {
        assert!(v["latency_us"].get(k).is_some(), "{name}: latency_us lacks {k}");
    }
    (out.status.code(), log, v)
}

fn check<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["checks"].as_array().and_then(|cs| cs.iter().find(|c| c["name"] == name)).expect("check present")
}

#[test]
fn every_workload_at_every_level_on_postgres() {
    let Some(server) = start_server() else {
        println!("SKIPPED: PostgreSQL 15 is not installed (tools/pg-throwaway exit 3); load-driver not run");
        return;
    };
    let t0 = Instant::now();
    let ctx = Ctx {
        conn: format!("host=127.0.0.1 port={} user=postgres dbname=postgres", server.port),
        tmp: tempdir::Dir::new(),
    };
    ctx.init(&["--workload", "point-select", "--rows", "20000"]);
    ctx.init(&["--workload", "insert"]);
    ctx.init(&["--workload", "tpcb", "--scale", "1"]);
    ctx.init(&["--workload", "bank", "--rows", "100"]);
    ctx.init(&["--workload", "disjoint", "--rows", "10000"]);
    ctx.init(&["--workload", "sibench", "--rows", "50"]);

    // Two batches per level; within a batch no two workloads write the same table.
    let batches: [&[&str]; 2] = [
        &["point-select", "point-update", "insert", "range-10", "tpcb", "bank", "smallbank"],
        &["range-100", "range-10k", "disjoint", "sibench", "oncall", "read-mostly"],
    ];
    for level in ["read-committed", "repeatable-read", "serializable"] {
        // A weaker level may leave a shift empty or savings negative; start each level clean.
        ctx.init(&["--workload", "oncall", "--rows", "10", "--doctors", "2"]);
        ctx.init(&["--workload", "smallbank", "--rows", "1000"]);
        for batch in batches {
            let runs: Vec<_> = batch
                .iter()
                .map(|w| {
                    ctx.spawn(
                        &format!("{w}-{level}"),
                        &[
                            "--workload",
                            w,
                            "--isolation",
                            level,
                            "--clients",
                            "4",
                            "--duration",
                            "2",
                            "--seed",
                            "7",
                        ],
                    )
                })
                .collect();
            for (name, json, child) in runs {
                let (code, log, v) = finish(&name, &json, child);
                assert_eq!(code, Some(0), "{name} failed:\n{log}");
                assert_eq!(v["passed"], true, "{name}:\n{log}");
                assert!(v["committed"].as_u64().unwrap_or(0) > 0, "{name} committed nothing:\n{log}");
                assert_eq!(v["client_errors"].as_array().map(Vec::len), Some(0), "{name}:\n{log}");
                assert_eq!(v["isolation"], level);
                assert_eq!(v["seed"], 7);
                if name.starts_with("bank-") {
                    assert_eq!(check(&v, "money conserved")["ok"], true, "{name}:\n{log}");
                }
                if name.starts_with("oncall-") {
                    let c = check(&v, "every shift covered");
                    if level == "serializable" {
                        assert_eq!(c["required"], true, "{log}");
                        assert_eq!(c["ok"], true, "SERIALIZABLE left a shift without a doctor:\n{log}");
                    }
                    println!("{name}: {}", c["detail"]);
                }
                println!(
                    "{name}: {} commits, {} tps, aborts {}",
                    v["committed"], v["tps"], v["aborts_by_sqlstate"]
                );
            }
        }
    }

    // Read-modify-write at READ COMMITTED loses updates on 5 hot accounts: the check must say so.
    ctx.init(&["--workload", "bank", "--rows", "5"]);
    let (name, json, child) = ctx.spawn(
        "bank-rmw-rc",
        &[
            "--workload",
            "bank",
            "--bank-style",
            "rmw",
            "--clients",
            "4",
            "--transactions",
            "3000",
            "--seed",
            "1",
        ],
    );
    let (code, log, v) = finish(&name, &json, child);
    assert_eq!(code, Some(1), "lost updates must fail the run:\n{log}");
    assert_eq!(check(&v, "money conserved")["ok"], false, "{log}");
    assert!(log.contains("FAILED"), "{log}");

    // A transaction budget at REPEATABLE READ with unlimited retries: exactly that many commit.
    let (name, json, child) = ctx.spawn(
        "bank-budget-rr",
        &["--workload", "bank", "--isolation", "repeatable-read", "--clients", "4", "--transactions", "1000"],
    );
    let (code, log, v) = finish(&name, &json, child);
    assert_eq!(code, Some(0), "{log}");
    assert_eq!(v["committed"], 1000, "{log}");
    assert_eq!(v["failed_total"], 0, "{log}");
    assert_eq!(v["bank_style"], "rmw");
    assert_eq!(v["retries"], v["aborts_total"], "every abort retried: {log}");

    // Fixed rate: 200 tps for 2 s schedules 400 transactions, with a server counter.
    let (name, json, child) = ctx.spawn(
        "fixed-rate",
        &[
            "--workload",
            "point-select",
            "--rate",
            "200",
            "--duration",
            "2",
            "--clients",
            "2",
            "--server-counter",
            "commits=SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()",
        ],
    );
    let (code, log, v) = finish(&name, &json, child);
    assert_eq!(code, Some(0), "{log}");
    assert_eq!(v["mode"], "fixed-rate");
    assert_eq!(v["fixed_rate"]["scheduled"], 400, "{log}");
    let committed = v["committed"].as_u64().unwrap_or(0);
    assert!((300..=400).contains(&committed), "{committed} of 400 on schedule:\n{log}");
    assert_eq!(v["server_counters"][0]["name"], "commits");

    // Ctrl-C: a partial report, JSON marked interrupted, exit status 130.
    let (name, json, mut child) = ctx.spawn("interrupted", &["--workload", "bank", "--duration", "60"]);
    std::thread::sleep(Duration::from_millis(1500));
    let killed = Command::new("kill").args(["-INT", &child.id().to_string()]).status().expect("kill");
    assert!(killed.success());
    let started = Instant::now();
    let out = loop {
        if let Some(_status) = child.try_wait().expect("wait") {
            break child;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "no exit after Ctrl-C");
        std::thread::sleep(Duration::from_millis(50));
    };
    let (code, log, v) = finish(&name, &json, out);
    assert_eq!(code, Some(130), "{log}");
    assert_eq!(v["interrupted"], true);
    assert!(log.contains("INTERRUPTED"), "{log}");
    assert_eq!(check(&v, "money conserved")["ok"], true, "{log}");

    println!("load-driver integration test took {:.1} s", t0.elapsed().as_secs_f64());
}
