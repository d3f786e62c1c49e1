//! A session: PostgreSQL's transaction rules, settings, prepared statements and portals.
//!
//! The session is the single source of truth for the transaction status the wire reports
//! (ReadyForQuery `I`/`T`/`E`). Its state machine:
//!
//! ```text
//!            BEGIN                       error
//!   Idle ------------> InBlock ------------------> Failed
//!    ^  \               |  ^   ROLLBACK TO SAVEPOINT  |
//!    |   \ statement    |  +--------------------------+
//!    |    v             | COMMIT / ROLLBACK           | COMMIT (answers ROLLBACK) / ROLLBACK
//!    |  Implicit -------+-----------------------------+----> Idle
//!    |    (one simple-query message, or extended-protocol messages up to Sync)
//! ```
//!
//! * A multi-statement simple query is one implicit transaction: it stops at the first error and
//!   rolls everything back (`INSERT ...; SELECT 1/0` leaves no row). BEGIN inside it turns it into
//!   an explicit block.
//! * In a failed block every statement but COMMIT/ROLLBACK/ROLLBACK TO gets 25P02.
//! * The REPEATABLE READ / SERIALIZABLE snapshot is taken by the first statement other than
//!   SET/SHOW/RESET/SAVEPOINT/transaction control, never by BEGIN; SET TRANSACTION after it is
//!   25001.
//! * SET is transactional: rolled back with the block or savepoint; SET LOCAL ends with the block.
//!
//! Statements are run on the calling thread; callers run sessions on threads with large stacks
//! (deep expression trees recurse), see [`STACK_SIZE`].

use crate::error::{Error, ErrorKind, Result};
use crate::sql::cluster::{Cluster, Database, SessionInfo};
use crate::sql::context::{ExecContext, Notice};
use crate::sql::engine::{self, Column, Prepared, QueryResult};
use crate::sql::parser::{self, Parsed, TxnMode, Utility};
use crate::sql::settings::Settings;
use crate::sql::types::{DataType, FormatContext, Value};
use crate::txn::mvcc::{IsolationLevel, SavepointMark, Transaction, WaitOptions};
use sqlparser::ast::{SetExpr, Statement};
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

mod activity;
mod auth;
mod copy;
pub use copy::CopyOutData;

/// Stack size for threads that run statements: expression trees from clients can be deep.
pub const STACK_SIZE: usize = 256 << 20;

/// ReadyForQuery transaction status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxnStatus {
    /// `I`: not in a transaction block.
    Idle,
    /// `T`: in a transaction block.
    InBlock,
    /// `E`: in a failed transaction block.
    Failed,
}

