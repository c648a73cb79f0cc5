//! Crash safety with real processes: a worker process (this same binary, re-executed with
//! `CONCLAVE_CRASH_WORKER=DIR:SEED`) runs Alice and Bob on real profile files through a wire
//! file while the test SIGKILLs it at random moments, 200+ times. After every kill the profiles
//! are reopened and must hold every message acknowledged before the kill exactly once, agree
//! on the group's epoch and epoch authenticator, and still talk.
//!
//! The worker prints `ack NAME UID_HEX` after each transaction that durably stored a message,
//! so the test knows what must survive. This file has its own `main` (`harness = false`) so the
//! worker is always the code under test, never a stale binary.

#[path = "support/harness.rs"]
mod harness;

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use harness::{Peer, Wire, group_id, setup};
use rand::{Rng, SeedableRng, rngs::StdRng};

const KILLS: usize = 210;
/// Upper bound on the whole test; it ends with a failure rather than hang.
const TIME_LIMIT: Duration = Duration::from_secs(240);

const WORKER_ENV: &str = "CONCLAVE_CRASH_WORKER";

fn main() {
    if let Ok(spec) = std::env::var(WORKER_ENV) {
        let (dir, seed) = spec.split_once(':').expect("DIR:SEED");
        run_worker(PathBuf::from(dir), seed.parse().expect("seed"));
        return;
    }
    // `cargo test -- --list` and filters: this binary has one test.
    if std::env::args().any(|a| a == "--list") {
        println!("sigkill_at_random_moments_loses_nothing: test");
        return;
    }
    sigkill_at_random_moments_loses_nothing();
    println!("1 passed, 0 failed");
}

fn sigkill_at_random_moments_loses_nothing() {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path());
    let group = group_id(dir.path());
    let worker = std::env::current_exe().unwrap();
    let mut rng = StdRng::seed_from_u64(0xC0C1A7E);
    // Every uid acknowledged as stored, by anyone: after recovery both members hold it.
    let mut acked: HashSet<String> = HashSet::new();
    let mut kills_mid_stream = 0;

    for round in 0..KILLS {
        assert!(
            started.elapsed() < TIME_LIMIT,
            "crash test ran out of time at round {round}"
        );
        let mut child = Command::new(&worker)
            .env(WORKER_ENV, format!("{}:{round}", dir.path().display()))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (lines_tx, lines_rx) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if lines_tx.send(line).is_err() {
                    break;
                }
            }
        });
        // Wait until it is running its random stream, then let it run for a random while.
        let mut ready = false;
        while let Ok(line) = lines_rx.recv_timeout(Duration::from_secs(30)) {
            record_ack(&mut acked, &line);
            if line == "ready" {
                ready = true;
                break;
            }
        }
        assert!(ready, "worker did not start (round {round})");
        std::thread::sleep(Duration::from_micros(rng.random_range(1_000..60_000)));
        // SIGKILL: no destructors, no flushes.
        child.kill().unwrap();
        let status = child.wait().unwrap();
        reader.join().unwrap();
        for line in lines_rx.try_iter() {
            record_ack(&mut acked, &line);
        }
        // A worker that exited by itself crashed on its own (a panic): that is a failure.
        assert!(
            status.code().is_none(),
            "worker exited by itself with {status} in round {round}"
        );
        kills_mid_stream += 1;

        // Reopen both profiles, recover, and check.
        let wire = Wire::open(&dir.path().join("wire.sqlite"));
        let mut alice = Peer::open(dir.path(), "alice").unwrap();
        let mut bob = Peer::open(dir.path(), "bob").unwrap();
        alice.recover(&wire, &group);
        bob.recover(&wire, &group);
        alice.receive(&wire, &group);
        for uid in &acked {
            let uid = unhex(uid);
            assert_eq!(
                alice.count(&uid),
                1,
                "alice lost an acknowledged message (round {round})"
            );
            assert_eq!(
                bob.count(&uid),
                1,
                "bob lost an acknowledged message (round {round})"
            );
        }
        assert_eq!(
            alice.epoch_state(&group),
            bob.epoch_state(&group),
            "members out of step after round {round}"
        );
        // Every few rounds, and at the end: the group still works both ways.
        if round % 10 == 9 || round == KILLS - 1 {
            let uid_a: [u8; 16] = rng.random();
            let uid_b: [u8; 16] = rng.random();
            alice.send(&wire, &group, uid_a.to_vec(), "after the crash");
            bob.send(&wire, &group, uid_b.to_vec(), "me too");
            bob.receive(&wire, &group);
            alice.receive(&wire, &group);
            for uid in [uid_a, uid_b] {
                assert_eq!(alice.count(&uid), 1);
                assert_eq!(bob.count(&uid), 1);
            }
            alice.update(&wire, &group);
            bob.receive(&wire, &group);
            assert_eq!(alice.epoch_state(&group), bob.epoch_state(&group));
        }
    }
    assert!(kills_mid_stream >= 200);
    // The stream really exercised the stores.
    assert!(
        acked.len() > KILLS,
        "only {} messages acknowledged",
        acked.len()
    );
    let mut alice = Peer::open(dir.path(), "alice").unwrap();
    let (epoch, _) = alice.epoch_state(&group);
    assert!(
        epoch > 10,
        "only {epoch} epochs: commits were not exercised"
    );
    eprintln!(
        "crash test: {KILLS} kills, {} messages acknowledged, epoch {epoch}, {:?}",
        acked.len(),
        started.elapsed()
    );
}

/// `ack NAME UID_HEX` lines name a durably stored message.
fn record_ack(acked: &mut HashSet<String>, line: &str) {
    if let Some(uid) = line
        .strip_prefix("ack ")
        .and_then(|rest| rest.split(' ').nth(1))
    {
        acked.insert(uid.to_owned());
    }
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

/// The child: runs until killed (or 20 s pass).
fn run_worker(dir: PathBuf, seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    let wire = Wire::open(&dir.join("wire.sqlite"));
    let group = group_id(&dir);
    let mut peers = [
        Peer::open(&dir, "alice").unwrap(),
        Peer::open(&dir, "bob").unwrap(),
    ];
    let stdout = std::io::stdout();
    let report = |name: &str, uids: &[Vec<u8>]| {
        let mut out = stdout.lock();
        for uid in uids {
            let hex: String = uid.iter().map(|b| format!("{b:02x}")).collect();
            writeln!(out, "ack {name} {hex}").unwrap();
        }
        out.flush().unwrap();
    };
    for peer in peers.iter_mut() {
        let acks = peer.recover(&wire, &group);
        report(&peer.name, &acks);
    }
    writeln!(stdout.lock(), "ready").unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut n = 0u64;
    while Instant::now() < deadline {
        let peer = &mut peers[rng.random_range(0..2)];
        match rng.random_range(0..10) {
            0..=4 => {
                let acks = peer.receive(&wire, &group);
                report(&peer.name, &acks);
                let uid: [u8; 16] = rng.random();
                let uid = peer.send(&wire, &group, uid.to_vec(), &format!("message {seed}-{n}"));
                report(&peer.name, &[uid]);
            }
            5..=7 => {
                let acks = peer.receive(&wire, &group);
                report(&peer.name, &acks);
            }
            _ => {
                let acks = peer.update(&wire, &group);
                report(&peer.name, &acks);
            }
        }
        n += 1;
    }
}
