//! A 10 MiB attachment: sealed and uploaded, then downloaded, checked and decrypted, through
//! a real server on 127.0.0.1; and the sealing and opening alone, which is what the client
//! adds to the network's time.
//!
//! `cargo bench -p conclave-client --bench attachments` (figures in docs/PERFORMANCE.md).

use std::time::{Duration, Instant};

use conclave_client::{Client, ClientConfig, MessageKind, UserName};
use conclave_test_support::TestServer;

const SIZE: usize = 10 << 20;

fn config() -> ClientConfig {
    ClientConfig {
        rotation_interval: None,
        request_timeout: Duration::from_secs(60),
        ..ClientConfig::default()
    }
}

fn mib_per_s(bytes: usize, time: Duration) -> f64 {
    bytes as f64 / (1 << 20) as f64 / time.as_secs_f64()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let quick = !std::env::args().any(|a| a == "--bench");
    let size = if quick { 1 << 20 } else { SIZE };
    let rounds = if quick { 1 } else { 5 };
    let dir = tempfile::tempdir().unwrap();
    let mut server_config = TestServer::config(&dir.path().join("ds.sqlite"));
    server_config.limits.blob_quota_bytes = 4 << 30;
    let server = TestServer::start_with(server_config).await;
    let alice = Client::create_with(&dir.path().join("alice"), "alice", &server.url(), config())
        .await
        .unwrap();
    let bob = Client::create_with(&dir.path().join("bob"), "bob", &server.url(), config())
        .await
        .unwrap();
    let a = alice
        .create_conversation("Files", &[UserName::new("bob").unwrap()])
        .await
        .unwrap();
    bob.sync().await.unwrap();
    let b = bob.conversations().await.unwrap()[0].conversation.id;
    let file = dir.path().join("video.bin");
    std::fs::write(&file, (0..size).map(|i| (i * 7) as u8).collect::<Vec<u8>>()).unwrap();

    let (mut up, mut down) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        let started = Instant::now();
        alice.send_file(a, &file, |_, _| {}).await.unwrap();
        up.push(started.elapsed());
        bob.sync().await.unwrap();
        let message = bob
            .history(b, None, 1)
            .await
            .unwrap()
            .into_iter()
            .find(|m| m.message.kind == MessageKind::Attachment)
            .unwrap();
        let out = dir.path().join(format!("copy-{round}.bin"));
        let started = Instant::now();
        bob.save_file(message.id, &out, |_, _| {}).await.unwrap();
        down.push(started.elapsed());
        std::fs::remove_file(out).unwrap();
    }
    up.sort();
    down.sort();
    let (up, down) = (up[up.len() / 2], down[down.len() / 2]);
    println!(
        "{} MiB attachment, median of {rounds}: seal+upload {up:?} ({:.0} MiB/s), \
         download+check+decrypt {down:?} ({:.0} MiB/s)",
        size >> 20,
        mib_per_s(size, up),
        mib_per_s(size, down)
    );
    let (seal, open) = conclave_client::bench_support::seal_and_open(size);
    println!(
        "sealing alone {seal:?} ({:.0} MiB/s), opening alone {open:?} ({:.0} MiB/s)",
        mib_per_s(size, seal),
        mib_per_s(size, open)
    );
    server.stop().await;
}
