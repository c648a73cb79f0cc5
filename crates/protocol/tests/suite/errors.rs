//! Every class of bad input gets its typed error, and the group is unchanged and keeps
//! working afterwards.

use crate::common;

use common::{Client, assert_in_step, member};
use conclave_protocol::{Error, Group, GroupConfig, Identity};

/// Alice, Bob and Carol in one group at epoch 1.
fn trio() -> (Client, Client, Client) {
    let (mut alice, mut bob, mut carol) = (
        Client::new("alice"),
        Client::new("bob"),
        Client::new("carol"),
    );
    alice.create("Errors");
    let commit = alice.add(&[bob.key_package(), carol.key_package()]);
    alice.merge();
    bob.join(&commit);
    carol.join(&commit);
    (alice, bob, carol)
}

/// `bad` fails on Bob with an error `check` accepts; Bob's state is unchanged and he still
/// exchanges messages and commits with the others.
fn rejected_without_harm(
    alice: &mut Client,
    bob: &mut Client,
    carol: &mut Client,
    bad: &[u8],
    check: impl Fn(&Error) -> bool,
) {
    let (epoch, auth) = (bob.epoch(), bob.epoch_authenticator());
    let err = bob
        .try_process(bad)
        .expect_err("bad input must be rejected");
    assert!(check(&err), "unexpected error: {err:?}");
    assert_eq!(bob.epoch(), epoch);
    assert_eq!(bob.epoch_authenticator(), auth);
    // In memory and in storage alike: a reload gives the same group.
    let id = bob.group().id();
    let reloaded = Group::load(&bob.provider, &id).unwrap();
    assert_eq!(reloaded.epoch_authenticator(), auth);

    let m = alice.encrypt(b"still working");
    bob.expect_message(&m, &alice.id(), b"still working");
    let m = bob.encrypt(b"me too");
    alice.expect_message(&m, &bob.id(), b"me too");
    carol.expect_message(&m, &bob.id(), b"me too");
    let commit = carol.self_update();
    carol.merge();
    alice.process(&commit.commit);
    bob.process(&commit.commit);
    assert_in_step(&[alice, bob, carol]);
}

#[test]
fn garbage_bytes() {
    let (mut alice, mut bob, mut carol) = trio();
    for garbage in [
        &b""[..],
        b"\x00",
        b"not an mls message at all",
        &[0xff; 300],
    ] {
        rejected_without_harm(&mut alice, &mut bob, &mut carol, garbage, |e| {
            matches!(e, Error::Malformed(_))
        });
    }
}

#[test]
fn truncated_and_extended_messages() {
    let (mut alice, mut bob, mut carol) = trio();
    let good = alice.encrypt(b"a message to cut");
    let half = &good[..good.len() / 2];
    assert!(matches!(bob.try_process(half), Err(Error::Malformed(_))));
    // The failure consumed nothing: the untouched message still decrypts.
    bob.expect_message(&good, &alice.id(), b"a message to cut");
    rejected_without_harm(&mut alice, &mut bob, &mut carol, half, |e| {
        matches!(e, Error::Malformed(_))
    });
    for cut in [1usize, 2, 3] {
        let good = alice.encrypt(b"another message to cut");
        let end = match cut {
            1 => 1,
            2 => good.len() - 1,
            _ => good.len() * 3 / 4,
        };
        rejected_without_harm(&mut alice, &mut bob, &mut carol, &good[..end], |e| {
            matches!(e, Error::Malformed(_))
        });
    }
    let mut longer = alice.encrypt(b"one byte too many");
    longer.push(0);
    rejected_without_harm(&mut alice, &mut bob, &mut carol, &longer, |e| {
        matches!(e, Error::Malformed(_))
    });
}

#[test]
fn flipped_ciphertext_byte() {
    let (mut alice, mut bob, mut carol) = trio();
    let mut bad = alice.encrypt(b"tamper with me");
    let last = bad.len() - 1;
    bad[last] ^= 0x01;
    rejected_without_harm(&mut alice, &mut bob, &mut carol, &bad, |e| {
        matches!(e, Error::Undecryptable(_))
    });
}

