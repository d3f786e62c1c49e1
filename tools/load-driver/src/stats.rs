//! What each client counts, and the arithmetic that turns counts into a report.
//!
//! Every client owns one [`ClientStats`] behind its own mutex: it locks it once per finished
//! transaction (uncontended), and the progress printer locks each one once per second to
//! [`merge`](ClientStats::merge) a snapshot. Latencies go into HDR histograms in microseconds with
//! three significant digits (0.1% relative error) from 1 µs to one hour; larger values are clamped
//! to the top rather than dropped, so a stall still shows in `max`.
//!
//! Two histograms, because they differ exactly when coordinated omission would hide a stall:
//! - `latency`: from the transaction's *intended* start (fixed-rate mode) or its actual start
//!   (closed loop) to its commit, across all its retries. This is what a user waits.
//! - `service`: from the first attempt's actual start to the commit.
//!
//! Counting rules (one logical transaction = one generated transaction, however many attempts):
//! - `committed`: logical transactions that committed. TPS counts only these.
//! - `rolled_back`: logical transactions the workload itself rolled back (SmallBank's overdraft
//!   rules); not errors.
//! - `aborts`: every failed *attempt*, by SQLSTATE (a transaction retried twice adds two).
//! - `retries`: attempts started again after a 40001/40P01.
//! - `failed`: logical transactions given up, by the SQLSTATE of their last attempt.
//! - `abandoned`: transactions cut off by the end of the run while retrying.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;

/// Largest latency recorded exactly, in microseconds (one hour).
const MAX_MICROS: u64 = 3_600_000_000;

/// A new latency histogram (µs, 3 significant digits).
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_MICROS, 3).expect("constant histogram bounds are valid")
}

/// Everything one client has counted so far.
#[derive(Debug, Clone)]
pub struct ClientStats {
    /// Latency of committed transactions from their intended (or actual) start, µs.
    pub latency: Histogram<u64>,
    /// Latency of committed transactions from their first attempt's actual start, µs.
    pub service: Histogram<u64>,
    /// Committed logical transactions.
    pub committed: u64,
    /// Logical transactions the workload rolled back on purpose.
    pub rolled_back: u64,
    /// Attempts retried after 40001/40P01.
    pub retries: u64,
    /// Failed attempts by SQLSTATE (or pseudo-state).
    pub aborts: BTreeMap<String, u64>,
    /// Logical transactions given up, by the SQLSTATE of the last attempt.
    pub failed: BTreeMap<String, u64>,
    /// Transactions abandoned mid-retry because the run stopped.
    pub abandoned: u64,
    /// The workload's own tally over committed transactions (see each workload's docs).
    pub tally: i64,
    /// Why this client stopped early, if it did.
    pub fatal: Option<String>,
}

impl Default for ClientStats {
    fn default() -> ClientStats {
        ClientStats {
            latency: new_histogram(),
            service: new_histogram(),
            committed: 0,
            rolled_back: 0,
            retries: 0,
            aborts: BTreeMap::new(),
            failed: BTreeMap::new(),
            abandoned: 0,
            tally: 0,
            fatal: None,
        }
    }
}

impl ClientStats {
    /// Records a commit with its two latencies.
    pub fn record_commit(&mut self, latency: Duration, service: Duration, tally: i64) {
        self.committed += 1;
        self.tally += tally;
        self.latency.saturating_record(micros(latency));
        self.service.saturating_record(micros(service));
    }

    /// Adds `other`'s counts into `self`.
    pub fn merge(&mut self, other: &ClientStats) {
        // Same bounds on both sides, so adding cannot fail; clamp-on-record keeps values in range.
        let _ = self.latency.add(&other.latency);
        let _ = self.service.add(&other.service);
        self.committed += other.committed;
        self.rolled_back += other.rolled_back;
        self.retries += other.retries;
        add_counts(&mut self.aborts, &other.aborts);
        add_counts(&mut self.failed, &other.failed);
        self.abandoned += other.abandoned;
        self.tally += other.tally;
    }

    /// Failed attempts of every kind.
    pub fn total_aborts(&self) -> u64 {
        self.aborts.values().sum()
    }

    /// Logical transactions given up.
    pub fn total_failed(&self) -> u64 {
        self.failed.values().sum()
    }
}

fn add_counts(into: &mut BTreeMap<String, u64>, from: &BTreeMap<String, u64>) {
    for (k, v) in from {
        *into.entry(k.clone()).or_default() += v;
    }
}

/// A duration in whole microseconds, at least 1 (the histogram's lowest value).
pub fn micros(d: Duration) -> u64 {
    (d.as_micros().min(u128::from(u64::MAX)) as u64).max(1)
}

/// Percentiles of one histogram, in microseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LatencySummary {
    /// Number of values.
    pub count: u64,
    /// Mean.
    pub mean: f64,
    /// Smallest value.
    pub min: u64,
    /// Median.
    pub p50: u64,
    /// 95th percentile.
    pub p95: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    pub p999: u64,
    /// Largest value.
    pub max: u64,
}

