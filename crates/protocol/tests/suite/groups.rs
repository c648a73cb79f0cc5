//! Multi-client behaviour of conclave-protocol: every member change, messages, late messages,
//! concurrent commits, echoes, and every ciphersuite.

use crate::common;

use common::{Client, assert_in_step, member};
use conclave_protocol::{
    CipherSuite, Crypto, Error, Group, GroupConfig, GroupEvent, HandshakeFraming, Identity,
    ProposalSummary, SafetyNumber, UserName, inspect_key_package,
};

/// Alice creates, adds Bob alone and then Carol and Dave in one commit.
fn four_member_group() -> (Client, Client, Client, Client) {
    let (mut alice, mut bob, mut carol, mut dave) = (
        Client::new("alice"),
        Client::new("bob"),
        Client::new("carol"),
        Client::new("dave"),
    );
    alice.create("Book club");
    let commit = alice.add(&[bob.key_package()]);
    let events = alice.merge();
    assert_eq!(
        events,
        vec![
            GroupEvent::MembersAdded {
                by: alice.id(),
                added: vec![bob.id()]
            },
            GroupEvent::EpochAdvanced {
                by: alice.id(),
                epoch: 1
            }
        ]
    );
    bob.join(&commit);

    let commit = alice.add(&[carol.key_package(), dave.key_package()]);
    assert_eq!(
        commit.invitation.as_ref().unwrap().new_members,
        vec![carol.id(), dave.id()]
    );
    alice.merge();
    let events = bob.process(&commit.commit);
    assert!(events.contains(&GroupEvent::MembersAdded {
        by: alice.id(),
        added: vec![carol.id(), dave.id()]
    }));
    carol.join(&commit);
    dave.join(&commit);
    assert_in_step(&[&alice, &bob, &carol, &dave]);
    (alice, bob, carol, dave)
}

#[test]
fn full_lifecycle_keeps_all_members_in_step() {
    let (mut alice, mut bob, mut carol, mut dave) = four_member_group();
    assert_eq!(carol.group().name(), "Book club");
    assert_eq!(dave.group().members().unwrap().len(), 4);

    // Messages both ways.
    let m = alice.encrypt(b"hello all");
    for c in [&mut bob, &mut carol, &mut dave] {
        c.expect_message(&m, &member("alice", "d1"), b"hello all");
    }
    let m = dave.encrypt(b"hi alice");
    for c in [&mut alice, &mut bob, &mut carol] {
        c.expect_message(&m, &member("dave", "d1"), b"hi alice");
    }

    // Self-update by Bob: everyone sees his keys change.
    let before = alice.group().members().unwrap()[1].clone();
    let commit = bob.self_update();
    bob.merge();
    for c in [&mut alice, &mut carol, &mut dave] {
        let events = c.process(&commit.commit);
        assert_eq!(
            events[0],
            GroupEvent::MemberUpdated {
                member: member("bob", "d1")
            }
        );
    }
    assert_in_step(&[&alice, &bob, &carol, &dave]);
    // Signature key is unchanged by a leaf update, so the safety number stays.
    assert_eq!(
        alice.group().members().unwrap()[1].fingerprint(),
        before.fingerprint()
    );

    // Rename by Carol.
    let commit = carol.rename("Reading group");
    carol.merge();
    for c in [&mut alice, &mut bob, &mut dave] {
        let events = c.process(&commit.commit);
        assert!(events.contains(&GroupEvent::GroupRenamed {
            by: member("carol", "d1"),
            name: "Reading group".into()
        }));
        assert_eq!(c.group().name(), "Reading group");
    }
    assert_in_step(&[&alice, &bob, &carol, &dave]);

    // Alice removes Dave.
    let (provider, identity) = (&alice.provider, &alice.identity);
    let commit = alice
        .group
        .as_mut()
        .unwrap()
        .remove_user(provider, identity, &UserName::new("dave").unwrap())
        .unwrap();
    alice.merge();
    for c in [&mut bob, &mut carol] {
        let events = c.process(&commit.commit);
        assert!(events.contains(&GroupEvent::MembersRemoved {
            by: member("alice", "d1"),
            removed: vec![member("dave", "d1")]
        }));
    }
    let events = dave.process(&commit.commit);
    assert!(events.contains(&GroupEvent::RemovedFromGroup {
        by: member("alice", "d1")
    }));
    assert!(!dave.group().is_active());
    assert_in_step(&[&alice, &bob, &carol]);
    // Dave can no longer read the group.
    let m = alice.encrypt(b"dave is gone");
    assert!(matches!(dave.try_process(&m), Err(Error::NotAMember)));

    // Carol leaves: a proposal, committed by Bob.
    let (provider, identity) = (&carol.provider, &carol.identity);
    let proposal = carol
        .group
        .as_mut()
        .unwrap()
        .leave(provider, identity)
        .unwrap();
    for c in [&mut alice, &mut bob] {
        let events = c.process(&proposal);
        assert_eq!(
            events,
            vec![GroupEvent::ProposalStored {
                by: member("carol", "d1"),
                proposal: ProposalSummary::Remove(member("carol", "d1"))
            }]
        );
    }
    let (provider, identity) = (&bob.provider, &bob.identity);
    let commit = bob
        .group
        .as_mut()
        .unwrap()
        .commit_pending_proposals(provider, identity)
        .unwrap();
    bob.merge();
    let events = alice.process(&commit.commit);
    assert!(events.contains(&GroupEvent::MembersRemoved {
        by: member("bob", "d1"),
        removed: vec![member("carol", "d1")]
    }));
    let events = carol.process(&commit.commit);
    assert!(events.contains(&GroupEvent::RemovedFromGroup {
        by: member("bob", "d1")
    }));
    assert_in_step(&[&alice, &bob]);
    assert_eq!(alice.group().members().unwrap().len(), 2);

    let m = bob.encrypt(b"just us");
    alice.expect_message(&m, &member("bob", "d1"), b"just us");
}

