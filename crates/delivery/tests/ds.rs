//! The delivery service over real TCP on 127.0.0.1 with a real SQLite file.

mod support;

use std::collections::HashSet;
use std::time::Duration;

use conclave_delivery::Limits;
use conclave_delivery_api::auth::{fresh_identity, headers};
use conclave_delivery_api::{
    ClaimResponse, KeyPackageStock, MessageKind, PushFrame, QueueItem, WelcomeEnvelope, paths,
};
use conclave_test_support::TestServer;
use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::json;
use support::stand_in::{self, payload, welcome};
use support::{Device, base64, envelope, start_group};

async fn registered(server: &TestServer, user: &str, device: &str) -> Device {
    let d = Device::new(&server.url(), user, device);
    let reply = d.register().await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    d
}

#[tokio::test]
async fn register_directory_and_devices() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("ds.sqlite")).await;
    let laptop = registered(&server, "alice", "laptop").await;

    // The name is taken by alice's key; someone else's key cannot register it.
    let mallory = Device::new(&server.url(), "alice", "laptop2");
    let reply = mallory.register().await;
    assert_eq!(
        (reply.status, reply.error()),
        (StatusCode::CONFLICT, "name_taken")
    );

    // Registering a key one does not hold fails (proof of possession).
    let body = serde_json::to_vec(&json!({
        "signature_key": base64(laptop.identity.signature_public_key()),
        "ciphersuite": 1
    }))
    .unwrap();
    let reply = mallory
        .send_with(
            "POST",
            "/v1/register",
            body,
            &fresh_identity("eve", "x"),
            &[],
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);

    // A second device, added by the first, proving possession of its own key.
    let phone = Device::new(&server.url(), "alice", "phone");
    let body = serde_json::to_vec(&json!({
        "device": "phone",
        "signature_key": base64(phone.identity.signature_public_key()),
        "ciphersuite": 1
    }))
    .unwrap();
    let id = fresh_identity("alice", "laptop");
    let input = conclave_delivery_api::auth::signing_input("POST", "/v1/devices", &body, &id);
    let new_sig = openmls_traits::signatures::Signer::sign(&phone.identity, &input).unwrap();
    let reply = laptop
        .send_with(
            "POST",
            "/v1/devices",
            body,
            &id,
            &[(headers::NEW_KEY_SIGNATURE, base64(&new_sig))],
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);

    let bob = registered(&server, "bob", "desk").await;
    let reply = bob
        .call("GET", "/v1/users/alice/devices", None::<&()>)
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let devices: Vec<String> = reply.body["devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["device"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(devices, vec!["laptop", "phone"]);
    let reply = bob
        .call("GET", "/v1/users/nobody/devices", None::<&()>)
        .await;
    assert_eq!(
        (reply.status, reply.error()),
        (StatusCode::NOT_FOUND, "not_found")
    );
    // The new device can act on its own.
    assert_eq!(
        phone
            .call("GET", "/v1/key-packages/stock", None::<&()>)
            .await
            .status,
        StatusCode::OK
    );
    server.stop().await;
}

#[tokio::test]
async fn authentication_failures_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("ds.sqlite")).await;
    let alice = registered(&server, "alice", "laptop").await;
    let bob = registered(&server, "bob", "desk").await;

    // Bad signature: bob signs as alice.
    let id = fresh_identity("alice", "laptop");
    let reply = bob
        .send_with("GET", "/v1/queue?after=0", Vec::new(), &id, &[])
        .await;
    assert_eq!(
        (reply.status, reply.error()),
        (StatusCode::UNAUTHORIZED, "unauthorized")
    );

    // Tampered body: signed over one body, sent with another.
    let id = fresh_identity("alice", "laptop");
    let headers = conclave_delivery_api::auth::sign_request(
        &alice.identity,
        "POST",
        "/v1/queue/ack",
        b"{\"up_to\":1}",
        &id,
    )
    .unwrap();
    let mut request = alice
        .http
        .post(format!("{}/v1/queue/ack", alice.base))
        .body("{\"up_to\":999}");
    for (n, v) in headers {
        request = request.header(n, v);
    }
    assert_eq!(
        request.send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );

    // Replay: the same signed request twice.
    let id = fresh_identity("alice", "laptop");
    let first = alice
        .send_with("GET", "/v1/queue?after=0", Vec::new(), &id, &[])
        .await;
    assert_eq!(first.status, StatusCode::OK);
    let again = alice
        .send_with("GET", "/v1/queue?after=0", Vec::new(), &id, &[])
        .await;
    assert_eq!(
        (again.status, again.error()),
        (StatusCode::UNAUTHORIZED, "replay")
    );

    // Unknown device.
    let stranger = Device::new(&server.url(), "carol", "x");
    let reply = stranger.call("GET", "/v1/queue", None::<&()>).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);

    // Stale timestamp.
    let mut id = fresh_identity("alice", "laptop");
    id.timestamp -= 3600;
    let reply = alice
        .send_with("GET", "/v1/queue", Vec::new(), &id, &[])
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);

    // Missing headers.
    let reply = reqwest::get(format!("{}/v1/queue", server.url()))
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::UNAUTHORIZED);
    let body: serde_json::Value = reply.json().await.unwrap();
    assert_eq!(body["error"], "unauthorized");

    // A device only ever reads and acknowledges its own queue.
    start_group(&alice, b"g1", &[&bob]).await;
    let reply = alice
        .send(&envelope(
            b"g1",
            1,
            MessageKind::Application,
            &[&bob],
            b"for bob",
        ))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(alice.fetch_all().await.is_empty());
    let ack = alice
        .call("POST", "/v1/queue/ack", Some(&json!({"up_to": 100})))
        .await;
    assert_eq!(ack.body["deleted"], 0);
    assert_eq!(bob.fetch_all().await.len(), 1);
    server.stop().await;
}

