//! The HTTP endpoints (documented in `crates/delivery/API.md`).

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;

use crate::Shared;
use crate::authn::{CRYPTO, authenticate, identity, path_of};
use crate::error::ApiError;
use crate::extract::{Raw, Signed, SignedEmpty};
use crate::store::{Delivery, DeviceRecord, KeyPackageEntry, Nonce, StoreError};
use conclave_delivery_api::auth::{decode_signature, headers, scheme_of, signing_input, verify};
use conclave_delivery_api::{
    AckRequest, AckResponse, AddDeviceRequest, ClaimRequest, DeviceGrant, DeviceInfo,
    DevicesResponse, DirectoryRequest, DirectoryResponse, Envelope, ErrorCode, MessageKind,
    PublishKeyPackages, RegisterRequest, RejectRequest, RejectResponse, RevokeRequest,
    SendResponse,
};

type Result<T> = std::result::Result<T, ApiError>;

/// Runs a blocking store call off the async threads.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> std::result::Result<T, StoreError> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::from(StoreError::Internal(e.to_string())))?
        .map_err(ApiError::from)
}

/// Names follow the credential's rules: a device is registered under the name its MLS
/// credential carries.
fn valid_user(name: &str) -> bool {
    conclave_protocol::UserName::new(name).is_ok()
}

fn valid_device(name: &str) -> bool {
    conclave_protocol::DeviceId::new(name).is_ok()
}

pub async fn health() -> &'static str {
    "ok"
}

pub async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        ErrorCode::NotFound,
        "no such endpoint",
    )
}

pub async fn metrics(
    State(shared): State<Arc<Shared>>,
    headers: axum::http::HeaderMap,
) -> Result<impl IntoResponse> {
    let Some(token) = &shared.metrics_token else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            "metrics are not served (no --metrics-token)",
        ));
    };
    let given = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    // Compared in constant time: the comparison must not tell how much of a guess was right.
    let matches = given.is_some_and(|given| {
        given.len() == token.len()
            && given
                .bytes()
                .zip(token.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    });
    if !matches {
        return Err(ApiError::unauthorized("metrics need the bearer token"));
    }
    let store = shared.store.clone();
    if let Ok(Ok(depth)) = tokio::task::spawn_blocking(move || store.queue_depth()).await {
        shared.metrics.queue_depth.set(depth as i64);
    }
    shared
        .metrics
        .ws_connections
        .set(shared.hub.connections() as i64);
    shared
        .metrics
        .memory_budget_free
        .set(shared.budget.available() as i64);
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        shared.metrics.render(),
    ))
}

fn remember(shared: &Shared, record: &DeviceRecord) {
    if let Ok(mut dir) = shared.directory.write() {
        dir.insert((record.user.clone(), record.device.clone()), record.clone());
    }
}

fn info(record: &DeviceRecord) -> DeviceInfo {
    DeviceInfo {
        device: record.device.clone(),
        signature_key: record.signature_key.clone().into(),
        ciphersuite: record.ciphersuite,
        added_at: 0,
        last_seen: None,
        revoked_at: record.revoked.then(conclave_delivery_api::auth::now_secs),
    }
}

pub async fn register(
    State(shared): State<Arc<Shared>>,
    raw: Raw,
) -> Result<(StatusCode, Json<DeviceInfo>)> {
    let (id, signature) = identity(&raw.headers)?;
    let request: RegisterRequest = raw.json()?;
    if !valid_user(&id.user) || !valid_device(&id.device) {
        return Err(ApiError::bad_request("invalid user name or device id"));
    }
    let scheme = scheme_of(request.ciphersuite)
        .ok_or_else(|| ApiError::bad_request("unsupported ciphersuite"))?;
    // Proof of possession: the request is signed with the key being registered.
    let input = signing_input(raw.method.as_str(), path_of(&raw.uri), &raw.body, &id);
    if !verify(
        &*CRYPTO,
        scheme,
        &request.signature_key.0,
        &input,
        &signature,
    ) {
        return Err(ApiError::unauthorized(
            "signature does not match the key being registered",
        ));
    }
    // Counted once the request is well formed, so that junk from one address cannot use up
    // everyone's registrations.
    let address_allows = raw
        .peer
        .is_none_or(|peer| shared.registrations.allow(source(peer.ip())));
    if !address_allows || !shared.all_registrations.allow(()) {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::RateLimited,
            "too many registrations; retry later",
        ));
    }
    let store = shared.store.clone();
    let nonce = Nonce {
        nonce: id.nonce.clone(),
        expires_at: id.timestamp + 2 * conclave_delivery_api::auth::MAX_SKEW_SECS,
    };
    let max_devices = shared.limits.max_devices_per_user;
    let record = blocking(move || {
        store.register(
            &id.user,
            &id.device,
            &request.signature_key.0,
            request.ciphersuite,
            max_devices,
            nonce,
        )
    })
    .await?;
    remember(&shared, &record);
    Ok((StatusCode::CREATED, Json(info(&record))))
}

