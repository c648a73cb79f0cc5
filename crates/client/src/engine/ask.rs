//! Asking the other members for a group's rejoin key when this device's is out of date (a
//! profile restored from a backup made before a removal), and answering such asks from
//! other members' devices (see `conclave_protocol::rejoin_ask`).
//!
//! The ask's seed, kept in the profile until the answer arrives, is `rejoin-ask/<group>`:
//! `<seed hex>:<asked at, ms>`. The key an answer brings is `rejoin-key/<group>`:
//! `<key hex>:<who gave it>`, until the rejoin uses it.

use conclave_delivery_api::{DeviceRef, QueueItem};
use conclave_protocol::join_keys::Secret;
use conclave_protocol::{CipherSuite, GroupId, MemberId, RejoinAsk};

use super::apply::Apply;
use super::{Engine, FollowUp, now_ms};
use crate::ds::Failure;
use crate::{ClientError, Result};

/// How long an ask waits for an answer before the device may ask again (the server takes
/// one ask a minute from a device).
const ASK_RETRY_MS: i64 = 60_000;

fn ask_setting(group: &GroupId) -> String {
    format!("rejoin-ask/{}", group.to_hex())
}

fn key_setting(group: &GroupId) -> String {
    format!("rejoin-key/{}", group.to_hex())
}

/// An answer to send: the group, the asker, the sealed key.
pub(super) type RejoinAnswer = (GroupId, DeviceRef, Vec<u8>);

impl Engine {
    /// Asks the group's other members for its rejoin key, unless an ask of this device is
    /// less than a minute old. Either way the rejoin now waits for an answer.
    pub(super) async fn ask_for_rejoin_key(&mut self, group: &GroupId) -> Result<ClientError> {
        let waiting = ClientError::RejoinAsked;
        let ask = {
            let mut store = self.store.lock();
            let mut tx = store.transaction()?;
            let outstanding = tx.setting(&ask_setting(group))?.and_then(|value| {
                let (_, at) = value.split_once(':')?;
                at.parse::<i64>().ok()
            });
            if outstanding.is_some_and(|at| now_ms() - at < ASK_RETRY_MS) {
                return Ok(waiting);
            }
            let ask = RejoinAsk::new(&tx.provider())?;
            let suite = self.rejoin_suite(&mut tx, group);
            let message = ask.message(&tx.provider(), &self.identity, group, suite)?;
            let value = format!("{}:{}", hex::encode(ask.seed()), now_ms());
            tx.set_setting(&ask_setting(group), &value)?;
            tx.commit()?;
            message
        };
        match self.ds.ask_rejoin(group, ask).await {
            Ok(()) => Ok(waiting),
            // The server takes no ask now (this device asked within the minute from another
            // run of the profile, or the group's asks for the minute are used up): the next
            // try after the minute asks again.
            Err(Failure::Client(ClientError::Server {
                code: conclave_delivery_api::ErrorCode::RateLimited,
                ..
            })) => Ok(waiting),
            Err(Failure::Client(e)) => Err(e),
            Err(Failure::StaleEpoch) => Err(ClientError::BadResponse(
                "the server answered an ask with a stale epoch".into(),
            )),
        }
    }

    /// The rejoin key a member's answer brought this device for `group`, if any, and who
    /// gave it.
    pub(super) fn received_rejoin_key(
        &mut self,
        group: &GroupId,
    ) -> Result<Option<(Secret, String)>> {
        let mut store = self.store.lock();
        let tx = store.transaction()?;
        Ok(tx.setting(&key_setting(group))?.and_then(|text| {
            let (key, via) = text.split_once(':')?;
            let key = Secret::try_from(hex::decode(key).ok()?.as_slice()).ok()?;
            Some((key, via.to_owned()))
        }))
    }

    /// Forgets the ask and the key it brought, once this device is back in.
    pub(super) fn forget_rejoin_ask(&mut self, group: &GroupId) -> Result<()> {
        let mut store = self.store.lock();
        let tx = store.transaction()?;
        tx.delete_setting(&ask_setting(group))?;
        tx.delete_setting(&key_setting(group))?;
        tx.commit()?;
        Ok(())
    }

