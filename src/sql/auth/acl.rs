//! Privileges and access control lists, as PostgreSQL keeps them (`aclitem[]`).
//!
//! An object's ACL is a list of items `grantee=privileges/grantor`; a missing ACL (`NULL` in
//! `pg_class.relacl`) means the default for its kind, computed by [`default_acl`]: the owner has
//! every privilege of the kind, nobody else has any (a schema's default also grants `USAGE` to
//! `PUBLIC` for `public`). The first GRANT or REVOKE materializes the default and edits it, so
//! `\dp` shows `alice=arwdDxt/alice` followed by the grants.
//!
//! Privilege letters, in PostgreSQL's output order (PostgreSQL 15):
//!
//! | bit | letter | privilege | applies to |
//! |-----|--------|-----------|------------|
//! | 0 | `a` | INSERT | tables, views |
//! | 1 | `r` | SELECT | tables, views, sequences |
//! | 2 | `w` | UPDATE | tables, views, sequences |
//! | 3 | `d` | DELETE | tables, views |
//! | 4 | `D` | TRUNCATE | tables |
//! | 5 | `x` | REFERENCES | tables |
//! | 6 | `t` | TRIGGER | tables |
//! | 8 | `U` | USAGE | schemas, sequences |
//! | 9 | `C` | CREATE | schemas, databases |
//!
//! A `*` after a letter marks the grant option. The grantee `PUBLIC` is OID 0 and prints as an
//! empty name. Role membership (`GRANT role TO role`) is not modelled: a role's privileges are
//! those granted to it and to `PUBLIC`; superusers bypass every check.

use crate::error::Result;
use crate::sql::catalog::codec::{Reader, Writer};

/// INSERT.
pub const INSERT: u16 = 1 << 0;
/// SELECT.
pub const SELECT: u16 = 1 << 1;
/// UPDATE.
pub const UPDATE: u16 = 1 << 2;
/// DELETE.
pub const DELETE: u16 = 1 << 3;
/// TRUNCATE.
pub const TRUNCATE: u16 = 1 << 4;
/// REFERENCES.
pub const REFERENCES: u16 = 1 << 5;
/// TRIGGER.
pub const TRIGGER: u16 = 1 << 6;
/// USAGE.
pub const USAGE: u16 = 1 << 8;
/// CREATE.
pub const CREATE: u16 = 1 << 9;

/// Letters in output order with their bits.
const LETTERS: &[(char, u16)] = &[
    ('a', INSERT),
    ('r', SELECT),
    ('w', UPDATE),
    ('d', DELETE),
    ('D', TRUNCATE),
    ('x', REFERENCES),
    ('t', TRIGGER),
    ('U', USAGE),
    ('C', CREATE),
];

/// The grantee OID that stands for `PUBLIC`.
pub const PUBLIC: u32 = 0;

/// What kind of object an ACL belongs to (decides ALL and the default).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObjectKind {
    /// A table or a view.
    Table,
    /// A sequence.
    Sequence,
    /// A schema.
    Schema,
}

impl ObjectKind {
    /// The privileges `ALL` means for this kind.
    pub fn all(self) -> u16 {
        match self {
            ObjectKind::Table => INSERT | SELECT | UPDATE | DELETE | TRUNCATE | REFERENCES | TRIGGER,
            ObjectKind::Sequence => USAGE | SELECT | UPDATE,
            ObjectKind::Schema => USAGE | CREATE,
        }
    }
}

/// One ACL entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AclItem {
    /// The role granted to (0 = PUBLIC).
    pub grantee: u32,
    /// The role that granted.
    pub grantor: u32,
    /// Privilege bits.
    pub privs: u16,
    /// Bits of `privs` held WITH GRANT OPTION.
    pub grant_options: u16,
}

/// An object's owner and ACL (`None` = the default ACL for its kind).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Access {
    /// The owning role's OID.
    pub owner: u32,
    /// The explicit ACL, once a GRANT or REVOKE made one.
    pub acl: Option<Vec<AclItem>>,
}

impl Access {
    /// Owned by `owner`, default ACL.
    pub fn owned_by(owner: u32) -> Access {
        Access { owner, acl: None }
    }

    /// The ACL in force (explicit or default).
    pub fn effective(&self, kind: ObjectKind) -> Vec<AclItem> {
        match &self.acl {
            Some(a) => a.clone(),
            None => default_acl(kind, self.owner),
        }
    }

    /// Privileges among `wanted` that `role` holds directly or through PUBLIC.
    pub fn held(&self, kind: ObjectKind, role: u32, wanted: u16) -> u16 {
        self.effective(kind)
            .iter()
            .filter(|i| i.grantee == role || i.grantee == PUBLIC)
            .fold(0, |acc, i| acc | i.privs)
            & wanted
    }

