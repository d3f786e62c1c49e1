//! Role and privilege statements, parsed by the pre-parse ([`crate::sql::parser`]) because their
//! grammar is small and PostgreSQL-specific:
//!
//! ```text
//! CREATE ROLE | USER | GROUP name [ [WITH] option ... ]        (USER implies LOGIN)
//! ALTER ROLE | USER name [WITH] option ...  |  ALTER ROLE name RENAME TO new
//! DROP ROLE | USER | GROUP [IF EXISTS] name [, ...]
//!   option: [NO]SUPERUSER [NO]CREATEDB [NO]CREATEROLE [NO]INHERIT [NO]LOGIN [NO]REPLICATION
//!           [NO]BYPASSRLS  CONNECTION LIMIT n  [ENCRYPTED] PASSWORD 'pw' | PASSWORD NULL
//! GRANT privileges ON objects TO grantee [, ...] [WITH GRANT OPTION]
//! REVOKE [GRANT OPTION FOR] privileges ON objects FROM grantee [, ...] [CASCADE | RESTRICT]
//!   privileges: ALL [PRIVILEGES] | SELECT | INSERT | UPDATE | DELETE | TRUNCATE | REFERENCES
//!               | TRIGGER | USAGE | CREATE [, ...]
//!   objects:    [TABLE] name [, ...] | SEQUENCE name [, ...] | ALL TABLES IN SCHEMA public
//!               | ALL SEQUENCES IN SCHEMA public | SCHEMA public
//!   grantee:    role | PUBLIC | CURRENT_USER | CURRENT_ROLE | SESSION_USER
//! ```
//!
//! Not supported (0A000): role membership (`GRANT role TO role`, `IN ROLE`, `ADMIN`), column
//! privileges, `VALID UNTIL`, per-role settings (`ALTER ROLE ... SET`), privileges on databases
//! and functions.

use crate::error::{Error, ErrorKind, Result};
use crate::sql::parser::{Utility, Utl};
use sqlparser::tokenizer::Token;

/// A role attribute given to CREATE or ALTER ROLE.
#[derive(Clone, PartialEq, Eq)]
pub enum RoleOption {
    /// `[NO]SUPERUSER`.
    Superuser(bool),
    /// `[NO]CREATEDB`.
    CreateDb(bool),
    /// `[NO]CREATEROLE`.
    CreateRole(bool),
    /// `[NO]INHERIT`.
    Inherit(bool),
    /// `[NO]LOGIN`.
    Login(bool),
    /// `[NO]REPLICATION`.
    Replication(bool),
    /// `[NO]BYPASSRLS`.
    BypassRls(bool),
    /// CONNECTION LIMIT n.
    ConnectionLimit(i32),
    /// PASSWORD 'pw' (`None` = PASSWORD NULL).
    Password(Option<String>),
}

impl std::fmt::Debug for RoleOption {
    // A password never reaches a debug print.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RoleOption::Password(Some(_)) => write!(f, "Password(<redacted>)"),
            RoleOption::Password(None) => write!(f, "Password(NULL)"),
            RoleOption::Superuser(b) => write!(f, "Superuser({b})"),
            RoleOption::CreateDb(b) => write!(f, "CreateDb({b})"),
            RoleOption::CreateRole(b) => write!(f, "CreateRole({b})"),
            RoleOption::Inherit(b) => write!(f, "Inherit({b})"),
            RoleOption::Login(b) => write!(f, "Login({b})"),
            RoleOption::Replication(b) => write!(f, "Replication({b})"),
            RoleOption::BypassRls(b) => write!(f, "BypassRls({b})"),
            RoleOption::ConnectionLimit(n) => write!(f, "ConnectionLimit({n})"),
        }
    }
}

/// A role named in a statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RoleSpec {
    /// By name.
    Name(String),
    /// PUBLIC (grantees only).
    Public,
    /// CURRENT_USER / CURRENT_ROLE.
    CurrentUser,
    /// SESSION_USER.
    SessionUser,
}

/// The objects of GRANT / REVOKE.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GrantObjects {
    /// Tables and views (and sequences, as PostgreSQL allows) by name.
    Tables(Vec<String>),
    /// Sequences by name.
    Sequences(Vec<String>),
    /// ALL TABLES IN SCHEMA.
    AllTablesInSchema(Vec<String>),
    /// ALL SEQUENCES IN SCHEMA.
    AllSequencesInSchema(Vec<String>),
    /// SCHEMA names.
    Schemas(Vec<String>),
}

