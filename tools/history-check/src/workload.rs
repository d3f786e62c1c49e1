//! The list-append workload: N clients run random transactions of reads and appends over a few hot
//! keys, and record every operation's result.
//!
//! Schema: `lists (k int PRIMARY KEY, v text NOT NULL)`; a list is the space-separated elements of
//! `v`. `append(k, x)` is `UPDATE lists SET v = v || ' x' WHERE k = K`, `read(k)` is
//! `SELECT v FROM lists WHERE k = K`. Statements are simple queries with literals (no parameters).
//!
//! Keys rotate so lists stay short: there are `keys` slots; a slot's key is retired after about
//! `max_appends` appends, and the next key of that slot is inserted (autocommit, by the client that
//! noticed) before anyone uses it. Row ids are `generation * keys + slot`.

use crate::history::{Op, Outcome, Txn};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio_postgres::{Client, NoTls, SimpleQueryMessage};

/// Workload parameters.
#[derive(Debug, Clone)]
pub struct Params {
    /// libpq-style connection string.
    pub conninfo: String,
    /// `read committed`, `repeatable read` or `serializable`.
    pub level: String,
    /// Concurrent clients.
    pub clients: usize,
    /// Hot key slots.
    pub keys: i64,
    /// Appends per key before it is retired.
    pub max_appends: u64,
    /// Most operations in one transaction.
    pub max_ops: usize,
    /// Master seed (client i uses seed + i).
    pub seed: u64,
}

/// State shared by the clients.
pub struct Shared {
    /// Current generation of each slot.
    gens: Vec<AtomicI64>,
    /// Appends attempted on each slot's current key.
    appends: Vec<AtomicU64>,
    /// Next unique element.
    next_element: AtomicI64,
    /// Set to stop the clients.
    pub stop: AtomicBool,
    /// The history so far.
    pub history: Mutex<Vec<Txn>>,
    /// Per client: the SQLSTATEs of aborts, counted.
    pub aborts: Mutex<std::collections::BTreeMap<String, u64>>,
}

impl Shared {
    /// Fresh state for `keys` slots.
    pub fn new(keys: i64) -> Arc<Shared> {
        Arc::new(Shared {
            gens: (0..keys).map(|_| AtomicI64::new(0)).collect(),
            appends: (0..keys).map(|_| AtomicU64::new(0)).collect(),
            next_element: AtomicI64::new(1),
            stop: AtomicBool::new(false),
            history: Mutex::new(Vec::new()),
            aborts: Mutex::new(Default::default()),
        })
    }
}

/// Connects (the connection task runs in the background).
pub async fn connect(conninfo: &str) -> Result<Client, String> {
    let (client, conn) =
        tokio_postgres::connect(conninfo, NoTls).await.map_err(|e| format!("connect: {e}"))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(client)
}

/// Creates the table with the first generation of keys.
pub async fn setup(p: &Params) -> Result<(), String> {
    let c = connect(&p.conninfo).await?;
    let rows: Vec<String> = (0..p.keys).map(|k| format!("({k}, '')")).collect();
    let sql = format!(
        "DROP TABLE IF EXISTS lists; CREATE TABLE lists (k int PRIMARY KEY, v text NOT NULL); INSERT INTO lists VALUES {}",
        rows.join(", ")
    );
    c.batch_execute(&sql).await.map_err(|e| format!("setup: {e}"))
}

/// Reads every key (the final read that fixes each key's order).
pub async fn final_read(p: &Params) -> Result<std::collections::HashMap<i64, Vec<i64>>, String> {
    let c = connect(&p.conninfo).await?;
    let msgs = c.simple_query("SELECT k, v FROM lists").await.map_err(|e| format!("final read: {e}"))?;
    let mut out = std::collections::HashMap::new();
    for m in msgs {
        if let SimpleQueryMessage::Row(r) = m {
            let k: i64 = r.get(0).unwrap_or("0").parse().unwrap_or(0);
            out.insert(k, parse_list(r.get(1).unwrap_or("")));
        }
    }
    Ok(out)
}

