//! What the command prints: one type per result, printed as one JSON object with `--json`
//! and as lines for people otherwise. The JSON field names are the scripting interface.

use conclave_client::display::{digit_groups, timestamp};
use conclave_client::{
    Annotations, ClientError, ClientEvent, ConversationId, ConversationSummary, KnownDevice,
    Member, MessageKind, MessageState, Quote, SecurityInfo, StoredMessage,
};
use serde::Serialize;

/// A result the command prints.
pub trait Report: Serialize {
    /// The lines for people (nothing printed when empty).
    fn text(&self) -> String;
}

/// Where results go: JSON objects or lines, on standard output.
pub struct Output {
    pub json: bool,
}

impl Output {
    pub fn print(&self, report: &impl Report) {
        if self.json {
            match serde_json::to_string(report) {
                Ok(line) => println!("{line}"),
                Err(e) => eprintln!("error: cannot encode the result: {e}"),
            }
        } else {
            let text = report.text();
            if !text.is_empty() {
                println!("{text}");
            }
        }
    }
}

fn lines<T>(items: &[T], line: impl Fn(&T) -> String) -> String {
    items.iter().map(line).collect::<Vec<_>>().join("\n")
}

pub fn state_name(state: MessageState) -> &'static str {
    match state {
        MessageState::Pending => "pending",
        MessageState::Sent => "sent",
        MessageState::Failed => "failed",
        MessageState::Received => "received",
    }
}

// ---------------------------------------------------------------------- profile

/// `init` and `whoami`.
#[derive(Serialize)]
pub struct Profile {
    pub user: String,
    pub device: String,
    pub server: String,
    pub fingerprint: String,
    /// The profile directory, when it was just created.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
}

impl Report for Profile {
    fn text(&self) -> String {
        let me = format!("{}/{}", self.user, self.device);
        let fingerprint = digit_groups(&self.fingerprint);
        match &self.profile {
            Some(dir) => format!(
                "created {me} on {}\nprofile: {dir}\nfingerprint: {fingerprint}",
                self.server
            ),
            None => format!("{me} on {}\nfingerprint: {fingerprint}", self.server),
        }
    }
}

/// `users`.
#[derive(Serialize)]
pub struct Devices {
    pub devices: Vec<DeviceRow>,
}

#[derive(Serialize)]
pub struct DeviceRow {
    pub user: String,
    pub device: String,
    pub fingerprint: String,
    pub verified: bool,
}

impl From<&KnownDevice> for DeviceRow {
    fn from(d: &KnownDevice) -> Self {
        Self {
            user: d.member.user.to_string(),
            device: d.member.device.to_string(),
            fingerprint: d.fingerprint.clone(),
            verified: d.verified,
        }
    }
}

impl Report for Devices {
    fn text(&self) -> String {
        lines(&self.devices, |d| {
            format!(
                "{}/{}  {}{}",
                d.user,
                d.device,
                digit_groups(&d.fingerprint),
                if d.verified { "  verified" } else { "" }
            )
        })
    }
}

// ---------------------------------------------------------------------- conversations

/// `list`.
#[derive(Serialize)]
pub struct Conversations {
    pub conversations: Vec<ConversationRow>,
}

#[derive(Serialize)]
pub struct ConversationRow {
    pub id: i64,
    pub name: String,
    pub unread: u64,
    pub left: bool,
    /// An invitation from someone new, not accepted yet.
    pub request: bool,
    pub last_message: Option<String>,
}

impl From<&ConversationSummary> for ConversationRow {
    fn from(s: &ConversationSummary) -> Self {
        Self {
            id: s.conversation.id.0,
            name: s.conversation.name.clone(),
            unread: s.unread,
            left: s.conversation.left_at.is_some(),
            request: s.conversation.request,
            last_message: s.last_message.as_ref().map(|m| m.message.body.clone()),
        }
    }
}

