//! Row locks and EvalPlanQual through in-process sessions, each schedule as PostgreSQL 15 runs it:
//! a second session blocks behind the first one's row lock, the first ends, and the second's
//! outcome depends on the isolation level (READ COMMITTED re-checks the newest version;
//! REPEATABLE READ fails with 40001), on the lock strengths (FOR KEY SHARE does not block an
//! UPDATE of non-key columns) and on NOWAIT / SKIP LOCKED.

use ssidb::sql::cluster::Cluster;
use ssidb::sql::session::{Session, STACK_SIZE};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Rows as `a|b` lines, or `SQLSTATE: message` for an error.
type Outcome = Result<Vec<String>, String>;

struct Client {
    session: Session,
}

impl Client {
    fn new(cluster: &Arc<Cluster>) -> Client {
        Client { session: Session::new(cluster.clone(), "postgres", "postgres").expect("session") }
    }

    fn pid(&self) -> i32 {
        self.session.pid()
    }

    fn q(&mut self, sql: &str) -> Outcome {
        let (outputs, err) = self.session.execute_simple(sql);
        if let Some(e) = err {
            return Err(format!("{}: {}", e.sqlstate(), e.message));
        }
        let fmt = self.session.format_context();
        let mut rows = Vec::new();
        for o in outputs {
            for r in o.result.rows {
                let cells: Vec<String> =
                    r.iter().map(|v| v.to_text(&fmt).unwrap_or_else(|| "NULL".into())).collect();
                rows.push(cells.join("|"));
            }
        }
        Ok(rows)
    }

    fn ok(&mut self, sql: &str) -> Vec<String> {
        self.q(sql).unwrap_or_else(|e| panic!("{sql}: {e}"))
    }
}

fn setup(sql: &str) -> (Arc<Cluster>, Client, Client) {
    let cluster = Cluster::new_in_memory().expect("cluster");
    let mut a = Client::new(&cluster);
    let b = Client::new(&cluster);
    a.ok(sql);
    (cluster, a, b)
}

/// Runs `sql` on `b` in a thread and returns once it is blocked behind `holder`.
fn blocked(cluster: &Arc<Cluster>, mut b: Client, holder: i32, sql: &str) -> JoinHandle<(Client, Outcome)> {
    let pid = b.pid();
    let sql = sql.to_string();
    let h = std::thread::Builder::new()
        .stack_size(STACK_SIZE)
        .spawn(move || {
            let r = b.q(&sql);
            (b, r)
        })
        .expect("thread");
    let txn = cluster.database("postgres").expect("db").txn.clone();
    let start = Instant::now();
    while !txn.is_blocked_by(pid, &[holder]) {
        assert!(!h.is_finished(), "the statement did not block");
        assert!(start.elapsed() < Duration::from_secs(20), "the statement never blocked");
        std::thread::sleep(Duration::from_millis(5));
    }
    h
}

const ACCOUNTS: &str = "CREATE TABLE accounts (id text PRIMARY KEY, balance numeric NOT NULL); \
                        INSERT INTO accounts VALUES ('checking', 600), ('savings', 600)";

#[test]
fn read_committed_update_rechecks_the_newest_version() {
    let (c, mut a, mut b) = setup(ACCOUNTS);
    a.ok("BEGIN");
    a.ok("UPDATE accounts SET balance = balance + 500 WHERE id = 'checking'");
    b.ok("BEGIN");
    let h = blocked(
        &c,
        b,
        a.pid(),
        "UPDATE accounts SET balance = balance + 1000 WHERE id = 'checking' AND balance < 1000 RETURNING balance",
    );
    a.ok("COMMIT");
    let (mut b, r) = h.join().expect("join");
    assert_eq!(r, Ok(vec![]), "the newest version (1100) no longer qualifies");
    b.ok("COMMIT");

    a.ok("BEGIN");
    a.ok("UPDATE accounts SET balance = balance - 200 WHERE id = 'checking'");
    b.ok("BEGIN");
    let h = blocked(
        &c,
        b,
        a.pid(),
        "UPDATE accounts SET balance = balance + 450 WHERE id = 'checking' RETURNING balance",
    );
    a.ok("COMMIT");
    let (mut b, r) = h.join().expect("join");
    assert_eq!(r, Ok(vec!["1350".to_string()]), "applied to the newest version (900)");
    b.ok("COMMIT");
}

