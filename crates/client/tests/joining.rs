//! Joining by external commit over a real delivery service on 127.0.0.1: invite links with
//! and without approval, revoked and expired links refused; a member restored from an old
//! backup rejoins and chats; a commit no member can process is undone and costs the group a
//! delay only.

mod support;

use std::time::Duration;

use conclave_client::{ClientError, ClientEvent, LinkJoin, MessageKind};
use conclave_delivery_api::ErrorCode;
use conclave_delivery_api::{Envelope, MessageKind as WireKind};
use support::*;

async fn events_of(
    client: &conclave_client::Client,
    id: conclave_client::ConversationId,
) -> Vec<String> {
    client
        .history(id, None, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.message.kind == MessageKind::Event)
        .map(|m| m.message.body)
        .collect()
}

/// The users whose requests to join `conversation` `client` is shown.
async fn requesters(
    client: &conclave_client::Client,
    conversation: conclave_client::ConversationId,
) -> Vec<String> {
    client
        .join_requests(conversation)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.device.user)
        .collect()
}

fn refused_with(result: Result<LinkJoin, ClientError>, code: ErrorCode) {
    match result {
        Err(ClientError::Server { code: got, message }) => {
            assert_eq!(got, code, "{message}")
        }
        other => panic!("expected {code:?}, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_let_people_in_with_and_without_approval_until_revoked_or_expired() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("ds.sqlite")).await;
    let alice = client(dir.path(), "alice", &server).await;
    let bob = client(dir.path(), "bob", &server).await;
    let (a, theirs) = start_conversation(&alice, "Open house", &[&bob]).await;
    let b = theirs[0];

    // Only who may manage links (admins, by default) opens one.
    assert!(matches!(
        bob.create_link(b, false, None).await,
        Err(ClientError::NotPermitted(_))
    ));
    let link = alice.create_link(a, false, None).await.unwrap().to_text();
    assert!(link.starts_with("conclave://join/"));
    let (shown, approval) = alice.invite_link(a).await.unwrap().expect("open");
    assert_eq!((shown.to_text(), approval), (link.clone(), false));

    // Carol, who nobody has met, joins by it and talks.
    let carol = client(dir.path(), "carol", &server).await;
    let LinkJoin::Joined(c) = carol.join_link(&link).await.unwrap() else {
        panic!("a link without approval lets carol in");
    };
    assert_eq!(carol.conversation(c).await.unwrap().name, "Open house");
    carol.send_text(c, "hello from carol").await.unwrap();
    for (member, id) in [(&alice, a), (&bob, b)] {
        member.sync().await.unwrap();
        assert!(
            texts(member, id)
                .await
                .contains(&"carol: hello from carol".to_owned())
        );
        assert!(
            events_of(member, id)
                .await
                .contains(&"carol joined with the invite link".to_owned())
        );
        assert_eq!(
            authenticator(member, id).await,
            authenticator(&carol, c).await
        );
    }
    // Joining twice is refused by carol's own client.
    assert!(matches!(
        carol.join_link(&link).await,
        Err(ClientError::AlreadyMember(_))
    ));

    // Revoked: the link fails, clearly.
    alice.revoke_link(a).await.unwrap();
    assert!(alice.invite_link(a).await.unwrap().is_none());
    let dave = client(dir.path(), "dave", &server).await;
    refused_with(dave.join_link(&link).await, ErrorCode::LinkInvalid);
    bob.sync().await.unwrap();
    assert!(
        events_of(&bob, b)
            .await
            .contains(&"alice revoked the invite link".to_owned())
    );

    // With approval: dave asks, alice approves and he is added; erin asks and is declined.
    let link = alice.create_link(a, true, None).await.unwrap().to_text();
    let mut alice_events = alice.subscribe();
    assert_eq!(dave.join_link(&link).await.unwrap(), LinkJoin::Requested);
    let erin = client(dir.path(), "erin", &server).await;
    assert_eq!(erin.join_link(&link).await.unwrap(), LinkJoin::Requested);
    // Asking again is the same request, not a new one.
    assert_eq!(dave.join_link(&link).await.unwrap(), LinkJoin::Requested);
    // The server tells the members of each request once.
    alice.sync().await.unwrap();
    let mut told = Vec::new();
    while told.len() < 2 {
        if let ClientEvent::JoinRequested { conversation, user } =
            wait_for(&mut alice_events, |e| {
                matches!(e, ClientEvent::JoinRequested { .. })
            })
            .await
        {
            assert_eq!(conversation, a);
            told.push(user);
        }
    }
    assert_eq!(told, ["dave", "erin"]);
    alice.sync().await.unwrap();
    while let Ok(event) = alice_events.try_recv() {
        assert!(
            !matches!(event, ClientEvent::JoinRequested { .. }),
            "{event:?}"
        );
    }
    let asked = requesters(&alice, a).await;
    assert_eq!(asked, vec!["dave", "erin"]);
    alice.approve_join(a, &user("dave")).await.unwrap();
    alice.decline_join(a, &user("erin")).await.unwrap();
    assert!(alice.join_requests(a).await.unwrap().is_empty());
    // Not a request any more: nothing to approve.
    assert!(matches!(
        alice.approve_join(a, &user("erin")).await,
        Err(ClientError::InvalidInput(_))
    ));
    dave.sync().await.unwrap();
    // He asked: alice's invitation is no stranger's request to him.
    let d = same_group(&dave, &alice, a).await;
    assert!(!dave.conversation(d).await.unwrap().request);
    dave.send_text(d, "thanks for letting me in").await.unwrap();
    assert_eq!(dave.members(d).await.unwrap().len(), 4);
    erin.sync().await.unwrap();
    assert!(erin.conversations().await.unwrap().is_empty());

    // Expired: the link works until its time is up, then fails, clearly.
    let link = alice
        .create_link(a, false, Some(Duration::from_secs(1)))
        .await
        .unwrap()
        .to_text();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let frank = client(dir.path(), "frank", &server).await;
    refused_with(frank.join_link(&link).await, ErrorCode::LinkExpired);
    // A link made up for the group opens nothing.
    let forged = format!("{}/{}", link.rsplit_once('/').unwrap().0, "A".repeat(43));
    refused_with(frank.join_link(&forged).await, ErrorCode::LinkInvalid);
    server.stop().await;
}

/// Bob's profile comes back from a backup taken two commits ago. His first sync finds the
/// group ahead of him, rejoins by external commit (his old leaf replaced), and he chats on;
/// everyone sees "bob's device rejoined" and agrees on the group.
/// A server that names a join request's sender with a name no user can have (here by
/// rewriting the requester's name in its database, as an operator could; the name mimics an
/// admin's): the members are not told of it, and the list of requests leaves it out, so no
/// such name is shown as asking to join.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_join_request_under_a_name_no_user_can_have_is_not_shown() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ds.sqlite");
    let server = TestServer::start(&db).await;
    let alice = client(dir.path(), "alice", &server).await;
    let bob = client(dir.path(), "bob", &server).await;
    let (a, _) = start_conversation(&alice, "Door", &[&bob]).await;
    let link = alice.create_link(a, true, None).await.unwrap().to_text();
    let mallory = client(dir.path(), "mallory", &server).await;
    let erin = client(dir.path(), "erin", &server).await;
    assert_eq!(mallory.join_link(&link).await.unwrap(), LinkJoin::Requested);
    assert_eq!(erin.join_link(&link).await.unwrap(), LinkJoin::Requested);
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute(
            "UPDATE users SET name = 'Alice (admin)' WHERE name = 'mallory'",
            [],
        )
        .unwrap();

    let mut events = alice.subscribe();
    alice.sync().await.unwrap();
    let ClientEvent::JoinRequested { user, .. } = wait_for(&mut events, |e| {
        matches!(e, ClientEvent::JoinRequested { .. })
    })
    .await
    else {
        unreachable!()
    };
    assert_eq!(user, "erin");
    tokio::time::sleep(Duration::from_millis(200)).await;
    while let Ok(event) = events.try_recv() {
        assert!(
            !matches!(event, ClientEvent::JoinRequested { .. }),
            "{event:?}"
        );
    }
    let asked = requesters(&alice, a).await;
    assert_eq!(asked, ["erin"]);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_restored_from_an_old_backup_rejoins_and_chats() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("ds.sqlite")).await;
    let alice = client(dir.path(), "alice", &server).await;
    let bob = client(dir.path(), "bob", &server).await;
    let carol = client(dir.path(), "carol", &server).await;
    let (a, theirs) = start_conversation(&alice, "Backups", &[&bob, &carol]).await;
    let (b, c) = (theirs[0], theirs[1]);
    bob.send_text(b, "before the backup").await.unwrap();
    drop(bob);
    let backup = dir.path().join("bob-backup");
    copy_dir(&dir.path().join("bob"), &backup);

    // The group goes on: two commits and messages, which bob reads (and acknowledges, so
    // the server drops them).
    let bob = reopen(dir.path(), "bob").await;
    alice.rotate_keys(a).await.unwrap();
    carol.sync().await.unwrap();
    carol.rotate_keys(c).await.unwrap();
    alice.sync().await.unwrap();
    alice.send_text(a, "after the backup").await.unwrap();
    bob.sync().await.unwrap();
    assert!(
        texts(&bob, b)
            .await
            .contains(&"alice: after the backup".to_owned())
    );
    drop(bob);

    // Restored: bob's state is two epochs behind, and the commits are gone from the server.
    let bob = restore(dir.path(), "bob", &backup).await;
    alice.send_text(a, "anyone there?").await.unwrap();
    bob.sync().await.unwrap();
    let lines = events_of(&bob, b).await;
    assert!(
        lines.iter().any(|l| l.starts_with("this device rejoined")),
        "{lines:?}"
    );
    bob.send_text(b, "back from the backup").await.unwrap();
    for (member, id) in [(&alice, a), (&carol, c)] {
        member.sync().await.unwrap();
        assert!(
            texts(member, id)
                .await
                .contains(&"bob: back from the backup".to_owned())
        );
        assert!(
            events_of(member, id)
                .await
                .contains(&"bob's device rejoined".to_owned())
        );
        assert_eq!(
            authenticator(member, id).await,
            authenticator(&bob, b).await
        );
        // One leaf per device: the old one went with the rejoin.
        assert_eq!(member.members(id).await.unwrap().len(), 3);
    }
    alice.send_text(a, "welcome back").await.unwrap();
    bob.sync().await.unwrap();
    assert!(
        texts(&bob, b)
            .await
            .contains(&"alice: welcome back".to_owned())
    );
    // Nothing to rejoin now: the device is not behind.
    bob.rejoin(b).await.unwrap();
    assert_eq!(authenticator(&alice, a).await, authenticator(&bob, b).await);
    server.stop().await;
}

