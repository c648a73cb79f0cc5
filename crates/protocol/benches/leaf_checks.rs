//! What checking every new leaf against a directory costs (issue 24): processing a commit
//! that adds 100 members, and joining a group of 1,000, each with and without a check that
//! looks every leaf up in a map of device keys, as `conclave-client`'s directory does.
//!
//! `cargo bench -p conclave-protocol --bench leaf_checks`; figures in docs/PERFORMANCE.md.

use std::collections::HashMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use conclave_protocol::{
    AcceptAll, DeviceId, Group, GroupConfig, Identity, JoinOptions, LeafCheck, LeafVerdict,
    MemberId, MemoryProvider, UserName,
};
use criterion::{BenchmarkId, Criterion, SamplingMode, criterion_group, criterion_main};

struct Device {
    provider: MemoryProvider,
    identity: Identity,
}

fn device(i: usize) -> Device {
    let provider = MemoryProvider::default();
    let member = MemberId::new(
        UserName::new(format!("user{i}")).unwrap(),
        DeviceId::new("d").unwrap(),
    );
    let identity = Identity::create(&provider, member, GroupConfig::default().ciphersuite).unwrap();
    Device { provider, identity }
}

fn key_package(d: &Device) -> Vec<u8> {
    d.identity
        .key_packages(&d.provider, &GroupConfig::default(), 1)
        .unwrap()
        .remove(0)
        .bytes
}

/// Device keys by member, as the client's directory holds them.
struct Directory(HashMap<MemberId, Vec<u8>>);

impl Directory {
    fn of(devices: &[&Device]) -> Self {
        Self(
            devices
                .iter()
                .map(|d| {
                    (
                        d.identity.member().clone(),
                        d.identity.signature_public_key().to_vec(),
                    )
                })
                .collect(),
        )
    }
}

impl LeafCheck for Directory {
    fn check(&self, member: &MemberId, key: &[u8]) -> LeafVerdict {
        match self.0.get(member) {
            Some(known) if known == key => LeafVerdict::Accept,
            Some(_) => LeafVerdict::Refuse("another key".into()),
            None => LeafVerdict::Unknown,
        }
    }
}

fn configure<'a>(
    c: &'a mut Criterion,
    name: &str,
) -> criterion::BenchmarkGroup<'a, criterion::measurement::WallTime> {
    let mut g = c.benchmark_group(name);
    g.sampling_mode(SamplingMode::Flat);
    g.sample_size(10);
    g.warm_up_time(Duration::from_millis(1));
    g.measurement_time(Duration::from_secs(5));
    g
}

/// A member processes a commit that adds 100 members to a group of 10.
fn bench_process_add(c: &mut Criterion) {
    const ADDED: usize = 100;
    let config = GroupConfig::default();
    let creator = device(0);
    let receiver = device(1);
    let others: Vec<Device> = (2..10).map(device).collect();
    let joiners: Vec<Device> = (10..10 + ADDED).map(device).collect();
    let everyone: Vec<&Device> = [&creator, &receiver]
        .into_iter()
        .chain(&others)
        .chain(&joiners)
        .collect();
    let directory = Directory::of(&everyone);
    let mut g = configure(c, "process_commit_adding_100");
    for checked in [false, true] {
        let name = if checked { "directory" } else { "unchecked" };
        g.bench_function(BenchmarkId::new(name, 10), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let mut group =
                        Group::create(&creator.provider, &creator.identity, &config, "b").unwrap();
                    let first: Vec<Vec<u8>> = std::iter::once(&receiver)
                        .chain(&others)
                        .map(key_package)
                        .collect();
                    let bundle = group
                        .add_members(&creator.provider, &creator.identity, &first)
                        .unwrap();
                    group.merge_pending_commit(&creator.provider).unwrap();
                    let inv = bundle.invitation.unwrap();
                    let mut member = Group::join(
                        &receiver.provider,
                        &config,
                        &inv.welcome,
                        Some(&inv.ratchet_tree),
                    )
                    .unwrap();
                    let added: Vec<Vec<u8>> = joiners.iter().map(key_package).collect();
                    let commit = group
                        .add_members(&creator.provider, &creator.identity, &added)
                        .unwrap();
                    let start = Instant::now();
                    let events = if checked {
                        member.process_checked(&receiver.provider, &commit.commit, &directory)
                    } else {
                        member.process(&receiver.provider, &commit.commit)
                    };
                    total += start.elapsed();
                    black_box(events.unwrap());
                }
                total
            })
        });
    }
    g.finish();
}

/// A device joins a group of 1,000 from a Welcome.
fn bench_join(c: &mut Criterion) {
    const N: usize = 1000;
    let config = GroupConfig::default();
    let creator = device(0);
    let joiners: Vec<Device> = (1..=N).map(device).collect();
    let everyone: Vec<&Device> = std::iter::once(&creator).chain(&joiners).collect();
    let directory = Directory::of(&everyone);
    let mut g = configure(c, "join_1000");
    for checked in [false, true] {
        let name = if checked { "directory" } else { "unchecked" };
        g.bench_function(BenchmarkId::new(name, N), |b| {
            b.iter_custom(|iters| {
                // Each joiner's key package is used up by a join: a new Welcome when all are.
                let mut total = Duration::ZERO;
                let mut next = N;
                let mut bundle = None;
                for _ in 0..iters {
                    if next == N {
                        let kps: Vec<Vec<u8>> = joiners.iter().map(key_package).collect();
                        let mut group =
                            Group::create(&creator.provider, &creator.identity, &config, "b")
                                .unwrap();
                        bundle = Some(
                            group
                                .add_members(&creator.provider, &creator.identity, &kps)
                                .unwrap(),
                        );
                        next = 0;
                    }
                    let inv = bundle.as_ref().unwrap().invitation.as_ref().unwrap();
                    let joiner = &joiners[next];
                    let start = Instant::now();
                    let group = if checked {
                        Group::join_checked(
                            &joiner.provider,
                            &config,
                            &inv.welcome,
                            Some(&inv.ratchet_tree),
                            JoinOptions::default(),
                            &directory,
                        )
                    } else {
                        Group::join_checked(
                            &joiner.provider,
                            &config,
                            &inv.welcome,
                            Some(&inv.ratchet_tree),
                            JoinOptions::default(),
                            &AcceptAll,
                        )
                    };
                    total += start.elapsed();
                    black_box(group.unwrap());
                    next += 1;
                }
                total
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench_process_add, bench_join);
criterion_main!(benches);
