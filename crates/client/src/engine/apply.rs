//! Applying what a group says inside the item's transaction: stored messages, history
//! lines, trust records, and the UI events and follow-ups to hand out once it commits.

use std::collections::{HashMap, HashSet};

use conclave_delivery_api::QueueItem;
use conclave_protocol::{
    Error as MlsError, Fingerprint, Group, GroupConfig, GroupEvent, GroupId, JoinOptions,
    LeafCheck, LeafRefusal, MemberId, ProposalSummary, UserName,
};
use conclave_storage::{Conversation, ConversationId, DeviceTrust, NewMessage, Tx};

use super::FollowUp;
use super::content::{Effect, Origin};
use crate::{ClientEvent, Result};

/// What processing found, handed out after the transaction commits.
#[derive(Default)]
pub(crate) struct Outcome {
    pub(super) events: Vec<ClientEvent>,
    pub(super) followups: Vec<FollowUp>,
    /// Members whose keys must be looked up in the directory before the item can be
    /// decided: the transaction is rolled back and the item processed again.
    pub(super) lookup: Vec<MemberId>,
    /// Commits refused for a rule every honest member applies alike (group, epoch made
    /// in): refused at the server too, so that the group can go on without them.
    pub(super) refused: Vec<(GroupId, u64)>,
    /// Answers to other devices' asks for the rejoin key, to send.
    pub(super) rejoin_answers: Vec<super::ask::RejoinAnswer>,
}

/// One transaction's application of group events: the transaction, who this device is, the
/// time, and what was found.
pub(super) struct Apply<'a, 's> {
    pub(super) tx: &'a mut Tx<'s>,
    me: &'a MemberId,
    now: i64,
    pub(super) outcome: Outcome,
}

impl<'a, 's> Apply<'a, 's> {
    pub(super) fn new(tx: &'a mut Tx<'s>, me: &'a MemberId, now: i64) -> Self {
        Self {
            tx,
            me,
            now,
            outcome: Outcome::default(),
        }
    }

    /// What was found, to hand out once the transaction commits.
    pub(super) fn finish(self) -> Outcome {
        self.outcome
    }

    /// Joins a group from a Welcome queued for this device. Returns false when the
    /// transaction must be rolled back (a Welcome that cannot be used, or into a group this
    /// device is in already).
    pub(super) fn join_from_welcome(
        &mut self,
        config: &GroupConfig,
        item: &QueueItem,
        leaves: &impl LeafCheck,
    ) -> Result<bool> {
        let tree = item.ratchet_tree.as_ref().map(|t| t.0.as_slice());
        let joined = Group::join_checked(
            &self.tx.provider(),
            config,
            &item.message.0,
            tree,
            JoinOptions::default(),
            leaves,
        );
        let group = match joined {
            Ok(group) => group,
            Err(MlsError::LeavesUnknown(members)) => {
                self.outcome.lookup = members;
                return Ok(false);
            }
            Err(MlsError::LeafRefused(refusal)) => {
                let LeafRefusal { member, by, reason } = *refusal;
                self.outcome.events.push(ClientEvent::Error {
                    message: format!(
                        "refused an invitation from {by}: its group has {member} in it, but \
                         {reason}"
                    ),
                });
                return Ok(false);
            }
            Err(e) => {
                self.outcome.events.push(ClientEvent::Error {
                    message: format!(
                        "an invitation the server says is from {}/{} could not be used: {e}",
                        item.sender.user, item.sender.device
                    ),
                });
                return Ok(false);
            }
        };
        let group_id = group.id();
        let existing = self.tx.conversation_by_group(&group_id)?;
        let is_new = existing.is_none();
        let conversation = match existing {
            // Invited back into a conversation we had left: its history continues.
            Some(existing) => {
                if existing.left_at.is_none() {
                    // Already a member: a replayed Welcome. Keep the group we have.
                    return Ok(false);
                }
                self.tx.set_left(existing.id, None)?;
                self.tx.rename_conversation(existing.id, &group.name())?;
                existing.id
            }
            None => self
                .tx
                .create_conversation(&group_id, &group.name(), self.now)?,
        };
        self.tx.set_last_rotation(conversation, self.now)?;
        // Named from the Welcome's signed GroupInfo: the queue item's sender field is the
        // server's word, which an operator could change.
        let inviter = group
            .invited_by()
            .cloned()
            .unwrap_or_else(|| self.me.clone());
        // From someone this profile has never met in any group (checked before this
        // group's members are recorded): a request, which nothing is sent to until the
        // user accepts it.
        let stranger =
            inviter.user != self.me.user && self.tx.devices(Some(&inviter.user))?.is_empty();
        // Unless this device asked to join this very group by its link: the invitation is
        // the answer.
        let asked = super::join::asked_to_join(&group_id);
        let requested = self.tx.setting(&asked)?.is_some();
        if requested {
            self.tx.delete_setting(&asked)?;
        }
        if stranger && is_new && !requested {
            self.tx.set_request(conversation, true)?;
            self.outcome.events.push(ClientEvent::InvitationRequest {
                conversation,
                from: inviter.clone(),
            });
        }
        self.tx.insert_group(group);
        self.observe_members(conversation, &group_id)?;
        self.record(
            conversation,
            &inviter,
            &format!("{} added you", inviter.user),
            &format!("join/{}", item.seq),
        )?;
        self.outcome
            .events
            .push(ClientEvent::ConversationJoined { conversation });
        Ok(true)
    }

