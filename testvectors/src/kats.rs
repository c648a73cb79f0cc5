//! Vector files whose checks reach openmls's internals, run through the known-answer-test
//! runners the vendored openmls exposes behind its `kat` feature (`openmls::kats`): the
//! code that runs is the code Conclave ships, not a copy of it.

use std::path::Path;

use conclave_protocol::MemoryProvider;
use openmls::kats::{
    ContentKind, KeyScheduleInput, ProtectionGroup, TreeKemCase, TreeKemLeaf, TreeKemPath,
    TreeMathTestVector, apply_proposal, check_psk_secret, check_tree_math, check_treekem,
    key_schedule_epoch, leaf_keys, protect, sender_data_key_and_nonce, transcript_hashes,
    unprotect,
};
use openmls_traits::types::Ciphersuite;

use crate::{FileReport, read, suite};

/// Runs `check` on every case of a file whose cases each name their ciphersuite; a case in a
/// suite the provider lacks is listed as not run, with the reason.
fn check_cases<C: serde::de::DeserializeOwned>(
    path: &Path,
    report: &mut FileReport,
    suite_of: impl Fn(&C) -> u16,
    check: impl Fn(Ciphersuite, &C) -> Result<(), String>,
) -> Result<(), String> {
    let cases: Vec<C> = read(path)?;
    for (i, case) in cases.iter().enumerate() {
        match suite(suite_of(case)) {
            Ok(suite) => report.record(format!("case {i}"), check(suite.to_openmls(), case)),
            Err(reason) => report.skip(reason),
        }
    }
    Ok(())
}

fn hex(name: &str, text: &str) -> Result<Vec<u8>, String> {
    hex::decode(text).map_err(|e| format!("{name}: {e}"))
}

/// `tree-math.json`: one case per tree size (root, and every node's left and right child,
/// parent and sibling).
pub fn check_tree_math_file(path: &Path, report: &mut FileReport) -> Result<(), String> {
    let cases: Vec<TreeMathTestVector> = read(path)?;
    for (i, case) in cases.into_iter().enumerate() {
        report.record(
            format!("case {i}"),
            check_tree_math(case).map_err(|e| format!("{e:?}")),
        );
    }
    Ok(())
}

/// `psk_secret.json`: per case, external PSKs (id, value, nonce) and the PSK secret they
/// make, derived by openmls's own key schedule code (`openmls::kats::check_psk_secret`).
pub fn check_psk_secret_file(path: &Path, report: &mut FileReport) -> Result<(), String> {
    #[derive(serde::Deserialize)]
    struct Psk {
        psk_id: String,
        psk: String,
        psk_nonce: String,
    }
    #[derive(serde::Deserialize)]
    struct Case {
        cipher_suite: u16,
        psks: Vec<Psk>,
        psk_secret: String,
    }
    check_cases(
        path,
        report,
        |c: &Case| c.cipher_suite,
        |suite, case| {
            let psks = case
                .psks
                .iter()
                .map(|p| {
                    Ok((
                        hex("psk_id", &p.psk_id)?,
                        hex("psk", &p.psk)?,
                        hex("psk_nonce", &p.psk_nonce)?,
                    ))
                })
                .collect::<Result<Vec<_>, String>>()?;
            let expected = hex("psk_secret", &case.psk_secret)?;
            check_psk_secret(&MemoryProvider::default(), suite, &psks, &expected)
        },
    )
}

