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

/// SQLCipher's raw-key pragma value for `key` with `salt`, as the store forms it.
fn raw_key(key: &[u8; 32], salt: &[u8; 16]) -> String {
    let hex: String = key.iter().chain(salt).map(|b| format!("{b:02x}")).collect();
    format!("\"x'{hex}'\"")
}

/// Whether the encrypted file at `path` opens with `key` under this HMAC, straight through
/// SQLCipher.
fn opens_with_hmac(path: &Path, key: &[u8; 32], hmac: &str) -> bool {
    let salt: [u8; 16] = std::fs::read(path).unwrap()[..16].try_into().unwrap();
    let connection = rusqlite::Connection::open(path).unwrap();
    connection
        .execute_batch(&format!(
            "PRAGMA cipher_log_level = NONE; PRAGMA key = {}; PRAGMA cipher_hmac_algorithm = {hmac};",
            raw_key(key, &salt)
        ))
        .unwrap();
    connection
        .query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(()))
        .is_ok()
}

/// New files authenticate their pages with HMAC-SHA256; a profile encrypted before, with
/// SQLCipher's default HMAC-SHA512, still opens (and only with its key), keeps everything,
/// and is written in the new format by a change of its secret.
#[test]
fn profiles_in_the_earlier_page_format_still_open() {
    let dir = tempfile::tempdir().unwrap();
    let key = [7u8; 32];
    let secret = ProfileSecret::Key(conclave_storage::ProfileKey::from_bytes(key));

    let new = dir.path().join("new.sqlite");
    drop(Store::open_encrypted(&new, &secret).unwrap());
    assert!(opens_with_hmac(&new, &key, "HMAC_SHA256"));
    assert!(!opens_with_hmac(&new, &key, "HMAC_SHA512"));

    // An earlier version's file: the same profile exported under SHA-512 pages.
    let plain = dir.path().join("plain.sqlite");
    let mut store = Store::open(&plain).unwrap();
    let conversation = fill(&mut store, 50);
    drop(store);
    let old = dir.path().join("old.sqlite");
    let connection = rusqlite::Connection::open(&plain).unwrap();
    connection
        .execute(
            &format!(
                "ATTACH DATABASE ?1 AS old KEY {};",
                raw_key(&key, &[9u8; 16])
            ),
            [old.to_str().unwrap()],
        )
        .unwrap();
    connection
        .execute_batch(
            "PRAGMA old.cipher_hmac_algorithm = HMAC_SHA512;
             SELECT sqlcipher_export('old');",
        )
        .unwrap();
    let (app_id, user_version): (i64, i64) = connection
        .query_row(
            "SELECT (SELECT application_id FROM pragma_application_id), \
                    (SELECT user_version FROM pragma_user_version)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    connection
        .execute_batch(&format!(
            "PRAGMA old.application_id = {app_id}; PRAGMA old.user_version = {user_version};
             DETACH DATABASE old;"
        ))
        .unwrap();
    drop(connection);
    assert!(opens_with_hmac(&old, &key, "HMAC_SHA512"));
    assert!(!opens_with_hmac(&old, &key, "HMAC_SHA256"));

    let wrong = ProfileSecret::Key(conclave_storage::ProfileKey::from_bytes([8u8; 32]));
    let before = std::fs::read(&old).unwrap();
    assert!(matches!(
        Store::open_encrypted(&old, &wrong),
        Err(StoreError::WrongKey { .. })
    ));
    assert_eq!(std::fs::read(&old).unwrap(), before);
    let mut store = Store::open_encrypted(&old, &secret).unwrap();
    assert_eq!(message_count(&mut store, conversation), TEXTS.len() + 50);
    drop(store);

    let next = ProfileSecret::Key(conclave_storage::ProfileKey::from_bytes([6u8; 32]));
    Store::change_secret(&old, Some(&secret), &next).unwrap();
    let mut store = Store::open_encrypted(&old, &next).unwrap();
    assert_eq!(message_count(&mut store, conversation), TEXTS.len() + 50);
    drop(store);
    assert!(opens_with_hmac(&old, &[6u8; 32], "HMAC_SHA256"));
}