/// The key registrations are counted under: an IPv4 address, or an IPv6 address's /64 (one
/// host usually holds a whole /64, so counting single IPv6 addresses would limit nothing).
pub(crate) fn source(ip: std::net::IpAddr) -> std::net::IpAddr {
    match ip {
        std::net::IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.into(),
            None => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                std::net::Ipv6Addr::from(prefix).into()
            }
        },
        v4 => v4,
    }
}

pub async fn add_device(
    State(shared): State<Arc<Shared>>,
    raw: Raw,
) -> Result<(StatusCode, Json<DeviceInfo>)> {
    crate::nodes::learn_signer(&shared, &raw.headers).await?;
    let authed = authenticate(&shared, &raw.method, &raw.uri, &raw.headers, &raw.body)?;
    let request: AddDeviceRequest = raw.json()?;
    if !valid_device(&request.device) {
        return Err(ApiError::bad_request("invalid device id"));
    }
    let scheme = scheme_of(request.ciphersuite)
        .ok_or_else(|| ApiError::bad_request("unsupported ciphersuite"))?;
    let (id, _) = identity(&raw.headers)?;
    let new_signature = raw
        .headers
        .get(headers::NEW_KEY_SIGNATURE)
        .and_then(|v| v.to_str().ok())
        .and_then(decode_signature)
        .ok_or_else(|| ApiError::unauthorized("missing the new key's signature"))?;
    if !verify(
        &*CRYPTO,
        scheme,
        &request.signature_key.0,
        &signing_input(raw.method.as_str(), path_of(&raw.uri), &raw.body, &id),
        &new_signature,
    ) {
        return Err(ApiError::unauthorized(
            "the new key's signature does not verify",
        ));
    }
    let store = shared.store.clone();
    let max_devices = shared.limits.max_devices_per_user;
    let record = blocking(move || {
        store.add_device(
            &authed.device,
            &request.device,
            &request.signature_key.0,
            request.ciphersuite,
            max_devices,
            authed.nonce,
        )
    })
    .await?;
    remember(&shared, &record);
    Ok((StatusCode::CREATED, Json(info(&record))))
}

/// How long a device grant waits for the new device to register.
const GRANT_LIFETIME_SECS: u64 = 600;

