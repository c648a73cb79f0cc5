//! The embedded local server: the first instance to find the local address silent hosts a
//! delivery service there; when it quits, the next instance takes over the same file and
//! nothing is lost.

use std::time::{Duration, Instant};

use conclave_app::local_server::{LocalServerState, supervise};
use conclave_client::{Client, ClientConfig, UserName};

async fn wait_for(
    state: &mut tokio::sync::watch::Receiver<LocalServerState>,
    want: LocalServerState,
) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while *state.borrow_and_update() != want {
        assert!(Instant::now() < deadline, "timed out waiting for {want:?}");
        let _ = tokio::time::timeout(Duration::from_millis(200), state.changed()).await;
    }
}

fn config() -> ClientConfig {
    ClientConfig {
        rotation_interval: None,
        key_package_stock: 2,
        ..ClientConfig::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_next_instance_takes_over_the_local_server_and_nothing_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shared").join("local-server.sqlite");
    let address = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap()
    };
    let url = format!("http://{address}");

    // The first instance finds nothing and hosts; the second finds the first.
    let (mut first, stop_first) = supervise(address, db.clone());
    wait_for(&mut first, LocalServerState::Hosting).await;
    let (mut second, stop_second) = supervise(address, db.clone());
    wait_for(&mut second, LocalServerState::Elsewhere).await;

    let alice = Client::create_with(&dir.path().join("alice"), "alice", &url, config())
        .await
        .unwrap();
    let bob = Client::create_with(&dir.path().join("bob"), "bob", &url, config())
        .await
        .unwrap();
    let chat = alice
        .create_conversation("Local", &[UserName::new("bob").unwrap()])
        .await
        .unwrap();
    alice.send_text(chat, "before the handover").await.unwrap();

    // The hosting instance quits; the other one takes over the same file.
    drop(stop_first);
    wait_for(&mut second, LocalServerState::Hosting).await;

    // Everything accepted before is still there: bob gets the invitation and the message.
    bob.sync().await.unwrap();
    let conversations = bob.conversations().await.unwrap();
    assert_eq!(conversations.len(), 1);
    let theirs = conversations[0].conversation.id;
    let history = bob.history(theirs, None, 10).await.unwrap();
    assert!(
        history
            .iter()
            .any(|m| m.message.body == "before the handover")
    );
    // And the conversation carries on through the new host.
    bob.accept(theirs).await.unwrap();
    bob.send_text(theirs, "after the handover").await.unwrap();
    alice.sync().await.unwrap();
    let history = alice.history(chat, None, 10).await.unwrap();
    assert!(
        history
            .iter()
            .any(|m| m.message.body == "after the handover")
    );
    drop(stop_second);
}
