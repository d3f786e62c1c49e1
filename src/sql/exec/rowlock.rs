//! Row locks for UPDATE, DELETE and SELECT ... FOR UPDATE/SHARE, and PostgreSQL's EvalPlanQual.
//!
//! A statement reads rows at its snapshot. Before it changes or locks one, it takes the row's
//! lock in the [`crate::txn::mvcc::Transaction`] (waiting FIFO behind conflicting holders), which
//! then tells whether a transaction that committed after the snapshot changed the row:
//!
//! ```text
//!   lock_row(row key, mode)
//!     Unchanged          -> the version the statement read is the newest: use it
//!     Changed(None)      -> deleted meanwhile:  READ COMMITTED skips the row,
//!                                               REPEATABLE READ / SERIALIZABLE: 40001 (delete)
//!     Changed(Some(v))   -> updated meanwhile:  READ COMMITTED re-checks WHERE on v and uses v
//!                                               (EvalPlanQual) or skips the row,
//!                                               REPEATABLE READ / SERIALIZABLE: 40001 (update)
//!     Skipped            -> SKIP LOCKED and somebody holds it: leave the row out
//! ```
//!
//! Strengths follow PostgreSQL: DELETE and an UPDATE that assigns a column of a unique index lock
//! `Update`, other UPDATEs `NoKeyUpdate` (so they do not block `FOR KEY SHARE`); SELECT locks what
//! its clause names. Locks last until the transaction ends (a savepoint rollback releases the ones
//! taken after it). Locking is not a write for SSI: only the writes that follow are.

use super::{Row, Runner};
use crate::error::{Error, ErrorKind, Result};
use crate::sql::catalog::keys::Key;
use crate::sql::catalog::{rowcodec, TableDef};
use crate::sql::plan::{Expr, LockMode, LockTarget, LockWaitPolicy};
use crate::sql::types::Value;
use crate::txn::mvcc::{concurrent_update_error, RowLock, WaitPolicy};

/// What a [`crate::sql::plan::Plan::LockRows`] node needs at run time.
pub struct LockSpec<'a> {
    /// Width of the projection at the front of each input row (the FROM row follows).
    pub base: usize,
    /// WHERE over the FROM row, re-checked after a concurrent update.
    pub predicate: &'a Option<Expr>,
    /// The projection over the FROM row, recomputed after a concurrent update.
    pub project: &'a [Expr],
    /// The tables whose rows are locked.
    pub targets: &'a [LockTarget],
}

/// The state of a row once its lock is held.
#[derive(Debug)]
pub enum Locked {
    /// As the statement read it (or as this transaction itself last wrote it).
    Current,
    /// Changed by a transaction that committed after the snapshot (READ COMMITTED only): the
    /// newest version, to be re-checked.
    Newer(Row),
    /// Deleted meanwhile (READ COMMITTED only).
    Gone,
    /// SKIP LOCKED and another transaction holds a conflicting lock.
    Skipped,
}

/// PostgreSQL's 55P03 for NOWAIT.
pub fn nowait_error(table: &str) -> Error {
    Error::new(ErrorKind::LockNotAvailable, format!("could not obtain lock on row in relation \"{table}\""))
}

impl Runner<'_, '_> {
    /// Locks row `rowid` of `table` in `mode` and reports what became of it; a concurrent change
    /// is a 40001 at REPEATABLE READ and SERIALIZABLE.
    pub fn lock_row(
        &mut self,
        table: &TableDef,
        rowid: u64,
        mode: LockMode,
        wait: LockWaitPolicy,
    ) -> Result<Locked> {
        let key = Key::Row(table.oid, rowid).encode();
        let policy = match wait {
            LockWaitPolicy::Wait => WaitPolicy::Wait,
            LockWaitPolicy::NoWait => WaitPolicy::NoWait(nowait_error(&table.name)),
            LockWaitPolicy::SkipLocked => WaitPolicy::SkipLocked,
        };
        match self.ctx.txn.lock_row_with(&key, mode, &policy)? {
            RowLock::Unchanged => Ok(Locked::Current),
            RowLock::Skipped => Ok(Locked::Skipped),
            RowLock::Changed(newest) => {
                if self.ctx.txn.isolation().uses_transaction_snapshot() {
                    return Err(concurrent_update_error(newest.is_none()));
                }
                match newest {
                    None => Ok(Locked::Gone),
                    Some(bytes) => Ok(Locked::Newer(rowcodec::decode_row(&bytes, table.columns.len())?)),
                }
            }
        }
    }

    /// Runs a LockRows node over its (sorted) input: locks each row's target rows, re-checks
    /// rows changed meanwhile, and stops once `want` rows are kept.
    pub fn lock_rows(&mut self, rows: Vec<Row>, spec: &LockSpec, want: Option<usize>) -> Result<Vec<Row>> {
        let mut out = Vec::new();
        'rows: for row in rows {
            if want.is_some_and(|w| out.len() >= w) {
                break;
            }
            self.tick()?;
            let mut from_row: Row = row[spec.base..].to_vec();
            let mut changed = false;
            for t in spec.targets {
                // A NULL row id is the missing side of an outer join: nothing to lock.
                let Value::Int8(id) = from_row[t.rowid_col] else { continue };
                match self.lock_row(&t.table, id as u64, t.mode, t.wait)? {
                    Locked::Current => {}
                    Locked::Skipped | Locked::Gone => continue 'rows,
                    Locked::Newer(newest) => {
                        let width = t.table.columns.len();
                        from_row.splice(t.first_col..t.first_col + width, newest);
                        changed = true;
                    }
                }
            }
            if !changed {
                out.push(row);
                continue;
            }
            if let Some(p) = spec.predicate {
                if !self.check(p, &from_row)? {
                    continue;
                }
            }
            let mut projected = self.eval_row(spec.project, &from_row)?;
            projected.extend(from_row);
            out.push(projected);
        }
        Ok(out)
    }
}
