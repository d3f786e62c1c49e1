//! Wire-level integration tests against an in-process server: ReadyForQuery status through a
//! failed block (compared with PostgreSQL 15 when it is installed), malformed and oversized
//! messages (FATAL 08P01, only that connection ends), CancelRequest, and tokio-postgres
//! (connection, typed parameters).
//!
//! The raw client in `common` sends exact bytes, so command tags and status bytes are checked as
//! the server writes them.

mod common;

use common::{fields, server_port, RawConn, Reply, ThrowawayPg};
use std::time::Duration;

/// The statements whose tags, SQLSTATEs and ReadyForQuery status must match PostgreSQL's.
const STATUS_SCRIPT: &[&str] = &[
    "BEGIN",
    "SAVEPOINT s1",
    "SHOW no_such_setting",
    "SHOW datestyle",
    "ROLLBACK TO SAVEPOINT s1",
    "SHOW datestyle",
    "SHOW no_such_setting",
    "COMMIT",
    "SHOW datestyle",
];

fn reply(tags: &[&str], error: Option<&str>, status: char) -> Reply {
    Reply { tags: tags.iter().map(|t| t.to_string()).collect(), error: error.map(str::to_string), status }
}

fn run_status_script(port: u16) -> Vec<Reply> {
    let mut c = RawConn::connect(port).expect("connect");
    STATUS_SCRIPT.iter().map(|sql| c.query(sql).expect(sql)).collect()
}

#[test]
fn transaction_status_through_a_failed_block() {
    let got = run_status_script(server_port());
    let expected = vec![
        reply(&["BEGIN"], None, 'T'),
        reply(&["SAVEPOINT"], None, 'T'),
        reply(&[], Some("42704"), 'E'),
        reply(&[], Some("25P02"), 'E'),
        reply(&["ROLLBACK"], None, 'T'),
        reply(&["SHOW"], None, 'T'),
        reply(&[], Some("42704"), 'E'),
        reply(&["ROLLBACK"], None, 'I'),
        reply(&["SHOW"], None, 'I'),
    ];
    for ((sql, g), e) in STATUS_SCRIPT.iter().zip(&got).zip(&expected) {
        assert_eq!(g, e, "after {sql}");
    }
}

#[test]
fn transaction_status_matches_postgres() {
    let Some(pg) = ThrowawayPg::start() else { return };
    let ours = run_status_script(server_port());
    let theirs = run_status_script(pg.port);
    for ((sql, o), t) in STATUS_SCRIPT.iter().zip(&ours).zip(&theirs) {
        assert_eq!(o, t, "after {sql}: ssidb vs PostgreSQL 15");
    }
}

/// Expects a FATAL 08P01 ErrorResponse and then the end of the connection.
fn expect_fatal_protocol_violation(c: &mut RawConn, what: &str) {
    let m = c.read_msg().expect("read").unwrap_or_else(|| panic!("{what}: closed without an ErrorResponse"));
    assert_eq!(m.kind, b'E', "{what}: expected ErrorResponse");
    let f = fields(&m.body);
    assert_eq!(f.get(&b'S').map(String::as_str), Some("FATAL"), "{what}: {f:?}");
    assert_eq!(f.get(&b'C').map(String::as_str), Some("08P01"), "{what}: {f:?}");
    assert!(c.read_msg().expect("read after FATAL").is_none(), "{what}: connection should be closed");
}

#[test]
fn malformed_messages_end_only_their_connection() {
    let port = server_port();
    let mut other = RawConn::connect(port).expect("connect");
    assert_eq!(other.query("BEGIN").expect("begin").status, 'T');

    // A Bind whose body stops inside the portal name.
    let mut c = RawConn::connect(port).expect("connect");
    c.send(b'B', b"por").expect("send");
    expect_fatal_protocol_violation(&mut c, "truncated Bind");

    // A length word of 3 (less than the length word itself).
    let mut c = RawConn::connect(port).expect("connect");
    c.send_raw(&[b'Q', 0, 0, 0, 3]).expect("send");
    expect_fatal_protocol_violation(&mut c, "length 3");

    // An unknown message type.
    let mut c = RawConn::connect(port).expect("connect");
    c.send(b'!', b"").expect("send");
    expect_fatal_protocol_violation(&mut c, "unknown type");

    // The other session carries on, still in its block.
    assert_eq!(other.query("SHOW datestyle").expect("show"), reply(&["SHOW"], None, 'T'));
    assert_eq!(other.query("COMMIT").expect("commit"), reply(&["COMMIT"], None, 'I'));
}

