//! The server's resource limits, each over a real server on 127.0.0.1: what a device (or a
//! stranger) that tries to exhaust them gets is a clear 4xx, and everyone else is still
//! served.

mod support;

use std::time::Duration;

use conclave_delivery::{Config, Limits};
use conclave_delivery_api::{DeviceRef, MessageKind};
use conclave_test_support::TestServer;
use futures_util::StreamExt;
use reqwest::StatusCode;
use support::stand_in::payload;
use support::{Device, envelope, start_group};

async fn registered(server: &TestServer, user: &str, device: &str) -> Device {
    let d = Device::new(&server.url(), user, device);
    let reply = d.register().await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    d
}

/// A server with the test defaults and `limits` applied over them.
async fn server_with(dir: &std::path::Path, limits: impl FnOnce(&mut Limits)) -> TestServer {
    let mut config: Config = TestServer::config(&dir.join("ds.sqlite"));
    limits(&mut config.limits);
    TestServer::start_with(config).await
}

async fn send_text(from: &Device, group: &[u8], epoch: u64, to: &[&Device], text: &[u8]) -> u16 {
    let reply = from
        .send(&envelope(group, epoch, MessageKind::Application, to, text))
        .await;
    reply.status.as_u16()
}

#[tokio::test]
async fn a_page_is_bounded_in_bytes_and_a_large_item_still_comes_alone() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with(dir.path(), |l| l.max_page_bytes = 10_000).await;
    let alice = registered(&server, "alice", "d").await;
    let bob = registered(&server, "bob", "d").await;
    start_group(&alice, b"g", &[&bob]).await;
    for n in 0..5u8 {
        assert_eq!(send_text(&alice, b"g", 1, &[&bob], &[n; 4_000]).await, 200);
    }
    assert_eq!(send_text(&alice, b"g", 1, &[&bob], &[9; 12_000]).await, 200);

    let first = bob.fetch(0, 500).await;
    assert_eq!(
        first.items.len(),
        2,
        "two 4 kB items fit in 10 kB, three do not"
    );
    assert!(first.more);
    let all = bob.fetch_all().await;
    let sizes: Vec<usize> = all.iter().map(|i| payload(&i.message.0).len()).collect();
    assert_eq!(sizes, [4_000, 4_000, 4_000, 4_000, 4_000, 12_000]);
    let last = bob.fetch(all[4].seq, 500).await;
    assert_eq!(
        last.items.len(),
        1,
        "an item over the page size comes alone"
    );
    assert!(!last.more);
    server.stop().await;
}

#[tokio::test]
async fn a_full_queue_refuses_the_delivery_and_a_commit_can_still_remove_its_device() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with(dir.path(), |l| l.queue_max_items = 3).await;
    let alice = registered(&server, "alice", "d").await;
    let bob = registered(&server, "bob", "d").await;
    let carol = registered(&server, "carol", "d").await;
    start_group(&alice, b"g", &[&bob, &carol]).await;
    start_group(&alice, b"h", &[&carol]).await;

    // bob never reads: three items fill his queue. carol reads hers.
    for n in 0..3u8 {
        assert_eq!(send_text(&alice, b"g", 1, &[&bob, &carol], &[n]).await, 200);
    }
    assert_eq!(carol.ack_all().await, 3);
    let reply = alice
        .send(&envelope(
            b"g",
            1,
            MessageKind::Application,
            &[&bob, &carol],
            b"x",
        ))
        .await;
    assert_eq!(
        (reply.status, reply.error()),
        (StatusCode::TOO_MANY_REQUESTS, "queue_full"),
        "{:?}",
        reply.body
    );
    let full: Vec<DeviceRef> = serde_json::from_value(reply.body["recipients"].clone()).unwrap();
    assert_eq!(full, vec![bob.me()]);
    // Nothing was delivered, to anyone.
    assert_eq!(carol.fetch_all().await.len(), 0);

    // Everyone else is served: another group, another sender.
    assert_eq!(
        send_text(&alice, b"h", 1, &[&carol], b"other group").await,
        200
    );
    assert_eq!(send_text(&carol, b"h", 1, &[&alice], b"reply").await, 200);

    // A commit that removes bob goes through, whatever his queue holds.
    let mut removal = envelope(b"g", 1, MessageKind::Commit, &[&bob, &carol], b"remove bob");
    removal.removed = vec![bob.me()];
    let reply = alice.send(&removal).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);

    // Reading frees the queue.
    assert_eq!(bob.ack_all().await, 4);
    start_group(&carol, b"k", &[&bob]).await;
    assert_eq!(send_text(&carol, b"k", 1, &[&bob], b"again").await, 200);
    server.stop().await;
}