impl LatencySummary {
    /// Summarises `h`; all zero when it is empty.
    pub fn of(h: &Histogram<u64>) -> LatencySummary {
        if h.is_empty() {
            return LatencySummary { count: 0, mean: 0.0, min: 0, p50: 0, p95: 0, p99: 0, p999: 0, max: 0 };
        }
        LatencySummary {
            count: h.len(),
            mean: h.mean(),
            min: h.min(),
            p50: h.value_at_quantile(0.50),
            p95: h.value_at_quantile(0.95),
            p99: h.value_at_quantile(0.99),
            p999: h.value_at_quantile(0.999),
            max: h.max(),
        }
    }
}

/// Committed transactions per second over `elapsed` (0 for an empty interval).
pub fn tps(committed: u64, elapsed: Duration) -> f64 {
    let secs = elapsed.as_secs_f64();
    if secs > 0.0 {
        committed as f64 / secs
    } else {
        0.0
    }
}

/// Retries per committed transaction (0 when nothing committed).
pub fn retries_per_commit(retries: u64, committed: u64) -> f64 {
    if committed == 0 {
        0.0
    } else {
        retries as f64 / committed as f64
    }
}

/// Formats microseconds for humans: `850us`, `12.3ms`, `4.02s`.
pub fn human_micros(us: u64) -> String {
    if us < 1_000 {
        format!("{us}us")
    } else if us < 1_000_000 {
        format!("{:.2}ms", us as f64 / 1e3)
    } else {
        format!("{:.2}s", us as f64 / 1e6)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_a_known_distribution() {
        let mut h = new_histogram();
        for v in 1..=10_000u64 {
            h.record(v).unwrap();
        }
        let s = LatencySummary::of(&h);
        assert_eq!(s.count, 10_000);
        assert_eq!(s.min, 1);
        // Three significant digits: each percentile within 0.1% of the exact rank.
        let near = |got: u64, want: u64| (got as f64 - want as f64).abs() <= want as f64 * 0.001 + 1.0;
        assert!(near(s.p50, 5_000), "{s:?}");
        assert!(near(s.p95, 9_500), "{s:?}");
        assert!(near(s.p99, 9_900), "{s:?}");
        assert!(near(s.p999, 9_990), "{s:?}");
        assert!(near(s.max, 10_000), "{s:?}");
        assert!((s.mean - 5_000.5).abs() < 10.0);
    }

    #[test]
    fn empty_histogram_summarises_to_zero() {
        let s = LatencySummary::of(&new_histogram());
        assert_eq!((s.count, s.p99, s.max), (0, 0, 0));
    }

    #[test]
    fn huge_latency_is_clamped_not_lost() {
        let mut c = ClientStats::default();
        c.record_commit(Duration::from_secs(10 * 3600), Duration::ZERO, 0);
        assert_eq!(c.latency.len(), 1);
        assert!(c.latency.max() >= MAX_MICROS * 999 / 1000);
        assert_eq!(c.service.max(), 1, "zero durations count as 1us");
    }

    #[test]
    fn merge_adds_everything() {
        let mut a = ClientStats::default();
        a.record_commit(Duration::from_millis(1), Duration::from_millis(1), 2);
        a.retries = 3;
        a.aborts.insert("40001".into(), 3);
        let mut b = ClientStats::default();
        b.record_commit(Duration::from_millis(3), Duration::from_millis(2), 5);
        b.rolled_back = 1;
        b.aborts.insert("40001".into(), 1);
        b.aborts.insert("40P01".into(), 2);
        b.failed.insert("23505".into(), 1);
        b.abandoned = 4;
        let mut total = ClientStats::default();
        total.merge(&a);
        total.merge(&b);
        assert_eq!(total.committed, 2);
        assert_eq!(total.rolled_back, 1);
        assert_eq!(total.retries, 3);
        assert_eq!(total.aborts.get("40001"), Some(&4));
        assert_eq!(total.aborts.get("40P01"), Some(&2));
        assert_eq!(total.total_aborts(), 6);
        assert_eq!(total.total_failed(), 1);
        assert_eq!(total.abandoned, 4);
        assert_eq!(total.tally, 7);
        assert_eq!(total.latency.len(), 2);
    }

    #[test]
    fn rates() {
        assert_eq!(tps(500, Duration::from_secs(2)), 250.0);
        assert_eq!(tps(5, Duration::ZERO), 0.0);
        assert_eq!(retries_per_commit(3, 12), 0.25);
        assert_eq!(retries_per_commit(3, 0), 0.0);
    }

    #[test]
    fn human_units() {
        assert_eq!(human_micros(850), "850us");
        assert_eq!(human_micros(12_345), "12.35ms");
        assert_eq!(human_micros(4_020_000), "4.02s");
    }
}
