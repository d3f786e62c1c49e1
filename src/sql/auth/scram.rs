//! SCRAM-SHA-256 (RFC 5802, RFC 7677) as PostgreSQL uses it: verifiers and the server side of the
//! SASL exchange. Pure computation on bytes; the server's connection code (`server::auth`) moves
//! the messages.
//!
//! A verifier is what the catalog stores instead of a password, in PostgreSQL's text form:
//!
//! ```text
//!   SCRAM-SHA-256$<iterations>:<salt, base64>$<StoredKey, base64>:<ServerKey, base64>
//!
//!   SaltedPassword = PBKDF2-HMAC-SHA-256(SASLprep(password), salt, iterations)
//!   StoredKey      = SHA-256(HMAC(SaltedPassword, "Client Key"))
//!   ServerKey      = HMAC(SaltedPassword, "Server Key")
//! ```
//!
//! The exchange (client left, server right):
//!
//! ```text
//!   n,,n=,r=<cnonce>                      ->  (client-first: gs2 header + bare part)
//!                                         <-  r=<cnonce><snonce>,s=<salt>,i=<iterations>
//!   c=<b64 gs2 header>,r=<nonce>,p=<proof> ->  (client-final)
//!                                         <-  v=<b64 HMAC(ServerKey, AuthMessage)>
//!
//!   AuthMessage     = client-first-bare "," server-first "," client-final-without-proof
//!   ClientSignature = HMAC(StoredKey, AuthMessage);  ClientKey = proof XOR ClientSignature
//!   accepted iff SHA-256(ClientKey) == StoredKey
//! ```
//!
//! The user name inside the SCRAM messages is ignored (PostgreSQL's rule: the startup packet's
//! user counts). A role that does not exist or has no verifier still gets a complete exchange
//! against a mock verifier whose salt is derived from the user name, so the answer never tells
//! whether the role exists; it fails at the end like a wrong password.
//!
//! Left out: channel binding (`SCRAM-SHA-256-PLUS`); a client that sends the `y` flag (it could
//! bind but the server did not offer it) is accepted, `p=...` is refused.

use crate::error::{Error, ErrorKind, Result};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ring::{digest, hmac, pbkdf2, rand::SecureRandom};
use std::num::NonZeroU32;

/// The mechanism name.
pub const MECHANISM: &str = "SCRAM-SHA-256";
/// PBKDF2 iterations for new verifiers (PostgreSQL's `scram_iterations` default).
pub const ITERATIONS: u32 = 4096;
/// Salt length for new verifiers, in bytes (PostgreSQL's SCRAM_DEFAULT_SALT_LEN).
const SALT_LEN: usize = 16;
/// Server nonce length before base64, in bytes (PostgreSQL's SCRAM_RAW_NONCE_LEN).
const NONCE_LEN: usize = 18;
const KEY_LEN: usize = 32;

/// A parsed verifier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verifier {
    /// PBKDF2 iterations.
    pub iterations: u32,
    /// The salt.
    pub salt: Vec<u8>,
    /// SHA-256(ClientKey).
    pub stored_key: [u8; KEY_LEN],
    /// HMAC(SaltedPassword, "Server Key").
    pub server_key: [u8; KEY_LEN],
}

impl Verifier {
    /// Parses PostgreSQL's text form; `None` when `s` is not a SCRAM-SHA-256 verifier.
    pub fn parse(s: &str) -> Option<Verifier> {
        let rest = s.strip_prefix("SCRAM-SHA-256$")?;
        let (params, keys) = rest.split_once('$')?;
        let (iterations, salt) = params.split_once(':')?;
        let (stored, server) = keys.split_once(':')?;
        let iterations: u32 = iterations.parse().ok().filter(|&i| i > 0)?;
        let salt = B64.decode(salt).ok()?;
        let stored_key = B64.decode(stored).ok()?.try_into().ok()?;
        let server_key = B64.decode(server).ok()?.try_into().ok()?;
        Some(Verifier { iterations, salt, stored_key, server_key })
    }

    /// A verifier for `password` with a fresh random salt.
    pub fn new(password: &str) -> Result<Verifier> {
        let mut salt = vec![0u8; SALT_LEN];
        random(&mut salt)?;
        Ok(Verifier::derive(password, salt, ITERATIONS))
    }

    /// The verifier for `password` with a given salt and iteration count.
    pub fn derive(password: &str, salt: Vec<u8>, iterations: u32) -> Verifier {
        let salted = salted_password(password, &salt, iterations);
        let client_key = hmac_sha256(&salted, b"Client Key");
        let stored_key = sha256(&client_key);
        let server_key = hmac_sha256(&salted, b"Server Key");
        Verifier { iterations, salt, stored_key, server_key }
    }

