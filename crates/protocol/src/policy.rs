//! The group's policy, carried inside MLS as a group-context extension: who is an admin, and
//! which changes need one.
//!
//! The delivery service cannot read it (it is in the encrypted group context) and so cannot
//! enforce it: every member checks every commit against the policy of the epoch the commit
//! was made in, using the sender MLS authenticated ([`crate::Group::process_checked`]), and
//! refuses one that breaks it ([`crate::Error::PolicyRefused`]). Admins are users, so all of
//! an admin's devices act as admin.
//!
//! Always allowed, whatever the policy: a member adding or removing devices of its own user,
//! committing another member's own request to leave, updating its own leaf. Changing the
//! policy always needs an admin (otherwise it would protect nothing), with one exception so
//! that a group is never left without one: when no admin is a member any more, the member
//! with the lowest leaf index (the longest-standing, as far as the tree can tell: a leaf
//! freed by a removal is reused by the next add) may make itself admin.
//!
//! A group made before policies (no extension) has none: everyone may do everything, as
//! before.

use std::collections::BTreeSet;

use openmls::prelude::{Extension, Extensions, GroupContext, UnknownExtension};

use crate::{Cause, Error, UserName};

/// Private-use extension type (RFC 9420, section 17.3) of the policy.
pub const POLICY_EXTENSION_TYPE: u16 = 0xF0C2;

/// The encoding's version byte.
const VERSION: u8 = 1;

/// At most this many admins.
pub const MAX_ADMINS: usize = 1000;

/// Who may make a change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// Any member.
    Member,
    /// Admins only.
    Admin,
}

impl Role {
    fn byte(self) -> u8 {
        match self {
            Role::Member => 0,
            Role::Admin => 1,
        }
    }

    fn from_byte(byte: u8) -> Result<Self, Error> {
        match byte {
            0 => Ok(Role::Member),
            1 => Ok(Role::Admin),
            _ => Err(invalid("a role is 0 or 1")),
        }
    }
}

/// A change a commit can make, as the policy sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// Add another user's devices.
    Add,
    /// Remove another user's devices (not at their request).
    Remove,
    /// Rename the group.
    Rename,
    /// Create or revoke invite links.
    Links,
    /// Change the policy (promote, demote, who may do what).
    ChangePolicy,
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Action::Add => "add members",
            Action::Remove => "remove members",
            Action::Rename => "rename the conversation",
            Action::Links => "manage invite links",
            Action::ChangePolicy => "change admins or rules",
        })
    }
}

/// Who is an admin, and which actions need one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// The admins.
    pub admins: BTreeSet<UserName>,
    /// Who may add other users.
    pub add: Role,
    /// Who may remove other users.
    pub remove: Role,
    /// Who may rename.
    pub rename: Role,
    /// Who may manage invite links.
    pub links: Role,
}

impl Policy {
    /// A new group's: its creator the one admin; any member may add people and rename,
    /// only admins remove others or manage links.
    pub fn new(creator: &UserName) -> Self {
        Self {
            admins: BTreeSet::from([creator.clone()]),
            add: Role::Member,
            remove: Role::Admin,
            rename: Role::Member,
            links: Role::Admin,
        }
    }

    /// Whether `user` is an admin.
    pub fn is_admin(&self, user: &UserName) -> bool {
        self.admins.contains(user)
    }

    /// Who may take `action`.
    pub fn role_for(&self, action: Action) -> Role {
        match action {
            Action::Add => self.add,
            Action::Remove => self.remove,
            Action::Rename => self.rename,
            Action::Links => self.links,
            Action::ChangePolicy => Role::Admin,
        }
    }

    /// Whether `user` may take `action`.
    pub fn permits(&self, user: &UserName, action: Action) -> bool {
        self.role_for(action) == Role::Member || self.is_admin(user)
    }