#[test]
fn message_for_another_group() {
    let (mut alice, mut bob, mut carol) = trio();
    let mut other = Client::new("olivia");
    let mut other_member = Client::new("oscar");
    other.create("Other");
    let commit = other.add(&[other_member.key_package()]);
    other.merge();
    other_member.join(&commit);
    let foreign = other.encrypt(b"wrong group");
    rejected_without_harm(&mut alice, &mut bob, &mut carol, &foreign, |e| {
        matches!(e, Error::WrongGroup)
    });
}

#[test]
fn welcome_or_key_package_where_a_group_message_belongs() {
    let (mut alice, mut bob, mut carol) = trio();
    let kp = Client::new("dave").key_package();
    rejected_without_harm(&mut alice, &mut bob, &mut carol, &kp, |e| {
        matches!(
            e,
            Error::UnexpectedMessage {
                found: "key package",
                ..
            }
        )
    });
}

#[test]
fn replayed_application_message() {
    let (mut alice, mut bob, mut carol) = trio();
    let m = alice.encrypt(b"only once");
    bob.expect_message(&m, &alice.id(), b"only once");
    rejected_without_harm(&mut alice, &mut bob, &mut carol, &m, |e| {
        matches!(e, Error::AlreadyProcessed)
    });
}

#[test]
fn replayed_commit() {
    let (mut alice, mut bob, mut carol) = trio();
    let commit = alice.self_update();
    alice.merge();
    bob.process(&commit.commit);
    carol.process(&commit.commit);
    rejected_without_harm(&mut alice, &mut bob, &mut carol, &commit.commit, |e| {
        matches!(
            e,
            Error::StaleEpoch {
                message_epoch: 1,
                group_epoch: 2
            }
        )
    });
}

#[test]
fn message_from_a_future_epoch() {
    let (mut alice, mut bob, mut carol) = trio();
    // Bob misses a commit; Alice's next message is from an epoch he has not reached.
    let commit = alice.self_update();
    alice.merge();
    carol.process(&commit.commit);
    let m = alice.encrypt(b"from the future");
    let err = bob.try_process(&m).unwrap_err();
    assert_eq!(
        err,
        Error::FutureEpoch {
            message_epoch: 2,
            group_epoch: 1
        }
    );
    // Once he catches up, it decrypts.
    bob.process(&commit.commit);
    bob.expect_message(&m, &alice.id(), b"from the future");
    rejected_without_harm(&mut alice, &mut bob, &mut carol, &m, |e| {
        matches!(e, Error::AlreadyProcessed)
    });
}

#[test]
fn commit_from_a_removed_member() {
    let (mut alice, mut bob, mut carol) = trio();
    let mut dave = Client::new("dave");
    let commit = alice.add(&[dave.key_package()]);
    alice.merge();
    bob.process(&commit.commit);
    carol.process(&commit.commit);
    dave.join(&commit);

    // Alice removes Dave; Dave, not yet knowing, commits in the old epoch.
    let (provider, identity) = (&alice.provider, &alice.identity);
    let removal = alice
        .group
        .as_mut()
        .unwrap()
        .remove_devices(provider, identity, &[member("dave", "d1")])
        .unwrap();
    alice.merge();
    bob.process(&removal.commit);
    carol.process(&removal.commit);
    let rogue = dave.self_update();
    rejected_without_harm(&mut alice, &mut bob, &mut carol, &rogue.commit, |e| {
        matches!(e, Error::StaleEpoch { .. })
    });
    // A message he encrypts in his (now stale) epoch can no longer be read once the past
    // epochs are gone either: he is not in the current one.
    {
        let (g, p, _) = dave.parts();
        g.discard_pending_commit(p)
    }
    .unwrap();
    dave.process(&removal.commit);
    assert!(!dave.group().is_active());
    assert!(matches!(
        {
            let (g, p, i) = dave.parts();
            g.encrypt(p, i, b"let me in")
        },
        Err(Error::NotAMember)
    ));
}

