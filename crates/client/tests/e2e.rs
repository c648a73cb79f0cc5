//! End to end, in process: several clients, each with its own profile file, through a real
//! delivery service on 127.0.0.1.

mod support;

use conclave_client::{
    Client, ClientError, ClientEvent, ConnectionState, MessageKind, MessageState,
};
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_clients_create_chat_rename_remove_leave() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("ds.sqlite")).await;
    let alice = client(dir.path(), "alice", &server).await;
    let bob = client(dir.path(), "bob", &server).await;
    let carol = client(dir.path(), "carol", &server).await;

    let a = alice
        .create_conversation("Team", &[user("bob"), user("carol")])
        .await
        .unwrap();
    bob.sync().await.unwrap();
    carol.sync().await.unwrap();
    let b = same_conversation(&bob, &alice, a).await;
    let c = same_conversation(&carol, &alice, a).await;
    assert_eq!(bob.conversation(b).await.unwrap().name, "Team");
    assert_eq!(alice.members(a).await.unwrap().len(), 3);

    // Chat both ways.
    let sent = alice.send_text(a, "hello both").await.unwrap();
    assert_eq!(
        alice.message(sent).await.unwrap().unwrap().message.state,
        MessageState::Sent
    );
    bob.sync().await.unwrap();
    bob.send_text(b, "hi alice").await.unwrap();
    carol.send_text(c, "hey").await.unwrap();
    for client in [&alice, &bob, &carol] {
        client.sync().await.unwrap();
    }
    let expected = ["alice: hello both", "bob: hi alice", "carol: hey"];
    for (client, id) in [(&alice, a), (&bob, b), (&carol, c)] {
        let mut got = texts(client, id).await;
        got.sort();
        assert_eq!(got, expected, "{}", client.me());
    }
    // Unread counts: alice has bob's and carol's messages unread.
    let summary = alice.conversations().await.unwrap().remove(0);
    assert!(summary.unread >= 2, "{}", summary.unread);

    // Rename travels inside MLS.
    bob.rename(b, "Team Rocket").await.unwrap();
    alice.sync().await.unwrap();
    carol.sync().await.unwrap();
    for (client, id) in [(&alice, a), (&bob, b), (&carol, c)] {
        assert_eq!(client.conversation(id).await.unwrap().name, "Team Rocket");
    }

    // Remove carol: she learns it and can no longer send; the others move on without her.
    let mut carol_events = carol.subscribe();
    alice.remove(a, &user("carol")).await.unwrap();
    carol.sync().await.unwrap();
    wait_for(&mut carol_events, |e| {
        matches!(e, ClientEvent::ConversationLeft { .. })
    })
    .await;
    assert!(carol.conversation(c).await.unwrap().left_at.is_some());
    assert!(matches!(
        carol.send_text(c, "still here?").await,
        Err(ClientError::NotAMember)
    ));
    // Her history stays readable.
    assert_eq!(texts(&carol, c).await.len(), 3);
    bob.sync().await.unwrap();
    assert_eq!(authenticator(&alice, a).await, authenticator(&bob, b).await);
    assert_eq!(alice.members(a).await.unwrap().len(), 2);

    // Bob leaves: his proposal is committed by alice on her next sync.
    bob.leave(b).await.unwrap();
    alice.sync().await.unwrap();
    bob.sync().await.unwrap();
    assert!(bob.conversation(b).await.unwrap().left_at.is_some());
    let members = alice.members(a).await.unwrap();
    assert_eq!(members.len(), 1);
    assert!(members[0].is_me);
    let history = alice.history(a, None, 100).await.unwrap();
    assert!(
        history
            .iter()
            .any(|m| m.message.kind == MessageKind::Event && m.message.body == "bob left"),
        "{history:?}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_offline_across_several_epochs_catches_up() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("ds.sqlite")).await;
    let alice = client(dir.path(), "alice", &server).await;
    let bob = client(dir.path(), "bob", &server).await;
    let carol = client(dir.path(), "carol", &server).await;
    let (a, theirs) = start_conversation(&alice, "Plans", &[&bob, &carol]).await;
    let (b, c) = (theirs[0], theirs[1]);

    // Carol is away while the group moves through several epochs.
    alice.send_text(a, "one").await.unwrap();
    alice.rotate_keys(a).await.unwrap();
    bob.send_text(b, "two").await.unwrap();
    bob.rename(b, "Plans v2").await.unwrap();
    alice.send_text(a, "three").await.unwrap();
    bob.rotate_keys(b).await.unwrap();
    bob.send_text(b, "four").await.unwrap();
    let dave = client(dir.path(), "dave", &server).await;
    alice.invite(a, &user("dave")).await.unwrap();
    alice.send_text(a, "five").await.unwrap();
    let (epoch, auth) = authenticator(&alice, a).await;
    assert!(epoch >= 5, "{epoch}");

    let applied = carol.sync().await.unwrap();
    assert!(applied >= 9, "{applied}");
    assert_eq!(authenticator(&carol, c).await, (epoch, auth.clone()));
    assert_eq!(
        texts(&carol, c).await,
        [
            "alice: one",
            "bob: two",
            "alice: three",
            "bob: four",
            "alice: five"
        ]
    );
    assert_eq!(carol.conversation(c).await.unwrap().name, "Plans v2");

    // Dave joined late: he sees what came after his arrival only, in the same epoch.
    dave.sync().await.unwrap();
    let d = same_conversation(&dave, &alice, a).await;
    assert_eq!(authenticator(&dave, d).await, (epoch, auth));
    assert_eq!(texts(&dave, d).await, ["alice: five"]);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_client_carries_on() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("ds.sqlite")).await;
    let alice = client(dir.path(), "alice", &server).await;
    let bob = client(dir.path(), "bob", &server).await;
    let (a, theirs) = start_conversation(&alice, "Restart", &[&bob]).await;
    let b = theirs[0];
    bob.send_text(b, "before").await.unwrap();

    // Bob's process ends; meanwhile alice writes and rotates.
    drop(bob);
    alice.sync().await.unwrap();
    alice.send_text(a, "while you were away").await.unwrap();
    alice.rotate_keys(a).await.unwrap();

    let bob = reopen(dir.path(), "bob").await;
    bob.sync().await.unwrap();
    assert_eq!(
        texts(&bob, b).await,
        ["bob: before", "alice: while you were away"]
    );
    bob.send_text(b, "after").await.unwrap();
    // Opening the same profile twice is refused while it is open.
    assert!(matches!(
        Client::open(&dir.path().join("bob")).await,
        Err(ClientError::Storage(_))
    ));
    alice.sync().await.unwrap();
    assert_eq!(
        texts(&alice, a).await,
        ["bob: before", "alice: while you were away", "bob: after"]
    );
    assert_eq!(authenticator(&alice, a).await, authenticator(&bob, b).await);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_members_inviting_at_once_are_both_applied_without_a_fork() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("ds.sqlite")).await;
    let alice = client(dir.path(), "alice", &server).await;
    let bob = client(dir.path(), "bob", &server).await;
    let carol = client(dir.path(), "carol", &server).await;
    let dave = client(dir.path(), "dave", &server).await;
    let (a, theirs) = start_conversation(&alice, "Race", &[&bob]).await;
    let b = theirs[0];

    let (carol_name, dave_name) = (user("carol"), user("dave"));
    for round in 0..3 {
        // Both commit in the same epoch; the server takes one, the other redoes its own.
        let name = format!("Race {round}");
        let (x, y) = if round == 0 {
            tokio::join!(alice.invite(a, &carol_name), bob.invite(b, &dave_name))
        } else {
            tokio::join!(alice.rotate_keys(a), bob.rename(b, &name))
        };
        x.unwrap();
        y.unwrap();
    }
    for client in [&alice, &bob, &carol, &dave] {
        client.sync().await.unwrap();
    }
    let c = same_conversation(&carol, &alice, a).await;
    let d = same_conversation(&dave, &alice, a).await;
    let expected = authenticator(&alice, a).await;
    assert_eq!(expected.0, 7, "create + 2 invites + 2 rounds of 2 commits");
    for (client, id) in [(&bob, b), (&carol, c), (&dave, d)] {
        assert_eq!(authenticator(client, id).await, expected, "{}", client.me());
        assert_eq!(client.members(id).await.unwrap().len(), 4);
        assert_eq!(client.conversation(id).await.unwrap().name, "Race 2");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_written_offline_are_sent_once_the_server_is_back() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ds.sqlite");
    let server = TestServer::start(&db).await;
    let addr = server.addr;
    let alice = client(dir.path(), "alice", &server).await;
    let bob = client(dir.path(), "bob", &server).await;
    let (a, theirs) = start_conversation(&alice, "Offline", &[&bob]).await;
    let b = theirs[0];

    server.stop().await;
    let first = alice.send_text(a, "queued one").await.unwrap();
    let second = alice.send_text(a, "queued two").await.unwrap();
    for id in [first, second] {
        assert_eq!(
            alice.message(id).await.unwrap().unwrap().message.state,
            MessageState::Pending
        );
    }
    assert!(alice.sync().await.unwrap_err().is_offline());
    // A restart while offline keeps them queued.
    drop(alice);
    let alice = reopen(dir.path(), "alice").await;

    // The server comes back; the background work sends them.
    let server = TestServer::start_at(&db, addr).await;
    let mut events = alice.subscribe();
    let background = alice.start();
    wait_for(&mut events, |e| {
        matches!(e, ClientEvent::Connection(ConnectionState::Online))
    })
    .await;
    for _ in 0..2 {
        wait_for(&mut events, |e| {
            matches!(
                e,
                ClientEvent::MessageStateChanged {
                    state: MessageState::Sent,
                    ..
                }
            )
        })
        .await;
    }
    drop(background);
    bob.sync().await.unwrap();
    assert_eq!(
        texts(&bob, b).await,
        ["alice: queued one", "alice: queued two"]
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_delivers_without_polling_and_a_changed_key_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("ds.sqlite")).await;
    let alice = client(dir.path(), "alice", &server).await;
    let bob = client(dir.path(), "bob", &server).await;
    let a = alice
        .create_conversation("Push", &[user("bob")])
        .await
        .unwrap();

    let mut bob_events = bob.subscribe();
    let background = bob.start();
    wait_for(&mut bob_events, |e| {
        matches!(e, ClientEvent::ConversationJoined { .. })
    })
    .await;
    alice.send_text(a, "pushed to you").await.unwrap();
    let event = wait_for(&mut bob_events, |e| {
        matches!(e, ClientEvent::MessageReceived { message, .. } if message.message.kind == MessageKind::Text)
    })
    .await;
    let ClientEvent::MessageReceived { message, .. } = event else {
        unreachable!()
    };
    assert_eq!(message.message.body, "pushed to you");
    drop(background);

    // Safety numbers agree on both sides, and verifying marks the keys.
    let (_, from_alice) = alice.safety_numbers(&user("bob")).await.unwrap().remove(0);
    let (_, from_bob) = bob.safety_numbers(&user("alice")).await.unwrap().remove(0);
    let mut a_halves = [&from_alice[..30], &from_alice[30..]];
    let mut b_halves = [&from_bob[..30], &from_bob[30..]];
    a_halves.sort();
    b_halves.sort();
    assert_eq!(a_halves, b_halves);
    assert_eq!(alice.verify(&user("bob")).await.unwrap(), 1);
    assert!(
        alice
            .members(a)
            .await
            .unwrap()
            .iter()
            .all(|m| m.is_me || m.verified)
    );

    // Alice's record of bob's key no longer matches what the group shows (as when a server
    // swaps a key): the next commit she sees raises a key-change warning, and the device is
    // no longer verified.
    drop(alice);
    let profile = dir.path().join("alice").join(conclave_client::PROFILE_FILE);
    let conn = rusqlite::Connection::open(&profile).unwrap();
    let changed = conn
        .execute(
            "UPDATE devices SET signature_key = x'00' WHERE user_name = 'bob'",
            [],
        )
        .unwrap();
    assert_eq!(changed, 1);
    drop(conn);
    let alice = reopen(dir.path(), "alice").await;
    let mut alice_events = alice.subscribe();
    let b = same_conversation(&bob, &alice, a).await;
    bob.rotate_keys(b).await.unwrap();
    alice.sync().await.unwrap();
    let event = wait_for(&mut alice_events, |e| {
        matches!(e, ClientEvent::KeyChanged { .. })
    })
    .await;
    let ClientEvent::KeyChanged {
        member,
        previous_fingerprint,
        ..
    } = event
    else {
        unreachable!()
    };
    assert_eq!(member.user.as_str(), "bob");
    assert_eq!(
        previous_fingerprint,
        conclave_protocol::Fingerprint::of(&member, &[0]).digits()
    );
    assert!(
        !alice
            .members(a)
            .await
            .unwrap()
            .iter()
            .any(|m| !m.is_me && m.verified)
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_typed_errors_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("ds.sqlite")).await;
    let alice = client(dir.path(), "alice", &server).await;
    let _bob = client(dir.path(), "bob", &server).await;

    // A taken name: the new profile is removed again.
    let again =
        Client::create_with(&dir.path().join("alice2"), "alice", &server.url(), config()).await;
    assert!(matches!(again, Err(ClientError::NameTaken(_))), "{again:?}");
    assert!(
        !dir.path()
            .join("alice2")
            .join(conclave_client::PROFILE_FILE)
            .exists()
    );
    // An existing profile is not overwritten.
    assert!(matches!(
        Client::create(&dir.path().join("alice"), "alice", &server.url()).await,
        Err(ClientError::ProfileExists(_))
    ));
    assert!(matches!(
        Client::open(&dir.path().join("nobody")).await,
        Err(ClientError::NoProfile(_))
    ));
    // Unknown users, bad names, empty messages.
    assert!(matches!(
        alice.create_conversation("X", &[user("zed")]).await,
        Err(ClientError::UnknownUser(_))
    ));
    assert!(
        alice.conversations().await.unwrap().is_empty(),
        "nothing was created"
    );
    let a = alice.create_conversation("Solo", &[]).await.unwrap();
    assert!(matches!(
        alice.send_text(a, "   ").await,
        Err(ClientError::InvalidInput(_))
    ));
    assert!(matches!(
        alice.remove(a, &user("bob")).await,
        Err(ClientError::NotInConversation(_))
    ));
    alice.invite(a, &user("bob")).await.unwrap();
    assert!(matches!(
        alice.invite(a, &user("bob")).await,
        Err(ClientError::AlreadyMember(_))
    ));
    assert!(matches!(
        alice.find_conversation("nope").await,
        Err(ClientError::NoSuchConversation(_))
    ));
    alice.create_conversation("Solo", &[]).await.unwrap();
    assert!(matches!(
        alice.find_conversation("Solo").await,
        Err(ClientError::AmbiguousConversation(_))
    ));
    assert_eq!(alice.find_conversation(&a.0.to_string()).await.unwrap(), a);
    server.stop().await;
}

/// What a device acknowledged to the server is in its profile's database file itself, not
/// only in the write-ahead log a power loss can take with it: the server deletes what was
/// acknowledged, so nothing else would bring it back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_messages_are_durable_before_the_ack() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("ds.sqlite")).await;
    let alice = client(dir.path(), "alice", &server).await;
    let bob = client(dir.path(), "bob", &server).await;
    let (a, _) = start_conversation(&alice, "Durable", &[&bob]).await;
    alice
        .send_text(a, "kept through a power cut")
        .await
        .unwrap();
    assert_eq!(bob.sync().await.unwrap(), 1);

    // The database file alone, as a power loss would leave it if the log was never synced.
    let profile = dir.path().join("bob").join(conclave_client::PROFILE_FILE);
    let copy = dir.path().join("bob-file-only.sqlite");
    std::fs::copy(&profile, &copy).unwrap();
    let stored: i64 = rusqlite::Connection::open(&copy)
        .unwrap()
        .query_row(
            "SELECT COUNT(*) FROM messages WHERE body = 'kept through a power cut'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(stored, 1, "acknowledged, but only in the write-ahead log");
}
