//! The new device's side of a link: its code, then (once approved) its identity,
//! registration, conversations and history, each step recorded in the profile so that a
//! crash resumes where it stopped.

use std::path::{Path, PathBuf};
use std::time::Duration;

use conclave_delivery_api::ErrorCode;
use conclave_protocol::{CipherSuite, DeviceId, Identity, IdentityRecord, MemberId, UserName};
use conclave_storage::{Store, StoreError};
use openmls_rust_crypto::OpenMlsRustCrypto;
use openmls_traits::OpenMlsProvider as _;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::archive::{self, Part};
use super::{Channel, Direction, LinkCode, LinkProgress, POLL, ToApprover, ToNew};
use crate::ds::Ds;
use crate::engine::now_ms;
use crate::profile::{
    PROFILE_FILE, normalize_server, open_store, private_dir, remove_profile_files,
};
use crate::{Client, ClientConfig, ClientError, Result};

/// Setting: the link this profile waits for or is in the middle of (JSON of [`Pending`]).
pub(crate) const PENDING: &str = "link.pending";

/// The most one-time key packages a device being linked publishes at once.
const MAX_LINK_KEY_PACKAGES: u32 = 500;

/// Chunk of the history's header on the channel to the new device.
const HEADER_CHUNK: u32 = 2;

/// What the profile keeps of a link until it is done.
#[derive(Serialize, Deserialize)]
struct Pending {
    secret: String,
    expires_at: u64,
    ciphersuite: u16,
    signature_key: String,
    device: String,
    server: String,
    /// Known once approved.
    user: Option<String>,
    /// The conversations the approving device will add this device to (once approved).
    #[serde(default)]
    conversations: u32,
    /// The next chunk to take in.
    next: u32,
}

impl Drop for Pending {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.secret);
    }
}

/// A device waiting to be linked: show [`PendingLink::code`], then
/// [`PendingLink::complete`].
pub struct PendingLink {
    profile_dir: PathBuf,
    config: ClientConfig,
    store: Store,
    code: LinkCode,
    state: Pending,
}

impl std::fmt::Debug for PendingLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingLink")
            .field("profile_dir", &self.profile_dir)
            .field("code", &self.code)
            .finish_non_exhaustive()
    }
}

fn unix_now() -> u64 {
    (now_ms() / 1000) as u64
}

impl PendingLink {
    /// Makes a profile in `profile_dir` for a device to be linked at `server_url` (its id
    /// `device`, or a random one), with a code valid for `lifetime`. A profile already
    /// waiting there is resumed instead, with its code (a new one if its code expired
    /// before anyone approved it).
    pub async fn start(
        profile_dir: &Path,
        server_url: &str,
        device: Option<&str>,
        lifetime: Duration,
        config: ClientConfig,
    ) -> Result<Self> {
        let server = normalize_server(server_url)?;
        let path = profile_dir.join(PROFILE_FILE);
        if path.exists() {
            match Self::resume(profile_dir, config.clone()).await {
                Ok(Some(pending)) => {
                    let unapproved = pending.state.user.is_none();
                    if !(unapproved && unix_now() > pending.state.expires_at) {
                        return Ok(pending);
                    }
                    // Nobody approved it in time: start afresh, with a new code.
                    drop(pending);
                    remove_profile_files(&path);
                }
                Ok(None) => {
                    return Err(ClientError::ProfileExists(
                        profile_dir.display().to_string(),
                    ));
                }
                Err(e) => return Err(e),
            }
        }
        let device = match device {
            Some(name) => DeviceId::new(name)
                .map_err(|e| ClientError::InvalidInput(format!("device name: {e}")))?,
            None => DeviceId::random(OpenMlsRustCrypto::default().crypto())?,
        };
        private_dir(profile_dir).map_err(|e| StoreError::CannotOpen {
            path: profile_dir.to_path_buf(),
            reason: e.to_string(),
        })?;
        let result = (|| {
            let mut store = open_store(&path, &config)?;
            let suite = config.group.ciphersuite;
            let secret = Zeroizing::new(rand::random::<[u8; 32]>());
            let state = {
                let tx = store.transaction()?;
                let signature_key = Identity::generate_signature_key(&tx.provider(), suite)?;
                let state = Pending {
                    secret: hex::encode(&secret[..]),
                    expires_at: unix_now() + lifetime.as_secs(),
                    ciphersuite: suite.code_point(),
                    signature_key: hex::encode(&signature_key),
                    device: device.as_str().to_owned(),
                    server,
                    user: None,
                    conversations: 0,
                    next: 0,
                };
                save(&tx, &state)?;
                tx.commit()?;
                state
            };
            let code = code_of(&state)?;
            code.check()?;
            Ok::<_, ClientError>(Self {
                profile_dir: profile_dir.to_path_buf(),
                config,
                store,
                code,
                state,
            })
        })();
        if result.is_err() {
            remove_profile_files(&path);
        }
        result
    }

