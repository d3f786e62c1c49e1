//! Authentication and authorization: roles, SCRAM verifiers, privileges.
//!
//! * [`roles`]: the cluster's roles and their stored form; [`roles::Auth`] is who a statement
//!   runs as.
//! * [`scram`]: SCRAM-SHA-256 verifiers and the server side of the SASL exchange.
//! * [`acl`]: privileges and ACLs in PostgreSQL's `aclitem` form.
//! * [`stmt`]: CREATE/ALTER/DROP ROLE, GRANT and REVOKE as the parser front end produces them; the
//!   session runs them (`crate::sql::session`).
//!
//! The privilege model (docs/security.md has the user-facing version): every table, view and
//! sequence has an owner (the role that created it) and an ACL; schema `public` has one too.
//! Reading a relation needs SELECT, INSERT/UPDATE/DELETE need their privilege (UPDATE and DELETE
//! also SELECT when they read the table's columns), TRUNCATE needs TRUNCATE, a locking SELECT
//! needs UPDATE, and a view's own relations are checked as the view's owner. ALTER, DROP and
//! CREATE INDEX need ownership; creating a relation needs CREATE on `public`; naming a relation
//! needs USAGE on `public`. Superusers bypass every check. Checks happen while binding, so a
//! statement that would be denied never runs (also when a plan node would read no row).

pub mod acl;
pub mod roles;
pub mod scram;
pub mod stmt;

use crate::error::{Error, ErrorKind, Result};
use crate::sql::catalog::{Catalog, Object};
use acl::Access;
use roles::Auth;

/// 42501 `permission denied for <kind> <name>`.
pub fn permission_denied(kind: &str, name: &str) -> Error {
    Error::new(ErrorKind::InsufficientPrivilege, format!("permission denied for {kind} {name}"))
}

/// 42501 `must be owner of <kind> <name>`.
pub fn must_be_owner(kind: &str, name: &str) -> Error {
    Error::new(ErrorKind::InsufficientPrivilege, format!("must be owner of {kind} {name}"))
}

impl Auth {
    /// Whether `role` may act as the owner of `access` (it owns it, or is a superuser).
    pub fn owns(&self, role: u32, access: &Access) -> bool {
        role == access.owner || self.roles.is_superuser(role)
    }

    /// Whether `role` holds every privilege in `privs` on `access`.
    pub fn has(&self, role: u32, access: &Access, kind: acl::ObjectKind, privs: u16) -> bool {
        self.roles.is_superuser(role) || access.held(kind, role, privs) == privs
    }
}

impl Catalog {
    /// The owner and ACL of `obj` (an index has its table's).
    pub fn access_of<'a>(&'a self, obj: &'a Object) -> Option<&'a Access> {
        match obj {
            Object::Index(i) => self.table_by_oid(i.table).map(|t| &t.access),
            o => o.access(),
        }
    }

    /// Requires `privs` on `obj` for `role` (42501 `permission denied for table t`).
    pub fn require(&self, role: u32, obj: &Object, privs: u16) -> Result<()> {
        let Some(access) = self.access_of(obj) else { return Ok(()) };
        if self.auth.has(role, access, obj.acl_kind(), privs) {
            Ok(())
        } else {
            Err(permission_denied(obj.kind_name(), obj.name()))
        }
    }

    /// Requires the current role to own `obj` (42501 `must be owner of table t`).
    pub fn require_owner(&self, obj: &Object) -> Result<()> {
        let Some(access) = self.access_of(obj) else { return Ok(()) };
        if self.auth.owns(self.auth.current, access) {
            Ok(())
        } else {
            let kind = match obj {
                // PostgreSQL names the relation kind of an index's table check as the index.
                Object::Index(_) => "index",
                o => o.kind_name(),
            };
            Err(must_be_owner(kind, obj.name()))
        }
    }

    /// Whether `role` holds `privs` on schema `public`.
    pub fn has_public(&self, role: u32, privs: u16) -> bool {
        self.auth.has(role, &self.public, acl::ObjectKind::Schema, privs)
    }

    /// Requires `privs` on schema `public` for the current role (`permission denied for schema
    /// public`).
    pub fn require_public(&self, privs: u16) -> Result<()> {
        if self.has_public(self.auth.current, privs) {
            Ok(())
        } else {
            Err(permission_denied("schema", "public"))
        }
    }
}
