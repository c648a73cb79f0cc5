//! Linked devices at the server, over real TCP on 127.0.0.1 with a real SQLite file:
//! grants (the only way into an existing user), link chunks (ciphertext the server holds
//! for a while, writable only by one user), and revocation (refused at once, delivered
//! nothing, kept on rosters nowhere).

mod support;

use conclave_delivery_api::{MessageKind, paths};
use conclave_test_support::TestServer;
use reqwest::StatusCode;
use serde_json::json;
use support::{Device, base64, envelope, start_group};

async fn registered(server: &TestServer, user: &str, device: &str) -> Device {
    let d = Device::new(&server.url(), user, device);
    let reply = d.register().await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    d
}

fn grant_of(device: &Device) -> serde_json::Value {
    json!({
        "device": device.device,
        "signature_key": base64(device.identity.signature_public_key()),
        "ciphersuite": 1,
    })
}

#[tokio::test]
async fn a_device_joins_an_existing_user_only_with_a_grant_for_its_own_key_once() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("ds.sqlite")).await;
    let laptop = registered(&server, "alice", "laptop").await;
    let desktop = Device::new(&server.url(), "alice", "desktop");

    // Without a grant, the name is taken.
    assert_eq!(desktop.register().await.error(), "name_taken");
    // A grant for another key does not let this one in (someone who learned the device
    // name, or a server-side guess, cannot use it).
    let impostor = Device::new(&server.url(), "alice", "desktop");
    let reply = laptop
        .call("POST", paths::DEVICE_GRANTS, Some(&grant_of(&impostor)))
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{:?}", reply.body);
    assert_eq!(desktop.register().await.error(), "name_taken");
    // The grant for its own key (replacing the other) lets it register itself, once.
    laptop
        .call("POST", paths::DEVICE_GRANTS, Some(&grant_of(&desktop)))
        .await;
    assert_eq!(desktop.register().await.status, StatusCode::CREATED);
    assert_eq!(impostor.register().await.error(), "name_taken");
    // It is alice's device now: it can sign.
    let listed = desktop
        .call("GET", &paths::user_devices("alice"), None::<&()>)
        .await;
    assert_eq!(listed.body["devices"].as_array().unwrap().len(), 2);
    // Another user's device cannot grant devices to alice, and a taken name is refused.
    let mallory = registered(&server, "mallory", "m").await;
    let stranger = Device::new(&server.url(), "alice", "phone");
    mallory
        .call("POST", paths::DEVICE_GRANTS, Some(&grant_of(&stranger)))
        .await;
    assert_eq!(stranger.register().await.error(), "name_taken");
    let again = laptop
        .call("POST", paths::DEVICE_GRANTS, Some(&grant_of(&desktop)))
        .await;
    assert_eq!(again.error(), "name_taken");
}