#[test]
fn own_commit_merged_at_its_echo_reads_what_the_server_accepted_before_it() {
    // Default: no past epoch is kept; the server's order puts every message in its epoch.
    let (mut alice, mut bob, mut carol, _dave) = four_member_group();
    let accepted_first = bob.encrypt(b"accepted before the commit");
    let commit = alice.self_update();
    // Alice's queue holds Bob's message, then her accepted commit's echo.
    alice.expect_message(
        &accepted_first,
        &member("bob", "d1"),
        b"accepted before the commit",
    );
    assert!(alice.group().has_pending_commit());
    let events = alice.process(&commit.commit);
    assert!(
        events
            .iter()
            .any(|e| matches!(e, GroupEvent::EpochAdvanced { .. })),
        "{events:?}"
    );
    assert!(!alice.group().has_pending_commit());
    carol.expect_message(
        &accepted_first,
        &member("bob", "d1"),
        b"accepted before the commit",
    );
    carol.process(&commit.commit);
    bob.process(&commit.commit);
    assert_in_step(&[&alice, &bob, &carol]);
    // The old epoch's keys went with the commit (forward secrecy): a message from it, which
    // the server would have refused anyway, no longer decrypts.
    let (epoch, auth) = (carol.epoch(), carol.epoch_authenticator());
    let result = carol.try_process(&accepted_first);
    assert!(
        matches!(result, Err(Error::StaleEpoch { .. })),
        "{result:?}"
    );
    assert_eq!((carol.epoch(), carol.epoch_authenticator()), (epoch, auth));
}

