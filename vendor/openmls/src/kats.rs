//! The runners of the IETF's MLS test vectors (<https://github.com/mlswg/mls-implementations>)
//! whose checks reach openmls's internals, for an application built on openmls to run the
//! vectors against the code it ships. Each takes one case of its vector file, as the file's
//! JSON deserializes, and says whether openmls agrees with it.

/// `tree-math.json`: the array tree's index arithmetic (root, left, right, parent and
/// sibling of every node) for one tree size.
pub use crate::binary_tree::array_representation::kat_treemath::{
    run_test_vector as check_tree_math, TmTestVectorError, TreeMathTestVector,
};

/// `psk_secret.json`: the PSK secret of the external PSKs `(psk_id, psk, psk_nonce)`, in
/// order, derived as a group derives it, against `expected`.
pub fn check_psk_secret(
    provider: &impl openmls_traits::OpenMlsProvider,
    ciphersuite: openmls_traits::types::Ciphersuite,
    psks: &[(Vec<u8>, Vec<u8>, Vec<u8>)],
    expected: &[u8],
) -> Result<(), String> {
    use crate::schedule::psk::{
        load_psks, store::ResumptionPskStore, ExternalPsk, PreSharedKeyId, Psk, PskSecret,
    };
    let mut ids = Vec::with_capacity(psks.len());
    for (psk_id, psk, nonce) in psks {
        let id = PreSharedKeyId::new_with_nonce(
            Psk::External(ExternalPsk::new(psk_id.clone())),
            nonce.clone(),
        );
        id.store(provider, psk)
            .map_err(|e| format!("storing the PSK: {e:?}"))?;
        ids.push(id);
    }
    let resumption_psks = ResumptionPskStore::new(1024);
    let loaded = load_psks(provider.storage(), &resumption_psks, &ids)
        .map_err(|e| format!("loading the PSKs: {e:?}"))?;
    let secret = PskSecret::new(provider.crypto(), ciphersuite, loaded)
        .map_err(|e| format!("deriving the PSK secret: {e:?}"))?;
    if secret.secret().as_slice() == expected {
        Ok(())
    } else {
        Err("the PSK secret differs".into())
    }
}

/// `secret-tree.json`, sender data: the AEAD key and nonce that `sender_data_secret` gives
/// for a message whose ciphertext is `ciphertext`.
pub fn sender_data_key_and_nonce(
    provider: &impl openmls_traits::OpenMlsProvider,
    ciphersuite: openmls_traits::types::Ciphersuite,
    sender_data_secret: &[u8],
    ciphertext: &[u8],
) -> Result<(Vec<u8>, Vec<u8>), String> {
    use crate::schedule::SenderDataSecret;
    let secret = SenderDataSecret::from_slice(sender_data_secret);
    let key = secret
        .derive_aead_key(provider.crypto(), ciphersuite, ciphertext)
        .map_err(|e| format!("sender data key: {e:?}"))?;
    let nonce = secret
        .derive_aead_nonce(ciphersuite, provider.crypto(), ciphertext)
        .map_err(|e| format!("sender data nonce: {e:?}"))?;
    Ok((key.as_slice().to_vec(), nonce.as_slice().to_vec()))
}

/// A leaf's keys for one generation: the application and the handshake `(key, nonce)`.
pub type LeafKeys = [(Vec<u8>, Vec<u8>); 2];

/// `secret-tree.json`, leaves: the keys of `leaf` at `generation`, in a secret tree of
/// `leaves` leaves grown from `encryption_secret`, as a sender ratchets to them.
pub fn leaf_keys(
    provider: &impl openmls_traits::OpenMlsProvider,
    ciphersuite: openmls_traits::types::Ciphersuite,
    encryption_secret: &[u8],
    leaves: u32,
    leaf: u32,
    generation: u32,
) -> Result<LeafKeys, String> {
    use crate::binary_tree::{array_representation::TreeSize, LeafNodeIndex};
    use crate::schedule::EncryptionSecret;
    use crate::tree::secret_tree::{SecretTree, SecretType};
    if leaf >= leaves {
        return Err(format!("leaf {leaf} outside a tree of {leaves}"));
    }
    let mut tree = SecretTree::new(
        EncryptionSecret::from_slice(encryption_secret),
        TreeSize::new(leaves),
        LeafNodeIndex::new(leaf),
    );
    let index = LeafNodeIndex::new(leaf);
    loop {
        let (handshake_generation, handshake) = tree
            .secret_for_encryption(
                ciphersuite,
                provider.crypto(),
                index,
                SecretType::HandshakeSecret,
            )
            .map_err(|e| format!("handshake ratchet: {e:?}"))?;
        let (_, application) = tree
            .secret_for_encryption(
                ciphersuite,
                provider.crypto(),
                index,
                SecretType::ApplicationSecret,
            )
            .map_err(|e| format!("application ratchet: {e:?}"))?;
        if handshake_generation == generation {
            return Ok([
                (
                    application.0.as_slice().to_vec(),
                    application.1.as_slice().to_vec(),
                ),
                (
                    handshake.0.as_slice().to_vec(),
                    handshake.1.as_slice().to_vec(),
                ),
            ]);
        }
        if handshake_generation > generation {
            return Err(format!("generation {generation} passed"));
        }
    }
}

