//! Binding queries: WITH (including RECURSIVE), set operations, VALUES, SELECT with FROM/joins,
//! WHERE, GROUP BY/HAVING, window functions, select lists with PostgreSQL's column names,
//! DISTINCT \[ON\], ORDER BY (output names, positions or expressions), LIMIT/OFFSET.

use super::bind::{AggState, Binder, CteDef, WindowState};
use super::bind_expr::column_name;
use super::bind_lock::{attach_limit, lock_clauses, not_allowed, rowid_column, strength_name};
use super::functions;
use super::joins::{is_inner_join, plan_joins};
use super::scope::{Scope, ScopeColumn};
use super::{BinOp, Expr, JoinKind, OutputColumn, Plan, Query, SetOpKind, SortKey};
use crate::error::{Error, ErrorKind, Result};
use crate::sql::catalog::Object;
use crate::sql::types::{DataType, Value};
use sqlparser::ast;

fn unsupported(what: &str) -> Error {
    Error::new(ErrorKind::FeatureNotSupported, format!("{what} is not supported"))
}

fn is_desc(o: &ast::OrderByOptions) -> bool {
    matches!(o.sort, Some(ast::OrderBySort::Desc))
}

impl Binder<'_> {
    /// Binds a complete query; unknown-typed output columns become text.
    pub fn query(&mut self, q: &ast::Query) -> Result<Query> {
        self.enter()?;
        let r = self.query_inner(q, true);
        self.leave();
        r
    }

    /// Binds the source query of INSERT ... SELECT: output columns of unknown type stay unknown
    /// (PostgreSQL coerces them straight to the target columns), and an output column that is a
    /// bare untyped parameter is reported through [`Binder::output_param`].
    pub fn insert_source(&mut self, q: &ast::Query) -> Result<Query> {
        self.enter()?;
        let r = self.query_inner(q, false);
        self.leave();
        r
    }

    /// The parameter an output column of `plan` is, when it is a bare `$n`.
    pub fn output_param(plan: &Plan, column: usize) -> Option<usize> {
        match plan {
            Plan::Project(input, exprs) => match exprs.get(column)? {
                Expr::Param(p) => Some(*p),
                Expr::Column(c) => Self::output_param(input, *c),
                _ => None,
            },
            Plan::Sort(input, _) | Plan::Distinct(input, _) | Plan::Limit { input, .. } => {
                Self::output_param(input, column)
            }
            Plan::Values(rows) if rows.len() == 1 => match rows[0].get(column)? {
                Expr::Param(p) => Some(*p),
                _ => None,
            },
            _ => None,
        }
    }

    /// Binds a subquery of an expression over `scope` (correlated references allowed).
    pub fn subquery(&mut self, q: &ast::Query, scope: &Scope) -> Result<Query> {
        self.outer.push(scope.clone());
        let groups = self.agg.as_ref().filter(|_| !self.in_agg_arg).map(|a| a.groups.clone());
        self.outer_groups.push(groups);
        let agg = self.agg.take();
        let win = self.windows.take();
        let in_arg = std::mem::replace(&mut self.in_agg_arg, false);
        let saw = std::mem::replace(&mut self.saw_aggregate, false);
        let r = self.query(q);
        self.outer.pop();
        self.outer_groups.pop();
        self.agg = agg;
        self.windows = win;
        self.in_agg_arg = in_arg;
        self.saw_aggregate = saw;
        r
    }

    fn query_inner(&mut self, q: &ast::Query, resolve_unknown: bool) -> Result<Query> {
        let ctes_before = self.ctes.len();
        if let Some(with) = &q.with {
            for cte in &with.cte_tables {
                self.cte(cte, with.recursive)?;
            }
        }
        let order: Vec<ast::OrderByExpr> = match &q.order_by {
            Some(ob) => match &ob.kind {
                ast::OrderByKind::Expressions(e) => e.clone(),
                ast::OrderByKind::All(_) => return Err(unsupported("ORDER BY ALL")),
            },
            None => vec![],
        };
        let (limit, offset) = match &q.limit_clause {
            None => (None, None),
            Some(ast::LimitClause::LimitOffset { limit, offset, .. }) => {
                (limit.clone(), offset.as_ref().map(|o| o.value.clone()))
            }
            Some(ast::LimitClause::OffsetCommaLimit { .. }) => {
                return Err(unsupported("LIMIT offset, count"))
            }
        };
        let locks = lock_clauses(q);
        let result = (|| {
            let mut query = match q.body.as_ref() {
                ast::SetExpr::Select(s) => {
                    self.pending_lock = (!locks.is_empty()).then(|| locks.clone());
                    self.select(s, &order)?
                }
                ast::SetExpr::Values(_) if !locks.is_empty() => {
                    return Err(Error::new(
                        ErrorKind::FeatureNotSupported,
                        format!("{} cannot be applied to VALUES", strength_name(locks[0].mode)),
                    ))
                }
                ast::SetExpr::SetOperation { .. } if !locks.is_empty() => {
                    return Err(not_allowed(&locks, "UNION/INTERSECT/EXCEPT"))
                }
                body => {
                    let mut query = self.set_expr(body)?;
                    if !order.is_empty() {
                        let scope = output_scope(&query.columns);
                        let mut keys = Vec::new();
                        for o in &order {
                            let idx = self.output_position(&o.expr, &query.columns)?;
                            let expr = match idx {
                                Some(i) => Expr::Column(i),
                                None => self.expr(&o.expr, &scope)?.0,
                            };
                            let desc = is_desc(&o.options);
                            keys.push(SortKey {
                                expr,
                                desc,
                                nulls_first: o.options.nulls_first.unwrap_or(desc),
                            });
                        }
                        query.plan = Plan::Sort(Box::new(query.plan), keys);
                    }
                    query
                }
            };
            if limit.is_some() || offset.is_some() {
                let empty = Scope::default();
                let bind_count = |b: &mut Self, e: &Option<ast::Expr>| -> Result<Option<Expr>> {
                    match e {
                        None => Ok(None),
                        Some(ast::Expr::Value(v)) if matches!(v.value, ast::Value::Null) => Ok(None),
                        Some(e) => {
                            let (x, t) = b.expr(e, &empty)?;
                            let x = b.try_coerce(x, &t, &DataType::Int8)?.ok_or_else(|| {
                                Error::new(
                                    ErrorKind::DatatypeMismatch,
                                    format!("argument of LIMIT must be type bigint, not type {}", t.name()),
                                )
                            })?;
                            Ok(Some(x))
                        }
                    }
                };
                let limit = bind_count(self, &limit)?;
                let offset = bind_count(self, &offset)?;
                if locks.is_empty() || !attach_limit(&mut query.plan, &limit, &offset) {
                    query.plan = Plan::Limit { input: Box::new(query.plan), limit, offset };
                }
            }
            let catalog = self.catalog;
            query.plan = super::order::use_index_order(query.plan, &|oid| catalog.indexes_of(oid));
            if resolve_unknown {
                for c in &mut query.columns {
                    if c.data_type == DataType::Unknown {
                        c.data_type = DataType::Text;
                    }
                }
            }
            Ok(query)
        })();
        self.ctes.truncate(ctes_before);
        result
    }

    fn cte(&mut self, cte: &ast::Cte, recursive: bool) -> Result<()> {
        let name = cte.alias.name.value.clone();
        let id = self.next_cte;
        self.next_cte += 1;
        let aliases: Vec<String> = cte.alias.columns.iter().map(|c| c.name.value.clone()).collect();
        let rename = |cols: &mut Vec<(String, DataType)>| -> Result<()> {
            if aliases.len() > cols.len() {
                return Err(Error::new(
                    ErrorKind::InvalidColumnReference,
                    format!(
                        "WITH query \"{name}\" has {} columns available but {} columns specified",
                        cols.len(),
                        aliases.len()
                    ),
                ));
            }
            for (c, a) in cols.iter_mut().zip(&aliases) {
                c.0 = a.clone();
            }
            Ok(())
        };
        if recursive {
            if let ast::SetExpr::SetOperation { left, op: ast::SetOperator::Union, set_quantifier, right } =
                cte.query.body.as_ref()
            {
                let base = self.set_expr(left)?;
                let mut cols: Vec<(String, DataType)> = base
                    .columns
                    .iter()
                    .map(|c| {
                        (
                            c.name.clone(),
                            if c.data_type == DataType::Unknown {
                                DataType::Text
                            } else {
                                c.data_type.clone()
                            },
                        )
                    })
                    .collect();
                rename(&mut cols)?;
                self.ctes.push(CteDef { name: name.clone(), id, query: None, columns: cols.clone() });
                let step = self.set_expr(right);
                self.ctes.pop();
                let step = step?;
                let types: Vec<DataType> = cols.iter().map(|c| c.1.clone()).collect();
                let base_plan = self.coerce_columns(base.plan, &base.columns, &types)?;
                let step_plan = self.coerce_columns(step.plan, &step.columns, &types)?;
                let plan = Plan::Recursive {
                    cte: id,
                    base: Box::new(base_plan),
                    step: Box::new(step_plan),
                    distinct: !matches!(set_quantifier, ast::SetQuantifier::All),
                };
                let columns = cols
                    .iter()
                    .map(|(n, t)| OutputColumn {
                        name: n.clone(),
                        data_type: t.clone(),
                        table_oid: 0,
                        attnum: 0,
                    })
                    .collect();
                self.ctes.push(CteDef { name, id, query: Some(Query { plan, columns }), columns: cols });
                return Ok(());
            }
        }
        let q = self.query(&cte.query)?;
        let mut cols: Vec<(String, DataType)> =
            q.columns.iter().map(|c| (c.name.clone(), c.data_type.clone())).collect();
        rename(&mut cols)?;
        self.ctes.push(CteDef { name, id, query: Some(q), columns: cols });
        Ok(())
    }

    fn coerce_columns(&mut self, plan: Plan, cols: &[OutputColumn], types: &[DataType]) -> Result<Plan> {
        if cols.len() != types.len() {
            return Err(Error::new(
                ErrorKind::Syntax,
                "each UNION query must have the same number of columns",
            ));
        }
        if cols.iter().zip(types).all(|(c, t)| c.data_type == *t) {
            return Ok(plan);
        }
        let mut exprs = Vec::new();
        for (i, (c, t)) in cols.iter().zip(types).enumerate() {
            let e = if c.data_type == DataType::Unknown {
                Expr::Cast {
                    expr: Box::new(Expr::Column(i)),
                    from: DataType::Unknown,
                    to: t.clone(),
                    explicit: false,
                }
            } else {
                self.try_coerce(Expr::Column(i), &c.data_type, t)?.ok_or_else(|| {
                    Error::new(
                        ErrorKind::DatatypeMismatch,
                        format!("UNION types {} and {} cannot be matched", c.data_type.name(), t.name()),
                    )
                })?
            };
            exprs.push(e);
        }
        Ok(Plan::Project(Box::new(plan), exprs))
    }

    /// Binds a set expression (SELECT, VALUES, UNION ...) without query-level ORDER BY.
    pub fn set_expr(&mut self, body: &ast::SetExpr) -> Result<Query> {
        self.enter()?;
        let r = self.set_expr_inner(body);
        self.leave();
        r
    }

    fn set_expr_inner(&mut self, body: &ast::SetExpr) -> Result<Query> {
        match body {
            ast::SetExpr::Select(s) => self.select(s, &[]),
            ast::SetExpr::Query(q) => self.query_inner(q, false),
            ast::SetExpr::Values(v) => self.values(v),
            ast::SetExpr::SetOperation { left, op, set_quantifier, right } => {
                let l = self.set_expr(left)?;
                let r = self.set_expr(right)?;
                let kind = match op {
                    ast::SetOperator::Union => SetOpKind::Union,
                    ast::SetOperator::Intersect => SetOpKind::Intersect,
                    ast::SetOperator::Except | ast::SetOperator::Minus => SetOpKind::Except,
                };
                let what = match kind {
                    SetOpKind::Union => "UNION",
                    SetOpKind::Intersect => "INTERSECT",
                    SetOpKind::Except => "EXCEPT",
                };
                if l.columns.len() != r.columns.len() {
                    return Err(Error::new(
                        ErrorKind::Syntax,
                        format!("each {what} query must have the same number of columns"),
                    ));
                }
                let mut types = Vec::new();
                for (a, b) in l.columns.iter().zip(&r.columns) {
                    let t = if a.data_type == DataType::Unknown && b.data_type == DataType::Unknown {
                        DataType::Text
                    } else {
                        self.common_type(&[a.data_type.clone(), b.data_type.clone()], what)?
                    };
                    types.push(t);
                }
                let lp = self.coerce_columns(l.plan, &l.columns, &types)?;
                let rp = self.coerce_columns(r.plan, &r.columns, &types)?;
                let columns = l
                    .columns
                    .iter()
                    .zip(types)
                    .map(|(c, t)| OutputColumn {
                        name: c.name.clone(),
                        data_type: t,
                        table_oid: 0,
                        attnum: 0,
                    })
                    .collect();
                let all = matches!(set_quantifier, ast::SetQuantifier::All);
                Ok(Query {
                    plan: Plan::SetOp { kind, all, left: Box::new(lp), right: Box::new(rp) },
                    columns,
                })
            }
            _ => Err(unsupported("this kind of query")),
        }
    }

    fn values(&mut self, v: &ast::Values) -> Result<Query> {
        let empty = Scope::default();
        let mut rows = Vec::new();
        let mut width = None;
        for row in &v.rows {
            let mut bound = Vec::new();
            for e in &row.content {
                bound.push(self.expr(e, &empty)?);
            }
            if *width.get_or_insert(bound.len()) != bound.len() {
                return Err(Error::new(ErrorKind::Syntax, "VALUES lists must all be the same length"));
            }
            rows.push(bound);
        }
        let width = width.unwrap_or(0);
        let mut types = Vec::new();
        for c in 0..width {
            let col: Vec<DataType> = rows.iter().map(|r| r[c].1.clone()).collect();
            let t = if col.iter().all(|t| *t == DataType::Unknown) {
                DataType::Unknown
            } else {
                self.common_type(&col, "VALUES")?
            };
            types.push(t);
        }
        let mut out = Vec::new();
        for row in rows {
            let mut r = Vec::new();
            for (c, (x, t)) in row.into_iter().enumerate() {
                r.push(self.try_coerce(x, &t, &types[c])?.ok_or_else(|| {
                    Error::new(
                        ErrorKind::DatatypeMismatch,
                        format!("VALUES types {} and {} cannot be matched", types[c].name(), t.name()),
                    )
                })?);
            }
            out.push(r);
        }
        let columns = types
            .into_iter()
            .enumerate()
            .map(|(i, t)| OutputColumn {
                name: format!("column{}", i + 1),
                data_type: t,
                table_oid: 0,
                attnum: 0,
            })
            .collect();
        Ok(Query { plan: Plan::Values(out), columns })
    }

    /// Binds the FROM clause: its plan and scope.
    pub fn from(&mut self, from: &[ast::TableWithJoins]) -> Result<(Plan, Scope)> {
        let mut plan: Option<Plan> = None;
        let mut scope = Scope::default();
        for twj in from {
            let (p, s) = self.table_with_joins(twj)?;
            plan = Some(match plan {
                None => p,
                Some(left) => Plan::Join {
                    kind: JoinKind::Inner,
                    left: Box::new(left),
                    right: Box::new(p),
                    on: None,
                    left_width: scope.len(),
                    right_width: s.len(),
                    hash_keys: vec![],
                },
            });
            for c in s.columns {
                if let Some(q) = &c.qualifier {
                    if scope.columns.iter().any(|x| {
                        x.qualifier.as_ref() == Some(q) && x.table_oid != 0 && x.attnum == 1 && c.attnum == 1
                    }) {
                        return Err(Error::new(
                            ErrorKind::DuplicateAlias,
                            format!("table name \"{q}\" specified more than once"),
                        ));
                    }
                }
                scope.columns.push(c);
            }
        }
        Ok((plan.unwrap_or(Plan::Single), scope))
    }

    fn table_with_joins(&mut self, twj: &ast::TableWithJoins) -> Result<(Plan, Scope)> {
        let (mut plan, mut scope) = self.table_factor(&twj.relation)?;
        for j in &twj.joins {
            let (rp, rs) = self.table_factor(&j.relation)?;
            let (kind, constraint) = match &j.join_operator {
                ast::JoinOperator::Join(c) | ast::JoinOperator::Inner(c) => (JoinKind::Inner, c),
                ast::JoinOperator::Left(c) | ast::JoinOperator::LeftOuter(c) => (JoinKind::Left, c),
                ast::JoinOperator::Right(c) | ast::JoinOperator::RightOuter(c) => (JoinKind::Right, c),
                ast::JoinOperator::FullOuter(c) => (JoinKind::Full, c),
                ast::JoinOperator::CrossJoin(c) => (JoinKind::Inner, c),
                _ => return Err(unsupported("this join type")),
            };
            let left_width = scope.len();
            let mut combined = scope.clone();
            combined.columns.extend(rs.columns.iter().cloned());
            let using: Vec<String> = match constraint {
                ast::JoinConstraint::Using(cols) => {
                    cols.iter().map(|c| c.to_string().trim_matches('"').to_string()).collect()
                }
                ast::JoinConstraint::Natural => scope
                    .columns
                    .iter()
                    .filter(|c| !c.merged && rs.columns.iter().any(|r| r.name == c.name && !r.merged))
                    .map(|c| c.name.clone())
                    .collect(),
                _ => vec![],
            };
            let on = match constraint {
                ast::JoinConstraint::On(e) => Some(self.predicate(e, &combined, "JOIN/ON")?),
                ast::JoinConstraint::Using(_) | ast::JoinConstraint::Natural => {
                    let mut cond: Option<Expr> = None;
                    for name in &using {
                        let li = scope.resolve(None, name)?.ok_or_else(|| {
                            Error::new(ErrorKind::UndefinedColumn, format!("column \"{name}\" specified in USING clause does not exist in left table"))
                        })?;
                        let ri = rs.resolve(None, name)?.ok_or_else(|| {
                            Error::new(ErrorKind::UndefinedColumn, format!("column \"{name}\" specified in USING clause does not exist in right table"))
                        })?;
                        let (l, r) = self.compare_operands(
                            Expr::Column(li),
                            scope.columns[li].data_type.clone(),
                            Expr::Column(left_width + ri),
                            rs.columns[ri].data_type.clone(),
                            "=",
                        )?;
                        let eq = Expr::Binary(BinOp::Eq, Box::new(l), Box::new(r));
                        cond = Some(match cond {
                            None => eq,
                            Some(c) => Expr::Binary(BinOp::And, Box::new(c), Box::new(eq)),
                        });
                        combined.columns[left_width + ri].merged = true;
                    }
                    cond
                }
                ast::JoinConstraint::None => None,
            };
            plan = Plan::Join {
                kind,
                left: Box::new(plan),
                right: Box::new(rp),
                on,
                left_width,
                right_width: rs.len(),
                hash_keys: vec![],
            };
            scope = combined;
        }
        Ok((plan, scope))
    }

    fn alias_scope(
        &self,
        alias: &Option<ast::TableAlias>,
        default_name: &str,
        cols: Vec<ScopeColumn>,
    ) -> Result<Scope> {
        let qualifier =
            alias.as_ref().map(|a| a.name.value.clone()).unwrap_or_else(|| default_name.to_string());
        let mut cols = cols;
        if let Some(a) = alias {
            if a.columns.len() > cols.len() {
                return Err(Error::new(
                    ErrorKind::InvalidColumnReference,
                    format!(
                        "table \"{qualifier}\" has {} columns available but {} columns specified",
                        cols.len(),
                        a.columns.len()
                    ),
                ));
            }
            for (c, n) in cols.iter_mut().zip(&a.columns) {
                c.name = n.name.value.clone();
            }
        }
        for c in &mut cols {
            c.qualifier = Some(qualifier.clone());
        }
        Ok(Scope { columns: cols })
    }

    fn table_factor(&mut self, tf: &ast::TableFactor) -> Result<(Plan, Scope)> {
        match tf {
            ast::TableFactor::Table { name, alias, args, .. } => {
                let parts: Vec<String> =
                    name.0.iter().map(|p| p.to_string().trim_matches('"').to_string()).collect();
                let (schema, tname) = match parts.as_slice() {
                    [t] => (None, t.clone()),
                    [s, t] => (Some(s.clone()), t.clone()),
                    _ => return Err(unsupported("cross-database references")),
                };
                // Catalog relations (pg_catalog, information_schema): crate::sql::pgcatalog.
                if let Some(r) = self.catalog_relation(schema.as_deref(), &tname, args.is_some(), alias)? {
                    return Ok(r);
                }
                if let Some(args) = args {
                    return self.table_function(&tname, &args.args, alias);
                }
                if schema.is_none() {
                    if let Some(cte) = self.ctes.iter().rev().find(|c| c.name == tname).cloned() {
                        let cols = cte
                            .columns
                            .iter()
                            .map(|(n, t)| ScopeColumn {
                                qualifier: None,
                                name: n.clone(),
                                data_type: t.clone(),
                                table_oid: 0,
                                attnum: 0,
                                merged: false,
                            })
                            .collect();
                        let scope = self.alias_scope(alias, &tname, cols)?;
                        let plan = match cte.query {
                            Some(q) => q.plan,
                            None => Plan::WorkTable(cte.id),
                        };
                        return Ok((plan, scope));
                    }
                }
                if let Some(s) = &schema {
                    if s != "public" && s != "pg_catalog" {
                        return Err(Error::new(
                            ErrorKind::UndefinedTable,
                            format!("relation \"{s}.{tname}\" does not exist"),
                        ));
                    }
                }
                let found = self.catalog.by_name(&tname);
                if matches!(found, Some(Object::Table(_) | Object::View(_))) {
                    self.check_schema_usage(schema.is_some(), &parts.join("."))?;
                }
                if let Some(o @ (Object::Table(_) | Object::View(_))) = found {
                    self.require(o, crate::sql::auth::acl::SELECT)?;
                }
                match found {
                    Some(Object::Table(t)) => {
                        let t = t.clone();
                        let cols = t
                            .columns
                            .iter()
                            .enumerate()
                            .map(|(i, c)| ScopeColumn {
                                qualifier: None,
                                name: c.name.clone(),
                                data_type: c.data_type.clone(),
                                table_oid: t.oid,
                                attnum: i as i16 + 1,
                                merged: false,
                            })
                            .collect();
                        let mut scope = self.alias_scope(alias, &tname, cols)?;
                        let rowid = self.want_rowids;
                        if rowid {
                            scope.columns.push(rowid_column(t.oid));
                        }
                        Ok((Plan::Scan { table: t, lookup: None, rowid }, scope))
                    }
                    Some(Object::View(v)) => {
                        let v = v.clone();
                        let q = crate::sql::engine::parse_one(&v.query)?;
                        let ast::Statement::Query(q) = q else {
                            return Err(Error::new(ErrorKind::Corrupt, "view is not a query"));
                        };
                        let outer = std::mem::take(&mut self.outer);
                        let outer_groups = std::mem::take(&mut self.outer_groups);
                        let ctes = std::mem::take(&mut self.ctes);
                        // The view's relations are checked as the view's owner.
                        let acting = self.acting.replace(v.access.owner);
                        let bound = self.query(&q);
                        self.acting = acting;
                        self.outer = outer;
                        self.outer_groups = outer_groups;
                        self.ctes = ctes;
                        let bound = bound?;
                        let mut cols: Vec<ScopeColumn> = bound
                            .columns
                            .iter()
                            .map(|c| ScopeColumn {
                                qualifier: None,
                                name: c.name.clone(),
                                data_type: c.data_type.clone(),
                                table_oid: 0,
                                attnum: 0,
                                merged: false,
                            })
                            .collect();
                        for (c, n) in cols.iter_mut().zip(&v.columns) {
                            c.name = n.clone();
                        }
                        let scope = self.alias_scope(alias, &tname, cols)?;
                        Ok((bound.plan, scope))
                    }
                    _ => Err(Error::new(
                        ErrorKind::UndefinedTable,
                        format!("relation \"{}\" does not exist", parts.join(".")),
                    )),
                }
            }
            ast::TableFactor::Derived { subquery, alias, lateral, .. } => {
                if *lateral {
                    return Err(unsupported("LATERAL"));
                }
                let agg = self.agg.take();
                let win = self.windows.take();
                let q = self.query(subquery);
                self.agg = agg;
                self.windows = win;
                let q = q?;
                let cols = q
                    .columns
                    .iter()
                    .map(|c| ScopeColumn {
                        qualifier: None,
                        name: c.name.clone(),
                        data_type: c.data_type.clone(),
                        table_oid: 0,
                        attnum: 0,
                        merged: false,
                    })
                    .collect();
                let scope = self.alias_scope(alias, "", cols)?;
                let scope = if alias.is_none() {
                    Scope {
                        columns: scope
                            .columns
                            .into_iter()
                            .map(|mut c| {
                                c.qualifier = None;
                                c
                            })
                            .collect(),
                    }
                } else {
                    scope
                };
                Ok((q.plan, scope))
            }
            ast::TableFactor::NestedJoin { table_with_joins, alias } => {
                let (p, s) = self.table_with_joins(table_with_joins)?;
                match alias {
                    None => Ok((p, s)),
                    Some(_) => {
                        let s = self.alias_scope(alias, "", s.columns)?;
                        Ok((p, s))
                    }
                }
            }
            ast::TableFactor::Function { name, args, alias, .. } => {
                self.table_function(&name.to_string(), args, alias)
            }
            ast::TableFactor::UNNEST { alias, array_exprs, .. } => {
                let args: Vec<ast::FunctionArg> = array_exprs
                    .iter()
                    .map(|e| ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e.clone())))
                    .collect();
                self.table_function("unnest", &args, alias)
            }
            _ => Err(unsupported("this FROM item")),
        }
    }

    fn table_function(
        &mut self,
        name: &str,
        args: &[ast::FunctionArg],
        alias: &Option<ast::TableAlias>,
    ) -> Result<(Plan, Scope)> {
        let name = name.to_ascii_lowercase().replace('"', "");
        let name = name.strip_prefix("pg_catalog.").unwrap_or(&name).to_string();
        let empty = Scope::default();
        let mut bound = Vec::new();
        for a in args {
            match a {
                ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => bound.push(self.expr(e, &empty)?),
                _ => return Err(unsupported("named function arguments")),
            }
        }
        let (func, out, cols) = self.resolve_srf(&name, bound)?;
        // A scalar function's single column takes the table alias as its name (PostgreSQL:
        // `generate_series(1, 3) AS g` has a column `g`).
        let col_name = match alias {
            Some(a) if a.columns.is_empty() && cols.len() == 1 => a.name.value.clone(),
            _ => name.clone(),
        };
        let scols = cols
            .into_iter()
            .map(|t| ScopeColumn {
                qualifier: None,
                name: col_name.clone(),
                data_type: t,
                table_oid: 0,
                attnum: 0,
                merged: false,
            })
            .collect();
        let scope = self.alias_scope(alias, &name, scols)?;
        Ok((Plan::Function(func, out), scope))
    }

    /// Resolves a set-returning function over bound arguments: the function, the coerced
    /// arguments and its column types.
    fn resolve_srf(
        &mut self,
        name: &str,
        bound: Vec<(Expr, DataType)>,
    ) -> Result<(functions::Func, Vec<Expr>, Vec<DataType>)> {
        let types: Vec<DataType> = bound.iter().map(|b| b.1.clone()).collect();
        let Some((func, want, cols)) = functions::resolve_table_function(name, &types)? else {
            let list: Vec<String> = types.iter().map(|t| t.name()).collect();
            return Err(Error::new(
                ErrorKind::UndefinedFunction,
                format!("function {name}({}) does not exist", list.join(", ")),
            ));
        };
        let mut out = Vec::new();
        for ((x, xt), w) in bound.into_iter().zip(want.iter()) {
            out.push(self.try_coerce(x, &xt, w)?.ok_or_else(|| {
                Error::new(ErrorKind::UndefinedFunction, format!("function {name} does not exist"))
            })?);
        }
        Ok((func, out, cols))
    }

    /// Plans the set-returning calls of an ungrouped select list (`SELECT generate_series(1, 3)`,
    /// `SELECT unnest(a) FROM t`) as a ProjectSet over `plan`: each call becomes a hidden scope
    /// column that the select list's binding of the same call refers to.
    fn select_list_srfs(&mut self, s: &ast::Select, plan: Plan, scope: &mut Scope) -> Result<Plan> {
        let mut calls = Vec::new();
        for item in &s.projection {
            if let ast::SelectItem::UnnamedExpr(e) | ast::SelectItem::ExprWithAlias { expr: e, .. } = item {
                collect_srfs(e, &mut calls);
            }
        }
        if calls.is_empty() {
            return Ok(plan);
        }
        let mut srfs = Vec::new();
        for f in calls {
            let text = f.to_string();
            if self.srf_columns.iter().any(|c| c.0 == text) {
                continue; // the same call twice runs in lockstep with itself: one function
            }
            let ast::FunctionArguments::List(list) = &f.args else {
                return Err(unsupported("this form of set-returning function call"));
            };
            let mut bound = Vec::new();
            for a in &list.args {
                match a {
                    ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => {
                        bound.push(self.expr(e, scope)?)
                    }
                    _ => return Err(unsupported("named function arguments")),
                }
            }
            let (func, args, cols) = self.resolve_srf(&srf_name(f).unwrap_or_default(), bound)?;
            let t = cols.into_iter().next().unwrap_or(DataType::Unknown);
            let col = scope.columns.len();
            scope.columns.push(ScopeColumn {
                qualifier: None,
                name: String::new(),
                data_type: t.clone(),
                table_oid: 0,
                attnum: 0,
                merged: true,
            });
            self.srf_columns.push((text, col, t));
            srfs.push((func, args));
        }
        Ok(Plan::ProjectSet(Box::new(plan), srfs))
    }

    /// ORDER BY / GROUP BY item naming an output column (alias or position).
    fn output_position(&mut self, e: &ast::Expr, cols: &[OutputColumn]) -> Result<Option<usize>> {
        match e {
            ast::Expr::Value(v) => {
                if let ast::Value::Number(n, _) = &v.value {
                    let pos: i64 = n.parse().unwrap_or(0);
                    if pos < 1 || pos as usize > cols.len() {
                        return Err(Error::new(
                            ErrorKind::InvalidColumnReference,
                            format!("ORDER BY position {pos} is not in select list"),
                        ));
                    }
                    return Ok(Some(pos as usize - 1));
                }
                Ok(None)
            }
            ast::Expr::Identifier(id) => {
                let matches: Vec<usize> =
                    cols.iter().enumerate().filter(|(_, c)| c.name == id.value).map(|(i, _)| i).collect();
                match matches.len() {
                    0 => Ok(None),
                    1 => Ok(Some(matches[0])),
                    _ => Err(Error::new(
                        ErrorKind::AmbiguousColumn,
                        format!("ORDER BY \"{}\" is ambiguous", id.value),
                    )),
                }
            }
            _ => Ok(None),
        }
    }

    fn select(&mut self, s: &ast::Select, order: &[ast::OrderByExpr]) -> Result<Query> {
        let lock = self.pending_lock.take();
        let saved = std::mem::replace(&mut self.want_rowids, lock.is_some());
        let from = self.from(&s.from);
        self.want_rowids = saved;
        let (mut plan, scope) = from?;
        let mut where_pred = None;
        if let Some(w) = &s.selection {
            let saved = self.windows.take();
            let r = self.predicate(w, &scope, "WHERE");
            self.windows = saved;
            let pred = r.map_err(|e| {
                if self.saw_aggregate {
                    Error::new(ErrorKind::Grouping, "aggregate functions are not allowed in WHERE")
                } else {
                    e
                }
            })?;
            self.saw_aggregate = false;
            if lock.is_some() {
                where_pred = Some(pred.clone());
            }
            let catalog = self.catalog;
            if is_inner_join(&plan) {
                let types: Vec<DataType> = scope.columns.iter().map(|c| c.data_type.clone()).collect();
                plan = plan_joins(plan, &types, Some(pred), &|oid| catalog.indexes_of(oid)).0;
            } else {
                plan = super::access::index_filter(plan, pred, |oid| catalog.indexes_of(oid));
            }
        } else if is_inner_join(&plan) {
            let catalog = self.catalog;
            let types: Vec<DataType> = scope.columns.iter().map(|c| c.data_type.clone()).collect();
            plan = plan_joins(plan, &types, None, &|oid| catalog.indexes_of(oid)).0;
        }
        let group_by: Vec<ast::Expr> = match &s.group_by {
            ast::GroupByExpr::Expressions(e, _) => e.clone(),
            ast::GroupByExpr::All(_) => return Err(unsupported("GROUP BY ALL")),
        };
        let grouped = !group_by.is_empty() || s.having.is_some();
        let mut scope = scope;
        let saved_srfs = std::mem::take(&mut self.srf_columns);
        if !grouped {
            plan = self.select_list_srfs(s, plan, &mut scope)?;
        }
        let attempt = self.select_list(s, order, &scope, grouped, &group_by);
        let attempt = match attempt {
            Err(e) if self.saw_aggregate && !self.srf_columns.is_empty() => {
                self.srf_columns = saved_srfs;
                return Err(Error::new(
                    ErrorKind::FeatureNotSupported,
                    "set-returning functions together with aggregates are not supported",
                )
                .with_detail(e.message));
            }
            other => other,
        };
        let bound = match attempt {
            Err(_) if self.saw_aggregate && !grouped => {
                self.saw_aggregate = false;
                self.select_list(s, order, &scope, true, &group_by)?
            }
            other => other?,
        };
        self.srf_columns = saved_srfs;
        let SelectList { exprs, columns, hidden, agg, windows, distinct_on } = bound;
        if let Some(l) = &lock {
            if s.distinct.is_some() {
                return Err(not_allowed(l, "DISTINCT clause"));
            }
            if !group_by.is_empty() {
                return Err(not_allowed(l, "GROUP BY clause"));
            }
            if s.having.is_some() {
                return Err(not_allowed(l, "HAVING clause"));
            }
            if agg.is_some() {
                return Err(not_allowed(l, "aggregate functions"));
            }
            if !windows.is_empty() {
                return Err(not_allowed(l, "window functions"));
            }
        }
        if let Some(agg) = agg {
            let having = agg.1;
            plan = Plan::Aggregate { input: Box::new(plan), group_by: agg.0.groups, aggs: agg.0.aggs };
            if let Some(h) = having {
                plan = Plan::Filter(Box::new(plan), h);
            }
        }
        if !windows.is_empty() {
            plan = Plan::Window(Box::new(plan), windows);
        }
        let visible = columns.len();
        let mut all_exprs = exprs;
        let mut sort_keys = Vec::new();
        for (e, desc, nulls_first, existing) in hidden {
            let idx = match existing {
                Some(i) => i,
                None => {
                    all_exprs.push(e);
                    all_exprs.len() - 1
                }
            };
            sort_keys.push(SortKey { expr: Expr::Column(idx), desc, nulls_first });
        }
        let has_hidden = all_exprs.len() > visible;
        let distinct = match &s.distinct {
            None | Some(ast::Distinct::All) => None,
            Some(ast::Distinct::Distinct) => {
                if has_hidden {
                    return Err(Error::new(
                        ErrorKind::InvalidColumnReference,
                        "for SELECT DISTINCT, ORDER BY expressions must appear in select list",
                    ));
                }
                Some(None)
            }
            Some(ast::Distinct::On(_)) => {
                let mut keys = Vec::new();
                for e in distinct_on {
                    let idx = match all_exprs.iter().position(|x| *x == e) {
                        Some(i) => i,
                        None => {
                            all_exprs.push(e);
                            all_exprs.len() - 1
                        }
                    };
                    keys.push(Expr::Column(idx));
                }
                Some(Some(keys))
            }
        };
        if let Some(l) = &lock {
            let targets = self.lock_targets(l, &scope)?;
            let base = all_exprs.len();
            let mut with_from = all_exprs.clone();
            with_from.extend((0..scope.len()).map(Expr::Column));
            plan = Plan::Project(Box::new(plan), with_from);
            if !sort_keys.is_empty() {
                plan = Plan::Sort(Box::new(plan), sort_keys);
            }
            plan = Plan::LockRows {
                input: Box::new(plan),
                base,
                predicate: where_pred,
                project: all_exprs,
                targets,
                limit: None,
                offset: None,
            };
            plan = Plan::Project(Box::new(plan), (0..visible).map(Expr::Column).collect());
            return Ok(Query { plan, columns });
        }
        plan = Plan::Project(Box::new(plan), all_exprs.clone());
        if !sort_keys.is_empty() {
            plan = Plan::Sort(Box::new(plan), sort_keys);
        }
        if let Some(d) = distinct {
            let keys = match d {
                None => Some((0..visible).map(Expr::Column).collect()),
                Some(k) => Some(k),
            };
            plan = Plan::Distinct(Box::new(plan), keys);
        }
        if all_exprs.len() > visible {
            plan = Plan::Project(Box::new(plan), (0..visible).map(Expr::Column).collect());
        }
        Ok(Query { plan, columns })
    }

    fn select_list(
        &mut self,
        s: &ast::Select,
        order: &[ast::OrderByExpr],
        scope: &Scope,
        grouped: bool,
        group_by: &[ast::Expr],
    ) -> Result<SelectList> {
        self.saw_aggregate = false;
        let mut having = None;
        if grouped {
            let mut state = AggState::default();
            for g in group_by {
                // GROUP BY may name an output column by position or alias.
                let target = match g {
                    ast::Expr::Value(v) => match &v.value {
                        ast::Value::Number(n, _) => {
                            let pos: usize = n.parse().unwrap_or(0);
                            let items = &s.projection;
                            match items.get(pos.wrapping_sub(1)) {
                                Some(ast::SelectItem::UnnamedExpr(e))
                                | Some(ast::SelectItem::ExprWithAlias { expr: e, .. }) => e.clone(),
                                _ => {
                                    return Err(Error::new(
                                        ErrorKind::InvalidColumnReference,
                                        format!("GROUP BY position {pos} is not in select list"),
                                    ))
                                }
                            }
                        }
                        _ => g.clone(),
                    },
                    ast::Expr::Identifier(id) if scope.resolve(None, &id.value)?.is_none() => {
                        match s.projection.iter().find_map(|i| match i {
                            ast::SelectItem::ExprWithAlias { expr, alias } if alias.value == id.value => {
                                Some(expr.clone())
                            }
                            _ => None,
                        }) {
                            Some(e) => e,
                            None => g.clone(),
                        }
                    }
                    _ => g.clone(),
                };
                let (x, t) = self.expr(&target, scope)?;
                if !state.groups.contains(&x) {
                    state.groups.push(x);
                    state.group_types.push(t);
                }
            }
            self.agg = Some(state);
            if let Some(h) = &s.having {
                match self.predicate(h, scope, "HAVING") {
                    Ok(p) => having = Some(p),
                    Err(e) => {
                        self.agg = None;
                        return Err(e);
                    }
                }
            }
        }
        let base = match &self.agg {
            Some(a) => a.groups.len(),
            None => scope.len(),
        };
        self.windows = Some(WindowState { base: usize::MAX / 2, calls: vec![] });
        let r = self.select_items(s, order, scope);
        let windows = self.windows.take().map(|w| w.calls).unwrap_or_default();
        let agg = self.agg.take();
        let (exprs, columns, hidden, distinct_on) = r?;
        // Window columns were numbered from a placeholder base; now that the aggregate count is
        // known, renumber them to follow the window node's input.
        let input_width = match &agg {
            Some(a) => a.groups.len() + a.aggs.len(),
            None => base,
        };
        let fix = |e: Expr| renumber_windows(e, input_width);
        let exprs: Vec<Expr> = exprs.into_iter().map(fix).collect();
        let hidden = hidden.into_iter().map(|(e, d, n, x)| (fix(e), d, n, x)).collect();
        let distinct_on = distinct_on.into_iter().map(fix).collect();
        Ok(SelectList { exprs, columns, hidden, agg: agg.map(|a| (a, having)), windows, distinct_on })
    }

    #[allow(clippy::type_complexity)]
    fn select_items(
        &mut self,
        s: &ast::Select,
        order: &[ast::OrderByExpr],
        scope: &Scope,
    ) -> Result<(Vec<Expr>, Vec<OutputColumn>, Vec<(Expr, bool, bool, Option<usize>)>, Vec<Expr>)> {
        let mut exprs = Vec::new();
        let mut columns = Vec::new();
        let star_cols = |q: Option<&str>| -> Vec<usize> {
            scope
                .columns
                .iter()
                .enumerate()
                .filter(|(_, c)| match q {
                    None => !c.merged,
                    Some(q) => c.qualifier.as_deref() == Some(q),
                })
                .map(|(i, _)| i)
                .collect()
        };
        for item in &s.projection {
            match item {
                ast::SelectItem::Wildcard(_) => {
                    if scope.is_empty() {
                        return Err(Error::new(
                            ErrorKind::Syntax,
                            "SELECT * with no tables specified is not valid",
                        ));
                    }
                    for i in star_cols(None) {
                        let c = &scope.columns[i];
                        exprs.push(self.grouped_column(i, scope)?);
                        columns.push(OutputColumn {
                            name: c.name.clone(),
                            data_type: c.data_type.clone(),
                            table_oid: c.table_oid,
                            attnum: c.attnum,
                        });
                    }
                }
                ast::SelectItem::QualifiedWildcard(kind, _) => {
                    let q = match kind {
                        ast::SelectItemQualifiedWildcardKind::ObjectName(n) => {
                            n.0.last()
                                .map(|p| p.to_string().trim_matches('"').to_string())
                                .unwrap_or_default()
                        }
                        ast::SelectItemQualifiedWildcardKind::Expr(e) => e.to_string(),
                    };
                    let cols = star_cols(Some(&q));
                    if cols.is_empty() {
                        return Err(Error::new(
                            ErrorKind::UndefinedTable,
                            format!("missing FROM-clause entry for table \"{q}\""),
                        ));
                    }
                    for i in cols {
                        let c = &scope.columns[i];
                        exprs.push(self.grouped_column(i, scope)?);
                        columns.push(OutputColumn {
                            name: c.name.clone(),
                            data_type: c.data_type.clone(),
                            table_oid: c.table_oid,
                            attnum: c.attnum,
                        });
                    }
                }
                ast::SelectItem::UnnamedExpr(e) | ast::SelectItem::ExprWithAlias { expr: e, .. } => {
                    let (x, t) = self.expr(e, scope)?;
                    let name = match item {
                        ast::SelectItem::ExprWithAlias { alias, .. } => alias.value.clone(),
                        _ => column_name(e),
                    };
                    let (table_oid, attnum) = match (&x, e) {
                        (Expr::Column(i), ast::Expr::Identifier(_) | ast::Expr::CompoundIdentifier(_))
                            if self.agg.is_none() =>
                        {
                            (scope.columns[*i].table_oid, scope.columns[*i].attnum)
                        }
                        _ => (0, 0),
                    };
                    exprs.push(x);
                    columns.push(OutputColumn { name, data_type: t, table_oid, attnum });
                }
                ast::SelectItem::ExprWithAliases { .. } => return Err(unsupported("multiple aliases")),
            }
        }
        let mut hidden = Vec::new();
        for o in order {
            let desc = is_desc(&o.options);
            let nulls_first = o.options.nulls_first.unwrap_or(desc);
            if let Some(i) = self.output_position(&o.expr, &columns)? {
                hidden.push((Expr::Column(i), desc, nulls_first, Some(i)));
                continue;
            }
            let (x, _) = self.expr(&o.expr, scope)?;
            let existing = exprs.iter().position(|e| *e == x);
            hidden.push((x, desc, nulls_first, existing));
        }
        let mut distinct_on = Vec::new();
        if let Some(ast::Distinct::On(list)) = &s.distinct {
            for e in list {
                let x = match self.output_position(e, &columns)? {
                    Some(i) => exprs[i].clone(),
                    None => self.expr(e, scope)?.0,
                };
                distinct_on.push(x);
            }
        }
        Ok((exprs, columns, hidden, distinct_on))
    }

    fn grouped_column(&mut self, i: usize, scope: &Scope) -> Result<Expr> {
        match &self.agg {
            None => Ok(Expr::Column(i)),
            Some(a) => match a.groups.iter().position(|g| *g == Expr::Column(i)) {
                Some(g) => Ok(Expr::Column(g)),
                None => {
                    let c = &scope.columns[i];
                    let q = c.qualifier.as_ref().map(|q| format!("{q}.")).unwrap_or_default();
                    Err(Error::new(
                        ErrorKind::Grouping,
                        format!("column \"{q}{}\" must appear in the GROUP BY clause or be used in an aggregate function", c.name),
                    ))
                }
            },
        }
    }
}

