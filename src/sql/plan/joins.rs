//! Join planning: predicate push-down, greedy join ordering and hash-join keys for the inner
//! joins of one FROM clause.
//!
//! The binder builds FROM as written: `a, b, c` is `Join(Join(a, b), c)` with the WHERE clause in a
//! Filter on top, which run as nested loops is a full cross product. This pass rebuilds it:
//!
//! 1. **Flatten** the tree of inner joins into *leaves* (base-table scans, derived tables, outer
//!    joins, ...) and one pool of conjuncts: the WHERE clause's and every inner join's ON
//!    condition, all over the *global* row (every leaf's columns, in FROM order).
//! 2. **Push down** each conjunct that reads one leaf only into a Filter on that leaf, where it
//!    may also choose an index ([`super::access`]).
//! 3. **Order greedily**: start from the leaf that looks smallest (a unique point lookup, then an
//!    index range, then a filtered scan, then anything else), then repeatedly add the smallest leaf
//!    *connected* to the joined set by a conjunct (any leaf when none is connected), applying every
//!    conjunct whose leaves are all joined. Each step looks at every remaining leaf once, so n
//!    leaves cost at most n² candidate looks ([`JoinStats::candidates`]); nothing is exponential
//!    (SQLite's select5 joins 64 tables).
//! 4. **Hash keys**: an applicable conjunct `x = y` with `x` over the joined set and `y` over the
//!    new leaf becomes a hash key of that join (the executor builds a hash table on the leaf's
//!    rows keyed by the canonical key encoding, which equates values exactly as `=` does, and
//!    never matches NULL keys). The whole condition is still checked on each candidate pair.
//! 5. **Restore** the global column order with a Project, then apply the conjuncts that could not
//!    move: those containing a subquery (its correlated references are bound to global positions)
//!    and those reading no column at all.

use super::access::{conjuncts, index_filter, IndexScan};
use super::{BinOp, Expr, JoinKind, Plan};
use crate::sql::catalog::IndexDef;
use crate::sql::types::DataType;
use std::collections::BTreeSet;

/// Counters of one planning run (tests assert the n² bound).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct JoinStats {
    /// Leaves in the FROM clause.
    pub leaves: usize,
    /// Join candidates examined by the greedy ordering.
    pub candidates: usize,
}

struct Leaf {
    plan: Plan,
    offset: usize,
    width: usize,
}