    /// Whether `password` is the one this verifier was made from.
    pub fn matches(&self, password: &str) -> bool {
        let other = Verifier::derive(password, self.salt.clone(), self.iterations);
        constant_time_eq(&other.stored_key, &self.stored_key)
            && constant_time_eq(&other.server_key, &self.server_key)
    }

    /// PostgreSQL's text form.
    pub fn to_text(&self) -> String {
        format!(
            "SCRAM-SHA-256${}:{}${}:{}",
            self.iterations,
            B64.encode(&self.salt),
            B64.encode(self.stored_key),
            B64.encode(self.server_key)
        )
    }
}

/// Whether `s` looks like an MD5 password hash (`md5` and 32 hex digits), which PostgreSQL would
/// store as given.
pub fn is_md5_hash(s: &str) -> bool {
    s.len() == 35 && s.starts_with("md5") && s[3..].bytes().all(|b| b.is_ascii_hexdigit())
}

fn salted_password(password: &str, salt: &[u8], iterations: u32) -> [u8; KEY_LEN] {
    // SASLprep as libpq and PostgreSQL apply it; a password it rejects is used as given.
    let prepped = stringprep::saslprep(password).map(|c| c.into_owned()).unwrap_or_else(|_| password.into());
    let mut out = [0u8; KEY_LEN];
    let iterations = NonZeroU32::new(iterations).unwrap_or(NonZeroU32::MIN);
    pbkdf2::derive(pbkdf2::PBKDF2_HMAC_SHA256, iterations, salt, prepped.as_bytes(), &mut out);
    out
}

fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; KEY_LEN] {
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), msg);
    let mut out = [0u8; KEY_LEN];
    out.copy_from_slice(tag.as_ref());
    out
}