#[test]
fn welcome_errors() {
    let (mut alice, ..) = trio();
    let mut dave = Client::new("dave");
    let eve = Client::new("eve");
    let old_tree = alice.group().export_ratchet_tree().unwrap();
    let commit = alice.add(&[dave.key_package()]);
    let invitation = commit.invitation.as_ref().unwrap();
    let config = GroupConfig::default();
    // Not for Eve.
    assert!(matches!(
        Group::join(
            &eve.provider,
            &config,
            &invitation.welcome,
            Some(&invitation.ratchet_tree)
        ),
        Err(Error::WelcomeNotForUs)
    ));
    // Garbage, a truncated Welcome, a bad tree, and an application message.
    assert!(matches!(
        Group::join(&dave.provider, &config, b"junk", None),
        Err(Error::Malformed(_))
    ));
    assert!(matches!(
        Group::join(&dave.provider, &config, &invitation.welcome[..20], None),
        Err(Error::Malformed(_))
    ));
    assert!(matches!(
        Group::join(
            &dave.provider,
            &config,
            &invitation.welcome,
            Some(b"not a tree")
        ),
        Err(Error::Malformed(_))
    ));
    // Addressed to Dave, but with a tree that is not the group's: refused, and his key
    // package is still there for the right one.
    assert!(matches!(
        Group::join(
            &dave.provider,
            &config,
            &invitation.welcome,
            Some(&old_tree)
        ),
        Err(Error::InvalidWelcome(_))
    ));
    alice.merge();
    dave.join(&commit);
    let m = alice.encrypt(b"x");
    dave.expect_message(&m, &alice.id(), b"x");
    assert!(matches!(
        Group::join(&dave.provider, &config, &m, None),
        Err(Error::UnexpectedMessage {
            expected: "welcome",
            ..
        })
    ));
}

#[test]
fn a_welcome_to_a_group_still_held_is_refused_until_its_state_is_deleted() {
    let (mut alice, mut bob, mut carol) = trio();
    // Alice removes Bob and invites him back before he has seen the removal.
    let (provider, identity) = (&alice.provider, &alice.identity);
    let removal = alice
        .group
        .as_mut()
        .unwrap()
        .remove_devices(provider, identity, &[bob.id()])
        .unwrap();
    alice.merge();
    carol.process(&removal.commit);
    let readd = alice.add(&[bob.key_package()]);
    alice.merge();
    carol.process(&readd.commit);
    let invitation = readd.invitation.as_ref().unwrap();

    let (epoch, auth) = (bob.epoch(), bob.epoch_authenticator());
    let id = bob.group().id();
    let refused = Group::join(
        &bob.provider,
        &bob.config,
        &invitation.welcome,
        Some(&invitation.ratchet_tree),
    );
    assert!(
        matches!(&refused, Err(Error::InvalidWelcome(reason)) if reason.to_string().contains("already exists")),
        "{refused:?}"
    );
    // His state for the group is the one he had, in storage too.
    assert_eq!(bob.epoch(), epoch);
    let stored = Group::load(&bob.provider, &id).unwrap();
    assert_eq!(stored.epoch_authenticator(), auth);

    // Once the removal has deleted it, the same Welcome brings him back.
    bob.process(&removal.commit);
    assert!(!bob.group().is_active());
    bob.group.take().unwrap().delete(&bob.provider).unwrap();
    bob.join(&readd);
    let m = alice.encrypt(b"welcome back");
    bob.expect_message(&m, &alice.id(), b"welcome back");
    carol.expect_message(&m, &alice.id(), b"welcome back");
    assert_in_step(&[&alice, &bob, &carol]);
}

