//! The public handle: [`Client`].

use std::path::{Path, PathBuf};
use std::sync::Arc;

use conclave_protocol::{CipherSuite, Identity, MemberId, Policy, Role, UserName};
use conclave_storage::{
    Conversation, ConversationId, ConversationSummary, KnownDevice, MessageId, StoredMessage,
};
use tokio::sync::{Mutex, Notify, broadcast};

use crate::background::{self, Background};
use crate::ds::Ds;
use crate::engine::{Engine, Member, Op, PolicyChange, Reader, SecurityInfo, SharedStore};
use crate::{ClientConfig, ClientError, ClientEvent, InviteLink, JoinRequest, LinkJoin, Result};

/// A messenger client for one profile. Cheap to clone; all clones share one engine.
///
/// Operations (sync, send, group changes) run one at a time under an operation lock, so
/// they and the background sync never interleave; reads (history, search, the conversation
/// list, members) take only the store, for one transaction, and answer while an operation
/// waits on the network. Network calls are async; storage and MLS work runs inline and is
/// short (a few milliseconds for groups of tens of members), so keep the runtime off UI
/// threads.
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("me", &self.inner.me)
            .field("server", &self.inner.server)
            .finish_non_exhaustive()
    }
}

pub(crate) struct Inner {
    /// The operation lock: held across network awaits.
    pub(crate) engine: Mutex<Engine>,
    pub(crate) read: Reader,
    /// The store, for the local writes that need no operation lock.
    pub(crate) store: SharedStore,
    pub(crate) config: ClientConfig,
    pub(crate) me: MemberId,
    pub(crate) identity: Arc<Identity>,
    pub(crate) ds: Ds,
    pub(crate) events: broadcast::Sender<ClientEvent>,
    /// Wakes the background worker: a push arrived, or the push socket (re)connected.
    pub(crate) wake: Notify,
    /// The background worker learned that this device was revoked: the push loop stops.
    pub(crate) revoked: std::sync::atomic::AtomicBool,
    pub(crate) profile_dir: PathBuf,
    pub(crate) server: String,
}

impl Client {
    // ------------------------------------------------------------------ who and where

    /// This device.
    pub fn me(&self) -> &MemberId {
        &self.inner.me
    }

    /// This device's key fingerprint (30 digits).
    pub fn fingerprint(&self) -> String {
        self.inner.identity.fingerprint().digits()
    }

    /// The suite this device registered with: its key's signature scheme, and the suite of
    /// the conversations it creates unless told otherwise.
    pub fn ciphersuite(&self) -> CipherSuite {
        self.inner.identity.ciphersuite()
    }

    /// Every suite this device can create and join conversations in (those its key signs
    /// in, less draft ones if [`ClientConfig::draft_suites`] is off), in code-point order;
    /// it publishes key packages in each.
    pub fn ciphersuites(&self) -> Vec<CipherSuite> {
        self.inner.config.suites_of(&self.inner.identity)
    }

    /// The server this profile uses.
    pub fn server(&self) -> &str {
        &self.inner.server
    }

    /// The profile directory.
    pub fn profile_dir(&self) -> &Path {
        &self.inner.profile_dir
    }

    /// Events for a UI. Each subscriber sees every event from its subscription on (a slow
    /// one that falls more than 1,024 events behind skips ahead and should reload).
    pub fn subscribe(&self) -> broadcast::Receiver<ClientEvent> {
        self.inner.events.subscribe()
    }

    // ------------------------------------------------------------------ sync

    /// Fetches and applies everything the server queued for this device, then sends what
    /// waits in the outbox. Returns how many queue items were applied.
    pub async fn sync(&self) -> Result<usize> {
        let mut engine = self.inner.engine.lock().await;
        let applied = engine.sync().await?;
        match engine.flush_outbox().await {
            Ok(_) => {}
            Err(e) if e.is_offline() => {}
            Err(e) => return Err(e),
        }
        Ok(applied)
    }

    /// Sends what the outbox holds now (messages queued while offline). Returns how many
    /// were sent.
    pub async fn flush_outbox(&self) -> Result<usize> {
        self.inner.engine.lock().await.flush_outbox().await
    }

    /// Publishes key packages up to the configured stock. Returns how many were published.
    pub async fn top_up_key_packages(&self) -> Result<u32> {
        self.inner.engine.lock().await.top_up_key_packages().await
    }

    // ------------------------------------------------------------------ own devices

