//! One client connection: startup, then the simple and extended query protocols.
//!
//! Statements run in `spawn_blocking` with the session moved in and back, so waits and long
//! queries never pin a runtime worker. Output is buffered and flushed at ReadyForQuery, Flush, or
//! when it grows large. After an error in the extended protocol, messages are skipped until Sync,
//! as PostgreSQL does.

use super::auth::{self, AuthMethod};
use super::startup::{self, FirstPacket};
use super::wire::{self, put};
use super::Config;
use crate::error::{Error, ErrorKind, Result};
use crate::sql::cluster::Cluster;
use crate::sql::session::Session;
use bytes::BytesMut;
use pgwire::messages::copy::{CopyData, CopyDone, CopyInResponse, CopyOutResponse};
use pgwire::messages::data::{NoData, ParameterDescription};
use pgwire::messages::extendedquery::{BindComplete, CloseComplete, ParseComplete, PortalSuspended};
use pgwire::messages::response::{CommandComplete, EmptyQueryResponse, ReadyForQuery, TransactionStatus};
use pgwire::messages::startup::{Authentication, BackendKeyData, ParameterStatus, SecretKey};
use pgwire::messages::{PgWireBackendMessage as B, PgWireFrontendMessage as F};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::watch;

/// Output is flushed once it exceeds this many bytes.
const FLUSH_AT: usize = 64 << 10;

/// A client socket, plain or TLS.
pub trait Stream: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Stream for T {}

type Reader = BufReader<tokio::io::ReadHalf<Box<dyn Stream>>>;
type Writer = tokio::io::WriteHalf<Box<dyn Stream>>;

/// One connection's socket halves and output buffer.
pub struct Conn {
    /// The read half until the session starts (then its reader task owns it).
    reader: Option<Reader>,
    writer: Writer,
    out: BytesMut,
    config: Arc<Config>,
    /// The last COPY FROM STDIN ended with an error (the extended protocol then skips to Sync).
    copy_failed: bool,
}

impl Conn {
    async fn flush(&mut self) -> Result<()> {
        if !self.out.is_empty() {
            self.writer.write_all(&self.out).await?;
            self.out.clear();
        }
        self.writer.flush().await?;
        Ok(())
    }

    async fn fatal(&mut self, e: &Error) {
        put(&mut self.out, B::ErrorResponse(wire::error_response(e, "FATAL")));
        let _ = self.flush().await;
    }

    async fn maybe_flush(&mut self) -> Result<()> {
        if self.out.len() >= FLUSH_AT {
            self.flush().await?;
        }
        Ok(())
    }

    /// Sends one message at once (authentication).
    pub(super) async fn send(&mut self, msg: B) -> Result<()> {
        put(&mut self.out, msg);
        self.flush().await
    }

    /// The read half, during startup and authentication.
    pub(super) fn reader_mut(&mut self) -> &mut Reader {
        self.reader.as_mut().expect("authentication runs before the reader task takes the socket")
    }
}

/// Writes a FATAL error straight to a socket (before the connection has halves).
async fn fatal_on<S: AsyncWrite + Unpin>(stream: &mut S, e: &Error) {
    let mut out = BytesMut::new();
    put(&mut out, B::ErrorResponse(wire::error_response(e, "FATAL")));
    let _ = stream.write_all(&out).await;
    let _ = stream.flush().await;
}

/// Serves one connection until it ends.
pub async fn serve(
    stream: TcpStream,
    cluster: Arc<Cluster>,
    config: Arc<Config>,
    shutdown: watch::Receiver<bool>,
) {
    let peer = stream.peer_addr().ok();
    // Startup and authentication are bounded in time, as PostgreSQL's authentication_timeout.
    let opened = tokio::time::timeout(config.auth_timeout, open(stream, &cluster, &config, peer)).await;
    let (mut conn, session) = match opened {
        Ok(Some(c)) => c,
        Ok(None) | Err(_) => return,
    };
    // Messages are read by their own task and handed over a channel: a read in progress is never
    // dropped halfway by the loop's other wake-ups (cancel-safety of the protocol stream).
    let reader = conn.reader.take();
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    let max = conn.config.max_message_size;
    let reader_task = reader.map(|mut r| {
        tokio::spawn(async move {
            loop {
                let m = wire::read_message(&mut r, max).await;
                let stop = !matches!(m, Ok(Some(_)));
                if tx.send(m).await.is_err() || stop {
                    break;
                }
            }
        })
    });
    if let Err(e) = run(&mut conn, session, shutdown, rx).await {
        conn.fatal(&e).await;
    }
    if let Some(t) = reader_task {
        t.abort();
    }
}

