//! Connections: turning a libpq-style connection string into connections that behave, for the
//! tester's purposes, like libpq's.
//!
//! - [`ConnConfig`] parses `host=... port=... dbname=...` (or a `postgres://` URL) and, when asked,
//!   fills what the string leaves out from libpq's environment variables (`PGHOST`, `PGPORT`,
//!   `PGUSER`, `PGDATABASE`, `PGPASSWORD`, `PGAPPNAME`, `PGOPTIONS`). libpq also sends `PGDATESTYLE`,
//!   `PGTZ` and `PGGEQO` as startup settings; tokio-postgres cannot send arbitrary startup parameters,
//!   so those (and the isolation level, [`ConnConfig::set`]) travel in the startup `options` as
//!   `-c name=value`, which every PostgreSQL server applies the same way.
//! - `Conn` is one open connection whose notices are *not* swallowed: tokio-postgres reports
//!   notices only to whoever drives the connection, so a small driver task forwards each notice (and
//!   NOTIFY) into a channel in the order the server sent it. A notice sent before a query's result
//!   is therefore always in the channel by the time the query's future completes; the runner relies
//!   on that to print notices before the step they belong to, as libpq's notice processor does.
//! - Cancelling works as libpq's `PQcancel`: send a CancelRequest on a new connection to the same
//!   server and *wait until the server closes it*. PostgreSQL signals the backend (and its process
//!   group) from the process that reads the request; returning before that process is done lets a
//!   late signal cancel the session's *next* statement. tokio-postgres's own `cancel_query` does not
//!   wait, so the runner uses its raw variant on a socket it opened and then waits for EOF.
//! - Step SQL runs as one simple query (`spawn_simple_query`) in its own task, so the runner can
//!   poll it (is it done yet?) while it asks the server whether the session is blocked.

use crate::report::{Row, ServerMessage, StatementResult};
use futures_util::StreamExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_postgres::{AsyncMessage, CancelToken, Client, NoTls, SimpleQueryMessage};

/// A connection string plus startup settings, ready to open any number of identical connections.
#[derive(Clone, Debug)]
pub struct ConnConfig {
    /// The parsed connection string (plus environment defaults).
    config: tokio_postgres::Config,
    /// Startup settings sent as `-c name=value` in `options`.
    settings: Vec<(String, String)>,
}