    /// Grant options among `wanted` that `role` holds.
    pub fn grantable(&self, kind: ObjectKind, role: u32, wanted: u16) -> u16 {
        self.effective(kind)
            .iter()
            .filter(|i| i.grantee == role || i.grantee == PUBLIC)
            .fold(0, |acc, i| acc | i.grant_options)
            & wanted
    }

    /// Appends the encoding (after an object's own fields).
    pub fn encode(&self, w: &mut Writer) {
        w.u32(self.owner);
        match &self.acl {
            None => w.u8(0),
            Some(items) => {
                w.u8(1);
                w.u32(items.len() as u32);
                for i in items {
                    w.u32(i.grantee);
                    w.u32(i.grantor);
                    w.u32(i.privs as u32 | (i.grant_options as u32) << 16);
                }
            }
        }
    }

    /// Reads what [`Access::encode`] wrote.
    pub fn decode(r: &mut Reader) -> Result<Access> {
        let owner = r.u32()?;
        let acl = if r.u8()? == 0 {
            None
        } else {
            let n = r.u32()?;
            let mut items = Vec::new();
            for _ in 0..n {
                let grantee = r.u32()?;
                let grantor = r.u32()?;
                let bits = r.u32()?;
                items.push(AclItem {
                    grantee,
                    grantor,
                    privs: bits as u16,
                    grant_options: (bits >> 16) as u16,
                });
            }
            Some(items)
        };
        Ok(Access { owner, acl })
    }
}

/// The default ACL of an object of `kind` owned by `owner` (PostgreSQL's `acldefault`).
pub fn default_acl(kind: ObjectKind, owner: u32) -> Vec<AclItem> {
    vec![AclItem { grantee: owner, grantor: owner, privs: kind.all(), grant_options: 0 }]
}

/// Adds `privs` (and their grant options when `with_grant`) for `grantee` from `grantor`.
pub fn grant(acl: &mut Vec<AclItem>, grantee: u32, grantor: u32, privs: u16, with_grant: bool) {
    let options = if with_grant { privs } else { 0 };
    match acl.iter_mut().find(|i| i.grantee == grantee && i.grantor == grantor) {
        Some(i) => {
            i.privs |= privs;
            i.grant_options |= options;
        }
        None => acl.push(AclItem { grantee, grantor, privs, grant_options: options }),
    }
}

/// Removes `privs` (only their grant options when `option_only`) granted to `grantee` by
/// `grantor`; entries left with no privilege disappear. Returns the grants `grantee` made that
/// depended on the removed grant options (PostgreSQL refuses unless CASCADE, then revokes them).
pub fn revoke(acl: &mut Vec<AclItem>, grantee: u32, grantor: u32, privs: u16, option_only: bool) -> bool {
    let mut lost_options = 0;
    for i in acl.iter_mut().filter(|i| i.grantee == grantee && i.grantor == grantor) {
        lost_options |= i.grant_options & privs;
        i.grant_options &= !privs;
        if !option_only {
            i.privs &= !privs;
        }
    }
    acl.retain(|i| i.privs != 0);
    lost_options != 0
        && acl.iter().any(|i| i.grantor == grantee && i.grantee != grantee && i.privs & lost_options != 0)
}

/// Revokes, recursively, the grants that `grantor` made of `privs` (REVOKE ... CASCADE).
pub fn revoke_dependents(acl: &mut Vec<AclItem>, grantor: u32, privs: u16) {
    let dependents: Vec<u32> = acl
        .iter()
        .filter(|i| i.grantor == grantor && i.grantee != grantor && i.privs & privs != 0)
        .map(|i| i.grantee)
        .collect();
    for d in dependents {
        if revoke(acl, d, grantor, privs, false) {
            revoke_dependents(acl, d, privs);
        }
    }
}

/// Replaces `old` by `new` as grantee and grantor (ALTER ... OWNER TO), merging duplicates.
pub fn change_owner(acl: &mut Vec<AclItem>, old: u32, new: u32) {
    let items = std::mem::take(acl);
    for mut i in items {
        if i.grantee == old {
            i.grantee = new;
        }
        if i.grantor == old {
            i.grantor = new;
        }
        match acl.iter_mut().find(|j| j.grantee == i.grantee && j.grantor == i.grantor) {
            Some(j) => {
                j.privs |= i.privs;
                j.grant_options |= i.grant_options;
            }
            None => acl.push(i),
        }
    }
}

/// The privilege letters of `privs` with `*` after those with grant option.
pub fn letters(privs: u16, options: u16) -> String {
    let mut s = String::new();
    for &(c, bit) in LETTERS {
        if privs & bit != 0 {
            s.push(c);
            if options & bit != 0 {
                s.push('*');
            }
        }
    }
    s
}

