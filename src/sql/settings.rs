//! Run-time settings (PostgreSQL's GUCs): SET / SHOW / RESET, `current_setting`, `set_config`.
//!
//! Each session owns a [`Settings`]; the session makes them transactional by keeping copies at
//! BEGIN and at savepoints (SET is rolled back with its block; SET LOCAL ends with the transaction).
//! Settings marked *reported* are sent to the client as ParameterStatus whenever they change.

use crate::error::{Error, ErrorKind, Result};
use crate::sql::types::FormatContext;
use std::collections::BTreeMap;

/// The server version we report (psql and libpq read the leading number).
pub const SERVER_VERSION: &str = concat!("15.0 (ssidb ", env!("CARGO_PKG_VERSION"), ")");
/// `server_version_num`.
pub const SERVER_VERSION_NUM: &str = "150000";

/// Static description of one setting.
struct Spec {
    name: &'static str,
    default: &'static str,
    reported: bool,
    read_only: bool,
    kind: Kind,
    description: &'static str,
}

#[derive(Clone, Copy)]
enum Kind {
    Text,
    Bool,
    Int,
    /// A duration in milliseconds; accepts units (`100ms`, `1s`, `1min`).
    Millis,
    Isolation,
    DateStyle,
    Enum(&'static [&'static str]),
}

const SPECS: &[Spec] = &[
    Spec { name: "application_name", default: "", reported: true, read_only: false, kind: Kind::Text, description: "Sets the application name to be reported in statistics and logs." },
    Spec { name: "client_encoding", default: "UTF8", reported: true, read_only: false, kind: Kind::Enum(&["UTF8", "UNICODE", "utf8", "unicode", "utf-8", "UTF-8", "SQL_ASCII"]), description: "Sets the client's character set encoding." },
    Spec { name: "DateStyle", default: "ISO, MDY", reported: true, read_only: false, kind: Kind::DateStyle, description: "Sets the display format for date and time values." },
    Spec { name: "default_transaction_deferrable", default: "off", reported: false, read_only: false, kind: Kind::Bool, description: "Sets the default deferrable status of new transactions." },
    Spec { name: "default_transaction_isolation", default: "read committed", reported: false, read_only: false, kind: Kind::Isolation, description: "Sets the transaction isolation level of each new transaction." },
    Spec { name: "default_transaction_read_only", default: "off", reported: false, read_only: false, kind: Kind::Bool, description: "Sets the default read-only status of new transactions." },
    Spec { name: "deadlock_timeout", default: "1s", reported: false, read_only: false, kind: Kind::Millis, description: "Sets the time to wait on a lock before checking for deadlock." },
    Spec { name: "extra_float_digits", default: "1", reported: false, read_only: false, kind: Kind::Int, description: "Sets the number of digits displayed for floating-point values." },
    Spec { name: "idle_in_transaction_session_timeout", default: "0", reported: false, read_only: false, kind: Kind::Millis, description: "Sets the maximum allowed idle time between queries, when in a transaction." },
    Spec { name: "integer_datetimes", default: "on", reported: true, read_only: true, kind: Kind::Bool, description: "Shows whether datetimes are integer based." },
    Spec { name: "IntervalStyle", default: "postgres", reported: true, read_only: false, kind: Kind::Enum(&["postgres", "postgres_verbose", "sql_standard", "iso_8601"]), description: "Sets the display format for interval values." },
    Spec { name: "is_superuser", default: "on", reported: true, read_only: true, kind: Kind::Bool, description: "Shows whether the current user is a superuser." },
    Spec { name: "lock_timeout", default: "0", reported: false, read_only: false, kind: Kind::Millis, description: "Sets the maximum allowed duration of any wait for a lock." },
    Spec { name: "max_connections", default: "100", reported: false, read_only: true, kind: Kind::Int, description: "Sets the maximum number of concurrent connections." },
    Spec { name: "password_encryption", default: "scram-sha-256", reported: false, read_only: false, kind: Kind::Enum(&["scram-sha-256"]), description: "Chooses the algorithm for encrypting passwords." },
    Spec { name: "role", default: "none", reported: false, read_only: false, kind: Kind::Text, description: "Sets the current role." },
    Spec { name: "search_path", default: "\"$user\", public", reported: false, read_only: false, kind: Kind::Text, description: "Sets the schema search order for names that are not schema-qualified." },
    Spec { name: "server_encoding", default: "UTF8", reported: true, read_only: true, kind: Kind::Text, description: "Shows the server (database) character set encoding." },
    Spec { name: "server_version", default: SERVER_VERSION, reported: true, read_only: true, kind: Kind::Text, description: "Shows the server version." },
    Spec { name: "server_version_num", default: SERVER_VERSION_NUM, reported: false, read_only: true, kind: Kind::Int, description: "Shows the server version as an integer." },
    Spec { name: "session_authorization", default: "postgres", reported: true, read_only: true, kind: Kind::Text, description: "Sets the session user name." },
    Spec { name: "standard_conforming_strings", default: "on", reported: true, read_only: false, kind: Kind::Bool, description: "Causes '...' strings to treat backslashes literally." },
    Spec { name: "statement_timeout", default: "0", reported: false, read_only: false, kind: Kind::Millis, description: "Sets the maximum allowed duration of any statement." },
    Spec { name: "synchronous_commit", default: "on", reported: false, read_only: false, kind: Kind::Enum(&["on", "off", "local", "remote_write", "remote_apply"]), description: "Sets the current transaction's synchronization level." },
    Spec { name: "TimeZone", default: "UTC", reported: true, read_only: false, kind: Kind::Text, description: "Sets the time zone for displaying and interpreting time stamps." },
    Spec { name: "transaction_deferrable", default: "off", reported: false, read_only: false, kind: Kind::Bool, description: "Whether to defer a read-only serializable transaction until it can be executed with no possible serialization failures." },
    Spec { name: "transaction_isolation", default: "read committed", reported: false, read_only: false, kind: Kind::Isolation, description: "Sets the current transaction's isolation level." },
    Spec { name: "transaction_read_only", default: "off", reported: false, read_only: false, kind: Kind::Bool, description: "Sets the current transaction's read-only status." },
    Spec { name: "work_mem", default: "4MB", reported: false, read_only: false, kind: Kind::Text, description: "Sets the maximum memory to be used for query workspaces." },
];

