//! Rich conversations over a real delivery service on 127.0.0.1: replies, reactions, edits,
//! deletes, read and delivery receipts and disappearing messages, in both directions, with the rules
//! every receiver enforces against the authenticated sender.

mod support;

use std::time::Duration;

use conclave_client::content::message::{Body, Message};
use conclave_client::content::{MessageId as MimiId, write};
use conclave_client::{Client, ClientError, ClientEvent, ConversationId, MessageId, Quote};
use conclave_delivery_api::{DeviceRef, Envelope, MessageKind as WireKind};
use support::*;

/// The newest message of a conversation whose text is `body`.
async fn find(client: &Client, conversation: ConversationId, body: &str) -> MessageId {
    client
        .history(conversation, None, 1000)
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.message.body == body)
        .unwrap_or_else(|| panic!("{} has no message {body:?}", client.me()))
        .id
}

/// A message's reactions as `user emoji`, and its quoted reply.
async fn around(
    client: &Client,
    conversation: ConversationId,
    message: MessageId,
) -> (Vec<String>, Option<Quote>, Vec<String>) {
    let stored = client.message(message).await.unwrap().unwrap();
    let a = client
        .annotations(conversation, &[stored])
        .await
        .unwrap()
        .remove(0);
    (
        a.reactions
            .into_iter()
            .map(|(user, emoji)| format!("{user} {emoji}"))
            .collect(),
        a.reply,
        a.read_by,
    )
}

/// Sends `message` into `conversation`'s group as `name` would, bypassing its client's
/// checks: what a modified client (a hostile member) can do. The client must be closed.
async fn send_as_member(
    dir: &std::path::Path,
    name: &str,
    server: &TestServer,
    group_id: &conclave_protocol::GroupId,
    message: &Message,
) {
    let profile = dir.join(name).join(conclave_client::PROFILE_FILE);
    let (envelope, identity) = {
        let mut store = conclave_storage::Store::open(&profile).unwrap();
        let identity = store.identity().unwrap().unwrap();
        let mut tx = store.transaction().unwrap();
        let g = tx.group(group_id).unwrap();
        let me = identity.member().clone();
        let recipients = g
            .group
            .members()
            .unwrap()
            .into_iter()
            .filter(|m| m.id != me)
            .map(|m| DeviceRef {
                user: m.id.user.to_string(),
                device: m.id.device.to_string(),
            })
            .collect();
        let (_, bytes) = write(message, me.user.as_str(), group_id.as_bytes());
        let ciphertext = g.group.encrypt(&g.provider, &identity, &bytes).unwrap();
        let epoch = g.group.epoch();
        tx.commit().unwrap();
        (
            Envelope {
                group_id: group_id.as_bytes().to_vec().into(),
                epoch,
                kind: WireKind::Application,
                recipients,
                message: ciphertext.into(),
                welcome: None,
                removed: Vec::new(),
                link_token: None,
            },
            identity,
        )
    };
    let (status, body) = post_envelope(server, &identity, &envelope).await;
    assert!(status.is_success(), "{status} {body}");
}

