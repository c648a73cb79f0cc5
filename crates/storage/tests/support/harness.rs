//! A member of a group on a real `Store`, talking to the others through a "wire": a SQLite
//! file that plays the delivery service (one commit accepted per epoch, idempotent
//! re-sends, a queue read by sequence number).
//!
//! Shared by the storage tests and the `crash_worker` example, which runs these same steps in
//! a child process that the crash test SIGKILLs.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use conclave_protocol::{
    DeviceId, Group, GroupConfig, GroupEvent, GroupId, Identity, MemberId, UserName,
};
use conclave_storage::{
    ConversationId, MessageKind, MessageState, NewMessage, OutboxKind, Store, StoreError,
};
use rusqlite::{Connection, params};

pub const WIRE: &str = "wire";

/// The delivery-service stand-in.
pub struct Wire {
    conn: Connection,
}

/// The wire's answer to a commit.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Accepted,
    Rejected,
}

impl Wire {
    pub fn open(path: &Path) -> Wire {
        let conn = Connection::open(path).unwrap();
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .unwrap();
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             CREATE TABLE IF NOT EXISTS wire (
                 seq INTEGER PRIMARY KEY, sender TEXT NOT NULL, kind TEXT NOT NULL,
                 epoch INTEGER NOT NULL, uid BLOB, bytes BLOB NOT NULL);
             CREATE UNIQUE INDEX IF NOT EXISTS one_commit_per_epoch ON wire (epoch)
                 WHERE kind = 'commit';
             CREATE UNIQUE INDEX IF NOT EXISTS once_per_uid ON wire (uid) WHERE uid IS NOT NULL;",
        )
        .unwrap();
        Wire { conn }
    }

    /// Posts an application message; a re-post of the same uid is a no-op.
    pub fn post_message(&self, sender: &str, epoch: u64, uid: &[u8], bytes: &[u8]) {
        self.conn
            .execute(
                "INSERT INTO wire (sender, kind, epoch, uid, bytes) VALUES (?1, 'app', ?2, ?3, ?4)
                 ON CONFLICT DO NOTHING",
                params![sender, epoch as i64, uid, bytes],
            )
            .unwrap();
    }

    /// Posts a commit: accepted if it is the first for its epoch, or the very one accepted.
    pub fn post_commit(&self, sender: &str, epoch: u64, bytes: &[u8]) -> Verdict {
        let inserted = self
            .conn
            .execute(
                "INSERT INTO wire (sender, kind, epoch, bytes) VALUES (?1, 'commit', ?2, ?3)
                 ON CONFLICT DO NOTHING",
                params![sender, epoch as i64, bytes],
            )
            .unwrap();
        if inserted == 1 {
            return Verdict::Accepted;
        }
        let winner: Vec<u8> = self
            .conn
            .query_row(
                "SELECT bytes FROM wire WHERE kind = 'commit' AND epoch = ?1",
                [epoch as i64],
                |r| r.get(0),
            )
            .unwrap();
        if winner == bytes {
            Verdict::Accepted
        } else {
            Verdict::Rejected
        }
    }

    pub fn after(&self, seq: u64, limit: usize) -> Vec<(u64, String, Vec<u8>)> {
        let mut stmt = self
            .conn
            .prepare("SELECT seq, sender, bytes FROM wire WHERE seq > ?1 ORDER BY seq LIMIT ?2")
            .unwrap();
        stmt.query_map(params![seq as i64, limit as i64], |r| {
            Ok((r.get::<_, i64>(0)? as u64, r.get(1)?, r.get(2)?))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
    }

    pub fn last_seq(&self) -> u64 {
        self.conn
            .query_row("SELECT COALESCE(MAX(seq), 0) FROM wire", [], |r| {
                r.get::<_, i64>(0)
            })
            .unwrap() as u64
    }
}

/// One device with its own profile file.
pub struct Peer {
    pub name: String,
    pub path: PathBuf,
    pub store: Store,
    pub identity: Identity,
    pub config: GroupConfig,
}

pub fn member_id(name: &str) -> MemberId {
    MemberId::new(UserName::new(name).unwrap(), DeviceId::new("d1").unwrap())
}

/// What `Peer::step` did that must survive a crash: message uids now durably stored.
pub type Acks = Vec<Vec<u8>>;

impl Peer {
    pub fn create(dir: &Path, name: &str) -> Peer {
        let path = dir.join(format!("{name}.sqlite"));
        let mut store = Store::open(&path).unwrap();
        let config = GroupConfig::default();
        let tx = store.transaction().unwrap();
        let identity =
            Identity::create(&tx.provider(), member_id(name), config.ciphersuite).unwrap();
        tx.set_profile(&identity.record(), WIRE, 0).unwrap();
        tx.commit().unwrap();
        Peer {
            name: name.into(),
            path,
            store,
            identity,
            config,
        }
    }

    pub fn open(dir: &Path, name: &str) -> Result<Peer, StoreError> {
        let path = dir.join(format!("{name}.sqlite"));
        let mut store = Store::open(&path)?;
        let identity = store.identity()?.ok_or(StoreError::NoProfile)?;
        Ok(Peer {
            name: name.into(),
            path,
            store,
            identity,
            config: GroupConfig::default(),
        })
    }

    /// Closes and reopens the store: everything must come back from the file.
    pub fn reopen(self, dir: &Path) -> Peer {
        let name = self.name.clone();
        drop(self);
        Peer::open(dir, &name).unwrap()
    }

    pub fn key_package(&mut self) -> Vec<u8> {
        let tx = self.store.transaction().unwrap();
        let kp = self
            .identity
            .key_packages(&tx.provider(), &self.config, 1)
            .unwrap()
            .remove(0);
        tx.commit().unwrap();
        kp.bytes
    }

    /// Creates the group and its conversation.
    pub fn create_group(&mut self, name: &str) -> GroupId {
        let mut tx = self.store.transaction().unwrap();
        let group = Group::create(&tx.provider(), &self.identity, &self.config, name).unwrap();
        let id = group.id();
        tx.create_conversation(&id, name, 0).unwrap();
        tx.insert_group(group);
        tx.commit().unwrap();
        id
    }

    /// Adds members: the commit goes to the outbox, then out through the wire.
    pub fn add(
        &mut self,
        wire: &Wire,
        group: &GroupId,
        key_packages: &[Vec<u8>],
    ) -> (Vec<u8>, Vec<u8>) {
        let mut tx = self.store.transaction().unwrap();
        let g = tx.group(group).unwrap();
        let bundle = g
            .group
            .add_members(&g.provider, &self.identity, key_packages)
            .unwrap();
        let conversation = tx.conversation_by_group(group).unwrap().unwrap().id;
        tx.enqueue(
            OutboxKind::Commit,
            Some(conversation),
            None,
            &commit_payload(&bundle.commit, bundle.epoch),
            0,
        )
        .unwrap();
        tx.commit().unwrap();
        self.flush_outbox(wire, group);
        self.receive(wire, group);
        let inv = bundle.invitation.unwrap();
        (inv.welcome, inv.ratchet_tree)
    }

    /// Joins from a Welcome; the wire cursor starts at the wire's end (the commit that added
    /// us is already applied by the Welcome).
    pub fn join(&mut self, wire: &Wire, welcome: &[u8], tree: &[u8]) -> GroupId {
        let mut tx = self.store.transaction().unwrap();
        let group = Group::join(&tx.provider(), &self.config, welcome, Some(tree)).unwrap();
        let id = group.id();
        tx.create_conversation(&id, &group.name(), 0).unwrap();
        tx.advance_cursor(WIRE, wire.last_seq()).unwrap();
        tx.insert_group(group);
        tx.commit().unwrap();
        id
    }

    fn conversation(&mut self, group: &GroupId) -> ConversationId {
        let tx = self.store.transaction().unwrap();
        tx.conversation_by_group(group).unwrap().unwrap().id
    }

    /// Writes a message (pending) and queues it, in one transaction; then sends.
    /// Returns the uid, durable once this returns.
    pub fn send(&mut self, wire: &Wire, group: &GroupId, uid: Vec<u8>, text: &str) -> Vec<u8> {
        let conversation = self.conversation(group);
        let mut tx = self.store.transaction().unwrap();
        let g = tx.group(group).unwrap();
        let mut plaintext = uid.clone();
        plaintext.extend_from_slice(text.as_bytes());
        let ciphertext = g
            .group
            .encrypt(&g.provider, &self.identity, &plaintext)
            .unwrap();
        let epoch = g.group.epoch();
        let message = tx
            .insert_message(&NewMessage {
                conversation,
                uid: uid.clone(),
                sender: self.identity.member().clone(),
                sent_at: 0,
                received_at: None,
                body: text.into(),
                state: MessageState::Pending,
                server_seq: None,
                outgoing: true,
                kind: MessageKind::Text,
                reply_to: None,
                expires_at: None,
                attachment: None,
            })
            .unwrap()
            .unwrap();
        let mut payload = epoch.to_be_bytes().to_vec();
        payload.extend_from_slice(&(uid.len() as u32).to_be_bytes());
        payload.extend_from_slice(&uid);
        payload.extend_from_slice(&ciphertext);
        tx.enqueue(
            OutboxKind::Application,
            Some(conversation),
            Some(message),
            &payload,
            0,
        )
        .unwrap();
        tx.commit().unwrap();
        self.flush_outbox(wire, group);
        uid
    }

    /// Catches up (as a client does before committing), then commits a self-update through
    /// the outbox. Skipped while a commit is pending. Returns the uids received meanwhile.
    pub fn update(&mut self, wire: &Wire, group: &GroupId) -> Acks {
        let mut acks = self.receive(wire, group);
        let conversation = self.conversation(group);
        let mut tx = self.store.transaction().unwrap();
        let g = tx.group(group).unwrap();
        if g.group.has_pending_commit() {
            return acks;
        }
        let bundle = g.group.self_update(&g.provider, &self.identity).unwrap();
        tx.enqueue(
            OutboxKind::Commit,
            Some(conversation),
            None,
            &commit_payload(&bundle.commit, bundle.epoch),
            0,
        )
        .unwrap();
        tx.commit().unwrap();
        self.flush_outbox(wire, group);
        acks.extend(self.receive(wire, group));
        acks
    }

    /// Sends everything queued, in order, each result recorded in its own transaction.
    pub fn flush_outbox(&mut self, wire: &Wire, group: &GroupId) {
        loop {
            let tx = self.store.transaction().unwrap();
            let Some(entry) = tx.outbox(1).unwrap().pop() else {
                return;
            };
            drop(tx);
            match entry.kind {
                OutboxKind::Application => {
                    let epoch = u64::from_be_bytes(entry.payload[..8].try_into().unwrap());
                    let len = u32::from_be_bytes(entry.payload[8..12].try_into().unwrap()) as usize;
                    let uid = &entry.payload[12..12 + len];
                    wire.post_message(&self.name, epoch, uid, &entry.payload[12 + len..]);
                    let tx = self.store.transaction().unwrap();
                    tx.set_message_state(entry.message.unwrap(), MessageState::Sent, None)
                        .unwrap();
                    tx.outbox_done(entry.id).unwrap();
                    tx.commit().unwrap();
                }
                OutboxKind::Commit => {
                    let epoch = u64::from_be_bytes(entry.payload[..8].try_into().unwrap());
                    let verdict = wire.post_commit(&self.name, epoch, &entry.payload[8..]);
                    let mut tx = self.store.transaction().unwrap();
                    let g = tx.group(group).unwrap();
                    // Accepted: the commit merges at its echo, after what the wire took
                    // before it (as the client does; no past epoch is kept). Rejected: drop
                    // it, unless it is gone already (replaced by the winner's commit).
                    if verdict == Verdict::Rejected
                        && g.group.has_pending_commit()
                        && g.group.epoch() == epoch
                    {
                        g.group.discard_pending_commit(&g.provider).unwrap();
                    }
                    tx.outbox_done(entry.id).unwrap();
                    tx.commit().unwrap();
                }
                OutboxKind::Proposal => unreachable!("the harness sends no proposals"),
            }
        }
    }

    /// After a restart: send what the outbox holds, then catch up.
    pub fn recover(&mut self, wire: &Wire, group: &GroupId) -> Acks {
        self.flush_outbox(wire, group);
        self.receive(wire, group)
    }

    /// Processes what the wire holds after this peer's cursor: each item, its stored message
    /// and the cursor move in one transaction. Returns the uids stored.
    pub fn receive(&mut self, wire: &Wire, group: &GroupId) -> Acks {
        let conversation = self.conversation(group);
        let mut acks = Vec::new();
        loop {
            let cursor = {
                let tx = self.store.transaction().unwrap();
                tx.cursor(WIRE).unwrap()
            };
            let items = wire.after(cursor, 16);
            if items.is_empty() {
                return acks;
            }
            for (seq, sender, bytes) in items {
                let mut tx = self.store.transaction().unwrap();
                let g = tx.group(group).unwrap();
                // Own items matter only as the echo of a pending commit (which merges it);
                // anything else of ours is already applied.
                if sender == self.name && !g.group.has_pending_commit() {
                    tx.advance_cursor(WIRE, seq).unwrap();
                    tx.commit().unwrap();
                    continue;
                }
                let pending = g.group.has_pending_commit();
                let events = g.group.process(&g.provider, &bytes).unwrap_or_else(|e| {
                    panic!(
                        "{} at seq {seq} from {sender} (pending: {pending}): {e}",
                        self.name
                    )
                });
                let mut stored = Vec::new();
                for event in events {
                    if let GroupEvent::Message {
                        sender, plaintext, ..
                    } = event
                    {
                        let (uid, text) = plaintext.split_at(16);
                        let id = tx
                            .insert_message(&NewMessage {
                                conversation,
                                uid: uid.to_vec(),
                                sender,
                                sent_at: 0,
                                received_at: Some(0),
                                body: String::from_utf8(text.to_vec()).unwrap(),
                                state: MessageState::Received,
                                server_seq: Some(seq),
                                outgoing: false,
                                kind: MessageKind::Text,
                                reply_to: None,
                                expires_at: None,
                                attachment: None,
                            })
                            .unwrap();
                        assert!(
                            id.is_some(),
                            "a message was delivered twice past the cursor"
                        );
                        stored.push(uid.to_vec());
                    }
                }
                tx.advance_cursor(WIRE, seq).unwrap();
                tx.commit().unwrap();
                acks.extend(stored);
            }
        }
    }

    pub fn epoch_state(&mut self, group: &GroupId) -> (u64, Vec<u8>) {
        let mut tx = self.store.transaction().unwrap();
        let g = tx.group(group).unwrap();
        (g.group.epoch(), g.group.epoch_authenticator())
    }

    /// How many times `uid` is stored (at most once by a UNIQUE constraint; this checks the
    /// "at least").
    pub fn count(&mut self, uid: &[u8]) -> usize {
        let tx = self.store.transaction().unwrap();
        let conversation = tx.conversations().unwrap()[0].conversation.id;
        usize::from(tx.message_by_uid(conversation, uid).unwrap().is_some())
    }
}

fn commit_payload(commit: &[u8], epoch: u64) -> Vec<u8> {
    let mut payload = epoch.to_be_bytes().to_vec();
    payload.extend_from_slice(commit);
    payload
}

/// Reads a group id written by `setup`.
pub fn group_id(dir: &Path) -> GroupId {
    GroupId::from_hex(std::fs::read_to_string(dir.join("group")).unwrap().trim()).unwrap()
}

/// Alice creates a group with Bob through the wire; both profiles on disk in `dir`.
pub fn setup(dir: &Path) -> GroupId {
    let wire = Wire::open(&dir.join("wire.sqlite"));
    let mut a = Peer::create(dir, "alice");
    let mut b = Peer::create(dir, "bob");
    let group = a.create_group("crash test");
    let kp = b.key_package();
    let (welcome, tree) = a.add(&wire, &group, &[kp]);
    b.join(&wire, &welcome, &tree);
    // Alice catches up with her own echoed commit.
    a.receive(&wire, &group);
    std::fs::write(dir.join("group"), group.to_hex()).unwrap();
    group
}
