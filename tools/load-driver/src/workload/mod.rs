//! The workloads: their tables, how they are loaded, what one transaction does, and what is
//! checked after the run.
//!
//! Each workload is a small module with the same five parts:
//! - `init_sql`: `DROP TABLE IF EXISTS`, `CREATE TABLE ... PRIMARY KEY`, and
//!   `INSERT ... SELECT ... FROM generate_series(lo, hi) AS g` in chunks of [`LOAD_CHUNK`] rows:
//!   plain PostgreSQL that ssidb supports too, no COPY.
//! - a `Txn` type and a pure `plan` function from a random stream to one transaction's
//!   parameters (unit-tested: keys in range, partitions disjoint, mixes as documented);
//! - `Stmts::prepare`: the statements, prepared once per client, with every parameter cast
//!   (`$1::int`) so the server never has to guess a type;
//! - `Stmts::run`: the statements of one transaction between the driver's BEGIN and COMMIT,
//!   returning whether to commit (with the workload's tally) or roll back;
//! - the end-of-run checks in [`checks`].
//!
//! Keys are dense `1..=rows`, as `--init` loads them; without `--init` the driver finds the sizes
//! with [`discover`] (`count(*)`, `max(...)`), as pgbench does with `pgbench_branches`.
//!
//! Transactions that write several rows touch them in key order, so workloads do not deadlock
//! among themselves by construction (SmallBank's Amalgamate and SendPayment excepted: their order
//! is the benchmark's).

pub mod bank;
pub mod checks;
pub mod disjoint;
pub mod insert;
pub mod kv;
pub mod oncall;
pub mod sibench;
pub mod smallbank;
pub mod tpcb;

use tokio_postgres::Client;

use crate::db::{self, TxnError};
use crate::rng::Rng;

/// Rows loaded by one `INSERT ... SELECT` during `--init`.
pub const LOAD_CHUNK: i64 = 100_000;

/// Which workload to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// One `SELECT` by primary key.
    PointSelect,
    /// One `UPDATE ... SET v = v + 1` by primary key.
    PointUpdate,
    /// One `INSERT` of a new key.
    Insert,
    /// A primary-key range scan of 10 rows.
    Range10,
    /// A primary-key range scan of 100 rows.
    Range100,
    /// A primary-key range scan of 10,000 rows.
    Range10k,
    /// pgbench's TPC-B-like transaction on pgbench's tables.
    TpcB,
    /// Transfers between accounts; money is conserved.
    Bank,
    /// Each client reads and updates 1-10 keys of its own partition.
    Disjoint,
    /// Cahill et al.'s SmallBank mix.
    SmallBank,
    /// Cahill's SIBENCH: update one row vs. read the row with the minimum value.
    SiBench,
    /// On-call doctors (write skew).
    OnCall,
    /// 90% point-select transactions, 10% two-row updates.
    ReadMostly,
}

impl Kind {
    /// Every workload, in the README's order.
    pub const ALL: [Kind; 13] = [
        Kind::PointSelect,
        Kind::PointUpdate,
        Kind::Insert,
        Kind::Range10,
        Kind::Range100,
        Kind::Range10k,
        Kind::TpcB,
        Kind::Bank,
        Kind::Disjoint,
        Kind::SmallBank,
        Kind::SiBench,
        Kind::OnCall,
        Kind::ReadMostly,
    ];

    /// The `--workload` spelling.
    pub fn name(self) -> &'static str {
        match self {
            Kind::PointSelect => "point-select",
            Kind::PointUpdate => "point-update",
            Kind::Insert => "insert",
            Kind::Range10 => "range-10",
            Kind::Range100 => "range-100",
            Kind::Range10k => "range-10k",
            Kind::TpcB => "tpcb",
            Kind::Bank => "bank",
            Kind::Disjoint => "disjoint",
            Kind::SmallBank => "smallbank",
            Kind::SiBench => "sibench",
            Kind::OnCall => "oncall",
            Kind::ReadMostly => "read-mostly",
        }
    }

    /// Parses a `--workload` value.
    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == s)
    }

    /// Rows scanned by a range workload.
    pub fn range_len(self) -> Option<i64> {
        match self {
            Kind::Range10 => Some(10),
            Kind::Range100 => Some(100),
            Kind::Range10k => Some(10_000),
            _ => None,
        }
    }

    /// `--rows` when not given (tpcb uses `--scale` instead).
    pub fn default_rows(self) -> u64 {
        match self {
            Kind::Bank => bank::DEFAULT_ROWS,
            Kind::Disjoint => disjoint::DEFAULT_ROWS,
            Kind::SmallBank => smallbank::DEFAULT_ROWS,
            Kind::SiBench => sibench::DEFAULT_ROWS,
            Kind::OnCall => oncall::DEFAULT_SHIFTS,
            _ => kv::DEFAULT_ROWS,
        }
    }
}

