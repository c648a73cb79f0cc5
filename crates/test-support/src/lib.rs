//! # conclave-test-support
//!
//! What the tests of every Conclave crate share: a real delivery service (`conclave-ds`)
//! served by this process on 127.0.0.1, over a real SQLite file (or, with
//! `CONCLAVE_TEST_POSTGRES=1`, a database of a throwaway [`postgres`]); and [`stand_in`] MLS
//! messages for tests (and the load generator) that exercise the server alone; and a
//! throwaway [`secret_service`], the OS keyring of the tests that keep a profile's key there.

#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub mod postgres;
pub mod secret_service;
pub mod stand_in;

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use conclave_delivery::{Config, Database, Running, Server};

/// A delivery service on 127.0.0.1 in the test process; stopped when dropped.
pub struct TestServer {
    /// The bound address.
    pub addr: SocketAddr,
    running: Running,
}

impl TestServer {
    /// A server over the database `db` on a free port, with the limits of
    /// [`TestServer::config`].
    pub async fn start(db: &Path) -> TestServer {
        Self::start_at(db, "127.0.0.1:0".parse().expect("an address")).await
    }

    /// The test configuration: defaults, but the request and registration limits out of
    /// the way of tests that run many users from 127.0.0.1 in one process (the convergence
    /// test runs 50).
    ///
    /// With `CONCLAVE_TEST_POSTGRES=1`, the server runs on a database of the test process's
    /// throwaway PostgreSQL ([`postgres`]) named after `db`, instead of the SQLite file.
    pub fn config(db: &Path) -> Config {
        let mut config = Config::new(database(db));
        config.limits.requests_per_second = 10_000;
        config.limits.burst = 20_000;
        config.limits.registrations_per_address = 100_000;
        config.limits.registrations_per_hour = 100_000;
        config
    }

    /// A server with a configuration of the test's own, on a free port.
    pub async fn start_with(config: Config) -> TestServer {
        Self::bind(config, "127.0.0.1:0".parse().expect("an address")).await
    }

    /// Starts on a given address: a stopped server restarted where its clients expect it.
    pub async fn start_at(db: &Path, addr: SocketAddr) -> TestServer {
        Self::bind(Self::config(db), addr).await
    }

    /// A server serving HTTPS and WSS with `tls` (see [`TestCa`]), on a free port.
    pub async fn start_tls(db: &Path, tls: std::sync::Arc<rustls::ServerConfig>) -> TestServer {
        Self::bind_with(
            Self::config(db),
            "127.0.0.1:0".parse().expect("an address"),
            Some(tls),
        )
        .await
    }

    async fn bind(config: Config, addr: SocketAddr) -> TestServer {
        Self::bind_with(config, addr, None).await
    }

