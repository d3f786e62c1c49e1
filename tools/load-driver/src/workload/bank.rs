//! The bank workload: transfers between accounts; the total must not change.
//!
//! ```sql
//! CREATE TABLE ld_bank (id int PRIMARY KEY, balance bigint NOT NULL)
//! -- ids 1..=rows, each balance 1000
//! ```
//!
//! A transfer moves `amount` (1..=100) from `from` to `to` (distinct, uniform). Balances may go
//! negative: only conservation matters. The two accounts are always touched in increasing id
//! order, so transfers never deadlock each other.
//!
//! `--bank-style delta` (the default at READ COMMITTED):
//! ```sql
//! UPDATE ld_bank SET balance = balance + $2::bigint WHERE id = $1::int   -- -amount for `from`
//! UPDATE ld_bank SET balance = balance + $2::bigint WHERE id = $1::int   -- +amount for `to`
//! ```
//! `--bank-style rmw` (the default at REPEATABLE READ and SERIALIZABLE): read-modify-write,
//! ```sql
//! SELECT balance FROM ld_bank WHERE id = $1::int          -- both accounts
//! UPDATE ld_bank SET balance = $2::bigint WHERE id = $1::int  -- both, with computed values
//! ```
//! which loses updates at READ COMMITTED (the check then fails, loudly) and must raise 40001
//! instead at the higher levels.
//!
//! The check compares `sum(balance)` before and after the run, at every level.

use tokio_postgres::{Client, Statement};

use super::{load_series, BankStyle, Outcome, Shape};
use crate::db::{one_int, TxnError};
use crate::rng::Rng;

/// `--rows` default: 1,000 accounts.
pub const DEFAULT_ROWS: u64 = 1_000;
/// Every account's opening balance.
pub const OPENING_BALANCE: i64 = 1_000;
/// Largest transfer.
pub const MAX_AMOUNT: i64 = 100;

/// Statements that create and load `ld_bank`.
pub fn init_sql(rows: i64) -> Vec<String> {
    let mut sql = vec![
        "DROP TABLE IF EXISTS ld_bank".to_string(),
        "CREATE TABLE ld_bank (id int PRIMARY KEY, balance bigint NOT NULL)".to_string(),
    ];
    sql.extend(load_series("ld_bank (id, balance)", &format!("g, {OPENING_BALANCE}"), rows));
    sql
}

/// One transfer.
#[derive(Debug, Clone, PartialEq)]
pub struct Txn {
    /// Account debited.
    pub from: i32,
    /// Account credited (never `from`).
    pub to: i32,
    /// Amount, 1..=[`MAX_AMOUNT`].
    pub amount: i64,
}

/// Generates the next transfer.
pub fn plan(shape: &Shape, rng: &mut Rng) -> Txn {
    let from = rng.range(1, shape.rows);
    // Uniform over the other rows-1 accounts.
    let mut to = rng.range(1, shape.rows - 1);
    if to >= from {
        to += 1;
    }
    Txn { from: from as i32, to: to as i32, amount: rng.range(1, MAX_AMOUNT) }
}

impl Txn {
    /// The two (account, change) pairs in increasing account order.
    pub fn legs(&self) -> [(i32, i64); 2] {
        let debit = (self.from, -self.amount);
        let credit = (self.to, self.amount);
        if self.from < self.to {
            [debit, credit]
        } else {
            [credit, debit]
        }
    }
}

/// The prepared transfer statements.
pub struct Stmts {
    style: BankStyle,
    add: Statement,
    read: Statement,
    set: Statement,
}

impl Stmts {
    /// Prepares them.
    pub async fn prepare(c: &Client, style: BankStyle) -> Result<Stmts, TxnError> {
        Ok(Stmts {
            style,
            add: c.prepare("UPDATE ld_bank SET balance = balance + $2::bigint WHERE id = $1::int").await?,
            read: c.prepare("SELECT balance FROM ld_bank WHERE id = $1::int").await?,
            set: c.prepare("UPDATE ld_bank SET balance = $2::bigint WHERE id = $1::int").await?,
        })
    }

    /// Runs one transfer.
    pub async fn run(&self, c: &Client, t: &Txn) -> Result<Outcome, TxnError> {
        let legs = t.legs();
        match self.style {
            BankStyle::Delta => {
                for (id, change) in legs {
                    expect_one(c.execute(&self.add, &[&id, &change]).await?, id)?;
                }
            }
            BankStyle::Rmw => {
                let mut balances = [0i64; 2];
                for (i, (id, _)) in legs.iter().enumerate() {
                    balances[i] = one_int(&c.query(&self.read, &[id]).await?, "ld_bank.balance")?;
                }
                for (i, (id, change)) in legs.iter().enumerate() {
                    let new = balances[i] + change;
                    expect_one(c.execute(&self.set, &[id, &new]).await?, *id)?;
                }
            }
        }
        Ok(Outcome::Commit { tally: 0 })
    }
}

/// A transfer to or from a missing account would create or destroy money.
fn expect_one(updated: u64, id: i32) -> Result<(), TxnError> {
    if updated == 1 {
        Ok(())
    } else {
        Err(TxnError::Unexpected(format!("UPDATE of account {id} changed {updated} rows")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::test_support::shape;
    use crate::workload::Kind;

    #[test]
    fn transfers_are_between_two_distinct_existing_accounts() {
        let s = shape(Kind::Bank, 3, 1);
        let mut r = Rng::for_client(8, 1);
        let mut pairs = std::collections::HashSet::new();
        for _ in 0..2000 {
            let t = plan(&s, &mut r);
            assert_ne!(t.from, t.to);
            assert!((1..=3).contains(&t.from) && (1..=3).contains(&t.to));
            assert!((1..=MAX_AMOUNT).contains(&t.amount));
            pairs.insert((t.from, t.to));
        }
        assert_eq!(pairs.len(), 6, "every ordered pair occurs");
    }

    #[test]
    fn legs_are_ordered_and_sum_to_zero() {
        for t in [Txn { from: 7, to: 2, amount: 5 }, Txn { from: 2, to: 7, amount: 5 }] {
            let legs = t.legs();
            assert!(legs[0].0 < legs[1].0);
            assert_eq!(legs[0].1 + legs[1].1, 0);
            assert!(legs.contains(&(t.from, -5)) && legs.contains(&(t.to, 5)));
        }
    }
}
