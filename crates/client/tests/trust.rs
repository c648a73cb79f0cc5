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

/// Bob, running a client of his own, proposes that carol be removed. Nobody commits it for
/// him: the others record who proposed what, carol stays, and the group goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_members_proposal_to_remove_another_is_not_committed_for_it() {
    use conclave_delivery_api::{DeviceRef, Envelope, MessageKind as WireKind};

    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("ds.sqlite")).await;
    let alice = client(dir.path(), "alice", &server).await;
    let bob = client(dir.path(), "bob", &server).await;
    let carol = client(dir.path(), "carol", &server).await;
    let (a, theirs) = start_conversation(&alice, "Team", &[&bob, &carol]).await;
    let group_id = alice.conversation(a).await.unwrap().group_id;
    let carol_id = carol.me().clone();
    let bob_id = bob.me().clone();
    drop(bob);

    // Bob's proposal, made from his own profile and sent as he would send it.
    let profile = dir.path().join("bob").join(conclave_client::PROFILE_FILE);
    let (envelope, identity) = {
        let mut store = conclave_storage::Store::open(&profile).unwrap();
        let identity = store.identity().unwrap().unwrap();
        let mut tx = store.transaction().unwrap();
        let g = tx.group(&group_id).unwrap();
        let epoch = g.group.epoch();
        let recipients = g
            .group
            .members()
            .unwrap()
            .into_iter()
            .filter(|m| m.id != bob_id)
            .map(|m| DeviceRef {
                user: m.id.user.to_string(),
                device: m.id.device.to_string(),
            })
            .collect();
        let proposal = g
            .group
            .propose_remove(&g.provider, &identity, &carol_id)
            .unwrap();
        tx.commit().unwrap();
        let envelope = Envelope {
            group_id: group_id.as_bytes().to_vec().into(),
            epoch,
            kind: WireKind::Proposal,
            recipients,
            message: proposal.into(),
            welcome: None,
            removed: Vec::new(),
            link_token: None,
        };
        (envelope, identity)
    };
    let (status, _) = post_envelope(&server, &identity, &envelope).await;
    assert!(status.is_success());

    alice.sync().await.unwrap();
    carol.sync().await.unwrap();
    assert_eq!(alice.members(a).await.unwrap().len(), 3);
    let lines: Vec<String> = alice
        .history(a, None, 20)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.message.kind == MessageKind::Event)
        .map(|m| format!("{}: {}", m.message.sender.user, m.message.body))
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("bob: bob proposed removing carol; not applied")),
        "{lines:?}"
    );

    // Alice's next commit does not carry it either, and carol goes on chatting.
    alice.rotate_keys(a).await.unwrap();
    carol.sync().await.unwrap();
    assert_eq!(alice.members(a).await.unwrap().len(), 3);
    carol.send_text(theirs[1], "still here").await.unwrap();
    alice.sync().await.unwrap();
    assert!(
        texts(&alice, a)
            .await
            .contains(&"carol: still here".to_owned())
    );
    assert_eq!(
        authenticator(&alice, a).await,
        authenticator(&carol, theirs[1]).await
    );
}

