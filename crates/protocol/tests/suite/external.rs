//! Joining by external commit: a member that lost its state rejoins (its old leaf replaced),
//! a new member joins while an invite link without approval is open, and members refuse
//! every other external commit, even one made by a client that skips its own checks.

use crate::common;

use common::{Client, member};
use conclave_protocol::{
    AcceptAll, Error, ExternalJoin, Group, GroupConfig, GroupEvent, InviteLink, MemoryProvider,
};

/// alice (admin) and bob in one group.
fn pair() -> (Client, Client) {
    let (mut alice, mut bob) = (Client::new("alice"), Client::new("bob"));
    alice.create("External");
    let bundle = alice.add(&[bob.key_package()]);
    alice.merge();
    bob.join(&bundle);
    (alice, bob)
}

fn group_info(client: &mut Client) -> Vec<u8> {
    let (group, provider, identity) = client.parts();
    group.group_info(provider, identity).unwrap()
}

/// `client` joins from `info` on a fresh provider (its old state gone).
fn join(
    client: &mut Client,
    info: &[u8],
    id: &conclave_protocol::GroupId,
) -> Result<(Vec<u8>, ExternalJoin), Error> {
    client.provider = MemoryProvider::default();
    let (group, bundle, kind) = Group::join_external(
        &client.provider,
        &client.identity,
        &client.config,
        info,
        id,
        &AcceptAll,
    )?;
    client.group = Some(group);
    Ok((bundle.commit, kind))
}

fn open_link(alice: &mut Client, bob: &mut Client, approval: bool) {
    let (group, provider, identity) = alice.parts();
    let link = InviteLink {
        secret: [9; 32],
        approval,
    };
    let bundle = group
        .set_invite_link(provider, identity, Some(link))
        .unwrap();
    alice.merge();
    let events = bob.process(&bundle.commit);
    assert!(events.iter().any(|e| matches!(e,
        GroupEvent::InviteLinkChanged { open: true, approval: a, .. } if *a == approval)));
}

#[test]
fn a_member_that_lost_its_state_rejoins_and_chats() {
    let (mut alice, mut bob) = pair();
    let id = alice.group().id();
    // Bob's state is gone; alice went on without him.
    let update = alice.self_update();
    alice.merge();
    drop(update);
    let info = group_info(&mut alice);
    let (commit, kind) = join(&mut bob, &info, &id).unwrap();
    assert_eq!(kind, ExternalJoin::Rejoin);
    let events = alice.process(&commit);
    assert!(matches!(&events[..], [
        GroupEvent::MemberJoined { member, rejoin: true },
        GroupEvent::EpochAdvanced { .. },
    ] if *member == bob.id()));
    assert_eq!(alice.epoch_authenticator(), bob.epoch_authenticator());
    // One leaf per device: the old one went in the same commit.
    assert_eq!(alice.group().members().unwrap().len(), 2);
    let hello = bob.encrypt(b"back");
    assert!(matches!(&alice.process(&hello)[..],
        [GroupEvent::Message { plaintext, .. }] if plaintext == b"back"));
    let reply = alice.encrypt(b"welcome back");
    assert!(matches!(&bob.process(&reply)[..],
        [GroupEvent::Message { plaintext, .. }] if plaintext == b"welcome back"));
}

#[test]
fn a_member_tells_from_the_group_info_whether_it_is_behind_or_forked() {
    let (mut alice, mut bob) = pair();
    let info = group_info(&mut alice);
    assert!(!bob.group().is_behind_or_apart(&info).unwrap());
    // Behind: alice went on.
    let update = alice.self_update();
    alice.merge();
    let info = group_info(&mut alice);
    assert!(bob.group().is_behind_or_apart(&info).unwrap());
    bob.process(&update.commit);
    assert!(!bob.group().is_behind_or_apart(&info).unwrap());
    // Forked: bob merged a commit of his own nobody else has, at the same epoch.
    bob.self_update();
    bob.merge();
    alice.self_update();
    alice.merge();
    let info = group_info(&mut alice);
    assert_eq!(alice.epoch(), bob.epoch());
    assert!(bob.group().is_behind_or_apart(&info).unwrap());
}