impl TxnStatus {
    /// The status byte ReadyForQuery carries.
    pub fn byte(&self) -> u8 {
        match self {
            TxnStatus::Idle => b'I',
            TxnStatus::InBlock => b'T',
            TxnStatus::Failed => b'E',
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Block {
    /// No transaction.
    None,
    /// An implicit transaction (one message, or until Sync).
    Implicit,
    /// BEGIN ... (not failed).
    Explicit,
    /// A failed explicit block.
    Failed,
}

struct Savepoint {
    name: String,
    mark: SavepointMark,
    settings: Settings,
}

/// A prepared statement (named, or the unnamed one).
#[derive(Clone, Debug)]
pub enum PreparedStatement {
    /// An empty query string.
    Empty,
    /// A session-level statement.
    Utility(Utility),
    /// An engine statement, bound.
    Engine(Box<Prepared>),
}

impl PreparedStatement {
    /// Parameter types.
    pub fn param_types(&self) -> Vec<DataType> {
        match self {
            PreparedStatement::Engine(p) => p.param_types.clone(),
            _ => vec![],
        }
    }

    /// Result columns, if the statement returns rows.
    pub fn columns(&self) -> Option<Vec<Column>> {
        match self {
            PreparedStatement::Engine(p) => p.columns.clone(),
            PreparedStatement::Utility(Utility::Show(name)) => Some(show_columns(name.as_deref())),
            _ => None,
        }
    }
}

/// A bound portal: a statement with parameter values, possibly partly fetched.
pub struct Portal {
    statement: Arc<PreparedStatement>,
    params: Vec<Value>,
    /// Result column formats requested by Bind (0 text, 1 binary).
    pub result_formats: Vec<i16>,
    /// Rows produced but not sent yet, after the first Execute.
    pending: Option<(QueryResult, usize)>,
}

/// The outcome of executing (part of) a portal.
pub struct PortalOutput {
    /// Rows in this batch.
    pub rows: Vec<Vec<Value>>,
    /// CommandComplete tag when the portal finished, `None` when suspended (more rows remain).
    pub tag: Option<String>,
    /// Whether the statement returns rows.
    pub returns_rows: bool,
}

/// One statement's outcome in a simple query.
pub struct StatementOutput {
    /// Its result.
    pub result: QueryResult,
    /// Whether a RowDescription is sent (statement returns rows).
    pub returns_rows: bool,
    /// COPY TO output, sent as CopyOutResponse, CopyData..., CopyDone before the tag.
    pub copy_out: Option<CopyOutData>,
}

/// A client session.
pub struct Session {
    cluster: Arc<Cluster>,
    db: Arc<Database>,
    info: SessionInfo,
    /// The role the session logged in as (`session_user`).
    role: u32,
    settings: Settings,
    block: Block,
    txn: Option<Transaction>,
    /// Settings at the start of the current transaction (restored on rollback).
    settings_at_begin: Option<Settings>,
    savepoints: Vec<Savepoint>,
    /// Whether the current transaction's isolation was fixed by a snapshot-taking statement.
    snapshot_taken: bool,
    statements: HashMap<String, Arc<PreparedStatement>>,
    portals: HashMap<String, Portal>,
    notices: Vec<Notice>,
    /// COPY in progress or COPY TO output ([`copy`]).
    copy: copy::CopyState,
}

impl Session {
    /// Opens a session on `database` for role `user` (authenticated by the caller): the role must
    /// exist and may log in (28000), within its connection limit (53300).
    pub fn new(cluster: Arc<Cluster>, database: &str, user: &str) -> Result<Session> {
        let roles = cluster.roles();
        let role = roles.by_name(user).cloned().ok_or_else(|| {
            Error::new(ErrorKind::InvalidAuthorization, format!("role \"{user}\" does not exist"))
        })?;
        if !role.login {
            return Err(Error::new(
                ErrorKind::InvalidAuthorization,
                format!("role \"{user}\" is not permitted to log in"),
            ));
        }
        let db = cluster.database(database).ok_or_else(|| {
            Error::new(ErrorKind::UndefinedDatabase, format!("database \"{database}\" does not exist"))
        })?;
        if role.connlimit >= 0 && !role.superuser {
            let open = cluster.sessions().iter().filter(|s| s.user == role.name).count();
            if open >= role.connlimit as usize {
                return Err(Error::new(
                    ErrorKind::TooManyConnections,
                    format!("too many connections for role \"{user}\""),
                ));
            }
        }
        let info = cluster.register_session(database, user);
        let mut settings = Settings::default();
        settings.set_internal("session_authorization", user);
        settings.set_internal("is_superuser", if role.superuser { "on" } else { "off" });
        settings.take_changes();
        Ok(Session {
            cluster,
            db,
            info,
            role: role.oid,
            settings,
            block: Block::None,
            txn: None,
            settings_at_begin: None,
            savepoints: Vec::new(),
            snapshot_taken: false,
            statements: HashMap::new(),
            portals: HashMap::new(),
            notices: Vec::new(),
            copy: Default::default(),
        })
    }

    /// Backend pid (BackendKeyData, `pg_backend_pid()`).
    pub fn pid(&self) -> i32 {
        self.info.pid
    }

    /// Cancel secret (BackendKeyData).
    pub fn secret(&self) -> i32 {
        self.info.secret
    }

    /// The session's registry entry (cancel and terminate flags).
    pub fn info(&self) -> &SessionInfo {
        &self.info
    }

    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Applies a start-up setting (startup packet parameters and `options`).
    pub fn startup_setting(&mut self, name: &str, value: &str) -> Result<()> {
        self.settings.set(name, value, false)?;
        self.settings.take_changes();
        Ok(())
    }

    /// Output formatting settings.
    pub fn format_context(&self) -> FormatContext {
        self.settings.format_context()
    }

    /// Every reported setting (sent as ParameterStatus at start-up).
    pub fn reported_settings(&self) -> Vec<(String, String)> {
        self.settings.reported()
    }

    /// Reported settings changed since the last call.
    pub fn take_setting_changes(&mut self) -> Vec<(String, String)> {
        self.settings.take_changes()
    }

    /// Notices raised since the last call.
    pub fn take_notices(&mut self) -> Vec<Notice> {
        std::mem::take(&mut self.notices)
    }

    /// The transaction status for ReadyForQuery.
    pub fn status(&self) -> TxnStatus {
        match self.block {
            Block::None | Block::Implicit => TxnStatus::Idle,
            Block::Explicit => TxnStatus::InBlock,
            Block::Failed => TxnStatus::Failed,
        }
    }

    fn notice(&mut self, severity: &str, code: &str, message: &str) {
        self.notices.push(Notice { severity: severity.into(), code: code.into(), message: message.into() });
    }

    // ---------------------------------------------------------------------------------------
    // Simple query protocol
    // ---------------------------------------------------------------------------------------

    /// Runs a simple-query message: every statement in it, as one implicit transaction unless it
    /// holds transaction control. Returns the outputs of the statements that ran, and the error
    /// that stopped it, if any.
    pub fn execute_simple(&mut self, sql: &str) -> (Vec<StatementOutput>, Option<Error>) {
        self.activity_start(Some(sql.to_string()));
        let mut outputs = Vec::new();
        let parsed = match parser::parse(sql) {
            Ok(p) => p,
            Err(e) => {
                self.fail();
                return (outputs, Some(e));
            }
        };
        let multi = parsed.len() > 1;
        let count = parsed.len();
        for (i, stmt) in parsed.into_iter().enumerate() {
            match self.run_parsed(stmt, multi) {
                // COPY FROM STDIN: the server now streams CopyData; CopyDone ends the message.
                Ok(_) if self.copy_started_by_simple_query() => {
                    if i + 1 < count {
                        let e = Error::new(
                            ErrorKind::FeatureNotSupported,
                            "COPY FROM STDIN must be the last statement of a query string",
                        );
                        let e = self.copy_fail(e);
                        return (outputs, Some(e));
                    }
                    return (outputs, None);
                }
                Ok(out) => outputs.push(out),
                Err(e) => {
                    self.fail();
                    return (outputs, Some(e));
                }
            }
        }
        if let Err(e) = self.end_implicit() {
            return (outputs, Some(e));
        }
        (outputs, None)
    }

    fn run_parsed(&mut self, stmt: Parsed, multi: bool) -> Result<StatementOutput> {
        let prepared = match stmt {
            Parsed::Utility(u) => PreparedStatement::Utility(u),
            Parsed::Statement(s) => {
                self.check_not_failed(&PreparedStatement::Empty)?;
                self.ensure_txn();
                let p = self.with_ctx(false, |ctx| engine::prepare(ctx, &s, &[]))?;
                PreparedStatement::Engine(Box::new(p))
            }
        };
        let result = self.run_statement(&prepared, &[], multi)?;
        let returns_rows = result.columns.is_some();
        Ok(StatementOutput { result, returns_rows, copy_out: self.take_copy_out() })
    }

    /// Marks the transaction failed after an error. As in PostgreSQL the failed (sub)transaction
    /// is aborted at once, releasing its locks: inside a savepoint, everything after the innermost
    /// savepoint is undone (ROLLBACK TO SAVEPOINT can resume from there); without one, the whole
    /// transaction is rolled back and the block waits for ROLLBACK. An implicit transaction is
    /// simply rolled back.
    fn fail(&mut self) {
        match self.block {
            Block::Explicit | Block::Failed => {
                match self.savepoints.last() {
                    Some(sp) => {
                        let mark = sp.mark;
                        if let Some(t) = self.txn.as_mut() {
                            t.rollback_to(mark);
                        }
                    }
                    None => {
                        if let Some(t) = self.txn.take() {
                            t.rollback();
                        }
                    }
                }
                self.block = Block::Failed;
            }
            Block::Implicit | Block::None => self.finish_txn(false),
        }
        self.portals.clear();
    }

    /// Commits an implicit transaction at the end of a message or at Sync.
    fn end_implicit(&mut self) -> Result<()> {
        if self.block == Block::Implicit {
            let r = self.commit_txn();
            self.finish_txn(r.is_ok());
            r?;
        }
        Ok(())
    }

    fn check_not_failed(&self, stmt: &PreparedStatement) -> Result<()> {
        if self.block != Block::Failed {
            return Ok(());
        }
        match stmt {
            PreparedStatement::Utility(Utility::Commit | Utility::Rollback | Utility::RollbackTo(_)) => {
                Ok(())
            }
            _ => Err(Error::new(
                ErrorKind::InFailedSqlTransaction,
                "current transaction is aborted, commands ignored until end of transaction block",
            )),
        }
    }

    /// Starts an implicit transaction if none is running.
    fn ensure_txn(&mut self) {
        if self.txn.is_some() {
            return;
        }
        let level =
            IsolationLevel::parse(&self.settings.get("default_transaction_isolation").unwrap_or_default())
                .unwrap_or(IsolationLevel::ReadCommitted);
        let read_only = self.settings.get("default_transaction_read_only").unwrap_or_default() == "on";
        let deferrable = self.settings.get("default_transaction_deferrable").unwrap_or_default();
        let mut txn = self.db.txn.begin(self.info.pid, level, read_only);
        txn.set_deferrable(deferrable == "on");
        self.txn = Some(txn);
        self.settings.set_internal("transaction_isolation", level.as_str());
        self.settings.set_internal("transaction_read_only", if read_only { "on" } else { "off" });
        self.settings.set_internal("transaction_deferrable", &deferrable);
        self.settings_at_begin = Some(self.settings.clone());
        self.snapshot_taken = false;
        if self.block == Block::None {
            self.block = Block::Implicit;
        }
    }

    fn commit_txn(&mut self) -> Result<()> {
        let sync = self.settings.get("synchronous_commit").map(|v| v != "off").unwrap_or(true);
        match self.txn.take() {
            Some(mut t) => {
                t.set_synchronous_commit(sync);
                t.commit()
            }
            None => Ok(()),
        }
    }

    /// Ends the transaction: `committed` keeps the settings, otherwise they are restored.
    fn finish_txn(&mut self, committed: bool) {
        if let Some(t) = self.txn.take() {
            t.rollback();
        }
        if !committed {
            if let Some(s) = self.settings_at_begin.take() {
                self.settings.restore(&s);
            }
        }
        self.settings.end_transaction_locals();
        self.settings_at_begin = None;
        self.savepoints.clear();
        self.block = Block::None;
        self.snapshot_taken = false;
        for name in ["transaction_isolation", "transaction_read_only", "transaction_deferrable"] {
            let default = self.settings.get(&format!("default_{name}")).unwrap_or_default();
            self.settings.set_internal(name, &default);
        }
    }

    fn wait_options(&self) -> WaitOptions {
        let timeout = self.settings.millis("statement_timeout");
        let lock = self.settings.millis("lock_timeout");
        WaitOptions {
            cancel: Some(self.info.cancel.clone()),
            lock_timeout: (lock > 0).then(|| Duration::from_millis(lock)),
            deadline: (timeout > 0).then(|| Instant::now() + Duration::from_millis(timeout)),
            deadlock_timeout: Duration::from_millis(self.settings.millis("deadlock_timeout").max(1)),
            nowait_error: None,
        }
    }

    fn with_ctx<T>(&mut self, _write: bool, f: impl FnOnce(&mut ExecContext) -> Result<T>) -> Result<T> {
        let wait = self.wait_options();
        let auth = self.auth();
        let txn = self.txn.as_mut().expect("a transaction is running (ensure_txn)");
        let mut ctx = ExecContext {
            txn,
            db: &self.db,
            cluster: &self.cluster,
            settings: &mut self.settings,
            pid: self.info.pid,
            user: &self.info.user,
            auth,
            wait,
            notices: &mut self.notices,
        };
        f(&mut ctx)
    }

    /// Runs a portal's statement, reporting it to `pg_stat_activity` first.
    fn run_portal_statement(&mut self, stmt: &PreparedStatement, params: &[Value]) -> Result<QueryResult> {
        if let PreparedStatement::Engine(p) = stmt {
            self.activity_start(Some(p.statement.to_string()));
        }
        self.run_statement(stmt, params, false)
    }

    /// Runs one prepared statement with parameter values (shared by both protocols).
    fn run_statement(
        &mut self,
        stmt: &PreparedStatement,
        params: &[Value],
        multi: bool,
    ) -> Result<QueryResult> {
        self.check_not_failed(stmt)?;
        self.info.cancel.store(false, Ordering::SeqCst);
        match stmt {
            PreparedStatement::Empty => Ok(QueryResult::command("")),
            PreparedStatement::Utility(u) => self.run_utility(u, multi),
            PreparedStatement::Engine(p) => {
                self.ensure_txn();
                let writes = statement_writes(&p.statement);
                let wait = self.wait_options();
                let txn = self.txn.as_mut().expect("ensure_txn started one");
                if writes {
                    if txn.read_only() {
                        return Err(Error::new(
                            ErrorKind::ReadOnlySqlTransaction,
                            format!(
                                "cannot execute {} in a read-only transaction",
                                statement_name(&p.statement)
                            ),
                        ));
                    }
                    if is_ddl(&p.statement) {
                        txn.acquire_ddl(&wait)?;
                    } else {
                        txn.acquire_writer(&wait)?;
                    }
                }
                txn.set_wait_options(wait);
                txn.begin_statement()?;
                self.snapshot_taken = true;
                self.with_ctx(writes, |ctx| engine::execute(ctx, p, params))
            }
        }
    }

    fn apply_modes(&mut self, modes: &[TxnMode]) -> Result<()> {
        for m in modes {
            match m {
                TxnMode::Isolation(level) => {
                    if self.snapshot_taken {
                        return Err(Error::new(
                            ErrorKind::ActiveSqlTransaction,
                            "SET TRANSACTION ISOLATION LEVEL must be called before any query",
                        ));
                    }
                    if let Some(t) = self.txn.as_mut() {
                        t.set_isolation(*level);
                    }
                    self.settings.set_internal("transaction_isolation", level.as_str());
                }
                TxnMode::ReadOnly(ro) => {
                    if let Some(t) = self.txn.as_mut() {
                        if !*ro && t.read_only() && self.snapshot_taken {
                            return Err(Error::new(
                                ErrorKind::ActiveSqlTransaction,
                                "transaction read-write mode must be set before any query",
                            ));
                        }
                        t.set_read_only(*ro);
                    }
                    self.settings.set_internal("transaction_read_only", if *ro { "on" } else { "off" });
                }
                TxnMode::Deferrable(d) => {
                    if let Some(t) = self.txn.as_mut() {
                        t.set_deferrable(*d);
                    }
                    self.settings.set_internal("transaction_deferrable", if *d { "on" } else { "off" });
                }
            }
        }
        Ok(())
    }

    fn run_utility(&mut self, u: &Utility, multi: bool) -> Result<QueryResult> {
        match u {
            Utility::Begin(modes) => {
                match self.block {
                    Block::Explicit | Block::Failed => {
                        self.notice("WARNING", "25001", "there is already a transaction in progress");
                    }
                    Block::Implicit | Block::None => {
                        self.ensure_txn();
                        self.block = Block::Explicit;
                    }
                }
                self.apply_modes(modes)?;
                Ok(QueryResult::command("BEGIN"))
            }
            Utility::Commit => match self.block {
                Block::Explicit => {
                    let r = self.commit_txn();
                    self.finish_txn(r.is_ok());
                    r.map(|_| QueryResult::command("COMMIT"))
                }
                Block::Failed => {
                    self.finish_txn(false);
                    Ok(QueryResult::command("ROLLBACK"))
                }
                Block::Implicit | Block::None => {
                    self.notice("WARNING", "25P01", "there is no transaction in progress");
                    let r = self.commit_txn();
                    self.finish_txn(r.is_ok());
                    r.map(|_| QueryResult::command("COMMIT"))
                }
            },
            Utility::Rollback => {
                if matches!(self.block, Block::Implicit | Block::None) {
                    self.notice("WARNING", "25P01", "there is no transaction in progress");
                }
                self.finish_txn(false);
                Ok(QueryResult::command("ROLLBACK"))
            }
            Utility::Savepoint(name) => {
                self.require_block("SAVEPOINT")?;
                let mark = self.txn.as_ref().map(|t| t.savepoint()).expect("a block has a transaction");
                self.savepoints.push(Savepoint { name: name.clone(), mark, settings: self.settings.clone() });
                Ok(QueryResult::command("SAVEPOINT"))
            }
            Utility::Release(name) => {
                self.require_block("RELEASE SAVEPOINT")?;
                let idx = self.find_savepoint(name)?;
                self.savepoints.truncate(idx);
                Ok(QueryResult::command("RELEASE"))
            }
            Utility::RollbackTo(name) => {
                if !matches!(self.block, Block::Explicit | Block::Failed) {
                    return Err(Error::new(
                        ErrorKind::NoActiveSqlTransaction,
                        "ROLLBACK TO SAVEPOINT can only be used in transaction blocks",
                    ));
                }
                let idx = self.find_savepoint(name)?;
                self.block = Block::Explicit;
                let sp = &self.savepoints[idx];
                let (mark, settings) = (sp.mark, sp.settings.clone());
                if let Some(t) = self.txn.as_mut() {
                    t.rollback_to(mark);
                }
                self.settings.restore(&settings);
                self.savepoints.truncate(idx + 1);
                Ok(QueryResult::command("ROLLBACK"))
            }
            Utility::SetTransaction(modes) => {
                if !matches!(self.block, Block::Explicit) {
                    self.notice("WARNING", "25P01", "SET TRANSACTION can only be used in transaction blocks");
                    return Ok(QueryResult::command("SET"));
                }
                self.apply_modes(modes)?;
                Ok(QueryResult::command("SET"))
            }
            Utility::SetSessionCharacteristics(modes) => {
                for m in modes {
                    match m {
                        TxnMode::Isolation(l) => {
                            self.settings.set("default_transaction_isolation", l.as_str(), false)?
                        }
                        TxnMode::ReadOnly(r) => self.settings.set(
                            "default_transaction_read_only",
                            if *r { "on" } else { "off" },
                            false,
                        )?,
                        TxnMode::Deferrable(d) => self.settings.set(
                            "default_transaction_deferrable",
                            if *d { "on" } else { "off" },
                            false,
                        )?,
                    }
                }
                Ok(QueryResult::command("SET"))
            }
            Utility::Set { name, value, local } => {
                let lname = name.to_ascii_lowercase();
                if lname == "transaction_isolation" || lname == "transaction_read_only" {
                    let v = value.clone().unwrap_or_default();
                    let mode = if lname == "transaction_isolation" {
                        TxnMode::Isolation(IsolationLevel::parse(&v).ok_or_else(|| {
                            Error::new(
                                ErrorKind::InvalidParameterValue,
                                format!("invalid value for parameter \"transaction_isolation\": \"{v}\""),
                            )
                        })?)
                    } else {
                        TxnMode::ReadOnly(matches!(
                            v.to_ascii_lowercase().as_str(),
                            "on" | "true" | "1" | "yes"
                        ))
                    };
                    return self.run_utility(&Utility::SetTransaction(vec![mode]), multi);
                }
                let value = match value {
                    Some(v) if lname == "role" => Some(self.check_set_role(v)?),
                    v => v.clone(),
                };
                self.track_settings_for_rollback();
                if *local && !matches!(self.block, Block::Explicit) {
                    self.notice("WARNING", "25P01", "SET LOCAL can only be used in transaction blocks");
                }
                match value {
                    Some(v) => self.settings.set(name, &v, *local)?,
                    None => self.settings.reset(name)?,
                }
                self.refresh_is_superuser();
                Ok(QueryResult::command("SET"))
            }
            Utility::Reset(name) => {
                self.track_settings_for_rollback();
                match name {
                    Some(n) => self.settings.reset(n)?,
                    None => self.settings.reset_all(),
                }
                self.refresh_is_superuser();
                Ok(QueryResult::command("RESET"))
            }
            Utility::Show(name) => {
                let rows = match name {
                    None => self
                        .settings
                        .all()
                        .into_iter()
                        .map(|(n, v, d)| vec![Value::Text(n), Value::Text(v), Value::Text(d)])
                        .collect(),
                    Some(n) => vec![vec![Value::Text(self.settings.get(n)?)]],
                };
                Ok(QueryResult {
                    command: "SHOW".into(),
                    rows_affected: None,
                    columns: Some(show_columns(name.as_deref())),
                    rows,
                })
            }
            Utility::Deallocate(name) => {
                match name {
                    None => self.statements.retain(|k, _| k.is_empty()),
                    Some(n) => {
                        if self.statements.remove(n).is_none() {
                            return Err(Error::new(
                                ErrorKind::InvalidSqlStatementName,
                                format!("prepared statement \"{n}\" does not exist"),
                            ));
                        }
                    }
                }
                Ok(QueryResult::command(if name.is_none() { "DEALLOCATE ALL" } else { "DEALLOCATE" }))
            }
            Utility::DiscardAll => {
                if matches!(self.block, Block::Explicit | Block::Failed) {
                    return Err(Error::new(
                        ErrorKind::ActiveSqlTransaction,
                        "DISCARD ALL cannot run inside a transaction block",
                    ));
                }
                self.statements.clear();
                self.portals.clear();
                self.settings.reset_all();
                Ok(QueryResult::command("DISCARD ALL"))
            }
            Utility::CreateDatabase(name) => {
                self.outside_block("CREATE DATABASE", multi)?;
                let auth = self.auth();
                if !auth.superuser() && !auth.roles.by_oid(auth.current).is_some_and(|r| r.createdb) {
                    return Err(Error::new(
                        ErrorKind::InsufficientPrivilege,
                        "permission denied to create database",
                    ));
                }
                self.cluster.create_database(name)?;
                Ok(QueryResult::command("CREATE DATABASE"))
            }
            Utility::DropDatabase { name, if_exists, force } => {
                self.outside_block("DROP DATABASE", multi)?;
                // Every database is owned by the bootstrap superuser.
                if !self.auth().superuser() && self.cluster.database(name).is_some() {
                    return Err(crate::sql::auth::must_be_owner("database", name));
                }
                if !self.cluster.drop_database(name, &self.db.name, *force, *if_exists)? {
                    self.notice("NOTICE", "00000", &format!("database \"{name}\" does not exist, skipping"));
                }
                Ok(QueryResult::command("DROP DATABASE"))
            }
            Utility::Vacuum { .. } => {
                self.outside_block("VACUUM", multi)?;
                // The implicit transaction of this message must not pin the watermark.
                if let Some(t) = self.txn.take() {
                    t.rollback();
                }
                self.db.txn.vacuum()?;
                Ok(QueryResult::command("VACUUM"))
            }
            Utility::Analyze(_) => Ok(QueryResult::command("ANALYZE")),
            Utility::Checkpoint => {
                if !self.auth().superuser() {
                    return Err(Error::new(
                        ErrorKind::InsufficientPrivilege,
                        "must be superuser or have privileges of pg_checkpoint to do CHECKPOINT",
                    ));
                }
                Ok(QueryResult::command("CHECKPOINT"))
            }
            Utility::Copy(c) => self.start_copy(c),
            Utility::Auth(a) => self.run_auth(a, multi),
        }
    }

    /// Makes sure a rollback can restore settings changed outside any transaction's snapshot.
    fn track_settings_for_rollback(&mut self) {
        if self.block == Block::None {
            // A lone SET is its own implicit transaction.
            self.ensure_txn();
        }
    }

    fn require_block(&self, what: &str) -> Result<()> {
        if matches!(self.block, Block::Explicit | Block::Failed) {
            Ok(())
        } else {
            Err(Error::new(
                ErrorKind::NoActiveSqlTransaction,
                format!("{what} can only be used in transaction blocks"),
            ))
        }
    }

    fn outside_block(&self, what: &str, multi: bool) -> Result<()> {
        if matches!(self.block, Block::Explicit | Block::Failed) || multi {
            return Err(Error::new(
                ErrorKind::ActiveSqlTransaction,
                format!("{what} cannot run inside a transaction block"),
            ));
        }
        Ok(())
    }

    fn find_savepoint(&self, name: &str) -> Result<usize> {
        self.savepoints.iter().rposition(|s| s.name == name).ok_or_else(|| {
            Error::new(ErrorKind::InvalidSavepoint, format!("savepoint \"{name}\" does not exist"))
        })
    }

    // ---------------------------------------------------------------------------------------
    // Extended query protocol
    // ---------------------------------------------------------------------------------------

    /// Parse: prepares `sql` as statement `name` ("" = unnamed) with the client's parameter type
    /// OIDs (0 = unspecified).
    pub fn parse_statement(&mut self, name: &str, sql: &str, param_oids: &[u32]) -> Result<()> {
        if !name.is_empty() && self.statements.contains_key(name) {
            return Err(Error::new(
                ErrorKind::DuplicatePreparedStatement,
                format!("prepared statement \"{name}\" already exists"),
            ));
        }
        let mut parsed = parser::parse(sql)?;
        if parsed.len() > 1 {
            return Err(Error::new(
                ErrorKind::Syntax,
                "cannot insert multiple commands into a prepared statement",
            ));
        }
        let hints: Vec<DataType> =
            param_oids.iter().map(|&o| DataType::from_oid(o).unwrap_or(DataType::Unknown)).collect();
        let stmt = match parsed.pop() {
            None => PreparedStatement::Empty,
            Some(Parsed::Utility(u)) => PreparedStatement::Utility(u),
            Some(Parsed::Statement(s)) => {
                self.check_not_failed(&PreparedStatement::Empty)?;
                self.ensure_txn();
                let p = self.with_ctx(false, |ctx| engine::prepare(ctx, &s, &hints))?;
                PreparedStatement::Engine(Box::new(p))
            }
        };
        self.statements.insert(name.to_string(), Arc::new(stmt));
        Ok(())
    }

    /// Describe statement: parameter types and result columns.
    pub fn describe_statement(&self, name: &str) -> Result<(Vec<DataType>, Option<Vec<Column>>)> {
        let s = self.statement(name)?;
        Ok((s.param_types(), s.columns()))
    }

    fn statement(&self, name: &str) -> Result<Arc<PreparedStatement>> {
        self.statements.get(name).cloned().ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidSqlStatementName,
                format!("prepared statement \"{name}\" does not exist"),
            )
        })
    }