/// One epoch of `key-schedule.json`: what the vector chooses.
#[derive(Debug, Clone)]
pub struct KeyScheduleInput<'a> {
    /// The group's ID.
    pub group_id: &'a [u8],
    /// The epoch's number.
    pub epoch: u64,
    /// The init secret the previous epoch left (or the vector's initial one).
    pub init_secret: &'a [u8],
    /// The tree hash in the epoch's group context.
    pub tree_hash: &'a [u8],
    /// The commit secret of the commit that began the epoch.
    pub commit_secret: &'a [u8],
    /// The PSK secret of the commit that began the epoch.
    pub psk_secret: &'a [u8],
    /// The confirmed transcript hash in the epoch's group context.
    pub confirmed_transcript_hash: &'a [u8],
    /// The exporter's label, context and length.
    pub exporter: (&'a str, &'a [u8], usize),
}

/// One epoch of `key-schedule.json`: what openmls's key schedule derives from the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyScheduleEpoch {
    /// The serialized group context.
    pub group_context: Vec<u8>,
    /// `joiner_secret`.
    pub joiner_secret: Vec<u8>,
    /// `welcome_secret`.
    pub welcome_secret: Vec<u8>,
    /// `init_secret` (the next epoch's input).
    pub init_secret: Vec<u8>,
    /// `sender_data_secret`.
    pub sender_data_secret: Vec<u8>,
    /// `encryption_secret`.
    pub encryption_secret: Vec<u8>,
    /// `exporter_secret`.
    pub exporter_secret: Vec<u8>,
    /// `epoch_authenticator`.
    pub epoch_authenticator: Vec<u8>,
    /// `external_secret`.
    pub external_secret: Vec<u8>,
    /// `confirmation_key`.
    pub confirmation_key: Vec<u8>,
    /// `membership_key`.
    pub membership_key: Vec<u8>,
    /// `resumption_psk`.
    pub resumption_psk: Vec<u8>,
    /// The public key of the external HPKE key pair.
    pub external_pub: Vec<u8>,
    /// `MLS-Exporter(label, context, length)`.
    pub exported: Vec<u8>,
}

/// `key-schedule.json`: one epoch's secrets, derived as a member entering that epoch
/// derives them (joiner secret, key schedule with the PSK secret, group context, epoch
/// secrets, external key pair, exporter).
pub fn key_schedule_epoch(
    provider: &impl openmls_traits::OpenMlsProvider,
    ciphersuite: openmls_traits::types::Ciphersuite,
    input: &KeyScheduleInput<'_>,
) -> Result<KeyScheduleEpoch, String> {
    use crate::ciphersuite::Secret;
    use crate::extensions::Extensions;
    use crate::group::{GroupContext, GroupId};
    use crate::messages::PathSecret;
    use crate::schedule::{
        CommitSecret, EpochSecretsResult, InitSecret, JoinerSecret, KeySchedule, PskSecret,
    };
    use tls_codec::Serialize;

    let crypto = provider.crypto();
    let group_context = GroupContext::new(
        ciphersuite,
        GroupId::from_slice(input.group_id),
        input.epoch,
        input.tree_hash.to_vec(),
        input.confirmed_transcript_hash.to_vec(),
        Extensions::empty(),
    )
    .tls_serialize_detached()
    .map_err(|e| format!("group context: {e:?}"))?;
    let commit_secret =
        CommitSecret::from(PathSecret::from(Secret::from_slice(input.commit_secret)));
    let init_secret = InitSecret::from(Secret::from_slice(input.init_secret));
    let joiner_secret = JoinerSecret::new(
        crypto,
        ciphersuite,
        commit_secret,
        &init_secret,
        &group_context,
    )
    .map_err(|e| format!("joiner secret: {e:?}"))?;
    let psk_secret = PskSecret::from(Secret::from_slice(input.psk_secret));
    let mut schedule = KeySchedule::init(ciphersuite, crypto, &joiner_secret, psk_secret)
        .map_err(|e| format!("key schedule: {e:?}"))?;
    let welcome_secret = schedule
        .welcome(crypto, ciphersuite)
        .map_err(|e| format!("welcome secret: {e:?}"))?;
    schedule
        .add_context(crypto, &group_context)
        .map_err(|e| format!("adding the context: {e:?}"))?;
    let EpochSecretsResult { epoch_secrets, .. } = schedule
        .epoch_secrets(crypto, ciphersuite)
        .map_err(|e| format!("epoch secrets: {e:?}"))?;
    let external_pub = epoch_secrets
        .external_secret()
        .derive_external_keypair(crypto, ciphersuite)
        .map_err(|e| format!("external key pair: {e:?}"))?
        .public;
    let (label, context, length) = input.exporter;
    let exported = epoch_secrets
        .exporter_secret()
        .derive_exported_secret(ciphersuite, crypto, label, context, length)
        .map_err(|e| format!("exporter: {e:?}"))?;
    Ok(KeyScheduleEpoch {
        group_context,
        joiner_secret: joiner_secret.as_slice().to_vec(),
        welcome_secret: welcome_secret.as_slice().to_vec(),
        init_secret: epoch_secrets.init_secret().as_slice().to_vec(),
        sender_data_secret: epoch_secrets.sender_data_secret().as_slice().to_vec(),
        encryption_secret: epoch_secrets.encryption_secret().as_slice().to_vec(),
        exporter_secret: epoch_secrets.exporter_secret().as_slice().to_vec(),
        epoch_authenticator: epoch_secrets.epoch_authenticator().as_slice().to_vec(),
        external_secret: epoch_secrets.external_secret().as_slice().to_vec(),
        confirmation_key: epoch_secrets.confirmation_key().as_slice().to_vec(),
        membership_key: epoch_secrets.membership_key().as_slice().to_vec(),
        resumption_psk: epoch_secrets.resumption_psk().as_slice().to_vec(),
        external_pub,
        exported,
    })
}