/// SSL negotiation, cancel requests, startup and authentication; returns the connection and its
/// session once ReadyForQuery is sent, `None` when the connection ended (with a FATAL sent, if
/// one was due).
async fn open(
    stream: TcpStream,
    cluster: &Arc<Cluster>,
    config: &Arc<Config>,
    peer: Option<std::net::SocketAddr>,
) -> Option<(Conn, Session)> {
    let mut stream: Box<dyn Stream> = Box::new(stream);
    let mut tls = false;
    // First packets are read unbuffered (exact lengths): nothing the client sends before the TLS
    // handshake can be mistaken for data that came through it.
    let startup = loop {
        let packet = match wire::read_startup_packet(&mut stream).await {
            Ok(Some(p)) => p,
            Ok(None) => return None,
            Err(e) => {
                fatal_on(&mut stream, &e).await;
                return None;
            }
        };
        match startup::decode_first(packet) {
            Ok(FirstPacket::Ssl) => match &config.tls {
                Some(tls_config) if !tls => {
                    if stream.write_all(b"S").await.is_err() || stream.flush().await.is_err() {
                        return None;
                    }
                    let acceptor = tokio_rustls::TlsAcceptor::from(tls_config.clone());
                    match acceptor.accept(stream).await {
                        Ok(s) => stream = Box::new(s),
                        Err(_) => return None,
                    }
                    tls = true;
                }
                _ => {
                    if stream.write_all(b"N").await.is_err() {
                        return None;
                    }
                }
            },
            Ok(FirstPacket::GssEnc) => {
                if stream.write_all(b"N").await.is_err() {
                    return None;
                }
            }
            Ok(FirstPacket::Cancel(pid, secret)) => {
                cluster.cancel(pid, secret);
                return None;
            }
            Ok(FirstPacket::Startup(s)) => break s,
            Err(e) => {
                fatal_on(&mut stream, &e).await;
                return None;
            }
        }
    };
    let (r, w) = tokio::io::split(stream);
    let mut conn = Conn {
        reader: Some(BufReader::new(r)),
        writer: w,
        out: BytesMut::new(),
        config: config.clone(),
        copy_failed: false,
    };
    match authenticate(&mut conn, cluster, &startup, tls, peer).await {
        Ok(true) => {}
        Ok(false) => return None,
        Err(e) => {
            if e.kind == ErrorKind::InvalidPassword {
                tokio::time::sleep(config.auth_failure_delay).await;
            }
            conn.fatal(&e).await;
            return None;
        }
    }
    match start_session(&mut conn, cluster, &startup).await {
        Ok(s) => Some((conn, s)),
        Err(e) => {
            conn.fatal(&e).await;
            None
        }
    }
}

/// Decides whether the client may connect (as `pg_hba.conf` and the authentication method would):
/// `Ok(false)` when it hung up during the exchange.
async fn authenticate(
    conn: &mut Conn,
    cluster: &Arc<Cluster>,
    s: &startup::Startup,
    tls: bool,
    peer: Option<std::net::SocketAddr>,
) -> Result<bool> {
    if conn.config.require_tls && !tls {
        let host = peer.map(|p| p.ip().to_string()).unwrap_or_default();
        return Err(Error::new(
            ErrorKind::InvalidAuthorization,
            format!(
                "no pg_hba.conf entry for host \"{host}\", user \"{}\", database \"{}\", no encryption",
                s.user, s.database
            ),
        ));
    }
    match conn.config.auth {
        AuthMethod::Trust => Ok(true),
        AuthMethod::Scram => auth::scram(conn, cluster, &s.user).await,
    }
}

/// Opens the session and sends AuthenticationOk, the reported settings, BackendKeyData and
/// ReadyForQuery.
async fn start_session(conn: &mut Conn, cluster: &Arc<Cluster>, s: &startup::Startup) -> Result<Session> {
    let mut session = Session::new(cluster.clone(), &s.database, &s.user)?;
    for (name, value) in &s.settings {
        session.startup_setting(name, value)?;
    }
    put(&mut conn.out, B::Authentication(Authentication::Ok));
    for (name, value) in session.reported_settings() {
        put(&mut conn.out, B::ParameterStatus(ParameterStatus::new(name, value)));
    }
    put(
        &mut conn.out,
        B::BackendKeyData(BackendKeyData::new(session.pid(), SecretKey::I32(session.secret()))),
    );
    ready(conn, &session);
    conn.flush().await?;
    Ok(session)
}