/// The last-resort key package is replaced on schedule, and the private keys of the one it
/// replaced are deleted once the grace period is over; the device can be invited throughout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_resort_package_is_rotated_and_the_replaced_one_forgotten() {
    use std::time::Duration;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ds.sqlite");
    let server = TestServer::start(&db).await;
    let alice = client(dir.path(), "alice", &server).await;
    let rotating = conclave_client::ClientConfig {
        last_resort_rotation: Duration::ZERO,
        key_package_grace: Duration::ZERO,
        ..config()
    };
    let profile = dir.path().join("bob");
    let bob = conclave_client::Client::create_with(&profile, "bob", &server.url(), rotating)
        .await
        .unwrap();
    let served = || -> Vec<u8> {
        ds(&db)
            .query_row(
                &format!(
                    "SELECT data FROM key_packages
                     WHERE last_resort = 1 AND ciphersuite = 1 AND device_id = {DEVICE_OF}"
                ),
                ["bob"],
                |r| r.get(0),
            )
            .unwrap()
    };
    let first = served();
    bob.top_up_key_packages().await.unwrap();
    let second = served();
    assert_ne!(
        first, second,
        "a new last-resort package replaced the first"
    );
    // Each suite bob takes part in has its own last-resort package, each replaced.
    let suites = bob.ciphersuites().len() as i64;
    assert_eq!(suites, 3);
    drop(bob);

    let database = profile.join(conclave_client::PROFILE_FILE);
    let count = |sql: &str| -> i64 {
        rusqlite::Connection::open(&database)
            .unwrap()
            .query_row(sql, [], |r| r.get(0))
            .unwrap()
    };
    let bundles_before = count("SELECT COUNT(*) FROM openmls_key_packages");
    assert_eq!(
        count("SELECT COUNT(*) FROM published_key_packages WHERE retired_at IS NOT NULL"),
        suites
    );

    // Past the grace period (zero here), the next top-up deletes the first one's keys and,
    // the second being fresh, publishes no other.
    tokio::time::sleep(Duration::from_millis(5)).await;
    let steady = conclave_client::ClientConfig {
        key_package_grace: Duration::ZERO,
        ..config()
    };
    let bob = conclave_client::Client::open_with(&profile, steady)
        .await
        .unwrap();
    bob.top_up_key_packages().await.unwrap();
    assert_eq!(served(), second);
    alice
        .create_conversation("Still", &[user("bob")])
        .await
        .unwrap();
    bob.sync().await.unwrap();
    assert_eq!(bob.conversations().await.unwrap().len(), 1);
    drop(bob);
    assert_eq!(
        count("SELECT COUNT(*) FROM published_key_packages WHERE retired_at IS NOT NULL"),
        0
    );
    // A bundle fewer per suite: the first last-resort packages', deleted; and the one-time
    // package the invitation used, consumed by the join.
    assert_eq!(
        count("SELECT COUNT(*) FROM openmls_key_packages"),
        bundles_before - suites - 1
    );
}

/// A user's device this profile has not seen, next to one it has, is announced: in the
/// history of the conversation it joins, and as an event.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_known_users_new_device_is_announced() {
    use conclave_delivery_api::auth::{fresh_identity, headers, sign_request};
    use conclave_delivery_api::{AddDeviceRequest, paths};
    use conclave_protocol::{DeviceId, GroupConfig, Identity, MemberId};

    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("ds.sqlite")).await;
    let alice = client(dir.path(), "alice", &server).await;
    let bob = client(dir.path(), "bob", &server).await;
    start_conversation(&alice, "One", &[&bob]).await;
    let bob_first = bob.me().clone();
    drop(bob);

    // Bob's second device: a profile made by hand, registered by his first device.
    let second_dir = dir.path().join("bob-second");
    std::fs::create_dir_all(&second_dir).unwrap();
    let second = {
        let mut store =
            conclave_storage::Store::open(second_dir.join(conclave_client::PROFILE_FILE)).unwrap();
        let tx = store.transaction().unwrap();
        let member = MemberId::new(bob_first.user.clone(), DeviceId::new("second").unwrap());
        let identity =
            Identity::create(&tx.provider(), member, GroupConfig::default().ciphersuite).unwrap();
        tx.set_profile(&identity.record(), &server.url(), 0)
            .unwrap();
        tx.set_setting("registered", "1").unwrap();
        tx.commit().unwrap();
        identity
    };
    let first =
        conclave_storage::Store::open(dir.path().join("bob").join(conclave_client::PROFILE_FILE))
            .unwrap()
            .identity()
            .unwrap()
            .unwrap();
    let body = serde_json::to_vec(&AddDeviceRequest {
        device: "second".into(),
        signature_key: second.signature_public_key().to_vec().into(),
        ciphersuite: second.ciphersuite().code_point(),
    })
    .unwrap();
    let id = fresh_identity(bob_first.user.as_str(), bob_first.device.as_str());
    let mut request = reqwest::Client::new()
        .post(format!("{}{}", server.url(), paths::DEVICES))
        .body(body.clone());
    for (name, value) in sign_request(&first, "POST", paths::DEVICES, &body, &id).unwrap() {
        request = request.header(name, value);
    }
    let proof = sign_request(&second, "POST", paths::DEVICES, &body, &id).unwrap();
    let proof = proof
        .iter()
        .find(|(name, _)| *name == headers::SIGNATURE)
        .unwrap()
        .1
        .clone();
    let reply = request
        .header(headers::NEW_KEY_SIGNATURE, proof)
        .send()
        .await
        .unwrap();
    assert!(reply.status().is_success(), "{}", reply.status());
    let bob_second = conclave_client::Client::open_with(&second_dir, config())
        .await
        .unwrap();
    bob_second.sync().await.unwrap();

    // Alice starts another conversation with bob: both his devices join it.
    let mut events = alice.subscribe();
    let two = alice
        .create_conversation("Two", &[user("bob")])
        .await
        .unwrap();
    let announced = wait_for(&mut events, |e| {
        matches!(e, conclave_client::ClientEvent::NewDevice { .. })
    })
    .await;
    let conclave_client::ClientEvent::NewDevice { member, .. } = announced else {
        unreachable!()
    };
    assert_eq!(member.to_string(), "bob/second");
    let lines: Vec<String> = alice
        .history(two, None, 20)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.message.kind == MessageKind::Event)
        .map(|m| format!("{}: {}", m.message.sender, m.message.body))
        .collect();
    assert!(
        lines.contains(&"bob/second: bob has a new device".to_owned()),
        "{lines:?}"
    );
    assert_eq!(alice.members(two).await.unwrap().len(), 3);
}

