//! SmallBank (Alomari, Cahill, Fekete, Röhm, "The Cost of Serializability on Platforms That Use
//! Snapshot Isolation", ICDE 2008; Cahill's thesis uses it to evaluate SSI).
//!
//! ```sql
//! CREATE TABLE sb_accounts (name text PRIMARY KEY, custid int NOT NULL)   -- 'cust1', 1 ...
//! CREATE TABLE sb_savings  (custid int PRIMARY KEY, bal bigint NOT NULL)  -- 10,000 each
//! CREATE TABLE sb_checking (custid int PRIMARY KEY, bal bigint NOT NULL)  -- 10,000 each
//! ```
//!
//! Every transaction first maps each customer name to its id
//! (`SELECT custid FROM sb_accounts WHERE name = $1::text`), then, with `V` the amount:
//!
//! | transaction | statements |
//! |---|---|
//! | Balance(N) | read savings and checking |
//! | DepositChecking(N, V) | `UPDATE sb_checking SET bal = bal + V` |
//! | TransactSaving(N, V) | read savings; roll back if it would go negative; `UPDATE sb_savings SET bal = bal + V` |
//! | Amalgamate(N1, N2) | read N1's savings and checking; set both to 0; add their sum to N2's checking |
//! | WriteCheck(N, V) | read savings and checking; if their sum < V, `bal = bal - (V + 1)` (an overdraft penalty), else `bal = bal - V`, on checking |
//! | SendPayment(N1, N2, V) (`--send-payment`) | read N1's checking; roll back if < V; move V to N2's checking |
//!
//! The reads use `SELECT bal FROM sb_savings|sb_checking WHERE custid = $1::int`; the writes
//! `UPDATE ... SET bal = bal + $2::bigint WHERE custid = $1::int` or `SET bal = $2::bigint`.
//!
//! WriteCheck is the write-skew transaction: it reads savings, which TransactSaving writes, and
//! writes checking, which (through Balance and Amalgamate) others read — under snapshot isolation
//! a WriteCheck and a TransactSaving on one customer can both commit, each deciding on a balance
//! the other changed, so the penalty is wrongly skipped. SERIALIZABLE must prevent that.
//!
//! The mix is uniform over the five (six with SendPayment) transactions; amounts are uniform in
//! 1..=100 (TransactSaving: -100..=100). Customers: with `--hotspot H` (default 100), 90% of
//! choices are uniform among customers 1..=H and 10% among the rest, which makes the conflicts
//! SSI has to judge; `--hotspot 0` is uniform. Amalgamate and SendPayment use two distinct
//! customers.
//!
//! Check: no savings balance is negative — guaranteed at REPEATABLE READ and SERIALIZABLE (a
//! concurrent write to the same row fails with 40001), reported but not required at READ
//! COMMITTED, where TransactSaving's `bal + V` is re-evaluated on the newer row.

use tokio_postgres::{Client, Statement};

use super::{load_series, Outcome, Shape};
use crate::db::{one_int, TxnError};
use crate::rng::Rng;

/// `--rows` default: 18,000 customers, as in Alomari et al.
pub const DEFAULT_ROWS: u64 = 18_000;
/// Opening savings and checking balances.
pub const OPENING_BALANCE: i64 = 10_000;
/// Percentage of customer choices that fall in the hotspot.
pub const HOTSPOT_PERCENT: u64 = 90;

/// Statements that create and load the three tables.
pub fn init_sql(rows: i64) -> Vec<String> {
    let mut sql: Vec<String> = [
        "DROP TABLE IF EXISTS sb_accounts",
        "DROP TABLE IF EXISTS sb_savings",
        "DROP TABLE IF EXISTS sb_checking",
        "CREATE TABLE sb_accounts (name text PRIMARY KEY, custid int NOT NULL)",
        "CREATE TABLE sb_savings (custid int PRIMARY KEY, bal bigint NOT NULL)",
        "CREATE TABLE sb_checking (custid int PRIMARY KEY, bal bigint NOT NULL)",
    ]
    .map(String::from)
    .to_vec();
    sql.extend(load_series("sb_accounts (name, custid)", "'cust' || g::text, g", rows));
    sql.extend(load_series("sb_savings (custid, bal)", &format!("g, {OPENING_BALANCE}"), rows));
    sql.extend(load_series("sb_checking (custid, bal)", &format!("g, {OPENING_BALANCE}"), rows));
    sql
}

