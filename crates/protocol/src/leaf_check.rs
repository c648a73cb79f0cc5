//! Who may join a group: the caller's say over every leaf a commit or Welcome brings in.
//!
//! MLS checks that each leaf is well formed and signed by its own key, but not that the key
//! belongs to the device the credential names: that binding lives outside MLS (for
//! Conclave, in the delivery service's directory and each profile's pinned keys). A
//! [`LeafCheck`] supplies it to [`Group::process_checked`](crate::Group::process_checked) and
//! [`Group::join_checked`](crate::Group::join_checked).

use crate::{Error, LeafRefusal, MemberId};

/// What a [`LeafCheck`] says of one leaf.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LeafVerdict {
    /// The key is the named device's.
    Accept,
    /// It is not: the message is refused ([`Error::LeafRefused`]).
    Refuse(String),
    /// The check cannot tell yet ([`Error::LeavesUnknown`]): the caller learns more and
    /// processes the message again.
    Unknown,
}

/// Decides whether a leaf (a member id and its signature key) may join.
pub trait LeafCheck {
    /// The verdict on one leaf.
    fn check(&self, member: &MemberId, signature_key: &[u8]) -> LeafVerdict;
}

impl<F: Fn(&MemberId, &[u8]) -> LeafVerdict> LeafCheck for F {
    fn check(&self, member: &MemberId, signature_key: &[u8]) -> LeafVerdict {
        self(member, signature_key)
    }
}

/// Takes every leaf MLS accepts: for groups whose keys are bound some other way (tests,
/// interop vectors).
pub struct AcceptAll;

impl LeafCheck for AcceptAll {
    fn check(&self, _: &MemberId, _: &[u8]) -> LeafVerdict {
        LeafVerdict::Accept
    }
}

/// Checks every leaf; the first refusal wins, and otherwise all unknown leaves are named
/// together, so that one directory request covers them.
pub(crate) fn check_leaves<'a>(
    check: &impl LeafCheck,
    by: &MemberId,
    leaves: impl IntoIterator<Item = (&'a MemberId, &'a [u8])>,
) -> Result<(), Error> {
    let mut unknown = Vec::new();
    for (member, key) in leaves {
        match check.check(member, key) {
            LeafVerdict::Accept => {}
            LeafVerdict::Refuse(reason) => {
                return Err(Error::LeafRefused(Box::new(LeafRefusal {
                    member: member.clone(),
                    by: by.clone(),
                    reason,
                })));
            }
            LeafVerdict::Unknown => unknown.push(member.clone()),
        }
    }
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(Error::LeavesUnknown(unknown))
    }
}
