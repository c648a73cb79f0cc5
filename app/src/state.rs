//! Everything the UI shows, and how engine updates change it. Views read this; they never
//! talk to the engine except by sending commands.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use conclave_client::link::LinkProgress;
use conclave_client::{
    Annotations, CipherSuite, ClientEvent, ConnectionState, ConversationId, ConversationSummary,
    Member, MessageId, MessageState, OwnDevice, SecurityInfo, StoredMessage, UserName,
};

use crate::backend::{Command, PAGE, Update};
use crate::local_server::LocalServerState;

/// Which screen shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Screen {
    /// Opening the profile.
    Loading,
    /// First run: choose a name and a server.
    Onboarding,
    /// The profile is encrypted: ask its passphrase (or, for a plain one, choose one).
    Unlock,
    /// A new device waiting to be linked: its code, then the link's progress.
    Linking,
    /// The messenger.
    Main,
    /// The profile cannot be used (in use by another window, damaged).
    Failed(String),
}

/// The first-run form.
#[derive(Clone, Debug, Default)]
pub struct Onboarding {
    /// Link this device to an existing account rather than create one.
    pub link: bool,
    /// The device name typed (linking; empty: a random one).
    pub device: String,
    /// The user name typed.
    pub user: String,
    /// The server typed.
    pub server: String,
    /// Whether the profile is to be encrypted with a passphrase typed here (none was given
    /// on the command line).
    pub needs_passphrase: bool,
    /// A keyring answers: the form offers to keep the key there.
    pub keyring_offered: bool,
    /// The key is to be kept in the keyring (no passphrase asked).
    pub use_keyring: bool,
    /// The passphrase typed.
    pub passphrase: String,
    /// The passphrase typed again.
    pub repeat: String,
    /// Waiting for the server.
    pub busy: bool,
    /// Why the last attempt failed.
    pub error: Option<String>,
}

/// The passphrase form of an existing profile.
#[derive(Clone, Debug, Default)]
pub struct Unlock {
    /// The profile is plain and is to be encrypted with a new passphrase (typed twice);
    /// otherwise it is encrypted and the passphrase opens it.
    pub encrypting: bool,
    /// The passphrase typed.
    pub passphrase: String,
    /// The passphrase typed again (encrypting only).
    pub repeat: String,
    /// Waiting for the key to be derived and the profile opened.
    pub busy: bool,
    /// Why the last attempt failed.
    pub error: Option<String>,
}

/// The screen of a device being linked.
#[derive(Clone, Debug, Default)]
pub struct Linking {
    /// The code to enter on an existing device.
    pub code: String,
    /// This device's fingerprint as the approving device shows it.
    pub fingerprint: String,
    /// How far the link got.
    pub progress: Option<LinkProgress>,
}

/// The "Link a device" dialog of an existing device.
#[derive(Clone, Debug, Default)]
pub struct Approve {
    /// The dialog is open.
    pub open: bool,
    /// The code typed or pasted.
    pub code: String,
    /// The approval runs.
    pub busy: bool,
    /// How far it got.
    pub progress: Option<LinkProgress>,
    /// What came of it.
    pub outcome: Option<String>,
}

/// The "Devices" dialog.
#[derive(Clone, Debug, Default)]
pub struct DevicesDialog {
    /// The dialog is open.
    pub open: bool,
    /// The user's devices, as last loaded.
    pub devices: Vec<OwnDevice>,
    /// The device whose revocation waits for confirmation.
    pub confirm_revoke: Option<String>,
}

/// The settings: what the "Settings" menu shows, and its passphrase dialog.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    /// Read receipts are sent and shown.
    pub read_receipts: bool,
    /// The profile's key is in the OS keyring: the dialog sets a passphrase in its place
    /// (asking for no current one).
    pub key_in_keyring: bool,
    /// The "Change passphrase" dialog is open.
    pub passphrase_open: bool,
    /// Its current passphrase.
    pub current: String,
    /// Its new passphrase, typed twice.
    pub new: String,
    /// The new one again.
    pub repeat: String,
    /// Waiting for the profile to be encrypted again.
    pub busy: bool,
    /// Why the last attempt failed.
    pub error: Option<String>,
}