/// One SmallBank transaction; customers are ids (their names are `cust<id>`).
#[derive(Debug, Clone, PartialEq)]
pub enum Txn {
    /// Read both balances.
    Balance(i32),
    /// Add to checking.
    DepositChecking(i32, i64),
    /// Add (or withdraw) to savings unless it would go negative.
    TransactSaving(i32, i64),
    /// Move everything of the first customer to the second's checking.
    Amalgamate(i32, i32),
    /// Cash a check against the total balance (write skew).
    WriteCheck(i32, i64),
    /// Move an amount between two checking accounts if covered.
    SendPayment(i32, i32, i64),
}

/// A customer, honouring the hotspot.
fn customer(shape: &Shape, rng: &mut Rng) -> i64 {
    let h = shape.hotspot;
    if h <= 0 || h >= shape.rows {
        rng.range(1, shape.rows)
    } else if rng.percent(HOTSPOT_PERCENT) {
        rng.range(1, h)
    } else {
        rng.range(h + 1, shape.rows)
    }
}

/// Two distinct customers.
fn two_customers(shape: &Shape, rng: &mut Rng) -> (i32, i32) {
    let a = customer(shape, rng);
    loop {
        let b = customer(shape, rng);
        if b != a {
            return (a as i32, b as i32);
        }
    }
}

/// Generates the next transaction.
pub fn plan(shape: &Shape, rng: &mut Rng) -> Txn {
    let kinds = if shape.send_payment { 6 } else { 5 };
    let amount = |rng: &mut Rng| rng.range(1, 100);
    match rng.below(kinds) {
        0 => Txn::Balance(customer(shape, rng) as i32),
        1 => Txn::DepositChecking(customer(shape, rng) as i32, amount(rng)),
        2 => Txn::TransactSaving(customer(shape, rng) as i32, rng.range(-100, 100)),
        3 => {
            let (a, b) = two_customers(shape, rng);
            Txn::Amalgamate(a, b)
        }
        4 => Txn::WriteCheck(customer(shape, rng) as i32, amount(rng)),
        _ => {
            let (a, b) = two_customers(shape, rng);
            Txn::SendPayment(a, b, amount(rng))
        }
    }
}

/// SmallBank's prepared statements.
pub struct Stmts {
    lookup: Statement,
    read_sav: Statement,
    read_chk: Statement,
    add_sav: Statement,
    add_chk: Statement,
    set_sav: Statement,
    set_chk: Statement,
}

impl Stmts {
    /// Prepares them.
    pub async fn prepare(c: &Client) -> Result<Stmts, TxnError> {
        Ok(Stmts {
            lookup: c.prepare("SELECT custid FROM sb_accounts WHERE name = $1::text").await?,
            read_sav: c.prepare("SELECT bal FROM sb_savings WHERE custid = $1::int").await?,
            read_chk: c.prepare("SELECT bal FROM sb_checking WHERE custid = $1::int").await?,
            add_sav: c.prepare("UPDATE sb_savings SET bal = bal + $2::bigint WHERE custid = $1::int").await?,
            add_chk: c
                .prepare("UPDATE sb_checking SET bal = bal + $2::bigint WHERE custid = $1::int")
                .await?,
            set_sav: c.prepare("UPDATE sb_savings SET bal = $2::bigint WHERE custid = $1::int").await?,
            set_chk: c.prepare("UPDATE sb_checking SET bal = $2::bigint WHERE custid = $1::int").await?,
        })
    }

    async fn id(&self, c: &Client, customer: i32) -> Result<i32, TxnError> {
        let name = format!("cust{customer}");
        let id = one_int(&c.query(&self.lookup, &[&name]).await?, "sb_accounts.custid")?;
        i32::try_from(id).map_err(|_| TxnError::Unexpected(format!("custid {id} out of range")))
    }

    async fn read(&self, c: &Client, stmt: &Statement, id: i32) -> Result<i64, TxnError> {
        one_int(&c.query(stmt, &[&id]).await?, "balance")
    }