pub async fn grant_device(
    State(shared): State<Arc<Shared>>,
    Signed {
        authed,
        body: grant,
    }: Signed<DeviceGrant>,
) -> Result<StatusCode> {
    if !valid_device(&grant.device) {
        return Err(ApiError::bad_request("invalid device id"));
    }
    scheme_of(grant.ciphersuite).ok_or_else(|| ApiError::bad_request("unsupported ciphersuite"))?;
    let store = shared.store.clone();
    let expires_at = conclave_delivery_api::auth::now_secs() + GRANT_LIFETIME_SECS;
    blocking(move || store.grant_device(&authed.device, grant, expires_at, authed.nonce)).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn revoke_device(
    State(shared): State<Arc<Shared>>,
    Signed {
        authed,
        body: request,
    }: Signed<RevokeRequest>,
) -> Result<Json<DeviceInfo>> {
    let store = shared.store.clone();
    let record =
        blocking(move || store.revoke_device(&authed.device, &request.device, authed.nonce))
            .await?;
    // From here on the directory refuses it; its push sockets end as their next push fails
    // to find a queue, and its fetches are refused.
    remember(&shared, &record);
    shared.hub.disconnect(record.id);
    Ok(Json(info(&record)))
}

pub async fn user_devices(
    State(shared): State<Arc<Shared>>,
    Path(user): Path<String>,
    _: SignedEmpty,
) -> Result<Json<DevicesResponse>> {
    let store = shared.store.clone();
    let name = user.clone();
    let devices = blocking(move || store.user_devices(&name)).await?;
    Ok(Json(DevicesResponse { user, devices }))
}

pub async fn reject(
    State(shared): State<Arc<Shared>>,
    Signed {
        authed,
        body: request,
    }: Signed<RejectRequest>,
) -> Result<Json<RejectResponse>> {
    let store = shared.store.clone();
    let voter = authed.device.id;
    let response = blocking(move || {
        store.reject_commit(voter, request.group_id.0, request.epoch, authed.nonce)
    })
    .await?;
    Ok(Json(response))
}

pub async fn directory(
    State(shared): State<Arc<Shared>>,
    Signed { body: request, .. }: Signed<DirectoryRequest>,
) -> Result<Json<DirectoryResponse>> {
    if request.users.len() > shared.limits.max_recipients {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::TooManyRecipients,
            format!("at most {} users", shared.limits.max_recipients),
        ));
    }
    let store = shared.store.clone();
    let users = blocking(move || {
        let unique: std::collections::BTreeSet<String> = request.users.into_iter().collect();
        let mut found = Vec::with_capacity(unique.len());
        for user in unique {
            match store.user_devices(&user) {
                Ok(devices) => found.push(DevicesResponse { user, devices }),
                Err(StoreError::NoSuchUser(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(found)
    })
    .await?;
    Ok(Json(DirectoryResponse { users }))
}

pub async fn publish_key_packages(
    State(shared): State<Arc<Shared>>,
    Signed {
        authed,
        body: request,
    }: Signed<PublishKeyPackages>,
) -> Result<impl IntoResponse> {
    let max = shared.limits.max_key_packages;
    if request.key_packages.len() > max as usize {
        return Err(StoreError::TooManyKeyPackages { max }.into());
    }
    let suite = request.ciphersuite.unwrap_or(authed.device.ciphersuite);
    // Named even when no package comes with it: a suite nobody supports gets no stock.
    if scheme_of(suite).is_none() {
        return Err(ApiError::bad_request(format!(
            "unsupported ciphersuite 0x{suite:04x}"
        )));
    }
    // Each package must be this device's, with its registered key: otherwise anyone could
    // publish packages that claim another device and, added by an inviter, speak as it.
    // Checking a package is two signature checks: off the async threads.
    let device = authed.device.clone();
    let (key_packages, last_resort) = tokio::task::spawn_blocking(move || {
        let check = |bytes: conclave_delivery_api::Bytes| {
            check_key_package(&device, suite, &bytes.0).map(|not_after| KeyPackageEntry {
                data: bytes.0,
                not_after,
            })
        };
        let key_packages = request
            .key_packages
            .into_iter()
            .map(check)
            .collect::<Result<Vec<_>>>()?;
        let last_resort = request.last_resort.map(check).transpose()?;
        Ok::<_, ApiError>((key_packages, last_resort))
    })
    .await
    .map_err(|e| ApiError::from(StoreError::Internal(e.to_string())))??;
    let store = shared.store.clone();
    let stock = blocking(move || {
        store.publish_key_packages(
            authed.device.id,
            suite,
            key_packages,
            last_resort,
            max,
            authed.nonce,
        )
    })
    .await?;
    Ok(Json(stock))
}

/// A key package the device may publish: valid (signatures, lifetime, ciphersuite), in
/// `suite`, and naming this device, with its registered key. One key signs in every suite of
/// its scheme, so a suite other than the registered one is taken when it signs with the
/// same scheme (the key check then holds too). Returns the end of its lifetime.
fn check_key_package(device: &DeviceRecord, suite: u16, bytes: &[u8]) -> Result<u64> {
    let info = conclave_protocol::inspect_key_package(&*CRYPTO, bytes)
        .map_err(|e| ApiError::bad_request(format!("invalid key package: {e}")))?;
    if info.ciphersuite.code_point() != suite {
        return Err(ApiError::bad_request(format!(
            "a key package in {} among packages published for 0x{suite:04x}",
            info.ciphersuite
        )));
    }
    let mine = info.member.user.as_str() == device.user
        && info.member.device.as_str() == device.device
        && info.signature_key == device.signature_key
        && scheme_of(suite).is_some()
        && scheme_of(suite) == scheme_of(device.ciphersuite);
    if !mine {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::Forbidden,
            format!(
                "a key package for {} with another key: a device publishes only its own",
                info.member
            ),
        ));
    }
    Ok(info.not_after)
}

pub async fn stock(
    State(shared): State<Arc<Shared>>,
    SignedEmpty(authed): SignedEmpty,
) -> Result<impl IntoResponse> {
    let store = shared.store.clone();
    Ok(Json(blocking(move || store.stock(authed.device.id)).await?))
}

pub async fn claim(
    State(shared): State<Arc<Shared>>,
    Signed {
        authed,
        body: request,
    }: Signed<ClaimRequest>,
) -> Result<impl IntoResponse> {
    // The limits below are kept per user claimed: only for users that exist (a made-up
    // name is `not_found` here), so that claims of made-up names cannot grow them.
    let store = shared.store.clone();
    let name = request.user.clone();
    blocking(move || store.user_devices(&name)).await?;
    // One device cannot claim one user's packages in bursts, and all devices together are
    // served a bounded number of one-time packages per user: past that, the last-resort
    // package, so the user can still be invited while nobody drains the stock. A user's
    // own devices are not limited (adding a linked device to every conversation claims
    // one package per conversation): only the user's devices can drain their stock.
    let own = request.user == authed.device.user;
    if !own
        && !shared
            .claims
            .allow((authed.device.id, request.user.clone()))
    {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::RateLimited,
            format!(
                "at most {} claims of one user's key packages per hour",
                shared.limits.claims_per_target
            ),
        ));
    }
    let one_time = own || shared.one_time_claims.allow(request.user.clone());
    let store = shared.store.clone();
    Ok(Json(
        blocking(move || {
            store.claim(
                authed.device.id,
                &request.user,
                request.device.as_deref(),
                request.ciphersuite,
                one_time,
                authed.nonce,
            )
        })
        .await?,
    ))
}

