//! Group configuration and its defaults.

use openmls::prelude::{
    Capabilities, Ciphersuite, ExtensionType, MIXED_PLAINTEXT_WIRE_FORMAT_POLICY,
    MlsGroupJoinConfig, PURE_CIPHERTEXT_WIRE_FORMAT_POLICY, SenderRatchetConfiguration,
    WireFormatPolicy,
};
use serde::{Deserialize, Serialize};
use std::time::Duration;

use crate::{Error, group_name::GROUP_NAME_EXTENSION_TYPE};

/// The MLS ciphersuites Conclave supports: every one `openmls_rust_crypto` implements.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CipherSuite {
    /// 0x0001 `MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519`, the default: the mandatory-to-
    /// implement suite, so every MLS implementation can join.
    #[default]
    X25519Aes128Ed25519,
    /// 0x0002 `MLS_128_DHKEMP256_AES128GCM_SHA256_P256`.
    P256Aes128P256,
    /// 0x0003 `MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519`.
    X25519ChaCha20Ed25519,
    /// 0x0004 `MLS_256_DHKEMX448_AES256GCM_SHA512_Ed448`.
    X448Aes256Ed448,
    /// 0x0005 `MLS_256_DHKEMP521_AES256GCM_SHA512_P521`.
    P521Aes256P521,
    /// 0x0006 `MLS_256_DHKEMX448_CHACHA20POLY1305_SHA512_Ed448`.
    X448ChaCha20Ed448,
    /// 0x0007 `MLS_256_DHKEMP384_AES256GCM_SHA384_P384`.
    P384Aes256P384,
    /// 0x004D `MLS_256_XWING_CHACHA20POLY1305_SHA256_Ed25519`, post-quantum, from a draft
    /// (draft-ietf-mls-pq-ciphersuites): its KEM, X-Wing, combines ML-KEM-768 with X25519, so
    /// recorded traffic stays secret from a later quantum computer unless ML-KEM breaks too;
    /// its signatures stay Ed25519, so it does not protect against a future forger.
    XWingChaCha20Ed25519,
}

impl CipherSuite {
    /// Every supported suite, in code-point order.
    pub const ALL: [CipherSuite; 8] = [
        CipherSuite::X25519Aes128Ed25519,
        CipherSuite::P256Aes128P256,
        CipherSuite::X25519ChaCha20Ed25519,
        CipherSuite::X448Aes256Ed448,
        CipherSuite::P521Aes256P521,
        CipherSuite::X448ChaCha20Ed448,
        CipherSuite::P384Aes256P384,
        CipherSuite::XWingChaCha20Ed25519,
    ];

    /// The IANA code point.
    pub fn code_point(self) -> u16 {
        match self {
            CipherSuite::X25519Aes128Ed25519 => 0x0001,
            CipherSuite::P256Aes128P256 => 0x0002,
            CipherSuite::X25519ChaCha20Ed25519 => 0x0003,
            CipherSuite::X448Aes256Ed448 => 0x0004,
            CipherSuite::P521Aes256P521 => 0x0005,
            CipherSuite::X448ChaCha20Ed448 => 0x0006,
            CipherSuite::P384Aes256P384 => 0x0007,
            CipherSuite::XWingChaCha20Ed25519 => 0x004d,
        }
    }

    /// Looks a suite up by its IANA code point.
    pub fn from_code_point(code_point: u16) -> Result<Self, Error> {
        Self::ALL
            .into_iter()
            .find(|s| s.code_point() == code_point)
            .ok_or(Error::UnsupportedCiphersuite { code_point })
    }