/// A device removed from a group, and a registered stranger who learned the group's id and
/// epoch, post a commit (which, accepted, would move the server's epoch on for good and wedge
/// the group), a proposal and a message: the server refuses each, telling them nothing of
/// the group, and the members go on committing and chatting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_members_cannot_reach_a_group() {
    use conclave_delivery_api::{DeviceRef, Envelope, MessageKind as WireKind};
    use conclave_test_support::stand_in;

    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("ds.sqlite")).await;
    let alice = client(dir.path(), "alice", &server).await;
    let bob = client(dir.path(), "bob", &server).await;
    let mallory = client(dir.path(), "mallory", &server).await;
    let eve = client(dir.path(), "eve", &server).await;
    let (a, theirs) = start_conversation(&alice, "Team", &[&bob, &mallory]).await;
    let group_id = alice.conversation(a).await.unwrap().group_id;
    let members: Vec<DeviceRef> = [&alice, &bob]
        .iter()
        .map(|c| DeviceRef {
            user: c.me().user.to_string(),
            device: c.me().device.to_string(),
        })
        .collect();
    alice.remove(a, &user("mallory")).await.unwrap();
    bob.sync().await.unwrap();
    drop(mallory);
    drop(eve);

    // Mallory's profile still holds the group as it was before her removal: she sends a real
    // MLS message and a real commit from it.
    let open = |name: &str| {
        let profile = dir.path().join(name).join(conclave_client::PROFILE_FILE);
        let mut store = conclave_storage::Store::open(&profile).unwrap();
        let identity = store.identity().unwrap().unwrap();
        (store, identity)
    };
    let (mut store, mallory_id) = open("mallory");
    let (old_epoch, message, commit) = {
        let mut tx = store.transaction().unwrap();
        let g = tx.group(&group_id).unwrap();
        let epoch = g.group.epoch();
        let message = g
            .group
            .encrypt(&g.provider, &mallory_id, b"still here?")
            .unwrap();
        let commit = g.group.self_update(&g.provider, &mallory_id).unwrap();
        tx.commit().unwrap();
        (epoch, message, commit.commit)
    };
    let envelope = |epoch: u64, kind: WireKind, message: Vec<u8>| Envelope {
        group_id: group_id.as_bytes().to_vec().into(),
        epoch,
        kind,
        recipients: members.clone(),
        message: message.into(),
        welcome: None,
        removed: Vec::new(),
        link_token: None,
    };
    let current = authenticator(&alice, a).await.0;
    assert_eq!(current, old_epoch + 1);
    let mut attempts = vec![
        (
            &mallory_id,
            envelope(old_epoch, WireKind::Application, message),
        ),
        (&mallory_id, envelope(old_epoch, WireKind::Commit, commit)),
    ];
    // Messages framed for the current epoch, by her and by eve, who was never a member.
    let (_, eve_id) = open("eve");
    for identity in [&mallory_id, &eve_id] {
        for kind in [WireKind::Commit, WireKind::Proposal, WireKind::Application] {
            let forged = stand_in::message(group_id.as_bytes(), current, kind, b"x");
            attempts.push((identity, envelope(current, kind, forged)));
        }
    }
    for (identity, attempt) in &attempts {
        let (status, body) = post_envelope(&server, identity, attempt).await;
        assert_eq!(
            status,
            reqwest::StatusCode::FORBIDDEN,
            "{attempt:?}: {body}"
        );
        assert_eq!(body["error"], "forbidden");
        assert!(body.get("current_epoch").is_none(), "{body}");
    }

    // The members carry on: a commit, and messages both ways.
    alice.rotate_keys(a).await.unwrap();
    bob.send_text(theirs[0], "all good").await.unwrap();
    alice.sync().await.unwrap();
    alice.send_text(a, "yes").await.unwrap();
    bob.sync().await.unwrap();
    assert!(texts(&alice, a).await.contains(&"bob: all good".to_owned()));
    assert!(
        texts(&bob, theirs[0])
            .await
            .contains(&"alice: yes".to_owned())
    );
    assert_eq!(
        authenticator(&alice, a).await,
        authenticator(&bob, theirs[0]).await
    );
    assert_eq!(authenticator(&alice, a).await.0, current + 1);
}

