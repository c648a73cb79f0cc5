//! Store behaviour on real files: opening and locking, bad files, rollback, reopening after
//! every step of a multi-member scenario, and the messenger tables.

#[path = "support/harness.rs"]
mod harness;

use conclave_protocol::{Fingerprint, GroupEvent};
use conclave_storage::{
    DeviceTrust, MessageId, MessageKind, MessageState, NewMessage, OutboxKind, Store, StoreError,
    schema_version,
};
use harness::{Peer, Wire, member_id};

fn same_bytes_after(path: &std::path::Path, f: impl FnOnce()) {
    let before = std::fs::read(path).unwrap();
    f();
    assert_eq!(
        std::fs::read(path).unwrap(),
        before,
        "the file was modified"
    );
}

#[test]
fn a_profile_is_opened_by_one_store_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.sqlite");
    let store = Store::open(&path).unwrap();
    assert!(matches!(
        Store::open(&path),
        Err(StoreError::ProfileInUse { .. })
    ));
    drop(store);
    Store::open(&path).unwrap();
}

#[test]
fn other_sqlite_connections_are_kept_out_while_a_store_is_open() {
    // `locking_mode = EXCLUSIVE`: the store keeps SQLite's locks for as long as it is open.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.sqlite");
    let store = Store::open(&path).unwrap();
    let read = || {
        let other = rusqlite::Connection::open(&path).unwrap();
        other.busy_timeout(std::time::Duration::ZERO).unwrap();
        other.query_row("SELECT count(*) FROM sqlite_schema", [], |r| {
            r.get::<_, i64>(0)
        })
    };
    match read() {
        Err(rusqlite::Error::SqliteFailure(e, _)) => {
            assert_eq!(e.code, rusqlite::ErrorCode::DatabaseBusy)
        }
        other => panic!("another connection read an open profile: {other:?}"),
    }
    drop(store);
    assert!(read().unwrap() > 0);
}

#[test]
fn a_second_process_gets_profile_in_use() {
    // The lock is the operating system's: a process holding it (a shell's flock) keeps us out.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.sqlite");
    drop(Store::open(&path).unwrap());
    let lock = format!("{}.lock", path.display());
    let mut holder = std::process::Command::new("flock")
        .args(["--exclusive", "--no-fork", &lock, "sleep", "30"])
        .spawn()
        .expect("flock(1) from util-linux");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut seen = false;
    while std::time::Instant::now() < deadline {
        match Store::open(&path) {
            Err(StoreError::ProfileInUse { .. }) => {
                seen = true;
                break;
            }
            Ok(store) => drop(store), // flock has not taken it yet
            Err(e) => panic!("{e}"),
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    holder.kill().unwrap();
    holder.wait().unwrap();
    assert!(seen, "the other process's lock was not honoured");
    // Its death released the lock.
    Store::open(&path).unwrap();
}

#[test]
fn garbage_file_is_rejected_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.sqlite");
    std::fs::write(&path, vec![0x5a; 8192]).unwrap();
    // Without a key, garbage cannot be told from an encrypted profile; with one, from a
    // profile encrypted with another key. Either way: refused, nothing written.
    same_bytes_after(&path, || {
        assert!(matches!(
            Store::open(&path),
            Err(StoreError::Encrypted { .. })
        ));
        let key = conclave_storage::ProfileSecret::Key(conclave_storage::ProfileKey::random());
        assert!(matches!(
            Store::open_encrypted(&path, &key),
            Err(StoreError::WrongKey { .. })
        ));
    });
}

#[test]
fn truncated_file_is_rejected_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.sqlite");
    {
        let mut peer = Peer::create(dir.path(), "p");
        let group = peer.create_group("big");
        let wire = Wire::open(&dir.path().join("wire.sqlite"));
        for i in 0..300u32 {
            let mut uid = [0u8; 16];
            uid[..4].copy_from_slice(&i.to_be_bytes());
            peer.send(&wire, &group, uid.to_vec(), &"text ".repeat(50));
        }
        peer.store.sync().unwrap();
    }
    let len = std::fs::metadata(&path).unwrap().len();
    assert!(
        len > 64 * 1024,
        "file too small to truncate meaningfully: {len}"
    );
    let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.set_len(len / 2).unwrap();
    drop(file);
    same_bytes_after(&path, || {
        assert!(matches!(
            Store::open(&path),
            Err(StoreError::Corrupt { .. })
        ));
    });
}

