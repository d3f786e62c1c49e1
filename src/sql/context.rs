//! What a statement sees while it runs: its transaction, its database, the cluster, and the
//! session's settings. The session builds an [`ExecContext`] per statement and hands it to the
//! engine ([`crate::sql::engine`]).

use crate::sql::auth::roles::Auth;
use crate::sql::cluster::{Cluster, Database};
use crate::sql::settings::Settings;
use crate::txn::mvcc::{Transaction, WaitOptions};

/// A notice (NoticeResponse) raised by a statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    /// Severity: NOTICE, WARNING, INFO...
    pub severity: String,
    /// SQLSTATE, e.g. `00000` or `42P07`.
    pub code: String,
    /// Message.
    pub message: String,
}

/// Everything one statement may use.
pub struct ExecContext<'a> {
    /// The transaction the statement runs in (implicit or explicit).
    pub txn: &'a mut Transaction,
    /// The session's database.
    pub db: &'a Database,
    /// All databases and sessions.
    pub cluster: &'a Cluster,
    /// The session's settings (`current_setting`, `set_config`).
    pub settings: &'a mut Settings,
    /// The session's backend pid.
    pub pid: i32,
    /// The session's user (`session_user`).
    pub user: &'a str,
    /// Who the statement runs as (`current_user`) and the roles it sees.
    pub auth: Auth,
    /// Cancel flag, statement deadline and lock timeout for waits and long loops.
    pub wait: WaitOptions,
    /// Notices to send before the statement's result.
    pub notices: &'a mut Vec<Notice>,
}