#[tokio::test]
async fn link_chunks_are_one_users_written_once_and_readable_by_id_alone() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("ds.sqlite")).await;
    let laptop = registered(&server, "alice", "laptop").await;
    let mallory = registered(&server, "mallory", "m").await;
    let link = [7u8; 32];
    let chunk = |data: &[u8]| json!({ "data": base64(data) });

    let put = laptop
        .call("PUT", &paths::link_chunk(&link, 0), Some(&chunk(b"sealed")))
        .await;
    assert_eq!(put.status, StatusCode::NO_CONTENT, "{:?}", put.body);
    // The same bytes again: fine (a retry). Other bytes: a conflict, nothing changed.
    let retry = laptop
        .call("PUT", &paths::link_chunk(&link, 0), Some(&chunk(b"sealed")))
        .await;
    assert_eq!(retry.status, StatusCode::NO_CONTENT);
    let other = laptop
        .call("PUT", &paths::link_chunk(&link, 0), Some(&chunk(b"other")))
        .await;
    assert_eq!(
        (other.status, other.error()),
        (StatusCode::CONFLICT, "conflict")
    );
    // Another user can neither add to the link nor delete it.
    let intruder = mallory
        .call("PUT", &paths::link_chunk(&link, 1), Some(&chunk(b"fake")))
        .await;
    assert_eq!(intruder.error(), "conflict");
    let delete = mallory
        .call("DELETE", &paths::link(&link), None::<&()>)
        .await;
    assert_eq!(delete.error(), "conflict");
    // A chunk over 1 MiB is refused.
    let large = laptop
        .call(
            "PUT",
            &paths::link_chunk(&link, 2),
            Some(&chunk(&vec![0; (1 << 20) + 1])),
        )
        .await;
    assert_eq!(large.status, StatusCode::PAYLOAD_TOO_LARGE);

    // Read without any signature: the id is the capability.
    let http = reqwest::Client::new();
    let read = http
        .get(format!("{}{}", server.url(), paths::link_chunk(&link, 0)))
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), StatusCode::OK);
    let body: serde_json::Value = read.json().await.unwrap();
    assert_eq!(body["data"], base64(b"sealed"));
    let missing = http
        .get(format!("{}{}", server.url(), paths::link_chunk(&link, 3)))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    // Past the first chunk, only a device of the link's user reads: someone who saw the
    // code has its secret, not one of the user's devices.
    laptop
        .call(
            "PUT",
            &paths::link_chunk(&link, 1),
            Some(&chunk(b"history")),
        )
        .await;
    let unsigned = http
        .get(format!("{}{}", server.url(), paths::link_chunk(&link, 1)))
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), StatusCode::FORBIDDEN);
    let stranger = mallory
        .call("GET", &paths::link_chunk(&link, 1), None::<&()>)
        .await;
    assert_eq!(stranger.status, StatusCode::FORBIDDEN);
    let own = laptop
        .call("GET", &paths::link_chunk(&link, 1), None::<&()>)
        .await;
    assert_eq!(own.body["data"], base64(b"history"));
    let malformed = http
        .get(format!("{}/v1/links/zz/0", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);

    // Its user deletes it: gone.
    let deleted = laptop
        .call("DELETE", &paths::link(&link), None::<&()>)
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let gone = http
        .get(format!("{}{}", server.url(), paths::link_chunk(&link, 0)))
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_revoked_device_is_refused_at_once_and_delivered_nothing() {
    let dir = tempfile::tempdir().unwrap();
    // Where there are two nodes, the desktop talks to the other one from the laptop that
    // revokes it: "at once" holds on every node.
    let nodes = support::nodes(TestServer::config(&dir.path().join("ds.sqlite"))).await;
    let server = &nodes[0];
    let laptop = registered(server, "alice", "laptop").await;
    let desktop = Device::new(&nodes.last().unwrap().url(), "alice", "desktop");
    laptop
        .call("POST", paths::DEVICE_GRANTS, Some(&grant_of(&desktop)))
        .await;
    assert_eq!(desktop.register().await.status, StatusCode::CREATED);
    let bob = registered(server, "bob", "b").await;
    let group = b"group-revoke";
    start_group(&laptop, group, &[&desktop, &bob]).await;

    // Another user cannot revoke alice's device; alice's laptop can.
    let refused = bob
        .call(
            "POST",
            paths::DEVICE_REVOKE,
            Some(&json!({"device": "desktop"})),
        )
        .await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);
    let revoked = laptop
        .call(
            "POST",
            paths::DEVICE_REVOKE,
            Some(&json!({"device": "desktop"})),
        )
        .await;
    assert_eq!(revoked.status, StatusCode::OK, "{:?}", revoked.body);
    assert!(revoked.body["revoked_at"].as_u64().is_some());

    // Its next request, correctly signed, is refused and says why.
    let fetch = desktop.call("GET", &paths::queue(0, 10), None::<&()>).await;
    assert_eq!(
        (fetch.status, fetch.error()),
        (StatusCode::FORBIDDEN, "device_revoked")
    );
    // Bob, who has not yet seen alice remove its leaf, still names it: accepted, and the
    // revoked device is given nothing.
    let message = envelope(
        group,
        1,
        MessageKind::Application,
        &[&laptop, &desktop],
        b"hi",
    );
    let sent = bob.send(&message).await;
    assert_eq!(sent.status, StatusCode::OK, "{:?}", sent.body);
    assert_eq!(laptop.fetch_all().await.len(), 1);
    // Listed as revoked (its key stays bound to its name), and never handed out.
    let listed = bob
        .call("GET", &paths::user_devices("alice"), None::<&()>)
        .await;
    let desktop_entry = listed.body["devices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["device"] == "desktop")
        .cloned()
        .unwrap();
    assert!(desktop_entry["revoked_at"].as_u64().is_some());
    let claimed = bob
        .call("POST", paths::CLAIM, Some(&json!({"user": "alice"})))
        .await;
    assert!(
        !claimed.body["key_packages"]
            .as_array()
            .unwrap()
            .iter()
            .chain(claimed.body["unavailable"].as_array().unwrap())
            .any(|k| k["device"] == "desktop" || *k == "desktop"),
        "{:?}",
        claimed.body
    );
    // Its name is never registered again, even with a new grant.
    let again = laptop
        .call("POST", paths::DEVICE_GRANTS, Some(&grant_of(&desktop)))
        .await;
    assert_eq!(again.error(), "name_taken");
}