fn parse_list(v: &str) -> Vec<i64> {
    v.split_whitespace().filter_map(|x| x.parse().ok()).collect()
}

fn sqlstate(e: &tokio_postgres::Error) -> Option<String> {
    e.code().map(|c| c.code().to_string())
}

/// One client: runs transactions until `shared.stop`.
pub async fn client(id: usize, p: Params, shared: Arc<Shared>) -> Result<(), String> {
    let c = connect(&p.conninfo).await?;
    let mut rng = StdRng::seed_from_u64(p.seed.wrapping_add(id as u64));
    while !shared.stop.load(Ordering::Relaxed) {
        let n = rng.gen_range(1..=p.max_ops);
        let mut ops = Vec::with_capacity(n);
        for _ in 0..n {
            let slot = rng.gen_range(0..p.keys) as usize;
            let key = shared.gens[slot].load(Ordering::SeqCst) * p.keys + slot as i64;
            if rng.gen_bool(0.5) {
                ops.push(Op::Read(key, None));
            } else {
                let x = shared.next_element.fetch_add(1, Ordering::SeqCst);
                ops.push(Op::Append(key, x));
                rotate(&c, &p, &shared, slot).await?;
            }
        }
        let outcome = run_txn(&c, &p.level, &mut ops).await;
        if let Outcome::Aborted(code) = &outcome {
            *shared.aborts.lock().expect("aborts").entry(code.clone()).or_default() += 1;
        }
        if outcome == Outcome::Unknown {
            return Err(format!("client {id}: connection lost"));
        }
        let mut h = shared.history.lock().expect("history");
        let tid = h.len();
        h.push(Txn { id: tid, client: id, ops, outcome });
    }
    Ok(())
}

/// Counts an append on `slot`; past the limit, inserts the slot's next key and switches to it.
async fn rotate(c: &Client, p: &Params, shared: &Shared, slot: usize) -> Result<(), String> {
    if shared.appends[slot].fetch_add(1, Ordering::SeqCst) + 1 != p.max_appends {
        return Ok(());
    }
    let next_gen = shared.gens[slot].load(Ordering::SeqCst) + 1;
    let key = next_gen * p.keys + slot as i64;
    c.simple_query(&format!("INSERT INTO lists VALUES ({key}, '')"))
        .await
        .map_err(|e| format!("rotate: {e}"))?;
    shared.appends[slot].store(0, Ordering::SeqCst);
    shared.gens[slot].store(next_gen, Ordering::SeqCst);
    Ok(())
}

async fn run_txn(c: &Client, level: &str, ops: &mut [Op]) -> Outcome {
    let fail = |e: tokio_postgres::Error| match sqlstate(&e) {
        Some(code) => Outcome::Aborted(code),
        None => Outcome::Unknown,
    };
    if let Err(e) = c.simple_query(&format!("BEGIN ISOLATION LEVEL {level}")).await {
        return fail(e);
    }
    for op in ops.iter_mut() {
        let res = match op {
            Op::Append(k, x) => {
                c.simple_query(&format!("UPDATE lists SET v = v || ' {x}' WHERE k = {k}")).await
            }
            Op::Read(k, _) => c.simple_query(&format!("SELECT v FROM lists WHERE k = {k}")).await,
        };
        match res {
            Ok(msgs) => {
                if let Op::Read(_, result) = op {
                    let v = msgs.iter().find_map(|m| match m {
                        SimpleQueryMessage::Row(r) => Some(r.get(0).unwrap_or("").to_string()),
                        _ => None,
                    });
                    *result = Some(v.map(|v| parse_list(&v)).unwrap_or_default());
                }
            }
            Err(e) => {
                let out = fail(e);
                let _ = c.simple_query("ROLLBACK").await;
                return out;
            }
        }
    }
    match c.simple_query("COMMIT").await {
        Ok(_) => Outcome::Committed,
        Err(e) => fail(e),
    }
}
