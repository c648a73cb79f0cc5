//! Joining by external commit: invite links (opening, revoking, joining by one, answering
//! requests to join), rejoining a group whose state this device lost or cannot go on with,
//! and keeping the group's sealed GroupInfo at the server fresh after this device's commits
//! (see `crate::invite` for the sealing, `conclave_protocol::join_keys` for what members
//! accept).

use std::time::Duration;

use conclave_delivery_api::{Envelope, JoinAnswer, LinkSetup, MessageKind as WireKind};
use conclave_protocol::{Error as MlsError, ExternalJoin, Group, GroupId, JoinKeys, UserName};
use conclave_storage::ConversationId;

use super::apply::{Apply, Outcome};
use super::{Engine, Op, now_ms, other_members};
use crate::ds::Failure;
use crate::invite::{self, InviteLink};
use crate::{ClientError, ClientEvent, Result};

/// What joining by a link did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkJoin {
    /// This device is a member now.
    Joined(ConversationId),
    /// The link needs an admin's approval: the request waits for one (an approved request
    /// arrives as an invitation).
    Requested,
}

/// The profile setting that says this device asked to join `group` by its link.
pub(super) fn asked_to_join(group: &GroupId) -> String {
    format!("asked-to-join/{}", hex::encode(group.as_bytes()))
}

/// Why this device joins by external commit.
#[derive(Clone)]
enum Reason {
    /// With an invite link (its token goes with the commit).
    Link(conclave_protocol::join_keys::Secret),
    /// Back into a conversation whose state it lost; `via`: the member whose answer gave
    /// it the rejoin key, when its own was out of date.
    Rejoin { via: Option<String> },
}

impl Engine {
    /// Seals the group's GroupInfo of its current epoch and leaves it at the server, after
    /// a commit of this device merged. Owed until it succeeds (the next sync tries again);
    /// a newer epoch's commit makes it moot.
    pub(crate) async fn publish_group_info(&mut self, conversation: ConversationId) -> Result<()> {
        let upload = {
            let mut store = self.store.lock();
            let mut tx = store.transaction()?;
            let c = tx.conversation(conversation)?;
            if c.left_at.is_some() {
                return Ok(());
            }
            let g = tx.group(&c.group_id)?;
            // A group made before join keys, or a commit not merged yet (its echo merges
            // it, and the sync after publishes).
            let Some(keys) = g.group.join_keys()? else {
                return Ok(());
            };
            if g.group.has_pending_commit() {
                return Ok(());
            }
            let info = g.group.group_info(&g.provider, &self.identity)?;
            let upload = invite::seal_group_info(&c.group_id, g.group.epoch(), &info, &keys);
            (c.group_id, upload)
        };
        match self.ds.put_group_info(&upload.0, &upload.1).await {
            Ok(()) | Err(Failure::StaleEpoch) => {
                self.group_info_owed.remove(&conversation);
                Ok(())
            }
            Err(Failure::Client(e)) => {
                self.group_info_owed.insert(conversation);
                Err(e)
            }
        }
    }

    /// Publishes the GroupInfos still owed (see [`Engine::publish_group_info`]).
    pub(crate) async fn publish_owed_group_infos(&mut self) -> Result<()> {
        let owed: Vec<ConversationId> = self.group_info_owed.iter().copied().collect();
        for conversation in owed {
            match self.publish_group_info(conversation).await {
                Ok(()) => {}
                Err(e) if e.is_offline() => return Err(e),
                Err(e) => {
                    tracing::warn!("the group's info could not be left at the server: {e}");
                    self.group_info_owed.remove(&conversation);
                }
            }
        }
        Ok(())
    }

    /// Opens an invite link (replacing any open one): a commit every member checks against
    /// the policy, then the link's token at the server. Returns the link.
    pub(crate) async fn create_link(
        &mut self,
        conversation: ConversationId,
        approval: bool,
        expires_at: Option<u64>,
    ) -> Result<InviteLink> {
        let secret = rand::random();
        let link = conclave_protocol::InviteLink { secret, approval };
        self.commit_op(conversation, Op::Link(Some(link))).await?;
        let group = self.group_of(conversation)?;
        let link = InviteLink::new(group.clone(), secret);
        let setup = LinkSetup {
            token: link.token().to_vec().into(),
            approval,
            expires_at,
        };
        self.ds.put_group_link(&group, &setup).await?;
        Ok(link)
    }