struct SelectList {
    exprs: Vec<Expr>,
    columns: Vec<OutputColumn>,
    hidden: Vec<(Expr, bool, bool, Option<usize>)>,
    agg: Option<(AggState, Option<Expr>)>,
    windows: Vec<super::WindowCall>,
    distinct_on: Vec<Expr>,
}

/// Replaces the placeholder window column numbers (from `usize::MAX / 2`) by `base + k`.
/// The name of a set-returning function called as `f` (`generate_series`, `unnest`), if it is one.
fn srf_name(f: &ast::Function) -> Option<String> {
    let name = f.name.to_string().to_ascii_lowercase().replace('"', "");
    let name = name.strip_prefix("pg_catalog.").unwrap_or(&name).to_string();
    (f.over.is_none() && matches!(name.as_str(), "generate_series" | "unnest")).then_some(name)
}

/// Set-returning calls in a select-list expression (not inside subqueries or other SRFs'
/// arguments). Iterative: select lists can hold very long operator chains.
fn collect_srfs<'e>(e: &'e ast::Expr, out: &mut Vec<&'e ast::Function>) {
    let mut stack = vec![e];
    while let Some(e) = stack.pop() {
        match e {
            ast::Expr::Function(f) if srf_name(f).is_some() => out.push(f),
            ast::Expr::Function(f) => {
                if let ast::FunctionArguments::List(list) = &f.args {
                    for a in list.args.iter().rev() {
                        if let ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(x)) = a {
                            stack.push(x);
                        }
                    }
                }
            }
            ast::Expr::BinaryOp { left, right, .. } => {
                stack.push(right);
                stack.push(left);
            }
            ast::Expr::UnaryOp { expr, .. } | ast::Expr::Nested(expr) | ast::Expr::Cast { expr, .. } => {
                stack.push(expr)
            }
            _ => {}
        }
    }
}

