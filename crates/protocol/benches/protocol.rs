//! conclave-protocol (over the workspace's patched openmls, vendor/openmls) against openmls
//! 0.9.2 as published on crates.io (`openmls-upstream`, at its defaults), in one run.
//!
//! `cargo bench -p conclave-protocol` runs N = 10, 100, 1000, 5000 members;
//! `CONCLAVE_BENCH_NS=10,100` picks others. Figures are recorded in docs/PERFORMANCE.md.
//!
//! Key packages are made outside the timed region; decoding and validating them is inside it,
//! as for a creator that fetched them from a server.

use std::hint::black_box;
use std::time::{Duration, Instant};

use conclave_protocol::{
    CommitBundle, DeviceId, Group, GroupConfig, Identity, MemberId, MemoryProvider, UserName,
};
use criterion::{BenchmarkId, Criterion, SamplingMode, criterion_group, criterion_main};

mod upstream;
use upstream::{
    Plain, plain_device, plain_join, plain_key_package, plain_message, plain_process,
    plain_self_update,
};

fn sizes() -> Vec<usize> {
    std::env::var("CONCLAVE_BENCH_NS")
        .unwrap_or_else(|_| "10,100,1000,5000".into())
        .split(',')
        .map(|n| {
            n.trim()
                .parse()
                .expect("CONCLAVE_BENCH_NS: comma-separated numbers")
        })
        .collect()
}

// ---------------------------------------------------------------- Conclave side

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

/// A creator and `n` joiners with their key packages.
struct Conclave {
    creator: Device,
    joiners: Vec<Device>,
    key_packages: Vec<Vec<u8>>,
}

impl Conclave {
    fn new(n: usize) -> Self {
        let joiners: Vec<Device> = (1..=n).map(device).collect();
        let key_packages = joiners.iter().map(key_package).collect();
        Self {
            creator: device(0),
            joiners,
            key_packages,
        }
    }

    fn create_and_add(&self) -> (Group, CommitBundle) {
        let config = GroupConfig::default();
        let c = &self.creator;
        let mut group = Group::create(&c.provider, &c.identity, &config, "bench").unwrap();
        let bundle = group
            .add_members(&c.provider, &c.identity, &self.key_packages)
            .unwrap();
        group.merge_pending_commit(&c.provider).unwrap();
        (group, bundle)
    }
}

// ---------------------------------------------------------------- benches

fn configure<'a>(
    c: &'a mut Criterion,
    name: &str,
    n: usize,
) -> criterion::BenchmarkGroup<'a, criterion::measurement::WallTime> {
    let mut g = c.benchmark_group(name);
    g.sampling_mode(SamplingMode::Flat);
    g.sample_size(10);
    g.warm_up_time(Duration::from_millis(if n >= 1000 { 1 } else { 500 }));
    g.measurement_time(Duration::from_secs(if n >= 1000 { 5 } else { 3 }));
    g
}

fn bench_add(c: &mut Criterion) {
    for n in sizes() {
        let mut g = configure(c, "add_n_one_commit", n);
        let conclave = Conclave::new(n);
        g.bench_function(BenchmarkId::new("conclave", n), |b| {
            b.iter(|| black_box(conclave.create_and_add()))
        });
        drop(conclave);
        let plain = Plain::new(n);
        g.bench_function(BenchmarkId::new("openmls", n), |b| {
            b.iter(|| black_box(plain.create_and_add()))
        });
        g.finish();
    }
}

