//! `conclave-cli`: Conclave from the command line, for people and scripts.
//!
//! Exit codes: 0 success; 1 other failure; 2 bad usage; 3 server unreachable; 4 no such
//! conversation or user; 5 refused (name taken, already a member, not a member, too much
//! contention, refused by the server, an untrusted key package); 6 no profile, or the
//! profile is in use, or waiting to be linked; 7 the profile is encrypted and the
//! passphrase (or the keyring's key) is missing or wrong, or the keyring failed; 8 linking failed (code used, expired, or not approved in
//! time); 9 this device was revoked.

#![forbid(unsafe_code)]

/// mimalloc, for the reasons in docs/ARCHITECTURE.md, "The allocator".
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use std::io::IsTerminal as _;

use conclave_client::link::{LinkCode, LinkProgress, PendingLink};
use conclave_client::{
    CipherSuite, Client, ClientConfig, ClientError, ConversationId, MessageId, MessageState,
    ProfileSecret, UserName,
};
use output::{
    Accepted, Approved, Changed, ConversationRow, Conversations, Created, DeviceRow, Devices,
    Event, History, Invited, Leaving, LinkCodeShown, Linked, Members, MessageRow, Output,
    OwnDeviceRow, OwnDevices, PassphraseSet, Profile, Removed, Renamed, Revoked, SafetyRow,
    SearchResults, Sent, Synced, Verified, state_name,
};

