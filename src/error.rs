//! Errors of every layer, and their mapping to PostgreSQL SQLSTATEs.
//!
//! Each variant says what the caller must do: retry (`Serialization`, `Deadlock`), fix its input
//! (`Syntax`, `InvalidInput`, ...), or give up on the data (`Corrupt`). The one place where an error
//! becomes a five-character SQLSTATE is [`Error::sqlstate`]; nothing else in ssidb spells SQLSTATEs for
//! errors.

use std::fmt;

/// Result type used throughout ssidb.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The kind of an error, which decides its SQLSTATE.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// 42601: text PostgreSQL cannot parse.
    Syntax,
    /// 0A000: valid PostgreSQL that ssidb does not support (yet).
    FeatureNotSupported,
    /// 22P04: COPY input that does not follow the COPY format (column count, end marker).
    BadCopyFileFormat,
    /// 22P02: a value's text form is not valid for its type.
    InvalidTextRepresentation,
    /// 22003: numeric value out of range.
    NumericOutOfRange,
    /// 22001: string too long for its declared length.
    StringDataRightTruncation,
    /// 22012: division by zero.
    DivisionByZero,
    /// 22007: invalid datetime format.
    InvalidDatetimeFormat,
    /// 22008: datetime field overflow.
    DatetimeFieldOverflow,
    /// 22023: invalid parameter value.
    InvalidParameterValue,
    /// 22004: null value not allowed.
    NullValueNotAllowed,
    /// 2202E: array subscript error.
    ArraySubscriptError,
    /// 22021: character not in repertoire (invalid UTF-8).
    CharacterNotInRepertoire,
    /// 2201B: invalid regular expression.
    InvalidRegularExpression,
    /// 22025: invalid escape sequence (LIKE).
    InvalidEscapeSequence,
    /// 2201W: invalid row count in LIMIT.
    InvalidRowCountInLimit,
    /// 2201X: invalid row count in OFFSET.
    InvalidRowCountInResultOffset,
    /// 42P19: invalid recursion (recursive CTE).
    InvalidRecursion,
    /// 42P09: ambiguous alias.
    AmbiguousAlias,
    /// 42712: duplicate alias (table name specified more than once).
    DuplicateAlias,
    /// 42P17: invalid object definition.
    InvalidObjectDefinition,
    /// 2201F: invalid argument for power function.
    InvalidArgumentForPowerFunction,
    /// 2201E: invalid argument for logarithm.
    InvalidArgumentForLogarithm,
    /// 22011: substring error.
    SubstringError,
    /// 22000: generic data exception.
    DataException,
    /// 21000: more than one row returned by a subquery used as an expression.
    CardinalityViolation,
    /// 42703: undefined column.
    UndefinedColumn,
    /// 42P01: undefined table.
    UndefinedTable,
    /// 42883: undefined function.
    UndefinedFunction,
    /// 42704: undefined object (setting, type, index...).
    UndefinedObject,
    /// 3F000: undefined schema.
    UndefinedSchema,
    /// 3D000: undefined database (catalog).
    UndefinedDatabase,
    /// 42P07: duplicate table.
    DuplicateTable,
    /// 42701: duplicate column.
    DuplicateColumn,
    /// 42710: duplicate object.
    DuplicateObject,
    /// 42P04: duplicate database.
    DuplicateDatabase,
    /// 42P06: duplicate schema.
    DuplicateSchema,
    /// 42702: ambiguous column reference.
    AmbiguousColumn,
    /// 42725: ambiguous function.
    AmbiguousFunction,
    /// 42804: datatype mismatch.
    DatatypeMismatch,
    /// 42846: cannot coerce.
    CannotCoerce,
    /// 42803: grouping error.
    Grouping,
    /// 42P10: invalid column reference (ORDER BY position, ...).
    InvalidColumnReference,
    /// 42P18: indeterminate datatype.
    IndeterminateDatatype,
    /// 42809: wrong object type.
    WrongObjectType,
    /// 42611: invalid column definition.
    InvalidColumnDefinition,
    /// 42P16: invalid table definition.
    InvalidTableDefinition,
    /// 42P02: undefined parameter.
    UndefinedParameter,
    /// 42501: insufficient privilege.
    InsufficientPrivilege,
    /// 42000: generic syntax error or access rule violation.
    SyntaxOrAccessRule,
    /// 23505: unique violation.
    UniqueViolation,
    /// 23502: not-null violation.
    NotNullViolation,
    /// 23503: foreign key violation.
    ForeignKeyViolation,
    /// 42830: invalid foreign key.
    InvalidForeignKey,
    /// 23514: check violation.
    CheckViolation,
    /// 2BP01: dependent objects still exist.
    DependentObjectsStillExist,
    /// 25001: active SQL transaction (statement not allowed inside a block).
    ActiveSqlTransaction,
    /// 25P01: no active SQL transaction.
    NoActiveSqlTransaction,
    /// 25P02: in failed SQL transaction.
    InFailedSqlTransaction,
    /// 25006: read-only SQL transaction.
    ReadOnlySqlTransaction,
    /// 25P03: idle in transaction session timeout.
    IdleInTransactionSessionTimeout,
    /// 3B001: invalid savepoint specification.
    InvalidSavepoint,
    /// 26000: invalid SQL statement name (prepared statement).
    InvalidSqlStatementName,
    /// 34000: invalid cursor name (portal).
    InvalidCursorName,
    /// 42P05: duplicate prepared statement.
    DuplicatePreparedStatement,
    /// 40001: serialization failure; the transaction may succeed if retried.
    Serialization,
    /// 40P01: deadlock detected; retry.
    Deadlock,
    /// 55P03: lock not available.
    LockNotAvailable,
    /// 55006: object in use.
    ObjectInUse,
    /// 55000: object not in prerequisite state.
    ObjectNotInPrerequisiteState,
    /// 55P02: cannot change a run-time parameter.
    CantChangeRuntimeParam,
    /// 57014: query canceled.
    QueryCanceled,
    /// 57P01: admin shutdown.
    AdminShutdown,
    /// 54001: statement too complex (stack depth limit exceeded).
    StatementTooComplex,
    /// 54000: program limit exceeded.
    ProgramLimitExceeded,
    /// 53100: disk full.
    DiskFull,
    /// 53200: out of memory.
    OutOfMemory,
    /// 53300: too many connections.
    TooManyConnections,
    /// 08P01: protocol violation.
    ProtocolViolation,
    /// 28P01: invalid password.
    InvalidPassword,
    /// 28000: invalid authorization specification.
    InvalidAuthorization,
    /// 42939: reserved name (role names starting with `pg_`).
    ReservedName,
    /// 0LP01: invalid grant operation.
    InvalidGrantOperation,
    /// 58030: I/O error.
    Io,
    /// XX001: data corrupted.
    Corrupt,
    /// XX000: internal error (a bug).
    Internal,
}

