//! What persisting costs: conclave-storage over openmls's in-memory storage, measured in
//! interleaved rounds.
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
        for round in 0..rounds {
            let mut commit_time = [Duration::ZERO; 2];
            let mut process_time = [Duration::ZERO; 2];
            for _ in 0..COMMITS {
                for mode in order(round) {
                    let start = Instant::now();
                    let commit = members[mode].commit();
                    commit_time[mode] += start.elapsed();
                    let other = 1 - mode;
                    let start = Instant::now();
                    members[other].process(&commit);
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
                    joiner.join(&welcome, &tree);
                    join_time[mode] += start.elapsed();
                }
            }
            joins.0.push(join_time);
        }
        commits.report("commit_self_update", n, COMMITS);
        processing.report("process_commit", n, COMMITS);
        joins.report("join_from_welcome", n, JOINERS);
    }
}
