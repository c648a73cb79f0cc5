//! Reads never wait for the network: while a send hangs on a server that does not answer,
//! history, search and the conversation list answer at once, and a message written meanwhile
//! is stored and shown at once (the operation lock is held across the network; the store
//! only for a transaction).

mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use conclave_client::{Client, MessageState};
use support::*;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

/// A TCP proxy on 127.0.0.1 in front of a real server. Once held, it forwards no more
/// request bytes, on new and open connections alike, and answers nothing: a server that
/// hangs. Released, it forwards again on new connections.
struct Proxy {
    addr: SocketAddr,
    hold: Arc<AtomicBool>,
    held: Arc<Notify>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    async fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let hold = Arc::new(AtomicBool::new(false));
        let held = Arc::new(Notify::new());
        let (hold2, held2) = (hold.clone(), held.clone());
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (hold, held) = (hold2.clone(), held2.clone());
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    let (mut client_read, mut client_write) = client.into_split();
                    let (mut server_read, mut server_write) = server.into_split();
                    let answers = tokio::spawn(async move {
                        let _ = tokio::io::copy(&mut server_read, &mut client_write).await;
                    });
                    let mut buffer = vec![0u8; 64 * 1024];
                    loop {
                        let n = match client_read.read(&mut buffer).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        if hold.load(Ordering::SeqCst) {
                            // Swallow the request and keep the connection open, unanswered.
                            held.notify_one();
                            std::future::pending::<()>().await;
                        }
                        if server_write.write_all(&buffer[..n]).await.is_err() {
                            break;
                        }
                    }
                    answers.abort();
                });
            }
        });
        Proxy {
            addr,
            hold,
            held,
            task,
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// How long a read may take while an operation waits on the network.
const READ_BUDGET: Duration = Duration::from_millis(100);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_answer_while_a_send_waits_on_a_silent_server() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("ds.sqlite")).await;
    let proxy = Proxy::start(server.addr).await;
    // Alice reaches the server through the proxy; the request timeout is far longer than
    // the test waits, so only the locks decide whether her reads answer.
    let alice_config = conclave_client::ClientConfig {
        request_timeout: Duration::from_secs(60),
        ..config()
    };
    let alice = Client::create_with(
        &dir.path().join("alice"),
        "alice",
        &proxy.url(),
        alice_config,
    )
    .await
    .unwrap();
    let bob = client(dir.path(), "bob", &server).await;
    let (chat, theirs) = start_conversation(&alice, "Lunch", &[&bob]).await;
    alice.send_text(chat, "lunch at noon?").await.unwrap();

    proxy.hold.store(true, Ordering::SeqCst);
    let sender = alice.clone();
    let send = tokio::spawn(async move { sender.send_text(chat, "still waiting").await });
    tokio::time::timeout(Duration::from_secs(10), proxy.held.notified())
        .await
        .expect("the send reaches the silent server");

    let started = Instant::now();
    let history = alice.history(chat, None, 50).await.unwrap();
    let history_took = started.elapsed();
    let started = Instant::now();
    let found = alice.search("lunch", 10).await.unwrap();
    let search_took = started.elapsed();
    let started = Instant::now();
    let list = alice.conversations().await.unwrap();
    let list_took = started.elapsed();
    assert!(
        !send.is_finished(),
        "the send is still waiting on the server"
    );
    assert!(
        history_took < READ_BUDGET && search_took < READ_BUDGET && list_took < READ_BUDGET,
        "reads waited behind the network: history {history_took:?}, search {search_took:?}, \
         conversation list {list_took:?}"
    );
    let bodies: Vec<(&str, MessageState)> = history
        .iter()
        .map(|m| (m.message.body.as_str(), m.message.state))
        .collect();
    assert!(
        bodies.contains(&("lunch at noon?", MessageState::Sent)),
        "{bodies:?}"
    );
    assert!(
        bodies.contains(&("still waiting", MessageState::Pending)),
        "{bodies:?}"
    );
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].message.body, "lunch at noon?");
    assert_eq!(list.len(), 1);

    // A message written meanwhile is stored, and shown, at once; only its sending waits.
    let writer = alice.clone();
    let second = tokio::spawn(async move { writer.send_text(chat, "queued meanwhile").await });
    let started = Instant::now();
    loop {
        let newest = alice.history(chat, None, 1).await.unwrap();
        if newest[0].message.body == "queued meanwhile" {
            assert_eq!(newest[0].message.state, MessageState::Pending);
            break;
        }
        assert!(
            started.elapsed() < READ_BUDGET,
            "the message written meanwhile waited behind the network"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    assert!(
        !second.is_finished(),
        "its sending waits for the first send"
    );

    // The server comes back: the messages still waiting are sent, once each, and arrive.
    send.abort();
    second.abort();
    proxy.hold.store(false, Ordering::SeqCst);
    alice.flush_outbox().await.unwrap();
    bob.sync().await.unwrap();
    assert_eq!(
        texts(&bob, theirs[0]).await,
        [
            "alice: lunch at noon?",
            "alice: still waiting",
            "alice: queued meanwhile"
        ]
    );
}