    /// Approves the device showing `code` (read with [`crate::link::LinkCode::parse`]; show
    /// its [`crate::link::LinkCode::fingerprint`] to the user first): registers it for this
    /// user, adds it to every conversation (a commit each) and sends it the history,
    /// telling `progress` along the way. Waits up to `wait` for the new device to
    /// register. A code used before, expired, or for another server is refused
    /// ([`ClientError::LinkFailed`]).
    pub async fn approve_link(
        &self,
        code: &crate::link::LinkCode,
        wait: std::time::Duration,
        mut progress: impl FnMut(crate::link::LinkProgress) + Send,
    ) -> Result<crate::link::LinkReport> {
        let mut engine = self.inner.engine.lock().await;
        engine.drain().await?;
        engine.approve_link(code, wait, &mut progress).await
    }

    /// This user's devices, as the server lists them (revoked ones are not).
    pub async fn devices(&self) -> Result<Vec<crate::OwnDevice>> {
        self.inner.engine.lock().await.own_devices().await
    }

    /// Revokes another device of this user: the server refuses it from now on, and it is
    /// removed from every conversation (a commit each). Returns the conversations it was
    /// removed from.
    pub async fn revoke_device(&self, device: &str) -> Result<u32> {
        let device = conclave_protocol::DeviceId::new(device)
            .map_err(|e| ClientError::InvalidInput(format!("device: {e}")))?;
        self.inner.engine.lock().await.revoke(&device).await
    }

    /// Whether this device learned that it was revoked (see [`ClientEvent::DeviceRevoked`]).
    pub async fn is_revoked(&self) -> Result<bool> {
        self.inner.engine.lock().await.is_revoked()
    }

    // ------------------------------------------------------------------ conversations

    /// Creates a conversation with every registered device of each of `members`, in one
    /// commit, in this device's own ciphersuite ([`Client::ciphersuite`]). Fails before
    /// anything is created if a user is unknown or cannot be added.
    pub async fn create_conversation(
        &self,
        name: &str,
        members: &[UserName],
    ) -> Result<ConversationId> {
        let suite = self.inner.identity.ciphersuite();
        self.create_conversation_in(suite, name, members).await
    }

    /// [`Client::create_conversation`] in `suite`, one of [`Client::ciphersuites`]: every
    /// member's devices must support it ([`ClientError::SuiteUnsupported`] otherwise).
    pub async fn create_conversation_in(
        &self,
        suite: CipherSuite,
        name: &str,
        members: &[UserName],
    ) -> Result<ConversationId> {
        self.inner.identity.check_supports(suite)?;
        if !self.ciphersuites().contains(&suite) {
            return Err(ClientError::InvalidInput(format!(
                "{suite} is a draft suite, and draft suites are turned off on this device"
            )));
        }
        let mut engine = self.inner.engine.lock().await;
        engine.ensure_registered().await?;
        // The user's other devices are in every conversation too.
        let mut users: Vec<UserName> = members
            .iter()
            .filter(|u| **u != self.inner.me.user)
            .cloned()
            .collect();
        users.push(self.inner.me.user.clone());
        let claimed = engine.claim(&users, suite).await?;
        let conversation = engine.create_group(name, suite)?;
        if !claimed.is_empty() {
            engine.commit_op(conversation, Op::Invite(claimed)).await?;
        }
        Ok(conversation)
    }

    /// Adds every registered device of `user`.
    pub async fn invite(&self, conversation: ConversationId, user: &UserName) -> Result<()> {
        let mut engine = self.inner.engine.lock().await;
        // Decided on the current epoch, before a key package is used up for nothing.
        engine.drain().await?;
        if engine
            .read()
            .members(conversation)?
            .iter()
            .any(|m| &m.id.user == user && !m.is_me)
        {
            return Err(ClientError::AlreadyMember(user.to_string()));
        }
        let suite = engine.read().suite(conversation)?;
        let claimed = engine.claim(std::slice::from_ref(user), suite).await?;
        engine.commit_op(conversation, Op::Invite(claimed)).await
    }

    /// Removes every device of `user`.
    pub async fn remove(&self, conversation: ConversationId, user: &UserName) -> Result<()> {
        if user == &self.inner.me.user {
            return Err(ClientError::InvalidInput(
                "to remove yourself, leave the conversation".into(),
            ));
        }
        let mut engine = self.inner.engine.lock().await;
        engine
            .commit_op(conversation, Op::Remove(user.clone()))
            .await
    }

    /// Renames the conversation for everyone (the name travels encrypted, inside MLS).
    pub async fn rename(&self, conversation: ConversationId, name: &str) -> Result<()> {
        let mut engine = self.inner.engine.lock().await;
        engine
            .commit_op(conversation, Op::Rename(name.trim().to_owned()))
            .await
    }

