//! The disjoint workload: every client reads and updates keys of its own partition only.
//!
//! ```sql
//! CREATE TABLE ld_disjoint (k int PRIMARY KEY, v bigint NOT NULL)   -- k = 1..=rows, v = 0
//! ```
//!
//! With `n` clients and `p = rows / n`, client `c` owns keys `c*p+1 ..= (c+1)*p`. A transaction
//! picks 1-10 distinct keys of its partition (count and keys uniform), reads them all, then
//! writes each one's value plus one:
//!
//! ```sql
//! SELECT v FROM ld_disjoint WHERE k = $1::int          -- for each key, in key order
//! UPDATE ld_disjoint SET v = $2::bigint WHERE k = $1::int  -- for each key, v + 1
//! ```
//!
//! No two clients ever touch the same row, so a serializable scheduler with precise (row or
//! key) conflict tracking never needs to abort one: issue 9 requires zero 40001 on ssidb.
//! PostgreSQL may still report some, from its coarser page-level predicate locks.
//!
//! The tally is the number of rows incremented; the check compares `sum(v)` before and after.

use tokio_postgres::{Client, Statement};

use super::{load_series, Outcome, Shape};
use crate::db::{one_int, TxnError};
use crate::rng::Rng;

/// `--rows` default: 100,000 keys.
pub const DEFAULT_ROWS: u64 = 100_000;
/// Most keys one transaction touches (and the least a partition may hold).
pub const MAX_KEYS: i64 = 10;

/// Statements that create and load `ld_disjoint`.
pub fn init_sql(rows: i64) -> Vec<String> {
    let mut sql = vec![
        "DROP TABLE IF EXISTS ld_disjoint".to_string(),
        "CREATE TABLE ld_disjoint (k int PRIMARY KEY, v bigint NOT NULL)".to_string(),
    ];
    sql.extend(load_series("ld_disjoint (k, v)", "g, 0", rows));
    sql
}

/// One transaction: the keys it reads and increments, in increasing order.
#[derive(Debug, Clone, PartialEq)]
pub struct Txn {
    /// 1..=[`MAX_KEYS`] distinct keys of the client's partition.
    pub keys: Vec<i32>,
}

/// Client `client`'s partition, inclusive.
pub fn partition(shape: &Shape, client: usize) -> (i64, i64) {
    let p = shape.rows / shape.clients as i64;
    (client as i64 * p + 1, (client as i64 + 1) * p)
}

/// Generates client `client`'s next transaction.
pub fn plan(shape: &Shape, client: usize, rng: &mut Rng) -> Txn {
    let (lo, hi) = partition(shape, client);
    let n = rng.range(1, MAX_KEYS) as usize;
    Txn { keys: rng.distinct_sorted(n, lo, hi).into_iter().map(|k| k as i32).collect() }
}

/// The prepared read and write.
pub struct Stmts {
    read: Statement,
    write: Statement,
}

impl Stmts {
    /// Prepares them.
    pub async fn prepare(c: &Client) -> Result<Stmts, TxnError> {
        Ok(Stmts {
            read: c.prepare("SELECT v FROM ld_disjoint WHERE k = $1::int").await?,
            write: c.prepare("UPDATE ld_disjoint SET v = $2::bigint WHERE k = $1::int").await?,
        })
    }

    /// Runs one transaction.
    pub async fn run(&self, c: &Client, t: &Txn) -> Result<Outcome, TxnError> {
        let mut values = Vec::with_capacity(t.keys.len());
        for k in &t.keys {
            values.push(one_int(&c.query(&self.read, &[k]).await?, "ld_disjoint.v")?);
        }
        for (k, v) in t.keys.iter().zip(values) {
            c.execute(&self.write, &[k, &(v + 1)]).await?;
        }
        Ok(Outcome::Commit { tally: t.keys.len() as i64 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::test_support::shape;
    use crate::workload::Kind;

    #[test]
    fn partitions_are_disjoint_and_keys_stay_home() {
        let s = shape(Kind::Disjoint, 1_000, 16);
        let mut owner = std::collections::HashMap::new();
        let mut sizes = [0usize; 11];
        for client in 0..16 {
            let (lo, hi) = partition(&s, client);
            assert_eq!(hi - lo + 1, 62);
            let mut r = Rng::for_client(4, client);
            for _ in 0..500 {
                let t = plan(&s, client, &mut r);
                sizes[t.keys.len()] += 1;
                assert!(t.keys.windows(2).all(|w| w[0] < w[1]));
                for k in t.keys {
                    assert!((lo..=hi).contains(&(k as i64)));
                    assert_eq!(*owner.entry(k).or_insert(client), client, "key {k} shared");
                }
            }
        }
        assert_eq!(sizes[0], 0);
        assert!(sizes[1..].iter().all(|n| *n > 0), "every size 1..=10 occurs: {sizes:?}");
    }
}