#[tokio::test]
async fn a_queue_over_its_byte_quota_is_full_too() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with(dir.path(), |l| l.queue_max_bytes = 50_000).await;
    let alice = registered(&server, "alice", "d").await;
    let bob = registered(&server, "bob", "d").await;
    start_group(&alice, b"g", &[&bob]).await;
    assert_eq!(send_text(&alice, b"g", 1, &[&bob], &[1; 30_000]).await, 200);
    let reply = alice
        .send(&envelope(
            b"g",
            1,
            MessageKind::Application,
            &[&bob],
            &[2; 30_000],
        ))
        .await;
    assert_eq!(reply.error(), "queue_full", "{:?}", reply.body);
    // A small one still fits.
    assert_eq!(send_text(&alice, b"g", 1, &[&bob], &[3; 1_000]).await, 200);
    server.stop().await;
}

#[tokio::test]
async fn a_flood_of_registrations_is_limited_per_address_and_overall() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with(dir.path(), |l| {
        l.registrations_per_address = 3;
        l.registrations_per_hour = 5;
    })
    .await;
    let alice = registered(&server, "alice", "d").await;
    let mut statuses = Vec::new();
    let mut flood = Vec::new();
    for n in 0..5 {
        let d = Device::new(&server.url(), &format!("flood{n}"), "d");
        statuses.push(d.register().await.status.as_u16());
        flood.push(d);
    }
    assert_eq!(statuses, [201, 201, 429, 429, 429], "three per address");

    // Another address has its own allowance, until the overall one is used up.
    let elsewhere = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
        .build()
        .unwrap();
    let mut statuses = Vec::new();
    for n in 0..3 {
        let mut d = Device::new(&server.url(), &format!("other{n}"), "d");
        d.http = elsewhere.clone();
        let reply = d.register().await;
        statuses.push((reply.status.as_u16(), reply.error().to_owned()));
    }
    assert_eq!(
        statuses,
        [
            (201, String::new()),
            (201, String::new()),
            (429, "rate_limited".to_owned())
        ],
        "five in all"
    );

    // A registration body is small: a large one is refused before it is read.
    let mut big = Device::new(&server.url(), "big", "d");
    big.http = elsewhere;
    let reply = big
        .call(
            "POST",
            "/v1/register",
            Some(&serde_json::json!({"padding": "x".repeat(100_000)})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);

    // Registered devices are still served.
    let bob = &flood[0];
    start_group(&alice, b"g", &[bob]).await;
    assert_eq!(send_text(&alice, b"g", 1, &[bob], b"still here").await, 200);
    server.stop().await;
}

#[tokio::test]
async fn devices_per_user_are_capped() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with(dir.path(), |l| l.max_devices_per_user = 2).await;
    let laptop = registered(&server, "alice", "laptop").await;
    let phone = Device::new(&server.url(), "alice", "phone");
    assert_eq!(laptop.add_device(&phone).await.status, StatusCode::CREATED);
    let tablet = Device::new(&server.url(), "alice", "tablet");
    let reply = laptop.add_device(&tablet).await;
    assert_eq!(
        (reply.status, reply.error()),
        (StatusCode::FORBIDDEN, "too_many_devices")
    );
    assert_eq!(
        phone.add_device(&tablet).await.error(),
        "too_many_devices",
        "the cap is the user's, whichever device asks"
    );
    server.stop().await;
}