#[tokio::test]
async fn key_package_claims_are_atomic() {
    let dir = tempfile::tempdir().unwrap();
    // The claimers spread over the nodes, where there are two.
    let nodes = support::nodes(TestServer::config(&dir.path().join("ds.sqlite"))).await;
    let server = &nodes[0];
    let alice = registered(server, "alice", "laptop").await;
    let kps = alice.key_packages(30);
    let last_resort_package = alice.last_resort();
    let reply = alice
        .call(
            "POST",
            "/v1/key-packages",
            Some(&json!({
                "key_packages": kps.iter().map(|k| base64(k)).collect::<Vec<_>>(),
                "last_resort": base64(&last_resort_package),
            })),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    let stock: KeyPackageStock = serde_json::from_value(reply.body).unwrap();
    assert_eq!(
        stock,
        KeyPackageStock {
            ciphersuite: 1,
            available: 30,
            has_last_resort: true
        }
    );

    // 50 claims at once from 10 devices.
    let mut claimers = Vec::new();
    for i in 0..10 {
        claimers.push(std::sync::Arc::new(
            registered(&nodes[i % nodes.len()], &format!("c{i}"), "d").await,
        ));
    }
    let mut tasks = Vec::new();
    for k in 0..50 {
        let c = claimers[k % 10].clone();
        tasks.push(tokio::spawn(async move {
            let reply = c
                .call(
                    "POST",
                    "/v1/key-packages/claim",
                    Some(&json!({"user": "alice"})),
                )
                .await;
            assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
            serde_json::from_value::<ClaimResponse>(reply.body).unwrap()
        }));
    }
    let mut one_time = HashSet::new();
    let mut last_resort = 0;
    for t in tasks {
        let response = t.await.unwrap();
        assert_eq!(response.key_packages.len(), 1);
        let kp = &response.key_packages[0];
        if kp.last_resort {
            assert_eq!(kp.key_package.0, last_resort_package);
            last_resort += 1;
        } else {
            assert!(
                one_time.insert(kp.key_package.0.clone()),
                "a key package was handed out twice"
            );
        }
    }
    assert_eq!(one_time.len(), 30);
    assert_eq!(last_resort, 20);
    let stock = alice
        .call("GET", "/v1/key-packages/stock", None::<&()>)
        .await;
    assert_eq!(stock.body["suites"][0]["available"], 0);
    assert_eq!(stock.body["suites"][0]["has_last_resort"], true);
    for node in nodes {
        node.stop().await;
    }
}

#[tokio::test]
async fn one_commit_per_epoch_under_races() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = TestServer::config(&dir.path().join("ds.sqlite"));
    // 2,000 commits in a few seconds from two devices: above the default rate limit.
    config.limits.requests_per_second = 1_000_000;
    config.limits.burst = 1_000_000;
    // Alice and Bob on different nodes where there are two: each epoch's race is decided
    // in the database, not in one process.
    let nodes = support::nodes(config).await;
    let a = std::sync::Arc::new(registered(&nodes[0], "alice", "d").await);
    let b = std::sync::Arc::new(registered(nodes.last().unwrap(), "bob", "d").await);
    let c = registered(&nodes[0], "carol", "d").await;
    start_group(&a, b"race", &[&b]).await;
    for round in 0..1000u64 {
        // Each round's winner moves the group one epoch on, adding and then removing carol.
        let epoch = round + 1;
        let (a2, b2) = (a.clone(), b.clone());
        let carol = c.me();
        let (a_ref, b_ref) = (a.me(), b.me());
        let make = |who: u8| {
            let mut e = envelope(
                b"race",
                epoch,
                MessageKind::Commit,
                &[],
                &[who, (round % 256) as u8],
            );
            e.recipients = vec![a_ref.clone(), b_ref.clone()];
            if round % 2 == 0 {
                e.welcome = Some(WelcomeEnvelope {
                    recipients: vec![carol.clone()],
                    message: welcome(&[b'W', who]).into(),
                    ratchet_tree: vec![1].into(),
                });
            } else {
                e.recipients.push(carol.clone());
                e.removed = vec![carol.clone()];
            }
            e
        };
        let (ea, eb) = (make(b'a'), make(b'b'));
        let (ra, rb) = tokio::join!(
            tokio::spawn(async move { a2.send(&ea).await }),
            tokio::spawn(async move { b2.send(&eb).await })
        );
        let (ra, rb) = (ra.unwrap(), rb.unwrap());
        let statuses = [ra.status, rb.status];
        assert!(
            statuses.contains(&StatusCode::OK) && statuses.contains(&StatusCode::CONFLICT),
            "round {round}: {statuses:?}"
        );
        let loser = if ra.status == StatusCode::CONFLICT {
            &ra
        } else {
            &rb
        };
        assert_eq!(loser.error(), "stale_epoch");
        assert_eq!(loser.body["current_epoch"], epoch + 1);
    }
    // Carol got a Welcome from each adding winner and the commit of each removing one, and
    // nothing of a losing commit.
    let items = c.fetch_all().await;
    assert_eq!(items.len(), 1000);
    let alices = a.fetch_all().await;
    let winners: Vec<_> = alices
        .iter()
        .filter(|i| i.kind == MessageKind::Commit)
        .collect();
    assert_eq!(winners.len(), 1000);
    for (round, (item, winner)) in items.iter().zip(&winners).enumerate() {
        let (got, won) = (payload(&item.message.0), payload(&winner.message.0));
        assert_eq!(item.sender, winner.sender, "round {round}");
        if round % 2 == 0 {
            assert_eq!(item.kind, MessageKind::Welcome);
            assert_eq!(got[1], won[0], "a losing commit's Welcome was delivered");
        } else {
            assert_eq!(item.kind, MessageKind::Commit);
            assert_eq!(got, won, "a losing commit was delivered");
        }
    }

    // Application messages and proposals are accepted in the current epoch only, so that
    // every member reads them in the epoch they were made in.
    for kind in [MessageKind::Application, MessageKind::Proposal] {
        let stale = a.send(&envelope(b"race", 1000, kind, &[&b], b"late")).await;
        assert_eq!(stale.status, StatusCode::CONFLICT, "{kind:?}");
        assert_eq!(stale.error(), "stale_epoch");
        assert_eq!(stale.body["current_epoch"], 1001);
        let current = a
            .send(&envelope(b"race", 1001, kind, &[&b], b"on time"))
            .await;
        assert_eq!(current.status, StatusCode::OK, "{kind:?}");
    }
    let late: Vec<_> = b
        .fetch_all()
        .await
        .into_iter()
        .filter(|i| i.kind != MessageKind::Commit)
        .collect();
    assert_eq!(late.len(), 2, "only the on-time messages were queued");
    for node in nodes {
        node.stop().await;
    }
}