    /// Makes `user` an admin of the conversation (an admin's action; see
    /// [`conclave_protocol::policy`]).
    pub async fn promote(&self, conversation: ConversationId, user: &UserName) -> Result<()> {
        let mut engine = self.inner.engine.lock().await;
        engine
            .commit_op(
                conversation,
                Op::Policy(PolicyChange::Promote(user.clone())),
            )
            .await
    }

    /// Makes an admin of the conversation a member again (an admin's action; the last admin
    /// is not demoted: promote someone first).
    pub async fn demote(&self, conversation: ConversationId, user: &UserName) -> Result<()> {
        let mut engine = self.inner.engine.lock().await;
        engine
            .commit_op(conversation, Op::Policy(PolicyChange::Demote(user.clone())))
            .await
    }

    /// Sets who may add members, remove others, rename and manage invite links in the
    /// conversation (`None` leaves one as it is; an admin's action).
    pub async fn set_rules(
        &self,
        conversation: ConversationId,
        add: Option<Role>,
        remove: Option<Role>,
        rename: Option<Role>,
        links: Option<Role>,
    ) -> Result<()> {
        let change = PolicyChange::Rules {
            add,
            remove,
            rename,
            links,
        };
        let mut engine = self.inner.engine.lock().await;
        engine.commit_op(conversation, Op::Policy(change)).await
    }

    /// The conversation's policy: who is an admin, and which actions need one. `None` for a
    /// conversation made before roles, where everyone may do everything.
    pub async fn policy(&self, conversation: ConversationId) -> Result<Option<Policy>> {
        self.inner.read.policy(conversation)
    }

    /// Opens an invite link to the conversation (replacing any open one) and returns it:
    /// whoever has it joins by external commit, or, with `approval`, asks an admin, who
    /// sees the request ([`Client::join_requests`]). Needs the policy's permission to manage
    /// links; stops working when revoked, or after `expires_in`.
    pub async fn create_link(
        &self,
        conversation: ConversationId,
        approval: bool,
        expires_in: Option<std::time::Duration>,
    ) -> Result<InviteLink> {
        let expires_at = expires_in.map(|d| crate::invite::now_secs() + d.as_secs());
        let mut engine = self.inner.engine.lock().await;
        engine.create_link(conversation, approval, expires_at).await
    }

    /// Revokes the conversation's invite link: joining by it fails from now on.
    pub async fn revoke_link(&self, conversation: ConversationId) -> Result<()> {
        let mut engine = self.inner.engine.lock().await;
        engine.revoke_link(conversation).await
    }

    /// The conversation's open invite link, and whether joins by it need approval.
    pub async fn invite_link(
        &self,
        conversation: ConversationId,
    ) -> Result<Option<(InviteLink, bool)>> {
        self.inner.read.invite_link(conversation)
    }

    /// Joins a conversation by its invite link (as text), or asks to when the link needs
    /// an admin's approval.
    pub async fn join_link(&self, link: &str) -> Result<LinkJoin> {
        let link = InviteLink::parse(link)?;
        let mut engine = self.inner.engine.lock().await;
        engine.join_link(&link).await
    }

    /// Who asked to join the conversation by its link and waits for an admin.
    pub async fn join_requests(&self, conversation: ConversationId) -> Result<Vec<JoinRequest>> {
        let mut engine = self.inner.engine.lock().await;
        engine.join_requests(conversation).await
    }

    /// Approves `user`'s request to join: adds them (an invitation's commit), then clears
    /// the request.
    pub async fn approve_join(&self, conversation: ConversationId, user: &UserName) -> Result<()> {
        let mut engine = self.inner.engine.lock().await;
        engine.answer_join_request(conversation, user, true).await
    }

    /// Declines `user`'s request to join.
    pub async fn decline_join(&self, conversation: ConversationId, user: &UserName) -> Result<()> {
        let mut engine = self.inner.engine.lock().await;
        engine.answer_join_request(conversation, user, false).await
    }

    /// Gets this device back into the conversation by external commit when it cannot go on
    /// in it (done by itself where it is safe: a commit it could not process, or state
    /// behind the group); nothing when it is not behind.
    pub async fn rejoin(&self, conversation: ConversationId) -> Result<()> {
        let mut engine = self.inner.engine.lock().await;
        engine.drain().await?;
        engine.rejoin(conversation).await
    }

    /// Rotates this device's keys in the conversation now (done on a schedule anyway, see
    /// [`ClientConfig::rotation_interval`]).
    pub async fn rotate_keys(&self, conversation: ConversationId) -> Result<()> {
        let mut engine = self.inner.engine.lock().await;
        engine.commit_op(conversation, Op::Update).await
    }