#[test]
fn foreign_sqlite_file_is_rejected_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.sqlite");
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('mine');")
        .unwrap();
    drop(conn);
    same_bytes_after(&path, || {
        assert!(matches!(
            Store::open(&path),
            Err(StoreError::Corrupt { .. })
        ));
    });
}

#[test]
fn newer_schema_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.sqlite");
    drop(Store::open(&path).unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute(
        "INSERT INTO conclave_migrations (version, name, applied_on, checksum)
         VALUES (?1, 'from_the_future', '2030-01-01', '0')",
        [schema_version() + 1],
    )
    .unwrap();
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
        .unwrap();
    drop(conn);
    same_bytes_after(&path, || match Store::open(&path) {
        Err(StoreError::NewerSchema {
            found, supported, ..
        }) => {
            assert_eq!(found, schema_version() + 1);
            assert_eq!(supported, schema_version());
        }
        other => panic!("expected NewerSchema, got {other:?}"),
    });
}

#[test]
fn unwritable_location_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    // A regular file where the directory should be: nothing can be created beneath it, even
    // by root (whom permission bits do not stop).
    let blocker = dir.path().join("not-a-dir");
    std::fs::write(&blocker, b"x").unwrap();
    same_bytes_after(&blocker, || {
        assert!(matches!(
            Store::open(blocker.join("p.sqlite")),
            Err(StoreError::CannotOpen { .. })
        ));
    });
    assert!(matches!(
        Store::open(dir.path().join("missing").join("p.sqlite")),
        Err(StoreError::CannotOpen { .. })
    ));
}

/// Shaped like openmls's: a reference made of bytes, which stored values write as a byte
/// string and keys as an array of integers.
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Ref(Vec<u8>);
impl openmls_traits::storage::Key<1> for Ref {}
impl openmls_traits::storage::Entity<1> for Ref {}
impl openmls_traits::storage::traits::ProposalRef<1> for Ref {}
impl openmls_traits::storage::traits::GroupId<1> for Ref {}
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Proposal(Vec<u8>);
impl openmls_traits::storage::Entity<1> for Proposal {}
impl openmls_traits::storage::traits::QueuedProposal<1> for Proposal {}

#[test]
fn a_queued_proposal_is_removed_by_its_reference() {
    // A proposal's reference is written with the proposal and looked up as a key: both must
    // encode it alike, or the removal finds nothing.
    use openmls_traits::{OpenMlsProvider, storage::StorageProvider};
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path().join("p.sqlite")).unwrap();
    let group = Ref(vec![0xAB; 16]);
    let (first, second) = (Ref(vec![0x80; 32]), Ref(vec![0x01; 32]));
    let tx = store.transaction().unwrap();
    let provider = tx.provider();
    let storage = provider.storage();
    storage
        .queue_proposal(&group, &first, &Proposal(vec![1; 100]))
        .unwrap();
    storage
        .queue_proposal(&group, &second, &Proposal(vec![2; 100]))
        .unwrap();
    storage.remove_proposal(&group, &first).unwrap();
    let left: Vec<(Ref, Proposal)> = storage.queued_proposals(&group).unwrap();
    assert_eq!(left, vec![(Ref(vec![0x01; 32]), Proposal(vec![2; 100]))]);
    tx.commit().unwrap();
}

/// The codec as it was before stored values wrote byte strings: values in the plain form,
/// as keys still are.
#[derive(Debug, Default)]
struct PlainCodec;

impl openmls_sqlite_storage::Codec for PlainCodec {
    type Error = conclave_storage::codec::CodecError;

    fn to_vec<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, Self::Error> {
        conclave_storage::codec::MlsCodec::to_vec(value)
    }

    fn from_slice<T: serde::de::DeserializeOwned>(slice: &[u8]) -> Result<T, Self::Error> {
        conclave_storage::codec::MlsCodec::from_slice(slice)
    }
}

/// openmls over a profile's file with [`PlainCodec`], beside no store.
struct PlainProvider<'c> {
    crypto: conclave_protocol::Crypto,
    storage: openmls_sqlite_storage::SqliteStorageProvider<PlainCodec, &'c rusqlite::Connection>,
}