#[tokio::test]
async fn queue_order_paging_and_ack() {
    let dir = tempfile::tempdir().unwrap();
    // Alice sends through one node, Bob reads and acknowledges through the other.
    let nodes = support::nodes(TestServer::config(&dir.path().join("ds.sqlite"))).await;
    let alice = registered(&nodes[0], "alice", "d").await;
    let bob = registered(nodes.last().unwrap(), "bob", "d").await;
    start_group(&alice, b"g", &[&bob]).await; // bob's Welcome is item 1
    for i in 0..7u8 {
        let reply = alice
            .send(&envelope(b"g", 1, MessageKind::Application, &[&bob], &[i]))
            .await;
        assert_eq!(reply.status, StatusCode::OK);
    }
    let page = bob.fetch(1, 3).await;
    assert!(page.more);
    let seqs: Vec<u64> = page.items.iter().map(|i| i.seq).collect();
    assert_eq!(seqs, vec![2, 3, 4]);
    assert_eq!(page.items[0].sender, alice.me());
    let page = bob.fetch(4, 10).await;
    assert!(!page.more);
    assert_eq!(
        page.items
            .iter()
            .map(|i| payload(&i.message.0)[0])
            .collect::<Vec<_>>(),
        vec![3, 4, 5, 6]
    );
    let ack = bob
        .call("POST", "/v1/queue/ack", Some(&json!({"up_to": 6})))
        .await;
    assert_eq!(ack.body["deleted"], 5);
    let rest = bob.fetch_all().await;
    assert_eq!(rest.iter().map(|i| i.seq).collect::<Vec<_>>(), vec![7, 8]);
    // Sequence numbers keep growing after acks.
    alice
        .send(&envelope(b"g", 1, MessageKind::Application, &[&bob], b"x"))
        .await;
    assert_eq!(bob.fetch(8, 10).await.items[0].seq, 9);
    for node in nodes {
        node.stop().await;
    }
}

/// Messages stored in the DS database (each is stored once, whatever its recipients).
fn stored_messages(db: &std::path::Path) -> i64 {
    conclave_test_support::count_rows(db, "messages")
}

#[tokio::test]
async fn a_message_goes_with_its_last_ack_and_sequences_survive_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ds.sqlite");
    let server = TestServer::start(&db).await;
    let alice = registered(&server, "alice", "d").await;
    let bob = registered(&server, "bob", "d").await;
    let carol = registered(&server, "carol", "d").await;
    // Each queue's first item, the Welcome, is acknowledged: it is gone.
    start_group(&alice, b"g", &[&bob, &carol]).await;
    for i in 0..3u8 {
        let reply = alice
            .send(&envelope(
                b"g",
                1,
                MessageKind::Application,
                &[&bob, &carol],
                &[i],
            ))
            .await;
        assert_eq!(reply.status, StatusCode::OK);
    }
    assert_eq!(
        stored_messages(&db),
        3,
        "one copy per message, not per recipient"
    );
    let to_nobody = alice
        .send(&envelope(b"g", 1, MessageKind::Application, &[], b"void"))
        .await;
    assert_eq!(to_nobody.status, StatusCode::OK);
    assert_eq!(stored_messages(&db), 3, "a message for nobody is not kept");
    let ack = bob
        .call("POST", "/v1/queue/ack", Some(&json!({"up_to": 4})))
        .await;
    assert_eq!(ack.body["deleted"], 3);
    assert_eq!(
        stored_messages(&db),
        3,
        "carol has not acknowledged them yet"
    );
    assert_eq!(carol.fetch_all().await.len(), 3);
    let ack = carol
        .call("POST", "/v1/queue/ack", Some(&json!({"up_to": 3})))
        .await;
    assert_eq!(ack.body["deleted"], 2);
    assert_eq!(stored_messages(&db), 1);
    server.stop().await;

    // Both queues are now (nearly) empty; after a restart, numbering carries on above
    // everything a device was ever given.
    let server = TestServer::start(&db).await;
    let (mut alice, mut bob, mut carol) = (alice, bob, carol);
    for device in [&mut alice, &mut bob, &mut carol] {
        device.base = server.url();
    }
    let reply = alice
        .send(&envelope(
            b"g",
            1,
            MessageKind::Application,
            &[&bob, &carol],
            b"after",
        ))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let bobs = bob.fetch_all().await;
    assert_eq!(bobs.iter().map(|i| i.seq).collect::<Vec<_>>(), vec![5]);
    let carols = carol.fetch_all().await;
    assert_eq!(carols.iter().map(|i| i.seq).collect::<Vec<_>>(), vec![4, 5]);
    assert_eq!(payload(&carols[1].message.0), b"after");
    server.stop().await;
}

