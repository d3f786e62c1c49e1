//! The result of a run: every figure, as text for people and as JSON for scripts.
//!
//! The JSON object's keys (all always present; `null` where a figure does not apply):
//!
//! | key | meaning |
//! |---|---|
//! | `tool`, `version` | `"load-driver"` and the crate version |
//! | `workload`, `isolation`, `clients`, `mode`, `rate`, `duration_s`, `transactions_target`, `seed`, `retries_limit`, `bank_style`, `conn` | the configuration |
//! | `rows`, `scale`, `doctors` | the data the run found |
//! | `elapsed_s` | from the first transaction's start to the last client's end |
//! | `committed`, `tps` | committed logical transactions, and per second |
//! | `rolled_back` | transactions the workload rolled back on purpose |
//! | `retries`, `retries_per_commit` | attempts repeated after 40001/40P01 |
//! | `aborts_total`, `aborts_by_sqlstate` | failed attempts, by SQLSTATE |
//! | `failed_total`, `failed_by_sqlstate` | transactions given up, by their last SQLSTATE |
//! | `abandoned` | transactions cut off mid-retry by the end of the run |
//! | `errors`, `client_errors` | failed transactions plus clients lost; the lost clients' messages |
//! | `latency_us` | `count`, `mean`, `min`, `p50`, `p95`, `p99`, `p999`, `max` from the intended start |
//! | `service_us` | the same from the first attempt's actual start (equal in closed loop) |
//! | `fixed_rate` | `scheduled` and `started` transactions in fixed-rate mode |
//! | `server_counters` | `[{name, sql, before, after, delta}]` |
//! | `checks` | `[{name, ok, required, detail}]` |
//! | `tally` | the workload's own count over commits (increments, empty shifts seen) |
//! | `progress` | one `{t_s, tps, p99_us, aborts}` per second |
//! | `interrupted`, `passed` | Ctrl-C ended the run; the run passed |

use std::fmt::Write as _;
use std::time::Duration;

use serde_json::{json, Value};

use crate::cli::{Config, StopRule};
use crate::db::UNEXPECTED_RESULT;
use crate::stats::{human_micros, retries_per_commit, tps, ClientStats, LatencySummary};
use crate::workload::checks::Check;
use crate::workload::{Kind, Shape};

/// A server counter's two readings.
#[derive(Debug, Clone, PartialEq)]
pub struct CounterResult {
    /// The counter's name.
    pub name: String,
    /// Its query.
    pub sql: String,
    /// Value before the load.
    pub before: f64,
    /// Value after the load.
    pub after: f64,
}

/// One line of live progress.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProgressSample {
    /// Seconds since the start.
    pub t_s: f64,
    /// Commits per second over the last interval.
    pub tps: f64,
    /// p99 latency so far, µs.
    pub p99_us: u64,
    /// Failed attempts so far.
    pub aborts: u64,
}

impl ProgressSample {
    /// The stderr line.
    pub fn line(&self) -> String {
        format!(
            "progress: {:6.1} s  {:9.1} tps  p99 {:>9}  aborts {}",
            self.t_s,
            self.tps,
            human_micros(self.p99_us),
            self.aborts
        )
    }
}

/// Everything a run produced.
#[derive(Debug, Clone)]
pub struct Report {
    /// The configuration.
    pub config: Config,
    /// The data's shape.
    pub shape: Shape,
    /// Wall time of the load.
    pub elapsed: Duration,
    /// All clients' counts merged.
    pub totals: ClientStats,
    /// Messages of clients that stopped early.
    pub client_errors: Vec<String>,
    /// Server counters.
    pub counters: Vec<CounterResult>,
    /// End-of-run checks.
    pub checks: Vec<Check>,
    /// Per-second progress.
    pub progress: Vec<ProgressSample>,
    /// Fixed-rate mode: (scheduled by the end, actually started).
    pub fixed_rate: Option<(u64, u64)>,
    /// Ctrl-C ended the run.
    pub interrupted: bool,
}

impl Report {
    /// Failed transactions plus lost clients.
    pub fn errors(&self) -> u64 {
        self.totals.total_failed() + self.client_errors.len() as u64
    }

