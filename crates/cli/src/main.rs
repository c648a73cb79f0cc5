//! `conclave-cli`: Conclave from the command line, for people and scripts.
//!
//! Exit codes: 0 success; 1 other failure; 2 bad usage; 3 server unreachable; 4 no such
//! conversation or user; 5 refused (name taken, already a member, not a member, too much
//! contention, refused by the server); 6 no profile, or the profile is in use.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use conclave_client::{
    Client, ClientError, ClientEvent, ConversationId, MessageKind, MessageState, StoredMessage,
    UserName,
};
use serde_json::{Value, json};

/// The local delivery service address (what `conclave-ds` listens on by default).
const DEFAULT_SERVER: &str = "http://127.0.0.1:7300";

#[derive(Parser)]
#[command(
    name = "conclave-cli",
    version,
    about = "Conclave end-to-end encrypted messenger"
)]
struct Cli {
    /// Profile directory (default: the platform data directory's `profiles/default`).
    #[arg(long, global = true, env = "CONCLAVE_PROFILE")]
    profile: Option<PathBuf>,
    /// Print JSON (one object per result, or per event for `listen`).
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create this device's profile and register it at the server.
    Init {
        /// Your user name (a-z, 0-9, `.`, `_`, `-`).
        #[arg(long)]
        user: String,
        /// The delivery service.
        #[arg(long, default_value = DEFAULT_SERVER)]
        server: String,
    },
    /// Who this device is.
    Whoami,
    /// Users and devices this profile has seen, with fingerprints and verified marks.
    Users,
    /// Conversations with unread counts (syncs first).
    List,
    /// Fetch and apply what the server holds for this device; send what waits.
    Sync,
    /// Create a conversation.
    Create {
        /// Its name.
        name: String,
        /// Users to add (every device of each).
        #[arg(long = "with", num_args = 1..)]
        with: Vec<String>,
    },
    /// Add a user (every device) to a conversation.
    Invite {
        /// Conversation name or id.
        conversation: String,
        /// The user.
        user: String,
    },
    /// Remove a user (every device) from a conversation.
    Remove {
        /// Conversation name or id.
        conversation: String,
        /// The user.
        user: String,
    },
    /// Leave a conversation (the others commit your removal).
    Leave {
        /// Conversation name or id.
        conversation: String,
    },
    /// Rename a conversation for everyone.
    Rename {
        /// Conversation name or id.
        conversation: String,
        /// The new name.
        name: String,
    },
    /// Send a text message.
    Send {
        /// Conversation name or id.
        conversation: String,
        /// The text.
        text: String,
    },
    /// Print a conversation's messages, oldest first (syncs first).
    History {
        /// Conversation name or id.
        conversation: String,
        /// How many of the newest messages.
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Search all history.
    Search {
        /// Words that must all occur.
        text: String,
        /// At most this many results.
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// A conversation's members, safety numbers and security state.
    Members {
        /// Conversation name or id.
        conversation: String,
    },
    /// Print events as they happen until interrupted (Ctrl-C) or `--for` seconds pass.
    Listen {
        /// Stop after this many seconds.
        #[arg(long = "for")]
        duration: Option<u64>,
    },
    /// Show a user's safety numbers and mark their current keys verified.
    Verify {
        /// The user.
        user: String,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CONCLAVE_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let json = cli.json;
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if json {
                eprintln!(
                    "{}",
                    json!({ "error": error_name(&e), "message": e.to_string() })
                );
            } else {
                eprintln!("error: {e}");
            }
            ExitCode::from(exit_code(&e))
        }
    }
}

fn exit_code(e: &ClientError) -> u8 {
    match e {
        ClientError::Offline { .. } => 3,
        ClientError::NoSuchConversation(_)
        | ClientError::UnknownUser(_)
        | ClientError::AmbiguousConversation(_) => 4,
        ClientError::NameTaken(_)
        | ClientError::AlreadyMember(_)
        | ClientError::NotAMember
        | ClientError::NotInConversation(_)
        | ClientError::NoKeyPackages(_)
        | ClientError::Contention(_)
        | ClientError::Server { .. } => 5,
        ClientError::NoProfile(_) | ClientError::ProfileExists(_) => 6,
        ClientError::Storage(conclave_client::StoreError::ProfileInUse { .. }) => 6,
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
        ClientError::NotInConversation(_) => "not_in_conversation",
        ClientError::NoKeyPackages(_) => "no_key_packages",
        ClientError::Contention(_) => "contention",
        ClientError::Server { .. } => "refused",
        ClientError::NoProfile(_) => "no_profile",
        ClientError::ProfileExists(_) => "profile_exists",
        ClientError::InvalidInput(_) => "invalid_input",
        _ => "failed",
    }
}

fn default_profile() -> PathBuf {
    directories::ProjectDirs::from("org", "Conclave", "conclave")
        .map(|d| d.data_dir().join("profiles").join("default"))
        .unwrap_or_else(|| PathBuf::from("conclave-profile"))
}

fn user(name: &str) -> Result<UserName, ClientError> {
    UserName::new(name).map_err(|e| ClientError::InvalidInput(format!("user name: {e}")))
}

async fn run(cli: Cli) -> Result<(), ClientError> {
    let profile = cli.profile.unwrap_or_else(default_profile);
    let out = Output { json: cli.json };
    if let Command::Init { user, server } = &cli.command {
        let client = Client::create(&profile, user, server).await?;
        out.print(
            json!({ "user": client.me().user.as_str(), "device": client.me().device.as_str(),
                    "server": client.server(), "fingerprint": client.fingerprint(),
                    "profile": profile.display().to_string() }),
            || {
                format!(
                    "created {} on {}\nprofile: {}\nfingerprint: {}",
                    client.me(),
                    client.server(),
                    profile.display(),
                    conclave_client::display::digit_groups(&client.fingerprint())
                )
            },
        );
        return Ok(());
    }
    let client = Client::open(&profile).await?;
    match cli.command {
        Command::Init { .. } => unreachable!("handled above"),
        Command::Whoami => out.print(
            json!({ "user": client.me().user.as_str(), "device": client.me().device.as_str(),
                    "server": client.server(), "fingerprint": client.fingerprint() }),
            || {
                format!(
                    "{} on {}\nfingerprint: {}",
                    client.me(),
                    client.server(),
                    conclave_client::display::digit_groups(&client.fingerprint())
                )
            },
        ),
        Command::Users => {
            let devices = client.known_devices().await?;
            let rows: Vec<Value> = devices
                .iter()
                .map(|d| {
                    json!({ "user": d.member.user.as_str(), "device": d.member.device.as_str(),
                            "fingerprint": d.fingerprint, "verified": d.verified })
                })
                .collect();
            out.print(json!({ "devices": rows }), || {
                devices
                    .iter()
                    .map(|d| {
                        format!(
                            "{}  {}{}",
                            d.member,
                            conclave_client::display::digit_groups(&d.fingerprint),
                            if d.verified { "  verified" } else { "" }
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
        Command::List => {
            sync_quietly(&client).await?;
            let list = client.conversations().await?;
            let rows: Vec<Value> = list
                .iter()
                .map(|s| {
                    json!({ "id": s.conversation.id.0, "name": s.conversation.name,
                            "unread": s.unread, "left": s.conversation.left_at.is_some(),
                            "last_message": s.last_message.as_ref().map(|m| m.message.body.clone()) })
                })
                .collect();
            out.print(json!({ "conversations": rows }), || {
                list.iter()
                    .map(|s| {
                        format!(
                            "[{}] {}{}{}",
                            s.conversation.id.0,
                            s.conversation.name,
                            if s.unread > 0 {
                                format!("  ({} unread)", s.unread)
                            } else {
                                String::new()
                            },
                            if s.conversation.left_at.is_some() {
                                "  (left)"
                            } else {
                                ""
                            }
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
        Command::Sync => {
            let applied = client.sync().await?;
            out.print(json!({ "applied": applied }), || {
                format!("{applied} item(s) applied")
            });
        }
        Command::Create { name, with } => {
            let users = with
                .iter()
                .map(|u| user(u))
                .collect::<Result<Vec<_>, _>>()?;
            let id = client.create_conversation(&name, &users).await?;
            out.print(json!({ "id": id.0, "name": name }), || {
                format!("created [{}] {name}", id.0)
            });
        }
        Command::Invite {
            conversation,
            user: name,
        } => {
            let id = find(&client, &conversation).await?;
            client.invite(id, &user(&name)?).await?;
            out.print(json!({ "id": id.0, "invited": name }), || {
                format!("invited {name}")
            });
        }
        Command::Remove {
            conversation,
            user: name,
        } => {
            let id = find(&client, &conversation).await?;
            client.remove(id, &user(&name)?).await?;
            out.print(json!({ "id": id.0, "removed": name }), || {
                format!("removed {name}")
            });
        }
        Command::Leave { conversation } => {
            let id = find(&client, &conversation).await?;
            client.leave(id).await?;
            out.print(json!({ "id": id.0, "leaving": true }), || {
                "asked the other members to remove this device".to_owned()
            });
        }
        Command::Rename { conversation, name } => {
            let id = find(&client, &conversation).await?;
            client.rename(id, &name).await?;
            out.print(json!({ "id": id.0, "name": name }), || {
                format!("renamed to {name}")
            });
        }
        Command::Send { conversation, text } => {
            // Catch up first: the message then follows what the others said, in the
            // group's newest epoch.
            sync_quietly(&client).await?;
            let id = find(&client, &conversation).await?;
            let message = client.send_text(id, &text).await?;
            let state = client
                .message(message)
                .await?
                .map(|m| m.message.state)
                .unwrap_or(MessageState::Pending);
            out.print(
                json!({ "conversation": id.0, "message": message.0, "state": state_name(state) }),
                || match state {
                    MessageState::Sent => "sent".to_owned(),
                    MessageState::Pending => {
                        "queued: the server is unreachable; it is sent on the next sync".to_owned()
                    }
                    other => state_name(other).to_owned(),
                },
            );
        }
        Command::History {
            conversation,
            limit,
        } => {
            sync_quietly(&client).await?;
            let id = find(&client, &conversation).await?;
            let mut messages = client.history(id, None, limit).await?;
            messages.reverse();
            if let Some(last) = messages.last() {
                client.mark_read(id, last.id).await?;
            }
            let rows: Vec<Value> = messages.iter().map(message_json).collect();
            out.print(json!({ "conversation": id.0, "messages": rows }), || {
                messages
                    .iter()
                    .map(message_line)
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
        Command::Search { text, limit } => {
            sync_quietly(&client).await?;
            let hits = client.search(&text, limit).await?;
            let rows: Vec<Value> = hits.iter().map(message_json).collect();
            out.print(json!({ "results": rows }), || {
                hits.iter()
                    .map(|m| format!("[{}] {}", m.message.conversation.0, message_line(m)))
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
        Command::Members { conversation } => {
            sync_quietly(&client).await?;
            let id = find(&client, &conversation).await?;
            let members = client.members(id).await?;
            let security = client.security(id).await?;
            let rows: Vec<Value> = members
                .iter()
                .map(|m| {
                    json!({ "user": m.id.user.as_str(), "device": m.id.device.as_str(),
                            "fingerprint": m.fingerprint, "safety_number": m.safety_number,
                            "verified": m.verified, "me": m.is_me })
                })
                .collect();
            out.print(
                json!({ "members": rows, "epoch": security.epoch,
                        "epoch_authenticator": security.epoch_authenticator,
                        "ciphersuite": security.ciphersuite }),
                || {
                    let mut lines: Vec<String> = members
                        .iter()
                        .map(|m| {
                            format!(
                                "{}{}{}",
                                m.id,
                                if m.is_me { "  (you)" } else { "" },
                                if m.verified { "  verified" } else { "" }
                            )
                        })
                        .collect();
                    lines.push(format!(
                        "epoch {}  authenticator {}  {}",
                        security.epoch, security.epoch_authenticator, security.ciphersuite
                    ));
                    lines.join("\n")
                },
            );
        }
        Command::Listen { duration } => {
            let mut events = client.subscribe();
            let _background = client.start();
            let deadline = duration.map(|s| tokio::time::Instant::now() + Duration::from_secs(s));
            loop {
                let next = async {
                    match deadline {
                        Some(d) => tokio::time::timeout_at(d, events.recv()).await.ok(),
                        None => Some(events.recv().await),
                    }
                };
                let event = tokio::select! {
                    event = next => event,
                    _ = shutdown() => None,
                };
                match event {
                    None => break,
                    Some(Ok(event)) => print_event(&out, &event),
                    Some(Err(tokio::sync::broadcast::error::RecvError::Lagged(n))) => {
                        eprintln!("warning: {n} events skipped")
                    }
                    Some(Err(_)) => break,
                }
            }
        }
        Command::Verify { user: name } => {
            sync_quietly(&client).await?;
            let name = user(&name)?;
            let numbers = client.safety_numbers(&name).await?;
            client.verify(&name).await?;
            let rows: Vec<Value> = numbers
                .iter()
                .map(|(d, n)| json!({ "device": d.member.device.as_str(), "safety_number": n }))
                .collect();
            out.print(json!({ "user": name.as_str(), "verified": rows }), || {
                numbers
                    .iter()
                    .map(|(d, n)| {
                        format!(
                            "{}  {}  verified",
                            d.member,
                            conclave_client::display::digit_groups(n)
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
    }
    Ok(())
}

/// Ctrl-C or SIGTERM.
async fn shutdown() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => return std::future::pending().await,
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Reading commands show what is stored even when the server is unreachable.
async fn sync_quietly(client: &Client) -> Result<(), ClientError> {
    match client.sync().await {
        Ok(_) => Ok(()),
        Err(e) if e.is_offline() => {
            eprintln!("warning: {e}; showing what is stored");
            Ok(())
        }
        Err(e) => Err(e),
    }
}

async fn find(client: &Client, key: &str) -> Result<ConversationId, ClientError> {
    match client.find_conversation(key).await {
        Err(ClientError::NoSuchConversation(_)) => {
            // It may have arrived since the last sync.
            sync_quietly(client).await?;
            client.find_conversation(key).await
        }
        other => other,
    }
}

struct Output {
    json: bool,
}

impl Output {
    fn print(&self, value: Value, human: impl FnOnce() -> String) {
        if self.json {
            println!("{value}");
        } else {
            let text = human();
            if !text.is_empty() {
                println!("{text}");
            }
        }
    }
}

fn state_name(state: MessageState) -> &'static str {
    match state {
        MessageState::Pending => "pending",
        MessageState::Sent => "sent",
        MessageState::Failed => "failed",
        MessageState::Received => "received",
    }
}

fn message_json(m: &StoredMessage) -> Value {
    json!({
        "id": m.id.0,
        "conversation": m.message.conversation.0,
        "sender": m.message.sender.to_string(),
        "user": m.message.sender.user.as_str(),
        "sent_at": m.message.sent_at,
        "kind": match m.message.kind { MessageKind::Text => "text", MessageKind::Event => "event", MessageKind::Unsupported => "unsupported" },
        "body": m.message.body,
        "state": state_name(m.message.state),
        "uid": hex::encode(&m.message.uid),
    })
}

fn message_line(m: &StoredMessage) -> String {
    let time = conclave_client::display::timestamp(m.message.sent_at);
    match m.message.kind {
        MessageKind::Event => format!("{time}  * {}", m.message.body),
        _ => {
            let state = match m.message.state {
                MessageState::Pending => "  (pending)",
                MessageState::Failed => "  (failed)",
                _ => "",
            };
            format!(
                "{time}  {}: {}{state}",
                m.message.sender.user, m.message.body
            )
        }
    }
}

fn print_event(out: &Output, event: &ClientEvent) {
    let (value, text) = match event {
        ClientEvent::MessageReceived {
            conversation,
            message,
        } => (
            json!({ "event": "message", "conversation": conversation.0, "message": message_json(message) }),
            format!("[{}] {}", conversation.0, message_line(message)),
        ),
        ClientEvent::MessageStateChanged {
            conversation,
            message,
            state,
        } => (
            json!({ "event": "message_state", "conversation": conversation.0,
                    "message": message.0, "state": state_name(*state) }),
            format!(
                "[{}] message {} {}",
                conversation.0,
                message.0,
                state_name(*state)
            ),
        ),
        ClientEvent::MembersChanged { conversation } => (
            json!({ "event": "members_changed", "conversation": conversation.0 }),
            format!("[{}] members changed", conversation.0),
        ),
        ClientEvent::ConversationRenamed { conversation, name } => (
            json!({ "event": "renamed", "conversation": conversation.0, "name": name }),
            format!("[{}] renamed to {name}", conversation.0),
        ),
        ClientEvent::ConversationJoined { conversation } => (
            json!({ "event": "joined", "conversation": conversation.0 }),
            format!("[{}] joined", conversation.0),
        ),
        ClientEvent::ConversationLeft { conversation, by } => (
            json!({ "event": "left", "conversation": conversation.0, "by": by.to_string() }),
            format!("[{}] you are no longer a member (by {by})", conversation.0),
        ),
        ClientEvent::KeyChanged {
            member,
            previous_fingerprint,
            fingerprint,
        } => (
            json!({ "event": "key_changed", "member": member.to_string(),
                    "previous_fingerprint": previous_fingerprint, "fingerprint": fingerprint }),
            format!(
                "WARNING: the key of {member} changed\n  was {}\n  now {}\n  compare safety numbers before trusting it",
                conclave_client::display::digit_groups(previous_fingerprint),
                conclave_client::display::digit_groups(fingerprint)
            ),
        ),
        ClientEvent::Connection(state) => (
            json!({ "event": "connection", "state": format!("{state:?}").to_lowercase() }),
            format!("connection: {state:?}"),
        ),
        ClientEvent::Error { message } => (
            json!({ "event": "error", "message": message }),
            format!("error: {message}"),
        ),
        _ => return,
    };
    out.print(value, || text);
}