/// On PostgreSQL, two recipients acknowledging a message's last two items at once each see
/// the other's item still there, and neither deletes the message: each notes it as released,
/// and retention deletes the released messages no queue refers to. Here that state is made
/// directly (the race itself is a matter of microseconds), and a restarted node's first
/// retention pass must delete the message, and only it.
#[tokio::test]
async fn messages_left_by_racing_acks_go_with_retention() {
    if !conclave_test_support::postgres::enabled() {
        eprintln!("the PostgreSQL store's (CONCLAVE_TEST_POSTGRES=1)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ds.sqlite");
    let server = TestServer::start(&db).await;
    let alice = registered(&server, "alice", "d").await;
    let bob = registered(&server, "bob", "d").await;
    start_group(&alice, b"g", &[&bob]).await;
    for text in [&b"orphan"[..], b"kept"] {
        let reply = alice
            .send(&envelope(b"g", 1, MessageKind::Application, &[&bob], text))
            .await;
        assert_eq!(reply.status, StatusCode::OK);
    }
    assert_eq!(stored_messages(&db), 2);
    let cluster = conclave_test_support::postgres::cluster();
    let name = conclave_test_support::postgres::database_name(&db);
    // The orphan: its item gone, the message kept and noted as released.
    cluster.query(
        &name,
        "WITH first AS (SELECT MIN(message_id) AS id FROM queue),
              gone AS (DELETE FROM queue WHERE message_id = (SELECT id FROM first))
         INSERT INTO released_messages SELECT id FROM first",
    );
    // Released too, but still queued for Bob: it must stay.
    cluster.query(
        &name,
        "INSERT INTO released_messages SELECT MAX(message_id) FROM queue",
    );
    let addr = server.addr;
    server.stop().await;
    let server = TestServer::start_at(&db, addr).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while stored_messages(&db) != 1 {
        assert!(
            std::time::Instant::now() < deadline,
            "the released message was not collected"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        conclave_test_support::count_rows(&db, "released_messages"),
        0
    );
    let left = bob.fetch_all().await;
    assert_eq!(left.len(), 1);
    assert_eq!(payload(&left[0].message.0), b"kept");
    server.stop().await;
}

#[tokio::test]
async fn websocket_pushes_new_items() {
    let dir = tempfile::tempdir().unwrap();
    // Bob's socket is on the other node from the one Alice sends through, where there are
    // two: the push crosses nodes.
    let nodes = support::nodes(TestServer::config(&dir.path().join("ds.sqlite"))).await;
    let server = nodes.last().unwrap();
    let alice = registered(&nodes[0], "alice", "d").await;
    let bob = registered(server, "bob", "d").await;
    start_group(&alice, b"g", &[&bob]).await;
    let id = fresh_identity("bob", "d");
    let signed =
        conclave_delivery_api::auth::sign_request(&bob.identity, "GET", paths::PUSH, b"", &id)
            .unwrap();
    let mut request =
        tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(format!(
            "ws://{}/v1/ws",
            server.addr
        ))
        .unwrap();
    for (n, v) in signed {
        request.headers_mut().insert(n, v.parse().unwrap());
    }
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    alice
        .send(&envelope(
            b"g",
            1,
            MessageKind::Application,
            &[&bob],
            b"pushed",
        ))
        .await;
    let frame = tokio::time::timeout(Duration::from_secs(5), socket.next())
        .await
        .expect("a push within 5 s")
        .unwrap()
        .unwrap();
    // The frame names the new item; the item itself is fetched, once.
    let pushed: PushFrame = serde_json::from_str(frame.to_text().unwrap()).unwrap();
    assert!(
        frame.to_text().unwrap().len() < 32,
        "a push carries the sequence number only: {frame:?}"
    );
    let page = bob.fetch(pushed.seq - 1, 10).await;
    let item: &QueueItem = &page.items[0];
    assert_eq!(item.seq, pushed.seq);
    assert_eq!(payload(&item.message.0), b"pushed");
    assert_eq!(item.sender, alice.me());
    // An unsigned upgrade is refused.
    assert!(
        tokio_tungstenite::connect_async(format!("ws://{}/v1/ws", server.addr))
            .await
            .is_err()
    );
    for node in nodes {
        node.stop().await;
    }
}

#[tokio::test]
async fn limits_give_clear_4xx_errors() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = TestServer::config(&dir.path().join("ds.sqlite"));
    config.limits = Limits {
        max_body_bytes: 4096,
        max_recipients: 3,
        max_key_packages: 5,
        requests_per_second: 5,
        burst: 10,
        ..Limits::default()
    };
    let server = TestServer::start_with(config).await;
    let alice = registered(&server, "alice", "d").await;
    let bob = registered(&server, "bob", "d").await;
    start_group(&alice, b"g", &[&bob]).await;

    let big = envelope(b"g", 1, MessageKind::Application, &[&bob], &vec![0; 8192]);
    let reply = alice.send(&big).await;
    assert_eq!(
        (reply.status, reply.error()),
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
    );

    let mut many = envelope(b"g", 1, MessageKind::Application, &[&bob], b"x");
    many.recipients = (0..4).map(|_| bob.me()).collect();
    let reply = alice.send(&many).await;
    assert_eq!(
        (reply.status, reply.error()),
        (StatusCode::UNPROCESSABLE_ENTITY, "too_many_recipients")
    );

    let reply = alice
        .call(
            "POST",
            "/v1/key-packages",
            Some(&json!({"key_packages": (0..6).map(|_| base64(b"k")).collect::<Vec<_>>()})),
        )
        .await;
    assert_eq!(
        (reply.status, reply.error()),
        (StatusCode::UNPROCESSABLE_ENTITY, "too_many_key_packages")
    );

    let reply = alice
        .call("POST", "/v1/messages", Some(&json!({"nonsense": true})))
        .await;
    assert_eq!(
        (reply.status, reply.error()),
        (StatusCode::BAD_REQUEST, "bad_request")
    );

    let mut unknown = envelope(b"g", 1, MessageKind::Application, &[&bob], b"x");
    unknown.recipients[0].user = "ghost".into();
    assert_eq!(alice.send(&unknown).await.error(), "not_found");

    let reply = reqwest::get(format!("{}/v2/nothing", server.url()))
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::NOT_FOUND);

    // Rate limit: the burst is 10; well past it, requests are refused.
    let mut limited = 0;
    for _ in 0..30 {
        if bob.call("GET", "/v1/queue", None::<&()>).await.status == StatusCode::TOO_MANY_REQUESTS {
            limited += 1;
        }
    }
    assert!(limited > 0, "no request was rate limited");
    server.stop().await;
}