/// How far a link is, as a fraction for a progress bar, and as words.
pub fn link_progress(progress: &LinkProgress) -> (f32, String) {
    match progress {
        LinkProgress::WaitingForApproval => {
            (0.0, "Waiting for one of your devices to approve".into())
        }
        LinkProgress::WaitingForNewDevice => (0.05, "Waiting for the new device".into()),
        LinkProgress::Approved { user } => (0.1, format!("Approved as a device of {user}")),
        LinkProgress::Adding { done, total } => (
            0.1 + 0.3 * (*done as f32 / (*total).max(1) as f32),
            format!("Adding the device to conversations: {done} of {total}"),
        ),
        LinkProgress::Joined { conversations } => (
            0.4,
            format!("Joined {conversations} conversations; bringing the history"),
        ),
        LinkProgress::History { done, total } => (
            0.4 + 0.6 * (*done as f32 / (*total).max(1) as f32),
            format!("History: {done} of {total} messages"),
        ),
        LinkProgress::Done => (1.0, "Done".into()),
        _ => (0.0, String::new()),
    }
}

/// The shortest passphrase a new one may be.
pub const MIN_PASSPHRASE: usize = 8;

/// Why a new passphrase (typed twice) cannot be used, if it cannot.
pub fn new_passphrase_problem(passphrase: &str, repeat: &str) -> Option<String> {
    if passphrase.chars().count() < MIN_PASSPHRASE {
        Some(format!(
            "The passphrase needs at least {MIN_PASSPHRASE} characters."
        ))
    } else if passphrase != repeat {
        Some("The two passphrases differ.".into())
    } else {
        None
    }
}

/// The open conversation: its rows are loaded a page at a time, as they become visible.
#[derive(Clone, Debug)]
pub struct OpenConversation {
    /// Which.
    pub id: ConversationId,
    /// How many messages it holds.
    pub total: u64,
    /// Loaded pages (page `n` holds rows `n * PAGE ..`), oldest first within a page.
    pub pages: BTreeMap<usize, Vec<StoredMessage>>,
    /// Pages asked for and not yet arrived.
    pub requested: HashSet<usize>,
    /// Scroll to the newest message on the next frame.
    pub scroll_to_bottom: bool,
    /// Reactions, read receipts and quoted replies of the loaded messages.
    pub annotations: HashMap<MessageId, Annotations>,
    /// The read mark when the conversation was opened: the "new messages" line goes above
    /// the first message after it that someone else wrote.
    pub read_mark: MessageId,
    /// Scroll to this message on the next frame (a quoted reply was clicked).
    pub jump_to: Option<MessageId>,
}

impl OpenConversation {
    /// The page holding a loaded message.
    pub fn page_of(&self, id: MessageId) -> Option<usize> {
        self.pages
            .iter()
            .find(|(_, messages)| messages.iter().any(|m| m.id == id))
            .map(|(page, _)| *page)
    }

    /// The row of a loaded message.
    pub fn row_of(&self, id: MessageId) -> Option<usize> {
        let page = self.page_of(id)?;
        let index = self.pages[&page].iter().position(|m| m.id == id)?;
        Some(page * PAGE + index)
    }

    /// The message in row `row` (0 = oldest), if loaded.
    pub fn row(&self, row: usize) -> Option<&StoredMessage> {
        self.pages.get(&(row / PAGE))?.get(row % PAGE)
    }

    fn find_mut(&mut self, id: MessageId) -> Option<&mut StoredMessage> {
        self.pages
            .values_mut()
            .rev()
            .flat_map(|p| p.iter_mut())
            .find(|m| m.id == id)
    }