fn ready(conn: &mut Conn, session: &Session) {
    session.activity_ready();
    let status = match session.status().byte() {
        b'T' => TransactionStatus::Transaction,
        b'E' => TransactionStatus::Error,
        _ => TransactionStatus::Idle,
    };
    put(&mut conn.out, B::ReadyForQuery(ReadyForQuery::new(status)));
}

fn send_error(conn: &mut Conn, e: &Error) {
    put(&mut conn.out, B::ErrorResponse(wire::error_response(e, "ERROR")));
}

fn send_changes_and_notices(conn: &mut Conn, session: &mut Session) {
    for n in session.take_notices() {
        put(&mut conn.out, B::NoticeResponse(wire::notice_response(&n)));
    }
    for (name, value) in session.take_setting_changes() {
        put(&mut conn.out, B::ParameterStatus(ParameterStatus::new(name, value)));
    }
}

/// Runs `f` on the session in a blocking thread and hands the session back.
async fn blocking<T: Send + 'static>(
    session: Session,
    f: impl FnOnce(&mut Session) -> T + Send + 'static,
) -> Result<(Session, T)> {
    tokio::task::spawn_blocking(move || {
        let mut s = session;
        let out = f(&mut s);
        (s, out)
    })
    .await
    .map_err(|e| Error::new(ErrorKind::Internal, format!("statement execution failed: {e}")))
}

fn terminated(session: &Session) -> bool {
    session.info().terminate.load(Ordering::SeqCst)
}

fn admin_shutdown() -> Error {
    Error::new(ErrorKind::AdminShutdown, "terminating connection due to administrator command")
}

fn idle_in_transaction_timeout() -> Error {
    Error::new(
        ErrorKind::IdleInTransactionSessionTimeout,
        "terminating connection due to idle-in-transaction timeout",
    )
}