#[test]
fn late_message_from_a_past_epoch_decrypts() {
    // One past epoch kept, for a client that merges its commits on the server's acceptance.
    let config = GroupConfig {
        max_past_epochs: 1,
        ..GroupConfig::default()
    };
    let (mut alice, mut bob, mut carol) = (
        Client::with_config("alice", "d1", config.clone()),
        Client::with_config("bob", "d1", config.clone()),
        Client::with_config("carol", "d1", config),
    );
    alice.create("Patient");
    let commit = alice.add(&[bob.key_package(), carol.key_package()]);
    alice.merge();
    bob.join(&commit);
    carol.join(&commit);
    let late = bob.encrypt(b"sent before the commit");
    let too_late = bob.encrypt(b"sent two commits ago");
    let commit = alice.self_update();
    alice.merge();
    carol.process(&commit.commit);
    carol.expect_message(&late, &member("bob", "d1"), b"sent before the commit");
    assert!(matches!(
        carol.try_process(&late),
        Err(Error::AlreadyProcessed)
    ));
    let commit = alice.self_update();
    alice.merge();
    carol.process(&commit.commit);
    let result = carol.try_process(&too_late);
    assert!(
        matches!(
            result,
            Err(Error::StaleEpoch {
                message_epoch: 1,
                group_epoch: 3
            })
        ),
        "{result:?}"
    );

    // More past epochs on request.
    let config = GroupConfig {
        max_past_epochs: 3,
        ..GroupConfig::default()
    };
    let mut alice = Client::with_config("alice", "d1", config.clone());
    let mut bob = Client::with_config("bob", "d1", config.clone());
    let mut carol = Client::with_config("carol", "d1", config);
    alice.create("Patient");
    let commit = alice.add(&[bob.key_package(), carol.key_package()]);
    alice.merge();
    bob.join(&commit);
    carol.join(&commit);
    let late = bob.encrypt(b"slow network");
    for _ in 0..2 {
        let commit = alice.self_update();
        alice.merge();
        carol.process(&commit.commit);
    }
    carol.expect_message(&late, &member("bob", "d1"), b"slow network");
}

#[test]
fn concurrent_commits_loser_recovers_and_redoes() {
    let (mut alice, mut bob, mut carol, mut dave) = four_member_group();
    let erin = Client::new("erin");
    // Alice and Bob commit in the same epoch; the server accepts Alice's.
    let winner = alice.add(&[erin.key_package()]);
    let loser = bob.rename("Bob's club");
    assert_eq!(winner.epoch, loser.epoch);

    alice.merge();
    // Bob processes the winner: his pending rename is dropped.
    let events = bob.process(&winner.commit);
    assert!(
        events
            .iter()
            .any(|e| matches!(e, GroupEvent::MembersAdded { .. }))
    );
    assert!(!bob.group().has_pending_commit());
    for c in [&mut carol, &mut dave] {
        c.process(&winner.commit);
        // The losing commit, had a server relayed it, is stale everywhere.
        assert!(matches!(
            c.try_process(&loser.commit),
            Err(Error::StaleEpoch { .. })
        ));
    }
    let mut erin = erin;
    erin.join(&winner);
    assert_in_step(&[&alice, &bob, &carol, &dave, &erin]);

    // Bob redoes his change on the new epoch.
    let redo = bob.rename("Bob's club");
    bob.merge();
    for c in [&mut alice, &mut carol, &mut dave, &mut erin] {
        c.process(&redo.commit);
        assert_eq!(c.group().name(), "Bob's club");
    }
    assert_in_step(&[&alice, &bob, &carol, &dave, &erin]);
}

#[test]
fn discarding_a_rejected_commit_restores_the_epoch() {
    let (mut alice, mut bob, ..) = four_member_group();
    let auth = alice.epoch_authenticator();
    let _rejected = alice.self_update();
    assert!(alice.group().has_pending_commit());
    // While pending, other commits and messages wait.
    assert!(matches!(
        {
            let (g, p, i) = alice.parts();
            g.self_update(p, i)
        },
        Err(Error::CommitPending)
    ));
    {
        let (g, p, _) = alice.parts();
        g.discard_pending_commit(p)
    }
    .unwrap();
    assert!(matches!(
        {
            let (g, p, _) = alice.parts();
            g.discard_pending_commit(p)
        },
        Err(Error::NoPendingCommit)
    ));
    assert_eq!(alice.epoch_authenticator(), auth);
    let m = alice.encrypt(b"still here");
    bob.expect_message(&m, &member("alice", "d1"), b"still here");
}