impl Report for Conversations {
    fn text(&self) -> String {
        lines(&self.conversations, |c| {
            format!(
                "[{}] {}{}{}{}",
                c.id,
                c.name,
                if c.unread > 0 {
                    format!("  ({} unread)", c.unread)
                } else {
                    String::new()
                },
                if c.left { "  (left)" } else { "" },
                if c.request {
                    "  (request: accept or decline)"
                } else {
                    ""
                }
            )
        })
    }
}

/// `sync`.
#[derive(Serialize)]
pub struct Synced {
    pub applied: usize,
}

impl Report for Synced {
    fn text(&self) -> String {
        format!("{} item(s) applied", self.applied)
    }
}

/// `passphrase`.
#[derive(Serialize)]
pub struct PassphraseSet {
    pub profile: String,
}

impl Report for PassphraseSet {
    fn text(&self) -> String {
        format!("{} is encrypted with the new passphrase", self.profile)
    }
}

/// `create`.
#[derive(Serialize)]
pub struct Created {
    pub id: i64,
    pub name: String,
}

impl Report for Created {
    fn text(&self) -> String {
        format!("created [{}] {}", self.id, self.name)
    }
}

/// `rename`.
#[derive(Serialize)]
pub struct Renamed {
    pub id: i64,
    pub name: String,
}

impl Report for Renamed {
    fn text(&self) -> String {
        format!("renamed to {}", self.name)
    }
}

/// `promote` and `demote`.
#[derive(Serialize)]
pub struct RoleChanged {
    pub id: i64,
    pub user: String,
    pub admin: bool,
}

impl Report for RoleChanged {
    fn text(&self) -> String {
        if self.admin {
            format!("{} is an admin", self.user)
        } else {
            format!("{} is no longer an admin", self.user)
        }
    }
}

/// `policy`: who is an admin, and who may do what ("admins" or "members").
#[derive(Serialize)]
pub struct PolicyReport {
    pub id: i64,
    /// False for a conversation made before roles: everyone may do everything.
    pub roles: bool,
    pub admins: Vec<String>,
    pub add: &'static str,
    pub remove: &'static str,
    pub rename: &'static str,
    pub links: &'static str,
    pub change_policy: &'static str,
}

impl PolicyReport {
    pub fn new(id: i64, policy: Option<conclave_client::Policy>) -> Self {
        use conclave_client::{Action, Role};
        let who = |action: Action| match policy.as_ref().map(|p| p.role_for(action)) {
            Some(Role::Admin) => "admins",
            _ => "members",
        };
        Self {
            id,
            roles: policy.is_some(),
            admins: policy
                .as_ref()
                .map(|p| p.admins.iter().map(|u| u.to_string()).collect())
                .unwrap_or_default(),
            add: who(Action::Add),
            remove: who(Action::Remove),
            rename: who(Action::Rename),
            links: who(Action::Links),
            change_policy: who(Action::ChangePolicy),
        }
    }
}

impl Report for PolicyReport {
    fn text(&self) -> String {
        if !self.roles {
            return "no roles (made before them): every member may do everything".into();
        }
        format!(
            "admins: {}\nadd members: {}\nremove members: {}\nrename: {}\ninvite links: {}\n\
             change admins or rules: {}",
            self.admins.join(", "),
            self.add,
            self.remove,
            self.rename,
            self.links,
            self.change_policy
        )
    }
}

/// `invite`.
#[derive(Serialize)]
pub struct Invited {
    pub id: i64,
    pub invited: String,
}

impl Report for Invited {
    fn text(&self) -> String {
        format!("invited {}", self.invited)
    }
}

/// `remove`.
#[derive(Serialize)]
pub struct Removed {
    pub id: i64,
    pub removed: String,
}

impl Report for Removed {
    fn text(&self) -> String {
        format!("removed {}", self.removed)
    }
}

/// `leave`.
#[derive(Serialize)]
pub struct Leaving {
    pub id: i64,
    pub leaving: bool,
}

impl Report for Leaving {
    fn text(&self) -> String {
        "asked the other members to remove this device".to_owned()
    }
}

