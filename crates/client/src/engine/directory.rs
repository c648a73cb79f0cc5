//! The server's directory of device keys, as this device has learned it: what every leaf a
//! commit or Welcome brings in is checked against.
//!
//! The server binds each device's signature key at registration and never changes it, so a
//! key once learned stays true and is cached for the life of the engine. A device not in
//! the cache is looked up (one request for all the users an item names) before the item is
//! refused for it.

use std::collections::{HashMap, HashSet};

use conclave_delivery_api::DirectoryResponse;
use conclave_protocol::{DeviceId, LeafVerdict, MemberId, UserName};

/// Device keys learned from the server's directory.
#[derive(Default)]
pub(crate) struct Directory {
    keys: HashMap<MemberId, Vec<u8>>,
    /// Users looked up for the item being processed: a device of theirs still missing is
    /// not in the directory at all.
    fresh: HashSet<UserName>,
}

impl Directory {
    /// A directory that knows this device's own key.
    pub(crate) fn new(me: &MemberId, key: &[u8]) -> Self {
        let mut directory = Self::default();
        directory.keys.insert(me.clone(), key.to_vec());
        directory
    }

    /// A new item: whatever was looked up for the last one is not fresh any more.
    pub(crate) fn start_item(&mut self) {
        self.fresh.clear();
    }

    /// Takes in a directory answer for `asked`.
    pub(crate) fn learn(&mut self, asked: &[UserName], response: DirectoryResponse) {
        for user in response.users {
            // A name that breaks the naming rules names no leaf either.
            let Ok(name) = UserName::new(&user.user) else {
                continue;
            };
            for device in user.devices {
                if let Ok(id) = DeviceId::new(&device.device) {
                    let member = MemberId::new(name.clone(), id);
                    self.keys.insert(member, device.signature_key.0);
                }
            }
        }
        self.fresh.extend(asked.iter().cloned());
    }

    /// The verdict on a leaf claiming to be `member` with `key`.
    pub(crate) fn verdict(&self, member: &MemberId, key: &[u8]) -> LeafVerdict {
        match self.keys.get(member) {
            Some(known) if known == key => LeafVerdict::Accept,
            Some(_) => LeafVerdict::Refuse(format!(
                "its key is not the one the directory holds for {member}"
            )),
            None if self.fresh.contains(&member.user) => {
                LeafVerdict::Refuse(format!("the directory has no device {member}"))
            }
            None => LeafVerdict::Unknown,
        }
    }
}
