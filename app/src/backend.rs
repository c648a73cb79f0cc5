//! The engine side of the app: a [`conclave_client::Client`] on a tokio runtime, driven by
//! [`Command`]s from the UI and answering with [`Update`]s. Nothing here runs on the UI
//! thread; every update ends with a repaint request.

use std::path::{Path, PathBuf};
use std::sync::{Arc, mpsc};

use conclave_client::link::{LinkCode, LinkProgress, PendingLink};
use conclave_client::{
    Annotations, CipherSuite, Client, ClientConfig, ClientError, ClientEvent, ConversationId,
    ConversationSummary, LinkJoin, Member, MessageId, OwnDevice, ProfileFile, ProfileKeyring,
    ProfileSecret, SecurityInfo, StoreError, StoredMessage, UserName,
};
use tokio::sync::mpsc as async_mpsc;

use crate::local_server::{self, LocalServerState};
use crate::local_tls::LocalTls;

/// Rows per history page the UI asks for.
pub const PAGE: usize = 100;

/// What the UI asks for.
#[derive(Clone, Debug)]
pub enum Command {
    /// Create the profile (first run).
    CreateProfile {
        /// The user name.
        user: String,
        /// The server address.
        server: String,
        /// The passphrase to encrypt it with; `None`: none was configured, or the key is
        /// kept in the keyring the onboarding offered.
        passphrase: Option<ProfileSecret>,
    },
    /// Make this profile a device linked to an existing account (first run): show a code.
    StartLink {
        /// The server address.
        server: String,
        /// The device's name (`None`: a random one).
        device: Option<String>,
        /// The passphrase to encrypt it with, as for [`Command::CreateProfile`].
        passphrase: Option<ProfileSecret>,
    },
    /// Open the encrypted profile with this passphrase (or encrypt the plain one with it).
    Unlock(ProfileSecret),
    /// Link the device showing this code (from the "Link a device" dialog).
    ApproveLink(String),
    /// Load the user's devices.
    LoadDevices,
    /// Turn read receipts on or off.
    SetReadReceipts(bool),
    /// Encrypt the profile with a new passphrase, given the current one (`None` for a
    /// plain profile).
    ChangePassphrase {
        /// The passphrase the profile is encrypted with now.
        current: Option<ProfileSecret>,
        /// The new one.
        new: ProfileSecret,
    },
    /// Revoke one of the user's other devices.
    RevokeDevice(String),
    /// Reload the conversation list.
    RefreshConversations,
    /// Open a conversation: its size, its newest page, members and security state.
    Open(ConversationId),
    /// Reload a conversation's members and security state.
    Members(ConversationId),
    /// Load one page of a conversation (page `n` holds rows `n * PAGE ..`).
    LoadPage(ConversationId, usize),
    /// Send a text message, answering a message if given.
    Send(ConversationId, String, Option<MessageId>),
    /// Add (or, with `true`, withdraw) the user's reaction to a message.
    React(ConversationId, MessageId, String, bool),
    /// Give one of the user's messages new text.
    Edit(ConversationId, MessageId, String),
    /// Delete one of the user's messages for everyone.
    Delete(ConversationId, MessageId),
    /// Set the conversation's disappearing-message timer (seconds; 0: off).
    Disappear(ConversationId, u32),
    /// Send a file (dropped on the window).
    SendFile(ConversationId, PathBuf),
    /// Send an image pasted into the compose box, as a PNG file.
    SendImage(ConversationId, Arc<egui::ColorImage>),
    /// Save an attachment into the user's downloads folder.
    SaveAttachment(MessageId, String),
    /// Fetch and decode an image attachment for its preview.
    LoadImage(MessageId),
    /// Tell the others the user is typing.
    Typing(ConversationId),
    /// Create a conversation with these users.
    CreateConversation {
        /// Its name.
        name: String,
        /// User names.
        members: Vec<String>,
        /// Its ciphersuite: this device's own when `None`.
        suite: Option<CipherSuite>,
    },
    /// Add a user.
    Invite(ConversationId, String),
    /// Remove a user.
    Remove(ConversationId, String),
    /// Make a user an admin (`true`) or a member again.
    SetAdmin(ConversationId, String, bool),
    /// Set who may add, remove others, rename and manage invite links (admins or members).
    SetRules(
        ConversationId,
        conclave_client::Action,
        conclave_client::Role,
    ),
    /// Open an invite link (`true`: an admin approves each join), replacing any.
    CreateLink(ConversationId, bool),
    /// Revoke the invite link.
    RevokeLink(ConversationId),
    /// Approve (`true`) or decline a user's request to join.
    AnswerJoin(ConversationId, String, bool),
    /// Join a conversation by its invite link.
    JoinLink(String),
    /// Get this device back into a conversation it cannot go on in.
    Rejoin(ConversationId),
    /// Leave.
    Leave(ConversationId),
    /// Accept an invitation from someone new.
    Accept(ConversationId),
    /// Decline it (leave).
    Decline(ConversationId),
    /// Rename.
    Rename(ConversationId, String),
    /// Rotate this device's keys now.
    RotateKeys(ConversationId),
    /// Mark messages read.
    MarkRead(ConversationId, MessageId),
    /// Search history.
    Search(String),
    /// Mark a user's keys verified (from a conversation's members panel).
    Verify(ConversationId, String),
}