/// `accept`.
#[derive(Serialize)]
pub struct Accepted {
    pub id: i64,
    pub accepted: bool,
}

impl Report for Accepted {
    fn text(&self) -> String {
        "accepted: you can write to this conversation now".to_owned()
    }
}

/// `members`: the members and the conversation's security state.
#[derive(Serialize)]
pub struct Members {
    pub members: Vec<MemberRow>,
    pub epoch: u64,
    pub epoch_authenticator: String,
    pub ciphersuite: String,
}

#[derive(Serialize)]
pub struct MemberRow {
    pub user: String,
    pub device: String,
    pub fingerprint: String,
    pub safety_number: String,
    pub verified: bool,
    pub me: bool,
    /// "admin" or "member".
    pub role: &'static str,
}

impl Members {
    pub fn new(members: &[Member], security: SecurityInfo) -> Self {
        Self {
            members: members
                .iter()
                .map(|m| MemberRow {
                    user: m.id.user.to_string(),
                    device: m.id.device.to_string(),
                    fingerprint: m.fingerprint.clone(),
                    safety_number: m.safety_number.clone(),
                    verified: m.verified,
                    me: m.is_me,
                    role: if m.admin { "admin" } else { "member" },
                })
                .collect(),
            epoch: security.epoch,
            epoch_authenticator: security.epoch_authenticator,
            ciphersuite: security.ciphersuite,
        }
    }
}

impl Report for Members {
    fn text(&self) -> String {
        let mut text: Vec<String> = self
            .members
            .iter()
            .map(|m| {
                format!(
                    "{}/{}{}{}{}",
                    m.user,
                    m.device,
                    if m.role == "admin" { "  admin" } else { "" },
                    if m.me { "  (you)" } else { "" },
                    if m.verified { "  verified" } else { "" }
                )
            })
            .collect();
        text.push(format!(
            "epoch {}  authenticator {}  {}",
            self.epoch, self.epoch_authenticator, self.ciphersuite
        ));
        text.join("\n")
    }
}

/// `verify`.
#[derive(Serialize)]
pub struct Verified {
    pub user: String,
    pub verified: Vec<SafetyRow>,
}

#[derive(Serialize)]
pub struct SafetyRow {
    pub device: String,
    pub safety_number: String,
}

impl Report for Verified {
    fn text(&self) -> String {
        lines(&self.verified, |d| {
            format!(
                "{}/{}  {}  verified",
                self.user,
                d.device,
                digit_groups(&d.safety_number)
            )
        })
    }
}

// ---------------------------------------------------------------------- messages

/// `send`.
#[derive(Serialize)]
pub struct Sent {
    pub conversation: i64,
    pub message: i64,
    pub state: &'static str,
}

impl Report for Sent {
    fn text(&self) -> String {
        match self.state {
            "pending" => "queued: the server is unreachable; it is sent on the next sync".into(),
            other => other.to_owned(),
        }
    }
}

/// `react`, `edit`, `delete`: what was done to which message.
#[derive(Serialize)]
pub struct Changed {
    pub conversation: i64,
    pub message: i64,
    /// `reacted`, `unreacted`, `edited`, `deleted`.
    pub change: &'static str,
}

impl Report for Changed {
    fn text(&self) -> String {
        format!("message {} {}", self.message, self.change)
    }
}

/// `save-file`: where the file went.
#[derive(Serialize)]
pub struct Saved {
    pub message: i64,
    pub path: String,
    pub size: u64,
}

impl Report for Saved {
    fn text(&self) -> String {
        format!("saved {} bytes to {}", self.size, self.path)
    }
}

/// `expire`: the conversation's disappearing-message timer.
#[derive(Serialize)]
pub struct Timer {
    pub conversation: i64,
    /// Seconds; 0: off.
    pub seconds: u32,
}

impl Report for Timer {
    fn text(&self) -> String {
        if self.seconds == 0 {
            "disappearing messages off".into()
        } else {
            format!(
                "new messages disappear after {}",
                conclave_client::display::duration(u64::from(self.seconds))
            )
        }
    }
}

