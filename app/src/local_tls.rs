//! The local server's TLS identity, private to this OS user: a certificate authority, a
//! server certificate for `localhost` and a client certificate, made on first use and kept in
//! the data directory (directory 0700, files 0600). It works both ways, by mutual TLS:
//! - clients of the local server trust only this CA for it, so a process of another user
//!   that takes the local address first cannot pass for the local server (it cannot present
//!   a certificate signed by a key it cannot read);
//! - the local server admits only clients presenting the client certificate, so a process of
//!   another user cannot reach it (it cannot read the certificate's key).
//!
//! A second app instance and the CLI of the same user use the same files.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The files of the local TLS identity.
#[derive(Clone, Debug)]
pub struct LocalTls {
    dir: PathBuf,
}

impl LocalTls {
    /// The identity in `dir`, made there first if it is not complete.
    pub fn ensure(dir: &Path) -> std::io::Result<Self> {
        let tls = Self {
            dir: dir.to_path_buf(),
        };
        let complete = [
            tls.ca_file(),
            tls.cert_file(),
            tls.key_file(),
            tls.client_file(),
        ]
        .iter()
        .all(|f| f.exists());
        if !complete {
            tls.make()?;
        }
        Ok(tls)
    }

    /// The CA certificate clients of the local server trust (`ClientConfig::ca_certs`).
    pub fn ca_file(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    /// The client certificate chain and key the local server admits
    /// (`ClientConfig::local_client_cert`).
    pub fn client_file(&self) -> PathBuf {
        self.dir.join("client.pem")
    }

    fn cert_file(&self) -> PathBuf {
        self.dir.join("server.pem")
    }

    fn key_file(&self) -> PathBuf {
        self.dir.join("server.key")
    }

    /// The server's TLS configuration: this identity's server certificate, clients with its
    /// client certificate only.
    pub fn server_config(&self) -> std::io::Result<Arc<rustls::ServerConfig>> {
        conclave_delivery::tls::server_config(
            &self.cert_file(),
            &self.key_file(),
            Some(&self.ca_file()),
        )
        .map_err(std::io::Error::other)
    }

    /// A client configuration for the local server (trusting its CA, presenting its client
    /// certificate).
    pub fn client_config(&self) -> std::io::Result<Arc<rustls::ClientConfig>> {
        conclave_delivery_api::tls::client_config(&[self.ca_file()], Some(&self.client_file()))
            .map_err(std::io::Error::other)
    }

    /// Makes the CA and the two certificates it signs. The CA's key is not kept: nothing else
    /// is ever signed with it, so a leaked file could sign nothing new.
    fn make(&self) -> std::io::Result<()> {
        let failed = |e: rcgen::Error| std::io::Error::other(e.to_string());
        private_dir(&self.dir)?;
        let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).map_err(failed)?;
        ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Constrained(0));
        ca.distinguished_name
            .push(rcgen::DnType::CommonName, "Conclave local server");
        let ca_key = rcgen::KeyPair::generate().map_err(failed)?;
        let ca = ca.self_signed(&ca_key).map_err(failed)?;
        let mut server = rcgen::CertificateParams::new(vec!["localhost".into()]).map_err(failed)?;
        server.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        let key = rcgen::KeyPair::generate().map_err(failed)?;
        let cert = server.signed_by(&key, &ca, &ca_key).map_err(failed)?;
        let mut client = rcgen::CertificateParams::new(Vec::<String>::new()).map_err(failed)?;
        client
            .distinguished_name
            .push(rcgen::DnType::CommonName, "Conclave local client");
        client.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
        let client_key = rcgen::KeyPair::generate().map_err(failed)?;
        let client_cert = client
            .signed_by(&client_key, &ca, &ca_key)
            .map_err(failed)?;
        // The CA last: without it the identity is incomplete and is made again whole.
        let _ = std::fs::remove_file(self.ca_file());
        private_file(&self.key_file(), key.serialize_pem().as_bytes())?;
        private_file(&self.cert_file(), cert.pem().as_bytes())?;
        private_file(
            &self.client_file(),
            format!("{}{}", client_cert.pem(), client_key.serialize_pem()).as_bytes(),
        )?;
        private_file(&self.ca_file(), ca.pem().as_bytes())
    }
}

fn private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Writes `bytes` to a new file readable by its owner only, replacing any older one.
fn private_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let _ = std::fs::remove_file(path);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}