/// What the engine tells the UI.
#[derive(Clone, Debug)]
pub enum Update {
    /// No profile yet: show onboarding.
    NeedsProfile {
        /// The server to suggest.
        default_server: String,
        /// Whether to ask for a passphrase to encrypt it with (none was configured).
        needs_passphrase: bool,
        /// A keyring answers: offer to keep the profile's key there instead of asking for a
        /// passphrase.
        keyring: bool,
    },
    /// The profile exists and needs a passphrase: to open it, or to encrypt it (a plain
    /// profile from an earlier version).
    NeedsPassphrase {
        /// The profile is plain: ask for a new passphrase.
        encrypting: bool,
        /// Why the last one did not open it.
        error: Option<String>,
    },
    /// Creating the profile failed.
    ProfileFailed(String),
    /// This device waits to be linked: show its code.
    LinkCode {
        /// The code.
        code: String,
        /// This device's fingerprint, as the approving device shows it.
        fingerprint: String,
    },
    /// The new device's link got on.
    LinkProgress(LinkProgress),
    /// Linking another device (approving it) got on.
    ApproveProgress(LinkProgress),
    /// Linking another device ended: what came of it.
    ApproveDone(String),
    /// The user's devices.
    Devices(Vec<OwnDevice>),
    /// The profile is open.
    Ready {
        /// `user/device`.
        me: String,
        /// This device's fingerprint.
        fingerprint: String,
        /// The ciphersuites it can create conversations in, its own first.
        suites: Vec<CipherSuite>,
        /// The server.
        server: String,
        /// Read receipts are sent and shown.
        read_receipts: bool,
        /// The profile's key is in the OS keyring (it has no passphrase).
        key_in_keyring: bool,
    },
    /// Read receipts were turned on (`true`) or off.
    ReadReceipts(bool),
    /// The passphrase change is done, or why it failed.
    PassphraseChanged(Result<(), String>),
    /// The conversation list.
    Conversations(Vec<ConversationSummary>),
    /// A conversation was opened.
    Opened {
        /// Which.
        conversation: ConversationId,
        /// How many messages it holds.
        total: u64,
    },
    /// A page of history, oldest first.
    Page {
        /// Which conversation.
        conversation: ConversationId,
        /// Which page.
        page: usize,
        /// Its messages.
        messages: Vec<StoredMessage>,
        /// What is shown around each (reactions, read receipts, quoted replies), in order.
        annotations: Vec<Annotations>,
    },
    /// An image attachment, decoded for its preview (or why it cannot be shown).
    Image(MessageId, Result<std::sync::Arc<egui::ColorImage>, String>),
    /// How far a file's upload or download is (bytes done, total).
    Transfer {
        /// What: the file's name.
        name: String,
        /// Bytes done.
        done: u64,
        /// Bytes in all.
        total: u64,
    },
    /// Members and security state of a conversation.
    Members {
        /// Which conversation.
        conversation: ConversationId,
        /// The members.
        members: Vec<Member>,
        /// Its security state (none once left).
        security: Option<SecurityInfo>,
        /// Its open invite link, and whether joins by it need approval.
        invite: Option<(String, bool)>,
        /// Users who asked to join by the link.
        requests: Vec<String>,
        /// Its policy: who is an admin, who may do what (none before roles).
        policy: Option<conclave_client::Policy>,
    },
    /// This device is back in the conversation.
    Rejoined(ConversationId),
    /// Search results.
    SearchResults(Vec<StoredMessage>),
    /// A conversation was just created here: select it.
    Created(ConversationId),
    /// An engine event.
    Event(ClientEvent),
    /// Who serves the local address.
    LocalServer(LocalServerState),
    /// Something failed: show a dismissable notice.
    Notice(String),
}