    /// The link waiting in `profile_dir`, if its profile is one; `None` for a profile that
    /// is not (or no longer) waiting to be linked.
    pub async fn resume(profile_dir: &Path, config: ClientConfig) -> Result<Option<Self>> {
        let path = profile_dir.join(PROFILE_FILE);
        if !path.exists() {
            return Err(ClientError::NoProfile(profile_dir.display().to_string()));
        }
        let mut store = open_store(&path, &config)?;
        let state = load(&mut store)?;
        let Some(state) = state else {
            return Ok(None);
        };
        let code = code_of(&state)?;
        Ok(Some(Self {
            profile_dir: profile_dir.to_path_buf(),
            config,
            store,
            code,
            state,
        }))
    }

    /// The code to show (text; a QR code of the same text for cameras).
    pub fn code(&self) -> String {
        self.code.to_text()
    }

    /// This device's fingerprint as the approving device shows it before confirming.
    pub fn fingerprint(&self) -> String {
        self.code.fingerprint()
    }

    /// Whether an existing device approved the link already (a resumed link past its
    /// first step).
    pub fn approved(&self) -> bool {
        self.state.user.is_some()
    }

    /// Waits for the approval (until the code expires), registers this device, joins its
    /// conversations and stores the history, telling `progress` along the way; each wait
    /// for the approving device's next step gives up after `wait`. Returns the client, the
    /// history complete. A code nobody approved in time leaves nothing behind.
    pub async fn complete(
        mut self,
        wait: Duration,
        mut progress: impl FnMut(LinkProgress) + Send,
    ) -> Result<Client> {
        let tls = conclave_delivery_api::tls::client_config(&self.config.ca_certs, None)
            .map_err(|e| ClientError::InvalidInput(e.to_string()))?;
        let server = self.state.server.clone();
        let unsigned = Ds::unsigned(&server, self.config.request_timeout, tls)?;
        let channel = Channel::new(&self.code.secret);
        let to_new = channel.link_id(Direction::ToNew);
        if self.state.user.is_none() {
            progress(LinkProgress::WaitingForApproval);
            let deadline = self.state.expires_at;
            let hello = loop {
                if let Some(chunk) = retry_limited(|| unsigned.link_chunk(&to_new, 0)).await? {
                    break channel.open::<ToNew>(Direction::ToNew, 0, &chunk)?;
                }
                if unix_now() > deadline {
                    let path = self.profile_dir.join(PROFILE_FILE);
                    drop(self);
                    remove_profile_files(&path);
                    return Err(ClientError::LinkFailed(
                        "no device approved the code before it expired".into(),
                    ));
                }
                tokio::time::sleep(POLL).await;
            };
            let ToNew::Hello {
                user,
                conversations,
                ..
            } = hello
            else {
                return Err(ClientError::LinkFailed(
                    "the approving device's first message is not an approval".into(),
                ));
            };
            UserName::new(&user).map_err(|e| {
                ClientError::LinkFailed(format!("the approval names no valid user: {e}"))
            })?;
            let record = record_of(&self.state, &user)?;
            let tx = self.store.transaction()?;
            tx.set_profile(&record, &server, now_ms())?;
            self.state.user = Some(user);
            self.state.conversations = conversations;
            self.state.next = 1;
            save(&tx, &self.state)?;
            tx.commit()?;
        }
        let user = self.state.user.clone().unwrap_or_default();
        progress(LinkProgress::Approved { user: user.clone() });
        let record = record_of(&self.state, &user)?;
        let identity = {
            let tx = self.store.transaction()?;
            Identity::load(&tx.provider(), &record)?
        };
        let PendingLink {
            profile_dir,
            config,
            store,
            state,
            ..
        } = self;
        let mut state = state;
        let config_stock = config.key_package_stock;
        let client = Client::start_engine(store, identity, &server, &profile_dir, config)?;
        {
            let mut engine = client.inner().engine.lock().await;
            match engine.ensure_registered().await {
                Ok(()) => {}
                Err(ClientError::NameTaken(_)) => {
                    return Err(ClientError::LinkFailed(format!(
                        "the server did not take this device for {user}: the approval \
                         expired, or the device is another's"
                    )));
                }
                Err(e) => return Err(e),
            }
            // One key package per conversation it is about to be added to (and some to
            // spare): a package is used by one Welcome only. Past a few hundred, the rest
            // are added with the last-resort package (servers keep at most 1,000 each).
            let target = config_stock
                .max(state.conversations.saturating_add(config_stock / 2))
                .min(MAX_LINK_KEY_PACKAGES.max(config_stock));
            engine.top_up_key_packages_to(target).await?;
        }
        let ready = channel.seal(Direction::ToApprover, 0, &ToApprover::Ready)?;
        let to_approver = channel.link_id(Direction::ToApprover);
        match client
            .inner()
            .ds
            .put_link_chunk(&to_approver, 0, ready)
            .await
        {
            // Conflict: written before a crash.
            Ok(())
            | Err(ClientError::Server {
                code: ErrorCode::Conflict,
                ..
            }) => {}
            Err(e) => return Err(e),
        }
        let signed = client.inner().ds.clone();
        let fetch = |index: u32| {
            let signed = &signed;
            let channel = &channel;
            let to_new = &to_new;
            async move {
                let deadline = tokio::time::Instant::now() + wait;
                loop {
                    if let Some(chunk) = retry_limited(|| signed.link_chunk(to_new, index)).await? {
                        return channel.open::<ToNew>(Direction::ToNew, index, &chunk);
                    }
                    if tokio::time::Instant::now() >= deadline {
                        return Err(ClientError::LinkFailed(
                            "the approving device stopped answering; run link again to \
                             resume"
                                .into(),
                        ));
                    }
                    tokio::time::sleep(POLL).await;
                }
            }
        };
        let conversations = match fetch(1).await? {
            ToNew::Added { conversations } => conversations,
            _ => return Err(unexpected(1)),
        };
        // The Welcomes are in the queue by now: joining comes first, so the conversations
        // are usable while the history arrives.
        client.sync().await?;
        progress(LinkProgress::Joined { conversations });
        let store = client.inner().store.clone();
        if state.next < HEADER_CHUNK {
            state.next = HEADER_CHUNK;
            let mut guard = store.lock();
            let tx = guard.transaction()?;
            save(&tx, &state)?;
            tx.commit()?;
        }
        let ToNew::Part(Part::Header(header)) = fetch(HEADER_CHUNK).await? else {
            return Err(unexpected(HEADER_CHUNK));
        };
        let ids = {
            let mut guard = store.lock();
            let mut tx = guard.transaction()?;
            let ids = archive::import_header(&mut tx, &header, now_ms())?;
            state.next = state.next.max(HEADER_CHUNK + 1);
            save(&tx, &state)?;
            tx.commit()?;
            ids
        };
        loop {
            let index = state.next;
            match fetch(index).await? {
                ToNew::Part(Part::Messages(batch)) => {
                    let done = batch.first + batch.messages.len() as u64;
                    let mut guard = store.lock();
                    let tx = guard.transaction()?;
                    archive::import_batch(&tx, &header, &ids, &batch)?;
                    state.next = index + 1;
                    save(&tx, &state)?;
                    tx.commit()?;
                    drop(guard);
                    progress(LinkProgress::History {
                        done,
                        total: header.total,
                    });
                }
                ToNew::End => break,
                _ => return Err(unexpected(index)),
            }
        }
        {
            let mut guard = store.lock();
            let tx = guard.transaction()?;
            tx.delete_setting(PENDING)?;
            tx.commit()?;
        }
        // The server would drop them within the hour anyway.
        for link in [&to_new, &to_approver] {
            if let Err(e) = client.inner().ds.delete_link(link).await {
                tracing::debug!("deleting a link's chunks: {e}");
            }
        }
        progress(LinkProgress::Done);
        Ok(client)
    }
}

