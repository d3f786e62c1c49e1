//! On-call doctors: the textbook write skew (Cahill's thesis; PostgreSQL's SSI documentation).
//!
//! ```sql
//! CREATE TABLE ld_oncall (shift int, doctor int, on_call boolean NOT NULL,
//!                         PRIMARY KEY (shift, doctor))
//! -- shifts 1..=rows (default 10), doctors 1..=--doctors (default 2) per shift, all on call
//! ```
//!
//! Rule: every shift keeps at least one doctor on call. Each transaction picks a shift and a
//! doctor (uniform) and first counts who is on call:
//!
//! ```sql
//! SELECT count(*) FROM ld_oncall WHERE shift = $1::int AND on_call
//! ```
//!
//! then, half of the time, *goes off call* if someone else still covers the shift:
//!
//! ```sql
//! UPDATE ld_oncall SET on_call = false WHERE shift = $1::int AND doctor = $2::int  -- only if count > 1
//! ```
//!
//! and otherwise *goes back on call* (`SET on_call = true`), which keeps the run from settling
//! into a state where nobody can leave. Two doctors of one shift going off concurrently each see
//! the other still on call: under snapshot isolation both commit and the shift is empty.
//!
//! The tally counts committed transactions whose count was 0. Check: that tally plus the shifts
//! empty at the end must be zero at SERIALIZABLE (a committed serializable transaction can never
//! observe an empty shift, since every serial order keeps the rule). At READ COMMITTED and
//! REPEATABLE READ the same figures are reported as the write skew observed.

use tokio_postgres::{Client, Statement};

use super::{load_series, Outcome, Shape};
use crate::db::{one_int, TxnError};
use crate::rng::Rng;

/// `--rows` default: 10 shifts.
pub const DEFAULT_SHIFTS: u64 = 10;

/// Statements that create and load `ld_oncall` with `shifts` x `doctors` rows, all on call.
pub fn init_sql(shifts: i64, doctors: i64) -> Vec<String> {
    let mut sql = vec![
        "DROP TABLE IF EXISTS ld_oncall".to_string(),
        "CREATE TABLE ld_oncall (shift int, doctor int, on_call boolean NOT NULL, \
         PRIMARY KEY (shift, doctor))"
            .to_string(),
    ];
    sql.extend(load_series(
        "ld_oncall (shift, doctor, on_call)",
        &format!("(g - 1) / {doctors} + 1, (g - 1) % {doctors} + 1, true"),
        shifts * doctors,
    ));
    sql
}

/// One on-call transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct Txn {
    /// The shift.
    pub shift: i32,
    /// The doctor.
    pub doctor: i32,
    /// Go off call (if covered) rather than back on.
    pub off: bool,
}

/// Generates the next transaction.
pub fn plan(shape: &Shape, rng: &mut Rng) -> Txn {
    Txn {
        shift: rng.range(1, shape.rows) as i32,
        doctor: rng.range(1, shape.doctors) as i32,
        off: rng.percent(50),
    }
}

/// The prepared count and updates.
pub struct Stmts {
    count: Statement,
    set: Statement,
}

impl Stmts {
    /// Prepares them.
    pub async fn prepare(c: &Client) -> Result<Stmts, TxnError> {
        Ok(Stmts {
            count: c.prepare("SELECT count(*) FROM ld_oncall WHERE shift = $1::int AND on_call").await?,
            set: c
                .prepare(
                    "UPDATE ld_oncall SET on_call = $3::boolean WHERE shift = $1::int AND doctor = $2::int",
                )
                .await?,
        })
    }

    /// Runs one transaction.
    pub async fn run(&self, c: &Client, t: &Txn) -> Result<Outcome, TxnError> {
        let on_call = one_int(&c.query(&self.count, &[&t.shift]).await?, "on-call count")?;
        if !t.off || on_call > 1 {
            let value = !t.off;
            c.execute(&self.set, &[&t.shift, &t.doctor, &value]).await?;
        }
        Ok(Outcome::Commit { tally: i64::from(on_call == 0) })
    }
}

/// Shifts with nobody on call, from `(shift, on_call)` rows as text (`t`/`f`).
pub fn empty_shifts(rows: &[Vec<Option<String>>]) -> Vec<i64> {
    let mut covered = std::collections::BTreeMap::<i64, bool>::new();
    for r in rows {
        let shift = r.first().and_then(|s| s.as_deref()).and_then(|s| s.parse().ok());
        let on = r.get(1).and_then(|s| s.as_deref()) == Some("t");
        if let Some(shift) = shift {
            *covered.entry(shift).or_default() |= on;
        }
    }
    covered.into_iter().filter(|(_, on)| !on).map(|(s, _)| s).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::test_support::shape;
    use crate::workload::Kind;

    #[test]
    fn shifts_and_doctors_in_range_and_both_directions() {
        let s = shape(Kind::OnCall, 10, 1); // 2 doctors
        let mut r = Rng::for_client(2, 0);
        let ts: Vec<Txn> = (0..4000).map(|_| plan(&s, &mut r)).collect();
        assert!(ts.iter().all(|t| (1..=10).contains(&t.shift) && (1..=2).contains(&t.doctor)));
        let offs = ts.iter().filter(|t| t.off).count();
        assert!((1_800..2_200).contains(&offs), "{offs}");
    }

    #[test]
    fn empty_shift_detection() {
        let row = |s: &str, on: &str| vec![Some(s.to_string()), Some(on.to_string())];
        let rows = vec![row("1", "t"), row("1", "f"), row("2", "f"), row("2", "f"), row("3", "t")];
        assert_eq!(empty_shifts(&rows), vec![2]);
    }

    #[test]
    fn init_assigns_doctors_to_shifts() {
        let sql = init_sql(10, 3);
        assert!(sql[2].contains("(g - 1) / 3 + 1, (g - 1) % 3 + 1, true"));
        assert!(sql[2].contains("generate_series(1, 30)"));
    }
}