impl<'c> openmls_traits::OpenMlsProvider for PlainProvider<'c> {
    type CryptoProvider = conclave_protocol::Crypto;
    type RandProvider = conclave_protocol::Crypto;
    type StorageProvider =
        openmls_sqlite_storage::SqliteStorageProvider<PlainCodec, &'c rusqlite::Connection>;

    fn storage(&self) -> &Self::StorageProvider {
        &self.storage
    }

    fn crypto(&self) -> &Self::CryptoProvider {
        &self.crypto
    }

    fn rand(&self) -> &Self::RandProvider {
        &self.crypto
    }
}

#[test]
fn a_group_stored_before_byte_strings_loads_and_carries_on() {
    // Alice's identity and group are written as every build before byte strings wrote them;
    // then her profile is opened by a store, which reads them and writes the new form.
    use conclave_protocol::{Group, GroupConfig, Identity};
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let wire = Wire::open(&d.join("wire.sqlite"));
    let mut bob = Peer::create(d, "bob");
    let alice_path = d.join("alice.sqlite");
    drop(Store::open(&alice_path).unwrap());
    let (group, record) = {
        let conn = rusqlite::Connection::open(&alice_path).unwrap();
        let provider = PlainProvider {
            crypto: conclave_protocol::Crypto::default(),
            storage: openmls_sqlite_storage::SqliteStorageProvider::new(&conn),
        };
        let config = GroupConfig::default();
        let identity = Identity::create(&provider, member_id("alice"), config.ciphersuite).unwrap();
        let mut g = Group::create(&provider, &identity, &config, "old").unwrap();
        let bundle = g
            .add_members(&provider, &identity, &[bob.key_package()])
            .unwrap();
        g.merge_pending_commit(&provider).unwrap();
        let invitation = bundle.invitation.unwrap();
        bob.join(&wire, &invitation.welcome, &invitation.ratchet_tree);
        (g.id(), identity.record())
    };
    // Her 32-byte public key as the old codec wrote it: an array of 32 integers (dc 00 20),
    // not a byte string (c4 20).
    let plain_form: bool = rusqlite::Connection::open(&alice_path)
        .unwrap()
        .query_row(
            "SELECT instr(signature_key, X'dc0020') > 0 AND instr(signature_key, X'c420') = 0
             FROM openmls_signature_keys",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(plain_form);
    {
        let mut store = Store::open(&alice_path).unwrap();
        let tx = store.transaction().unwrap();
        tx.set_profile(&record, harness::WIRE, 0).unwrap();
        tx.create_conversation(&group, "old", 0).unwrap();
        tx.advance_cursor(harness::WIRE, wire.last_seq()).unwrap();
        tx.commit().unwrap();
    }
    let mut alice = Peer::open(d, "alice").unwrap();
    let uid = alice.send(&wire, &group, vec![1; 16], "from before");
    assert_eq!(bob.receive(&wire, &group), vec![uid]);
    bob.update(&wire, &group);
    alice.receive(&wire, &group);
    assert_eq!(alice.epoch_state(&group), bob.epoch_state(&group));
    let mut alice = alice.reopen(d);
    let uid = alice.send(&wire, &group, vec![2; 16], "and after");
    assert_eq!(bob.receive(&wire, &group), vec![uid]);
}

#[test]
fn opening_moves_the_write_ahead_log_into_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.sqlite");
    let store = Store::open(&path).unwrap();
    // The migrations' pages are in the database file: a copy of it alone, without the log,
    // has the whole schema.
    let copy = dir.path().join("copy.sqlite");
    std::fs::copy(&path, &copy).unwrap();
    drop(store);
    let conn = rusqlite::Connection::open(&copy).unwrap();
    let tables: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE name IN ('messages', 'openmls_group_data')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(tables, 2);
}

#[test]
fn pragmas_are_as_documented() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.sqlite");
    drop(Store::open(&path).unwrap());
    // Journal mode is stored in the file; the others are per connection, so check through a
    // store's own connection by behaviour: WAL file appears on write.
    let conn = rusqlite::Connection::open(&path).unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let app: i64 = conn
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .unwrap();
    assert_eq!(app, 0x434E_434C);
}

