use super::*;

/// A profile file as schema `version` of ours left it (openmls_sqlite_storage's tables
/// included), to be opened by the current [`Store`].
fn profile_at_version(path: &Path, version: i32) -> Connection {
    let mut conn = Connection::open(path).unwrap();
    conn.execute_batch("PRAGMA journal_mode = WAL;").unwrap();
    openmls_sqlite_storage::SqliteStorageProvider::<crate::codec::MlsCodec, _>::new(&mut conn)
        .run_migrations()
        .unwrap();
    let mut runner = migrations::runner().set_target(refinery::Target::Version(version));
    runner.set_migration_table_name(HISTORY_TABLE);
    runner.run(&mut conn).unwrap();
    conn.execute_batch(&format!("PRAGMA application_id = {APPLICATION_ID};"))
        .unwrap();
    conn
}

/// A profile at V4, whose MLS state sits in openmls_sqlite_storage's own
/// `openmls_group_data` (with its `IN` check), keeps its groups through V5's rebuild of
/// that table, and they carry on.
#[test]
fn v4_profiles_keep_their_groups_through_v5() {
    use conclave_protocol::{DeviceId, GroupConfig, MemberId, UserName};

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.sqlite");
    let config = GroupConfig::default();
    let crypto = Crypto::default();
    let (identity, id, epoch, authenticator) = {
        let conn = profile_at_version(&path, 4);
        let schema: String = conn
            .query_row(
                "SELECT sql FROM sqlite_master WHERE name = 'openmls_group_data'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(schema.contains("IN ("), "{schema}");
        let provider = Provider::new(&crypto, &conn);
        let member = MemberId::new(UserName::new("a").unwrap(), DeviceId::new("d").unwrap());
        let identity = Identity::create(&provider, member, config.ciphersuite).unwrap();
        let mut group = Group::create(&provider, &identity, &config, "before V5").unwrap();
        group.self_update(&provider, &identity).unwrap();
        group.merge_pending_commit(&provider).unwrap();
        (
            identity,
            group.id(),
            group.epoch(),
            group.epoch_authenticator(),
        )
    };

    let mut store = Store::open(&path).unwrap();
    let schema: String = store
        .connection
        .query_row(
            "SELECT sql FROM sqlite_master WHERE name = 'openmls_group_data'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(!schema.contains("CHECK"), "{schema}");
    let mut tx = store.transaction().unwrap();
    let g = tx.group(&id).unwrap();
    assert_eq!(g.group.name(), "before V5");
    assert_eq!(g.group.epoch(), epoch);
    assert_eq!(g.group.epoch_authenticator(), authenticator);
    g.group.self_update(&g.provider, &identity).unwrap();
    g.group.merge_pending_commit(&g.provider).unwrap();
    tx.commit().unwrap();
    drop(store);
    let mut store = Store::open(&path).unwrap();
    let mut tx = store.transaction().unwrap();
    assert_eq!(tx.group(&id).unwrap().group.epoch(), epoch + 1);
}

/// A group's stored tree keeps its size from epoch to epoch (openmls patch 12: its tree
/// hash is one byte string, not one MessagePack integer of one or two bytes per byte), so
/// that SQLite writes a commit's changed pages over the old row instead of freeing and
/// rewriting the whole tree.
#[test]
fn a_stored_tree_keeps_its_size_across_epochs() {
    use conclave_protocol::{DeviceId, GroupConfig, MemberId, UserName};

    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path().join("p.sqlite")).unwrap();
    let config = GroupConfig::default();
    let tx = store.transaction().unwrap();
    let member = MemberId::new(UserName::new("a").unwrap(), DeviceId::new("d").unwrap());
    let identity = Identity::create(&tx.provider(), member, config.ciphersuite).unwrap();
    let mut group = Group::create(&tx.provider(), &identity, &config, "sizes").unwrap();
    let mut sizes = Vec::new();
    for _ in 0..8 {
        group.self_update(&tx.provider(), &identity).unwrap();
        group.merge_pending_commit(&tx.provider()).unwrap();
        let size: i64 = tx
            .connection()
            .query_row(
                "SELECT length(group_data) FROM openmls_group_data WHERE data_type = 'tree'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        sizes.push(size);
    }
    assert!(sizes.iter().all(|&s| s == sizes[0]), "{sizes:?}");
}

/// Profiles at V5 (openmls_sqlite_storage's tables as rowid tables) keep their key
/// packages, keys and groups through V6's rebuild of those tables as WITHOUT ROWID: a
/// member joins with a key package stored before the upgrade, and both members carry on.
#[test]
fn v5_profiles_keep_key_packages_and_groups_through_v6() {
    use conclave_protocol::{DeviceId, GroupConfig, MemberId, UserName};

    let dir = tempfile::tempdir().unwrap();
    let (path_a, path_b) = (dir.path().join("a.sqlite"), dir.path().join("b.sqlite"));
    let config = GroupConfig::default();
    let crypto = Crypto::default();
    let member =
        |name: &str| MemberId::new(UserName::new(name).unwrap(), DeviceId::new("d").unwrap());
    let (alice, bob, id, key_package) = {
        let conn_a = profile_at_version(&path_a, 5);
        let conn_b = profile_at_version(&path_b, 5);
        let (pa, pb) = (
            Provider::new(&crypto, &conn_a),
            Provider::new(&crypto, &conn_b),
        );
        let alice = Identity::create(&pa, member("alice"), config.ciphersuite).unwrap();
        let bob = Identity::create(&pb, member("bob"), config.ciphersuite).unwrap();
        let key_package = bob.key_packages(&pb, &config, 1).unwrap().remove(0).bytes;
        let mut group = Group::create(&pa, &alice, &config, "before V6").unwrap();
        group.self_update(&pa, &alice).unwrap();
        group.merge_pending_commit(&pa).unwrap();
        (alice, bob, group.id(), key_package)
    };

    let mut a = Store::open(&path_a).unwrap();
    let mut b = Store::open(&path_b).unwrap();
    for store in [&a, &b] {
        for table in [
            "openmls_group_data",
            "openmls_encryption_keys",
            "openmls_epoch_keys_pairs",
            "openmls_key_packages",
            "openmls_psks",
            "openmls_signature_keys",
        ] {
            let schema: String = store
                .connection
                .query_row(
                    "SELECT sql FROM sqlite_master WHERE name = ?1",
                    [table],
                    |r| r.get(0),
                )
                .unwrap();
            assert!(schema.ends_with("WITHOUT ROWID"), "{schema}");
        }
    }
    let mut tx = a.transaction().unwrap();
    let g = tx.group(&id).unwrap();
    assert_eq!(g.group.name(), "before V6");
    let invitation = g
        .group
        .add_members(&g.provider, &alice, &[key_package])
        .unwrap()
        .invitation
        .unwrap();
    g.group.merge_pending_commit(&g.provider).unwrap();
    tx.commit().unwrap();
    let mut tx = b.transaction().unwrap();
    let joined = Group::join(
        &tx.provider(),
        &config,
        &invitation.welcome,
        Some(&invitation.ratchet_tree),
    )
    .unwrap();
    tx.insert_group(joined);
    tx.commit().unwrap();

    let mut tx = a.transaction().unwrap();
    let g = tx.group(&id).unwrap();
    let update = g.group.self_update(&g.provider, &alice).unwrap().commit;
    g.group.merge_pending_commit(&g.provider).unwrap();
    let (epoch, authenticator) = (g.group.epoch(), g.group.epoch_authenticator());
    tx.commit().unwrap();
    let mut tx = b.transaction().unwrap();
    let g = tx.group(&id).unwrap();
    g.group.process(&g.provider, &update).unwrap();
    let sealed = g.group.encrypt(&g.provider, &bob, b"after V6").unwrap();
    assert_eq!(g.group.epoch(), epoch);
    assert_eq!(g.group.epoch_authenticator(), authenticator);
    tx.commit().unwrap();
    let mut tx = a.transaction().unwrap();
    let g = tx.group(&id).unwrap();
    let events = g.group.process(&g.provider, &sealed).unwrap();
    assert!(
        matches!(&events[..], [conclave_protocol::GroupEvent::Message { plaintext, .. }]
            if plaintext == b"after V6"),
        "{events:?}"
    );
}

/// A profile written by schema V3 (the per-row search trigger, `IN` checks) keeps its
/// messages, their search entries and the outbox rows that refer to them through the V4
/// rebuild of `messages`, and carries on.
#[test]
fn v3_profiles_keep_messages_search_and_outbox_through_v4() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.sqlite");
    {
        let conn = profile_at_version(&path, 3);
        conn.execute_batch(
            "PRAGMA foreign_keys = ON;
             INSERT INTO conversations (id, group_id, name, created_at) VALUES (1, x'01', 'c', 0);
             INSERT INTO messages (id, conversation_id, uid, sender_user, sender_device,
                                   sent_at, body, state, outgoing)
             VALUES (10, 1, x'0a', 'me', 'd', 1, 'before the upgrade', 'pending', 1),
                    (11, 1, x'0b', 'them', 'd', 2, 'an answer', 'received', 0);
             INSERT INTO outbox (conversation_id, message_id, kind, payload, created_at)
             VALUES (1, 10, 'application', x'00', 0);",
        )
        .unwrap();
    }
    let mut store = Store::open(&path).unwrap();
    let tx = store.transaction().unwrap();
    assert_eq!(tx.outbox(10).unwrap().len(), 1, "the outbox row survived");
    assert_eq!(tx.search("upgrade", 10).unwrap()[0].id.0, 10);
    let c = crate::ConversationId(1);
    assert_eq!(tx.history(c, None, 10).unwrap().len(), 2);
    let new = crate::NewMessage {
        conversation: c,
        uid: vec![0x0c],
        sender: conclave_protocol::MemberId::new(
            conclave_protocol::UserName::new("them").unwrap(),
            conclave_protocol::DeviceId::new("d").unwrap(),
        ),
        sent_at: 3,
        received_at: Some(3),
        body: "after the upgrade".into(),
        state: crate::MessageState::Received,
        server_seq: None,
        outgoing: false,
        kind: crate::MessageKind::Text,
        reply_to: None,
        expires_at: None,
        attachment: None,
    };
    tx.insert_message(&new).unwrap().unwrap();
    tx.commit().unwrap();
    let tx = store.transaction().unwrap();
    assert_eq!(tx.search("upgrade", 10).unwrap().len(), 2);
    let refused = tx.connection().execute(
        "INSERT INTO messages (conversation_id, uid, sender_user, sender_device, sent_at,
                               body, state, outgoing, kind)
         VALUES (1, x'0e', 'x', 'd', 0, 'b', 'bogus', 0, 'text')",
        [],
    );
    assert!(refused.is_err(), "the state check still holds");
    drop(tx);
    drop(store);
    let conn = Connection::open(&path).unwrap();
    conn.execute(
        "INSERT INTO messages_fts (messages_fts, rank) VALUES ('integrity-check', 1)",
        [],
    )
    .expect("the full-text index matches the messages");
}

/// The digest of a pending own commit is stored with it, so that after a restart only the
/// echo of the commit this device sent merges it; a rolled-back transaction leaves what
/// was stored.
#[test]
fn a_pending_commits_digest_survives_a_reopen() {
    use conclave_protocol::{DeviceId, GroupConfig, MemberId, UserName};

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.sqlite");
    let config = GroupConfig::default();
    let (id, sent) = {
        let mut store = Store::open(&path).unwrap();
        let mut tx = store.transaction().unwrap();
        let member = MemberId::new(UserName::new("a").unwrap(), DeviceId::new("d").unwrap());
        let identity = Identity::create(&tx.provider(), member, config.ciphersuite).unwrap();
        let group = Group::create(&tx.provider(), &identity, &config, "g").unwrap();
        let id = group.id();
        tx.insert_group(group);
        tx.commit().unwrap();
        let mut tx = store.transaction().unwrap();
        let g = tx.group(&id).unwrap();
        let sent = g.group.self_update(&g.provider, &identity).unwrap();
        tx.commit().unwrap();
        // A transaction that makes another commit but rolls back changes nothing stored.
        let mut tx = store.transaction().unwrap();
        let g = tx.group(&id).unwrap();
        g.group.discard_pending_commit(&g.provider).unwrap();
        g.group.self_update(&g.provider, &identity).unwrap();
        drop(tx);
        (id, sent)
    };
    let mut store = Store::open(&path).unwrap();
    let mut tx = store.transaction().unwrap();
    let g = tx.group(&id).unwrap();
    assert!(g.group.has_pending_commit());
    let events = g.group.process(&g.provider, &sent.commit).unwrap();
    assert!(!events.is_empty());
    assert_eq!(g.group.epoch(), 1);
    tx.commit().unwrap();
    let rows: i64 = store
        .connection
        .query_row("SELECT count(*) FROM sent_commits", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 0, "a merged commit's digest is forgotten");
}

/// Deleted keys and messages do not linger in the write-ahead log: closing the store leaves
/// it empty, and a sync past [`WAL_TRUNCATE_INTERVAL`] empties it too.
#[test]
fn the_write_ahead_log_is_emptied_at_close_and_periodically() {
    use conclave_protocol::{DeviceId, GroupConfig, MemberId, UserName};

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.sqlite");
    let wal = dir.path().join("p.sqlite-wal");
    let wal_len = || std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    let mut store = Store::open(&path).unwrap();
    let config = GroupConfig::default();
    let tx = store.transaction().unwrap();
    let member = MemberId::new(UserName::new("a").unwrap(), DeviceId::new("d").unwrap());
    let identity = Identity::create(&tx.provider(), member, config.ciphersuite).unwrap();
    identity.key_packages(&tx.provider(), &config, 20).unwrap();
    tx.commit().unwrap();
    store.sync().unwrap();
    assert!(wal_len() > 0, "a plain sync keeps the log's size");
    store.last_truncate -= WAL_TRUNCATE_INTERVAL;
    store.sync().unwrap();
    assert_eq!(wal_len(), 0, "a periodic sync empties it");
    let tx = store.transaction().unwrap();
    identity.key_packages(&tx.provider(), &config, 20).unwrap();
    tx.commit().unwrap();
    assert!(wal_len() > 0);
    drop(store);
    assert_eq!(wal_len(), 0, "closing empties it");
}

/// V10 rebuilds `messages` for rich content: messages of the earlier format move to the
/// 32-byte ids every device derives from their 16 random bytes (event lines keep theirs),
/// search still finds them, and the outbox still refers to them.
#[test]
fn v9_messages_move_to_mimi_ids_through_v10() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.sqlite");
    let old_uid = [0x5au8; 16];
    {
        let conn = profile_at_version(&path, 9);
        conn.execute_batch(
            "PRAGMA foreign_keys = ON;
             INSERT INTO conversations (id, group_id, name, created_at) VALUES (1, x'01', 'c', 0);
             INSERT INTO outbox (conversation_id, message_id, kind, payload, created_at)
             VALUES (1, NULL, 'commit', x'00', 0);",
        )
        .unwrap();
        conn.execute(
            "INSERT INTO messages (id, conversation_id, uid, sender_user, sender_device,
                                   sent_at, body, state, outgoing, kind)
             VALUES (10, 1, ?1, 'them', 'd', 1, 'written long ago', 'received', 0, 'text'),
                    (11, 1, ?2, 'me', 'd', 2, 'alice joined', 'received', 0, 'event')",
            rusqlite::params![&old_uid[..], b"event/0123456789"],
        )
        .unwrap();
    }
    let mut store = Store::open(&path).unwrap();
    let tx = store.transaction().unwrap();
    let c = crate::ConversationId(1);
    let mut legacy = vec![0u8];
    legacy.extend_from_slice(&old_uid);
    legacy.extend_from_slice(&[0; 15]);
    let text = tx
        .message_by_uid(c, &legacy)
        .unwrap()
        .expect("found by its new id");
    assert_eq!(text.id.0, 10);
    assert_eq!(text.message.body, "written long ago");
    assert_eq!(text.message.reply_to, None);
    let event = tx.message(crate::MessageId(11)).unwrap().unwrap();
    assert_eq!(
        event.message.uid, b"event/0123456789",
        "event lines keep their ids"
    );
    assert_eq!(tx.search("long", 10).unwrap()[0].id.0, 10);
    assert!(
        tx.edit_message(crate::MessageId(10), "rewritten", 5)
            .unwrap()
    );
    assert!(tx.search("long", 10).unwrap().is_empty());
    assert_eq!(
        tx.message_versions(crate::MessageId(10)).unwrap()[0].body,
        "written long ago"
    );
    assert_eq!(tx.conversation(c).unwrap().disappear_after, 0);
}

