//! Built-in scalar and set-returning functions: name resolution and argument/result typing, the
//! binder's side of PostgreSQL's function overloading. Unknown-typed arguments (string literals,
//! untyped parameters) take the type the chosen overload expects; integer arguments to functions
//! that exist for `double precision` and `numeric` pick `double precision` (the preferred type of
//! the numeric category), as in PostgreSQL. Evaluation is in [`crate::sql::exec::scalar`].

use super::Expr;
use crate::error::{Error, ErrorKind, Result};
use crate::sql::types::DataType;

/// A built-in function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Func {
    Length,
    OctetLength,
    Lower,
    Upper,
    Substring,
    Position,
    Btrim,
    Ltrim,
    Rtrim,
    Replace,
    Concat,
    ConcatWs,
    Left,
    Right,
    Lpad,
    Rpad,
    Repeat,
    Reverse,
    Initcap,
    SplitPart,
    StartsWith,
    Chr,
    Ascii,
    Md5,
    Translate,
    RegexpReplace,
    Abs,
    Round,
    Trunc,
    Floor,
    Ceil,
    Mod,
    Power,
    Sqrt,
    Exp,
    Ln,
    Log10,
    Sign,
    Pi,
    Random,
    Div,
    Coalesce,
    Nullif,
    Greatest,
    Least,
    Now,
    CurrentDate,
    DatePart,
    DateTrunc,
    ArrayToString,
    ArrayUpper,
    ArrayLower,
    ArrayLength,
    Cardinality,
    ArrayAppend,
    ArrayCat,
    Nextval,
    Currval,
    Setval,
    CurrentSetting,
    SetConfig,
    PgBackendPid,
    IsBlocked,
    BlockingPids,
    Version,
    CurrentDatabase,
    CurrentUser,
    SessionUser,
    CurrentSchema,
    PgTypeof,
    ToChar,
    GenerateSeries,
    Unnest,
    /// A system information function ([`crate::sql::pgcatalog::funcs`]).
    Catalog(crate::sql::pgcatalog::funcs::CatalogFunc),
}

fn undefined(name: &str, types: &[DataType]) -> Error {
    let list: Vec<String> = types.iter().map(|t| t.name()).collect();
    Error::new(ErrorKind::UndefinedFunction, format!("function {name}({}) does not exist", list.join(", ")))
        .with_hint(
        "No function matches the given name and argument types. You might need to add explicit type casts.",
    )
}

/// The numeric type two numeric types promote to.
pub fn numeric_promote(a: &DataType, b: &DataType) -> Option<DataType> {
    use DataType::*;
    let rank = |t: &DataType| match t {
        Int2 => Some(1),
        Int4 => Some(2),
        Int8 => Some(3),
        Numeric(_) => Some(4),
        Float4 => Some(5),
        Float8 => Some(6),
        Unknown => Some(0),
        _ => None,
    };
    let (ra, rb) = (rank(a)?, rank(b)?);
    let t = if ra >= rb { a } else { b };
    Some(match t {
        Unknown => Unknown,
        Numeric(_) => Numeric(None),
        t => t.clone(),
    })
}

fn float_or_numeric(t: &DataType) -> DataType {
    if matches!(t, DataType::Numeric(_)) {
        DataType::Numeric(None)
    } else {
        DataType::Float8
    }
}

