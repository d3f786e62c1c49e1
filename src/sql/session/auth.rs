//! The session's side of roles and privileges: who it runs as ([`Session::auth`]), SET ROLE, and
//! the role and privilege statements ([`AuthStmt`]).
//!
//! Role statements change the cluster's role catalog, which is not transactional (like CREATE
//! DATABASE): they refuse to run inside a transaction block and are durable when they return.
//! GRANT and REVOKE change catalog objects of the current database in the statement's transaction,
//! like any DDL.

use super::Session;
use crate::error::{Error, ErrorKind, Result};
use crate::sql::auth::acl::{self, Access, ObjectKind};
use crate::sql::auth::roles::{Auth, Role, Roles, BOOTSTRAP_SUPERUSER, DATABASE_OWNER};
use crate::sql::auth::scram::{self, Verifier};
use crate::sql::auth::stmt::{AuthStmt, GrantObjects, RoleOption, RoleSpec};
use crate::sql::catalog::{Catalog, Object};
use crate::sql::engine::QueryResult;

fn undefined_role(name: &str) -> Error {
    Error::new(ErrorKind::UndefinedObject, format!("role \"{name}\" does not exist"))
}

fn denied(msg: &str) -> Error {
    Error::new(ErrorKind::InsufficientPrivilege, msg.to_string())
}

fn reserved(name: &str) -> Result<()> {
    if name.starts_with("pg_") {
        return Err(Error::new(ErrorKind::ReservedName, format!("role name \"{name}\" is reserved"))
            .with_detail("Role names starting with \"pg_\" are reserved."));
    }
    if matches!(name, "public" | "none") {
        return Err(Error::new(ErrorKind::ReservedName, format!("role name \"{name}\" is reserved")));
    }
    Ok(())
}

impl Session {
    /// Who the next statement runs as: the role set by SET ROLE, else the session's role.
    pub(super) fn auth(&self) -> Auth {
        let roles = self.cluster.roles();
        let set = self.settings.get("role").unwrap_or_default();
        let current = match set.as_str() {
            "" | "none" => self.role,
            name => roles.by_name(name).map(|r| r.oid).unwrap_or(self.role),
        };
        Auth { roles, current, session: self.role }
    }

    /// Validates `SET ROLE value`: the role must exist and the session's role must be a superuser
    /// or the role itself (role membership is not modelled). Returns the value to store.
    pub(super) fn check_set_role(&self, value: &str) -> Result<String> {
        if value.eq_ignore_ascii_case("none") {
            return Ok("none".into());
        }
        let roles = self.cluster.roles();
        let role = roles.by_name(value).ok_or_else(|| {
            Error::new(ErrorKind::InvalidParameterValue, format!("role \"{value}\" does not exist"))
        })?;
        if role.oid != self.role && !roles.is_superuser(self.role) {
            return Err(denied(&format!("permission denied to set role \"{value}\"")));
        }
        Ok(value.to_string())
    }

    /// Keeps the reported `is_superuser` in step with the current role.
    pub(super) fn refresh_is_superuser(&mut self) {
        let on = self.auth().superuser();
        self.settings.set_internal("is_superuser", if on { "on" } else { "off" });
    }

    /// Runs a role or privilege statement.
    pub(super) fn run_auth(&mut self, stmt: &AuthStmt, multi: bool) -> Result<QueryResult> {
        match stmt {
            AuthStmt::Privileges { .. } => {
                self.ensure_txn();
                let wait = self.wait_options();
                let txn = self.txn.as_mut().expect("ensure_txn started one");
                if txn.read_only() {
                    return Err(Error::new(
                        ErrorKind::ReadOnlySqlTransaction,
                        format!("cannot execute {} in a read-only transaction", stmt.tag()),
                    ));
                }
                txn.acquire_ddl(&wait)?;
                txn.set_wait_options(wait);
                txn.begin_statement()?;
                self.snapshot_taken = true;
                let warnings = self.with_ctx(true, |ctx| {
                    let mut catalog = Catalog::load_as(ctx.txn, &ctx.auth)?;
                    privileges(&mut catalog, ctx.txn, stmt)
                })?;
                for w in warnings {
                    self.notice("WARNING", &w.0, &w.1);
                }
            }
            _ => {
                self.outside_block(stmt.tag(), multi)?;
                // The implicit transaction of this message is not needed.
                let auth = self.auth();
                let notices = self.role_statement(&auth, stmt)?;
                for n in notices {
                    self.notice("NOTICE", "00000", &n);
                }
                self.refresh_is_superuser();
            }
        }
        Ok(QueryResult::command(stmt.tag()))
    }