/// Rewrites `Filter(from, predicate)` (or `from` alone) for a FROM tree of inner joins; the result
/// produces the same rows, in the same column layout, as the Filter would.
pub fn plan_joins(
    from: Plan,
    types: &[DataType],
    predicate: Option<Expr>,
    indexes_of: &dyn Fn(u32) -> Vec<IndexDef>,
) -> (Plan, JoinStats) {
    let width = types.len();
    let mut leaves = Vec::new();
    let mut pool: Vec<Expr> = Vec::new();
    flatten(from, 0, width, &mut leaves, &mut pool);
    if let Some(p) = &predicate {
        pool.extend(conjuncts(p).into_iter().cloned());
    }
    let mut stats = JoinStats { leaves: leaves.len(), candidates: 0 };
    // Which leaf owns each global column.
    let mut owner = vec![0; width];
    for (i, l) in leaves.iter().enumerate() {
        owner[l.offset..l.offset + l.width].fill(i);
    }
    // Conjuncts by the leaves they read; `None`: stays on top (subquery, or no column).
    let mut movable: Vec<(BTreeSet<usize>, Expr)> = Vec::new();
    let mut top: Vec<Expr> = Vec::new();
    for c in pool {
        match columns_of(&c) {
            Some(cols) if !cols.is_empty() => {
                movable.push((cols.iter().map(|&g| owner[g]).collect(), c));
            }
            _ => top.push(c),
        }
    }
    // Push single-leaf conjuncts down.
    let mut estimates = Vec::new();
    let mut plans: Vec<Option<Plan>> = Vec::new();
    for (i, leaf) in leaves.iter_mut().enumerate() {
        let mine: Vec<Expr> = movable
            .iter()
            .filter(|(ls, _)| ls.len() == 1 && ls.contains(&i))
            .map(|(_, e)| shift(e, leaf.offset))
            .collect();
        let plan = std::mem::replace(&mut leaf.plan, Plan::Single);
        let (plan, estimate) = match and_all(mine) {
            None => {
                let e = estimate(&plan, false);
                (plan, e)
            }
            Some(p) => {
                let filtered = index_filter(plan, p, indexes_of);
                let e = match &filtered {
                    Plan::Filter(scan, _) => estimate(scan, true),
                    scan => estimate(scan, true),
                };
                (filtered, e)
            }
        };
        estimates.push(estimate);
        plans.push(Some(plan));
    }
    movable.retain(|(ls, _)| ls.len() > 1);

    // Greedy ordering.
    let n = leaves.len();
    let first = (0..n).min_by_key(|&i| estimates[i]).unwrap_or(0);
    let mut joined: BTreeSet<usize> = BTreeSet::from([first]);
    let mut plan = plans[first].take().unwrap_or(Plan::Single);
    // Global positions of the current row's columns.
    let mut layout: Vec<usize> = (leaves[first].offset..leaves[first].offset + leaves[first].width).collect();
    while joined.len() < n {
        let mut best: Option<(bool, u32, usize)> = None;
        for c in (0..n).filter(|c| !joined.contains(c)) {
            stats.candidates += 1;
            let connected =
                movable.iter().any(|(ls, _)| ls.contains(&c) && ls.iter().any(|l| joined.contains(l)));
            let key = (!connected, estimates[c], c);
            if best.is_none_or(|b| key < b) {
                best = Some(key);
            }
        }
        let Some((_, _, next)) = best else { break };
        joined.insert(next);
        let leaf = &leaves[next];
        let left_width = layout.len();
        let mut new_layout = layout.clone();
        new_layout.extend(leaf.offset..leaf.offset + leaf.width);
        let position = |g: usize| new_layout.iter().position(|&x| x == g).unwrap_or(0);
        let (now, later): (Vec<_>, Vec<_>) =
            std::mem::take(&mut movable).into_iter().partition(|(ls, _)| ls.is_subset(&joined));
        movable = later;
        let mut hash_keys = Vec::new();
        let mut on = Vec::new();
        for (_, e) in now {
            if let Expr::Binary(BinOp::Eq, a, b) = &e {
                let side = |x: &Expr| -> Option<bool> {
                    let cols = columns_of(x)?;
                    if cols.is_empty() {
                        None
                    } else if cols.iter().all(|g| (leaf.offset..leaf.offset + leaf.width).contains(g)) {
                        Some(true)
                    } else if cols.iter().all(|g| !(leaf.offset..leaf.offset + leaf.width).contains(g)) {
                        Some(false)
                    } else {
                        None
                    }
                };
                let pair = match (side(a), side(b)) {
                    (Some(false), Some(true)) => Some((a, b)),
                    (Some(true), Some(false)) => Some((b, a)),
                    _ => None,
                };
                // char(n) compares ignoring trailing blanks, which the key encoding does not.
                let blank_padded = |x: &Expr| match x {
                    Expr::Column(g) => matches!(types[*g], DataType::Char(_)),
                    Expr::Cast { to, .. } => matches!(to, DataType::Char(_)),
                    _ => false,
                };
                if let Some((l, r)) = pair.filter(|(l, r)| !blank_padded(l) && !blank_padded(r)) {
                    hash_keys.push((remap(l, &position), shift(r, leaf.offset)));
                }
            }
            on.push(remap(&e, &position));
        }
        let right = plans[next].take().unwrap_or(Plan::Single);
        plan = Plan::Join {
            kind: JoinKind::Inner,
            left: Box::new(plan),
            right: Box::new(right),
            on: and_all(on),
            left_width,
            right_width: leaf.width,
            hash_keys,
        };
        layout = new_layout;
    }
    // Conjuncts left over (none when every leaf joined) go on top with the unmovable ones.
    top.extend(movable.into_iter().map(|(_, e)| e));
    if layout.iter().enumerate().any(|(i, &g)| i != g) {
        let mut back = vec![Expr::Column(0); width];
        for (i, &g) in layout.iter().enumerate() {
            back[g] = Expr::Column(i);
        }
        plan = Plan::Project(Box::new(plan), back);
    }
    if let Some(p) = and_all(top) {
        plan = Plan::Filter(Box::new(plan), p);
    }
    (plan, stats)
}

