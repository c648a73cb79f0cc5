//! A plain timing loop over the operations where mls-rs is the target, short enough to run
//! between runs of `../shared/peer-bench` (this host's speed drifts by tens of percent over
//! minutes, so only figures taken minutes apart compare).
//!
//! `cargo bench -p conclave-protocol --bench loop` prints, for N = 1000 and 5000
//! (`CONCLAVE_BENCH_NS` picks others): the median of `CONCLAVE_BENCH_JOINS` (default 5) joins
//! from one Welcome, then of `CONCLAVE_BENCH_COMMITS` (default 20) self-update commits made
//! and merged by the creator, and processed by one member. Medians, as peer-bench reports,
//! so that a pause of the host in one repetition moves neither. Same code paths and provider
//! (`MemoryProvider`) as the criterion bench `protocol`.

use std::hint::black_box;
use std::time::Instant;

use conclave_protocol::{
    DeviceId, Group, GroupConfig, Identity, MemberId, MemoryProvider, UserName,
};

mod common;
use common::{median_ms, setting};

fn device(provider: &MemoryProvider, i: usize) -> Identity {
    let member = MemberId::new(
        UserName::new(format!("user{i}")).unwrap(),
        DeviceId::new("d").unwrap(),
    );
    Identity::create(provider, member, GroupConfig::default().ciphersuite).unwrap()
}

fn key_package(provider: &MemoryProvider, identity: &Identity) -> Vec<u8> {
    identity
        .key_packages(provider, &GroupConfig::default(), 1)
        .unwrap()
        .remove(0)
        .bytes
}

fn main() {
    let joins = setting("CONCLAVE_BENCH_JOINS", "5")[0].max(1);
    let commits = setting("CONCLAVE_BENCH_COMMITS", "20")[0];
    let config = GroupConfig::default();
    for n in setting("CONCLAVE_BENCH_NS", "1000,5000") {
        assert!(n > joins, "N must exceed the number of joiners");
        // The joiners each have their own storage; the other members share one.
        let creator_provider = MemoryProvider::default();
        let creator = device(&creator_provider, 0);
        let joiners: Vec<(MemoryProvider, Identity)> = (1..=joins)
            .map(|i| {
                let provider = MemoryProvider::default();
                let identity = device(&provider, i);
                (provider, identity)
            })
            .collect();
        let others = MemoryProvider::default();
        let mut key_packages: Vec<Vec<u8>> =
            joiners.iter().map(|(p, id)| key_package(p, id)).collect();
        key_packages.extend((joins + 1..n).map(|i| key_package(&others, &device(&others, i))));
        let mut group = Group::create(&creator_provider, &creator, &config, "loop").unwrap();
        let bundle = group
            .add_members(&creator_provider, &creator, &key_packages)
            .unwrap();
        group.merge_pending_commit(&creator_provider).unwrap();
        let invitation = bundle.invitation.unwrap();

        let mut joined = Vec::new();
        let mut join_times = Vec::new();
        for (provider, _) in &joiners {
            let start = Instant::now();
            joined.push(
                Group::join(
                    provider,
                    &config,
                    &invitation.welcome,
                    Some(&invitation.ratchet_tree),
                )
                .unwrap(),
            );
            join_times.push(start.elapsed());
        }

        let (member_provider, _) = &joiners[0];
        let member = &mut joined[0];
        let (mut commit_times, mut process_times) = (Vec::new(), Vec::new());
        for _ in 0..commits {
            let start = Instant::now();
            let commit = group.self_update(&creator_provider, &creator).unwrap();
            group.merge_pending_commit(&creator_provider).unwrap();
            commit_times.push(start.elapsed());
            let start = Instant::now();
            black_box(member.process(member_provider, &commit.commit).unwrap());
            process_times.push(start.elapsed());
        }
        println!(
            "N={n}: join {:.1} ms, self-update commit + merge {:.1} ms, process commit {:.2} ms",
            median_ms(join_times),
            median_ms(commit_times),
            median_ms(process_times),
        );
    }
}