    /// Turns a group's events into stored messages, conversation changes and UI events.
    /// `leaving`: members whose own removal proposal (a leave) was stored, so that the
    /// commit applying it reads "left" rather than "removed".
    pub(super) fn events(
        &mut self,
        conversation: ConversationId,
        group_id: &GroupId,
        events: Vec<GroupEvent>,
        leaving: &HashSet<MemberId>,
        seq: Option<u64>,
    ) -> Result<()> {
        let mut epoch_tag = String::new();
        for event in &events {
            if let GroupEvent::EpochAdvanced { epoch, .. } = event {
                epoch_tag = epoch.to_string();
            }
        }
        for (index, event) in events.into_iter().enumerate() {
            let uid = format!("{epoch_tag}/{index}");
            match event {
                GroupEvent::Message {
                    sender, plaintext, ..
                } => self.message(conversation, group_id, sender, &plaintext, seq)?,
                GroupEvent::MembersAdded { by, added } => {
                    let (own, others): (Vec<MemberId>, Vec<MemberId>) =
                        added.into_iter().partition(|m| m.user == by.user);
                    let mut lines = Vec::new();
                    if !own.is_empty() {
                        let devices: Vec<&str> = own.iter().map(|m| m.device.as_str()).collect();
                        lines.push(format!(
                            "{} added a device ({})",
                            by.user,
                            devices.join(", ")
                        ));
                    }
                    if !others.is_empty() {
                        lines.push(format!("{} added {}", by.user, users_of(&others)));
                    }
                    let text = lines.join("; ");
                    self.record(conversation, &by, &text, &uid)?;
                    self.outcome
                        .events
                        .push(ClientEvent::MembersChanged { conversation });
                }
                GroupEvent::MembersRemoved { by, removed } => {
                    let (left, kicked): (Vec<MemberId>, Vec<MemberId>) =
                        removed.into_iter().partition(|m| leaving.contains(m));
                    let mut lines = Vec::new();
                    if !left.is_empty() {
                        lines.push(format!("{} left", users_of(&left)));
                    }
                    // A user removing one of their own devices (a revoked one) removes a
                    // device, not a person.
                    let (own, others): (Vec<MemberId>, Vec<MemberId>) =
                        kicked.into_iter().partition(|m| m.user == by.user);
                    if !own.is_empty() {
                        let devices: Vec<&str> = own.iter().map(|m| m.device.as_str()).collect();
                        lines.push(format!(
                            "{} removed a device ({})",
                            by.user,
                            devices.join(", ")
                        ));
                    }
                    if !others.is_empty() {
                        lines.push(format!("{} removed {}", by.user, users_of(&others)));
                    }
                    // An admin may have gone: the longest-standing member takes over then.
                    self.outcome
                        .followups
                        .push(FollowUp::Succession(conversation));
                    self.record(conversation, &by, &lines.join("; "), &uid)?;
                    self.outcome
                        .events
                        .push(ClientEvent::MembersChanged { conversation });
                }
                GroupEvent::PolicyChanged {
                    by,
                    promoted,
                    demoted,
                } => {
                    let names = |users: &[UserName]| {
                        users
                            .iter()
                            .map(UserName::as_str)
                            .collect::<Vec<_>>()
                            .join(", ")
                    };
                    let mut lines = Vec::new();
                    if !promoted.is_empty() {
                        lines.push(format!("{} made {} admin", by.user, names(&promoted)));
                    }
                    if !demoted.is_empty() {
                        lines.push(format!(
                            "{} made {} no longer admin",
                            by.user,
                            names(&demoted)
                        ));
                    }
                    if lines.is_empty() {
                        lines.push(format!("{} changed who may do what", by.user));
                    }
                    self.record(conversation, &by, &lines.join("; "), &uid)?;
                    self.outcome
                        .events
                        .push(ClientEvent::MembersChanged { conversation });
                }
                GroupEvent::MemberJoined { member, rejoin } => {
                    let text = if rejoin {
                        format!("{}'s device rejoined", member.user)
                    } else {
                        format!("{} joined with the invite link", member.user)
                    };
                    self.record(conversation, &member, &text, &uid)?;
                    self.outcome
                        .events
                        .push(ClientEvent::MembersChanged { conversation });
                }
                GroupEvent::InviteLinkChanged { by, open, approval } => {
                    let text = match (open, approval) {
                        (true, false) => format!("{} opened an invite link", by.user),
                        (true, true) => format!(
                            "{} opened an invite link (an admin approves each join)",
                            by.user
                        ),
                        (false, _) => format!("{} revoked the invite link", by.user),
                    };
                    self.record(conversation, &by, &text, &uid)?;
                }
                GroupEvent::GroupRenamed { by, name } => {
                    self.tx.rename_conversation(conversation, &name)?;
                    let text = format!("{} renamed the conversation to \"{name}\"", by.user);
                    self.record(conversation, &by, &text, &uid)?;
                    self.outcome
                        .events
                        .push(ClientEvent::ConversationRenamed { conversation, name });
                }
                GroupEvent::RemovedFromGroup { by } => {
                    let c = self.tx.conversation(conversation)?;
                    let text = if c.leave_requested {
                        "you left".to_owned()
                    } else {
                        format!("{} removed you", by.user)
                    };
                    self.tx.set_left(conversation, Some(self.now))?;
                    // The group's secrets are of no more use here: deleting them keeps past
                    // epochs' keys off the disk (and frees the group id for an invitation
                    // back).
                    self.tx.delete_group(group_id)?;
                    self.record(conversation, &by, &text, &uid)?;
                    self.outcome
                        .events
                        .push(ClientEvent::ConversationLeft { conversation, by });
                    return Ok(());
                }
                GroupEvent::ProposalStored { by, proposal } if by != *self.me => {
                    if proposal == ProposalSummary::Remove(by.clone()) {
                        // A leave: committed for it by the designated member.
                        self.outcome
                            .followups
                            .push(FollowUp::CommitProposals(conversation));
                    } else {
                        let what = match &proposal {
                            ProposalSummary::Add(member) => format!("adding {}", member.user),
                            ProposalSummary::Remove(member) => {
                                format!("removing {}", member.user)
                            }
                            ProposalSummary::Update => "a key update".to_owned(),
                            _ => "a change to the conversation".to_owned(),
                        };
                        let text = format!(
                            "{} proposed {what}; not applied (members commit only a member's \
                             own leave for it)",
                            by.user
                        );
                        // Not a commit, so no epoch names it: the queue item does.
                        let uid = format!("proposal/{}/{index}", seq.unwrap_or_default());
                        self.record(conversation, &by, &text, &uid)?;
                    }
                }
                GroupEvent::EpochAdvanced { .. } => {
                    self.observe_members(conversation, group_id)?;
                    if self.tx.conversation(conversation)?.leave_requested {
                        self.outcome.followups.push(FollowUp::Leave(conversation));
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// An application message: read as MIMI content (or the earlier format) under the id
    /// derived from its authenticated sender, and applied (content.rs has the rules). A
    /// message stored once is not stored again (a resend has the same id).
    fn message(
        &mut self,
        conversation: ConversationId,
        group_id: &GroupId,
        sender: MemberId,
        plaintext: &[u8],
        seq: Option<u64>,
    ) -> Result<()> {
        let (id, message) =
            match conclave_content::read(plaintext, sender.user.as_str(), group_id.as_bytes()) {
                Ok(read) => read,
                Err(e) => {
                    self.outcome.events.push(ClientEvent::Error {
                        message: format!("a message from {sender} could not be read: {e}"),
                    });
                    return Ok(());
                }
            };
        let applied = Effect {
            conversation,
            sender: &sender,
            me: self.me,
            id,
            message: &message,
            origin: Origin::Received(seq),
            now: self.now,
        }
        .apply(self.tx)?;
        if applied.removed_text {
            self.tx.scrub_search_index()?;
        }
        self.outcome.events.extend(applied.events);
        if let Some(stored) = applied.stored {
            self.outcome.events.push(ClientEvent::MessageReceived {
                conversation,
                message: stored,
            });
        }
        Ok(())
    }

    /// Stores a message and shows it; a message already stored (a resend, an event line
    /// written before) is neither stored nor shown again.
    fn store(&mut self, message: &NewMessage) -> Result<()> {
        if let Some(id) = self.tx.insert_message(message)?
            && let Some(stored) = self.tx.message(id)?
        {
            self.outcome.events.push(ClientEvent::MessageReceived {
                conversation: message.conversation,
                message: stored,
            });
        }
        Ok(())
    }

    /// Records every member's key (trust on first use). A changed key raises an event; a
    /// device not seen before of a user who has others raises one too and says so in the
    /// conversation's history: a user's new device is something to notice, and compare.
    pub(super) fn observe_members(
        &mut self,
        conversation: ConversationId,
        group_id: &GroupId,
    ) -> Result<()> {
        let members = self.tx.group(group_id)?.group.members()?;
        let known: HashMap<MemberId, Vec<u8>> = self
            .tx
            .devices(None)?
            .into_iter()
            .map(|d| (d.member, d.signature_key))
            .collect();
        let known_users: HashSet<&UserName> = known.keys().map(|m| &m.user).collect();
        let mut new_devices = Vec::new();
        // Fingerprints (1,024 hashes each) only for what raises an event: joining a
        // conversation of thousands meets thousands of new devices at once.
        for m in members {
            if known.get(&m.id) == Some(&m.signature_key) {
                continue;
            }
            match self.tx.observe_device(&m.id, &m.signature_key, self.now)? {
                DeviceTrust::KeyChanged { previous_key } => {
                    self.outcome.events.push(ClientEvent::KeyChanged {
                        previous_fingerprint: Fingerprint::of(&m.id, &previous_key).digits(),
                        fingerprint: m.fingerprint().digits(),
                        member: m.id,
                    })
                }
                DeviceTrust::New if known_users.contains(&m.id.user) && m.id != *self.me => {
                    new_devices.push((m.fingerprint().digits(), m.id));
                }
                _ => {}
            }
        }
        for (fingerprint, member) in new_devices {
            let text = format!("{} has a new device", member.user);
            self.record(conversation, &member, &text, &format!("device/{member}"))?;
            self.outcome.events.push(ClientEvent::NewDevice {
                member,
                fingerprint,
            });
        }
        Ok(())
    }

    /// A history line saying that `by`'s commit (queue item `seq`) was refused, and why.
    /// A commit refused by a rule every honest member applies alike: a line in the history,
    /// the server told (so that it rewinds once most members have), the user warned.
    pub(super) fn refuse(
        &mut self,
        conversation: &Conversation,
        group_id: &GroupId,
        item: &QueueItem,
        by: &MemberId,
        line: &str,
    ) -> Result<()> {
        self.record(conversation.id, by, line, &format!("refused/{}", item.seq))?;
        self.outcome.refused.push((group_id.clone(), item.epoch));
        self.outcome.events.push(ClientEvent::Error {
            message: format!("in \"{}\", {line}", conversation.name),
        });
        Ok(())
    }

    /// Writes a line about a change into the conversation's history.
    pub(super) fn record(
        &mut self,
        conversation: ConversationId,
        actor: &MemberId,
        text: &str,
        uid: &str,
    ) -> Result<()> {
        let line = NewMessage::event(conversation, actor.clone(), uid, text.to_owned(), self.now);
        self.store(&line)
    }
}

fn users_of(members: &[MemberId]) -> String {
    let mut users: Vec<&str> = members.iter().map(|m| m.user.as_str()).collect();
    users.dedup();
    users.join(", ")
}
