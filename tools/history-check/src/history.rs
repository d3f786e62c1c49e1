//! The recorded history: every transaction a client ran, with each operation and what it returned.
//!
//! A list-append history has two kinds of operations on integer keys: `append(k, x)` adds the
//! globally unique element `x` to the end of k's list, and `read(k)` returns the whole list. Unique
//! elements make the history self-describing: any read names the writer of every element it shows,
//! and the longest read of a key reveals the order in which its appends took effect.

/// One operation of a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// `append(key, element)`.
    Append(i64, i64),
    /// `read(key)`, with the list observed (`None` until it ran).
    Read(i64, Option<Vec<i64>>),
}

/// How a transaction ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// COMMIT succeeded.
    Committed,
    /// The server aborted it (SQLSTATE), or a statement failed and it rolled back.
    Aborted(String),
    /// The connection broke: it may or may not have committed.
    Unknown,
}

/// One transaction of the history.
#[derive(Debug, Clone)]
pub struct Txn {
    /// Position in the history (an id for printing).
    pub id: usize,
    /// The client that ran it.
    pub client: usize,
    /// Its operations in order (reads carry their results).
    pub ops: Vec<Op>,
    /// How it ended.
    pub outcome: Outcome,
}

impl std::fmt::Display for Txn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "T{} (client {}, {:?}): [", self.id, self.client, self.outcome)?;
        for (i, op) in self.ops.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            match op {
                Op::Append(k, x) => write!(f, "append({k}, {x})")?,
                Op::Read(k, None) => write!(f, "read({k}) = ?")?,
                Op::Read(k, Some(l)) if l.len() > 8 => {
                    write!(f, "read({k}) = [..{} elements.., {:?}]", l.len() - 3, &l[l.len() - 3..])?
                }
                Op::Read(k, Some(l)) => write!(f, "read({k}) = {l:?}")?,
            }
        }
        f.write_str("]")
    }
}
