//! Roles inside MLS, over a real delivery service on 127.0.0.1: the creator is the first
//! admin; admins promote and demote; what the policy keeps for admins is refused by the
//! member's own client and, when a modified client forces it through, by every other
//! member, after which the group goes on from the epoch before it, all agreeing.

mod support;

use conclave_client::{Action, ClientError, MessageKind, Role};
use conclave_delivery_api::{DeviceRef, Envelope, MessageKind as WireKind};
use support::*;

/// Admins as the members panel shows them.
async fn admins(
    client: &conclave_client::Client,
    id: conclave_client::ConversationId,
) -> Vec<String> {
    let mut admins: Vec<String> = client
        .members(id)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.admin)
        .map(|m| m.id.user.to_string())
        .collect();
    admins.dedup();
    admins
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_promote_and_demote_and_the_rest_are_refused_by_their_own_client() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("ds.sqlite")).await;
    let alice = client(dir.path(), "alice", &server).await;
    let bob = client(dir.path(), "bob", &server).await;
    let carol = client(dir.path(), "carol", &server).await;
    let (a, theirs) = start_conversation(&alice, "Board", &[&bob, &carol]).await;
    let (b, c) = (theirs[0], theirs[1]);

    let policy = bob
        .policy(b)
        .await
        .unwrap()
        .expect("a new group has a policy");
    assert_eq!(policy.admins.len(), 1);
    assert!(policy.is_admin(&user("alice")));
    assert_eq!(policy.role_for(Action::Remove), Role::Admin);
    assert_eq!(policy.role_for(Action::Add), Role::Member);
    assert_eq!(admins(&carol, c).await, vec!["alice"]);

    // Bob is no admin: his client refuses, before anything is sent.
    for refused in [
        bob.remove(b, &user("carol")).await,
        bob.promote(b, &user("bob")).await,
        bob.demote(b, &user("alice")).await,
    ] {
        assert!(
            matches!(refused, Err(ClientError::NotPermitted(_))),
            "{refused:?}"
        );
    }
    // The last admin cannot step down.
    assert!(matches!(
        alice.demote(a, &user("alice")).await,
        Err(ClientError::NotPermitted(_))
    ));

    alice.promote(a, &user("bob")).await.unwrap();
    bob.sync().await.unwrap();
    carol.sync().await.unwrap();
    assert_eq!(admins(&carol, c).await, vec!["alice", "bob"]);
    let lines: Vec<String> = carol
        .history(c, None, 50)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.message.kind == MessageKind::Event)
        .map(|m| m.message.body)
        .collect();
    assert!(
        lines.iter().any(|l| l == "alice made bob admin"),
        "{lines:?}"
    );
    // Now he may; and he demotes alice, who is then refused in turn.
    bob.demote(b, &user("alice")).await.unwrap();
    alice.sync().await.unwrap();
    assert!(matches!(
        alice.remove(a, &user("carol")).await,
        Err(ClientError::NotPermitted(_))
    ));
    bob.remove(b, &user("carol")).await.unwrap();
    alice.sync().await.unwrap();
    carol.sync().await.unwrap();
    assert_eq!(admins(&alice, a).await, vec!["bob"]);
    assert!(carol.conversation(c).await.unwrap().left_at.is_some());
    assert_eq!(authenticator(&alice, a).await, authenticator(&bob, b).await);
    server.stop().await;
}