/// The MIMI id of a stored message.
async fn mimi_id(client: &Client, message: MessageId) -> MimiId {
    let uid = client.message(message).await.unwrap().unwrap().message.uid;
    MimiId(uid.try_into().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_reactions_edits_and_deletes_reach_every_member_both_ways() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("ds.sqlite")).await;
    let alice = client(dir.path(), "alice", &server).await;
    let bob = client(dir.path(), "bob", &server).await;
    let (a, theirs) = start_conversation(&alice, "Plans", &[&bob]).await;
    let b = theirs[0];

    // A reply each way, quoting the message it answers.
    alice.send_text(a, "lunch at noon?").await.unwrap();
    bob.sync().await.unwrap();
    let question_b = find(&bob, b, "lunch at noon?").await;
    let answer = bob
        .reply(b, question_b, "yes, the usual place")
        .await
        .unwrap();
    alice.sync().await.unwrap();
    let question_a = find(&alice, a, "lunch at noon?").await;
    let answer_a = find(&alice, a, "yes, the usual place").await;
    let (_, quote, _) = around(&alice, a, answer_a).await;
    assert_eq!(
        quote,
        Some(Quote::Message {
            id: question_a,
            user: "alice".into(),
            body: "lunch at noon?".into(),
            deleted: false
        })
    );
    alice.reply(a, answer_a, "great").await.unwrap();
    bob.sync().await.unwrap();
    let great_b = find(&bob, b, "great").await;
    assert!(
        matches!(around(&bob, b, great_b).await.1, Some(Quote::Message { id, .. }) if id == answer)
    );

    // Reactions both ways, and one withdrawn.
    alice.react(a, answer_a, "👍").await.unwrap();
    alice.react(a, answer_a, "🎉").await.unwrap();
    bob.react(b, answer, "👍").await.unwrap();
    bob.sync().await.unwrap();
    alice.sync().await.unwrap();
    let expected = vec!["alice 👍", "alice 🎉", "bob 👍"];
    assert_eq!(around(&alice, a, answer_a).await.0, expected);
    assert_eq!(around(&bob, b, answer).await.0, expected);
    alice.unreact(a, answer_a, "🎉").await.unwrap();
    bob.sync().await.unwrap();
    assert_eq!(around(&bob, b, answer).await.0, vec!["alice 👍", "bob 👍"]);

    // Edits both ways: everyone sees the new text, "edited", and the earlier one.
    alice.edit(a, question_a, "lunch at one?").await.unwrap();
    bob.edit(b, answer, "yes, the new place").await.unwrap();
    bob.sync().await.unwrap();
    alice.sync().await.unwrap();
    for (client, conversation, question, answer) in [
        (&alice, a, question_a, answer_a),
        (&bob, b, question_b, answer),
    ] {
        let q = client.message(question).await.unwrap().unwrap();
        assert_eq!(q.message.body, "lunch at one?");
        assert!(q.edited_at.is_some());
        assert_eq!(
            client.versions(question).await.unwrap()[0].body,
            "lunch at noon?"
        );
        let r = client.message(answer).await.unwrap().unwrap();
        assert_eq!(r.message.body, "yes, the new place");
        assert!(
            client.search("usual", 10).await.unwrap().is_empty(),
            "old text not searchable"
        );
        let _ = conversation;
    }

    // A delete: gone everywhere, text, versions, reactions and search entry; the reply
    // to it says so.
    bob.delete(b, answer).await.unwrap();
    alice.sync().await.unwrap();
    for (client, conversation, answer) in [(&alice, a, answer_a), (&bob, b, answer)] {
        let r = client.message(answer).await.unwrap().unwrap();
        assert!(r.deleted_at.is_some());
        assert_eq!(r.message.body, "");
        assert!(client.versions(answer).await.unwrap().is_empty());
        assert!(around(client, conversation, answer).await.0.is_empty());
        assert!(client.search("place", 10).await.unwrap().is_empty());
    }
    let great_a = find(&alice, a, "great").await;
    assert!(matches!(
        around(&alice, a, great_a).await.1,
        Some(Quote::Message { deleted: true, .. })
    ));
    // A deleted message takes no edit, reaction or reply.
    assert!(bob.edit(b, answer, "back").await.is_err());
    assert!(alice.react(a, answer_a, "👍").await.is_err());
    server.stop().await;
}