#[tokio::test]
async fn push_sockets_are_capped_per_device_and_overall() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with(dir.path(), |l| {
        l.sockets_per_device = 2;
        l.max_push_sockets = 3;
    })
    .await;
    let alice = registered(&server, "alice", "d").await;
    let bob = registered(&server, "bob", "d").await;
    let carol = registered(&server, "carol", "d").await;
    start_group(&alice, b"g", &[&bob]).await;

    let connect = |d: &Device| tokio_tungstenite::connect_async(d.push_request(server.addr));
    let (mut first, _) = connect(&bob).await.unwrap();
    let (_second, _) = connect(&bob).await.unwrap();
    let (mut third, _) = connect(&bob).await.unwrap();
    // The third closed the first: a device that reconnects is never locked out.
    let closed = tokio::time::timeout(Duration::from_secs(5), first.next())
        .await
        .expect("the oldest socket is closed within 5 s");
    match closed {
        Some(Ok(tokio_tungstenite::tungstenite::Message::Close(Some(frame)))) => {
            assert_eq!(u16::from(frame.code), 1013)
        }
        other => panic!("expected a close frame, got {other:?}"),
    }
    let (_carols, _) = connect(&carol).await.unwrap();
    // Three sockets open: the server takes no more.
    match connect(&alice).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS)
        }
        other => panic!("expected 429, got {:?}", other.map(|_| ())),
    }
    // Everyone is still served, pushes included.
    assert_eq!(send_text(&alice, b"g", 1, &[&bob], b"pushed").await, 200);
    let frame = tokio::time::timeout(Duration::from_secs(5), third.next())
        .await
        .expect("a push within 5 s");
    assert!(frame.unwrap().unwrap().is_text());
    server.stop().await;
}

#[tokio::test]
async fn large_requests_beyond_the_memory_budget_wait_their_turn() {
    let dir = tempfile::tempdir().unwrap();
    // Each 40 kB request is counted twice, so the budget holds one at a time.
    let server = server_with(dir.path(), |l| {
        l.max_body_bytes = 64 * 1024;
        l.memory_budget_bytes = 120 * 1024;
    })
    .await;
    let alice = std::sync::Arc::new(registered(&server, "alice", "d").await);
    let bob = registered(&server, "bob", "d").await;
    start_group(&alice, b"g", &[&bob]).await;

    // An upload that stalls half-way holds its share...
    let mut stalled = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let signed = conclave_delivery_api::auth::sign_request(
        &alice.identity,
        "POST",
        "/v1/messages",
        b"",
        &conclave_delivery_api::auth::fresh_identity("alice", "d"),
    )
    .unwrap();
    let mut head = "POST /v1/messages HTTP/1.1\r\nhost: x\r\ncontent-length: 40000\r\n".to_owned();
    for (name, value) in signed {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n{\"group_id\":\"");
    tokio::io::AsyncWriteExt::write_all(&mut stalled, head.as_bytes())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    // ... small requests still fit beside it ...
    assert_eq!(send_text(&alice, b"g", 1, &[&bob], b"small").await, 200);
    // ... a large one of another user waits (one user could hold no more) ...
    let bob = std::sync::Arc::new(bob);
    let waiting = {
        let bob = bob.clone();
        let e = envelope(b"g", 1, MessageKind::Application, &[&alice], &[7; 30_000]);
        tokio::spawn(async move { bob.send(&e).await.status })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !waiting.is_finished(),
        "the budget let a second large request in"
    );
    // ... and proceeds once the share is given back.
    drop(stalled);
    assert_eq!(waiting.await.unwrap(), StatusCode::OK);

    assert_eq!(bob.fetch_all().await.len(), 1);
    assert_eq!(alice.fetch_all().await.len(), 1);
    server.stop().await;
}

#[tokio::test]
async fn connections_are_capped_per_address_and_overall() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().unwrap();
    let server = server_with(dir.path(), |l| {
        l.connections_per_address = 3;
        l.max_connections = 5;
    })
    .await;
    async fn health(stream: &mut tokio::net::TcpStream) -> Option<String> {
        let request = b"GET /health HTTP/1.1\r\nhost: x\r\n\r\n";
        stream.write_all(request).await.ok()?;
        let mut buf = [0u8; 512];
        let n = tokio::time::timeout(Duration::from_secs(2), stream.read(&mut buf))
            .await
            .ok()?
            .ok()?;
        (n > 0).then(|| String::from_utf8_lossy(&buf[..n]).into_owned())
    }
    let from = |last: u8| {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket
            .bind(std::net::SocketAddr::from(([127, 0, 0, last], 0)))
            .unwrap();
        socket.connect(server.addr)
    };
    let mut mine = Vec::new();
    for _ in 0..3 {
        let mut s = from(1).await.unwrap();
        assert!(health(&mut s).await.unwrap().contains("200 OK"));
        mine.push(s);
    }
    // A fourth from the same address is closed unanswered.
    let mut fourth = from(1).await.unwrap();
    assert_eq!(health(&mut fourth).await, None);
    // Another address is served, up to the overall cap of five...
    let mut other = Vec::new();
    for _ in 0..2 {
        let mut s = from(2).await.unwrap();
        assert!(health(&mut s).await.unwrap().contains("200 OK"));
        other.push(s);
    }
    // ... past which a connection waits, and is served once another closes.
    let mut waiting = from(3).await.unwrap();
    assert_eq!(health(&mut waiting).await, None, "served beyond the cap");
    drop(mine.pop());
    let mut buf = [0u8; 512];
    let n = tokio::time::timeout(Duration::from_secs(5), waiting.read(&mut buf))
        .await
        .expect("served within 5 s of a slot freeing")
        .unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).contains("200 OK"));
    server.stop().await;
}