#[test]
fn a_dropped_transaction_rolls_back_memory_and_file() {
    let dir = tempfile::tempdir().unwrap();
    let wire = Wire::open(&dir.path().join("wire.sqlite"));
    let mut alice = Peer::create(dir.path(), "alice");
    let mut bob = Peer::create(dir.path(), "bob");
    let group = alice.create_group("rollback");
    let kp = bob.key_package();
    let (welcome, tree) = alice.add(&wire, &group, &[kp]);
    bob.join(&wire, &welcome, &tree);
    alice.receive(&wire, &group);

    let uid = alice.send(&wire, &group, vec![7; 16], "hello");
    let (_, _, ciphertext) = wire.after(wire.last_seq() - 1, 1).pop().unwrap();
    let before = bob.epoch_state(&group);

    // Decrypt in a transaction that is dropped: the message key must not be used up.
    {
        let mut tx = bob.store.transaction().unwrap();
        let g = tx.group(&group).unwrap();
        let events = g.group.process(&g.provider, &ciphertext).unwrap();
        assert!(matches!(events[0], GroupEvent::Message { .. }));
    }
    // And a self-update merged in a dropped transaction: the epoch must not move.
    {
        let mut tx = bob.store.transaction().unwrap();
        let g = tx.group(&group).unwrap();
        g.group.self_update(&g.provider, &bob.identity).unwrap();
        g.group.merge_pending_commit(&g.provider).unwrap();
        assert_eq!(g.group.epoch(), before.0 + 1);
    }
    assert_eq!(bob.epoch_state(&group), before);
    // The message still decrypts (once).
    let acks = bob.receive(&wire, &group);
    assert_eq!(acks, vec![uid.clone()]);
    assert_eq!(bob.count(&uid), 1);
}

#[test]
fn reopening_after_every_step_carries_on() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let wire = Wire::open(&d.join("wire.sqlite"));
    let mut alice = Peer::create(d, "alice");
    let mut bob = Peer::create(d, "bob");
    let mut carol = Peer::create(d, "carol");
    let group = alice.create_group("reopen");
    alice = alice.reopen(d);
    let kp = bob.key_package();
    bob = bob.reopen(d);
    let (welcome, tree) = alice.add(&wire, &group, &[kp]);
    alice = alice.reopen(d);
    bob.join(&wire, &welcome, &tree);
    bob = bob.reopen(d);
    alice.receive(&wire, &group);
    alice = alice.reopen(d);

    let mut sent = Vec::new();
    for step in 0u8..12 {
        match step % 4 {
            0 => sent.push(alice.send(&wire, &group, vec![step; 16], "from alice")),
            1 => sent.push(bob.send(&wire, &group, vec![step; 16], "from bob")),
            2 => drop(bob.update(&wire, &group)),
            _ => drop(alice.update(&wire, &group)),
        }
        alice = alice.reopen(d);
        bob = bob.reopen(d);
        alice.receive(&wire, &group);
        alice = alice.reopen(d);
        bob.receive(&wire, &group);
        bob = bob.reopen(d);
        assert_eq!(
            alice.epoch_state(&group),
            bob.epoch_state(&group),
            "step {step}"
        );
    }
    // Carol joins late, after reopen; everyone keeps talking.
    let kp = carol.key_package();
    carol = carol.reopen(d);
    let (welcome, tree) = alice.add(&wire, &group, &[kp]);
    alice = alice.reopen(d);
    carol.join(&wire, &welcome, &tree);
    carol = carol.reopen(d);
    bob.receive(&wire, &group);
    alice.receive(&wire, &group);
    let last = carol.send(&wire, &group, vec![0xcc; 16], "hi, I'm new");
    for peer in [&mut alice, &mut bob] {
        peer.receive(&wire, &group);
        assert_eq!(peer.count(&last), 1);
    }
    for uid in &sent {
        assert_eq!(alice.count(uid), 1);
        assert_eq!(bob.count(uid), 1);
    }
    let state = alice.epoch_state(&group);
    assert_eq!(bob.epoch_state(&group), state);
    assert_eq!(carol.epoch_state(&group), state);
}

fn message(
    conversation: conclave_storage::ConversationId,
    n: u32,
    body: &str,
    outgoing: bool,
) -> NewMessage {
    NewMessage {
        conversation,
        uid: n.to_be_bytes().to_vec(),
        sender: member_id(if outgoing { "me" } else { "them" }),
        sent_at: i64::from(n),
        received_at: (!outgoing).then_some(i64::from(n)),
        body: body.into(),
        state: if outgoing {
            MessageState::Pending
        } else {
            MessageState::Received
        },
        server_seq: None,
        outgoing,
        kind: MessageKind::Text,
        reply_to: None,
        expires_at: None,
        attachment: None,
    }
}

