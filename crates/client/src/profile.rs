//! A profile's life: creating one (a device registered, key packages published), opening
//! it (unlocked by its passphrase or the OS keyring), changing its secret, and the files
//! and checks around them.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use conclave_protocol::{DeviceId, Identity, MemberId, UserName};
use conclave_storage::{ProfileFile, ProfileSecret, Store, StoreError};
use openmls_rust_crypto::OpenMlsRustCrypto;
use openmls_traits::OpenMlsProvider as _;
use tokio::sync::{Mutex, Notify, broadcast};

use crate::client::Inner;
use crate::ds::Ds;
use crate::engine::{Engine, SharedStore, now_ms};
use crate::{Client, ClientConfig, ClientError, ProfileKeyring, Result};

/// The profile database's file name inside a profile directory.
pub const PROFILE_FILE: &str = "profile.sqlite";

/// The profile's store, encrypted at rest if the settings give a secret or keep the key in
/// the OS keyring.
pub(crate) fn open_store(path: &Path, config: &ClientConfig) -> Result<Store> {
    Ok(match profile_secret(path, config)? {
        Some(secret) => Store::open_encrypted(path, &secret)?,
        None => Store::open(path)?,
    })
}

/// The key the OS keyring holds for the encrypted profile at `path`, for a change of its
/// secret given no old one (`None`: the keyring holds none, or the profile is plain).
fn keyring_secret(path: &Path) -> Result<Option<ProfileSecret>> {
    if conclave_storage::at_rest::inspect(path)? != ProfileFile::Encrypted {
        return Ok(None);
    }
    match ProfileKeyring::for_profile(path) {
        Ok(Some(keyring)) => Ok(keyring.key()?.map(ProfileSecret::Key)),
        Ok(None) | Err(crate::KeyringError::Unavailable(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Removes the key of the profile at `path` from the OS keyring, if it kept one there.
fn forget_keyring_key(path: &Path) -> std::result::Result<(), crate::KeyringError> {
    match ProfileKeyring::for_profile(path)? {
        Some(keyring) => keyring.forget(),
        None => Ok(()),
    }
}

/// Removes the key of the profile at `path`, encrypted under another secret now, from the
/// OS keyring. A failure only leaves an unused key there, so it is logged, not returned:
/// the change itself is done.
fn forget_replaced_key(path: &Path) {
    if let Err(e) = forget_keyring_key(path) {
        tracing::warn!("removing the replaced profile key from the keyring: {e}");
    }
}

/// What the profile at `path` is (to be) encrypted with: the settings' secret, else the
/// key in the OS keyring if the settings keep it there (made now for a new or plain
/// profile), else none.
fn profile_secret(path: &Path, config: &ClientConfig) -> Result<Option<ProfileSecret>> {
    match &config.profile_secret {
        Some(secret) => Ok(Some(secret.clone())),
        None if config.keyring => {
            let file = conclave_storage::at_rest::inspect(path)?;
            match ProfileKeyring::secret_for(path, file) {
                Ok(secret) => Ok(Some(secret)),
                // An encrypted profile whose key is not to be had there: opened without
                // one, it says that it needs its passphrase.
                Err(crate::KeyringError::NoKey(_) | crate::KeyringError::Unavailable(_))
                    if file == ProfileFile::Encrypted =>
                {
                    Ok(None)
                }
                Err(e) => Err(e.into()),
            }
        }
        None => Ok(None),
    }
}

impl Client {
    /// Creates a profile in `profile_dir` for `user` on the server at `server_url`:
    /// a new device identity, registered at the server, with key packages published.
    ///
    /// If the server refuses the name or cannot be reached, the profile is removed again and
    /// nothing is left behind.
    pub async fn create(profile_dir: &Path, user: &str, server_url: &str) -> Result<Client> {
        Self::create_with(profile_dir, user, server_url, ClientConfig::default()).await
    }

    /// [`Client::create`] with settings.
    pub async fn create_with(
        profile_dir: &Path,
        user: &str,
        server_url: &str,
        config: ClientConfig,
    ) -> Result<Client> {
        let user = UserName::new(user)
            .map_err(|e| ClientError::InvalidInput(format!("user name: {e}")))?;
        let server_url = normalize_server(server_url)?;
        private_dir(profile_dir).map_err(|e| StoreError::CannotOpen {
            path: profile_dir.to_path_buf(),
            reason: e.to_string(),
        })?;
        let path = profile_dir.join(PROFILE_FILE);
        if path.exists() {
            return Err(ClientError::ProfileExists(
                profile_dir.display().to_string(),
            ));
        }
        let result = async {
            let mut store = open_store(&path, &config)?;
            let identity = {
                let tx = store.transaction()?;
                let device = DeviceId::random(OpenMlsRustCrypto::default().crypto())?;
                let identity = Identity::create(
                    &tx.provider(),
                    MemberId::new(user.clone(), device),
                    config.group.ciphersuite,
                )?;
                tx.set_profile(&identity.record(), &server_url, now_ms())?;
                tx.commit()?;
                identity
            };
            let client = Self::start_engine(store, identity, &server_url, profile_dir, config)?;
            {
                let mut engine = client.inner.engine.lock().await;
                engine.ensure_registered().await?;
            }
            Ok::<_, ClientError>(client)
        }
        .await;
        match result {
            Ok(client) => {
                // Registered: from here on the profile is kept, even if publishing key
                // packages fails (the next sync tops them up).
                if let Err(e) = client.inner.engine.lock().await.top_up_key_packages().await {
                    tracing::warn!("publishing key packages failed: {e}");
                }
                Ok(client)
            }
            Err(e) => {
                remove_profile_files(&path);
                Err(e)
            }
        }
    }

    /// Whether the profile in `profile_dir` exists, and whether it is encrypted (so needs a
    /// [`ClientConfig::profile_secret`] to open). Changes nothing.
    pub fn profile_file(profile_dir: &Path) -> Result<conclave_storage::ProfileFile> {
        Ok(conclave_storage::at_rest::inspect(
            &profile_dir.join(PROFILE_FILE),
        )?)
    }

    /// Encrypts the profile in `profile_dir` with `new` in place of `old` (a passphrase
    /// change; `old` is `None` for a plain profile, which is encrypted). The profile must not
    /// be open; the change is atomic ([`Store::change_secret`]).
    pub fn change_profile_secret(
        profile_dir: &Path,
        old: Option<&ProfileSecret>,
        new: &ProfileSecret,
    ) -> Result<()> {
        let path = profile_dir.join(PROFILE_FILE);
        if !path.exists() {
            return Err(ClientError::NoProfile(profile_dir.display().to_string()));
        }
        let from_keyring = match old {
            Some(_) => None,
            None => keyring_secret(&path)?,
        };
        Store::change_secret(&path, old.or(from_keyring.as_ref()), new)?;
        if from_keyring.is_some() {
            forget_replaced_key(&path);
        }
        Ok(())
    }

    /// Changes the passphrase (or key) of this client's open profile: `old` is the one it is
    /// encrypted with (`None` for a plain profile, which is then encrypted). Atomic, as
    /// [`Client::change_profile_secret`]; the client goes on meanwhile. A wrong `old`:
    /// [`ClientError::Storage`] with [`conclave_storage::StoreError::WrongKey`], and
    /// nothing changed.
    pub async fn change_passphrase(
        &self,
        old: Option<ProfileSecret>,
        new: ProfileSecret,
    ) -> Result<()> {
        let store = self.inner.store.clone();
        let path = self.inner.profile_dir.join(PROFILE_FILE);
        // Argon2id twice, a copy of the whole file, D-Bus: off the async workers.
        tokio::task::spawn_blocking(move || {
            let from_keyring = match old {
                Some(_) => None,
                None => keyring_secret(&path)?,
            };
            store
                .lock()
                .change_secret_open(old.as_ref().or(from_keyring.as_ref()), &new)?;
            if from_keyring.is_some() {
                forget_replaced_key(&path);
            }
            Ok::<_, ClientError>(())
        })
        .await
        .map_err(|e| ClientError::InvalidInput(format!("passphrase change: {e}")))??;
        Ok(())
    }

    /// Opens an existing profile. Nothing is sent until the first operation or
    /// [`Client::sync`].
    pub async fn open(profile_dir: &Path) -> Result<Client> {
        Self::open_with(profile_dir, ClientConfig::default()).await
    }

    /// [`Client::open`] with settings.
    pub async fn open_with(profile_dir: &Path, config: ClientConfig) -> Result<Client> {
        let path = profile_dir.join(PROFILE_FILE);
        if !path.exists() {
            return Err(ClientError::NoProfile(profile_dir.display().to_string()));
        }
        let mut store = open_store(&path, &config)?;
        if store
            .transaction()?
            .setting(crate::link::PENDING)?
            .is_some()
        {
            return Err(ClientError::LinkPending(profile_dir.display().to_string()));
        }
        let identity = store
            .identity()?
            .ok_or_else(|| ClientError::NoProfile(profile_dir.display().to_string()))?;
        let server = store
            .transaction()?
            .server_url()?
            .ok_or_else(|| ClientError::NoProfile(profile_dir.display().to_string()))?;
        check_server(&server)?;
        Self::start_engine(store, identity, &server, profile_dir, config)
    }

    pub(crate) fn start_engine(
        store: Store,
        identity: Identity,
        server: &str,
        profile_dir: &Path,
        config: ClientConfig,
    ) -> Result<Client> {
        let identity = Arc::new(identity);
        let client_cert = config
            .local_client_cert
            .as_deref()
            .filter(|_| conclave_delivery_api::tls::is_loopback_url(server));
        let tls = conclave_delivery_api::tls::client_config(&config.ca_certs, client_cert)
            .map_err(|e| ClientError::InvalidInput(e.to_string()))?;
        let ds = Ds::new(server, identity.clone(), config.request_timeout, tls)?;
        let (events, _) = broadcast::channel(1024);
        let store = SharedStore::new(store);
        // Messages whose time came while the client was closed go before anything reads.
        crate::engine::sweep_expired(&store, now_ms())?;
        let engine = Engine::new(
            store.clone(),
            identity.clone(),
            config.clone(),
            ds.clone(),
            events.clone(),
        );
        Ok(Client {
            inner: Arc::new(Inner {
                read: engine.read().clone(),
                engine: Mutex::new(engine),
                store,
                config,
                me: identity.member().clone(),
                identity,
                ds,
                events,
                wake: Notify::new(),
                revoked: std::sync::atomic::AtomicBool::new(false),
                profile_dir: profile_dir.to_path_buf(),
                server: server.to_owned(),
            }),
        })
    }
}

pub(crate) fn normalize_server(url: &str) -> Result<String> {
    let url = url.trim().trim_end_matches('/');
    check_server(url)?;
    Ok(url.to_owned())
}

/// `https://`, or `http://` to this machine only: refused before any connection.
fn check_server(url: &str) -> Result<()> {
    conclave_delivery_api::tls::check_server_url(url)
        .map_err(|e| ClientError::InvalidInput(e.to_string()))
}

/// The profile directory, for its owner only (0700 on Unix), with any parents it needs.
pub(crate) fn private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        builder.mode(0o700).create(dir)?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
    }
    #[cfg(not(unix))]
    builder.create(dir)
}

/// Deletes the profile at `path` (one that was never made whole), and its key from the
/// keyring if it kept one there.
pub(crate) fn remove_profile_files(path: &Path) {
    if let Err(e) = forget_keyring_key(path) {
        tracing::warn!("removing the profile's key from the keyring: {e}");
    }
    for suffix in ["", "-wal", "-shm", ".lock", ".keyring"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(name));
    }
}
