//! Loading MLS state whose rows someone else wrote: a real profile (a device and a group
//! made through `conclave-storage`), one of whose stored MLS values (the group's state,
//! tree, secrets, its leaf, its keys) is replaced by raw bytes or edited, then the identity
//! and the group loaded through the profile's codec, as a transaction does. A bad row is an
//! error, never a panic.
//!
//! Each run changes the row inside a transaction of one connection to the profile file and
//! rolls it back, rather than writing and opening a whole profile: opening one (its schema
//! parsed, its migrations checked, its log checkpointed) took almost all of a run, at about
//! 100 runs a second, and reads no MLS row.

use std::sync::{LazyLock, Mutex};

use arbitrary::{Arbitrary, Unstructured};
use conclave_protocol::{Crypto, Group, GroupConfig, GroupId, Identity, IdentityRecord};
use conclave_storage::{Provider, Store};
use rusqlite::params;

use crate::edit::{Edit, apply};
use crate::world::member;

/// A stored value: table, value column, and its bytes as written (which find its row: some
/// of these tables have no rowid).
type Row = (String, String, Vec<u8>);

struct World {
    /// The profile, written by a store and closed; each run's change is rolled back.
    connection: rusqlite::Connection,
    crypto: Crypto,
    group: GroupId,
    identity: IdentityRecord,
    rows: Vec<Row>,
    _dir: tempfile::TempDir,
}

#[derive(Arbitrary, Debug)]
struct Input {
    row: u16,
    value: Value,
}

#[derive(Arbitrary, Debug)]
enum Value {
    Raw(Vec<u8>),
    Edited(Vec<Edit>),
}

/// The openmls tables and their value columns.
const TABLES: &[(&str, &str)] = &[
    ("openmls_group_data", "group_data"),
    ("openmls_own_leaf_nodes", "leaf_node"),
    ("openmls_epoch_keys_pairs", "key_pairs"),
    ("openmls_encryption_keys", "key_pair"),
    ("openmls_signature_keys", "signature_key"),
    ("openmls_proposals", "proposal"),
];

static WORLD: LazyLock<Mutex<World>> = LazyLock::new(|| {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let written = dir.path().join("written.sqlite");
    let (group, identity) = {
        let mut store = Store::open(&written).expect("a profile");
        let mut tx = store.transaction().expect("a transaction");
        let provider = tx.provider();
        let config = GroupConfig::default();
        let alice =
            Identity::create(&provider, member("alice"), config.ciphersuite).expect("an identity");
        let group = Group::create(&provider, &alice, &config, "stored").expect("a group");
        let id = group.id();
        tx.insert_group(group);
        tx.commit().expect("committed");
        (id, alice.record())
    };
    let connection = rusqlite::Connection::open(&written).expect("the profile opens");
    let mut rows = Vec::new();
    for (table, column) in TABLES {
        let mut statement = connection
            .prepare(&format!("SELECT {column} FROM {table}"))
            .expect("an openmls table");
        let found = statement
            .query_map([], |r| r.get::<_, Vec<u8>>(0))
            .expect("rows")
            .filter_map(Result::ok);
        for value in found {
            rows.push((table.to_string(), column.to_string(), value));
        }
    }
    assert!(!rows.is_empty(), "the profile has stored MLS values");
    Mutex::new(World {
        connection,
        crypto: Crypto::default(),
        group,
        identity,
        rows,
        _dir: dir,
    })
});

/// The target.
pub fn run(data: &[u8]) {
    let Ok(input) = Input::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let world = WORLD
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let (table, column, original) = &world.rows[usize::from(input.row) % world.rows.len()];
    let value = match &input.value {
        Value::Raw(bytes) => bytes.clone(),
        Value::Edited(edits) => apply(original, edits),
    };
    // Rolled back when dropped, at the end of the run.
    let tx = world
        .connection
        .unchecked_transaction()
        .expect("a transaction");
    tx.execute(
        &format!("UPDATE {table} SET {column} = ?1 WHERE {column} = ?2"),
        params![value, original],
    )
    .expect("the row is replaced");
    let provider = Provider::new(&world.crypto, &tx);
    if let Ok(identity) = Identity::load(&provider, &world.identity) {
        let _ = identity.signature_public_key();
    }
    if let Ok(group) = Group::load(&provider, &world.group) {
        // What loads must be usable as far as reading it goes.
        let _ = (group.epoch(), group.members(), group.name());
    }
}