async fn run(
    conn: &mut Conn,
    mut session: Session,
    mut shutdown: watch::Receiver<bool>,
    mut messages: tokio::sync::mpsc::Receiver<Result<Option<F>>>,
) -> Result<()> {
    // After an error in the extended protocol, skip messages until Sync.
    let mut skipping = false;
    let mut ticker = tokio::time::interval(std::time::Duration::from_millis(100));
    let mut idle_since = tokio::time::Instant::now();
    let mut processed = true;
    loop {
        if processed {
            // Idle time counts from the end of the last message's processing.
            idle_since = tokio::time::Instant::now();
            processed = false;
        }
        let idle_limit = match session.status() {
            crate::sql::session::TxnStatus::Idle => 0,
            _ => session.settings().millis("idle_in_transaction_session_timeout"),
        };
        let msg = tokio::select! {
            m = messages.recv() => match m {
                Some(m) => m?,
                None => return Ok(()),
            },
            _ = shutdown.changed() => return Err(admin_shutdown()),
            _ = ticker.tick() => {
                if terminated(&session) {
                    return Err(admin_shutdown());
                }
                if idle_limit > 0 && idle_since.elapsed() >= std::time::Duration::from_millis(idle_limit) {
                    return Err(idle_in_transaction_timeout());
                }
                continue;
            }
        };
        processed = true;
        let Some(msg) = msg else { return Ok(()) };
        if skipping && !matches!(msg, F::Sync(_) | F::Terminate(_)) {
            continue;
        }
        match msg {
            F::Query(q) => {
                let (s, (outputs, error)) = blocking(session, move |s| s.execute_simple(&q.query)).await?;
                session = s;
                let fmt = session.format_context();
                if outputs.is_empty() && error.is_none() && !session.in_copy() {
                    put(&mut conn.out, B::EmptyQueryResponse(EmptyQueryResponse::new()));
                }
                send_changes_and_notices(conn, &mut session);
                for o in outputs {
                    if let Some(data) = o.copy_out {
                        send_copy_out(conn, data).await?;
                    }
                    if let Some(cols) = &o.result.columns {
                        put(&mut conn.out, B::RowDescription(wire::row_description(cols, &[])));
                        for row in &o.result.rows {
                            put(&mut conn.out, B::DataRow(wire::data_row(row, cols, &[], &fmt)?));
                            conn.maybe_flush().await?;
                        }
                    }
                    put(&mut conn.out, B::CommandComplete(CommandComplete::new(o.result.tag())));
                }
                if let Some(e) = error {
                    if terminated(&session) {
                        return Err(admin_shutdown());
                    }
                    send_error(conn, &e);
                }
                if session.in_copy() {
                    session = copy_in(conn, session, &mut messages).await?;
                    send_changes_and_notices(conn, &mut session);
                }
                ready(conn, &session);
                conn.flush().await?;
            }
            F::Parse(p) => {
                let name = p.name.clone().unwrap_or_default();
                let (s, r) =
                    blocking(session, move |s| s.parse_statement(&name, &p.query, &p.type_oids)).await?;
                session = s;
                match r {
                    Ok(()) => put(&mut conn.out, B::ParseComplete(ParseComplete::new())),
                    Err(e) => {
                        session.extended_error();
                        send_error(conn, &e);
                        skipping = true;
                    }
                }
            }
            F::Bind(b) => {
                let params: Vec<Option<Vec<u8>>> =
                    b.parameters.iter().map(|p| p.as_ref().map(|v| v.to_vec())).collect();
                let r = session.bind(
                    b.portal_name.as_deref().unwrap_or(""),
                    b.statement_name.as_deref().unwrap_or(""),
                    &b.parameter_format_codes,
                    &params,
                    &b.result_column_format_codes,
                );
                match r {
                    Ok(()) => put(&mut conn.out, B::BindComplete(BindComplete::new())),
                    Err(e) => {
                        session.extended_error();
                        send_error(conn, &e);
                        skipping = true;
                    }
                }
            }
            F::Describe(d) => {
                let name = d.name.clone().unwrap_or_default();
                let r = if d.target_type == b'S' {
                    session.describe_statement(&name).map(|(params, cols)| {
                        let oids = params.iter().map(|t| t.oid()).collect();
                        put(&mut conn.out, B::ParameterDescription(ParameterDescription::new(oids)));
                        (cols, vec![])
                    })
                } else {
                    session.describe_portal(&name)
                };
                match r {
                    Ok((Some(cols), formats)) => {
                        put(&mut conn.out, B::RowDescription(wire::row_description(&cols, &formats)))
                    }
                    Ok((None, _)) => put(&mut conn.out, B::NoData(NoData::new())),
                    Err(e) => {
                        session.extended_error();
                        send_error(conn, &e);
                        skipping = true;
                    }
                }
            }
            F::Execute(e) => {
                let name = e.name.clone().unwrap_or_default();
                let max_rows = e.max_rows.max(0) as usize;
                let formats = session.describe_portal(&name);
                let (s, r) = blocking(session, move |s| s.execute_portal(&name, max_rows)).await?;
                session = s;
                send_changes_and_notices(conn, &mut session);
                if session.in_copy() {
                    // COPY FROM STDIN via Execute: errors skip to Sync like any Execute error.
                    session = copy_in(conn, session, &mut messages).await?;
                    skipping = std::mem::take(&mut conn.copy_failed);
                    continue;
                }
                if let Some(data) = session.take_copy_out() {
                    send_copy_out(conn, data).await?;
                }
                match (r, formats) {
                    (Ok(out), Ok((cols, formats))) => {
                        let fmt = session.format_context();
                        let cols = cols.unwrap_or_default();
                        for row in &out.rows {
                            put(&mut conn.out, B::DataRow(wire::data_row(row, &cols, &formats, &fmt)?));
                            conn.maybe_flush().await?;
                        }
                        match out.tag {
                            Some(t) if t.is_empty() => {
                                put(&mut conn.out, B::EmptyQueryResponse(EmptyQueryResponse::new()))
                            }
                            Some(t) => put(&mut conn.out, B::CommandComplete(CommandComplete::new(t))),
                            None => put(&mut conn.out, B::PortalSuspended(PortalSuspended::new())),
                        }
                    }
                    (Err(e), _) | (_, Err(e)) => {
                        if terminated(&session) {
                            return Err(admin_shutdown());
                        }
                        send_error(conn, &e);
                        skipping = true;
                    }
                }
            }
            F::Sync(_) => {
                skipping = false;
                let (s, r) = blocking(session, |s| s.sync()).await?;
                session = s;
                if let Err(e) = r {
                    send_error(conn, &e);
                }
                send_changes_and_notices(conn, &mut session);
                ready(conn, &session);
                conn.flush().await?;
            }
            F::Flush(_) => conn.flush().await?,
            F::Close(c) => {
                let name = c.name.clone().unwrap_or_default();
                if c.target_type == b'S' {
                    session.close_statement(&name);
                } else {
                    session.close_portal(&name);
                }
                put(&mut conn.out, B::CloseComplete(CloseComplete::new()));
            }
            F::Terminate(_) => return Ok(()),
            F::CopyData(_) | F::CopyDone(_) | F::CopyFail(_) => {
                // Outside COPY, PostgreSQL ignores stray copy messages; so do we.
            }
            _ => {
                return Err(Error::new(ErrorKind::ProtocolViolation, "unexpected message during a session"));
            }
        }
    }
}