mod invites;
mod output;

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
    /// A PEM file of CA certificates to trust for an `https://` server with a private CA
    /// (besides the public web roots).
    #[arg(long, global = true, env = "CONCLAVE_CA_CERT")]
    ca_cert: Option<PathBuf>,
    /// A PEM file with a TLS client certificate and its key, for a server on this machine
    /// that asks for one: the app's local server, whose `client.pem` is in the app's data
    /// directory under `local-server-tls/` (with the `ca.pem` to give as --ca-cert).
    #[arg(long, global = true, env = "CONCLAVE_CLIENT_CERT")]
    client_cert: Option<PathBuf>,
    /// A file whose first line is the passphrase the profile is encrypted with (Argon2id,
    /// SQLCipher). A plain profile is encrypted with it on first use; a new one is created
    /// encrypted. Without it (or the passphrase itself in CONCLAVE_PASSPHRASE: never as an
    /// argument, which others could see in the process list) the profile stays plain, or
    /// its key is kept in the OS keyring (--keyring).
    #[arg(long, global = true, env = "CONCLAVE_PASSPHRASE_FILE")]
    passphrase_file: Option<PathBuf>,
    /// Keep the profile's key in the OS keyring (the Secret Service on Linux, the Keychain
    /// on macOS, the Credential Manager on Windows) instead of a passphrase: a new profile,
    /// or a plain one, is encrypted with a random key kept there. An encrypted profile given
    /// no passphrase is always looked up there, with or without this flag.
    #[arg(long, global = true, env = "CONCLAVE_KEYRING")]
    keyring: bool,
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
        /// The device's own ciphersuite: its signature key is of this suite's scheme, and
        /// it takes part in every suite of that scheme. x25519 (the default) also gives
        /// x25519-chacha and xwing; p256; x448 (and x448-chacha); p521; p384.
        #[arg(long, value_parser = ciphersuite)]
        suite: Option<CipherSuite>,
    },
    /// Make this profile a new device of a user who has one already: prints a link code
    /// (first line; with --json, `{"code": ...}` first), waits for one of the user's devices
    /// to approve it (`approve CODE`), and returns once the history is stored. Run again
    /// after an interruption, it resumes.
    Link {
        /// The delivery service.
        #[arg(long, default_value = DEFAULT_SERVER)]
        server: String,
        /// This device's name (its device id; random by default).
        #[arg(long)]
        name: Option<String>,
        /// Seconds the code stays valid, and the longest wait for each later step.
        #[arg(long, default_value_t = 300)]
        timeout: u64,
    },
    /// Link the device showing CODE to your user: shows its fingerprint (asks to confirm on a
    /// terminal), registers it, adds it to every conversation and sends it the history.
    Approve {
        /// The code the new device shows.
        code: String,
        /// Do not ask for confirmation on a terminal.
        #[arg(long)]
        yes: bool,
        /// Seconds to wait for the new device.
        #[arg(long, default_value_t = 300)]
        timeout: u64,
    },
    /// Your devices: name, fingerprint, added, last seen.
    Devices,
    /// Revoke one of your other devices (lost or sold): the server refuses it at once, and
    /// it is removed from every conversation.
    Revoke {
        /// The device's name (see `devices`).
        device: String,
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
        /// Its MLS ciphersuite, one this device supports (`conclave whoami` lists them):
        /// x25519, p256, x25519-chacha, x448, p521, x448-chacha, p384, or xwing (post-quantum
        /// key exchange, a draft suite). Default: the device's own.
        #[arg(long, value_parser = ciphersuite)]
        suite: Option<CipherSuite>,
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
    /// Make a user an admin of a conversation (admins only).
    Promote {
        /// Conversation name or id.
        conversation: String,
        /// The user.
        user: String,
    },
    /// Make an admin a member again (admins only; not the last admin).
    Demote {
        /// Conversation name or id.
        conversation: String,
        /// The user.
        user: String,
    },
    /// Print a conversation's policy: its admins, and which actions need one. With a rule
    /// given, change it first (admins only): who may add members, remove others, rename,
    /// manage invite links.
    Policy {
        /// Conversation name or id.
        conversation: String,
        /// Who may add members.
        #[arg(long, value_enum)]
        add: Option<Who>,
        /// Who may remove other members.
        #[arg(long, value_enum)]
        remove: Option<Who>,
        /// Who may rename the conversation.
        #[arg(long, value_enum)]
        rename: Option<Who>,
        /// Who may create and revoke invite links.
        #[arg(long, value_enum)]
        links: Option<Who>,
    },
    /// Open an invite link to a conversation (replacing any open one) and print it, alone
    /// on the first line. Whoever has it joins with `join`; with --approval they ask, and
    /// an admin answers with `approve-join` or `decline-join`.
    LinkCreate {
        /// Conversation name or id.
        conversation: String,
        /// Joining needs an admin's approval.
        #[arg(long)]
        approval: bool,
        /// The link stops working after this long: 30m, 12h, 7d (default: until revoked).
        #[arg(long, value_parser = invites::duration)]
        expires: Option<Duration>,
    },
    /// Revoke a conversation's invite link: joining by it fails from now on.
    LinkRevoke {
        /// Conversation name or id.
        conversation: String,
    },
    /// Join a conversation by its invite link (or ask to, when it needs approval).
    Join {
        /// The link (conclave://join/...).
        link: String,
    },
    /// List who asked to join a conversation by its link.
    Requests {
        /// Conversation name or id.
        conversation: String,
    },
    /// Approve a request to join: the user is added.
    ApproveJoin {
        /// Conversation name or id.
        conversation: String,
        /// The user who asked.
        user: String,
    },
    /// Decline a request to join.
    DeclineJoin {
        /// Conversation name or id.
        conversation: String,
        /// The user who asked.
        user: String,
    },
    /// Get this device back into a conversation it cannot go on in (done by itself where it
    /// is safe; this does it now).
    Rejoin {
        /// Conversation name or id.
        conversation: String,
        /// When the device must ask the other members for the group's current key (its
        /// state is older than the key): how long to wait for one of them to answer.
        #[arg(long, default_value = "30s", value_parser = invites::duration)]
        wait: Duration,
    },
    /// Leave a conversation (the others commit your removal).
    Leave {
        /// Conversation name or id.
        conversation: String,
    },
    /// Accept an invitation from someone you had never talked to (`list` marks them
    /// "request"): until then nothing is sent to that conversation.
    Accept {
        /// Conversation name or id.
        conversation: String,
    },
    /// Decline such an invitation: leave the conversation.
    Decline {
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
        /// Answer this message (its id as `history` prints it).
        #[arg(long)]
        reply_to: Option<i64>,
    },
    /// React to a message with an emoji, or withdraw the reaction with --remove.
    React {
        /// Conversation name or id.
        conversation: String,
        /// The message's id as `history` prints it.
        message: i64,
        /// The emoji.
        emoji: String,
        /// Withdraw your reaction instead.
        #[arg(long)]
        remove: bool,
    },
    /// Give one of your messages new text, for everyone (its earlier text stays visible as
    /// an edit).
    Edit {
        /// Conversation name or id.
        conversation: String,
        /// The message's id as `history` prints it.
        message: i64,
        /// The new text.
        text: String,
    },
    /// Delete one of your messages for everyone.
    Delete {
        /// Conversation name or id.
        conversation: String,
        /// The message's id as `history` prints it.
        message: i64,
    },
    /// Send a file: encrypted here, uploaded to the server as ciphertext, then sent.
    SendFile {
        /// Conversation name or id.
        conversation: String,
        /// The file.
        path: PathBuf,
    },
    /// Fetch a received file, check it against its sender's hash, decrypt it into OUT.
    SaveFile {
        /// Conversation name or id.
        conversation: String,
        /// The message's id as `history` prints it.
        message: i64,
        /// Where to write it (written only once the whole file checked out).
        out: PathBuf,
    },
    /// Mark a conversation read (sends a read receipt unless receipts are off).
    Read {
        /// Conversation name or id.
        conversation: String,
    },
    /// Make new messages of a conversation disappear after SECONDS, for everyone (0: off).
    Expire {
        /// Conversation name or id.
        conversation: String,
        /// Seconds a message lives; 0 turns disappearing messages off.
        seconds: u32,
    },
    /// Turn read receipts on or off (off: none sent, none shown); without an argument,
    /// print the setting.
    Receipts {
        /// `on` or `off`.
        #[arg(value_parser = ["on", "off"])]
        setting: Option<String>,
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
    /// Set the profile's passphrase, or change it: the profile is encrypted with the first
    /// line of NEW_FILE (the current passphrase, for an encrypted profile, comes from
    /// --passphrase-file or CONCLAVE_PASSPHRASE). Atomic: a crash leaves it under one or the
    /// other.
    Passphrase {
        /// A file whose first line is the new passphrase.
        #[arg(long)]
        new_file: PathBuf,
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
            output::Failure::of(&e).print(json);
            ExitCode::from(output::exit_code(&e))
        }
    }
}

