//! Binding `SELECT ... FOR UPDATE | FOR NO KEY UPDATE | FOR SHARE | FOR KEY SHARE [OF t, ...]
//! [NOWAIT | SKIP LOCKED]` into a [`Plan::LockRows`] node.
//!
//! The base tables of the locking SELECT's FROM clause are scanned with their row ids
//! ([`Plan::Scan`] `rowid`), each in a hidden scope column that names cannot reach (empty name, no
//! qualifier, excluded from `*`). The SELECT is then planned as PostgreSQL does:
//!
//! ```text
//!   Project (visible columns)
//!     LockRows (locks each row's target rows; applies LIMIT/OFFSET itself)
//!       Sort (ORDER BY)
//!         Project (select list ++ ORDER BY keys ++ the whole FROM row)
//!           Filter (WHERE) -> FROM
//! ```
//!
//! Carrying the FROM row up to LockRows is what makes EvalPlanQual possible: when a locked row
//! turns out to have been changed by a transaction that committed after the snapshot, LockRows
//! substitutes the newest version into the FROM row, re-checks WHERE and recomputes the select list.
//!
//! sqlparser 0.63 knows only `FOR UPDATE` and `FOR SHARE`; the parser front end
//! ([`crate::sql::parser`]) rewrites `FOR NO KEY UPDATE` / `FOR KEY SHARE` into them with a marker
//! in the `OF` list ([`NO_KEY_MARKER`], [`KEY_SHARE_MARKER`]), decoded here.
//!
//! Left out: locking the rows behind views and subqueries in FROM (PostgreSQL locks them too).

use super::bind::Binder;
use super::scope::{Scope, ScopeColumn};
use super::{Expr, LockMode, LockTarget, LockWaitPolicy, Plan};
use crate::error::{Error, ErrorKind, Result};
use crate::sql::types::DataType;
use sqlparser::ast;

/// `OF` name the parser puts first to mark `FOR NO KEY UPDATE` (rewritten to `FOR UPDATE`).
pub const NO_KEY_MARKER: &str = "ssidb: no key update";
/// `OF` name the parser puts first to mark `FOR KEY SHARE` (rewritten to `FOR SHARE`).
pub const KEY_SHARE_MARKER: &str = "ssidb: key share";

/// One decoded locking clause.
#[derive(Clone, Debug, PartialEq)]
pub struct LockClause {
    /// The strength.
    pub mode: LockMode,
    /// NOWAIT / SKIP LOCKED.
    pub wait: LockWaitPolicy,
    /// `OF` tables (empty: every table of the FROM clause).
    pub of: Vec<String>,
}

/// PostgreSQL's name of a strength in messages (`FOR NO KEY UPDATE`).
pub fn strength_name(mode: LockMode) -> &'static str {
    match mode {
        LockMode::Update => "FOR UPDATE",
        LockMode::NoKeyUpdate => "FOR NO KEY UPDATE",
        LockMode::Share => "FOR SHARE",
        LockMode::KeyShare => "FOR KEY SHARE",
    }
}

/// Decodes a query's locking clauses.
pub fn lock_clauses(q: &ast::Query) -> Vec<LockClause> {
    q.locks
        .iter()
        .map(|l| {
            let mut of: Vec<String> = match &l.of {
                Some(n) => n.0.iter().map(|p| p.to_string().trim_matches('"').to_string()).collect(),
                None => vec![],
            };
            let mut mode = match l.lock_type {
                ast::LockType::Update => LockMode::Update,
                ast::LockType::Share => LockMode::Share,
            };
            if of.first().map(String::as_str) == Some(NO_KEY_MARKER) {
                mode = LockMode::NoKeyUpdate;
                of.remove(0);
            } else if of.first().map(String::as_str) == Some(KEY_SHARE_MARKER) {
                mode = LockMode::KeyShare;
                of.remove(0);
            }
            // `OF a.b` names table b (schema-qualified): keep the last part.
            let of = of.pop().into_iter().collect();
            let wait = match l.nonblock {
                None => LockWaitPolicy::Wait,
                Some(ast::NonBlock::Nowait) => LockWaitPolicy::NoWait,
                Some(ast::NonBlock::SkipLocked) => LockWaitPolicy::SkipLocked,
            };
            LockClause { mode, wait, of }
        })
        .collect()
}