fn sha256(data: &[u8]) -> [u8; KEY_LEN] {
    let d = digest::digest(&digest::SHA256, data);
    let mut out = [0u8; KEY_LEN];
    out.copy_from_slice(d.as_ref());
    out
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Fills `buf` from the operating system's random source.
pub fn random(buf: &mut [u8]) -> Result<()> {
    ring::rand::SystemRandom::new()
        .fill(buf)
        .map_err(|_| Error::new(ErrorKind::Internal, "could not generate random bytes"))
}

fn malformed(detail: &str) -> Error {
    Error::new(ErrorKind::ProtocolViolation, "malformed SCRAM message").with_detail(detail.to_string())
}

/// Where the server side of one exchange stands.
enum State {
    /// Waiting for client-first.
    Start,
    /// server-first sent; waiting for client-final.
    SentFirst { gs2_header: String, client_first_bare: String, server_first: String, nonce: String },
    /// Finished (or failed).
    Done,
}

/// The server side of one SCRAM-SHA-256 exchange.
pub struct ScramServer {
    verifier: Verifier,
    /// Whether `verifier` is a real one (a mock one always fails).
    real: bool,
    server_nonce: Option<String>,
    state: State,
}

impl ScramServer {
    /// An exchange against `verifier` (its text form); `None` or an unparsable verifier runs a mock
    /// exchange for `user` that fails at the end.
    pub fn new(verifier: Option<&str>, user: &str) -> Result<ScramServer> {
        let (verifier, real) = match verifier.and_then(Verifier::parse) {
            Some(v) => (v, true),
            None => (mock_verifier(user)?, false),
        };
        Ok(ScramServer { verifier, real, server_nonce: None, state: State::Start })
    }

    /// Fixes the server nonce (tests with RFC 7677's vector).
    #[cfg(test)]
    fn with_nonce(mut self, nonce: &str) -> Self {
        self.server_nonce = Some(nonce.to_string());
        self
    }

    /// Takes client-first-message, returns server-first-message.
    pub fn client_first(&mut self, msg: &[u8]) -> Result<Vec<u8>> {
        if !matches!(self.state, State::Start) {
            return Err(malformed("unexpected client-first-message"));
        }
        self.state = State::Done;
        let msg = std::str::from_utf8(msg).map_err(|_| malformed("message is not valid UTF-8"))?;
        // gs2-header: cbind flag "," [authzid] ","
        let (flag, rest) = msg.split_once(',').ok_or_else(|| malformed("missing gs2 header"))?;
        match flag {
            "n" | "y" => {}
            f if f.starts_with("p=") => {
                return Err(Error::new(
                    ErrorKind::ProtocolViolation,
                    "channel binding is not supported by this server",
                ))
            }
            _ => return Err(malformed("unexpected channel-binding flag")),
        }
        let (authzid, bare) = rest.split_once(',').ok_or_else(|| malformed("missing gs2 header"))?;
        if !authzid.is_empty() && !authzid.starts_with("a=") {
            return Err(malformed("unexpected attribute in gs2 header"));
        }
        let gs2_header = format!("{flag},{authzid},");
        // client-first-message-bare: n=<user>,r=<nonce>[,extensions]
        let mut attrs = bare.split(',');
        match attrs.next() {
            Some(a) if a.starts_with("n=") => {}
            Some(a) if a.starts_with("m=") => return Err(malformed("extensions are not supported")),
            _ => return Err(malformed("expected attribute \"n\"")),
        }
        let client_nonce = attrs
            .next()
            .and_then(|a| a.strip_prefix("r="))
            .filter(|n| !n.is_empty() && n.bytes().all(|b| (0x21..=0x7e).contains(&b) && b != b','))
            .ok_or_else(|| malformed("expected attribute \"r\""))?;
        let server_nonce = match &self.server_nonce {
            Some(n) => n.clone(),
            None => {
                let mut raw = [0u8; NONCE_LEN];
                random(&mut raw)?;
                B64.encode(raw)
            }
        };
        let nonce = format!("{client_nonce}{server_nonce}");
        let server_first =
            format!("r={nonce},s={},i={}", B64.encode(&self.verifier.salt), self.verifier.iterations);
        self.state = State::SentFirst {
            gs2_header,
            client_first_bare: bare.to_string(),
            server_first: server_first.clone(),
            nonce,
        };
        Ok(server_first.into_bytes())
    }

    /// Takes client-final-message; returns server-final-message when the proof is right, else an
    /// error: 28P01 for a wrong proof (or a mock exchange), 08P01 for a malformed message.
    pub fn client_final(&mut self, msg: &[u8]) -> Result<Vec<u8>> {
        let State::SentFirst { gs2_header, client_first_bare, server_first, nonce } =
            std::mem::replace(&mut self.state, State::Done)
        else {
            return Err(malformed("unexpected client-final-message"));
        };
        let msg = std::str::from_utf8(msg).map_err(|_| malformed("message is not valid UTF-8"))?;
        let (without_proof, proof) = msg.rsplit_once(",p=").ok_or_else(|| malformed("missing proof"))?;
        let mut attrs = without_proof.split(',');
        let binding = attrs
            .next()
            .and_then(|a| a.strip_prefix("c="))
            .ok_or_else(|| malformed("expected attribute \"c\""))?;
        if B64.decode(binding).ok().as_deref() != Some(gs2_header.as_bytes()) {
            return Err(malformed("SCRAM channel binding check failed"));
        }
        let client_nonce = attrs
            .next()
            .and_then(|a| a.strip_prefix("r="))
            .ok_or_else(|| malformed("expected attribute \"r\""))?;
        if client_nonce != nonce {
            return Err(malformed("nonce does not match"));
        }
        let proof: [u8; KEY_LEN] = B64
            .decode(proof)
            .ok()
            .and_then(|p| p.try_into().ok())
            .ok_or_else(|| malformed("malformed proof in client-final-message"))?;
        let auth_message = format!("{client_first_bare},{server_first},{without_proof}");
        let signature = hmac_sha256(&self.verifier.stored_key, auth_message.as_bytes());
        let mut client_key = [0u8; KEY_LEN];
        for i in 0..KEY_LEN {
            client_key[i] = proof[i] ^ signature[i];
        }
        if !self.real || !constant_time_eq(&sha256(&client_key), &self.verifier.stored_key) {
            return Err(Error::new(ErrorKind::InvalidPassword, "password authentication failed"));
        }
        let server_signature = hmac_sha256(&self.verifier.server_key, auth_message.as_bytes());
        Ok(format!("v={}", B64.encode(server_signature)).into_bytes())
    }
}

/// A verifier nobody's password matches, with a salt that depends only on `user` (per process),
/// so repeated attempts for a missing role look like attempts for a real one.
fn mock_verifier(user: &str) -> Result<Verifier> {
    static SECRET: std::sync::OnceLock<[u8; 32]> = std::sync::OnceLock::new();
    let secret = match SECRET.get() {
        Some(s) => *s,
        None => {
            let mut s = [0u8; 32];
            random(&mut s)?;
            *SECRET.get_or_init(|| s)
        }
    };
    let salt = hmac_sha256(&secret, user.as_bytes())[..SALT_LEN].to_vec();
    let mut keys = [0u8; 2 * KEY_LEN];
    random(&mut keys)?;
    let mut stored_key = [0u8; KEY_LEN];
    let mut server_key = [0u8; KEY_LEN];
    stored_key.copy_from_slice(&keys[..KEY_LEN]);
    server_key.copy_from_slice(&keys[KEY_LEN..]);
    Ok(Verifier { iterations: ITERATIONS, salt, stored_key, server_key })
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 7677, section 3.
    const SALT: &str = "W22ZaJ0SNY7soEsUEjb6gQ==";
    const SNONCE: &str = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
    const CLIENT_FIRST: &str = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO";
    const SERVER_FIRST: &str =
        "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
    const CLIENT_FINAL: &str = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,\
                                p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
    const SERVER_FINAL: &str = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

    fn rfc_verifier() -> String {
        Verifier::derive("pencil", B64.decode(SALT).unwrap(), 4096).to_text()
    }

    #[test]
    fn rfc7677_exchange() {
        let v = rfc_verifier();
        let mut s = ScramServer::new(Some(&v), "user").unwrap().with_nonce(SNONCE);
        assert_eq!(s.client_first(CLIENT_FIRST.as_bytes()).unwrap(), SERVER_FIRST.as_bytes());
        assert_eq!(s.client_final(CLIENT_FINAL.as_bytes()).unwrap(), SERVER_FINAL.as_bytes());
    }

    #[test]
    fn wrong_password_and_mock_fail_with_28p01() {
        let v = Verifier::derive("not pencil", B64.decode(SALT).unwrap(), 4096).to_text();
        let mut s = ScramServer::new(Some(&v), "user").unwrap().with_nonce(SNONCE);
        s.client_first(CLIENT_FIRST.as_bytes()).unwrap();
        assert_eq!(s.client_final(CLIENT_FINAL.as_bytes()).unwrap_err().sqlstate(), "28P01");
        // A missing role: the exchange runs, with a salt stable per user name, and fails.
        let mut m = ScramServer::new(None, "ghost").unwrap().with_nonce(SNONCE);
        let first = String::from_utf8(m.client_first(CLIENT_FIRST.as_bytes()).unwrap()).unwrap();
        let mut m2 = ScramServer::new(None, "ghost").unwrap().with_nonce(SNONCE);
        assert_eq!(first.into_bytes(), m2.client_first(CLIENT_FIRST.as_bytes()).unwrap());
        assert_eq!(m.client_final(CLIENT_FINAL.as_bytes()).unwrap_err().sqlstate(), "28P01");
    }

    #[test]
    fn malformed_messages_are_08p01() {
        let v = rfc_verifier();
        for bad in ["", "x,,n=,r=a", "n,,r=abc", "p=tls-server-end-point,,n=,r=a", "n,,n=,r="] {
            let mut s = ScramServer::new(Some(&v), "u").unwrap();
            assert_eq!(s.client_first(bad.as_bytes()).unwrap_err().sqlstate(), "08P01", "{bad}");
        }
        let mut s = ScramServer::new(Some(&v), "u").unwrap().with_nonce(SNONCE);
        s.client_first(CLIENT_FIRST.as_bytes()).unwrap();
        let wrong_nonce = CLIENT_FINAL.replace("k0,p=", "k1,p=");
        assert_eq!(s.client_final(wrong_nonce.as_bytes()).unwrap_err().sqlstate(), "08P01");
        // A second client-final is out of order.
        assert_eq!(s.client_final(CLIENT_FINAL.as_bytes()).unwrap_err().sqlstate(), "08P01");
    }

    #[test]
    fn verifier_text_round_trip_and_matching() {
        let v = Verifier::new("s3cret").unwrap();
        let text = v.to_text();
        assert!(text.starts_with("SCRAM-SHA-256$4096:"));
        assert!(!text.contains("s3cret"));
        let parsed = Verifier::parse(&text).unwrap();
        assert_eq!(parsed, v);
        assert!(parsed.matches("s3cret"));
        assert!(!parsed.matches("s3cret "));
        assert!(Verifier::parse("SCRAM-SHA-256$0:AAAA$AAAA:AAAA").is_none());
        assert!(Verifier::parse("md5abc").is_none());
        assert!(is_md5_hash("md5d41d8cd98f00b204e9800998ecf8427e"));
        // Two verifiers of one password differ (random salt).
        assert_ne!(Verifier::new("s3cret").unwrap().to_text(), text);
    }
}