    /// Adds a new message at the end.
    fn push(&mut self, message: StoredMessage) {
        if self.find_mut(message.id).is_some() {
            return;
        }
        let row = self.total as usize;
        let page = row / PAGE;
        // Only onto a page that is loaded up to its end; otherwise it loads when seen.
        if let Some(messages) = self.pages.get_mut(&page) {
            if messages.len() == row % PAGE {
                messages.push(message);
            }
        } else if row.is_multiple_of(PAGE) {
            self.pages.insert(page, vec![message]);
        }
        self.total += 1;
    }
}

/// An image pasted into the compose box, shown there until the user sends or drops it.
pub struct Pasted {
    /// The conversation it was pasted into.
    pub conversation: ConversationId,
    /// Its pixels.
    pub image: Arc<egui::ColorImage>,
    /// Its thumbnail, once uploaded to the GPU.
    pub texture: Option<egui::TextureHandle>,
}

impl std::fmt::Debug for Pasted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pasted")
            .field("conversation", &self.conversation)
            .field("size", &self.image.size)
            .finish_non_exhaustive()
    }
}

/// An image attachment's preview.
#[derive(Clone)]
pub enum Preview {
    /// Being fetched and decoded.
    Loading,
    /// Decoded, not yet uploaded to the GPU.
    Decoded(Arc<egui::ColorImage>),
    /// Ready to draw.
    Texture(egui::TextureHandle),
    /// Cannot be shown (the card still offers Save).
    Failed(String),
}

impl std::fmt::Debug for Preview {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Preview::Loading => "Loading",
            Preview::Decoded(_) => "Decoded",
            Preview::Texture(_) => "Texture",
            Preview::Failed(_) => "Failed",
        })
    }
}

/// What the compose box is doing besides writing a new message.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum ComposeMode {
    /// A new message.
    #[default]
    New,
    /// Answering a message: its id, author and first line.
    Reply(MessageId, String, String),
    /// Editing one of the user's messages.
    Edit(MessageId),
}

/// A dismissable notice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    /// Its id (for dismissing).
    pub id: u64,
    /// What it says.
    pub text: String,
}

/// A device whose key changed: shown until the user acknowledges it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyWarning {
    /// `user/device`.
    pub member: String,
    /// The fingerprint it had.
    pub previous: String,
    /// The fingerprint it has.
    pub current: String,
}

/// Which members the members panel lists: those whose `user/device` contains the search
/// text (all when it is empty), and which of them is the first listed device of its user
/// (where a user's role is shown). Worked out again only when the text or the members
/// change, not every frame: a conversation may have thousands of members.
#[derive(Clone, Debug, Default)]
pub struct MemberFilter {
    /// The search text the rows are for; `None` when they must be worked out again.
    query: Option<String>,
    /// How many members they were worked out over: rows never point past the members, even
    /// where the list was emptied without [`MemberFilter::invalidate`].
    over: usize,
    /// Indices into the members, in their order, with "first of its user".
    rows: Vec<(usize, bool)>,
}

impl MemberFilter {
    /// The rows for `query` over `members`.
    pub fn rows(&mut self, members: &[Member], query: &str) -> &[(usize, bool)] {
        let query = query.trim().to_lowercase();
        if self.query.as_deref() != Some(query.as_str()) || self.over != members.len() {
            self.over = members.len();
            let mut users_seen = HashSet::new();
            self.rows = members
                .iter()
                .enumerate()
                .filter_map(|(i, m)| {
                    let first = users_seen.insert(m.id.user.clone());
                    let name = m.id.to_string();
                    (query.is_empty() || name.to_lowercase().contains(&query)).then_some((i, first))
                })
                .collect();
            self.query = Some(query);
        }
        &self.rows
    }

    /// The members changed: the rows are worked out again on the next frame.
    pub fn invalidate(&mut self) {
        self.query = None;
    }
}