/// A read the server rate-limited, tried again after a pause (a few times).
async fn retry_limited<F, Fut>(mut read: F) -> Result<Option<Vec<u8>>>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Option<Vec<u8>>>>,
{
    let mut pause = Duration::from_millis(200);
    for _ in 0..6 {
        match read().await {
            Err(ClientError::Server {
                code: ErrorCode::RateLimited,
                ..
            }) => {
                tokio::time::sleep(pause).await;
                pause *= 2;
            }
            other => return other,
        }
    }
    read().await
}

fn unexpected(index: u32) -> ClientError {
    ClientError::LinkFailed(format!("chunk {index} of the link is not what comes there"))
}

fn save(tx: &conclave_storage::Tx<'_>, state: &Pending) -> Result<()> {
    let json = Zeroizing::new(
        serde_json::to_string(state).map_err(|e| StoreError::InvalidData(e.to_string()))?,
    );
    tx.set_setting(PENDING, &json)?;
    Ok(())
}

fn load(store: &mut Store) -> Result<Option<Pending>> {
    let tx = store.transaction()?;
    let Some(json) = tx.setting(PENDING)?.map(Zeroizing::new) else {
        return Ok(None);
    };
    serde_json::from_str(&json)
        .map(Some)
        .map_err(|e| StoreError::InvalidData(format!("pending link: {e}")).into())
}

