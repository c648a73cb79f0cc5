//! Failures: the error on standard error, its name and the exit code (the README's table).

use conclave_client::ClientError;
use serde::Serialize;

/// A failure, on standard error.
#[derive(Serialize)]
pub struct Failure {
    pub error: &'static str,
    pub message: String,
}

impl Failure {
    pub fn of(e: &ClientError) -> Self {
        Self {
            error: error_name(e),
            message: e.to_string(),
        }
    }

    pub fn print(&self, json: bool) {
        if json {
            if let Ok(line) = serde_json::to_string(self) {
                eprintln!("{line}");
            }
        } else {
            eprintln!("error: {}", self.message);
        }
    }
}

/// The exit code of a failure (the README's table).
pub fn exit_code(e: &ClientError) -> u8 {
    match e {
        ClientError::Offline { .. } => 3,
        ClientError::NoSuchConversation(_)
        | ClientError::UnknownUser(_)
        | ClientError::AmbiguousConversation(_)
        | ClientError::NoSuchMessage(_) => 4,
        ClientError::NameTaken(_)
        | ClientError::AlreadyMember(_)
        | ClientError::NotAMember
        | ClientError::NotAccepted
        | ClientError::NotAuthor
        | ClientError::NotPermitted(_)
        | ClientError::AttachmentRefused(_)
        | ClientError::NotInConversation(_)
        | ClientError::NoKeyPackages(_)
        | ClientError::SuiteUnsupported { .. }
        | ClientError::UntrustedKeyPackage { .. }
        | ClientError::Contention(_)
        | ClientError::CannotRejoin(_)
        | ClientError::RejoinAsked
        | ClientError::Server { .. } => 5,
        ClientError::NoProfile(_) | ClientError::ProfileExists(_) | ClientError::LinkPending(_) => {
            6
        }
        ClientError::LinkFailed(_) => 8,
        ClientError::Revoked => 9,
        ClientError::InvalidLinkCode(_) => 2,
        ClientError::Storage(conclave_client::StoreError::ProfileInUse { .. }) => 6,
        ClientError::Storage(
            conclave_client::StoreError::WrongKey { .. }
            | conclave_client::StoreError::Encrypted { .. },
        ) => 7,
        ClientError::Keyring(_) => 7,
        ClientError::InvalidInput(_)
        | ClientError::Protocol(
            conclave_client::ProtocolError::UnknownCiphersuite { .. }
            | conclave_client::ProtocolError::SuiteNeedsOtherKey { .. },
        ) => 2,
        _ => 1,
    }
}

fn error_name(e: &ClientError) -> &'static str {
    match e {
        ClientError::Offline { .. } => "offline",
        ClientError::NoSuchConversation(_) => "no_such_conversation",
        ClientError::AmbiguousConversation(_) => "ambiguous_conversation",
        ClientError::UnknownUser(_) => "unknown_user",
        ClientError::NameTaken(_) => "name_taken",
        ClientError::AlreadyMember(_) => "already_member",
        ClientError::NotAMember => "not_a_member",
        ClientError::NotAccepted => "not_accepted",
        ClientError::NoSuchMessage(_) => "no_such_message",
        ClientError::AttachmentRefused(_) => "attachment_refused",
        ClientError::NotAuthor => "not_author",
        ClientError::NotInConversation(_) => "not_in_conversation",
        ClientError::NoKeyPackages(_) => "no_key_packages",
        ClientError::SuiteUnsupported { .. } => "suite_unsupported",
        ClientError::UntrustedKeyPackage { .. } => "untrusted_key_package",
        ClientError::Contention(_) => "contention",
        ClientError::Server { .. } => "refused",
        ClientError::NoProfile(_) => "no_profile",
        ClientError::ProfileExists(_) => "profile_exists",
        ClientError::InvalidInput(_) => "invalid_input",
        ClientError::InvalidLinkCode(_) => "invalid_link_code",
        ClientError::LinkFailed(_) => "link_failed",
        ClientError::LinkPending(_) => "link_pending",
        ClientError::Revoked => "revoked",
        ClientError::NotPermitted(_) => "not_permitted",
        ClientError::CannotRejoin(_) => "cannot_rejoin",
        ClientError::RejoinAsked => "rejoin_asked",
        ClientError::Storage(conclave_client::StoreError::WrongKey { .. }) => "wrong_passphrase",
        ClientError::Storage(conclave_client::StoreError::Encrypted { .. }) => "encrypted",
        ClientError::Keyring(_) => "keyring_failed",
        ClientError::Protocol(conclave_client::ProtocolError::UnknownCiphersuite { .. }) => {
            "unknown_ciphersuite"
        }
        ClientError::Protocol(conclave_client::ProtocolError::SuiteNeedsOtherKey { .. }) => {
            "suite_needs_other_key"
        }
        _ => "failed",
    }
}
