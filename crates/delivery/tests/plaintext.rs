//! The delivery service cannot read messages: a real MLS conversation goes through it, and
//! its database files (main, WAL, shared memory) contain none of the plaintexts, nor the
//! group's name or policy, while they do contain the ciphertexts.

mod support;

use conclave_delivery_api::{ClaimResponse, Envelope, MessageKind, WelcomeEnvelope};
use conclave_protocol::{Group, GroupConfig, GroupEvent};
use conclave_test_support::TestServer;
use reqwest::StatusCode;
use serde_json::json;
use support::{Device, base64};

const GROUP_NAME: &str = "Operation Quiet Harbour";

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn database_holds_no_plaintext() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ds.sqlite");
    let server = TestServer::start(&db).await;
    let alice = Device::new(&server.url(), "alice", "d");
    let bob = Device::new(&server.url(), "bob", "d");
    assert_eq!(alice.register().await.status, StatusCode::CREATED);
    assert_eq!(bob.register().await.status, StatusCode::CREATED);
    let config = GroupConfig::default();

    // Bob publishes real key packages; Alice claims one and adds him.
    let kps = bob
        .identity
        .key_packages(&bob.provider, &config, 3)
        .unwrap();
    let reply = bob
        .call(
            "POST",
            "/v1/key-packages",
            Some(
                &json!({"key_packages": kps.iter().map(|k| base64(&k.bytes)).collect::<Vec<_>>()}),
            ),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let claim: ClaimResponse = serde_json::from_value(
        alice
            .call(
                "POST",
                "/v1/key-packages/claim",
                Some(&json!({"user": "bob"})),
            )
            .await
            .body,
    )
    .unwrap();
    let mut group = Group::create(&alice.provider, &alice.identity, &config, GROUP_NAME).unwrap();
    let bundle = group
        .add_members(
            &alice.provider,
            &alice.identity,
            &[claim.key_packages[0].key_package.0.clone()],
        )
        .unwrap();
    let invitation = bundle.invitation.clone().unwrap();
    let envelope = Envelope {
        group_id: group.id().as_bytes().to_vec().into(),
        epoch: bundle.epoch,
        kind: MessageKind::Commit,
        recipients: vec![],
        message: bundle.commit.clone().into(),
        welcome: Some(WelcomeEnvelope {
            recipients: vec![bob.me()],
            message: invitation.welcome.clone().into(),
            ratchet_tree: invitation.ratchet_tree.clone().into(),
        }),
        removed: vec![],
        link_token: None,
    };
    assert_eq!(alice.send(&envelope).await.status, StatusCode::OK);
    group.merge_pending_commit(&alice.provider).unwrap();

    // Bob joins from what the server delivered.
    let items = bob.fetch_all().await;
    let welcome = items
        .iter()
        .find(|i| i.kind == MessageKind::Welcome)
        .unwrap();
    let mut bob_group = Group::join(
        &bob.provider,
        &config,
        &welcome.message.0,
        welcome.ratchet_tree.as_ref().map(|t| t.0.as_slice()),
    )
    .unwrap();
    assert_eq!(bob_group.name(), GROUP_NAME);

    // Messages, with distinctive texts.
    let texts: Vec<String> = (0..20)
        .map(|i| format!("the falcon lands at pier {i} at midnight"))
        .collect();
    let mut ciphertexts = Vec::new();
    for text in &texts {
        let ct = group
            .encrypt(&alice.provider, &alice.identity, text.as_bytes())
            .unwrap();
        let env = Envelope {
            group_id: group.id().as_bytes().to_vec().into(),
            epoch: group.epoch(),
            kind: MessageKind::Application,
            recipients: vec![bob.me()],
            message: ct.clone().into(),
            welcome: None,
            removed: vec![],
            link_token: None,
        };
        assert_eq!(alice.send(&env).await.status, StatusCode::OK);
        ciphertexts.push(ct);
    }
    let delivered = bob.fetch_all().await;
    let mut read = Vec::new();
    for item in delivered
        .iter()
        .filter(|i| i.kind == MessageKind::Application)
    {
        for event in bob_group.process(&bob.provider, &item.message.0).unwrap() {
            if let GroupEvent::Message { plaintext, .. } = event {
                read.push(String::from_utf8(plaintext).unwrap());
            }
        }
    }
    assert_eq!(read, texts, "Bob reads every message through the server");
    server.stop().await;

    let files = conclave_test_support::database_bytes(&db);
    // The search sees the data: the ciphertexts are there...
    let sample = &ciphertexts[7][ciphertexts[7].len() - 24..];
    assert!(
        contains(&files, sample),
        "the search does not see the stored messages"
    );
    // ...and no plaintext, in any encoding we could have stored.
    for text in &texts {
        assert!(
            !contains(&files, text.as_bytes()),
            "plaintext {text:?} found in the database"
        );
        assert!(!contains(&files, base64(text.as_bytes()).as_bytes()));
    }
    // Nor the group's policy (who is an admin, who may do what), in its encoding.
    let policy = group
        .policy()
        .unwrap()
        .expect("a new group has one")
        .encode();
    assert!(!contains(&files, base64(&policy).as_bytes()));
    for needle in [
        &b"falcon"[..],
        b"midnight",
        GROUP_NAME.as_bytes(),
        b"Quiet Harbour",
        &policy,
    ] {
        assert!(
            !contains(&files, needle),
            "{:?} found in the database",
            String::from_utf8_lossy(needle)
        );
    }
}