#[test]
fn read_committed_delete_skips_a_row_deleted_meanwhile() {
    let (c, mut a, b) = setup(ACCOUNTS);
    a.ok("BEGIN");
    a.ok("DELETE FROM accounts WHERE id = 'checking'");
    let h = blocked(&c, b, a.pid(), "UPDATE accounts SET balance = 0 RETURNING id");
    a.ok("COMMIT");
    let (_, r) = h.join().expect("join");
    assert_eq!(r, Ok(vec!["savings".to_string()]));
}

#[test]
fn repeatable_read_update_after_a_concurrent_update_is_40001() {
    let (c, mut a, mut b) = setup(ACCOUNTS);
    b.ok("BEGIN ISOLATION LEVEL REPEATABLE READ");
    b.ok("SELECT count(*) FROM accounts");
    a.ok("BEGIN");
    a.ok("UPDATE accounts SET balance = 1 WHERE id = 'checking'");
    let h = blocked(&c, b, a.pid(), "UPDATE accounts SET balance = balance + 1 WHERE id = 'checking'");
    a.ok("COMMIT");
    let (mut b, r) = h.join().expect("join");
    assert_eq!(r, Err("40001: could not serialize access due to concurrent update".to_string()));
    b.ok("ROLLBACK");

    // When the other transaction rolls back, the update proceeds.
    b.ok("BEGIN ISOLATION LEVEL REPEATABLE READ");
    b.ok("SELECT count(*) FROM accounts");
    a.ok("BEGIN");
    a.ok("DELETE FROM accounts WHERE id = 'checking'");
    let h = blocked(
        &c,
        b,
        a.pid(),
        "UPDATE accounts SET balance = balance + 1 WHERE id = 'checking' RETURNING balance",
    );
    a.ok("ROLLBACK");
    let (mut b, r) = h.join().expect("join");
    assert_eq!(r, Ok(vec!["2".to_string()]));
    b.ok("COMMIT");
}

#[test]
fn unique_key_wait_then_23505_or_proceed() {
    let (c, mut a, mut b) = setup("CREATE TABLE t (i int PRIMARY KEY)");
    a.ok("BEGIN");
    a.ok("INSERT INTO t VALUES (42)");
    let h = blocked(&c, b, a.pid(), "INSERT INTO t VALUES (42)");
    a.ok("COMMIT");
    let (b2, r) = h.join().expect("join");
    b = b2;
    assert_eq!(r, Err("23505: duplicate key value violates unique constraint \"t_pkey\"".to_string()));

    a.ok("BEGIN");
    a.ok("INSERT INTO t VALUES (7)");
    let h = blocked(&c, b, a.pid(), "INSERT INTO t VALUES (7) RETURNING i");
    a.ok("ROLLBACK");
    let (mut b, r) = h.join().expect("join");
    assert_eq!(r, Ok(vec!["7".to_string()]));
    assert_eq!(b.ok("SELECT i FROM t ORDER BY i"), vec!["7", "42"]);
}

#[test]
fn on_conflict_do_update_waits_then_updates_or_fails_at_repeatable_read() {
    let setup_sql = "CREATE TABLE kv (k int PRIMARY KEY, v int NOT NULL)";
    let upsert =
        "INSERT INTO kv VALUES (1, 10) ON CONFLICT (k) DO UPDATE SET v = kv.v + excluded.v RETURNING v";
    let (c, mut a, mut b) = setup(setup_sql);
    a.ok("BEGIN");
    a.ok("INSERT INTO kv VALUES (1, 1)");
    b.ok("BEGIN");
    let h = blocked(&c, b, a.pid(), upsert);
    a.ok("COMMIT");
    let (mut b, r) = h.join().expect("join");
    assert_eq!(r, Ok(vec!["11".to_string()]), "updates the row committed after its snapshot");
    b.ok("COMMIT");

    b.ok("BEGIN ISOLATION LEVEL REPEATABLE READ");
    b.ok("SELECT 1");
    a.ok("BEGIN");
    a.ok("DELETE FROM kv");
    a.ok("INSERT INTO kv VALUES (1, 5)");
    let h = blocked(&c, b, a.pid(), upsert);
    a.ok("COMMIT");
    let (_, r) = h.join().expect("join");
    assert_eq!(r, Err("40001: could not serialize access due to concurrent update".to_string()));
}

