//! What the server says is never taken for what MLS proves: attacks by the operator of a
//! real `conclave-ds`, performed on its database between two clients' requests.

mod support;

use conclave_client::{ClientError, MessageKind};
use support::*;

/// The operator rewrites who a queued Welcome is from. The invitation still names the
/// member who really added the device: the one whose signature is on the Welcome's
/// GroupInfo.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invitation_names_its_signer_not_the_servers_sender_field() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ds.sqlite");
    let server = TestServer::start(&db).await;
    let alice = client(dir.path(), "alice", &server).await;
    let bob = client(dir.path(), "bob", &server).await;
    let _mallory = client(dir.path(), "mallory", &server).await;
    alice
        .create_conversation("Plans", &[user("bob")])
        .await
        .unwrap();

    let rewritten = rusqlite::Connection::open(&db)
        .unwrap()
        .execute(
            "UPDATE messages SET sender_device = (SELECT devices.id FROM devices
                 JOIN users ON users.id = devices.user_id WHERE users.name = 'mallory')
             WHERE kind = 'welcome'",
            [],
        )
        .unwrap();
    assert_eq!(rewritten, 1, "one Welcome queued for bob");

    bob.sync().await.unwrap();
    let conversation = bob.conversations().await.unwrap()[0].conversation.id;
    let history = bob.history(conversation, None, 10).await.unwrap();
    let joined = history
        .iter()
        .find(|m| m.message.kind == MessageKind::Event && m.message.body.ends_with("added you"))
        .expect("a line saying who added bob");
    assert_eq!(joined.message.body, "alice added you");
    assert_eq!(&joined.message.sender, alice.me());
}

fn ds(db: &std::path::Path) -> rusqlite::Connection {
    rusqlite::Connection::open(db).unwrap()
}

const DEVICE_OF: &str = "(SELECT devices.id FROM devices JOIN users ON users.id = devices.user_id
                          WHERE users.name = ?1)";

/// The operator hands out mallory's key package as bob's: the inviter refuses it, and
/// nothing is created.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inviter_refuses_a_key_package_of_someone_else() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ds.sqlite");
    let server = TestServer::start(&db).await;
    let alice = client(dir.path(), "alice", &server).await;
    let _bob = client(dir.path(), "bob", &server).await;
    let _mallory = client(dir.path(), "mallory", &server).await;
    let swapped = ds(&db)
        .execute(
            &format!(
                "UPDATE key_packages SET data = (SELECT data FROM key_packages
                     WHERE device_id = {DEVICE_OF} LIMIT 1)
                 WHERE device_id = {}",
                DEVICE_OF.replace("?1", "?2")
            ),
            ["mallory", "bob"],
        )
        .unwrap();
    assert!(swapped > 0);

    let refused = alice.create_conversation("Plans", &[user("bob")]).await;
    assert!(
        matches!(&refused, Err(ClientError::UntrustedKeyPackage { user, .. }) if user == "bob"),
        "{refused:?}"
    );
    assert!(alice.conversations().await.unwrap().is_empty());
}

/// The operator makes a key package for bob's device with a key of its own: an inviter that
/// has seen bob's device before refuses it (its signature key never changes).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inviter_refuses_a_known_device_with_another_key() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ds.sqlite");
    let server = TestServer::start(&db).await;
    let alice = client(dir.path(), "alice", &server).await;
    let bob = client(dir.path(), "bob", &server).await;
    start_conversation(&alice, "First", &[&bob]).await;

    let provider = conclave_protocol::MemoryProvider::default();
    let forged = conclave_protocol::Identity::create(
        &provider,
        bob.me().clone(),
        conclave_protocol::GroupConfig::default().ciphersuite,
    )
    .unwrap();
    let package = forged
        .key_packages(&provider, &conclave_protocol::GroupConfig::default(), 1)
        .unwrap()
        .remove(0)
        .bytes;
    let replaced = ds(&db)
        .execute(
            &format!("UPDATE key_packages SET data = ?2 WHERE device_id = {DEVICE_OF}"),
            rusqlite::params!["bob", package],
        )
        .unwrap();
    assert!(replaced > 0);

    let refused = alice.create_conversation("Second", &[user("bob")]).await;
    assert!(
        matches!(&refused, Err(ClientError::UntrustedKeyPackage { user, .. }) if user == "bob"),
        "{refused:?}"
    );
    assert_eq!(alice.conversations().await.unwrap().len(), 1);
}