    /// The RFC 9420 name.
    pub fn name(self) -> &'static str {
        match self {
            CipherSuite::X25519Aes128Ed25519 => "MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519",
            CipherSuite::P256Aes128P256 => "MLS_128_DHKEMP256_AES128GCM_SHA256_P256",
            CipherSuite::X25519ChaCha20Ed25519 => {
                "MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519"
            }
            CipherSuite::X448Aes256Ed448 => "MLS_256_DHKEMX448_AES256GCM_SHA512_Ed448",
            CipherSuite::P521Aes256P521 => "MLS_256_DHKEMP521_AES256GCM_SHA512_P521",
            CipherSuite::X448ChaCha20Ed448 => "MLS_256_DHKEMX448_CHACHA20POLY1305_SHA512_Ed448",
            CipherSuite::P384Aes256P384 => "MLS_256_DHKEMP384_AES256GCM_SHA384_P384",
            CipherSuite::XWingChaCha20Ed25519 => "MLS_256_XWING_CHACHA20POLY1305_SHA256_Ed25519",
        }
    }

    /// The openmls value.
    pub fn to_openmls(self) -> Ciphersuite {
        match self {
            CipherSuite::X25519Aes128Ed25519 => {
                Ciphersuite::MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519
            }
            CipherSuite::P256Aes128P256 => Ciphersuite::MLS_128_DHKEMP256_AES128GCM_SHA256_P256,
            CipherSuite::X25519ChaCha20Ed25519 => {
                Ciphersuite::MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519
            }
            CipherSuite::X448Aes256Ed448 => Ciphersuite::MLS_256_DHKEMX448_AES256GCM_SHA512_Ed448,
            CipherSuite::P521Aes256P521 => Ciphersuite::MLS_256_DHKEMP521_AES256GCM_SHA512_P521,
            CipherSuite::X448ChaCha20Ed448 => {
                Ciphersuite::MLS_256_DHKEMX448_CHACHA20POLY1305_SHA512_Ed448
            }
            CipherSuite::P384Aes256P384 => Ciphersuite::MLS_256_DHKEMP384_AES256GCM_SHA384_P384,
            CipherSuite::XWingChaCha20Ed25519 => {
                Ciphersuite::MLS_256_XWING_CHACHA20POLY1305_SHA256_Ed25519
            }
        }
    }

    /// Maps an openmls value back, failing for suites Conclave does not support.
    pub fn from_openmls(suite: Ciphersuite) -> Result<Self, Error> {
        Self::from_code_point(suite.into())
    }

    /// The signature scheme of the suite's credentials. A device's one signature key takes
    /// part in every suite of its scheme, and in no other.
    pub fn signature_scheme(self) -> openmls_traits::types::SignatureScheme {
        self.to_openmls().signature_algorithm()
    }

    /// The short name the CLI and the app accept and show: `x25519`, `p256`,
    /// `x25519-chacha`, `x448`, `p521`, `x448-chacha`, `p384`, `xwing`.
    pub fn short_name(self) -> &'static str {
        match self {
            CipherSuite::X25519Aes128Ed25519 => "x25519",
            CipherSuite::P256Aes128P256 => "p256",
            CipherSuite::X25519ChaCha20Ed25519 => "x25519-chacha",
            CipherSuite::X448Aes256Ed448 => "x448",
            CipherSuite::P521Aes256P521 => "p521",
            CipherSuite::X448ChaCha20Ed448 => "x448-chacha",
            CipherSuite::P384Aes256P384 => "p384",
            CipherSuite::XWingChaCha20Ed25519 => "xwing",
        }
    }

    /// Whether the suite comes from a draft rather than an RFC: its code point and its
    /// algorithms may still change, so a user sees that it is one.
    pub fn is_draft(self) -> bool {
        self == CipherSuite::XWingChaCha20Ed25519
    }

    /// Whether recorded traffic stays secret from a later quantum computer (the KEM is
    /// post-quantum; signatures are not, in any supported suite).
    pub fn is_post_quantum(self) -> bool {
        self == CipherSuite::XWingChaCha20Ed25519
    }
}

impl std::fmt::Display for CipherSuite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())?;
        if self.is_draft() {
            f.write_str(" (draft)")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for CipherSuite {
    type Err = Error;

    /// A suite by its short name ([`CipherSuite::short_name`]), its RFC 9420 name, or its
    /// code point (`1`, `0x0003`, `0x4d`); case does not matter.
    fn from_str(text: &str) -> Result<Self, Error> {
        let text = text.trim();
        let unknown = || Error::UnknownCiphersuite {
            name: text.to_owned(),
            known: Self::ALL.map(Self::short_name).join(", "),
        };
        if let Some(suite) = Self::ALL.into_iter().find(|s| {
            s.short_name().eq_ignore_ascii_case(text) || s.name().eq_ignore_ascii_case(text)
        }) {
            return Ok(suite);
        }
        let code_point = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
            Some(hex) => u16::from_str_radix(hex, 16),
            None => text.parse::<u16>(),
        }
        .map_err(|_| unknown())?;
        Self::from_code_point(code_point)
    }
}

