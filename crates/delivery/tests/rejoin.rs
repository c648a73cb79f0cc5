//! Members' asks for a group's rejoin key, and their answers, at a real server on 127.0.0.1:
//! only the roster asks and answers, an ask reaches the other devices, asks are limited per
//! device and per group, and an ask gets at most three answers, one per answering device.

mod support;

use axum::http::StatusCode;
use conclave_delivery_api::{MessageKind, RejoinAskUpload, RejoinKeyUpload, paths};
use conclave_test_support::TestServer;
use support::Device;

async fn registered(server: &TestServer, user: &str) -> Device {
    let device = Device::new(&server.url(), user, "d");
    let reply = device.register().await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    device
}

async fn ask(device: &Device, what: &[u8]) -> support::Reply {
    let body = RejoinAskUpload {
        ask: what.to_vec().into(),
    };
    device
        .call("POST", &paths::group_rejoin(b"g"), Some(&body))
        .await
}

async fn answer(device: &Device, to: &Device, key: &[u8]) -> support::Reply {
    let body = RejoinKeyUpload {
        device: to.me(),
        key: key.to_vec().into(),
    };
    device
        .call("POST", &paths::group_rejoin_key(b"g"), Some(&body))
        .await
}

/// The items of `kind` waiting for `device` (acknowledged), as (sender, message).
async fn received(device: &Device, kind: MessageKind) -> Vec<(String, Vec<u8>)> {
    let items = device.fetch_all().await;
    device.ack_all().await;
    items
        .into_iter()
        .filter(|i| i.kind == kind)
        .map(|i| (i.sender.user, i.message.0))
        .collect()
}

#[tokio::test]
async fn asks_and_answers_reach_whom_they_may_as_often_as_they_may() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("ds.sqlite")).await;
    let mut members = Vec::new();
    for user in ["alice", "bob", "carol", "dave", "erin"] {
        members.push(registered(&server, user).await);
    }
    let mallory = registered(&server, "mallory").await;
    let [alice, bob, carol, dave, erin] = &members[..] else {
        unreachable!()
    };
    support::start_group(alice, b"g", &[bob, carol, dave, erin]).await;
    let status = |reply: support::Reply| (reply.status, reply.error().to_owned());

    // Only the roster asks; an ask reaches every other device on it, not the asker.
    assert_eq!(
        status(ask(&mallory, b"let me in").await),
        (StatusCode::FORBIDDEN, "forbidden".into())
    );
    assert_eq!(ask(bob, b"bob's ask").await.status, StatusCode::NO_CONTENT);
    for member in [alice, carol, dave, erin] {
        assert_eq!(
            received(member, MessageKind::RejoinAsk).await,
            [("bob".to_owned(), b"bob's ask".to_vec())]
        );
    }
    assert!(received(bob, MessageKind::RejoinAsk).await.is_empty());
    // Once a minute per device, three a minute per group.
    assert_eq!(
        status(ask(bob, b"again").await),
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited".into())
    );
    assert_eq!(ask(carol, b"carol's").await.status, StatusCode::NO_CONTENT);
    assert_eq!(ask(dave, b"dave's").await.status, StatusCode::NO_CONTENT);
    assert_eq!(
        status(ask(erin, b"erin's").await),
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited".into())
    );

    // Answers to bob: the first three, one per answering device, reach him.
    for (from, key) in [
        (alice, &b"from alice"[..]),
        (alice, b"alice again"),
        (carol, b"from carol"),
        (dave, b"from dave"),
        (erin, b"from erin"),
    ] {
        assert_eq!(answer(from, bob, key).await.status, StatusCode::NO_CONTENT);
    }
    assert_eq!(
        received(bob, MessageKind::RejoinKey).await,
        [
            ("alice".to_owned(), b"from alice".to_vec()),
            ("carol".to_owned(), b"from carol".to_vec()),
            ("dave".to_owned(), b"from dave".to_vec()),
        ]
    );
    // No answer to a device that did not ask; none from outside the roster.
    assert_eq!(
        answer(bob, erin, b"unasked").await.status,
        StatusCode::NO_CONTENT
    );
    assert!(received(erin, MessageKind::RejoinKey).await.is_empty());
    assert_eq!(
        status(answer(&mallory, carol, b"from outside").await),
        (StatusCode::FORBIDDEN, "forbidden".into())
    );
    assert!(received(carol, MessageKind::RejoinKey).await.is_empty());
    server.stop().await;
}

/// Rows of `table` in the server's database (read beside the running server: WAL).
fn rows(db: &std::path::Path, table: &str) -> i64 {
    conclave_test_support::count_rows(db, table)
}

/// Asks and their answers are kept no longer than the retention: a server started with a
/// retention of one second prunes those older at once.
#[tokio::test]
async fn asks_and_answers_go_with_the_retention() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ds.sqlite");
    let server = TestServer::start(&db).await;
    let alice = registered(&server, "alice").await;
    let bob = registered(&server, "bob").await;
    support::start_group(&alice, b"g", &[&bob]).await;
    assert_eq!(ask(&bob, b"bob's ask").await.status, StatusCode::NO_CONTENT);
    assert_eq!(
        answer(&alice, &bob, b"the key").await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        (rows(&db, "rejoin_asks"), rows(&db, "rejoin_answers")),
        (1, 1)
    );
    server.stop().await;

    tokio::time::sleep(std::time::Duration::from_millis(2_100)).await;
    let mut config = TestServer::config(&db);
    config.retention = std::time::Duration::from_secs(1);
    let server = TestServer::start_with(config).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while (rows(&db, "rejoin_asks"), rows(&db, "rejoin_answers")) != (0, 0) {
        assert!(
            std::time::Instant::now() < deadline,
            "the old ask was not pruned"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    server.stop().await;
}