/// `secret-tree.json`: per case, the sender data key and nonce for a ciphertext sample, and
/// each leaf's application and handshake keys and nonces at the listed generations, from
/// openmls's secret tree (`openmls::kats::{sender_data_key_and_nonce, leaf_keys}`).
pub fn check_secret_tree_file(path: &Path, report: &mut FileReport) -> Result<(), String> {
    #[derive(serde::Deserialize)]
    struct SenderData {
        sender_data_secret: String,
        ciphertext: String,
        key: String,
        nonce: String,
    }
    #[derive(serde::Deserialize)]
    struct Generation {
        generation: u32,
        application_key: String,
        application_nonce: String,
        handshake_key: String,
        handshake_nonce: String,
    }
    #[derive(serde::Deserialize)]
    struct Case {
        cipher_suite: u16,
        encryption_secret: String,
        sender_data: SenderData,
        leaves: Vec<Vec<Generation>>,
    }
    check_cases(
        path,
        report,
        |c: &Case| c.cipher_suite,
        |suite, case| {
            let provider = MemoryProvider::default();
            let data = &case.sender_data;
            let (key, nonce) = sender_data_key_and_nonce(
                &provider,
                suite,
                &hex("sender_data_secret", &data.sender_data_secret)?,
                &hex("ciphertext", &data.ciphertext)?,
            )?;
            if key != hex("key", &data.key)? || nonce != hex("nonce", &data.nonce)? {
                return Err("the sender data key or nonce differs".to_owned());
            }
            let secret = hex("encryption_secret", &case.encryption_secret)?;
            let leaves = u32::try_from(case.leaves.len()).map_err(|e| e.to_string())?;
            for (leaf, generations) in (0..leaves).zip(&case.leaves) {
                for g in generations {
                    let [(app_key, app_nonce), (hs_key, hs_nonce)] =
                        leaf_keys(&provider, suite, &secret, leaves, leaf, g.generation)?;
                    let expected = [
                        (&app_key, hex("application_key", &g.application_key)?),
                        (&app_nonce, hex("application_nonce", &g.application_nonce)?),
                        (&hs_key, hex("handshake_key", &g.handshake_key)?),
                        (&hs_nonce, hex("handshake_nonce", &g.handshake_nonce)?),
                    ];
                    if expected.iter().any(|(ours, theirs)| *ours != theirs) {
                        return Err(format!(
                            "leaf {leaf} generation {}: a key or nonce differs",
                            g.generation
                        ));
                    }
                }
            }
            Ok(())
        },
    )
}