#[tokio::test]
async fn a_socket_that_never_reads_holds_nothing_back() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = TestServer::config(&dir.path().join("ds.sqlite"));
    config.durability = conclave_delivery::Durability::Process;
    let server = TestServer::start_with(config).await;
    let alice = std::sync::Arc::new(registered(&server, "alice", "d").await);
    let bob = registered(&server, "bob", "d").await;
    let carol = registered(&server, "carol", "d").await;
    start_group(&alice, b"g", &[&bob, &carol]).await;

    // bob's socket has the smallest receive buffer the kernel allows, and is never read.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(1).unwrap();
    let stream = socket.connect(server.addr).await.unwrap();
    let (_unread, _) = tokio_tungstenite::client_async(bob.push_request(server.addr), stream)
        .await
        .unwrap();
    let (mut carols, _) = tokio_tungstenite::connect_async(carol.push_request(server.addr))
        .await
        .unwrap();

    let mut sent = 0;
    while sent < 1_000 {
        let sends = (0..16).map(|_| {
            let alice = alice.clone();
            let e = envelope(b"g", 1, MessageKind::Application, &[&bob, &carol], b"x");
            tokio::spawn(async move { alice.send(&e).await.status })
        });
        for status in futures_util::future::join_all(sends).await {
            assert_eq!(status.unwrap(), StatusCode::OK);
        }
        sent += 16;
    }
    // carol, who reads, hears of the last item; pushes coalesce, so she may hear of fewer
    // than all of them, never of one twice.
    let mut told = Vec::new();
    while told.last() != Some(&(sent as u64 + 1)) {
        let frame = tokio::time::timeout(Duration::from_secs(5), carols.next())
            .await
            .expect("carol hears of the newest item within 5 s")
            .unwrap()
            .unwrap();
        let frame: conclave_delivery_api::PushFrame =
            serde_json::from_str(frame.to_text().unwrap()).unwrap();
        told.push(frame.seq);
    }
    assert!(told.windows(2).all(|w| w[0] < w[1]), "{told:?}");
    // Everything is in bob's queue, and everyone is served.
    assert_eq!(bob.fetch_all().await.len(), sent);
    assert_eq!(
        send_text(&alice, b"g", 1, &[&bob, &carol], b"after").await,
        200
    );
    server.stop().await;
}

#[tokio::test]
async fn a_client_that_sends_its_headers_slowly_is_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().unwrap();
    let server = server_with(dir.path(), |l| l.header_timeout = Duration::from_secs(1)).await;
    let alice = registered(&server, "alice", "d").await;
    let mut slow = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    slow.write_all(b"GET /health HTTP/1.1\r\nhost: x\r\n")
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let mut buf = [0u8; 256];
    let read = tokio::time::timeout(Duration::from_secs(10), slow.read(&mut buf))
        .await
        .expect("the server closes the connection within 10 s");
    // Closed (perhaps with a 408 first), about when the header timeout ran out.
    match read {
        Ok(0) | Err(_) => {}
        Ok(n) => assert!(
            String::from_utf8_lossy(&buf[..n]).contains("408"),
            "{}",
            String::from_utf8_lossy(&buf[..n])
        ),
    }
    assert!(started.elapsed() < Duration::from_secs(5));
    // Everyone else is served.
    let reply = alice
        .call("GET", "/v1/key-packages/stock", None::<&()>)
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    server.stop().await;
}