    /// CREATE / ALTER / DROP ROLE. Returns notices.
    fn role_statement(&mut self, auth: &Auth, stmt: &AuthStmt) -> Result<Vec<String>> {
        let me = auth.roles.by_oid(auth.current).cloned().unwrap_or_else(|| Role::new(auth.current, ""));
        let session_role = self.role;
        let mut notices = Vec::new();
        match stmt {
            AuthStmt::CreateRole { name, user, options } => {
                if !me.superuser && !me.createrole {
                    return Err(denied("permission denied to create role"));
                }
                reserved(name)?;
                check_redundant(options)?;
                let password = password_option(options, &mut notices)?;
                self.cluster.change_roles(|roles, next_oid| {
                    if roles.by_name(name).is_some() {
                        return Err(Error::new(
                            ErrorKind::DuplicateObject,
                            format!("role \"{name}\" already exists"),
                        ));
                    }
                    let mut role = Role::new(0, name);
                    role.login = *user;
                    apply_options(&mut role, options, &me)?;
                    if let Some(p) = password {
                        role.verifier = p;
                    }
                    role.oid = next_oid()?;
                    Ok((vec![role], vec![], ()))
                })?;
            }
            AuthStmt::AlterRole { role, options } => {
                check_redundant(options)?;
                let password = password_option(options, &mut notices)?;
                self.cluster.change_roles(|roles, _| {
                    let target = resolve_role(roles, role, auth)?;
                    let only_password = options.iter().all(|o| matches!(o, RoleOption::Password(_)));
                    if !me.superuser {
                        if target.superuser || options.iter().any(|o| matches!(o, RoleOption::Superuser(_))) {
                            return Err(denied(
                                "must be superuser to alter superuser roles or change superuser attribute",
                            ));
                        }
                        let own_password = target.oid == me.oid && only_password;
                        if !own_password && !me.createrole {
                            return Err(denied("permission denied"));
                        }
                    }
                    let mut changed = target.clone();
                    apply_options(&mut changed, options, &me)?;
                    if let Some(p) = password {
                        changed.verifier = p;
                    }
                    if changed.oid == BOOTSTRAP_SUPERUSER && !changed.superuser {
                        return Err(denied("permission denied to alter role")
                            .with_detail("The bootstrap user must have the SUPERUSER attribute."));
                    }
                    if changed.oid == DATABASE_OWNER {
                        return Err(Error::new(
                            ErrorKind::FeatureNotSupported,
                            "role \"pg_database_owner\" cannot be altered",
                        ));
                    }
                    Ok((vec![changed], vec![], ()))
                })?;
            }
            AuthStmt::RenameRole { name, new_name } => {
                self.cluster.change_roles(|roles, _| {
                    let target = roles.by_name(name).cloned().ok_or_else(|| undefined_role(name))?;
                    if target.oid == session_role {
                        return Err(Error::new(
                            ErrorKind::FeatureNotSupported,
                            "session user cannot be renamed",
                        ));
                    }
                    if target.oid == auth.current {
                        return Err(Error::new(
                            ErrorKind::FeatureNotSupported,
                            "current user cannot be renamed",
                        ));
                    }
                    if target.oid == DATABASE_OWNER || target.oid == BOOTSTRAP_SUPERUSER {
                        return Err(Error::new(
                            ErrorKind::FeatureNotSupported,
                            format!("role \"{name}\" cannot be renamed"),
                        ));
                    }
                    if !me.superuser && (target.superuser || !me.createrole) {
                        return Err(denied("permission denied to rename role"));
                    }
                    reserved(new_name)?;
                    if roles.by_name(new_name).is_some() {
                        return Err(Error::new(
                            ErrorKind::DuplicateObject,
                            format!("role \"{new_name}\" already exists"),
                        ));
                    }
                    let mut changed = target;
                    changed.name = new_name.clone();
                    Ok((vec![changed], vec![], ()))
                })?;
            }
            AuthStmt::DropRole { names, if_exists } => {
                if !me.superuser && !me.createrole {
                    return Err(denied("permission denied to drop role"));
                }
                let cluster = self.cluster.clone();
                let current_db = self.db.name.clone();
                self.cluster.change_roles(|roles, _| {
                    let mut delete = Vec::new();
                    for name in names {
                        let Some(target) = roles.by_name(name) else {
                            if *if_exists {
                                notices.push(format!("role \"{name}\" does not exist, skipping"));
                                continue;
                            }
                            return Err(undefined_role(name));
                        };
                        if target.oid == auth.current {
                            return Err(Error::new(ErrorKind::ObjectInUse, "current user cannot be dropped"));
                        }
                        if target.oid == session_role {
                            return Err(Error::new(ErrorKind::ObjectInUse, "session user cannot be dropped"));
                        }
                        if target.oid == BOOTSTRAP_SUPERUSER || target.oid == DATABASE_OWNER {
                            return Err(Error::new(
                                ErrorKind::DependentObjectsStillExist,
                                format!(
                                    "cannot drop role {name} because it is required by the database system"
                                ),
                            ));
                        }
                        if target.superuser && !me.superuser {
                            return Err(denied("must be superuser to drop superusers"));
                        }
                        let deps = dependents(&cluster, &current_db, target.oid)?;
                        if !deps.is_empty() {
                            return Err(Error::new(
                                ErrorKind::DependentObjectsStillExist,
                                format!(
                                    "role \"{name}\" cannot be dropped because some objects depend on it"
                                ),
                            )
                            .with_detail(deps.join("\n")));
                        }
                        delete.push(target.oid);
                    }
                    Ok((vec![], delete, ()))
                })?;
            }
            AuthStmt::Privileges { .. } => unreachable!("run_auth handles GRANT and REVOKE"),
        }
        Ok(notices)
    }
}