#[test]
fn a_commit_a_member_cannot_decrypt_is_recovered_from_by_rejoining() {
    let (mut alice, mut bob) = pair();
    let id = alice.group().id();
    let mut commit = alice.self_update().commit;
    alice.merge();
    // Damaged on its way to bob: he cannot process it, and stays behind.
    let last = commit.len() - 1;
    commit[last] ^= 1;
    assert!(bob.try_process(&commit).is_err());
    assert_ne!(bob.epoch(), alice.epoch());
    let info = group_info(&mut alice);
    let (rejoin, kind) = join(&mut bob, &info, &id).unwrap();
    assert_eq!(kind, ExternalJoin::Rejoin);
    alice.process(&rejoin);
    assert_eq!(alice.epoch_authenticator(), bob.epoch_authenticator());
}

#[test]
fn a_new_member_joins_only_while_a_link_without_approval_is_open() {
    let (mut alice, mut bob) = pair();
    let id = alice.group().id();
    let mut carol = Client::new("carol");
    // No link: refused by carol's own client.
    let info = group_info(&mut alice);
    assert!(matches!(
        join(&mut carol, &info, &id),
        Err(Error::JoinRefused { .. })
    ));
    // A link that needs approval: still no external join.
    open_link(&mut alice, &mut bob, true);
    let info = group_info(&mut alice);
    assert!(matches!(
        join(&mut carol, &info, &id),
        Err(Error::JoinRefused { .. })
    ));
    // A link without approval: carol joins, and everyone sees who.
    open_link(&mut alice, &mut bob, false);
    let info = group_info(&mut alice);
    let (commit, kind) = join(&mut carol, &info, &id).unwrap();
    assert_eq!(kind, ExternalJoin::New);
    for member in [&mut alice, &mut bob] {
        let events = member.process(&commit);
        assert!(matches!(&events[0],
            GroupEvent::MemberJoined { member, rejoin: false } if *member == carol.id()));
    }
    assert_eq!(alice.epoch_authenticator(), carol.epoch_authenticator());
    assert_eq!(carol.group().name(), "External");
    // The link's GroupInfo of another group is not this one.
    let other = conclave_protocol::GroupId::from_bytes(vec![1; 16]);
    let mut dave = Client::new("dave");
    let info = group_info(&mut alice);
    assert!(matches!(
        join(&mut dave, &info, &other),
        Err(Error::WrongGroup)
    ));
}