/// Where the app finds its profile and server.
#[derive(Clone, Debug)]
pub struct AppConfig {
    /// The profile directory.
    pub profile_dir: PathBuf,
    /// The server for a new profile; `None`: the local default address.
    pub server: Option<String>,
    /// The local default address, hosted in process when silent; `None`: never host.
    pub local_address: Option<std::net::SocketAddr>,
    /// The embedded delivery service's database (shared by all local profiles).
    pub local_db: PathBuf,
    /// Where the local server's TLS identity is kept (see [`crate::local_tls`]).
    pub local_tls: PathBuf,
    /// Engine settings.
    pub client: ClientConfig,
}

impl AppConfig {
    /// The defaults: profile and embedded server in the platform data directory.
    pub fn from_platform(profile: Option<PathBuf>, server: Option<String>) -> Self {
        let data = directories::ProjectDirs::from("org", "Conclave", "conclave")
            .map(|d| d.data_dir().to_path_buf())
            .unwrap_or_else(|| PathBuf::from("conclave-data"));
        Self {
            profile_dir: profile.unwrap_or_else(|| data.join("profiles").join("default")),
            server,
            local_address: local_server::DEFAULT_LOCAL_ADDRESS.parse().ok(),
            local_db: data.join("local-server.sqlite"),
            local_tls: data.join("local-server-tls"),
            client: ClientConfig::default(),
        }
    }

    fn default_server(&self) -> String {
        self.server.clone().unwrap_or_else(|| {
            let local = self
                .local_address
                .or_else(|| local_server::DEFAULT_LOCAL_ADDRESS.parse().ok());
            local.map(local_server::url).unwrap_or_default()
        })
    }
}

/// The UI's handle on the engine.
pub struct Backend {
    commands: async_mpsc::UnboundedSender<Command>,
    updates: mpsc::Receiver<Update>,
}

impl Backend {
    /// Starts the engine on `runtime`; updates arrive through [`Backend::poll`], each with a
    /// repaint request to `ctx`.
    pub fn start(runtime: &tokio::runtime::Handle, config: AppConfig, ctx: egui::Context) -> Self {
        let (commands, rx) = async_mpsc::unbounded_channel();
        let (tx, updates) = mpsc::channel();
        let out = Out { tx, ctx };
        runtime.spawn(run(config, rx, out));
        Self { commands, updates }
    }

    /// Sends a command (never blocks).
    pub fn send(&self, command: Command) {
        let _ = self.commands.send(command);
    }

    /// Takes the updates that arrived.
    pub fn poll(&self) -> Vec<Update> {
        self.updates.try_iter().collect()
    }
}

#[derive(Clone)]
struct Out {
    tx: mpsc::Sender<Update>,
    ctx: egui::Context,
}

impl Out {
    fn send(&self, update: Update) {
        let _ = self.tx.send(update);
        self.ctx.request_repaint();
    }

    fn fail(&self, what: &str, e: impl std::fmt::Display) {
        self.send(Update::Notice(format!("{what}: {e}")));
    }
}

