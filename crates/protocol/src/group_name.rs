//! The group name, carried inside MLS as a group-context extension.
//!
//! Because it lives in the encrypted group context, the delivery service never learns it, and
//! a rename is an ordinary commit that every member agrees on.

use openmls::prelude::{
    Extension, ExtensionType, Extensions, GroupContext, RequiredCapabilitiesExtension,
    UnknownExtension,
};

use crate::{Cause, Error};

/// Private-use extension type (RFC 9420, section 17.3: 0xF000-0xFFFF) of the group name.
/// Its data is the name's UTF-8 bytes.
pub const GROUP_NAME_EXTENSION_TYPE: u16 = 0xF0C1;

/// Longest group name, in bytes.
pub const MAX_GROUP_NAME_LEN: usize = 256;

/// Trims and checks a group name.
pub(crate) fn validate(name: &str) -> Result<String, Error> {
    let name = name.trim();
    if name.is_empty() || name.len() > MAX_GROUP_NAME_LEN || name.chars().any(char::is_control) {
        return Err(Error::InvalidGroupName);
    }
    Ok(name.to_owned())
}

/// Reads the name from group-context extensions; a missing or undecodable one reads as "".
pub(crate) fn read(extensions: &Extensions<GroupContext>) -> String {
    extensions
        .unknown(GROUP_NAME_EXTENSION_TYPE)
        .and_then(|ext| String::from_utf8(ext.0.clone()).ok())
        .unwrap_or_default()
}

/// The group-context extensions of a new group: the name, the policy, the join keys, and the
/// requirement that every member supports all three (openmls checks group-context
/// extensions against it).
pub(crate) fn initial_extensions(
    name: &str,
    policy: &crate::Policy,
    keys: &crate::JoinKeys,
) -> Result<Extensions<GroupContext>, Error> {
    let required = Extension::RequiredCapabilities(RequiredCapabilitiesExtension::new(
        &[
            ExtensionType::Unknown(GROUP_NAME_EXTENSION_TYPE),
            ExtensionType::Unknown(crate::POLICY_EXTENSION_TYPE),
            ExtensionType::Unknown(crate::JOIN_KEYS_EXTENSION_TYPE),
        ],
        &[],
        &[],
    ));
    let mut extensions = Extensions::empty();
    extensions
        .add(required)
        .map_err(|e| Error::Library(Cause::of(e)))?;
    let extensions = crate::policy::with_policy(&with_name(&extensions, name)?, policy)?;
    crate::join_keys::with_keys(&extensions, keys)
}

/// `extensions` with the name set, keeping every other extension (a group-context-extensions
/// proposal replaces the whole list).
pub(crate) fn with_name(
    extensions: &Extensions<GroupContext>,
    name: &str,
) -> Result<Extensions<GroupContext>, Error> {
    let mut extensions = extensions.clone();
    extensions
        .add_or_replace(Extension::Unknown(
            GROUP_NAME_EXTENSION_TYPE,
            UnknownExtension(name.as_bytes().to_vec()),
        ))
        .map_err(|e| Error::Library(Cause::of(e)))?;
    Ok(extensions)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(validate("  Team  ").unwrap(), "Team");
        assert!(validate("   ").is_err());
        assert!(validate("a\nb").is_err());
        assert!(validate(&"x".repeat(MAX_GROUP_NAME_LEN + 1)).is_err());
        assert!(validate(&"é".repeat(MAX_GROUP_NAME_LEN / 2)).is_ok());
    }

    #[test]
    fn name_round_trips_and_replaces() {
        let ext = with_name(&Extensions::empty(), "one").unwrap();
        assert_eq!(read(&ext), "one");
        let ext = with_name(&ext, "two").unwrap();
        assert_eq!(read(&ext), "two");
        assert_eq!(ext.iter().count(), 1);
        assert_eq!(read(&Extensions::empty()), "");
    }
}