/// `read`: the conversation is read up to this message.
#[derive(Serialize)]
pub struct Read {
    pub conversation: i64,
    pub up_to: Option<i64>,
}

impl Report for Read {
    fn text(&self) -> String {
        match self.up_to {
            Some(m) => format!("read up to message {m}"),
            None => "nothing to read".into(),
        }
    }
}

/// `receipts`: whether read receipts are sent and shown.
#[derive(Serialize)]
pub struct Receipts {
    pub receipts: bool,
}

impl Report for Receipts {
    fn text(&self) -> String {
        format!("read receipts {}", if self.receipts { "on" } else { "off" })
    }
}

/// One stored message, with what is shown around it.
#[derive(Serialize)]
pub struct MessageRow {
    pub id: i64,
    pub conversation: i64,
    pub sender: String,
    pub user: String,
    pub sent_at: i64,
    pub kind: &'static str,
    pub body: String,
    pub state: &'static str,
    /// The MIMI message id (hex; event lines: their local name).
    pub uid: String,
    /// The message it answers: its local id, author and text when this device has it.
    pub reply_to: Option<ReplyRow>,
    pub reactions: Vec<ReactionRow>,
    pub edited: bool,
    pub deleted: bool,
    pub attachment: Option<AttachmentRow>,
    /// When it disappears (ms since the Unix epoch).
    pub expires_at: Option<i64>,
    pub read_by: Vec<String>,
    /// Who has received it (a delivery or read receipt covers it).
    pub delivered_to: Vec<String>,
}

/// The message a reply answers.
#[derive(Serialize)]
pub struct ReplyRow {
    /// Its local id; null when it is not on this device.
    pub id: Option<i64>,
    pub available: bool,
    pub user: Option<String>,
    pub body: Option<String>,
}

/// One reaction.
#[derive(Serialize)]
pub struct ReactionRow {
    pub user: String,
    pub emoji: String,
}

/// An attachment's card.
#[derive(Serialize)]
pub struct AttachmentRow {
    pub name: String,
    pub size: u64,
    pub content_type: String,
}

impl MessageRow {
    /// A message with its annotations (none for search results and events).
    pub fn new(m: &StoredMessage, annotations: Option<&Annotations>) -> Self {
        let empty = Annotations::default();
        let a = annotations.unwrap_or(&empty);
        let reply_to = match (&m.message.reply_to, &a.reply) {
            (None, _) => None,
            (Some(_), Some(Quote::Message { id, user, body, .. })) => Some(ReplyRow {
                id: Some(id.0),
                available: true,
                user: Some(user.clone()),
                body: Some(body.clone()),
            }),
            (Some(_), _) => Some(ReplyRow {
                id: None,
                available: false,
                user: None,
                body: None,
            }),
        };
        let attachment = m
            .message
            .attachment
            .as_deref()
            .and_then(|bytes| conclave_client::content::ExternalPart::decode(bytes).ok())
            .map(|part| AttachmentRow {
                name: part.filename,
                size: part.size,
                content_type: part.content_type,
            });
        Self {
            id: m.id.0,
            conversation: m.message.conversation.0,
            sender: m.message.sender.to_string(),
            user: m.message.sender.user.to_string(),
            sent_at: m.message.sent_at,
            kind: match m.message.kind {
                MessageKind::Text => "text",
                MessageKind::Event => "event",
                MessageKind::Attachment => "attachment",
                _ => "unsupported",
            },
            body: m.message.body.clone(),
            state: state_name(m.message.state),
            uid: hex::encode(&m.message.uid),
            reply_to,
            reactions: a
                .reactions
                .iter()
                .map(|(user, emoji)| ReactionRow {
                    user: user.clone(),
                    emoji: emoji.clone(),
                })
                .collect(),
            edited: m.edited_at.is_some(),
            deleted: m.deleted_at.is_some(),
            attachment,
            expires_at: m.message.expires_at,
            read_by: a.read_by.clone(),
            delivered_to: a.delivered_to.clone(),
        }
    }