/// Opens the profile, asking the UI for what it takes: a passphrase for an encrypted profile
/// (again after a wrong one), a new passphrase for a plain one (which is then encrypted in
/// place), a name, server and passphrase for a new one. Where the settings allow the OS
/// keyring and one answers, a new profile may keep its key there instead (the user
/// chooses), an encrypted one whose key is there opens with it, and a plain one is
/// encrypted with a key kept there. `None` when the profile cannot be opened (the UI was
/// told why) or the UI is gone.
async fn open_or_create(
    config: &mut AppConfig,
    commands: &mut async_mpsc::UnboundedReceiver<Command>,
    out: &Out,
) -> Option<Client> {
    let fail = |e: &dyn std::fmt::Display| {
        out.send(Update::ProfileFailed(format!(
            "cannot open the profile in {}: {e}",
            config.profile_dir.display()
        )));
    };
    let file = match Client::profile_file(&config.profile_dir) {
        Ok(file) => file,
        Err(e) => {
            fail(&e);
            return None;
        }
    };
    let keyring = config.client.keyring
        && config.client.profile_secret.is_none()
        && tokio::task::spawn_blocking(ProfileKeyring::available)
            .await
            .unwrap_or(false);
    config.client.keyring = keyring;
    if file == ProfileFile::Absent {
        out.send(Update::NeedsProfile {
            default_server: config.default_server(),
            needs_passphrase: config.client.profile_secret.is_none(),
            keyring,
        });
        loop {
            match commands.recv().await? {
                Command::CreateProfile {
                    user,
                    server,
                    passphrase,
                } => {
                    let mut settings = config.client.clone();
                    if passphrase.is_some() {
                        settings.profile_secret = passphrase;
                        settings.keyring = false;
                    }
                    match Client::create_with(&config.profile_dir, &user, &server, settings.clone())
                        .await
                    {
                        Ok(client) => {
                            config.client = settings;
                            return Some(client);
                        }
                        Err(e) => out.send(Update::ProfileFailed(e.to_string())),
                    }
                }
                Command::StartLink {
                    server,
                    device,
                    passphrase,
                } => {
                    let mut settings = config.client.clone();
                    if passphrase.is_some() {
                        settings.profile_secret = passphrase;
                        settings.keyring = false;
                    }
                    let started = PendingLink::start(
                        &config.profile_dir,
                        &server,
                        device.as_deref(),
                        LINK_WAIT,
                        settings.clone(),
                    )
                    .await;
                    match started {
                        Ok(pending) => {
                            if let Some(client) = complete_link(pending, out).await {
                                config.client = settings;
                                return Some(client);
                            }
                        }
                        Err(e) => out.send(Update::ProfileFailed(e.to_string())),
                    }
                }
                _ => {}
            }
        }
    }
    if keyring {
        match Client::open_with(&config.profile_dir, config.client.clone()).await {
            Ok(client) => return Some(client),
            Err(ClientError::LinkPending(_)) => return resume_link(config, out).await,
            // Its key is not in the keyring (it has a passphrase), or is not the one.
            Err(ClientError::Storage(
                StoreError::Encrypted { .. } | StoreError::WrongKey { .. },
            )) => {
                config.client.keyring = false;
            }
            Err(e) => {
                fail(&e);
                return None;
            }
        }
    }
    if config.client.profile_secret.is_none() {
        let encrypting = file == ProfileFile::Plain;
        // A profile whose key is in the keyring has no passphrase until one is set: say so
        // rather than ask for one that does not exist.
        let in_keyring = !encrypting
            && matches!(
                ProfileKeyring::for_profile(
                    &config.profile_dir.join(conclave_client::PROFILE_FILE)
                ),
                Ok(Some(_))
            );
        out.send(Update::NeedsPassphrase {
            encrypting,
            error: in_keyring.then(|| KEY_NOT_GIVEN.to_owned()),
        });
        loop {
            let Command::Unlock(secret) = commands.recv().await? else {
                continue;
            };
            let mut settings = config.client.clone();
            settings.profile_secret = Some(secret);
            match Client::open_with(&config.profile_dir, settings.clone()).await {
                Ok(client) => {
                    config.client = settings;
                    return Some(client);
                }
                Err(ClientError::LinkPending(_)) => {
                    config.client = settings;
                    return resume_link(config, out).await;
                }
                Err(ClientError::Storage(StoreError::WrongKey { .. })) => {
                    out.send(Update::NeedsPassphrase {
                        encrypting,
                        error: Some("Wrong passphrase.".into()),
                    });
                }
                Err(e) => {
                    fail(&e);
                    return None;
                }
            }
        }
    }
    match Client::open_with(&config.profile_dir, config.client.clone()).await {
        Ok(client) => Some(client),
        Err(ClientError::LinkPending(_)) => resume_link(config, out).await,
        Err(e) => {
            fail(&e);
            None
        }
    }
}

/// What the unlock screen says when the profile's key is kept in a keyring that did not give
/// it.
pub const KEY_NOT_GIVEN: &str = "This profile's key is kept in your keyring, which did not give \
     it: unlock the keyring (or start without --no-keyring) and start again. Type a passphrase \
     only if you set one.";

/// How long a link code stays valid, and the longest wait for each later step.
const LINK_WAIT: std::time::Duration = std::time::Duration::from_secs(600);

/// The profile is a device whose link was interrupted: take it up again.
async fn resume_link(config: &AppConfig, out: &Out) -> Option<Client> {
    match PendingLink::resume(&config.profile_dir, config.client.clone()).await {
        Ok(Some(pending)) => complete_link(pending, out).await,
        Ok(None) => None,
        Err(e) => {
            out.send(Update::ProfileFailed(e.to_string()));
            None
        }
    }
}

