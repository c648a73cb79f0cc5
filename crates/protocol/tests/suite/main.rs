//! conclave-protocol's integration tests, in one binary: each module is one area, its own
//! docs say which.
//!
//! One binary, not one per file: the test build optimises this crate (the workspace's
//! Cargo.toml says why), and every test binary instantiated openmls's generic code again at
//! that level. Eight of them were eleven minutes of a clean build on two cores.

mod common;

mod churn;
mod errors;
mod external;
mod groups;
mod one_verdict;
mod policy;
mod required_extensions;
mod resumption_psks;
mod stored_format;