#[test]
fn oversized_message_is_refused_before_it_is_read() {
    let mut c = RawConn::connect(server_port()).expect("connect");
    // Announce a 2 GB query and send nothing more: the server must answer from the length word
    // alone (it cannot have waited for, or allocated, the body).
    c.send_raw(&[b'Q', 0x7f, 0xff, 0xff, 0xff]).expect("send");
    c.set_read_timeout(Duration::from_secs(10)).expect("timeout");
    expect_fatal_protocol_violation(&mut c, "oversized Query");
    // Just above the default cap of 256 MB, too.
    let mut c = RawConn::connect(server_port()).expect("connect");
    let len = (256u32 << 20) + 5;
    let mut bytes = vec![b'Q'];
    bytes.extend(len.to_be_bytes());
    c.send_raw(&bytes).expect("send");
    expect_fatal_protocol_violation(&mut c, "Query just over the cap");
}

/// Session `holder` takes the database-wide DDL lock in an open block; `waiter`'s DDL then waits
/// for it. (CREATE TABLE takes the lock before the engine runs it, so this works whether or not
/// the engine supports CREATE TABLE yet.)
fn block_a_waiter(port: u16, table: &str) -> (RawConn, RawConn) {
    let mut holder = RawConn::connect(port).expect("connect holder");
    let begin = holder.query(&format!("BEGIN; CREATE TABLE {table}_held (a int)")).expect("holder");
    assert_eq!(begin.tags.first().map(String::as_str), Some("BEGIN"));
    assert_ne!(begin.status, 'I', "the holder's block must stay open: {begin:?}");
    let mut waiter = RawConn::connect(port).expect("connect waiter");
    waiter.send(b'Q', format!("CREATE TABLE {table}_wait (a int)\0").as_bytes()).expect("send");
    // It must really be waiting: nothing arrives for a while.
    waiter.set_read_timeout(Duration::from_millis(500)).expect("timeout");
    match waiter.read_msg() {
        Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
        other => panic!("the waiter should be blocked, got {other:?}"),
    }
    waiter.set_read_timeout(common::REPLY_TIMEOUT).expect("timeout");
    (holder, waiter)
}

#[test]
fn cancel_request_cancels_a_blocked_statement() {
    let port = server_port();
    let (mut holder, mut waiter) = block_a_waiter(port, "cancel_raw");
    // A wrong secret cancels nothing.
    RawConn::cancel(port, waiter.pid, waiter.secret.wrapping_add(1)).expect("cancel");
    waiter.set_read_timeout(Duration::from_millis(500)).expect("timeout");
    assert!(waiter.read_msg().is_err(), "a cancel with the wrong secret must not cancel");
    waiter.set_read_timeout(common::REPLY_TIMEOUT).expect("timeout");
    // The right one does.
    RawConn::cancel(port, waiter.pid, waiter.secret).expect("cancel");
    let r = waiter.collect().expect("cancelled reply");
    assert_eq!(r, reply(&[], Some("57014"), 'I'));
    // Both sessions stay usable.
    assert_eq!(waiter.query("SHOW datestyle").expect("show"), reply(&["SHOW"], None, 'I'));
    assert_eq!(holder.query("ROLLBACK").expect("rollback"), reply(&["ROLLBACK"], None, 'I'));
}

#[test]
fn backend_pid_is_the_cancel_key_pid() {
    let mut c = RawConn::connect(server_port()).expect("connect");
    let mut other = RawConn::connect(server_port()).expect("connect");
    assert_ne!(c.pid, other.pid);
    assert_eq!(c.query("SHOW datestyle").expect("show").status, 'I');
    assert_eq!(other.query("SHOW datestyle").expect("show").status, 'I');
}