/// Shows the code (unless approved already) and completes the link, its progress shown.
/// `None` (the UI told why) when it fails: back to the first-run form.
async fn complete_link(pending: PendingLink, out: &Out) -> Option<Client> {
    out.send(Update::LinkCode {
        code: pending.code(),
        fingerprint: pending.fingerprint(),
    });
    let progress = {
        let out = out.clone();
        move |p: LinkProgress| out.send(Update::LinkProgress(p))
    };
    match pending.complete(LINK_WAIT, progress).await {
        Ok(client) => Some(client),
        Err(e) => {
            out.send(Update::ProfileFailed(e.to_string()));
            None
        }
    }
}

async fn run(
    mut config: AppConfig,
    mut commands: async_mpsc::UnboundedReceiver<Command>,
    out: Out,
) {
    // The local server's TLS identity: the local server presents it, its clients (this
    // user's, who alone can read it) trust its CA and present its client certificate.
    let local_tls = match config
        .local_address
        .map(|_| LocalTls::ensure(&config.local_tls))
    {
        Some(Ok(tls)) => Some(tls),
        Some(Err(e)) => {
            out.send(Update::LocalServer(LocalServerState::Unavailable(format!(
                "cannot make the local server's certificate: {e}"
            ))));
            None
        }
        None => None,
    };
    if let Some(tls) = &local_tls {
        config.client.ca_certs.push(tls.ca_file());
        config.client.local_client_cert = Some(tls.client_file());
    }
    // The local server is looked after whatever profile is used: another window may need it.
    let _local = config.local_address.zip(local_tls).map(|(address, tls)| {
        let (mut state, stop) = local_server::supervise(address, config.local_db.clone(), tls);
        let out = out.clone();
        tokio::spawn(async move {
            loop {
                let current = state.borrow_and_update().clone();
                out.send(Update::LocalServer(current));
                if state.changed().await.is_err() {
                    break;
                }
            }
        });
        stop
    });

    let Some(client) = open_or_create(&mut config, &mut commands, &out).await else {
        return;
    };
    out.send(Update::Ready {
        me: client.me().to_string(),
        fingerprint: client.fingerprint(),
        suites: {
            let own = client.ciphersuite();
            let mut suites = client.ciphersuites();
            suites.sort_by_key(|s| *s != own);
            suites
        },
        server: client.server().to_owned(),
        read_receipts: client.read_receipts().await.unwrap_or(true),
        key_in_keyring: config.client.profile_secret.is_none() && config.client.keyring,
    });

    // Engine events go to the UI as they come; the conversation list follows.
    let mut events = client.subscribe();
    let _background = client.start();
    let forwarder = {
        let out = out.clone();
        let client = client.clone();
        tokio::spawn(async move {
            loop {
                match events.recv().await {
                    Ok(event) => {
                        let list_changed = !matches!(event, ClientEvent::Connection(_));
                        out.send(Update::Event(event));
                        if list_changed {
                            refresh(&client, &out).await;
                        }
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                        refresh(&client, &out).await;
                    }
                    Err(_) => break,
                }
            }
        })
    };
    refresh(&client, &out).await;

    while let Some(command) = commands.recv().await {
        let client = client.clone();
        let out = out.clone();
        // Each command runs on its own; the client orders them.
        tokio::spawn(async move { execute(&client, &out, command).await });
    }
    // The window is gone. The forwarder's clone of the client would keep the profile open
    // (and its events coming) for as long as the runtime lives.
    forwarder.abort();
}

async fn refresh(client: &Client, out: &Out) {
    match client.conversations().await {
        Ok(list) => out.send(Update::Conversations(list)),
        Err(e) => out.fail("loading conversations failed", e),
    }
}

async fn members(client: &Client, out: &Out, conversation: ConversationId) {
    match client.members(conversation).await {
        Ok(members) => {
            let invite = client
                .invite_link(conversation)
                .await
                .ok()
                .flatten()
                .map(|(link, approval)| (link.to_text(), approval));
            // Requests wait at the server only for a link that needs approval.
            let requests = match &invite {
                Some((_, true)) => client
                    .join_requests(conversation)
                    .await
                    .map(|r| {
                        let mut users: Vec<String> = r.into_iter().map(|r| r.device.user).collect();
                        users.dedup();
                        users
                    })
                    .unwrap_or_default(),
                _ => Vec::new(),
            };
            out.send(Update::Members {
                conversation,
                members,
                security: client.security(conversation).await.ok(),
                invite,
                requests,
                policy: client.policy(conversation).await.ok().flatten(),
            })
        }
        Err(e) => out.fail("loading members failed", e),
    }
}

