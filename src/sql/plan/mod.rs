//! Bound statements: the binder turns sqlparser's AST into typed expressions ([`Expr`]) and
//! plan trees ([`Plan`]) with every name resolved, every implicit coercion explicit and every
//! parameter typed; the executor ([`crate::sql::exec`]) runs them.
//!
//! A plan node produces rows (`Vec<Value>`); expressions refer to the input row of the node that
//! evaluates them by position ([`Expr::Column`]), to rows of enclosing queries for correlated
//! subqueries ([`Expr::Outer`]), and to parameters. A SELECT becomes, bottom up:
//!
//! ```text
//! FROM (Scan / Values / Join / Function / Subquery)   rows of the FROM items, concatenated
//!   -> Filter (WHERE) -> Aggregate (GROUP BY: group values ++ aggregate values)
//!   -> Filter (HAVING) -> Window (input ++ window values)
//!   -> Project (select list ++ hidden ORDER BY keys) -> Sort -> Distinct -> Limit
//!   -> Project (drop the hidden keys)
//! ```
//!
//! Depth: the binder counts its recursion and stops at [`MAX_EXPR_DEPTH`] with 54001, so
//! evaluation (which recurses over bound trees) is bounded too.

pub mod access;
pub mod bind;
pub mod bind_dml;
pub mod bind_expr;
pub mod bind_lock;
pub mod bind_query;
pub mod explain;
pub mod functions;
pub mod joins;
pub mod order;
pub mod scope;

use crate::sql::catalog::TableDef;
use crate::sql::types::{DataType, Value};
pub use crate::txn::locks::LockMode;

/// Deepest expression or query nesting the binder accepts (deeper: 54001).
pub const MAX_EXPR_DEPTH: usize = 200;

/// Binary operators after binding (operands already coerced to the operator's input types).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    /// +
    Add,
    /// -
    Sub,
    /// *
    Mul,
    /// /
    Div,
    /// %
    Mod,
    /// ^
    Pow,
    /// =
    Eq,
    /// <>
    Ne,
    /// <
    Lt,
    /// <=
    Le,
    /// >
    Gt,
    /// >=
    Ge,
    /// ||
    Concat,
    /// AND
    And,
    /// OR
    Or,
    /// ~ (`ci`: ~*)
    Regex {
        /// Case-insensitive.
        ci: bool,
        /// !~.
        negated: bool,
    },
    /// & (integers)
    BitAnd,
    /// | (integers)
    BitOr,
    /// << (integers)
    ShiftLeft,
    /// >> (integers)
    ShiftRight,
}

impl BinOp {
    /// The operator as PostgreSQL spells it (error messages, EXPLAIN).
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Mod => "%",
            BinOp::Pow => "^",
            BinOp::Eq => "=",
            BinOp::Ne => "<>",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::Concat => "||",
            BinOp::And => "AND",
            BinOp::Or => "OR",
            BinOp::Regex { ci: false, negated: false } => "~",
            BinOp::Regex { ci: true, negated: false } => "~*",
            BinOp::Regex { ci: false, negated: true } => "!~",
            BinOp::Regex { ci: true, negated: true } => "!~*",
            BinOp::BitAnd => "&",
            BinOp::BitOr => "|",
            BinOp::ShiftLeft => "<<",
            BinOp::ShiftRight => ">>",
        }
    }
}

/// Unary operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnOp {
    /// -x
    Neg,
    /// NOT x
    Not,
}

/// The kind of a subquery expression.
#[derive(Clone, Debug, PartialEq)]
pub enum SubqueryKind {
    /// `(SELECT x)`: one value, NULL when no row, 21000 when more than one.
    Scalar,
    /// `EXISTS (...)`.
    Exists,
    /// `x op ANY/ALL (SELECT ...)` (IN is `= ANY`, NOT IN is `<> ALL`).
    Quantified {
        /// The left operand.
        left: Box<Expr>,
        /// The comparison.
        op: BinOp,
        /// ALL instead of ANY.
        all: bool,
    },
    /// `ARRAY(SELECT ...)`.
    Array,
}

