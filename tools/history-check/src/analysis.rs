//! From a list-append history to a dependency graph, and from the graph to named anomalies.
//!
//! Version order. Each key's list only grows, so every committed read of a key must be a prefix of
//! the longest one observed (the final read, taken after the workload, is the longest). A read that
//! is not a prefix is an *incompatible order* (a lost or reordered append) and is reported as such.
//!
//! Edges between committed transactions (Adya's direct serialization graph, inferred as in Elle,
//! Kingsbury and Alvaro, VLDB 2020):
//!
//! | edge | inferred from |
//! |---|---|
//! | `Ti -ww-> Tj` | on key k, Tj appended the element right after Ti's last element in k's order |
//! | `Ti -wr-> Tj` | Tj read k, and its list ends with an element Ti appended |
//! | `Ti -rw-> Tj` | Ti read k, and the element after its list's end (in k's order) is Tj's |
//!
//! Per-transaction checks without the graph: G1a (a committed read shows an element of an aborted
//! transaction) and G1b (a read ends with an element that is not its writer's last append to that
//! key, so it saw an intermediate state).
//!
//! Cycles, searched in this order so the weakest anomaly is reported: G0 (ww edges only), G1c
//! (ww and wr), G-single (exactly one rw edge: for each rw edge a -> b, a path b -> a over ww/wr
//! edges), G2-item (any cycle with rw edges: for each rw edge a -> b, a path b -> a in the whole
//! graph). Paths are shortest (breadth-first), so the printed cycle is small.

use crate::history::{Op, Outcome, Txn};
use std::collections::{HashMap, VecDeque};
use std::fmt;

/// A dependency edge kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dep {
    /// Write-write: the target overwrote (appended after) the source.
    Ww,
    /// Write-read: the target read the source's write.
    Wr,
    /// Read-write (anti-dependency): the target overwrote what the source read.
    Rw,
}

/// One edge, with the key that caused it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edge {
    /// Source transaction id.
    pub from: usize,
    /// Target transaction id.
    pub to: usize,
    /// Kind.
    pub dep: Dep,
    /// The key.
    pub key: i64,
}

impl fmt::Display for Edge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = match self.dep {
            Dep::Ww => "ww",
            Dep::Wr => "wr",
            Dep::Rw => "rw",
        };
        write!(f, "T{} -{d}-> T{} (key {})", self.from, self.to, self.key)
    }
}

/// A found anomaly: its class, the transactions involved and (for cycles) the edges.
#[derive(Debug, Clone)]
pub struct Anomaly {
    /// `G0`, `G1a`, `G1b`, `G1c`, `G-single`, `G2-item` or `incompatible-order`.
    pub class: &'static str,
    /// What happened, in words.
    pub explanation: String,
    /// Transactions involved.
    pub txns: Vec<usize>,
    /// The cycle's edges, in order (empty for non-cycle anomalies).
    pub edges: Vec<Edge>,
}

/// The result of checking a history.
#[derive(Debug, Default)]
pub struct Report {
    /// Anomalies found (the weakest cycle first; at most one per cycle class).
    pub anomalies: Vec<Anomaly>,
    /// Edges by kind (ww, wr, rw), for the summary.
    pub edge_counts: [usize; 3],
    /// Committed transactions analysed.
    pub committed: usize,
}