    /// The run passed: every required check held, no client was lost, and no result was
    /// unusable. (Transactions that failed with a SQLSTATE do not fail the run; they are counted.)
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.ok || !c.required)
            && self.client_errors.is_empty()
            && !self.totals.aborts.contains_key(UNEXPECTED_RESULT)
    }

    /// The human-readable report.
    pub fn text(&self) -> String {
        let c = &self.config;
        let t = &self.totals;
        let mut s = String::new();
        let mode = match c.rate {
            Some(r) => format!("fixed rate {r} tps"),
            None => "closed loop".into(),
        };
        let _ = writeln!(
            s,
            "load-driver: {} at {}, {} clients, {mode}, seed {}{}",
            c.workload.name(),
            c.isolation.name(),
            c.clients,
            c.seed,
            if self.interrupted { " (INTERRUPTED: partial results)" } else { "" }
        );
        let _ = writeln!(s, "  elapsed         {:.2} s", self.elapsed.as_secs_f64());
        let _ = writeln!(s, "  committed       {} ({:.1} tps)", t.committed, tps(t.committed, self.elapsed));
        if t.rolled_back > 0 {
            let _ = writeln!(s, "  rolled back     {} (by the workload's rules)", t.rolled_back);
        }
        let lat = |name: &str, l: LatencySummary| {
            format!(
                "  {name:<15} p50 {}  p95 {}  p99 {}  p99.9 {}  max {}  (mean {})\n",
                human_micros(l.p50),
                human_micros(l.p95),
                human_micros(l.p99),
                human_micros(l.p999),
                human_micros(l.max),
                human_micros(l.mean as u64)
            )
        };
        s += &lat("latency", LatencySummary::of(&t.latency));
        if c.rate.is_some() {
            s += &lat("service time", LatencySummary::of(&t.service));
        }
        if let Some((scheduled, started)) = self.fixed_rate {
            let _ = writeln!(s, "  schedule        {started} of {scheduled} scheduled transactions started");
        }
        let _ = writeln!(s, "  aborts          {}{}", t.total_aborts(), by_state(&t.aborts));
        let _ = writeln!(
            s,
            "  retries         {} ({:.4} per commit)",
            t.retries,
            retries_per_commit(t.retries, t.committed)
        );
        let _ = writeln!(s, "  failed          {}{}", t.total_failed(), by_state(&t.failed));
        if t.abandoned > 0 {
            let _ = writeln!(s, "  abandoned       {} (mid-retry when the run stopped)", t.abandoned);
        }
        let _ = writeln!(s, "  errors          {}", self.errors());
        for e in &self.client_errors {
            let _ = writeln!(s, "  client error    {e}");
        }
        for k in &self.counters {
            let _ = writeln!(
                s,
                "  server counter  {}: {} -> {} ({:+})",
                k.name,
                k.before,
                k.after,
                k.after - k.before
            );
        }
        for ch in &self.checks {
            let verdict = match (ch.ok, ch.required) {
                (true, _) => "ok",
                (false, true) => "FAILED",
                (false, false) => "anomaly (allowed at this level)",
            };
            let _ = writeln!(s, "  check           {}: {verdict} ({})", ch.name, ch.detail);
        }
        let _ = writeln!(s, "result: {}", if self.passed() { "PASS" } else { "FAIL" });
        s
    }

    /// The JSON result (see the module docs for the keys).
    pub fn json(&self) -> Value {
        let c = &self.config;
        let t = &self.totals;
        let latency = |l: LatencySummary| {
            json!({
                "count": l.count, "mean": l.mean, "min": l.min, "p50": l.p50, "p95": l.p95,
                "p99": l.p99, "p999": l.p999, "max": l.max,
            })
        };
        let (duration_s, transactions_target) = match c.stop {
            StopRule::Duration(d) => (Some(d.as_secs_f64()), None),
            StopRule::Transactions(n) => (None, Some(n)),
        };
        json!({
            "tool": "load-driver",
            "version": env!("CARGO_PKG_VERSION"),
            "workload": c.workload.name(),
            "isolation": c.isolation.name(),
            "clients": c.clients,
            "mode": if c.rate.is_some() { "fixed-rate" } else { "closed-loop" },
            "rate": c.rate,
            "duration_s": duration_s,
            "transactions_target": transactions_target,
            "seed": c.seed,
            "retries_limit": c.retries.describe(),
            "bank_style": (c.workload == Kind::Bank).then(|| c.effective_bank_style().name()),
            "conn": c.conn,
            "rows": self.shape.rows,
            "scale": (c.workload == Kind::TpcB).then_some(self.shape.scale),
            "doctors": (c.workload == Kind::OnCall).then_some(self.shape.doctors),
            "elapsed_s": self.elapsed.as_secs_f64(),
            "committed": t.committed,
            "tps": tps(t.committed, self.elapsed),
            "rolled_back": t.rolled_back,
            "retries": t.retries,
            "retries_per_commit": retries_per_commit(t.retries, t.committed),
            "aborts_total": t.total_aborts(),
            "aborts_by_sqlstate": t.aborts,
            "failed_total": t.total_failed(),
            "failed_by_sqlstate": t.failed,
            "abandoned": t.abandoned,
            "errors": self.errors(),
            "client_errors": self.client_errors,
            "latency_us": latency(LatencySummary::of(&t.latency)),
            "service_us": latency(LatencySummary::of(&t.service)),
            "fixed_rate": self.fixed_rate.map(|(scheduled, started)| json!({"scheduled": scheduled, "started": started})),
            "server_counters": self.counters.iter().map(|k| json!({
                "name": k.name, "sql": k.sql, "before": k.before, "after": k.after, "delta": k.after - k.before,
            })).collect::<Vec<_>>(),
            "checks": self.checks.iter().map(|ch| json!({
                "name": ch.name, "ok": ch.ok, "required": ch.required, "detail": ch.detail,
            })).collect::<Vec<_>>(),
            "tally": t.tally,
            "progress": self.progress.iter().map(|p| json!({
                "t_s": p.t_s, "tps": p.tps, "p99_us": p.p99_us, "aborts": p.aborts,
            })).collect::<Vec<_>>(),
            "interrupted": self.interrupted,
            "passed": self.passed(),
        })
    }
}