/// Bob's backup is older than a removal, which changed the group's rejoin key: his old key
/// opens nothing at the server. His device asks the other members for the current key
/// (signed by his leaf); a member answers (sealed to the ask, signed), and bob's device
/// rejoins by itself, even when a member answers first with garbage. The server relays the
/// ask and the answers and reads none of them; a removed member gets nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_restored_from_a_backup_older_than_a_removal_asks_and_rejoins() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ds.sqlite");
    let server = TestServer::start(&db).await;
    let identity_of = |name: &str| {
        let profile = dir.path().join(name).join(conclave_client::PROFILE_FILE);
        conclave_storage::Store::open(&profile)
            .unwrap()
            .identity()
            .unwrap()
            .unwrap()
    };
    let alice = client(dir.path(), "alice", &server).await;
    let bob = client(dir.path(), "bob", &server).await;
    let carol = client(dir.path(), "carol", &server).await;
    let dave = client(dir.path(), "dave", &server).await;
    let (a, theirs) = start_conversation(&alice, "Old backups", &[&bob, &carol, &dave]).await;
    let group_id = alice.conversation(a).await.unwrap().group_id;
    let (b, c, d) = (theirs[0], theirs[1], theirs[2]);
    drop(bob);
    let backup = dir.path().join("bob-backup");
    copy_dir(&dir.path().join("bob"), &backup);

    // Dave is removed (a new rejoin key), and bob's device reads it all.
    alice.remove(a, &user("dave")).await.unwrap();
    carol.sync().await.unwrap();
    dave.sync().await.unwrap();
    let bob = reopen(dir.path(), "bob").await;
    bob.sync().await.unwrap();
    drop(bob);

    // Restored: bob's key is the one from before the removal.
    let bob = restore(dir.path(), "bob", &backup).await;
    let mut events = bob.subscribe();
    alice.send_text(a, "anyone there?").await.unwrap();
    bob.sync().await.unwrap();
    wait_for(&mut events, |e| {
        matches!(e, ClientEvent::RejoinNeeded { conversation, asked: true, .. }
            if *conversation == b)
    })
    .await;
    // Asking again within the minute sends nothing more (the server would refuse it).
    assert!(matches!(bob.rejoin(b).await, Err(ClientError::RejoinAsked)));
    // Carol's device answers first, with garbage (a member gone bad, or a bug): bob drops
    // it, and the others' answers still reach him.
    drop(carol);
    let garbage = conclave_delivery_api::RejoinKeyUpload {
        device: devices_of(&[&bob]).remove(0),
        key: vec![7; 200].into(),
    };
    let path = conclave_delivery_api::paths::group_rejoin_key(group_id.as_bytes());
    let (status, body) = post_signed(&server, &identity_of("carol"), &path, &garbage).await;
    assert!(status.is_success(), "{body}");
    let carol = reopen(dir.path(), "carol").await;
    alice.sync().await.unwrap();
    carol.sync().await.unwrap();
    bob.sync().await.unwrap();
    wait_for(
        &mut events,
        |e| matches!(e, ClientEvent::Rejoined { conversation } if *conversation == b),
    )
    .await;
    // Bob's history says whose key it took.
    let lines = events_of(&bob, b).await;
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("this device rejoined with the key alice/")),
        "{lines:?}"
    );
    bob.send_text(b, "back from an older backup").await.unwrap();
    for (member, id) in [(&alice, a), (&carol, c)] {
        member.sync().await.unwrap();
        assert!(
            texts(member, id)
                .await
                .contains(&"bob: back from an older backup".to_owned())
        );
        assert_eq!(
            authenticator(member, id).await,
            authenticator(&bob, b).await
        );
        assert_eq!(member.members(id).await.unwrap().len(), 3);
    }
    // Dave was removed: his client knows it, and the server takes no ask of his device
    // (nor would a member answer one: his leaf is gone, see the protocol's tests).
    assert!(matches!(dave.rejoin(d).await, Err(ClientError::NotAMember)));
    drop((alice, bob, carol, dave));
    let path = conclave_delivery_api::paths::group_rejoin(group_id.as_bytes());
    let dave_ask = conclave_protocol::RejoinAsk::from_seed([3; 32]);
    let dave_identity = identity_of("dave");
    let provider = conclave_protocol::MemoryProvider::default();
    let ask = conclave_delivery_api::RejoinAskUpload {
        ask: dave_ask
            .message(
                &provider,
                &dave_identity,
                &group_id,
                dave_identity.ciphersuite(),
            )
            .unwrap()
            .into(),
    };
    let (status, body) = post_signed(&server, &dave_identity, &path, &ask).await;
    assert_eq!(status, reqwest::StatusCode::FORBIDDEN, "{body}");
    // Bob's device asks once a minute at most: it asked a moment ago.
    let (status, body) = post_signed(&server, &identity_of("bob"), &path, &ask).await;
    assert_eq!(status, reqwest::StatusCode::TOO_MANY_REQUESTS, "{body}");

    // Neither the ask nor the answer showed the server the rejoin key.
    let rejoin = {
        let profile = dir.path().join("alice").join(conclave_client::PROFILE_FILE);
        let mut store = conclave_storage::Store::open(&profile).unwrap();
        let mut tx = store.transaction().unwrap();
        tx.group(&group_id)
            .unwrap()
            .group
            .join_keys()
            .unwrap()
            .unwrap()
            .rejoin
    };
    server.stop().await;
    let files = conclave_test_support::database_bytes(&db);
    assert!(!files.windows(32).any(|w| w == rejoin));
}