    /// Revokes the invite link: at the server first (it stops working at once), then in the
    /// group (members refuse joins by it from the next epoch on).
    pub(crate) async fn revoke_link(&mut self, conversation: ConversationId) -> Result<()> {
        let group = self.group_of(conversation)?;
        // Whether this user may is checked before anything changes.
        self.check_permitted(conversation, conclave_protocol::Action::Links)?;
        self.ds.delete_group_link(&group).await?;
        self.commit_op(conversation, Op::Link(None)).await
    }

    /// Who asked to join by the link and waits for an admin. The names are the server's
    /// word, shown to people: a request under a name that breaks the rules for user names
    /// (one made to look like a member's, say) names nobody, and is left out.
    pub(crate) async fn join_requests(
        &mut self,
        conversation: ConversationId,
    ) -> Result<Vec<conclave_delivery_api::JoinRequest>> {
        let group = self.group_of(conversation)?;
        let mut requests = self.ds.join_requests(&group).await?.requests;
        requests.retain(|r| UserName::new(&r.device.user).is_ok());
        Ok(requests)
    }

    /// The server's notice of a request to join by the link: told to the user when this
    /// device's user may approve it (the request itself is read from the server's list,
    /// which the approval checks again).
    pub(super) fn join_requested(
        &self,
        apply: &mut Apply<'_, '_>,
        item: &conclave_delivery_api::QueueItem,
    ) -> Result<()> {
        let group_id = GroupId::from_bytes(item.group_id.0.clone());
        let Some(conversation) = apply.tx.conversation_by_group(&group_id)? else {
            return Ok(());
        };
        if conversation.left_at.is_some() {
            return Ok(());
        }
        let Ok(g) = apply.tx.group(&group_id) else {
            return Ok(());
        };
        // The name is the server's word, shown to people: one that breaks the rules for
        // user names (control characters, say) names nobody, and tells nothing.
        if UserName::new(&item.sender.user).is_err() {
            return Ok(());
        }
        let me = &self.identity.member().user;
        if g.group.permits(me, conclave_protocol::Action::Add)? {
            apply.outcome.events.push(ClientEvent::JoinRequested {
                conversation: conversation.id,
                user: item.sender.user.clone(),
            });
        }
        Ok(())
    }

    /// Answers `user`'s request to join: approved (added, as an invitation adds) or declined.
    pub(crate) async fn answer_join_request(
        &mut self,
        conversation: ConversationId,
        user: &UserName,
        approve: bool,
    ) -> Result<()> {
        let group = self.group_of(conversation)?;
        let asked = self
            .ds
            .join_requests(&group)
            .await?
            .requests
            .iter()
            .any(|r| r.device.user == user.as_str());
        if !asked {
            return Err(ClientError::InvalidInput(format!(
                "{user} has not asked to join this conversation"
            )));
        }
        if approve {
            self.check_permitted(conversation, conclave_protocol::Action::Add)?;
            let suite = self.read().suite(conversation)?;
            let claimed = self.claim(std::slice::from_ref(user), suite).await?;
            match self.commit_op(conversation, Op::Invite(claimed)).await {
                Ok(()) | Err(ClientError::AlreadyMember(_)) => {}
                Err(e) => return Err(e),
            }
        }
        self.ds.answer_join_requests(&group, user.as_str()).await
    }