/// `(40001: 12, 40P01: 1)`, or nothing when empty.
fn by_state(m: &std::collections::BTreeMap<String, u64>) -> String {
    if m.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = m.iter().map(|(k, v)| format!("{k}: {v}")).collect();
    format!(" ({})", parts.join(", "))
}

/// The keys every JSON result has (the integration test asserts them).
pub const JSON_KEYS: &[&str] = &[
    "tool",
    "version",
    "workload",
    "isolation",
    "clients",
    "mode",
    "rate",
    "duration_s",
    "transactions_target",
    "seed",
    "retries_limit",
    "bank_style",
    "conn",
    "rows",
    "scale",
    "doctors",
    "elapsed_s",
    "committed",
    "tps",
    "rolled_back",
    "retries",
    "retries_per_commit",
    "aborts_total",
    "aborts_by_sqlstate",
    "failed_total",
    "failed_by_sqlstate",
    "abandoned",
    "errors",
    "client_errors",
    "latency_us",
    "service_us",
    "fixed_rate",
    "server_counters",
    "checks",
    "tally",
    "progress",
    "interrupted",
    "passed",
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{parse, Command};
    use crate::workload::test_support::shape;

    fn report(args: &str) -> Report {
        let a: Vec<String> = args.split_whitespace().map(String::from).collect();
        let Ok(Command::Run(config)) = parse(&a, 1) else { panic!() };
        let mut totals = ClientStats::default();
        for ms in [1, 2, 3, 4] {
            totals.record_commit(Duration::from_millis(ms), Duration::from_millis(ms), 1);
        }
        totals.retries = 2;
        totals.aborts.insert("40001".into(), 2);
        Report {
            config: *config,
            shape: shape(Kind::Bank, 10, 1),
            elapsed: Duration::from_secs(2),
            totals,
            client_errors: vec![],
            counters: vec![CounterResult {
                name: "x".into(),
                sql: "SELECT 1".into(),
                before: 1.0,
                after: 4.0,
            }],
            checks: vec![Check { name: "c".into(), ok: true, required: true, detail: "d".into() }],
            progress: vec![ProgressSample { t_s: 1.0, tps: 2.0, p99_us: 3, aborts: 1 }],
            fixed_rate: None,
            interrupted: false,
        }
    }

    #[test]
    fn json_has_every_key_and_right_figures() {
        let r = report("--workload bank --clients 2");
        let j = r.json();
        let obj = j.as_object().unwrap();
        for k in JSON_KEYS {
            assert!(obj.contains_key(*k), "missing {k}");
        }
        assert_eq!(obj.len(), JSON_KEYS.len(), "JSON_KEYS is complete");
        assert_eq!(j["committed"], 4);
        assert_eq!(j["tps"], 2.0);
        assert_eq!(j["retries_per_commit"], 0.5);
        assert_eq!(j["aborts_by_sqlstate"]["40001"], 2);
        assert_eq!(j["server_counters"][0]["delta"], 3.0);
        assert_eq!(j["bank_style"], "delta");
        assert_eq!(j["passed"], true);
        let p50 = j["latency_us"]["p50"].as_u64().unwrap();
        assert!((1_999..=2_001).contains(&p50), "{p50}");
    }

    #[test]
    fn failing_required_check_fails_the_run_but_allowed_anomaly_does_not() {
        let mut r = report("--workload bank");
        r.checks[0].ok = false;
        assert!(!r.passed());
        assert!(r.text().contains("FAILED"));
        r.checks[0].required = false;
        assert!(r.passed());
        assert!(r.text().contains("anomaly"));
        r.client_errors.push("client 0: gone".into());
        assert!(!r.passed());
        assert_eq!(r.errors(), 1);
    }

    #[test]
    fn text_mentions_the_figures() {
        let t = report("--workload bank").text();
        for needle in
            ["committed       4 (2.0 tps)", "40001: 2", "0.5000 per commit", "x: 1 -> 4 (+3)", "PASS"]
        {
            assert!(t.contains(needle), "{needle} in\n{t}");
        }
    }
}
