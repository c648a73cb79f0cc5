//! What a node learns from the other nodes sharing its store (PostgreSQL): devices
//! registered elsewhere, looked up the first time a request names them; and the store's
//! events ([`StoreEvent`]): a device's record changed (revoked: its sockets here close), items
//! queued elsewhere for devices connected here (pushed), or events missed (the directory is
//! reloaded). On a store only this node uses, the directory is the whole truth and nothing
//! here runs.

use std::sync::Arc;

use axum::http::HeaderMap;

use crate::Shared;
use crate::authn::identity;
use crate::error::ApiError;
use crate::store::{DeviceRecord, StoreError, StoreEvent};

/// Makes the directory know those of `names` that the shared store knows (a device another
/// node registered); names it knows already cost nothing.
pub(crate) async fn learn(shared: &Shared, names: Vec<(String, String)>) -> Result<(), ApiError> {
    if !shared.shares_store {
        return Ok(());
    }
    let missing: Vec<(String, String)> = {
        let directory = shared
            .directory
            .read()
            .map_err(|_| ApiError::from(StoreError::Internal("directory lock".into())))?;
        names
            .into_iter()
            .filter(|name| !directory.contains_key(name))
            .collect()
    };
    if missing.is_empty() {
        return Ok(());
    }
    let store = shared.store.clone();
    let found = tokio::task::spawn_blocking(move || store.devices_named(&missing))
        .await
        .map_err(|e| ApiError::from(StoreError::Internal(e.to_string())))??;
    remember(shared, found);
    Ok(())
}

/// [`learn`]s the device a request says it comes from (its signature is checked after).
pub(crate) async fn learn_signer(shared: &Shared, headers: &HeaderMap) -> Result<(), ApiError> {
    if !shared.shares_store {
        return Ok(());
    }
    // A request without a well-formed identity is refused where it is authenticated.
    let Ok((id, _)) = identity(headers) else {
        return Ok(());
    };
    learn(shared, vec![(id.user, id.device)]).await
}

fn remember(shared: &Shared, records: Vec<DeviceRecord>) {
    if let Ok(mut directory) = shared.directory.write() {
        for record in records {
            if record.revoked {
                shared.hub.disconnect(record.id);
            }
            directory.insert((record.user.clone(), record.device.clone()), record);
        }
    }
}

/// Applies the other nodes' events until the store stops sending them.
pub(crate) async fn follow(
    shared: Arc<Shared>,
    mut events: tokio::sync::mpsc::Receiver<StoreEvent>,
) {
    while let Some(event) = events.recv().await {
        match event {
            StoreEvent::Queued(items) => shared.hub.push(items),
            StoreEvent::Device { user, device } => {
                let name = (user, device);
                let cached = shared
                    .directory
                    .read()
                    .is_ok_and(|directory| directory.contains_key(&name));
                // A device never seen here is looked up when a request names it.
                if cached {
                    reload(&shared, move |store| store.devices_named(&[name])).await;
                }
            }
            StoreEvent::Resync => reload(&shared, |store| store.all_devices()).await,
        }
    }
}

async fn reload(
    shared: &Arc<Shared>,
    read: impl FnOnce(&dyn crate::store::DeliveryStore) -> Result<Vec<DeviceRecord>, StoreError>
    + Send
    + 'static,
) {
    let store = shared.store.clone();
    match tokio::task::spawn_blocking(move || read(store.as_ref())).await {
        Ok(Ok(records)) => remember(shared, records),
        Ok(Err(e)) => tracing::warn!(error = %e, "cannot reload devices another node changed"),
        Err(e) => tracing::warn!(error = %e, "reloading devices failed"),
    }
}