fn resolve_role(roles: &Roles, spec: &RoleSpec, auth: &Auth) -> Result<Role> {
    let oid = match spec {
        RoleSpec::Name(n) => return roles.by_name(n).cloned().ok_or_else(|| undefined_role(n)),
        RoleSpec::Public => {
            return Err(Error::new(ErrorKind::ReservedName, "role name \"public\" is reserved"))
        }
        RoleSpec::CurrentUser => auth.current,
        RoleSpec::SessionUser => auth.session,
    };
    roles.by_oid(oid).cloned().ok_or_else(|| undefined_role(&oid.to_string()))
}

fn check_redundant(options: &[RoleOption]) -> Result<()> {
    for (i, a) in options.iter().enumerate() {
        if options[..i].iter().any(|b| std::mem::discriminant(a) == std::mem::discriminant(b)) {
            return Err(Error::new(ErrorKind::Syntax, "conflicting or redundant options"));
        }
    }
    Ok(())
}

/// The verifier a PASSWORD option sets: `Some(None)` clears it, `None` leaves it.
fn password_option(options: &[RoleOption], notices: &mut Vec<String>) -> Result<Option<Option<String>>> {
    for o in options {
        if let RoleOption::Password(p) = o {
            return Ok(Some(match p {
                None => None,
                Some(p) if p.is_empty() => {
                    notices.push("empty string is not a valid password, clearing password".into());
                    None
                }
                // A verifier made elsewhere (psql's \password, pg_dumpall) is stored as given.
                Some(p) if Verifier::parse(p).is_some() => Some(p.clone()),
                Some(p) if scram::is_md5_hash(p) => return Err(Error::new(
                    ErrorKind::FeatureNotSupported,
                    "MD5 password hashes are not supported; give the password or a SCRAM-SHA-256 verifier",
                )),
                Some(p) => Some(Verifier::new(p)?.to_text()),
            }));
        }
    }
    Ok(None)
}