/// Dialog and form fields.
#[derive(Clone, Debug, Default)]
pub struct Forms {
    /// The new-conversation dialog is open.
    pub new_conversation: bool,
    /// Its name field.
    pub new_name: String,
    /// Its members field (names separated by spaces or commas).
    pub new_members: String,
    /// Its advanced option: the ciphersuite (`None`: the device's own).
    pub new_suite: Option<CipherSuite>,
    /// The invite field of the members panel.
    pub invite: String,
    /// The members panel's search field.
    pub member_search: String,
    /// The member (`user/device`) whose safety number the members panel shows, and the
    /// number, derived once when asked for (1,024 hashes a fingerprint).
    pub safety_number_of: Option<(String, String)>,
    /// The rename field of the members panel.
    pub rename: String,
    /// The search field.
    pub search: String,
    /// The "join with an invite link" field of the new-conversation dialog.
    pub join_link: String,
    /// A new invite link needs an admin's approval for each join.
    pub link_approval: bool,
}

/// A conversation this device fell out of step with and could not rejoin by itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RejoinNeeded {
    /// Why, for people.
    pub reason: String,
    /// It asked the other members for the conversation's current key and rejoins by
    /// itself once one of them answers: nothing for the user to do.
    pub asked: bool,
}

/// The whole UI state.
#[derive(Debug)]
pub struct AppState {
    /// Which screen.
    pub screen: Screen,
    /// First-run form.
    pub onboarding: Onboarding,
    /// Passphrase form.
    pub unlock: Unlock,
    /// A new device's link screen.
    pub linking: Linking,
    /// The "Link a device" dialog.
    pub approve: Approve,
    /// The "Devices" dialog.
    pub devices: DevicesDialog,
    /// The settings and the passphrase dialog.
    pub settings: Settings,
    /// This device was revoked from another of the user's devices.
    pub revoked: bool,
    /// `user/device`, once the profile is open.
    pub me: String,
    /// This device's fingerprint.
    pub fingerprint: String,
    /// The ciphersuites this device can create conversations in, its own first.
    pub suites: Vec<CipherSuite>,
    /// The server.
    pub server: String,
    /// Conversations, most recent first.
    pub conversations: Vec<ConversationSummary>,
    /// The open conversation.
    pub open: Option<OpenConversation>,
    /// Its members and security state.
    pub members: Vec<Member>,
    /// The members panel's search over `members`, kept between frames.
    pub member_filter: MemberFilter,
    /// Its security state.
    pub security: Option<SecurityInfo>,
    /// Its open invite link, and whether joins by it need approval.
    pub invite_link: Option<(String, bool)>,
    /// Users who asked to join it by the link.
    pub join_requests: Vec<String>,
    /// Its policy (none before roles).
    pub policy: Option<conclave_client::Policy>,
    /// Conversations this device could not rejoin by itself, with why.
    pub rejoin_needed: HashMap<ConversationId, RejoinNeeded>,
    /// The compose box.
    pub compose: String,
    /// Replying or editing.
    pub compose_mode: ComposeMode,
    /// When this device last told the open conversation the user is typing.
    pub typing_sent: Option<Instant>,
    /// Who is typing where, and since when (shown for a few seconds).
    pub typing: Vec<(ConversationId, UserName, Instant)>,
    /// Image previews by message.
    pub previews: HashMap<MessageId, Preview>,
    /// An image pasted into the compose box, not yet sent.
    pub pasted: Option<Pasted>,
    /// The file being uploaded or saved: name, bytes done, total.
    pub transfer: Option<(String, u64, u64)>,
    /// How times are shown (the system's time zone).
    pub time: crate::local_time::LocalTime,
    /// Dialogs and forms.
    pub forms: Forms,
    /// Search results (`None`: not searching).
    pub search_results: Option<Vec<StoredMessage>>,
    /// Notices to show.
    pub notices: Vec<Notice>,
    /// Key changes to acknowledge.
    pub key_warnings: Vec<KeyWarning>,
    /// The push connection.
    pub connection: ConnectionState,
    /// Who serves the local address.
    pub local_server: Option<LocalServerState>,
    /// Dark theme.
    pub dark: bool,
    /// Messages that arrived while the window was unfocused, for a notification.
    pub unseen: Vec<String>,
    next_notice: u64,
}

