//! End-of-run checks: what each workload's data must look like after the load.
//!
//! | workload | check | required at |
//! |---|---|---|
//! | bank | `sum(balance)` after = before (money conserved) | every level |
//! | tpcb | sums of account, teller, branch balances and history deltas are equal | every level |
//! | point-update, read-mostly, disjoint, sibench | the summed column grew by exactly the increments the driver saw commit | every level |
//! | insert | `count(*)` grew by exactly the inserts the driver saw commit | every level |
//! | oncall | no committed transaction saw an empty shift, and none is empty at the end | SERIALIZABLE, if no shift was empty at the start |
//! | smallbank | no savings balance is negative | REPEATABLE READ, SERIALIZABLE, if none was at the start |
//!
//! A check that is not required at the run's level is still run and reported (it then measures
//! the anomaly the level allows). Invariants that a run at a weaker level may have broken
//! (oncall, smallbank) are read at the start too: if they were already broken, the run is not
//! blamed and the report says to use `--init`. Counting checks compare with commits the driver saw, so they
//! are reported but not required when the run was cut short (Ctrl-C, a client that lost its
//! connection): a COMMIT in flight may have happened without the driver hearing of it.
//!
//! Checks read with the simple protocol in autocommit mode, after every client has finished, and
//! assume nobody else writes the tables during the run.

use tokio_postgres::Client;

use super::{oncall, Kind};
use crate::cli::Isolation;
use crate::db::{query_int, query_text};

/// One check's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// What was checked.
    pub name: String,
    /// Whether the data passed.
    pub ok: bool,
    /// Whether a failure fails the run (otherwise it is an anomaly the level allows, reported).
    pub required: bool,
    /// The figures behind the verdict.
    pub detail: String,
}

/// What the checks need to know about the run.
#[derive(Debug, Clone, Copy)]
pub struct RunFacts {
    /// Isolation level of the run.
    pub isolation: Isolation,
    /// Sum of the workload's tallies over committed transactions.
    pub tally: i64,
    /// False when the run was interrupted or a client died, so commit counts may be short.
    pub complete: bool,
}

/// The query whose value must not change (bank) or must grow by the tally (the others).
fn baseline_sql(kind: Kind) -> Option<&'static str> {
    match kind {
        Kind::Bank => Some("SELECT sum(balance) FROM ld_bank"),
        Kind::PointUpdate | Kind::ReadMostly => Some("SELECT sum(v) FROM ld_kv"),
        Kind::Disjoint => Some("SELECT sum(v) FROM ld_disjoint"),
        Kind::SiBench => Some("SELECT sum(value) FROM ld_sibench"),
        Kind::Insert => Some("SELECT count(*) FROM ld_insert"),
        _ => None,
    }
}

/// Counts SmallBank savings accounts below zero.
const NEGATIVE_SAVINGS: &str = "SELECT count(*) FROM sb_savings WHERE bal < 0";

/// Shifts with nobody on call right now.
async fn empty_shifts(c: &Client) -> Result<Vec<i64>, String> {
    Ok(oncall::empty_shifts(&query_text(c, "SELECT shift, on_call FROM ld_oncall").await?))
}

/// Reads the value the checks compare against later (`None` if the workload has none). For
/// oncall it is the number of shifts already empty: a run at a weaker level may have left some.
pub async fn baseline(c: &Client, kind: Kind) -> Result<Option<i128>, String> {
    match kind {
        Kind::OnCall => return Ok(Some(empty_shifts(c).await?.len() as i128)),
        Kind::SmallBank => return Ok(Some(query_int(c, NEGATIVE_SAVINGS).await?)),
        _ => {}
    }
    match baseline_sql(kind) {
        Some(sql) => Ok(Some(query_int(c, sql).await?)),
        None => Ok(None),
    }
}