/// The envelope's group, epoch and kind are what its MLS message's cleartext framing says
/// (the server orders and routes by the envelope; the members read the message), and a
/// Welcome is a Welcome. Group messages from outside the group (external commits and
/// proposals) are not relayed: Conclave's members refuse them.
/// Checks the envelope against its message's framing; returns whether the message is an
/// external commit.
fn check_framing(envelope: &conclave_delivery_api::Envelope) -> Result<bool> {
    use conclave_protocol::{ContentKind, Framing};
    let disagree = |what: &str| {
        ApiError::bad_request(format!("the envelope's {what} is not its MLS message's"))
    };
    let framing = conclave_protocol::read_framing(&envelope.message.0)
        .map_err(|e| ApiError::bad_request(format!("message: {e}")))?;
    let Framing::Group(framing) = framing else {
        return Err(ApiError::bad_request("message: not a group message"));
    };
    if framing.group_id != envelope.group_id.0 {
        return Err(disagree("group id"));
    }
    if framing.epoch != envelope.epoch {
        return Err(disagree("epoch"));
    }
    let kind = match framing.content {
        ContentKind::Application => MessageKind::Application,
        ContentKind::Proposal => MessageKind::Proposal,
        ContentKind::Commit => MessageKind::Commit,
    };
    if kind != envelope.kind {
        return Err(disagree("kind"));
    }
    // A commit from outside the group is an external commit (a device joining, or a
    // member's device rejoining); anything else from outside is not relayed.
    if !framing.from_member && kind != MessageKind::Commit {
        return Err(ApiError::bad_request(
            "message: only members' messages and external commits are relayed",
        ));
    }
    if let Some(welcome) = &envelope.welcome {
        match conclave_protocol::read_framing(&welcome.message.0) {
            Ok(Framing::Welcome) => {}
            _ => return Err(ApiError::bad_request("welcome: not a Welcome")),
        }
    }
    Ok(!framing.from_member)
}

pub(crate) fn resolve(
    shared: &Shared,
    devices: &[conclave_delivery_api::DeviceRef],
) -> Result<Vec<i64>> {
    if devices.len() > shared.limits.max_recipients {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::TooManyRecipients,
            format!("at most {} recipients", shared.limits.max_recipients),
        ));
    }
    let dir = shared
        .directory
        .read()
        .map_err(|_| ApiError::from(StoreError::Internal("directory lock".into())))?;
    let mut ids = Vec::with_capacity(devices.len());
    let mut seen = std::collections::HashSet::with_capacity(devices.len());
    for d in devices {
        let record = dir
            .get(&(d.user.clone(), d.device.clone()))
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::NOT_FOUND,
                    ErrorCode::NotFound,
                    format!("no device {}/{}", d.user, d.device),
                )
            })?;
        if !seen.insert(record.id) {
            return Err(ApiError::bad_request(format!(
                "recipient {}/{} listed twice",
                d.user, d.device
            )));
        }
        // A revoked device left every roster when it was revoked, and gets nothing more:
        // members that have not yet removed its leaf still name it, and are not refused
        // for that.
        if record.revoked {
            continue;
        }
        ids.push(record.id);
    }
    Ok(ids)
}