impl Default for AppState {
    fn default() -> Self {
        Self {
            screen: Screen::Loading,
            onboarding: Onboarding::default(),
            unlock: Unlock::default(),
            linking: Linking::default(),
            approve: Approve::default(),
            devices: DevicesDialog::default(),
            settings: Settings::default(),
            revoked: false,
            me: String::new(),
            fingerprint: String::new(),
            suites: Vec::new(),
            server: String::new(),
            conversations: Vec::new(),
            open: None,
            invite_link: None,
            join_requests: Vec::new(),
            policy: None,
            rejoin_needed: HashMap::new(),
            members: Vec::new(),
            member_filter: MemberFilter::default(),
            security: None,
            compose: String::new(),
            compose_mode: ComposeMode::New,
            typing_sent: None,
            typing: Vec::new(),
            previews: HashMap::new(),
            pasted: None,
            transfer: None,
            time: crate::local_time::LocalTime::default(),
            forms: Forms::default(),
            search_results: None,
            notices: Vec::new(),
            key_warnings: Vec::new(),
            connection: ConnectionState::Connecting,
            local_server: None,
            dark: true,
            unseen: Vec::new(),
            next_notice: 0,
        }
    }
}

impl AppState {
    /// Adds a notice.
    pub fn notice(&mut self, text: impl Into<String>) {
        self.next_notice += 1;
        self.notices.push(Notice {
            id: self.next_notice,
            text: text.into(),
        });
    }

    /// The open conversation's summary.
    pub fn open_summary(&self) -> Option<&ConversationSummary> {
        let id = self.open.as_ref()?.id;
        self.conversations.iter().find(|c| c.conversation.id == id)
    }

