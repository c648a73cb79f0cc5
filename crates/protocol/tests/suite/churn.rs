//! A long run of random member changes, checked at every step.
//!
//! The workspace's openmls carries performance patches (vendor/openmls/CONCLAVE-PATCHES.md),
//! among them a cache of tree hashes kept between commits. A stale or misplaced cached hash
//! would give the committer a group context the others do not share. So this test churns a
//! group through adds that grow the tree, removes that shrink it, key rotations and renames,
//! with some members reloading their group from storage (an empty cache) and every new member
//! joining from a Welcome (hashing the tree from scratch), and checks after every commit that
//! all members agree on epoch and epoch authenticator and still exchange messages.

use crate::common;

use common::{Client, assert_in_step};
use conclave_protocol::Group;
use openmls_traits::OpenMlsProvider as _;

/// A small deterministic generator (xorshift64*), so a failure repeats.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % n
    }
}

/// How many leaves the client's ratchet tree has room for (blank ones included).
fn tree_width(client: &mut Client) -> usize {
    client.group().tree_width()
}

/// The ratchet tree as the client's storage holds it (its one group's).
fn stored_tree(client: &Client) -> Vec<u8> {
    let values = client.provider.storage().values.read().unwrap();
    let mut trees = values
        .iter()
        .filter(|(key, _)| key.starts_with(b"Tree"))
        .map(|(_, value)| value.clone());
    let tree = trees.next().expect("a stored tree");
    assert!(trees.next().is_none(), "one group, one tree");
    tree
}

#[test]
fn random_adds_removes_updates_and_reloads_keep_every_member_in_step() {
    const POOL: usize = 24;
    const STEPS: usize = 70;
    let mut rng = Rng(0x5eed_c0c1_a7e5_0001);
    let mut clients: Vec<Client> = (0..POOL).map(|i| Client::new(&format!("u{i}"))).collect();
    let mut in_group: Vec<usize> = vec![0];
    clients[0].create("churn");
    // The tree's mechanics are under test here, not roles: any member may remove.
    {
        let (group, provider, identity) = clients[0].parts();
        let mut policy = group.policy().unwrap().expect("a new group has one");
        policy.remove = conclave_protocol::Role::Member;
        group.set_policy(provider, identity, &policy).unwrap();
    }
    clients[0].merge();

    let mut grew = 0;
    let mut shrank = 0;
    let mut reloaded = 0;
    for step in 0..STEPS {
        let committer = in_group[rng.below(in_group.len())];
        let outside: Vec<usize> = (0..POOL).filter(|i| !in_group.contains(i)).collect();
        let others: Vec<usize> = in_group
            .iter()
            .copied()
            .filter(|&i| i != committer)
            .collect();
        let leaves_before = tree_width(&mut clients[committer]);

        // Adds while the group is small, removes while it is large, updates and renames
        // throughout.
        let choice = rng.below(10);
        let (bundle, added, removed) = if (choice < 4 || others.is_empty()) && !outside.is_empty() {
            let count = 1 + rng.below(outside.len().min(6));
            let added: Vec<usize> = outside[..count].to_vec();
            let kps: Vec<Vec<u8>> = added.iter().map(|&i| clients[i].key_package()).collect();
            (clients[committer].add(&kps), added, vec![])
        } else if choice < 7 && !others.is_empty() {
            let count = 1 + rng.below(others.len().min(4));
            let mut victims = others.clone();
            // Favour the rightmost members, whose removal trims the tree.
            victims.sort_by_key(|&i| std::cmp::Reverse(clients[i].group().own_leaf_index()));
            let removed: Vec<usize> = victims[..count].to_vec();
            let devices: Vec<_> = removed.iter().map(|&i| clients[i].id()).collect();
            let (group, provider, identity) = clients[committer].parts();
            let bundle = group.remove_devices(provider, identity, &devices).unwrap();
            (bundle, vec![], removed)
        } else if choice < 9 {
            (clients[committer].self_update(), vec![], vec![])
        } else {
            (
                clients[committer].rename(&format!("churn {step}")),
                vec![],
                vec![],
            )
        };

        for &i in &others {
            clients[i].process(&bundle.commit);
        }
        clients[committer].merge();
        for &i in &removed {
            assert!(!clients[i].group().is_active(), "step {step}: u{i} removed");
            // Its storage forgets the group, so it can be invited again.
            let group = clients[i].group.take().unwrap();
            group.delete(&clients[i].provider).unwrap();
        }
        in_group.retain(|i| !removed.contains(i));
        for &i in &added {
            clients[i].join(&bundle);
            in_group.push(i);
        }

        let leaves_after = tree_width(&mut clients[committer]);
        grew += usize::from(leaves_after > leaves_before);
        shrank += usize::from(leaves_after < leaves_before);

        // Now and then a member drops its in-memory group (and with it any cached hashes)
        // and loads it from storage again.
        if rng.below(3) == 0 {
            let i = in_group[rng.below(in_group.len())];
            let id = clients[i].group().id();
            clients[i].group = Some(Group::load(&clients[i].provider, &id).unwrap());
            reloaded += 1;
        }

        let members: Vec<&Client> = in_group.iter().map(|&i| &clients[i]).collect();
        assert_in_step(&members);
        let tree = members[0]
            .group
            .as_ref()
            .unwrap()
            .export_ratchet_tree()
            .unwrap();
        for m in &members[1..] {
            assert_eq!(
                m.group.as_ref().unwrap().export_ratchet_tree().unwrap(),
                tree,
                "step {step}: {} has another tree",
                m.id()
            );
        }

        // What each member stored is the same tree, byte for byte, however long its group
        // has been in memory (openmls keeps each leaf's encoding once it has stored it).
        let stored = stored_tree(members[0]);
        for m in &members[1..] {
            assert!(
                stored_tree(m) == stored,
                "step {step}: {} stored another tree",
                m.id()
            );
        }

        let sender = in_group[rng.below(in_group.len())];
        let text = format!("step {step}");
        let message = clients[sender].encrypt(text.as_bytes());
        let sender_id = clients[sender].id();
        for &i in in_group.iter().filter(|&&i| i != sender) {
            clients[i].expect_message(&message, &sender_id, text.as_bytes());
        }
    }
    // The run must have exercised what it is about.
    assert!(grew >= 2, "the tree grew {grew} times");
    assert!(shrank >= 2, "the tree shrank {shrank} times");
    assert!(reloaded >= 10, "{reloaded} reloads");
}
