//! `date`, `timestamp` and `timestamptz`: PostgreSQL's representations, input and `DateStyle`
//! output.
//!
//! | type | stored as | binary wire format |
//! |------|-----------|--------------------|
//! | date | `i32` days since 2000-01-01 | the same, big-endian |
//! | timestamp | `i64` microseconds since 2000-01-01 00:00:00 | the same |
//! | timestamptz | `i64` microseconds since 2000-01-01 00:00:00 UTC | the same |
//!
//! `±infinity` are the extreme integers, as in PostgreSQL. Calendar conversion uses the proleptic
//! Gregorian civil-from-days algorithm (Howard Hinnant's). Deliberately left out for now: time
//! zones other than UTC (timestamptz prints `+00`), BC dates, and free-form input such as
//! `January 8, 1999`; ISO input (`2024-01-15 10:30:00.5+02`) and `MM/DD/YYYY` are accepted.

use crate::error::{Error, ErrorKind, Result};

/// Microseconds per day.
pub const USECS_PER_DAY: i64 = 86_400_000_000;
/// Days between 1970-01-01 and 2000-01-01.
pub const UNIX_EPOCH_DAYS: i64 = 10_957;
/// `date 'infinity'`.
pub const DATE_INFINITY: i32 = i32::MAX;
/// `date '-infinity'`.
pub const DATE_NEG_INFINITY: i32 = i32::MIN;
/// `timestamp 'infinity'`.
pub const TS_INFINITY: i64 = i64::MAX;
/// `timestamp '-infinity'`.
pub const TS_NEG_INFINITY: i64 = i64::MIN;

/// Days since 1970-01-01 of a civil date.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Civil date of days since 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// A date's PostgreSQL value from a civil date (None when the day does not exist).
pub fn date_from_ymd(y: i64, m: u32, d: u32) -> Option<i32> {
    if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
        return None;
    }
    i32::try_from(days_from_civil(y, m, d) - UNIX_EPOCH_DAYS).ok()
}

/// The civil date of a PostgreSQL date.
pub fn ymd(date: i32) -> (i64, u32, u32) {
    civil_from_days(date as i64 + UNIX_EPOCH_DAYS)
}

/// Which kind of value is being parsed (for messages).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// date
    Date,
    /// timestamp
    Timestamp,
    /// timestamptz
    Timestamptz,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Date => "date",
            Kind::Timestamp => "timestamp",
            Kind::Timestamptz => "timestamp with time zone",
        }
    }
}

fn bad(kind: Kind, s: &str) -> Error {
    Error::new(
        ErrorKind::InvalidDatetimeFormat,
        format!("invalid input syntax for type {}: \"{s}\"", kind.name()),
    )
}

fn range(s: &str) -> Error {
    Error::new(ErrorKind::DatetimeFieldOverflow, format!("date/time field value out of range: \"{s}\""))
}

/// Parsed pieces of a date/time literal.
struct Parsed {
    date: i32,
    micros: i64,
    offset_secs: Option<i64>,
}

fn num(s: &str) -> Option<i64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn parse_tz(t: &str) -> Option<i64> {
    let t = t.trim();
    if t.eq_ignore_ascii_case("z") || t.eq_ignore_ascii_case("utc") || t.eq_ignore_ascii_case("gmt") {
        return Some(0);
    }
    let (sign, rest) = match t.as_bytes().first()? {
        b'+' => (1, &t[1..]),
        b'-' => (-1, &t[1..]),
        _ => return None,
    };
    let (h, m) = if let Some((h, m)) = rest.split_once(':') {
        (num(h)?, num(m)?)
    } else if rest.len() == 4 {
        (num(&rest[..2])?, num(&rest[2..])?)
    } else {
        (num(rest)?, 0)
    };
    if h > 15 || m > 59 {
        return None;
    }
    Some(sign * (h * 3600 + m * 60))
}

fn parse_time(t: &str) -> Option<(i64, Option<i64>)> {
    // Split off a time zone: the first '+'/'-' after the time, or a trailing letter zone.
    let (time, tz) = match t.find(['+', '-']) {
        Some(i) => (&t[..i], Some(&t[i..])),
        None => match t.find(|c: char| c.is_ascii_alphabetic()) {
            Some(i) => (&t[..i], Some(&t[i..])),
            None => (t, None),
        },
    };
    let time = time.trim();
    let mut parts = time.split(':');
    let h = num(parts.next()?)?;
    let m = num(parts.next()?)?;
    let (s, frac) = match parts.next() {
        None => (0, 0),
        Some(sec) => {
            let (whole, f) = sec.split_once('.').unwrap_or((sec, ""));
            let whole = num(whole)?;
            let mut f: String = f.chars().take(7).collect();
            if !f.is_empty() && !f.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            while f.len() < 7 {
                f.push('0');
            }
            // Round to microseconds (half up, like PostgreSQL's rint on the 7th digit).
            let f7: i64 = f.parse().ok()?;
            (whole, (f7 + 5) / 10)
        }
    };
    if parts.next().is_some() || h > 24 || m > 59 || s > 60 {
        return None;
    }
    let offset = match tz {
        Some(z) => Some(parse_tz(z)?),
        None => None,
    };
    Some((((h * 60 + m) * 60 + s) * 1_000_000 + frac, offset))
}

