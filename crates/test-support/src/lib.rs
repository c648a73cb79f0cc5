//! # conclave-test-support
//!
//! What the tests of every Conclave crate share: a real delivery service (`conclave-ds`)
//! served by this process on 127.0.0.1, over a real SQLite file; and [`stand_in`] MLS
//! messages for tests (and the load generator) that exercise the server alone.

#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub mod stand_in;

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use conclave_delivery::{Config, Running, Server};

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

    /// The test configuration: defaults, but a per-device rate limit out of the way of
    /// tests that run many devices in one process (the convergence test runs 50).
    pub fn config(db: &Path) -> Config {
        let mut config = Config::new(db.to_path_buf());
        config.limits.requests_per_second = 10_000;
        config.limits.burst = 20_000;
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

    async fn bind(config: Config, addr: SocketAddr) -> TestServer {
        // A just-closed port can take a moment to be free again.
        for _ in 0..100 {
            match Server::open(config.clone())
                .expect("the server's database opens")
                .spawn(addr)
                .await
            {
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

    /// `http://ADDR`.
    pub fn url(&self) -> String {
        self.running.url()
    }

    /// Stops, waiting for the requests in flight.
    pub async fn stop(self) {
        self.running.stop().await.expect("the server stops cleanly");
    }
}
