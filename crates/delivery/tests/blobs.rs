//! Attachments' blob store over real TCP on 127.0.0.1 with a real SQLite file: room is
//! made within a per-blob and per-user size, chunks are written by the uploader's user only
//! and never past the declared size, and any registered device (only) reads them.

mod support;

use conclave_delivery_api::paths;
use conclave_test_support::TestServer;
use reqwest::StatusCode;
use serde_json::json;
use support::{Device, base64};

#[tokio::test]
async fn blobs_are_bounded_written_by_their_user_and_read_by_registered_devices() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = TestServer::config(&dir.path().join("ds.sqlite"));
    config.limits.max_blob_bytes = 4096;
    config.limits.blob_quota_bytes = 6000;
    let server = TestServer::start_with(config).await;
    let alice = Device::new(&server.url(), "alice", "a");
    let bob = Device::new(&server.url(), "bob", "b");
    for d in [&alice, &bob] {
        assert_eq!(d.register().await.status, StatusCode::CREATED);
    }

    // Too large for one blob, then past the user's quota.
    let reply = alice
        .call("POST", paths::BLOBS, Some(&json!({"size": 5000})))
        .await;
    assert_eq!(reply.error(), "payload_too_large");
    let created = alice
        .call("POST", paths::BLOBS, Some(&json!({"size": 4000})))
        .await;
    assert_eq!(created.status, StatusCode::OK, "{:?}", created.body);
    let id = created.body["id"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 32);
    let reply = alice
        .call("POST", paths::BLOBS, Some(&json!({"size": 2001})))
        .await;
    assert_eq!(reply.error(), "quota_exceeded");

    // Written by its user only, never past its size, each chunk once.
    let chunk = json!({"data": base64(&[7u8; 3000])});
    let reply = bob
        .call("PUT", &paths::blob_chunk(&id, 0), Some(&chunk))
        .await;
    assert_eq!(reply.error(), "conflict");
    let reply = alice
        .call("PUT", &paths::blob_chunk(&id, 0), Some(&chunk))
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{:?}", reply.body);
    let again = alice
        .call("PUT", &paths::blob_chunk(&id, 0), Some(&chunk))
        .await;
    assert_eq!(
        again.status,
        StatusCode::NO_CONTENT,
        "the same bytes again are a no-op"
    );
    let other = json!({"data": base64(&[8u8; 3000])});
    assert_eq!(
        alice
            .call("PUT", &paths::blob_chunk(&id, 0), Some(&other))
            .await
            .error(),
        "conflict"
    );
    let reply = alice
        .call("PUT", &paths::blob_chunk(&id, 1), Some(&chunk))
        .await;
    assert_eq!(reply.error(), "conflict", "past the declared size");
    let missing = "00".repeat(16);
    let reply = alice
        .call("PUT", &paths::blob_chunk(&missing, 0), Some(&chunk))
        .await;
    assert_eq!(reply.error(), "not_found");

    // Any registered device reads; an unsigned request does not.
    let read = bob
        .call("GET", &paths::blob_chunk(&id, 0), None::<&()>)
        .await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.body["data"], chunk["data"]);
    assert_eq!(
        bob.call("GET", &paths::blob_chunk(&id, 1), None::<&()>)
            .await
            .error(),
        "not_found"
    );
    let unsigned = reqwest::get(format!("{}{}", server.url(), paths::blob_chunk(&id, 0)))
        .await
        .unwrap();
    assert_eq!(unsigned.status(), StatusCode::UNAUTHORIZED);
    let reply = bob.call("GET", "/v1/blobs/NOTHEX/0", None::<&()>).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    server.stop().await;
}