fn parse_date_part(d: &str, mdy: bool) -> std::result::Result<Option<(i64, u32, u32)>, ()> {
    let (a, b, c) = if let Some((a, rest)) = d.split_once('-') {
        let (b, c) = rest.split_once('-').ok_or(())?;
        (a, b, c)
    } else if let Some((a, rest)) = d.split_once('/') {
        let (b, c) = rest.split_once('/').ok_or(())?;
        (a, b, c)
    } else if d.len() == 8 && d.bytes().all(|b| b.is_ascii_digit()) {
        (&d[..4], &d[4..6], &d[6..])
    } else {
        return Err(());
    };
    let (a, b, c) = (num(a).ok_or(())?, num(b).ok_or(())?, num(c).ok_or(())?);
    let (y, m, day) = if d.split(['-', '/']).next().is_some_and(|p| p.len() >= 3) {
        (a, b, c)
    } else if mdy {
        (c, a, b)
    } else {
        (c, b, a)
    };
    if !(0..=12).contains(&m) || !(0..=31).contains(&day) {
        return Ok(None);
    }
    Ok(Some((y, m as u32, day as u32)))
}

fn parse(s: &str, kind: Kind, date_style: &str) -> Result<Parsed> {
    let t = s.trim();
    let mdy = !date_style.to_ascii_uppercase().contains("DMY");
    let (dpart, tpart) = match t.find([' ', 'T', 't']) {
        Some(i) => (&t[..i], Some(t[i + 1..].trim())),
        None => (t, None),
    };
    let (y, m, d) = match parse_date_part(dpart, mdy) {
        Err(()) => return Err(bad(kind, s)),
        Ok(None) => return Err(range(s)),
        Ok(Some(v)) => v,
    };
    let date = date_from_ymd(y, m, d).ok_or_else(|| range(s))?;
    let (micros, offset_secs) = match tpart {
        None | Some("") => (0, None),
        Some(tp) => match parse_tz(tp) {
            Some(off) if !tp.contains(':') || tp.starts_with(['+', '-']) => (0, Some(off)),
            _ => parse_time(tp).ok_or_else(|| bad(kind, s))?,
        },
    };
    if micros > USECS_PER_DAY {
        return Err(range(s));
    }
    Ok(Parsed { date, micros, offset_secs })
}

fn special(s: &str) -> Option<&'static str> {
    let t = s.trim().to_ascii_lowercase();
    ["infinity", "-infinity", "epoch", "now", "today", "tomorrow", "yesterday"].into_iter().find(|k| *k == t)
}

fn now_micros() -> i64 {
    let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    d.as_micros() as i64 - UNIX_EPOCH_DAYS * USECS_PER_DAY
}

/// Parses a date.
pub fn parse_date(s: &str, date_style: &str) -> Result<i32> {
    if let Some(sp) = special(s) {
        let today = now_micros().div_euclid(USECS_PER_DAY) as i32;
        return Ok(match sp {
            "infinity" => DATE_INFINITY,
            "-infinity" => DATE_NEG_INFINITY,
            "epoch" => -(UNIX_EPOCH_DAYS as i32),
            "tomorrow" => today + 1,
            "yesterday" => today - 1,
            _ => today,
        });
    }
    Ok(parse(s, Kind::Date, date_style)?.date)
}

/// Parses a timestamp (`tz` = with time zone: offsets are applied; without, they are ignored).
pub fn parse_timestamp(s: &str, tz: bool, date_style: &str) -> Result<i64> {
    if let Some(sp) = special(s) {
        let now = now_micros();
        let today = now.div_euclid(USECS_PER_DAY) * USECS_PER_DAY;
        return Ok(match sp {
            "infinity" => TS_INFINITY,
            "-infinity" => TS_NEG_INFINITY,
            "epoch" => -UNIX_EPOCH_DAYS * USECS_PER_DAY,
            "now" => now,
            "tomorrow" => today + USECS_PER_DAY,
            "yesterday" => today - USECS_PER_DAY,
            _ => today,
        });
    }
    let kind = if tz { Kind::Timestamptz } else { Kind::Timestamp };
    let p = parse(s, kind, date_style)?;
    let mut v = p.date as i64 * USECS_PER_DAY + p.micros;
    if tz {
        v -= p.offset_secs.unwrap_or(0) * 1_000_000;
    }
    Ok(v)
}

const MONTHS: [&str; 12] =
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

fn style(date_style: &str) -> (&'static str, bool) {
    let u = date_style.to_ascii_uppercase();
    let s = if u.contains("POSTGRES") {
        "postgres"
    } else if u.contains("SQL") {
        "sql"
    } else if u.contains("GERMAN") {
        "german"
    } else {
        "iso"
    };
    (s, u.contains("DMY"))
}