/// Dave, who is no admin, forces a removal of carol through a client that skips the check.
/// Every other member refuses the commit (the same check of the same data), says so in the
/// conversation, and tells the server, which goes back to the epoch before it; the group
/// goes on, all agreeing, and an admin removes dave.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forced_removal_by_a_member_is_refused_by_everyone_and_the_group_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("ds.sqlite")).await;
    let alice = client(dir.path(), "alice", &server).await;
    let bob = client(dir.path(), "bob", &server).await;
    let carol = client(dir.path(), "carol", &server).await;
    let dave = client(dir.path(), "dave", &server).await;
    let (a, theirs) = start_conversation(&alice, "Club", &[&bob, &carol, &dave]).await;
    let group_id = alice.conversation(a).await.unwrap().group_id;
    let before = authenticator(&alice, a).await;
    let everyone = devices_of(&[&alice, &bob, &carol, &dave]);
    drop(dave);

    // Dave's modified client: the removal made straight from his profile's group.
    let profile = dir.path().join("dave").join(conclave_client::PROFILE_FILE);
    let (envelope, daves_identity) = {
        let mut store = conclave_storage::Store::open(&profile).unwrap();
        let identity = store.identity().unwrap().unwrap();
        let mut tx = store.transaction().unwrap();
        let g = tx.group(&group_id).unwrap();
        assert!(!g.group.permits(&user("dave"), Action::Remove).unwrap());
        let bundle = g
            .group
            .remove_user(&g.provider, &identity, &user("carol"))
            .unwrap();
        tx.commit().unwrap();
        let envelope = Envelope {
            group_id: group_id.as_bytes().to_vec().into(),
            epoch: bundle.epoch,
            kind: WireKind::Commit,
            recipients: everyone.clone(),
            message: bundle.commit.into(),
            welcome: None,
            removed: bundle
                .removed
                .iter()
                .map(|m| DeviceRef {
                    user: m.user.to_string(),
                    device: m.device.to_string(),
                })
                .collect(),
            link_token: None,
        };
        (envelope, identity)
    };
    let (status, body) = post_envelope(&server, &daves_identity, &envelope).await;
    assert!(status.is_success(), "the server cannot tell: {body}");

    let others = [(&alice, a), (&bob, theirs[0]), (&carol, theirs[1])];
    for (member, conversation) in others {
        member.sync().await.unwrap();
        assert_eq!(member.members(conversation).await.unwrap().len(), 4);
        assert!(
            member
                .conversation(conversation)
                .await
                .unwrap()
                .left_at
                .is_none()
        );
        assert_eq!(authenticator(member, conversation).await, before);
        let refused = member
            .history(conversation, None, 30)
            .await
            .unwrap()
            .into_iter()
            .find(|m| m.message.kind == MessageKind::Event && m.message.body.contains("refused"))
            .expect("a line saying what was refused");
        assert_eq!(refused.message.sender.user.as_str(), "dave");
        assert!(
            refused
                .message
                .body
                .contains("only admins may remove members (carol)"),
            "{}",
            refused.message.body
        );
    }

    // The server went back; the group goes on from the epoch before, and alice, an admin,
    // removes dave.
    alice.remove(a, &user("dave")).await.unwrap();
    bob.sync().await.unwrap();
    carol.sync().await.unwrap();
    carol.send_text(theirs[1], "still here").await.unwrap();
    alice.sync().await.unwrap();
    bob.sync().await.unwrap();
    assert!(
        texts(&bob, theirs[0])
            .await
            .contains(&"carol: still here".to_owned())
    );
    let after = authenticator(&alice, a).await;
    assert_eq!(after.0, before.0 + 1);
    assert_eq!(authenticator(&bob, theirs[0]).await, after);
    assert_eq!(authenticator(&carol, theirs[1]).await, after);
    assert_eq!(alice.members(a).await.unwrap().len(), 3);
    server.stop().await;
}

/// The last admin leaves: the longest-standing member (the lowest leaf) takes over, and
/// everyone agrees who that is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_the_last_admin_leaves_the_longest_standing_member_takes_over() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("ds.sqlite")).await;
    let alice = client(dir.path(), "alice", &server).await;
    let bob = client(dir.path(), "bob", &server).await;
    let carol = client(dir.path(), "carol", &server).await;
    let (a, theirs) = start_conversation(&alice, "Relay", &[&bob, &carol]).await;
    let (b, c) = (theirs[0], theirs[1]);
    alice.leave(a).await.unwrap();
    // Bob's sync commits alice's leave (or carol's does); the next ones see who took over.
    for _ in 0..3 {
        bob.sync().await.unwrap();
        carol.sync().await.unwrap();
    }
    let heir = admins(&bob, b).await;
    assert_eq!(heir.len(), 1, "{heir:?}");
    assert_eq!(admins(&carol, c).await, heir);
    assert!(heir[0] == "bob" || heir[0] == "carol");
    assert_eq!(authenticator(&bob, b).await, authenticator(&carol, c).await);
    // And the heir may do what admins do.
    let (heir_client, heir_id, other) = if heir[0] == "bob" {
        (&bob, b, "carol")
    } else {
        (&carol, c, "bob")
    };
    heir_client.promote(heir_id, &user(other)).await.unwrap();
    server.stop().await;
}

/// Bob asks to leave while alice, whose place it is to commit that (the lowest leaf), is
/// offline: carol waits the configured delay, then commits it herself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leave_the_designated_committer_never_commits_is_committed_after_a_delay() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("ds.sqlite")).await;
    let alice = client(dir.path(), "alice", &server).await;
    let bob = client(dir.path(), "bob", &server).await;
    let mut patient = config();
    patient.leave_commit_delay = std::time::Duration::from_millis(300);
    let carol = conclave_client::Client::create_with(
        &dir.path().join("carol"),
        "carol",
        &server.url(),
        patient,
    )
    .await
    .unwrap();
    let (_, theirs) = start_conversation(&alice, "Waiting", &[&bob, &carol]).await;
    let (b, c) = (theirs[0], theirs[1]);
    drop(alice); // offline from here on
    bob.leave(b).await.unwrap();
    carol.sync().await.unwrap();
    assert_eq!(carol.members(c).await.unwrap().len(), 3, "not hers yet");
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    carol.sync().await.unwrap();
    assert_eq!(
        carol.members(c).await.unwrap().len(),
        2,
        "committed after the delay"
    );
    bob.sync().await.unwrap();
    assert!(bob.conversation(b).await.unwrap().left_at.is_some());
    server.stop().await;
}
