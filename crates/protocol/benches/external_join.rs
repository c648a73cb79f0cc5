//! Joining a group of N members: from a Welcome (the tree beside it, Conclave's default) and
//! by external commit from the group's GroupInfo (the tree inside it, as members leave it at
//! the server), in one run at one configuration. The external join's time includes making
//! the commit (a path to the root, encrypted to the tree's resolution).
//!
//! `cargo bench -p conclave-protocol --bench external_join` runs N = 1000 and 5000;
//! `CONCLAVE_BENCH_NS=100` picks others. Figures are recorded in docs/PERFORMANCE.md.

use std::hint::black_box;
use std::time::{Duration, Instant};

use conclave_protocol::{
    AcceptAll, DeviceId, Group, GroupConfig, Identity, InviteLink, MemberId, MemoryProvider,
    UserName,
};
use criterion::{BenchmarkId, Criterion, SamplingMode, criterion_group, criterion_main};

fn sizes() -> Vec<usize> {
    std::env::var("CONCLAVE_BENCH_NS")
        .unwrap_or_else(|_| "1000,5000".into())
        .split(',')
        .map(|n| {
            n.trim()
                .parse()
                .expect("CONCLAVE_BENCH_NS: comma-separated numbers")
        })
        .collect()
}

struct Device {
    provider: MemoryProvider,
    identity: Identity,
}

fn device(name: &str) -> Device {
    let provider = MemoryProvider::default();
    let member = MemberId::new(UserName::new(name).unwrap(), DeviceId::new("d").unwrap());
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

/// A group of `n` members (its creator's view), with an invite link open.
fn group_of(n: usize) -> (Device, Group) {
    let config = GroupConfig::default();
    let creator = device("creator");
    let members: Vec<Device> = (1..n).map(|i| device(&format!("member{i}"))).collect();
    let kps: Vec<Vec<u8>> = members.iter().map(key_package).collect();
    let mut group = Group::create(&creator.provider, &creator.identity, &config, "bench").unwrap();
    group
        .add_members(&creator.provider, &creator.identity, &kps)
        .unwrap();
    group.merge_pending_commit(&creator.provider).unwrap();
    let link = InviteLink {
        secret: [1; 32],
        approval: false,
    };
    group
        .set_invite_link(&creator.provider, &creator.identity, Some(link))
        .unwrap();
    group.merge_pending_commit(&creator.provider).unwrap();
    (creator, group)
}

fn bench_joins(c: &mut Criterion) {
    let config = GroupConfig::default();
    for n in sizes() {
        let (creator, mut group) = group_of(n);
        let mut g = c.benchmark_group(format!("join_{n}"));
        g.sampling_mode(SamplingMode::Flat);
        g.sample_size(10);
        g.warm_up_time(Duration::from_millis(1));
        g.measurement_time(Duration::from_secs(5));

        // Welcome: joiners added ten at a time (outside the timed region), each joining from
        // the one Welcome.
        const BATCH: usize = 10;
        let mut round = 0;
        g.bench_function(BenchmarkId::new("welcome", n), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                let mut pending: Vec<(Device, conclave_protocol::Invitation)> = Vec::new();
                for _ in 0..iters {
                    if pending.is_empty() {
                        round += 1;
                        let joiners: Vec<Device> = (0..BATCH)
                            .map(|i| device(&format!("welcome{round}x{i}")))
                            .collect();
                        let kps: Vec<Vec<u8>> = joiners.iter().map(key_package).collect();
                        let bundle = group
                            .add_members(&creator.provider, &creator.identity, &kps)
                            .unwrap();
                        group.discard_pending_commit(&creator.provider).unwrap();
                        let invitation = bundle.invitation.unwrap();
                        pending = joiners
                            .into_iter()
                            .map(|d| (d, invitation.clone()))
                            .collect();
                    }
                    let (joiner, invitation) = pending.pop().unwrap();
                    let start = Instant::now();
                    let joined = Group::join(
                        &joiner.provider,
                        &config,
                        &invitation.welcome,
                        Some(&invitation.ratchet_tree),
                    )
                    .unwrap();
                    total += start.elapsed();
                    black_box(joined);
                }
                total
            })
        });

        // External commit from the GroupInfo: each joiner a new device.
        let info = group
            .group_info(&creator.provider, &creator.identity)
            .unwrap();
        let id = group.id();
        let mut next = 0;
        g.bench_function(BenchmarkId::new("external_commit", n), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    next += 1;
                    let joiner = device(&format!("linked{next}"));
                    let start = Instant::now();
                    let joined = Group::join_external(
                        &joiner.provider,
                        &joiner.identity,
                        &config,
                        &info,
                        &id,
                        &AcceptAll,
                    )
                    .unwrap();
                    total += start.elapsed();
                    black_box(joined);
                }
                total
            })
        });
        g.finish();
        eprintln!(
            "join_{n}: the GroupInfo (tree inside) is {} bytes",
            info.len()
        );
    }
}

criterion_group!(benches, bench_joins);
criterion_main!(benches);
