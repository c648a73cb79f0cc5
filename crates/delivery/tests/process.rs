//! The real `conclave-ds` process, SIGKILLed and SIGTERMed while clients send: nothing the
//! server accepted is lost, and a replayed request stays refused after the restart.

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
