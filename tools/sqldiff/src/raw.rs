//! A minimal simple-query client on raw protocol v3 messages (postgres-protocol's codec).
//!
//! tokio-postgres' `simple_query` keeps only column names; comparing two servers statement by
//! statement needs more: each column's type OID, the exact command tag, every ErrorResponse field
//! and the ReadyForQuery status. This client sends one Query message and collects all of it.
//! Trust authentication only (the servers under test are local throwaways); no TLS.
//!
//! Everything a server sends is untrusted: malformed or unexpected messages end in an error, never
//! a panic.

use bytes::BytesMut;
use fallible_iterator::FallibleIterator;
use postgres_protocol::message::{backend::Message, frontend};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Where and as whom to connect.
#[derive(Clone, Debug)]
pub struct Endpoint {
    /// Host name or address.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// User name.
    pub user: String,
}

/// One column of a RowDescription.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ColumnDesc {
    /// Column name.
    pub name: String,
    /// Type OID.
    pub type_oid: u32,
}

/// The result of one statement inside a Query message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatementResult {
    /// Columns, when the statement returned a RowDescription.
    pub columns: Option<Vec<ColumnDesc>>,
    /// Rows in text format (`None` = NULL).
    pub rows: Vec<Vec<Option<String>>>,
    /// CommandComplete tag, or empty for EmptyQueryResponse.
    pub tag: String,
}

/// An ErrorResponse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerError {
    /// Severity (ERROR, FATAL, ...).
    pub severity: String,
    /// SQLSTATE.
    pub code: String,
    /// Primary message.
    pub message: String,
}

/// Everything one Query message produced.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QueryOutcome {
    /// Results of the statements that completed.
    pub results: Vec<StatementResult>,
    /// The error that ended the query, if any.
    pub error: Option<ServerError>,
    /// ReadyForQuery status byte as a char (I, T, E).
    pub status: char,
    /// Whether the query was cancelled by the per-statement timeout.
    pub timed_out: bool,
}

/// A connected session.
pub struct RawClient {
    stream: TcpStream,
    buf: BytesMut,
    endpoint: Endpoint,
    pid: i32,
    secret: i32,
}

fn proto_err(msg: impl Into<String>) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, msg.into())
}

impl RawClient {
    /// Connects to `database` and completes startup (trust authentication).
    pub async fn connect(endpoint: &Endpoint, database: &str) -> std::io::Result<RawClient> {
        let stream = TcpStream::connect((endpoint.host.as_str(), endpoint.port)).await?;
        let _ = stream.set_nodelay(true);
        let mut c = RawClient { stream, buf: BytesMut::new(), endpoint: endpoint.clone(), pid: 0, secret: 0 };
        let mut out = BytesMut::new();
        let params = [("user", endpoint.user.as_str()), ("database", database), ("client_encoding", "UTF8")];
        frontend::startup_message(params.iter().copied(), &mut out)?;
        c.stream.write_all(&out).await?;
        loop {
            match c.next().await? {
                Message::AuthenticationOk | Message::ParameterStatus(_) | Message::NoticeResponse(_) => {}
                Message::BackendKeyData(k) => {
                    c.pid = k.process_id();
                    c.secret = k.secret_key();
                }
                Message::ReadyForQuery(_) => return Ok(c),
                Message::ErrorResponse(e) => {
                    let e = server_error(&e)?;
                    return Err(proto_err(format!("connection refused: {} ({})", e.message, e.code)));
                }
                _ => return Err(proto_err("unsupported authentication request (only trust is supported)")),
            }
        }
    }

