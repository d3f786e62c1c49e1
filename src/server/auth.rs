//! Client authentication, between the startup packet and AuthenticationOk.
//!
//! `trust`: nobody is asked anything (ssidb refuses to start with it on a non-loopback address).
//! `scram`: SCRAM-SHA-256 over SASL, as PostgreSQL's `scram-sha-256` method:
//!
//! ```text
//!   server: AuthenticationSASL ["SCRAM-SHA-256"]
//!   client: SASLInitialResponse ("SCRAM-SHA-256", client-first)     ('p' message)
//!   server: AuthenticationSASLContinue (server-first)
//!   client: SASLResponse (client-final)                              ('p' message)
//!   server: AuthenticationSASLFinal (server-final), then AuthenticationOk
//! ```
//!
//! The exchange itself is [`crate::sql::auth::scram`]. A wrong password, a role without a
//! password and a role that does not exist all end the same way, after
//! [`super::Config::auth_failure_delay`]: FATAL 28P01 `password authentication failed for user
//! "x"`. A client that hangs up when asked for a password (psql does, to prompt for one) ends the
//! connection quietly. Passwords never pass through here: only proofs, which are useless to a
//! reader of the wire or of a log.

use super::conn::Conn;
use super::wire;
use crate::error::{Error, ErrorKind, Result};
use crate::sql::auth::scram::{ScramServer, MECHANISM};
use crate::sql::cluster::Cluster;
use bytes::{Buf, Bytes};
use pgwire::messages::startup::{Authentication, PasswordMessageFamily};
use pgwire::messages::{PgWireBackendMessage as B, PgWireFrontendMessage as F};

/// How clients authenticate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthMethod {
    /// No password (allowed on loopback addresses only).
    Trust,
    /// SCRAM-SHA-256.
    Scram,
}

/// Largest SASL message accepted (PostgreSQL's PG_MAX_AUTH_TOKEN_LENGTH).
const MAX_AUTH_MESSAGE: usize = 65_535;

fn protocol(msg: &str) -> Error {
    Error::new(ErrorKind::ProtocolViolation, msg.to_string())
}

/// Reads the body of the next 'p' message; `None` when the client hung up.
async fn password_message(x: &mut Conn) -> Result<Option<Bytes>> {
    match wire::read_message(x.reader_mut(), MAX_AUTH_MESSAGE).await {
        Ok(None) | Err(Error { kind: ErrorKind::Io, .. }) => Ok(None),
        Ok(Some(F::PasswordMessageFamily(PasswordMessageFamily::Raw(body)))) => Ok(Some(body.freeze())),
        Ok(Some(_)) => Err(protocol("expected SASL response")),
        Err(e) => Err(e),
    }
}

/// Runs SCRAM-SHA-256 for `user`. `Ok(true)`: authenticated (AuthenticationOk not sent yet);
/// `Ok(false)`: the client hung up; `Err`: refused (the caller sends it as FATAL).
pub async fn scram(x: &mut Conn, cluster: &Cluster, user: &str) -> Result<bool> {
    let verifier = cluster.roles().by_name(user).and_then(|r| r.verifier.clone());
    let mut server = ScramServer::new(verifier.as_deref(), user)?;
    x.send(B::Authentication(Authentication::SASL(vec![MECHANISM.to_string()]))).await?;
    let Some(mut body) = password_message(x).await? else { return Ok(false) };
    // SASLInitialResponse: mechanism (C string), Int32 length (-1 = none), data.
    let nul = body.iter().position(|b| *b == 0).ok_or_else(|| protocol("invalid SASL initial response"))?;
    let mechanism = String::from_utf8_lossy(&body[..nul]).into_owned();
    body.advance(nul + 1);
    if mechanism != MECHANISM {
        return Err(protocol("client selected an invalid SASL authentication mechanism"));
    }
    if body.len() < 4 {
        return Err(protocol("invalid SASL initial response"));
    }
    let len = body.get_i32();
    if len < 0 || len as usize != body.len() {
        return Err(protocol("invalid SASL initial response"));
    }
    let server_first = server.client_first(&body)?;
    x.send(B::Authentication(Authentication::SASLContinue(server_first.into()))).await?;
    let Some(client_final) = password_message(x).await? else { return Ok(false) };
    match server.client_final(&client_final) {
        Ok(server_final) => {
            x.send(B::Authentication(Authentication::SASLFinal(server_final.into()))).await?;
            Ok(true)
        }
        Err(e) if e.kind == ErrorKind::InvalidPassword => Err(password_failed(user)),
        Err(e) => Err(e),
    }
}

/// FATAL 28P01 as PostgreSQL words it.
pub fn password_failed(user: &str) -> Error {
    Error::new(ErrorKind::InvalidPassword, format!("password authentication failed for user \"{user}\""))
}
