//! One user, several devices, through a real delivery service on 127.0.0.1: linking a new
//! device with a code (its conversations and history), its messages as its user's, and
//! revoking it.

mod support;

use std::time::Duration;

use conclave_client::link::{LinkCode, LinkProgress, PendingLink};
use conclave_client::{Client, ClientError, ClientEvent, ConversationId, MessageKind};
use support::*;

const WAIT: Duration = Duration::from_secs(30);

/// A device waiting to be linked in `dir/name`, its code valid for `lifetime`.
async fn new_device(
    dir: &std::path::Path,
    name: &str,
    server: &TestServer,
    lifetime: Duration,
) -> PendingLink {
    PendingLink::start(
        &dir.join(name),
        &server.url(),
        Some(name),
        lifetime,
        config(),
    )
    .await
    .unwrap()
}

/// Links a new device for `approver`'s user in `dir/name`, both sides at once.
async fn link(approver: &Client, dir: &std::path::Path, name: &str, server: &TestServer) -> Client {
    let pending = new_device(dir, name, server, WAIT).await;
    let code = LinkCode::parse(&pending.code()).unwrap();
    assert_eq!(code.fingerprint(), pending.fingerprint());
    let new_device = tokio::spawn(pending.complete(WAIT, |_| {}));
    let report = approver.approve_link(&code, WAIT, |_| {}).await.unwrap();
    assert_eq!(report.device, name);
    new_device.await.unwrap().unwrap()
}

/// Every message of a conversation, oldest first, as `user/device: body` (events too).
/// The message with text `body`: its reactions, who read it, and its earlier texts.
async fn annotated(
    client: &Client,
    conversation: ConversationId,
    body: &str,
) -> (Vec<(String, String)>, Vec<String>, Vec<String>) {
    let history = client.history(conversation, None, 100).await.unwrap();
    let message = history
        .into_iter()
        .find(|m| m.message.body == body)
        .unwrap_or_else(|| panic!("no message {body:?}"));
    let mut annotations = client
        .annotations(conversation, std::slice::from_ref(&message))
        .await
        .unwrap();
    let a = annotations.remove(0);
    let versions = a.versions.into_iter().map(|v| v.body).collect();
    (a.reactions, a.read_by, versions)
}