/// `transcript-hashes.json`: what a commit's authenticated content does to the transcript.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TranscriptHashes {
    /// The confirmed transcript hash after the commit.
    pub confirmed_after: Vec<u8>,
    /// The interim transcript hash after the commit.
    pub interim_after: Vec<u8>,
}

/// `transcript-hashes.json`: the transcript hashes after a commit whose serialized
/// `AuthenticatedContent` is `authenticated_content`, from `interim_before`; and whether its
/// confirmation tag is the one `confirmation_key` gives over the new confirmed hash.
///
/// The vector carries no key to verify the commit's signature with, so the content is hashed
/// as received, unvalidated; nothing but the hashes leaves this function.
pub fn transcript_hashes(
    provider: &impl openmls_traits::OpenMlsProvider,
    ciphersuite: openmls_traits::types::Ciphersuite,
    confirmation_key: &[u8],
    authenticated_content: &[u8],
    interim_before: &[u8],
) -> Result<TranscriptHashes, String> {
    use crate::ciphersuite::Secret;
    use crate::framing::{
        mls_auth_content_in::AuthenticatedContentIn, ConfirmedTranscriptHashInput,
        InterimTranscriptHashInput,
    };
    use crate::schedule::ConfirmationKey;
    use tls_codec::Deserialize;

    let crypto = provider.crypto();
    let content = AuthenticatedContentIn::tls_deserialize_exact(authenticated_content)
        .map_err(|e| format!("authenticated content: {e:?}"))?;
    let confirmed_after = ConfirmedTranscriptHashInput::try_from(&content)?
        .calculate_confirmed_transcript_hash(crypto, ciphersuite, interim_before)
        .map_err(|e| format!("confirmed transcript hash: {e:?}"))?;
    let tag = ConfirmationKey::from_secret(Secret::from_slice(confirmation_key))
        .tag(crypto, ciphersuite, &confirmed_after)
        .map_err(|e| format!("confirmation tag: {e:?}"))?;
    if content.confirmation_tag() != Some(&tag) {
        return Err("the commit's confirmation tag differs".into());
    }
    let interim_after = InterimTranscriptHashInput::from(&tag)
        .calculate_interim_transcript_hash(crypto, ciphersuite, &confirmed_after)
        .map_err(|e| format!("interim transcript hash: {e:?}"))?;
    Ok(TranscriptHashes {
        confirmed_after,
        interim_after,
    })
}

/// The group a `message-protection.json` case sets up: two members, the vector's epoch
/// secrets, and the sender at leaf 1 signing with the vector's key.
#[derive(Debug, Clone)]
pub struct ProtectionGroup<'a> {
    /// The group's ID.
    pub group_id: &'a [u8],
    /// The epoch.
    pub epoch: u64,
    /// The tree hash in the group context.
    pub tree_hash: &'a [u8],
    /// The confirmed transcript hash in the group context.
    pub confirmed_transcript_hash: &'a [u8],
    /// The sender's private signature key.
    pub signature_priv: &'a [u8],
    /// The sender's public signature key.
    pub signature_pub: &'a [u8],
    /// The epoch's encryption secret (the root of its secret tree).
    pub encryption_secret: &'a [u8],
    /// The epoch's sender data secret.
    pub sender_data_secret: &'a [u8],
    /// The epoch's membership key.
    pub membership_key: &'a [u8],
}

/// What a protected message carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentKind {
    /// A serialized `Proposal`.
    Proposal,
    /// A serialized `Commit`.
    Commit,
    /// Application data.
    Application,
}

/// The sender's leaf in every `message-protection.json` case.
const PROTECTION_SENDER: u32 = 1;

impl ProtectionGroup<'_> {
    fn serialized_context(
        &self,
        ciphersuite: openmls_traits::types::Ciphersuite,
    ) -> Result<Vec<u8>, String> {
        use tls_codec::Serialize;
        self.context(ciphersuite)
            .tls_serialize_detached()
            .map_err(|e| format!("group context: {e:?}"))
    }

    fn context(
        &self,
        ciphersuite: openmls_traits::types::Ciphersuite,
    ) -> crate::group::GroupContext {
        crate::group::GroupContext::new(
            ciphersuite,
            crate::group::GroupId::from_slice(self.group_id),
            self.epoch,
            self.tree_hash.to_vec(),
            self.confirmed_transcript_hash.to_vec(),
            crate::extensions::Extensions::empty(),
        )
    }

    fn membership_key(&self) -> crate::schedule::MembershipKey {
        crate::schedule::MembershipKey::from_secret(crate::ciphersuite::Secret::from_slice(
            self.membership_key,
        ))
    }

    /// The epoch's message secrets as the member at `own_leaf` holds them.
    fn message_secrets(
        &self,
        ciphersuite: openmls_traits::types::Ciphersuite,
        own_leaf: u32,
    ) -> Result<crate::schedule::message_secrets::MessageSecrets, String> {
        use crate::binary_tree::{array_representation::TreeSize, LeafNodeIndex};
        use crate::schedule::{ConfirmationKey, EncryptionSecret, SenderDataSecret};
        use crate::tree::secret_tree::SecretTree;
        Ok(crate::schedule::message_secrets::MessageSecrets::new(
            SenderDataSecret::from_slice(self.sender_data_secret),
            self.membership_key(),
            // Not used in protecting or unprotecting a message.
            ConfirmationKey::from_secret(crate::ciphersuite::Secret::from_slice(&[])),
            self.serialized_context(ciphersuite)?,
            SecretTree::new(
                EncryptionSecret::from_slice(self.encryption_secret),
                TreeSize::new(2),
                LeafNodeIndex::new(own_leaf),
            ),
        ))
    }
}

