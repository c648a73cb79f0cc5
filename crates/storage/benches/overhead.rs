//! What persisting costs: conclave-storage over the same state in memory (conclave-protocol's
//! `MemoryProvider`), measured in interleaved rounds.
//!
//! `cargo bench -p conclave-storage --bench overhead` (N = 10, 100, 1000;
//! `CONCLAVE_BENCH_NS` picks others, `CONCLAVE_BENCH_ROUNDS` the number of rounds, 15 by
//! default).
//!
//! The `storage` bench measures each mode for seconds on end, one after the other, and this
//! host's speed drifts by up to half within an hour: the ratio of two such figures carries
//! that drift. Here every round runs the same work in both modes, back to back, in
//! alternating order, so drift falls on both alike; a round's ratio is its SQLite time over
//! its in-memory time, and the median over the rounds is reported (with the lowest and
//! highest). The target is a ratio of at most 1.15 for commits and joins.

mod common;

/// The allocator the app and the CLI ship with (docs/ARCHITECTURE.md, "The allocator").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::time::{Duration, Instant};

use common::{Device, sizes};

const MEMORY: usize = 0;
const SQLITE: usize = 1;
/// Joiners per mode and round.
const JOINERS: usize = 4;
/// Self-updates per device and round (each processed by the other device).
const COMMITS: usize = 4;

fn rounds() -> usize {
    std::env::var("CONCLAVE_BENCH_ROUNDS")
        .map(|r| r.parse().expect("CONCLAVE_BENCH_ROUNDS: a number"))
        .unwrap_or(15)
}

/// Per-round totals of one operation, by mode.
#[derive(Default)]
struct Rounds(Vec<[Duration; 2]>);

impl Rounds {
    fn report(&self, operation: &str, n: usize, per_round: usize) {
        let mut ratios: Vec<f64> = self
            .0
            .iter()
            .map(|[memory, sqlite]| sqlite.as_secs_f64() / memory.as_secs_f64())
            .collect();
        ratios.sort_by(f64::total_cmp);
        let ms = |mode: usize| {
            let total: Duration = self.0.iter().map(|r| r[mode]).sum();
            total.as_secs_f64() * 1e3 / (self.0.len() * per_round) as f64
        };
        println!(
            "{operation:<18} N = {n:<5} memory {:>8.3} ms  sqlite {:>8.3} ms  ratio {:.2} \
             (rounds {:.2}-{:.2})",
            ms(MEMORY),
            ms(SQLITE),
            ratios[ratios.len() / 2],
            ratios[0],
            ratios[ratios.len() - 1],
        );
    }
}

/// Bytes this process has handed to `write(2)` so far: Linux's `/proc/self/io` `wchar`, which
/// between two reads around a SQLite-mode operation is what SQLite wrote for it (the profile's
/// file and its write-ahead log). `None` where the file does not exist.
fn bytes_written() -> Option<u64> {
    let io = std::fs::read_to_string("/proc/self/io").ok()?;
    io.lines()
        .find_map(|line| line.strip_prefix("wchar:"))?
        .trim()
        .parse()
        .ok()
}

/// Runs `operation`, adding to `written` what it wrote when it ran in SQLite mode.
fn counting_writes<T>(mode: usize, written: &mut u64, operation: impl FnOnce() -> T) -> T {
    let before = (mode == SQLITE).then(bytes_written).flatten();
    let result = operation();
    if let (Some(before), Some(after)) = (before, bytes_written()) {
        *written += after - before;
    }
    result
}

/// Both modes in the order of this round: in-memory first in even rounds.
fn order(round: usize) -> [usize; 2] {
    if round.is_multiple_of(2) {
        [MEMORY, SQLITE]
    } else {
        [SQLITE, MEMORY]
    }
}

