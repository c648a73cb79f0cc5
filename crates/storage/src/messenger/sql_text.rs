//! The enums stored as SQL text, each spelled once: the macro below gives every one its
//! `as_str` (what is written) and `parse` (what is read back; anything else is
//! [`StoreError::InvalidData`], never a panic), from one table of variants and texts. The
//! texts are part of the schema: the migrations' `CHECK` constraints name the same words.

use serde::{Deserialize, Serialize};

use crate::StoreError;

macro_rules! sql_text {
    (
        $(#[$doc:meta])*
        pub enum $name:ident as $what:literal {
            $( $(#[$variant_doc:meta])* $variant:ident = $text:literal, )*
        }
    ) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $( $(#[$variant_doc])* $variant, )*
        }

        impl $name {
            /// Its text in the database.
            pub(crate) fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $text, )*
                }
            }

            /// Reads its text back from the database.
            pub(crate) fn parse(text: &str) -> Result<Self, StoreError> {
                match text {
                    $( $text => Ok($name::$variant), )*
                    other => Err(StoreError::InvalidData(format!(
                        concat!($what, " {:?}"),
                        other
                    ))),
                }
            }
        }
    };
}

sql_text! {
    /// A message's delivery state.
    pub enum MessageState as "message state" {
        /// Written by this device, not yet accepted by the server.
        Pending = "pending",
        /// Accepted by the server.
        Sent = "sent",
        /// Given up on (the user may retry).
        Failed = "failed",
        /// Received from another device.
        Received = "received",
    }
}

sql_text! {
    /// What a message is.
    pub enum MessageKind as "message kind" {
        /// Text written by a member.
        Text = "text",
        /// A change in the conversation (members, name) recorded by this device; the body
        /// describes it.
        Event = "event",
        /// Content of a kind this version does not understand (from a newer client); kept,
        /// and shown as unsupported.
        Unsupported = "unsupported",
        /// A file: its external part says where it is and how to decrypt it.
        Attachment = "attachment",
    }
}

sql_text! {
    /// What an outbox entry carries; the payload's meaning is the client's.
    pub enum OutboxKind as "outbox kind" {
        /// An application message.
        Application = "application",
        /// A commit (with its Welcome, if any).
        Commit = "commit",
        /// A proposal.
        Proposal = "proposal",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_text_reads_back_and_nothing_else_does() {
        for state in [
            MessageState::Pending,
            MessageState::Sent,
            MessageState::Failed,
            MessageState::Received,
        ] {
            assert_eq!(MessageState::parse(state.as_str()).ok(), Some(state));
        }
        for kind in [
            MessageKind::Text,
            MessageKind::Event,
            MessageKind::Unsupported,
            MessageKind::Attachment,
        ] {
            assert_eq!(MessageKind::parse(kind.as_str()).ok(), Some(kind));
        }
        for kind in [
            OutboxKind::Application,
            OutboxKind::Commit,
            OutboxKind::Proposal,
        ] {
            assert_eq!(OutboxKind::parse(kind.as_str()).ok(), Some(kind));
        }
        assert!(matches!(
            MessageState::parse("Sent"),
            Err(StoreError::InvalidData(_))
        ));
        assert!(matches!(
            MessageKind::parse(""),
            Err(StoreError::InvalidData(_))
        ));
    }
}
