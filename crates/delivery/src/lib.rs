//! # conclave-delivery
//!
//! Conclave's delivery service (DS): it stores and forwards MLS ciphertext between devices,
//! serves key packages, and orders commits so that groups never fork. It never sees a
//! plaintext: everything it holds is an MLS message, Welcome or key package.
//!
//! - [`api`] and [`auth`]: the wire types and request signing, for clients. Use the crate
//!   with `default-features = false` to get just these.
//! - `server` (feature `server`, on by default): the axum server over SQLite, and the
//!   `conclave-ds` binary.
//!
//! Every endpoint, body and error is documented in `crates/delivery/API.md`.
//!
//! ```
//! use conclave_delivery::auth::{fresh_identity, signing_input};
//! let id = fresh_identity("alice", "laptop");
//! let input = signing_input("GET", "/v1/queue?after=0", b"", &id);
//! assert!(input.starts_with(b"conclave-ds-v1\nGET\n/v1/queue?after=0\n"));
//! ```

#![warn(missing_docs)]

pub mod api;
pub mod auth;
#[cfg(feature = "server")]
pub mod server;