/// Argument types to coerce to and the result type of a scalar function; `None` when the name is
/// not a scalar built-in.
pub fn resolve(name: &str, types: &[DataType]) -> Result<Option<(Func, Vec<DataType>, DataType)>> {
    use DataType::*;
    let n = types.len();
    let t0 = types.first().cloned().unwrap_or(Unknown);
    let text_args = |k: usize| vec![Text; k];
    let arity = |ok: bool| -> Result<()> {
        if ok {
            Ok(())
        } else {
            Err(undefined(name, types))
        }
    };
    let any_numeric = types.iter().any(|t| matches!(t, Numeric(_)));
    let r = match name {
        "length" | "char_length" | "character_length" => {
            arity(n == 1)?;
            if t0 == Bytea {
                (Func::Length, vec![Bytea], Int4)
            } else {
                (Func::Length, text_args(1), Int4)
            }
        }
        "octet_length" => {
            arity(n == 1)?;
            (Func::OctetLength, vec![if t0 == Bytea { Bytea } else { Text }], Int4)
        }
        "lower" => (arity(n == 1).map(|_| Func::Lower)?, text_args(1), Text),
        "upper" => (arity(n == 1).map(|_| Func::Upper)?, text_args(1), Text),
        "initcap" => (arity(n == 1).map(|_| Func::Initcap)?, text_args(1), Text),
        "reverse" => (arity(n == 1).map(|_| Func::Reverse)?, text_args(1), Text),
        "md5" => (arity(n == 1).map(|_| Func::Md5)?, text_args(1), Text),
        "substring" | "substr" => {
            arity(n == 2 || n == 3)?;
            let mut a = vec![Text, Int4];
            if n == 3 {
                a.push(Int4);
            }
            (Func::Substring, a, Text)
        }
        "strpos" => (arity(n == 2).map(|_| Func::Position)?, text_args(2), Int4),
        "btrim" => (arity(n == 1 || n == 2).map(|_| Func::Btrim)?, text_args(n), Text),
        "ltrim" => (arity(n == 1 || n == 2).map(|_| Func::Ltrim)?, text_args(n), Text),
        "rtrim" => (arity(n == 1 || n == 2).map(|_| Func::Rtrim)?, text_args(n), Text),
        "replace" => (arity(n == 3).map(|_| Func::Replace)?, text_args(3), Text),
        "translate" => (arity(n == 3).map(|_| Func::Translate)?, text_args(3), Text),
        "regexp_replace" => (arity(n == 3 || n == 4).map(|_| Func::RegexpReplace)?, text_args(n), Text),
        "concat" => {
            (Func::Concat, types.iter().map(|t| if *t == Unknown { Text } else { t.clone() }).collect(), Text)
        }
        "concat_ws" => {
            arity(n >= 1)?;
            let mut a: Vec<DataType> =
                types.iter().map(|t| if *t == Unknown { Text } else { t.clone() }).collect();
            a[0] = Text;
            (Func::ConcatWs, a, Text)
        }
        "left" => (arity(n == 2).map(|_| Func::Left)?, vec![Text, Int4], Text),
        "right" => (arity(n == 2).map(|_| Func::Right)?, vec![Text, Int4], Text),
        "lpad" | "rpad" => {
            arity(n == 2 || n == 3)?;
            let mut a = vec![Text, Int4];
            if n == 3 {
                a.push(Text);
            }
            (if name == "lpad" { Func::Lpad } else { Func::Rpad }, a, Text)
        }
        "repeat" => (arity(n == 2).map(|_| Func::Repeat)?, vec![Text, Int4], Text),
        "split_part" => (arity(n == 3).map(|_| Func::SplitPart)?, vec![Text, Text, Int4], Text),
        "starts_with" => (arity(n == 2).map(|_| Func::StartsWith)?, text_args(2), Bool),
        "chr" => (arity(n == 1).map(|_| Func::Chr)?, vec![Int4], Text),
        "ascii" => (arity(n == 1).map(|_| Func::Ascii)?, text_args(1), Int4),
        "abs" => {
            arity(n == 1)?;
            let t = match &t0 {
                Int2 | Int4 | Int8 | Float4 | Float8 => t0.clone(),
                Numeric(_) => Numeric(None),
                Unknown => Float8,
                _ => return Err(undefined(name, types)),
            };
            (Func::Abs, vec![t.clone()], t)
        }
        "round" | "trunc" => {
            arity(n == 1 || n == 2)?;
            let f = if name == "round" { Func::Round } else { Func::Trunc };
            if n == 2 {
                (f, vec![Numeric(None), Int4], Numeric(None))
            } else {
                let t = float_or_numeric(&t0);
                (f, vec![t.clone()], t)
            }
        }
        "floor" | "ceil" | "ceiling" | "sqrt" | "exp" | "ln" | "sign" => {
            arity(n == 1)?;
            let f = match name {
                "floor" => Func::Floor,
                "ceil" | "ceiling" => Func::Ceil,
                "sqrt" => Func::Sqrt,
                "exp" => Func::Exp,
                "ln" => Func::Ln,
                _ => Func::Sign,
            };
            let t = float_or_numeric(&t0);
            (f, vec![t.clone()], t)
        }
        "log" | "log10" => {
            arity(n == 1)?;
            let t = float_or_numeric(&t0);
            (Func::Log10, vec![t.clone()], t)
        }
        "power" | "pow" => {
            arity(n == 2)?;
            let t = if any_numeric { Numeric(None) } else { Float8 };
            (Func::Power, vec![t.clone(), t.clone()], t)
        }
        "mod" => {
            arity(n == 2)?;
            let t = numeric_promote(&t0, &types[1]).ok_or_else(|| undefined(name, types))?;
            let t = match t {
                Float4 | Float8 => return Err(undefined(name, types)),
                Unknown => Int4,
                t => t,
            };
            (Func::Mod, vec![t.clone(), t.clone()], t)
        }
        "div" => (arity(n == 2).map(|_| Func::Div)?, vec![Numeric(None), Numeric(None)], Numeric(None)),
        "pi" => (arity(n == 0).map(|_| Func::Pi)?, vec![], Float8),
        "random" => (arity(n == 0).map(|_| Func::Random)?, vec![], Float8),
        "now" | "current_timestamp" | "transaction_timestamp" | "statement_timestamp" | "clock_timestamp" => {
            (arity(n == 0).map(|_| Func::Now)?, vec![], Timestamptz)
        }
        "date_part" => (arity(n == 2).map(|_| Func::DatePart)?, vec![Text, Timestamp], Float8),
        "date_trunc" => {
            arity(n == 2)?;
            let t = if t0 == Timestamptz || types[1] == Timestamptz { Timestamptz } else { Timestamp };
            (Func::DateTrunc, vec![Text, t.clone()], t)
        }
        "array_to_string" => {
            arity(n == 2 || n == 3)?;
            let mut a = vec![t0.clone(), Text];
            if n == 3 {
                a.push(Text);
            }
            if !matches!(t0, Array(_)) {
                return Err(undefined(name, types));
            }
            (Func::ArrayToString, a, Text)
        }
        "array_upper" | "array_lower" | "array_length" => {
            arity(n == 2 && matches!(t0, Array(_)))?;
            let f = match name {
                "array_upper" => Func::ArrayUpper,
                "array_lower" => Func::ArrayLower,
                _ => Func::ArrayLength,
            };
            (f, vec![t0.clone(), Int4], Int4)
        }
        "cardinality" => {
            (arity(n == 1 && matches!(t0, Array(_))).map(|_| Func::Cardinality)?, vec![t0.clone()], Int4)
        }
        "array_append" => {
            arity(n == 2)?;
            let Array(e) = &t0 else { return Err(undefined(name, types)) };
            (Func::ArrayAppend, vec![t0.clone(), (**e).clone()], t0.clone())
        }
        "array_cat" => (arity(n == 2).map(|_| Func::ArrayCat)?, vec![t0.clone(), t0.clone()], t0.clone()),
        "nextval" => (arity(n == 1).map(|_| Func::Nextval)?, text_args(1), Int8),
        "currval" => (arity(n == 1).map(|_| Func::Currval)?, text_args(1), Int8),
        "setval" => {
            arity(n == 2 || n == 3)?;
            let mut a = vec![Text, Int8];
            if n == 3 {
                a.push(Bool);
            }
            (Func::Setval, a, Int8)
        }
        "current_setting" => (
            arity(n == 1 || n == 2).map(|_| Func::CurrentSetting)?,
            {
                let mut a = vec![Text];
                if n == 2 {
                    a.push(Bool);
                }
                a
            },
            Text,
        ),
        "set_config" => (arity(n == 3).map(|_| Func::SetConfig)?, vec![Text, Text, Bool], Text),
        "pg_backend_pid" => (arity(n == 0).map(|_| Func::PgBackendPid)?, vec![], Int4),
        "pg_isolation_test_session_is_blocked" => {
            (arity(n == 2).map(|_| Func::IsBlocked)?, vec![Int4, Array(Box::new(Int4))], Bool)
        }
        "pg_blocking_pids" => (arity(n == 1).map(|_| Func::BlockingPids)?, vec![Int4], Array(Box::new(Int4))),
        "version" => (arity(n == 0).map(|_| Func::Version)?, vec![], Text),
        "current_database" => (arity(n == 0).map(|_| Func::CurrentDatabase)?, vec![], Name),
        "current_user" | "user" | "current_role" => (arity(n == 0).map(|_| Func::CurrentUser)?, vec![], Name),
        "session_user" => (arity(n == 0).map(|_| Func::SessionUser)?, vec![], Name),
        "current_schema" => (arity(n == 0).map(|_| Func::CurrentSchema)?, vec![], Name),
        "pg_typeof" => (arity(n == 1).map(|_| Func::PgTypeof)?, vec![t0.clone()], Text),
        "to_char" => (arity(n == 2).map(|_| Func::ToChar)?, vec![t0.clone(), Text], Text),
        _ => return Ok(crate::sql::pgcatalog::bind::resolve(name, types)),
    };
    Ok(Some(r))
}