/// Every request is counted by its route, refused ones too, and unknown paths apart.
#[tokio::test]
async fn requests_are_counted_by_route() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = TestServer::config(&dir.path().join("ds.sqlite"));
    config.metrics_token = Some("s3cret-metrics-token".into());
    let server = TestServer::start_with(config).await;
    let alice = registered(&server, "alice", "d").await;
    let bob = registered(&server, "bob", "d").await;
    start_group(&alice, b"g", &[&bob]).await;
    alice
        .send(&envelope(b"g", 1, MessageKind::Application, &[&bob], b"hi"))
        .await;
    let http = reqwest::Client::new();
    // Unsigned: refused, and still counted.
    let refused = http
        .post(format!("{}{}", server.url(), paths::MESSAGES))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let missing = http
        .get(format!("{}/v1/nothing-here", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    // Metrics only with the token.
    let metrics = format!("{}{}", server.url(), paths::METRICS);
    for token in [
        None,
        Some("wrong-metrics-token!"),
        Some("s3cret-metrics-tokeX"),
    ] {
        let mut request = http.get(&metrics);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let refused = request.send().await.unwrap();
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED, "{token:?}");
    }
    let text = http
        .get(&metrics)
        .bearer_auth("s3cret-metrics-token")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let count = |route: &str| -> u64 {
        let prefix = format!("conclave_ds_requests_total{{endpoint=\"{route}\"}} ");
        text.lines()
            .find_map(|l| l.strip_prefix(prefix.as_str()))
            .unwrap_or_else(|| panic!("no count for {route} in:\n{text}"))
            .parse()
            .unwrap()
    };
    assert_eq!(
        count(paths::MESSAGES),
        3,
        "the group's first commit, a message, one refused"
    );
    assert_eq!(count(paths::REGISTER), 2);
    assert_eq!(count("unmatched"), 1);
    assert_eq!(
        count(paths::METRICS),
        4,
        "three refused scrapes and this one"
    );
    server.stop().await;
}

/// A device that claims one user's key packages in a burst is stopped after its hourly
/// allowance, many devices together drain no more than the user's hourly one-time budget,
/// and the user can still be invited: past the budget, claims get the last-resort package.
#[tokio::test]
async fn a_burst_of_claims_is_limited_and_the_victim_can_still_be_invited() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = TestServer::config(&dir.path().join("ds.sqlite"));
    config.limits.claims_per_target = 5;
    config.limits.one_time_claims_per_target = 8;
    let server = TestServer::start_with(config).await;
    let victim = registered(&server, "victim", "d").await;
    let kps = victim.key_packages(20);
    let last_resort_package = victim.last_resort();
    let reply = victim
        .call(
            "POST",
            paths::KEY_PACKAGES,
            Some(&json!({
                "key_packages": kps.iter().map(|k| base64(k)).collect::<Vec<_>>(),
                "last_resort": base64(&last_resort_package),
            })),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);

    // One attacking device: five claims, then refused.
    let first = registered(&server, "drain1", "d").await;
    let mut one_time = 0;
    for _ in 0..5 {
        let reply = claim_victim(&first).await;
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
        let response: ClaimResponse = serde_json::from_value(reply.body).unwrap();
        assert!(!response.key_packages[0].last_resort);
        one_time += 1;
    }
    for _ in 0..5 {
        let reply = claim_victim(&first).await;
        assert_eq!(
            (reply.status, reply.error()),
            (StatusCode::TOO_MANY_REQUESTS, "rate_limited")
        );
    }
    // A second attacking device: the user's budget of eight one-time claims runs out after
    // three more, then the last-resort package.
    let second = registered(&server, "drain2", "d").await;
    let mut last_resort = 0;
    for _ in 0..5 {
        let reply = claim_victim(&second).await;
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
        let response: ClaimResponse = serde_json::from_value(reply.body).unwrap();
        if response.key_packages[0].last_resort {
            assert_eq!(response.key_packages[0].key_package.0, last_resort_package);
            last_resort += 1;
        } else {
            one_time += 1;
        }
    }
    assert_eq!((one_time, last_resort), (8, 2));

    // Someone else can still invite the victim, and most of its stock is left.
    let friend = registered(&server, "friend", "d").await;
    let reply = claim_victim(&friend).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    let response: ClaimResponse = serde_json::from_value(reply.body).unwrap();
    assert_eq!(response.key_packages.len(), 1);
    let stock = victim
        .call("GET", paths::KEY_PACKAGE_STOCK, None::<&()>)
        .await;
    assert_eq!(stock.body["suites"][0]["available"], 12);
    server.stop().await;
}

async fn claim_victim(device: &Device) -> support::Reply {
    device
        .call("POST", paths::CLAIM, Some(&json!({"user": "victim"})))
        .await
}

