//! What the invite-link commands print: `link-create`, `link-revoke`, `join`, `requests`,
//! `approve-join`, `decline-join` and `rejoin`.

use serde::Serialize;

use crate::output::Report;

/// `link-create`: the link first, alone on its line, so that scripts can take it.
#[derive(Serialize)]
pub struct LinkCreated {
    pub id: i64,
    pub link: String,
    pub approval: bool,
    /// Unix seconds; none: until revoked.
    pub expires_at: Option<u64>,
}

impl Report for LinkCreated {
    fn text(&self) -> String {
        let mut text = format!("{}\n", self.link);
        text.push_str(if self.approval {
            "anyone with this link can ask to join; an admin approves each request"
        } else {
            "anyone with this link can join"
        });
        if self.expires_at.is_some() {
            text.push_str(" (it expires)");
        }
        text
    }
}

/// `link-revoke`.
#[derive(Serialize)]
pub struct LinkRevoked {
    pub id: i64,
    pub revoked: bool,
}

impl Report for LinkRevoked {
    fn text(&self) -> String {
        "the invite link is revoked".into()
    }
}

/// `join`: joined (with the conversation), or asked to.
#[derive(Serialize)]
pub struct LinkJoined {
    pub id: Option<i64>,
    pub name: Option<String>,
    pub joined: bool,
    pub requested: bool,
}

impl Report for LinkJoined {
    fn text(&self) -> String {
        match &self.name {
            Some(name) => format!("joined \"{name}\""),
            None => "asked to join; an admin of the conversation approves it".into(),
        }
    }
}

/// One request in `requests`.
#[derive(Serialize)]
pub struct Request {
    pub user: String,
    pub device: String,
    pub at: u64,
}

/// `requests`: who asked to join by the link.
#[derive(Serialize)]
pub struct Requests {
    pub id: i64,
    pub requests: Vec<Request>,
}

impl Report for Requests {
    fn text(&self) -> String {
        if self.requests.is_empty() {
            return "no requests to join".into();
        }
        self.requests
            .iter()
            .map(|r| format!("{} ({}) asks to join", r.user, r.device))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// `approve-join` and `decline-join`.
#[derive(Serialize)]
pub struct JoinAnswered {
    pub id: i64,
    pub user: String,
    pub approved: bool,
}

impl Report for JoinAnswered {
    fn text(&self) -> String {
        if self.approved {
            format!("{} is added", self.user)
        } else {
            format!("{}'s request is declined", self.user)
        }
    }
}

/// `rejoin`.
#[derive(Serialize)]
pub struct Rejoined {
    pub id: i64,
    pub rejoined: bool,
}

impl Report for Rejoined {
    fn text(&self) -> String {
        "this device is in the conversation".into()
    }
}

/// Reads a duration as a number and a unit: `30s`, `15m`, `12h`, `7d`.
pub fn duration(text: &str) -> Result<std::time::Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or("give a unit: s, m, h or d (say, 7d)")?;
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| "a duration starts with a number (say, 7d)")?;
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err("the unit is s, m, h or d".into()),
    };
    number
        .checked_mul(seconds)
        .filter(|s| *s > 0)
        .map(std::time::Duration::from_secs)
        .ok_or_else(|| "a duration between 1s and many years".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_with_their_unit() {
        assert_eq!(duration("30s").unwrap().as_secs(), 30);
        assert_eq!(duration("2h").unwrap().as_secs(), 7200);
        assert_eq!(duration("7d").unwrap().as_secs(), 604_800);
        for bad in ["", "7", "d", "0s", "7w", "-1d", "99999999999999999999d"] {
            assert!(duration(bad).is_err(), "{bad}");
        }
    }
}
