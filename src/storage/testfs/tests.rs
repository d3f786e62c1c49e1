//! The crash test: a small multi-threaded workload on the real log, group commit, store and
//! checkpoint code, crashed at every disk operation it issues (and with the crashing write torn at
//! several byte offsets), recovered, and checked against a model.
//!
//! The check: the log applies batches in LSN order, so the state after recovery must equal the
//! model after the batches `1..=L` for some `L` between the highest acknowledged LSN (every
//! acknowledged commit survives) and the highest LSN handed out (nothing invented); each batch is a
//! multi-row transaction, so all-or-nothing falls out of the same comparison. After recovery one
//! more batch is committed and the disk reopened, so the log must also continue correctly after
//! whatever torn tail the crash left.

use super::crash::{CrashDisk, CrashImage};
use crate::error::Result;
use crate::storage::btree::{BTreeStore, Config as StoreConfig};
use crate::storage::logged::Logged;
use crate::storage::{Direction, Engine, Lsn, Write, WriteBatch};
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

const THREADS: usize = 4;
const TXNS: usize = 12;
const ROWS: usize = 3;
const SEGMENT: u64 = 2048;

type State = BTreeMap<Vec<u8>, Vec<u8>>;

fn open(disk: &Arc<CrashDisk>) -> Result<Arc<Logged>> {
    let store = BTreeStore::open_file(disk.data_file(), "crash".into(), StoreConfig::with_pool(1 << 20))?;
    Ok(Arc::new(Logged::open(Arc::new(store), disk.wal_dir(), SEGMENT)?.0))
}

fn contents(e: &dyn Engine) -> State {
    let all = e.scan_chunk(Bound::Unbounded, Bound::Unbounded, Direction::Forward, usize::MAX);
    all.expect("a recovered store answers scans").into_iter().collect()
}

/// Transaction `i` of thread `t`: `ROWS` new rows tagged with it, an update of a shared row, and
/// (after its first) a delete of a row of its previous transaction.
fn transaction(t: usize, i: usize) -> WriteBatch {
    let mut b = WriteBatch::new();
    for r in 0..ROWS {
        b.put(
            format!("row/{t}/{i}/{r}").into_bytes(),
            format!("txn {t}.{i} row {r} {}", "x".repeat(40)).into_bytes(),
        );
    }
    b.put(format!("shared/{}", i % 2).into_bytes(), format!("{t}.{i}").into_bytes());
    if i > 0 {
        b.delete(format!("row/{t}/{}/0", i - 1).into_bytes());
    }
    b
}

/// What the workload did: every batch the engine accepted, with its LSN, and the highest LSN
/// acknowledged durable.
struct Outcome {
    log: Vec<(Lsn, WriteBatch)>,
    acked: Lsn,
}