    async fn next(&mut self) -> std::io::Result<Message> {
        loop {
            if let Some(m) = Message::parse(&mut self.buf)? {
                return Ok(m);
            }
            let n = self.stream.read_buf(&mut self.buf).await?;
            if n == 0 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "server closed the connection",
                ));
            }
        }
    }

    /// Sends CancelRequest for this session on a new connection.
    pub async fn cancel(&self) -> std::io::Result<()> {
        let mut s = TcpStream::connect((self.endpoint.host.as_str(), self.endpoint.port)).await?;
        let mut out = BytesMut::new();
        frontend::cancel_request(self.pid, self.secret, &mut out);
        s.write_all(&out).await?;
        // The server closes the connection after reading the request.
        let mut sink = [0u8; 16];
        let _ = tokio::time::timeout(Duration::from_secs(2), s.read(&mut sink)).await;
        Ok(())
    }

    /// Runs `sql` as one simple Query message; cancels it after `timeout` (the outcome then holds
    /// the server's 57014 error and `timed_out`).
    pub async fn query(&mut self, sql: &str, timeout: Duration) -> std::io::Result<QueryOutcome> {
        let mut out = BytesMut::new();
        frontend::query(sql, &mut out)?;
        self.stream.write_all(&out).await?;
        let mut outcome = QueryOutcome::default();
        let deadline = tokio::time::Instant::now() + timeout;
        let mut cancelled = false;
        let mut current = StatementResult { columns: None, rows: vec![], tag: String::new() };
        loop {
            let msg = if cancelled {
                tokio::time::timeout(Duration::from_secs(10), self.next())
                    .await
                    .map_err(|_| proto_err("the statement did not end within 10 s of its cancel request"))??
            } else {
                match tokio::time::timeout_at(deadline, self.next()).await {
                    Ok(m) => m?,
                    Err(_) => {
                        self.cancel().await?;
                        cancelled = true;
                        outcome.timed_out = true;
                        continue;
                    }
                }
            };
            match msg {
                Message::RowDescription(d) => {
                    let cols = d
                        .fields()
                        .map(|f| Ok(ColumnDesc { name: f.name().to_string(), type_oid: f.type_oid() }))
                        .collect()?;
                    current.columns = Some(cols);
                }
                Message::DataRow(r) => {
                    let buf = r.buffer();
                    let row = r
                        .ranges()
                        .map(|range| {
                            Ok(range.map(|range| {
                                String::from_utf8_lossy(buf.get(range).unwrap_or(&[])).into_owned()
                            }))
                        })
                        .collect()?;
                    current.rows.push(row);
                }
                Message::CommandComplete(c) => {
                    current.tag = c.tag()?.to_string();
                    outcome.results.push(std::mem::replace(
                        &mut current,
                        StatementResult { columns: None, rows: vec![], tag: String::new() },
                    ));
                }
                Message::EmptyQueryResponse => outcome.results.push(std::mem::replace(
                    &mut current,
                    StatementResult { columns: None, rows: vec![], tag: String::new() },
                )),
                Message::ErrorResponse(e) => {
                    let e = server_error(&e)?;
                    if e.severity == "FATAL" || e.severity == "PANIC" {
                        return Err(proto_err(format!(
                            "server ended the session: {} ({})",
                            e.message, e.code
                        )));
                    }
                    outcome.error = Some(e);
                }
                Message::ReadyForQuery(r) => {
                    outcome.status = r.status() as char;
                    return Ok(outcome);
                }
                Message::CopyInResponse(_) => {
                    let mut fail = BytesMut::new();
                    frontend::copy_fail("sqldiff does not send COPY data", &mut fail)?;
                    self.stream.write_all(&fail).await?;
                }
                // Notices, ParameterStatus, notifications and COPY OUT data are not compared.
                _ => {}
            }
        }
    }

    /// Ends the session politely.
    pub async fn close(mut self) {
        let mut out = BytesMut::new();
        frontend::terminate(&mut out);
        let _ = self.stream.write_all(&out).await;
    }
}

fn server_error(
    body: &postgres_protocol::message::backend::ErrorResponseBody,
) -> std::io::Result<ServerError> {
    let mut e = ServerError { severity: String::new(), code: String::new(), message: String::new() };
    let mut fields = body.fields();
    while let Some(f) = fields.next()? {
        let value = || String::from_utf8_lossy(f.value_bytes()).into_owned();
        match f.type_() {
            b'V' => e.severity = value(),
            b'S' if e.severity.is_empty() => e.severity = value(),
            b'C' => e.code = value(),
            b'M' => e.message = value(),
            _ => {}
        }
    }
    Ok(e)
}