#[test]
fn history_unread_search_and_deletion() {
    let dir = tempfile::tempdir().unwrap();
    let mut peer = Peer::create(dir.path(), "me");
    let g1 = peer.create_group("one");
    let g2 = peer.create_group("two");
    let mut tx = peer.store.transaction().unwrap();
    let c1 = tx.conversation_by_group(&g1).unwrap().unwrap().id;
    let c2 = tx.conversation_by_group(&g2).unwrap().unwrap().id;
    let mut ids = Vec::new();
    for n in 0..120u32 {
        let body = if n % 10 == 0 {
            format!("lunch at noon {n}")
        } else {
            format!("chatter {n}")
        };
        ids.push(
            tx.insert_message(&message(c1, n, &body, n % 3 == 0))
                .unwrap()
                .unwrap(),
        );
    }
    tx.insert_message(&message(c2, 1, "lunch elsewhere", false))
        .unwrap()
        .unwrap();
    // A duplicate uid is stored once.
    assert_eq!(
        tx.insert_message(&message(c1, 5, "again", false)).unwrap(),
        None
    );
    assert_eq!(tx.message_count(c1).unwrap(), 120);

    // Paging: newest first, then before the last one seen.
    let page = tx.history(c1, None, 50).unwrap();
    assert_eq!(page.len(), 50);
    assert_eq!(page[0].id, ids[119]);
    let next = tx.history(c1, Some(page[49].id), 50).unwrap();
    assert_eq!(next[0].id, ids[69]);
    let last = tx.history(c1, Some(next[49].id), 50).unwrap();
    assert_eq!(last.len(), 20);
    assert_eq!(last[19].id, ids[0]);
    // By position, oldest first.
    let at = tx.history_at(c1, 100, 50).unwrap();
    assert_eq!(at.len(), 20);
    assert_eq!(at[0].id, ids[100]);
    assert!(tx.history_at(c1, 120, 10).unwrap().is_empty());

    // The plain list, without summaries, in creation order.
    let list: Vec<_> = tx
        .conversation_list()
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(list, [c1, c2]);

    // Settings and membership state (used by the client engine).
    assert_eq!(tx.setting("registered").unwrap(), None);
    tx.set_setting("registered", "1").unwrap();
    assert_eq!(tx.setting("registered").unwrap().as_deref(), Some("1"));
    tx.set_leave_requested(c2).unwrap();
    assert!(tx.conversation(c2).unwrap().leave_requested);
    tx.set_left(c2, Some(77)).unwrap();
    let left = tx.conversation(c2).unwrap();
    assert_eq!((left.left_at, left.leave_requested), (Some(77), false));
    tx.set_last_rotation(c2, 99).unwrap();
    assert_eq!(tx.conversation(c2).unwrap().last_rotation, 99);

    // Unread: received messages after last_read.
    assert_eq!(tx.unread_count(c1).unwrap(), 80);
    tx.mark_read(c1, ids[59]).unwrap();
    assert_eq!(tx.unread_count(c1).unwrap(), 40);
    tx.mark_read(c1, MessageId(0)).unwrap(); // never backwards
    assert_eq!(tx.unread_count(c1).unwrap(), 40);

    // Search across conversations, literal syntax.
    let hits = tx.search("lunch", 100).unwrap();
    assert_eq!(hits.len(), 13);
    assert_eq!(tx.search("lunch noon 110", 100).unwrap().len(), 1);
    assert!(tx.search("\"unbalanced OR", 10).unwrap().is_empty());
    assert!(tx.search("", 10).unwrap().is_empty());

    // The list view: most recent activity first, with unread counts.
    let list = tx.conversations().unwrap();
    assert_eq!(list[0].conversation.id, c2);
    assert_eq!(list[1].unread, 40);
    assert_eq!(list[1].last_message.as_ref().unwrap().id, ids[119]);

    // State updates.
    tx.set_message_state(ids[0], MessageState::Sent, Some(42))
        .unwrap();
    let m = tx.message(ids[0]).unwrap().unwrap();
    assert_eq!(
        (m.message.state, m.message.server_seq),
        (MessageState::Sent, Some(42))
    );

    // Deleting a conversation removes its messages, search hits, outbox and group state.
    tx.enqueue(OutboxKind::Application, Some(c1), Some(ids[3]), b"x", 0)
        .unwrap();
    tx.delete_conversation(c1).unwrap();
    assert!(matches!(
        tx.conversation(c1),
        Err(StoreError::NoSuchConversation(_))
    ));
    assert_eq!(tx.message_count(c1).unwrap(), 0);
    assert_eq!(tx.search("lunch", 100).unwrap().len(), 1);
    assert!(tx.outbox(10).unwrap().is_empty());
    assert!(tx.group(&g1).is_err());
    tx.commit().unwrap();
    peer.store.sync().unwrap();

    // secure_delete: the deleted plaintext is not left in the file.
    drop(peer);
    let mut bytes = std::fs::read(dir.path().join("me.sqlite")).unwrap();
    if let Ok(wal) = std::fs::read(dir.path().join("me.sqlite-wal")) {
        bytes.extend(wal);
    }
    let needle = b"lunch at noon 110";
    assert!(
        !bytes.windows(needle.len()).any(|w| w == needle),
        "deleted plaintext is still in the file"
    );
}