fn renumber_windows(e: Expr, base: usize) -> Expr {
    const PLACEHOLDER: usize = usize::MAX / 2;
    let f = |x: Box<Expr>| Box::new(renumber_windows(*x, base));
    match e {
        Expr::Column(i) if i >= PLACEHOLDER => Expr::Column(base + (i - PLACEHOLDER)),
        Expr::Unary(o, a) => Expr::Unary(o, f(a)),
        Expr::Binary(o, a, b) => Expr::Binary(o, f(a), f(b)),
        Expr::IsNull(a, n) => Expr::IsNull(f(a), n),
        Expr::IsBool(a, v, n) => Expr::IsBool(f(a), v, n),
        Expr::IsDistinct(a, b, n) => Expr::IsDistinct(f(a), f(b), n),
        Expr::Cast { expr, from, to, explicit } => Expr::Cast { expr: f(expr), from, to, explicit },
        Expr::Func(func, args) => {
            Expr::Func(func, args.into_iter().map(|a| renumber_windows(a, base)).collect())
        }
        Expr::Case { operand, whens, else_ } => Expr::Case {
            operand: operand.map(f),
            whens: whens
                .into_iter()
                .map(|(a, b)| (renumber_windows(a, base), renumber_windows(b, base)))
                .collect(),
            else_: else_.map(f),
        },
        other => other,
    }
}

fn output_scope(cols: &[OutputColumn]) -> Scope {
    Scope {
        columns: cols
            .iter()
            .map(|c| ScopeColumn {
                qualifier: None,
                name: c.name.clone(),
                data_type: c.data_type.clone(),
                table_oid: 0,
                attnum: 0,
                merged: false,
            })
            .collect(),
    }
}

/// A constant expression's value for planning decisions (`None` if not constant).
pub fn const_value(e: &Expr) -> Option<&Value> {
    match e {
        Expr::Const(v) => Some(v),
        _ => None,
    }
}