/// A role or privilege statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthStmt {
    /// CREATE ROLE / USER / GROUP.
    CreateRole {
        /// Name.
        name: String,
        /// CREATE USER (LOGIN by default).
        user: bool,
        /// Options in order.
        options: Vec<RoleOption>,
    },
    /// ALTER ROLE ... options.
    AlterRole {
        /// The role.
        role: RoleSpec,
        /// Options in order.
        options: Vec<RoleOption>,
    },
    /// ALTER ROLE ... RENAME TO.
    RenameRole {
        /// Old name.
        name: String,
        /// New name.
        new_name: String,
    },
    /// DROP ROLE.
    DropRole {
        /// Names.
        names: Vec<String>,
        /// IF EXISTS.
        if_exists: bool,
    },
    /// GRANT (`grant`) or REVOKE of privileges.
    Privileges {
        /// GRANT rather than REVOKE.
        grant: bool,
        /// Privilege bits; `None` = ALL.
        privileges: Option<Vec<u16>>,
        /// The objects.
        objects: GrantObjects,
        /// The grantees.
        grantees: Vec<RoleSpec>,
        /// WITH GRANT OPTION (GRANT) / GRANT OPTION FOR (REVOKE).
        grant_option: bool,
        /// CASCADE (REVOKE).
        cascade: bool,
    },
}

impl AuthStmt {
    /// The command tag.
    pub fn tag(&self) -> &'static str {
        match self {
            AuthStmt::CreateRole { .. } => "CREATE ROLE",
            AuthStmt::AlterRole { .. } | AuthStmt::RenameRole { .. } => "ALTER ROLE",
            AuthStmt::DropRole { .. } => "DROP ROLE",
            AuthStmt::Privileges { grant: true, .. } => "GRANT",
            AuthStmt::Privileges { grant: false, .. } => "REVOKE",
        }
    }
}

fn unsupported(what: &str) -> Error {
    Error::new(ErrorKind::FeatureNotSupported, format!("{what} is not supported"))
}

/// Parses CREATE/ALTER/DROP ROLE|USER|GROUP (`first` is the first keyword, not yet consumed).
pub(crate) fn parse_role(u: &mut Utl, first: &str) -> Result<Option<Utility>> {
    u.p.next_token();
    let kind = u.peek_kw(0).unwrap_or_default();
    u.p.next_token();
    let stmt = match first {
        "CREATE" => {
            let name = u.ident()?;
            let options = role_options(u)?;
            AuthStmt::CreateRole { name, user: kind == "USER", options }
        }
        "ALTER" => {
            let role = role_spec(u, false)?;
            if u.kw("RENAME") {
                u.expect_kw("TO")?;
                let RoleSpec::Name(name) = role else {
                    return Err(Error::new(ErrorKind::FeatureNotSupported, "current user cannot be renamed"));
                };
                let new_name = u.ident()?;
                AuthStmt::RenameRole { name, new_name }
            } else if matches!(u.peek_kw(0).as_deref(), Some("SET" | "RESET" | "IN")) {
                return Err(unsupported("ALTER ROLE ... SET / RESET"));
            } else {
                let options = role_options(u)?;
                if options.is_empty() {
                    return Err(u.err());
                }
                AuthStmt::AlterRole { role, options }
            }
        }
        _ => {
            let mut if_exists = false;
            if u.kw("IF") {
                u.expect_kw("EXISTS")?;
                if_exists = true;
            }
            let mut names = vec![u.ident()?];
            while u.p.consume_token(&Token::Comma) {
                names.push(u.ident()?);
            }
            AuthStmt::DropRole { names, if_exists }
        }
    };
    u.finish(Utility::Auth(Box::new(stmt)))
}