#[test]
fn outbox_cursor_and_device_trust() {
    let dir = tempfile::tempdir().unwrap();
    let mut peer = Peer::create(dir.path(), "me");
    let g = peer.create_group("g");
    let tx = peer.store.transaction().unwrap();
    let c = tx.conversation_by_group(&g).unwrap().unwrap().id;

    let first = tx
        .enqueue(OutboxKind::Commit, Some(c), None, b"1", 10)
        .unwrap();
    let second = tx
        .enqueue(OutboxKind::Application, Some(c), None, b"2", 11)
        .unwrap();
    let queued = tx.outbox(10).unwrap();
    assert_eq!(
        queued.iter().map(|e| e.id).collect::<Vec<_>>(),
        vec![first, second]
    );
    tx.outbox_retry(first, 500).unwrap();
    let entry = &tx.outbox(1).unwrap()[0];
    assert_eq!((entry.attempts, entry.next_attempt_at), (1, 500));
    tx.outbox_done(first).unwrap();
    assert_eq!(tx.outbox(10).unwrap()[0].id, second);

    assert_eq!(tx.cursor("ds").unwrap(), 0);
    tx.advance_cursor("ds", 7).unwrap();
    tx.advance_cursor("ds", 3).unwrap();
    assert_eq!(tx.cursor("ds").unwrap(), 7);

    let bob = member_id("bob");
    assert_eq!(
        tx.observe_device(&bob, &[1; 32], 1).unwrap(),
        DeviceTrust::New
    );
    assert_eq!(
        tx.observe_device(&bob, &[1; 32], 2).unwrap(),
        DeviceTrust::Known { verified: false }
    );
    tx.set_verified(&bob, true).unwrap();
    assert_eq!(
        tx.observe_device(&bob, &[1; 32], 3).unwrap(),
        DeviceTrust::Known { verified: true }
    );
    assert_eq!(
        tx.observe_device(&bob, &[2; 32], 4).unwrap(),
        DeviceTrust::KeyChanged {
            previous_key: vec![1; 32]
        }
    );
    let devices = tx.devices(Some(&bob.user)).unwrap();
    assert_eq!(devices.len(), 1);
    assert!(!devices[0].verified, "a changed key is not verified");
    assert_eq!(devices[0].fingerprint(), Fingerprint::of(&bob, &[2; 32]));
    assert!(tx.set_verified(&member_id("nobody"), true).is_err());
    tx.commit().unwrap();
}