/// Checks a history. `final_lists` is a read of every key after the workload (may be empty).
pub fn check(txns: &[Txn], final_lists: &HashMap<i64, Vec<i64>>) -> Report {
    let mut report = Report::default();
    // Writer of each element, and each writer's appends per key in program order.
    let mut writer: HashMap<i64, usize> = HashMap::new();
    let mut last_append: HashMap<(usize, i64), i64> = HashMap::new();
    for t in txns {
        for op in &t.ops {
            if let Op::Append(k, x) = op {
                writer.insert(*x, t.id);
                last_append.insert((t.id, *k), *x);
            }
        }
    }
    let committed = |id: usize| txns[id].outcome == Outcome::Committed;
    report.committed = txns.iter().filter(|t| t.outcome == Outcome::Committed).count();

    // Version order per key: the longest list observed (committed reads and the final read).
    let mut order: HashMap<i64, Vec<i64>> = final_lists.clone();
    for t in txns.iter().filter(|t| t.outcome == Outcome::Committed) {
        for op in &t.ops {
            if let Op::Read(k, Some(l)) = op {
                let cur = order.entry(*k).or_default();
                if l.len() > cur.len() {
                    *cur = l.clone();
                }
            }
        }
    }

    // Per-read checks: prefix, G1a, G1b.
    for t in txns.iter().filter(|t| t.outcome == Outcome::Committed) {
        for op in &t.ops {
            let Op::Read(k, Some(l)) = op else { continue };
            let full = &order[k];
            if l.len() > full.len() || full[..l.len()] != l[..] {
                report.anomalies.push(Anomaly {
                    class: "incompatible-order",
                    explanation: format!(
                        "T{} read key {k} as a list that is not a prefix of its longest version",
                        t.id
                    ),
                    txns: vec![t.id],
                    edges: vec![],
                });
            }
            for x in l {
                if let Some(&w) = writer.get(x) {
                    if matches!(txns[w].outcome, Outcome::Aborted(_)) {
                        report.anomalies.push(Anomaly {
                            class: "G1a",
                            explanation: format!(
                                "T{} read element {x} of key {k}, appended by aborted T{w}",
                                t.id
                            ),
                            txns: vec![t.id, w],
                            edges: vec![],
                        });
                    }
                }
            }
            if let Some(&x) = l.last() {
                if let Some(&w) = writer.get(&x) {
                    if w != t.id && last_append.get(&(w, *k)) != Some(&x) {
                        report.anomalies.push(Anomaly {
                            class: "G1b",
                            explanation: format!(
                                "T{} read key {k} ending in {x}, an intermediate append of T{w}",
                                t.id
                            ),
                            txns: vec![t.id, w],
                            edges: vec![],
                        });
                    }
                }
            }
        }
    }

    // Edges.
    let mut edges: Vec<Edge> = Vec::new();
    let add = |from: usize, to: usize, dep: Dep, key: i64, edges: &mut Vec<Edge>| {
        if from != to && committed(from) && committed(to) {
            edges.push(Edge { from, to, dep, key });
        }
    };
    for (k, list) in &order {
        for w in list.windows(2) {
            if let (Some(&a), Some(&b)) = (writer.get(&w[0]), writer.get(&w[1])) {
                add(a, b, Dep::Ww, *k, &mut edges);
            }
        }
    }
    for t in txns.iter().filter(|t| t.outcome == Outcome::Committed) {
        for op in &t.ops {
            let Op::Read(k, Some(l)) = op else { continue };
            if let Some(&w) = l.last().and_then(|x| writer.get(x)) {
                add(w, t.id, Dep::Wr, *k, &mut edges);
            }
            if let Some(&w) = order[k].get(l.len()).and_then(|x| writer.get(x)) {
                add(t.id, w, Dep::Rw, *k, &mut edges);
            }
        }
    }
    edges.sort_by_key(|e| (e.from, e.to, e.dep as u8));
    edges.dedup_by_key(|e| (e.from, e.to, e.dep as u8));
    for e in &edges {
        report.edge_counts[e.dep as usize] += 1;
    }

    // Cycles, weakest class first.
    let graph = Graph::new(txns.len(), &edges);
    if let Some(c) = graph.cycle_within(&[Dep::Ww]) {
        report.anomalies.push(cycle_anomaly("G0", c));
    } else if let Some(c) = graph.cycle_within(&[Dep::Ww, Dep::Wr]) {
        report.anomalies.push(cycle_anomaly("G1c", c));
    }
    if let Some(c) = graph.cycle_through_rw(&[Dep::Ww, Dep::Wr]) {
        report.anomalies.push(cycle_anomaly("G-single", c));
    } else if let Some(c) = graph.cycle_through_rw(&[Dep::Ww, Dep::Wr, Dep::Rw]) {
        report.anomalies.push(cycle_anomaly("G2-item", c));
    }
    report
}