// -------------------------------------------------------------------------------------------
// COPY sub-protocol
// -------------------------------------------------------------------------------------------

/// CopyData is handed to the session in batches of about this many bytes (one blocking call
/// per batch, not per message: pgbench and psql send one message per line).
const COPY_BATCH: usize = 1 << 20;

/// Sends COPY TO output: CopyOutResponse, one CopyData per line, CopyDone.
async fn send_copy_out(conn: &mut Conn, data: crate::sql::session::CopyOutData) -> Result<()> {
    let columns = i16::try_from(data.columns).unwrap_or(i16::MAX);
    put(&mut conn.out, B::CopyOutResponse(CopyOutResponse::new(0, columns, vec![0; columns as usize])));
    for line in data.lines {
        put(&mut conn.out, B::CopyData(CopyData::new(line.into())));
        conn.maybe_flush().await?;
    }
    put(&mut conn.out, B::CopyDone(CopyDone::new()));
    Ok(())
}

/// Runs COPY FROM STDIN once the session has started it: CopyInResponse, then CopyData until
/// CopyDone (CommandComplete) or CopyFail (ErrorResponse). Flush and Sync are ignored during
/// COPY, as PostgreSQL does (clients send them without noticing the statement was COPY); any
/// other message fails the COPY with 08P01.
async fn copy_in(
    conn: &mut Conn,
    mut session: Session,
    messages: &mut tokio::sync::mpsc::Receiver<Result<Option<F>>>,
) -> Result<Session> {
    let columns = i16::try_from(session.copy_in_columns().unwrap_or(0)).unwrap_or(i16::MAX);
    put(&mut conn.out, B::CopyInResponse(CopyInResponse::new(0, columns, vec![0; columns as usize])));
    conn.flush().await?;
    let mut batch: Vec<u8> = Vec::new();
    loop {
        let Some(msg) = messages.recv().await.transpose()?.flatten() else {
            return Err(Error::new(
                ErrorKind::ProtocolViolation,
                "unexpected EOF on client connection with an open transaction",
            ));
        };
        match msg {
            F::CopyData(d) => {
                batch.extend_from_slice(&d.data);
                if batch.len() >= COPY_BATCH {
                    let chunk = std::mem::take(&mut batch);
                    let (s, ()) = blocking(session, move |s| s.copy_data(&chunk)).await?;
                    session = s;
                }
            }
            F::CopyDone(_) => {
                let chunk = std::mem::take(&mut batch);
                let (s, r) = blocking(session, move |s| {
                    s.copy_data(&chunk);
                    s.copy_done()
                })
                .await?;
                session = s;
                match r {
                    Ok(result) => {
                        put(&mut conn.out, B::CommandComplete(CommandComplete::new(result.tag())));
                        conn.copy_failed = false;
                    }
                    Err(e) => {
                        send_error(conn, &e);
                        conn.copy_failed = true;
                    }
                }
                return Ok(session);
            }
            F::CopyFail(f) => {
                let e =
                    Error::new(ErrorKind::QueryCanceled, format!("COPY from stdin failed: {}", f.message));
                let e = session.copy_fail(e);
                send_error(conn, &e);
                conn.copy_failed = true;
                return Ok(session);
            }
            F::Flush(_) | F::Sync(_) => {}
            _ => {
                let e = Error::new(
                    ErrorKind::ProtocolViolation,
                    "unexpected message type during COPY from stdin",
                );
                let e = session.copy_fail(e);
                send_error(conn, &e);
                conn.copy_failed = true;
                return Ok(session);
            }
        }
    }
}