    /// Bind: creates portal `portal` from statement `statement` with raw parameter values.
    pub fn bind(
        &mut self,
        portal: &str,
        statement: &str,
        param_formats: &[i16],
        params: &[Option<Vec<u8>>],
        result_formats: &[i16],
    ) -> Result<()> {
        let stmt = self.statement(statement)?;
        let types = stmt.param_types();
        if params.len() != types.len() {
            return Err(Error::new(
                ErrorKind::ProtocolViolation,
                format!(
                    "bind message supplies {} parameters, but prepared statement \"{}\" requires {}",
                    params.len(),
                    statement,
                    types.len()
                ),
            ));
        }
        let fmt = self.format_context();
        let mut values = Vec::with_capacity(params.len());
        for (i, (raw, ty)) in params.iter().zip(&types).enumerate() {
            let format = match param_formats.len() {
                0 => 0,
                1 => param_formats[0],
                _ => *param_formats.get(i).unwrap_or(&0),
            };
            let v = match raw {
                None => Value::Null,
                Some(bytes) if format == 1 => Value::from_binary(bytes, ty)?,
                Some(bytes) => {
                    let text = std::str::from_utf8(bytes).map_err(|_| {
                        Error::new(
                            ErrorKind::InvalidTextRepresentation,
                            "invalid byte sequence for encoding \"UTF8\"",
                        )
                    })?;
                    Value::from_text(text, ty, &fmt)?
                }
            };
            values.push(v);
        }
        self.portals.insert(
            portal.to_string(),
            Portal {
                statement: stmt,
                params: values,
                result_formats: result_formats.to_vec(),
                pending: None,
            },
        );
        Ok(())
    }

