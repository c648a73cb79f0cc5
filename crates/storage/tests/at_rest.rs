//! Profiles encrypted at rest (SQLCipher), on real files: nothing readable on disk, the wrong
//! secret refused without a byte changed, a plain profile encrypted in place with everything
//! kept. The migration under SIGKILL is in `encrypt_crash.rs`.

use std::path::Path;

#[path = "support/profile.rs"]
mod profile;

use conclave_storage::{ProfileSecret, Store, StoreError};
use profile::{TEXTS, USER, fill, message_count};

/// Every file under `dir`, with its bytes.
fn files(dir: &Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(files(&path));
        } else {
            let bytes = std::fs::read(&path).unwrap();
            found.push((path, bytes));
        }
    }
    found
}

/// Asserts that no file under `dir` holds any of `needles`.
fn nothing_readable(dir: &Path, needles: &[&[u8]]) {
    let all = files(dir);
    assert!(!all.is_empty());
    for (path, bytes) in &all {
        for needle in needles {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == *needle),
                "{} holds {:?}",
                path.display(),
                String::from_utf8_lossy(needle)
            );
        }
    }
}

fn needles() -> Vec<&'static [u8]> {
    let mut needles: Vec<&[u8]> = TEXTS.iter().map(|t| t.as_bytes()).collect();
    needles.push(USER.as_bytes());
    needles.push(b"Harbour");
    needles.push(b"SQLite format 3");
    needles
}

#[test]
fn an_encrypted_profile_shows_nothing_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("profile.sqlite");
    let secret = ProfileSecret::passphrase("correct horse battery staple");
    let mut store = Store::open_encrypted(&path, &secret).unwrap();
    let conversation = fill(&mut store, 200);
    // While open, with the last transactions still in the write-ahead log...
    nothing_readable(dir.path(), &needles());
    drop(store);
    // ...and closed.
    nothing_readable(dir.path(), &needles());
    // The same secret opens it, with everything in it.
    let mut store = Store::open_encrypted(&path, &secret).unwrap();
    assert_eq!(message_count(&mut store, conversation), TEXTS.len() + 200);
    let tx = store.transaction().unwrap();
    let found = tx.search("lighthouse", 10).unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].message.body, TEXTS[0]);
}

#[test]
fn a_wrong_secret_is_refused_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("profile.sqlite");
    let secret = ProfileSecret::passphrase("correct horse battery staple");
    let mut store = Store::open_encrypted(&path, &secret).unwrap();
    fill(&mut store, 10);
    drop(store);
    let before = files(dir.path());

    for wrong in [
        ProfileSecret::passphrase("correct horse battery stapler"),
        ProfileSecret::passphrase(""),
        ProfileSecret::Key(conclave_storage::ProfileKey::random()),
    ] {
        match Store::open_encrypted(&path, &wrong) {
            Err(e @ StoreError::WrongKey { .. }) => {
                assert!(e.to_string().contains("wrong passphrase or key"), "{e}")
            }
            Err(e) => panic!("not a wrong-key error: {e}"),
            Ok(_) => panic!("opened with the wrong secret"),
        }
    }
    // Opening it as a plain profile says it is encrypted.
    assert!(matches!(
        Store::open(&path),
        Err(StoreError::Encrypted { .. })
    ));
    assert_eq!(files(dir.path()), before, "a refused open changed a file");
    Store::open_encrypted(&path, &secret).unwrap();
}

#[test]
fn a_plain_profile_is_encrypted_in_place_and_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("profile.sqlite");
    let mut plain = Store::open(&path).unwrap();
    let conversation = fill(&mut plain, 500);
    drop(plain);
    assert!(
        std::fs::read(&path)
            .unwrap()
            .starts_with(b"SQLite format 3\0")
    );

    let secret = ProfileSecret::passphrase("a new passphrase");
    let mut store = Store::open_encrypted(&path, &secret).unwrap();
    assert_eq!(message_count(&mut store, conversation), TEXTS.len() + 500);
    let tx = store.transaction().unwrap();
    assert_eq!(tx.conversations().unwrap().len(), 1);
    assert!(tx.identity_record().unwrap().is_some());
    assert_eq!(tx.search("parcel", 10).unwrap().len(), 1);
    drop(tx);
    drop(store);
    nothing_readable(dir.path(), &needles());
    assert!(matches!(
        Store::open(&path),
        Err(StoreError::Encrypted { .. })
    ));
    // And it goes on: a new transaction, reopened.
    let mut store = Store::open_encrypted(&path, &secret).unwrap();
    assert_eq!(message_count(&mut store, conversation), TEXTS.len() + 500);
}