/// The 0A000 for a locking clause in a query shape PostgreSQL refuses (`with` names the shape).
pub fn not_allowed(clauses: &[LockClause], with: &str) -> Error {
    let name = clauses.first().map(|c| strength_name(c.mode)).unwrap_or("FOR UPDATE");
    Error::new(ErrorKind::FeatureNotSupported, format!("{name} is not allowed with {with}"))
}

/// The hidden scope column holding a scanned table's row id.
pub fn rowid_column(table_oid: u32) -> ScopeColumn {
    ScopeColumn {
        qualifier: None,
        name: String::new(),
        data_type: DataType::Int8,
        table_oid,
        attnum: 0,
        merged: true,
    }
}

fn is_rowid_column(c: &ScopeColumn) -> bool {
    c.name.is_empty() && c.qualifier.is_none() && c.merged && c.table_oid != 0
}

impl Binder<'_> {
    /// The tables of a locking SELECT's FROM scope with the strength each is locked in.
    pub(super) fn lock_targets(&self, clauses: &[LockClause], scope: &Scope) -> Result<Vec<LockTarget>> {
        for c in clauses {
            for name in &c.of {
                let found = scope.columns.iter().enumerate().any(|(i, col)| {
                    is_rowid_column(col) && self.rowid_qualifier(scope, i).as_deref() == Some(name.as_str())
                });
                if !found {
                    return Err(Error::new(
                        ErrorKind::UndefinedTable,
                        format!(
                            "relation \"{name}\" in {} clause not found in FROM clause",
                            strength_name(c.mode)
                        ),
                    ));
                }
            }
        }
        let mut targets = Vec::new();
        for (i, col) in scope.columns.iter().enumerate() {
            if !is_rowid_column(col) {
                continue;
            }
            let Some(table) = self.catalog.table_by_oid(col.table_oid).cloned() else { continue };
            let qualifier = self.rowid_qualifier(scope, i);
            let applicable = clauses
                .iter()
                .filter(|c| c.of.is_empty() || qualifier.as_ref().is_some_and(|q| c.of.contains(q)))
                .max_by_key(|c| c.mode);
            if let Some(c) = applicable {
                // Every strength needs UPDATE, as in PostgreSQL.
                self.require(
                    &crate::sql::catalog::Object::Table(table.clone()),
                    crate::sql::auth::acl::UPDATE,
                )?;
                let first_col = i - table.columns.len();
                targets.push(LockTarget { table, rowid_col: i, first_col, mode: c.mode, wait: c.wait });
            }
        }
        Ok(targets)
    }

    fn rowid_qualifier(&self, scope: &Scope, rowid_col: usize) -> Option<String> {
        let width = self.catalog.table_by_oid(scope.columns[rowid_col].table_oid)?.columns.len();
        let first = rowid_col.checked_sub(width)?;
        scope.columns.get(first)?.qualifier.clone()
    }
}

/// Sets LIMIT/OFFSET on the LockRows node under a query's final projection; false if there is
/// none (the caller then adds an ordinary Limit node).
pub fn attach_limit(plan: &mut Plan, limit: &Option<Expr>, offset: &Option<Expr>) -> bool {
    match plan {
        Plan::Project(input, _) => attach_limit(input, limit, offset),
        Plan::LockRows { limit: l, offset: o, .. } => {
            *l = limit.clone();
            *o = offset.clone();
            true
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_markers_and_policies() {
        let sql = format!(
            "SELECT * FROM t FOR UPDATE OF \"{NO_KEY_MARKER}\".t NOWAIT FOR SHARE OF \"{KEY_SHARE_MARKER}\" SKIP LOCKED"
        );
        let ast::Statement::Query(q) = crate::sql::engine::parse_one(&sql).expect("parses") else {
            panic!("not a query")
        };
        let c = lock_clauses(&q);
        assert_eq!(
            c,
            vec![
                LockClause {
                    mode: LockMode::NoKeyUpdate,
                    wait: LockWaitPolicy::NoWait,
                    of: vec!["t".into()]
                },
                LockClause { mode: LockMode::KeyShare, wait: LockWaitPolicy::SkipLocked, of: vec![] },
            ]
        );
    }
}
