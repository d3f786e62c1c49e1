//! Name scopes: the columns a FROM clause makes visible, with the qualifier (table name or alias)
//! each can be named by. A query's row is the concatenation of its FROM items' columns, so a
//! column's position in the scope is its position in the row.

use crate::error::{Error, ErrorKind, Result};
use crate::sql::types::DataType;

/// One visible column.
#[derive(Clone, Debug, PartialEq)]
pub struct ScopeColumn {
    /// Table name or alias that qualifies it.
    pub qualifier: Option<String>,
    /// Column name.
    pub name: String,
    /// Type.
    pub data_type: DataType,
    /// Source table OID (0 if computed).
    pub table_oid: u32,
    /// Source attribute number (0 if computed).
    pub attnum: i16,
    /// Hidden from unqualified references and `*` (the right side of a USING join).
    pub merged: bool,
}

/// The columns visible to expressions of one query level.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Scope {
    /// Columns in row order.
    pub columns: Vec<ScopeColumn>,
}

impl Scope {
    /// Finds a column: `Ok(None)` when absent, 42702 when ambiguous.
    pub fn resolve(&self, qualifier: Option<&str>, name: &str) -> Result<Option<usize>> {
        let mut found = None;
        for (i, c) in self.columns.iter().enumerate() {
            let matches = match qualifier {
                Some(q) => c.qualifier.as_deref() == Some(q) && c.name == name,
                None => c.name == name && !c.merged,
            };
            if matches {
                if found.is_some() {
                    return Err(Error::new(
                        ErrorKind::AmbiguousColumn,
                        format!("column reference \"{name}\" is ambiguous"),
                    ));
                }
                found = Some(i);
            }
        }
        Ok(found)
    }

    /// Whether any column has this qualifier.
    pub fn has_qualifier(&self, q: &str) -> bool {
        self.columns.iter().any(|c| c.qualifier.as_deref() == Some(q))
    }

    /// Number of columns.
    pub fn len(&self) -> usize {
        self.columns.len()
    }

    /// Whether there are no columns.
    pub fn is_empty(&self) -> bool {
        self.columns.is_empty()
    }
}