fn cycle_anomaly(class: &'static str, edges: Vec<Edge>) -> Anomaly {
    let rw = edges.iter().filter(|e| e.dep == Dep::Rw).count();
    Anomaly {
        class,
        explanation: format!("a dependency cycle of {} transactions with {rw} rw edge(s)", edges.len()),
        txns: edges.iter().map(|e| e.from).collect(),
        edges,
    }
}

/// Adjacency lists of the committed transactions' dependency graph, restricted to edges inside a
/// strongly connected component (only those can lie on a cycle).
struct Graph {
    out: Vec<Vec<Edge>>,
    rw: Vec<Edge>,
}

/// At most this many edges are tried as a cycle's first edge per search (bounds the work on
/// histories with huge components; one found cycle is enough).
const MAX_TRIES: usize = 2000;

impl Graph {
    fn new(n: usize, edges: &[Edge]) -> Graph {
        let scc = components(n, edges);
        let mut out = vec![Vec::new(); n];
        let inner: Vec<Edge> = edges.iter().filter(|e| scc[e.from] == scc[e.to]).copied().collect();
        for e in &inner {
            out[e.from].push(*e);
        }
        Graph { out, rw: inner.iter().filter(|e| e.dep == Dep::Rw).copied().collect() }
    }

    /// Shortest path `from` -> `to` over edges of the allowed kinds (breadth-first).
    fn path(&self, from: usize, to: usize, allowed: &[Dep]) -> Option<Vec<Edge>> {
        let mut prev: HashMap<usize, Edge> = HashMap::new();
        let mut queue = VecDeque::from([from]);
        let mut seen = std::collections::HashSet::from([from]);
        while let Some(v) = queue.pop_front() {
            if v == to {
                let mut path = Vec::new();
                let mut cur = to;
                while cur != from {
                    let e = prev[&cur];
                    path.push(e);
                    cur = e.from;
                }
                path.reverse();
                return Some(path);
            }
            for e in &self.out[v] {
                if allowed.contains(&e.dep) && seen.insert(e.to) {
                    prev.insert(e.to, *e);
                    queue.push_back(e.to);
                }
            }
        }
        None
    }

    /// A cycle using only edges of the given kinds: for each such edge a -> b, a path b -> a.
    fn cycle_within(&self, allowed: &[Dep]) -> Option<Vec<Edge>> {
        let mut best: Option<Vec<Edge>> = None;
        let candidates = self.out.iter().flatten().filter(|e| allowed.contains(&e.dep));
        for (tries, e) in candidates.enumerate() {
            if tries >= MAX_TRIES {
                break;
            }
            if let Some(p) = self.path(e.to, e.from, allowed) {
                if best.as_ref().is_none_or(|b| p.len() + 1 < b.len()) {
                    best = Some(std::iter::once(*e).chain(p).collect());
                }
            }
            if best.as_ref().is_some_and(|b| b.len() <= 2) {
                break;
            }
        }
        best
    }

    /// A cycle containing an rw edge a -> b, closed by a path b -> a over the allowed kinds.
    fn cycle_through_rw(&self, allowed: &[Dep]) -> Option<Vec<Edge>> {
        let mut best: Option<Vec<Edge>> = None;
        for e in self.rw.iter().take(MAX_TRIES) {
            if let Some(p) = self.path(e.to, e.from, allowed) {
                if best.as_ref().is_none_or(|b| p.len() + 1 < b.len()) {
                    best = Some(std::iter::once(*e).chain(p).collect());
                }
                if best.as_ref().is_some_and(|b| b.len() <= 2) {
                    break;
                }
            }
        }
        best
    }
}