    async fn bind_with(
        config: Config,
        addr: SocketAddr,
        tls: Option<std::sync::Arc<rustls::ServerConfig>>,
    ) -> TestServer {
        // A just-closed port can take a moment to be free again.
        for _ in 0..100 {
            let server = Server::open(config.clone()).expect("the server's database opens");
            let spawned = match &tls {
                Some(tls) => server.spawn_tls(addr, tls.clone()).await,
                None => server.spawn(addr).await,
            };
            match spawned {
                Ok(running) => {
                    return TestServer {
                        addr: running.addr(),
                        running,
                    };
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
        panic!("cannot bind {addr}");
    }

    /// `http://ADDR`, or `https://ADDR` for [`TestServer::start_tls`].
    pub fn url(&self) -> String {
        self.running.url()
    }

    /// `https://localhost:PORT`: the name [`TestCa`]'s server certificates carry.
    pub fn tls_url(&self) -> String {
        format!("https://localhost:{}", self.addr.port())
    }

    /// Stops, waiting for the requests in flight.
    pub async fn stop(self) {
        self.running.stop().await.expect("the server stops cleanly");
    }
}

/// A certificate authority made at test time, and server certificates it signs for
/// `localhost` and `127.0.0.1`, written as PEM files into a directory.
pub struct TestCa {
    ca: rcgen::Certificate,
    key: rcgen::KeyPair,
    dir: std::path::PathBuf,
    name: String,
}

impl TestCa {
    /// A new CA named `name`, whose files go into `dir`.
    pub fn new(dir: &Path, name: &str) -> TestCa {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, format!("{name} test CA"));
        let key = rcgen::KeyPair::generate().expect("a key");
        let ca = params.self_signed(&key).expect("a CA certificate");
        TestCa {
            ca,
            key,
            dir: dir.to_path_buf(),
            name: name.to_owned(),
        }
    }

    /// The CA certificate's PEM file (what a client is given with `--ca-cert`).
    pub fn cert_file(&self) -> std::path::PathBuf {
        let path = self.dir.join(format!("{}-ca.pem", self.name));
        std::fs::write(&path, self.ca.pem()).expect("the CA file is written");
        path
    }

    /// A server configuration with a certificate this CA signed for `localhost` and
    /// `127.0.0.1`, loaded from PEM files as `conclave-ds --tls-cert --tls-key` loads them.
    pub fn server_config(&self) -> std::sync::Arc<rustls::ServerConfig> {
        let (cert, key) = self.server_cert_files();
        conclave_delivery::tls::server_config(&cert, &key, None)
            .expect("the server certificate loads")
    }

    /// PEM files of a server certificate for `localhost` (certificate, key), for a
    /// `conclave-ds` process.
    pub fn server_cert_files(&self) -> (std::path::PathBuf, std::path::PathBuf) {
        let params = rcgen::CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()])
            .expect("params");
        let key = rcgen::KeyPair::generate().expect("a key");
        let cert = params
            .signed_by(&key, &self.ca, &self.key)
            .expect("a server certificate");
        let cert_path = self.dir.join(format!("{}-server.pem", self.name));
        let key_path = self.dir.join(format!("{}-server.key", self.name));
        std::fs::write(&cert_path, cert.pem()).expect("written");
        std::fs::write(&key_path, key.serialize_pem()).expect("written");
        (cert_path, key_path)
    }

    /// A server configuration like [`TestCa::server_config`] that admits only clients with a
    /// certificate this CA signed (`conclave-ds --client-ca`).
    pub fn mutual_server_config(&self) -> std::sync::Arc<rustls::ServerConfig> {
        let (cert, key) = self.server_cert_files();
        conclave_delivery::tls::server_config(&cert, &key, Some(&self.cert_file()))
            .expect("the server certificate loads")
    }

    /// A PEM file with a client certificate this CA signed and its key (what a client is
    /// given with `--client-cert`).
    pub fn client_cert_file(&self) -> std::path::PathBuf {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
        let key = rcgen::KeyPair::generate().expect("a key");
        let cert = params
            .signed_by(&key, &self.ca, &self.key)
            .expect("a client certificate");
        let path = self.dir.join(format!("{}-client.pem", self.name));
        std::fs::write(&path, cert.pem() + &key.serialize_pem()).expect("written");
        path
    }
}

/// The database a test names by the SQLite path `db`: that file, or with
/// `CONCLAVE_TEST_POSTGRES=1` a database of the throwaway PostgreSQL ([`postgres`]).
pub fn database(db: &Path) -> Database {
    if postgres::enabled() {
        Database::Postgres(postgres::cluster().database(&postgres::database_name(db)))
    } else {
        Database::Sqlite(db.to_path_buf())
    }
}

/// Rows in `table` of the test's database (see [`database`]), read beside the running
/// server.
pub fn count_rows(db: &Path, table: &str) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM {table}");
    if postgres::enabled() {
        let name = postgres::database_name(db);
        let count = postgres::cluster().query(&name, &sql);
        return count.parse().unwrap_or_else(|_| panic!("a count: {count}"));
    }
    rusqlite::Connection::open(db)
        .expect("the database opens")
        .query_row(&sql, [], |r| r.get(0))
        .expect("the table is there")
}

/// Everything the test's database holds (see [`database`]): the SQLite file with its
/// write-ahead log and shared memory, or a dump of every PostgreSQL table with its binary
/// values decoded; what a plaintext scan searches.
pub fn database_bytes(db: &Path) -> Vec<u8> {
    if postgres::enabled() {
        return postgres::cluster().dump(&postgres::database_name(db));
    }
    let mut files = Vec::new();
    for suffix in ["", "-wal", "-shm"] {
        let mut path = db.as_os_str().to_owned();
        path.push(suffix);
        if let Ok(bytes) = std::fs::read(&path) {
            files.extend(bytes);
        }
    }
    files
}
