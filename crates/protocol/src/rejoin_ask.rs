//! Asking the group for its rejoin key: how a member's device whose state is older than the
//! last change of the rejoin key (a profile restored from a backup made before a removal)
//! gets back in without an invitation.
//!
//! The device still holds its signature key, and its leaf (with that key) is still in the
//! group: it has not been removed, only left behind. It makes a key pair for the occasion
//! and signs an *ask* naming the group, its own member id, the ciphersuite and that key's
//! public half. A member that receives the ask (through the delivery service, which cannot
//! forge it) checks the signature against the leaf of the member the ask names, in the
//! member's current epoch, seals the current rejoin key to the ask's public key, and signs
//! the answer (the group, the ask's key, itself, the sealed key) with its own signature key.
//! The asker takes an answer only from a device it already knows with that key (a member of
//! its old state of the group, or a device of its trust store when that state is gone),
//! opens it, and rejoins as usual (see [`crate::join_keys`]).
//!
//! Who learns what: only the holder of a current member's signature key can make an ask a
//! member answers, and only the holder of the ask's private key can open the answer, so the
//! rejoin key goes only to a device that is a member already (a removed device's leaf is
//! gone, and its asks go unanswered). The server relays asks and answers and reads neither;
//! replaying an old ask gets an answer only its maker can open, and a key it seals itself
//! is refused for want of a member's signature. What remains: a member that was removed
//! after the asker's state was saved is still a member in that state; with the server's
//! help it could answer with a group of its own making. The asker's client therefore says
//! whose key it rejoined with.

use openmls::prelude::{BasicCredential, OpenMlsProvider};
use openmls_traits::crypto::OpenMlsCrypto as _;
use openmls_traits::random::OpenMlsRand as _;
use openmls_traits::types::HpkeCiphertext;
use tls_codec::{DeserializeBytes as _, TlsDeserializeBytes, TlsSerialize, TlsSize, VLBytes};
use zeroize::Zeroizing;

use crate::group::encode;
use crate::join_keys::Secret;
use crate::{Cause, CipherSuite, Error, Group, GroupId, Identity, MemberId};

/// Signed with an ask, so that no other signature of the device's key can pass for one.
const ASK_LABEL: &[u8] = b"conclave rejoin ask v1";
/// Signed with an answer, likewise.
const ANSWER_LABEL: &[u8] = b"conclave rejoin answer v1";
/// HPKE's `info` for the sealed rejoin key (the group id follows it).
const ANSWER_INFO: &[u8] = b"conclave rejoin key v1";

/// What the asker signs.
#[derive(TlsSerialize, TlsDeserializeBytes, TlsSize)]
struct AskContent {
    group_id: VLBytes,
    /// The asker's member id, as its credential names it.
    member: VLBytes,
    ciphersuite: u16,
    /// The HPKE public key the answer is sealed to.
    key: VLBytes,
}

/// An ask on the wire.
#[derive(TlsSerialize, TlsDeserializeBytes, TlsSize)]
struct AskMessage {
    content: AskContent,
    signature: VLBytes,
}

/// What the answering member signs.
#[derive(TlsSerialize, TlsDeserializeBytes, TlsSize)]
struct AnswerContent {
    group_id: VLBytes,
    /// The key of the ask it answers.
    ask_key: VLBytes,
    /// The answering member's id, as its credential names it.
    answerer: VLBytes,
    /// The rejoin key, sealed to the ask's key.
    sealed: HpkeCiphertext,
}

/// An answer on the wire.
#[derive(TlsSerialize, TlsDeserializeBytes, TlsSize)]
struct AnswerMessage {
    content: AnswerContent,
    signature: VLBytes,
}

/// The asker's half of an ask: the seed of its key pair, which the device keeps until an
/// answer arrives (it must outlive a restart, so it is kept as bytes).
pub struct RejoinAsk {
    seed: Zeroizing<Secret>,
}

impl std::fmt::Debug for RejoinAsk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RejoinAsk(<secret>)")
    }
}

impl RejoinAsk {
    /// A new ask, with a fresh key pair.
    pub fn new(provider: &impl OpenMlsProvider) -> Result<Self, Error> {
        let bytes = provider
            .rand()
            .random_vec(32)
            .map_err(|e| Error::Crypto(Cause::msg(format!("{e:?}"))))?;
        let mut seed = Zeroizing::new([0u8; 32]);
        seed.copy_from_slice(&bytes);
        Ok(Self { seed })
    }

    /// The ask whose seed is `seed` (see [`RejoinAsk::seed`]).
    pub fn from_seed(seed: Secret) -> Self {
        Self {
            seed: Zeroizing::new(seed),
        }
    }

    /// What to keep of this ask until its answer arrives.
    pub fn seed(&self) -> &Secret {
        &self.seed
    }

    /// The signed ask for `group`, in the group's `suite`, to send to its members.
    pub fn message(
        &self,
        provider: &impl OpenMlsProvider,
        identity: &Identity,
        group: &GroupId,
        suite: CipherSuite,
    ) -> Result<Vec<u8>, Error> {
        identity.check_supports(suite)?;
        let key = self.key_pair(provider, suite)?.public;
        let content = AskContent {
            group_id: group.as_bytes().to_vec().into(),
            member: identity.member().credential_identity().into(),
            ciphersuite: u16::from(suite.to_openmls()),
            key: key.into(),
        };
        let signature = openmls_traits::signatures::Signer::sign(
            identity.signer(),
            &labelled(ASK_LABEL, &content)?,
        )
        .map_err(|e| Error::Crypto(Cause::msg(format!("{e:?}"))))?;
        encode(&AskMessage {
            content,
            signature: signature.into(),
        })
    }

