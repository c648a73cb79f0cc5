//! Formatting for people: timestamps as the CLI and the app show them.
//!
//! Times are shown in UTC (`YYYY-MM-DD HH:MM`), so that two people comparing a message see
//! the same time; the app labels them as UTC.

/// A calendar day (year, month, day), UTC.
pub fn day(ms: i64) -> (i64, u32, u32) {
    let days = ms.div_euclid(1000).div_euclid(86_400);
    // Days to civil date (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// `HH:MM`, UTC.
pub fn clock(ms: i64) -> String {
    let secs = ms.div_euclid(1000).rem_euclid(86_400);
    format!("{:02}:{:02}", secs / 3600, secs % 3600 / 60)
}

/// `YYYY-MM-DD`, UTC.
pub fn date(ms: i64) -> String {
    let (y, m, d) = day(ms);
    format!("{y:04}-{m:02}-{d:02}")
}

/// `YYYY-MM-DD HH:MM`, UTC.
pub fn timestamp(ms: i64) -> String {
    format!("{} {}", date(ms), clock(ms))
}

/// A duration for people: "30 seconds", "1 hour", "2 days"; the largest unit that divides
/// it.
pub fn duration(seconds: u64) -> String {
    const UNITS: [(u64, &str); 5] = [
        (604_800, "week"),
        (86_400, "day"),
        (3_600, "hour"),
        (60, "minute"),
        (1, "second"),
    ];
    let (size, name) = UNITS
        .into_iter()
        .find(|(size, _)| seconds.is_multiple_of(*size) && seconds >= *size)
        .unwrap_or((1, "second"));
    let n = seconds / size;
    format!("{n} {name}{}", if n == 1 { "" } else { "s" })
}

/// A fingerprint or safety number in groups of five digits.
pub fn digit_groups(digits: &str) -> String {
    digits
        .as_bytes()
        .chunks(5)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_civil_utc() {
        assert_eq!(timestamp(0), "1970-01-01 00:00");
        assert_eq!(timestamp(1_795_000_000_000), "2026-11-18 11:06");
        assert_eq!(timestamp(951_782_400_000), "2000-02-29 00:00");
        assert_eq!(timestamp(-1), "1969-12-31 23:59");
        assert_eq!(digit_groups("1234567890123"), "12345 67890 123");
        assert_eq!(duration(3600), "1 hour");
        assert_eq!(duration(90), "90 seconds");
        assert_eq!(duration(172_800), "2 days");
        assert_eq!(duration(0), "0 seconds");
    }
}