    /// `[ID] TIME  user: text (edited)`, with the quoted reply above and reactions below.
    pub fn line(&self) -> String {
        let time = timestamp(self.sent_at);
        if self.kind == "event" {
            return format!("[{}] {time}  * {}", self.id, self.body);
        }
        let mut out = String::new();
        if let Some(reply) = &self.reply_to {
            match (&reply.user, &reply.body) {
                (Some(user), Some(body)) => {
                    out.push_str(&format!("  > {user}: {}\n", first_line(body)))
                }
                _ => out.push_str("  > (message not available)\n"),
            }
        }
        let body = if self.deleted {
            "(message deleted)".to_owned()
        } else if let Some(a) = &self.attachment {
            format!("[file: {} ({} bytes)]", a.name, a.size)
        } else {
            self.body.clone()
        };
        let mut marks = String::new();
        if self.edited && !self.deleted {
            marks.push_str("  (edited)");
        }
        match self.state {
            "pending" => marks.push_str("  (pending)"),
            "failed" => marks.push_str("  (failed)"),
            _ => {}
        }
        if self.expires_at.is_some() {
            marks.push_str("  (disappearing)");
        }
        if !self.read_by.is_empty() {
            marks.push_str(&format!("  (read by {})", self.read_by.join(", ")));
        } else if !self.delivered_to.is_empty() {
            marks.push_str(&format!(
                "  (delivered to {})",
                self.delivered_to.join(", ")
            ));
        }
        out.push_str(&format!(
            "[{}] {time}  {}: {body}{marks}",
            self.id, self.user
        ));
        if !self.reactions.is_empty() {
            let reactions: Vec<String> = self
                .reactions
                .iter()
                .map(|r| format!("{} {}", r.emoji, r.user))
                .collect();
            out.push_str(&format!("\n      {}", reactions.join("  ")));
        }
        out
    }
}

fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default();
    if line.chars().count() > 60 {
        format!("{}…", line.chars().take(60).collect::<String>())
    } else {
        line.to_owned()
    }
}

/// `history`, oldest first.
#[derive(Serialize)]
pub struct History {
    pub conversation: i64,
    pub messages: Vec<MessageRow>,
}

impl Report for History {
    fn text(&self) -> String {
        lines(&self.messages, MessageRow::line)
    }
}

/// `search`.
#[derive(Serialize)]
pub struct SearchResults {
    pub results: Vec<MessageRow>,
}

impl Report for SearchResults {
    fn text(&self) -> String {
        lines(&self.results, |m| {
            format!("[{}] {}", m.conversation, m.line())
        })
    }
}

// ---------------------------------------------------------------------- events

/// One event of `listen`.
#[derive(Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    Message {
        conversation: i64,
        message: Box<MessageRow>,
    },
    MessageState {
        conversation: i64,
        message: i64,
        state: &'static str,
    },
    MessageChanged {
        conversation: i64,
        message: i64,
    },
    MessagesRemoved {
        conversation: i64,
        messages: Vec<i64>,
    },
    Receipts {
        conversation: i64,
    },
    Typing {
        conversation: i64,
        user: String,
    },
    MembersChanged {
        conversation: i64,
    },
    Renamed {
        conversation: i64,
        name: String,
    },
    Joined {
        conversation: i64,
    },
    Request {
        conversation: i64,
        from: String,
    },
    JoinRequest {
        conversation: i64,
        user: String,
    },
    Left {
        conversation: i64,
        by: String,
    },
    KeyChanged {
        member: String,
        previous_fingerprint: String,
        fingerprint: String,
    },
    NewDevice {
        member: String,
        fingerprint: String,
    },
    Connection {
        state: String,
    },
    Revoked,
    Error {
        message: String,
    },
}