/// Escapes a value for the startup `options` string (the server splits it on whitespace and
/// treats a backslash as an escape).
fn escape_option(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if c == '\\' || c.is_whitespace() {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

impl ConnConfig {
    /// Parses a connection string as is, without consulting the environment.
    pub fn parse(conninfo: &str) -> Result<ConnConfig, String> {
        let config = conninfo
            .parse::<tokio_postgres::Config>()
            .map_err(|e| format!("invalid connection string \"{conninfo}\": {e}"))?;
        Ok(ConnConfig { config, settings: Vec::new() })
    }

    /// Parses a connection string and fills the gaps from libpq's environment variables, read
    /// through `env` (pass `|k| std::env::var(k).ok()` for the process environment).
    pub fn parse_with_env(
        conninfo: &str,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<ConnConfig, String> {
        let mut cc = ConnConfig::parse(conninfo)?;
        let c = &mut cc.config;
        if c.get_hosts().is_empty() {
            match env("PGHOST") {
                Some(hosts) => {
                    for h in hosts.split(',') {
                        c.host(h);
                    }
                }
                None if std::path::Path::new("/var/run/postgresql").is_dir() => {
                    c.host("/var/run/postgresql");
                }
                None => {
                    c.host("localhost");
                }
            }
        }
        if c.get_ports().is_empty() {
            if let Some(p) = env("PGPORT") {
                let port = p.trim().parse::<u16>().map_err(|_| format!("invalid PGPORT \"{p}\""))?;
                c.port(port);
            }
        }
        if c.get_user().is_none() {
            let user = env("PGUSER").or_else(|| env("USER")).or_else(|| env("LOGNAME"));
            c.user(user.unwrap_or_else(|| "postgres".into()));
        }
        if c.get_dbname().is_none() {
            if let Some(db) = env("PGDATABASE") {
                c.dbname(db);
            }
        }
        if c.get_password().is_none() {
            if let Some(pw) = env("PGPASSWORD") {
                c.password(pw);
            }
        }
        if c.get_application_name().is_none() {
            if let Some(app) = env("PGAPPNAME") {
                c.application_name(app);
            }
        }
        if c.get_options().is_none() {
            if let Some(opts) = env("PGOPTIONS") {
                c.options(opts);
            }
        }
        for (var, setting) in [("PGDATESTYLE", "datestyle"), ("PGTZ", "timezone"), ("PGGEQO", "geqo")] {
            if let Some(v) = env(var) {
                if !v.eq_ignore_ascii_case("default") {
                    cc.set(setting, &v);
                }
            }
        }
        Ok(cc)
    }

    /// Adds a setting sent at connection startup (`-c name=value`), e.g. `datestyle` or
    /// `default_transaction_isolation`. A later call for the same name wins.
    pub fn set(&mut self, name: &str, value: &str) {
        self.settings.retain(|(n, _)| n != name);
        self.settings.push((name.to_string(), value.to_string()));
    }

    /// The settings added with [`ConnConfig::set`].
    pub fn settings(&self) -> &[(String, String)] {
        &self.settings
    }

    /// The tokio-postgres configuration with the settings folded into `options`.
    pub fn to_config(&self) -> tokio_postgres::Config {
        let mut config = self.config.clone();
        if !self.settings.is_empty() {
            let mut options = config.get_options().unwrap_or("").to_string();
            for (name, value) in &self.settings {
                if !options.is_empty() {
                    options.push(' ');
                }
                options.push_str(&format!("-c {}={}", name, escape_option(value)));
            }
            config.options(options);
        }
        config
    }
}

/// Where a CancelRequest goes: the first host of the configuration, as libpq's cancel object
/// remembers the address it connected to.
#[derive(Clone, Debug)]
enum CancelTarget {
    /// Host name or address, and port.
    Tcp(String, u16),
    /// Path of the server's Unix socket (`<dir>/.s.PGSQL.<port>`).
    Unix(PathBuf),
}

/// How long to wait for the server to close a cancel connection.
const CANCEL_CLOSE_WAIT: Duration = Duration::from_secs(5);

impl CancelTarget {
    fn of(config: &tokio_postgres::Config) -> Option<CancelTarget> {
        let port = config.get_ports().first().copied().unwrap_or(5432);
        match config.get_hosts().first()? {
            tokio_postgres::config::Host::Tcp(h) => Some(CancelTarget::Tcp(h.clone(), port)),
            tokio_postgres::config::Host::Unix(dir) => {
                Some(CancelTarget::Unix(dir.join(format!(".s.PGSQL.{port}"))))
            }
        }
    }
}

/// Reads until the peer closes the connection (or a timeout), discarding what arrives.
async fn wait_for_close<S: tokio::io::AsyncRead + Unpin>(s: &mut S) {
    let mut buf = [0u8; 64];
    while let Ok(Ok(n)) = tokio::time::timeout(CANCEL_CLOSE_WAIT, s.read(&mut buf)).await {
        if n == 0 {
            break;
        }
    }
}

/// Something the server sent outside any query's result.
#[derive(Debug, Clone)]
pub(crate) enum AsyncMsg {
    /// A NoticeResponse (NOTICE, WARNING, INFO...).
    Notice(ServerMessage),
    /// A NOTIFY delivered to this session.
    Notify {
        /// Backend PID of the notifying session.
        pid: i32,
        /// Channel name.
        channel: String,
        /// Payload.
        payload: String,
    },
}

/// One open connection with its notice channel.
pub(crate) struct Conn {
    /// The client, shared with the task running the current step.
    pub client: Arc<Client>,
    /// Cancels the query running on this connection.
    pub cancel: CancelToken,
    /// Where cancel requests go.
    target: Option<CancelTarget>,
    /// The backend's process id.
    pub pid: i32,
    /// Notices and NOTIFYs, in the order the server sent them.
    rx: mpsc::UnboundedReceiver<AsyncMsg>,
    /// The task driving the connection (aborted on drop).
    driver: JoinHandle<()>,
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.driver.abort();
    }
}

pub(crate) fn server_message(e: &tokio_postgres::error::DbError) -> ServerMessage {
    ServerMessage {
        severity: e.severity().to_string(),
        sqlstate: e.code().code().to_string(),
        message: e.message().to_string(),
        detail: e.detail().map(str::to_string),
        hint: e.hint().map(str::to_string),
    }
}

/// An error's description followed by its causes (tokio-postgres keeps the OS error in `source`).
pub(crate) fn describe(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !s.contains(&text) {
            s.push_str(": ");
            s.push_str(&text);
        }
        cause = c.source();
    }
    s
}

/// Converts a client error into the message libpq would show: the server's fields when it is a
/// server error, otherwise the client's description with no severity.
pub(crate) fn error_message(e: &tokio_postgres::Error) -> ServerMessage {
    match e.as_db_error() {
        Some(db) => server_message(db),
        None => ServerMessage {
            severity: String::new(),
            sqlstate: String::new(),
            message: describe(e),
            detail: None,
            hint: None,
        },
    }
}

impl Conn {
    /// Opens a connection and starts the task that drives it.
    pub async fn open(config: &ConnConfig) -> Result<Conn, tokio_postgres::Error> {
        let pg_config = config.to_config();
        let target = CancelTarget::of(&pg_config);
        let (client, mut connection) = pg_config.connect(NoTls).await?;
        let (tx, rx) = mpsc::unbounded_channel();
        let driver = tokio::spawn(async move {
            let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
            while let Some(msg) = messages.next().await {
                let forwarded = match msg {
                    Ok(AsyncMessage::Notice(n)) => AsyncMsg::Notice(server_message(&n)),
                    Ok(AsyncMessage::Notification(n)) => AsyncMsg::Notify {
                        pid: n.process_id(),
                        channel: n.channel().to_string(),
                        payload: n.payload().to_string(),
                    },
                    Ok(_) => continue,
                    Err(_) => break,
                };
                // The receiver only goes away when the Conn is dropped; nothing to do then.
                let _ = tx.send(forwarded);
            }
        });
        let cancel = client.cancel_token();
        let client = Arc::new(client);
        let pid = match client.query_one("SELECT pg_catalog.pg_backend_pid()", &[]).await {
            Ok(row) => row.try_get::<_, i32>(0),
            Err(e) => Err(e),
        };
        let pid = match pid {
            Ok(pid) => pid,
            Err(e) => {
                driver.abort();
                return Err(e);
            }
        };
        Ok(Conn { client, cancel, target, pid, rx, driver })
    }

    /// Takes every message received so far, without waiting.
    pub fn drain(&mut self) -> Vec<AsyncMsg> {
        let mut out = Vec::new();
        while let Ok(m) = self.rx.try_recv() {
            out.push(m);
        }
        out
    }

    /// Runs SQL as one simple query and waits for all of its results (libpq's `PQexec`, but
    /// keeping every result).
    pub async fn exec(&self, sql: &str) -> Vec<StatementResult> {
        run_simple_query(&self.client, sql).await
    }

    /// Asks the server to cancel whatever this connection is running, and returns once the
    /// server has closed the cancel connection (it has then signalled the backend).
    pub async fn cancel_query(&self) -> Result<(), String> {
        match &self.target {
            Some(CancelTarget::Tcp(host, port)) => {
                let mut s = tokio::net::TcpStream::connect((host.as_str(), *port))
                    .await
                    .map_err(|e| format!("cannot connect to {host}:{port}: {e}"))?;
                self.cancel.cancel_query_raw(&mut s, NoTls).await.map_err(|e| describe(&e))?;
                wait_for_close(&mut s).await;
            }
            #[cfg(unix)]
            Some(CancelTarget::Unix(path)) => {
                let mut s = tokio::net::UnixStream::connect(path)
                    .await
                    .map_err(|e| format!("cannot connect to {}: {e}", path.display()))?;
                self.cancel.cancel_query_raw(&mut s, NoTls).await.map_err(|e| describe(&e))?;
                wait_for_close(&mut s).await;
            }
            #[cfg(not(unix))]
            Some(CancelTarget::Unix(_)) => return Err("Unix sockets are not supported here".into()),
            None => self.cancel.cancel_query(NoTls).await.map_err(|e| describe(&e))?,
        }
        Ok(())
    }
}

/// Runs `sql` as one simple query and collects each statement's result, stopping at the first
/// error (the server skips the rest of the query string).
pub(crate) async fn run_simple_query(client: &Client, sql: &str) -> Vec<StatementResult> {
    let mut results = Vec::new();
    let mut stream = match client.simple_query_raw(sql).await {
        Ok(s) => Box::pin(s),
        Err(e) => {
            results.push(StatementResult::Error(error_message(&e)));
            return results;
        }
    };
    let mut current: Option<(Vec<String>, Vec<Row>)> = None;
    while let Some(msg) = stream.next().await {
        match msg {
            Ok(SimpleQueryMessage::RowDescription(cols)) => {
                current = Some((cols.iter().map(|c| c.name().to_string()).collect(), Vec::new()));
            }
            Ok(SimpleQueryMessage::Row(row)) => {
                let values =
                    (0..row.len()).map(|i| row.try_get(i).ok().flatten().map(str::to_string)).collect();
                match current.as_mut() {
                    Some((_, rows)) => rows.push(values),
                    None => current = Some((Vec::new(), vec![values])),
                }
            }
            Ok(SimpleQueryMessage::CommandComplete(_)) => match current.take() {
                Some((columns, rows)) => results.push(StatementResult::Rows { columns, rows }),
                None => results.push(StatementResult::Command),
            },
            Ok(_) => {}
            Err(e) => {
                results.push(StatementResult::Error(error_message(&e)));
                break;
            }
        }
    }
    results
}

/// Starts `sql` on `client` in its own task; the handle yields the statement results.
pub(crate) fn spawn_simple_query(client: Arc<Client>, sql: String) -> JoinHandle<Vec<StatementResult>> {
    tokio::spawn(async move { run_simple_query(&client, &sql).await })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn settings_travel_in_escaped_options() {
        let mut cc =
            ConnConfig::parse("host=127.0.0.1 port=5 user=u options='-c work_mem=64kB'").expect("parses");
        cc.set("datestyle", "Postgres, MDY");
        cc.set("default_transaction_isolation", "repeatable read");
        assert_eq!(
            cc.to_config().get_options(),
            Some(
                r"-c work_mem=64kB -c datestyle=Postgres,\ MDY -c default_transaction_isolation=repeatable\ read"
            )
        );
        cc.set("datestyle", "ISO");
        assert_eq!(cc.settings().len(), 2);
        assert_eq!(cc.settings()[1], ("datestyle".to_string(), "ISO".to_string()));
    }

    #[test]
    fn environment_fills_only_the_gaps() {
        let env: HashMap<&str, &str> = [
            ("PGHOST", "/tmp/sock"),
            ("PGPORT", "6543"),
            ("PGUSER", "alice"),
            ("PGDATABASE", "db"),
            ("PGDATESTYLE", "Postgres, MDY"),
            ("PGTZ", "default"),
        ]
        .into_iter()
        .collect();
        let get = |k: &str| env.get(k).map(|v| v.to_string());
        let cc = ConnConfig::parse_with_env("port=7777 dbname=x", get).expect("parses");
        let c = cc.to_config();
        assert_eq!(c.get_ports(), &[7777]);
        assert_eq!(c.get_user(), Some("alice"));
        assert_eq!(c.get_dbname(), Some("x"));
        assert_eq!(c.get_hosts().len(), 1);
        assert_eq!(c.get_options(), Some(r"-c datestyle=Postgres,\ MDY"));
        assert!(ConnConfig::parse_with_env("", |k| (k == "PGPORT").then(|| "nope".to_string())).is_err());
    }

    #[test]
    fn bad_connection_strings_are_reported() {
        let err = ConnConfig::parse("host=x bogus_key=1").unwrap_err();
        assert!(err.contains("invalid connection string"), "{err}");
    }
}
