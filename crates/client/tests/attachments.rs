//! Files through a real delivery service on 127.0.0.1: sealed on the sender's device,
//! stored at the server as ciphertext, checked and decrypted by the receiver; altered at
//! the server, refused with nothing written.

mod support;

use conclave_client::{ClientError, MessageKind};
use support::*;

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_go_both_ways_sealed_and_come_back_whole() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("ds.sqlite")).await;
    let alice = client(dir.path(), "alice", &server).await;
    let bob = client(dir.path(), "bob", &server).await;
    let (a, theirs) = start_conversation(&alice, "Files", &[&bob]).await;
    let b = theirs[0];

    // Three pieces (the last one short) one way, an empty file the other.
    let big = pattern(2 * (1 << 20) + 12_345, 7);
    let big_path = dir.path().join("holiday.png");
    std::fs::write(&big_path, &big).unwrap();
    let mut reported = Vec::new();
    alice
        .send_file(a, &big_path, |done, total| reported.push((done, total)))
        .await
        .unwrap();
    assert_eq!(reported.last(), Some(&(big.len() as u64, big.len() as u64)));
    assert_eq!(reported.len(), 3);
    let empty_path = dir.path().join("empty.txt");
    std::fs::write(&empty_path, b"").unwrap();
    bob.sync().await.unwrap();
    bob.send_file(b, &empty_path, |_, _| {}).await.unwrap();
    alice.sync().await.unwrap();

    let received = bob.history(b, None, 10).await.unwrap();
    let file = received
        .iter()
        .find(|m| {
            m.message.kind == MessageKind::Attachment && m.message.sender.user.as_str() == "alice"
        })
        .unwrap();
    let info = bob.attachment(file.id).await.unwrap().unwrap();
    assert_eq!(
        (info.name.as_str(), info.size, info.content_type.as_str()),
        ("holiday.png", big.len() as u64, "image/png")
    );
    let out = dir.path().join("saved.png");
    assert_eq!(
        bob.save_file(file.id, &out, |_, _| {}).await.unwrap(),
        big.len() as u64
    );
    assert_eq!(std::fs::read(&out).unwrap(), big);
    assert_eq!(bob.attachment_bytes(file.id, 10 << 20).await.unwrap(), big);
    assert!(matches!(
        bob.attachment_bytes(file.id, 1000).await,
        Err(ClientError::AttachmentRefused(_))
    ));

    let back = alice
        .history(a, None, 10)
        .await
        .unwrap()
        .into_iter()
        .find(|m| {
            m.message.kind == MessageKind::Attachment && m.message.sender.user.as_str() == "bob"
        })
        .unwrap();
    let out = dir.path().join("empty-copy.txt");
    assert_eq!(alice.save_file(back.id, &out, |_, _| {}).await.unwrap(), 0);
    assert_eq!(std::fs::read(&out).unwrap(), b"");

    // The server holds ciphertext only: the file's bytes are nowhere in its database.
    let db = std::fs::read(dir.path().join("ds.sqlite")).unwrap();
    let wal = std::fs::read(dir.path().join("ds.sqlite-wal")).unwrap_or_default();
    let probe = &big[100_000..100_064];
    for bytes in [&db, &wal] {
        assert!(!bytes.windows(probe.len()).any(|w| w == probe));
    }
    server.stop().await;
}

/// The attack: the server (or anyone with its disk) changes one byte of a stored file.
/// The receiver refuses it, and writes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attachment_altered_at_the_server_is_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("ds.sqlite")).await;
    let alice = client(dir.path(), "alice", &server).await;
    let bob = client(dir.path(), "bob", &server).await;
    let (a, theirs) = start_conversation(&alice, "Files", &[&bob]).await;
    let b = theirs[0];
    let path = dir.path().join("contract.pdf");
    std::fs::write(&path, pattern(300_000, 3)).unwrap();
    alice.send_file(a, &path, |_, _| {}).await.unwrap();
    bob.sync().await.unwrap();
    let file = bob
        .history(b, None, 10)
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.message.kind == MessageKind::Attachment)
        .unwrap();

    let db = rusqlite::Connection::open(dir.path().join("ds.sqlite")).unwrap();
    db.busy_timeout(std::time::Duration::from_secs(5)).unwrap();
    let mut data: Vec<u8> = db
        .query_row("SELECT data FROM blob_chunks", [], |r| r.get(0))
        .unwrap();
    data[1000] ^= 0x01;
    let altered = db
        .execute("UPDATE blob_chunks SET data = ?1", [&data])
        .unwrap();
    assert_eq!(altered, 1);
    let out = dir.path().join("contract-copy.pdf");
    let refused = bob.save_file(file.id, &out, |_, _| {}).await;
    assert!(
        matches!(&refused, Err(ClientError::AttachmentRefused(why)) if why.contains("decrypt")),
        "{refused:?}"
    );
    assert!(!out.exists());
    assert!(!out.with_extension("conclave-partial").exists());
    assert!(bob.attachment_bytes(file.id, 1 << 20).await.is_err());
    server.stop().await;
}