#[test]
fn an_add_that_repeats_a_signature_key_is_refused() {
    let (mut alice, mut bob, mut carol) = trio();
    let mut dave = Client::new("dave");
    // Devices that reuse another device's signature key (a profile copied rather than a
    // device added): the same key under another member id.
    let twin = |of: &Client, device: &str| {
        let mut record = of.identity.record();
        record.member = member(of.id().user.as_str(), device);
        let twin = Identity::load(&of.provider, &record).unwrap();
        twin.key_packages(&of.provider, &GroupConfig::default(), 1)
            .unwrap()
            .remove(0)
            .bytes
    };
    let (epoch, auth) = (alice.epoch(), alice.epoch_authenticator());
    for key_packages in [
        // A member's key on a new device.
        vec![twin(&bob, "d2")],
        // One key on two new devices, in one commit.
        vec![twin(&dave, "d2"), twin(&dave, "d3")],
        // The same, with a valid key package first.
        vec![dave.key_package(), twin(&dave, "d2")],
    ] {
        let Err(err) = ({
            let (g, p, i) = alice.parts();
            g.add_members(p, i, &key_packages)
        }) else {
            panic!("a signature key held twice must be refused");
        };
        assert!(
            matches!(&err, Error::InvalidKeyPackage(m) if m.to_string().to_lowercase().contains("signature key")),
            "unexpected error: {err:?}"
        );
        assert_eq!(alice.epoch(), epoch);
        assert_eq!(alice.epoch_authenticator(), auth);
    }

    // The group is unharmed: Dave joins with his own key, and everyone stays in step.
    let commit = alice.add(&[dave.key_package()]);
    alice.merge();
    bob.process(&commit.commit);
    carol.process(&commit.commit);
    dave.join(&commit);
    let m = dave.encrypt(b"hello");
    alice.expect_message(&m, &dave.id(), b"hello");
    assert_in_step(&[&alice, &bob, &carol, &dave]);
}

/// A ratchet tree in which two leaves share a key is refused by name, before anything
/// else about it (its tree hash, the GroupInfo's signature) is checked. The tampered leaf
/// is Alice's, the committer's: no parent hash covers it, and it is re-signed, so only the
/// repeated key is wrong. (Conclave's openmls patch 23 skips the per-leaf key sets when
/// sorting finds no key twice; were that check wrong, these trees would fail later, with
/// another error.)
#[test]
fn a_tree_that_repeats_a_key_is_refused() {
    use openmls_traits::signatures::Signer as _;
    use tls_codec::{Serialize as _, VLBytes};

    let (mut alice, bob, carol, mut dave) = (
        Client::new("alice"),
        Client::new("bob"),
        Client::new("carol"),
        Client::new("dave"),
    );
    alice.create("Keys");
    // A leaf renewed by a commit is signed for its group and index, as `tampered` re-signs
    // it (adds carry no path, so the update does it).
    alice.self_update();
    alice.merge();
    let commit = alice.add(&[bob.key_package(), carol.key_package(), dave.key_package()]);
    alice.merge();
    let invitation = commit.invitation.as_ref().unwrap();
    let tree = invitation.ratchet_tree.clone();
    let group_id = VLBytes::new(alice.group().id().as_bytes().to_vec())
        .tls_serialize_detached()
        .unwrap();
    let leaves = encoded_leaves(&tree);
    let ((at, alice_leaf), (_, bob_leaf)) = (&leaves[0], &leaves[1]);
    let at = *at;
    // A leaf node opens with its X25519 encryption key and Ed25519 signature key (each a
    // one-byte length, 32, then the key) and ends with its signature (a two-byte length,
    // 64, then the signature).
    let encryption_key = 1..33;
    let signature_key = 34..66;
    let signature = alice_leaf.len() - 64..alice_leaf.len();
    // Alice's leaf with one of Bob's keys, signed by `signer` for leaf 0 of the group.
    let tampered = |key: std::ops::Range<usize>, signer: &Identity| {
        let mut leaf = alice_leaf.clone();
        leaf[key.clone()].copy_from_slice(&bob_leaf[key]);
        let mut to_be_signed = leaf[..alice_leaf.len() - 66].to_vec();
        to_be_signed.extend_from_slice(&group_id);
        to_be_signed.extend(0u32.to_be_bytes());
        let mut content = VLBytes::new(b"MLS 1.0 LeafNodeTBS".to_vec())
            .tls_serialize_detached()
            .unwrap();
        content.extend(VLBytes::new(to_be_signed).tls_serialize_detached().unwrap());
        leaf[signature.clone()].copy_from_slice(&signer.sign(&content).unwrap());
        let mut tree = tree.clone();
        tree[at..at + leaf.len()].copy_from_slice(&leaf);
        tree
    };
    let config = GroupConfig::default();
    for (tree, names) in [
        (tampered(encryption_key, &alice.identity), "encryption keys"),
        (tampered(signature_key, &bob.identity), "signature keys"),
    ] {
        let err = Group::join(&dave.provider, &config, &invitation.welcome, Some(&tree))
            .expect_err("a tree that repeats a key must be refused");
        assert!(
            matches!(&err, Error::InvalidWelcome(m) if m.to_string().contains(names)),
            "unexpected error: {err:?}"
        );
    }
    // Dave's key package is still there for the true tree.
    dave.join(&commit);
    let m = dave.encrypt(b"hello");
    alice.expect_message(&m, &dave.id(), b"hello");
}

