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

/// `2026-11-26 12:00`: a time for people, shifted by `offset_minutes` east of UTC
/// (the owner's time zone setting; out-of-range offsets count as UTC).
pub fn local(ms: i64, offset_minutes: i64) -> String {
    let offset = i32::try_from(offset_minutes * 60)
        .ok()
        .and_then(|secs| time::UtcOffset::from_whole_seconds(secs).ok())
        .unwrap_or(time::UtcOffset::UTC);
    let t = to_datetime(ms).to_offset(offset);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute()
    )
}

/// `UTC`, `UTC+02:00`, `UTC-03:30`: the name of an offset from UTC in minutes.
pub fn offset_label(offset_minutes: i64) -> String {
    if offset_minutes == 0 {
        return "UTC".into();
    }
    let sign = if offset_minutes < 0 { '-' } else { '+' };
    let m = offset_minutes.abs();
    format!("UTC{sign}{:02}:{:02}", m / 60, m % 60)
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
    fn local_times() {
        // 2026-11-26T23:30:00Z
        let ms = 1_795_735_800_000;
        assert_eq!(iso8601(ms), "2026-11-26T23:30:00Z");
        assert_eq!(local(ms, 0), "2026-11-26 23:30");
        assert_eq!(local(ms, 120), "2026-11-27 01:30");
        assert_eq!(local(ms, -210), "2026-11-26 20:00");
        assert_eq!(local(ms, 100_000), "2026-11-26 23:30");
        assert_eq!(offset_label(0), "UTC");
        assert_eq!(offset_label(345), "UTC+05:45");
        assert_eq!(offset_label(-210), "UTC-03:30");
    }

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
