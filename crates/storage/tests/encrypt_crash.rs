//! Encrypting a plain profile in place, SIGKILLed at random moments: a worker process (this
//! binary, re-executed with `CONCLAVE_ENCRYPT_WORKER=PATH`) opens a copy of a plain profile
//! with a key, which encrypts it; the test kills it after a random delay within the time a
//! whole encryption takes, 60 times. After every kill the profile opens with the key and
//! holds every conversation and message. Own `main` (`harness = false`), as `crash.rs`.

#[path = "support/profile.rs"]
mod profile;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use conclave_storage::{ProfileKey, ProfileSecret, Store};
use rand::{Rng, SeedableRng, rngs::StdRng};

const KILLS: usize = 60;
const FILLER: u32 = 20_000;
const TIME_LIMIT: Duration = Duration::from_secs(240);
const WORKER_ENV: &str = "CONCLAVE_ENCRYPT_WORKER";

fn secret() -> ProfileSecret {
    ProfileSecret::Key(ProfileKey::from_bytes([0x42; 32]))
}

fn main() {
    if let Ok(path) = std::env::var(WORKER_ENV) {
        drop(Store::open_encrypted(&path, &secret()).expect("the worker opens the profile"));
        return;
    }
    if std::env::args().any(|a| a == "--list") {
        println!("sigkill_during_encryption_never_loses_the_profile: test");
        return;
    }
    sigkill_during_encryption_never_loses_the_profile();
    println!("1 passed, 0 failed");
}

fn is_plain(path: &Path) -> bool {
    std::fs::read(path)
        .map(|b| b.starts_with(b"SQLite format 3\0"))
        .unwrap_or(false)
}

fn encrypting(path: &Path) -> PathBuf {
    PathBuf::from(format!("{}.encrypting", path.display()))
}

fn sigkill_during_encryption_never_loses_the_profile() {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let fixture = dir.path().join("plain.sqlite");
    let mut store = Store::open(&fixture).unwrap();
    let conversation = profile::fill(&mut store, FILLER);
    drop(store);
    assert!(is_plain(&fixture));
    let expected = profile::TEXTS.len() + FILLER as usize;
    let worker = std::env::current_exe().unwrap();
    let run_dir = dir.path().join("run");
    let path = run_dir.join("profile.sqlite");
    let fresh_copy = || {
        let _ = std::fs::remove_dir_all(&run_dir);
        std::fs::create_dir(&run_dir).unwrap();
        std::fs::copy(&fixture, &path).unwrap();
    };

    // How long a whole run takes, process start included: the window to kill in.
    fresh_copy();
    let timed = Instant::now();
    let status = Command::new(&worker)
        .env(WORKER_ENV, &path)
        .status()
        .unwrap();
    assert!(status.success());
    let whole = timed.elapsed();
    assert!(!is_plain(&path));

    let mut rng = StdRng::seed_from_u64(0xE1C2_3A7E);
    let (mut mid_way, mut before, mut after) = (0, 0, 0);
    for round in 0..KILLS {
        assert!(
            started.elapsed() < TIME_LIMIT,
            "out of time at round {round}"
        );
        fresh_copy();
        let mut child = Command::new(&worker)
            .env(WORKER_ENV, &path)
            .spawn()
            .unwrap();
        let delay = whole.mul_f64(rng.random_range(0.0..1.1));
        std::thread::sleep(delay);
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();

        match (is_plain(&path), encrypting(&path).exists()) {
            (true, true) => mid_way += 1,
            (true, false) => before += 1,
            (false, _) => after += 1,
        }
        // Whatever the moment, the profile opens with the key and holds everything.
        let mut store = Store::open_encrypted(&path, &secret())
            .unwrap_or_else(|e| panic!("round {round} (after {delay:?}): {e}"));
        assert_eq!(
            profile::message_count(&mut store, conversation),
            expected,
            "round {round}"
        );
        let tx = store.transaction().unwrap();
        assert_eq!(tx.conversations().unwrap().len(), 1, "round {round}");
        assert!(tx.identity_record().unwrap().is_some(), "round {round}");
        drop(tx);
        drop(store);
        assert!(
            !encrypting(&path).exists(),
            "round {round}: a copy left over"
        );
    }
    println!(
        "{KILLS} kills over {whole:?}: {before} before the copy, {mid_way} while copying, \
         {after} after"
    );
    assert!(
        mid_way >= 5,
        "too few kills landed while copying: {mid_way}"
    );
}