fn role_options(u: &mut Utl) -> Result<Vec<RoleOption>> {
    u.kw("WITH");
    let mut out = Vec::new();
    while !u.at_end() {
        let tok = u.peek();
        let Some(word) = u.peek_kw(0) else { return Err(u.err()) };
        u.p.next_token();
        let flag = |w: &str, name: &str| {
            if w == name {
                Some(true)
            } else if w.strip_prefix("NO") == Some(name) {
                Some(false)
            } else {
                None
            }
        };
        let opt = if let Some(b) = flag(&word, "SUPERUSER") {
            RoleOption::Superuser(b)
        } else if let Some(b) = flag(&word, "CREATEDB") {
            RoleOption::CreateDb(b)
        } else if let Some(b) = flag(&word, "CREATEROLE") {
            RoleOption::CreateRole(b)
        } else if let Some(b) = flag(&word, "INHERIT") {
            RoleOption::Inherit(b)
        } else if let Some(b) = flag(&word, "LOGIN") {
            RoleOption::Login(b)
        } else if let Some(b) = flag(&word, "REPLICATION") {
            RoleOption::Replication(b)
        } else if let Some(b) = flag(&word, "BYPASSRLS") {
            RoleOption::BypassRls(b)
        } else {
            match word.as_str() {
                "CONNECTION" => {
                    u.expect_kw("LIMIT")?;
                    let neg = u.p.consume_token(&Token::Minus);
                    let t = u.peek();
                    let Token::Number(n, _) = &t.token else { return Err(u.err()) };
                    let n: i32 = n.parse().map_err(|_| u.err_at(&t))?;
                    u.p.next_token();
                    RoleOption::ConnectionLimit(if neg { -n } else { n })
                }
                "ENCRYPTED" | "PASSWORD" => {
                    if word == "ENCRYPTED" {
                        u.expect_kw("PASSWORD")?;
                    }
                    if u.kw("NULL") {
                        RoleOption::Password(None)
                    } else {
                        match u.string()? {
                            Some(s) => RoleOption::Password(Some(s)),
                            None => return Err(u.err()),
                        }
                    }
                }
                "UNENCRYPTED" => {
                    return Err(Error::new(
                        ErrorKind::FeatureNotSupported,
                        "UNENCRYPTED PASSWORD is no longer supported",
                    )
                    .with_hint("Remove UNENCRYPTED to store the password in encrypted form instead."))
                }
                "VALID" => return Err(unsupported("VALID UNTIL")),
                "IN" | "ROLE" | "ADMIN" | "USER" => return Err(unsupported("role membership")),
                "SYSID" => {
                    u.p.next_token();
                    continue;
                }
                _ => return Err(u.err_at(&tok)),
            }
        };
        out.push(opt);
    }
    Ok(out)
}

fn role_spec(u: &mut Utl, allow_public: bool) -> Result<RoleSpec> {
    let t = u.peek();
    if let Token::Word(w) = &t.token {
        if w.quote_style.is_none() {
            let spec = match w.value.to_ascii_uppercase().as_str() {
                "PUBLIC" if allow_public => Some(RoleSpec::Public),
                "CURRENT_USER" | "CURRENT_ROLE" => Some(RoleSpec::CurrentUser),
                "SESSION_USER" => Some(RoleSpec::SessionUser),
                _ => None,
            };
            if let Some(s) = spec {
                u.p.next_token();
                return Ok(s);
            }
        }
    }
    Ok(RoleSpec::Name(u.ident()?))
}

