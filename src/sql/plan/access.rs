//! Access paths: choosing an index for a table scan from the predicate over it.
//!
//! A predicate is split into its AND-ed conjuncts; each conjunct of the shape
//! `column op value` (`op` one of `= < <= > >=`, either side), `column IN (values)`,
//! `column IS NULL` or `column BETWEEN a AND b` (bound as `>= a AND <= b`) is a candidate
//! *index condition*, where `value` does not depend on the scanned row: constants, parameters,
//! columns of enclosing queries, and casts and operators over them (never a function call or a
//! subquery, which might be volatile). For every index of the table the usable conditions form
//!
//! ```text
//!   equality (or IS NULL, or IN) on index columns 1..k   then   a range on column k+1
//!   (a, b) index, WHERE a = 1 AND b > 5      ->  prefix [1], range (5, +inf)
//!   (a) index,    WHERE a IN (1, 2, 3)       ->  prefixes [1] [2] [3]
//! ```
//!
//! and the index with the longest equality prefix wins (a unique index fully matched by equalities
//! first; then a range; ties go to the primary key, then to the first index). Index keys are the
//! canonical key encoding of the values ([`crate::sql::types::keyenc`]), where every integer type
//! shares one encoding and numerics are normalized, so a value compared with a column after the
//! binder's coercions finds exactly the entries PostgreSQL's comparison would; `char(n)` columns
//! (blank-padded comparison) are left to full scans.
//!
//! The whole predicate stays in the Filter above the scan: index conditions only narrow what is
//! read, which keeps NULL and type subtleties in one place (the evaluator).

use super::{BinOp, Expr, Plan};
use crate::sql::catalog::{IndexDef, TableDef};
use crate::sql::types::DataType;

/// Largest number of key prefixes an IN list may expand into.
const MAX_PREFIXES: usize = 1000;

/// One equality component of an index key.
#[derive(Clone, Debug, PartialEq)]
pub enum KeyPart {
    /// `column = value` (a NULL value matches nothing).
    Eq(Expr),
    /// `column IS NULL`.
    IsNull,
}

/// An index scan: the entries under each key prefix, optionally narrowed by a range on the next
/// index column.
#[derive(Clone, Debug, PartialEq)]
pub struct IndexScan {
    /// The index.
    pub index: IndexDef,
    /// Alternative equality prefixes (one unless an IN list expanded them); each has the same
    /// length, at most the number of index columns.
    pub prefixes: Vec<Vec<KeyPart>>,
    /// Lower bound on the column after the prefix, inclusive when `true`.
    pub lower: Option<(Expr, bool)>,
    /// Upper bound on the column after the prefix, inclusive when `true`.
    pub upper: Option<(Expr, bool)>,
    /// Rows in index order, read in this direction (an ORDER BY the index satisfies, see
    /// [`super::order`]); `None`: rows in row id order, as a full scan returns them.
    pub ordered: Option<crate::storage::Direction>,
}

impl IndexScan {
    /// Whether the scan finds at most one row per prefix (unique index, every column matched).
    pub fn is_point(&self) -> bool {
        self.index.unique
            && self.lower.is_none()
            && self.upper.is_none()
            && self.prefixes.iter().all(|p| p.len() == self.index.columns.len())
    }
}

/// A condition on one column of the scanned table.
enum Cond {
    Eq(Expr),
    In(Vec<Expr>),
    IsNull,
    Lower(Expr, bool),
    Upper(Expr, bool),
}

/// Splits a predicate into its AND-ed conjuncts.
pub fn conjuncts(e: &Expr) -> Vec<&Expr> {
    let mut out = Vec::new();
    let mut stack = vec![e];
    while let Some(e) = stack.pop() {
        match e {
            Expr::Binary(BinOp::And, a, b) => {
                stack.push(b);
                stack.push(a);
            }
            other => out.push(other),
        }
    }
    out
}

/// Whether `e` has the same value for every row of the scan.
pub fn row_independent(e: &Expr) -> bool {
    match e {
        Expr::Const(_) | Expr::Param(_) | Expr::Outer(..) => true,
        Expr::Cast { expr, .. } | Expr::Unary(_, expr) => row_independent(expr),
        Expr::Binary(_, a, b) => row_independent(a) && row_independent(b),
        _ => false,
    }
}

fn flip(op: BinOp) -> BinOp {
    match op {
        BinOp::Lt => BinOp::Gt,
        BinOp::Le => BinOp::Ge,
        BinOp::Gt => BinOp::Lt,
        BinOp::Ge => BinOp::Le,
        other => other,
    }
}

/// The column (below `width`) and condition a conjunct puts on it, if it is an index condition.
fn classify(e: &Expr, width: usize) -> Option<(usize, Cond)> {
    match e {
        Expr::Binary(op @ (BinOp::Eq | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge), a, b) => {
            let (col, value, op) = match (a.as_ref(), b.as_ref()) {
                (Expr::Column(c), v) if row_independent(v) => (*c, v, *op),
                (v, Expr::Column(c)) if row_independent(v) => (*c, v, flip(*op)),
                _ => return None,
            };
            if col >= width {
                return None;
            }
            let v = value.clone();
            Some((
                col,
                match op {
                    BinOp::Eq => Cond::Eq(v),
                    BinOp::Lt => Cond::Upper(v, false),
                    BinOp::Le => Cond::Upper(v, true),
                    BinOp::Gt => Cond::Lower(v, false),
                    _ => Cond::Lower(v, true),
                },
            ))
        }
        Expr::InList(a, items, false) => match a.as_ref() {
            Expr::Column(c) if *c < width && items.iter().all(row_independent) => {
                Some((*c, Cond::In(items.clone())))
            }
            _ => None,
        },
        Expr::IsNull(a, false) => match a.as_ref() {
            Expr::Column(c) if *c < width => Some((*c, Cond::IsNull)),
            _ => None,
        },
        _ => None,
    }
}

