//! The binder's state and the coercion rules shared by every kind of statement.
//!
//! Coercion follows PostgreSQL: an *unknown* literal takes the type its context needs and is
//! converted at bind time (so `'x'::int` and `WHERE i = 'x'` fail with 22P02 before any row is
//! read); an untyped parameter takes the type of its context and is reported with that type; a
//! typed value is converted only along implicit casts (int -> numeric -> float, varchar ->
//! text, date -> timestamp), otherwise the caller reports PostgreSQL's error for its context.

use super::scope::Scope;
use super::{AggCall, Expr, Query, WindowCall, MAX_EXPR_DEPTH};
use crate::error::{Error, ErrorKind, Result};
use crate::sql::catalog::Catalog;
use crate::sql::types::{cast, DataType, FormatContext, Value};

/// A common table expression visible to the query being bound.
#[derive(Clone, Debug)]
pub struct CteDef {
    /// Its name.
    pub name: String,
    /// Runner id (the work table of a recursive CTE).
    pub id: usize,
    /// The bound query; `None` while its recursive term is being bound (references read the work
    /// table).
    pub query: Option<Query>,
    /// Its columns (names and types).
    pub columns: Vec<(String, DataType)>,
}

/// Grouping state while binding the expressions above an Aggregate node.
#[derive(Clone, Debug, Default)]
pub struct AggState {
    /// GROUP BY expressions (over the FROM row).
    pub groups: Vec<Expr>,
    /// Their types.
    pub group_types: Vec<DataType>,
    /// Aggregate calls found so far.
    pub aggs: Vec<AggCall>,
}

/// Window functions found while binding a select list.
#[derive(Clone, Debug, Default)]
pub struct WindowState {
    /// Position of the first window column in the Window node's output.
    pub base: usize,
    /// The calls.
    pub calls: Vec<WindowCall>,
}

/// Binds statements against a catalog snapshot.
pub struct Binder<'a> {
    /// The catalog as the transaction sees it.
    pub catalog: &'a Catalog,
    /// Parameter types ($1 = index 0); `Unknown` until inferred.
    pub params: Vec<DataType>,
    /// Scopes of enclosing queries (innermost last), for correlated references.
    pub outer: Vec<Scope>,
    /// For each enclosing scope, its GROUP BY expressions when the subquery is evaluated above
    /// that query's Aggregate (the row it sees is then group values ++ aggregates).
    pub outer_groups: Vec<Option<Vec<Expr>>>,
    /// Visible CTEs (innermost last).
    pub ctes: Vec<CteDef>,
    /// Current recursion depth.
    pub depth: usize,
    /// Formatting settings for literal input (DateStyle).
    pub fmt: FormatContext,
    /// Grouping state when binding above an Aggregate.
    pub agg: Option<AggState>,
    /// Inside an aggregate's arguments.
    pub in_agg_arg: bool,
    /// Window calls when binding a select list.
    pub windows: Option<WindowState>,
    /// An aggregate call was seen while binding without grouping state.
    pub saw_aggregate: bool,
    /// Next CTE id.
    pub next_cte: usize,
    /// Locking clauses of the query whose SELECT is about to be bound (taken by that SELECT).
    pub pending_lock: Option<Vec<super::bind_lock::LockClause>>,
    /// Base-table scans of the FROM clause being bound carry their row ids (locking SELECT).
    pub want_rowids: bool,
    /// Set-returning calls of the select list being bound, already planned as a ProjectSet:
    /// (the call's text, its column in the scope, its type).
    pub srf_columns: Vec<(String, usize, DataType)>,
    /// The role privileges are checked for while binding a view's query (its owner); `None` =
    /// the statement's current role.
    pub acting: Option<u32>,
    /// Tables whose columns the statement reads (UPDATE and DELETE then need SELECT).
    pub read_tables: Vec<u32>,
}

impl<'a> Binder<'a> {
    /// A binder with the client's parameter type hints.
    pub fn new(catalog: &'a Catalog, params: &[DataType], fmt: FormatContext) -> Self {
        Binder {
            catalog,
            params: params.to_vec(),
            outer: Vec::new(),
            outer_groups: Vec::new(),
            ctes: Vec::new(),
            depth: 0,
            fmt,
            agg: None,
            in_agg_arg: false,
            windows: None,
            saw_aggregate: false,
            next_cte: 0,
            pending_lock: None,
            want_rowids: false,
            srf_columns: Vec::new(),
            acting: None,
            read_tables: Vec::new(),
        }
    }

    /// The role privileges are checked for.
    pub fn acting_role(&self) -> u32 {
        self.acting.unwrap_or(self.catalog.auth.current)
    }

    /// Requires `privs` on `obj` for the acting role.
    pub fn require(&self, obj: &crate::sql::catalog::Object, privs: u16) -> Result<()> {
        self.catalog.require(self.acting_role(), obj, privs)
    }

    /// Checks that a user relation may be named: USAGE on schema `public`. Unqualified names skip a
    /// schema without USAGE in the search path (so the relation is not found, 42P01); qualified
    /// ones get 42501 `permission denied for schema public`.
    pub fn check_schema_usage(&self, qualified: bool, display: &str) -> Result<()> {
        if self.catalog.has_public(self.acting_role(), crate::sql::auth::acl::USAGE) {
            return Ok(());
        }
        if qualified {
            Err(crate::sql::auth::permission_denied("schema", "public"))
        } else {
            Err(Error::new(ErrorKind::UndefinedTable, format!("relation \"{display}\" does not exist")))
        }
    }