    /// Leaves the conversation: asks the other members to remove this device. The
    /// conversation is left when one of them commits that ([`ClientEvent::ConversationLeft`]);
    /// its history stays readable.
    pub async fn leave(&self, conversation: ConversationId) -> Result<()> {
        self.inner
            .engine
            .lock()
            .await
            .propose_leave(conversation)
            .await
    }

    /// Accepts an invitation request (a conversation someone this profile had never talked
    /// to added it to): from now on it is like any other conversation.
    pub async fn accept(&self, conversation: ConversationId) -> Result<()> {
        let _engine = self.inner.engine.lock().await;
        {
            let mut store = self.inner.store.lock();
            let tx = store.transaction()?;
            let c = tx.conversation(conversation)?;
            if !c.request {
                return Ok(());
            }
            tx.set_request(conversation, false)?;
            tx.commit()?;
        }
        self.emit(ClientEvent::MembersChanged { conversation });
        Ok(())
    }

    /// Declines an invitation request: leaves the conversation (see [`Client::leave`]).
    pub async fn decline(&self, conversation: ConversationId) -> Result<()> {
        if !self.conversation(conversation).await?.request {
            return Err(ClientError::InvalidInput(
                "this conversation is no invitation request".into(),
            ));
        }
        self.leave(conversation).await?;
        let mut store = self.inner.store.lock();
        let tx = store.transaction()?;
        tx.set_request(conversation, false)?;
        tx.commit()?;
        Ok(())
    }

    /// Every conversation, most recently active first, with unread counts.
    pub async fn conversations(&self) -> Result<Vec<ConversationSummary>> {
        self.inner.read.conversations()
    }

    /// One conversation.
    pub async fn conversation(&self, id: ConversationId) -> Result<Conversation> {
        self.inner.read.conversation(id)
    }

    /// Finds a conversation by its id (digits) or its exact name.
    pub async fn find_conversation(&self, key: &str) -> Result<ConversationId> {
        self.inner.read.find_conversation(key)
    }

    /// A page of history, newest first: up to `limit` messages before `before` (or the
    /// newest).
    pub async fn history(
        &self,
        conversation: ConversationId,
        before: Option<MessageId>,
        limit: usize,
    ) -> Result<Vec<StoredMessage>> {
        self.inner.read.history(conversation, before, limit)
    }

    /// Messages by position, oldest first: up to `limit` from the `offset`-th oldest.
    pub async fn history_at(
        &self,
        conversation: ConversationId,
        offset: u64,
        limit: usize,
    ) -> Result<Vec<StoredMessage>> {
        self.inner.read.history_at(conversation, offset, limit)
    }

    /// How many messages a conversation holds.
    pub async fn message_count(&self, conversation: ConversationId) -> Result<u64> {
        self.inner.read.message_count(conversation)
    }

    /// Full-text search over all decrypted history, newest first.
    pub async fn search(&self, text: &str, limit: usize) -> Result<Vec<StoredMessage>> {
        self.inner.read.search(text, limit)
    }

    /// The members of a conversation with fingerprints, safety numbers and verified marks.
    pub async fn members(&self, conversation: ConversationId) -> Result<Vec<Member>> {
        self.inner.read.members(conversation)
    }

    /// A conversation's security state.
    pub async fn security(&self, conversation: ConversationId) -> Result<SecurityInfo> {
        self.inner.read.security(conversation)
    }

    // ------------------------------------------------------------------ messages

    /// One message.
    pub async fn message(&self, id: MessageId) -> Result<Option<StoredMessage>> {
        self.inner.read.message(id)
    }

    // ------------------------------------------------------------------ trust

    /// Every device this profile has seen, with its fingerprint and verified mark.
    pub async fn known_devices(&self) -> Result<Vec<KnownDevice>> {
        self.inner.read.known_devices()
    }

    /// The safety numbers between this device and each known device of `user`.
    pub async fn safety_numbers(&self, user: &UserName) -> Result<Vec<(KnownDevice, String)>> {
        self.inner.read.safety_numbers(user)
    }

    /// Marks every current key of `user` verified (after comparing safety numbers).
    pub async fn verify(&self, user: &UserName) -> Result<usize> {
        self.inner.read.verify(user)
    }

    // ------------------------------------------------------------------ background

    /// Starts the background work: the push connection (WebSocket) with reconnects, sync
    /// on every push and (re)connect and at least every 30 s, outbox retries with backoff,
    /// key-package top-up and scheduled key rotation. Stops when the returned handle is
    /// dropped.
    pub fn start(&self) -> Background {
        background::start(self.clone())
    }

    pub(crate) fn inner(&self) -> &Inner {
        &self.inner
    }

    pub(crate) fn emit(&self, event: ClientEvent) {
        let _ = self.inner.events.send(event);
    }
}
