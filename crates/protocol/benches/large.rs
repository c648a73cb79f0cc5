//! Large groups, in memory: every operation once the group has N members, N = 10,000,
//! 20,000 and 50,000 by default (`CONCLAVE_BENCH_NS` picks others).
//!
//! `cargo bench -p conclave-protocol --bench large` prints, per N, one round of create + add
//! N - 1 in one commit (the key packages made beforehand; their validation is part of the
//! add), the sizes of that commit, its Welcome and the ratchet tree beside it, then medians
//! of `CONCLAVE_BENCH_ROUNDS` (default 3) of: a join from that Welcome, adding 100 members to
//! the group, a self-update (commit + merge), removing one member, another member's processing
//! of each of those commits, and a 1 KiB message encrypted by one member and decrypted by
//! another. Conclave's defaults (tree beside the Welcome, padding, encrypted handshakes),
//! `MemoryProvider`, ciphersuite 1, and the app's allocator (mimalloc).
//!
//! `CONCLAVE_BENCH_UPSTREAM_NS=10000` first runs openmls 0.9.2 as published at those sizes, in
//! the same binary (at its defaults, one round; none by default).

use std::hint::black_box;
use std::time::{Duration, Instant};

use conclave_protocol::{
    DeviceId, Group, GroupConfig, Identity, MemberId, MemoryProvider, UserName,
};

mod common;

/// The allocator the app and the CLI ship with (docs/ARCHITECTURE.md, "The allocator"): at
/// these sizes the allocator is a third of processing a commit.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use common::{median_ms, setting};

mod upstream;
use upstream::{Plain, plain_join, plain_message, plain_process, plain_self_update};

fn device(provider: &MemoryProvider, name: &str) -> Identity {
    let member = MemberId::new(UserName::new(name).unwrap(), DeviceId::new("d").unwrap());
    Identity::create(provider, member, GroupConfig::default().ciphersuite).unwrap()
}

/// `count` key packages of new devices named `prefix0`, `prefix1`, ..., their keys in
/// `provider`.
fn key_packages(provider: &MemoryProvider, prefix: &str, count: usize) -> Vec<Vec<u8>> {
    let config = GroupConfig::default();
    (0..count)
        .map(|i| {
            device(provider, &format!("{prefix}{i}"))
                .key_packages(provider, &config, 1)
                .unwrap()
                .remove(0)
                .bytes
        })
        .collect()
}

fn kib(bytes: usize) -> f64 {
    bytes as f64 / 1024.0
}

/// openmls 0.9.2 as published at N members, at its defaults, one round of each operation:
/// create + add N - 1 in one commit, a join, a self-update by the creator processed by the
/// joiner, and 1 KiB messages (the mean of 100).
fn upstream(n: usize) {
    let plain = Plain::new(n - 1);
    let start = Instant::now();
    let (mut group, welcome, tree) = plain.create_and_add();
    let create_add = start.elapsed();
    let (creator, joiner) = (&plain.creator, &plain.joiners[0]);
    let start = Instant::now();
    let mut member = plain_join(joiner, &welcome, &tree);
    let join = start.elapsed();
    let start = Instant::now();
    let commit = plain_self_update(&mut group, creator);
    let update = start.elapsed();
    let start = Instant::now();
    plain_process(&mut member, joiner, &commit);
    let process = start.elapsed();
    let text = vec![0x61u8; 1024];
    let start = Instant::now();
    for _ in 0..100 {
        let message = plain_message(&mut group, creator, &text);
        plain_process(&mut member, joiner, &message);
    }
    let message = start.elapsed() / 100;
    println!(
        "N={n}: openmls 0.9.2 as published: create + add {} in one commit {:.0} ms; join {:.1} \
         ms; self-update {:.1} ms (commit {:.1} KiB, processed in {:.2} ms); 1 KiB message \
         {:.3} ms",
        n - 1,
        create_add.as_secs_f64() * 1e3,
        join.as_secs_f64() * 1e3,
        update.as_secs_f64() * 1e3,
        kib(commit.len()),
        process.as_secs_f64() * 1e3,
        message.as_secs_f64() * 1e3,
    );
}