/// How bank transfers change balances.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BankStyle {
    /// `UPDATE ... SET balance = balance - $x`: safe at every level.
    Delta,
    /// `SELECT balance`, then `UPDATE ... SET balance = <computed>`: loses updates at READ
    /// COMMITTED, which the end-of-run check reports.
    Rmw,
}

impl BankStyle {
    /// The flag's spelling.
    pub fn name(self) -> &'static str {
        match self {
            BankStyle::Delta => "delta",
            BankStyle::Rmw => "rmw",
        }
    }

    /// Parses a `--bank-style` value.
    pub fn parse(s: &str) -> Option<BankStyle> {
        [BankStyle::Delta, BankStyle::Rmw].into_iter().find(|b| b.name() == s)
    }
}

/// The shape of the data and the mix: everything `plan` needs besides the random stream.
#[derive(Debug, Clone)]
pub struct Shape {
    /// The workload.
    pub kind: Kind,
    /// Rows (accounts, customers, shifts...) — keys are `1..=rows`.
    pub rows: i64,
    /// TPC-B scale factor.
    pub scale: i64,
    /// Doctors per shift (oncall).
    pub doctors: i64,
    /// Largest key already in the insert table.
    pub insert_base: i64,
    /// Number of clients (disjoint partitions, insert key interleaving).
    pub clients: usize,
    /// SmallBank hotspot size (0: uniform).
    pub hotspot: i64,
    /// SmallBank includes SendPayment.
    pub send_payment: bool,
    /// Bank transfer style.
    pub bank_style: BankStyle,
}

impl Shape {
    /// Whether the data is big enough for the workload; a message for the user if not.
    pub fn validate(&self) -> Result<(), String> {
        let need = |ok: bool, msg: String| if ok { Ok(()) } else { Err(msg) };
        let name = self.kind.name();
        match self.kind {
            Kind::Insert => Ok(()),
            Kind::TpcB => need(self.scale >= 1, "tpcb: pgbench_branches is empty (run with --init)".into()),
            Kind::Disjoint => need(
                self.rows / self.clients as i64 >= disjoint::MAX_KEYS,
                format!(
                    "disjoint: {} rows give each of {} clients fewer than {} keys",
                    self.rows,
                    self.clients,
                    disjoint::MAX_KEYS
                ),
            ),
            Kind::OnCall => {
                need(self.rows >= 1 && self.doctors >= 1, "oncall: no shifts (run with --init)".into())
            }
            _ => {
                let min = self.kind.range_len().unwrap_or(2);
                need(
                    self.rows >= min,
                    format!("{name}: needs at least {min} rows, found {} (--init?)", self.rows),
                )
            }
        }
    }
}

/// One logical transaction's parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum Txn {
    /// A point-select / point-update / range / read-mostly transaction.
    Kv(kv::Txn),
    /// An insert.
    Insert(insert::Txn),
    /// A TPC-B-like transaction.
    TpcB(tpcb::Txn),
    /// A bank transfer.
    Bank(bank::Txn),
    /// A disjoint-partition transaction.
    Disjoint(disjoint::Txn),
    /// A SmallBank transaction.
    SmallBank(smallbank::Txn),
    /// A SIBENCH transaction.
    SiBench(sibench::Txn),
    /// An on-call transaction.
    OnCall(oncall::Txn),
}

/// What a transaction body asks the driver to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// COMMIT; on success add `tally` to the workload's tally.
    Commit {
        /// The workload's count for this transaction (rows incremented, empty shifts seen...).
        tally: i64,
    },
    /// ROLLBACK on purpose (a workload rule, e.g. SmallBank's insufficient funds).
    Rollback,
}

