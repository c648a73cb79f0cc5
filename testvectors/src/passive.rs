//! passive-client-welcome, -handling-commit and -random: a client that joins from a Welcome
//! and follows the group's commits, checking the epoch authenticator at every epoch.
//!
//! Driven through conclave-protocol's [`Group`] and conclave-storage's [`Store`] on a real
//! SQLite file, each message in its own transaction, in two modes: one store throughout, and
//! the store closed and reopened between epochs (so every epoch is loaded from disk).

use std::path::Path;

use conclave_protocol::{
    DeviceId, Error, Group, GroupConfig, GroupId, HandshakeFraming, JoinOptions, MemberId, UserName,
};
use conclave_storage::Store;
use openmls::prelude::Credential;
use openmls::schedule::PreSharedKeyId;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{FileReport, internals, read, suite};

/// One passive-client vector (the official JSON format).
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct PassiveClientVector {
    /// Ciphersuite code point.
    pub cipher_suite: u16,
    /// External PSKs the client holds.
    pub external_psks: Vec<ExternalPsk>,
    /// The client's key package (`MLSMessage`).
    #[serde(with = "hex::serde")]
    pub key_package: Vec<u8>,
    /// Its signature private key.
    #[serde(with = "hex::serde")]
    pub signature_priv: Vec<u8>,
    /// Its leaf HPKE private key.
    #[serde(with = "hex::serde")]
    pub encryption_priv: Vec<u8>,
    /// Its init HPKE private key.
    #[serde(with = "hex::serde")]
    pub init_priv: Vec<u8>,
    /// The Welcome (`MLSMessage`).
    #[serde(with = "hex::serde")]
    pub welcome: Vec<u8>,
    /// The ratchet tree, when the Welcome does not carry it.
    pub ratchet_tree: Option<HexBytes>,
    /// Epoch authenticator right after joining.
    #[serde(with = "hex::serde")]
    pub initial_epoch_authenticator: Vec<u8>,
    /// The epochs that follow.
    pub epochs: Vec<Epoch>,
}

/// Hex-encoded bytes.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct HexBytes(#[serde(with = "hex::serde")] pub Vec<u8>);

/// An external PSK.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct ExternalPsk {
    /// Its id.
    #[serde(with = "hex::serde")]
    pub psk_id: Vec<u8>,
    /// Its secret.
    #[serde(with = "hex::serde")]
    pub psk: Vec<u8>,
}

/// One epoch: proposals by reference, then the commit.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct Epoch {
    /// Proposals (`MLSMessage`s) the commit may refer to.
    pub proposals: Vec<HexBytes>,
    /// The commit (`MLSMessage`).
    #[serde(with = "hex::serde")]
    pub commit: Vec<u8>,
    /// Epoch authenticator after it.
    #[serde(with = "hex::serde")]
    pub epoch_authenticator: Vec<u8>,
}

/// Vectors come from other implementations, whose credentials are not Conclave identities:
/// each member gets a stable stand-in id derived from its credential.
pub fn interop_member(credential: &Credential) -> Result<MemberId, Error> {
    let digest = Sha256::digest(credential.serialized_content());
    Ok(MemberId::new(
        UserName::new("interop").expect("valid"),
        DeviceId::new(hex::encode(&digest[..8])).expect("valid"),
    ))
}

/// How the store is used while following the group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// One store for the whole run.
    OneStore,
    /// The store is closed and reopened between epochs.
    ReopenEachEpoch,
}

/// Checks every case of a passive-client file in both modes.
pub fn check(path: &Path, report: &mut FileReport) -> Result<(), String> {
    let vectors: Vec<PassiveClientVector> = read(path)?;
    for (i, vector) in vectors.iter().enumerate() {
        for mode in [Mode::OneStore, Mode::ReopenEachEpoch] {
            match suite(vector.cipher_suite) {
                Ok(_) => report.record(format!("case {i} ({mode:?})"), run(vector, mode)),
                Err(reason) => report.skip(reason),
            }
        }
    }
    Ok(())
}

fn config(vector: &PassiveClientVector) -> Result<GroupConfig, String> {
    Ok(GroupConfig {
        ciphersuite: suite(vector.cipher_suite)?,
        // Other implementations send handshake messages as PublicMessages.
        handshake_framing: HandshakeFraming::Plaintext,
        resumption_psks_kept: 16,
        ..GroupConfig::default()
    })
}

/// Follows one vector through a fresh profile file.
pub fn run(vector: &PassiveClientVector, mode: Mode) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let path = dir.path().join("passive.sqlite");
    let config = config(vector)?;
    let options = JoinOptions {
        credentials: interop_member,
        check_lifetimes: false,
    };
    let mut store = Store::open(&path).map_err(|e| e.to_string())?;

    let group_id: GroupId = {
        let mut tx = store.transaction().map_err(|e| e.to_string())?;
        let provider = tx.provider();
        for psk in &vector.external_psks {
            PreSharedKeyId::external(psk.psk_id.clone(), Vec::new())
                .store(&provider, &psk.psk)
                .map_err(|e| format!("storing PSK: {e:?}"))?;
        }
        internals::import_key_package(
            &provider,
            config.ciphersuite.to_openmls(),
            &vector.key_package,
            &vector.init_priv,
            &vector.encryption_priv,
        )?;
        let tree = vector.ratchet_tree.as_ref().map(|t| t.0.as_slice());
        let group = Group::join_with(&provider, &config, &vector.welcome, tree, options)
            .map_err(|e| format!("join: {e}"))?;
        check_authenticator(&group, &vector.initial_epoch_authenticator, "after join")?;
        let id = group.id();
        tx.insert_group(group);
        tx.commit().map_err(|e| e.to_string())?;
        id
    };

    for (n, epoch) in vector.epochs.iter().enumerate() {
        if mode == Mode::ReopenEachEpoch {
            drop(store);
            store = Store::open(&path).map_err(|e| format!("reopen before epoch {n}: {e}"))?;
        }
        let messages = epoch.proposals.iter().map(|p| &p.0).chain([&epoch.commit]);
        for (k, message) in messages.enumerate() {
            let mut tx = store.transaction().map_err(|e| e.to_string())?;
            let g = tx
                .group(&group_id)
                .map_err(|e| format!("epoch {n}: load: {e}"))?;
            g.group.set_credential_mapper(interop_member);
            g.group
                .process(&g.provider, message)
                .map_err(|e| format!("epoch {n}, message {k}: {e}"))?;
            tx.commit().map_err(|e| e.to_string())?;
        }
        let mut tx = store.transaction().map_err(|e| e.to_string())?;
        let g = tx.group(&group_id).map_err(|e| e.to_string())?;
        check_authenticator(g.group, &epoch.epoch_authenticator, &format!("epoch {n}"))?;
    }
    Ok(())
}

fn check_authenticator(group: &Group, expected: &[u8], at: &str) -> Result<(), String> {
    let got = group.epoch_authenticator();
    if got != expected {
        return Err(format!(
            "{at}: epoch authenticator {} != expected {}",
            hex::encode(got),
            hex::encode(expected)
        ));
    }
    Ok(())
}