/// Bob's state forks off the group's at the same epoch (his modified client merged a commit
/// of its own that never reached the server, as a server showing him another commit would
/// do). He cannot read what follows; his client compares its state with the group's info,
/// finds it apart, rejoins, and chats on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_forked_off_the_group_finds_out_and_rejoins() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("ds.sqlite")).await;
    let alice = client(dir.path(), "alice", &server).await;
    let bob = client(dir.path(), "bob", &server).await;
    let carol = client(dir.path(), "carol", &server).await;
    let (a, theirs) = start_conversation(&alice, "Fork", &[&bob, &carol]).await;
    let (b, c) = (theirs[0], theirs[1]);
    let group_id = alice.conversation(a).await.unwrap().group_id;
    drop(bob);
    {
        let profile = dir.path().join("bob").join(conclave_client::PROFILE_FILE);
        let mut store = conclave_storage::Store::open(&profile).unwrap();
        let identity = store.identity().unwrap().unwrap();
        let mut tx = store.transaction().unwrap();
        let g = tx.group(&group_id).unwrap();
        g.group.self_update(&g.provider, &identity).unwrap();
        g.group.merge_pending_commit(&g.provider).unwrap();
        tx.commit().unwrap();
    }
    let bob = reopen(dir.path(), "bob").await;
    alice.rotate_keys(a).await.unwrap();
    assert_eq!(
        authenticator(&alice, a).await.0,
        authenticator(&bob, b).await.0,
        "the same epoch, another history"
    );
    alice.send_text(a, "after the fork").await.unwrap();
    bob.sync().await.unwrap();
    assert!(
        events_of(&bob, b)
            .await
            .iter()
            .any(|l| l.starts_with("this device rejoined"))
    );
    bob.send_text(b, "back in step").await.unwrap();
    for (member, id) in [(&alice, a), (&carol, c)] {
        member.sync().await.unwrap();
        assert!(
            texts(member, id)
                .await
                .contains(&"bob: back in step".to_owned())
        );
        assert_eq!(
            authenticator(member, id).await,
            authenticator(&bob, b).await
        );
    }
    server.stop().await;
}

