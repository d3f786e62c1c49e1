//! The startup packet: protocol version, user, database, and settings.
//!
//! Settings arrive two ways and both are applied: parameters named after a setting
//! (`application_name`, `client_encoding`, `datestyle` from PGDATESTYLE, ...) and the `options`
//! parameter (PGOPTIONS), which holds `-c name=value` and `--name=value` words separated by
//! spaces, with `\` escaping a space.

use crate::error::{Error, ErrorKind, Result};
use crate::sql::settings;
use bytes::{Buf, BytesMut};

/// Protocol 3.0.
pub const PROTOCOL_3: i32 = 196_608;
/// SSLRequest code.
pub const SSL_REQUEST: i32 = 80_877_103;
/// GSSENCRequest code.
pub const GSSENC_REQUEST: i32 = 80_877_104;
/// CancelRequest code.
pub const CANCEL_REQUEST: i32 = 80_877_102;

/// What the client asked for in its first packet.
#[derive(Debug, PartialEq, Eq)]
pub enum FirstPacket {
    /// SSLRequest.
    Ssl,
    /// GSSENCRequest.
    GssEnc,
    /// CancelRequest(pid, secret).
    Cancel(i32, i32),
    /// StartupMessage.
    Startup(Startup),
}

/// A decoded StartupMessage.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Startup {
    /// `user`.
    pub user: String,
    /// `database` (defaults to the user name).
    pub database: String,
    /// Settings to apply, in order.
    pub settings: Vec<(String, String)>,
}

fn violation(msg: &str) -> Error {
    Error::new(ErrorKind::ProtocolViolation, msg.to_string())
}

/// Decodes the first packet of a connection (`buf` includes the length word).
pub fn decode_first(mut buf: BytesMut) -> Result<FirstPacket> {
    if buf.len() < 8 {
        return Err(violation("invalid length of startup packet"));
    }
    buf.advance(4);
    let code = buf.get_i32();
    match code {
        SSL_REQUEST => Ok(FirstPacket::Ssl),
        GSSENC_REQUEST => Ok(FirstPacket::GssEnc),
        CANCEL_REQUEST => {
            if buf.len() < 8 {
                return Err(violation("invalid length of cancel request"));
            }
            Ok(FirstPacket::Cancel(buf.get_i32(), buf.get_i32()))
        }
        PROTOCOL_3 => decode_startup(&buf).map(FirstPacket::Startup),
        other if other >> 16 == 3 => decode_startup(&buf).map(FirstPacket::Startup),
        other => Err(Error::new(
            ErrorKind::FeatureNotSupported,
            format!(
                "unsupported frontend protocol {}.{}: server supports 3.0 to 3.0",
                other >> 16,
                other & 0xffff
            ),
        )),
    }
}

fn decode_startup(body: &[u8]) -> Result<Startup> {
    let mut parts = body.split(|b| *b == 0).map(|s| String::from_utf8_lossy(s).into_owned());
    let mut startup = Startup::default();
    let mut database = None;
    loop {
        let Some(name) = parts.next() else {
            return Err(violation("invalid startup packet layout: expected terminator as last byte"));
        };
        if name.is_empty() {
            break;
        }
        let value = parts.next().ok_or_else(|| violation("invalid startup packet layout"))?;
        match name.as_str() {
            "user" => startup.user = value,
            "database" => database = Some(value),
            "options" => startup.settings.extend(parse_options(&value)?),
            "replication" => return Err(violation("replication connections are not supported")),
            n if n.starts_with("_pq_.") => {}
            n if settings::is_known(n) => startup.settings.push((n.to_string(), value)),
            _ => {}
        }
    }
    if startup.user.is_empty() {
        return Err(Error::new(
            ErrorKind::InvalidAuthorization,
            "no PostgreSQL user name specified in startup packet",
        ));
    }
    startup.database = match database {
        Some(d) if !d.is_empty() => d,
        _ => startup.user.clone(),
    };
    Ok(startup)
}

/// Parses the `options` startup parameter: `-c a=b -c c=d --e=f`.
pub fn parse_options(options: &str) -> Result<Vec<(String, String)>> {
    // Split on unescaped whitespace.
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut chars = options.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            c if c.is_whitespace() => {
                if !cur.is_empty() {
                    words.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    let mut out = Vec::new();
    let mut it = words.into_iter();
    while let Some(w) = it.next() {
        let assignment = if w == "-c" {
            it.next().ok_or_else(|| violation("invalid command-line argument for server process: -c"))?
        } else if let Some(rest) = w.strip_prefix("-c") {
            rest.to_string()
        } else if let Some(rest) = w.strip_prefix("--") {
            rest.to_string()
        } else {
            return Err(violation(&format!("invalid command-line argument for server process: {w}")));
        };
        let (name, value) = assignment
            .split_once('=')
            .ok_or_else(|| Error::new(ErrorKind::Syntax, format!("-c {assignment} requires a value")))?;
        out.push((name.replace('-', "_"), value.to_string()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_forms() {
        assert_eq!(
            parse_options("-c default_transaction_isolation=serializable --application-name=a\\ b").unwrap(),
            vec![
                ("default_transaction_isolation".to_string(), "serializable".to_string()),
                ("application_name".to_string(), "a b".to_string())
            ]
        );
        assert!(parse_options("bogus").is_err());
    }

    #[test]
    fn startup_packet() {
        let mut body = Vec::new();
        body.extend_from_slice(&0i32.to_be_bytes());
        body.extend_from_slice(&PROTOCOL_3.to_be_bytes());
        for s in ["user", "bob", "datestyle", "Postgres, MDY", "options", "-c lock_timeout=5", ""] {
            body.extend_from_slice(s.as_bytes());
            body.push(0);
        }
        let len = body.len() as i32;
        body[..4].copy_from_slice(&len.to_be_bytes());
        match decode_first(BytesMut::from(&body[..])).unwrap() {
            FirstPacket::Startup(s) => {
                assert_eq!(s.user, "bob");
                assert_eq!(s.database, "bob");
                assert_eq!(s.settings.len(), 2);
            }
            other => panic!("{other:?}"),
        }
    }
}