    /// The extension's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![
            VERSION,
            self.add.byte(),
            self.remove.byte(),
            self.rename.byte(),
            self.links.byte(),
        ];
        out.extend_from_slice(&(self.admins.len() as u16).to_be_bytes());
        for admin in &self.admins {
            // A user name is at most MAX_NAME_LEN (64) bytes.
            out.push(admin.as_str().len() as u8);
            out.extend_from_slice(admin.as_str().as_bytes());
        }
        out
    }

    /// Reads the extension's bytes, refusing anything [`Policy::encode`] would not write.
    pub fn decode(bytes: &[u8]) -> Result<Self, Error> {
        let mut rest = bytes;
        let mut take = |n: usize| -> Result<&[u8], Error> {
            if rest.len() < n {
                return Err(invalid("too short"));
            }
            let (head, tail) = rest.split_at(n);
            rest = tail;
            Ok(head)
        };
        if take(1)?[0] != VERSION {
            return Err(invalid("unknown version"));
        }
        let roles = take(4)?;
        let (add, remove, rename, links) = (
            Role::from_byte(roles[0])?,
            Role::from_byte(roles[1])?,
            Role::from_byte(roles[2])?,
            Role::from_byte(roles[3])?,
        );
        let count = u16::from_be_bytes(take(2)?.try_into().expect("two bytes")) as usize;
        if count > MAX_ADMINS {
            return Err(invalid("too many admins"));
        }
        let mut admins = BTreeSet::new();
        for _ in 0..count {
            let len = take(1)?[0] as usize;
            let name = std::str::from_utf8(take(len)?).map_err(|_| invalid("a name not UTF-8"))?;
            let user = UserName::new(name).map_err(|_| invalid("not a user name"))?;
            // In order, each once: one encoding per policy.
            if admins.last().is_some_and(|last| *last >= user) {
                return Err(invalid("admins out of order or named twice"));
            }
            admins.insert(user);
        }
        if !rest.is_empty() {
            return Err(invalid("bytes after the policy"));
        }
        Ok(Self {
            admins,
            add,
            remove,
            rename,
            links,
        })
    }
}

fn invalid(why: &'static str) -> Error {
    Error::InvalidPolicy(Cause::msg(why))
}

/// The policy in group-context extensions: `None` for a group made before policies. One that
/// cannot be read is an error.
pub(crate) fn read(extensions: &Extensions<GroupContext>) -> Result<Option<Policy>, Error> {
    extensions
        .unknown(POLICY_EXTENSION_TYPE)
        .map(|ext| Policy::decode(&ext.0))
        .transpose()
}

/// `extensions` with `policy` set, keeping every other extension.
pub(crate) fn with_policy(
    extensions: &Extensions<GroupContext>,
    policy: &Policy,
) -> Result<Extensions<GroupContext>, Error> {
    let mut extensions = extensions.clone();
    extensions
        .add_or_replace(Extension::Unknown(
            POLICY_EXTENSION_TYPE,
            UnknownExtension(policy.encode()),
        ))
        .map_err(|e| Error::Library(Cause::of(e)))?;
    Ok(extensions)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(name: &str) -> UserName {
        UserName::new(name).unwrap()
    }

    #[test]
    fn a_policy_round_trips_and_anything_else_is_refused() {
        let mut policy = Policy::new(&user("alice"));
        policy.admins.insert(user("bob"));
        policy.add = Role::Admin;
        let bytes = policy.encode();
        assert_eq!(Policy::decode(&bytes).unwrap(), policy);
        for bad in [
            &bytes[..bytes.len() - 1],
            &[bytes.as_slice(), &[0]].concat()[..],
            &[2, 0, 1, 0, 1, 0, 0][..],
            &[1, 0, 2, 0, 1, 0, 0][..],
            &[1, 0, 1, 0, 1, 0, 2, 1, b'a', 1, b'a'][..],
            &[1, 0, 1, 0, 1, 0, 2, 1, b'b', 1, b'a'][..],
            &[1, 0, 1, 0, 1, 0, 1, 1, b' '][..],
            &[][..],
        ] {
            assert!(
                matches!(Policy::decode(bad), Err(Error::InvalidPolicy(_))),
                "{bad:?}"
            );
        }
    }

    /// Another member writes these bytes: no mutation of a valid policy makes the decoder
    /// panic, and what it accepts encodes back to the same bytes.
    #[test]
    fn mutated_policies_decode_or_fail_cleanly() {
        let mut policy = Policy::new(&user("alice"));
        policy.admins.insert(user("bob"));
        let bytes = policy.encode();
        for i in 0..bytes.len() {
            for value in [0u8, 1, 2, 0x7f, 0x80, 0xff, bytes[i].wrapping_add(1)] {
                let mut mutated = bytes.clone();
                mutated[i] = value;
                if let Ok(decoded) = Policy::decode(&mutated) {
                    assert_eq!(decoded.encode(), mutated);
                }
            }
            let _ = Policy::decode(&bytes[..i]);
        }
    }

    #[test]
    fn the_default_lets_members_add_and_rename_and_admins_remove() {
        let policy = Policy::new(&user("alice"));
        let (alice, bob) = (user("alice"), user("bob"));
        assert!(policy.permits(&bob, Action::Add));
        assert!(policy.permits(&bob, Action::Rename));
        assert!(!policy.permits(&bob, Action::Remove));
        assert!(!policy.permits(&bob, Action::Links));
        assert!(!policy.permits(&bob, Action::ChangePolicy));
        for action in [
            Action::Add,
            Action::Remove,
            Action::Rename,
            Action::Links,
            Action::ChangePolicy,
        ] {
            assert!(policy.permits(&alice, action));
        }
    }
}