fn workload(engine: &Arc<Logged>) -> Outcome {
    let log = Arc::new(Mutex::new(Vec::new()));
    let acked = Arc::new(AtomicU64::new(0));
    let threads: Vec<_> = (0..THREADS)
        .map(|t| {
            let (engine, log, acked) = (engine.clone(), log.clone(), acked.clone());
            std::thread::spawn(move || {
                for i in 0..TXNS {
                    let batch = transaction(t, i);
                    let Ok(lsn) = engine.write(batch.clone()) else { return };
                    log.lock().push((lsn, batch));
                    if engine.wait_durable(lsn).is_err() {
                        return;
                    }
                    acked.fetch_max(lsn, Ordering::SeqCst);
                    let checkpoint = (t == 0 && i == TXNS / 3) || (t == 1 && i == 2 * TXNS / 3);
                    if checkpoint && engine.checkpoint().is_err() {
                        return;
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("workload thread");
    }
    let mut log = std::mem::take(&mut *log.lock());
    log.sort_by_key(|(lsn, _)| *lsn);
    Outcome { log, acked: acked.load(Ordering::SeqCst) }
}

fn apply(state: &mut State, batch: &WriteBatch) {
    for w in &batch.writes {
        match w {
            Write::Put(k, v) => {
                state.insert(k.clone(), v.clone());
            }
            Write::Delete(k) => {
                state.remove(k);
            }
        }
    }
}

/// The `L` such that `recovered` equals the model after batches `1..=L`, `L >= acked`.
fn matching_prefix(recovered: &State, out: &Outcome) -> std::result::Result<Lsn, String> {
    let mut state = State::new();
    let mut upto = 0;
    let mut rest = out.log.iter().peekable();
    while let Some((lsn, b)) = rest.next_if(|(lsn, _)| *lsn <= out.acked) {
        apply(&mut state, b);
        upto = *lsn;
    }
    loop {
        if state == *recovered {
            return Ok(upto);
        }
        let Some((lsn, b)) = rest.next() else { break };
        apply(&mut state, b);
        upto = *lsn;
    }
    let missing: Vec<_> = state.keys().filter(|k| !recovered.contains_key(*k)).take(3).collect();
    Err(format!(
        "recovered state ({} keys) matches no model state from acknowledged LSN {} to issued LSN {upto}; \
         e.g. missing from the final model: {:?}",
        recovered.len(),
        out.acked,
        missing.iter().map(|k| String::from_utf8_lossy(k)).collect::<Vec<_>>()
    ))
}

/// Recovers from `image`, checks it against the workload, then checks a commit after recovery
/// survives another reopen.
fn recover_and_check(image: &CrashImage, out: &Outcome) -> std::result::Result<(), String> {
    let disk = image.mount();
    let engine = open(&disk).map_err(|e| format!("recovery failed: {e}"))?;
    let mut recovered = contents(engine.as_ref());
    let upto = matching_prefix(&recovered, out)?;
    let mut after = WriteBatch::new();
    after.put(b"after-recovery".to_vec(), b"1".to_vec());
    apply(&mut recovered, &after);
    let lsn = engine.write(after).map_err(|e| format!("write after recovery: {e}"))?;
    if lsn != upto + 1 {
        return Err(format!("LSN after recovery is {lsn}, expected {}", upto + 1));
    }
    engine.wait_durable(lsn).map_err(|e| format!("flush after recovery: {e}"))?;
    let again = disk.durable_image();
    drop(engine);
    let engine = open(&again.mount()).map_err(|e| format!("second recovery failed: {e}"))?;
    if contents(engine.as_ref()) != recovered {
        return Err("a commit made after recovery did not survive the next restart".into());
    }
    Ok(())
}

/// One run: fresh disk, crash at operation `crash_at` with the crashing write torn after `tear`
/// bytes. Returns the image and the outcome, and the number of operations issued.
fn run(crash_at: Option<u64>, tear: usize, lie: bool) -> (CrashImage, Outcome, u64, bool) {
    let disk = CrashDisk::new();
    let engine = open(&disk).expect("a fresh store opens");
    disk.lie_about_wal_sync(lie);
    disk.arm(crash_at, tear);
    let out = workload(&engine);
    let crashed = disk.crash_image().is_some();
    let image = disk.durable_image();
    let ops = disk.ops();
    drop(engine);
    (image, out, ops, crashed)
}

/// Every crash point of the workload; returns (crash points, runs, failures as messages).
fn enumerate(lie: bool) -> (u64, u64, Vec<String>) {
    let (mut points, mut runs, mut failures) = (0, 0, Vec::new());
    let mut k = 0;
    loop {
        let (image, out, _, crashed) = run(Some(k), 0, lie);
        runs += 1;
        if let Err(e) = recover_and_check(&image, &out) {
            failures.push(format!("crash at operation {k}: {e}"));
        }
        if !crashed {
            break; // the workload finished before operation k: every point is covered
        }
        points += 1;
        if let Some(len) = image.crashed_write.filter(|&l| l > 1) {
            let mut tears = vec![1, len / 2, len - 1, len];
            tears.dedup();
            for tear in tears {
                let (image, out, _, _) = run(Some(k), tear, lie);
                runs += 1;
                if let Err(e) = recover_and_check(&image, &out) {
                    failures.push(format!("crash at operation {k}, write torn after {tear} bytes: {e}"));
                }
            }
        }
        k += 1;
    }
    (points, runs, failures)
}

#[test]
fn recovery_is_correct_at_every_crash_point() {
    let (_, _, ops, _) = run(None, 0, false);
    let (points, runs, failures) = enumerate(false);
    println!(
        "crash test: {points} crash points (workload issues ~{ops} operations), {runs} crash/recover runs"
    );
    assert!(points >= ops / 2, "the enumeration covers the workload: {points} of ~{ops}");
    assert!(failures.is_empty(), "{} failures, first: {}", failures.len(), failures[0]);
}

#[test]
fn the_checker_catches_commits_acknowledged_before_their_flush() {
    // A disk whose WAL fsync does nothing: commits are acknowledged without being durable.
    let (points, runs, failures) = enumerate(true);
    println!(
        "broken variant: {} of {runs} crash/recover runs ({points} crash points) lose an acknowledged commit",
        failures.len()
    );
    assert!(!failures.is_empty(), "the checker must notice acknowledged commits that were never flushed");
    assert!(failures.iter().any(|f| f.contains("matches no model state")), "{failures:?}");
}