fn fmt_year(y: i64) -> String {
    if y > 0 {
        format!("{y:04}")
    } else {
        format!("{:04}", 1 - y)
    }
}

fn bc(y: i64) -> &'static str {
    if y > 0 {
        ""
    } else {
        " BC"
    }
}

/// Formats a date per `DateStyle`.
pub fn format_date(date: i32, date_style: &str) -> String {
    match date {
        DATE_INFINITY => return "infinity".into(),
        DATE_NEG_INFINITY => return "-infinity".into(),
        _ => {}
    }
    let (y, m, d) = ymd(date);
    let (st, dmy) = style(date_style);
    let yy = fmt_year(y);
    let out = match st {
        "postgres" if dmy => format!("{d:02}-{m:02}-{yy}"),
        "postgres" => format!("{m:02}-{d:02}-{yy}"),
        "sql" if dmy => format!("{d:02}/{m:02}/{yy}"),
        "sql" => format!("{m:02}/{d:02}/{yy}"),
        "german" => format!("{d:02}.{m:02}.{yy}"),
        _ => format!("{yy}-{m:02}-{d:02}"),
    };
    format!("{out}{}", bc(y))
}

fn fmt_time(micros: i64, with_secs_always: bool) -> String {
    let secs = micros / 1_000_000;
    let frac = micros % 1_000_000;
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    let mut out = format!("{h:02}:{m:02}");
    if with_secs_always || s != 0 || frac != 0 {
        out.push_str(&format!(":{s:02}"));
    }
    if frac != 0 {
        let f = format!("{frac:06}");
        out.push('.');
        out.push_str(f.trim_end_matches('0'));
    }
    out
}

/// Formats a timestamp (`tz`: with time zone, printed in UTC) per `DateStyle`.
pub fn format_timestamp(ts: i64, tz: bool, date_style: &str) -> String {
    match ts {
        TS_INFINITY => return "infinity".into(),
        TS_NEG_INFINITY => return "-infinity".into(),
        _ => {}
    }
    let date = ts.div_euclid(USECS_PER_DAY);
    let micros = ts.rem_euclid(USECS_PER_DAY);
    let (y, m, d) = civil_from_days(date + UNIX_EPOCH_DAYS);
    let (st, dmy) = style(date_style);
    let time = fmt_time(micros, true);
    let yy = fmt_year(y);
    let out = match st {
        "postgres" => {
            let dow = DAYS[(date + 6).rem_euclid(7) as usize];
            let mon = MONTHS[(m - 1) as usize];
            let md = if dmy { format!("{d:02} {mon}") } else { format!("{mon} {d:02}") };
            format!("{dow} {md} {time} {yy}{}", if tz { " UTC" } else { "" })
        }
        "sql" => {
            let md = if dmy { format!("{d:02}/{m:02}") } else { format!("{m:02}/{d:02}") };
            format!("{md}/{yy} {time}{}", if tz { " UTC" } else { "" })
        }
        "german" => format!("{d:02}.{m:02}.{yy} {time}{}", if tz { " UTC" } else { "" }),
        _ => format!("{yy}-{m:02}-{d:02} {time}{}", if tz { "+00" } else { "" }),
    };
    format!("{out}{}", bc(y))
}

/// The day of week (0 = Sunday) of a date.
pub fn day_of_week(date: i32) -> i64 {
    (date as i64 + 6).rem_euclid(7)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        assert_eq!(parse_date("2000-01-01", "ISO, MDY").unwrap(), 0);
        assert_eq!(parse_date("1999-12-31", "ISO, MDY").unwrap(), -1);
        let d = parse_date("2024-02-29", "ISO, MDY").unwrap();
        assert_eq!(format_date(d, "ISO, MDY"), "2024-02-29");
        assert_eq!(format_date(d, "Postgres, MDY"), "02-29-2024");
        assert_eq!(format_date(d, "SQL, DMY"), "29/02/2024");
        assert_eq!(format_date(d, "German, DMY"), "29.02.2024");
        assert_eq!(parse_date("2023-02-29", "ISO, MDY").unwrap_err().sqlstate(), "22008");
        assert_eq!(parse_date("x", "ISO, MDY").unwrap_err().sqlstate(), "22007");
        assert_eq!(
            parse_date("01/02/2024", "ISO, MDY").map(|d| format_date(d, "ISO")).unwrap(),
            "2024-01-02"
        );
    }

    #[test]
    fn timestamps_round_trip() {
        let t = parse_timestamp("2024-01-15 10:30:00.5", false, "ISO, MDY").unwrap();
        assert_eq!(format_timestamp(t, false, "ISO, MDY"), "2024-01-15 10:30:00.5");
        assert_eq!(format_timestamp(t, false, "Postgres, MDY"), "Mon Jan 15 10:30:00.5 2024");
        let z = parse_timestamp("2024-01-15 10:30:00+02", true, "ISO, MDY").unwrap();
        assert_eq!(format_timestamp(z, true, "ISO, MDY"), "2024-01-15 08:30:00+00");
        assert_eq!(format_timestamp(-1, false, "ISO"), "1999-12-31 23:59:59.999999");
    }
}
