//! Message times in the user's time zone (the system's: `TZ`, else `/etc/localtime`), with
//! the UTC time on hover so that two people comparing a message can agree.

use jiff::Timestamp;
use jiff::tz::TimeZone;

/// Formats times in one zone.
#[derive(Clone, Debug)]
pub struct LocalTime {
    zone: TimeZone,
}

impl Default for LocalTime {
    fn default() -> Self {
        Self {
            zone: TimeZone::system(),
        }
    }
}

impl LocalTime {
    /// Times in `zone` (tests fix one).
    pub fn new(zone: TimeZone) -> Self {
        Self { zone }
    }

    fn zoned(&self, ms: i64) -> Option<jiff::Zoned> {
        Timestamp::from_millisecond(ms)
            .ok()
            .map(|t| t.to_zoned(self.zone.clone()))
    }

    /// `HH:MM` here.
    pub fn clock(&self, ms: i64) -> String {
        self.zoned(ms)
            .map(|z| z.strftime("%H:%M").to_string())
            .unwrap_or_default()
    }

    /// `YYYY-MM-DD` here.
    pub fn date(&self, ms: i64) -> String {
        self.zoned(ms)
            .map(|z| z.strftime("%Y-%m-%d").to_string())
            .unwrap_or_default()
    }

    /// The calendar day here, to tell where a new day starts.
    pub fn day(&self, ms: i64) -> Option<jiff::civil::Date> {
        self.zoned(ms).map(|z| z.date())
    }

    /// `YYYY-MM-DD HH:MM UTC`.
    pub fn utc(&self, ms: i64) -> String {
        format!("{} UTC", conclave_client::display::timestamp(ms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_shown_in_the_zone_with_utc_beside() {
        let kolkata = LocalTime::new(TimeZone::fixed(jiff::tz::offset(5)));
        // 2026-11-18 11:06 UTC is 16:06 at +05:00.
        assert_eq!(kolkata.clock(1_795_000_000_000), "16:06");
        assert_eq!(kolkata.utc(1_795_000_000_000), "2026-11-18 11:06 UTC");
        // 23:30 UTC is the next day at +05:00.
        let late = 1_795_052_000_000;
        assert_eq!(kolkata.date(late), "2026-11-19");
    }
}