fn bench_join(c: &mut Criterion) {
    for n in sizes() {
        let mut g = configure(c, "join_from_welcome", n);
        let conclave = Conclave::new(n);
        let config = GroupConfig::default();
        g.bench_function(BenchmarkId::new("conclave", n), |b| {
            b.iter_custom(|iters| {
                // Each joiner's key package is used up by a join: new Welcome when all are.
                let mut total = Duration::ZERO;
                let mut next = n;
                let mut bundle = None;
                for _ in 0..iters {
                    if next == n {
                        // Fresh key packages: the previous ones were consumed.
                        let fresh = device(0);
                        let kps: Vec<Vec<u8>> = conclave.joiners.iter().map(key_package).collect();
                        let mut group =
                            Group::create(&fresh.provider, &fresh.identity, &config, "b").unwrap();
                        bundle = Some(
                            group
                                .add_members(&fresh.provider, &fresh.identity, &kps)
                                .unwrap(),
                        );
                        next = 0;
                    }
                    let inv = bundle.as_ref().unwrap().invitation.as_ref().unwrap();
                    let joiner = &conclave.joiners[next];
                    let start = Instant::now();
                    let group = Group::join(
                        &joiner.provider,
                        &config,
                        &inv.welcome,
                        Some(&inv.ratchet_tree),
                    )
                    .unwrap();
                    total += start.elapsed();
                    black_box(group);
                    next += 1;
                }
                total
            })
        });
        drop(conclave);
        let plain = Plain::new(n);
        g.bench_function(BenchmarkId::new("openmls", n), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                let mut next = n;
                let mut prepared = None;
                for _ in 0..iters {
                    if next == n {
                        let fresh = Plain {
                            creator: plain_device(0),
                            joiners: Vec::new(),
                            key_packages: plain.joiners.iter().map(plain_key_package).collect(),
                        };
                        let (_, welcome, tree) = fresh.create_and_add();
                        prepared = Some((welcome, tree));
                        next = 0;
                    }
                    let (welcome, tree) = prepared.as_ref().unwrap();
                    let start = Instant::now();
                    let group = plain_join(&plain.joiners[next], welcome, tree);
                    total += start.elapsed();
                    black_box(group);
                    next += 1;
                }
                total
            })
        });
        g.finish();
    }
}

fn bench_update_and_process(c: &mut Criterion) {
    for n in sizes() {
        // Conclave: creator commits self-updates, member 1 processes them.
        let conclave = Conclave::new(n);
        let (mut group, bundle) = conclave.create_and_add();
        let inv = bundle.invitation.unwrap();
        let receiver = &conclave.joiners[0];
        let mut receiver_group = Group::join(
            &receiver.provider,
            &GroupConfig::default(),
            &inv.welcome,
            Some(&inv.ratchet_tree),
        )
        .unwrap();
        let creator = &conclave.creator;

        let plain = Plain::new(n);
        let (mut plain_group, welcome, tree) = plain.create_and_add();
        let plain_receiver = &plain.joiners[0];
        let mut plain_receiver_group = plain_join(plain_receiver, &welcome, &tree);
        let pc = &plain.creator;

        let mut g = configure(c, "self_update_commit_merge", n);
        g.bench_function(BenchmarkId::new("conclave", n), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let start = Instant::now();
                    let commit = group
                        .self_update(&creator.provider, &creator.identity)
                        .unwrap();
                    group.merge_pending_commit(&creator.provider).unwrap();
                    total += start.elapsed();
                    receiver_group
                        .process(&receiver.provider, &commit.commit)
                        .unwrap();
                }
                total
            })
        });
        g.bench_function(BenchmarkId::new("openmls", n), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let start = Instant::now();
                    let commit = plain_self_update(&mut plain_group, pc);
                    total += start.elapsed();
                    plain_process(&mut plain_receiver_group, plain_receiver, &commit);
                }
                total
            })
        });
        g.finish();

        let mut g = configure(c, "process_commit", n);
        g.bench_function(BenchmarkId::new("conclave", n), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let commit = group
                        .self_update(&creator.provider, &creator.identity)
                        .unwrap();
                    group.merge_pending_commit(&creator.provider).unwrap();
                    let start = Instant::now();
                    black_box(
                        receiver_group
                            .process(&receiver.provider, &commit.commit)
                            .unwrap(),
                    );
                    total += start.elapsed();
                }
                total
            })
        });
        g.bench_function(BenchmarkId::new("openmls", n), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let commit = plain_self_update(&mut plain_group, pc);
                    let start = Instant::now();
                    plain_process(&mut plain_receiver_group, plain_receiver, &commit);
                    total += start.elapsed();
                }
                total
            })
        });
        g.finish();

        let payload = vec![0x42u8; 1024];
        let mut g = configure(c, "app_message_1kib_encrypt_decrypt", n);
        // No past epoch is kept (the default), so a message costs the same right after a
        // commit as later.
        g.bench_function(BenchmarkId::new("conclave", n), |b| {
            b.iter(|| {
                let m = group
                    .encrypt(&creator.provider, &creator.identity, &payload)
                    .unwrap();
                black_box(receiver_group.process(&receiver.provider, &m).unwrap())
            })
        });
        g.bench_function(BenchmarkId::new("openmls", n), |b| {
            b.iter(|| {
                let m = plain_message(&mut plain_group, pc, &payload);
                plain_process(&mut plain_receiver_group, plain_receiver, &m)
            })
        });
        g.finish();
    }
}

criterion_group!(benches, bench_add, bench_join, bench_update_and_process);
criterion_main!(benches);