/// A device publishes only its own key packages: one naming another device, or naming
/// itself with a key other than its registered one, is refused and nothing is stored.
#[tokio::test]
async fn a_device_cannot_publish_key_packages_for_another() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("ds.sqlite")).await;
    let alice = registered(&server, "alice", "laptop").await;
    let mallory = registered(&server, "mallory", "d").await;

    // Alice's own packages, relayed by mallory.
    let reply = publish(&mallory, alice.key_packages(2)).await;
    assert_eq!(
        (reply.status, reply.error()),
        (StatusCode::FORBIDDEN, "forbidden")
    );
    // Packages naming alice's device, made with mallory's own key.
    let impostor = Device::new(&server.url(), "alice", "laptop");
    let reply = publish(&mallory, impostor.key_packages(1)).await;
    assert_eq!(
        (reply.status, reply.error()),
        (StatusCode::FORBIDDEN, "forbidden")
    );
    // Packages naming mallory's device with a key that is not her registered one.
    let other_key = Device::new(&server.url(), "mallory", "d");
    let reply = publish(&mallory, other_key.key_packages(1)).await;
    assert_eq!(
        (reply.status, reply.error()),
        (StatusCode::FORBIDDEN, "forbidden")
    );
    // Not a key package at all.
    let reply = publish(&mallory, vec![b"junk".to_vec()]).await;
    assert_eq!(
        (reply.status, reply.error()),
        (StatusCode::BAD_REQUEST, "bad_request")
    );

    // Nothing was stored: a claim of alice finds nothing; her own packages are taken.
    let claim = mallory
        .call("POST", paths::CLAIM, Some(&json!({"user": "alice"})))
        .await;
    assert_eq!(claim.status, StatusCode::OK);
    let response: ClaimResponse = serde_json::from_value(claim.body).unwrap();
    assert!(response.key_packages.is_empty(), "{response:?}");
    let reply = publish(&alice, alice.key_packages(2)).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(reply.body["available"], 2);
    server.stop().await;
}

/// A device's one key signs in every suite of its scheme: it publishes packages in each,
/// each suite's stock is kept apart, and a claim for a group takes the group's suite. A
/// package of another suite than the publication names, or of a suite its key cannot sign
/// in, is refused and nothing is stored.
#[tokio::test]
async fn key_packages_are_kept_and_claimed_per_suite() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("ds.sqlite")).await;
    let (alice, bob) = (
        &registered(&server, "alice", "laptop").await,
        &registered(&server, "bob", "d").await,
    );
    let chacha = conclave_protocol::CipherSuite::X25519ChaCha20Ed25519;
    let in_suite = |suite: conclave_protocol::CipherSuite, count: usize| {
        let config = conclave_protocol::GroupConfig {
            ciphersuite: suite,
            ..conclave_protocol::GroupConfig::default()
        };
        alice
            .identity
            .key_packages(&alice.provider, &config, count)
            .unwrap()
            .into_iter()
            .map(|p| p.bytes)
            .collect::<Vec<_>>()
    };
    let publish_in = |suite: Option<u16>, packages: Vec<Vec<u8>>| {
        let body = json!({
            "ciphersuite": suite,
            "key_packages": packages.iter().map(|k| base64(k)).collect::<Vec<_>>(),
            "last_resort": null,
        });
        async move { alice.call("POST", paths::KEY_PACKAGES, Some(&body)).await }
    };
    let reply = publish_in(None, alice.key_packages(2)).await;
    assert_eq!(reply.body["ciphersuite"], 1, "{:?}", reply.body);
    let reply = publish_in(Some(3), in_suite(chacha, 3)).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(
        (&reply.body["ciphersuite"], &reply.body["available"]),
        (&json!(3), &json!(3))
    );

    // Packages of suite 3 published as suite 1's: refused.
    let reply = publish_in(Some(1), in_suite(chacha, 1)).await;
    assert_eq!(
        (reply.status, reply.error()),
        (StatusCode::BAD_REQUEST, "bad_request")
    );
    // A suite nobody supports, even with no package: refused.
    let reply = publish_in(Some(0x9999), Vec::new()).await;
    assert_eq!(
        (reply.status, reply.error()),
        (StatusCode::BAD_REQUEST, "bad_request")
    );
    // A P-256 package naming alice's device: her key is Ed25519, so it cannot be hers.
    let p256 = conclave_protocol::CipherSuite::P256Aes128P256;
    let provider = openmls_rust_crypto::OpenMlsRustCrypto::default();
    let other =
        conclave_protocol::Identity::create(&provider, alice.identity.member().clone(), p256)
            .unwrap();
    let config = conclave_protocol::GroupConfig {
        ciphersuite: p256,
        ..conclave_protocol::GroupConfig::default()
    };
    let packages = other.key_packages(&provider, &config, 1).unwrap();
    let reply = publish_in(Some(2), vec![packages[0].bytes.clone()]).await;
    assert_eq!(
        (reply.status, reply.error()),
        (StatusCode::FORBIDDEN, "forbidden")
    );
    let stock = alice
        .call("GET", paths::KEY_PACKAGE_STOCK, None::<&()>)
        .await;
    assert_eq!(
        stock.body["suites"],
        json!([
            {"ciphersuite": 1, "available": 2, "has_last_resort": false},
            {"ciphersuite": 3, "available": 3, "has_last_resort": false},
        ])
    );

    // Claims: the suite asked for, each device's registered one when none is named.
    let claim = |suite: Option<u16>| {
        let body = json!({"user": "alice", "ciphersuite": suite});
        async move {
            let reply = bob.call("POST", paths::CLAIM, Some(&body)).await;
            assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
            serde_json::from_value::<ClaimResponse>(reply.body).unwrap()
        }
    };
    let crypto = conclave_protocol::Crypto::default();
    let suite_of = |response: &ClaimResponse| {
        conclave_protocol::inspect_key_package(&crypto, &response.key_packages[0].key_package.0)
            .unwrap()
            .ciphersuite
    };
    assert_eq!(suite_of(&claim(Some(3)).await), chacha);
    assert_eq!(
        suite_of(&claim(None).await),
        conclave_protocol::CipherSuite::X25519Aes128Ed25519
    );
    let none = claim(Some(2)).await;
    assert!(none.key_packages.is_empty());
    assert_eq!(none.unavailable, ["laptop"]);
    server.stop().await;
}

async fn publish(device: &Device, packages: Vec<Vec<u8>>) -> support::Reply {
    let body = json!({
        "key_packages": packages.iter().map(|k| base64(k)).collect::<Vec<_>>(),
        "last_resort": null,
    });
    device.call("POST", paths::KEY_PACKAGES, Some(&body)).await
}