/// Mallory, a member, adds a leaf in dave's name carrying a key of her own (a key package
/// she made herself, which the server would never have stored). Every other member checks
/// the leaf against the directory, refuses the commit, says so in the conversation, and
/// refuses it at the server; once most of them have, the server goes back to the epoch
/// before it, and the group goes on without it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leaf_in_another_users_name_is_refused_and_the_group_goes_on() {
    use conclave_delivery_api::{DeviceRef, Envelope, MessageKind as WireKind, WelcomeEnvelope};
    use conclave_protocol::{CipherSuite, GroupConfig, Identity, MemoryProvider};

    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("ds.sqlite")).await;
    let alice = client(dir.path(), "alice", &server).await;
    let bob = client(dir.path(), "bob", &server).await;
    let carol = client(dir.path(), "carol", &server).await;
    let mallory = client(dir.path(), "mallory", &server).await;
    let dave = client(dir.path(), "dave", &server).await;
    let (a, theirs) = start_conversation(&alice, "Team", &[&bob, &carol, &mallory]).await;
    let group_id = alice.conversation(a).await.unwrap().group_id;
    let before = authenticator(&alice, a).await;
    let device_ref = |m: &conclave_protocol::MemberId| DeviceRef {
        user: m.user.to_string(),
        device: m.device.to_string(),
    };
    let everyone: Vec<DeviceRef> = [&alice, &bob, &carol, &mallory]
        .iter()
        .map(|c| device_ref(c.me()))
        .collect();
    let daves_device = device_ref(dave.me());
    let forged = {
        let provider = MemoryProvider::default();
        let key = Identity::create(&provider, dave.me().clone(), CipherSuite::default()).unwrap();
        key.key_packages(&provider, &GroupConfig::default(), 1)
            .unwrap()
            .remove(0)
            .bytes
    };
    drop(mallory);

    let profile = dir
        .path()
        .join("mallory")
        .join(conclave_client::PROFILE_FILE);
    let mut store = conclave_storage::Store::open(&profile).unwrap();
    let mallory_id = store.identity().unwrap().unwrap();
    let bundle = {
        let mut tx = store.transaction().unwrap();
        let g = tx.group(&group_id).unwrap();
        let bundle = g
            .group
            .add_members(&g.provider, &mallory_id, &[forged])
            .unwrap();
        tx.commit().unwrap();
        bundle
    };
    let invitation = bundle.invitation.unwrap();
    let envelope = Envelope {
        group_id: group_id.as_bytes().to_vec().into(),
        epoch: bundle.epoch,
        kind: WireKind::Commit,
        recipients: everyone,
        message: bundle.commit.into(),
        welcome: Some(WelcomeEnvelope {
            recipients: vec![daves_device],
            message: invitation.welcome.into(),
            ratchet_tree: invitation.ratchet_tree.into(),
        }),
        removed: Vec::new(),
        link_token: None,
    };
    let (status, body) = post_envelope(&server, &mallory_id, &envelope).await;
    assert!(status.is_success(), "{body}");

    let others = [(&alice, a), (&bob, theirs[0]), (&carol, theirs[1])];
    for (member, conversation) in others {
        member.sync().await.unwrap();
        let members = member.members(conversation).await.unwrap();
        assert_eq!(members.len(), 4, "{:?}", members);
        assert!(members.iter().all(|m| m.id.user.as_str() != "dave"));
        assert_eq!(authenticator(member, conversation).await, before);
        let refused = member
            .history(conversation, None, 20)
            .await
            .unwrap()
            .into_iter()
            .find(|m| m.message.kind == MessageKind::Event && m.message.body.contains("refused"))
            .expect("a line saying what was refused");
        assert_eq!(refused.message.sender.user.as_str(), "mallory");
        assert!(
            refused.message.body.contains(&dave.me().to_string()),
            "{}",
            refused.message.body
        );
    }
    // Dave's Welcome opens nothing.
    dave.sync().await.unwrap();
    assert!(dave.conversations().await.unwrap().is_empty());

    // Two of the three refused it at the server, which went back to the epoch before it:
    // the members commit and chat from there.
    alice.rotate_keys(a).await.unwrap();
    bob.sync().await.unwrap();
    carol.sync().await.unwrap();
    bob.send_text(theirs[0], "on we go").await.unwrap();
    alice.sync().await.unwrap();
    assert!(texts(&alice, a).await.contains(&"bob: on we go".to_owned()));
    let after = authenticator(&alice, a).await;
    assert_eq!(after.0, before.0 + 1);
    assert_eq!(authenticator(&bob, theirs[0]).await, after);
    assert_eq!(authenticator(&carol, theirs[1]).await, after);
}

