//! openmls's errors mapped to [`Error`]: which of them are the input's fault and which the
//! library's.

use openmls::framing::errors::MessageDecryptionError;
use openmls::group::{
    MergeCommitError, MlsGroupStateError, ProcessMessageError, StageCommitError, ValidationError,
    WelcomeError,
};
use openmls::prelude::ProtocolVersion;

use crate::{Cause, Error};

pub(super) fn map_state_error(e: MlsGroupStateError) -> Error {
    match e {
        MlsGroupStateError::UseAfterEviction => Error::NotAMember,
        MlsGroupStateError::PendingCommit => Error::CommitPending,
        MlsGroupStateError::NoPendingCommit => Error::NoPendingCommit,
        other => Error::Library(Cause::of(other)),
    }
}

pub(super) fn map_merge_error<E: std::fmt::Display>(e: MergeCommitError<E>) -> Error {
    match e {
        MergeCommitError::StorageError(s) => Error::Storage(Cause::msg(s.to_string())),
        other => Error::Library(Cause::msg(other.to_string())),
    }
}

pub(super) fn map_process_error<E: std::fmt::Display>(
    e: ProcessMessageError<E>,
    message_epoch: u64,
    group_epoch: u64,
) -> Error {
    let stale = Error::StaleEpoch {
        message_epoch,
        group_epoch,
    };
    match e {
        ProcessMessageError::StorageError(s) => Error::Storage(Cause::msg(s.to_string())),
        ProcessMessageError::LibraryError(l) => Error::Library(Cause::of(l)),
        ProcessMessageError::GroupStateError(s) => map_state_error(s),
        ProcessMessageError::IncompatibleWireFormat => {
            Error::Malformed(Cause::msg("wire format not allowed by the group's policy"))
        }
        ProcessMessageError::InvalidCommit(StageCommitError::EpochMismatch) => stale,
        ProcessMessageError::InvalidCommit(c) => Error::InvalidCommit(Cause::of(c)),
        ProcessMessageError::ValidationError(v) => match v {
            ValidationError::WrongGroupId => Error::WrongGroup,
            ValidationError::WrongEpoch | ValidationError::NoPastEpochData => stale,
            ValidationError::UnknownMember => Error::SenderNotMember,
            ValidationError::UnableToDecrypt(MessageDecryptionError::SecretTreeError(s)) => {
                map_secret_tree_error(&s.to_string(), stale)
            }
            ValidationError::UnableToDecrypt(d) => Error::Undecryptable(Cause::of(d)),
            ValidationError::InvalidSignature
            | ValidationError::InvalidMembershipTag
            | ValidationError::MissingMembershipTag => Error::Undecryptable(Cause::of(v)),
            ValidationError::LibraryError(l) => Error::Library(Cause::of(l)),
            other => Error::InvalidCommit(Cause::of(other)),
        },
        other => Error::InvalidCommit(Cause::msg(other.to_string())),
    }
}

/// openmls does not export `SecretTreeError`, so its variants are told apart by their
/// messages. The replay and unknown-sender tests fail loudly if an upgrade changes them.
///
/// "Too old" is what openmls says both for an epoch whose keys are gone and for a generation
/// past the out-of-order tolerance; the message's epoch tells them apart.
pub(super) fn map_secret_tree_error(message: &str, stale: Error) -> Error {
    const REUSED: &str = "The requested secret was deleted to preserve forward secrecy.";
    const OUT_OF_BOUNDS: &str = "Index out of bounds";
    const TOO_OLD: &str = "Generation is too old to be processed.";
    match message {
        REUSED => Error::AlreadyProcessed,
        OUT_OF_BOUNDS => Error::SenderNotMember,
        TOO_OLD if matches!(stale, Error::StaleEpoch { message_epoch, group_epoch } if message_epoch < group_epoch) => {
            stale
        }
        other => Error::Undecryptable(Cause::msg(other)),
    }
}

pub(super) fn map_welcome_error<E: std::fmt::Display>(e: WelcomeError<E>) -> Error {
    match e {
        WelcomeError::NoMatchingKeyPackage | WelcomeError::NoMatchingEncryptionKey => {
            Error::WelcomeNotForUs
        }
        WelcomeError::StorageError(s) => Error::Storage(Cause::msg(s.to_string())),
        WelcomeError::LibraryError(l) => Error::Library(Cause::of(l)),
        WelcomeError::UnsupportedMlsVersion => Error::InvalidWelcome(Cause::msg(format!(
            "unsupported MLS version (expected {:?})",
            ProtocolVersion::Mls10
        ))),
        other => Error::InvalidWelcome(Cause::msg(other.to_string())),
    }
}