/// Dave's modified client sends a commit nobody can process (its bytes damaged). Every other
/// member refuses it and tells the server, which goes back to the epoch before it: the group
/// goes on, all agreeing, the bad commit having cost a delay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_nobody_can_process_costs_a_delay_and_the_group_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("ds.sqlite")).await;
    let alice = client(dir.path(), "alice", &server).await;
    let bob = client(dir.path(), "bob", &server).await;
    let carol = client(dir.path(), "carol", &server).await;
    let dave = client(dir.path(), "dave", &server).await;
    let (a, theirs) = start_conversation(&alice, "Noise", &[&bob, &carol, &dave]).await;
    let group_id = alice.conversation(a).await.unwrap().group_id;
    let before = authenticator(&alice, a).await;
    let everyone = devices_of(&[&alice, &bob, &carol, &dave]);
    drop(dave);
    let profile = dir.path().join("dave").join(conclave_client::PROFILE_FILE);
    let (envelope, identity) = {
        let mut store = conclave_storage::Store::open(&profile).unwrap();
        let identity = store.identity().unwrap().unwrap();
        let mut tx = store.transaction().unwrap();
        let g = tx.group(&group_id).unwrap();
        let bundle = g.group.self_update(&g.provider, &identity).unwrap();
        let mut commit = bundle.commit;
        let last = commit.len() - 1;
        commit[last] ^= 0x55;
        let envelope = Envelope {
            group_id: group_id.as_bytes().to_vec().into(),
            epoch: bundle.epoch,
            kind: WireKind::Commit,
            recipients: everyone,
            message: commit.into(),
            welcome: None,
            removed: Vec::new(),
            link_token: None,
        };
        (envelope, identity)
    };
    let (status, body) = post_envelope(&server, &identity, &envelope).await;
    assert!(status.is_success(), "the server cannot tell: {body}");

    let others = [(&alice, a), (&bob, theirs[0]), (&carol, theirs[1])];
    for (member, id) in others {
        member.sync().await.unwrap();
        assert_eq!(authenticator(member, id).await, before);
    }
    // Back at the epoch before it, the group goes on.
    bob.send_text(theirs[0], "still fine").await.unwrap();
    alice.rotate_keys(a).await.unwrap();
    for (member, id) in others {
        member.sync().await.unwrap();
        assert!(
            texts(member, id)
                .await
                .contains(&"bob: still fine".to_owned())
        );
        assert_eq!(
            authenticator(member, id).await,
            authenticator(&alice, a).await
        );
    }
    server.stop().await;
}