    /// Describe portal: its result columns and requested formats.
    pub fn describe_portal(&self, name: &str) -> Result<(Option<Vec<Column>>, Vec<i16>)> {
        let p = self.portal(name)?;
        Ok((p.statement.columns(), p.result_formats.clone()))
    }

    fn portal(&self, name: &str) -> Result<&Portal> {
        self.portals.get(name).ok_or_else(|| {
            Error::new(ErrorKind::InvalidCursorName, format!("portal \"{name}\" does not exist"))
        })
    }

    /// Execute: runs the portal (first call) and returns up to `max_rows` rows (0 = all).
    pub fn execute_portal(&mut self, name: &str, max_rows: usize) -> Result<PortalOutput> {
        let (stmt, params, pending) = {
            let p = self.portals.get_mut(name).ok_or_else(|| {
                Error::new(ErrorKind::InvalidCursorName, format!("portal \"{name}\" does not exist"))
            })?;
            (p.statement.clone(), std::mem::take(&mut p.params), p.pending.take())
        };
        let (result, offset) = match pending {
            Some(p) => p,
            None => match self.run_portal_statement(&stmt, &params) {
                Ok(r) => (r, 0),
                Err(e) => {
                    self.fail();
                    return Err(e);
                }
            },
        };
        let returns_rows = result.columns.is_some();
        let total = result.rows.len();
        let end = if max_rows == 0 { total } else { (offset + max_rows).min(total) };
        let rows = result.rows[offset..end].to_vec();
        if end < total {
            if let Some(p) = self.portals.get_mut(name) {
                p.pending = Some((result, end));
            }
            return Ok(PortalOutput { rows, tag: None, returns_rows });
        }
        Ok(PortalOutput { rows, tag: Some(result.tag()), returns_rows })
    }