/// Mallory invites carol into a group whose tree has a leaf in bob's name with mallory's
/// key. Carol checks every leaf of the tree against the directory before joining, and
/// refuses the invitation, and can still be invited into a real group.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invitation_into_a_tree_with_a_forged_leaf_is_refused() {
    use conclave_client::ClientEvent;
    use conclave_delivery_api::{DeviceRef, Envelope, MessageKind as WireKind, WelcomeEnvelope};
    use conclave_protocol::{CipherSuite, Group, GroupConfig, Identity, MemoryProvider};

    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("ds.sqlite")).await;
    let alice = client(dir.path(), "alice", &server).await;
    let bob = client(dir.path(), "bob", &server).await;
    let carol = client(dir.path(), "carol", &server).await;
    let mallory = client(dir.path(), "mallory", &server).await;
    let device_ref = |m: &conclave_protocol::MemberId| DeviceRef {
        user: m.user.to_string(),
        device: m.device.to_string(),
    };
    let (bobs, carols, mallorys) = (
        device_ref(bob.me()),
        device_ref(carol.me()),
        device_ref(mallory.me()),
    );
    let config = GroupConfig::default();
    let forged = {
        let provider = MemoryProvider::default();
        let key = Identity::create(&provider, bob.me().clone(), CipherSuite::default()).unwrap();
        key.key_packages(&provider, &config, 1)
            .unwrap()
            .remove(0)
            .bytes
    };
    drop(carol);
    drop(mallory);
    let open = |name: &str| {
        let profile = dir.path().join(name).join(conclave_client::PROFILE_FILE);
        let mut store = conclave_storage::Store::open(&profile).unwrap();
        let identity = store.identity().unwrap().unwrap();
        (store, identity)
    };
    let carols_package = {
        let (mut store, identity) = open("carol");
        let tx = store.transaction().unwrap();
        let package = identity
            .key_packages(&tx.provider(), &config, 1)
            .unwrap()
            .remove(0);
        tx.commit().unwrap();
        package.bytes
    };
    let (mut store, mallory_id) = open("mallory");
    let (group_id, bundle) = {
        let tx = store.transaction().unwrap();
        let mut group = Group::create(&tx.provider(), &mallory_id, &config, "Trap").unwrap();
        let bundle = group
            .add_members(&tx.provider(), &mallory_id, &[forged, carols_package])
            .unwrap();
        tx.commit().unwrap();
        (group.id(), bundle)
    };
    let invitation = bundle.invitation.unwrap();
    let envelope = Envelope {
        group_id: group_id.as_bytes().to_vec().into(),
        epoch: bundle.epoch,
        kind: WireKind::Commit,
        recipients: vec![mallorys],
        message: bundle.commit.into(),
        welcome: Some(WelcomeEnvelope {
            recipients: vec![bobs, carols],
            message: invitation.welcome.into(),
            ratchet_tree: invitation.ratchet_tree.into(),
        }),
        removed: Vec::new(),
        link_token: None,
    };
    let (status, body) = post_envelope(&server, &mallory_id, &envelope).await;
    assert!(status.is_success(), "{body}");

    let carol = reopen(dir.path(), "carol").await;
    let mut events = carol.subscribe();
    carol.sync().await.unwrap();
    let refused = wait_for(&mut events, |e| {
        matches!(e, ClientEvent::Error { message } if message.contains("refused an invitation"))
    })
    .await;
    let ClientEvent::Error { message } = refused else {
        unreachable!()
    };
    assert!(
        message.contains("mallory") && message.contains(&bob.me().to_string()),
        "{message}"
    );
    assert!(carol.conversations().await.unwrap().is_empty());
    // Carol is still invitable: a real invitation works.
    alice
        .create_conversation("Real", &[user("carol")])
        .await
        .unwrap();
    carol.sync().await.unwrap();
    assert_eq!(carol.conversations().await.unwrap().len(), 1);
}

