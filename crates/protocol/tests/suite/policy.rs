//! The group policy as every member checks it: what only admins may do is refused from a
//! member who is not one (nothing changes), done by an admin it goes through, and a group
//! left without an admin takes exactly one successor: the member at the lowest leaf.

use crate::common;

use common::Client;
use conclave_protocol::{Action, Error, GroupEvent, Policy, Role, UserName};

fn user(name: &str) -> UserName {
    UserName::new(name).unwrap()
}

/// alice (admin), bob and carol in one group.
fn three() -> (Client, Client, Client) {
    let (mut alice, mut bob, mut carol) = (
        Client::new("alice"),
        Client::new("bob"),
        Client::new("carol"),
    );
    alice.create("Policy");
    let bundle = alice.add(&[bob.key_package(), carol.key_package()]);
    alice.merge();
    bob.join(&bundle);
    carol.join(&bundle);
    (alice, bob, carol)
}

fn refused(result: Result<Vec<GroupEvent>, Error>, action: Action) {
    match result {
        Err(Error::PolicyRefused(refusal)) => assert_eq!(refusal.action, action),
        other => panic!("expected a refusal of {action:?}, got {other:?}"),
    }
}

#[test]
fn what_needs_an_admin_is_refused_from_a_member_and_taken_from_an_admin() {
    let (mut alice, mut bob, mut carol) = three();
    let epoch = carol.epoch();

    // Bob removes carol, renames to something admins-only, promotes himself: each refused
    // by alice, whose group stays where it was.
    let carol_id = carol.id();
    let (group, provider, identity) = bob.parts();
    let removal = group
        .remove_devices(provider, identity, &[carol_id])
        .unwrap();
    group.discard_pending_commit(provider).unwrap();
    refused(alice.try_process(&removal.commit), Action::Remove);
    let (group, provider, identity) = bob.parts();
    let mut mine = group.policy().unwrap().unwrap();
    mine.admins.insert(user("bob"));
    let promotion = group.set_policy(provider, identity, &mine).unwrap();
    group.discard_pending_commit(provider).unwrap();
    refused(alice.try_process(&promotion.commit), Action::ChangePolicy);
    refused(carol.try_process(&promotion.commit), Action::ChangePolicy);
    assert_eq!(alice.epoch(), epoch);
    assert_eq!(carol.epoch(), epoch);

    // Bob may add and rename (the default rules), and remove his own devices.
    let bundle = bob.rename("Bob's now");
    bob.merge();
    alice.process(&bundle.commit);
    carol.process(&bundle.commit);

    // Alice promotes bob: everyone takes it, and he may remove carol now.
    let (group, provider, identity) = alice.parts();
    let mut policy = group.policy().unwrap().unwrap();
    policy.admins.insert(user("bob"));
    let bundle = group.set_policy(provider, identity, &policy).unwrap();
    alice.merge();
    let events = bob.process(&bundle.commit);
    assert!(events.iter().any(|e| matches!(e,
        GroupEvent::PolicyChanged { promoted, .. } if promoted == &vec![user("bob")])));
    carol.process(&bundle.commit);
    let carol_id = carol.id();
    let (group, provider, identity) = bob.parts();
    assert!(group.permits(&user("bob"), Action::Remove).unwrap());
    let removal = group
        .remove_devices(provider, identity, &[carol_id])
        .unwrap();
    bob.merge();
    alice.process(&removal.commit);
    assert_eq!(alice.epoch_authenticator(), bob.epoch_authenticator());
}

#[test]
fn rules_changed_by_an_admin_bind_everyone() {
    let (mut alice, mut bob, mut carol) = three();
    let (group, provider, identity) = alice.parts();
    let mut policy = group.policy().unwrap().unwrap();
    policy.rename = Role::Admin;
    let bundle = group.set_policy(provider, identity, &policy).unwrap();
    alice.merge();
    bob.process(&bundle.commit);
    carol.process(&bundle.commit);
    let (group, provider, identity) = bob.parts();
    let rename = group.rename(provider, identity, "Mine").unwrap();
    group.discard_pending_commit(provider).unwrap();
    refused(carol.try_process(&rename.commit), Action::Rename);
    assert_eq!(
        Policy::decode(&policy.encode()).unwrap(),
        carol.group().policy().unwrap().unwrap()
    );
}

#[test]
fn a_group_without_an_admin_takes_the_lowest_leaf_and_no_one_else() {
    let (mut alice, mut bob, mut carol) = three();
    // Alice leaves; bob commits it. No admin is a member now.
    let (group, provider, identity) = alice.parts();
    let proposal = group.leave(provider, identity).unwrap();
    bob.process(&proposal);
    carol.process(&proposal);
    let (group, provider, identity) = bob.parts();
    let bundle = group.commit_pending_proposals(provider, identity).unwrap();
    bob.merge();
    carol.process(&bundle.commit);
    let policy = carol.group().policy().unwrap().unwrap();
    assert!(policy.admins.iter().all(|a| a.as_str() == "alice"));

    // Carol (not the lowest leaf: bob is) cannot take over.
    let (group, provider, identity) = carol.parts();
    let carols = Policy {
        admins: [user("carol")].into(),
        ..policy.clone()
    };
    let grab = group.set_policy(provider, identity, &carols).unwrap();
    group.discard_pending_commit(provider).unwrap();
    refused(bob.try_process(&grab.commit), Action::ChangePolicy);
    // Nor may bob take more than the admin's place.
    let (group, provider, identity) = bob.parts();
    let greedy = Policy {
        admins: [user("bob")].into(),
        remove: Role::Member,
        ..policy.clone()
    };
    let bundle = group.set_policy(provider, identity, &greedy).unwrap();
    group.discard_pending_commit(provider).unwrap();
    refused(carol.try_process(&bundle.commit), Action::ChangePolicy);
    // Bob, at the lowest leaf, takes exactly the admin's place.
    let (group, provider, identity) = bob.parts();
    let heir = Policy {
        admins: [user("bob")].into(),
        ..policy
    };
    let bundle = group.set_policy(provider, identity, &heir).unwrap();
    bob.merge();
    carol.process(&bundle.commit);
    assert!(carol.group().permits(&user("bob"), Action::Remove).unwrap());
    assert!(
        !carol
            .group()
            .permits(&user("carol"), Action::Remove)
            .unwrap()
    );
}