impl ErrorKind {
    /// The PostgreSQL SQLSTATE for this kind of error: the one mapping in ssidb.
    pub fn sqlstate(&self) -> &'static str {
        use ErrorKind::*;
        match self {
            Syntax => "42601",
            FeatureNotSupported => "0A000",
            InvalidTextRepresentation => "22P02",
            NumericOutOfRange => "22003",
            StringDataRightTruncation => "22001",
            DivisionByZero => "22012",
            InvalidDatetimeFormat => "22007",
            DatetimeFieldOverflow => "22008",
            InvalidParameterValue => "22023",
            NullValueNotAllowed => "22004",
            ArraySubscriptError => "2202E",
            CharacterNotInRepertoire => "22021",
            InvalidRegularExpression => "2201B",
            InvalidEscapeSequence => "22025",
            InvalidRowCountInLimit => "2201W",
            InvalidRowCountInResultOffset => "2201X",
            InvalidRecursion => "42P19",
            AmbiguousAlias => "42P09",
            DuplicateAlias => "42712",
            InvalidObjectDefinition => "42P17",
            InvalidArgumentForPowerFunction => "2201F",
            InvalidArgumentForLogarithm => "2201E",
            SubstringError => "22011",
            DataException => "22000",
            CardinalityViolation => "21000",
            UndefinedColumn => "42703",
            UndefinedTable => "42P01",
            UndefinedFunction => "42883",
            UndefinedObject => "42704",
            UndefinedSchema => "3F000",
            BadCopyFileFormat => "22P04",
            UndefinedDatabase => "3D000",
            DuplicateTable => "42P07",
            DuplicateColumn => "42701",
            DuplicateObject => "42710",
            DuplicateDatabase => "42P04",
            DuplicateSchema => "42P06",
            AmbiguousColumn => "42702",
            AmbiguousFunction => "42725",
            DatatypeMismatch => "42804",
            CannotCoerce => "42846",
            Grouping => "42803",
            InvalidColumnReference => "42P10",
            IndeterminateDatatype => "42P18",
            WrongObjectType => "42809",
            InvalidColumnDefinition => "42611",
            InvalidTableDefinition => "42P16",
            UndefinedParameter => "42P02",
            InsufficientPrivilege => "42501",
            SyntaxOrAccessRule => "42000",
            UniqueViolation => "23505",
            NotNullViolation => "23502",
            ForeignKeyViolation => "23503",
            InvalidForeignKey => "42830",
            CheckViolation => "23514",
            DependentObjectsStillExist => "2BP01",
            ActiveSqlTransaction => "25001",
            NoActiveSqlTransaction => "25P01",
            InFailedSqlTransaction => "25P02",
            ReadOnlySqlTransaction => "25006",
            IdleInTransactionSessionTimeout => "25P03",
            InvalidSavepoint => "3B001",
            InvalidSqlStatementName => "26000",
            InvalidCursorName => "34000",
            DuplicatePreparedStatement => "42P05",
            Serialization => "40001",
            Deadlock => "40P01",
            LockNotAvailable => "55P03",
            ObjectInUse => "55006",
            ObjectNotInPrerequisiteState => "55000",
            CantChangeRuntimeParam => "55P02",
            QueryCanceled => "57014",
            AdminShutdown => "57P01",
            StatementTooComplex => "54001",
            ProgramLimitExceeded => "54000",
            DiskFull => "53100",
            OutOfMemory => "53200",
            TooManyConnections => "53300",
            ProtocolViolation => "08P01",
            InvalidPassword => "28P01",
            InvalidAuthorization => "28000",
            ReservedName => "42939",
            InvalidGrantOperation => "0LP01",
            Io => "58030",
            Corrupt => "XX001",
            Internal => "XX000",
        }
    }
}