impl Event {
    /// The event as printed; `None` for events the command does not show.
    pub fn of(event: &ClientEvent) -> Option<Event> {
        let id = |c: &ConversationId| c.0;
        Some(match event {
            ClientEvent::MessageReceived {
                conversation,
                message,
            } => Event::Message {
                conversation: id(conversation),
                message: Box::new(MessageRow::new(message, None)),
            },
            ClientEvent::MessageChanged {
                conversation,
                message,
            } => Event::MessageChanged {
                conversation: id(conversation),
                message: message.0,
            },
            ClientEvent::MessagesRemoved {
                conversation,
                messages,
            } => Event::MessagesRemoved {
                conversation: id(conversation),
                messages: messages.iter().map(|m| m.0).collect(),
            },
            ClientEvent::Receipts { conversation } => Event::Receipts {
                conversation: id(conversation),
            },
            ClientEvent::Typing { conversation, user } => Event::Typing {
                conversation: id(conversation),
                user: user.to_string(),
            },
            ClientEvent::MessageStateChanged {
                conversation,
                message,
                state,
            } => Event::MessageState {
                conversation: id(conversation),
                message: message.0,
                state: state_name(*state),
            },
            ClientEvent::MembersChanged { conversation } => Event::MembersChanged {
                conversation: id(conversation),
            },
            ClientEvent::ConversationRenamed { conversation, name } => Event::Renamed {
                conversation: id(conversation),
                name: name.clone(),
            },
            ClientEvent::ConversationJoined { conversation } => Event::Joined {
                conversation: id(conversation),
            },
            ClientEvent::InvitationRequest { conversation, from } => Event::Request {
                conversation: id(conversation),
                from: from.to_string(),
            },
            ClientEvent::JoinRequested { conversation, user } => Event::JoinRequest {
                conversation: id(conversation),
                user: user.clone(),
            },
            ClientEvent::ConversationLeft { conversation, by } => Event::Left {
                conversation: id(conversation),
                by: by.to_string(),
            },
            ClientEvent::KeyChanged {
                member,
                previous_fingerprint,
                fingerprint,
            } => Event::KeyChanged {
                member: member.to_string(),
                previous_fingerprint: previous_fingerprint.clone(),
                fingerprint: fingerprint.clone(),
            },
            ClientEvent::NewDevice {
                member,
                fingerprint,
            } => Event::NewDevice {
                member: member.to_string(),
                fingerprint: fingerprint.clone(),
            },
            ClientEvent::Connection(state) => Event::Connection {
                state: format!("{state:?}").to_lowercase(),
            },
            ClientEvent::Error { message } => Event::Error {
                message: message.clone(),
            },
            ClientEvent::RejoinNeeded {
                conversation,
                reason,
            } => Event::Error {
                message: format!(
                    "conversation {} needs `rejoin` (or an invitation back): {reason}",
                    conversation.0
                ),
            },
            ClientEvent::DeviceRevoked => Event::Revoked,
            _ => return None,
        })
    }
}

impl Report for Event {
    fn text(&self) -> String {
        match self {
            Event::Message {
                conversation,
                message,
            } => format!("[{conversation}] {}", message.line()),
            Event::MessageState {
                conversation,
                message,
                state,
            } => format!("[{conversation}] message {message} {state}"),
            Event::MessageChanged {
                conversation,
                message,
            } => format!("[{conversation}] message {message} changed"),
            Event::MessagesRemoved {
                conversation,
                messages,
            } => format!("[{conversation}] {} message(s) disappeared", messages.len()),
            Event::Receipts { conversation } => format!("[{conversation}] receipts"),
            Event::Typing { conversation, user } => format!("[{conversation}] {user} is typing…"),
            Event::MembersChanged { conversation } => {
                format!("[{conversation}] members changed")
            }
            Event::Renamed { conversation, name } => format!("[{conversation}] renamed to {name}"),
            Event::Joined { conversation } => format!("[{conversation}] joined"),
            Event::Request { conversation, from } => format!(
                "[{conversation}] {from}, whom you had not talked to, added you: accept or decline"
            ),
            Event::JoinRequest { conversation, user } => {
                format!("[{conversation}] {user} asks to join: approve-join or decline-join")
            }
            Event::Left { conversation, by } => {
                format!("[{conversation}] you are no longer a member (by {by})")
            }
            Event::KeyChanged {
                member,
                previous_fingerprint,
                fingerprint,
            } => format!(
                "WARNING: the key of {member} changed\n  was {}\n  now {}\n  compare safety \
                 numbers before trusting it",
                digit_groups(previous_fingerprint),
                digit_groups(fingerprint)
            ),
            Event::NewDevice {
                member,
                fingerprint,
            } => format!(
                "{} has a new device: {member}, fingerprint {}\n  compare safety numbers \
                 (verify) before trusting it",
                member.split('/').next().unwrap_or(member),
                digit_groups(fingerprint)
            ),
            Event::Connection { state } => format!("connection: {state}"),
            Event::Revoked => "THIS DEVICE WAS REVOKED by your other device: it can no longer \
                               send or receive"
                .to_owned(),
            Event::Error { message } => format!("error: {message}"),
        }
    }
}