/// Parses GRANT / REVOKE (the keyword not yet consumed).
pub(crate) fn parse_grant(u: &mut Utl, grant: bool) -> Result<Option<Utility>> {
    u.p.next_token();
    let mut grant_option = false;
    if !grant && u.peek_kw(0).as_deref() == Some("GRANT") && u.peek_kw(1).as_deref() == Some("OPTION") {
        u.p.next_token();
        u.p.next_token();
        u.expect_kw("FOR")?;
        grant_option = true;
    }
    let privileges = if u.kw("ALL") {
        u.kw("PRIVILEGES");
        None
    } else {
        let mut v = Vec::new();
        loop {
            let t = u.peek();
            let word = u.peek_kw(0);
            match word.as_deref().and_then(super::acl::privilege_bit) {
                Some(bit) => {
                    u.p.next_token();
                    v.push(bit);
                }
                // GRANT role TO role: membership.
                None if matches!(t.token, Token::Word(_)) => return Err(unsupported("role membership")),
                None => return Err(u.err()),
            }
            if u.p.peek_token().token == Token::LParen {
                return Err(unsupported("column privileges"));
            }
            if !u.p.consume_token(&Token::Comma) {
                break;
            }
        }
        Some(v)
    };
    if !u.kw("ON") {
        if matches!(u.peek_kw(0).as_deref(), Some("TO" | "FROM")) {
            return Err(unsupported("role membership"));
        }
        return Err(u.err());
    }
    let list = |u: &mut Utl| -> Result<Vec<String>> {
        let mut v = vec![u.object_name()?];
        while u.p.consume_token(&Token::Comma) {
            v.push(u.object_name()?);
        }
        Ok(v)
    };
    let objects = if u.kw("ALL") {
        let seq = if u.kw("TABLES") {
            false
        } else if u.kw("SEQUENCES") {
            true
        } else if matches!(u.peek_kw(0).as_deref(), Some("FUNCTIONS" | "PROCEDURES" | "ROUTINES")) {
            return Err(unsupported("privileges on functions"));
        } else {
            return Err(u.err());
        };
        u.expect_kw("IN")?;
        u.expect_kw("SCHEMA")?;
        let schemas = list(u)?;
        if seq {
            GrantObjects::AllSequencesInSchema(schemas)
        } else {
            GrantObjects::AllTablesInSchema(schemas)
        }
    } else if u.kw("TABLE") {
        GrantObjects::Tables(list(u)?)
    } else if u.kw("SEQUENCE") {
        GrantObjects::Sequences(list(u)?)
    } else if u.kw("SCHEMA") {
        GrantObjects::Schemas(list(u)?)
    } else if matches!(
        u.peek_kw(0).as_deref(),
        Some(
            "DATABASE"
                | "FUNCTION"
                | "PROCEDURE"
                | "ROUTINE"
                | "DOMAIN"
                | "TYPE"
                | "LANGUAGE"
                | "TABLESPACE"
                | "FOREIGN"
                | "LARGE"
                | "PARAMETER"
        )
    ) {
        let what = u.peek_kw(0).unwrap_or_default().to_ascii_lowercase();
        return Err(unsupported(&format!("GRANT and REVOKE on {what} objects")));
    } else {
        GrantObjects::Tables(list(u)?)
    };
    u.expect_kw(if grant { "TO" } else { "FROM" })?;
    let mut grantees = vec![role_spec(u, true)?];
    while u.p.consume_token(&Token::Comma) {
        grantees.push(role_spec(u, true)?);
    }
    let mut cascade = false;
    if grant && u.kw("WITH") {
        u.expect_kw("GRANT")?;
        u.expect_kw("OPTION")?;
        grant_option = true;
    }
    if u.kw("GRANTED") {
        u.expect_kw("BY")?;
        role_spec(u, false)?;
    }
    if !grant {
        if u.kw("CASCADE") {
            cascade = true;
        } else {
            u.kw("RESTRICT");
        }
    }
    u.finish(Utility::Auth(Box::new(AuthStmt::Privileges {
        grant,
        privileges,
        objects,
        grantees,
        grant_option,
        cascade,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::auth::acl;
    use crate::sql::parser::{parse, Parsed};

    fn auth(sql: &str) -> AuthStmt {
        match parse(sql).unwrap().remove(0) {
            Parsed::Utility(Utility::Auth(a)) => *a,
            other => panic!("{sql}: {other:?}"),
        }
    }

    #[test]
    fn role_statements() {
        assert_eq!(
            auth("CREATE USER alice WITH PASSWORD 'pw' SUPERUSER nocreatedb CONNECTION LIMIT 3"),
            AuthStmt::CreateRole {
                name: "alice".into(),
                user: true,
                options: vec![
                    RoleOption::Password(Some("pw".into())),
                    RoleOption::Superuser(true),
                    RoleOption::CreateDb(false),
                    RoleOption::ConnectionLimit(3)
                ]
            }
        );
        assert_eq!(
            auth("alter role current_user encrypted password 'x'"),
            AuthStmt::AlterRole {
                role: RoleSpec::CurrentUser,
                options: vec![RoleOption::Password(Some("x".into()))]
            }
        );
        assert_eq!(
            auth("DROP ROLE IF EXISTS a, \"B\""),
            AuthStmt::DropRole { names: vec!["a".into(), "B".into()], if_exists: true }
        );
        assert!(format!("{:?}", auth("CREATE ROLE r PASSWORD 'hunter2'")).contains("<redacted>"));
        assert!(!format!("{:?}", auth("CREATE ROLE r PASSWORD 'hunter2'")).contains("hunter2"));
        assert_eq!(parse("CREATE ROLE r VALID UNTIL 'infinity'").unwrap_err().sqlstate(), "0A000");
        assert_eq!(parse("CREATE ROLE r BOGUS").unwrap_err().sqlstate(), "42601");
    }

    #[test]
    fn grant_statements() {
        assert_eq!(
            auth("GRANT SELECT, insert ON t, public.u TO alice, PUBLIC WITH GRANT OPTION"),
            AuthStmt::Privileges {
                grant: true,
                privileges: Some(vec![acl::SELECT, acl::INSERT]),
                objects: GrantObjects::Tables(vec!["t".into(), "public.u".into()]),
                grantees: vec![RoleSpec::Name("alice".into()), RoleSpec::Public],
                grant_option: true,
                cascade: false,
            }
        );
        assert_eq!(
            auth("REVOKE GRANT OPTION FOR ALL PRIVILEGES ON ALL TABLES IN SCHEMA public FROM bob CASCADE"),
            AuthStmt::Privileges {
                grant: false,
                privileges: None,
                objects: GrantObjects::AllTablesInSchema(vec!["public".into()]),
                grantees: vec![RoleSpec::Name("bob".into())],
                grant_option: true,
                cascade: true,
            }
        );
        assert_eq!(parse("GRANT admins TO alice").unwrap_err().sqlstate(), "0A000");
        assert_eq!(parse("GRANT SELECT (a) ON t TO alice").unwrap_err().sqlstate(), "0A000");
    }
}
