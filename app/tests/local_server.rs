//! The embedded local server: the first instance to find the local address silent hosts a
//! delivery service there; when it quits, the next instance takes over the same file and
//! nothing is lost. Only this user's clients reach it, and no other process passes for it.

use std::time::{Duration, Instant};

use conclave_app::local_server::{self, LocalServerState, supervise};
use conclave_app::local_tls::LocalTls;
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

fn config(tls: &LocalTls) -> ClientConfig {
    ClientConfig {
        rotation_interval: None,
        key_package_stock: 2,
        ca_certs: vec![tls.ca_file()],
        local_client_cert: Some(tls.client_file()),
        ..ClientConfig::default()
    }
}

fn free_address() -> std::net::SocketAddr {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    probe.local_addr().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_next_instance_takes_over_the_local_server_and_nothing_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shared").join("local-server.sqlite");
    let address = free_address();
    let url = local_server::url(address);
    let tls = LocalTls::ensure(&dir.path().join("tls")).unwrap();

    // The first instance finds nothing and hosts; the second finds the first.
    let (mut first, stop_first) = supervise(address, db.clone(), tls.clone());
    wait_for(&mut first, LocalServerState::Hosting).await;
    let (mut second, stop_second) = supervise(address, db.clone(), tls.clone());
    wait_for(&mut second, LocalServerState::Elsewhere).await;

    let alice = Client::create_with(&dir.path().join("alice"), "alice", &url, config(&tls))
        .await
        .unwrap();
    let bob = Client::create_with(&dir.path().join("bob"), "bob", &url, config(&tls))
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_without_this_users_certificate_cannot_reach_the_local_server() {
    let dir = tempfile::tempdir().unwrap();
    let address = free_address();
    let url = local_server::url(address);
    let tls = LocalTls::ensure(&dir.path().join("tls")).unwrap();
    let (mut state, stop) = supervise(address, dir.path().join("ds.sqlite"), tls.clone());
    wait_for(&mut state, LocalServerState::Hosting).await;

    // Another user can read neither the client certificate's key nor the CA's: with the
    // CA certificate alone (it is no secret) the handshake is refused, nothing registers.
    let stranger = ClientConfig {
        local_client_cert: None,
        ..config(&tls)
    };
    let refused =
        match Client::create_with(&dir.path().join("mallory"), "mallory", &url, stranger).await {
            Ok(_) => panic!("a client without the certificate got in"),
            Err(e) => e,
        };
    assert!(refused.is_offline(), "{refused}");
    // A client with a certificate of its own making, from its own CA, is refused too.
    let own = conclave_test_support::TestCa::new(dir.path(), "mallory");
    let forged = own.client_cert_file();
    let forger = ClientConfig {
        local_client_cert: Some(forged),
        ..config(&tls)
    };
    assert!(
        Client::create_with(&dir.path().join("mallory2"), "mallory", &url, forger)
            .await
            .is_err()
    );
    // This user's client gets in.
    Client::create_with(&dir.path().join("alice"), "alice", &url, config(&tls))
        .await
        .unwrap();
    drop(stop);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_process_on_the_local_address_is_not_taken_for_the_local_server() {
    let dir = tempfile::tempdir().unwrap();
    // Another user's process holds the address first, with a certificate for `localhost`
    // from a CA of its own.
    let impostor_ca = conclave_test_support::TestCa::new(dir.path(), "impostor");
    let impostor = conclave_test_support::TestServer::start_tls(
        &dir.path().join("impostor.sqlite"),
        impostor_ca.server_config(),
    )
    .await;
    let address = impostor.addr;
    let tls = LocalTls::ensure(&dir.path().join("tls")).unwrap();

    let (mut state, stop) = supervise(address, dir.path().join("ds.sqlite"), tls.clone());
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let now = state.borrow_and_update().clone();
        match now {
            LocalServerState::Unavailable(why) => {
                assert!(why.contains("not this user's"), "{why}");
                break;
            }
            LocalServerState::Checking => {}
            other => panic!("the impostor was taken for the local server: {other:?}"),
        }
        assert!(Instant::now() < deadline, "timed out");
        let _ = tokio::time::timeout(Duration::from_millis(200), state.changed()).await;
    }
    // Nor does this user's client talk to it: it is not the server this user's CA vouches for.
    let url = local_server::url(address);
    assert!(
        Client::create_with(&dir.path().join("alice"), "alice", &url, config(&tls))
            .await
            .is_err()
    );
    drop(stop);
    impostor.stop().await;
}

#[cfg(unix)]
#[test]
fn the_local_identity_is_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let tls_dir = dir.path().join("local-server-tls");
    LocalTls::ensure(&tls_dir).unwrap();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&tls_dir), 0o700);
    let files: Vec<_> = std::fs::read_dir(&tls_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 4, "{files:?}");
    for file in files {
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
}