/// V11 starts delivery receipts from the present: what arrived before it is not reported
/// (its authors moved on long ago), what arrives after it is, the newest per author.
#[test]
fn v11_reports_only_what_arrives_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.sqlite");
    {
        let conn = profile_at_version(&path, 10);
        conn.execute_batch(
            "INSERT INTO conversations (id, group_id, name, created_at) VALUES (1, x'01', 'c', 0);
             INSERT INTO messages (id, conversation_id, uid, sender_user, sender_device,
                                   sent_at, body, state, outgoing, kind)
             VALUES (10, 1, x'0a', 'them', 'd', 1, 'old', 'received', 0, 'text');",
        )
        .unwrap();
    }
    let mut store = Store::open(&path).unwrap();
    let tx = store.transaction().unwrap();
    assert!(tx.undelivered("me").unwrap().is_empty());
    tx.connection()
        .execute_batch(
            "INSERT INTO messages (id, conversation_id, uid, sender_user, sender_device,
                                   sent_at, body, state, outgoing, kind)
             VALUES (11, 1, x'0b', 'them', 'd', 2, 'new', 'received', 0, 'text'),
                    (12, 1, x'0c', 'them', 'd', 3, 'newer', 'received', 0, 'text'),
                    (13, 1, x'0d', 'other', 'd', 4, 'hi', 'received', 0, 'text'),
                    (14, 1, x'0e', 'me', 'e', 5, 'mine', 'received', 0, 'text'),
                    (15, 1, x'0f', 'them', 'd', 6, 'them joined', 'received', 0, 'event');",
        )
        .unwrap();
    let due: Vec<(String, i64, Vec<u8>)> = tx
        .undelivered("me")
        .unwrap()
        .into_iter()
        .map(|u| (u.author, u.newest.0, u.uid))
        .collect();
    assert_eq!(
        due,
        vec![
            ("other".into(), 13, vec![0x0d]),
            ("them".into(), 12, vec![0x0c])
        ]
    );
    tx.set_delivery_sent(crate::ConversationId(1), crate::MessageId(13))
        .unwrap();
    assert!(tx.undelivered("me").unwrap().is_empty());
}
