//! What `pg_stat_activity` shows of this session: its state (`active`, `idle`, `idle in
//! transaction`, `idle in transaction (aborted)`), the current or last query, its
//! application_name and transaction. The session writes its [`Activity`] into the cluster's
//! registry entry at statement start and when it becomes ready for the next query; readers take
//! a copy under the entry's mutex.

use super::{Session, TxnStatus};
use crate::sql::cluster::Activity;

impl Session {
    /// A statement (simple query text, or a prepared statement's text) starts running.
    pub(super) fn activity_start(&self, query: Option<String>) {
        let app = self.settings.get("application_name").unwrap_or_default();
        let xid = self.txn.as_ref().map(|t| t.id());
        let mut a = self.info.activity.lock();
        a.state = "active".into();
        if let Some(q) = query {
            a.query = q;
        }
        a.application_name = app;
        a.xid = xid;
        a.wait_event = None;
    }

    /// The session is ready for the next query (ReadyForQuery).
    pub fn activity_ready(&self) {
        let state = match self.status() {
            TxnStatus::Idle => "idle",
            TxnStatus::InBlock => "idle in transaction",
            TxnStatus::Failed => "idle in transaction (aborted)",
        };
        let app = self.settings.get("application_name").unwrap_or_default();
        let xid = self.txn.as_ref().map(|t| t.id());
        let mut a = self.info.activity.lock();
        *a = Activity {
            state: state.into(),
            query: std::mem::take(&mut a.query),
            application_name: app,
            xid,
            wait_event: None,
        };
    }
}
