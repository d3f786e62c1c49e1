//! The cluster: every database of one server, and the registry of live sessions.
//!
//! Each database has its own storage engine and [`TxnManager`], so transactions, locks and (later)
//! SSI state are per database, as in PostgreSQL. The session registry answers the cross-session
//! questions: who is blocked by whom, which backend a cancel request names, who is connected to a
//! database that is being dropped.

use crate::error::{Error, ErrorKind, Result};
use crate::storage::memory::Memory;
use crate::storage::Engine;
use crate::txn::mvcc::{CancelFlag, TxnManager};
use parking_lot::RwLock;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI32, AtomicU32, Ordering};
use std::sync::Arc;

/// One database.
pub struct Database {
    /// Its name.
    pub name: String,
    /// Its OID (pg_database.oid).
    pub oid: u32,
    /// Its transactions.
    pub txn: Arc<TxnManager>,
}

/// What the cluster knows of a live session.
#[derive(Clone)]
pub struct SessionInfo {
    /// Backend pid (also `pg_backend_pid()`).
    pub pid: i32,
    /// Cancel key sent in BackendKeyData.
    pub secret: i32,
    /// The database it is connected to.
    pub database: String,
    /// The user it authenticated as.
    pub user: String,
    /// Set to cancel its running statement.
    pub cancel: CancelFlag,
    /// Set to terminate it (DROP DATABASE ... WITH (FORCE), shutdown).
    pub terminate: CancelFlag,
}

/// All databases and sessions of a server.
pub struct Cluster {
    databases: RwLock<BTreeMap<String, Arc<Database>>>,
    sessions: RwLock<BTreeMap<i32, SessionInfo>>,
    next_pid: AtomicI32,
    next_db_oid: AtomicU32,
}

impl Cluster {
    /// A cluster with PostgreSQL's initial databases (`postgres`, `template0`, `template1`), kept in
    /// memory.
    pub fn new_in_memory() -> Result<Arc<Cluster>> {
        let cluster = Arc::new(Cluster {
            databases: RwLock::new(BTreeMap::new()),
            sessions: RwLock::new(BTreeMap::new()),
            next_pid: AtomicI32::new(std::process::id() as i32 % 100_000 * 10 + 1000),
            next_db_oid: AtomicU32::new(16384),
        });
        cluster.add_database("template1", 1)?;
        cluster.add_database("template0", 4)?;
        cluster.add_database("postgres", 5)?;
        Ok(cluster)
    }

    fn add_database(&self, name: &str, oid: u32) -> Result<Arc<Database>> {
        let engine: Arc<dyn Engine> = Arc::new(Memory::new());
        let db = Arc::new(Database { name: name.to_string(), oid, txn: TxnManager::open(engine)? });
        self.databases.write().insert(name.to_string(), db.clone());
        Ok(db)
    }

    /// Looks up a database by name.
    pub fn database(&self, name: &str) -> Option<Arc<Database>> {
        self.databases.read().get(name).cloned()
    }

    /// All databases, by name.
    pub fn databases(&self) -> Vec<Arc<Database>> {
        self.databases.read().values().cloned().collect()
    }

    /// CREATE DATABASE.
    pub fn create_database(&self, name: &str) -> Result<()> {
        if self.database(name).is_some() {
            return Err(Error::new(
                ErrorKind::DuplicateDatabase,
                format!("database \"{name}\" already exists"),
            ));
        }
        let oid = self.next_db_oid.fetch_add(1, Ordering::Relaxed);
        self.add_database(name, oid).map(|_| ())
    }

    /// DROP DATABASE: `current` is the dropping session's database; with `force`, other sessions
    /// connected to it are terminated first.
    pub fn drop_database(&self, name: &str, current: &str, force: bool, if_exists: bool) -> Result<bool> {
        if self.database(name).is_none() {
            if if_exists {
                return Ok(false);
            }
            return Err(Error::new(
                ErrorKind::UndefinedDatabase,
                format!("database \"{name}\" does not exist"),
            ));
        }
        if name == current {
            return Err(Error::new(ErrorKind::ObjectInUse, "cannot drop the currently open database"));
        }
        if name == "template0" || name == "template1" {
            return Err(Error::new(ErrorKind::ObjectInUse, "cannot drop a template database"));
        }
        let others: Vec<SessionInfo> =
            self.sessions.read().values().filter(|s| s.database == name).cloned().collect();
        if !others.is_empty() {
            if !force {
                let n = others.len();
                return Err(Error::new(
                    ErrorKind::ObjectInUse,
                    format!("database \"{name}\" is being accessed by other users"),
                )
                .with_detail(format!(
                    "There {} {n} other session{} using the database.",
                    if n == 1 { "is" } else { "are" },
                    if n == 1 { "" } else { "s" }
                )));
            }
            for s in &others {
                s.terminate.store(true, Ordering::SeqCst);
                s.cancel.store(true, Ordering::SeqCst);
            }
        }
        self.databases.write().remove(name);
        Ok(true)
    }

    /// Registers a new session and returns its pid and cancel secret.
    pub fn register_session(&self, database: &str, user: &str) -> SessionInfo {
        let pid = self.next_pid.fetch_add(1, Ordering::Relaxed);
        let secret =
            (pid as u32).wrapping_mul(2_654_435_761).rotate_left(13) as i32 ^ std::process::id() as i32;
        let info = SessionInfo {
            pid,
            secret,
            database: database.to_string(),
            user: user.to_string(),
            cancel: Default::default(),
            terminate: Default::default(),
        };
        self.sessions.write().insert(pid, info.clone());
        info
    }

    /// Removes a session from the registry.
    pub fn unregister_session(&self, pid: i32) {
        self.sessions.write().remove(&pid);
    }

    /// Live sessions.
    pub fn sessions(&self) -> Vec<SessionInfo> {
        self.sessions.read().values().cloned().collect()
    }

    /// Handles a CancelRequest: sets the cancel flag of the session if the secret matches.
    pub fn cancel(&self, pid: i32, secret: i32) -> bool {
        match self.sessions.read().get(&pid) {
            Some(s) if s.secret == secret => {
                s.cancel.store(true, Ordering::SeqCst);
                true
            }
            _ => false,
        }
    }

    /// Asks every session to terminate (server shutdown).
    pub fn terminate_all(&self) {
        for s in self.sessions.read().values() {
            s.terminate.store(true, Ordering::SeqCst);
            s.cancel.store(true, Ordering::SeqCst);
        }
    }

    /// `pg_isolation_test_session_is_blocked(pid, holders)`: whether `pid` waits on a lock held by
    /// one of `holders`.
    pub fn is_blocked(&self, pid: i32, holders: &[i32]) -> bool {
        let db = match self.sessions.read().get(&pid) {
            Some(s) => s.database.clone(),
            None => return false,
        };
        self.database(&db).is_some_and(|d| d.txn.is_blocked_by(pid, holders))
    }

    /// `pg_blocking_pids(pid)`.
    pub fn blocking_pids(&self, pid: i32) -> Vec<i32> {
        let db = match self.sessions.read().get(&pid) {
            Some(s) => s.database.clone(),
            None => return vec![],
        };
        self.database(&db).map(|d| d.txn.blocking_pids(pid)).unwrap_or_default()
    }
}
