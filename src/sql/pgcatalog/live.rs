//! Catalog relations that show the running server rather than the schema: `pg_stat_activity`
//! (the cluster's session registry), `pg_locks` (the lock table and SSI's SIREAD locks of the
//! session's database), `pg_settings` (the session's settings) and `pg_database`.
//!
//! Lock modes are named as PostgreSQL names them. ssidb's row locks are PostgreSQL's tuple
//! locks, whose heavyweight modes heapam maps as FOR KEY SHARE -> AccessShareLock, FOR SHARE ->
//! RowShareLock, FOR NO KEY UPDATE -> ExclusiveLock, FOR UPDATE -> AccessExclusiveLock; the
//! database-wide DDL/DML lock is shown as an `object` lock on the database; SSI's read locks
//! are `SIReadLock`s on a tuple (a point read) or a relation (a range).

use super::{RowBuilder, VirtualTable, SUPERUSER_OID};
use crate::encoding::keycode;
use crate::sql::context::ExecContext;
use crate::sql::types::Value;
use crate::txn::locks::{LockMode, Resource};
use std::ops::Bound;

/// PostgreSQL's name of a tuple lock mode.
pub fn tuple_lock_mode(m: LockMode) -> &'static str {
    match m {
        LockMode::KeyShare => "AccessShareLock",
        LockMode::Share => "RowShareLock",
        LockMode::NoKeyUpdate => "ExclusiveLock",
        LockMode::Update => "AccessExclusiveLock",
    }
}

/// The table (or index) OID and row id a key names, when it is a row or index key.
fn key_target(key: &[u8]) -> Option<(u32, Option<u64>)> {
    let mut r = keycode::Reader::new(key);
    let tag = r.tag().ok()?;
    let oid = u32::try_from(r.u64().ok()?).ok()?;
    match tag {
        0x20 => Some((oid, r.u64().ok())),
        0x10 | 0x30 => Some((oid, None)),
        _ => None,
    }
}

/// pg_stat_activity: one row per live session.
pub fn pg_stat_activity(ctx: &ExecContext) -> Vec<Vec<Value>> {
    let mut b = RowBuilder::new(VirtualTable::PgStatActivity);
    let mut sessions = ctx.cluster.sessions();
    sessions.sort_by_key(|s| s.pid);
    let dbs = ctx.cluster.databases();
    let mut out = Vec::new();
    for s in sessions {
        let datid = dbs.iter().find(|d| d.name == s.database).map(|d| d.oid).unwrap_or(0);
        let activity = s.activity.lock().clone();
        b.oid("datid", datid).text("datname", &s.database).set("pid", Value::Int4(s.pid));
        let role = ctx.auth.roles.by_name(&s.user).map(|r| r.oid);
        b.set("leader_pid", Value::Null).set("usesysid", role.map(Value::Oid).unwrap_or(Value::Null));
        b.text("usename", &s.user).text("application_name", &activity.application_name);
        b.set("client_port", Value::Null).text("backend_type", "client backend");
        b.set("backend_xmin", Value::Null).set("query_id", Value::Null);
        // As PostgreSQL: another role's session shows no state or query (which could hold a
        // password, `ALTER ROLE ... PASSWORD`) unless the viewer is a superuser.
        if ctx.auth.superuser() || role == Some(ctx.auth.current) {
            b.text("client_addr", "127.0.0.1").text("state", &activity.state).text("query", &activity.query);
            b.set("backend_xid", activity.xid.map(|x| Value::Int8(x as i64)).unwrap_or(Value::Null));
            if let Some((t, e)) = &activity.wait_event {
                b.text("wait_event_type", t).text("wait_event", e);
            }
        } else {
            b.text("query", "<insufficient privilege>");
            out.push(b.take());
            continue;
        }
        if s.pid == ctx.pid {
            b.text("state", "active");
        }
        out.push(b.take());
    }
    out
}

