//! # conclave-delivery-api
//!
//! The wire API of Conclave's delivery service (`conclave-ds`, crate `conclave-delivery`):
//! what a client, or another implementation of either side, needs and nothing of the
//! server's.
//!
//! - The request and response bodies (JSON; binary fields are standard base64), at the
//!   crate root.
//! - [`paths`]: every endpoint's path, spelled once.
//! - [`auth`]: request signing by a device's MLS signature key.
//! - [`tls`]: rustls as both sides use it, and which server addresses a client may use.
//!
//! User names and device ids follow the rules of `conclave_protocol::UserName` and
//! `conclave_protocol::DeviceId`: they are the two halves of a member's MLS credential.
//! Every endpoint, body and error is documented in `crates/delivery/API.md`.
//!
//! ```
//! use conclave_delivery_api::auth::{fresh_identity, signing_input};
//! use conclave_delivery_api::paths;
//! let id = fresh_identity("alice", "laptop");
//! let input = signing_input("GET", &paths::queue(0, 100), b"", &id);
//! assert!(input.starts_with(b"conclave-ds-v1\nGET\n/v1/queue?after=0&limit=100\n"));
//! ```

#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub mod auth;
pub mod paths;
pub mod tls;
mod types;

pub use types::*;