/// `key-schedule.json`: per case, a chain of epochs; each epoch's secrets, group context,
/// external public key and exported secret, derived by openmls's key schedule
/// (`openmls::kats::key_schedule_epoch`) from the vector's choices and the init secret the
/// epoch before left.
pub fn check_key_schedule_file(path: &Path, report: &mut FileReport) -> Result<(), String> {
    #[derive(serde::Deserialize)]
    struct Exporter {
        label: String,
        context: String,
        length: usize,
        secret: String,
    }
    #[derive(serde::Deserialize)]
    struct Epoch {
        tree_hash: String,
        commit_secret: String,
        psk_secret: String,
        confirmed_transcript_hash: String,
        group_context: String,
        joiner_secret: String,
        welcome_secret: String,
        init_secret: String,
        sender_data_secret: String,
        encryption_secret: String,
        exporter_secret: String,
        epoch_authenticator: String,
        external_secret: String,
        confirmation_key: String,
        membership_key: String,
        resumption_psk: String,
        external_pub: String,
        exporter: Exporter,
    }
    #[derive(serde::Deserialize)]
    struct Case {
        cipher_suite: u16,
        group_id: String,
        initial_init_secret: String,
        epochs: Vec<Epoch>,
    }
    check_cases(
        path,
        report,
        |c: &Case| c.cipher_suite,
        |suite, case| {
            let provider = MemoryProvider::default();
            let group_id = hex("group_id", &case.group_id)?;
            let mut init_secret = hex("initial_init_secret", &case.initial_init_secret)?;
            for (number, e) in (0u64..).zip(&case.epochs) {
                let context = hex("exporter.context", &e.exporter.context)?;
                let ours = key_schedule_epoch(
                    &provider,
                    suite,
                    &KeyScheduleInput {
                        group_id: &group_id,
                        epoch: number,
                        init_secret: &init_secret,
                        tree_hash: &hex("tree_hash", &e.tree_hash)?,
                        commit_secret: &hex("commit_secret", &e.commit_secret)?,
                        psk_secret: &hex("psk_secret", &e.psk_secret)?,
                        confirmed_transcript_hash: &hex(
                            "confirmed_transcript_hash",
                            &e.confirmed_transcript_hash,
                        )?,
                        exporter: (&e.exporter.label, &context, e.exporter.length),
                    },
                )?;
                let expected = [
                    ("group_context", &e.group_context, &ours.group_context),
                    ("joiner_secret", &e.joiner_secret, &ours.joiner_secret),
                    ("welcome_secret", &e.welcome_secret, &ours.welcome_secret),
                    ("init_secret", &e.init_secret, &ours.init_secret),
                    (
                        "sender_data_secret",
                        &e.sender_data_secret,
                        &ours.sender_data_secret,
                    ),
                    (
                        "encryption_secret",
                        &e.encryption_secret,
                        &ours.encryption_secret,
                    ),
                    ("exporter_secret", &e.exporter_secret, &ours.exporter_secret),
                    (
                        "epoch_authenticator",
                        &e.epoch_authenticator,
                        &ours.epoch_authenticator,
                    ),
                    ("external_secret", &e.external_secret, &ours.external_secret),
                    (
                        "confirmation_key",
                        &e.confirmation_key,
                        &ours.confirmation_key,
                    ),
                    ("membership_key", &e.membership_key, &ours.membership_key),
                    ("resumption_psk", &e.resumption_psk, &ours.resumption_psk),
                    ("external_pub", &e.external_pub, &ours.external_pub),
                    ("exporter.secret", &e.exporter.secret, &ours.exported),
                ];
                for (name, theirs, ours) in expected {
                    if hex(name, theirs)? != *ours {
                        return Err(format!("epoch {number}: {name} differs"));
                    }
                }
                init_secret = ours.init_secret;
            }
            Ok(())
        },
    )
}

/// `transcript-hashes.json`: per case, the confirmed and interim transcript hashes after a
/// commit, and its confirmation tag, computed by openmls's framing code
/// (`openmls::kats::transcript_hashes`).
pub fn check_transcript_hashes_file(path: &Path, report: &mut FileReport) -> Result<(), String> {
    #[derive(serde::Deserialize)]
    struct Case {
        cipher_suite: u16,
        confirmation_key: String,
        authenticated_content: String,
        interim_transcript_hash_before: String,
        confirmed_transcript_hash_after: String,
        interim_transcript_hash_after: String,
    }
    check_cases(
        path,
        report,
        |c: &Case| c.cipher_suite,
        |suite, case| {
            let ours = transcript_hashes(
                &MemoryProvider::default(),
                suite,
                &hex("confirmation_key", &case.confirmation_key)?,
                &hex("authenticated_content", &case.authenticated_content)?,
                &hex(
                    "interim_transcript_hash_before",
                    &case.interim_transcript_hash_before,
                )?,
            )?;
            if ours.confirmed_after != hex("confirmed", &case.confirmed_transcript_hash_after)? {
                return Err("the confirmed transcript hash differs".into());
            }
            if ours.interim_after != hex("interim", &case.interim_transcript_hash_after)? {
                return Err("the interim transcript hash differs".into());
            }
            Ok(())
        },
    )
}