#[test]
fn select_for_update_nowait_skip_locked_and_recheck() {
    let (c, mut a, mut b) = setup(
        "CREATE TABLE queue (id int PRIMARY KEY, status text NOT NULL); \
         INSERT INTO queue VALUES (1, 'new'), (2, 'new'), (3, 'new')",
    );
    a.ok("BEGIN");
    assert_eq!(a.ok("SELECT id FROM queue ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED"), vec!["1"]);
    b.ok("BEGIN");
    assert_eq!(b.ok("SELECT id FROM queue ORDER BY id FOR UPDATE SKIP LOCKED LIMIT 1"), vec!["2"]);
    assert_eq!(
        b.q("SELECT * FROM queue WHERE id = 1 FOR SHARE NOWAIT"),
        Err("55P03: could not obtain lock on row in relation \"queue\"".to_string())
    );
    b.ok("ROLLBACK");
    // A locking read blocked by an update re-checks its WHERE on the newest version.
    a.ok("UPDATE queue SET status = 'done' WHERE id = 1");
    let h =
        blocked(&c, b, a.pid(), "SELECT id, status FROM queue WHERE status = 'new' ORDER BY id FOR UPDATE");
    a.ok("COMMIT");
    let (_, r) = h.join().expect("join");
    assert_eq!(r, Ok(vec!["2|new".to_string(), "3|new".to_string()]));
}

#[test]
fn key_share_does_not_block_a_non_key_update() {
    let (c, mut a, mut b) =
        setup("CREATE TABLE p (id int PRIMARY KEY, note text); INSERT INTO p VALUES (1, 'a')");
    a.ok("BEGIN");
    assert_eq!(a.ok("SELECT id FROM p FOR KEY SHARE"), vec!["1"]);
    assert_eq!(b.ok("UPDATE p SET note = 'b' RETURNING note"), vec!["b"]);
    let h = blocked(&c, b, a.pid(), "UPDATE p SET id = 2 RETURNING id");
    a.ok("COMMIT");
    let (mut b, r) = h.join().expect("join");
    assert_eq!(r, Ok(vec!["2".to_string()]));
    assert_eq!(
        b.q("SELECT * FROM p FOR NO KEY UPDATE OF q"),
        Err("42P01: relation \"q\" in FOR NO KEY UPDATE clause not found in FROM clause".to_string())
    );
    assert_eq!(
        b.q("SELECT count(*) FROM p FOR UPDATE"),
        Err("0A000: FOR UPDATE is not allowed with aggregate functions".to_string())
    );
}

#[test]
fn a_long_wait_without_a_cycle_is_never_a_deadlock() {
    // deadlock_timeout 100ms: the waiter checks for a cycle after 100 ms (and keeps waiting when
    // there is none); after 3 s the holder commits and the waiter's UPDATE goes through.
    let (cluster, mut a, mut b) = setup(ACCOUNTS);
    b.ok("SET deadlock_timeout = '100ms'");
    a.ok("BEGIN");
    a.ok("UPDATE accounts SET balance = balance - 10 WHERE id = 'checking'");
    let h = blocked(&cluster, b, a.pid(), "UPDATE accounts SET balance = balance + 1 WHERE id = 'checking'");
    std::thread::sleep(Duration::from_secs(3));
    assert!(!h.is_finished(), "the waiter gave up while the holder still held the lock");
    a.ok("COMMIT");
    let (mut b, r) = h.join().expect("waiter");
    assert_eq!(r, Ok(vec![]), "the waiter must proceed, not fail");
    assert_eq!(b.ok("SELECT balance FROM accounts WHERE id = 'checking'"), vec!["591".to_string()]);
}
