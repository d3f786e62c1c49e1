//! SIBENCH (Cahill, Röhm, Fekete, "Serializable Isolation for Snapshot Databases", SIGMOD 2008):
//! the smallest workload in which a serializable scheduler must track read-write conflicts.
//!
//! ```sql
//! CREATE TABLE ld_sibench (id int PRIMARY KEY, value int NOT NULL)   -- id 1..=rows, value 0
//!
//! query  (50%): SELECT id, value FROM ld_sibench ORDER BY value, id LIMIT 1
//! update (50%): UPDATE ld_sibench SET value = value + 1 WHERE id = $1::int   -- id uniform
//! ```
//!
//! The query reads every row (the minimum can be anywhere), so every concurrent update is a
//! read-write antidependency from it: SERIALIZABLE must keep the cost of tracking those low.
//! `--rows` (default 100) sets the table size, as Cahill's `I`.
//!
//! The tally counts increments; the check compares `sum(value)` before and after.

use tokio_postgres::{Client, Statement};

use super::{load_series, Outcome, Shape};
use crate::db::{one_int, TxnError};
use crate::rng::Rng;

/// `--rows` default: 100 items.
pub const DEFAULT_ROWS: u64 = 100;

/// Statements that create and load `ld_sibench`.
pub fn init_sql(rows: i64) -> Vec<String> {
    let mut sql = vec![
        "DROP TABLE IF EXISTS ld_sibench".to_string(),
        "CREATE TABLE ld_sibench (id int PRIMARY KEY, value int NOT NULL)".to_string(),
    ];
    sql.extend(load_series("ld_sibench (id, value)", "g, 0", rows));
    sql
}

/// One SIBENCH transaction.
#[derive(Debug, Clone, PartialEq)]
pub enum Txn {
    /// Find the row with the smallest value.
    MinQuery,
    /// Increment one row.
    Update(i32),
}

/// Generates the next transaction.
pub fn plan(shape: &Shape, rng: &mut Rng) -> Txn {
    if rng.percent(50) {
        Txn::MinQuery
    } else {
        Txn::Update(rng.range(1, shape.rows) as i32)
    }
}

/// The prepared query and update.
pub struct Stmts {
    min: Statement,
    update: Statement,
}

impl Stmts {
    /// Prepares them.
    pub async fn prepare(c: &Client) -> Result<Stmts, TxnError> {
        Ok(Stmts {
            min: c.prepare("SELECT id, value FROM ld_sibench ORDER BY value, id LIMIT 1").await?,
            update: c.prepare("UPDATE ld_sibench SET value = value + 1 WHERE id = $1::int").await?,
        })
    }

    /// Runs one transaction.
    pub async fn run(&self, c: &Client, t: &Txn) -> Result<Outcome, TxnError> {
        let tally = match *t {
            Txn::MinQuery => {
                one_int(&c.query(&self.min, &[]).await?, "ld_sibench minimum")?;
                0
            }
            Txn::Update(id) => c.execute(&self.update, &[&id]).await? as i64,
        };
        Ok(Outcome::Commit { tally })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::test_support::shape;
    use crate::workload::Kind;

    #[test]
    fn half_queries_half_updates_in_range() {
        let s = shape(Kind::SiBench, 10, 1);
        let mut r = Rng::for_client(3, 0);
        let mut queries = 0;
        for _ in 0..10_000 {
            match plan(&s, &mut r) {
                Txn::MinQuery => queries += 1,
                Txn::Update(id) => assert!((1..=10).contains(&id)),
            }
        }
        assert!((4_700..5_300).contains(&queries), "{queries}");
    }
}
