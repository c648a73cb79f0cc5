//! TLS as both sides of the delivery service use it: rustls with the *ring* provider, and
//! the certificates a client trusts (the public web roots, plus a private CA for a
//! self-hosted server). Plain `http://` is for this machine only ([`check_server_url`]).

use std::path::Path;
use std::sync::Arc;

use rustls::RootCertStore;
use rustls::crypto::CryptoProvider;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// Why a TLS setting or a server address is refused.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A PEM file could not be read or holds nothing usable.
    #[error("{path}: {reason}")]
    Pem {
        /// The file.
        path: String,
        /// What was wrong.
        reason: String,
    },
    /// rustls refused the configuration.
    #[error("TLS configuration: {0}")]
    Config(#[from] rustls::Error),
    /// The server address is not one a client may use.
    #[error("{0}")]
    Address(String),
}

/// rustls's *ring* provider: it builds with a C compiler alone (aws-lc-rs, rustls's default,
/// needs CMake). rustls 0.23.48 deprecates it because it has no post-quantum key exchange;
/// hybrid X25519MLKEM768 is planned with the post-quantum MLS suites (issue 31).
#[allow(deprecated)]
pub fn crypto_provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The certificates in a PEM file.
pub fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let fail = |reason: String| TlsError::Pem {
        path: path.display().to_string(),
        reason,
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| fail(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| fail(e.to_string()))?;
    if certs.is_empty() {
        return Err(fail("no certificate in it".into()));
    }
    Ok(certs)
}

/// The private key in a PEM file (PKCS#8, PKCS#1 or SEC1).
pub fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| TlsError::Pem {
        path: path.display().to_string(),
        reason: e.to_string(),
    })
}

/// A client configuration trusting the public web roots (Mozilla's, compiled in: the same on
/// every machine) and the CA certificates in the PEM files `private_cas`; presenting, when
/// the server asks, the certificate chain and key in the PEM file `identity` (mutual TLS, as
/// the app's local server requires).
pub fn client_config(
    private_cas: &[impl AsRef<Path>],
    identity: Option<&Path>,
) -> Result<Arc<rustls::ClientConfig>, TlsError> {
    let mut roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    for path in private_cas {
        for cert in certificates(path.as_ref())? {
            roots.add(cert)?;
        }
    }
    let config = rustls::ClientConfig::builder_with_provider(crypto_provider())
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots);
    let config = match identity {
        Some(path) => config.with_client_auth_cert(certificates(path)?, private_key(path)?)?,
        None => config.with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

/// Whether a server address names this machine (`localhost`, `127.0.0.0/8`, `::1`).
pub fn is_loopback_url(url: &str) -> bool {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .unwrap_or(url);
    let authority = rest.split('/').next().unwrap_or_default();
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// A server address a client may use: `https://HOST[:PORT]`, or `http://` to this machine
/// only (`localhost`, `127.0.0.0/8`, `::1`), where nobody is on the path. Anything else is
/// refused before any connection is tried.
pub fn check_server_url(url: &str) -> Result<(), TlsError> {
    let refuse = |why: &str| Err(TlsError::Address(format!("server address {url:?}: {why}")));
    let (plain, rest) = if let Some(rest) = url.strip_prefix("https://") {
        (false, rest)
    } else if let Some(rest) = url.strip_prefix("http://") {
        (true, rest)
    } else {
        return refuse("must start with https:// (or http:// for this machine)");
    };
    if rest.split(['/', ':']).next().unwrap_or_default().is_empty() {
        return refuse("no host");
    }
    if plain && !is_loopback_url(url) {
        return refuse(
            "plain http:// is only for this machine (localhost, 127.0.0.1, ::1); use https://",
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_is_for_this_machine_only() {
        for ok in [
            "http://127.0.0.1:7300",
            "http://127.8.9.1",
            "http://localhost:7300",
            "http://[::1]:7300",
            "https://chat.example.org",
            "https://10.1.2.3:7300",
        ] {
            assert!(check_server_url(ok).is_ok(), "{ok}");
        }
        for refused in [
            "http://10.1.2.3:7300",
            "http://chat.example.org",
            "http://[2001:db8::1]:7300",
            "http://localhost.example.org",
            "ftp://127.0.0.1",
            "127.0.0.1:7300",
            "https://",
        ] {
            assert!(check_server_url(refused).is_err(), "{refused}");
        }
    }

    #[test]
    fn loopback_is_this_machine_by_name_or_address() {
        for here in [
            "https://localhost:7300",
            "https://127.0.0.1",
            "http://[::1]:7300/",
        ] {
            assert!(is_loopback_url(here), "{here}");
        }
        for there in [
            "https://localhost.example.org",
            "https://10.0.0.1:7300",
            "https://[2001:db8::1]",
            "https://chat.example.org/127.0.0.1",
        ] {
            assert!(!is_loopback_url(there), "{there}");
        }
    }
}