    /// Opens a member's answer to this ask: who answered, and the group's current rejoin
    /// key. `known` gives the signature key this device knows the answerer by, if any; an
    /// answer from a device it does not know, or not signed by that key, is refused
    /// ([`Error::InvalidRejoinAsk`]).
    pub fn open(
        &self,
        provider: &impl OpenMlsProvider,
        group: &GroupId,
        suite: CipherSuite,
        answer: &[u8],
        known: impl Fn(&MemberId) -> Option<Vec<u8>>,
    ) -> Result<(MemberId, Secret), Error> {
        let refuse = |why: &str| Error::InvalidRejoinAsk(Cause::msg(why.to_string()));
        let pair = self.key_pair(provider, suite)?;
        let message = AnswerMessage::tls_deserialize_exact_bytes(answer)
            .map_err(|e| Error::InvalidRejoinAsk(Cause::of(e)))?;
        let content = &message.content;
        if content.group_id.as_slice() != group.as_bytes() {
            return Err(refuse("the answer is for another group"));
        }
        if content.ask_key.as_slice() != pair.public.as_slice() {
            return Err(refuse("the answer is to another ask"));
        }
        let answerer = MemberId::from_credential(
            &BasicCredential::new(content.answerer.as_slice().to_vec()).into(),
        )
        .map_err(|_| refuse("the answer names no member"))?;
        let key = known(&answerer).ok_or_else(|| refuse("the answer is from an unknown device"))?;
        provider
            .crypto()
            .verify_signature(
                suite.to_openmls().signature_algorithm(),
                &labelled(ANSWER_LABEL, content)?,
                &key,
                message.signature.as_slice(),
            )
            .map_err(|_| refuse("the answer's signature is not its member's"))?;
        let opened = Zeroizing::new(
            provider
                .crypto()
                .hpke_open(
                    suite.to_openmls().hpke_config(),
                    &content.sealed,
                    pair.private.as_ref(),
                    &answer_info(group),
                    &pair.public,
                )
                .map_err(|e| Error::Undecryptable(Cause::msg(format!("{e:?}"))))?,
        );
        let secret = Secret::try_from(opened.as_slice())
            .map_err(|_| Error::Malformed(Cause::msg("a rejoin key is 32 bytes")))?;
        Ok((answerer, secret))
    }

    fn key_pair(
        &self,
        provider: &impl OpenMlsProvider,
        suite: CipherSuite,
    ) -> Result<openmls_traits::types::HpkeKeyPair, Error> {
        provider
            .crypto()
            .derive_hpke_keypair(suite.to_openmls().hpke_config(), self.seed.as_slice())
            .map_err(|e| Error::Crypto(Cause::msg(format!("{e:?}"))))
    }
}

impl Group {
    /// Answers a member's ask (see the module docs): checks that it names this group and a
    /// current member whose leaf signed it, seals the group's current rejoin key to it, and
    /// signs the answer as `identity`. Returns the asker and the answer. Refused
    /// ([`Error::InvalidRejoinAsk`]) when any check fails; a group without join keys has
    /// nothing to give ([`Error::NotFound`]).
    pub fn answer_rejoin_ask(
        &self,
        provider: &impl OpenMlsProvider,
        identity: &Identity,
        ask: &[u8],
    ) -> Result<(MemberId, Vec<u8>), Error> {
        let refuse = |why: &str| Error::InvalidRejoinAsk(Cause::msg(why.to_string()));
        let message = AskMessage::tls_deserialize_exact_bytes(ask)
            .map_err(|e| Error::InvalidRejoinAsk(Cause::of(e)))?;
        let content = &message.content;
        if content.group_id.as_slice() != self.id().as_bytes() {
            return Err(refuse("it is for another group"));
        }
        let suite = self.ciphersuite()?.to_openmls();
        if content.ciphersuite != u16::from(suite) {
            return Err(refuse("it names another ciphersuite"));
        }
        let asker = self
            .members()?
            .into_iter()
            .find(|m| m.id.credential_identity() == content.member.as_slice())
            .ok_or_else(|| refuse("it names no member of the group"))?;
        provider
            .crypto()
            .verify_signature(
                suite.signature_algorithm(),
                &labelled(ASK_LABEL, content)?,
                &asker.signature_key,
                message.signature.as_slice(),
            )
            .map_err(|_| refuse("its signature is not the member's"))?;
        let keys = self
            .join_keys()?
            .ok_or_else(|| Error::NotFound("the group has no rejoin key".into()))?;
        let sealed = provider
            .crypto()
            .hpke_seal(
                suite.hpke_config(),
                content.key.as_slice(),
                &answer_info(&self.id()),
                content.key.as_slice(),
                &keys.rejoin,
            )
            .map_err(|_| refuse("its key is not a key of the group's ciphersuite"))?;
        let answer = AnswerContent {
            group_id: content.group_id.clone(),
            ask_key: content.key.clone(),
            answerer: identity.member().credential_identity().into(),
            sealed,
        };
        let signature = openmls_traits::signatures::Signer::sign(
            identity.signer(),
            &labelled(ANSWER_LABEL, &answer)?,
        )
        .map_err(|e| Error::Crypto(Cause::msg(format!("{e:?}"))))?;
        let message = AnswerMessage {
            content: answer,
            signature: signature.into(),
        };
        Ok((asker.id, encode(&message)?))
    }
}

/// What is signed: a label of its own, then the content.
fn labelled(label: &[u8], content: &impl tls_codec::Serialize) -> Result<Vec<u8>, Error> {
    let mut bytes = label.to_vec();
    bytes.extend(encode(content)?);
    Ok(bytes)
}

fn answer_info(group: &GroupId) -> Vec<u8> {
    [ANSWER_INFO, group.as_bytes()].concat()
}