fn apply_options(role: &mut Role, options: &[RoleOption], me: &Role) -> Result<()> {
    for o in options {
        match o {
            RoleOption::Superuser(b) => {
                if !me.superuser {
                    return Err(denied("must be superuser to create superusers"));
                }
                role.superuser = *b;
            }
            RoleOption::CreateDb(b) => role.createdb = *b,
            RoleOption::CreateRole(b) => role.createrole = *b,
            RoleOption::Inherit(b) => role.inherit = *b,
            RoleOption::Login(b) => role.login = *b,
            RoleOption::Replication(b) => {
                if !me.superuser {
                    return Err(denied("must be superuser to create replication users"));
                }
                role.replication = *b;
            }
            RoleOption::BypassRls(b) => {
                if !me.superuser {
                    return Err(denied("must be superuser to create bypassrls users"));
                }
                role.bypassrls = *b;
            }
            RoleOption::ConnectionLimit(n) => {
                if *n < -1 {
                    return Err(Error::new(
                        ErrorKind::InvalidParameterValue,
                        format!("invalid connection limit: {n}"),
                    ));
                }
                role.connlimit = *n;
            }
            RoleOption::Password(_) => {}
        }
    }
    Ok(())
}

/// What in any database depends on role `oid` (owned objects, privileges), in PostgreSQL's detail
/// form: one line per object in the current database, a count per other database.
fn dependents(cluster: &crate::sql::cluster::Cluster, current_db: &str, oid: u32) -> Result<Vec<String>> {
    let mut lines = Vec::new();
    for db in cluster.databases() {
        let mut txn = db.txn.begin(0, crate::txn::mvcc::IsolationLevel::ReadCommitted, true);
        txn.begin_statement()?;
        let catalog = Catalog::load(&mut txn);
        txn.rollback();
        let catalog = catalog?;
        let mut here = Vec::new();
        let mentions = |a: &Access| a.acl.iter().flatten().any(|i| i.grantee == oid || i.grantor == oid);
        for o in &catalog.objects {
            let Some(a) = o.access() else { continue };
            if a.owner == oid {
                here.push(format!("owner of {} {}", o.kind_name(), o.name()));
            } else if mentions(a) {
                here.push(format!("privileges for {} {}", o.kind_name(), o.name()));
            }
        }
        if catalog.public.owner == oid {
            here.push("owner of schema public".into());
        } else if mentions(&catalog.public) {
            here.push("privileges for schema public".into());
        }
        if here.is_empty() {
            continue;
        }
        if db.name == current_db {
            lines.extend(here);
        } else {
            let n = here.len();
            lines.push(format!("{n} object{} in database {}", if n == 1 { "" } else { "s" }, db.name));
        }
    }
    Ok(lines)
}

/// A warning (SQLSTATE, message) for GRANT/REVOKE.
type Warning = (String, String);