/// The search index is fed at commit (migration V4): what a transaction stored is found once
/// it commits (and by a search inside it), nothing of a rolled-back one is, and deleting
/// messages the index has not seen yet leaves it consistent.
#[test]
fn the_search_index_follows_commits_rollbacks_and_deletions() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.sqlite");
    let mut store = Store::open(&path).unwrap();
    let group = conclave_protocol::GroupId::from_bytes(vec![7; 16]);
    let tx = store.transaction().unwrap();
    let c = tx.create_conversation(&group, "c", 0).unwrap();
    tx.insert_message(&message(c, 1, "alpha one", false))
        .unwrap();
    tx.insert_message(&message(c, 2, "alpha two", false))
        .unwrap();
    tx.commit().unwrap();

    let tx = store.transaction().unwrap();
    tx.insert_message(&message(c, 3, "alpha three", false))
        .unwrap();
    drop(tx); // rolled back
    let tx = store.transaction().unwrap();
    assert_eq!(tx.search("alpha", 10).unwrap().len(), 2);
    tx.insert_message(&message(c, 4, "alpha four", false))
        .unwrap();
    assert_eq!(
        tx.search("alpha", 10).unwrap().len(),
        3,
        "seen inside its transaction"
    );
    tx.insert_message(&message(c, 5, "alpha five", false))
        .unwrap();
    tx.commit().unwrap();
    let tx = store.transaction().unwrap();
    assert_eq!(tx.search("alpha", 10).unwrap().len(), 4);
    assert_eq!(tx.search("three", 10).unwrap().len(), 0);
    drop(tx);

    // Indexed and not-yet-indexed messages deleted together.
    let mut tx = store.transaction().unwrap();
    tx.insert_message(&message(c, 6, "alpha six", false))
        .unwrap();
    tx.delete_conversation(c).unwrap();
    tx.commit().unwrap();
    let tx = store.transaction().unwrap();
    assert!(tx.search("alpha", 10).unwrap().is_empty());
    drop(tx);
    drop(store);

    let db = rusqlite::Connection::open(&path).unwrap();
    db.execute(
        "INSERT INTO messages_fts (messages_fts, rank) VALUES ('integrity-check', 1)",
        [],
    )
    .expect("the full-text index matches the messages");
    let pending: i64 = db
        .query_row("SELECT COUNT(*) FROM fts_pending", [], |r| r.get(0))
        .unwrap();
    assert_eq!(pending, 0);
}

/// The store's sweep drops past epochs' keys from the file once their lifetime is over, and
/// not before: a message that crossed a commit decrypts until then, and is stale after.
#[test]
fn the_sweep_drops_past_epoch_keys_once_their_lifetime_is_over() {
    use conclave_protocol::{Error, PAST_EPOCH_LIFETIME};
    use std::time::{Duration, SystemTime};

    let dir = tempfile::tempdir().unwrap();
    let wire = Wire::open(&dir.path().join("wire.sqlite"));
    let mut alice = Peer::create(dir.path(), "alice");
    let mut bob = Peer::create(dir.path(), "bob");
    // Keeping a past epoch is not the default; it is for clients that merge on acceptance.
    alice.config.max_past_epochs = 1;
    bob.config.max_past_epochs = 1;
    let group = alice.create_group("g");
    let key_package = bob.key_package();
    let (welcome, tree) = alice.add(&wire, &group, &[key_package]);
    bob.join(&wire, &welcome, &tree);

    // Two messages from Bob cross a commit of Alice's.
    let mut tx = bob.store.transaction().unwrap();
    let g = tx.group(&group).unwrap();
    let late: Vec<Vec<u8>> = [b"one", b"two"]
        .iter()
        .map(|text| g.group.encrypt(&g.provider, &bob.identity, *text).unwrap())
        .collect();
    tx.commit().unwrap();
    let mut tx = alice.store.transaction().unwrap();
    let g = tx.group(&group).unwrap();
    g.group.self_update(&g.provider, &alice.identity).unwrap();
    g.group.merge_pending_commit(&g.provider).unwrap();
    tx.commit().unwrap();

    let process = |alice: &mut Peer, bytes: &[u8]| {
        let mut tx = alice.store.transaction().unwrap();
        let g = tx.group(&group).unwrap();
        let result = g.group.process(&g.provider, bytes);
        tx.commit().unwrap();
        result
    };
    let now = SystemTime::now();
    assert_eq!(alice.store.expire_past_epochs(now).unwrap(), 0);
    assert!(matches!(
        &process(&mut alice, &late[0]).unwrap()[..],
        [GroupEvent::Message { plaintext, .. }] if plaintext == b"one"
    ));

    let later = now + PAST_EPOCH_LIFETIME + Duration::from_secs(1);
    assert_eq!(alice.store.expire_past_epochs(later).unwrap(), 1);
    assert_eq!(alice.store.expire_past_epochs(later).unwrap(), 0);
    // Gone from the file, not only from memory.
    let mut alice = alice.reopen(dir.path());
    let result = process(&mut alice, &late[1]);
    assert!(
        matches!(result, Err(Error::StaleEpoch { .. })),
        "{result:?}"
    );
}
