//! Roles: who may connect and who owns and is granted what. Roles belong to the cluster (as
//! PostgreSQL's shared `pg_authid`), not to a database.
//!
//! The cluster keeps them in its own key space of the shared store ([`crate::sql::cluster`]), one
//! record per role, and in memory as an immutable [`Roles`] snapshot that statements share. A role
//! record (little-endian, [`crate::sql::catalog::codec`] primitives):
//!
//! | field | size | content |
//! |-------|------|---------|
//! | version | 1 | [`ROLE_FORMAT`] (1) |
//! | oid | 4 | the role's OID |
//! | name | 4 + n | UTF-8 |
//! | flags | 1 | bit 0 superuser, 1 inherit, 2 createrole, 3 createdb, 4 login, 5 replication, 6 bypassrls |
//! | connlimit | 4 | i32, -1 = no limit |
//! | verifier | 1 (+ 4 + n) | 0 = no password; 1 then the SCRAM-SHA-256 verifier text ([`super::scram`]) |
//!
//! Passwords are never stored: only verifiers. A reader meeting a newer version refuses the
//! record (`Corrupt`), so an old binary never misreads a newer catalog.
//!
//! Two roles always exist: the bootstrap superuser `postgres` (OID 10) and `pg_database_owner`
//! (OID 6171, owner of schema `public`, no login). The first is stored once it changes (a password);
//! the second never is.

use crate::error::{Error, ErrorKind, Result};
use crate::sql::catalog::codec::{Reader, Writer};
use std::sync::Arc;

/// Version byte of role records.
pub const ROLE_FORMAT: u8 = 1;
/// The bootstrap superuser's OID.
pub const BOOTSTRAP_SUPERUSER: u32 = 10;
/// The bootstrap superuser's name.
pub const BOOTSTRAP_NAME: &str = "postgres";
/// `pg_database_owner`'s OID.
pub const DATABASE_OWNER: u32 = 6171;
/// First OID handed to created roles.
pub const FIRST_ROLE_OID: u32 = 16384;

/// One role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Role {
    /// OID.
    pub oid: u32,
    /// Name.
    pub name: String,
    /// SUPERUSER: bypasses every privilege check.
    pub superuser: bool,
    /// INHERIT (kept for the catalogs; membership is not modelled).
    pub inherit: bool,
    /// CREATEROLE.
    pub createrole: bool,
    /// CREATEDB.
    pub createdb: bool,
    /// LOGIN.
    pub login: bool,
    /// REPLICATION (kept for the catalogs).
    pub replication: bool,
    /// BYPASSRLS (kept for the catalogs).
    pub bypassrls: bool,
    /// CONNECTION LIMIT (-1 = none).
    pub connlimit: i32,
    /// SCRAM-SHA-256 verifier, if the role has a password.
    pub verifier: Option<String>,
}

impl Role {
    /// A role with PostgreSQL's CREATE ROLE defaults (NOLOGIN, INHERIT, no password).
    pub fn new(oid: u32, name: &str) -> Role {
        Role {
            oid,
            name: name.to_string(),
            superuser: false,
            inherit: true,
            createrole: false,
            createdb: false,
            login: false,
            replication: false,
            bypassrls: false,
            connlimit: -1,
            verifier: None,
        }
    }

    /// The bootstrap superuser as initdb creates it.
    pub fn bootstrap() -> Role {
        Role {
            superuser: true,
            createrole: true,
            createdb: true,
            login: true,
            replication: true,
            bypassrls: true,
            ..Role::new(BOOTSTRAP_SUPERUSER, BOOTSTRAP_NAME)
        }
    }

    /// The record stored for this role.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::default();
        w.u8(ROLE_FORMAT);
        w.u32(self.oid);
        w.str(&self.name);
        let flags = [
            self.superuser,
            self.inherit,
            self.createrole,
            self.createdb,
            self.login,
            self.replication,
            self.bypassrls,
        ]
        .iter()
        .enumerate()
        .fold(0u8, |acc, (i, &f)| acc | ((f as u8) << i));
        w.u8(flags);
        w.u32(self.connlimit as u32);
        w.opt_str(&self.verifier);
        w.buf
    }

    /// Reads a stored record.
    pub fn decode(b: &[u8]) -> Result<Role> {
        let mut r = Reader::new(b);
        let version = r.u8()?;
        if version != ROLE_FORMAT {
            return Err(Error::new(
                ErrorKind::Corrupt,
                format!("role record has format version {version}; this ssidb reads version {ROLE_FORMAT}"),
            ));
        }
        let oid = r.u32()?;
        let name = r.str()?;
        let flags = r.u8()?;
        let bit = |i: u8| flags & (1 << i) != 0;
        Ok(Role {
            oid,
            name,
            superuser: bit(0),
            inherit: bit(1),
            createrole: bit(2),
            createdb: bit(3),
            login: bit(4),
            replication: bit(5),
            bypassrls: bit(6),
            connlimit: r.u32()? as i32,
            verifier: r.opt_str()?,
        })
    }
}