/// An error with PostgreSQL's fields: message, optional detail and hint, and a 1-based character
/// position into the statement text where one is known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    /// What kind of error this is (decides the SQLSTATE).
    pub kind: ErrorKind,
    /// The primary message, PostgreSQL style: lower case, no trailing period.
    pub message: String,
    /// DETAIL line.
    pub detail: Option<String>,
    /// HINT line.
    pub hint: Option<String>,
    /// 1-based character position in the query text.
    pub position: Option<u32>,
    /// CONTEXT line (where it happened, e.g. `COPY t, line 3, column id: "x"`).
    pub context: Option<String>,
}

impl Error {
    /// A new error of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error { kind, message: message.into(), detail: None, hint: None, position: None, context: None }
    }

    /// Adds a CONTEXT line.
    pub fn with_context(mut self, context: impl Into<String>) -> Self {
        self.context = Some(context.into());
        self
    }

    /// Adds a DETAIL line.
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// Adds a HINT line.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Sets the 1-based character position.
    pub fn with_position(mut self, position: u32) -> Self {
        self.position = Some(position);
        self
    }

    /// Changes the kind (and so the SQLSTATE).
    pub fn with_kind(mut self, kind: ErrorKind) -> Self {
        self.kind = kind;
        self
    }

    /// The SQLSTATE of this error.
    pub fn sqlstate(&self) -> &'static str {
        self.kind.sqlstate()
    }

    /// Whether the client should retry the whole transaction (40001, 40P01).
    pub fn is_retryable(&self) -> bool {
        matches!(self.kind, ErrorKind::Serialization | ErrorKind::Deadlock)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.message)
    }
}

impl std::error::Error for Error {}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        let kind = match e.raw_os_error() {
            Some(28) => ErrorKind::DiskFull, // ENOSPC
            _ => ErrorKind::Io,
        };
        Error::new(kind, format!("I/O error: {e}"))
    }
}

/// Shorthand constructors: `err!(Syntax, "syntax error at or near \"{}\"", tok)`.
#[macro_export]
macro_rules! err {
    ($kind:ident, $($arg:tt)*) => {
        $crate::error::Error::new($crate::error::ErrorKind::$kind, format!($($arg)*))
    };
}
