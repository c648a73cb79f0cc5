//! Conversations in every supported ciphersuite, end to end through a real delivery service
//! on 127.0.0.1: each device's key signs in the suites of its scheme, publishes key packages
//! in each, and takes part in conversations of any of them; a user whose devices lack a
//! suite cannot be invited into it, and is told why.

mod support;

use conclave_client::{CipherSuite, Client, ClientConfig, ClientError, ConversationId};
use conclave_protocol::GroupConfig;
use support::*;

/// A profile whose device key is of `suite`'s signature scheme.
async fn client_in(
    dir: &std::path::Path,
    name: &str,
    server: &TestServer,
    suite: CipherSuite,
) -> Client {
    let config = ClientConfig {
        group: GroupConfig {
            ciphersuite: suite,
            ..GroupConfig::default()
        },
        ..config()
    };
    Client::create_with(&dir.join(name), name, &server.url(), config)
        .await
        .unwrap()
}

/// The ids of one conversation at alice, bob and carol.
struct Ids {
    suite: CipherSuite,
    alice: ConversationId,
    carol: ConversationId,
}

/// Alice creates a conversation in `suite` with bob; they chat both ways; bob rotates his
/// keys; carol is invited and bob removed; alice and carol agree and chat on.
async fn conversation_in(suite: CipherSuite, alice: &Client, bob: &Client, carol: &Client) -> Ids {
    let name = format!("In {}", suite.short_name());
    let a = alice
        .create_conversation_in(suite, &name, &[bob.me().user.clone()])
        .await
        .unwrap_or_else(|e| panic!("{suite}: {e}"));
    bob.sync().await.unwrap();
    let b = same_conversation(bob, alice, a).await;
    for (client, id) in [(alice, a), (bob, b)] {
        let security = client.security(id).await.unwrap();
        assert_eq!(security.suite, suite);
        assert_eq!(security.ciphersuite, suite.to_string());
    }

    alice.send_text(a, "hello bob").await.unwrap();
    bob.sync().await.unwrap();
    bob.send_text(b, "hi alice").await.unwrap();
    alice.sync().await.unwrap();
    let expected = [
        format!("{}: hello bob", alice.me().user),
        format!("{}: hi alice", bob.me().user),
    ];
    for (client, id) in [(alice, a), (bob, b)] {
        assert_eq!(
            texts(client, id).await,
            expected,
            "{suite}: {}",
            client.me()
        );
    }

    // Bob's self-update: a new leaf key and path in the suite's KEM.
    let before = authenticator(bob, b).await;
    bob.rotate_keys(b).await.unwrap();
    alice.sync().await.unwrap();
    let after = authenticator(alice, a).await;
    assert_eq!(after.0, before.0 + 1, "{suite}");
    assert_eq!(after, authenticator(bob, b).await, "{suite}");

    alice.invite(a, &carol.me().user).await.unwrap();
    carol.sync().await.unwrap();
    let c = same_conversation(carol, alice, a).await;
    assert_eq!(carol.security(c).await.unwrap().suite, suite);
    alice.remove(a, &bob.me().user).await.unwrap();
    bob.sync().await.unwrap();
    carol.sync().await.unwrap();
    assert!(
        bob.conversation(b).await.unwrap().left_at.is_some(),
        "{suite}"
    );
    assert!(matches!(
        bob.send_text(b, "still here?").await,
        Err(ClientError::NotAMember)
    ));
    carol.send_text(c, "hello alice").await.unwrap();
    alice.sync().await.unwrap();
    assert_eq!(authenticator(alice, a).await, authenticator(carol, c).await);
    assert_eq!(alice.members(a).await.unwrap().len(), 2);
    Ids {
        suite,
        alice: a,
        carol: c,
    }
}