    /// Records an error raised while processing extended-protocol messages: the transaction
    /// fails as for any other error.
    pub fn extended_error(&mut self) {
        self.fail();
    }

    /// Sync: ends an implicit transaction.
    pub fn sync(&mut self) -> Result<()> {
        self.portals.retain(|k, _| !k.is_empty());
        let r = self.end_implicit();
        if r.is_err() {
            self.fail();
        }
        r
    }

    /// Close statement.
    pub fn close_statement(&mut self, name: &str) {
        self.statements.remove(name);
    }

    /// Close portal.
    pub fn close_portal(&mut self, name: &str) {
        self.portals.remove(name);
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if let Some(t) = self.txn.take() {
            t.rollback();
        }
        self.cluster.unregister_session(self.info.pid);
    }
}

fn show_columns(name: Option<&str>) -> Vec<Column> {
    let col =
        |n: &str| Column { name: n.to_string(), data_type: DataType::Text, table_oid: 0, column_number: 0 };
    match name {
        None => vec![col("name"), col("setting"), col("description")],
        Some(n) => vec![col(&n.to_ascii_lowercase())],
    }
}

/// Whether a statement writes (and so takes the writer lock before its snapshot).
pub fn statement_writes(stmt: &Statement) -> bool {
    match stmt {
        Statement::Query(q) => {
            !q.locks.is_empty()
                || matches!(
                    *q.body,
                    SetExpr::Insert(_) | SetExpr::Update(_) | SetExpr::Delete(_) | SetExpr::Merge(_)
                )
        }
        Statement::Explain { .. } | Statement::ExplainTable { .. } | Statement::ShowVariable { .. } => false,
        Statement::Copy { to, .. } => !to,
        Statement::Prepare { .. } | Statement::Execute { .. } | Statement::Declare { .. } => false,
        Statement::Fetch { .. } | Statement::Close { .. } => false,
        _ => true,
    }
}

/// Whether a writing statement changes the schema (and so takes the database lock exclusively).
pub fn is_ddl(stmt: &Statement) -> bool {
    !matches!(
        stmt,
        Statement::Query(_)
            | Statement::Insert(_)
            | Statement::Update { .. }
            | Statement::Delete(_)
            | Statement::Copy { .. }
            | Statement::Merge { .. }
    )
}

fn statement_name(stmt: &Statement) -> &'static str {
    match stmt {
        Statement::Insert(_) => "INSERT",
        Statement::Update { .. } => "UPDATE",
        Statement::Delete(_) => "DELETE",
        Statement::Query(_) => "SELECT FOR UPDATE",
        Statement::Truncate { .. } => "TRUNCATE TABLE",
        Statement::CreateTable(_) => "CREATE TABLE",
        Statement::CreateIndex(_) => "CREATE INDEX",
        Statement::Drop { .. } => "DROP",
        Statement::Copy { .. } => "COPY FROM",
        _ => "this statement",
    }
}