fn spec(name: &str) -> Option<&'static Spec> {
    SPECS.iter().find(|s| s.name.eq_ignore_ascii_case(name))
}

/// Whether `name` is a setting ssidb knows.
pub fn is_known(name: &str) -> bool {
    spec(name).is_some()
}

/// A session's settings.
#[derive(Clone, Debug)]
pub struct Settings {
    values: BTreeMap<&'static str, String>,
    /// Values SET LOCAL overrode in the current transaction: restored at its end.
    local_saved: BTreeMap<&'static str, String>,
    /// Reported settings whose value changed since the last [`Settings::take_changes`].
    changed: Vec<&'static str>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            values: SPECS.iter().map(|s| (s.name, s.default.to_string())).collect(),
            local_saved: BTreeMap::new(),
            changed: Vec::new(),
        }
    }
}

fn unknown(name: &str) -> Error {
    Error::new(ErrorKind::UndefinedObject, format!("unrecognized configuration parameter \"{name}\""))
}

fn invalid(name: &str, value: &str) -> Error {
    Error::new(
        ErrorKind::InvalidParameterValue,
        format!("invalid value for parameter \"{name}\": \"{value}\""),
    )
}

/// Parses a duration setting into milliseconds.
pub fn parse_millis(value: &str) -> Option<u64> {
    let v = value.trim();
    let split = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    let (num, unit) = v.split_at(split);
    let n: u64 = num.parse().ok()?;
    let mult = match unit.trim() {
        "" | "ms" => 1,
        "s" => 1000,
        "min" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return None,
    };
    n.checked_mul(mult)
}

