//! EXPLAIN: a plan tree printed in PostgreSQL's text format with `COSTS OFF` (ssidb keeps no
//! cost model, so there are no cost estimates to show), and with EXPLAIN ANALYZE's actual figures.
//!
//! ```text
//! Hash Join                                  node name (PostgreSQL's)
//!   Hash Cond: (b.a_id = a.id)               details, indented by 2 under the node
//!   ->  Seq Scan on b                        children, "->  " and 6 more columns of indent
//!   ->  Hash
//!         ->  Index Scan using a_pkey on a
//!               Index Cond: (id = 42)
//! ```
//!
//! Mapping from [`Plan`]: a Scan is `Seq Scan on t` or `Index Scan using i on t` with its
//! `Index Cond`; a Filter is folded into the node below it as `Filter:` (as PostgreSQL attaches
//! quals to scans and joins); Project nodes are not shown; a Join with hash keys is a `Hash Join`
//! with a `Hash` over its right input, others a `Nested Loop`; Aggregate is `Aggregate` or
//! `HashAggregate`; Distinct is `Unique`. Expressions are printed PostgreSQL-style where column
//! names are known (scans, joins of scans) and as `$column` positions elsewhere; subqueries are
//! shown as `(SubPlan)`.
//!
//! EXPLAIN ANALYZE adds `(actual time=a..b rows=r loops=l)` per node (ssidb materializes each
//! node, so the first row arrives when the node finishes and a = b) and, under scans, ssidb's own
//! `Keys Examined: n` (the index entries an index scan read, the rows a full scan read), which the
//! acceptance tests bound.

use super::access::{IndexScan, KeyPart};
use super::{Expr, JoinKind, Plan, SetOpKind, UnOp};
use crate::sql::types::Value;
use std::time::Duration;

/// Run-time figures of one plan node (EXPLAIN ANALYZE).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NodeStats {
    /// Rows produced, over all loops.
    pub rows: u64,
    /// Times the node ran.
    pub loops: u64,
    /// Time spent in it (children included).
    pub time: Duration,
    /// Keys read from storage by the node itself (scans).
    pub keys: u64,
}

/// Looks up a node's run-time figures (EXPLAIN ANALYZE).
pub type StatsOf<'a> = &'a dyn Fn(&Plan) -> Option<NodeStats>;

/// Prints `plan`; `stats` gives a node's figures for EXPLAIN ANALYZE.
pub fn explain(plan: &Plan, stats: Option<StatsOf>) -> Vec<String> {
    let mut out = Vec::new();
    node(plan, 0, true, &Names::none(), stats, &mut out);
    out
}

/// Column names of a node's output, where known.
#[derive(Clone)]
struct Names(Vec<Option<String>>);

impl Names {
    fn none() -> Names {
        Names(vec![])
    }

    fn of(plan: &Plan, qualified: bool) -> Names {
        match plan {
            Plan::Scan { table, rowid, .. } => {
                let mut v: Vec<Option<String>> = table
                    .columns
                    .iter()
                    .map(|c| {
                        Some(if qualified { format!("{}.{}", table.name, c.name) } else { c.name.clone() })
                    })
                    .collect();
                if *rowid {
                    v.push(Some("ctid".into()));
                }
                Names(v)
            }
            Plan::Filter(input, _) => Names::of(input, qualified),
            Plan::Join { left, right, .. } => {
                let mut l = Names::of(left, true).0;
                l.extend(Names::of(right, true).0);
                Names(l)
            }
            Plan::Project(input, exprs) => {
                let inner = Names::of(input, qualified);
                Names(
                    exprs
                        .iter()
                        .map(|e| if let Expr::Column(i) = e { inner.get(*i) } else { None })
                        .collect(),
                )
            }
            _ => Names::none(),
        }
    }

    fn get(&self, i: usize) -> Option<String> {
        self.0.get(i).cloned().flatten()
    }
}

fn literal(v: &Value) -> String {
    match v {
        Value::Null => "NULL".into(),
        Value::Int2(_) | Value::Int4(_) | Value::Int8(_) | Value::Numeric(_) => {
            v.to_text(&Default::default()).unwrap_or_default()
        }
        Value::Bool(b) => b.to_string(),
        other => {
            let text = other.to_text(&Default::default()).unwrap_or_default().replace('\'', "''");
            let ty = match other {
                Value::Text(_) => "::text",
                Value::Date(_) => "::date",
                Value::Timestamp(_) => "::timestamp without time zone",
                Value::Timestamptz(_) => "::timestamp with time zone",
                Value::Float8(_) => "::double precision",
                _ => "",
            };
            format!("'{text}'{ty}")
        }
    }
}