/// The `seq`-th transaction of client `client`.
pub fn plan(shape: &Shape, client: usize, seq: u64, rng: &mut Rng) -> Txn {
    match shape.kind {
        Kind::Insert => Txn::Insert(insert::plan(shape, client, seq, rng)),
        Kind::TpcB => Txn::TpcB(tpcb::plan(shape, rng)),
        Kind::Bank => Txn::Bank(bank::plan(shape, rng)),
        Kind::Disjoint => Txn::Disjoint(disjoint::plan(shape, client, rng)),
        Kind::SmallBank => Txn::SmallBank(smallbank::plan(shape, rng)),
        Kind::SiBench => Txn::SiBench(sibench::plan(shape, rng)),
        Kind::OnCall => Txn::OnCall(oncall::plan(shape, rng)),
        _ => Txn::Kv(kv::plan(shape, rng)),
    }
}

/// A client's prepared statements for its workload.
pub enum Prepared {
    /// ld_kv statements.
    Kv(kv::Stmts),
    /// ld_insert statements.
    Insert(insert::Stmts),
    /// pgbench statements.
    TpcB(tpcb::Stmts),
    /// ld_bank statements.
    Bank(bank::Stmts),
    /// ld_disjoint statements.
    Disjoint(disjoint::Stmts),
    /// SmallBank statements.
    SmallBank(smallbank::Stmts),
    /// SIBENCH statements.
    SiBench(sibench::Stmts),
    /// On-call statements.
    OnCall(oncall::Stmts),
}

impl Prepared {
    /// Prepares the statements `kind` needs on `c`.
    pub async fn new(c: &Client, shape: &Shape) -> Result<Prepared, TxnError> {
        Ok(match shape.kind {
            Kind::Insert => Prepared::Insert(insert::Stmts::prepare(c).await?),
            Kind::TpcB => Prepared::TpcB(tpcb::Stmts::prepare(c).await?),
            Kind::Bank => Prepared::Bank(bank::Stmts::prepare(c, shape.bank_style).await?),
            Kind::Disjoint => Prepared::Disjoint(disjoint::Stmts::prepare(c).await?),
            Kind::SmallBank => Prepared::SmallBank(smallbank::Stmts::prepare(c).await?),
            Kind::SiBench => Prepared::SiBench(sibench::Stmts::prepare(c).await?),
            Kind::OnCall => Prepared::OnCall(oncall::Stmts::prepare(c).await?),
            _ => Prepared::Kv(kv::Stmts::prepare(c).await?),
        })
    }

    /// Runs the body of `txn` (the driver has sent BEGIN and will COMMIT or ROLLBACK).
    pub async fn run(&self, c: &Client, txn: &Txn) -> Result<Outcome, TxnError> {
        match (self, txn) {
            (Prepared::Kv(s), Txn::Kv(t)) => s.run(c, t).await,
            (Prepared::Insert(s), Txn::Insert(t)) => s.run(c, t).await,
            (Prepared::TpcB(s), Txn::TpcB(t)) => s.run(c, t).await,
            (Prepared::Bank(s), Txn::Bank(t)) => s.run(c, t).await,
            (Prepared::Disjoint(s), Txn::Disjoint(t)) => s.run(c, t).await,
            (Prepared::SmallBank(s), Txn::SmallBank(t)) => s.run(c, t).await,
            (Prepared::SiBench(s), Txn::SiBench(t)) => s.run(c, t).await,
            (Prepared::OnCall(s), Txn::OnCall(t)) => s.run(c, t).await,
            _ => unreachable!("plan() and Prepared::new() dispatch on the same Kind"),
        }
    }
}

/// Table-creation and load statements for `--init`, in order.
pub fn init_sql(kind: Kind, rows: i64, scale: i64, doctors: i64) -> Vec<String> {
    match kind {
        Kind::Insert => insert::init_sql(),
        Kind::TpcB => tpcb::init_sql(scale),
        Kind::Bank => bank::init_sql(rows),
        Kind::Disjoint => disjoint::init_sql(rows),
        Kind::SmallBank => smallbank::init_sql(rows),
        Kind::SiBench => sibench::init_sql(rows),
        Kind::OnCall => oncall::init_sql(rows, doctors),
        _ => kv::init_sql(rows),
    }
}

