//! TLS: the server's rustls configuration from PEM files, and the stream a connection runs on
//! once SSLRequest was answered `S`.
//!
//! PostgreSQL's SSL negotiation: the client's first packet is SSLRequest; the server answers one
//! byte, `S` (then the TLS handshake starts on the same socket) or `N` (the client may continue in
//! plaintext or give up). Bytes the client sent after SSLRequest but before the answer would be
//! plaintext read as if it came through TLS, so the connection is refused (08P01) if any arrive
//! (PostgreSQL's fix for CVE-2021-23214).

use crate::error::{Error, ErrorKind, Result};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::sync::Arc;

/// The server side of TLS.
pub type TlsConfig = Arc<rustls::ServerConfig>;

/// Loads a certificate chain and its private key (PEM: PKCS#8, PKCS#1 or SEC1 keys).
pub fn load(cert_file: &str, key_file: &str) -> Result<TlsConfig> {
    let io = |what: &str, file: &str, e: &dyn std::fmt::Display| {
        Error::new(ErrorKind::Io, format!("could not load {what} file \"{file}\": {e}"))
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert_file)
        .map_err(|e| io("server certificate", cert_file, &e))?
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| io("server certificate", cert_file, &e))?;
    if certs.is_empty() {
        return Err(io("server certificate", cert_file, &"no certificate in it"));
    }
    let key = PrivateKeyDer::from_pem_file(key_file).map_err(|e| io("private key", key_file, &e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::new(ErrorKind::Internal, format!("TLS setup: {e}")))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| Error::new(ErrorKind::InvalidParameterValue, format!("TLS certificate and key: {e}")))?;
    Ok(Arc::new(config))
}