/// Erin, with no valid token, makes an external commit from the group's GroupInfo (taken
/// from alice's profile) and sends it: without a token, with a made-up one, and with the
/// token of a link since revoked. The server refuses each; the group is as it was.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_takes_an_external_commit_only_with_a_valid_link_token() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("ds.sqlite")).await;
    let alice = client(dir.path(), "alice", &server).await;
    let bob = client(dir.path(), "bob", &server).await;
    let erin = client(dir.path(), "erin", &server).await;
    let (a, theirs) = start_conversation(&alice, "Closed", &[&bob]).await;
    let link = alice.create_link(a, false, None).await.unwrap();
    let group_id = alice.conversation(a).await.unwrap().group_id;
    let before = authenticator(&alice, a).await;
    drop(alice);
    let info = {
        let profile = dir.path().join("alice").join(conclave_client::PROFILE_FILE);
        let mut store = conclave_storage::Store::open(&profile).unwrap();
        let identity = store.identity().unwrap().unwrap();
        let mut tx = store.transaction().unwrap();
        let g = tx.group(&group_id).unwrap();
        g.group.group_info(&g.provider, &identity).unwrap()
    };
    let alice = reopen(dir.path(), "alice").await;
    alice.revoke_link(a).await.unwrap();
    drop(erin);
    let profile = dir.path().join("erin").join(conclave_client::PROFILE_FILE);
    let mut store = conclave_storage::Store::open(&profile).unwrap();
    let identity = store.identity().unwrap().unwrap();
    let tx = store.transaction().unwrap();
    let (_, bundle, _) = conclave_protocol::Group::join_external(
        &tx.provider(),
        &identity,
        &conclave_protocol::GroupConfig::default(),
        &info,
        &group_id,
        &conclave_protocol::AcceptAll,
    )
    .unwrap();
    let recipients = devices_of(&[&alice, &bob]);
    for (token, code) in [
        (None, "forbidden"),
        (Some(vec![7u8; 32]), "link_invalid"),
        (Some(link.token().to_vec()), "link_invalid"),
    ] {
        let envelope = Envelope {
            group_id: group_id.as_bytes().to_vec().into(),
            epoch: bundle.epoch,
            kind: WireKind::Commit,
            recipients: recipients.clone(),
            message: bundle.commit.clone().into(),
            welcome: None,
            removed: Vec::new(),
            link_token: token.map(Into::into),
        };
        let (status, body) = post_envelope(&server, &identity, &envelope).await;
        assert_eq!(status, reqwest::StatusCode::FORBIDDEN, "{body}");
        assert_eq!(body["error"], code, "{body}");
    }
    drop(tx);
    bob.sync().await.unwrap();
    alice.sync().await.unwrap();
    assert_eq!(bob.members(theirs[0]).await.unwrap().len(), 2);
    assert_eq!(
        authenticator(&bob, theirs[0]).await,
        authenticator(&alice, a).await
    );
    assert_ne!(
        authenticator(&alice, a).await,
        before,
        "the revocation was a commit"
    );
    server.stop().await;
}