    /// Another member's device asks for the rejoin key: answered (the answer is sent after
    /// the item) when its leaf in this device's current epoch signed it; anything else is
    /// dropped, and changes nothing.
    pub(super) fn answer_rejoin_ask(&self, apply: &mut Apply<'_, '_>, item: &QueueItem) {
        let group_id = GroupId::from_bytes(item.group_id.0.clone());
        let answered = (|| {
            let conversation = apply.tx.conversation_by_group(&group_id).ok()??;
            if conversation.left_at.is_some() {
                return None;
            }
            let g = apply.tx.group(&group_id).ok()?;
            match g
                .group
                .answer_rejoin_ask(&g.provider, &self.identity, &item.message.0)
            {
                Ok(answer) => Some(answer),
                Err(e) => {
                    tracing::info!("an ask for the rejoin key is not answered: {e}");
                    None
                }
            }
        })();
        if let Some((asker, key)) = answered
            && asker != *self.identity.member()
        {
            let device = DeviceRef {
                user: asker.user.as_str().to_owned(),
                device: asker.device.as_str().to_owned(),
            };
            apply.outcome.rejoin_answers.push((group_id, device, key));
        }
    }

    /// A member's answer to this device's ask: the key is kept, and the rejoin tried. An
    /// answer is taken only from a device this one knows by its signature key: a member in
    /// its old state of the group or, when that state does not load, a device of its trust
    /// store. One that does not open with the ask this device keeps, or that is not signed
    /// by such a device, is dropped.
    pub(super) fn take_rejoin_key(
        &self,
        apply: &mut Apply<'_, '_>,
        item: &QueueItem,
    ) -> Result<()> {
        let group_id = GroupId::from_bytes(item.group_id.0.clone());
        let Some(seed) = apply
            .tx
            .setting(&ask_setting(&group_id))?
            .and_then(|value| hex::decode(value.split_once(':')?.0).ok())
            .and_then(|bytes| Secret::try_from(bytes.as_slice()).ok())
        else {
            return Ok(()); // answered already, or never asked
        };
        let Some(conversation) = apply.tx.conversation_by_group(&group_id)? else {
            return Ok(());
        };
        let members = (apply.tx.group(&group_id).ok()).and_then(|g| g.group.members().ok());
        let known: Vec<(MemberId, Vec<u8>)> = match members {
            Some(members) => members
                .into_iter()
                .map(|m| (m.id, m.signature_key))
                .collect(),
            None => apply
                .tx
                .devices(None)?
                .into_iter()
                .map(|d| (d.member, d.signature_key))
                .collect(),
        };
        let key_of = |member: &MemberId| {
            known
                .iter()
                .find(|(id, _)| id == member)
                .map(|(_, key)| key.clone())
        };
        let ask = RejoinAsk::from_seed(seed);
        let answer = &item.message.0;
        let suite = self.rejoin_suite(apply.tx, &group_id);
        match ask.open(&apply.tx.provider(), &group_id, suite, answer, key_of) {
            Ok((answerer, key)) => {
                let value = format!("{}:{answerer}", hex::encode(key));
                apply.tx.set_setting(&key_setting(&group_id), &value)?;
                apply
                    .outcome
                    .followups
                    .push(FollowUp::Rejoin(conversation.id));
            }
            Err(e) => tracing::info!("an answer to this device's ask does not open: {e}"),
        }
        Ok(())
    }

    /// The suite an ask for `group` is made and opened in: the suite of this device's
    /// (old) state of the group, which the members' answer must be sealed in; the device's
    /// own suite when that state does not load (a group in another suite then refuses the
    /// ask, and the device is invited again instead).
    fn rejoin_suite(&self, tx: &mut conclave_storage::Tx<'_>, group: &GroupId) -> CipherSuite {
        tx.group(group)
            .ok()
            .and_then(|g| g.group.ciphersuite().ok())
            .unwrap_or_else(|| self.identity.ciphersuite())
    }

    /// Sends the answers to other devices' asks found while processing; one that cannot
    /// be sent is dropped (the asker asks again).
    pub(super) async fn send_rejoin_answers(&mut self) {
        for (group, device, key) in std::mem::take(&mut self.rejoin_answers) {
            if let Err(e) = self.ds.answer_rejoin(&group, device, key).await {
                tracing::info!("an answer to an ask for the rejoin key was not sent: {e}");
            }
        }
    }
}
