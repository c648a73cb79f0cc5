//! The real `conclave-ds` process, SIGKILLed and SIGTERMed while clients send: nothing the
//! server accepted is lost, and a replayed request stays refused after the restart; on
//! PostgreSQL, one of two nodes killed under a chat of real clients.

mod support;

use std::collections::HashSet;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use conclave_delivery::Database;
use conclave_delivery_api::MessageKind;
use conclave_delivery_api::auth::fresh_identity;
use reqwest::StatusCode;
use support::stand_in::payload;
use support::{Device, envelope, start_group};

struct Ds {
    child: Child,
    url: String,
}

impl Drop for Ds {
    /// A failing test must not leave a server behind.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

// The child is owned by the returned `Ds`, whose `Drop` reaps it.
#[allow(clippy::zombie_processes)]
async fn start(db: &Path, port: u16) -> Ds {
    let mut child = Command::new(env!("CARGO_BIN_EXE_conclave-ds"))
        .args(["--listen", &format!("127.0.0.1:{port}"), "--db"])
        .arg(match conclave_test_support::database(db) {
            Database::Sqlite(path) => path.into_os_string(),
            Database::Postgres(url) => url.into(),
        })
        .args(["--requests-per-second", "100000", "--burst", "100000"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let healthy = match reqwest::get(format!("{url}/health")).await {
            Ok(r) => r.status() == StatusCode::OK,
            Err(_) => false,
        };
        if healthy {
            return Ds { child, url };
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("conclave-ds did not start");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Senders stream messages to Bob until stopped; returns what the server accepted.
async fn stream_until(
    alice: Arc<Device>,
    bob: Arc<Device>,
    stop_after: Duration,
    stop: impl FnOnce(),
) -> HashSet<Vec<u8>> {
    let accepted = Arc::new(Mutex::new(HashSet::new()));
    let mut tasks = Vec::new();
    for sender in 0..8u8 {
        let (alice, bob, accepted) = (alice.clone(), bob.clone(), accepted.clone());
        tasks.push(tokio::spawn(async move {
            for n in 0..10_000u32 {
                let mut payload = vec![sender];
                payload.extend_from_slice(&n.to_be_bytes());
                let env = envelope(b"stream", 1, MessageKind::Application, &[&bob], &payload);
                let body = serde_json::to_vec(&env).unwrap();
                let id = fresh_identity("alice", "d");
                let reply = tokio::time::timeout(
                    Duration::from_secs(5),
                    alice.try_send_with("POST", "/v1/messages", body, &id),
                )
                .await;
                match reply {
                    Ok(Some(StatusCode::OK)) => {
                        accepted.lock().unwrap().insert(payload);
                    }
                    _ => return, // the server is gone
                }
            }
        }));
    }
    tokio::time::sleep(stop_after).await;
    stop();
    for t in tasks {
        t.await.unwrap();
    }
    Arc::try_unwrap(accepted).unwrap().into_inner().unwrap()
}

impl Device {
    async fn try_send_with(
        &self,
        method: &str,
        path: &str,
        body: Vec<u8>,
        id: &conclave_delivery_api::auth::RequestIdentity,
    ) -> Option<StatusCode> {
        let headers =
            conclave_delivery_api::auth::sign_request(&self.identity, method, path, &body, id)
                .ok()?;
        let mut request = self
            .http
            .request(method.parse().ok()?, format!("{}{path}", self.base))
            .body(body);
        for (n, v) in headers {
            request = request.header(n, v);
        }
        Some(request.send().await.ok()?.status())
    }
}

async fn run_crash(signal: &str) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ds.sqlite");
    let port = free_port();
    let mut ds = start(&db, port).await;
    let alice = Arc::new(Device::new(&ds.url, "alice", "d"));
    let bob = Arc::new(Device::new(&ds.url, "bob", "d"));
    assert_eq!(alice.register().await.status, StatusCode::CREATED);
    assert_eq!(bob.register().await.status, StatusCode::CREATED);
    start_group(&alice, b"stream", &[&bob]).await;

    // One accepted request kept aside, to replay after the restart.
    let kept_body = serde_json::to_vec(&envelope(
        b"stream",
        1,
        MessageKind::Application,
        &[&bob],
        b"kept",
    ))
    .unwrap();
    let kept_id = fresh_identity("alice", "d");
    assert_eq!(
        alice
            .try_send_with("POST", "/v1/messages", kept_body.clone(), &kept_id)
            .await,
        Some(StatusCode::OK)
    );

    let pid = ds.child.id();
    let accepted = stream_until(
        alice.clone(),
        bob.clone(),
        Duration::from_millis(400),
        || {
            let status = Command::new("kill")
                .args([signal, &pid.to_string()])
                .status()
                .unwrap();
            assert!(status.success());
        },
    )
    .await;
    let status = ds.child.wait().unwrap();
    if signal == "-TERM" {
        assert!(
            status.success(),
            "SIGTERM must stop the server cleanly, got {status}"
        );
    } else {
        assert!(
            status.code().is_none(),
            "SIGKILL ends the process by signal"
        );
    }
    assert!(
        accepted.len() > 50,
        "only {} messages were accepted before the signal",
        accepted.len()
    );

    // Same port and database: the clients' URLs stay valid.
    let mut ds2 = start(&db, port).await;
    let received: Vec<Vec<u8>> = bob
        .fetch_all()
        .await
        .into_iter()
        .map(|i| payload(&i.message.0))
        .collect();
    let unique: HashSet<&Vec<u8>> = received.iter().collect();
    assert_eq!(unique.len(), received.len(), "a message was queued twice");
    for payload in &accepted {
        assert!(
            unique.contains(payload),
            "an accepted message was lost after {signal}"
        );
    }
    assert!(unique.contains(&b"kept".to_vec()));
    // The replayed request is refused: its nonce was stored with its effect.
    let replay = alice
        .try_send_with("POST", "/v1/messages", kept_body, &kept_id)
        .await;
    assert_eq!(replay, Some(StatusCode::UNAUTHORIZED));
    ds2.child.kill().unwrap();
    ds2.child.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_stream_loses_nothing_accepted() {
    run_crash("-KILL").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_mid_stream_finishes_and_loses_nothing() {
    run_crash("-TERM").await;
}

#[tokio::test]
async fn help_and_bad_flags() {
    let out = Command::new(env!("CARGO_BIN_EXE_conclave-ds"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for flag in ["--listen", "--db", "--retention-days", "--max-body-bytes"] {
        assert!(text.contains(flag), "--help lacks {flag}");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_conclave-ds"))
        .args(["--listen", "nonsense"])
        .output()
        .unwrap();
    assert!(!out.status.success());
}

/// A load balancer in front of several nodes, as a TCP proxy on 127.0.0.1: each new
/// connection goes to the first node that accepts one. Stops with the test's runtime.
async fn balancer(ports: Vec<u16>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let ports = ports.clone();
            tokio::spawn(async move {
                for port in ports {
                    if let Ok(mut node) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await
                    {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut node).await;
                        return;
                    }
                }
            });
        }
    });
    url
}

/// Two nodes on one throwaway PostgreSQL, and a load balancer in front of them (node A
/// first): the test's directory, the nodes and the balancer's URL. `None` (and a line
/// saying so) without PostgreSQL.
async fn two_nodes() -> Option<(tempfile::TempDir, Ds, Ds, String)> {
    if !conclave_test_support::postgres::enabled() {
        eprintln!("several nodes share a PostgreSQL only (CONCLAVE_TEST_POSTGRES=1)");
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ds.sqlite");
    let (port_a, port_b) = (free_port(), free_port());
    let node_a = start(&db, port_a).await;
    let node_b = start(&db, port_b).await;
    let front = balancer(vec![port_a, port_b]).await;
    Some((dir, node_a, node_b, front))
}

/// Two nodes on one PostgreSQL behind a load balancer; Alice sends through the balancer
/// (so to node A while it lives), Bob listens on node B. Node A is SIGKILLed mid-stream.
/// Alice's senders carry on through node B, sending a request whose answer the kill
/// swallowed again exactly as it was signed (accepted then, or refused as a replay because
/// it already was); Bob heard of node A's deliveries on node B's socket, and reads every
/// accepted message exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_killed_mid_stream_fails_over_to_the_other() {
    let Some((_dir, mut node_a, node_b, front)) = two_nodes().await else {
        return;
    };
    let alice = Arc::new(Device::new(&front, "alice", "d"));
    let bob = Arc::new(Device::new(&node_b.url, "bob", "d"));
    assert_eq!(alice.register().await.status, StatusCode::CREATED);
    assert_eq!(bob.register().await.status, StatusCode::CREATED);
    start_group(&alice, b"stream", &[&bob]).await;
    let b_addr = node_b.url.trim_start_matches("http://").parse().unwrap();
    let (mut socket, _) = tokio_tungstenite::connect_async(bob.push_request(b_addr))
        .await
        .unwrap();

    // A delivery node A accepted reaches Bob's socket on node B.
    let first = envelope(b"stream", 1, MessageKind::Application, &[&bob], b"first");
    assert_eq!(alice.send(&first).await.status, StatusCode::OK);
    let frame = tokio::time::timeout(
        Duration::from_secs(5),
        futures_util::StreamExt::next(&mut socket),
    )
    .await
    .expect("a push from the other node within 5 s");
    assert!(frame.is_some_and(|f| f.is_ok()));

    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let accepted = Arc::new(Mutex::new(HashSet::new()));
    let mut senders = Vec::new();
    for sender in 0..4u8 {
        let (alice, bob, stop, accepted) =
            (alice.clone(), bob.clone(), stop.clone(), accepted.clone());
        senders.push(tokio::spawn(async move {
            let mut n = 0u32;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let mut payload = vec![sender];
                payload.extend_from_slice(&n.to_be_bytes());
                n += 1;
                let env = envelope(b"stream", 1, MessageKind::Application, &[&bob], &payload);
                let body = serde_json::to_vec(&env).unwrap();
                let id = fresh_identity("alice", "d");
                let mut answered = false;
                for _ in 0..100 {
                    let reply = tokio::time::timeout(
                        Duration::from_secs(5),
                        alice.try_send_with("POST", "/v1/messages", body.clone(), &id),
                    )
                    .await;
                    match reply {
                        // Accepted now, or refused as a replay: accepted before, by the
                        // node that was killed before it could answer.
                        Ok(Some(StatusCode::OK | StatusCode::UNAUTHORIZED)) => {
                            accepted.lock().unwrap().insert(payload.clone());
                            answered = true;
                            break;
                        }
                        Ok(Some(other)) => panic!("refused with {other}"),
                        _ => tokio::time::sleep(Duration::from_millis(20)).await,
                    }
                }
                assert!(answered, "no node answered for 100 tries");
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before_kill = accepted.lock().unwrap().len();
    node_a.child.kill().unwrap();
    node_a.child.wait().unwrap();
    tokio::time::sleep(Duration::from_millis(800)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for sender in senders {
        sender.await.unwrap();
    }
    let accepted = Arc::try_unwrap(accepted).unwrap().into_inner().unwrap();
    assert!(
        before_kill > 20,
        "only {before_kill} accepted before the kill"
    );
    assert!(
        accepted.len() > before_kill + 20,
        "only {} accepted after the kill, through node B",
        accepted.len() - before_kill
    );

    let received: Vec<Vec<u8>> = bob
        .fetch_all()
        .await
        .into_iter()
        .map(|i| payload(&i.message.0))
        .collect();
    let unique: HashSet<&Vec<u8>> = received.iter().collect();
    assert_eq!(unique.len(), received.len(), "a message was queued twice");
    for payload in &accepted {
        assert!(unique.contains(payload), "an accepted message was lost");
    }
    drop(node_b);
}

/// The chat of two real clients (the engine, over their profiles) on two nodes of one
/// PostgreSQL: Alice through a load balancer (so on node A while it lives), Bob on node B.
/// Bob hears Alice's messages by push across nodes; node A is SIGKILLed while Alice sends;
/// her client reconnects through the balancer to node B and sends what was pending, and Bob
/// shows every message once, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chat_carries_on_through_the_other_node_when_its_node_is_killed() {
    use conclave_client::{Client, ClientConfig, ClientEvent, MessageKind, MessageState, UserName};
    let Some((dir, mut node_a, node_b, front)) = two_nodes().await else {
        return;
    };
    let config = || ClientConfig {
        rotation_interval: None,
        key_package_stock: 4,
        min_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(200),
        request_timeout: Duration::from_secs(5),
        ..ClientConfig::default()
    };
    let alice = Client::create_with(&dir.path().join("alice"), "alice", &front, config())
        .await
        .unwrap();
    let bob = Client::create_with(&dir.path().join("bob"), "bob", &node_b.url, config())
        .await
        .unwrap();
    let mut bob_events = bob.subscribe();
    let _bob_background = bob.start();
    let _alice_background = alice.start();
    let a = alice
        .create_conversation("Failover", &[UserName::new("bob").unwrap()])
        .await
        .unwrap();
    let bobs = async {
        loop {
            match bob_events.recv().await.unwrap() {
                ClientEvent::ConversationJoined { conversation, .. } => return conversation,
                _ => continue,
            }
        }
    };
    let b = tokio::time::timeout(Duration::from_secs(20), bobs)
        .await
        .expect("bob joins by push within 20 s");

    // Node A takes the first message; Bob hears of it on node B's socket.
    let mut sent = vec![alice.send_text(a, "0").await.unwrap()];
    let pushed = async {
        loop {
            if let ClientEvent::MessageReceived { message, .. } = bob_events.recv().await.unwrap()
                && message.message.kind == MessageKind::Text
            {
                return message.message.body;
            }
        }
    };
    let body = tokio::time::timeout(Duration::from_secs(10), pushed)
        .await
        .expect("a push across nodes within 10 s (the background polls every 30 s)");
    assert_eq!(body, "0");

    let count = 60;
    for n in 1..count {
        if n == count / 3 {
            node_a.child.kill().unwrap();
            node_a.child.wait().unwrap();
        }
        sent.push(alice.send_text(a, &n.to_string()).await.unwrap());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let deadline = Instant::now() + Duration::from_secs(60);
    for id in &sent {
        loop {
            let state = alice.message(*id).await.unwrap().unwrap().message.state;
            if state == MessageState::Sent {
                break;
            }
            assert_ne!(state, MessageState::Failed, "a message failed");
            assert!(Instant::now() < deadline, "alice's messages not all sent");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let expected: Vec<String> = (0..count).map(|n| n.to_string()).collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut history = bob.history(b, None, 10_000).await.unwrap();
        history.reverse();
        let texts: Vec<String> = history
            .into_iter()
            .filter(|m| m.message.kind == MessageKind::Text)
            .map(|m| m.message.body)
            .collect();
        if texts.len() >= expected.len() || Instant::now() >= deadline {
            assert_eq!(texts, expected, "bob shows each message once, in order");
            break;
        }
        bob.sync().await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(node_b);
}
