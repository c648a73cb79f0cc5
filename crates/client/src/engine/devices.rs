//! The user's own devices: approving a new one (the existing device's side of a link),
//! listing them, revoking one, and what a device does when it learns it was revoked.

use std::time::Duration;

use conclave_delivery_api::{DeviceGrant, ErrorCode};
use conclave_protocol::{Crypto, DeviceId, MemberId, inspect_key_package};
use conclave_storage::ConversationId;

use super::commit::Op;
use super::{Engine, now_ms};
use crate::link::{
    Channel, Direction, Exporter, LinkCode, LinkProgress, LinkReport, POLL, Part, ToApprover, ToNew,
};
use crate::{ClientError, ClientEvent, Result};

/// Setting: this device was revoked (its groups are deleted).
pub(crate) const REVOKED: &str = "revoked";

/// One of the user's devices, as the server lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnDevice {
    /// Its id.
    pub device: String,
    /// Its safety-number fingerprint (30 digits).
    pub fingerprint: String,
    /// When it was registered (unix seconds).
    pub added_at: u64,
    /// When the server last heard from it (unix seconds), if it says.
    pub last_seen: Option<u64>,
    /// Whether it is this device.
    pub this_device: bool,
}

fn used_already(me: &MemberId, code: &LinkCode) -> ClientError {
    ClientError::LinkFailed(format!(
        "the code was used already ({}/{} or another account took it)",
        me.user,
        code.device()
    ))
}

fn unix_now() -> u64 {
    (now_ms() / 1000) as u64
}

impl Engine {
    /// The conversations this device is an active member of.
    fn active_conversations(&self) -> Result<Vec<ConversationId>> {
        let mut store = self.store.lock();
        let tx = store.transaction()?;
        Ok(tx
            .conversation_list()?
            .into_iter()
            .filter(|c| c.left_at.is_none() && !c.request && !c.leave_requested)
            .map(|c| c.id)
            .collect())
    }

    /// Approves the device that shows `code`: grants it at the server, tells it whose it
    /// is, waits up to `wait` for it to register, adds it to every conversation and sends
    /// it the history.
    pub(crate) async fn approve_link(
        &mut self,
        code: &LinkCode,
        wait: Duration,
        progress: &mut (dyn FnMut(LinkProgress) + Send),
    ) -> Result<LinkReport> {
        let me = self.identity.member().clone();
        if code.server().trim_end_matches('/') != self.ds.base() {
            return Err(ClientError::LinkFailed(format!(
                "the code is for the server {}; this device uses {}",
                code.server(),
                self.ds.base()
            )));
        }
        if unix_now() > code.expires_at() {
            return Err(ClientError::LinkFailed(
                "the code expired; show a new one on the new device".into(),
            ));
        }
        if code.device() == me.device.as_str() {
            return Err(ClientError::LinkFailed(
                "the code is this device's own".into(),
            ));
        }
        self.ensure_registered().await?;
        let grant = DeviceGrant {
            device: code.device().to_owned(),
            signature_key: code.signature_key.clone().into(),
            ciphersuite: code.ciphersuite,
        };
        let channel = Channel::new(&code.secret);
        let to_new = channel.link_id(Direction::ToNew);
        // An approval of this device's that was interrupted (its first chunk is there, and
        // from this device) is taken up again; anyone else's use of the code ends here.
        let resumed = match self.ds.link_chunk(&to_new, 0).await? {
            None => false,
            Some(chunk) => match channel.open::<ToNew>(Direction::ToNew, 0, &chunk) {
                Ok(ToNew::Hello { user, by, .. })
                    if user == me.user.as_str() && by == me.device.as_str() =>
                {
                    true
                }
                _ => return Err(used_already(&me, code)),
            },
        };
        if resumed && self.ds.link_chunk(&to_new, 1).await?.is_some() {
            // The history was sent, or on its way when this device stopped: it cannot be
            // sent again under the same chunks.
            return Err(ClientError::LinkFailed(format!(
                "this code's history was sent already (if that was interrupted, revoke {} and \
                 link it again)",
                code.device()
            )));
        }
        match self.ds.grant_device(&grant).await {
            Ok(()) => {}
            // Resumed after the new device registered: the name is its own now.
            Err(ClientError::Server {
                code: ErrorCode::NameTaken,
                ..
            }) if resumed && self.registered_as_coded(code).await? => {}
            Err(ClientError::Server {
                code: ErrorCode::NameTaken,
                ..
            }) => return Err(used_already(&me, code)),
            Err(e) => return Err(e),
        }
        let hello = ToNew::Hello {
            user: me.user.to_string(),
            by: me.device.to_string(),
            conversations: self.active_conversations()?.len() as u32,
        };
        if !resumed {
            self.put_once(&channel, &to_new, 0, &hello).await?;
        }
        progress(LinkProgress::WaitingForNewDevice);
        let deadline = tokio::time::Instant::now() + wait;
        let to_approver = channel.link_id(Direction::ToApprover);
        loop {
            if let Some(chunk) = self.ds.link_chunk(&to_approver, 0).await? {
                let ToApprover::Ready = channel.open(Direction::ToApprover, 0, &chunk)?;
                break;
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(ClientError::LinkFailed(
                    "the new device did not register in time".into(),
                ));
            }
            tokio::time::sleep(POLL).await;
        }
        let conversations = self.active_conversations()?;
        let total = conversations.len() as u32;
        for (done, conversation) in conversations.into_iter().enumerate() {
            progress(LinkProgress::Adding {
                done: done as u32,
                total,
            });
            // A key package per conversation: each is for one Welcome.
            let suite = self.read().suite(conversation)?;
            let device = self.claim_linked(code, suite).await?;
            match self.commit_op(conversation, Op::Invite(vec![device])).await {
                Ok(()) | Err(ClientError::AlreadyMember(_)) => {}
                Err(e) => return Err(e),
            }
        }
        progress(LinkProgress::Adding { done: total, total });
        self.put_once(
            &channel,
            &to_new,
            1,
            &ToNew::Added {
                conversations: total,
            },
        )
        .await?;
        let (messages, bytes) = self.send_history(&channel, &to_new, progress).await?;
        progress(LinkProgress::Done);
        Ok(LinkReport {
            device: code.device().to_owned(),
            conversations: total,
            messages,
            bytes,
        })
    }

