//! Built-in scalar functions, including those that reach the session (settings, sequences,
//! blocking reports). Strict functions return NULL for any NULL argument; COALESCE, CONCAT and
//! friends are not strict.

use super::{ops, Runner};
use crate::error::{Error, ErrorKind, Result};
use crate::sql::auth::acl;
use crate::sql::catalog;
use crate::sql::plan::functions::Func;
use crate::sql::types::{datetime, Numeric, Value};
use parking_lot::Mutex;
use std::collections::HashMap;

/// Last value returned by nextval per (session pid, sequence oid), for currval.
static CURRVAL: Mutex<Option<HashMap<(i32, u32), i64>>> = Mutex::new(None);

fn text(v: &Value) -> String {
    match v {
        Value::Text(s) => s.clone(),
        _ => String::new(),
    }
}

fn int(v: &Value) -> i64 {
    ops::as_i64(v).unwrap_or(0)
}

fn pad(s: &str, len: i64, fill: &str, left: bool) -> String {
    let len = len.max(0) as usize;
    let chars: Vec<char> = s.chars().collect();
    if chars.len() >= len {
        return chars[..len].iter().collect();
    }
    let fill: Vec<char> = fill.chars().collect();
    if fill.is_empty() {
        return s.to_string();
    }
    let padding: String = fill.iter().cycle().take(len - chars.len()).collect();
    if left {
        format!("{padding}{s}")
    } else {
        format!("{s}{padding}")
    }
}

fn trim(s: &str, chars: &str, left: bool, right: bool) -> String {
    let set: Vec<char> = chars.chars().collect();
    let mut r: &str = s;
    if left {
        r = r.trim_start_matches(|c| set.contains(&c));
    }
    if right {
        r = r.trim_end_matches(|c| set.contains(&c));
    }
    r.to_string()
}

fn md5_hex(data: &[u8]) -> String {
    // RFC 1321.
    let s: [u32; 64] = [
        7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20,
        5, 9, 14, 20, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10, 15, 21, 6, 10, 15,
        21, 6, 10, 15, 21, 6, 10, 15, 21,
    ];
    let k: Vec<u32> = (0..64).map(|i| ((i as f64 + 1.0).sin().abs() * 4294967296.0) as u32).collect();
    let (mut a0, mut b0, mut c0, mut d0) = (0x67452301u32, 0xefcdab89u32, 0x98badcfeu32, 0x10325476u32);
    let mut msg = data.to_vec();
    let bit_len = (data.len() as u64).wrapping_mul(8);
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&bit_len.to_le_bytes());
    for chunk in msg.chunks(64) {
        let m: Vec<u32> = chunk.chunks(4).map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]])).collect();
        let (mut a, mut b, mut c, mut d) = (a0, b0, c0, d0);
        for i in 0..64 {
            let (f, g) = match i / 16 {
                0 => ((b & c) | (!b & d), i),
                1 => ((d & b) | (!d & c), (5 * i + 1) % 16),
                2 => (b ^ c ^ d, (3 * i + 5) % 16),
                _ => (c ^ (b | !d), (7 * i) % 16),
            };
            let f = f.wrapping_add(a).wrapping_add(k[i]).wrapping_add(m[g]);
            a = d;
            d = c;
            c = b;
            b = b.wrapping_add(f.rotate_left(s[i]));
        }
        a0 = a0.wrapping_add(a);
        b0 = b0.wrapping_add(b);
        c0 = c0.wrapping_add(c);
        d0 = d0.wrapping_add(d);
    }
    [a0, b0, c0, d0].iter().flat_map(|v| v.to_le_bytes()).map(|b| format!("{b:02x}")).collect()
}

impl Runner<'_, '_> {
    fn sequence(&self, name: &str) -> Result<catalog::SequenceDef> {
        let n = name.trim_matches('"');
        let n = n.strip_prefix("public.").unwrap_or(n);
        self.catalog
            .sequence(n)
            .cloned()
            .ok_or_else(|| Error::new(ErrorKind::UndefinedTable, format!("relation \"{n}\" does not exist")))
    }

