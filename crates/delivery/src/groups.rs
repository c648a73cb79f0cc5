//! Joining by external commit: members keep the group's sealed GroupInfo here and open or
//! revoke its invite link; a device with the link reads the GroupInfo (or asks an admin in);
//! members list and answer join requests; a member's device left behind asks the others for
//! the rejoin key, and one answers. The server reads none of it: the GroupInfo is sealed by
//! the members, a link's token is derived from a secret the server never sees (it keeps the
//! token's hash), and asks and answers are signed and sealed by the members.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use conclave_delivery_api::{
    GroupInfoUpload, JoinAnswer, JoinByLink, JoinRequests, LinkSetup, RejoinAskUpload,
    RejoinKeyUpload, SealedGroupInfo,
};
use sha2::Digest as _;

use crate::Shared;
use crate::error::ApiError;
use crate::extract::{Signed, SignedEmpty, hex_id};
use crate::handlers::{blocking, resolve};
use crate::store::{GroupInfoRecord, LinkRecord};

type Result<T> = std::result::Result<T, ApiError>;

/// A group id in a path: lowercase hex, at most 255 bytes (an MLS group id's bound here).
fn group_id(hex: &str) -> Result<Vec<u8>> {
    hex_id(
        hex,
        1..=255,
        "a group id is lowercase hex, 2 to 510 characters",
    )
}

/// What the server keeps of a link's token.
pub(crate) fn token_hash(token: &[u8]) -> Vec<u8> {
    sha2::Sha256::digest(token).to_vec()
}

/// A link's token: what a joiner presents, 32 bytes.
fn check_token(token: &[u8]) -> Result<()> {
    if token.len() != 32 {
        return Err(ApiError::bad_request("a link token is 32 bytes"));
    }
    Ok(())
}

pub async fn put_info(
    State(shared): State<Arc<Shared>>,
    Path(group): Path<String>,
    Signed { authed, body }: Signed<GroupInfoUpload>,
) -> Result<StatusCode> {
    let group = group_id(&group)?;
    let store = shared.store.clone();
    let record = GroupInfoRecord {
        epoch: body.epoch,
        info: body.info.0,
        rejoin_key: body.rejoin_key.0,
        link_key: body.link_key.map(|k| k.0),
    };
    let by = authed.device.id;
    blocking(move || store.put_group_info(by, group, record, authed.nonce)).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn get_info(
    State(shared): State<Arc<Shared>>,
    Path(group): Path<String>,
    SignedEmpty(authed): SignedEmpty,
) -> Result<Json<SealedGroupInfo>> {
    let group = group_id(&group)?;
    let store = shared.store.clone();
    let by = authed.device.id;
    Ok(Json(blocking(move || store.group_info(by, &group)).await?))
}

pub async fn put_link(
    State(shared): State<Arc<Shared>>,
    Path(group): Path<String>,
    Signed { authed, body }: Signed<LinkSetup>,
) -> Result<StatusCode> {
    let group = group_id(&group)?;
    check_token(&body.token.0)?;
    let link = LinkRecord {
        token_hash: token_hash(&body.token.0),
        approval: body.approval,
        expires_at: body.expires_at,
    };
    let store = shared.store.clone();
    let by = authed.device.id;
    blocking(move || store.set_group_link(by, group, Some(link), authed.nonce)).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn delete_link(
    State(shared): State<Arc<Shared>>,
    Path(group): Path<String>,
    SignedEmpty(authed): SignedEmpty,
) -> Result<StatusCode> {
    let group = group_id(&group)?;
    let store = shared.store.clone();
    let by = authed.device.id;
    blocking(move || store.set_group_link(by, group, None, authed.nonce)).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn join(
    State(shared): State<Arc<Shared>>,
    Path(group): Path<String>,
    Signed { authed, body }: Signed<JoinByLink>,
) -> Result<Json<JoinAnswer>> {
    let group = group_id(&group)?;
    check_token(&body.token.0)?;
    let hash = token_hash(&body.token.0);
    let store = shared.store.clone();
    let by = authed.device.id;
    let now = conclave_delivery_api::auth::now_secs();
    let (answer, items) =
        blocking(move || store.join_by_link(by, group, hash, now, authed.nonce)).await?;
    shared.metrics.delivered.inc_by(items.len() as u64);
    shared.hub.push(items);
    Ok(Json(answer))
}

pub async fn requests(
    State(shared): State<Arc<Shared>>,
    Path(group): Path<String>,
    SignedEmpty(authed): SignedEmpty,
) -> Result<Json<JoinRequests>> {
    let group = group_id(&group)?;
    let store = shared.store.clone();
    let by = authed.device.id;
    let requests = blocking(move || store.join_requests(by, &group)).await?;
    Ok(Json(JoinRequests { requests }))
}

pub async fn answer_request(
    State(shared): State<Arc<Shared>>,
    Path((group, user)): Path<(String, String)>,
    SignedEmpty(authed): SignedEmpty,
) -> Result<StatusCode> {
    let group = group_id(&group)?;
    let store = shared.store.clone();
    let by = authed.device.id;
    blocking(move || store.answer_join_requests(by, group, user, authed.nonce)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An ask or its answer: a signed ask or a sealed 32-byte key is well under this.
const MAX_REJOIN_MESSAGE: usize = 4096;

fn check_rejoin_message(bytes: &[u8]) -> Result<()> {
    if bytes.is_empty() || bytes.len() > MAX_REJOIN_MESSAGE {
        return Err(ApiError::bad_request(format!(
            "an ask for the rejoin key, or its answer, is 1 to {MAX_REJOIN_MESSAGE} bytes"
        )));
    }
    Ok(())
}

pub async fn ask_rejoin(
    State(shared): State<Arc<Shared>>,
    Path(group): Path<String>,
    Signed { authed, body }: Signed<RejoinAskUpload>,
) -> Result<StatusCode> {
    let group = group_id(&group)?;
    check_rejoin_message(&body.ask.0)?;
    let store = shared.store.clone();
    let by = authed.device.id;
    let quota = shared.quota();
    let items =
        blocking(move || store.ask_rejoin(by, group, body.ask.0, quota, authed.nonce)).await?;
    shared.metrics.delivered.inc_by(items.len() as u64);
    shared.hub.push(items);
    Ok(StatusCode::NO_CONTENT)
}

pub async fn answer_rejoin(
    State(shared): State<Arc<Shared>>,
    Path(group): Path<String>,
    Signed { authed, body }: Signed<RejoinKeyUpload>,
) -> Result<StatusCode> {
    let group = group_id(&group)?;
    check_rejoin_message(&body.key.0)?;
    let named = vec![(body.device.user.clone(), body.device.device.clone())];
    crate::nodes::learn(&shared, named).await?;
    // A revoked asker gets nothing more.
    let Some(&asker) = resolve(&shared, std::slice::from_ref(&body.device))?.first() else {
        return Ok(StatusCode::NO_CONTENT);
    };
    let store = shared.store.clone();
    let by = authed.device.id;
    let quota = shared.quota();
    let items =
        blocking(move || store.answer_rejoin(by, group, asker, body.key.0, quota, authed.nonce))
            .await?;
    shared.metrics.delivered.inc_by(items.len() as u64);
    shared.hub.push(items);
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_ids_are_lowercase_hex() {
        assert_eq!(group_id("ab01").unwrap(), vec![0xab, 0x01]);
        for bad in ["", "a", "AB", "zz", "é1", &"ab".repeat(256)] {
            assert!(group_id(bad).is_err(), "{bad}");
        }
    }
}