#[test]
fn only_who_may_manage_links_opens_one() {
    let (mut alice, mut bob) = pair();
    let epoch = alice.epoch();
    let (group, provider, identity) = bob.parts();
    let link = InviteLink {
        secret: [1; 32],
        approval: false,
    };
    let bundle = group
        .set_invite_link(provider, identity, Some(link))
        .unwrap();
    match alice.try_process(&bundle.commit) {
        Err(Error::PolicyRefused(refusal)) => {
            assert_eq!(refusal.action, conclave_protocol::Action::Links)
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(alice.epoch(), epoch);
}

#[test]
fn a_removal_changes_the_rejoin_key_and_keeps_the_link() {
    let (mut alice, mut bob) = pair();
    open_link(&mut alice, &mut bob, false);
    let before = alice.group().join_keys().unwrap().unwrap();
    let (group, provider, identity) = alice.parts();
    let bundle = group
        .remove_devices(provider, identity, &[member("bob", "d1")])
        .unwrap();
    alice.merge();
    let after = alice.group().join_keys().unwrap().unwrap();
    assert_ne!(after.rejoin, before.rejoin);
    assert_eq!(after.link, before.link);
    let events = bob.process(&bundle.commit);
    assert!(
        events
            .iter()
            .any(|e| matches!(e, GroupEvent::RemovedFromGroup { .. }))
    );
}

/// A leave committed along with something else (a key update, an add, a rename) changes
/// the rejoin key just the same.
#[test]
fn any_commit_that_applies_a_leave_changes_the_rejoin_key() {
    let (mut alice, mut bob) = pair();
    let carol = Client::new("carol");
    let kp = carol.key_package();
    for commit in ["update", "add", "rename"] {
        let (mut alice2, mut bob2) = pair();
        let before = alice2.group().join_keys().unwrap().unwrap();
        let (group, provider, identity) = bob2.parts();
        let leave = group.leave(provider, identity).unwrap();
        alice2.process(&leave);
        let (group, provider, identity) = alice2.parts();
        match commit {
            "update" => group.self_update(provider, identity).unwrap(),
            "add" => group
                .add_members(provider, identity, std::slice::from_ref(&kp))
                .unwrap(),
            _ => group.rename(provider, identity, "Renamed").unwrap(),
        };
        alice2.merge();
        assert_eq!(
            alice2.group().members().unwrap().len(),
            if commit == "add" { 2 } else { 1 }
        );
        let after = alice2.group().join_keys().unwrap().unwrap();
        assert_ne!(after.rejoin, before.rejoin, "{commit}");
    }
    // Without a leave, a key update keeps it.
    let before = alice.group().join_keys().unwrap().unwrap();
    let update = alice.self_update();
    alice.merge();
    bob.process(&update.commit);
    assert_eq!(
        alice.group().join_keys().unwrap().unwrap().rejoin,
        before.rejoin
    );
}

/// A member whose state is older than a removal (a restored backup) asks the group for the
/// rejoin key: a member answers, and only that member's device can open the answer. Asks
/// from a removed member, from a device that only claims the member's name, for another
/// group, or altered on the way, are refused; so are answers not signed by a device the
/// asker knows, or altered on the way.
#[test]
fn a_member_behind_a_removal_asks_for_the_rejoin_key() {
    use conclave_protocol::{Identity, RejoinAsk};
    let (mut alice, mut bob) = pair();
    let mut carol = Client::new("carol");
    let bundle = alice.add(&[carol.key_package()]);
    alice.merge();
    bob.process(&bundle.commit);
    carol.join(&bundle);
    let id = alice.group().id();
    let suite = alice.group().ciphersuite().unwrap();
    let old = bob.group().join_keys().unwrap().unwrap();
    // Carol is removed while bob's device is away: bob's rejoin key is the old one.
    let (group, provider, identity) = alice.parts();
    let removal = group
        .remove_devices(provider, identity, &[member("carol", "d1")])
        .unwrap();
    alice.merge();
    carol.process(&removal.commit);
    let current = alice.group().join_keys().unwrap().unwrap().rejoin;
    assert_ne!(old.rejoin, current);

    let ask = RejoinAsk::new(&bob.provider).unwrap();
    let message = ask
        .message(&bob.provider, &bob.identity, &id, suite)
        .unwrap();
    let (group, provider, identity) = alice.parts();
    let (asker, answer) = group
        .answer_rejoin_ask(provider, identity, &message)
        .unwrap();
    assert_eq!(asker, bob.id());
    // Bob knows alice's device by its key (from his old state of the group).
    let alice_id = alice.id();
    let alice_key = alice.identity.signature_public_key().to_vec();
    let known = |m: &conclave_protocol::MemberId| (*m == alice_id).then(|| alice_key.clone());
    // The seed is all bob keeps of his ask (it survives a restart).
    let kept = RejoinAsk::from_seed(*ask.seed());
    let opened = kept.open(&bob.provider, &id, suite, &answer, known);
    assert_eq!(opened.unwrap(), (alice.id(), current));
    // Another ask's key does not open it; nor does bob take it from a device he does not
    // know, or altered on the way.
    let other = RejoinAsk::new(&bob.provider).unwrap();
    let opened = other.open(&bob.provider, &id, suite, &answer, known);
    assert!(opened.is_err());
    let opened = kept.open(&bob.provider, &id, suite, &answer, |_| None);
    assert!(matches!(opened, Err(Error::InvalidRejoinAsk(_))));
    let mut altered = answer.clone();
    let at = altered.len() - 80;
    altered[at] ^= 1;
    let opened = kept.open(&bob.provider, &id, suite, &altered, known);
    assert!(matches!(opened, Err(Error::InvalidRejoinAsk(_))));
    // An answer the server makes up (a key of its own, sealed to the ask) cannot carry
    // alice's signature: one under another key in her name is refused.
    let impostor_provider = MemoryProvider::default();
    let impostor =
        Identity::create(&impostor_provider, alice.id(), alice.config.ciphersuite).unwrap();
    let (group, provider, _) = alice.parts();
    let (_, forged) = group
        .answer_rejoin_ask(provider, &impostor, &message)
        .unwrap();
    let opened = kept.open(&bob.provider, &id, suite, &forged, known);
    assert!(matches!(opened, Err(Error::InvalidRejoinAsk(_))));

    let refused = |alice: &mut Client, message: &[u8]| {
        let (group, provider, identity) = alice.parts();
        assert!(matches!(
            group.answer_rejoin_ask(provider, identity, message),
            Err(Error::InvalidRejoinAsk(_))
        ));
    };
    // Carol was removed: her leaf is gone.
    refused(
        &mut alice,
        &RejoinAsk::new(&carol.provider)
            .unwrap()
            .message(&carol.provider, &carol.identity, &id, suite)
            .unwrap(),
    );
    // A device that calls itself bob/d1 but holds another key.
    let provider = MemoryProvider::default();
    let impostor = Identity::create(&provider, bob.id(), alice.config.ciphersuite).unwrap();
    refused(
        &mut alice,
        &RejoinAsk::new(&provider)
            .unwrap()
            .message(&provider, &impostor, &id, suite)
            .unwrap(),
    );
    // Bob's own ask, for another group.
    let elsewhere = conclave_protocol::GroupId::from_bytes(vec![7; 16]);
    refused(
        &mut alice,
        &ask.message(&bob.provider, &bob.identity, &elsewhere, suite)
            .unwrap(),
    );
    // Bob's ask with its key replaced on the way (the server's try at reading the answer).
    let mut altered = message.clone();
    let at = altered.len() - 80;
    altered[at] ^= 1;
    refused(&mut alice, &altered);
}

/// A client that skips its own check (openmls used directly) joins a group with no open link:
/// every member refuses the commit, and stays where it was.
#[test]
fn members_refuse_an_external_join_without_a_link() {
    use openmls::prelude::{
        BasicCredential, CredentialWithKey, LeafNodeParameters, MlsGroup, MlsMessageBodyIn,
        MlsMessageIn,
    };
    use openmls_basic_credential::SignatureKeyPair;
    use openmls_traits::OpenMlsProvider as _;
    use tls_codec::{Deserialize as _, Serialize as _};

    let (mut alice, mut bob) = pair();
    let epoch = alice.epoch();
    let info = group_info(&mut alice);
    let MlsMessageBodyIn::GroupInfo(info) = MlsMessageIn::tls_deserialize_exact(&info)
        .unwrap()
        .extract()
    else {
        panic!("a group info")
    };
    let provider = openmls_rust_crypto::OpenMlsRustCrypto::default();
    let config = GroupConfig::default();
    let suite = config.ciphersuite.to_openmls();
    let keys = SignatureKeyPair::new(suite.signature_algorithm()).unwrap();
    keys.store(provider.storage()).unwrap();
    let credential = CredentialWithKey {
        credential: BasicCredential::new(b"mallory/d1".to_vec()).into(),
        signature_key: keys.public().into(),
    };
    let (_, bundle) = MlsGroup::external_commit_builder()
        .build_group(&provider, info, credential)
        .unwrap()
        .leaf_node_parameters(
            LeafNodeParameters::builder()
                .with_capabilities(GroupConfig::capabilities())
                .build(),
        )
        .load_psks(provider.storage())
        .unwrap()
        .build(provider.rand(), provider.crypto(), &keys, |_| true)
        .unwrap()
        .finalize(&provider)
        .unwrap();
    let commit = bundle.commit().tls_serialize_detached().unwrap();
    for member in [&mut alice, &mut bob] {
        match member.try_process(&commit) {
            Err(Error::JoinRefused { by, .. }) => assert_eq!(*by, member_id("mallory")),
            other => panic!("expected a refused join, got {other:?}"),
        }
        assert_eq!(member.epoch(), epoch);
    }
}

fn member_id(user: &str) -> conclave_protocol::MemberId {
    member(user, "d1")
}