#[test]
fn own_commit_echo_is_applied_once() {
    for framing in [HandshakeFraming::Encrypted, HandshakeFraming::Plaintext] {
        let config = GroupConfig {
            handshake_framing: framing,
            ..GroupConfig::default()
        };
        let mut alice = Client::with_config("alice", "d1", config.clone());
        let mut bob = Client::with_config("bob", "d1", config);
        alice.create("Echo");
        let commit = alice.add(&[bob.key_package()]);
        // The server relays the accepted commit back to its sender: that merges it.
        let events = alice.process(&commit.commit);
        assert!(events.contains(&GroupEvent::EpochAdvanced {
            by: alice.id(),
            epoch: 1
        }));
        assert_eq!(alice.epoch(), 1);
        // A second echo changes nothing.
        let auth = alice.epoch_authenticator();
        match alice.try_process(&commit.commit) {
            Ok(events) => assert_eq!(events, vec![GroupEvent::OwnMessageEchoed { epoch: 0 }]),
            Err(e) => assert!(matches!(e, Error::StaleEpoch { .. }), "{framing:?}: {e:?}"),
        }
        assert_eq!(alice.epoch_authenticator(), auth);
        bob.join(&commit);
        assert_in_step(&[&alice, &bob]);
        // Own application messages echoed back are recognised, not shown.
        let m = alice.encrypt(b"mine");
        assert_eq!(
            alice.process(&m),
            vec![GroupEvent::OwnMessageEchoed { epoch: 1 }]
        );
        bob.expect_message(&m, &alice.id(), b"mine");
    }
}

#[test]
fn every_supported_ciphersuite_works() {
    for suite in CipherSuite::ALL {
        let config = GroupConfig::default().with_ciphersuite(suite);
        let mut alice = Client::with_config("alice", "d1", config.clone());
        let mut bob = Client::with_config("bob", "d1", config.clone());
        let mut carol = Client::with_config("carol", "d1", config);
        alice.create("Suites");
        let commit = alice.add(&[bob.key_package(), carol.key_package()]);
        alice.merge();
        bob.join(&commit);
        carol.join(&commit);
        assert_eq!(bob.group().ciphersuite().unwrap(), suite);
        let m = carol.encrypt(b"suite test");
        alice.expect_message(&m, &carol.id(), b"suite test");
        bob.expect_message(&m, &carol.id(), b"suite test");
        assert_in_step(&[&alice, &bob, &carol]);
    }
}

#[test]
fn welcome_carrying_the_tree_is_accepted() {
    let config = GroupConfig {
        ratchet_tree_in_welcome: true,
        ..GroupConfig::default()
    };
    let mut alice = Client::with_config("alice", "d1", config.clone());
    let bob = Client::with_config("bob", "d1", config.clone());
    alice.create("Tree inside");
    let commit = alice.add(&[bob.key_package()]);
    alice.merge();
    let invitation = commit.invitation.unwrap();
    let group = Group::join(&bob.provider, &config, &invitation.welcome, None).unwrap();
    assert_eq!(group.epoch_authenticator(), alice.epoch_authenticator());

    // Without the tree in the Welcome, joining needs the tree beside it.
    let mut carol_creator = Client::new("carol");
    let dave = Client::new("dave");
    carol_creator.create("Tree beside");
    let commit = carol_creator.add(&[dave.key_package()]);
    let invitation = commit.invitation.unwrap();
    assert!(matches!(
        Group::join(&dave.provider, &dave.config, &invitation.welcome, None),
        Err(Error::InvalidWelcome(_))
    ));
}