/// An invitation from someone this profile has never talked to is a request: nothing is
/// sent to its group (no message, no commit, no key rotation) until the user accepts it;
/// declining leaves. An invitation from someone known opens as usual.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invitation_from_a_stranger_waits_for_the_users_yes() {
    use conclave_client::ClientEvent;

    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("ds.sqlite")).await;
    let alice = client(dir.path(), "alice", &server).await;
    let bob = client(dir.path(), "bob", &server).await;
    let carol = client(dir.path(), "carol", &server).await;
    let mallory = client(dir.path(), "mallory", &server).await;

    let mut bobs_events = bob.subscribe();
    let m = mallory
        .create_conversation("Free prizes", &[user("bob"), user("carol")])
        .await
        .unwrap();
    bob.sync().await.unwrap();
    let request = wait_for(&mut bobs_events, |e| {
        matches!(e, ClientEvent::InvitationRequest { .. })
    })
    .await;
    let ClientEvent::InvitationRequest { conversation, from } = request else {
        unreachable!()
    };
    assert_eq!(from, *mallory.me());
    assert!(bob.conversation(conversation).await.unwrap().request);
    // Nothing goes out: no message, no commit; the scheduled rotation skips it too.
    let epoch = authenticator(&mallory, m).await;
    assert!(matches!(
        bob.send_text(conversation, "who are you?").await,
        Err(ClientError::NotAccepted)
    ));
    for refused in [
        bob.rename(conversation, "Mine").await,
        bob.rotate_keys(conversation).await,
        bob.invite(conversation, &user("alice")).await,
    ] {
        assert!(
            matches!(refused, Err(ClientError::NotAccepted)),
            "{refused:?}"
        );
    }
    assert_eq!(
        bob.message_count(conversation).await.unwrap(),
        1,
        "only 'mallory added you'"
    );
    mallory.sync().await.unwrap();
    assert_eq!(
        authenticator(&mallory, m).await,
        epoch,
        "bob committed nothing"
    );
    assert!(
        texts(&mallory, m).await.is_empty(),
        "bob sent nothing: {:?}",
        texts(&mallory, m).await
    );
    // What arrives is still read, so accepting later finds the conversation up to date.
    mallory.send_text(m, "you won!").await.unwrap();
    bob.sync().await.unwrap();
    assert!(
        texts(&bob, conversation)
            .await
            .contains(&"mallory: you won!".to_owned())
    );
    bob.accept(conversation).await.unwrap();
    assert!(!bob.conversation(conversation).await.unwrap().request);
    bob.send_text(conversation, "no thanks").await.unwrap();
    mallory.sync().await.unwrap();
    assert!(
        texts(&mallory, m)
            .await
            .contains(&"bob: no thanks".to_owned())
    );

    // Carol declines: she leaves, and nothing else of hers reaches the group.
    carol.sync().await.unwrap();
    let carols = carol.conversations().await.unwrap()[0].conversation.id;
    assert!(carol.conversation(carols).await.unwrap().request);
    carol.decline(carols).await.unwrap();
    mallory.sync().await.unwrap();
    carol.sync().await.unwrap();
    assert!(carol.conversation(carols).await.unwrap().left_at.is_some());
    assert_eq!(mallory.members(m).await.unwrap().len(), 2);

    // Bob has talked with mallory now, never with alice: alice's invitation is a request,
    // mallory's next one opens as usual.
    let a = alice
        .create_conversation("Lunch", &[user("bob")])
        .await
        .unwrap();
    let again = mallory
        .create_conversation("Second", &[user("bob")])
        .await
        .unwrap();
    bob.sync().await.unwrap();
    let from_alice = same_group(&bob, &alice, a).await;
    let from_mallory = same_group(&bob, &mallory, again).await;
    assert!(bob.conversation(from_alice).await.unwrap().request);
    assert!(!bob.conversation(from_mallory).await.unwrap().request);
}