// ---------------------------------------------------------------------- devices

/// `link`, first: the code to enter on an existing device.
#[derive(Serialize)]
pub struct LinkCodeShown {
    pub code: String,
    pub device: String,
    pub fingerprint: String,
    /// Unix seconds.
    pub expires_at: u64,
}

impl Report for LinkCodeShown {
    fn text(&self) -> String {
        // The code first, alone on its line: what scripts read.
        format!(
            "{}\nenter this code on one of your devices (conclave-cli approve CODE, or the \
             app's \"Link a device\")\ndevice {}, fingerprint {}",
            self.code, self.device, self.fingerprint
        )
    }
}

/// `link`, once done.
#[derive(Serialize)]
pub struct Linked {
    pub user: String,
    pub device: String,
    pub server: String,
    pub fingerprint: String,
    pub conversations: usize,
    pub messages: u64,
}

impl Report for Linked {
    fn text(&self) -> String {
        format!(
            "linked {}/{} on {}: {} conversations, {} messages of history\nfingerprint: {}",
            self.user,
            self.device,
            self.server,
            self.conversations,
            self.messages,
            digit_groups(&self.fingerprint)
        )
    }
}

/// `approve`.
#[derive(Serialize)]
pub struct Approved {
    pub device: String,
    pub fingerprint: String,
    pub conversations: u32,
    pub messages: u64,
}

impl Report for Approved {
    fn text(&self) -> String {
        format!(
            "linked device {} (fingerprint {}): added to {} conversations, {} messages of \
             history sent",
            self.device, self.fingerprint, self.conversations, self.messages
        )
    }
}

/// `devices`.
#[derive(Serialize)]
pub struct OwnDevices {
    pub devices: Vec<OwnDeviceRow>,
}

#[derive(Serialize)]
pub struct OwnDeviceRow {
    pub device: String,
    pub fingerprint: String,
    /// Unix seconds.
    pub added_at: u64,
    /// Unix seconds.
    pub last_seen: Option<u64>,
    pub this_device: bool,
}

impl From<&conclave_client::OwnDevice> for OwnDeviceRow {
    fn from(d: &conclave_client::OwnDevice) -> Self {
        Self {
            device: d.device.clone(),
            fingerprint: d.fingerprint.clone(),
            added_at: d.added_at,
            last_seen: d.last_seen,
            this_device: d.this_device,
        }
    }
}

impl Report for OwnDevices {
    fn text(&self) -> String {
        lines(&self.devices, |d| {
            let seconds = |s: u64| timestamp(s as i64 * 1000);
            format!(
                "{}{}  added {}  last seen {}\n  fingerprint {}",
                d.device,
                if d.this_device { " (this device)" } else { "" },
                seconds(d.added_at),
                d.last_seen.map_or_else(|| "never".to_owned(), seconds),
                digit_groups(&d.fingerprint)
            )
        })
    }
}

/// `revoke`.
#[derive(Serialize)]
pub struct Revoked {
    pub device: String,
    /// Conversations it was removed from.
    pub conversations: u32,
}