#[test]
fn the_profile_uses_sqlcipher() {
    let dir = tempfile::tempdir().unwrap();
    let connection = rusqlite::Connection::open(dir.path().join("x.sqlite")).unwrap();
    let version: String = connection
        .query_row("PRAGMA cipher_version", [], |r| r.get(0))
        .unwrap();
    assert!(version.starts_with('4'), "{version}");
}

#[test]
fn a_passphrase_change_reencrypts_and_the_old_one_no_longer_opens() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("profile.sqlite");
    let old = ProfileSecret::passphrase("the old passphrase");
    let new = ProfileSecret::passphrase("the new passphrase");
    let mut store = Store::open_encrypted(&path, &old).unwrap();
    let conversation = fill(&mut store, 100);
    // Not while it is open.
    assert!(matches!(
        Store::change_secret(&path, Some(&old), &new),
        Err(StoreError::ProfileInUse { .. })
    ));
    drop(store);
    // A wrong old passphrase changes nothing.
    let before = files(dir.path());
    assert!(matches!(
        Store::change_secret(&path, Some(&new), &new),
        Err(StoreError::WrongKey { .. })
    ));
    assert_eq!(files(dir.path()), before);

    Store::change_secret(&path, Some(&old), &new).unwrap();
    assert!(matches!(
        Store::open_encrypted(&path, &old),
        Err(StoreError::WrongKey { .. })
    ));
    let mut store = Store::open_encrypted(&path, &new).unwrap();
    assert_eq!(message_count(&mut store, conversation), TEXTS.len() + 100);
    drop(store);
    nothing_readable(dir.path(), &needles());
}

/// The app changes the passphrase of the profile it has open: the old one must be given
/// (a wrong one changes nothing, the store goes on), the store goes on under the new one,
/// and only the new one opens the file afterwards.
#[test]
fn a_passphrase_change_while_open_keeps_the_store_working() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("profile.sqlite");
    let old = ProfileSecret::passphrase("the old passphrase");
    let new = ProfileSecret::passphrase("the new passphrase");
    let mut store = Store::open_encrypted(&path, &old).unwrap();
    let conversation = fill(&mut store, 100);
    store.sync().unwrap();

    let before = files(dir.path());
    assert!(matches!(
        store.change_secret_open(Some(&new), &new),
        Err(StoreError::WrongKey { .. })
    ));
    assert!(matches!(
        store.change_secret_open(None, &new),
        Err(StoreError::Encrypted { .. })
    ));
    assert_eq!(files(dir.path()), before, "nothing written");
    assert_eq!(message_count(&mut store, conversation), TEXTS.len() + 100);

    store.change_secret_open(Some(&old), &new).unwrap();
    // It goes on: reads, and writes that last.
    assert_eq!(message_count(&mut store, conversation), TEXTS.len() + 100);
    fill(&mut store, 10);
    // A second change needs the new one.
    assert!(matches!(
        store.change_secret_open(Some(&old), &old),
        Err(StoreError::WrongKey { .. })
    ));
    drop(store);
    assert!(
        files(dir.path())
            .iter()
            .all(|(p, _)| !p.to_string_lossy().contains("encrypting")),
        "no copy left beside it"
    );
    assert!(matches!(
        Store::open_encrypted(&path, &old),
        Err(StoreError::WrongKey { .. })
    ));
    let mut store = Store::open_encrypted(&path, &new).unwrap();
    assert!(message_count(&mut store, conversation) >= TEXTS.len() + 100);
    drop(store);
    nothing_readable(dir.path(), &needles());
}

/// A plain profile open in the app is encrypted in place with the new passphrase.
#[test]
fn a_plain_profile_open_is_encrypted_by_a_passphrase_change() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("profile.sqlite");
    let new = ProfileSecret::passphrase("a first passphrase");
    let mut store = Store::open(&path).unwrap();
    let conversation = fill(&mut store, 20);
    store.change_secret_open(None, &new).unwrap();
    fill(&mut store, 5);
    drop(store);
    assert!(matches!(
        Store::open(&path),
        Err(StoreError::Encrypted { .. })
    ));
    let mut store = Store::open_encrypted(&path, &new).unwrap();
    assert!(message_count(&mut store, conversation) >= TEXTS.len() + 20);
    drop(store);
    nothing_readable(dir.path(), &needles());
}
