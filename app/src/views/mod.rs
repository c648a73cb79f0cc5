//! Views: functions from [`crate::state::AppState`] to widgets, pushing [`crate::backend::Command`]s
//! for what the user asks.

pub mod conversation;
pub mod devices;
pub mod main;
pub mod members;
pub mod message;
pub mod onboarding;
pub mod settings;
pub mod unlock;
