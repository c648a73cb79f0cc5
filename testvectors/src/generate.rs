//! Conclave's own vectors, in the official passive-client JSON format.
//!
//! For ciphersuites 1 to 3, Conclave groups (made with conclave-protocol, at Conclave's
//! defaults: encrypted handshakes, padding, ratchet tree beside the Welcome) take a passive
//! client in and go through every kind of change Conclave makes. Another implementation that
//! follows them as a passive client, with the given keys, must reach the same epoch
//! authenticators.
//!
//! - `conclave-passive-client-welcome.json`: joins into groups of 2, 5 and 20 members.
//! - `conclave-passive-client-handling-commit.json`: after joining, the epochs are a
//!   self-update, an add, a batch add, a rename (group-context extensions), a remove, a
//!   member's leave proposal and the commit of it, and another self-update.
//!
//! Key packages get a 20-year lifetime so the files stay valid; credentials are Conclave's
//! `user/device` basic credentials.

use std::path::{Path, PathBuf};

use conclave_protocol::MemoryProvider;
use conclave_protocol::{
    CipherSuite, CommitBundle, DeviceId, Group, GroupConfig, GroupEvent, Identity, MemberId,
    UserName,
};
use openmls::prelude::{CredentialWithKey, KeyPackage, Lifetime, MlsMessageOut};
use openmls_traits::{OpenMlsProvider, crypto::OpenMlsCrypto};
use tls_codec::Serialize as _;

use crate::passive::{Epoch, HexBytes, PassiveClientVector};

const LIFETIME_SECS: u64 = 20 * 365 * 24 * 3600;

fn config(suite: CipherSuite) -> GroupConfig {
    GroupConfig {
        key_package_lifetime_secs: LIFETIME_SECS,
        ..GroupConfig::default().with_ciphersuite(suite)
    }
}

fn member(user: &str) -> MemberId {
    MemberId::new(
        UserName::new(user).expect("valid"),
        DeviceId::new("d1").expect("valid"),
    )
}

/// An active member, made with conclave-protocol.
struct Active {
    provider: MemoryProvider,
    identity: Identity,
    group: Option<Group>,
    config: GroupConfig,
}

impl Active {
    fn new(user: &str, suite: CipherSuite) -> Result<Self, String> {
        let provider = MemoryProvider::default();
        let identity =
            Identity::create(&provider, member(user), suite).map_err(|e| e.to_string())?;
        Ok(Self {
            provider,
            identity,
            group: None,
            config: config(suite),
        })
    }

    fn key_package(&self) -> Result<Vec<u8>, String> {
        let kp = self
            .identity
            .key_packages(&self.provider, &self.config, 1)
            .map_err(|e| e.to_string())?;
        Ok(kp.into_iter().next().ok_or("no key package")?.bytes)
    }

    /// Runs `f` on this member's group with its provider and identity.
    fn with_group<T>(
        &mut self,
        f: impl FnOnce(&mut Group, &MemoryProvider, &Identity) -> Result<T, conclave_protocol::Error>,
    ) -> Result<T, String> {
        let group = self.group.as_mut().ok_or("no group")?;
        f(group, &self.provider, &self.identity).map_err(|e| e.to_string())
    }

    fn group(&mut self) -> Result<&mut Group, String> {
        self.group.as_mut().ok_or_else(|| "no group".to_string())
    }

    fn process(&mut self, bytes: &[u8]) -> Result<Vec<GroupEvent>, String> {
        self.with_group(|g, p, _| g.process(p, bytes))
    }

    fn merge(&mut self) -> Result<(), String> {
        self.with_group(|g, p, _| g.merge_pending_commit(p))
            .map(drop)
    }
}

/// Signs with a private key the vector publishes, through Conclave's crypto (every suite's
/// scheme, where openmls_basic_credential has only some).
struct RawKeySigner<'a> {
    provider: &'a MemoryProvider,
    scheme: openmls_traits::types::SignatureScheme,
    private: &'a [u8],
}

impl openmls_traits::signatures::Signer for RawKeySigner<'_> {
    fn sign(&self, payload: &[u8]) -> Result<Vec<u8>, openmls_traits::signatures::SignerError> {
        self.provider
            .crypto()
            .sign(self.scheme, payload, self.private)
            .map_err(|_| openmls_traits::signatures::SignerError::SigningError)
    }

    fn signature_scheme(&self) -> openmls_traits::types::SignatureScheme {
        self.scheme
    }
}

