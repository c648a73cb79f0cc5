//! What the storage benches share: devices whose MLS state is in memory (conclave-protocol's
//! `MemoryProvider`) or in a conclave-storage profile, driven through the same calls.

// Each bench binary uses its own part of this.
#![allow(dead_code)]

use std::hint::black_box;

use conclave_protocol::{
    DeviceId, Group, GroupConfig, GroupId, Identity, MemberId, MemoryProvider, UserName,
};
use conclave_storage::{ProfileKey, ProfileSecret, Provider, Store};

/// The group sizes to measure: `CONCLAVE_BENCH_NS` (comma-separated), else 10, 100 and 1000.
pub fn sizes() -> Vec<usize> {
    std::env::var("CONCLAVE_BENCH_NS")
        .unwrap_or_else(|_| "10,100,1000".into())
        .split(',')
        .map(|n| n.trim().parse().expect("CONCLAVE_BENCH_NS: numbers"))
        .collect()
}

/// Member `i`, one device each.
pub fn id(i: usize) -> MemberId {
    MemberId::new(
        UserName::new(format!("u{i}")).unwrap(),
        DeviceId::new("d").unwrap(),
    )
}

/// A device whose MLS state is in memory, or in a SQLite profile. A handful exist per run,
/// so the variants' size difference does not matter.
#[allow(clippy::large_enum_variant)]
pub enum Device {
    Mem {
        /// The in-memory baseline: the workspace's openmls memory storage (MessagePack,
        /// vendor/openmls_memory_storage) with the same crypto as a profile's, so that the
        /// two modes differ only in storage. (Until 2026-12-08 it was openmls's memory
        /// storage as published, which encodes state as JSON: a slower baseline.)
        provider: MemoryProvider,
        identity: Identity,
        group: Option<Group>,
    },
    Sql {
        store: Store,
        identity: Identity,
        group: Option<GroupId>,
        _dir: tempfile::TempDir,
    },
}

/// Where a device keeps its MLS state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// In memory: conclave-protocol's `MemoryProvider`.
    Memory,
    /// A plain SQLite profile.
    Sqlite,
    /// A profile encrypted at rest (SQLCipher, raw key).
    Sqlcipher,
}

impl Mode {
    /// The bench id part.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Memory => "memory",
            Mode::Sqlite => "sqlite",
            Mode::Sqlcipher => "sqlcipher",
        }
    }

    /// A profile store at `path` in this mode (not for [`Mode::Memory`]).
    pub fn open(self, path: &std::path::Path) -> Store {
        match self {
            Mode::Memory => panic!("no store in memory mode"),
            Mode::Sqlite => Store::open(path).unwrap(),
            Mode::Sqlcipher => {
                Store::open_encrypted(path, &ProfileSecret::Key(ProfileKey::random())).unwrap()
            }
        }
    }
}

impl Device {
    pub fn new(sql: bool, i: usize) -> Device {
        Self::with_mode(if sql { Mode::Sqlite } else { Mode::Memory }, i)
    }

    pub fn with_mode(mode: Mode, i: usize) -> Device {
        let suite = GroupConfig::default().ciphersuite;
        if mode != Mode::Memory {
            let dir = tempfile::tempdir().unwrap();
            let mut store = mode.open(&dir.path().join("p.sqlite"));
            let tx = store.transaction().unwrap();
            let identity = Identity::create(&tx.provider(), id(i), suite).unwrap();
            tx.commit().unwrap();
            Device::Sql {
                store,
                identity,
                group: None,
                _dir: dir,
            }
        } else {
            let provider = MemoryProvider::default();
            let identity = Identity::create(&provider, id(i), suite).unwrap();
            Device::Mem {
                provider,
                identity,
                group: None,
            }
        }
    }