    /// Applies one update from the engine. Returns what to ask the engine for next (the
    /// members of the open conversation after they changed, a created conversation).
    pub fn apply(&mut self, update: Update) -> Vec<Command> {
        let mut next = Vec::new();
        match update {
            Update::NeedsProfile {
                default_server,
                needs_passphrase,
                keyring,
            } => {
                self.screen = Screen::Onboarding;
                self.onboarding.needs_passphrase = needs_passphrase;
                self.onboarding.keyring_offered = keyring;
                self.onboarding.use_keyring = keyring;
                if self.onboarding.server.is_empty() {
                    self.onboarding.server = default_server;
                }
            }
            Update::NeedsPassphrase { encrypting, error } => {
                self.screen = Screen::Unlock;
                self.unlock.encrypting = encrypting;
                self.unlock.busy = false;
                self.unlock.error = error;
            }
            Update::LinkCode { code, fingerprint } => {
                self.screen = Screen::Linking;
                self.linking = Linking {
                    code,
                    fingerprint,
                    progress: None,
                };
            }
            Update::LinkProgress(progress) => {
                self.screen = Screen::Linking;
                self.linking.progress = Some(progress);
            }
            Update::ApproveProgress(progress) => self.approve.progress = Some(progress),
            Update::ApproveDone(outcome) => {
                self.approve.busy = false;
                self.approve.outcome = Some(outcome);
                next.push(Command::LoadDevices);
            }
            Update::Devices(devices) => self.devices.devices = devices,
            Update::ProfileFailed(error) => {
                if matches!(self.screen, Screen::Onboarding | Screen::Linking) {
                    self.screen = Screen::Onboarding;
                    self.onboarding.busy = false;
                    self.onboarding.error = Some(error);
                } else {
                    self.screen = Screen::Failed(error);
                }
            }
            Update::Ready {
                me,
                fingerprint,
                suites,
                server,
                read_receipts,
                key_in_keyring,
            } => {
                self.settings.read_receipts = read_receipts;
                self.settings.key_in_keyring = key_in_keyring;
                self.screen = Screen::Main;
                self.me = me;
                self.fingerprint = fingerprint;
                self.suites = suites;
                self.server = server;
            }
            Update::Conversations(list) => self.conversations = list,
            Update::Opened {
                conversation,
                total,
            } => {
                let read_mark = self
                    .conversations
                    .iter()
                    .find(|c| c.conversation.id == conversation)
                    .map_or(MessageId(i64::MAX), |c| c.conversation.last_read);
                // Reopened in place (messages disappeared): keep the reading position.
                let kept_mark = self
                    .open
                    .as_ref()
                    .filter(|o| o.id == conversation)
                    .map(|o| o.read_mark);
                if kept_mark.is_none() {
                    self.invite_link = None;
                    self.join_requests.clear();
                    self.policy = None;
                }
                self.open = Some(OpenConversation {
                    id: conversation,
                    total,
                    pages: BTreeMap::new(),
                    requested: HashSet::new(),
                    scroll_to_bottom: kept_mark.is_none(),
                    annotations: HashMap::new(),
                    read_mark: kept_mark.unwrap_or(read_mark),
                    jump_to: None,
                });
                if kept_mark.is_none() {
                    self.compose_mode = ComposeMode::New;
                }
            }
            Update::Page {
                conversation,
                page,
                messages,
                annotations,
            } => {
                if let Some(open) = self.open.as_mut().filter(|o| o.id == conversation) {
                    open.requested.remove(&page);
                    for (m, a) in messages.iter().zip(annotations) {
                        open.annotations.insert(m.id, a);
                    }
                    open.pages.insert(page, messages);
                }
            }
            Update::Image(message, image) => {
                let preview = match image {
                    Ok(image) => Preview::Decoded(image),
                    Err(why) => Preview::Failed(why),
                };
                self.previews.insert(message, preview);
            }
            Update::Transfer { name, done, total } => {
                self.transfer = (done < total).then_some((name, done, total));
            }
            Update::Members {
                conversation,
                members,
                security,
                invite,
                requests,
                policy,
            } => {
                if self.open.as_ref().is_some_and(|o| o.id == conversation) {
                    self.members = members;
                    self.member_filter.invalidate();
                    self.security = security;
                    self.invite_link = invite;
                    self.join_requests = requests;
                    self.policy = policy;
                }
            }
            Update::Rejoined(conversation) => {
                self.rejoin_needed.remove(&conversation);
                self.notice("This device is back in the conversation.");
            }
            Update::SearchResults(results) => self.search_results = Some(results),
            Update::Created(id) => next.push(Command::Open(id)),
            Update::LocalServer(state) => self.local_server = Some(state),
            Update::Notice(text) => self.notice(text),
            Update::ReadReceipts(on) => self.settings.read_receipts = on,
            Update::PassphraseChanged(result) => {
                use zeroize::Zeroize as _;
                let form = &mut self.settings;
                form.busy = false;
                match result {
                    Ok(()) => {
                        form.current.zeroize();
                        form.new.zeroize();
                        form.repeat.zeroize();
                        form.passphrase_open = false;
                        form.error = None;
                        let was_in_keyring = std::mem::take(&mut form.key_in_keyring);
                        self.notice(if was_in_keyring {
                            "The profile now opens with its passphrase; its key was removed \
                             from the keyring."
                        } else {
                            "The passphrase was changed."
                        });
                    }
                    Err(why) => {
                        // Typed again, not corrected: a wrong one is cleared.
                        form.current.zeroize();
                        form.error = Some(why);
                    }
                }
            }
            Update::Event(event) => self.apply_event(event, &mut next),
        }
        next
    }