/// `message-protection.json`: per case, a proposal, a commit and application data. Each
/// given protected form (`PublicMessage`, `PrivateMessage`) must unprotect to the raw value;
/// each raw value protected by openmls, in every framing allowed for it, must unprotect
/// again; and application data must refuse the public framing
/// (`openmls::kats::{protect, unprotect}`).
pub fn check_message_protection_file(path: &Path, report: &mut FileReport) -> Result<(), String> {
    #[derive(serde::Deserialize)]
    struct Case {
        cipher_suite: u16,
        group_id: String,
        epoch: u64,
        tree_hash: String,
        confirmed_transcript_hash: String,
        signature_priv: String,
        signature_pub: String,
        encryption_secret: String,
        sender_data_secret: String,
        membership_key: String,
        proposal: String,
        proposal_pub: String,
        proposal_priv: String,
        commit: String,
        commit_pub: String,
        commit_priv: String,
        application: String,
        application_priv: String,
    }
    check_cases(
        path,
        report,
        |c: &Case| c.cipher_suite,
        |suite, case| {
            let provider = MemoryProvider::default();
            let group_id = hex("group_id", &case.group_id)?;
            let tree_hash = hex("tree_hash", &case.tree_hash)?;
            let transcript = hex("confirmed_transcript_hash", &case.confirmed_transcript_hash)?;
            let signature_priv = hex("signature_priv", &case.signature_priv)?;
            let signature_pub = hex("signature_pub", &case.signature_pub)?;
            let encryption_secret = hex("encryption_secret", &case.encryption_secret)?;
            let sender_data_secret = hex("sender_data_secret", &case.sender_data_secret)?;
            let membership_key = hex("membership_key", &case.membership_key)?;
            let group = ProtectionGroup {
                group_id: &group_id,
                epoch: case.epoch,
                tree_hash: &tree_hash,
                confirmed_transcript_hash: &transcript,
                signature_priv: &signature_priv,
                signature_pub: &signature_pub,
                encryption_secret: &encryption_secret,
                sender_data_secret: &sender_data_secret,
                membership_key: &membership_key,
            };
            let contents = [
                (
                    ContentKind::Proposal,
                    "proposal",
                    &case.proposal,
                    vec![
                        ("proposal_pub", &case.proposal_pub),
                        ("proposal_priv", &case.proposal_priv),
                    ],
                ),
                (
                    ContentKind::Commit,
                    "commit",
                    &case.commit,
                    vec![
                        ("commit_pub", &case.commit_pub),
                        ("commit_priv", &case.commit_priv),
                    ],
                ),
                (
                    ContentKind::Application,
                    "application",
                    &case.application,
                    vec![("application_priv", &case.application_priv)],
                ),
            ];
            for (kind, name, raw, given) in contents {
                let raw = hex(name, raw)?;
                let expected = (kind, raw.clone());
                for (name, message) in given {
                    let got = unprotect(&provider, suite, &group, &hex(name, message)?)
                        .map_err(|e| format!("{name}: {e}"))?;
                    if got != expected {
                        return Err(format!("{name} unprotects to something else"));
                    }
                }
                for public in [true, false] {
                    let framing = if public { "public" } else { "private" };
                    match protect(&provider, suite, &group, kind, &raw, public) {
                        Ok(message) => {
                            if kind == ContentKind::Application && public {
                                return Err("application data was sent as a PublicMessage".into());
                            }
                            let got = unprotect(&provider, suite, &group, &message)
                                .map_err(|e| format!("{name} protected ({framing}): {e}"))?;
                            if got != expected {
                                return Err(format!(
                                    "{name} protected ({framing}) unprotects to something else"
                                ));
                            }
                        }
                        Err(_) if kind == ContentKind::Application && public => {}
                        Err(e) => return Err(format!("protecting {name} ({framing}): {e}")),
                    }
                }
            }
            Ok(())
        },
    )
}