async fn lines(client: &Client, conversation: ConversationId) -> Vec<String> {
    let mut messages = client.history(conversation, None, 10_000).await.unwrap();
    messages.reverse();
    messages
        .into_iter()
        .filter(|m| m.message.kind == MessageKind::Text)
        .map(|m| format!("{}: {}", m.message.sender, m.message.body))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_linked_device_has_the_history_speaks_as_its_user_and_can_be_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("ds.sqlite")).await;
    let alice = client(dir.path(), "alice", &server).await;
    let bob = client(dir.path(), "bob", &server).await;

    // Alice talks to bob in two conversations, and verified bob's key.
    let (plans, bob_plans) = start_conversation(&alice, "Plans", &[&bob]).await;
    let (trip, bob_trip) = start_conversation(&alice, "Trip", &[&bob]).await;
    let (plans_bob, trip_bob) = (bob_plans[0], bob_trip[0]);
    for i in 0..5 {
        alice.send_text(plans, &format!("plan {i}")).await.unwrap();
        bob.sync().await.unwrap();
        bob.send_text(plans_bob, &format!("ok {i}")).await.unwrap();
        alice.sync().await.unwrap();
    }
    bob.send_text(trip_bob, "where to?").await.unwrap();
    alice.sync().await.unwrap();
    alice.send_text(trip, "the sea").await.unwrap();
    alice.verify(&user("bob")).await.unwrap();
    // Alice edits it; bob reacts to it and reads it.
    let newest = |client: &Client, id: ConversationId| {
        let client = client.clone();
        async move { client.history(id, None, 1).await.unwrap()[0].id }
    };
    let sea = newest(&alice, trip).await;
    alice
        .edit(trip, sea, "the sea, or the hills")
        .await
        .unwrap();
    bob.sync().await.unwrap();
    let sea_bob = newest(&bob, trip_bob).await;
    bob.react(trip_bob, sea_bob, "🌊").await.unwrap();
    bob.mark_read(trip_bob, sea_bob).await.unwrap();
    alice.sync().await.unwrap();
    let annotated_before = annotated(&alice, trip, "the sea, or the hills").await;
    assert_eq!(
        annotated_before,
        (
            vec![("bob".to_owned(), "🌊".to_owned())],
            vec!["bob".to_owned()],
            vec!["the sea".to_owned()]
        )
    );

    // Device 2 links.
    let mut progress = Vec::new();
    let pending = PendingLink::start(
        &dir.path().join("alice2"),
        &server.url(),
        Some("desktop"),
        WAIT,
        config(),
    )
    .await
    .unwrap();
    let code = LinkCode::parse(&pending.code()).unwrap();
    let (done, seen) = tokio::sync::mpsc::unbounded_channel();
    let new_device = tokio::spawn(pending.complete(WAIT, move |p| {
        let _ = done.send(p);
    }));
    let report = alice.approve_link(&code, WAIT, |_| {}).await.unwrap();
    assert_eq!(report.conversations, 2);
    let alice2 = new_device.await.unwrap().unwrap();
    let mut seen = seen;
    while let Ok(p) = seen.try_recv() {
        progress.push(p);
    }
    assert!(progress.contains(&LinkProgress::Joined { conversations: 2 }));
    assert_eq!(progress.last(), Some(&LinkProgress::Done));
    assert_eq!(alice2.me().to_string(), "alice/desktop");

    // Both conversations, with all their history: texts, senders, order.
    let plans2 = same_group(&alice2, &alice, plans).await;
    let trip2 = same_group(&alice2, &alice, trip).await;
    assert_eq!(lines(&alice2, plans2).await, lines(&alice, plans).await);
    assert_eq!(lines(&alice2, trip2).await, lines(&alice, trip).await);
    assert_eq!(lines(&alice2, plans2).await.len(), 10);
    assert!(lines(&alice2, plans2).await[0].starts_with("alice/"));
    // The verified mark came along.
    let bob_known = alice2
        .known_devices()
        .await
        .unwrap()
        .into_iter()
        .find(|d| d.member.user.as_str() == "bob")
        .expect("bob is known");
    assert!(bob_known.verified);
    // The edit, the reaction and the read receipt came along.
    assert_eq!(
        annotated(&alice2, trip2, "the sea, or the hills").await,
        annotated_before
    );
    // Search finds the imported history (the latest text).
    assert_eq!(alice2.search("hills", 10).await.unwrap().len(), 1);
    // Bob was told.
    bob.sync().await.unwrap();
    let bob_history = bob.history(plans_bob, None, 100).await.unwrap();
    assert!(
        bob_history
            .iter()
            .any(|m| m.message.body == "alice has a new device"),
        "bob sees the new device"
    );

    // Bob's next message reaches both of alice's devices.
    bob.send_text(plans_bob, "to both of you").await.unwrap();
    alice.sync().await.unwrap();
    alice2.sync().await.unwrap();
    for (client, id) in [(&alice, plans), (&alice2, plans2)] {
        assert_eq!(
            lines(client, id).await.last().unwrap(),
            &format!("{}: to both of you", bob.me())
        );
    }

    // Device 2 writes; bob and device 1 see it as alice's (on the desktop), and for device 1
    // it is not unread: it is alice's own.
    let unread = |client: &Client, id: ConversationId| {
        let client = client.clone();
        async move {
            client
                .conversations()
                .await
                .unwrap()
                .into_iter()
                .find(|c| c.conversation.id == id)
                .unwrap()
                .unread
        }
    };
    let unread_before = unread(&alice, trip).await;
    alice2.send_text(trip2, "from my desktop").await.unwrap();
    bob.sync().await.unwrap();
    alice.sync().await.unwrap();
    assert_eq!(unread(&alice, trip).await, unread_before);
    for (client, id) in [(&bob, trip_bob), (&alice, trip)] {
        assert_eq!(
            lines(client, id).await.last().unwrap(),
            "alice/desktop: from my desktop"
        );
    }
    // A conversation made on one device appears on the other.
    let (news, _) = start_conversation(&alice, "News", &[&bob]).await;
    alice2.sync().await.unwrap();
    let news2 = same_group(&alice2, &alice, news).await;
    assert_eq!(alice2.conversation(news2).await.unwrap().name, "News");

    // Listing and revoking.
    let devices = alice.devices().await.unwrap();
    let names: Vec<(&str, bool)> = devices
        .iter()
        .map(|d| (d.device.as_str(), d.this_device))
        .collect();
    assert!(names.contains(&("desktop", false)));
    assert!(names.contains(&(alice.me().device.as_str(), true)));
    let mut alice2_events = alice2.subscribe();
    assert_eq!(alice.revoke_device("desktop").await.unwrap(), 3);
    assert!(matches!(alice2.sync().await, Err(ClientError::Revoked)));
    wait_for(&mut alice2_events, |e| {
        matches!(e, ClientEvent::DeviceRevoked)
    })
    .await;
    assert!(alice2.is_revoked().await.unwrap());
    for c in alice2.conversations().await.unwrap() {
        assert!(c.conversation.left_at.is_some(), "its groups are gone");
    }
    assert!(matches!(
        alice2.send_text(plans2, "still here?").await,
        Err(ClientError::NotAMember)
    ));
    drop(alice2);
    let packages: i64 = rusqlite::Connection::open(
        dir.path()
            .join("alice2")
            .join(conclave_client::PROFILE_FILE),
    )
    .unwrap()
    .query_row("SELECT COUNT(*) FROM published_key_packages", [], |r| {
        r.get(0)
    })
    .unwrap();
    assert_eq!(packages, 0, "its key packages' private keys are gone too");
    assert!(
        !alice
            .devices()
            .await
            .unwrap()
            .iter()
            .any(|d| d.device == "desktop")
    );

    // Bob removed nothing he should not have: alice's first device is still there, and
    // everyone left agrees on each group's state.
    bob.sync().await.unwrap();
    alice.sync().await.unwrap();
    for (a, b) in [(plans, plans_bob), (trip, trip_bob)] {
        let members: Vec<String> = bob
            .members(b)
            .await
            .unwrap()
            .iter()
            .map(|m| m.id.to_string())
            .collect();
        assert_eq!(members.len(), 2, "{members:?}");
        assert!(members.contains(&alice.me().to_string()));
        assert_eq!(authenticator(&alice, a).await, authenticator(&bob, b).await);
        let history = bob.history(b, None, 100).await.unwrap();
        assert!(
            history
                .iter()
                .any(|m| m.message.body == "alice removed a device (desktop)"),
            "bob is told"
        );
    }
    bob.send_text(plans_bob, "after the revocation")
        .await
        .unwrap();
    alice.sync().await.unwrap();
    assert_eq!(
        lines(&alice, plans).await.last().unwrap(),
        &format!("{}: after the revocation", bob.me())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_code_is_single_use_checked_and_expires() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("ds.sqlite")).await;
    let alice = client(dir.path(), "alice", &server).await;
    let carol = client(dir.path(), "carol", &server).await;
    let phone = link(&alice, dir.path(), "phone", &server).await;

    // The code of a linked device: used. Neither alice again nor another user can take it.
    let pending = new_device(dir.path(), "tablet", &server, WAIT).await;
    let code = LinkCode::parse(&pending.code()).unwrap();
    let tablet = tokio::spawn(pending.complete(WAIT, |_| {}));
    alice.approve_link(&code, WAIT, |_| {}).await.unwrap();
    tablet.await.unwrap().unwrap();
    for approver in [&alice, &phone, &carol] {
        let again = approver
            .approve_link(&code, Duration::from_secs(2), |_| {})
            .await;
        assert!(
            matches!(again, Err(ClientError::LinkFailed(_))),
            "{}: {again:?}",
            approver.me()
        );
    }
    // Carol did not gain alice's device.
    assert!(carol.devices().await.unwrap().len() == 1);

    // A mistyped code fails before anything is sent.
    let text = code.to_text();
    let other = if &text[30..31] == "x" { "y" } else { "x" };
    let typo = format!("{}{other}{}", &text[..30], &text[31..]);
    assert!(matches!(
        LinkCode::parse(&typo),
        Err(ClientError::InvalidLinkCode(_))
    ));

    // A code nobody approves expires on the new device, which keeps nothing; an approval
    // after that is refused on the approving device.
    let short = new_device(dir.path(), "laptop", &server, Duration::from_secs(1)).await;
    let late = LinkCode::parse(&short.code()).unwrap();
    let outcome = short.complete(WAIT, |_| {}).await;
    assert!(
        matches!(outcome, Err(ClientError::LinkFailed(_))),
        "{outcome:?}"
    );
    assert!(!dir.path().join("laptop").join("profile.sqlite").exists());
    assert!(matches!(
        alice.approve_link(&late, WAIT, |_| {}).await,
        Err(ClientError::LinkFailed(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_approval_is_taken_up_again_by_the_same_device() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("ds.sqlite")).await;
    let alice = client(dir.path(), "alice", &server).await;
    let bob = client(dir.path(), "bob", &server).await;
    let (plans, _) = start_conversation(&alice, "Plans", &[&bob]).await;
    alice.send_text(plans, "before the link").await.unwrap();

    let pending = new_device(dir.path(), "desktop", &server, WAIT).await;
    let code = LinkCode::parse(&pending.code()).unwrap();
    // The new device is not listening yet: the approval gives up waiting for it.
    let first = alice
        .approve_link(&code, Duration::from_millis(500), |_| {})
        .await;
    assert!(
        matches!(first, Err(ClientError::LinkFailed(_))),
        "{first:?}"
    );
    // The same device approves again: it takes its approval up, and the link completes.
    let new_device = tokio::spawn(pending.complete(WAIT, |_| {}));
    let report = alice.approve_link(&code, WAIT, |_| {}).await.unwrap();
    assert_eq!(report.conversations, 1);
    let desktop = new_device.await.unwrap().unwrap();
    let plans2 = same_group(&desktop, &alice, plans).await;
    assert_eq!(
        lines(&desktop, plans2).await,
        vec![format!("{}: before the link", alice.me())]
    );
    // Done: a third approval is refused at once.
    assert!(matches!(
        alice.approve_link(&code, WAIT, |_| {}).await,
        Err(ClientError::LinkFailed(_))
    ));
}
