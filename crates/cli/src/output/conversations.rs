//! Conversations and their members: listing, creating, renaming, roles and policy,
//! invitations, removals, safety numbers.

use conclave_client::display::digit_groups;
use conclave_client::{ConversationSummary, Member, SecurityInfo};
use serde::Serialize;

use super::{Report, lines};

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

/// `create`.
#[derive(Serialize)]
pub struct Created {
    pub id: i64,
    pub name: String,
    /// Its suite's name.
    pub ciphersuite: String,
}

impl Report for Created {
    fn text(&self) -> String {
        format!("created [{}] {} ({})", self.id, self.name, self.ciphersuite)
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
                    fingerprint: m.fingerprint(),
                    safety_number: m.safety_number(),
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