/// Strongly connected component id of every node (Tarjan's algorithm, iterative).
fn components(n: usize, edges: &[Edge]) -> Vec<usize> {
    let mut adj = vec![Vec::new(); n];
    for e in edges {
        adj[e.from].push(e.to);
    }
    let (mut index, mut low, mut comp) = (vec![usize::MAX; n], vec![0; n], vec![usize::MAX; n]);
    let (mut on_stack, mut stack, mut next, mut ncomp) = (vec![false; n], Vec::new(), 0, 0);
    for root in 0..n {
        if index[root] != usize::MAX {
            continue;
        }
        let mut work: Vec<(usize, usize)> = vec![(root, 0)];
        index[root] = next;
        low[root] = next;
        next += 1;
        stack.push(root);
        on_stack[root] = true;
        while let Some(&mut (v, ref mut i)) = work.last_mut() {
            if *i < adj[v].len() {
                let w = adj[v][*i];
                *i += 1;
                if index[w] == usize::MAX {
                    index[w] = next;
                    low[w] = next;
                    next += 1;
                    stack.push(w);
                    on_stack[w] = true;
                    work.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
            } else {
                work.pop();
                if let Some(&(parent, _)) = work.last() {
                    low[parent] = low[parent].min(low[v]);
                }
                if low[v] == index[v] {
                    while let Some(w) = stack.pop() {
                        on_stack[w] = false;
                        comp[w] = ncomp;
                        if w == v {
                            break;
                        }
                    }
                    ncomp += 1;
                }
            }
        }
    }
    comp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn txn(id: usize, ops: Vec<Op>) -> Txn {
        Txn { id, client: 0, ops, outcome: Outcome::Committed }
    }

    #[test]
    fn write_skew_is_g2_item() {
        // T0 reads 1 (empty), appends to 2; T1 reads 2 (empty), appends to 1.
        let h = vec![
            txn(0, vec![Op::Read(1, Some(vec![])), Op::Append(2, 100)]),
            txn(1, vec![Op::Read(2, Some(vec![])), Op::Append(1, 101)]),
        ];
        let fin = HashMap::from([(1, vec![101]), (2, vec![100])]);
        let r = check(&h, &fin);
        assert_eq!(r.anomalies.len(), 1, "{:?}", r.anomalies);
        assert_eq!(r.anomalies[0].class, "G2-item");
        assert_eq!(r.anomalies[0].edges.len(), 2);
    }

    #[test]
    fn read_skew_is_g_single_and_serial_history_is_clean() {
        // T1 appends to 1 and 2; T0 read 1 before T1 and 2 after T1.
        let h = vec![
            txn(0, vec![Op::Read(1, Some(vec![])), Op::Read(2, Some(vec![11]))]),
            txn(1, vec![Op::Append(1, 10), Op::Append(2, 11)]),
        ];
        let fin = HashMap::from([(1, vec![10]), (2, vec![11])]);
        let r = check(&h, &fin);
        assert_eq!(r.anomalies[0].class, "G-single");
        let serial = vec![
            txn(0, vec![Op::Append(1, 10), Op::Append(2, 11)]),
            txn(1, vec![Op::Read(1, Some(vec![10])), Op::Read(2, Some(vec![11])), Op::Append(1, 12)]),
        ];
        let fin = HashMap::from([(1, vec![10, 12]), (2, vec![11])]);
        assert!(check(&serial, &fin).anomalies.is_empty());
    }

    #[test]
    fn aborted_and_intermediate_reads() {
        let mut aborted = txn(0, vec![Op::Append(1, 10)]);
        aborted.outcome = Outcome::Aborted("40001".into());
        let h = vec![
            aborted,
            txn(1, vec![Op::Read(1, Some(vec![10]))]),
            txn(2, vec![Op::Append(2, 20), Op::Append(2, 21)]),
            txn(3, vec![Op::Read(2, Some(vec![20]))]),
        ];
        let classes: Vec<_> = check(&h, &HashMap::new()).anomalies.iter().map(|a| a.class).collect();
        assert!(classes.contains(&"G1a") && classes.contains(&"G1b"), "{classes:?}");
    }

    #[test]
    fn ww_cycle_is_g0() {
        let h = vec![
            txn(0, vec![Op::Append(1, 10), Op::Append(2, 21)]),
            txn(1, vec![Op::Append(1, 11), Op::Append(2, 20)]),
        ];
        let fin = HashMap::from([(1, vec![10, 11]), (2, vec![20, 21])]);
        assert_eq!(check(&h, &fin).anomalies[0].class, "G0");
    }
}
