//! What the command prints: one type per result, printed as one JSON object with `--json`
//! and as lines for people otherwise. The JSON field names are the scripting interface.

use conclave_client::MessageState;
use serde::Serialize;

mod conversations;
mod devices;
mod events;
mod failures;
mod messages;
mod profile;

pub use conversations::*;
pub use devices::*;
pub use events::*;
pub use failures::*;
pub use messages::*;
pub use profile::*;

/// A result the command prints.
pub trait Report: Serialize {
    /// The lines for people (nothing printed when empty).
    fn text(&self) -> String;
}

/// Where results go: JSON objects or lines, on standard output.
pub struct Output {
    pub json: bool,
}

impl Output {
    pub fn print(&self, report: &impl Report) {
        if self.json {
            match serde_json::to_string(report) {
                Ok(line) => println!("{line}"),
                Err(e) => eprintln!("error: cannot encode the result: {e}"),
            }
        } else {
            let text = report.text();
            if !text.is_empty() {
                println!("{text}");
            }
        }
    }
}

fn lines<T>(items: &[T], line: impl Fn(&T) -> String) -> String {
    items.iter().map(line).collect::<Vec<_>>().join("\n")
}

pub fn state_name(state: MessageState) -> &'static str {
    match state {
        MessageState::Pending => "pending",
        MessageState::Sent => "sent",
        MessageState::Failed => "failed",
        MessageState::Received => "received",
    }
}