/// An ACL item's text form (`alice=arw/postgres`, `=r/postgres` for PUBLIC), naming roles with
/// `name` (which returns `None` for a dropped role: its OID is printed).
pub fn item_text(item: &AclItem, name: &dyn Fn(u32) -> Option<String>) -> String {
    let id = |oid: u32| match name(oid) {
        Some(n) => quote_role(&n),
        None => oid.to_string(),
    };
    let grantee = if item.grantee == PUBLIC { String::new() } else { id(item.grantee) };
    format!("{grantee}={}/{}", letters(item.privs, item.grant_options), id(item.grantor))
}

/// A role name as aclitem output quotes it (PostgreSQL's `putid`): in double quotes unless every
/// character is alphanumeric or `_`.
fn quote_role(name: &str) -> String {
    if !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '_') {
        name.to_string()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

/// Parses a privilege keyword of GRANT/REVOKE.
pub fn privilege_bit(word: &str) -> Option<u16> {
    Some(match word.to_ascii_uppercase().as_str() {
        "SELECT" => SELECT,
        "INSERT" => INSERT,
        "UPDATE" => UPDATE,
        "DELETE" => DELETE,
        "TRUNCATE" => TRUNCATE,
        "REFERENCES" => REFERENCES,
        "TRIGGER" => TRIGGER,
        "USAGE" => USAGE,
        "CREATE" => CREATE,
        _ => return None,
    })
}

/// PostgreSQL's name of a privilege bit in messages (`invalid privilege type USAGE for table`).
pub fn privilege_name(bit: u16) -> &'static str {
    match bit {
        INSERT => "INSERT",
        SELECT => "SELECT",
        UPDATE => "UPDATE",
        DELETE => "DELETE",
        TRUNCATE => "TRUNCATE",
        REFERENCES => "REFERENCES",
        TRIGGER => "TRIGGER",
        USAGE => "USAGE",
        CREATE => "CREATE",
        _ => "UNKNOWN",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(oid: u32) -> Option<String> {
        match oid {
            10 => Some("postgres".into()),
            20 => Some("alice".into()),
            21 => Some("Bob Smith".into()),
            _ => None,
        }
    }

    #[test]
    fn text_form_matches_postgres() {
        let mut acl = default_acl(ObjectKind::Table, 10);
        grant(&mut acl, 20, 10, SELECT, false);
        grant(&mut acl, 21, 10, SELECT | INSERT, true);
        grant(&mut acl, PUBLIC, 10, SELECT, false);
        let text: Vec<String> = acl.iter().map(|i| item_text(i, &names)).collect();
        assert_eq!(
            text,
            ["postgres=arwdDxt/postgres", "alice=r/postgres", "\"Bob Smith\"=a*r*/postgres", "=r/postgres"]
        );
        assert_eq!(
            item_text(&AclItem { grantee: 99, grantor: 10, privs: USAGE, grant_options: 0 }, &names),
            "99=U/postgres"
        );
    }

    #[test]
    fn grant_revoke_and_checks() {
        let mut a = Access::owned_by(10);
        assert_eq!(a.held(ObjectKind::Table, 10, SELECT), SELECT);
        assert_eq!(a.held(ObjectKind::Table, 20, SELECT), 0);
        let mut acl = a.effective(ObjectKind::Table);
        grant(&mut acl, 20, 10, SELECT | UPDATE, true);
        grant(&mut acl, 21, 20, SELECT, false);
        a.acl = Some(acl.clone());
        assert_eq!(a.held(ObjectKind::Table, 20, SELECT | DELETE), SELECT);
        assert_eq!(a.grantable(ObjectKind::Table, 20, SELECT), SELECT);
        // Revoking alice's grant option leaves a dependent grant: RESTRICT would refuse.
        let mut restrict = acl.clone();
        assert!(revoke(&mut restrict, 20, 10, SELECT, true));
        revoke_dependents(&mut acl, 20, SELECT);
        assert!(!revoke(&mut acl, 20, 10, SELECT, false));
        let a = Access { owner: 10, acl: Some(acl) };
        assert_eq!(a.held(ObjectKind::Table, 21, SELECT), 0);
        assert_eq!(a.held(ObjectKind::Table, 20, SELECT | UPDATE), UPDATE);
        // Encoding round trip.
        let mut w = Writer::default();
        a.encode(&mut w);
        assert_eq!(Access::decode(&mut Reader::new(&w.buf)).unwrap(), a);
    }

    #[test]
    fn change_owner_merges() {
        let mut acl = default_acl(ObjectKind::Table, 10);
        grant(&mut acl, 20, 10, SELECT, false);
        change_owner(&mut acl, 10, 20);
        let text: Vec<String> = acl.iter().map(|i| item_text(i, &names)).collect();
        assert_eq!(text, ["alice=arwdDxt/alice"]);
    }
}