/// The attack: a member whose client is modified sends an edit and a delete of someone
/// else's message, and withdraws someone else's reaction. Every receiver checks the author
/// against the sender MLS authenticated and changes nothing; the honest client refuses to
/// even send it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_or_delete_by_anyone_but_the_author_is_refused_by_every_receiver() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("ds.sqlite")).await;
    let alice = client(dir.path(), "alice", &server).await;
    let bob = client(dir.path(), "bob", &server).await;
    let carol = client(dir.path(), "carol", &server).await;
    let (a, theirs) = start_conversation(&alice, "Team", &[&bob, &carol]).await;
    let (b, c) = (theirs[0], theirs[1]);
    let group_id = alice.conversation(a).await.unwrap().group_id;
    alice.send_text(a, "the budget is 100").await.unwrap();
    bob.sync().await.unwrap();
    carol.sync().await.unwrap();
    let budget_b = find(&bob, b, "the budget is 100").await;
    bob.react(b, budget_b, "👍").await.unwrap();
    carol.sync().await.unwrap();
    alice.sync().await.unwrap();

    // Carol's honest client refuses.
    let budget_c = find(&carol, c, "the budget is 100").await;
    assert!(matches!(
        carol.edit(c, budget_c, "the budget is 900").await,
        Err(ClientError::NotAuthor)
    ));
    assert!(matches!(
        carol.delete(c, budget_c).await,
        Err(ClientError::NotAuthor)
    ));

    // Carol's modified one sends anyway.
    let target = mimi_id(&carol, budget_c).await;
    let bob_reaction = {
        // The reaction's id: what bob's client derived for the reaction it sent.
        let profile = dir.path().join("bob").join(conclave_client::PROFILE_FILE);
        drop(bob);
        let mut store = conclave_storage::Store::open(&profile).unwrap();
        let tx = store.transaction().unwrap();
        let uid = tx.reaction_uid(budget_b, "bob", "👍").unwrap().unwrap();
        MimiId(uid.try_into().unwrap())
    };
    let bob = reopen(dir.path(), "bob").await;
    drop(carol);
    let mut events = alice.subscribe();
    for body in [
        Body::Edit {
            target,
            text: "the budget is 900".into(),
        },
        Body::Delete { target },
        Body::Unreact {
            reaction: bob_reaction,
            to: Some(target),
        },
    ] {
        let forged = Message {
            sent_at: Some(1),
            expires: None,
            body,
        };
        send_as_member(dir.path(), "carol", &server, &group_id, &forged).await;
    }
    alice.sync().await.unwrap();
    bob.sync().await.unwrap();
    let budget_a = find(&alice, a, "the budget is 100").await;
    for (client, conversation, budget) in [(&alice, a, budget_a), (&bob, b, budget_b)] {
        let m = client.message(budget).await.unwrap().unwrap();
        assert_eq!(m.message.body, "the budget is 100", "{}", client.me());
        assert_eq!((m.edited_at, m.deleted_at), (None, None));
        assert_eq!(around(client, conversation, budget).await.0, vec!["bob 👍"]);
    }
    let refused = wait_for(
        &mut events,
        |e| matches!(e, ClientEvent::Error { message } if message.contains("carol tried to edit")),
    )
    .await;
    assert!(matches!(refused, ClientEvent::Error { .. }));
    server.stop().await;
}

/// Someone who joined later gets a reply to a message from before: shown, as a reply to a
/// message that is not available.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_to_a_message_the_receiver_does_not_have_still_shows() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("ds.sqlite")).await;
    let alice = client(dir.path(), "alice", &server).await;
    let bob = client(dir.path(), "bob", &server).await;
    let dave = client(dir.path(), "dave", &server).await;
    let (a, _) = start_conversation(&alice, "Club", &[&bob]).await;
    alice.send_text(a, "before dave").await.unwrap();
    alice.invite(a, &user("dave")).await.unwrap();
    dave.sync().await.unwrap();
    let d = same_conversation(&dave, &alice, a).await;
    let before = find(&alice, a, "before dave").await;
    alice.reply(a, before, "as I said").await.unwrap();
    dave.sync().await.unwrap();
    let reply = find(&dave, d, "as I said").await;
    assert_eq!(around(&dave, d, reply).await.1, Some(Quote::Missing));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_receipts_tell_the_sender_and_none_are_sent_when_off() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("ds.sqlite")).await;
    let alice = client(dir.path(), "alice", &server).await;
    let bob = client(dir.path(), "bob", &server).await;
    let (a, theirs) = start_conversation(&alice, "Pair", &[&bob]).await;
    let b = theirs[0];
    alice.send_text(a, "one").await.unwrap();
    alice.send_text(a, "two").await.unwrap();
    bob.sync().await.unwrap();
    // The delivery receipt bob's sync sent, taken first.
    alice.sync().await.unwrap();
    let two_b = find(&bob, b, "two").await;
    bob.mark_read(b, two_b).await.unwrap();
    // Reading again sends nothing more.
    bob.mark_read(b, two_b).await.unwrap();
    let mut events = alice.subscribe();
    alice.sync().await.unwrap();
    let receipts = std::iter::from_fn(|| events.try_recv().ok())
        .filter(|e| matches!(e, ClientEvent::Receipts { .. }))
        .count();
    assert_eq!(receipts, 1, "one receipt covers both messages");
    for text in ["one", "two"] {
        let m = find(&alice, a, text).await;
        assert_eq!(around(&alice, a, m).await.2, vec!["bob"], "{text}");
    }

    // Off: reading sends nothing, and alice learns nothing.
    bob.set_read_receipts(false).await.unwrap();
    assert!(!bob.read_receipts().await.unwrap());
    alice.send_text(a, "three").await.unwrap();
    bob.sync().await.unwrap();
    alice.sync().await.unwrap();
    let three_b = find(&bob, b, "three").await;
    bob.mark_read(b, three_b).await.unwrap();
    let mut events = alice.subscribe();
    alice.sync().await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        std::iter::from_fn(|| events.try_recv().ok())
            .all(|e| !matches!(e, ClientEvent::Receipts { .. })),
        "no receipt arrived"
    );
    let three_a = find(&alice, a, "three").await;
    assert!(around(&alice, a, three_a).await.2.is_empty());
    // Off also means none shown: bob sees no read marks on his own messages.
    bob.send_text(b, "four").await.unwrap();
    alice.sync().await.unwrap();
    let four_a = find(&alice, a, "four").await;
    alice.mark_read(a, four_a).await.unwrap();
    bob.sync().await.unwrap();
    let four_b = find(&bob, b, "four").await;
    assert!(around(&bob, b, four_b).await.2.is_empty());
    server.stop().await;
}