/// What `send` and `send-file` print: the message and whether it left.
async fn sent(
    client: &Client,
    conversation: ConversationId,
    message: MessageId,
) -> Result<Sent, ClientError> {
    let state = client
        .message(message)
        .await?
        .map(|m| m.message.state)
        .unwrap_or(MessageState::Pending);
    Ok(Sent {
        conversation: conversation.0,
        message: message.0,
        state: state_name(state),
    })
}

fn default_profile() -> PathBuf {
    directories::ProjectDirs::from("org", "Conclave", "conclave")
        .map(|d| d.data_dir().join("profiles").join("default"))
        .unwrap_or_else(|| PathBuf::from("conclave-profile"))
}

/// Who may take an action, as `policy` takes it.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum Who {
    /// Admins only.
    Admins,
    /// Any member.
    Members,
}

impl Who {
    fn role(self) -> conclave_client::Role {
        match self {
            Who::Admins => conclave_client::Role::Admin,
            Who::Members => conclave_client::Role::Member,
        }
    }
}

fn user(name: &str) -> Result<UserName, ClientError> {
    UserName::new(name).map_err(|e| ClientError::InvalidInput(format!("user name: {e}")))
}

fn profile_of(client: &Client, dir: Option<&std::path::Path>) -> Profile {
    Profile {
        user: client.me().user.to_string(),
        device: client.me().device.to_string(),
        server: client.server().to_owned(),
        fingerprint: client.fingerprint(),
        suites: client
            .ciphersuites()
            .iter()
            .map(|s| s.short_name().to_owned())
            .collect(),
        profile: dir.map(|d| d.display().to_string()),
    }
}

/// A `--suite` value: a short name, an RFC 9420 name, or a code point.
fn ciphersuite(text: &str) -> Result<CipherSuite, String> {
    text.parse()
        .map_err(|e: conclave_client::ProtocolError| e.to_string())
}

/// The passphrase from --passphrase-file (its first line) or CONCLAVE_PASSPHRASE.
fn profile_secret(cli: &Cli) -> Result<Option<ProfileSecret>, ClientError> {
    if let Some(file) = &cli.passphrase_file {
        return passphrase_from_file(file).map(Some);
    }
    Ok(std::env::var("CONCLAVE_PASSPHRASE")
        .ok()
        .map(zeroize::Zeroizing::new)
        .map(|p| ProfileSecret::passphrase(&p)))
}