fn main() {
    // openmls as published only where asked: its adds are quadratic in N (the workspace's
    // patches 1 and 25), so 10,000 members take minutes.
    if let Ok(sizes) = std::env::var("CONCLAVE_BENCH_UPSTREAM_NS") {
        for n in setting("CONCLAVE_BENCH_UPSTREAM_NS", &sizes) {
            upstream(n);
        }
    }
    let rounds = setting("CONCLAVE_BENCH_ROUNDS", "3")[0].max(1);
    let config = GroupConfig::default();
    for n in setting("CONCLAVE_BENCH_NS", "10000,20000,50000") {
        assert!(n > rounds + 2, "N must exceed the joiners");
        let creator_provider = MemoryProvider::default();
        let creator = device(&creator_provider, "creator");
        // The joiners measured each have their own storage; the other members share one.
        let joiners: Vec<(MemoryProvider, Vec<u8>)> = (0..rounds)
            .map(|i| {
                let provider = MemoryProvider::default();
                let package = key_packages(&provider, &format!("joiner{i}x"), 1).remove(0);
                (provider, package)
            })
            .collect();
        let others = MemoryProvider::default();
        let mut packages: Vec<Vec<u8>> = joiners.iter().map(|(_, kp)| kp.clone()).collect();
        packages.extend(key_packages(&others, "user", n - 1 - rounds));

        let start = Instant::now();
        let mut group = Group::create(&creator_provider, &creator, &config, "large").unwrap();
        let bundle = group
            .add_members(&creator_provider, &creator, &packages)
            .unwrap();
        group.merge_pending_commit(&creator_provider).unwrap();
        let create_add = start.elapsed();
        drop(packages);
        let invitation = bundle.invitation.unwrap();
        println!(
            "N={n}: create + add {} in one commit {:.0} ms; commit {:.1} KiB, Welcome {:.1} KiB, \
             ratchet tree {:.1} KiB",
            n - 1,
            create_add.as_secs_f64() * 1e3,
            kib(bundle.commit.len()),
            kib(invitation.welcome.len()),
            kib(invitation.ratchet_tree.len()),
        );

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
        drop(invitation);
        let member_provider = &joiners[0].0;
        let mut member = joined.swap_remove(0);
        drop(joined);

        let mut times: [Vec<Duration>; 4] = Default::default();
        let mut processing: [Vec<Duration>; 3] = Default::default();
        let mut commit_sizes = [0usize; 3];
        for round in 0..rounds {
            // Add 100, processed by the member.
            let hundred = key_packages(&others, &format!("more{round}x"), 100);
            let start = Instant::now();
            let added = group
                .add_members(&creator_provider, &creator, &hundred)
                .unwrap();
            group.merge_pending_commit(&creator_provider).unwrap();
            times[0].push(start.elapsed());
            commit_sizes[0] = added.commit.len();
            let start = Instant::now();
            black_box(member.process(member_provider, &added.commit).unwrap());
            processing[0].push(start.elapsed());

            // A self-update.
            let start = Instant::now();
            let update = group.self_update(&creator_provider, &creator).unwrap();
            group.merge_pending_commit(&creator_provider).unwrap();
            times[1].push(start.elapsed());
            commit_sizes[1] = update.commit.len();
            let start = Instant::now();
            black_box(member.process(member_provider, &update.commit).unwrap());
            processing[1].push(start.elapsed());

            // Remove one of the first hundred.
            let gone = MemberId::new(
                UserName::new(format!("more{round}x0")).unwrap(),
                DeviceId::new("d").unwrap(),
            );
            let start = Instant::now();
            let removal = group
                .remove_devices(&creator_provider, &creator, &[gone])
                .unwrap();
            group.merge_pending_commit(&creator_provider).unwrap();
            times[2].push(start.elapsed());
            commit_sizes[2] = removal.commit.len();
            let start = Instant::now();
            black_box(member.process(member_provider, &removal.commit).unwrap());
            processing[2].push(start.elapsed());

            // 1 KiB messages, creator to member.
            let text = vec![0x61u8; 1024];
            let start = Instant::now();
            for _ in 0..100 {
                let message = group.encrypt(&creator_provider, &creator, &text).unwrap();
                black_box(member.process(member_provider, &message).unwrap());
            }
            times[3].push(start.elapsed() / 100);
        }
        let [add_100, update, remove, message] = times;
        let [process_add, process_update, process_remove] = processing;
        println!(
            "N={n}: join {:.1} ms; add 100 {:.1} ms (commit {:.1} KiB, processed in {:.2} ms); \
             self-update {:.1} ms (commit {:.1} KiB, processed in {:.2} ms); remove 1 {:.1} ms \
             (commit {:.1} KiB, processed in {:.2} ms); 1 KiB message {:.3} ms",
            median_ms(join_times),
            median_ms(add_100),
            kib(commit_sizes[0]),
            median_ms(process_add),
            median_ms(update),
            kib(commit_sizes[1]),
            median_ms(process_update),
            median_ms(remove),
            kib(commit_sizes[2]),
            median_ms(process_remove),
            median_ms(message),
        );
    }
}