/// Signs with a raw private key through the provider's crypto.
struct RawKeySigner<'a, C> {
    crypto: &'a C,
    scheme: openmls_traits::types::SignatureScheme,
    key: &'a [u8],
}

impl<C: openmls_traits::crypto::OpenMlsCrypto> openmls_traits::signatures::Signer
    for RawKeySigner<'_, C>
{
    fn sign(&self, payload: &[u8]) -> Result<Vec<u8>, openmls_traits::signatures::SignerError> {
        self.crypto
            .sign(self.scheme, payload, self.key)
            .map_err(|_| openmls_traits::signatures::SignerError::SigningError)
    }

    fn signature_scheme(&self) -> openmls_traits::types::SignatureScheme {
        self.scheme
    }
}

/// `message-protection.json`, receiving: `message` (a serialized `MLSMessage`) unprotected
/// by member 0 as openmls receives a message (the membership tag of a `PublicMessage`, or
/// the sender data and the secret tree of a `PrivateMessage`; then the sender's
/// signature). Returns what it carries, serialized, and its kind.
pub fn unprotect(
    provider: &impl openmls_traits::OpenMlsProvider,
    ciphersuite: openmls_traits::types::Ciphersuite,
    group: &ProtectionGroup<'_>,
    message: &[u8],
) -> Result<(ContentKind, Vec<u8>), String> {
    use crate::binary_tree::LeafNodeIndex;
    use crate::ciphersuite::{signable::Verifiable, OpenMlsSignaturePublicKey};
    use crate::framing::{
        mls_content_in::FramedContentBodyIn, MlsMessageBodyIn, MlsMessageIn, Sender,
    };
    use crate::tree::sender_ratchet::SenderRatchetConfiguration;
    use tls_codec::{Deserialize, Serialize};

    let crypto = provider.crypto();
    let sender = LeafNodeIndex::new(PROTECTION_SENDER);
    let verifiable = match MlsMessageIn::tls_deserialize_exact(message)
        .map_err(|e| format!("MLSMessage: {e:?}"))?
        .extract()
    {
        MlsMessageBodyIn::PublicMessage(message) => {
            if *message.sender() != Sender::Member(sender) {
                return Err(format!("sent by {:?}", message.sender()));
            }
            let context = group.serialized_context(ciphersuite)?;
            message
                .verify_membership(crypto, ciphersuite, &group.membership_key(), &context)
                .map_err(|e| format!("membership tag: {e:?}"))?;
            message.into_verifiable_content(context)
        }
        MlsMessageBodyIn::PrivateMessage(message) => {
            let mut secrets = group.message_secrets(ciphersuite, 0)?;
            let sender_data = message
                .sender_data(&secrets, crypto, ciphersuite)
                .map_err(|e| format!("sender data: {e:?}"))?;
            if sender_data.leaf_index != sender {
                return Err(format!("sent by leaf {}", sender_data.leaf_index));
            }
            message
                .to_verifiable_content(
                    ciphersuite,
                    crypto,
                    &mut secrets,
                    sender,
                    &SenderRatchetConfiguration::default(),
                    sender_data,
                    #[cfg(feature = "virtual-clients-draft")]
                    None,
                )
                .map_err(|e| format!("decryption: {e:?}"))?
                .verifiable
        }
        other => return Err(format!("not a PublicMessage or PrivateMessage: {other:?}")),
    };
    let key = OpenMlsSignaturePublicKey::new(
        group.signature_pub.to_vec().into(),
        ciphersuite.signature_algorithm(),
    )
    .map_err(|e| format!("signature key: {e:?}"))?;
    let content = verifiable
        .verify(crypto, &key)
        .map_err(|e| format!("signature: {e:?}"))?;
    let serialized = |value: &dyn Fn() -> Result<Vec<u8>, tls_codec::Error>| {
        value().map_err(|e| format!("re-encoding: {e:?}"))
    };
    Ok(match content.content() {
        FramedContentBodyIn::Application(data) => {
            (ContentKind::Application, data.as_slice().to_vec())
        }
        FramedContentBodyIn::Proposal(proposal) => (
            ContentKind::Proposal,
            serialized(&|| proposal.tls_serialize_detached())?,
        ),
        FramedContentBodyIn::Commit(commit) => (
            ContentKind::Commit,
            serialized(&|| commit.tls_serialize_detached())?,
        ),
    })
}