/// The first line of `file`, which must not be empty.
fn passphrase_from_file(file: &std::path::Path) -> Result<ProfileSecret, ClientError> {
    let text = zeroize::Zeroizing::new(std::fs::read_to_string(file).map_err(|e| {
        ClientError::InvalidInput(format!("passphrase file {}: {e}", file.display()))
    })?);
    let line = text.lines().next().unwrap_or_default();
    if line.is_empty() {
        return Err(ClientError::InvalidInput(format!(
            "passphrase file {}: empty",
            file.display()
        )));
    }
    Ok(ProfileSecret::passphrase(line))
}

async fn run(cli: Cli) -> Result<(), ClientError> {
    let profile = cli.profile.clone().unwrap_or_else(default_profile);
    let out = Output { json: cli.json };
    let profile_secret = profile_secret(&cli)?;
    // An encrypted profile given no passphrase: its key may be in the keyring (the app keeps
    // it there).
    let keyring = cli.keyring
        || (profile_secret.is_none()
            && Client::profile_file(&profile)? == conclave_client::ProfileFile::Encrypted);
    let config = ClientConfig {
        ca_certs: cli.ca_cert.iter().cloned().collect(),
        local_client_cert: cli.client_cert.clone(),
        profile_secret,
        keyring,
        link_part_messages: std::env::var("CONCLAVE_LINK_PART_MESSAGES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(ClientConfig::default().link_part_messages),
        ..ClientConfig::default()
    };
    if let Command::Init {
        user,
        server,
        suite,
    } = &cli.command
    {
        let plain = config.profile_secret.is_none() && !config.keyring;
        let mut config = config;
        if let Some(suite) = suite {
            config.group.ciphersuite = *suite;
        }
        let client = Client::create_with(&profile, user, server, config).await?;
        out.print(&profile_of(&client, Some(&profile)));
        if plain && !cli.json {
            eprintln!(
                "note: this profile is not encrypted on disk; run with --keyring, \
                 --passphrase-file or CONCLAVE_PASSPHRASE to encrypt it"
            );
        }
        return Ok(());
    }
    if let Command::Link {
        server,
        name,
        timeout,
    } = &cli.command
    {
        return link(&profile, server, name.as_deref(), *timeout, config, &out).await;
    }
    if let Command::Passphrase { new_file } = &cli.command {
        let new = passphrase_from_file(new_file)?;
        Client::change_profile_secret(&profile, config.profile_secret.as_ref(), &new)?;
        out.print(&PassphraseSet {
            profile: profile.display().to_string(),
        });
        return Ok(());
    }
    let client = Client::open_with(&profile, config).await?;
    match cli.command {
        Command::Init { .. } | Command::Passphrase { .. } | Command::Link { .. } => {
            unreachable!("handled above")
        }
        Command::Approve { code, yes, timeout } => {
            let code = LinkCode::parse(&code)?;
            eprintln!(
                "new device {} on {}\nfingerprint {} (compare with what the new device shows)",
                code.device(),
                code.server(),
                code.fingerprint()
            );
            if !yes && std::io::stdin().is_terminal() && !confirm("link it to your account?")? {
                return Err(ClientError::InvalidInput("not confirmed".into()));
            }
            let report = client
                .approve_link(&code, Duration::from_secs(timeout), progress_line)
                .await?;
            eprintln!();
            out.print(&Approved {
                device: report.device,
                fingerprint: code.fingerprint(),
                conversations: report.conversations,
                messages: report.messages,
            });
        }
        Command::Devices => {
            let devices = client.devices().await?;
            out.print(&OwnDevices {
                devices: devices.iter().map(OwnDeviceRow::from).collect(),
            });
        }
        Command::Revoke { device } => {
            let conversations = client.revoke_device(&device).await?;
            out.print(&Revoked {
                device,
                conversations,
            });
        }
        Command::Whoami => out.print(&profile_of(&client, None)),
        Command::Users => {
            let devices = client.known_devices().await?;
            out.print(&Devices {
                devices: devices.iter().map(DeviceRow::from).collect(),
            });
        }
        Command::List => {
            sync_quietly(&client).await?;
            let list = client.conversations().await?;
            out.print(&Conversations {
                conversations: list.iter().map(ConversationRow::from).collect(),
            });
        }
        Command::Sync => {
            let applied = client.sync().await?;
            out.print(&Synced { applied });
        }
        Command::Create { name, with, suite } => {
            let users = with
                .iter()
                .map(|u| user(u))
                .collect::<Result<Vec<_>, _>>()?;
            let suite = suite.unwrap_or_else(|| client.ciphersuite());
            let id = client.create_conversation_in(suite, &name, &users).await?;
            out.print(&Created {
                id: id.0,
                name,
                ciphersuite: suite.to_string(),
            });
        }
        Command::Invite {
            conversation,
            user: name,
        } => {
            let id = find(&client, &conversation).await?;
            client.invite(id, &user(&name)?).await?;
            out.print(&Invited {
                id: id.0,
                invited: name,
            });
        }
        Command::Remove {
            conversation,
            user: name,
        } => {
            let id = find(&client, &conversation).await?;
            client.remove(id, &user(&name)?).await?;
            out.print(&Removed {
                id: id.0,
                removed: name,
            });
        }
        Command::Leave { conversation } => {
            let id = find(&client, &conversation).await?;
            client.leave(id).await?;
            out.print(&Leaving {
                id: id.0,
                leaving: true,
            });
        }
        Command::Accept { conversation } => {
            let id = find(&client, &conversation).await?;
            client.accept(id).await?;
            out.print(&Accepted {
                id: id.0,
                accepted: true,
            });
        }
        Command::Decline { conversation } => {
            let id = find(&client, &conversation).await?;
            client.decline(id).await?;
            out.print(&Leaving {
                id: id.0,
                leaving: true,
            });
        }
        Command::Promote {
            conversation,
            user: name,
        } => {
            sync_quietly(&client).await?;
            let id = find(&client, &conversation).await?;
            client.promote(id, &user(&name)?).await?;
            out.print(&output::RoleChanged {
                id: id.0,
                user: name,
                admin: true,
            });
        }
        Command::Demote {
            conversation,
            user: name,
        } => {
            sync_quietly(&client).await?;
            let id = find(&client, &conversation).await?;
            client.demote(id, &user(&name)?).await?;
            out.print(&output::RoleChanged {
                id: id.0,
                user: name,
                admin: false,
            });
        }
        Command::Policy {
            conversation,
            add,
            remove,
            rename,
            links,
        } => {
            sync_quietly(&client).await?;
            let id = find(&client, &conversation).await?;
            if add.is_some() || remove.is_some() || rename.is_some() || links.is_some() {
                let role = |who: Option<Who>| who.map(Who::role);
                client
                    .set_rules(id, role(add), role(remove), role(rename), role(links))
                    .await?;
            }
            out.print(&output::PolicyReport::new(id.0, client.policy(id).await?));
        }
        Command::LinkCreate {
            conversation,
            approval,
            expires,
        } => {
            sync_quietly(&client).await?;
            let id = find(&client, &conversation).await?;
            let link = client.create_link(id, approval, expires).await?;
            out.print(&invites::LinkCreated {
                id: id.0,
                link: link.to_text(),
                approval,
                expires_at: expires.map(|d| conclave_client::invite::now_secs() + d.as_secs()),
            });
        }
        Command::LinkRevoke { conversation } => {
            sync_quietly(&client).await?;
            let id = find(&client, &conversation).await?;
            client.revoke_link(id).await?;
            out.print(&invites::LinkRevoked {
                id: id.0,
                revoked: true,
            });
        }
        Command::Join { link } => {
            let report = match client.join_link(&link).await? {
                conclave_client::LinkJoin::Joined(id) => {
                    let name = client
                        .conversations()
                        .await?
                        .into_iter()
                        .find(|c| c.conversation.id == id)
                        .map(|c| c.conversation.name);
                    invites::LinkJoined {
                        id: Some(id.0),
                        name,
                        joined: true,
                        requested: false,
                    }
                }
                conclave_client::LinkJoin::Requested => invites::LinkJoined {
                    id: None,
                    name: None,
                    joined: false,
                    requested: true,
                },
            };
            out.print(&report);
        }
        Command::Requests { conversation } => {
            sync_quietly(&client).await?;
            let id = find(&client, &conversation).await?;
            let requests = client
                .join_requests(id)
                .await?
                .into_iter()
                .map(|r| invites::Request {
                    user: r.device.user,
                    device: r.device.device,
                    at: r.at,
                })
                .collect();
            out.print(&invites::Requests { id: id.0, requests });
        }
        Command::ApproveJoin {
            conversation,
            user: name,
        } => answer_join(&client, &out, &conversation, name, true).await?,
        Command::DeclineJoin {
            conversation,
            user: name,
        } => answer_join(&client, &out, &conversation, name, false).await?,
        Command::Rejoin { conversation, wait } => {
            let id = find(&client, &conversation).await?;
            let deadline = tokio::time::Instant::now() + wait;
            loop {
                match client.rejoin(id).await {
                    Err(ClientError::RejoinAsked) if tokio::time::Instant::now() < deadline => {
                        tokio::time::sleep(Duration::from_millis(500)).await;
                    }
                    other => break other?,
                }
            }
            out.print(&invites::Rejoined {
                id: id.0,
                rejoined: true,
            });
        }
        Command::Rename { conversation, name } => {
            let id = find(&client, &conversation).await?;
            client.rename(id, &name).await?;
            out.print(&Renamed { id: id.0, name });
        }
        Command::Send {
            conversation,
            text,
            reply_to,
        } => {
            // Catch up first: the message then follows what the others said, in the
            // group's newest epoch.
            sync_quietly(&client).await?;
            let id = find(&client, &conversation).await?;
            let message = match reply_to {
                Some(to) => client.reply(id, MessageId(to), &text).await?,
                None => client.send_text(id, &text).await?,
            };
            out.print(&sent(&client, id, message).await?);
        }
        Command::History {
            conversation,
            limit,
        } => {
            sync_quietly(&client).await?;
            let id = find(&client, &conversation).await?;
            let mut messages = client.history(id, None, limit).await?;
            messages.reverse();
            // What `history` prints has been seen: a read receipt says so (unless off).
            if let Some(last) = messages.last() {
                client.mark_read(id, last.id).await?;
            }
            let annotations = client.annotations(id, &messages).await?;
            out.print(&History {
                conversation: id.0,
                messages: messages
                    .iter()
                    .zip(&annotations)
                    .map(|(m, a)| MessageRow::new(m, Some(a)))
                    .collect(),
            });
        }
        Command::React {
            conversation,
            message,
            emoji,
            remove,
        } => {
            sync_quietly(&client).await?;
            let id = find(&client, &conversation).await?;
            if remove {
                client.unreact(id, MessageId(message), &emoji).await?;
            } else {
                client.react(id, MessageId(message), &emoji).await?;
            }
            out.print(&Changed {
                conversation: id.0,
                message,
                change: if remove { "unreacted" } else { "reacted" },
            });
        }
        Command::Edit {
            conversation,
            message,
            text,
        } => {
            sync_quietly(&client).await?;
            let id = find(&client, &conversation).await?;
            client.edit(id, MessageId(message), &text).await?;
            out.print(&Changed {
                conversation: id.0,
                message,
                change: "edited",
            });
        }
        Command::Delete {
            conversation,
            message,
        } => {
            sync_quietly(&client).await?;
            let id = find(&client, &conversation).await?;
            client.delete(id, MessageId(message)).await?;
            out.print(&Changed {
                conversation: id.0,
                message,
                change: "deleted",
            });
        }
        Command::SendFile { conversation, path } => {
            sync_quietly(&client).await?;
            let id = find(&client, &conversation).await?;
            let message = client.send_file(id, &path, |_, _| {}).await?;
            out.print(&sent(&client, id, message).await?);
        }
        Command::SaveFile {
            conversation,
            message,
            out: path,
        } => {
            sync_quietly(&client).await?;
            let id = find(&client, &conversation).await?;
            let stored = client.message(MessageId(message)).await?;
            if stored.is_none_or(|m| m.message.conversation != id) {
                return Err(ClientError::NoSuchMessage(message));
            }
            let size = client
                .save_file(MessageId(message), &path, |_, _| {})
                .await?;
            out.print(&output::Saved {
                message,
                path: path.display().to_string(),
                size,
            });
        }
        Command::Read { conversation } => {
            sync_quietly(&client).await?;
            let id = find(&client, &conversation).await?;
            let newest = client.history(id, None, 1).await?.pop();
            if let Some(last) = &newest {
                client.mark_read(id, last.id).await?;
            }
            out.print(&output::Read {
                conversation: id.0,
                up_to: newest.map(|m| m.id.0),
            });
        }
        Command::Expire {
            conversation,
            seconds,
        } => {
            sync_quietly(&client).await?;
            let id = find(&client, &conversation).await?;
            client.set_disappearing(id, seconds).await?;
            out.print(&output::Timer {
                conversation: id.0,
                seconds,
            });
        }
        Command::Receipts { setting } => {
            if let Some(setting) = setting {
                client.set_read_receipts(setting == "on").await?;
            }
            out.print(&output::Receipts {
                receipts: client.read_receipts().await?,
            });
        }
        Command::Search { text, limit } => {
            sync_quietly(&client).await?;
            let hits = client.search(&text, limit).await?;
            out.print(&SearchResults {
                results: hits.iter().map(|m| MessageRow::new(m, None)).collect(),
            });
        }
        Command::Members { conversation } => {
            sync_quietly(&client).await?;
            let id = find(&client, &conversation).await?;
            let members = client.members(id).await?;
            let security = client.security(id).await?;
            out.print(&Members::new(&members, security));
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
                    Some(Ok(event)) => {
                        if let Some(event) = Event::of(&event) {
                            out.print(&event);
                        }
                    }
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
            out.print(&Verified {
                user: name.to_string(),
                verified: numbers
                    .iter()
                    .map(|(d, n)| SafetyRow {
                        device: d.member.device.to_string(),
                        safety_number: n.clone(),
                    })
                    .collect(),
            });
        }
    }
    Ok(())
}

/// `link`: the code first, then the wait, with a progress line on standard error.
async fn link(
    profile: &std::path::Path,
    server: &str,
    name: Option<&str>,
    timeout: u64,
    config: ClientConfig,
    out: &Output,
) -> Result<(), ClientError> {
    let lifetime = Duration::from_secs(timeout);
    let pending = PendingLink::start(profile, server, name, lifetime, config).await?;
    if !pending.approved() {
        let code = LinkCode::parse(&pending.code())?;
        out.print(&LinkCodeShown {
            code: pending.code(),
            device: code.device().to_owned(),
            fingerprint: pending.fingerprint(),
            expires_at: code.expires_at(),
        });
    } else {
        eprintln!("resuming the link");
    }
    let client = pending.complete(lifetime, progress_line).await?;
    eprintln!();
    let conversations = client.conversations().await?;
    let mut messages = 0;
    for c in &conversations {
        messages += client.message_count(c.conversation.id).await?;
    }
    out.print(&Linked {
        user: client.me().user.to_string(),
        device: client.me().device.to_string(),
        server: client.server().to_owned(),
        fingerprint: client.fingerprint(),
        conversations: conversations.len(),
        messages,
    });
    Ok(())
}

/// A link's progress, on one line of standard error.
fn progress_line(progress: LinkProgress) {
    use std::io::Write as _;
    let line = match progress {
        LinkProgress::WaitingForApproval => "waiting for one of your devices to approve".into(),
        LinkProgress::WaitingForNewDevice => "waiting for the new device".into(),
        LinkProgress::Approved { user } => format!("approved as a device of {user}"),
        LinkProgress::Adding { done, total } => format!("adding to conversations: {done}/{total}"),
        LinkProgress::Joined { conversations } => {
            format!("joined {conversations} conversations; bringing the history")
        }
        LinkProgress::History { done, total } => format!("history: {done}/{total} messages"),
        LinkProgress::Done => "done".into(),
        _ => return,
    };
    let mut err = std::io::stderr();
    let _ = write!(err, "\r\x1b[2K{line}");
    let _ = err.flush();
}

/// Asks on the terminal; true for "y" or "yes".
fn confirm(question: &str) -> Result<bool, ClientError> {
    use std::io::Write as _;
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin()
        .read_line(&mut answer)
        .map_err(|e| ClientError::InvalidInput(format!("reading the answer: {e}")))?;
    Ok(matches!(answer.trim().to_lowercase().as_str(), "y" | "yes"))
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

/// `approve-join` and `decline-join`.
async fn answer_join(
    client: &Client,
    out: &Output,
    conversation: &str,
    name: String,
    approve: bool,
) -> Result<(), ClientError> {
    sync_quietly(client).await?;
    let id = find(client, conversation).await?;
    if approve {
        client.approve_join(id, &user(&name)?).await?;
    } else {
        client.decline_join(id, &user(&name)?).await?;
    }
    out.print(&invites::JoinAnswered {
        id: id.0,
        user: name,
        approved: approve,
    });
    Ok(())
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
