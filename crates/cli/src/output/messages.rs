//! Messages: what was sent or changed, the history, search results, read state and receipts.

use conclave_client::display::timestamp;
use conclave_client::{Annotations, MessageKind, Quote, StoredMessage};
use serde::Serialize;

use super::{Report, lines, state_name};

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