fn normalize_datestyle(value: &str, current: &str) -> Option<String> {
    let (mut style, mut order) = {
        let mut parts = current.split(',').map(|s| s.trim().to_string());
        (parts.next().unwrap_or_else(|| "ISO".into()), parts.next().unwrap_or_else(|| "MDY".into()))
    };
    for part in value.split(',').map(|p| p.trim().to_ascii_lowercase()) {
        match part.as_str() {
            "iso" => style = "ISO".into(),
            "postgres" => style = "Postgres".into(),
            "sql" => style = "SQL".into(),
            "german" => style = "German".into(),
            "mdy" | "us" | "noneuropean" => order = "MDY".into(),
            "dmy" | "euro" | "european" => order = "DMY".into(),
            "ymd" => order = "YMD".into(),
            "default" => {
                style = "ISO".into();
                order = "MDY".into();
            }
            _ => return None,
        }
    }
    Some(format!("{style}, {order}"))
}

impl Settings {
    /// The value of `name` as SHOW prints it.
    pub fn get(&self, name: &str) -> Result<String> {
        let spec = spec(name).ok_or_else(|| unknown(name))?;
        Ok(self.values.get(spec.name).cloned().unwrap_or_default())
    }

    /// SET `name` = `value` (`local` = SET LOCAL). Normalizes the value as PostgreSQL does.
    pub fn set(&mut self, name: &str, value: &str, local: bool) -> Result<()> {
        let spec = spec(name).ok_or_else(|| unknown(name))?;
        if spec.read_only {
            return Err(Error::new(
                ErrorKind::CantChangeRuntimeParam,
                format!("parameter \"{}\" cannot be changed", spec.name),
            ));
        }
        let normalized = match spec.kind {
            Kind::Text => value.to_string(),
            Kind::Bool => match value.trim().to_ascii_lowercase().as_str() {
                "on" | "true" | "yes" | "1" | "t" | "y" => "on".into(),
                "off" | "false" | "no" | "0" | "f" | "n" => "off".into(),
                _ => {
                    return Err(Error::new(
                        ErrorKind::InvalidParameterValue,
                        format!("parameter \"{}\" requires a Boolean value", spec.name),
                    ))
                }
            },
            Kind::Int => {
                value.trim().parse::<i64>().map_err(|_| invalid(spec.name, value))?;
                value.trim().to_string()
            }
            Kind::Millis => {
                let ms = parse_millis(value).ok_or_else(|| invalid(spec.name, value))?;
                format_millis(ms)
            }
            Kind::Isolation => {
                let level = crate::txn::mvcc::IsolationLevel::parse(value)
                    .ok_or_else(|| invalid(spec.name, value))?;
                level.as_str().to_string()
            }
            Kind::DateStyle => {
                let current = self.get("DateStyle")?;
                normalize_datestyle(value, &current).ok_or_else(|| invalid(spec.name, value))?
            }
            Kind::Enum(allowed) => {
                let found = allowed.iter().find(|a| a.eq_ignore_ascii_case(value.trim()));
                let v = found.ok_or_else(|| invalid(spec.name, value))?;
                if spec.name == "client_encoding" && !v.eq_ignore_ascii_case("SQL_ASCII") {
                    "UTF8".to_string()
                } else {
                    v.to_string()
                }
            }
        };
        if local {
            let old = self.values.get(spec.name).cloned().unwrap_or_default();
            self.local_saved.entry(spec.name).or_insert(old);
        } else {
            self.local_saved.remove(spec.name);
        }
        self.assign(spec, normalized);
        Ok(())
    }

    fn assign(&mut self, spec: &'static Spec, value: String) {
        if self.values.get(spec.name) != Some(&value) {
            if spec.reported && !self.changed.contains(&spec.name) {
                self.changed.push(spec.name);
            }
            self.values.insert(spec.name, value);
        }
    }

    /// Sets a value without validation or read-only checks (server start-up, the engine itself).
    pub fn set_internal(&mut self, name: &str, value: &str) {
        if let Some(spec) = spec(name) {
            self.assign(spec, value.to_string());
        }
    }