/// `message-protection.json`, sending: `content` of `kind` protected by the sender (leaf 1)
/// as openmls sends it, framed as a `PrivateMessage` or, if `public`, a `PublicMessage` with
/// a membership tag; returns the serialized `MLSMessage`. A commit gets an all-zero
/// confirmation tag (the vector supplies none and the receiving side does not check it).
/// Application data is only ever sent as a `PrivateMessage`; asked for a public one, this
/// fails, as openmls's only constructor of application content allows nothing else.
pub fn protect(
    provider: &impl openmls_traits::OpenMlsProvider,
    ciphersuite: openmls_traits::types::Ciphersuite,
    group: &ProtectionGroup<'_>,
    kind: ContentKind,
    content: &[u8],
    public: bool,
) -> Result<Vec<u8>, String> {
    use crate::binary_tree::LeafNodeIndex;
    use crate::ciphersuite::Mac;
    use crate::framing::{
        mls_auth_content::AuthenticatedContent, FramingParameters, MlsMessageOut, PrivateMessage,
        PublicMessage, Sender, SenderContext, WireFormat,
    };
    use crate::group::GroupId;
    use crate::messages::{proposals_in::ProposalIn, CommitIn, ConfirmationTag};
    use crate::versions::ProtocolVersion;
    use tls_codec::{Deserialize, Serialize};

    let crypto = provider.crypto();
    let sender = LeafNodeIndex::new(PROTECTION_SENDER);
    let context = group.context(ciphersuite);
    let signer = RawKeySigner {
        crypto,
        scheme: ciphersuite.signature_algorithm(),
        key: group.signature_priv,
    };
    let wire_format = if public {
        WireFormat::PublicMessage
    } else {
        WireFormat::PrivateMessage
    };
    let framing = FramingParameters::new(&[], wire_format);
    let sender_context = || SenderContext::Member((GroupId::from_slice(group.group_id), sender));
    let signed = match kind {
        ContentKind::Proposal => {
            let proposal = ProposalIn::tls_deserialize_exact(content)
                .map_err(|e| format!("proposal: {e:?}"))?
                .validate(
                    crypto,
                    ciphersuite,
                    Some(sender_context()),
                    ProtocolVersion::Mls10,
                )
                .map_err(|e| format!("proposal: {e:?}"))?;
            AuthenticatedContent::member_proposal(framing, sender, proposal, &context, &signer)
        }
        ContentKind::Commit => {
            let commit = CommitIn::tls_deserialize_exact(content)
                .map_err(|e| format!("commit: {e:?}"))?
                .validate(
                    ciphersuite,
                    crypto,
                    sender_context(),
                    ProtocolVersion::Mls10,
                )
                .map_err(|e| format!("commit: {e:?}"))?;
            AuthenticatedContent::commit(framing, Sender::Member(sender), commit, &context, &signer)
                .map(|mut signed| {
                    signed.set_confirmation_tag(ConfirmationTag(Mac {
                        mac_value: vec![0; ciphersuite.mac_length()].into(),
                    }));
                    signed
                })
        }
        ContentKind::Application if public => {
            return Err("application data is never sent as a PublicMessage".into());
        }
        ContentKind::Application => {
            AuthenticatedContent::new_application(sender, &[], content, &context, &signer)
        }
    }
    .map_err(|e| format!("signing: {e:?}"))?;
    let message = if public {
        let mut message = PublicMessage::from(signed);
        message
            .set_membership_tag(
                crypto,
                ciphersuite,
                &group.membership_key(),
                &group.serialized_context(ciphersuite)?,
            )
            .map_err(|e| format!("membership tag: {e:?}"))?;
        MlsMessageOut::from(message)
    } else {
        let mut secrets = group.message_secrets(ciphersuite, PROTECTION_SENDER)?;
        let encrypted = PrivateMessage::try_from_authenticated_content::<()>(
            crypto,
            provider.rand(),
            &signed,
            ciphersuite,
            &mut secrets,
            0,
            #[cfg(feature = "virtual-clients-draft")]
            None,
        )
        .map_err(|e| format!("encryption: {e:?}"))?;
        MlsMessageOut::from_private_message(encrypted.private_message, ProtocolVersion::Mls10)
    };
    message
        .tls_serialize_detached()
        .map_err(|e| format!("MLSMessage: {e:?}"))
}

/// `tree-validation.json`: for every node of `tree` (a serialized ratchet tree of the group
/// `group_id`), its resolution (array indices) and tree hash, after the tree passes the
/// checks a joiner makes (leaf signatures, parent hashes).
pub fn tree_resolutions_and_hashes(
    provider: &impl openmls_traits::OpenMlsProvider,
    ciphersuite: openmls_traits::types::Ciphersuite,
    tree: &[u8],
    group_id: &[u8],
) -> Result<Vec<(Vec<u32>, Vec<u8>)>, String> {
    use crate::binary_tree::array_representation::TreeNodeIndex;
    use crate::group::GroupId;
    use crate::treesync::{RatchetTreeIn, TreeSync};
    use std::collections::HashSet;
    use tls_codec::Deserialize;

    let crypto = provider.crypto();
    let tree = RatchetTreeIn::tls_deserialize_exact(tree)
        .map_err(|e| format!("ratchet tree: {e:?}"))?
        .into_verified(ciphersuite, crypto, &GroupId::from_slice(group_id))
        .map_err(|e| format!("ratchet tree: {e:?}"))?;
    let tree = TreeSync::from_ratchet_tree(crypto, ciphersuite, tree)
        .map_err(|e| format!("tree: {e:?}"))?;
    let diff = tree.empty_diff();
    // Every node of the full tree, blank ones past the last leaf too.
    (0..tree.tree_size().u32())
        .map(|index| {
            let node = TreeNodeIndex::test_new(index);
            let hash = diff
                .compute_tree_hash(crypto, ciphersuite, node, &HashSet::new())
                .map_err(|e| format!("tree hash of node {index}: {e:?}"))?;
            Ok((diff.kat_resolution(node), hash))
        })
        .collect()
}

/// `tree-operations.json`: what one proposal does to a tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeOperation {
    /// The tree hash before the proposal.
    pub tree_hash_before: Vec<u8>,
    /// The serialized ratchet tree after it.
    pub tree_after: Vec<u8>,
    /// The tree hash after it.
    pub tree_hash_after: Vec<u8>,
}