    /// Enters one level of recursion: 54001 past [`MAX_EXPR_DEPTH`].
    pub fn enter(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_EXPR_DEPTH {
            return Err(Error::new(ErrorKind::StatementTooComplex, "stack depth limit exceeded").with_hint(
                "Increase the configuration parameter \"max_stack_depth\" (currently 2048kB), after ensuring the platform's stack depth limit is adequate.",
            ));
        }
        Ok(())
    }

    /// Leaves one level of recursion.
    pub fn leave(&mut self) {
        self.depth -= 1;
    }

    /// The final parameter types: never `Unknown` (uninferable parameters are text), and without
    /// type modifiers (a parameter assigned to a `varchar(10)` column is `varchar`, as in
    /// PostgreSQL; the assignment checks the length).
    pub fn param_types(&self) -> Vec<DataType> {
        self.params
            .iter()
            .map(|t| if *t == DataType::Unknown { DataType::Text } else { t.without_typmod() })
            .collect()
    }

    /// Coerces `e` of type `from` to `to` for use where `to` is required (implicit casts only);
    /// `None` when no implicit coercion exists.
    pub fn try_coerce(&mut self, e: Expr, from: &DataType, to: &DataType) -> Result<Option<Expr>> {
        if from == to || *to == DataType::Unknown {
            return Ok(Some(e));
        }
        if *from == DataType::Unknown {
            return Ok(Some(match e {
                Expr::Const(Value::Null) => Expr::Const(Value::Null),
                Expr::Const(Value::Text(s)) => Expr::Const(Value::from_text(&s, to, &self.fmt)?),
                Expr::Param(i) => {
                    if self.params.get(i) == Some(&DataType::Unknown) {
                        self.params[i] = to.clone();
                        Expr::Param(i)
                    } else {
                        Expr::Cast {
                            expr: Box::new(Expr::Param(i)),
                            from: DataType::Text,
                            to: to.clone(),
                            explicit: false,
                        }
                    }
                }
                other => Expr::Cast {
                    expr: Box::new(other),
                    from: DataType::Text,
                    to: to.clone(),
                    explicit: false,
                },
            }));
        }
        if from.without_typmod() == to.without_typmod() {
            return Ok(Some(e));
        }
        if cast::can_coerce_implicitly(from, to) {
            return Ok(Some(cast_expr(e, from, to, false, &self.fmt)?));
        }
        Ok(None)
    }

    /// Coerces for assignment to a column of type `to` (INSERT/UPDATE): 42804 when impossible.
    pub fn coerce_assign(&mut self, e: Expr, from: &DataType, to: &DataType, column: &str) -> Result<Expr> {
        if *from == DataType::Unknown || from == to {
            let e = self.try_coerce(e, from, to)?.unwrap_or(Expr::Const(Value::Null));
            return Ok(typmod_check(e, to));
        }
        if cast::can_assign(from, to) {
            return cast_expr(e, from, to, false, &self.fmt);
        }
        Err(Error::new(
            ErrorKind::DatatypeMismatch,
            format!("column \"{column}\" is of type {} but expression is of type {}", to.name(), from.name()),
        )
        .with_hint("You will need to rewrite or cast the expression."))
    }

    /// The common type of several expressions (CASE, COALESCE, UNION, VALUES, IN); `what` names
    /// the construct in the 42804 message.
    pub fn common_type(&self, types: &[DataType], what: &str) -> Result<DataType> {
        let mut result: Option<DataType> = None;
        for t in types {
            if *t == DataType::Unknown {
                continue;
            }
            result = Some(match result {
                None => t.clone(),
                Some(r) => unify(&r, t).ok_or_else(|| {
                    Error::new(
                        ErrorKind::DatatypeMismatch,
                        format!("{what} types {} and {} cannot be matched", r.name(), t.name()),
                    )
                })?,
            });
        }
        Ok(result.unwrap_or(DataType::Text))
    }
}

/// The common type of two known types, if any.
pub fn unify(a: &DataType, b: &DataType) -> Option<DataType> {
    use DataType::*;
    if a == b {
        return Some(a.clone());
    }
    if a.without_typmod() == b.without_typmod() {
        return Some(a.without_typmod());
    }
    if a.is_numeric() && b.is_numeric() {
        return super::functions::numeric_promote(a, b);
    }
    if a.is_string() && b.is_string() {
        return Some(Text);
    }
    match (a, b) {
        (Date, Timestamp) | (Timestamp, Date) => Some(Timestamp),
        (Date | Timestamp, Timestamptz) | (Timestamptz, Date | Timestamp) => Some(Timestamptz),
        (Array(x), Array(y)) => unify(x, y).map(|t| Array(Box::new(t))),
        // PostgreSQL casts integers to oid implicitly (`reloftype = 0`).
        (Oid, Int2 | Int4 | Int8) | (Int2 | Int4 | Int8, Oid) => Some(Oid),
        _ => None,
    }
}

fn typmod_check(e: Expr, to: &DataType) -> Expr {
    match to {
        DataType::Varchar(Some(_)) | DataType::Char(Some(_)) | DataType::Numeric(Some(_)) => match e {
            Expr::Const(_) => e,
            other => Expr::Cast {
                expr: Box::new(other),
                from: to.without_typmod(),
                to: to.clone(),
                explicit: false,
            },
        },
        _ => e,
    }
}

/// A cast expression, folded when the operand is constant.
pub fn cast_expr(
    e: Expr,
    from: &DataType,
    to: &DataType,
    explicit: bool,
    fmt: &FormatContext,
) -> Result<Expr> {
    if let Expr::Const(v) = &e {
        return Ok(Expr::Const(cast::cast(v.clone(), from, to, fmt, explicit)?));
    }
    Ok(Expr::Cast { expr: Box::new(e), from: from.clone(), to: to.clone(), explicit })
}