/// pg_locks: the lock table and the SIREAD locks of the session's database.
pub fn pg_locks(ctx: &ExecContext) -> Vec<Vec<Value>> {
    let mut b = RowBuilder::new(VirtualTable::PgLocks);
    let db = ctx.db.oid;
    let mut out = Vec::new();
    for l in ctx.db.txn.lock_snapshot() {
        b.oid("database", db).text("virtualtransaction", &format!("{}/{}", l.pid, l.txn));
        b.set("pid", Value::Int4(l.pid)).bool("granted", l.granted);
        b.set("page", Value::Null).set("tuple", Value::Null).set("objsubid", Value::Null);
        match &l.resource {
            Resource::Database => {
                b.text("locktype", "object").oid("classid", 1262).oid("objid", db);
                b.set("relation", Value::Null);
                b.text(
                    "mode",
                    match l.mode {
                        LockMode::Update => "AccessExclusiveLock",
                        _ => "AccessShareLock",
                    },
                );
            }
            Resource::Key(k) => {
                b.text("locktype", "tuple").text("mode", tuple_lock_mode(l.mode));
                b.set("classid", Value::Null).set("objid", Value::Null);
                match key_target(k) {
                    Some((rel, row)) => {
                        b.oid("relation", rel);
                        if let Some(row) = row {
                            b.set("page", Value::Int4((row >> 16) as i32));
                            b.set("tuple", Value::Int2((row & 0x7fff) as i16));
                        }
                    }
                    None => {
                        b.set("relation", Value::Null);
                    }
                }
            }
        }
        out.push(b.take());
    }
    for (pid, (lo, hi)) in ctx.db.txn.ssi().siread_locks() {
        b.oid("database", db).text("virtualtransaction", &format!("{pid}/0")).set("pid", Value::Int4(pid));
        b.text("mode", "SIReadLock").bool("granted", true).set("classid", Value::Null);
        b.set("objid", Value::Null).set("objsubid", Value::Null).set("page", Value::Null);
        b.set("tuple", Value::Null);
        let point = match (&lo, &hi) {
            (Bound::Included(a), Bound::Included(z)) if a == z => Some(a.clone()),
            _ => None,
        };
        let start = match &lo {
            Bound::Included(k) | Bound::Excluded(k) => Some(k.clone()),
            Bound::Unbounded => None,
        };
        let target = start.as_deref().and_then(key_target);
        match (point.as_deref().and_then(key_target), target) {
            (Some((rel, Some(row))), _) => {
                b.text("locktype", "tuple").oid("relation", rel);
                b.set("page", Value::Int4((row >> 16) as i32))
                    .set("tuple", Value::Int2((row & 0x7fff) as i16));
            }
            (_, Some((rel, _))) => {
                b.text("locktype", "relation").oid("relation", rel);
            }
            _ => {
                b.text("locktype", "relation").set("relation", Value::Null);
            }
        }
        out.push(b.take());
    }
    out
}

/// pg_settings: the session's settings.
pub fn pg_settings(ctx: &ExecContext) -> Vec<Vec<Value>> {
    let mut b = RowBuilder::new(VirtualTable::PgSettings);
    let mut out = Vec::new();
    for (name, setting, desc) in ctx.settings.all() {
        b.text("name", &name).text("setting", &setting).text("category", "Client Connection Defaults");
        b.text("short_desc", &desc).text("context", "user").text("vartype", "string");
        b.text("source", "default").text("boot_val", &setting).text("reset_val", &setting);
        out.push(b.bool("pending_restart", false).take());
    }
    out
}

/// pg_database: the cluster's databases, with PostgreSQL's two templates listed even when the
/// cluster lacks them (so that `\l` matches PostgreSQL's).
pub fn pg_database(ctx: &ExecContext) -> Vec<Vec<Value>> {
    let mut b = RowBuilder::new(VirtualTable::PgDatabase);
    // ssidb's cluster may hold databases of these names; they are templates either way.
    let mut dbs: Vec<(String, u32, bool)> =
        ctx.cluster.databases().iter().map(|d| (d.name.clone(), d.oid, false)).collect();
    for (name, oid) in [("template0", 4), ("template1", 1)] {
        if !dbs.iter().any(|d| d.0 == name) {
            dbs.push((name.to_string(), oid, true));
        }
    }
    dbs.sort();
    let mut out = Vec::new();
    for (name, oid, _) in dbs {
        let template = name == "template0" || name == "template1";
        b.oid("oid", oid).text("datname", &name).oid("datdba", SUPERUSER_OID).set("encoding", Value::Int4(6));
        b.text("datlocprovider", "c")
            .bool("datistemplate", template)
            .bool("datallowconn", name != "template0");
        b.set("datconnlimit", Value::Int4(-1)).oid("dattablespace", 1663);
        b.text("datcollate", "C.UTF-8").text("datctype", "C.UTF-8");
        if template {
            let acl = ["=c/postgres", "postgres=CTc/postgres"];
            b.set("datacl", Value::Array(acl.iter().map(|s| Value::Text(s.to_string())).collect()));
        }
        out.push(b.take());
    }
    out
}

/// ssidb_stats: the shared store's counters (pages, buffer pool, log) and the SSI state of the
/// session's database (budget, failures by reason).
pub fn ssidb_stats(ctx: &ExecContext) -> Vec<Vec<Value>> {
    let mut b = RowBuilder::new(VirtualTable::SsidbStats);
    let mut out = Vec::new();
    let mut row = |category: &str, name: &str, value: u64| {
        b.text("category", category).text("name", name);
        b.set("value", Value::Int8(i64::try_from(value).unwrap_or(i64::MAX)));
        out.push(b.take());
    };
    for (name, value) in ctx.cluster.storage_counters() {
        row("storage", name, value);
    }
    let ssi = ctx.db.txn.ssi();
    let (txns, locks) = ssi.stats();
    let c = ssi.counters();
    row("ssi", "transactions", txns as u64);
    row("ssi", "siread_locks", locks as u64);
    row("ssi", "budget", c.budget as u64);
    row("ssi", "budget_used", c.used as u64);
    row("ssi", "budget_used_max", c.used_max as u64);
    row("ssi", "coarsened", c.coarsened);
    row("ssi", "summarized", c.summarized);
    row("ssi", "budget_victims", c.budget_victims);
    row("ssi", "doomed", c.doomed);
    row("ssi", "safe_snapshots", c.safe_snapshots);
    for (reason, n) in c.failures {
        row("ssi_failures", reason, n);
    }
    out
}