/// An immutable snapshot of every role.
#[derive(Clone, Debug)]
pub struct Roles {
    list: Vec<Role>,
}

impl Default for Roles {
    fn default() -> Self {
        Roles::new(vec![])
    }
}

impl Roles {
    /// The snapshot of `stored` roles plus the built-in ones they do not replace.
    pub fn new(stored: Vec<Role>) -> Roles {
        let mut list = stored;
        if !list.iter().any(|r| r.oid == BOOTSTRAP_SUPERUSER) {
            list.push(Role::bootstrap());
        }
        list.push(Role { inherit: true, ..Role::new(DATABASE_OWNER, "pg_database_owner") });
        list.sort_by_key(|r| r.oid);
        Roles { list }
    }

    /// The roles that are stored (all but `pg_database_owner`).
    pub fn stored(&self) -> Vec<Role> {
        self.list.iter().filter(|r| r.oid != DATABASE_OWNER).cloned().collect()
    }

    /// Every role, by OID.
    pub fn all(&self) -> &[Role] {
        &self.list
    }

    /// A role by name.
    pub fn by_name(&self, name: &str) -> Option<&Role> {
        self.list.iter().find(|r| r.name == name)
    }

    /// A role by OID.
    pub fn by_oid(&self, oid: u32) -> Option<&Role> {
        self.list.iter().find(|r| r.oid == oid)
    }

    /// A role's name (`None` when it no longer exists).
    pub fn name(&self, oid: u32) -> Option<String> {
        self.by_oid(oid).map(|r| r.name.clone())
    }

    /// Whether `oid` is a superuser.
    pub fn is_superuser(&self, oid: u32) -> bool {
        self.by_oid(oid).is_some_and(|r| r.superuser)
    }
}

/// Who a statement runs as: the role snapshot, the current role (SET ROLE, else the session's)
/// and the session's role. The binder and the executor check privileges against it.
#[derive(Clone, Debug)]
pub struct Auth {
    /// Every role.
    pub roles: Arc<Roles>,
    /// `current_user`.
    pub current: u32,
    /// `session_user`.
    pub session: u32,
}

impl Default for Auth {
    /// The bootstrap superuser (internal binds, tests).
    fn default() -> Self {
        Auth { roles: Arc::new(Roles::default()), current: BOOTSTRAP_SUPERUSER, session: BOOTSTRAP_SUPERUSER }
    }
}

impl Auth {
    /// Whether the current role is a superuser.
    pub fn superuser(&self) -> bool {
        self.roles.is_superuser(self.current)
    }

    /// The current role's name.
    pub fn current_name(&self) -> String {
        self.roles.name(self.current).unwrap_or_else(|| self.current.to_string())
    }

    /// The session role's name.
    pub fn session_name(&self) -> String {
        self.roles.name(self.session).unwrap_or_else(|| self.session.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_round_trip_and_version_check() {
        let mut r = Role::new(16384, "alice");
        r.login = true;
        r.createdb = true;
        r.verifier = Some("SCRAM-SHA-256$4096:c2FsdA==$AAAA:BBBB".into());
        let b = r.encode();
        assert_eq!(Role::decode(&b).unwrap(), r);
        let mut newer = b.clone();
        newer[0] = 2;
        assert_eq!(Role::decode(&newer).unwrap_err().sqlstate(), "XX001");
        assert!(Role::decode(&b[..b.len() - 1]).is_err());
    }

    #[test]
    fn builtins_are_present() {
        let roles = Roles::new(vec![Role::new(16384, "alice")]);
        assert!(roles.is_superuser(BOOTSTRAP_SUPERUSER));
        assert_eq!(roles.name(DATABASE_OWNER).as_deref(), Some("pg_database_owner"));
        assert_eq!(roles.stored().len(), 2);
    }
}