    pub fn key_package(&mut self) -> Vec<u8> {
        let config = GroupConfig::default();
        match self {
            Device::Mem {
                provider, identity, ..
            } => identity.key_packages(provider, &config, 1).unwrap(),
            Device::Sql {
                store, identity, ..
            } => {
                let tx = store.transaction().unwrap();
                let kp = identity.key_packages(&tx.provider(), &config, 1).unwrap();
                tx.commit().unwrap();
                kp
            }
        }
        .remove(0)
        .bytes
    }

    /// Creates a group and adds everyone in `kps`; returns (welcome, tree).
    pub fn create_and_add(&mut self, kps: &[Vec<u8>]) -> (Vec<u8>, Vec<u8>) {
        let config = GroupConfig::default();
        let bundle = match self {
            Device::Mem {
                provider,
                identity,
                group,
            } => {
                let mut g = Group::create(provider, identity, &config, "bench").unwrap();
                let b = g.add_members(provider, identity, kps).unwrap();
                g.merge_pending_commit(provider).unwrap();
                *group = Some(g);
                b
            }
            Device::Sql {
                store,
                identity,
                group,
                ..
            } => {
                let mut tx = store.transaction().unwrap();
                let provider = tx.provider();
                let mut g = Group::create(&provider, identity, &config, "bench").unwrap();
                let b = g.add_members(&provider, identity, kps).unwrap();
                g.merge_pending_commit(&provider).unwrap();
                *group = Some(g.id());
                tx.insert_group(g);
                tx.commit().unwrap();
                b
            }
        };
        let inv = bundle.invitation.unwrap();
        (inv.welcome, inv.ratchet_tree)
    }

    pub fn join(&mut self, welcome: &[u8], tree: &[u8]) {
        let config = GroupConfig::default();
        match self {
            Device::Mem {
                provider, group, ..
            } => {
                *group = Some(Group::join(provider, &config, welcome, Some(tree)).unwrap());
            }
            Device::Sql { store, group, .. } => {
                let mut tx = store.transaction().unwrap();
                let g = Group::join(&tx.provider(), &config, welcome, Some(tree)).unwrap();
                *group = Some(g.id());
                tx.insert_group(g);
                tx.commit().unwrap();
            }
        }
    }

    /// Self-update, merged at once (as at its echo); one transaction.
    pub fn commit(&mut self) -> Vec<u8> {
        match self {
            Device::Mem {
                provider,
                identity,
                group,
            } => {
                let g = group.as_mut().unwrap();
                let b = g.self_update(provider, identity).unwrap();
                g.merge_pending_commit(provider).unwrap();
                b.commit
            }
            Device::Sql {
                store,
                identity,
                group,
                ..
            } => in_transaction(store, group, |g, provider| {
                let b = g.self_update(provider, identity).unwrap();
                g.merge_pending_commit(provider).unwrap();
                b.commit
            }),
        }
    }

    pub fn process(&mut self, bytes: &[u8]) {
        match self {
            Device::Mem {
                provider, group, ..
            } => {
                black_box(group.as_mut().unwrap().process(provider, bytes).unwrap());
            }
            Device::Sql { store, group, .. } => in_transaction(store, group, |g, provider| {
                black_box(g.process(provider, bytes).unwrap());
            }),
        }
    }

    pub fn encrypt(&mut self, plaintext: &[u8]) -> Vec<u8> {
        match self {
            Device::Mem {
                provider,
                identity,
                group,
            } => group
                .as_mut()
                .unwrap()
                .encrypt(provider, identity, plaintext)
                .unwrap(),
            Device::Sql {
                store,
                identity,
                group,
                ..
            } => in_transaction(store, group, |g, provider| {
                g.encrypt(provider, identity, plaintext).unwrap()
            }),
        }
    }
}

/// Runs `operation` on the profile's group in one transaction, committed after it.
fn in_transaction<R>(
    store: &mut Store,
    group: &Option<GroupId>,
    operation: impl FnOnce(&mut Group, &Provider<'_>) -> R,
) -> R {
    let mut tx = store.transaction().unwrap();
    let g = tx.group(group.as_ref().unwrap()).unwrap();
    let result = operation(g.group, &g.provider);
    tx.commit().unwrap();
    result
}