#[test]
fn multiple_devices_of_a_user_are_removed_together() {
    let mut alice = Client::new("alice");
    let mut bob_phone = Client::with_config("bob", "phone", GroupConfig::default());
    let mut bob_laptop = Client::with_config("bob", "laptop", GroupConfig::default());
    let mut carol = Client::new("carol");
    alice.create("Devices");
    let commit = alice.add(&[
        bob_phone.key_package(),
        bob_laptop.key_package(),
        carol.key_package(),
    ]);
    alice.merge();
    for c in [&mut bob_phone, &mut bob_laptop, &mut carol] {
        c.join(&commit);
    }
    let (provider, identity) = (&alice.provider, &alice.identity);
    let commit = alice
        .group
        .as_mut()
        .unwrap()
        .remove_user(provider, identity, &UserName::new("bob").unwrap())
        .unwrap();
    alice.merge();
    let events = carol.process(&commit.commit);
    match &events[0] {
        GroupEvent::MembersRemoved { removed, .. } => {
            assert_eq!(removed.len(), 2);
            assert!(removed.iter().all(|m| m.user.as_str() == "bob"));
        }
        other => panic!("{other:?}"),
    }
    for c in [&mut bob_phone, &mut bob_laptop] {
        let events = c.process(&commit.commit);
        assert!(
            events
                .iter()
                .any(|e| matches!(e, GroupEvent::RemovedFromGroup { .. }))
        );
    }
    assert_in_step(&[&alice, &carol]);
    // Removing a user who is not there is a typed error and changes nothing.
    let auth = alice.epoch_authenticator();
    let (provider, identity) = (&alice.provider, &alice.identity);
    assert!(matches!(
        alice.group.as_mut().unwrap().remove_user(
            provider,
            identity,
            &UserName::new("bob").unwrap()
        ),
        Err(Error::UnknownMember(_))
    ));
    assert_eq!(alice.epoch_authenticator(), auth);
    assert!(!alice.group().has_pending_commit());
}

#[test]
fn safety_numbers_agree_across_members() {
    let (mut alice, mut bob, ..) = four_member_group();
    let alice_fp = alice.identity.fingerprint();
    let bob_fp = bob.identity.fingerprint();
    let seen_by_bob = bob
        .group()
        .members()
        .unwrap()
        .into_iter()
        .find(|m| m.id == alice.id())
        .unwrap();
    assert_eq!(seen_by_bob.fingerprint(), alice_fp);
    let seen_by_alice = alice
        .group()
        .members()
        .unwrap()
        .into_iter()
        .find(|m| m.id == bob.id())
        .unwrap();
    assert_eq!(
        SafetyNumber::between(alice_fp, seen_by_alice.fingerprint()),
        SafetyNumber::between(seen_by_bob.fingerprint(), bob_fp)
    );
}

#[test]
fn identity_and_group_reload_from_storage() {
    let (mut alice, mut bob, ..) = four_member_group();
    let record = alice.identity.record();
    let reloaded = Identity::load(&alice.provider, &record).unwrap();
    assert_eq!(
        reloaded.signature_public_key(),
        alice.identity.signature_public_key()
    );
    assert_eq!(reloaded.fingerprint(), alice.identity.fingerprint());

    let id = alice.group().id();
    let group = Group::load(&alice.provider, &id).unwrap();
    assert_eq!(group.epoch_authenticator(), alice.epoch_authenticator());
    alice.group = Some(group);
    alice.identity = reloaded;
    let m = alice.encrypt(b"after reload");
    bob.expect_message(&m, &alice.id(), b"after reload");

    // An unknown record or group is a typed error.
    let stranger = Client::new("stranger");
    assert!(matches!(
        Identity::load(&alice.provider, &stranger.identity.record()),
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        Group::load(&stranger.provider, &id),
        Err(Error::NotFound(_))
    ));
}

#[test]
fn key_packages_are_validated_before_anything_changes() {
    let mut alice = Client::new("alice");
    let bob = Client::new("bob");
    alice.create("KP");
    let good = bob.key_package();
    let info = inspect_key_package(&Crypto::default(), &good).unwrap();
    assert_eq!(info.member, bob.id());
    assert_eq!(info.signature_key, bob.identity.signature_public_key());
    assert!(!info.last_resort);

    let last_resort = bob
        .identity
        .last_resort_key_package(&bob.provider, &bob.config)
        .unwrap();
    assert!(last_resort.last_resort);
    assert!(
        inspect_key_package(&Crypto::default(), &last_resort.bytes)
            .unwrap()
            .last_resort
    );

    let (provider, identity) = (&alice.provider, &alice.identity);
    let group = alice.group.as_mut().unwrap();
    let mut tampered = good.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    assert!(matches!(
        group.add_members(provider, identity, &[good.clone(), tampered]),
        Err(Error::InvalidKeyPackage(_))
    ));
    assert!(matches!(
        group.add_members(provider, identity, &[good[..good.len() / 2].to_vec()]),
        Err(Error::Malformed(_))
    ));
    assert!(matches!(
        group.add_members(provider, identity, &[good.clone(), good.clone()]),
        Err(Error::AlreadyMember(_))
    ));
    let p256 = Client::with_config(
        "pat",
        "d1",
        GroupConfig::default().with_ciphersuite(CipherSuite::P256Aes128P256),
    );
    assert!(matches!(
        group.add_members(provider, identity, &[p256.key_package()]),
        Err(Error::InvalidKeyPackage(_))
    ));
    assert!(matches!(
        group.add_members(provider, identity, &Vec::<Vec<u8>>::new()),
        Err(Error::EmptyInput(_))
    ));
    assert_eq!(group.epoch(), 0);
    assert!(!group.has_pending_commit());
    // The group still works: the good key package goes in.
    group.add_members(provider, identity, &[good]).unwrap();
}