/// The passive client: its key package and private keys, made with openmls directly because
/// the vector must publish them.
struct Passive {
    key_package: Vec<u8>,
    signature_priv: Vec<u8>,
    encryption_priv: Vec<u8>,
    init_priv: Vec<u8>,
}

impl Passive {
    fn new(suite: CipherSuite) -> Result<Self, String> {
        let provider = MemoryProvider::default();
        let cs = suite.to_openmls();
        // Made from raw parts so the private key can be published (openmls exposes it only to
        // its own tests).
        let (private, public) = provider
            .crypto()
            .signature_key_gen(cs.signature_algorithm())
            .map_err(|e| format!("{e:?}"))?;
        let signer = RawKeySigner {
            provider: &provider,
            scheme: cs.signature_algorithm(),
            private: &private,
        };
        let credential = CredentialWithKey {
            credential: member("passive").to_credential(),
            signature_key: public.into(),
        };
        let bundle = KeyPackage::builder()
            .key_package_lifetime(Lifetime::new(LIFETIME_SECS))
            .leaf_node_capabilities(GroupConfig::capabilities())
            .build(cs, &provider, &signer, credential)
            .map_err(|e| e.to_string())?;
        Ok(Self {
            key_package: MlsMessageOut::from(bundle.key_package().clone())
                .tls_serialize_detached()
                .map_err(|e| e.to_string())?,
            signature_priv: private,
            encryption_priv: crate::internals::encryption_private_key(&bundle)?,
            init_priv: bundle.init_private_key().to_vec(),
        })
    }
}

/// A group of `size` active members plus the passive client, all added by the creator in one
/// commit. Returns the members (creator first) and the vector so far.
fn group_with_passive(
    suite: CipherSuite,
    size: usize,
) -> Result<(Vec<Active>, PassiveClientVector), String> {
    let passive = Passive::new(suite)?;
    let mut members: Vec<Active> = (0..size)
        .map(|i| Active::new(&format!("member{i}"), suite))
        .collect::<Result<_, _>>()?;
    let creator = &mut members[0];
    creator.group = Some(
        Group::create(
            &creator.provider,
            &creator.identity,
            &creator.config,
            "vector group",
        )
        .map_err(|e| e.to_string())?,
    );
    let mut key_packages = Vec::new();
    for m in &members[1..] {
        key_packages.push(m.key_package()?);
    }
    key_packages.push(passive.key_package.clone());
    let creator = &mut members[0];
    let (provider, identity) = (&creator.provider, &creator.identity);
    let bundle = creator
        .group
        .as_mut()
        .ok_or("no group")?
        .add_members(provider, identity, &key_packages)
        .map_err(|e| e.to_string())?;
    creator.merge()?;
    let invitation = bundle.invitation.ok_or("add without welcome")?;
    for m in &mut members[1..] {
        m.group = Some(
            Group::join(
                &m.provider,
                &m.config,
                &invitation.welcome,
                Some(&invitation.ratchet_tree),
            )
            .map_err(|e| e.to_string())?,
        );
    }
    let vector = PassiveClientVector {
        cipher_suite: suite.code_point(),
        external_psks: Vec::new(),
        key_package: passive.key_package,
        signature_priv: passive.signature_priv,
        encryption_priv: passive.encryption_priv,
        init_priv: passive.init_priv,
        welcome: invitation.welcome,
        ratchet_tree: Some(HexBytes(invitation.ratchet_tree)),
        initial_epoch_authenticator: members[0].group()?.epoch_authenticator(),
        epochs: Vec::new(),
    };
    Ok((members, vector))
}

/// Applies a commit made by `members[by]` (already pending there) to everyone, and records
/// the epoch.
fn epoch(
    members: &mut [Active],
    by: usize,
    proposals: Vec<Vec<u8>>,
    bundle: CommitBundle,
) -> Result<Epoch, String> {
    members[by].merge()?;
    for (i, m) in members.iter_mut().enumerate() {
        if i != by && m.group.as_ref().is_some_and(Group::is_active) {
            m.process(&bundle.commit)?;
        }
    }
    Ok(Epoch {
        proposals: proposals.into_iter().map(HexBytes).collect(),
        commit: bundle.commit,
        epoch_authenticator: members[by].group()?.epoch_authenticator(),
    })
}