/// Who a message's delivery (or read) receipts say has it.
async fn delivered_to(
    client: &Client,
    conversation: ConversationId,
    message: MessageId,
) -> Vec<String> {
    let stored = client.message(message).await.unwrap().unwrap();
    client
        .annotations(conversation, &[stored])
        .await
        .unwrap()
        .remove(0)
        .delivered_to
}

/// A receiver's sync reports what it received to the authors, and to them alone (a receipt
/// to all would make each message cost the group N more), even with read receipts off.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivery_receipts_reach_the_author_only() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("ds.sqlite")).await;
    let alice = client(dir.path(), "alice", &server).await;
    let bob = client(dir.path(), "bob", &server).await;
    let carol = client(dir.path(), "carol", &server).await;
    let (a, theirs) = start_conversation(&alice, "Three", &[&bob, &carol]).await;
    let (b, c) = (theirs[0], theirs[1]);
    // Bob's first message since his process started reaches everyone.
    bob.send_text(b, "hi all").await.unwrap();
    bob.set_read_receipts(false).await.unwrap();
    alice.sync().await.unwrap();
    carol.sync().await.unwrap();

    alice.send_text(a, "the plan").await.unwrap();
    let plan = find(&alice, a, "the plan").await;
    assert!(
        delivered_to(&alice, a, plan).await.is_empty(),
        "sent, not delivered"
    );
    bob.sync().await.unwrap();
    alice.sync().await.unwrap();
    assert_eq!(delivered_to(&alice, a, plan).await, vec!["bob"]);
    carol.sync().await.unwrap();
    alice.sync().await.unwrap();
    assert_eq!(delivered_to(&alice, a, plan).await, vec!["bob", "carol"]);
    // Carol never got bob's receipt: her store knows only her own delivery.
    let plan_c = find(&carol, c, "the plan").await;
    assert!(delivered_to(&carol, c, plan_c).await.is_empty());
    // And bob's messages after it still open for her.
    bob.send_text(b, "on my way").await.unwrap();
    carol.sync().await.unwrap();
    find(&carol, c, "on my way").await;

    // Reported once: a sync with nothing new sends nothing.
    let mut events = alice.subscribe();
    bob.sync().await.unwrap();
    alice.sync().await.unwrap();
    assert!(
        std::iter::from_fn(|| events.try_recv().ok())
            .all(|e| !matches!(e, ClientEvent::Receipts { .. })),
        "nothing reported twice"
    );
    server.stop().await;
}

/// Each receipt to the authors alone still takes a step of the sender's ratchet, which the
/// others see as a jump at its next message to everyone; past the receivers'
/// `maximum_forward_distance` they could not open it. So a run of such receipts is broken
/// by one to everyone before that, and a member who lurks for long stays readable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_run_of_delivery_receipts_never_makes_the_sender_unreadable() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("ds.sqlite")).await;
    let mut config = config();
    config.group.maximum_forward_distance = 8;
    let open = |name: &'static str| {
        let (dir, url, config) = (dir.path().join(name), server.url(), config.clone());
        async move { Client::create_with(&dir, name, &url, config).await.unwrap() }
    };
    let (alice, bob, carol) = (open("alice").await, open("bob").await, open("carol").await);
    let (a, theirs) = start_conversation(&alice, "Lurking", &[&bob, &carol]).await;
    let (b, c) = (theirs[0], theirs[1]);
    for i in 0..12 {
        alice.send_text(a, &format!("news {i}")).await.unwrap();
        bob.sync().await.unwrap();
    }
    bob.send_text(b, "finally, a word").await.unwrap();
    carol.sync().await.unwrap();
    find(&carol, c, "finally, a word").await;
    alice.sync().await.unwrap();
    let last = find(&alice, a, "news 11").await;
    assert_eq!(delivered_to(&alice, a, last).await, vec!["bob", "carol"]);
    server.stop().await;
}