/// GRANT / REVOKE on objects of the current database.
fn privileges(
    catalog: &mut Catalog,
    txn: &mut crate::txn::mvcc::Transaction,
    stmt: &AuthStmt,
) -> Result<Vec<Warning>> {
    let AuthStmt::Privileges { grant, privileges, objects, grantees, grant_option, cascade } = stmt else {
        return Ok(vec![]);
    };
    let auth = catalog.auth.clone();
    let grantees: Vec<u32> = grantees
        .iter()
        .map(|g| match g {
            RoleSpec::Public => Ok(acl::PUBLIC),
            other => resolve_role(&auth.roles, other, &auth).map(|r| r.oid),
        })
        .collect::<Result<_>>()?;
    let mut warnings = Vec::new();
    // Targets: (object OID or None for the schema, its name, its kind word, its ACL kind).
    let mut targets: Vec<Option<u32>> = Vec::new();
    let schema_ok = |s: &str| -> Result<()> {
        if s == "public" {
            Ok(())
        } else {
            Err(Error::new(ErrorKind::UndefinedSchema, format!("schema \"{s}\" does not exist")))
        }
    };
    match objects {
        GrantObjects::Tables(names) | GrantObjects::Sequences(names) => {
            let want_seq = matches!(objects, GrantObjects::Sequences(_));
            for n in names {
                let name = match n.split_once('.') {
                    Some((s, t)) => {
                        schema_ok(s)?;
                        t
                    }
                    None => n.as_str(),
                };
                let obj = catalog.by_name(name).ok_or_else(|| {
                    Error::new(ErrorKind::UndefinedTable, format!("relation \"{name}\" does not exist"))
                })?;
                match obj {
                    Object::Sequence(_) => {}
                    Object::Table(_) | Object::View(_) if !want_seq => {}
                    Object::Index(_) if !want_seq => {
                        return Err(Error::new(ErrorKind::WrongObjectType, format!("\"{name}\" is an index")))
                    }
                    _ => {
                        return Err(Error::new(
                            ErrorKind::WrongObjectType,
                            format!("\"{name}\" is not a sequence"),
                        ))
                    }
                }
                targets.push(Some(obj.oid()));
            }
        }
        GrantObjects::AllTablesInSchema(schemas) | GrantObjects::AllSequencesInSchema(schemas) => {
            for s in schemas {
                schema_ok(s)?;
            }
            let seq = matches!(objects, GrantObjects::AllSequencesInSchema(_));
            for o in &catalog.objects {
                match o {
                    Object::Sequence(_) if seq => targets.push(Some(o.oid())),
                    Object::Table(_) | Object::View(_) if !seq => targets.push(Some(o.oid())),
                    _ => {}
                }
            }
        }
        GrantObjects::Schemas(names) => {
            for s in names {
                schema_ok(s)?;
            }
            targets.push(None);
        }
    }
    for target in targets {
        let (mut access, kind, kind_name, name) = match target {
            None => (catalog.public.clone(), ObjectKind::Schema, "schema", "public".to_string()),
            Some(oid) => {
                let o = catalog.by_oid(oid).expect("target was found above");
                let a = o.access().cloned().expect("tables, views and sequences have an owner");
                (a, o.acl_kind(), o.kind_name(), o.name().to_string())
            }
        };
        let all = kind.all();
        let mut wanted = match privileges {
            None => all,
            Some(list) => {
                let mut bits = 0;
                for &b in list {
                    if b & all == 0 {
                        if kind == ObjectKind::Sequence && matches!(objects, GrantObjects::Tables(_)) {
                            warnings.push((
                                "01007".into(),
                                format!(
                                    "sequence \"{name}\" only supports USAGE, SELECT, and UPDATE privileges"
                                ),
                            ));
                            continue;
                        }
                        return Err(Error::new(
                            ErrorKind::InvalidGrantOperation,
                            format!("invalid privilege type {} for {kind_name}", acl::privilege_name(b)),
                        ));
                    }
                    bits |= b;
                }
                bits
            }
        };
        // As PostgreSQL: the owner (or a superuser, acting as the owner) grants as the owner;
        // anyone else only what they hold with grant option, as themselves.
        let me = auth.current;
        let grantor = if auth.owns(me, &access) {
            access.owner
        } else {
            let grantable = access.grantable(kind, me, wanted);
            if grantable == 0 && access.held(kind, me, all) == 0 {
                return Err(crate::sql::auth::permission_denied(kind_name, &name));
            }
            if grantable != wanted {
                let (code, msg) = match (grant, grantable == 0) {
                    (true, true) => ("01007", format!("no privileges were granted for \"{name}\"")),
                    (true, false) => ("01007", format!("not all privileges were granted for \"{name}\"")),
                    (false, true) => ("01006", format!("no privileges could be revoked for \"{name}\"")),
                    (false, false) => {
                        ("01006", format!("not all privileges could be revoked for \"{name}\""))
                    }
                };
                warnings.push((code.into(), msg));
            }
            wanted = grantable;
            me
        };
        let mut list = access.effective(kind);
        for &g in &grantees {
            if *grant {
                if *grant_option && g == acl::PUBLIC {
                    return Err(Error::new(
                        ErrorKind::InvalidGrantOperation,
                        "grant options can only be granted to roles",
                    ));
                }
                acl::grant(&mut list, g, grantor, wanted, *grant_option);
            } else if acl::revoke(&mut list, g, grantor, wanted, *grant_option) {
                if !cascade {
                    return Err(Error::new(
                        ErrorKind::DependentObjectsStillExist,
                        "dependent privileges exist",
                    )
                    .with_hint("Use CASCADE to revoke them too."));
                }
                acl::revoke_dependents(&mut list, g, wanted);
            }
        }
        access.acl = Some(list);
        match target {
            None => catalog.put_public(txn, access)?,
            Some(oid) => {
                let mut o = catalog.by_oid(oid).cloned().expect("target was found above");
                if let Some(a) = o.access_mut() {
                    *a = access;
                }
                catalog.put(txn, o)?;
            }
        }
    }
    Ok(warnings)
}