/// The verdict of a counting check: the value grew by exactly `tally`.
pub fn growth_check(name: &str, before: i128, after: i128, facts: RunFacts) -> Check {
    let grown = after - before;
    Check {
        name: name.to_string(),
        ok: grown == i128::from(facts.tally),
        required: facts.complete,
        detail: format!(
            "before {before}, after {after}: grew by {grown}, committed increments {}",
            facts.tally
        ),
    }
}

/// Runs the workload's checks.
pub async fn run(
    c: &Client,
    kind: Kind,
    before: Option<i128>,
    facts: RunFacts,
) -> Result<Vec<Check>, String> {
    let mut out = Vec::new();
    match (kind, before, baseline_sql(kind)) {
        (Kind::Bank, Some(before), Some(sql)) => {
            let after = query_int(c, sql).await?;
            out.push(Check {
                name: "money conserved".into(),
                ok: after == before,
                required: true,
                detail: format!("total before {before}, after {after}, difference {}", after - before),
            });
        }
        (_, Some(before), Some(sql)) => {
            let after = query_int(c, sql).await?;
            let what = if kind == Kind::Insert { "rows inserted" } else { "increments applied" };
            out.push(growth_check(&format!("{what} = commits counted"), before, after, facts));
        }
        _ => {}
    }
    match kind {
        Kind::TpcB => {
            let mut sums = Vec::new();
            for sql in [
                "SELECT sum(abalance) FROM pgbench_accounts",
                "SELECT sum(tbalance) FROM pgbench_tellers",
                "SELECT sum(bbalance) FROM pgbench_branches",
                "SELECT sum(delta) FROM pgbench_history",
            ] {
                sums.push(query_int(c, sql).await?);
            }
            out.push(Check {
                name: "balances agree".into(),
                ok: sums.windows(2).all(|w| w[0] == w[1]),
                required: true,
                detail: format!(
                    "sum of accounts {}, tellers {}, branches {}, history deltas {}",
                    sums[0], sums[1], sums[2], sums[3]
                ),
            });
        }
        Kind::OnCall => {
            let empty = empty_shifts(c).await?;
            let at_start = before.unwrap_or(0);
            // A shift left empty by an earlier run at a weaker level is not this run's doing.
            let note = if at_start > 0 {
                format!(
                    "the table started with {at_start} empty shifts, so nothing is required (use --init); "
                )
            } else {
                String::new()
            };
            out.push(Check {
                name: "every shift covered".into(),
                ok: empty.is_empty() && facts.tally == 0,
                required: facts.isolation == Isolation::Serializable && at_start == 0,
                detail: format!(
                    "{note}committed transactions that saw an empty shift: {}; shifts empty at the end: {empty:?}",
                    facts.tally
                ),
            });
        }
        Kind::SmallBank => {
            let negative = query_int(c, NEGATIVE_SAVINGS).await?;
            let at_start = before.unwrap_or(0);
            out.push(Check {
                name: "no negative savings".into(),
                ok: negative == 0,
                required: facts.isolation != Isolation::ReadCommitted && at_start == 0,
                detail: format!("{negative} savings accounts below zero at the end, {at_start} at the start"),
            });
        }
        _ => {}
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn growth_check_compares_with_the_tally() {
        let facts = RunFacts { isolation: Isolation::ReadCommitted, tally: 5, complete: true };
        assert!(growth_check("x", 10, 15, facts).ok);
        let lost = growth_check("x", 10, 14, facts);
        assert!(!lost.ok && lost.required);
        assert!(lost.detail.contains("grew by 4"), "{}", lost.detail);
        let cut = growth_check("x", 10, 14, RunFacts { complete: false, ..facts });
        assert!(!cut.required);
    }

    #[test]
    fn every_writing_workload_has_a_baseline() {
        for k in
            [Kind::Bank, Kind::PointUpdate, Kind::ReadMostly, Kind::Disjoint, Kind::SiBench, Kind::Insert]
        {
            assert!(baseline_sql(k).is_some(), "{k:?}");
        }
        assert!(baseline_sql(Kind::PointSelect).is_none());
    }
}