/// An expression in PostgreSQL's EXPLAIN style (fully parenthesized operators).
fn expr(e: &Expr, names: &Names) -> String {
    let x = |e: &Expr| expr(e, names);
    match e {
        Expr::Const(v) => literal(v),
        Expr::Column(i) => names.get(*i).unwrap_or_else(|| format!("${}", i + 1)),
        Expr::Outer(..) => "(outer)".into(),
        Expr::Param(i) => format!("${}", i + 1),
        Expr::Unary(UnOp::Neg, a) => format!("(- {})", x(a)),
        Expr::Unary(UnOp::Not, a) => format!("(NOT {})", x(a)),
        Expr::Binary(op, a, b) => format!("({} {} {})", x(a), op.symbol(), x(b)),
        Expr::IsNull(a, not) => format!("({} IS {}NULL)", x(a), if *not { "NOT " } else { "" }),
        Expr::IsDistinct(a, b, not) => {
            format!("({} IS {}DISTINCT FROM {})", x(a), if *not { "NOT " } else { "" }, x(b))
        }
        Expr::Cast { expr: a, to, .. } => format!("({})::{}", x(a), to.name()),
        Expr::InList(a, items, negated) => {
            let list: Vec<String> = items.iter().map(x).collect();
            format!("({} {}IN ({}))", x(a), if *negated { "NOT " } else { "" }, list.join(", "))
        }
        Expr::Like { expr: a, pattern, ci, negated, .. } => {
            let op = match (ci, negated) {
                (false, false) => "~~",
                (true, false) => "~~*",
                (false, true) => "!~~",
                (true, true) => "!~~*",
            };
            format!("({} {op} {})", x(a), x(pattern))
        }
        Expr::Subquery(..) => "(SubPlan)".into(),
        Expr::Func(f, args) => {
            let list: Vec<String> = args.iter().map(x).collect();
            format!("{}({})", format!("{f:?}").to_lowercase(), list.join(", "))
        }
        _ => "(...)".into(),
    }
}

/// `Index Cond` of an index scan, over the index's column names.
fn index_cond(scan: &IndexScan, table: &crate::sql::catalog::TableDef) -> String {
    let col = |i: usize| {
        scan.index
            .columns
            .get(i)
            .and_then(|c| table.columns.get(*c))
            .map(|c| c.name.clone())
            .unwrap_or_default()
    };
    let names = Names::none();
    let mut conds = Vec::new();
    let first = scan.prefixes.first().cloned().unwrap_or_default();
    for (i, part) in first.iter().enumerate() {
        let alternatives: Vec<&KeyPart> = scan.prefixes.iter().filter_map(|p| p.get(i)).collect();
        conds.push(match part {
            KeyPart::IsNull => format!("({} IS NULL)", col(i)),
            KeyPart::Eq(_) if scan.prefixes.len() > 1 && alternatives.windows(2).any(|w| w[0] != w[1]) => {
                let mut vals: Vec<String> = Vec::new();
                for a in alternatives {
                    if let KeyPart::Eq(v) = a {
                        let s = expr(v, &names);
                        if !vals.contains(&s) {
                            vals.push(s);
                        }
                    }
                }
                format!("({} = ANY ('{{{}}}'))", col(i), vals.join(","))
            }
            KeyPart::Eq(v) => format!("({} = {})", col(i), expr(v, &names)),
        });
    }
    let next = first.len();
    if let Some((v, inc)) = &scan.lower {
        conds.push(format!("({} {} {})", col(next), if *inc { ">=" } else { ">" }, expr(v, &names)));
    }
    if let Some((v, inc)) = &scan.upper {
        conds.push(format!("({} {} {})", col(next), if *inc { "<=" } else { "<" }, expr(v, &names)));
    }
    if conds.len() == 1 {
        conds.remove(0)
    } else {
        format!("({})", conds.join(" AND "))
    }
}