impl Report for Revoked {
    fn text(&self) -> String {
        format!(
            "revoked {}: the server refuses it, and it was removed from {} conversations",
            self.device, self.conversations
        )
    }
}

// ---------------------------------------------------------------------- failures

/// A failure, on standard error.
#[derive(Serialize)]
pub struct Failure {
    pub error: &'static str,
    pub message: String,
}

impl Failure {
    pub fn of(e: &ClientError) -> Self {
        Self {
            error: error_name(e),
            message: e.to_string(),
        }
    }

    pub fn print(&self, json: bool) {
        if json {
            if let Ok(line) = serde_json::to_string(self) {
                eprintln!("{line}");
            }
        } else {
            eprintln!("error: {}", self.message);
        }
    }
}

/// The exit code of a failure (the README's table).
pub fn exit_code(e: &ClientError) -> u8 {
    match e {
        ClientError::Offline { .. } => 3,
        ClientError::NoSuchConversation(_)
        | ClientError::UnknownUser(_)
        | ClientError::AmbiguousConversation(_)
        | ClientError::NoSuchMessage(_) => 4,
        ClientError::NameTaken(_)
        | ClientError::AlreadyMember(_)
        | ClientError::NotAMember
        | ClientError::NotAccepted
        | ClientError::NotAuthor
        | ClientError::NotPermitted(_)
        | ClientError::AttachmentRefused(_)
        | ClientError::NotInConversation(_)
        | ClientError::NoKeyPackages(_)
        | ClientError::UntrustedKeyPackage { .. }
        | ClientError::Contention(_)
        | ClientError::CannotRejoin(_)
        | ClientError::RejoinAsked
        | ClientError::Server { .. } => 5,
        ClientError::NoProfile(_) | ClientError::ProfileExists(_) | ClientError::LinkPending(_) => {
            6
        }
        ClientError::LinkFailed(_) => 8,
        ClientError::Revoked => 9,
        ClientError::InvalidLinkCode(_) => 2,
        ClientError::Storage(conclave_client::StoreError::ProfileInUse { .. }) => 6,
        ClientError::Storage(
            conclave_client::StoreError::WrongKey { .. }
            | conclave_client::StoreError::Encrypted { .. },
        ) => 7,
        ClientError::InvalidInput(_) => 2,
        _ => 1,
    }
}

fn error_name(e: &ClientError) -> &'static str {
    match e {
        ClientError::Offline { .. } => "offline",
        ClientError::NoSuchConversation(_) => "no_such_conversation",
        ClientError::AmbiguousConversation(_) => "ambiguous_conversation",
        ClientError::UnknownUser(_) => "unknown_user",
        ClientError::NameTaken(_) => "name_taken",
        ClientError::AlreadyMember(_) => "already_member",
        ClientError::NotAMember => "not_a_member",
        ClientError::NotAccepted => "not_accepted",
        ClientError::NoSuchMessage(_) => "no_such_message",
        ClientError::AttachmentRefused(_) => "attachment_refused",
        ClientError::NotAuthor => "not_author",
        ClientError::NotInConversation(_) => "not_in_conversation",
        ClientError::NoKeyPackages(_) => "no_key_packages",
        ClientError::UntrustedKeyPackage { .. } => "untrusted_key_package",
        ClientError::Contention(_) => "contention",
        ClientError::Server { .. } => "refused",
        ClientError::NoProfile(_) => "no_profile",
        ClientError::ProfileExists(_) => "profile_exists",
        ClientError::InvalidInput(_) => "invalid_input",
        ClientError::InvalidLinkCode(_) => "invalid_link_code",
        ClientError::LinkFailed(_) => "link_failed",
        ClientError::LinkPending(_) => "link_pending",
        ClientError::Revoked => "revoked",
        ClientError::Storage(conclave_client::StoreError::WrongKey { .. }) => "wrong_passphrase",
        ClientError::Storage(conclave_client::StoreError::Encrypted { .. }) => "encrypted",
        _ => "failed",
    }
}