/// `tree-operations.json`: `proposal` (a serialized `Proposal`) from the member at
/// `sender`, applied to `tree_before` (a serialized ratchet tree) as a commit applies its
/// proposals (a diff of the group, its group context updated, merged).
///
/// The vector gives no group ID, without which neither the tree's leaf signatures nor an
/// update's can be checked; so the tree and the proposal are taken unverified (openmls's own
/// runner does the same), and nothing but the resulting bytes leaves this function.
pub fn apply_proposal(
    provider: &impl openmls_traits::OpenMlsProvider,
    ciphersuite: openmls_traits::types::Ciphersuite,
    tree_before: &[u8],
    proposal: &[u8],
    sender: u32,
) -> Result<TreeOperation, String> {
    use crate::binary_tree::LeafNodeIndex;
    use crate::ciphersuite::{Mac, Secret};
    use crate::extensions::Extensions;
    use crate::framing::Sender;
    use crate::group::{
        proposal_store::{ProposalQueue, QueuedProposal},
        GroupContext, GroupId, PublicGroup,
    };
    use crate::messages::{proposals::Proposal, proposals_in::ProposalIn, ConfirmationTag};
    use crate::treesync::{RatchetTree, RatchetTreeIn, TreeSync};
    use tls_codec::{Deserialize, Serialize};

    let crypto = provider.crypto();
    let tree = RatchetTreeIn::tls_deserialize_exact(tree_before)
        .map_err(|e| format!("tree before: {e:?}"))?;
    let tree = TreeSync::from_ratchet_tree(crypto, ciphersuite, RatchetTree::from(tree))
        .map_err(|e| format!("tree before: {e:?}"))?;
    let tree_hash_before = tree.tree_hash().to_vec();
    let context = GroupContext::new(
        ciphersuite,
        GroupId::from_slice(b"tree-operations"),
        0,
        tree_hash_before.clone(),
        vec![],
        Extensions::empty(),
    );
    let tag = Mac::new(crypto, ciphersuite, &Secret::from_slice(&[]), &[])
        .map_err(|e| format!("confirmation tag: {e:?}"))?;
    let mut group = PublicGroup::new(crypto, tree, context, ConfirmationTag(tag))
        .map_err(|e| format!("group: {e:?}"))?;
    let proposal = Proposal::from(
        ProposalIn::tls_deserialize_exact(proposal).map_err(|e| format!("proposal: {e:?}"))?,
    );
    let mut queue = ProposalQueue::default();
    queue.add(
        QueuedProposal::from_proposal_and_sender(
            ciphersuite,
            crypto,
            proposal,
            &Sender::Member(LeafNodeIndex::new(sender)),
        )
        .map_err(|e| format!("queueing the proposal: {e:?}"))?,
    );
    let mut diff = group.empty_diff();
    let applied = diff
        .apply_proposals(&queue, None)
        .map_err(|e| format!("applying the proposal: {e:?}"))?;
    diff.update_group_context(crypto, applied.extensions)
        .map_err(|e| format!("group context: {e:?}"))?;
    let staged = diff
        .into_staged_diff(crypto, ciphersuite)
        .map_err(|e| format!("staging: {e:?}"))?;
    group.merge_diff(staged);
    Ok(TreeOperation {
        tree_hash_before,
        tree_after: group
            .export_ratchet_tree()
            .tls_serialize_detached()
            .map_err(|e| format!("tree after: {e:?}"))?,
        tree_hash_after: group.group_context().tree_hash().to_vec(),
    })
}

/// A member whose private keys a `treekem.json` case gives.
#[derive(Debug, Clone)]
pub struct TreeKemLeaf {
    /// Its leaf index.
    pub index: u32,
    /// The private key of its leaf's encryption key.
    pub encryption_priv: Vec<u8>,
    /// Its private signature key.
    pub signature_priv: Vec<u8>,
    /// The path secrets it holds: `(node index, path secret)`.
    pub path_secrets: Vec<(u32, Vec<u8>)>,
}

/// An update path of a `treekem.json` case, and what it must yield.
#[derive(Debug, Clone)]
pub struct TreeKemPath {
    /// The sender's leaf index.
    pub sender: u32,
    /// The serialized `UpdatePath`.
    pub update_path: Vec<u8>,
    /// Per leaf, the path secret it decrypts (`None` for the sender and blank leaves).
    pub path_secrets: Vec<Option<Vec<u8>>>,
    /// The commit secret.
    pub commit_secret: Vec<u8>,
    /// The tree hash after the path is applied.
    pub tree_hash_after: Vec<u8>,
}

/// A `treekem.json` case.
#[derive(Debug, Clone)]
pub struct TreeKemCase {
    /// The group's ID.
    pub group_id: Vec<u8>,
    /// The epoch.
    pub epoch: u64,
    /// The confirmed transcript hash.
    pub confirmed_transcript_hash: Vec<u8>,
    /// The tree, as a serialized `ratchet_tree` extension.
    pub ratchet_tree: Vec<u8>,
    /// The members whose private keys are given.
    pub leaves: Vec<TreeKemLeaf>,
    /// The update paths.
    pub paths: Vec<TreeKemPath>,
}