/// A disappearing message is gone from every member's database file and search index
/// after its time: the file's bytes no longer hold its words.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disappearing_messages_leave_the_database_file_and_the_search_index() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("ds.sqlite")).await;
    let alice = client(dir.path(), "alice", &server).await;
    let bob = client(dir.path(), "bob", &server).await;
    let (a, theirs) = start_conversation(&alice, "Secret", &[&bob]).await;
    let b = theirs[0];
    alice.set_disappearing(a, 2).await.unwrap();
    bob.sync().await.unwrap();
    assert_eq!(bob.conversation(b).await.unwrap().disappear_after, 2);
    assert!(
        texts_and_events(&bob, b)
            .await
            .iter()
            .any(|l| l.contains("alice set messages to disappear after 2 seconds"))
    );
    const WORD: &str = "xylophonequartz";
    bob.send_text(b, &format!("the code is {WORD}"))
        .await
        .unwrap();
    alice.sync().await.unwrap();
    for (client, conversation) in [(&alice, a), (&bob, b)] {
        let m = find(client, conversation, &format!("the code is {WORD}")).await;
        assert!(
            client
                .message(m)
                .await
                .unwrap()
                .unwrap()
                .message
                .expires_at
                .is_some()
        );
        assert_eq!(client.search(WORD, 10).await.unwrap().len(), 1);
    }
    tokio::time::sleep(Duration::from_millis(3100)).await;
    for (client, conversation) in [(&alice, a), (&bob, b)] {
        assert_eq!(client.remove_expired().await.unwrap(), 1);
        assert!(client.search(WORD, 10).await.unwrap().is_empty());
        assert!(
            !texts_and_events(client, conversation)
                .await
                .iter()
                .any(|l| l.contains(WORD))
        );
    }
    // Turned off, messages stay.
    alice.set_disappearing(a, 0).await.unwrap();
    alice.send_text(a, "this one stays").await.unwrap();
    let stays = find(&alice, a, "this one stays").await;
    assert_eq!(
        alice
            .message(stays)
            .await
            .unwrap()
            .unwrap()
            .message
            .expires_at,
        None
    );
    drop(alice);
    drop(bob);
    for name in ["alice", "bob"] {
        let profile = dir.path().join(name).join(conclave_client::PROFILE_FILE);
        let bytes = std::fs::read(&profile).unwrap();
        assert!(
            !bytes.windows(WORD.len()).any(|w| w == WORD.as_bytes()),
            "{name}'s database file still holds the word"
        );
        let wal = profile.with_extension("sqlite-wal");
        if let Ok(wal) = std::fs::read(&wal) {
            assert!(!wal.windows(WORD.len()).any(|w| w == WORD.as_bytes()));
        }
    }
    server.stop().await;
}

/// Every line of a conversation, events included.
async fn texts_and_events(client: &Client, conversation: ConversationId) -> Vec<String> {
    client
        .history(conversation, None, 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|m| format!("{}: {}", m.message.sender.user, m.message.body))
        .collect()
}

/// Typing notifications arrive as an event and are stored nowhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typing_is_shown_and_never_stored() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("ds.sqlite")).await;
    let alice = client(dir.path(), "alice", &server).await;
    let bob = client(dir.path(), "bob", &server).await;
    let (a, theirs) = start_conversation(&alice, "Chat", &[&bob]).await;
    let b = theirs[0];
    let before = (
        alice.message_count(a).await.unwrap(),
        bob.message_count(b).await.unwrap(),
    );
    let mut events = bob.subscribe();
    alice.send_typing(a).await.unwrap();
    bob.sync().await.unwrap();
    let typing = wait_for(&mut events, |e| matches!(e, ClientEvent::Typing { .. })).await;
    assert_eq!(
        typing,
        ClientEvent::Typing {
            conversation: b,
            user: user("alice")
        }
    );
    let after = (
        alice.message_count(a).await.unwrap(),
        bob.message_count(b).await.unwrap(),
    );
    assert_eq!(before, after);
    server.stop().await;
}
