//! Every ciphersuite side by side, in one run, at Conclave's defaults (handshakes as
//! PrivateMessages, padding, the ratchet tree beside the Welcome), on `MemoryProvider`.
//!
//! `cargo bench -p conclave-protocol --bench suites` prints, per suite and per group size N
//! (`CONCLAVE_BENCH_NS`, default `100,1000`): creating a group and adding N - 1 members in
//! one commit (the median of `CONCLAVE_BENCH_ADDS`, default 3), a join from that Welcome
//! (median of 5 joiners), a self-update commit made and merged by the creator and processed by a
//! member (median of 20 each), and a 1 KiB application message encrypted and decrypted
//! (median of 50 each); then the sizes of a key package, the Welcome, the ratchet tree and a
//! self-update commit. `CONCLAVE_BENCH_SUITES` picks suites by code point (`1,4,77`).
//! Medians of plain timings, as `loop.rs`: the host's speed drifts, and suites compare only
//! within one run.

use std::hint::black_box;
use std::time::{Duration, Instant};

use conclave_protocol::{
    CipherSuite, DeviceId, Group, GroupConfig, Identity, MemberId, MemoryProvider, UserName,
};

mod common;
use common::{median_ms, setting};

fn device(provider: &MemoryProvider, suite: CipherSuite, i: usize) -> Identity {
    let member = MemberId::new(
        UserName::new(format!("user{i}")).unwrap(),
        DeviceId::new("d").unwrap(),
    );
    Identity::create(provider, member, suite).unwrap()
}

fn key_package(provider: &MemoryProvider, identity: &Identity, config: &GroupConfig) -> Vec<u8> {
    identity
        .key_packages(provider, config, 1)
        .unwrap()
        .remove(0)
        .bytes
}

/// The median of `runs` timings of `f`, in milliseconds.
fn median_of(runs: usize, mut f: impl FnMut() -> Duration) -> f64 {
    median_ms((0..runs.max(1)).map(|_| f()).collect())
}

fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let value = f();
    (value, start.elapsed())
}

fn main() {
    let adds = setting("CONCLAVE_BENCH_ADDS", "3")[0];
    let suites: Vec<CipherSuite> = match std::env::var("CONCLAVE_BENCH_SUITES") {
        Ok(_) => setting("CONCLAVE_BENCH_SUITES", "")
            .into_iter()
            .map(|code| CipherSuite::from_code_point(code as u16).expect("a supported suite"))
            .collect(),
        Err(_) => CipherSuite::ALL.to_vec(),
    };
    println!(
        "| suite | N | create + add (ms) | join (ms) | commit + merge (ms) | process commit (ms) | 1 KiB encrypt / decrypt (ms) | key package / Welcome / tree / commit (bytes) |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---|");
    for suite in suites {
        let config = GroupConfig::default().with_ciphersuite(suite);
        for n in setting("CONCLAVE_BENCH_NS", "100,1000") {
            const JOINERS: usize = 5;
            assert!(n > JOINERS, "N must exceed the {JOINERS} joiners");
            let creator_provider = MemoryProvider::default();
            let creator = device(&creator_provider, suite, 0);
            // The joiners each have their own storage (a join consumes the key package);
            // the other members share one.
            let joiners: Vec<(MemoryProvider, Identity)> = (1..=JOINERS)
                .map(|i| {
                    let provider = MemoryProvider::default();
                    let identity = device(&provider, suite, i);
                    (provider, identity)
                })
                .collect();
            let others = MemoryProvider::default();
            let mut key_packages: Vec<Vec<u8>> = joiners
                .iter()
                .map(|(provider, identity)| key_package(provider, identity, &config))
                .collect();
            key_packages.extend(
                (JOINERS + 1..n).map(|i| key_package(&others, &device(&others, suite, i), &config)),
            );
            let key_package_size = key_packages[0].len();

            // Each repetition adds the same key packages to a new group.
            let add_ms = median_of(adds, || {
                let provider = MemoryProvider::default();
                let identity = device(&provider, suite, 0);
                let ((group, bundle), elapsed) = timed(|| {
                    let mut group = Group::create(&provider, &identity, &config, "bench").unwrap();
                    let bundle = group
                        .add_members(&provider, &identity, &key_packages)
                        .unwrap();
                    group.merge_pending_commit(&provider).unwrap();
                    (group, bundle)
                });
                black_box((&group, &bundle));
                elapsed
            });
            // The group the rest measures, made once more: the joiners' key packages are
            // still unused (the repetitions above only made Welcomes for them).
            let mut group = Group::create(&creator_provider, &creator, &config, "bench").unwrap();
            let invitation = group
                .add_members(&creator_provider, &creator, &key_packages)
                .unwrap()
                .invitation
                .unwrap();
            group.merge_pending_commit(&creator_provider).unwrap();

            let mut joined: Vec<Group> = Vec::new();
            let mut next_joiner = joiners.iter();
            let join_ms = median_of(JOINERS, || {
                let (provider, _) = next_joiner.next().expect("one joiner per repetition");
                let (group, elapsed) = timed(|| {
                    Group::join(
                        provider,
                        &config,
                        &invitation.welcome,
                        Some(&invitation.ratchet_tree),
                    )
                    .unwrap()
                });
                joined.push(group);
                elapsed
            });
            let member_provider = &joiners[0].0;
            let mut joined = joined.swap_remove(0);

            let mut commit_size = 0;
            let mut process = Vec::new();
            let commit_ms = median_of(20, || {
                let (bundle, elapsed) = timed(|| {
                    let bundle = group.self_update(&creator_provider, &creator).unwrap();
                    group.merge_pending_commit(&creator_provider).unwrap();
                    bundle
                });
                commit_size = bundle.commit.len();
                let (events, processed) =
                    timed(|| joined.process(member_provider, &bundle.commit).unwrap());
                black_box(events);
                process.push(processed);
                elapsed
            });
            let process_ms = median_ms(process);

            let text = vec![0x61u8; 1024];
            let mut decrypt = Vec::new();
            let encrypt_ms = median_of(50, || {
                let (message, elapsed) =
                    timed(|| group.encrypt(&creator_provider, &creator, &text).unwrap());
                let (events, decrypted) =
                    timed(|| joined.process(member_provider, &message).unwrap());
                black_box(events);
                decrypt.push(decrypted);
                elapsed
            });
            let decrypt_ms = median_ms(decrypt);
            println!(
                "| {} | {n} | {add_ms:.1} | {join_ms:.1} | {commit_ms:.2} | {process_ms:.2} | {encrypt_ms:.3} / {decrypt_ms:.3} | {key_package_size} / {} / {} / {commit_size} |",
                suite.name(),
                invitation.welcome.len(),
                invitation.ratchet_tree.len(),
            );
        }
    }
}