/// The best index scan of `table` for `predicate` (over rows whose first columns are the
/// table's), or `None` when no index condition applies.
pub fn choose_index(table: &TableDef, indexes: &[IndexDef], predicate: &Expr) -> Option<IndexScan> {
    choose_index_using(table, indexes, predicate).map(|(scan, _)| scan)
}

/// [`choose_index`], also telling which conjuncts (positions in [`conjuncts`]) the scan
/// satisfies exactly, so that the Filter above need not re-check them.
pub fn choose_index_using(
    table: &TableDef,
    indexes: &[IndexDef],
    predicate: &Expr,
) -> Option<(IndexScan, Vec<usize>)> {
    let width = table.columns.len();
    let conds: Vec<(usize, Cond, usize)> = conjuncts(predicate)
        .into_iter()
        .enumerate()
        .filter_map(|(n, c)| classify(c, width).map(|(col, k)| (col, k, n)))
        .filter(|(col, _, _)| !matches!(table.columns[*col].data_type, DataType::Char(_)))
        .collect();
    if conds.is_empty() {
        return None;
    }
    // (equality columns, point lookup, has a range, primary key): larger is better.
    type Score = (usize, bool, bool, bool);
    let mut best: Option<(Score, IndexScan, Vec<usize>)> = None;
    for ix in indexes {
        let mut prefixes: Vec<Vec<KeyPart>> = vec![vec![]];
        let mut lower = None;
        let mut upper = None;
        let mut used = Vec::new();
        for &col in &ix.columns {
            let here: Vec<(&Cond, usize)> =
                conds.iter().filter(|(c, _, _)| *c == col).map(|(_, k, n)| (k, *n)).collect();
            let part: Option<(Vec<KeyPart>, usize)> = here.iter().find_map(|(k, n)| match k {
                Cond::Eq(v) => Some((vec![KeyPart::Eq(v.clone())], *n)),
                Cond::IsNull => Some((vec![KeyPart::IsNull], *n)),
                _ => None,
            });
            let part = part.or_else(|| {
                here.iter().find_map(|(k, n)| match k {
                    Cond::In(items) if !items.is_empty() && items.len() * prefixes.len() <= MAX_PREFIXES => {
                        Some((items.iter().map(|v| KeyPart::Eq(v.clone())).collect(), *n))
                    }
                    _ => None,
                })
            });
            match part {
                Some((alternatives, n)) => {
                    used.push(n);
                    prefixes = prefixes
                        .iter()
                        .flat_map(|p| {
                            alternatives.iter().map(move |a| {
                                let mut p = p.clone();
                                p.push(a.clone());
                                p
                            })
                        })
                        .collect();
                }
                None => {
                    for (k, n) in &here {
                        match k {
                            Cond::Lower(v, inc) if lower.is_none() => {
                                lower = Some((v.clone(), *inc));
                                used.push(*n);
                            }
                            Cond::Upper(v, inc) if upper.is_none() => {
                                upper = Some((v.clone(), *inc));
                                used.push(*n);
                            }
                            _ => {}
                        }
                    }
                    break;
                }
            }
        }
        let matched = prefixes[0].len();
        if matched == 0 && lower.is_none() && upper.is_none() {
            continue;
        }
        let scan = IndexScan { index: ix.clone(), prefixes, lower, upper, ordered: None };
        let score = (matched, scan.is_point(), scan.lower.is_some() || scan.upper.is_some(), ix.primary);
        if best.as_ref().is_none_or(|(s, _, _)| score > *s) {
            best = Some((score, scan, used));
        }
    }
    best.map(|(_, s, used)| (s, used))
}

/// `Filter(plan, predicate)`, where a table scan gets an index access path when the predicate
/// allows one, and the Filter keeps only the conjuncts the index scan does not satisfy exactly
/// (none: no Filter).
pub fn index_filter(plan: Plan, predicate: Expr, indexes_of: impl Fn(u32) -> Vec<IndexDef>) -> Plan {
    match plan {
        Plan::Scan { table, lookup: None, rowid } => {
            match choose_index_using(&table, &indexes_of(table.oid), &predicate) {
                None => Plan::Filter(Box::new(Plan::Scan { table, lookup: None, rowid }), predicate),
                Some((scan, used)) => {
                    let rest: Vec<Expr> = conjuncts(&predicate)
                        .into_iter()
                        .enumerate()
                        .filter(|(n, _)| !used.contains(n))
                        .map(|(_, e)| e.clone())
                        .collect();
                    let scan = Plan::Scan { table, lookup: Some(scan), rowid };
                    match rest.into_iter().reduce(|a, b| Expr::Binary(BinOp::And, Box::new(a), Box::new(b))) {
                        None => scan,
                        Some(p) => Plan::Filter(Box::new(scan), p),
                    }
                }
            }
        }
        other => Plan::Filter(Box::new(other), predicate),
    }
}