async fn tokio_client(port: u16) -> tokio_postgres::Client {
    let conf = format!("host=127.0.0.1 port={port} user=postgres dbname=postgres");
    let (client, conn) = tokio_postgres::connect(&conf, tokio_postgres::NoTls).await.expect("connect");
    tokio::spawn(conn);
    client
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime").block_on(f)
}

#[test]
fn tokio_postgres_settings_errors_and_cancel() {
    block_on(async {
        let port = server_port();
        let client = tokio_client(port).await;
        // Typed values back through the simple protocol.
        let rows = client
            .simple_query("SET application_name = 'wire-test'; SHOW application_name")
            .await
            .expect("show");
        let value = rows.iter().find_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0).map(str::to_string),
            _ => None,
        });
        assert_eq!(value.as_deref(), Some("wire-test"));
        // SQLSTATE of an unknown setting.
        let err = client.simple_query("SHOW nope").await.expect_err("unknown setting");
        assert_eq!(err.code(), Some(&tokio_postgres::error::SqlState::UNDEFINED_OBJECT));
        // START TRANSACTION / COMMIT as tokio-postgres' Transaction sends them.
        let mut client = client;
        let tx = client.transaction().await.expect("start transaction");
        tx.commit().await.expect("commit");

        // Cancel through tokio-postgres' CancelToken.
        let (mut holder, _) = {
            let mut holder = RawConn::connect(port).expect("holder");
            let r = holder.query("BEGIN; CREATE TABLE cancel_tp_held (a int)").expect("holder");
            assert_ne!(r.status, 'I');
            (holder, ())
        };
        let token = client.cancel_token();
        let canceller = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(500)).await;
            token.cancel_query(tokio_postgres::NoTls).await
        });
        let err = client.simple_query("CREATE TABLE cancel_tp_wait (a int)").await.expect_err("cancelled");
        assert_eq!(err.code(), Some(&tokio_postgres::error::SqlState::QUERY_CANCELED), "{err}");
        canceller.await.expect("join").expect("cancel sent");
        assert!(client.simple_query("SHOW datestyle").await.is_ok(), "session usable after cancel");
        assert_eq!(holder.query("ROLLBACK").expect("rollback").status, 'I');
    });
}

#[test]
fn tokio_postgres_typed_parameters() {
    block_on(async {
        let client = tokio_client(server_port()).await;
        let row = client.query_one("SELECT $1::int4 + 1", &[&41i32]).await.expect("int");
        assert_eq!(row.get::<_, i32>(0), 42);
        let row = client.query_one("SELECT $1::text || 'x'", &[&"a"]).await.expect("text");
        assert_eq!(row.get::<_, String>(0), "ax");
        let row = client
            .query_one("SELECT $1::int8 * 2, $2::bool, $3::float8", &[&21i64, &true, &0.5f64])
            .await
            .expect("mixed");
        assert_eq!(row.get::<_, i64>(0), 42);
        assert!(row.get::<_, bool>(1));
        assert_eq!(row.get::<_, f64>(2), 0.5);
        let row = client.query_one("SELECT $1::int4 IS NULL", &[&None::<i32>]).await.expect("null");
        assert!(row.get::<_, bool>(0));
    });
}

#[test]
fn idle_in_transaction_timeout_ends_the_session_with_25p03() {
    let port = common::server_port();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let conf = format!("host=127.0.0.1 port={port} user=postgres dbname=postgres");
        let (client, conn) = tokio_postgres::connect(&conf, tokio_postgres::NoTls).await.unwrap();
        let conn = tokio::spawn(conn);
        client.batch_execute("SET idle_in_transaction_session_timeout = '200ms'; BEGIN").await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(600)).await;
        let e = client.simple_query("SELECT 1").await.unwrap_err();
        let fatal = match conn.await.unwrap() {
            Err(e) => e.as_db_error().map(|d| d.code().code().to_string()),
            Ok(()) => None,
        };
        let code = e.as_db_error().map(|d| d.code().code().to_string()).or(fatal);
        assert_eq!(code.as_deref(), Some("25P03"), "{e}");
    });
}
