//! COPY over the wire with tokio-postgres (issue 12): `copy_in` of many rows, a malformed row
//! mid-stream that loads nothing (22P02 / 22P04 with PostgreSQL's CONTEXT), CopyFail, COPY inside
//! an explicit block, and `copy_out` in text and CSV.

mod common;

use bytes::Bytes;
use common::server_port;
use futures_util::SinkExt;
use tokio_postgres::error::SqlState;

async fn client() -> tokio_postgres::Client {
    let conf = format!("host=127.0.0.1 port={} user=postgres dbname=postgres", server_port());
    let (client, conn) = tokio_postgres::connect(&conf, tokio_postgres::NoTls).await.expect("connect");
    tokio::spawn(conn);
    client
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime").block_on(f)
}

/// Sends `lines` through `COPY sql` in chunks of 1000 lines; returns the rows COPY reports.
async fn copy_lines(
    c: &tokio_postgres::Client,
    sql: &str,
    lines: &[String],
) -> Result<u64, tokio_postgres::Error> {
    let sink = c.copy_in::<_, Bytes>(sql).await?;
    futures_util::pin_mut!(sink);
    for chunk in lines.chunks(1000) {
        sink.send(Bytes::from(chunk.concat())).await?;
    }
    sink.finish().await
}

async fn count(c: &tokio_postgres::Client, table: &str) -> i64 {
    c.query_one(&format!("SELECT count(*) FROM {table}"), &[]).await.expect("count").get(0)
}

/// Rows loaded by `copy_in_many_rows`; `SSIDB_COPY_ROWS=1000000` is the acceptance size.
fn rows() -> usize {
    std::env::var("SSIDB_COPY_ROWS").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000)
}

#[test]
fn copy_in_many_rows() {
    block_on(async {
        let c = client().await;
        c.batch_execute("CREATE TABLE copy_many (id int PRIMARY KEY, name text, v numeric(8,2))")
            .await
            .expect("create");
        let lines: Vec<String> = (1..=rows()).map(|i| format!("{i}\tname {i}\t{}.5\n", i % 1000)).collect();
        let n = copy_lines(&c, "COPY copy_many FROM STDIN", &lines).await.expect("copy");
        assert_eq!(n, rows() as u64);
        assert_eq!(count(&c, "copy_many").await, rows() as i64);
        let row = c.query_one("SELECT name, v::text FROM copy_many WHERE id = 4321", &[]).await.expect("row");
        assert_eq!(row.get::<_, String>(0), "name 4321");
        assert_eq!(row.get::<_, String>(1), "321.50");
    });
}

#[test]
fn malformed_row_mid_stream_loads_nothing() {
    block_on(async {
        let c = client().await;
        c.batch_execute("CREATE TABLE copy_bad (id int, name text)").await.expect("create");
        let mut lines: Vec<String> = (1..=20_000).map(|i| format!("{i}\tx\n")).collect();
        lines[12_344] = "oops\tx\n".into();
        let err = copy_lines(&c, "COPY copy_bad FROM STDIN", &lines).await.expect_err("bad value");
        assert_eq!(err.code(), Some(&SqlState::INVALID_TEXT_REPRESENTATION), "{err:?}");
        let db = err.as_db_error().expect("server error");
        assert_eq!(db.message(), "invalid input syntax for type integer: \"oops\"");
        assert_eq!(db.where_(), Some("COPY copy_bad, line 12345, column id: \"oops\""));
        assert_eq!(count(&c, "copy_bad").await, 0);

        // A row with a missing column: 22P04, naming the line.
        let lines = vec!["1\ta\n".to_string(), "2\n".to_string()];
        let err = copy_lines(&c, "COPY copy_bad FROM STDIN", &lines).await.expect_err("short row");
        assert_eq!(err.code(), Some(&SqlState::BAD_COPY_FILE_FORMAT), "{err:?}");
        let db = err.as_db_error().expect("server error");
        assert_eq!(db.message(), "missing data for column \"name\"");
        assert_eq!(db.where_(), Some("COPY copy_bad, line 2: \"2\""));
        assert_eq!(count(&c, "copy_bad").await, 0);

        // The session is usable afterwards and a good COPY loads.
        let lines = vec!["1\ta\n".to_string(), "2\t\\N\n".to_string()];
        assert_eq!(copy_lines(&c, "COPY copy_bad FROM STDIN", &lines).await.expect("good copy"), 2);
        assert_eq!(count(&c, "copy_bad").await, 2);
    });
}

#[test]
fn copy_in_explicit_block_and_csv() {
    block_on(async {
        let mut c = client().await;
        c.batch_execute("CREATE TABLE copy_tx (id int PRIMARY KEY, name text)").await.expect("create");
        let tx = c.transaction().await.expect("begin");
        let lines = ["id,name\n".to_string(), "1,\"a,b\"\n".to_string(), "2,\n".to_string()];
        let n = {
            let sink = tx
                .copy_in::<_, Bytes>("COPY copy_tx FROM STDIN WITH (FORMAT csv, HEADER true)")
                .await
                .expect("copy");
            futures_util::pin_mut!(sink);
            sink.send(Bytes::from(lines.concat())).await.expect("send");
            sink.finish().await.expect("finish")
        };
        assert_eq!(n, 2);
        tx.rollback().await.expect("rollback");
        assert_eq!(count(&c, "copy_tx").await, 0, "rolled back with its block");

        // A duplicate key fails the COPY and the block.
        let tx = c.transaction().await.expect("begin");
        let lines = ["1\ta\n".to_string(), "1\tb\n".to_string()];
        let err = {
            let sink = tx.copy_in::<_, Bytes>("COPY copy_tx FROM STDIN").await.expect("copy");
            futures_util::pin_mut!(sink);
            sink.send(Bytes::from(lines.concat())).await.expect("send");
            sink.finish().await.expect_err("duplicate")
        };
        assert_eq!(err.code(), Some(&SqlState::UNIQUE_VIOLATION));
        let err = tx.simple_query("SELECT 1").await.expect_err("block failed");
        assert_eq!(err.code(), Some(&SqlState::IN_FAILED_SQL_TRANSACTION));
        tx.rollback().await.expect("rollback");
        assert_eq!(count(&c, "copy_tx").await, 0);
    });
}

#[test]
fn copy_out_text_and_csv() {
    block_on(async {
        let c = client().await;
        c.batch_execute(
            "CREATE TABLE copy_out (id int, name text); INSERT INTO copy_out VALUES (1, 'a\tb'), (2, NULL), (3, 'x,\"y\"')",
        )
        .await
        .expect("setup");
        let read = |sql: &'static str| {
            let c = &c;
            async move {
                use futures_util::StreamExt;
                let stream = c.copy_out(sql).await.expect("copy out");
                futures_util::pin_mut!(stream);
                let mut out = Vec::new();
                while let Some(chunk) = stream.next().await {
                    out.extend_from_slice(&chunk.expect("chunk"));
                }
                String::from_utf8(out).expect("utf8")
            }
        };
        assert_eq!(read("COPY copy_out TO STDOUT").await, "1\ta\\tb\n2\t\\N\n3\tx,\"y\"\n");
        assert_eq!(
            read("COPY (SELECT id, name FROM copy_out ORDER BY id DESC) TO STDOUT WITH (FORMAT csv, HEADER)")
                .await,
            "id,name\n3,\"x,\"\"y\"\"\"\n2,\n1,a\tb\n"
        );
    });
}