fn user(name: &str) -> Result<UserName, String> {
    UserName::new(name.trim()).map_err(|e| format!("{:?} is not a user name: {e}", name.trim()))
}

async fn execute(client: &Client, out: &Out, command: Command) {
    match command {
        Command::CreateProfile { .. } | Command::StartLink { .. } | Command::Unlock(_) => {}
        Command::ApproveLink(text) => {
            let outcome = match LinkCode::parse(&text) {
                Ok(code) => {
                    let progress = {
                        let out = out.clone();
                        move |p: LinkProgress| out.send(Update::ApproveProgress(p))
                    };
                    match client.approve_link(&code, LINK_WAIT, progress).await {
                        Ok(report) => format!(
                            "Linked {}: added to {} conversations, {} messages of history sent.",
                            report.device, report.conversations, report.messages
                        ),
                        Err(e) => format!("Linking failed: {e}"),
                    }
                }
                Err(e) => e.to_string(),
            };
            out.send(Update::ApproveDone(outcome));
        }
        Command::SetReadReceipts(on) => match client.set_read_receipts(on).await {
            Ok(()) => out.send(Update::ReadReceipts(on)),
            Err(e) => out.fail("changing read receipts failed", e),
        },
        Command::ChangePassphrase { current, new } => {
            let (client, out) = (client.clone(), out.clone());
            tokio::spawn(async move {
                let result = client.change_passphrase(current, new).await;
                out.send(Update::PassphraseChanged(result.map_err(|e| match e {
                    ClientError::Storage(StoreError::WrongKey { .. }) => {
                        "The current passphrase is not right.".to_owned()
                    }
                    e => e.to_string(),
                })));
            });
        }
        Command::LoadDevices => match client.devices().await {
            Ok(devices) => out.send(Update::Devices(devices)),
            Err(e) => out.fail("loading your devices failed", e),
        },
        Command::RevokeDevice(device) => {
            match client.revoke_device(&device).await {
                Ok(n) => out.send(Update::Notice(format!(
                    "revoked {device}: the server refuses it, and it was removed from {n} \
                     conversations"
                ))),
                Err(e) => out.fail(&format!("revoking {device} failed"), e),
            }
            if let Ok(devices) = client.devices().await {
                out.send(Update::Devices(devices));
            }
        }
        Command::RefreshConversations => refresh(client, out).await,
        Command::Open(conversation) => {
            match client.message_count(conversation).await {
                Ok(total) => {
                    out.send(Update::Opened {
                        conversation,
                        total,
                    });
                    let last = (total as usize).saturating_sub(1) / PAGE;
                    load_page(client, out, conversation, last).await;
                }
                Err(e) => out.fail("opening the conversation failed", e),
            }
            members(client, out, conversation).await;
        }
        Command::LoadPage(conversation, page) => load_page(client, out, conversation, page).await,
        Command::Members(conversation) => members(client, out, conversation).await,
        Command::Send(conversation, text, reply_to) => {
            let sent = match reply_to {
                Some(to) => client.reply(conversation, to, &text).await,
                None => client.send_text(conversation, &text).await,
            };
            if let Err(e) = sent {
                out.fail("sending failed", e);
            }
        }
        Command::React(conversation, message, emoji, remove) => {
            let reacted = if remove {
                client.unreact(conversation, message, &emoji).await
            } else {
                client.react(conversation, message, &emoji).await
            };
            if let Err(e) = reacted {
                out.fail("reacting failed", e);
            }
        }
        Command::Edit(conversation, message, text) => {
            if let Err(e) = client.edit(conversation, message, &text).await {
                out.fail("editing failed", e);
            }
        }
        Command::Delete(conversation, message) => {
            if let Err(e) = client.delete(conversation, message).await {
                out.fail("deleting failed", e);
            }
        }
        Command::Disappear(conversation, seconds) => {
            if let Err(e) = client.set_disappearing(conversation, seconds).await {
                out.fail("setting the timer failed", e);
            }
        }
        // Transfers run beside other commands: a large file must not hold up the rest.
        Command::SendFile(conversation, path) => {
            let (client, out) = (client.clone(), out.clone());
            tokio::spawn(async move {
                let name = path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let progress = |done, total| {
                    out.send(Update::Transfer {
                        name: name.clone(),
                        done,
                        total,
                    })
                };
                if let Err(e) = client.send_file(conversation, &path, progress).await {
                    out.fail(&format!("sending {name} failed"), e);
                }
            });
        }
        Command::SendImage(conversation, image) => {
            let (client, out) = (client.clone(), out.clone());
            tokio::spawn(async move {
                let name = format!(
                    "Pasted image {}.png",
                    jiff::Zoned::now().strftime("%Y-%m-%d %H.%M.%S")
                );
                let png =
                    match tokio::task::spawn_blocking(move || crate::preview::png(&image)).await {
                        Ok(Ok(png)) => png,
                        Ok(Err(e)) => return out.fail("the pasted image", e),
                        Err(e) => return out.fail("the pasted image", e),
                    };
                let progress = |done, total| {
                    out.send(Update::Transfer {
                        name: name.clone(),
                        done,
                        total,
                    })
                };
                if let Err(e) = client.send_bytes(conversation, &name, &png, progress).await {
                    out.fail(&format!("sending {name} failed"), e);
                }
            });
        }
        Command::SaveAttachment(message, name) => {
            let (client, out) = (client.clone(), out.clone());
            tokio::spawn(async move {
                let folder = directories::UserDirs::new()
                    .and_then(|d| d.download_dir().map(Path::to_path_buf))
                    .unwrap_or_else(std::env::temp_dir);
                let target = folder.join(safe_file_name(&name));
                let progress = |done, total| {
                    out.send(Update::Transfer {
                        name: name.clone(),
                        done,
                        total,
                    })
                };
                match client.save_file(message, &target, progress).await {
                    Ok(_) => out.send(Update::Notice(format!("saved to {}", target.display()))),
                    Err(e) => out.fail(&format!("saving {name} failed"), e),
                }
            });
        }
        Command::Typing(conversation) => {
            // Worth nothing later: a failure is not worth a notice.
            let _ = client.send_typing(conversation).await;
        }
        Command::LoadImage(message) => {
            let (client, out) = (client.clone(), out.clone());
            tokio::spawn(async move {
                let image = match client.attachment_bytes(message, MAX_PREVIEW_BYTES).await {
                    Ok(bytes) => {
                        tokio::task::spawn_blocking(move || crate::preview::decode(&bytes))
                            .await
                            .unwrap_or_else(|e| Err(e.to_string()))
                    }
                    Err(e) => Err(e.to_string()),
                };
                out.send(Update::Image(message, image.map(std::sync::Arc::new)));
            });
        }
        Command::CreateConversation {
            name,
            members,
            suite,
        } => {
            let users: Result<Vec<UserName>, String> = members
                .iter()
                .filter(|m| !m.trim().is_empty())
                .map(|m| user(m))
                .collect();
            let suite = suite.unwrap_or_else(|| client.ciphersuite());
            match users {
                Ok(users) => match client.create_conversation_in(suite, &name, &users).await {
                    Ok(id) => {
                        refresh(client, out).await;
                        out.send(Update::Created(id));
                    }
                    Err(e) => out.fail("creating the conversation failed", e),
                },
                Err(e) => out.send(Update::Notice(e)),
            }
        }
        Command::Invite(conversation, name) => {
            let result = match user(&name) {
                Ok(u) => client
                    .invite(conversation, &u)
                    .await
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e),
            };
            if let Err(e) = result {
                out.fail(&format!("inviting {name} failed"), e);
            }
            members(client, out, conversation).await;
        }
        Command::SetAdmin(conversation, name, admin) => {
            let result = match user(&name) {
                Ok(u) if admin => client
                    .promote(conversation, &u)
                    .await
                    .map_err(|e| e.to_string()),
                Ok(u) => client
                    .demote(conversation, &u)
                    .await
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e),
            };
            if let Err(e) = result {
                out.fail(&format!("changing {name}'s role failed"), e);
            }
            members(client, out, conversation).await;
        }
        Command::SetRules(conversation, action, role) => {
            use conclave_client::Action;
            let only = |a: Action| (action == a).then_some(role);
            let result = client
                .set_rules(
                    conversation,
                    only(Action::Add),
                    only(Action::Remove),
                    only(Action::Rename),
                    only(Action::Links),
                )
                .await;
            if let Err(e) = result {
                out.fail("changing the rules failed", e);
            }
            members(client, out, conversation).await;
        }
        Command::CreateLink(conversation, approval) => {
            if let Err(e) = client.create_link(conversation, approval, None).await {
                out.fail("creating the invite link failed", e);
            }
            members(client, out, conversation).await;
        }
        Command::RevokeLink(conversation) => {
            if let Err(e) = client.revoke_link(conversation).await {
                out.fail("revoking the invite link failed", e);
            }
            members(client, out, conversation).await;
        }
        Command::AnswerJoin(conversation, name, approve) => {
            let result = match user(&name) {
                Ok(u) if approve => client
                    .approve_join(conversation, &u)
                    .await
                    .map_err(|e| e.to_string()),
                Ok(u) => client
                    .decline_join(conversation, &u)
                    .await
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e),
            };
            if let Err(e) = result {
                out.fail(&format!("answering {name}'s request failed"), e);
            }
            members(client, out, conversation).await;
        }
        Command::JoinLink(text) => match client.join_link(&text).await {
            Ok(LinkJoin::Joined(id)) => {
                refresh(client, out).await;
                out.send(Update::Created(id));
            }
            Ok(LinkJoin::Requested) => out.send(Update::Notice(
                "You asked to join: an admin of the conversation approves it.".into(),
            )),
            Err(e) => out.fail("joining by the link failed", e),
        },
        Command::Rejoin(conversation) => {
            match client.rejoin(conversation).await {
                Ok(()) => out.send(Update::Rejoined(conversation)),
                Err(e) => out.fail("rejoining failed", e),
            }
            members(client, out, conversation).await;
        }
        Command::Remove(conversation, name) => {
            let result = match user(&name) {
                Ok(u) => client
                    .remove(conversation, &u)
                    .await
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e),
            };
            if let Err(e) = result {
                out.fail(&format!("removing {name} failed"), e);
            }
            members(client, out, conversation).await;
        }
        Command::Leave(conversation) => {
            match client.leave(conversation).await {
                Ok(()) => out.send(Update::Notice(
                    "leaving: the other members will remove this device".into(),
                )),
                Err(e) => out.fail("leaving failed", e),
            }
            refresh(client, out).await;
        }
        Command::Rename(conversation, name) => {
            if let Err(e) = client.rename(conversation, &name).await {
                out.fail("renaming failed", e);
            }
        }
        Command::Accept(conversation) => {
            if let Err(e) = client.accept(conversation).await {
                out.fail("accepting failed", e);
            }
            refresh(client, out).await;
        }
        Command::Decline(conversation) => {
            match client.decline(conversation).await {
                Ok(()) => out.send(Update::Notice(
                    "declined: the other members will remove this device".into(),
                )),
                Err(e) => out.fail("declining failed", e),
            }
            refresh(client, out).await;
        }
        Command::RotateKeys(conversation) => {
            if let Err(e) = client.rotate_keys(conversation).await {
                out.fail("rotating keys failed", e);
            }
            members(client, out, conversation).await;
        }
        Command::MarkRead(conversation, up_to) => {
            if client.mark_read(conversation, up_to).await.is_ok() {
                refresh(client, out).await;
            }
        }
        Command::Search(text) => match client.search(&text, 200).await {
            Ok(results) => out.send(Update::SearchResults(results)),
            Err(e) => out.fail("search failed", e),
        },
        Command::Verify(conversation, name) => {
            let result = match user(&name) {
                Ok(u) => client.verify(&u).await.map_err(|e| e.to_string()),
                Err(e) => Err(e),
            };
            if let Err(e) = result {
                out.fail(&format!("verifying {name} failed"), e);
            }
            members(client, out, conversation).await;
        }
    }
}

async fn load_page(client: &Client, out: &Out, conversation: ConversationId, page: usize) {
    let loaded = match client
        .history_at(conversation, (page * PAGE) as u64, PAGE)
        .await
    {
        Ok(messages) => client
            .annotations(conversation, &messages)
            .await
            .map(|annotations| (messages, annotations)),
        Err(e) => Err(e),
    };
    match loaded {
        Ok((messages, annotations)) => out.send(Update::Page {
            conversation,
            page,
            messages,
            annotations,
        }),
        Err(e) => out.fail("loading history failed", e),
    }
}

/// Images larger than this are not fetched for a preview (the card's Save button still
/// saves them).
const MAX_PREVIEW_BYTES: u64 = 20 << 20;

/// A name another member chose, made safe as a file name in the downloads folder: no
/// folders, no hidden files, nothing empty.
fn safe_file_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if matches!(c, '/' | '\\' | '\0' | ':') || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect();
    let cleaned = cleaned.trim_start_matches('.').trim().to_owned();
    if cleaned.is_empty() {
        "attachment".into()
    } else {
        cleaned
    }
}