fn welcome_vectors() -> Result<Vec<PassiveClientVector>, String> {
    let mut out = Vec::new();
    for suite in CipherSuite::ALL {
        for size in [1, 4, 19] {
            out.push(group_with_passive(suite, size)?.1);
        }
    }
    Ok(out)
}

fn handling_commit_vectors() -> Result<Vec<PassiveClientVector>, String> {
    let mut out = Vec::new();
    for suite in CipherSuite::ALL {
        let (mut members, mut vector) = group_with_passive(suite, 3)?;
        // Self-update by member 1.
        let b = members[1].with_group(|g, p, i| g.self_update(p, i))?;
        vector.epochs.push(epoch(&mut members, 1, Vec::new(), b)?);
        // Member 2 adds one, then member 0 adds two in one commit.
        for (by, count) in [(2usize, 1usize), (0, 2)] {
            let newcomers: Vec<Active> = (0..count)
                .map(|k| Active::new(&format!("late{by}x{k}"), suite))
                .collect::<Result<_, _>>()?;
            let kps: Vec<Vec<u8>> = newcomers
                .iter()
                .map(Active::key_package)
                .collect::<Result<_, _>>()?;
            let b = members[by].with_group(|g, p, i| g.add_members(p, i, &kps))?;
            let invitation = b.invitation.clone().ok_or("no welcome")?;
            vector.epochs.push(epoch(&mut members, by, Vec::new(), b)?);
            for mut n in newcomers {
                n.group = Some(
                    Group::join(
                        &n.provider,
                        &n.config,
                        &invitation.welcome,
                        Some(&invitation.ratchet_tree),
                    )
                    .map_err(|e| e.to_string())?,
                );
                members.push(n);
            }
        }
        // Rename by member 0.
        let b = members[0].with_group(|g, p, i| g.rename(p, i, "renamed"))?;
        vector.epochs.push(epoch(&mut members, 0, Vec::new(), b)?);
        // Member 0 removes member 1.
        let gone = members[1].identity.member().clone();
        let b =
            members[0].with_group(|g, p, i| g.remove_devices(p, i, std::slice::from_ref(&gone)))?;
        vector.epochs.push(epoch(&mut members, 0, Vec::new(), b)?);
        // Member 2 asks to leave; member 0 commits the proposal (by reference).
        let proposal = members[2].with_group(|g, p, i| g.leave(p, i))?;
        for (k, m) in members.iter_mut().enumerate() {
            if k != 2 && m.group.as_ref().is_some_and(Group::is_active) {
                m.process(&proposal)?;
            }
        }
        let b = members[0].with_group(|g, p, i| g.commit_pending_proposals(p, i))?;
        vector
            .epochs
            .push(epoch(&mut members, 0, vec![proposal], b)?);
        // A last self-update by a late joiner.
        let last = members.len() - 1;
        let b = members[last].with_group(|g, p, i| g.self_update(p, i))?;
        vector
            .epochs
            .push(epoch(&mut members, last, Vec::new(), b)?);
        out.push(vector);
    }
    Ok(out)
}

/// Writes every generated file into `out` and returns their paths.
pub fn write_all(out: &Path) -> Result<Vec<PathBuf>, String> {
    std::fs::create_dir_all(out).map_err(|e| e.to_string())?;
    let files = [
        ("conclave-passive-client-welcome.json", welcome_vectors()?),
        (
            "conclave-passive-client-handling-commit.json",
            handling_commit_vectors()?,
        ),
    ];
    let content = serde_json::to_value(crate::content::vectors()).map_err(|e| e.to_string())?;
    let mut all = Vec::new();
    for (name, vectors) in files {
        all.push((
            name,
            serde_json::to_value(&vectors).map_err(|e| e.to_string())?,
        ));
    }
    all.push(("conclave-mimi-content.json", content));
    let mut written = Vec::new();
    for (name, vectors) in all {
        let path = out.join(name);
        let json = serde_json::to_string_pretty(&vectors).map_err(|e| e.to_string())?;
        std::fs::write(&path, json + "\n").map_err(|e| format!("{}: {e}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}