/// A joiner learns who added it from the Welcome's signed GroupInfo; a creator, or a group
/// loaded from storage, has no inviter.
#[test]
fn a_joiner_knows_who_added_it() {
    let (mut alice, mut bob, mut carol) = (
        Client::new("alice"),
        Client::new("bob"),
        Client::new("carol"),
    );
    alice.create("Who");
    assert_eq!(alice.group().invited_by(), None);
    let commit = alice.add(&[bob.key_package()]);
    alice.merge();
    bob.join(&commit);
    assert_eq!(bob.group().invited_by(), Some(&alice.id()));
    let commit = bob.add(&[carol.key_package()]);
    bob.merge();
    alice.process(&commit.commit);
    carol.join(&commit);
    assert_eq!(carol.group().invited_by(), Some(&bob.id()));
    let id = carol.group().id();
    let reloaded = Group::load(&carol.provider, &id).unwrap();
    assert_eq!(reloaded.invited_by(), None);
}

/// A key package whose private keys were deleted can no longer be joined by; the device's
/// other packages are untouched.
#[test]
fn a_deleted_key_package_can_no_longer_be_joined() {
    let (mut alice, bob) = (Client::new("alice"), Client::new("bob"));
    let packages = bob
        .identity
        .key_packages(&bob.provider, &bob.config, 2)
        .unwrap();
    bob.identity
        .delete_key_package(&bob.provider, &packages[0].reference)
        .unwrap();
    for (package, joinable) in [(&packages[0], false), (&packages[1], true)] {
        alice.create("Deleted");
        let commit = alice.add(std::slice::from_ref(&package.bytes));
        alice.merge();
        let invitation = commit.invitation.unwrap();
        let joined = Group::join(
            &bob.provider,
            &bob.config,
            &invitation.welcome,
            Some(&invitation.ratchet_tree),
        );
        if joinable {
            assert!(joined.is_ok(), "{:?}", joined.err());
        } else {
            assert!(
                matches!(joined, Err(Error::WelcomeNotForUs)),
                "{:?}",
                joined.err()
            );
        }
    }
}

/// A server that told alice her first commit lost (so she made another) and then relays
/// that first one as the winner; or a member who re-encrypts the sender data of a commit
/// (its key is every member's) to name alice's leaf. Either way the message looks like
/// alice's own commit in the current epoch, while a different commit of hers is pending:
/// merging the pending one on the strength of that would split her off the group.
#[test]
fn only_the_commit_this_device_sent_merges_at_its_echo() {
    let (mut alice, mut bob, ..) = four_member_group();
    let first = alice.rename("first");
    {
        let (g, p, _) = alice.parts();
        g.discard_pending_commit(p).unwrap();
    }
    let second = alice.rename("second");
    let before = alice.epoch_authenticator();
    let refused = alice.try_process(&first.commit);
    assert!(
        matches!(refused, Err(Error::InvalidCommit(_))),
        "{refused:?}"
    );
    assert_eq!(alice.epoch_authenticator(), before);
    assert!(alice.group().has_pending_commit());
    // Storage keeps the digest with the pending commit: a reloaded group, given it back,
    // still tells the two apart; one not given it merges neither.
    let digest = alice.group().sent_commit().expect("pending");
    let id = alice.group().id();
    let mut reloaded = Group::load(&alice.provider, &id).unwrap();
    assert!(matches!(
        reloaded.process(&alice.provider, &second.commit),
        Err(Error::InvalidCommit(_))
    ));
    reloaded.restore_sent_commit(digest);
    assert!(matches!(
        reloaded.process(&alice.provider, &first.commit),
        Err(Error::InvalidCommit(_))
    ));
    alice.group = Some(reloaded);
    // The commit she did send merges, and she stays in step with the others.
    alice.process(&second.commit);
    assert_eq!(alice.group().sent_commit(), None);
    bob.process(&second.commit);
    assert_eq!(bob.group().name(), "second");
    assert_in_step(&[&alice, &bob]);
}

