//! ORDER BY satisfied by an index: a Sort over a single-table scan is dropped when an index
//! returns the rows in the requested order, read forward (ASC) or backward (DESC).
//!
//! ```text
//!   Sort(a DESC)                                 Limit
//!     Project                        becomes       Project
//!       Filter?                                      Filter?
//!         Scan t (index (a) or full)                   Scan t, index (a), backward
//! ```
//!
//! Index keys sort NULLs after every value ([`crate::sql::types::keyenc`]), so a forward scan is
//! `ASC NULLS LAST` and a backward one `DESC NULLS FIRST`: PostgreSQL's defaults. Sort keys that
//! name columns fixed by the scan's equality prefix are skipped (`WHERE a = 1 ORDER BY a, b` on
//! `(a, b)`); the rest must be the index columns after the prefix, all in one direction. A scan
//! with an index condition keeps its index when that index has the order; a full scan turns into
//! a full index scan only under a LIMIT, where reading the first rows in order beats sorting them
//! all. Index-ordered scans also take a LIMIT directly (the executor stops reading once enough
//! rows came back) when no Filter sits between them and the Limit.

use super::access::IndexScan;
use super::{Expr, Plan, SortKey};
use crate::sql::catalog::IndexDef;
use crate::storage::Direction;

/// Rewrites Sorts that an index order makes unnecessary, top-down through Limit and Project.
pub fn use_index_order(plan: Plan, indexes_of: &dyn Fn(u32) -> Vec<IndexDef>) -> Plan {
    rewrite(plan, false, indexes_of)
}

fn rewrite(plan: Plan, under_limit: bool, indexes_of: &dyn Fn(u32) -> Vec<IndexDef>) -> Plan {
    match plan {
        Plan::Limit { input, limit, offset } => {
            let limited = limit.is_some();
            Plan::Limit { input: Box::new(rewrite(*input, limited, indexes_of)), limit, offset }
        }
        Plan::Project(input, exprs) => {
            Plan::Project(Box::new(rewrite(*input, under_limit, indexes_of)), exprs)
        }
        Plan::Sort(input, keys) => match ordered_input(&input, &keys, under_limit, indexes_of) {
            Some(p) => p,
            None => Plan::Sort(input, keys),
        },
        other => other,
    }
}

/// `input` (a Project over an optionally filtered table scan) with its scan reading an index in
/// the order of `keys`, if one can.
fn ordered_input(
    input: &Plan,
    keys: &[SortKey],
    under_limit: bool,
    indexes_of: &dyn Fn(u32) -> Vec<IndexDef>,
) -> Option<Plan> {
    let Plan::Project(inner, exprs) = input else { return None };
    let (scan, filter) = match &**inner {
        Plan::Filter(s, pred) => (&**s, Some(pred)),
        s => (s, None),
    };
    let Plan::Scan { table, lookup, rowid } = scan else { return None };
    let desc = keys.first()?.desc;
    let mut cols = Vec::with_capacity(keys.len());
    for k in keys {
        // One direction, with PostgreSQL's default NULL placement for it.
        if k.desc != desc || k.nulls_first != desc {
            return None;
        }
        let Expr::Column(i) = k.expr else { return None };
        match exprs.get(i)? {
            Expr::Column(c) if *c < table.columns.len() => cols.push(*c),
            _ => return None,
        }
    }
    let direction = if desc { Direction::Backward } else { Direction::Forward };
    let ordered = match lookup {
        Some(s) if s.prefixes.len() == 1 && s.ordered.is_none() => {
            let fixed = &s.index.columns[..s.prefixes[0].len()];
            let rest: Vec<usize> = cols.iter().copied().skip_while(|c| fixed.contains(c)).collect();
            if !s.index.columns[fixed.len()..].starts_with(&rest) {
                return None;
            }
            IndexScan { ordered: Some(direction), ..s.clone() }
        }
        Some(_) => return None,
        None if under_limit => {
            let mut candidates: Vec<IndexDef> =
                indexes_of(table.oid).into_iter().filter(|ix| ix.columns.starts_with(&cols)).collect();
            candidates.sort_by_key(|ix| (!ix.primary, ix.columns.len()));
            let index = candidates.into_iter().next()?;
            IndexScan { index, prefixes: vec![vec![]], lower: None, upper: None, ordered: Some(direction) }
        }
        None => return None,
    };
    let scan = Plan::Scan { table: table.clone(), lookup: Some(ordered), rowid: *rowid };
    let inner = match filter {
        Some(p) => Plan::Filter(Box::new(scan), p.clone()),
        None => scan,
    };
    Some(Plan::Project(Box::new(inner), exprs.clone()))
}
