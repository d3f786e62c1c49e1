//! The server: PostgreSQL protocol v3 over TCP, one task per connection.
//!
//! pgwire supplies the message codec only (`pgwire::messages`); the connection loop is ours
//! ([`conn`]), so that ReadyForQuery comes from the session's own transaction state, every
//! frontend message is size-checked before it is allocated, a malformed message gets FATAL 08P01
//! before the connection closes, and statements run on blocking threads with large stacks while
//! the runtime's worker threads keep serving other connections.
//!
//! Shutdown (SIGINT/SIGTERM or [`ServerHandle::shutdown`]): stop accepting, end every session with
//! FATAL 57P01, then return.

pub mod auth;
pub mod conn;
pub mod startup;
pub mod tls;
pub mod wire;

use crate::error::{Error, ErrorKind, Result};
use crate::sql::cluster::Cluster;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// Server configuration.
#[derive(Clone)]
pub struct Config {
    /// Address to listen on.
    pub listen: String,
    /// Largest frontend message accepted, checked before allocation.
    pub max_message_size: usize,
    /// How clients authenticate.
    pub auth: auth::AuthMethod,
    /// TLS, when a certificate and key were given (SSLRequest is then answered `S`).
    pub tls: Option<tls::TlsConfig>,
    /// Refuse connections that did not negotiate TLS (FATAL 28000).
    pub require_tls: bool,
    /// Pause before a failed password authentication is reported.
    pub auth_failure_delay: std::time::Duration,
    /// Time allowed from connect to ReadyForQuery (PostgreSQL's authentication_timeout).
    pub auth_timeout: std::time::Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:5433".into(),
            max_message_size: 256 << 20,
            auth: auth::AuthMethod::Trust,
            tls: None,
            require_tls: false,
            auth_failure_delay: std::time::Duration::from_millis(500),
            auth_timeout: std::time::Duration::from_secs(60),
        }
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("auth", &self.auth)
            .field("tls", &self.tls.is_some())
            .field("require_tls", &self.require_tls)
            .finish()
    }
}

/// Whether `host` (of HOST:PORT) is a loopback address.
pub fn is_loopback(listen: &str) -> bool {
    let host = match listen.rsplit_once(':') {
        Some((h, _)) => h.trim_start_matches('[').trim_end_matches(']'),
        None => listen,
    };
    host == "localhost" || host.parse::<std::net::IpAddr>().map(|ip| ip.is_loopback()).unwrap_or(false)
}

/// Why ssidb will not listen on `listen` with trust authentication.
pub fn trust_refusal(listen: &str) -> String {
    format!(
        "refusing to listen on {listen} with trust authentication: anyone who can reach that address \
         could connect as any role without a password. Use --auth scram (the bootstrap superuser's \
         password from --password-file FILE or SSIDB_PASSWORD), or listen on a loopback address \
         (127.0.0.1, ::1, localhost)"
    )
}

/// A running server.
pub struct ServerHandle {
    /// The bound address (useful with port 0).
    pub addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl ServerHandle {
    /// Asks the server to shut down and waits until every connection has ended.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        let _ = self.task.await;
    }
}

/// Binds `config.listen` and serves `cluster` until shut down.
pub async fn start(config: Config, cluster: Arc<Cluster>) -> Result<ServerHandle> {
    if config.auth == auth::AuthMethod::Trust && !is_loopback(&config.listen) {
        return Err(Error::new(ErrorKind::InvalidParameterValue, trust_refusal(&config.listen)));
    }
    if config.require_tls && config.tls.is_none() {
        return Err(Error::new(
            ErrorKind::InvalidParameterValue,
            "--require-tls needs a certificate and key (--tls-cert FILE --tls-key FILE)",
        ));
    }
    let listener = TcpListener::bind(&config.listen)
        .await
        .map_err(|e| Error::new(ErrorKind::Io, format!("could not listen on {}: {e}", config.listen)))?;
    let addr = listener.local_addr()?;
    let (tx, rx) = watch::channel(false);
    let task = tokio::spawn(accept_loop(listener, config, cluster, rx));
    Ok(ServerHandle { addr, shutdown: tx, task })
}

async fn accept_loop(
    listener: TcpListener,
    config: Config,
    cluster: Arc<Cluster>,
    mut shutdown: watch::Receiver<bool>,
) {
    let config = Arc::new(config);
    let mut conns = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                conns.spawn(conn::serve(stream, cluster.clone(), config.clone(), shutdown.clone()));
            }
            _ = shutdown.changed() => break,
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    drop(listener);
    cluster.terminate_all();
    while conns.join_next().await.is_some() {}
}