/// A key package past its lifetime is neither served nor counted: an inviter would refuse
/// it, and its owner has deleted (or will delete) its private keys.
#[tokio::test]
async fn expired_key_packages_are_not_served() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("ds.sqlite")).await;
    let bob = registered(&server, "bob", "d").await;
    let alice = registered(&server, "alice", "d").await;
    // Three seconds: long enough to still be alive when published on a loaded machine.
    let mut packages = bob.key_packages_living(2, 3);
    let lasting = bob.key_packages(1);
    packages.extend(lasting.iter().cloned());
    let reply = publish(&bob, packages).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(reply.body["available"], 3);

    // Lifetimes are whole seconds: four seconds on, the short-lived two are past theirs.
    tokio::time::sleep(std::time::Duration::from_millis(4_100)).await;
    let stock = bob.call("GET", paths::KEY_PACKAGE_STOCK, None::<&()>).await;
    assert_eq!(stock.body["suites"][0]["available"], 1);
    let claim = alice
        .call("POST", paths::CLAIM, Some(&json!({"user": "bob"})))
        .await;
    let response: ClaimResponse = serde_json::from_value(claim.body).unwrap();
    assert_eq!(response.key_packages.len(), 1);
    assert_eq!(response.key_packages[0].key_package.0, lasting[0]);
    let claim = alice
        .call("POST", paths::CLAIM, Some(&json!({"user": "bob"})))
        .await;
    let response: ClaimResponse = serde_json::from_value(claim.body).unwrap();
    assert!(response.key_packages.is_empty(), "{response:?}");
    assert_eq!(response.unavailable, vec!["d".to_owned()]);
    server.stop().await;
}

/// The server keeps a roster per group from the accepted commits: only members send, only
/// to members; a commit reaches every member; a Welcome goes only to the devices its commit
/// adds; a removed device's sends are refused; a non-member learns nothing of the group.
/// And an envelope must say what its MLS message's cleartext framing says.
#[tokio::test]
async fn only_members_reach_a_group() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("ds.sqlite")).await;
    let alice = registered(&server, "alice", "d").await;
    let bob = registered(&server, "bob", "d").await;
    let carol = registered(&server, "carol", "d").await;
    let mallory = registered(&server, "mallory", "d").await;
    start_group(&alice, b"g", &[&bob, &carol]).await;
    let forbidden = |reply: &support::Reply| {
        assert_eq!(
            (reply.status, reply.error()),
            (StatusCode::FORBIDDEN, "forbidden"),
            "{:?}",
            reply.body
        );
        assert!(
            reply.body.get("current_epoch").is_none(),
            "a non-member learns the epoch: {:?}",
            reply.body
        );
    };

    // A stranger's commit (which would move the epoch on for good), proposal and message.
    for kind in [
        MessageKind::Commit,
        MessageKind::Proposal,
        MessageKind::Application,
    ] {
        for epoch in [0, 1, 2] {
            forbidden(
                &mallory
                    .send(&envelope(b"g", epoch, kind, &[&alice, &bob, &carol], b"x"))
                    .await,
            );
        }
    }
    // Nor does a message for a group nobody started reach anyone; only a commit starts one.
    forbidden(
        &mallory
            .send(&envelope(
                b"new",
                0,
                MessageKind::Application,
                &[&alice],
                b"x",
            ))
            .await,
    );

    // Members send only to members.
    let reply = alice
        .send(&envelope(
            b"g",
            1,
            MessageKind::Application,
            &[&mallory],
            b"x",
        ))
        .await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{:?}",
        reply.body
    );
    // A commit that leaves a member out would leave it behind.
    let reply = alice
        .send(&envelope(
            b"g",
            1,
            MessageKind::Commit,
            &[&alice, &bob],
            b"c",
        ))
        .await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{:?}",
        reply.body
    );
    // A Welcome goes only to devices the commit adds.
    let mut rejoin = envelope(b"g", 1, MessageKind::Commit, &[&alice, &bob, &carol], b"c");
    rejoin.welcome = Some(WelcomeEnvelope {
        recipients: vec![bob.me()],
        message: welcome(b"w").into(),
        ratchet_tree: vec![0].into(),
    });
    let reply = alice.send(&rejoin).await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{:?}",
        reply.body
    );
    // Nor does a member remove itself (MLS forbids it: it asks to leave).
    let mut self_removal = envelope(b"g", 1, MessageKind::Commit, &[&alice, &bob, &carol], b"c");
    self_removal.removed = vec![alice.me()];
    let reply = alice.send(&self_removal).await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{:?}",
        reply.body
    );

    // The envelope's fields must be its message's.
    let mut other_group = envelope(b"g", 1, MessageKind::Application, &[&bob], b"x");
    other_group.message = stand_in::message(b"h", 1, MessageKind::Application, b"x").into();
    let mut other_epoch = envelope(b"g", 1, MessageKind::Application, &[&bob], b"x");
    other_epoch.message = stand_in::message(b"g", 7, MessageKind::Application, b"x").into();
    // A commit sent as an application message would dodge the one-commit-per-epoch rule.
    let mut other_kind = envelope(b"g", 1, MessageKind::Application, &[&bob], b"x");
    other_kind.message = stand_in::message(b"g", 1, MessageKind::Commit, b"x").into();
    let mut not_mls = envelope(b"g", 1, MessageKind::Application, &[&bob], b"x");
    not_mls.message = b"hello".to_vec().into();
    let mut fake_welcome = envelope(b"g", 1, MessageKind::Commit, &[&alice, &bob, &carol], b"c");
    fake_welcome.welcome = Some(WelcomeEnvelope {
        recipients: vec![mallory.me()],
        message: stand_in::message(b"g", 1, MessageKind::Application, b"w").into(),
        ratchet_tree: vec![0].into(),
    });
    for bad in [other_group, other_epoch, other_kind, not_mls, fake_welcome] {
        let reply = alice.send(&bad).await;
        assert_eq!(
            (reply.status, reply.error()),
            (StatusCode::BAD_REQUEST, "bad_request"),
            "{bad:?}"
        );
    }
    // None of it reached anyone, nor moved the group on.
    assert!(bob.fetch_all().await.is_empty());
    assert!(mallory.fetch_all().await.is_empty());

    // Alice removes carol: carol is told, and can send no more; the others carry on.
    let mut removal = envelope(b"g", 1, MessageKind::Commit, &[&alice, &bob, &carol], b"rm");
    removal.removed = vec![carol.me()];
    assert_eq!(alice.send(&removal).await.status, StatusCode::OK);
    assert_eq!(
        carol.fetch_all().await.len(),
        1,
        "the removed device gets its removal"
    );
    forbidden(
        &carol
            .send(&envelope(
                b"g",
                2,
                MessageKind::Application,
                &[&alice, &bob],
                b"still?",
            ))
            .await,
    );
    forbidden(
        &carol
            .send(&envelope(
                b"g",
                2,
                MessageKind::Commit,
                &[&alice, &bob, &carol],
                b"c",
            ))
            .await,
    );
    let reply = bob
        .send(&envelope(
            b"g",
            2,
            MessageKind::Application,
            &[&carol],
            b"x",
        ))
        .await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "carol is no member"
    );
    let reply = bob
        .send(&envelope(
            b"g",
            2,
            MessageKind::Application,
            &[&alice],
            b"on",
        ))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    // Adding her again by a commit's Welcome puts her back.
    let mut add = envelope(b"g", 2, MessageKind::Commit, &[&alice, &bob], b"add");
    add.welcome = Some(WelcomeEnvelope {
        recipients: vec![carol.me()],
        message: welcome(b"w").into(),
        ratchet_tree: vec![0].into(),
    });
    assert_eq!(bob.send(&add).await.status, StatusCode::OK);
    let reply = carol
        .send(&envelope(
            b"g",
            3,
            MessageKind::Application,
            &[&alice, &bob],
            b"back",
        ))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    server.stop().await;
}

