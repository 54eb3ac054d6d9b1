//! TLS shared by both connections: CA files, the root store, and telling a TLS failure apart
//! from a lost connection (a bad certificate does not get better by retrying).

use crate::RemoteError;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};
use std::path::Path;
use std::sync::Arc;

/// The trust anchors of a PEM CA file: at least one certificate, each parsed now, so a
/// malformed one is this error rather than a handshake failure.
pub(crate) fn ca_roots(path: &Path) -> Result<RootCertStore, RemoteError> {
    let bad = |reason: String| RemoteError::CaFile {
        path: path.to_path_buf(),
        reason,
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| bad(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(e.to_string()))?;
    if certs.is_empty() {
        return Err(bad("no PEM certificate in it".into()));
    }
    let mut roots = RootCertStore::empty();
    for cert in certs {
        roots
            .add(cert)
            .map_err(|e| bad(format!("not a usable CA certificate: {e}")))?;
    }
    Ok(roots)
}

/// A rustls client configuration (ring provider) trusting `ca_file`, or the system's roots.
pub(crate) fn client_config(ca_file: Option<&Path>) -> Result<ClientConfig, RemoteError> {
    let roots = match ca_file {
        Some(path) => ca_roots(path)?,
        None => {
            // Unreadable system certificates are skipped: what loads is what is trusted.
            let mut roots = RootCertStore::empty();
            roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
            roots
        }
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| RemoteError::TlsSetup(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(config)
}

/// Whether a rustls error (a failed handshake, a rejected certificate) is in `e`'s chain.
/// `io::Error` hides the error it wraps from `source()`, so it is opened with `get_ref`.
pub(crate) fn is_tls_error(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(e);
    while let Some(e) = next {
        if e.is::<rustls::Error>() {
            return true;
        }
        if let Some(inner) = e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            if inner.is::<rustls::Error>() {
                return true;
            }
        }
        next = e.source();
    }
    false
}
