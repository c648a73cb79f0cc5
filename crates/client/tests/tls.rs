//! The client over real TLS on 127.0.0.1: a server with a certificate from a CA made at
//! test time, HTTPS for requests and WSS for push.

mod support;

use std::time::{Duration, Instant};

use conclave_client::{Client, ClientConfig, ClientError, ClientEvent};
use conclave_test_support::{TestCa, TestServer};
use support::*;

fn trusting(ca: &TestCa) -> ClientConfig {
    ClientConfig {
        ca_certs: vec![ca.cert_file()],
        ..config()
    }
}

/// Alice and bob chat through a server with a private CA's certificate: requests over
/// HTTPS, and bob is woken by a push over WSS, not by polling.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_chat_over_https_and_wss() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new(dir.path(), "private");
    let server = TestServer::start_tls(&dir.path().join("ds.sqlite"), ca.server_config()).await;
    let url = server.tls_url();
    assert!(url.starts_with("https://"));
    let alice = Client::create_with(&dir.path().join("alice"), "alice", &url, trusting(&ca))
        .await
        .unwrap();
    let bob = Client::create_with(&dir.path().join("bob"), "bob", &url, trusting(&ca))
        .await
        .unwrap();
    let (a, theirs) = start_conversation(&alice, "Secure", &[&bob]).await;

    let mut events = bob.subscribe();
    let _push = bob.start();
    wait_for(&mut events, |e| {
        matches!(
            e,
            ClientEvent::Connection(conclave_client::ConnectionState::Online)
        )
    })
    .await;
    alice.send_text(a, "over tls").await.unwrap();
    wait_for(&mut events, |e| {
        matches!(e, ClientEvent::MessageReceived { message, .. } if message.message.body == "over tls")
    })
    .await;
    bob.send_text(theirs[0], "and back").await.unwrap();
    alice.sync().await.unwrap();
    assert!(texts(&alice, a).await.contains(&"bob: and back".to_owned()));
}

/// A server whose certificate another CA signed is refused: the profile is not created.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_from_another_ca_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let theirs = TestCa::new(dir.path(), "theirs");
    let mine = TestCa::new(dir.path(), "mine");
    let server = TestServer::start_tls(&dir.path().join("ds.sqlite"), theirs.server_config()).await;
    let profile = dir.path().join("alice");
    let refused = Client::create_with(&profile, "alice", &server.tls_url(), trusting(&mine)).await;
    let Err(e) = refused else {
        panic!("a server with another CA's certificate was trusted");
    };
    assert!(
        e.to_string().to_lowercase().contains("certificate"),
        "the error says why: {e}"
    );
    assert!(!profile.join(conclave_client::PROFILE_FILE).exists());
    // Nor do the public web roots vouch for it.
    let refused = Client::create_with(&profile, "alice", &server.tls_url(), config()).await;
    assert!(refused.is_err());
}

/// Plain `http://` goes to this machine only: another address is refused at once, before
/// any connection (10.255.255.1 would take the whole timeout to fail to answer).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_to_another_machine_is_refused_before_connecting() {
    let dir = tempfile::tempdir().unwrap();
    for url in ["http://10.255.255.1:7300", "http://chat.example.org"] {
        let started = Instant::now();
        let refused = Client::create_with(&dir.path().join("alice"), "alice", url, config()).await;
        assert!(
            matches!(&refused, Err(ClientError::InvalidInput(m)) if m.contains("https://")),
            "{url}: {:?}",
            refused.as_ref().err()
        );
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "no connection tried"
        );
    }
}