/// A ratchet tree with one leaf signature changed is refused, wherever the leaf is: the
/// leaves' signatures are checked as a batch per core (Conclave's openmls patch 24), and a
/// failed batch is checked again one signature at a time to name the error. Ten members,
/// so that each core's batch is large enough to be checked as one.
#[test]
fn a_tree_with_a_bad_leaf_signature_is_refused() {
    let mut alice = Client::new("alice");
    let others: Vec<Client> = (1..10)
        .map(|i| Client::new(&format!("member{i}")))
        .collect();
    let mut dave = Client::new("dave");
    alice.create("Signatures");
    let mut key_packages: Vec<Vec<u8>> = others.iter().map(Client::key_package).collect();
    key_packages.insert(4, dave.key_package());
    let commit = alice.add(&key_packages);
    alice.merge();
    let invitation = commit.invitation.as_ref().unwrap();
    let tree = invitation.ratchet_tree.clone();
    let leaves = encoded_leaves(&tree);
    assert_eq!(leaves.len(), 11);
    let config = GroupConfig::default();
    for (leaf, bit) in [(0, 0), (3, 200), (5, 511), (10, 77)] {
        let (at, encoded) = &leaves[leaf];
        // The leaf's signature is its last 64 bytes.
        let mut tampered = tree.clone();
        tampered[at + encoded.len() - 64 + bit / 8] ^= 1 << (bit % 8);
        let err = Group::join(
            &dave.provider,
            &config,
            &invitation.welcome,
            Some(&tampered),
        )
        .expect_err("a tree with a bad leaf signature must be refused");
        assert!(
            matches!(&err, Error::InvalidWelcome(m) if m.to_string().contains("Invalid node signature")),
            "leaf {leaf}: unexpected error: {err:?}"
        );
    }
    // Dave's key package is still there for the true tree.
    dave.join(&commit);
    let m = dave.encrypt(b"hello");
    alice.expect_message(&m, &dave.id(), b"hello");
}

/// Each leaf of an encoded ratchet tree: where its encoding starts in `tree`, and the
/// encoding.
fn encoded_leaves(tree: &[u8]) -> Vec<(usize, Vec<u8>)> {
    use openmls::prelude::RatchetTreeIn;
    use tls_codec::{Deserialize as _, Serialize as _};

    RatchetTreeIn::tls_deserialize_exact(tree)
        .unwrap()
        .leaves()
        .map(|leaf| {
            let encoded = leaf.tls_serialize_detached().unwrap();
            let at = tree
                .windows(encoded.len())
                .position(|window| window == encoded.as_slice())
                .unwrap();
            (at, encoded)
        })
        .collect()
}

/// An error keeps the library error it came from as its `source()`, not only its words.
#[test]
fn errors_keep_the_error_they_came_from() {
    let dave = Client::new("dave");
    let err = Group::join(&dave.provider, &GroupConfig::default(), b"junk", None)
        .expect_err("junk is not a Welcome");
    let Error::Malformed(cause) = &err else {
        panic!("unexpected error: {err:?}");
    };
    assert!(
        cause.error().downcast_ref::<tls_codec::Error>().is_some(),
        "the decoder's own error is kept: {cause:?}"
    );
    let source = std::error::Error::source(&err).expect("a source");
    assert_eq!(source.to_string(), cause.to_string());
    assert!(err.to_string().starts_with("malformed message: "));
}
