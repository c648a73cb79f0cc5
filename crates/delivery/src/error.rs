//! Errors as HTTP responses: a status and an [`ErrorBody`] JSON.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::store::StoreError;
use conclave_delivery_api::{ErrorBody, ErrorCode};

/// An error answered to a client.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// The JSON body.
    pub body: ErrorBody,
}

impl ApiError {
    /// An error with a code and message.
    pub fn new(status: StatusCode, error: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            status,
            body: ErrorBody {
                error,
                message: message.into(),
                current_epoch: None,
                recipients: Vec::new(),
            },
        }
    }

    /// 400.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, ErrorCode::BadRequest, message)
    }

    /// 401.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, ErrorCode::Unauthorized, message)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NameTaken(n) => Self::new(
                StatusCode::CONFLICT,
                ErrorCode::NameTaken,
                format!("{n} is taken"),
            ),
            StoreError::NoSuchUser(u) => Self::new(
                StatusCode::NOT_FOUND,
                ErrorCode::NotFound,
                format!("no user {u}"),
            ),
            StoreError::StaleEpoch { current } => Self {
                status: StatusCode::CONFLICT,
                body: ErrorBody {
                    error: ErrorCode::StaleEpoch,
                    message: format!(
                        "another commit won this epoch; the group is at epoch {current}"
                    ),
                    current_epoch: Some(current),
                    recipients: Vec::new(),
                },
            },
            StoreError::NotMember => Self::new(
                StatusCode::FORBIDDEN,
                ErrorCode::Forbidden,
                "not a member of this group",
            ),
            StoreError::Roster(why) => {
                Self::new(StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::BadRequest, why)
            }
            StoreError::TooManyKeyPackages { max } => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::TooManyKeyPackages,
                format!("at most {max} key packages per device"),
            ),
            StoreError::TooManyDevices { max } => Self::new(
                StatusCode::FORBIDDEN,
                ErrorCode::TooManyDevices,
                format!("at most {max} devices per user"),
            ),
            StoreError::QueueFull(recipients) => {
                let message = StoreError::QueueFull(recipients.clone()).to_string();
                let mut error =
                    Self::new(StatusCode::TOO_MANY_REQUESTS, ErrorCode::QueueFull, message);
                error.body.recipients = recipients;
                error
            }
            StoreError::DeviceRevoked => Self::new(
                StatusCode::FORBIDDEN,
                ErrorCode::DeviceRevoked,
                "this device was revoked by its user",
            ),
            StoreError::NoSuchDevice(d) => Self::new(
                StatusCode::NOT_FOUND,
                ErrorCode::NotFound,
                format!("no device {d}"),
            ),
            StoreError::LinkConflict(why) => {
                Self::new(StatusCode::CONFLICT, ErrorCode::Conflict, why)
            }
            StoreError::LinkFull { max } => Self::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorCode::PayloadTooLarge,
                format!("a link holds at most {max} bytes"),
            ),
            StoreError::LinkInvalid(why) => {
                Self::new(StatusCode::FORBIDDEN, ErrorCode::LinkInvalid, why)
            }
            StoreError::LinkExpired => Self::new(
                StatusCode::GONE,
                ErrorCode::LinkExpired,
                "this invite link expired",
            ),
            StoreError::AskedRecently => Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                ErrorCode::RateLimited,
                "the group's rejoin key was asked for too often in the last minute",
            ),
            StoreError::NoGroupInfo => Self::new(
                StatusCode::NOT_FOUND,
                ErrorCode::NotFound,
                "no member has left this group's info yet",
            ),
            StoreError::NoSuchBlob => {
                Self::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, "no such blob")
            }
            StoreError::BlobQuota { max } => Self::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorCode::QuotaExceeded,
                format!("attachments hold at most {max} bytes per user"),
            ),
            StoreError::BlobConflict(why) => {
                Self::new(StatusCode::CONFLICT, ErrorCode::Conflict, why)
            }
            StoreError::Replay => Self::new(
                StatusCode::UNAUTHORIZED,
                ErrorCode::Replay,
                "nonce already used",
            ),
            StoreError::Internal(m) => {
                tracing::error!(error = %m, "storage failure");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    ErrorCode::Internal,
                    "internal error",
                )
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}