/// `treekem.json`: the case checked with openmls's TreeKEM code. The tree is verified as a
/// joiner verifies it; each member's path secrets must give the tree's public keys; each
/// update path, verified as a received commit's (leaf signature, then parent hashes once
/// applied), must give the tree hash after, and every other member must decrypt from it the
/// path secret and commit secret the vector gives; then the sender sends a fresh path over
/// the new tree, and every other member must decrypt the sender's commit secret from it.
pub fn check_treekem(
    provider: &impl openmls_traits::OpenMlsProvider,
    ciphersuite: openmls_traits::types::Ciphersuite,
    case: &TreeKemCase,
) -> Result<(), String> {
    use crate::binary_tree::{array_representation::ParentNodeIndex, LeafNodeIndex};
    use crate::ciphersuite::Secret;
    use crate::extensions::{Extensions, RatchetTreeExtension};
    use crate::group::{diff::compute_path::CommitType, GroupContext, GroupId};
    use crate::messages::PathSecret;
    use crate::treesync::node::encryption_keys::EncryptionKeyPair;
    use crate::treesync::node::leaf_node::{TreePosition, UpdateLeafNodeParams};
    use crate::treesync::treekem::{DecryptPathParams, UpdatePathIn};
    use crate::treesync::TreeSync;
    use std::collections::HashSet;
    use tls_codec::{Deserialize, Serialize};

    let crypto = provider.crypto();
    let group_id = GroupId::from_slice(&case.group_id);
    let tree = RatchetTreeExtension::tls_deserialize_exact(&case.ratchet_tree)
        .map_err(|e| format!("ratchet tree: {e:?}"))?
        .ratchet_tree()
        .clone()
        .into_verified(ciphersuite, crypto, &group_id)
        .map_err(|e| format!("ratchet tree: {e:?}"))?;
    let tree_before = || {
        TreeSync::from_ratchet_tree(crypto, ciphersuite, tree.clone())
            .map_err(|e| format!("tree: {e:?}"))
    };
    let before = tree_before()?;
    let key_pair = |secret: &[u8]| {
        PathSecret::from(Secret::from_slice(secret))
            .derive_key_pair(crypto, ciphersuite)
            .map_err(|e| format!("path secret: {e:?}"))
    };

    // Each member's keys: its leaf's, then those its path secrets give.
    let mut members = Vec::with_capacity(case.leaves.len());
    for leaf in &case.leaves {
        let index = LeafNodeIndex::new(leaf.index);
        let node = before
            .leaf(index)
            .ok_or_else(|| format!("leaf {} is blank", leaf.index))?;
        let mut keys = vec![EncryptionKeyPair::from_raw(
            node.encryption_key().as_slice().to_vec(),
            leaf.encryption_priv.clone(),
        )];
        for (node, secret) in &leaf.path_secrets {
            if node % 2 == 0 {
                return Err(format!("leaf {}: node {node} is not a parent", leaf.index));
            }
            let pair = key_pair(secret)?;
            let parent = before
                .parent(ParentNodeIndex::test_from_tree_index(*node))
                .ok_or_else(|| format!("leaf {}: node {node} is blank", leaf.index))?;
            if pair.public_key() != parent.encryption_key() {
                return Err(format!(
                    "leaf {}: the path secret of node {node} gives another key",
                    leaf.index
                ));
            }
            keys.push(pair);
        }
        members.push((index, leaf, keys));
    }

    for (number, path) in case.paths.iter().enumerate() {
        let at = |what: &str| format!("path {number} (from leaf {}): {what}", path.sender);
        let sender = LeafNodeIndex::new(path.sender);
        let update_path = UpdatePathIn::tls_deserialize_exact(&path.update_path)
            .map_err(|e| at(&format!("decoding: {e:?}")))?
            .into_verified(
                ciphersuite,
                crypto,
                TreePosition::new(group_id.clone(), sender),
            )
            .map_err(|e| at(&format!("verifying: {e:?}")))?;
        let mut diff = before.empty_diff();
        diff.apply_received_update_path(crypto, ciphersuite, sender, &update_path)
            .map_err(|e| at(&format!("applying: {e:?}")))?;
        diff.kat_verify_parent_hashes(crypto, ciphersuite)
            .map_err(|e| at(&format!("parent hashes: {e:?}")))?;
        let staged = diff
            .into_staged_diff(crypto, ciphersuite)
            .map_err(|e| at(&format!("staging: {e:?}")))?;
        let mut after = tree_before()?;
        after.merge_diff(staged);
        if after.tree_hash() != path.tree_hash_after {
            return Err(at("the tree hash after differs"));
        }
        let context = GroupContext::new(
            ciphersuite,
            group_id.clone(),
            case.epoch,
            after.tree_hash().to_vec(),
            case.confirmed_transcript_hash.clone(),
            Extensions::empty(),
        )
        .tls_serialize_detached()
        .map_err(|e| at(&format!("group context: {e:?}")))?;
        let no_exclusions = HashSet::new();

        // Every other member decrypts the vector's path.
        for (index, leaf, keys) in members.iter().filter(|(index, ..)| *index != sender) {
            let (new_keys, commit_secret) = before
                .empty_diff()
                .decrypt_path(
                    crypto,
                    ciphersuite,
                    DecryptPathParams {
                        update_path: update_path.nodes(),
                        sender_leaf_index: sender,
                        exclusion_list: &no_exclusions,
                        group_context: &context,
                    },
                    &keys.iter().collect::<Vec<_>>(),
                    *index,
                )
                .map_err(|e| at(&format!("leaf {} decrypting: {e:?}", leaf.index)))?;
            let expected = path
                .path_secrets
                .get(leaf.index as usize)
                .cloned()
                .flatten()
                .ok_or_else(|| at(&format!("no path secret for leaf {}", leaf.index)))?;
            if new_keys.first().map(EncryptionKeyPair::public_key)
                != Some(key_pair(&expected)?.public_key())
            {
                return Err(at(&format!("leaf {}: the path secret differs", leaf.index)));
            }
            if commit_secret.as_slice() != path.commit_secret {
                return Err(at(&format!(
                    "leaf {}: the commit secret differs",
                    leaf.index
                )));
            }
        }

        // The sender sends a fresh path over the new tree, and every other member decrypts it.
        let (_, sender_leaf, _) = members
            .iter()
            .find(|(index, ..)| *index == sender)
            .ok_or_else(|| at("the sender's private keys are not given"))?;
        let signer = RawKeySigner {
            crypto,
            scheme: ciphersuite.signature_algorithm(),
            key: &sender_leaf.signature_priv,
        };
        let mut fresh = after.empty_diff();
        let params = UpdateLeafNodeParams::derive(
            fresh
                .leaf(sender)
                .ok_or_else(|| at("the sender's leaf is blank"))?,
        );
        let (plain_path, _, sent_commit_secret) = fresh
            .apply_own_update_path(
                provider.rand(),
                crypto,
                &signer,
                ciphersuite,
                &CommitType::Member,
                group_id.clone(),
                sender,
                params,
                None,
            )
            .map_err(|e| at(&format!("a fresh path: {e:?}")))?;
        let encrypted = fresh
            .encrypt_path(
                crypto,
                ciphersuite,
                &plain_path,
                &context,
                &no_exclusions,
                sender,
            )
            .map_err(|e| at(&format!("encrypting a fresh path: {e:?}")))?;
        for (index, leaf, keys) in members.iter().filter(|(index, ..)| *index != sender) {
            let (_, commit_secret) = after
                .empty_diff()
                .decrypt_path(
                    crypto,
                    ciphersuite,
                    DecryptPathParams {
                        update_path: &encrypted,
                        sender_leaf_index: sender,
                        exclusion_list: &no_exclusions,
                        group_context: &context,
                    },
                    &keys.iter().collect::<Vec<_>>(),
                    *index,
                )
                .map_err(|e| {
                    at(&format!(
                        "leaf {} decrypting a fresh path: {e:?}",
                        leaf.index
                    ))
                })?;
            if commit_secret.as_slice() != sent_commit_secret.as_slice() {
                return Err(at(&format!(
                    "leaf {}: the commit secret of a fresh path differs",
                    leaf.index
                )));
            }
        }
    }
    Ok(())
}

