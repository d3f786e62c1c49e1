//! The cluster: every database of one server, and the registry of live sessions.
//!
//! Each database has its own storage engine and [`TxnManager`], so transactions, locks and (later)
//! SSI state are per database, as in PostgreSQL. The session registry answers the cross-session
//! questions: who is blocked by whom, which backend a cancel request names, who is connected to a
//! database that is being dropped.

use crate::encoding::keycode;
use crate::error::{Error, ErrorKind, Result};
use crate::sql::auth::roles::{Role, Roles, FIRST_ROLE_OID};
use crate::storage::btree::Config as StoreConfig;
use crate::storage::logged::{Logged, DEFAULT_CHECKPOINT_WAL_BYTES};
use crate::storage::memory::Memory;
use crate::storage::prefixed::Prefixed;
use crate::storage::{Direction, Engine, WriteBatch};
use crate::txn::mvcc::{CancelFlag, TxnManager};
use parking_lot::RwLock;
use std::collections::BTreeMap;
use std::ops::Bound;
use std::path::PathBuf;
use std::sync::atomic::{AtomicI32, AtomicU32, Ordering};
use std::sync::Arc;

/// Where the cluster keeps its data.
#[derive(Clone, Debug, Default)]
pub struct StorageConfig {
    /// Data directory; `None` keeps everything in memory.
    pub data_dir: Option<PathBuf>,
    /// Buffer pool size in bytes (0 = the store's default).
    pub buffer_pool_bytes: u64,
    /// Log volume that triggers a checkpoint (0 = the default, 64 MB).
    pub checkpoint_wal_bytes: u64,
    /// Time between checkpoints (`None` = by log volume only).
    pub checkpoint_interval: Option<std::time::Duration>,
    /// SSI budget per database: transactions plus SIREAD locks tracked at once (0 = the default,
    /// [`crate::txn::ssi::DEFAULT_BUDGET`]).
    pub ssi_max_locks: usize,
}

/// Key spaces of the shared store:
///
/// | prefix | content |
/// |--------|---------|
/// | `0x00 'd'` bytes(name) | database catalog: name -> OID (u32 big-endian) |
/// | `0x00 'r'` u64(oid) | a role ([`crate::sql::auth::roles`]'s record) |
/// | `0x00 'o'` | the next role OID (u32 big-endian) |
/// | `0x01` u32(oid) ... | the keys of database `oid` (its MVCC key spaces) |
///
/// Cluster catalog writes are not transactional: CREATE DATABASE and role statements refuse to run
/// inside a transaction block and are durable when they return.
const CLUSTER_CATALOG: &[u8] = &[0x00, b'd'];
const ROLE_CATALOG: &[u8] = &[0x00, b'r'];
const ROLE_OID_COUNTER: &[u8] = &[0x00, b'o'];
const DATABASE_SPACE: u8 = 0x01;

fn database_prefix(oid: u32) -> Vec<u8> {
    let mut p = vec![DATABASE_SPACE];
    keycode::put_u64(&mut p, oid as u64);
    p
}

fn catalog_key(name: &str) -> Vec<u8> {
    let mut k = CLUSTER_CATALOG.to_vec();
    keycode::put_bytes(&mut k, name.as_bytes());
    k
}

/// The roles stored in `engine`.
fn stored_roles(engine: &dyn Engine) -> Result<Vec<Role>> {
    let end = keycode::prefix_end(ROLE_CATALOG);
    let rows = engine.scan_chunk(
        Bound::Included(ROLE_CATALOG),
        end.as_deref().map_or(Bound::Unbounded, Bound::Excluded),
        Direction::Forward,
        usize::MAX,
    )?;
    rows.iter().map(|(_, v)| Role::decode(v)).collect()
}

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
    /// What it is doing, for `pg_stat_activity` (the session updates it).
    pub activity: Arc<parking_lot::Mutex<Activity>>,
}

/// A session's current activity, as `pg_stat_activity` shows it.
#[derive(Clone, Debug, Default)]
pub struct Activity {
    /// `idle`, `active`, `idle in transaction`, `idle in transaction (aborted)`.
    pub state: String,
    /// The running (or last) statement's text.
    pub query: String,
    /// The `application_name` setting.
    pub application_name: String,
    /// The transaction id, when a transaction is open.
    pub xid: Option<u64>,
    /// Wait event type and name while blocked (`Lock`, `transactionid`).
    pub wait_event: Option<(String, String)>,
}

fn role_key(oid: u32) -> Vec<u8> {
    let mut k = ROLE_CATALOG.to_vec();
    keycode::put_u64(&mut k, oid as u64);
    k
}

