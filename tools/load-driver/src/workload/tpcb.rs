//! The TPC-B-like workload: pgbench's default ("tpcb-like") script on pgbench's tables.
//!
//! `--init` creates the tables as `pgbench -i -I dtGp` does (server-side generation), with the
//! primary keys declared in CREATE TABLE:
//!
//! ```sql
//! CREATE TABLE pgbench_branches (bid int NOT NULL PRIMARY KEY, bbalance int, filler char(88))
//! CREATE TABLE pgbench_tellers  (tid int NOT NULL PRIMARY KEY, bid int, tbalance int, filler char(84))
//! CREATE TABLE pgbench_accounts (aid int NOT NULL PRIMARY KEY, bid int, abalance int, filler char(84))
//! CREATE TABLE pgbench_history  (tid int, bid int, aid int, delta int, mtime timestamp, filler char(22))
//! -- scale s: s branches, 10*s tellers, 100,000*s accounts, all balances 0
//! ```
//!
//! One transaction, with `aid` uniform in `1..=100000*s`, `bid` in `1..=s`, `tid` in
//! `1..=10*s` and `delta` in `-5000..=5000` (pgbench's choices):
//!
//! ```sql
//! UPDATE pgbench_accounts SET abalance = abalance + $1::int WHERE aid = $2::int
//! SELECT abalance FROM pgbench_accounts WHERE aid = $1::int
//! UPDATE pgbench_tellers SET tbalance = tbalance + $1::int WHERE tid = $2::int
//! UPDATE pgbench_branches SET bbalance = bbalance + $1::int WHERE bid = $2::int
//! INSERT INTO pgbench_history (tid, bid, aid, delta, mtime)
//!     VALUES ($1::int, $2::int, $3::int, $4::int, CURRENT_TIMESTAMP)
//! ```
//!
//! Every transaction adds the same delta to one account, one teller, one branch and the
//! history, so after any run the four sums are equal: the end-of-run check.

use tokio_postgres::{Client, Statement};

use super::{load_series, Outcome, Shape};
use crate::db::{one_int, TxnError};
use crate::rng::Rng;

/// Accounts per unit of scale (pgbench's `naccounts`).
pub const ACCOUNTS_PER_SCALE: i64 = 100_000;
/// Tellers per unit of scale (pgbench's `ntellers`).
pub const TELLERS_PER_SCALE: i64 = 10;

/// Statements that create and load pgbench's four tables at `scale`.
pub fn init_sql(scale: i64) -> Vec<String> {
    let mut sql: Vec<String> = [
        "DROP TABLE IF EXISTS pgbench_history",
        "DROP TABLE IF EXISTS pgbench_tellers",
        "DROP TABLE IF EXISTS pgbench_accounts",
        "DROP TABLE IF EXISTS pgbench_branches",
        "CREATE TABLE pgbench_branches (bid int NOT NULL PRIMARY KEY, bbalance int, filler char(88))",
        "CREATE TABLE pgbench_tellers (tid int NOT NULL PRIMARY KEY, bid int, tbalance int, filler char(84))",
        "CREATE TABLE pgbench_accounts (aid int NOT NULL PRIMARY KEY, bid int, abalance int, filler char(84))",
        "CREATE TABLE pgbench_history (tid int, bid int, aid int, delta int, mtime timestamp, filler char(22))",
    ]
    .map(String::from)
    .to_vec();
    sql.extend(load_series("pgbench_branches (bid, bbalance)", "g, 0", scale));
    sql.extend(load_series(
        "pgbench_tellers (tid, bid, tbalance)",
        &format!("g, (g - 1) / {TELLERS_PER_SCALE} + 1, 0"),
        scale * TELLERS_PER_SCALE,
    ));
    sql.extend(load_series(
        "pgbench_accounts (aid, bid, abalance, filler)",
        &format!("g, (g - 1) / {ACCOUNTS_PER_SCALE} + 1, 0, ''"),
        scale * ACCOUNTS_PER_SCALE,
    ));
    sql
}

/// One TPC-B-like transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct Txn {
    /// Account.
    pub aid: i32,
    /// Branch.
    pub bid: i32,
    /// Teller.
    pub tid: i32,
    /// Amount added everywhere.
    pub delta: i32,
}

/// Generates the next transaction (pgbench's distributions).
pub fn plan(shape: &Shape, rng: &mut Rng) -> Txn {
    let s = shape.scale;
    Txn {
        aid: rng.range(1, ACCOUNTS_PER_SCALE * s) as i32,
        bid: rng.range(1, s) as i32,
        tid: rng.range(1, TELLERS_PER_SCALE * s) as i32,
        delta: rng.range(-5000, 5000) as i32,
    }
}

/// pgbench's statements, prepared.
pub struct Stmts {
    upd_account: Statement,
    sel_account: Statement,
    upd_teller: Statement,
    upd_branch: Statement,
    ins_history: Statement,
}

impl Stmts {
    /// Prepares them.
    pub async fn prepare(c: &Client) -> Result<Stmts, TxnError> {
        Ok(Stmts {
            upd_account: c
                .prepare("UPDATE pgbench_accounts SET abalance = abalance + $1::int WHERE aid = $2::int")
                .await?,
            sel_account: c.prepare("SELECT abalance FROM pgbench_accounts WHERE aid = $1::int").await?,
            upd_teller: c
                .prepare("UPDATE pgbench_tellers SET tbalance = tbalance + $1::int WHERE tid = $2::int")
                .await?,
            upd_branch: c
                .prepare("UPDATE pgbench_branches SET bbalance = bbalance + $1::int WHERE bid = $2::int")
                .await?,
            ins_history: c
                .prepare(
                    "INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) \
                     VALUES ($1::int, $2::int, $3::int, $4::int, CURRENT_TIMESTAMP)",
                )
                .await?,
        })
    }

    /// Runs one transaction.
    pub async fn run(&self, c: &Client, t: &Txn) -> Result<Outcome, TxnError> {
        c.execute(&self.upd_account, &[&t.delta, &t.aid]).await?;
        one_int(&c.query(&self.sel_account, &[&t.aid]).await?, "pgbench_accounts.abalance")?;
        c.execute(&self.upd_teller, &[&t.delta, &t.tid]).await?;
        c.execute(&self.upd_branch, &[&t.delta, &t.bid]).await?;
        c.execute(&self.ins_history, &[&t.tid, &t.bid, &t.aid, &t.delta]).await?;
        Ok(Outcome::Commit { tally: 0 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::test_support::shape;
    use crate::workload::Kind;

    #[test]
    fn pgbench_distributions() {
        let s = shape(Kind::TpcB, 0, 1); // scale 2
        let mut r = Rng::for_client(2, 0);
        let (mut min_d, mut max_d) = (0, 0);
        for _ in 0..5000 {
            let t = plan(&s, &mut r);
            assert!((1..=200_000).contains(&t.aid));
            assert!((1..=2).contains(&t.bid));
            assert!((1..=20).contains(&t.tid));
            assert!((-5000..=5000).contains(&t.delta));
            min_d = min_d.min(t.delta);
            max_d = max_d.max(t.delta);
        }
        assert!(min_d < -4000 && max_d > 4000);
    }

    #[test]
    fn init_loads_scale() {
        let sql = init_sql(3).join("\n");
        assert!(sql
            .contains("INSERT INTO pgbench_branches (bid, bbalance) SELECT g, 0 FROM generate_series(1, 3)"));
        assert!(sql.contains("generate_series(1, 30) AS g"));
        assert!(sql.contains("generate_series(200001, 300000) AS g"));
    }
}