/// Whether a FROM plan is a tree of inner joins worth planning.
pub fn is_inner_join(plan: &Plan) -> bool {
    matches!(plan, Plan::Join { kind: JoinKind::Inner, on, .. } if on.as_ref().is_none_or(|e| columns_of(e).is_some()))
}

fn flatten(plan: Plan, offset: usize, width: usize, leaves: &mut Vec<Leaf>, pool: &mut Vec<Expr>) {
    if !is_inner_join(&plan) {
        leaves.push(Leaf { plan, offset, width });
        return;
    }
    let Plan::Join { left, right, on, left_width, right_width, .. } = plan else { unreachable!("checked") };
    if let Some(on) = on {
        pool.extend(conjuncts(&on).into_iter().map(|e| remap(e, &|i| i + offset)));
    }
    flatten(*left, offset, left_width, leaves, pool);
    flatten(*right, offset + left_width, right_width, leaves, pool);
}

/// A guess at a leaf's size for ordering: unique point lookups first, then index ranges, then
/// filtered scans, then the rest.
fn estimate(plan: &Plan, filtered: bool) -> u32 {
    match plan {
        Plan::Scan { lookup: Some(s), .. } => estimate_index(s),
        Plan::Values(rows) => rows.len().min(1_000_000) as u32,
        Plan::Single => 1,
        _ if filtered => 100_000,
        _ => 1_000_000,
    }
}

fn estimate_index(s: &IndexScan) -> u32 {
    let per_prefix = if s.is_point() {
        1
    } else if s.lower.is_some() || s.upper.is_some() {
        1_000
    } else {
        100
    };
    (s.prefixes.len() as u32).saturating_mul(per_prefix)
}

fn and_all(mut v: Vec<Expr>) -> Option<Expr> {
    let first = if v.is_empty() { return None } else { v.remove(0) };
    Some(v.into_iter().fold(first, |acc, e| Expr::Binary(BinOp::And, Box::new(acc), Box::new(e))))
}

/// The columns an expression reads; `None` when it contains a subquery (whose correlated
/// references pin it to its row layout).
pub fn columns_of(e: &Expr) -> Option<BTreeSet<usize>> {
    let mut out = BTreeSet::new();
    let mut stack = vec![e];
    while let Some(e) = stack.pop() {
        match e {
            Expr::Column(i) => {
                out.insert(*i);
            }
            Expr::Const(_) | Expr::Param(_) | Expr::Outer(..) => {}
            Expr::Subquery(..) => return None,
            Expr::Unary(_, a) | Expr::IsNull(a, _) | Expr::IsBool(a, ..) => stack.push(a),
            Expr::Cast { expr, .. } => stack.push(expr),
            Expr::Binary(_, a, b) | Expr::IsDistinct(a, b, _) | Expr::Subscript(a, b) => {
                stack.push(a);
                stack.push(b);
            }
            Expr::Case { operand, whens, else_ } => {
                stack.extend(operand.as_deref());
                for (a, b) in whens {
                    stack.push(a);
                    stack.push(b);
                }
                stack.extend(else_.as_deref());
            }
            Expr::Func(_, args) | Expr::Array(args) => stack.extend(args),
            Expr::Like { expr, pattern, .. } => {
                stack.push(expr);
                stack.push(pattern);
            }
            Expr::InList(a, l, _) => {
                stack.push(a);
                stack.extend(l);
            }
            Expr::AnyArray { left, array, .. } => {
                stack.push(left);
                stack.push(array);
            }
        }
    }
    Some(out)
}

/// `e` over a row that starts at global position `offset`.
fn shift(e: &Expr, offset: usize) -> Expr {
    remap(e, &|i| i - offset)
}

