//! The memory budget: request bodies and queue pages held at once, by all requests together,
//! stay within `Limits::memory_budget_bytes`. A request with a body takes its share before
//! the body is read (its declared length, or the body limit when it declares none); a queue
//! fetch takes one for the page it is about to read (its size is known before its blobs are
//! read). Either gives it back once its response has been written, so a flood of large
//! requests waits its turn instead of growing the process. A share is what the server holds
//! for it at most: a body, its decoding and SQLite's copy ([`BODY_FACTOR`]); a page, its
//! blobs, their base64 and the JSON around them ([`PAGE_FACTOR`]).
//!
//! Shares are taken only for requests that could be authentic (naming a registered device,
//! with a fresh timestamp; a registration, by its source address), and one user (or one
//! address) holds at most a quarter of the budget (or one of the largest bodies, if more):
//! a few stalled uploads cannot take it all. An upload has `BODY_TIMEOUT` to arrive.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use conclave_delivery_api::{ErrorCode, paths};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::Shared;
use crate::authn::{identity, plausible};
use crate::error::ApiError;

/// A body's share: its bytes, their decoding, and SQLite's copy of the message.
pub(crate) const BODY_FACTOR: usize = 3;

/// A page's share: its blobs, their base64, and the JSON they are written into (which grows
/// by doubling).
pub(crate) const PAGE_FACTOR: usize = 4;

/// How long a request waits for its share before it is told to retry.
const WAIT: Duration = Duration::from_secs(10);

/// How long a request body may take to arrive.
pub(crate) const BODY_TIMEOUT: Duration = Duration::from_secs(60);

/// The shares left, and what each user or address holds.
pub(crate) struct Budget {
    semaphore: Arc<Semaphore>,
    total: usize,
    per_holder: usize,
    held: Arc<Mutex<HashMap<String, usize>>>,
}

impl Budget {
    pub(crate) fn new(total: usize, max_body: usize) -> Self {
        let total = total.clamp(1, Semaphore::MAX_PERMITS);
        Self {
            semaphore: Arc::new(Semaphore::new(total)),
            total,
            per_holder: (total / 4).max(max_body.saturating_mul(BODY_FACTOR)),
            held: Arc::default(),
        }
    }

    /// Bytes not taken.
    pub(crate) fn available(&self) -> usize {
        self.semaphore.available_permits()
    }

    /// Takes `wanted` bytes for `holder`: refused at once past the holder's part, waits
    /// up to [`WAIT`] for the rest of the server's requests otherwise.
    pub(crate) async fn take(&self, holder: String, wanted: usize) -> Result<Share, ApiError> {
        let wanted = wanted.min(self.total);
        let busy = || {
            ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                ErrorCode::RateLimited,
                "the server is busy; retry later",
            )
        };
        {
            let mut held = self.held.lock().map_err(|_| busy())?;
            let mine = held.entry(holder.clone()).or_default();
            if *mine + wanted > self.per_holder {
                if *mine == 0 {
                    held.remove(&holder);
                }
                return Err(ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    ErrorCode::RateLimited,
                    "too many large requests in flight from this user or address",
                ));
            }
            *mine += wanted;
        }
        // From here on the share is counted for the holder; `Share` gives it back.
        let mut share = Share {
            permit: None,
            holder,
            bytes: wanted,
            held: self.held.clone(),
        };
        let permits = u32::try_from(wanted).map_err(|_| busy())?;
        let acquire = self.semaphore.clone().acquire_many_owned(permits);
        match tokio::time::timeout(WAIT, acquire).await {
            Ok(Ok(permit)) => {
                share.permit = Some(permit);
                Ok(share)
            }
            _ => Err(busy()),
        }
    }
}

/// A request's share of the budget, given back when dropped.
pub(crate) struct Share {
    permit: Option<OwnedSemaphorePermit>,
    holder: String,
    bytes: usize,
    held: Arc<Mutex<HashMap<String, usize>>>,
}

impl Drop for Share {
    fn drop(&mut self) {
        if let Ok(mut held) = self.held.lock()
            && let Some(mine) = held.get_mut(&self.holder)
        {
            *mine = mine.saturating_sub(self.bytes);
            if *mine == 0 {
                held.remove(&self.holder);
            }
        }
    }
}

/// What a request's body may hold in memory at most.
fn body_share(shared: &Shared, request: &Request) -> usize {
    if request.method() == Method::GET {
        return 0;
    }
    let limit = shared.limits.max_body_bytes;
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(limit);
    declared.min(limit).saturating_mul(BODY_FACTOR)
}

/// Who a request's share is counted for: its device's user, once the request is plausibly
/// that device's; a registration's source address.
fn holder(shared: &Shared, request: &Request) -> Result<String, ApiError> {
    if request.uri().path() == paths::REGISTER {
        let peer = request
            .extensions()
            .get::<ConnectInfo<crate::Peer>>()
            .map(|info| crate::handlers::source(info.0.0.ip()).to_string());
        return Ok(format!("address {}", peer.unwrap_or_default()));
    }
    plausible(shared, request.headers())?;
    let (id, _) = identity(request.headers())?;
    Ok(user_holder(&id.user))
}

/// The holder a user's shares are counted under.
pub(crate) fn user_holder(user: &str) -> String {
    format!("user {user}")
}

/// The middleware, for request bodies.
pub(crate) async fn hold(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    let wanted = body_share(&shared, &request);
    if wanted == 0 {
        return next.run(request).await;
    }
    if let Err(e) = crate::nodes::learn_signer(&shared, request.headers()).await {
        return e.into_response();
    }
    let taken = match holder(&shared, &request) {
        Ok(holder) => shared.budget.take(holder, wanted).await,
        Err(e) => Err(e),
    };
    let share = match taken {
        Ok(share) => share,
        Err(e) => return e.into_response(),
    };
    keep_until_written(next.run(request).await, share)
}

/// `response`, holding `share` until its body has been written (or dropped).
pub(crate) fn keep_until_written(response: Response, share: Share) -> Response {
    response.map(|body| {
        Body::new(Held {
            body,
            pending: Bytes::new(),
            _share: share,
        })
    })
}

/// How much of a response body is handed to the connection at a time. hyper asks for more
/// only once it has written what it has, so a slow reader holds at most about this much
/// beyond its share, and the share is held until the rest is taken.
const CHUNK: usize = 64 * 1024;

/// A response body that keeps its request's share until it has been written (or dropped).
struct Held {
    body: Body,
    /// Data taken from `body`, not yet handed on.
    pending: Bytes,
    _share: Share,
}

impl HttpBody for Held {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        let this = self.get_mut();
        if this.pending.is_empty() {
            match Pin::new(&mut this.body).poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                    Ok(data) => this.pending = data,
                    Err(frame) => return Poll::Ready(Some(Ok(frame))),
                },
                other => return other,
            }
        }
        let chunk = this.pending.split_to(this.pending.len().min(CHUNK));
        Poll::Ready(Some(Ok(http_body::Frame::data(chunk))))
    }

    fn is_end_stream(&self) -> bool {
        self.pending.is_empty() && self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        let inner = self.body.size_hint();
        let pending = self.pending.len() as u64;
        let mut hint = http_body::SizeHint::new();
        if let Some(upper) = inner.upper() {
            hint.set_upper(upper + pending);
        }
        hint.set_lower(inner.lower() + pending);
        hint
    }
}