    /// Joins the group of `link` by external commit, or asks to, when the link needs an
    /// admin's approval.
    pub(crate) async fn join_link(&mut self, link: &InviteLink) -> Result<LinkJoin> {
        self.ensure_registered().await?;
        self.drain().await?;
        let existing = self
            .store
            .lock()
            .transaction()?
            .conversation_by_group(&link.group)?;
        if existing.as_ref().is_some_and(|c| c.left_at.is_none()) {
            return Err(ClientError::AlreadyMember(
                "you are in this conversation already".into(),
            ));
        }
        let attempts = self.config.max_commit_attempts.max(1);
        for attempt in 1..=attempts {
            let sealed = match self.ds.join_by_link(&link.group, &link.token()).await? {
                JoinAnswer::Requested => {
                    // The admin's invitation that answers it is what the user asked for:
                    // not a stranger's request (see `Apply::join_from_welcome`).
                    let mut store = self.store.lock();
                    let tx = store.transaction()?;
                    tx.set_setting(&asked_to_join(&link.group), &now_ms().to_string())?;
                    tx.commit()?;
                    return Ok(LinkJoin::Requested);
                }
                JoinAnswer::Join(sealed) => sealed,
            };
            if sealed.epoch != sealed.group_epoch && attempt < attempts {
                // The last committer has not left its GroupInfo yet.
                tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt))).await;
                continue;
            }
            let info = link.open(&sealed)?;
            let (conversation, envelope, outcome) = self
                .external_join(&link.group, &info, Reason::Link(link.token()))
                .await?;
            match self
                .finish_external_join(conversation, &envelope, attempt)
                .await
            {
                Ok(true) => {
                    self.finish(outcome);
                    return Ok(LinkJoin::Joined(conversation));
                }
                result => {
                    // Nothing of the refused join stays (it may have been the first time
                    // this profile saw the group).
                    let mut store = self.store.lock();
                    let mut tx = store.transaction()?;
                    if existing.is_none() {
                        tx.delete_conversation(conversation)?;
                    } else {
                        tx.delete_group(&link.group)?;
                        tx.set_left(conversation, Some(now_ms()))?;
                    }
                    tx.commit()?;
                    result?;
                }
            }
        }
        Err(ClientError::Contention(attempts))
    }

    /// Gets this device back into a conversation whose group it cannot go on with (its state
    /// behind the group for good, or a commit it could not process): an external commit from
    /// the latest GroupInfo that replaces its old leaf. Does nothing when the device is not
    /// behind after all. The conversation's history stays; what was sent while the device
    /// was out is missed, and a line says so.
    ///
    /// The GroupInfo opens with the rejoin key of the device's state, or with one a member
    /// sent it; when neither opens it (the key changed since the state was saved, or the
    /// state is unreadable), the device asks the other members for the current key and
    /// returns [`ClientError::RejoinAsked`]: their answer brings it back in by itself (see
    /// `ask.rs`).
    pub(crate) async fn rejoin(&mut self, conversation: ConversationId) -> Result<()> {
        let (group_id, state_keys, epoch) = {
            let mut store = self.store.lock();
            let mut tx = store.transaction()?;
            let c = tx.conversation(conversation)?;
            if c.left_at.is_some() {
                return Err(ClientError::NotAMember);
            }
            let g = tx.group(&c.group_id).ok();
            // Read once: after a failed attempt, the state stored is the attempt's, which
            // nobody accepted.
            let keys = g.as_ref().and_then(|g| g.group.join_keys().ok().flatten());
            let epoch = g.as_ref().map(|g| g.group.epoch());
            (c.group_id, keys, epoch)
        };
        let attempts = self.config.max_commit_attempts.max(1);
        for attempt in 1..=attempts {
            let sealed = match self.ds.group_info(&group_id).await {
                Ok(sealed) => sealed,
                Err(ClientError::Server {
                    code: conclave_delivery_api::ErrorCode::Forbidden,
                    ..
                }) => {
                    return Err(ClientError::CannotRejoin(
                        "the server says this device is no longer in the conversation".into(),
                    ));
                }
                Err(e) => return Err(e),
            };
            if sealed.epoch != sealed.group_epoch {
                if attempt == 1 && epoch == Some(sealed.group_epoch) {
                    return Ok(()); // not behind, and nothing to compare with yet
                }
                // The last committer has not left its GroupInfo yet.
                tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt))).await;
                continue;
            }
            let own = state_keys
                .as_ref()
                .and_then(|keys| invite::open_for_member(&sealed, keys, &group_id).ok())
                .map(|info| (info, None));
            let opened = match own {
                Some(opened) => Some(opened),
                None => self
                    .received_rejoin_key(&group_id)?
                    .and_then(|(rejoin, via)| {
                        let keys = JoinKeys { rejoin, link: None };
                        let info = invite::open_for_member(&sealed, &keys, &group_id).ok()?;
                        Some((info, Some(via)))
                    }),
            };
            let Some((info, via)) = opened else {
                return Err(self.ask_for_rejoin_key(&group_id).await?);
            };
            if attempt == 1
                && epoch == Some(sealed.group_epoch)
                && !self.apart_from(&group_id, &info)?
            {
                return Ok(()); // in step with the group: nothing to rejoin
            }
            let (_, envelope, outcome) = self
                .external_join(&group_id, &info, Reason::Rejoin { via })
                .await?;
            if self
                .finish_external_join(conversation, &envelope, attempt)
                .await?
            {
                self.forget_rejoin_ask(&group_id)?;
                let mut outcome = outcome;
                outcome.events.push(ClientEvent::Rejoined { conversation });
                self.finish(outcome);
                return Ok(());
            }
        }
        Err(ClientError::CannotRejoin(
            "the group changed faster than this device could rejoin it; try again".into(),
        ))
    }

    /// Whether this device's state of the group is not the one the GroupInfo shows (behind
    /// it, or forked off at the same epoch); a state that does not load is apart.
    fn apart_from(&mut self, group_id: &GroupId, info: &[u8]) -> Result<bool> {
        let mut store = self.store.lock();
        let mut tx = store.transaction()?;
        Ok(match tx.group(group_id) {
            Ok(g) => g.group.is_behind_or_apart(info)?,
            Err(_) => true,
        })
    }

    /// Sends an external commit made by [`Engine::external_join`]: `true` once the server
    /// took it (then the GroupInfo of the new epoch is this device's to publish), `false`
    /// when another commit won the epoch. What the join found is handed out only then: a
    /// refused join is undone.
    async fn finish_external_join(
        &mut self,
        conversation: ConversationId,
        envelope: &Envelope,
        attempt: u32,
    ) -> Result<bool> {
        match self.ds.send(envelope).await {
            Ok(_) => {
                if let Err(e) = self.publish_group_info(conversation).await {
                    tracing::debug!("group info owed: {e}");
                }
                Ok(true)
            }
            Err(Failure::StaleEpoch) => {
                let jitter = rand::random::<u64>() % (20 * u64::from(attempt));
                tokio::time::sleep(Duration::from_millis(jitter)).await;
                Ok(false)
            }
            Err(Failure::Client(e)) => Err(e),
        }
    }

    /// Makes the external commit into `group` from its GroupInfo, in one transaction with
    /// the conversation it belongs to (made or found) and a history line; the members'
    /// leaves are checked against the directory, looked up first where unknown.
    async fn external_join(
        &mut self,
        group: &GroupId,
        info: &[u8],
        reason: Reason,
    ) -> Result<(ConversationId, Envelope, Outcome)> {
        self.directory.start_item();
        for _ in 0..2 {
            match self.try_external_join(group, info, &reason)? {
                Ok(made) => return Ok(made),
                Err(unknown) => {
                    let users: Vec<UserName> = unknown
                        .into_iter()
                        .map(|m| m.user)
                        .collect::<std::collections::BTreeSet<_>>()
                        .into_iter()
                        .collect();
                    for batch in users.chunks(1000) {
                        let response = self.ds.directory(batch).await?;
                        self.directory.learn(batch, response);
                    }
                }
            }
        }
        Err(ClientError::BadResponse(
            "the directory did not answer for the users asked".into(),
        ))
    }

    /// [`Engine::external_join`]'s transaction, or the members to look up first.
    #[allow(clippy::type_complexity)]
    fn try_external_join(
        &mut self,
        group_id: &GroupId,
        info: &[u8],
        reason: &Reason,
    ) -> Result<
        std::result::Result<(ConversationId, Envelope, Outcome), Vec<conclave_protocol::MemberId>>,
    > {
        let identity = self.identity.clone();
        let me = identity.member().clone();
        let now = now_ms();
        let mut store = self.store.lock();
        let mut tx = store.transaction()?;
        let existing = tx.conversation_by_group(group_id)?;
        if existing.is_some() {
            // Whatever state is there goes: it is what could not go on. (A state that does
            // not load at all is overwritten by the join.)
            if let Err(e) = tx.delete_group(group_id) {
                tracing::debug!("the old state of the group did not load: {e}");
            }
        }
        let directory = &self.directory;
        let leaves =
            |member: &conclave_protocol::MemberId, key: &[u8]| directory.verdict(member, key);
        let joined = Group::join_external(
            &tx.provider(),
            &identity,
            &self.config.group,
            info,
            group_id,
            &leaves,
        );
        let (group, bundle, kind) = match joined {
            Ok(joined) => joined,
            Err(MlsError::LeavesUnknown(members)) => return Ok(Err(members)),
            Err(e) => return Err(e.into()),
        };
        if matches!(reason, Reason::Rejoin { .. }) && kind != ExternalJoin::Rejoin {
            return Err(ClientError::CannotRejoin(
                "this device is no longer in the group: a member must invite it again".into(),
            ));
        }
        // Everyone but this device: its group is in the new epoch already (an external
        // commit is never pending), and a joiner is on no roster to receive it.
        let recipients = other_members(&group, &identity)?;
        let conversation = match &existing {
            Some(c) => {
                tx.set_left(c.id, None)?;
                tx.rename_conversation(c.id, &group.name())?;
                c.id
            }
            None => tx.create_conversation(group_id, &group.name(), now)?,
        };
        tx.set_last_rotation(conversation, now)?;
        tx.insert_group(group);
        let missed = "messages sent while it was out of the conversation could not be read on it";
        let (line, token) = match reason {
            Reason::Link(token) => ("you joined with an invite link".to_owned(), Some(*token)),
            Reason::Rejoin { via: None } => (format!("this device rejoined; {missed}"), None),
            // Whose word it took (see `conclave_protocol::rejoin_ask`).
            Reason::Rejoin { via: Some(via) } => (
                format!("this device rejoined with the key {via} gave it; {missed}"),
                None,
            ),
        };
        let mut apply = Apply::new(&mut tx, &me, now);
        apply.observe_members(conversation, group_id)?;
        apply.record(
            conversation,
            &me,
            &line,
            &format!("external/{}", bundle.epoch + 1),
        )?;
        let mut outcome = apply.finish();
        if existing.is_none() {
            outcome
                .events
                .push(ClientEvent::ConversationJoined { conversation });
        }
        outcome
            .events
            .push(ClientEvent::MembersChanged { conversation });
        tx.commit()?;
        Ok(Ok((
            conversation,
            Envelope {
                group_id: group_id.as_bytes().to_vec().into(),
                epoch: bundle.epoch,
                kind: WireKind::Commit,
                recipients,
                message: bundle.commit.into(),
                welcome: None,
                removed: Vec::new(),
                link_token: token.map(|t| t.to_vec().into()),
            },
            outcome,
        )))
    }

    /// The group of a conversation this device is in.
    fn group_of(&mut self, conversation: ConversationId) -> Result<GroupId> {
        let c = self
            .store
            .lock()
            .transaction()?
            .conversation(conversation)?;
        if c.left_at.is_some() {
            return Err(ClientError::NotAMember);
        }
        Ok(c.group_id)
    }

    /// Refuses what the group's policy does not let this device's user do.
    fn check_permitted(
        &mut self,
        conversation: ConversationId,
        action: conclave_protocol::Action,
    ) -> Result<()> {
        let mut store = self.store.lock();
        let mut tx = store.transaction()?;
        let c = tx.conversation(conversation)?;
        let g = tx.group(&c.group_id)?;
        if g.group.permits(&self.identity.member().user, action)? {
            Ok(())
        } else {
            Err(ClientError::NotPermitted(format!(
                "only admins may {action} here"
            )))
        }
    }
}
