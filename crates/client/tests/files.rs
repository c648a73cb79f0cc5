//! What a profile and the server leave on disk is for their owner only.

mod support;

use support::*;

/// Every directory a profile creates is 0700 and every file in it (the database, its
/// write-ahead log, the lock) 0600 on Unix; the server's database files are 0600 too. Modes
/// are set at creation (umask aside), so no file is ever readable by another local user.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profiles_and_the_server_database_are_for_their_owner_only() {
    use std::os::unix::fs::PermissionsExt;

    let dir = tempfile::tempdir().unwrap();
    let server_dir = dir.path().join("server");
    std::fs::create_dir(&server_dir).unwrap();
    let server = TestServer::start(&server_dir.join("ds.sqlite")).await;
    // The profile sits in directories that do not exist yet.
    let profiles = dir.path().join("data").join("profiles");
    let alice = client(&profiles, "alice", &server).await;
    let bob = client(&profiles, "bob", &server).await;
    let (a, _) = start_conversation(&alice, "Files", &[&bob]).await;
    alice.send_text(a, "on disk").await.unwrap();
    bob.sync().await.unwrap();

    let mode =
        |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    for directory in [
        dir.path().join("data"),
        profiles.clone(),
        profiles.join("alice"),
    ] {
        assert_eq!(mode(&directory), 0o700, "{}", directory.display());
    }
    let mut seen = 0;
    for profile in ["alice", "bob"] {
        for entry in std::fs::read_dir(profiles.join(profile)).unwrap() {
            let path = entry.unwrap().path();
            assert_eq!(mode(&path), 0o600, "{}", path.display());
            seen += 1;
        }
    }
    assert!(
        seen >= 6,
        "database, WAL and lock of each profile: {seen} files"
    );
    let mut server_files = 0;
    for entry in std::fs::read_dir(&server_dir).unwrap() {
        let path = entry.unwrap().path();
        assert_eq!(mode(&path), 0o600, "{}", path.display());
        server_files += 1;
    }
    assert!(server_files >= 2, "the server's database and its WAL");
}