    /// Whether the code's device is registered for this user with the code's key.
    async fn registered_as_coded(&self, code: &LinkCode) -> Result<bool> {
        let me = self.identity.member();
        let listed = self.ds.user_devices(me.user.as_str()).await?;
        Ok(listed.devices.iter().any(|d| {
            d.device == code.device()
                && d.signature_key.0 == code.signature_key
                && d.revoked_at.is_none()
        }))
    }

    /// Writes a chunk of the link; a chunk already there means the code was used before.
    /// Returns the chunk's size.
    async fn put_once(
        &self,
        channel: &Channel,
        link: &[u8],
        index: u32,
        message: &ToNew,
    ) -> Result<u64> {
        let sealed = channel.seal(Direction::ToNew, index, message)?;
        let size = sealed.len() as u64;
        match self.ds.put_link_chunk(link, index, sealed).await {
            Ok(()) => Ok(size),
            Err(ClientError::Server {
                code: ErrorCode::Conflict,
                ..
            }) => Err(ClientError::LinkFailed("the code was used already".into())),
            Err(e) => Err(e),
        }
    }

    /// The new device's key package, checked to carry the key the code shows: the server
    /// cannot slip in a device of its own.
    async fn claim_linked(
        &mut self,
        code: &LinkCode,
        suite: conclave_protocol::CipherSuite,
    ) -> Result<super::commit::ClaimedDevice> {
        let me = self.identity.member().user.clone();
        let device = self.claim_device(&me, code.device(), suite).await?;
        let info = inspect_key_package(&Crypto::default(), device.key_package())?;
        if info.signature_key != code.signature_key {
            return Err(ClientError::UntrustedKeyPackage {
                user: me.to_string(),
                reason: "the new device's key package has another key than its code".into(),
            });
        }
        Ok(device)
    }

    /// Sends the history: the header, the batches, the end. Returns the messages and the
    /// bytes of ciphertext sent.
    async fn send_history(
        &self,
        channel: &Channel,
        link: &[u8],
        progress: &mut (dyn FnMut(LinkProgress) + Send),
    ) -> Result<(u64, u64)> {
        let (header, mut exporter) = {
            let mut store = self.store.lock();
            let tx = store.transaction()?;
            Exporter::start(&tx, self.identity.member(), self.config.link_part_messages)?
        };
        let total = header.total;
        let mut index = 2;
        let mut bytes = self
            .put_once(channel, link, index, &ToNew::Part(Part::Header(header)))
            .await?;
        let mut sent = 0;
        loop {
            let batch = {
                let mut store = self.store.lock();
                let tx = store.transaction()?;
                exporter.next_batch(&tx)?
            };
            let Some(batch) = batch else { break };
            sent += batch.messages.len() as u64;
            index += 1;
            bytes += self
                .put_once(channel, link, index, &ToNew::Part(Part::Messages(batch)))
                .await?;
            progress(LinkProgress::History { done: sent, total });
        }
        bytes += self.put_once(channel, link, index + 1, &ToNew::End).await?;
        Ok((sent, bytes))
    }