/// All databases and sessions of a server.
pub struct Cluster {
    engine: Arc<dyn Engine>,
    /// Every role (replaced whole on each change, so statements share snapshots).
    roles: RwLock<Arc<Roles>>,
    /// Serializes role changes (read, check, write, publish).
    role_writer: parking_lot::Mutex<()>,
    /// Holds the data directory's lock file open (and locked) while the cluster lives.
    _dir_lock: Option<std::fs::File>,
    databases: RwLock<BTreeMap<String, Arc<Database>>>,
    sessions: RwLock<BTreeMap<i32, SessionInfo>>,
    next_pid: AtomicI32,
    next_db_oid: AtomicU32,
    ssi_budget: usize,
}

impl Cluster {
    /// A cluster with PostgreSQL's initial databases (`postgres`, `template0`, `template1`), kept in
    /// memory.
    pub fn new_in_memory() -> Result<Arc<Cluster>> {
        Self::open(&StorageConfig::default())
    }

    /// Opens (or creates) the cluster described by `config`.
    pub fn open(config: &StorageConfig) -> Result<Arc<Cluster>> {
        let (engine, dir_lock): (Arc<dyn Engine>, _) = match &config.data_dir {
            None => (Arc::new(Memory::new()), None),
            Some(dir) => {
                std::fs::create_dir_all(dir)?;
                let lock = std::fs::OpenOptions::new()
                    .create(true)
                    .truncate(false)
                    .write(true)
                    .open(dir.join("ssidb.lock"))?;
                if lock.try_lock().is_err() {
                    return Err(Error::new(
                        ErrorKind::ObjectInUse,
                        format!("data directory \"{}\" is in use by another ssidb server", dir.display()),
                    ));
                }
                let mut store_config = StoreConfig::default();
                if config.buffer_pool_bytes > 0 {
                    store_config.buffer_pool_bytes = config.buffer_pool_bytes;
                }
                let logged = Arc::new(Logged::open_dir(dir, store_config)?);
                let every = match config.checkpoint_wal_bytes {
                    0 => DEFAULT_CHECKPOINT_WAL_BYTES,
                    n => n,
                };
                logged.start_checkpointer(every, config.checkpoint_interval);
                (logged, Some(lock))
            }
        };
        Self::with_engine(engine, dir_lock, config.ssi_max_locks)
    }

    /// A cluster on a given engine (tests: fault injection, crash disks).
    pub fn open_engine(engine: Arc<dyn Engine>) -> Result<Arc<Cluster>> {
        Self::with_engine(engine, None, 0)
    }

    fn with_engine(
        engine: Arc<dyn Engine>,
        dir_lock: Option<std::fs::File>,
        ssi_max_locks: usize,
    ) -> Result<Arc<Cluster>> {
        let cluster = Arc::new(Cluster {
            roles: RwLock::new(Arc::new(Roles::new(stored_roles(engine.as_ref())?))),
            role_writer: parking_lot::Mutex::new(()),
            engine,
            _dir_lock: dir_lock,
            databases: RwLock::new(BTreeMap::new()),
            sessions: RwLock::new(BTreeMap::new()),
            next_pid: AtomicI32::new(std::process::id() as i32 % 100_000 * 10 + 1000),
            next_db_oid: AtomicU32::new(16384),
            ssi_budget: match ssi_max_locks {
                0 => crate::txn::ssi::DEFAULT_BUDGET,
                n => n,
            },
        });
        let existing = cluster.stored_databases()?;
        if existing.is_empty() {
            for (name, oid) in [("template1", 1), ("template0", 4), ("postgres", 5)] {
                cluster.add_database(name, oid, true)?;
            }
        } else {
            for (name, oid) in existing {
                cluster.add_database(&name, oid, false)?;
                cluster.next_db_oid.fetch_max(oid + 1, Ordering::Relaxed);
            }
        }
        Ok(cluster)
    }

    /// The current role snapshot.
    pub fn roles(&self) -> Arc<Roles> {
        self.roles.read().clone()
    }

    /// Changes the roles: `f` gets the stored roles and a fresh-OID allocator and returns the
    /// roles to write (created or changed) and the OIDs to delete; the change is durable and
    /// published when this returns. Role statements run one at a time.
    pub fn change_roles<T>(
        &self,
        f: impl FnOnce(&Roles, &mut dyn FnMut() -> Result<u32>) -> Result<(Vec<Role>, Vec<u32>, T)>,
    ) -> Result<T> {
        let _writer = self.role_writer.lock();
        let current = self.roles();
        let mut batch = WriteBatch::new();
        let mut next_oid = || -> Result<u32> {
            let stored = match self.engine.get(ROLE_OID_COUNTER)? {
                Some(b) => u32::from_be_bytes(
                    b.as_slice()
                        .try_into()
                        .map_err(|_| Error::new(ErrorKind::Corrupt, "malformed role OID counter"))?,
                ),
                None => FIRST_ROLE_OID,
            };
            let oid =
                stored.max(current.all().iter().map(|r| r.oid + 1).max().unwrap_or(0)).max(FIRST_ROLE_OID);
            // The counter is written at once: a role OID is never handed out twice, even if
            // the statement fails after this.
            let mut b = WriteBatch::new();
            b.put(ROLE_OID_COUNTER.to_vec(), (oid + 1).to_be_bytes().to_vec());
            self.engine.write(b)?;
            Ok(oid)
        };
        let (put, delete, out) = f(&current, &mut next_oid)?;
        if put.is_empty() && delete.is_empty() {
            return Ok(out);
        }
        let mut stored = current.stored();
        for r in &put {
            batch.put(role_key(r.oid), r.encode());
            match stored.iter_mut().find(|s| s.oid == r.oid) {
                Some(s) => *s = r.clone(),
                None => stored.push(r.clone()),
            }
        }
        for oid in &delete {
            batch.delete(role_key(*oid));
            stored.retain(|s| s.oid != *oid);
        }
        let lsn = self.engine.write(batch)?;
        self.engine.wait_durable(lsn)?;
        *self.roles.write() = Arc::new(Roles::new(stored));
        Ok(out)
    }

