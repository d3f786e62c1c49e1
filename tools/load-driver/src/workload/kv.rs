//! The key-value table `ld_kv` and its workloads: point-select, point-update, range-10 /
//! range-100 / range-10k, and read-mostly.
//!
//! ```sql
//! CREATE TABLE ld_kv (k int PRIMARY KEY, v bigint NOT NULL, pad text NOT NULL)
//! -- loaded with k = 1..=rows, v = 0, pad = 64 'x' (a realistic row width)
//!
//! point-select:  SELECT v FROM ld_kv WHERE k = $1::int
//! point-update:  UPDATE ld_kv SET v = v + 1 WHERE k = $1::int
//! range-N:       SELECT k, v FROM ld_kv WHERE k BETWEEN $1::int AND $2::int   -- N rows
//! read-mostly:   90%: the point-select transaction
//!                10%: UPDATE ld_kv SET v = v + 1 WHERE k = $1::int, twice, on two
//!                     distinct keys in increasing order
//! ```
//!
//! Keys are uniform over `1..=rows`. The tally is the number of `v = v + 1` increments, so the
//! end-of-run check can compare `sum(v)` before and after with it: a lost or doubled update
//! shows, at every isolation level.

use tokio_postgres::{Client, Statement};

use super::{load_series, Kind, Outcome, Shape};
use crate::db::TxnError;
use crate::rng::Rng;

/// `--rows` default: 100,000 keys.
pub const DEFAULT_ROWS: u64 = 100_000;

/// Percentage of read-mostly transactions that are the two-row update.
pub const READ_MOSTLY_UPDATE_PERCENT: u64 = 10;

/// The pad column's value: 64 bytes.
const PAD: &str = "'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'";

/// Statements that create and load `ld_kv`.
pub fn init_sql(rows: i64) -> Vec<String> {
    let mut sql = vec![
        "DROP TABLE IF EXISTS ld_kv".to_string(),
        "CREATE TABLE ld_kv (k int PRIMARY KEY, v bigint NOT NULL, pad text NOT NULL)".to_string(),
    ];
    sql.extend(load_series("ld_kv (k, v, pad)", &format!("g, 0, {PAD}"), rows));
    sql
}

/// One transaction on `ld_kv`.
#[derive(Debug, Clone, PartialEq)]
pub enum Txn {
    /// Read one row.
    Select(i32),
    /// Increment one row.
    Update(i32),
    /// Read the rows `lo..=hi`.
    Range(i32, i32),
    /// Increment two rows (first < second).
    UpdateTwo(i32, i32),
}

/// Generates the next transaction for `shape.kind`.
pub fn plan(shape: &Shape, rng: &mut Rng) -> Txn {
    let key = |rng: &mut Rng| rng.range(1, shape.rows) as i32;
    match shape.kind {
        Kind::PointUpdate => Txn::Update(key(rng)),
        Kind::ReadMostly if rng.percent(READ_MOSTLY_UPDATE_PERCENT) => {
            let ks = rng.distinct_sorted(2, 1, shape.rows);
            Txn::UpdateTwo(ks[0] as i32, ks[1] as i32)
        }
        k => match k.range_len() {
            Some(len) => {
                let lo = rng.range(1, shape.rows - len + 1);
                Txn::Range(lo as i32, (lo + len - 1) as i32)
            }
            None => Txn::Select(key(rng)),
        },
    }
}

/// Prepared statements on `ld_kv`.
pub struct Stmts {
    select: Statement,
    update: Statement,
    range: Statement,
}

impl Stmts {
    /// Prepares them.
    pub async fn prepare(c: &Client) -> Result<Stmts, TxnError> {
        Ok(Stmts {
            select: c.prepare("SELECT v FROM ld_kv WHERE k = $1::int").await?,
            update: c.prepare("UPDATE ld_kv SET v = v + 1 WHERE k = $1::int").await?,
            range: c.prepare("SELECT k, v FROM ld_kv WHERE k BETWEEN $1::int AND $2::int").await?,
        })
    }

    /// Runs one transaction's statements.
    pub async fn run(&self, c: &Client, txn: &Txn) -> Result<Outcome, TxnError> {
        let mut tally = 0;
        match *txn {
            Txn::Select(k) => {
                c.query(&self.select, &[&k]).await?;
            }
            Txn::Update(k) => tally += c.execute(&self.update, &[&k]).await? as i64,
            Txn::Range(lo, hi) => {
                let rows = c.query(&self.range, &[&lo, &hi]).await?;
                let want = (hi - lo + 1) as usize;
                if rows.len() != want {
                    return Err(TxnError::Unexpected(format!(
                        "range {lo}..={hi} returned {} rows, expected {want}",
                        rows.len()
                    )));
                }
            }
            Txn::UpdateTwo(a, b) => {
                tally += c.execute(&self.update, &[&a]).await? as i64;
                tally += c.execute(&self.update, &[&b]).await? as i64;
            }
        }
        Ok(Outcome::Commit { tally })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::test_support::shape;

    fn plans(kind: Kind, rows: i64, n: usize) -> Vec<Txn> {
        let s = shape(kind, rows, 1);
        let mut r = Rng::for_client(5, 0);
        (0..n).map(|_| plan(&s, &mut r)).collect()
    }

    #[test]
    fn point_keys_are_in_range() {
        for t in plans(Kind::PointSelect, 50, 2000) {
            let Txn::Select(k) = t else { panic!("{t:?}") };
            assert!((1..=50).contains(&k));
        }
        for t in plans(Kind::PointUpdate, 50, 2000) {
            let Txn::Update(k) = t else { panic!("{t:?}") };
            assert!((1..=50).contains(&k));
        }
    }

    #[test]
    fn ranges_have_the_right_length_and_stay_inside() {
        for (kind, len) in [(Kind::Range10, 10), (Kind::Range100, 100), (Kind::Range10k, 10_000)] {
            let mut hit_top = false;
            for t in plans(kind, 10_050, 3000) {
                let Txn::Range(lo, hi) = t else { panic!("{t:?}") };
                assert_eq!(hi - lo + 1, len);
                assert!(lo >= 1 && hi <= 10_050);
                hit_top |= hi == 10_050;
            }
            // With only 51 possible starts for range-10k, the last one must come up.
            if len == 10_000 {
                assert!(hit_top);
            }
        }
    }

    #[test]
    fn read_mostly_is_ninety_ten() {
        let ts = plans(Kind::ReadMostly, 1000, 20_000);
        let updates = ts.iter().filter(|t| matches!(t, Txn::UpdateTwo(..))).count();
        assert!((1_700..2_300).contains(&updates), "{updates}");
        for t in ts {
            match t {
                Txn::Select(k) => assert!((1..=1000).contains(&k)),
                Txn::UpdateTwo(a, b) => assert!(1 <= a && a < b && b <= 1000),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn init_creates_then_loads() {
        let sql = init_sql(10);
        assert!(sql[0].starts_with("DROP TABLE IF EXISTS ld_kv"));
        assert!(sql[1].contains("PRIMARY KEY"));
        assert!(sql[2].contains("generate_series(1, 10)"));
    }
}