async fn reject(device: &Device, epoch: u64) -> support::Reply {
    let body = json!({ "group_id": base64(b"g"), "epoch": epoch });
    device.call("POST", paths::REJECT, Some(&body)).await
}

/// A commit most of the other members refuse is undone: the group goes back to its epoch,
/// with the roster it was made among. A minority cannot undo one, nor can the sender, a
/// device the commit added, or a stranger.
#[tokio::test]
async fn a_commit_most_members_refuse_is_undone() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("ds.sqlite")).await;
    let alice = registered(&server, "alice", "d").await;
    let bob = registered(&server, "bob", "d").await;
    let carol = registered(&server, "carol", "d").await;
    let mallory = registered(&server, "mallory", "d").await;
    let dave = registered(&server, "dave", "d").await;
    let eve = registered(&server, "eve", "d").await;
    start_group(&alice, b"g", &[&bob, &carol, &mallory]).await; // epoch 1
    let everyone = [&alice, &bob, &carol, &mallory];

    // Mallory's commit at epoch 1 adds dave, and her next one at epoch 2 removes carol.
    let mut add = envelope(b"g", 1, MessageKind::Commit, &everyone, b"bad");
    add.welcome = Some(WelcomeEnvelope {
        recipients: vec![dave.me()],
        message: welcome(b"w").into(),
        ratchet_tree: vec![0].into(),
    });
    assert_eq!(mallory.send(&add).await.status, StatusCode::OK);
    let mut with_dave = everyone.to_vec();
    with_dave.push(&dave);
    let mut remove = envelope(b"g", 2, MessageKind::Commit, &with_dave, b"worse");
    remove.removed = vec![carol.me()];
    assert_eq!(mallory.send(&remove).await.status, StatusCode::OK);

    // Neither the sender, nor the device it added, nor a stranger may refuse it.
    assert_eq!(
        reject(&mallory, 1).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(reject(&dave, 1).await.status, StatusCode::FORBIDDEN);
    assert_eq!(reject(&eve, 1).await.status, StatusCode::FORBIDDEN);
    // One of three is not enough; refusing twice counts once.
    for _ in 0..2 {
        let one = reject(&alice, 1).await;
        assert_eq!(one.status, StatusCode::OK, "{:?}", one.body);
        assert_eq!(
            (one.body["votes"].as_u64(), one.body["voters"].as_u64()),
            (Some(1), Some(3))
        );
        assert_eq!(one.body["epoch"], 3);
    }
    // The second undoes both commits (the later one was made on top of it).
    let two = reject(&carol, 1).await;
    assert_eq!(two.status, StatusCode::OK, "{:?}", two.body);
    assert_eq!(two.body["epoch"], 1);
    // Back in epoch 1 with the roster of then: carol is in again, dave is not.
    let message = envelope(b"g", 1, MessageKind::Application, &[&bob, &carol], b"on");
    assert_eq!(alice.send(&message).await.status, StatusCode::OK);
    let to_dave = envelope(b"g", 1, MessageKind::Application, &[&dave], b"x");
    assert_eq!(
        alice.send(&to_dave).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let from_dave = envelope(b"g", 1, MessageKind::Application, &[&alice], b"x");
    assert_eq!(dave.send(&from_dave).await.status, StatusCode::FORBIDDEN);
    // Nothing is left to refuse, and the next commit of epoch 1 is taken.
    assert_eq!(
        reject(&bob, 1).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let next = envelope(b"g", 1, MessageKind::Commit, &everyone, b"good");
    assert_eq!(bob.send(&next).await.status, StatusCode::OK);
    server.stop().await;
}

/// Without a metrics token configured, metrics are not served at all.
#[tokio::test]
async fn metrics_are_not_served_without_a_token() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("ds.sqlite")).await;
    let reply = reqwest::get(format!("{}{}", server.url(), paths::METRICS))
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::NOT_FOUND);
    server.stop().await;
}