/// Every suite, grouped by signature scheme: one trio of profiles per scheme, a
/// conversation per suite; then alice and carol restart and carry on in each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conversation_in_every_suite_works_and_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("ds.sqlite")).await;
    let mut schemes: Vec<Vec<CipherSuite>> = Vec::new();
    for suite in CipherSuite::ALL {
        match schemes
            .iter_mut()
            .find(|f| f[0].signature_scheme() == suite.signature_scheme())
        {
            Some(family) => family.push(suite),
            None => schemes.push(vec![suite]),
        }
    }
    assert_eq!(schemes.len(), 5, "Ed25519, P-256, Ed448, P-521, P-384");
    let mut covered = 0;
    for (n, family) in schemes.iter().enumerate() {
        let own = family[0];
        let names = [format!("alice{n}"), format!("bob{n}"), format!("carol{n}")];
        let alice = client_in(dir.path(), &names[0], &server, own).await;
        let bob = client_in(dir.path(), &names[1], &server, own).await;
        let carol = client_in(dir.path(), &names[2], &server, own).await;
        // The device takes part in exactly the suites of its key's scheme.
        assert_eq!(alice.ciphersuite(), own);
        assert_eq!(alice.ciphersuites(), *family);
        let mut conversations = Vec::new();
        for suite in family {
            conversations.push(conversation_in(*suite, &alice, &bob, &carol).await);
        }
        covered += conversations.len();

        // Both processes end; the profiles reopen with every conversation where it was.
        drop((alice, carol));
        let alice = reopen(dir.path(), &names[0]).await;
        let carol = reopen(dir.path(), &names[2]).await;
        for ids in &conversations {
            assert_eq!(alice.security(ids.alice).await.unwrap().suite, ids.suite);
            alice
                .send_text(ids.alice, "after the restart")
                .await
                .unwrap();
            carol.sync().await.unwrap();
            let expected = [
                format!("{}: hello alice", names[2]),
                format!("{}: after the restart", names[0]),
            ];
            assert_eq!(texts(&carol, ids.carol).await, expected, "{}", ids.suite);
            carol.rotate_keys(ids.carol).await.unwrap();
            alice.sync().await.unwrap();
            assert_eq!(
                authenticator(&alice, ids.alice).await,
                authenticator(&carol, ids.carol).await,
                "{}",
                ids.suite
            );
        }
    }
    assert_eq!(covered, CipherSuite::ALL.len());
    server.stop().await;
}

/// Bob's key is P-256, and dave's app takes no draft suite: neither can be invited into
/// an X-Wing conversation, and each failure says so before anything is created. Alice
/// cannot create an Ed448 one at all: her key is Ed25519.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_without_the_suite_is_refused_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("ds.sqlite")).await;
    let alice = client(dir.path(), "alice", &server).await;
    let bob = client_in(dir.path(), "bob", &server, CipherSuite::P256Aes128P256).await;
    let no_drafts = ClientConfig {
        draft_suites: false,
        ..config()
    };
    let dave = Client::create_with(&dir.path().join("dave"), "dave", &server.url(), no_drafts)
        .await
        .unwrap();
    assert!(
        !dave
            .ciphersuites()
            .contains(&CipherSuite::XWingChaCha20Ed25519)
    );
    let xwing = CipherSuite::XWingChaCha20Ed25519;

    for (who, client) in [("bob", &bob), ("dave", &dave)] {
        match alice
            .create_conversation_in(xwing, "Post-quantum", &[client.me().user.clone()])
            .await
        {
            Err(ClientError::SuiteUnsupported { user, suite }) => {
                assert_eq!((user.as_str(), suite), (who, xwing));
            }
            other => panic!("inviting {who}: {other:?}"),
        }
    }
    assert!(alice.conversations().await.unwrap().is_empty());
    // Into an existing X-Wing conversation: the same answer, and nothing changes.
    let a = alice
        .create_conversation_in(xwing, "Post-quantum", &[])
        .await
        .unwrap();
    let before = authenticator(&alice, a).await;
    assert!(matches!(
        alice.invite(a, &user("dave")).await,
        Err(ClientError::SuiteUnsupported { .. })
    ));
    assert_eq!(authenticator(&alice, a).await, before);
    assert_eq!(alice.members(a).await.unwrap().len(), 1);
    // Dave's own suite is fine.
    let b = alice
        .create_conversation("Classic", &[user("dave")])
        .await
        .unwrap();
    assert_eq!(alice.members(b).await.unwrap().len(), 2);
    // A suite her key cannot sign in, and one dave turned off.
    assert!(matches!(
        alice
            .create_conversation_in(CipherSuite::X448Aes256Ed448, "Ed448", &[])
            .await,
        Err(ClientError::Protocol(
            conclave_protocol::Error::SuiteNeedsOtherKey { .. }
        ))
    ));
    assert!(matches!(
        dave.create_conversation_in(xwing, "Draft", &[]).await,
        Err(ClientError::InvalidInput(_))
    ));
    server.stop().await;
}