    /// Runs one transaction.
    pub async fn run(&self, c: &Client, t: &Txn) -> Result<Outcome, TxnError> {
        let commit = Outcome::Commit { tally: 0 };
        match *t {
            Txn::Balance(n) => {
                let id = self.id(c, n).await?;
                self.read(c, &self.read_sav, id).await?;
                self.read(c, &self.read_chk, id).await?;
            }
            Txn::DepositChecking(n, v) => {
                let id = self.id(c, n).await?;
                c.execute(&self.add_chk, &[&id, &v]).await?;
            }
            Txn::TransactSaving(n, v) => {
                let id = self.id(c, n).await?;
                if self.read(c, &self.read_sav, id).await? + v < 0 {
                    return Ok(Outcome::Rollback);
                }
                c.execute(&self.add_sav, &[&id, &v]).await?;
            }
            Txn::Amalgamate(n1, n2) => {
                let a = self.id(c, n1).await?;
                let b = self.id(c, n2).await?;
                let total = self.read(c, &self.read_sav, a).await? + self.read(c, &self.read_chk, a).await?;
                c.execute(&self.set_sav, &[&a, &0i64]).await?;
                c.execute(&self.set_chk, &[&a, &0i64]).await?;
                c.execute(&self.add_chk, &[&b, &total]).await?;
            }
            Txn::WriteCheck(n, v) => {
                let id = self.id(c, n).await?;
                let total =
                    self.read(c, &self.read_sav, id).await? + self.read(c, &self.read_chk, id).await?;
                let debit = if total < v { -(v + 1) } else { -v };
                c.execute(&self.add_chk, &[&id, &debit]).await?;
            }
            Txn::SendPayment(n1, n2, v) => {
                let a = self.id(c, n1).await?;
                let b = self.id(c, n2).await?;
                if self.read(c, &self.read_chk, a).await? < v {
                    return Ok(Outcome::Rollback);
                }
                c.execute(&self.add_chk, &[&a, &-v]).await?;
                c.execute(&self.add_chk, &[&b, &v]).await?;
            }
        }
        Ok(commit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::test_support::shape;
    use crate::workload::Kind;

    #[test]
    fn mix_is_uniform_and_parameters_valid() {
        let s = shape(Kind::SmallBank, 1_000, 1); // hotspot 10, SendPayment on
        let mut r = Rng::for_client(6, 0);
        let mut counts = [0usize; 6];
        let mut hot = 0usize;
        let mut picks = 0usize;
        let mut note = |c: i32| {
            assert!((1..=1_000).contains(&c));
            picks += 1;
            hot += usize::from(c <= 10);
        };
        for _ in 0..12_000 {
            match plan(&s, &mut r) {
                Txn::Balance(c) => {
                    counts[0] += 1;
                    note(c)
                }
                Txn::DepositChecking(c, v) => {
                    counts[1] += 1;
                    assert!((1..=100).contains(&v));
                    note(c)
                }
                Txn::TransactSaving(c, v) => {
                    counts[2] += 1;
                    assert!((-100..=100).contains(&v));
                    note(c)
                }
                Txn::Amalgamate(a, b) => {
                    counts[3] += 1;
                    assert_ne!(a, b);
                    note(a);
                    note(b)
                }
                Txn::WriteCheck(c, v) => {
                    counts[4] += 1;
                    assert!((1..=100).contains(&v));
                    note(c)
                }
                Txn::SendPayment(a, b, v) => {
                    counts[5] += 1;
                    assert_ne!(a, b);
                    assert!((1..=100).contains(&v));
                    note(a);
                    note(b)
                }
            }
        }
        assert!(counts.iter().all(|n| (1_700..2_300).contains(n)), "{counts:?}");
        let share = hot as f64 / picks as f64;
        assert!((0.86..0.94).contains(&share), "hotspot share {share}");
    }

    #[test]
    fn without_send_payment_only_five_kinds() {
        let mut s = shape(Kind::SmallBank, 100, 1);
        s.send_payment = false;
        let mut r = Rng::for_client(6, 0);
        assert!((0..5_000).all(|_| !matches!(plan(&s, &mut r), Txn::SendPayment(..))));
    }

    #[test]
    fn uniform_when_hotspot_is_zero() {
        let mut s = shape(Kind::SmallBank, 1_000, 1);
        s.hotspot = 0;
        let mut r = Rng::for_client(1, 0);
        let low = (0..10_000).filter(|_| customer(&s, &mut r) <= 10).count();
        assert!(low < 300, "{low}");
    }
}