/// What joining by link puts at the server is unreadable there: after a link join, a rejoin
/// and messages, the server's database files hold neither the group's name, nor its policy,
/// nor the join keys, nor the link's secret. (The tree's leaves are public keys the server
/// holds anyway, in key packages and external commits.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_never_reads_the_group_info_nor_the_link() {
    const NAME: &str = "Operation Silent Lighthouse";
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ds.sqlite");
    let server = TestServer::start(&db).await;
    let alice = client(dir.path(), "alice", &server).await;
    let bob = client(dir.path(), "bob", &server).await;
    let (a, _) = start_conversation(&alice, NAME, &[&bob]).await;
    let link = alice.create_link(a, false, None).await.unwrap();
    let carol = client(dir.path(), "carol", &server).await;
    let LinkJoin::Joined(c) = carol.join_link(&link.to_text()).await.unwrap() else {
        panic!("joined");
    };
    carol.send_text(c, "lighthouse keeper").await.unwrap();
    carol.rejoin(c).await.unwrap();
    alice.sync().await.unwrap();
    let group_id = alice.conversation(a).await.unwrap().group_id;
    drop((alice, bob, carol));
    let profile = dir.path().join("alice").join(conclave_client::PROFILE_FILE);
    let (policy, keys) = {
        let mut store = conclave_storage::Store::open(&profile).unwrap();
        let mut tx = store.transaction().unwrap();
        let g = tx.group(&group_id).unwrap();
        (
            g.group.policy().unwrap().unwrap().encode(),
            g.group.join_keys().unwrap().unwrap(),
        )
    };
    server.stop().await;
    let files = conclave_test_support::database_bytes(&db);
    let contains = |needle: &[u8]| files.windows(needle.len()).any(|w| w == needle);
    let link_secret = keys.link.as_ref().expect("the link is open").secret;
    for (what, needle) in [
        ("the name", NAME.as_bytes()),
        ("the policy", &policy[..]),
        ("the rejoin key", &keys.rejoin[..]),
        ("the link's secret", &link_secret[..]),
        ("a message", b"lighthouse keeper"),
    ] {
        assert!(!contains(needle), "{what} found in the server's database");
    }
    // The search sees the data: the link's token is hashed, the hash is there.
    use sha2::Digest as _;
    assert!(contains(&sha2::Sha256::digest(link.token())));
}