    fn apply_event(&mut self, event: ClientEvent, next: &mut Vec<Command>) {
        let open = self.open.as_ref().map(|o| o.id);
        match event {
            ClientEvent::MessageReceived {
                conversation,
                message,
            } => {
                if !message.message.outgoing {
                    self.unseen.push(format!(
                        "{}: {}",
                        message.message.sender.user, message.message.body
                    ));
                }
                // Whoever wrote has stopped typing.
                self.typing
                    .retain(|(c, u, _)| !(*c == conversation && *u == message.message.sender.user));
                if let Some(open) = self.open.as_mut().filter(|o| o.id == conversation) {
                    let quotes = message.message.reply_to.is_some();
                    let id = message.id;
                    open.push(message);
                    open.scroll_to_bottom = true;
                    // The quote it shows comes with its page's annotations.
                    if quotes
                        && let Some(page) = open.page_of(id)
                        && open.requested.insert(page)
                    {
                        next.push(Command::LoadPage(conversation, page));
                    }
                }
            }
            ClientEvent::MessageStateChanged {
                conversation,
                message,
                state,
            } => {
                if let Some(open) = self.open.as_mut().filter(|o| o.id == conversation)
                    && let Some(m) = open.find_mut(message)
                {
                    m.message.state = state;
                }
                if state == MessageState::Failed {
                    self.notice("a message could not be sent");
                }
            }
            ClientEvent::KeyChanged {
                member,
                previous_fingerprint,
                fingerprint,
            } => self.key_warnings.push(KeyWarning {
                member: member.to_string(),
                previous: previous_fingerprint,
                current: fingerprint,
            }),
            ClientEvent::NewDevice { member, .. } => self.notice(format!(
                "{} has a new device ({member}): compare its safety number in the members panel",
                member.user
            )),
            ClientEvent::InvitationRequest { from, .. } => self.notice(format!(
                "{from}, whom you have not talked to before, added you to a conversation: \
                 accept or decline it there"
            )),
            ClientEvent::Connection(state) => self.connection = state,
            ClientEvent::MessageChanged {
                conversation,
                message,
            } => {
                if let Some(open) = self.open.as_mut().filter(|o| o.id == conversation)
                    && let Some(page) = open.page_of(message)
                    && open.requested.insert(page)
                {
                    next.push(Command::LoadPage(conversation, page));
                }
            }
            ClientEvent::Receipts { conversation } => {
                // Receipts mark the newest messages: the last loaded page shows them.
                if let Some(open) = self.open.as_mut().filter(|o| o.id == conversation)
                    && let Some(&page) = open.pages.keys().next_back()
                    && open.requested.insert(page)
                {
                    next.push(Command::LoadPage(conversation, page));
                }
            }
            ClientEvent::MessagesRemoved { conversation, .. } => {
                next.push(Command::RefreshConversations);
                if open == Some(conversation) {
                    next.push(Command::Open(conversation));
                }
            }
            ClientEvent::Typing { conversation, user } => {
                self.typing
                    .retain(|(c, u, _)| !(*c == conversation && *u == user));
                self.typing.push((conversation, user, Instant::now()));
            }
            ClientEvent::DeviceRevoked => self.revoked = true,
            ClientEvent::Error { message } => self.notice(message),
            ClientEvent::RejoinNeeded {
                conversation,
                reason,
                asked,
            } => {
                self.rejoin_needed
                    .insert(conversation, RejoinNeeded { reason, asked });
            }
            // The server tells the members of a new request: the panel reloads its list.
            ClientEvent::JoinRequested { conversation, user } => {
                self.notice(format!(
                    "{user} asks to join a conversation: approve or decline in its members panel"
                ));
                if open == Some(conversation) {
                    next.push(Command::Members(conversation));
                }
            }
            ClientEvent::Rejoined { conversation } => {
                self.rejoin_needed.remove(&conversation);
            }
            ClientEvent::ConversationLeft { conversation, .. } if open == Some(conversation) => {
                self.members.clear();
                self.member_filter.invalidate();
                self.security = None;
                self.invite_link = None;
                self.join_requests.clear();
                self.policy = None;
            }
            ClientEvent::MembersChanged { conversation }
            | ClientEvent::ConversationRenamed { conversation, .. }
                if open == Some(conversation) =>
            {
                next.push(Command::Members(conversation));
            }
            _ => {}
        }
    }
}