/// How handshake messages (proposals and commits) are framed on the wire.
///
/// Application messages are always `PrivateMessage`s.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum HandshakeFraming {
    /// The default: handshake messages are `PrivateMessage`s. The delivery service still sees
    /// what it needs to order commits (group id, epoch and content type travel in the clear in
    /// the `PrivateMessage` header) but not who added, removed or renamed what, nor the
    /// members' key packages and leaf nodes. Conclave's server is untrusted, so it learns the
    /// least that lets it do its job.
    #[default]
    Encrypted,
    /// Handshake messages are `PublicMessage`s, signed but readable by the server, which could
    /// then check membership changes itself. For deployments that want a server-side policy;
    /// members accept both framings in this mode.
    Plaintext,
}

impl HandshakeFraming {
    pub(crate) fn policy(self) -> WireFormatPolicy {
        match self {
            HandshakeFraming::Encrypted => PURE_CIPHERTEXT_WIRE_FORMAT_POLICY,
            HandshakeFraming::Plaintext => MIXED_PLAINTEXT_WIRE_FORMAT_POLICY,
        }
    }
}

/// How long a replaced epoch's message keys are kept (when [`GroupConfig::max_past_epochs`]
/// keeps any): five minutes after this device moved to the next epoch.
///
/// A message that crossed a commit in flight reaches a member right after the commit (it is
/// next in the member's queue), whenever the member comes online: minutes are plenty. Keys
/// kept longer only weaken forward secrecy, and slow every message of a large group down
/// (openmls rewrites a kept epoch's member list with each message). [`Group::encrypt`] and
/// [`Group::process`] drop expired keys before they work, and [`Group::expire_past_epochs`]
/// does it on request (an idle group's keys otherwise wait for its next message). A group
/// loaded from storage cannot tell when its epoch began, so it counts from the load: its kept
/// keys go at the first use [`PAST_EPOCH_LIFETIME`] after it (openmls's own age-based deletion
/// would also drop a past epoch that began long ago but ended a moment ago, losing exactly
/// the late messages these keys are kept for).
///
/// [`Group::encrypt`]: crate::Group::encrypt
/// [`Group::process`]: crate::Group::process
/// [`Group::expire_past_epochs`]: crate::Group::expire_past_epochs
pub const PAST_EPOCH_LIFETIME: Duration = Duration::from_secs(5 * 60);

/// Settings for groups this device creates or joins.
///
/// Every field has a documented default; [`GroupConfig::default()`] is what Conclave ships.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupConfig {
    /// Ciphersuite of new groups and key packages. Default: 0x0001.
    pub ciphersuite: CipherSuite,
    /// How many past epochs' message keys are kept so that a message sent just before a
    /// commit still decrypts after it. Default: 0, because Conclave never needs them: its
    /// delivery service accepts a message only in the group's current epoch and queues it
    /// in order with the commits, so each member meets every message in the epoch it was
    /// made in, *provided it applies its own commits where they stand in its queue*
    /// (process the commit's echo, which merges it; see [`Group`](crate::Group)) rather than
    /// on the server's acceptance. A replaced epoch's keys are then deleted at the commit
    /// itself (forward secrecy), and messages cost the same right after a commit as later.
    ///
    /// With a delivery service that does not order messages, or a client that merges on
    /// acceptance, set 1: a message crossing one commit in flight still decrypts. Kept keys
    /// expire [`PAST_EPOCH_LIFETIME`] after the commit that replaced them, whichever comes
    /// first, and cost time while they are kept: openmls keeps each past epoch with its full
    /// member list in the state it rewrites on every message, so each kept epoch adds
    /// O(members) work per message (measured in docs/PERFORMANCE.md).
    pub max_past_epochs: usize,
    /// How many skipped messages per sender and epoch may still arrive late (their keys are
    /// kept until then). Default: 100.
    pub out_of_order_tolerance: u32,
    /// How far ahead of the last seen message a sender's generation may jump (messages lost on
    /// the way). Default: 1000.
    pub maximum_forward_distance: u32,
    /// Encrypted messages are padded to a multiple of this many bytes, so the server only
    /// learns a message's length to within this bucket. Default: 256 (a typical chat line
    /// and a short paragraph look alike). 0 turns padding off.
    pub padding_block: usize,
    /// Handshake framing; see [`HandshakeFraming`]. Default: encrypted.
    pub handshake_framing: HandshakeFraming,
    /// Whether Welcome messages carry the ratchet tree inside (the `ratchet_tree` extension).
    /// Default: false. The tree is returned beside the Welcome instead, because inside the
    /// GroupInfo it is hashed again by the HPKE encryption to every joiner, which makes large
    /// adds superlinear. A Welcome that carries the tree is always accepted on join.
    pub ratchet_tree_in_welcome: bool,
    /// Lifetime of new key packages, in seconds. Default: 90 days.
    pub key_package_lifetime_secs: u64,
    /// How many past epochs' resumption PSKs are kept, for PSK proposals that name them.
    /// Default: 0 (Conclave makes no such proposals; followers of other implementations'
    /// groups may need some). A resumption PSK opens a way into its epoch's key schedule, so
    /// none is kept that is not needed; this holds for a group's creator too (openmls 0.9.2
    /// kept 32 there, fixed in `vendor/openmls`, patch 10).
    pub resumption_psks_kept: usize,
}