    /// Requires one of `any` on a sequence (nextval: USAGE or UPDATE; currval: SELECT or USAGE;
    /// setval: UPDATE), as PostgreSQL does.
    fn require_sequence(&self, seq: &catalog::SequenceDef, any: u16) -> Result<()> {
        let auth = &self.catalog.auth;
        let held = seq.access.held(crate::sql::auth::acl::ObjectKind::Sequence, auth.current, any);
        if auth.superuser() || held != 0 {
            Ok(())
        } else {
            Err(crate::sql::auth::permission_denied("sequence", &seq.name))
        }
    }

    /// Calls a built-in scalar function.
    pub fn call(&mut self, f: Func, args: Vec<Value>) -> Result<Value> {
        if let Func::Catalog(c) = f {
            // Catalog functions decide NULL handling themselves (format_type(oid, NULL)).
            return crate::sql::pgcatalog::funcs::call(&self.catalog, c, &args);
        }
        let non_strict = matches!(
            f,
            Func::Coalesce
                | Func::Nullif
                | Func::Greatest
                | Func::Least
                | Func::Concat
                | Func::ConcatWs
                | Func::SetConfig
                | Func::CurrentSetting
        );
        if !non_strict && args.iter().any(|a| a.is_null()) {
            return Ok(Value::Null);
        }
        let a = |i: usize| args.get(i).cloned().unwrap_or(Value::Null);
        Ok(match f {
            Func::Length => match a(0) {
                Value::Bytea(b) => Value::Int4(b.len() as i32),
                v => Value::Int4(text(&v).chars().count() as i32),
            },
            Func::OctetLength => match a(0) {
                Value::Bytea(b) => Value::Int4(b.len() as i32),
                v => Value::Int4(text(&v).len() as i32),
            },
            Func::Lower => Value::Text(text(&a(0)).to_lowercase()),
            Func::Upper => Value::Text(text(&a(0)).to_uppercase()),
            Func::Initcap => {
                let mut out = String::new();
                let mut start = true;
                for c in text(&a(0)).chars() {
                    if c.is_alphanumeric() {
                        if start {
                            out.extend(c.to_uppercase());
                        } else {
                            out.extend(c.to_lowercase());
                        }
                        start = false;
                    } else {
                        out.push(c);
                        start = true;
                    }
                }
                Value::Text(out)
            }
            Func::Reverse => Value::Text(text(&a(0)).chars().rev().collect()),
            Func::Md5 => Value::Text(md5_hex(text(&a(0)).as_bytes())),
            Func::Substring => {
                let s: Vec<char> = text(&a(0)).chars().collect();
                let start = int(&a(1));
                let (from, to) = if args.len() == 3 {
                    let len = int(&a(2));
                    if len < 0 {
                        return Err(Error::new(
                            ErrorKind::SubstringError,
                            "negative substring length not allowed",
                        ));
                    }
                    (start, start.saturating_add(len))
                } else {
                    (start, i64::MAX)
                };
                let from = (from.max(1) - 1) as usize;
                let to = (to.max(1) - 1).min(s.len() as i64) as usize;
                Value::Text(if from < to { s[from..to].iter().collect() } else { String::new() })
            }
            Func::Position => {
                let h = text(&a(0));
                let n = text(&a(1));
                Value::Int4(match h.find(&n) {
                    Some(i) => h[..i].chars().count() as i32 + 1,
                    None => 0,
                })
            }
            Func::Btrim | Func::Ltrim | Func::Rtrim => {
                let chars = if args.len() > 1 { text(&a(1)) } else { " ".into() };
                let (l, r) = match f {
                    Func::Btrim => (true, true),
                    Func::Ltrim => (true, false),
                    _ => (false, true),
                };
                Value::Text(trim(&text(&a(0)), &chars, l, r))
            }
            Func::Replace => {
                let from = text(&a(1));
                Value::Text(if from.is_empty() {
                    text(&a(0))
                } else {
                    text(&a(0)).replace(&from, &text(&a(2)))
                })
            }
            Func::Translate => {
                let from: Vec<char> = text(&a(1)).chars().collect();
                let to: Vec<char> = text(&a(2)).chars().collect();
                let mut out = String::new();
                for c in text(&a(0)).chars() {
                    match from.iter().position(|x| *x == c) {
                        Some(i) => {
                            if let Some(r) = to.get(i) {
                                out.push(*r)
                            }
                        }
                        None => out.push(c),
                    }
                }
                Value::Text(out)
            }
            Func::RegexpReplace => {
                let flags = if args.len() > 3 { text(&a(3)) } else { String::new() };
                let re = regex::RegexBuilder::new(&text(&a(1)))
                    .case_insensitive(flags.contains('i'))
                    .build()
                    .map_err(|e| {
                        Error::new(
                            ErrorKind::InvalidRegularExpression,
                            format!("invalid regular expression: {e}"),
                        )
                    })?;
                let rep = text(&a(2)).replace("\\&", "${0}").replace('\\', "$");
                let s = text(&a(0));
                Value::Text(if flags.contains('g') {
                    re.replace_all(&s, rep.as_str()).into_owned()
                } else {
                    re.replace(&s, rep.as_str()).into_owned()
                })
            }
            Func::Concat => Value::Text(args.iter().filter_map(|v| v.to_text(&self.fmt)).collect()),
            Func::ConcatWs => {
                if a(0).is_null() {
                    return Ok(Value::Null);
                }
                let sep = text(&a(0));
                let parts: Vec<String> = args[1..].iter().filter_map(|v| v.to_text(&self.fmt)).collect();
                Value::Text(parts.join(&sep))
            }
            Func::Left | Func::Right => {
                let s: Vec<char> = text(&a(0)).chars().collect();
                let n = int(&a(1));
                let len = s.len() as i64;
                let k = if n >= 0 { n.min(len) } else { (len + n).max(0) } as usize;
                Value::Text(if f == Func::Left {
                    s[..k].iter().collect()
                } else {
                    s[s.len() - k..].iter().collect()
                })
            }
            Func::Lpad | Func::Rpad => {
                let fill = if args.len() > 2 { text(&a(2)) } else { " ".into() };
                Value::Text(pad(&text(&a(0)), int(&a(1)), &fill, f == Func::Lpad))
            }
            Func::Repeat => {
                let n = int(&a(1)).max(0) as usize;
                let s = text(&a(0));
                if s.len().saturating_mul(n) > 1 << 28 {
                    return Err(Error::new(ErrorKind::ProgramLimitExceeded, "requested length too large"));
                }
                Value::Text(s.repeat(n))
            }
            Func::SplitPart => {
                let s = text(&a(0));
                let d = text(&a(1));
                let n = int(&a(2));
                if n == 0 {
                    return Err(Error::new(
                        ErrorKind::InvalidParameterValue,
                        "field position must not be zero",
                    ));
                }
                let parts: Vec<&str> =
                    if d.is_empty() { vec![s.as_str()] } else { s.split(d.as_str()).collect() };
                let idx = if n > 0 { n - 1 } else { parts.len() as i64 + n };
                Value::Text(
                    parts.get(idx as usize).filter(|_| idx >= 0).map(|p| p.to_string()).unwrap_or_default(),
                )
            }
            Func::StartsWith => Value::Bool(text(&a(0)).starts_with(&text(&a(1)))),
            Func::Chr => {
                let c = char::from_u32(int(&a(0)) as u32).filter(|c| *c != '\0').ok_or_else(|| {
                    Error::new(ErrorKind::ProgramLimitExceeded, "requested character too large for encoding")
                })?;
                Value::Text(c.to_string())
            }
            Func::Ascii => Value::Int4(text(&a(0)).chars().next().map(|c| c as i32).unwrap_or(0)),
            Func::Abs => match a(0) {
                Value::Int2(i) => Value::Int2(
                    i.checked_abs()
                        .ok_or_else(|| Error::new(ErrorKind::NumericOutOfRange, "smallint out of range"))?,
                ),
                Value::Int4(i) => Value::Int4(
                    i.checked_abs()
                        .ok_or_else(|| Error::new(ErrorKind::NumericOutOfRange, "integer out of range"))?,
                ),
                Value::Int8(i) => Value::Int8(
                    i.checked_abs()
                        .ok_or_else(|| Error::new(ErrorKind::NumericOutOfRange, "bigint out of range"))?,
                ),
                Value::Float4(x) => Value::Float4(x.abs()),
                Value::Float8(x) => Value::Float8(x.abs()),
                Value::Numeric(n) => Value::Numeric(n.abs()),
                v => v,
            },
            Func::Round | Func::Trunc => match a(0) {
                Value::Numeric(n) => {
                    let s = if args.len() > 1 { int(&a(1)) } else { 0 };
                    Value::Numeric(if f == Func::Round { n.round(s) } else { n.trunc(s) })
                }
                Value::Float8(x) => {
                    Value::Float8(if f == Func::Round { x.round_ties_even() } else { x.trunc() })
                }
                v => v,
            },
            Func::Floor => match a(0) {
                Value::Numeric(n) => Value::Numeric(n.floor()),
                v => Value::Float8(ops::as_f64(&v).floor()),
            },
            Func::Ceil => match a(0) {
                Value::Numeric(n) => Value::Numeric(n.ceil()),
                v => Value::Float8(ops::as_f64(&v).ceil()),
            },
            Func::Sign => match a(0) {
                Value::Numeric(n) => Value::Numeric(Numeric::from_i64(n.signum() as i64)),
                v => {
                    let x = ops::as_f64(&v);
                    Value::Float8(if x > 0.0 {
                        1.0
                    } else if x < 0.0 {
                        -1.0
                    } else {
                        0.0
                    })
                }
            },
            Func::Sqrt => {
                let x = ops::as_f64(&a(0));
                if x < 0.0 {
                    return Err(Error::new(
                        ErrorKind::InvalidArgumentForPowerFunction,
                        "cannot take square root of a negative number",
                    ));
                }
                match a(0) {
                    Value::Numeric(_) => Value::Numeric(Numeric::from_f64(x.sqrt())?.round(15)),
                    _ => Value::Float8(x.sqrt()),
                }
            }
            Func::Exp => ops::same_float_or_numeric(&numeric_like(&a(0)), ops::as_f64(&a(0)).exp())?,
            Func::Ln | Func::Log10 => {
                let x = ops::as_f64(&a(0));
                if x == 0.0 {
                    return Err(Error::new(
                        ErrorKind::InvalidArgumentForLogarithm,
                        "cannot take logarithm of zero",
                    ));
                }
                if x < 0.0 {
                    return Err(Error::new(
                        ErrorKind::InvalidArgumentForLogarithm,
                        "cannot take logarithm of a negative number",
                    ));
                }
                ops::same_float_or_numeric(
                    &numeric_like(&a(0)),
                    if f == Func::Ln { x.ln() } else { x.log10() },
                )?
            }
            Func::Power => ops::arith(crate::sql::plan::BinOp::Pow, &a(0), &a(1))?,
            Func::Mod => ops::arith(crate::sql::plan::BinOp::Mod, &a(0), &a(1))?,
            Func::Div => match (a(0), a(1)) {
                (Value::Numeric(x), Value::Numeric(y)) => Value::Numeric(x.div_trunc(&y)?),
                _ => Value::Null,
            },
            Func::Pi => Value::Float8(std::f64::consts::PI),
            Func::Random => {
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.subsec_nanos())
                    .unwrap_or(0);
                let x = (nanos as u64)
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(self.ticks.wrapping_mul(1442695040888963407));
                Value::Float8((x >> 11) as f64 / (1u64 << 53) as f64)
            }
            Func::Coalesce => args.into_iter().find(|v| !v.is_null()).unwrap_or(Value::Null),
            Func::Nullif => {
                let (x, y) = (a(0), a(1));
                if !x.is_null() && !y.is_null() && crate::sql::types::compare::equal(&x, &y) {
                    Value::Null
                } else {
                    x
                }
            }
            Func::Greatest | Func::Least => {
                let mut best: Option<Value> = None;
                for v in args.into_iter().filter(|v| !v.is_null()) {
                    let better = match &best {
                        None => true,
                        Some(b) => {
                            let o = crate::sql::types::compare::compare(&v, b);
                            if f == Func::Greatest {
                                o == std::cmp::Ordering::Greater
                            } else {
                                o == std::cmp::Ordering::Less
                            }
                        }
                    };
                    if better {
                        best = Some(v);
                    }
                }
                best.unwrap_or(Value::Null)
            }
            Func::Now => Value::Timestamptz(self.now()),
            Func::CurrentDate => Value::Date(self.now().div_euclid(datetime::USECS_PER_DAY) as i32),
            Func::DatePart => {
                let field = text(&a(0)).to_ascii_lowercase();
                let t = match a(1) {
                    Value::Timestamp(t) | Value::Timestamptz(t) => t,
                    Value::Date(d) => d as i64 * datetime::USECS_PER_DAY,
                    _ => return Ok(Value::Null),
                };
                let date = t.div_euclid(datetime::USECS_PER_DAY);
                let tod = t.rem_euclid(datetime::USECS_PER_DAY);
                let (y, m, d) = datetime::ymd(date as i32);
                Value::Float8(match field.as_str() {
                    "year" => y as f64,
                    "month" => m as f64,
                    "day" => d as f64,
                    "hour" => (tod / 3_600_000_000) as f64,
                    "minute" => (tod / 60_000_000 % 60) as f64,
                    "second" => (tod % 60_000_000) as f64 / 1e6,
                    "dow" => datetime::day_of_week(date as i32) as f64,
                    "doy" => (date - datetime::date_from_ymd(y, 1, 1).unwrap_or(0) as i64 + 1) as f64,
                    "epoch" => (t as f64 / 1e6) + (datetime::UNIX_EPOCH_DAYS * 86400) as f64,
                    "quarter" => ((m - 1) / 3 + 1) as f64,
                    "century" => ((y + 99) / 100) as f64,
                    "decade" => (y / 10) as f64,
                    "millisecond" | "milliseconds" => (tod % 60_000_000) as f64 / 1e3,
                    "microsecond" | "microseconds" => (tod % 60_000_000) as f64,
                    other => {
                        return Err(Error::new(
                            ErrorKind::InvalidParameterValue,
                            format!("unit \"{other}\" not supported for type timestamp"),
                        ))
                    }
                })
            }
            Func::DateTrunc => {
                let field = text(&a(0)).to_ascii_lowercase();
                let (t, tz) = match a(1) {
                    Value::Timestamp(t) => (t, false),
                    Value::Timestamptz(t) => (t, true),
                    _ => return Ok(Value::Null),
                };
                let date = t.div_euclid(datetime::USECS_PER_DAY);
                let tod = t.rem_euclid(datetime::USECS_PER_DAY);
                let (y, m, _) = datetime::ymd(date as i32);
                let day = |d: i32| d as i64 * datetime::USECS_PER_DAY;
                let r = match field.as_str() {
                    "year" => day(datetime::date_from_ymd(y, 1, 1).unwrap_or(0)),
                    "month" => day(datetime::date_from_ymd(y, m, 1).unwrap_or(0)),
                    "day" => date * datetime::USECS_PER_DAY,
                    "hour" => date * datetime::USECS_PER_DAY + tod / 3_600_000_000 * 3_600_000_000,
                    "minute" => date * datetime::USECS_PER_DAY + tod / 60_000_000 * 60_000_000,
                    "second" => date * datetime::USECS_PER_DAY + tod / 1_000_000 * 1_000_000,
                    other => {
                        return Err(Error::new(
                            ErrorKind::InvalidParameterValue,
                            format!("unit \"{other}\" not recognized for type timestamp"),
                        ))
                    }
                };
                if tz {
                    Value::Timestamptz(r)
                } else {
                    Value::Timestamp(r)
                }
            }
            Func::ArrayToString => {
                let Value::Array(items) = a(0) else { return Ok(Value::Null) };
                let sep = text(&a(1));
                let null = if args.len() > 2 && !a(2).is_null() { Some(text(&a(2))) } else { None };
                let mut parts = Vec::new();
                let mut flat = Vec::new();
                flatten(items, &mut flat);
                for v in flat {
                    match v.to_text(&self.fmt) {
                        Some(s) => parts.push(s),
                        None => {
                            if let Some(n) = &null {
                                parts.push(n.clone())
                            }
                        }
                    }
                }
                Value::Text(parts.join(&sep))
            }
            Func::ArrayUpper | Func::ArrayLower | Func::ArrayLength => {
                let Value::Array(items) = a(0) else { return Ok(Value::Null) };
                let dim = int(&a(1));
                let mut cur = &items;
                for _ in 1..dim.max(1) {
                    match cur.first() {
                        Some(Value::Array(inner)) => cur = inner,
                        _ => return Ok(Value::Null),
                    }
                }
                if dim < 1 || cur.is_empty() {
                    return Ok(Value::Null);
                }
                Value::Int4(if f == Func::ArrayLower { 1 } else { cur.len() as i32 })
            }
            Func::Cardinality => {
                let Value::Array(items) = a(0) else { return Ok(Value::Null) };
                let mut flat = Vec::new();
                flatten(items, &mut flat);
                Value::Int4(flat.len() as i32)
            }
            Func::ArrayAppend => match a(0) {
                Value::Array(mut items) => {
                    items.push(a(1));
                    Value::Array(items)
                }
                _ => Value::Null,
            },
            Func::ArrayCat => match (a(0), a(1)) {
                (Value::Array(mut x), Value::Array(y)) => {
                    x.extend(y);
                    Value::Array(x)
                }
                (Value::Array(mut x), v) => {
                    x.push(v);
                    Value::Array(x)
                }
                (v, Value::Array(mut y)) => {
                    y.insert(0, v);
                    Value::Array(y)
                }
                _ => Value::Null,
            },
            Func::Nextval => {
                let seq = self.sequence(&text(&a(0)))?;
                self.require_sequence(&seq, acl::USAGE | acl::UPDATE)?;
                let v = catalog::nextval(&self.ctx.db.txn, &seq)?;
                CURRVAL.lock().get_or_insert_with(HashMap::new).insert((self.ctx.pid, seq.oid), v);
                Value::Int8(v)
            }
            Func::Currval => {
                let seq = self.sequence(&text(&a(0)))?;
                self.require_sequence(&seq, acl::SELECT | acl::USAGE)?;
                let v =
                    CURRVAL.lock().get_or_insert_with(HashMap::new).get(&(self.ctx.pid, seq.oid)).copied();
                Value::Int8(v.ok_or_else(|| {
                    Error::new(
                        ErrorKind::ObjectNotInPrerequisiteState,
                        format!("currval of sequence \"{}\" is not yet defined in this session", seq.name),
                    )
                })?)
            }
            Func::Setval => {
                let seq = self.sequence(&text(&a(0)))?;
                self.require_sequence(&seq, acl::UPDATE)?;
                let v = int(&a(1));
                let called = args.len() < 3 || matches!(a(2), Value::Bool(true));
                catalog::setval(&self.ctx.db.txn, &seq, v, called)?;
                if called {
                    CURRVAL.lock().get_or_insert_with(HashMap::new).insert((self.ctx.pid, seq.oid), v);
                }
                Value::Int8(v)
            }
            Func::CurrentSetting => {
                if a(0).is_null() {
                    return Ok(Value::Null);
                }
                let missing_ok = matches!(a(1), Value::Bool(true));
                match self.ctx.settings.get(&text(&a(0))) {
                    Ok(v) => Value::Text(v),
                    Err(_) if missing_ok => Value::Null,
                    Err(e) => return Err(e),
                }
            }
            Func::SetConfig => {
                if a(0).is_null() {
                    return Err(Error::new(ErrorKind::NullValueNotAllowed, "SET requires parameter name"));
                }
                let name = text(&a(0));
                let local = matches!(a(2), Value::Bool(true));
                self.ctx.settings.set(&name, &text(&a(1)), local)?;
                Value::Text(self.ctx.settings.get(&name)?)
            }
            Func::PgBackendPid => Value::Int4(self.ctx.pid),
            Func::IsBlocked => {
                let pid = int(&a(0)) as i32;
                let Value::Array(items) = a(1) else { return Ok(Value::Null) };
                let pids: Vec<i32> = items.iter().filter_map(ops::as_i64).map(|p| p as i32).collect();
                Value::Bool(self.ctx.cluster.is_blocked(pid, &pids))
            }
            Func::BlockingPids => Value::Array(
                self.ctx.cluster.blocking_pids(int(&a(0)) as i32).into_iter().map(Value::Int4).collect(),
            ),
            Func::Version => Value::Text(format!(
                "PostgreSQL {} on x86_64-pc-linux-gnu, compiled by rustc, 64-bit",
                crate::sql::settings::SERVER_VERSION
            )),
            Func::CurrentDatabase => Value::Text(self.ctx.db.name.clone()),
            Func::CurrentUser => Value::Text(self.catalog.auth.current_name()),
            Func::SessionUser => Value::Text(self.catalog.auth.session_name()),
            Func::CurrentSchema => Value::Text("public".into()),
            Func::PgTypeof => Value::Null,
            Func::ToChar => Value::Text(a(0).to_text(&self.fmt).unwrap_or_default()),
            Func::Catalog(_) => Value::Null,
            Func::GenerateSeries | Func::Unnest => {
                return Err(Error::new(
                    ErrorKind::FeatureNotSupported,
                    "set-returning functions are only supported in FROM",
                ))
            }
        })
    }

    /// The transaction's start time (now(), current_timestamp), fixed per transaction id.
    pub fn now(&self) -> i64 {
        static START: Mutex<Option<HashMap<(usize, u64), i64>>> = Mutex::new(None);
        let key = (&*self.ctx.db.txn as *const _ as usize, self.ctx.txn.id());
        let mut g = START.lock();
        let map = g.get_or_insert_with(HashMap::new);
        if map.len() > 10_000 {
            map.clear();
        }
        *map.entry(key).or_insert_with(|| {
            let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
            d.as_micros() as i64 - datetime::UNIX_EPOCH_DAYS * datetime::USECS_PER_DAY
        })
    }
}

fn numeric_like(v: &Value) -> crate::sql::types::DataType {
    match v {
        Value::Numeric(_) => crate::sql::types::DataType::Numeric(None),
        _ => crate::sql::types::DataType::Float8,
    }
}

fn flatten(items: Vec<Value>, out: &mut Vec<Value>) {
    for v in items {
        match v {
            Value::Array(inner) => flatten(inner, out),
            v => out.push(v),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn md5_matches_rfc() {
        assert_eq!(super::md5_hex(b""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(super::md5_hex(b"abc"), "900150983cd24fb0d6963f7d28e17f72");
    }
}