/// A bound expression.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// A constant.
    Const(Value),
    /// A column of the input row.
    Column(usize),
    /// A column of an enclosing query's row: levels up (1 = the enclosing query), position.
    Outer(usize, usize),
    /// Parameter `$n` (0-based).
    Param(usize),
    /// A unary operator.
    Unary(UnOp, Box<Expr>),
    /// A binary operator.
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// IS \[NOT\] NULL (`true` = IS NOT NULL).
    IsNull(Box<Expr>, bool),
    /// IS \[NOT\] DISTINCT FROM (`true` = IS NOT DISTINCT FROM).
    IsDistinct(Box<Expr>, Box<Expr>, bool),
    /// IS \[NOT\] TRUE/FALSE: expr, the value tested, negated.
    IsBool(Box<Expr>, bool, bool),
    /// CASE.
    Case {
        /// CASE x WHEN ...: the operand.
        operand: Option<Box<Expr>>,
        /// WHEN condition/value, THEN result.
        whens: Vec<(Expr, Expr)>,
        /// ELSE.
        else_: Option<Box<Expr>>,
    },
    /// A cast.
    Cast {
        /// The value.
        expr: Box<Expr>,
        /// Its type.
        from: DataType,
        /// The target type.
        to: DataType,
        /// Written as CAST/:: (truncates strings) rather than implicit.
        explicit: bool,
    },
    /// A scalar function call.
    Func(functions::Func, Vec<Expr>),
    /// \[NOT\] \[I\]LIKE.
    Like {
        /// The string.
        expr: Box<Expr>,
        /// The pattern.
        pattern: Box<Expr>,
        /// ESCAPE character.
        escape: Option<char>,
        /// ILIKE.
        ci: bool,
        /// NOT.
        negated: bool,
    },
    /// \[NOT\] IN (list).
    InList(Box<Expr>, Vec<Expr>, bool),
    /// `x op ANY/ALL (array)`.
    AnyArray {
        /// The left operand.
        left: Box<Expr>,
        /// The comparison.
        op: BinOp,
        /// The array.
        array: Box<Expr>,
        /// ALL.
        all: bool,
    },
    /// A subquery.
    Subquery(Box<Plan>, SubqueryKind),
    /// ARRAY[...].
    Array(Vec<Expr>),
    /// `array[i]`.
    Subscript(Box<Expr>, Box<Expr>),
}

/// An aggregate function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AggFunc {
    /// count(*)
    CountStar,
    /// count(x)
    Count,
    /// sum
    Sum,
    /// avg
    Avg,
    /// min
    Min,
    /// max
    Max,
    /// string_agg
    StringAgg,
    /// bool_and / every
    BoolAnd,
    /// bool_or
    BoolOr,
    /// array_agg
    ArrayAgg,
}

/// One aggregate call.
#[derive(Clone, Debug, PartialEq)]
pub struct AggCall {
    /// The function.
    pub func: AggFunc,
    /// Arguments (over the aggregate's input row).
    pub args: Vec<Expr>,
    /// DISTINCT.
    pub distinct: bool,
    /// FILTER (WHERE ...).
    pub filter: Option<Expr>,
    /// ORDER BY inside the call (string_agg, array_agg).
    pub order_by: Vec<SortKey>,
    /// The argument type.
    pub arg_type: DataType,
    /// The result type.
    pub result_type: DataType,
}

/// A window function.
#[derive(Clone, Debug, PartialEq)]
pub enum WindowFunc {
    /// row_number()
    RowNumber,
    /// rank()
    Rank,
    /// dense_rank()
    DenseRank,
    /// lag(x[, n[, default]]) / lead: the offset sign says which.
    Lag(bool),
    /// An aggregate over the window frame.
    Agg(AggCall),
}

/// A window function call.
#[derive(Clone, Debug, PartialEq)]
pub struct WindowCall {
    /// The function.
    pub func: WindowFunc,
    /// Arguments (lag/lead).
    pub args: Vec<Expr>,
    /// PARTITION BY.
    pub partition_by: Vec<Expr>,
    /// ORDER BY.
    pub order_by: Vec<SortKey>,
    /// The frame is the whole partition (no ORDER BY, or an explicit UNBOUNDED FOLLOWING frame).
    pub whole_partition: bool,
    /// ROWS frame (not RANGE): the current row ends the frame, not its last peer.
    pub rows_frame: bool,
}

/// A sort key.
#[derive(Clone, Debug, PartialEq)]
pub struct SortKey {
    /// The expression.
    pub expr: Expr,
    /// DESC.
    pub desc: bool,
    /// NULLS FIRST (default: NULLS LAST for ASC, FIRST for DESC).
    pub nulls_first: bool,
}

/// Join kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JoinKind {
    /// INNER / CROSS / comma.
    Inner,
    /// LEFT.
    Left,
    /// RIGHT.
    Right,
    /// FULL.
    Full,
}

/// Set operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetOpKind {
    /// UNION.
    Union,
    /// INTERSECT.
    Intersect,
    /// EXCEPT.
    Except,
}