/// `welcome.json`: a Welcome the joiner has decrypted (`ProcessedWelcome`), its GroupInfo
/// verified with the signer's public key and its confirmation tag checked against the
/// epoch's confirmation key, which the Welcome's joiner secret gives.
pub fn check_welcome_group_info(
    provider: &impl openmls_traits::OpenMlsProvider,
    ciphersuite: openmls_traits::types::Ciphersuite,
    welcome: &crate::group::ProcessedWelcome,
    signer_pub: &[u8],
) -> Result<(), String> {
    let signer = crate::ciphersuite::OpenMlsSignaturePublicKey::new(
        signer_pub.to_vec().into(),
        ciphersuite.signature_algorithm(),
    )
    .map_err(|e| format!("signer's key: {e:?}"))?;
    welcome.kat_check_group_info(provider.crypto(), &signer)
}

/// A structure of `messages.json` that openmls's public API does not decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodecStructure {
    /// `GroupSecrets` (crate-private; it only travels encrypted in a Welcome).
    GroupSecrets,
    /// `Commit` (crate-private; reached through the framed messages otherwise).
    Commit,
    /// `ReInit`'s fields as encoded: openmls decodes its extensions as a group context's and
    /// refuses the types a group context may not carry (the vectors put a `ratchet_tree`
    /// extension in some), so here they decode as a plain extension list.
    ReInitFields,
}

/// `messages.json`: `bytes` decoded as `structure` with openmls's codec (all of them) and
/// encoded again, byte for byte.
pub fn round_trip(structure: CodecStructure, bytes: &[u8]) -> Result<(), String> {
    use crate::extensions::{AnyObject, Extensions};
    use crate::group::GroupId;
    use crate::messages::{CommitIn, GroupSecrets};
    use crate::versions::ProtocolVersion;
    use tls_codec::{Deserialize, Serialize, TlsDeserialize, TlsSerialize, TlsSize};

    #[derive(TlsDeserialize, TlsSerialize, TlsSize)]
    struct ReInitFields {
        group_id: GroupId,
        version: ProtocolVersion,
        ciphersuite: openmls_traits::types::Ciphersuite,
        extensions: Extensions<AnyObject>,
    }

    let decode = |e: tls_codec::Error| format!("decode: {e:?}");
    let encode = |e: tls_codec::Error| format!("encode: {e:?}");
    let again = match structure {
        CodecStructure::GroupSecrets => {
            let secrets = GroupSecrets::tls_deserialize_exact(bytes).map_err(decode)?;
            GroupSecrets::new_encoded(
                &secrets.joiner_secret,
                secrets.path_secret.as_ref(),
                &secrets.psks,
            )
            .map_err(encode)?
        }
        CodecStructure::Commit => CommitIn::tls_deserialize_exact(bytes)
            .map_err(decode)?
            .tls_serialize_detached()
            .map_err(encode)?,
        CodecStructure::ReInitFields => ReInitFields::tls_deserialize_exact(bytes)
            .map_err(decode)?
            .tls_serialize_detached()
            .map_err(encode)?,
    };
    if again == bytes {
        Ok(())
    } else {
        Err(format!(
            "re-encoding differs ({} bytes, expected {})",
            again.len(),
            bytes.len()
        ))
    }
}