    /// The user's devices, as the server lists them.
    pub(crate) async fn own_devices(&mut self) -> Result<Vec<OwnDevice>> {
        let me = self.identity.member().clone();
        let listed = self.ds.user_devices(me.user.as_str()).await?;
        Ok(listed
            .devices
            .into_iter()
            .filter(|d| d.revoked_at.is_none())
            .filter_map(|d| {
                let id = DeviceId::new(&d.device).ok()?;
                let member = MemberId::new(me.user.clone(), id);
                let fingerprint =
                    conclave_protocol::Fingerprint::of(&member, &d.signature_key.0).digits();
                Some(OwnDevice {
                    this_device: member == me,
                    device: d.device,
                    fingerprint,
                    added_at: d.added_at,
                    last_seen: d.last_seen,
                })
            })
            .collect())
    }

    /// Revokes `device` of this user at the server, then removes its leaf from every
    /// conversation. Run again, it finishes what a crash left (a device already revoked
    /// still has its leaves removed). Returns the conversations it was removed from.
    pub(crate) async fn revoke(&mut self, device: &DeviceId) -> Result<u32> {
        let me = self.identity.member().clone();
        if device == &me.device {
            return Err(ClientError::InvalidInput(
                "this device cannot revoke itself; revoke it from another of your devices".into(),
            ));
        }
        let revoked = match self.ds.revoke_device(device.as_str()).await {
            Ok(_) => true,
            Err(ClientError::Server {
                code: ErrorCode::NotFound,
                ..
            }) => false,
            Err(e) => return Err(e),
        };
        let member = MemberId::new(me.user.clone(), device.clone());
        let mut removed = 0;
        for conversation in self.active_conversations()? {
            self.drain().await?;
            let present = self
                .read()
                .members(conversation)?
                .iter()
                .any(|m| m.id == member);
            if !present {
                continue;
            }
            self.commit_op(conversation, Op::RemoveDevices(vec![member.clone()]))
                .await?;
            removed += 1;
        }
        if !revoked && removed == 0 {
            return Err(ClientError::InvalidInput(format!(
                "{me_user} has no device {device}",
                me_user = me.user
            )));
        }
        Ok(removed)
    }

    /// This device was revoked: its groups' keys and its key packages' private keys are
    /// deleted (nothing more can be read or sent with them), its conversations marked left,
    /// and the user told. The history stays readable.
    pub(crate) fn forget_after_revocation(&mut self) -> Result<()> {
        let now = now_ms();
        let mut store = self.store.lock();
        let mut tx = store.transaction()?;
        if tx.setting(REVOKED)?.as_deref() == Some("1") {
            // Learned before (an earlier run): the UI of this run must hear it too.
            drop(tx);
            drop(store);
            self.emit(vec![ClientEvent::DeviceRevoked]);
            return Ok(());
        }
        for c in tx.conversation_list()? {
            // A conversation left before has no group any more.
            if c.left_at.is_none() {
                tx.set_left(c.id, Some(now))?;
                // A group that cannot be loaded holds no keys to delete.
                if let Err(e) = tx.delete_group(&c.group_id) {
                    tracing::warn!("deleting the group of conversation {}: {e}", c.id.0);
                }
            }
        }
        // Nothing can use its key packages any more: their private keys go too.
        let provider = tx.provider();
        for reference in tx.published_key_packages()? {
            self.identity.delete_key_package(&provider, &reference)?;
            tx.forget_key_package(&reference)?;
        }
        tx.set_setting(REVOKED, "1")?;
        tx.commit()?;
        drop(store);
        self.emit(vec![ClientEvent::DeviceRevoked]);
        Ok(())
    }

    /// Whether this device learned it was revoked.
    pub(crate) fn is_revoked(&self) -> Result<bool> {
        Ok(self
            .store
            .lock()
            .transaction()?
            .setting(REVOKED)?
            .as_deref()
            == Some("1"))
    }
}