impl Default for GroupConfig {
    fn default() -> Self {
        Self {
            ciphersuite: CipherSuite::default(),
            max_past_epochs: 0,
            out_of_order_tolerance: 100,
            maximum_forward_distance: 1000,
            padding_block: 256,
            handshake_framing: HandshakeFraming::default(),
            ratchet_tree_in_welcome: false,
            key_package_lifetime_secs: 90 * 24 * 3600,
            resumption_psks_kept: 0,
        }
    }
}

impl GroupConfig {
    /// The same configuration with another ciphersuite.
    pub fn with_ciphersuite(mut self, ciphersuite: CipherSuite) -> Self {
        self.ciphersuite = ciphersuite;
        self
    }

    pub(crate) fn sender_ratchet(&self) -> SenderRatchetConfiguration {
        SenderRatchetConfiguration::new(self.out_of_order_tolerance, self.maximum_forward_distance)
    }

    /// What every Conclave leaf node advertises: the suites this build supports, the
    /// group-name extension and last-resort key packages. A key package made outside this
    /// crate must advertise these to be added to a Conclave group.
    pub fn capabilities() -> Capabilities {
        let suites: Vec<Ciphersuite> = CipherSuite::ALL.iter().map(|s| s.to_openmls()).collect();
        Capabilities::builder()
            .ciphersuites(suites)
            .extensions(vec![
                ExtensionType::Unknown(GROUP_NAME_EXTENSION_TYPE),
                ExtensionType::Unknown(crate::POLICY_EXTENSION_TYPE),
                ExtensionType::Unknown(crate::JOIN_KEYS_EXTENSION_TYPE),
                ExtensionType::LastResort,
            ])
            .build()
    }

    pub(crate) fn join_config(&self) -> MlsGroupJoinConfig {
        MlsGroupJoinConfig::builder()
            .wire_format_policy(self.handshake_framing.policy())
            .padding_size(self.padding_block)
            .max_past_epochs(self.max_past_epochs)
            .sender_ratchet_configuration(self.sender_ratchet())
            .use_ratchet_tree_extension(self.ratchet_tree_in_welcome)
            .number_of_resumption_psks(self.resumption_psks_kept)
            .build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_points_round_trip() {
        for suite in CipherSuite::ALL {
            assert_eq!(
                CipherSuite::from_code_point(suite.code_point()).unwrap(),
                suite
            );
            assert_eq!(
                CipherSuite::from_openmls(suite.to_openmls()).unwrap(),
                suite
            );
        }
        // RFC 9420's seven and the draft X-Wing suite, nothing else (0x0000 is reserved).
        assert_eq!(
            CipherSuite::ALL.map(CipherSuite::code_point),
            [1, 2, 3, 4, 5, 6, 7, 0x4d]
        );
        for unknown in [0x0000, 0x0008, 0x004e, 0xffff] {
            assert!(matches!(
                CipherSuite::from_code_point(unknown),
                Err(Error::UnsupportedCiphersuite { code_point }) if code_point == unknown
            ));
        }
    }
}