/// A resolved set-returning function: the function, argument types and column types.
pub type TableFunction = (Func, Vec<DataType>, Vec<DataType>);

/// A set-returning function in FROM: the function, argument types and column types.
pub fn resolve_table_function(name: &str, types: &[DataType]) -> Result<Option<TableFunction>> {
    use DataType::*;
    Ok(match name {
        "generate_series" => {
            if types.len() != 2 && types.len() != 3 {
                return Err(undefined(name, types));
            }
            let mut t = Int4;
            for ty in types {
                t = match (t, ty) {
                    (Timestamp | Timestamptz, _) | (_, Timestamp | Timestamptz) => {
                        let tt = if types.contains(&Timestamptz) { Timestamptz } else { Timestamp };
                        let mut a = vec![tt.clone(), tt.clone()];
                        if types.len() == 3 {
                            a.push(Interval);
                        }
                        return Ok(Some((Func::GenerateSeries, a, vec![tt])));
                    }
                    (a, b) => numeric_promote(&a, b).ok_or_else(|| undefined(name, types))?,
                };
            }
            let t = match t {
                Unknown | Int2 => Int4,
                Float4 => Float8,
                t => t,
            };
            Some((Func::GenerateSeries, vec![t.clone(); types.len()], vec![t]))
        }
        "unnest" => match types {
            [Array(e)] => Some((Func::Unnest, types.to_vec(), vec![(**e).clone()])),
            _ => return Err(undefined(name, types)),
        },
        _ => None,
    })
}

/// Whether an expression list is all constants (for folding checks).
pub fn all_const(args: &[Expr]) -> bool {
    args.iter().all(|a| matches!(a, Expr::Const(_)))
}