pub async fn send(
    State(shared): State<Arc<Shared>>,
    Signed {
        authed,
        body: envelope,
    }: Signed<Envelope>,
) -> Result<Json<SendResponse>> {
    match envelope.kind {
        MessageKind::Welcome => {
            return Err(ApiError::bad_request(
                "a Welcome travels inside its commit's envelope",
            ));
        }
        MessageKind::RejoinAsk | MessageKind::RejoinKey | MessageKind::JoinRequest => {
            return Err(ApiError::bad_request(
                "asks for the rejoin key, their answers and join requests have their own \
                 endpoints",
            ));
        }
        MessageKind::Commit | MessageKind::Proposal | MessageKind::Application => {}
    }
    if envelope.welcome.is_some() && envelope.kind != MessageKind::Commit {
        return Err(ApiError::bad_request("only a commit can carry a Welcome"));
    }
    if envelope.group_id.0.is_empty() || envelope.message.0.is_empty() {
        return Err(ApiError::bad_request(
            "group_id and message must not be empty",
        ));
    }
    if !envelope.removed.is_empty() && envelope.kind != MessageKind::Commit {
        return Err(ApiError::bad_request("only a commit can remove members"));
    }
    let external = check_framing(&envelope)?;
    if let Some(token) = &envelope.link_token
        && token.0.len() != 32
    {
        return Err(ApiError::bad_request("a link token is 32 bytes"));
    }
    let welcomed = envelope.welcome.iter().flat_map(|w| &w.recipients);
    if envelope.recipients.len() + envelope.removed.len() + welcomed.clone().count()
        <= 3 * shared.limits.max_recipients
    {
        let named = envelope
            .recipients
            .iter()
            .chain(&envelope.removed)
            .chain(welcomed);
        let named = named.map(|d| (d.user.clone(), d.device.clone())).collect();
        crate::nodes::learn(&shared, named).await?;
    }
    let recipients = resolve(&shared, &envelope.recipients)?;
    let removed = resolve(&shared, &envelope.removed)?;
    let welcome = match envelope.welcome {
        Some(w) => Some((
            resolve(&shared, &w.recipients)?,
            w.message.0,
            w.ratchet_tree.0,
        )),
        None => None,
    };
    let delivery = Delivery {
        group_id: envelope.group_id.0,
        epoch: envelope.epoch,
        kind: envelope.kind,
        recipients,
        message: envelope.message.0,
        welcome,
        removed,
        external,
        link_token_hash: envelope
            .link_token
            .map(|token| crate::groups::token_hash(&token.0)),
    };
    let store = shared.store.clone();
    let sender = authed.device.clone();
    let is_commit = delivery.kind == MessageKind::Commit;
    let quota = shared.quota();
    match blocking(move || store.deliver(&sender, delivery, quota, authed.nonce)).await {
        Ok((epoch, items)) => {
            if is_commit {
                shared.metrics.commits_accepted.inc();
            }
            shared.metrics.delivered.inc_by(items.len() as u64);
            shared.hub.push(items);
            Ok(Json(SendResponse { epoch }))
        }
        Err(e) => {
            if is_commit && e.body.error == ErrorCode::StaleEpoch {
                shared.metrics.commits_rejected.inc();
            }
            if e.body.error == ErrorCode::QueueFull {
                shared.metrics.queue_full.inc();
            }
            Err(e)
        }
    }
}

#[derive(Deserialize)]
pub struct FetchParams {
    #[serde(default)]
    after: u64,
    limit: Option<u32>,
}

pub async fn fetch(
    State(shared): State<Arc<Shared>>,
    SignedEmpty(authed): SignedEmpty,
    params: std::result::Result<Query<FetchParams>, QueryRejection>,
) -> Result<axum::response::Response> {
    let Query(params) = params.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let limit = params.limit.unwrap_or(100).clamp(1, shared.limits.max_page);
    let device = authed.device.id;
    // The page's size first (from the rows' headers, no blob read), then its share of the
    // memory budget, then the page itself, no larger than what was set aside.
    let store = shared.store.clone();
    let max_bytes = shared.limits.max_page_bytes;
    let bytes = blocking(move || store.page_bytes(device, params.after, limit, max_bytes)).await?;
    let share = shared
        .budget
        .take(
            crate::budget::user_holder(&authed.device.user),
            bytes.saturating_mul(crate::budget::PAGE_FACTOR),
        )
        .await?;
    let store = shared.store.clone();
    let page = blocking(move || store.fetch(device, params.after, limit, bytes)).await?;
    Ok(crate::budget::keep_until_written(
        Json(page).into_response(),
        share,
    ))
}

pub async fn ack(
    State(shared): State<Arc<Shared>>,
    Signed {
        authed,
        body: request,
    }: Signed<AckRequest>,
) -> Result<Json<AckResponse>> {
    let store = shared.store.clone();
    let deleted =
        blocking(move || store.ack(authed.device.id, request.up_to, authed.nonce)).await?;
    Ok(Json(AckResponse { deleted }))
}
