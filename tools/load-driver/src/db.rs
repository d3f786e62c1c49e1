//! Talking to the server: connecting, classifying errors, and small text-protocol helpers.
//!
//! Transactions use tokio-postgres prepared statements (Parse/Describe once per client, then
//! Bind/Execute), with `BEGIN ISOLATION LEVEL ...`, `COMMIT` and `ROLLBACK` sent as simple
//! queries. Set-up, checks and server counters use the simple protocol and read values as text,
//! so they work whatever type the server gives a `sum` or `count` (PostgreSQL's `sum(bigint)` is
//! `numeric`, for instance).
//!
//! Every error that a server can cause is a value here, never a panic: [`TxnError`] sorts them
//! into "the server said no, with a SQLSTATE" (counted, maybe retried), "the server answered
//! something we did not expect" (counted, the client goes on), and "the connection is gone"
//! (the client stops with a message).

use tokio_postgres::error::Severity;
use tokio_postgres::{Client, NoTls, SimpleQueryMessage};

/// SQLSTATE of a serialization failure.
pub const SERIALIZATION_FAILURE: &str = "40001";
/// SQLSTATE of a detected deadlock.
pub const DEADLOCK_DETECTED: &str = "40P01";
/// Pseudo-SQLSTATE under which results the driver cannot use are counted.
pub const UNEXPECTED_RESULT: &str = "unexpected-result";

/// Why a transaction attempt did not commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxnError {
    /// The server refused a statement; the transaction is over (after our ROLLBACK).
    Server {
        /// The SQLSTATE, e.g. `40001`.
        code: String,
        /// The server's message.
        message: String,
    },
    /// The server's answer was well-formed but not what the workload needs (a missing row, a
    /// value of the wrong type): counted as a failure, the client carries on.
    Unexpected(String),
    /// The connection is unusable: the client stops.
    Fatal(String),
}

impl TxnError {
    /// Whether retrying the whole transaction may succeed (serialization failure, deadlock).
    pub fn is_retryable(&self) -> bool {
        matches!(self, TxnError::Server { code, .. } if code == SERIALIZATION_FAILURE || code == DEADLOCK_DETECTED)
    }

    /// The key this error is counted under: its SQLSTATE, or a pseudo-state.
    pub fn code(&self) -> &str {
        match self {
            TxnError::Server { code, .. } => code,
            TxnError::Unexpected(_) => UNEXPECTED_RESULT,
            TxnError::Fatal(_) => "connection",
        }
    }
}

impl std::fmt::Display for TxnError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TxnError::Server { code, message } => write!(f, "{code}: {message}"),
            TxnError::Unexpected(m) => write!(f, "unexpected result: {m}"),
            TxnError::Fatal(m) => write!(f, "connection error: {m}"),
        }
    }
}

impl From<tokio_postgres::Error> for TxnError {
    fn from(e: tokio_postgres::Error) -> TxnError {
        if let Some(db) = e.as_db_error() {
            if matches!(db.parsed_severity(), Some(Severity::Fatal | Severity::Panic)) {
                // The server is closing this session (e.g. 57P01 after pg_terminate_backend).
                return TxnError::Fatal(format!("{}: {}", db.code().code(), db.message()));
            }
            TxnError::Server { code: db.code().code().to_string(), message: db.message().to_string() }
        } else if e.is_closed() || is_io(&e) || e.to_string().starts_with("error parsing response") {
            // A lost connection, or a protocol stream we can no longer trust.
            TxnError::Fatal(e.to_string())
        } else {
            // Decoding a column or a parameter type the server described differently.
            TxnError::Unexpected(e.to_string())
        }
    }
}

/// Whether an error was caused by the socket.
fn is_io(e: &tokio_postgres::Error) -> bool {
    std::error::Error::source(e).is_some_and(|s| s.downcast_ref::<std::io::Error>().is_some())
}

/// Opens a connection and spawns its I/O task.
pub async fn connect(conn: &str) -> Result<Client, String> {
    let (client, connection) = tokio_postgres::connect(conn, NoTls)
        .await
        .map_err(|e| format!("cannot connect to \"{conn}\": {e}"))?;
    // A broken connection surfaces as an error on the client's next call; nothing to do here.
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

/// Runs `sql` over the simple protocol and returns every row as text values.
pub async fn query_text(client: &Client, sql: &str) -> Result<Vec<Vec<Option<String>>>, String> {
    let msgs = client.simple_query(sql).await.map_err(|e| format!("{sql}: {}", describe(&e)))?;
    Ok(msgs
        .iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(r) => Some((0..r.len()).map(|i| r.get(i).map(String::from)).collect()),
            _ => None,
        })
        .collect())
}

/// Runs `sql` and parses the first column of the first row as an integer (`NULL` reads as 0).
pub async fn query_int(client: &Client, sql: &str) -> Result<i128, String> {
    let rows = query_text(client, sql).await?;
    let cell = rows.first().and_then(|r| r.first()).ok_or_else(|| format!("{sql}: returned no value"))?;
    match cell {
        None => Ok(0),
        Some(s) => s.trim().parse().map_err(|_| format!("{sql}: '{s}' is not an integer")),
    }
}

/// Runs `sql` and parses the first column of the first row as a number (`NULL` reads as 0).
pub async fn query_number(client: &Client, sql: &str) -> Result<f64, String> {
    let rows = query_text(client, sql).await?;
    let cell = rows.first().and_then(|r| r.first()).ok_or_else(|| format!("{sql}: returned no value"))?;
    match cell {
        None => Ok(0.0),
        Some(s) => s.trim().parse().map_err(|_| format!("{sql}: '{s}' is not a number")),
    }
}

/// One line for an error, with the SQLSTATE when the server sent one.
pub fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{}: {}", db.code().code(), db.message()),
        None => e.to_string(),
    }
}

/// The first column of the only row a statement should return, as an `i64`.
///
/// Accepts `int2`, `int4` and `int8` columns, so a server that types a value one size
/// differently from PostgreSQL is still measurable.
pub fn one_int(rows: &[tokio_postgres::Row], what: &str) -> Result<i64, TxnError> {
    let row = rows.first().ok_or_else(|| TxnError::Unexpected(format!("{what}: no row")))?;
    if let Ok(v) = row.try_get::<_, i64>(0) {
        return Ok(v);
    }
    if let Ok(v) = row.try_get::<_, i32>(0) {
        return Ok(v.into());
    }
    row.try_get::<_, i16>(0)
        .map(i64::from)
        .map_err(|e| TxnError::Unexpected(format!("{what}: not an integer ({e})")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_serialization_and_deadlock_are_retried() {
        let s = |c: &str| TxnError::Server { code: c.into(), message: String::new() };
        assert!(s("40001").is_retryable());
        assert!(s("40P01").is_retryable());
        assert!(!s("23505").is_retryable());
        assert!(!TxnError::Unexpected("x".into()).is_retryable());
        assert!(!TxnError::Fatal("x".into()).is_retryable());
        assert_eq!(TxnError::Unexpected("x".into()).code(), UNEXPECTED_RESULT);
    }
}
