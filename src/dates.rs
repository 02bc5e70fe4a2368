//! Date formats: the ActivityStreams form (`2026-11-26T10:00:00Z`), Mastodon's API form
//! with milliseconds (`2026-11-26T10:00:00.000Z`), and parsing what peers send.
//! Times inside kith are Unix milliseconds (`i64`).

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

fn to_datetime(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// `2026-11-26T10:00:00Z`: seconds precision, as ActivityPub documents carry.
pub fn iso8601(ms: i64) -> String {
    let t = to_datetime(ms);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// `2026-11-26T10:00:00.000Z`: the Mastodon client API's datetime format.
pub fn mastodon(ms: i64) -> String {
    let t = to_datetime(ms);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// `2026-11-26`: a date-only field such as `last_status_at`.
pub fn date_only(ms: i64) -> String {
    iso8601(ms)[..10].to_string()
}

/// Parses an RFC 3339 timestamp (any offset, optional fraction) into Unix milliseconds.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let t = OffsetDateTime::parse(s.trim(), &Rfc3339).ok()?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()
}

/// Parses a form's `datetime-local` value (`2026-11-26T10:00`, seconds optional) in a
/// zone `offset_minutes` behind UTC (JavaScript's `getTimezoneOffset`) into Unix ms.
pub fn parse_local(s: &str, offset_minutes: i64) -> Option<i64> {
    let s = s.trim();
    let with_seconds = if s.len() == 16 {
        format!("{s}:00")
    } else {
        s.to_string()
    };
    let t = OffsetDateTime::parse(&format!("{with_seconds}Z"), &Rfc3339).ok()?;
    let ms = i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()?;
    ms.checked_add(offset_minutes.clamp(-1440, 1440) * 60_000)
}

/// A time as a `datetime-local` value in UTC (`2026-11-26T10:00`).
pub fn local_input(ms: i64) -> String {
    iso8601(ms)[..16].to_string()
}

/// Milliseconds since the Unix epoch, as every stored time is kept.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_times() {
        let utc = parse_local("2026-11-26T10:00", 0).unwrap();
        assert_eq!(iso8601(utc), "2026-11-26T10:00:00Z");
        assert_eq!(local_input(utc), "2026-11-26T10:00");
        // Berlin in winter is an hour ahead of UTC: JavaScript says -60.
        let berlin = parse_local("2026-11-26T10:00:30", -60).unwrap();
        assert_eq!(iso8601(berlin), "2026-11-26T09:00:30Z");
        assert_eq!(parse_local("tomorrow", 0), None);
        assert_eq!(parse_local("2026-11-26T10:00Z", 0), None);
    }

    #[test]
    fn formats() {
        let ms = 1_795_687_200_123; // 2026-11-26T10:00:00.123Z
        assert_eq!(iso8601(ms), "2026-11-26T10:00:00Z");
        assert_eq!(mastodon(ms), "2026-11-26T10:00:00.123Z");
        assert_eq!(date_only(ms), "2026-11-26");
        assert_eq!(parse_rfc3339("2026-11-26T10:00:00.123Z"), Some(ms));
        assert_eq!(parse_rfc3339("2026-11-26T11:00:00.123+01:00"), Some(ms));
        assert_eq!(parse_rfc3339("yesterday"), None);
    }
}