/// The operator keeps a copy of an earlier commit of alice's (one she made, then dropped as
/// a commit the server refused), and queues it to her as the echo of the commit she has
/// pending now (as when the server's answer to it was lost). It names her leaf, but it is
/// not the commit she sent: she does not merge her pending one on its word, and stays in
/// step with bob.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_echo_of_an_own_commit_does_not_merge() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ds.sqlite");
    let server = TestServer::start(&db).await;
    let addr = server.addr;
    let alice = client(dir.path(), "alice", &server).await;
    let bob = client(dir.path(), "bob", &server).await;
    let (a, theirs) = start_conversation(&alice, "Team", &[&bob]).await;
    let group_id = alice.conversation(a).await.unwrap().group_id;
    let before = authenticator(&alice, a).await;
    drop(alice);

    let (earlier, epoch) = {
        let profile = dir.path().join("alice").join(conclave_client::PROFILE_FILE);
        let mut store = conclave_storage::Store::open(&profile).unwrap();
        let identity = store.identity().unwrap().unwrap();
        let mut tx = store.transaction().unwrap();
        let g = tx.group(&group_id).unwrap();
        let earlier = g.group.self_update(&g.provider, &identity).unwrap();
        g.group.discard_pending_commit(&g.provider).unwrap();
        g.group.self_update(&g.provider, &identity).unwrap(); // pending, its answer lost
        tx.commit().unwrap();
        (earlier.commit, earlier.epoch)
    };
    server.stop().await;
    {
        let ds = ds(&db);
        ds.execute(
            &format!(
                "INSERT INTO messages (sender_device, kind, group_id, epoch, message, created_at,
                                       refs)
                 VALUES ({DEVICE_OF}, 'commit', ?2, ?3, ?4, unixepoch(), 1)"
            ),
            rusqlite::params!["alice", group_id.as_bytes(), epoch as i64, earlier],
        )
        .unwrap();
        let message = ds.last_insert_rowid();
        ds.execute(
            &format!(
                "INSERT INTO queue (device_id, seq, message_id)
                 SELECT d.id, MAX(d.last_seq, COALESCE((SELECT MAX(seq) FROM queue
                                                        WHERE device_id = d.id), 0)) + 1, ?2
                 FROM devices d WHERE d.id = {DEVICE_OF}"
            ),
            rusqlite::params!["alice", message],
        )
        .unwrap();
    }
    let server = TestServer::start_at(&db, addr).await;
    let alice = reopen(dir.path(), "alice").await;
    assert_eq!(
        alice.sync().await.unwrap(),
        1,
        "the forged echo was applied"
    );
    assert_eq!(
        authenticator(&alice, a).await,
        before,
        "alice merged nothing"
    );

    bob.send_text(theirs[0], "still with me?").await.unwrap();
    alice.sync().await.unwrap();
    assert!(
        texts(&alice, a)
            .await
            .contains(&"bob: still with me?".to_owned())
    );
    alice.rotate_keys(a).await.unwrap();
    bob.sync().await.unwrap();
    assert_eq!(
        authenticator(&alice, a).await,
        authenticator(&bob, theirs[0]).await
    );
    drop(server);
}