/// What the delivery service reads of each kind of message, without keys: exactly the
/// group, epoch and content type the members see, whatever the handshake framing.
#[test]
fn the_cleartext_framing_says_what_each_message_is() {
    use conclave_protocol::{ContentKind, Framing, GroupFraming, read_framing};
    for framing in [HandshakeFraming::Encrypted, HandshakeFraming::Plaintext] {
        let config = GroupConfig {
            handshake_framing: framing,
            ..GroupConfig::default()
        };
        let mut alice = Client::with_config("alice", "d1", config.clone());
        let mut bob = Client::with_config("bob", "d1", config);
        alice.create("Framing");
        let bob_package = bob.key_package();
        assert_eq!(
            read_framing(&bob_package).unwrap(),
            Framing::Other("key package")
        );
        let add = alice.add(&[bob_package]);
        alice.merge();
        bob.join(&add);
        let id = alice.group().id().as_bytes().to_vec();
        let group = |epoch, content| {
            Framing::Group(GroupFraming {
                group_id: id.clone(),
                epoch,
                content,
                from_member: true,
            })
        };
        assert_eq!(
            read_framing(&add.commit).unwrap(),
            group(0, ContentKind::Commit)
        );
        let welcome = &add.invitation.as_ref().unwrap().welcome;
        assert_eq!(read_framing(welcome).unwrap(), Framing::Welcome);
        let message = alice.encrypt(b"hi");
        assert_eq!(
            read_framing(&message).unwrap(),
            group(1, ContentKind::Application)
        );
        let leave = {
            let (g, p, i) = bob.parts();
            g.leave(p, i).unwrap()
        };
        assert_eq!(
            read_framing(&leave).unwrap(),
            group(1, ContentKind::Proposal)
        );
        // Bytes that are not exactly one MLSMessage are refused, trailing bytes included.
        let mut trailing = message.clone();
        trailing.push(0);
        for bad in [&b""[..], b"hello", &message[..message.len() - 1], &trailing] {
            assert!(
                matches!(read_framing(bad), Err(Error::Malformed(_))),
                "{framing:?}"
            );
        }
    }
}

/// A large add checks its key packages' signatures as batches over every core: one bad
/// signature among many (the package's own, or its leaf's) fails the add as a single check
/// would, and nothing changes; the same packages without it go in.
#[test]
fn one_bad_signature_in_a_large_add_is_refused() {
    let mut alice = Client::new("alice");
    alice.create("Batch");
    let joiners: Vec<Client> = (0..64).map(|i| Client::new(&format!("user{i}"))).collect();
    let packages: Vec<Vec<u8>> = joiners.iter().map(Client::key_package).collect();
    let (provider, identity) = (&alice.provider, &alice.identity);
    let group = alice.group.as_mut().unwrap();
    // The package's signature is its last 64 bytes; its leaf's ends before the package's
    // length (two bytes) and its empty extensions (one byte).
    for from_end in [1, 1 + 64 + 2 + 1] {
        let mut tampered = packages.clone();
        let victim = &mut tampered[37];
        let at = victim.len() - from_end;
        victim[at] ^= 1;
        let result = group.add_members(provider, identity, &tampered).map(drop);
        assert!(
            matches!(result, Err(Error::InvalidKeyPackage(_))),
            "a bad signature {from_end} bytes from the end: {result:?}"
        );
        assert_eq!(group.epoch(), 0);
        assert!(!group.has_pending_commit());
    }
    group.add_members(provider, identity, &packages).unwrap();
    group.merge_pending_commit(provider).unwrap();
    assert_eq!(group.members().unwrap().len(), 65);
}
