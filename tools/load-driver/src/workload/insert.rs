//! The insert workload: each transaction inserts one new row into `ld_insert`.
//!
//! ```sql
//! CREATE TABLE ld_insert (id bigint PRIMARY KEY, client int NOT NULL, v bigint NOT NULL,
//!                         pad text NOT NULL)                 -- created empty by --init
//!
//! INSERT INTO ld_insert (id, client, v, pad) VALUES ($1::bigint, $2::int, $3::bigint, $4::text)
//! ```
//!
//! Keys never collide: at the start the driver reads `base = max(id)`, and client `c` of `n`
//! uses `base + 1 + seq * n + c` for its `seq`-th insert, so the clients interleave in one
//! ascending key space (the right-hand edge of the primary-key index is the hot spot, as with a
//! sequence). A retried insert reuses its key. The tally is rows inserted; the end-of-run check
//! compares it with `count(*)` before and after.

use tokio_postgres::{Client, Statement};

use super::{Outcome, Shape};
use crate::db::TxnError;
use crate::rng::Rng;

/// The pad column's value: 64 bytes.
const PAD: &str = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";

/// Statements that create `ld_insert` (empty).
pub fn init_sql() -> Vec<String> {
    vec![
        "DROP TABLE IF EXISTS ld_insert".to_string(),
        "CREATE TABLE ld_insert (id bigint PRIMARY KEY, client int NOT NULL, v bigint NOT NULL, \
         pad text NOT NULL)"
            .to_string(),
    ]
}

/// One insert.
#[derive(Debug, Clone, PartialEq)]
pub struct Txn {
    /// The new key.
    pub id: i64,
    /// The inserting client.
    pub client: i32,
    /// A random value.
    pub v: i64,
}

/// Generates client `client`'s `seq`-th insert.
pub fn plan(shape: &Shape, client: usize, seq: u64, rng: &mut Rng) -> Txn {
    let id = shape.insert_base + 1 + seq as i64 * shape.clients as i64 + client as i64;
    Txn { id, client: client as i32, v: rng.range(0, 1_000_000) }
}

/// The prepared insert.
pub struct Stmts {
    insert: Statement,
}

impl Stmts {
    /// Prepares it.
    pub async fn prepare(c: &Client) -> Result<Stmts, TxnError> {
        Ok(Stmts {
            insert: c
                .prepare(
                    "INSERT INTO ld_insert (id, client, v, pad) \
                     VALUES ($1::bigint, $2::int, $3::bigint, $4::text)",
                )
                .await?,
        })
    }

    /// Runs one insert.
    pub async fn run(&self, c: &Client, t: &Txn) -> Result<Outcome, TxnError> {
        let n = c.execute(&self.insert, &[&t.id, &t.client, &t.v, &PAD]).await?;
        Ok(Outcome::Commit { tally: n as i64 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::test_support::shape;
    use crate::workload::Kind;
    use std::collections::HashSet;

    #[test]
    fn keys_are_unique_across_clients_and_above_the_base() {
        let mut s = shape(Kind::Insert, 0, 4);
        s.insert_base = 1000;
        let mut seen = HashSet::new();
        for client in 0..4 {
            let mut r = Rng::for_client(1, client);
            for seq in 0..100 {
                let t = plan(&s, client, seq, &mut r);
                assert!(t.id > 1000);
                assert_eq!(t.client, client as i32);
                assert!(seen.insert(t.id), "duplicate {}", t.id);
            }
        }
        // 4 clients x 100 inserts fill 1001..=1400 exactly.
        assert_eq!(seen.iter().max(), Some(&1400));
    }
}