/// A plan node.
#[derive(Clone, Debug, PartialEq)]
pub enum Plan {
    /// One row without columns (SELECT without FROM).
    Single,
    /// The rows of a table: all of them, or with `lookup` those an index scan finds (a superset
    /// of what the Filter above keeps).
    Scan {
        /// The table.
        table: TableDef,
        /// The index access path ([`access`]), or `None` for a full scan.
        lookup: Option<access::IndexScan>,
        /// Append the row id (int8) after the columns, for [`Plan::LockRows`].
        rowid: bool,
    },
    /// SELECT ... FOR UPDATE / NO KEY UPDATE / SHARE / KEY SHARE: locks the rows of `targets`
    /// behind each input row, in input order, until `offset + limit` rows are kept (PostgreSQL's
    /// LockRows sits under Limit and over Sort). Each input row is the projection (`base`
    /// columns) followed by the FROM row it was computed from; a row changed by a transaction that
    /// committed after the snapshot is re-checked against `predicate` and re-projected at READ
    /// COMMITTED (EvalPlanQual), and is a 40001 at REPEATABLE READ and SERIALIZABLE.
    LockRows {
        /// The input (projection ++ FROM row).
        input: Box<Plan>,
        /// Width of the projection at the front of each input row.
        base: usize,
        /// The WHERE clause over the FROM row.
        predicate: Option<Expr>,
        /// The projection over the FROM row (recomputed after a re-check).
        project: Vec<Expr>,
        /// The tables whose rows are locked.
        targets: Vec<LockTarget>,
        /// LIMIT (None = ALL).
        limit: Option<Expr>,
        /// OFFSET.
        offset: Option<Expr>,
    },
    /// VALUES rows.
    Values(Vec<Vec<Expr>>),
    /// A set-returning function in FROM (generate_series, unnest).
    Function(functions::Func, Vec<Expr>),
    /// Set-returning functions of a select list (PostgreSQL's ProjectSet): per input row, the
    /// functions run in lockstep; each output row is the input row followed by one value per
    /// function, as many rows as the longest result (shorter ones padded with NULL).
    ProjectSet(Box<Plan>, Vec<(functions::Func, Vec<Expr>)>),
    /// Rows satisfying the predicate.
    Filter(Box<Plan>, Expr),
    /// Computed columns.
    Project(Box<Plan>, Vec<Expr>),
    /// A join: left row ++ right row.
    Join {
        /// The kind.
        kind: JoinKind,
        /// Left input.
        left: Box<Plan>,
        /// Right input.
        right: Box<Plan>,
        /// ON condition over the concatenated row.
        on: Option<Expr>,
        /// Right width (to pad NULLs).
        right_width: usize,
        /// Left width (to pad NULLs).
        left_width: usize,
        /// Equi-join keys (over the left row, over the right row): a hash join when not empty.
        hash_keys: Vec<(Expr, Expr)>,
    },
    /// Grouping and aggregates: output = group values ++ aggregate results.
    Aggregate {
        /// The input.
        input: Box<Plan>,
        /// GROUP BY expressions.
        group_by: Vec<Expr>,
        /// Aggregates.
        aggs: Vec<AggCall>,
    },
    /// Window functions: output = input ++ one column per call.
    Window(Box<Plan>, Vec<WindowCall>),
    /// Sorting.
    Sort(Box<Plan>, Vec<SortKey>),
    /// DISTINCT (keys = all columns) or DISTINCT ON (keys given): keeps the first row of each key.
    Distinct(Box<Plan>, Option<Vec<Expr>>),
    /// LIMIT / OFFSET.
    Limit {
        /// The input.
        input: Box<Plan>,
        /// LIMIT (None = ALL).
        limit: Option<Expr>,
        /// OFFSET.
        offset: Option<Expr>,
    },
    /// UNION / INTERSECT / EXCEPT.
    SetOp {
        /// Which.
        kind: SetOpKind,
        /// ALL.
        all: bool,
        /// Left.
        left: Box<Plan>,
        /// Right.
        right: Box<Plan>,
    },
    /// WITH RECURSIVE: the base rows, then the recursive term re-run over the newest rows until
    /// it produces none. The work table is `cte` in the runner.
    Recursive {
        /// CTE id.
        cte: usize,
        /// Base term.
        base: Box<Plan>,
        /// Recursive term (reads the work table).
        step: Box<Plan>,
        /// UNION (not UNION ALL): drop duplicates.
        distinct: bool,
    },
    /// The current work table of a recursive CTE.
    WorkTable(usize),
    /// The rows of a catalog relation ([`crate::sql::pgcatalog`]), computed when scanned.
    Virtual(crate::sql::pgcatalog::VirtualTable),
}

/// What a locking SELECT does when another transaction holds a conflicting row lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LockWaitPolicy {
    /// Wait for it (the default).
    Wait,
    /// NOWAIT: fail with 55P03.
    NoWait,
    /// SKIP LOCKED: leave the row out.
    SkipLocked,
}

/// One table whose rows a [`Plan::LockRows`] locks.
#[derive(Clone, Debug, PartialEq)]
pub struct LockTarget {
    /// The table.
    pub table: TableDef,
    /// Position of its row id in the FROM row.
    pub rowid_col: usize,
    /// Position of its first column in the FROM row.
    pub first_col: usize,
    /// The lock strength.
    pub mode: LockMode,
    /// NOWAIT / SKIP LOCKED.
    pub wait: LockWaitPolicy,
}

/// A result column description produced by binding.
#[derive(Clone, Debug, PartialEq)]
pub struct OutputColumn {
    /// Name.
    pub name: String,
    /// Type.
    pub data_type: DataType,
    /// Source table OID or 0.
    pub table_oid: u32,
    /// Source attribute number or 0.
    pub attnum: i16,
}

/// A bound query: its plan and its output columns.
#[derive(Clone, Debug, PartialEq)]
pub struct Query {
    /// The plan.
    pub plan: Plan,
    /// The columns.
    pub columns: Vec<OutputColumn>,
}
