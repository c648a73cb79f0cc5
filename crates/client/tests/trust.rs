//! What the server says is never taken for what MLS proves: attacks by the operator of a
//! real `conclave-ds`, performed on its database between two clients' requests.

mod support;

use conclave_client::MessageKind;
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