fn main() {
    let rounds = rounds();
    for n in sizes() {
        assert!(
            n > 2 * JOINERS,
            "groups of more than {} members",
            2 * JOINERS
        );
        // A creator (never measured) and one member per mode, who commit and process each
        // other's commits.
        let mut creator = Device::new(false, 0);
        let mut members = [Device::new(false, 1), Device::new(true, 2)];
        let mut fillers: Vec<Device> = (3..n).map(|i| Device::new(false, i)).collect();
        let mut kps: Vec<Vec<u8>> = members.iter_mut().map(Device::key_package).collect();
        kps.extend(fillers.iter_mut().map(Device::key_package));
        let (welcome, tree) = creator.create_and_add(&kps);
        for member in &mut members {
            member.join(&welcome, &tree);
        }

        let (mut commits, mut processing, mut joins) =
            (Rounds::default(), Rounds::default(), Rounds::default());
        // What the SQLite-mode device wrote per round: for its commits, its processing of
        // the other's commits, and its joins.
        let mut written: Vec<[u64; 3]> = Vec::new();
        for round in 0..rounds {
            let mut commit_time = [Duration::ZERO; 2];
            let mut process_time = [Duration::ZERO; 2];
            written.push([0; 3]);
            let written = written.last_mut().expect("pushed above");
            for _ in 0..COMMITS {
                for mode in order(round) {
                    let start = Instant::now();
                    let commit = counting_writes(mode, &mut written[0], || members[mode].commit());
                    commit_time[mode] += start.elapsed();
                    let other = 1 - mode;
                    let start = Instant::now();
                    counting_writes(other, &mut written[1], || members[other].process(&commit));
                    process_time[other] += start.elapsed();
                    creator.process(&commit);
                }
            }
            commits.0.push(commit_time);
            processing.0.push(process_time);

            // Fresh joiners in both modes, one Welcome for all of them.
            let mut joiners: [Vec<Device>; 2] = [MEMORY, SQLITE].map(|mode| {
                (0..JOINERS)
                    .map(|i| Device::new(mode == SQLITE, n + mode * JOINERS + i))
                    .collect()
            });
            let mut kps: Vec<Vec<u8>> = joiners
                .iter_mut()
                .flatten()
                .map(Device::key_package)
                .collect();
            kps.extend(
                fillers
                    .iter_mut()
                    .take((n - 1).saturating_sub(2 * JOINERS))
                    .map(Device::key_package),
            );
            let (welcome, tree) = Device::new(false, 0).create_and_add(&kps);
            let mut join_time = [Duration::ZERO; 2];
            for mode in order(round) {
                for joiner in &mut joiners[mode] {
                    let start = Instant::now();
                    counting_writes(mode, &mut written[2], || joiner.join(&welcome, &tree));
                    join_time[mode] += start.elapsed();
                }
            }
            joins.0.push(join_time);
        }
        commits.report("commit_self_update", n, COMMITS);
        processing.report("process_commit", n, COMMITS);
        joins.report("join_from_welcome", n, JOINERS);
        // The first round apart: its commits fill the committers' paths, so the stored tree
        // changes size and SQLite writes it whole; later, a tree of the same size is
        // overwritten in place, and only the pages that changed are written.
        let kib = |rounds: &[[u64; 3]], operation: usize, per_round: usize| {
            let total: u64 = rounds.iter().map(|round| round[operation]).sum();
            total as f64 / 1024.0 / (rounds.len().max(1) * per_round) as f64
        };
        let (first, later) = written.split_at(1);
        println!(
            "written by SQLite N = {n:<5} a commit {:.1} KiB in the first round, {:.1} KiB \
             later; processing one {:.1} / {:.1} KiB; a join {:.1} KiB (the ratchet tree \
             beside the Welcome: {:.1} KiB)",
            kib(first, 0, COMMITS),
            kib(later, 0, COMMITS),
            kib(first, 1, COMMITS),
            kib(later, 1, COMMITS),
            kib(&written, 2, JOINERS),
            tree.len() as f64 / 1024.0,
        );
    }
}
