//! A server (or a network attacker in front of a local one) that answers with more than any
//! real answer: the client stops reading at its limit instead of holding what it is sent.

mod support;

use std::time::{Duration, Instant};

use conclave_client::{Client, ClientError};

/// A "server" on 127.0.0.1 whose every answer is a body that never ends.
async fn endless_server() -> String {
    let app = axum::Router::new().fallback(|| async {
        let chunk = axum::body::Bytes::from(vec![b' '; 1 << 20]);
        let endless = futures_util::stream::repeat_with(move || {
            Ok::<_, std::convert::Infallible>(chunk.clone())
        });
        (
            axum::http::StatusCode::CREATED,
            axum::body::Body::from_stream(endless),
        )
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

#[tokio::test]
async fn an_endless_answer_is_cut_off_at_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let url = endless_server().await;
    let started = Instant::now();
    let result =
        Client::create_with(&dir.path().join("alice"), "alice", &url, support::config()).await;
    match result {
        Err(ClientError::BadResponse(message)) => {
            assert!(message.contains("over 64 MiB"), "{message}")
        }
        Err(other) => panic!("expected a refused answer, got {other}"),
        Ok(_) => panic!("registered against an endless answer"),
    }
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "the client read for {:?}",
        started.elapsed()
    );
}