/// `tree-operations.json`: per case, a proposal applied to a tree by openmls's own commit
/// code (`openmls::kats::apply_proposal`): the tree hash before, the tree after and its
/// hash.
pub fn check_tree_operations_file(path: &Path, report: &mut FileReport) -> Result<(), String> {
    #[derive(serde::Deserialize)]
    struct Case {
        cipher_suite: u16,
        tree_before: String,
        tree_hash_before: String,
        proposal: String,
        proposal_sender: u32,
        tree_after: String,
        tree_hash_after: String,
    }
    check_cases(
        path,
        report,
        |c: &Case| c.cipher_suite,
        |suite, case| {
            let ours = apply_proposal(
                &MemoryProvider::default(),
                suite,
                &hex("tree_before", &case.tree_before)?,
                &hex("proposal", &case.proposal)?,
                case.proposal_sender,
            )?;
            let expected = [
                (
                    "tree_hash_before",
                    &case.tree_hash_before,
                    &ours.tree_hash_before,
                ),
                ("tree_after", &case.tree_after, &ours.tree_after),
                (
                    "tree_hash_after",
                    &case.tree_hash_after,
                    &ours.tree_hash_after,
                ),
            ];
            for (name, theirs, ours) in expected {
                if hex(name, theirs)? != *ours {
                    return Err(format!("{name} differs"));
                }
            }
            Ok(())
        },
    )
}

/// `treekem.json`: per case, a tree, some members' private keys and update paths, checked
/// by openmls's TreeKEM code (`openmls::kats::check_treekem`): the members' path secrets
/// against the tree, each path's tree hash, path secrets and commit secret as every other
/// member decrypts them, and a fresh path from the same sender.
pub fn check_treekem_file(path: &Path, report: &mut FileReport) -> Result<(), String> {
    #[derive(serde::Deserialize)]
    struct PathSecret {
        node: u32,
        path_secret: String,
    }
    #[derive(serde::Deserialize)]
    struct Leaf {
        index: u32,
        encryption_priv: String,
        signature_priv: String,
        path_secrets: Vec<PathSecret>,
    }
    #[derive(serde::Deserialize)]
    struct UpdatePath {
        sender: u32,
        update_path: String,
        path_secrets: Vec<Option<String>>,
        commit_secret: String,
        tree_hash_after: String,
    }
    #[derive(serde::Deserialize)]
    struct Case {
        cipher_suite: u16,
        group_id: String,
        epoch: u64,
        confirmed_transcript_hash: String,
        ratchet_tree: String,
        leaves_private: Vec<Leaf>,
        update_paths: Vec<UpdatePath>,
    }
    check_cases(
        path,
        report,
        |c: &Case| c.cipher_suite,
        |suite, case| {
            let leaves = case
                .leaves_private
                .iter()
                .map(|leaf| {
                    Ok(TreeKemLeaf {
                        index: leaf.index,
                        encryption_priv: hex("encryption_priv", &leaf.encryption_priv)?,
                        signature_priv: hex("signature_priv", &leaf.signature_priv)?,
                        path_secrets: leaf
                            .path_secrets
                            .iter()
                            .map(|p| Ok((p.node, hex("path_secret", &p.path_secret)?)))
                            .collect::<Result<_, String>>()?,
                    })
                })
                .collect::<Result<_, String>>()?;
            let paths = case
                .update_paths
                .iter()
                .map(|path| {
                    Ok(TreeKemPath {
                        sender: path.sender,
                        update_path: hex("update_path", &path.update_path)?,
                        path_secrets: path
                            .path_secrets
                            .iter()
                            .map(|s| s.as_deref().map(|s| hex("path_secret", s)).transpose())
                            .collect::<Result<_, String>>()?,
                        commit_secret: hex("commit_secret", &path.commit_secret)?,
                        tree_hash_after: hex("tree_hash_after", &path.tree_hash_after)?,
                    })
                })
                .collect::<Result<_, String>>()?;
            check_treekem(
                &MemoryProvider::default(),
                suite,
                &TreeKemCase {
                    group_id: hex("group_id", &case.group_id)?,
                    epoch: case.epoch,
                    confirmed_transcript_hash: hex(
                        "confirmed_transcript_hash",
                        &case.confirmed_transcript_hash,
                    )?,
                    ratchet_tree: hex("ratchet_tree", &case.ratchet_tree)?,
                    leaves,
                    paths,
                },
            )
        },
    )
}