/// `e` with every column reference `i` replaced by `f(i)` (never called on subqueries).
fn remap(e: &Expr, f: &dyn Fn(usize) -> usize) -> Expr {
    let b = |x: &Expr| Box::new(remap(x, f));
    let all = |xs: &[Expr]| xs.iter().map(|x| remap(x, f)).collect::<Vec<_>>();
    match e {
        Expr::Column(i) => Expr::Column(f(*i)),
        Expr::Const(_) | Expr::Param(_) | Expr::Outer(..) | Expr::Subquery(..) => e.clone(),
        Expr::Unary(o, a) => Expr::Unary(*o, b(a)),
        Expr::Binary(o, x, y) => Expr::Binary(*o, b(x), b(y)),
        Expr::IsNull(a, n) => Expr::IsNull(b(a), *n),
        Expr::IsBool(a, v, n) => Expr::IsBool(b(a), *v, *n),
        Expr::IsDistinct(x, y, n) => Expr::IsDistinct(b(x), b(y), *n),
        Expr::Subscript(x, y) => Expr::Subscript(b(x), b(y)),
        Expr::Cast { expr, from, to, explicit } => {
            Expr::Cast { expr: b(expr), from: from.clone(), to: to.clone(), explicit: *explicit }
        }
        Expr::Case { operand, whens, else_ } => Expr::Case {
            operand: operand.as_deref().map(b),
            whens: whens.iter().map(|(x, y)| (remap(x, f), remap(y, f))).collect(),
            else_: else_.as_deref().map(b),
        },
        Expr::Func(func, args) => Expr::Func(*func, all(args)),
        Expr::Array(args) => Expr::Array(all(args)),
        Expr::Like { expr, pattern, escape, ci, negated } => {
            Expr::Like { expr: b(expr), pattern: b(pattern), escape: *escape, ci: *ci, negated: *negated }
        }
        Expr::InList(a, l, n) => Expr::InList(b(a), all(l), *n),
        Expr::AnyArray { left, op, array, all: is_all } => {
            Expr::AnyArray { left: b(left), op: *op, array: b(array), all: *is_all }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::types::Value;

    /// `FROM t0, t1, ..., t(n-1) WHERE t0.c = t1.c AND ... ` with one-column VALUES leaves, written
    /// in reverse order so the greedy order has to follow the chain.
    fn chain(n: usize) -> (Plan, Expr) {
        let leaf = || Plan::Values(vec![vec![Expr::Const(Value::Int4(1))]]);
        let mut plan = leaf();
        for i in 1..n {
            plan = Plan::Join {
                kind: JoinKind::Inner,
                left: Box::new(plan),
                right: Box::new(leaf()),
                on: None,
                left_width: i,
                right_width: 1,
                hash_keys: vec![],
            };
        }
        let eqs: Vec<Expr> = (1..n)
            .rev()
            .map(|i| Expr::Binary(BinOp::Eq, Box::new(Expr::Column(i - 1)), Box::new(Expr::Column(i))))
            .collect();
        (plan, and_all(eqs).expect("n > 1"))
    }

    fn count_hash_joins(p: &Plan) -> usize {
        match p {
            Plan::Join { left, hash_keys, .. } => (!hash_keys.is_empty()) as usize + count_hash_joins(left),
            Plan::Project(input, _) | Plan::Filter(input, _) => count_hash_joins(input),
            _ => 0,
        }
    }

    #[test]
    fn sixty_four_way_chain_is_quadratic_and_all_hash_joins() {
        let n = 64;
        let (plan, pred) = chain(n);
        let types = vec![DataType::Int4; n];
        let (planned, stats) = plan_joins(plan, &types, Some(pred), &|_| vec![]);
        assert_eq!(stats.leaves, n);
        assert!(stats.candidates <= n * n, "{} candidates", stats.candidates);
        assert_eq!(count_hash_joins(&planned), n - 1);
    }

    #[test]
    fn subquery_conjuncts_stay_on_top_in_global_layout() {
        let (plan, _) = chain(3);
        let sub = Expr::Subquery(Box::new(Plan::Single), super::super::SubqueryKind::Exists);
        let pred = Expr::Binary(
            BinOp::And,
            Box::new(Expr::Binary(BinOp::Eq, Box::new(Expr::Column(2)), Box::new(Expr::Column(0)))),
            Box::new(sub.clone()),
        );
        let (planned, _) = plan_joins(plan, &vec![DataType::Int4; 3], Some(pred), &|_| vec![]);
        let Plan::Filter(_, top) = planned else { panic!("expected the subquery filter on top") };
        assert_eq!(top, sub);
    }
}