fn code_of(state: &Pending) -> Result<LinkCode> {
    let bad = |what: &str| StoreError::InvalidData(format!("pending link: bad {what}"));
    let mut secret = Zeroizing::new([0u8; 32]);
    let bytes = Zeroizing::new(hex::decode(&state.secret).map_err(|_| bad("secret"))?);
    if bytes.len() != 32 {
        return Err(bad("secret").into());
    }
    secret.copy_from_slice(&bytes);
    Ok(LinkCode {
        secret,
        expires_at: state.expires_at,
        ciphersuite: state.ciphersuite,
        signature_key: hex::decode(&state.signature_key).map_err(|_| bad("key"))?,
        device: DeviceId::new(&state.device).map_err(|_| bad("device"))?,
        server: state.server.clone(),
    })
}

fn record_of(state: &Pending, user: &str) -> Result<IdentityRecord> {
    let user = UserName::new(user)
        .map_err(|e| StoreError::InvalidData(format!("pending link: user: {e}")))?;
    let device = DeviceId::new(&state.device)
        .map_err(|e| StoreError::InvalidData(format!("pending link: device: {e}")))?;
    Ok(IdentityRecord {
        member: MemberId::new(user, device),
        ciphersuite: CipherSuite::from_code_point(state.ciphersuite)?,
        signature_public_key: hex::decode(&state.signature_key)
            .map_err(|_| StoreError::InvalidData("pending link: bad key".into()))?,
    })
}
