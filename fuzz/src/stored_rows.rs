//! Loading a profile whose rows someone else wrote: a real profile file (a device and a
//! group made through `conclave-storage`), one of whose stored MLS values (the group's
//! state, tree, secrets, its leaf, its keys) is replaced by raw bytes or edited, then opened
//! and its group loaded. A bad row is an error, never a panic.

use std::path::PathBuf;
use std::sync::{LazyLock, Mutex};

use arbitrary::{Arbitrary, Unstructured};
use conclave_protocol::{Group, GroupConfig, GroupId, Identity, IdentityRecord};
use conclave_storage::Store;
use rusqlite::params;

use crate::edit::{Edit, apply};
use crate::world::member;

/// A stored value: table, value column, and its bytes as written (which find its row: some
/// of these tables have no rowid).
type Row = (String, String, Vec<u8>);

struct World {
    /// The profile as written, to start each run from.
    profile: Vec<u8>,
    group: GroupId,
    identity: IdentityRecord,
    rows: Vec<Row>,
    /// Where each run's copy goes.
    path: PathBuf,
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
    let rows = {
        let conn = rusqlite::Connection::open(&written).expect("the profile opens");
        let mut rows = Vec::new();
        for (table, column) in TABLES {
            let mut statement = conn
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
        rows
    };
    assert!(!rows.is_empty(), "the profile has stored MLS values");
    Mutex::new(World {
        profile: std::fs::read(&written).expect("the profile's bytes"),
        group,
        identity,
        rows,
        path: dir.path().join("run.sqlite"),
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
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", world.path.display()));
    }
    std::fs::write(&world.path, &world.profile).expect("the copy is written");
    {
        let conn = rusqlite::Connection::open(&world.path).expect("the copy opens");
        conn.execute(
            &format!("UPDATE {table} SET {column} = ?1 WHERE {column} = ?2"),
            params![value, original],
        )
        .expect("the row is replaced");
    }
    let Ok(mut store) = Store::open(&world.path) else {
        return;
    };
    let Ok(mut tx) = store.transaction() else {
        return;
    };
    if let Ok(identity) = Identity::load(&tx.provider(), &world.identity) {
        let _ = identity.signature_public_key();
    }
    if let Ok(group) = tx.group(&world.group) {
        // What loads must be usable as far as reading it goes.
        let _ = (
            group.group.epoch(),
            group.group.members(),
            group.group.name(),
        );
    }
}