    /// RESET `name` to its default.
    pub fn reset(&mut self, name: &str) -> Result<()> {
        let spec = spec(name).ok_or_else(|| unknown(name))?;
        if spec.read_only {
            return Err(Error::new(
                ErrorKind::CantChangeRuntimeParam,
                format!("parameter \"{}\" cannot be changed", spec.name),
            ));
        }
        self.local_saved.remove(spec.name);
        self.assign(spec, spec.default.to_string());
        Ok(())
    }

    /// RESET ALL.
    pub fn reset_all(&mut self) {
        for spec in SPECS.iter().filter(|s| !s.read_only && !s.name.starts_with("transaction_")) {
            self.assign(spec, spec.default.to_string());
        }
        self.local_saved.clear();
    }

    /// Restores the values SET LOCAL changed (transaction end).
    pub fn end_transaction_locals(&mut self) {
        for (name, value) in std::mem::take(&mut self.local_saved) {
            if let Some(spec) = spec(name) {
                self.assign(spec, value);
            }
        }
    }

    /// Replaces every value with `other`'s (rollback of a block or savepoint), noting reported
    /// changes.
    pub fn restore(&mut self, other: &Settings) {
        for spec in SPECS {
            if let Some(v) = other.values.get(spec.name) {
                self.assign(spec, v.clone());
            }
        }
        self.local_saved = other.local_saved.clone();
    }

    /// Reported settings that changed since the last call, with their values.
    pub fn take_changes(&mut self) -> Vec<(String, String)> {
        std::mem::take(&mut self.changed)
            .into_iter()
            .map(|n| (n.to_string(), self.values.get(n).cloned().unwrap_or_default()))
            .collect()
    }

    /// Every reported setting with its value (sent at start-up).
    pub fn reported(&self) -> Vec<(String, String)> {
        SPECS
            .iter()
            .filter(|s| s.reported)
            .map(|s| (s.name.to_string(), self.values.get(s.name).cloned().unwrap_or_default()))
            .collect()
    }

    /// SHOW ALL: name, setting, description.
    pub fn all(&self) -> Vec<(String, String, String)> {
        let mut rows: Vec<_> = SPECS
            .iter()
            .map(|s| {
                (
                    s.name.to_string(),
                    self.values.get(s.name).cloned().unwrap_or_default(),
                    s.description.to_string(),
                )
            })
            .collect();
        rows.sort_by_key(|r| r.0.to_ascii_lowercase());
        rows
    }

    /// A duration setting in milliseconds (0 = disabled).
    pub fn millis(&self, name: &str) -> u64 {
        self.get(name).ok().and_then(|v| parse_millis(&v)).unwrap_or(0)
    }

    /// The formatting settings for value output.
    pub fn format_context(&self) -> FormatContext {
        FormatContext {
            date_style: self.get("DateStyle").unwrap_or_default(),
            timezone: self.get("TimeZone").unwrap_or_default(),
            extra_float_digits: self.get("extra_float_digits").ok().and_then(|v| v.parse().ok()).unwrap_or(1),
            interval_style: self.get("IntervalStyle").unwrap_or_default(),
        }
    }
}

fn format_millis(ms: u64) -> String {
    if ms == 0 {
        "0".into()
    } else if ms.is_multiple_of(60_000) {
        format!("{}min", ms / 60_000)
    } else if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_show_reset_and_local() {
        let mut s = Settings::default();
        s.set("datestyle", "postgres", false).unwrap();
        assert_eq!(s.get("DateStyle").unwrap(), "Postgres, MDY");
        assert_eq!(s.take_changes(), vec![("DateStyle".to_string(), "Postgres, MDY".to_string())]);
        s.set("lock_timeout", "1000", true).unwrap();
        assert_eq!(s.get("lock_timeout").unwrap(), "1s");
        s.end_transaction_locals();
        assert_eq!(s.get("lock_timeout").unwrap(), "0");
        assert_eq!(s.get("nope").unwrap_err().sqlstate(), "42704");
        assert_eq!(s.set("server_version", "1", false).unwrap_err().sqlstate(), "55P02");
        s.reset("DateStyle").unwrap();
        assert_eq!(s.get("DateStyle").unwrap(), "ISO, MDY");
    }
}