    /// Sets the bootstrap superuser's password (`--password-file`, `SSIDB_PASSWORD`): stored as a
    /// new verifier unless the stored one already matches it.
    pub fn set_bootstrap_password(&self, password: &str) -> Result<()> {
        use crate::sql::auth::roles::BOOTSTRAP_SUPERUSER;
        use crate::sql::auth::scram::Verifier;
        self.change_roles(|roles, _| {
            let mut role = roles.by_oid(BOOTSTRAP_SUPERUSER).cloned().unwrap_or_else(Role::bootstrap);
            let current = role.verifier.as_deref().and_then(Verifier::parse);
            if current.is_some_and(|v| v.matches(password)) {
                return Ok((vec![], vec![], ()));
            }
            role.verifier = Some(Verifier::new(password)?.to_text());
            Ok((vec![role], vec![], ()))
        })
    }

    fn stored_databases(&self) -> Result<Vec<(String, u32)>> {
        let end = keycode::prefix_end(CLUSTER_CATALOG);
        let rows = self.engine.scan_chunk(
            Bound::Included(CLUSTER_CATALOG),
            end.as_deref().map_or(Bound::Unbounded, Bound::Excluded),
            Direction::Forward,
            usize::MAX,
        )?;
        let mut out = Vec::new();
        for (k, v) in rows {
            let mut r = keycode::Reader::new(&k[CLUSTER_CATALOG.len()..]);
            let name = String::from_utf8(r.bytes()?)
                .map_err(|_| Error::new(ErrorKind::Corrupt, "database name is not UTF-8"))?;
            let oid: [u8; 4] = v
                .as_slice()
                .try_into()
                .map_err(|_| Error::new(ErrorKind::Corrupt, "malformed database OID"))?;
            out.push((name, u32::from_be_bytes(oid)));
        }
        Ok(out)
    }

    fn add_database(&self, name: &str, oid: u32, persist: bool) -> Result<Arc<Database>> {
        if persist {
            let mut batch = WriteBatch::new();
            batch.put(catalog_key(name), oid.to_be_bytes().to_vec());
            let lsn = self.engine.write(batch)?;
            self.engine.wait_durable(lsn)?;
        }
        let view: Arc<dyn Engine> = Arc::new(Prefixed::new(self.engine.clone(), database_prefix(oid)));
        let db = Arc::new(Database { name: name.to_string(), oid, txn: TxnManager::open(view)? });
        db.txn.ssi().set_budget(self.ssi_budget);
        db.txn.ssi().set_key_describer(Arc::new(|k: &[u8]| crate::sql::catalog::keys::describe_key(k)));
        self.databases.write().insert(name.to_string(), db.clone());
        Ok(db)
    }

    /// Vacuums every database (the background sweep).
    pub fn vacuum_all(&self) -> Result<u64> {
        let mut removed = 0;
        for db in self.databases() {
            removed += db.txn.vacuum()?.removed;
        }
        Ok(removed)
    }

    /// Makes everything committed so far durable (checkpoint of the shared store).
    pub fn checkpoint(&self) -> Result<()> {
        self.engine.checkpoint()
    }

    /// Counters of the shared store (pages, buffer pool, log).
    pub fn storage_counters(&self) -> Vec<(&'static str, u64)> {
        self.engine.counters()
    }

    /// Status of the shared store.
    pub fn storage_status(&self) -> Result<crate::storage::Status> {
        self.engine.status()
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
        self.add_database(name, oid, true).map(|_| ())
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
        if let Some(db) = self.databases.write().remove(name) {
            let mut batch = WriteBatch::new();
            batch.delete(catalog_key(name));
            self.engine.write(batch)?;
            Prefixed::new(self.engine.clone(), database_prefix(db.oid)).clear()?;
        }
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
            activity: Arc::new(parking_lot::Mutex::new(Activity {
                state: "idle".into(),
                ..Default::default()
            })),
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
