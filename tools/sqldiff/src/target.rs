//! A server under test: its name, its connection string, and the per-file database lifecycle
//! (`CREATE DATABASE` before a file, `DROP DATABASE ... WITH (FORCE)` after it, both from an admin
//! connection to `postgres`).

use crate::raw::Endpoint;
use std::str::FromStr;

/// Which kind of server a target is; decides its extra sqllogictest labels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// ssidb (gets the `ssidb` label).
    Ssidb,
    /// PostgreSQL (the reference).
    Postgres,
}

/// One server.
#[derive(Clone, Debug)]
pub struct Target {
    /// Display name: `ssidb` or `postgres`.
    pub name: String,
    /// Its kind.
    pub kind: Kind,
    config: tokio_postgres::Config,
    /// Host, port and user, for the raw client.
    pub endpoint: Endpoint,
}

impl Target {
    /// Parses a libpq-style connection string (`host=127.0.0.1 port=5433`); the user defaults to
    /// `postgres`.
    pub fn parse(kind: Kind, conn: &str) -> Result<Target, String> {
        let mut config = tokio_postgres::Config::from_str(conn)
            .map_err(|e| format!("bad connection string {conn:?}: {e}"))?;
        if config.get_user().is_none() {
            config.user("postgres");
        }
        let host = match config.get_hosts().first() {
            Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
            None => "127.0.0.1".to_string(),
            #[allow(unreachable_patterns)]
            Some(_) => return Err(format!("{conn:?}: only TCP hosts are supported")),
        };
        if config.get_hosts().is_empty() {
            config.host(&host);
        }
        let port = config.get_ports().first().copied().unwrap_or(5432);
        let user = config.get_user().unwrap_or("postgres").to_string();
        let name = match kind {
            Kind::Ssidb => "ssidb",
            Kind::Postgres => "postgres",
        };
        Ok(Target { name: name.into(), kind, config, endpoint: Endpoint { host, port, user } })
    }

    /// Labels this server carries besides the runner's own.
    pub fn extra_labels(&self) -> Vec<String> {
        match self.kind {
            Kind::Ssidb => vec!["ssidb".into()],
            Kind::Postgres => vec![],
        }
    }

    /// Connects with tokio-postgres to `database`; the connection task runs in the background.
    pub async fn connect(&self, database: &str) -> Result<tokio_postgres::Client, String> {
        let mut config = self.config.clone();
        config.dbname(database);
        config.connect_timeout(std::time::Duration::from_secs(10));
        let (client, conn) = config
            .connect(tokio_postgres::NoTls)
            .await
            .map_err(|e| format!("{}: cannot connect to database {database}: {e}", self.name))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(client)
    }

    /// Creates `database` (dropping a leftover of the same name first).
    pub async fn create_database(&self, database: &str) -> Result<(), String> {
        let admin = self.connect("postgres").await?;
        let _ = admin.simple_query(&format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)")).await;
        admin
            .simple_query(&format!("CREATE DATABASE {database}"))
            .await
            .map_err(|e| format!("{}: CREATE DATABASE {database}: {}", self.name, describe(&e)))?;
        Ok(())
    }

    /// Drops `database`, ending any session still in it.
    pub async fn drop_database(&self, database: &str) -> Result<(), String> {
        let admin = self.connect("postgres").await?;
        admin
            .simple_query(&format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"))
            .await
            .map_err(|e| format!("{}: DROP DATABASE {database}: {}", self.name, describe(&e)))?;
        Ok(())
    }
}

/// An error with its SQLSTATE when the server sent one.
pub fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => e.to_string(),
    }
}