/// `INSERT INTO {into} SELECT {select} FROM generate_series(lo, hi) AS g` for `1..=rows`, in
/// chunks of [`LOAD_CHUNK`].
pub fn load_series(into: &str, select: &str, rows: i64) -> Vec<String> {
    (0..(rows.max(0) + LOAD_CHUNK - 1) / LOAD_CHUNK)
        .map(|i| {
            let lo = i * LOAD_CHUNK + 1;
            let hi = ((i + 1) * LOAD_CHUNK).min(rows);
            format!("INSERT INTO {into} SELECT {select} FROM generate_series({lo}, {hi}) AS g")
        })
        .collect()
}

/// Reads the sizes of existing tables into `shape` (rows, scale, doctors, insert base).
pub async fn discover(c: &Client, shape: &mut Shape) -> Result<(), String> {
    let int = |sql: &'static str| async move { db::query_int(c, sql).await.map(|v| v as i64) };
    match shape.kind {
        Kind::Insert => shape.insert_base = int("SELECT max(id) FROM ld_insert").await?,
        Kind::TpcB => shape.scale = int("SELECT count(*) FROM pgbench_branches").await?,
        Kind::Bank => shape.rows = int("SELECT count(*) FROM ld_bank").await?,
        Kind::Disjoint => shape.rows = int("SELECT count(*) FROM ld_disjoint").await?,
        Kind::SmallBank => shape.rows = int("SELECT count(*) FROM sb_accounts").await?,
        Kind::SiBench => shape.rows = int("SELECT count(*) FROM ld_sibench").await?,
        Kind::OnCall => {
            shape.rows = int("SELECT max(shift) FROM ld_oncall").await?;
            shape.doctors = int("SELECT max(doctor) FROM ld_oncall").await?;
        }
        _ => shape.rows = int("SELECT count(*) FROM ld_kv").await?,
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;

    /// A shape for unit tests.
    pub fn shape(kind: Kind, rows: i64, clients: usize) -> Shape {
        Shape {
            kind,
            rows,
            scale: 2,
            doctors: 2,
            insert_base: 0,
            clients,
            hotspot: 10,
            send_payment: true,
            bank_style: BankStyle::Delta,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::shape;
    use super::*;

    #[test]
    fn names_round_trip() {
        for k in Kind::ALL {
            assert_eq!(Kind::parse(k.name()), Some(k));
        }
        assert_eq!(Kind::parse("tpcc"), None);
    }

    #[test]
    fn load_is_chunked_and_covers_every_row() {
        let sql = load_series("t", "g, 0", 250_000);
        assert_eq!(sql.len(), 3);
        assert!(sql[0].ends_with("generate_series(1, 100000) AS g"));
        assert!(sql[2].ends_with("generate_series(200001, 250000) AS g"));
        assert!(load_series("t", "g", 0).is_empty());
    }

    #[test]
    fn validation() {
        assert!(shape(Kind::Range10k, 9_999, 1).validate().is_err());
        assert!(shape(Kind::Range10k, 10_000, 1).validate().is_ok());
        assert!(shape(Kind::Disjoint, 159, 16).validate().is_err());
        assert!(shape(Kind::Disjoint, 160, 16).validate().is_ok());
        assert!(shape(Kind::Bank, 1, 1).validate().is_err());
        assert!(shape(Kind::Insert, 0, 1).validate().is_ok());
    }

    #[test]
    fn every_plan_matches_its_kind() {
        for k in Kind::ALL {
            let s = shape(k, 20_000, 4);
            let mut r = Rng::for_client(1, 0);
            let t = plan(&s, 0, 0, &mut r);
            let ok = match k {
                Kind::Insert => matches!(t, Txn::Insert(_)),
                Kind::TpcB => matches!(t, Txn::TpcB(_)),
                Kind::Bank => matches!(t, Txn::Bank(_)),
                Kind::Disjoint => matches!(t, Txn::Disjoint(_)),
                Kind::SmallBank => matches!(t, Txn::SmallBank(_)),
                Kind::SiBench => matches!(t, Txn::SiBench(_)),
                Kind::OnCall => matches!(t, Txn::OnCall(_)),
                _ => matches!(t, Txn::Kv(_)),
            };
            assert!(ok, "{k:?} planned {t:?}");
        }
    }
}