fn node(
    plan: &Plan,
    indent: usize,
    root: bool,
    _parent: &Names,
    stats: Option<StatsOf>,
    out: &mut Vec<String>,
) {
    // Transparent nodes.
    if let Plan::Project(input, _) = plan {
        return node(input, indent, root, _parent, stats, out);
    }
    let (shown, filter) = match plan {
        Plan::Filter(input, pred) => {
            let mut inner: &Plan = input;
            while let Plan::Project(i, _) = inner {
                inner = i;
            }
            (inner, Some((pred, Names::of(input, !matches!(inner, Plan::Scan { .. })))))
        }
        other => (other, None),
    };
    let mut details: Vec<String> = Vec::new();
    let mut children: Vec<(&Plan, bool)> = Vec::new(); // (child, under a Hash node)
    let title = match shown {
        Plan::Single => "Result".to_string(),
        Plan::Scan { table, lookup: None, .. } => format!("Seq Scan on {}", table.name),
        Plan::Scan { table, lookup: Some(s), .. } => {
            if s.prefixes.iter().any(|p| !p.is_empty()) || s.lower.is_some() || s.upper.is_some() {
                details.push(format!("Index Cond: {}", index_cond(s, table)));
            }
            let backward =
                if s.ordered == Some(crate::storage::Direction::Backward) { " Backward" } else { "" };
            format!("Index Scan{backward} using {} on {}", s.index.name, table.name)
        }
        Plan::Values(_) => "Values Scan on \"*VALUES*\"".into(),
        Plan::Virtual(v) => format!("Function Scan on {}", v.name()),
        Plan::Function(f, _) => format!("Function Scan on {}", format!("{f:?}").to_lowercase()),
        Plan::Filter(..) | Plan::Project(..) => unreachable!("unwrapped above"),
        Plan::Join { kind, left, right, on, hash_keys, .. } => {
            let names = Names::of(shown, true);
            let kind_word = match kind {
                JoinKind::Inner => "",
                JoinKind::Left => " Left",
                JoinKind::Right => " Right",
                JoinKind::Full => " Full",
            };
            children.push((left, false));
            children.push((right, !hash_keys.is_empty()));
            if hash_keys.is_empty() {
                if let Some(on) = on {
                    details.push(format!("Join Filter: {}", expr(on, &names)));
                }
                format!("Nested Loop{kind_word} Join").replace("Nested Loop Join", "Nested Loop")
            } else {
                let lw = Names::of(left, true);
                let rw = Names::of(right, true);
                let conds: Vec<String> =
                    hash_keys.iter().map(|(l, r)| format!("({} = {})", expr(l, &lw), expr(r, &rw))).collect();
                let cond =
                    if conds.len() == 1 { conds[0].clone() } else { format!("({})", conds.join(" AND ")) };
                details.push(format!("Hash Cond: {cond}"));
                format!("Hash{kind_word} Join")
            }
        }
        Plan::Aggregate { input, group_by, .. } => {
            children.push((input, false));
            if group_by.is_empty() {
                "Aggregate".into()
            } else {
                let names = Names::of(input, true);
                let keys: Vec<String> = group_by.iter().map(|g| expr(g, &names)).collect();
                details.push(format!("Group Key: {}", keys.join(", ")));
                "HashAggregate".into()
            }
        }
        Plan::Window(input, _) => {
            children.push((input, false));
            "WindowAgg".into()
        }
        Plan::ProjectSet(input, _) => {
            children.push((input, false));
            "ProjectSet".into()
        }
        Plan::Sort(input, keys) => {
            children.push((input, false));
            let names = Names::of(input, true);
            let keys: Vec<String> = keys
                .iter()
                .map(|k| format!("{}{}", expr(&k.expr, &names), if k.desc { " DESC" } else { "" }))
                .collect();
            details.push(format!("Sort Key: {}", keys.join(", ")));
            "Sort".into()
        }
        Plan::Distinct(input, _) => {
            children.push((input, false));
            "Unique".into()
        }
        Plan::Limit { input, .. } => {
            children.push((input, false));
            "Limit".into()
        }
        Plan::LockRows { input, .. } => {
            children.push((input, false));
            "LockRows".into()
        }
        Plan::SetOp { kind, left, right, .. } => {
            children.push((left, false));
            children.push((right, false));
            match kind {
                SetOpKind::Union => "Append".into(),
                SetOpKind::Intersect => "SetOp Intersect".into(),
                SetOpKind::Except => "SetOp Except".into(),
            }
        }
        Plan::Recursive { base, step, .. } => {
            children.push((base, false));
            children.push((step, false));
            "Recursive Union".into()
        }
        Plan::WorkTable(_) => "WorkTable Scan".into(),
    };
    if let Some((pred, names)) = &filter {
        details.push(format!("Filter: {}", expr(pred, names)));
    }
    let mut line = title;
    let mut keys = None;
    if let Some(f) = stats {
        // The figures of the outermost node printed here (the Filter, when folded).
        if let Some(s) = f(plan).or_else(|| f(shown)) {
            let ms = s.time.as_secs_f64() * 1000.0 / s.loops.max(1) as f64;
            line.push_str(&format!(
                "  (actual time={ms:.3}..{ms:.3} rows={} loops={})",
                s.rows / s.loops.max(1),
                s.loops
            ));
        }
        if matches!(shown, Plan::Scan { .. }) {
            keys = f(shown).map(|s| s.keys);
        }
    }
    if let Some(k) = keys {
        details.push(format!("Keys Examined: {k}"));
    }
    let pad = " ".repeat(indent);
    if root {
        out.push(line);
    } else {
        out.push(format!("{pad}->  {line}"));
    }
    let detail_pad = if root { "  ".to_string() } else { " ".repeat(indent + 6) };
    for d in details {
        out.push(format!("{detail_pad}{d}"));
    }
    let child_indent = if root { 2 } else { indent + 6 };
    for (child, hashed) in children {
        if hashed {
            out.push(format!("{}->  Hash", " ".repeat(child_indent)));
            node(child, child_indent + 6, false, &Names::none(), stats, out);
        } else {
            node(child, child_indent, false, &Names::none(), stats, out);
        }
    }
}
